"""Ops that move elements around: reshape, permute, expand, repeat, cat; casts and copies."""
import builtins

import numpy as np

from ..device import backend, move
from ..autograd import Function
from ..dtypes import result_type
from .dims import dim_or_axis, normalize_dim, normalize_dims, sum_to_shape
from .registry import METHOD, TORCH, op


class Reshape(Function):
    torch_name = "View"
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


# ----- conversions and fills (the Tensor methods to(), fill_(), copy_() call these) --------------
def cast(input, dtype):
    return input if input.dtype is dtype else Cast.apply(input, dtype=dtype)


def to_device(input, device):
    return input if input.device == device else ToDevice.apply(input, device=device)


def full_like_value(input, value):
    return FullLike.apply(input, value=value)


def copy_into(input, source):
    return CopyInto.apply(input, source)


# ----- the public functions ----------------------------------------------------------------------
def _shape_arg(shape):
    """Sizes given as f(2, 3) or f((2, 3)) as one tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


@op(TORCH, METHOD)
@op(METHOD, name="view")
def reshape(input, *shape):
    shape, numel = _shape_arg(shape), input.numel()
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    resolved = list(shape)
    if len(unknown) > 1:
        raise RuntimeError(f"only one dimension can be inferred (shape {list(shape)})")
    if unknown and known != 0 and numel % known == 0:
        resolved[unknown[0]] = numel // known
    if builtins.any(s < 0 for s in resolved) or int(np.prod(resolved, dtype=np.int64)) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    if tuple(resolved) == tuple(input.shape):
        return input
    return Reshape.apply(input, shape=tuple(resolved))


@op(METHOD, aliases=("reshape_as",))
def view_as(input, other):
    return reshape(input, tuple(other.shape))


@op(TORCH, METHOD)
def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = normalize_dim(start_dim, input.ndim), normalize_dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError(f"flatten() has invalid args: start_dim {start_dim} cannot come after "
                           f"end_dim {end_dim}")
    shape = input.shape
    return reshape(input, tuple(shape[:start]) + (-1,) + tuple(shape[end + 1:]))


@op(TORCH, METHOD)
def squeeze(input, dim=None):
    dims = normalize_dims(dim, input.ndim)
    shape = [n for i, n in enumerate(input.shape) if not (i in dims and n == 1)]
    return reshape(input, tuple(shape))


@op(TORCH, METHOD)
def unsqueeze(input, dim):
    dim = normalize_dim(dim, input.ndim + 1)
    shape = list(input.shape)
    shape.insert(dim, 1)
    return reshape(input, tuple(shape))


@op(TORCH, METHOD)
def permute(input, *dims):
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the tensor's "
                           f"{input.ndim} dimensions (shape {tuple(input.shape)})")
    dims = tuple(normalize_dim(d, input.ndim) for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {dims} repeat a dim")
    return Permute.apply(input, dims=dims)


@op(TORCH, METHOD, aliases=("swapaxes", "swapdims"))
def transpose(input, dim0, dim1):
    if input.ndim < 2:
        return input
    dims = list(range(input.ndim))
    dim0, dim1 = normalize_dim(dim0, input.ndim), normalize_dim(dim1, input.ndim)
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(input, dims=tuple(dims))


@op(TORCH, METHOD)
def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1)


@op(METHOD)
def expand(input, *sizes):
    sizes, shape = _shape_arg(sizes), tuple(input.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({len(shape)})")
    padded = (1,) * (len(sizes) - len(shape)) + shape
    target = tuple(old if new == -1 else new for new, old in zip(sizes, padded))
    for i, (new, old) in enumerate(zip(target, padded)):
        if old != 1 and new != old:
            raise RuntimeError(f"The expanded size of the tensor ({new}) must match the existing size "
                               f"({old}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                               f"Tensor sizes: {list(shape)}")
    return Expand.apply(input, shape=target)


@op(METHOD)
def expand_as(input, other):
    return expand(input, tuple(other.shape))


@op(METHOD)
def repeat(input, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"Number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
                           f"than number of dimensions of tensor ({input.ndim})")
    return Repeat.apply(input, repeats=sizes)


@op(TORCH, METHOD)
def clone(input):
    return Copy.apply(input)


@op(METHOD)
def contiguous(input):
    return input if input._data.flags.c_contiguous else Copy.apply(input)


@op(TORCH, aliases=("concat", "concatenate"))
def cat(tensors, dim=0, *, axis=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat expects a non-empty list of tensors")
    first = tensors[0]
    dim = normalize_dim(dim_or_axis(dim, axis), first.ndim)
    for number, tensor in enumerate(tensors):
        if tensor.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and "
                               f"{tensor.ndim} (tensor number {number} in the list)")
        for d in range(first.ndim):
            if d != dim and tensor.shape[d] != first.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{first.shape[d]} but got size {tensor.shape[d]} for tensor number {number} in "
                    f"the list (shapes {[tuple(x.shape) for x in tensors]})")
    return Cat.apply(*tensors, dim=dim)


@op(TORCH)
def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty list of tensors")
    for number, tensor in enumerate(tensors):
        if tensor.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(tensor.shape)} at "
                               f"entry {number}")
    dim = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(x, dim) for x in tensors], dim)
