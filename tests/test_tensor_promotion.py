"""Type promotion: result dtypes (and values) of binary ops match PyTorch's over a grid of dtypes,
0-d / n-d operands and Python scalars."""
import itertools

import numpy as np
import pytest

from helpers import dtype_name, mg, to_numpy

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]
OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a ** b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
}
ALL_OPS = sorted(OPS)


def _data(name, ndim, seed):
    rng = np.random.default_rng(seed)
    shape = () if ndim == 0 else (2, 3)
    if name == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    return np.asarray(rng.integers(1, 4, size=shape)).astype(np.dtype(name))


def _run(op, a, b):
    """(result or None when torch refuses the combination)."""
    try:
        with np.errstate(all="ignore"):
            return op(a, b)
    except Exception:  # torch refuses (e.g. bool - bool, integer division by zero)
        return None


def _assert_same(m, t, what):
    assert dtype_name(mg, m.dtype) == dtype_name(torch, t.dtype), \
        f"{what}: dtype {dtype_name(mg, m.dtype)}, torch gives {dtype_name(torch, t.dtype)}"
    mv, tv = to_numpy(m), to_numpy(t)
    assert mv.shape == tv.shape, what
    assert mv.dtype == tv.dtype, what
    np.testing.assert_allclose(mv.astype(np.float64), tv.astype(np.float64), rtol=1e-6, err_msg=what)


@pytest.mark.parametrize("op", ALL_OPS)
@pytest.mark.parametrize("da,db", list(itertools.product(DTYPES, DTYPES)))
def test_tensor_tensor_promotion(op, da, db):
    fn = OPS[op]
    for na, nb in itertools.product((0, 1), (0, 1)):
        a, b = _data(da, na, 1), _data(db, nb, 2)
        t = _run(fn, torch.tensor(a), torch.tensor(b))
        if t is None:
            continue
        with np.errstate(all="ignore"):
            m = fn(mg.tensor(a), mg.tensor(b))
        _assert_same(m, t, f"{da}{'[0-d]' if na == 0 else '[n-d]'} {op} {db}{'[0-d]' if nb == 0 else '[n-d]'}")


SCALARS = [2, 2.5, True]


@pytest.mark.parametrize("op", ALL_OPS)
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("scalar", SCALARS, ids=["int", "float", "bool"])
def test_tensor_scalar_promotion(op, da, scalar):
    fn = OPS[op]
    for na in (0, 1):
        a = _data(da, na, 3)
        for order in ("ts", "st"):
            if order == "ts":
                t = _run(fn, torch.tensor(a), scalar)
            else:
                t = _run(fn, scalar, torch.tensor(a))
            if t is None:
                continue
            with np.errstate(all="ignore"):
                m = fn(mg.tensor(a), scalar) if order == "ts" else fn(scalar, mg.tensor(a))
            _assert_same(m, t, f"{da}[{na}-d] {op} {scalar!r} ({order})")


@pytest.mark.parametrize("da,db", list(itertools.product(["float32", "float64", "int64", "int32"], repeat=2)))
def test_where_promotion(da, db):
    a, b = _data(da, 1, 4), _data(db, 1, 5)
    cond = np.array([[True, False, True], [False, True, False]])
    t = torch.where(torch.tensor(cond), torch.tensor(a), torch.tensor(b))
    m = mg.where(mg.tensor(cond), mg.tensor(a), mg.tensor(b))
    _assert_same(m, t, f"where({da}, {db})")


@pytest.mark.parametrize("da", ["float32", "float64", "int64", "int32", "uint8", "bool"])
def test_reduction_dtypes(da):
    a = _data(da, 1, 6)
    for name in ("sum", "prod"):
        t = getattr(torch.tensor(a), name)()
        m = getattr(mg.tensor(a), name)()
        _assert_same(m, t, f"{name}({da})")
        t = getattr(torch.tensor(a), name)(dim=1)
        m = getattr(mg.tensor(a), name)(dim=1)
        _assert_same(m, t, f"{name}({da}, dim=1)")
    for name in ("max", "min"):
        if da == "bool":
            continue
        _assert_same(getattr(mg.tensor(a), name)(), getattr(torch.tensor(a), name)(), f"{name}({da})")


def test_documented_examples():
    x = mg.ones(3)
    assert (x + 2.5).dtype == mg.float32
    assert (x * 2).dtype == mg.float32
    i = mg.tensor([1, 2, 3])
    assert i.dtype == mg.int64
    assert (i + 1.5).dtype == mg.float32
    assert (i + 2).dtype == mg.int64
    assert (i / 2).dtype == mg.float32
    assert (i / mg.tensor([2, 2, 2])).dtype == mg.float32
    assert (i + mg.ones(3, dtype=mg.float64)).dtype == mg.float64
    assert (i + mg.ones(3)).dtype == mg.float32
    # a 0-d tensor of the same category does not upcast a dimensioned tensor
    assert (x + mg.tensor(1.0, dtype=mg.float64)).dtype == mg.float32
    assert (mg.tensor([1, 2], dtype=mg.int32) + mg.tensor(5)).dtype == mg.int32
    # ... but one of a higher category does
    assert (i + mg.tensor(1.5, dtype=mg.float64)).dtype == mg.float64
    assert (mg.tensor([1, 2], dtype=mg.uint8) + mg.tensor(1.5)).dtype == mg.float32
    assert (x.double() + x).dtype == mg.float64


def test_requires_grad_across_promotion():
    x = mg.ones(3, requires_grad=True)
    y = x + mg.ones(3, dtype=mg.float64)
    assert y.dtype == mg.float64
    y.sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), np.ones(3))
    z = mg.ones(3, dtype=mg.float64, requires_grad=True)
    (z * mg.tensor([1, 2, 3])).sum().backward()
    assert z.grad.dtype == mg.float64
    np.testing.assert_allclose(z.grad.numpy(), [1, 2, 3])


@pytest.mark.parametrize("da", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize("scalar", [2, 2.5])
def test_where_with_scalar_promotion(da, scalar):
    a = _data(da, 1, 7)
    cond = np.array([[True, False, True], [False, True, False]])
    t = torch.where(torch.tensor(cond), torch.tensor(a), scalar)
    m = mg.where(mg.tensor(cond), mg.tensor(a), scalar)
    _assert_same(m, t, f"where({da}, {scalar!r})")
    t = torch.where(torch.tensor(cond), scalar, torch.tensor(a))
    m = mg.where(mg.tensor(cond), scalar, mg.tensor(a))
    _assert_same(m, t, f"where({scalar!r}, {da})")


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("float32", "int64"), ("float64", "float32"),
                                   ("float32", "bool"), ("int64", "int32"), ("int32", "int64"),
                                   ("float64", "int32"), ("int64", "bool")])
def test_inplace_keeps_destination_dtype(da, db):
    a, b = _data(da, 1, 8), _data(db, 1, 9)
    t = torch.tensor(a)
    t += torch.tensor(b)
    m = mg.tensor(a)
    m += mg.tensor(b)
    _assert_same(m, t, f"{da} += {db}")
    t *= torch.tensor(b)
    m *= mg.tensor(b)
    _assert_same(m, t, f"{da} *= {db}")


def test_inplace_mixed_precision_gradients():
    from helpers import check

    def fn(t, a, b):
        c = a * 1.0
        c += b  # float32 destination, float64 source requiring grad
        return c
    check(fn, np.ones((2, 3), dtype=np.float32), np.full((3,), 0.5, dtype=np.float64))
