"""minigrad on an NVIDIA GPU (CuPy + Numba-CUDA kernels) against PyTorch (cuDNN) on the same GPU:
training steps of LeNet and ResNet-18, and conv2d forward + backward per layer, float32.

    python benchmarks/bench_gpu.py [--repeats 20] [--lenet-batch 256] [--resnet-batch 128]
                                   [--skip-models] [--skip-layers]

TF32 is off on both sides (torch: matmul and cuDNN flags; CuPy: CUPY_TF32=0, its default, so cuBLAS
computes in full float32). Every timed call is bracketed by a device synchronisation on its side,
the two libraries alternate (minigrad, torch, torch, minigrad, ...) after warm-up steps (Numba
compiles its kernels in the first ones), and the tables show medians. ratio = torch_ms / minigrad_ms:
above 1 means minigrad is faster. Each model's second row replays minigrad's step from a CUDA graph
(minigrad.cuda.graph, what Trainer(cuda_graph=True) does) against torch's eager step. LeNet is
d2l's with ReLU and max pooling (as demos/mnist_lenet.py) on 1x28x28; ResNet-18 is d2l's with the
small-input stem (minigrad.models.resnet18(3, 10, small_input=True)) on 3x32x32, its torch twin from
bench_models.py, weights copied across.
"""
import argparse
import os
import statistics
import sys
import time

os.environ["CUPY_TF32"] = "0"  # read when CuPy loads: full float32 GEMMs, as torch's below

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.device import backend  # noqa: E402


def lenet(nn):
    """The same LeNet written with torch.nn or minigrad.nn."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class Timer:
    """Median ms of calls, each bracketed by a synchronisation of its library's device work."""

    def __init__(self, synchronize):
        self.synchronize, self.seconds = synchronize, []

    def __call__(self, fn):
        self.synchronize()
        start = time.perf_counter()
        fn()
        self.synchronize()
        self.seconds.append(time.perf_counter() - start)

    def ms(self):
        return statistics.median(self.seconds) * 1e3


def interleaved(mg_fn, torch_fn, mg_sync, torch_sync, repeats, warmup=3):
    """Median ms of mg_fn and torch_fn (None: minigrad only), alternating which goes first."""
    for _ in range(warmup):
        mg_fn()
        if torch_fn is not None:
            torch_fn()
    mg_timer, torch_timer = Timer(mg_sync), Timer(torch_sync)
    for r in range(repeats):
        order = [(mg_timer, mg_fn), (torch_timer, torch_fn)]
        for timer, fn in (order if r % 2 == 0 else order[::-1]):
            if fn is not None:
                timer(fn)
    return mg_timer.ms(), (torch_timer.ms() if torch_fn is not None else None)


def row(name, mg_ms, torch_ms, width=40):
    if torch_ms is None:
        return f"{name:<{width}}{mg_ms:>12.3f}{'-':>10}{'-':>8}"
    return f"{name:<{width}}{mg_ms:>12.3f}{torch_ms:>10.3f}{torch_ms / mg_ms:>8.2f}"


def training_step(net, optimizer, loss_fn, X, y):
    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(X), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def bench_models(torch, args, mg_sync, torch_sync):
    from bench_models import torch_models

    rng = np.random.default_rng(0)
    cases = [("LeNet, 1x28x28", args.lenet_batch, (1, 28, 28),
              lambda: lenet(mg.nn), lambda: lenet(torch.nn)),
             ("ResNet-18 (small input), 3x32x32", args.resnet_batch, (3, 32, 32),
              lambda: mg.models.resnet18(3, 10, small_input=True),
              lambda: torch_models()["resnet18_small"](3, 10))]
    print(f"\ntraining step (forward, backward, SGD with momentum), float32, median of "
          f"{args.repeats}")
    print(f"{'model, batch':<40}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>8}"
          f"{'minigrad img/s':>16}{'torch img/s':>13}")
    for name, batch, shape, make_mg, make_torch in cases:
        X = rng.standard_normal((batch,) + shape).astype(np.float32)
        y = rng.integers(0, 10, batch)
        mg_net = make_mg().to("cuda")
        mg_step = training_step(mg_net, mg.optim.SGD(mg_net.parameters(), lr=0.01, momentum=0.9),
                                mg.nn.CrossEntropyLoss(), mg.tensor(X, device="cuda"),
                                mg.tensor(y, device="cuda"))
        torch_step = None
        if torch is not None:
            torch.manual_seed(0)
            torch_net = make_torch().cuda()
            mg_net.load_state_dict({k: v.detach().cpu().numpy()
                                    for k, v in torch_net.state_dict().items()})
            torch_step = training_step(torch_net, torch.optim.SGD(torch_net.parameters(), lr=0.01,
                                                                  momentum=0.9),
                                       torch.nn.CrossEntropyLoss(),
                                       torch.tensor(X, device="cuda"), torch.tensor(y, device="cuda"))
            first_mg, first_torch = mg_step().item(), torch_step().item()  # same weights, same batch
            if abs(first_mg - first_torch) > 1e-3 * max(1.0, abs(first_torch)):
                print(f"  warning: first-step losses differ: minigrad {first_mg:.6f}, "
                      f"torch {first_torch:.6f}")
        for label, step in ((f"{name}, batch {batch}", mg_step),
                            ("  the same, minigrad replaying a CUDA graph", graphed(mg_step))):
            mg_ms, torch_ms = interleaved(step, torch_step, mg_sync, torch_sync, args.repeats)
            throughput = "" if torch_ms is None else f"{batch / torch_ms * 1e3:>13.0f}"
            print(row(label, mg_ms, torch_ms) + f"{batch / mg_ms * 1e3:>16.0f}" + throughput,
                  flush=True)


def graphed(step, warmup=3):
    """`step` captured in a minigrad.cuda.CUDAGraph after `warmup` eager calls (the first creates
    the momentum buffers): each call of the result is one replay of the whole step."""
    for _ in range(warmup):
        step()
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        step()
    return graph.replay


# (name, batch, C_in, C_out, size, kernel, stride, padding): LeNet's layers at its benchmark batch,
# then every distinct convolution of the small-input ResNet-18 at batch 128.
def conv_layers(lenet_batch, resnet_batch):
    layers = [("LeNet conv 1->6 k5 p2 28x28", lenet_batch, 1, 6, 28, 5, 1, 2),
              ("LeNet conv 6->16 k5 14x14", lenet_batch, 6, 16, 14, 5, 1, 0),
              ("ResNet conv3x3 3->64 32x32 (stem)", resnet_batch, 3, 64, 32, 3, 1, 1)]
    for c_in, c_out, size in ((64, 64, 32), (64, 128, 32), (128, 128, 16), (128, 256, 16),
                              (256, 256, 8), (256, 512, 8), (512, 512, 4)):
        stride = 1 if c_in == c_out else 2
        layers.append((f"ResNet conv3x3 {c_in}->{c_out}{' s2' if stride == 2 else ''} "
                       f"{size}x{size}", resnet_batch, c_in, c_out, size, 3, stride, 1))
        if stride == 2:
            layers.append((f"ResNet conv1x1 {c_in}->{c_out} s2 {size}x{size}", resnet_batch, c_in,
                           c_out, size, 1, 2, 0))
    return layers


def bench_layers(torch, args, mg_sync, torch_sync):
    gpu = backend("cuda")
    kernels, cupy = gpu.kernels, gpu.xp
    rng = np.random.default_rng(0)
    print(f"\nconv2d forward + backward (input, weight, bias), float32, median of {args.repeats}")
    print(f"{'layer (batch)':<40}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>8}")
    for name, n, c_in, c_out, size, k, stride, padding in conv_layers(args.lenet_batch,
                                                                     args.resnet_batch):
        params = ((stride, stride), (padding, padding), (1, 1), 1)
        x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
        w = rng.standard_normal((c_out, c_in, k, k)).astype(np.float32)
        b = rng.standard_normal(c_out).astype(np.float32)
        xg, wg, bg = cupy.asarray(x), cupy.asarray(w), cupy.asarray(b)
        grad_y = cupy.asarray(rng.standard_normal(
            kernels.conv2d_forward(xg, wg, bg, *params).shape).astype(np.float32))

        def mg_layer():
            kernels.conv2d_forward(xg, wg, bg, *params)
            kernels.conv2d_backward(grad_y, xg, wg, (True, True, True), *params)

        torch_layer = None if torch is None else torch_conv_layer(torch, (x, w, b), grad_y,
                                                                  stride, padding)
        print(row(f"{name} ({n})", *interleaved(mg_layer, torch_layer, mg_sync, torch_sync,
                                                 args.repeats)), flush=True)


def torch_conv_layer(torch, arrays, grad_y, stride, padding):
    """torch's conv2d forward + backward on the same values, on its GPU."""
    xt, wt, bt = (torch.tensor(a, device="cuda", requires_grad=True) for a in arrays)
    grad_yt = torch.as_tensor(grad_y, device="cuda")  # CuPy's memory, through CUDA array interface

    def layer():
        torch.nn.functional.conv2d(xt, wt, bt, stride, padding).backward(grad_yt)
        xt.grad = wt.grad = bt.grad = None
    return layer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--lenet-batch", type=int, default=256)
    parser.add_argument("--resnet-batch", type=int, default=128)
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--skip-layers", action="store_true")
    args = parser.parse_args()

    if not mg.cuda.is_available():
        try:
            backend("cuda")
        except RuntimeError as error:
            sys.exit(f"bench_gpu.py needs an NVIDIA GPU: {error}")
    cupy = backend("cuda").xp
    mg_sync = cupy.cuda.get_current_stream().synchronize
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and not torch.cuda.is_available():
        print("PyTorch has no CUDA here: minigrad's times only")
        torch = None
    torch_sync = None
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch_sync = torch.cuda.synchronize

    import numba_cuda
    properties = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    print(f"GPU: {properties['name'].decode()}; CuPy {cupy.__version__} (CUPY_TF32="
          f"{os.environ['CUPY_TF32']}), numba-cuda {numba_cuda.__version__}"
          + ("" if torch is None else f", torch {torch.__version__} (cuDNN "
             f"{torch.backends.cudnn.version()}, TF32 off)"))
    if not args.skip_models:
        bench_models(torch, args, mg_sync, torch_sync)
    if not args.skip_layers:
        bench_layers(torch, args, mg_sync, torch_sync)


if __name__ == "__main__":
    main()
