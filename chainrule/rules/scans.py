"""Products (``prod``, ``cumprod``), cumulative sums, and sorting.

Design choices
--------------
* ``sort`` is a primitive (its ``grad_fn`` is ``SortBackward0``, as in PyTorch).  Its rules are
  gathers by the permutation that sorts the input, which the node saves (as PyTorch saves the
  indices): the JVP gathers the tangent by it, the VJP gathers the cotangent by its inverse.
  Both are ``getitem``, so the second derivative (zero) comes for free.  Inside vmap each
  example has its own permutation, a batched tensor that no param can hold: ``sorted_along``
  then gathers by it with ``take_along`` (positions as an argument), whose derivatives are
  a gather and a scatter by the same positions, so they batch too.
* ``prod`` and ``cumprod`` divide by the input where it has no zeros.  At zeros, ``prod``
  multiplies the exclusive cumulative products from either end, and ``cumprod``'s plain pass
  uses NumPy formulas (exact, O(n)) where a recorded one (``create_graph``, forward over
  forward) writes them with exclusive cumulative products too (O(n^2) per slice, as PyTorch's):
  differentiable at any zeros, so every order is exact there.
"""

from __future__ import annotations

import numpy as np

from chainrule import tracing
from chainrule.arguments import dtype_of, no_gradient
from chainrule.rules.elementwise import where
from chainrule.rules.reductions import keep_sum, reduce_sum, unreduce
from chainrule.rules.shape import along_index, cat, flip, getitem, reshape, take_along, transpose
from chainrule.rules.table import batched, primitive, raw
from chainrule.tensor_base import TensorBase, new_like


def _keep_along(a, axis):
    """The sum along one ``axis`` (negative allowed), kept as a dimension of size 1."""
    return keep_sum(a, (axis % np.ndim(a),))


# --------------------------------------------------------------------------------------------
# Cumulative sum and product, sort


def _reverse_cumsum(a, axis):
    """``out_i = sum_{j >= i} a_j`` along ``axis``: the adjoint of ``cumsum``."""
    return flip(cumsum(flip(a, axis=axis), axis=axis), axis=axis)


# cumsum is linear: its adjoint sums from the end, d x_i = sum_{j >= i} g_j
cumsum = primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis),
                   (lambda g, ans, x, axis: _reverse_cumsum(g, axis),), jvp="linear",
                   grad_fn="CumsumBackward0", batch="axis")


def _cumprod_parts(x, axis):
    """Coefficients of the exact first derivative of ``cumprod`` when ``x`` has zeros.

    Along each slice let ``z`` be the first zero (``n`` when there is none) and ``c`` the
    cumulative product with that zero replaced by 1.  Then
    ``d ans_j = c_j sum_{i <= j} dx_i / x_i`` for ``j < z`` and ``d ans_j = c_j dx_z`` for
    ``j >= z``: ``d ans = cumsum(dx * a) * b + sum(dx * at) * c2`` with the arrays returned.
    """
    xm = np.moveaxis(np.asarray(x), axis, -1)
    n = xm.shape[-1]
    zero = xm == 0
    z = np.where(zero.any(-1, keepdims=True), zero.argmax(-1, keepdims=True), n)
    i = np.arange(n)
    before = i < z
    c = np.cumprod(np.where(i == z, 1, xm), axis=-1)
    a = np.where(before, 1 / np.where(before, xm, 1), 0)
    parts = (a, np.where(before, c, 0), i == z, np.where(i >= z, c, 0))
    return tuple(np.moveaxis(p, -1, axis) for p in parts)


def _divides_badly(x, *recorded) -> bool:
    """Would dividing by ``x`` lose the digits of a recorded rule?  ``ans / x_i`` is exact to
    rounding, but its derivative subtracts terms of size ``ans / x_i^2``, which cancel when an
    ``x_i`` is tiny beside the others (at a zero, the division is not defined at all): the
    recorded rules (``create_graph``, nested forward mode) then take the products without
    division, as at zeros."""
    if not any(isinstance(a, TensorBase) for a in (x, *recorded)):
        return False
    if batched(x):  # (no one decision fits every example: the way without division does)
        return True
    if tracing.active[0] is not None:
        # a guard of the trace: a replay on an x with a tiny value traces again (the way
        # without division costs n^2 along the axis)
        return bool(no_gradient(_has_tiny, x))
    return bool(_has_tiny(raw(x)))


def _has_tiny(x: np.ndarray) -> np.bool_:
    """Whether some element of ``x`` is 0 or tiny beside the largest (see above)."""
    size = np.abs(x)
    if not size.size:
        return np.False_
    return np.any(size <= np.sqrt(np.finfo(size.dtype).eps) * np.max(size))


def _has_zero(x) -> bool:
    """Whether ``x`` holds a 0, asked after :func:`_divides_badly` said no: of a tensor, that
    answer already says there is none (a zero is tiny)."""
    return not isinstance(x, TensorBase) and bool(np.any(x == 0))


def _cumprod_vjp(g, ans, x, axis):
    # d ans_j / d x_i = ans_j / x_i for i <= j when no x is zero
    if _divides_badly(x, g):
        return _cumprod_vjp_at_zeros(g, x, axis)
    if not _has_zero(x):
        return _reverse_cumsum(g * ans, axis) / x
    a, b, at, c = _cumprod_parts(x, axis)
    return a * _reverse_cumsum(g * b, axis) + at * _keep_along(g * c, axis)


def _cumprod_jvp(ts, ans, x, axis):
    # d ans = ans * cumsum(dx / x) when no x is zero
    if _divides_badly(x, ts[0]):
        return _cumprod_jvp_at_zeros(ts[0], x, axis)
    if not _has_zero(x):
        return ans * cumsum(ts[0] / x, axis=axis)
    a, b, at, c = _cumprod_parts(x, axis)
    return cumsum(ts[0] * a, axis=axis) * b + _keep_along(ts[0] * at, axis) * c


# At zeros, recorded: with L_i = prod_{k < i} x_k and T_ij = prod_{i < k <= j} x_k (1 for
# j <= i), d ans_j / d x_i = L_i T_ij for i <= j, 0 after; both are cumulative products of
# copies of x, differentiable however many zeros x has.

def _moved_last(a, axis):
    """``a`` with ``axis`` moved last, and the order that undoes it."""
    order = [i for i in range(np.ndim(a)) if i != axis] + [axis]
    return transpose(a, axes=tuple(order)), tuple(np.argsort(order))


def exclusive_cumprod(a):
    """``prod_{k < i} a_k`` along the last axis (1 for the first element)."""
    shape = np.shape(a)
    ones = np.ones(shape[:-1] + (1,), dtype_of(a))
    head = getitem(a, index=(Ellipsis, slice(None, -1)), x_shape=shape)
    shifted = cat(ones, head, axis=len(shape) - 1, sizes=(1, shape[-1] - 1))
    return cumprod(shifted, axis=len(shape) - 1)


def _partial_products(xm):
    """``T``, of shape ``(..., n, n)`` (see above), and the mask of ``j >= i``."""
    shape = np.shape(xm)
    n = shape[-1]
    after = np.triu(np.ones((n, n), bool), k=1)  # [i, j]: j > i
    row = reshape(xm, shape=shape[:-1] + (1, n), x_shape=shape)
    copies = where(after, row, 1.0)  # copies[..., i, j] = x_j for j > i, else 1
    return cumprod(copies, axis=len(shape)), np.triu(np.ones((n, n), dtype_of(xm)))


def _cumprod_vjp_at_zeros(g, x, axis):
    # d x_i = L_i sum_{j >= i} g_j T_ij
    xm, back = _moved_last(x, axis)
    gm, _ = _moved_last(g, axis)
    shape = np.shape(xm)
    partial, upper = _partial_products(xm)
    g_row = reshape(gm, shape=shape[:-1] + (1, shape[-1]), x_shape=shape)
    inner = reduce_sum(partial * g_row * upper, axis=(len(shape),), keepdims=False,
                       x_shape=shape + (shape[-1],))
    return transpose(exclusive_cumprod(xm) * inner, axes=back)


def _cumprod_jvp_at_zeros(t, x, axis):
    # d ans_j = sum_{i <= j} t_i L_i T_ij
    xm, back = _moved_last(x, axis)
    tm, _ = _moved_last(t, axis)
    shape = np.shape(xm)
    partial, upper = _partial_products(xm)
    column = reshape(tm * exclusive_cumprod(xm), shape=shape + (1,), x_shape=shape)
    total = reduce_sum(column * partial * upper, axis=(len(shape) - 1,), keepdims=False,
                       x_shape=shape + (shape[-1],))
    return transpose(total, axes=back)


cumprod = primitive("cumprod", lambda x, axis: np.cumprod(x, axis=axis), (_cumprod_vjp,),
                    save_inputs=True, save_ans=True, jvp=_cumprod_jvp, grad_fn="CumprodBackward0",
                    batch="axis")


# --------------------------------------------------------------------------------------------
# The product of all elements (or over axes)


def _prod_others(x, axis):
    """For each element, the product of the other elements of its slice (zeros allowed):
    ``L_i R_i`` with the exclusive cumulative products from the left and from the right."""
    shape = np.shape(x)
    axes = tuple(range(len(shape))) if axis is None else axis
    rest = [i for i in range(len(shape)) if i not in axes]
    order = tuple(rest + list(axes))
    moved = transpose(x, axes=order)
    moved_shape = np.shape(moved)
    flat = reshape(moved, shape=moved_shape[:len(rest)] + (-1,), x_shape=moved_shape)
    last = (len(rest),)
    right = flip(exclusive_cumprod(flip(flat, axis=last)), axis=last)
    others = reshape(exclusive_cumprod(flat) * right, shape=moved_shape,
                     x_shape=np.shape(flat))
    return transpose(others, axes=tuple(np.argsort(order)))


def _prod_vjp(g, ans, x, axis, keepdims, x_shape):
    # d prod(x) / dx_i = prod of the other elements = prod(x) / x_i when no x_j is zero
    g = unreduce(g, axis, keepdims, x_shape)
    if not _divides_badly(x, g) and not _has_zero(x):
        return g * unreduce(ans, axis, keepdims, x_shape) / x
    return g * _prod_others(x, axis)


reduce_prod = primitive(
    "prod",
    lambda x, axis, keepdims, x_shape: np.multiply.reduce(x, axis=axis, keepdims=keepdims),
    (_prod_vjp,), save_inputs=True, save_ans=True, jvp="reduction", grad_fn="ProdBackward0",
    batch="reduction")


def _given(perm):
    """The rules' permutation: given with the call (:func:`sorted_along` gives it)."""
    if perm is None:
        raise RuntimeError(
            "sort: differentiating a sort needs the permutation that sorts its input, given "
            "with the call (perm=); use chainrule.rules.sorted_along, which finds it (inside "
            "vmap, where each example has its own, it gathers by it with take_along)")
    return perm


def extremum_along(x, arg, axis: int, keep: bool):
    """``(values, indices)`` of the maximum or minimum of ``x`` along ``axis`` (the values'
    axis kept, the indices' as ``keep`` says), ``arg`` NumPy's ``argmax`` or ``argmin``: the
    values gathered at the index, so that only the chosen element gets the gradient (inside a
    trace of ``compile``, an index found by an operation, gathered with ``take_along``).  Under
    vmap the index, one per example, cannot index the stack: the values are then a sum along
    ``axis`` of ``x`` where it is the chosen element, 0 elsewhere."""
    if isinstance(x, TensorBase) and tracing.active[0] is not None and not batched(x):
        # (compile: the index is an operation of the trace, found again at each replay)
        indices = no_gradient(arg, x, axis=axis, keepdims=True)
        values = take_along(x, indices, axis=axis, x_shape=x.shape)
        return values, no_gradient(_returned_indices, indices, axis=axis, keep=keep)
    if not batched(x):
        indices = arg(raw(x), axis=axis, keepdims=True)
        values = getitem(x, index=along_index(indices, axis), x_shape=x.shape)
        indices = _returned_indices(indices, axis, keep)
        return values, new_like(x, indices) if isinstance(x, TensorBase) else indices
    indices = x._without_gradient(arg, (x,), {"axis": axis, "keepdims": keep})
    kept = indices if keep else reshape(indices, shape=x.shape[:axis] + (1,) + x.shape[axis + 1:],
                                        x_shape=indices.shape)
    positions = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    chosen = kept._without_gradient(np.equal, (kept, positions), {})
    return reduce_sum(where(chosen, x, np.zeros((), x.dtype)), axis=(axis,), keepdims=True,
                      x_shape=x.shape), indices


def _returned_indices(indices: np.ndarray, axis: int, keep: bool) -> np.ndarray:
    """The indices handed to the caller: a copy (the node's index, or the gather's positions,
    keeps its own, and the caller may change these), the axis dropped unless ``keep``."""
    return (indices if keep else np.squeeze(indices, axis=axis)).copy()


def _sort_vjp(g, ans, x, axis, perm=None, indices=False):
    # sorted = x[perm]: the gradient goes back to the original positions, g[inverse(perm)]
    inverse = np.argsort(_given(perm), axis=axis, kind="stable")
    return getitem(g, index=along_index(inverse, axis), x_shape=np.shape(g))


def _sort_jvp(ts, ans, x, axis, perm=None, indices=False):
    # d sorted = dx[perm]
    t = ts[0]
    return getitem(t, index=along_index(_given(perm), axis), x_shape=np.shape(t))


def _sort(x, axis, perm=None, indices=False):
    if perm is None:
        perm = np.argsort(x, axis=axis, kind="stable")
    return perm if indices else np.take_along_axis(x, perm, axis=axis)


def batch_sort(prim, values, batched, size, axis, perm=None, indices=False):
    """vmap's rule: each example sorted along ``axis``, one place right on the stack.  The
    permutation is found here, from the stack's values (one given with the call would be one
    example's); where the stack is itself batched by an enclosing vmap, whose values are not
    readable, that vmap's rule finds it."""
    (x,) = values
    axis = axis % (np.ndim(x) - 1) + 1
    if isinstance(x, TensorBase) and x._batched:
        return prim(x, axis=axis, indices=indices)
    return prim(x, axis=axis, perm=np.argsort(raw(x), axis=axis, kind="stable"),
                indices=indices)


# ``perm``, the stable sorting permutation along ``axis``, is what the rules read (the
# indices, as PyTorch saves them): the input is not saved, so changing it in place later is
# no error; :func:`sorted_along` computes it.  (``perm`` None: found by the forward, as under
# vmap, where only the batching rule can read the values, and the rules cannot differentiate
# it: :func:`sorted_along` then gathers by the permutation instead; ``indices``: the result is
# the permutation itself, which carries no gradient, rather than the sorted values.)
sort = primitive("sort", _sort, (_sort_vjp,), jvp=_sort_jvp, grad_fn="SortBackward0",
                 batch=batch_sort)


def sorted_along(x, axis: int):
    """``x`` sorted along ``axis`` (stable), and the permutation that sorts it (an ndarray; a
    tensor without history where ``x`` is batched by vmap, whose values are not readable
    here, or inside a trace of ``compile``, where it is an operation: the caller's copy)."""
    if isinstance(x, TensorBase) and (x._batched or tracing.active[0] is not None):
        # each example has its own permutation, a batched tensor (found by sort's batching
        # rule, from the stack): the values are x gathered by it, with take_along, whose
        # positions are an argument, so that its derivatives (a gather and a scatter by the
        # same positions) batch too.  (So does each replay of a trace of compile: the
        # permutation is an operation of the trace.)
        perm = sort(x.detach(), axis=axis, indices=True)
        values = take_along(x, perm, axis=axis, x_shape=x.shape)
        if not x._batched:  # (a trace's: the caller gets a copy, the gather keeps its own)
            perm = no_gradient(np.copy, perm)
        return values, perm
    perm = np.argsort(raw(x), axis=axis, kind="stable")
    return sort(x, axis=axis, perm=perm), perm
