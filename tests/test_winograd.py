"""Winograd F(4x4, 3x3) (kernels/cpu/winograd.py) against torch.nn.functional.conv2d and its
gradients, directly and through the kernel table's routing (conv.py's _use_winograd)."""
import numpy as np
import pytest

from minigrad.kernels import cpu as K
from minigrad.kernels.cpu import conv, winograd
from minigrad.kernels.cpu.conv import _scratch

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float32, np.float64]


def assert_close(actual, expected, dtype):
    """The tolerances of test_kernels_cpu.py."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert actual.dtype == dtype
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def layer(n, c_in, c_out, size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, w, b


def torch_reference(x, w, b, padding, grad_y=None):
    """y, and (grad_x, grad_w) for grad_y, in float64."""
    xt, wt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w))
    y = F.conv2d(xt, wt, torch.tensor(b, dtype=torch.float64), padding=padding)
    if grad_y is None:
        return y, None, None
    y.backward(torch.tensor(grad_y, dtype=torch.float64))
    return y, xt.grad, wt.grad


# Partial edge tiles (sizes not multiples of 4), rectangular planes, planes smaller than a tile,
# padding 0, 1 and 2 (the input gradient of padding 0 correlates with padding 2), one sample and
# more samples than a chunk holds.
CASES = [
    (2, 3, 5, (7, 9), 1),
    (3, 4, 6, (8, 8), 1),
    (2, 3, 2, (10, 13), 0),
    (2, 3, 4, (5, 6), 2),
    (1, 2, 3, (3, 3), 1),
    (1, 5, 4, (4, 4), 0),
    (9, 16, 16, (12, 12), 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, c_in, c_out, size, p", CASES)
@pytest.mark.parametrize("gemms_split", [False, True])
def test_winograd_matches_torch(n, c_in, c_out, size, p, dtype, gemms_split, monkeypatch):
    # gemms_split: the weight gradient splits the 36 GEMMs between the threads, as for wide layers
    monkeypatch.setattr(winograd, "SPLIT_DU_BYTES", 0 if gemms_split else 1 << 60)
    x, w, b = layer(n, c_in, c_out, size, dtype)
    out = tuple(s + 2 * p - 2 for s in size)
    grad_y = np.random.default_rng(1).standard_normal((n, c_out) + out).astype(dtype)
    y, grad_x, grad_w = torch_reference(x, w, b, p, grad_y)
    assert_close(winograd.forward(x, w, b, (p, p), *out, _scratch), y, dtype)
    assert_close(winograd.backward_input(grad_y, w, x.shape, (p, p), _scratch), grad_x, dtype)
    assert_close(winograd.backward_weight(grad_y, x, (p, p), _scratch), grad_w, dtype)


def test_winograd_chunks_and_threads_give_the_same_result(monkeypatch):
    """Chunks of one sample (a small CHUNK_BYTES) add up to the same gradients."""
    x, w, b = layer(5, 8, 8, (9, 9), np.float64)
    grad_y = np.random.default_rng(2).standard_normal((5, 8, 9, 9))
    expected = (winograd.forward(x, w, b, (1, 1), 9, 9, _scratch),
                winograd.backward_weight(grad_y, x, (1, 1), _scratch))
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 1)
    actual = (winograd.forward(x, w, b, (1, 1), 9, 9, _scratch),
              winograd.backward_weight(grad_y, x, (1, 1), _scratch))
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_winograd_of_an_empty_batch():
    x, w, b = layer(0, 4, 4, (8, 8), np.float32)
    assert winograd.forward(x, w, b, (1, 1), 8, 8, _scratch).shape == (0, 4, 8, 8)
    assert not winograd.backward_weight(np.zeros((0, 4, 8, 8), np.float32), x, (1, 1),
                                        _scratch).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, c_in, c_out, size", [
    (8, 64, 64, 16), (15, 64, 64, 10), (32, 128, 128, 8),
    (128, 64, 64, 4), (64, 64, 64, 4),                         # 4x4 planes at batch 128, 64
    (128, 64, 64, 3), (32, 64, 64, 6), (32, 64, 64, 7),        # partial tiles
    (32, 96, 32, 8), (8, 32, 48, 16),                          # DenseNet's narrowing, widening
])
def test_resnet_and_densenet_layers_route_to_winograd_and_match_torch(n, c_in, c_out, size, dtype):
    x, w, b = layer(n, c_in, c_out, (size, size), dtype)
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    assert conv._use_winograd(x.shape, w.shape, *geometry)
    grad_y = np.random.default_rng(3).standard_normal((n, c_out, size, size)).astype(dtype)
    y, grad_x, grad_w = torch_reference(x, w, b, 1, grad_y)
    assert_close(K.conv2d_forward(x, w, b, *geometry), y, dtype)
    gx, gw, gb = K.conv2d_backward(grad_y, x, w, (True, True, True), *geometry)
    assert_close(gx, grad_x, dtype)
    assert_close(gw, grad_w, dtype)
    assert_close(gb, grad_y.astype(np.float64).sum(axis=(0, 2, 3)), dtype)


@pytest.mark.parametrize("x_shape, w_shape, geometry", [
    ((63, 64, 4, 4), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),    # 4x4 planes, 63 tiles
    ((63, 64, 3, 3), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),    # 3x3 planes, 63 tiles
    ((128, 64, 5, 5), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # 5x5: 39% of each tile used
    ((2, 1024, 16, 16), (1024, 1024, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),  # over 512 channels
    ((2, 64, 16, 16), (64, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # too few tiles
    ((2, 64, 16, 16), (16, 64, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # 16 channels out
    ((2, 64, 16, 16), (64, 64, 3, 3), ((2, 2), (1, 1), (1, 1), 1)),   # strided
    ((2, 64, 16, 16), (64, 64, 3, 3), ((1, 1), (1, 1), (2, 2), 1)),   # dilated
    ((2, 64, 16, 16), (64, 32, 3, 3), ((1, 1), (1, 1), (1, 1), 2)),   # grouped
    ((2, 64, 16, 16), (64, 64, 3, 3), ((1, 1), (0, 0), (1, 1), 1)),   # unpadded
    ((2, 64, 16, 16), (64, 64, 5, 5), ((1, 1), (2, 2), (1, 1), 1)),   # 5x5
    ((2, 8, 16, 16), (8, 8, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),      # thin: direct loops
])
def test_other_layers_do_not_route_to_winograd(x_shape, w_shape, geometry):
    assert not conv._use_winograd(x_shape, w_shape, *geometry)
