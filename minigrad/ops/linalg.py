"""Matrix products."""
import numpy as np

from ..autograd import Function
from .dims import sum_to_shape
from .registry import METHOD, TORCH, op


class MatMul(Function):
    """torch.matmul: 1-D operands become a row (left) or a column (right) and are squeezed back."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        self.save_for_backward(a2, b2)
        out = self.kernels.matmul(a2, b2)
        if a.ndim == 1:
            out = out.reshape(out.shape[:-2] + out.shape[-1:])
        if b.ndim == 1:
            out = out.reshape(out.shape[:-1])
        return out

    def backward(self, grad):
        a2, b2 = self.saved_tensors
        shape_a, shape_b = self.shapes
        grad = grad.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                            + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = self.kernels.matmul(grad, self.xp.swapaxes(b2, -1, -2))
            grad_a = sum_to_shape(grad_a, a2.shape).reshape(shape_a)
        if self.needs_input_grad[1]:
            grad_b = self.kernels.matmul(self.xp.swapaxes(a2, -1, -2), grad)
            grad_b = sum_to_shape(grad_b, b2.shape).reshape(shape_b)
        return grad_a, grad_b


# ----- the public functions ----------------------------------------------------------------------
@op(TORCH, METHOD)
def matmul(input, other):
    a, b = input.shape, other.shape
    if len(a) == 0 or len(b) == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a)}D and {len(b)}D")
    inner_b = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner_b:
        if len(a) == 2 and len(b) == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({a[0]}x{a[1]} and {b[0]}x{b[1]})")
        raise RuntimeError(f"matmul: shapes {tuple(a)} and {tuple(b)} cannot be multiplied "
                           f"({a[-1]} != {inner_b})")
    try:
        np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    except ValueError:
        raise RuntimeError(f"matmul: the batch dimensions of shapes {tuple(a)} and {tuple(b)} "
                           "cannot be broadcast together") from None
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected both operands of matmul to have the same dtype, got "
                           f"{input.dtype} and {other.dtype}")
    return MatMul.apply(input, other)


@op(TORCH, METHOD)
def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm expects two matrices, got shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return matmul(input, mat2)
