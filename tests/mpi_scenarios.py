"""Checks that run on every rank of an MPI job: `mpiexec -n N python tests/mpi_scenarios.py NAME...`.

tests/test_distributed.py launches them. Each rank checks its own results against NumPy (or against
one process's computation on the whole batch, which every rank can do alone), prints
"rank R: NAME ok" per scenario and exits 0; a failed check raises, which aborts every rank.
"""
import datetime
import sys
import time

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn


def rank_values(rank, shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed * 1000 + rank)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-5, 6, size=shape).astype(dtype)


def check_close(actual, expected, what, rtol=1e-5, atol=1e-6):
    actual = actual.detach().numpy() if isinstance(actual, mg.Tensor) else np.asarray(actual)
    if actual.shape != np.shape(expected) or not np.allclose(actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"rank {dist.get_rank()}: {what}: got {actual!r}, expected {expected!r}")


def expect_error(kind, words, call):
    try:
        call()
    except kind as error:
        if words not in str(error):
            raise AssertionError(f"error {error!r} does not say {words!r}") from error
        return
    raise AssertionError(f"expected {kind.__name__} saying {words!r}")


def collectives():
    rank, size = dist.get_rank(), dist.get_world_size()
    everyone = [rank_values(r, (3, 4)) for r in range(size)]
    reductions = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.AVG: np.mean, dist.ReduceOp.MAX: np.max,
                  dist.ReduceOp.MIN: np.min, dist.ReduceOp.PRODUCT: np.prod}
    for op, numpy_op in reductions.items():
        t = mg.tensor(everyone[rank])
        version = t._version.value
        assert dist.all_reduce(t, op=op) is None
        check_close(t, numpy_op(np.stack(everyone), axis=0), f"all_reduce {op}")
        assert t._version.value > version, "all_reduce must count as an in-place change"
    ints = [rank_values(r, (5,), np.int64) for r in range(size)]
    t = mg.tensor(ints[rank])
    dist.all_reduce(t)
    assert t.dtype == mg.int64 and np.array_equal(t.numpy(), np.sum(ints, axis=0))
    expect_error(TypeError, "floating-point", lambda: dist.all_reduce(mg.tensor(ints[rank]),
                                                                      op=dist.ReduceOp.AVG))
    # async: the value arrives at wait()
    t = mg.tensor(everyone[rank])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert work.wait() is True and work.is_completed()
    check_close(t, np.mean(everyone, axis=0), "async all_reduce")
    for src in range(size):
        t = mg.tensor(everyone[rank])
        dist.broadcast(t, src=src)
        check_close(t, everyone[src], f"broadcast from {src}")
    out = [mg.zeros(3, 4) for _ in range(size)]
    dist.all_gather(out, mg.tensor(everyone[rank]))
    for r in range(size):
        check_close(out[r], everyone[r], f"all_gather [{r}]")
    whole = mg.zeros(3 * size, 4)
    dist.all_gather_into_tensor(whole, mg.tensor(everyone[rank]))
    check_close(whole, np.concatenate(everyone), "all_gather_into_tensor")
    parts = [[rank_values(r, (2, 3), seed=10 + k) for k in range(size)] for r in range(size)]
    out = mg.zeros(2, 3)
    dist.reduce_scatter(out, [mg.tensor(p) for p in parts[rank]])
    check_close(out, sum(parts[r][rank] for r in range(size)), "reduce_scatter")
    out = mg.zeros(2, 3)
    dist.reduce_scatter_tensor(out, mg.tensor(np.concatenate(parts[rank])), op=dist.ReduceOp.AVG)
    check_close(out, sum(parts[r][rank] for r in range(size)) / size, "reduce_scatter_tensor")
    for dst in range(size):
        t = mg.tensor(everyone[rank])
        dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
        if rank == dst:
            check_close(t, np.max(everyone, axis=0), f"reduce to {dst}")
        gathered = [mg.zeros(3, 4) for _ in range(size)] if rank == dst else None
        dist.gather(mg.tensor(everyone[rank]), gathered, dst=dst)
        if rank == dst:
            for r in range(size):
                check_close(gathered[r], everyone[r], f"gather to {dst} [{r}]")
        t = mg.zeros(2, 3)
        dist.scatter(t, [mg.tensor(p) for p in parts[rank]] if rank == dst else None, src=dst)
        check_close(t, parts[dst][rank], f"scatter from {dst}")
    dist.barrier()
    # mistakes are named where they are made, before any rank waits for another
    expect_error(ValueError, "contiguous", lambda: dist.all_reduce(mg.zeros(4, 4).t()))
    expect_error(ValueError, f"list of {size} tensors",
                 lambda: dist.all_gather([mg.zeros(3, 4)], mg.zeros(3, 4)))
    expect_error(ValueError, "has shape (2,)",
                 lambda: dist.all_gather([mg.zeros(2)] * size, mg.zeros(3, 4)))
    expect_error(ValueError, "src=7 is not a rank", lambda: dist.broadcast(mg.zeros(2), src=7))
    expect_error(TypeError, "minigrad tensor", lambda: dist.all_reduce(np.zeros(3)))
    expect_error(RuntimeError, "twice", lambda: dist.init_process_group("mpi"))
    assert dist.get_backend() == "mpi" and dist.is_initialized()


def small_net():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 10),
                         nn.ReLU(), nn.Linear(10, 3))


def global_batch(batch, step=0):
    rng = np.random.default_rng(100 + step)
    return (rng.standard_normal((batch, 1, 8, 8)).astype(np.float32),
            rng.integers(0, 3, size=batch).astype(np.int64))


def shard(array, rank, size):
    per = len(array) // size
    return array[rank * per:(rank + 1) * per]


def whole_batch_gradients(x, y):
    net = small_net()
    nn.CrossEntropyLoss()(net(mg.tensor(x)), mg.tensor(y)).backward()
    return [p.grad.numpy().copy() for p in net.parameters()]


def ddp_gradients():
    rank, size = dist.get_rank(), dist.get_world_size()
    x, y = global_batch(4 * size)
    expected = whole_batch_gradients(x, y)
    for cap_mb in (25, 1e-4):  # one bucket; a bucket per parameter
        net = small_net()
        if rank == 1:  # DDP must start every rank from rank 0's parameters
            for p in net.parameters():
                p.data.add_(1.0)
        model = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=cap_mb)
        loss = nn.CrossEntropyLoss()(model(mg.tensor(shard(x, rank, size))),
                                     mg.tensor(shard(y, rank, size)))
        loss.backward()
        for p, g in zip(model.module.parameters(), expected):
            check_close(p.grad, g, f"DDP gradient (bucket_cap_mb={cap_mb})", rtol=1e-4, atol=1e-6)
    assert all(key.startswith("module.") for key in model.state_dict())
    assert list(model.state_dict()) == ["module." + k for k in net.state_dict()]
    # no_sync: two local micro-batches, then a synchronised one, average like the whole batch
    x, y = global_batch(6 * size, step=1)
    expected = whole_batch_gradients(x, y)
    model = nn.parallel.DistributedDataParallel(small_net())
    mine_x, mine_y = shard(x, rank, size), shard(y, rank, size)
    with model.no_sync():
        for k in range(2):
            part = slice(2 * k, 2 * k + 2)
            (nn.CrossEntropyLoss()(model(mg.tensor(mine_x[part])), mg.tensor(mine_y[part])) / 3).backward()
    before_sync = [p.grad.numpy().copy() for p in model.module.parameters()]
    (nn.CrossEntropyLoss()(model(mg.tensor(mine_x[4:])), mg.tensor(mine_y[4:])) / 3).backward()
    for p, g in zip(model.module.parameters(), expected):
        check_close(p.grad, g, "DDP gradient after no_sync accumulation", rtol=1e-4, atol=1e-6)
    gathered = [mg.zeros(before_sync[0].size) for _ in range(size)]
    dist.all_gather(gathered, mg.tensor(before_sync[0].reshape(-1)))
    if size > 1 and np.allclose(gathered[0].numpy(), gathered[1].numpy()):
        raise AssertionError("inside no_sync the ranks' gradients must stay their own")
    # SGD steps keep every rank's parameters equal, and equal to one process on the whole batch
    reference, model = small_net(), nn.parallel.DistributedDataParallel(small_net())
    optimizers = [mg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (reference, model)]
    for step in range(3):
        x, y = global_batch(4 * size, step=2 + step)
        for m, batch, opt in ((reference, (x, y), optimizers[0]),
                              (model, (shard(x, rank, size), shard(y, rank, size)), optimizers[1])):
            opt.zero_grad()
            nn.CrossEntropyLoss()(m(mg.tensor(batch[0])), mg.tensor(batch[1])).backward()
            opt.step()
    for p, q in zip(model.module.parameters(), reference.parameters()):
        check_close(p, q.detach().numpy(), "parameters after 3 DDP SGD steps", rtol=1e-4, atol=1e-5)
        everyone = [mg.zeros(*p.shape) for _ in range(size)]
        dist.all_gather(everyone, p.detach().clone())
        for other in everyone:
            assert np.array_equal(other.numpy(), everyone[0].numpy()), "ranks' parameters differ"


def rank_raises():
    """Rank 1 fails; the rest wait in a collective and must be taken down with it."""
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(mg.zeros(3))
    time.sleep(60)


def rank_hangs():
    """Rank 1 never joins the collective; the others' deadline must end the job."""
    if dist.get_rank() == 1:
        time.sleep(60)
    dist.all_reduce(mg.zeros(3))


def batchnorm_net():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 3, 3))


def check_same_on_every_rank(tensor, what):
    everyone = [mg.zeros(*tensor.shape, dtype=tensor.dtype) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, tensor.detach().clone())
    for other in everyone:
        assert np.array_equal(other.numpy(), everyone[0].numpy()), f"ranks' {what} differ"


def sync_batchnorm():
    rank, size = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4 * size, 1, 8, 8)).astype(np.float32)
    target = rng.standard_normal((4 * size, 3, 6, 6)).astype(np.float32)
    reference = batchnorm_net()
    model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(batchnorm_net()))
    assert type(model.module[1]) is nn.SyncBatchNorm
    optimizers = [mg.optim.SGD(m.parameters(), lr=0.1) for m in (reference, model)]
    for step in range(2):
        batches = ((reference, x, target, optimizers[0]),
                   (model, shard(x, rank, size), shard(target, rank, size), optimizers[1]))
        results = []
        for net, inputs, wanted, optimizer in batches:
            optimizer.zero_grad()
            inputs = mg.tensor(inputs, requires_grad=True)
            out = net(inputs)
            nn.MSELoss()(out, mg.tensor(wanted)).backward()
            results.append((out.detach().numpy(), inputs.grad.numpy(),
                            [p.grad.numpy().copy() for p in net.parameters()]))
            optimizer.step()
        (out, x_grad, grads), (my_out, my_x_grad, my_grads) = results
        check_close(my_out, shard(out, rank, size), f"SyncBatchNorm output, step {step}",
                    rtol=1e-4, atol=1e-5)
        # the ranks' mean losses add up to `size` times the whole batch's mean loss, and an
        # input's gradient is that sum's (torch's too); DDP averages the parameters' gradients
        check_close(my_x_grad, size * shard(x_grad, rank, size),
                    f"SyncBatchNorm input gradient, step {step}", rtol=1e-4, atol=1e-7)
        for mine, whole in zip(my_grads, grads):
            check_close(mine, whole, f"SyncBatchNorm model gradient, step {step}", rtol=1e-4,
                        atol=1e-6)
    synced, batchnorm = model.module[1], reference[1]
    for name in ("running_mean", "running_var", "num_batches_tracked", "weight", "bias"):
        check_close(getattr(synced, name), getattr(batchnorm, name).detach().numpy(),
                    f"SyncBatchNorm {name} after 2 steps", rtol=1e-5, atol=1e-6)
        check_same_on_every_rank(getattr(synced, name), name)
    assert list(model.module.state_dict()) == list(reference.state_dict())
    # eval normalises with the running statistics, each rank on its own batch, as BatchNorm
    model.eval(), reference.eval()
    with mg.no_grad():
        out, my_out = reference(mg.tensor(x)), model(mg.tensor(shard(x, rank, size)))
    check_close(my_out, shard(out.numpy(), rank, size), "SyncBatchNorm output in eval",
                rtol=1e-4, atol=1e-5)
    sync_batchnorm_3d()


def sync_batchnorm_3d():
    """(N, C, L) batches of different sizes on the ranks, momentum=None: BatchNorm1d on their
    concatenation. Each rank's loss is its share of the whole batch's sum, so every gradient is
    the whole batch's: an input's directly, a parameter's summed over the ranks."""
    rank, size = dist.get_rank(), dist.get_world_size()
    sizes = [2 + r for r in range(size)]
    start = sum(sizes[:rank])
    mine = slice(start, start + sizes[rank])
    synced, batchnorm = nn.SyncBatchNorm(5, momentum=None), nn.BatchNorm1d(5, momentum=None)
    for module in (synced, batchnorm):
        module.weight.data.copy_(mg.tensor(np.linspace(0.5, 1.5, 5, dtype=np.float32)))
        module.bias.data.copy_(mg.tensor(np.linspace(-1, 1, 5, dtype=np.float32)))
    for step in range(2):
        rng = np.random.default_rng(20 + step)
        x = (3 + 2 * rng.standard_normal((sum(sizes), 5, 7))).astype(np.float32)
        weights = rng.standard_normal(x.shape).astype(np.float32)
        results = []
        for module, inputs, loss_weights in ((batchnorm, x, weights),
                                             (synced, x[mine], weights[mine])):
            module.zero_grad()
            inputs = mg.tensor(inputs, requires_grad=True)
            out = module(inputs)
            (out * mg.tensor(loss_weights)).sum().backward()
            results.append((out.detach().numpy(), inputs.grad.numpy(), module.weight.grad,
                            module.bias.grad))
        (out, x_grad, weight_grad, bias_grad), (my_out, my_x_grad, my_weight_grad, my_bias_grad) = results
        check_close(my_out, out[mine], f"3-D SyncBatchNorm output, step {step}", rtol=1e-4,
                    atol=1e-5)
        check_close(my_x_grad, x_grad[mine], f"3-D SyncBatchNorm input gradient, step {step}",
                    rtol=1e-4, atol=1e-5)
        for what, local, whole in (("weight", my_weight_grad, weight_grad),
                                   ("bias", my_bias_grad, bias_grad)):
            dist.all_reduce(local)
            check_close(local, whole.numpy(), f"3-D SyncBatchNorm {what} gradient summed over "
                        f"the ranks, step {step}", rtol=1e-4, atol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        check_close(getattr(synced, name), getattr(batchnorm, name).numpy(),
                    f"3-D SyncBatchNorm {name} after 2 steps", rtol=1e-5, atol=1e-6)
        check_same_on_every_rank(getattr(synced, name), name)
    expect_error(RuntimeError, "expected input with 5 channels, got 4 (input shape (2, 4, 7))",
                 lambda: synced(mg.zeros(2, 4, 7)))


SCENARIOS = {f.__name__: f for f in (collectives, ddp_gradients, rank_raises, rank_hangs,
                                     sync_batchnorm)}


if __name__ == "__main__":
    names = sys.argv[1:]
    timeout = datetime.timedelta(seconds=3 if "rank_hangs" in names else 60)
    dist.init_process_group("mpi", timeout=timeout)
    for name in names:
        SCENARIOS[name]()
        print(f"rank {dist.get_rank()}: {name} ok", flush=True)
    dist.destroy_process_group()
