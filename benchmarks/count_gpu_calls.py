"""What one eager GPU training step asks of the host: its kernel-table calls, Numba-CUDA launches
and array-module calls (CuPy's on a GPU), counted, not timed, so it runs without a GPU: under
Numba's CUDA simulator, on a "cuda" device whose arrays are NumPy's (as tests/cuda_sim_cases.py
builds it). Each launch and each CuPy call costs the host 12-27 us on the H100 (README, GPU), so
these counts bound the eager step's host time from below.

    python benchmarks/count_gpu_calls.py

The simulator runs every CUDA thread in Python: LeNet's input is tiny (batch 2), and ResNet-18
is left out (its step ran past 15 minutes). The counts do not depend on the batch. Array methods
(x.sum(), x.reshape()) are not counted: only calls through the array module.
"""
import argparse
import collections
import os
import sys

os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba.cuda is first imported

import numpy as np  # noqa: E402
from bench_lenet import lenet  # noqa: E402


class Counted:
    """A callable of the array module that counts its calls (and keeps a ufunc's methods)."""

    def __init__(self, function, name, counts):
        self._function, self._name, self._counts = function, name, counts

    def __call__(self, *args, **kwargs):
        self._counts[self._name] += 1
        return self._function(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._function, name)


class CountingModule:
    """NumPy as an array module whose functions count their calls under `key`."""

    def __init__(self, counts, key):
        self._counts, self._key = counts, key

    def __getattr__(self, name):
        value = getattr(np, name)
        if callable(value) and not isinstance(value, type):
            return Counted(value, self._key, self._counts)
        return value


def counting_backend(counts):
    """A "cuda" backend on the simulated CUDA table, every kernel-table call, launch and array-module
    call (in the op layer and inside the kernels) counted."""
    import types

    from minigrad.device import Backend, Device, _backends
    from minigrad.kernels import cuda as table
    from minigrad.kernels.table import NAMES

    def counted(kernel):
        def call(*args, **kwargs):
            counts["kernel-table calls"] += 1
            return kernel(*args, **kwargs)
        return call

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("minigrad.kernels.cuda."):
            if hasattr(module, "launch") and module.__name__ != "minigrad.kernels.cuda.runtime":
                module.launch = Counted(module.launch, "Numba-CUDA launches", counts)
            if getattr(module, "xp", None) is np:
                module.xp = CountingModule(counts, "array-module calls in the kernels")
    kernels = types.SimpleNamespace(runtime=table.runtime,
                                    **{name: counted(getattr(table, name)) for name in NAMES})
    backend = Backend(Device("cuda"), CountingModule(counts, "array-module calls in the ops"),
                      kernels)
    _backends["cuda"] = backend
    return backend


def step_counts():
    import minigrad as mg
    counts = collections.Counter()
    counting_backend(counts)
    mg.manual_seed(0)
    shape = (2, 1, 28, 28)
    net = lenet(mg.nn).to("cuda")
    optimizer = mg.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal(shape).astype(np.float32)).to("cuda")
    y = mg.tensor(rng.integers(0, 10, shape[0])).to("cuda")

    def step():
        loss = mg.nn.functional.cross_entropy(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # the first step makes the momentum buffers
    counts.clear()
    step()
    return counts, sum(p.numel() for p in net.parameters()), len(list(net.parameters()))


def main():
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    print("one eager training step (forward, backward, SGD with momentum), on the simulated CUDA "
          "table, counted")
    counts, weights, tensors = step_counts()
    print(f"LeNet ({tensors} parameter tensors, {weights} weights): " + ", ".join(
        f"{key} {value}" for key, value in sorted(counts.items())))


if __name__ == "__main__":
    main()
