"""Selection ops (flip, roll, rot90, gather, scatter, scatter_add, index_select, take_along_dim,
masked_fill): forward and backward against PyTorch, float64 gradcheck, and errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes


def _index(rng, shape, size, dtype=np.int64):
    return rng.integers(0, size, size=shape).astype(dtype)


# ----- flip, roll, rot90 -------------------------------------------------------------------------
@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_flip_random(shape, seed, data):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda d: d % ndim))
    check(lambda t, x: t.flip(x, dims), shape, seed=seed)
    check(lambda t, x: x.flip(dims), shape, seed=seed)
    if dims:
        check(lambda t, x: x.flip(*dims), shape, seed=seed)


def test_flip_lr_ud_and_gradcheck():
    check(lambda t, x: t.fliplr(x), (3, 4, 2))
    check(lambda t, x: x.flipud(), (3, 4))
    gradcheck_op(lambda t, x: t.flip(x, (0, 2)) * x, (2, 3, 2))


def test_flip_copies():
    x = mg.arange(4)
    y = x.flip(0)
    y[0] = 100
    assert x.tolist() == [0, 1, 2, 3]


@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_roll_random(shape, seed, data):
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3))
    shifts = data.draw(st.lists(st.integers(-7, 7), min_size=len(dims), max_size=len(dims)))
    check(lambda t, x: t.roll(x, shifts, dims), shape, seed=seed)
    check(lambda t, x: x.roll(shifts[0]), shape, seed=seed)  # flattened


def test_roll_gradcheck():
    gradcheck_op(lambda t, x: t.roll(x, (1, -2), (0, 1)), (3, 4))


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 5])
def test_rot90(k):
    check(lambda t, x: t.rot90(x, k, (0, 2)), (2, 3, 4))
    check(lambda t, x: x.rot90(k, [-1, 0]), (3, 4))


def test_rot90_gradcheck():
    gradcheck_op(lambda t, x: t.rot90(x, 1, (1, 0)) * t.rot90(x, 3), (3, 3))


# ----- gather, scatter, scatter_add --------------------------------------------------------------
@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_gather_random(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, n if d != dim % len(shape) else 5))
                        for d, n in enumerate(shape))
    index = _index(np.random.default_rng(seed), index_shape, shape[dim])
    check(lambda t, x, i: t.gather(x, dim, i), shape, index, seed=seed)
    check(lambda t, x, i: x.gather(dim, i), shape, index.astype(np.int32), seed=seed)


def test_gather_repeated_indices_gradcheck():
    index = np.array([[0, 0, 1], [2, 2, 2]])
    check(lambda t, x, i: t.gather(x, 1, i), (2, 4), index)
    gradcheck_op(lambda t, x: t.gather(x, 1, mg.tensor(index)), (2, 4))


@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_scatter_and_scatter_add_random(shape, seed, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(seed)
    index_shape = tuple(data.draw(st.integers(1, n)) for n in shape)
    larger_src = tuple(n + data.draw(st.integers(0, 1)) for n in index_shape)
    # distinct targets along dim, so scatter's result does not depend on write order
    permutations = np.argsort(rng.random(shape), axis=dim)
    index = permutations[tuple(slice(0, n) for n in index_shape)]
    check(lambda t, x, i, s: t.scatter(x, dim, i, s), shape, index, index_shape, seed=seed)
    repeated = _index(rng, index_shape, shape[dim])
    check(lambda t, x, i, s: x.scatter_add(dim, i, s), shape, repeated, index_shape, seed=seed)
    # torch reads only the leading block of a larger src (and has no gradient for it)
    check(lambda t, x, i, s: t.scatter(x, dim, i, s), shape, index, larger_src, seed=seed,
          grad=False)
    check(lambda t, x, i, s: x.scatter_add(dim, i, s), shape, repeated, larger_src, seed=seed,
          requires_grad={0})


def test_scatter_value_forms():
    index = np.array([[1, 0], [2, 1]])
    check(lambda t, x, i: t.scatter(x, 0, i, 2.5), (3, 2), index)
    check(lambda t, x, i: x.scatter(1, i, value=-1.0), (2, 3), index[:, :1])
    check(lambda t, x, i: t.scatter(x, 0, i, 7), (3, 2), index, dtype=np.int64)


def test_scatter_gradcheck():
    index = mg.tensor([[0, 2, 1], [3, 1, 0]])
    gradcheck_op(lambda t, x, s: t.scatter(x, 0, index, s), (4, 3), (2, 3))
    gradcheck_op(lambda t, x, s: t.scatter_add(x, 0, index * 0, s), (4, 3), (2, 3))


def test_scatter_inplace():
    labels = mg.tensor([[2], [0]])
    one_hot = mg.zeros(2, 3)
    assert one_hot.scatter_(1, labels, 1.0) is one_hot
    assert one_hot.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    src = mg.ones(2, 1, requires_grad=True)
    counts = mg.zeros(2, 3) * 1.0
    counts.scatter_add_(1, labels, src * 2)
    counts.scatter_add_(1, labels, src)
    assert counts.tolist() == [[0.0, 0.0, 3.0], [3.0, 0.0, 0.0]]
    counts.sum().backward()
    assert src.grad.tolist() == [[3.0], [3.0]]


def test_gather_scatter_zero_dim():
    check(lambda t, x, i: t.gather(x, 0, i), (), np.array([0]))
    check(lambda t, x, i, s: t.scatter_add(x, 0, i, s), (), np.array(0), ())


@pytest.mark.parametrize("call, message", [
    (lambda x, i: mg.gather(x, 1, i[0]), "same number of dimensions"),
    (lambda x, i: mg.gather(x, 0, i * 5), "out of bounds for dimension 0"),
    (lambda x, i: mg.gather(x, 0, i.float()), "dtype"),
    (lambda x, i: mg.gather(x[:1], 1, i), "Size does not match at dimension 0"),
    (lambda x, i: mg.scatter(x, 0, i, x.double()), "self.dtype to be equal to src.dtype"),
    (lambda x, i: mg.scatter_add(x, 0, i, x.reshape(2, 2, 1)), "same number of dimensions as src"),
    (lambda x, i: mg.scatter(x, 0, i, x[:, :1]), "no larger.*src"),
])
def test_gather_scatter_errors(call, message):
    x, index = mg.ones(2, 2), mg.tensor([[0, 1], [1, 0]])
    with pytest.raises(RuntimeError, match=message):
        call(x, index)


# ----- index_select, take_along_dim --------------------------------------------------------------
@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_index_select_random(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = _index(np.random.default_rng(seed), (data.draw(st.integers(0, 6)),), shape[dim])
    check(lambda t, x, i: t.index_select(x, dim, i), shape, index, seed=seed)


def test_index_select_gradcheck_and_errors():
    gradcheck_op(lambda t, x: t.index_select(x, 1, mg.tensor([2, 0, 2])), (2, 3))
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match="out of range"):
        x.index_select(0, mg.tensor([2]))
    with pytest.raises(IndexError, match="vector"):
        x.index_select(1, mg.tensor([[0]]))


@FAST
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_take_along_dim_random(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    # a size-1 dim in either operand broadcasts against the other
    index_shape = tuple(data.draw(st.sampled_from([1, n])) if d != dim % len(shape) else 3
                        for d, n in enumerate(shape))
    rng = np.random.default_rng(seed)
    index = rng.integers(-shape[dim], shape[dim], size=index_shape)  # negatives count from the end
    check(lambda t, x, i: t.take_along_dim(x, i, dim), shape, index, seed=seed)
    flat_index = _index(rng, index_shape, int(np.prod(shape)))
    check(lambda t, x, i: x.take_along_dim(i), shape, flat_index, seed=seed)


def test_take_along_dim_with_argsort_and_gradcheck():
    check(lambda t, x: t.take_along_dim(x, x.argsort(1), 1), (3, 5))
    gradcheck_op(lambda t, x: t.take_along_dim(x, mg.tensor([[1], [0]]), 1), (1, 3))
    with pytest.raises(RuntimeError, match="Long"):
        mg.take_along_dim(mg.ones(2, 2), mg.tensor([[0]], dtype=mg.int32), 0)


# ----- masked_fill, masked_fill_ -----------------------------------------------------------------
@FAST
@given(shape=shapes(), seed=seeds())
def test_masked_fill_random(shape, seed):
    mask = np.asarray(np.random.default_rng(seed).random(shape) < 0.5)
    check(lambda t, x, m: t.masked_fill(x, m, -3.5), shape, mask, seed=seed)
    check(lambda t, x, m, v: x.masked_fill(m, v), shape, mask, (), seed=seed)


def test_masked_fill_broadcast_dtypes_and_gradcheck():
    mask = np.array([[True, False, True]])
    check(lambda t, x, m: t.masked_fill(x, m, 2.7), (2, 3), mask, dtype=np.int64)
    check(lambda t, x, m, v: t.masked_fill(x, m, v), (3,), np.ones((2, 3), bool), (),
          dtype=np.float64)
    gradcheck_op(lambda t, x, v: t.masked_fill(x, mg.tensor(mask), v), (4, 3), ())


def test_masked_fill_inplace():
    x = mg.arange(6.0).reshape(2, 3)
    weight = mg.ones(2, 3, requires_grad=True)
    y = x * weight
    assert y.masked_fill_(mg.tensor([True, False, True]), 0.0) is y
    assert y.tolist() == [[0.0, 1.0, 0.0], [0.0, 4.0, 0.0]]
    y.sum().backward()
    assert weight.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 4.0, 0.0]]
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        mg.ones(3).masked_fill_(mg.ones(2, 3, dtype=mg.bool), 1.0)


def test_masked_fill_errors():
    x = mg.ones(2, 2)
    with pytest.raises(RuntimeError, match="boolean masks"):
        x.masked_fill(mg.ones(2, 2), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.masked_fill(mg.ones(2, 2, dtype=mg.bool), mg.ones(1))
    with pytest.raises(RuntimeError, match="overflow"):
        x.masked_fill(mg.ones(2, 2, dtype=mg.bool), 1j)
    with pytest.raises(RuntimeError, match="overflow"):
        x.to(mg.uint8).masked_fill(mg.ones(2, 2, dtype=mg.bool), 300)
