"""Train LeNet on handwritten digits, written the way PyTorch code is.

    python demos/mnist_lenet.py                      # the embedded 10k real MNIST digits, CPU
    python demos/mnist_lenet.py --data-dir ~/mnist   # full MNIST (add --download to fetch it)
    python demos/mnist_lenet.py --dataset fashion    # Fashion-MNIST (Debian's dataset-fashion-mnist)
    python demos/mnist_lenet.py --classic            # the original: sigmoid and average pooling
    python demos/mnist_lenet.py --device cuda        # on an NVIDIA GPU (pip install -e ".[cuda]")
    mpiexec -n 2 python demos/mnist_lenet.py --distributed   # data-parallel over 2 processes
"""
import argparse
import time

import minigrad as torch
import minigrad.distributed as dist
from minigrad import nn
from minigrad.data import DataLoader
from minigrad.data.datasets import MNIST, FashionMNIST
from minigrad.data.distributed import DistributedSampler


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


def datasets(args):
    """The training and test sets that --dataset, --data-dir and --download name."""
    Dataset = FashionMNIST if args.dataset == "fashion" else MNIST
    return (Dataset(args.data_dir, train=True, download=args.download),
            Dataset(args.data_dir, train=False, download=args.download))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="images per step; with --distributed the global batch, split evenly "
                             "over the ranks (each trains on batch-size / ranks of them), so the "
                             "steps and learning rate are those of one process")
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
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training on the CPU over the ranks of "
                             "`mpiexec -n N python demos/mnist_lenet.py --distributed` "
                             "(pip install -e \".[distributed]\"); rank 0 prints and saves")
    args = parser.parse_args()
    if args.distributed and args.device != "cpu":
        parser.error("--distributed trains on the CPU (the mpi backend): leave --device out")
    if args.device != "cpu":
        try:  # load the GPU backend now: a missing GPU, CuPy or numba-cuda is one clear line
            torch.set_device(args.device)
        except RuntimeError as error:
            parser.exit(1, f"{error}\n")
        torch.set_device("cpu")  # the data stay on the host; fit() moves model and batches

    rank, ranks = 0, 1
    if args.distributed:
        dist.init_process_group("mpi")
        rank, ranks = dist.get_rank(), dist.get_world_size()
        if args.batch_size % ranks:
            if rank == 0:  # one message, not one per rank
                parser.error(f"--batch-size {args.batch_size} does not split evenly over {ranks} "
                             f"ranks: give a multiple of {ranks}")
            parser.exit(2)
    torch.manual_seed(args.seed)
    if rank == 0:
        train_set, test_set = datasets(args)
    if args.distributed:  # with --download, rank 0's files are in place before the others look
        dist.barrier()
    if rank != 0:
        train_set, test_set = datasets(args)
    if args.distributed:  # each rank its shard of every epoch's shuffled order
        sampler = DistributedSampler(train_set, num_replicas=ranks, rank=rank, shuffle=True,
                                     seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size // ranks, sampler=sampler)
    else:
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    if rank == 0:
        print(f"{args.dataset}: {len(train_set)} training and {len(test_set)} test images"
              + (f", {ranks} ranks of {args.batch_size // ranks} images a step" if args.distributed
                 else ""))

    net = lenet(args.classic)
    if args.distributed:  # starts from rank 0's parameters; averages the gradients in backward
        net = nn.parallel.DistributedDataParallel(net)
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
    if rank == 0:
        print(f"test accuracy {history[-1]['test_acc']:.4f} after {args.epochs} epochs "
              f"({time.perf_counter() - start:.1f} s)")
        if args.plot:
            history.plot(args.plot)
            print(f"curves written to {args.plot}")
    if args.distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
