"""max pooling's return_indices: the modules, torch's argument order, and Sequential's ReLU."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


def test_relu_before_max_pooling_with_indices_keeps_torch_indices():
    # all-negative windows: after the ReLU every tap is 0 and the first one wins; pooling first
    # (Sequential's reordering) would pick the largest negative instead
    x = -np.arange(1, 1 + 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    x[0, 0, 0, 0] = 5.0
    ours = mg.nn.Sequential(mg.nn.ReLU(), mg.nn.MaxPool2d(2, return_indices=True))(mg.tensor(x))
    theirs = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2, return_indices=True))(
        torch.tensor(x))
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_max_pool_module_takes_torch_positional_order_and_gives_int64_indices():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    # MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
    values, indices = mg.nn.MaxPool2d(2, 2, 0, 1, True, True)(mg.tensor(x))
    expected_values, expected_indices = torch.nn.MaxPool2d(2, 2, 0, 1, True, True)(torch.tensor(x))
    assert indices.dtype == mg.int64 and tuple(values.shape) == (1, 2, 3, 3)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())


def test_adaptive_max_pool_module_returns_indices_and_routes_gradients():
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6)).astype(np.float32)
    ours_x, theirs_x = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    values, indices = mg.nn.AdaptiveMaxPool2d((3, 2), return_indices=True)(ours_x)
    expected_values, expected_indices = torch.nn.AdaptiveMaxPool2d((3, 2), return_indices=True)(theirs_x)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    (values * values).sum().backward()
    (expected_values * expected_values).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6)


def test_max_unpool_module_inverts_pooling_as_torch():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 5)).astype(np.float32)
    ours_x, theirs_x = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    values, indices = mg.nn.MaxPool2d(2, return_indices=True)(ours_x)
    expected_values, expected_indices = torch.nn.MaxPool2d(2, return_indices=True)(theirs_x)
    ours = mg.nn.MaxUnpool2d(2)(values, indices, output_size=(6, 5))
    theirs = torch.nn.MaxUnpool2d(2)(expected_values, expected_indices, output_size=(6, 5))
    assert repr(mg.nn.MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    weights = np.random.default_rng(3).standard_normal((2, 3, 6, 5)).astype(np.float32)
    (ours * mg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6)


def test_max_unpool_names_an_index_outside_the_output():
    with pytest.raises(RuntimeError, match="invalid max index 9 .* size \\(2, 2\\)"):
        mg.nn.functional.max_unpool2d(mg.ones(1, 1, 1, 1), mg.tensor([[[[9]]]]), 2)
