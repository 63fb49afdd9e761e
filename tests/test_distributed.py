"""minigrad.distributed over MPI on loopback: each test launches `mpiexec -n N` on
tests/mpi_scenarios.py, bounded in time, and reads every rank's verdict."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg
import minigrad.distributed as dist

pytest.importorskip("mpi4py", reason='the distributed tests need pip install -e ".[distributed]"')

SCENARIOS = Path(__file__).with_name("mpi_scenarios.py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


def launch(ranks, *scenarios, limit=240):
    """Run the scenarios on `ranks` ranks of one thread each; (exit status, everything printed)."""
    assert MPIEXEC, "mpi4py is installed but no mpiexec was found beside it"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    done = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(SCENARIOS), *scenarios],
                          capture_output=True, text=True, timeout=limit, env=env)
    return done.returncode, done.stdout + done.stderr


def passes(ranks, *scenarios):
    status, output = launch(ranks, *scenarios)
    assert status == 0, output
    for rank in range(ranks):
        for name in scenarios:
            assert f"rank {rank}: {name} ok" in output, output


@pytest.mark.parametrize("ranks", [2, 3])
def test_collectives_agree_with_numpy(ranks):
    passes(ranks, "collectives")


@pytest.mark.parametrize("ranks", [2, 3])
def test_ddp_gradients_are_one_process_gradients(ranks):
    passes(ranks, "ddp_gradients")


def test_a_rank_that_raises_ends_every_rank():
    status, output = launch(2, "rank_raises", limit=60)
    assert status != 0 and "rank 1 fails on purpose" in output, output
    assert "aborting all ranks" in output, output


def test_a_rank_that_never_joins_times_the_others_out():
    status, output = launch(2, "rank_hangs", limit=60)
    assert status != 0 and "all_reduce timed out after 3 s on rank 0 of 2" in output, output


def test_one_process_without_a_launcher_is_a_group_of_one():
    code = ("import minigrad as mg, minigrad.distributed as dist\n"
            "dist.init_process_group('gloo')\n"
            "t = mg.tensor([1.0, 2.0]); dist.all_reduce(t, op=dist.ReduceOp.AVG)\n"
            "print(dist.get_rank(), dist.get_world_size(), t.tolist())\n"
            "dist.destroy_process_group(); print(dist.is_initialized())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["0 1 [1.0, 2.0]", "False"], done.stdout


def test_calls_before_init_name_the_problem():
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, lambda: dist.all_reduce(mg.zeros(2))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(RuntimeError, match="init_process_group first"):
        mg.nn.parallel.DistributedDataParallel(mg.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown backend 'tcp'"):
        dist.init_process_group("tcp")


@pytest.mark.gpu
def test_nccl_group_of_one_reduces_and_trains():
    if not mg.cuda.is_available():
        pytest.skip("no usable GPU (needs CuPy, numba-cuda and an NVIDIA GPU)")
    code = ("import numpy as np, minigrad as mg, minigrad.distributed as dist\n"
            "mg.set_device('cuda'); dist.init_process_group('nccl')\n"
            "t = mg.tensor([1.0, 2.0]); dist.all_reduce(t, op=dist.ReduceOp.AVG); print(t.tolist())\n"
            "out = [mg.zeros(2)]; dist.all_gather(out, t); print(out[0].tolist())\n"
            "net = mg.nn.parallel.DistributedDataParallel(mg.nn.Linear(3, 2))\n"
            "net(mg.ones(4, 3)).sum().backward(); print(net.module.bias.grad.tolist())\n"
            "dist.barrier(); dist.destroy_process_group()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["[1.0, 2.0]", "[1.0, 2.0]", "[4.0, 4.0]"], done.stdout


@pytest.mark.parametrize("ranks", [2, 3])
def test_sync_batchnorm_is_batchnorm_over_the_whole_batch(ranks):
    passes(ranks, "sync_batchnorm")
