"""Per-op overhead of the tape: a chain of 1,000 elementwise ops on 10-element float32 tensors,
forward then backward, minigrad vs PyTorch (2 threads), interleaved in one process.

    python benchmarks/bench_op_overhead.py [--ops 1000] [--repeats 15]

Prints the median time of each and the ratio minigrad / torch (issue 17's bar is <= 1.0x).
"""
import argparse
import statistics
import time

import numpy as np
from machine import machine_lines, share_openmp_cores

share_openmp_cores()


def chain(mod, x, w, n_ops):
    """n_ops elementwise ops mixing binary (tensor and scalar operands) and unary ops."""
    y = x
    for i in range(n_ops):
        k = i % 8
        if k == 0:
            y = y * w
        elif k == 1:
            y = y + x
        elif k == 2:
            y = y.sin()
        elif k == 3:
            y = y * 0.5
        elif k == 4:
            y = y.tanh()
        elif k == 5:
            y = y - w
        elif k == 6:
            y = y.sigmoid()
        else:
            y = y + 1.0
    return y.sum()


def run_once(mod, xd, wd, n_ops):
    x = mod.tensor(xd, requires_grad=True)
    w = mod.tensor(wd, requires_grad=True)
    t0 = time.perf_counter()
    loss = chain(mod, x, w, n_ops)
    loss.backward()
    dt = time.perf_counter() - t0
    return dt, x.grad.numpy().copy(), w.grad.numpy().copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()

    import torch

    import minigrad as mg

    torch.set_num_threads(2)
    print("\n".join(machine_lines(2)))
    rng = np.random.default_rng(0)
    xd = rng.standard_normal(10).astype(np.float32)
    wd = rng.uniform(0.5, 1.0, 10).astype(np.float32)

    # warm-up (and a correctness cross-check)
    for _ in range(2):
        _, gx_m, gw_m = run_once(mg, xd, wd, args.ops)
        _, gx_t, gw_t = run_once(torch, xd, wd, args.ops)
    np.testing.assert_allclose(gx_m, gx_t, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(gw_m, gw_t, rtol=1e-3, atol=1e-4)

    t_mg, t_torch = [], []
    for r in range(args.repeats):
        order = (mg, torch) if r % 2 == 0 else (torch, mg)
        for mod in order:
            dt, _, _ = run_once(mod, xd, wd, args.ops)
            (t_mg if mod is mg else t_torch).append(dt)
    m_ms = statistics.median(t_mg) * 1e3
    t_ms = statistics.median(t_torch) * 1e3
    print(f"chain of {args.ops} elementwise ops on 10-element float32 tensors, forward + backward "
          f"(median of {args.repeats}, interleaved)")
    print(f"minigrad: {m_ms:8.2f} ms   ({m_ms * 1e3 / args.ops:6.1f} us/op)")
    print(f"torch:    {t_ms:8.2f} ms   ({t_ms * 1e3 / args.ops:6.1f} us/op)")
    print(f"ratio minigrad/torch: {m_ms / t_ms:.2f}x  (bar <= 1.0x)")


if __name__ == "__main__":
    main()
