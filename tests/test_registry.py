"""ops/registry.py: every registered op is reachable where it was published, a name is taken once,
and a new elementwise op is one `unary(...)` line that appears everywhere at once."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.ops import registry
from minigrad.ops.unary import unary


def test_every_registration_is_published_in_its_place():
    places = {registry.TORCH: mg, registry.FUNCTIONAL: F}
    for place, namespace in places.items():
        for name, function in registry.registered(place).items():
            assert getattr(namespace, name) is function, (place, name)
    for name in registry.registered(registry.METHOD):
        assert callable(getattr(mg.Tensor, name)), name


def test_a_name_is_registered_once_per_place():
    with pytest.raises(ValueError, match="op 'add' is registered twice in torch"):
        registry.register(lambda input: input, registry.TORCH, name="add")
    with pytest.raises(ValueError, match="places must be among"):
        registry.register(lambda input: input, "module")


def test_one_unary_line_makes_a_differentiable_op(monkeypatch):
    # the registrations are global: the test's op is taken out again afterwards
    monkeypatch.setattr(registry, "_registered",
                        {place: dict(ops) for place, ops in registry._registered.items()})
    cube = unary("cube_for_test", lambda xp, x: x * x * x, lambda xp, x, g: 3 * x * x * g,
                 inplace=False)
    assert registry.registered(registry.TORCH)["cube_for_test"] is cube
    assert registry.registered(registry.METHOD)["cube_for_test"] is cube
    x = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    cube(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0, 0.75])
    assert mg.autograd.gradcheck(cube, (mg.tensor([0.3, -1.1], dtype=mg.float64,
                                                  requires_grad=True),))
