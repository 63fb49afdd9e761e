"""Fused training-mode batch normalisation of (N, C, H, W) over N, H and W (biased variance), as
torch.nn.functional.batch_norm(training=True); one parallel iteration per channel, which owns that
channel's slice of every output.

It pays in the backward pass, where the NumPy composition makes five full passes over the
activation: (32, 64, 32, 32) float32, 2 threads, 7.8 ms fused against 20.9 ms in NumPy; the forward
pass about ties (5.8 ms each). A fused softmax + cross-entropy was measured and dropped: at LeNet's
(256, 10) logits NumPy takes 0.03 ms, less than waking Numba's worker threads.

minigrad.ops.layers.BatchNorm uses these kernels in training mode (any ndim, viewed as (N, C, rest,
1)); with them and the padded-plane im2col (conv_per_sample.py) the d2l DenseNet step (batch 32,
2 threads) went 202 -> 111 ms and ResNet-18 276 -> 209 ms.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True)
def _batch_norm_forward(x, gamma, beta, eps):
    N, C, H, W = x.shape
    P = H * W
    count = x.dtype.type(N * P)
    y = np.empty_like(x)
    mean = np.empty(C, dtype=x.dtype)
    invstd = np.empty(C, dtype=x.dtype)
    for c in prange(C):
        # Two passes (mean, then squared deviations) stay accurate in float32 where the one-pass
        # E[x^2] - E[x]^2 would cancel; per-plane partial sums keep each float32 sum short.
        total = x.dtype.type(0)
        for n in range(N):
            plane = x[n, c].reshape(P)
            plane_total = x.dtype.type(0)
            for p in range(P):
                plane_total += plane[p]
            total += plane_total
        channel_mean = total / count
        squares = x.dtype.type(0)
        for n in range(N):
            plane = x[n, c].reshape(P)
            plane_squares = x.dtype.type(0)
            for p in range(P):
                deviation = plane[p] - channel_mean
                plane_squares += deviation * deviation
            squares += plane_squares
        channel_invstd = x.dtype.type(1) / np.sqrt(squares / count + eps)
        scale = gamma[c] * channel_invstd
        shift = beta[c] - channel_mean * scale
        for n in range(N):
            src = x[n, c].reshape(P)
            dst = y[n, c].reshape(P)
            for p in range(P):
                dst[p] = src[p] * scale + shift
        mean[c] = channel_mean
        invstd[c] = channel_invstd
    return y, mean, invstd


@njit(parallel=True, fastmath=True, cache=True)
def _batch_norm_backward(grad_y, x, gamma, mean, invstd):
    N, C, H, W = x.shape
    P = H * W
    count = x.dtype.type(N * P)
    grad_x = np.empty_like(x)
    grad_gamma = np.empty(C, dtype=x.dtype)
    grad_beta = np.empty(C, dtype=x.dtype)
    for c in prange(C):
        # grad_beta = sum(gy); grad_gamma = sum(gy * xhat), xhat = (x - mean) * invstd;
        # grad_x = gamma * invstd * (gy - grad_beta / M - xhat * grad_gamma / M).
        sum_grad = x.dtype.type(0)
        sum_grad_centered = x.dtype.type(0)
        for n in range(N):
            gy = grad_y[n, c].reshape(P)
            src = x[n, c].reshape(P)
            plane_grad = x.dtype.type(0)
            plane_grad_centered = x.dtype.type(0)
            for p in range(P):
                plane_grad += gy[p]
                plane_grad_centered += gy[p] * (src[p] - mean[c])
            sum_grad += plane_grad
            sum_grad_centered += plane_grad_centered
        grad_beta[c] = sum_grad
        grad_gamma[c] = sum_grad_centered * invstd[c]
        scale = gamma[c] * invstd[c]
        mean_grad = sum_grad / count
        centered_factor = sum_grad_centered * invstd[c] * invstd[c] / count
        for n in range(N):
            gy = grad_y[n, c].reshape(P)
            src = x[n, c].reshape(P)
            dst = grad_x[n, c].reshape(P)
            for p in range(P):
                dst[p] = scale * (gy[p] - mean_grad - (src[p] - mean[c]) * centered_factor)
    return grad_x, grad_gamma, grad_beta


def batch_norm_forward(x, gamma, beta, eps):
    x = np.ascontiguousarray(x)
    return _batch_norm_forward(x, np.ascontiguousarray(gamma, x.dtype),
                               np.ascontiguousarray(beta, x.dtype), x.dtype.type(eps))


def batch_norm_backward(grad_y, x, gamma, mean, invstd):
    grad_y = np.ascontiguousarray(grad_y)
    dtype = grad_y.dtype
    return _batch_norm_backward(grad_y, np.ascontiguousarray(x, dtype),
                                np.ascontiguousarray(gamma, dtype), np.ascontiguousarray(mean, dtype),
                                np.ascontiguousarray(invstd, dtype))
