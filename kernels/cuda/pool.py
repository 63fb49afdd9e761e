"""2-D max, average and adaptive pooling on the GPU, with torch.nn.functional's semantics (those of
kernels/cpu/pool.py, result for result).

One thread per output element in the forward passes; one thread per INPUT element in the backward
passes, which gathers from the output cells whose windows cover it, so overlapping windows never
race and no atomics are needed. A window's geometry is worked out in the kernel from scalars (no
index arrays to copy to the device) by the rules of kernels/pool_rule.py, which the CPU's kernels
share; the strided and the adaptive form by the same device functions.

Max pooling records, per output element, the flat index (into the H x W input plane) of the element
it took, as int32; backward sends each output's gradient to the input element with that index.
"""
import math

from numba import cuda

from .. import pool_rule
from ..shapes import conv_output_shape, output_size
from .activation import relu_backward, relu_forward
from .conv import conv2d_backward, conv2d_forward
from .runtime import launch, unravel, xp

ARGMAX_DTYPE = xp.int32


_window = cuda.jit(device=True)(pool_rule.window)
_cells_covering = cuda.jit(device=True)(pool_rule.cells_covering)
_taps_inside = cuda.jit(device=True)(pool_rule.taps_inside)
_first_tap_index = cuda.jit(device=True)(pool_rule.first_tap_index)
_averaged_range = cuda.jit(device=True)(pool_rule.averaged_range)


@cuda.jit(device=True)
def _avg_extent(cell, size, cells, kernel, stride, padding, adaptive, count_include_pad):
    start, taps = _window(cell, size, cells, kernel, stride, padding, adaptive)
    return _averaged_range(start, taps, size, padding, count_include_pad)


@cuda.jit(cache=True)
def _max_pool_forward(x, y, argmax, KH, sh, ph, dh, KW, sw, pw, dw, adaptive):
    planes, H, W = x.shape
    _, OH, OW = y.shape
    lowest = x.dtype.type(-math.inf)
    for index in range(cuda.grid(1), planes * OH * OW, cuda.gridsize(1)):
        plane, oh, ow = unravel(index, OH, OW)
        h0, h_taps = _window(oh, H, OH, KH, sh, ph, adaptive)
        w0, w_taps = _window(ow, W, OW, KW, sw, pw, adaptive)
        kh_first, kh_end = _taps_inside(h0, h_taps, dh, H)
        kw_first, kw_end = _taps_inside(w0, w_taps, dw, W)
        best = lowest  # a NaN wins its window
        best_index = _first_tap_index(h0, kh_first, dh, w0, kw_first, dw, W)
        for kh in range(kh_first, kh_end):
            h = h0 + kh * dh
            for kw in range(kw_first, kw_end):
                value = x[plane, h, w0 + kw * dw]
                if value > best or value != value:
                    best = value
                    best_index = h * W + w0 + kw * dw
        y[plane, oh, ow] = best
        argmax[plane, oh, ow] = best_index


@cuda.jit(cache=True)
def _max_pool_backward(grad_y, argmax, grad_x, KH, sh, ph, dh, KW, sw, pw, dw, adaptive):
    planes, H, W = grad_x.shape
    _, OH, OW = grad_y.shape
    for index in range(cuda.grid(1), planes * H * W, cuda.gridsize(1)):
        plane, h, w = unravel(index, H, W)
        oh_first, oh_end = _cells_covering(h, H, OH, KH, sh, ph, dh, adaptive)
        ow_first, ow_end = _cells_covering(w, W, OW, KW, sw, pw, dw, adaptive)
        own_index = h * W + w
        total = grad_x.dtype.type(0)
        for oh in range(oh_first, oh_end):
            for ow in range(ow_first, ow_end):
                if argmax[plane, oh, ow] == own_index:
                    total += grad_y[plane, oh, ow]
        grad_x[plane, h, w] = total


@cuda.jit(cache=True)
def _avg_pool_forward(x, y, KH, sh, ph, KW, sw, pw, adaptive, count_include_pad, divisor_override):
    planes, H, W = x.shape
    _, OH, OW = y.shape
    for index in range(cuda.grid(1), planes * OH * OW, cuda.gridsize(1)):
        plane, oh, ow = unravel(index, OH, OW)
        h_first, h_end, h_count = _avg_extent(oh, H, OH, KH, sh, ph, adaptive, count_include_pad)
        w_first, w_end, w_count = _avg_extent(ow, W, OW, KW, sw, pw, adaptive, count_include_pad)
        total = x.dtype.type(0)  # a window lying wholly on padding gives 0, as in torch
        for h in range(h_first, h_end):
            for w in range(w_first, w_end):
                total += x[plane, h, w]
        divisor = divisor_override if divisor_override > 0 else h_count * w_count
        y[plane, oh, ow] = total / x.dtype.type(max(divisor, 1))


@cuda.jit(cache=True)
def _avg_pool_backward(grad_y, grad_x, KH, sh, ph, KW, sw, pw, adaptive, count_include_pad,
                       divisor_override):
    planes, H, W = grad_x.shape
    _, OH, OW = grad_y.shape
    for index in range(cuda.grid(1), planes * H * W, cuda.gridsize(1)):
        plane, h, w = unravel(index, H, W)
        oh_first, oh_end = _cells_covering(h, H, OH, KH, sh, ph, 1, adaptive)
        ow_first, ow_end = _cells_covering(w, W, OW, KW, sw, pw, 1, adaptive)
        total = grad_x.dtype.type(0)
        for oh in range(oh_first, oh_end):
            _, _, h_count = _avg_extent(oh, H, OH, KH, sh, ph, adaptive, count_include_pad)
            for ow in range(ow_first, ow_end):
                _, _, w_count = _avg_extent(ow, W, OW, KW, sw, pw, adaptive, count_include_pad)
                divisor = divisor_override if divisor_override > 0 else h_count * w_count
                total += grad_y[plane, oh, ow] / grad_x.dtype.type(max(divisor, 1))
        grad_x[plane, h, w] = total


def _planes(array):
    """(N, C, H, W) as (N * C, H, W), C-contiguous."""
    N, C, H, W = array.shape
    return xp.ascontiguousarray(array).reshape(N * C, H, W)


def _max_forward(x, out_size, window, adaptive):
    N, C = x.shape[:2]
    y = xp.empty((N * C,) + out_size, dtype=x.dtype)
    argmax = xp.empty((N * C,) + out_size, dtype=ARGMAX_DTYPE)
    launch(_max_pool_forward, y.size, _planes(x), y, argmax, *window, adaptive)
    return y.reshape((N, C) + out_size), argmax.reshape((N, C) + out_size)


def _max_backward(grad_y, argmax, x_shape, window, adaptive):
    grad_x = xp.empty(tuple(x_shape), dtype=grad_y.dtype)
    launch(_max_pool_backward, grad_x.size, _planes(grad_y),
           _planes(xp.asarray(argmax, dtype=ARGMAX_DTYPE)), grad_x.reshape(-1, *x_shape[2:]),
           *window, adaptive)
    return grad_x


def _max_window(kernel_size, stride, padding, dilation):
    """Per axis (kernel, stride, padding, dilation), as the max-pooling kernels take them."""
    return (kernel_size[0], stride[0], padding[0], dilation[0],
            kernel_size[1], stride[1], padding[1], dilation[1])


# Adaptive windows need none of kernel, stride, padding or dilation: placeholders (dilation 1).
_ADAPTIVE_MAX_WINDOW = (0, 1, 0, 1, 0, 1, 0, 1)
_ADAPTIVE_AVG_WINDOW = (0, 1, 0, 0, 1, 0)


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    _, _, H, W = x.shape
    out_size = (output_size(H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode),
                output_size(W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode))
    return _max_forward(x, out_size, _max_window(kernel_size, stride, padding, dilation), False)


def max_pool2d_backward(grad_y, argmax, x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    # ceil_mode only decided the output size, which grad_y already has.
    return _max_backward(grad_y, argmax, x_shape, _max_window(kernel_size, stride, padding, dilation),
                         False)


def relu_max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    y, argmax = max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
    return relu_forward(y), argmax


def relu_max_pool2d_backward(grad_y, y, argmax, x_shape, kernel_size, stride, padding, dilation,
                             ceil_mode):
    return max_pool2d_backward(relu_backward(grad_y, y), argmax, x_shape, kernel_size, stride,
                               padding, dilation, ceil_mode)


def conv2d_relu_max_pool2d_forward(x, w, b, conv, pool):
    return relu_max_pool2d_forward(conv2d_forward(x, w, b, *conv), *pool)


def conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, needs, conv, pool):
    conv_shape = conv_output_shape(x.shape, w.shape, *conv[:3])
    grad_conv = relu_max_pool2d_backward(grad_y, y, argmax, conv_shape, *pool)
    return conv2d_backward(grad_conv, x, w, needs, *conv)


def adaptive_max_pool2d_forward(x, output_size):
    return _max_forward(x, tuple(output_size), _ADAPTIVE_MAX_WINDOW, True)


def adaptive_max_pool2d_backward(grad_y, argmax, x_shape):
    return _max_backward(grad_y, argmax, x_shape, _ADAPTIVE_MAX_WINDOW, True)


def _avg_forward(x, out_size, window, adaptive, count_include_pad, divisor_override):
    N, C = x.shape[:2]
    y = xp.empty((N * C,) + out_size, dtype=x.dtype)
    launch(_avg_pool_forward, y.size, _planes(x), y, *window, adaptive, count_include_pad,
           divisor_override)
    return y.reshape((N, C) + out_size)


def _avg_backward(grad_y, x_shape, window, adaptive, count_include_pad, divisor_override):
    grad_x = xp.empty(tuple(x_shape), dtype=grad_y.dtype)
    launch(_avg_pool_backward, grad_x.size, _planes(grad_y), grad_x.reshape(-1, *x_shape[2:]),
           *window, adaptive, count_include_pad, divisor_override)
    return grad_x


def avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override):
    _, _, H, W = x.shape
    out_size = (output_size(H, kernel_size[0], stride[0], padding[0], 1, ceil_mode),
                output_size(W, kernel_size[1], stride[1], padding[1], 1, ceil_mode))
    window = (kernel_size[0], stride[0], padding[0], kernel_size[1], stride[1], padding[1])
    return _avg_forward(x, out_size, window, False, bool(count_include_pad),
                        int(divisor_override or 0))


def avg_pool2d_backward(grad_y, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    window = (kernel_size[0], stride[0], padding[0], kernel_size[1], stride[1], padding[1])
    return _avg_backward(grad_y, x_shape, window, False, bool(count_include_pad),
                         int(divisor_override or 0))


def adaptive_avg_pool2d_forward(x, output_size):
    return _avg_forward(x, tuple(output_size), _ADAPTIVE_AVG_WINDOW, True, False, 0)


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    return _avg_backward(grad_y, x_shape, _ADAPTIVE_AVG_WINDOW, True, False, 0)
