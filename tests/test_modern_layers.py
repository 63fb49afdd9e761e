"""The layers of modern CNNs (conv1d, conv_transpose2d, layer / group / instance norm, channel
dropout, interpolate, pixel shuffle, embedding, unfold / fold): the functional forms against torch
(forward and backward) and float64 finite differences; the nn modules against torch.nn with the
same weights; torch's initialisation, reprs and errors."""
import numpy as np
import pytest

from helpers import check, gradcheck_op, mg
from minigrad import nn

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def F(module):
    return module.nn.functional


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


def random_conv_case(seed, transposed):
    """Random (input shape, weight shape, keyword arguments) of a small valid convolution."""
    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 2]))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
    padding = tuple(int(rng.integers(0, k)) for k in kernel)
    hw = tuple(int(rng.integers(d * (k - 1) + 1, 7)) for k, d in zip(kernel, dilation))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if transposed:
        kwargs["output_padding"] = tuple(int(rng.integers(0, max(s, d)))
                                         for s, d in zip(stride, dilation))
        return (2, c_in) + hw, (c_in, c_out // groups) + kernel, kwargs
    return (2, c_in) + hw, (c_out, c_in // groups) + kernel, kwargs


# ------------------------------------------------------------------------------------------------
# convolutions
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_conv1d_random_cases_match_torch(seed):
    x_shape, w_shape, kw = random_conv_case(seed, transposed=False)
    kw = {k: v[1] if isinstance(v, tuple) else v for k, v in kw.items()}  # the width axis
    check(lambda t, x, w, b: F(t).conv1d(x, w, b, **kw), x_shape[:2] + x_shape[3:],
          w_shape[:2] + w_shape[3:], (w_shape[0],), seed=seed)


@pytest.mark.parametrize("kwargs", [dict(padding="same", dilation=2), dict(padding="same"),
                                    dict(padding="valid", stride=(2,)), dict(padding=(1,))])
def test_conv1d_padding_forms_match_torch(kwargs):
    check(lambda t, x, w: F(t).conv1d(x, w, **kwargs), (2, 3, 9), (4, 3, 4))


def test_conv1d_unbatched_and_float64_gradcheck():
    check(lambda t, x, w, b: F(t).conv1d(x, w, b, stride=2), (3, 8), (2, 3, 3), (2,))
    gradcheck_op(lambda t, x, w, b: F(t).conv1d(x, w, b, padding=1, groups=2), (2, 4, 5),
                 (2, 2, 3), (2,))


@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose2d_random_cases_match_torch(seed):
    x_shape, w_shape, kw = random_conv_case(seed, transposed=True)
    check(lambda t, x, w, b: F(t).conv_transpose2d(x, w, b, **kw), x_shape, w_shape,
          (w_shape[1] * kw["groups"],), seed=seed)


def test_conv_transpose2d_output_padding_beyond_the_stride():
    # allowed below the dilation: the output gains rows that no input position reaches
    check(lambda t, x, w: F(t).conv_transpose2d(x, w, dilation=3, output_padding=(2, 1)),
          (1, 2, 4, 3), (2, 3, 2, 2))


def test_conv_transpose2d_gradcheck_and_unbatched():
    gradcheck_op(lambda t, x, w, b: F(t).conv_transpose2d(x, w, b, stride=2, padding=1,
                                                          output_padding=1, groups=2),
                 (1, 4, 3, 3), (4, 1, 3, 2), (2,))
    check(lambda t, x, w: F(t).conv_transpose2d(x, w, stride=(1, 2)), (3, 4, 4), (3, 2, 2, 3))


def test_conv_transpose_inverts_the_shape_of_a_strided_conv():
    x = mg.randn(1, 2, 9, 8)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    assert tuple(up(conv(x), output_size=x.shape).shape) == (1, 2, 9, 8)
    with pytest.raises(ValueError, match="valid sizes range from"):
        up(conv(x), output_size=(12, 12))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F(mg).conv1d(mg.ones(1, 3, 5), mg.ones(2, 2, 3)), RuntimeError, "2 channels, got 3"),
    (lambda: F(mg).conv1d(mg.ones(1, 3, 5, 5), mg.ones(2, 3, 3)), RuntimeError, "3-D input"),
    (lambda: F(mg).conv1d(mg.ones(1, 3, 2), mg.ones(2, 3, 3), dilation=2), RuntimeError,
     r"conv1d: dilated kernel size 5 is larger than the padded input 2 \(input shape \(1, 3, 2\)"),
    (lambda: F(mg).conv_transpose2d(mg.ones(1, 2, 4, 4), mg.ones(2, 1, 3, 3), stride=2,
                                    output_padding=2), RuntimeError, "output padding"),
    (lambda: F(mg).conv_transpose2d(mg.ones(1, 3, 4, 4), mg.ones(2, 1, 3, 3)), RuntimeError,
     "2 channels"),
    (lambda: F(mg).conv_transpose2d(mg.ones(1, 2, 1, 1), mg.ones(2, 1, 1, 1), padding=1),
     RuntimeError, "too small"),
])
def test_conv_errors_name_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------------------------------------
# normalisation
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, normalized", [((4, 5), (5,)), ((2, 3, 4), (3, 4)),
                                               ((2, 3, 2, 3), (2, 3)), ((6,), [6])])
def test_layer_norm_matches_torch(shape, normalized):
    size = tuple(normalized)
    check(lambda t, x, w, b: F(t).layer_norm(x, normalized, w, b, eps=1e-3), shape, size, size)
    check(lambda t, x: F(t).layer_norm(x, normalized), shape, seed=1)
    gradcheck_op(lambda t, x, w, b: F(t).layer_norm(x, normalized, w, b), shape, size, size)


@pytest.mark.parametrize("shape, groups", [((2, 4, 3), 2), ((3, 6, 2, 2), 3), ((2, 4), 4),
                                           ((1, 4, 2, 1, 3), 1)])
def test_group_norm_matches_torch(shape, groups):
    channels = (shape[1],)
    check(lambda t, x, w, b: F(t).group_norm(x, groups, w, b), shape, channels, channels)
    gradcheck_op(lambda t, x, w, b: F(t).group_norm(x, groups, w, b, eps=1e-2), shape, channels,
                 channels)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 3), (1, 2, 2, 2, 3)])
def test_instance_norm_matches_torch(shape, torch):
    channels = (shape[1],)
    check(lambda t, x, w, b: F(t).instance_norm(x, weight=w, bias=b), shape, channels, channels)
    gradcheck_op(lambda t, x: F(t).instance_norm(x), shape)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    stats = [rng.uniform(0.5, 1.5, shape[1]).astype(np.float32) for _ in range(2)]
    t_stats, m_stats = [torch.tensor(s) for s in stats], [mg.tensor(s) for s in stats]
    t_out = F(torch).instance_norm(torch.tensor(x), *t_stats, momentum=0.3)
    m_out = F(mg).instance_norm(mg.tensor(x), *m_stats, momentum=0.3)
    np.testing.assert_allclose(npy(m_out), npy(t_out), rtol=1e-4, atol=1e-5)
    for m, t in zip(m_stats, t_stats):  # the running statistics' update
        np.testing.assert_allclose(npy(m), npy(t), rtol=1e-5, atol=1e-6)
    t_eval = F(torch).instance_norm(torch.tensor(x), *t_stats, use_input_stats=False)
    m_eval = F(mg).instance_norm(mg.tensor(x), *m_stats, use_input_stats=False)
    np.testing.assert_allclose(npy(m_eval), npy(t_eval), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F(mg).layer_norm(mg.ones(2, 3), (4,)), RuntimeError, "normalized_shape"),
    (lambda: F(mg).layer_norm(mg.ones(2, 3), 3), TypeError, "tuple of ints"),
    (lambda: F(mg).layer_norm(mg.ones(2, 3), (3,), mg.ones(2)), RuntimeError, "weight of shape"),
    (lambda: F(mg).group_norm(mg.ones(2, 6, 3), 4), RuntimeError, "divisible by num_groups"),
    (lambda: F(mg).instance_norm(mg.ones(2, 3, 1)), ValueError, "more than 1 spatial"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "divisible"),
])
def test_normalisation_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------------------------------------
# channel dropout
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, shape, maps", [("dropout1d", (8, 16, 5), (8, 16, 1)),
                                               ("dropout1d", (32, 7), (32, 1)),
                                               ("dropout2d", (8, 16, 3, 4), (8, 16, 1, 1)),
                                               ("dropout3d", (16, 2, 3, 2), (16, 1, 1, 1))])
def test_channel_dropout_zeroes_whole_maps_and_scales_the_rest(name, shape, maps):
    mg.manual_seed(0)
    x = mg.tensor(np.random.default_rng(0).uniform(1, 2, shape).astype(np.float32),
                  requires_grad=True)
    y = getattr(F(mg), name)(x, p=0.25)
    ratio = npy(y) / npy(x)
    per_map = ratio.reshape(maps + (-1,))
    assert np.allclose(per_map, per_map[..., :1])  # one decision per channel map
    assert np.all(np.isclose(per_map, 0) | np.isclose(per_map, 1 / 0.75))
    assert 0 < (per_map[..., 0] == 0).mean() < 0.6
    y.sum().backward()
    np.testing.assert_allclose(npy(x.grad), ratio, rtol=1e-6)


def test_channel_dropout_in_eval_and_in_place():
    x = mg.randn(2, 3, 4, 4)
    assert F(mg).dropout2d(x, 0.5, training=False) is x
    layer = nn.Dropout2d(0.5).eval()
    assert layer(x) is x
    mg.manual_seed(1)
    z = x.clone()
    out = F(mg).dropout2d(z, 0.5, inplace=True)
    assert out is z and not np.allclose(npy(z), npy(x))
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
        F(mg).dropout1d(mg.ones(1, 2, 3, 4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F(mg).dropout2d(x, 1.5)


# ------------------------------------------------------------------------------------------------
# resampling
# ------------------------------------------------------------------------------------------------

INTERPOLATIONS = [
    ((2, 3, 5), dict(size=8, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((1, 2, 4, 5), dict(scale_factor=(2.5, 0.5), mode="nearest-exact")),
    ((1, 2, 6, 5), dict(size=(3, 2), mode="area")),
    ((2, 3, 5), dict(size=9, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=0.6, mode="linear")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=1.3, mode="bilinear")),
    ((1, 2, 4, 5), dict(size=(6, 9), mode="bicubic")),
    ((1, 2, 4, 5), dict(size=(6, 3), mode="bicubic", align_corners=True)),
    ((1, 1, 3, 2, 4), dict(scale_factor=(1.5, 2, 0.75), mode="trilinear")),
]


@pytest.mark.parametrize("shape, kwargs", INTERPOLATIONS)
def test_interpolate_matches_torch(shape, kwargs):
    check(lambda t, x: F(t).interpolate(x, **kwargs), shape)
    gradcheck_op(lambda t, x: F(t).interpolate(x, **kwargs), shape)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_copies_integer_images_exactly(mode, torch):
    image = np.random.default_rng(0).integers(0, 256, (1, 3, 4, 5)).astype(np.uint8)
    expected = F(torch).interpolate(torch.tensor(image), scale_factor=(1.5, 2.5), mode=mode)
    actual = F(mg).interpolate(mg.tensor(image), scale_factor=(1.5, 2.5), mode=mode)
    assert actual.dtype == mg.uint8
    np.testing.assert_array_equal(npy(actual), npy(expected))
    with pytest.raises(RuntimeError, match="not implemented for"):
        F(mg).interpolate(mg.tensor(image), size=3, mode="bilinear")


@pytest.mark.filterwarnings("ignore:`nn.functional.upsample")
@pytest.mark.parametrize("call", [
    lambda t, x: F(t).upsample(x, scale_factor=2, mode="bilinear"),
    lambda t, x: F(t).upsample_nearest(x, size=(3, 5)),
    lambda t, x: F(t).upsample_bilinear(x, scale_factor=1.5),
])
def test_deprecated_upsample_functions_match_torch(call):
    check(call, (1, 2, 3, 4))
    with pytest.warns(UserWarning, match="is deprecated. Use `nn.functional.interpolate`"):
        call(mg, mg.ones(1, 1, 2, 2))


def test_interpolate_errors():
    x = mg.ones(1, 2, 3, 3)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F(mg).interpolate(x)
    with pytest.raises(ValueError, match="align_corners option"):
        F(mg).interpolate(x, size=4, align_corners=True)
    with pytest.raises(NotImplementedError, match="'linear' does not take a 4-D"):
        F(mg).interpolate(x, size=4, mode="linear")
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F(mg).interpolate(x, size=(4, 4, 4))


@pytest.mark.parametrize("shape, factor", [((1, 8, 2, 3), 2), ((2, 1, 9, 2, 2), 3), ((4, 3, 5), 1)])
def test_pixel_shuffle_and_unshuffle_match_torch(shape, factor):
    check(lambda t, x: F(t).pixel_shuffle(x, factor), shape)
    shuffled = shape[:-3] + (shape[-3] // factor ** 2, shape[-2] * factor, shape[-1] * factor)
    check(lambda t, x: F(t).pixel_unshuffle(x, factor), shuffled)
    x = mg.randn(*shape)
    np.testing.assert_array_equal(npy(F(mg).pixel_unshuffle(F(mg).pixel_shuffle(x, factor),
                                                            factor)), npy(x))
    with pytest.raises(RuntimeError, match="divisible"):
        F(mg).pixel_shuffle(mg.ones(1, 3, 2, 2), 2)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2),
                                    dict(kernel_size=3, padding=1, dilation=(1, 2)),
                                    dict(kernel_size=(1, 2), stride=(2, 1), padding=(1, 0))])
def test_unfold_and_fold_match_torch(kwargs, torch):
    check(lambda t, x: F(t).unfold(x, **kwargs), (2, 3, 5, 6))
    check(lambda t, x: F(t).unfold(x, **kwargs), (3, 5, 6), seed=1)
    gradcheck_op(lambda t, x: F(t).unfold(x, **kwargs), (1, 2, 4, 5))
    taps, blocks = F(torch).unfold(torch.zeros(1, 1, 5, 6), **kwargs).shape[1:]
    check(lambda t, x: F(t).fold(x, (5, 6), **kwargs), (2, 3 * taps, blocks))
    gradcheck_op(lambda t, x: F(t).fold(x, (5, 6), **kwargs), (2 * taps, blocks))


def test_fold_errors():
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F(mg).fold(mg.ones(1, 5, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match="should have 4 blocks"):
        F(mg).fold(mg.ones(1, 4, 5), (3, 3), 2)


# ------------------------------------------------------------------------------------------------
# embedding
# ------------------------------------------------------------------------------------------------

INDICES = np.array([[1, 4, 1], [0, 9, 4]], dtype=np.int64)


@pytest.mark.parametrize("kwargs", [dict(), dict(padding_idx=1), dict(padding_idx=-1),
                                    dict(scale_grad_by_freq=True),
                                    dict(padding_idx=4, scale_grad_by_freq=True)])
def test_embedding_matches_torch(kwargs):
    check(lambda t, i, w: F(t).embedding(i, w, **kwargs), INDICES, (10, 3))
    check(lambda t, i, w: F(t).embedding(i, w, **kwargs), np.array(4), (10, 3))
    if not kwargs:  # padding_idx and scale_grad_by_freq change the gradient on purpose
        gradcheck_op(lambda t, w: F(t).embedding(mg.tensor(INDICES), w), (10, 2))


def test_embedding_max_norm_renormalises_the_rows_looked_up(torch):
    weight = np.random.default_rng(0).uniform(-2, 2, (10, 3)).astype(np.float32)
    tw, mw = torch.tensor(weight), mg.tensor(weight)
    t_out = F(torch).embedding(torch.tensor(INDICES), tw, max_norm=1.5, norm_type=1.0)
    m_out = F(mg).embedding(mg.tensor(INDICES), mw, max_norm=1.5, norm_type=1.0)
    np.testing.assert_allclose(npy(m_out), npy(t_out), rtol=1e-6)
    np.testing.assert_allclose(npy(mw), npy(tw), rtol=1e-6)
    assert not np.allclose(npy(mw), weight)


def test_embedding_errors():
    with pytest.raises(IndexError, match="index out of range"):
        F(mg).embedding(mg.tensor([0, 10]), mg.ones(10, 2))
    with pytest.raises(RuntimeError, match="Long, Int"):
        F(mg).embedding(mg.ones(2), mg.ones(10, 2))
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)


# ------------------------------------------------------------------------------------------------
# modules: same weights as torch.nn, outputs and every gradient
# ------------------------------------------------------------------------------------------------

def run_both(torch, make, x, train=True, call=None, steps=1):
    """Build the layer in both frameworks, copy torch's state into minigrad's, compare outputs,
    input and parameter gradients and the state afterwards."""
    t_mod, m_mod = make(torch.nn), make(nn)
    assert list(m_mod.state_dict()) == list(t_mod.state_dict())
    m_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})
    t_mod.train(train)
    m_mod.train(train)
    call = call or (lambda module, layer, input: layer(input))
    rng = np.random.default_rng(0)
    for _ in range(steps):
        floating = x.dtype.kind == "f"
        tx, mx = torch.tensor(x, requires_grad=floating), mg.tensor(x, requires_grad=floating)
        t_out, m_out = call(torch, t_mod, tx), call(mg, m_mod, mx)
        np.testing.assert_allclose(npy(m_out), npy(t_out), rtol=1e-4, atol=1e-5, err_msg="output")
        g = rng.uniform(-1, 1, tuple(t_out.shape)).astype(np.float32)
        (t_out * torch.tensor(g)).sum().backward()
        (m_out * mg.tensor(g)).sum().backward()
        if floating:
            np.testing.assert_allclose(npy(mx.grad), npy(tx.grad), rtol=1e-4, atol=1e-4,
                                       err_msg="input grad")
        m_params = dict(m_mod.named_parameters())
        for name, t_param in t_mod.named_parameters():
            if t_param.grad is None:
                assert m_params[name].grad is None, name
                continue
            np.testing.assert_allclose(npy(m_params[name].grad), npy(t_param.grad), rtol=1e-4,
                                       atol=1e-4, err_msg=name)
    for key, value in t_mod.state_dict().items():
        np.testing.assert_allclose(npy(m_mod.state_dict()[key]), npy(value), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    assert repr(m_mod) == repr(t_mod)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(np.float32)


MODULES = {
    "Conv1d": (lambda n: n.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), rand(2, 4, 9)),
    "Conv1d_valid": (lambda n: n.Conv1d(2, 2, 3, padding="valid"), rand(1, 2, 5)),
    "Conv1d_same": (lambda n: n.Conv1d(3, 2, 4, padding="same", dilation=2, bias=False),
                    rand(2, 3, 7)),
    "ConvTranspose2d": (lambda n: n.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1,
                                                    output_padding=1, groups=2), rand(2, 4, 3, 5)),
    "ConvTranspose2d_dilated": (lambda n: n.ConvTranspose2d(2, 3, 3, dilation=2, bias=False),
                                rand(3, 2, 4, 4)),
    "LayerNorm": (lambda n: n.LayerNorm((3, 4), eps=1e-3), rand(2, 5, 3, 4)),
    "LayerNorm_no_bias": (lambda n: n.LayerNorm(4, bias=False), rand(3, 4)),
    "LayerNorm_no_affine": (lambda n: n.LayerNorm(4, elementwise_affine=False), rand(3, 4)),
    "GroupNorm": (lambda n: n.GroupNorm(2, 6), rand(2, 6, 3, 2)),
    "GroupNorm_no_affine": (lambda n: n.GroupNorm(3, 3, affine=False), rand(2, 3, 4)),
    "InstanceNorm1d": (lambda n: n.InstanceNorm1d(3, affine=True), rand(2, 3, 5)),
    "InstanceNorm2d": (lambda n: n.InstanceNorm2d(3), rand(2, 3, 4, 4)),
    "InstanceNorm2d_unbatched": (lambda n: n.InstanceNorm2d(3, affine=True), rand(3, 4, 4)),
    "InstanceNorm3d": (lambda n: n.InstanceNorm3d(2, affine=True), rand(1, 2, 2, 3, 2)),
    "Upsample": (lambda n: n.Upsample(scale_factor=2, mode="bilinear"), rand(1, 2, 3, 4)),
    "Upsample_size": (lambda n: n.Upsample(size=(5, 7)), rand(1, 2, 3, 4)),
    "UpsamplingNearest2d": (lambda n: n.UpsamplingNearest2d(scale_factor=3), rand(1, 2, 2, 3)),
    "UpsamplingBilinear2d": (lambda n: n.UpsamplingBilinear2d(size=(5, 4)), rand(1, 2, 3, 3)),
    "PixelShuffle": (lambda n: n.PixelShuffle(2), rand(2, 8, 3, 2)),
    "PixelUnshuffle": (lambda n: n.PixelUnshuffle(3), rand(1, 2, 6, 3)),
    "Unfold": (lambda n: n.Unfold((2, 3), padding=1, stride=2), rand(2, 3, 5, 6)),
    "Fold": (lambda n: n.Fold((4, 5), 2, stride=(2, 1)), rand(2, 8, 8)),
    "Embedding": (lambda n: n.Embedding(10, 4, padding_idx=2), INDICES),
    "Dropout2d_eval": (lambda n: n.Dropout2d(0.5), rand(2, 3, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name, torch):
    make, x = MODULES[name]
    run_both(torch, make, x, train=not name.endswith("_eval"))


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_running_statistics_match_torch(affine, torch):
    make = lambda n: n.InstanceNorm2d(3, momentum=0.2, affine=affine, track_running_stats=True)
    run_both(torch, make, rand(4, 3, 3, 3), steps=2)
    run_both(torch, make, rand(4, 3, 3, 3, seed=1), train=False)


def test_conv_transpose2d_forward_with_output_size_matches_torch(torch):
    run_both(torch, lambda n: n.ConvTranspose2d(2, 3, 3, stride=3), rand(1, 2, 3, 3),
             call=lambda module, layer, x: layer(x, output_size=[1, 3, 10, 11]))


@pytest.mark.parametrize("make, weight_shape", [
    (lambda n: n.Conv1d(4, 6, 5, groups=2), (6, 2, 5)),
    (lambda n: n.ConvTranspose2d(4, 6, (3, 2), groups=2), (4, 3, 3, 2)),
])
def test_convolutions_initialise_as_torch(make, weight_shape, torch):
    """kaiming_uniform_(a=sqrt(5)): U(-b, b), b = 1 / sqrt(fan_in), torch's fan_in of the weight."""
    mg.manual_seed(0)
    layer, reference = make(nn), make(torch.nn)
    assert tuple(layer.weight.shape) == weight_shape == tuple(reference.weight.shape)
    bound = 1 / np.sqrt(np.prod(weight_shape[1:]))
    for p in (layer.weight, layer.bias):
        values = npy(p)
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() - values.min() > bound  # spread over the range, not a constant
    assert abs(npy(reference.weight).max()) <= bound


def test_embedding_init_padding_row_and_from_pretrained(torch):
    mg.manual_seed(0)
    layer = nn.Embedding(50, 40, padding_idx=-2)
    weight = npy(layer.weight)
    assert layer.padding_idx == 48 and np.all(weight[48] == 0)
    assert abs(weight.std() - 1) < 0.05 and abs(weight.mean()) < 0.05  # normal_(0, 1)
    pretrained = mg.tensor(rand(5, 3))
    frozen = nn.Embedding.from_pretrained(pretrained)
    assert not frozen.weight.requires_grad and tuple(frozen(mg.tensor([4, 0])).shape) == (2, 3)
    np.testing.assert_array_equal(npy(frozen(mg.tensor([4]))), rand(5, 3)[[4]])
    trainable = nn.Embedding.from_pretrained(pretrained, freeze=False, padding_idx=0)
    trainable(mg.tensor([0, 1, 1])).sum().backward()
    np.testing.assert_array_equal(npy(trainable.weight.grad)[:2], [[0, 0, 0], [2, 2, 2]])
    reference = torch.nn.Embedding.from_pretrained(torch.tensor(rand(5, 3)), freeze=False,
                                                   padding_idx=0)
    assert repr(trainable) == repr(reference)
