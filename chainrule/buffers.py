"""Buffer reuse for large arrays in a plain backward pass; only ``backward.py`` and the rules'
product helpers (``rules/reuse.py``) use it.

A fresh 8 MB array costs more than the arithmetic done in it (the kernel hands out new zeroed
pages), so on large arrays (over :data:`LARGE` elements) a plain backward pass (no
``retain_graph``, no ``create_graph``) avoids allocating:

* a gradient that only one rule will read is offered to that rule to overwrite
  (``donation.array``);
* a saved input that nothing outside the graph references and that no later rule of the node
  reads may be overwritten by the node's rule (``donation.spent``): ``(a * b)``'s rule for ``b``
  may compute ``g * a`` into ``a`` when ``a`` was a temporary;
* the saved values that the pass frees, when nothing else references them, go to a small pool
  (``donation.pool``) from which rules take buffers for their results and temporaries.

"Nothing else references it" is read from the reference count, as NumPy's own elision of
temporaries does; it is only trusted on CPython with its GIL (:data:`REFCOUNTS_TRUSTED`).  The
counts of a sole holder are measured once, when this module is imported.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from chainrule.sparse import SparseGrad
from chainrule.tensor_base import TensorBase, new_tensor


class _Donation(threading.local):
    """Large arrays the running rule may write into (see ``rules/reuse.py``): each saves an
    allocation of a large array."""

    array = None  # the incoming gradient: the engine's own, read by no one else
    spent: tuple = ()  # saved inputs of the running node that no one will read again
    pool: list | None = None  # dead arrays of this backward pass, to reuse (raw mode only)


POOL_SIZE = 4  # arrays kept for reuse at most: bounds what the pool adds to peak memory
LARGE = 4096  # elements: below this an allocation costs less than the checks that avoid it


donation = _Donation()


def _reference_counts(items) -> list:
    """Each item's reference count, and its array's when it is a Tensor (see unshared)."""
    counts = []
    for item in items:
        if type(item) is np.ndarray:
            counts.append((sys.getrefcount(item), 0))
        elif isinstance(item, TensorBase) and type(item._data) is np.ndarray:
            counts.append((sys.getrefcount(item), sys.getrefcount(item._data)))
        else:
            counts.append((0, 0))
    return counts


# Whether reference counts tell "nothing else holds this": CPython with its GIL.  What the
# counts are when a tuple is the only holder, measured once on fresh objects (the same code
# path, so the interpreter's own temporary references cancel out).
REFCOUNTS_TRUSTED = (sys.implementation.name == "cpython"
                     and getattr(sys, "_is_gil_enabled", lambda: True)())
_SOLE_COUNTS: list = []  # set once by _calibrate_reference_counts, when this module is imported


def _calibrate_reference_counts() -> None:
    """Measure the counts of a sole holder (once, below)."""
    if REFCOUNTS_TRUSTED:
        _SOLE_COUNTS[:] = _reference_counts((np.empty(0), new_tensor(TensorBase, np.empty(0))))


def unshared(items) -> list:
    """``(index, array)`` for the large arrays among ``items`` (arrays, or Tensors' arrays)
    that nothing but ``items`` references, so that writing into them cannot be observed.

    Only arrays that own their memory and are writeable qualify.  This is NumPy's own test
    for eliding temporaries (a reference count), applied to the values a graph saved.
    """
    (array_sole, _), (tensor_sole, data_sole) = _SOLE_COUNTS
    found = []
    for index, (count, data_count) in enumerate(_reference_counts(items)):
        if count == 0:
            continue
        item = items[index]
        if data_count == 0:
            if count != array_sole:
                continue
            array = item
        else:
            if count != tensor_sole or data_count != data_sole:
                continue
            array = item._data
        if array.size > LARGE and array.flags.owndata and array.flags.writeable:
            found.append((index, array))
    return found


def spendable(dying, i, parents, wanted, reads) -> tuple:
    """The dying saved inputs that rule ``i`` may overwrite: those no later rule reads."""
    later = set()
    for k in range(i + 1, len(parents)):
        if parents[k] is not None and (wanted is None or parents[k] in wanted):
            if reads is None:
                return ()
            later.update(reads[k])
    return tuple(a for j, a in dying if j not in later)


def aliases(gi, array) -> bool:
    """Does the gradient ``gi`` hold ``array`` (itself, a view of it, a sparse gradient's
    values)?  Then ``array`` is no longer free to overwrite."""
    if type(gi) is SparseGrad:
        gi = gi.values
    return gi is array or (type(gi) is np.ndarray and gi.base is array)


def keep_for_reuse(items) -> None:
    """Put the large arrays among ``items`` that no one else references into the pool."""
    pool = donation.pool
    for _, array in unshared(items):
        pool.append(array)
    if len(pool) > POOL_SIZE:
        del pool[:-POOL_SIZE]


def take_buffer(shape, dtype):
    """A dead array of this shape and dtype from the backward pass's pool, or None."""
    pool = donation.pool
    if pool:
        for i, array in enumerate(pool):
            if array.shape == shape and array.dtype == dtype:
                return pool.pop(i)
    return None


def give_back(array) -> None:
    """Return a buffer taken with :func:`take_buffer` that the rule no longer needs."""
    pool = donation.pool
    if pool is not None and len(pool) < POOL_SIZE:
        pool.append(array)


def is_fresh(gi, g, ans, args) -> bool:
    """Did the rule just allocate ``gi``?  Then the engine may add into it in place.

    A rule can only return new arrays, views (which have a ``base``), or arrays it was given.
    (Checked for large arrays only, where an allocation saved matters.)
    """
    if gi.base is not None or gi is g or gi is ans:
        return False
    return all(gi is not a for a in args)


_calibrate_reference_counts()
