"""Training-mode batch normalisation of (N, C, H, W) over N, H and W (biased variance), as
torch.nn.functional.batch_norm(training=True): the CPU table's batch_norm_forward/backward.

Three kernels a pass. Each channel's N * H * W values are split into `chunks` strided slices; one
thread per (channel, chunk) summarises its slice (forward: count, mean and sum of squared
deviations, by Welford's update; backward: the sums of grad_y and grad_y * (x - mean)), in float64;
one thread per channel merges its chunks (Chan's formula for the variance); then one thread per
element writes y or grad_x. No shared memory or barriers, so the simulator runs them quickly too.
Written as CuPy expressions, the same math took about 25 CuPy calls a layer, which cost more of the
host's time than the GPU spent on the data.
"""
import math

from numba import cuda

from .runtime import launch, unravel, xp

_VALUES_PER_THREAD = 64  # a (channel, chunk) thread's share, about


def _chunks(channels, count):
    """How many strided slices each channel's `count` values are split into: enough threads to
    fill a GPU (about 64K), none with much less than _VALUES_PER_THREAD values."""
    return max(1, min(count // _VALUES_PER_THREAD, 65536 // max(channels, 1)))


@cuda.jit(cache=True)
def _partial_statistics(x, counts, means, squares):
    """Thread (c, s) takes channel c's values s, s + S, s + 2S, ... (S chunks): their count, mean
    and sum of squared deviations from that mean."""
    N, C, P = x.shape
    S = counts.shape[1]
    for index in range(cuda.grid(1), C * S, cuda.gridsize(1)):
        c = index // S
        s = index - c * S
        k, mean, square = 0, 0.0, 0.0
        for i in range(s, N * P, S):
            n = i // P
            value = x[n, c, i - n * P]
            k += 1
            delta = value - mean
            mean += delta / k
            square += delta * (value - mean)
        counts[c, s], means[c, s], squares[c, s] = k, mean, square


@cuda.jit(cache=True)
def _statistics(counts, means, squares, eps, mean, invstd, running_mean, running_var, momentum):
    """Channel c's mean and 1 / sqrt(variance + eps), from its chunks' summaries; running
    statistics (unless of size 0) move towards the mean and the unbiased variance, as torch's."""
    C, S = counts.shape
    for c in range(cuda.grid(1), C, cuda.gridsize(1)):
        k, channel_mean, square = 0.0, 0.0, 0.0
        for s in range(S):
            k_s = counts[c, s]
            if k_s == 0:
                continue
            total = k + k_s
            delta = means[c, s] - channel_mean
            channel_mean += delta * k_s / total
            square += squares[c, s] + delta * delta * k * k_s / total
            k = total
        mean[c] = channel_mean
        invstd[c] = 1.0 / math.sqrt(square / k + eps)
        if running_mean.size:
            running_mean[c] = (1 - momentum) * running_mean[c] + momentum * channel_mean
            running_var[c] = (1 - momentum) * running_var[c] + momentum * square / max(k - 1, 1)


@cuda.jit(cache=True)
def _normalize(x, mean, invstd, gamma, beta, relu, y):
    """y = the normalised x, with `relu` 0 where that is <= 0 (a NaN stays)."""
    _, C, P = x.shape
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        n, c, p = unravel(index, C, P)
        value = (x[n, c, p] - mean[c]) * (gamma[c] * invstd[c]) + beta[c]
        y[n, c, p] = 0 if relu and value <= 0 else value


@cuda.jit(device=True)
def _gradient(grad_y, y, relu, n, c, p):
    """grad_y[n, c, p], or with `relu` zero where the output y <= 0 (a NaN output passes it)."""
    return 0 if relu and y[n, c, p] <= 0 else grad_y[n, c, p]


@cuda.jit(cache=True)
def _partial_gradient_sums(grad_y, x, mean, y, relu, sums, deviation_sums):
    """Thread (c, s): the sums of grad_y and grad_y * (x - mean) over channel c's chunk s (grad_y
    masked by relu's output y with `relu`)."""
    N, C, P = x.shape
    S = sums.shape[1]
    for index in range(cuda.grid(1), C * S, cuda.gridsize(1)):
        c = index // S
        s = index - c * S
        total, deviation_total = 0.0, 0.0
        for i in range(s, N * P, S):
            n = i // P
            g = _gradient(grad_y, y, relu, n, c, i - n * P)
            total += g
            deviation_total += g * (x[n, c, i - n * P] - mean[c])
        sums[c, s], deviation_sums[c, s] = total, deviation_total


@cuda.jit(cache=True)
def _gradient_sums(sums, deviation_sums, invstd, grad_gamma, grad_beta):
    """grad_beta[c] = sum(grad_y); grad_gamma[c] = sum(grad_y * (x - mean)) * invstd[c]."""
    C, S = sums.shape
    for c in range(cuda.grid(1), C, cuda.gridsize(1)):
        total, deviation_total = 0.0, 0.0
        for s in range(S):
            total += sums[c, s]
            deviation_total += deviation_sums[c, s]
        grad_beta[c] = total
        grad_gamma[c] = deviation_total * invstd[c]


@cuda.jit(cache=True)
def _grad_input(grad_y, x, mean, invstd, gamma, grad_gamma, grad_beta, y, relu, grad_x):
    """grad_x = gamma * invstd * (gy - (grad_beta + xhat * grad_gamma) / M), xhat the normalised
    x and M = N * H * W."""
    N, C, P = x.shape
    count = N * P
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        n, c, p = unravel(index, C, P)
        xhat = (x[n, c, p] - mean[c]) * invstd[c]
        grad_x[n, c, p] = gamma[c] * invstd[c] * (
            _gradient(grad_y, y, relu, n, c, p) - (grad_beta[c] + xhat * grad_gamma[c]) / count)


def _flat(array, dtype):
    """(N, C, H, W) as a C-contiguous (N, C, H * W) array of `dtype`."""
    array = xp.ascontiguousarray(array, dtype=dtype)
    return array.reshape(array.shape[0], array.shape[1], -1)


def batch_norm_forward(x, gamma, beta, eps, running_mean=None, running_var=None, momentum=0.0,
                       relu=False):
    """As the CPU table's: running_mean and running_var (both arrays, or both None) updated in
    place."""
    dtype = x.dtype
    x3 = _flat(x, dtype)
    N, C, P = x3.shape
    S = _chunks(C, N * P)
    counts = xp.empty((C, S), dtype=xp.int64)
    means, squares = xp.empty((C, S), dtype=xp.float64), xp.empty((C, S), dtype=xp.float64)
    launch(_partial_statistics, C * S, x3, counts, means, squares)
    mean, invstd = xp.empty(C, dtype=dtype), xp.empty(C, dtype=dtype)
    if running_mean is None:  # nothing to update: the kernel skips statistics of size 0
        running_mean = running_var = xp.empty(0, dtype=dtype)
    launch(_statistics, C, counts, means, squares, float(eps), mean, invstd, running_mean,
           running_var, float(momentum))
    y = xp.empty_like(x3)
    launch(_normalize, x3.size, x3, mean, invstd, xp.ascontiguousarray(gamma, dtype=dtype),
           xp.ascontiguousarray(beta, dtype=dtype), bool(relu), y)
    return y.reshape(x.shape), mean, invstd


def batch_norm_backward(grad_y, x, gamma, mean, invstd, y=None):
    dtype = grad_y.dtype
    grad_y3, x3 = _flat(grad_y, dtype), _flat(x, dtype)
    relu = y is not None
    y3 = _flat(y, dtype) if relu else grad_y3
    N, C, P = x3.shape
    S = _chunks(C, N * P)
    mean, invstd = xp.ascontiguousarray(mean, dtype=dtype), xp.ascontiguousarray(invstd, dtype=dtype)
    sums, deviation_sums = xp.empty((C, S), dtype=xp.float64), xp.empty((C, S), dtype=xp.float64)
    launch(_partial_gradient_sums, C * S, grad_y3, x3, mean, y3, relu, sums, deviation_sums)
    grad_gamma, grad_beta = xp.empty(C, dtype=dtype), xp.empty(C, dtype=dtype)
    launch(_gradient_sums, C, sums, deviation_sums, invstd, grad_gamma, grad_beta)
    grad_x = xp.empty_like(x3)
    launch(_grad_input, x3.size, grad_y3, x3, mean, invstd, xp.ascontiguousarray(gamma, dtype=dtype),
           grad_gamma, grad_beta, y3, relu, grad_x)
    return grad_x.reshape(grad_y.shape), grad_gamma, grad_beta
