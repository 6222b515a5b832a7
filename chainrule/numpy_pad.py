"""NumPy's ``pad`` for :mod:`chainrule.numpy` when a Tensor is among the arguments, and the
gathers behind PyTorch's ``nn.functional.pad``.

Every mode NumPy names is differentiable, made with chainrule's operations as NumPy makes
it, axis by axis (so corners come from the padding of earlier axes), and its values are
NumPy's to the bit:

* ``edge``, ``wrap``, and ``reflect`` and ``symmetric`` of the ``'even'`` kind only copy
  entries: the index of each entry of the result along an axis is ``np.pad`` of
  ``arange(n)`` in the same mode, and the whole result is one gather (one ``getitem``);
* ``constant`` (``constant_values`` may be Tensors) and ``empty`` (which NumPy leaves
  undefined: here zeros) join blocks of the values to each side (``cat``);
* ``reflect_type='odd'`` (``2 * edge - reflection``), repeated as NumPy repeats it when the
  padding is longer than the array;
* ``linear_ramp`` (ramps from ``end_values``, which may be Tensors, to the edges, by the
  differentiable ``linspace``);
* ``maximum``, ``minimum``, ``mean`` and ``median`` of the first (last) ``stat_length``
  entries (the median by sorting, so that its gradient reaches the middle entries).

An array of integers carries no gradient: it is NumPy's ``pad`` of the values, whose
rounding rules for integer means and ramps it keeps.  A function as ``mode`` (which NumPy
calls to write into the array in place) is refused.
"""

from __future__ import annotations

import numpy as np

from chainrule import ops, selection
from chainrule import rules as R
from chainrule.arguments import like
from chainrule.numpy_arrays import _along
from chainrule.numpy_construction import has_tensor, linspace
from chainrule.tensor_base import TensorBase

# the keyword arguments each mode takes (NumPy's table)
MODES = {
    "empty": (), "edge": (), "wrap": (),
    "constant": ("constant_values",), "linear_ramp": ("end_values",),
    "maximum": ("stat_length",), "mean": ("stat_length",), "median": ("stat_length",),
    "minimum": ("stat_length",), "reflect": ("reflect_type",), "symmetric": ("reflect_type",),
}
# the modes that only copy entries of the array: one gather of np.pad's indices
GATHERED = {"edge": "edge", "wrap": "wrap", "reflect": "reflect", "symmetric": "symmetric"}


def _detached(value):
    if isinstance(value, (list, tuple)):
        return [_detached(v) for v in value]
    return ops.data_of(value)


def widths(pad_width, ndim: int) -> list[tuple[int, int]]:
    """``pad_width`` (an int, a pair, a pair per axis, or a dict of axis to int or pair) as
    one pair of non-negative ints per axis."""
    if isinstance(pad_width, dict):
        pairs = [(0, 0)] * ndim
        for axis, width in pad_width.items():
            if isinstance(width, (int, np.integer)):
                pairs[axis] = (int(width), int(width))
            elif isinstance(width, tuple) and len(width) == 2 and all(
                    isinstance(w, (int, np.integer)) for w in width):
                pairs[axis] = (int(width[0]), int(width[1]))
            else:
                raise TypeError(f"pad: pad_width[{axis}] must be an int or a pair of ints, not "
                                f"{width!r}")
        pad_width = pairs
    pad_width = np.asarray(_detached(pad_width))
    if pad_width.dtype.kind != "i":
        raise TypeError(f"pad: `pad_width` must be of integral type (got {pad_width.dtype})")
    return [(int(a), int(b)) for a, b in _as_pairs(pad_width, ndim, as_index=True)]


def _as_pairs(x, ndim: int, as_index: bool = False, dtype=None):
    """NumPy's reading of a pad argument as one (before, after) pair per axis: one value for
    all, one pair for all, or a pair per axis.  Tensors among the values stay Tensors;
    where NumPy hands out Python numbers (the general case), they are cast to ``dtype``,
    the array's, as NumPy's weak Python numbers would be."""
    if x is None:
        return ((None, None),) * ndim
    if has_tensor(x):
        x = ops.operand(x)
        flat = ops.reshape(x, -1)
        if x.ndim < 3 and np.size(ops.data_of(x)) == 1:
            return ((ops.getitem(flat, 0),) * 2,) * ndim
        if x.ndim < 3 and np.size(ops.data_of(x)) == 2 and tuple(x.shape) != (2, 1):
            return ((ops.getitem(flat, 0), ops.getitem(flat, 1)),) * ndim
        grid = ops.to(ops.broadcast_to(x, (ndim, 2)), dtype)
        return [(ops.getitem(grid, (i, 0)), ops.getitem(grid, (i, 1))) for i in range(ndim)]
    x = np.array(x)
    if as_index:
        x = np.round(x).astype(np.intp, copy=False)
    if x.ndim < 3 and (x.size == 1 or x.size == 2 and x.shape != (2, 1)):
        x = x.ravel()  # (one value for all, or one pair for all)
        if as_index and x.min() < 0:
            raise ValueError(f"pad: index can't contain negative values (got {x.tolist()})")
        return ((x[0], x[-1]),) * ndim
    if as_index and x.size and x.min() < 0:
        raise ValueError(f"pad: index can't contain negative values (got {x.tolist()})")
    try:
        return np.broadcast_to(x, (ndim, 2)).tolist()
    except ValueError:
        raise ValueError(f"pad: a pad argument of shape {x.shape} does not give a pair for each "
                         f"of {ndim} axes; give one value, one pair, or {ndim} pairs") from None


def pad(array, pad_width, mode="constant", **kwargs):
    """NumPy's ``pad`` of a Tensor (or with Tensors as ``constant_values`` or
    ``end_values``), differentiable (see the module's docstring for each mode)."""
    x = ops.operand(array)
    pairs = widths(pad_width, x.ndim)
    if callable(mode):
        raise TypeError("pad: a function as mode is not supported on Tensors (NumPy calls it to "
                        "write into the array in place); use one of the named modes")
    if mode not in MODES:
        raise ValueError(f"pad: mode '{mode}' is not supported; use one of {sorted(MODES)}")
    unsupported = set(kwargs) - set(MODES[mode])
    if unsupported:
        raise ValueError(f"pad: unsupported keyword arguments for mode '{mode}': {unsupported}")
    if not np.issubdtype(x.dtype, np.inexact):  # (no gradient: NumPy's rounding)
        values = np.pad(np.asarray(ops.data_of(x)), pairs, mode,
                        **{k: _detached(v) for k, v in kwargs.items()})
        return like((x,) + tuple(kwargs.values()), values)
    if mode in ("constant", "empty"):
        values = _as_pairs(kwargs.get("constant_values", 0), x.ndim, dtype=x.dtype)
        return _constant(x, pairs, values)
    if x.size == 0:
        for axis, pair in enumerate(pairs):
            if x.shape[axis] == 0 and any(pair):
                raise ValueError(f"pad: can't extend empty axis {axis} using modes other than "
                                 "'constant' or 'empty'")
        return _constant(x, pairs, ((0, 0),) * x.ndim)
    if mode in GATHERED and kwargs.get("reflect_type", "even") != "odd":
        return gather(x, [np.pad(np.arange(n), pair, mode) for n, pair in zip(x.shape, pairs)])
    for axis, pair in enumerate(pairs):
        if mode == "linear_ramp":
            ends = _as_pairs(kwargs.get("end_values", 0), x.ndim, dtype=x.dtype)
            x = _ramps(x, axis, pair, ends[axis])
        elif mode in ("reflect", "symmetric"):
            x = _odd_reflection(x, axis, pair, mode == "symmetric")
        else:
            lengths = _as_pairs(kwargs.get("stat_length"), x.ndim, as_index=True)
            x = _statistic(x, axis, pair, lengths[axis], mode)
    return x


def gather(x, indices):
    """``x`` at the given indices along each axis (an outer product of the index vectors)."""
    return ops.getitem(x, np.ix_(*indices))


def _beside(x, axis: int, before, after):
    """``before``, ``x``, ``after`` joined along ``axis`` (None: nothing on that side)."""
    pieces = [p for p in (before, x, after) if p is not None]
    return pieces[0] if len(pieces) == 1 else ops.cat(pieces, axis)


def _block(value, x, axis: int, width: int):
    """``value`` (a number or 0-d Tensor) in ``x``'s dtype, as a block of ``width`` along
    ``axis`` and ``x``'s shape along the others (None for width 0)."""
    if width == 0:
        return None
    shape = list(x.shape)
    shape[axis] = width
    if isinstance(value, TensorBase):
        return ops.broadcast_to(ops.to(value, x.dtype), tuple(shape))
    # a number: a NumPy block, cast as ``ops.to`` casts it (a complex number to a real dtype
    # gives its real part), so that a trace of ``compile`` sees no primitive run on raw values
    return np.full(tuple(shape), R.cast.impl(value, x.dtype, None))


def _constant(x, pairs, values):
    """``x`` padded with the values given per axis and side (later axes cover the corners)."""
    for axis, ((before, after), (low, high)) in enumerate(zip(pairs, values)):
        x = _beside(x, axis, _block(low, x, axis, before), _block(high, x, axis, after))
    return x


def _part(x, axis: int, start, stop):
    return ops.getitem(x, _along(axis, x.ndim, slice(start, stop)))


def _odd_reflection(x, axis: int, pair, include_edge: bool):
    """``x`` padded along ``axis`` by odd reflection (``2 * edge - reflected``): NumPy's
    rounds, each reflecting what is already there, until the padding is filled."""
    left, right = pair
    period = x.shape[axis]
    if period == 1 and (left or right):  # (NumPy's legacy: a single entry is repeated)
        return gather(x, [np.pad(np.arange(n), pair if d == axis else (0, 0), "edge")
                          for d, n in enumerate(x.shape)])
    while left > 0 or right > 0:
        length = x.shape[axis]
        if include_edge:  # symmetric: the edge is reflected too
            usable, offset = length // period * period, 1
        else:  # reflect: about the edge, which is not repeated
            usable, offset = (length - 1) // (period - 1) * (period - 1), 0
        before = after = None
        if left > 0:
            chunk = min(usable, left)
            mirrored = ops.getitem(x, _along(axis, x.ndim,
                                             np.arange(chunk - offset, -offset, -1)))
            before = 2 * _part(x, axis, 0, 1) - mirrored
            left -= chunk
        if right > 0:
            chunk = min(usable, right)
            start = length + offset - 2
            mirrored = ops.getitem(x, _along(axis, x.ndim,
                                             np.arange(start, start - chunk, -1)))
            after = 2 * _part(x, axis, length - 1, length) - mirrored
            right -= chunk
        x = _beside(x, axis, before, after)
    return x


def _ramps(x, axis: int, pair, ends):
    """``x`` padded along ``axis`` by linear ramps from the end values to its edges."""
    n = x.shape[axis]
    before = after = None
    if pair[0]:
        before = linspace(ends[0], ops.squeeze(_part(x, axis, 0, 1), axis), num=pair[0],
                          endpoint=False, dtype=x.dtype, axis=axis)
    if pair[1]:
        after = ops.flip(linspace(ends[1], ops.squeeze(_part(x, axis, n - 1, n), axis),
                                  num=pair[1], endpoint=False, dtype=x.dtype, axis=axis), axis)
    return _beside(x, axis, before, after)


def _statistic(x, axis: int, pair, lengths, mode: str):
    """``x`` padded along ``axis`` with a statistic of its first and last ``lengths``
    entries (all of them by default)."""
    n = x.shape[axis]
    first, last = (n if k is None or n < k else int(k) for k in lengths)
    if (first == 0 or last == 0) and mode in ("maximum", "minimum"):
        raise ValueError("pad: stat_length of 0 yields no value for padding")
    if not any(pair):
        return x
    low = _reduced(_part(x, axis, 0, first), axis, mode)
    high = low if first == last == n else _reduced(_part(x, axis, n - last, n), axis, mode)
    return _beside(x, axis, _block(low, x, axis, pair[0]), _block(high, x, axis, pair[1]))


def _reduced(chunk, axis: int, mode: str):
    """The statistic of ``chunk`` along ``axis``, kept as an axis of length 1."""
    if mode == "maximum":
        return ops.amax(chunk, axis, keepdim=True)
    if mode == "minimum":
        return ops.amin(chunk, axis, keepdim=True)
    if mode == "mean":
        return ops.mean(chunk, axis, keepdim=True)
    # the median: the middle of the sorted entries, or the mean of the middle two (NumPy's
    # value, NaN if there is a NaN, which sorts last)
    n = chunk.shape[axis]
    ordered = selection.sort(chunk, axis).values
    middle = _part(ordered, axis, (n - 1) // 2, n // 2 + 1)
    median = ops.mean(middle, axis, keepdim=True)
    last = ops.data_of(_part(ordered, axis, n - 1, n)) if n else None
    if n and np.isnan(last).any():
        median = ops.where(np.isnan(last), np.nan, median)
    return median
