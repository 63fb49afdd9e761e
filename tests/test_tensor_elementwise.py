"""Elementwise ops: forward and backward against PyTorch, and float64 gradcheck."""
import warnings

import numpy as np
import pytest
from hypothesis import given

from helpers import FAST, broadcastable, check, gradcheck_op, mg, rand_array, seeds, shapes

# ------------------------------------------------------------------------------------------------
# binary arithmetic with broadcasting
# ------------------------------------------------------------------------------------------------

BINARY = {
    "add": (lambda t, a, b: a + b, {}),
    "sub": (lambda t, a, b: a - b, {}),
    "mul": (lambda t, a, b: a * b, {}),
    "div": (lambda t, a, b: a / b, {"nonzero": True}),
    "pow": (lambda t, a, b: a ** b, {"positive": True}),
    "pow_fn": (lambda t, a, b: t.pow(a, b), {"positive": True}),
    "pow_method": (lambda t, a, b: a.pow(b), {"positive": True}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FAST
@given(bs=broadcastable(), seed=seeds())
def test_binary_broadcast(name, bs, seed):
    fn, kw = BINARY[name]
    check(fn, *bs.input_shapes, seed=seed, **kw)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_explicit(name):
    fn, kw = BINARY[name]
    check(fn, (3, 1, 5), (4, 1), **kw)
    check(fn, (), (2, 3), **kw)
    check(fn, (2, 3), (), **kw)
    check(fn, (1,), (2, 1, 1), **kw)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float64(name):
    fn, kw = BINARY[name]
    check(fn, (3, 4), (4,), dtype=np.float64, **kw)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(name):
    fn, kw = BINARY[name]
    gradcheck_op(fn, (3, 1, 4), (2, 1), **kw)
    gradcheck_op(fn, (), (3,), **kw)


def test_same_tensor_both_operands():
    check(lambda t, a: a * a, (3, 4))
    check(lambda t, a: a / a, (3, 4), nonzero=True)
    check(lambda t, a: a - a + a, (3, 4))
    gradcheck_op(lambda t, a: a * a + a / (a * a + 1), (3, 4))


# ------------------------------------------------------------------------------------------------
# Python scalars, reflected forms
# ------------------------------------------------------------------------------------------------

SCALAR = {
    "add": lambda t, a: a + 2.5,
    "radd": lambda t, a: 2.5 + a,
    "add_int": lambda t, a: a + 3,
    "sub": lambda t, a: a - 1.5,
    "rsub": lambda t, a: 1.5 - a,
    "mul": lambda t, a: a * -1.5,
    "rmul": lambda t, a: -1.5 * a,
    "mul_int": lambda t, a: 2 * a,
    "div": lambda t, a: a / 4.0,
    "rdiv": lambda t, a: 3.0 / a,
    "rdiv_int": lambda t, a: 2 / a,
    "pow2": lambda t, a: a ** 2,
    "pow3": lambda t, a: a ** 3,
    "pow_neg": lambda t, a: a ** -1,
    "pow_float": lambda t, a: a.pow(2.0),
    "rpow": lambda t, a: 2 ** a,
    "rpow_float": lambda t, a: 1.5 ** a,
    "neg": lambda t, a: -a,
    "pos_chain": lambda t, a: (a * 2 - 1) / 3 + 0.5,
}


@pytest.mark.parametrize("name", sorted(SCALAR))
@FAST
@given(shape=shapes(), seed=seeds())
def test_scalar_ops(name, shape, seed):
    check(SCALAR[name], shape, seed=seed, nonzero=True)


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_scalar_ops_float64_and_gradcheck(name):
    check(SCALAR[name], (2, 3), dtype=np.float64, nonzero=True)
    gradcheck_op(SCALAR[name], (2, 3), nonzero=True)


def test_pow_fractional_and_sqrt_like():
    check(lambda t, a: a ** 0.5, (3, 4), positive=True)
    check(lambda t, a: a ** -0.5, (3, 4), positive=True)
    check(lambda t, a: t.pow(a, 1.5), (3, 4), positive=True)
    check(lambda t, a: t.pow(2.0, a), (3, 4))
    gradcheck_op(lambda t, a: a ** 0.5, (3, 4), positive=True)
    gradcheck_op(lambda t, a: a ** 2.5, (3, 4), positive=True)


def test_scalar_ops_keep_float32():
    x = mg.ones(3)
    for y in (x + 1, x + 1.5, 2.5 * x, x / 3, x ** 2, 1.0 - x, 2 ** x, x * np.float64(2.0)):
        assert y.dtype == mg.float32


# ------------------------------------------------------------------------------------------------
# integer arithmetic, // and %
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_int_arith(dtype):
    check(lambda t, a, b: a + b, (3, 4), (4,), dtype=dtype, low=-5, high=5)
    check(lambda t, a, b: a * b, (3, 4), (4,), dtype=dtype, low=-5, high=5)
    check(lambda t, a, b: a - b, (3, 4), (4,), dtype=dtype, low=-5, high=5)
    check(lambda t, a, b: a / b, (3, 4), (4,), dtype=dtype, low=-5, high=5, nonzero=True)
    check(lambda t, a: a * 3 + 1, (5,), dtype=dtype)
    check(lambda t, a: a / 2, (5,), dtype=dtype)
    check(lambda t, a: a * 1.5, (5,), dtype=dtype)
    check(lambda t, a: 7 - a, (5,), dtype=dtype)
    check(lambda t, a: a ** 2, (5,), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
def test_floordiv_mod(dtype):
    # negative operands: Python / PyTorch floor semantics, remainder has the divisor's sign
    check(lambda t, a, b: a // b, (4, 5), (5,), dtype=dtype, low=-9, high=9, nonzero=True, grad=False)
    check(lambda t, a, b: a % b, (4, 5), (5,), dtype=dtype, low=-9, high=9, nonzero=True, grad=False)
    check(lambda t, a: a // 3, (4, 5), dtype=dtype, low=-9, high=9, grad=False)
    check(lambda t, a: a % 3, (4, 5), dtype=dtype, low=-9, high=9, grad=False)
    check(lambda t, a: a % -3, (4, 5), dtype=dtype, low=-9, high=9, grad=False)
    check(lambda t, a: 7 // a, (4, 5), dtype=dtype, low=-9, high=9, nonzero=True, grad=False)
    check(lambda t, a: 7 % a, (4, 5), dtype=dtype, low=-9, high=9, nonzero=True, grad=False)


def test_floordiv_mod_exact_values():
    a = mg.tensor([-7, -6, -1, 0, 1, 6, 7])
    assert (a // 3).tolist() == [-3, -2, -1, 0, 0, 2, 2]
    assert (a % 3).tolist() == [2, 0, 2, 0, 1, 0, 1]
    assert (a % -3).tolist() == [-1, 0, -1, 0, -2, 0, -2]
    f = mg.tensor([-7.5, 7.5])
    assert (f // 2).tolist() == [-4.0, 3.0]
    assert (f % 2).tolist() == [0.5, 1.5]


# ------------------------------------------------------------------------------------------------
# unary
# ------------------------------------------------------------------------------------------------

UNARY = {
    "neg": (lambda t, a: -a, {}),
    "exp": (lambda t, a: a.exp(), {}),
    "exp_fn": (lambda t, a: t.exp(a), {}),
    "log": (lambda t, a: a.log(), {"positive": True}),
    "log_fn": (lambda t, a: t.log(a), {"positive": True}),
    "sqrt": (lambda t, a: a.sqrt(), {"positive": True}),
    "sqrt_fn": (lambda t, a: t.sqrt(a), {"positive": True}),
    "abs": (lambda t, a: a.abs(), {"nonzero": True}),
    "abs_fn": (lambda t, a: t.abs(a), {"nonzero": True}),
    "sin": (lambda t, a: a.sin(), {}),
    "sin_fn": (lambda t, a: t.sin(a), {}),
    "cos": (lambda t, a: a.cos(), {}),
    "cos_fn": (lambda t, a: t.cos(a), {}),
    "tanh": (lambda t, a: a.tanh(), {}),
    "tanh_fn": (lambda t, a: t.tanh(a), {}),
    "sigmoid": (lambda t, a: a.sigmoid(), {}),
    "sigmoid_fn": (lambda t, a: t.sigmoid(a), {}),
    "relu": (lambda t, a: a.relu(), {"nonzero": True}),
    "relu_fn": (lambda t, a: t.relu(a), {"nonzero": True}),
    "clamp": (lambda t, a: a.clamp(-0.7, 0.9), {}),
    "clamp_kw": (lambda t, a: a.clamp(min=-0.7, max=0.9), {}),
    "clamp_min": (lambda t, a: a.clamp(min=-0.3), {}),
    "clamp_max": (lambda t, a: a.clamp(max=0.4), {}),
    "clamp_fn": (lambda t, a: t.clamp(a, -1.1, 0.2), {}),
    "clamp_fn_min": (lambda t, a: t.clamp(a, min=0.1), {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@FAST
@given(shape=shapes(), seed=seeds())
def test_unary(name, shape, seed):
    fn, kw = UNARY[name]
    check(fn, shape, seed=seed, **kw)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_and_gradcheck(name):
    fn, kw = UNARY[name]
    check(fn, (3, 5), dtype=np.float64, **kw)
    gradcheck_op(fn, (3, 5), **kw)


def test_unary_int_inputs_promote_like_torch():
    check(lambda t, a: a.exp(), (4,), dtype=np.int64, grad=False)
    check(lambda t, a: a.sqrt(), (4,), dtype=np.int64, positive=True, grad=False)
    check(lambda t, a: a.sigmoid(), (4,), dtype=np.int64, grad=False)
    check(lambda t, a: a.abs(), (4,), dtype=np.int64, grad=False)
    check(lambda t, a: -a, (4,), dtype=np.int32, grad=False)
    check(lambda t, a: a.relu(), (4,), dtype=np.int64, grad=False)
    check(lambda t, a: a.clamp(-1, 1), (4,), dtype=np.int64, grad=False)


def test_sigmoid_large_inputs_stable():
    x = np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0], dtype=np.float32)
    check(lambda t, a: a.sigmoid(), x, atol=1e-30)
    check(lambda t, a: t.sigmoid(a), x.astype(np.float64), atol=1e-300)
    y = mg.tensor(x, requires_grad=True)
    s = y.sigmoid()
    assert np.all(np.isfinite(s.detach().numpy()))
    s.sum().backward()
    assert np.all(np.isfinite(y.grad.numpy()))
    assert y.grad.numpy()[0] == 0.0 and y.grad.numpy()[-1] == 0.0


def test_sigmoid_large_inputs_no_overflow_warning():
    x = mg.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        s = x.sigmoid()
        s.sum().backward()
        mg.sigmoid(x.detach().double())


def test_tanh_large_inputs_stable():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    check(lambda t, a: a.tanh(), x)


def test_relu_and_clamp_gradient_masks():
    x = np.array([-2.0, -0.5, 0.5, 2.0], dtype=np.float32)
    check(lambda t, a: a.relu(), x)
    check(lambda t, a: a.clamp(-1.0, 1.0), x)
    check(lambda t, a: a.clamp(min=0.0), x)


# ------------------------------------------------------------------------------------------------
# where and comparisons
# ------------------------------------------------------------------------------------------------

@FAST
@given(bs=broadcastable(3), seed=seeds())
def test_where_broadcast(bs, seed):
    sc, sa, sb = bs.input_shapes
    rng = np.random.default_rng(seed)
    cond = np.asarray(rng.random(sc) < 0.5)
    check(lambda t, c, a, b: t.where(c, a, b), cond, rand_array(sa, rng), rand_array(sb, rng))


def test_where_variants():
    check(lambda t, a, b: t.where(a > 0, a, b), (3, 4), (4,))
    check(lambda t, a, b: t.where(a > b, a * 2, b.exp()), (3, 4), (3, 1))
    check(lambda t, a: t.where(a > 0, a, 0.0), (3, 4))
    check(lambda t, a: t.where(a > 0, 1.0, a), (3, 4))
    check(lambda t, a, b: t.where(a > 0, a, b), (3, 4), (3, 4), dtype=np.float64)
    gradcheck_op(lambda t, a, b: t.where(a > 0.1, a * b, b), (3, 4), (4,))


CMPS = {
    "lt": lambda t, a, b: a < b,
    "le": lambda t, a, b: a <= b,
    "gt": lambda t, a, b: a > b,
    "ge": lambda t, a, b: a >= b,
    "eq": lambda t, a, b: a == b,
    "ne": lambda t, a, b: a != b,
}


@pytest.mark.parametrize("name", sorted(CMPS))
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_comparisons(name, dtype):
    fn = CMPS[name]
    # small integer-valued data so that == and != see equal elements too
    rng = np.random.default_rng(1)
    a = rng.integers(-2, 3, size=(3, 4)).astype(dtype)
    b = rng.integers(-2, 3, size=(4,)).astype(dtype)
    m, _ = check(fn, a, b)
    assert m.dtype == mg.bool
    assert not m.requires_grad
    check(lambda t, x: fn(t, x, 1), a)
    check(lambda t, x: fn(t, x, 0.5), a)
    check(lambda t, x: fn(t, 1, x), a)


def test_comparison_with_grad_input_has_no_grad():
    x = mg.randn(3, requires_grad=True)
    for r in (x > 0, x < 0.5, x == x, x != 1.0, x >= x * 2, x <= 0):
        assert r.dtype == mg.bool
        assert r.requires_grad is False
        assert r.grad_fn is None


def test_bool_mask_arithmetic():
    check(lambda t, a: (a > 0) * a, (3, 4))
    check(lambda t, a: a * (a > 0).float(), (3, 4))
    check(lambda t, a, b: (a > 0) & (b > 0), (3, 4), (4,), grad=False)
    check(lambda t, a, b: (a > 0) | (b > 0), (3, 4), (4,), grad=False)
