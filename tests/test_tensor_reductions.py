"""Reductions, softmax family: forward/backward against PyTorch, float64 gradcheck."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes


def _dims(ndim):
    """Strategy for a dim argument valid for `ndim`: None, an int (possibly negative) or a tuple."""
    if ndim == 0:
        return st.sampled_from([None, 0, -1])
    ints = st.integers(-ndim, ndim - 1)
    tuples = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda l: tuple(d - ndim if i % 2 else d for i, d in enumerate(l)))
    return st.one_of(st.none(), ints, tuples)


SUMLIKE = {
    "sum": lambda x, *args, **kw: x.sum(*args, **kw),
    "mean": lambda x, *args, **kw: x.mean(*args, **kw),
}


@pytest.mark.parametrize("name", sorted(SUMLIKE))
@FAST
@given(data=st.data(), shape=shapes(), keepdim=st.booleans(), seed=seeds())
def test_sum_mean_dims(name, data, shape, keepdim, seed):
    dim = data.draw(_dims(len(shape)))
    f = SUMLIKE[name]
    if dim is None:
        check(lambda t, a: f(a), shape, seed=seed)
    else:
        check(lambda t, a: f(a, dim=dim, keepdim=keepdim), shape, seed=seed)
        check(lambda t, a: f(a, axis=dim, keepdim=keepdim), shape, seed=seed)
        check(lambda t, a: getattr(t, name)(a, dim, keepdim), shape, seed=seed)


@pytest.mark.parametrize("name", sorted(SUMLIKE))
def test_sum_mean_explicit(name):
    f = SUMLIKE[name]
    check(lambda t, a: f(a), (3, 4, 5))
    check(lambda t, a: f(a, dim=1), (3, 4, 5))
    check(lambda t, a: f(a, dim=-1, keepdim=True), (3, 4, 5))
    check(lambda t, a: f(a, dim=(0, 2)), (3, 4, 5))
    check(lambda t, a: f(a, dim=(-1, 0), keepdim=True), (3, 4, 5))
    check(lambda t, a: f(a, 1), (3, 4, 5))
    check(lambda t, a: f(a), (), dtype=np.float64)
    check(lambda t, a: getattr(t, name)(a), (3, 4))
    gradcheck_op(lambda t, a: f(a, dim=(0, 2), keepdim=True), (2, 3, 4))
    gradcheck_op(lambda t, a: f(a, dim=1), (2, 3, 4))
    gradcheck_op(lambda t, a: f(a), (2, 3))


def test_sum_int_and_bool():
    check(lambda t, a: a.sum(), (3, 4), dtype=np.int32)
    check(lambda t, a: a.sum(dim=0), (3, 4), dtype=np.int64)
    check(lambda t, a: a.sum(), (3, 4), dtype=np.bool_)
    check(lambda t, a: (a > 0).sum(dim=1), (3, 4))


MAXMIN = ["max", "min"]


@pytest.mark.parametrize("name", MAXMIN)
@FAST
@given(shape=shapes(min_dims=1), data=st.data(), keepdim=st.booleans(), seed=seeds())
def test_max_min_dim(name, shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    m, _ = check(lambda t, a: getattr(a, name)(dim=dim, keepdim=keepdim), shape, seed=seed)
    check(lambda t, a: getattr(a, name)(dim, keepdim), shape, seed=seed)
    check(lambda t, a: getattr(t, name)(a, dim=dim), shape, seed=seed)
    check(lambda t, a: getattr(a, name)(axis=dim).values, shape, seed=seed)
    check(lambda t, a: getattr(a, name)(dim).indices, shape, seed=seed)
    vals, idx = m
    assert m.values.shape == vals.shape and m.indices.shape == idx.shape
    assert idx.dtype == mg.int64


@pytest.mark.parametrize("name", MAXMIN)
def test_max_min_full(name):
    m, _ = check(lambda t, a: getattr(a, name)(), (3, 4))
    assert m.shape == ()
    check(lambda t, a: getattr(t, name)(a), (3, 4, 2))
    check(lambda t, a: getattr(a, name)(), (), dtype=np.float64)
    check(lambda t, a: getattr(a, name)(), (5,), dtype=np.int64, grad=False)
    check(lambda t, a: getattr(a, name)(dim=1), (3, 4), dtype=np.int32, grad=False)
    gradcheck_op(lambda t, a: getattr(a, name)(), (3, 4))
    gradcheck_op(lambda t, a: getattr(a, name)(dim=1).values, (3, 4))
    gradcheck_op(lambda t, a: getattr(a, name)(dim=0, keepdim=True)[0], (3, 4))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@FAST
@given(shape=shapes(min_dims=1), data=st.data(), keepdim=st.booleans(), seed=seeds())
def test_argmax_argmin(name, shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    m, _ = check(lambda t, a: getattr(a, name)(dim=dim, keepdim=keepdim), shape, seed=seed)
    assert m.dtype == mg.int64
    check(lambda t, a: getattr(a, name)(), shape, seed=seed)
    check(lambda t, a: getattr(t, name)(a, dim), shape, seed=seed)
    check(lambda t, a: getattr(a, name)(axis=dim), shape, seed=seed)


def test_argmax_int_input():
    check(lambda t, a: a.argmax(dim=1), (3, 5), dtype=np.int64, low=-100, high=100)
    check(lambda t, a: a.argmin(), (3, 5), dtype=np.int32, low=-100, high=100)


@pytest.mark.parametrize("name", ["var", "std"])
@FAST
@given(data=st.data(), shape=shapes(min_dims=1, min_side=2), keepdim=st.booleans(), seed=seeds())
def test_var_std(name, data, shape, keepdim, seed):
    dim = data.draw(_dims(len(shape)))
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    check(lambda t, a: getattr(a, name)(**kw), shape, seed=seed, grad_atol=2e-4)
    check(lambda t, a: getattr(a, name)(unbiased=False, **kw), shape, seed=seed, grad_atol=2e-4)
    check(lambda t, a: getattr(a, name)(correction=0, **kw), shape, seed=seed, grad_atol=2e-4)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_explicit(name):
    check(lambda t, a: getattr(a, name)(), (4, 5))
    check(lambda t, a: getattr(a, name)(dim=1), (4, 5))
    check(lambda t, a: getattr(a, name)(1), (4, 5))
    check(lambda t, a: getattr(a, name)(dim=0, unbiased=False, keepdim=True), (4, 5))
    check(lambda t, a: getattr(a, name)(axis=(0, 1)), (4, 5))
    check(lambda t, a: getattr(t, name)(a, dim=1), (4, 5), dtype=np.float64)
    gradcheck_op(lambda t, a: getattr(a, name)(), (4, 5))
    gradcheck_op(lambda t, a: getattr(a, name)(dim=1, unbiased=False), (4, 5))
    gradcheck_op(lambda t, a: getattr(a, name)(dim=(0, 2), keepdim=True), (3, 2, 4))


def test_var_of_constant_and_known_values():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(x.var().item(), 5.0 / 3.0, rtol=1e-6)
    np.testing.assert_allclose(x.var(unbiased=False).item(), 1.25, rtol=1e-6)
    np.testing.assert_allclose(x.std().item(), np.sqrt(5.0 / 3.0), rtol=1e-6)


@FAST
@given(shape=shapes(), data=st.data(), seed=seeds())
def test_prod(shape, data, seed):
    check(lambda t, a: a.prod(), shape, seed=seed, low=0.5, high=1.5)
    if shape:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        keepdim = data.draw(st.booleans())
        check(lambda t, a: a.prod(dim=dim, keepdim=keepdim), shape, seed=seed)
        check(lambda t, a: t.prod(a, dim), shape, seed=seed)


def test_prod_with_zeros_gradient():
    one_zero = np.array([[1.5, 0.0, -2.0, 0.5], [1.0, 2.0, 3.0, -1.0], [0.0, 0.0, 2.0, 1.0]],
                        dtype=np.float32)
    check(lambda t, a: a.prod(), np.array([1.5, 0.0, -2.0, 0.5], dtype=np.float32))
    check(lambda t, a: a.prod(), np.array([0.0, 3.0, 0.0], dtype=np.float32))
    check(lambda t, a: a.prod(dim=1), one_zero)
    check(lambda t, a: a.prod(dim=0, keepdim=True), one_zero)
    check(lambda t, a: a.prod(dim=1), one_zero.astype(np.float64))
    x = mg.tensor([2.0, 0.0, 3.0], requires_grad=True)
    x.prod().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0, 0.0])
    gradcheck_op(lambda t, a: a.prod(dim=1), (3, 4), low=0.5, high=1.5)
    gradcheck_op(lambda t, a: a.prod(), (2, 3), low=0.5, high=1.5)


@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(name):
    rng = np.random.default_rng(0)
    b = np.asarray(rng.random((3, 4)) < 0.6)
    check(lambda t, a: getattr(a, name)(), b)
    check(lambda t, a: getattr(a, name)(dim=1), b)
    check(lambda t, a: getattr(a, name)(dim=-2, keepdim=True), b)
    check(lambda t, a: getattr(a, name)(axis=0), b)
    check(lambda t, a: getattr(t, name)(a), b)
    check(lambda t, a: getattr(a > 0, name)(dim=0), (3, 4))
    check(lambda t, a: getattr(a, name)(), np.ones((2, 2), dtype=bool))
    check(lambda t, a: getattr(a, name)(), np.zeros((2, 2), dtype=bool))
    check(lambda t, a: getattr(a, name)(dim=1), (3, 4), dtype=np.int64, low=0, high=1, grad=False)


SOFT = {
    "softmax": lambda t, a, d: a.softmax(dim=d),
    "softmax_fn": lambda t, a, d: t.softmax(a, dim=d),
    "softmax_pos": lambda t, a, d: t.softmax(a, d),
    "log_softmax": lambda t, a, d: a.log_softmax(dim=d),
    "log_softmax_fn": lambda t, a, d: t.log_softmax(a, dim=d),
    "logsumexp": lambda t, a, d: a.logsumexp(dim=d),
    "logsumexp_keep": lambda t, a, d: t.logsumexp(a, dim=d, keepdim=True),
}


@pytest.mark.parametrize("name", sorted(SOFT))
@FAST
@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds())
def test_softmax_family(name, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda t, a: SOFT[name](t, a, dim), shape, seed=seed, low=-5, high=5)


@pytest.mark.parametrize("name", sorted(SOFT))
def test_softmax_family_gradcheck_and_float64(name):
    check(lambda t, a: SOFT[name](t, a, 1), (3, 5), dtype=np.float64)
    gradcheck_op(lambda t, a: SOFT[name](t, a, 1), (3, 5))
    gradcheck_op(lambda t, a: SOFT[name](t, a, 0), (3, 2, 2))
    gradcheck_op(lambda t, a: SOFT[name](t, a, -1), (4,))


@pytest.mark.parametrize("name", sorted(SOFT))
def test_softmax_family_stable_for_large_inputs(name):
    x = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1000.0], [1000.0, -1000.0, 0.0]],
                 dtype=np.float32)
    m, _ = check(lambda t, a: SOFT[name](t, a, 1), x)
    assert np.all(np.isfinite(m.detach().numpy()) | (m.detach().numpy() == -np.inf))
    check(lambda t, a: SOFT[name](t, a, 1), x.astype(np.float64))
    xs = mg.tensor(x, requires_grad=True)
    SOFT[name](mg, xs, 1).sum().backward()
    assert np.all(np.isfinite(xs.grad.numpy()))


def test_logsumexp_values():
    x = mg.tensor([1000.0, 1000.0])
    np.testing.assert_allclose(x.logsumexp(dim=0).item(), 1000.0 + np.log(2.0), rtol=1e-6)
    s = mg.tensor([[1.0, 2.0, 3.0]]).softmax(dim=1)
    np.testing.assert_allclose(s.sum(dim=1).numpy(), [1.0], rtol=1e-6)


def test_reductions_of_expression_graph():
    # reductions inside larger graphs; gradients flow through several reductions at once
    check(lambda t, a: (a - a.mean(dim=1, keepdim=True)) / a.std(dim=1, keepdim=True), (4, 6))
    check(lambda t, a: a.softmax(dim=1).max(dim=1).values.sum() + a.logsumexp(dim=0).mean(), (4, 6))
    gradcheck_op(lambda t, a: (a - a.mean(dim=0)) ** 2 / (a.var(dim=0) + 1), (4, 3))
