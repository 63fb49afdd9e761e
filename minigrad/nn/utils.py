"""torch.nn.utils: gradient clipping and flattening parameters into one vector."""
import math

import numpy as np

from .. import creation
from ..device import move
from ..ops import cat
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _tensors(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(xp, array, norm_type):
    """torch.linalg.vector_norm of a raw array, as a 0-d array of its dtype."""
    magnitude = xp.abs(array)
    if norm_type == math.inf:
        norm = magnitude.max()
    elif norm_type == -math.inf:
        norm = magnitude.min()
    elif norm_type == 0:
        norm = (magnitude != 0).sum()
    else:
        norm = (magnitude ** norm_type).sum() ** (1.0 / norm_type)
    return xp.asarray(norm, dtype=array.dtype)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of `parameters` in place so that their joint norm (the norm of all of
    them as one vector) is at most `max_norm`; returns that norm before clipping, as a tensor on
    the first gradient's device. `foreach` is accepted for torch's signature: one loop serves."""
    norm_type = float(norm_type)
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    if not grads:
        return creation.tensor(0.0)
    first = grads[0]._backend
    # each gradient's norm on its device, then the norm of those norms on the first gradient's
    # device, in the widest of their dtypes, as torch computes it
    norms = [move(_vector_norm(g._backend.xp, g._data, norm_type), first) for g in grads]
    total = _vector_norm(first.xp, first.xp.stack(norms), norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coefficient = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # inf * 0 under a non-finite norm: nan, as torch's
        for g in grads:
            g._data *= g._data.dtype.type(coefficient)
            g._version.value += 1
    return Tensor._make(total, first)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp the gradients of `parameters` into [-clip_value, clip_value], in place (`foreach`
    as in clip_grad_norm_)."""
    clip_value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is not None:
            p.grad._backend.xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._version.value += 1


def _check_one_device(parameters):
    devices = {p.device.type for p in parameters}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices "
                        f"({' and '.join(sorted(devices))}), this is currently not supported.")


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    parameters = _tensors(parameters)
    _check_one_device(parameters)
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Make the parameters views of consecutive slices of `vec` (their data, not their graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    parameters = _tensors(parameters)
    _check_one_device(parameters)
    start = 0
    for p in parameters:
        p.data = vec[start:start + p.numel()].view_as(p).data
        start += p.numel()
