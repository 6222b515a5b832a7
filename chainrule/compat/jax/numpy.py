"""``jax.numpy`` on chainrule: NumPy's names, JAX's dtypes (float32, int32) and results.

Every function lifts its arguments to :class:`Array` (Python numbers weakly typed), works out
JAX's result dtype, casts, and calls the function of the same name in :mod:`chainrule.numpy`
on the Tensors inside, so that the transforms of ``chainrule.compat.jax`` differentiate it.

>>> from chainrule.compat.jax import numpy as jnp
>>> x = jnp.arange(4.0)
>>> 2 * jnp.dot(x, x)
Array(28., dtype=float32)
>>> jnp.arange(4)
Array([0, 1, 2, 3], dtype=int32)
>>> x.at[0].set(10.0)
Array([10.,  1.,  2.,  3.], dtype=float32)
"""

from __future__ import annotations

import builtins
import types

import numpy as np

import chainrule
import chainrule.numpy as cnp
from chainrule.compat.jax.core import (
    Array,
    check_dtype_request,
    from_tensor,
    lift,
    promote,
    to_tensor,
)

ndarray = Array
pi, e, inf, nan, newaxis, euler_gamma = np.pi, np.e, np.inf, np.nan, None, np.euler_gamma
bool_, int8, int16, int32, int64 = np.bool_, np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
dtype, finfo, iinfo, issubdtype = np.dtype, np.finfo, np.iinfo, np.issubdtype
inexact, floating, integer, number = np.inexact, np.floating, np.integer, np.number


def _as(value, dtype):
    """``value`` as an operand of dtype ``dtype``: a Tensor, or a Python number left as is
    (NumPy keeps the Tensor's dtype for those, and integer powers stay integer powers)."""
    if isinstance(value, (builtins.int, builtins.float, builtins.complex)) \
            and not isinstance(value, (builtins.bool, np.generic)):
        if np.dtype(dtype).kind in "fc" or isinstance(value, builtins.int):
            return value
    t = to_tensor(value)
    return t if t.dtype == dtype else t.to(dtype)


def _binary_op(cfunc, x, y, *, inexact: bool = False, weak_result: bool = True) -> Array:
    if not isinstance(x, Array) and not isinstance(y, Array):
        x = lift(x)
    dtype, weak = promote(x, y)
    if inexact and dtype.kind in "biu":
        dtype = np.dtype(np.float32)
    a, b = _as(x, dtype), _as(y, dtype)
    if not isinstance(a, chainrule.Tensor) and not isinstance(b, chainrule.Tensor):
        a = to_tensor(lift(x, dtype))
    return from_tensor(cfunc(a, b), weak and weak_result)


def _unary_op(cfunc, x, *, inexact: bool = True) -> Array:
    a = lift(x)
    t = to_tensor(a)
    if inexact and t.dtype.kind in "biu":
        t = t.to(np.float32)
    if inexact and t.dtype in _WIDENED:
        # float32 transcendental functions: computed in float64 and rounded, which gives the
        # correctly rounded value (as JAX's, and PyTorch's, almost always; NumPy's own float32
        # sin is 1 ulp off at 1.0).  The derivative goes through the same casts.
        return from_tensor(cfunc(t.to(np.float64)).to(t.dtype), a.weak_type)
    return from_tensor(cfunc(t), a.weak_type)


_WIDENED = (np.dtype(np.float16), np.dtype(np.float32))


def _binary(name: str, inexact: bool = False, weak_result: bool = True):
    cfunc = getattr(cnp, name)

    def op(x1, x2):
        return _binary_op(cfunc, x1, x2, inexact=inexact, weak_result=weak_result)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


def _unary(name: str, inexact: bool = True):
    cfunc = getattr(cnp, name)

    def op(x):
        return _unary_op(cfunc, x, inexact=inexact)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


# --------------------------------------------------------------------------------------------
# elementwise

exp, log, log1p, expm1 = _unary("exp"), _unary("log"), _unary("log1p"), _unary("expm1")
sin, cos, tan = _unary("sin"), _unary("cos"), _unary("tan")
tanh, sinh, cosh = _unary("tanh"), _unary("sinh"), _unary("cosh")
reciprocal = _unary("reciprocal", False)
negative, square = _unary("negative", False), _unary("square", False)
abs = absolute = _unary("abs", False)  # noqa: A001
sign, floor, ceil = _unary("sign", False), _unary("floor", False), _unary("ceil", False)
trunc, rint = _unary("trunc", False), _unary("rint", False)
add, subtract, multiply = _binary("add"), _binary("subtract"), _binary("multiply")
maximum, minimum = _binary("maximum"), _binary("minimum")
divide = true_divide = _binary("divide", inexact=True)
logaddexp = _binary("logaddexp", inexact=True)


def power(x1, x2) -> Array:
    """``x1 ** x2``; a Python integer exponent is an integer power, as in JAX."""
    return _binary_op(cnp.power, x1, x2)


pow = power  # noqa: A001


def sqrt(x) -> Array:
    """``jax.numpy.sqrt`` (correctly rounded in float32 already)."""
    a = lift(x)
    t = to_tensor(a)
    return from_tensor(cnp.sqrt(t.to(np.float32) if t.dtype.kind in "biu" else t), a.weak_type)


def log2(x) -> Array:
    """``jax.numpy.log2``: base-2 logarithm, elementwise."""
    return divide(log(x), np.log(2.0))


def log10(x) -> Array:
    """``jax.numpy.log10``: base-10 logarithm, elementwise."""
    return divide(log(x), np.log(10.0))


def exp2(x) -> Array:
    """``jax.numpy.exp2``: ``2 ** x``, elementwise."""
    return power(2.0, lift(x))


def positive(x) -> Array:
    """``jax.numpy.positive``: ``+x``, which is ``x`` as an Array."""
    return lift(x)


def round(a, decimals: int = 0) -> Array:  # noqa: A001
    """``jax.numpy.round``: ``a`` rounded to ``decimals`` decimal places."""
    a = lift(a)
    return from_tensor(cnp.round(to_tensor(a), decimals), a.weak_type)


around = round


def clip(a, a_min=None, a_max=None, *, min=None, max=None) -> Array:  # noqa: A002
    """``jax.numpy.clip``: values limited to ``[min, max]`` (or ``[a_min, a_max]``)."""
    a = lift(a)
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    lo = None if lo is None else float(lo) if a.dtype.kind in "fc" else int(lo)
    hi = None if hi is None else float(hi) if a.dtype.kind in "fc" else int(hi)
    return from_tensor(cnp.clip(to_tensor(a), lo, hi), a.weak_type)


def where(condition, x=None, y=None) -> Array:
    """``jax.numpy.where``: ``x`` where ``condition``, else ``y``; alone, its nonzero indices."""
    if x is None and y is None:
        return tuple(from_tensor(i) for i in np.nonzero(np.asarray(lift(condition))))
    dtype, weak = promote(x, y)
    cond = np.asarray(lift(condition)).astype(bool)
    return from_tensor(cnp.where(cond, _as_tensor(x, dtype), _as_tensor(y, dtype)), weak)


def _as_tensor(value, dtype):
    t = to_tensor(lift(value))
    return t if t.dtype == dtype else t.to(dtype)


# comparisons and other functions without gradient
equal, not_equal = _binary("equal", weak_result=False), _binary("not_equal", weak_result=False)
less, less_equal = _binary("less", weak_result=False), _binary("less_equal", weak_result=False)
greater = _binary("greater", weak_result=False)
greater_equal = _binary("greater_equal", weak_result=False)
logical_and = _binary("logical_and", weak_result=False)
logical_or = _binary("logical_or", weak_result=False)
logical_xor = _binary("logical_xor", weak_result=False)
floor_divide, mod = _binary("floor_divide"), _binary("mod")
remainder = mod


def logical_not(x) -> Array:
    """``jax.numpy.logical_not``: elementwise NOT, a bool Array."""
    return from_tensor(np.logical_not(np.asarray(lift(x))))


def isnan(x) -> Array:
    """``jax.numpy.isnan``: whether each element is NaN."""
    return from_tensor(np.isnan(np.asarray(lift(x))))


def isinf(x) -> Array:
    """``jax.numpy.isinf``: whether each element is infinite."""
    return from_tensor(np.isinf(np.asarray(lift(x))))


def isfinite(x) -> Array:
    """``jax.numpy.isfinite``: whether each element is finite (not infinite, not NaN)."""
    return from_tensor(np.isfinite(np.asarray(lift(x))))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Array:
    """``jax.numpy.allclose``: whether all elements are equal within ``rtol`` and ``atol``."""
    return from_tensor(np.allclose(np.asarray(lift(a)), np.asarray(lift(b)), rtol, atol,
                                   equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Array:
    """``jax.numpy.isclose``: whether each pair is equal within ``rtol`` and ``atol``."""
    return from_tensor(np.isclose(np.asarray(lift(a)), np.asarray(lift(b)), rtol, atol,
                                  equal_nan))


def array_equal(a1, a2) -> Array:
    """``jax.numpy.array_equal``: whether the arrays have the same shape and elements."""
    return from_tensor(np.array_equal(np.asarray(lift(a1)), np.asarray(lift(a2))))


# --------------------------------------------------------------------------------------------
# reductions


def _reduction(name: str, inexact: bool = False):
    cfunc = getattr(cnp, name)

    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if out is not None:
            raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
        a = lift(a)
        t = to_tensor(a)
        wanted = check_dtype_request(dtype, name)
        if wanted is not None:
            t = t.to(wanted)
        elif inexact and t.dtype.kind in "biu":
            t = t.to(np.float32)
        elif t.dtype.kind == "b" and name in ("sum", "prod"):
            t = t.to(np.int32)
        return from_tensor(cfunc(t, axis=_axis(axis), keepdims=keepdims, **kwargs), a.weak_type)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = f"``jax.numpy.{name}``."
    return reduce


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


sum = _reduction("sum")  # noqa: A001
prod = _reduction("prod")
mean = _reduction("mean", inexact=True)


def _extremum(name: str):
    cfunc = getattr(cnp, name)

    def reduce(a, axis=None, out=None, keepdims=False):
        a = lift(a)
        return from_tensor(cfunc(to_tensor(a), axis=_axis(axis), keepdims=keepdims), a.weak_type)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = (f"``jax.numpy.{name}`` over ``axis`` (all axes by default); ``out`` is "
                      "ignored.")
    return reduce


max = amax = _extremum("max")  # noqa: A001
min = amin = _extremum("min")  # noqa: A001


def _moment(name: str):
    cfunc = getattr(cnp, name)

    def reduce(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False) -> Array:
        a = lift(a)
        t = to_tensor(a)
        t = t.to(np.float32) if t.dtype.kind in "biu" else t
        return from_tensor(cfunc(t, axis=_axis(axis), ddof=ddof, keepdims=keepdims), a.weak_type)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = f"``jax.numpy.{name}``."
    return reduce


var, std = _moment("var"), _moment("std")


def _no_gradient_reduction(numpy_func):
    def reduce(a, axis=None, **kwargs):
        return from_tensor(numpy_func(np.asarray(lift(a)), axis=_axis(axis), **kwargs))

    reduce.__name__ = reduce.__qualname__ = numpy_func.__name__
    reduce.__doc__ = (f"``jax.numpy.{numpy_func.__name__}`` over ``axis``, computed by NumPy "
                      "(no gradient).")
    return reduce


all = _no_gradient_reduction(np.all)  # noqa: A001
any = _no_gradient_reduction(np.any)  # noqa: A001
argmax = _no_gradient_reduction(np.argmax)
argmin = _no_gradient_reduction(np.argmin)
count_nonzero = _no_gradient_reduction(np.count_nonzero)


def cumsum(a, axis=None, dtype=None) -> Array:
    """``jax.numpy.cumsum``: running sum along ``axis`` (of all, if None); ``dtype`` is ignored."""
    a = lift(a)
    return from_tensor(cnp.cumsum(to_tensor(a), axis=axis), a.weak_type)


def cumprod(a, axis=None, dtype=None) -> Array:
    """``jax.numpy.cumprod``: running product along ``axis``; ``dtype`` is ignored."""
    a = lift(a)
    return from_tensor(cnp.cumprod(to_tensor(a), axis=axis), a.weak_type)


def sort(a, axis=-1) -> Array:
    """``jax.numpy.sort``: the values sorted along ``axis`` (the last by default)."""
    a = lift(a)
    return from_tensor(cnp.sort(to_tensor(a), axis=axis), a.weak_type)


def argsort(a, axis=-1) -> Array:
    """``jax.numpy.argsort``: the indices that sort ``a`` along ``axis`` (a stable sort)."""
    return from_tensor(np.argsort(np.asarray(lift(a)), axis=axis, kind="stable"))


# --------------------------------------------------------------------------------------------
# products

dot = _binary("dot")
matmul = _binary("matmul")
vdot = _binary("vdot")
inner = _binary("inner")
outer = _binary("outer")


def tensordot(a, b, axes=2) -> Array:
    """``jax.numpy.tensordot``: the sum of products over ``axes`` of ``a`` and ``b``."""
    dtype, weak = promote(a, b)
    return from_tensor(cnp.tensordot(_as_tensor(a, dtype), _as_tensor(b, dtype), axes), weak)


def einsum(subscripts: str, *operands) -> Array:
    """``jax.numpy.einsum``: Einstein summation of ``operands`` as ``subscripts`` says."""
    dtype, weak = promote(*operands)
    return from_tensor(cnp.einsum(subscripts, *[_as_tensor(o, dtype) for o in operands]), weak)


# --------------------------------------------------------------------------------------------
# shapes


def _shaping(name: str):
    cfunc = getattr(cnp, name)

    def op(a, *args, **kwargs):
        a = lift(a)
        return from_tensor(cfunc(to_tensor(a), *args, **kwargs), a.weak_type)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


transpose, swapaxes, moveaxis = _shaping("transpose"), _shaping("swapaxes"), _shaping("moveaxis")
expand_dims, squeeze, ravel = _shaping("expand_dims"), _shaping("squeeze"), _shaping("ravel")
broadcast_to, flip, tile = _shaping("broadcast_to"), _shaping("flip"), _shaping("tile")


def reshape(a, shape=None, order="C", *, newshape=None) -> Array:
    """``jax.numpy.reshape``: the values in shape ``shape`` (``newshape``: its old name)."""
    a = lift(a)
    shape = newshape if shape is None else shape
    return from_tensor(cnp.reshape(to_tensor(a), shape, order), a.weak_type)


def _joined(name: str):
    cfunc = getattr(cnp, name)

    def op(arrays, axis=0):
        dtype, weak = promote(*arrays)
        return from_tensor(cfunc([_as_tensor(x, dtype) for x in arrays], axis=axis), weak)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``: ``arrays`` joined along ``axis``, in a common dtype."
    return op


concatenate = _joined("concatenate")
stack = _joined("stack")


def hstack(tup) -> Array:
    """``jax.numpy.hstack``: the arrays joined column-wise (1-d ones end to end)."""
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def vstack(tup) -> Array:
    """``jax.numpy.vstack``: the arrays, as 2-d ones, joined row-wise (along axis 0)."""
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def atleast_1d(a) -> Array:
    """``jax.numpy.atleast_1d``: ``a`` with at least one axis."""
    a = lift(a)
    return reshape(a, (1,)) if a.ndim == 0 else a


def atleast_2d(a) -> Array:
    """``jax.numpy.atleast_2d``: ``a`` with at least two axes."""
    a = lift(a)
    return reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a


def shape(a) -> tuple[int, ...]:
    """``jax.numpy.shape``: the shape of ``a``."""
    return lift(a).shape


def ndim(a) -> int:
    """``jax.numpy.ndim``: the number of dimensions of ``a``."""
    return lift(a).ndim


def size(a) -> int:
    """``jax.numpy.size``: the number of elements of ``a``."""
    return lift(a).size


# --------------------------------------------------------------------------------------------
# creation (float32 and int32 by default, as JAX with 64-bit types off)


def array(object, dtype=None, copy: bool = True, order=None, ndmin: int = 0) -> Array:  # noqa: A002
    """An Array from numbers, nested lists, NumPy arrays or Arrays."""
    wanted = check_dtype_request(dtype, "array")
    out = lift(object, dtype=wanted)
    if isinstance(object, Array) and out is object and copy:
        out = from_tensor(chainrule.clone(to_tensor(object)), object.weak_type)
    while out.ndim < ndmin:
        out = reshape(out, (1,) + out.shape)
    return out


def asarray(a, dtype=None, order=None, *, copy=None) -> Array:
    """``a`` as an Array (an Array is returned as it is)."""
    return lift(a, dtype=check_dtype_request(dtype, "asarray"))


def _float_default(dtype, where: str) -> np.dtype:
    wanted = check_dtype_request(dtype, where)
    return np.dtype(np.float32) if wanted is None else wanted


def zeros(shape, dtype=None) -> Array:
    """``jax.numpy.zeros``: an Array of ``shape`` filled with 0, float32 by default."""
    return from_tensor(np.zeros(shape, _float_default(dtype, "zeros")))


def ones(shape, dtype=None) -> Array:
    """``jax.numpy.ones``: an Array of ``shape`` filled with 1, float32 by default."""
    return from_tensor(np.ones(shape, _float_default(dtype, "ones")))


def empty(shape, dtype=None) -> Array:
    """``jax.numpy.empty``: as ``zeros`` (the values are zeros)."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None) -> Array:
    """``jax.numpy.full``: an Array of ``shape`` filled with ``fill_value`` (of its dtype)."""
    wanted = check_dtype_request(dtype, "full")
    dtype = wanted if wanted is not None else promote(fill_value)[0]
    return from_tensor(np.full(shape, np.asarray(lift(fill_value)), dtype))


def zeros_like(a, dtype=None, shape=None) -> Array:
    """``jax.numpy.zeros_like``: zeros of ``a``'s shape and dtype (or ``shape``, ``dtype``)."""
    a = lift(a)
    return from_tensor(np.zeros(a.shape if shape is None else shape,
                                check_dtype_request(dtype, "zeros_like") or a.dtype))


def ones_like(a, dtype=None, shape=None) -> Array:
    """``jax.numpy.ones_like``: ones of ``a``'s shape and dtype (or ``shape``, ``dtype``)."""
    a = lift(a)
    return from_tensor(np.ones(a.shape if shape is None else shape,
                               check_dtype_request(dtype, "ones_like") or a.dtype))


def full_like(a, fill_value, dtype=None, shape=None) -> Array:
    """``jax.numpy.full_like``: ``fill_value`` in ``a``'s shape and dtype, or those given."""
    a = lift(a)
    return from_tensor(np.full(a.shape if shape is None else shape, np.asarray(lift(fill_value)),
                               check_dtype_request(dtype, "full_like") or a.dtype))


def empty_like(a, dtype=None, shape=None) -> Array:
    """``jax.numpy.empty_like``: as ``zeros_like`` (the values are zeros)."""
    return zeros_like(a, dtype, shape)


def arange(start, stop=None, step=None, dtype=None) -> Array:
    """``arange(4.0)`` is float32, ``arange(4)`` int32."""
    wanted = check_dtype_request(dtype, "arange")
    start, stop, step = (v.item() if isinstance(v, Array) else v for v in (start, stop, step))
    if wanted is None:
        wanted = promote(*[lift(v) for v in (start, stop, step) if v is not None])[0]
    return from_tensor(np.arange(start, stop, step, dtype=wanted))


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):
    """``jax.numpy.linspace``: ``num`` evenly spaced values; ``axis`` is ignored."""
    wanted = _float_default(dtype, "linspace")
    values, step = np.linspace(float(start), float(stop), num, endpoint, retstep=True)
    out = from_tensor(values.astype(wanted))
    return (out, from_tensor(np.asarray(step, wanted))) if retstep else out


def eye(N: int, M: int | None = None, k: int = 0, dtype=None) -> Array:  # noqa: N803
    """``jax.numpy.eye``: ones on diagonal ``k``, zeros elsewhere; float32 by default."""
    return from_tensor(np.eye(N, M, k, dtype=_float_default(dtype, "eye")))


def identity(n: int, dtype=None) -> Array:
    """``jax.numpy.identity``: the ``n`` by ``n`` identity matrix, float32 by default."""
    return eye(n, dtype=dtype)


# --------------------------------------------------------------------------------------------
# linear algebra


def _norm(x, ord=None, axis=None, keepdims=False) -> Array:  # noqa: A002
    """JAX's formula, ``sqrt(sum(x * x))`` for the 2-norm, whose gradient at 0 is nan."""
    x = lift(x)
    if x.dtype.kind in "biu":
        x = lift(x, np.float32)
    vector = x.ndim == 1 if axis is None else isinstance(axis, int) or len(axis) == 1
    if ord in (None, 2, "fro") and (vector or ord != 2):
        return sqrt(sum(multiply(x, x), axis=axis, keepdims=keepdims))
    return from_tensor(cnp.linalg.norm(to_tensor(x), ord, axis, keepdims), x.weak_type)


def _linalg_unary(name: str):
    cfunc = getattr(cnp.linalg, name)

    def op(a):
        a = lift(a)
        result = cfunc(to_tensor(a))
        if isinstance(result, tuple):
            return tuple(from_tensor(r, a.weak_type) for r in result)
        return from_tensor(result, a.weak_type)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.linalg.{name}`` of ``a`` (chainrule.numpy.linalg's)."
    return op


def _solve(a, b) -> Array:
    """``jax.numpy.linalg.solve``: the ``x`` with ``a @ x == b``."""
    dtype, weak = promote(a, b)
    return from_tensor(cnp.linalg.solve(_as_tensor(a, dtype), _as_tensor(b, dtype)), weak)


linalg = types.SimpleNamespace(
    norm=_norm, inv=_linalg_unary("inv"), det=_linalg_unary("det"),
    slogdet=_linalg_unary("slogdet"), cholesky=_linalg_unary("cholesky"),
    eigh=_linalg_unary("eigh"), eigvalsh=_linalg_unary("eigvalsh"), solve=_solve,
)


# --------------------------------------------------------------------------------------------
# Array's operators and methods


def _reflected(func):
    return lambda self, other: func(other, self)


def _astype(self, dtype, copy: bool = False) -> Array:
    """``x.astype``: the values cast to ``dtype`` (``x`` if it has it); ``copy`` is ignored."""
    wanted = check_dtype_request(dtype, "astype")
    return lift(self, wanted)


def _index(index):
    """An index with its Arrays as NumPy arrays (what a Tensor's indexing takes)."""
    if isinstance(index, tuple):
        return tuple(np.asarray(i) if isinstance(i, Array) else i for i in index)
    return np.asarray(index) if isinstance(index, Array) else index


def _getitem(self, index) -> Array:
    return from_tensor(to_tensor(self)[_index(index)], self.weak_type)


class _IndexUpdateHelper:
    """``x.at``: ``x.at[idx].set(y)`` and friends return a new array; ``x`` is unchanged."""

    __slots__ = ("array",)

    def __init__(self, array: Array) -> None:
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    """The updates of ``x.at[idx]``: ``get``, ``set``, ``add``, ``subtract``, ``multiply``,
    ``divide``, ``power``, ``min``, ``max``, ``apply``."""

    __slots__ = ("array", "index")

    def __init__(self, array: Array, index) -> None:
        self.array = array
        self.index = _index(index)

    def _values(self, values):
        return _as_tensor(values, self.array.dtype)

    def _done(self, tensor) -> Array:
        return from_tensor(tensor, self.array.weak_type)

    def get(self, **kwargs) -> Array:
        """``x[idx]``; keyword options are ignored."""
        return _getitem(self.array, self.index)

    def set(self, values, **kwargs) -> Array:  # noqa: A003
        """A copy of ``x`` with ``values`` at ``idx``; keyword options are ignored."""
        return self._done(to_tensor(self.array).at[self.index].set(self._values(values)))

    def add(self, values, **kwargs) -> Array:
        """A copy of ``x`` with ``values`` added at ``idx``; keyword options are ignored."""
        return self._done(to_tensor(self.array).at[self.index].add(self._values(values)))

    def subtract(self, values, **kwargs) -> Array:
        """A copy of ``x`` with ``values`` subtracted at ``idx``; keyword options are ignored."""
        return self.add(negative(lift(values, self.array.dtype)))

    def multiply(self, values, **kwargs) -> Array:
        """A copy of ``x`` with ``x[idx]`` multiplied by ``values``; keyword options are ignored."""
        return self._done(to_tensor(self.array).at[self.index].multiply(self._values(values)))

    mul = multiply

    def divide(self, values, **kwargs) -> Array:
        """A copy of ``x`` with ``x[idx]`` divided by ``values``; keyword options are ignored."""
        return self.set(divide(self.get(), values))

    def power(self, values, **kwargs) -> Array:
        """A copy of ``x`` with ``x[idx]`` raised to ``values``; keyword options are ignored."""
        return self.set(power(self.get(), values))

    def min(self, values, **kwargs) -> Array:  # noqa: A003
        """A copy of ``x`` with ``x[idx] = minimum(x[idx], values)``; keyword options ignored."""
        return self.set(minimum(self.get(), values))

    def max(self, values, **kwargs) -> Array:  # noqa: A003
        """A copy of ``x`` with ``x[idx] = maximum(x[idx], values)``; keyword options ignored."""
        return self.set(maximum(self.get(), values))

    def apply(self, func, **kwargs) -> Array:
        """A copy of ``x`` with ``func(x[idx])`` at ``idx``; keyword options are ignored."""
        return self.set(func(self.get()))


_OPERATORS = {
    "__add__": add, "__sub__": subtract, "__mul__": multiply,
    "__truediv__": divide, "__floordiv__": floor_divide, "__mod__": mod,
    "__pow__": power, "__matmul__": matmul,
    "__eq__": equal, "__ne__": not_equal, "__lt__": less, "__le__": less_equal,
    "__gt__": greater, "__ge__": greater_equal,
    "__and__": logical_and, "__or__": logical_or, "__xor__": logical_xor,
}
for _name, _func in _OPERATORS.items():
    setattr(Array, _name, _func)
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor"):
    setattr(Array, f"__r{_name}__", _reflected(_OPERATORS[f"__{_name}__"]))
Array.__neg__ = negative
Array.__pos__ = positive
Array.__abs__ = abs
Array.__invert__ = logical_not
Array.__getitem__ = _getitem
Array.at = property(_IndexUpdateHelper, doc="Functional updates: ``x.at[idx].set(y)``.")
Array.T = property(lambda self: transpose(self), doc="The transpose (axes reversed).")
Array.mT = property(lambda self: swapaxes(self, -1, -2), doc="The last two axes swapped.")
Array.astype = _astype
Array.reshape = lambda self, *shape, order="C": reshape(
    self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape, order)
Array.transpose = lambda self, *axes: transpose(
    self, (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None)
Array.reshape.__doc__ = "``x.reshape(*shape)``: :func:`reshape`, the shape as varargs or a tuple."
Array.transpose.__doc__ = "``x.transpose(*axes)``: :func:`transpose`; no axes reverses them."
for _name in ("sum", "prod", "mean", "max", "min", "var", "std", "all", "any", "argmax",
              "argmin", "cumsum", "cumprod", "sort", "argsort", "dot", "squeeze", "ravel",
              "clip", "round", "swapaxes", "flatten"):
    setattr(Array, _name, globals()[_name] if _name != "flatten" else globals()["ravel"])
