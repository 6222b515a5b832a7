"""``chainrule.nn.Parameter``: a Tensor that a :class:`~chainrule.nn.Module` registers as one
of its parameters when it is assigned as an attribute.

A Parameter is a leaf that requires grad (unless told otherwise).  The results of operations on
it are plain Tensors, as in PyTorch (``TensorBase._result_class``), so ``w * 2`` is not a
Parameter and assigning it to a module registers nothing.

>>> import chainrule as cr
>>> from chainrule.nn import Parameter
>>> w = Parameter(cr.tensor([1.0, 2.0]))
>>> w
Parameter containing:
tensor([1., 2.], requires_grad=True)
>>> type(w * 2).__name__
'Tensor'
"""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor registered as a parameter of the module it is assigned to, as
    ``torch.nn.Parameter(data=None, requires_grad=True)``.  It shares ``data``'s storage."""

    _result_class = Tensor

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            data._ensure_array()
            data = data._data
        elif not isinstance(data, np.ndarray):
            raise TypeError("Parameter: data must be a Tensor (or an ndarray), not "
                            f"{type(data).__name__}; wrap it with chainrule.tensor(...) first")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(np.array(self._data, copy=True), self._rg)
        memo[id(self)] = out
        return out

    def __reduce__(self):
        return (Parameter, (np.asarray(self._data), self._rg))
