"""How a TensorFlow tensor shows its values: as the book's TF 2.12 printed them with NumPy 1."""

from __future__ import annotations

import builtins as _builtins

import numpy as _np


def _numpy_text(arr: _np.ndarray, is_repr: _builtins.bool) -> str:
    # the book's TF 2.12 shows 0-d values as NumPy 1 showed scalars: 28.0, 0.1, True
    if arr.ndim == 0:
        text = _scalar_text(arr[()])
    else:
        text = repr(arr) if is_repr else str(arr)
    return "\n" + text if "\n" in text else text


def _scalar_text(x) -> str:
    """NumPy 1's ``str`` of a scalar (NumPy 2 shows float32 values from 1e6 on in scientific
    notation): positional from 1e-4 to 1e16, shortest round-trip digits."""
    if isinstance(x, _np.floating) and _np.isfinite(x):
        # the bounds compared in the value's own precision, as TensorFlow compares them
        # (float16 cannot hold 1e16: its upper bound is infinity)
        with _np.errstate(over="ignore"):
            low, high = _np.array([1e-4, 1e16]).astype(x.dtype)
        if x == 0 or low <= abs(x) < high:
            return _np.format_float_positional(x, unique=True, trim="0")
        return _np.format_float_scientific(x, unique=True, trim="-", exp_digits=2)
    return str(x)
