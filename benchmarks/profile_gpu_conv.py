"""Where the GPU time of minigrad's conv2d forward + backward goes, stage by stage, on ResNet-18's
widest layers (small-input ResNet at batch 128), against PyTorch's (cuDNN) whole forward + backward.

    python benchmarks/profile_gpu_conv.py [--repeats 20]

Each stage is timed alone with CUDA events (median ms): im2col, the three GEMMs, col2im, the
(C_out, N * pixels) reordering of the output gradient, the forward's reordering into (N, C_out, ...)
with the bias, and the bias gradient.
"""
import argparse
import os
import statistics

os.environ["CUPY_TF32"] = "0"

import numpy as np  # noqa: E402

from minigrad.device import backend  # noqa: E402

LAYERS = [("64->64 3x3 32x32", 128, 64, 64, 32, 3, 1, 1),
          ("128->128 3x3 16x16", 128, 128, 128, 16, 3, 1, 1),
          ("64->128 3x3 s2 32x32", 128, 64, 128, 32, 3, 2, 1)]


def gpu_ms(cupy, fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    gpu = backend("cuda")
    cupy = gpu.xp
    from minigrad.kernels.cuda import conv
    from minigrad.kernels.cuda.blas import matmul
    from minigrad.kernels.cuda.runtime import launch
    try:
        import torch
        torch.backends.cudnn.allow_tf32 = False
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    for name, n, c_in, c_out, size, k, stride, padding in LAYERS:
        params = ((stride, stride), (padding, padding), (1, 1), 1)
        x = cupy.asarray(rng.standard_normal((n, c_in, size, size)), np.float32)
        w = cupy.asarray(rng.standard_normal((c_out, c_in, k, k)), np.float32)
        b = cupy.asarray(rng.standard_normal(c_out), np.float32)
        g = conv._Geometry(x.shape, w.shape, *params)
        grad_y = cupy.asarray(rng.standard_normal((n, c_out, g.OH, g.OW)), np.float32)
        weights = w.reshape(1, c_out, g.rows)
        cols = g.columns(x, 0, n)
        rows = g.grad_rows(grad_y, 0, n)
        product = matmul(weights, cols)
        y = cupy.empty_like(grad_y)
        grad_x = cupy.empty_like(x)
        grad_cols = matmul(weights.transpose(0, 2, 1), rows).reshape(g.rows, -1)
        stages = [
            ("im2col", lambda: g.columns(x, 0, n)),
            ("GEMM forward", lambda: matmul(weights, cols)),
            ("output reorder + bias", lambda: cupy.add(
                product.reshape(c_out, n, g.pixels).transpose(1, 0, 2),
                b.reshape(1, c_out, 1), out=y.reshape(n, c_out, g.pixels))),
            ("grad_y reorder", lambda: g.grad_rows(grad_y, 0, n)),
            ("GEMM grad columns", lambda: matmul(weights.transpose(0, 2, 1), rows)),
            ("col2im", lambda: launch(conv._col2im, grad_x.size, grad_cols, grad_x,
                                      *g.kernel_args())),
            ("GEMM grad weight", lambda: matmul(rows, cols.transpose(0, 2, 1))),
            ("bias grad", lambda: grad_y.sum(axis=(0, 2, 3))),
            ("whole forward + backward", lambda: (
                conv.conv2d_forward(x, w, b, *params),
                conv.conv2d_backward(grad_y, x, w, (True, True, True), *params))),
        ]
        print(f"\n{name}, batch {n}: GPU ms, median of {args.repeats}")
        for stage, fn in stages:
            print(f"  {stage:<28}{gpu_ms(cupy, fn, args.repeats):>8.3f}")
        if torch is not None:
            xt, wt, bt = (torch.as_tensor(a, device="cuda").requires_grad_() for a in (x, w, b))
            gt = torch.as_tensor(grad_y, device="cuda")

            def torch_layer():
                torch.nn.functional.conv2d(xt, wt, bt, stride, padding).backward(gt)
            print(f"  {'torch forward + backward':<28}{gpu_ms(cupy, torch_layer, args.repeats):>8.3f}")


if __name__ == "__main__":
    main()
