"""Learn an edge detector from its output (d2l, "Convolutions for Images"), two ways: a
hand-written Conv2D module built on item assignment, and nn.Conv2d.

    python demos/edge_detection.py
"""
import minigrad as torch
from minigrad import nn


def corr2d(X, K):
    """2-D cross-correlation, written with item assignment: autograd follows Y[i, j] = ...."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


def learn(net, X, Y, lr=3e-2, epochs=10):
    for i in range(epochs):
        Y_hat = net(X)
        loss = (Y_hat - Y) ** 2
        net.zero_grad()
        loss.sum().backward()
        net.weight.data[:] -= lr * net.weight.grad
        if (i + 1) % 2 == 0:
            print(f"epoch {i + 1}, loss {loss.sum():.3f}")
    return net.weight.data.reshape((1, 2))


def main():
    torch.manual_seed(0)
    X = torch.ones((6, 8))
    X[:, 2:6] = 0                                   # white, black, white
    K = torch.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)                                # 1 at white->black edges, -1 at black->white
    print("edges detected by K = [1, -1]:\n", Y)

    print("\nhand-written Conv2D (item assignment, bias learned too):")
    print("learned kernel:", learn(Conv2D(kernel_size=(1, 2)), X, Y, epochs=30))

    print("\nnn.Conv2d(1, 1, kernel_size=(1, 2), bias=False):")
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    print("learned kernel:", learn(conv2d, X.reshape((1, 1, 6, 8)), Y.reshape((1, 1, 6, 7))))


if __name__ == "__main__":
    main()
