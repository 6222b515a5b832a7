"""``chainrule.nn.utils.stateless``: PyTorch's older home of ``functional_call`` (PyTorch
deprecates it in favour of ``torch.func.functional_call``); the same function as
``chainrule.func.functional_call``, which lives in :mod:`chainrule.stateless`.

>>> from chainrule.nn.utils.stateless import functional_call
>>> from chainrule.func import functional_call as same
>>> functional_call is same
True
"""

from chainrule.stateless import functional_call

__all__ = ["functional_call"]
