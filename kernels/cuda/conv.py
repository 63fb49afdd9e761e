"""2-D convolution on the GPU: im2col (a gather kernel), cuBLAS GEMMs (blas.matmul), and col2im
written as a gather (each thread sums the column entries of the input pixel it owns: no atomics).
CuPy 14 has no cuDNN, so the convolution is ours.

The column matrix of a chunk of n samples is (C_in * KH * KW, n * OH * OW): row (c, kh, kw), column
(sample, oh, ow). Group g owns rows [g * K, (g + 1) * K) with K = C_in / groups * KH * KW, so one
batched GEMM of the (groups, C_out / groups, K) weights with the (groups, K, n * OH * OW)
columns runs every group; with groups = 1 it is one large 2-D GEMM over the whole chunk. A chunk
holds as many samples as fit in COLUMN_BUDGET_BYTES (ResNet-18's widest layer at 32x32, batch 128:
302 MB in float32, one chunk).

Layouts (C-contiguous): x (N, C_in, H, W), w (C_out, C_in / groups, KH, KW), y (N, C_out, OH, OW).
"""
from numba import cuda

from ..shapes import output_size
from .blas import matmul
from .runtime import launch, unravel, xp

COLUMN_BUDGET_BYTES = 1 << 30


@cuda.jit(cache=True)
def _im2col(x, C, H, W, first_sample, cols, columns, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """cols[(c, kh, kw), (n, oh, ow)] = x[first_sample + n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw],
    zero where that falls in the padding, on flat views of x (N, C, H, W) and cols (rows, columns).
    A thread owns one (c, n, oh, ow) and writes its KH * KW taps: the integer divisions that locate
    it, the costly part on a GPU, are paid once per window rather than once per entry, and flat
    indices save the per-axis index arithmetic (13-16% of the kernel's time on ResNet's layers on an
    H100). Consecutive threads write consecutive columns."""
    zero = cols.dtype.type(0)
    for index in range(cuda.grid(1), C * columns, cuda.gridsize(1)):
        c = index // columns
        column = index - c * columns
        n, oh, ow = unravel(column, OH, OW)
        plane = ((first_sample + n) * C + c) * (H * W)
        entry = c * KH * KW * columns + column
        top, left = oh * sh - ph, ow * sw - pw
        for kh in range(KH):
            h = top + kh * dh
            row_inside = 0 <= h < H
            for kw in range(KW):
                w = left + kw * dw
                value = zero
                if row_inside and 0 <= w < W:
                    value = x[plane + h * W + w]
                cols[entry] = value
                entry += columns


@cuda.jit(device=True)
def _output_cell(scaled, stride, cells):
    """The output cell o with o * stride == scaled, or -1 if there is none (no division when the
    stride is 1, the common case)."""
    if scaled < 0:
        return -1
    cell = scaled
    if stride != 1:
        cell = scaled // stride
        if cell * stride != scaled:
            return -1
    return cell if cell < cells else -1


@cuda.jit(cache=True)
def _col2im(cols, grad_x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """grad_x[n, c, h, w] = the sum of the column entries that im2col read from (n, c, h, w): for
    each tap (kh, kw), the output pixel whose window put (h, w) under that tap, if there is one."""
    _, C, H, W = grad_x.shape
    pixels = OH * OW
    for index in range(cuda.grid(1), grad_x.size, cuda.gridsize(1)):
        plane, h, w = unravel(index, H, W)
        n = plane // C
        c = plane - n * C
        total = grad_x.dtype.type(0)
        for kh in range(KH):
            oh = _output_cell(h + ph - kh * dh, sh, OH)
            if oh < 0:
                continue
            for kw in range(KW):
                ow = _output_cell(w + pw - kw * dw, sw, OW)
                if ow >= 0:
                    total += cols[(c * KH + kh) * KW + kw, n * pixels + oh * OW + ow]
        grad_x[n, c, h, w] = total


class _Geometry:
    """The sizes of one convolution, worked out once per call."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups):
        self.N, self.C_in, self.H, self.W = x_shape
        self.C_out, c_group, self.KH, self.KW = w_shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.OH = output_size(self.H, self.KH, stride[0], padding[0], dilation[0])
        self.OW = output_size(self.W, self.KW, stride[1], padding[1], dilation[1])
        self.pixels = self.OH * self.OW
        self.rows = self.C_in * self.KH * self.KW  # of the column matrix
        self.group_rows = c_group * self.KH * self.KW
        self.group_out = self.C_out // groups

    def chunks(self, itemsize):
        """(first, end) sample ranges whose column matrices fit in COLUMN_BUDGET_BYTES."""
        per_sample = self.rows * self.pixels * itemsize
        step = max(1, min(self.N, COLUMN_BUDGET_BYTES // max(per_sample, 1)))
        return [(first, min(first + step, self.N)) for first in range(0, self.N, step)]

    def kernel_args(self):
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        return self.KH, self.KW, sh, sw, ph, pw, dh, dw, self.OH, self.OW

    def columns(self, x, first, end):
        """The (groups, K, n * OH * OW) column matrix of samples [first, end)."""
        columns = (end - first) * self.pixels
        cols = xp.empty((self.rows, columns), dtype=x.dtype)
        launch(_im2col, self.C_in * columns, x.reshape(-1), self.C_in, self.H, self.W, first,
               cols.reshape(-1), columns, *self.kernel_args())
        return cols.reshape(self.groups, self.group_rows, -1)

    def grad_rows(self, grad_y, first, end):
        """grad_y of samples [first, end) as (groups, C_out / groups, n * OH * OW), the layout of
        the forward GEMM's output."""
        n = end - first
        by_channel = grad_y[first:end].reshape(n, self.C_out, self.pixels).transpose(1, 0, 2)
        return xp.ascontiguousarray(by_channel).reshape(self.groups, self.group_out, n * self.pixels)


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    x = xp.ascontiguousarray(x)
    w = xp.ascontiguousarray(w, dtype=x.dtype)
    g = _Geometry(x.shape, w.shape, stride, padding, dilation, groups)
    weights = w.reshape(groups, g.group_out, g.group_rows)
    y = xp.empty((g.N, g.C_out, g.OH, g.OW), dtype=x.dtype)
    bias = None if b is None else xp.asarray(b, dtype=x.dtype).reshape(1, g.C_out, 1)
    for first, end in g.chunks(x.dtype.itemsize):
        n = end - first
        # (groups, C_out / groups, n * OH * OW)
        product = matmul(weights, g.columns(x, first, end))
        # (C_out, n, OH*OW) back to (n, C_out, OH*OW), with the bias added in the same pass
        by_sample = product.reshape(g.C_out, n, g.pixels).transpose(1, 0, 2)
        target = y[first:end].reshape(n, g.C_out, g.pixels)
        if bias is None:
            xp.copyto(target, by_sample)
        else:
            xp.add(by_sample, bias, out=target)
    return y


def conv2d_backward(grad_y, x, w, needs, stride, padding, dilation, groups):
    """The gradients (input, weight, bias) of conv2d_forward, each None unless `needs` (three
    bools, in that order) asks for it. The input and weight gradients share one pass over the
    chunks, which reorders each chunk of grad_y once for both GEMMs."""
    need_input, need_weight, need_bias = needs
    grad_y = xp.ascontiguousarray(grad_y)
    dtype = grad_y.dtype
    w = xp.ascontiguousarray(w, dtype=dtype)
    g = _Geometry(x.shape, w.shape, stride, padding, dilation, groups)
    weights_t = w.reshape(groups, g.group_out, g.group_rows).transpose(0, 2, 1)
    if need_weight:
        x = xp.ascontiguousarray(x, dtype=dtype)
    grad_x = xp.empty(x.shape, dtype=dtype) if need_input else None
    grad_w = None
    for first, end in g.chunks(dtype.itemsize) if need_input or need_weight else ():
        rows = g.grad_rows(grad_y, first, end)
        if need_input:
            cols = matmul(weights_t, rows).reshape(g.rows, -1)
            target = grad_x[first:end]
            launch(_col2im, target.size, cols, target, *g.kernel_args())
        if need_weight:
            product = matmul(rows, g.columns(x, first, end).transpose(0, 2, 1))
            grad_w = product if grad_w is None else grad_w + product
    if need_weight:
        grad_w = xp.zeros(w.shape, dtype=dtype) if grad_w is None else grad_w.reshape(w.shape)
    return grad_x, grad_w, grad_y.sum(axis=(0, 2, 3)) if need_bias else None
