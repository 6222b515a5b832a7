"""Creating tensors: ``tf.convert_to_tensor``, ``tf.range``, ``tf.zeros``, ``tf.ones``,
``tf.fill``, ``tf.linspace``, ``tf.eye``... (``tf.constant`` is defined with ``tf.Tensor``)."""

from __future__ import annotations

import builtins as _builtins

import numpy as _np

import chainrule as _cr
from chainrule.compat.tensorflow._dtypes import as_dtype, float32, int32
from chainrule.compat.tensorflow._tensors import (
    Tensor,
    Variable,
    _array,
    _as_tf,
    _TensorLike,
    constant,
)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """``value`` as a tensor (a tensor unchanged; a variable's current value)."""
    if isinstance(value, Tensor) and (dtype is None or as_dtype(dtype) == value.dtype):
        return value
    if isinstance(value, Variable) and (dtype is None or as_dtype(dtype) == value.dtype):
        return value.value()
    return constant(value, dtype=dtype)


def is_tensor(x) -> _builtins.bool:
    """Whether ``x`` is a ``tf.Tensor`` or a ``tf.Variable``."""
    return isinstance(x, (Tensor, Variable))


def range(start, limit=None, delta=1, dtype=None, name: str = "range") -> Tensor:  # noqa: A001
    """``tf.range(4)`` (int32), ``tf.range(4.0)`` or ``tf.range(4, dtype=tf.float32)``."""
    if limit is None:
        start, limit = 0, start
    values = [_np.asarray(v.numpy() if isinstance(v, _TensorLike) else v)
              for v in (start, limit, delta)]
    if dtype is None:
        dtype = float32 if any(v.dtype.kind == "f" for v in values) else int32
    np_dtype = as_dtype(dtype)._np
    arr = _np.arange(*(v.astype(np_dtype) for v in values), dtype=np_dtype)
    return Tensor(_cr.as_tensor(arr))


def _shape(shape) -> tuple:
    if isinstance(shape, _TensorLike):
        shape = shape.numpy().tolist()
    if isinstance(shape, (int, _np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def zeros(shape, dtype=float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with zeros, float32 by default."""
    return Tensor(_cr.as_tensor(_np.zeros(_shape(shape), as_dtype(dtype)._np)))


def ones(shape, dtype=float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ones, float32 by default."""
    return Tensor(_cr.as_tensor(_np.ones(_shape(shape), as_dtype(dtype)._np)))


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value``, of ``value``'s dtype."""
    arr = _array(value)
    return Tensor(_cr.as_tensor(_np.full(_shape(dims), arr, arr.dtype)))


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    """Zeros of ``input``'s shape, of its dtype unless ``dtype`` is given."""
    x = _as_tf(input)
    return zeros(x.shape, dtype or x.dtype)


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    """Ones of ``input``'s shape, of its dtype unless ``dtype`` is given."""
    x = _as_tf(input)
    return ones(x.shape, dtype or x.dtype)


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included); float32 for ints."""
    arr = _np.linspace(_array(start), _array(stop), int(num), axis=axis)
    dtype = _array(start).dtype
    return Tensor(_cr.as_tensor(arr.astype(dtype if dtype.kind == "f" else _np.float32)))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None) -> Tensor:
    """An identity matrix (ones on the diagonal), float32 by default; ``batch_shape`` is ignored."""
    return Tensor(_cr.as_tensor(_np.eye(num_rows, num_columns, dtype=as_dtype(dtype)._np)))
