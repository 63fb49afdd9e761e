"""Train LeNet on handwritten digits, written the way PyTorch code is.

    python demos/mnist_lenet.py                      # the embedded 10k real MNIST digits, CPU
    python demos/mnist_lenet.py --data-dir ~/mnist   # full MNIST (add --download to fetch it)
    python demos/mnist_lenet.py --dataset fashion    # Fashion-MNIST (Debian's dataset-fashion-mnist)
    python demos/mnist_lenet.py --classic            # the original: sigmoid and average pooling
    python demos/mnist_lenet.py --device cuda        # on an NVIDIA GPU (pip install -e ".[cuda]")
"""
import argparse
import time

import minigrad as torch
from minigrad import nn
from minigrad.data import DataLoader
from minigrad.data.datasets import MNIST, FashionMNIST


def lenet(classic=False):
    """d2l's LeNet-5; by default with ReLU and max pooling, which train faster."""
    activation = nn.Sigmoid if classic else nn.ReLU
    pool = nn.AvgPool2d if classic else nn.MaxPool2d
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), activation(), pool(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), activation(), pool(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), activation(),
        nn.Linear(120, 84), activation(),
        nn.Linear(84, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate of the one-cycle schedule (default 0.1), or the "
                             "constant rate of --classic (default 0.9)")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files")
    parser.add_argument("--download", action="store_true", help="download the full dataset")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classic", action="store_true", help="sigmoid + average pooling")
    parser.add_argument("--checkpoint", default=None, help="save model + optimizer every epoch")
    parser.add_argument("--plot", default=None, help="draw the loss/accuracy curves to this PNG")
    args = parser.parse_args()
    if args.device != "cpu":
        try:  # load the GPU backend now: a missing GPU, CuPy or numba-cuda is one clear line
            torch.set_device(args.device)
        except RuntimeError as error:
            parser.exit(1, f"{error}\n")
        torch.set_device("cpu")  # the data stay on the host; fit() moves model and batches

    torch.manual_seed(args.seed)
    Dataset = FashionMNIST if args.dataset == "fashion" else MNIST
    train_set = Dataset(args.data_dir, train=True, download=args.download)
    test_set = Dataset(args.data_dir, train=False, download=args.download)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    print(f"{args.dataset}: {len(train_set)} training and {len(test_set)} test images")

    net = lenet(args.classic)
    if args.classic:  # d2l's recipe: plain SGD at a constant rate
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr or 0.9)
        scheduler = None
    else:  # SGD with momentum under a one-cycle schedule: 97% on the embedded digits in 10 epochs
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr or 0.1, momentum=args.momentum)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr or 0.1,
                                                        total_steps=args.epochs * len(train_loader))
    start = time.perf_counter()
    history = torch.train.fit(net, train_loader, test_loader, args.epochs, optimizer,
                              nn.CrossEntropyLoss(), device=args.device, checkpoint=args.checkpoint,
                              scheduler=scheduler, scheduler_interval="batch")
    print(f"test accuracy {history[-1]['test_acc']:.4f} after {args.epochs} epochs "
          f"({time.perf_counter() - start:.1f} s)")
    if args.plot:
        history.plot(args.plot)
        print(f"curves written to {args.plot}")


if __name__ == "__main__":
    main()
