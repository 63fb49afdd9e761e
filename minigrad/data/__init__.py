"""Datasets and data loading, with PyTorch's names and semantics (``torch.utils.data``).

    from minigrad.data import DataLoader, TensorDataset, random_split   # or minigrad.utils.data
    from minigrad.data.datasets import MNIST, FashionMNIST

What is here: ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``random_split``, the samplers (``Sampler``, ``SequentialSampler``, ``RandomSampler``,
``SubsetRandomSampler``, ``BatchSampler``, and ``DistributedSampler`` from ``minigrad.data.distributed``,
also spelled ``minigrad.utils.data.distributed``), ``DataLoader``, ``default_collate`` and
``default_convert``.

Randomness (``shuffle=True``, ``RandomSampler``, ``random_split``) draws from minigrad's CPU generator,
so ``minigrad.manual_seed(s)`` makes it reproducible; each new epoch (each ``iter(loader)``) draws a new
order.

Fast path: a dataset may define ``get_batch(indices)`` (``indices``: a 1-D int64 NumPy array) that returns
the whole collated batch at once, or ``None`` when it cannot (for instance when a per-sample transform is
set). ``TensorDataset``, ``Subset`` of such a dataset and the MNIST-style datasets do: their batches are
built by one fancy-index per batch instead of one Python call per sample. ``DataLoader`` uses it whenever
``collate_fn`` is the default; the batches are the same as ``default_collate`` of the samples would give.

The loader runs in the calling process: ``num_workers``, ``pin_memory``, ``timeout``,
``worker_init_fn``, ``prefetch_factor`` and ``persistent_workers`` are accepted for compatibility with
PyTorch code and ignored.
"""
import bisect
import collections.abc
import math
import numbers
import warnings

import numpy as np

from ..device import backend as _backend
from ..tensor import Tensor
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                      SubsetRandomSampler, _cpu_rng)
from .distributed import DistributedSampler  # also binds minigrad.data.distributed, as torch's

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
           "DistributedSampler", "DataLoader", "default_collate", "default_convert", "datasets"]


def _cpu_tensor(array):
    return Tensor._make(np.ascontiguousarray(array), _backend("cpu"))


# ----- datasets ------------------------------------------------------------------------------------
class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__()``. DataLoader batches it in order
    (no shuffle, no sampler)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class TensorDataset(Dataset):
    """Samples are ``(tensors[0][i], tensors[1][i], ...)``; every tensor has the same first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        converted = []
        for number, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = _cpu_tensor(t)
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset expects tensors, got {type(t).__name__} at position "
                                f"{number}")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {number} is 0-dimensional; every tensor needs "
                                 f"a first (sample) dimension")
            converted.append(t)
        sizes = [t.shape[0] for t in converted]
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(tuple(t.shape)) for t in converted)
            raise ValueError(f"TensorDataset: size mismatch between tensors: the first dimensions are "
                             f"{', '.join(map(str, sizes))} (shapes {shapes}); every tensor must hold "
                             f"the same number of samples")
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def get_batch(self, indices):
        """The batch ``[t[indices] for t in tensors]`` by one fancy-index per tensor (DataLoader's
        fast path; a list, as ``default_collate`` gives for tuple samples)."""
        batch = []
        for t in self.tensors:
            backend = t._backend
            index = indices if backend.xp is np else backend.xp.asarray(indices)
            if t.requires_grad:  # keep the graph, as per-sample indexing + stack would
                batch.append(t[Tensor._make(index, backend)])
            else:
                batch.append(Tensor._make(t._data[index], backend))
        return batch


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._index_array = None

    def __getitem__(self, index):
        if isinstance(index, (list, tuple)):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        inner = getattr(self.dataset, "get_batch", None)
        if inner is None:
            return None
        if self._index_array is None or len(self._index_array) != len(self.indices):
            self._index_array = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return inner(self._index_array[indices])


class ConcatDataset(Dataset):
    """The datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise IndexError(f"index {index} is out of range for a dataset of length {len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which >= len(self.datasets):
            raise IndexError(f"index {index} is out of range for a dataset of length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths (ints summing to
    ``len(dataset)``, or fractions summing to 1, as in PyTorch: the floors of ``n * fraction``, then
    the remainder handed out one by one from the first subset on). The permutation is drawn from
    minigrad's seeded generator (``minigrad.manual_seed``) unless a NumPy ``generator`` is given."""
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(x, numbers.Integral) for x in lengths):
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1: {frac}")
        subset_lengths = [int(math.floor(n * frac)) for frac in lengths]
        remainder = n - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this results in an "
                              f"empty dataset", stacklevel=2)
    for i, length in enumerate(lengths):
        if not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                             f"to 1, got {lengths!r}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, but the "
                         f"dataset has {n} samples")
    order = _cpu_rng(generator).permutation(n).tolist()
    subsets, offset = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return subsets


# ----- collation -----------------------------------------------------------------------------------
def _collate_error(elem):
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                     f"lists; found {type(elem).__name__}")


def _stack_tensors(batch):
    first = batch[0]
    for number, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: sample 0 is a Tensor but sample {number} is a "
                            f"{type(t).__name__}")
        if t.shape != first.shape:
            raise RuntimeError(f"default_collate: cannot stack samples of different shapes: "
                               f"{tuple(first.shape)} (sample 0) and {tuple(t.shape)} (sample "
                               f"{number}); give the DataLoader a collate_fn that pads or resizes them")
    if any(t.requires_grad for t in batch):
        from ..ops import stack
        return stack(batch)
    backend = first._backend
    for number, t in enumerate(batch):
        if t._backend is not backend:
            raise RuntimeError(f"default_collate: expected all tensors on one device, got "
                               f"{first.device} (sample 0) and {t.device} (sample {number})")
    return Tensor._make(backend.xp.stack([t._data for t in batch]), backend)


def default_collate(batch):
    """Merge a list of samples into a batch, like PyTorch's ``default_collate``: tensors and NumPy
    arrays are stacked into a tensor along a new first dimension (keeping their dtype); Python ints
    become an int64 tensor, floats a float32 tensor (minigrad's default float), bools a bool tensor;
    NumPy scalars keep their dtype; strings stay a list; tuples and lists of samples are collated
    field by field into a list (a namedtuple keeps its type); dicts key by key."""
    if not isinstance(batch, (list, tuple)):
        batch = list(batch)
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUSV":
            raise _collate_error(elem)
        shapes = {np.shape(x) for x in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: cannot stack arrays of different shapes "
                               f"{sorted(shapes)}; give the DataLoader a collate_fn that pads them")
        return _cpu_tensor(np.stack(batch))
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "OUSV":
            raise _collate_error(elem)
        return _cpu_tensor(np.array(batch))
    if isinstance(elem, (bool, numbers.Number)) and not isinstance(elem, (str, bytes)):
        if all(isinstance(x, bool) for x in batch):
            return _cpu_tensor(np.array(batch, dtype=np.bool_))
        if all(isinstance(x, numbers.Integral) for x in batch):
            return _cpu_tensor(np.array(batch, dtype=np.int64))
        if all(isinstance(x, numbers.Real) for x in batch):
            return _cpu_tensor(np.array(batch, dtype=np.float32))
        raise _collate_error(next(x for x in batch if not isinstance(x, numbers.Real)))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        for number, sample in enumerate(batch):
            if not isinstance(sample, collections.abc.Mapping) or set(sample) != set(elem):
                raise RuntimeError(f"default_collate: sample {number} does not have the same keys as "
                                   f"sample 0 ({sorted(map(str, elem))})")
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for number, sample in enumerate(batch):
            if len(sample) != size:
                raise RuntimeError(f"default_collate: each element in the batch should be of equal "
                                   f"size; sample 0 has {size} fields, sample {number} has "
                                   f"{len(sample)}")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise _collate_error(elem)


def default_convert(data):
    """What DataLoader applies when ``batch_size=None``: NumPy arrays become tensors (recursively in
    tuples, lists and dicts); everything else is left as it is."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return _cpu_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(x) for x in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(x) for x in data]
    return data


# ----- the loader ----------------------------------------------------------------------------------
class DataLoader:
    """Iterate over ``dataset`` in batches, as PyTorch's DataLoader does.

    ``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, ...)``

    Each ``iter(loader)`` is one epoch covering every sample once (the last batch is shorter unless
    ``drop_last=True``); with ``shuffle=True`` each epoch draws a new order from minigrad's generator
    (``minigrad.manual_seed`` makes it reproducible). ``len(loader)`` is the number of batches.
    Batches are CPU tensors (or the device of a TensorDataset's tensors); move them with ``.to()``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative; use num_workers=0 to "
                             f"disable multiprocessing (got {num_workers!r})")
        if shuffle not in (True, False, None):
            raise TypeError(f"shuffle should be a boolean value, but got shuffle={shuffle!r}")
        self.dataset = dataset
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler and "
                                 "batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.batch_size, self.drop_last = batch_size, bool(drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        if self._iterable:
            return self._iter_stream()
        if not self._auto_collation:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return self._iter_batches()

    def _iter_batches(self):
        dataset, collate = self.dataset, self.collate_fn
        fast = getattr(dataset, "get_batch", None) if collate is default_collate else None
        index_batches = getattr(self.batch_sampler, "_index_batches", None)
        batches = index_batches() if index_batches is not None else iter(self.batch_sampler)
        for indices in batches:
            if fast is not None:
                batch = fast(np.asarray(indices, dtype=np.int64))
                if batch is not None:
                    yield batch
                    continue
                fast = None  # the dataset declined (e.g. a transform is set): per-sample from now on
            if isinstance(indices, np.ndarray):
                indices = indices.tolist()
            yield collate([dataset[i] for i in indices])

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)


from . import datasets  # noqa: E402  (datasets.py builds on Dataset above)
