"""nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector and vector_to_parameters
against torch.nn.utils, on random gradients."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def npy(t):
    return np.array(t.detach().numpy(), copy=True)


def parameters_with_grads(library, seed, dtypes=("float32",), none_at=None):
    """The same random parameters and gradients in `library` (one gradient None at `none_at`)."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
              for _ in range(4)]
    parameters = []
    for i, shape in enumerate(shapes):
        dtype = getattr(library, dtypes[i % len(dtypes)])
        value = rng.uniform(-3, 3, shape)
        p = library.nn.Parameter(library.tensor(value, dtype=dtype))
        if i != none_at:
            p.grad = library.tensor(rng.uniform(-3, 3, shape) * 10 ** rng.uniform(-2, 1),
                                    dtype=dtype)
        parameters.append(p)
    return parameters


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, math.inf, -math.inf, 0, "inf"])
@pytest.mark.parametrize("max_norm", [1e-3, 0.7, 1e4])
@pytest.mark.parametrize("seed", range(3))
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, seed):
    m_params = parameters_with_grads(mg, seed, none_at=seed)
    t_params = parameters_with_grads(torch, seed, none_at=seed)
    m_total = nn.utils.clip_grad_norm_(m_params, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    assert isinstance(m_total, mg.Tensor) and m_total.shape == ()
    assert str(m_total.dtype) == str(t_total.dtype)
    np.testing.assert_allclose(npy(m_total), npy(t_total), rtol=1e-5)
    for m_p, t_p in zip(m_params, t_params):
        if t_p.grad is None:
            assert m_p.grad is None
        else:
            np.testing.assert_allclose(npy(m_p.grad), npy(t_p.grad), rtol=2e-5, atol=1e-7)


def test_clip_grad_norm_with_mixed_dtypes_a_generator_and_a_single_tensor(torch):
    m_params = parameters_with_grads(mg, 5, dtypes=("float32", "float64"))
    t_params = parameters_with_grads(torch, 5, dtypes=("float32", "float64"))
    m_total = nn.utils.clip_grad_norm_((p for p in m_params), 0.5)
    t_total = torch.nn.utils.clip_grad_norm_((p for p in t_params), 0.5)
    assert m_total.dtype == mg.float64 and str(t_total.dtype) == "torch.float64"
    np.testing.assert_allclose(npy(m_total), npy(t_total), rtol=1e-10)
    for m_p, t_p in zip(m_params, t_params):
        assert m_p.grad.dtype == m_p.dtype
        np.testing.assert_allclose(npy(m_p.grad), npy(t_p.grad), rtol=1e-6)
    single = mg.nn.Parameter(mg.ones(4))
    single.grad = mg.full((4,), 3.0)
    total = nn.utils.clip_grad_norm_(single, 1.0, foreach=True)
    np.testing.assert_allclose(npy(total), 6.0)
    np.testing.assert_allclose(npy(single.grad), np.full(4, 0.5 * 1.0 / (1 + 1e-6 / 6)),
                               rtol=1e-6)


def test_clip_grad_norm_without_gradients_and_with_nonfinite_ones(torch):
    empty = nn.utils.clip_grad_norm_([mg.nn.Parameter(mg.ones(2))], 1.0)
    assert float(empty.item()) == 0.0 and empty.dtype == mg.float32
    assert float(nn.utils.clip_grad_norm_([], 1.0).item()) == 0.0
    for library, utils in ((torch, torch.nn.utils), (mg, nn.utils)):
        p = library.nn.Parameter(library.ones(3))
        p.grad = library.tensor([math.inf, 1.0, -2.0])
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                               "`parameters` is non-finite"):
            utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        assert math.isinf(float(utils.clip_grad_norm_([p], 1.0).item()))
        grad = npy(p.grad)  # scaled by 1 / inf: torch's nan and zeros
        assert np.isnan(grad[0]) and (grad[1:] == 0).all()


@pytest.mark.parametrize("clip_value", [0.05, 1, 2.5])
def test_clip_grad_value_matches_torch(torch, clip_value):
    m_params = parameters_with_grads(mg, 1, none_at=2)
    t_params = parameters_with_grads(torch, 1, none_at=2)
    assert nn.utils.clip_grad_value_(m_params, clip_value) is None
    torch.nn.utils.clip_grad_value_(t_params, clip_value)
    for m_p, t_p in zip(m_params, t_params):
        if t_p.grad is not None:
            np.testing.assert_array_equal(npy(m_p.grad), npy(t_p.grad))
            assert np.abs(npy(m_p.grad)).max() <= clip_value


def test_a_clipped_gradient_is_what_the_optimizer_steps_with():
    model = nn.Linear(3, 2)
    model(mg.ones(4, 3) * 100).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    norm = math.sqrt(sum(float((p.grad * p.grad).sum().item()) for p in model.parameters()))
    assert norm == pytest.approx(0.1, rel=1e-5)
    weight = npy(model.weight)
    mg.optim.SGD(model.parameters(), lr=1.0).step()
    np.testing.assert_allclose(weight - npy(model.weight), npy(model.weight.grad), rtol=1e-6)


def test_parameters_to_vector_and_back_match_torch(torch):
    m_params = parameters_with_grads(mg, 3, dtypes=("float64",))
    t_params = parameters_with_grads(torch, 3, dtypes=("float64",))
    m_vector = nn.utils.parameters_to_vector(m_params)
    t_vector = torch.nn.utils.parameters_to_vector(t_params)
    np.testing.assert_array_equal(npy(m_vector), npy(t_vector))
    assert m_vector.requires_grad and m_vector.grad_fn is not None
    upstream = np.random.default_rng(0).uniform(-1, 1, tuple(t_vector.shape))
    (m_vector * mg.tensor(upstream)).sum().backward()
    (t_vector * torch.tensor(upstream)).sum().backward()
    for m_p, t_p in zip(m_params, t_params):
        np.testing.assert_allclose(npy(m_p.grad), npy(t_p.grad))
    replacement = np.arange(t_vector.numel(), dtype=np.float64)
    nn.utils.vector_to_parameters(mg.tensor(replacement), m_params)
    torch.nn.utils.vector_to_parameters(torch.tensor(replacement), t_params)
    for m_p, t_p in zip(m_params, t_params):
        assert m_p.shape == tuple(t_p.shape) and m_p.requires_grad
        np.testing.assert_array_equal(npy(m_p), npy(t_p))
    for library, utils in ((torch, torch.nn.utils), (mg, nn.utils)):
        with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
            utils.vector_to_parameters([1.0, 2.0], [library.nn.Parameter(library.ones(2))])


def test_nn_utils_imports_as_torchs():
    from minigrad.nn import utils

    import minigrad.nn.utils
    assert utils is minigrad.nn.utils is nn.utils
    assert minigrad.nn.utils.clip_grad_norm_ is utils.clip_grad_norm_
