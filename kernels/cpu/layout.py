"""Layout changes between the conv kernels' operands: parallel moves of an axis, each prange
iteration writing its own part of the output."""
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True)
def batch_last(x, out):
    """out (C, P, N) = x (N, C, P) moved; each channel a prange iteration's own."""
    N, C, P = x.shape
    for c in prange(C):
        for n in range(N):
            for p in range(P):
                out[c, p, n] = x[n, c, p]


@njit(parallel=True, fastmath=True, cache=True)
def batch_first(y_t, bias, out):
    """out (N, C, P) = y_t (C, P, N) moved, plus bias[c]."""
    C, P, N = y_t.shape
    for c in prange(C):
        shift = bias[c]
        for n in range(N):
            for p in range(P):
                out[n, c, p] = y_t[c, p, n] + shift


@njit(parallel=True, fastmath=True, cache=True)
def taps_first(w, out):
    """out (T, C_out, C_in) = w (C_out, C_in, T) moved."""
    C_out, C_in, T = w.shape
    for co in prange(C_out):
        for ci in range(C_in):
            for t in range(T):
                out[t, co, ci] = w[co, ci, t]


@njit(parallel=True, fastmath=True, cache=True)
def taps_last(grad_w_t, out):
    """out (C_out, C_in, T) = grad_w_t (T, C_out, C_in) moved."""
    T, C_out, C_in = grad_w_t.shape
    for co in prange(C_out):
        for ci in range(C_in):
            for t in range(T):
                out[co, ci, t] = grad_w_t[t, co, ci]
