"""Fused training-mode batch normalisation of (N, C, H, W) over N, H and W (biased variance), as
torch.nn.functional.batch_norm(training=True), optionally followed by a ReLU (nn.Sequential's
BatchNorm2d, ReLU: DenseNet's blocks) in the same passes; one parallel iteration per channel,
which owns that channel's slice of every output.

It pays in the backward pass, where the NumPy composition makes five full passes over the
activation; the forward pass about ties.

minigrad.ops.layers.BatchNorm uses these kernels in training mode (any ndim, viewed as (N, C, rest,
1)). The channels' planes are indexed as one flat (N, C, H * W) array, not a reshaped view per
plane: on small planes making the views cost more than the arithmetic.
"""
import numpy as np
from numba import njit, prange

from .activation import NAN_KEEPING_FASTMATH


@njit(inline="always")
def channel_sum(x, c):
    """The sum of channel c of x (N, C, P), plane by plane: shorter float32 sums lose less to
    rounding."""
    N, _, P = x.shape
    total = x.dtype.type(0)
    for n in range(N):
        plane_total = x.dtype.type(0)
        for p in range(P):
            plane_total += x[n, c, p]
        total += plane_total
    return total


@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _batch_norm_forward(x, gamma, beta, eps, running_mean, running_var, momentum, relu):
    """x: (N, C, P), each channel's planes flattened (no per-plane views inside the loops: at
    DenseNet's 2x2 and 4x4 planes those cost more than the arithmetic). Running statistics of
    size 0 are not updated. With `relu`, outputs <= 0 become 0 (a NaN stays: no "nnan")."""
    N, C, P = x.shape
    count = x.dtype.type(N * P)
    y = np.empty_like(x)
    mean = np.empty(C, dtype=x.dtype)
    invstd = np.empty(C, dtype=x.dtype)
    for c in prange(C):
        # Two passes (mean, then squared deviations) stay accurate in float32 where the one-pass
        # E[x^2] - E[x]^2 would cancel; per-plane partial sums keep each float32 sum short.
        channel_mean = channel_sum(x, c) / count
        squares = x.dtype.type(0)
        for n in range(N):
            plane_squares = x.dtype.type(0)
            for p in range(P):
                deviation = x[n, c, p] - channel_mean
                plane_squares += deviation * deviation
            squares += plane_squares
        channel_invstd = x.dtype.type(1) / np.sqrt(squares / count + eps)
        scale = gamma[c] * channel_invstd
        shift = beta[c] - channel_mean * scale
        zero = x.dtype.type(0)
        for n in range(N):
            for p in range(P):
                value = x[n, c, p] * scale + shift
                y[n, c, p] = zero if relu and value <= zero else value
        mean[c] = channel_mean
        invstd[c] = channel_invstd
        if running_mean.size:
            running_mean[c] = (1 - momentum) * running_mean[c] + momentum * channel_mean
            unbiased_variance = squares / max(N * P - 1, 1)  # what torch keeps
            running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased_variance
    return y, mean, invstd


@njit(inline="always")
def _gradient(grad_y, y, relu, n, c, p):
    """grad_y[n, c, p], or with `relu` zero where the output y <= 0 (a NaN output passes it)."""
    return grad_y.dtype.type(0) if relu and y[n, c, p] <= 0 else grad_y[n, c, p]


@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _batch_norm_backward(grad_y, x, gamma, mean, invstd, y, relu):
    N, C, P = x.shape
    count = x.dtype.type(N * P)
    grad_x = np.empty_like(x)
    grad_gamma = np.empty(C, dtype=x.dtype)
    grad_beta = np.empty(C, dtype=x.dtype)
    for c in prange(C):
        # grad_beta = sum(gy); grad_gamma = sum(gy * xhat), xhat = (x - mean) * invstd;
        # grad_x = gamma * invstd * (gy - grad_beta / M - xhat * grad_gamma / M).
        sum_grad = x.dtype.type(0)
        sum_grad_centered = x.dtype.type(0)
        channel_mean = mean[c]
        for n in range(N):
            plane_grad = x.dtype.type(0)
            plane_grad_centered = x.dtype.type(0)
            for p in range(P):
                gy = _gradient(grad_y, y, relu, n, c, p)
                plane_grad += gy
                plane_grad_centered += gy * (x[n, c, p] - channel_mean)
            sum_grad += plane_grad
            sum_grad_centered += plane_grad_centered
        grad_beta[c] = sum_grad
        grad_gamma[c] = sum_grad_centered * invstd[c]
        scale = gamma[c] * invstd[c]
        mean_grad = sum_grad / count
        centered_factor = sum_grad_centered * invstd[c] * invstd[c] / count
        for n in range(N):
            for p in range(P):
                grad_x[n, c, p] = scale * (_gradient(grad_y, y, relu, n, c, p) - mean_grad
                                           - (x[n, c, p] - channel_mean) * centered_factor)
    return grad_x, grad_gamma, grad_beta


def _flat(array, dtype=None):
    array = np.ascontiguousarray(array, dtype)
    return array.reshape(array.shape[0], array.shape[1], -1)


def batch_norm_forward(x, gamma, beta, eps, running_mean=None, running_var=None, momentum=0.0,
                       relu=False):
    """(y, mean, invstd) of the batch; running_mean and running_var (both arrays, or both None) are
    updated in place, as torch does in training: r = (1 - momentum) * r + momentum * statistic,
    the variance unbiased."""
    x3 = _flat(x)
    if running_mean is None:  # nothing to update: the kernel skips statistics of size 0
        running_mean = running_var = np.empty(0, x3.dtype)
    y, mean, invstd = _batch_norm_forward(
        x3, np.ascontiguousarray(gamma, x3.dtype), np.ascontiguousarray(beta, x3.dtype),
        x3.dtype.type(eps), running_mean, running_var, x3.dtype.type(momentum), bool(relu))
    return y.reshape(x.shape), mean, invstd


def batch_norm_backward(grad_y, x, gamma, mean, invstd, y=None):
    dtype = grad_y.dtype
    grad_y3 = _flat(grad_y)
    grad_x, grad_gamma, grad_beta = _batch_norm_backward(
        grad_y3, _flat(x, dtype), np.ascontiguousarray(gamma, dtype),
        np.ascontiguousarray(mean, dtype), np.ascontiguousarray(invstd, dtype),
        grad_y3 if y is None else _flat(y, dtype), y is not None)
    return grad_x.reshape(grad_y.shape), grad_gamma, grad_beta
