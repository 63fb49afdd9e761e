"""One line on stderr when the first of these kernels starts compiling in a process: a new user's
first step otherwise sits silent for seconds. Numba reports a compile only where its cache has
none, so a machine that has run the kernels before prints nothing."""
import sys

from numba.core import event

_PACKAGE = __name__.rpartition(".")[0]

MESSAGE = ("minigrad: compiling its CPU kernels for this machine, once (Numba caches them in {}): "
           "LeNet's take about 7 s on two cores, ResNet-18's about 25 s")


class _Announcement(event.Listener):
    """Prints MESSAGE at the first compile of a kernel of this package (listeners stay registered:
    removing one inside Numba's broadcast loop would skip the next)."""

    printed = False

    def on_start(self, started):
        dispatcher = started.data["dispatcher"]
        module = dispatcher.py_func.__module__ or ""  # None for code built by exec
        if self.printed or not module.startswith(_PACKAGE):
            return
        self.printed = True
        print(MESSAGE.format(dispatcher.stats.cache_path), file=sys.stderr, flush=True)

    def on_end(self, ended):
        pass


def announce_first_compile():
    event.register("numba:compile", _Announcement())
