"""__getitem__ and differentiable __setitem__ against PyTorch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, check, gradcheck_op, mg, seeds

GETITEM = {
    "int": lambda t, a: a[1],
    "neg_int": lambda t, a: a[-1],
    "int_int": lambda t, a: a[1, 2],
    "neg_int_int": lambda t, a: a[-2, -1],
    "int_int_int": lambda t, a: a[0, 1, 2],
    "slice": lambda t, a: a[1:3],
    "slice_step": lambda t, a: a[::2],
    "slice_neg_step_start": lambda t, a: a[-3::2, 1:],
    "slice_2d": lambda t, a: a[:, 1:4:2],
    "slice_open": lambda t, a: a[:2, :, -2:],
    "none": lambda t, a: a[None],
    "none_mid": lambda t, a: a[:, None, 1],
    "ellipsis": lambda t, a: a[..., 1],
    "ellipsis_mid": lambda t, a: a[0, ..., 1:3],
    "ellipsis_none": lambda t, a: a[None, ..., ::2],
    "int_tensor": lambda t, a: a[t.tensor([0, 2, 1])],
    "int_tensor_repeated": lambda t, a: a[t.tensor([0, 2, 0, 0])],
    "int_tensor_neg": lambda t, a: a[t.tensor([-1, 0])],
    "int_tensor_2d": lambda t, a: a[t.tensor([[0, 1], [2, 0]])],
    "int_tensor_dim1": lambda t, a: a[:, t.tensor([3, 3, 1])],
    "int_tensor_pair": lambda t, a: a[t.tensor([0, 2, 0]), t.tensor([1, 1, 1])],
    "int_tensor_and_slice": lambda t, a: a[t.tensor([1, 1]), 1:3],
    "list": lambda t, a: a[[0, 2, 2]],
    "list_pair": lambda t, a: a[[0, 1], [3, 3]],
    "bool_mask": lambda t, a: a[a > 0],
    "bool_mask_rows": lambda t, a: a[t.tensor([True, False, True, True])],
    "bool_mask_dim1": lambda t, a: a[:, t.tensor([True, False, True, False, True])],
    "mixed": lambda t, a: a[1:, None, t.tensor([0, 4, 4])],
    "np_int_array": lambda t, a: a[np.array([3, 0, 3])],
    "np_bool_array": lambda t, a: a[np.array([False, True, True, False])],
    "int_tensor_last_dim": lambda t, a: a[..., t.tensor([2, 0])],
}


@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem(name):
    fn = GETITEM[name]
    check(fn, (4, 5, 3))
    check(fn, (4, 5, 3), dtype=np.float64)
    check(fn, (4, 5, 3), dtype=np.int64, grad=False)
    gradcheck_op(fn, (4, 5, 3))


@FAST
@given(data=st.data(), seed=seeds())
def test_getitem_random_basic_index(data, seed):
    shape = (4, 5, 3)
    idx = []
    for n in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "none_slice", "full"]))
        if kind == "int":
            idx.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = data.draw(st.one_of(st.none(), st.integers(-n, n)))
            stop = data.draw(st.one_of(st.none(), st.integers(-n, n)))
            step = data.draw(st.one_of(st.none(), st.integers(1, 3)))
            idx.append(slice(start, stop, step))
        elif kind == "none_slice":
            idx.extend([None, slice(None)])
        else:
            idx.append(slice(None))
    idx = tuple(idx)
    check(lambda t, a: a[idx], shape, seed=seed)


@FAST
@given(idx=st.lists(st.integers(-4, 3), min_size=1, max_size=8), seed=seeds())
def test_getitem_random_int_tensor_accumulates(idx, seed):
    check(lambda t, a: a[t.tensor(idx)], (4, 3), seed=seed)
    check(lambda t, a: a[:, t.tensor([i % 3 for i in idx])], (4, 3), seed=seed)


def test_repeated_index_gradient_value():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[mg.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_getitem_0d_result_item():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x[1, 0].shape == ()
    assert x[1, 0].item() == 3.0
    assert x[-1][-1].item() == 4.0


def test_getitem_int_tensor_0d_index():
    check(lambda t, a: a[t.tensor(2)], (4, 3))


# ------------------------------------------------------------------------------------------------
# __setitem__
# ------------------------------------------------------------------------------------------------

def _set(index_fn, value_kind):
    """fn(t, a, v): b = a * 1 (non-leaf); b[index] = value; return b * 2 (+ v used elsewhere)."""
    def fn(t, a, v):
        b = a * 1.0
        idx = index_fn(t)
        if value_kind == "scalar":
            b[idx] = 7.5
        else:
            b[idx] = v
        return b * 2.0
    return fn


SETITEM = {
    # name: (index_fn, value shape or "scalar")
    "int_scalar": (lambda t: 1, "scalar"),
    "int_row": (lambda t: 1, (5,)),
    "int_row_broadcast": (lambda t: 1, (1,)),
    "int_int": (lambda t: (2, 3), ()),
    "slice_scalar": (lambda t: (slice(None), slice(1, 3)), "scalar"),
    "slice_block": (lambda t: (slice(1, 3), slice(0, 4, 2)), (2, 2)),
    "slice_broadcast": (lambda t: (slice(None), slice(1, 4)), (3,)),
    "column_broadcast": (lambda t: (slice(None), 0), ()),
    "ellipsis": (lambda t: (Ellipsis, 2), (4,)),
    "int_tensor": (lambda t: t.tensor([0, 3]), (2, 5)),
    "int_tensor_scalar": (lambda t: t.tensor([3, 1]), "scalar"),
    "int_tensor_broadcast": (lambda t: t.tensor([0, 2]), (5,)),
    "bool_mask_scalar": (lambda t: t.tensor([True, False, True, False]), "scalar"),
    "bool_mask_rows": (lambda t: t.tensor([True, False, True, False]), (2, 5)),
    "neg_int": (lambda t: (-1, -2), ()),
    "list": (lambda t: [0, 2], (2, 5)),
    "int_tensor_pair": (lambda t: (t.tensor([0, 3, 1]), t.tensor([4, 0, 2])), (3,)),
    "bool_mask_2d": (lambda t: t.tensor([[True, False, False, True, False]] * 2 + [[False] * 5] * 2), "scalar"),
    "none_ellipsis": (lambda t: (None, Ellipsis, slice(0, 5, 2)), (3,)),
}


@pytest.mark.parametrize("name", sorted(SETITEM))
def test_setitem(name):
    index_fn, vshape = SETITEM[name]
    kind = "scalar" if vshape == "scalar" else "tensor"
    fn = _set(index_fn, kind)
    v = (1,) if kind == "scalar" else vshape
    check(fn, (4, 5), v)
    check(fn, (4, 5), v, dtype=np.float64)
    check(fn, (4, 5), v, requires_grad={0})
    check(fn, (4, 5), v, requires_grad={1})
    gradcheck_op(fn, (4, 5), v)


def test_setitem_with_bool_mask_from_comparison():
    def fn(t, a):
        b = a * 2.0
        b[a < 0] = 0.0
        return b.exp()
    check(fn, (3, 4))
    gradcheck_op(fn, (3, 4))


def test_setitem_into_zeros_makes_graph():
    # d2l style: Y = zeros(...); Y[i, j] = expression requiring grad
    def fn(t, k):
        y = t.zeros((2, 3), dtype=k.dtype)
        for i in range(2):
            for j in range(3):
                y[i, j] = (k[i:i + 1, j:j + 2] * k[0, 0]).sum()
        return y
    m, _ = check(fn, (2, 4))
    assert m.grad_fn is not None and m.requires_grad
    gradcheck_op(fn, (2, 4))


def test_setitem_overwrites_earlier_assignment_gradient():
    def fn(t, a, v, w):
        b = a * 1.0
        b[0] = v
        b[0, 1:] = w
        return b.sum(dim=0) * t.tensor([1.0, 2.0, 3.0], dtype=a.dtype)
    check(fn, (2, 3), (3,), (2,))
    gradcheck_op(fn, (2, 3), (3,), (2,))


def test_setitem_value_used_later_and_source_used_before():
    def fn(t, a, v):
        s = a.sum()
        b = a * 2.0
        b[1] = v * 3.0
        return b * s + v.sum()
    check(fn, (3, 2), (2,))
    gradcheck_op(fn, (3, 2), (2,))


def test_setitem_no_grad_values():
    x = mg.zeros(3, 4)
    x[1] = 5
    x[:, 0] = mg.tensor([1.0, 2.0, 3.0])
    x[x > 4] = -1.0
    x[mg.tensor([2])] = mg.ones(4) * 9
    np.testing.assert_array_equal(
        x.numpy(), [[1, 0, 0, 0], [2, -1, -1, -1], [9, 9, 9, 9]])
    assert x.dtype == mg.float32
    i = mg.zeros(3, dtype=mg.int64)
    i[0] = 4
    i[1:] = mg.tensor([5, 6])
    assert i.tolist() == [4, 5, 6] and i.dtype == mg.int64


def test_setitem_casts_value_to_tensor_dtype():
    y = mg.zeros((2, 2))
    y[0, 0] = mg.tensor(3)  # int64 0-d into float32
    y[1] = mg.tensor([1, 2])
    assert y.dtype == mg.float32
    assert y.tolist() == [[3.0, 0.0], [1.0, 2.0]]


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_gpu_index_bounds_check_agrees_with_numpy(shape, data):
    # CuPy wraps out-of-range integer indices around; the op layer checks them itself on the GPU
    # (ops.indexing._check_array_bounds), and must raise exactly where NumPy raises.
    from minigrad.ops.indexing import _check_array_bounds
    shape = tuple(shape)
    items = []
    for size in shape[:data.draw(st.integers(1, len(shape)))]:
        kind = data.draw(st.sampled_from(["array", "int", "slice", "none"]))
        if kind == "array":
            items.append(np.array(data.draw(st.lists(st.integers(-size - 2, size + 1), min_size=1,
                                                     max_size=3))))
        elif kind == "int":
            items.append(data.draw(st.integers(0, size - 1)))
        else:
            items.append(slice(None) if kind == "slice" else None)
    if data.draw(st.booleans()):
        items.insert(data.draw(st.integers(0, len(items))), Ellipsis)
    index = tuple(items)
    try:
        np.zeros(shape)[index]
    except IndexError:
        with pytest.raises(IndexError, match="out of bounds for dimension"):
            _check_array_bounds(index, shape)
    else:
        _check_array_bounds(index, shape)
