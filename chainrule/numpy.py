"""``chainrule.numpy``: NumPy's functions, differentiable (``import chainrule.numpy as cnp``).

Same names, signatures (``axis``, ``keepdims``, ``ddof`` ...) and dtype rules as NumPy.  Given
Tensors (as the transforms of :mod:`chainrule.func` pass them), they record; given only arrays
and numbers, they are NumPy itself.  So the same code runs plain and differentiated:

>>> import numpy as np
>>> import chainrule.numpy as cnp
>>> from chainrule.func import grad
>>> def f(x):
...     return cnp.sum(cnp.tanh(x) ** 2, axis=0)
>>> float(f(np.array([0.5, 1.0])))                       # plain NumPy
0.79357...
>>> grad(f)(np.array([0.5, 1.0]))                        # its gradient
array([0.7268..., 0.6397...])

Tensors also speak NumPy's protocols: ``np.sin(t)`` or ``np.sum(t, axis=0)`` on a Tensor calls
the function of this module; a NumPy function with no rule here raises TypeError rather than
silently dropping the gradient.

Each public callable of NumPy is differentiable here, passes through (NumPy's plain result:
``argmax``, ``isfinite``, ``shape``), is refused with what to do instead (``vectorize``) or is
missing: ``chainrule/numpy_catalogue.py`` declares the second and third, :func:`coverage`
classifies them all, and ``docs/numpy.md`` shows the table with measured derivatives.
"""

from __future__ import annotations

import builtins
import inspect
import string

import numpy as _np

from chainrule import linalg_ops as _linalg
from chainrule import norms as _norms
from chainrule import numpy_arrays as _arrays
from chainrule import numpy_building as _building
from chainrule import numpy_catalogue as _catalogue
from chainrule import numpy_construction as _construction
from chainrule import numpy_elementwise as _elementwise
from chainrule import numpy_fft as _fft
from chainrule import numpy_indexing as _indexing
from chainrule import numpy_linalg as _numpy_linalg
from chainrule import numpy_pad as _pad
from chainrule import numpy_polynomials as _polynomials
from chainrule import numpy_sampled as _sampled
from chainrule import numpy_statistics as _statistics
from chainrule import ops as _ops
from chainrule import rules as _R
from chainrule import tracing as _tracing
from chainrule.arguments import has_tensor as _has_tensor
from chainrule.arguments import shape_of as _shape_of
from chainrule.errors import LinAlgError as _LinAlgError
from chainrule.errors import refuse_out, renamed
from chainrule.rules.reductions import finite_or_0 as _finite_or_0
from chainrule.rules.reductions import logsumexp_values as _logsumexp_values
from chainrule.tensor_base import TensorBase as _TensorBase

# constants, as in NumPy (dtypes and creation from sizes pass through: see below)
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, _np.newaxis

# creation: plain NumPy arrays (what you differentiate with respect to is up to the transform)


def _numpy_or(numpy_func, tensor_func, doc: str = "", name: str = ""):
    """NumPy's own function for NumPy arguments, chainrule's when a Tensor is among them;
    ``name`` is its name in this module (NumPy's function's, by default)."""
    in_linalg = getattr(numpy_func, "__module__", None) == "numpy.linalg"  # (ufuncs have none)
    name = name or ("linalg." if in_linalg else "") + numpy_func.__name__

    def dispatch(*args, **kwargs):
        if _has_tensor(args) or _has_tensor(kwargs.values()):
            # (a primitive would pass out= on to NumPy, which would write into it)
            refuse_out(f"chainrule.numpy.{name}", kwargs.get("out"))
            try:
                return tensor_func(*args, **kwargs)
            except (ValueError, TypeError, IndexError, RuntimeError) as err:
                if isinstance(err, TypeError):
                    _check_signature(name, tensor_func, args, kwargs)
                # (the same traceback, which shows where it went wrong, under the new name)
                raise _renamed(err, name).with_traceback(err.__traceback__) from None
        return numpy_func(*args, **kwargs)

    dispatch.__name__ = dispatch.__qualname__ = name.rsplit(".", 1)[-1]
    dispatch.__doc__ = doc or f"Differentiable ``numpy.{numpy_func.__name__}``."
    return dispatch


def _renamed(err: Exception, name: str) -> Exception:
    """``err`` naming what the user called, ``chainrule.numpy.<name>``."""
    return renamed(err, f"chainrule.numpy.{name}")


def _check_signature(name: str, tensor_func, args, kwargs) -> None:
    """Say which arguments chainrule's ``name`` takes, when it was called with others."""
    try:
        signature = inspect.signature(tensor_func)
    except ValueError:  # (a primitive: its arguments are checked by NumPy)
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"chainrule.numpy.{name}: {err} (on Tensors it takes {signature}; "
                        "NumPy's other arguments are not supported)") from None


# --------------------------------------------------------------------------------------------
# elementwise

_UNARY = {
    "negative": _R.neg, "exp": _R.exp, "log": _R.log, "log1p": _R.log1p, "expm1": _R.expm1,
    "sqrt": _R.sqrt, "square": _R.square, "sin": _R.sin, "cos": _R.cos, "tan": _R.tan,
    "tanh": _R.tanh, "abs": _R.abs, "absolute": _R.abs, "sign": _R.sign, "floor": _R.floor,
    "ceil": _R.ceil, "trunc": _R.trunc, "rint": _R.round, "arcsin": _R.asin,
    "arccos": _R.acos, "arctan": _R.atan, "sinh": _R.sinh, "cosh": _R.cosh,
    "arcsinh": _R.asinh, "arccosh": _R.acosh, "arctanh": _R.atanh, "log2": _R.log2,
    "log10": _R.log10, "exp2": _R.exp2, "deg2rad": _R.deg2rad, "rad2deg": _R.rad2deg,
    "radians": _R.deg2rad, "degrees": _R.rad2deg, "sinc": _R.sinc, "fabs": _R.abs,
    "conjugate": _R.conj, "conj": _R.conj,
}
_BINARY = {
    "add": _R.add, "subtract": _R.sub, "multiply": _R.mul, "divide": _R.div,
    "true_divide": _R.div, "power": _R.pow, "maximum": _R.maximum, "minimum": _R.minimum,
    "mod": _R.remainder, "remainder": _R.remainder, "arctan2": _R.atan2, "hypot": _R.hypot,
    "logaddexp2": _R.logaddexp2, "fmax": _R.fmax, "fmin": _R.fmin,
}
for _name, _prim in {**_UNARY, **_BINARY}.items():
    globals()[_name] = _numpy_or(getattr(_np, _name), _prim)


reciprocal = _numpy_or(_np.reciprocal, lambda x: 1.0 / x)
round = around = _numpy_or(_np.round, lambda a, decimals=0: _ops.round(a, decimals=decimals))  # noqa: A001
where = _numpy_or(_np.where, lambda condition, x, y: _R.where(condition, x, y))
clip = _numpy_or(_np.clip, lambda a, a_min=None, a_max=None: _ops.clamp(a, a_min, a_max))
real = _numpy_or(_np.real, lambda val: _R.real_part(val))
imag = _numpy_or(_np.imag, lambda val: _R.imag_part(val))
angle = _numpy_or(_np.angle, lambda z, deg=False: _R.angle(z) * (180 / pi) if deg
                  else _R.angle(z))


def _logaddexp(x, y):
    # log(e^x + e^y) = top + log(e^(x - top) + e^(y - top)) for any constant top: the larger
    # input (0 where both are infinite), so that nothing overflows; log(0) is -inf, quietly
    top = _finite_or_0(_np.maximum(_ops.data_of(x), _ops.data_of(y)))
    with _np.errstate(divide="ignore"):
        return top + _R.log(_R.exp(x - top) + _R.exp(y - top))


logaddexp = _numpy_or(_np.logaddexp, _logaddexp)

# NumPy's other elementwise functions and aliases, and arrays built (written in
# chainrule/numpy_elementwise.py and chainrule/numpy_building.py)

if hasattr(_np, "acos"):  # NumPy 2's names of arccos, ..., power, concatenate, transpose
    acos = _numpy_or(_np.acos, _R.acos, name="acos")
    acosh = _numpy_or(_np.acosh, _R.acosh, name="acosh")
    asin = _numpy_or(_np.asin, _R.asin, name="asin")
    asinh = _numpy_or(_np.asinh, _R.asinh, name="asinh")
    atan = _numpy_or(_np.atan, _R.atan, name="atan")
    atanh = _numpy_or(_np.atanh, _R.atanh, name="atanh")
    atan2 = _numpy_or(_np.atan2, _R.atan2, name="atan2")
    pow = _numpy_or(_np.pow, _R.pow, name="pow")  # noqa: A001
    concat = _numpy_or(_np.concat, _construction.concatenate, name="concat")
    permute_dims = _numpy_or(_np.permute_dims, lambda a, axes=None: _transpose(a, axes),
                             name="permute_dims")
    matrix_transpose = _numpy_or(_np.matrix_transpose, lambda x: _matrix_transpose(x),
                                 name="matrix_transpose")


def _matrix_transpose(x):
    x = _ops.operand(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: Input array must be at least 2-dimensional, but it "
                         f"is {x.ndim}")
    return _ops.transpose(x, -1, -2)


positive = _numpy_or(_np.positive, _elementwise.positive)
fix = _numpy_or(_np.fix, _elementwise.fix)
cbrt = _numpy_or(_np.cbrt, _elementwise.cbrt)
copysign = _numpy_or(_np.copysign, _elementwise.copysign)
fmod = _numpy_or(_np.fmod, _elementwise.fmod)
float_power = _numpy_or(_np.float_power, _elementwise.float_power)
heaviside = _numpy_or(_np.heaviside, _elementwise.heaviside)
ldexp = _numpy_or(_np.ldexp, _elementwise.ldexp)
frexp = _numpy_or(_np.frexp, _elementwise.frexp)
modf = _numpy_or(_np.modf, _elementwise.modf)
divmod = _numpy_or(_np.divmod, _elementwise.divmod)  # noqa: A001
i0 = _numpy_or(_np.i0, _elementwise.i0)
kaiser = _numpy_or(_np.kaiser, _elementwise.kaiser)
sort_complex = _numpy_or(_np.sort_complex, _elementwise.sort_complex)
unwrap = _numpy_or(_np.unwrap, _elementwise.unwrap)
if hasattr(_np, "cumulative_sum"):  # (NumPy 2.1)
    cumulative_sum = _numpy_or(_np.cumulative_sum, _elementwise.cumulative_sum)
    cumulative_prod = _numpy_or(_np.cumulative_prod, _elementwise.cumulative_prod)
    unstack = _numpy_or(_np.unstack, _building.unstack)
copy = _numpy_or(_np.copy, _building.copy)
require = _numpy_or(_np.require, _building.require)
asanyarray = _numpy_or(_np.asanyarray, _building.asanyarray)
ascontiguousarray = _numpy_or(_np.ascontiguousarray, _building.ascontiguousarray)
asfortranarray = _numpy_or(_np.asfortranarray, _building.asfortranarray)
asarray_chkfinite = _numpy_or(_np.asarray_chkfinite, _building.asarray_chkfinite)
logspace = _numpy_or(_np.logspace, _building.logspace)
geomspace = _numpy_or(_np.geomspace, _building.geomspace)
vander = _numpy_or(_np.vander, _building.vander)
meshgrid = _numpy_or(_np.meshgrid, _building.meshgrid)
broadcast_arrays = _numpy_or(_np.broadcast_arrays, _building.broadcast_arrays)
block = _numpy_or(_np.block, _building.block)
trim_zeros = _numpy_or(_np.trim_zeros, _building.trim_zeros)
resize = _numpy_or(_np.resize, _building.resize)

# --------------------------------------------------------------------------------------------
# primitives without a NumPy name, with SciPy's (scipy.special) or JAX's (jax.nn) signatures


def _plain_logsumexp(a, axis=None, keepdims=False):
    return _logsumexp_values(a, axis, keepdims, None)


def _plain_softmax(x, axis=None):
    return _R.softmax.impl(x, axis)


def _plain_log_softmax(x, axis=None):
    return _R.log_softmax.impl(x, axis)


def _normalise_all(func, x, axis):
    """Apply ``func`` over one axis, or over the whole array when ``axis`` is None."""
    x = _ops.operand(x)
    if axis is None:
        return _ops.reshape(func(_ops.reshape(x, -1), 0), x.shape)
    return func(x, axis)


logsumexp = _numpy_or(_plain_logsumexp, lambda a, axis=None, keepdims=False:
                      _ops.logsumexp(a, axis, keepdims),
                      "``log(sum(exp(a)))`` without overflow (``scipy.special.logsumexp``).",
                      "logsumexp")
softmax = _numpy_or(_plain_softmax, lambda x, axis=None: _normalise_all(_ops.softmax, x, axis),
                    "``exp(x) / sum(exp(x))`` over ``axis`` (``scipy.special.softmax``).",
                    "softmax")
log_softmax = _numpy_or(_plain_log_softmax,
                        lambda x, axis=None: _normalise_all(_ops.log_softmax, x, axis),
                        "``x - logsumexp(x)`` over ``axis`` (``scipy.special.log_softmax``).",
                        "log_softmax")
expit = sigmoid = _numpy_or(_R.sigmoid.impl, _R.sigmoid,
                            "The logistic function ``1 / (1 + exp(-x))`` (``scipy.special"
                            ".expit``).", "expit")
relu = _numpy_or(_R.relu.impl, _R.relu, "``max(x, 0)`` (``jax.nn.relu``).", "relu")

# --------------------------------------------------------------------------------------------
# reductions (NumPy's names and defaults: axis=None, keepdims=False, ddof=0)


def _reduction(numpy_func, tensor_func):
    def reduce(a, axis=None, dtype=None, keepdims=False, **unsupported):
        if unsupported:
            raise TypeError(f"chainrule.numpy.{numpy_func.__name__}: unsupported arguments "
                            f"{sorted(unsupported)}")
        return tensor_func(a, dim=axis, keepdim=keepdims, dtype=dtype)

    return _numpy_or(numpy_func, reduce)


sum = _reduction(_np.sum, _ops.sum)  # noqa: A001
mean = _reduction(_np.mean, _ops.mean)
prod = _reduction(_np.prod, _ops.prod)
max = amax = _numpy_or(_np.max, lambda a, axis=None, keepdims=False: _ops.amax(a, axis, keepdims))  # noqa: A001
min = amin = _numpy_or(_np.min, lambda a, axis=None, keepdims=False: _ops.amin(a, axis, keepdims))  # noqa: A001


def _spread(ops_func):
    """NumPy's ``var`` or ``std``: computed in ``dtype`` when given (the array cast first)."""
    def spread(a, axis=None, dtype=None, ddof=0, keepdims=False):
        a = _ops.operand(a) if dtype is None else _ops.to(a, dtype)
        return ops_func(a, axis, correction=ddof, keepdim=keepdims)

    return spread


var = _numpy_or(_np.var, _spread(_ops.var))
std = _numpy_or(_np.std, _spread(_ops.std))

# --------------------------------------------------------------------------------------------
# products


def _dot(a, b):
    a_dims, b_dims = len(_shape_of(a)), len(_shape_of(b))
    if a_dims == 0 or b_dims == 0:
        return _R.mul(a, b)
    if a_dims <= 2 and b_dims <= 2:
        return _ops.matmul(a, b)
    # N-D: sum over the last axis of a and the second-to-last of b (NumPy's dot)
    return _ops.tensordot(a, b, ([a_dims - 1], [builtins.max(b_dims - 2, 0)]))


dot = _numpy_or(_np.dot, _dot)
matmul = _numpy_or(_np.matmul, _ops.matmul)
vdot = _numpy_or(_np.vdot, lambda a, b: _R.dot(_ops.reshape(a, -1), _ops.reshape(b, -1)))


def _inner(a, b):
    # NumPy's inner of a 0-d operand is the product
    if len(_shape_of(a)) == 0 or len(_shape_of(b)) == 0:
        return _R.mul(a, b)
    return _ops.tensordot(a, b, ([-1], [-1]))


def _einsum(*arguments, **unused):
    """``einsum(subscripts, *operands)``, or NumPy's sublist form ``einsum(a, [0, 1], b,
    [1, 2], [0, 2])`` (operands each followed by its axes' labels, then the output's, if
    given), written as subscripts."""
    if isinstance(arguments[0], str):
        return _ops.einsum(arguments[0], *arguments[1:])
    pairs = len(arguments) // 2
    operands, sublists = arguments[0:2 * pairs:2], arguments[1:2 * pairs:2]

    def letters(sublist) -> str:
        return "".join("..." if label is Ellipsis else string.ascii_letters[label]
                       for label in sublist)

    subscripts = ",".join(letters(s) for s in sublists)
    if len(arguments) % 2:  # the last argument labels the output's axes
        subscripts += "->" + letters(arguments[-1])
    return _ops.einsum(subscripts, *operands)


inner = _numpy_or(_np.inner, _inner)
outer = _numpy_or(_np.outer, lambda a, b: _ops.outer(_ops.reshape(a, -1), _ops.reshape(b, -1)))
tensordot = _numpy_or(_np.tensordot, lambda a, b, axes=2: _ops.tensordot(a, b, axes))
einsum = _numpy_or(_np.einsum, _einsum)

# --------------------------------------------------------------------------------------------
# shapes


def _reshape(a, newshape=None, order="C", shape=None):
    if order != "C":
        raise NotImplementedError("chainrule.numpy.reshape: only order='C' is supported")
    return _ops.reshape(a, newshape if shape is None else shape)


def _transpose(a, axes=None):
    a = _ops.operand(a)
    return _ops.permute(a, tuple(reversed(range(a.ndim))) if axes is None else axes)


def _expand_dims(a, axis):
    return _ops.unsqueeze(a, axis)


def _moveaxis(a, source, destination):
    a = _ops.operand(a)
    order = [i for i in range(a.ndim) if i != source % a.ndim]
    order.insert(destination % a.ndim, source % a.ndim)
    return _ops.permute(a, order)


reshape = _numpy_or(_np.reshape, _reshape)
transpose = _numpy_or(_np.transpose, _transpose)
swapaxes = _numpy_or(_np.swapaxes, lambda a, axis1, axis2: _ops.transpose(a, axis1, axis2))
moveaxis = _numpy_or(_np.moveaxis, _moveaxis)
expand_dims = _numpy_or(_np.expand_dims, _expand_dims)
squeeze = _numpy_or(_np.squeeze, lambda a, axis=None: _ops.squeeze(a, axis))
ravel = _numpy_or(_np.ravel, lambda a: _ops.reshape(a, -1))
broadcast_to = _numpy_or(_np.broadcast_to, lambda array, shape: _ops.broadcast_to(array, shape))
flip = _numpy_or(_np.flip, lambda m, axis=None: _ops.flip(m, axis))
tile = _numpy_or(_np.tile, lambda A, reps: _ops.tile(A, reps))


def _along_axis(name, func, a, axis):
    """Apply a cumulative or sorting ``func(a, axis)``; ``axis=None`` means the flattened
    array."""
    a = _ops.operand(a)
    if axis is None or a.ndim == 0:
        return func(_ops.reshape(a, -1), 0)
    return func(a, _ops.one_dim(name, axis, a.ndim))


cumsum = _numpy_or(_np.cumsum, lambda a, axis=None: _along_axis(
    "cumsum", lambda x, d: _R.cumsum(x, axis=d), a, axis))
cumprod = _numpy_or(_np.cumprod, lambda a, axis=None: _along_axis(
    "cumprod", lambda x, d: _R.cumprod(x, axis=d), a, axis))
sort = _numpy_or(_np.sort, lambda a, axis=-1: _along_axis(
    "sort", lambda x, d: _R.sorted_along(x, d)[0], a, axis))


def _partition(a, kth, axis=-1, kind="introselect", order=None):
    # NumPy's values exactly (the order inside each part is NumPy's), gathered from ``a``: the
    # positions are those of NumPy's result among a's values, matched by rank
    def gather(x, d):
        values = _ops.data_of(x)
        ours = _np.partition(values, kth, axis=d, kind=kind, order=order)
        positions = _np.empty_like(_np.argsort(values, axis=d))
        _np.put_along_axis(positions, _np.argsort(ours, axis=d, kind="stable"),
                           _np.argsort(values, axis=d, kind="stable"), axis=d)
        return _ops.getitem(x, _R.along_index(positions, d))
    return _along_axis("partition", gather, a, axis)


partition = _numpy_or(_np.partition, _partition)

# statistics, entries picked and placed, polynomials and convolutions (written in
# chainrule/numpy_statistics.py, numpy_indexing.py and numpy_polynomials.py)

for _module, _names in (
        (_statistics, "average median percentile quantile nanmax nanmin nansum nanprod nanmean "
                      "nanvar nanstd nanmedian nanpercentile nanquantile nancumsum nancumprod "
                      "ptp cov corrcoef trapezoid"),
        (_indexing, "take take_along_axis choose compress delete insert extract diagflat "
                    "ediff1d bincount piecewise apply_along_axis apply_over_axes"),
        (_polynomials, "convolve correlate poly polyadd polyder polydiv polyfit polyint "
                       "polymul polysub polyval roots")):
    for _name in _names.split():
        if hasattr(_np, _name):  # (trapezoid: NumPy 2)
            globals()[_name] = _numpy_or(getattr(_np, _name), getattr(_module, _name),
                                         f"Differentiable ``numpy.{_name}``: "
                                         f"{getattr(_module, _name).__doc__}")
if hasattr(_np, "trapz"):  # (NumPy 1's name of trapezoid)
    trapz = _numpy_or(_np.trapz, _statistics.trapezoid,
                      f"Differentiable ``numpy.trapz``: {_statistics.trapezoid.__doc__}")


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    # the finite values pass (slope 1); the others are replaced by constants (slope 0)
    x = _ops.operand(x)
    data = _ops.data_of(x)
    if data.dtype.kind not in "fc":
        return x
    replaced = _np.nan_to_num(data, copy=True, nan=nan, posinf=posinf, neginf=neginf)
    return _R.where(_np.isfinite(data), x, replaced)


nan_to_num = _numpy_or(_np.nan_to_num, _nan_to_num)


def _real_if_close(a, tol=100):
    a = _ops.operand(a)
    if _np.isrealobj(_np.real_if_close(_ops.data_of(a), tol)) and a.dtype.kind == "c":
        return _R.real_part(a)
    return a


real_if_close = _numpy_or(_np.real_if_close, _real_if_close)


def _rollaxis(a, axis, start=0):
    # NumPy's order of the axes, read off a view of zero strides whose sizes name the axes
    a = _ops.operand(a)
    named = _np.broadcast_to(0, tuple(range(1, a.ndim + 1)))
    order = [size - 1 for size in _np.rollaxis(named, axis, start).shape]
    return _ops.permute(a, *order) if a.ndim else a


rollaxis = _numpy_or(_np.rollaxis, _rollaxis)
full = _numpy_or(_np.full, lambda shape, fill_value, dtype=None, order="C": _ops.to(
    _ops.clone(_ops.broadcast_to(_ops.operand(fill_value), shape)), dtype=dtype))
if hasattr(_np, "astype"):  # (NumPy 2)
    astype = _numpy_or(_np.astype, lambda x, dtype, copy=True: _ops.to(_ops.operand(x), dtype))

# arrays rearranged or combined (written in chainrule/numpy_arrays.py)
diagonal = _numpy_or(_np.diagonal, _arrays.diagonal)
trace = _numpy_or(_np.trace, _arrays.trace)
diag = _numpy_or(_np.diag, _arrays.diag)
tril = _numpy_or(_np.tril, _arrays.tril)
triu = _numpy_or(_np.triu, _arrays.triu)
kron = _numpy_or(_np.kron, _arrays.kron)
roll = _numpy_or(_np.roll, _arrays.roll)
rot90 = _numpy_or(_np.rot90, _arrays.rot90)
flipud = _numpy_or(_np.flipud, _arrays.flipud)
fliplr = _numpy_or(_np.fliplr, _arrays.fliplr)
repeat = _numpy_or(_np.repeat, _arrays.repeat)
diff = _numpy_or(_np.diff, _arrays.diff)
atleast_1d = _numpy_or(_np.atleast_1d, _arrays.atleast_1d)
atleast_2d = _numpy_or(_np.atleast_2d, _arrays.atleast_2d)
atleast_3d = _numpy_or(_np.atleast_3d, _arrays.atleast_3d)
vstack = _numpy_or(_np.vstack, _arrays.vstack)
hstack = _numpy_or(_np.hstack, _arrays.hstack)
dstack = _numpy_or(_np.dstack, _arrays.dstack)
column_stack = _numpy_or(_np.column_stack, _arrays.column_stack)
array_split = _numpy_or(_np.array_split, _arrays.array_split)
split = _numpy_or(_np.split, _arrays.split)
vsplit = _numpy_or(_np.vsplit, _arrays.vsplit)
hsplit = _numpy_or(_np.hsplit, _arrays.hsplit)
dsplit = _numpy_or(_np.dsplit, _arrays.dsplit)
append = _numpy_or(_np.append, _arrays.append)
select = _numpy_or(_np.select, _arrays.select)
cross = _numpy_or(_np.cross, _arrays.cross)
pad = _numpy_or(_np.pad, _pad.pad)
gradient = _numpy_or(_np.gradient, _sampled.gradient)
interp = _numpy_or(_np.interp, _sampled.interp)

# arrays built from pieces among which there are Tensors (chainrule/numpy_construction.py)
array = _numpy_or(_np.array, _construction.array)
asarray = _numpy_or(_np.asarray, _construction.asarray)
concatenate = _numpy_or(_np.concatenate, _construction.concatenate)
stack = _numpy_or(_np.stack, _construction.stack)
linspace = _numpy_or(_np.linspace, _construction.linspace)
r_ = _construction.AxisConcatenator("r_", _np.r_, _renamed)
c_ = _construction.AxisConcatenator("c_", _np.c_, _renamed, axis=-1, ndmin=2, trans1d=0)

# --------------------------------------------------------------------------------------------
# functions without gradient (chainrule/numpy_catalogue.py's PASS_THROUGH): NumPy's results,
# which carry nothing to differentiate; NumPy's classes (dtypes, errstate) as they are

_PASSING: dict = {}  # name -> what this module holds for it ("linalg.matrix_rank": ...)

_SHAPE_ONLY = {"ndim", "shape", "size", "iscomplexobj", "isrealobj",
               "empty_like", "zeros_like", "ones_like", "full_like"}
"""The functions without gradient that read their first argument's shape or dtype, not its
values (so that ``np.ndim(t)`` or ``np.zeros_like(t)`` inside ``compile`` does not break the
trace); a tensor among their other arguments (``full_like``'s fill value) is read as
everywhere else.  (A ``*_like`` result is a NumPy array, which a plan keeps as a constant: one
the function changes in place after an operation read it breaks the trace, see
``chainrule/compiler/trace.py``.)"""


def _without_gradient(name: str):
    numpy_value = _catalogue.numpy_object(name)
    if isinstance(numpy_value, type):
        return numpy_value
    if name in _SHAPE_ONLY:
        def of_shape(a, *args, **kwargs):
            return numpy_value(_array_of(a), *_detached(args),
                               **{k: _detached(v) for k, v in kwargs.items()})

        of_shape.__name__ = of_shape.__qualname__ = name
        of_shape.__doc__ = f"``numpy.{name}`` (a tensor's shape or dtype: no values read)."
        return of_shape

    def call(*args, **kwargs):
        if isinstance(numpy_value, _np.ufunc) and not kwargs and builtins.any(
                isinstance(a, _TensorBase) and a._batched for a in args):
            # elementwise (isnan, logical_and, ndarray & tensor, ...) inside vmap: per example
            return _ops.no_gradient(numpy_value, *args)
        return numpy_value(*_detached(args), **{k: _detached(v) for k, v in kwargs.items()})

    call.__name__ = call.__qualname__ = name.rsplit(".", 1)[-1]
    call.__doc__ = f"``numpy.{name}`` (its result carries no gradient)."
    return call


def _passing_through(prefix: str = "") -> dict:
    """This module's pass-through functions of a NumPy (sub)module (``"linalg."``), by name."""
    passing = {}
    for name in _catalogue.PASS_THROUGH:
        inside, _, short = name.rpartition(".")
        if prefix == (inside + "." if inside else "") and _catalogue.numpy_object(name):
            passing[short] = _PASSING[name] = _without_gradient(name)
    return passing


def _array_of(value):
    """A tensor's array (in a list or tuple too), as NumPy's functions take it, for one that
    reads only its shape and dtype (so no trace of ``compile`` breaks); anything else as it
    is."""
    if isinstance(value, _TensorBase):
        # a batched value of vmap has its per-example shape and dtype only (np.shape, np.ndim
        # read them; anything that reads values raises vmap's control-flow error)
        return value._data if value._batched else _np.asarray(value._data)
    if isinstance(value, (list, tuple)):
        return type(value)(_array_of(v) for v in value)
    return value


def _detached(value):
    if isinstance(value, _TensorBase):
        if _tracing.active[0] is not None:  # compile: values read by a NumPy function
            _tracing.escaped("a NumPy function without gradient (chainrule.numpy) on a tensor")
        return _array_of(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v) for v in value)
    return value


# (NumPy's classes are found by __getattr__, so that ``bool`` here stays Python's)
globals().update({name: value for name, value in _passing_through().items()
                  if not isinstance(value, type)})

# --------------------------------------------------------------------------------------------
# linear algebra


def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    x = _ops.operand(x)
    matrix = (axis is None and x.ndim == 2) or (isinstance(axis, tuple) and len(axis) == 2)
    if matrix and ord not in (None, "fro"):
        # NumPy's ord=1, 2, inf, 'nuc' ... of a matrix are matrix norms, not entry norms
        return _norms.matrix_norm(x, ord, (-2, -1) if axis is None else axis, keepdims)
    if axis is None and x.ndim > 2 and ord not in (None, "fro"):
        raise ValueError("chainrule.numpy.linalg.norm: improper number of dimensions to norm")
    if isinstance(ord, str) and ord != "fro":
        raise ValueError(f"chainrule.numpy.linalg.norm: Invalid norm order {ord!r} for vectors")
    return _norms.vector_norm(x, ord, axis, keepdims)


# NumPy's signatures, translated for chainrule.linalg_ops (PyTorch's), which checks them


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    _linalg.check_not_hermitian("svd", hermitian)
    if not compute_uv:
        return _linalg.svdvals(a)
    return _linalg.svd(a, full_matrices)


def _qr(a, mode="reduced"):
    if mode == "raw":
        raise NotImplementedError("linalg.qr: mode='raw' (LAPACK's Householder reflectors) is "
                                  "not supported on Tensors; use 'reduced', 'complete' or 'r'")
    result = _linalg.qr(a, mode)
    return result.R if mode == "r" else result


_UNSET = object()  # (NumPy's pinv tells rtol=None from rtol not given)


def _pinv(a, rcond=None, hermitian=False, *, rtol=_UNSET):
    a = _linalg.matrices("pinv", a)
    if rcond is not None and rtol is not _UNSET:
        raise ValueError("linalg.pinv: `rtol` and `rcond` can't be both set.")
    if rcond is None:  # NumPy's defaults: 1e-15, or max(m, n) eps for rtol=None
        rcond = 1e-15 if rtol is _UNSET else (builtins.max(a.shape[-2:]) * _linalg.eps(a)
                                              if rtol is None else rtol)
    return _linalg.pinv(a, rtol=rcond, hermitian=hermitian)


def _lstsq(a, b, rcond=None):
    a, b = _linalg.matrices("lstsq", a), _ops.operand(b)
    if a.ndim != 2 or b.ndim > 2:
        raise _LinAlgError(f"linalg.lstsq: {builtins.max(a.ndim, b.ndim)}-dimensional array "
                                  f"given. Array must be two-dimensional")
    if rcond is None:  # NumPy 2's default (NumPy 1's, with a FutureWarning, was -1); NumPy
        # solves in float64, also for float32, with float64's eps
        rcond = _np.finfo(_np.float64).eps * builtins.max(a.shape)
    x, residuals, rank, s = _linalg.lstsq_parts("linalg.lstsq", a, b, rcond)
    return x, residuals, int(_ops.data_of(rank)), s


def _cond(x, p=None):
    if p not in (None, 2, -2, "fro", "nuc", 1, -1, inf, -inf):
        raise ValueError(f"linalg.cond: Invalid norm order {p!r} for matrices")
    return _linalg.cond(x, p)


linalg = _catalogue.Namespace("linalg", {**{
    name: _numpy_or(getattr(_np.linalg, name), func, f"Differentiable ``numpy.linalg.{name}``.")
    for name, func in {
        "norm": _norm, "inv": lambda a: _linalg.inv(a), "det": lambda a: _linalg.det(a),
        "slogdet": lambda a: _linalg.slogdet(a), "solve": lambda a, b: _linalg.solve(a, b),
        "cholesky": lambda a, *, upper=False: _linalg.cholesky(a, upper=upper),
        "eigh": lambda a, UPLO="L": _linalg.eigh(a, UPLO),
        "eigvalsh": lambda a, UPLO="L": _linalg.eigvalsh(a, UPLO),
        "eig": lambda a: _linalg.eig(a), "eigvals": lambda a: _linalg.eigvals(a),
        "svd": _svd, "qr": _qr, "pinv": _pinv, "lstsq": _lstsq,
        "cond": _cond,
        **({"svdvals": lambda x: _linalg.svdvals(x)} if hasattr(_np.linalg, "svdvals") else {}),
        # NumPy 2's array-API functions and the products of tensors
        # (chainrule/numpy_linalg.py; those the installed NumPy has)
        **_numpy_linalg.LINALG,
    }.items()}, **_passing_through("linalg.")})

# NumPy's generalised ufuncs of products (chainrule/numpy_linalg.py): vecdot (NumPy 2.0),
# matvec and vecmat (NumPy 2.2)
for _name in ("vecdot", "matvec", "vecmat"):
    if hasattr(_np, _name):
        globals()[_name] = _numpy_or(getattr(_np, _name), getattr(_numpy_linalg, _name))

# --------------------------------------------------------------------------------------------
# discrete Fourier transforms (written in chainrule/numpy_fft.py); the sample frequencies pass
# through

fft = _catalogue.Namespace("fft", {**{
    name: _numpy_or(getattr(_np.fft, name), getattr(_fft, name),
                    f"Differentiable ``numpy.fft.{name}``: {getattr(_fft, name).__doc__}",
                    f"fft.{name}")
    for name in _fft.DIFFERENTIABLE}, **_passing_through("fft.")})

# --------------------------------------------------------------------------------------------
# NumPy's protocols: which chainrule function answers a NumPy function called on a Tensor


def _table() -> dict:
    """NumPy callable -> chainrule.numpy callable, for every name this module implements."""
    table = {}
    for name, value in globals().items():
        if name.startswith("_") or not callable(value):
            continue
        numpy_value = getattr(_np, name, None)
        if callable(numpy_value) and not isinstance(numpy_value, type) and value is not numpy_value:
            table[numpy_value] = value
    for module in _catalogue.SUBMODULES:
        for name, value in vars(globals()[module]).items():
            table[getattr(getattr(_np, module), name)] = value
    return table


_FUNCTIONS: dict = {}


def for_numpy(func):
    """The function of this module that answers NumPy's ``func`` on Tensors, or None."""
    if not _FUNCTIONS:
        _FUNCTIONS.update(_table())
    return _FUNCTIONS.get(func)


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy's ufunc protocol (``Tensor.__array_ufunc__``): ``np.sin(t)`` calls :func:`sin`."""
    name = f"numpy.{ufunc.__name__}"
    if "out" in kwargs:
        refuse_out(name, kwargs["out"] if kwargs["out"] is not None else ())
    if "dtype" in kwargs and kwargs["dtype"] is not None:  # compute in that dtype: cast first
        dtype = _np.dtype(kwargs.pop("dtype"))
        inputs = tuple(_ops.to(x, dtype) if isinstance(x, _TensorBase) else x for x in inputs)
    kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"{name}: the keyword arguments {sorted(kwargs)} are not supported on "
                        "Tensors; call it without them")
    if method == "__call__" and ufunc in _COMPARISONS:  # ndarray < tensor: a bool Tensor
        return _COMPARISONS[ufunc](*inputs)
    if method == "__call__":
        func = for_numpy(ufunc)
        if func is not None:
            return func(*inputs, **kwargs)
    elif method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](*inputs, **kwargs)
    raise TypeError(_catalogue.no_rule(ufunc.__name__ + ("" if method == "__call__"
                                                         else "." + method)))


def array_function(self, func, types_, args, kwargs):
    """NumPy's function protocol (``Tensor.__array_function__``): ``np.sum(t)`` calls
    :func:`sum`."""
    ours = for_numpy(func)
    if ours is None:
        module = (func.__module__ or "").removeprefix("numpy").lstrip(".")
        inside = module + "." if module in _catalogue.SUBMODULES else ""
        raise TypeError(_catalogue.no_rule(inside + func.__name__))
    return ours(*args, **kwargs)


_COMPARISONS = {
    _np.equal: _ops.eq, _np.not_equal: _ops.ne, _np.less: _ops.lt, _np.less_equal: _ops.le,
    _np.greater: _ops.gt, _np.greater_equal: _ops.ge,
}

_REDUCERS = {
    _np.add: lambda a, axis=0, **kw: sum(a, axis=axis, **kw),
    _np.multiply: lambda a, axis=0, **kw: prod(a, axis=axis, **kw),
    _np.maximum: lambda a, axis=0, keepdims=False: amax(a, axis=axis, keepdims=keepdims),
    _np.minimum: lambda a, axis=0, keepdims=False: amin(a, axis=axis, keepdims=keepdims),
}


# --------------------------------------------------------------------------------------------
# what this module does with each of NumPy's callables (docs/numpy.md shows it)


def __getattr__(name: str):
    """NumPy's classes (``cnp.float64``, ``cnp.errstate``); for another name of NumPy's that
    this module does not define, an error that says why (refused, or not written yet)."""
    if name in _PASSING:
        return _PASSING[name]
    raise AttributeError(_catalogue.unavailable(name))


def _ours(name: str):
    """What this module holds for a name of NumPy's (``"sum"``, ``"linalg.svd"``), or None."""
    module, _, attribute = name.rpartition(".")
    if not module:
        return globals().get(name, _PASSING.get(name))
    return getattr(globals().get(module), attribute, None)


def coverage() -> dict[str, str]:
    """How this module answers each public callable of the installed NumPy (its main
    namespace, then ``linalg.*`` and ``fft.*``): ``"differentiable"`` (it records on Tensors),
    ``"passes through"`` (NumPy's plain result), ``"refused"`` (with the reason in
    ``chainrule.numpy_catalogue.REFUSED``) or ``"missing"`` (not written yet).

    >>> import chainrule.numpy as cnp
    >>> table = cnp.coverage()
    >>> table["sin"], table["argmax"], table["vectorize"]
    ('differentiable', 'passes through', 'refused')
    """
    classes = {}
    for name in _catalogue.numpy_callables():
        ours = _ours(name)
        if name in _catalogue.REFUSED:
            classes[name] = "refused"
        elif ours is not None and ours is _PASSING.get(name):
            classes[name] = "passes through"
        elif ours is None or ours is _catalogue.numpy_object(name):
            classes[name] = "missing"  # (absent, or NumPy's own, which would lose the gradient)
        else:
            classes[name] = "differentiable"
    return classes
