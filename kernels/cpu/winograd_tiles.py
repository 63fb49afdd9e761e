"""Winograd F(4x4, 3x3)'s tile transforms (winograd.py), vectorised over the channels.

Each sample is first copied into a channels-last scratch (H, W, C), so that the 36 values of a
6x6 input tile (or the 16 of a 4x4 grad_y tile) are 36 runs of C contiguous floats. A transform
is two separable passes of a 1-D transform (B^T, A^T or A of six or four runs), along the tile's
rows and then along its columns, each pass one loop over the channels per row or column. The
outputs of one loop go to distinct arrays, each its own argument (the six blocks of six rows of
V, the rows of the scratch Z between the passes): LLVM vectorises a loop over the channels at
the CPU's width only when it can tell that its stores do not overlap, as arguments marked
noalias (parallel.NoAliasArguments) do not. Transformed tiles are stored channels innermost:

  V[6 k + l, t * C_in + c]    M[6 k + l, t * C_out + c]    D[6 k + l, t * C_out + c]

the 36 matrices V[k] (tiles, C_in), M[k] and D[k] (tiles, C_out) each one row of a (36, pitch)
array, passed as its six blocks of six rows. Tile t = (slot + s) * TH * TW + ti * TW + tj is tile
(ti, tj) of sample first + s. The constants are written out, typed as the data (a Python int
would promote float32 to float64); indices are unsigned (Numba wraps a negative signed index
around, a select per access that keeps a loop scalar).
"""
import numpy as np
from numba import njit

from .parallel import NoAliasArguments


@njit(inline="always", fastmath=True)
def _bt(f, d0, d1, d2, d3, d4, d5):
    """B^T d (f: the data's scalar type)."""
    p = d4 - f(4) * d2
    q = d3 - f(4) * d1
    r = d4 - d2
    s = f(2) * (d3 - d1)
    return (f(4) * d0 - f(5) * d2 + d4, p + q, p - q, r + s, r - s, f(4) * d1 - f(5) * d3 + d5)


@njit(inline="always", fastmath=True)
def _at(f, m0, m1, m2, m3, m4, m5):
    """A^T m."""
    p = m1 + m2
    q = m1 - m2
    r = m3 + m4
    s = m3 - m4
    return (m0 + p + r, q + f(2) * s, p + f(4) * r, q + f(8) * s + m5)


@njit(inline="always", fastmath=True)
def _a(f, g0, g1, g2, g3):
    """A g: the transpose of _at."""
    p = g0 + g2
    q = g1 + g3
    r = g0 + f(4) * g2
    s = f(2) * g1 + f(8) * g3
    return (g0, p + q, p - q, r + s, r - s, g3)


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def to_channels_last(x, n, ph, pw, out):
    """out[ph + h, pw + w, c] = x[n, c, h, w], clipped to out (H', W', C), whose other entries
    are left as they are (a zeroed border)."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    rows, columns = min(H, out.shape[0] - ph), min(W, out.shape[1] - pw)
    if H * W * x.itemsize % 4096:
        for h in range(rows):
            for w in range(columns):
                line = out[ph + h, pw + w]
                for c in range(C):
                    line[c] = x[n, c, h, w]
    else:  # planes 4 KB apart: reading down the channels would hit one cache set
        for c in range(C):
            for h in range(rows):
                line = x[n, c, h]
                dst = out[ph + h]
                for w in range(columns):
                    dst[pw + w, c] = line[w]


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _from_channels_last(tiles, bias, y, n):
    """y[n, c, h, w] = tiles[h % 4, h // 4, w, c] + bias[c] (the output tiles' rows i of all tile
    rows, then their rows i + 1, ...)."""
    C, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    if OH * OW * y.itemsize % 4096:
        for h in range(OH):
            for w in range(OW):
                line = tiles[h % 4, h // 4, w]
                for c in range(C):
                    y[n, c, h, w] = line[c] + bias[c]
    else:
        for c in range(C):
            b = bias[c]
            for h in range(OH):
                src = tiles[h % 4, h // 4]
                dst = y[n, c, h]
                for w in range(OW):
                    dst[w] = src[w, c] + b


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def input_transform(x, first, count, ph, pw, TH, TW, padded, Z0, Z1, Z2, Z3, Z4, Z5,
                    V0, V1, V2, V3, V4, V5, slot):
    """V[6 k + l, t * C + c] = (B^T d B)[k, l] for the 6x6 tiles d of samples first ..
    first + count - 1 at rows 4 ti - ph .., columns 4 tj - pw .. (zero outside the plane).
    padded (4 TH + 2, 4 TW + 2, C) is a zeroed scratch (its border stays zero), Z0 .. Z5 are
    scratches of >= 6 C, V0 .. V5 the six blocks of V's rows."""
    C = x.shape[1]
    u, f = np.uint64, x.dtype.type
    Wp = padded.shape[1]
    src, row = padded.reshape(padded.size), u(Wp * C)
    for s in range(count):
        to_channels_last(x, first + s, ph, pw, padded)
        for ti in range(TH):
            for tj in range(TW):
                corner = u((4 * ti * Wp + 4 * tj) * C)
                for a in range(6):  # along row a: Z_l[a] = sum_b BT[l, b] d[a, b]
                    i0, o = corner + u(a) * row, u(a * C)
                    for c in range(C):
                        i = i0 + u(c)
                        z = _bt(f, src[i], src[i + u(C)], src[i + u(2 * C)], src[i + u(3 * C)],
                                src[i + u(4 * C)], src[i + u(5 * C)])
                        j = o + u(c)
                        Z0[j], Z1[j], Z2[j], Z3[j], Z4[j], Z5[j] = z
                t = u(((slot + s) * TH + ti) * TW + tj)
                for l, Z in enumerate((Z0, Z1, Z2, Z3, Z4, Z5)):  # down column l
                    for c in range(C):
                        i, j = u(c), t * u(C) + u(c)
                        v = _bt(f, Z[i], Z[i + u(C)], Z[i + u(2 * C)], Z[i + u(3 * C)],
                                Z[i + u(4 * C)], Z[i + u(5 * C)])
                        V0[l, j], V1[l, j], V2[l, j], V3[l, j], V4[l, j], V5[l, j] = v


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def output_transform(M0, M1, M2, M3, M4, M5, bias, first, count, TH, TW, Z0, Z1, Z2, Z3,
                     tiles0, tiles1, tiles2, tiles3, tiles, y, slot):
    """y[first + s, c] = A^T M A + bias[c] per tile, the tiles' part past the plane dropped.
    M0 .. M5 are the six blocks of M's rows, Z0 .. Z3 scratches of >= 6 C, tiles a scratch
    (4, TH, 4 TW, C) of which tiles0 .. tiles3 are the four (TH, 4 TW, C) parts."""
    C = y.shape[1]
    u, f = np.uint64, y.dtype.type
    TWp = tiles.shape[2]
    out = (tiles0.reshape(tiles0.size), tiles1.reshape(tiles1.size),
           tiles2.reshape(tiles2.size), tiles3.reshape(tiles3.size))
    for s in range(count):
        for ti in range(TH):
            for tj in range(TW):
                t = u(((slot + s) * TH + ti) * TW + tj)
                for a, Mk in enumerate((M0, M1, M2, M3, M4, M5)):  # along row a of the tile
                    for c in range(C):
                        i, j = t * u(C) + u(c), u(a * C + c)
                        Z0[j], Z1[j], Z2[j], Z3[j] = _at(f, Mk[0, i], Mk[1, i], Mk[2, i],
                                                         Mk[3, i], Mk[4, i], Mk[5, i])
                corner = u((ti * TWp + 4 * tj) * C)
                for j, Z in enumerate((Z0, Z1, Z2, Z3)):  # down column j: output column j
                    o = corner + u(j * C)
                    for c in range(C):
                        i = u(c)
                        y0, y1, y2, y3 = _at(f, Z[i], Z[i + u(C)], Z[i + u(2 * C)],
                                             Z[i + u(3 * C)], Z[i + u(4 * C)], Z[i + u(5 * C)])
                        k = o + u(c)
                        out[0][k], out[1][k], out[2][k], out[3][k] = y0, y1, y2, y3
        _from_channels_last(tiles, bias, y, first + s)


@njit(nogil=True, fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def grad_output_transform(grad_y, first, count, TH, TW, padded, Z0, Z1, Z2, Z3, Z4, Z5,
                          D0, D1, D2, D3, D4, D5, slot):
    """D[6 k + l, t * C + c] = (A g A^T)[k, l] for the 4x4 tiles g of grad_y (zero past the
    plane); padded (4 TH, 4 TW, C) is a zeroed scratch, Z0 .. Z5 scratches of >= 4 C, D0 .. D5
    the six blocks of D's rows."""
    C = grad_y.shape[1]
    u, f = np.uint64, grad_y.dtype.type
    Wp = padded.shape[1]
    src, row = padded.reshape(padded.size), u(Wp * C)
    for s in range(count):
        to_channels_last(grad_y, first + s, 0, 0, padded)
        for ti in range(TH):
            for tj in range(TW):
                corner = u((4 * ti * Wp + 4 * tj) * C)
                for a in range(4):  # along row a: Z_l[a] = sum_j A[l, j] g[a, j]
                    i0, o = corner + u(a) * row, u(a * C)
                    for c in range(C):
                        i = i0 + u(c)
                        z = _a(f, src[i], src[i + u(C)], src[i + u(2 * C)], src[i + u(3 * C)])
                        j = o + u(c)
                        Z0[j], Z1[j], Z2[j], Z3[j], Z4[j], Z5[j] = z
                t = u(((slot + s) * TH + ti) * TW + tj)
                for l, Z in enumerate((Z0, Z1, Z2, Z3, Z4, Z5)):  # down column l
                    for c in range(C):
                        i, j = u(c), t * u(C) + u(c)
                        d = _a(f, Z[i], Z[i + u(C)], Z[i + u(2 * C)], Z[i + u(3 * C)])
                        D0[l, j], D1[l, j], D2[l, j], D3[l, j], D4[l, j], D5[l, j] = d
