"""Ops that move elements around: reshape, permute, expand, repeat, cat, indexing, casts, matmul."""
import numpy as np

from ..device import backend, move
from ..autograd import Function
from ..dtypes import result_type
from .dims import sum_to_shape


class Reshape(Function):
    is_view = True

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    is_view = True

    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return self.xp.transpose(x, dims)

    def backward(self, grad):
        return self.xp.transpose(grad, self.inverse)


class Expand(Function):
    is_view = True

    def forward(self, x, shape):
        self.shape = x.shape
        if x.size == int(np.prod(shape)):  # nothing repeats: a plain (writable) view, as in torch
            return x.reshape(shape)
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return sum_to_shape(grad, self.shape)


class Repeat(Function):
    def forward(self, x, repeats):
        self.x_shape, self.repeats = x.shape, repeats
        self.shape = (1,) * (len(repeats) - x.ndim) + x.shape
        return self.xp.tile(x, repeats)

    def backward(self, grad):
        interleaved = [n for pair in zip(self.repeats, self.shape) for n in pair]
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return summed.reshape(self.x_shape)


class Copy(Function):
    """clone() and contiguous(): a new C-contiguous storage with the same values."""

    def forward(self, x):
        return self.xp.array(x, copy=True, order="C")

    def backward(self, grad):
        return grad


class Cast(Function):
    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype.np)

    def backward(self, grad):
        return grad.astype(self.dtype) if self.dtype.kind == "f" else None


class ToDevice(Function):
    def forward(self, x, device):
        self.source = self.backend
        self.backend = backend(device)
        return move(x, self.backend)

    def backward(self, grad):
        return move(grad, self.source)


class Cat(Function):
    def forward(self, *arrays, dim=0):
        self.dim, self.dtypes = dim, [a.dtype for a in arrays]
        self.sizes = np.cumsum([a.shape[dim] for a in arrays])[:-1].tolist()  # host ints for xp.split
        dtype = result_type(*arrays)
        return self.xp.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=dim)

    def backward(self, grad):
        parts = self.xp.split(grad, self.sizes, axis=self.dim)
        return tuple(p.astype(d, copy=False) if needed else None
                     for p, d, needed in zip(parts, self.dtypes, self.needs_input_grad))


class GetItem(Function):
    is_view = True

    def forward(self, x, index, basic):
        self.index, self.basic, self.shape, self.dtype = index, basic, x.shape, x.dtype
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(str(error).replace("axis", "dimension")) from None

    def backward(self, grad):
        full = self.xp.zeros(self.shape, self.dtype)
        if self.basic:
            full[self.index] = grad
        else:  # repeated indices must add up
            self.xp.add.at(full, self.index, grad)
        return full


class SetItem(Function):
    """x[index] = value, written into x's own storage (the caller bumps x's version)."""

    def forward(self, x, value, index, basic):
        self.index = index
        self.value_meta = getattr(value, "shape", ()), getattr(value, "dtype", None)
        try:
            x[index] = value
        except IndexError as error:
            raise IndexError(str(error).replace("axis", "dimension")) from None
        except ValueError:
            raise RuntimeError(f"shape mismatch: value of shape {tuple(self.value_meta[0])} cannot be "
                               f"broadcast to indexing result of shape {x[index].shape}") from None
        return x

    def backward(self, grad):
        grad_x = grad_value = None
        if self.needs_input_grad[0]:
            grad_x = grad.copy()
            grad_x[self.index] = 0
        if self.needs_input_grad[1]:
            shape, dtype = self.value_meta
            grad_value = sum_to_shape(grad[self.index], shape).astype(dtype, copy=False)
        return grad_x, grad_value


class FullLike(Function):
    """The tensor's shape and dtype filled with a value: fill_() and zero_() cut the history."""

    def forward(self, x, value):
        return self.xp.full_like(x, value)

    def backward(self, grad):
        return None


class CopyInto(Function):
    """copy_(source): the source broadcast to the destination's shape and dtype."""

    def forward(self, destination, source):
        self.meta = getattr(source, "shape", ()), getattr(source, "dtype", None)
        try:
            source = self.xp.asarray(source)  # a host array or scalar copied into a GPU tensor
            return self.xp.broadcast_to(source, destination.shape).astype(destination.dtype)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {tuple(self.meta[0])} cannot be broadcast to "
                               f"the destination shape {tuple(destination.shape)}") from None

    def backward(self, grad):
        shape, dtype = self.meta
        return None, sum_to_shape(grad, shape).astype(dtype, copy=False)


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
