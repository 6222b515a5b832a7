"""NumPy's other elementwise functions under PyTorch's names (``asin``, ``atan2``, ``hypot``
...), as Tensor methods and public functions: the operations of the primitives of
``rules/elementwise_math.py``.

A part of :mod:`chainrule.ops` (kept apart to keep each module short): below
:class:`~chainrule.tensor.Tensor`, whose class body binds them, and like every operation,
returning results of the first tensor argument's class, NumPy's when given no tensor.
"""

from __future__ import annotations

from chainrule import numpy_arrays, ops
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


# --------------------------------------------------------------------------------------------
# Arrays rearranged, with PyTorch's names and arguments (NumPy's are in numpy_arrays.py)


def tril(input, diagonal: int = 0) -> TensorBase:
    """``input`` (a matrix, or a batch of them) with the entries above its ``diagonal``-th
    diagonal set to zero."""
    return numpy_arrays.tril(input, diagonal)


def triu(input, diagonal: int = 0) -> TensorBase:
    """``input`` with the entries below its ``diagonal``-th diagonal set to zero."""
    return numpy_arrays.triu(input, diagonal)


def diag(input, diagonal: int = 0) -> TensorBase:
    """A vector on the ``diagonal``-th diagonal of a square matrix; of a matrix, that
    diagonal."""
    return numpy_arrays.diag(input, diagonal)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1) -> TensorBase:
    """The diagonal of the planes ``dim1``, ``dim2``, as the last dimension (a copy: PyTorch's
    is a view)."""
    return numpy_arrays.diagonal(input, offset, dim1, dim2)


def trace(input) -> TensorBase:
    """The sum of the diagonal of a matrix.

    >>> import chainrule as cr
    >>> cr.trace(cr.tensor([[1., 2.], [3., 4.]]))
    tensor(5.)
    """
    return numpy_arrays.trace(input)


def kron(input, other) -> TensorBase:
    """The Kronecker product: blocks ``input[i, j] * other``."""
    return numpy_arrays.kron(input, other)


def roll(input, shifts, dims=None) -> TensorBase:
    """The entries shifted by ``shifts`` along ``dims`` (of the flattened tensor by default),
    those that fall off one end coming back at the other."""
    return numpy_arrays.roll(input, shifts, dims)


def rot90(input, k: int = 1, dims=(0, 1)) -> TensorBase:
    """``input`` rotated by 90 degrees ``k`` times, from the first of ``dims`` to the second."""
    return numpy_arrays.rot90(input, k, tuple(dims))


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None) -> TensorBase:
    """The ``n``-th differences along ``dim``: ``input[i + 1] - input[i]``, ``n`` times."""
    return numpy_arrays.diff(input, n, dim, prepend, append)


def repeat_interleave(input, repeats, dim=None) -> TensorBase:
    """Each entry repeated ``repeats`` times along ``dim`` (of the flattened tensor by
    default)."""
    return numpy_arrays.repeat(input, ops.data_of(repeats), dim)


def fliplr(input) -> TensorBase:
    """``input`` reversed left to right (along dimension 1)."""
    return numpy_arrays.fliplr(input)


def flipud(input) -> TensorBase:
    """``input`` upside down (reversed along dimension 0)."""
    return numpy_arrays.flipud(input)
