"""GPU suite, part two (marked `gpu`): the CUDA table's cuBLAS GEMM on every operand layout against
CuPy's matmul, and CUDA graphs: a captured training step replayed against the same steps run
eagerly, what a capture refuses, and Trainer(cuda_graph=True) against the eager Trainer."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.device import backend

pytestmark = pytest.mark.gpu

if not mg.cuda.is_available():
    pytest.skip("no usable GPU (needs CuPy, numba-cuda and an NVIDIA GPU)", allow_module_level=True)

GPU = backend("cuda")
cupy = GPU.xp


@pytest.fixture(autouse=True)
def _back_to_cpu():
    yield
    mg.set_device("cpu")


# ----- GEMM ----------------------------------------------------------------------------------------
def _operand(rng, shape, dtype, layout):
    """A CuPy array of `shape` stored as `layout`: C order, transposed (F order in its last two
    axes), a strided slice (neither: copied first), or a batch of one broadcast."""
    if layout == "transposed":
        return cupy.asarray(rng.standard_normal(shape[:-2] + shape[:-3:-1]), dtype).swapaxes(-1, -2)
    if layout == "sliced":
        return cupy.asarray(rng.standard_normal(shape[:-1] + (2 * shape[-1],)), dtype)[..., ::2]
    return cupy.asarray(rng.standard_normal(shape), dtype)


GEMM_CASES = [(batch_a, batch_b, layout_a, layout_b, dtype)
              for batch_a, batch_b in (((), ()), ((3,), (3,)), ((1,), (4,)), ((), (2,)), ((5,), ()))
              for layout_a in ("c", "transposed", "sliced")
              for layout_b in ("c", "transposed", "sliced")
              for dtype in (np.float32, np.float64)]


@pytest.mark.parametrize("case", GEMM_CASES, ids=str)
def test_cuda_matmul_matches_cupy_on_every_layout(case):
    batch_a, batch_b, layout_a, layout_b, dtype = case
    rng = np.random.default_rng(GEMM_CASES.index(case))
    m, k, n = (int(v) for v in rng.integers(1, 70, 3))
    a = _operand(rng, batch_a + (m, k), dtype, layout_a)
    b = _operand(rng, batch_b + (k, n), dtype, layout_b)
    out = GPU.kernels.matmul(a, b)
    expected = cupy.matmul(a, b)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.get(), expected.get(), rtol=tol, atol=tol * k)


@pytest.mark.parametrize("shapes", [((0, 3), (3, 4)), ((2, 0), (0, 5)), ((2, 3, 0), (2, 0, 4))],
                         ids=str)
def test_cuda_matmul_of_empty_operands(shapes):
    a, b = (cupy.ones(shape, np.float32) for shape in shapes)
    out = GPU.kernels.matmul(a, b)
    assert out.shape == cupy.matmul(a, b).shape and not out.any()


# ----- CUDA graphs --------------------------------------------------------------------------------
def _lenet_and_batches(steps, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    mg.manual_seed(seed)
    net = mg.models.lenet()
    images = rng.standard_normal((steps, batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, (steps, batch))
    return net, images, labels


def _sgd(net):
    return mg.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def _step(net, optimizer, X, y):
    optimizer.zero_grad()
    loss = mg.nn.functional.cross_entropy(net(X), y)
    loss.backward()
    optimizer.step()
    return loss


def _assert_trained_alike(net, twin, rtol):
    """The parameters (to rtol) and last gradients of two models trained on the same batches."""
    for (name, p), q in zip(net.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(),
                                   rtol=rtol, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.cpu().numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=name)


def test_replayed_training_step_matches_the_eager_steps():
    net, images, labels = _lenet_and_batches(steps=8)
    twin = mg.models.lenet()
    twin.load_state_dict(net.state_dict())
    net.to("cuda")
    twin.to("cuda")
    optimizer, twin_optimizer = _sgd(net), _sgd(twin)
    X = mg.tensor(images[0], device="cuda")
    y = mg.tensor(labels[0], device="cuda")
    for i in range(2):  # warm-up, eagerly: the first step creates the momentum buffers
        X.copy_(images[i])
        y.copy_(labels[i])
        _step(net, optimizer, X, y)
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        loss = _step(net, optimizer, X, y)
    assert not mg.cuda.is_current_stream_capturing()
    losses = []
    for i in range(2, 8):
        X.copy_(images[i])
        y.copy_(labels[i])
        graph.replay()
        losses.append(loss.item())
    expected = [_step(twin, twin_optimizer, mg.tensor(images[i], device="cuda"),
                      mg.tensor(labels[i], device="cuda")).item() for i in range(8)]
    np.testing.assert_allclose(losses, expected[2:], rtol=1e-4)
    assert len(set(losses)) == len(losses)  # every replay computed anew
    _assert_trained_alike(net, twin, rtol=1e-4)


def test_replayed_batch_norm_updates_its_running_statistics():
    mg.manual_seed(1)
    net = mg.nn.Sequential(mg.nn.Conv2d(3, 8, 3), mg.nn.BatchNorm2d(8), mg.nn.ReLU()).to("cuda")
    x = mg.randn(4, 3, 8, 8, device="cuda")
    net(x)
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        net(x)
    before = net[1].running_mean.cpu().numpy()
    graph.replay()
    after = net[1].running_mean.cpu().numpy()
    batch_mean = net[0](x).detach().cpu().numpy().mean(axis=(0, 2, 3))
    np.testing.assert_allclose(after, 0.9 * before + 0.1 * batch_mean, rtol=1e-4, atol=1e-6)


def test_capture_refuses_random_numbers_and_host_reads():
    x = mg.randn(4, 8, device="cuda")
    dropout = mg.nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="random numbers cannot be drawn"):
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            dropout(x)
    graph = mg.cuda.CUDAGraph()
    with pytest.raises(Exception):
        with mg.cuda.graph(graph):
            (x * 2).sum().item()
    with pytest.raises(RuntimeError, match="needs a capture first"):
        graph.replay()  # the failed capture left nothing to replay
    assert not mg.cuda.is_current_stream_capturing()
    assert (x * 2).sum().item() == pytest.approx(2 * float(x.sum()), rel=1e-5)  # still usable


def test_one_capture_per_graph():
    graph = mg.cuda.CUDAGraph()
    x = mg.ones(3, device="cuda")
    with mg.cuda.graph(graph):
        x.mul_(2)
    with pytest.raises(RuntimeError, match="already holds a capture"):
        graph.capture_begin()
    graph.replay()
    graph.replay()
    assert x.cpu().numpy().tolist() == [4.0, 4.0, 4.0]  # the capture itself ran nothing


# ----- Trainer(cuda_graph=True) ------------------------------------------------------------------
def _loader(images, labels, batch_size):
    return mg.data.DataLoader(mg.data.TensorDataset(mg.tensor(images), mg.tensor(labels)),
                              batch_size=batch_size)


@pytest.mark.parametrize("scheduled", [False, True], ids=["constant-lr", "lr-every-epoch"])
def test_trainer_with_cuda_graph_matches_the_eager_trainer(scheduled):
    net, images, labels = _lenet_and_batches(steps=1, batch=200, seed=3)
    images, labels = images[0], labels[0]
    twin = mg.models.lenet()
    twin.load_state_dict(net.state_dict())
    histories = {}
    for graphed, model in ((True, net), (False, twin)):
        optimizer = _sgd(model)
        scheduler = mg.optim.lr_scheduler.StepLR(optimizer, 1, 0.5) if scheduled else None
        trainer = mg.train.Trainer(model, optimizer, mg.nn.CrossEntropyLoss(), device="cuda",
                                   progress=False, scheduler=scheduler, cuda_graph=graphed)
        # 200 images in batches of 32: six full ones (two warm-up, then replays) and one of 8
        histories[graphed] = trainer.fit(_loader(images, labels, 32), epochs=3)
        if graphed:  # the batch of 8 is captured too when the rate stays for three epochs
            assert len(trainer.graphed.captures) == (1 if scheduled else 2)
    for graphed_epoch, eager_epoch in zip(histories[True], histories[False]):
        assert graphed_epoch["loss"] == pytest.approx(eager_epoch["loss"], rel=1e-4)
        assert graphed_epoch["train_acc"] == pytest.approx(eager_epoch["train_acc"], abs=1 / 200)
    _assert_trained_alike(net, twin, rtol=1e-3)


def test_trainer_with_cuda_graph_checks_the_targets_of_replayed_batches():
    net, images, labels = _lenet_and_batches(steps=1, batch=128, seed=4)
    labels = labels[0].copy()
    labels[-1] = 10  # in the fourth batch of 32, after the capture
    trainer = mg.train.Trainer(net, _sgd(net), mg.nn.CrossEntropyLoss(), device="cuda",
                               progress=False, cuda_graph=True)
    with pytest.raises(IndexError, match="target 10 is out of range for 10 classes"):
        trainer.fit(_loader(images[0], labels, 32), epochs=1)


def test_trainer_with_cuda_graph_names_what_cannot_be_captured():
    mg.manual_seed(5)
    net = mg.nn.Sequential(mg.nn.Flatten(), mg.nn.Linear(16, 10), mg.nn.Dropout(0.5))
    images = np.random.default_rng(5).standard_normal((96, 16)).astype(np.float32)
    labels = np.arange(96) % 10
    trainer = mg.train.Trainer(net, _sgd(net), mg.nn.CrossEntropyLoss(), device="cuda",
                               progress=False, cuda_graph=True)
    with pytest.raises(RuntimeError, match="cannot be captured.*random numbers"):
        trainer.fit(_loader(images, labels, 32), epochs=1)
