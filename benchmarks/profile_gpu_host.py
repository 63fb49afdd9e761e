"""Where a GPU training step's time goes on the host: the host (Python) time of minigrad's and
PyTorch's LeNet and ResNet-18 steps against their synchronised times, a cProfile of minigrad's
steps, and the host cost of single CuPy calls and kernel launches. The steps are host-bound where
the two times agree.

    python benchmarks/profile_gpu_host.py [--steps 20] [--top 40] [--skip-profile] [--skip-calls]
"""
import argparse
import cProfile
import io
import os
import pstats
import statistics
import time

os.environ["CUPY_TF32"] = "0"

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from bench_gpu import lenet, training_step  # noqa: E402
from minigrad.device import backend  # noqa: E402


def make_step(library, kind, batch):
    rng = np.random.default_rng(0)
    shape = (1, 28, 28) if kind == "LeNet" else (3, 32, 32)
    X = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = rng.integers(0, 10, batch)
    if library is mg:
        net = lenet(mg.nn) if kind == "LeNet" else mg.models.resnet18(3, 10, small_input=True)
    else:
        from bench_models import torch_models
        net = lenet(library.nn) if kind == "LeNet" else torch_models()["resnet18_small"](3, 10)
    net = net.to("cuda")
    optimizer = library.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    return training_step(net, optimizer, library.nn.CrossEntropyLoss(),
                         library.tensor(X, device="cuda"), library.tensor(y, device="cuda"))


def host_and_synced_ms(step, synchronize, steps):
    """Medians of the time until step() returns and until its GPU work is done."""
    for _ in range(5):
        step()
    host, synced = [], []
    for _ in range(steps):
        synchronize()
        start = time.perf_counter()
        step()
        returned = time.perf_counter()
        synchronize()
        host.append(returned - start)
        synced.append(time.perf_counter() - start)
    return statistics.median(host) * 1e3, statistics.median(synced) * 1e3


def call_costs(cupy, synchronize, calls=1000):
    """Host microseconds a call of each kind (the GPU work runs behind)."""
    kernels = backend("cuda").kernels
    x = cupy.ones((256, 6, 28, 28), cupy.float32)
    a, b = cupy.ones((64, 576), cupy.float32), cupy.ones((576, 4096), cupy.float32)
    cases = [("CuPy x + 1", lambda: x + 1), ("CuPy empty", lambda: cupy.empty_like(x)),
             ("CuPy x.sum(axis=(0, 2, 3))", lambda: x.sum(axis=(0, 2, 3))),
             ("CuPy where(x <= 0, 0, x)", lambda: cupy.where(x <= 0, 0, x)),
             ("CuPy a @ b (cuBLAS)", lambda: a @ b), ("CuPy copy", lambda: x.copy()),
             ("kernel table relu_backward", lambda: kernels.relu_backward(x, x)),
             ("kernel table max_pool2d_forward",
              lambda: kernels.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False))]
    for name, call in cases:
        for _ in range(20):
            call()
        synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        print(f"{name:<40}{(time.perf_counter() - start) / calls * 1e6:>8.1f} us")
        synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--skip-calls", action="store_true")
    args = parser.parse_args()
    import torch
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    cupy = backend("cuda").xp
    synchronize = cupy.cuda.Device().synchronize
    print(f"{'step':<32}{'host ms':>10}{'synced ms':>11}")
    for kind, batch in (("LeNet", 256), ("ResNet-18", 128)):
        step = make_step(mg, kind, batch)
        for library, run, sync in (("minigrad", step, synchronize),
                                   ("torch", make_step(torch, kind, batch), torch.cuda.synchronize)):
            host, synced = host_and_synced_ms(run, sync, args.steps)
            print(f"{library + ' ' + kind + ', batch ' + str(batch):<32}{host:>10.3f}{synced:>11.3f}")
        if not args.skip_profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.steps):
                step()
            synchronize()
            profile.disable()
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top)
            print(f"\nminigrad {kind}, {args.steps} steps under cProfile:\n{text.getvalue()}")
    if not args.skip_calls:
        print("\nhost time of one call")
        call_costs(cupy, synchronize)


if __name__ == "__main__":
    main()
