"""The JAX front end's array: a chainrule Tensor seen through JAX's eyes.

An :class:`Array` wraps one chainrule Tensor (never a subclass: chainrule's operations make
plain Tensors, and the wrapper is what keeps JAX's dtypes and repr on every result).  It adds
what JAX has and PyTorch has not:

- **dtypes with 64-bit disabled** (JAX's default): float64 becomes float32, int64 int32;
- **weak types**: a Python number is *weakly typed*: it takes the dtype of the array it meets
  (``x * 2.0`` stays float32) and, alone, shows ``weak_type=True`` in its repr;
- **JAX's repr** (``Array([0., 1., 2., 3.], dtype=float32)``) and immutability.

The rest of the package reaches the wrapped Tensor only through :func:`to_tensor` and
:func:`from_tensor`.

>>> from chainrule.compat.jax import numpy as jnp
>>> jnp.arange(4.0)
Array([0., 1., 2., 3.], dtype=float32)
>>> jnp.array(2.0) * 2
Array(4., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import builtins
import warnings
from typing import Any

import numpy as np

import chainrule
from chainrule import Tensor

__all__ = ["Array", "canonical_dtype", "from_tensor", "lift", "promote", "to_tensor",
           "check_dtype_request"]

# 64-bit types are not available with jax_enable_x64 off (JAX's default)
_NARROW = {np.dtype(np.float64): np.dtype(np.float32), np.dtype(np.int64): np.dtype(np.int32),
           np.dtype(np.uint64): np.dtype(np.uint32),
           np.dtype(np.complex128): np.dtype(np.complex64)}
# the default dtype of each kind, which a weakly typed value of that kind has
_DEFAULT = {"b": np.dtype(np.bool_), "i": np.dtype(np.int32), "u": np.dtype(np.int32),
            "f": np.dtype(np.float32), "c": np.dtype(np.complex64)}
_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}
_PYTHON_DTYPES = {builtins.bool: np.dtype(np.bool_), builtins.int: np.dtype(np.int32),
                  builtins.float: np.dtype(np.float32), builtins.complex: np.dtype(np.complex64)}

X64_WARNING = ("Explicitly requested dtype {requested} requested in {where} is not available, "
               "and will be truncated to dtype {dtype}. To enable more dtypes, set the "
               "jax_enable_x64 configuration option or the JAX_ENABLE_X64 shell environment "
               "variable. See https://github.com/jax-ml/jax#current-gotchas for more.")

IMMUTABLE = ("JAX arrays are immutable and do not support in-place item assignment. Instead of "
             "x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: "
             "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html")


def canonical_dtype(dtype) -> np.dtype:
    """The dtype JAX gives to a value of ``dtype`` when 64-bit types are disabled."""
    if isinstance(dtype, type) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    dtype = np.dtype(dtype)
    return _NARROW.get(dtype, dtype)


def check_dtype_request(dtype, where: str) -> np.dtype | None:
    """The dtype a user asked for, narrowed to 32 bits with JAX's warning if it had 64."""
    if dtype is None:
        return None
    if isinstance(dtype, type) and dtype in _PYTHON_DTYPES:  # float, int: silently
        return _PYTHON_DTYPES[dtype]
    requested = np.dtype(dtype)
    narrowed = canonical_dtype(requested)
    if narrowed != requested:
        warnings.warn(X64_WARNING.format(requested=requested.name, where=where,
                                         dtype=narrowed.name), UserWarning, stacklevel=3)
    return narrowed


def _is_python_scalar(value) -> bool:
    return isinstance(value, (builtins.bool, builtins.int, builtins.float, builtins.complex)) \
        and not isinstance(value, np.generic)


class Array:
    """A JAX array: immutable, float32 by default, printed as JAX prints it.

    Make one with ``jax.numpy`` (``jnp.array``, ``jnp.arange`` ...); the transforms in
    ``chainrule.compat.jax`` take and return them.
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

    def __setitem__(self, index, value) -> None:
        raise TypeError(IMMUTABLE)

    __hash__ = None  # like JAX's arrays (and NumPy's): unhashable


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
    if _is_python_scalar(value):
        kind_dtype = _PYTHON_DTYPES[type(value)] if type(value) in _PYTHON_DTYPES \
            else canonical_dtype(np.asarray(value).dtype)
        weak = dtype is None and not isinstance(value, builtins.bool)
        return from_tensor(np.asarray(value, dtype=dtype or kind_dtype), weak)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Array, list, tuple))
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


def _kind_of(dtype: np.dtype) -> str:
    return "i" if dtype.kind == "u" else dtype.kind


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
        elif _is_python_scalar(v):
            if isinstance(v, builtins.bool):
                strong.append(np.dtype(np.bool_))
            else:
                weak.append(_PYTHON_DTYPES[type(v)] if type(v) in _PYTHON_DTYPES
                            else canonical_dtype(np.asarray(v).dtype))
        else:
            strong.append(canonical_dtype(np.asarray(v).dtype))
    if strong:
        result = strong[0]
        for d in strong[1:]:
            if _RANK[_kind_of(d)] > _RANK[_kind_of(result)]:
                result = d
            elif _RANK[_kind_of(d)] == _RANK[_kind_of(result)]:
                result = canonical_dtype(np.promote_types(result, d))
        top = builtins.max((_RANK[_kind_of(d)] for d in weak), default=-1)
        if top > _RANK[_kind_of(result)]:
            return _DEFAULT[next(_kind_of(d) for d in weak if _RANK[_kind_of(d)] == top)], True
        return result, False
    top = builtins.max(weak, key=lambda d: _RANK[_kind_of(d)])
    return _DEFAULT[_kind_of(top)], True
