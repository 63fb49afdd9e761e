"""Winograd F(4x4, 3x3) against im2col + GEMM (conv_per_sample) and torch, ResNet's 3x3 layers of
equal channels at batch 32 (float32 unless --dtype), interleaved in one process: the median of the
repeats, in ms.

    python benchmarks/bench_winograd.py [--repeats 9] [--threads 2] [--dtype float64] [--extra]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from minigrad.kernels.cpu import conv_per_sample, winograd
from minigrad.kernels.cpu.conv import _scratch

SHAPES = [(32, 64, 32), (32, 128, 16), (32, 256, 8)]  # batch, channels, plane size; padding 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--extra", action="store_true", help="also ResNet-18's 512 -> 512 4x4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    one, geometry = (1, 1), ((1, 1), (1, 1), (1, 1), 1)
    for n, c, size in SHAPES + ([(32, 512, 4)] if args.extra else []):
        x = rng.standard_normal((n, c, size, size), dtype=dtype)
        w = rng.standard_normal((c, c, 3, 3), dtype=dtype) * dtype.type(0.05)
        b = rng.standard_normal(c, dtype=dtype)
        gy = rng.standard_normal((n, c, size, size), dtype=dtype)
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        gyt = torch.tensor(gy)

        def torch_forward():
            with torch.no_grad():
                F.conv2d(xt, wt, bt, 1, 1)

        def torch_both():
            xt.grad = wt.grad = bt.grad = None
            F.conv2d(xt, wt, bt, 1, 1).backward(gyt)

        cases = {
            "fwd gemm": lambda: conv_per_sample.forward(x, w, b, *geometry, size, size, _scratch),
            "fwd wino": lambda: winograd.forward(x, w, b, one, size, size, _scratch),
            "fwd torch": torch_forward,
            "dx gemm": lambda: conv_per_sample.backward_input(gy, w, x.shape, *geometry, _scratch),
            "dx wino": lambda: winograd.backward_input(gy, w, x.shape, one, _scratch),
            "dw gemm": lambda: conv_per_sample.backward_weight(gy, x, w.shape, *geometry, _scratch),
            "dw wino": lambda: winograd.backward_weight(gy, x, one, _scratch),
            "fwd+bwd torch": torch_both,
        }
        times = {name: [] for name in cases}
        for case in cases.values():
            case()
        for _ in range(args.repeats):
            for name, case in cases.items():
                start = time.perf_counter()
                case()
                times[name].append(1e3 * (time.perf_counter() - start))
        print(f"{c}->{c} {size}x{size} b{n}: " + ", ".join(
            f"{name} {np.median(t):.2f}" for name, t in times.items()), flush=True)


if __name__ == "__main__":
    main()
