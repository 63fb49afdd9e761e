"""minigrad.d2l's English-edition API (d2l.ai, d2l 1.0.3's HyperParameters / Module / DataModule /
Trainer / Classifier / FashionMNIST / ProgressBoard), checked against what d2l does with PyTorch:
saved hyperparameters, accuracy and loss, init_cnn's bounds, layer_summary's lines, a tiny
Classifier fitted by the Trainer, the ProgressBoard's averaging and its PNG, and the Fashion-MNIST
DataModule."""
import os
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import d2l, nn
from minigrad.d2l import board as board_module
from minigrad.data import datasets as DS

torch = pytest.importorskip("torch")

PNG = b"\x89PNG\r\n\x1a\n"


# ----- HyperParameters, add_to_class, aliases ---------------------------------------------------
def test_save_hyperparameters_the_books_example(capsys):
    class B(d2l.HyperParameters):
        def __init__(self, a, b, c):
            self.save_hyperparameters(ignore=["c"])
            print("self.a =", self.a, "self.b =", self.b)
            print("There is no self.c =", not hasattr(self, "c"))

    b = B(a=1, b=2, c=3)
    assert capsys.readouterr().out == "self.a = 1 self.b = 2\nThere is no self.c = True\n"
    assert b.hparams == {"a": 1, "b": 2}


def test_save_hyperparameters_reads_the_callers_locals_as_d2l():
    class C(d2l.HyperParameters):
        def __init__(self, x, _private=5, *args, **kwargs):
            later = x * 2  # noqa: F841 - d2l saves every local of the caller at the call
            self.save_hyperparameters()

    c = C(3, 4, 7, k=1)
    assert c.hparams == {"x": 3, "args": (7,), "kwargs": {"k": 1}, "later": 6}
    assert c.later == 6 and not hasattr(c, "_private")


def test_module_hyperparameters_register_submodules_as_torch_would():
    class Wrap(d2l.Module):
        def __init__(self, body, lr=0.1):
            super().__init__()
            self.save_hyperparameters()

    body = nn.Linear(3, 2)
    model = Wrap(body)
    assert model.hparams == {"body": body, "lr": 0.1}
    assert model.plot_train_per_epoch == 2 and model.plot_valid_per_epoch == 1
    assert [name for name, _ in model.named_parameters()] == ["body.weight", "body.bias"]
    assert isinstance(model.board, d2l.ProgressBoard)
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, mg.optim.SGD) and optimizer.param_groups[0]["lr"] == 0.1


def test_add_to_class_the_books_example(capsys):
    class A:
        def __init__(self):
            self.b = 1

    a = A()

    @d2l.add_to_class(A)
    def do(self):
        print('Class attribute "b" is', self.b)

    a.do()  # made before the method was added
    assert capsys.readouterr().out == 'Class attribute "b" is 1\n'
    assert A.do is do


def test_the_aliases_the_chapters_call():
    assert d2l.randn is mg.randn and d2l.normal is mg.normal and d2l.batch_matmul is mg.bmm
    assert d2l.sinh is mg.sinh and d2l.cosh is mg.cosh and d2l.meshgrid is mg.meshgrid
    x = d2l.randn(2, 3)
    assert d2l.reshape(x, (3, 2)).shape == (3, 2) and d2l.numpy(x).shape == (2, 3)
    assert d2l.to(x, d2l.cpu()).device == mg.device("cpu")


def test_module_base_class_refusals():
    model = d2l.Module()
    with pytest.raises(AssertionError, match="Neural network is defined"):
        model(mg.zeros(1))
    with pytest.raises(NotImplementedError):
        model.loss(None, None)
    with pytest.raises(AssertionError, match="Trainer is not inited"):
        model.plot("loss", 1.0, train=True)
    with pytest.raises(NotImplementedError):
        d2l.DataModule().train_dataloader()


# ----- Classifier: accuracy, loss, layer_summary, init_cnn ---------------------------------------
def _torch_accuracy(Y_hat, Y, averaged=True):
    Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
    preds = Y_hat.argmax(axis=1).type(Y.dtype)
    compare = (preds == Y.reshape(-1)).type(torch.float32)
    return compare.mean() if averaged else compare


@pytest.mark.parametrize("seed", range(3))
def test_accuracy_and_loss_match_torch(seed):
    rng = np.random.default_rng(seed)
    shape = [(16, 5), (4, 3, 7), (1, 2)][seed]
    logits = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, shape[-1], shape[:-1])
    model = d2l.Classifier()
    Y_hat, Y = mg.tensor(logits), mg.tensor(labels)
    Yt_hat, Yt = torch.tensor(logits), torch.tensor(labels)
    acc = model.accuracy(Y_hat, Y)
    assert acc.dtype == mg.float32 and acc.shape == ()
    assert float(acc) == pytest.approx(float(_torch_accuracy(Yt_hat, Yt)), abs=1e-7)
    each = model.accuracy(Y_hat, Y, averaged=False)
    np.testing.assert_array_equal(each.numpy(), _torch_accuracy(Yt_hat, Yt, False).numpy())
    flat = Yt_hat.reshape(-1, shape[-1])
    np.testing.assert_allclose(float(model.loss(Y_hat, Y)), float(
        torch.nn.functional.cross_entropy(flat, Yt.reshape(-1))), rtol=1e-5)
    np.testing.assert_allclose(model.loss(Y_hat, Y, averaged=False).detach().numpy(),
                               torch.nn.functional.cross_entropy(flat, Yt.reshape(-1),
                                                                 reduction="none").numpy(),
                               rtol=1e-5, atol=1e-6)


def _lenet_eager(m):
    """The book's LeNet with explicit sizes, in minigrad's or torch's nn."""
    return m.Sequential(
        m.Conv2d(1, 6, kernel_size=5, padding=2), m.Sigmoid(), m.AvgPool2d(kernel_size=2, stride=2),
        m.Conv2d(6, 16, kernel_size=5), m.Sigmoid(), m.AvgPool2d(kernel_size=2, stride=2),
        m.Flatten(), m.Linear(16 * 5 * 5, 120), m.Sigmoid(), m.Linear(120, 84), m.Sigmoid(),
        m.Linear(84, 10))


def _torch_summary_lines(net, shape):
    X, lines = torch.randn(*shape), []
    for layer in net:
        X = layer(X)
        lines.append(f"{layer.__class__.__name__} output shape:\t {X.shape}")
    return lines


def test_layer_summary_prints_d2ls_lines(capsys):
    model = d2l.Classifier()
    model.net = _lenet_eager(nn)
    model.layer_summary((1, 1, 28, 28))
    out = capsys.readouterr().out.splitlines()
    assert out == _torch_summary_lines(_lenet_eager(torch.nn), (1, 1, 28, 28))
    assert out[0] == "Conv2d output shape:\t torch.Size([1, 6, 28, 28])"
    assert out[-1] == "Linear output shape:\t torch.Size([1, 10])"


def test_init_cnn_gives_torchs_xavier_bounds_to_exactly_linear_and_conv2d():
    class MyLinear(nn.Linear):
        pass

    mg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, kernel_size=5), nn.BatchNorm2d(8), nn.Flatten(),
                        nn.Linear(8 * 4 * 4, 10), MyLinear(10, 10))
    before = {name: p.detach().numpy().copy() for name, p in net.named_parameters()}
    net.apply(d2l.init_cnn)
    after = {name: p.detach().numpy() for name, p in net.named_parameters()}
    for name in ("0.weight", "3.weight"):
        shape = after[name].shape
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert not np.array_equal(before[name], after[name])
        assert np.abs(after[name]).max() <= bound * (1 + 1e-6)
        assert np.abs(after[name]).max() > 0.9 * bound  # uniform over the whole range
        assert abs(after[name].std() - bound / np.sqrt(3)) < 0.15 * bound / np.sqrt(3)
    for name in ("0.bias", "1.weight", "1.bias", "3.bias", "4.weight", "4.bias"):
        np.testing.assert_array_equal(before[name], after[name])  # as the book: type(m) == ...


def test_init_cnn_initialises_a_lazy_layer_once_it_has_its_shape(monkeypatch):
    class FakeLazyLinear(nn.Linear):  # torch's convention: the class it becomes, a readiness test
        cls_to_become = nn.Linear
        ready = False

        def has_uninitialized_params(self):
            return not self.ready

    seen = []
    monkeypatch.setattr(nn.init, "xavier_uniform_", lambda w: seen.append(tuple(w.shape)))
    layer = FakeLazyLinear(3, 2)
    d2l.init_cnn(layer)
    assert seen == []  # not materialised yet: nothing to initialise
    layer.ready = True
    d2l.init_cnn(layer)
    assert seen == [(2, 3)]


def test_apply_init_runs_a_forward_first_then_the_init():
    events = []

    class Probe(nn.Module):
        def forward(self, X):
            events.append(("forward", tuple(X.shape)))
            return X

    model = d2l.Classifier()
    model.net = nn.Sequential(Probe(), nn.Flatten(), nn.Linear(4, 2))
    model.apply_init([mg.zeros(3, 4)], lambda m: events.append(("init", type(m).__name__)))
    assert events == [("forward", (3, 4)), ("init", "Probe"), ("init", "Flatten"),
                      ("init", "Linear"), ("init", "Sequential")]


# ----- Trainer ---------------------------------------------------------------------------------
class HalvesData(d2l.DataModule):
    """Two classes a linear model separates at once: bright upper or lower half of an 8x8 image."""

    def __init__(self, num_train=256, num_val=64, batch_size=32):
        super().__init__()
        self.save_hyperparameters()
        gen = np.random.default_rng(0)
        n = num_train + num_val
        y = gen.integers(0, 2, n)
        X = gen.random((n, 1, 8, 8), dtype=np.float32) * 0.2
        X[y == 1, 0, :4] += 0.8
        X[y == 0, 0, 4:] += 0.8
        self.X, self.y = mg.tensor(X), mg.tensor(y)

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)


class TinyNet(d2l.Classifier):
    def __init__(self, lr=0.5, plot_train_per_epoch=4):
        super().__init__(plot_train_per_epoch=plot_train_per_epoch)
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_D2L_FIGURES", str(tmp_path))
    monkeypatch.setattr(board_module, "_unwritten", set())  # nothing of this test written at exit
    writes = []
    real_write = board_module.ProgressBoard._write

    def counted(self):
        writes.append(self)
        real_write(self)

    monkeypatch.setattr(board_module.ProgressBoard, "_write", counted)
    return tmp_path, writes


def test_get_tensorloader_slices_and_shuffles_the_training_part():
    data = HalvesData(num_train=40, num_val=24, batch_size=16)
    train, val = data.train_dataloader(), data.val_dataloader()
    assert len(train) == 3 and len(val) == 2
    assert type(train.sampler).__name__ == "RandomSampler"
    assert type(val.sampler).__name__ == "SequentialSampler"
    X, y = next(iter(val))
    np.testing.assert_array_equal(X.numpy(), data.X.numpy()[40:56])
    assert data.hparams == {"num_train": 40, "num_val": 24, "batch_size": 16}
    assert data.root == "../data" and data.num_workers == 4


def test_trainer_fits_a_tiny_classifier_for_one_epoch(figures, capsys):
    folder, writes = figures
    mg.manual_seed(0)
    model, data = TinyNet(), HalvesData()
    trainer = d2l.Trainer(max_epochs=1)
    assert trainer.gpus == [] and trainer.hparams == {"max_epochs": 1, "num_gpus": 0,
                                                      "gradient_clip_val": 0}
    trainer.fit(model, data)
    assert model.trainer is trainer and model.board.xlim == [0, 1]
    assert trainer.num_train_batches == 8 and trainer.num_val_batches == 2
    assert trainer.train_batch_idx == 8 and trainer.val_batch_idx == 2
    assert list(model.board.data) == ["train_loss", "val_loss", "val_acc"]
    train_loss = model.board.data["train_loss"]  # 8 batches, 4 points an epoch: means of 2
    assert [p.x for p in train_loss] == pytest.approx([0.5 / 8, 2.5 / 8, 4.5 / 8, 6.5 / 8])
    assert train_loss[-1].y < train_loss[0].y  # it learns
    (val_loss,), (val_acc,) = model.board.data["val_loss"], model.board.data["val_acc"]
    assert val_loss.x == val_acc.x == 1
    # the validation accuracy is the mean of the two batches' accuracies, computed like torch
    model.eval()
    with mg.no_grad():
        batches = [(model(X), y) for X, y in data.val_dataloader()]
    expected = np.mean([float(_torch_accuracy(torch.tensor(Y_hat.numpy()), torch.tensor(y.numpy())))
                        for Y_hat, y in batches])
    assert val_acc.y == pytest.approx(expected) and val_acc.y >= 0.9
    # a script's board: its PNG written on the first point and at the epoch's end, no more
    assert 1 <= len(writes) <= 2
    out = capsys.readouterr().out
    assert out.count("ProgressBoard: the plot is drawn to") == 1
    path = model.board.path
    assert os.path.dirname(path) == str(folder) and re.fullmatch(r"board-\d+\.png",
                                                                os.path.basename(path))
    with open(path, "rb") as f:
        assert f.read(8) == PNG
    assert not [n for n in os.listdir(folder) if n.startswith(".")]  # no temporary left behind


def test_trainer_writes_the_png_about_once_an_epoch(figures):
    _, writes = figures
    model, data = TinyNet(plot_train_per_epoch=8), HalvesData(num_train=128, batch_size=8)
    d2l.Trainer(max_epochs=3).fit(model, data)
    assert len(model.board.data["train_loss"]) == 3 * 8  # 24 points drawn...
    assert len(writes) <= 3 + 1  # ...a PNG an epoch (and the first point's)
    assert model.board not in board_module._unwritten  # all of them in the file


def test_trainer_without_validation_data(figures):
    class TrainOnly(HalvesData):
        def val_dataloader(self):
            return None

    model = TinyNet()
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, TrainOnly(num_train=64))
    assert trainer.num_val_batches == 0 and list(model.board.data) == ["train_loss"]


def test_trainer_clips_gradients_when_asked(figures, monkeypatch):
    seen = []
    real = d2l.Trainer.clip_gradients

    def spy(self, grad_clip_val, model):
        seen.append(grad_clip_val)
        real(self, grad_clip_val, model)

    monkeypatch.setattr(d2l.Trainer, "clip_gradients", spy)
    d2l.Trainer(max_epochs=1).fit(TinyNet(), HalvesData(num_train=64))
    assert seen == []
    d2l.Trainer(max_epochs=1, gradient_clip_val=0.5).fit(TinyNet(), HalvesData(num_train=64))
    assert seen == [0.5] * 2


@pytest.mark.parametrize("helper", ["minigrads", "own"])
@pytest.mark.parametrize("clip", [0.1, 1e3])
def test_clip_gradients_matches_torch(monkeypatch, helper, clip):
    if helper == "own":  # the norm computed here, as when nn.utils.clip_grad_norm_ is not there
        monkeypatch.setattr(nn, "utils", None, raising=False)
    elif getattr(getattr(nn, "utils", None), "clip_grad_norm_", None) is None:
        pytest.skip("minigrad.nn.utils.clip_grad_norm_ is not there yet")
    rng = np.random.default_rng(1)
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    for p, tp in zip(net.parameters(), tnet.parameters()):
        grad = rng.standard_normal(tuple(p.shape)).astype(np.float32)
        p.grad, tp.grad = mg.tensor(grad), torch.tensor(grad)
    model = d2l.Module()
    model.net = net
    d2l.Trainer(max_epochs=1).clip_gradients(clip, model)
    torch.nn.utils.clip_grad_norm_(tnet.parameters(), clip)
    for p, tp in zip(net.parameters(), tnet.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_trainer_takes_the_gpus_minigrad_can_use(monkeypatch):
    monkeypatch.setattr(mg.cuda, "device_count", lambda: 0)
    assert d2l.Trainer(max_epochs=1, num_gpus=1).gpus == []
    monkeypatch.setattr(mg.cuda, "device_count", lambda: 2)
    assert d2l.Trainer(max_epochs=1, num_gpus=1).gpus == [mg.device("cuda:0")]
    assert d2l.Trainer(max_epochs=1, num_gpus=4).gpus == [d2l.gpu(0), d2l.gpu(1)]
    assert d2l.Trainer(max_epochs=1).gpus == []


@pytest.mark.skipif(not mg.cuda.is_available(), reason="no GPU minigrad can use")
def test_trainer_on_the_gpu(figures):
    model = TinyNet()
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    trainer.fit(model, HalvesData())
    assert all(p.device == mg.device("cuda:0") for p in model.parameters())
    assert model.board.data["val_acc"][0].y >= 0.9


@pytest.mark.skipif(not hasattr(nn, "LazyLinear"), reason="no lazy modules in minigrad.nn yet")
def test_lazy_lenet_initialised_and_summarised_as_the_book(figures, capsys):
    model = d2l.LeNet(lr=0.1)
    model.apply_init([mg.zeros(2, 1, 28, 28)], d2l.init_cnn)
    weight = model.net[-1].weight.detach().numpy()
    bound = np.sqrt(6 / (84 + 10))  # Xavier's, not the default's 1/sqrt(84)
    assert weight.shape == (10, 84) and np.abs(weight).max() <= bound * (1 + 1e-6)
    assert abs(weight.std() - bound / np.sqrt(3)) < 0.2 * bound / np.sqrt(3)
    model.layer_summary((1, 1, 28, 28))
    assert capsys.readouterr().out.splitlines() == _torch_summary_lines(_lenet_eager(torch.nn),
                                                                        (1, 1, 28, 28))
    lazy = TinyNet()
    lazy.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(2))
    d2l.Trainer(max_epochs=1).fit(lazy, HalvesData(num_train=64))
    assert lazy.net[1].weight.shape == (2, 64)


# ----- ProgressBoard ------------------------------------------------------------------------------
def test_progress_board_averages_every_n_points(figures):
    board = d2l.ProgressBoard("x", display=False)
    for x in range(10):
        board.draw(x, x * x, "square", every_n=4)
        board.draw(x, 1.0, "one")
    assert [tuple(p) for p in board.data["square"]] == [(1.5, 3.5), (5.5, 31.5)]
    assert len(board.raw_points["square"]) == 2  # 8 and 9 wait for two more
    assert len(board.data["one"]) == 10 and board.data["one"][3].x == 3
    board.draw(0, 5.0, "few", every_n=0)  # fewer batches than points an epoch: every point
    assert board.data["few"] == [(0, 5.0)]
    assert board.path is None and not os.listdir(figures[0])  # display=False: nothing drawn


def test_progress_board_in_a_script_writes_a_png_atomically(figures, capsys, monkeypatch):
    folder, writes = figures
    monkeypatch.delenv("DISPLAY", raising=False)
    board = d2l.ProgressBoard("x", ylabel="y", xlim=[0, 10])
    for x in np.arange(0, 10, 0.1):
        board.draw(x, np.sin(x), "sin", every_n=2)
        board.draw(x, np.cos(x), "cos", every_n=10)
    assert len(board.data["sin"]) == 50 and len(board.data["cos"]) == 10
    assert len(writes) == 1  # the first point at once, then at most every min_interval seconds
    board.flush()
    assert len(writes) == 2
    board.flush()  # nothing new: not written again
    assert len(writes) == 2
    assert capsys.readouterr().out == f"ProgressBoard: the plot is drawn to {board.path}\n"
    with open(board.path, "rb") as f:
        good = f.read()
    assert good[:8] == PNG and os.stat(board.path).st_mode & 0o044 == 0o044
    axes = board.fig.axes[0]
    assert [line.get_label() for line in axes.get_lines()] == ["sin", "cos"]  # each curve once
    assert axes.get_xlabel() == "x" and axes.get_xlim() == (0, 10)

    def broken_savefig(out, **kwargs):  # a crash half-way through writing the PNG
        out.write(PNG[:4])
        raise RuntimeError("disk full")

    monkeypatch.setattr(board.fig, "savefig", broken_savefig)
    board.draw(10, 0.0, "sin")
    with pytest.raises(RuntimeError, match="disk full"):
        board.flush()
    with open(board.path, "rb") as f:
        assert f.read() == good  # the last good PNG, whole
    assert os.listdir(folder) == [os.path.basename(board.path)]  # and no temporary beside it


def test_progress_board_points_left_unwritten_are_written_at_exit(figures):
    board = d2l.ProgressBoard(display=True)
    board.draw(0, 1.0, "a")
    board.draw(1, 2.0, "a")
    assert board in board_module._unwritten
    board_module._write_the_rest()
    assert board not in board_module._unwritten and len(figures[1]) == 2


def test_progress_board_draws_into_given_axes(figures):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure()
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    right.plot([0, 1], [1, 0], label="kept")
    board = d2l.ProgressBoard(axes=right, ls=["-"], colors=["C3"])
    for i in range(3):
        board.draw(i, i, "b")
    board.flush()
    assert board.fig is fig and [line.get_label() for line in right.get_lines()] == ["kept", "b"]
    assert right.get_lines()[1].get_color() == "C3" and not left.get_lines()


# ----- the Fashion-MNIST DataModule ---------------------------------------------------------------
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
    """A chapter's working folder, with ../data beside it holding Fashion-MNIST, and no other."""
    work = tmp_path / "chapter"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "home"))
    monkeypatch.setattr(DS.FashionMNIST, "extra_dirs", [])
    _write_fashion(tmp_path / "data" / "FashionMNIST" / "raw")
    return tmp_path


def test_fashion_mnist_datamodule_as_the_book(book_folder):
    data = d2l.FashionMNIST(batch_size=8)
    assert data.hparams == {"batch_size": 8, "resize": (28, 28)}
    assert data.root == "../data" and len(data.train) == 20 and len(data.val) == 10
    train = data.train_dataloader()
    assert len(train) == 3 and train.num_workers == 4
    assert type(train.sampler).__name__ == "RandomSampler"
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (8, 1, 28, 28) and X.dtype == mg.float32 and y.dtype == mg.int64
    raw = DS.read_idx(book_folder / "data" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte")
    np.testing.assert_allclose(X.numpy()[:, 0], raw[:8] / np.float32(255), rtol=1e-6)
    labels = DS.read_idx(book_folder / "data" / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte")
    assert data.text_labels(y) == d2l.get_fashion_mnist_labels(labels[:8])
    assert data.text_labels([0, 9]) == ["t-shirt", "ankle boot"]


def test_fashion_mnist_datamodule_resizes(book_folder):
    data = d2l.FashionMNIST(batch_size=4, resize=(32, 40))
    X, _ = next(iter(data.get_dataloader(False)))
    assert X.shape == (4, 1, 32, 40) and 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    X, _ = next(iter(d2l.FashionMNIST(batch_size=2, resize=56).get_dataloader(True)))
    assert X.shape == (2, 1, 56, 56)
    assert data.val.data.shape == (10, 28, 28)  # resized per batch; the stored images stay 28x28
    with pytest.raises(ValueError, match=r"FashionMNIST: resize .* got \(0, 5\)"):
        d2l.FashionMNIST(resize=(0, 5))


def test_fashion_mnist_visualize_shows_a_batch_with_its_labels(book_folder, monkeypatch):
    shown = []
    monkeypatch.setattr(d2l.plotting, "show_images",
                        lambda imgs, rows, cols, titles=None, scale=1.5:
                        shown.append((tuple(imgs.shape), rows, cols, titles)))
    data = d2l.FashionMNIST(batch_size=8)
    X, y = next(iter(data.val_dataloader()))
    data.visualize((X, y))
    assert shown == [((8, 28, 28), 1, 8, data.text_labels(y))]
    data.visualize((X, y), nrows=2, ncols=4, labels=["a"] * 8)
    assert shown[-1] == ((8, 28, 28), 2, 4, ["a"] * 8)


def test_fashion_mnist_datamodule_trains_with_the_trainer(book_folder, figures):
    class Softmax(d2l.Classifier):
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))

    model = Softmax()
    model.apply_init([next(iter(d2l.FashionMNIST(batch_size=8).get_dataloader(True)))[0]],
                     d2l.init_cnn)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, d2l.FashionMNIST(batch_size=8))
    assert trainer.num_train_batches == 3 and len(model.board.data["val_acc"]) == 1


# ----- Jupyter ---------------------------------------------------------------------------------
def test_trainer_in_a_notebook_draws_the_board_inline(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    source = """import numpy as np
import minigrad as torch
from minigrad import nn
from minigrad import d2l

class Data(d2l.DataModule):
    def __init__(self, batch_size=16):
        super().__init__()
        self.save_hyperparameters()
        gen = np.random.default_rng(0)
        self.X = torch.tensor(gen.random((64, 1, 4, 4), dtype=np.float32))
        self.y = torch.tensor(gen.integers(0, 3, 64))
    def get_dataloader(self, train):
        part = slice(0, 48) if train else slice(48, None)
        return self.get_tensorloader((self.X, self.y), train, part)

class Net(d2l.Classifier):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))

d2l.Trainer(max_epochs=2).fit(Net(), Data())"""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = notebook.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    images = [o for o in outputs if o.output_type in ("display_data", "execute_result")
              and ({"image/png", "image/svg+xml"} & set(o.get("data", {})))]
    assert images, f"no inline plot among the outputs: {[o.output_type for o in outputs]}"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "drawn to" not in text
    assert os.listdir(tmp_path) == []  # inline only: no PNG written beside the notebook


# ----- the d2l package's blocks (d2l.Residual, d2l.ResNeXtBlock; cnn-design calls the latter) ---
def _torch_twin(kind, num_channels, *rest):
    """torch versions of the two blocks, written from their description (see minigrad/d2l/blocks.py)
    with d2l's attribute names, so one state_dict serves both."""
    tnn, relu = torch.nn, torch.relu
    block = tnn.Module()
    if kind == "Residual":
        project, stride = (list(rest) + [False, 1][len(rest):])[:2]
        block.conv1 = tnn.LazyConv2d(num_channels, 3, stride=stride, padding=1)
        block.conv2 = tnn.LazyConv2d(num_channels, 3, padding=1)
        block.conv3 = tnn.LazyConv2d(num_channels, 1, stride=stride) if project else None
        block.bn1, block.bn2 = tnn.LazyBatchNorm2d(), tnn.LazyBatchNorm2d()

        def forward(X):
            body = block.bn2(block.conv2(relu(block.bn1(block.conv1(X)))))
            return relu(body + (block.conv3(X) if project else X))
    else:
        per_group, bot_mul = rest[:2]
        project, stride = (list(rest[2:]) + [False, 1][len(rest) - 2:])[:2]
        width = int(round(num_channels * bot_mul))
        block.conv1 = tnn.LazyConv2d(width, 1)
        block.conv2 = tnn.LazyConv2d(width, 3, stride=stride, padding=1, groups=width // per_group)
        block.conv3 = tnn.LazyConv2d(num_channels, 1)
        block.bn1, block.bn2, block.bn3 = (tnn.LazyBatchNorm2d() for _ in range(3))
        block.conv4 = tnn.LazyConv2d(num_channels, 1, stride=stride) if project else None
        if project:
            block.bn4 = tnn.LazyBatchNorm2d()

        def forward(X):
            Y = relu(block.bn2(block.conv2(relu(block.bn1(block.conv1(X))))))
            Y = block.bn3(block.conv3(Y))
            return relu(Y + (block.bn4(block.conv4(X)) if project else X))
    block.forward = forward
    return block


@pytest.mark.parametrize("make, args, shape, out_shape", [
    ("Residual", (3,), (4, 3, 6, 6), (4, 3, 6, 6)),
    ("Residual", (6, True, 2), (4, 3, 6, 6), (4, 6, 3, 3)),
    ("ResNeXtBlock", (32, 16, 1), (2, 32, 8, 8), (2, 32, 8, 8)),
    ("ResNeXtBlock", (80, 16, 1, True, 2), (2, 32, 8, 8), (2, 80, 4, 4)),
])
def test_d2l_blocks_match_the_d2l_packages_torch_blocks(make, args, shape, out_shape):
    """The resnet and cnn-design chapters' blocks as the d2l package has them: its attribute
    names (state_dict keys), shapes, and outputs and input gradients in train and eval mode."""
    blk = getattr(d2l, make)(*args)
    ref = _torch_twin(make, *args)
    X = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ref(torch.tensor(X))  # materialise the lazy layers
    blk(mg.tensor(X))
    ref_state = ref.state_dict()
    assert list(blk.state_dict()) == list(ref_state)
    blk.load_state_dict({k: mg.tensor(v.numpy()) for k, v in ref_state.items()})
    for train in (True, False):
        blk.train(train), ref.train(train)
        x, xt = mg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
        y, yt = blk(x), ref(xt)
        assert tuple(y.shape) == tuple(yt.shape) == out_shape
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        (y * y).sum().backward(), (yt * yt).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    assert d2l.Residual is not nn.Residual  # the zh edition's takes input_channels first
