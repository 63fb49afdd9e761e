"""ReLU forward and backward on the GPU, as the CPU table's: the output keeps a NaN, and the gradient
passes where the output is NaN (as in torch). The forward pass is one CuPy elementwise call; the
backward pass is a kernel, because CuPy's where() and its comparison are two calls, and one launch
here costs the host less than those two."""
from numba import cuda

from .runtime import launch, xp


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
