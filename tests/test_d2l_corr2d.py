"""d2l's hand-written cross-correlation (chapter "Convolutions for Images"), with torch -> mg."""
import numpy as np

from helpers import mg


def corr2d(X, K):
    """Compute 2D cross-correlation (exactly as d2l writes it)."""
    h, w = K.shape
    Y = mg.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def test_corr2d_float():
    X = mg.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = mg.tensor([[0.0, 1.0], [2.0, 3.0]])
    Y = corr2d(X, K)
    assert Y.dtype == mg.float32
    np.testing.assert_array_equal(Y.numpy(), [[19.0, 25.0], [37.0, 43.0]])


def test_corr2d_int():
    X = mg.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    K = mg.tensor([[0, 1], [2, 3]])
    Y = corr2d(X, K)
    assert Y.dtype == mg.float32  # Y = mg.zeros(...) is float32; int sums are cast into it
    np.testing.assert_array_equal(Y.numpy(), [[19.0, 25.0], [37.0, 43.0]])
    assert Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]


def _edge_image():
    X = mg.ones((6, 8))
    X[:, 2:6] = 0
    return X


def test_edge_detection():
    X = _edge_image()
    expected_x = np.ones((6, 8), dtype=np.float32)
    expected_x[:, 2:6] = 0
    np.testing.assert_array_equal(X.numpy(), expected_x)
    K = mg.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    assert Y.shape == (6, 7)
    expected = np.zeros((6, 7), dtype=np.float32)
    expected[:, 1] = 1
    expected[:, 5] = -1
    np.testing.assert_array_equal(Y.numpy(), expected)
    # the kernel only detects vertical edges
    np.testing.assert_array_equal(corr2d(X.t(), K).numpy(), np.zeros((8, 5), dtype=np.float32))


def test_learn_kernel():
    X = _edge_image()
    Y = corr2d(X, mg.tensor([[1.0, -1.0]]))
    mg.manual_seed(0)
    K = mg.randn((1, 2), requires_grad=True)
    lr = 3e-2
    for i in range(30):
        Y_hat = corr2d(X, K)
        assert Y_hat.requires_grad and Y_hat.grad_fn is not None
        loss = ((Y_hat - Y) ** 2).sum()
        loss.backward()
        K.data -= lr * K.grad
        K.grad.zero_()
    assert loss.item() < 1e-2
    np.testing.assert_allclose(K.detach().numpy(), [[1.0, -1.0]], atol=0.1)
    assert K.is_leaf and K.requires_grad


def test_learn_kernel_d2l_style_parameter():
    # a d2l-style tensor built from data, updated through .data
    X = _edge_image()
    Y = corr2d(X, mg.tensor([[1.0, -1.0]]))
    K = mg.tensor([[0.3, 0.2]], requires_grad=True)
    for _ in range(25):
        l = ((corr2d(X, K) - Y) ** 2).sum()
        l.backward()
        K.data -= 3e-2 * K.grad
        K.grad.zero_()
    np.testing.assert_allclose(K.detach().numpy(), [[1.0, -1.0]], atol=0.1)


def test_corr2d_gradient_matches_analytic():
    X = mg.tensor(np.arange(12, dtype=np.float64).reshape(3, 4))
    K = mg.tensor(np.array([[0.5, -1.0], [2.0, 1.0]]), requires_grad=True)
    Y = corr2d(X, K)
    assert Y.dtype == mg.float32
    Y.sum().backward()
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    expected = np.array([[x[0:2, 0:3].sum(), x[0:2, 1:4].sum()], [x[1:3, 0:3].sum(), x[1:3, 1:4].sum()]])
    np.testing.assert_allclose(K.grad.numpy(), expected, rtol=1e-6)
    assert K.grad.dtype == mg.float64
