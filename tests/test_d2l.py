"""minigrad.d2l: the d2l package's helpers for the CNN chapters (zh edition's train_ch6 API), checked
against what d2l 1.0.3 does with PyTorch: the aliases, corr2d, accuracy, the devices, the training
loop's printed lines and its Animator, and the Fashion-MNIST loaders (found, resized, or a clear
error)."""
import os
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import d2l, nn
from minigrad.data import datasets as DS

torch = pytest.importorskip("torch")


# ----- aliases and small helpers -------------------------------------------------------------------
def test_tensor_aliases_are_minigrads():
    assert d2l.tensor is mg.tensor and d2l.zeros is mg.zeros and d2l.concat is mg.cat
    assert d2l.float32 is mg.float32 and d2l.nn_Module is nn.Module
    x = d2l.arange(12, dtype=d2l.float32)
    y = d2l.reshape(x, (3, 4))
    assert y.shape == (3, 4) and d2l.size(y) == 12
    assert d2l.transpose(y).shape == (4, 3)
    assert float(d2l.reduce_sum(y)) == 66.0 and float(d2l.reduce_mean(y)) == 5.5
    assert d2l.argmax(y, axis=1).tolist() == [3, 3, 3]
    assert d2l.astype(y, d2l.int64).dtype == mg.int64
    assert d2l.expand_dims(x, 0).shape == (1, 12)
    assert isinstance(d2l.numpy(y), np.ndarray)


@pytest.mark.parametrize("seed", range(4))
def test_corr2d_matches_torch_forward_and_kernel_gradient(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 4, size=2)
    X = rng.standard_normal((h + rng.integers(0, 5), w + rng.integers(0, 5))).astype(np.float32)
    K = rng.standard_normal((h, w)).astype(np.float32)
    k = mg.tensor(K, requires_grad=True)
    Y = d2l.corr2d(mg.tensor(X), k)
    kt = torch.tensor(K, requires_grad=True)
    Yt = torch.nn.functional.conv2d(torch.tensor(X)[None, None], kt[None, None])[0, 0]
    np.testing.assert_allclose(Y.detach().numpy(), Yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    G = rng.standard_normal(Yt.shape).astype(np.float32)
    Y.backward(mg.tensor(G))
    Yt.backward(torch.tensor(G))
    np.testing.assert_allclose(k.grad.numpy(), kt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_corr2d_the_book_example_and_errors():
    X = d2l.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = d2l.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert d2l.corr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]
    ints = d2l.corr2d(mg.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), mg.tensor([[0, 1], [2, 3]]))
    assert ints.dtype == mg.float32 and ints.tolist() == [[19.0, 25.0], [37.0, 43.0]]
    with pytest.raises(ValueError, match=r"kernel of shape \(4, 1\) is larger than the input of "
                                         r"shape \(3, 3\)"):
        d2l.corr2d(X, mg.ones(4, 1))


def test_accuracy_accumulator_timer():
    y_hat = mg.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    y = mg.tensor([1, 1, 1])
    assert d2l.accuracy(y_hat, y) == 2.0
    assert d2l.accuracy(mg.tensor([1, 0, 1]), y) == 2.0  # labels, not scores
    metric = d2l.Accumulator(2)
    metric.add(mg.tensor(1.5), 2)
    metric.add(0.5, 3)
    assert metric[0] == 2.0 and metric[1] == 5.0 and isinstance(metric[0], float)
    metric.reset()
    assert metric.data == [0.0, 0.0]
    timer = d2l.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0 and timer.cumsum()[-1] == pytest.approx(
        timer.sum()) and timer.avg() == pytest.approx(timer.sum() / 2)


def test_devices_without_a_gpu_and_with_one(monkeypatch):
    monkeypatch.setattr(mg.cuda, "device_count", lambda: 0)
    assert d2l.try_gpu() == mg.device("cpu") and str(d2l.try_gpu()) == "cpu"
    assert d2l.try_all_gpus() == [d2l.cpu()] and d2l.num_gpus() == 0
    monkeypatch.setattr(mg.cuda, "device_count", lambda: 2)
    assert str(d2l.try_gpu()) == "cuda:0" and str(d2l.try_gpu(1)) == "cuda:1"
    assert str(d2l.try_gpu(2)) == "cpu"
    assert [str(d) for d in d2l.try_all_gpus()] == ["cuda:0", "cuda:1"]
    assert repr(d2l.gpu(1)) == repr(torch.device("cuda:1")) == "device(type='cuda', index=1)"


# ----- the training loop ----------------------------------------------------------------------------
def _separable_loaders(n=240, batch_size=32):
    """Two classes a small CNN separates at once: bright upper or lower half."""
    gen = np.random.default_rng(0)
    y = gen.integers(0, 2, n)
    X = gen.random((n, 1, 8, 8), dtype=np.float32) * 0.2
    for i, label in enumerate(y):
        X[i, 0, :4] += 0.8 if label else 0.0
        X[i, 0, 4:] += 0.0 if label else 0.8
    X, y = mg.tensor(X), mg.tensor(y)
    return d2l.load_array((X, y), batch_size), d2l.load_array((X, y), batch_size, is_train=False)


def test_train_ch6_prints_the_books_lines_and_draws_its_animator(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIGRAD_D2L_FIGURES", str(tmp_path))
    mg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 2))
    init = net[0].weight.detach().numpy().copy()
    train_iter, test_iter = _separable_loaders()
    d2l.train_ch6(net, train_iter, test_iter, 3, 0.5, d2l.try_gpu())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "training on cpu"
    drawn = [line for line in lines if line.startswith("Animator: the plot is drawn to ")]
    assert len(drawn) == 1  # announced once, redrawn every point
    path = drawn[0].rpartition(" ")[2]
    assert os.path.dirname(path) == str(tmp_path) and re.fullmatch(r"animator-\d+\.png",
                                                                   os.path.basename(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.stat(path).st_mode & 0o044 == 0o044  # readable by others, not mkstemp's private mode
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temporary left behind
    loss, train_acc, test_acc = map(float, re.fullmatch(
        r"loss (\d\.\d{3}), train acc (\d\.\d{3}), test acc (\d\.\d{3})", lines[-2]).groups())
    assert test_acc >= 0.95 and train_acc >= 0.9 and loss < 0.5
    assert re.fullmatch(r"\d+\.\d examples/sec on cpu", lines[-1])
    assert not np.allclose(init, net[0].weight.detach().numpy())


def test_train_ch6_initialises_linear_and_conv_with_xavier_uniform(monkeypatch):
    seen = []
    monkeypatch.setattr(nn.init, "xavier_uniform_", lambda w: seen.append(tuple(w.shape)))
    net = nn.Sequential(nn.Conv2d(1, 2, kernel_size=3), nn.BatchNorm2d(2), nn.Flatten(),
                        nn.Linear(2 * 6 * 6, 2))
    train_iter, test_iter = _separable_loaders(n=32)
    monkeypatch.setattr(d2l.plotting.Animator, "_show", lambda self: None)
    d2l.train_ch6(net, train_iter, test_iter, 2, 0.1, d2l.cpu())
    assert seen == [(2, 1, 3, 3), (2, 72)]


def test_evaluate_accuracy_gpu_uses_eval_mode():
    modes = []

    class Probe(nn.Module):
        def forward(self, x):
            modes.append(self.training)
            return x.reshape(x.shape[0], -1)[:, :2]

    net = nn.Sequential(Probe(), nn.Linear(2, 2))
    _, test_iter = _separable_loaders(n=64)
    acc = d2l.evaluate_accuracy_gpu(net, test_iter)
    assert 0.0 <= acc <= 1.0 and modes and not any(modes)


def test_animator_in_a_script_never_needs_a_display(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIGRAD_D2L_FIGURES", str(tmp_path))
    monkeypatch.delenv("DISPLAY", raising=False)
    animator = d2l.Animator(xlabel="epoch", legend=["a", "b"], xlim=[1, 3])
    for x in (1, 2, 3):
        animator.add(x, (x * 0.5, None if x < 3 else 1.0))
    assert animator.X == [[1, 2, 3], [3]] and animator.Y == [[0.5, 1.0, 1.5], [1.0]]
    assert os.path.isfile(animator.path) and capsys.readouterr().out.count("drawn to") == 1


# ----- Fashion-MNIST -------------------------------------------------------------------------------
def _write_fashion(folder, n_train=20, n_test=10):
    os.makedirs(folder, exist_ok=True)
    gen = np.random.default_rng(3)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        DS.write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"),
                     gen.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        DS.write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"),
                     gen.integers(0, 10, n, dtype=np.uint8))


@pytest.fixture
def book_folder(tmp_path, monkeypatch):
    """A chapter's working folder, with ../data beside it as the book has it, and no other copy."""
    work = tmp_path / "chapter"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "home"))
    monkeypatch.setattr(DS.FashionMNIST, "extra_dirs", [])
    return tmp_path


def test_load_data_fashion_mnist_from_the_books_folder(book_folder):
    _write_fashion(book_folder / "data" / "FashionMNIST" / "raw")
    train_iter, test_iter = d2l.load_data_fashion_mnist(8)
    assert len(train_iter) == 3 and len(test_iter) == 2
    X, y = next(iter(test_iter))
    assert X.shape == (8, 1, 28, 28) and X.dtype == mg.float32 and y.dtype == mg.int64
    raw = DS.read_idx(book_folder / "data" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte")
    np.testing.assert_allclose(X.numpy()[:, 0], raw[:8] / np.float32(255), rtol=1e-6)


def test_load_data_fashion_mnist_resizes_each_batch(book_folder):
    _write_fashion(book_folder / "data" / "FashionMNIST" / "raw")
    train_iter, test_iter = d2l.load_data_fashion_mnist(4, resize=(32, 40))
    X, _ = next(iter(test_iter))
    assert X.shape == (4, 1, 32, 40) and 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    X, _ = next(iter(d2l.load_data_fashion_mnist(4, resize=56)[1]))
    assert X.shape == (4, 1, 56, 56)
    dataset = test_iter.dataset  # lazily: the stored images stay 28x28 uint8
    assert dataset.data.shape == (10, 28, 28) and dataset.data.dtype == mg.uint8


@pytest.mark.parametrize("resize", [0, -3, 2.5, "224", (224,), (0, 5), True])
def test_load_data_fashion_mnist_refuses_a_bad_resize(resize):
    with pytest.raises(ValueError, match=re.escape(f"got {resize!r}")):
        d2l.load_data_fashion_mnist(8, resize=resize)


def test_no_fashion_mnist_and_no_network_names_every_place(book_folder, monkeypatch):
    monkeypatch.setattr(DS.FashionMNIST, "mirrors", [(book_folder / "offline").as_uri() + "/"])
    with pytest.raises(FileNotFoundError) as info:
        d2l.load_data_fashion_mnist(8)
    message = str(info.value)
    for place in (book_folder / "data" / "FashionMNIST" / "raw", book_folder / "home" / "FashionMNIST"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message and "download" in message
    raw = book_folder / "data" / "FashionMNIST" / "raw"
    assert not raw.exists() or os.listdir(raw) == []  # nothing half-downloaded left to read later


def test_fashion_mnist_is_found_where_fashion_mnist_finds_it(book_folder):
    _write_fashion(book_folder / "home" / "FashionMNIST" / "raw", n_train=12)
    train_iter, _ = d2l.load_data_fashion_mnist(4)
    assert len(train_iter.dataset) == 12


def test_text_labels():
    assert d2l.get_fashion_mnist_labels(mg.tensor([0, 9, 3])) == ["t-shirt", "ankle boot", "dress"]
