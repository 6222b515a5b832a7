"""``DistributedSampler``: PyTorch's ``torch.utils.data.distributed.DistributedSampler``, which
gives each of ``num_replicas`` processes (ranks) its own share of a map-style dataset's indices,
so that data-parallel training (one process per rank, e.g. started with ``mpiexec -n N``) sees
every sample once per epoch.

The partition is PyTorch's exactly: the index list (shuffled or not) is padded by repeating its
start, or with ``drop_last`` truncated, to a multiple of ``num_replicas``, and rank ``r`` takes
every ``num_replicas``-th index starting at ``r``.  Shuffled orders come from a
``chainrule.Generator`` (NumPy's PCG64) seeded with ``seed + epoch``: every rank gets the same
permutation, and it is reproducible, but it is not the one PyTorch gives for the same seed.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterator, Sized

from chainrule.generator import Generator
from chainrule.utils.data.randomness import permutation
from chainrule.utils.data.sampler import Sampler, _boolean, _positive_int

_NAME = "DistributedSampler"


def _integer(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {what} should be an integer value, but got {what}={value!r}")
    return operator.index(value)


def _process_group(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """``num_replicas`` and ``rank``, those left as None read from ``chainrule.distributed``."""
    advice = ("pass num_replicas and rank explicitly, or call "
              "chainrule.distributed.init_process_group() first (in a program started with "
              "mpiexec -n N)")
    try:
        import chainrule.distributed as dist
    except ImportError as e:
        raise RuntimeError(f"{_NAME}: num_replicas and rank default to the world size and rank "
                           f"of chainrule.distributed, which could not be imported ({e}); "
                           f"{advice}; it needs mpi4py: pip install 'chainrule[mpi]'") from e
    try:
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
    except RuntimeError as e:
        raise RuntimeError(f"{_NAME}: num_replicas and rank default to the world size and rank "
                           f"of the default process group, which is not available ({e}); "
                           f"{advice}") from e
    return num_replicas, rank


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that belong to replica ``rank`` of ``num_replicas``.

    Each rank gets ``len(sampler)`` indices.  Unless ``drop_last``, indices from the start of
    the (shuffled) order are repeated so that the count divides evenly; with ``drop_last`` the
    tail is dropped instead.  ``num_replicas`` and ``rank`` default to
    ``chainrule.distributed.get_world_size()`` and ``get_rank()``.

    With ``shuffle`` the order is a permutation drawn from ``chainrule.Generator`` seeded with
    ``seed + epoch``: the same on every rank (``seed`` must be the same everywhere), new each
    epoch after :meth:`set_epoch`, reproducible, but NumPy's PCG64 stream, so not the order
    PyTorch gives for the same seed.

    >>> from chainrule.utils.data import DistributedSampler
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False))
    [0, 3, 6, 9]
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False))
    [2, 5, 8, 1]
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False,
    ...                         drop_last=True))
    [2, 5, 8]
    >>> s = DistributedSampler(range(10), num_replicas=3, rank=1, seed=7)
    >>> s.set_epoch(2)
    >>> len(s), len(list(s))
    (4, 4)
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            num_replicas, rank = _process_group(num_replicas, rank)
        num_replicas = _positive_int(_NAME, "num_replicas", num_replicas)
        rank = _integer(_NAME, "rank", rank)
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.shuffle = _boolean(_NAME, "shuffle", shuffle)
        self.seed = _integer(_NAME, "seed", seed)
        self.drop_last = _boolean(_NAME, "drop_last", drop_last)
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            # the largest multiple of num_replicas below n (PyTorch's formula)
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            rng = Generator().manual_seed(self.seed + self.epoch)
            indices = permutation(_NAME, n, rng).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - len(indices)
            if padding > 0 and indices:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        if len(indices) != self.total_size:
            raise RuntimeError(f"{_NAME}: the dataset has {n} items now but had a different "
                               f"length when the sampler was made ({self.total_size} indices "
                               f"expected); make a new sampler after changing the dataset")
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass shuffle with ``seed + epoch``; call it with the same epoch on
        every rank before each epoch, or every epoch repeats the same order."""
        self.epoch = _integer(f"{_NAME}.set_epoch", "epoch", epoch)
