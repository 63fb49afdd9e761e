"""unflatten, chunk, split, narrow, tile, tril / triu, meshgrid: forward and backward against
PyTorch, float64 gradcheck, and torch's refusals."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes

CASES = {
    "unflatten": ((2, 12, 3), lambda t, a: a.unflatten(1, (3, 4))),
    "unflatten_infer": ((2, 12), lambda t, a: t.unflatten(a, -1, (2, -1, 3))),
    "unflatten_one": ((5, 2), lambda t, a: a.unflatten(0, [5])),
    "chunk": ((7, 3), lambda t, a: a.chunk(3)),
    "chunk_fn_dim": ((2, 6, 2), lambda t, a: t.chunk(a, 4, dim=1)),
    "chunk_more_than_size": ((2, 3), lambda t, a: a.chunk(5, -1)),
    "chunk_empty": ((0, 3), lambda t, a: a.chunk(2)),
    "split_int": ((7, 2), lambda t, a: a.split(3)),
    "split_list": ((2, 9), lambda t, a: t.split(a, [2, 0, 7], dim=1)),
    "split_kw": ((4, 5), lambda t, a: a.split(split_size=2, dim=-1)),
    "split_with_sizes": ((6, 2), lambda t, a: a.split_with_sizes([1, 5])),
    "narrow": ((5, 4), lambda t, a: a.narrow(0, 1, 3)),
    "narrow_negative_start": ((3, 6), lambda t, a: t.narrow(a, -1, -4, 2)),
    "narrow_empty": ((3, 6), lambda t, a: a.narrow(1, 6, 0)),
    "tile": ((2, 3), lambda t, a: a.tile((2, 1))),
    "tile_fewer_dims": ((2, 3, 2), lambda t, a: t.tile(a, (3,))),
    "tile_more_dims": ((3,), lambda t, a: a.tile(2, 1, 2)),
    "tile_0d": ((), lambda t, a: a.tile((2, 2))),
    "tril": ((4, 5), lambda t, a: a.tril()),
    "tril_batched": ((2, 3, 4), lambda t, a: t.tril(a, -1)),
    "tril_far": ((3, 3), lambda t, a: a.tril(diagonal=5)),
    "triu": ((5, 4), lambda t, a: a.triu(1)),
    "triu_batched": ((2, 2, 4, 3), lambda t, a: t.triu(a, diagonal=-2)),
    "meshgrid_ij": ((3,), (4,), lambda t, a, b: t.meshgrid(a, b, indexing="ij")),
    "meshgrid_xy": ((3,), (4,), lambda t, a, b: t.meshgrid(a, b, indexing="xy")),
    "meshgrid_list_xy": ((2,), (), (3,), lambda t, a, b, c: t.meshgrid([a, b, c], indexing="xy")),
    "meshgrid_one": ((3,), lambda t, a: t.meshgrid((a,), indexing="ij")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    *inputs, fn = CASES[name]
    check(fn, *inputs)
    check(fn, *inputs, dtype=np.float64, seed=1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    *inputs, fn = CASES[name]
    gradcheck_op(lambda t, *xs: t.cat([y.reshape(-1) for y in _outputs(fn(t, *xs))]), *inputs)


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def test_integer_inputs_keep_their_dtype():
    x = np.arange(12).reshape(3, 4)
    check(lambda t, a: a.tril(), x)
    check(lambda t, a: a.chunk(2, 1), x.astype(np.int32))
    check(lambda t, a: a.tile(2), x.astype(np.uint8))
    check(lambda t, a, b: t.meshgrid(a, b, indexing="xy"), np.arange(3), np.arange(2))


@FAST
@given(shape=shapes(min_dims=1, max_dims=3, max_side=7), pieces=st.integers(1, 8),
       data=st.data(), seed=seeds())
def test_split_and_chunk_random(shape, pieces, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda t, a: a.chunk(pieces, dim), shape, seed=seed)
    check(lambda t, a: t.split(a, pieces, dim), shape, seed=seed)
    size = shape[dim]
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
    sizes = np.diff([0] + cuts + [size]).tolist()
    check(lambda t, a: a.split(sizes, dim), shape, seed=seed)
    start = data.draw(st.integers(-size, size))
    length = data.draw(st.integers(0, size - start % (size + 1) if start >= 0 else -start))
    check(lambda t, a: a.narrow(dim, start, length), shape, seed=seed)


@FAST
@given(shape=shapes(min_dims=2, max_dims=4, max_side=5), diagonal=st.integers(-5, 5), seed=seeds())
def test_triangles_random(shape, diagonal, seed):
    check(lambda t, a: t.tril(a, diagonal), shape, seed=seed)
    check(lambda t, a: a.triu(diagonal), shape, seed=seed)


def test_narrow_with_a_tensor_start():
    check(lambda t, a: a.narrow(1, t.tensor(2), 2), (3, 5))


def test_pieces_are_views_of_the_input():
    x = mg.arange(6.0)
    first, second = x.split(3)
    x += 1
    assert first.tolist() == [1.0, 2.0, 3.0] and second.tolist() == [4.0, 5.0, 6.0]


def test_gradient_reaches_only_the_used_pieces():
    x = mg.tensor(np.arange(10.0), requires_grad=True)
    a, b, c = x.split([2, 3, 5])
    (b * 2).sum().backward()
    assert x.grad.tolist() == [0, 0, 2, 2, 2, 0, 0, 0, 0, 0]


ERRORS = {
    "unflatten_bad_product": (lambda t, a: a.unflatten(1, (2, 3)), (2, 4)),
    "unflatten_empty_sizes": (lambda t, a: a.unflatten(0, ()), (4,)),
    "unflatten_two_inferred": (lambda t, a: a.unflatten(0, (-1, -1)), (4,)),
    "unflatten_bad_dim": (lambda t, a: a.unflatten(2, (2, 2)), (2, 4)),
    "chunk_zero": (lambda t, a: a.chunk(0), (4,)),
    "chunk_0d": (lambda t, a: a.chunk(2), ()),
    "split_bad_sum": (lambda t, a: a.split([1, 2]), (4,)),
    "split_negative_size": (lambda t, a: a.split([5, -1]), (4,)),
    "split_zero": (lambda t, a: a.split(0), (4,)),
    "split_float": (lambda t, a: a.split(1.5), (4,)),
    "narrow_too_long": (lambda t, a: a.narrow(0, 2, 3), (4,)),
    "narrow_start_out_of_range": (lambda t, a: a.narrow(0, 5, 0), (4,)),
    "narrow_negative_length": (lambda t, a: a.narrow(0, 1, -1), (4,)),
    "narrow_0d": (lambda t, a: a.narrow(0, 0, 1), ()),
    "narrow_bad_dim": (lambda t, a: a.narrow(1, 0, 1), (4,)),
    "tile_negative": (lambda t, a: a.tile(2, -1), (2, 2)),
    "tril_1d": (lambda t, a: a.tril(), (4,)),
    "triu_0d": (lambda t, a: t.triu(a), ()),
    "meshgrid_2d": (lambda t, a: t.meshgrid(a, a, indexing="ij"), (2, 2)),
    "meshgrid_bad_indexing": (lambda t, a: t.meshgrid(a, a, indexing="ji"), (2,)),
    "meshgrid_empty": (lambda t, a: t.meshgrid([], indexing="ij"), (2,)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_like_torch(name):
    torch = pytest.importorskip("torch")
    fn, shape = ERRORS[name]
    data = np.ones(shape, dtype=np.float32)
    with pytest.raises(Exception) as expected:
        fn(torch, torch.tensor(data))
    with pytest.raises(type(expected.value)) as got:
        fn(mg, mg.tensor(data))
    assert str(got.value), "the error says what went wrong"


def test_error_messages_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 4\)"):
        mg.ones(2, 4).unflatten(1, (3, 3))
    with pytest.raises(RuntimeError, match="sum exactly to 4"):
        mg.ones(4).split([1, 2])
    with pytest.raises(RuntimeError, match=r"exceeds dimension size \(4\)"):
        mg.ones(4).narrow(0, 2, 3)
