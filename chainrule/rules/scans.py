"""Cumulative sums and products, and sorting.

Design choices
--------------
* ``sort`` is a primitive (its ``grad_fn`` is ``SortBackward0``, as in PyTorch).  Its rules are
  gathers by the permutation that sorts the input (``argsort``, recomputed from the saved input):
  the JVP gathers the tangent by it, the VJP gathers the cotangent by its inverse.  Both are
  ``getitem``, so the second derivative (zero) comes for free.
* ``cumprod`` is exact to every order on inputs without zeros.  At zeros the first derivatives
  (VJP and JVP) are exact and higher ones raise ``NotImplementedError``, as ``prod`` does.
"""

from __future__ import annotations

import numpy as np

from chainrule.rules.reductions import keep_sum
from chainrule.rules.shape import flip, getitem
from chainrule.rules.table import primitive, raw
from chainrule.tensor_base import TensorBase


def _keep_along(a, axis):
    """The sum along one ``axis`` (negative allowed), kept as a dimension of size 1."""
    return keep_sum(a, (axis % np.ndim(raw(a)),))


def _not_implemented_at_zeros(name):
    return NotImplementedError(
        f"chainrule.{name}: higher-order derivatives at inputs that contain zeros are not "
        "supported; perturb the zeros or write the product out with mul")


# --------------------------------------------------------------------------------------------
# Cumulative sum and product, sort


def _reverse_cumsum(a, axis):
    """``out_i = sum_{j >= i} a_j`` along ``axis``: the adjoint of ``cumsum``."""
    return flip(cumsum(flip(a, axis=axis), axis=axis), axis=axis)


# cumsum is linear: its adjoint sums from the end, d x_i = sum_{j >= i} g_j
cumsum = primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis),
                   (lambda g, ans, x, axis: _reverse_cumsum(g, axis),), jvp="linear",
                   grad_fn="CumsumBackward0")


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


def _cumprod_vjp(g, ans, x, axis):
    # d ans_j / d x_i = ans_j / x_i for i <= j when no x is zero
    if not np.any(raw(x) == 0):
        return _reverse_cumsum(g * ans, axis) / x
    if isinstance(x, TensorBase):
        raise _not_implemented_at_zeros("cumprod")
    a, b, at, c = _cumprod_parts(x, axis)
    return a * _reverse_cumsum(g * b, axis) + at * _keep_along(g * c, axis)


def _cumprod_jvp(ts, ans, x, axis):
    # d ans = ans * cumsum(dx / x) when no x is zero
    if not np.any(raw(x) == 0):
        return ans * cumsum(ts[0] / x, axis=axis)
    if isinstance(x, TensorBase):
        raise _not_implemented_at_zeros("cumprod")
    a, b, at, c = _cumprod_parts(x, axis)
    return cumsum(ts[0] * a, axis=axis) * b + _keep_along(ts[0] * at, axis) * c


cumprod = primitive("cumprod", lambda x, axis: np.cumprod(x, axis=axis), (_cumprod_vjp,),
                    save_inputs=True, save_ans=True, jvp=_cumprod_jvp, grad_fn="CumprodBackward0")


def _along(positions, axis):
    """The index that gathers ``positions`` along ``axis`` (``take_along_axis``'s)."""
    index = list(np.indices(positions.shape, sparse=True))
    index[axis % positions.ndim] = positions
    return tuple(index)


def _sort_vjp(g, ans, x, axis, perm):
    # sorted = x[perm]: the gradient goes back to the original positions, g[inverse(perm)]
    inverse = np.argsort(perm, axis=axis, kind="stable")
    return getitem(g, index=_along(inverse, axis), x_shape=np.shape(raw(g)))


def _sort_jvp(ts, ans, x, axis, perm):
    # d sorted = dx[perm]
    t = ts[0]
    return getitem(t, index=_along(perm, axis), x_shape=np.shape(raw(t)))


# ``perm``, the stable sorting permutation along ``axis``, is what the rules read (the
# indices, as PyTorch saves them): the input is not saved, so changing it in place later is
# no error; :func:`sorted_along` computes it
sort = primitive("sort", lambda x, axis, perm: np.take_along_axis(x, perm, axis=axis),
                 (_sort_vjp,), jvp=_sort_jvp, grad_fn="SortBackward0")


def sorted_along(x, axis: int):
    """``x`` sorted along ``axis`` (stable), and the permutation that sorts it."""
    perm = np.argsort(raw(x), axis=axis, kind="stable")
    return sort(x, axis=axis, perm=perm), perm
