"""ReLU and sigmoid forward and backward on the GPU, as the CPU table's.

ReLU: the output keeps a NaN, and the gradient passes where the output is NaN (as in torch). The
forward pass is one CuPy elementwise call; the backward pass is a kernel, because CuPy's where() and
its comparison are two calls, and one launch here costs the host less than those two.
Sigmoid: the rules of kernels/sigmoid_rule.py as device functions, one launch per pass."""
from numba import cuda

from ..sigmoid_rule import sigmoid_backward_rule, sigmoid_rule
from .runtime import launch, xp

_sigmoid = cuda.jit(device=True)(sigmoid_rule)
_sigmoid_backward = cuda.jit(device=True)(sigmoid_backward_rule)


def relu_forward(x):
    return xp.maximum(x, x.dtype.type(0))  # maximum propagates NaN


@cuda.jit(cache=True)
def _relu_backward(grad_y, y, grad_x):
    for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
        grad_x[i] = 0 if y[i] <= 0 else grad_y[i]


def relu_backward(grad_y, y):
    """The gradient of relu at its output y: zero where y <= 0, passed through elsewhere."""
    grad_x = xp.empty(y.shape, dtype=grad_y.dtype)
    launch(_relu_backward, y.size, xp.ascontiguousarray(grad_y).reshape(-1),
           xp.ascontiguousarray(y).reshape(-1), grad_x.reshape(-1))
    return grad_x


@cuda.jit(cache=True)
def _sigmoid_flat(x, y):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        y[i] = _sigmoid(x[i], 1.0)  # in float64: a float32 one would need a typed argument


@cuda.jit(cache=True)
def _sigmoid_backward_flat(grad_y, y, grad_x):
    for i in range(cuda.grid(1), y.size, cuda.gridsize(1)):
        grad_x[i] = _sigmoid_backward(grad_y[i], y[i], 1.0)


def sigmoid_forward(x):
    y = xp.empty(x.shape, x.dtype)
    launch(_sigmoid_flat, x.size, xp.ascontiguousarray(x).reshape(-1), y.reshape(-1))
    return y


def sigmoid_backward(grad_y, y):
    """The gradient of sigmoid at its output y."""
    grad_x = xp.empty(y.shape, dtype=grad_y.dtype)
    launch(_sigmoid_backward_flat, y.size, xp.ascontiguousarray(grad_y).reshape(-1),
           xp.ascontiguousarray(y).reshape(-1), grad_x.reshape(-1))
    return grad_x
