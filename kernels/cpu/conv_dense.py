"""A convolution of small planes as one dense matrix: one GEMM over the batch per pass.

On planes of fewer positions than the kernel has taps (ResNet-18's 2x2 and 1x1 planes at 32x32
inputs, DenseNet's last ones) every im2col column is mostly padding. The layer is a linear map
from a sample's C_in * H * W inputs to its C_out * OH * OW outputs; its matrix, with a zero for
each (input, output) pair that no tap links, has no more entries than im2col multiplies and no
padding in them (a 3x3 kernel on 2x2 planes: 16 pairs of positions against 36 im2col products).

The matrix is kept as D (C_out * OH * OW, H * W * C_in), each row one output position's weights
with the channels innermost (built by copying runs of C_in weights), and it is always the GEMMs'
left operand, their M: OpenBLAS runs a product of 32 rows (a batch) at half the speed of one of
32 columns. The inputs enter with their channels innermost too, x_t (N, H * W * C_in):

  forward          y^T = D @ x_t^T
  input gradient   grad_x_t^T = D^T @ grad_y^T
  weight gradient  dD = grad_y^T @ x_t, each tap's weight gradient the sum of its entries in dD

Each part (parallel.run_parts, on Numba's threads) takes a range of output channels: it builds,
multiplies and folds its own rows of D with serial kernels and single-threaded GEMMs
(blas.gemm_rows), so a pass hands off between threads once, not at every kernel.
"""
import functools

import numpy as np
from numba import njit

from .blas import gemm_rows, kernel_gemm, parts_for
from .parallel import NoAliasArguments, part_range, run_parts


def applies(x_shape, w_shape, OH, OW, groups):
    """Ungrouped layers whose planes have fewer positions than the kernel taps (so the dense
    matrix does no more multiply-adds than im2col), and whose matrix is at most twice the
    weights' size."""
    H, W = x_shape[2:]
    taps = w_shape[2] * w_shape[3]
    return groups == 1 and H * W <= taps and H * W * OH * OW <= 2 * taps


@functools.lru_cache(maxsize=256)
def _tap_table(H, W, KH, KW, stride, padding, dilation, OH, OW):
    """taps[output position, input position]: the kernel tap (kh * KW + kw) that links them, -1
    where none does; one table per geometry, shared by its calls (the kernels only read it)."""
    def axis(size, out, kernel, s, p, d):
        offset = np.arange(size)[None, :] + p - np.arange(out)[:, None] * s
        valid = (offset >= 0) & (offset % d == 0) & (offset // d < kernel)
        return np.where(valid, offset // d, -1)  # (out, size)

    kh = axis(H, OH, KH, stride[0], padding[0], dilation[0])[:, None, :, None]
    kw = axis(W, OW, KW, stride[1], padding[1], dilation[1])[None, :, None, :]
    taps = np.where((kh >= 0) & (kw >= 0), kh * KW + kw, -1)
    return np.ascontiguousarray(taps.reshape(OH * OW, H * W), dtype=np.int64)


@njit(nogil=True, fastmath=True, cache=True)
def _dense_rows(w, taps, lo, hi, D):
    """D's rows of output channels lo .. hi - 1, D viewed as (C_out, P_out, P_in, C_in)."""
    C_in, KH, KW = w.shape[1:]
    P_out, P_in = taps.shape
    for co in range(lo, hi):
        weights = w[co].reshape(C_in, KH * KW)
        for po in range(P_out):
            for pi in range(P_in):
                tap, run = taps[po, pi], D[co, po, pi]
                if tap < 0:
                    run[:] = 0
                else:
                    for ci in range(C_in):
                        run[ci] = weights[ci, tap]


@njit(nogil=True, fastmath=True, cache=True)
def _fold_rows(dD, taps, lo, grad_w):
    """grad_w (channels lo .., C_in, KH * KW) from dD's rows of those channels (count, P_out,
    P_in, C_in): each tap's gradient summed over the pairs it links (_dense_rows' transpose)."""
    P_out, P_in = taps.shape
    for j in range(dD.shape[0]):
        out = grad_w[lo + j]
        out[...] = 0
        for po in range(P_out):
            for pi in range(P_in):
                tap = taps[po, pi]
                if tap >= 0:
                    run = dD[j, po, pi]
                    for ci in range(out.shape[0]):
                        out[ci, tap] += run[ci]


def _channels_last(a):
    """(N, C, H, W) -> x_t (N, H * W * C)."""
    N, C, H, W = a.shape
    return np.ascontiguousarray(a.reshape(N, C, H * W).transpose(0, 2, 1)).reshape(N, H * W * C)


def _geometry(x_shape, w_shape, stride, padding, dilation, OH, OW):
    C_out, C_in, KH, KW = w_shape
    taps = _tap_table(*x_shape[2:], KH, KW, stride, padding, dilation, OH, OW)
    P_out, P_in = taps.shape
    work = x_shape[0] * C_out * P_out * P_in * C_in
    return taps, P_out, P_in, parts_for(C_out, work)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _forward_part(part, parts, gemm, w, taps, x_t, D, y_t):
    """Part `part` of the output channels: their rows of D, and y_t's rows D @ x_t^T."""
    lo, hi = part_range(part, parts, D.shape[0])
    P_out = D.shape[1]
    _dense_rows(w, taps, lo, hi, D)
    rows = D.reshape(D.shape[0] * P_out, D.shape[2] * D.shape[3])
    gemm_rows(gemm, False, True, rows[lo * P_out:hi * P_out], x_t, y_t[lo * P_out:hi * P_out], 0.0)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _weight_rows_part(part, parts, gemm, w, taps, grad_y, x_t, need_input, need_weight, D,
                      grad_w):
    """Part `part` of the output channels: their rows of D (for the input gradient), and their
    weight gradient, from dD = grad_y^T @ x_t folded tap by tap. grad_y: (N, C_out P_out)."""
    lo, hi = part_range(part, parts, D.shape[0])
    P_out, P_in, C_in = taps.shape[0], taps.shape[1], w.shape[1]
    if need_input:
        _dense_rows(w, taps, lo, hi, D)
    if need_weight:
        dD = np.empty(((hi - lo) * P_out, P_in * C_in), dtype=x_t.dtype)
        gemm_rows(gemm, True, False, grad_y[:, lo * P_out:hi * P_out], x_t, dD, 0.0)
        _fold_rows(dD.reshape(hi - lo, P_out, P_in, C_in), taps, lo, grad_w)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _input_rows_part(part, parts, gemm, D, grad_y, grad_x_t):
    """Part `part` of the input positions: grad_x_t's rows (position, channel) = D^T @ grad_y^T."""
    lo, hi = part_range(part, parts, D.shape[2])
    C_in = D.shape[3]
    rows = D.reshape(D.shape[0] * D.shape[1], D.shape[2] * C_in)
    gemm_rows(gemm, True, True, rows[:, lo * C_in:hi * C_in], grad_y,
              grad_x_t[lo * C_in:hi * C_in], 0.0)


def forward(x, w, bias, stride, padding, dilation, OH, OW):
    N, C_out, C_in = x.shape[0], w.shape[0], w.shape[1]
    taps, P_out, P_in, parts = _geometry(x.shape, w.shape, stride, padding, dilation, OH, OW)
    y_t = np.empty((C_out * P_out, N), dtype=x.dtype)
    run_parts(_forward_part, parts, kernel_gemm(x.dtype), w, taps, _channels_last(x),
              np.empty((C_out, P_out, P_in, C_in), dtype=x.dtype), y_t)
    y = np.empty((N, C_out, P_out), dtype=x.dtype)
    np.add(y_t.T.reshape(N, C_out, P_out), bias.reshape(C_out, 1), out=y)
    return y.reshape(N, C_out, OH, OW)


def backward(grad_y, x, w, need_input, need_weight, stride, padding, dilation):
    """(grad_x, grad_w), each None unless asked for."""
    N, C_out, OH, OW = grad_y.shape
    C_in, KH, KW = w.shape[1:]
    dtype = x.dtype
    taps, P_out, P_in, parts = _geometry(x.shape, w.shape, stride, padding, dilation, OH, OW)
    grad_y_rows = grad_y.reshape(N, C_out * P_out)
    D = np.empty((C_out, P_out, P_in, C_in) if need_input else (C_out, P_out, 0, 0), dtype=dtype)
    grad_w = np.empty((C_out, C_in, KH * KW) if need_weight else (0, 0, 0), dtype=dtype)
    x_t = _channels_last(x) if need_weight else np.empty((0, 0), dtype=dtype)
    gemm = kernel_gemm(dtype)
    run_parts(_weight_rows_part, parts, gemm, w, taps, grad_y_rows, x_t, bool(need_input),
              bool(need_weight), D, grad_w)
    grad_x = None
    if need_input:
        grad_x_t = np.empty((P_in * C_in, N), dtype=dtype)
        run_parts(_input_rows_part, parts_for(P_in, N * C_out * P_out * P_in * C_in), gemm,
                  D, grad_y_rows, grad_x_t)
        grad_x = np.ascontiguousarray(grad_x_t.reshape(P_in, C_in, N).transpose(2, 1, 0))
        grad_x = grad_x.reshape(x.shape)
    return grad_x, grad_w.reshape(w.shape) if need_weight else None
