"""minigrad's CPU conv2d and pooling kernels against PyTorch, forward + backward, float32.

Both sides use the same thread count, are warmed up, and are timed interleaved in one process
(minigrad, torch, minigrad, torch, ...) so that a noisy neighbour or a frequency change hits both;
the table shows medians. ratio = torch_ms / minigrad_ms: above 1 means minigrad is faster.

    python benchmarks/bench_conv_pool.py [--threads 2] [--repeats 15] [--filter resnet]
    python benchmarks/bench_conv_pool.py --compile-times   # Numba cold / warm cache, float32

The process holds two OpenMP runtimes (Numba's and PyTorch's); with the default policy each one's
idle workers spin on the cores the other needs, and in this step-by-step interleaving minigrad then
effectively runs on one core (measured: the 1x1 stride-2 layers take 4.4 ms alone, 8-10 ms right
after a torch step). So both run under machine.share_openmp_cores's policy, set before either
loads: a short spin, then sleep.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from machine import machine_lines, share_openmp_cores  # noqa: E402

share_openmp_cores()

from minigrad.kernels import cpu as K  # noqa: E402


def conv_case(name, n, c_in, c_out, size, kernel, stride=1, padding=0):
    geometry = ((stride, stride), (padding, padding), (1, 1), 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, kernel, kernel), dtype=np.float32)
    b = rng.standard_normal(c_out, dtype=np.float32)
    y = K.conv2d_forward(x, w, b, *geometry)
    grad_y = rng.standard_normal(y.shape, dtype=np.float32)

    def minigrad_step():
        K.conv2d_forward(x, w, b, *geometry)
        K.conv2d_backward(grad_y, x, w, (True, True, True), *geometry)

    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    grad_yt = torch.from_numpy(grad_y)

    def torch_step():
        F.conv2d(xt, wt, bt, *geometry).backward(grad_yt)

    return name, minigrad_step, torch_step


def pool_case(name, kind, n, c, size, kernel, stride, padding=0):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    window = ((kernel, kernel), (stride, stride), (padding, padding))
    if kind == "max":
        y, argmax = K.max_pool2d_forward(x, *window, (1, 1), False)
        grad_y = rng.standard_normal(y.shape, dtype=np.float32)

        def minigrad_step():
            _, argmax = K.max_pool2d_forward(x, *window, (1, 1), False)
            K.max_pool2d_backward(grad_y, argmax, x.shape, *window, (1, 1), False)

        def torch_step():
            F.max_pool2d(xt, kernel, stride, padding).backward(torch.from_numpy(grad_y))
    else:
        y = K.avg_pool2d_forward(x, *window, False, True, None)
        grad_y = rng.standard_normal(y.shape, dtype=np.float32)

        def minigrad_step():
            K.avg_pool2d_forward(x, *window, False, True, None)
            K.avg_pool2d_backward(grad_y, x.shape, *window, False, True, None)

        def torch_step():
            F.avg_pool2d(xt, kernel, stride, padding).backward(torch.from_numpy(grad_y))
    return name, minigrad_step, torch_step


def cases():
    return [
        conv_case("lenet conv 1->6 k5 p2 28x28 b256", 256, 1, 6, 28, 5, padding=2),
        pool_case("lenet avgpool 2x2 6x28x28 b256", "avg", 256, 6, 28, 2, 2),
        pool_case("lenet maxpool 2x2 6x28x28 b256", "max", 256, 6, 28, 2, 2),
        conv_case("lenet conv 6->16 k5 14x14 b256", 256, 6, 16, 14, 5),
        pool_case("lenet avgpool 2x2 16x10x10 b256", "avg", 256, 16, 10, 2, 2),
        pool_case("lenet maxpool 2x2 16x10x10 b256", "max", 256, 16, 10, 2, 2),
        conv_case("resnet conv3x3 64->64 32x32 b32", 32, 64, 64, 32, 3, padding=1),
        conv_case("resnet conv3x3 64->128 s2 32x32 b32", 32, 64, 128, 32, 3, stride=2, padding=1),
        conv_case("resnet conv3x3 128->128 16x16 b32", 32, 128, 128, 16, 3, padding=1),
        conv_case("resnet conv3x3 128->256 s2 16x16 b32", 32, 128, 256, 16, 3, stride=2, padding=1),
        conv_case("resnet conv3x3 256->256 8x8 b32", 32, 256, 256, 8, 3, padding=1),
        conv_case("resnet conv3x3 256->512 s2 8x8 b32", 32, 256, 512, 8, 3, stride=2, padding=1),
        conv_case("resnet conv3x3 512->512 4x4 b32", 32, 512, 512, 4, 3, padding=1),
        conv_case("resnet stem conv7x7 s2 1->64 96x96 b32", 32, 1, 64, 96, 7, stride=2, padding=3),
        conv_case("resnet conv1x1 64->128 s2 32x32 b32", 32, 64, 128, 32, 1, stride=2),
        conv_case("resnet conv1x1 128->256 s2 16x16 b32", 32, 128, 256, 16, 1, stride=2),
        conv_case("resnet conv1x1 256->512 s2 8x8 b32", 32, 256, 512, 8, 1, stride=2),
        pool_case("resnet maxpool 3x3 s2 p1 64x32x32 b32", "max", 32, 64, 32, 3, 2, padding=1),
        # the 3x3 layers of d2l's ResNet-18 on 3x32x32 inputs (bench_models.py's step)
        conv_case("d2l resnet18 conv3x3 64->64 8x8 b32", 32, 64, 64, 8, 3, padding=1),
        conv_case("d2l resnet18 conv3x3 64->128 s2 8x8 b32", 32, 64, 128, 8, 3, stride=2,
                  padding=1),
        conv_case("d2l resnet18 conv3x3 128->128 4x4 b32", 32, 128, 128, 4, 3, padding=1),
        conv_case("d2l resnet18 conv3x3 128->256 s2 4x4 b32", 32, 128, 256, 4, 3, stride=2,
                  padding=1),
        conv_case("d2l resnet18 conv3x3 256->256 2x2 b32", 32, 256, 256, 2, 3, padding=1),
        conv_case("d2l resnet18 conv3x3 256->512 s2 2x2 b32", 32, 256, 512, 2, 3, stride=2,
                  padding=1),
        conv_case("d2l resnet18 conv3x3 512->512 1x1 b32", 32, 512, 512, 1, 3, padding=1),
        # the book's 1x96x96 inputs: the stages see 24x24 down to 3x3
        conv_case("d2l 96x96 conv3x3 64->128 s2 24x24 b32", 32, 64, 128, 24, 3, stride=2,
                  padding=1),
        conv_case("d2l 96x96 conv3x3 128->128 12x12 b32", 32, 128, 128, 12, 3, padding=1),
        conv_case("d2l 96x96 conv3x3 128->256 s2 12x12 b32", 32, 128, 256, 12, 3, stride=2,
                  padding=1),
        conv_case("d2l 96x96 conv3x3 256->256 6x6 b32", 32, 256, 256, 6, 3, padding=1),
        conv_case("d2l 96x96 conv3x3 256->512 s2 6x6 b32", 32, 256, 512, 6, 3, stride=2,
                  padding=1),
        conv_case("d2l 96x96 conv3x3 512->512 3x3 b32", 32, 512, 512, 3, 3, padding=1),
        # DenseNet's growth layers (C_in -> 32) on 3x32x32 inputs' 8x8 and 4x4 planes
        conv_case("d2l densenet conv3x3 160->32 8x8 b32", 32, 160, 32, 8, 3, padding=1),
        conv_case("d2l densenet conv3x3 96->32 4x4 b32", 32, 96, 32, 4, 3, padding=1),
        conv_case("d2l densenet conv3x3 192->32 4x4 b32", 32, 192, 32, 4, 3, padding=1),
    ]


def elapsed_ms(step):
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1e3


FIRST_CALLS = """
import time
start = time.perf_counter()
import numpy as np  # noqa: E402
from minigrad.kernels import cpu as K  # noqa: E402
imported = time.perf_counter()
x = np.ones((2, 3, 8, 8), np.float32)
w = np.ones((4, 3, 3, 3), np.float32)
geometry = ((1, 1), (1, 1), (1, 1), 1)
y = K.conv2d_forward(x, w, np.ones(4, np.float32), *geometry)
K.conv2d_backward(y, x, w, (True, True, True), *geometry)
window = ((2, 2), (2, 2), (0, 0))
pooled, argmax = K.max_pool2d_forward(x, *window, (1, 1), False)
K.max_pool2d_backward(pooled, argmax, x.shape, *window, (1, 1), False)
K.avg_pool2d_backward(K.avg_pool2d_forward(x, *window, False, True, None), x.shape, *window, False,
                      True, None)
convolved = time.perf_counter()
K.adaptive_avg_pool2d_backward(K.adaptive_avg_pool2d_forward(x, (1, 1)), x.shape)
pooled, argmax = K.adaptive_max_pool2d_forward(x, (1, 1))
K.adaptive_max_pool2d_backward(pooled, argmax, x.shape)
normed, mean, invstd = K.batch_norm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), 1e-5)
K.batch_norm_backward(normed, x, np.ones(3, np.float32), mean, invstd)
done = time.perf_counter()
print(f"import {imported - start:.2f} s, conv2d + max/avg pool fwd+bwd {convolved - imported:.2f} s, "
      f"whole table {done - imported:.2f} s")
"""


def compile_times():
    """First calls of every kernel (float32) in fresh processes: an empty Numba cache, then warm."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        for label in ("cold cache", "warm cache"):
            result = subprocess.run([sys.executable, "-c", FIRST_CALLS], env=env, check=True,
                                    capture_output=True, text=True)
            print(f"{label}: {result.stdout.strip()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--compile-times", action="store_true",
                        help="time Numba compilation (cold and warm cache) instead")
    args = parser.parse_args()
    if args.compile_times:
        compile_times()
        return
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)

    print("\n".join(machine_lines(args.threads)))
    print(f"float32, median of {args.repeats} interleaved repeats")
    print(f"{'case':42s} {'minigrad ms':>12s} {'torch ms':>10s} {'ratio':>7s}")
    for name, minigrad_step, torch_step in cases():
        if args.filter not in name:
            continue
        for _ in range(2):
            minigrad_step()
            torch_step()
        minigrad_times, torch_times = [], []
        for _ in range(args.repeats):
            minigrad_times.append(elapsed_ms(minigrad_step))
            torch_times.append(elapsed_ms(torch_step))
        mine, theirs = np.median(minigrad_times), np.median(torch_times)
        print(f"{name:42s} {mine:12.2f} {theirs:10.2f} {theirs / mine:7.2f}", flush=True)


if __name__ == "__main__":
    main()
