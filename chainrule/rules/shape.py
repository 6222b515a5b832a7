"""Shapes, indexing and joining: ``reshape``, ``permute``, ``broadcast_to``, ``getitem``,
``cat`` ...  They are linear, so each rule applies the adjoint operation (``broadcast_to``'s is
``sum_to``, ``getitem``'s is ``index_add``) and forward mode applies the primitive itself to the
tangents (``jvp="linear"``).  ``sum_to`` and ``cast`` are also what the engine uses to undo
broadcasting and to give a gradient its input's dtype (:func:`unbroadcast`, :func:`cast_to`).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from chainrule.arguments import no_gradient
from chainrule.rules.table import primitive
from chainrule.sparse import SparseGrad
from chainrule.tensor_base import TensorBase
from chainrule.versions import writeable_view

reshape = primitive("reshape", lambda x, shape, x_shape: _reshaped(x, shape),
                    (lambda g, ans, x, shape, x_shape: reshape(g, shape=x_shape, x_shape=g.shape),),
                    view=True, jvp="linear", grad_fn="ViewBackward0", batch="shape")
transpose = primitive("permute", lambda x, axes: x.transpose(axes) if type(x) is np.ndarray
                      else np.transpose(x, axes),
                      (lambda g, ans, x, axes: transpose(g, axes=tuple(np.argsort(axes))),),
                      view=True, jvp="linear", grad_fn="PermuteBackward0", batch="shape")


def _broadcast_view(x, shape):
    """``np.broadcast_to(x, shape)``: a view with zero strides where ``x`` is broadcast.
    Made directly for contiguous arrays and shapes of non-negative ints (0.3 µs, where
    NumPy's Python-level checks take 2 µs: this runs in the backward of every reduction);
    anything else, including every shape NumPy rejects, is NumPy's."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous or not x.size \
            or len(shape) < x.ndim:
        return writeable_view(np.broadcast_to(x, shape))
    for n in shape:
        if type(n) is not int or n < 0:
            return writeable_view(np.broadcast_to(x, shape))
    strides = [0] * (len(shape) - x.ndim)
    for n, m, stride in zip(shape[len(strides):], x.shape, x.strides):
        if m == 1:  # (NumPy's strides: 0 on every axis of length 1)
            strides.append(0)
        elif m == n:
            strides.append(stride)
        else:
            return np.broadcast_to(x, shape)  # (its error names the shapes)
    out = np.ndarray(shape, x.dtype, x, 0, strides)
    out.flags.writeable = x.flags.writeable and not _repeats(out)
    return out


def _repeats(view) -> bool:
    """Does an element of ``view`` share its memory with another (a zero stride)?"""
    return any(n > 1 and s == 0 for n, s in zip(view.shape, view.strides))


broadcast_to = primitive(
    "broadcast_to", lambda x, shape, x_shape: _broadcast_view(x, shape),
    (lambda g, ans, x, shape, x_shape: sum_to(g, shape=x_shape, x_shape=g.shape),), view=True,
    jvp="linear", grad_fn="ExpandBackward0", batch="shape")


def _sum_to(x, shape, x_shape):
    lead = len(x_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x_shape[lead + i] != 1)
    return _reshaped(np.add.reduce(x, axis=axes), shape) if axes else _reshaped(x, shape)


def _reshaped(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


sum_to = primitive(
    "sum_to", _sum_to,
    (lambda g, ans, x, shape, x_shape: broadcast_to(g, shape=x_shape, x_shape=g.shape),),
    jvp="linear", grad_fn="SumToBackward0", batch="shape")


def _cast(x, dtype, x_dtype):
    x = np.asarray(x)
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        # to a real dtype: the real part (NumPy would warn that it discards the imaginary
        # part).  This is also how a complex gradient reaches a real input: dL/dx = Re(ct)
        x = x.real
    return x.astype(dtype)


cast = primitive("to", _cast,
                 (lambda g, ans, x, dtype, x_dtype: cast(g, dtype=x_dtype, x_dtype=g.dtype),),
                 jvp="linear", grad_fn="ToCopyBackward0", batch="elementwise")
clone = primitive("clone", lambda x: np.array(x, copy=True), (lambda g, ans, x: g,), jvp="linear",
                  grad_fn="CloneBackward0", batch="elementwise")
# a copy, as PyTorch's flip (NumPy's is a view): only PyTorch's view operations share storage
flip = primitive("flip", lambda x, axis: np.flip(x, axis).copy(),
                 (lambda g, ans, x, axis: flip(g, axis=axis),), jvp="linear",
                 grad_fn="FlipBackward0", batch="axis")


def _repeat_vjp(g, ans, x, reps, x_shape):
    # tile = broadcast over new interleaved axes; its adjoint sums over them
    padded = (1,) * (len(reps) - len(x_shape)) + tuple(x_shape)
    interleaved = tuple(n for pair in zip(reps, padded) for n in pair)
    g = reshape(g, shape=interleaved, x_shape=g.shape)
    one_copy = tuple(n for pair in zip((1,) * len(reps), padded) for n in pair)
    g = sum_to(g, shape=one_copy, x_shape=interleaved)
    return reshape(g, shape=tuple(x_shape), x_shape=one_copy)


repeat = primitive("tile", lambda x, reps, x_shape: np.tile(x, reps), (_repeat_vjp,),
                   jvp="linear", grad_fn="RepeatBackward0", batch="shape")


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


def _index_vjp(g, ans, x, index, x_shape):
    # the adjoint of gathering is scatter-adding (repeated indices accumulate)
    if isinstance(g, TensorBase):
        return index_add(g, index=index, x_shape=x_shape)
    return SparseGrad(x_shape, index, np.asarray(g), _is_basic(index))


def _scatter(g, index, x_shape):
    return SparseGrad(x_shape, index, np.asarray(g), _is_basic(index)).dense()


def _getitem(x, index, x_shape):
    out = x[index]
    if type(out) is not np.ndarray and type(x) is np.ndarray:
        # one element: return it as a 0-d view, so that in-place changes reach x (as PyTorch)
        out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
    elif (type(out) is np.ndarray and not out.flags.c_contiguous
          and not np.may_share_memory(out, x)):
        # a copy (advanced indexing) is laid out row by row, as PyTorch's, so that a later
        # reshape is a view exactly when it is one in PyTorch (NumPy may answer column-major)
        out = np.ascontiguousarray(out)
    return out


def _batch_joins(index) -> tuple[tuple, bool]:
    """How the batch joins a per-example ``index`` (vmap's rules of indexing): ``(the index on
    the stack, whether the batch is last)``.  Basic indices keep the batch axis whole in
    front of them.  Advanced ones: NumPy moves their block to the front when they are not
    adjacent, so the batch goes last (a trailing slice, which no rule moves): the stack is
    indexed with its batch moved last, and the result has it last."""
    parts = index if isinstance(index, tuple) else (index,)
    if _is_basic(parts) and not any(isinstance(p, (bool, np.bool_)) for p in parts):
        return (slice(None),) + parts, False
    return parts + (slice(None),), True


def _batch_to(value, first: bool):
    """A stack with its batch axis moved from the front to the end (``first`` False) or from
    the end to the front (``first`` True)."""
    n = np.ndim(value)
    axes = (n - 1,) + tuple(range(n - 1)) if first else tuple(range(1, n)) + (0,)
    return transpose(value, axes=axes)


def batch_getitem(prim, values, batched, size, index, x_shape):
    """vmap's rule: ``x_b[index]`` for each example ``b`` (batch at axis 0 in and out)."""
    index, last = _batch_joins(index)
    if not last:
        return getitem(values[0], index=index, x_shape=(size,) + tuple(x_shape))
    out = getitem(_batch_to(values[0], first=False), index=index,
                  x_shape=tuple(x_shape) + (size,))
    return _batch_to(out, first=True)


def batch_index_add(prim, values, batched, size, index, x_shape):
    """vmap's rule: ``index_add`` of each example's ``g_b`` (the transpose of
    :func:`batch_getitem`: the same index, ``g`` laid out as that rule's result)."""
    (g,) = values
    index, last = _batch_joins(index)
    if not last:
        return index_add(g, index=index, x_shape=(size,) + tuple(x_shape))
    out = index_add(_batch_to(g, first=False), index=index, x_shape=tuple(x_shape) + (size,))
    return _batch_to(out, first=True)


getitem = primitive("getitem", _getitem, (_index_vjp,), view=True, jvp="linear",
                    grad_fn="IndexBackward0", symbol="x[index]", batch=batch_getitem)
index_add = primitive("index_add", _scatter,
                      (lambda g, ans, x, index, x_shape: getitem(g, index=index,
                                                                 x_shape=g.shape),), jvp="linear",
                      grad_fn="IndexBackwardBackward0", batch=batch_index_add)


# --------------------------------------------------------------------------------------------
# Gathering along an axis at positions given as an argument (getitem's index is a param, one
# for every example of a vmap): what vmap's sort gathers by, its permutation differing from
# example to example.


def along_index(positions, axis):
    """The advanced index that gathers ``positions`` along ``axis`` (``take_along_axis``'s)."""
    index = list(np.indices(positions.shape, sparse=True))
    index[axis % positions.ndim] = positions
    return tuple(index)


def _add_along(g, positions, axis, x_shape):
    out = np.zeros(x_shape, np.result_type(g))
    np.add.at(out, along_index(positions, axis), g)
    return out


def batch_along(prim, values, batched, size, axis, x_shape):
    """vmap's rule of ``take_along`` and ``add_along``: the batch is one more leading axis of
    the values and of the positions (an unbatched one is the same in every example, so it is
    broadcast to the batch), ``axis`` moves one place right and ``x_shape`` gains the batch."""
    values = [v if b else broadcast_to(v, shape=(size,) + np.shape(v),
                                       x_shape=np.shape(v))
              for v, b in zip(values, batched)]
    rank = len(x_shape)
    return prim(*values, axis=axis % rank + 1, x_shape=(size,) + tuple(x_shape))


# out = x gathered at ``positions`` (integers, x's rank) along ``axis``, and its transpose,
# g added at ``positions`` into zeros of ``x_shape`` (repeated positions accumulate).  Linear
# in the first argument; the positions are a constant of both (no gradient, no tangent), so
# forward mode applies the primitive to the tangent with the same positions.
take_along = primitive(
    "take_along", lambda x, positions, axis, x_shape: np.take_along_axis(x, positions, axis),
    (lambda g, ans, x, positions, axis, x_shape:
        add_along(g, positions, axis=axis, x_shape=x_shape),
     lambda g, ans, x, positions, axis, x_shape: None),
    save_inputs=True, reads=((1,), (1,)),
    jvp=lambda ts, ans, x, positions, axis, x_shape:
        None if ts[0] is None else take_along(ts[0], positions, axis=axis, x_shape=x_shape),
    grad_fn="GatherBackward0", batch=batch_along)
add_along = primitive(
    "add_along", _add_along,
    (lambda g, ans, gy, positions, axis, x_shape:
        take_along(g, positions, axis=axis, x_shape=x_shape),
     lambda g, ans, gy, positions, axis, x_shape: None),
    save_inputs=True, reads=((1,), (1,)),
    jvp=lambda ts, ans, gy, positions, axis, x_shape:
        None if ts[0] is None else add_along(ts[0], positions, axis=axis, x_shape=x_shape),
    grad_fn="ScatterAddBackward0", batch=batch_along)


def take_at(x, index, axis: int):
    """``x`` indexed along ``axis`` by the integer tensor ``index`` (``x[..., index, ...]``: the
    result has ``index``'s shape in place of that axis), as a gather whose positions are an
    argument (:data:`take_along`).  This is how an index that differs from example to example
    under vmap (a batched tensor, whose values only the batching rule may read) indexes."""
    axis = axis % len(x.shape)
    size, k = x.shape[axis], math.prod(index.shape)
    around = (1,) * axis + (k,) + (1,) * (len(x.shape) - axis - 1)
    gathered = tuple(x.shape[:axis]) + (k,) + tuple(x.shape[axis + 1:])
    positions = reshape(index, shape=around, x_shape=tuple(index.shape)) % size  # (-1: the last)
    positions = broadcast_to(positions, shape=gathered, x_shape=around)
    out = take_along(x, positions, axis=axis, x_shape=tuple(x.shape))
    return reshape(out, shape=tuple(x.shape[:axis]) + tuple(index.shape) +
                   tuple(x.shape[axis + 1:]), x_shape=gathered)


def traced_index(index, ndim: int):
    """For an index holding a tensor inside a trace of ``compile``: ``(its integer parts, the
    first axis they index, the slices around them, the axes' order)`` where every other part
    is a slice (an Ellipsis counts as full slices), each integer part an integer tensor,
    array, list or number (``x[i]``, ``x[:, i]``, ``x[..., i]``, ``x[i, 1:3]``,
    ``x[rows, cols]``, ``x[list(range(n)), y]``, ``x[i, :, j]``).  Its replay: the slices,
    with full ones for the integer parts' axes (None when all are full), then the axes in
    that order (None: as they are), then :func:`take_positions`.  Integer parts side by side
    index their axes where they stand; integer parts apart (``x[i, :, j]``) index axes that
    NumPy moves to the front, so the order puts them first (axis 0).  None for another index
    (a mask's result has a shape the values decide: the trace reads them), and for more parts
    than the ``ndim`` axes indexed (eager's path says what is wrong)."""
    parts = index if isinstance(index, tuple) else (index,)
    ellipses = [k for k, part in enumerate(parts) if part is Ellipsis]
    if len(ellipses) == 1:  # (x[..., i]: the Ellipsis stands for full slices)
        k = ellipses[0]
        if len(parts) - 1 > ndim:
            return None
        parts = parts[:k] + (slice(None),) * (ndim - len(parts) + 1) + parts[k + 1:]
    if len(parts) > ndim or not any(isinstance(part, TensorBase) for part in parts):
        return None
    parts = parts + (slice(None),) * (ndim - len(parts))
    integer = [k for k, part in enumerate(parts) if not isinstance(part, slice)]
    if not all(_integer_part(parts[k]) for k in integer):
        return None
    around = None
    if any(parts[k] != slice(None) for k in range(ndim) if k not in integer):
        # (slices keep their axes: the integer parts index the same axes of the sliced x)
        around = tuple(slice(None) if k in integer else part for k, part in enumerate(parts))
    taken = tuple(parts[k] for k in integer)
    if integer == list(range(integer[0], integer[-1] + 1)):  # side by side
        return taken, integer[0], around, None
    return taken, 0, around, tuple(integer) + tuple(k for k in range(ndim) if k not in integer)


def _integer_part(part) -> bool:
    if isinstance(part, (bool, np.bool_)):
        return False
    if isinstance(part, (int, np.integer)):
        return True
    if isinstance(part, TensorBase):
        return part.dtype.kind in "iu" and not part._batched
    if isinstance(part, (list, np.ndarray)):
        return np.asarray(part).dtype.kind in "iu"
    return False


def take_positions(x, parts, axis: int):
    """``x[..., parts, ...]`` for the integer index ``parts`` of :func:`traced_index` at
    ``axis``: the axes they index flattened into one, and a gather there (:func:`take_at`)
    at the flat positions, which an operation without gradient computes and checks (so a
    replay finds each call's own)."""
    dims = tuple(x.shape[axis:axis + len(parts)])
    flat = reshape(x, shape=tuple(x.shape[:axis]) + (math.prod(dims),)
                   + tuple(x.shape[axis + len(parts):]), x_shape=tuple(x.shape))
    return take_at(flat, no_gradient(flat_positions, *parts, dims=dims, axis=axis), axis)


def replayed_take(x, parts, axis: int):
    """:func:`take_positions`, or None where the index is out of range at the trace (the
    caller's eager path then raises its own error, as it does without a trace)."""
    try:
        return take_positions(x, parts, axis)
    except IndexError:
        return None


def flat_positions(*parts, dims: tuple, axis: int) -> np.ndarray:
    """The positions of the integer index ``parts`` (broadcast together) in the axes of sizes
    ``dims`` flattened into one, after NumPy's checks (``axis``: the first one's number)."""
    # (in int64: a small integer dtype cannot hold the sizes)
    arrays = [np.asarray(part).astype(np.int64, copy=False) for part in parts]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         "with shapes " + " ".join(str(a.shape) for a in arrays)) from None
    position = np.zeros(arrays[0].shape, np.int64)
    for k, (a, n) in enumerate(zip(arrays, dims)):
        beyond = (a < -n) | (a >= n)
        if beyond.any():
            raise IndexError(f"index {a[beyond].flat[0]} is out of bounds for axis {axis + k} "
                             f"with size {n}")
        position = position * n + a % n  # (a negative index counts from the end)
    return position


def batched_index(index):
    """For an index holding a tensor batched by vmap: ``(that tensor, the axis it indexes)``
    (for :func:`take_at`); None for any other index.  The forms are ``x[i]``, ``x[:, i]``, ...
    (full slices or an Ellipsis before it, nothing after), as ``index_select`` and ``gather``
    need."""
    parts = index if isinstance(index, tuple) else (index,)
    found = [k for k, part in enumerate(parts) if isinstance(part, TensorBase) and part._batched]
    if not found:
        return None
    k = found[0]
    if parts[:k] == (Ellipsis,):  # x[..., i]: the last axis
        return parts[k], -1
    if len(found) > 1 or parts[k + 1:] or parts[k].dtype.kind not in "iu" or not all(
            isinstance(part, slice) and part == slice(None) for part in parts[:k]):
        raise NotImplementedError(
            "vmap: indexing with a tensor that differs from example to example is supported as "
            "x[i], x[:, i], ... (one integer tensor after full slices), index_select, gather "
            "and take_along_dim; got another form: index the examples outside vmap, or move "
            "the index into one of these forms")
    return parts[k], k


def _cat_vjp(i, g, ans, *xs, axis, sizes):
    start = builtins.sum(sizes[:i])
    index = (slice(None),) * axis + (slice(start, start + sizes[i]),)
    return getitem(g, index=index, x_shape=g.shape)


def _index_put(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


def _kept(shape, index):
    keep = np.ones(shape, bool)
    keep[index] = False
    return keep


def batch_index_put(prim, values, batched, size, index):
    """vmap's rule: ``x_b[index] = v_b`` for each example, out of place.  An unbatched ``x`` is
    the same in every example, so it is broadcast to the batch first (the copy the forward
    makes is then one per example).  The written region of the stack is the index joined by
    the batch as in :func:`batch_getitem`; a batched ``v`` gets 1s after its batch axis up to
    the region's per-example rank, and its batch where the region has it."""
    x, v = values
    x_shape = np.shape(x)[1:] if batched[0] else np.shape(x)
    region = np.broadcast_to(np.zeros((), bool), x_shape)[index].shape
    if not batched[0]:
        x = broadcast_to(x, shape=(size,) + tuple(x_shape), x_shape=tuple(x_shape))
    joined, last = _batch_joins(index)
    v_shape = np.shape(v)
    if batched[1]:
        missing = len(region) - (len(v_shape) - 1)
        if missing > 0:
            v_shape = v_shape[:1] + (1,) * missing + v_shape[1:]
            v = reshape(v, shape=v_shape, x_shape=np.shape(v))
        if last:
            v = _batch_to(v, first=False)
    elif last and v_shape:  # (its own dims, then one for the batch)
        v = reshape(v, shape=v_shape + (1,), x_shape=v_shape)
    if not last:
        return index_put(x, v, index=joined)
    return _batch_to(index_put(_batch_to(x, first=False), v, index=joined), first=True)


# x[index] = v, out of place: x keeps its gradient where it was not overwritten, v gets the rest
index_put = primitive("index_put", _index_put, (
    lambda g, ans, x, v, index: g * _kept(g.shape, index),
    lambda g, ans, x, v, index: getitem(g, index=index, x_shape=g.shape),
), jvp="linear", grad_fn="IndexPutBackward0", symbol="x[index] = value", batch=batch_index_put)


def _view_region(a, steps):
    """The part of the array ``a`` that a view made by ``steps`` (``((primitive, params),
    ...)``, see ``TensorBase._view_steps``) shows: a NumPy view into ``a``."""
    for prim, params in steps:
        a = writeable_view(prim.impl(a, **params))  # (the last one at least is written)
    return a


def _copy_slices(base, value, steps):
    out = np.array(base, copy=True)
    np.copyto(_view_region(out, steps), value)
    return out


def _outside_view(g, ans, base, value, steps):
    # the base keeps its gradient outside the view, which was overwritten
    keep = np.ones(np.shape(g._data if isinstance(g, TensorBase) else g), bool)
    _view_region(keep, steps)[...] = False
    return g * keep


def _inside_view(g, ans, base, value, steps):
    # the new values get the gradient where the view lies: the view of g
    for prim, params in steps:
        g = prim(g, **params)
    return g


# --------------------------------------------------------------------------------------------
# vmap's fallback, right for any primitive: one call per example


def one_example(value, b: int):
    """Example ``b`` of a stack (a view)."""
    return getitem(value, index=b, x_shape=np.shape(value))


def stacked(results):
    """Per-example results (equal shapes) as one stack, batch first."""
    shape = np.shape(results[0])
    pieces = [reshape(r, shape=(1,) + shape, x_shape=shape) for r in results]
    return cat(*pieces, axis=0, sizes=(1,) * len(pieces))


def looped(prim, values, batched, size: int, **params):
    """The rule right for any primitive: ``prim`` called on each example in turn (the
    unbatched values as they are, the same for all), the results stacked."""
    return stacked([prim(*[one_example(v, b) if flag else v for v, flag in zip(values, batched)],
                         **params) for b in range(size)])


# base with the part a view shows replaced by value: how an in-place change of a view is
# recorded on its base (PyTorch's CopySlices); linear in (base, value)
# (vmap: the steps are one example's, so one call per example)
copy_slices = primitive("copy_slices", _copy_slices, (_outside_view, _inside_view),
                        jvp="linear", grad_fn="CopySlices", batch=looped)

def batch_cat(prim, values, batched, size, axis, sizes):
    """vmap's rule: ``cat`` of each example's pieces along ``axis``, one place right on the
    stacks; an unbatched piece is the same in every example, so it is broadcast to the batch
    first (``sizes``, along the joined axis, are the same per example and stacked)."""
    pieces = [x if b else broadcast_to(x, shape=(size,) + tuple(x.shape), x_shape=tuple(x.shape))
              for x, b in zip(values, batched)]
    rank = pieces[0].ndim - 1
    return cat(*pieces, axis=axis % rank + 1, sizes=sizes)


# (laid out row by row, as PyTorch's: NumPy may answer column-major, and a later reshape
# would then copy where PyTorch's is a view)
cat = primitive("cat", lambda *xs, axis, sizes: np.ascontiguousarray(np.concatenate(xs, axis=axis)),
                _cat_vjp,
                jvp="linear", grad_fn="CatBackward0", batch=batch_cat)


# --------------------------------------------------------------------------------------------
# What the engine needs: unbroadcasting and casting a gradient, in raw or recorded form.


def unbroadcast(g, shape):
    """``g`` summed over the axes along which an input of ``shape`` was broadcast."""
    return sum_to(g, shape=shape, x_shape=g.shape)


def cast_to(g, dtype):
    """``g`` (a gradient, possibly sparse) in ``dtype``."""
    if type(g) is SparseGrad:
        return g.astype(dtype)
    return cast(g, dtype=dtype, x_dtype=g.dtype)
