"""The GPU suite (marked `gpu`; `python -m pytest -m gpu` runs only it): the CUDA kernel table on
CuPy arrays against the CPU table, every op forward and backward on "cuda" against the same op on the
CPU and against PyTorch on CUDA (when torch has CUDA), every model of the zoo on cuda against the CPU,
devices, DLPack interop and CuPy's memory pool. Skipped where mg.cuda.is_available() is False."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.device import backend
from minigrad.kernels import cpu as CPU

pytestmark = pytest.mark.gpu

if not mg.cuda.is_available():
    pytest.skip("no usable GPU (needs CuPy, numba-cuda and an NVIDIA GPU)", allow_module_level=True)

GPU = backend("cuda")
F = mg.nn.functional

try:
    import torch
    TORCH_CUDA = torch.cuda.is_available()
except ImportError:  # pragma: no cover
    torch, TORCH_CUDA = None, False
if TORCH_CUDA:  # compare with full float32 GEMMs and convolutions, as minigrad's
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
TORCH_DEVICE = "cuda"


@pytest.fixture(autouse=True)
def _back_to_cpu():
    yield
    mg.set_device("cpu")


def on_gpu(array):
    return GPU.xp.asarray(array)


def on_host(array):
    return array if isinstance(array, np.ndarray) else array.get()


def assert_close(actual, expected, dtype, tol32=1e-4):
    actual, expected = on_host(actual), on_host(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    tol = tol32 if dtype == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(expected[np.isfinite(expected)]).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


# ----- the kernel table on CuPy arrays, against the CPU table ------------------------------------
def conv_cases():
    rng = np.random.default_rng(0)
    cases = [((32, 64, 32, 32), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # ResNet
             ((256, 6, 14, 14), (16, 6, 5, 5), ((1, 1), (0, 0), (1, 1), 1)),    # LeNet
             ((8, 64, 16, 16), (128, 64, 1, 1), ((2, 2), (0, 0), (1, 1), 1))]   # 1x1 stride 2
    for _ in range(12):
        groups = int(rng.integers(1, 4))
        kernel, stride = tuple(rng.integers(1, 5, 2)), tuple(rng.integers(1, 4, 2))
        dilation, padding = tuple(rng.integers(1, 3, 2)), tuple(rng.integers(0, 3, 2))
        size = tuple(int(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i])
                         + rng.integers(0, 12)) for i in range(2))
        x_shape = (int(rng.integers(1, 5)), groups * int(rng.integers(1, 5))) + size
        w_shape = (groups * int(rng.integers(1, 5)), x_shape[1] // groups) + tuple(map(int, kernel))
        params = (tuple(map(int, stride)), tuple(map(int, padding)), tuple(map(int, dilation)),
                  groups)
        cases.append((x_shape, w_shape, params))
    return cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", conv_cases(), ids=str)
def test_conv2d_kernels_match_cpu(case, dtype):
    x_shape, w_shape, params = case
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    y = CPU.conv2d_forward(x, w, b, *params)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    kernels = GPU.kernels
    assert_close(kernels.conv2d_forward(on_gpu(x), on_gpu(w), on_gpu(b), *params), y, dtype)
    for needs in ((True, True, True), (True, False, False), (False, True, False)):
        grads = kernels.conv2d_backward(on_gpu(grad_y), on_gpu(x), on_gpu(w), needs, *params)
        expected = CPU.conv2d_backward(grad_y, x, w, needs, *params)
        for grad, want in zip(grads, expected):
            assert (grad is None) == (want is None)
            if want is not None:
                assert_close(grad, want, dtype)


POOL_CASES = [((2, 2), (2, 2), (0, 0), (1, 1), False), ((3, 3), (2, 2), (1, 1), (1, 1), False),
              ((3, 2), (2, 1), (1, 1), (2, 1), True), ((4, 4), (3, 3), (2, 2), (1, 1), True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", POOL_CASES, ids=str)
def test_pooling_kernels_match_cpu(geometry, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 17, 13)).astype(dtype)
    x[0, 0, 3, 3], x[1, 2, 5, 6] = np.nan, -np.inf
    kernels = GPU.kernels
    y, argmax = CPU.max_pool2d_forward(x, *geometry)
    y_gpu, argmax_gpu = kernels.max_pool2d_forward(on_gpu(x), *geometry)
    np.testing.assert_array_equal(on_host(y_gpu), y)
    np.testing.assert_array_equal(on_host(argmax_gpu), argmax)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(
        on_host(kernels.max_pool2d_backward(on_gpu(grad_y), argmax_gpu, x.shape, *geometry)),
        CPU.max_pool2d_backward(grad_y, argmax, x.shape, *geometry))
    x = np.nan_to_num(x, neginf=0.0)
    kernel, stride, padding, _, ceil_mode = geometry
    for count_include_pad, divisor in ((True, None), (False, None), (True, 3)):
        avg = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
        y = CPU.avg_pool2d_forward(x, *avg)
        assert_close(kernels.avg_pool2d_forward(on_gpu(x), *avg), y, dtype)
        grad_y = rng.standard_normal(y.shape).astype(dtype)
        assert_close(kernels.avg_pool2d_backward(on_gpu(grad_y), x.shape, *avg),
                     CPU.avg_pool2d_backward(grad_y, x.shape, *avg), dtype)
    for out in ((1, 1), (5, 4), (20, 30)):
        assert_close(kernels.adaptive_avg_pool2d_forward(on_gpu(x), out),
                     CPU.adaptive_avg_pool2d_forward(x, out), dtype)
        y, argmax = CPU.adaptive_max_pool2d_forward(x, out)
        y_gpu, argmax_gpu = kernels.adaptive_max_pool2d_forward(on_gpu(x), out)
        np.testing.assert_array_equal(on_host(argmax_gpu), argmax)
        grad_y = rng.standard_normal(y.shape).astype(dtype)
        assert_close(kernels.adaptive_max_pool2d_backward(on_gpu(grad_y), argmax_gpu, x.shape),
                     CPU.adaptive_max_pool2d_backward(grad_y, argmax, x.shape), dtype)
        assert_close(kernels.adaptive_avg_pool2d_backward(on_gpu(grad_y), x.shape),
                     CPU.adaptive_avg_pool2d_backward(grad_y, x.shape), dtype)


def test_relu_kernels_match_cpu():
    x = np.random.default_rng(7).standard_normal((300, 500)).astype(np.float32)
    x[0, :3] = np.nan, -np.inf, np.inf
    grad_y = np.ones_like(x)
    y = CPU.relu_forward(x)
    np.testing.assert_array_equal(on_host(GPU.kernels.relu_forward(on_gpu(x))), y)
    np.testing.assert_array_equal(on_host(GPU.kernels.relu_backward(on_gpu(grad_y), on_gpu(y))),
                                  CPU.relu_backward(grad_y, y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_kernels_match_cpu(dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((16, 32, 9, 9)) + 2).astype(dtype)
    gamma, beta = rng.standard_normal((2, 32)).astype(dtype)
    expected = CPU.batch_norm_forward(x, gamma, beta, 1e-5)
    result = GPU.kernels.batch_norm_forward(on_gpu(x), on_gpu(gamma), on_gpu(beta), 1e-5)
    for actual, wanted in zip(result, expected):
        assert_close(actual, wanted, dtype)
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    expected = CPU.batch_norm_backward(grad_y, x, gamma, expected[1], expected[2])
    result = GPU.kernels.batch_norm_backward(on_gpu(grad_y), on_gpu(x), on_gpu(gamma), result[1],
                                             result[2])
    for actual, wanted in zip(result, expected):
        assert_close(actual, wanted, dtype, tol32=1e-3)


# ----- every op on cuda: against the CPU and against torch on CUDA -------------------------------
def _inputs(module, arrays, device):
    built = []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            built.append(a)
        elif module is mg:
            built.append(mg.tensor(a, device=device, requires_grad=a.dtype.kind == "f"))
        else:
            built.append(torch.tensor(a, device=device, requires_grad=a.dtype.kind == "f"))
    return built


def _run(module, fn, arrays, device, upstream):
    inputs = _inputs(module, arrays, device)
    out = fn(module, *inputs)
    values = {"out": out.detach().cpu().numpy()}
    if out.requires_grad:
        grad = upstream(tuple(out.shape), out.detach().cpu().numpy().dtype)
        out.backward(mg.tensor(grad, device=device) if module is mg else
                     torch.tensor(grad, device=device))
        for i, t in enumerate(inputs):
            if getattr(t, "requires_grad", False) and t.grad is not None:
                values[f"grad {i}"] = t.grad.cpu().numpy()
    return values


def check_cuda(fn, *arrays, tol32=1e-4, seed=0):
    """fn(module, *tensors) on the CPU and on cuda with minigrad, and on CUDA with torch: values
    and input gradients (same random upstream gradient) agree."""
    def upstream(shape, dtype):
        return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    cpu = _run(mg, fn, arrays, "cpu", upstream)
    cuda = _run(mg, fn, arrays, "cuda", upstream)
    assert cpu.keys() == cuda.keys()
    for key in cpu:
        dtype = cpu[key].dtype
        if dtype.kind == "f":
            assert_close(cuda[key], cpu[key], dtype.type, tol32)
        else:
            np.testing.assert_array_equal(cuda[key], cpu[key], err_msg=key)
    if TORCH_CUDA:
        reference = _run(torch, fn, arrays, TORCH_DEVICE, upstream)
        for key in reference:
            if reference[key].dtype.kind == "f":
                assert_close(cuda[key], reference[key], reference[key].dtype.type, tol32)
            else:
                np.testing.assert_array_equal(cuda[key], reference[key], err_msg=key)


_rng = np.random.default_rng(4)


def arr(*shape, dtype=np.float32, low=-2.0, high=2.0):
    return _rng.uniform(low, high, shape).astype(dtype)


def ints(high, *shape):
    return _rng.integers(0, high, shape).astype(np.int64)


def fn_of(name, **kwargs):
    """t.<name>(*inputs, **kwargs) where t is minigrad or torch."""
    return lambda t, *inputs: getattr(t, name)(*inputs, **kwargs)


def functional(name, **kwargs):
    return lambda t, *inputs: getattr(t.nn.functional, name)(*inputs, **kwargs)


OPS = [
    ("add", fn_of("add"), (arr(3, 4), arr(4))),
    ("sub", lambda t, a, b: a - b, (arr(2, 3, 4), arr(3, 1))),
    ("mul", lambda t, a, b: a * b * 2.5, (arr(3, 4), arr(3, 4))),
    ("div", lambda t, a, b: a / b, (arr(3, 4), arr(3, 4, low=0.5, high=2.0))),
    ("pow", lambda t, a: a ** 3, (arr(5),)),
    ("pow tensor", lambda t, a, b: a ** b, (arr(4, low=0.5), arr(4))),
    ("exp log sqrt", lambda t, a: t.sqrt(t.exp(a)) + t.log(a * a + 1), (arr(3, 5),)),
    ("abs neg", lambda t, a: -t.abs(a), (arr(7),)),
    ("sin cos tanh", lambda t, a: t.sin(a) * t.cos(a) + t.tanh(a), (arr(6),)),
    ("sigmoid relu", lambda t, a: t.sigmoid(a) + t.relu(a), (arr(2, 8),)),
    ("clamp", lambda t, a: t.clamp(a, -0.5, 0.7), (arr(10),)),
    ("where", lambda t, a, b: t.where(a > 0, a, b), (arr(4, 4), arr(4, 4))),
    ("comparisons", lambda t, a, b: ((a < b) | (a >= 1)).sum(), (arr(5, 3), arr(5, 3))),
    ("floor_divide remainder",
     lambda t, a, b: t.remainder(a, b) + t.floor_divide(a.detach(), b.detach()),
     (arr(4, low=1, high=9), arr(4, low=1, high=3))),
    ("sum dims", lambda t, a: a.sum(dim=(0, 2), keepdim=True), (arr(2, 3, 4),)),
    ("mean", lambda t, a: a.mean(1), (arr(3, 5),)),
    ("max dim", lambda t, a: t.max(a, dim=1)[0], (arr(4, 6),)),
    ("min all", lambda t, a: a.min(), (arr(4, 6),)),
    ("argmax", lambda t, a: a.argmax(dim=0), (arr(4, 6),)),
    ("var std", lambda t, a: a.var(0) + a.std(1).sum(), (arr(5, 5),)),
    ("prod", lambda t, a: a.prod(1), (arr(3, 4),)),
    ("all any", lambda t, a: (a > 0).all(dim=1) | (a > 1).any(dim=1), (arr(3, 4),)),
    ("softmax", lambda t, a: t.softmax(a, dim=1), (arr(4, 7),)),
    ("log_softmax", lambda t, a: t.log_softmax(a, dim=-1), (arr(4, 7),)),
    ("logsumexp", lambda t, a: t.logsumexp(a, dim=0), (arr(4, 7),)),
    ("matmul", fn_of("matmul"), (arr(2, 3, 4), arr(4, 5))),
    ("mm", fn_of("mm"), (arr(6, 4), arr(4, 3))),
    ("reshape permute", lambda t, a: a.reshape(4, 6).t().permute(1, 0).reshape(2, 12),
     (arr(2, 3, 4),)),
    ("expand repeat", lambda t, a: a.expand(3, 4).repeat(2, 1), (arr(1, 4),)),
    ("cat stack", lambda t, a, b: t.cat([a, t.stack([b, b]).reshape(4, 3)], dim=0),
     (arr(2, 3), arr(2, 3))),
    ("squeeze unsqueeze flatten", lambda t, a: a.unsqueeze(0).squeeze(2).flatten(),
     (arr(3, 1, 4),)),
    ("getitem slices", lambda t, a: a[1:, ::2, None, ...], (arr(3, 5, 2),)),
    ("getitem tensor index", lambda t, a, i: a[i], (arr(5, 3), ints(5, 7))),
    ("getitem mask", lambda t, a: a[a > 0.5], (arr(4, 4),)),
    ("setitem", lambda t, a, b: _setitem(t, a, b), (arr(3, 4), arr(4))),
    ("linear", functional("linear"), (arr(5, 4), arr(3, 4), arr(3))),
    ("conv2d", functional("conv2d", stride=2, padding=1), (arr(2, 3, 9, 8), arr(4, 3, 3, 3),
                                                           arr(4))),
    ("conv2d groups dilation", functional("conv2d", padding=(2, 1), dilation=2, groups=2),
     (arr(2, 4, 7, 7), arr(6, 2, 3, 2))),
    ("conv2d same", functional("conv2d", padding="same"), (arr(1, 2, 6, 6), arr(3, 2, 4, 3))),
    ("max_pool2d", functional("max_pool2d", kernel_size=3, stride=2, padding=1, ceil_mode=True),
     (arr(2, 3, 9, 9),)),
    ("avg_pool2d", functional("avg_pool2d", kernel_size=3, stride=2, padding=1,
                              count_include_pad=False), (arr(2, 3, 9, 9),)),
    ("adaptive_avg_pool2d", functional("adaptive_avg_pool2d", output_size=(3, 5)),
     (arr(2, 3, 7, 9),)),
    ("adaptive_max_pool2d", functional("adaptive_max_pool2d", output_size=2), (arr(2, 3, 7, 9),)),
    ("batch_norm train", lambda t, x, g, b: t.nn.functional.batch_norm(
        x, None, None, g, b, training=True), (arr(4, 3, 5, 5), arr(3), arr(3))),
    ("batch_norm 1d", lambda t, x: t.nn.functional.batch_norm(x, None, None, training=True),
     (arr(8, 5),)),
    ("leaky_relu", functional("leaky_relu", negative_slope=0.1), (arr(3, 4),)),
    ("pad", functional("pad", pad=(1, 2, 0, 1)), (arr(2, 3, 4),)),
    ("dropout off", functional("dropout", p=0.5, training=False), (arr(3, 4),)),
    ("cross_entropy", functional("cross_entropy", label_smoothing=0.1), (arr(8, 10), ints(10, 8))),
    ("cross_entropy ignore", functional("cross_entropy", ignore_index=2, reduction="sum"),
     (arr(8, 5), ints(5, 8))),
    ("cross_entropy 4d", functional("cross_entropy"), (arr(2, 4, 3, 3), ints(4, 2, 3, 3))),
    ("nll_loss", lambda t, x, y: t.nn.functional.nll_loss(t.log_softmax(x, 1), y), (arr(6, 4),
                                                                                     ints(4, 6))),
    ("mse_loss", functional("mse_loss"), (arr(3, 4), arr(3, 4))),
    ("float64 conv", functional("conv2d", padding=1), (arr(2, 2, 5, 5, dtype=np.float64),
                                                       arr(3, 2, 3, 3, dtype=np.float64))),
]


def _setitem(t, a, b):
    out = a * 1
    out[1] = b * 2
    return out


@pytest.mark.parametrize("name, fn, arrays", OPS, ids=[op[0] for op in OPS])
def test_op_on_cuda_matches_cpu_and_torch(name, fn, arrays):
    check_cuda(fn, *arrays)


# ----- the model zoo -----------------------------------------------------------------------------
MODELS = [
    ("lenet", lambda: mg.models.lenet(), (4, 1, 28, 28)),
    ("alexnet", lambda: mg.models.alexnet(image_size=67, dropout=0.0), (2, 1, 67, 67)),
    ("vgg11", lambda: mg.models.vgg11(ratio=8, image_size=32, dropout=0.0), (2, 1, 32, 32)),
    ("nin", lambda: mg.models.nin(dropout=0.0), (2, 1, 96, 96)),
    ("googlenet", lambda: mg.models.googlenet(), (2, 1, 96, 96)),
    ("resnet18", lambda: mg.models.resnet18(in_channels=3, small_input=True), (4, 3, 32, 32)),
    ("densenet", lambda: mg.models.densenet(in_channels=3, small_input=True), (4, 3, 32, 32)),
]


@pytest.mark.parametrize("name, model, shape", MODELS, ids=[m[0] for m in MODELS])
def test_zoo_model_on_cuda_matches_cpu(name, model, shape):
    """A training-mode forward and backward in float64 (tight agreement, whatever the depth)."""
    mg.manual_seed(0)
    cpu_net = model().double()
    cuda_net = model().double()
    cuda_net.load_state_dict(cpu_net.state_dict())
    assert cuda_net.to("cuda") is cuda_net
    x = np.random.default_rng(5).standard_normal(shape)
    outputs = {}
    for device, net in (("cpu", cpu_net), ("cuda", cuda_net)):
        out = net(mg.tensor(x, device=device))
        assert out.device.type == device
        (out * out).sum().backward()
        outputs[device] = out.detach().cpu().numpy()
    np.testing.assert_allclose(outputs["cuda"], outputs["cpu"], rtol=1e-8, atol=1e-10)
    for (key, p), q in zip(cpu_net.named_parameters(), cuda_net.parameters()):
        assert q.grad.device.type == "cuda"
        scale = max(1.0, float(np.abs(p.grad.numpy()).max()))
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.numpy(), rtol=1e-7,
                                   atol=1e-9 * scale, err_msg=key)
    for key, value in cpu_net.state_dict().items():  # BatchNorm's running statistics
        np.testing.assert_allclose(cuda_net.state_dict()[key].cpu().numpy(), value.numpy(),
                                   rtol=1e-8, atol=1e-12, err_msg=key)


def test_training_on_cuda_with_the_trainer_matches_cpu():
    images = np.random.default_rng(6).standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = (images.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    loader = mg.data.DataLoader(mg.data.TensorDataset(mg.tensor(images), mg.tensor(labels)),
                                batch_size=16)
    mg.manual_seed(0)
    nets = {"cpu": mg.models.lenet(num_classes=2), "cuda": mg.models.lenet(num_classes=2)}
    nets["cuda"].load_state_dict(nets["cpu"].state_dict())
    histories = {}
    for device, net in nets.items():
        optimizer = mg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        histories[device] = mg.train.fit(net, loader, loader, 3, optimizer,
                                         mg.nn.CrossEntropyLoss(), device=device, progress=False)
    assert all(p.device.type == "cuda" for p in nets["cuda"].parameters())
    # float32 sums in cuBLAS's order and the CPU kernels' differ: allow one borderline image of 64
    for cpu_epoch, cuda_epoch in zip(histories["cpu"], histories["cuda"]):
        assert cuda_epoch["loss"] == pytest.approx(cpu_epoch["loss"], rel=1e-3)
        assert abs(cuda_epoch["test_acc"] - cpu_epoch["test_acc"]) <= 1 / 64


# ----- devices -----------------------------------------------------------------------------------
def test_set_device_and_to():
    mg.set_device("cuda")
    assert str(mg.get_device()) == "cuda"
    x = mg.randn(3, 4)
    assert x.device.type == "cuda" and x.is_cuda and x.device == mg.device("cuda:0")
    assert isinstance(x._data, GPU.xp.ndarray)
    assert mg.zeros(2).device.type == "cuda" and mg.arange(5).device.type == "cuda"
    assert mg.randint(0, 5, (3,)).device.type == "cuda"
    mg.set_device("cpu")
    y = x.cpu()
    assert y.device.type == "cpu" and isinstance(y.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.to("cpu").numpy(), x.numpy())  # numpy() copies to the host
    assert x.cuda().device.type == "cuda" and x.to("cuda") is x
    assert "device='cuda:0'" in repr(x)
    assert float(mg.ones(1, device="cuda")) == 1.0 and mg.ones(2, device="cuda").tolist() == [1, 1]


def test_gradients_flow_across_a_device_move():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = (a.cuda() * 2).sum()
    b.backward()
    assert a.grad.device.type == "cpu"
    np.testing.assert_array_equal(a.grad.numpy(), [2, 2, 2])


def test_mixing_devices_is_an_error():
    with pytest.raises(RuntimeError, match="expected all tensors on one device, got cpu and cuda"):
        mg.ones(2) + mg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="one device"):
        F.conv2d(mg.ones(1, 1, 4, 4, device="cuda"), mg.ones(1, 1, 3, 3))


def test_module_to_keeps_parameters_and_optimizer():
    net = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3), mg.nn.BatchNorm2d(2), mg.nn.Flatten(),
                           mg.nn.Linear(8, 2))
    params = list(net.parameters())
    optimizer = mg.optim.Adam(net.parameters(), lr=0.01)
    net.to("cuda")
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(t.device.type == "cuda" for t in list(net.parameters()) + list(net.buffers()))
    loss = net(mg.randn(4, 1, 4, 4, device="cuda")).sum()
    loss.backward()
    optimizer.step()
    state = net.state_dict()
    cpu_net = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3), mg.nn.BatchNorm2d(2), mg.nn.Flatten(),
                               mg.nn.Linear(8, 2))
    cpu_net.load_state_dict(state)
    for key, value in cpu_net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].cpu().numpy())


def test_save_and_load_from_cuda(tmp_path):
    net = mg.nn.Linear(3, 2).to("cuda")
    mg.save(net.state_dict(), tmp_path / "net.npz")
    loaded = mg.load(tmp_path / "net.npz")
    np.testing.assert_array_equal(loaded["weight"].numpy(), net.weight.detach().cpu().numpy())


def test_random_on_cuda_is_seeded():
    mg.manual_seed(3)
    first = mg.randn(5, device="cuda").cpu().numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(mg.randn(5, device="cuda").cpu().numpy(), first)
    layer = mg.nn.Linear(20, 30).to("cuda")
    mg.nn.init.normal_(layer.weight, 0.0, 0.02)
    assert abs(float(layer.weight.std()) - 0.02) < 0.005
    dropped = F.dropout(mg.ones(1000, device="cuda"), p=0.25)
    assert 0.6 < float((dropped == 0).float().mean()) * 4 < 1.4


# ----- DLPack interop and memory ----------------------------------------------------------------
def test_dlpack_with_cupy_shares_memory():
    cupy = GPU.xp
    source = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    t = mg.from_dlpack(source)
    assert t.device.type == "cuda" and t.shape == (2, 3) and t.dtype == mg.float32
    source[0, 0] = 42
    assert t[0, 0].item() == 42
    back = cupy.from_dlpack(t)
    back[1, 2] = -1
    assert t[1, 2].item() == -1
    copied = mg.tensor(source)  # mg.tensor copies, as torch.tensor does
    source[0, 1] = 7
    assert copied.device.type == "cuda" and copied[0, 1].item() == 1


@pytest.mark.skipif(not TORCH_CUDA, reason="torch without CUDA")
def test_dlpack_with_torch_cuda_shares_memory():
    source = torch.arange(6, dtype=torch.float32, device="cuda").reshape(2, 3)
    t = mg.from_dlpack(source)
    assert t.device.type == "cuda"
    source[0, 0] = 42
    assert t[0, 0].item() == 42
    back = torch.from_dlpack(t)
    assert back.device.type == "cuda"
    back[1, 2] = -1
    assert t[1, 2].item() == -1


def test_memory_pool_is_reused_across_training_steps():
    pool = GPU.xp.get_default_memory_pool()
    net = mg.models.resnet18(in_channels=3, small_input=True).to("cuda")
    optimizer = mg.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = mg.randn(8, 3, 32, 32, device="cuda")
    y = mg.randint(0, 10, (8,), device="cuda")

    def step():
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    step()
    held = pool.total_bytes()
    for _ in range(3):
        step()
    assert pool.total_bytes() <= held * 1.05  # the same blocks again, not new ones
    assert pool.used_bytes() < held
