"""The logistic sigmoid of one float and its gradient, shared by the CPU and the CUDA kernels, which
each compile these rules (numba.njit / numba.cuda.jit(device=True)) and apply them to every element.
Below about -88 (float32) exp(-x) overflows to inf and 1 / inf is the limit, 0: no branch needed."""
import math


def sigmoid_rule(x, one):
    """one: 1 in the type the kernel computes in (an integer 1 would make Numba compute float32 in
    float64)."""
    return one / (one + math.exp(-x))


def sigmoid_backward_rule(grad_y, y, one):
    """The gradient of sigmoid at its output y."""
    return grad_y * y * (one - y)
