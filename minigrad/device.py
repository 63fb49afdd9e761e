"""The device layer: which device new tensors go to, and each device's array module and kernel table.

Everything above this layer asks it for `xp` (NumPy or CuPy) and `kernels` (minigrad.kernels.cpu or
minigrad.kernels.cuda), which have the same names on both devices, and so never branches on the device.
Nothing GPU-related is imported until a CUDA device is asked for.
"""
import importlib
import importlib.util

import numpy as np


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

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type

    def __repr__(self):
        return f"device(type='{self.type}')"


CPU = Device("cpu")
_current = CPU
_backends = {}  # device type -> Backend, filled on first use


class Backend:
    """What the layers above need from a device: its array module and its kernel table."""

    def __init__(self, device, xp, kernels):
        self.device, self.xp, self.kernels = device, xp, kernels


def backend(device):
    """The Backend of a device ('cpu' or 'cuda'), loading it on first use."""
    kind = device.type if isinstance(device, Device) else Device(device).type
    if kind not in _backends:
        _backends[kind] = _load_cuda() if kind == "cuda" else Backend(CPU, np, _load_cpu_kernels())
    return _backends[kind]


def _load_cpu_kernels():
    return importlib.import_module("minigrad.kernels.cpu")


def _load_cuda():
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
    try:
        kernels = importlib.import_module("minigrad.kernels.cuda")
    except ImportError as error:
        raise RuntimeError(f'set_device("cuda"): {error}') from None
    return Backend(Device("cuda"), cupy, kernels)


def cuda_is_available():
    """True when CuPy imports and sees a GPU; imports CuPy only if it is installed."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        backend("cuda")
    except RuntimeError:
        return False
    return True


def set_device(device):
    """Make `device` the default for new tensors; loads its backend now so mistakes surface here."""
    global _current
    device = Device(device)
    backend(device)
    _current = device


def get_device():
    return _current


def device_of_array(array):
    """The Device an array lives on (NumPy arrays are on the CPU, anything else on CUDA)."""
    return CPU if isinstance(array, (np.ndarray, np.generic)) else backend("cuda").device


def move(array, target):
    """The array on the target backend's device (the same array when it is already there)."""
    if target.xp is np:
        return array if isinstance(array, np.ndarray) else array.get()
    return target.xp.asarray(array)
