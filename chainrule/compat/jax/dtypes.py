"""JAX's dtype rules with 64-bit types disabled (its default), on dtypes alone.

Three rules, none of which needs to know what an array is, so they sit below
:mod:`chainrule.compat.jax.core` (which sorts arrays and Python numbers into the strong and
weak dtypes these functions take):

- **narrowing**: float64 becomes float32, int64 int32 (:func:`canonical_dtype`), and a 64-bit
  dtype asked for by name is narrowed with JAX's warning (:func:`check_dtype_request`);
- **Python numbers**: a bool, int, float or complex has the dtype :func:`python_scalar_dtype`
  gives it, and, except for a bool, is *weakly typed*;
- **promotion** (:func:`result_type`): the lattice bool < int < float < complex, where a weak
  dtype never widens a strong one within its kind.

>>> import numpy as np
>>> canonical_dtype(np.float64)
dtype('float32')
>>> result_type([np.dtype(np.int32)], [np.dtype(np.float32)])
(dtype('float32'), True)
>>> result_type([np.dtype(np.float16)], [np.dtype(np.float32)])
(dtype('float16'), False)
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["X64_WARNING", "canonical_dtype", "check_dtype_request", "is_python_scalar",
           "python_scalar_dtype", "result_type"]

# 64-bit types are not available with jax_enable_x64 off (JAX's default)
_NARROW = {np.dtype(np.float64): np.dtype(np.float32), np.dtype(np.int64): np.dtype(np.int32),
           np.dtype(np.uint64): np.dtype(np.uint32),
           np.dtype(np.complex128): np.dtype(np.complex64)}
# the default dtype of each kind, which a weakly typed value of that kind has
_DEFAULT = {"b": np.dtype(np.bool_), "i": np.dtype(np.int32), "u": np.dtype(np.int32),
            "f": np.dtype(np.float32), "c": np.dtype(np.complex64)}
_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}
_PYTHON_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int32),
                  float: np.dtype(np.float32), complex: np.dtype(np.complex64)}

X64_WARNING = ("Explicitly requested dtype {requested} requested in {where} is not available, "
               "and will be truncated to dtype {dtype}. To enable more dtypes, set the "
               "jax_enable_x64 configuration option or the JAX_ENABLE_X64 shell environment "
               "variable. See https://github.com/jax-ml/jax#current-gotchas for more.")


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


def is_python_scalar(value) -> bool:
    """Whether ``value`` is a Python bool, int, float or complex (a NumPy scalar is not)."""
    return isinstance(value, (bool, int, float, complex)) \
        and not isinstance(value, np.generic)


def python_scalar_dtype(value) -> np.dtype:
    """The dtype of the Python number ``value``: bool, int32, float32 or complex64 (a subclass
    of int or float, such as an enum member, by the dtype NumPy gives it, narrowed)."""
    if type(value) in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[type(value)]
    return canonical_dtype(np.asarray(value).dtype)


def _kind_of(dtype: np.dtype) -> str:
    return "i" if dtype.kind == "u" else dtype.kind


def result_type(strong: list[np.dtype], weak: list[np.dtype]) -> tuple[np.dtype, bool]:
    """JAX's result dtype, and whether it is weak, for an operation on values of the ``strong``
    and ``weak`` dtypes (at least one of them).

    Strong dtypes of one kind promote as NumPy's do (narrowed); a higher kind wins.  A weak
    dtype only counts when its kind is above every strong one, and then gives its kind's
    default dtype, weakly typed.
    """
    if strong:
        result = strong[0]
        for d in strong[1:]:
            if _RANK[_kind_of(d)] > _RANK[_kind_of(result)]:
                result = d
            elif _RANK[_kind_of(d)] == _RANK[_kind_of(result)]:
                result = canonical_dtype(np.promote_types(result, d))
        top = max((_RANK[_kind_of(d)] for d in weak), default=-1)
        if top > _RANK[_kind_of(result)]:
            return _DEFAULT[next(_kind_of(d) for d in weak if _RANK[_kind_of(d)] == top)], True
        return result, False
    top = max(weak, key=lambda d: _RANK[_kind_of(d)])
    return _DEFAULT[_kind_of(top)], True
