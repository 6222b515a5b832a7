"""NumPy's statistics, for :mod:`chainrule.numpy` when a Tensor is among the arguments (NumPy's
own functions answer plain arrays): averages and order statistics (``average``, ``median``,
``percentile``, ``quantile``, ``ptp``), the functions that ignore NaN (``nanmax`` ...
``nanquantile``, ``nancumsum``, ``nancumprod``), covariance and correlation (``cov``,
``corrcoef``) and the trapezoidal rule (``trapezoid``; NumPy 1's ``trapz``).

Each is written with chainrule's operations in NumPy's order of operations, so that the values
are NumPy's (to the bit, dtypes by NumPy 2's rules, as everywhere in chainrule) and every
derivative, in both modes and to every order, comes from the primitives' rules:

* an order statistic is a sorted value, gathered: sorting is a permutation, so ``median``,
  ``percentile`` and ``quantile`` are differentiable in the entries they pick or interpolate
  (NumPy's weights ``1 - g`` and ``g``), and in ``q`` for the methods whose weight ``g`` moves
  with ``q`` (``linear``, ``hazen``, ``weibull``, ``median_unbiased``, ``normal_unbiased``,
  ``interpolated_inverted_cdf``); NumPy's other methods pick entries (or their midpoint) by
  ``q``, so their derivative in ``q`` is 0.  All thirteen of NumPy's methods are piecewise
  linear in the sorted values, so none is refused.  With ``weights`` (``inverted_cdf`` only,
  NumPy 2) the result is NumPy's own value, an entry of ``a``, and the gradient goes to that
  entry (the weights only choose it: their derivative is 0);
* the ``nan`` functions replace each NaN by a constant (``where``), so the gradient at a NaN
  entry is 0, and count only the other entries, as NumPy does; a slice of NaN only gives NaN
  (with NumPy's warning);
* ``cov`` and ``corrcoef`` are differentiable in the data and in ``aweights`` (``fweights``
  are counts).

An error names the function without the namespace (``median: ...``): :mod:`chainrule.numpy`
puts ``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from chainrule import ops, tracing
from chainrule import rules as R
from chainrule.arguments import data_of, dtype_of, like, one_dim, shape_of
from chainrule.errors import refuse_out
from chainrule.numpy_arrays import diff
from chainrule.numpy_sampled import _axes
from chainrule.tensor_base import TensorBase

# NumPy's methods of quantile (its ``_QuantileMethods``), in its order
METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
           "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
           "normal_unbiased", "lower", "higher", "midpoint", "nearest")
# the virtual index of Hyndman and Fan's continuous methods, n q + alpha + q (1 - alpha - beta)
# - 1 (0-based), by (alpha, beta)
_ALPHA_BETA = {"interpolated_inverted_cdf": (0, 1), "hazen": (0.5, 0.5), "weibull": (0, 0),
               "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0)}
# the methods that pick one of the sorted values (an integer index)
_PICKING = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")
# which of two values at the same distance closest_observation takes: the one of odd 0-based
# index (NumPy 2's fix of Hyndman and Fan's even order statistic), or of even index (NumPy 1);
# asked of the installed NumPy, at the tie between 0 and 1 of four values
_CLOSEST_TIE = int(np.quantile(np.arange(4.0), 0.375, method="closest_observation"))
# whether an integer virtual index (an integer q) picks that value whatever the method (NumPy
# 1: the last value for q = 0 by averaged_inverted_cdf), or only for linear (NumPy 2)
_INTEGER_INDEX_PICKS = np.quantile(np.arange(3.0), 0, method="averaged_inverted_cdf") == 2.0
# whether cov(m, rowvar=False) reads a single row m as observations of one variable each
# (NumPy 2), or as one variable (NumPy 1)
_COV_TRANSPOSES_A_ROW = np.ndim(np.cov(np.zeros((1, 2)), rowvar=False, bias=True)) == 2


def no_out(name: str, out) -> None:
    """Refuse NumPy's ``out=``: a result written into an array loses its gradient."""
    refuse_out(name, out)


def _unsupported(name: str, **given) -> None:
    """Refuse NumPy's arguments that chainrule does not take on Tensors (given as not None)."""
    named = sorted(k for k, v in given.items() if v is not None)
    if named:
        raise TypeError(f"{name}: the arguments {named} are not supported on Tensors; "
                        "leave them out (select the entries with cnp.where first)")


def _inexact(x) -> bool:
    return np.dtype(x.dtype).kind in "fc"


# --------------------------------------------------------------------------------------------
# the reduced axes, moved last (NumPy's _ureduce)


def _reduced_last(name: str, a, axis):
    """``a`` with the axes reduced moved to the end and flattened into one (all of them for
    ``axis=None``), and those axes (None for all)."""
    a = ops.operand(a)
    if axis is None:
        return ops.reshape(a, (-1,)), None
    axes = _axes(name, axis, a.ndim)
    keep = [d for d in range(a.ndim) if d not in axes]
    moved = ops.permute(a, keep + [d for d in range(a.ndim) if d in axes])
    return ops.reshape(moved, tuple(a.shape[d] for d in keep) + (-1,)), axes


def _kept_dims(result, shape: tuple, axes, lead: tuple, keepdims: bool):
    """``result`` (of shape ``lead`` + the kept axes) with the reduced axes put back as 1s."""
    if not keepdims:
        return result
    return ops.reshape(result, lead + tuple(1 if axes is None or d in axes else s
                                            for d, s in enumerate(shape)))


def _gather_last(values, positions, lead: tuple = ()):
    """Entry ``(j..., r...)`` is ``values[r..., positions[j..., r...]]``, where ``values`` has
    shape ``rest + (n,)`` and ``positions`` shape ``lead + rest`` (or ``lead``: the same
    position in every row, or anything that broadcasts to it)."""
    rest = tuple(values.shape[:-1])
    positions = np.asarray(positions)
    if positions.ndim == len(lead):
        positions = positions.reshape(positions.shape + (1,) * len(rest))
    positions = np.broadcast_to(positions, lead + rest)
    grids = tuple(np.arange(s).reshape((1,) * (len(lead) + d) + (s,) + (1,) * (len(rest) - d - 1))
                  for d, s in enumerate(rest))
    return ops.getitem(values, grids + (positions,))


# --------------------------------------------------------------------------------------------
# median


def _median(name: str, a, axis, out, keepdims, nan: bool):
    """``median``, or ``nanmedian`` (the middle of the entries that are not NaN)."""
    no_out(name, out)
    a = ops.operand(a)
    values, axes = _reduced_last(name, a, axis)
    rest, n, dtype = tuple(values.shape[:-1]), values.shape[-1], np.dtype(values.dtype)
    data = np.asarray(data_of(values))
    if n == 0:  # (NumPy's mean of nothing: NaN, with its warning)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            empty = np.median(data, axis=-1)
        warnings.warn("Mean of empty slice.", RuntimeWarning, stacklevel=4)
        return _kept_dims(like((a,), empty), a.shape, axes, (), keepdims)
    counts = np.full(rest, n)
    if nan and _inexact(values):
        counts = (~np.isnan(data)).sum(axis=-1)
    ordered = R.sorted_along(values, values.ndim - 1)[0]  # (NaN last)
    low = _gather_last(ordered, (counts - 1) // 2)
    high = _gather_last(ordered, counts // 2)
    if nan and axis is not None and values.ndim > 1 and n < 600:
        # NumPy's nanmedian of a few entries along an axis is numpy.ma.median: the middle two
        # (one twice, for an odd count) summed and halved, in the array's dtype
        result = (low + high) / 2.0 if _inexact(values) else (
            ops.to(low, np.float64) + ops.to(high, np.float64)) / 2
    else:
        # numpy.median: the mean of the middle one or two, in float64 for integers and in
        # float32 for float16
        work = dtype if _inexact(values) and dtype != np.float16 else (
            np.dtype(np.float32) if dtype == np.float16 else np.dtype(np.float64))
        low, high = ops.to(low, work), ops.to(high, work)
        even = counts % 2 == 0
        result = ((low + high) / 2 if even.all() else low) if not nan else R.where(
            even, (low + high) / 2, low)
        if dtype == np.float16:
            result = ops.to(result, dtype)
    if nan:
        empty = counts == 0
        if empty.any():
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
            result = R.where(empty, np.nan, result)
    elif _inexact(values) and np.isnan(data).any():  # a NaN among the entries: NaN
        last = ops.getitem(ordered, (Ellipsis, -1))
        result = R.where(np.isnan(data_of(last)), last, result)
    return _kept_dims(result, a.shape, axes, (), keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis`` (of all entries by default): the middle of the sorted
    entries, or the mean of the middle two, which share its gradient.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> x = cr.tensor([3.0, 1.0, 2.0, 7.0], requires_grad=True)
    >>> cnp.median(x).backward()
    >>> x.grad
    tensor([0.5000, 0.0000, 0.5000, 0.0000])
    """
    return _median("median", a, axis, out, keepdims, nan=False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median of the entries that are not NaN (NaN for a slice of NaN only)."""
    return _median("nanmedian", a, axis, out, keepdims, nan=True)


# --------------------------------------------------------------------------------------------
# quantiles


def _picked(method: str, n, q: np.ndarray) -> np.ndarray:
    """The index a picking method takes among the ``n`` sorted values (NumPy's formulas)."""
    if method in ("lower", "higher", "nearest"):
        rounding = {"lower": np.floor, "higher": np.ceil, "nearest": np.around}[method]
        return rounding((n - 1) * q).astype(np.intp)
    # inverted_cdf: the first value whose empirical distribution reaches q; closest_observation:
    # the nearest one (at a tie, the one of _CLOSEST_TIE's parity)
    index = n * q - 1 if method == "inverted_cdf" else n * q - 1 - 0.5
    previous = np.floor(index)
    gamma = (index - previous).astype(index.dtype)
    at_previous = gamma == 0
    if method == "closest_observation":
        at_previous = at_previous & (np.floor(index) % 2 == _CLOSEST_TIE)
    picked = np.where(at_previous, previous, previous + 1).astype(np.intp)
    return np.maximum(picked, 0)


def _virtual_index(method: str, n, q):
    """Where ``q`` falls among the ``n`` sorted values, 0-based, between two of them (NumPy's
    formulas, operators only: ``q`` may be a Tensor)."""
    if method == "linear":
        return (n - 1) * q
    if method == "averaged_inverted_cdf":
        return n * q - 1
    if method == "midpoint":
        return 0.5 * (np.floor((n - 1) * q) + np.ceil((n - 1) * q))
    alpha, beta = _ALPHA_BETA[method]
    return n * q + (alpha + q * (1 - alpha - beta)) - 1


def _lerp(a, b, t, one_minus_t, upper):
    """NumPy's linear interpolation: ``a + (b - a) t``, or ``b - (b - a) (1 - t)`` where
    ``upper`` (``t >= 0.5``), which is exact at ``t = 1``."""
    difference = b - a
    if upper is False:
        return a + difference * t
    if upper is True:
        return b - difference * one_minus_t
    return R.where(upper, b - difference * one_minus_t, a + difference * t)


def _quantiles(ordered, counts, q: np.ndarray, q_tensor, method: str, weak: bool):
    """NumPy's quantiles ``q`` of each row of ``ordered`` (sorted along its last axis; only
    the first ``counts`` entries of a row, when given), of shape ``q.shape + rows``."""
    rows = tuple(ordered.shape[:-1])
    lead = q.shape
    if counts is None:
        n = ordered.shape[-1]
    else:  # per row; as NumPy's int n, it takes q's dtype
        n = counts.astype(q.dtype) if q.dtype.kind in "iuf" else counts
        q = q.reshape(lead + (1,) * len(rows))
        if q_tensor is not None:
            q_tensor = ops.reshape(q_tensor, lead + (1,) * len(rows))
    with np.errstate(invalid="ignore"):
        if method in _PICKING:
            return _gather_last(ordered, _picked(method, n, q), lead)
        index = np.asarray(_virtual_index(method, n, q))
    if index.dtype.kind in "iu" and (method == "linear" or _INTEGER_INDEX_PICKS):
        return _gather_last(ordered, index, lead)  # (integer q: no interpolation)
    # the two neighbours (the last value, twice, beyond it; the first before it), as NumPy
    # finds them: -1 stands for the last value
    previous = np.floor(index)
    previous = np.where(index >= n - 1, -1, previous)
    previous = np.where(index < 0, 0, previous)
    previous = np.where(np.isnan(index), -1, previous).astype(np.intp)
    following = np.where(previous == -1, -1, np.where(index < 0, 0, previous + 1))
    last = n - 1 if counts is None else (counts - 1).astype(np.intp)
    a = _gather_last(ordered, np.where(previous == -1, last, previous), lead)
    b = _gather_last(ordered, np.where(following == -1, last, following), lead)
    gamma = (index - previous).astype(index.dtype)
    if method == "averaged_inverted_cdf":
        gamma = np.where(gamma == 0, 0.5, 1.0).astype(index.dtype)
    elif method == "midpoint":
        gamma = np.where(index % 1 == 0, 0.0, 0.5).astype(index.dtype)
    upper = gamma >= 0.5
    if counts is None:
        upper = upper.reshape(lead + (1,) * len(rows))
    if q_tensor is not None and method not in ("averaged_inverted_cdf", "midpoint"):
        # the weight moves with q: the same formula on the Tensor q
        t = ops.to(_virtual_index(method, n, q_tensor) - previous, index.dtype)
        if counts is None:
            t = ops.reshape(t, lead + (1,) * len(rows))
        return _lerp(a, b, t, 1 - t, upper)
    if weak:  # (NumPy's weight, a Python float, takes the values' float dtype)
        gamma = gamma.astype(np.float64)
        one_minus = 1 - gamma
        if _inexact(ordered):
            gamma, one_minus = gamma.astype(ordered.dtype), one_minus.astype(ordered.dtype)
        if counts is None:
            return _lerp(a, b, gamma[()], one_minus[()], bool(upper))
        return _lerp(a, b, gamma, one_minus, upper)
    if counts is None:
        gamma = gamma.reshape(lead + (1,) * len(rows))
    return _lerp(a, b, gamma, 1 - gamma, upper)


def _weighted(numpy_func, a, q, axis, method, weights, values):
    """A quantile with ``weights`` (``inverted_cdf``): NumPy's value, an entry of ``a``, which
    the result gathers (the first equal one in its slice; a NaN where it is NaN)."""
    plain = np.asarray(numpy_func(data_of(a), q, axis=axis, method=method,
                                  weights=data_of(weights)))
    data = np.asarray(data_of(values))
    found = (data == plain[..., None]).argmax(axis=-1)
    if _inexact(values):
        found = np.where(np.isnan(plain), np.isnan(data).argmax(axis=-1), found)
    return _gather_last(values, found, np.shape(plain)[:np.ndim(plain) - values.ndim + 1])


def _quantile(name: str, a, q, axis, out, method, keepdims, weights, percent: bool, nan: bool):
    no_out(name, out)
    a = ops.operand(a)
    if a.dtype.kind == "c":
        raise TypeError(f"{name}: a must be an array of real numbers")
    weak = type(q) in (int, float)
    q_tensor = ops.operand(q) if isinstance(q, (TensorBase, list, tuple)) else None
    if not isinstance(q_tensor, TensorBase):
        q_tensor = None
    q_data = np.asarray(data_of(q if q_tensor is None else q_tensor))
    q_given = q if q_tensor is None else q_data  # (as NumPy reads it)
    if percent:
        q_data = np.true_divide(q_data, 100)
        q_tensor = None if q_tensor is None else q_tensor / 100
    if not np.all((q_data >= 0) & (q_data <= 1)):
        raise ValueError(f"{name}: " + ("Percentiles must be in the range [0, 100]" if percent
                                         else "Quantiles must be in the range [0, 1]"))
    if method not in METHODS:
        raise ValueError(f"{name}: {method!r} is not a valid method. Use one of: "
                         f"{', '.join(METHODS)}")
    if q_data.ndim > 2:
        raise ValueError(f"{name}: q must be a scalar or 1d")
    if nan and np.size(data_of(a)) == 0:  # (NumPy's answer: the mean of nothing, NaN)
        return nanmean(a, axis, keepdims=keepdims)
    values, axes = _reduced_last(name, a, axis)
    if weights is not None:
        numpy_func = getattr(np, ("nan" if nan else "") + ("percentile" if percent
                                                              else "quantile"))
        result = _weighted(numpy_func, a, q_given, axis, method, weights, values)
    else:
        counts = None
        if nan and _inexact(values):
            counts = (~np.isnan(np.asarray(data_of(values)))).sum(axis=-1)
        ordered = R.sorted_along(values, values.ndim - 1)[0]  # (NaN last)
        result = _quantiles(ordered, counts, q_data, q_tensor, method, weak)
        if counts is not None and (counts == 0).any():
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
            result = R.where(counts == 0, np.nan, result)
            if counts.flat[0] == 0:  # (NumPy's result takes the dtype of the first slice's,
                # which is the array's where that slice is all NaN)
                result = ops.to(result, values.dtype)
        elif not nan and _inexact(values) and np.isnan(data_of(values)).any():
            last = ops.getitem(ordered, (Ellipsis, -1))  # a NaN makes the slice's result NaN
            result = R.where(np.isnan(data_of(last)), last, result)
    result = _kept_dims(result, a.shape, axes, q_data.shape, keepdims)
    return result if isinstance(result, TensorBase) else like((a, q_tensor, weights), result)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """The ``q``-th quantiles (``q`` in [0, 1]) along ``axis``, by NumPy's ``method``;
    differentiable in ``a`` and, for the methods that interpolate, in ``q``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> x = cr.tensor([3.0, 1.0, 2.0, 7.0], requires_grad=True)
    >>> q = cr.tensor(0.5, requires_grad=True)
    >>> cnp.quantile(x, q).backward()          # halfway between 2 and 3, the sorted middle
    >>> x.grad, q.grad                         # d/dq: (n - 1) (3 - 2)
    (tensor([0.5000, 0.0000, 0.5000, 0.0000]), tensor(3.))
    """
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, False, False)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """The ``q``-th percentiles (``q`` in [0, 100]) along ``axis``, by NumPy's ``method``."""
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, True, False)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """The ``q``-th quantiles of the entries that are not NaN."""
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, False, True)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """The ``q``-th percentiles of the entries that are not NaN."""
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, True, True)


# --------------------------------------------------------------------------------------------
# reductions that ignore NaN


def _without_nan(a, fill):
    """``a`` with its NaNs replaced by ``fill`` (a constant: their gradient is 0), and where
    they were (None for an array that cannot hold NaN)."""
    a = ops.operand(a)
    if not _inexact(a):
        return a, None
    mask = np.isnan(data_of(a))
    return R.where(mask, fill, a), mask


def _nan_extremum(name: str, reduce, fill: float):
    def extremum(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        no_out(name, out)
        _unsupported(name, initial=initial, where=where)
        filled, mask = _without_nan(a, fill)
        result = reduce(filled, axis, keepdims)
        if mask is not None:
            empty = np.all(mask, axis=axis, keepdims=keepdims)
            if empty.any():
                warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
                result = R.where(empty, np.nan, result)
        return result

    extremum.__name__ = extremum.__qualname__ = name
    extremum.__doc__ = (f"The {name[3:]}imum along ``axis``, ignoring NaN (NaN for a slice "
                        "of NaN only); ties share the gradient evenly.")
    return extremum


nanmax = _nan_extremum("nanmax", lambda a, axis, keep: ops.amax(a, axis, keep), -np.inf)
nanmin = _nan_extremum("nanmin", lambda a, axis, keep: ops.amin(a, axis, keep), np.inf)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The sum along ``axis``, NaN counting as 0."""
    no_out("nansum", out)
    _unsupported("nansum", initial=initial, where=where)
    return ops.sum(_without_nan(a, 0)[0], axis, keepdims, dtype=dtype)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The product along ``axis``, NaN counting as 1."""
    no_out("nanprod", out)
    _unsupported("nanprod", initial=initial, where=where)
    return ops.prod(_without_nan(a, 1)[0], axis, keepdims, dtype=dtype)


def _nan_scan(name: str, fill: float, scan):
    def cumulative(a, axis=None, dtype=None, out=None):
        no_out(name, out)
        filled = _without_nan(a, fill)[0]
        if dtype is not None:
            filled = ops.to(filled, dtype)
        if axis is None or filled.ndim == 0:
            filled, axis = ops.reshape(filled, (-1,)), 0
        return scan(filled, axis=one_dim(name, axis, filled.ndim))

    cumulative.__name__ = cumulative.__qualname__ = name
    cumulative.__doc__ = (f"The cumulative {name[6:]} along ``axis`` (of the flattened array "
                          f"by default), NaN counting as {fill}.")
    return cumulative


nancumsum = _nan_scan("nancumsum", 0, R.cumsum)
nancumprod = _nan_scan("nancumprod", 1, R.cumprod)


def _counted(name: str, a, dtype):
    """``a`` without its NaNs (0 instead), where they were, and how many entries are not
    NaN along each slice is read by the caller; refuses an integer ``dtype`` as NumPy does."""
    filled, mask = _without_nan(a, 0)
    if mask is not None and dtype is not None and np.dtype(dtype).kind not in "fc":
        raise TypeError(f"{name}: If a is inexact, then dtype must be inexact")
    return filled, mask


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """The mean of the entries that are not NaN (NaN for a slice of NaN only); the gradient
    at a NaN is 0.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> x = cr.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    >>> cnp.nanmean(x).backward()
    >>> x.grad
    tensor([0.5000, 0.0000, 0.5000])
    """
    no_out("nanmean", out)
    _unsupported("nanmean", where=where)
    filled, mask = _counted("nanmean", a, dtype)
    if mask is None:
        return ops.mean(filled, axis, keepdims, dtype=dtype)
    count = np.sum(~mask, axis=axis, dtype=np.intp, keepdims=keepdims)
    total = ops.sum(filled, axis, keepdims, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ops.to(total / count, total.dtype)
    if (count == 0).any():
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
    return mean


def _nanvar(name, a, axis, dtype, out, ddof, keepdims, where, mean, correction):
    no_out(name, out)
    _unsupported(name, where=where)
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{name}: ddof and correction can't be provided simultaneously.")
        ddof = correction
    filled, mask = _counted(name, a, dtype)
    if mask is None:
        if mean is not None:
            raise TypeError(f"{name}: mean= is supported on Tensors of floating dtypes only")
        filled = filled if dtype is None else ops.to(filled, dtype)
        return ops.var(filled, axis, correction=ddof, keepdim=keepdims)
    count = np.sum(~mask, axis=axis, dtype=np.intp, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mean is None:
            total = ops.sum(filled, axis, True, dtype=dtype)
            mean = ops.to(total / count, total.dtype)
        # (NumPy subtracts into a copy of the array: in its dtype)
        centred = R.where(mask, 0, ops.to(filled - mean, filled.dtype))
        squares = (centred * centred if centred.dtype.kind != "c"
                   else R.real_part(centred * R.conj(centred)))
        total = ops.sum(squares, axis, keepdims, dtype=dtype)
        if np.ndim(data_of(total)) < count.ndim:
            count = count.squeeze(axis)
        freedom = count - ddof
        variance = ops.to(total / freedom, total.dtype)
    if np.any(freedom <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=4)
        variance = R.where(freedom <= 0, np.nan, variance)
    return variance


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """The variance of the entries that are not NaN, dividing by their count less ``ddof``."""
    return _nanvar("nanvar", a, axis, dtype, out, ddof, keepdims, where, mean, correction)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """The standard deviation of the entries that are not NaN; its gradient where the
    variance is 0 is 0 (as :func:`chainrule.std`'s), not the square root's infinite slope."""
    variance = _nanvar("nanstd", a, axis, dtype, out, ddof, keepdims, where, mean, correction)
    zero = data_of(variance) == 0
    # sqrt(v) where v > 0; 0 (and its derivative 0) where v = 0
    return R.where(zero, 0, R.sqrt(R.where(zero, 1, variance)))


def ptp(a, axis=None, out=None, keepdims=False):
    """The range, maximum minus minimum, along ``axis``."""
    no_out("ptp", out)
    return ops.amax(a, axis, keepdims) - ops.amin(a, axis, keepdims)


# --------------------------------------------------------------------------------------------
# weighted averages, covariance, correlation


def _weights_fitted(name: str, weights, a, axes):
    """NumPy's checks of ``average``'s weights: ``a``'s shape, or that of ``a`` along ``axes``
    (then set along those axes)."""
    weights = ops.operand(weights)
    if tuple(weights.shape) == tuple(a.shape):
        return weights
    if axes is None:
        raise TypeError(f"{name}: Axis must be specified when shapes of a and weights differ "
                        f"({tuple(a.shape)} and {tuple(weights.shape)}).")
    if tuple(weights.shape) != tuple(a.shape[d] for d in axes):
        raise ValueError(f"{name}: Shape of weights must be consistent with shape of a along "
                         f"specified axis (weights {tuple(weights.shape)}, a {tuple(a.shape)}, "
                         f"axis {axes}).")
    weights = ops.permute(weights, [int(i) for i in np.argsort(axes)])
    return ops.reshape(weights, tuple(s if d in axes else 1 for d, s in enumerate(a.shape)))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """The mean along ``axis``, weighted by ``weights`` (``sum(a * weights) / sum(weights)``);
    with ``returned``, also the sum of the weights."""
    a = ops.operand(a)
    axes = None if axis is None else _axes("average", axis, a.ndim)
    if weights is None:
        mean = ops.mean(a, axes, keepdims)
        # the count of entries averaged, in the mean's dtype (from the shapes: no value read)
        total = dtype_of(mean).type(math.prod(shape_of(a)) / builtins.max(
            math.prod(shape_of(mean)), 1))
    else:
        weights = _weights_fitted("average", weights, a, axes)
        dtype = np.result_type(a.dtype, weights.dtype)
        if a.dtype.kind in "iub":
            dtype = np.result_type(a.dtype, weights.dtype, "f8")
        total = ops.sum(weights, axes, keepdims, dtype=dtype)
        if np.any(data_of(total) == 0.0):
            raise ZeroDivisionError("chainrule.numpy.average: Weights sum to zero, can't be "
                                    "normalized")
        mean = ops.sum(ops.to(a, dtype) * ops.to(weights, dtype), axes, keepdims) / total
    if not returned:
        return mean
    shape = shape_of(mean)
    if shape_of(total) != shape:  # (a NumPy count is broadcast by NumPy: no primitive)
        total = ops.clone(ops.broadcast_to(total, shape)) if isinstance(
            total, TensorBase) else np.array(np.broadcast_to(total, shape))
    return mean, total if isinstance(total, TensorBase) else like((a, weights), total)


def _two_dimensional(x, dtype):
    x = ops.to(ops.operand(x), dtype)
    return ops.reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)) if x.ndim < 2 else x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """The covariance matrix of the variables (rows of ``m``, and of ``y``), observed in the
    columns (rows with ``rowvar=False``), weighted by ``fweights`` and ``aweights``."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("cov: ddof must be integer")
    m = ops.operand(m)
    if m.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {tuple(m.shape)})")
    if y is not None:
        y = ops.operand(y)
        if y.ndim > 2:
            raise ValueError(f"cov: y has more than 2 dimensions (shape {tuple(y.shape)})")
    if dtype is None:
        dtype = np.result_type(m.dtype, np.float64) if y is None else np.result_type(
            m.dtype, y.dtype, np.float64)
    X = _two_dimensional(m, dtype)
    if not rowvar and m.ndim != 1 and (X.shape[0] != 1 or _COV_TRANSPOSES_A_ROW):
        X = ops.transpose(X, 0, 1)
    if X.shape[0] == 0:
        return like((m, y), np.array([]).reshape(0, 0))
    if y is not None:
        Y = _two_dimensional(y, dtype)
        if not rowvar and Y.shape[0] != 1:
            Y = ops.transpose(Y, 0, 1)
        X = ops.cat([X, Y], 0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    w = frequencies = None
    if fweights is not None:
        frequencies = np.asarray(data_of(fweights), dtype=float)
        if not np.all(frequencies == np.around(frequencies)):
            raise TypeError("cov: fweights must be integer")
        _check_weights("fweights", frequencies, X.shape[1])
        w = frequencies
    if aweights is not None:
        aweights = ops.to(ops.operand(aweights), np.float64)
        _check_weights("aweights", data_of(aweights), X.shape[1])
        w = aweights if w is None else w * aweights
    mean, total = average(X, axis=1, weights=w, returned=True)
    total = ops.getitem(total, 0)
    if w is None:
        factor = X.shape[1] - ddof
    elif ddof == 0:
        factor = total
    elif aweights is None:
        factor = total - ddof
    else:  # (NumPy sums w * aweights with Python's sum: in order, as a cumulative sum)
        factor = total - ddof * ops.getitem(R.cumsum(w * aweights, axis=0), -1) / total
    if data_of(factor) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        factor = 0.0
    X = X - ops.reshape(mean, (-1, 1))
    X_T = ops.transpose(X if w is None else X * w, 0, 1)
    if X.dtype.kind == "c":
        X_T = R.conj(X_T)
    with np.errstate(divide="ignore"):
        c = ops.matmul(X, X_T) * np.true_divide(1, data_of(factor)) if not isinstance(
            factor, TensorBase) else ops.matmul(X, X_T) * (1 / factor)
    return ops.squeeze(c)


def _check_weights(name: str, weights: np.ndarray, samples: int) -> None:
    if weights.ndim > 1:
        raise RuntimeError(f"cov: cannot handle multidimensional {name} (shape "
                           f"{weights.shape}); give one weight per observation")
    if weights.shape[0] != samples:
        raise RuntimeError(f"cov: incompatible numbers of samples and {name} ({samples} "
                           f"observations, {weights.shape[0]} weights)")
    if np.any(weights < 0):
        raise ValueError(f"cov: {name} cannot be negative")


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """The correlation coefficients: the covariance matrix divided by the product of the
    standard deviations (clipped to [-1, 1], as NumPy)."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:  # (one variable)
        return c / c
    if c.ndim != 2:
        raise ValueError("corrcoef: the covariance is not a matrix")
    d = ops.getitem(c, (np.arange(c.shape[0]), np.arange(c.shape[0])))
    deviations = R.sqrt(R.real_part(d) if d.dtype.kind == "c" else d)
    c = c / ops.reshape(deviations, (-1, 1))
    c = c / ops.reshape(deviations, (1, -1))
    if c.dtype.kind == "c":
        return _clipped(R.real_part(c)) + 1j * _clipped(R.imag_part(c))
    return _clipped(c)


def _clipped(c):
    """``c`` clipped to [-1, 1] as NumPy clips it, which only undoes rounding (a correlation
    lies in [-1, 1]): the value is moved, the derivative is the correlation's own (0 at an
    extreme), so that it does not jump where rounding crosses 1."""
    if tracing.active[0] is not None:
        # compile: no value may be read, so the shift is made by operations, on every entry
        # (where none lies beyond, the same values and gradient as c itself)
        values = c.detach() if isinstance(c, TensorBase) else c
        beyond = ops.abs(values) > 1
        return R.where(beyond, c + (ops.clamp(values, -1, 1) - values), c)
    data = data_of(c)
    beyond = np.abs(data) > 1
    if not beyond.any():
        return c
    return R.where(beyond, c + (np.clip(data, -1, 1) - data), c)


# --------------------------------------------------------------------------------------------
# integration


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of the samples ``y`` along ``axis`` by the trapezoidal rule, at the points
    ``x`` (a vector along the axis, or ``y``'s shape) or evenly ``dx`` apart."""
    y = ops.operand(y)
    axis = one_dim("trapezoid", axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = ops.operand(x)
        if x.ndim == 1:
            d = diff(x)
            shape = [1] * y.ndim
            shape[axis] = d.shape[0]
            d = ops.reshape(d, tuple(shape))
        else:
            d = diff(x, axis=axis)
    ahead = ops.getitem(y, (slice(None),) * axis + (slice(1, None),))
    behind = ops.getitem(y, (slice(None),) * axis + (slice(None, -1),))
    return ops.sum(d * (ahead + behind) / 2.0, axis)
