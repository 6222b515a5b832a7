"""The JAX front end's array: a chainrule Tensor seen through JAX's eyes, and its operations.

An :class:`Array` wraps one chainrule Tensor (never a subclass: chainrule's operations make
plain Tensors, and the wrapper is what keeps JAX's dtypes and repr on every result).  It adds
what JAX has and PyTorch has not:

- **dtypes with 64-bit disabled** (JAX's default): float64 becomes float32, int64 int32;
- **weak types**: a Python number is *weakly typed*: it takes the dtype of the array it meets
  (``x * 2.0`` stays float32) and, alone, shows ``weak_type=True`` in its repr;
- **JAX's repr** (``Array([0., 1., 2., 3.], dtype=float32)``) and immutability.

The dtype rules themselves, which need no arrays, are in :mod:`chainrule.compat.jax.dtypes`;
the rest of the package reaches the wrapped Tensor only through :func:`to_tensor` and
:func:`from_tensor`.

Why the operations live here: Array's methods and operators are ``jax.numpy`` functions
(``x.sum()`` is ``jnp.sum(x)``, ``x + y`` is ``jnp.add(x, y)``), and each of them makes
Arrays.  A module below this one could not make Arrays; a module above it would have to be
imported by the class body that binds them, a cycle.  So those functions, and the factories
that make them (which :mod:`chainrule.compat.jax.numpy` also uses for the rest of
``jax.numpy``), are defined here, before the class, and the class body binds them, where a
reader looks for them; ``jax.numpy`` re-exports them (``jnp.sum is Array.sum``).  The file
reads top down: conversions, elementwise operations, reductions, shapes and indexing, then
:class:`Array`.

>>> from chainrule.compat.jax import numpy as jnp
>>> jnp.arange(4.0)
Array([0., 1., 2., 3.], dtype=float32)
>>> jnp.array(2.0) * 2
Array(4., dtype=float32, weak_type=True)
>>> jnp.arange(6.0).reshape(2, 3).T.sum(axis=1)
Array([3., 5., 7.], dtype=float32)
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

import chainrule
import chainrule.numpy as cnp
from chainrule import Tensor
from chainrule.compat.jax.dtypes import (
    canonical_dtype,
    check_dtype_request,
    is_python_scalar,
    python_scalar_dtype,
    result_type,
)

__all__ = [
    "Array", "IMMUTABLE", "canonical_dtype", "cast_tensor", "check_dtype_request",
    "from_tensor", "lift", "promote", "to_tensor",
    # factories of jax.numpy functions
    "binary_function", "no_gradient_reduction", "shaping_function", "unary_function",
    # the jax.numpy functions that are Array's methods and operators
    "abs", "add", "all", "any", "argmax", "argmin", "argsort", "clip", "cumprod", "cumsum",
    "divide", "dot", "equal", "floor_divide", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum",
    "mean", "min", "minimum", "mod", "multiply", "negative", "not_equal", "positive", "power",
    "prod", "ravel", "reshape", "round", "sort", "squeeze", "std", "subtract", "sum",
    "swapaxes", "transpose", "var",
]

IMMUTABLE = ("JAX arrays are immutable and do not support in-place item assignment. Instead of "
             "x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: "
             "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html")

# This module defines jax.numpy's abs, all, any, max, min, round and sum, which hide Python's
# functions of those names: Python's are called as builtins.any and so on.


# --------------------------------------------------------------------------------------------
# between Arrays, Tensors and everything else


def from_tensor(value, weak: bool = False) -> Array:
    """An Array around a chainrule Tensor (or NumPy value), its dtype narrowed to 32 bits."""
    if not isinstance(value, Tensor):
        value = np.asarray(value)
        value = chainrule.from_numpy(np.array(value, dtype=canonical_dtype(value.dtype)))
    elif canonical_dtype(value.dtype) != value.dtype:
        value = value.to(canonical_dtype(value.dtype))
    out = object.__new__(Array)
    out._tensor = value
    out._weak = weak
    return out


def to_tensor(value) -> Tensor:
    """The chainrule Tensor behind ``value`` (made into an Array first if it is not one)."""
    return lift(value)._tensor


def cast_tensor(value, dtype) -> Tensor:
    """The chainrule Tensor behind ``value``, cast to ``dtype`` if it has another."""
    t = to_tensor(lift(value))
    return t if t.dtype == dtype else t.to(dtype)


def lift(value, dtype=None) -> Array:
    """``value`` as an Array: Python numbers weakly typed, 64-bit dtypes narrowed, lists of
    arrays stacked (differentiably)."""
    dtype = None if dtype is None else canonical_dtype(dtype)
    if isinstance(value, Array):
        if dtype is None or dtype == value.dtype:
            return value
        return from_tensor(value._tensor.to(dtype), False)
    if isinstance(value, Tensor):  # a transform's stand-in for an argument
        return from_tensor(value if dtype is None else value.to(dtype), False)
    if is_python_scalar(value):
        weak = dtype is None and not isinstance(value, builtins.bool)
        return from_tensor(np.asarray(value, dtype=dtype or python_scalar_dtype(value)), weak)
    if isinstance(value, (list, tuple)) and builtins.any(isinstance(v, (Array, list, tuple))
                                                          for v in value):
        if not value:
            return from_tensor(np.asarray(value, dtype=dtype or np.float32))
        parts = [lift(v) for v in value]
        dtype = dtype or promote(*parts)[0]
        stacked = chainrule.stack([p._tensor.to(dtype) for p in parts])
        return from_tensor(stacked, False)
    value = np.asarray(value)
    if value.dtype.kind not in "biufc":
        raise TypeError(f"JAX arrays hold numbers or booleans; got a value of dtype "
                        f"{value.dtype}")
    return from_tensor(np.array(value, dtype=dtype or canonical_dtype(value.dtype)), False)


def promote(*values) -> tuple[np.dtype, bool]:
    """JAX's result dtype and weak flag for an operation on ``values`` (its promotion lattice
    with 64-bit off: bool < int < float < complex; weak values never widen a strong one)."""
    if len(values) == 2:  # the usual case, two strong Arrays of one dtype: that dtype
        x, y = values
        if type(x) is Array and type(y) is Array and not (x._weak or y._weak) \
                and x._tensor.dtype == y._tensor.dtype:
            return x._tensor.dtype, False
    strong, weak = [], []
    for v in values:
        if isinstance(v, Array):
            (weak if v._weak else strong).append(v.dtype)
        elif is_python_scalar(v):
            if isinstance(v, builtins.bool):
                strong.append(np.dtype(np.bool_))
            else:
                weak.append(python_scalar_dtype(v))
        else:
            strong.append(canonical_dtype(np.asarray(v).dtype))
    return result_type(strong, weak)


# --------------------------------------------------------------------------------------------
# elementwise operations, with JAX's promotion and weak types


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


_WIDENED = (np.dtype(np.float16), np.dtype(np.float32))


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


def binary_function(name: str, inexact: bool = False, weak_result: bool = True):
    """``jax.numpy.<name>`` of two arrays: :mod:`chainrule.numpy`'s ``name`` on operands of
    JAX's promoted dtype (float32 at least if ``inexact``; never weak unless ``weak_result``)."""
    cfunc = getattr(cnp, name)

    def op(x1, x2):
        return _binary_op(cfunc, x1, x2, inexact=inexact, weak_result=weak_result)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


def unary_function(name: str, inexact: bool = True):
    """``jax.numpy.<name>`` of one array: :mod:`chainrule.numpy`'s ``name``, on float32 at
    least if ``inexact`` (float16 and float32 computed in float64 and rounded)."""
    cfunc = getattr(cnp, name)

    def op(x):
        return _unary_op(cfunc, x, inexact=inexact)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


negative = unary_function("negative", False)
abs = unary_function("abs", False)  # noqa: A001
add, subtract, multiply = binary_function("add"), binary_function("subtract"), \
    binary_function("multiply")
maximum, minimum = binary_function("maximum"), binary_function("minimum")
divide = binary_function("divide", inexact=True)
floor_divide, mod = binary_function("floor_divide"), binary_function("mod")
dot, matmul = binary_function("dot"), binary_function("matmul")


def power(x1, x2) -> Array:
    """``x1 ** x2``; a Python integer exponent is an integer power, as in JAX."""
    return _binary_op(cnp.power, x1, x2)


def positive(x) -> Array:
    """``jax.numpy.positive``: ``+x``, which is ``x`` as an Array."""
    return lift(x)


def round(a, decimals: int = 0) -> Array:  # noqa: A001
    """``jax.numpy.round``: ``a`` rounded to ``decimals`` decimal places."""
    a = lift(a)
    return from_tensor(cnp.round(to_tensor(a), decimals), a.weak_type)


def clip(a, a_min=None, a_max=None, *, min=None, max=None) -> Array:  # noqa: A002
    """``jax.numpy.clip``: values limited to ``[min, max]`` (or ``[a_min, a_max]``)."""
    a = lift(a)
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    lo = None if lo is None else float(lo) if a.dtype.kind in "fc" else int(lo)
    hi = None if hi is None else float(hi) if a.dtype.kind in "fc" else int(hi)
    return from_tensor(cnp.clip(to_tensor(a), lo, hi), a.weak_type)


# comparisons and logical operations: bool results, never weak
equal = binary_function("equal", weak_result=False)
not_equal = binary_function("not_equal", weak_result=False)
less = binary_function("less", weak_result=False)
less_equal = binary_function("less_equal", weak_result=False)
greater = binary_function("greater", weak_result=False)
greater_equal = binary_function("greater_equal", weak_result=False)
logical_and = binary_function("logical_and", weak_result=False)
logical_or = binary_function("logical_or", weak_result=False)
logical_xor = binary_function("logical_xor", weak_result=False)


def logical_not(x) -> Array:
    """``jax.numpy.logical_not``: elementwise NOT, a bool Array."""
    return from_tensor(np.logical_not(np.asarray(lift(x))))


# --------------------------------------------------------------------------------------------
# reductions


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


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


max = _extremum("max")  # noqa: A001
min = _extremum("min")  # noqa: A001


def _moment(name: str, cfunc):

    def reduce(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False) -> Array:
        a = lift(a)
        t = to_tensor(a)
        t = t.to(np.float32) if t.dtype.kind in "biu" else t
        return from_tensor(cfunc(t, axis=_axis(axis), ddof=ddof, keepdims=keepdims), a.weak_type)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = f"``jax.numpy.{name}``."
    return reduce


var = _moment("var", cnp.var)
# JAX's formula, sqrt(var): its gradient where the variance is 0 is nan, as JAX's (chainrule's
# own std gives PyTorch's 0 there)
std = _moment("std", lambda t, **kw: cnp.sqrt(cnp.var(t, **kw)))


def no_gradient_reduction(numpy_func):
    """``jax.numpy``'s function of the name of ``numpy_func`` (``np.all``, ``np.argmax`` ...),
    over ``axis``, computed by NumPy: its result has no gradient."""
    def reduce(a, axis=None, **kwargs):
        return from_tensor(numpy_func(np.asarray(lift(a)), axis=_axis(axis), **kwargs))

    reduce.__name__ = reduce.__qualname__ = numpy_func.__name__
    reduce.__doc__ = (f"``jax.numpy.{numpy_func.__name__}`` over ``axis``, computed by NumPy "
                      "(no gradient).")
    return reduce


all = no_gradient_reduction(np.all)  # noqa: A001
any = no_gradient_reduction(np.any)  # noqa: A001
argmax = no_gradient_reduction(np.argmax)
argmin = no_gradient_reduction(np.argmin)


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
# shapes and indexing


def shaping_function(name: str):
    """``jax.numpy.<name>``, a function that moves values around without changing them:
    :mod:`chainrule.numpy`'s ``name`` on the Tensor inside, the dtype and weak type kept."""
    cfunc = getattr(cnp, name)

    def op(a, *args, **kwargs):
        a = lift(a)
        return from_tensor(cfunc(to_tensor(a), *args, **kwargs), a.weak_type)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``jax.numpy.{name}``."
    return op


transpose, swapaxes = shaping_function("transpose"), shaping_function("swapaxes")
squeeze, ravel = shaping_function("squeeze"), shaping_function("ravel")


def reshape(a, shape=None, order="C", *, newshape=None) -> Array:
    """``jax.numpy.reshape``: the values in shape ``shape`` (``newshape``: its old name)."""
    a = lift(a)
    shape = newshape if shape is None else shape
    return from_tensor(cnp.reshape(to_tensor(a), shape, order), a.weak_type)


def _index(index):
    """An index with its Arrays as NumPy arrays (what a Tensor's indexing takes)."""
    if isinstance(index, tuple):
        return tuple(np.asarray(i) if isinstance(i, Array) else i for i in index)
    return np.asarray(index) if isinstance(index, Array) else index


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
        return cast_tensor(values, self.array.dtype)

    def _done(self, tensor) -> Array:
        return from_tensor(tensor, self.array.weak_type)

    def get(self, **kwargs) -> Array:
        """``x[idx]``; keyword options are ignored."""
        return self.array[self.index]

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


# --------------------------------------------------------------------------------------------
# the array


class Array:
    """A JAX array: immutable, float32 by default, printed as JAX prints it.

    Make one with ``jax.numpy`` (``jnp.array``, ``jnp.arange`` ...); the transforms in
    ``chainrule.compat.jax`` take and return them.  Its operators and most of its methods are
    the ``jax.numpy`` functions above: ``x + y`` is ``add(x, y)``, ``x.sum()`` is ``sum(x)``.
    """

    __slots__ = ("_tensor", "_weak")
    __array_priority__ = 100  # ndarray * Array -> Array.__rmul__

    def __init__(self, value: Any, dtype=None) -> None:
        made = lift(value, dtype=dtype)
        self._tensor, self._weak = made._tensor, made._weak

    # ----------------------------------------------------------------------------------------
    # what the array is

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, a tuple of ints."""
        return self._tensor.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (64-bit types are narrowed to 32)."""
        return self._tensor.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._tensor.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._tensor.numel()

    @property
    def weak_type(self) -> bool:
        """True for values born from Python numbers, which adopt the dtype of what they meet."""
        return self._weak

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        value = self._tensor.detach().numpy()
        if dtype is not None and value.dtype != dtype:
            return value.astype(dtype)
        return value.copy() if copy else value

    def item(self, *args):
        """The element at ``args`` (or the only one) as a Python scalar."""
        return self._tensor.detach().numpy().item(*args)

    def tolist(self):
        """The values as a (nested) Python list."""
        return self._tensor.detach().numpy().tolist()

    def block_until_ready(self) -> Array:
        """This array: chainrule computes eagerly, so there is nothing to wait for."""
        return self

    def copy(self) -> Array:
        """A copy (differentiable), with the same weak type."""
        return from_tensor(chainrule.clone(self._tensor), self._weak)

    # ----------------------------------------------------------------------------------------
    # printing

    def __repr__(self) -> str:
        # jax/_src/array.py: the dtype goes on the last line, or after six spaces if it is full
        prefix = "Array("
        dtype_str = f"dtype={self.dtype.name}" + (", weak_type=True" if self._weak else "") + ")"
        line_width = np.get_printoptions()["linewidth"]
        value = self._tensor.detach().numpy()
        if value.size == 0:
            s = f"[], shape={self.shape}"
        else:
            s = np.array2string(value, prefix=prefix, suffix=",", separator=", ",
                                max_line_width=line_width)
        last_line_len = len(s) - s.rfind("\n") + 1
        sep = " "
        if last_line_len + len(dtype_str) + 1 > line_width:
            sep = " " * len(prefix)
        return f"{prefix}{s},{sep}{dtype_str}"

    def __str__(self) -> str:
        return str(self._tensor.detach().numpy())

    def __format__(self, spec: str) -> str:
        value = self._tensor.detach().numpy()
        return format(value[()] if value.ndim == 0 else value, spec)

    # ----------------------------------------------------------------------------------------
    # Python protocols

    def __bool__(self) -> bool:
        return bool(self._tensor.detach().numpy())  # NumPy's ValueError for several elements

    def __float__(self) -> float:
        return float(self._tensor.detach().numpy())

    def __int__(self) -> int:
        return int(self._tensor.detach().numpy())

    def __complex__(self) -> complex:
        return complex(self._tensor.detach().numpy())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._tensor.detach().numpy())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, index) -> Array:
        return from_tensor(self._tensor[_index(index)], self._weak)

    def __setitem__(self, index, value) -> None:
        raise TypeError(IMMUTABLE)

    @property
    def at(self) -> _IndexUpdateHelper:
        """Functional updates: ``x.at[idx].set(y)``."""
        return _IndexUpdateHelper(self)

    __hash__ = None  # like JAX's arrays (and NumPy's): unhashable

    # ----------------------------------------------------------------------------------------
    # operators: the jax.numpy functions above (NumPy's operator names, JAX's promotion)

    __add__ = add
    __sub__ = subtract
    __mul__ = multiply
    __truediv__ = divide
    __floordiv__ = floor_divide
    __mod__ = mod
    __pow__ = power
    __matmul__ = matmul
    __and__ = logical_and
    __or__ = logical_or
    __xor__ = logical_xor
    __eq__ = equal
    __ne__ = not_equal
    __lt__ = less
    __le__ = less_equal
    __gt__ = greater
    __ge__ = greater_equal
    __neg__ = negative
    __pos__ = positive
    __abs__ = abs
    __invert__ = logical_not

    # the reflected operators: ``2 - x`` is ``subtract(2, x)``

    def __radd__(self, other) -> Array:
        return add(other, self)

    def __rsub__(self, other) -> Array:
        return subtract(other, self)

    def __rmul__(self, other) -> Array:
        return multiply(other, self)

    def __rtruediv__(self, other) -> Array:
        return divide(other, self)

    def __rfloordiv__(self, other) -> Array:
        return floor_divide(other, self)

    def __rmod__(self, other) -> Array:
        return mod(other, self)

    def __rpow__(self, other) -> Array:
        return power(other, self)

    def __rmatmul__(self, other) -> Array:
        return matmul(other, self)

    def __rand__(self, other) -> Array:
        return logical_and(other, self)

    def __ror__(self, other) -> Array:
        return logical_or(other, self)

    def __rxor__(self, other) -> Array:
        return logical_xor(other, self)

    # ----------------------------------------------------------------------------------------
    # methods: ``x.sum(axis=0)`` is ``sum(x, axis=0)``.  In a class body a name not yet bound
    # in the class is looked up in the module, so ``sum = sum`` binds jax.numpy's ``sum``
    # defined above, not Python's.

    sum = sum
    prod = prod
    mean = mean
    max = max
    min = min
    var = var
    std = std
    all = all
    any = any
    argmax = argmax
    argmin = argmin
    cumsum = cumsum
    cumprod = cumprod
    sort = sort
    argsort = argsort
    dot = dot
    clip = clip
    round = round
    squeeze = squeeze
    swapaxes = swapaxes
    ravel = ravel
    flatten = ravel

    # (In a method's body, unlike the class body, names are the module's: ``reshape`` and
    # ``transpose`` below call the jax.numpy functions, not these methods.)

    def reshape(self, *shape, order="C") -> Array:
        """``x.reshape(*shape)``: :func:`reshape`, the shape as varargs or a tuple."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, shape, order)

    def transpose(self, *axes) -> Array:
        """``x.transpose(*axes)``: :func:`transpose`; no axes reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return transpose(self, axes or None)

    @property
    def T(self) -> Array:
        """The transpose (axes reversed)."""
        return transpose(self)

    @property
    def mT(self) -> Array:
        """The last two axes swapped."""
        return swapaxes(self, -1, -2)

    def astype(self, dtype, copy: bool = False) -> Array:
        """``x.astype``: the values cast to ``dtype`` (``x`` if it has it); ``copy`` is ignored."""
        return lift(self, check_dtype_request(dtype, "astype"))
