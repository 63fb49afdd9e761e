"""ReLU forward and backward as one parallel one-pass kernel.

Both passes are `values where source > 0 else 0`: the forward pass with source = values = x, the
backward with source = the output y, values = grad_y (a NaN is neither <= 0 nor dropped: relu
keeps it and passes its gradient, as torch does). One kernel, one compile. NumPy's
`maximum(x, 0)` and `grad * (y > 0)` run on one thread, the backward in two passes (a mask, then
the product), so one pass on all the threads wins on large tensors. Below SMALL elements waking
the worker threads costs more than the pass, so NumPy does those.
"""
import numpy as np
from numba import njit, prange

SMALL = 1 << 16

# fastmath without "nnan": the NaN test below must stay.
NAN_KEEPING_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(parallel=True, fastmath=NAN_KEEPING_FASTMATH, cache=True)
def _where_not_positive_zero(source, values, out):
    zero = values.dtype.type(0)
    for i in prange(out.size):
        out[i] = zero if source[i] <= zero else values[i]


def _pass_positive(source, values):
    source, values = np.ascontiguousarray(source), np.ascontiguousarray(values)
    out = np.empty_like(values)
    _where_not_positive_zero(source.reshape(-1), values.reshape(-1), out.reshape(-1))
    return out


def relu_forward(x):
    if x.size < SMALL:
        return np.maximum(x, 0)
    return _pass_positive(x, x)


def relu_backward(grad_y, y):
    """The gradient of relu at its output y: zero where y <= 0, passed through elsewhere (NaN
    included, as in torch)."""
    if grad_y.size < SMALL:
        return np.where(y <= 0, grad_y.dtype.type(0), grad_y)
    return _pass_positive(y, grad_y)
