"""The functional ops, with PyTorch's names and arguments: each checks its arguments, raising errors
that name shapes and dtypes, then applies one Function (a few are composites of them)."""
import builtins
from collections import namedtuple

import numpy as np

from .. import autograd
from ..device import move
from .dims import normalize_dim, normalize_dims
from .elementwise import (Abs, Add, BitwiseAnd, BitwiseNot, BitwiseOr, BitwiseXor, Clamp,
                          ClampTensor, Cos, Div, Eq, Exp, FloorDivide, Ge, Gt, Le, Log, Lt, Maximum,
                          Minimum, Mul, Ne, Neg, Pow, Relu, Remainder, RoundedDiv, Sigmoid, Sin,
                          Sqrt, Sub, Tanh, Where)
from .reduce import (ArgExtremum, Extremum, Logical, LogSoftmax, LogSumExp, Mean, Prod, Softmax,
                     Sum, TakeAlongDim, Var)
from .shape import (Cast, Cat, Copy, CopyInto, Expand, FullLike, GetItem, MatMul, Permute, Repeat,
                    Reshape, SetItem, ToDevice)

# ----- elementwise ---------------------------------------------------------------------------
mul, pow = Mul.apply, Pow.apply


def add(input, other, *, alpha=1):
    return Add.apply(input, other if alpha == 1 else Mul.apply(other, alpha))


def sub(input, other, *, alpha=1):
    return Sub.apply(input, other if alpha == 1 else Mul.apply(other, alpha))


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor', "
                         f"got {rounding_mode!r}")
    return RoundedDiv.apply(input, other, rounding_mode=rounding_mode)


true_divide, subtract, multiply = Div.apply, sub, mul
floor_divide, remainder = FloorDivide.apply, Remainder.apply
eq, ne, lt, le, gt, ge = Eq.apply, Ne.apply, Lt.apply, Le.apply, Gt.apply, Ge.apply
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (BitwiseAnd.apply, BitwiseOr.apply,
                                                     BitwiseXor.apply, BitwiseNot.apply)
neg, abs, exp, log, sqrt = Neg.apply, Abs.apply, Exp.apply, Log.apply, Sqrt.apply
sin, cos, tanh, sigmoid, relu = Sin.apply, Cos.apply, Tanh.apply, Sigmoid.apply, Relu.apply


def square(input):
    return Mul.apply(input, input)


def clamp(input, min=None, max=None):
    if isinstance(min, autograd.Tensor) or isinstance(max, autograd.Tensor):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must not be None")
        return ClampTensor.apply(input, min, max)
    return Clamp.apply(input, low=min, high=max)


clip = clamp


def where(condition, input, other):
    return Where.apply(condition, input, other)


# ----- reductions ----------------------------------------------------------------------------
def _dim(dim, axis):
    return axis if dim is None else dim


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    from ..dtypes import to_dtype
    return Sum.apply(input, dim=_dim(dim, axis), keepdim=keepdim,
                     dtype=None if dtype is None else to_dtype(dtype).np)


def mean(input, dim=None, keepdim=False, *, axis=None):
    return Mean.apply(input, dim=_dim(dim, axis), keepdim=keepdim)


MinMax = namedtuple("MinMax", ["values", "indices"])


def _extremum(input, dim, keepdim, largest):
    if dim is None:
        return Extremum.apply(input, largest=largest)
    if input.ndim == 0:  # dim 0 or -1 of a 0-d tensor: the value itself, at index 0
        normalize_dim(dim, 0)
        return _extremum(input.reshape(1), 0, False, largest)
    dim = normalize_dim(dim, input.ndim)
    index = ArgExtremum.apply(input, dim=dim, keepdim=True, largest=largest)
    values = TakeAlongDim.apply(input, index, dim=dim)
    if not keepdim:
        values, index = squeeze(values, dim), squeeze(index, dim)
    return MinMax(values, index)


def _tensors(name, input, other):
    for operand in (input, other):
        if not isinstance(operand, autograd.Tensor):
            raise TypeError(f"{name}(): expected two Tensors, got {type(input).__name__} and "
                            f"{type(other).__name__}")


def maximum(input, other):
    _tensors("maximum", input, other)
    return Maximum.apply(input, other)


def minimum(input, other):
    _tensors("minimum", input, other)
    return Minimum.apply(input, other)


def max(input, dim=None, keepdim=False, *, axis=None):
    if isinstance(dim, autograd.Tensor):  # torch.max(a, b): the elementwise form
        return maximum(input, dim)
    return _extremum(input, _dim(dim, axis), keepdim, largest=True)


def min(input, dim=None, keepdim=False, *, axis=None):
    if isinstance(dim, autograd.Tensor):
        return minimum(input, dim)
    return _extremum(input, _dim(dim, axis), keepdim, largest=False)


def argmax(input, dim=None, keepdim=False, *, axis=None):
    return ArgExtremum.apply(input, dim=_dim(dim, axis), keepdim=keepdim, largest=True)


def argmin(input, dim=None, keepdim=False, *, axis=None):
    return ArgExtremum.apply(input, dim=_dim(dim, axis), keepdim=keepdim, largest=False)


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
    if isinstance(dim, bool):  # torch.var(x, unbiased): the overload without dim
        dim, unbiased = None, dim
    correction = (1 if unbiased else 0) if correction is None else correction
    return Var.apply(input, dim=_dim(dim, axis), correction=correction, keepdim=keepdim)


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction, axis=axis))


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    dim = _dim(dim, axis)
    if dtype is not None:
        input = input.to(dtype)
    if input.ndim == 0 and dim is not None:  # dim 0 or -1 of a 0-d tensor
        normalize_dim(dim, 0)
        return Prod.apply(input.reshape(1), dim=0)
    return Prod.apply(input, dim=dim, keepdim=keepdim)


def all(input, dim=None, keepdim=False, *, axis=None):
    return Logical.apply(input, dim=_dim(dim, axis), keepdim=keepdim, every=True)


def any(input, dim=None, keepdim=False, *, axis=None):
    return Logical.apply(input, dim=_dim(dim, axis), keepdim=keepdim, every=False)


def softmax(input, dim, dtype=None):
    return Softmax.apply(input if dtype is None else input.to(dtype), dim=dim)


def log_softmax(input, dim, dtype=None):
    return LogSoftmax.apply(input if dtype is None else input.to(dtype), dim=dim)


def logsumexp(input, dim, keepdim=False):
    return LogSumExp.apply(input, dim=dim, keepdim=keepdim)


# ----- matrix products -----------------------------------------------------------------------
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


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm expects two matrices, got shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


# ----- shapes --------------------------------------------------------------------------------
def _shape_arg(shape):
    """Sizes given as f(2, 3) or f((2, 3)) as one tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


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


view = reshape


def view_as(input, other):
    return reshape(input, tuple(other.shape))


reshape_as = view_as


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = normalize_dim(start_dim, input.ndim), normalize_dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError(f"flatten() has invalid args: start_dim {start_dim} cannot come after "
                           f"end_dim {end_dim}")
    shape = input.shape
    return reshape(input, tuple(shape[:start]) + (-1,) + tuple(shape[end + 1:]))


def squeeze(input, dim=None):
    dims = normalize_dims(dim, input.ndim)
    shape = [n for i, n in enumerate(input.shape) if not (i in dims and n == 1)]
    return reshape(input, tuple(shape))


def unsqueeze(input, dim):
    dim = normalize_dim(dim, input.ndim + 1)
    shape = list(input.shape)
    shape.insert(dim, 1)
    return reshape(input, tuple(shape))


def permute(input, *dims):
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the tensor's "
                           f"{input.ndim} dimensions (shape {tuple(input.shape)})")
    dims = tuple(normalize_dim(d, input.ndim) for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {dims} repeat a dim")
    return Permute.apply(input, dims=dims)


def transpose(input, dim0, dim1):
    if input.ndim < 2:
        return input
    dims = list(range(input.ndim))
    dim0, dim1 = normalize_dim(dim0, input.ndim), normalize_dim(dim1, input.ndim)
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(input, dims=tuple(dims))


swapaxes = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1)


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


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def repeat(input, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"Number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
                           f"than number of dimensions of tensor ({input.ndim})")
    return Repeat.apply(input, repeats=sizes)


def clone(input):
    return Copy.apply(input)


def contiguous(input):
    return input if input._data.flags.c_contiguous else Copy.apply(input)


def cat(tensors, dim=0, *, axis=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat expects a non-empty list of tensors")
    first = tensors[0]
    dim = normalize_dim(_dim(dim, axis), first.ndim)
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


concat = concatenate = cat


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


# ----- indexing ------------------------------------------------------------------------------
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


# ----- conversions and fills -----------------------------------------------------------------
def cast(input, dtype):
    return input if input.dtype is dtype else Cast.apply(input, dtype=dtype)


def to_device(input, device):
    return input if input.device == device else ToDevice.apply(input, device=device)


def full_like_value(input, value):
    return FullLike.apply(input, value=value)


def copy_into(input, source):
    return CopyInto.apply(input, source)


TENSOR_METHODS = [
    "add", "sub", "mul", "div", "true_divide", "subtract", "multiply", "floor_divide", "remainder",
    "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "square",
    "clamp", "clip", "eq", "ne", "lt", "le", "gt", "ge", "bitwise_not", "sum", "mean", "max", "min",
    "maximum", "minimum", "argmax", "argmin", "var", "std", "prod", "all", "any", "softmax", "log_softmax", "logsumexp",
    "matmul", "mm", "reshape", "view", "view_as", "reshape_as", "flatten", "squeeze", "unsqueeze",
    "permute", "transpose", "swapaxes", "t", "expand", "expand_as", "repeat", "clone", "contiguous",
]
