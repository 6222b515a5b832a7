"""NumPy's other elementwise functions under PyTorch's names (``asin``, ``atan2``, ``hypot``
...), as Tensor methods and public functions: the operations of the primitives of
``rules/elementwise_math.py``.

A part of :mod:`chainrule.ops` (kept apart to keep each module short): below
:class:`~chainrule.tensor.Tensor`, whose class body binds them, and like every operation,
returning results of the first tensor argument's class, NumPy's when given no tensor.
"""

from __future__ import annotations

from chainrule import rules as R
from chainrule.ops import unary
from chainrule.tensor_base import TensorBase

asin = arcsin = unary(R.asin, "Elementwise inverse sine (in [-pi/2, pi/2]).")
acos = arccos = unary(R.acos, "Elementwise inverse cosine (in [0, pi]).")
atan = arctan = unary(R.atan, "Elementwise inverse tangent (in (-pi/2, pi/2)).")
sinh = unary(R.sinh, "Elementwise hyperbolic sine.")
cosh = unary(R.cosh, "Elementwise hyperbolic cosine.")
asinh = arcsinh = unary(R.asinh, "Elementwise inverse hyperbolic sine.")
acosh = arccosh = unary(R.acosh, "Elementwise inverse hyperbolic cosine (x >= 1).")
atanh = arctanh = unary(R.atanh, "Elementwise inverse hyperbolic tangent (|x| < 1).")
log2 = unary(R.log2, "Elementwise base-2 logarithm.")
log10 = unary(R.log10, "Elementwise base-10 logarithm.")
exp2 = unary(R.exp2, "Elementwise 2**x.")
deg2rad = unary(R.deg2rad, "Degrees to radians, elementwise.")
rad2deg = unary(R.rad2deg, "Radians to degrees, elementwise.")
sinc = unary(R.sinc, "Elementwise normalised sinc, sin(pi x) / (pi x) (1 at 0).")


def atan2(input, other) -> TensorBase:
    """The angle of the point (``other``, ``input``): ``atan(input / other)`` in the right
    quadrant, elementwise and broadcasting.

    >>> import chainrule as cr
    >>> cr.atan2(cr.tensor([1.0]), cr.tensor([-1.0]))
    tensor([2.3562])
    """
    return R.atan2(input, other)


arctan2 = atan2


def hypot(input, other) -> TensorBase:
    """``sqrt(input**2 + other**2)``, elementwise and broadcasting, without overflow."""
    return R.hypot(input, other)


def logaddexp2(input, other) -> TensorBase:
    """``log2(2**input + 2**other)``, elementwise and broadcasting, without overflow."""
    return R.logaddexp2(input, other)


def fmax(input, other) -> TensorBase:
    """Elementwise maximum ignoring NaN (a NaN loses); ties share the gradient evenly."""
    return R.fmax(input, other)


def fmin(input, other) -> TensorBase:
    """Elementwise minimum ignoring NaN (a NaN loses); ties share the gradient evenly."""
    return R.fmin(input, other)
