"""Ops over the order of elements along a dim: sort, argsort, msort, topk, cumsum, cumprod."""
import numpy as np

from ..autograd import Function
from ..dtypes import to_dtype
from .dims import normalize_dim
from .reduce import MinMax
from .registry import METHOD, TORCH, op
from .select import Gather
from .shape import reshape


class Argsort(Function):
    """The indices that sort x along dim (stable: equal elements keep their order; NaN counts as
    the largest, as in torch); with k, only the first k."""
    differentiable = False

    def forward(self, x, dim, descending, k=None):
        xp = self.xp
        if descending:  # a stable ascending sort of the reversed slice, read backwards
            last = x.shape[dim] - 1
            order = last - xp.flip(xp.argsort(xp.flip(x, dim), axis=dim, kind="stable"), dim)
        else:
            order = xp.argsort(x, axis=dim, kind="stable")
        if k is not None:
            order = order[(slice(None),) * dim + (slice(0, k),)]
        return order.astype(np.int64, copy=False)


def _reverse_cumsum(xp, a, axis):
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)


def _accumulator_dtype(x):
    return np.int64 if x.dtype.kind in "biu" else None  # torch accumulates integers as int64


class CumSum(Function):
    def forward(self, x, dim):
        self.dim = dim
        return self.xp.cumsum(x, axis=dim, dtype=_accumulator_dtype(x))

    def backward(self, grad):
        return _reverse_cumsum(self.xp, grad, self.dim)


class CumProd(Function):
    def forward(self, x, dim):
        self.dim = dim
        out = self.xp.cumprod(x, axis=dim, dtype=_accumulator_dtype(x))
        self.save_for_backward(x, out)
        return out

    def backward(self, grad):
        """Before a slice's first zero, d out_j / d x_i = out_j / x_i; at the first zero, the
        products with that zero left out; after it, nothing (torch's rule)."""
        x, out = self.saved_tensors
        xp, dim = self.xp, self.dim
        zeros_so_far = xp.cumsum(x == 0, axis=dim)
        before_zero = zeros_so_far == 0
        first_zero = (zeros_so_far == 1) & (x == 0)
        one = x.dtype.type(1)
        plain = _reverse_cumsum(xp, grad * out, dim) / xp.where(before_zero, x, one)
        without_zero = xp.cumprod(xp.where(first_zero, one, x), axis=dim)
        at_zero = _reverse_cumsum(xp, grad * without_zero, dim)
        zero = grad.dtype.type(0)
        return xp.where(before_zero, plain, xp.where(first_zero, at_zero, zero))


# ----- the public functions ----------------------------------------------------------------------
def _along_1d(function, input, dim, *args, **kwargs):
    """`function` on a 1-d view of a 0-d input (whose dim may be 0 or -1), as torch allows."""
    normalize_dim(dim, 0)
    result = function(reshape(input, 1), *args, dim=0, **kwargs)
    if isinstance(result, tuple):
        return MinMax(*(reshape(r, ()) for r in result))
    return reshape(result, ())


@op(TORCH, METHOD)
def argsort(input, dim=-1, descending=False, *, stable=False):
    if input.ndim == 0:
        return _along_1d(argsort, input, dim, descending=descending)
    return Argsort.apply(input, dim=normalize_dim(dim, input.ndim), descending=bool(descending))


@op(TORCH, METHOD)
def sort(input, dim=-1, descending=False, *, stable=False):
    # always stable: with stable=False torch allows any order of ties, this one included
    if input.ndim == 0:
        return _along_1d(sort, input, dim, descending=descending)
    dim = normalize_dim(dim, input.ndim)
    indices = Argsort.apply(input, dim=dim, descending=bool(descending))
    return MinMax(Gather.apply(input, indices, dim=dim), indices)


@op(TORCH, METHOD)
def msort(input):
    return sort(input, 0).values


@op(TORCH, METHOD)
def topk(input, k, dim=-1, largest=True, sorted=True):
    if input.ndim == 0:
        return _along_1d(topk, input, dim, k, largest=largest, sorted=sorted)
    dim = normalize_dim(dim, input.ndim)
    if not 0 <= k <= input.shape[dim]:
        raise RuntimeError(f"topk(): selected index k out of range (k = {k} for dimension {dim} of "
                           f"size {input.shape[dim]}, input shape {tuple(input.shape)})")
    indices = Argsort.apply(input, dim=dim, descending=bool(largest), k=int(k))
    return MinMax(Gather.apply(input, indices, dim=dim), indices)


def _cumulative(function, input, dim, dtype):
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    if input.ndim == 0:
        normalize_dim(dim, 0)
        return reshape(function.apply(reshape(input, 1), dim=0), ())
    return function.apply(input, dim=normalize_dim(dim, input.ndim))


@op(TORCH, METHOD)
def cumsum(input, dim, *, dtype=None):
    return _cumulative(CumSum, input, dim, dtype)


@op(TORCH, METHOD)
def cumprod(input, dim, *, dtype=None):
    return _cumulative(CumProd, input, dim, dtype)
