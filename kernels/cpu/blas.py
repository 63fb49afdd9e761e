"""Threads for the conv kernels' GEMMs: OpenBLAS single-threaded, the work split by us.

Why: after every multi-threaded call OpenBLAS's worker threads busy-wait (a nop loop, about 2^28
cycles, set only by OPENBLAS_THREAD_TIMEOUT when NumPy loads) on the cores that Numba's OpenMP
workers need next. On 2 cores every hand-off then waits for a scheduler tick: measured in the LeNet
training step (batch 256, 2 threads), 46 ms with OpenBLAS at 2 threads against 25 ms at 1 thread,
the Numba kernels of the step (conv, pool) taking about twice as long beside the spinning workers.

So on import OpenBLAS is set to one thread (through its own openblas_set_num_threads, found in the
library that NumPy loaded, as threadpoolctl does), unless the user chose a count through
OPENBLAS_NUM_THREADS, and the im2col convolutions (conv_per_sample.py) split their samples across
Python threads, each running serial nogil Numba kernels and single-threaded GEMMs (NumPy releases
the GIL inside matmul). Idle Python threads block on a queue instead of spinning. NumPy matmuls
elsewhere (nn.Linear) run on one thread too: at LeNet's sizes that is the faster choice anyway.
"""
import ctypes
import os
import re
from concurrent.futures import ThreadPoolExecutor

_SET_THREADS_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads")


def _openblas_single_threaded():
    """Set NumPy's OpenBLAS to one thread; True if it was found and set."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return False
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
    except OSError:
        return False
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _SET_THREADS_SYMBOLS:
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter(1)
                return True
    return False


OPENBLAS_SINGLE_THREADED = _openblas_single_threaded()
_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                   thread_name_prefix="minigrad-gemm")
    return _pool


def run_split(work, ranges):
    """[work(lo, hi) for (lo, hi) in ranges], the first range on this thread, the rest on pool
    threads (work must release the GIL in its heavy parts: Numba nogil kernels, NumPy matmul)."""
    futures = [_executor().submit(work, lo, hi) for lo, hi in ranges[1:]]
    results = [work(*ranges[0])]
    return results + [future.result() for future in futures]
