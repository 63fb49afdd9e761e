"""2-D convolution on the CPU. Layers on planes of fewer positions than the kernel has taps run
as one dense matrix (conv_dense.py: one GEMM over the batch per pass). In the others, kernel taps
that only ever read padding are cropped away first (_cropped); then one of four algorithms runs
(_algorithm):

  direct (conv_direct.py)        groups 1, stride 1, C_in * C_out <= DIRECT_MAX_CHANNEL_PRODUCT:
                                 vectorised loops over a zero-padded "wide" plane, no im2col.
  Winograd (winograd.py)         F(4x4, 3x3) for ResNet's and DenseNet's stride-1 3x3 layers
                                 (_use_winograd): a quarter of the multiply-adds, 36 GEMMs.
  tap GEMMs (conv_taps.py)       stride-1 layers of 32 channels or more on small padded planes
                                 (ResNet's 3x3 to 6x6 ones, DenseNet's 4x4 and 3x3): a GEMM per
                                 tap over only the positions it reads inside the plane, the
                                 batch innermost.
  per-sample im2col + GEMM       everything else (ResNet's other layers, strided, grouped):
  (conv_per_sample.py)           a cache-sized im2col per sample (or per few samples) and a
                                 single-threaded OpenBLAS GEMM, samples split across threads;
                                 the input gradient of a stride-1 layer that narrows the channels
                                 is a forward correlation of grad_y with the flipped kernel.

bench_conv_pool.py prints the timings.

The old whole-batch im2col + GEMM path built a (C_in * KH * KW, N * OH * OW) column matrix (75 MB
for ResNet's 64-channel 32x32 layer at batch 32): DRAM-bound, and it was dropped.

Layout conventions (all C-contiguous): x (N, C_in, H, W), w (C_out, C_in // groups, KH, KW),
y (N, C_out, OH, OW).
"""
import threading

import numpy as np
from numba import get_num_threads, njit, prange

from ..shapes import conv_output_shape, output_size
from . import conv_dense, conv_per_sample, conv_taps, winograd
from .conv_direct import WEIGHT_CHUNKS, direct_backward, direct_forward, lanes_for
from .fused import channel_sum
from .pool import is_2x2_stride_2, relu_max_pool2d_backward, relu_max_pool2d_forward

DIRECT_MAX_CHANNEL_PRODUCT = 1024
WINOGRAD_MIN_TILES = 64  # tiles per batch below which the filter transform outweighs the gain
WINOGRAD_OVER_TAPS = 0.6


# ---------------------------------------------------------------------------------------------
# Reused scratch buffers (column matrices, GEMM blocks). A fresh allocation of MBs is mmap-ed and
# page-faulted on every call. One buffer per role and dtype, per calling Python thread, is reused
# instead (a kernel's parts each take their own slice of it); it never escapes a public kernel.
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


@njit(parallel=True, fastmath=True, cache=True)
def _bias_grad(grad_y):
    """grad_y: (N, C_out, P), the planes flattened (no per-plane views in the loop)."""
    grad_b = np.empty(grad_y.shape[1], dtype=grad_y.dtype)
    for co in prange(grad_y.shape[1]):
        grad_b[co] = channel_sum(grad_y, co)
    return grad_b


def _use_direct(c_in, c_out, stride, groups):
    """Direct loops for thin stride-1 layers (LeNet's), im2col + GEMM for the rest. The direct
    loops do C_in * C_out * KH * KW short FMA loops per sample, so they pay only for few channels:
    at ResNet's 64 x 64 they tie with im2col + GEMM at best, at LeNet's 6 x 16 they win."""
    return groups == 1 and stride == (1, 1) and c_in * c_out <= DIRECT_MAX_CHANNEL_PRODUCT


def _use_winograd(x_shape, w_shape, stride, padding, dilation, groups):
    """Winograd F(4x4, 3x3) (winograd.py) for stride-1 3x3 layers of 32 to 512 channels in and
    out (ResNet's, and DenseNet's C_in -> 32), padding 1, with at least WINOGRAD_MIN_TILES output
    tiles in the batch, of which at least half is output rather than the border past the plane
    (8x8 planes and larger, and 3x3, 6x6 and 7x7 ones; not 5x5): there it beats im2col + GEMM in
    all three passes (bench_winograd.py). With fewer tiles its per-call filter transforms (36
    C_in C_out floats) outweigh the multiply-adds saved (4x4 and 3x3 planes at batch 32)."""
    C_out, C_in = w_shape[:2]
    N, _, H, W = x_shape
    tile = winograd.TILE
    tiles_h, tiles_w = -(-H // tile), -(-W // tile)
    return (winograd.applies(w_shape, stride, dilation, groups, padding) and padding == (1, 1)
            and 32 <= min(C_in, C_out) and max(C_in, C_out) <= 512
            and 2 * H * W >= tiles_h * tiles_w * tile ** 2
            and N * tiles_h * tiles_w >= WINOGRAD_MIN_TILES)


def _algorithm(x_shape, w_shape, dtype, stride, padding, dilation, groups, OH, OW):
    """"direct", "taps", "winograd" or "im2col" for a layer without dead taps. Where both the tap
    GEMMs and Winograd apply, Winograd wins only when its products (36 per tile) are at most
    WINOGRAD_OVER_TAPS of the taps' (4x4, 6x6 and 7x7 planes; on 3x3 ones its tiles are mostly
    border)."""
    C_out, C_in = w_shape[:2]
    if _use_direct(C_in, C_out, stride, groups):
        return "direct"
    use_winograd = _use_winograd(x_shape, w_shape, stride, padding, dilation, groups)
    if conv_taps.applies(x_shape, w_shape, dtype, stride, groups, OH, OW, padding, dilation):
        tiles = -(-OH // winograd.TILE) * -(-OW // winograd.TILE)
        live = conv_taps.live_pairs(x_shape, w_shape, padding, dilation, OH, OW)
        if not use_winograd or tiles * (winograd.TILE + 2) ** 2 > WINOGRAD_OVER_TAPS * live:
            return "taps"
    return "winograd" if use_winograd else "im2col"


def _live_taps(size, kernel, stride, padding, dilation):
    """The kernel taps [lo, hi) along one axis that read the input for some output position, and
    the padding that makes the cropped kernel produce the same output; None when nothing is dead
    (or the crop would need negative padding, as dilated kernels can)."""
    out = output_size(size, kernel, stride, padding, dilation)
    live = [k for k in range(kernel)
            if k * dilation - padding <= size - 1 and (out - 1) * stride - padding + k * dilation >= 0]
    if not live or (live[0] == 0 and live[-1] == kernel - 1):
        return None
    lo, hi = live[0], live[-1] + 1
    cropped_padding = padding - lo * dilation
    if cropped_padding < 0 or output_size(size, hi - lo, stride, cropped_padding, dilation) != out:
        return None
    return lo, hi, cropped_padding


def _cropped(x_hw, w_hw, stride, padding, dilation):
    """Kernel slices and padding without the taps that only ever read padding (a strided 7x5
    kernel on 3x2 planes keeps 5x3 of them), or None when every tap is live."""
    axes = [_live_taps(x_hw[i], w_hw[i], stride[i], padding[i], dilation[i]) for i in range(2)]
    if axes == [None, None]:
        return None
    slices, pads = [], []
    for i, axis in enumerate(axes):
        lo, hi, pad = axis if axis is not None else (0, w_hw[i], padding[i])
        slices.append(slice(lo, hi))
        pads.append(pad)
    return (slice(None), slice(None)) + tuple(slices), tuple(pads)


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    N, C_in, H, W = x.shape
    C_out, C_group, KH, KW = w.shape
    OH = output_size(H, KH, stride[0], padding[0], dilation[0])
    OW = output_size(W, KW, stride[1], padding[1], dilation[1])
    bias = np.zeros(C_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    if conv_dense.applies(x.shape, w.shape, OH, OW, groups):
        return conv_dense.forward(x, w, bias, stride, padding, dilation, OH, OW)
    crop = _cropped(x.shape[2:], w.shape[2:], stride, padding, dilation)
    if crop is not None:
        taps, padding = crop
        return conv2d_forward(x, w[taps], b, stride, padding, dilation, groups)
    (ph, pw), (dh, dw) = padding, dilation
    algorithm = _algorithm(x.shape, w.shape, x.dtype, stride, padding, dilation, groups, OH, OW)
    if algorithm == "direct":
        return direct_forward(x, w, bias, ph, pw, dh, dw, OH, OW, lanes_for(N, H, W, ph, pw))
    if algorithm == "taps":
        return conv_taps.forward(x, w, bias, padding, dilation, OH, OW)
    if algorithm == "winograd":
        return winograd.forward(x, w, bias, padding, OH, OW, _scratch)
    return conv_per_sample.forward(x, w, bias, stride, padding, dilation, groups, OH, OW, _scratch)


def _pools_in_direct_loops(x, w, conv, pool, OH, OW):
    """Whether conv2d_relu_max_pool2d runs on the direct loops, which pool 2 x 2 windows from
    their accumulators and route the gradient back through argmax as they weave it."""
    stride, padding, dilation, groups = conv
    window, pool_stride, pool_padding, pool_dilation, ceil = pool
    PH = output_size(OH, window[0], pool_stride[0], pool_padding[0], pool_dilation[0], ceil)
    PW = output_size(OW, window[1], pool_stride[1], pool_padding[1], pool_dilation[1], ceil)
    return (pool_dilation == (1, 1)
            and is_2x2_stride_2(window, pool_stride, pool_padding, PH, PW, OH, OW)
            and not conv_dense.applies(x.shape, w.shape, OH, OW, groups)
            and _cropped(x.shape[2:], w.shape[2:], stride, padding, dilation) is None
            and _algorithm(x.shape, w.shape, x.dtype, stride, padding, dilation, groups, OH,
                           OW) == "direct")


def conv2d_relu_max_pool2d_forward(x, w, b, conv, pool):
    """The direct loops pool 2 x 2 windows from their accumulators, never writing the
    convolution's output; every other layer runs the two kernels."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w, dtype=x.dtype)
    OH, OW = conv_output_shape(x.shape, w.shape, *conv[:3])[2:]
    if not _pools_in_direct_loops(x, w, conv, pool, OH, OW):
        return relu_max_pool2d_forward(conv2d_forward(x, w, b, *conv), *pool)
    padding, dilation = conv[1], conv[2]
    bias = np.zeros(w.shape[0], x.dtype) if b is None else np.ascontiguousarray(b, x.dtype)
    return direct_forward(x, w, bias, *padding, *dilation, OH, OW,
                          lanes_for(x.shape[0], *x.shape[2:], *padding), pool=True)


def conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, needs, conv, pool):
    """The direct loops route grad_y through argmax into their woven planes, never writing the
    convolution's output gradient; every other layer runs the two kernels."""
    grad_y = np.ascontiguousarray(grad_y)
    x = np.ascontiguousarray(x, dtype=grad_y.dtype)
    w = np.ascontiguousarray(w, dtype=grad_y.dtype)
    OH, OW = conv_output_shape(x.shape, w.shape, *conv[:3])[2:]
    if not _pools_in_direct_loops(x, w, conv, pool, OH, OW):
        grad_conv = relu_max_pool2d_backward(grad_y, y, argmax, (x.shape[0], w.shape[0], OH, OW),
                                             *pool)
        return conv2d_backward(grad_conv, x, w, needs, *conv)
    (N, _, H, W), (padding, dilation) = x.shape, conv[1:3]
    pooled = (np.ascontiguousarray(y), np.ascontiguousarray(argmax))
    grads = direct_backward(grad_y, x, w, H, W, *padding, *dilation, lanes_for(N, H, W, *padding),
                            _weight_chunks(N), *needs, pooled=pooled)
    return tuple(grad if need else None for grad, need in zip(grads, needs))


def _input_gradient_by_correlation(w_shape, stride, padding, dilation, groups):
    """Whether the input gradient is better computed as a forward correlation of grad_y than as a
    GEMM into columns summed back by col2im: for stride-1 layers that narrow the channels
    (DenseNet's C_in -> 32), whose col2im columns are C_in / C_out times larger than grad_y's
    im2col columns, and whose GEMM would have an inner dimension of only C_out. Equal channel
    counts (ResNet's) gain nothing, so they keep col2im. Needs padding <= dilation * (kernel - 1):
    the correlation's own padding is the rest."""
    C_out, C_group, KH, KW = w_shape
    return (stride == (1, 1) and C_out // groups < C_group
            and padding[0] <= dilation[0] * (KH - 1) and padding[1] <= dilation[1] * (KW - 1))


def _correlate_with_flipped_kernel(grad_y, w, x_shape, padding, dilation, groups):
    """grad_x of a stride-1 convolution: grad_y, padded by dilation * (kernel - 1) - padding,
    correlated with the kernel flipped and its channel axes swapped within each group."""
    C_out, C_group, KH, KW = w.shape
    flipped = w.reshape(groups, C_out // groups, C_group, KH, KW).transpose(0, 2, 1, 3, 4)
    flipped = np.ascontiguousarray(flipped[..., ::-1, ::-1]).reshape(groups * C_group,
                                                                      C_out // groups, KH, KW)
    full_padding = (dilation[0] * (KH - 1) - padding[0], dilation[1] * (KW - 1) - padding[1])
    no_bias = np.zeros(groups * C_group, dtype=grad_y.dtype)
    return conv_per_sample.forward(grad_y, flipped, no_bias, (1, 1), full_padding, dilation,
                                   groups, x_shape[2], x_shape[3], _scratch)


def _weight_chunks(N):
    return max(1, min(N, max(WEIGHT_CHUNKS, get_num_threads())))


def conv2d_backward(grad_y, x, w, needs, stride, padding, dilation, groups):
    """The gradients (input, weight, bias) of conv2d_forward, each None unless `needs` (three
    bools, in that order) asks for it: one call, so that the direct loops weave grad_y once for
    all three and wake the threads once."""
    need_input, need_weight, need_bias = needs
    grad_y = np.ascontiguousarray(grad_y)
    x = np.ascontiguousarray(x, dtype=grad_y.dtype)
    w = np.ascontiguousarray(w, dtype=grad_y.dtype)
    N, C_out, OH, OW = grad_y.shape
    if conv_dense.applies(x.shape, w.shape, OH, OW, groups):
        grad_x, grad_w = conv_dense.backward(grad_y, x, w, need_input, need_weight, stride,
                                             padding, dilation)
        return grad_x, grad_w, _bias_grad(grad_y.reshape(N, C_out, OH * OW)) if need_bias else None
    crop = _cropped(x.shape[2:], w.shape[2:], stride, padding, dilation)
    if crop is not None:  # the dead taps' weight gradient is zero
        taps, cropped_padding = crop
        grad_x, live_grad_w, grad_b = conv2d_backward(grad_y, x, w[taps], needs, stride,
                                                      cropped_padding, dilation, groups)
        grad_w = None
        if need_weight:
            grad_w = np.zeros(w.shape, dtype=live_grad_w.dtype)
            grad_w[taps] = live_grad_w
        return grad_x, grad_w, grad_b
    _, C_in, H, W = x.shape
    (ph, pw), (dh, dw) = padding, dilation
    algorithm = _algorithm(x.shape, w.shape, x.dtype, stride, padding, dilation, groups, OH, OW)
    if algorithm == "direct":
        grads = direct_backward(grad_y, x, w, H, W, ph, pw, dh, dw, lanes_for(N, H, W, ph, pw),
                                _weight_chunks(N), need_input, need_weight, need_bias)
        return tuple(grad if need else None for grad, need in zip(grads, needs))
    grad_x = grad_w = grad_b = None
    if algorithm == "taps":
        grad_x, grad_w = conv_taps.backward(grad_y, x, w, need_input, need_weight, padding,
                                            dilation)
        need_input = need_weight = False
    use_winograd = algorithm == "winograd"
    if need_input and use_winograd:
        grad_x = winograd.backward_input(grad_y, w, x.shape, padding, _scratch)
    elif need_input and _input_gradient_by_correlation(w.shape, stride, padding, dilation, groups):
        grad_x = _correlate_with_flipped_kernel(grad_y, w, x.shape, padding, dilation, groups)
    elif need_input:
        grad_x = conv_per_sample.backward_input(grad_y, w, x.shape, stride, padding, dilation,
                                                groups, _scratch)
    if need_weight and use_winograd:
        grad_w = winograd.backward_weight(grad_y, x, padding, _scratch)
    elif need_weight:
        grad_w = conv_per_sample.backward_weight(grad_y, x, w.shape, stride, padding, dilation,
                                                 groups, _scratch)
    if need_bias:
        grad_b = _bias_grad(grad_y.reshape(N, C_out, grad_y.shape[2] * grad_y.shape[3]))
    return grad_x, grad_w, grad_b
