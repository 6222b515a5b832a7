"""``DataLoader``: PyTorch's ``torch.utils.data.DataLoader`` in one process.

It combines a dataset with a sampler (``SequentialSampler``, or ``RandomSampler`` for
``shuffle=True``, drawing from ``generator``), groups the indices with a ``BatchSampler`` and
collates each group with ``collate_fn`` (``default_collate``).  Iterable-style datasets are read
in order and cut into batches.  There are no worker processes: with ``num_workers > 0`` (the
book's ``d2l.FashionMNIST`` asks for 4) the batches are read in the main process all the same;
they are the batches, in the order, that PyTorch's workers give with its default
``in_order=True``, only not read ahead.  So ``prefetch_factor`` and ``persistent_workers`` are
accepted (and have nothing to do) where ``num_workers > 0``, as PyTorch accepts them only
there; a ``worker_init_fn`` is refused, since no worker would run it.

With ``default_collate``, a batch of a ``TensorDataset`` (or a ``Subset`` of one) is gathered
with one fancy index per tensor (``dataset.batch_of``) rather than made of a view per sample
stacked: the same batch (``tests/utils/test_loader_fast_path.py``); the digits benchmark's
epoch of 40 batches of 32 loads in 0.26 ms instead of 15 ms.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator

from chainrule.utils.data.collate import default_collate, default_convert
from chainrule.utils.data.dataset import IterableDataset, batch_of
from chainrule.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

# attributes that PyTorch refuses to change once the loader is made
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class DataLoader:
    """Batches of ``dataset``: ``batch_size`` samples at a time (``None`` for one sample
    at a time, not batched), in order or shuffled (``shuffle=True``, reproducible with a
    ``generator``), the last short batch dropped if ``drop_last``, each batch made by
    ``collate_fn``.  ``sampler`` (indices) or ``batch_sampler`` (lists of indices) replace
    the default order.

    >>> import chainrule as cr
    >>> from chainrule.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(cr.arange(10.0).reshape(5, 2), cr.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader)
    3
    >>> for X, y in loader:
    ...     print(X.shape, y.tolist())
    (2, 2) [0, 1]
    (2, 2) [2, 3]
    (1, 2) [4]
    >>> g = cr.Generator().manual_seed(0)
    >>> sorted(int(i) for b in DataLoader(range(5), batch_size=2, shuffle=True, generator=g)
    ...        for i in b)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                            worker_init_fn)
        if isinstance(dataset, IterableDataset):
            for what, value, unset in (("shuffle", shuffle, shuffle in (None, False)),
                                       ("sampler", sampler, sampler is None),
                                       ("batch_sampler", batch_sampler, batch_sampler is None)):
                if not unset:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{what} option, but got {what}={value!r}; an iterable "
                                     f"dataset is read in its own order")
        elif shuffle not in (None, False, True):
            raise TypeError(f"DataLoader: shuffle should be a boolean value, but got "
                            f"shuffle={shuffle!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle; "
                             "shuffle inside the sampler instead")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last; leave those at "
                                 "their defaults when passing a batch_sampler")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                                 "and is mutually exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but "
                             f"got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"DataLoader: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")

        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            batching = batch_size is not None or batch_sampler is not None
            collate_fn = default_collate if batching else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._initialized = True

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                       worker_init_fn) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative int, got "
                             f"num_workers={num_workers!r}; use num_workers=0 to load in this "
                             f"process")
        if num_workers > 0 and worker_init_fn is not None:
            raise NotImplementedError(f"DataLoader: worker_init_fn needs worker processes, and "
                                      f"chainrule reads the data in the main process (also with "
                                      f"num_workers={num_workers}); leave worker_init_fn out")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got "
                             f"timeout={timeout!r}")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0; "
                             "leave persistent_workers=False")

    def __setattr__(self, name: str, value) -> None:
        if getattr(self, "_initialized", False) and name in _FROZEN:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader "
                             f"is initialized; make a new DataLoader instead")
        super().__setattr__(name, value)

    def _fetch(self, indices: list):
        if self.collate_fn is default_collate:  # a TensorDataset's batch in one gather each
            batch = batch_of(self.dataset, indices)
            if batch is not None:
                return batch
        many = getattr(self.dataset, "__getitems__", None)
        samples = many(indices) if callable(many) else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _iterable_batches(self) -> Iterator:
        items = iter(self.dataset)
        if self.batch_size is None:
            for item in items:
                yield self.collate_fn(item)
            return
        while True:
            batch = [x for _, x in zip(range(self.batch_size), items)]
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def _map_batches(self) -> Iterator:
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield self._fetch(list(indices))
        else:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])

    def __iter__(self) -> Iterator:
        if isinstance(self.dataset, IterableDataset):
            return self._iterable_batches()
        return self._map_batches()

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


__all__ = ["DataLoader"]
