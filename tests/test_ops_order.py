"""Ordering ops (sort, argsort, msort, topk, cumsum, cumprod) and amax / amin: forward and
backward against PyTorch, float64 gradcheck, and errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes


def _dim(data, shape):
    return data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))


# ----- sort, argsort, msort, topk ----------------------------------------------------------------
@FAST
@given(shape=shapes(), seed=seeds(), descending=st.booleans(), data=st.data())
def test_sort_argsort_random(shape, seed, descending, data):
    dim = _dim(data, shape)
    check(lambda t, x: t.sort(x, dim, descending), shape, seed=seed)
    check(lambda t, x: x.sort(dim=dim, descending=descending, stable=True), shape, seed=seed)
    check(lambda t, x: t.argsort(x, dim, descending=descending), shape, seed=seed)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_and_nan(descending):
    values = np.array([[2.0, np.nan, 1.0, 2.0, -np.inf, 1.0, np.nan, 2.0]])
    check(lambda t, x: t.sort(x, stable=True, descending=descending), values)
    check(lambda t, x: x.argsort(dim=1, descending=descending, stable=True),
          values[:, [0, 2, 3, 5]].astype(np.int64))
    check(lambda t, x: t.sort(x, dim=0, descending=descending, stable=True),
          np.array([True, False, True, False]))


def test_sort_gradcheck_and_msort():
    gradcheck_op(lambda t, x: t.sort(x, 0, True).values, (4, 3))
    check(lambda t, x: t.msort(x), (5, 3))
    check(lambda t, x: x.msort(), (4,), dtype=np.int64)


def test_sort_returns_values_indices():
    result = mg.tensor([3.0, 1.0, 2.0]).sort()
    values, indices = result
    assert result.values is values and result.indices is indices
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [1, 2, 0]
    assert indices.dtype == mg.int64


@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), largest=st.booleans(), data=st.data())
def test_topk_random(shape, seed, largest, data):
    dim = _dim(data, shape)
    k = data.draw(st.integers(0, shape[dim]))
    check(lambda t, x: t.topk(x, k, dim, largest), shape, seed=seed)
    check(lambda t, x: x.topk(k, dim=dim, largest=largest, sorted=True), shape, seed=seed,
          dtype=np.float64)


def test_topk_zero_dim_gradcheck_and_errors():
    check(lambda t, x: t.topk(x, 1), ())
    gradcheck_op(lambda t, x: t.topk(x, 2, 0).values, (5, 2))
    with pytest.raises(RuntimeError, match="k out of range"):
        mg.ones(2, 3).topk(4)
    with pytest.raises(IndexError, match="Dimension out of range"):
        mg.ones(2, 3).topk(1, 2)


# ----- cumsum, cumprod ---------------------------------------------------------------------------
@FAST
@given(shape=shapes(), seed=seeds(), data=st.data())
def test_cumsum_cumprod_random(shape, seed, data):
    dim = _dim(data, shape)
    check(lambda t, x: t.cumsum(x, dim), shape, seed=seed)
    check(lambda t, x: x.cumprod(dim), shape, seed=seed)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
def test_cumulative_integer_dtypes(dtype):
    check(lambda t, x: t.cumsum(x, 1), (3, 4), dtype=dtype)
    check(lambda t, x: t.cumprod(x, 0), (3, 4), dtype=dtype)


def test_cumulative_dtype_argument():
    check(lambda t, x: t.cumsum(x, 0, dtype=t.float64), (3, 2))
    check(lambda t, x: x.cumprod(1, dtype=t.float32), (3, 2), dtype=np.int64)


@pytest.mark.parametrize("row", [
    [2.0, 0.0, 3.0, 4.0], [0.0, 1.5, 2.0, 3.0], [1.5, 2.0, 3.0, 0.0], [1.0, 0.0, 2.0, 0.0],
    [0.0, 0.0, 0.0, 0.0],
])
def test_cumprod_gradient_with_zeros(row):
    values = np.array([row, row[::-1]])
    check(lambda t, x: t.cumprod(x, 1), values)
    check(lambda t, x: t.cumprod(x, 1), values.astype(np.float64))
    gradcheck_op(lambda t, x: t.cumprod(x, 1), values)


def test_cumulative_gradcheck():
    gradcheck_op(lambda t, x: t.cumsum(x, 0) * t.cumprod(x, -1), (3, 4))


# ----- amax, amin --------------------------------------------------------------------------------
@FAST
@given(shape=shapes(), seed=seeds(), keepdim=st.booleans(), data=st.data())
def test_amax_amin_random(shape, seed, keepdim, data):
    ndim = max(len(shape), 1)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda d: d % ndim))
    check(lambda t, x: t.amax(x, dims, keepdim), shape, seed=seed)
    check(lambda t, x: x.amin(dim=dims, keepdim=keepdim), shape, seed=seed)


def test_amax_amin_ties_share_the_gradient():
    values = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check(lambda t, x: t.amax(x, 1), values)
    check(lambda t, x: t.amin(x), values)
    check(lambda t, x: t.amax(x, (0, 1), keepdim=True), values.astype(np.float64))
    check(lambda t, x: t.amin(x, 0), values.astype(np.int32))
    gradcheck_op(lambda t, x: t.amax(x, -1) + t.amin(x, 0).sum(), (3, 4))


def test_amax_amin_errors():
    with pytest.raises(IndexError, match="non-zero size"):
        mg.ones(5, 0, 5).amax(1)
    with pytest.raises(RuntimeError, match="numel"):
        mg.ones(5, 0, 5).amin()
    with pytest.raises(RuntimeError, match="multiple times"):
        mg.ones(2, 2).amax((0, -2))
    assert mg.ones(5, 0, 5).amax(2).shape == (5, 0)
