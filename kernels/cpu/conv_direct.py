"""Direct (no im2col) stride-1 convolution for thin layers: few channels, where im2col's memory
passes cost far more than the arithmetic (LeNet: conv 1->6 k5 and 6->16 k5 at batch 256).

The trick that makes the inner loops long, contiguous and vectorisable: the (n, c) input planes are
copied into zero-padded planes of row pitch Wp = W + 2 * pw, and the output planes are computed in
that same pitch ("wide" layout: OH rows of Wp, of which the first OW are real and the rest are
garbage that is never copied out). Output position p = oh * Wp + ow then reads input position
p + kh * dh * Wp + kw * dw for every p, so one tap of the kernel is one FMA loop over
L = (OH - 1) * Wp + OW consecutive positions.

Short planes are woven together, 8 samples at a time (`lanes`): position p of sample s lives at
p * lanes + s, so a tap's loop covers L * lanes floats of all those samples at once. LeNet's
14x14 planes give loops of only 17 AVX2 vectors per sample, too short for the loop set-up to
vanish (on 28x28 and larger planes it does); eight samples woven together make it 136.

One FMA loop per tap is bound by the accumulator's load and store, not by the FMAs (one store per
8 multiply-adds). _correlate therefore fuses a group of 5 (or 3, or 1) taps of a kernel row and two
output channels into one pass: per 8 floats 5 input loads, 2 accumulator loads and stores, 10 FMAs.

  forward          y_wide[co]  = b[co] + sum w[co, c, kh, kw] * x_pad[c, off:off + L]
  backward input   the same correlation, run on grad_y laid out in the input's pitch Wp (its
                   garbage columns and the rows around it zero: the full-correlation border) with
                   the kernel flipped and its channel axes swapped: a gather, no scatter. Kernel
                   rows skip the output rows that would only read that border.
  backward weight  gw[co, c, kh, kw] += dot(gy_wide[co], x_pad[c, off:off + L]), ten dot products
                   (2 channels x 5 taps) per pass over the woven planes.
  backward bias    the sum of the woven grad_y (zero outside the planes).

Both passes are one kernel (_conv_part): weave a source, correlate it with a kernel, and in the
backward pass add the weight and bias products from the same woven grad_y. The forward pass
weaves x and correlates it with w; the backward pass weaves grad_y once for all three gradients.
Behind a 2 x 2 max pooling (pooled from the accumulators) the backward pass weaves the pooled
gradient through the forward pass's argmax: the convolution's output gradient is never written,
as its output was not. One kernel compiles its loops once, and one launcher runs both passes.
It is serial, run in parts on the threads by parallel.run_parts (a prange loop around this much
code compiled for longer than the rest of a LeNet step). Every part owns what it writes: a range of woven sample groups in
the forward pass; one chunk of groups in the backward pass, which writes those samples' input
gradient and sums their weight and bias gradients into its own partials, added up at the end.
The lane count depends on the batch only and the chunk count is fixed, so the result does not
depend on the thread count on machines with up to WEIGHT_CHUNKS threads.

_correlate is inlined into the kernel and its scratch arrays are allocated inside it: called as a
compiled function, or handed its scratch as arguments, the passes ran slower for a shorter
compile (README, Start-up). _weave_plane and _unweave, plain copies, are compiled once.
"""
import numpy as np
from numba import get_num_threads, njit

from .parallel import NoAliasArguments, run_parts
from .pool import (ARGMAX_DTYPE, FINITE_FREE_FASTMATH as POOL_FASTMATH, window_max,
                   window_row, window_scan)

WEIGHT_CHUNKS = 8
VECTOR = 8  # float32 lanes of an AVX2 register: the unit the wide planes are rounded up to
MAX_LANES = 8  # samples woven into one plane
SHORT_PLANE = 512  # floats in a padded plane below which samples are woven


def lanes_for(N, H, W, ph, pw):
    """Samples woven per plane: 8 for short planes (LeNet's 14x14), 1 for longer ones, whose loops
    are long enough and where a woven plane's strided copy-out costs more than it gains (LeNet's
    padded 28x28); never so many that fewer than WEIGHT_CHUNKS groups are left to share among the
    threads."""
    if (H + 2 * ph) * (W + 2 * pw) >= SHORT_PLANE:
        return 1
    return max(1, min(MAX_LANES, N // WEIGHT_CHUNKS))


@njit(fastmath=True, cache=True)
def _weave_plane(dst, src, offset, Wp, lanes, lane):
    """dst[(offset + h * Wp + w) * lanes + lane] = src[h, w]."""
    H, W = src.shape
    for h in range(H):
        row = dst[(offset + h * Wp) * lanes + lane:]
        line = src[h]
        if lanes == 1:  # contiguous: a vectorised copy
            for i in range(W):
                row[i] = line[i]
        else:
            for i in range(W):
                row[i * lanes] = line[i]


@njit(fastmath=True, cache=True)
def _unweave(out, co, src, Wp, lanes):
    """out[s, co, h, w] = src[(h * Wp + w) * lanes + s] for each woven sample s."""
    count, _, H, W = out.shape
    if lanes == 1:  # contiguous rows: vectorised copies
        for h in range(H):
            row = src[h * Wp:]
            line = out[0, co, h]
            for i in range(W):
                line[i] = row[i]
    else:  # flat indices: a view per short row cost more than its copy
        for s in range(count):
            for h in range(H):
                start = h * Wp * lanes + s
                for i in range(W):
                    out[s, co, h, i] = src[start + i * lanes]


@njit(fastmath=POOL_FASTMATH, cache=True)
def _pool_unweave(y, argmax, co, src, Wp, lanes, OW):
    """y[s, co, i, j] = max(0, the largest of the woven plane's 2 x 2 window at (2i, 2j)) and
    argmax[s, co, i, j] its flat index into the OH x OW plane, for each woven sample s, as
    relu_max_pool2d_forward computes them from the unwoven plane."""
    count, _, PH, PW = y.shape
    zero = src.dtype.type(0)
    down = Wp * lanes
    for i in range(PH):
        if lanes == 1:  # the window's columns along the row: j innermost
            top_row, bottom_row = src[2 * i * Wp:], src[(2 * i + 1) * Wp:]
            window_row(top_row, bottom_row, y[0, co, i], argmax[0, co, i], PW, 2 * i * OW, OW,
                       zero)
            continue
        for j in range(PW):  # the woven samples innermost
            at = (2 * i * Wp + 2 * j) * lanes
            start = np.int32(2 * i * OW + 2 * j)
            nan_seen = False
            for s in range(count):
                best, index, nan = window_max(src[at + s], src[at + lanes + s], src[at + down + s],
                                               src[at + down + lanes + s], start, OW)
                y[s, co, i, j] = zero if best <= zero else best
                argmax[s, co, i, j] = index
                nan_seen |= nan
            if nan_seen:
                for s in range(count):
                    best, index = window_scan(src[at + s], src[at + lanes + s],
                                               src[at + down + s], src[at + down + lanes + s],
                                               start, OW)
                    y[s, co, i, j] = zero if best <= zero else best
                    argmax[s, co, i, j] = index


def _round_up_py(length):
    return (length + VECTOR - 1) // VECTOR * VECTOR


_round_up = njit(inline="always")(_round_up_py)


@njit(inline="always")
def _fma5(a0, a1, s, d, u, v, n):
    """a0[p] += sum_k u[k] * s[p + k * d] and a1[p] += sum_k v[k] * s[p + k * d], k < 5."""
    u0, u1, u2, u3, u4 = u[0], u[1], u[2], u[3], u[4]
    v0, v1, v2, v3, v4 = v[0], v[1], v[2], v[3], v[4]
    s0, s1, s2, s3, s4 = s, s[d:], s[2 * d:], s[3 * d:], s[4 * d:]
    for p in range(n):
        x0, x1, x2, x3, x4 = s0[p], s1[p], s2[p], s3[p], s4[p]
        a0[p] += u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3 + u4 * x4
        a1[p] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4

@njit(inline="always")
def _fma3(a0, a1, s, d, u, v, n):
    u0, u1, u2 = u[0], u[1], u[2]
    v0, v1, v2 = v[0], v[1], v[2]
    s0, s1, s2 = s, s[d:], s[2 * d:]
    for p in range(n):
        x0, x1, x2 = s0[p], s1[p], s2[p]
        a0[p] += u0 * x0 + u1 * x1 + u2 * x2
        a1[p] += v0 * x0 + v1 * x1 + v2 * x2

@njit(inline="always")
def _fma1(a0, a1, s, u, v, n):
    u0 = u[0]
    v0 = v[0]
    for p in range(n):
        x0 = s[p]
        a0[p] += u0 * x0
        a1[p] += v0 * x0

@njit(inline="always")
def _live_span(live_lo, live_hi, offset, taps_width, L):
    """The output floats [lo, hi) whose taps at offset .. offset + taps_width - 1 can read a
    source float in [live_lo, live_hi) (everything else reads zeros), widened to whole vectors."""
    lo = max(0, live_lo - offset - taps_width + 1) // VECTOR * VECTOR
    hi = min(L, _round_up(max(0, live_hi - offset)))
    return lo, max(lo, hi)


@njit(inline="always")
def _correlate(src, start, live_lo, live_hi, wk, bias, Wp, dh, dw, lanes, L, acc, out, pool,
               pooled, argmax, OW):
    """out[s, co, oh, ow] = bias[co] + sum over (c, kh, kw) of wk[co, c, kh, kw] *
    src[c, (start + oh * Wp + ow + kh * dh * Wp + kw * dw) * lanes + s] for the woven samples
    s < len(out): output channels in pairs, the taps of a kernel row in groups of 5 / 3 / 1 fused
    into one pass over L floats. Source positions outside [live_lo, live_hi) are zero padding.
    With `pool`, out is not written: its relu_max_pool2d over 2 x 2 windows goes to pooled and
    argmax instead."""
    C_out, C, KH, KW = wk.shape
    a0 = acc[0]
    a1 = acc[1]
    for co0 in range(0, C_out, 2):
        co1 = min(co0 + 1, C_out - 1)  # an odd last channel is computed twice, written twice
        b0, b1 = bias[co0], bias[co1]
        for p in range(L):
            a0[p] = b0
            a1[p] = b1
        for c in range(C):
            for kh in range(KH):
                offset = (start + kh * dh * Wp) * lanes
                row = src[c, offset:]
                u = wk[co0, c, kh]
                v = wk[co1, c, kh]
                kw = 0
                while kw + 5 <= KW:
                    first = kw * dw * lanes
                    lo, hi = _live_span(live_lo * lanes, live_hi * lanes, offset + first,
                                        4 * dw * lanes + 1, L)
                    _fma5(a0[lo:], a1[lo:], row[first + lo:], dw * lanes, u[kw:], v[kw:], hi - lo)
                    kw += 5
                while kw + 3 <= KW:
                    first = kw * dw * lanes
                    lo, hi = _live_span(live_lo * lanes, live_hi * lanes, offset + first,
                                        2 * dw * lanes + 1, L)
                    _fma3(a0[lo:], a1[lo:], row[first + lo:], dw * lanes, u[kw:], v[kw:], hi - lo)
                    kw += 3
                while kw < KW:
                    first = kw * dw * lanes
                    lo, hi = _live_span(live_lo * lanes, live_hi * lanes, offset + first, 1, L)
                    _fma1(a0[lo:], a1[lo:], row[first + lo:], u[kw:], v[kw:], hi - lo)
                    kw += 1
        if pool:
            _pool_unweave(pooled, argmax, co0, a0, Wp, lanes, OW)
            _pool_unweave(pooled, argmax, co1, a1, Wp, lanes, OW)
        else:
            _unweave(out, co0, a0, Wp, lanes)
            _unweave(out, co1, a1, Wp, lanes)


@njit(inline="always")
def _dot5(g0, g1, s, d, n, out0, out1):
    """out0[k] += dot(g0, s[k * d:]) and out1[k] += dot(g1, s[k * d:]) over n elements, k < 5."""
    s0, s1, s2, s3, s4 = s, s[d:], s[2 * d:], s[3 * d:], s[4 * d:]
    z = g0.dtype.type(0)
    t00 = t01 = t02 = t03 = t04 = z
    t10 = t11 = t12 = t13 = t14 = z
    for p in range(n):
        a, b = g0[p], g1[p]
        x0, x1, x2, x3, x4 = s0[p], s1[p], s2[p], s3[p], s4[p]
        t00 += a * x0
        t01 += a * x1
        t02 += a * x2
        t03 += a * x3
        t04 += a * x4
        t10 += b * x0
        t11 += b * x1
        t12 += b * x2
        t13 += b * x3
        t14 += b * x4
    out0[0] += t00
    out0[1] += t01
    out0[2] += t02
    out0[3] += t03
    out0[4] += t04
    out1[0] += t10
    out1[1] += t11
    out1[2] += t12
    out1[3] += t13
    out1[4] += t14


@njit(inline="always")
def _dot1(g0, g1, s, n, out0, out1):
    z = g0.dtype.type(0)
    t0 = t1 = z
    for p in range(n):
        x0 = s[p]
        t0 += g0[p] * x0
        t1 += g1[p] * x0
    out0[0] += t0
    out1[0] += t1


@njit(inline="always")
def _add_weight_products(g_wide, shift, x_pad, KH, KW, dh, dw, Wp, lanes, L, grad_w):
    """grad_w[co, c, kh, kw] += dot(gy_wide[co], x_pad[c, (kh * dh * Wp + kw * dw) * lanes:]) over
    L floats, where gy_wide[co] = g_wide[co, shift:]: two output channels and five taps per pass."""
    for co0 in range(0, g_wide.shape[0], 2):
        g0 = g_wide[co0, shift:]
        g1 = g_wide[co0 + 1, shift:]
        for c in range(x_pad.shape[0]):
            src = x_pad[c]
            for kh in range(KH):
                row = src[kh * dh * Wp * lanes:]
                out0 = grad_w[co0, c, kh]
                out1 = grad_w[co0 + 1, c, kh]
                kw = 0
                while kw + 5 <= KW:
                    _dot5(g0, g1, row[kw * dw * lanes:], dw * lanes, L, out0[kw:], out1[kw:])
                    kw += 5
                while kw < KW:
                    _dot1(g0, g1, row[kw * dw * lanes:], L, out0[kw:], out1[kw:])
                    kw += 1


@njit(inline="always")
def _route_group(s_wide, grad, y, argmax, n0, count, lead, Wp, lanes, H, W):
    """The woven H x W planes of relu_max_pool2d_backward(grad, y, argmax) for the samples n0 ..
    n0 + count - 1: the planes' rows zeroed, then each pooled output's gradient added where its
    argmax points (none where y <= 0), without the unpooled gradient ever being written."""
    C, PH, PW = grad.shape[1:]
    zero = s_wide.dtype.type(0)
    for c in range(C):
        plane = s_wide[c]
        for h in range(H):
            start = (lead + h * Wp) * lanes
            plane[start:start + W * lanes] = zero
        for s in range(count):
            for i in range(PH):
                for j in range(PW):
                    index = argmax[n0 + s, c, i, j]
                    if 0 <= index < H * W and not y[n0 + s, c, i, j] <= zero:
                        row = index // W
                        plane[(lead + row * Wp + index - row * W) * lanes + s] += \
                            grad[n0 + s, c, i, j]


@njit(fastmath=True, cache=True, pipeline_class=NoAliasArguments)
def _conv_part(part, parts, src, src_lead, src_row, kernel, bias, start, Wp, dh, dw, lanes, L_out,
               out, x, x_lead, x_row, L_weight, need_out, need_weight, need_bias, partial_w,
               partial_b, pool, routed, pooled, argmax, H_src, W_src):
    """Part `part` of `parts` of the woven sample groups, for either pass: src's H_src x W_src
    planes woven `src_lead` positions into rows of src_row floats in pitch Wp, correlated with
    `kernel` (plus bias) into out when need_out; x's planes woven x_lead positions into rows of
    x_row floats for the weight products, and the bias gradient, summed into partial_w[part] and
    partial_b[part].
    The forward pass: src = x, kernel = w; with `pool` it writes relu_max_pool2d's (y, argmax) of
    its output over 2 x 2 windows to pooled and argmax, not out. The backward pass: src = grad_y,
    kernel = the flipped w, out = grad_x; when `routed`, src is relu_max_pool2d's output gradient,
    routed into the woven planes through its (pooled, argmax). One kernel for both: its loops are
    compiled once, and launched by one launcher."""
    (N, C_src), OW = src.shape[:2], out.shape[3]
    KH, KW = kernel.shape[2], kernel.shape[3]
    groups = (N + lanes - 1) // lanes
    grad_w, grad_b = partial_w[part], partial_b[part]
    # scratch allocated here, not passed in: LLVM then knows it aliases no argument
    s_wide = np.empty(((C_src + 1) // 2 * 2, _round_up(src_row) + VECTOR), dtype=src.dtype)
    x_pad = np.empty((x.shape[1] if need_weight else 0, x_row + VECTOR), dtype=x.dtype)
    acc = np.empty((2, L_out), dtype=src.dtype)
    grad_w[...] = 0
    grad_b[...] = 0
    s_wide[...] = 0
    x_pad[...] = 0
    for group in range(part * groups // parts, (part + 1) * groups // parts):
        n0 = group * lanes
        count = min(lanes, N - n0)
        if count < lanes:  # the last, partial group: lanes past the batch must hold zeros
            s_wide[...] = 0
            x_pad[...] = 0
        if routed:
            _route_group(s_wide, src, pooled, argmax, n0, count, src_lead, Wp, lanes, H_src,
                         W_src)
        for s in range(count):
            if not routed:
                for c in range(C_src):
                    _weave_plane(s_wide[c], src[n0 + s, c], src_lead, Wp, lanes, s)
            for c in range(x_pad.shape[0]):
                _weave_plane(x_pad[c], x[n0 + s, c], x_lead, Wp, lanes, s)
        if need_out:
            _correlate(s_wide, start, src_lead, src_lead + H_src * Wp, kernel, bias, Wp, dh, dw,
                       lanes, L_out, acc, out[n0:n0 + count], pool, pooled[n0:n0 + count],
                       argmax[n0:n0 + count], OW)
        if need_weight:
            _add_weight_products(s_wide, src_lead * lanes, x_pad, KH, KW, dh, dw, Wp, lanes,
                                 L_weight, grad_w)
        if need_bias:  # zeros around the woven planes
            for c in range(C_src):
                grad_b[c] += np.sum(s_wide[c, src_lead * lanes:(src_lead + H_src * Wp) * lanes])


def _no_pooling(dtype):
    return np.empty((0, 0, 0, 0), dtype=dtype), np.empty((0, 0, 0, 0), dtype=ARGMAX_DTYPE)


def direct_forward(x, w, bias, ph, pw, dh, dw, OH, OW, lanes, pool=False):
    """y (N, C_out, OH, OW), or with `pool` relu_max_pool2d_forward's (y, argmax) of it over 2 x 2
    windows, computed from the woven planes (the convolution's output is never written)."""
    N, C, H, W = x.shape
    C_out = w.shape[0]
    Wp = W + 2 * pw
    groups = (N + lanes - 1) // lanes
    parts = max(1, min(groups, get_num_threads()))
    y = np.empty((0 if pool else N, C_out, OH, OW), dtype=x.dtype)
    if pool:
        pooled = np.empty((N, C_out, OH // 2, OW // 2), dtype=x.dtype)
        argmax = np.empty(pooled.shape, dtype=ARGMAX_DTYPE)
    else:
        pooled, argmax = _no_pooling(x.dtype)
    run_parts(_conv_part, parts, x, ph * Wp + pw, (H + 2 * ph) * Wp * lanes, w, bias, 0, Wp, dh,
              dw, lanes, _round_up_py(((OH - 1) * Wp + OW) * lanes), y, x, 0, 0, 0, True, False,
              False, np.empty((parts, 0, C) + w.shape[2:], dtype=x.dtype),
              np.empty((parts, 0), dtype=x.dtype), bool(pool), False, pooled, argmax, H, W)
    return (pooled, argmax) if pool else y


def direct_backward(grad_y, x, w, H, W, ph, pw, dh, dw, lanes, chunks, need_input, need_weight,
                    need_bias, pooled=None):
    """The gradients of direct_forward for input, weight and bias (those asked for; the others come
    back empty), from one weave of grad_y in the input's pitch Wp: its columns OW..Wp-1 (dw *
    (KW - 1) of them) and the `base` positions before it are the zero border of the input
    gradient's full correlation, and from its start on it is the weight gradient's gy_wide. x is
    read only for the weight gradient. With `pooled`, direct_forward's (y, argmax) with `pool`,
    grad_y is the gradient of that y, routed through argmax as it is woven."""
    _, C, KH, KW = w.shape
    N, C_out = grad_y.shape[:2]
    OH, OW = H + 2 * ph - dh * (KH - 1), W + 2 * pw - dw * (KW - 1)
    dtype = grad_y.dtype
    Hp, Wp = H + 2 * ph, W + 2 * pw
    flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    base = (KH - 1) * dh * Wp + (KW - 1) * dw
    # grad_y starts `lead` positions into its rows: after the input gradient's border, on a vector
    # boundary where the lane count allows (aligned loads in the weight products). Without the
    # input gradient, no border: LeNet's first layer's rows then fit in L1.
    lead = base + (-(base * lanes)) % VECTOR // lanes if need_input else 0
    row = (lead + Hp * Wp if need_input else OH * Wp) * lanes
    grad_x = np.empty((N if need_input else 0, C, H, W), dtype=dtype)
    partial_w = np.empty((chunks, (C_out + 1) // 2 * 2, C, KH, KW), dtype=dtype)
    partial_b = np.empty((chunks, C_out), dtype=dtype)
    run_parts(_conv_part, chunks, grad_y, lead, row, flipped, np.zeros(C, dtype=dtype),
              ph * Wp + pw + lead - base, Wp, dh, dw, lanes, _round_up_py(((H - 1) * Wp + W) * lanes),
              grad_x, x, ph * Wp + pw, Hp * Wp * lanes, _round_up_py(((OH - 1) * Wp + OW) * lanes),
              bool(need_input), bool(need_weight), bool(need_bias), partial_w, partial_b, False,
              pooled is not None, *(_no_pooling(dtype) if pooled is None else pooled), OH, OW)
    # the partials summed chunk by chunk, in order
    grad_w = partial_w.sum(axis=0)[:C_out] if need_weight else partial_w[0, :0]
    grad_b = partial_b.sum(axis=0) if need_bias else partial_b[0, :0]
    return grad_x, grad_w, grad_b
