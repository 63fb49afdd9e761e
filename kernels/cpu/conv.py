"""2-D convolution on the CPU: im2col (Numba, parallel) + one large BLAS GEMM over the whole batch.

Direct loops were measured too (1 thread, float32): they lose on every benchmarked layer, LeNet's
thin ones included (conv 1->6 k5 on 28x28 at batch 256: 41 ms direct, 15 ms im2col + GEMM; conv 6->16
k5 on 14x14: 200 ms against 20 ms), because their short rows do not vectorise the way BLAS does.

Layout conventions (all C-contiguous):
  x       (N, C_in, H, W)
  w       (C_out, C_in // groups, KH, KW)
  y       (N, C_out, OH, OW)
  columns (C_in * KH * KW, N * OH * OW): row (c, kh, kw), column (n, oh, ow). Because the row index
          is channel-major, the rows of group g are one contiguous block, so the matrix reshapes for
          free to (groups, C_in/groups * KH * KW, N * OH * OW) for a GEMM batched over groups.

Numba kernels and BLAS calls run one after the other, never nested, so Numba's threads and
OpenBLAS's threads take turns on the cores instead of competing (and Numba's OpenMP workers wait
passively between regions, see __init__.py). Scratch buffers are per Python thread, so calls
from different threads at once are safe.

Inner loops run over slices from index 0: Numba then knows the index is not negative, drops its
wraparound check, and LLVM vectorises the loop.
"""
import threading

import numpy as np
from numba import njit, prange


def conv2d_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@njit(inline="always")
def _valid_range(out_size, in_size, stride, offset):
    """Output positions o in [lo, hi) whose input position o * stride + offset lies in [0, in_size)."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = (in_size - 1 - offset) // stride + 1
    if hi > out_size:
        hi = out_size
    if hi < lo:
        hi = lo
    return lo, hi


@njit(inline="always")
def _gather_row(dst, src, count, stride):
    """dst[i] = src[i * stride] for i < count."""
    if stride == 1:
        for i in range(count):
            dst[i] = src[i]
    else:
        for i in range(count):
            dst[i] = src[i * stride]


@njit(inline="always")
def _scatter_add_row(dst, src, count, stride):
    """dst[i * stride] += src[i] for i < count."""
    if stride == 1:
        for i in range(count):
            dst[i] += src[i]
    else:
        for i in range(count):
            dst[i * stride] += src[i]


# ---------------------------------------------------------------------------------------------
# Reused scratch buffers. The column matrices reach tens of MB; a fresh allocation that large is
# mmap-ed and page-faulted on every call, which costs more than building the matrix. One buffer
# per role and dtype, per Python thread, is reused instead; it never escapes a public kernel.
# ---------------------------------------------------------------------------------------------

_scratch_buffers = threading.local()


def _scratch(role, shape, dtype):
    size = int(np.prod(shape))
    key = (role, np.dtype(dtype).str)
    buffer = _scratch_buffers.__dict__.get(key)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype)
        _scratch_buffers.__dict__[key] = buffer
    return buffer[:size].reshape(shape)


# ---------------------------------------------------------------------------------------------
# im2col / col2im and layout changes around the GEMM
# ---------------------------------------------------------------------------------------------

@njit(parallel=True, fastmath=True, cache=True)
def _im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, columns):
    N, C, H, W = x.shape
    P = OH * OW
    zero = x.dtype.type(0)
    # One iteration fills one contiguous (OH * OW) stretch of one row: it owns what it writes.
    for task in prange(C * KH * KW * N):
        row = task // N
        n = task - row * N
        c = row // (KH * KW)
        kh = (row // KW) % KH
        kw = row % KW
        row_offset = kh * dh - ph
        col_offset = kw * dw - pw
        oh_lo, oh_hi = _valid_range(OH, H, sh, row_offset)
        ow_lo, ow_hi = _valid_range(OW, W, sw, col_offset)
        dst = columns[row, n * P:(n + 1) * P]
        # Zero what falls on padding, then copy the valid rectangle row by row without branches.
        dst[:oh_lo * OW] = zero
        dst[oh_hi * OW:] = zero
        if ow_lo > 0 or ow_hi < OW:
            for oh in range(oh_lo, oh_hi):
                dst[oh * OW:oh * OW + ow_lo] = zero
                dst[oh * OW + ow_hi:(oh + 1) * OW] = zero
        for oh in range(oh_lo, oh_hi):
            _gather_row(dst[oh * OW + ow_lo:], x[n, c, oh * sh + row_offset, ow_lo * sw + col_offset:],
                        ow_hi - ow_lo, sw)


@njit(parallel=True, fastmath=True, cache=True)
def _col2im(columns, N, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    P = OH * OW
    grad_x = np.empty((N, C, H, W), dtype=columns.dtype)
    # One iteration owns one input plane and gathers every column entry that was read from it
    # (zeroing the plane itself: in cache, in parallel, and no separate pass).
    for plane in prange(N * C):
        n = plane // C
        c = plane - n * C
        grad_x[n, c, :, :] = columns.dtype.type(0)
        for kh in range(KH):
            oh_lo, oh_hi = _valid_range(OH, H, sh, kh * dh - ph)
            for kw in range(KW):
                row = (c * KH + kh) * KW + kw
                col_offset = kw * dw - pw
                ow_lo, ow_hi = _valid_range(OW, W, sw, col_offset)
                for oh in range(oh_lo, oh_hi):
                    ih = oh * sh - ph + kh * dh
                    _scatter_add_row(grad_x[n, c, ih, ow_lo * sw + col_offset:],
                                     columns[row, n * P + oh * OW + ow_lo:], ow_hi - ow_lo, sw)
    return grad_x


@njit(parallel=True, fastmath=True, cache=True)
def _channels_first_to_batch_first(matrix, N, bias):
    """(C_out, N * P) GEMM result -> (N, C_out, P), adding the bias on the way."""
    C_out = matrix.shape[0]
    P = matrix.shape[1] // N
    out = np.empty((N, C_out, P), dtype=matrix.dtype)
    for task in prange(N * C_out):
        n = task // C_out
        co = task - n * C_out
        src = matrix[co, n * P:(n + 1) * P]
        dst = out[n, co]
        b = bias[co]
        for p in range(P):
            dst[p] = src[p] + b
    return out


@njit(parallel=True, fastmath=True, cache=True)
def _batch_first_to_channels_first(grad_y, out):
    """(N, C_out, OH, OW) -> (C_out, N * OH * OW), the GEMM operand layout of the backward passes."""
    N, C_out, OH, OW = grad_y.shape
    P = OH * OW
    for task in prange(C_out * N):
        co = task // N
        n = task - co * N
        src = grad_y[n, co].reshape(P)
        dst = out[co, n * P:(n + 1) * P]
        for p in range(P):
            dst[p] = src[p]


@njit(parallel=True, fastmath=True, cache=True)
def _bias_grad(grad_y):
    N, C_out, OH, OW = grad_y.shape
    grad_b = np.empty(C_out, dtype=grad_y.dtype)
    for co in prange(C_out):
        total = grad_y.dtype.type(0)
        for n in range(N):
            # Sum each plane on its own first: shorter float32 sums lose less to rounding.
            plane = grad_y[n, co].reshape(OH * OW)
            plane_total = grad_y.dtype.type(0)
            for p in range(OH * OW):
                plane_total += plane[p]
            total += plane_total
        grad_b[co] = total
    return grad_b


# ---------------------------------------------------------------------------------------------
# The public kernels
# ---------------------------------------------------------------------------------------------

def _im2col_scratch(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    N, C = x.shape[:2]
    columns = _scratch("columns", (C * KH * KW, N * OH * OW), x.dtype)
    _im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, columns)
    return columns


def _grad_matrix_scratch(grad_y):
    N, C_out, OH, OW = grad_y.shape
    grad_matrix = _scratch("product", (C_out, N * OH * OW), grad_y.dtype)
    _batch_first_to_channels_first(grad_y, grad_matrix)
    return grad_matrix


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    N, C_in, H, W = x.shape
    C_out, C_group, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = conv2d_output_size(H, KH, sh, ph, dh)
    OW = conv2d_output_size(W, KW, sw, pw, dw)
    bias = np.zeros(C_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    columns = _im2col_scratch(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
    rows, out_per_group = C_group * KH * KW, C_out // groups
    product = _scratch("product", (groups, out_per_group, N * OH * OW), x.dtype)
    np.matmul(w.reshape(groups, out_per_group, rows), columns.reshape(groups, rows, N * OH * OW),
              out=product)
    y = _channels_first_to_batch_first(product.reshape(C_out, N * OH * OW), N, bias)
    return y.reshape(N, C_out, OH, OW)


def conv2d_backward_input(grad_y, w, x_shape, stride, padding, dilation, groups):
    grad_y = np.ascontiguousarray(grad_y)
    w = np.ascontiguousarray(w, dtype=grad_y.dtype)
    N, C_out, OH, OW = grad_y.shape
    _, C_group, KH, KW = w.shape
    _, C_in, H, W = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    grad_matrix = _grad_matrix_scratch(grad_y)
    rows, out_per_group = C_group * KH * KW, C_out // groups
    grad_columns = _scratch("columns", (groups, rows, N * OH * OW), grad_y.dtype)
    # A contiguous copy of the (small) transposed weights makes a faster GEMM than a transposed view.
    w_t = np.ascontiguousarray(w.reshape(groups, out_per_group, rows).transpose(0, 2, 1))
    np.matmul(w_t, grad_matrix.reshape(groups, out_per_group, N * OH * OW), out=grad_columns)
    return _col2im(grad_columns.reshape(C_in * KH * KW, N * OH * OW),
                   N, C_in, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)


def conv2d_backward_weight(grad_y, x, w_shape, stride, padding, dilation, groups):
    grad_y = np.ascontiguousarray(grad_y)
    x = np.ascontiguousarray(x, dtype=grad_y.dtype)
    N, C_out, OH, OW = grad_y.shape
    _, C_group, KH, KW = w_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    columns = _im2col_scratch(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
    grad_matrix = _grad_matrix_scratch(grad_y)
    rows, out_per_group = C_group * KH * KW, C_out // groups
    grad_w = np.matmul(grad_matrix.reshape(groups, out_per_group, N * OH * OW),
                       columns.reshape(groups, rows, N * OH * OW).transpose(0, 2, 1))
    return grad_w.reshape(C_out, C_group, KH, KW)


def conv2d_backward_bias(grad_y):
    return _bias_grad(np.ascontiguousarray(grad_y))
