"""minigrad.data.distributed.DistributedSampler (also minigrad.utils.data.distributed): torch's index
lists for shuffle=False, one shared permutation per epoch for shuffle=True, the DataLoader with it,
and the errors for a bad rank or a missing process group."""
import re
import sys

import numpy as np
import pytest

import minigrad as mg
from helpers import torch_or_skip
from minigrad.data import DataLoader, Dataset, TensorDataset
from minigrad.data.distributed import DistributedSampler

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")

# random lengths, plus the edges: empty, shorter than num_replicas, padding longer than the list
_LENGTHS = sorted({0, 1, 2, 3, 4, 5, 6, *np.random.default_rng(7).integers(7, 60, 12).tolist()})


class IndexDataset(Dataset):
    """Item i is i (no get_batch: the DataLoader's per-sample path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


def _shards(n, num_replicas, **options):
    return [list(DistributedSampler(range(n), num_replicas=num_replicas, rank=rank, **options))
            for rank in range(num_replicas)]


def _interleave(shards):
    """The one list the shards were cut from (shard r is every len(shards)-th entry from r)."""
    merged = [None] * sum(len(s) for s in shards)
    for rank, shard in enumerate(shards):
        merged[rank::len(shards)] = shard
    return merged


# ----- torch's indices (shuffle=False) -----------------------------------------------------------
@pytest.mark.parametrize("num_replicas", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shards_are_torchs(num_replicas, drop_last):
    torch_or_skip()
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in _LENGTHS:
        for rank in range(num_replicas):
            ours = DistributedSampler(range(n), num_replicas, rank, shuffle=False, drop_last=drop_last)
            theirs = TorchSampler(range(n), num_replicas, rank, shuffle=False, drop_last=drop_last)
            where = f"len {n}, rank {rank} of {num_replicas}, drop_last={drop_last}"
            assert list(ours) == list(theirs), where
            assert len(ours) == len(theirs) == ours.num_samples == theirs.num_samples, where
            assert ours.total_size == theirs.total_size, where


def test_padding_longer_than_the_list():
    # 2 indices padded to 5: the list repeats from its start more than once
    assert _interleave(_shards(2, 5, shuffle=False)) == [0, 1, 0, 1, 0]
    assert _shards(1, 3, shuffle=False) == [[0], [0], [0]]
    assert _shards(1, 3, shuffle=False, drop_last=True) == [[], [], []]


# ----- one permutation per epoch (shuffle=True) ---------------------------------------------------
@pytest.mark.parametrize("num_replicas", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shards_interleave_one_permutation(num_replicas, drop_last):
    torch_or_skip()
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in _LENGTHS:
        where = f"len {n}, {num_replicas} replicas, drop_last={drop_last}"
        shards = _shards(n, num_replicas, seed=3, drop_last=drop_last)
        expected_len = len(TorchSampler(range(n), num_replicas, 0, drop_last=drop_last))
        assert [len(s) for s in shards] == [expected_len] * num_replicas, where
        merged = _interleave(shards)
        if drop_last:
            # a prefix of a permutation: the shards are disjoint
            assert len(set(merged)) == len(merged) and set(merged) <= set(range(n)), where
        else:
            assert sorted(merged[:n]) == list(range(n)), where
            # the padding repeats the permutation from its start, as torch pads
            assert merged[n:] == (merged[:n] * num_replicas)[:len(merged) - n], where


def test_same_epoch_same_order_new_epoch_new_order():
    sampler = DistributedSampler(range(50), num_replicas=2, rank=1, seed=11)
    first = list(sampler)
    assert list(sampler) == first
    assert list(DistributedSampler(range(50), num_replicas=2, rank=1, seed=11)) == first
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first
    sampler.set_epoch(0)
    assert list(sampler) == first
    # every rank follows the epoch: epoch 1's shards still interleave one permutation
    epoch_one = []
    for rank in range(2):
        other = DistributedSampler(range(50), num_replicas=2, rank=rank, seed=11)
        other.set_epoch(1)
        epoch_one.append(list(other))
    assert epoch_one[1] == second and sorted(_interleave(epoch_one)) == list(range(50))


def test_different_seed_different_order():
    orders = {tuple(DistributedSampler(range(50), num_replicas=3, rank=0, seed=seed))
              for seed in (0, 1, 2)}
    assert len(orders) == 3


def test_negative_seed_is_accepted_and_deterministic():
    a = list(DistributedSampler(range(20), num_replicas=2, rank=0, seed=-1))
    b = list(DistributedSampler(range(20), num_replicas=2, rank=0, seed=-1))
    assert a == b and len(a) == 10


# ----- DataLoader ---------------------------------------------------------------------------------
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("fast", [True, False])
def test_loader_yields_the_ranks_samples(drop_last, fast):
    n, num_replicas, batch_size = 23, 3, 4
    dataset = TensorDataset(mg.arange(n) * 10) if fast else IndexDataset(n)
    for rank in range(num_replicas):
        sampler = DistributedSampler(dataset, num_replicas, rank, seed=5, drop_last=drop_last)
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)
            batches = [(b[0] if fast else b).tolist() for b in loader]
            seen = [x // 10 for batch in batches for x in batch] if fast else sum(batches, [])
            assert seen == list(sampler)
            assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
            assert len(loader) == len(batches) == -(-sampler.num_samples // batch_size)


# ----- errors and defaults ------------------------------------------------------------------------
@pytest.mark.parametrize("rank, num_replicas", [(3, 3), (5, 2), (-1, 4), (0, 0)])
def test_bad_rank(rank, num_replicas):
    message = f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
    with pytest.raises(ValueError, match=re.escape(message)):
        DistributedSampler(range(10), num_replicas=num_replicas, rank=rank)
    torch = torch_or_skip()
    with pytest.raises(ValueError, match=re.escape(message)):
        torch.utils.data.distributed.DistributedSampler(range(10), num_replicas=num_replicas, rank=rank)


def test_seed_must_be_an_integer():
    # torch fails only when iterating (in manual_seed); here it is the constructor call
    with pytest.raises(TypeError, match=r"seed should be an integer, but got seed=0\.5"):
        DistributedSampler(range(10), num_replicas=2, rank=0, seed=0.5)


class _FakeDistributed:
    """Stands in for an initialized minigrad.distributed group of `world_size` ranks."""

    def __init__(self, world_size, rank):
        self.world_size, self.rank = world_size, rank

    def get_world_size(self):
        return self.world_size

    def get_rank(self):
        return self.rank


@pytest.mark.parametrize("missing", ["num_replicas", "rank", "both"])
def test_defaults_need_a_process_group(missing):
    given = {"num_replicas": 2, "rank": 0}
    for name in (["num_replicas", "rank"] if missing == "both" else [missing]):
        del given[name]
    with pytest.raises(RuntimeError, match=re.escape(NOT_INITIALIZED)):
        DistributedSampler(range(10), **given)
    # torch 2.13 raises ValueError with the same message: code catching that works too
    with pytest.raises(ValueError, match=re.escape(NOT_INITIALIZED)):
        DistributedSampler(range(10), **given)


def test_defaults_come_from_the_process_group(monkeypatch):
    monkeypatch.setitem(sys.modules, "minigrad.distributed", _FakeDistributed(world_size=4, rank=2))
    monkeypatch.setattr(mg, "distributed", sys.modules["minigrad.distributed"], raising=False)
    sampler = DistributedSampler(range(10), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (4, 2) and list(sampler) == [2, 6, 0]
    sampler = DistributedSampler(range(10), rank=1, shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (4, 1)
    # the group's rank is checked against the num_replicas given
    with pytest.raises(ValueError, match=re.escape("Invalid rank 2, rank should be in the interval [0, 1]")):
        DistributedSampler(range(10), num_replicas=2)


# ----- where it is importable from ----------------------------------------------------------------
def test_torch_spellings():
    import minigrad.utils.data.distributed as U
    from minigrad.utils.data.distributed import DistributedSampler as FromUtils
    assert FromUtils is U.DistributedSampler is DistributedSampler
    assert mg.data.distributed.DistributedSampler is DistributedSampler
    assert mg.utils.data.distributed is U and mg.utils.data.DistributedSampler is DistributedSampler
    assert mg.data.DistributedSampler is DistributedSampler
    assert isinstance(DistributedSampler(range(4), 2, 0), mg.data.Sampler)
