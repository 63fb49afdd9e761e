"""Softmax cross-entropy on the GPU, as the CPU table's: the rules of kernels/cross_entropy_rule.py
as device functions, one launch per pass (a thread per row forward, per element backward) where
the CuPy composition took a dozen calls."""
from numba import cuda

from ..cross_entropy_rule import cross_entropy_grad_element, cross_entropy_row
from .runtime import launch, xp

_row = cuda.jit(device=True)(cross_entropy_row)
_grad_element = cuda.jit(device=True)(cross_entropy_grad_element)


@cuda.jit(cache=True)
def _forward(logits, target, scale, losses, lse):
    for row in range(cuda.grid(1), logits.shape[0], cuda.gridsize(1)):
        _row(logits, target, scale, losses, lse, row)


@cuda.jit(cache=True)
def _backward(grad, logits, lse, target, scale, grad_logits):
    classes = logits.shape[1]
    for i in range(cuda.grid(1), logits.size, cuda.gridsize(1)):
        row = i // classes
        _grad_element(grad, logits, lse, target, scale, grad_logits, row, i - row * classes)


# The kernels index by row and column, so any strides do: no copies, and no calls to make them;
# but the mean's gradient arrives broadcast and read-only, which the simulator cannot take.
def cross_entropy_forward(logits, target, scale):
    losses = xp.empty(logits.shape[0], logits.dtype)
    lse = xp.empty_like(losses)
    launch(_forward, logits.shape[0], logits, target, scale, losses, lse)
    return losses, lse


def cross_entropy_backward(grad, logits, lse, target, scale):
    grad_logits = xp.empty(logits.shape, logits.dtype)
    launch(_backward, logits.size, xp.ascontiguousarray(grad), logits, lse, target, scale, grad_logits)
    return grad_logits
