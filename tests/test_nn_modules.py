"""minigrad.nn modules against torch.nn with identical weights (outputs, input and parameter gradients,
buffers, in train and eval mode), Module mechanics (state_dict layout, loading, traversal, containers),
default initialisation and nn.init statistics, d2l's LeNet shapes and the learner-facing errors."""
import math
import re
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

RTOL, ATOL = 1e-4, 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


def copy_weights(t_mod, m_mod):
    """torch's state_dict into minigrad's through NumPy (strict: the layouts must agree)."""
    m_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})


def assert_state_equal(m_mod, t_mod):
    m_sd, t_sd = m_mod.state_dict(), t_mod.state_dict()
    assert list(m_sd) == list(t_sd)
    for key in t_sd:
        np.testing.assert_allclose(npy(m_sd[key]), npy(t_sd[key]), rtol=RTOL, atol=ATOL,
                                   err_msg=key)


def run_both(torch, make, shape, train=True, steps=1, seed=0, positive=False):
    """Build the module in both frameworks (`make(nn_module)`), share torch's weights, run `steps`
    forward/backward passes on the same random inputs and compare everything."""
    t_mod, m_mod = make(torch.nn), make(nn)
    copy_weights(t_mod, m_mod)
    t_mod.train(train)
    m_mod.train(train)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.uniform(0.1 if positive else -2, 2, size=shape).astype(np.float32)
        tx, mx = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
        t_out, m_out = t_mod(tx * 1), m_mod(mx * 1)  # * 1: in-place layers see a non-leaf
        assert tuple(m_out.shape) == tuple(t_out.shape)
        np.testing.assert_allclose(npy(m_out), npy(t_out), rtol=RTOL, atol=ATOL, err_msg="output")
        g = rng.uniform(-1, 1, size=tuple(t_out.shape)).astype(np.float32)
        (t_out * torch.tensor(g)).sum().backward()
        (m_out * mg.tensor(g)).sum().backward()
        np.testing.assert_allclose(npy(mx.grad), npy(tx.grad), rtol=RTOL, atol=1e-4,
                                   err_msg="input grad")
        t_params = dict(t_mod.named_parameters())
        m_params = dict(m_mod.named_parameters())
        assert list(m_params) == list(t_params)
        for name, tp in t_params.items():
            assert m_params[name].grad is not None, name
            np.testing.assert_allclose(npy(m_params[name].grad), npy(tp.grad), rtol=RTOL,
                                       atol=1e-4, err_msg=f"grad of {name}")
        assert_state_equal(m_mod, t_mod)
    return m_mod, t_mod


LAYERS = {
    "linear": (lambda n: n.Linear(7, 5), (4, 7)),
    "linear_3d_nobias": (lambda n: n.Linear(6, 3, bias=False), (2, 4, 6)),
    "conv": (lambda n: n.Conv2d(3, 4, 3), (2, 3, 8, 9)),
    "conv_stride_pad": (lambda n: n.Conv2d(2, 5, (3, 2), stride=(2, 1), padding=(1, 2)),
                        (2, 2, 9, 7)),
    "conv_dilation": (lambda n: n.Conv2d(2, 3, 3, dilation=2, padding=1), (1, 2, 10, 10)),
    "conv_groups_nobias": (lambda n: n.Conv2d(4, 6, 3, groups=2, bias=False), (2, 4, 7, 7)),
    "conv_depthwise": (lambda n: n.Conv2d(3, 3, 3, groups=3, padding=1), (2, 3, 6, 6)),
    "conv_same": (lambda n: n.Conv2d(3, 2, (3, 4), padding="same"), (2, 3, 7, 8)),
    "conv_same_dilated": (lambda n: n.Conv2d(2, 2, 3, padding="same", dilation=2), (1, 2, 9, 9)),
    "conv_valid": (lambda n: n.Conv2d(2, 2, 3, padding="valid"), (1, 2, 6, 6)),
    "maxpool": (lambda n: n.MaxPool2d(2), (2, 3, 8, 8)),
    "maxpool_stride_pad": (lambda n: n.MaxPool2d(3, stride=2, padding=1), (2, 2, 9, 7)),
    "avgpool": (lambda n: n.AvgPool2d(2, 2), (2, 3, 8, 6)),
    "avgpool_pad": (lambda n: n.AvgPool2d(3, stride=2, padding=1), (2, 2, 7, 7)),
    "adaptive_avg": (lambda n: n.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    "adaptive_avg_1": (lambda n: n.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    "adaptive_max": (lambda n: n.AdaptiveMaxPool2d((2, 3)), (2, 2, 5, 7)),
    "bn1d_2d": (lambda n: n.BatchNorm1d(5), (8, 5)),
    "bn1d_3d": (lambda n: n.BatchNorm1d(4), (3, 4, 6)),
    "bn2d": (lambda n: n.BatchNorm2d(3), (4, 3, 5, 5)),
    "bn2d_momentum_none": (lambda n: n.BatchNorm2d(3, momentum=None), (4, 3, 4, 4)),
    "bn2d_momentum_eps": (lambda n: n.BatchNorm2d(2, momentum=0.3, eps=1e-3), (3, 2, 4, 4)),
    "bn2d_no_affine": (lambda n: n.BatchNorm2d(3, affine=False), (4, 3, 4, 4)),
    "bn2d_no_running": (lambda n: n.BatchNorm2d(3, track_running_stats=False), (4, 3, 4, 4)),
    "relu": (lambda n: n.ReLU(), (3, 5)),
    "relu_inplace": (lambda n: n.ReLU(inplace=True), (3, 5)),
    "leaky_relu": (lambda n: n.LeakyReLU(), (3, 5)),
    "leaky_relu_slope": (lambda n: n.LeakyReLU(0.2), (2, 3, 4)),
    "sigmoid": (lambda n: n.Sigmoid(), (3, 5)),
    "tanh": (lambda n: n.Tanh(), (3, 5)),
    "softmax_1": (lambda n: n.Softmax(dim=1), (3, 5)),
    "softmax_last": (lambda n: n.Softmax(dim=-1), (2, 3, 4)),
    "flatten": (lambda n: n.Flatten(), (2, 3, 4, 5)),
    "flatten_range": (lambda n: n.Flatten(0, 2), (2, 3, 4, 5)),
    "identity": (lambda n: n.Identity(), (3, 4)),
    "dropout_p0": (lambda n: n.Dropout(0.0), (3, 4)),
    "sequential": (lambda n: n.Sequential(n.Linear(6, 8), n.ReLU(), n.Linear(8, 3)), (5, 6)),
    "cnn": (lambda n: n.Sequential(n.Conv2d(2, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(),
                                   n.MaxPool2d(2), n.Flatten(), n.Linear(4 * 3 * 3, 5)),
            (3, 2, 6, 6)),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_module_matches_torch(torch, name, train):
    make, shape = LAYERS[name]
    steps = 3 if name.startswith("bn") or name == "cnn" else 1
    run_both(torch, make, shape, train=train, steps=steps)


def test_batchnorm_running_stats_and_eval(torch):
    for momentum in (0.1, None):
        m_bn, t_bn = run_both(torch, lambda n: n.BatchNorm2d(3, momentum=momentum), (6, 3, 4, 4),
                              steps=4, seed=1)
        assert int(m_bn.num_batches_tracked.item()) == 4
        assert m_bn.num_batches_tracked.dtype == mg.int64
        assert not np.allclose(npy(m_bn.running_mean), 0)
        # eval mode normalises with the running statistics (not the batch's)
        m_bn.eval(), t_bn.eval()
        x = np.random.default_rng(5).normal(3, 2, size=(2, 3, 4, 4)).astype(np.float32)
        np.testing.assert_allclose(npy(m_bn(mg.tensor(x))), npy(t_bn(torch.tensor(x))),
                                   rtol=RTOL, atol=ATOL)
        assert int(m_bn.num_batches_tracked.item()) == 4  # eval does not count batches
        expected = (x - npy(m_bn.running_mean)[:, None, None]) / np.sqrt(
            npy(m_bn.running_var)[:, None, None] + 1e-5) * npy(m_bn.weight)[:, None, None] \
            + npy(m_bn.bias)[:, None, None]
        np.testing.assert_allclose(npy(m_bn(mg.tensor(x))), expected, rtol=1e-4, atol=1e-4)
    bn = nn.BatchNorm2d(3, track_running_stats=False)
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]
    assert list(nn.BatchNorm1d(2, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize("make, shape", [
    (lambda n: n.Sequential(n.BatchNorm2d(3), n.ReLU()), (6, 3, 4, 4)),
    (lambda n: n.Sequential(n.BatchNorm2d(3, momentum=None, affine=False), n.ReLU(inplace=True),
                            n.MaxPool2d(2)), (6, 3, 4, 4)),
    (lambda n: n.Sequential(n.BatchNorm1d(4, track_running_stats=False), n.ReLU()), (5, 4, 3)),
])
def test_sequential_batch_norm_then_relu_matches_torch(torch, make, shape):
    # Sequential runs a BatchNorm that normalises with the batch's statistics and the ReLU after
    # it as one op (in eval, with running statistics, it does not)
    m_mod, _ = run_both(torch, make, shape, steps=3, seed=2)
    out = m_mod[:2](mg.tensor(np.ones(shape, np.float32), requires_grad=True))
    assert out.grad_fn.name == "NativeBatchNormBackward0"
    m_mod.eval()
    out = m_mod[:2](mg.tensor(np.ones(shape, np.float32), requires_grad=True))
    fused = not m_mod[0].track_running_stats
    assert (out.grad_fn.name == "NativeBatchNormBackward0") == fused
    run_both(torch, make, shape, train=False, steps=1, seed=3)


def test_dropout_eval_identity_and_train_statistics():
    x = mg.ones(200, 500, requires_grad=True)
    drop = nn.Dropout(0.3)
    drop.eval()
    np.testing.assert_array_equal(npy(drop(x)), np.ones((200, 500), np.float32))
    drop.train()
    out = drop(x)
    values = npy(out)
    zero = values == 0
    assert abs(zero.mean() - 0.3) < 0.01
    np.testing.assert_allclose(values[~zero], 1 / 0.7, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(npy(x.grad), values, rtol=1e-6)  # grad = mask / (1 - p)
    assert not np.array_equal(npy(drop(x)) == 0, zero)  # a fresh mask each call
    assert np.all(npy(nn.Dropout(1.0)(x)) == 0)
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_relu_inplace_modifies_its_input():
    x = mg.tensor([-1.0, 2.0, -3.0])
    out = nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(npy(x), [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(npy(out), [0.0, 2.0, 0.0])
    y = mg.tensor([-1.0, 2.0])
    nn.ReLU()(y)
    np.testing.assert_array_equal(npy(y), [-1.0, 2.0])



RELU_POOLS = [lambda n: n.MaxPool2d(2), lambda n: n.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                 lambda n: n.MaxPool2d(2, dilation=2), lambda n: n.AdaptiveMaxPool2d((2, 3))]


@pytest.mark.parametrize("pool", range(len(RELU_POOLS)))
@pytest.mark.parametrize("values", ["ties", "nan"])
@pytest.mark.parametrize("between", [False, True])
def test_sequential_relu_then_max_pool_matches_torch(torch, pool, values, between):
    # Sequential runs Conv2d, ReLU and MaxPool2d as one fused op, or ReLU and MaxPool2d when
    # something stands between the convolution and the ReLU; the values are small integers, so
    # windows hold ties between positive values and between negative ones (all 0 after relu).
    rng = np.random.default_rng(pool)
    x = rng.integers(-3, 4, size=(2, 3, 7, 8)).astype(np.float32)
    if values == "nan":
        x[0, 0, 1, 2] = x[1, 2, 4, 4] = np.nan
        x[0, 1, 0, 0] = -np.inf
    grad = rng.normal(size=(2, 3, 7, 8)).astype(np.float32)
    results = []
    for lib in (torch, mg):
        net = lib.nn.Sequential(lib.nn.Conv2d(3, 3, 1, bias=False),
                                *[lib.nn.Identity()] * between, lib.nn.ReLU(),
                                RELU_POOLS[pool](lib.nn))
        with lib.no_grad():
            net[0].weight.copy_(lib.tensor(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1)))
        out = net(lib.tensor(x))
        (out * lib.tensor(grad[tuple(slice(0, n) for n in out.shape)])).sum().backward()
        results.append((npy(out), npy(net[0].weight.grad)))
        if lib is mg:
            fused = ("ReluMaxPool2dBackward0" if between else "ConvReluMaxPool2dBackward0")
            assert (out.grad_fn.name == fused) == isinstance(net[-1], mg.nn.MaxPool2d)
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-5)


def test_sequential_fuses_only_what_computes_the_same():
    x = mg.tensor([[[[-1.0, 2.0], [3.0, -4.0]]]])
    out = nn.Sequential(nn.ReLU(inplace=True), nn.MaxPool2d(2))(x)
    np.testing.assert_array_equal(npy(x), [[[[0.0, 2.0], [3.0, 0.0]]]])  # in place: input changed
    assert npy(out).item() == 3.0

    class Negated(nn.ReLU):  # a subclass's forward may differ from relu
        def forward(self, input):
            return -super().forward(input)

    out = nn.Sequential(Negated(), nn.MaxPool2d(2))(mg.tensor([[[[-1.0, 2.0], [3.0, -4.0]]]]))
    assert npy(out).item() == 0.0
    y = mg.tensor([[[[-1.0, -2.0], [-3.0, -4.0]]]], requires_grad=True)
    out = nn.Sequential(nn.ReLU(), nn.AvgPool2d(2))(y)  # relu does not commute with a mean
    assert npy(out).item() == 0.0 and out.grad_fn.name == "AvgPool2DBackward0"

LOSSES = [
    ("ce_mean", lambda n, w: n.CrossEntropyLoss()),
    ("ce_sum", lambda n, w: n.CrossEntropyLoss(reduction="sum")),
    ("ce_none", lambda n, w: n.CrossEntropyLoss(reduction="none")),
    ("ce_smooth", lambda n, w: n.CrossEntropyLoss(label_smoothing=0.1)),
    ("ce_weight", lambda n, w: n.CrossEntropyLoss(weight=w)),
    ("ce_weight_smooth_sum", lambda n, w: n.CrossEntropyLoss(weight=w, label_smoothing=0.2,
                                                             reduction="sum")),
    ("nll_mean", lambda n, w: n.NLLLoss()),
    ("nll_weight", lambda n, w: n.NLLLoss(weight=w)),
    ("nll_none", lambda n, w: n.NLLLoss(reduction="none")),
    ("mse_mean", lambda n, w: n.MSELoss()),
    ("mse_sum", lambda n, w: n.MSELoss(reduction="sum")),
    ("mse_none", lambda n, w: n.MSELoss(reduction="none")),
]


@pytest.mark.parametrize("name,make", LOSSES, ids=[n for n, _ in LOSSES])
def test_losses_match_torch(torch, name, make):
    rng = np.random.default_rng(len(name))
    logits = rng.normal(size=(6, 5)).astype(np.float32)
    target = rng.normal(size=(6, 5)).astype(np.float32) if name.startswith("mse") else \
        rng.integers(0, 5, size=6)
    weight = rng.uniform(0.2, 2, size=5).astype(np.float32)
    results = []
    for lib in (torch, mg):
        x = lib.tensor(logits, requires_grad=True)
        inp = lib.log_softmax(x, dim=1) if name.startswith("nll") else x
        loss = make(lib.nn, lib.tensor(weight))(inp, lib.tensor(target))
        loss.backward(lib.ones(loss.shape) if loss.ndim else None)
        results.append((npy(loss), npy(x.grad)))
    (t_loss, t_grad), (m_loss, m_grad) = results
    np.testing.assert_allclose(m_loss, t_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(m_grad, t_grad, rtol=RTOL, atol=ATOL)


def small_cnn(n):
    return n.Sequential(n.Conv2d(1, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
                        n.Flatten(), n.Linear(4 * 4 * 4, 3))


def test_sgd_momentum_training_matches_torch(torch):
    t_net, m_net = small_cnn(torch.nn), small_cnn(nn)
    copy_weights(t_net, m_net)
    t_opt = torch.optim.SGD(t_net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    m_opt = mg.optim.SGD(m_net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.normal(size=(8, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, 3, size=8)
        for net, opt, lib in ((t_net, t_opt, torch), (m_net, m_opt, mg)):
            opt.zero_grad()
            lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
    m_sd, t_sd = m_net.state_dict(), t_net.state_dict()
    for key in t_sd:
        np.testing.assert_allclose(npy(m_sd[key]), npy(t_sd[key]), rtol=1e-4, atol=1e-4,
                                   err_msg=key)


# ----- Module mechanics --------------------------------------------------------------------------

def custom_model(lib):
    n = lib.nn

    class Custom(n.Module):
        def __init__(self):
            super().__init__()
            self.scale = n.Parameter(lib.ones(3))
            self.features = n.Sequential(n.Linear(3, 4), n.Sequential(n.BatchNorm1d(4), n.ReLU()))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.heads = n.ModuleList([n.Linear(4, 2), n.Linear(4, 1, bias=False)])

        def forward(self, x):
            h = self.features(x * self.scale)
            return lib.cat([head(h) for head in self.heads], dim=1)

    return Custom()


@pytest.mark.parametrize("make", [custom_model, lambda lib: small_cnn(lib.nn),
                                  lambda lib: lib.nn.Sequential(OrderedDict(
                                      conv=lib.nn.Conv2d(3, 8, 3, groups=1, bias=False),
                                      bn=lib.nn.BatchNorm2d(8), act=lib.nn.ReLU()))])
def test_state_dict_layout_matches_torch(torch, make):
    t_mod, m_mod = make(torch), make(mg)
    t_sd, m_sd = t_mod.state_dict(), m_mod.state_dict()
    assert list(m_sd) == list(t_sd)
    assert [tuple(v.shape) for v in m_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    assert [n for n, _ in m_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    assert [n for n, _ in m_mod.named_buffers()] == [n for n, _ in t_mod.named_buffers()]
    assert [n for n, _ in m_mod.named_modules()] == [n for n, _ in t_mod.named_modules()]
    assert [n for n, _ in m_mod.named_children()] == [n for n, _ in t_mod.named_children()]
    assert "scratch" not in m_sd
    copy_weights(t_mod, m_mod)  # round trip through NumPy, strict


def test_custom_module_forward_matches_torch(torch):
    run_both(torch, lambda n: custom_model(torch if n is torch.nn else mg), (5, 3), steps=2)


def test_load_state_dict_strict_errors():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    good = {k: npy(v) for k, v in net.state_dict().items()}
    missing = dict(good)
    del missing["1.running_var"]
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*'1\.running_var'"):
        net.load_state_dict(missing)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\).*'extra\.weight'"):
        net.load_state_dict({**good, "extra.weight": np.zeros(2)})
    with pytest.raises(RuntimeError, match=re.escape(
            "size mismatch for 0.weight: copying a param with shape (4, 4) from checkpoint, "
            "the shape in current model is (4, 3)")):
        net.load_state_dict({**good, "0.weight": np.zeros((4, 4), np.float32)})
    result = net.load_state_dict({**missing, "extra": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra"]
    missing_keys, unexpected_keys = result
    assert missing_keys == ["1.running_var"]
    assert net.load_state_dict(good) == ([], [])


def test_load_state_dict_copies_in_place():
    src, dst = nn.Linear(3, 2), nn.Linear(3, 2)
    weight = dst.weight
    dst.load_state_dict(src.state_dict())
    assert dst.weight is weight
    np.testing.assert_array_equal(npy(dst.weight), npy(src.weight))
    src.weight.data.fill_(7.0)  # no aliasing between the two models
    assert not np.any(npy(dst.weight) == 7.0)


def test_shared_parameters_are_deduplicated(torch):
    for lib in (torch, mg):
        lin = lib.nn.Linear(3, 3)
        seq = lib.nn.Sequential(lin, lib.nn.ReLU(), lin)
        assert len(list(seq.parameters())) == 2
        assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
        a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
        b.weight = a.weight  # tied weights
        pair = lib.nn.Sequential(a, b)
        assert [n for n, _ in pair.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
        assert list(pair.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
        assert len(list(lib.nn.Sequential(lin, lin).children())) == 1


def test_apply_train_eval_and_modules():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Conv2d", "BatchNorm2d", "Dropout", "ReLU", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.5)
    assert net.apply(init) is net
    assert np.all(npy(net[0].weight) == 0.5)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net[2].train(False)
    assert net.training and not net[2][0].training
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "2", "2.0", "2.1"]
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 3


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    net = nn.Linear(3, 2)
    net(mg.ones(4, 3)).sum().backward()
    assert net.weight.grad is not None
    net.zero_grad(set_to_none=set_to_none)
    for p in net.parameters():
        assert p.grad is None if set_to_none else not np.any(npy(p.grad))
    net.zero_grad()
    assert net.weight.grad is None


def test_register_buffer_add_module_and_type_errors():
    m = nn.Module()
    m.register_buffer("count", mg.zeros(2))
    m.register_buffer("tmp", mg.ones(1), persistent=False)
    m.add_module("lin", nn.Linear(2, 2))
    m.w = nn.Parameter(mg.ones(2))
    assert list(m.state_dict()) == ["w", "count", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count", "tmp"]
    assert m.lin is m._modules["lin"] and isinstance(m.count, mg.Tensor)
    with pytest.raises(TypeError):
        m.w = mg.ones(2)  # a plain tensor where a Parameter lives
    with pytest.raises(TypeError):
        m.lin.weight = np.ones((2, 2))
    with pytest.raises(TypeError):
        m.lin = "not a module"
    with pytest.raises(TypeError):
        m.add_module("bad", 3)
    m.w = None
    assert "w" not in m.state_dict()
    with pytest.raises(AttributeError):
        m.nonexistent


def test_sequential_and_modulelist_containers():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Tanh()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[3] and seq[-4] is layers[0]
    sub = seq[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:3]
    with pytest.raises(IndexError):
        seq[4]
    seq.append(nn.Sigmoid())
    assert len(seq) == 5 and isinstance(seq[4], nn.Sigmoid)
    assert tuple(seq(mg.ones(5, 2)).shape) == (5, 4)
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and isinstance(ml[-1], nn.Linear) and len(list(ml.parameters())) == 8
    assert list(ml.state_dict())[-1] == "3.bias" and len(ml[1:]) == 3
    with pytest.raises(NotImplementedError):
        ml(mg.ones(1))


def test_to_float64_keeps_parameter_identity():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    params = list(net.parameters())
    opt = mg.optim.SGD(net.parameters(), lr=0.1)
    assert net.to(mg.float64) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == mg.float64 and isinstance(p, nn.Parameter) for p in params)
    assert net[1].running_mean.dtype == mg.float64 and net[1].num_batches_tracked.dtype == mg.int64
    net(mg.ones(4, 3, dtype=mg.float64)).sum().backward()
    opt.step()
    assert params[0].grad.dtype == mg.float64 and params[0].dtype == mg.float64
    net.float()
    assert params[0].dtype == mg.float32


def test_repr_is_readable(torch):
    net = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16, 10), nn.BatchNorm1d(10))
    text = repr(net)
    for part in ["Sequential(", "(0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))",
                 "(1): ReLU()", "(2): MaxPool2d(kernel_size=2", "(3): Flatten(",
                 "(4): Linear(in_features=16, out_features=10, bias=True)", "(5): BatchNorm1d(10"]:
        assert part in text, (part, text)
    t_net = torch.nn.Linear(16, 10)
    assert repr(nn.Linear(16, 10)) == repr(t_net)
    assert repr(nn.Conv2d(3, 8, 3, stride=2, bias=False)) == repr(
        torch.nn.Conv2d(3, 8, 3, stride=2, bias=False))


# ----- initialisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("make,fan_in", [(lambda: nn.Linear(400, 120), 400),
                                         (lambda: nn.Conv2d(6, 16, 5), 150)])
def test_default_init_matches_torch_distribution(make, fan_in):
    mg.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = npy(layer.weight), npy(layer.bias)
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.05
    assert abs(w.mean()) < 0.05 * bound
    assert np.abs(w).max() > 0.95 * bound  # the whole interval is used, not a narrower one
    mg.manual_seed(0)
    np.testing.assert_array_equal(npy(make().weight), w)  # reproducible
    mg.manual_seed(1)
    assert not np.array_equal(npy(make().weight), w)
    bn = nn.BatchNorm2d(4)
    for tensor, value in [(bn.weight, 1), (bn.bias, 0), (bn.running_mean, 0), (bn.running_var, 1)]:
        np.testing.assert_array_equal(npy(tensor), np.full(4, value, np.float32))


INITS = [  # (function, kwargs, expected kind, expected parameter) on a (600, 400) tensor
    ("xavier_uniform_", {}, "uniform", math.sqrt(6 / 1000)),
    ("xavier_uniform_", {"gain": 2.0}, "uniform", 2 * math.sqrt(6 / 1000)),
    ("xavier_normal_", {}, "normal", math.sqrt(2 / 1000)),
    ("kaiming_uniform_", {}, "uniform", math.sqrt(6 / 400)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, "uniform", 1 / math.sqrt(400)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, "uniform",
     math.sqrt(6 / 600)),
    ("kaiming_normal_", {}, "normal", math.sqrt(2 / 400)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, "normal",
     math.sqrt(2 / 600)),
]


@pytest.mark.parametrize("name,kwargs,kind,param", INITS)
def test_init_functions_statistics(name, kwargs, kind, param):
    t = mg.empty(600, 400)
    assert getattr(nn.init, name)(t, **kwargs) is t
    v = npy(t).astype(np.float64)
    assert abs(v.mean()) < 0.02 * param
    if kind == "uniform":
        assert np.abs(v).max() <= param * (1 + 1e-6) and np.abs(v).max() > 0.99 * param
        assert abs(v.std() / (param / math.sqrt(3)) - 1) < 0.02
    else:
        assert abs(v.std() / param - 1) < 0.02


def test_init_conv_fans_and_simple_fills():
    w = mg.empty(16, 6, 5, 5)  # fan_in 150, fan_out 400
    bound = math.sqrt(6 / 550)
    v = npy(nn.init.xavier_uniform_(w))
    assert np.abs(v).max() <= bound and abs(v.std() / (bound / math.sqrt(3)) - 1) < 0.05
    t = mg.empty(300, 300)
    v = npy(nn.init.uniform_(t, -0.5, 2.0))
    assert v.min() >= -0.5 and v.max() <= 2.0 and abs(v.mean() - 0.75) < 0.02
    v = npy(nn.init.normal_(t, mean=3.0, std=0.5))
    assert abs(v.mean() - 3.0) < 0.01 and abs(v.std() - 0.5) < 0.01
    assert np.all(npy(nn.init.constant_(t, 0.25)) == 0.25)
    assert np.all(npy(nn.init.zeros_(t)) == 0) and np.all(npy(nn.init.ones_(t)) == 1)
    p = nn.Linear(3, 3).weight
    nn.init.ones_(p)  # a Parameter that requires grad: no autograd record
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(mg.empty(5))


def test_calculate_gain_matches_torch(torch):
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("selu",)]:
        assert nn.init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


# ----- LeNet shapes and learner errors -----------------------------------------------------------

def test_d2l_lenet_layer_shapes():
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    X = mg.rand(1, 1, 28, 28)
    seen = []
    for layer in net:
        X = layer(X)
        seen.append((type(layer).__name__, tuple(X.shape)))
    assert seen == [("Conv2d", (1, 6, 28, 28)), ("Sigmoid", (1, 6, 28, 28)),
                    ("AvgPool2d", (1, 6, 14, 14)), ("Conv2d", (1, 16, 10, 10)),
                    ("Sigmoid", (1, 16, 10, 10)), ("AvgPool2d", (1, 16, 5, 5)),
                    ("Flatten", (1, 400)), ("Linear", (1, 120)), ("Sigmoid", (1, 120)),
                    ("Linear", (1, 84)), ("Sigmoid", (1, 84)), ("Linear", (1, 10))]


def test_learner_errors_name_the_shapes():
    with pytest.raises(RuntimeError, match=re.escape(
            "Conv2d expected input with 3 channels, got 1 (input shape (8, 1, 28, 28))")):
        nn.Conv2d(3, 6, 5)(mg.rand(8, 1, 28, 28))
    with pytest.raises(RuntimeError, match=re.escape(
            "mat1 and mat2 shapes cannot be multiplied (8x400 and 300x120)")):
        nn.Linear(300, 120)(mg.rand(8, 400))
    with pytest.raises((RuntimeError, ValueError), match="BatchNorm2d"):
        nn.BatchNorm2d(3)(mg.rand(2, 3, 4))
    with pytest.raises(RuntimeError, match="4 channels, got 3"):
        nn.BatchNorm2d(4)(mg.rand(2, 3, 4, 4))
