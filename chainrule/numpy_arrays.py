"""NumPy's functions that rearrange or combine arrays (``diag``, ``trace``, ``tril``, ``kron``,
``roll``, ``rot90``, ``repeat``, ``diff``, the ``atleast``, ``stack`` and ``split`` families,
``append``, ``select``, ``cross``), for :mod:`chainrule.numpy`, which calls them when a Tensor
is among the arguments (NumPy's own functions answer plain arrays), and for the operations
with PyTorch's names of :mod:`chainrule.math_ops`.

Each is written with chainrule's operations (indexing, ``where``, ``einsum``, ``cat``), so
reverse mode, forward mode and every higher order come from the primitives' rules.  Results
are copies where NumPy returns read-only views (``diagonal``): only PyTorch's view operations
share storage.

An axis out of range is refused (``IndexError``, PyTorch's "Dimension out of range"; NumPy's
``AxisError`` is an IndexError too), never wrapped around.  An error names the function
without the namespace (``diagonal: ...``): :mod:`chainrule.numpy` puts ``chainrule.numpy.``
in front of it.
"""

from __future__ import annotations

import builtins
import string
import warnings

import numpy as np

from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import like, one_dim, shape_of
from chainrule.errors import ShapeError, broadcast_mismatch, refuse_out
from chainrule.tensor_base import TensorBase


def _along(axis: int, ndim: int, index) -> tuple:
    """An index that applies ``index`` along ``axis`` of an ``ndim``-dimensional array."""
    return (slice(None),) * (axis % ndim) + (index,)


def _to_last(x, axis: int):
    """``x`` with its (non-negative) ``axis`` moved to the end."""
    return ops.permute(x, [d for d in range(x.ndim) if d != axis] + [axis])


def _from_last(x, axis: int):
    """``x`` with its last axis moved to position ``axis`` (non-negative)."""
    order = list(range(x.ndim - 1))
    order.insert(axis, x.ndim - 1)
    return ops.permute(x, order)


def _matrix_axes(name: str, a, axis1: int, axis2: int) -> tuple[int, int]:
    """Two different axes of ``a`` (at least 2-D), as non-negative ints."""
    if a.ndim < 2:
        raise ShapeError(f"{name}: the input must have at least 2 dimensions, but it has shape "
                         f"{tuple(a.shape)}")
    first, second = one_dim(name, axis1, a.ndim), one_dim(name, axis2, a.ndim)
    if first == second:
        raise ShapeError(f"{name}: the two axes (dims) must be different, but both are {first} "
                         f"(got {axis1} and {axis2})")
    return first, second


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The diagonal of the planes ``axis1``, ``axis2`` (as the last axis of the result)."""
    a = ops.operand(a)
    axis1, axis2 = _matrix_axes("diagonal", a, axis1, axis2)
    rest = [d for d in range(a.ndim) if d not in (axis1, axis2)]
    moved = ops.permute(a, rest + [axis1, axis2])
    n1, n2 = a.shape[axis1], a.shape[axis2]
    rows = np.arange(builtins.max(0, -offset), builtins.max(0, builtins.min(n1, n2 - offset)))
    return ops.getitem(moved, (Ellipsis, rows, rows + offset))


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """The sum of the diagonal (of each plane ``axis1``, ``axis2``), in ``dtype`` if given."""
    refuse_out("trace", out)
    return ops.sum(diagonal(a, offset, axis1, axis2), -1, dtype=dtype)


def diag(v, k: int = 0):
    """A 1-D ``v`` on the ``k``-th diagonal of a square matrix of zeros; of a 2-D ``v``, its
    ``k``-th diagonal."""
    v = ops.operand(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ShapeError(f"diag: input must be 1-d or 2-d, got shape {tuple(v.shape)}")
    n = v.shape[0] + abs(k)
    positions = np.arange(v.shape[0])
    rows, columns = positions + builtins.max(0, -k), positions + builtins.max(0, k)
    return R.index_put(np.zeros((n, n), v.dtype), v,
                       index=(rows, columns))


def _lower(name: str, m, k: int):
    """Where the entries on and below the ``k``-th diagonal of ``m``'s last two axes are (a
    vector counts as a row that is repeated into a square, as in NumPy)."""
    if m.ndim == 0:
        raise ShapeError(f"{name}: input must have at least 1 dimension, got a 0-d array")
    return np.tri(*m.shape[-2:], k=k, dtype=bool)


def tril(m, k: int = 0):
    """``m`` with the entries above its ``k``-th diagonal set to zero (in ``m``'s dtype)."""
    m = ops.operand(m)
    return R.where(_lower("tril", m, k), m, np.zeros((), m.dtype))


def triu(m, k: int = 0):
    """``m`` with the entries below its ``k``-th diagonal set to zero (in ``m``'s dtype)."""
    m = ops.operand(m)
    return R.where(~_lower("triu", m, k - 1), m, np.zeros((), m.dtype))


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
    try:
        shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    except ValueError:
        raise ShapeError(f"roll: shifts and dimensions must align: {np.size(shift)} shifts for "
                         f"{np.size(axis)} dimensions; give one shift per dimension") from None
    for s, d in zip(shifts.ravel(), axes.ravel()):
        d = one_dim("roll", d, a.ndim)
        n = a.shape[d]
        a = ops.getitem(a, _along(d, a.ndim, (np.arange(n) - int(s)) % builtins.max(n, 1)))
    return a


def rot90(m, k: int = 1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times, from the first axis of ``axes`` to the second."""
    m = ops.operand(m)
    if len(axes) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2 (len(axes) must be 2), but got "
                         f"axes = {tuple(axes)}")
    first, second = _matrix_axes("rot90", m, *axes)
    k %= 4
    if k == 0:
        return ops.clone(m)
    if k == 2:
        return ops.flip(m, (first, second))
    if k == 1:
        return ops.transpose(ops.flip(m, second), first, second)
    return ops.flip(ops.transpose(m, first, second), second)


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
    axis = one_dim("repeat", axis, a.ndim)
    if a.ndim == 0:  # (NumPy repeats a 0-d array along axis 0 as a vector of one)
        a = ops.reshape(a, -1)
    positions = np.repeat(np.arange(a.shape[axis]), repeats)
    return ops.getitem(a, _along(axis, a.ndim, positions))


def diff(a, n: int = 1, axis: int = -1, prepend=None, append=None):
    """The ``n``-th differences along ``axis``: ``a[i + 1] - a[i]``, ``n`` times."""
    a = ops.operand(a)
    if a.ndim == 0:
        raise ShapeError("diff: expects input to be at least one-dimensional, but got a 0-d "
                         "array")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")
    axis = one_dim("diff", axis, a.ndim)
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


def select(condlist, choicelist, default=0):
    """The entries of ``choicelist[i]`` where ``condlist[i]`` is the first condition that
    holds, ``default`` where none does (all broadcast together; the conditions carry no
    gradient)."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions "
                         f"({len(choicelist)} choices for {len(condlist)} conditions)")
    if len(condlist) == 0:
        raise ValueError("select: select with an empty condition list is not possible")
    # Python's numbers stay numbers, so that they take the arrays' dtype (NumPy 2's rule)
    choices = [c if type(c) in (int, float, complex) else ops.operand(c)
               for c in [*choicelist, default]]
    try:  # (a Tensor's dtype, not its values: a trace of ``compile`` goes on)
        dtype = np.result_type(*[c.dtype if isinstance(c, TensorBase) else c for c in choices])
    except TypeError as err:
        raise TypeError(f"select: Choicelist and default value do not have a common dtype: "
                        f"{err}") from None
    # Tensors stay Tensors (the where primitive reads them, so a compiled plan does too)
    conditions = [c if isinstance(c, TensorBase) else np.asarray(c) for c in condlist]
    for i, condition in enumerate(conditions):
        if condition.dtype != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray "
                            f"(it has dtype {condition.dtype})")
    # (numbers and arrays are cast by NumPy: a primitive on raw values would break a trace;
    # the common dtype is complex if one of them is, so no imaginary part is dropped)
    choices = [ops.to(c, dtype) if isinstance(c, TensorBase)
               else np.asarray(c).astype(dtype, copy=False) for c in choices]
    # the first condition that holds wins: lay the choices over the default, the last first
    result = choices[-1]
    for condition, choice in zip(conditions[::-1], choices[-2::-1]):
        result = R.where(condition, choice, result)
    if isinstance(result, TensorBase):
        return result
    return like([*condlist, *choicelist, default], result)  # (a Tensor, if one was given)


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None):
    """The cross product of the 3-vectors (or 2-vectors, deprecated as in NumPy 2) along
    ``axisa`` of ``a`` and ``axisb`` of ``b``, broadcasting the rest; the vectors of the
    result lie along ``axisc`` (``axis`` sets all three)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = ops.operand(a), ops.operand(b)
    if a.ndim < 1 or b.ndim < 1:
        raise ValueError("cross: At least one array has zero dimension; pass arrays of vectors")
    a = _to_last(a, one_dim("cross", axisa, a.ndim))
    b = _to_last(b, one_dim("cross", axisb, b.ndim))
    m, n = a.shape[-1], b.shape[-1]
    if m not in (2, 3) or n not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 "
                         f"or 3), but the vectors have {m} and {n} entries")
    if 2 in (m, n):
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=3)
    mismatch = broadcast_mismatch([a.shape[:-1], b.shape[:-1]])
    if mismatch is not None:
        raise ShapeError(f"cross: the vectors' other axes do not broadcast: {mismatch} (shapes "
                         f"{tuple(a.shape[:-1])} and {tuple(b.shape[:-1])})")
    dtype = np.promote_types(a.dtype, b.dtype)
    a, b = ops.to(a, dtype), ops.to(b, dtype)
    a0, a1, b0, b1 = (ops.getitem(v, (Ellipsis, i)) for v, i in ((a, 0), (a, 1), (b, 0), (b, 1)))
    # (a0, a1, a2) x (b0, b1, b2) = (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0), a 2-vector
    # having a2 = 0; NumPy's order of operations, so that the values are NumPy's to the bit
    third = a0 * b1 - a1 * b0
    if m == n == 2:
        return third
    if m == 2:
        b2 = ops.getitem(b, (Ellipsis, 2))
        components = [a1 * b2, -(a0 * b2), third]
    elif n == 2:
        a2 = ops.getitem(a, (Ellipsis, 2))
        components = [-(a2 * b1), a2 * b0, third]
    else:
        a2, b2 = ops.getitem(a, (Ellipsis, 2)), ops.getitem(b, (Ellipsis, 2))
        components = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, third]
    shape = np.broadcast_shapes(*(shape_of(c) for c in components))
    product = ops.stack([ops.broadcast_to(c, shape) for c in components], -1)
    return _from_last(product, one_dim("cross", axisc, product.ndim))
