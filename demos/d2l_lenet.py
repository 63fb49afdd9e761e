"""The LeNet chapter of Dive into Deep Learning (zh.d2l.ai 6.6), in the book's style: PyTorch code with
only the imports changed, run on minigrad through `minigrad.d2l`.

    python demos/d2l_lenet.py                  # the chapter's run: 10 epochs, lr 0.9, batch 256
    python demos/d2l_lenet.py --epochs 2

Needs the real Fashion-MNIST (apt-get install dataset-fashion-mnist, or ../data/FashionMNIST/raw,
or a download) and matplotlib for the Animator, whose curves go to animator-1.png here.
"""
import argparse

import minigrad as torch          # was: import torch
from minigrad import nn           # was: from torch import nn
from minigrad import d2l          # was: from d2l import torch as d2l


def lenet():
    """LeNet-5 as LeCun built it: sigmoid activations and average pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.9)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    net = lenet()
    X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
    for layer in net:  # each layer's output shape, as the chapter prints them
        X = layer(X)
        print(layer.__class__.__name__, "output shape: \t", X.shape)

    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=args.batch_size)
    d2l.train_ch6(net, train_iter, test_iter, args.epochs, args.lr, d2l.try_gpu())


if __name__ == "__main__":
    main()
