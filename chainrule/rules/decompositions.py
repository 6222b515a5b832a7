"""Matrix decompositions: ``linalg.cholesky``, ``eigvalsh`` and ``eigh`` (symmetric and
Hermitian matrices), ``svdvals`` and ``svd`` (singular values and vectors), ``qr``.  Real
matrices (float32, float64) and complex ones (complex64, complex128).

The notation of ``chainrule/rules/linalg.py`` (``A^H`` the conjugate transpose, ``A^T`` for a
real matrix; ``sym(X) = (X + X^H) / 2``, ``Phi(X)`` the lower triangle with its diagonal
halved); ``k = min(m, n)`` for an ``m x n`` matrix, ``F`` the matrix ``F[i, j] = 1 / (l_j -
l_i)`` off the diagonal, 0 on it, of eigenvalues ``l`` (of squared singular values for the
SVD).  Derivations: M. Giles (2008), I. Murray (2016, Cholesky), J. Townsend, "Differentiating
the singular value decomposition" (2016), H.-J. Liao et al., "Differentiable programming tensor
networks" (2019, QR), and for complex matrices JAX's rules (``jax/_src/lax/linalg.py``), checked
against finite differences in ``tests/rules/primitive_specs.py`` and against PyTorch and JAX in
``tests/tensor/test_linalg_complex.py``.

Design choices
--------------
* **One output per primitive, one decomposition per call.**  The engine records one result
  per primitive, so a decomposition with several results is several primitives (``eigvalsh``
  and ``eigh``; ``svdvals`` and ``svd``, whose ``part`` is ``"U"`` or ``"Vh"``; ``qr``, whose
  ``part`` is ``"Q"`` or ``"R"``).  The public functions hand the primitives of one call one
  empty :class:`Factors` as ``factors``: the first primitive to run computes the decomposition
  with NumPy and holds it there, and each returns its part (a copy, so that changing a result
  in place cannot change what the rules read); the rules read the other parts there, so a
  forward pass costs one decomposition and a backward pass none.  ``Factors`` is a
  :class:`~chainrule.rules.table.Scratch`: a plan of ``chainrule.compile`` makes an empty one
  at each replay, so a replay decomposes its own matrix once too.  Called without ``factors``
  (directly, as the tests do), a primitive computes what it needs.  With ``create_graph=True``
  (and inside a trace) the rules get the parts as tensors by calling the primitives on the
  saved input with the same ``factors``: so the input is saved (a change of it in place before
  backward is an error, as for every saved input).
* **Values are NumPy's, bit for bit**: each result comes from the NumPy call that gives it
  (``svdvals`` from ``svd(compute_uv=False)``, ``eigvalsh`` from ``eigvalsh``, which differ in
  the last bits from the values that come with the vectors), on Tensors as on arrays.
* **Symmetric matrices are read from one triangle**, as NumPy and PyTorch read them: ``eigh``
  and ``eigvalsh`` the triangle ``UPLO`` (``"L"``, the lower, by default), ``cholesky`` the
  lower one.  The function computed is therefore ``f(S(A))`` with ``S(A)`` the symmetric matrix
  that the triangle of ``A`` describes (``tril(A) + tril(A, -1)^T`` for ``"L"``), whatever the
  other triangle holds; Tensors and ndarrays give the same values for any input.  One rule
  gives its exact derivative: with ``G`` the (symmetric) gradient w.r.t. ``S``, the gradient
  w.r.t. ``A`` is ``G`` on the diagonal, ``2 G`` strictly inside the triangle and 0 outside it
  (forward mode: ``dS = S(dA)``), so finite differences agree for non-symmetric inputs too.  Of a
  symmetric parametrisation (``A = B + B^T``) the gradient is PyTorch's, which assumes ``A``
  symmetric and returns ``G``.  A complex ``A`` describes the Hermitian
  ``S(A) = tril(A, -1) + tril(A, -1)^H + Re(diag(A))``: LAPACK ignores the imaginary parts of
  the diagonal (NumPy's values, which Tensors give bit for bit), so their gradient is 0.
* **Complex matrices** follow the engine's convention (JAX's: the VJP is the transpose for the
  pairing ``Re(sum(ct * dz))``; ``chainrule/rules/elementwise.py``).  The JVPs are the real
  ones with ``^H`` for ``^T``; the VJPs are written in PyTorch's convention (the adjoint for
  ``Re(tr(C^H D))``, again the real rules with ``^H``), conjugating the cotangent on the way in
  and the result on the way out (``chainrule/rules/linalg.py``).  Each branch on complex values
  is taken only for complex matrices, so the real rules cost what they did.  Cholesky's ``L`` and
  QR's ``R`` have a real diagonal (LAPACK's), so they are unique and fully differentiable.
  Eigenvectors and singular vectors are not: each vector (for the SVD, each pair ``u_i``,
  ``v_i`` together) may be multiplied by any ``e^(i phi)``.  As in JAX, the rules choose
  ``Im(diag(V^H dV)) = 0`` for ``eigh``, and for the SVD ``Im(diag(V^H dV)) = 0`` with the
  whole of the phase that A fixes, ``Im(diag(U^H dA V)) / s``, in ``U``.  Only functions that
  do not depend on the phases (``|V|``, ``v_i v_i^H``, ``u_i vh_i``, ``U diag(s) Vh``) have
  meaningful derivatives; a loss that depends on them gets JAX's gradient, where PyTorch
  raises.
* **Repeated values** (PyTorch's documented behaviour): the gradients of the eigenvalues
  (``V diag(g) V^T``) and of the singular values (``U diag(g) V^T``) need no gaps and stay
  finite where values repeat; the vectors' gradients divide by the gaps (``F``) and are
  infinite or NaN where two values are equal, and, for a non-square matrix, by the singular
  values (NaN or infinite at a zero singular value).  They are meaningful only for losses that
  do not depend on the sign of each pair of singular vectors (on the basis within a repeated
  value's space); LAPACK's signs do not change under small changes of the input, which is
  what finite differences see (the phases of complex vectors: see above).
* **Full matrices** (``svd(full_matrices=True)`` with ``m != n``): the columns of ``U`` (rows
  of ``Vh``) beyond the ``k``-th are any basis of a complement and have no derivative: as in
  PyTorch, their gradient is ignored and their tangent is 0.
* **QR** (Householder, as LAPACK: R's diagonal may be negative): ``mode="reduced"`` is
  differentiable for full-rank tall and square matrices and for wide ones whose first ``m``
  columns are independent (``A = [X | Y]``, ``X = Q U``, ``R = [U | Q^T Y]``);
  ``mode="complete"`` equals it where ``m <= n``; ``mode="r"`` is differentiable too (the rules
  compute Q).  ``mode="complete"`` with ``m > n`` has no derivative (the extra columns of Q are
  any basis of a complement): the rules raise, with PyTorch's words.
"""

from __future__ import annotations

import numpy as np

from chainrule.arguments import dtype_of
from chainrule.rules.elementwise import conj, real_part, where
from chainrule.rules.linalg import (
    Factors,
    _adjoint,
    _conj,
    _is_complex,
    _parts,
    _swap_last,
    _sym,
    _unsqueeze,
    inv,
    matmul,
    solve,
)
from chainrule.rules.reductions import reduce_sum
from chainrule.rules.shape import cat, getitem, index_add
from chainrule.rules.table import primitive
from chainrule.tensor_base import TensorBase


def _option(factors, default):
    """The option ``factors`` was computed with, or ``default`` when they are empty: a rule
    reads the parts as the forward pass computed them."""
    return default if factors is None or factors.parts is None else factors.option


def _shared_on(x, factors):
    """The :class:`Factors` that primitives recorded on a tensor ``x`` share in a rule: the
    forward pass's, or a new, empty one (the first primitive then decomposes ``x``, and the
    others read it: once per call, and once per replay of a compiled plan)."""
    return factors if factors is not None else Factors()


def _copy(a):
    return np.array(a, copy=True)


def _quiet(rule):
    """``rule`` without NumPy's warnings for dividing by zero: where values repeat (or, for
    the SVD of a non-square matrix, one is 0) the result is infinite or NaN, as documented."""
    def quiet(*args, **params):
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(*args, **params)
    return quiet


def _size(a, axis: int) -> int:
    return np.shape(a)[axis]


def _columns(a, start, stop):
    """``a[..., :, start:stop]`` (a view for ndarrays, recorded for Tensors)."""
    return getitem(a, index=(Ellipsis, slice(None), slice(start, stop)), x_shape=np.shape(a))


def _rows(a, start, stop):
    """``a[..., start:stop, :]``."""
    return getitem(a, index=(Ellipsis, slice(start, stop), slice(None)), x_shape=np.shape(a))


def _placed(a, index, shape):
    """An array of ``shape``, zero but for ``a`` at ``index`` (the adjoint of slicing)."""
    return index_add(a, index=index, x_shape=shape)


def _column_sums(a):
    """The sum over the rows of each matrix: ``(..., m, k) -> (..., k)``."""
    shape = np.shape(a)
    return reduce_sum(a, axis=(len(shape) - 2,), keepdims=False, x_shape=shape)


def _inverse_gaps(w):
    """``F[i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it."""
    n = _size(w, -1)
    eye = np.eye(n, dtype=bool)
    return ~eye / (_unsqueeze(w, -2) - _unsqueeze(w, -1) + eye)  # (repeated values: inf)


# --------------------------------------------------------------------------------------------
# Reading one triangle: f(A) = f(S(A)), S(A) = T(A) + T_strict(A)^T (see the header)


def _triangle(n: int, uplo: str, strict: bool):
    lower = np.tri(n, k=-1 if strict else 0, dtype=bool)
    return lower if uplo == "L" else lower.T


def _symmetric_from(t, uplo: str):
    """``S(t)``: the symmetric (Hermitian) matrix that the triangle ``uplo`` of ``t``
    describes; of a complex ``t``, the real part of the diagonal (what LAPACK reads)."""
    n = _size(t, -1)
    if _is_complex(t):
        strict = t * _triangle(n, uplo, True)
        return strict + conj(_swap_last(strict)) + real_part(t) * np.eye(n, dtype=bool)
    return t * _triangle(n, uplo, False) + _swap_last(t * _triangle(n, uplo, True))


def _onto_triangle(g, uplo: str):
    """The gradient w.r.t. ``A`` of ``f(S(A))`` from ``g``, the symmetric (Hermitian) gradient
    w.r.t. ``S``: ``g`` on the diagonal (its real part), ``2 g`` strictly inside the triangle,
    0 outside.  (For complex matrices, in either convention: the transpose of ``S`` for
    ``Re(sum(C * D))`` maps ``G`` to ``tril(G + G^H, -1) + Re(diag(G))``, ``UPLO="L"``, and so
    does its adjoint for ``Re(tr(C^H D))``.)"""
    n = _size(g, -1)
    if _is_complex(g):
        return (g * _triangle(n, uplo, True)) * 2.0 + real_part(g) * np.eye(n, dtype=bool)
    weights = 2.0 * _triangle(n, uplo, True) + np.eye(n)
    return g * weights.astype(dtype_of(g))


# --------------------------------------------------------------------------------------------
# Cholesky (of the lower triangle, as NumPy and PyTorch)


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved (of a complex ``x``, the real part
    of its diagonal halved: the diagonal of ``L^-1 dL`` is real).  Its own adjoint."""
    n = _size(x, -1)
    if _is_complex(x):
        return x * np.tri(n, k=-1, dtype=bool) + (real_part(x) * np.eye(n, dtype=bool)) * 0.5
    return x * np.tri(n, k=-1, dtype=bool) + (x * np.eye(n, dtype=bool)) * 0.5


def _cholesky_vjp(g, ans, x):
    # S = L L^H:  S_bar = sym(L^-H Phi(L^H g) L^-1) (PyTorch's convention, for complex
    # matrices; see linalg.py), then onto the lower triangle
    complex_valued = _is_complex(ans)
    g = _conj(g, complex_valued)
    l_inv = inv(ans)
    s_bar = _sym(matmul(matmul(_adjoint(l_inv), _phi(matmul(_adjoint(ans), g))), l_inv))
    return _onto_triangle(_conj(s_bar, complex_valued), "L")


def _cholesky_jvp(ts, ans, x):
    # d L = L Phi(L^-1 dS L^-H), dS = S(dA)  (L^-1 dS L^-H = L^-1 dL + (L^-1 dL)^H, with
    # L^-1 dL lower triangular, its diagonal real)
    l_inv = inv(ans)
    ds = _symmetric_from(ts[0], "L")
    return matmul(ans, _phi(matmul(matmul(l_inv, ds), _adjoint(l_inv))))


NUMPY_HAS_UPPER = np.lib.NumpyVersion(np.__version__) >= "2.0.0"  # cholesky(a, upper=True)


def _cholesky(x, from_upper=False):
    # from_upper: x is A^H, and L = U^H for NumPy's U = cholesky(A, upper=True), which reads
    # A's upper triangle (the lower one of x): the same L as cholesky(x) in exact arithmetic,
    # and NumPy's bits for U (LAPACK's upper algorithm; NumPy 1 has only the lower one)
    if not from_upper or not NUMPY_HAS_UPPER:
        return np.linalg.cholesky(x)
    upper = np.linalg.cholesky(np.conj(np.swapaxes(x, -1, -2)), upper=True)
    return np.ascontiguousarray(np.conj(np.swapaxes(upper, -1, -2)))


# (the rules read ``from_upper`` as a keyword they ignore: the function is the same)
cholesky = primitive("linalg.cholesky", _cholesky,
                     (lambda g, ans, x, from_upper=False: _cholesky_vjp(g, ans, x),),
                     save_ans=True, jvp=lambda ts, ans, x, from_upper=False: _cholesky_jvp(
                         ts, ans, x), grad_fn="LinalgCholeskyExBackward0", batch="core")

# --------------------------------------------------------------------------------------------
# Eigenvalues and eigenvectors of the symmetric S(A)


def _eigh_factors(x, UPLO, factors):
    """``(w, V)``: raw arrays, or, for a tensor ``x`` (higher derivatives, a trace, vmap),
    recorded on it."""
    if isinstance(x, TensorBase):
        shared = _shared_on(x, factors)
        return (eigvalsh(x, UPLO=UPLO, factors=shared),
                eigh_vectors(x, UPLO=UPLO, factors=shared))
    parts = _parts(factors, UPLO, lambda a: np.linalg.eigh(a, UPLO), x)
    return parts if parts is not None else np.linalg.eigh(x, UPLO)


def _eigvalsh(x, UPLO="L", factors=None):
    parts = _parts(factors, UPLO, lambda a: np.linalg.eigh(a, UPLO), x)
    return _copy(parts[0]) if parts is not None else np.linalg.eigvalsh(x, UPLO)


def _eigvalsh_vjp(g, ans, x, UPLO="L", factors=None):
    # d l_i = v_i^H dS v_i:  S_bar = V diag(g) V^H, whose conjugate conj(V) diag(g) V^T is the
    # engine's (g real)
    _, v = _eigh_factors(x, UPLO, factors)
    return _onto_triangle(_conj(matmul(v * _unsqueeze(g, -2), _adjoint(v)), _is_complex(v)),
                          UPLO)


def _eigvalsh_jvp(ts, ans, x, UPLO="L", factors=None):
    # d l_i = v_i^H dS v_i: the column sums of conj(V) * (dS V) (real)
    _, v = _eigh_factors(x, UPLO, factors)
    dsv = matmul(_symmetric_from(ts[0], UPLO), v)
    if _is_complex(v):
        return real_part(_column_sums(conj(v) * dsv))
    return _column_sums(v * dsv)


eigvalsh = primitive("linalg.eigvalsh", _eigvalsh, (_eigvalsh_vjp,), save_inputs=True,
                     jvp=_eigvalsh_jvp, grad_fn="LinalgEigvalshBackward0",
                     batch="core")


def _eigh_vectors(x, UPLO="L", factors=None):
    parts = _parts(factors, UPLO, lambda a: np.linalg.eigh(a, UPLO), x)
    return _copy(parts[1]) if parts is not None else np.linalg.eigh(x, UPLO)[1]


def _eigh_vectors_vjp(g, ans, x, UPLO="L", factors=None):
    # d V = V (F * (V^H dS V)):  S_bar = sym(V (F * (V^H g)) V^H)  (PyTorch's convention)
    w, v = _eigh_factors(x, UPLO, factors)
    complex_valued = _is_complex(v)
    g = _conj(g, complex_valued)
    vh = _adjoint(v)
    s_bar = _sym(matmul(matmul(v, _inverse_gaps(w) * matmul(vh, g)), vh))
    return _onto_triangle(_conj(s_bar, complex_valued), UPLO)


def _eigh_vectors_jvp(ts, ans, x, UPLO="L", factors=None):
    # (JAX's: diag(V^H dV) = 0, the gauge of complex vectors)
    w, v = _eigh_factors(x, UPLO, factors)
    ds = _symmetric_from(ts[0], UPLO)
    return matmul(v, _inverse_gaps(w) * matmul(matmul(_adjoint(v), ds), v))


eigh_vectors = primitive("linalg.eigh", _eigh_vectors, (_quiet(_eigh_vectors_vjp),),
                         save_inputs=True, jvp=_quiet(_eigh_vectors_jvp),
                         grad_fn="LinalgEighBackward0", batch="core")


def eigh(a, UPLO: str = "L"):
    """``(eigenvalues, eigenvectors)`` of ``S(a)`` (the triangle ``UPLO``), ascending, as
    ``numpy.linalg.eigh``: one decomposition, shared by the two primitives.

    >>> import numpy as np
    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w.round(6).tolist(), np.abs(v).round(6).tolist()
    ([1.0, 3.0], [[0.707107, 0.707107], [0.707107, 0.707107]])
    """
    factors = Factors()
    return eigvalsh(a, UPLO=UPLO, factors=factors), eigh_vectors(a, UPLO=UPLO, factors=factors)


# --------------------------------------------------------------------------------------------
# Singular values and vectors: A = U diag(s) Vh, U (m x k), Vh (k x n) (the reduced SVD)


def _svd_factors(x, full_matrices, factors):
    """``(U, s, Vh)`` of the reduced SVD: raw arrays, or recorded on a tensor ``x``."""
    full_matrices = _option(factors, full_matrices)  # (the forward's: sliced below)
    if isinstance(x, TensorBase):
        shared = _shared_on(x, factors)
        options = dict(full_matrices=full_matrices, factors=shared)
        u, s, vh = (svd_vectors(x, part="U", **options), svdvals(x, factors=shared),
                    svd_vectors(x, part="Vh", **options))
    else:
        u, s, vh = (_parts(factors, full_matrices,
                           lambda a: np.linalg.svd(a, full_matrices=full_matrices), x)
                    or np.linalg.svd(x, full_matrices=full_matrices))
    k = _size(s, -1)  # (factors of full matrices: their first k columns of U, rows of Vh)
    if _size(u, -1) > k:
        u = _columns(u, 0, k)
    if _size(vh, -2) > k:
        vh = _rows(vh, 0, k)
    return u, s, vh


def _svdvals(x, factors=None):
    # (the values of the decomposition that U's primitive, which comes first, made with its
    # full_matrices; alone, NumPy's values without vectors)
    parts = None if factors is None else factors.parts
    return _copy(parts[1]) if parts is not None else np.linalg.svd(x, compute_uv=False)


def _svdvals_vjp(g, ans, x, factors=None):
    # d s_i = Re(u_i^H dA v_i):  A_bar = U diag(g) Vh, whose conjugate is the engine's (g real)
    u, _, vh = _svd_factors(x, False, factors)
    return _conj(matmul(u * _unsqueeze(g, -2), vh), _is_complex(u))


def _svdvals_jvp(ts, ans, x, factors=None):
    # d s_i = Re(u_i^H dA v_i): the column sums of conj(U) * (dA V) (real)
    u, _, vh = _svd_factors(x, False, factors)
    dav = matmul(ts[0], _adjoint(vh))
    if _is_complex(u):
        return real_part(_column_sums(conj(u) * dav))
    return _column_sums(u * dav)


svdvals = primitive("linalg.svdvals", _svdvals, (_svdvals_vjp,), save_inputs=True,
                    jvp=_svdvals_jvp, grad_fn="LinalgSvdBackward0", batch="core")


def _svd_vectors(x, part, full_matrices=False, factors=None):
    parts = _parts(factors, full_matrices,
                   lambda a: np.linalg.svd(a, full_matrices=full_matrices), x)
    if parts is not None:
        return _copy(parts[0 if part == "U" else 2])
    return np.linalg.svd(x, full_matrices=full_matrices)[0 if part == "U" else 2]


# With dP = U^H dA V (k x k), S = diag(s):
#   d U = U (F * (dP S + S dP^H) + D) + (I - U U^H) dA V S^-1
#   d V = V (F * (S dP + dP^H S)) + (I - V V^H) dA^H U S^-1
# (the second terms vanish for square matrices).  D is the phase of complex vectors (JAX's
# choice of gauge): each pair (u_i, v_i) may turn by a common e^(i phi), and
# Im(u_i^H du_i) - Im(v_i^H dv_i) = Im(dP_ii) / s_i is all that A fixes; JAX puts it in U,
# D = i Im(diag(dP)) / S (0 for real matrices, and where s_i = 0).  VJPs (PyTorch's convention,
# see linalg.py), with J = U^H U_bar, K = V^H V_bar:
#   A_bar = U ((F * (J - J^H)) S + i Im(diag(J)) / S) Vh + (I - U U^H) U_bar S^-1 Vh (from U)
#   A_bar = U S (F * (K - K^H)) Vh + U S^-1 V_bar^H (I - V V^H)                     (from Vh)


def _phase_weights(s):
    """``diag(1 / (2 s))`` (0 where ``s = 0``): ``(M - M^H) * this = i Im(diag(M)) / S``."""
    n = _size(s, -1)
    eye = np.eye(n, dtype=bool)
    zero = s == 0
    return eye * _unsqueeze(where(zero, 0.0, 0.5 / where(zero, 1.0, s)), -2)


def _svd_vectors_vjp(g, ans, x, part, full_matrices=False, factors=None):
    u, s, vh = _svd_factors(x, full_matrices, factors)
    complex_valued = _is_complex(u)
    g = _conj(g, complex_valued)
    k = _size(s, -1)
    f = _inverse_gaps(s * s)
    if part == "U":
        if _size(g, -1) > k:  # the extra columns of full matrices: their gradient is ignored
            g = _columns(g, 0, k)
        j = matmul(_adjoint(u), g)
        skew = j - _adjoint(j)
        inner = (f * skew) * _unsqueeze(s, -2)
        if complex_valued:
            inner = inner + skew * _phase_weights(s)
        left = matmul(u, inner)
        if _size(u, -2) > k:
            left = left + (g - matmul(u, j)) / _unsqueeze(s, -2)
        return _conj(matmul(left, vh), complex_valued)
    if _size(g, -2) > k:
        g = _rows(g, 0, k)
    kk = matmul(vh, _adjoint(g))  # V^H V_bar
    right = matmul(_unsqueeze(s, -1) * (f * (kk - _adjoint(kk))), vh)
    if _size(vh, -1) > k:
        right = right + (g - matmul(_adjoint(kk), vh)) / _unsqueeze(s, -1)
    return _conj(matmul(u, right), complex_valued)


def _svd_vectors_jvp(ts, ans, x, part, full_matrices=False, factors=None):
    u, s, vh = _svd_factors(x, full_matrices, factors)
    k = _size(s, -1)
    t = ts[0]
    f = _inverse_gaps(s * s)
    s_row, s_column = _unsqueeze(s, -2), _unsqueeze(s, -1)
    if part == "U":
        dav = matmul(t, _adjoint(vh))  # dA V
        dp = matmul(_adjoint(u), dav)
        inner = f * (dp * s_row + s_column * _adjoint(dp))
        if _is_complex(dp):
            inner = inner + (dp - _adjoint(dp)) * _phase_weights(s)
        du = matmul(u, inner)
        if _size(u, -2) > k:
            du = du + (dav - matmul(u, dp)) / s_row
        if _size(ans, -1) > k:  # the extra columns of full matrices: tangent 0
            du = _placed(du, (Ellipsis, slice(None), slice(0, k)), ans.shape)
        return du
    utda = matmul(_adjoint(u), t)  # U^H dA
    dp = matmul(utda, _adjoint(vh))
    omega = f * (s_column * dp + _adjoint(dp) * s_row)  # V^H dV
    dvh = matmul(_adjoint(omega), vh)
    if _size(vh, -1) > k:
        dvh = dvh + (utda - matmul(dp, vh)) / s_column
    if _size(ans, -2) > k:
        dvh = _placed(dvh, (Ellipsis, slice(0, k), slice(None)), ans.shape)
    return dvh


svd_vectors = primitive("linalg.svd", _svd_vectors, (_quiet(_svd_vectors_vjp),),
                        save_inputs=True, jvp=_quiet(_svd_vectors_jvp),
                        grad_fn="LinalgSvdBackward0", batch="core")


def svd(a, full_matrices: bool = True):
    """``(U, S, Vh)`` of ``a`` (batched), as ``numpy.linalg.svd``: one decomposition, shared by
    the three primitives.

    >>> import numpy as np
    >>> u, s, vh = svd(np.array([[3.0, 0.0], [0.0, -2.0]]))
    >>> s.tolist(), (u @ np.diag(s) @ vh).tolist()
    ([3.0, 2.0], [[3.0, 0.0], [0.0, -2.0]])
    """
    factors = Factors()
    options = dict(full_matrices=full_matrices, factors=factors)
    return (svd_vectors(a, part="U", **options), svdvals(a, factors=factors),
            svd_vectors(a, part="Vh", **options))


# --------------------------------------------------------------------------------------------
# QR: A = Q R, Q (m x k) with orthonormal columns, R (k x n) upper triangular

QR_NOT_DIFFERENTIABLE = ("The QR decomposition is not differentiable when mode='complete' and "
                         "nrows > ncols")


def _qr_values(x, part, mode="reduced", factors=None):
    parts = _parts(factors, mode, lambda a: np.linalg.qr(a, mode=mode), x)
    if parts is not None:
        return _copy(parts[0 if part == "Q" else 1])
    if mode == "r":
        return np.linalg.qr(x, mode="r")
    return np.linalg.qr(x, mode=mode)[0 if part == "Q" else 1]


def _qr_factors(x, mode, factors):
    """The reduced ``(Q, R)``: raw arrays, or recorded on a tensor ``x``."""
    m, n = np.shape(x)[-2:]
    if mode == "complete" and m > n:
        raise RuntimeError(f"chainrule.linalg.qr: {QR_NOT_DIFFERENTIABLE}; use mode='reduced' "
                           "(its Q is the first n columns of the complete Q)")
    # (the forward's mode: "complete" is "reduced" here, where m <= n)
    mode = _option(factors, "reduced")
    if isinstance(x, TensorBase):
        shared = _shared_on(x, factors)
        return (qr(x, part="Q", mode=mode, factors=shared),
                qr(x, part="R", mode=mode, factors=shared))
    parts = _parts(factors, mode, lambda a: np.linalg.qr(a, mode=mode), x)
    return parts if parts is not None else np.linalg.qr(x, mode=mode)


def _times_inverse(b, r):
    """``b R^-1``."""
    return _swap_last(solve(_swap_last(r), _swap_last(b), vector=False))


def _times_inverse_adjoint(b, r):
    """``b R^-H`` (``b R^-T`` for a real ``R``)."""
    return _adjoint(solve(r, _adjoint(b), vector=False))


def _square_qr_vjp(gq, gr, q, r):
    # R square (m >= n), PyTorch's convention (see linalg.py):
    #   A_bar = (Q_bar + Q copyltu(M)) R^-H,  M = R R_bar^H - Q_bar^H Q, copyltu(M) the
    #   symmetric (Hermitian) matrix of M's lower triangle, S(M) of _symmetric_from
    m = None if gr is None else matmul(r, _adjoint(gr))
    if gq is not None:
        qq = matmul(_adjoint(gq), q)
        m = -qq if m is None else m - qq
    b = matmul(q, _symmetric_from(m, "L"))
    return _times_inverse_adjoint(b if gq is None else gq + b, r)


def _square_qr_jvp(t, q, r):
    # X = Q^H dA R^-1 = Q^H dQ + dR R^-1, Q^H dQ skew-Hermitian, dR R^-1 upper triangular with
    # a real diagonal (LAPACK's R has one):  Omega = tril(X, -1) - tril(X, -1)^H + i Im(diag(X)),
    # dR = (X - Omega) R,  dQ = dA R^-1 - Q (X - Omega)
    dar = _times_inverse(t, r)
    x = matmul(_adjoint(q), dar)
    low = x * np.tri(_size(x, -1), k=-1, dtype=bool)
    upper = x - (low - _adjoint(low))
    if _is_complex(x):
        upper = upper - ((x - conj(x)) * np.eye(_size(x, -1), dtype=bool)) * 0.5
    return dar - matmul(q, upper), matmul(upper, r)


def _qr_vjp(g, ans, x, part, mode="reduced", factors=None):
    q, r = _qr_factors(x, mode, factors)
    complex_valued = _is_complex(q)
    g = _conj(g, complex_valued)
    m, n = np.shape(x)[-2:]
    if m >= n:
        gx = _square_qr_vjp(g, None, q, r) if part == "Q" else _square_qr_vjp(None, g, q, r)
        return _conj(gx, complex_valued)
    # wide: A = [X | Y], X = Q U, R = [U | Q^H Y]
    shape, axis = np.shape(x), len(np.shape(x)) - 1
    u = _columns(r, 0, m)
    if part == "Q":
        gx = _square_qr_vjp(g, None, q, u)
        return _conj(_placed(gx, (Ellipsis, slice(None), slice(0, m)), shape), complex_valued)
    y, gu, gv = _columns(x, m, n), _columns(g, 0, m), _columns(g, m, n)
    gx = _square_qr_vjp(matmul(y, _adjoint(gv)), gu, q, u)
    return _conj(cat(gx, matmul(q, gv), axis=axis, sizes=(m, n - m)), complex_valued)


def _qr_jvp(ts, ans, x, part, mode="reduced", factors=None):
    q, r = _qr_factors(x, mode, factors)
    t = ts[0]
    m, n = np.shape(x)[-2:]
    if m >= n:
        dq, dr = _square_qr_jvp(t, q, r)
        return dq if part == "Q" else dr
    dq, du = _square_qr_jvp(_columns(t, 0, m), q, _columns(r, 0, m))
    if part == "Q":
        return dq
    # R = [U | Q^H Y]:  dV = dQ^H Y + Q^H dY
    dv = matmul(_adjoint(dq), _columns(x, m, n)) + matmul(_adjoint(q), _columns(t, m, n))
    return cat(du, dv, axis=len(np.shape(x)) - 1, sizes=(m, n - m))


qr = primitive("linalg.qr", _qr_values, (_qr_vjp,), save_inputs=True, jvp=_qr_jvp,
               grad_fn="LinalgQrBackward0", batch="core")
