"""Complex numbers under PyTorch's names: ``real``, ``imag``, ``conj``, ``angle``, ``complex``,
``polar``, as Tensor methods (``real`` and ``imag`` are properties) and public functions.

A part of :mod:`chainrule.ops` (kept apart to keep each module short).  Gradients of complex
values: inside the engine JAX's convention (the cotangent of ``z = x + iy`` is
``dL/dx - i dL/dy``); ``.grad``, hooks and ``autograd.grad`` give PyTorch's, its conjugate
(``chainrule/rules/elementwise.py`` explains both).

>>> import chainrule as cr
>>> z = cr.tensor([3 + 4j], dtype=cr.complex128, requires_grad=True)
>>> (z * z.conj()).real.sum().backward()  # |z|^2 = x^2 + y^2: PyTorch's gradient 2x + 2yi
>>> z.grad
tensor([6.+8.j], dtype=chainrule.complex128)
"""

from __future__ import annotations

import numpy as np

from chainrule import rules as R
from chainrule.ops import operand
from chainrule.tensor_base import TensorBase


def real(input) -> TensorBase:
    """The real part (of a real tensor: its values).

    >>> import chainrule as cr
    >>> cr.real(cr.tensor([1 + 2j]))
    tensor([1.])
    """
    return R.real_part(operand(input))


def imag(input) -> TensorBase:
    """The imaginary part of a complex tensor (a real one has none: an error, as PyTorch).

    >>> import chainrule as cr
    >>> cr.imag(cr.tensor([1 + 2j]))
    tensor([2.])
    """
    x = operand(input)
    if x.dtype.kind != "c":
        raise RuntimeError(f"imag is not implemented for tensors with non-complex dtypes (this "
                           f"one is {x.dtype}); the imaginary part of a real tensor is zero")
    return R.imag_part(x)


def conj(input) -> TensorBase:
    """The complex conjugate (of a real tensor: its values).

    >>> import chainrule as cr
    >>> cr.conj(cr.tensor([1 + 2j]))
    tensor([1.-2.j])
    """
    return R.conj(operand(input))


def angle(input) -> TensorBase:
    """The argument of each complex value, in (-pi, pi] (of a real one: 0, or pi if negative).

    >>> import chainrule as cr
    >>> cr.angle(cr.tensor([1j, -1.0]))
    tensor([1.5708, 3.1416])
    """
    return R.angle(operand(input))


def complex(real, imag) -> TensorBase:  # noqa: A001
    """``real + i imag`` from two real tensors of the same float dtype (PyTorch's rule).

    >>> import chainrule as cr
    >>> cr.complex(cr.tensor([1.0]), cr.tensor([2.0]))
    tensor([1.+2.j])
    """
    re, im = operand(real), operand(imag)
    if re.dtype != im.dtype or re.dtype.kind != "f":
        raise RuntimeError(f"complex: expected real and imag to be float tensors of the same "
                           f"dtype, but got {re.dtype} and {im.dtype}; cast them, e.g. "
                           "real.double() and imag.double()")
    unit = np.array(1j, np.result_type(re.dtype, np.complex64))  # i in the matching precision
    return re + im * unit


def polar(abs, angle) -> TensorBase:  # noqa: A002
    """``abs * (cos(angle) + i sin(angle))`` from two real tensors of the same float dtype.

    >>> import chainrule as cr
    >>> cr.polar(cr.tensor([2.0]), cr.tensor([0.0]))
    tensor([2.+0.j])
    """
    size, turn = operand(abs), operand(angle)
    return complex(size * R.cos(turn), size * R.sin(turn))
