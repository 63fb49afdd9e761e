"""What the CUDA kernel table runs on: its array module, the stream its kernels join, launch sizes.

On a GPU the arrays are CuPy arrays and the Numba-CUDA kernels take them through DLPack views (no
copies), on CuPy's current stream. Under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1,
no GPU needed) the array module is NumPy and the simulator runs every CUDA thread in Python, so the
tests on a CPU-only machine exercise the same table, the same kernels and the same glue code.
"""
import warnings

from numba import cuda
from numba.core import config

# numba-cuda warns about every launch of fewer than 128 blocks; small tensors make those on purpose
warnings.filterwarnings("ignore", message="Grid size .* under-utilization")

SIMULATED = bool(config.ENABLE_CUDASIM)

if SIMULATED:
    import numpy as xp
else:
    import cupy as xp
    from cuda.core.utils import StridedMemoryView

# Every kernel is a grid-stride loop (each thread takes elements i, i + grid size, ...), so the
# grid can stay bounded whatever the array size. On a GPU: 256 threads a block and enough blocks to
# fill an H100 many times over. In the simulator each thread is a Python thread: a small grid keeps
# it fast and makes every thread loop several times, which is the case worth testing.
THREADS_PER_BLOCK = 32 if SIMULATED else 256
MAX_BLOCKS = 4 if SIMULATED else 16384

_external_streams = {}  # CuPy stream pointer -> the Numba stream object wrapping it


def current_stream():
    """CuPy's current stream, as a Numba stream: kernels queue behind the CuPy and cuBLAS work
    they read, in order, with no host synchronisation in between."""
    if SIMULATED:
        return 0
    pointer = xp.cuda.get_current_stream().ptr
    if pointer == 0:  # CuPy's default is the legacy null stream, which is Numba's stream 0 too
        return 0
    stream = _external_streams.get(pointer)
    if stream is None:
        stream = _external_streams[pointer] = cuda.external_stream(pointer)
    return stream


@cuda.jit(device=True)
def unravel(index, rows, columns):
    """(plane, row, column) of a flat index into a C-contiguous (planes, rows, columns) array, in
    two integer divisions (they, not the memory traffic, bound the index-heavy kernels)."""
    plane = index // (rows * columns)
    rest = index - plane * (rows * columns)
    row = rest // columns
    return plane, row, rest - row * columns


def launch(kernel, elements, *args):
    """Run a grid-stride kernel over `elements` items on CuPy's current stream."""
    if elements == 0:
        return
    blocks = min(MAX_BLOCKS, -(-elements // THREADS_PER_BLOCK))
    if not SIMULATED:
        args = [_as_kernel_argument(arg) for arg in args]
    kernel[blocks, THREADS_PER_BLOCK, current_stream()](*args)


def _as_kernel_argument(value):
    """A contiguous CuPy array as a DLPack view that asks for no stream synchronisation
    (stream_ptr=-1): the kernel runs on the stream that wrote the array. Passed as they are, CuPy
    arrays make Numba synchronise their stream at every launch (the CUDA array interface's 'stream'
    entry), and are slower to type: a launch with 3 arrays took 0.17 ms, 0.14 ms with these views."""
    if isinstance(value, xp.ndarray) and value.flags.c_contiguous:
        return StridedMemoryView.from_dlpack(value, stream_ptr=-1)
    return value
