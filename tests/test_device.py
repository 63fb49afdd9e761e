"""The device layer without a GPU: what set_device("cuda") says when a part of the GPU stack is missing
(CuPy, a GPU, numba-cuda), that asking imports nothing GPU-related, and DLPack interop on the CPU."""
import importlib.util
import subprocess
import sys
import types

import numpy as np
import pytest

from helpers import SELFTEST, mg

pytestmark = pytest.mark.skipif(SELFTEST, reason="minigrad's device layer")


def fake_cupy(device_count):
    """A stand-in for CuPy whose runtime reports `device_count` GPUs, or raises it if an error."""
    def get_device_count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count
    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.fixture
def loader(monkeypatch):
    """device._load_cuda with a fake CuPy, and numba-cuda present or not."""
    from minigrad.device import _load_cuda

    def load(cupy, numba_cuda=True):
        monkeypatch.setitem(sys.modules, "cupy", cupy)
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: (
            find_spec(name, *args) if name != "numba_cuda" or numba_cuda else None))
        return _load_cuda()
    return load


def test_cupy_missing_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    with pytest.raises(RuntimeError, match=r'set_device\("cuda"\): CuPy is not installed'):
        mg.set_device("cuda")
    assert str(mg.get_device()) == "cpu"
    with pytest.raises(RuntimeError, match=r'set_device\("cuda"\): CuPy is not installed'):
        mg.cuda.CUDAGraph()
    assert not mg.cuda.is_current_stream_capturing()


def test_no_gpu_is_named(loader):
    with pytest.raises(RuntimeError, match="CuPy is installed but no GPU was found"):
        loader(fake_cupy(0))
    with pytest.raises(RuntimeError, match="no GPU is usable .cudaErrorNoDevice"):
        loader(fake_cupy(RuntimeError("cudaErrorNoDevice")))


def test_numba_cuda_missing_is_named(loader):
    with pytest.raises(RuntimeError, match="numba-cuda is not installed"):
        loader(fake_cupy(1), numba_cuda=False)


def test_asking_about_the_gpu_imports_nothing_gpu_related():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here")
    code = ("import sys, minigrad as mg\n"
            "assert mg.cuda.is_available() is False\n"
            "x = mg.randn(2, 1, 8, 8, requires_grad=True)\n"
            "y = mg.nn.functional.conv2d(x, mg.randn(3, 1, 3, 3))\n"
            "mg.nn.functional.max_pool2d(y, 2).sum().backward()\n"
            "print('LOADED', [m for m in ('cupy', 'numba.cuda', 'numba_cuda') if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "LOADED []" in result.stdout, result.stdout


# ----- DLPack on the CPU -----------------------------------------------------------------------
def test_dlpack_with_torch_shares_memory_both_ways():
    torch = pytest.importorskip("torch")
    t = mg.tensor([1.0, 2.0, 3.0])
    exported = torch.from_dlpack(t)
    exported[0] = 5
    assert t.tolist() == [5.0, 2.0, 3.0]
    t[1] = 7
    assert exported.tolist() == [5.0, 7.0, 3.0]

    source = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    imported = mg.from_dlpack(source)
    assert imported.dtype == mg.float64 and imported.device.type == "cpu"
    assert tuple(imported.shape) == (2, 3)
    source.add_(1)
    assert imported[0, 0].item() == 1.0
    imported[1, 2] = -1
    assert source[1, 2].item() == -1
    assert mg.from_dlpack(torch.arange(3)).dtype == mg.int64
    transposed = mg.from_dlpack(torch.arange(12.0).reshape(3, 4).t())  # strided views too
    np.testing.assert_array_equal(transposed.numpy(), np.arange(12.0).reshape(3, 4).T)


def test_dlpack_with_numpy_shares_memory_both_ways():
    array = np.arange(4.0)
    t = mg.from_dlpack(array)
    array[0] = 9
    assert t[0].item() == 9
    back = np.from_dlpack(t)
    back[3] = -3
    assert t[3].item() == -3
    assert t.__dlpack_device__() == (1, 0)
    assert t.numpy() is t._data  # a CPU tensor's numpy() shares its memory


def test_dlpack_errors():
    with pytest.raises(RuntimeError, match="requires grad"):
        np.from_dlpack(mg.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="from_dlpack expects an object with __dlpack__"):
        mg.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="complex64"):
        mg.from_dlpack(np.ones(2, np.complex64))
