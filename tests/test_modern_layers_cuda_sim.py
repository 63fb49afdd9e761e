"""The layers of modern CNNs (tests/test_modern_layers.py) on a "cuda" device backed by the CUDA
kernel table under Numba's CUDA simulator, forward and backward, against the CPU.

NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first imported and holds for the whole
process, so a plain run defines one test, which replays this file in a child process with it set
(as tests/test_kernels_cuda_sim.py does for tests/cuda_sim_cases.py); the child defines the cases.
The simulator runs every CUDA thread in Python: shapes stay tiny."""
import os
import subprocess
import sys

import numpy as np
import pytest
from numba.core import config

if not config.ENABLE_CUDASIM:
    def test_modern_layers_under_the_simulator():
        pytest.importorskip("torch")
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

    F = nn.functional
    INDICES = np.array([[1, 4, 1], [0, 5, 4]])

    @pytest.fixture
    def simulated_cuda(monkeypatch):
        """A "cuda" backend with NumPy arrays and the simulated CUDA kernel table."""
        backend = Backend(Device("cuda"), np, GPU)
        monkeypatch.setitem(_backends, "cuda", backend)
        return backend

    def rand(*shape, seed=0):
        return np.random.default_rng(seed).uniform(-2, 2, shape)

    def run_on(device, make_layer, state, x, dtype, training):
        """The layer's output and the gradients of its input and parameters on `device`."""
        mg.manual_seed(3)  # the same channel-dropout masks on both devices
        layer = make_layer()
        layer.load_state_dict(state)
        layer.to(device)
        if dtype == mg.float64:
            layer.double()
        layer.train(training)
        floating = x.dtype.kind == "f"
        input = mg.tensor(x, dtype=dtype if floating else None, device=device,
                          requires_grad=floating)
        output = layer(input)
        assert output.device.type == device
        weights = mg.tensor(rand(*output.shape, seed=1), dtype=output.dtype, device=device)
        (output * weights).sum().backward()
        grads = [input.grad] if floating else []
        grads += [p.grad for p in layer.parameters() if p.requires_grad]
        assert all(g.device.type == device for g in grads)
        buffers = [b.cpu().numpy() for b in layer.state_dict().values()]
        return [output.detach().cpu().numpy()] + [g.cpu().numpy() for g in grads] + buffers

    LAYERS = {
        "Conv1d": (lambda: nn.Conv1d(4, 2, 3, stride=2, padding=1, groups=2), rand(2, 4, 7)),
        "Conv1d_same": (lambda: nn.Conv1d(2, 3, 2, padding="same", dilation=2), rand(1, 2, 5)),
        "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 4, (3, 2), stride=2, padding=1,
                                                       output_padding=1, groups=2),
                            rand(2, 2, 3, 2)),
        "ConvTranspose2d_dilated": (lambda: nn.ConvTranspose2d(2, 1, 2, dilation=2,
                                                               output_padding=1),
                                    rand(1, 2, 3, 3)),
        "LayerNorm": (lambda: nn.LayerNorm((3, 2)), rand(2, 4, 3, 2)),
        "GroupNorm": (lambda: nn.GroupNorm(2, 4), rand(2, 4, 3)),
        "InstanceNorm2d": (lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                           rand(2, 3, 3, 2)),
        "Dropout1d": (lambda: nn.Dropout1d(0.5), rand(4, 3, 5)),
        "Dropout2d": (lambda: nn.Dropout2d(0.5), rand(3, 4, 2, 2)),
        "Upsample_bilinear": (lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"),
                              rand(1, 2, 3, 4)),
        "UpsamplingNearest2d": (lambda: nn.UpsamplingNearest2d(size=(5, 3)), rand(1, 2, 2, 2)),
        "PixelShuffle": (lambda: nn.PixelShuffle(2), rand(1, 8, 2, 3)),
        "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), rand(1, 2, 4, 2)),
        "Embedding": (lambda: nn.Embedding(6, 3, padding_idx=1), INDICES),
        "Unfold": (lambda: nn.Unfold(2, padding=1, stride=(1, 2)), rand(2, 3, 3, 4)),
        "Fold": (lambda: nn.Fold((3, 4), 2), rand(2, 8, 6)),
    }

    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    @pytest.mark.parametrize("name", sorted(LAYERS))
    def test_layer_on_simulated_cuda_matches_cpu(simulated_cuda, name, dtype):
        make_layer, x = LAYERS[name]
        mg.manual_seed(0)
        state = make_layer().state_dict()
        dtype = getattr(mg, dtype)
        cpu = run_on("cpu", make_layer, state, x, dtype, training=True)
        cuda = run_on("cuda", make_layer, state, x, dtype, training=True)
        tol = 1e-5 if dtype == mg.float32 else 1e-12
        assert len(cuda) == len(cpu)
        for cuda_value, cpu_value in zip(cuda, cpu):
            assert cuda_value.dtype == cpu_value.dtype
            np.testing.assert_allclose(cuda_value, cpu_value, rtol=tol, atol=tol)
        assert np.abs(cpu[0]).max() > 0  # a result that can disagree
