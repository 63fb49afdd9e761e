"""Indexing: x[index] and x[index] = value, with integer and boolean tensors, and their gradients."""
import builtins

import numpy as np

from .. import autograd
from ..autograd import Function
from ..device import move
from .dims import sum_to_shape


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


# ----- the functions behind Tensor.__getitem__ and __setitem__ --------------------------------
def _array_index(index, backend):
    """An index with tensors and lists turned into arrays on the indexed tensor's device (a CPU index
    tensor may index a GPU tensor, as in torch) and boolean masks into integer arrays (NumPy's own
    meaning of a mask); also whether it is basic (slices and ints: a view)."""
    items = index if isinstance(index, tuple) else (index,)
    converted, basic = [], True
    for item in items:
        if isinstance(item, autograd.Tensor):
            item = move(item._data, backend)
        elif isinstance(item, (list, np.ndarray)):
            item = backend.xp.asarray(item)
        if hasattr(item, "dtype"):
            basic = False
            if item.dtype == np.bool_ and item.ndim > 0:
                converted.extend(item.nonzero())
                continue
            if item.dtype.kind not in "iu" and item.dtype != np.bool_:
                raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, "
                                 f"got {item.dtype}")
        converted.append(item)
    if basic and not builtins.any(item is Ellipsis for item in converted):
        converted.append(Ellipsis)  # keeps x[i] a 0-d view rather than a NumPy scalar copy
    return tuple(converted), basic


def _check_array_bounds(index, shape):
    """Integer index arrays against the dimensions they index. NumPy would raise by itself, but CuPy
    wraps such an index around silently, so the check is made here for both devices (on the GPU it
    costs one host sync per index array)."""
    consumed = builtins.sum(1 for item in index if item is not None and item is not Ellipsis)
    dim = 0
    for item in index:
        if item is Ellipsis:
            dim += len(shape) - consumed
            continue
        if item is None:
            continue
        if hasattr(item, "dtype") and item.size and dim < len(shape):
            size = shape[dim]
            bad = (item < -size) | (item >= size)
            if bool(bad.any()):
                raise IndexError(f"index {int(item[bad].reshape(-1)[0])} is out of bounds for "
                                 f"dimension {dim} with size {size}")
        dim += 1


def _device_index(input, index):
    index, basic = _array_index(index, input._backend)
    if not basic:
        _check_array_bounds(index, input.shape)
    return index, basic


def getitem(input, index):
    index, basic = _device_index(input, index)
    return GetItem.apply(input, index=index, basic=basic)


def setitem(input, index, value):
    index, basic = _device_index(input, index)
    return SetItem.apply(input, value, index=index, basic=basic)
