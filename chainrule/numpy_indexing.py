"""NumPy's functions that pick, place or count entries (``take``, ``take_along_axis``,
``choose``, ``compress``, ``extract``, ``delete``, ``insert``, ``diagflat``, ``ediff1d``,
``bincount``) and those that call the user's functions on parts of an array (``piecewise``,
``apply_along_axis``, ``apply_over_axes``), for :mod:`chainrule.numpy` when a Tensor is among
the arguments (NumPy's own functions answer plain arrays).

Where each entry of a result comes from is NumPy's own answer: the function runs on *labels*,
an integer array numbering the input's entries (:func:`_sources`), so that every index,
``mode`` (``'wrap'``, ``'clip'``), negative position, broadcast and error is NumPy's; the
result is then the input's entries gathered at those labels (one ``getitem``), whose
derivative scatters the gradient back, adding where an entry was taken twice.  So the values
are NumPy's exactly, and the indices carry no gradient.

``piecewise``, ``apply_along_axis`` and ``apply_over_axes`` hand Tensors (parts of the input)
to the user's functions: written with :mod:`chainrule.numpy` (or NumPy's functions, which a
Tensor sends there), their results record, and the pieces are put together with chainrule's
operations (``index_put``, ``stack``), so the whole is differentiable.

An error names the function without the namespace (``take: ...``): :mod:`chainrule.numpy`
puts ``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import data_of, like, one_dim
from chainrule.numpy_statistics import no_out
from chainrule.tensor_base import TensorBase


def _labels(a, start: int = 0) -> np.ndarray:
    """The numbers ``start, start + 1, ...`` of ``a``'s entries, in ``a``'s shape."""
    shape = tuple(a.shape)
    return np.arange(start, start + int(np.prod(shape, dtype=np.int64))).reshape(shape)


def _sources(numpy_func, a, *args, others=(), **kwargs):
    """``numpy_func`` of ``a`` (a rearrangement of its entries), computed as the entries of
    ``a`` gathered where NumPy's function puts them: it runs on ``a``'s labels.  A Tensor
    (without gradient) if only one of the ``others`` (indices, conditions) is one."""
    a = ops.operand(a)
    positions = numpy_func(_labels(a), *args, **kwargs)
    return _as_tensor(ops.getitem(ops.reshape(a, (-1,)), positions), others)


def _as_tensor(result, others):
    return result if isinstance(result, TensorBase) else like(others, result)


def _plain(value):
    """An index or condition as NumPy reads it (a Tensor's values; lists of them too)."""
    if isinstance(value, TensorBase):
        return np.asarray(data_of(value))
    if isinstance(value, (list, tuple)) and any(isinstance(v, (TensorBase, list, tuple))
                                                for v in value):
        return type(value)(_plain(v) for v in value)
    return value


def take(a, indices, axis=None, out=None, mode="raise"):
    """The entries of ``a`` at ``indices`` along ``axis`` (of the flattened array by default);
    ``mode`` says what an index out of range does (``'raise'``, ``'wrap'``, ``'clip'``).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> cnp.take(x, [0, 2, 2]).sum().backward()
    >>> x.grad                                 # taken twice: twice the gradient
    tensor([1., 0., 2.])
    """
    no_out("take", out)
    return _sources(np.take, a, _plain(indices), axis=axis, mode=mode, others=(indices,))


def take_along_axis(arr, indices, axis=-1):
    """The entries of ``arr`` at ``indices`` (of ``arr``'s number of dimensions) along
    ``axis``, matching the other axes (``sort``'s and ``argsort``'s pairing)."""
    return _sources(np.take_along_axis, arr, np.asarray(_plain(indices)), axis,
                    others=(indices,))


def compress(condition, a, axis=None, out=None):
    """The slices of ``a`` along ``axis`` (entries of the flattened array by default) where
    ``condition`` holds."""
    no_out("compress", out)
    return _sources(lambda labels: np.compress(_plain(condition), labels, axis=axis), a,
                    others=(condition,))


def extract(condition, arr):
    """The entries of ``arr`` where ``condition`` holds, flattened."""
    return _sources(lambda labels: np.extract(_plain(condition), labels), arr,
                    others=(condition,))


def delete(arr, obj, axis=None):
    """``arr`` without the slices ``obj`` (indices, a slice or a mask) along ``axis`` (of the
    flattened array by default)."""
    return _sources(np.delete, arr, _plain(obj), axis, others=(obj,))


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` (cast to ``arr``'s dtype) inserted before the indices ``obj``
    along ``axis`` (into the flattened array by default); differentiable in both."""
    arr, values = ops.operand(arr), ops.operand(values)
    size = int(np.prod(arr.shape, dtype=np.int64))
    positions = np.insert(_labels(arr), _plain(obj), _labels(values, size), axis)
    # (NumPy values cast by the cast primitive's own NumPy: to a real dtype, the real part)
    values = (ops.to(values, arr.dtype) if isinstance(values, TensorBase)
              else R.cast.impl(values, arr.dtype, None))
    # what is not a Tensor is flattened by NumPy: a primitive on raw values only would break a
    # trace of ``compile``
    joined = ops.cat([ops.reshape(piece, (-1,)) if isinstance(piece, TensorBase)
                      else piece.reshape(-1) for piece in (arr, values)])
    return _as_tensor(ops.getitem(joined, positions), (obj,))


def diagflat(v, k: int = 0):
    """A square matrix with the entries of ``v`` (flattened) on its ``k``-th diagonal, zeros
    elsewhere."""
    v = ops.operand(v)
    # label 0 is a zero; the entries of v are 1, 2, ...
    positions = np.diagflat(_labels(v, 1), k)
    zero = np.zeros((1,), v.dtype)
    return ops.getitem(ops.cat([zero, ops.reshape(v, (-1,))]), positions)


def choose(a, choices, out=None, mode="raise"):
    """Entry by entry, the entry of ``choices[a]`` (``a``, an integer array, and the choices
    broadcast together); ``mode`` says what an index out of range does."""
    no_out("choose", out)
    if isinstance(choices, TensorBase):  # (a Tensor: the choices are its rows)
        return _sources(lambda labels: np.choose(_plain(a), labels, mode=mode), choices,
                        others=(a,))
    # (Python's numbers take the arrays' dtype, as in NumPy 2)
    dtype = np.result_type(*[c if type(c) in (int, float, complex) else data_of(ops.operand(c))
                             for c in choices])
    choices = [ops.operand(c) for c in choices]
    labels, start = [], 0
    for c in choices:
        labels.append(_labels(c, start))
        start += int(np.prod(c.shape, dtype=np.int64))
    positions = np.choose(_plain(a), labels, mode=mode)
    joined = ops.cat([ops.reshape(ops.to(c, dtype), (-1,)) for c in choices])
    return _as_tensor(ops.getitem(joined, positions), (a,))


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of consecutive entries of ``ary`` (flattened), after ``to_begin`` and
    before ``to_end`` (cast to ``ary``'s dtype)."""
    ary = ops.reshape(ops.operand(ary), (-1,))
    differences = ops.getitem(ary, slice(1, None)) - ops.getitem(ary, slice(None, -1))
    if to_begin is None and to_end is None:
        return differences
    pieces = []
    for name, extra in (("to_begin", to_begin), (None, differences), ("to_end", to_end)):
        if name is None:
            pieces.append(differences)
        elif extra is not None:
            extra = ops.operand(extra)
            if not np.can_cast(np.asarray(data_of(extra)), ary.dtype, casting="same_kind"):
                raise TypeError(f"ediff1d: dtype of `{name}` ({extra.dtype}) must be "
                                f"compatible with input `ary` ({ary.dtype}) under the "
                                "`same_kind` rule.")
            pieces.append(ops.to(ops.reshape(extra, (-1,)), ary.dtype))
    return ops.cat([ops.to(p, ary.dtype) for p in pieces])


def bincount(x, weights=None, minlength=0):
    """The number of times each value ``0, 1, ...`` occurs in ``x`` (non-negative integers),
    or the sum of the ``weights`` (in float64) of its occurrences: differentiable in
    ``weights``."""
    positions = np.asarray(data_of(x))
    counts = np.bincount(positions, minlength=minlength)  # (NumPy's checks of x)
    if weights is None:
        return like((x,), counts)
    weights = ops.operand(weights)
    if tuple(weights.shape) != positions.shape:
        raise ValueError(f"bincount: The weights and list don't have the same length "
                         f"({tuple(weights.shape)} and {positions.shape}).")
    if weights.dtype.kind == "c":
        raise TypeError(f"bincount: Cannot cast array data from dtype('{weights.dtype}') to "
                        "dtype('float64') according to the rule 'safe'")
    # sum_i w_i [x_i = j], in the order of i, as NumPy adds them
    return R.index_add(ops.to(weights, np.float64), index=positions, x_shape=counts.shape)


# --------------------------------------------------------------------------------------------
# the user's functions, on parts of an array


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x[condlist[i]], *args, **kw)`` (or the constant ``funclist[i]``) where
    ``condlist[i]`` holds, the later pieces over the earlier ones, 0 elsewhere; one more
    function than conditions covers where none holds.  Differentiable in ``x`` (and in
    Tensor constants) where the functions are written with chainrule.numpy.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> cnp.piecewise(x, [x < 2], [lambda t: t * t, lambda t: 10 * t]).sum().backward()
    >>> x.grad
    tensor([ 2., 10., 10.])
    """
    x = ops.operand(x)
    conditions = _plain(condlist)
    if np.isscalar(conditions) or (not isinstance(conditions[0], (list, np.ndarray))
                                   and x.ndim != 0):
        conditions = [conditions]
    conditions = np.asarray(conditions, dtype=bool)
    n, functions = len(conditions), len(funclist)
    if n == functions - 1:  # the last function: where no condition holds
        otherwise = ~np.any(conditions, axis=0, keepdims=True)
        conditions = np.concatenate([conditions, otherwise], axis=0)
    elif n != functions:
        raise ValueError(f"piecewise: with {n} condition(s), either {n} or {n + 1} functions "
                         f"are expected (got {functions})")
    y = np.zeros(tuple(x.shape), x.dtype)
    for condition, func in zip(conditions, funclist):
        if not callable(func):
            y = R.index_put(y, ops.to(ops.operand(func), x.dtype), index=condition)
            continue
        values = ops.getitem(x, condition)
        if int(np.prod(values.shape, dtype=np.int64)) > 0:
            piece = ops.operand(func(values, *args, **kw))
            y = R.index_put(y, ops.to(piece, x.dtype), index=condition)
    return y if isinstance(y, TensorBase) else like((x,), y)


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d(slice, *args, **kwargs)`` of each 1-D slice of ``arr`` along ``axis``, the
    results (of the first one's shape and dtype) taking the place of that axis."""
    arr = ops.operand(arr)
    axis = one_dim("apply_along_axis", axis, arr.ndim)
    moved = ops.permute(arr, [d for d in range(arr.ndim) if d != axis] + [axis])
    outer = tuple(moved.shape[:-1])
    indices = list(np.ndindex(outer))
    if not indices or 0 in outer:
        raise ValueError("apply_along_axis: Cannot apply_along_axis when any iteration "
                         f"dimensions are 0 (the other axes have sizes {outer})")
    results = [ops.operand(func1d(ops.getitem(moved, index + (Ellipsis,)), *args, **kwargs))
               for index in indices]
    shape, dtype = tuple(results[0].shape), results[0].dtype
    results = [ops.to(ops.broadcast_to(r, shape), dtype) for r in results]
    stacked = ops.reshape(ops.stack(results), outer + shape)
    dims = list(range(len(outer) + len(shape)))
    order = dims[:axis] + dims[len(outer):] + dims[axis:len(outer)]
    result = ops.permute(stacked, order) if len(order) > 1 else stacked
    return result if isinstance(result, TensorBase) else like((arr,), result)


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` for each axis of ``axes`` in turn, each result (its reduced axis
    kept, or put back as 1) the next ``a``."""
    value = ops.operand(a)
    ndim = value.ndim
    if np.ndim(axes) == 0:
        axes = (axes,)
    for axis in axes:
        if axis < 0:
            axis = ndim + axis
        result = ops.operand(func(value, axis))
        if result.ndim != value.ndim:
            result = ops.unsqueeze(result, axis)
            if result.ndim != value.ndim:
                raise ValueError("apply_over_axes: function is not returning an array of the "
                                 f"correct shape (shape {tuple(result.shape)} for an array of "
                                 f"{value.ndim} dimensions)")
        value = result
    return value
