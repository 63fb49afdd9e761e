"""Activations (nn.functional, torch, Tensor forms) and their nn modules: forward and backward
against PyTorch on random shapes and values, float64 gradcheck, in-place forms, module reprs."""
import numpy as np
import pytest
from hypothesis import given

from helpers import FAST, check, gradcheck_op, mg, seeds, shapes

ELEMENTWISE = {  # name: fn(module, x); inputs in [-4, 4] so that every branch is taken
    "gelu": lambda t, x: t.nn.functional.gelu(x),
    "gelu_tanh": lambda t, x: t.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda t, x: t.nn.functional.silu(x),
    "mish": lambda t, x: t.nn.functional.mish(x),
    "softplus": lambda t, x: t.nn.functional.softplus(x),
    "softplus_beta_threshold": lambda t, x: t.nn.functional.softplus(x, 2.0, 3.0),
    "elu": lambda t, x: t.nn.functional.elu(x),
    "elu_alpha": lambda t, x: t.nn.functional.elu(x, alpha=0.3),
    "selu": lambda t, x: t.nn.functional.selu(x),
    "selu_torch": lambda t, x: t.selu(x),
    "celu": lambda t, x: t.nn.functional.celu(x, 1.7),
    "celu_torch": lambda t, x: t.celu(x, alpha=0.5),
    "hardtanh": lambda t, x: t.nn.functional.hardtanh(x),
    "hardtanh_bounds": lambda t, x: t.nn.functional.hardtanh(x, -0.5, 2.0),
    "relu6": lambda t, x: t.nn.functional.relu6(x * 2),
    "hardswish": lambda t, x: t.nn.functional.hardswish(x),
    "hardsigmoid": lambda t, x: t.nn.functional.hardsigmoid(x),
    "logsigmoid": lambda t, x: t.nn.functional.logsigmoid(x),
    "softsign": lambda t, x: t.nn.functional.softsign(x),
    "tanhshrink": lambda t, x: t.nn.functional.tanhshrink(x),
    "softshrink": lambda t, x: t.nn.functional.softshrink(x),
    "softshrink_lambd": lambda t, x: t.nn.functional.softshrink(x, 1.5),
    "hardshrink": lambda t, x: t.nn.functional.hardshrink(x),
    "hardshrink_method": lambda t, x: x.hardshrink(lambd=1.0),
    "threshold": lambda t, x: t.nn.functional.threshold(x, 0.5, -3.0),
    "threshold_torch": lambda t, x: t.threshold(x, -1.0, 2.0),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FAST
@given(shape=shapes(), seed=seeds())
def test_elementwise_against_torch(name, shape, seed):
    check(ELEMENTWISE[name], shape, seed=seed, low=-4.0, high=4.0)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_float64_and_gradcheck(name):
    check(ELEMENTWISE[name], (5, 6), dtype=np.float64, low=-4.0, high=4.0)
    gradcheck_op(ELEMENTWISE[name], (3, 4), low=-4.0, high=4.0)


def test_extreme_values_stay_finite():
    x = np.array([-100.0, -30.0, -1e-3, 0.0, 25.0, 100.0], np.float32)
    for name in ("silu", "mish", "softplus", "logsigmoid", "elu", "selu", "gelu", "gelu_tanh"):
        check(ELEMENTWISE[name], x)


INPLACE = ("silu", "mish", "elu", "selu", "celu", "hardtanh", "relu6", "hardswish", "hardsigmoid")


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_matches_torch(name):
    def fn(t, x):
        y = x * 1  # a non-leaf, which may be modified in place
        out = getattr(t.nn.functional, name)(y, inplace=True)
        assert out is y
        return y
    check(fn, (3, 4), low=-4.0, high=4.0)


def test_underscore_forms():
    check(lambda t, x: t.nn.functional.elu_(x * 1, 0.5), (3, 4))
    check(lambda t, x: t.nn.functional.hardtanh_(x * 1, -0.5, 0.5), (3, 4))
    check(lambda t, x: t.selu_(x * 1), (3, 4))
    check(lambda t, x: t.celu_(x * 1, 2.0), (3, 4))
    check(lambda t, x: t.threshold_(x * 1, 0.1, 9.0), (3, 4))


def test_integer_threshold_keeps_dtype():
    check(lambda t, x: t.nn.functional.threshold(x, 1, -5), np.array([-2, 0, 1, 3]), grad=False)


PRELU = {  # name: (fn, input shape, weight shape)
    "one_weight": (lambda t, x, w: t.nn.functional.prelu(x, w), (2, 3, 4), (1,)),
    "per_channel": (lambda t, x, w: t.prelu(x, w), (2, 3, 4, 2), (3,)),
    "per_channel_2d": (lambda t, x, w: x.prelu(w), (5, 3), (3,)),
    "vector_input": (lambda t, x, w: t.nn.functional.prelu(x, w), (6,), (1,)),
}


@pytest.mark.parametrize("name", sorted(PRELU))
def test_prelu(name):
    fn, x_shape, w_shape = PRELU[name]
    check(fn, x_shape, w_shape)
    check(fn, x_shape, w_shape, dtype=np.float64, seed=1)
    gradcheck_op(fn, x_shape, w_shape)


def test_prelu_errors():
    with pytest.raises(RuntimeError, match=r"2 weights.*\(2, 3\)"):
        mg.nn.functional.prelu(mg.ones(2, 3), mg.ones(2))
    with pytest.raises(RuntimeError, match="scalar or 1D"):
        mg.nn.functional.prelu(mg.ones(2, 3), mg.ones(3, 1))


@FAST
@given(shape=shapes(min_dims=1), seed=seeds())
def test_glu_and_softmin_against_torch(shape, seed):
    shape = shape[:-1] + (2 * shape[-1],)
    check(lambda t, x: t.nn.functional.glu(x), shape, seed=seed)
    check(lambda t, x: t.nn.functional.glu(x, 0), (4,) + shape, seed=seed)
    check(lambda t, x: t.nn.functional.softmin(x, dim=-1), shape, seed=seed)


def test_glu_softmin_float64_gradcheck_and_forms():
    check(lambda t, x: t.nn.functional.glu(x, dim=1), (3, 4, 2), dtype=np.float64)
    gradcheck_op(lambda t, x: t.nn.functional.glu(x, 1), (3, 4, 2))
    gradcheck_op(lambda t, x: t.nn.functional.softmin(x, 0), (3, 4))
    check(lambda t, x: t.nn.functional.softmin(x, 1, dtype=t.float64), (3, 4))


@pytest.mark.filterwarnings("ignore:Implicit dimension")  # torch warns that dim=None is deprecated
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 4), (2, 3, 4, 2)])
def test_softmin_implicit_dim(shape):
    check(lambda t, x: t.nn.functional.softmin(x), shape)


def test_activation_errors():
    F = mg.nn.functional
    with pytest.raises(RuntimeError, match="even.*size 3"):
        F.glu(mg.ones(2, 3))
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(mg.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(mg.ones(2), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="lambda"):
        F.softshrink(mg.ones(2), -0.5)


# ------------------------------------------------------------------------------------------------
# modules
# ------------------------------------------------------------------------------------------------

MODULES = [
    ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()), ("Softplus", ()),
    ("Softplus", (2.0, 5.0)), ("ELU", ()), ("ELU", (0.5, True)), ("SELU", ()), ("CELU", (2.0,)),
    ("Hardtanh", ()), ("Hardtanh", (-2.0, 0.5)), ("ReLU6", ()), ("Hardswish", ()), ("Hardsigmoid", ()),
    ("LogSigmoid", ()), ("Softsign", ()), ("PReLU", ()), ("PReLU", (3, 0.1)), ("GLU", ()),
    ("GLU", (1,)), ("Softmin", (1,)), ("Tanhshrink", ()), ("Softshrink", ()), ("Hardshrink", (0.3,)),
    ("Threshold", (0.1, 20.0)),
]


@pytest.mark.parametrize("name,args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_modules_match_torch(name, args):
    import torch
    torch_module, mg_module = getattr(torch.nn, name)(*args), getattr(mg.nn, name)(*args)
    assert repr(mg_module) == repr(torch_module)
    assert {k: tuple(v.shape) for k, v in mg_module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in torch_module.state_dict().items()}

    def fn(t, x):
        module = torch_module if t is torch else mg_module
        return module(x * 1)  # a non-leaf: the inplace modules write into it
    check(fn, (2, 4, 4) if name != "PReLU" else (2, 3, 4), low=-3.0, high=3.0)
    for (_, mg_parameter), (_, torch_parameter) in zip(mg_module.named_parameters(),
                                                       torch_module.named_parameters()):
        np.testing.assert_allclose(mg_parameter.grad.numpy(), torch_parameter.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_prelu_module_learns_its_weight():
    module = mg.nn.PReLU(2, init=0.5)
    assert isinstance(module.weight, mg.nn.Parameter) and module.weight.shape == (2,)
    module(mg.tensor([[-1.0, -2.0], [3.0, -4.0]])).sum().backward()
    np.testing.assert_allclose(module.weight.grad.numpy(), [-1.0, -6.0])
