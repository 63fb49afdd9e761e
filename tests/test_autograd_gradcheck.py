"""mg.autograd.gradcheck itself: passes on correct gradients, raises GradcheckError naming the input."""
import re

import numpy as np
import pytest

from helpers import SELFTEST, mg

if SELFTEST:
    from torch.autograd.gradcheck import GradcheckError
else:
    GradcheckError = getattr(mg.autograd, "GradcheckError", None)


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(mg.tensor(rng.uniform(-1, 1, s), dtype=mg.float64, requires_grad=True) for s in shapes)


def test_gradcheck_passes():
    assert mg.autograd.gradcheck(lambda a, b: (a * b).sin(), _inputs((3, 4), (4,))) is True
    assert mg.autograd.gradcheck(lambda a: a.exp().sum(), _inputs((5,))) is True
    assert mg.autograd.gradcheck(lambda a, b: a @ b, _inputs((2, 3), (3, 2)), eps=1e-6, atol=1e-5,
                                 rtol=1e-3) is True
    assert mg.autograd.gradcheck(lambda a: a * 2, _inputs(())) is True


def test_gradcheck_error_is_assertion_error():
    if SELFTEST:
        pytest.skip("torch's GradcheckError is a RuntimeError")
    assert issubclass(mg.autograd.GradcheckError, AssertionError)


def test_gradcheck_detects_wrong_gradient_input_0():
    # x * x.detach(): the analytical derivative is x, the numerical one 2x
    with pytest.raises(GradcheckError) as ei:
        mg.autograd.gradcheck(lambda a: a * a.detach(), _inputs((3,)))
    msg = str(ei.value)
    assert re.search(r"input\D{0,12}0", msg), msg


def test_gradcheck_detects_wrong_gradient_input_1():
    with pytest.raises(GradcheckError) as ei:
        mg.autograd.gradcheck(lambda a, b: a * b.detach() ** 2 + b, _inputs((3,), (3,), seed=1))
    msg = str(ei.value)
    assert re.search(r"input\D{0,12}1", msg), msg
    if not SELFTEST:
        # the largest difference is named: |2ab| somewhere in the message as a number
        assert re.search(r"\d\.\d", msg), msg


def test_gradcheck_with_non_scalar_output_and_broadcast():
    assert mg.autograd.gradcheck(lambda a, b: (a + b).tanh() * a, _inputs((2, 1, 3), (4, 1))) is True
