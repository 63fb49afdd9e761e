"""The CUDA kernel table (kernels/cuda) under Numba's CUDA simulator, where it runs on NumPy arrays:
every kernel against the CPU table and torch.nn.functional on small random shapes, then the op layer,
autograd, a model and an optimizer on a "cuda" device backed by the simulated table.

Not collected by a plain `pytest` run (no test_ prefix): numba.cuda is the simulator or the real
target for a whole process, so tests/test_kernels_cuda_sim.py runs this file in a child process with
NUMBA_ENABLE_CUDASIM=1. The simulator runs every CUDA thread in Python: shapes stay tiny.
"""
import importlib.util
import sys
import types

import numpy as np
import pytest
from numba.core import config

if not config.ENABLE_CUDASIM:
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 (run through tests/test_kernels_cuda_sim.py)",
                allow_module_level=True)

import minigrad as mg  # noqa: E402
from minigrad.device import Backend, Device, _backends  # noqa: E402
from minigrad.kernels import cpu as CPU  # noqa: E402
from minigrad.kernels import cuda as GPU  # noqa: E402
from minigrad.kernels.cuda import conv as gpu_conv  # noqa: E402
from minigrad.kernels.cuda import runtime  # noqa: E402
from minigrad.kernels.shapes import output_size  # noqa: E402

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float32, np.float64]
SEEDS = range(16)


def assert_close(actual, expected, dtype):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert isinstance(actual, np.ndarray) and actual.dtype == dtype
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def leaf(array):
    return torch.from_numpy(array.copy()).requires_grad_()


def draw_pair(rng, low, high):
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def test_the_table_runs_in_the_simulator_on_numpy():
    assert runtime.SIMULATED and runtime.xp is np
    assert sorted(GPU.__all__) == sorted(CPU.__all__)


def test_set_device_refuses_the_simulator(monkeypatch):
    """With CuPy and a GPU but NUMBA_ENABLE_CUDASIM set, the kernels would get NumPy arrays."""
    runtime_api = types.SimpleNamespace(getDeviceCount=lambda: 1)
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=runtime_api)))
    if importlib.util.find_spec("numba_cuda") is None:  # numba's own simulator runs the table too
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: object())
    with pytest.raises(RuntimeError, match="NUMBA_ENABLE_CUDASIM is set"):
        mg.set_device("cuda")


# ----- convolution -------------------------------------------------------------------------------
def conv_case(seed):
    rng = np.random.default_rng(seed)
    groups = int(rng.integers(1, 4))
    kernel, stride = draw_pair(rng, 1, 3), draw_pair(rng, 1, 3)
    dilation, padding = draw_pair(rng, 1, 2), draw_pair(rng, 0, 2)
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i]) + int(rng.integers(0, 4))
                 for i in range(2))
    shape = (int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))) + size
    w_shape = (groups * int(rng.integers(1, 3)), shape[1] // groups) + kernel
    return rng, shape, w_shape, (stride, padding, dilation, groups), bool(seed % 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_matches_cpu_and_torch(seed, dtype):
    rng, shape, w_shape, params, with_bias = conv_case(seed)
    x, w = rng.standard_normal(shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if with_bias else None
    xt, wt = leaf(x), leaf(w)
    bt = None if b is None else leaf(b)
    stride, padding, dilation, groups = params
    yt = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    grad_y = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.from_numpy(grad_y))

    y = GPU.conv2d_forward(x, w, b, *params)
    assert_close(y, yt, dtype)
    assert_close(y, CPU.conv2d_forward(x, w, b, *params), dtype)
    needs = (True, True, b is not None)
    grads = GPU.conv2d_backward(grad_y, x, w, needs, *params)
    on_cpu = CPU.conv2d_backward(grad_y, x, w, needs, *params)
    for grad, cpu_grad, torch_input in zip(grads, on_cpu, (xt, wt, bt)):
        if torch_input is None:
            assert grad is None
        else:
            assert_close(grad, torch_input.grad, dtype)
            assert_close(grad, cpu_grad, dtype)
    grad_x, _, grad_b = GPU.conv2d_backward(grad_y, x, w, (False, True, False), *params)
    assert grad_x is None and grad_b is None


def test_conv2d_in_chunks_of_samples_matches_one_chunk(monkeypatch):
    """A column budget of one sample's columns splits the batch into per-sample GEMMs."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 5, 4)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    params = ((1, 2), (1, 1), (1, 1), 1)
    whole = GPU.conv2d_forward(x, w, b, *params)
    grad_y = rng.standard_normal(whole.shape).astype(np.float32)
    grads = GPU.conv2d_backward(grad_y, x, w, (True, True, False), *params)[:2]
    per_sample = 2 * 3 * 2 * whole.shape[2] * whole.shape[3] * 4
    monkeypatch.setattr(gpu_conv, "COLUMN_BUDGET_BYTES", per_sample)
    geometry = gpu_conv._Geometry(x.shape, w.shape, *params)
    assert geometry.chunks(4) == [(0, 1), (1, 2), (2, 3)]
    assert_close(GPU.conv2d_forward(x, w, b, *params), whole, np.float32)
    for grad, whole_grad in zip(GPU.conv2d_backward(grad_y, x, w, (True, True, False), *params),
                                grads):
        assert_close(grad, whole_grad, np.float32)


def test_conv2d_output_shape_d2l():
    # d2l 7.3: kernel (3, 5), padding (0, 1), stride (3, 4) on 8 x 8 gives 2 x 2.
    x = np.zeros((1, 1, 8, 8), np.float32)
    w = np.zeros((1, 1, 3, 5), np.float32)
    assert GPU.conv2d_forward(x, w, None, (3, 4), (0, 1), (1, 1), 1).shape == (1, 1, 2, 2)


# ----- pooling -----------------------------------------------------------------------------------
def pool_case(seed, with_dilation):
    rng = np.random.default_rng(100 + seed)
    kernel, stride = draw_pair(rng, 1, 4), draw_pair(rng, 1, 3)
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)  # torch: padding <= k // 2
    dilation = draw_pair(rng, 1, 2) if with_dilation else (1, 1)
    size = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i]) + int(rng.integers(0, 4))
                 for i in range(2))
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 3))) + size)
    return rng, x, kernel, stride, padding, dilation, bool(seed % 2)


def every_window_reads_input(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """Whether no dilated window falls wholly on padding (then torch routes the gradient out of the
    plane; that case has a test of its own)."""
    for axis in range(2):
        size = x_shape[2 + axis]
        for o in range(output_size(size, kernel[axis], stride[axis], padding[axis], dilation[axis],
                                   ceil_mode)):
            taps = (o * stride[axis] - padding[axis] + k * dilation[axis] for k in range(kernel[axis]))
            if not any(0 <= tap < size for tap in taps):
                return False
    return True


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_max_pool2d_matches_cpu_and_torch(seed, dtype):
    rng, x, kernel, stride, padding, dilation, ceil_mode = pool_case(seed, with_dilation=True)
    x = x.astype(dtype)
    x.reshape(-1)[rng.integers(0, x.size)] = np.nan if seed % 3 == 0 else -np.inf
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    y, argmax = GPU.max_pool2d_forward(x, *geometry)
    y_cpu, argmax_cpu = CPU.max_pool2d_forward(x, *geometry)
    np.testing.assert_array_equal(y, y_cpu)
    np.testing.assert_array_equal(argmax, argmax_cpu)
    assert argmax.dtype == np.int32
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    grad_x = GPU.max_pool2d_backward(grad_y, argmax, x.shape, *geometry)
    # Same gradients in the same order of addition as the CPU: bit for bit.
    np.testing.assert_array_equal(grad_x, CPU.max_pool2d_backward(grad_y, argmax_cpu, x.shape,
                                                                  *geometry))
    if every_window_reads_input(x.shape, *geometry):
        xt = leaf(x)
        yt = F.max_pool2d(xt, *geometry)
        yt.backward(torch.from_numpy(grad_y))
        np.testing.assert_array_equal(y, yt.detach().numpy())
        assert_close(grad_x, xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_max_pool2d_matches_cpu_and_torch(seed, dtype):
    rng, x, kernel, stride, padding, dilation, ceil_mode = pool_case(seed, with_dilation=False)
    x = np.round(x * 2).astype(dtype)  # ties, and windows of non-positives
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    y, argmax = GPU.relu_max_pool2d_forward(x, *geometry)
    y_cpu, argmax_cpu = CPU.relu_max_pool2d_forward(x, *geometry)
    np.testing.assert_array_equal(y, y_cpu)
    np.testing.assert_array_equal(argmax, argmax_cpu)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    grad_x = GPU.relu_max_pool2d_backward(grad_y, y, argmax, x.shape, *geometry)
    np.testing.assert_array_equal(grad_x, CPU.relu_max_pool2d_backward(grad_y, y_cpu, argmax_cpu,
                                                                       x.shape, *geometry))
    xt = leaf(x)
    yt = F.max_pool2d(F.relu(xt), *geometry)
    yt.backward(torch.from_numpy(grad_y))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    assert_close(grad_x, xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, size, padding", [(9, 10, 1), (2, 7, 0)])
def test_conv2d_relu_max_pool2d_matches_cpu(n, size, padding, dtype):
    # the CPU's direct loops pool in the convolution and route the gradient back as they weave it
    rng = np.random.default_rng(size)
    x = rng.standard_normal((n, 2, size, size)).astype(dtype)
    w, b = rng.standard_normal((3, 2, 3, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)
    geometry = ((1, 1), (padding, padding), (1, 1), 1), ((2, 2), (2, 2), (0, 0), (1, 1), False)
    y, argmax = GPU.conv2d_relu_max_pool2d_forward(x, w, b, *geometry)
    y_cpu, argmax_cpu = CPU.conv2d_relu_max_pool2d_forward(x, w, b, *geometry)
    assert_close(y, y_cpu, dtype)
    np.testing.assert_array_equal(argmax, argmax_cpu)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    for needs in ((True, True, True), (False, True, False)):
        grads = GPU.conv2d_relu_max_pool2d_backward(grad_y, y, argmax, x, w, needs, *geometry)
        on_cpu = CPU.conv2d_relu_max_pool2d_backward(grad_y, y_cpu, argmax_cpu, x, w, needs,
                                                     *geometry)
        for grad, cpu_grad, need in zip(grads, on_cpu, needs):
            if need:
                assert_close(grad, cpu_grad, dtype)
            else:
                assert grad is None and cpu_grad is None


def test_max_pool2d_d2l_example():
    # d2l 7.5: kernel 3, padding 1, stride (2, 1).
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    y, _ = GPU.max_pool2d_forward(x, (3, 3), (2, 1), (1, 1), (1, 1), False)
    expected = [[[[5, 6, 7, 7], [13, 14, 15, 15]], [[21, 22, 23, 23], [29, 30, 31, 31]]]]
    np.testing.assert_array_equal(y, np.array(expected, np.float32))


def test_max_pool2d_dilated_window_that_misses_the_input():
    # Only padding under the window: -inf out, as in torch, and the gradient is dropped.
    x = np.ones((1, 1, 1, 1), np.float32)
    geometry = ((2, 2), (1, 1), (1, 1), (2, 2), False)
    y, argmax = GPU.max_pool2d_forward(x, *geometry)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == -np.inf
    np.testing.assert_array_equal(GPU.max_pool2d_backward(np.ones_like(y), argmax, x.shape,
                                                          *geometry), np.zeros_like(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_avg_pool2d_matches_cpu_and_torch(seed, dtype):
    rng, x, kernel, stride, padding, _, ceil_mode = pool_case(seed, with_dilation=False)
    x = x.astype(dtype)
    count_include_pad = seed % 4 < 2
    divisor_override = int(rng.integers(1, 6)) if seed % 3 == 2 else None
    geometry = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    xt = leaf(x)
    yt = F.avg_pool2d(xt, *geometry)
    grad_y = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.from_numpy(grad_y))

    y = GPU.avg_pool2d_forward(x, *geometry)
    assert_close(y, yt, dtype)
    assert_close(y, CPU.avg_pool2d_forward(x, *geometry), dtype)
    grad_x = GPU.avg_pool2d_backward(grad_y, x.shape, *geometry)
    assert_close(grad_x, xt.grad, dtype)
    assert_close(grad_x, CPU.avg_pool2d_backward(grad_y, x.shape, *geometry), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_adaptive_pooling_matches_cpu_and_torch(seed, dtype):
    rng = np.random.default_rng(200 + seed)
    size, out = draw_pair(rng, 1, 7), draw_pair(rng, 1, 8)  # out > size repeats input elements
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 3))) + size).astype(dtype)
    xt = leaf(x)
    yt_avg, yt_max = F.adaptive_avg_pool2d(xt, out), F.adaptive_max_pool2d(xt, out)
    grad_avg = rng.standard_normal(tuple(yt_avg.shape)).astype(dtype)
    grad_max = rng.standard_normal(tuple(yt_max.shape)).astype(dtype)
    (yt_avg * torch.from_numpy(grad_avg)).sum().backward()
    avg_grad_t, xt.grad = xt.grad.clone(), None
    (yt_max * torch.from_numpy(grad_max)).sum().backward()

    assert_close(GPU.adaptive_avg_pool2d_forward(x, out), yt_avg, dtype)
    grad_x = GPU.adaptive_avg_pool2d_backward(grad_avg, x.shape)
    assert_close(grad_x, avg_grad_t, dtype)
    assert_close(grad_x, CPU.adaptive_avg_pool2d_backward(grad_avg, x.shape), dtype)
    y, argmax = GPU.adaptive_max_pool2d_forward(x, out)
    np.testing.assert_array_equal(y, yt_max.detach().numpy())
    np.testing.assert_array_equal(argmax, CPU.adaptive_max_pool2d_forward(x, out)[1])
    grad_x = GPU.adaptive_max_pool2d_backward(grad_max, argmax, x.shape)
    assert_close(grad_x, xt.grad, dtype)


# ----- batch norm --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_batch_norm_matches_cpu_and_torch(seed, dtype):
    """Seeds 6 and 7 have enough values per channel for the kernels to split each channel into
    chunks and merge their statistics."""
    rng = np.random.default_rng(300 + seed)
    largest = 6 if seed < 6 else 16
    smallest = 1 if seed < 6 else 6
    shape = (int(rng.integers(2, 5)), int(rng.integers(1, 5)), int(rng.integers(smallest, largest)),
             int(rng.integers(smallest, largest)))
    x = (rng.standard_normal(shape) + rng.uniform(-3, 3)).astype(dtype)
    gamma, beta = rng.standard_normal((2, shape[1])).astype(dtype)
    xt, gammat, betat = leaf(x), leaf(gamma), leaf(beta)
    yt = F.batch_norm(xt, None, None, gammat, betat, training=True, eps=1e-5)
    grad_y = rng.standard_normal(shape).astype(dtype)
    yt.backward(torch.from_numpy(grad_y))

    running_mean, running_var = rng.standard_normal((2, shape[1])).astype(dtype)
    running_var = np.abs(running_var)
    running_mean_t, running_var_t = torch.tensor(running_mean), torch.tensor(running_var)
    momentum = float(rng.uniform(0, 1))
    F.batch_norm(torch.from_numpy(x), running_mean_t, running_var_t, training=True,
                 momentum=momentum, eps=1e-5)  # updates the running statistics in place

    y, mean, invstd = GPU.batch_norm_forward(x, gamma, beta, 1e-5, running_mean, running_var,
                                             momentum)
    y_cpu, mean_cpu, invstd_cpu = CPU.batch_norm_forward(x, gamma, beta, 1e-5)
    assert_close(y, yt, dtype)
    assert_close(mean, mean_cpu, dtype)
    assert_close(invstd, invstd_cpu, dtype)
    assert_close(running_mean, running_mean_t, dtype)
    assert_close(running_var, running_var_t, dtype)
    grads = GPU.batch_norm_backward(grad_y, x, gamma, mean, invstd)
    for grad, expected in zip(grads, (xt.grad, gammat.grad, betat.grad)):
        assert_close(grad, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_relu_matches_cpu(dtype):
    rng = np.random.default_rng(310)
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    gamma, beta = rng.standard_normal((2, 4)).astype(dtype)
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    y, mean, invstd = GPU.batch_norm_forward(x, gamma, beta, 1e-5, relu=True)
    y_cpu, mean_cpu, invstd_cpu = CPU.batch_norm_forward(x, gamma, beta, 1e-5, relu=True)
    assert np.isnan(y[:, 0]).all() and (y[:, 1:] == 0).any()
    assert_close(y, y_cpu, dtype)
    grads = GPU.batch_norm_backward(grad_y, x, gamma, mean, invstd, y)
    on_cpu = CPU.batch_norm_backward(grad_y, x, gamma, mean_cpu, invstd_cpu, y_cpu)
    for grad, cpu_grad in zip(grads, on_cpu):
        assert_close(grad, cpu_grad, dtype)


# ----- relu --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_matches_cpu(dtype):
    x = np.random.default_rng(400).standard_normal((3, 70000)).astype(dtype)  # CPU: its kernel path
    x[0, :3] = np.nan, -np.inf, np.inf
    grad_y = np.random.default_rng(401).standard_normal(x.shape).astype(dtype)
    y = GPU.relu_forward(x)
    np.testing.assert_array_equal(y, CPU.relu_forward(x))
    np.testing.assert_array_equal(GPU.relu_backward(grad_y, y), CPU.relu_backward(grad_y, y))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_matches_cpu_and_torch(dtype):
    x = np.random.default_rng(402).standard_normal((2, 300)).astype(dtype) * 40
    x[0, :3] = np.nan, -np.inf, np.inf
    grad_y = np.random.default_rng(403).standard_normal(x.shape).astype(dtype)
    y = GPU.sigmoid_forward(x)
    assert_close(y, CPU.sigmoid_forward(x), dtype)
    assert_close(y, torch.sigmoid(torch.from_numpy(x)), dtype)
    assert_close(GPU.sigmoid_backward(grad_y, y), CPU.sigmoid_backward(grad_y, y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_cpu(dtype):
    rng = np.random.default_rng(404)
    logits = rng.standard_normal((7, 5)).astype(dtype) * 30
    logits[0, 0], logits[1, 1], logits[2, :] = np.nan, np.inf, 1e4
    target = rng.integers(0, 5, 7)
    logits[3, target[3]] = -np.inf
    scale = rng.uniform(0.2, 2.0, 7).astype(dtype)
    scale[4] = 0
    grad = rng.standard_normal(7).astype(dtype)
    losses, lse = GPU.cross_entropy_forward(logits, target, scale)
    expected_losses, expected_lse = CPU.cross_entropy_forward(logits, target, scale)
    np.testing.assert_array_equal(np.isnan(losses), np.isnan(expected_losses))
    assert np.isposinf(losses[3]) and np.isnan(losses[:2]).all()
    assert_close(losses[2:], expected_losses[2:], dtype)
    assert_close(lse, expected_lse, dtype)
    grad_logits = GPU.cross_entropy_backward(grad, logits, lse, target, scale)
    assert_close(grad_logits, CPU.cross_entropy_backward(grad, logits, lse, target, scale), dtype)


# ----- the SGD update ----------------------------------------------------------------------------
SGD_OPTIONS = [dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
               dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
               dict(momentum=0.9, dampening=0.3, weight_decay=0.01, nesterov=False, maximize=True),
               dict(momentum=0.8, dampening=0.0, weight_decay=0.01, nesterov=True, maximize=False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_update_matches_cpu(options, strided, dtype):
    rng = np.random.default_rng(500)
    start = rng.standard_normal((7, 5)).astype(dtype)
    params = {table: (start.T.copy().T if strided else start.copy()) for table in (CPU, GPU)}
    buffers = {table: np.empty((7, 5), dtype) for table in (CPU, GPU)}
    for step in range(3):
        grad = rng.standard_normal((7, 5)).astype(dtype)
        for table in (CPU, GPU):
            buf = buffers[table] if options["momentum"] else None
            table.sgd_update(params[table], grad, buf, 0.1, first_step=step == 0, **options)
        assert params[GPU].flags.c_contiguous == (not strided)
        assert_close(params[GPU], params[CPU], dtype)
        if options["momentum"]:
            assert_close(buffers[GPU], buffers[CPU], dtype)
    assert not np.allclose(params[GPU], start)


# ----- the op layer on a "cuda" device backed by the simulated table -----------------------------
@pytest.fixture
def simulated_cuda(monkeypatch):
    """A "cuda" backend with NumPy arrays and the simulated CUDA table: the op layer, autograd,
    modules and optimizers run their device-independent code on the CUDA kernels."""
    backend = Backend(Device("cuda"), np, GPU)
    monkeypatch.setitem(_backends, "cuda", backend)
    return backend


def small_cnn():
    """Every kernel of the table in one small net: conv (grouped, strided, padded), batch norm,
    max, average and adaptive pooling."""
    return mg.nn.Sequential(
        mg.nn.Conv2d(2, 4, kernel_size=3, padding=1), mg.nn.BatchNorm2d(4), mg.nn.ReLU(),
        mg.nn.MaxPool2d(2, ceil_mode=True),
        mg.nn.Conv2d(4, 4, kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), groups=2),
        mg.nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        mg.nn.AdaptiveMaxPool2d((3, 2)), mg.nn.AdaptiveAvgPool2d(1), mg.nn.Flatten(),
        mg.nn.Linear(4, 3))


def test_training_steps_on_simulated_cuda_match_cpu(simulated_cuda):
    mg.manual_seed(0)
    cpu_net = small_cnn()
    cuda_net = small_cnn()
    cuda_net.load_state_dict(cpu_net.state_dict())
    cuda_net.to("cuda")
    assert all(p.device.type == "cuda" for p in cuda_net.parameters())
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    target = rng.integers(0, 3, size=3)
    nets = {"cpu": cpu_net, "cuda": cuda_net}
    optimizers = {name: mg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
                  for name, net in nets.items()}
    for step in range(2):
        losses = {}
        for name, net in nets.items():
            loss = mg.nn.functional.cross_entropy(net(mg.tensor(x).to(name)),
                                                  mg.tensor(target).to(name))
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            losses[name] = loss.item()
        assert losses["cuda"] == pytest.approx(losses["cpu"], rel=1e-5)
    for (name, p), q in zip(cpu_net.named_parameters(), cuda_net.parameters()):
        np.testing.assert_allclose(q.detach().cpu().numpy(), p.detach().numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)
    cpu_state, cuda_state = cpu_net.state_dict(), cuda_net.state_dict()
    for key in ("1.running_mean", "1.running_var"):
        np.testing.assert_allclose(cuda_state[key].numpy(), cpu_state[key].numpy(), rtol=1e-5)


def test_functional_ops_on_simulated_cuda_match_cpu(simulated_cuda):
    F_mg = mg.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    ops = [
        lambda x, w: F_mg.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)),
        lambda x, w: F_mg.max_pool2d(x, 3, stride=(2, 1), padding=1, dilation=(2, 1)),
        lambda x, w: F_mg.avg_pool2d(x, (2, 3), padding=(1, 1), ceil_mode=True, divisor_override=4),
        lambda x, w: F_mg.adaptive_avg_pool2d(x, (4, 3)),
        lambda x, w: F_mg.adaptive_max_pool2d(x, 2),
        lambda x, w: F_mg.batch_norm(x, None, None, training=True),
    ]
    for op in ops:
        results = {}
        for name in ("cpu", "cuda"):
            xt = mg.tensor(x, dtype=mg.float64, device=name, requires_grad=True)
            wt = mg.tensor(w, dtype=mg.float64, device=name, requires_grad=True)
            out = op(xt, wt)
            (out * out).sum().backward()
            assert out.device.type == name and xt.grad.device.type == name
            results[name] = (out.detach().cpu().numpy(), xt.grad.cpu().numpy())
        for cuda_value, cpu_value in zip(results["cuda"], results["cpu"]):
            np.testing.assert_allclose(cuda_value, cpu_value, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("model, shape", [
    (lambda: mg.models.lenet(), (2, 1, 28, 28)),
    (lambda: mg.models.resnet18(small_input=True), (2, 1, 8, 8)),
], ids=["lenet", "resnet18"])
def test_zoo_models_on_simulated_cuda_match_cpu(simulated_cuda, model, shape):
    # float64: at batch 2, float32 rounding differences grow through ResNet's batch norms (a
    # channel of two values) to 1e-3; in float64 the two devices must agree to 1e-9.
    mg.manual_seed(0)
    cpu_net = model().double()
    cuda_net = model().double()
    cuda_net.load_state_dict(cpu_net.state_dict())
    cuda_net.to("cuda")
    x = np.random.default_rng(3).standard_normal(shape)
    outputs = {}
    for name, net in (("cpu", cpu_net), ("cuda", cuda_net)):
        out = net(mg.tensor(x, device=name))
        (out * out).sum().backward()
        outputs[name] = out.detach().cpu().numpy()
    np.testing.assert_allclose(outputs["cuda"], outputs["cpu"], rtol=1e-9, atol=1e-12)
    for (name, p), q in zip(cpu_net.named_parameters(), cuda_net.parameters()):
        scale = max(1.0, float(np.abs(p.grad.numpy()).max()))
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.numpy(), rtol=1e-7,
                                   atol=1e-9 * scale, err_msg=name)


# ----- erf, erfc, erfinv -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_error_functions_match_cpu_and_torch(dtype):
    rng = np.random.default_rng(7)
    edges = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1.5, -1 + 1e-7, 0.5], dtype)
    x = np.concatenate([rng.uniform(-1, 1, 60).astype(dtype), edges])[::-1]  # a strided view
    for name in ("erf", "erfc", "erfinv"):
        actual = getattr(GPU, name)(x)
        # the device's float64 erf may round differently from the CPU's: a few ulps apart
        np.testing.assert_allclose(actual, getattr(CPU, name)(x), rtol=4 * np.finfo(dtype).eps,
                                   atol=0, err_msg=name)
        assert_close(actual, getattr(torch, name)(torch.from_numpy(x.copy())), dtype)
