"""Direct (no im2col) stride-1 convolution for thin layers: few channels, where im2col's memory
passes cost far more than the arithmetic (LeNet: conv 1->6 k5 and 6->16 k5 at batch 256).

The trick that makes the inner loops long, contiguous and vectorisable: each (n, c) input plane is
copied into a zero-padded plane of row pitch Wp = W + 2 * pw, and the output plane is computed in
that same pitch ("wide" layout: OH rows of Wp, of which the first OW are real and the rest are
garbage that is never copied out). Output position p = oh * Wp + ow then reads input position
p + kh * dh * Wp + kw * dw for every p, so one tap of the kernel is one FMA loop over
L = (OH - 1) * Wp + OW consecutive elements:

  forward          y_wide[co]     += w[co, c, kh, kw] * x_pad[c, off:off + L]
  backward input   gx_pad[c, off:off + L] += w[co, c, kh, kw] * gy_wide[co]   (scatter, the
                                     garbage columns of gy_wide are zero so they add nothing)
  backward weight  gw[co, c, kh, kw] += dot(gy_wide[co], x_pad[c, off:off + L])

Every parallel iteration owns what it writes: one sample n in the forward and input-backward
passes; in the weight-backward pass one chunk of samples, which sums into its own partial gradient,
and the partials are added up at the end (a fixed number of chunks, so the result does not depend
on the thread count on machines with up to WEIGHT_CHUNKS threads).
"""
import numpy as np
from numba import njit, prange

WEIGHT_CHUNKS = 8


@njit(inline="always")
def _pad_plane(dst, src, ph, pw, Wp):
    """Copy the (H, W) plane src into the interior of the flat zero-bordered plane dst."""
    H, W = src.shape
    for h in range(H):
        row = dst[(h + ph) * Wp + pw:]
        line = src[h]
        for i in range(W):
            row[i] = line[i]


@njit(inline="always")
def _widen_plane(dst, src, Wp):
    """Copy the (OH, OW) plane src into the flat plane dst of row pitch Wp (other columns stay)."""
    OH, OW = src.shape
    for oh in range(OH):
        row = dst[oh * Wp:]
        line = src[oh]
        for i in range(OW):
            row[i] = line[i]


@njit(parallel=True, fastmath=True, cache=True)
def direct_forward(x, w, bias, ph, pw, dh, dw, OH, OW):
    N, C, H, W = x.shape
    C_out, _, KH, KW = w.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    L = (OH - 1) * Wp + OW
    y = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    for n in prange(N):
        x_pad = np.zeros((C, Hp * Wp), dtype=x.dtype)
        for c in range(C):
            _pad_plane(x_pad[c], x[n, c], ph, pw, Wp)
        acc = np.empty(L, dtype=x.dtype)
        for co in range(C_out):
            b = bias[co]
            for p in range(L):
                acc[p] = b
            for c in range(C):
                src = x_pad[c]
                for kh in range(KH):
                    for kw in range(KW):
                        weight = w[co, c, kh, kw]
                        tap = src[kh * dh * Wp + kw * dw:]
                        for p in range(L):
                            acc[p] += weight * tap[p]
            for oh in range(OH):
                row = acc[oh * Wp:]
                dst = y[n, co, oh]
                for i in range(OW):
                    dst[i] = row[i]
    return y


@njit(parallel=True, fastmath=True, cache=True)
def direct_backward_input(grad_y, w, H, W, ph, pw, dh, dw):
    N, C_out, OH, OW = grad_y.shape
    _, C, KH, KW = w.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    L = (OH - 1) * Wp + OW
    grad_x = np.empty((N, C, H, W), dtype=grad_y.dtype)
    zero = grad_y.dtype.type(0)
    for n in prange(N):
        gy_wide = np.zeros((C_out, OH * Wp), dtype=grad_y.dtype)
        for co in range(C_out):
            _widen_plane(gy_wide[co], grad_y[n, co], Wp)
        acc = np.empty(Hp * Wp, dtype=grad_y.dtype)
        for c in range(C):
            for p in range(Hp * Wp):
                acc[p] = zero
            for co in range(C_out):
                g = gy_wide[co]
                for kh in range(KH):
                    for kw in range(KW):
                        weight = w[co, c, kh, kw]
                        dst = acc[kh * dh * Wp + kw * dw:]
                        for p in range(L):
                            dst[p] += weight * g[p]
            for h in range(H):
                row = acc[(h + ph) * Wp + pw:]
                out = grad_x[n, c, h]
                for i in range(W):
                    out[i] = row[i]
    return grad_x


@njit(parallel=True, fastmath=True, cache=True)
def direct_backward_weight(grad_y, x, KH, KW, ph, pw, dh, dw, chunks):
    N, C_out, OH, OW = grad_y.shape
    _, C, H, W = x.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    L = (OH - 1) * Wp + OW
    partial = np.zeros((chunks, C_out, C, KH, KW), dtype=x.dtype)
    for chunk in prange(chunks):
        x_pad = np.zeros((C, Hp * Wp), dtype=x.dtype)
        gy_wide = np.zeros((C_out, OH * Wp), dtype=x.dtype)
        mine = partial[chunk]
        for n in range(chunk * N // chunks, (chunk + 1) * N // chunks):
            for c in range(C):
                _pad_plane(x_pad[c], x[n, c], ph, pw, Wp)
            for co in range(C_out):
                _widen_plane(gy_wide[co], grad_y[n, co], Wp)
            for co in range(C_out):
                g = gy_wide[co]
                for c in range(C):
                    src = x_pad[c]
                    for kh in range(KH):
                        for kw in range(KW):
                            tap = src[kh * dh * Wp + kw * dw:]
                            total = x.dtype.type(0)
                            for p in range(L):
                                total += g[p] * tap[p]
                            mine[co, c, kh, kw] += total
    grad_w = np.zeros((C_out, C, KH, KW), dtype=x.dtype)
    for chunk in range(chunks):
        grad_w += partial[chunk]
    return grad_w
