"""``chainrule.linalg``: norms, inverses, determinants, solves and decompositions, with
PyTorch's ``torch.linalg`` names (the rules are in ``chainrule/rules/linalg.py``)."""

from __future__ import annotations

from chainrule import norms as _norms
from chainrule import rules as _R
from chainrule.functions import matrix_norm, tensor_arg, vector_norm
from chainrule.norms import EighResult, SlogdetResult
from chainrule.tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve",
           "cholesky", "eigh", "eigvalsh"]


def inv(A) -> Tensor:
    """The inverse of a square matrix (or of each matrix of a batch)."""
    return _R.inv(tensor_arg(A))


def det(A) -> Tensor:
    """The determinant of a square matrix (or of each matrix of a batch)."""
    return _R.det(tensor_arg(A))


def slogdet(A) -> SlogdetResult:
    """``(sign, logabsdet)``; only ``logabsdet`` carries a gradient."""
    return _norms.slogdet(tensor_arg(A))


def solve(A, B) -> Tensor:
    """The solution X of ``A @ X = B`` (B a vector or a matrix, batched as NumPy)."""
    return _R.solve(tensor_arg(A), tensor_arg(B))


def cholesky(A) -> Tensor:
    """The lower-triangular L with ``L @ L.T = A`` for symmetric positive-definite A."""
    return _R.cholesky(tensor_arg(A))


def eigh(A) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    return _norms.eigh(tensor_arg(A))


def eigvalsh(A) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix."""
    return _R.eigvalsh(tensor_arg(A))


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
