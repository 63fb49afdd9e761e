"""mg.train.fit data-parallel, on every rank of `mpiexec -n N python tests/mpi_fit.py FOLDER`.

tests/test_train_distributed.py launches it. Each rank checks what it can alone (the epoch's sums
against the whole training set, the test accuracy against one process's evaluation, the checkpoint
FOLDER/mlp.npz against its own model), then writes FOLDER/rankR.json: its histories and digests of
its models' parameters and buffers, which the test compares across the ranks (files, because the
ranks' printed lines can interleave).
"""
import datetime
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.data import DataLoader
from minigrad.data.distributed import DistributedSampler
from test_train import blobs, mlp


class RecordingSampler(DistributedSampler):
    """A DistributedSampler that remembers the epochs it was given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.epochs_set = []

    def set_epoch(self, epoch):
        self.epochs_set.append(epoch)
        super().set_epoch(epoch)


def digest(module):
    """A hash of the module's parameters and buffers, to compare the ranks' models."""
    sha = hashlib.sha256()
    for name, value in module.state_dict().items():
        sha.update(name.encode() + np.ascontiguousarray(value.numpy()).tobytes())
    return sha.hexdigest()[:16]


def sums_and_checkpoint(checkpoint, report):
    """An MLP on 300 samples (150 a rank), then an epoch at lr 0: its loss and accuracy must be
    those of the fixed model on the whole training set."""
    train_set, test_set = blobs(300, 0), blobs(250, 1)
    sampler = RecordingSampler(train_set, shuffle=True, seed=5)
    train_loader = DataLoader(train_set, batch_size=16, sampler=sampler)
    test_loader = DataLoader(test_set, batch_size=64)  # 4 batches, the last one short
    mg.manual_seed(dist.get_rank())  # different starting points: DDP must start all from rank 0's
    net = nn.parallel.DistributedDataParallel(mlp())
    optimizer = mg.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    trainer = mg.train.Trainer(net, optimizer, nn.CrossEntropyLoss(), checkpoint=checkpoint)
    trainer.fit(train_loader, test_loader, epochs=3)
    for group in optimizer.param_groups:
        group["lr"] = 0.0
    history = trainer.fit(train_loader, test_loader, epochs=1)
    assert sampler.epochs_set == [0, 1, 2, 3], sampler.epochs_set
    X, y = train_set.tensors
    with mg.no_grad():
        out = net.module(X)
    last = history[-1]
    assert last["loss"] == pytest.approx(nn.functional.cross_entropy(out, y).item(), rel=1e-5)
    assert last["train_acc"] == pytest.approx((out.argmax(dim=1) == y).float().mean().item())
    assert last["images_per_s"] == pytest.approx(300 / last["seconds"])
    whole = mg.train.evaluate_accuracy(net.module, test_loader)
    assert last["test_acc"] == whole, (history, whole)
    sharded = DataLoader(test_set, batch_size=64, sampler=DistributedSampler(test_set, shuffle=False))
    assert trainer.test_accuracy(sharded) == whole
    saved = mg.load(checkpoint)  # after the barrier: rank 0 has written it
    assert saved["epoch"] == 4
    restored = mlp()
    restored.load_state_dict(saved["model"])
    assert digest(restored) == digest(net.module)
    report["history"], report["state"] = list(history), digest(net.module)


def batch_norm_buffers(report):
    """A net with BatchNorm: every rank evaluates rank 0's running statistics."""
    train_set, test_set = blobs(128, 2), blobs(100, 3)
    mg.manual_seed(0)
    net = nn.parallel.DistributedDataParallel(
        nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)))
    history = mg.train.fit(net, DataLoader(train_set, batch_size=16,
                                           sampler=DistributedSampler(train_set, seed=1)),
                           DataLoader(test_set, batch_size=30), 1,
                           mg.optim.SGD(net.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                           progress=False)
    assert history[0]["test_acc"] == mg.train.evaluate_accuracy(net.module,
                                                                DataLoader(test_set, batch_size=30))
    report["batch norm state"] = digest(net.module)


if __name__ == "__main__":
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
    folder, report = Path(sys.argv[1]), {}
    sums_and_checkpoint(str(folder / "mlp.npz"), report)
    batch_norm_buffers(report)
    (folder / f"rank{dist.get_rank()}.json").write_text(json.dumps(report))
    dist.destroy_process_group()
