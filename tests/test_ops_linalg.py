"""Matrix products, tensordot, kron, einsum and the norms: forward and backward against PyTorch,
float64 gradcheck, and torch's refusals."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds

INF = float("inf")

CASES = {
    "bmm": ((3, 2, 4), (3, 4, 5), lambda t, a, b: t.bmm(a, b)),
    "bmm_method": ((1, 3, 2), (1, 2, 2), lambda t, a, b: a.bmm(b)),
    "mv": ((3, 4), (4,), lambda t, a, b: t.mv(a, b)),
    "dot": ((5,), (5,), lambda t, a, b: t.dot(a, b)),
    "vdot": ((4,), (4,), lambda t, a, b: a.vdot(b)),
    "outer": ((3,), (4,), lambda t, a, b: t.outer(a, b)),
    "ger": ((2,), (5,), lambda t, a, b: a.ger(b)),
    "addmm": ((3, 5), (3, 4), (4, 5), lambda t, c, a, b: t.addmm(c, a, b)),
    "addmm_scaled": ((5,), (3, 4), (4, 5), lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=-2)),
    "addmm_0d_input": ((), (2, 3), (3, 2), lambda t, c, a, b: c.addmm(a, b, alpha=3)),
    "addmv": ((3,), (3, 4), (4,), lambda t, c, a, b: t.addmv(c, a, b)),
    "addmv_scaled": ((1,), (3, 2), (2,), lambda t, c, a, b: c.addmv(a, b, beta=2, alpha=0.25)),
    "baddbmm": ((2, 3, 5), (2, 3, 4), (2, 4, 5), lambda t, c, a, b: t.baddbmm(c, a, b)),
    "baddbmm_scaled": ((3, 1), (2, 3, 4), (2, 4, 1),
                       lambda t, c, a, b: c.baddbmm(a, b, beta=-1, alpha=1.5)),
    "tensordot_int": ((2, 3, 4), (3, 4, 5), lambda t, a, b: t.tensordot(a, b)),
    "tensordot_zero": ((2, 3), (4,), lambda t, a, b: t.tensordot(a, b, dims=0)),
    "tensordot_lists": ((2, 3, 4), (4, 2, 5), lambda t, a, b: t.tensordot(a, b, ([0, 2], [1, 0]))),
    "tensordot_broadcast": ((1, 3), (3, 4), lambda t, a, b: t.tensordot(a, b, ([0, 1], [1, 0]))),
    "tensordot_all": ((2, 3), (2, 3), lambda t, a, b: t.tensordot(a, b, 2)),
    "kron": ((2, 3), (4, 2), lambda t, a, b: t.kron(a, b)),
    "kron_mixed_ndim": ((2,), (3, 2, 2), lambda t, a, b: a.kron(b)),
    "kron_0d": ((), (3,), lambda t, a, b: t.kron(a, b)),
}

EINSUM = {
    "ij,jk->ik": [(3, 4), (4, 5)],
    "ij,jk": [(3, 4), (4, 5)],
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 2)],
    "ii->i": [(4, 4)],
    "ii": [(3, 3)],
    "iij->j": [(3, 3, 2)],
    "ij->": [(3, 4)],
    "ij->ji": [(3, 4)],
    "i,j->ij": [(3,), (4,)],
    "ij,j->i": [(3, 1), (4,)],
    "...ij,...jk->...ik": [(2, 1, 3, 4), (5, 4, 2)],
    "i...->...": [(3, 2, 2)],
    "bn,anm,bm->ba": [(2, 3), (4, 3, 5), (2, 5)],
    "ij,ij,ij->": [(2, 3), (2, 3), (2, 3)],
    "ba , ac -> cb": [(2, 3), (3, 4)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    *inputs, fn = CASES[name]
    check(fn, *inputs)
    check(fn, *inputs, dtype=np.float64, seed=1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    *inputs, fn = CASES[name]
    gradcheck_op(fn, *inputs)


@pytest.mark.parametrize("equation", sorted(EINSUM))
def test_einsum(equation):
    shapes = EINSUM[equation]
    check(lambda t, *xs: t.einsum(equation, *xs), *shapes)
    check(lambda t, *xs: t.einsum(equation, list(xs)), *shapes, dtype=np.float64, seed=1)
    gradcheck_op(lambda t, *xs: t.einsum(equation, *xs), *shapes)


def test_einsum_sublist_form():
    check(lambda t, a, b: t.einsum(a, [0, 1], b, [1, 2], [0, 2]), (3, 4), (4, 2))
    check(lambda t, a: t.einsum(a, [Ellipsis, 0, 0], [Ellipsis, 0]), (2, 3, 3))


@pytest.mark.parametrize("product", [lambda t, x, y: t.einsum("ij,jk", x, y),
                                     lambda t, x, y: t.addmv(y[0], x, y[:, 0])])
def test_input_modified_in_place_after_the_product_is_refused(product):
    x = mg.ones(3, 3, requires_grad=True)
    y = x * 2
    out = product(mg, x, y)
    y += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()


def test_addmm_with_beta_zero_ignores_nan_in_input():
    nan = np.full((2, 2), np.nan, dtype=np.float32)
    out, _ = check(lambda t, c, a, b: t.addmm(c, a, b, beta=0), nan, (2, 3), (3, 2))
    assert not np.isnan(out.detach().numpy()).any()


def test_integer_products_keep_their_dtype():
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    check(lambda t, a, b: t.addmm(t.ones(2, 4, dtype=t.int64), a, b, beta=2), a, b)
    check(lambda t, a, b: t.einsum("ij,jk->ik", a, b), a, b)
    check(lambda t, a, b: t.outer(a, b), np.arange(3), np.arange(2.0, dtype=np.float32))
    check(lambda t, a, b: t.kron(a, b), a, np.arange(3, dtype=np.float32))


@FAST
@given(m=st.integers(1, 5), k=st.integers(0, 5), n=st.integers(1, 5), batch=st.integers(1, 3),
       beta=st.sampled_from([0, 1, 0.5]), alpha=st.sampled_from([1, -2, 0.3]), seed=seeds())
def test_products_random(m, k, n, batch, beta, alpha, seed):
    check(lambda t, c, a, b: t.addmm(c, a, b, beta=beta, alpha=alpha), (m, n), (m, k), (k, n),
          seed=seed)
    check(lambda t, c, a, b: t.baddbmm(c, a, b, beta=beta, alpha=alpha), (1, n), (batch, m, k),
          (batch, k, n), seed=seed)
    check(lambda t, c, a, b: t.addmv(c, a, b, beta=beta, alpha=alpha), (m,), (m, k), (k,), seed=seed)


# ----- norms -------------------------------------------------------------------------------------
VECTOR_ORDS = [2, 1, 0, INF, -INF, 3, 1.5, 0.5, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm(ord):
    check(lambda t, a: t.linalg.vector_norm(a, ord), (3, 4))
    check(lambda t, a: t.linalg.vector_norm(a, ord, dim=1, keepdim=True), (3, 4), seed=1)
    check(lambda t, a: t.linalg.vector_norm(a, ord=ord, dim=(0, 2)), (2, 3, 2), dtype=np.float64)
    if ord != 0:
        gradcheck_op(lambda t, a: t.linalg.vector_norm(a, ord, dim=-1), (3, 4), nonzero=True)


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_subgradients_at_zero(ord):
    zeros = np.zeros((2, 3), dtype=np.float32)
    zeros[1, 1] = 2.0
    check(lambda t, a: t.linalg.vector_norm(a, ord, dim=1), zeros)


def test_vector_norm_ties_share_the_gradient():
    check(lambda t, a: t.linalg.vector_norm(a, INF), np.array([1.0, -3.0, 3.0, 2.0]))
    check(lambda t, a: t.linalg.vector_norm(a, -INF), np.array([1.0, -1.0, 3.0]))


def test_vector_norm_dtype():
    check(lambda t, a: t.linalg.vector_norm(a, dtype=t.float64), (3, 2))
    check(lambda t, a: t.linalg.vector_norm(a, 3, dim=()), (2, 3))
    check(lambda t, a: t.linalg.vector_norm(a, 1, dim=0, keepdim=True), ())


MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, INF, -INF]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norm(ord):
    check(lambda t, a: t.linalg.matrix_norm(a, ord), (3, 4))
    check(lambda t, a: t.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), (3, 2, 4), seed=1)
    check(lambda t, a: t.linalg.matrix_norm(a, ord=ord, dim=(-1, 0)), (4, 2, 3), dtype=np.float64)
    gradcheck_op(lambda t, a: t.linalg.matrix_norm(a, ord), (2, 3, 4))


def test_matrix_norm_tied_singular_values_share_the_gradient():
    eye = np.eye(4, dtype=np.float32)
    check(lambda t, a: t.linalg.matrix_norm(a, 2), eye)
    check(lambda t, a: t.linalg.matrix_norm(a, -2), 3 * eye)
    check(lambda t, a: t.linalg.matrix_norm(a, "nuc"), np.zeros((2, 3, 0), dtype=np.float32))


LINALG_NORMS = {
    "flattened": ((2, 3, 4), lambda t, a: t.linalg.norm(a)),
    "vector_ord": ((5,), lambda t, a: t.linalg.norm(a, 3)),
    "matrix_ord": ((3, 4), lambda t, a: t.linalg.norm(a, -INF)),
    "matrix_nuc_dims": ((3, 2, 4), lambda t, a: t.linalg.norm(a, "nuc", dim=(2, 0))),
    "vector_dim": ((3, 4), lambda t, a: t.linalg.norm(a, 0.5, dim=1, keepdim=True)),
    "fro_default_dims": ((2, 3, 4), lambda t, a: t.linalg.norm(a, dim=(0, 1))),
}


@pytest.mark.parametrize("name", sorted(LINALG_NORMS))
def test_linalg_norm(name):
    shape, fn = LINALG_NORMS[name]
    check(fn, shape)
    gradcheck_op(fn, shape, nonzero=True)


NORMS = {
    "default": lambda t, a: t.norm(a),
    "fro_dims": lambda t, a: a.norm("fro", dim=(0, 1)),
    "fro_dim_keepdim": lambda t, a: t.norm(a, p="fro", dim=1, keepdim=True),
    "number": lambda t, a: a.norm(3),
    "number_dims": lambda t, a: t.norm(a, 1, dim=(1, 2)),
    "inf": lambda t, a: t.norm(a, INF, dim=-1),
    "minus_inf": lambda t, a: a.norm(p=-INF),
    "zero": lambda t, a: t.norm(a, 0, 0),
    "nuc": lambda t, a: t.norm(a[0], "nuc"),
    "nuc_dims": lambda t, a: t.norm(a, "nuc", dim=(0, 2), keepdim=True),
    "dtype": lambda t, a: t.norm(a, 2, dtype=t.float64),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm(name):
    check(NORMS[name], (2, 3, 4))
    if name != "dtype":
        gradcheck_op(NORMS[name], (2, 3, 4), nonzero=True)


# ----- refusals ----------------------------------------------------------------------------------
ERRORS = {
    "bmm_2d": (lambda t, a, b: t.bmm(a, b), (2, 3), (3, 2)),
    "bmm_batch": (lambda t, a, b: t.bmm(a, b), (2, 2, 3), (3, 3, 2)),
    "bmm_inner": (lambda t, a, b: t.bmm(a, b), (2, 2, 3), (2, 2, 2)),
    "mv_size": (lambda t, a, b: t.mv(a, b), (2, 3), (2,)),
    "mv_matrix": (lambda t, a, b: t.mv(a, b), (2, 3), (3, 1)),
    "dot_size": (lambda t, a, b: t.dot(a, b), (2,), (3,)),
    "dot_2d": (lambda t, a, b: t.dot(a, b), (2, 1), (2, 1)),
    "outer_2d": (lambda t, a, b: t.outer(a, b), (2, 1), (2,)),
    "addmm_shape": (lambda t, a, b: t.addmm(a, a, b), (2, 3), (2, 3)),
    "addmm_input": (lambda t, a, b: t.addmm(a, b, b.t()), (3,), (2, 3)),
    "addmv_shape": (lambda t, a, b: t.addmv(b, a, b), (2, 3), (2,)),
    "baddbmm_batch": (lambda t, a, b: t.baddbmm(b, a, b), (2, 3, 3), (3, 3, 3)),
    "tensordot_size": (lambda t, a, b: t.tensordot(a, b, ([0], [0])), (2, 3), (3, 2)),
    "tensordot_negative": (lambda t, a, b: t.tensordot(a, b, -1), (2, 3), (3, 2)),
    "tensordot_lengths": (lambda t, a, b: t.tensordot(a, b, ([0, 1], [0])), (2, 3), (2, 3)),
    "einsum_operand_count": (lambda t, a, b: t.einsum("ij->i", a, b), (2, 3), (2, 3)),
    "einsum_dims": (lambda t, a, b: t.einsum("ijk,jk->i", a, b), (2, 3), (2, 3)),
    "einsum_sizes": (lambda t, a, b: t.einsum("ij,ij->i", a, b), (2, 3), (2, 4)),
    "einsum_output": (lambda t, a, b: t.einsum("ij,jk->iz", a, b), (2, 3), (3, 2)),
    "vector_norm_empty_inf": (lambda t, a, b: t.linalg.vector_norm(a[:0], INF), (2,), (1,)),
    "vector_norm_narrowing": (lambda t, a, b: t.linalg.vector_norm(a.double(), dtype=t.float32),
                              (2,), (1,)),
    "vector_norm_integer": (lambda t, a, b: t.linalg.vector_norm(a.long()), (2,), (1,)),
    "matrix_norm_1d": (lambda t, a, b: t.linalg.matrix_norm(a), (3,), (1,)),
    "matrix_norm_order": (lambda t, a, b: t.linalg.matrix_norm(a, 3), (3, 3), (1,)),
    "matrix_norm_same_dims": (lambda t, a, b: t.linalg.matrix_norm(a, dim=(0, 0)), (3, 3), (1,)),
    "linalg_norm_3d_with_ord": (lambda t, a, b: t.linalg.norm(a, 2), (2, 2, 2), (1,)),
    "linalg_norm_three_dims": (lambda t, a, b: t.linalg.norm(a, dim=(0, 1, 2)), (2, 2, 2), (1,)),
    "linalg_norm_matrix_ord_one_dim": (lambda t, a, b: t.linalg.norm(a, "fro", dim=0), (2, 2), (1,)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_like_torch(name):
    torch = pytest.importorskip("torch")
    fn, *shapes = ERRORS[name]
    arrays = [np.ones(s, dtype=np.float32) for s in shapes]
    with pytest.raises(Exception) as expected:
        fn(torch, *(torch.tensor(a) for a in arrays))
    with pytest.raises(type(expected.value)) as got:
        fn(mg, *(mg.tensor(a) for a in arrays))
    assert str(got.value), "the error says what went wrong"


def test_error_messages_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"2x3 and 2x3"):
        mg.addmm(mg.ones(2, 3), mg.ones(2, 3), mg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"\(2, 2, 3\) and \(3, 3, 2\)"):
        mg.bmm(mg.ones(2, 2, 3), mg.ones(3, 3, 2))
    with pytest.raises(RuntimeError, match=r"size 4 in operand 1 \(shape \(2, 4\)\)"):
        mg.einsum("ij,ij->i", mg.ones(2, 3), mg.ones(2, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        mg.dot(mg.ones(2), mg.ones(2, dtype=mg.float64))
