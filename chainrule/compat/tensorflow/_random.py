"""``tf.random``: normal and uniform samples from chainrule's generator (``tf.random.set_seed``
seeds it; the values differ from TensorFlow's)."""

from __future__ import annotations

import types as _types

import numpy as _np

import chainrule as _cr
from chainrule.compat.tensorflow._creation import _shape
from chainrule.compat.tensorflow._dtypes import as_dtype, float32
from chainrule.compat.tensorflow._tensors import Tensor


def _set_seed(seed) -> None:
    """Seed the generator behind ``tf.random`` (``chainrule.manual_seed``)."""
    _cr.manual_seed(int(seed))


def _normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None) -> Tensor:
    """Normal samples of ``shape`` (float32); reproducible after ``tf.random.set_seed``."""
    np_dtype = as_dtype(dtype)._np
    arr = _cr.randn(_shape(shape), dtype=np_dtype).numpy()
    if mean != 0.0 or stddev != 1.0:
        arr = (arr * np_dtype.type(stddev) + np_dtype.type(mean)).astype(np_dtype)
    return Tensor(_cr.as_tensor(_np.array(arr)))


def _uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None) -> Tensor:
    """Uniform samples on ``[minval, maxval)`` (``maxval`` 1 for floats)."""
    dt = as_dtype(dtype)
    if dt.is_integer:
        if maxval is None:
            raise ValueError("Must specify maxval for integer dtype")
        arr = _cr.randint(int(minval), int(maxval), _shape(shape)).numpy().astype(dt._np)
    else:
        hi = 1.0 if maxval is None else maxval
        arr = _cr.rand(_shape(shape), dtype=dt._np).numpy()
        arr = (arr * dt._np.type(hi - minval) + dt._np.type(minval)).astype(dt._np)
    return Tensor(_cr.as_tensor(_np.array(arr)))


random = _types.SimpleNamespace(normal=_normal, uniform=_uniform, set_seed=_set_seed)
