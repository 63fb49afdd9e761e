"""Shape ops and matmul: forward/backward against PyTorch, float64 gradcheck."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes

SHAPE_OPS = {
    "reshape": ((2, 3, 4), lambda t, a: a.reshape(6, 4)),
    "reshape_tuple": ((2, 3, 4), lambda t, a: a.reshape((4, -1))),
    "reshape_fn": ((2, 3, 4), lambda t, a: t.reshape(a, (3, 8))),
    "reshape_0d": ((1, 1), lambda t, a: a.reshape(())),
    "reshape_from_0d": ((), lambda t, a: a.reshape(1, 1, 1)),
    "view": ((2, 3, 4), lambda t, a: a.view(-1)),
    "view2": ((2, 3, 4), lambda t, a: a.view(2, -1)),
    "view_tuple": ((2, 3, 4), lambda t, a: a.view((6, 2, 2))),
    "flatten": ((2, 3, 4), lambda t, a: a.flatten()),
    "flatten_start": ((2, 3, 4, 5), lambda t, a: a.flatten(1)),
    "flatten_kw": ((2, 3, 4, 5), lambda t, a: a.flatten(start_dim=1, end_dim=2)),
    "flatten_neg": ((2, 3, 4, 5), lambda t, a: a.flatten(start_dim=-3, end_dim=-2)),
    "flatten_fn": ((2, 3, 4), lambda t, a: t.flatten(a, 1)),
    "squeeze": ((1, 3, 1, 4), lambda t, a: a.squeeze()),
    "squeeze_dim": ((1, 3, 1, 4), lambda t, a: a.squeeze(2)),
    "squeeze_neg": ((1, 3, 1, 4), lambda t, a: a.squeeze(dim=-2)),
    "squeeze_noop": ((1, 3, 1, 4), lambda t, a: a.squeeze(1)),
    "squeeze_fn": ((1, 3, 1), lambda t, a: t.squeeze(a)),
    "unsqueeze": ((3, 4), lambda t, a: a.unsqueeze(0)),
    "unsqueeze_mid": ((3, 4), lambda t, a: a.unsqueeze(1)),
    "unsqueeze_neg": ((3, 4), lambda t, a: a.unsqueeze(-1)),
    "unsqueeze_fn": ((3, 4), lambda t, a: t.unsqueeze(a, dim=2)),
    "transpose": ((2, 3, 4), lambda t, a: a.transpose(0, 2)),
    "transpose_neg": ((2, 3, 4), lambda t, a: a.transpose(-1, -2)),
    "transpose_fn": ((2, 3), lambda t, a: t.transpose(a, 0, 1)),
    "permute": ((2, 3, 4), lambda t, a: a.permute(2, 0, 1)),
    "permute_tuple": ((2, 3, 4), lambda t, a: a.permute((1, 2, 0))),
    "permute_neg": ((2, 3, 4), lambda t, a: a.permute(-1, 0, 1)),
    "permute_fn": ((2, 3, 4), lambda t, a: t.permute(a, (1, 0, 2))),
    "t": ((3, 4), lambda t, a: a.t()),
    "t_1d": ((3,), lambda t, a: a.t()),
    "t_fn": ((3, 4), lambda t, a: t.t(a)),
    "T": ((3, 4), lambda t, a: a.T),
    "expand": ((3, 1), lambda t, a: a.expand(3, 4)),
    "expand_neg": ((3, 1), lambda t, a: a.expand(2, -1, 5)),
    "expand_tuple": ((1, 4), lambda t, a: a.expand((3, 4))),
    "repeat": ((2, 3), lambda t, a: a.repeat(2, 3)),
    "repeat_more_dims": ((2, 3), lambda t, a: a.repeat(2, 1, 2)),
    "repeat_tuple": ((3,), lambda t, a: a.repeat((4,))),
    "contiguous": ((2, 3), lambda t, a: a.t().contiguous()),
    "view_after_contiguous": ((2, 3), lambda t, a: a.t().contiguous().view(-1)),
    "clone": ((2, 3), lambda t, a: a.clone()),
    "clone_fn": ((2, 3), lambda t, a: t.clone(a) * 2),
    "detach": ((2, 3), lambda t, a: a.detach() * a),
    "chain": ((2, 3, 4), lambda t, a: a.permute(2, 0, 1).reshape(4, 6).t().unsqueeze(0).expand(2, 6, 4)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_op(name):
    shape, fn = SHAPE_OPS[name]
    check(fn, shape)
    check(fn, shape, dtype=np.float64)
    check(fn, shape, dtype=np.int64, grad=False)
    if name != "detach":  # a.detach() * a deliberately hides part of the derivative
        gradcheck_op(fn, shape)


@FAST
@given(shape=shapes(max_dims=4), data=st.data(), seed=seeds())
def test_random_permute_reshape(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))))
    check(lambda t, a: a.permute(tuple(perm)).reshape(-1) * 2, shape, seed=seed)
    if len(shape) >= 2:
        i, j = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(0, len(shape) - 1))
        check(lambda t, a: a.transpose(i, j).flatten(), shape, seed=seed)
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda t, a: a.unsqueeze(d).squeeze(), shape, seed=seed)


def test_expand_then_reduce_gradient_accumulates():
    check(lambda t, a: (a.expand(4, 3, 5) * t.ones(4, 3, 5)).sum(dim=0), (3, 1))
    check(lambda t, a: a.repeat(2, 2) ** 2, (2, 3))


def test_t_and_T_on_0d_and_1d():
    check(lambda t, a: a.t(), ())
    check(lambda t, a: a.t(), (4,))


@pytest.mark.parametrize("n", [2, 3])
def test_stack(n):
    shapes_ = [(3, 4)] * n
    check(lambda t, *xs: t.stack(xs), *shapes_)
    check(lambda t, *xs: t.stack(list(xs), dim=1), *shapes_)
    check(lambda t, *xs: t.stack(xs, dim=-1), *shapes_)
    check(lambda t, *xs: t.stack(xs, 2), *shapes_, dtype=np.float64)
    check(lambda t, *xs: t.stack(xs), *shapes_, dtype=np.int64, grad=False)
    gradcheck_op(lambda t, *xs: t.stack(xs, dim=1), *shapes_)


def test_stack_0d():
    check(lambda t, a, b: t.stack([a, b]), (), ())


def test_cat():
    check(lambda t, a, b: t.cat([a, b]), (2, 3), (4, 3))
    check(lambda t, a, b: t.cat((a, b), dim=1), (2, 3), (2, 5))
    check(lambda t, a, b: t.cat((a, b), 1), (2, 3), (2, 5))
    check(lambda t, a, b, c: t.cat([a, b, c], dim=-1), (2, 3, 1), (2, 3, 2), (2, 3, 3))
    check(lambda t, a, b: t.cat([a, b], dim=0), (2, 3), (1, 3), dtype=np.float64)
    check(lambda t, a, b: t.cat([a, b], dim=0), (2, 3), (1, 3), dtype=np.int32, grad=False)
    check(lambda t, a, b: t.cat([a, b * 2, a]), (2,), (3,))
    gradcheck_op(lambda t, a, b: t.cat([a, b], dim=1), (2, 3), (2, 2))
    gradcheck_op(lambda t, a, b: t.cat([a, b, a], dim=0), (1, 3), (2, 3))


def test_cat_mixed_requires_grad():
    check(lambda t, a, b: t.cat([a, b], dim=0), (2, 3), (1, 3), requires_grad={0})


# ------------------------------------------------------------------------------------------------
# matmul
# ------------------------------------------------------------------------------------------------

MATMUL_CASES = [
    ((3,), (3,)),
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 3)),
    ((2, 4, 3), (3,)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((3, 4), (2, 2, 4, 1)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_CASES, ids=[f"{a}@{b}" for a, b in MATMUL_CASES])
def test_matmul(sa, sb):
    check(lambda t, a, b: a @ b, sa, sb)
    check(lambda t, a, b: t.matmul(a, b), sa, sb, dtype=np.float64)
    check(lambda t, a, b: a.matmul(b), sa, sb)
    check(lambda t, a, b: a @ b, sa, sb, dtype=np.int64, grad=False)
    gradcheck_op(lambda t, a, b: t.matmul(a, b), sa, sb)


def test_mm():
    check(lambda t, a, b: t.mm(a, b), (3, 4), (4, 2))
    check(lambda t, a, b: a.mm(b), (3, 4), (4, 2), dtype=np.float64)
    check(lambda t, a, b: a.mm(b.t()), (3, 4), (2, 4))
    gradcheck_op(lambda t, a, b: t.mm(a, b), (3, 4), (4, 2))


@FAST
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5),
       batch=st.sampled_from([(), (2,), (3, 1)]), batch2=st.sampled_from([(), (1,), (2, 1)]), seed=seeds())
def test_matmul_random(n, k, m, batch, batch2, seed):
    check(lambda t, a, b: a @ b, batch + (n, k), batch2 + (k, m), seed=seed)


def test_matmul_shared_operand_and_rmatmul_chain():
    check(lambda t, a: a @ a, (3, 3))
    check(lambda t, a, b: (a @ b).relu() @ b.t(), (2, 3), (3, 4))
    check(lambda t, a: a.t() @ a, (4, 3))


def test_matmul_larger_float32_tolerance():
    check(lambda t, a, b: a @ b, (16, 64), (64, 8), rtol=1e-4, atol=1e-4)


def test_unflatten_module_matches_torch():
    import torch
    module, reference = mg.nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3))
    assert repr(module) == repr(reference)
    check(lambda t, x: (module if t is mg else reference)(x), (4, 6, 5))
