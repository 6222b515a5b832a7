"""``chainrule.linalg``: norms, inverses, determinants, solves and decompositions, with
PyTorch's ``torch.linalg`` names (the rules are in ``chainrule/rules/linalg.py``).

Each function checks that it was given (batches of) square matrices before NumPy sees them,
and says in PyTorch's words what is wrong: a :class:`ShapeError` for sizes, a
:class:`LinAlgError` for a matrix that is singular or not positive-definite (both are
RuntimeErrors, as PyTorch's, and ValueErrors, as NumPy's).
"""

from __future__ import annotations

from chainrule import math_ops as _math_ops
from chainrule import norms as _norms
from chainrule import rules as _R
from chainrule.errors import LinAlgError, ShapeError, broadcast_mismatch
from chainrule.functions import matrix_norm, tensor_arg, vector_norm
from chainrule.norms import EighResult, SlogdetResult
from chainrule.tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve",
           "cholesky", "eigh", "eigvalsh", "cross", "LinAlgError"]


def _square(name: str, A) -> Tensor:
    """``A`` as a tensor, checked to be a square matrix or a batch of them."""
    A = tensor_arg(A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions "
                         f"(it has shape {A.shape}); pass a matrix, or a batch of matrices")
    if A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices (A has shape {A.shape})")
    return A


def inv(A) -> Tensor:
    """The inverse of a square matrix (or of each matrix of a batch)."""
    A = _square("inv", A)
    try:
        return _R.inv(A)
    except ValueError:
        raise LinAlgError("linalg.inv: the input matrix is singular (its determinant is 0), so "
                          "it has no inverse; to solve A x = b use linalg.solve with an "
                          "invertible A") from None


def det(A) -> Tensor:
    """The determinant of a square matrix (or of each matrix of a batch)."""
    return _R.det(_square("det", A))


def slogdet(A) -> SlogdetResult:
    """``(sign, logabsdet)``; only ``logabsdet`` carries a gradient."""
    return _norms.slogdet(_square("slogdet", A))


def solve(A, B) -> Tensor:
    """The solution X of ``A @ X = B`` (B a vector or a matrix, batched as NumPy)."""
    A, B = _square("solve", A), tensor_arg(B)
    try:
        return _R.solve(A, B)
    except ValueError:
        raise _solve_error(A, B) from None


def _solve_error(A, B) -> Exception:
    """Why ``solve(A, B)`` failed: B's rows, the batch sizes, or a singular A."""
    n = A.shape[-1]
    if B.ndim == 0:
        return ShapeError(f"linalg.solve: B must be a vector or a matrix, not a 0-d tensor "
                          f"(A has shape {A.shape})")
    rows, columns = (B.shape[0], 1) if B.ndim == 1 else B.shape[-2:]
    if rows != n:
        return ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                          f"({n}x{n} and {rows}x{columns}); B must have {n} rows (A has shape "
                          f"{A.shape}, B {B.shape})")
    mismatch = broadcast_mismatch([A.shape[:-2], B.shape[:-2]])
    if mismatch is not None:
        return ShapeError(f"linalg.solve: {mismatch} of the batch dimensions (A has shape "
                          f"{A.shape}, B {B.shape})")
    return LinAlgError("linalg.solve: The solver failed because the input matrix is singular; "
                       "A X = B has no unique solution")


def cholesky(A) -> Tensor:
    """The lower-triangular L with ``L @ L.T = A`` for symmetric positive-definite A."""
    A = _square("cholesky", A)
    try:
        return _R.cholesky(A)
    except ValueError:
        raise LinAlgError("linalg.cholesky: The factorization could not be completed because "
                          "the input is not positive-definite; A must be symmetric with "
                          "positive eigenvalues") from None


def eigh(A) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    return _norms.eigh(_square("eigh", A))


def eigvalsh(A) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix."""
    return _R.eigvalsh(_square("eigvalsh", A))


def cross(input, other, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the last by default), broadcasting the
    other dimensions (the inputs must have as many).

    >>> import chainrule as cr
    >>> cr.linalg.cross(cr.tensor([[1., 0., 0.]]), cr.tensor([[0., 1., 0.]]))
    tensor([[0., 0., 1.]])
    """
    return _math_ops.linalg_cross(tensor_arg(input), other, dim=dim)


def norm(input, ord=None, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """The vector 2-norm of all entries by default (the Frobenius norm of a matrix).

    With ``ord``, a 2-D input (or ``dim`` a pair of dimensions) gets the matrix norm
    :func:`matrix_norm`, a 1-D input (or ``dim`` one dimension) the vector norm.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([3., 4.]))
    tensor(5.)
    """
    input = tensor_arg(input)  # noqa: A001
    pair = dim is not None and not isinstance(dim, int) and len(dim) == 2
    if ord is not None and (pair or (dim is None and input.ndim == 2)):
        return matrix_norm(input, ord, (-2, -1) if dim is None else dim, keepdim)
    if ord is not None and dim is None and input.ndim > 2:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {input.ndim}D.")
    return vector_norm(input, ord, dim, keepdim)
