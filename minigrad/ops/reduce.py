"""Reductions over dims, and the softmax family."""
import builtins
from collections import namedtuple

import numpy as np

from ..autograd import Function
from .. import autograd
from ..dtypes import to_dtype
from .dims import dim_or_axis, normalize_dim, normalize_dims
from .elementwise import maximum, minimum
from .registry import FUNCTIONAL, METHOD, TORCH, op
from .shape import squeeze
from .unary import sqrt


def _expand_back(grad, axes, keepdim, shape, xp):
    """A reduced gradient broadcast back to the input's shape (a read-only view)."""
    if not keepdim:
        grad = grad.reshape([1 if i in axes else n for i, n in enumerate(shape)])
    return xp.broadcast_to(grad, shape)


class Sum(Function):
    def forward(self, x, dim=None, keepdim=False, dtype=None):
        self.axes, self.keepdim, self.shape = normalize_dims(dim, x.ndim), keepdim, x.shape
        self.in_dtype = x.dtype
        if dtype is None and x.dtype.kind in "biu":
            dtype = np.int64  # torch sums integers and bools as int64
        return x.sum(axis=self.axes, keepdims=keepdim, dtype=dtype)

    def backward(self, grad):
        return _expand_back(grad.astype(self.in_dtype, copy=False), self.axes, self.keepdim,
                            self.shape, self.xp)


class Mean(Function):
    def forward(self, x, dim=None, keepdim=False):
        if x.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be a floating "
                               f"point dtype, got {x.dtype}; use x.float().mean()")
        self.axes, self.keepdim, self.shape = normalize_dims(dim, x.ndim), keepdim, x.shape
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        return x.mean(axis=self.axes, keepdims=keepdim)

    def backward(self, grad):
        return _expand_back(grad / grad.dtype.type(self.count), self.axes, self.keepdim, self.shape,
                            self.xp)


class Extremum(Function):
    """max() or min() over all elements; the gradient is shared evenly among ties, as in torch."""

    def forward(self, x, largest=True):
        if x.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0")
        out = x.max() if largest else x.min()
        self.save_for_backward(x, out)
        return out

    def backward(self, grad):
        x, out = self.saved_tensors
        hits = x == out
        return hits * (grad / hits.sum()).astype(x.dtype)


class TakeAlongDim(Function):
    """out = x[..., index, ...] along `dim`, one index per position (max/min over a dim)."""

    def forward(self, x, index, dim=0):
        self.save_for_backward(index)
        self.dim, self.shape = dim, x.shape
        return self.xp.take_along_axis(x, index, axis=dim)

    def backward(self, grad):
        index, = self.saved_tensors
        xp = self.xp
        positions = xp.arange(self.shape[self.dim]).reshape(
            [-1 if i == self.dim else 1 for i in range(len(self.shape))])
        return xp.where(positions == index, grad, grad.dtype.type(0)), None


class ArgExtremum(Function):
    differentiable = False

    def forward(self, x, dim=None, keepdim=False, largest=True):
        find = self.xp.argmax if largest else self.xp.argmin
        if dim is None:
            out = find(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdim else out
        return find(x, axis=normalize_dim(dim, x.ndim), keepdims=keepdim).astype(np.int64)


class Var(Function):
    def forward(self, x, dim=None, correction=1, keepdim=False):
        self.axes, self.keepdim, self.shape = normalize_dims(dim, x.ndim), keepdim, x.shape
        count = int(np.prod([x.shape[a] for a in self.axes]))
        self.divisor = x.dtype.type(builtins.max(count - correction, 0))
        centered = x - x.mean(axis=self.axes, keepdims=True)
        self.save_for_backward(centered)
        return (centered * centered).sum(axis=self.axes, keepdims=keepdim) / self.divisor

    def backward(self, grad):
        centered, = self.saved_tensors
        return _expand_back(grad, self.axes, self.keepdim, self.shape, self.xp) * (
            centered * (2 / self.divisor))


class Prod(Function):
    def forward(self, x, dim=None, keepdim=False):
        self.dim = None if dim is None else normalize_dim(dim, x.ndim)
        self.keepdim, self.shape = keepdim, x.shape
        self.save_for_backward(x)
        dtype = np.int64 if x.dtype.kind in "biu" else None  # torch multiplies integers as int64
        if dim is None:
            return x.prod(dtype=dtype)
        return x.prod(axis=self.dim, keepdims=keepdim, dtype=dtype)

    def backward(self, grad):
        """d prod / d x_i = product of the others: exclusive cumulative products from both ends,
        which stays right when some x are zero."""
        x, = self.saved_tensors
        xp = self.xp
        if x.size == 0:  # nothing to differentiate (an empty product is 1, a constant)
            return xp.zeros(self.shape, dtype=grad.dtype)
        moved = x.reshape(1, -1) if self.dim is None else xp.moveaxis(x, self.dim, -1)
        ones = xp.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
        before = xp.cumprod(xp.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(moved, -1)[..., :-1]], -1), -1), -1)
        others = before * after
        if self.dim is None:
            return others.reshape(self.shape) * grad
        if not self.keepdim:
            grad = xp.expand_dims(grad, self.dim)
        return xp.moveaxis(others * xp.moveaxis(grad, self.dim, -1), -1, self.dim)


class Logical(Function):
    differentiable = False

    def forward(self, x, dim=None, keepdim=False, every=True):
        axes = normalize_dims(dim, x.ndim)
        reduce = self.xp.all if every else self.xp.any
        return reduce(x, axis=axes, keepdims=keepdim)


class Softmax(Function):
    def forward(self, x, dim):
        self.dim = normalize_dim(dim, x.ndim)
        if x.size == 0:  # an empty result (max has nothing to reduce)
            self.save_for_backward(x)
            return x.copy()
        shifted = self.xp.exp(x - x.max(axis=self.dim, keepdims=True))
        out = shifted / shifted.sum(axis=self.dim, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return out * (grad - (grad * out).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x, dim):
        self.dim = normalize_dim(dim, x.ndim)
        if x.size == 0:  # an empty result (max has nothing to reduce)
            self.save_for_backward(x)
            return x.copy()
        shifted = x - x.max(axis=self.dim, keepdims=True)
        out = shifted - self.xp.log(self.xp.exp(shifted).sum(axis=self.dim, keepdims=True))
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        out, = self.saved_tensors
        return grad - self.xp.exp(out) * grad.sum(axis=self.dim, keepdims=True)


class LogSumExp(Function):
    def forward(self, x, dim, keepdim=False):
        self.axes, self.keepdim, self.shape = normalize_dims(dim, x.ndim), keepdim, x.shape
        peak = x.max(axis=self.axes, keepdims=True)
        peak = self.xp.where(self.xp.isfinite(peak), peak, 0)  # all -inf rows stay -inf, not nan
        out = self.xp.log(self.xp.exp(x - peak).sum(axis=self.axes, keepdims=True)) + peak
        self.save_for_backward(x, out)
        return out if keepdim else out.reshape([n for i, n in enumerate(x.shape)
                                                if i not in self.axes])

    def backward(self, grad):
        x, out = self.saved_tensors
        return _expand_back(grad, self.axes, self.keepdim, self.shape, self.xp) * self.xp.exp(x - out)


# ----- the public functions ----------------------------------------------------------------------
@op(TORCH, METHOD)
def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    return Sum.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim,
                     dtype=None if dtype is None else to_dtype(dtype).np)


@op(TORCH, METHOD)
def mean(input, dim=None, keepdim=False, *, axis=None):
    return Mean.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim)


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


@op(TORCH, METHOD)
def max(input, dim=None, keepdim=False, *, axis=None):
    if isinstance(dim, autograd.Tensor):  # torch.max(a, b): the elementwise form
        return maximum(input, dim)
    return _extremum(input, dim_or_axis(dim, axis), keepdim, largest=True)


@op(TORCH, METHOD)
def min(input, dim=None, keepdim=False, *, axis=None):
    if isinstance(dim, autograd.Tensor):
        return minimum(input, dim)
    return _extremum(input, dim_or_axis(dim, axis), keepdim, largest=False)


@op(TORCH, METHOD)
def argmax(input, dim=None, keepdim=False, *, axis=None):
    return ArgExtremum.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim, largest=True)


@op(TORCH, METHOD)
def argmin(input, dim=None, keepdim=False, *, axis=None):
    return ArgExtremum.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim, largest=False)


@op(TORCH, METHOD)
def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
    if isinstance(dim, bool):  # torch.var(x, unbiased): the overload without dim
        dim, unbiased = None, dim
    correction = (1 if unbiased else 0) if correction is None else correction
    return Var.apply(input, dim=dim_or_axis(dim, axis), correction=correction, keepdim=keepdim)


@op(TORCH, METHOD)
def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction, axis=axis))


@op(TORCH, METHOD)
def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    dim = dim_or_axis(dim, axis)
    if dtype is not None:
        input = input.to(dtype)
    if input.ndim == 0 and dim is not None:  # dim 0 or -1 of a 0-d tensor
        normalize_dim(dim, 0)
        return Prod.apply(input.reshape(1), dim=0)
    return Prod.apply(input, dim=dim, keepdim=keepdim)


@op(TORCH, METHOD)
def all(input, dim=None, keepdim=False, *, axis=None):
    return Logical.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim, every=True)


@op(TORCH, METHOD)
def any(input, dim=None, keepdim=False, *, axis=None):
    return Logical.apply(input, dim=dim_or_axis(dim, axis), keepdim=keepdim, every=False)


@op(TORCH, FUNCTIONAL, METHOD)
def softmax(input, dim, dtype=None):
    return Softmax.apply(input if dtype is None else input.to(dtype), dim=dim)


@op(TORCH, FUNCTIONAL, METHOD)
def log_softmax(input, dim, dtype=None):
    return LogSoftmax.apply(input if dtype is None else input.to(dtype), dim=dim)


@op(TORCH, METHOD)
def logsumexp(input, dim, keepdim=False):
    return LogSumExp.apply(input, dim=dim, keepdim=keepdim)


class ExtremumOverDims(Function):
    """amax() or amin() over some dims; the gradient is shared evenly among ties, as in torch."""

    def forward(self, x, dim, keepdim, largest):
        name = "amax" if largest else "amin"
        self.axes, self.keepdim = normalize_dims(dim, x.ndim), keepdim
        if x.size == 0:
            empty = [a for a in self.axes if x.shape[a] == 0]
            if dim is None:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   f"input.numel() == 0 (input shape {tuple(x.shape)})")
            if empty:
                raise IndexError(f"{name}(): Expected reduction dim {empty[0]} to have non-zero "
                                 f"size (input shape {tuple(x.shape)})")
        reduce = self.xp.max if largest else self.xp.min
        out = reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, out)
        return out if keepdim else out.reshape([n for i, n in enumerate(x.shape)
                                                if i not in self.axes])

    def backward(self, grad):
        x, out = self.saved_tensors
        hits = x == out
        if not self.keepdim:
            grad = grad.reshape(out.shape)
        return hits * (grad / hits.sum(axis=self.axes, keepdims=True)).astype(x.dtype)


def _amax_amin(input, dim, keepdim, largest):
    if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=() reduces every dim
        dim = None
    return ExtremumOverDims.apply(input, dim=dim, keepdim=keepdim, largest=largest)


@op(TORCH, METHOD)
def amax(input, dim=(), keepdim=False):
    return _amax_amin(input, dim, keepdim, largest=True)


@op(TORCH, METHOD)
def amin(input, dim=(), keepdim=False):
    return _amax_amin(input, dim, keepdim, largest=False)
