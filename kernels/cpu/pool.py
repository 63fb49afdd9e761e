"""2-D max, average and adaptive pooling on the CPU, with torch.nn.functional's semantics.

The window geometry is worked out before the kernel, per axis, as small integer arrays (where each
output row's and column's window starts, which of its taps fall inside the input, what it divides
by) by the rules of kernels/pool_rule.py, which the GPU's kernels apply per element: one compiled
kernel serves both the strided and the adaptive form of each pooling (fewer kernels to compile),
and the inner loops hold no bounds tests.

Every kernel runs whole (n, c) planes per parallel iteration (or per part: max pooling's 2x2 pass
and both max poolings' backward pass run in parts, parallel.run_parts, which compile faster), so
an iteration owns the output planes it writes in the forward pass and the input-gradient planes it
accumulates into in the backward pass: overlapping windows never race. Max pooling records, per output element, the flat index (into the
H x W input plane) of the element it took, as int32; the backward pass routes each gradient there.
"""
import numpy as np
from numba import get_num_threads, njit, prange

from .. import pool_rule
from ..shapes import output_size
from .activation import relu_forward
from .parallel import NoAliasArguments, run_parts

ARGMAX_DTYPE = np.int32

# fastmath without "nnan" and "ninf": max pooling compares against -inf and, like torch, lets a NaN
# win its window; under those two flags LLVM may assume neither ever happens.
FINITE_FREE_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


_window = njit(inline="always")(pool_rule.window)
_taps_inside = njit(inline="always")(pool_rule.taps_inside)
_first_tap_index = njit(inline="always")(pool_rule.first_tap_index)
_averaged_range = njit(inline="always")(pool_rule.averaged_range)

# An adaptive window ignores its kernel, stride and padding: placeholders
_ADAPTIVE_WINDOW = (0, 1, 0)


# ---------------------------------------------------------------------------------------------
# Max pooling: window o along an axis has taps start[o] + k * dilation, of which those with
# k in [tap_lo[o], tap_hi[o]) fall inside the input (worked out here: no bounds tests inside)
# ---------------------------------------------------------------------------------------------

@njit(cache=True)
def _max_taps(size, cells, kernel, stride, padding, dilation, adaptive):
    """Per output position along one axis: window start, and the range of taps inside [0, size)."""
    starts = np.empty(cells, dtype=np.int64)
    tap_lo, tap_hi = np.empty(cells, dtype=np.int64), np.empty(cells, dtype=np.int64)
    for cell in range(cells):
        start, taps = _window(cell, size, cells, kernel, stride, padding, adaptive)
        starts[cell] = start
        tap_lo[cell], tap_hi[cell] = _taps_inside(start, taps, dilation, size)
    return starts, tap_lo, tap_hi


def is_2x2_stride_2(kernel_size, stride, padding, OH, OW, H, W):
    """Windows of 2 x 2 tiling the input (an odd last row or column left out): the fast kernels."""
    return (kernel_size, stride, padding) == ((2, 2), (2, 2), (0, 0)) and 2 * OH <= H and 2 * OW <= W


@njit(parallel=True, fastmath=FINITE_FREE_FASTMATH, cache=True)
def _max_pool_forward(x, W, h_start, h_lo, h_hi, dh, w_start, w_lo, w_hi, dw):
    """x: (planes, H * W). Flat planes: indexing 2-D views is slower, and reshaping a view per
    plane inside the loop costs more than a small plane's work."""
    planes = x.shape[0]
    OH, OW = h_start.shape[0], w_start.shape[0]
    y = np.empty((planes, OH * OW), dtype=x.dtype)
    argmax = np.empty((planes, OH * OW), dtype=np.int32)
    lowest = x.dtype.type(-np.inf)
    for plane in prange(planes):
        src = x[plane]
        for oh in range(OH):
            h0, kh_lo, kh_hi = h_start[oh], h_lo[oh], h_hi[oh]
            y_row = y[plane, oh * OW:(oh + 1) * OW]
            argmax_row = argmax[plane, oh * OW:(oh + 1) * OW]
            for ow in range(OW):
                y_row[ow] = lowest
                argmax_row[ow] = _first_tap_index(h0, kh_lo, dh, w_start[ow], w_lo[ow], dw, W)
            # a kernel row at a time for the whole output row: the windows' scans are independent
            # chains the CPU overlaps, where one window's taps wait on each other's compares
            for kh in range(kh_lo, kh_hi):
                row_start = (h0 + kh * dh) * W
                for ow in range(OW):
                    best, best_index = y_row[ow], argmax_row[ow]
                    for kw in range(w_lo[ow], w_hi[ow]):
                        index = row_start + w_start[ow] + kw * dw
                        value = src[index]
                        take = (value > best) | (value != value)  # a NaN wins, as in torch
                        best = value if take else best
                        best_index = index if take else best_index
                    y_row[ow], argmax_row[ow] = best, best_index
    return y, argmax


@njit(inline="always")
def window_max(a, b, d, e, start, W):
    """The largest of a 2 x 2 window (a b / d e) and its flat index in a plane W wide, start being
    a's: the top pair's winner unless the bottom pair's is strictly larger (the first of the
    largest in scan order), without branches; and whether the window holds a NaN."""
    top, bottom = max(a, b), max(d, e)
    k_top = np.int32(b > a)
    k_bottom = np.int32(W) + np.int32(e > d)
    index = start + k_top + np.int32(bottom > top) * (k_bottom - k_top)
    return max(top, bottom), index, (a != a) | (b != b) | (d != d) | (e != e)


@njit(inline="always")
def window_scan(a, b, d, e, start, W):
    """window_max's by a scan, where a NaN wins (the last one): for windows that hold one."""
    best, index = a, start
    if b > best or b != b:
        best, index = b, start + np.int32(1)
    if d > best or d != d:
        best, index = d, start + np.int32(W)
    if e > best or e != e:
        best, index = e, start + np.int32(W + 1)
    return best, index


@njit(inline="always")
def window_row(top_row, bottom_row, y_row, argmax_row, count, start, W, floor):
    """The `count` 2 x 2 windows along a pair of rows of a plane W wide, start the flat index of
    top_row[0]: y_row[j] their maxima raised to `floor`, argmax_row[j] their indices, branch-free;
    a row that holds a NaN is redone with window_scan."""
    nan_seen = False
    for j in range(count):
        best, index, nan = window_max(top_row[2 * j], top_row[2 * j + 1], bottom_row[2 * j],
                                      bottom_row[2 * j + 1], np.int32(start + 2 * j), W)
        y_row[j] = floor if best <= floor else best
        argmax_row[j] = index
        nan_seen |= nan
    if nan_seen:
        for j in range(count):
            best, index = window_scan(top_row[2 * j], top_row[2 * j + 1], bottom_row[2 * j],
                                      bottom_row[2 * j + 1], np.int32(start + 2 * j), W)
            y_row[j] = floor if best <= floor else best
            argmax_row[j] = index


@njit(fastmath=FINITE_FREE_FASTMATH, cache=True, pipeline_class=NoAliasArguments)
def _max_pool_2x2_part(part, parts, x, argmax, y, floor):
    """Part `part` of `parts` of the (n, c) planes. kernel 2, stride 2, no padding or dilation
    (LeNet's, and most CNNs'), without branches: the scan's compare-and-replace mispredicts half
    the time on real data. The first of the largest in scan order wins: the top pair's winner,
    unless the bottom pair's is strictly larger. A row of windows that holds a NaN is redone with the
    scan, where the last NaN wins, as in torch. y: (N, C, OH * OW), each maximum raised to `floor`
    (0: relu's, NaN kept; -inf: none)."""
    N, C, H, W = x.shape
    OH, OW = argmax.shape[2], argmax.shape[3]
    planes = N * C
    for plane in range(part * planes // parts, (part + 1) * planes // parts):
        n = plane // C
        c = plane - n * C
        src = x[n, c]
        for oh in range(OH):
            top_row, bottom_row = src[2 * oh], src[2 * oh + 1]
            y_row, argmax_row = y[n, c, oh * OW:], argmax[n, c, oh]
            window_row(top_row, bottom_row, y_row, argmax_row, OW, 2 * oh * W, W, floor)


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _route_to_argmax_part(part, parts, grad_y, argmax, grad_x, y, relu):
    """Part `part` of `parts` of the (n, c) planes; grad_x: (N, C, H * W). Each part zeroes its
    own planes: in cache, in parallel, and no separate pass. With `relu`, an output y <= 0 passes
    no gradient (relu_max_pool2d's backward)."""
    N, C, OH, OW = grad_y.shape
    plane_size = grad_x.shape[2]
    planes = N * C
    for plane in range(part * planes // parts, (part + 1) * planes // parts):
        n = plane // C
        c = plane - n * C
        dst = grad_x[n, c]
        dst[:] = grad_y.dtype.type(0)
        for oh in range(OH):
            for ow in range(OW):
                index = argmax[n, c, oh, ow]
                if 0 <= index < plane_size and not (relu and y[n, c, oh, ow] <= 0):
                    dst[index] += grad_y[n, c, oh, ow]


def _max_pool_2x2_forward(x, OH, OW, floor):
    N, C = x.shape[:2]
    y = np.empty((N, C, OH * OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=ARGMAX_DTYPE)
    run_parts(_max_pool_2x2_part, max(1, min(N * C, get_num_threads())), x, argmax, y,
              x.dtype.type(floor))
    return y.reshape(N, C, OH, OW), argmax


def _route_to_argmax(grad_y, argmax, H, W, y=None):
    """Both max poolings' backward pass (given relu_max_pool2d's output y, its backward); the same
    launcher as _max_pool_2x2_part's."""
    N, C = grad_y.shape[:2]
    grad_x = np.empty((N, C, H * W), dtype=grad_y.dtype)
    relu = y is not None
    run_parts(_route_to_argmax_part, max(1, min(N * C, get_num_threads())), grad_y, argmax, grad_x,
              np.ascontiguousarray(y) if relu else grad_y, relu)
    return grad_x.reshape(N, C, H, W)


# ---------------------------------------------------------------------------------------------
# Max pooling with equal strides along both axes (the ResNet and DenseNet stems' 3 x 3, stride 2,
# padding 1), vectorised across a plane's windows.
#
# Scanned window by window, each window's taps are a chain of dependent compare-and-selects: the
# loop stays scalar, a tap costs several instructions. Here each plane is first copied into a
# buffer of pitch Wb bordered with -inf (the padding, and for ceil_mode the overhang), and the
# windows are computed in that pitch ("wide" layout, as conv_direct.py's): output p = oh * Wb + ow
# takes tap (kh, kw) at position stride * p + kh * dh * Wb + kw * dw, so a tap is one pass over
# L = (OH - 1) * Wb + OW consecutive outputs, with no bounds to test; the buffer keeps the positions
# of each residue modulo the stride apart, so that pass reads consecutive floats. The positions
# ow >= OW of each row are garbage, never copied out.
#
# The scan order, and so which element wins, is torch's: the taps in row-major order, a strictly
# larger value or a NaN replacing the best so far (the first of the largest, the last NaN). A
# window whose best is -inf may have taken a padding tap: it is given the first tap inside the
# input, as torch's scan, which starts there, does.
# ---------------------------------------------------------------------------------------------

@njit(inline="always")
def _scan_tap(source, best, taps, L, tap):
    """Tap `tap` of the outputs p < L at source[p]: a NaN wins, else a strictly larger value."""
    for p in range(L):
        value = source[p]
        current = best[p]
        take = (value > current) | (value != value)
        best[p] = value if take else current
        taps[p] = tap if take else taps[p]


@njit(inline="always")
def _fill_row(buffer, line, base, s):
    """The row `line` at positions base .. base + len(line) - 1, each position q at
    buffer[q % s, q // s]: whole groups of s positions (one per residue) through contiguous
    slices, the partial groups at either end one by one."""
    W = line.shape[0]
    head = min(W, (s - base % s) % s)  # columns before the first whole group
    groups = (W - head) // s
    for w in range(head):
        buffer[(base + w) % s, (base + w) // s] = line[w]
    source = line[head:]
    for i in range(s):
        row = buffer[i, (base + head) // s:]
        for g in range(groups):
            row[g] = source[g * s + i]
    for w in range(head + groups * s, W):
        buffer[(base + w) % s, (base + w) // s] = line[w]


@njit(fastmath=FINITE_FREE_FASTMATH, cache=True, pipeline_class=NoAliasArguments)
def _max_pool_wide_part(part, parts, x, KH, KW, s, ph, pw, dh, dw, Hb, Wb, floor, y, argmax):
    """Part `part` of `parts` of the (n, c) planes of x (N, C, H, W) into y and argmax (N, C, OH,
    OW), each maximum raised to `floor` (0: relu's, NaN kept; -inf: none). The buffer holds
    position q of the bordered plane at [q % s, q // s]: every tap's loads are contiguous."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    L = (OH - 1) * Wb + OW
    lowest = x.dtype.type(-np.inf)
    buffer = np.full((s, (Hb * Wb + s - 1) // s), lowest, dtype=x.dtype)
    best = np.empty(L, dtype=x.dtype)
    taps = np.empty(L, dtype=np.int32)
    # tap t's flat offset in the input plane from its window's origin
    offsets = np.empty(KH * KW, dtype=np.int32)
    for t in range(KH * KW):
        offsets[t] = (t // KW) * dh * W + (t % KW) * dw
    planes = N * C
    for plane in range(part * planes // parts, (part + 1) * planes // parts):
        n = plane // C
        c = plane - n * C
        for h in range(H):
            if s == 2:
                _fill_row(buffer, x[n, c, h], (ph + h) * Wb + pw, 2)
            else:
                _fill_row(buffer, x[n, c, h], (ph + h) * Wb + pw, s)
        best[:] = lowest
        taps[:] = 0
        for kh in range(KH):
            for kw in range(KW):
                offset = kh * dh * Wb + kw * dw
                _scan_tap(buffer[offset % s, offset // s:], best, taps, L, np.int32(kh * KW + kw))
        for oh in range(OH):
            h0 = oh * s - ph
            wide = best[oh * Wb:]
            wide_taps = taps[oh * Wb:]
            y_row, argmax_row = y[n, c, oh], argmax[n, c, oh]
            for ow in range(OW):
                w0 = ow * s - pw
                value = wide[ow]
                y_row[ow] = floor if value <= floor else value
                argmax_row[ow] = h0 * W + w0 + offsets[wide_taps[ow]]
                if value == lowest:  # maybe a padding tap: torch's scan starts at the first inside
                    argmax_row[ow] = ((h0 + _taps_inside(h0, KH, dh, H)[0] * dh) * W + w0
                                      + _taps_inside(w0, KW, dw, W)[0] * dw)


def max_pool_wide(x, kernel_size, stride, padding, dilation, OH, OW, floor):
    """(y, argmax) of max_pool2d over x (N, C, H, W), C-contiguous, with stride (s, s)."""
    N, C, H, W = x.shape
    (KH, KW), s, (ph, pw), (dh, dw) = kernel_size, stride[0], padding, dilation
    # rows and columns the windows reach, the overhang of ceil_mode included
    Hb = max(H + 2 * ph, (OH - 1) * s + (KH - 1) * dh + 1)
    Wb = max(W + 2 * pw, (OW - 1) * s + (KW - 1) * dw + 1)
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=ARGMAX_DTYPE)
    if y.size == 0:
        return y, argmax
    run_parts(_max_pool_wide_part, max(1, min(N * C, get_num_threads())), x, KH, KW, s, ph, pw,
              dh, dw, Hb, Wb, x.dtype.type(floor), y, argmax)
    return y, argmax


def _max_pool_planes(x, OH, OW, *windows):
    N, C, H, W = x.shape
    y, argmax = _max_pool_forward(x.reshape(N * C, H * W), W, *windows)
    return y.reshape(N, C, OH, OW), argmax.reshape(N, C, OH, OW)


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, relu):
    x = np.ascontiguousarray(x)
    _, _, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    OH = output_size(H, KH, sh, ph, dh, ceil_mode)
    OW = output_size(W, KW, sw, pw, dw, ceil_mode)
    if dilation == (1, 1) and is_2x2_stride_2(kernel_size, stride, padding, OH, OW, H, W):
        return _max_pool_2x2_forward(x, OH, OW, 0 if relu else -np.inf)  # relu in the same pass
    if sh == sw:
        return max_pool_wide(x, kernel_size, stride, padding, dilation, OH, OW,
                             0 if relu else -np.inf)
    y, argmax = _max_pool_planes(x, OH, OW, *_max_taps(H, OH, KH, sh, ph, dh, False), dh,
                                 *_max_taps(W, OW, KW, sw, pw, dw, False), dw)
    return (relu_forward(y) if relu else y), argmax


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, relu=False)


def max_pool2d_backward(grad_y, argmax, x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    # The window geometry is already encoded in argmax.
    return _route_to_argmax(np.ascontiguousarray(grad_y), np.ascontiguousarray(argmax, ARGMAX_DTYPE),
                            x_shape[2], x_shape[3])


def relu_max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, relu=True)


def relu_max_pool2d_backward(grad_y, y, argmax, x_shape, kernel_size, stride, padding, dilation,
                             ceil_mode):
    return _route_to_argmax(np.ascontiguousarray(grad_y), np.ascontiguousarray(argmax, ARGMAX_DTYPE),
                            x_shape[2], x_shape[3], y)


def adaptive_max_pool2d_forward(x, output_size):
    x = np.ascontiguousarray(x)
    (OH, OW), (H, W) = output_size, x.shape[2:]
    return _max_pool_planes(x, OH, OW, *_max_taps(H, OH, *_ADAPTIVE_WINDOW, 1, True), 1,
                            *_max_taps(W, OW, *_ADAPTIVE_WINDOW, 1, True), 1)


def adaptive_max_pool2d_backward(grad_y, argmax, x_shape):
    return _route_to_argmax(np.ascontiguousarray(grad_y), np.ascontiguousarray(argmax, ARGMAX_DTYPE),
                            x_shape[2], x_shape[3])


# ---------------------------------------------------------------------------------------------
# Average pooling: window o along an axis covers input [lo[o], hi[o]) (already clipped to the
# input) and contributes the factor count[o] to the divisor count_h[oh] * count_w[ow]
# ---------------------------------------------------------------------------------------------

@njit(parallel=True, fastmath=True, cache=True)
def _avg_pool_forward(x, h_lo, h_hi, h_count, w_lo, w_hi, w_count, divisor_override):
    N, C, H, W = x.shape
    OH, OW = h_lo.shape[0], w_lo.shape[0]
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    for plane in prange(N * C):
        n = plane // C
        c = plane - n * C
        src = x[n, c]
        for oh in range(OH):
            for ow in range(OW):
                # A window lying wholly on padding sums nothing and gives 0, as in torch.
                total = x.dtype.type(0)
                for ih in range(h_lo[oh], h_hi[oh]):
                    for iw in range(w_lo[ow], w_hi[ow]):
                        total += src[ih, iw]
                divisor = divisor_override if divisor_override > 0 else h_count[oh] * w_count[ow]
                y[n, c, oh, ow] = total / x.dtype.type(max(divisor, 1))
    return y


@njit(parallel=True, fastmath=True, cache=True)
def _avg_pool_backward(grad_y, H, W, h_lo, h_hi, h_count, w_lo, w_hi, w_count, divisor_override):
    N, C, OH, OW = grad_y.shape
    grad_x = np.empty((N, C, H, W), dtype=grad_y.dtype)
    for plane in prange(N * C):
        n = plane // C
        c = plane - n * C
        dst = grad_x[n, c]
        dst[:, :] = grad_y.dtype.type(0)
        for oh in range(OH):
            for ow in range(OW):
                divisor = divisor_override if divisor_override > 0 else h_count[oh] * w_count[ow]
                share = grad_y[n, c, oh, ow] / grad_y.dtype.type(max(divisor, 1))
                for ih in range(h_lo[oh], h_hi[oh]):
                    for iw in range(w_lo[ow], w_hi[ow]):
                        dst[ih, iw] += share
    return grad_x


@njit(parallel=True, fastmath=True, cache=True)
def _avg_pool_2x2_forward(x, OH, OW, divisor):
    """kernel 2, stride 2, no padding (LeNet-5's and DenseNet's transitions): the generic kernel's
    two-tap window loops cost several times this unrolled sum."""
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    divisor = x.dtype.type(divisor)
    for plane in prange(N * C):
        n = plane // C
        c = plane - n * C
        src = x[n, c]
        for oh in range(OH):
            top, bottom = src[2 * oh], src[2 * oh + 1]
            y_row = y[n, c, oh]
            for ow in range(OW):
                y_row[ow] = (top[2 * ow] + top[2 * ow + 1] + bottom[2 * ow] + bottom[2 * ow + 1]) \
                    / divisor
    return y


@njit(parallel=True, fastmath=True, cache=True)
def _avg_pool_2x2_backward(grad_y, H, W, divisor):
    N, C, OH, OW = grad_y.shape
    grad_x = np.empty((N, C, H, W), dtype=grad_y.dtype)
    divisor = grad_y.dtype.type(divisor)
    for plane in prange(N * C):
        n = plane // C
        c = plane - n * C
        dst = grad_x[n, c]
        if 2 * OH < H or 2 * OW < W:  # an odd last row or column lies in no window
            dst[:, :] = grad_y.dtype.type(0)
        for oh in range(OH):
            g_row = grad_y[n, c, oh]
            for row in (dst[2 * oh], dst[2 * oh + 1]):
                for ow in range(OW):
                    share = g_row[ow] / divisor
                    row[2 * ow] = share
                    row[2 * ow + 1] = share
    return grad_x


@njit(cache=True)
def _avg_windows(size, cells, kernel, stride, padding, adaptive, count_include_pad):
    """Per output position along one axis: the inputs [lo, hi) it sums and its divisor's factor."""
    lo, hi = np.empty(cells, dtype=np.int64), np.empty(cells, dtype=np.int64)
    count = np.empty(cells, dtype=np.int64)
    for cell in range(cells):
        start, taps = _window(cell, size, cells, kernel, stride, padding, adaptive)
        lo[cell], hi[cell], count[cell] = _averaged_range(start, taps, size, padding,
                                                          count_include_pad)
    return lo, hi, count


def avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override):
    x = np.ascontiguousarray(x)
    _, _, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH = output_size(H, KH, sh, ph, 1, ceil_mode)
    OW = output_size(W, KW, sw, pw, 1, ceil_mode)
    if is_2x2_stride_2(kernel_size, stride, padding, OH, OW, H, W):
        return _avg_pool_2x2_forward(x, OH, OW, divisor_override or 4)
    return _avg_pool_forward(x, *_avg_windows(H, OH, KH, sh, ph, False, bool(count_include_pad)),
                             *_avg_windows(W, OW, KW, sw, pw, False, bool(count_include_pad)),
                             int(divisor_override or 0))


def avg_pool2d_backward(grad_y, x_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    # ceil_mode only decides the output size, which grad_y already has.
    grad_y = np.ascontiguousarray(grad_y)
    _, _, OH, OW = grad_y.shape
    _, _, H, W = x_shape
    (KH, KW), (sh, sw), (ph, pw) = kernel_size, stride, padding
    if is_2x2_stride_2(kernel_size, stride, padding, OH, OW, H, W):
        return _avg_pool_2x2_backward(grad_y, H, W, divisor_override or 4)
    return _avg_pool_backward(grad_y, H, W,
                              *_avg_windows(H, OH, KH, sh, ph, False, bool(count_include_pad)),
                              *_avg_windows(W, OW, KW, sw, pw, False, bool(count_include_pad)),
                              int(divisor_override or 0))


def adaptive_avg_pool2d_forward(x, output_size):
    x = np.ascontiguousarray(x)
    (OH, OW), (H, W) = output_size, x.shape[2:]
    return _avg_pool_forward(x, *_avg_windows(H, OH, *_ADAPTIVE_WINDOW, True, False),
                             *_avg_windows(W, OW, *_ADAPTIVE_WINDOW, True, False), 0)


def adaptive_avg_pool2d_backward(grad_y, x_shape):
    grad_y = np.ascontiguousarray(grad_y)
    (OH, OW), (H, W) = grad_y.shape[2:], x_shape[2:]
    return _avg_pool_backward(grad_y, H, W, *_avg_windows(H, OH, *_ADAPTIVE_WINDOW, True, False),
                              *_avg_windows(W, OW, *_ADAPTIVE_WINDOW, True, False), 0)
