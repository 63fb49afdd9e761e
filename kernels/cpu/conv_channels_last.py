"""im2col + GEMM on channels-last copies, for small planes (DenseNet's and ResNet's 4x4 and 2x2).

On a 4x4 plane conv_per_sample's im2col copies rows of 4 floats, and its GEMMs have C_out rows:
32 for DenseNet's growth layers, where OpenBLAS runs far below its speed. Here each sample is
first copied channels-last (and zero-bordered), so that a column row, one output position, is
KH * KW contiguous runs of C_in floats, and the GEMM has the positions as its rows:

  columns (S P, KH KW C_in)    w_m (KH KW C_in, C_out)    product (S P, C_out)

  forward          product = columns @ w_m, written back to (N, C_out, OH, OW) with the bias
  input gradient   columns' gradient = grad_y_m @ w_m^T, summed back into channels-last planes
  weight gradient  w_m's gradient += columns^T @ grad_y_m

S samples per chunk (_samples_per_chunk), the chunks of a range of samples on each Python thread
(blas.run_split), which sums its weight gradient into its own partial sum.
"""
import numpy as np
from numba import get_num_threads, njit

from .blas import run_split, split_ranges

CHUNK_BYTES = 2 << 20  # a chunk's columns, cache-sized
MIN_ROWS = 256  # GEMM rows (positions) per chunk where the batch has them
MAX_POSITIONS = 16  # output positions per plane: 4x4 and smaller
MAX_OUT_CHANNELS = 64  # wider layers' GEMMs run as fast with C_out rows (bench_conv_pool.py)


def applies(w_shape, groups, OH, OW):
    """Ungrouped layers with at most MAX_POSITIONS output positions per plane and at most
    MAX_OUT_CHANNELS output channels (DenseNet's growth layers on 4x4 and 3x3 planes)."""
    return groups == 1 and OH * OW <= MAX_POSITIONS and w_shape[0] <= MAX_OUT_CHANNELS


@njit(nogil=True, fastmath=True, cache=True)
def _columns(x, first, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, padded, columns):
    """columns[j P + oh OW + ow, (kh KW + kw) C + c] = sample first + j's padded input at
    (c, oh sh + kh dh, ow sw + kw dw), through `padded` (Hp, Wp, C), whose border stays zero."""
    _, C, H, W = x.shape
    P = OH * OW
    padded[...] = 0
    for j in range(count):
        sample = x[first + j]
        for c in range(C):
            for h in range(H):
                for i in range(W):
                    padded[ph + h, pw + i, c] = sample[c, h, i]
        for oh in range(OH):
            for ow in range(OW):
                row = columns[j * P + oh * OW + ow]
                for kh in range(KH):
                    for kw in range(KW):
                        src = padded[oh * sh + kh * dh, ow * sw + kw * dw]
                        dst = row[(kh * KW + kw) * C:]
                        for c in range(C):
                            dst[c] = src[c]


@njit(nogil=True, fastmath=True, cache=True)
def _add_columns(columns, first, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, padded, grad_x):
    """grad_x[first + j] = the sum of the column entries read from each input element: _columns'
    adjoint, summed in the channels-last `padded` and copied out of its interior."""
    _, C, H, W = grad_x.shape
    P = OH * OW
    for j in range(count):
        padded[...] = 0
        for oh in range(OH):
            for ow in range(OW):
                row = columns[j * P + oh * OW + ow]
                for kh in range(KH):
                    for kw in range(KW):
                        dst = padded[oh * sh + kh * dh, ow * sw + kw * dw]
                        src = row[(kh * KW + kw) * C:]
                        for c in range(C):
                            dst[c] += src[c]
        out = grad_x[first + j]
        for c in range(C):
            for h in range(H):
                for i in range(W):
                    out[c, h, i] = padded[ph + h, pw + i, c]


@njit(nogil=True, fastmath=True, cache=True)
def _to_planes(product, bias, first, count, y):
    """y[first + j, co, p] = product[j P + p, co] + bias[co]; y (N, C_out, P)."""
    C_out, P = y.shape[1], y.shape[2]
    for j in range(count):
        for co in range(C_out):
            dst = y[first + j, co]
            shift = bias[co]
            for p in range(P):
                dst[p] = product[j * P + p, co] + shift


@njit(nogil=True, fastmath=True, cache=True)
def _from_planes(grad_y, first, count, block):
    """block[j P + p, co] = grad_y[first + j, co, p]: _to_planes' inverse, without a bias."""
    C_out, P = grad_y.shape[1], grad_y.shape[2]
    for j in range(count):
        for co in range(C_out):
            src = grad_y[first + j, co]
            for p in range(P):
                block[j * P + p, co] = src[p]


def _samples_per_chunk(N, P, K, itemsize):
    """Enough samples for MIN_ROWS positions, or as many more as CHUNK_BYTES of columns hold;
    never more than a thread's share of the batch."""
    samples = max(-(-MIN_ROWS // P), CHUNK_BYTES // (P * K * itemsize))
    return max(1, min(samples, -(-N // max(1, get_num_threads()))))


def _weights_as_matrix(w):
    """(C_out, C_in, KH, KW) -> (KH KW C_in, C_out), the columns' row order."""
    C_out, C_in, KH, KW = w.shape
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(KH * KW * C_in, C_out)


def forward(x, w, bias, stride, padding, dilation, OH, OW, scratch):
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    P, K = OH * OW, KH * KW * C_in
    w_m = _weights_as_matrix(w)
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    y_planes = y.reshape(N, C_out, P)
    S = _samples_per_chunk(N, P, K, x.dtype.itemsize)

    def work(lo, hi):
        columns = scratch("columns", (S * P, K), x.dtype)
        product = scratch("product", (S * P, C_out), x.dtype)
        padded = scratch("padded", (H + 2 * ph, W + 2 * pw, C_in), x.dtype)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            _columns(x, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, padded, columns)
            np.matmul(columns[:count * P], w_m, out=product[:count * P])
            _to_planes(product, bias, start, count, y_planes)

    run_split(work, split_ranges(N, N * C_out * K * P))
    return y


def backward(grad_y, x, w, need_input, need_weight, stride, padding, dilation, scratch):
    """(grad_x, grad_w) of forward, each None unless asked for; one gather of grad_y per chunk
    for both."""
    N, C_out, OH, OW = grad_y.shape
    _, C_in, H, W = x.shape
    KH, KW = w.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    P, K = OH * OW, KH * KW * C_in
    w_m = _weights_as_matrix(w)
    grad_x = np.empty(x.shape, dtype=grad_y.dtype) if need_input else None
    grad_y_planes = grad_y.reshape(N, C_out, P)
    S = _samples_per_chunk(N, P, K, grad_y.dtype.itemsize)

    def work(lo, hi):
        columns = scratch("columns", (S * P, K), grad_y.dtype)
        block = scratch("gathered", (S * P, C_out), grad_y.dtype)
        padded = scratch("padded", (H + 2 * ph, W + 2 * pw, C_in), grad_y.dtype)
        total = np.zeros((K, C_out), dtype=grad_y.dtype) if need_weight else None
        product = scratch("weights", (K, C_out), grad_y.dtype)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            rows = count * P
            _from_planes(grad_y_planes, start, count, block)
            if need_weight:
                _columns(x, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, padded, columns)
                np.matmul(columns[:rows].T, block[:rows], out=product)
                total += product
            if need_input:
                np.matmul(block[:rows], w_m.T, out=columns[:rows])
                _add_columns(columns, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW,
                             padded, grad_x)
        return total

    partials = run_split(work, split_ranges(N, N * C_out * K * P))
    grad_w = None
    if need_weight:
        total = partials[0]
        for partial in partials[1:]:
            total += partial
        grad_w = np.ascontiguousarray(total.reshape(KH, KW, C_in, C_out).transpose(3, 2, 0, 1))
    return grad_x, grad_w
