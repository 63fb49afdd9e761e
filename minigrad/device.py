"""The device layer: which device new tensors go to, and each device's array module and kernel table.

Everything above this layer asks it for `xp` (NumPy or CuPy) and `kernels` (the kernel table of
kernels/table.py, implemented by minigrad.kernels.cpu or minigrad.kernels.cuda), which have the same
names on both devices, and so never branches on the device.
Nothing GPU-related is imported until a CUDA device is asked for.
"""
import importlib
import importlib.util

import numpy as np

from .kernels import table as kernel_table


class Device:
    """A device, like torch.device: `Device("cpu")`, `Device("cuda")`, `Device("cuda:0")`."""

    def __init__(self, spec):
        if isinstance(spec, Device):
            spec = str(spec)
        if not isinstance(spec, str):
            raise TypeError(f"expected a device name such as 'cpu' or 'cuda', got {spec!r}")
        kind, _, index = spec.partition(":")
        if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
            raise RuntimeError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        self.type = kind
        self.index = int(index) if index else (0 if kind == "cuda" else None)
        self._named_index = bool(index)  # torch prints 'cuda:0' only where the index was given

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return f"{self.type}:{self.index}" if self._named_index else self.type

    def __repr__(self):
        index = f", index={self.index}" if self._named_index else ""
        return f"device(type='{self.type}'{index})"


CPU = Device("cpu")
_current = CPU
_backends = {}  # device type -> Backend, filled on first use


class Backend:
    """What the layers above need from a device: its array module and its kernel table (the
    declared kernels of kernels/table.py, bound to the device's implementations)."""

    def __init__(self, device, xp, kernel_module):
        self.device, self.xp, self.kernel_module = device, xp, kernel_module
        self.kernels = kernel_table.bind(kernel_module)


def backend(device):
    """The Backend of a device ('cpu' or 'cuda'), loading it on first use."""
    kind = device.type if isinstance(device, Device) else Device(device).type
    if kind not in _backends:
        _backends[kind] = _load_cuda() if kind == "cuda" else Backend(CPU, np, _load_cpu_kernels())
    return _backends[kind]


def _load_cpu_kernels():
    return importlib.import_module("minigrad.kernels.cpu")


def _load_cuda():
    """The CUDA backend: CuPy arrays and the Numba-CUDA kernel table, with an error that says which
    part is missing. find_spec looks for numba-cuda without importing it: numba still ships an old
    built-in numba.cuda, which imports but is not what the kernels are written and tested for."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        raise RuntimeError('set_device("cuda"): CuPy is not installed; install it with '
                           'pip install "minigrad[cuda]"') from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own CUDARuntimeError without a driver
        raise RuntimeError(f'set_device("cuda"): CuPy is installed but no GPU is usable ({error})') from None
    if count == 0:
        raise RuntimeError('set_device("cuda"): CuPy is installed but no GPU was found')
    if importlib.util.find_spec("numba_cuda") is None:
        raise RuntimeError('set_device("cuda"): numba-cuda is not installed (the GPU kernels are '
                           'Numba-CUDA kernels); install it with pip install "minigrad[cuda]"')
    try:
        kernels = importlib.import_module("minigrad.kernels.cuda")
    except ImportError as error:
        raise RuntimeError(f'set_device("cuda"): the CUDA kernels could not be loaded ({error})') from None
    if kernels.runtime.SIMULATED:
        raise RuntimeError('set_device("cuda"): NUMBA_ENABLE_CUDASIM is set, so numba.cuda is the '
                           'CPU simulator; unset it to use the GPU')
    return Backend(Device("cuda:0"), cupy, kernels)


def cuda_is_available():
    """True when CuPy imports and sees a GPU; imports CuPy only if it is installed."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        backend("cuda")
    except RuntimeError:
        return False
    return True


def is_capturing():
    """Whether CuPy's current stream is recording a CUDA graph: then nothing may read a GPU value on
    the host. False while the GPU backend is not loaded (it imports nothing)."""
    cuda = _backends.get("cuda")
    return cuda is not None and cuda.kernel_module.runtime.is_capturing()


def set_device(device):
    """Make `device` the default for new tensors; loads its backend now so mistakes surface here."""
    global _current
    device = Device(device)
    backend(device)
    _current = device


def get_device():
    return _current


def move(array, target):
    """The array on the target backend's device (the same array when it is already there)."""
    if target.xp is np:
        return array if isinstance(array, np.ndarray) else array.get()
    return target.xp.asarray(array)


def from_dlpack(obj):
    """The array module's view of a DLPack producer's memory (no copy), and its Backend: NumPy for
    memory on the host, CuPy for memory on a CUDA GPU."""
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ and __dlpack_device__ (a "
                        f"NumPy or CuPy array, a PyTorch tensor), got {type(obj).__name__}")
    device_type = int(obj.__dlpack_device__()[0])
    if device_type in _DLPACK_HOST:
        target = backend("cpu")
    elif device_type in _DLPACK_GPU:
        target = backend("cuda")
    else:
        raise RuntimeError(f"from_dlpack: memory on DLPack device type {device_type} is neither the "
                           "CPU nor a CUDA GPU")
    return target.xp.from_dlpack(obj), target


def host_array(obj):
    """Array-like data (a NumPy or CuPy array, a CPU or CUDA torch tensor, nested lists) as a NumPy
    array; GPU memory is copied to the host."""
    if in_gpu_memory(obj):
        obj = move(from_dlpack(obj)[0], backend("cpu"))
    return np.asarray(obj)


def in_gpu_memory(obj):
    """Whether `obj` says through DLPack that it lives in CUDA memory (a CuPy array, a CUDA torch
    tensor)."""
    if isinstance(obj, (np.ndarray, np.generic)) or not hasattr(obj, "__dlpack_device__"):
        return False
    return int(obj.__dlpack_device__()[0]) in _DLPACK_GPU


# DLPack's device types (dlpack.h, DLDeviceType): host memory (CPU, CUDA pinned host) and GPU
# memory (CUDA, CUDA managed)
_DLPACK_HOST, _DLPACK_GPU = (1, 3), (2, 13)


def set_num_threads(count):
    """torch.set_num_threads: how many threads the CPU kernels use (Numba's; the BLAS calls are
    split across them)."""
    import numba
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads expects a positive number of threads, got {count!r}")
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    import numba
    return numba.get_num_threads()
