"""Intra-op threads: how many there are, and running one function over blocks of rows on them.

NumPy computes each call on one thread, and releases Python's lock while it does.  A compiled
plan's fused elementwise regions (``chainrule/compiler/fusion.py``) are cut into blocks of
rows small enough to stay in cache, and the blocks are shared between
:func:`get_num_threads` threads: the calling thread takes the first share, a pool the others.
The count follows PyTorch: ``torch.get_num_threads()``/``torch.set_num_threads(n)``; it starts
at ``OMP_NUM_THREADS`` when that is set, else at the number of cores this process may run on.

>>> import chainrule
>>> n = chainrule.get_num_threads()
>>> chainrule.set_num_threads(1)
>>> chainrule.get_num_threads()
1
>>> chainrule.set_num_threads(n)
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from math import prod

import numpy as np

BLOCK = 32768
"""Elements per block: a block's inputs, temporaries and results stay near a core (32768
float64 are 256 KiB).  Measured on this project's machine (``benchmarks/fusion.py``'s chains,
each in its own process): as fast as blocks of 65536 on 1e6 elements, and 2 to 7 times faster
on 131072 (two blocks of 65536 took the allocator's slow path); blocks of 8192 or 16384 were
10 to 25% slower."""


def usable_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (not Linux)
        return os.cpu_count() or 1


def _default_count() -> int:
    try:
        count = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        count = 0
    return count if count > 0 else usable_cores()


_count = [_default_count()]
_pool: list = [None, 0]  # the pool and its number of workers
_pool_lock = threading.Lock()


def get_num_threads() -> int:
    """The number of threads a compiled plan's fused regions run on (PyTorch's name).

    >>> import chainrule
    >>> chainrule.get_num_threads() >= 1
    True
    """
    return _count[0]


def set_num_threads(num: int) -> None:
    """Run compiled plans' fused regions on ``num`` threads (PyTorch's name); 1 keeps every
    computation on the calling thread.  NumPy's own calls and BLAS are not affected (BLAS reads
    ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` when NumPy loads).

    >>> import chainrule
    >>> chainrule.set_num_threads(0)
    Traceback (most recent call last):
    ...
    ValueError: chainrule.set_num_threads: expected a positive number of threads, got 0
    """
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"chainrule.set_num_threads: expected a positive number of threads, "
                         f"got {num!r}")
    _count[0] = num


def _workers(count: int) -> ThreadPoolExecutor:
    """A pool of at least ``count`` workers.  A smaller one is replaced, never shut down:
    another thread may be submitting blocks to it (its idle workers end when it is collected);
    and a region of fewer blocks takes only the workers it needs of a larger one."""
    with _pool_lock:
        if _pool[0] is None or _pool[1] < count:
            _pool[0] = ThreadPoolExecutor(count, thread_name_prefix="chainrule")
            _pool[1] = count
        return _pool[0]


def blocks_rows(shape: tuple) -> int:
    """The rows of one block of an array of ``shape`` (at least one)."""
    return max(1, BLOCK // max(1, prod(shape[1:])))


def run_blocks(fn, shape: tuple, args: tuple) -> list:
    """Call ``fn(lo, hi, *args)`` for consecutive blocks ``[lo, hi)`` of rows (the first axis of
    ``shape``) of about :data:`BLOCK` elements, which together cover every row once, on up to
    :func:`get_num_threads` threads; returns the blocks' results in order.  An exception in
    any block is raised here, after every thread has finished."""
    rows = shape[0]
    per_block = blocks_rows(shape)
    starts = range(0, rows, per_block)
    threads = min(_count[0], len(starts))

    def share(part):
        return [fn(lo, min(lo + per_block, rows), *args) for lo in part]

    if threads <= 1:
        return share(starts)
    # contiguous shares, one per thread: the calling thread computes the first
    bounds = [len(starts) * i // threads for i in range(threads + 1)]
    parts = [starts[bounds[i]:bounds[i + 1]] for i in range(threads)]
    pool = _workers(threads - 1)
    # (NumPy's error handling, np.errstate, holds in the pool's threads as in the caller's:
    # NumPy 2 keeps it per context, NumPy 1 per thread, and neither passes it to a pool)
    errors, callback = np.geterr(), np.geterrcall()

    def share_as_called(part):
        with np.errstate(call=callback, **errors):
            return share(part)

    futures = [pool.submit(share_as_called, part) for part in parts[1:]]
    try:
        results = share(parts[0])
    finally:
        for future in futures:
            future.exception()  # (waits: no block may still write once this returns)
    for future in futures:
        results += future.result()
    return results
