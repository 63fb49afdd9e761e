"""Threads for the conv kernels' GEMMs: OpenBLAS single-threaded, the work split by us.

Why: after every multi-threaded call OpenBLAS's worker threads busy-wait (a nop loop, about 2^28
cycles, set only by OPENBLAS_THREAD_TIMEOUT when NumPy loads) on the cores that Numba's OpenMP
workers need next. On 2 cores every hand-off then waits for a scheduler tick, and the Numba
kernels of a training step (conv, pool) run slower beside the spinning workers.

So on import OpenBLAS is set to one thread (through its own openblas_set_num_threads, found in the
library that NumPy loaded, as threadpoolctl does), unless the user chose a count through
OPENBLAS_NUM_THREADS, and the im2col convolutions (conv_per_sample.py) and the kernel table's
matmul (nn.Linear, torch.matmul) split their work across Python threads, each running serial
nogil Numba kernels and single-threaded GEMMs (NumPy releases the GIL inside matmul). Idle Python
threads block on a queue instead of spinning.
"""
import ctypes
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads, njit

_SET_THREADS_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                        "openblas_set_num_threads64_", "openblas_set_num_threads")
# cblas_?gemm under the names of NumPy's OpenBLAS builds: (symbol, its integer type)
_GEMM_SYMBOLS = {np.dtype(np.float32): (("scipy_cblas_sgemm64_", ctypes.c_int64),
                                        ("cblas_sgemm64_", ctypes.c_int64),
                                        ("cblas_sgemm", ctypes.c_int)),
                 np.dtype(np.float64): (("scipy_cblas_dgemm64_", ctypes.c_int64),
                                        ("cblas_dgemm64_", ctypes.c_int64),
                                        ("cblas_dgemm", ctypes.c_int))}


def _numpy_openblas():
    """The OpenBLAS libraries that NumPy loaded (as threadpoolctl finds them)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
    except OSError:
        return []
    libraries = []
    for path in paths:
        try:
            libraries.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libraries


def _make_openblas_single_threaded():
    """Set NumPy's OpenBLAS to one thread (README, Threads); True if it was found and set."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return False
    for library in _numpy_openblas():
        for symbol in _SET_THREADS_SYMBOLS:
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter(1)
                return True
    return False


def _gemm_functions():
    """{dtype: cblas ?gemm} from NumPy's OpenBLAS, for products that accumulate into a strided
    block of their output (C = A B + beta C), which np.matmul cannot do; empty if none is found."""
    functions = {}
    libraries = _numpy_openblas()
    for dtype, names in _GEMM_SYMBOLS.items():
        scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
        for library, (symbol, integer) in ((lib, name) for name in names for lib in libraries):
            function = getattr(library, symbol, None)
            if function is not None:
                enum, pointer = ctypes.c_int, ctypes.c_void_p
                function.argtypes = [enum, enum, enum, integer, integer, integer, scalar, pointer,
                                     integer, pointer, integer, scalar, pointer, integer]
                function.restype = None
                functions[dtype] = function
                break
    return functions


_make_openblas_single_threaded()
_gemms = _gemm_functions()
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


# Multiply-adds below which work stays on one thread: handing part of it to a pool thread and
# waiting for it costs more than the second thread saves on products this small (DenseNet's
# cropped 3x3 layers on 1x1 planes); larger ones (its layers on 2x2 planes) gain from the split.
SPLIT_MULTIPLY_ADDS = 2 << 20


def split_ranges(count, multiply_adds):
    """count items cut into contiguous ranges, one per thread, or one range when the work is
    under SPLIT_MULTIPLY_ADDS multiply-adds per extra thread."""
    parts = max(1, min(count, get_num_threads(), multiply_adds // SPLIT_MULTIPLY_ADDS))
    return [(i * count // parts, (i + 1) * count // parts) for i in range(parts)]


def matmul(a, b):
    """a @ b as np.matmul; a 2-D product of at least SPLIT_MULTIPLY_ADDS multiply-adds is split
    by rows of a across the threads, as OpenBLAS itself runs on one (LeNet's first Linear gains)."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    (M, K), N = a.shape, b.shape[1]
    ranges = split_ranges(M, M * K * N)
    if len(ranges) < 2:
        return np.matmul(a, b)
    out = np.empty((M, N), dtype=np.result_type(a, b))

    def work(lo, hi):
        np.matmul(a[lo:hi], b, out=out[lo:hi])

    run_split(work, ranges)
    return out


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def has_gemm(dtype):
    return np.dtype(dtype) in _gemms


_loop_gemms = {}


def kernel_gemm(dtype):
    """cblas ?gemm for a Numba kernel to take as an argument and call through gemm_rows (on
    Numba's threads: no Python thread to wake, none to compete with its spinning workers):
    NumPy's OpenBLAS's, or where none was found a loop of the same signature (slow, correct)."""
    dtype = np.dtype(dtype)
    if dtype in _gemms:
        return _gemms[dtype]
    if dtype not in _loop_gemms:
        _loop_gemms[dtype] = _compile_loop_gemm(dtype)
    return _loop_gemms[dtype]


def _compile_loop_gemm(dtype):
    from numba import carray, cfunc, types
    scalar = types.float32 if dtype == np.float32 else types.float64
    enum, integer, pointer = types.intc, types.int64, types.voidptr

    @cfunc(types.void(enum, enum, enum, integer, integer, integer, scalar, pointer, integer,
                      pointer, integer, scalar, pointer, integer), cache=True)
    def loop_gemm(order, trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc):
        A = carray(a, ((K if trans_a == _TRANS else M), lda), dtype)
        B = carray(b, ((N if trans_b == _TRANS else K), ldb), dtype)
        C = carray(c, (M, ldc), dtype)
        for i in range(M):
            for j in range(N):
                total = alpha * 0  # beta 0: C may hold garbage, even NaN
                if beta != 0:
                    total = beta * C[i, j]
                for k in range(K):
                    left = A[k, i] if trans_a == _TRANS else A[i, k]
                    right = B[j, k] if trans_b == _TRANS else B[k, j]
                    total += alpha * left * right
                C[i, j] = total
    return loop_gemm.ctypes


@njit(inline="always")
def gemm_rows(gemm, trans_a, trans_b, a, b, c, beta):
    """c = op(a) @ op(b) + beta c through kernel_gemm's `gemm`, for 2-D arrays whose rows are
    contiguous (at any row stride); op(a) = a.T when trans_a."""
    M, K = (a.shape[1], a.shape[0]) if trans_a else (a.shape[0], a.shape[1])
    N = b.shape[0] if trans_b else b.shape[1]
    if M == 0 or N == 0:
        return
    size = a.itemsize
    lda = max(1, a.strides[0] // size, a.shape[1])
    ldb = max(1, b.strides[0] // size, b.shape[1])
    ldc = max(1, c.strides[0] // size, c.shape[1])
    gemm(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, M, N, K,
         1.0, a.ctypes.data, lda, b.ctypes.data, ldb, beta, c.ctypes.data, ldc)
