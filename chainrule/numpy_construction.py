"""NumPy's functions that build an array out of pieces, for :mod:`chainrule.numpy` when a
Tensor is among the pieces: ``array`` and ``asarray`` of a Tensor or of nested lists mixing
Tensors, ndarrays and numbers (HIPS autograd's ``np.array([x, y])``), ``concatenate`` and
``stack`` of such lists, ``linspace`` between Tensors, and the index tricks ``r_`` and ``c_``.

The result is made with chainrule's operations (``stack``, ``cat``, casts, arithmetic), so the
gradient reaches every Tensor among the pieces, in both modes and to every order, and the
values are NumPy's to the bit: the dtype is the one NumPy would give the same pieces as plain
arrays (Python numbers weak, as in NumPy 2), and ``linspace`` repeats NumPy's arithmetic.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule import ops
from chainrule.arguments import one_dim
from chainrule.errors import refuse_out
from chainrule.tensor_base import TensorBase


def has_tensor(value) -> bool:
    """Whether ``value`` is a Tensor or a list or tuple with one somewhere inside."""
    if isinstance(value, TensorBase):
        return True
    return isinstance(value, (list, tuple)) and any(has_tensor(v) for v in value)


def _detached(value):
    """``value`` with its Tensors replaced by their arrays."""
    if isinstance(value, TensorBase):
        return value._data
    if isinstance(value, (list, tuple)):
        return [_detached(v) for v in value]
    return value


def _numpys_dtype(name: str, value) -> np.dtype:
    """The dtype of NumPy's array of ``value`` (its Tensors read as arrays)."""
    try:
        return np.asarray(_detached(value)).dtype
    except ValueError:
        raise ValueError(f"{name}: the nested sequence does not make a grid: the entries of a "
                         f"list must all have one shape, but its first level has the shapes "
                         f"{[np.shape(_detached(v)) for v in value]}") from None


def _built(value, dtype):
    """``value`` (a Tensor, a number, an ndarray, or nested lists of them) as one array of
    ``dtype``, stacked with chainrule's operations where Tensors are inside."""
    if isinstance(value, TensorBase):
        return ops.to(value, dtype)
    if isinstance(value, (list, tuple)) and has_tensor(value):
        return ops.stack([_built(v, dtype) for v in value])
    return np.asarray(value, dtype)


def _at_least(x, ndmin: int):
    """``x`` with ones put in front of its shape to make ``ndmin`` dimensions."""
    missing = ndmin - np.ndim(ops.data_of(x))
    return ops.reshape(x, (1,) * missing + tuple(np.shape(ops.data_of(x)))) if missing > 0 else x


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0,  # noqa: A002
          like=None):
    """NumPy's ``array`` of a Tensor or of nested lists mixing Tensors, ndarrays and numbers,
    differentiable with respect to each Tensor (a copy unless ``copy=False``).

    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    >>> cnp.array([[x, 1.0], [x * x, 0.0]])
    tensor([[2., 1.],
            [4., 0.]], dtype=chainrule.float64, grad_fn=<CatBackward0>)
    """
    if like is not None:
        raise TypeError("array: like= is not supported when a Tensor is among the values")
    if order not in ("K", "A", "C", None):
        raise NotImplementedError(f"array: order={order!r} is not supported on Tensors; "
                                  "chainrule's arrays are laid out row by row (order='C')")
    target = np.dtype(dtype) if dtype is not None else _numpys_dtype("array", object)
    built = _built(object, target)
    if copy and built is object:
        built = ops.clone(built)
    return _at_least(built, ndmin)


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """NumPy's ``asarray``: a Tensor as it is (cast to ``dtype`` if given), nested lists
    mixing Tensors as :func:`array` makes them."""
    if device not in (None, "cpu"):
        raise ValueError(f"asarray: device {device!r} is not available; chainrule runs on the "
                         "CPU (device='cpu')")
    return array(a, dtype, copy=bool(copy), order=order, like=like)


def _pieces(name: str, arrays, out, dtype, casting):
    """The arrays of ``concatenate`` or ``stack``, each an operand, cast to ``dtype``."""
    refuse_out(name, out)
    if isinstance(arrays, TensorBase):
        raise TypeError(f"{name}: pass the arrays in a list or tuple, not one Tensor "
                        f"(iterating it would give its rows)")
    pieces = [ops.operand(a) for a in arrays]
    if dtype is not None:
        for piece in pieces:
            if not np.can_cast(piece.dtype, dtype, casting):
                raise TypeError(f"{name}: Cannot cast array data from {piece.dtype!r} to "
                                f"{np.dtype(dtype)!r} according to the rule {casting!r}")
        pieces = [ops.to(piece, dtype) for piece in pieces]
    return pieces


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """The arrays (Tensors, ndarrays, lists) joined along ``axis`` (flattened when ``axis``
    is None), promoted to one dtype as NumPy does."""
    pieces = _pieces("concatenate", arrays, out, dtype, casting)
    if axis is None:
        pieces, axis = [ops.reshape(p, -1) for p in pieces], 0
    return ops.cat(pieces, axis)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """The arrays (all of one shape) joined along a new ``axis``."""
    return ops.stack(_pieces("stack", arrays, out, dtype, casting), axis)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` (inclusive if ``endpoint``),
    differentiable in both; arrays of bounds give one sequence per entry, along ``axis``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> cnp.linspace(cr.tensor(0.0, dtype=cr.float64), 1.0, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000], dtype=chainrule.float64)
    """
    if device not in (None, "cpu"):
        raise ValueError(f"linspace: device {device!r} is not available; chainrule runs on the "
                         "CPU (device='cpu')")
    try:
        num = operator.index(num)
    except TypeError:
        raise TypeError(f"linspace: num must be an integer, but got {num!r} of type "
                        f"{type(num).__name__}") from None
    if num < 0:
        raise ValueError(f"linspace: Number of samples, {num}, must be non-negative.")
    div = num - 1 if endpoint else num
    # NumPy's dtype: of the bounds (Python numbers weak), at least a float
    bounds = [v if type(v) in (int, float, complex) else ops.operand(v) for v in (start, stop)]
    dt = np.result_type(*[ops.data_of(v) for v in bounds])
    if not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    start, stop = (ops.to(v, dt) for v in bounds)
    delta = stop - start
    steps = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * np.ndim(ops.data_of(delta)))
    # y = start + i * (stop - start) / div, in NumPy's order of operations
    step = np.nan
    if div > 0:
        step = delta / div
        if np.any(ops.data_of(step) == 0):  # (a step that underflows: divide first)
            y = steps / div * delta
        else:
            y = steps * step
    else:
        y = steps * delta
    y = y + start
    if endpoint and num > 1:  # the last value is stop itself
        last = ops.broadcast_to(stop, np.shape(ops.data_of(y))[1:])
        y = ops.cat([ops.getitem(y, slice(0, num - 1)), ops.unsqueeze(last, 0)], 0)
    if axis != 0:
        y = ops.permute(y, _moved_first(np.ndim(ops.data_of(y)), axis))
    if dtype is not None and np.issubdtype(dtype, np.integer):
        y = ops.floor(y)
    y = ops.to(y, dt if dtype is None else dtype)
    return (y, step) if retstep else y


def _moved_first(ndim: int, axis: int) -> list[int]:
    """The order of axes that moves the first of ``ndim`` axes to ``axis``."""
    axis = one_dim("linspace", axis, ndim)
    order = list(range(1, ndim))
    order.insert(axis, 0)
    return order


class AxisConcatenator:
    """NumPy's index tricks ``r_`` and ``c_`` (``r_[x, 0.0, 1:3, y]``) for pieces among which
    there is a Tensor: slices become ranges (``start:stop:n*1j`` a :func:`linspace`, which
    the bounds can be Tensors of), numbers and arrays are joined along ``axis`` after being
    given ``ndmin`` dimensions (a vector put along ``trans1d``), as NumPy's
    ``AxisConcatenator``; a first string ``'axis,ndmin,trans1d'`` sets those three.  Without a
    Tensor, ``numpy_object`` (NumPy's ``r_`` or ``c_``) answers; ``rename`` turns an error
    into one that names ``chainrule.numpy.<name>``."""

    __slots__ = ("name", "numpy_object", "axis", "ndmin", "trans1d", "rename")

    def __init__(self, name: str, numpy_object, rename, axis: int = 0, ndmin: int = 1,
                 trans1d: int = -1):
        self.name, self.numpy_object, self.rename = name, numpy_object, rename
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if not has_tensor(key) and not any(isinstance(k, slice) and has_tensor(
                [k.start, k.stop, k.step]) for k in key):
            return self.numpy_object[key]
        try:
            return self._joined(key)
        except (ValueError, TypeError, IndexError, RuntimeError) as err:
            raise self.rename(err, self.name).with_traceback(err.__traceback__) from None

    def __len__(self) -> int:
        return 0

    def _joined(self, key):
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        pieces, kinds = [], []  # kinds: a dtype, or the number itself (weak in the promotion)
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError(f"{self.name}: special directives must be the first entry.")
                axis, ndmin, trans1d = _directive(self.name, item, axis, ndmin, trans1d)
                continue
            if isinstance(item, slice):
                piece = _range(item)
                if ndmin > 1:
                    piece = _at_least(piece, ndmin)
                    if trans1d != -1:
                        piece = ops.transpose(piece, -1, trans1d)
            elif type(item) in np.ScalarType:
                pieces.append(item)
                kinds.append(item)
                continue
            else:
                item_ndim = np.ndim(ops.data_of(ops.operand(item)))
                piece = _at_least(array(item, copy=False), ndmin)
                if trans1d != -1 and item_ndim < ndmin:
                    # NumPy's placing of the item's axes among the ndmin ones
                    k2, k1 = ndmin - item_ndim, trans1d
                    if k1 < 0:
                        k1 += k2 + 1
                    axes = list(range(ndmin))
                    piece = ops.permute(piece, axes[:k1] + axes[k2:] + axes[k1:k2])
            pieces.append(piece)
            kinds.append(np.result_type(ops.data_of(piece)))
        dtype = np.result_type(*kinds)
        joined = [_at_least(array(p, dtype, copy=False), ndmin) for p in pieces]
        return ops.cat(joined, axis)


def _range(item: slice):
    """The values a slice stands for in ``r_``: ``arange``, or ``linspace`` for a complex
    step (the number of values)."""
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return linspace(start, item.stop, num=int(abs(step)))
    if has_tensor([start, item.stop, step]):
        raise TypeError("a range start:stop:step has no gradient with respect to its bounds; "
                        "use start:stop:n*1j (a linspace) or pass .detach()ed bounds")
    return np.arange(start, item.stop, step)


def _directive(name: str, item: str, axis: int, ndmin: int, trans1d: int):
    """``axis``, ``ndmin`` and ``trans1d`` as a string directive sets them."""
    if item in ("r", "c"):
        raise NotImplementedError(f"{name}: the directive {item!r} makes a numpy.matrix, which "
                                  "Tensors do not support; join the arrays without it")
    try:
        if "," in item:
            values = [int(v) for v in item.split(",")]
            axis, ndmin = values[:2]
            if len(values) == 3:
                trans1d = values[2]
        else:
            axis = int(item)
    except ValueError:
        raise ValueError(f"{name}: unknown special directive {item!r}; use 'axis', "
                         "'axis,ndmin' or 'axis,ndmin,trans1d'") from None
    return axis, ndmin, trans1d
