"""LeNet training, minigrad against PyTorch in one process (steps interleaved), and the time from
`import minigrad` to the end of the first training step in a fresh process.

    python benchmarks/bench_lenet.py                  # throughput at batch 256 (and 64)
    python benchmarks/bench_lenet.py --book           # the same, the book's LeNet (d2l 6.6)
    python benchmarks/bench_lenet.py --first-step     # import -> first step, Numba cache cold / warm
    python benchmarks/bench_lenet.py --epoch          # one Fashion-MNIST epoch as the demo trains it

Both libraries use 2 threads, under one OpenMP policy set before either is imported
(machine.share_openmp_cores: the process holds two OpenMP runtimes, Numba's and PyTorch's).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from machine import machine_lines, share_openmp_cores

share_openmp_cores()
from bench_d2l import book_lenet  # noqa: E402

THREADS = 2

FIRST_STEP = """
import time
start = time.perf_counter()
import numpy as np
import minigrad as mg
from minigrad import nn
net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
                    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
optimizer = mg.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
X, y = mg.rand(256, 1, 28, 28), mg.randint(0, 10, (256,))
loss = nn.functional.cross_entropy(net(X), y)
optimizer.zero_grad()
loss.backward()
optimizer.step()
print(time.perf_counter() - start)
"""


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def throughput(batch_size, repeats, book=False):
    import minigrad as mg
    import numba
    import torch
    torch.set_num_threads(THREADS)
    numba.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    runs = {}
    for name, lib in (("minigrad", mg), ("torch", torch)):
        net = (book_lenet if book else lenet)(lib.nn)  # the book's: d2l 6.6, plain SGD at lr 0.9
        optimizer = (lib.optim.SGD(net.parameters(), lr=0.9) if book else
                     lib.optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
        runs[name] = (net, optimizer, lib.tensor(x), lib.tensor(y), lib.nn.CrossEntropyLoss())

    def step(name):
        net, optimizer, X, Y, loss = runs[name]
        value = loss(net(X), Y)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()

    times = {name: [] for name in runs}
    for name in runs:  # warm up (and compile)
        step(name)
        step(name)
    for _ in range(repeats):
        for name in runs:
            start = time.perf_counter()
            step(name)
            times[name].append(time.perf_counter() - start)
    ours, theirs = (np.median(times[n]) for n in ("minigrad", "torch"))
    name = "book LeNet" if book else "LeNet"
    print(f"{name} training step, batch {batch_size:4d}: minigrad {ours * 1e3:7.1f} ms "
          f"({batch_size / ours:6.0f} img/s), torch {theirs * 1e3:7.1f} ms "
          f"({batch_size / theirs:6.0f} img/s), ratio torch/minigrad {theirs / ours:.2f}")


def fashion_epoch(batch_size=64):
    """One epoch of Fashion-MNIST's 60,000 images for each library, the same batches, steps
    interleaved; the summed step times are the epoch times (data loading excluded)."""
    import minigrad as mg
    import numba
    import torch
    from minigrad.data import DataLoader
    from minigrad.data.datasets import FashionMNIST
    torch.set_num_threads(THREADS)
    numba.set_num_threads(THREADS)
    mg.manual_seed(0)
    loader = DataLoader(FashionMNIST(train=True), batch_size=batch_size, shuffle=True)
    runs = {}
    for name, lib in (("minigrad", mg), ("torch", torch)):
        net = lenet(lib.nn)
        runs[name] = (lib, net, lib.optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
                      lib.nn.CrossEntropyLoss())
    totals = dict.fromkeys(runs, 0.0)
    for X, y in loader:
        for name, (lib, net, optimizer, loss) in runs.items():
            inputs = (X, y) if lib is mg else (torch.from_numpy(X.numpy()), torch.from_numpy(y.numpy()))
            start = time.perf_counter()
            value = loss(net(inputs[0]), inputs[1])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            totals[name] += time.perf_counter() - start
    print(f"Fashion-MNIST epoch (60,000 images, batch {batch_size}): minigrad "
          f"{totals['minigrad']:.1f} s, torch {totals['torch']:.1f} s, ratio torch/minigrad "
          f"{totals['torch'] / totals['minigrad']:.2f}")


def first_step():
    environment = dict(os.environ, NUMBA_NUM_THREADS=str(THREADS))
    with tempfile.TemporaryDirectory() as cache:
        environment["NUMBA_CACHE_DIR"] = cache
        for label in ("cold", "warm", "warm"):
            run = subprocess.run([sys.executable, "-c", FIRST_STEP], env=environment,
                                 capture_output=True, text=True, check=True)
            announced = ", announced" if "minigrad: compiling" in run.stderr else ""
            print(f"import minigrad -> end of first LeNet step (batch 256), Numba cache {label}: "
                  f"{float(run.stdout):.2f} s{announced}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-step", action="store_true")
    parser.add_argument("--epoch", action="store_true")
    parser.add_argument("--book", action="store_true",
                        help="the book's LeNet (sigmoid, average pooling) instead")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print("\n".join(machine_lines(THREADS)))
    if args.first_step:
        first_step()
    elif args.epoch:
        fashion_epoch()
    else:
        for batch_size in (256, 64):
            throughput(batch_size, args.repeats, args.book)


if __name__ == "__main__":
    main()
