"""Python protocols (hash, bool, float, int, iteration, repr, NumPy scalars) and PyTorch's gradient
conventions at non-differentiable points (ties, kinks, boundaries), and zero-size tensors."""
import warnings

import numpy as np
import pytest

from helpers import check, gradcheck_op, mg


def test_tensors_are_hashable_by_identity():
    a, b = mg.ones(2), mg.ones(2)
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b, a}) == 2
    p = mg.zeros(3, requires_grad=True)
    assert p in {p}


def test_bool_float_int_index():
    assert bool(mg.tensor(1.0)) is True
    assert bool(mg.tensor([0])) is False
    x = mg.tensor([1.0, -2.0])
    if (x.sum() < 0):
        pass
    else:
        raise AssertionError("x.sum() < 0 should be True")
    with pytest.raises(RuntimeError):
        bool(x)
    assert float(mg.tensor(2.5)) == 2.5
    assert int(mg.tensor(3)) == 3
    assert int(mg.tensor(3.7)) == 3
    assert [10, 20, 30][mg.tensor(1)] == 20  # __index__ on an integer 0-d tensor
    assert list(range(mg.tensor(3))) == [0, 1, 2]


def test_iteration_yields_rows():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = list(x)
    assert len(rows) == 3
    assert all(isinstance(r, mg.Tensor) and r.shape == (2,) for r in rows)
    assert rows[2].tolist() == [5.0, 6.0]
    a, b = mg.tensor([7, 8])
    assert a.item() == 7 and b.item() == 8


def test_iteration_is_differentiable():
    check(lambda t, a: t.stack([r * (i + 1) for i, r in enumerate(a)]), (3, 2))


def test_repr_mentions_values():
    r = repr(mg.tensor([1.5, 2.5]))
    assert "tensor" in r and "1.5" in r and "2.5" in r
    r = repr(mg.tensor([1.0], requires_grad=True) * 2)
    assert "grad_fn" in r or "requires_grad" in r
    assert "tensor" in str(mg.tensor(3))


@pytest.mark.parametrize("shape", [(3,), (7,), (8,), (9,), (20,), (2, 9), (3, 12), (2, 2, 10)])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_repr_wraps_like_torch(shape, requires_grad):
    """Line breaks at torch's 80 columns, and a suffix that would pass them on a line of its own
    (d2l's batch-norm chapter prints its learned scales so)."""
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(len(shape) * 31 + shape[-1]).standard_normal(shape) * 3
    for data in (values.astype(np.float32), np.round(values).astype(np.float32)):
        ours = mg.tensor(data, requires_grad=requires_grad)
        assert repr(ours) == repr(torch.tensor(data, requires_grad=requires_grad))


@pytest.mark.parametrize("op", [
    lambda L, x: x + 1, lambda L, x: x * x, lambda L, x: (x - 1) / 2, lambda L, x: x.sum(),
    lambda L, x: x.mean(), lambda L, x: x.exp(), lambda L, x: x.tanh(), lambda L, x: x.sigmoid(),
    lambda L, x: L.relu(x), lambda L, x: x.reshape(-1), lambda L, x: x.flatten(),
    lambda L, x: x.permute(1, 0), lambda L, x: L.cat([x, x]), lambda L, x: L.softmax(x, 1),
    lambda L, x: L.nn.functional.conv2d(x.reshape(1, 1, 2, 3), x.reshape(1, 1, 2, 3)),
    lambda L, x: L.nn.functional.max_pool2d(x.reshape(1, 1, 2, 3), 2),
    lambda L, x: L.nn.functional.avg_pool2d(x.reshape(1, 1, 2, 3), 2),
    lambda L, x: L.nn.functional.batch_norm(x, None, None, training=True),
])
def test_grad_fn_names_are_torchs(op):
    """What a printed tensor shows after grad_fn= (d2l's chapters print such tensors)."""
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).random((2, 3)).astype(np.float32)
    ours = op(mg, mg.tensor(data, requires_grad=True))
    theirs = op(torch, torch.tensor(data, requires_grad=True))
    assert ours.grad_fn.name == theirs.grad_fn.name()
    assert repr(ours) == repr(theirs)


def test_numpy_scalars_on_the_left_give_tensors():
    x = mg.tensor([1.0, 2.0])
    for y in (np.float64(2.0) * x, np.float32(2.0) + x, np.float64(1.0) - x, np.int64(3) * x):
        assert isinstance(y, mg.Tensor), type(y)
        assert y.dtype == mg.float32
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    z = np.float64(0.5) * w
    assert isinstance(z, mg.Tensor) and z.requires_grad


def test_numpy_scalar_on_the_right_like_python_scalar():
    check(lambda t, a: a * np.float64(1.5) + np.float32(0.5), (3,))
    check(lambda t, a: a ** np.float64(2.0), (3,))


# ------------------------------------------------------------------------------------------------
# conventions at ties and kinks: PyTorch's gradients
# ------------------------------------------------------------------------------------------------

def test_full_max_min_ties_share_gradient():
    ties = np.array([[1.0, 3.0, 3.0], [3.0, -1.0, 0.0]], dtype=np.float32)
    check(lambda t, a: a.max(), ties)
    check(lambda t, a: (-a).min(), ties)


def test_max_dim_ties_gradient_to_returned_index():
    ties = np.array([[1.0, 3.0, 3.0], [3.0, 3.0, 0.0]], dtype=np.float32)
    check(lambda t, a: a.max(dim=1), ties)
    check(lambda t, a: a.min(dim=0), -ties)


def test_argmax_argmin_ties_return_first():
    x = mg.tensor([[1, 3, 3], [2, 2, 0]])
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(dim=1).tolist() == [0, 2]
    assert mg.tensor([5, 1, 5, 1]).argmax().item() == 0
    assert mg.tensor([5, 1, 5, 1]).argmin().item() == 1


def test_kinks_follow_torch():
    at = np.array([-1.0, 0.0, 0.5, 1.0, 2.0], dtype=np.float32)
    check(lambda t, a: a.relu(), at)
    check(lambda t, a: a.abs(), at)
    check(lambda t, a: a.clamp(0.0, 1.0), at)
    check(lambda t, a: a.clamp(min=0.5), at)
    check(lambda t, a: a ** 2, at)
    check(lambda t, a: a ** 0, at)
    check(lambda t, a: a ** 1, at)


def test_sqrt_log_at_zero_like_torch():
    z = np.array([0.0, 1.0], dtype=np.float32)
    with np.errstate(all="ignore"):
        check(lambda t, a: a.sqrt(), z)
        check(lambda t, a: a.log(), z)


# ------------------------------------------------------------------------------------------------
# zero-size tensors
# ------------------------------------------------------------------------------------------------

def test_zero_size_tensors():
    check(lambda t, a: a.sum(), (0, 3))
    check(lambda t, a: a.sum(dim=0), (0, 3))
    check(lambda t, a: a * 2 + 1, (0, 3))
    check(lambda t, a, b: t.cat([a, b]), (0, 3), (2, 3))
    check(lambda t, a, b: a @ b, (0, 3), (3, 2))
    check(lambda t, a: a[a > 5], (2, 3))
    assert mg.zeros(0).numel() == 0 and mg.zeros(0, 3).shape == (0, 3)
    assert mg.tensor([]).shape == (0,)


def test_gradcheck_on_mixed_expression():
    gradcheck_op(lambda t, a, b: t.stack([a.max(), b.min(), (a * b).sum()]), (3,), (3,))


def test_inf_nan_results_without_numpy_warnings():
    # PyTorch returns inf / nan silently; a learner should not see NumPy RuntimeWarnings from inside
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert (mg.tensor([1.0]) / mg.tensor([0.0])).item() == float("inf")
        assert np.isnan((mg.tensor([0.0]) / mg.tensor([0.0])).item())
        assert mg.tensor([0.0]).log().item() == float("-inf")
        assert np.isnan(mg.tensor([-1.0]).sqrt().item())
        assert mg.tensor([1000.0]).exp().item() == float("inf")


@pytest.mark.parametrize("name", ["float32", "float64", "int64", "int32", "uint8", "bool", "int16",
                                  "int8", "float16"])
def test_type_names_and_casts_as_torch(name):
    torch = pytest.importorskip("torch")
    values = np.array([0, 1, 2], dtype=np.float32)
    a, t = mg.tensor(values).to(getattr(mg, name)), torch.tensor(values).to(getattr(torch, name))
    assert a.type() == t.type()
    assert a.type(mg.float32) is a if name == "float32" else a.type(mg.float32).dtype == mg.float32
    cast = mg.zeros(3).type(t.type())  # by torch's type name
    assert cast.dtype == a.dtype and cast.tolist() == [0, 0, 0]
    assert mg.tensor(values).type(t.type()).tolist() == torch.tensor(values).type(t.type()).tolist()


def test_type_refuses_an_unknown_name():
    with pytest.raises(TypeError, match="invalid type: 'torch.FancyTensor'"):
        mg.tensor([1.0]).type("torch.FancyTensor")
