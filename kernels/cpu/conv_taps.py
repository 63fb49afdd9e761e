"""A stride-1 convolution of small padded planes as one GEMM per kernel tap, with no padding in
its products.

On small planes much of im2col's work is padding: a 3x3 kernel on 3x3 planes (ResNet-18's last
stage at 96x96 inputs) has 81 (tap, output position) pairs, of which 49 read the input. Here each
tap's products cover only the output positions whose input is inside the plane. The batch is
the innermost axis of every operand, so that the window of positions a tap reads is one strided
block of a matrix (one row of positions, or the whole plane when the tap's window spans full
rows) and the GEMMs accumulate in place (blas.gemm_rows, beta = 1):

  x_t (C_in, H, W, N)    w_t (taps, C_out, C_in)    y_t (C_out, OH, OW, N)

  forward          y_t[:, block] += w_t[tap] @ x_t[:, shifted block]
  input gradient   grad_x_t[:, shifted block] += w_t[tap]^T @ grad_y_t[:, block]
  weight gradient  grad_w_t[tap] += grad_y_t[:, block] @ x_t[:, shifted block]^T, or its
                   transpose x_t[:, shifted block] @ grad_y_t[:, block]^T for narrowing layers

Each part (parallel.run_parts, on Numba's threads) takes a range of the product's rows (output
channels, or input channels for the input gradient) over all the blocks; the layout changes on
either side are parallel transposes.
"""
import functools

import numpy as np
from numba import njit

from .blas import gemm_rows, has_gemm, kernel_gemm, parts_for
from .layout import first_axis_last, last_axis_first
from .parallel import NoAliasArguments, part_range, run_parts

# The share of im2col's (tap, position) products that must read padding for the taps to pay:
# their GEMMs are narrower (one row of positions), and three layout changes are added.
MAX_LIVE_SHARE = 0.8
MIN_CHANNELS = 32  # narrower layers' GEMMs are too small for the calls and layout changes


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


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _forward_part(part, parts, gemm, blocks, N, x_t, w_t, y_t):
    """Part `part` of y_t's output channels: y_t (C_out, OH OW N) += w_t[tap] @ x_t's block per
    block (x_t: (C_in, H W N))."""
    lo, hi = part_range(part, parts, y_t.shape[0])
    y_t[lo:hi] = 0
    for b in range(blocks.shape[0]):
        tap, source, target, positions = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        gemm_rows(gemm, False, False, w_t[tap, lo:hi],
                  x_t[:, source * N:(source + positions) * N],
                  y_t[lo:hi, target * N:(target + positions) * N], 1.0)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _input_gradient_part(part, parts, gemm, blocks, N, grad_y_t, w_t, grad_x_t):
    """Part `part` of grad_x_t's input channels: grad_x_t (C_in, H W N) += w_t[tap]^T @ grad_y_t's
    block per block."""
    lo, hi = part_range(part, parts, grad_x_t.shape[0])
    grad_x_t[lo:hi] = 0
    for b in range(blocks.shape[0]):
        tap, source, target, positions = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        gemm_rows(gemm, True, False, w_t[tap, :, lo:hi],
                  grad_y_t[:, target * N:(target + positions) * N],
                  grad_x_t[lo:hi, source * N:(source + positions) * N], 1.0)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _weight_gradient_part(part, parts, gemm, blocks, N, grad_y_t, x_t, transposed, grad_w_t):
    """Part `part` of grad_w_t's rows: grad_w_t[tap] (C_out, C_in) = the sum over the tap's blocks
    of grad_y_t's block @ x_t's block^T, or with `transposed` its transpose (C_in, C_out) as
    x_t's block @ grad_y_t's block^T; a tap without blocks is zero."""
    lo, hi = part_range(part, parts, grad_w_t.shape[1])
    started = np.zeros(grad_w_t.shape[0], dtype=np.bool_)
    for b in range(blocks.shape[0]):
        tap, source, target, positions = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        x_block = x_t[:, source * N:(source + positions) * N]
        g_block = grad_y_t[:, target * N:(target + positions) * N]
        beta = 1.0 if started[tap] else 0.0
        if transposed:
            gemm_rows(gemm, False, True, x_block[lo:hi], g_block, grad_w_t[tap, lo:hi], beta)
        else:
            gemm_rows(gemm, False, True, g_block[lo:hi], x_block, grad_w_t[tap, lo:hi], beta)
        started[tap] = True
    for tap in range(grad_w_t.shape[0]):
        if not started[tap]:
            grad_w_t[tap, lo:hi] = 0


def _transposed_weight_gradient(C_in, C_out):
    """OpenBLAS runs these products faster with the wider operand on the left (DenseNet's
    C_in -> 32 layers: about 1.4x)."""
    return C_in > C_out


def forward(x, w, bias, padding, dilation, OH, OW):
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = w.shape
    x_t, w_t = _batch_last_copy(x), _taps_first_copy(w)
    y_t = np.empty((C_out, OH * OW, N), dtype=x.dtype)
    blocks = _block_array(H, W, OH, OW, KH, KW, padding, dilation, N > 0)
    run_parts(_forward_part, parts_for(C_out, C_out * C_in * KH * KW * OH * OW * N),
              kernel_gemm(x.dtype), blocks, N, x_t.reshape(C_in, H * W * N), w_t,
              y_t.reshape(C_out, OH * OW * N))
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    last_axis_first(y_t, bias, y.reshape(N, C_out, OH * OW))
    return y


def backward(grad_y, x, w, need_input, need_weight, padding, dilation):
    """(grad_x, grad_w), each None unless asked for."""
    N, C_out, OH, OW = grad_y.shape
    _, C_in, H, W = x.shape
    KH, KW = w.shape[2:]
    dtype = grad_y.dtype
    blocks = _block_array(H, W, OH, OW, KH, KW, padding, dilation, N > 0)
    grad_y_t = _batch_last_copy(grad_y).reshape(C_out, OH * OW * N)
    multiply_adds = C_out * C_in * KH * KW * OH * OW * N
    gemm = kernel_gemm(dtype)
    grad_x = grad_w = None
    if need_input:
        grad_x_t = np.empty((C_in, H * W, N), dtype=dtype)
        run_parts(_input_gradient_part, parts_for(C_in, multiply_adds), gemm, blocks, N, grad_y_t,
                  _taps_first_copy(w), grad_x_t.reshape(C_in, H * W * N))
        grad_x = np.empty((N, C_in, H, W), dtype=dtype)
        last_axis_first(grad_x_t, np.zeros(C_in, dtype), grad_x.reshape(N, C_in, H * W))
    if need_weight:
        transposed = _transposed_weight_gradient(C_in, C_out)
        rows, columns = (C_in, C_out) if transposed else (C_out, C_in)
        grad_w_t = np.empty((KH * KW, rows, columns), dtype=dtype)
        run_parts(_weight_gradient_part, parts_for(rows, multiply_adds), gemm, blocks, N, grad_y_t,
                  _batch_last_copy(x).reshape(C_in, H * W * N), transposed, grad_w_t)
        if transposed:
            grad_w = np.ascontiguousarray(grad_w_t.transpose(2, 1, 0)).reshape(w.shape)
        else:
            grad_w = np.empty(w.shape, dtype=dtype)
            first_axis_last(grad_w_t, grad_w.reshape(C_out, C_in, KH * KW))
    return grad_x, grad_w


@functools.lru_cache(maxsize=256)
def _block_array(H, W, OH, OW, KH, KW, padding, dilation, samples):
    """_blocks as an int64 array (blocks, 4) for the kernels, shared by the calls of a geometry
    (they only read it); none without samples."""
    blocks = _blocks(H, W, OH, OW, KH, KW, *padding, *dilation) if samples else ()
    return np.array(blocks, dtype=np.int64).reshape(len(blocks), 4)
