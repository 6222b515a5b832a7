"""Buffer reuse for large arrays in a plain backward pass; ``backward.py`` uses it (and a
compiled plan's backward, ``chainrule/compiler/plan.py``, reads :data:`state` to know whether
it may free what it saved, and :data:`LARGE`).

A fresh 8 MB array costs more than the arithmetic done in it (the kernel hands out new zeroed
pages), so on large arrays (over :data:`LARGE` elements) a plain backward pass (no
``retain_graph``, no ``create_graph``) avoids allocating.  The rules know nothing of it: a
rule that is a product with the incoming gradient says so (``rules.derivative``), and
:func:`product` writes ``g * f'`` where no allocation is needed:

* into ``f'`` itself when the rule has just computed it (``x * 2``), and ``f'`` itself,
  when it is a primitive of the input (``cos(x)``), into a buffer that is free;
* into a saved input that nothing outside the graph references and that no later rule of the
  node reads (``(a * b)``'s rule for ``b`` computes ``g * a`` into ``a`` when ``a`` was a
  temporary);
* into ``g`` when only this rule reads it (the engine's own array);
* into one of the saved values the pass has freed, when nothing else references them: a small
  pool (``state.pool``), from which the engine also takes the sums of gradients.

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


class _PassState(threading.local):
    """What the running backward pass may reuse."""

    pool: list | None = None  # dead arrays of this backward pass (raw mode only), else None


POOL_SIZE = 4  # arrays kept for reuse at most: bounds what the pool adds to peak memory
LARGE = 4096  # elements: below this an allocation costs less than the checks that avoid it


state = _PassState()


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
    pool = state.pool
    for _, array in unshared(items):
        pool.append(array)
    if len(pool) > POOL_SIZE:
        del pool[:-POOL_SIZE]


def take_buffer(shape, dtype):
    """A dead array of this shape and dtype from the backward pass's pool, or None."""
    pool = state.pool
    if pool:
        for i, array in enumerate(pool):
            if array.shape == shape and array.dtype == dtype:
                return pool.pop(i)
    return None


def applied_into_buffer(prim, x, spent):
    """``prim(x)`` for a one-input elementwise primitive (a derivative such as ``cos(x)``),
    computed into ``x`` when it is a spent saved input, or into a dead array of the pool;
    None when neither is at hand."""
    if type(x) is not np.ndarray or x.size <= LARGE or x.dtype.kind not in "fc":
        return None
    buffer = x if any(x is a for a in spent) else take_buffer(x.shape, x.dtype)
    return None if buffer is None else prim.impl(x, out=buffer)


def product(g, factor, *, donated: bool, spent, ans, args):
    """``g * factor`` for a large gradient ``g``, written where it costs no new array (see the
    module docstring); ``donated`` says that ``g`` may be overwritten, ``spent`` which saved
    inputs may be, ``ans`` and ``args`` what the node saved (never written otherwise)."""
    if type(factor) is not np.ndarray or factor.shape != g.shape:
        return g * factor  # (a broadcast product: its shape is neither's)
    same_dtype = factor.dtype == g.dtype
    if same_dtype and not any(g.strides) and g.flat[0] == 1:
        return factor  # g is a broadcast 1 (the gradient of a sum): g * f' is f'
    if same_dtype and (is_fresh(factor, g, ans, args) or any(factor is a for a in spent)):
        return np.multiply(g, factor, out=factor)
    if not same_dtype and factor.dtype != np.bool_:
        return g * factor  # (the product's dtype is neither's)
    if donated:
        return np.multiply(g, factor, out=g)
    out = take_buffer(g.shape, g.dtype)
    return g * factor if out is None else np.multiply(g, factor, out=out)


def is_fresh(gi, g, ans, args) -> bool:
    """Did the rule just allocate ``gi``?  Then the engine may write into it.

    A rule can only return new arrays, views (which have a ``base``), or arrays it was given.
    (Checked for large arrays, where writing into it saves an allocation, and for a leaf's
    first gradient, which then becomes its ``.grad`` without a copy.)
    """
    if gi.base is not None or gi is g or gi is ans:
        return False
    return all(gi is not a for a in args)


_calibrate_reference_counts()
