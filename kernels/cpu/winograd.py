"""Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016) for 3x3, stride-1, dilation-1, groups-1
layers (ResNet's 3x3 layers, and DenseNet's, which narrow the channels to 32).

The output is cut into 4x4 tiles, each computed from a 6x6 input tile (stride 4, zero padding
outside the input). With the constant matrices B^T (6x6), G (6x3), A^T (4x6):

  U = G w G^T             per (c_in, c_out), once per call: U (36, C_in, C_out)
  V = B^T d B             per (tile, c_in): V (36, tiles, C_in)
  M[k] = V[k] @ U[k]      36 GEMMs (k = the 6x6 tile position): M (36, tiles, C_out)
  y_tile = A^T M A + b    per (tile, c_out)

36 multiply-adds per 16 outputs and channel pair instead of 144: a quarter of im2col's GEMM. It
rounds more than im2col + GEMM (the transforms' constants reach 8 and 1/24), in float32 well within
test_kernels_cpu.py's tolerances.

  input gradient   the same forward pass on grad_y, the kernel flipped 180 degrees and its
                   channel axes swapped, padding 2 - p.
  weight gradient  dM = A g A^T of each 4x4 grad_y tile g (the output transform's transpose),
                   dU[k] = sum dM[k]^T @ V[k] over the tiles, V recomputed from x, and
                   dW = G^T dU G (the filter transform's transpose).

The samples are split across Python threads as in conv_per_sample.py: each thread runs serial
nogil kernels and single-threaded OpenBLAS GEMMs on cache-sized chunks of its samples, owns the
outputs of its samples and sums its own partial dU. The tile transforms (winograd_tiles.py) work
on channels-last copies of the samples, vectorised over the channels; the filter transforms keep
every intermediate in a scalar (helpers inlined into the kernels, returning tuples) and the
constants written out, typed as the data (a Python int would promote float32 to float64). The
36 transformed matrices are placed an odd number of cache lines apart (_pitch), and the kernels'
arrays are marked noalias (parallel.NoAliasArguments).
"""
import numpy as np
from numba import get_num_threads, njit

from .blas import run_split
from .parallel import NoAliasArguments, run_parts
from .winograd_tiles import grad_output_transform, input_transform, output_transform

TILE = 4  # outputs per tile side
CHUNK_BYTES = 2 << 20  # V and M of one chunk of samples: cache-sized, unless too few tiles fit
MIN_TILES = 128  # tiles per chunk at least: the 36 GEMMs' width (8x8 planes: 4 tiles a sample)
WEIGHT_TILES = 128  # the same in the weight gradient, which also sums dU per chunk
# A weight gradient whose dU (36 C_out C_in floats) is this large or larger, when the batch's V
# and dM fit in WHOLE_BATCH_BYTES, splits the 36 GEMMs between the threads instead of the
# samples: no thread sums a dU of its own (each a pass over 9 MB at 256 channels, 38 MB at 512)
SPLIT_DU_BYTES = 4 << 20
WHOLE_BATCH_BYTES = 32 << 20


# ---------------------------------------------------------------------------------------------
# 1-D filter transforms of three (or six) scalars; `a` is any array of the data's dtype, read for
# the type of the constants only.
# ---------------------------------------------------------------------------------------------

@njit(fastmath=True, cache=True)
def _g(a, g0, g1, g2):
    """G g."""
    f = a.dtype.type
    p = -(g0 + g2) / f(6)
    q = g1 / f(6)
    r = g0 / f(24) + g2 / f(6)
    s = g1 / f(12)
    return (g0 / f(4), p - q, p + q, r + s, r - s, g2)


@njit(fastmath=True, cache=True)
def _gt(a, u0, u1, u2, u3, u4, u5):
    """G^T u: the transpose of _g."""
    f = a.dtype.type
    p = u1 + u2
    q = u3 + u4
    return (u0 / f(4) - p / f(6) + q / f(24), (u2 - u1) / f(6) + (u3 - u4) / f(12),
            (q - p) / f(6) + u5)


@njit(fastmath=True, cache=True)
def _store6(out, b, i, v):
    """out[6 * a + b, i] = v[a] for a in 0..5: column b of a 6x6 tile."""
    out[b, i] = v[0]
    out[6 + b, i] = v[1]
    out[12 + b, i] = v[2]
    out[18 + b, i] = v[3]
    out[24 + b, i] = v[4]
    out[30 + b, i] = v[5]


# ---------------------------------------------------------------------------------------------
# The transforms (serial, nogil: each thread runs them on its own chunk).
# ---------------------------------------------------------------------------------------------

@njit(fastmath=True, cache=True)
def _transform_filter(w, co, ci, flipped, U, column):
    """U[:, column] = G w[co, ci] G^T, or of w[co, ci] turned 180 degrees."""
    taps = w[co, ci]
    if flipped:
        r0 = _g(w, taps[2, 2], taps[2, 1], taps[2, 0])
        r1 = _g(w, taps[1, 2], taps[1, 1], taps[1, 0])
        r2 = _g(w, taps[0, 2], taps[0, 1], taps[0, 0])
    else:
        r0 = _g(w, taps[0, 0], taps[0, 1], taps[0, 2])
        r1 = _g(w, taps[1, 0], taps[1, 1], taps[1, 2])
        r2 = _g(w, taps[2, 0], taps[2, 1], taps[2, 2])
    for b in range(6):
        _store6(U, b, column, _g(w, r0[b], r1[b], r2[b]))


BLOCK = 16  # output channels whose transforms fill a cache line of each U row


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _filter_transform(part, parts, w, U, flipped):
    """U[:, ci * C_out + co] = G w[co, ci] G^T for part `part` of `parts` of the output channels,
    U (36, >= C_in * C_out): the GEMMs' right operands (C_in, C_out), a block of output channels
    at a time, so that U's rows are written a cache line at a time. flipped: the input gradient's
    kernel instead, w turned 180 degrees with its channel axes swapped (U[:, co * C_in + ci]),
    without a flipped copy of w."""
    C_out, C_in = w.shape[0], w.shape[1]
    lo, hi = part * C_out // parts, (part + 1) * C_out // parts
    if flipped:
        for co in range(lo, hi):
            for ci in range(C_in):
                _transform_filter(w, co, ci, True, U, co * C_in + ci)
    else:
        for first in range(lo, hi, BLOCK):
            for ci in range(C_in):
                for co in range(first, min(first + BLOCK, hi)):
                    _transform_filter(w, co, ci, False, U, ci * C_out + co)


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _filter_adjoint(part, parts, dU, dw):
    """dw[co, ci] = G^T dU[:, co, ci] G for part `part` of `parts` of the output channels: the
    transpose of _filter_transform."""
    C_out, C_in = dw.shape[0], dw.shape[1]
    lo, hi = part * C_out // parts, (part + 1) * C_out // parts
    for co in range(lo, hi):
        for ci in range(C_in):
            i = co * C_in + ci
            r0 = _gt(dU, dU[0, i], dU[1, i], dU[2, i], dU[3, i], dU[4, i], dU[5, i])
            r1 = _gt(dU, dU[6, i], dU[7, i], dU[8, i], dU[9, i], dU[10, i], dU[11, i])
            r2 = _gt(dU, dU[12, i], dU[13, i], dU[14, i], dU[15, i], dU[16, i], dU[17, i])
            r3 = _gt(dU, dU[18, i], dU[19, i], dU[20, i], dU[21, i], dU[22, i], dU[23, i])
            r4 = _gt(dU, dU[24, i], dU[25, i], dU[26, i], dU[27, i], dU[28, i], dU[29, i])
            r5 = _gt(dU, dU[30, i], dU[31, i], dU[32, i], dU[33, i], dU[34, i], dU[35, i])
            for j in range(3):
                column = _gt(dU, r0[j], r1[j], r2[j], r3[j], r4[j], r5[j])
                dw[co, ci, 0, j] = column[0]
                dw[co, ci, 1, j] = column[1]
                dw[co, ci, 2, j] = column[2]


# ---------------------------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------------------------

def applies(w_shape, stride, dilation, groups, padding):
    """Whether Winograd F(4x4, 3x3) computes this layer: 3x3, stride 1, dilation 1, groups 1, and
    padding at most 2 (the input gradient's correlation pads by 2 - p)."""
    return (tuple(w_shape[2:]) == (3, 3) and stride == (1, 1) and dilation == (1, 1)
            and groups == 1 and 0 <= padding[0] <= 2 and 0 <= padding[1] <= 2)


def _samples_per_chunk(N, channels, tiles, itemsize, min_tiles):
    """Samples per chunk: V and M within CHUNK_BYTES, but at least min_tiles tiles."""
    by_size = max(CHUNK_BYTES // (36 * channels * tiles * itemsize), -(-min_tiles // tiles))
    return max(1, min(by_size, -(-N // max(1, get_num_threads()))))


def _parts(N):
    return max(1, min(N, get_num_threads()))


def _ranges(N):
    parts = _parts(N)
    return [(i * N // parts, (i + 1) * N // parts) for i in range(parts)]


def _pitch(size, dtype):
    """A row pitch >= size for the 36 rows of transformed data: an odd number of cache lines.
    At a multiple of 4 KB, as (64, 64) matrices would be, the transforms' 36 streams all fall
    into the same L1 sets and evict each other."""
    lines = -(-size * np.dtype(dtype).itemsize // 64)
    return (lines | 1) * 64 // np.dtype(dtype).itemsize


def _transformed(scratch, role, rows, columns, dtype):
    """A (36, >= rows * columns) scratch and its 36 (rows, columns) matrices."""
    flat = scratch(role, (36, _pitch(rows * columns, dtype)), dtype)
    return flat, flat[:, :rows * columns].reshape(36, rows, columns)


def _scratches(scratch, roles, TH, TW, dtype, widest):
    """The calling thread's scratches for the tile transforms: for each (role, channels, border)
    a zeroed channels-last plane (TILE TH + border, TILE TW + border, channels), then the six
    rows of Z, the scratch between a transform's two passes (of up to `widest` channels)."""
    planes = []
    for role, channels, border in roles:
        plane = scratch(role, (TILE * TH + border, TILE * TW + border, channels), dtype)
        plane[...] = 0
        planes.append(plane)
    return planes + list(scratch("winograd_z", (6, 6 * widest), dtype))


def _blocks(flat):
    """The six blocks of six rows of a (36, pitch) array of transformed tiles."""
    return tuple(flat[6 * k:6 * k + 6] for k in range(6))


def forward(x, w, bias, padding, OH, OW, scratch, flipped=False):
    """y (N, C_out, OH, OW) of the 3x3 correlation of x (N, C_in, H, W) with w (C_out, C_in, 3, 3),
    plus bias (C_out); C-contiguous arrays of one dtype. flipped: with w (C_in, C_out, 3, 3)
    turned 180 degrees and its channel axes swapped (the input gradient's correlation)."""
    N, C_in = x.shape[:2]
    C_out = w.shape[1] if flipped else w.shape[0]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    U_flat, U = _transformed(scratch, "winograd_u", C_in, C_out, x.dtype)
    # on Numba's threads (run_parts), not Python's: right after a parallel kernel its workers
    # still spin on the cores, and a pool thread waited a scheduler tick behind them
    run_parts(_filter_transform, _parts(w.shape[0]), w, U_flat, flipped)
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    if N == 0:
        return y
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, MIN_TILES)

    def work(lo, hi):
        padded, *Z = _scratches(scratch, [("winograd_padded", C_in, 2)], TH, TW, x.dtype,
                                max(C_in, C_out))
        out_tiles = scratch("winograd_tiles", (TILE, TH, TILE * TW, C_out), x.dtype)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            V_flat, V = _transformed(scratch, "winograd_v", count * tiles, C_in, x.dtype)
            M_flat, M = _transformed(scratch, "winograd_m", count * tiles, C_out, x.dtype)
            input_transform(x, start, count, ph, pw, TH, TW, padded, *Z, *_blocks(V_flat), 0)
            np.matmul(V, U, out=M)
            output_transform(*_blocks(M_flat), bias, start, count, TH, TW, *Z[:4], *out_tiles,
                             out_tiles, y, 0)

    run_split(work, _ranges(N))
    return y


def backward_input(grad_y, w, x_shape, padding, scratch):
    """grad_x: the forward pass on grad_y with the kernel flipped and its channel axes swapped."""
    no_bias = np.zeros(w.shape[1], dtype=grad_y.dtype)
    return forward(grad_y, w, no_bias, (2 - padding[0], 2 - padding[1]), x_shape[2], x_shape[3],
                   scratch, flipped=True)


def backward_weight(grad_y, x, padding, scratch):
    """grad_w (C_out, C_in, 3, 3) = G^T (sum over tiles of dM[k]^T @ V[k]) G."""
    N, C_out, OH, OW = grad_y.shape
    C_in = x.shape[1]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    grad_w = np.zeros((C_out, C_in, 3, 3), dtype=x.dtype)
    if N == 0:
        return grad_w
    roles = [("winograd_padded", C_in, 2), ("winograd_padded_y", C_out, 0)]
    if (36 * C_in * C_out * x.itemsize >= SPLIT_DU_BYTES
            and 36 * (C_in + C_out) * N * tiles * x.itemsize <= WHOLE_BATCH_BYTES):
        V_flat, V = _transformed(scratch, "winograd_v_all", N * tiles, C_in, x.dtype)
        D_flat, D = _transformed(scratch, "winograd_m_all", N * tiles, C_out, x.dtype)

        def transform(lo, hi):
            padded, padded_y, *Z = _scratches(scratch, roles, TH, TW, x.dtype, max(C_in, C_out))
            input_transform(x, lo, hi - lo, ph, pw, TH, TW, padded, *Z, *_blocks(V_flat), lo)
            grad_output_transform(grad_y, lo, hi - lo, TH, TW, padded_y, *Z, *_blocks(D_flat),
                                  lo)

        run_split(transform, _ranges(N))
        dU = np.empty((36, _pitch(C_out * C_in, x.dtype)), dtype=x.dtype)
        sums = dU[:, :C_out * C_in].reshape(36, C_out, C_in)
        run_split(lambda k0, k1: np.matmul(D[k0:k1].transpose(0, 2, 1), V[k0:k1],
                                           out=sums[k0:k1]), _ranges(36))
        run_parts(_filter_adjoint, _parts(C_out), dU, grad_w)
        return grad_w
    # dU's per-chunk sum is a pass over 36 C_out C_in floats: chunks of at least WEIGHT_TILES too
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, WEIGHT_TILES)

    def work(lo, hi):
        padded, padded_y, *Z = _scratches(scratch, roles, TH, TW, x.dtype, max(C_in, C_out))
        total = np.empty((36, _pitch(C_out * C_in, x.dtype)), dtype=x.dtype)
        sums = total[:, :C_out * C_in].reshape(36, C_out, C_in)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            V_flat, V = _transformed(scratch, "winograd_v", count * tiles, C_in, x.dtype)
            D_flat, D = _transformed(scratch, "winograd_m", count * tiles, C_out, x.dtype)
            input_transform(x, start, count, ph, pw, TH, TW, padded, *Z, *_blocks(V_flat), 0)
            grad_output_transform(grad_y, start, count, TH, TW, padded_y, *Z, *_blocks(D_flat), 0)
            if start == lo:  # the first chunk's product is the sum so far: no zeros, no add
                np.matmul(D.transpose(0, 2, 1), V, out=sums)
            else:
                sums += np.matmul(D.transpose(0, 2, 1), V,
                                  out=scratch("winograd_du", (36, C_out, C_in), x.dtype))
        return total

    partials = run_split(work, _ranges(N))
    dU = partials[0]
    for partial in partials[1:]:  # the rows' pitch past C_out * C_in is never written
        dU[:, :C_out * C_in] += partial[:, :C_out * C_in]
    run_parts(_filter_adjoint, _parts(C_out), dU, grad_w)
    return grad_w
