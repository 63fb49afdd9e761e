"""Training-mode batch normalisation of (N, C, H, W) over N, H and W (biased variance), as
torch.nn.functional.batch_norm(training=True): the CPU table's batch_norm_forward/backward, written
as xp reductions and elementwise expressions. On a GPU these are CuPy's reduction and elementwise
kernels (a few full passes over the activation, each bandwidth-bound); the per-channel loops of the
CPU kernels would leave most of a GPU idle at ResNet's 64-512 channels.
"""
from .runtime import xp

_AXES = (0, 2, 3)


def _per_channel(values):
    return values.reshape(1, -1, 1, 1)


def batch_norm_forward(x, gamma, beta, eps):
    x = xp.ascontiguousarray(x)
    dtype = x.dtype
    mean = x.mean(axis=_AXES)
    # Two passes (the mean, then squared deviations) stay accurate in float32, where the one-pass
    # E[x^2] - E[x]^2 would cancel.
    centered = x - _per_channel(mean)
    variance = (centered * centered).mean(axis=_AXES)
    invstd = (1 / xp.sqrt(variance + dtype.type(eps))).astype(dtype, copy=False)
    scale = xp.asarray(gamma, dtype=dtype) * invstd
    y = centered * _per_channel(scale) + _per_channel(xp.asarray(beta, dtype=dtype))
    return y, mean, invstd


def batch_norm_backward(grad_y, x, gamma, mean, invstd):
    grad_y = xp.ascontiguousarray(grad_y)
    dtype = grad_y.dtype
    count = dtype.type(x.size // x.shape[1])
    centered = xp.asarray(x, dtype=dtype) - _per_channel(xp.asarray(mean, dtype=dtype))
    invstd = xp.asarray(invstd, dtype=dtype)
    # grad_beta = sum(gy); grad_gamma = sum(gy * xhat), xhat = (x - mean) * invstd;
    # grad_x = gamma * invstd * (gy - grad_beta / M - xhat * grad_gamma / M).
    grad_beta = grad_y.sum(axis=_AXES)
    sum_grad_centered = (grad_y * centered).sum(axis=_AXES)
    grad_gamma = sum_grad_centered * invstd
    scale = xp.asarray(gamma, dtype=dtype) * invstd
    centered_factor = sum_grad_centered * invstd * invstd / count
    grad_x = _per_channel(scale) * (grad_y - _per_channel(grad_beta / count)
                                    - centered * _per_channel(centered_factor))
    return grad_x, grad_gamma, grad_beta
