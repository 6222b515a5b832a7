"""``chainrule.linalg``: norms, inverses, determinants, solves and decompositions, with
PyTorch's ``torch.linalg`` names, signatures and named results.

Each function makes its arguments tensors and calls the operation of
:mod:`chainrule.linalg_ops`, which checks them (the same checks as ``chainrule.numpy.linalg``'s)
and says in PyTorch's words what is wrong: a :class:`ShapeError` for sizes, a
:class:`LinAlgError` for a matrix that is singular, not positive-definite or cannot be
decomposed (both are RuntimeErrors, as PyTorch's, and ValueErrors, as NumPy's; a
``LinAlgError`` is also a ``numpy.linalg.LinAlgError``).  The rules are in
``chainrule/rules/linalg.py`` and ``chainrule/rules/decompositions.py``, whose docstrings say
where derivatives exist (repeated singular values, full matrices, QR's modes).

>>> import chainrule as cr
>>> A = cr.tensor([[3.0, 0.0], [4.0, 5.0]], requires_grad=True)
>>> cr.linalg.svdvals(A)
tensor([6.7082, 2.2361], grad_fn=<LinalgSvdBackward0>)
>>> cr.linalg.matrix_norm(A, "nuc").backward()   # the gradient is U Vh, A's polar factor
>>> A.grad
tensor([[ 0.8944, -0.4472],
        [ 0.4472,  0.8944]])
"""

from __future__ import annotations

import numpy as np

from chainrule import linalg_ops as _ops
from chainrule import math_ops as _math_ops
from chainrule.errors import LinAlgError
from chainrule.functions import matrix_norm, tensor_arg, vector_norm
from chainrule.linalg_ops import (
    EighResult,
    EigResult,
    LstsqResult,
    QRResult,
    SlogdetResult,
    SVDResult,
)
from chainrule.tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve",
           "cholesky", "eigh", "eigvalsh", "svd", "svdvals", "qr", "pinv", "lstsq", "cond",
           "cross", "eig", "eigvals", "LinAlgError"]


def inv(A) -> Tensor:
    """The inverse of a square matrix (or of each matrix of a batch)."""
    return _ops.inv(tensor_arg(A))


def det(A) -> Tensor:
    """The determinant of a square matrix (or of each matrix of a batch)."""
    return _ops.det(tensor_arg(A))


def slogdet(A) -> SlogdetResult:
    """``(sign, logabsdet)``; only ``logabsdet`` carries a gradient."""
    return _ops.slogdet(tensor_arg(A))


def solve(A, B) -> Tensor:
    """The solution X of ``A @ X = B`` (B a vector or a matrix, batched as NumPy)."""
    return _ops.solve(tensor_arg(A), tensor_arg(B))


def cholesky(A, *, upper: bool = False) -> Tensor:
    """The lower-triangular L with ``L @ L.mH = A`` for a symmetric (Hermitian) positive-definite
    A (read from its lower triangle, and the real part of its diagonal); ``upper=True`` gives
    ``L.mH``."""
    return _ops.cholesky(tensor_arg(A), upper=upper)


def eigh(A, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric (Hermitian) matrix, read from its
    triangle ``UPLO`` (``'L'`` lower, ``'U'`` upper).  Complex eigenvectors have phases that A
    does not fix: only functions that do not depend on them have derivatives.

    >>> import chainrule as cr
    >>> cr.linalg.eigh(cr.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    return _ops.eigh(tensor_arg(A), UPLO)


def eig(A) -> EigResult:
    """Eigenvalues and unit eigenvectors of a square matrix, complex (as PyTorch's); only
    functions of the vectors that do not depend on their phases have derivatives.

    >>> import chainrule as cr
    >>> cr.linalg.eig(cr.tensor([[0.0, -1.0], [1.0, 0.0]])).eigenvalues
    tensor([0.+1.j, 0.-1.j])
    """
    w, v = _ops.eig(tensor_arg(A))
    return EigResult(_as_complex(w), _as_complex(v))


def eigvals(A) -> Tensor:
    """The eigenvalues of a square matrix, complex (as PyTorch's)."""
    return _as_complex(_ops.eigvals(tensor_arg(A)))


def _as_complex(t: Tensor) -> Tensor:
    return t if t.is_complex() else t.to(np.result_type(t.dtype, np.complex64))


def eigvalsh(A, UPLO: str = "L") -> Tensor:
    """Eigenvalues (ascending) of a symmetric (Hermitian) matrix, read from its triangle
    ``UPLO``."""
    return _ops.eigvalsh(tensor_arg(A), UPLO)


def svd(A, full_matrices: bool = True, *, driver=None) -> SVDResult:
    """``(U, S, Vh)`` with ``A = U @ diag(S) @ Vh``, ``S`` descending; ``full_matrices=False``
    for the reduced decomposition.  The vectors' gradients are finite only where the singular
    values are distinct (and, for a non-square A, nonzero); with ``full_matrices=True`` the
    gradient of the columns of U (rows of Vh) beyond ``min(m, n)`` is ignored, as in PyTorch.
    Complex singular vectors have phases (each pair ``U[:, i]``, ``Vh[i]`` times ``e^(i phi)``
    and ``e^(-i phi)``): only functions that do not depend on them have derivatives.

    >>> import chainrule as cr
    >>> U, S, Vh = cr.linalg.svd(cr.tensor([[0.0, 2.0], [1.0, 0.0]]))
    >>> S
    tensor([2., 1.])
    """
    return _ops.svd(tensor_arg(A), full_matrices, driver=driver)


def svdvals(A, *, driver=None) -> Tensor:
    """The singular values of A, descending; their gradient ``U diag(g) Vh`` stays finite where
    they repeat."""
    return _ops.svdvals(tensor_arg(A), driver=driver)


def qr(A, mode: str = "reduced") -> QRResult:
    """``(Q, R)`` with ``A = Q @ R``: ``mode='reduced'`` (default), ``'complete'`` or ``'r'``
    (R alone; Q is empty).  Differentiable in every mode but ``'complete'`` with more rows
    than columns (there the input must not require grad).

    >>> import chainrule as cr
    >>> Q, R = cr.linalg.qr(cr.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> (Q @ R).round(decimals=6)
    tensor([[3., 1.],
            [4., 2.]])
    """
    return _ops.qr(tensor_arg(A), mode)


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The pseudoinverse of A; singular values at most ``max(atol, rtol * s_max)`` count as
    zero (``rtol`` defaults to ``max(m, n) * eps``, or to 0 when ``atol > 0``).  Its gradient
    is exact at full rank, also where singular values repeat."""
    return _ops.pinv(tensor_arg(A), atol=atol, rtol=rtol, hermitian=hermitian)


def lstsq(A, B, rcond=None, *, driver=None) -> LstsqResult:
    """``(solution, residuals, rank, singular_values)`` of the least-squares problem
    ``A @ X = B``, computed by NumPy's ``lstsq`` (``gelsd``) whatever the driver; the solution
    (and the residuals, where ``m > n`` and A has full rank) carry gradients, those of
    ``pinv(A) @ B``.

    >>> import chainrule as cr
    >>> cr.linalg.lstsq(cr.tensor([[1.0], [1.0]]), cr.tensor([[1.0], [3.0]])).solution
    tensor([[2.]])
    """
    return _ops.lstsq(tensor_arg(A), tensor_arg(B), rcond, driver=driver)


def cond(A, p=None) -> Tensor:
    """The condition number of A in the norm ``p`` (default: the ratio of the largest to the
    smallest singular value)."""
    return _ops.cond(tensor_arg(A), p)


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
