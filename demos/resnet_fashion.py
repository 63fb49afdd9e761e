"""Train d2l's ResNet-18 on Fashion-MNIST, written the way PyTorch code is.

    python demos/resnet_fashion.py                    # native 28x28 inputs, small-input ResNet-18
    python demos/resnet_fashion.py --resize 96        # d2l's setting: 96x96 inputs, d2l's stem
    python demos/resnet_fashion.py --resize 28 --epochs 5 --batch-size 128 --lr 0.1 \
        --momentum 0.9 --one-cycle                    # d2l's network on 28x28, about 20 min on 2 cores
    python demos/resnet_fashion.py --max-steps 30     # a quick smoke run: 30 batches per epoch
    python demos/resnet_fashion.py --plot curves.png --checkpoint resnet.npz

By default the images stay 28x28 and the network is ResNet-18 with a small-input stem: its first
layer is a 3x3 convolution with stride 1 and no max pooling follows it (as CIFAR ResNets do), so the
four stages see 28x28, 14x14, 7x7 and 4x4 feature maps. With ``--resize 96`` the images are resized
(bilinearly) to 96x96, as d2l does, and the network is d2l's own ResNet-18 (7x7 stride-2 convolution
and 3x3 stride-2 max pooling first). d2l trains with plain SGD, lr 0.05, batch 256, 10 epochs.

The dataset comes from ``--data-dir`` or, without it, from the usual places (Debian's
``dataset-fashion-mnist`` package puts it under /usr/share/datasets/fashion-mnist).
"""
import argparse
import time

import minigrad as torch
import minigrad.models
from minigrad import nn
from minigrad.data import DataLoader
from minigrad.vision import transforms
from minigrad.vision.datasets import FashionMNIST


class Limited:
    """The first ``steps`` batches of a loader (all when ``steps`` is None): for smoke runs."""

    def __init__(self, loader, steps):
        self.loader, self.steps = loader, steps

    def __len__(self):
        n = len(self.loader)
        return n if self.steps is None else min(n, self.steps)

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i >= len(self):
                break
            yield batch


def parse_args(description, lr, batch_size, epochs=10):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (d2l: 0)")
    parser.add_argument("--one-cycle", action="store_true",
                        help="a one-cycle schedule peaking at --lr, stepped every batch")
    parser.add_argument("--resize", type=int, default=None, metavar="SIZE",
                        help="resize the images to SIZE x SIZE and use d2l's stem (d2l: 96)")
    parser.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None,
                        help="train (and test) on at most this many batches per epoch")
    parser.add_argument("--summary", action="store_true", help="print the layer table first")
    parser.add_argument("--checkpoint", default=None, help="save model + optimizer every epoch")
    parser.add_argument("--plot", default=None, help="draw the loss/accuracy curves to this PNG")
    return parser.parse_args()


def run(net, args):
    """Load Fashion-MNIST (resized when asked), train `net` with SGD and report."""
    size = args.resize or 28
    # Resizing the [0, 1] floats (not the uint8 pixels) keeps the values unrounded; both transforms
    # are batchable, so the DataLoader resizes whole batches.
    transform = transforms.Compose([transforms.ToTensor(), transforms.Resize(size)]) \
        if args.resize else None
    train_set = FashionMNIST(args.data_dir, train=True, transform=transform)
    test_set = FashionMNIST(args.data_dir, train=False, transform=transform)
    train_loader = Limited(DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
                           args.max_steps)
    test_loader = Limited(DataLoader(test_set, batch_size=args.batch_size), args.max_steps)
    print(f"Fashion-MNIST: {len(train_set)} training and {len(test_set)} test images, "
          f"{size}x{size}; {minigrad.models.count_parameters(net):,} parameters")
    if args.summary:
        minigrad.models.summary(net, (1, 1, size, size))
    optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = None
    if args.one_cycle:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=args.lr, total_steps=args.epochs * len(train_loader),
            cycle_momentum=args.momentum > 0)
    start = time.perf_counter()
    history = torch.train.fit(net, train_loader, test_loader, args.epochs, optimizer,
                              nn.CrossEntropyLoss(), device=args.device,
                              checkpoint=args.checkpoint, scheduler=scheduler,
                              scheduler_interval="batch")
    print(f"test accuracy {history[-1]['test_acc']:.4f} after {args.epochs} epochs "
          f"({time.perf_counter() - start:.1f} s, last epoch {history[-1]['images_per_s']:.1f} "
          "training images/s)")
    if args.plot:
        try:
            history.plot(args.plot)
            print(f"curves written to {args.plot}")
        except ImportError as error:  # matplotlib is the optional `plot` extra
            print(f"no plot: {error}")
    return history


def main():
    args = parse_args(__doc__.splitlines()[0], lr=0.05, batch_size=256)
    torch.manual_seed(args.seed)
    net = minigrad.models.resnet18(in_channels=1, num_classes=10, small_input=not args.resize)
    run(net, args)


if __name__ == "__main__":
    main()
