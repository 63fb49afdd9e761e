"""The CPU kernels' GEMMs: OpenBLAS single-threaded, called from Numba kernels on Numba's threads.

Why: after every multi-threaded call OpenBLAS's worker threads busy-wait (a nop loop, about 2^28
cycles, set only by OPENBLAS_THREAD_TIMEOUT when NumPy loads) on the cores that Numba's OpenMP
workers need next. On 2 cores every hand-off then waits for a scheduler tick, and the Numba
kernels of a training step (conv, pool) run slower beside the spinning workers.

So on import OpenBLAS is set to one thread (through its own openblas_set_num_threads, found in the
library that NumPy loaded, as threadpoolctl does), unless the user chose a count through
OPENBLAS_NUM_THREADS, and the kernels split their work into parts (parallel.run_parts) that call
cblas ?gemm themselves (kernel_gemm, gemm_rows). Python threads did the splitting before: each
hand-off woke a sleeping thread (tens of microseconds on a KVM guest) and, while Numba's workers
spun after a kernel, competed with them for the cores.
"""
import ctypes
import os
import re

import numpy as np
from numba import get_num_threads, njit

from .parallel import NoAliasArguments, part_range, run_parts

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
# Multiply-adds below which work stays on one thread: waking the other costs more than it saves
# on products this small (DenseNet's cropped 3x3 layers on 1x1 planes).
SPLIT_MULTIPLY_ADDS = 2 << 20


def parts_for(count, multiply_adds):
    """Parts to cut `count` items into: one per thread, or one when the work is under
    SPLIT_MULTIPLY_ADDS multiply-adds per extra thread."""
    return max(1, min(count, get_num_threads(), multiply_adds // SPLIT_MULTIPLY_ADDS))


def matmul(a, b):
    """a @ b as np.matmul; a 2-D float product of at least SPLIT_MULTIPLY_ADDS multiply-adds is
    split by rows of a across the threads, as OpenBLAS itself runs on one (LeNet's first Linear
    gains)."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype not in _KERNEL_DTYPES:
        return np.matmul(a, b)
    (M, K), N = a.shape, b.shape[1]
    parts = parts_for(M, M * K * N)
    if parts < 2:
        return np.matmul(a, b)
    out = np.empty((M, N), dtype=a.dtype)
    trans_a, a_rows = _row_major(a)
    trans_b, b_rows = _row_major(b)
    run_parts(_matmul_part, parts, kernel_gemm(a.dtype), trans_a, trans_b, a_rows, b_rows, out)
    return out


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _row_major(a):
    """(transposed, rows): a as gemm_rows reads it, a 2-D array with contiguous rows (a itself,
    or for a transposed view the array it transposes)."""
    if a.strides[1] == a.itemsize:
        return False, a
    if a.strides[0] == a.itemsize:
        return True, a.T
    return False, np.ascontiguousarray(a)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _matmul_part(part, parts, gemm, trans_a, trans_b, a, b, out):
    """Rows [lo, hi) of out = op(a) @ op(b)."""
    lo, hi = part_range(part, parts, out.shape[0])
    gemm_rows(gemm, trans_a, trans_b, a[:, lo:hi] if trans_a else a[lo:hi], b, out[lo:hi], 0.0)


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
