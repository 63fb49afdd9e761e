"""Creation functions, dtype inference, random reproducibility, conversions and properties."""
import numpy as np
import pytest

from helpers import SELFTEST, check, dtype_name, mg, to_numpy


def _torch():
    return pytest.importorskip("torch")


def _same(m, t):
    torch = _torch()
    assert dtype_name(mg, m.dtype) == dtype_name(torch, t.dtype), (m.dtype, t.dtype)
    assert tuple(m.shape) == tuple(t.shape)
    np.testing.assert_allclose(to_numpy(m), to_numpy(t), rtol=1e-6, atol=1e-7)


CREATION = {
    "zeros": lambda t: t.zeros(2, 3),
    "zeros_tuple": lambda t: t.zeros((2, 3)),
    "zeros_list": lambda t: t.zeros([4]),
    "zeros_0d": lambda t: t.zeros(()),
    "zeros_dtype": lambda t: t.zeros(2, dtype=t.int64),
    "ones": lambda t: t.ones(3),
    "ones_tuple": lambda t: t.ones((2, 1, 3), dtype=t.float64),
    "ones_bool": lambda t: t.ones(2, 2, dtype=t.bool),
    "full_float": lambda t: t.full((2, 3), 1.5),
    "full_int": lambda t: t.full((2,), 7),
    "full_bool": lambda t: t.full((2,), True),
    "full_dtype": lambda t: t.full((3,), 2, dtype=t.float32),
    "eye": lambda t: t.eye(3),
    "eye_rect": lambda t: t.eye(2, 4),
    "eye_dtype": lambda t: t.eye(3, dtype=t.int64),
    "arange_int": lambda t: t.arange(5),
    "arange_start_stop": lambda t: t.arange(2, 9),
    "arange_step": lambda t: t.arange(1, 10, 3),
    "arange_neg_step": lambda t: t.arange(5, -3, -2),
    "arange_float": lambda t: t.arange(0, 1, 0.25),
    "arange_float_stop": lambda t: t.arange(5.0),
    "arange_dtype": lambda t: t.arange(1, 4, dtype=t.float32),
    "arange_dtype64": lambda t: t.arange(0, 3, 0.5, dtype=t.float64),
    "linspace": lambda t: t.linspace(0, 1, 5),
    "linspace_neg": lambda t: t.linspace(-2.5, 3, steps=7),
    "linspace_one": lambda t: t.linspace(3, 3, 1),
    "tensor_int_list": lambda t: t.tensor([1, 2]),
    "tensor_float_list": lambda t: t.tensor([1.0, 2]),
    "tensor_nested": lambda t: t.tensor([[1, 2], [3, 4]]),
    "tensor_bool": lambda t: t.tensor([True, False]),
    "tensor_scalar_float": lambda t: t.tensor(3.5),
    "tensor_scalar_int": lambda t: t.tensor(3),
    "tensor_scalar_bool": lambda t: t.tensor(True),
    "tensor_dtype": lambda t: t.tensor([1, 2], dtype=t.float32),
    "tensor_dtype64": lambda t: t.tensor([1.5], dtype=t.float64),
    "tensor_np_f64": lambda t: t.tensor(np.array([1.0, 2.0])),
    "tensor_np_f32": lambda t: t.tensor(np.array([1.0, 2.0], dtype=np.float32)),
    "tensor_np_i32": lambda t: t.tensor(np.array([1, 2], dtype=np.int32)),
    "tensor_np_u8": lambda t: t.tensor(np.array([1, 255], dtype=np.uint8)),
    "tensor_np_bool": lambda t: t.tensor(np.array([True])),
    "tensor_np_scalar": lambda t: t.tensor(np.float64(2.5)),
    "tensor_empty_list": lambda t: t.tensor([]),
    "tensor_from_tensor": lambda t: t.tensor(t.ones(2, dtype=t.float64).numpy()),
    "zeros_like": lambda t: t.zeros_like(t.ones(2, 3, dtype=t.float64)),
    "zeros_like_int": lambda t: t.zeros_like(t.tensor([1, 2])),
    "ones_like": lambda t: t.ones_like(t.zeros(4, 1)),
    "ones_like_dtype": lambda t: t.ones_like(t.zeros(4, 1), dtype=t.int32),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_matches_torch(name):
    torch = _torch()
    _same(CREATION[name](mg), CREATION[name](torch))


def test_empty():
    x = mg.empty(2, 3)
    assert x.shape == (2, 3) and x.dtype == mg.float32
    y = mg.empty((4,), dtype=mg.int64)
    assert y.shape == (4,) and y.dtype == mg.int64


def test_requires_grad_flag_in_creation():
    for x in (mg.zeros(2, requires_grad=True), mg.ones((2, 3), requires_grad=True),
              mg.tensor([1.0, 2.0], requires_grad=True), mg.randn(3, requires_grad=True),
              mg.rand(2, 2, requires_grad=True), mg.full((2,), 1.0, requires_grad=True),
              mg.arange(0.0, 3.0, requires_grad=True), mg.empty(3, requires_grad=True)):
        assert x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    assert not mg.zeros(2).requires_grad
    x = mg.zeros(3)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad


def test_shape_and_size_properties():
    x = mg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4)
    assert tuple(x.shape) == (2, 3, 4)
    assert x.size() == (2, 3, 4)
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == 3 and x.ndim == 3
    assert x.numel() == 24
    assert len(x) == 2
    h, w = mg.zeros(5, 6).shape
    assert (h, w) == (5, 6)
    assert mg.zeros(()).dim() == 0 and mg.zeros(()).numel() == 1
    assert isinstance(x.shape[0], int)


def test_device_property():
    x = mg.ones(2)
    assert str(x.device) == "cpu"
    if SELFTEST:  # torch.device does not compare equal to a str and torch has no get_device()
        return
    assert x.device == "cpu"
    assert x.to("cpu").device == "cpu"
    assert x.cpu().device == "cpu"
    assert mg.get_device() == "cpu" or str(mg.get_device()) == "cpu"


# ------------------------------------------------------------------------------------------------
# random
# ------------------------------------------------------------------------------------------------

RANDOM = {
    "rand": lambda: mg.rand(3, 4),
    "rand_tuple": lambda: mg.rand((5,)),
    "randn": lambda: mg.randn(3, 4),
    "randn_f64": lambda: mg.randn(2, 2, dtype=mg.float64),
    "randint": lambda: mg.randint(0, 10, (3, 4)),
    "randint_high_only": lambda: mg.randint(5, (7,)),
    "normal": lambda: mg.normal(2.0, 3.0, size=(3, 4)),
    "normal_tensor": lambda: mg.normal(mg.zeros(5), mg.ones(5)),
    "rand_like": lambda: mg.rand_like(mg.zeros(3, 2)),
    "randn_like": lambda: mg.randn_like(mg.zeros(3, 2, dtype=mg.float64)),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_manual_seed_reproducible(name):
    f = RANDOM[name]
    mg.manual_seed(1234)
    a = f()
    b = f()
    mg.manual_seed(1234)
    c = f()
    d = f()
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    np.testing.assert_array_equal(b.numpy(), d.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())
    mg.manual_seed(99)
    assert not np.array_equal(f().numpy(), a.numpy())


def test_manual_seed_interleaved_functions():
    mg.manual_seed(7)
    seq1 = [mg.rand(3).numpy(), mg.randn(3).numpy(), mg.randint(0, 100, (3,)).numpy()]
    mg.manual_seed(7)
    seq2 = [mg.rand(3).numpy(), mg.randn(3).numpy(), mg.randint(0, 100, (3,)).numpy()]
    for a, b in zip(seq1, seq2):
        np.testing.assert_array_equal(a, b)


def test_random_distributions():
    mg.manual_seed(0)
    u = mg.rand(20000)
    assert u.dtype == mg.float32 and u.shape == (20000,)
    un = u.numpy()
    assert un.min() >= 0.0 and un.max() < 1.0
    assert abs(un.mean() - 0.5) < 0.02
    n = mg.randn(20000).numpy()
    assert mg.randn(2).dtype == mg.float32
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03
    r = mg.randint(3, 7, (10000,))
    assert r.dtype == mg.int64
    rn = r.numpy()
    assert rn.min() == 3 and rn.max() == 6
    g = mg.normal(2.0, 3.0, size=(20000,))
    assert g.dtype == mg.float32
    assert abs(g.numpy().mean() - 2.0) < 0.1 and abs(g.numpy().std() - 3.0) < 0.1
    assert mg.rand_like(mg.zeros(2, 3, dtype=mg.float64)).dtype == mg.float64
    assert mg.randn_like(mg.zeros(2, 3)).shape == (2, 3)


# ------------------------------------------------------------------------------------------------
# from_numpy, numpy, __array__, conversions
# ------------------------------------------------------------------------------------------------

def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = mg.from_numpy(a)
    assert t.dtype == mg.float64 and t.shape == (2, 3)
    a[0, 0] = 100.0
    assert t[0, 0].item() == 100.0
    t2 = mg.from_numpy(np.array([1, 2], dtype=np.int32))
    assert t2.dtype == mg.int32


def test_numpy_and_array_protocol():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (2, 2)
    b = np.asarray(x)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.array(x, dtype=np.float64), [[1, 2], [3, 4]])
    assert mg.tensor([1, 2]).numpy().dtype == np.int64
    assert mg.tensor([True]).numpy().dtype == np.bool_
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0])


def test_item_and_tolist():
    assert mg.tensor(2.5).item() == 2.5 and isinstance(mg.tensor(2.5).item(), float)
    assert mg.tensor(3).item() == 3 and isinstance(mg.tensor(3).item(), int)
    assert mg.tensor([True]).item() is True
    assert mg.tensor([[4.0]]).item() == 4.0
    x = mg.tensor([[1, 2], [3, 4]])
    assert x.tolist() == [[1, 2], [3, 4]]
    assert all(isinstance(v, int) for row in x.tolist() for v in row)
    assert mg.tensor([0.5, 1.5]).tolist() == [0.5, 1.5]
    assert mg.tensor(1.5).tolist() == 1.5
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    assert (y * 2).sum().item() == 6.0
    assert y.tolist() == [1.0, 2.0]


CONVERSIONS = {
    "to_f64": lambda t, a: a.to(t.float64),
    "to_f32": lambda t, a: a.double().to(t.float32) * 2,
    "to_int": lambda t, a: a.to(t.int64),
    "to_kw": lambda t, a: a.to(dtype=t.float64),
    "float": lambda t, a: a.double().float(),
    "double": lambda t, a: a.double(),
    "long": lambda t, a: a.long(),
    "int": lambda t, a: a.int(),
    "type_as": lambda t, a: a.type_as(t.zeros(1, dtype=t.float64)),
    "type_as_int": lambda t, a: a.type_as(t.zeros(1, dtype=t.int32)),
    "to_bool": lambda t, a: a.to(t.bool),
    "to_u8": lambda t, a: a.abs().to(t.uint8),
}


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_conversions(name):
    check(CONVERSIONS[name], (3, 4), low=-5, high=5)
    check(CONVERSIONS[name], (3,), dtype=np.int64, low=-5, high=5)


def test_int_to_float_conversions():
    x = mg.tensor([1, 2, 3])
    assert x.float().dtype == mg.float32 and x.double().dtype == mg.float64
    assert x.float().tolist() == [1.0, 2.0, 3.0]
    f = mg.tensor([1.7, -1.7])
    assert f.long().tolist() == [1, -1]  # truncation toward zero like torch
    assert f.int().dtype == mg.int32


def test_to_same_dtype_and_device_returns_equal_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for y in (x.to(mg.float32), x.to("cpu"), x.float(), x.cpu()):
        assert y.dtype == mg.float32
        np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0])


def test_device_keyword_in_creation():
    for x in (mg.tensor([1.0], device="cpu"), mg.zeros(2, device="cpu"), mg.ones(2, device="cpu"),
              mg.randn(2, device="cpu"), mg.arange(3, device="cpu"), mg.full((2,), 1.0, device="cpu")):
        assert str(x.device) == "cpu"
