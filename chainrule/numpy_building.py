"""NumPy's functions that copy, convert, grow or cut arrays, for :mod:`chainrule.numpy` when a
Tensor is among the arguments (NumPy's own functions answer plain arrays): the conversions
``copy``, ``require``, ``asanyarray``, ``ascontiguousarray``, ``asfortranarray`` and
``asarray_chkfinite``; the sequences ``logspace``, ``geomspace`` and ``vander``; the grids
``meshgrid`` and ``broadcast_arrays``; and ``block``, ``unstack``, ``trim_zeros`` and
``resize``.

Each is written with chainrule's operations (casts, ``pow``, ``cumprod``, ``cat``, indexing,
``broadcast_to``), repeating NumPy's arithmetic in NumPy's order, so values are NumPy's bit
for bit and the derivatives of every order come from the primitives' rules.  Where NumPy
decides something from the values (``trim_zeros``'s zeros, ``geomspace``'s signs), the
decision is NumPy's, taken on the Tensors' values, and is piecewise constant: no gradient
flows through it.

chainrule's Tensors are laid out row by row: ``asfortranarray`` and ``require(a, ['F'])``
give a Tensor of the same values (their layout is not observable through chainrule).  An error
names the function without the namespace (``vander: ...``): :mod:`chainrule.numpy` puts
``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule import numpy_arrays as arrays
from chainrule import numpy_construction as construction
from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import data_of, like, one_dim, shape_of
from chainrule.tensor_base import TensorBase

# NumPy 2 returns the arrays of broadcast_arrays and meshgrid in a tuple, NumPy 1 in a list
_NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
_SEQUENCE = tuple if _NUMPY2 else list


def _values(nested):
    """``nested`` (a Tensor, or lists and tuples of them) with its Tensors' values."""
    if isinstance(nested, TensorBase):
        return nested._data
    if isinstance(nested, (list, tuple)):
        return type(nested)(_values(v) for v in nested)
    return nested


def _with_ndim(x, ndim: int):
    """``x`` with ones put in front of its shape to make ``ndim`` dimensions."""
    missing = ndim - x.ndim
    return ops.reshape(x, (1,) * missing + tuple(x.shape)) if missing > 0 else x


def _moved_from_first(name: str, x, axis: int):
    """``x`` with its first axis moved to ``axis``."""
    order = list(range(1, x.ndim))
    order.insert(one_dim(name, axis, x.ndim), 0)
    return ops.permute(x, order)


# --------------------------------------------------------------------------------------------
# conversions


def copy(a, order="K", subok=False):
    """A copy of ``a`` (a Tensor, or lists holding Tensors), differentiable."""
    return construction.array(a, copy=True, order=order)


def asanyarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``a`` as a Tensor (as :func:`chainrule.numpy.asarray`)."""
    return construction.asarray(a, dtype, order, device=device, copy=copy, like=like)


def ascontiguousarray(a, dtype=None, *, like=None):
    """``a`` as a Tensor of at least one dimension (in ``dtype`` if given)."""
    return arrays.atleast_1d(construction.asarray(a, dtype, like=like))


def asfortranarray(a, dtype=None, *, like=None):
    """``a`` as a Tensor of at least one dimension (the same values: chainrule's Tensors are
    laid out row by row)."""
    return arrays.atleast_1d(construction.asarray(a, dtype, like=like))


def asarray_chkfinite(a, dtype=None, order=None):
    """``a`` as a Tensor, checked to hold no infinity and no NaN."""
    a = construction.asarray(a, dtype, order)
    values = data_of(a)
    if values.dtype.char in np.typecodes["AllFloat"] and not np.isfinite(values).all():
        raise ValueError("asarray_chkfinite: array must not contain infs or NaNs")
    return a


_FLAGS = {"C": "C", "C_CONTIGUOUS": "C", "CONTIGUOUS": "C", "F": "F", "F_CONTIGUOUS": "F",
          "FORTRAN": "F", "A": "A", "ALIGNED": "A", "W": "W", "WRITEABLE": "W", "O": "O",
          "OWNDATA": "O", "E": "E", "ENSUREARRAY": "E"}


def require(a, dtype=None, requirements=None, *, like=None):
    """``a`` as a Tensor of ``dtype``, meeting ``requirements`` (``'C'``, ``'F'``, ``'A'``,
    ``'W'``, ``'O'``, ``'E'`` or their long names): a copy for ``'O'`` (owning its data), the
    Tensor itself otherwise."""
    letters = set()
    for flag in requirements or ():
        if flag.upper() not in _FLAGS:
            raise ValueError(f"require: unknown requirement {flag!r}; the requirements are "
                             f"{', '.join(repr(f) for f in _FLAGS)}")
        letters.add(_FLAGS[flag.upper()])
    if letters >= {"C", "F"}:
        raise ValueError('require: Cannot specify both "C" and "F" order')
    result = construction.asarray(a, dtype, like=like)
    return ops.clone(result) if "O" in letters and result is a else result


# --------------------------------------------------------------------------------------------
# sequences


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``, differentiable in ``start``, ``stop`` and
    ``base``.

    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> cnp.logspace(cr.tensor(0.0, dtype=cr.float64), 2.0, 3)
    tensor([  1.,  10., 100.], dtype=chainrule.float64)
    """
    if not isinstance(base, (float, int)) and np.ndim(data_of(base)):
        # an array of bases is broadcast with the bounds, and laid along the new axis
        ndim = np.broadcast(*[data_of(v) for v in (start, stop, base)]).ndim
        start, stop, base = (_with_ndim(ops.operand(v), ndim) for v in (start, stop, base))
        base = ops.unsqueeze(base, axis)
    y = construction.linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    result = ops.pow(base, y)
    return result if dtype is None else ops.to(result, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values from ``start`` to ``stop`` in geometric progression (both ends exact),
    differentiable in both."""
    start, stop = ops.operand(start), ops.operand(stop)
    if np.any(data_of(start) == 0) or np.any(data_of(stop) == 0):
        raise ValueError("geomspace: Geometric sequence cannot include zero")
    dt = np.result_type(data_of(start), data_of(stop), float(num), np.zeros((), dtype))
    dtype = dt if dtype is None else np.dtype(dtype)
    start, stop = ops.to(start, dt), ops.to(stop, dt)
    # NumPy's rotation of the bounds, undone at the end: the result does not depend on it
    # (start^(1 - t) stop^t), so it is held constant
    if _NUMPY2 or dt.kind != "c":  # start onto the positive reals: divided by its sign, z / |z|
        out_sign = np.sign(data_of(start))
        start, stop = start / out_sign, stop / out_sign
    else:
        start, stop, out_sign = _rotated_as_numpy1(start, stop, dt)
    result = logspace(R.log10(start), R.log10(stop), num=num, endpoint=endpoint, base=10.0,
                      dtype=dt)
    if num > 0:  # the ends are start and stop themselves
        ends = tuple(result.shape[1:])
        pieces = [ops.unsqueeze(ops.broadcast_to(start, ends), 0)]
        if num > 1 and endpoint:
            pieces += [ops.getitem(result, slice(1, num - 1)),
                       ops.unsqueeze(ops.broadcast_to(stop, ends), 0)]
        else:
            pieces.append(ops.getitem(result, slice(1, None)))
        result = ops.cat(pieces, 0)
    result = result * out_sign
    if axis != 0:
        result = _moved_from_first("geomspace", result, axis)
    return ops.to(result, dtype)


def _rotated_as_numpy1(start, stop, dt):
    """NumPy 1's rotation of complex bounds (for real ones it gives NumPy 2's values): bounds
    both on the imaginary axis are taken to the real one (turned back by 1j), bounds both of
    sign -1 (NumPy 1's sign of z: that of its real part, or of its imaginary part on the
    imaginary axis) negated."""
    out_sign = np.ones(np.broadcast_shapes(start.shape, stop.shape), dt)
    all_imag = (data_of(start).real == 0) & (data_of(stop).real == 0)
    start = R.where(all_imag, ops.to(R.imag_part(start), dt), start)
    stop = R.where(all_imag, ops.to(R.imag_part(stop), dt), stop)
    out_sign[all_imag] = 1j
    negative = (np.sign(data_of(start)) == -1) & (np.sign(data_of(stop)) == -1)
    out_sign[negative] *= -1
    return R.where(negative, -start, start), R.where(negative, -stop, stop), out_sign


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a vector ``x``: columns ``x**(N-1), ..., x, 1`` (or
    increasing powers), each power the product of the one before and ``x``, as NumPy."""
    x = ops.operand(x)
    if x.ndim != 1:
        raise ValueError("vander: x must be a one-dimensional array or sequence.")
    n = x.shape[0]
    N = n if N is None else operator.index(N)
    if N < 0:
        raise ValueError("vander: negative dimensions are not allowed")
    dtype = np.promote_types(x.dtype, int)
    column = ops.reshape(ops.to(x, dtype), (n, 1))
    if N == 0:
        return ops.getitem(column, (slice(None), slice(0, 0)))
    columns = [np.ones((n, 1), dtype)]
    if N > 1:  # x, x*x, (x*x)*x, ...: NumPy's multiply.accumulate
        columns.append(R.cumprod(ops.broadcast_to(column, (n, N - 1)), axis=1))
    v = ops.cat(columns, 1)
    v = v if isinstance(v, TensorBase) else like((x,), v)  # (N = 1: ones, no gradient)
    return v if increasing else ops.flip(v, 1)


# --------------------------------------------------------------------------------------------
# grids


def broadcast_arrays(*args, subok=False):
    """The arrays broadcast to their common shape (the Tensors differentiable, each entry
    summing the gradients of the copies it was spread to)."""
    values = [ops.operand(a) for a in args]
    shape = np.broadcast_shapes(*[shape_of(v) for v in values])
    return _SEQUENCE(v if tuple(v.shape) == shape else ops.broadcast_to(v, shape)
                     for v in values)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from coordinate vectors (``indexing='xy'``: the first two axes
    swapped, as for images), differentiable in each vector."""
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    shapes = [(1,) * i + (-1,) + (1,) * (ndim - i - 1) for i in range(ndim)]
    if indexing == "xy" and ndim > 1:
        shapes[0], shapes[1] = shapes[1], shapes[0]
    output = [ops.reshape(ops.operand(x), shape) for x, shape in zip(xi, shapes)]
    if not sparse:
        output = broadcast_arrays(*output)
    if copy:
        output = _SEQUENCE(ops.clone(x) for x in output)
    return output


# --------------------------------------------------------------------------------------------
# blocks and pieces


def _depth(nested) -> int:
    """How deep the lists of ``block``'s argument go (NumPy has checked they are even)."""
    return 1 + _depth(nested[0]) if isinstance(nested, list) else 0


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists joined along the
    last axis, the lists of those along the one before, and so on.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> a = cr.tensor([[1.0, 2.0]], dtype=cr.float64, requires_grad=True)
    >>> cnp.block([[a, np.zeros((1, 1))], [np.ones((1, 3))]])
    tensor([[1., 2., 0.],
            [1., 1., 1.]], dtype=chainrule.float64, grad_fn=<CatBackward0>)
    """
    plain = np.block(_values(arrays))  # NumPy's checks of the nesting and the shapes; its dtype
    depth = _depth(arrays)

    def joined(value, level: int):
        if isinstance(value, list):
            return ops.cat([joined(v, level + 1) for v in value], level - depth)
        return _with_ndim(ops.to(ops.operand(value), plain.dtype), plain.ndim)

    result = joined(arrays, 0)
    return ops.clone(result) if depth == 0 else result


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, in a tuple."""
    x = ops.operand(x)
    if x.ndim == 0:
        raise ValueError("unstack: Input array must be at least 1-d.")
    axis = one_dim("unstack", axis, x.ndim)
    before = (slice(None),) * axis
    return tuple(ops.getitem(x, before + (i,)) for i in range(x.shape[axis]))


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``'f'``) and trailing (``'b'``) zeros, along ``axis``
    (every axis by default): a slice, through which the gradient flows."""
    filt = ops.operand(filt)
    values = data_of(filt)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"trim_zeros: unexpected character(s) in `trim`: {trim!r}")
    if axis is None:
        axes = tuple(range(values.ndim))
    else:
        axes = tuple(one_dim("trim_zeros", a, values.ndim)
                     for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if not axes:
        return filt
    nonzero = np.argwhere(values)
    if nonzero.size == 0:  # all zeros: empty along the trimmed axes
        start = stop = [0] * values.ndim
    else:
        start = nonzero.min(axis=0) if "f" in trim else [None] * values.ndim
        stop = nonzero.max(axis=0) + 1 if "b" in trim else [None] * values.ndim
    index = tuple(slice(start[d], stop[d]) if d in axes else slice(None)
                  for d in range(values.ndim))
    return ops.getitem(filt, index[0] if len(index) == 1 else index)


def resize(a, new_shape):
    """An array of ``new_shape`` filled with the entries of ``a`` (flattened), repeated as
    often as needed (NumPy's, not ``ndarray.resize``'s zeros)."""
    a = ops.operand(a)
    if isinstance(new_shape, (int, np.integer)):
        new_shape = (new_shape,)
    new_size = 1
    for length in new_shape:
        new_size *= length
        if length < 0:
            raise ValueError("resize: all elements of `new_shape` must be non-negative")
    flat = ops.reshape(a, -1)
    if flat.shape[0] == 0 or new_size == 0:  # nothing to repeat: zeros
        return like((a,), np.zeros(new_shape, a.dtype))
    return ops.reshape(ops.getitem(flat, np.arange(new_size) % flat.shape[0]), tuple(new_shape))
