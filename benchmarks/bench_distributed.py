"""Data-parallel training on one machine: a step of 1 process x 2 threads against 2 MPI ranks x 1
thread (DistributedDataParallel, each rank half the global batch), minigrad beside PyTorch (its DDP
over gloo on loopback) in the same processes, steps interleaved; and the all-reduce of one step's
gradients alone.

    python benchmarks/bench_distributed.py [--models lenet resnet18] [--repeats 15]

The script launches itself: once as one process, once under `mpiexec -n 2` (from the venv, the
`distributed` extra). Prints per model the median step time of each library in each layout, the
ratio of the layouts (above 1: two ranks are faster), and the all-reduce's time for the gradients'
bytes, the quantity the README's scaling model needs.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import numpy as np
from machine import machine_lines, share_openmp_cores

share_openmp_cores()

GLOBAL_BATCH = {"lenet": 256, "resnet18": 32}
INPUT = {"lenet": (1, 28, 28), "resnet18": (3, 32, 32)}


def build(lib, name):
    """The same architecture in minigrad or torch: LeNet (ReLU, max pooling) or d2l's ResNet-18."""
    nn = lib.nn
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    from bench_models import minigrad_models, torch_models
    return (torch_models() if lib.__name__ == "torch" else minigrad_models())[name](3, 10)


def worker(args):
    import torch
    import torch.distributed as tdist

    import minigrad as mg
    import minigrad.distributed as dist

    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    threads = int(os.environ["BENCH_THREADS"])
    mg.set_num_threads(threads)
    torch.set_num_threads(threads)
    if size > 1:
        tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank,
                                 world_size=size)
    if rank == 0:
        print("\n".join(machine_lines(threads)))
        print(f"layout: {size} process(es) x {threads} thread(s)")
    for name in args.models:
        per_rank = GLOBAL_BATCH[name] // size
        rng = np.random.default_rng(rank)
        X = rng.standard_normal((per_rank,) + INPUT[name]).astype(np.float32)
        y = rng.integers(0, 10, per_rank)
        sides = []
        for lib in (mg, torch):
            lib.manual_seed(0)
            net = build(lib, name)
            if size > 1:
                net = (mg.nn.parallel.DistributedDataParallel(net) if lib is mg else
                       torch.nn.parallel.DistributedDataParallel(net))
            sides.append((lib, net, lib.optim.SGD(net.parameters(), lr=0.01),
                          lib.nn.CrossEntropyLoss(), lib.tensor(X), lib.tensor(y)))
        times = {mg: [], torch: []}
        for repeat in range(args.repeats + 2):  # two warm-up steps
            for lib, net, optimizer, loss_fn, xb, yb in sides:
                t0 = time.perf_counter()
                optimizer.zero_grad()
                loss = loss_fn(net(xb), yb)
                loss.backward()
                optimizer.step()
                loss.item()
                if repeat >= 2:
                    times[lib].append(time.perf_counter() - t0)
        count = sum(p.numel() for p in sides[0][1].parameters())
        reduce_ms = {mg: 0.0, torch: 0.0}
        if size > 1:
            flat = {mg: mg.zeros(count), torch: torch.zeros(count)}
            spans = {mg: [], torch: []}
            for _ in range(args.repeats):
                for lib, reduce in ((mg, dist.all_reduce), (torch, tdist.all_reduce)):
                    t0 = time.perf_counter()
                    reduce(flat[lib])
                    spans[lib].append(time.perf_counter() - t0)
            reduce_ms = {lib: 1e3 * statistics.median(spans[lib]) for lib in spans}
        medians = mg.tensor([1e3 * statistics.median(times[mg]), 1e3 * statistics.median(times[torch])])
        dist.all_reduce(medians, op=dist.ReduceOp.MAX)  # a step is as slow as its slowest rank
        if rank == 0:
            print(f"RESULT {name} {size} {medians[0].item():.3f} {medians[1].item():.3f} "
                  f"{4 * count} {reduce_ms[mg]:.3f} {reduce_ms[torch]:.3f}", flush=True)
    if size > 1:
        tdist.destroy_process_group()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_layout(args, ranks, threads):
    command = [sys.executable, __file__, "--worker", "--repeats", str(args.repeats),
               "--port", str(free_port()), "--models", *args.models]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
        command = [mpiexec, "-n", str(ranks)] + command
    env = dict(os.environ, BENCH_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode:
        sys.exit(f"{ranks} rank(s) failed:\n{done.stdout}\n{done.stderr}")
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            name, _, mg_ms, torch_ms, nbytes, mg_reduce, torch_reduce = line.split()[1:]
            results[name] = (float(mg_ms), float(torch_ms), int(nbytes), float(mg_reduce),
                             float(torch_reduce))
        elif ranks == 1:
            print(line)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lenet", "resnet18"],
                        choices=sorted(GLOBAL_BATCH))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    one, two = run_layout(args, 1, 2), run_layout(args, 2, 1)
    print(f"one training step at the global batch (median of {args.repeats}); 2 ranks: DDP, each "
          f"rank half the batch; all-reduce: one step's gradients, alone")
    print(f"{'model':9} {'batch':>5} {'library':9} {'1x2 ms':>8} {'2x1 ms':>8} {'1x2/2x1':>8} "
          f"{'grad MB':>8} {'all-reduce ms':>14}")
    for name in args.models:
        for column, library in ((0, "minigrad"), (1, "torch")):
            single, double = one[name][column], two[name][column]
            print(f"{name:9} {GLOBAL_BATCH[name]:5} {library:9} {single:8.1f} {double:8.1f} "
                  f"{single / double:8.2f} {two[name][2] / 2**20:8.2f} {two[name][3 + column]:14.2f}")


if __name__ == "__main__":
    main()
