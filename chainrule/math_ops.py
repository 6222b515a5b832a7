"""NumPy's other elementwise functions under PyTorch's names (``asin``, ``atan2``, ``hypot``
...), as Tensor methods and public functions: the operations of the primitives of
``rules/elementwise_math.py``.

A part of :mod:`chainrule.ops` (kept apart to keep each module short): below
:class:`~chainrule.tensor.Tensor`, whose class body binds them, and like every operation,
returning results of the first tensor argument's class, NumPy's when given no tensor.
"""

from __future__ import annotations

import numpy as np

from chainrule import numpy_arrays, ops
from chainrule import rules as R
from chainrule.arguments import one_dim
from chainrule.errors import ShapeError, broadcast_mismatch
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
erf = unary(R.erf, "Elementwise error function, 2/sqrt(pi) times the integral of exp(-t**2) "
            "from 0 to x (no SciPy needed).")
erfc = unary(R.erfc, "Elementwise complementary error function 1 - erf(x), accurate where "
             "erf(x) is close to 1.")


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


def _matrices(name: str, input):
    """``input`` as an operand, checked to be a matrix or a batch of them."""
    x = ops.operand(input)
    if x.ndim < 2:
        raise ShapeError(f"{name}: input tensor must have at least 2 dimensions (it has shape "
                         f"{tuple(x.shape)})")
    return x


def tril(input, diagonal: int = 0) -> TensorBase:
    """``input`` (a matrix, or a batch of them) with the entries above its ``diagonal``-th
    diagonal set to zero."""
    return numpy_arrays.tril(_matrices("tril", input), diagonal)


def triu(input, diagonal: int = 0) -> TensorBase:
    """``input`` with the entries below its ``diagonal``-th diagonal set to zero."""
    return numpy_arrays.triu(_matrices("triu", input), diagonal)


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
    x = ops.operand(input)
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, but got tensor with dim {x.ndim} (shape "
                         f"{tuple(x.shape)}); for a batch of matrices use "
                         "diagonal(x, 0, -2, -1).sum(-1)")
    return numpy_arrays.trace(x)


def kron(input, other) -> TensorBase:
    """The Kronecker product: blocks ``input[i, j] * other``."""
    return numpy_arrays.kron(input, other)


def roll(input, shifts, dims=None) -> TensorBase:
    """The entries shifted by ``shifts`` along ``dims`` (of the flattened tensor by default),
    those that fall off one end coming back at the other."""
    counts = (np.size(ops.data_of(shifts)), 0 if dims is None else np.size(dims))
    if counts[0] != max(counts[1], 1):  # (one shift per dim: NumPy would broadcast)
        raise ShapeError(f"roll: shifts and dimensions must align. shifts: {counts[0]}, "
                         f"dims:{counts[1]}; give one shift per dimension")
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
    x = ops.operand(input)
    if dim is not None:
        one_dim("repeat_interleave", dim, x.ndim)
    return numpy_arrays.repeat(x, ops.data_of(repeats), dim)


def fliplr(input) -> TensorBase:
    """``input`` reversed left to right (along dimension 1)."""
    return numpy_arrays.fliplr(input)


def flipud(input) -> TensorBase:
    """``input`` upside down (reversed along dimension 0)."""
    return numpy_arrays.flipud(input)


def ravel(input) -> TensorBase:
    """The entries as a vector, row by row (a view where the layout allows, as ``reshape``).

    >>> import chainrule as cr
    >>> cr.ravel(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([1., 2., 3., 4.])
    """
    return ops.reshape(input, -1)


def _cross(name: str, input, other, dim: int) -> TensorBase:
    """PyTorch's cross product along ``dim``: inputs of as many dimensions, of length 3 along
    ``dim``, broadcasting in the others."""
    x, y = ops.operand(input), ops.operand(other)
    if x.ndim != y.ndim:
        raise ShapeError(f"{name}: inputs must have the same number of dimensions (got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)})")
    mismatch = broadcast_mismatch([x.shape, y.shape])
    if mismatch is not None:
        raise ShapeError(f"{name}: {mismatch} (got shapes {tuple(x.shape)} and "
                         f"{tuple(y.shape)})")
    d = one_dim(name, dim, x.ndim)
    if x.ndim == 0 or x.shape[d] != 3 or y.shape[d] != 3:
        lengths = "0-d inputs" if x.ndim == 0 else f"{x.shape[d]} and {y.shape[d]}"
        raise ShapeError(f"{name}: inputs dimension {dim} must have length 3. Got {lengths}")
    return numpy_arrays.cross(x, y, axis=d)


def cross(input, other, dim=None) -> TensorBase:
    """The cross product of 3-vectors along ``dim`` (by default the first dimension of size
    3, as PyTorch's ``torch.cross``; ``chainrule.linalg.cross`` takes the last).

    >>> import chainrule as cr
    >>> cr.cross(cr.tensor([1., 0., 0.]), cr.tensor([0., 1., 0.]))
    tensor([0., 0., 1.])
    """
    if dim is None:
        shape = ops.operand(input).shape
        if 3 not in shape:
            raise ShapeError(f"cross: no dimension of size 3 in input (of shape {tuple(shape)}); "
                             "pass dim")
        dim = list(shape).index(3)
    return _cross("cross", input, other, dim)


def linalg_cross(input, other, *, dim: int = -1) -> TensorBase:
    """``chainrule.linalg.cross``: the cross product of 3-vectors along ``dim`` (the last by
    default)."""
    return _cross("linalg.cross", input, other, dim)
