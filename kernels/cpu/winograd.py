"""Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016) for 3x3, stride-1, dilation-1, groups-1
layers (ResNet's 3x3 layers, and DenseNet's, which narrow the channels to 32).

The output is cut into 4x4 tiles, each computed from a 6x6 input tile (stride 4, zero padding
outside the input). With the constant matrices B^T (6x6), G (6x3), A^T (4x6):

  U = G w G^T             per (c_out, c_in), once per call: U (36, C_out, C_in)
  V = B^T d B             per (c_in, tile): V (36, C_in, tiles)
  M[k] = U[k] @ V[k]      36 GEMMs (k = the 6x6 tile position)
  y_tile = A^T M A + b    per (c_out, tile)

36 multiply-adds per 16 outputs and channel pair instead of 144: a quarter of im2col's GEMM. It
rounds more than im2col + GEMM (the transforms' constants reach 8 and 1/24), in float32 well within
test_kernels_cpu.py's tolerances.

  input gradient   the same forward pass on grad_y, the kernel flipped 180 degrees and its
                   channel axes swapped, padding 2 - p.
  weight gradient  dM = A g A^T of each 4x4 grad_y tile g (the output transform's transpose),
                   dU[k] = sum dM[k] @ V[k]^T over the tiles, V recomputed from x, and
                   dW = G^T dU G (the filter transform's transpose).

The samples are split across Python threads as in conv_per_sample.py: each thread runs serial
nogil kernels and single-threaded OpenBLAS GEMMs on cache-sized chunks of its samples, owns the
outputs of its samples and sums its own partial dU. The transforms keep the tile index innermost,
every intermediate in a scalar (helpers inlined into the kernels, returning tuples) and the
constants written out, typed as the data (a Python int would promote float32 to float64). LLVM
vectorises the output transform's stride-4 tile writes (interleaved stores); the input
transforms' overlapping 6-wide reads stay scalar. The 36 transformed matrices are placed an odd
number of cache lines apart (_pitch), and the kernels' arrays are marked noalias
(parallel.NoAliasArguments).
"""
import numpy as np
from numba import get_num_threads, njit

from .blas import run_split
from .parallel import NoAliasArguments, run_parts

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
# 1-D transforms of six (or four, three) scalars; `a` is any array of the data's dtype, read for
# the type of the constants only.
# ---------------------------------------------------------------------------------------------

@njit(fastmath=True, cache=True)
def _bt(a, d0, d1, d2, d3, d4, d5):
    """B^T d."""
    f = a.dtype.type
    p = d4 - f(4) * d2
    q = d3 - f(4) * d1
    r = d4 - d2
    s = f(2) * (d3 - d1)
    return (f(4) * d0 - f(5) * d2 + d4, p + q, p - q, r + s, r - s, f(4) * d1 - f(5) * d3 + d5)


@njit(fastmath=True, cache=True)
def _at(a, m0, m1, m2, m3, m4, m5):
    """A^T m."""
    f = a.dtype.type
    p = m1 + m2
    q = m1 - m2
    r = m3 + m4
    s = m3 - m4
    return (m0 + p + r, q + f(2) * s, p + f(4) * r, q + f(8) * s + m5)


@njit(fastmath=True, cache=True)
def _a(a, g0, g1, g2, g3):
    """A g: the transpose of _at."""
    f = a.dtype.type
    p = g0 + g2
    q = g1 + g3
    r = g0 + f(4) * g2
    s = f(2) * g1 + f(8) * g3
    return (g0, p + q, p - q, r + s, r - s, g3)


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


@njit(fastmath=True, cache=True)
def _bt_row(src, c, h, w):
    """B^T applied along row h of plane c, columns w .. w + 5: row h of the tile times B."""
    return _bt(src, src[c, h, w], src[c, h, w + 1], src[c, h, w + 2], src[c, h, w + 3],
               src[c, h, w + 4], src[c, h, w + 5])


@njit(fastmath=True, cache=True)
def _at_row(m, a, i):
    """A^T applied along row a of the tile at column i of m (36, >= C * tiles)."""
    k = 6 * a
    return _at(m, m[k, i], m[k + 1, i], m[k + 2, i], m[k + 3, i], m[k + 4, i], m[k + 5, i])


@njit(fastmath=True, cache=True)
def _a_row(src, c, h, w):
    """A applied along row h of plane c, columns w .. w + 3."""
    return _a(src, src[c, h, w], src[c, h, w + 1], src[c, h, w + 2], src[c, h, w + 3])


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


FLIP_BLOCK = 16  # output channels whose flipped transforms fill a cache line of each U row


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _filter_transform(part, parts, w, U, flipped):
    """U[:, co * C_in + ci] = G w[co, ci] G^T for part `part` of `parts` of the output channels,
    U (36, >= C_out * C_in). flipped: the input gradient's kernel instead, w turned 180 degrees
    with its channel axes swapped (U[:, ci * C_out + co]), without a flipped copy of w; a block of
    output channels at a time, so that U's rows are written a cache line at a time."""
    C_out, C_in = w.shape[0], w.shape[1]
    lo, hi = part * C_out // parts, (part + 1) * C_out // parts
    if flipped:
        for first in range(lo, hi, FLIP_BLOCK):
            for ci in range(C_in):
                for co in range(first, min(first + FLIP_BLOCK, hi)):
                    _transform_filter(w, co, ci, True, U, ci * C_out + co)
    else:
        for co in range(lo, hi):
            for ci in range(C_in):
                _transform_filter(w, co, ci, False, U, co * C_in + ci)


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


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _pad_sample(x, n, ph, pw, padded):
    """padded[:, ph:ph + H, pw:pw + W] = x[n], clipped to padded (whose border stays zero)."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    rows = min(H, padded.shape[1] - ph)
    columns = min(W, padded.shape[2] - pw)
    for c in range(C):
        for h in range(rows):
            line = padded[c, ph + h]
            inp = x[n, c, h]
            for i in range(columns):
                line[pw + i] = inp[i]


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _input_transform(x, first, count, ph, pw, TH, TW, padded, V, slot, T):
    """V[:, c * T + t] = B^T d B for the 6x6 tiles d of samples first .. first + count - 1, V's
    columns holding T tiles per channel, tile t = ((slot + s) * TH + ti) * TW + tj of sample
    first + s at rows 4 ti - ph .., columns 4 tj - pw ..; padded (C, 4 TH + 2, 4 TW + 2) is a
    zeroed scratch (its border stays zero)."""
    C = x.shape[1]
    for s in range(count):
        _pad_sample(x, first + s, ph, pw, padded)
        for c in range(C):
            for ti in range(TH):
                t0 = c * T + ((slot + s) * TH + ti) * TW
                h = TILE * ti
                for tj in range(TW):
                    w = TILE * tj
                    r0 = _bt_row(padded, c, h, w)
                    r1 = _bt_row(padded, c, h + 1, w)
                    r2 = _bt_row(padded, c, h + 2, w)
                    r3 = _bt_row(padded, c, h + 3, w)
                    r4 = _bt_row(padded, c, h + 4, w)
                    r5 = _bt_row(padded, c, h + 5, w)
                    for b in range(6):
                        _store6(V, b, t0 + tj, _bt(V, r0[b], r1[b], r2[b], r3[b], r4[b], r5[b]))


@njit(fastmath=True, cache=True)
def _output_tile(M, i):
    """The 4x4 output tile A^T M A of the tile at column i of M, as columns (each 4 rows)."""
    r0 = _at_row(M, 0, i)
    r1 = _at_row(M, 1, i)
    r2 = _at_row(M, 2, i)
    r3 = _at_row(M, 3, i)
    r4 = _at_row(M, 4, i)
    r5 = _at_row(M, 5, i)
    return (_at(M, r0[0], r1[0], r2[0], r3[0], r4[0], r5[0]),
            _at(M, r0[1], r1[1], r2[1], r3[1], r4[1], r5[1]),
            _at(M, r0[2], r1[2], r2[2], r3[2], r4[2], r5[2]),
            _at(M, r0[3], r1[3], r2[3], r3[3], r4[3], r5[3]))


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _output_transform(M, bias, first, count, TH, TW, y, slot, T):
    """y[first + s, co] = A^T M A + bias[co] per tile (M: (36, >= C_out * T), tiles numbered as
    in _input_transform), the partial tiles at the bottom and right edges clipped (full tiles
    first: their loop has no tests)."""
    C_out, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    full_h, full_w = OH // TILE, OW // TILE
    for s in range(count):
        out = y[first + s]
        for co in range(C_out):
            b = bias[co]
            for ti in range(TH):
                t0 = co * T + ((slot + s) * TH + ti) * TW
                h = TILE * ti
                tiles = full_w if ti < full_h else 0
                for tj in range(tiles):
                    w = TILE * tj
                    tile = _output_tile(M, t0 + tj)
                    for j in range(4):
                        out[co, h, w + j] = tile[j][0] + b
                        out[co, h + 1, w + j] = tile[j][1] + b
                        out[co, h + 2, w + j] = tile[j][2] + b
                        out[co, h + 3, w + j] = tile[j][3] + b
                for tj in range(tiles, TW):  # partial tiles
                    w = TILE * tj
                    tile = _output_tile(M, t0 + tj)
                    for j in range(min(4, OW - w)):
                        for i in range(min(4, OH - h)):
                            out[co, h + i, w + j] = tile[j][i] + b


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _grad_output_transform(grad_y, first, count, TH, TW, padded, D, slot, T):
    """D[:, co * T + t] = A g A^T for the 4x4 tiles g of grad_y (tiles numbered as in
    _input_transform); padded (C_out, 4 TH, 4 TW) is a zeroed scratch for planes that do not fill
    whole tiles."""
    C_out, OH, OW = grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]
    exact = OH == TILE * TH and OW == TILE * TW
    for s in range(count):
        src = grad_y[first + s]
        if not exact:
            _pad_sample(grad_y, first + s, 0, 0, padded)
            src = padded
        for co in range(C_out):
            for ti in range(TH):
                t0 = co * T + ((slot + s) * TH + ti) * TW
                h = TILE * ti
                for tj in range(TW):
                    w = TILE * tj
                    r0 = _a_row(src, co, h, w)
                    r1 = _a_row(src, co, h + 1, w)
                    r2 = _a_row(src, co, h + 2, w)
                    r3 = _a_row(src, co, h + 3, w)
                    for b in range(6):
                        _store6(D, b, t0 + tj, _a(D, r0[b], r1[b], r2[b], r3[b]))


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


def _padded_input(scratch, C_in, TH, TW, dtype):
    """The calling thread's zeroed scratch for _input_transform."""
    padded = scratch("winograd_padded", (C_in, TILE * TH + 2, TILE * TW + 2), dtype)
    padded[...] = 0
    return padded


def _padded_pair(scratch, C_in, C_out, TH, TW, dtype):
    """The zeroed scratches of _input_transform and _grad_output_transform."""
    padded_y = scratch("winograd_padded_y", (C_out, TILE * TH, TILE * TW), dtype)
    padded_y[...] = 0
    return _padded_input(scratch, C_in, TH, TW, dtype), padded_y


def forward(x, w, bias, padding, OH, OW, scratch, flipped=False):
    """y (N, C_out, OH, OW) of the 3x3 correlation of x (N, C_in, H, W) with w (C_out, C_in, 3, 3),
    plus bias (C_out); C-contiguous arrays of one dtype. flipped: with w (C_in, C_out, 3, 3)
    turned 180 degrees and its channel axes swapped (the input gradient's correlation)."""
    N, C_in = x.shape[:2]
    C_out = w.shape[1] if flipped else w.shape[0]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    U_flat, U = _transformed(scratch, "winograd_u", C_out, C_in, x.dtype)
    # on Numba's threads (run_parts), not Python's: right after a parallel kernel its workers
    # still spin on the cores, and a pool thread waited a scheduler tick behind them
    run_parts(_filter_transform, _parts(w.shape[0]), w, U_flat, flipped)
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    if N == 0:
        return y
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, MIN_TILES)

    def work(lo, hi):
        padded = _padded_input(scratch, C_in, TH, TW, x.dtype)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            V_flat, V = _transformed(scratch, "winograd_v", C_in, count * tiles, x.dtype)
            M_flat, M = _transformed(scratch, "winograd_m", C_out, count * tiles, x.dtype)
            _input_transform(x, start, count, ph, pw, TH, TW, padded, V_flat, 0, count * tiles)
            np.matmul(U, V, out=M)
            _output_transform(M_flat, bias, start, count, TH, TW, y, 0, count * tiles)

    run_split(work, _ranges(N))
    return y


def backward_input(grad_y, w, x_shape, padding, scratch):
    """grad_x: the forward pass on grad_y with the kernel flipped and its channel axes swapped."""
    no_bias = np.zeros(w.shape[1], dtype=grad_y.dtype)
    return forward(grad_y, w, no_bias, (2 - padding[0], 2 - padding[1]), x_shape[2], x_shape[3],
                   scratch, flipped=True)


def backward_weight(grad_y, x, padding, scratch):
    """grad_w (C_out, C_in, 3, 3) = G^T (sum over tiles of dM[k] @ V[k]^T) G."""
    N, C_out, OH, OW = grad_y.shape
    C_in = x.shape[1]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    grad_w = np.zeros((C_out, C_in, 3, 3), dtype=x.dtype)
    if N == 0:
        return grad_w
    if (36 * C_in * C_out * x.itemsize >= SPLIT_DU_BYTES
            and 36 * (C_in + C_out) * N * tiles * x.itemsize <= WHOLE_BATCH_BYTES):
        V_flat, V = _transformed(scratch, "winograd_v_all", C_in, N * tiles, x.dtype)
        D_flat, D = _transformed(scratch, "winograd_m_all", C_out, N * tiles, x.dtype)

        def transform(lo, hi):
            padded, padded_y = _padded_pair(scratch, C_in, C_out, TH, TW, x.dtype)
            _input_transform(x, lo, hi - lo, ph, pw, TH, TW, padded, V_flat, lo, N * tiles)
            _grad_output_transform(grad_y, lo, hi - lo, TH, TW, padded_y, D_flat, lo, N * tiles)

        run_split(transform, _ranges(N))
        dU = np.empty((36, _pitch(C_out * C_in, x.dtype)), dtype=x.dtype)
        sums = dU[:, :C_out * C_in].reshape(36, C_out, C_in)
        run_split(lambda k0, k1: np.matmul(D[k0:k1], V[k0:k1].transpose(0, 2, 1),
                                           out=sums[k0:k1]), _ranges(36))
        run_parts(_filter_adjoint, _parts(C_out), dU, grad_w)
        return grad_w
    # dU's per-chunk sum is a pass over 36 C_out C_in floats: chunks of at least WEIGHT_TILES too
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, WEIGHT_TILES)

    def work(lo, hi):
        padded, padded_y = _padded_pair(scratch, C_in, C_out, TH, TW, x.dtype)
        total = np.empty((36, _pitch(C_out * C_in, x.dtype)), dtype=x.dtype)
        sums = total[:, :C_out * C_in].reshape(36, C_out, C_in)
        for start in range(lo, hi, S):
            count = min(S, hi - start)
            V_flat, V = _transformed(scratch, "winograd_v", C_in, count * tiles, x.dtype)
            D_flat, D = _transformed(scratch, "winograd_m", C_out, count * tiles, x.dtype)
            _input_transform(x, start, count, ph, pw, TH, TW, padded, V_flat, 0, count * tiles)
            _grad_output_transform(grad_y, start, count, TH, TW, padded_y, D_flat, 0,
                                   count * tiles)
            if start == lo:  # the first chunk's product is the sum so far: no zeros, no add
                np.matmul(D, V.transpose(0, 2, 1), out=sums)
            else:
                sums += np.matmul(D, V.transpose(0, 2, 1),
                                  out=scratch("winograd_du", (36, C_out, C_in), x.dtype))
        return total

    partials = run_split(work, _ranges(N))
    dU = partials[0]
    for partial in partials[1:]:  # the rows' pitch past C_out * C_in is never written
        dU[:, :C_out * C_in] += partial[:, :C_out * C_in]
    run_parts(_filter_adjoint, _parts(C_out), dU, grad_w)
    return grad_w
