"""``chainrule.linalg``: norms, inverses, determinants, solves and decompositions, with
PyTorch's ``torch.linalg`` names (the rules are in ``chainrule/rules/linalg.py``)."""

from __future__ import annotations

from chainrule import ops as _ops
from chainrule import rules as _R
from chainrule.functions import tensor_arg, vector_norm
from chainrule.ops import EighResult, SlogdetResult
from chainrule.tensor import Tensor

__all__ = ["norm", "vector_norm", "inv", "det", "slogdet", "solve", "cholesky", "eigh",
           "eigvalsh"]


def inv(A) -> Tensor:
    """The inverse of a square matrix (or of each matrix of a batch)."""
    return _R.inv(tensor_arg(A))


def det(A) -> Tensor:
    """The determinant of a square matrix (or of each matrix of a batch)."""
    return _R.det(tensor_arg(A))


def slogdet(A) -> SlogdetResult:
    """``(sign, logabsdet)``; only ``logabsdet`` carries a gradient."""
    return _ops.slogdet(tensor_arg(A))


def solve(A, B) -> Tensor:
    """The solution X of ``A @ X = B`` (B a vector or a matrix, batched as NumPy)."""
    return _R.solve(tensor_arg(A), tensor_arg(B))


def cholesky(A) -> Tensor:
    """The lower-triangular L with ``L @ L.T = A`` for symmetric positive-definite A."""
    return _R.cholesky(tensor_arg(A))


def eigh(A) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    return _ops.eigh(tensor_arg(A))


def eigvalsh(A) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix."""
    return _R.eigvalsh(tensor_arg(A))


def norm(input, ord=None, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """The vector 2-norm of all entries by default (the Frobenius norm of a matrix).

    Other ``ord`` values give vector norms over ``dim``; matrix norms other than Frobenius
    (``ord=2`` on a matrix, the spectral norm) are not supported.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([3., 4.]))
    tensor(5.)
    """
    input = tensor_arg(input)  # noqa: A001
    if ord is not None and ord != "fro" and dim is None and input.ndim >= 2:
        raise NotImplementedError(f"linalg.norm: matrix norm ord={ord!r} is not supported; "
                                  "use ord=None or 'fro', or pass dim= for vector norms")
    return vector_norm(input, ord, dim, keepdim)
