"""``DistributedSampler``: each process of a distributed job visits its own share of a dataset
(``torch.utils.data.distributed``'s)."""
import numbers

import numpy as np

from .sampler import Sampler

class DistributedSampler(Sampler):
    """The indices of ``dataset`` that process ``rank`` of ``num_replicas`` visits, as PyTorch's
    ``DistributedSampler``: each rank gets ``num_samples`` indices, every ``num_replicas``-th one of a
    list of ``total_size`` indices starting at ``rank``.

    The list is ``range(len(dataset))``, or with ``shuffle=True`` a permutation of it drawn from a
    NumPy generator seeded with ``seed + epoch``: the same on every rank (so the shards do not
    overlap), a new one after each ``set_epoch(epoch)``. The permutation is not torch's for the same
    seed (the random number generators differ); ``shuffle=False`` gives torch's indices exactly.
    Without ``drop_last`` the list is padded to a multiple of ``num_replicas`` by repeating it from
    the start (some samples are visited twice per epoch); with ``drop_last`` its tail is cut off.

    ``num_replicas`` and ``rank`` default to ``minigrad.distributed.get_world_size()`` and
    ``get_rank()``, which need ``init_process_group`` to have been called.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist  # at call time: distributed sits beside data
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        if not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed should be an integer, but got seed={seed!r}")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        length = len(dataset)
        if drop_last and length % num_replicas != 0:
            # total_size: the largest multiple of num_replicas below length (ceil in integers)
            self.num_samples = -(-(length - num_replicas) // num_replicas)
        else:
            self.num_samples = -(-length // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Makes the next epoch's permutation the one for ``epoch`` (call it before each epoch)."""
        self.epoch = epoch

    def _order(self):
        length = len(self.dataset)
        if self.shuffle:
            # modulo 2**64: torch takes negative seeds (as 64-bit two's complement), NumPy does not
            indices = np.random.default_rng((self.seed + self.epoch) % 2**64).permutation(length)
        else:
            indices = np.arange(length)
        # np.resize repeats the list from its start up to total_size, or cuts it there
        padded = np.resize(indices.astype(np.int64, copy=False), self.total_size)
        return padded[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples
