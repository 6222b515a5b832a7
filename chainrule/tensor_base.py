"""TensorBase: the fields of a tensor that the engine reads and writes, and nothing else.

The engine (recording, the backward walk, forward mode) works on these fields only, so it sits
below :class:`chainrule.tensor.Tensor`, which adds the public interface (properties, methods,
operators).  The engine never names ``Tensor``: a primitive's result is a new instance of its
first tensor argument's class (:func:`new_tensor`), as NumPy and PyTorch give subclasses back.

Fields
------
``_data``          the value: an ndarray, or a NumPy scalar for a 0-d result (NumPy computes
                   with those ten times faster than with 0-d arrays)
``_rg``            whether it requires grad
``_node``          the :class:`~chainrule.engine.Node` that produced it (``grad_fn``), or None
``_grad``          the accumulated gradient (a tensor), or None
``_vc``            the version counter, ``[n]``, shared with its views; None until needed
``_base``          for a view, the tensor whose storage it shares; else None
``_view_version``  (views only) the shared counter's value when the view's history was made
``_view_steps``    (views only) how it was made from ``_base``: ``((primitive, params), ...)``
``_hooks``         a leaf's gradient hooks, or None
``_tangents``      None, or ``{level: tangent}`` in forward mode (see ``forward.py``)

and one class attribute, ``_batched``: whether the tensor is a batched value of vmap.
"""

from __future__ import annotations

import numpy as np

from chainrule import tracing

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
"""The real dtypes a tensor that requires grad can have."""
COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))
DIFFERENTIABLE_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES
"""The dtypes a tensor that requires grad can have: floating point and complex."""

inplace_count = [0]
"""In-place changes to any tensor so far: a node whose count has not moved since it was
recorded needs no check of its saved inputs' versions."""


class TensorBase:
    """The state of a tensor (see the module docstring); :class:`~chainrule.tensor.Tensor` is
    the class users see."""

    __slots__ = ("_data", "_rg", "_node", "_grad", "_vc", "_base", "_view_version", "_view_steps",
                 "_hooks", "_tangents", "__weakref__")

    # the class of the results of operations on a tensor of this class: the class itself,
    # except where a subclass says otherwise (nn.Parameter's results are plain Tensors, as in
    # PyTorch); set for every subclass by __init_subclass__ (TensorBase itself is never an
    # operand)
    _result_class: type
    # True on vmap's BatchedTensor (chainrule/batching.py), whose ``_data`` holds only the
    # per-example shape and dtype and whose values are elsewhere
    _batched = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "_result_class" not in cls.__dict__:
            cls._result_class = cls

    @property
    def _version(self) -> int:
        return self._vc[0] if self._vc is not None else 0

    def _bump_version(self) -> None:
        inplace_count[0] += 1
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    def _with_node(self, node):
        """The same value as a new tensor whose history is ``node``: how the backward pass and
        forward mode see a saved result (vmap's BatchedTensor keeps its batch)."""
        return new_tensor(self._result_class, self._data, node)

    def _ensure_array(self) -> None:
        """Hold the value as an ndarray (not a NumPy scalar) so that it can be shared."""
        if not isinstance(self._data, np.ndarray):
            scalar, self._data = self._data, np.asarray(self._data)
            if tracing.active[0] is not None:
                tracing.array_made(scalar, self._data)


_new = object.__new__


def new_tensor(cls: type, data, node=None):
    """A tensor of class ``cls`` around a raw NumPy value, with no checks (the engine's
    constructor); it requires grad exactly when it has a node."""
    t = _new(cls)
    t._data = data
    t._rg = node is not None
    t._node = node
    t._grad = None
    t._vc = None
    t._base = None
    t._hooks = None
    t._tangents = None
    return t


def new_like(tensor: TensorBase, data, node=None):
    """A tensor of the class of ``tensor``'s results around ``data`` (see :func:`new_tensor`)."""
    return new_tensor(tensor._result_class, data, node)
