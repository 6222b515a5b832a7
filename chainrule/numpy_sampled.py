"""NumPy's functions of sampled data, for :mod:`chainrule.numpy` when a Tensor is among the
arguments: ``gradient`` (finite differences of samples) and ``interp`` (piecewise-linear
interpolation).

Both are written with chainrule's operations (slices, gathers, ``where``, arithmetic) in
NumPy's order of operations, so that the values are NumPy's to the bit and the derivatives,
in both modes and to every order, are those of the formulas NumPy evaluates: ``gradient`` is
linear in the samples and differentiable in the spacings; ``interp`` is differentiable in the
points ``x``, the values ``fp`` and the sample points ``xp`` (the segment each point falls in
is fixed by the values, so at a sample point the derivative is that of the segment it starts).
"""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import like, one_dim
from chainrule.numpy_arrays import _along, diff


def _axes(name: str, axis, ndim: int) -> tuple[int, ...]:
    """NumPy's ``normalize_axis_tuple``: the axes in the order given, none repeated."""
    axes = tuple(one_dim(name, d, ndim) for d in (axis if isinstance(axis, (tuple, list))
                                                  else (axis,)))
    if len(set(axes)) < len(axes):
        raise ValueError(f"{name}: repeated axis in {tuple(axis)}")
    return axes


def _spacings(f, varargs, axes) -> list:
    """The spacing along each axis: a number (or 0-d Tensor) for even spacing, else the
    differences of the coordinates (NumPy's reading of ``gradient``'s ``*varargs``)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(ops.data_of(varargs[0])) == 0:
        return list(varargs) * len(axes)
    if len(varargs) != len(axes):
        raise TypeError(f"gradient: invalid number of arguments: {len(varargs)} spacings for "
                        f"{len(axes)} axes; give one, or one per axis")
    spacings = list(varargs)
    for i, distances in enumerate(varargs):
        distances = ops.operand(distances)
        if distances.ndim == 0:
            continue
        if distances.ndim != 1:
            raise ValueError(f"gradient: distances must be either scalars or 1d, but those for "
                             f"axis {axes[i]} have shape {tuple(distances.shape)}")
        if len(distances) != f.shape[axes[i]]:
            raise ValueError(f"gradient: when 1d, distances must match the length of the "
                             f"corresponding dimension ({len(distances)} coordinates for axis "
                             f"{axes[i]} of length {f.shape[axes[i]]})")
        if np.issubdtype(distances.dtype, np.integer):
            distances = ops.to(distances, np.float64)
        steps = diff(distances)
        if (ops.data_of(steps) == ops.data_of(steps)[0]).all():  # (even after all)
            steps = ops.getitem(steps, 0)
        spacings[i] = steps
    return spacings


def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """The derivative of the samples ``f`` along each axis (of ``axis``), estimated by central
    differences inside and one-sided differences of order ``edge_order`` (1 or 2) at the
    ends; ``varargs`` gives the spacing: one number for all axes, or per axis a number or the
    coordinates of the samples.  One array for one axis, else a tuple (NumPy's result)."""
    f = ops.operand(f)
    n = f.ndim
    axes = tuple(range(n)) if axis is None else _axes("gradient", axis, n)
    spacings = _spacings(f, varargs, axes)
    if edge_order > 2:
        raise ValueError(f"gradient: 'edge_order' greater than 2 not supported (got {edge_order})")
    otype = f.dtype
    if not np.issubdtype(otype, np.inexact):
        if np.issubdtype(otype, np.integer):
            f = ops.to(f, np.float64)
        otype = np.dtype(np.float64)
    results = []
    for axis, dx in zip(axes, spacings):
        if f.shape[axis] < edge_order + 1:
            raise ValueError("gradient: Shape of array too small to calculate a numerical "
                             "gradient, at least (edge_order + 1) elements are required "
                             f"(axis {axis} has {f.shape[axis]})")
        pieces = _differences(f, axis, dx, edge_order)
        results.append(ops.cat([ops.to(p, otype) for p in pieces], axis))
    return results[0] if len(results) == 1 else tuple(results)


def _differences(f, axis: int, dx, edge_order: int) -> list:
    """The first samples' derivative, the inner ones', the last one's, along ``axis``
    (NumPy's formulas and order of operations)."""
    n = f.ndim

    def part(start, stop):
        return ops.getitem(f, _along(axis, n, slice(start, stop)))

    def along(coefficients):  # a vector of coefficients, set along the axis
        shape = [1] * n
        shape[axis] = -1
        return ops.reshape(coefficients, tuple(shape))

    even = np.ndim(ops.data_of(dx)) == 0
    # inside, second order: (f[i+1] - f[i-1]) / 2h, or on uneven steps h1 = dx[i-1], h2 = dx[i]:
    # -h2/(h1(h1+h2)) f[i-1] + (h2-h1)/(h1 h2) f[i] + h1/(h2(h1+h2)) f[i+1]
    if even:
        inner = (part(2, None) - part(None, -2)) / (2. * dx)
    else:
        dx1, dx2 = ops.getitem(dx, slice(0, -1)), ops.getitem(dx, slice(1, None))
        a = -(dx2) / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        inner = along(a) * part(None, -2) + along(b) * part(1, -1) + along(c) * part(2, None)
    if edge_order == 1:
        # first order at the ends: (f[1] - f[0]) / h0 and (f[-1] - f[-2]) / h_last
        first = (part(1, 2) - part(0, 1)) / (dx if even else ops.getitem(dx, 0))
        last = (part(-1, None) - part(-2, -1)) / (dx if even else ops.getitem(dx, -1))
        return [first, inner, last]
    # second order at the ends, from the first (last) three samples
    if even:
        a, b, c = -1.5 / dx, 2. / dx, -0.5 / dx
    else:
        dx1, dx2 = ops.getitem(dx, 0), ops.getitem(dx, 1)
        a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = - dx1 / (dx2 * (dx1 + dx2))
    first = a * part(0, 1) + b * part(1, 2) + c * part(2, 3)
    if even:
        a, b, c = 0.5 / dx, -2. / dx, 1.5 / dx
    else:
        dx1, dx2 = ops.getitem(dx, -2), ops.getitem(dx, -1)
        a = (dx2) / (dx1 * (dx1 + dx2))
        b = - (dx2 + dx1) / (dx1 * dx2)
        c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
    last = a * part(-3, -2) + b * part(-2, -1) + c * part(-1, None)
    return [first, inner, last]


def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through the points (``xp``, ``fp``) (``xp``
    increasing) at ``x``; ``left`` and ``right`` (``fp``'s ends by default) outside, or
    ``period``-periodic.  In float64, as NumPy's."""
    x, xp, fp = (ops.to(v, np.float64) for v in (x, xp, fp))
    if np.iscomplexobj(ops.data_of(fp)):
        raise TypeError("interp: complex values fp are not supported on Tensors")
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError(f"interp: Data points must be 1-D sequences (xp has shape "
                         f"{tuple(xp.shape)}, fp {tuple(fp.shape)})")
    if xp.shape[0] != fp.shape[0]:
        raise ValueError(f"interp: fp and xp are not of the same length ({fp.shape[0]} and "
                         f"{xp.shape[0]})")
    if xp.shape[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    if period is not None:
        x, xp, fp = _unrolled(x, xp, fp, period)
        left = right = None
    fp0, fp_last = ops.getitem(fp, 0), ops.getitem(fp, -1)
    left = fp0 if left is None else ops.to(left, np.float64)
    right = fp_last if right is None else ops.to(right, np.float64)
    xd, xpd = np.asarray(ops.data_of(x)), ops.data_of(xp)
    if len(xpd) == 1:  # (NumPy's answer at a NaN too; a Tensor, even if constant in x)
        return like((x, xp, fp, left, right),
                    R.where(xd < xpd[0], left, R.where(xd > xpd[-1], right, fp0)))
    inside = _segments(x, xp, fp, xd, xpd)
    inside = R.where(xd == xpd[-1], fp_last, inside)  # (the last sample point: fp's last)
    value = R.where(xd < xpd[0], left, R.where(xd > xpd[-1], right, inside))
    return R.where(np.isnan(xd), x, value) if np.isnan(xd).any() else value


def _unrolled(x, xp, fp, period):
    """``x``, ``xp``, ``fp`` of a ``period``-periodic interpolation: the points brought into
    one period, the samples sorted and extended by one on each side."""
    if period == 0:
        raise ValueError("interp: period must be a non-zero value")
    period = abs(period)
    x, xp = R.remainder(x, period), R.remainder(xp, period)
    order = np.argsort(ops.data_of(xp))
    xp, fp = ops.getitem(xp, order), ops.getitem(fp, order)
    xp = ops.cat([ops.getitem(xp, slice(-1, None)) - period, xp,
                  ops.getitem(xp, slice(0, 1)) + period])
    fp = ops.cat([ops.getitem(fp, slice(-1, None)), fp, ops.getitem(fp, slice(0, 1))])
    return x, xp, fp


def _segments(x, xp, fp, xd, xpd):
    """The interpolant at ``x`` on the segment [xp[j], xp[j+1]) each point falls in (the
    first or last segment for the points outside, which the caller replaces)."""
    j = np.clip(np.searchsorted(xpd, xd, side="right") - 1, 0, len(xpd) - 2)
    x0, x1 = ops.getitem(xp, j), ops.getitem(xp, j + 1)
    f0, f1 = ops.getitem(fp, j), ops.getitem(fp, j + 1)
    width = x1 - x0
    # (a segment of width 0 is never the one a point inside falls in: a width of 1 instead
    # keeps the unused slope, and so its derivatives, finite)
    width = R.where(ops.data_of(width) == 0, 1.0, width)
    # slope (x - x0) + f0, NumPy's formula and order of operations (and, as NumPy's, quiet
    # about an infinite slope times 0)
    with np.errstate(invalid="ignore"):
        slope = (f1 - f0) / width
        value = slope * (x - x0) + f0
    bad = np.isnan(ops.data_of(value)) & ~np.isnan(xd)
    if bad.any():
        # NumPy's way round a NaN (an infinite value among fp): fp[j] at a sample point,
        # else from the other end of the segment, else fp[j] if the segment is flat
        with np.errstate(invalid="ignore"):
            other = slope * (x - x1) + f1
        at_start = (xd == xpd[j]) | (np.isnan(ops.data_of(other))
                                     & (ops.data_of(f0) == ops.data_of(f1)))
        value = R.where(bad, R.where(at_start, f0, other), value)
    return value
