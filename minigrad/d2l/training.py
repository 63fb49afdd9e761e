"""The zh edition's training helpers (d2l 1.0.3's `train_ch6` family), and the devices they run on."""
import time

import numpy as np

from .. import cuda, nn, optim
from ..autograd import no_grad
from ..creation import zeros
from ..device import Device
from ..dtypes import float32


def cpu():
    return Device("cpu")


def gpu(i=0):
    return Device(f"cuda:{i}")


def num_gpus():
    return cuda.device_count()


def try_gpu(i=0):
    """GPU `i` (`cuda:i`) when minigrad can use it, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def try_all_gpus():
    """Every GPU minigrad can use, or `[cpu]` when there is none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]


class Timer:
    """Records running times: `start()`, `stop()` (returns the interval), `avg`, `sum`, `cumsum`."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Running sums of `n` numbers (tensors are read as Python floats)."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [total + float(value) for total, value in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """The number of correct predictions (a float): `y_hat` scores (N, classes) or labels (N,)."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    correct = y_hat.type(y.dtype) == y
    return float(correct.type(y.dtype).sum())


def corr2d(X, K):
    """The 2-D cross-correlation of `X` (h, w) with the kernel `K`, differentiable in both; float32
    like the book's, which fills a zeros tensor."""
    h, w = K.shape
    rows, cols = X.shape[0] - h + 1, X.shape[1] - w + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"corr2d: kernel of shape {tuple(K.shape)} is larger than the input of "
                         f"shape {tuple(X.shape)}")
    Y = zeros((rows, cols), dtype=float32, device=X.device)
    for a in range(h):  # one shifted window of X per kernel tap instead of one op per output
        for b in range(w):
            Y = Y + X[a:a + rows, b:b + cols] * K[a, b]
    return Y


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """The accuracy of `net` over `data_iter`, computed on `device` (default: where the parameters
    are); puts a Module in eval mode."""
    if isinstance(net, nn.Module):
        net.eval()
        if not device:
            device = next(iter(net.parameters())).device
    metric = Accumulator(2)  # correct predictions, predictions
    with no_grad():
        for X, y in data_iter:
            X = [x.to(device) for x in X] if isinstance(X, list) else X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    """Train `net` as the book's chapter 6 does: Xavier-uniform weights for every Linear and Conv2d,
    SGD at `lr`, cross-entropy; an Animator of train loss / train acc / test acc, then the closing
    `loss ..., train acc ..., test acc ...` and `... examples/sec on ...` lines."""
    from .plotting import Animator

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):  # exactly these types, as the book
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    print("training on", device)
    net.to(device)
    optimizer = optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    animator = Animator(xlabel="epoch", xlim=[1, num_epochs],
                        legend=["train loss", "train acc", "test acc"])
    timer, num_batches = Timer(), len(train_iter)
    every = max(1, num_batches // 5)  # five points an epoch; the book divides by zero under 5 batches
    for epoch in range(num_epochs):
        metric = Accumulator(3)  # summed loss, correct predictions, examples
        net.train()
        for i, (X, y) in enumerate(train_iter):
            timer.start()
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
            timer.stop()
            train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
            if (i + 1) % every == 0 or i == num_batches - 1:
                animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
        test_acc = evaluate_accuracy_gpu(net, test_iter)
        animator.add(epoch + 1, (None, None, test_acc))
    print(f"loss {train_l:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}")
    print(f"{metric[2] * num_epochs / timer.sum():.1f} examples/sec on {device}")
