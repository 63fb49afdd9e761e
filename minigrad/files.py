"""Writing a file whole or not at all: what the user saved or downloaded is never left half-written."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path):
    """A binary file to write in the `with` block; it replaces `path` only when the block ends
    without an error. A crash or an exception leaves whatever was at `path` as it was, and no
    partial file beside it. The file gets the permissions `open` would give it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                                         suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's file is private to its owner
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)  # gone already after the replace


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
