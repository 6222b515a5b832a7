"""How a ``DataLoader`` turns a list of samples into a batch: ``default_collate`` (PyTorch's
rules) and ``default_convert`` (used when automatic batching is off, ``batch_size=None``).

The collated structure follows the first sample: Tensors and ndarrays are stacked along a new
first dimension, Python floats become a float64 tensor, ints an int64 one, bools a bool one,
NumPy scalars a tensor of their dtype, strings stay a list; dicts (and other mappings) are
collated key by key, named tuples field by field, and tuples and lists position by position
-- a tuple sample gives a *list* of batches, as in PyTorch.
"""

from __future__ import annotations

import collections.abc
import copy
import numbers

import numpy as np

from chainrule.creation import as_tensor, float64, tensor
from chainrule.functions import stack
from chainrule.tensor import Tensor

_NOT_NUMERIC = "USO"  # NumPy dtype kinds (str, bytes, object) that make no tensor


def _error(kind: str) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {kind}. Pass a collate_fn to the DataLoader for "
                     f"other kinds of samples")


def _mapping(elem, parts: dict):
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(parts)
            return clone
        return type(elem)(parts)
    except TypeError:
        return parts


def default_collate(batch: list):
    """Stack a list of samples into a batch, following the structure of the first sample.

    >>> import chainrule as cr
    >>> from chainrule.utils.data import default_collate
    >>> default_collate([(1.0, 2), (3.0, 4)])
    [tensor([1., 3.], dtype=chainrule.float64), tensor([2, 4])]
    >>> default_collate([{"x": cr.tensor([1, 2])}, {"x": cr.tensor([3, 4])}])["x"]
    tensor([[1, 2],
            [3, 4]])
    """
    if not isinstance(batch, collections.abc.Sequence) or len(batch) == 0:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got "
                        f"{type(batch).__name__} of length "
                        f"{len(batch) if hasattr(batch, '__len__') else '?'}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in _NOT_NUMERIC:
            raise _error(f"numpy arrays of dtype {elem.dtype}")
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, (np.number, np.bool_)):
        return as_tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, numbers.Integral):  # int and bool
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _mapping(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError(f"default_collate: each element in list of batch should be of "
                               f"equal size, got lengths {[len(e) for e in batch]}")
        parts = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return parts  # PyTorch's rule: a tuple sample gives a list
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, part in enumerate(parts):
                    clone[i] = part
                return clone
            return type(elem)(parts)
        except TypeError:
            return parts
    raise _error(type(elem).__name__)


def default_convert(data):
    """ndarrays (and those inside lists, tuples, dicts) become tensors; everything else stays
    as it is.

    >>> import numpy as np
    >>> from chainrule.utils.data import default_convert
    >>> default_convert({"a": np.array([1.5, 2.5]), "b": "text"})
    {'a': tensor([1.5000, 2.5000], dtype=chainrule.float64), 'b': 'text'}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in _NOT_NUMERIC else as_tensor(data)
    if isinstance(data, (np.number, np.bool_)):
        return as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
