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

The samples are split across Numba's threads as in conv_per_sample.py (parallel.run_parts): each
part runs the serial kernels and single-threaded OpenBLAS GEMMs (blas.gemm_rows) on cache-sized
chunks of its samples, owns the outputs of its samples and sums its own partial dU. The tile transforms (winograd_tiles.py) work
on channels-last copies of the samples, vectorised over the channels; the filter transforms keep
every intermediate in a scalar (helpers inlined into the kernels, returning tuples) and the
constants written out, typed as the data (a Python int would promote float32 to float64). The
36 transformed matrices are placed an odd number of cache lines apart (_pitch), and the kernels'
arrays are marked noalias (parallel.NoAliasArguments).
"""
import numpy as np
from numba import get_num_threads, njit

from .blas import gemm_rows, kernel_gemm
from .layout import first_axis_last
from .parallel import NoAliasArguments, part_range, run_parts
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
# The transforms (serial, nogil: each thread runs them on its own chunk).
# ---------------------------------------------------------------------------------------------

G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _filter_transform(part, parts, S, Z, U, flipped):
    """U[6 a + b, r * Q + q] = (G s G^T)[a, b] for the filters s[i, j] = S[r, 3 i + j, q] of the
    rows r in part `part` of `parts` (turned 180 degrees, s[i, j] = S[r, 8 - 3 i - j, q], if
    flipped); Z is a (parts, 18 Q) scratch. Each pass one loop over q per output row, as the
    tile transforms (winograd_tiles.py): vectorised over the channels."""
    R, Q = S.shape[0], S.shape[2]
    f = S.dtype.type
    z = Z[part]
    step = -1 if flipped else 1
    for r in range(part * R // parts, (part + 1) * R // parts):
        for i in range(3):  # along row i of the filter: Z[b, i] = sum_j G[b, j] s[i, j]
            t = 8 - 3 * i if flipped else 3 * i
            s0, s1, s2 = S[r, t], S[r, t + step], S[r, t + 2 * step]
            for b in range(6):
                g0, g1, g2 = f(G[b, 0]), f(G[b, 1]), f(G[b, 2])
                out = z[(3 * b + i) * Q:(3 * b + i + 1) * Q]
                for q in range(Q):
                    out[q] = g0 * s0[q] + g1 * s1[q] + g2 * s2[q]
        for a in range(6):  # down the columns: U[6 a + b] = sum_i G[a, i] Z[b, i]
            g0, g1, g2 = f(G[a, 0]), f(G[a, 1]), f(G[a, 2])
            for b in range(6):
                z0, z1, z2 = z[3 * b * Q:], z[(3 * b + 1) * Q:], z[(3 * b + 2) * Q:]
                out = U[6 * a + b, r * Q:(r + 1) * Q]
                for q in range(Q):
                    out[q] = g0 * z0[q] + g1 * z1[q] + g2 * z2[q]


def _transformed_filters(w, U, flipped):
    """U (36, >= C_in C_out) = G w G^T as the GEMMs' right operands U[k] (C_in, C_out); flipped:
    the input gradient's, w turned 180 degrees with its channel axes swapped, U[k] (C_out, C_in).
    The taps are first moved to the middle, the channels that U's rows run along innermost."""
    C_out, C_in = w.shape[:2]
    taps = w.reshape(C_out, C_in, 9)
    if flipped:
        S = np.empty((C_out, 9, C_in), dtype=w.dtype)
        first_axis_last(taps.transpose(1, 0, 2), S)
    else:
        S = np.empty((C_in, 9, C_out), dtype=w.dtype)
        first_axis_last(taps, S)
    parts = _parts(S.shape[0])
    Z = np.empty((parts, 18 * S.shape[2]), dtype=w.dtype)
    run_parts(_filter_transform, parts, S, Z, U, flipped)


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _filter_adjoint(part, parts, dU, Y, out):
    """out[co, 3 i + j, ci] = (G^T dU G)[i, j] of dU[:, co * C_in + ci] for the output channels
    co in part `part` of `parts` (out (C_out, 9, C_in)): the transpose of _filter_transform,
    vectorised over ci in the same way; Y is a (parts, 18 C_in) scratch."""
    C_out, Q = out.shape[0], out.shape[2]
    f = dU.dtype.type
    y = Y[part]
    for co in range(part * C_out // parts, (part + 1) * C_out // parts):
        for a in range(6):  # along row a of the tile: Y[a, j] = sum_b G[b, j] dU[6 a + b]
            lo, hi = co * Q, (co + 1) * Q
            u0, u1, u2 = dU[6 * a, lo:hi], dU[6 * a + 1, lo:hi], dU[6 * a + 2, lo:hi]
            u3, u4, u5 = dU[6 * a + 3, lo:hi], dU[6 * a + 4, lo:hi], dU[6 * a + 5, lo:hi]
            for j in range(3):
                g0, g1, g2 = f(G[0, j]), f(G[1, j]), f(G[2, j])
                g3, g4, g5 = f(G[3, j]), f(G[4, j]), f(G[5, j])
                dst = y[(3 * a + j) * Q:(3 * a + j + 1) * Q]
                for q in range(Q):
                    dst[q] = (g0 * u0[q] + g1 * u1[q] + g2 * u2[q] + g3 * u3[q] + g4 * u4[q]
                              + g5 * u5[q])
        for i in range(3):  # down the columns: out[3 i + j] = sum_a G[a, i] Y[a, j]
            g0, g1, g2 = f(G[0, i]), f(G[1, i]), f(G[2, i])
            g3, g4, g5 = f(G[3, i]), f(G[4, i]), f(G[5, i])
            for j in range(3):
                y0, y1, y2 = y[j * Q:], y[(3 + j) * Q:], y[(6 + j) * Q:]
                y3, y4, y5 = y[(9 + j) * Q:], y[(12 + j) * Q:], y[(15 + j) * Q:]
                dst = out[co, 3 * i + j]
                for q in range(Q):
                    dst[q] = (g0 * y0[q] + g1 * y1[q] + g2 * y2[q] + g3 * y3[q] + g4 * y4[q]
                              + g5 * y5[q])


def _weight_gradient(dU, C_out, C_in, dtype):
    """grad_w (C_out, C_in, 3, 3) = G^T dU[:, co * C_in + ci] G."""
    parts = _parts(C_out)
    out = np.empty((C_out, 9, C_in), dtype=dtype)
    run_parts(_filter_adjoint, parts, dU, np.empty((parts, 18 * C_in), dtype=dtype), out)
    grad_w = np.empty((C_out, C_in, 3, 3), dtype=dtype)
    first_axis_last(out.transpose(1, 0, 2), grad_w.reshape(C_out, C_in, 9))
    return grad_w


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


def _pitch(size, dtype):
    """A row pitch >= size for the 36 rows of transformed data: an odd number of cache lines.
    At a multiple of 4 KB, as (64, 64) matrices would be, the transforms' 36 streams all fall
    into the same L1 sets and evict each other."""
    lines = -(-size * np.dtype(dtype).itemsize // 64)
    return (lines | 1) * 64 // np.dtype(dtype).itemsize


def _transformed(scratch, role, rows, columns, dtype, parts=1):
    """`parts` (36, >= rows * columns) scratches of transformed data, one per part."""
    return scratch(role, (parts, 36, _pitch(rows * columns, dtype)), dtype)


def _planes(scratch, role, parts, rows, columns, channels, dtype):
    """`parts` zeroed channels-last planes (rows, columns, channels): the tile transforms'
    scratch, whose border the transforms never write."""
    planes = scratch(role, (parts, rows, columns, channels), dtype)
    planes[...] = 0
    return planes


@njit(inline="always")
def _matrix(flat, k, rows, columns):
    """Transformed matrix k (rows, columns) of a (36, pitch) scratch."""
    return flat[k, :rows * columns].reshape(rows, columns)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _forward_part(part, parts, gemm, x, U, bias, ph, pw, TH, TW, S, padded, Z, V, M, tiles, y):
    """Part `part` of `parts` of the samples, S per chunk: their tiles' V, the 36 GEMMs
    M[k] = V[k] @ U[k], and y from M, in part's own slices of the scratches."""
    lo, hi = part_range(part, parts, x.shape[0])
    C_in, C_out = x.shape[1], y.shape[1]
    pad, z, v, m, out = padded[part], Z[part], V[part], M[part], tiles[part]
    for start in range(lo, hi, S):
        count = min(S, hi - start)
        rows = count * TH * TW
        input_transform(x, start, count, ph, pw, TH, TW, pad, z[0], z[1], z[2], z[3], z[4], z[5],
                        v[0:6], v[6:12], v[12:18], v[18:24], v[24:30], v[30:36], 0)
        for k in range(36):
            gemm_rows(gemm, False, False, _matrix(v, k, rows, C_in), _matrix(U, k, C_in, C_out),
                      _matrix(m, k, rows, C_out), 0.0)
        output_transform(m[0:6], m[6:12], m[12:18], m[18:24], m[24:30], m[30:36], bias, start,
                         count, TH, TW, z[0], z[1], z[2], z[3], out[0], out[1], out[2], out[3],
                         out, y, 0)


def forward(x, w, bias, padding, OH, OW, scratch, flipped=False):
    """y (N, C_out, OH, OW) of the 3x3 correlation of x (N, C_in, H, W) with w (C_out, C_in, 3, 3),
    plus bias (C_out); C-contiguous arrays of one dtype. flipped: with w (C_in, C_out, 3, 3)
    turned 180 degrees and its channel axes swapped (the input gradient's correlation)."""
    N, C_in = x.shape[:2]
    C_out = w.shape[1] if flipped else w.shape[0]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    U = _transformed(scratch, "winograd_u", C_in, C_out, x.dtype)[0]
    _transformed_filters(w, U, flipped)
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    if N == 0:
        return y
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, MIN_TILES)
    parts, dtype = _parts(N), x.dtype
    run_parts(_forward_part, parts, kernel_gemm(dtype), x, U, bias, ph, pw, TH, TW, S,
              _planes(scratch, "winograd_padded", parts, TILE * TH + 2, TILE * TW + 2, C_in,
                      dtype),
              scratch("winograd_z", (parts, 6, 6 * max(C_in, C_out)), dtype),
              _transformed(scratch, "winograd_v", S * tiles, C_in, dtype, parts),
              _transformed(scratch, "winograd_m", S * tiles, C_out, dtype, parts),
              scratch("winograd_tiles", (parts, TILE, TH, TILE * TW, C_out), dtype), y)
    return y


def backward_input(grad_y, w, x_shape, padding, scratch):
    """grad_x: the forward pass on grad_y with the kernel flipped and its channel axes swapped."""
    no_bias = np.zeros(w.shape[1], dtype=grad_y.dtype)
    return forward(grad_y, w, no_bias, (2 - padding[0], 2 - padding[1]), x_shape[2], x_shape[3],
                   scratch, flipped=True)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _batch_transforms_part(part, parts, x, grad_y, ph, pw, TH, TW, padded, padded_y, Z, V, D):
    """The tiles' V (from x) and dM (from grad_y) of part's samples, at their own rows of the
    whole batch's V and D."""
    lo, hi = part_range(part, parts, x.shape[0])
    pad, pad_y, z = padded[part], padded_y[part], Z[part]
    input_transform(x, lo, hi - lo, ph, pw, TH, TW, pad, z[0], z[1], z[2], z[3], z[4], z[5],
                    V[0:6], V[6:12], V[12:18], V[18:24], V[24:30], V[30:36], lo)
    grad_output_transform(grad_y, lo, hi - lo, TH, TW, pad_y, z[0], z[1], z[2], z[3], z[4], z[5],
                          D[0:6], D[6:12], D[12:18], D[18:24], D[24:30], D[30:36], lo)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _weight_gradient_part(part, parts, gemm, x, grad_y, ph, pw, TH, TW, S, padded, padded_y, Z,
                          V, D, dU):
    """dU[part][k] = the sum over part's samples of dM[k]^T @ V[k], S samples per chunk."""
    lo, hi = part_range(part, parts, x.shape[0])
    C_in, C_out = x.shape[1], grad_y.shape[1]
    pad, pad_y, z, v, d, total = padded[part], padded_y[part], Z[part], V[part], D[part], dU[part]
    for start in range(lo, hi, S):
        count = min(S, hi - start)
        rows = count * TH * TW
        input_transform(x, start, count, ph, pw, TH, TW, pad, z[0], z[1], z[2], z[3], z[4], z[5],
                        v[0:6], v[6:12], v[12:18], v[18:24], v[24:30], v[30:36], 0)
        grad_output_transform(grad_y, start, count, TH, TW, pad_y, z[0], z[1], z[2], z[3], z[4],
                              z[5], d[0:6], d[6:12], d[12:18], d[18:24], d[24:30], d[30:36], 0)
        for k in range(36):  # the first chunk's product is the sum so far: no zeros, no add
            gemm_rows(gemm, True, False, _matrix(d, k, rows, C_out), _matrix(v, k, rows, C_in),
                      _matrix(total, k, C_out, C_in), 0.0 if start == lo else 1.0)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _tile_sums_part(part, parts, gemm, V, D, rows, C_in, C_out, dU):
    """dU[k] (C_out, C_in) = dM[k]^T @ V[k] over the whole batch's rows, for part's share of the
    36 k."""
    lo, hi = part_range(part, parts, 36)
    for k in range(lo, hi):
        gemm_rows(gemm, True, False, _matrix(D, k, rows, C_out), _matrix(V, k, rows, C_in),
                  _matrix(dU, k, C_out, C_in), 0.0)


def backward_weight(grad_y, x, padding, scratch):
    """grad_w (C_out, C_in, 3, 3) = G^T (sum over tiles of dM[k]^T @ V[k]) G."""
    N, C_out, OH, OW = grad_y.shape
    C_in = x.shape[1]
    ph, pw = padding
    TH, TW = -(-OH // TILE), -(-OW // TILE)
    tiles = TH * TW
    dtype = x.dtype
    if N == 0:
        return np.zeros((C_out, C_in, 3, 3), dtype=dtype)
    parts = _parts(N)
    kernel_scratches = (
        _planes(scratch, "winograd_padded", parts, TILE * TH + 2, TILE * TW + 2, C_in, dtype),
        _planes(scratch, "winograd_padded_y", parts, TILE * TH, TILE * TW, C_out, dtype),
        scratch("winograd_z", (parts, 6, 6 * max(C_in, C_out)), dtype))
    gemm = kernel_gemm(dtype)
    if (36 * C_in * C_out * x.itemsize >= SPLIT_DU_BYTES
            and 36 * (C_in + C_out) * N * tiles * x.itemsize <= WHOLE_BATCH_BYTES):
        V = _transformed(scratch, "winograd_v_all", N * tiles, C_in, dtype)[0]
        D = _transformed(scratch, "winograd_m_all", N * tiles, C_out, dtype)[0]
        run_parts(_batch_transforms_part, parts, x, grad_y, ph, pw, TH, TW, *kernel_scratches, V, D)
        dU = np.empty((36, _pitch(C_out * C_in, dtype)), dtype=dtype)
        run_parts(_tile_sums_part, _parts(36), gemm, V, D, N * tiles, C_in, C_out, dU)
        return _weight_gradient(dU, C_out, C_in, dtype)
    # dU's per-chunk sum is a pass over 36 C_out C_in floats: chunks of at least WEIGHT_TILES too
    S = _samples_per_chunk(N, C_in + C_out, tiles, x.dtype.itemsize, WEIGHT_TILES)
    dU = np.empty((parts, 36, _pitch(C_out * C_in, dtype)), dtype=dtype)
    run_parts(_weight_gradient_part, parts, gemm, x, grad_y, ph, pw, TH, TW, S, *kernel_scratches,
              _transformed(scratch, "winograd_v", S * tiles, C_in, dtype, parts),
              _transformed(scratch, "winograd_m", S * tiles, C_out, dtype, parts), dU)
    total = dU[0]
    for partial in dU[1:]:  # the rows' pitch past C_out * C_in is never written
        total[:, :C_out * C_in] += partial[:, :C_out * C_in]
    return _weight_gradient(total, C_out, C_in, dtype)
