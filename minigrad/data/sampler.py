"""Samplers: which dataset indices a DataLoader visits, and in what order (torch.utils.data's)."""
import numbers

import numpy as np

from ..device import backend as _backend
from ..random import generator as _generator


def _cpu_rng(generator=None):
    """The NumPy generator to draw from: the one given, or minigrad's seeded CPU generator."""
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a numpy.random.Generator (or None for minigrad's "
                            f"seeded generator), got {type(generator).__name__}")
        return generator
    return _generator(_backend("cpu"))



class Sampler:
    """Iterates over dataset indices (subclasses define ``__iter__`` and usually ``__len__``)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def _order(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order each epoch (or, with ``replacement=True``, ``num_samples`` draws with
    replacement), from minigrad's seeded generator unless a NumPy ``generator`` is given."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, numbers.Integral) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self):
        n, rng = len(self.data_source), _cpu_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        if self._num_samples is None:
            return rng.permutation(n).astype(np.int64, copy=False)
        reps = -(-self.num_samples // n)
        return np.concatenate([rng.permutation(n) for _ in range(reps)])[:self.num_samples]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def _order(self):
        indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return indices[_cpu_rng(self.generator).permutation(len(indices))]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def _index_batches(self):
        """The batches as int64 arrays (the loader's path: no per-index Python objects)."""
        order_of = getattr(self.sampler, "_order", None)
        if order_of is not None:
            order = order_of()
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __iter__(self):
        for batch in self._index_batches():
            yield batch.tolist()

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
