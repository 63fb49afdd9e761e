"""Misuse raises the right exception type with a message naming the problem (PyTorch's wording)."""
import importlib.util
import subprocess
import sys

import pytest

from helpers import SELFTEST, mg


def _raises(exc, fragment, fn):
    with pytest.raises(exc) as ei:
        fn()
    if SELFTEST:  # validating against torch: the situation raises; the wording is minigrad's contract
        return str(ei.value)
    assert fragment in str(ei.value), f"{fragment!r} not in {str(ei.value)!r}"
    return str(ei.value)


# ------------------------------------------------------------------------------------------------
# shapes
# ------------------------------------------------------------------------------------------------

def test_matmul_2d_mismatch():
    a, b = mg.zeros(8, 400), mg.zeros(300, 120)
    _raises(RuntimeError, "mat1 and mat2 shapes cannot be multiplied (8x400 and 300x120)", lambda: a @ b)
    _raises(RuntimeError, "mat1 and mat2 shapes cannot be multiplied (8x400 and 300x120)",
            lambda: mg.matmul(a, b))
    _raises(RuntimeError, "mat1 and mat2 shapes cannot be multiplied (8x400 and 300x120)",
            lambda: mg.mm(a, b))


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (5, 6)), ((3,), (4,)), ((3,), (4, 5)), ((2, 3), (4,)),
                                   ((2, 3, 4), (2, 5, 6))])
def test_matmul_other_mismatch(sa, sb):
    a, b = mg.zeros(*sa), mg.zeros(*sb)
    msg = _raises(RuntimeError, "cannot be multiplied", lambda: a @ b)
    if not SELFTEST:
        for s in (sa, sb):
            assert str(s) in msg or "x".join(map(str, s)) in msg or str(list(s)) in msg, msg


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "where"])
def test_broadcast_mismatch(op):
    a, b = mg.ones(2, 3), mg.ones(2, 4)
    fns = {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "pow": lambda: a ** b, "where": lambda: mg.where(a > 0, a, b),
    }
    if SELFTEST:
        pytest.skip("torch words this 'The size of tensor a (3) must match ...'")
    msg = _raises(RuntimeError, "cannot be broadcast", fns[op])
    assert "(2, 3)" in msg and "(2, 4)" in msg, msg


def test_broadcast_mismatch_with_grad():
    if SELFTEST:
        pytest.skip("torch wording differs")
    a = mg.ones(2, 3, requires_grad=True)
    msg = _raises(RuntimeError, "cannot be broadcast", lambda: a * mg.ones(3, 2))
    assert "(2, 3)" in msg and "(3, 2)" in msg


def test_view_reshape_invalid():
    x = mg.zeros(3, 4)
    _raises(RuntimeError, "shape '[2, 5]' is invalid for input of size 12", lambda: x.view(2, 5))
    _raises(RuntimeError, "shape '[2, 5]' is invalid for input of size 12", lambda: x.reshape(2, 5))
    _raises(RuntimeError, "shape '[2, 5]' is invalid for input of size 12", lambda: x.reshape((2, 5)))
    _raises(RuntimeError, "is invalid for input of size 12", lambda: x.view(5, -1))


def test_cat_mismatch():
    a, b = mg.zeros(2, 3), mg.zeros(3, 4)
    _raises(RuntimeError, "Sizes of tensors must match except in dimension 1", lambda: mg.cat([a, b], dim=1))
    _raises(RuntimeError, "Sizes of tensors must match except in dimension 0",
            lambda: mg.cat([mg.zeros(2, 3), mg.zeros(2, 4)]))


def test_inplace_shape_mismatch():
    a = mg.zeros(3)

    def f():
        nonlocal a
        a += mg.ones(2, 3)
    _raises(RuntimeError, "doesn't match the broadcast shape", f)


def test_inplace_dtype_mismatch():
    i = mg.tensor([1, 2, 3])

    def f():
        nonlocal i
        i += 1.5
    _raises(RuntimeError, "can't be cast to the desired output type", f)

    def g():
        nonlocal i
        i *= mg.tensor([0.5, 0.5, 0.5])
    _raises(RuntimeError, "can't be cast to the desired output type", g)


# ------------------------------------------------------------------------------------------------
# indexing and dims
# ------------------------------------------------------------------------------------------------

def test_index_out_of_bounds():
    x = mg.zeros(3, 4)
    _raises(IndexError, "index 5 is out of bounds for dimension 0 with size 3", lambda: x[5])
    _raises(IndexError, "index 5 is out of bounds for dimension 0 with size 3", lambda: mg.zeros(3)[5])
    _raises(IndexError, "out of bounds for dimension 1 with size 4", lambda: x[0, 7])


def test_dimension_out_of_range():
    x = mg.zeros(3, 4)
    frag = "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    _raises(IndexError, frag, lambda: x.sum(dim=2))
    _raises(IndexError, frag, lambda: x.mean(2))
    _raises(IndexError, frag, lambda: x.max(dim=2))
    _raises(IndexError, frag, lambda: x.softmax(dim=2))
    _raises(IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got -3)",
            lambda: x.sum(dim=-3))
    _raises(IndexError, "Dimension out of range", lambda: x.transpose(0, 2))


def test_item_on_many_elements():
    _raises(RuntimeError, "a Tensor with 6 elements cannot be converted to Scalar", lambda: mg.zeros(2, 3).item())


# ------------------------------------------------------------------------------------------------
# autograd misuse
# ------------------------------------------------------------------------------------------------

def test_backward_non_scalar():
    x = mg.ones(3, requires_grad=True)
    _raises(RuntimeError, "grad can be implicitly created only for scalar outputs", lambda: (x * 2).backward())


def test_backward_twice():
    x = mg.ones(3, requires_grad=True)
    y = mg.ones(3, requires_grad=True)
    z = (x * y).sum()
    z.backward()
    _raises(RuntimeError, "Trying to backward through the graph a second time", z.backward)
    w = x.exp().sum()
    w.backward()
    _raises(RuntimeError, "Trying to backward through the graph a second time", w.backward)


def test_backward_twice_after_retain_then_not():
    x = mg.ones(3, requires_grad=True)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    _raises(RuntimeError, "Trying to backward through the graph a second time", z.backward)


def test_saved_tensor_modified_inplace():
    x = mg.ones(3, requires_grad=True)
    y = x.exp()
    y += 1
    _raises(RuntimeError, "a tensor saved for backward was modified in place", lambda: y.sum().backward())

    a = mg.ones(3, requires_grad=True)
    h = a * 2.0
    k = mg.ones(3, requires_grad=True)
    p = h * k  # mul saved h
    h += 1
    _raises(RuntimeError, "a tensor saved for backward was modified in place", lambda: p.sum().backward())

    c = mg.ones(3, requires_grad=True)
    g = c * 1.0
    q = (g * c).sum()
    g[0] = 5.0
    _raises(RuntimeError, "a tensor saved for backward was modified in place", q.backward)


def test_saved_input_not_requiring_grad_modified_inplace():
    w = mg.ones(3, requires_grad=True)
    d = mg.ones(3)
    out = (w * d).sum()  # mul saved d for w's gradient
    d.mul_(2) if hasattr(d, "mul_") else d.__imul__(2)
    _raises(RuntimeError, "a tensor saved for backward was modified in place", out.backward)


def test_leaf_inplace():
    frag = "a leaf Variable that requires grad is being used in an in-place operation"
    x = mg.ones(3, requires_grad=True)

    def iadd():
        nonlocal x
        x += 1
    _raises(RuntimeError, frag, iadd)

    def setitem():
        x[0] = 1.0
    _raises(RuntimeError, frag, setitem)
    _raises(RuntimeError, frag, lambda: x.zero_())
    _raises(RuntimeError, frag, lambda: x.fill_(2.0))
    _raises(RuntimeError, frag, lambda: x.copy_(mg.zeros(3)))


def test_int_requires_grad():
    frag = "Only Tensors of floating point dtype can require gradients"
    _raises(RuntimeError, frag, lambda: mg.tensor([1, 2], requires_grad=True))
    _raises(RuntimeError, frag, lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True))
    _raises(RuntimeError, frag, lambda: mg.tensor([1, 2]).requires_grad_())
    _raises(RuntimeError, frag, lambda: mg.arange(3, requires_grad=True))


def test_backward_gradient_shape_mismatch():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).backward(mg.ones(2))


def test_backward_without_grad():
    frag = "does not require grad and does not have a grad_fn"
    x = mg.ones(3)
    _raises(RuntimeError, frag, lambda: x.sum().backward())
    with mg.no_grad():
        y = (mg.ones(3, requires_grad=True) * 2).sum()
    _raises(RuntimeError, frag, y.backward)


def test_numpy_on_requires_grad():
    x = mg.ones(3, requires_grad=True)
    _raises(RuntimeError, "Use tensor.detach().numpy() instead", x.numpy)
    _raises(RuntimeError, "Use tensor.detach().numpy() instead", (x * 2).numpy)


# ------------------------------------------------------------------------------------------------
# device
# ------------------------------------------------------------------------------------------------

def _gpu_stack_present():
    return importlib.util.find_spec("cupy") is not None


def test_cuda_not_available_without_cupy():
    if SELFTEST:
        pytest.skip("minigrad-specific")
    if _gpu_stack_present():
        pytest.skip("CuPy is installed here")
    assert mg.cuda.is_available() is False
    with pytest.raises(RuntimeError) as ei:
        mg.set_device("cuda")
    assert "CuPy" in str(ei.value) or "GPU" in str(ei.value), str(ei.value)
    assert str(mg.get_device()) == "cpu"
    assert mg.ones(2).device == "cpu"
    with pytest.raises(RuntimeError) as ei:
        mg.ones(2).to("cuda")
    assert "CuPy" in str(ei.value) or "GPU" in str(ei.value) or "cuda" in str(ei.value).lower()


def test_set_device_cpu_roundtrip():
    if SELFTEST:
        pytest.skip("minigrad-specific")
    mg.set_device("cpu")
    assert str(mg.get_device()) == "cpu"
    assert str(mg.zeros(1).device) == "cpu"


def test_demo_without_a_gpu_says_what_is_missing_in_one_line():
    from pathlib import Path
    if mg.cuda.is_available():
        pytest.skip("a GPU is usable here")
    demo = Path(__file__).resolve().parent.parent / "demos" / "mnist_lenet.py"
    result = subprocess.run([sys.executable, str(demo), "--device", "cuda"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert 'set_device("cuda")' in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("given", ["running_mean", "running_var"])
def test_batch_norm_with_one_running_statistic_is_refused(given):
    """The kernels update both statistics or neither, as torch's; the old value stays put."""
    statistic = mg.zeros(3)
    kwargs = {"running_mean": None, "running_var": None, given: statistic}
    with pytest.raises(ValueError, match="running_mean and running_var must either both be None"):
        mg.nn.functional.batch_norm(mg.randn(4, 3), training=True, **kwargs)
    assert statistic.tolist() == [0.0, 0.0, 0.0]
