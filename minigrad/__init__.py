"""minigrad: a small Numba-accelerated deep-learning framework with a PyTorch-style API.

    import minigrad as mg          # or: import minigrad as torch
"""
from . import autograd, cuda, data, dtypes, linalg, models, nn, optim, train, utils
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full,
                       full_like, linspace, normal, ones, ones_like, rand, rand_like, randint,
                       randn, randn_like, tensor, zeros, zeros_like)
from .device import Device as device
from .device import get_device, get_num_threads, set_device, set_num_threads
from .dtypes import (bool_ as bool, double, dtype, float, float16, float32, float64, half, int,
                     int8, int16, int32, int64, long, short, uint8)
from .ops import registry as _registry
from .random import manual_seed
from .serialization import load, save
from .tensor import (Size, Tensor, channels_last, channels_last_3d, contiguous_format, memory_format,
                     preserve_format)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


globals().update(_registry.registered(_registry.TORCH))

__version__ = "0.1.0"
