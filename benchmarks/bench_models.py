"""One training step (forward, backward, SGD step) of d2l's ResNet-18 and DenseNet, minigrad vs
PyTorch (2 threads each, float32, CPU), interleaved in one process.

    python benchmarks/bench_models.py [--batch 32] [--size 32] [--repeats 7]
                                      [--models resnet18 resnet18_small densenet]
                                      [--book] [--memory]

--book runs the book's settings (1x96x96 inputs, batch 32 and 128) instead; --memory adds each
library's peak memory, measured in a child process that runs only that library's steps.

By default both networks take (batch, 3, 32, 32) inputs; they have 10 classes. ``resnet18`` is d2l's layout (7x7
stride-2 stem + max pool: the stages see 8x8 down to 1x1), ``resnet18_small`` the small-input
variant (3x3 stride-1 stem, no pool: 32x32 down to 4x4, the CIFAR shape, ~16x the work),
``densenet`` d2l's DenseNet. The torch twins are d2l's code written with torch.nn; the weights are
copied into minigrad, and the first step's losses are cross-checked. Prints the median ms of each
library and the ratio torch_ms / minigrad_ms (above 1: minigrad is faster).

Thread pools: the process holds two OpenMP runtimes (Numba's and PyTorch's), under one policy set
before either loads (machine.share_openmp_cores); benchmarks/machine.py's lines say where it ran.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from machine import machine_lines, share_openmp_cores

share_openmp_cores()


def torch_models():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Residual(nn.Module):
        def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                                   stride=strides)
            self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
            self.conv3 = (nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
                          if use_1x1conv else None)
            self.bn1 = nn.BatchNorm2d(num_channels)
            self.bn2 = nn.BatchNorm2d(num_channels)

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    class DenseBlock(nn.Module):
        def __init__(self, num_convs, input_channels, num_channels):
            super().__init__()
            self.net = nn.Sequential(*[nn.Sequential(
                nn.BatchNorm2d(num_channels * i + input_channels), nn.ReLU(),
                nn.Conv2d(num_channels * i + input_channels, num_channels, kernel_size=3,
                          padding=1)) for i in range(num_convs)])

        def forward(self, X):
            for blk in self.net:
                X = torch.cat((X, blk(X)), dim=1)
            return X

    def b1(in_channels, small):
        if small:
            return nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1),
                                 nn.BatchNorm2d(64), nn.ReLU())
        return nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                             nn.BatchNorm2d(64), nn.ReLU(),
                             nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def resnet18(in_channels, num_classes, small=False):
        def stage(cin, cout, first=False):
            return nn.Sequential(
                Residual(cin, cout) if first else Residual(cin, cout, True, 2),
                Residual(cout, cout))
        return nn.Sequential(b1(in_channels, small), stage(64, 64, True), stage(64, 128),
                             stage(128, 256), stage(256, 512), nn.AdaptiveAvgPool2d((1, 1)),
                             nn.Flatten(), nn.Linear(512, num_classes))

    def densenet(in_channels, num_classes):
        num_channels, growth_rate, blks = 64, 32, []
        for i, num_convs in enumerate([4, 4, 4, 4]):
            blks.append(DenseBlock(num_convs, num_channels, growth_rate))
            num_channels += num_convs * growth_rate
            if i != 3:
                blks.append(nn.Sequential(
                    nn.BatchNorm2d(num_channels), nn.ReLU(),
                    nn.Conv2d(num_channels, num_channels // 2, kernel_size=1),
                    nn.AvgPool2d(kernel_size=2, stride=2)))
                num_channels //= 2
        return nn.Sequential(b1(in_channels, False), *blks, nn.BatchNorm2d(num_channels),
                             nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                             nn.Linear(num_channels, num_classes))

    return {"resnet18": lambda c, k: resnet18(c, k),
            "resnet18_small": lambda c, k: resnet18(c, k, small=True),
            "densenet": densenet}


def minigrad_models():
    import minigrad.models as models
    return {"resnet18": lambda c, k: models.resnet18(c, k),
            "resnet18_small": lambda c, k: models.resnet18(c, k, small_input=True),
            "densenet": lambda c, k: models.densenet(c, k)}


def step(lib, net, optimizer, loss_fn, X, y):
    """One SGD training step; returns (seconds, loss)."""
    t0 = time.perf_counter()
    optimizer.zero_grad()
    loss = loss_fn(net(X), y)
    loss.backward()
    optimizer.step()
    value = loss.item()
    return time.perf_counter() - t0, value


def peak_memory(lib_name, name, channels, size, batch, steps=3):
    """Run in a child process: the high-water mark (MB) of a process that builds one library's
    model and runs `steps` training steps, and its resident size before the first step."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    if lib_name == "torch":
        import torch as lib
        net = torch_models()[name](channels, 10)
    else:
        import minigrad as lib
        net = minigrad_models()[name](channels, 10)
    side = (lib, net, lib.optim.SGD(net.parameters(), lr=0.01), lib.nn.CrossEntropyLoss(),
            lib.tensor(X), lib.tensor(y))
    before = memory_mb("VmRSS")
    for _ in range(steps):
        step(*side)
    print(f"{memory_mb('VmHWM'):.0f} {before:.0f}")


def memory_mb(field):
    """A /proc/self/status field in MB: VmHWM, the process's high-water mark (ru_maxrss would
    carry the parent's over the fork), or VmRSS, its resident size now."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def child_peak_memory(lib_name, name, channels, size, batch, threads):
    command = [sys.executable, __file__, "--memory-of", lib_name, "--models", name, "--channels",
               str(channels), "--size", str(size), "--batch", str(batch), "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, NUMBA_NUM_THREADS=str(threads)))
    if result.returncode != 0:
        return float("nan"), float("nan")
    peak, before = result.stdout.split()[-2:]
    return float(peak), float(before)


def time_steps(mg, torch, name, channels, size, batch, repeats):
    """Median step times (ms) of minigrad and torch on one model, steps interleaved."""
    tmake, mmake = torch_models(), minigrad_models()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    torch.manual_seed(0)
    tnet = tmake[name](channels, 10)
    mnet = mmake[name](channels, 10)
    mnet.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()})
    sides = {
        "mg": (mg, mnet, mg.optim.SGD(mnet.parameters(), lr=0.01), mg.nn.CrossEntropyLoss(),
               mg.tensor(X), mg.tensor(y)),
        "torch": (torch, tnet, torch.optim.SGD(tnet.parameters(), lr=0.01),
                  torch.nn.CrossEntropyLoss(), torch.tensor(X), torch.tensor(y)),
    }
    first = {k: step(*v)[1] for k, v in sides.items()}  # warm-up (Numba compiles here)
    if abs(first["mg"] - first["torch"]) > 1e-3 * max(1.0, abs(first["torch"])):
        print(f"  warning: first-step losses differ: minigrad {first['mg']:.6f}, "
              f"torch {first['torch']:.6f}")
    times = {"mg": [], "torch": []}
    for r in range(repeats):
        for side in (("mg", "torch") if r % 2 == 0 else ("torch", "mg")):
            times[side].append(step(*sides[side])[0])
    return statistics.median(times["mg"]) * 1e3, statistics.median(times["torch"]) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["resnet18", "densenet"],
                    choices=["resnet18", "resnet18_small", "densenet"])
    ap.add_argument("--book", action="store_true",
                    help="the book's settings instead: 1x96x96 inputs at batch 32 and 128")
    ap.add_argument("--memory", action="store_true",
                    help="also each library's peak memory, from a child process of its own")
    ap.add_argument("--memory-of", choices=["mg", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()

    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    if args.memory_of:
        return peak_memory(args.memory_of, args.models[0], args.channels, args.size, args.batch)
    import numba
    import torch

    import minigrad as mg

    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print("\n".join(machine_lines(args.threads)))
    settings = ([(1, 96, 32), (1, 96, 128)] if args.book
                else [(args.channels, args.size, args.batch)])
    print(f"one training step (forward + backward + SGD), 10 classes, float32, CPU, "
          f"{args.threads} threads each; median of {args.repeats}, interleaved"
          + ("; peak MB: the high-water mark of a process running one library's steps "
             "(resident before the first step)" if args.memory else ""))
    header = f"{'model':<16}{'input':>12}{'batch':>6}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>7}"
    print(header + (f"{'minigrad MB':>18}{'torch MB':>16}" if args.memory else ""))
    for channels, size, batch in settings:
        for name in args.models:
            m_ms, t_ms = time_steps(mg, torch, name, channels, size, batch, args.repeats)
            line = (f"{name:<16}{f'{channels}x{size}x{size}':>12}{batch:>6}{m_ms:>12.1f}"
                    f"{t_ms:>10.1f}{t_ms / m_ms:>6.2f}x")
            if args.memory:
                memory = [child_peak_memory(lib, name, channels, size, batch, args.threads)
                          for lib in ("mg", "torch")]
                line += "".join(f"{f'{peak:.0f} ({before:.0f})':>17}" for peak, before in memory)
            print(line, flush=True)


if __name__ == "__main__":
    main()
