"""Lazy modules (LazyLinear, LazyConv1d/2d, LazyConvTranspose2d, LazyBatchNorm1d/2d) against
torch.nn's: uninitialized parameters until the first forward, the class they become, shapes,
dtypes, the eager layer's initialisation, forward and backward with torch's weights, state dicts
before and after, reprs, registration, optimizers and errors."""
import copy
import math
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.parameter import (Parameter, UninitializedBuffer, UninitializedParameter,
                                   is_lazy)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


# name: (constructor arguments for both libraries, input shape, the fan_in of the uniform init)
CASES = {
    "LazyLinear": ((3,), (2, 5), 5),
    "LazyLinear_nobias_3d": ((4,), (2, 3, 6), 6),
    "LazyLinear_1d": ((2,), (5,), 5),
    "LazyConv1d": ((4, 3), (2, 3, 7), 9),
    "LazyConv1d_groups": ((4, 3, 2, 1, 1, 2), (2, 6, 8), 9),
    "LazyConv1d_unbatched": ((2, 2), (3, 5), 6),
    "LazyConv2d": ((4, 3), (2, 3, 6, 6), 27),
    "LazyConv2d_groups_nobias": ((4, (3, 2), 2, 1, 1, 2, False), (1, 4, 6, 5), 12),
    "LazyConvTranspose2d": ((4, 3, 2), (2, 3, 3, 3), 36),
    "LazyConvTranspose2d_groups": ((4, 3, 2, 1, 1, 2), (1, 6, 3, 2), 18),
    "LazyBatchNorm1d": ((), (4, 3), None),
    "LazyBatchNorm1d_3d": ((1e-3, 0.2), (4, 3, 5), None),
    "LazyBatchNorm2d": ((), (2, 3, 4, 4), None),
    "LazyBatchNorm2d_no_affine": ((1e-5, 0.1, False), (2, 3, 2, 2), None),
    "LazyBatchNorm2d_no_stats": ((1e-5, 0.1, True, False), (2, 3, 2, 2), None),
}
KWARGS = {"LazyLinear_nobias_3d": {"bias": False}}
BECOMES = {"LazyLinear": "Linear", "LazyConv1d": "Conv1d", "LazyConv2d": "Conv2d",
           "LazyConvTranspose2d": "ConvTranspose2d", "LazyBatchNorm1d": "BatchNorm1d",
           "LazyBatchNorm2d": "BatchNorm2d"}


def build(library, name):
    args, _, _ = CASES[name]
    return getattr(library.nn, name.split("_")[0])(*args, **KWARGS.get(name, {}))


def rand(shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(np.float32)


def torch_repr(text):
    # torch 2.13's eager BatchNorm prints a `bias=` that minigrad's eager BatchNorm does not
    return re.sub(r"bias=(True|False), (track)", r"\2", text)


def types_of(state):
    return {key: type(value).__name__ for key, value in state.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lazy_module_before_its_first_forward_is_torchs(torch, name):
    m_mod, t_mod = build(mg, name), build(torch, name)
    assert repr(m_mod) == torch_repr(repr(t_mod))
    assert types_of(m_mod.state_dict()) == types_of(t_mod.state_dict())
    assert types_of(dict(m_mod.named_parameters())) == types_of(dict(t_mod.named_parameters()))
    assert types_of(dict(m_mod.named_buffers())) == types_of(dict(t_mod.named_buffers()))
    assert m_mod.has_uninitialized_params() == t_mod.has_uninitialized_params()
    for m_p, t_p in zip(m_mod.parameters(), t_mod.parameters()):
        assert is_lazy(m_p) and repr(m_p) == repr(t_p) == "<UninitializedParameter>"
        assert m_p.requires_grad and m_p.is_leaf and m_p.grad is None
        assert m_p.dtype == mg.float32 and m_p.device.type == "cpu"


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_forward_materialises_as_torch_and_computes_torchs_values(torch, name):
    _, shape, _ = CASES[name]
    x = rand(shape)
    m_mod, t_mod = build(mg, name), build(torch, name)
    m_in, t_in = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m_mod(m_in)
    t_mod(t_in)
    assert type(m_mod).__name__ == type(t_mod).__name__ == BECOMES[name.split("_")[0]]
    assert type(m_mod) is getattr(nn, BECOMES[name.split("_")[0]])
    assert not any(is_lazy(t) for t in [*m_mod.parameters(), *m_mod.buffers()])
    assert repr(m_mod) == torch_repr(repr(t_mod))
    m_state, t_state = m_mod.state_dict(), t_mod.state_dict()
    assert list(m_state) == list(t_state)
    for key in t_state:
        assert type(m_state[key]) is mg.Tensor
        assert tuple(m_state[key].shape) == tuple(t_state[key].shape), key
        assert str(m_state[key].dtype) == str(t_state[key].dtype), key
    assert all(type(p) is Parameter for p in m_mod.parameters())
    # torch's values in, then the same forward and backward
    m_mod.load_state_dict({k: npy(v) for k, v in t_state.items()})
    m_out, t_out = m_mod(m_in), t_mod(t_in)
    np.testing.assert_allclose(npy(m_out), npy(t_out), rtol=1e-4, atol=1e-5)
    upstream = rand(tuple(t_out.shape), seed=1)
    (m_out * mg.tensor(upstream)).sum().backward()
    (t_out * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(npy(m_in.grad), npy(t_in.grad), rtol=1e-4, atol=1e-4)
    for (key, m_p), (_, t_p) in zip(m_mod.named_parameters(), t_mod.named_parameters()):
        np.testing.assert_allclose(npy(m_p.grad), npy(t_p.grad), rtol=1e-4, atol=1e-4,
                                   err_msg=key)
    for (key, m_b), (_, t_b) in zip(m_mod.named_buffers(), t_mod.named_buffers()):
        np.testing.assert_allclose(npy(m_b), npy(t_b), rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2]))
def test_init_is_the_eager_layers_within_torchs_bounds(torch, name):
    _, shape, fan_in = CASES[name]
    mg.manual_seed(7)
    lazy = build(mg, name)
    lazy(mg.tensor(rand(shape)))
    bound = 1 / math.sqrt(fan_in)
    t_mod = build(torch, name)
    t_mod(torch.tensor(rand(shape)))
    for m_p, t_p in zip(lazy.parameters(), t_mod.parameters()):
        assert np.abs(npy(m_p)).max() <= bound and np.abs(npy(t_p)).max() <= bound
    assert npy(lazy.weight).std() > bound / 4  # spread over U(-bound, bound), not a constant
    # the same draws as the eager layer built with the inferred size, from the same seed: the
    # eager constructors take that size first, then the lazy ones' arguments
    args, _, _ = CASES[name]
    mg.manual_seed(7)
    inferred = lazy.in_features if type(lazy) is nn.Linear else lazy.in_channels
    twin = type(lazy)(inferred, *args, **KWARGS.get(name, {}))
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(npy(lazy.state_dict()[key]), npy(value), err_msg=key)

def test_batchnorm_init_and_running_stats_are_torchs(torch):
    x = rand((6, 3, 2, 2))
    m_mod, t_mod = nn.LazyBatchNorm2d(momentum=0.3), torch.nn.LazyBatchNorm2d(momentum=0.3)
    m_mod(mg.tensor(x))
    t_mod(torch.tensor(x))
    for key, value in t_mod.state_dict().items():
        np.testing.assert_allclose(npy(m_mod.state_dict()[key]), npy(value), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    assert int(m_mod.num_batches_tracked.item()) == 1
    no_bias = nn.LazyBatchNorm1d(bias=False)
    no_bias(mg.tensor(rand((4, 2))))
    assert no_bias.bias is None and list(no_bias.state_dict())[0] == "weight"


# ----- errors --------------------------------------------------------------------------------
def test_using_uninitialized_values_raises_torchs_errors_naming_them(torch):
    m_mod, t_mod = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    for get in (lambda m: m.weight.shape, lambda m: m.bias.shape):
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
            get(t_mod)
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
            get(m_mod)
    for use in (lambda lib, m: m.weight.sum(), lambda lib, m: m.weight.detach(),
                lambda lib, m: m.weight.numel(),
                lambda lib, m: lib.nn.functional.linear(lib.ones(2, 4), m.weight),
                lambda lib, m: lib.nn.init.zeros_(m.weight)):
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            use(torch, t_mod)
        with pytest.raises(ValueError, match=r"uninitialized parameter \(weight of LazyLinear\)"
                                             r".*dummy batch"):
            use(mg, m_mod)
    with pytest.raises(ValueError, match=r"Attempted to use an uninitialized parameter"):
        m_mod.weight.data
    with pytest.raises(ValueError, match=r"uninitialized buffer \(running_var of LazyBatchNorm1d"):
        nn.LazyBatchNorm1d().running_var + 1


@pytest.mark.parametrize("make, shape, error, message", [
    (lambda lib: lib.nn.LazyConv2d(4, 3), (5, 5), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d, but got input of size: "
     r"torch.Size\(\[5, 5\]\)"),
    (lambda lib: lib.nn.LazyConv1d(4, 3, groups=2), (1, 3, 5), ValueError,
     "in_channels must be divisible by groups"),
    (lambda lib: lib.nn.LazyConvTranspose2d(2, 3, groups=2), (1, 3, 5, 5), ValueError,
     "in_channels must be divisible by groups"),
])
def test_bad_first_inputs_raise_torchs_errors_and_leave_the_module_lazy(torch, make, shape, error,
                                                                         message):
    for library in (torch, mg):
        module = make(library)
        with pytest.raises(error, match=message):
            module(library.ones(*shape))
        assert type(module).__name__.startswith("Lazy") and module.has_uninitialized_params()


def test_minigrad_refuses_what_torch_would_fail_on_later():
    with pytest.raises(ValueError, match=r"LazyConv2d: out_channels \(3\) must be divisible by "
                                         r"groups \(2\)"):
        nn.LazyConv2d(3, 3, groups=2)
    with pytest.raises(ValueError, match=r"LazyBatchNorm1d expected 2D or 3D input \(got 4D"):
        nn.LazyBatchNorm1d()(mg.ones(2, 3, 4, 4))
    with pytest.raises(IndexError, match="0-d input"):
        nn.LazyLinear(2)(mg.tensor(1.0))


def test_a_batchnorm_without_parameters_or_stats_still_learns_its_num_features():
    # torch leaves num_features 0 there; minigrad's eager BatchNorm checks its input against it
    module = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)
    assert module.state_dict() == {}
    output = module(mg.tensor(rand((2, 3, 2, 2))))
    assert type(module) is nn.BatchNorm2d and module.num_features == 3
    assert abs(float(output.mean().item())) < 1e-5


# ----- state dicts ---------------------------------------------------------------------------
def test_state_dict_of_a_lazy_module_holds_the_uninitialized_tensors(torch):
    m_state = nn.LazyBatchNorm1d().state_dict()
    t_state = torch.nn.LazyBatchNorm1d().state_dict()
    assert types_of(m_state) == types_of(t_state)
    assert isinstance(m_state["running_mean"], UninitializedBuffer)
    assert int(m_state["num_batches_tracked"].item()) == 0
    kept = nn.LazyLinear(2).state_dict(keep_vars=True)
    assert all(isinstance(v, UninitializedParameter) for v in kept.values())


@pytest.mark.parametrize("name, inferred", [
    ("LazyLinear", "in_features"), ("LazyConv2d", "in_channels"),
    ("LazyConvTranspose2d", "in_channels"), ("LazyBatchNorm2d", "num_features")])
def test_loading_a_state_dict_materialises_with_its_shapes(torch, name, inferred):
    _, shape, _ = CASES[name]
    t_full = build(torch, name)
    t_full(torch.tensor(rand(shape)))
    t_state = t_full.state_dict()
    m_mod, t_mod = build(mg, name), build(torch, name)
    assert list(m_mod.load_state_dict({k: npy(v) for k, v in t_state.items()})) == [[], []]
    t_mod.load_state_dict(t_state)
    assert type(m_mod).__name__ == type(t_mod).__name__ == name  # still lazy, as torch's
    for key, value in t_state.items():
        m_value = m_mod.state_dict()[key]
        assert not is_lazy(m_value)
        np.testing.assert_array_equal(npy(m_value), npy(value), err_msg=key)
    x = rand(shape, seed=2)
    m_mod.eval()
    t_mod.eval()
    np.testing.assert_allclose(npy(m_mod(mg.tensor(x))), npy(t_mod(torch.tensor(x))), rtol=1e-4,
                               atol=1e-5)
    assert type(m_mod).__name__ == type(t_mod).__name__ == BECOMES[name]
    for key, value in t_state.items():  # the first forward keeps what was loaded
        np.testing.assert_array_equal(npy(m_mod.state_dict()[key]), npy(value), err_msg=key)
    assert getattr(m_mod, inferred) == shape[-1 if name == "LazyLinear" else 1]


def test_loading_between_lazy_and_initialized_modules_as_torch(torch):
    for library in (torch, mg):
        lazy = library.nn.LazyLinear(3)
        lazy.load_state_dict(library.nn.LazyLinear(3).state_dict())
        assert type(lazy.weight).__name__ == "UninitializedParameter"
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
            library.nn.Linear(4, 3).load_state_dict(library.nn.LazyLinear(3).state_dict())
    nested = nn.Sequential(nn.LazyConv2d(2, 3), nn.Flatten(), nn.LazyLinear(1))
    full = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))
    nested.load_state_dict(full.state_dict())
    assert nested[2].weight.shape == (1, 8) and nested[0].weight.shape == (2, 1, 3, 3)
    nested(mg.ones(1, 1, 4, 4))
    assert [type(m).__name__ for m in nested] == ["Conv2d", "Flatten", "Linear"]


def test_a_loaded_state_that_disagrees_with_the_input_is_refused():
    lazy = nn.LazyLinear(3)
    lazy.load_state_dict(nn.Linear(5, 3).state_dict())
    with pytest.raises(RuntimeError, match=r"in_features=4 needs weight of shape \(3, 4\), but "
                                           r"the state dict loaded into it gave shape \(3, 5\)"):
        lazy(mg.ones(2, 4))
    partial = nn.LazyLinear(3)
    result = partial.load_state_dict({"weight": np.ones((3, 4), np.float32)}, strict=False)
    assert result.missing_keys == ["bias"]
    with pytest.raises(RuntimeError, match="weight came from a state dict but bias did not"):
        partial(mg.ones(2, 4))


# ----- devices, dtypes, copies, optimizers ---------------------------------------------------
def test_dtype_conversion_before_the_dry_run_carries_over(torch):
    for library in (torch, mg):
        module = library.nn.LazyConv2d(2, 3).double()
        assert module.weight.dtype == library.float64
        module(library.ones(1, 2, 4, 4, dtype=library.float64))
        assert module.weight.dtype == module.bias.dtype == library.float64
    module = nn.LazyLinear(2, dtype=mg.float64)
    module(mg.ones(1, 3, dtype=mg.float64))
    assert module.weight.dtype == mg.float64


def test_optimizers_over_uninitialized_parameters_work_after_the_dry_run(torch):
    """torch 2.13 builds optimizers over uninitialized parameters without a complaint; they
    keep their identity when materialised, so the optimizer steps the materialised ones."""
    for library in (torch, mg):
        for make in (lambda p: library.optim.SGD(p, lr=0.1, momentum=0.9),
                     lambda p: library.optim.Adam(p, lr=0.1)):
            module = library.nn.LazyLinear(3)
            optimizer = make(module.parameters())
            optimizer.step()  # no gradients yet: nothing to do
            module(library.ones(2, 4)).sum().backward()
            before = npy(module.weight)
            optimizer.step()
            assert optimizer.param_groups[0]["params"][0] is module.weight
            assert not np.array_equal(before, npy(module.weight))


def test_a_deep_copy_of_a_lazy_module_is_lazy_and_independent(torch):
    for library in (torch, mg):
        original = library.nn.LazyLinear(3)
        twin = copy.deepcopy(original)
        assert type(twin.weight).__name__ == "UninitializedParameter"
        twin(library.ones(1, 5))
        assert type(twin).__name__ == "Linear" and type(original).__name__ == "LazyLinear"


def test_requires_grad_flags_of_uninitialized_parameters_carry_over():
    module = nn.LazyLinear(2)
    module.weight.requires_grad = False
    module(mg.ones(1, 3))
    assert not module.weight.requires_grad and module.bias.requires_grad
    assert not UninitializedParameter(requires_grad=False).requires_grad
    buffer = UninitializedBuffer()
    buffer.materialize((2, 3), dtype=mg.float64)
    assert type(buffer) is mg.Tensor and buffer.shape == (2, 3) and buffer.dtype == mg.float64


# ----- traversal and registration ------------------------------------------------------------
def lenet_like(library):
    n = library.nn
    return n.Sequential(n.LazyConv2d(4, 3), n.LazyBatchNorm2d(), n.ReLU(),
                        n.Sequential(n.Flatten(), n.LazyLinear(5)), n.LazyLinear(2))


def test_apply_order_and_names_match_torch_before_and_after_the_dry_run(torch):
    m_net, t_net = lenet_like(mg), lenet_like(torch)
    x = rand((2, 1, 5, 5))
    for step in ("before", "after"):
        m_order, t_order = [], []
        m_net.apply(lambda m: m_order.append(type(m).__name__))
        t_net.apply(lambda m: t_order.append(type(m).__name__))
        assert m_order == t_order, step
        assert [n for n, _ in m_net.named_parameters()] == [n for n, _ in t_net.named_parameters()]
        assert [n for n, _ in m_net.named_buffers()] == [n for n, _ in t_net.named_buffers()]
        assert [n for n, _ in m_net.named_modules()] == [n for n, _ in t_net.named_modules()]
        m_net(mg.tensor(x))
        t_net(torch.tensor(x))
    assert {k: tuple(v.shape) for k, v in m_net.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t_net.state_dict().items()}


def test_an_init_function_applied_after_the_dry_run_sees_the_eager_classes():
    net = lenet_like(mg)
    net(mg.ones(1, 1, 5, 5))
    seen = []

    def init_weights(module):  # d2l's: it matches the eager classes by type
        if type(module) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            seen.append(type(module).__name__)
    net.apply(init_weights)
    assert seen == ["Conv2d", "Linear", "Linear"]


def test_assignment_after_materialisation_registers_as_torch(torch):
    for library in (torch, mg):
        module = library.nn.LazyBatchNorm1d()
        module(library.ones(4, 3))
        weight = library.nn.Parameter(library.ones(3))
        module.weight = weight
        assert module._parameters["weight"] is weight
        module.running_mean = library.zeros(3)
        assert [n for n, _ in module.named_buffers()] == ["running_mean", "running_var",
                                                          "num_batches_tracked"]
        module.scale = library.nn.Parameter(library.ones(1))
        assert [n for n, _ in module.named_parameters()] == ["weight", "bias", "scale"]
        with pytest.raises(TypeError):
            module.bias = library.zeros(3)
        module.bias = None
        assert "bias" not in dict(module.named_parameters())


def custom_lazy_scale(library, mixin):
    """A user's lazy module, written against torch's API, that stays its own class."""
    class LazyScale(mixin, library.nn.Module):
        def __init__(self):
            super().__init__()
            self.features, self.calls = 0, 0
            self.scale = library.nn.UninitializedParameter()

        def initialize_parameters(self, input):
            self.calls += 1
            self.features = input.shape[-1]
            self.scale.materialize((self.features,))
            self.reset_parameters()

        def reset_parameters(self):
            library.nn.init.ones_(self.scale)

        def forward(self, input):
            return input * self.scale
    return LazyScale()


def test_a_custom_lazy_module_without_a_class_to_become(torch):
    from torch.nn.modules.lazy import LazyModuleMixin as TorchMixin

    from minigrad.nn.lazy import LazyModuleMixin
    for library, mixin in ((torch, TorchMixin), (mg, LazyModuleMixin)):
        module = custom_lazy_scale(library, mixin)
        for _ in range(2):
            assert tuple(module(library.ones(2, 3)).shape) == (2, 3)
        assert module.calls == 1 and type(module).__name__ == "LazyScale"
        assert module.features == 3 and type(module.scale).__name__ == "Parameter"
        np.testing.assert_array_equal(npy(module.scale), np.ones(3, np.float32))
