"""im2col + GEMM one sample at a time, the samples split across threads (wide layers: ResNet's).

A whole batch's column matrix is large (ResNet conv 64->64 3x3 on 32x32 at batch 32: 576 x 32768
floats, 75 MB), so building it and reading it back in the GEMM goes to DRAM twice per pass. One
sample's columns (2.4 MB there) stay in cache between the im2col and the GEMM that reads them, and
the GEMM's product, in cache too, is copied into y with the bias added.

Each of T parts (T = Numba's thread count, parallel.run_parts) takes a contiguous range of samples
and runs the serial kernels and single-threaded OpenBLAS GEMMs (blas.gemm_rows) on it, with its
own slice of each scratch buffer; it owns the y[n] / grad_x[n] it writes, and sums the weight
gradient of its samples into its own partial sum, added up at the end.
"""
import numpy as np
from numba import get_num_threads, njit

from .blas import gemm_rows, kernel_gemm, parts_for
from .layout import first_axis_last
from .parallel import NoAliasArguments, part_range, run_parts


@njit(nogil=True, fastmath=True, cache=True)
def im2col_sample(x, n, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, columns, col0, padded):
    """columns[:, col0:col0 + OH * OW] = the columns of sample n: row (c, kh, kw), column (oh, ow).

    The sample is first copied into the zero-bordered scratch `padded` (C, H + 2 ph, W + 2 pw)
    (skipped without padding), so that every row is a plain strided copy: no per-row clipping of
    the window to the input, whose integer divisions and short loops made the old form slow on
    DenseNet's small planes (8x8 down to 1x1). columns is the whole C-contiguous buffer and col0
    the sample's first column. Flat indices, not slices per row (at DenseNet's 4x4 planes, three
    slices per 4-float row cost more than the copy), and unsigned: Numba wraps a negative signed
    index around, a test and a select per access that keep the loop scalar."""
    _, C, H, W = x.shape
    src = x[n]
    if ph or pw:
        padded[...] = 0
        for c in range(C):
            for h in range(H):
                line = padded[c, ph + h, pw:pw + W]
                inp = x[n, c, h]
                for i in range(W):
                    line[i] = inp[i]
        src = padded
    Hs, Ws = src.shape[1], src.shape[2]
    flat_src = src.reshape(C * Hs * Ws)
    flat_columns = columns.reshape(columns.size)
    stride = columns.shape[1]
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                dst = ((c * KH + kh) * KW + kw) * stride + col0
                for oh in range(OH):
                    start = (c * Hs + oh * sh + kh * dh) * Ws + kw * dw
                    out = dst + oh * OW
                    for i in range(OW):
                        flat_columns[np.uint64(out + i)] = flat_src[np.uint64(start + i * sw)]


@njit(nogil=True, fastmath=True, cache=True)
def col2im_sample(columns, col0, grad_x, n, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, padded):
    """grad_x[n] = the sum of the column entries read from each input element (columns: the
    whole C-contiguous buffer, the sample's columns starting at col0), summed in the zero-bordered
    scratch `padded` (C, H + 2 ph, W + 2 pw) whose interior is then copied out, with unsigned
    flat indices as im2col_sample."""
    _, C, H, W = grad_x.shape
    padded[...] = 0
    Hs, Ws = padded.shape[1], padded.shape[2]
    flat_padded = padded.reshape(padded.size)
    flat_columns = columns.reshape(columns.size)
    stride = columns.shape[1]
    for c in range(C):
        for kh in range(KH):
            for kw in range(KW):
                src = ((c * KH + kh) * KW + kw) * stride + col0
                for oh in range(OH):
                    start = (c * Hs + oh * sh + kh * dh) * Ws + kw * dw
                    row = src + oh * OW
                    for i in range(OW):
                        flat_padded[np.uint64(start + i * sw)] += flat_columns[np.uint64(row + i)]
        for h in range(H):
            out = grad_x[n, c, h]
            inp = padded[c, ph + h, pw:pw + W]
            for i in range(W):
                out[i] = inp[i]


@njit(nogil=True, fastmath=True, cache=True)
def im2col_samples(x, first, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, columns, padded):
    """The columns of samples first .. first + count - 1, side by side from column 0: one call
    per GEMM chunk, not one per sample (DenseNet's 1x1 to 4x4 planes: Python's per-call cost,
    with two threads taking turns on the GIL, was most of those layers' time)."""
    N, C, H, W = x.shape
    if KH == 1 and KW == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0:
        # a pointwise convolution's columns are its input planes (DenseNet's 1x1 transitions, and
        # the input gradients of its narrowing 1x1 layers): a plain gather skips im2col_sample,
        # whose set-up per 1-float row would dominate on 1x1 planes
        gather_samples(x.reshape(N, C, H * W), first, count, columns)
        return
    for j in range(count):
        im2col_sample(x, first + j, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, columns, j * OH * OW,
                      padded)


@njit(nogil=True, fastmath=True, cache=True)
def col2im_samples(columns, grad_x, first, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW,
                   padded):
    for j in range(count):
        col2im_sample(columns, j * OH * OW, grad_x, first + j, KH, KW, sh, sw, ph, pw, dh, dw, OH,
                      OW, padded)


@njit(nogil=True, fastmath=True, cache=True)
def gather_samples(a, first, count, block):
    """block[:, j * P:(j + 1) * P] = a[first + j] for a (N, C, P): samples side by side."""
    C, P = a.shape[1], a.shape[2]
    for c in range(C):
        for j in range(count):
            src = a[first + j, c]
            dst = block[c, j * P:(j + 1) * P]
            for p in range(P):
                dst[p] = src[p]


@njit(nogil=True, fastmath=True, cache=True)
def scatter_samples(block, bias, first, count, a):
    """a[first + j] = block[:, j * P:(j + 1) * P] + bias[:, None]: gather_samples' inverse."""
    C, P = a.shape[1], a.shape[2]
    for j in range(count):
        for c in range(C):
            src = block[c, j * P:(j + 1) * P]
            dst = a[first + j, c]
            for p in range(P):
                dst[p] = src[p] + bias[c]


# Samples per GEMM: enough for about CHUNK_COLUMNS columns (a per-sample GEMM of ResNet's 4x4
# layers has 16 columns and runs far below BLAS speed), while the chunk's column matrix stays
# within CHUNK_BYTES (cache-sized).
CHUNK_COLUMNS = 1024
CHUNK_BYTES = 2 << 20


def _pitch(columns, dtype):
    """A row pitch of at least `columns` floats that is no multiple of 2 KB: OpenBLAS packs a
    GEMM operand down its rows, and rows a multiple of 4 KB apart fall into the same L1 sets
    (the chunks of CHUNK_COLUMNS = 1024 columns were exactly that)."""
    step = 64 // np.dtype(dtype).itemsize
    columns = -(-columns // step) * step
    return columns + step if columns * np.dtype(dtype).itemsize % 2048 == 0 else columns


def _chunk(N, rows, P, itemsize):
    by_size = CHUNK_BYTES // (rows * P * itemsize)
    return max(1, min(-(-CHUNK_COLUMNS // P), by_size, -(-N // max(1, get_num_threads()))))


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _forward_part(part, parts, gemm, x, w_groups, bias, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW,
                  S, columns, product, padded, y):
    """Part `part` of `parts` of the samples, S per chunk: y (N, C_out, P) = w @ columns + bias,
    in part's own slices of the scratch arrays columns, product and padded."""
    lo, hi = part_range(part, parts, x.shape[0])
    groups, per_group, rows = w_groups.shape
    P = OH * OW
    block, out, pad = columns[part], product[part], padded[part]
    for start in range(lo, hi, S):
        count = min(S, hi - start)
        im2col_samples(x, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, block, pad)
        for g in range(groups):
            gemm_rows(gemm, False, False, w_groups[g], block[g * rows:(g + 1) * rows, :count * P],
                      out[g * per_group:(g + 1) * per_group, :count * P], 0.0)
        scatter_samples(out, bias, start, count, y)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _input_gradient_part(part, parts, gemm, grad_y, w_groups, KH, KW, sh, sw, ph, pw, dh, dw,
                         S, columns, gathered, padded, grad_x):
    """grad_x of part's samples: the columns' gradient w^T @ grad_y, summed back by col2im."""
    lo, hi = part_range(part, parts, grad_y.shape[0])
    groups, per_group, rows = w_groups.shape
    OH, OW = grad_y.shape[2], grad_y.shape[3]
    P = OH * OW
    grad_y_planes = grad_y.reshape(grad_y.shape[0], grad_y.shape[1], P)
    block, g_block, pad = columns[part], gathered[part], padded[part]
    for start in range(lo, hi, S):
        count = min(S, hi - start)
        gather_samples(grad_y_planes, start, count, g_block)
        for g in range(groups):
            gemm_rows(gemm, True, False, w_groups[g],
                      g_block[g * per_group:(g + 1) * per_group, :count * P],
                      block[g * rows:(g + 1) * rows, :count * P], 0.0)
        col2im_samples(block, grad_x, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pad)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _weight_gradient_part(part, parts, gemm, grad_y, x, KH, KW, sh, sw, ph, pw, dh, dw,
                          transposed, S, columns, gathered, padded, totals):
    """Part's samples' weight gradient into totals[part]: (groups, per_group, rows) += grad_y @
    columns^T, or its transpose (groups, rows, per_group) += columns @ grad_y^T."""
    N, C_out, OH, OW = grad_y.shape
    lo, hi = part_range(part, parts, N)
    total = totals[part]
    groups = total.shape[0]
    rows, per_group = (total.shape[1], total.shape[2]) if transposed else (total.shape[2],
                                                                             total.shape[1])
    P = OH * OW
    grad_y_planes = grad_y.reshape(N, C_out, P)
    block, g_block, pad = columns[part], gathered[part], padded[part]
    total[...] = 0
    for start in range(lo, hi, S):
        count = min(S, hi - start)
        im2col_samples(x, start, count, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, block, pad)
        gather_samples(grad_y_planes, start, count, g_block)
        for g in range(groups):
            x_rows = block[g * rows:(g + 1) * rows, :count * P]
            y_rows = g_block[g * per_group:(g + 1) * per_group, :count * P]
            if transposed:
                gemm_rows(gemm, False, True, x_rows, y_rows, total[g], 1.0)
            else:
                gemm_rows(gemm, False, True, y_rows, x_rows, total[g], 1.0)


def forward(x, w, bias, stride, padding, dilation, groups, OH, OW, scratch):
    N, C_in = x.shape[:2]
    C_out, C_group, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    rows, per_group, P = C_group * KH * KW, C_out // groups, OH * OW
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    S = _chunk(N, groups * rows, P, x.dtype.itemsize)
    parts = parts_for(N, N * C_out * rows * P)
    run_parts(_forward_part, parts, kernel_gemm(x.dtype), x, w.reshape(groups, per_group, rows),
              bias, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, S,
              scratch("columns", (parts, C_in * KH * KW, _pitch(S * P, x.dtype)), x.dtype),
              scratch("product", (parts, C_out, _pitch(S * P, x.dtype)), x.dtype),
              scratch("padded", (parts, C_in, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), x.dtype),
              y.reshape(N, C_out, P))
    return y


def backward_input(grad_y, w, x_shape, stride, padding, dilation, groups, scratch):
    N, C_out, OH, OW = grad_y.shape
    _, C_group, KH, KW = w.shape
    _, C_in, H, W = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    rows, per_group, P = C_group * KH * KW, C_out // groups, OH * OW
    dtype = grad_y.dtype
    grad_x = np.empty((N, C_in, H, W), dtype=dtype)
    S = _chunk(N, groups * rows, P, dtype.itemsize)
    parts = parts_for(N, N * C_out * rows * P)
    run_parts(_input_gradient_part, parts, kernel_gemm(dtype), grad_y,
              w.reshape(groups, per_group, rows), KH, KW, sh, sw, ph, pw, dh, dw, S,
              scratch("columns", (parts, groups * rows, _pitch(S * P, dtype)), dtype),
              scratch("gathered", (parts, C_out, _pitch(S * P, dtype)), dtype),
              scratch("padded", (parts, C_in, H + 2 * ph, W + 2 * pw), dtype), grad_x)
    return grad_x


# Positions (N OH OW) from which the weight gradient's GEMMs run transposed (see backward_weight)
TRANSPOSED_MIN_POSITIONS = 1024


def backward_weight(grad_y, x, w_shape, stride, padding, dilation, groups, scratch):
    """Each chunk adds grad_y @ columns^T to the weight gradient (C_out, C_in KH KW) per group;
    or, where the columns have more rows than grad_y and the batch holds at least
    TRANSPOSED_MIN_POSITIONS positions, columns @ grad_y^T to its transpose, moved back once at
    the end: OpenBLAS runs a GEMM with a narrow transposed right operand faster (ResNet's strided
    3x3 layers), and from there that outweighs the final move."""
    N, C_out, OH, OW = grad_y.shape
    C_in = x.shape[1]
    _, C_group, KH, KW = w_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    rows, per_group, P = C_group * KH * KW, C_out // groups, OH * OW
    transposed = rows > per_group and N * P >= TRANSPOSED_MIN_POSITIONS
    shape = (groups, rows, per_group) if transposed else (groups, per_group, rows)
    S = _chunk(N, groups * rows, P, x.dtype.itemsize)
    parts = parts_for(N, N * C_out * rows * P)
    totals = np.empty((parts,) + shape, dtype=x.dtype)
    run_parts(_weight_gradient_part, parts, kernel_gemm(x.dtype), grad_y, x, KH, KW, sh, sw, ph,
              pw, dh, dw, transposed, S,
              scratch("columns", (parts, C_in * KH * KW, _pitch(S * P, x.dtype)), x.dtype),
              scratch("gathered", (parts, C_out, _pitch(S * P, x.dtype)), x.dtype),
              scratch("padded", (parts, C_in, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), x.dtype),
              totals)
    total = totals[0]
    for partial in totals[1:]:
        total += partial
    if not transposed:
        return total.reshape(C_out, C_group, KH, KW)
    grad_w = np.empty((groups, per_group, 1, rows), dtype=x.dtype)
    for g in range(groups):
        first_axis_last(total[g].reshape(rows, per_group, 1), grad_w[g])
    return grad_w.reshape(C_out, C_group, KH, KW)
