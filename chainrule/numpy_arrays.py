"""NumPy's functions that rearrange or combine arrays (``diag``, ``trace``, ``tril``, ``kron``,
``roll``, ``rot90``, ``repeat``, ``diff``, the ``atleast``, ``stack`` and ``split`` families,
``append``), for :mod:`chainrule.numpy`, which calls them when a Tensor is among the
arguments (NumPy's own functions answer plain arrays).

Each is written with chainrule's operations (indexing, ``where``, ``einsum``, ``cat``), so
reverse mode, forward mode and every higher order come from the primitives' rules.  Results
are copies where NumPy returns read-only views (``diagonal``): only PyTorch's view operations
share storage.
"""

from __future__ import annotations

import builtins
import string

import numpy as np

from chainrule import ops
from chainrule import rules as R


def _along(axis: int, ndim: int, index) -> tuple:
    """An index that applies ``index`` along ``axis`` of an ``ndim``-dimensional array."""
    return (slice(None),) * (axis % ndim) + (index,)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The diagonal of the planes ``axis1``, ``axis2`` (as the last axis of the result)."""
    a = ops.operand(a)
    axis1, axis2 = axis1 % a.ndim, axis2 % a.ndim
    rest = [d for d in range(a.ndim) if d not in (axis1, axis2)]
    moved = ops.permute(a, rest + [axis1, axis2])
    n1, n2 = a.shape[axis1], a.shape[axis2]
    rows = np.arange(builtins.max(0, -offset), builtins.max(0, builtins.min(n1, n2 - offset)))
    return ops.getitem(moved, (Ellipsis, rows, rows + offset))


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """The sum of the diagonal (of each plane ``axis1``, ``axis2``)."""
    return ops.sum(diagonal(a, offset, axis1, axis2), -1)


def diag(v, k: int = 0):
    """A 1-D ``v`` on the ``k``-th diagonal of a square matrix of zeros; of a 2-D ``v``, its
    ``k``-th diagonal."""
    v = ops.operand(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"chainrule.numpy.diag: input must be 1-d or 2-d, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    positions = np.arange(v.shape[0])
    rows, columns = positions + builtins.max(0, -k), positions + builtins.max(0, k)
    return R.index_put(np.zeros((n, n), np.result_type(ops.data_of(v))), v,
                       index=(rows, columns))


def _lower(shape, k: int):
    return np.tri(shape[-2], shape[-1], k, dtype=bool)


def tril(m, k: int = 0):
    """``m`` with the entries above its ``k``-th diagonal set to zero."""
    m = ops.operand(m)
    return R.where(_lower(m.shape, k), m, 0.0 * np.ones((), np.result_type(ops.data_of(m))))


def triu(m, k: int = 0):
    """``m`` with the entries below its ``k``-th diagonal set to zero."""
    m = ops.operand(m)
    return R.where(~_lower(m.shape, k - 1), m,
                   0.0 * np.ones((), np.result_type(ops.data_of(m))))


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] * b``."""
    a, b = ops.operand(a), ops.operand(b)
    ndim = builtins.max(a.ndim, b.ndim)
    a = ops.reshape(a, (1,) * (ndim - a.ndim) + tuple(a.shape))
    b = ops.reshape(b, (1,) * (ndim - b.ndim) + tuple(b.shape))
    left, right = string.ascii_letters[:ndim], string.ascii_letters[ndim:2 * ndim]
    interleaved = "".join(i + j for i, j in zip(left, right))
    product = ops.einsum(f"{left},{right}->{interleaved}", a, b)
    return ops.reshape(product, tuple(m * n for m, n in zip(a.shape, b.shape)))


def roll(a, shift, axis=None):
    """The entries shifted by ``shift`` along ``axis`` (of the flattened array by default),
    those that fall off one end coming back at the other."""
    a = ops.operand(a)
    if axis is None:
        return ops.reshape(roll(ops.reshape(a, -1), shift, 0), tuple(a.shape))
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    for s, d in zip(shifts.ravel(), axes.ravel()):
        n = a.shape[int(d)]
        a = ops.getitem(a, _along(int(d), a.ndim, (np.arange(n) - int(s)) % builtins.max(n, 1)))
    return a


def rot90(m, k: int = 1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times, from the first axis of ``axes`` to the second."""
    m = ops.operand(m)
    first, second = axes[0] % m.ndim, axes[1] % m.ndim
    order = list(range(m.ndim))
    order[first], order[second] = order[second], order[first]
    k %= 4
    if k == 0:
        return ops.clone(m)
    if k == 2:
        return ops.flip(m, (first, second))
    if k == 1:
        return ops.permute(ops.flip(m, second), order)
    return ops.flip(ops.permute(m, order), second)


def flipud(m):
    """``m`` upside down (reversed along axis 0)."""
    return ops.flip(m, 0)


def fliplr(m):
    """``m`` reversed left to right (along axis 1)."""
    return ops.flip(m, 1)


def repeat(a, repeats, axis=None):
    """Each entry repeated ``repeats`` times along ``axis`` (of the flattened array by
    default): NumPy's ``repeat``, PyTorch's ``repeat_interleave``."""
    a = ops.operand(a)
    if axis is None:
        a, axis = ops.reshape(a, -1), 0
    positions = np.repeat(np.arange(a.shape[axis]), repeats)
    return ops.getitem(a, _along(axis, a.ndim, positions))


def diff(a, n: int = 1, axis: int = -1, prepend=None, append=None):
    """The ``n``-th differences along ``axis``: ``a[i + 1] - a[i]``, ``n`` times."""
    a = ops.operand(a)
    pieces = [v for v in (prepend, a, append) if v is not None]
    if len(pieces) > 1:
        a = _concatenate_with_scalars(pieces, axis, a.shape)
    for _ in range(n):
        length = a.shape[axis]
        a = (ops.getitem(a, _along(axis, a.ndim, slice(1, length)))
             - ops.getitem(a, _along(axis, a.ndim, slice(0, length - 1))))
    return a


def _concatenate_with_scalars(pieces, axis, shape):
    """``pieces`` joined along ``axis``, a number standing for a slice of ``shape`` filled
    with it (as ``diff``'s ``prepend`` and ``append`` take them)."""
    joined = []
    for piece in pieces:
        piece = ops.operand(piece)
        if piece.ndim == 0:
            slab = list(shape)
            slab[axis] = 1
            piece = ops.broadcast_to(piece, tuple(slab))
        joined.append(piece)
    return ops.cat(joined, axis)


def _at_least(ndim: int, arrays):
    shaped = []
    for a in arrays:
        a = ops.operand(a)
        if a.ndim < ndim:
            if ndim == 3 and a.ndim == 2:
                shape = tuple(a.shape) + (1,)
            elif ndim == 3 and a.ndim == 1:
                shape = (1,) + tuple(a.shape) + (1,)
            else:
                shape = (1,) * (ndim - a.ndim) + tuple(a.shape)
            a = ops.reshape(a, shape)
        shaped.append(a)
    return shaped[0] if len(shaped) == 1 else shaped


def atleast_1d(*arys):
    """Each array with at least one dimension."""
    return _at_least(1, arys)


def atleast_2d(*arys):
    """Each array with at least two dimensions (a vector becomes one row)."""
    return _at_least(2, arys)


def atleast_3d(*arys):
    """Each array with at least three dimensions (a vector of n becomes (1, n, 1))."""
    return _at_least(3, arys)


def _listed(shaped):
    return shaped if isinstance(shaped, list) else [shaped]


def vstack(tup):
    """The arrays, as rows (at least 2-D), joined along axis 0."""
    return ops.cat(_listed(_at_least(2, tup)), 0)


def hstack(tup):
    """The arrays joined along axis 1 (along axis 0 for vectors)."""
    arrays = _listed(_at_least(1, tup))
    return ops.cat(arrays, 0 if arrays[0].ndim == 1 else 1)


def dstack(tup):
    """The arrays, at least 3-D, joined along axis 2."""
    return ops.cat(_listed(_at_least(3, tup)), 2)


def column_stack(tup):
    """Vectors as columns, matrices as they are, joined along axis 1."""
    arrays = []
    for a in tup:
        a = ops.operand(a)
        arrays.append(ops.reshape(a, (-1, 1)) if a.ndim == 1 else a)
    return ops.cat(arrays, 1)


def array_split(ary, indices_or_sections, axis: int = 0):
    """``ary`` cut along ``axis`` into ``indices_or_sections`` pieces (the first ones one
    longer when they cannot be equal), or at the given indices."""
    a = ops.operand(ary)
    n = a.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("chainrule.numpy.array_split: number sections must be larger "
                             "than 0.")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra))
    else:
        bounds = [0, *indices_or_sections, n]
    return [ops.getitem(a, _along(axis, a.ndim, slice(int(lo), int(builtins.max(lo, hi)))))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis: int = 0):
    """``ary`` cut along ``axis`` into equal pieces, or at the given indices."""
    a = ops.operand(ary)
    if isinstance(indices_or_sections, (int, np.integer)) and \
            a.shape[axis] % int(indices_or_sections):
        raise ValueError("chainrule.numpy.split: array split does not result in an equal "
                         f"division ({a.shape[axis]} into {int(indices_or_sections)})")
    return array_split(a, indices_or_sections, axis)


def vsplit(ary, indices_or_sections):
    """``split`` along axis 0."""
    return split(ary, indices_or_sections, 0)


def hsplit(ary, indices_or_sections):
    """``split`` along axis 1 (along axis 0 for vectors)."""
    return split(ary, indices_or_sections, 0 if ops.operand(ary).ndim == 1 else 1)


def dsplit(ary, indices_or_sections):
    """``split`` along axis 2."""
    return split(ary, indices_or_sections, 2)


def append(arr, values, axis=None):
    """``values`` appended to ``arr`` along ``axis`` (both flattened by default)."""
    if axis is None:
        return ops.cat([ops.reshape(ops.operand(arr), -1), ops.reshape(ops.operand(values), -1)])
    return ops.cat([arr, values], axis)
