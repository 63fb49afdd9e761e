"""Ops that pick or rearrange elements: flip, roll, rot90; gather, scatter, scatter_add,
index_select, take_along_dim, masked_fill; each with its gradient."""
import builtins
import numbers

import numpy as np

from .. import autograd
from ..autograd import Function
from .dims import normalize_dim, normalize_dims, sum_to_shape
from .registry import METHOD, TORCH, op, register
from .shape import expand, reshape


class Flip(Function):
    def forward(self, x, axes):
        self.axes = axes
        return self.xp.flip(x, axes).copy()  # torch's flip copies: the result never aliases x

    def backward(self, grad):
        return self.xp.flip(grad, self.axes)


class Roll(Function):
    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(x, shifts, axes)

    def backward(self, grad):
        return self.xp.roll(grad, tuple(-s for s in self.shifts), self.axes)


class Rot90(Function):
    def forward(self, x, k, axes):
        self.k, self.axes = k, axes
        return self.xp.rot90(x, k, axes).copy()

    def backward(self, grad):
        return self.xp.rot90(grad, -self.k, self.axes)


def _along(xp, index, dim):
    """The advanced index that picks, at each position of `index`, the element it names along
    `dim`, the other coordinates being the position's own."""
    return tuple(index if d == dim else
                 xp.arange(n).reshape([-1 if k == d else 1 for k in range(index.ndim)])
                 for d, n in enumerate(index.shape))


def _leading(array, shape):
    """The leading block of `array` of the given shape (scatter reads only that much of src)."""
    return array[tuple(slice(0, n) for n in shape)]


class Gather(Function):
    """out[i][j] = x[index[i][j]][j] (for dim 0); the gradient adds back into the picked places."""

    def forward(self, x, index, dim):
        self.dim, self.shape = dim, x.shape
        self.save_for_backward(index)
        return x[_along(self.xp, index, dim)]

    def backward(self, grad):
        index, = self.saved_tensors
        full = self.xp.zeros(self.shape, grad.dtype)
        self.xp.add.at(full, _along(self.xp, index, self.dim), grad)  # repeated indices add up
        return full, None


class Scatter(Function):
    """x with src (a tensor or a number) written at `index` along dim; with `add`, added there."""

    def forward(self, x, index, src, dim, add):
        xp = self.xp
        self.dim, self.add, self.src_shape = dim, add, getattr(src, "shape", None)
        self.save_for_backward(index)
        where = _along(xp, index, dim)
        if self.src_shape is not None:
            src = _leading(src, index.shape)
        out = x.copy()
        if add:
            xp.add.at(out, where, src)
        else:
            out[where] = src
        return out

    def backward(self, grad):
        index, = self.saved_tensors
        xp = self.xp
        where = _along(xp, index, self.dim)
        grad_x = grad_src = None
        if self.needs_input_grad[0]:
            grad_x = grad if self.add else grad.copy()
            if not self.add:
                grad_x[where] = 0  # overwritten places do not reach the output
        if self.needs_input_grad[2]:
            grad_src = xp.zeros(self.src_shape, grad.dtype)
            _leading(grad_src, index.shape)[...] = grad[where]
        return grad_x, None, grad_src


class IndexSelect(Function):
    def forward(self, x, index, dim):
        self.dim, self.shape = dim, x.shape
        self.save_for_backward(index)
        return self.xp.take(x, index, axis=dim)

    def backward(self, grad):
        index, = self.saved_tensors
        full = self.xp.zeros(self.shape, grad.dtype)
        self.xp.add.at(full, (slice(None),) * self.dim + (index,), grad)
        return full, None


class MaskedFill(Function):
    """x where mask is False, value where it is True (broadcast together); value a number or a
    0-d array, cast to x's dtype."""

    def forward(self, x, mask, value):
        xp = self.xp
        self.x_shape = x.shape
        self.value_dtype = getattr(value, "dtype", None)
        self.save_for_backward(mask)
        try:
            out, mask = xp.broadcast_arrays(x, mask)
        except ValueError:
            raise RuntimeError(f"masked_fill: mask of shape {tuple(mask.shape)} cannot be "
                               f"broadcast to the input's shape {tuple(x.shape)}") from None
        return xp.where(mask, xp.asarray(value).astype(x.dtype), out)

    def backward(self, grad):
        mask, = self.saved_tensors
        zero = grad.dtype.type(0)
        grad_x = grad_value = None
        if self.needs_input_grad[0]:
            grad_x = sum_to_shape(self.xp.where(mask, zero, grad), self.x_shape)
        if self.needs_input_grad[2]:
            grad_value = self.xp.where(mask, grad, zero).sum().astype(self.value_dtype)
        return grad_x, None, grad_value


# ----- argument checks ---------------------------------------------------------------------------
def _dims_arg(dims):
    """dims given as f(x, 0, 1), f(x, (0, 1)) or f(x, [0, 1]) as one tuple."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


def _check_index_dtype(name, index):
    if not isinstance(index, autograd.Tensor):
        raise TypeError(f"{name}(): index must be a Tensor, got {type(index).__name__}")
    if index.dtype.name not in ("int32", "int64"):
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index, got {index.dtype}")


def _out_of_bounds(index, size, negative=False):
    """The first index outside [0, size) (or [-size, size) where negatives count from the end),
    or None; one host sync on the GPU, as CuPy would otherwise read out of bounds silently."""
    data = index._data
    bad = (data < (-size if negative else 0)) | (data >= size)
    return int(data[bad].reshape(-1)[0]) if data.size and bool(bad.any()) else None


def _check_bounds(index, size, dim, negative=False):
    bad = _out_of_bounds(index, size, negative)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_same_ndim(name, index, other, what):
    if index.ndim != builtins.max(other.ndim, 1) and not (index.ndim == 0 and other.ndim <= 1):
        raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions as "
                           f"{what} tensor (index shape {tuple(index.shape)}, {what} shape "
                           f"{tuple(other.shape)})")


def _as_1d(tensor):
    """0-d tensors index and are indexed as if 1-d (torch's rule for gather and scatter)."""
    return reshape(tensor, 1) if tensor.ndim == 0 else tensor


def _check_gather_sizes(name, index, input, dim):
    for d, (n, limit) in enumerate(zip(index.shape, input.shape)):
        if d != dim and n > limit:
            raise RuntimeError(f"{name}(): Size does not match at dimension {d}: expected index "
                               f"{tuple(index.shape)} to be no larger than self "
                               f"{tuple(input.shape)} apart from dimension {dim}")


# ----- the public functions ----------------------------------------------------------------------
@op(TORCH)
def flip(input, dims):
    if isinstance(dims, int):
        raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not {type(dims).__name__}")
    axes = normalize_dims(dims, input.ndim)
    return Flip.apply(input, axes=axes)


@op(METHOD, name="flip")
def flip_method(input, *dims):
    """Tensor.flip(0, 1) or Tensor.flip((0, 1))."""
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    return flip(input, _dims_arg(dims))


@op(TORCH, METHOD)
def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d (got shape {tuple(input.shape)})")
    return flip(input, (1,))


@op(TORCH, METHOD)
def flipud(input):
    if input.ndim < 1:
        raise RuntimeError(f"flipud: Input must be >= 1-d (got shape {tuple(input.shape)})")
    return flip(input, (0,))


@op(TORCH, METHOD)
def roll(input, shifts, dims=None):
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = () if dims is None else tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if not shifts:
        raise RuntimeError("roll: `shifts` required")
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims: 0")
        return reshape(roll(reshape(input, -1), shifts, 0), tuple(input.shape))
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    if input.ndim == 0:
        raise IndexError("roll: Dimension specified as 0 but tensor has no dimensions")
    axes = tuple(normalize_dim(d, input.ndim) for d in dims)
    return Roll.apply(input, shifts=tuple(int(s) for s in shifts), axes=axes)


@op(TORCH, METHOD)
def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    axes = tuple(normalize_dim(d, input.ndim) for d in dims)
    if axes[0] == axes[1]:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = "
                           f"{dims[0]} and dim1 = {dims[1]}")
    return Rot90.apply(input, k=int(k) % 4, axes=axes)


@op(TORCH, METHOD)
def gather(input, dim, index, *, sparse_grad=False):
    dim = normalize_dim(dim, input.ndim)
    if isinstance(index, autograd.Tensor) and index.numel() == 0:  # torch checks nothing else
        return reshape(reshape(input, -1)[:0], tuple(index.shape))
    _check_index_dtype("gather", index)
    _check_same_ndim("gather", index, input, "input")
    _check_gather_sizes("gather", _as_1d(index), _as_1d(input), dim)
    _check_bounds(index, _as_1d(input).shape[dim], dim)
    out = Gather.apply(_as_1d(input), _as_1d(index), dim=dim)
    return reshape(out, tuple(index.shape))


def _scatter(name, input, dim, index, src, add):
    _check_index_dtype(name, index)
    dim = normalize_dim(dim, input.ndim)
    is_tensor = isinstance(src, autograd.Tensor)
    if is_tensor and src.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype (got "
                           f"{input.dtype} and {src.dtype})")
    if not is_tensor and not isinstance(src, numbers.Number):
        raise TypeError(f"{name}(): src must be a Tensor or a number, got {type(src).__name__}")
    if index.numel() == 0:
        return input.clone()
    _check_same_ndim(name, index, input, "self")
    target, index_1d = _as_1d(input), _as_1d(index)
    if is_tensor:
        _check_same_ndim(name, index, src, "src")
        src = _as_1d(src)
        for d, (n, limit) in enumerate(zip(index_1d.shape, src.shape)):
            if n > limit:
                raise RuntimeError(f"{name}(): Expected index {tuple(index.shape)} to be no larger "
                                   f"size than src {tuple(src.shape)} at dimension {d}")
    _check_gather_sizes(name, index_1d, target, dim)
    _check_bounds(index, target.shape[dim], dim)
    out = Scatter.apply(target, index_1d, src, dim=dim, add=add)
    return reshape(out, tuple(input.shape))


@op(TORCH, METHOD)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if reduce is not None:
        raise NotImplementedError("scatter(): reduce= is not supported; use scatter_add")
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src (a tensor or a number) and value")
    return _scatter("scatter", input, dim, index, value if src is None else src, add=False)


@op(TORCH, METHOD)
def scatter_add(input, dim, index, src):
    if not isinstance(src, autograd.Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    return _scatter("scatter_add", input, dim, index, src, add=True)


register(lambda self, *args, **kwargs: self._inplace(scatter, *args, **kwargs), METHOD,
         name="scatter_")
register(lambda self, *args, **kwargs: self._inplace(scatter_add, *args, **kwargs), METHOD,
         name="scatter_add_")


@op(TORCH, METHOD)
def index_select(input, dim, index):
    _check_index_dtype("index_select", index)
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape "
                         f"{tuple(index.shape)}")
    dim = normalize_dim(dim, input.ndim)
    size = _as_1d(input).shape[dim]
    bad = _out_of_bounds(index, size)
    if bad is not None:
        raise IndexError(f"index_select(): index {bad} out of range in self (dimension {dim} has "
                         f"size {size})")
    if input.ndim == 0:
        return reshape(IndexSelect.apply(reshape(input, 1), _as_1d(index), dim=0), ())
    return IndexSelect.apply(input, reshape(index, -1), dim=dim)


@op(TORCH, METHOD)
def take_along_dim(input, indices, dim=None):
    if not isinstance(indices, autograd.Tensor) or indices.dtype.name != "int64":
        raise RuntimeError(f"take_along_dim(): dtype of indices should be Long but got "
                           f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if dim is None:  # the flattened form, where torch counts no index from the end
        input, indices = reshape(input, -1), reshape(indices, -1)
        _check_bounds(indices, input.numel(), 0)
        return Gather.apply(input, indices, dim=0)
    if input.ndim != indices.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input.ndim} dimensions for input, and "
                           f"{indices.ndim} dimensions for indices")
    dim = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return reshape(take_along_dim(reshape(input, 1), reshape(indices, 1), 0), ())
    # every dim but `dim` broadcasts between input and indices
    try:
        shape = np.broadcast_shapes(*(tuple(1 if d == dim else n for d, n in enumerate(t.shape))
                                      for t in (input, indices)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): input {tuple(input.shape)} and indices "
                           f"{tuple(indices.shape)} cannot be broadcast apart from dimension "
                           f"{dim}") from None
    size = input.shape[dim]
    _check_bounds(indices, size, dim, negative=True)
    input = expand(input, tuple(size if d == dim else n for d, n in enumerate(shape)))
    indices = expand(indices, tuple(indices.shape[dim] if d == dim else n
                                    for d, n in enumerate(shape)))
    return Gather.apply(input, indices % builtins.max(size, 1), dim=dim)


def _fill_value(input, value):
    """masked_fill's value: a number that fits input's dtype, or a 0-d tensor."""
    if isinstance(value, autograd.Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s) (shape "
                               f"{tuple(value.shape)})")
        return value
    if isinstance(value, complex) or not isinstance(value, numbers.Real):
        raise RuntimeError(f"masked_fill: value {value!r} cannot be converted to type "
                           f"{input.dtype} without overflow")
    kind = input.dtype.np.kind
    if kind in "iu" and isinstance(value, numbers.Integral):
        limits = np.iinfo(input.dtype.np)
        if not limits.min <= value <= limits.max:
            raise RuntimeError(f"masked_fill: value {value} cannot be converted to type "
                               f"{input.dtype} without overflow")
    return value


@op(TORCH, METHOD)
def masked_fill(input, mask, value):
    if not isinstance(mask, autograd.Tensor) or mask.dtype.name != "bool":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}")
    return MaskedFill.apply(input, mask, _fill_value(input, value))


register(lambda self, mask, value: self._inplace(masked_fill, mask, value), METHOD,
         name="masked_fill_")
