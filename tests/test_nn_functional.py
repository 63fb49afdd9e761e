"""minigrad.nn.functional against torch.nn.functional: forward values and every input gradient on
random shapes and arguments (hypothesis), float64 finite-difference gradchecks, d2l's worked examples,
unbatched (C, H, W) inputs and dropout's statistics. Errors live in test_nn_functional_errors.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import SLOW, check, gradcheck_op, mg, seeds, to_numpy

F = mg.nn.functional
FEW = settings(SLOW, max_examples=30)


def Fn(module):
    return module.nn.functional


def conv_geometry(draw, max_groups=3):
    """Valid conv2d arguments: shapes of input, weight, bias and the keyword arguments."""
    groups = draw(st.integers(1, max_groups))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if mode == "same":
        stride, sh, sw, ph, pw, padding = 1, 1, 1, 0, 0, "same"
    else:
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        stride = (sh, sw) if sh != sw or draw(st.booleans()) else sh
        if mode == "valid":
            ph = pw = 0
            padding = "valid"
        elif mode == "int":
            ph = pw = draw(st.integers(0, 2))
            padding = ph
        else:
            ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            padding = (ph, pw)
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    H = max(1, eff_h - 2 * ph) + draw(st.integers(0, 5))
    W = max(1, eff_w - 2 * pw) + draw(st.integers(0, 5))
    n = draw(st.integers(1, 3))
    dilation = (dh, dw) if dh != dw else dh
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    bias = (cout,) if draw(st.booleans()) else None
    return (n, cin, H, W), (cout, cin // groups, kh, kw), bias, kwargs


@FEW
@given(data=st.data(), seed=seeds())
def test_conv2d_matches_torch(data, seed):
    x, w, b, kw = conv_geometry(data.draw)
    check(lambda t, x, w, b: Fn(t).conv2d(x, w, b, **kw), x, w, b, seed=seed, rtol=1e-4, atol=1e-4,
          grad_atol=5e-4)


def pool_geometry(draw, dilation=True):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))  # torch: pad <= kernel / 2
    stride = draw(st.sampled_from([None, "int", "pair"]))
    if stride == "int":
        stride = draw(st.integers(1, 3))
    elif stride == "pair":
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    H = max(1, eff_h - 2 * ph) + draw(st.integers(0, 6))
    W = max(1, eff_w - 2 * pw) + draw(st.integers(0, 6))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W)
    kernel = (kh, kw) if kh != kw or draw(st.booleans()) else kh
    padding = (ph, pw) if ph != pw else ph
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding,
                  ceil_mode=draw(st.booleans()))
    if dilation:
        kwargs["dilation"] = (dh, dw)
    return shape, kwargs


@FEW
@given(data=st.data(), seed=seeds())
def test_max_pool2d_matches_torch(data, seed):
    shape, kw = pool_geometry(data.draw)
    check(lambda t, x: Fn(t).max_pool2d(x, **kw), shape, seed=seed)


@FEW
@given(data=st.data(), seed=seeds())
def test_avg_pool2d_matches_torch(data, seed):
    shape, kw = pool_geometry(data.draw, dilation=False)
    kw["count_include_pad"] = data.draw(st.booleans())
    kw["divisor_override"] = data.draw(st.sampled_from([None, 1, 2, 3, 7]))
    check(lambda t, x: Fn(t).avg_pool2d(x, **kw), shape, seed=seed)


@FEW
@given(data=st.data(), seed=seeds(), kind=st.sampled_from(["avg", "max"]))
def test_adaptive_pool2d_matches_torch(data, seed, kind):
    H, W = data.draw(st.integers(1, 10)), data.draw(st.integers(1, 10))
    oh, ow = data.draw(st.integers(1, H + 2)), data.draw(st.integers(1, W + 2))
    size = data.draw(st.sampled_from([(oh, ow), oh, (None, ow), (oh, None)]))
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), H, W)
    check(lambda t, x: getattr(Fn(t), f"adaptive_{kind}_pool2d")(x, size), shape, seed=seed)


@FEW
@given(data=st.data(), seed=seeds())
def test_batch_norm_matches_torch_and_running_stats(data, seed):
    c = data.draw(st.integers(1, 4))
    four_d = data.draw(st.booleans())
    shape = (data.draw(st.integers(2, 4)), c) + ((data.draw(st.integers(1, 4)),
                                                  data.draw(st.integers(1, 4))) if four_d else ())
    training = data.draw(st.booleans())
    affine = data.draw(st.booleans())
    momentum = data.draw(st.sampled_from([0.1, 0.5, 0.01]))
    eps = data.draw(st.sampled_from([1e-5, 1e-3]))
    rng = np.random.default_rng(seed)
    rm0 = rng.uniform(-1, 1, c).astype(np.float32)
    rv0 = rng.uniform(0.5, 2, c).astype(np.float32)
    stats = {}

    def fn(t, x, w, b):
        rm, rv = t.tensor(rm0.copy()), t.tensor(rv0.copy())
        stats[t.__name__] = (rm, rv)
        return Fn(t).batch_norm(x, rm, rv, w if affine else None, b if affine else None,
                                training=training, momentum=momentum, eps=eps)

    check(fn, shape, (c,), (c,), seed=seed, rtol=1e-4, atol=1e-4, grad_atol=3e-4)
    (m_rm, m_rv), (t_rm, t_rv) = stats[mg.__name__], stats["torch"]
    np.testing.assert_allclose(to_numpy(m_rm), to_numpy(t_rm), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(m_rv), to_numpy(t_rv), rtol=1e-5, atol=1e-6)
    if not training:
        np.testing.assert_array_equal(to_numpy(m_rm), rm0)
        np.testing.assert_array_equal(to_numpy(m_rv), rv0)


@pytest.mark.parametrize("four_d", [False, True])
def test_batch_norm_training_without_running_stats(four_d):
    shape = (4, 3, 2, 3) if four_d else (5, 3)
    check(lambda t, x, w, b: Fn(t).batch_norm(x, None, None, w, b, training=True), shape, (3,), (3,),
          atol=1e-4, grad_atol=3e-4)


@FEW
@given(data=st.data(), seed=seeds())
def test_linear_matches_torch(data, seed):
    batch = tuple(data.draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    fin, fout = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))
    bias = (fout,) if data.draw(st.booleans()) else None
    check(lambda t, x, w, b: Fn(t).linear(x, w, b), batch + (fin,), (fout, fin), bias, seed=seed,
          atol=1e-4)


def class_targets(draw, rng, shape, classes, ignore_index):
    target = rng.integers(0, classes, size=shape).astype(np.int64)
    if draw(st.booleans()) and target.size > 1:
        target.reshape(-1)[rng.random(target.size) < 0.3] = ignore_index
        target.reshape(-1)[0] = (ignore_index + 1) % classes  # never all ignored
    return target


@FEW
@given(data=st.data(), seed=seeds(), which=st.sampled_from(["cross_entropy", "nll_loss"]))
def test_classification_losses_match_torch(data, seed, which):
    rng = np.random.default_rng(seed + 1)
    n, classes = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 6))
    spatial = data.draw(st.sampled_from([(), (1, 1), (2, 3), (3, 1), (4,)]))
    ignore_index = data.draw(st.sampled_from([-100, 0, 1]))
    target = class_targets(data.draw, rng, (n,) + spatial, classes, ignore_index)
    weight = rng.uniform(0.2, 2.0, classes).astype(np.float32) if data.draw(st.booleans()) else None
    kw = dict(ignore_index=ignore_index, reduction=data.draw(st.sampled_from(["mean", "sum", "none"])))
    if which == "cross_entropy":
        kw["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 0.35]))

    def fn(t, x, target):
        w = None if weight is None else t.tensor(weight)
        return getattr(Fn(t), which)(x, target, weight=w, **kw)

    check(fn, (n, classes) + spatial, target, seed=seed, atol=1e-5)


@FEW
@given(data=st.data(), seed=seeds(), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss_matches_torch(data, seed, reduction):
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=0, max_size=4)))
    check(lambda t, x, y: Fn(t).mse_loss(x, y, reduction=reduction), shape, shape, seed=seed, atol=1e-4)


@FEW
@given(data=st.data(), seed=seeds(),
       name=st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax"]))
def test_activations_match_torch(data, seed, name):
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    if name in ("softmax", "log_softmax"):
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        check(lambda t, x: getattr(Fn(t), name)(x, dim=dim), shape, seed=seed, low=-6, high=6)
    elif name == "leaky_relu":
        slope = data.draw(st.sampled_from([0.01, 0.2, 1.5]))
        check(lambda t, x: Fn(t).leaky_relu(x, slope), shape, seed=seed, nonzero=True)
    else:
        check(lambda t, x: getattr(Fn(t), name)(x), shape, seed=seed, nonzero=True)


@FEW
@given(data=st.data(), seed=seeds())
def test_pad_matches_torch(data, seed):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    k = data.draw(st.integers(1, len(shape)))
    widths = tuple(data.draw(st.lists(st.integers(0, 3), min_size=2 * k, max_size=2 * k)))
    value = data.draw(st.sampled_from([0.0, 1.5, -3.0]))
    out, _ = check(lambda t, x: Fn(t).pad(x, widths, value=value), shape, seed=seed)
    assert tuple(out.shape)[-1] == shape[-1] + widths[0] + widths[1]


# ---------------------------------------------------------------------------------------------
# edge cases against torch
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,shape", [
    # ceil_mode: the last window starts inside the input but runs past the padded edge
    ("avg", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 6, 6)),
    ("avg", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 6)),
    ("avg", dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), ceil_mode=True), (2, 1, 7, 8)),
    ("avg", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, divisor_override=5), (1, 1, 9, 10)),
    ("max", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 6, 6)),
    ("max", dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), dilation=(2, 1), ceil_mode=True),
     (2, 1, 7, 8)),
    ("max", dict(kernel_size=2, stride=3, ceil_mode=True), (1, 1, 5, 7)),
])
def test_pool_ceil_mode_edges(name, kw, shape):
    check(lambda t, x: getattr(Fn(t), f"{name}_pool2d")(x, **kw), shape)


@pytest.mark.parametrize("name", ["max_pool2d", "adaptive_max_pool2d"])
def test_max_pool_ties_route_gradient_like_torch(name):
    x = np.zeros((1, 2, 5, 6), np.float32)
    x[0, 1] = np.repeat(np.arange(3, dtype=np.float32), 10)[:30].reshape(5, 6)
    args = (3,) if name == "adaptive_max_pool2d" else (3, 1, 1)
    check(lambda t, x: getattr(Fn(t), name)(x, *args), x)


@pytest.mark.parametrize("name", ["max_pool2d", "adaptive_max_pool2d"])
def test_max_pool_propagates_nan_like_torch(name):
    x = np.random.default_rng(0).uniform(-1, 1, (1, 1, 4, 4)).astype(np.float32)
    x[0, 0, 1, 2] = np.nan
    check(lambda t, x: getattr(Fn(t), name)(x, 2), x, grad=False)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pool_all_neg_inf_and_large_values(name):
    x = np.random.default_rng(1).uniform(-1e30, 1e30, (1, 2, 4, 5)).astype(np.float32)
    x[0, 0, :2, :2] = -np.inf if name == "max_pool2d" else 0
    check(lambda t, x: getattr(Fn(t), name)(x, 2, stride=1, padding=1), x, grad=False, rtol=1e-5)


def test_activations_at_zero_and_saturation():
    x = np.array([[-1e4, -50.0, -1.0, 0.0, 0.0, 1.0, 50.0, 1e4]], np.float32)
    for name in ("relu", "sigmoid", "tanh"):
        check(lambda t, x: getattr(Fn(t), name)(x), x)
    check(lambda t, x: Fn(t).leaky_relu(x, 0.2), x)
    for name in ("softmax", "log_softmax"):
        check(lambda t, x: getattr(Fn(t), name)(x, dim=1), x)
    big = np.array([[1e4, -1e4, 0.0], [-3e4, -3e4 + 1, -3e4]], np.float32)
    check(lambda t, x: Fn(t).cross_entropy(x, t.tensor([0, 1])), big)
    check(lambda t, x: Fn(t).log_softmax(x, dim=1), big)


@pytest.mark.parametrize("which,kw", [("cross_entropy", {}), ("cross_entropy", {"label_smoothing": 0.2}),
                                     ("nll_loss", {}), ("cross_entropy", {"reduction": "sum"})])
def test_classification_loss_all_targets_ignored(which, kw):
    # torch: the mean over no targets is nan, the gradient is zero
    target = np.array([-100, -100, -100], np.int64)
    check(lambda t, x, y: getattr(Fn(t), which)(x, y, **kw), (3, 4), target)


@pytest.mark.parametrize("requires", [{0}, {1}, {0, 2}, {1, 2}])
def test_conv2d_partial_requires_grad(requires):
    check(lambda t, x, w, b: Fn(t).conv2d(x, w, b, stride=2, padding=1), (2, 3, 7, 6), (4, 3, 3, 3), (4,),
          requires_grad=requires, atol=1e-4)


def test_conv2d_and_pools_non_contiguous_inputs():
    check(lambda t, x, w: Fn(t).conv2d(x.transpose(2, 3), w.transpose(2, 3), padding=(1, 2)),
          (2, 3, 6, 5), (4, 3, 3, 2), atol=1e-4)
    check(lambda t, x: Fn(t).max_pool2d(x.permute(0, 1, 3, 2)[:, :, ::2], 2), (2, 3, 6, 8))
    check(lambda t, x: Fn(t).avg_pool2d(x[:, 1:], 3, 2, 1), (2, 3, 6, 8))


@pytest.mark.parametrize("name,fn,shapes_", [
    ("conv2d", lambda t, x, w, b: Fn(t).conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1), groups=2),
     [(2, 4, 7, 6), (4, 2, 3, 2), (4,)]),
    ("max_pool2d", lambda t, x: Fn(t).max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 7, 6)]),
    ("avg_pool2d", lambda t, x: Fn(t).avg_pool2d(x, (2, 3), 2, (1, 1), count_include_pad=False),
     [(2, 2, 7, 6)]),
    ("adaptive_avg_pool2d", lambda t, x: Fn(t).adaptive_avg_pool2d(x, (4, 3)), [(2, 2, 7, 6)]),
    ("adaptive_max_pool2d", lambda t, x: Fn(t).adaptive_max_pool2d(x, (3, 4)), [(2, 2, 7, 6)]),
    ("batch_norm", lambda t, x, w, b: Fn(t).batch_norm(x, None, None, w, b, training=True),
     [(3, 2, 4, 4), (2,), (2,)]),
    ("linear", lambda t, x, w, b: Fn(t).linear(x, w, b), [(3, 5), (4, 5), (4,)]),
])
def test_float64_matches_torch(name, fn, shapes_):
    check(fn, *shapes_, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# float64 finite differences
# ---------------------------------------------------------------------------------------------

GRADCHECKS = {
    "conv2d": (lambda m, x, w, b: Fn(m).conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
               [(2, 2, 5, 5), (2, 2, 3, 2), (2,)]),
    "conv2d_groups": (lambda m, x, w: Fn(m).conv2d(x, w, padding="same", groups=2),
                      [(1, 4, 4, 4), (2, 2, 2, 3)]),
    "max_pool2d": (lambda m, x: Fn(m).max_pool2d(x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True),
                   [(2, 2, 5, 5)]),
    "avg_pool2d": (lambda m, x: Fn(m).avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                                 count_include_pad=False), [(2, 2, 5, 5)]),
    "avg_pool2d_divisor": (lambda m, x: Fn(m).avg_pool2d(x, 2, divisor_override=3), [(1, 2, 5, 4)]),
    "adaptive_avg_pool2d": (lambda m, x: Fn(m).adaptive_avg_pool2d(x, (3, 2)), [(2, 2, 5, 5)]),
    "adaptive_max_pool2d": (lambda m, x: Fn(m).adaptive_max_pool2d(x, (2, 3)), [(2, 2, 5, 5)]),
    "batch_norm_train_4d": (lambda m, x, w, b: Fn(m).batch_norm(x, None, None, w, b, training=True),
                            [(2, 2, 3, 3), (2,), (2,)]),
    "batch_norm_train_2d": (lambda m, x, w, b: Fn(m).batch_norm(
        x, m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64), w, b, training=True),
        [(4, 3), (3,), (3,)]),
    "batch_norm_eval": (lambda m, x, w, b: Fn(m).batch_norm(
        x, m.full((2,), 0.3, dtype=m.float64), m.full((2,), 1.7, dtype=m.float64), w, b),
        [(2, 2, 2, 3), (2,), (2,)]),
    "linear": (lambda m, x, w, b: Fn(m).linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    "mse_loss": (lambda m, x, y: Fn(m).mse_loss(x, y), [(3, 4), (3, 4)]),
    "relu": (lambda m, x: Fn(m).relu(x), [(3, 5)]),
    "leaky_relu": (lambda m, x: Fn(m).leaky_relu(x, 0.1), [(3, 5)]),
    "sigmoid": (lambda m, x: Fn(m).sigmoid(x), [(3, 5)]),
    "tanh": (lambda m, x: Fn(m).tanh(x), [(3, 5)]),
    "softmax": (lambda m, x: Fn(m).softmax(x, dim=0), [(3, 5)]),
    "log_softmax": (lambda m, x: Fn(m).log_softmax(x, dim=-1), [(3, 5)]),
    "pad": (lambda m, x: Fn(m).pad(x, (1, 2, 0, 1), value=0.5), [(2, 3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, shapes_ = GRADCHECKS[name]
    gradcheck_op(fn, *shapes_, nonzero=name in ("relu", "leaky_relu"))


def test_gradcheck_conv2d_tap_gemms(monkeypatch):
    # The tap GEMMs (kernels/cpu/conv_taps.py) forced on a small layer, dilated, padded unevenly.
    from minigrad.kernels.cpu import conv, conv_taps
    monkeypatch.setattr(conv, "DIRECT_MAX_CHANNEL_PRODUCT", 0)
    monkeypatch.setattr(conv_taps, "MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_taps, "MAX_LIVE_SHARE", 1.0)
    gradcheck_op(lambda m, x, w, b: Fn(m).conv2d(x, w, b, padding=(2, 1), dilation=(2, 1)),
                 (2, 2, 4, 3), (3, 2, 3, 2), (3,))


@pytest.mark.parametrize("which,extra", [("cross_entropy", {}),  # the fused kernels
                                         ("cross_entropy", {"label_smoothing": 0.2}),
                                         ("nll_loss", {})])
@pytest.mark.parametrize("spatial", [(), (2, 2)])
def test_gradcheck_classification_losses(which, extra, spatial):
    target = np.resize(np.array([2, 0, -100, 1]), (3,) + spatial).astype(np.int64)
    weight = np.array([0.5, 1.0, 2.0])

    def fn(m, x):
        return getattr(Fn(m), which)(x, m.tensor(target), weight=m.tensor(weight, dtype=m.float64),
                                     **extra)

    gradcheck_op(fn, (3, 3) + spatial)


def test_gradcheck_dropout_with_fixed_seed():
    def fn(m, x):
        m.manual_seed(3)
        return Fn(m).dropout(x, 0.4, training=True)
    gradcheck_op(fn, (4, 5))


# ---------------------------------------------------------------------------------------------
# d2l's worked examples
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel,kwargs,expected", [
    ((3, 5), dict(padding=(0, 1), stride=(3, 4)), (2, 2)),
    ((3, 3), dict(padding=1), (8, 8)),
    ((5, 3), dict(padding=(2, 1)), (8, 8)),
    ((3, 3), dict(padding=1, stride=2), (4, 4)),
])
def test_d2l_conv2d_output_shapes(kernel, kwargs, expected):
    x = mg.rand(1, 1, 8, 8)
    y = F.conv2d(x, mg.rand(1, 1, *kernel), **kwargs)
    assert tuple(y.shape) == (1, 1) + expected


def test_d2l_pooling_examples():
    x = mg.arange(32, dtype=mg.float32).reshape(1, 2, 4, 4)
    y = F.max_pool2d(x, 3, padding=1, stride=(2, 1))
    np.testing.assert_array_equal(to_numpy(y), [[[[5, 6, 7, 7], [13, 14, 15, 15]],
                                                 [[21, 22, 23, 23], [29, 30, 31, 31]]]])
    x = mg.arange(16, dtype=mg.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(to_numpy(F.max_pool2d(x, 3, padding=1, stride=2)),
                                  [[[[5, 7], [13, 15]]]])
    x = mg.arange(9, dtype=mg.float32).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(to_numpy(F.avg_pool2d(x, 2, stride=1)), [[[[2, 3], [5, 6]]]])
    np.testing.assert_array_equal(to_numpy(F.max_pool2d(x, 2, stride=1)), [[[[4, 5], [7, 8]]]])


# ---------------------------------------------------------------------------------------------
# unbatched (C, H, W) inputs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,fn,shapes_", [
    ("conv2d", lambda t, x, w, b: Fn(t).conv2d(x, w, b, padding=1, stride=(1, 2)), [(2, 6, 5), (3, 2, 3, 3), (3,)]),
    ("conv2d_groups", lambda t, x, w: Fn(t).conv2d(x, w, groups=2, dilation=2), [(4, 7, 6), (2, 2, 2, 2)]),
    ("max_pool2d", lambda t, x: Fn(t).max_pool2d(x, (2, 3), stride=1, padding=1), [(3, 5, 6)]),
    ("avg_pool2d", lambda t, x: Fn(t).avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), [(2, 6, 7)]),
    ("adaptive_avg_pool2d", lambda t, x: Fn(t).adaptive_avg_pool2d(x, (2, 3)), [(2, 5, 7)]),
    ("adaptive_max_pool2d", lambda t, x: Fn(t).adaptive_max_pool2d(x, 3), [(2, 5, 7)]),
])
def test_unbatched_inputs_match_torch(name, fn, shapes_):
    out, ref = check(fn, *shapes_, atol=1e-4)
    assert out.ndim == 3


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    mg.manual_seed(0)
    x = mg.ones(200, 500)
    y = to_numpy(F.dropout(x, p, training=True))
    zero = y == 0
    n = zero.size
    assert abs(zero.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)  # 5 sigma
    np.testing.assert_allclose(y[~zero], 1 / (1 - p), rtol=1e-6)
    # mean is preserved in expectation
    assert abs(y.mean() - 1) < 0.02


def test_dropout_eval_and_p0_are_identity():
    x = mg.randn(4, 6)
    for out in (F.dropout(x, 0.5, training=False), F.dropout(x, 0.0, training=True)):
        np.testing.assert_array_equal(to_numpy(out), to_numpy(x))


def test_dropout_p1_zeroes_everything():
    x = mg.randn(4, 6, requires_grad=True)
    y = F.dropout(x, 1.0, training=True)
    np.testing.assert_array_equal(to_numpy(y), np.zeros((4, 6), np.float32))
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.zeros((4, 6), np.float32))


def test_dropout_same_seed_same_mask():
    x = mg.randn(30, 40)
    mg.manual_seed(123)
    a = to_numpy(F.dropout(x, 0.3, training=True))
    b = to_numpy(F.dropout(x, 0.3, training=True))
    mg.manual_seed(123)
    c = to_numpy(F.dropout(x, 0.3, training=True))
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a == 0, b == 0)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_gradient_is_mask_times_scale(p):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.uniform(0.5, 2, (20, 30)).astype(np.float32), requires_grad=True)
    mg.manual_seed(7)
    y = F.dropout(x, p, training=True)
    up = rng.uniform(-1, 1, (20, 30)).astype(np.float32)
    y.backward(mg.tensor(up))
    mask = (to_numpy(y) != 0).astype(np.float32)
    assert 0 < mask.mean() < 1
    np.testing.assert_allclose(to_numpy(y), to_numpy(x) * mask / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), up * mask / (1 - p), rtol=1e-6)
