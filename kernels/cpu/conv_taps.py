"""A stride-1 convolution of small padded planes as one GEMM per kernel tap, with no padding in
its products.

On small planes much of im2col's work is padding: a 3x3 kernel on 3x3 planes (ResNet-18's last
stage at 96x96 inputs) has 81 (tap, output position) pairs, of which 49 read the input. Here each
tap's products cover only the output positions whose input is inside the plane. The batch is
the innermost axis of every operand, so that the window of positions a tap reads is one strided
block of a matrix (one row of positions, or the whole plane when the tap's window spans full
rows) and the GEMMs accumulate in place (blas.gemm, beta = 1):

  x_t (C_in, H, W, N)    w_t (taps, C_out, C_in)    y_t (C_out, OH, OW, N)

  forward          y_t[:, block] += w_t[tap] @ x_t[:, shifted block]
  input gradient   grad_x_t[:, shifted block] += w_t[tap]^T @ grad_y_t[:, block]
  weight gradient  grad_w_t[tap] += grad_y_t[:, block] @ x_t[:, shifted block]^T

Each Python thread (blas.run_split) takes a range of the product's rows (output channels, or
input channels for the input gradient) over all the blocks; the layout changes on either side
are parallel transposes.
"""
import functools

import numpy as np

from .blas import gemm, has_gemm, run_split, split_ranges
from .layout import first_axis_last, last_axis_first

# The share of im2col's (tap, position) products that must read padding for the taps to pay:
# their GEMMs are narrower (one row of positions), and three layout changes are added.
MAX_LIVE_SHARE = 0.8
MIN_CHANNELS = 256  # narrower layers' GEMMs are too small for the calls and layout changes


@functools.lru_cache(maxsize=256)
def _blocks(H, W, OH, OW, KH, KW, ph, pw, dh, dw):
    """(tap, input position, output position, positions) of each block: a run of output
    positions whose input, shifted by the tap, is a run of the plane too (a row's live part, or
    the whole plane where the tap's window spans full rows)."""
    blocks = []
    for kh in range(KH):
        oh0, oh1 = max(0, ph - kh * dh), min(OH, H + ph - kh * dh)
        for kw in range(KW):
            ow0, ow1 = max(0, pw - kw * dw), min(OW, W + pw - kw * dw)
            if oh1 <= oh0 or ow1 <= ow0:
                continue
            tap, iw0 = kh * KW + kw, ow0 + kw * dw - pw
            if ow1 - ow0 == OW == W:
                blocks.append((tap, (oh0 + kh * dh - ph) * W, oh0 * OW, (oh1 - oh0) * W))
                continue
            for oh in range(oh0, oh1):
                blocks.append((tap, (oh + kh * dh - ph) * W + iw0, oh * OW + ow0, ow1 - ow0))
    return tuple(blocks)


def live_pairs(x_shape, w_shape, padding, dilation, OH, OW):
    """The (tap, output position) pairs whose input is inside the plane: one sample's products
    per channel pair, against im2col's KH * KW * OH * OW."""
    H, W = x_shape[2:]
    KH, KW = w_shape[2:]
    return sum(n for *_, n in _blocks(H, W, OH, OW, KH, KW, *padding, *dilation))


def applies(x_shape, w_shape, dtype, stride, groups, OH, OW, padding, dilation):
    """Stride-1 ungrouped layers of at least MIN_CHANNELS channels in and out whose im2col
    products read padding in more than 1 - MAX_LIVE_SHARE of their pairs (small planes)."""
    C_out, C_in, KH, KW = w_shape
    if stride != (1, 1) or groups != 1 or min(C_in, C_out) < MIN_CHANNELS or not has_gemm(dtype):
        return False
    return live_pairs(x_shape, w_shape, padding, dilation, OH, OW) <= \
        MAX_LIVE_SHARE * KH * KW * OH * OW


def _batch_last_copy(a):
    N, C, H, W = a.shape
    out = np.empty((C, H * W, N), dtype=a.dtype)
    first_axis_last(a.reshape(N, C, H * W), out)
    return out


def _taps_first_copy(w):
    C_out, C_in, KH, KW = w.shape
    out = np.empty((KH * KW, C_out, C_in), dtype=w.dtype)
    last_axis_first(w.reshape(C_out, C_in, KH * KW), np.zeros(C_out, w.dtype), out)
    return out


def forward(x, w, bias, padding, dilation, OH, OW):
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = w.shape
    x_t, w_t = _batch_last_copy(x), _taps_first_copy(w)
    y_t = np.empty((C_out, OH * OW, N), dtype=x.dtype)
    blocks = _blocks(H, W, OH, OW, KH, KW, *padding, *dilation) if N else ()  # BLAS: ld >= 1
    size = x.itemsize
    x_at, w_at, y_at = x_t.ctypes.data, w_t.ctypes.data, y_t.ctypes.data

    def work(lo, hi):
        y_t[lo:hi] = 0
        for tap, source, target, positions in blocks:
            gemm(x.dtype, False, False, hi - lo, positions * N, C_in,
                 w_at + (tap * C_out + lo) * C_in * size, C_in,
                 x_at + source * N * size, H * W * N,
                 1.0, y_at + (lo * OH * OW + target) * N * size, OH * OW * N)

    run_split(work, split_ranges(C_out, C_out * C_in * KH * KW * OH * OW * N))
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    last_axis_first(y_t, bias, y.reshape(N, C_out, OH * OW))
    return y


def backward(grad_y, x, w, need_input, need_weight, padding, dilation):
    """(grad_x, grad_w), each None unless asked for."""
    N, C_out, OH, OW = grad_y.shape
    _, C_in, H, W = x.shape
    KH, KW = w.shape[2:]
    blocks = _blocks(H, W, OH, OW, KH, KW, *padding, *dilation) if N else ()
    size = grad_y.itemsize
    grad_y_t = _batch_last_copy(grad_y)
    g_at, ld_g = grad_y_t.ctypes.data, OH * OW * N
    multiply_adds = C_out * C_in * KH * KW * OH * OW * N
    grad_x = grad_w = None
    if need_input:
        w_t = _taps_first_copy(w)
        grad_x_t = np.empty((C_in, H * W, N), dtype=grad_y.dtype)
        w_at, gx_at = w_t.ctypes.data, grad_x_t.ctypes.data

        def input_part(lo, hi):
            grad_x_t[lo:hi] = 0
            for tap, source, target, positions in blocks:
                gemm(grad_y.dtype, True, False, hi - lo, positions * N, C_out,
                     w_at + (tap * C_out * C_in + lo) * size, C_in,
                     g_at + target * N * size, ld_g,
                     1.0, gx_at + (lo * H * W + source) * N * size, H * W * N)

        run_split(input_part, split_ranges(C_in, multiply_adds))
        grad_x = np.empty((N, C_in, H, W), dtype=grad_y.dtype)
        last_axis_first(grad_x_t, np.zeros(C_in, grad_y.dtype), grad_x.reshape(N, C_in, H * W))
    if need_weight:
        x_t = _batch_last_copy(x)
        grad_w_t = np.empty((KH * KW, C_out, C_in), dtype=grad_y.dtype)
        x_at, gw_at = x_t.ctypes.data, grad_w_t.ctypes.data
        live_taps = {tap for tap, *_ in blocks}

        def weight_part(lo, hi):
            for tap in set(range(KH * KW)) - live_taps:
                grad_w_t[tap, lo:hi] = 0
            started = set()
            for tap, source, target, positions in blocks:
                gemm(grad_y.dtype, False, True, hi - lo, C_in, positions * N,
                     g_at + (lo * OH * OW + target) * N * size, ld_g,
                     x_at + source * N * size, H * W * N,
                     1.0 if tap in started else 0.0, gw_at + (tap * C_out + lo) * C_in * size,
                     C_in)
                started.add(tap)

        run_split(weight_part, split_ranges(C_out, multiply_adds))
        grad_w = np.empty(w.shape, dtype=grad_y.dtype)
        first_axis_last(grad_w_t, grad_w.reshape(C_out, C_in, KH * KW))
    return grad_x, grad_w
