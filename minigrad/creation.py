"""Making tensors: from data, filled, ranges, and random (one seeded generator per device)."""
import numbers

import numpy as np

from .device import backend, get_device, in_gpu_memory, move
from .device import from_dlpack as _array_from_dlpack
from . import dtypes
from .random import generator
from .tensor import Tensor


def _backend(device):
    return backend(get_device() if device is None else device)


def _finish(array, backend, requires_grad):
    result = Tensor._make(array, backend)
    if requires_grad:
        result.requires_grad = True
    return result


def _size(size, keyword=None):
    """Sizes given as f(2, 3), f((2, 3)) or f(size=(2, 3)) as a tuple of ints."""
    if keyword is not None:
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    if not all(isinstance(s, numbers.Integral) for s in size):
        raise TypeError(f"sizes must be ints, got {size!r}")
    return tuple(int(s) for s in size)


def _inferred_dtype(data):
    """torch.tensor's rule: NumPy arrays keep their dtype; Python floats become float32."""
    array = np.asarray(data)
    if isinstance(data, (np.ndarray, np.generic)):
        return array, dtypes.from_numpy_dtype(array.dtype)
    kind = array.dtype.kind
    if kind == "f":
        return array, dtypes.DEFAULT_FLOAT
    if kind in "iu":
        return array, dtypes.DEFAULT_INT
    if kind == "b":
        return array, dtypes.bool_
    raise TypeError(f"can't build a tensor from {type(data).__name__} data of NumPy kind {array.dtype}")


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of `data` (nested lists, scalars, arrays or tensors)."""
    if not isinstance(data, Tensor) and in_gpu_memory(data):  # NumPy can't read it; DLPack can
        data = from_dlpack(data)
    backend = _backend(device if device is not None or not isinstance(data, Tensor) else data.device)
    if isinstance(data, Tensor):
        array, inferred = move(data._data, backend), data.dtype
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.detach().cpu().numpy() if isinstance(x, Tensor) else x for x in data]
        array, inferred = _inferred_dtype(data)
    dtype = inferred if dtype is None else dtypes.to_dtype(dtype)
    array = backend.xp.array(array, dtype=dtype.np, copy=True)
    return _finish(array, backend, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array, backend("cpu"))


def from_dlpack(ext_tensor):
    """A tensor sharing memory with a DLPack producer (a NumPy or CuPy array, a PyTorch tensor, a
    minigrad tensor), on the producer's device: NumPy arrays for host memory, CuPy for the GPU."""
    array, backend = _array_from_dlpack(ext_tensor)
    dtypes.from_numpy_dtype(array.dtype)  # an unsupported dtype fails here, naming it
    return Tensor._make(array, backend)


def _filled(fill, size, dtype, requires_grad, device):
    backend = _backend(device)
    dtype = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.to_dtype(dtype)
    return _finish(fill(backend.xp, size, dtype.np), backend, requires_grad)


def zeros(*shape, size=None, dtype=None, requires_grad=False, device=None):
    return _filled(lambda xp, s, d: xp.zeros(s, d), _size(shape, size), dtype, requires_grad,
                   device)


def ones(*shape, size=None, dtype=None, requires_grad=False, device=None):
    return _filled(lambda xp, s, d: xp.ones(s, d), _size(shape, size), dtype, requires_grad,
                   device)


empty = zeros


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = _inferred_dtype(fill_value)[1]
    return _filled(lambda xp, s, d: xp.full(s, fill_value, d), _size((size,)), dtype,
                   requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _filled(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start {start}, end {end}, step {step})")
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = dtypes.DEFAULT_INT if integral else dtypes.DEFAULT_FLOAT
    dtype = dtypes.to_dtype(dtype)
    # the length comes from float64 arithmetic, as in torch, whatever the result dtype
    values = np.arange(start, end, step, dtype=np.float64 if dtype.is_floating_point else np.int64)
    backend = _backend(device)
    return _finish(backend.xp.asarray(values.astype(dtype.np)), backend, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    values = np.linspace(start, end, steps, dtype=np.float64)
    dtype = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.to_dtype(dtype)
    backend = _backend(device)
    return _finish(backend.xp.asarray(values.astype(dtype.np)), backend, requires_grad)


def _random(draw, size, dtype, requires_grad, device):
    backend = _backend(device)
    dtype = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.to_dtype(dtype)
    if not dtype.is_floating_point:
        raise RuntimeError(f"random floats need a floating point dtype, got {dtype}")
    array = draw(generator(backend), size).astype(dtype.np, copy=False)
    return _finish(array, backend, requires_grad)


def rand(*shape, size=None, dtype=None, requires_grad=False, device=None):
    return _random(lambda g, s: g.random(s, dtype=np.float32), _size(shape, size), dtype,
                   requires_grad, device)


def randn(*shape, size=None, dtype=None, requires_grad=False, device=None):
    return _random(lambda g, s: g.standard_normal(s, dtype=np.float32), _size(shape, size), dtype,
                   requires_grad, device)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False):
    """randint(high, size) or randint(low, high, size), like torch."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() needs a size, e.g. randint(10, (3, 4))")
    backend = _backend(device)
    dtype = dtypes.DEFAULT_INT if dtype is None else dtypes.to_dtype(dtype)
    array = generator(backend).integers(low, high, _size((size,)), dtype=np.int64)
    return _finish(array.astype(dtype.np, copy=False), backend, requires_grad)


def normal(mean=0.0, std=1.0, size=None, dtype=None, requires_grad=False, device=None):
    """normal(mean, std, size) with float mean and std, or elementwise with tensor mean/std."""
    if size is None:
        shape = np.broadcast_shapes(*(tuple(v.shape) for v in (mean, std) if isinstance(v, Tensor)))
        if isinstance(mean, Tensor) and device is None:
            device = mean.device
        noise = randn(shape, dtype=dtype, device=device)
        return (noise * std + mean).detach().requires_grad_(requires_grad)
    # (CuPy's generators have no normal(); NumPy's is exactly mean + std * standard_normal)
    return _random(lambda g, s: g.standard_normal(s) * std + mean, _size((size,)), dtype,
                   requires_grad, device)


def _like(make, input, dtype, requires_grad, device):
    return make(tuple(input.shape), dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad, device=input.device if device is None else device)


def zeros_like(input, dtype=None, requires_grad=False, device=None):
    return _like(zeros, input, dtype, requires_grad, device)


def ones_like(input, dtype=None, requires_grad=False, device=None):
    return _like(ones, input, dtype, requires_grad, device)


empty_like = zeros_like


def full_like(input, fill_value, dtype=None, requires_grad=False, device=None):
    return full(tuple(input.shape), fill_value, dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad, device=input.device if device is None else device)


def rand_like(input, dtype=None, requires_grad=False, device=None):
    return _like(rand, input, dtype, requires_grad, device)


def randn_like(input, dtype=None, requires_grad=False, device=None):
    return _like(randn, input, dtype, requires_grad, device)
