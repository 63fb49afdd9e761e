"""The d2l blocks (mg.nn.Residual, DenseBlock, TransitionBlock, Inception, NiNBlock, VGGBlock)
and the model zoo (minigrad.models) against PyTorch twins written with torch.nn as d2l writes them.

Each twin's weights are copied into the minigrad network through NumPy; the same input then has to
give the same output, input gradient, every parameter gradient and (after a train-mode forward) the
same BatchNorm running statistics, in train and in eval mode. Inputs are small (batch 2, the
smallest resolution d2l's layout allows) so the file runs in well under two minutes on two cores.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.models as models
from minigrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional


@pytest.fixture(autouse=True, scope="module")
def _one_thread_each():
    """Two libraries taking turns on two shared cores: with two threads each, their spinning thread
    pools starve each other (10x slowdowns); one thread each keeps the file fast. Restored after."""
    import numba
    before = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    numba.set_num_threads(before[1])


# ----- the PyTorch twins: d2l.ai's code (PyTorch edition) ---------------------------------------
class TResidual(tnn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                                stride=strides)
        self.conv2 = tnn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = (tnn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
                      if use_1x1conv else None)
        self.bn1 = tnn.BatchNorm2d(num_channels)
        self.bn2 = tnn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = TF.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return TF.relu(Y)


def t_conv_block(input_channels, num_channels):
    return tnn.Sequential(tnn.BatchNorm2d(input_channels), tnn.ReLU(),
                          tnn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class TDenseBlock(tnn.Module):
    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        self.net = tnn.Sequential(*[t_conv_block(num_channels * i + input_channels, num_channels)
                                    for i in range(num_convs)])

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)
        return X


def t_transition_block(input_channels, num_channels):
    return tnn.Sequential(tnn.BatchNorm2d(input_channels), tnn.ReLU(),
                          tnn.Conv2d(input_channels, num_channels, kernel_size=1),
                          tnn.AvgPool2d(kernel_size=2, stride=2))


class TInception(tnn.Module):
    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.p1_1 = tnn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = tnn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = tnn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = tnn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = tnn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = tnn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = tnn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        p1 = TF.relu(self.p1_1(x))
        p2 = TF.relu(self.p2_2(TF.relu(self.p2_1(x))))
        p3 = TF.relu(self.p3_2(TF.relu(self.p3_1(x))))
        p4 = TF.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def t_nin_block(in_channels, out_channels, kernel_size, strides, padding):
    return tnn.Sequential(
        tnn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), tnn.ReLU(),
        tnn.Conv2d(out_channels, out_channels, kernel_size=1), tnn.ReLU(),
        tnn.Conv2d(out_channels, out_channels, kernel_size=1), tnn.ReLU())


def t_vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(tnn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        layers.append(tnn.ReLU())
        in_channels = out_channels
    layers.append(tnn.MaxPool2d(kernel_size=2, stride=2))
    return tnn.Sequential(*layers)


def t_lenet():
    return tnn.Sequential(
        tnn.Conv2d(1, 6, kernel_size=5, padding=2), tnn.Sigmoid(),
        tnn.AvgPool2d(kernel_size=2, stride=2),
        tnn.Conv2d(6, 16, kernel_size=5), tnn.Sigmoid(),
        tnn.AvgPool2d(kernel_size=2, stride=2),
        tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120), tnn.Sigmoid(),
        tnn.Linear(120, 84), tnn.Sigmoid(),
        tnn.Linear(84, 10))


def t_alexnet(flat=6400):  # d2l: 6400 = 256 * 5 * 5 for 224x224 inputs; 256 for 65x65
    return tnn.Sequential(
        tnn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), tnn.ReLU(),
        tnn.MaxPool2d(kernel_size=3, stride=2),
        tnn.Conv2d(96, 256, kernel_size=5, padding=2), tnn.ReLU(),
        tnn.MaxPool2d(kernel_size=3, stride=2),
        tnn.Conv2d(256, 384, kernel_size=3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 384, kernel_size=3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 256, kernel_size=3, padding=1), tnn.ReLU(),
        tnn.MaxPool2d(kernel_size=3, stride=2),
        tnn.Flatten(),
        tnn.Linear(flat, 4096), tnn.ReLU(), tnn.Dropout(p=0.5),
        tnn.Linear(4096, 4096), tnn.ReLU(), tnn.Dropout(p=0.5),
        tnn.Linear(4096, 10))


def t_vgg(conv_arch, spatial=7):  # d2l: out_channels * 7 * 7 for 224x224 inputs
    conv_blks = []
    in_channels = 1
    for (num_convs, out_channels) in conv_arch:
        conv_blks.append(t_vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return tnn.Sequential(
        *conv_blks, tnn.Flatten(),
        tnn.Linear(out_channels * spatial * spatial, 4096), tnn.ReLU(), tnn.Dropout(0.5),
        tnn.Linear(4096, 4096), tnn.ReLU(), tnn.Dropout(0.5),
        tnn.Linear(4096, 10))


def t_nin():
    return tnn.Sequential(
        t_nin_block(1, 96, kernel_size=11, strides=4, padding=0),
        tnn.MaxPool2d(3, stride=2),
        t_nin_block(96, 256, kernel_size=5, strides=1, padding=2),
        tnn.MaxPool2d(3, stride=2),
        t_nin_block(256, 384, kernel_size=3, strides=1, padding=1),
        tnn.MaxPool2d(3, stride=2),
        tnn.Dropout(0.5),
        t_nin_block(384, 10, kernel_size=3, strides=1, padding=1),
        tnn.AdaptiveAvgPool2d((1, 1)),
        tnn.Flatten())


def t_googlenet():
    b1 = tnn.Sequential(tnn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                        tnn.ReLU(), tnn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = tnn.Sequential(tnn.Conv2d(64, 64, kernel_size=1), tnn.ReLU(),
                        tnn.Conv2d(64, 192, kernel_size=3, padding=1), tnn.ReLU(),
                        tnn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = tnn.Sequential(TInception(192, 64, (96, 128), (16, 32), 32),
                        TInception(256, 128, (128, 192), (32, 96), 64),
                        tnn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = tnn.Sequential(TInception(480, 192, (96, 208), (16, 48), 64),
                        TInception(512, 160, (112, 224), (24, 64), 64),
                        TInception(512, 128, (128, 256), (24, 64), 64),
                        TInception(512, 112, (144, 288), (32, 64), 64),
                        TInception(528, 256, (160, 320), (32, 128), 128),
                        tnn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = tnn.Sequential(TInception(832, 256, (160, 320), (32, 128), 128),
                        TInception(832, 384, (192, 384), (48, 128), 128),
                        tnn.AdaptiveAvgPool2d((1, 1)), tnn.Flatten())
    return tnn.Sequential(b1, b2, b3, b4, b5, tnn.Linear(1024, 10))


def t_b1(small_input=False):
    if small_input:  # minigrad's small-input stem: 3x3 stride-1 conv, no max pool
        return tnn.Sequential(tnn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1),
                              tnn.BatchNorm2d(64), tnn.ReLU())
    return tnn.Sequential(tnn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                          tnn.BatchNorm2d(64), tnn.ReLU(),
                          tnn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def t_resnet_block(input_channels, num_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(TResidual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(TResidual(num_channels, num_channels))
    return blk


def t_resnet18(small_input=False):
    b2 = tnn.Sequential(*t_resnet_block(64, 64, 2, first_block=True))
    b3 = tnn.Sequential(*t_resnet_block(64, 128, 2))
    b4 = tnn.Sequential(*t_resnet_block(128, 256, 2))
    b5 = tnn.Sequential(*t_resnet_block(256, 512, 2))
    return tnn.Sequential(t_b1(small_input), b2, b3, b4, b5, tnn.AdaptiveAvgPool2d((1, 1)),
                          tnn.Flatten(), tnn.Linear(512, 10))


def t_densenet(small_input=False):
    num_channels, growth_rate = 64, 32
    num_convs_in_dense_blocks = [4, 4, 4, 4]
    blks = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(TDenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            blks.append(t_transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return tnn.Sequential(t_b1(small_input), *blks, tnn.BatchNorm2d(num_channels), tnn.ReLU(),
                          tnn.AdaptiveAvgPool2d((1, 1)), tnn.Flatten(),
                          tnn.Linear(num_channels, 10))


# ----- the comparison ---------------------------------------------------------------------------
def _close(name, got, want, rtol, floor=1e-6):
    """max|got - want| <= rtol * max(max|want|, floor)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != torch's {want.shape}"
    scale = max(float(np.abs(want).max(initial=0.0)), floor)
    err = float(np.abs(got - want).max(initial=0.0))
    assert err <= rtol * scale, f"{name}: max abs error {err:.3g} > {rtol} * max|torch| {scale:.3g}"


def _no_dropout(*nets):
    for net in nets:
        for m in net.modules():
            if isinstance(m, (nn.Dropout, tnn.Dropout)):
                m.p = 0.0


def compare(mnet, tnet, shape, rtol=1e-3, seed=0, modes=("train", "eval")):
    """Copy tnet's weights into mnet, then for each mode check outputs, input gradient, every
    parameter gradient, and (train) the buffers after the forward. Returns the minigrad output."""
    _no_dropout(mnet, tnet)  # dropout masks come from different generators
    mkeys, tkeys = list(mnet.state_dict()), list(tnet.state_dict())
    assert mkeys == tkeys, f"state_dict keys differ:\n{mkeys}\n{tkeys}"
    mnet.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    out = None
    for mode in modes:
        for net in (mnet, tnet):
            net.train(mode == "train")
            net.zero_grad()
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = mnet(xm), tnet(xt)
        _close(f"{mode} output", ym.detach().numpy(), yt.detach().numpy(), rtol)
        upstream = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
        ym.backward(mg.tensor(upstream))
        yt.backward(torch.tensor(upstream))
        _close(f"{mode} input grad", xm.grad.numpy(), xt.grad.numpy(), rtol)
        tparams = dict(tnet.named_parameters())
        mparams = dict(mnet.named_parameters())
        assert list(mparams) == list(tparams)
        # A conv bias right before a train-mode BatchNorm has an exactly zero gradient, which both
        # libraries compute as rounding noise: measure every gradient against 1% of the largest one.
        floor = 1e-2 * max(float(p.grad.abs().max()) for p in tparams.values())
        for name, p in mparams.items():
            assert p.grad is not None, f"{mode}: no gradient for {name}"
            _close(f"{mode} grad of {name}", p.grad.numpy(), tparams[name].grad.numpy(), rtol,
                   floor)
        if mode == "train":
            tbufs = dict(tnet.named_buffers())
            for name, b in mnet.named_buffers():
                _close(f"buffer {name}", b.numpy(), tbufs[name].numpy(), rtol)
        out = ym
    return out


# ----- blocks -----------------------------------------------------------------------------------
def test_blocks_are_exported():
    for name in ("Residual", "DenseBlock", "TransitionBlock", "Inception", "NiNBlock", "VGGBlock"):
        assert issubclass(getattr(nn, name), nn.Module)


@pytest.mark.parametrize("args, shape, out_shape", [
    ((3, 3), (4, 3, 6, 6), (4, 3, 6, 6)),
    ((3, 6, True, 2), (4, 3, 6, 6), (4, 6, 3, 3)),
    ((4, 5, True, 1), (2, 4, 5, 7), (2, 5, 5, 7)),
])
def test_residual(args, shape, out_shape):
    torch.manual_seed(0)
    out = compare(nn.Residual(*args), TResidual(*args), shape)
    assert tuple(out.shape) == out_shape


def test_residual_keys_as_d2l():
    keys = list(nn.Residual(3, 6, use_1x1conv=True, strides=2).state_dict())
    assert keys[:6] == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                        "conv3.weight", "conv3.bias"]
    assert "bn2.running_var" in keys and "conv3.weight" not in nn.Residual(3, 3).state_dict()


def test_dense_and_transition_blocks():
    torch.manual_seed(1)
    blk = nn.DenseBlock(2, 3, 10)
    out = compare(blk, TDenseBlock(2, 3, 10), (4, 3, 8, 8))
    assert tuple(out.shape) == (4, 23, 8, 8)
    out = compare(nn.TransitionBlock(23, 10), t_transition_block(23, 10), (4, 23, 8, 8))
    assert tuple(out.shape) == (4, 10, 4, 4)
    assert list(blk.state_dict())[0] == "net.0.0.weight"


def test_inception():
    torch.manual_seed(2)
    args = (6, 4, (3, 5), (2, 3), 2)
    out = compare(nn.Inception(*args), TInception(*args), (2, 6, 7, 5))
    assert tuple(out.shape) == (2, 14, 7, 5)


def test_nin_and_vgg_blocks():
    torch.manual_seed(3)
    out = compare(nn.NiNBlock(2, 5, 3, 2, 1), t_nin_block(2, 5, 3, 2, 1), (2, 2, 9, 9))
    assert tuple(out.shape) == (2, 5, 5, 5)
    out = compare(nn.VGGBlock(2, 3, 4), t_vgg_block(2, 3, 4), (2, 3, 8, 6))
    assert tuple(out.shape) == (2, 4, 4, 3)


def test_inplace_add_and_cat_are_differentiable():
    """What Residual.forward and DenseBlock.forward rely on: `Y += X` on a non-leaf that BatchNorm
    produced, and mg.cat on the channel axis, both pass gradients to every input."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 3, 4, 4)).astype(np.float32), rng.standard_normal(
        (2, 3, 4, 4)).astype(np.float32)
    g = rng.standard_normal((2, 6, 4, 4)).astype(np.float32)
    results = []
    for lib, bn in ((mg, nn.BatchNorm2d(3)), (torch, tnn.BatchNorm2d(3))):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        z = bn(x)
        z += y
        out = lib.cat((lib.relu(z), x * 2), dim=1)
        out.backward(lib.tensor(g))
        results.append([t.detach().numpy() for t in (out, x.grad, y.grad, bn.weight.grad)])
    for name, got, want in zip(("out", "x.grad", "y.grad", "weight.grad"), *results):
        _close(name, got, want, 1e-4)


# ----- models -----------------------------------------------------------------------------------
MODELS = {
    # name: (minigrad constructor, torch twin, input shape, rtol)
    "lenet": (lambda: models.lenet(), t_lenet, (2, 1, 28, 28), 1e-4),
    "alexnet": (lambda: models.alexnet(image_size=65), lambda: t_alexnet(256), (2, 1, 65, 65),
                1e-3),
    "vgg11": (lambda: models.vgg11(ratio=8, image_size=32),
              lambda: t_vgg([(n, c // 8) for n, c in models.zoo.VGG11_ARCH], spatial=1),
              (2, 1, 32, 32), 1e-3),
    "nin": (lambda: models.nin(), t_nin, (2, 1, 67, 67), 1e-3),
    "googlenet": (lambda: models.googlenet(), t_googlenet, (2, 1, 32, 32), 1e-3),
    "resnet18": (lambda: models.resnet18(), t_resnet18, (4, 1, 32, 32), 2e-3),
    "resnet18_small_input": (lambda: models.resnet18(small_input=True),
                             lambda: t_resnet18(small_input=True), (2, 1, 16, 16), 2e-3),
    "densenet": (lambda: models.densenet(), t_densenet, (2, 1, 32, 32), 2e-3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_matches_torch(name):
    make, make_twin, shape, rtol = MODELS[name]
    torch.manual_seed(10)
    out = compare(make(), make_twin(), shape, rtol=rtol)
    assert tuple(out.shape) == (shape[0], 10)


def test_model_arguments():
    small = {models.alexnet: {"image_size": 65}, models.vgg11: {"image_size": 32, "ratio": 8}}
    for make in (models.lenet, models.alexnet, models.vgg11, models.nin, models.googlenet,
                 models.resnet18, models.densenet):
        net = make(in_channels=3, num_classes=7, **small.get(make, {}))
        weights = [p for n, p in net.named_parameters() if n.endswith("weight") and p.ndim == 4]
        assert weights[0].shape[1] == 3, make.__name__
        last = [p for p in net.parameters()][-1]
        assert last.shape == (7,), make.__name__
    assert models.vgg11(ratio=4)[0][0].out_channels == 16
    small = models.resnet18(small_input=True)
    assert small[0][0].kernel_size == (3, 3) and len(small[0]) == 3
    with pytest.raises(ValueError, match="too small"):
        models.alexnet(image_size=32)


def test_d2l_shape_facts():
    net = models.resnet18()
    assert models.count_parameters(net) == 11_178_378
    assert sum(p.numel() for p in net.parameters()) == 11_178_378
    with mg.no_grad():
        assert tuple(net(mg.randn(1, 1, 96, 96)).shape) == (1, 10)
    assert models.count_parameters(models.lenet()) == 61_706
    assert models.count_parameters(models.alexnet()) == 46_764_746  # d2l's 224x224 layout


def test_summary(capsys):
    net = models.densenet()
    net.train()
    before = net[0][1].running_mean.numpy().copy()
    rows = models.summary(net, (1, 1, 96, 96))
    printed = capsys.readouterr().out
    assert [r.name for r in rows] == [str(i) for i in range(len(net))]
    assert rows[0].output_shape == (1, 64, 24, 24) and rows[-1].output_shape == (1, 10)
    assert rows[1].layer == "DenseBlock" and rows[1].output_shape == (1, 192, 24, 24)
    assert sum(r.params for r in rows) == models.count_parameters(net)
    assert "DenseBlock" in printed and "(1, 192, 24, 24)" in printed and "758,226" in printed
    assert net.training and np.array_equal(net[0][1].running_mean.numpy(), before)
    deep = models.summary(models.resnet18(), (1, 1, 96, 96), depth=2, print_table=False)
    assert deep[0].name == "0.0" and deep[0].output_shape == (1, 64, 48, 48)
    assert deep[-1].output_shape == (1, 10)
