"""Samplers with PyTorch's names: the orders in which a ``DataLoader`` visits a map-style
dataset (``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
``WeightedRandomSampler``) and ``BatchSampler``, which groups any sampler's indices.

Random samplers draw from a ``chainrule.Generator`` (NumPy's PCG64): seeded orders are
reproducible but are not PyTorch's for the same seed.  Without a ``generator`` each pass
seeds a fresh one from the global generator (``chainrule.manual_seed``).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from chainrule.tensor import Tensor
from chainrule.utils.data.randomness import generator_for


def _positive_int(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: {what} should be a positive integer value, but got "
                         f"{what}={value!r}")
    return int(value)


def _boolean(name: str, what: str, value, error=TypeError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{name}: {what} should be a boolean value, but got {what}={value!r}")
    return value


class Sampler:
    """The base of all samplers: ``__iter__`` yields dataset indices (or, for a batch
    sampler, lists of them); ``__len__`` is optional.

    >>> from chainrule.utils.data import Sampler
    >>> class Evens(Sampler):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(0, self.n, 2))
    >>> list(Evens(7))
    [0, 2, 4, 6]
    """

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of Sampler should implement __iter__.")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``.

    >>> from chainrule.utils.data import SequentialSampler
    >>> list(SequentialSampler("abc"))
    [0, 1, 2]
    """

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices of ``data_source`` in random order: a permutation, or ``num_samples`` draws
    with ``replacement=True``.  Without replacement, ``num_samples`` larger than the dataset
    repeats whole permutations (PyTorch's rule).

    >>> import chainrule as cr
    >>> from chainrule.utils.data import RandomSampler
    >>> s = RandomSampler(range(5), generator=cr.Generator().manual_seed(0))
    >>> sorted(s), len(s)
    ([0, 1, 2, 3, 4], 5)
    >>> len(list(RandomSampler(range(5), replacement=True, num_samples=12)))
    12
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = _boolean("RandomSampler", "replacement", replacement)
        self._num_samples = num_samples
        if generator is not None:
            generator_for("RandomSampler", generator)
        self.generator = generator
        if num_samples is not None:
            _positive_int("RandomSampler", "num_samples", num_samples)

    @property
    def num_samples(self) -> int:
        """How many indices an epoch draws: ``num_samples`` if given, else the dataset's length."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        rng = generator_for("RandomSampler", self.generator)
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw with replacement from an empty "
                                 "dataset")
            yield from rng.integers(0, n, count).tolist()
            return
        for _ in range(count // n if n else 0):
            yield from rng.permutation(n).tolist()
        if n:
            yield from rng.permutation(n)[:count % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in random order.

    >>> import chainrule as cr
    >>> from chainrule.utils.data import SubsetRandomSampler
    >>> sorted(SubsetRandomSampler([3, 7, 9], generator=cr.Generator().manual_seed(1)))
    [3, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        if generator is not None:
            generator_for("SubsetRandomSampler", generator)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = generator_for("SubsetRandomSampler", self.generator)
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (which
    need not sum to one), with replacement by default.

    >>> import chainrule as cr
    >>> from chainrule.utils.data import WeightedRandomSampler
    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 6, generator=cr.Generator().manual_seed(0))
    >>> set(s) <= {1, 3}, len(s)
    (True, 6)
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        name = "WeightedRandomSampler"
        self.num_samples = _positive_int(name, "num_samples", num_samples)
        self.replacement = _boolean(name, "replacement", replacement, ValueError)
        if isinstance(weights, Tensor):
            weights = weights.detach().numpy()
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"{name}: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError(f"{name}: invalid multinomial distribution: the weights must be "
                               f"finite, non-negative and not all zero, got {w.tolist()}")
        if not replacement and num_samples > w.size:
            raise RuntimeError(f"{name}: cannot sample num_samples={num_samples} > "
                               f"len(weights)={w.size} items without replacement; lower "
                               f"num_samples or pass replacement=True")
        self.weights = w
        if generator is not None:
            generator_for(name, generator)
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = generator_for("WeightedRandomSampler", self.generator)
        w = self.weights
        if self.replacement:
            yield from rng.choice(w.size, self.num_samples, p=w / w.sum()).tolist()
            return
        # without replacement: the items of non-zero weight in the order of successive
        # weighted draws, then (as PyTorch allows) those of zero weight in random order
        nonzero, zero = np.flatnonzero(w), np.flatnonzero(w == 0)
        order = np.concatenate([
            rng.choice(nonzero, nonzero.size, replace=False, p=w[nonzero] / w.sum()),
            rng.permutation(zero)])
        yield from order[:self.num_samples].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last, shorter one is kept unless
    ``drop_last``.

    >>> from chainrule.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6]]
    >>> len(BatchSampler(range(7), 3, drop_last=True))
    2
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        self.batch_size = _positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _boolean("BatchSampler", "drop_last", drop_last, ValueError)
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
