"""Layout changes between the conv kernels' operands: parallel moves of an axis, each prange
iteration writing its own part of the output (the batch to the end and back, the kernel taps to
the front and back, a transpose)."""
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True)
def first_axis_last(x, out):
    """out (C, P, N) = x (N, C, P) moved; each channel a prange iteration's own."""
    N, C, P = x.shape
    for c in prange(C):
        for n in range(N):
            for p in range(P):
                out[c, p, n] = x[n, c, p]


@njit(parallel=True, fastmath=True, cache=True)
def last_axis_first(y_t, bias, out):
    """out (N, C, P) = y_t (C, P, N) moved, plus bias[c]."""
    C, P, N = y_t.shape
    for c in prange(C):
        shift = bias[c]
        for n in range(N):
            for p in range(P):
                out[n, c, p] = y_t[c, p, n] + shift
