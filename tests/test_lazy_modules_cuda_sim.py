"""Lazy modules (tests/test_lazy_modules.py) on a "cuda" device backed by the CUDA kernel table
under Numba's CUDA simulator: moved there uninitialized, materialised there by the first forward
(or by loading a state dict), then forward and backward against the CPU.

NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first imported and holds for the whole
process, so a plain run defines one test, which replays this file in a child process with it set
(as tests/test_modern_layers_cuda_sim.py does); the child defines the cases. The simulator runs
every CUDA thread in Python: shapes stay tiny."""
import os
import subprocess
import sys

import numpy as np
import pytest
from numba.core import config

if not config.ENABLE_CUDASIM:
    def test_lazy_modules_under_the_simulator():
        env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 os.path.abspath(__file__)],
                                capture_output=True, text=True, env=env, timeout=600)
        report = result.stdout[-6000:] + result.stderr[-2000:]
        assert result.returncode == 0, report
        summary = result.stdout.splitlines()[-1]
        assert " passed" in summary and "skipped" not in summary, report
else:
    import minigrad as mg
    from minigrad import nn
    from minigrad.device import Backend, Device, _backends
    from minigrad.kernels import cuda as GPU
    from minigrad.nn.parameter import is_lazy

    @pytest.fixture
    def simulated_cuda(monkeypatch):
        """A "cuda" backend with NumPy arrays and the simulated CUDA kernel table."""
        backend = Backend(Device("cuda"), np, GPU)
        monkeypatch.setitem(_backends, "cuda", backend)
        return backend

    def rand(*shape, seed=0):
        return np.random.default_rng(seed).uniform(-2, 2, shape)

    LAYERS = {
        "LazyLinear": (lambda: nn.LazyLinear(3), nn.Linear, rand(2, 4)),
        "LazyConv1d": (lambda: nn.LazyConv1d(2, 3, padding=1, groups=2), nn.Conv1d,
                       rand(2, 4, 5)),
        "LazyConv2d": (lambda: nn.LazyConv2d(2, 3, padding=1), nn.Conv2d, rand(1, 2, 4, 4)),
        "LazyConvTranspose2d": (lambda: nn.LazyConvTranspose2d(2, 2, stride=2),
                                nn.ConvTranspose2d, rand(1, 2, 2, 3)),
        "LazyBatchNorm1d": (lambda: nn.LazyBatchNorm1d(), nn.BatchNorm1d, rand(4, 3)),
        "LazyBatchNorm2d": (lambda: nn.LazyBatchNorm2d(), nn.BatchNorm2d, rand(2, 2, 2, 2)),
    }

    def all_tensors(layer):
        return [*layer.parameters(), *layer.buffers()]

    def run_on(device, name, state, dtype, load_first):
        """The output and the gradients of the input and parameters, and the state after one
        training step, of the lazy layer moved to `device` before it knows its shapes."""
        make_layer, eager, x = LAYERS[name]
        layer = make_layer().to(device)
        if dtype == mg.float64:
            layer.double()
        assert all(is_lazy(p) and p.device.type == device for p in layer.parameters())
        input = mg.tensor(x, dtype=dtype, device=device, requires_grad=True)
        if load_first:  # materialised by the state dict's shapes
            layer.load_state_dict(state)
            layer(input)
        else:  # materialised by a dry run, then given the same values
            layer(input)
            layer.load_state_dict(state)
        assert type(layer) is eager
        assert all(not is_lazy(t) and t.device.type == device for t in all_tensors(layer))
        assert all(p.dtype == dtype for p in layer.parameters())
        output = layer(input)
        assert output.device.type == device
        weights = mg.tensor(rand(*output.shape, seed=1), dtype=output.dtype, device=device)
        (output * weights).sum().backward()
        grads = [input.grad] + [p.grad for p in layer.parameters()]
        assert all(g.device.type == device for g in grads)
        states = [b.cpu().numpy() for b in layer.state_dict().values()]
        return [output.detach().cpu().numpy()] + [g.cpu().numpy() for g in grads] + states

    @pytest.mark.parametrize("load_first", [False, True])
    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    @pytest.mark.parametrize("name", sorted(LAYERS))
    def test_lazy_layer_on_simulated_cuda_matches_cpu(simulated_cuda, name, dtype, load_first):
        make_layer, _, x = LAYERS[name]
        mg.manual_seed(0)
        reference = make_layer()
        reference(mg.tensor(x, dtype=mg.float32))
        state = reference.state_dict()
        dtype = getattr(mg, dtype)
        cpu = run_on("cpu", name, state, dtype, load_first)
        cuda = run_on("cuda", name, state, dtype, load_first)
        tol = 1e-5 if dtype == mg.float32 else 1e-12
        assert len(cuda) == len(cpu)
        for cuda_value, cpu_value in zip(cuda, cpu):
            assert cuda_value.dtype == cpu_value.dtype
            np.testing.assert_allclose(cuda_value, cpu_value, rtol=tol, atol=tol)
        assert np.abs(cpu[0]).max() > 0  # a result that can disagree

    def test_materialised_on_simulated_cuda_with_the_eager_init(simulated_cuda):
        """The first forward on the device draws the init there, within the eager bounds."""
        layer = nn.LazyConv2d(3, 2).to("cuda")
        layer(mg.tensor(rand(1, 2, 3, 3), dtype=mg.float32, device="cuda"))
        bound = 1 / np.sqrt(2 * 2 * 2)
        for p in layer.parameters():
            values = p.detach().cpu().numpy()
            assert p.device.type == "cuda" and np.abs(values).max() <= bound
            assert values.std() > 0
