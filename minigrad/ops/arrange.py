"""Ops that cut tensors into pieces or arrange copies of them: unflatten, chunk, split, narrow,
tile, tril / triu and meshgrid. Pieces are basic-index views (their gradients scatter back)."""
import builtins

import numpy as np

from ..autograd import Function
from .dims import normalize_dim
from .indexing import getitem
from .registry import METHOD, TORCH, op
from .shape import expand, repeat, reshape


class Triangle(Function):
    """tril / triu of the last two dims (batched); the gradient keeps the same triangle."""

    def forward(self, x, diagonal=0, lower=True):
        self.diagonal, self.lower = diagonal, lower
        return self._mask(x)

    def _mask(self, x):
        return self.xp.tril(x, self.diagonal) if self.lower else self.xp.triu(x, self.diagonal)

    def backward(self, grad):
        return self._mask(grad)


def _along(input, dim, start, stop):
    """input[..., start:stop, ...] with the slice on `dim`."""
    return getitem(input, (slice(None),) * dim + (slice(start, stop),))


def _pieces(input, sizes, dim):
    """Consecutive views of `input` along `dim` with the given sizes."""
    bounds = np.cumsum([0] + list(sizes)).tolist()
    return tuple(_along(input, dim, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]))


def _int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    return int(value)


# ----- the public functions ----------------------------------------------------------------------
@op(TORCH, METHOD)
def unflatten(input, dim, sizes):
    dim = normalize_dim(dim, input.ndim)
    sizes = tuple(_int(s, "unflatten: sizes") for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    size = input.shape[dim] if input.ndim else 1
    inferred = [i for i, s in enumerate(sizes) if s == -1]
    known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if len(inferred) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred (sizes {list(sizes)})")
    if (inferred and (known == 0 or size % known)) or (not inferred and known != size):
        raise RuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size "
                           f"of dim {dim} ({size}) in the input tensor of shape {tuple(input.shape)}")
    shape = tuple(input.shape)
    return reshape(input, shape[:dim] + sizes + shape[dim + 1:])


@op(TORCH)
def split(tensor, split_size_or_sections, dim=0):
    if isinstance(split_size_or_sections, (list, tuple)):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    split_size = _int(split_size_or_sections, "split: split_size")
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = normalize_dim(dim, tensor.ndim)
    size = tensor.shape[dim]
    if split_size < 0 or (split_size == 0 and size != 0):
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {size} (split_size {split_size})")
    if size == 0:
        return (_along(tensor, dim, 0, 0),)
    full, rest = divmod(size, split_size)
    return _pieces(tensor, [split_size] * full + ([rest] if rest else []), dim)


@op(METHOD, name="split")
def split_method(self, split_size, dim=0):  # the method names its argument split_size
    return split(self, split_size, dim)


@op(TORCH, METHOD)
def split_with_sizes(input, split_sizes, dim=0):
    if input.ndim == 0:
        raise RuntimeError("split_with_sizes expects at least a 1-dimensional tensor")
    dim = normalize_dim(dim, input.ndim)
    sizes = [_int(s, "split_with_sizes: split_sizes") for s in split_sizes]
    if builtins.any(s < 0 for s in sizes) or builtins.sum(sizes) != input.shape[dim]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[dim]} (input tensor's size at dimension {dim}), but got "
                           f"split_sizes={sizes}")
    return _pieces(input, sizes, dim)


@op(TORCH, METHOD)
def chunk(input, chunks, dim=0):
    chunks = _int(chunks, "chunk: chunks")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = normalize_dim(dim, input.ndim)
    size = input.shape[dim]
    if size == 0:  # torch gives `chunks` empty pieces
        return _pieces(input, [0] * chunks, dim)
    return split(input, -(-size // chunks), dim)


@op(TORCH, METHOD)
def narrow(input, dim, start, length):
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if hasattr(start, "item"):  # torch accepts a 0-d integer tensor as the start
        if start.ndim != 0 or start.dtype.is_floating_point:
            raise RuntimeError(f"start must be a 0-dim integral Tensor, got shape "
                               f"{tuple(start.shape)} ({start.dtype})")
        start = start.item()
    dim = normalize_dim(dim, input.ndim)
    start, length = _int(start, "narrow: start"), _int(length, "narrow: length")
    size = input.shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got "
                         f"{start})")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}) "
                           f"of the tensor of shape {tuple(input.shape)}")
    return _along(input, dim, start, start + length)


@op(TORCH, METHOD)
def tile(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    dims = tuple(_int(d, "tile: dims") for d in dims)
    if builtins.any(d < 0 for d in dims):
        raise RuntimeError(f"Trying to create tensor with negative dimension: tile dims {list(dims)}")
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def _triangle(input, diagonal, lower):
    if input.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 "
                           f"dimensions, got shape {tuple(input.shape)}")
    return Triangle.apply(input, diagonal=_int(diagonal, "diagonal"), lower=lower)


@op(TORCH, METHOD)
def tril(input, diagonal=0):
    return _triangle(input, diagonal, lower=True)


@op(TORCH, METHOD)
def triu(input, diagonal=0):
    return _triangle(input, diagonal, lower=False)


@op(TORCH)
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: "
                         f"{indexing}")
    for number, tensor in enumerate(tensors):
        if tensor.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got "
                               f"a tensor of shape {tuple(tensor.shape)} at entry {number}")
        if tensor.dtype is not tensors[0].dtype:
            raise RuntimeError(f"torch.meshgrid: Expected all tensors in the tensor list to have the "
                               f"same dtype, got {tensors[0].dtype} and {tensor.dtype}")
    sizes = [tensor.numel() for tensor in tensors]
    # 'xy' is 'ij' with the first two axes swapped: the first tensor varies along columns
    swap = indexing == "xy" and len(tensors) >= 2
    order = [1, 0] + list(range(2, len(tensors))) if swap else list(range(len(tensors)))
    shape = tuple(sizes[i] for i in order)
    grids = []
    for number, tensor in enumerate(tensors):
        axis = order.index(number)
        view = [1] * len(tensors)
        view[axis] = sizes[number]
        grids.append(expand(reshape(tensor, tuple(view)), shape))
    return tuple(grids)
