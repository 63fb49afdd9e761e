"""mg.train.fit and demos/mnist_lenet.py --distributed on 2 MPI ranks (loopback), bounded in time:
the ranks end with the same model and the same history, and only rank 0 prints and saves."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg
from test_train import lenet

pytest.importorskip("mpi4py", reason='the distributed tests need pip install -e ".[distributed]"')

TESTS = Path(__file__).parent
DEMO = TESTS.parent / "demos" / "mnist_lenet.py"
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


def launch(ranks, script, *args, limit=120):
    """Run `script` on `ranks` ranks of one thread each: the finished process (stdout, stderr)."""
    assert MPIEXEC, "mpi4py is installed but no mpiexec was found beside it"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(script), *args],
                          capture_output=True, text=True, timeout=limit, env=env)


def test_fit_under_ddp_gives_every_rank_the_same_model_and_history(tmp_path):
    done = launch(2, TESTS / "mpi_fit.py", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.npz", "rank0.json", "rank1.json"]
    first, second = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert first == second  # histories (times included) and the models' digests
    assert [r["epoch"] for r in first["history"]] == [1, 2, 3, 4]
    assert first["history"][2]["test_acc"] > 0.9
    # the epoch lines are rank 0's alone
    for epoch in range(1, 5):
        assert len(re.findall(rf"^epoch {epoch}: loss", done.stdout, re.M)) == 1, done.stdout


def test_demo_distributed_trains_and_only_rank_0_reports(tmp_path):
    checkpoint = tmp_path / "lenet.npz"
    done = launch(2, DEMO, "--distributed", "--epochs", "1", "--checkpoint", str(checkpoint))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith("epoch 1/1:")]  # the progress bar
    assert lines[0] == "mnist: 8000 training and 2000 test images, 2 ranks of 32 images a step"
    assert re.fullmatch(r"epoch 1: loss [0-9.]+, train acc [0-9.]+, test acc [0-9.]+, "
                        r"[0-9]+ images/s, [0-9.]+ s", lines[1]), lines
    accuracy = float(re.fullmatch(r"test accuracy ([0-9.]+) after 1 epochs \([0-9.]+ s\)",
                                  lines[2]).group(1))
    assert len(lines) == 3, lines  # nothing from rank 1
    assert accuracy > 0.85
    # stderr: only minigrad's notices (a first compile), and the embedded data's once per job
    assert all(line.startswith("minigrad: ") for line in done.stderr.splitlines() if line), \
        done.stderr
    assert done.stderr.count("found no MNIST files") == 1, done.stderr
    saved = mg.load(str(checkpoint))
    assert saved["epoch"] == 1
    net = lenet()
    net.load_state_dict(saved["model"])  # the wrapped LeNet's keys, without DDP's "module."


def test_demo_distributed_refuses_a_batch_that_does_not_split():
    done = launch(2, DEMO, "--distributed", "--batch-size", "63")
    assert done.returncode != 0
    assert done.stderr.count("--batch-size 63 does not split evenly over 2 ranks") == 1, \
        done.stderr
