"""Datasets with PyTorch's ``torch.utils.data`` names: ``Dataset``, ``IterableDataset``,
``TensorDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset`` and ``random_split``.

A map-style dataset is anything with ``__getitem__`` (and ``__len__`` for the default
samplers); an iterable-style one is anything with ``__iter__``.  Random splits draw from a
``chainrule.Generator`` (NumPy's PCG64), so they are reproducible from a seed but differ from
PyTorch's for the same seed.

``batch_of`` is the ``DataLoader``'s fast path for the commonest case, a ``TensorDataset`` (or
a ``Subset`` of one) under ``default_collate``: one fancy index per tensor gives the batch that
per-sample rows stacked by ``default_collate`` would (same values, dtypes, shapes, layout),
without a view per sample.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from chainrule.tensor import Tensor, wrap
from chainrule.utils.data.randomness import generator_for, permutation
from chainrule.versions import without_history

# ndarray kinds whose rows default_collate turns into tensors (bool, ints, floats, complex);
# others (strings, objects, dates) keep the general path and its errors
_NUMERIC = "biufc"


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).

    >>> from chainrule.utils.data import Dataset
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i * i
    >>> [x for x in Squares() + Squares()][:6]
    [0, 1, 4, 9, 0, 1]
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style dataset: subclasses define ``__iter__``; a ``DataLoader`` takes its
    items in order (no sampler, no shuffle).

    >>> from chainrule.utils.data import IterableDataset
    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Tensors (or arrays) of the same first dimension; item ``i`` is the tuple of their
    ``i``-th rows.

    >>> import chainrule as cr
    >>> from chainrule.utils.data import TensorDataset
    >>> ds = TensorDataset(cr.arange(6.0).reshape(3, 2), cr.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2., 3.]), tensor(1)))
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor; pass "
                             "TensorDataset(features, labels, ...)")
        for i, t in enumerate(tensors):
            if not hasattr(t, "shape") or len(t.shape) == 0:
                raise ValueError(f"TensorDataset: tensor {i} must have at least one dimension "
                                 f"(the samples), got {type(t).__name__} of shape "
                                 f"{getattr(t, 'shape', None)}")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: Size mismatch between tensors: their first "
                             f"dimensions are {sizes}; every tensor needs one row per sample")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def _plain(dataset, cls) -> bool:
    """Whether ``dataset`` is a ``cls`` whose items are read by ``cls``'s own methods (a
    subclass may override ``__getitem__`` or add ``__getitems__``: those must be called)."""
    kind = type(dataset)
    return (isinstance(dataset, cls) and kind.__getitem__ is cls.__getitem__
            and getattr(kind, "__getitems__", None) is getattr(cls, "__getitems__", None)
            and "__getitems__" not in getattr(dataset, "__dict__", ()))


def _rows(t, index: np.ndarray):
    """The rows of one of a TensorDataset's tensors at ``index`` (int indices), as
    ``default_collate`` would stack them, or None where only the general path is exact."""
    if type(t) is Tensor:
        # a tensor with no history: its rows need no node, and np.stack of them is this
        # gather (a stale view would first be made again: leave that to the general path)
        if not without_history(t):
            return None
        data = t._data
    elif type(t) is np.ndarray and t.dtype.kind in _NUMERIC and t.dtype.isnative:
        data = t
    else:
        return None
    # np.stack's result is C-contiguous; a gather's layout may follow the source's
    return wrap(np.ascontiguousarray(data[index]))


def batch_of(dataset, indices: list):
    """``default_collate([dataset[i] for i in indices])`` when ``dataset`` is a TensorDataset
    (or a Subset of one, at any depth) whose item access is not overridden and the indices are
    ints: one gather per tensor instead of a view per sample and a stack.  None otherwise
    (the caller then takes the general path, which also raises its errors, e.g. an index out
    of range)."""
    while _plain(dataset, Subset):
        try:
            indices = [dataset.indices[i] for i in indices]
        except (LookupError, TypeError):
            return None
        dataset = dataset.dataset
    if not indices or not _plain(dataset, TensorDataset):
        return None
    for i in indices:  # ints only: bools, slices and tensors index differently
        if type(i) is not int and not isinstance(i, np.integer):
            return None
    index = np.array(indices, dtype=np.intp)
    batch = []
    for t in dataset.tensors:
        try:
            rows = _rows(t, index)
        except IndexError:
            return None
        if rows is None:
            return None
        batch.append(rows)
    return batch  # a tuple sample collates to a list (PyTorch's rule)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order.

    >>> from chainrule.utils.data import Subset
    >>> s = Subset(list("abcdef"), [4, 0, 2])
    >>> len(s), s[0], s[[1, 2]]
    (3, 'e', ['a', 'c'])
    """

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.__getitems__(idx)
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after the other.

    >>> from chainrule.utils.data import ConcatDataset
    >>> ds = ConcatDataset([[1, 2], [3, 4, 5]])
    >>> len(ds), ds[2], ds[-1], ds.cumulative_sizes
    (5, 3, 5, [2, 5])
    """

    @staticmethod
    def cumsum(sequence) -> list[int]:
        """The running totals of the datasets' lengths (where each one ends), as PyTorch's."""
        out, total = [], 0
        for e in sequence:
            total += len(e)
            out.append(total)
        return out

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable; pass a "
                             "list of at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; chain "
                                "iterable datasets with ChainDataset instead")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed "
                                 f"dataset length: got {idx} for length {n}")
            idx = n + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other.

    >>> from chainrule.utils.data import ChainDataset
    >>> list(ChainDataset([range(2), range(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _split_lengths(n: int, lengths: Sequence) -> list[int]:
    """Fractions summing to 1 become counts: each floored, the remainder given one by one
    to the first splits (PyTorch's rule); whole numbers are kept."""
    if not isinstance(lengths, Sequence) or isinstance(lengths, str):
        raise TypeError(f"random_split: lengths must be a list of ints or of fractions, got "
                        f"{type(lengths).__name__}")
    for x in lengths:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"random_split: lengths must be ints or fractions, got {x!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 "
                                 f"(got {frac})")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this split "
                              f"will be empty", stacklevel=3)
        return counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: Sum of input lengths does not equal the length of the "
                         f"input dataset! The lengths {list(lengths)} sum to {sum(lengths)}, "
                         f"the dataset has {n} items; give counts summing to {n} or fractions "
                         f"summing to 1")
    for x in lengths:
        if not isinstance(x, numbers.Integral) or x < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints, or fractions "
                             f"summing to 1, got {list(lengths)}")
    return [int(x) for x in lengths]


def random_split(dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` at random into ``Subset``s of the given lengths, or of the given
    fractions of its length (``[0.8, 0.2]``).  ``generator`` (a ``chainrule.Generator``)
    makes the split reproducible; without one it draws from the global seed
    (``chainrule.manual_seed``).

    >>> import chainrule as cr
    >>> from chainrule.utils.data import random_split
    >>> train, test = random_split(range(10), [0.7, 0.3], generator=cr.Generator().manual_seed(0))
    >>> len(train), len(test), sorted(list(train) + list(test)) == list(range(10))
    (7, 3, True)
    """
    counts = _split_lengths(len(dataset), lengths)
    order = permutation("random_split", sum(counts), generator_for("random_split", generator))
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, order[start:start + c].tolist()))
        start += c
    return out
