"""one_hot, and the norms between vectors: normalize, cosine_similarity, pairwise_distance."""
import math

import numpy as np

from ..autograd import Function
from .dims import normalize_dim
from .elementwise import clamp_min, require_tensors
from .registry import FUNCTIONAL, op
from .unary import quiet


class OneHot(Function):
    differentiable = False

    def forward(self, indices, num_classes):
        return (indices[..., None] == self.xp.arange(num_classes)).astype(np.int64)


@op(FUNCTIONAL)
def one_hot(tensor, num_classes=-1):
    if tensor.dtype.name != "int64":
        raise RuntimeError(f"one_hot is only applicable to index tensor of type int64, got "
                           f"{tensor.dtype}")
    if tensor.numel() == 0:
        if num_classes < 0:
            raise RuntimeError("one_hot: can not infer the number of classes from an empty tensor")
        return OneHot.apply(tensor, num_classes=num_classes)
    if tensor.min().item() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {tensor.min().item()}")
    largest = tensor.max().item()
    if num_classes < 0:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({num_classes}), "
                           f"got {largest}")
    return OneHot.apply(tensor, num_classes=num_classes)


class VectorNorm(Function):
    """The p-norm over one dim, with torch's gradient (zero where the norm is zero; the inf-norms
    share it evenly among the entries that reach the norm)."""

    @quiet
    def forward(self, x, p, dim, keepdim):
        xp, magnitude = self.xp, self.xp.abs(x)
        self.p, self.dim, self.keepdim = p, dim, keepdim
        if p == math.inf:
            norm = magnitude.max(axis=dim, keepdims=True)
        elif p == -math.inf:
            norm = magnitude.min(axis=dim, keepdims=True)
        elif p == 0:
            norm = (x != 0).sum(axis=dim, keepdims=True).astype(x.dtype)
        elif p == 1:
            norm = magnitude.sum(axis=dim, keepdims=True)
        elif p == 2:
            norm = xp.sqrt((x * x).sum(axis=dim, keepdims=True))
        else:
            norm = (magnitude ** x.dtype.type(p)).sum(axis=dim, keepdims=True) ** x.dtype.type(1 / p)
        self.save_for_backward(x, norm)
        return norm if keepdim else norm.squeeze(dim)

    def backward(self, grad):
        x, norm = self.saved_tensors
        xp, p, zero = self.xp, self.p, grad.dtype.type(0)
        if not self.keepdim:
            grad = xp.expand_dims(grad, self.dim)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return grad * xp.sign(x)
        if p in (math.inf, -math.inf):
            magnitude = xp.abs(x)
            reaches = (magnitude == norm) | xp.isnan(magnitude)
            return xp.sign(x) * (grad / reaches.sum(axis=self.dim, keepdims=True)) * reaches
        if p == 2:
            return x * xp.where(norm == 0, zero, grad / norm)
        scaled = xp.sign(x) * xp.abs(x) ** x.dtype.type(p - 1)
        if p < 1:  # |x|^(p-1) is infinite at 0, where the slope is taken as 0
            scaled = xp.where(x == 0, zero, scaled)
        return scaled * xp.where(norm == 0, zero, grad / norm ** x.dtype.type(p - 1))


def _vector_norm(input, p, dim, keepdim=False):
    return VectorNorm.apply(input, p=float(p), dim=normalize_dim(dim, input.ndim), keepdim=keepdim)


@op(FUNCTIONAL)
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    if out is not None:
        raise TypeError("normalize: out= is not supported")
    return input / clamp_min(_vector_norm(input, p, dim, keepdim=True), eps)


def _broadcast_pair(name, x1, x2):
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"{name}: x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} cannot be broadcast together") from None
    return x1.expand(shape), x2.expand(shape)


@op(FUNCTIONAL)
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    require_tensors("cosine_similarity", x1, x2)
    x1, x2 = _broadcast_pair("cosine_similarity", x1, x2)
    dim = normalize_dim(dim, x1.ndim)
    unit1 = x1 / clamp_min(_vector_norm(x1, 2, dim, keepdim=True), eps)
    unit2 = x2 / clamp_min(_vector_norm(x2, 2, dim, keepdim=True), eps)
    return (unit1 * unit2).sum(dim)


@op(FUNCTIONAL)
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    last = max(x1.ndim, x2.ndim) - 1
    if last < 0:
        raise RuntimeError("pairwise_distance: expected inputs with at least one dimension, got "
                           "two 0-d tensors")
    return _vector_norm(x1 - x2 + eps, p, last, keepdim)
