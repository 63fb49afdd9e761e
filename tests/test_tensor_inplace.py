"""In-place ops: gradients through += -= *= /= on non-leaves, zero_/fill_/copy_, .data updates."""
import numpy as np
import pytest

from helpers import check, gradcheck_op, mg

INPLACE = {
    "iadd": lambda c, b: c.__iadd__(b),
    "isub": lambda c, b: c.__isub__(b),
    "imul": lambda c, b: c.__imul__(b),
    "itruediv": lambda c, b: c.__itruediv__(b),
}


def _inplace_fn(name, scalar=False):
    def fn(t, a, b):
        c = a * 1.5  # non-leaf
        d = c
        if name == "iadd":
            c += 2.0 if scalar else b
        elif name == "isub":
            c -= 2.0 if scalar else b
        elif name == "imul":
            c *= 2.0 if scalar else b
        else:
            c /= 2.0 if scalar else b
        assert c is d  # in-place ops return the same object
        return c * 2.0
    return fn


@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.parametrize("bshape", [(3, 4), (4,), (), (3, 1)])
def test_inplace_tensor_operand(name, bshape):
    fn = _inplace_fn(name)
    check(fn, (3, 4), bshape, nonzero=True)
    check(fn, (3, 4), bshape, nonzero=True, dtype=np.float64)
    check(fn, (3, 4), bshape, nonzero=True, requires_grad={1})
    check(fn, (3, 4), bshape, nonzero=True, requires_grad={0})
    gradcheck_op(fn, (3, 4), bshape, nonzero=True)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_scalar_operand(name):
    fn = _inplace_fn(name, scalar=True)
    check(fn, (3, 4), (1,), nonzero=True, requires_grad={0})
    gradcheck_op(fn, (3, 4), (1,), nonzero=True)


def test_inplace_chain_with_reuse():
    def fn(t, a, b):
        c = a * b
        c += a
        c *= b + 1.0
        c -= b.sum()
        e = c.sum(dim=0)
        e /= 3.0
        return e
    check(fn, (3, 4), (4,))
    gradcheck_op(fn, (3, 4), (4,))


def test_inplace_on_tensor_not_requiring_grad_with_grad_operand():
    def fn(t, b):
        c = t.zeros(3, 4, dtype=b.dtype)
        c += b
        c *= b
        return c
    m, _ = check(fn, (3, 4))
    assert m.requires_grad and m.grad_fn is not None
    gradcheck_op(fn, (3, 4))


def test_inplace_int_tensor():
    x = mg.tensor([1, 2, 3])
    x += 1
    x *= 2
    x -= mg.tensor([1, 1, 1])
    assert x.tolist() == [3, 5, 7] and x.dtype == mg.int64
    x //= 2
    assert x.tolist() == [1, 2, 3]
    f = mg.ones(2)
    f += mg.tensor([1, 2])  # int into float is fine
    assert f.dtype == mg.float32 and f.tolist() == [2.0, 3.0]


def test_inplace_on_leaf_without_grad():
    x = mg.ones(3)
    y = x
    x += 1
    x *= 3
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [6.0, 6.0, 6.0])


def test_inplace_visible_through_views_like_torch():
    torch = pytest.importorskip("torch")

    def run(t):
        x = t.zeros(2, 3)
        row = x[0]
        row += 1.0
        x[1] += 2.0
        return x
    np.testing.assert_array_equal(run(mg).numpy(), run(torch).numpy())


def test_zero_fill_copy():
    x = mg.ones(2, 3)
    assert x.zero_() is x
    np.testing.assert_array_equal(x.numpy(), np.zeros((2, 3)))
    assert x.fill_(2.5) is x
    np.testing.assert_array_equal(x.numpy(), np.full((2, 3), 2.5))
    src = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.copy_(src) is x
    np.testing.assert_array_equal(x.numpy(), src.numpy())
    x.copy_(mg.tensor([7.0, 8.0, 9.0]))  # broadcasting source
    np.testing.assert_array_equal(x.numpy(), [[7, 8, 9], [7, 8, 9]])
    i = mg.zeros(3, dtype=mg.int64)
    i.fill_(4)
    assert i.tolist() == [4, 4, 4] and i.dtype == mg.int64
    i.copy_(mg.tensor([1.9, 2.1, 3.0]))
    assert i.tolist() == [1, 2, 3] and i.dtype == mg.int64


def test_copy_is_differentiable_like_torch():
    def fn(t, a, b):
        c = a * 2.0
        c.copy_(b)
        return c * a

    check(fn, (3, 4), (4,))
    gradcheck_op(fn, (3, 4), (4,))


def test_zero_and_fill_on_non_leaf_gradient():
    def fn(t, a):
        c = a * 3.0
        c.zero_()
        e = a.exp()
        f = e * 1.0
        f.fill_(2.0)
        g = a * a
        return c + f + g
    check(fn, (3, 4))
    gradcheck_op(fn, (3, 4))


def test_grad_zero_():
    x = mg.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3, 3])


def test_data_update_is_not_recorded():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    lr = 0.1
    w.data -= lr * w.grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6, 2.4], rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    w.grad.zero_()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.6, 3.2, 4.8], rtol=1e-6)
    d = w.data
    assert not d.requires_grad
    w.data = mg.tensor([5.0, 5.0, 5.0])
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 5.0, 5.0])
    assert w.requires_grad


def test_data_update_in_no_grad_block():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w ** 2).sum().backward()
    with mg.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])


def test_relu_inplace_if_exposed():
    if not hasattr(mg.Tensor, "relu_"):
        pytest.skip("Tensor.relu_ is not exposed")

    def fn(t, a):
        c = a * 2.0
        c.relu_()
        return c * a
    check(fn, (3, 4), nonzero=True)
    gradcheck_op(fn, (3, 4), nonzero=True)


@pytest.mark.parametrize("write", [lambda t: t.add_(1), lambda t: t.zero_(),
                                   lambda t: t.__setitem__((0, 0), 5.0)])
def test_writing_into_an_expanded_tensor_is_an_error(write):
    # NumPy's expand views are read-only and CuPy's would write one element many times: torch's error
    t = mg.zeros(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        write(t)
    mg.zeros(1, 3).expand(1, 3).add_(1)  # a size-1 dimension repeats nothing: allowed
