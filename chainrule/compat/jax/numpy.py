"""``jax.numpy`` on chainrule: NumPy's names, JAX's dtypes (float32, int32) and results.

Every function lifts its arguments to :class:`Array` (Python numbers weakly typed), works out
JAX's result dtype, casts, and calls the function of the same name in :mod:`chainrule.numpy`
on the Tensors inside, so that the transforms of ``chainrule.compat.jax`` differentiate it.

The functions that are also :class:`Array`'s methods and operators (``add``, ``sum``,
``reshape`` ...) are defined in :mod:`chainrule.compat.jax.core`, next to the class that binds
them, and re-exported here (so ``jnp.sum is jnp.ndarray.sum``); the rest are made here, most
with core's factories (``unary_function("exp")``, ``binary_function("vdot")`` ...).

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

import types

import numpy as np

import chainrule
import chainrule.numpy as cnp
from chainrule.compat.jax.core import (
    Array,
    abs,
    add,
    all,
    any,
    argmax,
    argmin,
    argsort,
    binary_function,
    cast_tensor,
    clip,
    cumprod,
    cumsum,
    divide,
    dot,
    equal,
    floor_divide,
    from_tensor,
    greater,
    greater_equal,
    less,
    less_equal,
    lift,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mod,
    multiply,
    negative,
    no_gradient_reduction,
    not_equal,
    positive,
    power,
    prod,
    promote,
    ravel,
    reshape,
    round,
    shaping_function,
    sort,
    squeeze,
    std,
    subtract,
    sum,
    swapaxes,
    to_tensor,
    transpose,
    unary_function,
    var,
)
from chainrule.compat.jax.dtypes import check_dtype_request

# jax.numpy's names (the helpers imported above are not among them)
__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "arange", "argmax",
    "argmin", "argsort", "around", "array", "array_equal", "asarray", "atleast_1d", "atleast_2d",
    "bool_", "broadcast_to", "ceil", "clip", "complex128", "complex64", "concatenate", "cos",
    "cosh", "count_nonzero", "cumprod", "cumsum", "divide", "dot", "dtype", "e", "einsum", "empty",
    "empty_like", "equal", "euler_gamma", "exp", "exp2", "expand_dims", "expm1", "eye", "fft",
    "finfo", "flip", "float16", "float32", "float64", "floating", "floor", "floor_divide", "full",
    "full_like", "greater", "greater_equal", "hstack", "identity", "iinfo", "inexact", "inf",
    "inner", "int16", "int32", "int64", "int8", "integer", "isclose", "isfinite", "isinf", "isnan",
    "issubdtype", "less", "less_equal", "linalg", "linspace", "log", "log10", "log1p", "log2",
    "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mod", "moveaxis", "multiply", "nan", "ndarray", "ndim",
    "negative", "newaxis", "not_equal", "number", "ones", "ones_like", "outer", "pi", "positive",
    "pow", "power", "prod", "ravel", "reciprocal", "remainder", "reshape", "rint", "round", "shape",
    "sign", "sin", "sinh", "size", "sort", "sqrt", "square", "squeeze", "stack", "std", "subtract",
    "sum", "swapaxes", "tan", "tanh", "tensordot", "tile", "transpose", "true_divide", "trunc",
    "uint16", "uint32", "uint64", "uint8", "var", "vdot", "vstack", "where", "zeros", "zeros_like",
]

ndarray = Array
pi, e, inf, nan, newaxis, euler_gamma = np.pi, np.e, np.inf, np.nan, None, np.euler_gamma
bool_, int8, int16, int32, int64 = np.bool_, np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
dtype, finfo, iinfo, issubdtype = np.dtype, np.finfo, np.iinfo, np.issubdtype
inexact, floating, integer, number = np.inexact, np.floating, np.integer, np.number


# --------------------------------------------------------------------------------------------
# elementwise (add, multiply, negative, abs ... are core's)

exp, log = unary_function("exp"), unary_function("log")
log1p, expm1 = unary_function("log1p"), unary_function("expm1")
sin, cos, tan = unary_function("sin"), unary_function("cos"), unary_function("tan")
tanh, sinh, cosh = unary_function("tanh"), unary_function("sinh"), unary_function("cosh")
reciprocal = unary_function("reciprocal", False)
square = unary_function("square", False)
absolute = abs
sign, floor = unary_function("sign", False), unary_function("floor", False)
ceil = unary_function("ceil", False)
trunc, rint = unary_function("trunc", False), unary_function("rint", False)
true_divide = divide
logaddexp = binary_function("logaddexp", inexact=True)
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


around = round


def where(condition, x=None, y=None) -> Array:
    """``jax.numpy.where``: ``x`` where ``condition``, else ``y``; alone, its nonzero indices."""
    if x is None and y is None:
        return tuple(from_tensor(i) for i in np.nonzero(np.asarray(lift(condition))))
    dtype, weak = promote(x, y)
    cond = np.asarray(lift(condition)).astype(bool)
    return from_tensor(cnp.where(cond, cast_tensor(x, dtype), cast_tensor(y, dtype)), weak)


# comparisons and other functions without gradient (equal, less, logical_not ... are core's)
remainder = mod


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
# reductions (sum, max, argmax, cumsum, sort ... are core's)

amax, amin = max, min
count_nonzero = no_gradient_reduction(np.count_nonzero)


# --------------------------------------------------------------------------------------------
# products (dot and matmul are core's)

vdot = binary_function("vdot")
inner = binary_function("inner")
outer = binary_function("outer")


def tensordot(a, b, axes=2) -> Array:
    """``jax.numpy.tensordot``: the sum of products over ``axes`` of ``a`` and ``b``."""
    dtype, weak = promote(a, b)
    return from_tensor(cnp.tensordot(cast_tensor(a, dtype), cast_tensor(b, dtype), axes), weak)


def einsum(subscripts: str, *operands) -> Array:
    """``jax.numpy.einsum``: Einstein summation of ``operands`` as ``subscripts`` says."""
    dtype, weak = promote(*operands)
    return from_tensor(cnp.einsum(subscripts, *[cast_tensor(o, dtype) for o in operands]), weak)


# --------------------------------------------------------------------------------------------
# shapes (reshape, transpose, swapaxes, squeeze and ravel are core's)

moveaxis, expand_dims = shaping_function("moveaxis"), shaping_function("expand_dims")
broadcast_to, flip = shaping_function("broadcast_to"), shaping_function("flip")
tile = shaping_function("tile")


def _joined(name: str):
    cfunc = getattr(cnp, name)

    def op(arrays, axis=0):
        dtype, weak = promote(*arrays)
        return from_tensor(cfunc([cast_tensor(x, dtype) for x in arrays], axis=axis), weak)

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
    if vector and isinstance(ord, (int, float)) and 0 < ord < np.inf and ord != 1:
        # sum(|x|^p)^(1/p), JAX's formula: its gradient at 0 is nan, as JAX's
        return power(sum(power(abs(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)
    return from_tensor(cnp.linalg.norm(to_tensor(x), ord, axis, keepdims), x.weak_type)


def _linalg_unary(name: str, symmetrize: bool = False):
    """``jax.numpy.linalg.<name>``; ``symmetrize``: computed on ``(a + a^H) / 2`` (JAX's
    ``symmetrize_input=True``, its default), where NumPy reads one triangle of ``a``."""
    cfunc = getattr(cnp.linalg, name)

    def op(a):
        a = lift(a)
        t = to_tensor(a)
        if symmetrize:
            t = (t + cnp.conj(cnp.swapaxes(t, -1, -2))) / 2
        result = cfunc(t)
        if isinstance(result, tuple):
            return tuple(from_tensor(r, a.weak_type) for r in result)
        return from_tensor(result, a.weak_type)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.linalg.{name}`` of ``a`` (chainrule.numpy.linalg's)."
    return op


def _solve(a, b) -> Array:
    """``jax.numpy.linalg.solve``: the ``x`` with ``a @ x == b``."""
    dtype, weak = promote(a, b)
    return from_tensor(cnp.linalg.solve(cast_tensor(a, dtype), cast_tensor(b, dtype)), weak)


linalg = types.SimpleNamespace(
    norm=_norm, inv=_linalg_unary("inv"), det=_linalg_unary("det"),
    slogdet=_linalg_unary("slogdet"), cholesky=_linalg_unary("cholesky", symmetrize=True),
    eigh=_linalg_unary("eigh", symmetrize=True), eigvalsh=_linalg_unary("eigvalsh", True),
    solve=_solve,
)


def _fft_function(name: str):
    """``jax.numpy.fft.<name>``: NumPy's arguments (chainrule.numpy.fft's), complex64 for
    float32 input as in JAX."""
    cfunc = getattr(cnp.fft, name)

    def op(a, *args, **kwargs):
        a = lift(a)
        if a.dtype.kind in "biu":
            a = lift(a, np.float32)
        return from_tensor(cfunc(to_tensor(a), *args, **kwargs), False)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.fft.{name}`` of ``a`` (chainrule.numpy.fft's)."
    return op


fft = types.SimpleNamespace(**{name: _fft_function(name) for name in (
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
    "irfftn", "hfft", "ihfft", "fftshift", "ifftshift")})
