"""Linear algebra with PyTorch's names, checked: ``inv``, ``det``, ``slogdet``, ``solve``,
``cholesky``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``, ``qr``, ``pinv``, ``lstsq``, ``cond``
(``torch.linalg``'s signatures and named results) and ``legacy_svd`` (``torch.svd``: ``V``, not
``Vh``).

Both faces of the library call these: :mod:`chainrule.linalg` makes them public under
PyTorch's names, and ``chainrule.numpy.linalg`` calls them with NumPy's signatures (that module
translates the arguments).  So each check is written once: a function is given (batches of)
matrices, real or complex, square ones where it needs them, and a matrix NumPy cannot decompose
(singular, not positive-definite, no convergence) is a :class:`LinAlgError` naming the function,
before or instead of NumPy's message.  Errors name
``linalg.<function>``; ``chainrule.numpy`` renames them ``chainrule.numpy.linalg.<function>``.

Like :mod:`chainrule.ops`, this sits below :class:`~chainrule.tensor.Tensor` (whose ``svd``
method is :func:`legacy_svd`): results are of the class of the tensor given, and NumPy's when
no tensor is given.  A decomposition is computed once, with NumPy, and its parts handed to the
primitives of ``chainrule/rules/decompositions.py`` (which explains why, and the derivatives).
"""

from __future__ import annotations

import re
from collections import namedtuple

import numpy as np

from chainrule import norms, ops, tracing
from chainrule import rules as R
from chainrule.arguments import cannot_fail, data_of, like, no_gradient
from chainrule.engine import is_grad_enabled
from chainrule.errors import LinAlgError, ShapeError, broadcast_mismatch
from chainrule.rules.decompositions import QR_NOT_DIFFERENTIABLE
from chainrule.rules.linalg import Factors
from chainrule.tensor_base import TensorBase

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
LegacySVDResult = namedtuple("LegacySVDResult", ["U", "S", "V"])

# --------------------------------------------------------------------------------------------
# checks


def matrices(name: str, A):
    """``A`` (a tensor, or an ndarray) checked to be a matrix or a batch of them."""
    A = ops.operand(A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions "
                         f"(it has shape {tuple(A.shape)}); pass a matrix, or a batch of "
                         f"matrices")
    return A


def square(name: str, A):
    """``A`` checked to be a square matrix or a batch of them."""
    A = matrices(name, A)
    if A.shape[-1] != A.shape[-2]:
        # (PyTorch's words, then NumPy's: "Last 2 dimensions of the array must be square")
        raise ShapeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices (A has shape "
                         f"{tuple(A.shape)}): the last 2 dimensions of the array must be square")
    return A


def _uplo(name: str, UPLO) -> str:
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def _failed(name: str, err) -> LinAlgError:
    """NumPy's failure to decompose a matrix (its message, without the name of the primitive
    that the engine put before it), as a :class:`LinAlgError` naming ``name``."""
    reason = re.sub(r"^chainrule\.linalg\.\w+: ", "", str(err))  # (eig's is eigvals')
    return LinAlgError(f"linalg.{name}: {reason} (the matrix cannot be decomposed; check it "
                       f"for NaN or infinite values)")


def _decomposed(name: str, parts):
    """``parts()``, the primitives of a decomposition (which share one :class:`Factors`), with
    NumPy's failure to decompose a :class:`LinAlgError` named for ``name``."""
    try:
        return parts()
    except np.linalg.LinAlgError as err:
        raise _failed(name, err) from None


def check_not_hermitian(name: str, hermitian) -> None:
    if hermitian:
        raise NotImplementedError(f"linalg.{name}: hermitian=True is not supported yet; pass "
                                  f"hermitian=False (the result is the same for a Hermitian "
                                  f"matrix)")


def _differentiated(A) -> bool:
    return isinstance(A, TensorBase) and ((A._rg and is_grad_enabled())
                                          or A._tangents is not None)


# --------------------------------------------------------------------------------------------
# inverses, determinants, solves


def inv(A) -> TensorBase:
    """The inverse of a square matrix (or of each matrix of a batch)."""
    A = square("inv", A)
    try:
        return R.inv(A)
    except ValueError:
        raise LinAlgError("linalg.inv: the input matrix is singular (its determinant is 0), so "
                          "it has no inverse; to solve A x = b use linalg.solve with an "
                          "invertible A") from None


def det(A) -> TensorBase:
    """The determinant of a square matrix (or of each matrix of a batch)."""
    return R.det(square("det", A))


def slogdet(A) -> SlogdetResult:
    """``(sign, logabsdet)`` of a square matrix; only ``logabsdet`` carries a gradient."""
    return SlogdetResult(*R.slogdet(square("slogdet", A)))


def solve(A, B) -> TensorBase:
    """The solution X of ``A @ X = B`` (B a vector or a matrix, batched as NumPy)."""
    A, B = square("solve", A), ops.operand(B)
    try:
        return R.solve(A, B)
    except ValueError:
        raise _solve_error(A, B) from None


def _solve_error(A, B) -> Exception:
    """Why ``solve(A, B)`` failed: B's rows, the batch sizes, or a singular A."""
    n = A.shape[-1]
    if B.ndim == 0:
        return ShapeError(f"linalg.solve: B must be a vector or a matrix, not a 0-d tensor "
                          f"(A has shape {tuple(A.shape)})")
    rows, columns = (B.shape[0], 1) if B.ndim == 1 else B.shape[-2:]
    if rows != n:
        return ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                          f"({n}x{n} and {rows}x{columns}); B must have {n} rows (A has shape "
                          f"{tuple(A.shape)}, B {tuple(B.shape)})")
    mismatch = broadcast_mismatch([A.shape[:-2], B.shape[:-2]])
    if mismatch is not None:
        return ShapeError(f"linalg.solve: {mismatch} of the batch dimensions (A has shape "
                          f"{tuple(A.shape)}, B {tuple(B.shape)})")
    return LinAlgError("linalg.solve: The solver failed because the input matrix is singular; "
                       "A X = B has no unique solution")


# --------------------------------------------------------------------------------------------
# symmetric matrices (read from one triangle, as NumPy and PyTorch)


def cholesky(A, *, upper: bool = False) -> TensorBase:
    """The lower-triangular ``L`` with ``L @ L.mH = A`` (of A's lower triangle) for a symmetric
    (Hermitian) positive-definite ``A``; ``upper=True``: the upper-triangular ``U`` with
    ``U.mH @ U = A``, of A's upper triangle (as NumPy 2 and PyTorch read it)."""
    A = square("cholesky", A)
    if upper:  # the lower factor of A^H, whose lower triangle is A's upper one, conjugated
        A = ops.transpose(R.conj(A) if np.dtype(A.dtype).kind == "c" else A, -2, -1)
    try:
        L = R.cholesky(A, from_upper=True) if upper else R.cholesky(A)
    except ValueError:
        raise LinAlgError("linalg.cholesky: The factorization could not be completed because "
                          "the input is not positive-definite; A must be symmetric with "
                          "positive eigenvalues") from None
    if upper and np.dtype(L.dtype).kind == "c":
        L = R.conj(L)
    return ops.transpose(L, -2, -1) if upper else L


def eigh(A, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of the symmetric (Hermitian) matrix that the
    triangle ``UPLO`` of ``A`` describes."""
    A = square("eigh", A)
    _uplo("eigh", UPLO)
    factors = Factors()
    return _decomposed("eigh", lambda: EighResult(R.eigvalsh(A, UPLO=UPLO, factors=factors),
                                                  R.eigh_vectors(A, UPLO=UPLO,
                                                                 factors=factors)))


def eig(A) -> EigResult:
    """Eigenvalues and unit eigenvectors of a general square matrix, as NumPy returns them
    (complex, or real when every eigenvalue is real); only functions of the vectors that do
    not depend on their phases have derivatives (``chainrule/rules/eig.py``)."""
    A = square("eig", A)
    return _decomposed("eig", lambda: EigResult(R.eigvals(A), R.eig_vectors(A)))


def eigvals(A) -> TensorBase:
    """The eigenvalues of a general square matrix, as NumPy returns them."""
    A = square("eigvals", A)
    return _decomposed("eigvals", lambda: R.eigvals(A))


def eigvalsh(A, UPLO: str = "L") -> TensorBase:
    """Eigenvalues (ascending) of the symmetric (Hermitian) matrix that the triangle ``UPLO``
    of ``A`` describes."""
    A = square("eigvalsh", A)
    _uplo("eigvalsh", UPLO)
    try:
        return R.eigvalsh(A, UPLO=UPLO)
    except ValueError as err:
        raise _failed("eigvalsh", err) from None


# --------------------------------------------------------------------------------------------
# singular values, QR


def _no_driver(name: str, driver) -> None:
    if driver is not None:
        raise RuntimeError(f"linalg.{name}: keyword argument `driver=` is only supported on "
                           f"CUDA inputs with cuSOLVER backend; leave it None")


def svd(A, full_matrices: bool = True, *, driver=None) -> SVDResult:
    """``(U, S, Vh)`` with ``A = U @ diag(S) @ Vh``, singular values descending; with
    ``full_matrices=False`` the reduced decomposition."""
    A = matrices("svd", A)
    _no_driver("svd", driver)
    factors = Factors()
    options = dict(full_matrices=bool(full_matrices), factors=factors)
    return _decomposed("svd", lambda: SVDResult(R.svd_vectors(A, part="U", **options),
                                                R.svdvals(A, factors=factors),
                                                R.svd_vectors(A, part="Vh", **options)))


def svdvals(A, *, driver=None) -> TensorBase:
    """The singular values of ``A``, descending (their gradient ``U diag(g) Vh`` stays finite
    where they repeat)."""
    A = matrices("svdvals", A)
    _no_driver("svdvals", driver)
    try:
        return R.svdvals(A)
    except ValueError as err:
        raise _failed("svdvals", err) from None


def legacy_svd(input, some: bool = True, compute_uv: bool = True) -> LegacySVDResult:  # noqa: A002
    """``torch.svd``: ``(U, S, V)`` with ``input = U @ diag(S) @ V.mH``, reduced when ``some``;
    with ``compute_uv=False``, ``U`` and ``V`` are zeros of shapes ``(m, m)`` and ``(n, n)``."""
    A = matrices("svd", input)
    if not compute_uv:
        m, n = A.shape[-2:]
        zeros = [like((A,), np.zeros(A.shape[:-2] + (k, k), A.dtype)) for k in (m, n)]
        return LegacySVDResult(zeros[0], svdvals(A), zeros[1])
    U, S, Vh = svd(A, full_matrices=not some)
    return LegacySVDResult(U, S, ops.transpose(R.conj(Vh) if np.dtype(A.dtype).kind == "c"
                                               else Vh, -2, -1))


def qr(A, mode: str = "reduced") -> QRResult:
    """``(Q, R)`` with ``A = Q @ R``, ``Q`` with orthonormal columns and ``R`` upper triangular:
    ``mode="reduced"`` (``Q`` m x k), ``"complete"`` (``Q`` m x m) or ``"r"`` (``R`` alone,
    ``Q`` empty)."""
    A = matrices("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: qr received unrecognized mode {mode!r} but expected one "
                           f"of 'reduced' (default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    if mode == "complete" and m > n and _differentiated(A):
        raise RuntimeError(f"linalg.qr: {QR_NOT_DIFFERENTIABLE} (A has shape "
                           f"{tuple(A.shape)}): the last {m - n} columns of Q can be any basis "
                           f"of a complement; use mode='reduced' (its Q is the first {n} "
                           f"columns), or A.detach() if no gradient is wanted")
    if mode == "r":
        try:
            return QRResult(like((A,), np.empty((0,), A.dtype)), R.qr(A, part="R", mode="r"))
        except ValueError as err:
            raise _failed("qr", err) from None
    factors = Factors()
    return _decomposed("qr", lambda: QRResult(R.qr(A, part="Q", mode=mode, factors=factors),
                                              R.qr(A, part="R", mode=mode, factors=factors)))


# --------------------------------------------------------------------------------------------
# pseudoinverse, least squares, condition number


def eps(A) -> float:
    """The machine epsilon of ``A``'s (float or complex) dtype: of its real parts."""
    return float(np.finfo(A.dtype).eps) if np.dtype(A.dtype).kind in "fc" else \
        float(np.finfo(np.float64).eps)


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False) -> TensorBase:
    """The (Moore-Penrose) pseudoinverse; singular values at most ``max(atol, rtol * s_max)``
    count as zero (``rtol`` by default ``max(m, n) * eps``, or 0 when ``atol > 0`` is given).

    Its derivative is exact at full rank, and at lower rank is the derivative along the
    changes that keep the rank.
    """
    A = matrices("pinv", A)
    check_not_hermitian("pinv", hermitian)
    for value, what in ((atol, "atol"), (rtol, "rtol")):
        if value is not None and not isinstance(value, (int, float, np.number)):
            raise TypeError(f"linalg.pinv: {what} must be a number or None, not "
                            f"{type(value).__name__}")
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(A.shape[-2:]) * eps(A)
    return _pinv_checked(A, float(rtol), None if atol is None else float(atol))


def _pinv_checked(A, rtol: float, atol) -> TensorBase:
    try:
        return R.pinv(A, rtol=rtol, atol=atol)
    except ValueError as err:
        raise _failed("pinv", err) from None


def lstsq_parts(name: str, A, B, rcond: float):
    """``(solution, squared residuals, ranks, singular values)`` of the least-squares problems
    ``A X = B`` (batched, as PyTorch: ``B`` is a vector, or a batch of them, when 1-D or of
    shape ``A.shape[:-1]``): the solution differentiable, the residuals ``(..., k)``
    differentiable where computed (``m > n`` and every matrix of full rank; else empty), ranks
    and singular values without gradient."""
    A, B = matrices(name, A), ops.operand(B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    m, n = A.shape[-2:]
    rows = B.shape[-1] if vector else (B.shape[-2] if B.ndim >= 2 else None)
    if rows != m:
        raise ShapeError(f"{name}: input.size(-2) should match other.size(-2): A has {m} rows, "
                         f"B {rows} (A has shape {tuple(A.shape)}, B {tuple(B.shape)}); B must "
                         f"be of shape (..., {m}, k), or (..., {m}) for a vector")
    b_stack = tuple(B.shape[:-1] if vector else B.shape[:-2])
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), b_stack)
    except ValueError:
        raise ShapeError(f"{name}: {broadcast_mismatch([tuple(A.shape[:-2]), b_stack])} of the "
                         f"batch dimensions (A has shape {tuple(A.shape)}, B "
                         f"{tuple(B.shape)})") from None
    if any(isinstance(t, TensorBase) and t._batched for t in (A, B)):
        return _decomposed(name.removeprefix("linalg."),
                           lambda: _lstsq_mapped(A, B, rcond, vector))
    # NumPy's lstsq once, which the solution, the ranks and the singular values share (each
    # replay of a compiled plan solves its own problems once too)
    parts = Factors()
    traced = tracing.active[0] is not None

    def solved():
        X = R.lstsq(A, B, rcond=rcond, vector=vector, solution=parts)
        if not traced:  # (NumPy's ranks and values, which the primitive has just found)
            _, ranks, values = parts.parts
            return X, like((A, B), ranks), like((A, B), values)
        options = dict(rcond=rcond, vector=vector, parts=parts)
        return X, no_gradient(_ranks, A, B, **options), no_gradient(_values, A, B, **options)

    X, ranks, values = _decomposed(name.removeprefix("linalg."), solved)
    # (in a trace, a guard on the ranks where there can be residuals)
    if m > n and (bool((ranks == n).all()) if traced else bool(np.all(parts.parts[1] == n))):
        residuals = _squared_residuals(A, B, X, vector)
    else:
        residuals = like((A, B), np.empty((0,), values.dtype))
    return X, residuals, ranks, values


@cannot_fail
def _ranks(a, b, rcond: float, vector: bool, parts) -> np.ndarray:
    return R.lstsq_solved(a, b, rcond, vector, parts)[1].copy()


@cannot_fail
def _values(a, b, rcond: float, vector: bool, parts) -> np.ndarray:
    return R.lstsq_solved(a, b, rcond, vector, parts)[2].copy()


def _squared_residuals(A, B, X, vector: bool):
    """``sum |A X - B|^2`` over the rows of each problem: ``(..., k)``."""
    error = ops.matmul(A, ops.unsqueeze(X, -1) if vector else X) - (
        ops.unsqueeze(B, -1) if vector else B)
    squares = R.real_part(error * R.conj(error)) if error.dtype.kind == "c" else error * error
    return ops.sum(squares, -2)


def _lstsq_mapped(A, B, rcond: float, vector: bool):
    """:func:`lstsq_parts` under vmap, whose examples' values cannot be read here: everything
    is computed by primitives, batched by their rules.  The ranks count the singular values
    above ``rcond * s_max``, as LAPACK's gelsd does; the residuals are there whenever
    ``m > n`` (whether each example has full rank cannot decide the shape of a batched
    result: where one has not, they are those of its minimum-norm solution)."""
    X = R.lstsq(A, B, rcond=rcond, vector=vector)
    m, n = A.shape[-2:]
    values = R.svdvals(A.detach())
    cutoff = R.amax(values, axis=(-1,), keepdims=True, x_shape=tuple(values.shape)) * rcond
    above = R.sign(R.relu(values - cutoff))  # 1 where s > cutoff, else 0
    ranks = R.cast(R.reduce_sum(above, axis=(-1,), keepdims=False, x_shape=tuple(above.shape)),
                   dtype=np.int64, x_dtype=above.dtype)
    if m > n:
        residuals = _squared_residuals(A, B, X, vector)
    else:
        residuals = like((A, B), np.empty((0,), values.dtype))
    return X, residuals, ranks, values


def lstsq(A, B, rcond=None, *, driver=None) -> LstsqResult:
    """The least-squares solution of ``A @ X = B`` (the minimum-norm one where it is not
    unique), with the squared residuals (where ``m > n`` and ``A`` has full rank), the ranks
    and the singular values of ``A``, all computed by NumPy's ``lstsq`` (LAPACK's ``gelsd``)
    whatever ``driver`` is named.  Singular values at most ``rcond * s_max`` count as zero
    (``rcond`` by default ``max(m, n) * eps``).  Only the solution and the residuals carry
    gradients, the solution's that of ``pinv(A) @ B`` (PyTorch's)."""
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"linalg.lstsq: parameter `driver` should be one of (gels, gelsy, "
                           f"gelsd, gelss), got {driver!r}")
    A = matrices("lstsq", A)
    if rcond is None:
        rcond = max(A.shape[-2:]) * eps(A)
    return LstsqResult(*lstsq_parts("linalg.lstsq", A, B, float(rcond)))


def cond(A, p=None) -> TensorBase:
    """The condition number of ``A`` in the norm ``p``: by default (``None``, ``2``) the ratio
    of the largest singular value to the smallest (``-2``: its inverse); for ``'fro'``,
    ``'nuc'``, ``1``, ``-1``, ``inf``, ``-inf`` (square ``A``), ``norm(A) * norm(inv(A))``.
    NaN (a zero singular value) becomes inf, unless ``A`` holds NaN, as in NumPy."""
    A = matrices("cond", A)
    if p is None or p in (2, -2):
        try:
            s = R.svdvals(A)
        except ValueError as err:
            raise _failed("cond", str(err).removeprefix("chainrule.linalg.svdvals: ")) from None
        first, last = ops.getitem(s, (Ellipsis, 0)), ops.getitem(s, (Ellipsis, -1))
        with np.errstate(all="ignore"):
            r = last / first if p == -2 else first / last
    else:
        A = square("cond", A)
        if p not in ("fro", "nuc", 1, -1, np.inf, -np.inf):
            raise RuntimeError(f"linalg.cond: got an invalid norm type {p!r}; use None, 2, -2, "
                               f"'fro', 'nuc', 1, -1, inf or -inf")
        try:
            inverse = R.inv(A)
        except ValueError:
            if _differentiated(A):
                raise LinAlgError("linalg.cond: the matrix is singular, so its condition "
                                  "number is infinite and has no derivative") from None
            return no_gradient(np.linalg.cond, A, p=p)  # (per example under vmap)
        r = norms.matrix_norm(A, p) * norms.matrix_norm(inverse, p)
    # NaN (a zero singular value) becomes inf, unless A holds NaN
    if R.batched(r) or tracing.active[0] is not None:
        # (per example, or at each replay of a compiled plan: no one decision for all)
        # (vmap lines up the examples' stacks of r and A as for an elementwise function:
        # each is read alone)
        return ops.where(no_gradient(np.isnan, r) & ~no_gradient(_holds_nan, A), np.inf, r)
    nan = np.isnan(data_of(r)) & ~_holds_nan(data_of(A))
    return ops.where(nan, np.inf, r) if nan.any() else r


def _holds_nan(a: np.ndarray) -> np.ndarray:
    """Whether each matrix of ``a`` holds a NaN."""
    return np.isnan(a).any(axis=(-2, -1))
