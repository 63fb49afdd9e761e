"""The padding modules and pad's modes against torch: values, gradients, reprs and errors."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

MODULES = [("ZeroPad2d", (2,)), ("ZeroPad2d", ((1, 0, 2, 3),)), ("ConstantPad2d", ((1, 2, 0, 1), 3.5)),
           ("ReflectionPad2d", ((2, 1, 3, 0),)), ("ReplicationPad2d", (3,)),
           ("CircularPad2d", ((1, 2, 2, 1),)), ("ReflectionPad2d", ((-1, 2, 1, -2),))]


@pytest.mark.parametrize("name,args", MODULES)
def test_padding_module_matches_torch(name, args):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    ours_x, theirs_x = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = getattr(mg.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    y, expected = ours(ours_x), theirs(theirs_x)
    np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())
    weights = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (y * mg.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode,padding", [("reflect", (0, 5)), ("circular", (6, 0))])
def test_padding_wider_than_the_input_says_so(mode, padding):
    with pytest.raises(RuntimeError, match=r"needs padding at most \d+ for dimension 2 of size 5"):
        mg.nn.functional.pad(mg.zeros(1, 2, 5), padding, mode=mode)


def test_unknown_mode_is_named():
    with pytest.raises(NotImplementedError, match="'mirror'"):
        mg.nn.functional.pad(mg.zeros(1, 2, 5), (1, 1), mode="mirror")
