"""The erf family, logit, sinc, the binary math ops and the vector distances: forward and backward
against PyTorch on random shapes and values, float64 gradcheck, and torch's errors."""
import numpy as np
import pytest
from hypothesis import given

from helpers import FAST, broadcastable, check, gradcheck_op, mg, seeds, shapes

# ------------------------------------------------------------------------------------------------
# unary: erf, erfc, erfinv, logit, sinc
# ------------------------------------------------------------------------------------------------

UNARY = {  # name: (fn, input range)
    "erf": (lambda t, x: t.erf(x), {}),
    "erfc": (lambda t, x: x.erfc(), {}),
    "erfinv": (lambda t, x: t.erfinv(x), {"low": -0.95, "high": 0.95}),
    "logit": (lambda t, x: t.logit(x), {"low": 0.05, "high": 0.95}),
    "logit_eps": (lambda t, x: x.logit(eps=0.2), {"low": 0.01, "high": 0.99}),
    "logit_eps_positional": (lambda t, x: t.logit(x, 0.1), {"low": 0.01, "high": 0.99}),
    "sinc": (lambda t, x: t.sinc(x), {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@FAST
@given(shape=shapes(), seed=seeds())
def test_unary_against_torch(name, shape, seed):
    fn, kw = UNARY[name]
    check(fn, shape, seed=seed, **kw)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_and_gradcheck(name):
    fn, kw = UNARY[name]
    check(fn, (3, 4), dtype=np.float64, **kw)
    gradcheck_op(fn, (2, 3), **kw)


def test_unary_special_values():
    check(lambda t, x: t.erfinv(x), np.array([-1.0, 1.0, 0.0, -0.0, 2.0, np.nan], np.float32), grad=False)
    check(lambda t, x: t.logit(x), np.array([-0.5, 0.0, 1.0, 1.5], np.float64))
    check(lambda t, x: t.sinc(x), np.array([0.0, 1.0, -2.0, 0.5], np.float64))
    check(lambda t, x: t.erf(x), np.array(0.5, np.float32))  # 0-d keeps its shape


def test_unary_integer_inputs_compute_in_float():
    check(lambda t, x: t.erf(x), np.array([-2, 0, 3]), grad=False)
    check(lambda t, x: t.sinc(x), np.array([0, 1, 2], np.int32), grad=False)


def test_unary_in_place():
    check(lambda t, x: (x * 1).erf_(), (3, 4))
    check(lambda t, x: (x * 0.5).erfinv_(), (3, 4))


# ------------------------------------------------------------------------------------------------
# binary math with broadcasting
# ------------------------------------------------------------------------------------------------

BINARY = {  # name: (fn, input options)
    "atan2": (lambda t, a, b: t.atan2(a, b), {"nonzero": True}),
    "arctan2": (lambda t, a, b: a.arctan2(b), {"nonzero": True}),
    "hypot": (lambda t, a, b: t.hypot(a, b), {"nonzero": True}),
    "logaddexp": (lambda t, a, b: t.logaddexp(a, b), {}),
    "logaddexp2": (lambda t, a, b: a.logaddexp2(b), {}),
    "xlogy": (lambda t, a, b: t.xlogy(a, b), {"positive": True}),
    "fmod": (lambda t, a, b: t.fmod(a, b), {"nonzero": True}),
    "copysign": (lambda t, a, b: t.copysign(a, b), {"nonzero": True}),
    "fmax": (lambda t, a, b: t.fmax(a, b), {}),
    "fmin": (lambda t, a, b: a.fmin(b), {}),
    "float_power": (lambda t, a, b: t.float_power(a, b), {"positive": True}),
    "lerp_scalar": (lambda t, a, b: t.lerp(a, b, 0.3), {}),
    "lerp_weight_tensor": (lambda t, a, b: a.lerp(b, b * 0.5 + 0.2), {}),
    "clamp_min": (lambda t, a, b: t.clamp_min(a, b), {}),
    "clamp_max": (lambda t, a, b: a.clamp_max(b), {}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FAST
@given(bs=broadcastable(), seed=seeds())
def test_binary_against_torch(name, bs, seed):
    fn, kw = BINARY[name]
    check(fn, *bs.input_shapes, seed=seed, **kw)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float64_and_gradcheck(name):
    fn, kw = BINARY[name]
    check(fn, (3, 4), (4,), dtype=np.float64, **kw)
    gradcheck_op(fn, (3, 1, 4), (2, 1), **kw)


SCALAR_OPERAND = {
    "xlogy_scalar_other": lambda t, a: t.xlogy(a, 2.5),
    "xlogy_scalar_input": lambda t, a: t.xlogy(3.0, a.abs() + 0.5),
    "fmod_scalar": lambda t, a: t.fmod(a, 0.7),
    "copysign_scalar": lambda t, a: t.copysign(a, -1.0),
    "float_power_scalar": lambda t, a: t.float_power(a.abs() + 0.5, 2),
    "float_power_scalar_base": lambda t, a: t.float_power(2.0, a),
    "clamp_min_scalar": lambda t, a: t.clamp_min(a, 0.1),
    "clamp_max_scalar": lambda t, a: a.clamp_max(-0.2),
}


@pytest.mark.parametrize("name", sorted(SCALAR_OPERAND))
def test_binary_python_number_operand(name):
    check(SCALAR_OPERAND[name], (3, 4))
    gradcheck_op(SCALAR_OPERAND[name], (2, 3))


def test_binary_integer_promotion():
    a, b = np.array([[3, -7, 5]]), np.array([[2], [-3]])
    for fn in (lambda t, x, y: t.atan2(x, y), lambda t, x, y: t.xlogy(x, y.abs()),
               lambda t, x, y: t.copysign(x, y), lambda t, x, y: t.float_power(x, y.abs()),
               lambda t, x, y: t.fmod(x, y), lambda t, x, y: t.fmax(x, y),
               lambda t, x, y: t.fmin(x, y), lambda t, x, y: t.clamp_min(x, y)):
        check(fn, a, b, grad=False)
    check(lambda t, x, y: t.hypot(x, y), a, b.astype(np.float32), grad=False)


def test_binary_nan_and_zero_conventions():
    a = np.array([0.0, 0.0, 2.0, np.nan, 1.0, 3.0])
    b = np.array([np.nan, 0.0, 1.0, 1.0, np.nan, 3.0])
    check(lambda t, x, y: t.xlogy(x, y), a, b)
    check(lambda t, x, y: t.fmax(x, y), a, b)
    check(lambda t, x, y: t.fmin(x, y), a, b)
    check(lambda t, x, y: t.copysign(x, y), np.array([0.0, -2.0, 3.0]), np.array([-1.0, 1.0, -0.0]))


def test_logical_and_heaviside():
    a, b = np.array([[0.0, 1.5, -2.0, 0.0]]), np.array([[0], [3]])
    for name in ("logical_and", "logical_or", "logical_xor"):
        check(lambda t, x, y: getattr(t, name)(x, y), a, b, grad=False)
        check(lambda t, x, y: getattr(x, name)(y), b, b.astype(bool), grad=False)
    values = np.array([0.5, 7.0, 1.0, -1.0])
    check(lambda t, x, v: t.heaviside(x, v), np.array([[0.0, -1.0, 3.0, np.nan], [0.0, 0.0, 2.0, -0.0]]),
          values, grad=False)
    check(lambda t, x, v: x.heaviside(v), np.array([-2, 0, 5]), np.array([9]), grad=False)


def test_binary_errors_match_torch():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="atan2"):
        mg.atan2(x, 2.0)
    with pytest.raises(TypeError, match="hypot"):
        mg.hypot(1.0, x)
    with pytest.raises(TypeError, match="fmod"):
        mg.fmod(2, x)
    with pytest.raises(RuntimeError, match="different dtypes"):
        mg.heaviside(x, mg.tensor([1]))
    with pytest.raises(RuntimeError, match="expected dtype torch.float32 for `end`"):
        mg.lerp(x, x.double(), 0.5)
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        mg.atan2(mg.ones(3), x)


# ------------------------------------------------------------------------------------------------
# one_hot, normalize, cosine_similarity, pairwise_distance
# ------------------------------------------------------------------------------------------------

def test_one_hot():
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 5, size=(3, 4))
    check(lambda t, i: t.nn.functional.one_hot(i), indices, grad=False)
    check(lambda t, i: t.nn.functional.one_hot(i, 7), indices, grad=False)
    check(lambda t, i: t.nn.functional.one_hot(i, num_classes=3), np.array(2), grad=False)
    check(lambda t, i: t.nn.functional.one_hot(i, 4), np.zeros((0, 2), np.int64), grad=False)


def test_one_hot_errors():
    one_hot = mg.nn.functional.one_hot
    with pytest.raises(RuntimeError, match="int64"):
        one_hot(mg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="non-negative"):
        one_hot(mg.tensor([-1, 2]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        one_hot(mg.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="empty"):
        one_hot(mg.tensor([], dtype=mg.int64))


NORMS = {  # name: fn
    "normalize": lambda t, x: t.nn.functional.normalize(x),
    "normalize_p1_dim0": lambda t, x: t.nn.functional.normalize(x, p=1, dim=0),
    "normalize_p3_last": lambda t, x: t.nn.functional.normalize(x, 3.0, -1),
    "normalize_inf": lambda t, x: t.nn.functional.normalize(x, float("inf"), 1),
    "cosine_similarity": lambda t, x: t.nn.functional.cosine_similarity(x, x * x - 0.5),
    "cosine_similarity_dim": lambda t, x: t.nn.functional.cosine_similarity(x[:1], x, dim=-1),
    "pairwise_distance": lambda t, x: t.nn.functional.pairwise_distance(x, x.flip(0)),
    "pairwise_distance_p1_keepdim": lambda t, x: t.nn.functional.pairwise_distance(
        x, x * 2, p=1.0, keepdim=True),
    "pairwise_distance_p_half": lambda t, x: t.nn.functional.pairwise_distance(x, -x, 0.5),
    "pairwise_distance_inf": lambda t, x: t.nn.functional.pairwise_distance(x, x[:1], float("inf")),
    "CosineSimilarity": lambda t, x: t.nn.CosineSimilarity(dim=0, eps=1e-6)(x, x + 1),
    "PairwiseDistance": lambda t, x: t.nn.PairwiseDistance(1.5, keepdim=True)(x, x * x),
}


@pytest.mark.parametrize("name", sorted(NORMS))
@FAST
@given(shape=shapes(min_dims=2, max_dims=3, min_side=2), seed=seeds())
def test_norms_against_torch(name, shape, seed):
    check(NORMS[name], shape, seed=seed, nonzero=True)


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms_float64_and_gradcheck(name):
    check(NORMS[name], (3, 4), dtype=np.float64, nonzero=True)
    gradcheck_op(NORMS[name], (3, 4), nonzero=True)


def test_normalize_zero_vector_has_zero_gradient():
    check(lambda t, x: t.nn.functional.normalize(x, dim=1), np.zeros((2, 3), np.float32))
    check(lambda t, x: t.nn.functional.normalize(x, p=4.0, dim=0), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("name", ["neg", "positive", "abs", "sign", "floor", "ceil", "trunc", "tanh",
                                  "isnan", "isinf", "isposinf", "isneginf", "isfinite", "signbit"])
def test_ops_declared_never_warning_raise_no_floating_point_flag(name):
    """These ops' forwards skip NumPy's quiet error state (warns=False): under errstate('raise')
    they must still pass infinities and nan through."""
    from minigrad.ops import unary
    op = getattr(mg, name)
    assert issubclass(op.__self__, unary.UnaryFunction) and not op.__self__.warns  # its apply
    x = mg.tensor(np.array([np.inf, -np.inf, np.nan, -0.0, 1e38, -3.5], np.float32))
    with np.errstate(all="raise"):
        op(x)
