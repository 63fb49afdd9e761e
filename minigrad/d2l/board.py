"""d2l 1.0's ProgressBoard: curves of averaged points, drawn as the book's Animator is: inline in
Jupyter (redrawn on every averaged point, as d2l does), and from a script into a PNG written
atomically, at most once every `ProgressBoard.min_interval` seconds plus whenever `flush()` is
called (the Trainer flushes at the end of each epoch; what is left unwritten when the process exits
is written then), so that drawing costs a script next to nothing.
"""
import atexit
import collections
import itertools
import os
import time

from ..files import atomic_write
from . import plotting
from .framework import HyperParameters

Point = collections.namedtuple("Point", ["x", "y"])

_boards_drawn = 0
_unwritten = set()  # boards with points not yet in their PNG: written at exit


class ProgressBoard(HyperParameters):
    """`draw(x, y, label, every_n)` collects points for the curve `label`; each `every_n` of them
    become one point, their mean, on the curve (`data[label]`, a list of `Point(x, y)`)."""

    min_interval = 10.0  # seconds between two PNG writes from a script (flush() writes at once)

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", ls=["-", "--", "-.", ":"], colors=["C0", "C1", "C2", "C3"],
                 fig=None, axes=None, figsize=(3.5, 2.5), display=True):
        self.save_hyperparameters()
        self.path = None  # the PNG a script's board is drawn to, chosen when it is first written
        self._lines = {}  # label -> the matplotlib line showing it
        self._written_at = None
        self._broken = False  # matplotlib is missing: points are kept, nothing is drawn

    def draw(self, x, y, label, every_n=1):
        if not hasattr(self, "raw_points"):
            self.raw_points = collections.OrderedDict()
            self.data = collections.OrderedDict()
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append(Point(float(x), float(y)))
        # d2l compares with `!=`, so that every_n=0 (fewer batches than points per epoch) never
        # draws; here such a curve gets every point
        if len(points) < max(1, int(every_n)):
            return
        line.append(Point(sum(p.x for p in points) / len(points),
                          sum(p.y for p in points) / len(points)))
        points.clear()
        if not self.display or self._broken:
            return
        if plotting.in_notebook():
            if not self._render():
                return
            from IPython import display
            display.display(self.fig)
            display.clear_output(wait=True)
            return
        _unwritten.add(self)
        if self._written_at is None or time.monotonic() - self._written_at >= self.min_interval:
            self.flush()

    def flush(self):
        """Write the PNG now if a script's board has points it does not show yet."""
        if self not in _unwritten:
            return
        _unwritten.discard(self)
        if self._render():
            self._write()

    # ----- drawing ----------------------------------------------------------------------------
    def _axes(self):
        if self.fig is None and self.axes is not None:
            self.fig = self.axes.figure
        if self.fig is None:
            if plotting.in_notebook():
                plotting.use_svg_display()
                self.fig = plotting.pyplot().figure(figsize=self.figsize)
            else:  # a bare Agg figure: no pyplot backend, no window, no display needed
                try:
                    from matplotlib.backends.backend_agg import FigureCanvasAgg
                    from matplotlib.figure import Figure
                except ImportError:
                    plotting.pyplot()  # raises the error that says how to install matplotlib
                self.fig = Figure(figsize=self.figsize)
                FigureCanvasAgg(self.fig)
        return self.axes if self.axes is not None else self.fig.gca()

    def _render(self):
        try:
            axes = self._axes()
        except ImportError as error:  # training goes on; only the plot is missing
            print(f"ProgressBoard: no plot is drawn: {error}")
            self._broken = True
            return False
        styles = zip(itertools.cycle(self.ls), itertools.cycle(self.colors))
        for (label, points), (ls, color) in zip(self.data.items(), styles):
            xs, ys = [p.x for p in points], [p.y for p in points]
            if label in self._lines:  # moved, not drawn again on top of itself
                self._lines[label].set_data(xs, ys)
            else:
                self._lines[label] = axes.plot(xs, ys, linestyle=ls, color=color, label=label)[0]
        axes.relim()
        axes.autoscale_view()
        if self.xlim:
            axes.set_xlim(self.xlim)
        if self.ylim:
            axes.set_ylim(self.ylim)
        axes.set_xlabel(self.xlabel or "")
        axes.set_ylabel(self.ylabel or "")
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        axes.legend(list(self._lines.values()), list(self._lines))
        return True

    def _write(self):
        global _boards_drawn
        if self.path is None:
            _boards_drawn += 1
            folder = os.environ.get(plotting._FIGURES_ENV) or os.getcwd()
            self.path = os.path.abspath(os.path.join(folder, f"board-{_boards_drawn}.png"))
            print(f"ProgressBoard: the plot is drawn to {self.path}")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with atomic_write(self.path) as out:  # a viewer never reads half a PNG
            self.fig.savefig(out, format="png", dpi=150, bbox_inches="tight")
        self._written_at = time.monotonic()


@atexit.register
def _write_the_rest():
    for board in list(_unwritten):
        try:
            board.flush()
        except Exception:  # noqa: BLE001 - a plot must never turn a finished run into a failure
            pass
