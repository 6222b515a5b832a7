"""More primitives for the table: cumulative sums and products, sort, and linear algebra.

Every entry is declared with :func:`chainrule.rules.primitive` and joins the same
``REGISTRY``; read the header of ``rules.py`` for how an entry reads.  The rules use only the
primitives of ``rules.py`` and of this module and Python operators, so they run on raw arrays
for a plain backward pass and are recorded on Tensors for higher derivatives.

Linear algebra works on the last two axes and broadcasts over the leading ones, as NumPy does.
The derivations are the standard ones (M. Giles, "An extended collection of matrix derivative
results for forward and reverse mode algorithmic differentiation", 2008; I. Murray, "Differentiation
of the Cholesky decomposition", 2016).  ``A^-T`` is the transposed inverse, ``sym(X)`` is
``(X + X^T) / 2`` and ``Phi(X)`` is the lower triangle of ``X`` with its diagonal halved.

Design choices
--------------
* ``sort`` is a primitive (its ``grad_fn`` is ``SortBackward0``, as in PyTorch).  Its rules are
  gathers by the permutation that sorts the input (``argsort``, recomputed from the saved input):
  the JVP gathers the tangent by it, the VJP gathers the cotangent by its inverse.  Both are
  ``getitem``, so the second derivative (zero) comes for free.
* ``cumprod`` is exact to every order on inputs without zeros.  At zeros the first derivatives
  (VJP and JVP) are exact and higher ones raise ``NotImplementedError``, as ``prod`` does.
* ``slogdet``: one differentiable primitive, ``logabsdet`` (``log|det a|``); the sign has no
  derivative and :func:`slogdet` returns it as a constant beside it.
* ``solve(a, b)`` reads ``b`` as NumPy's ``linalg.solve`` does, for the NumPy installed:
  NumPy 2 reads ``b`` as a vector only when it is 1-d (a batch of vectors is ``b[..., None]``);
  NumPy 1 reads it as a (batch of) vector(s) when ``b.ndim == a.ndim - 1``.  The keyword
  ``vector=True/False`` overrides this (the rules use ``vector=False``).
* ``cholesky``, ``eigvalsh`` and ``eigh_vectors`` compute on ``sym(a)`` (as JAX does).  NumPy
  reads only the lower triangle; on a symmetric ``a`` (the only meaningful input) ``sym(a)`` is
  ``a`` exactly, so the values are NumPy's bit for bit.  The function computed then depends on
  both triangles, its gradient is symmetric (PyTorch's gradient for a symmetric input) and it is
  the exact derivative of what is computed, for any input, so finite differences agree.
* ``eigh``: the engine has one output per primitive, so there are two primitives,
  ``eigvalsh`` (``LinalgEigvalsh``) and ``eigh_vectors`` (``LinalgEigh``), and :func:`eigh`
  returns the pair.  This costs one extra (eigenvalue-only) decomposition when both are used,
  and buys a gradient for the eigenvalues, ``V diag(g) V^T``, with no ``1/(l_j - l_i)``: it
  stays finite at repeated eigenvalues (an identity matrix).  The eigenvectors' gradient
  divides by the eigenvalue gaps and is infinite or NaN where two eigenvalues are equal.
* ``inv``, ``det`` and ``logabsdet`` need an invertible matrix for their derivatives (``det``'s
  gradient at a singular matrix would need the adjugate; NumPy's ``inv`` raises there).
"""

from __future__ import annotations

import numpy as np

from chainrule import engine
from chainrule.rules import (
    LEGACY_PROMOTION as NUMPY_1,
)
from chainrule.rules import (
    _keep_sum as _keep_sum_axes,
)
from chainrule.rules import (
    _raw,
    _swap_last,
    _unsqueeze,
    flip,
    getitem,
    matmul,
    primitive,
    reduce_sum,
    reshape,
)


def _sym(a):
    return (a + _swap_last(a)) * 0.5


def _drop_last(a):
    shape = np.shape(_raw(a))
    return reshape(a, shape=shape[:-1], x_shape=shape)


def _as_matrices(a):
    """``(...)`` -> ``(..., 1, 1)``: one scalar per matrix of a batch."""
    shape = np.shape(_raw(a))
    return reshape(a, shape=tuple(shape) + (1, 1), x_shape=shape)


def _sum_last(a, count):
    """The sum over the last ``count`` axes."""
    shape = np.shape(_raw(a))
    axes = tuple(range(len(shape) - count, len(shape)))
    return reduce_sum(a, axis=axes, keepdims=False, x_shape=shape)


def _keep_sum(a, axis):
    return _keep_sum_axes(a, (axis % np.ndim(_raw(a)),))


def _not_implemented_at_zeros(name):
    return NotImplementedError(
        f"chainrule.{name}: higher-order derivatives at inputs that contain zeros are not "
        "supported; perturb the zeros or write the product out with mul")


# --------------------------------------------------------------------------------------------
# Cumulative sum and product, sort


def _reverse_cumsum(a, axis):
    """``out_i = sum_{j >= i} a_j`` along ``axis``: the adjoint of ``cumsum``."""
    return flip(cumsum(flip(a, axis=axis), axis=axis), axis=axis)


# cumsum is linear: its adjoint sums from the end, d x_i = sum_{j >= i} g_j
cumsum = primitive("Cumsum", lambda x, axis: np.cumsum(x, axis=axis),
                   (lambda g, ans, x, axis: _reverse_cumsum(g, axis),), jvp="linear")


def _cumprod_parts(x, axis):
    """Coefficients of the exact first derivative of ``cumprod`` when ``x`` has zeros.

    Along each slice let ``z`` be the first zero (``n`` when there is none) and ``c`` the
    cumulative product with that zero replaced by 1.  Then
    ``d ans_j = c_j sum_{i <= j} dx_i / x_i`` for ``j < z`` and ``d ans_j = c_j dx_z`` for
    ``j >= z``: ``d ans = cumsum(dx * a) * b + sum(dx * at) * c2`` with the arrays returned.
    """
    xm = np.moveaxis(np.asarray(x), axis, -1)
    n = xm.shape[-1]
    zero = xm == 0
    z = np.where(zero.any(-1, keepdims=True), zero.argmax(-1, keepdims=True), n)
    i = np.arange(n)
    before = i < z
    c = np.cumprod(np.where(i == z, 1, xm), axis=-1)
    a = np.where(before, 1 / np.where(before, xm, 1), 0)
    parts = (a, np.where(before, c, 0), i == z, np.where(i >= z, c, 0))
    return tuple(np.moveaxis(p, -1, axis) for p in parts)


def _cumprod_vjp(g, ans, x, axis):
    # d ans_j / d x_i = ans_j / x_i for i <= j when no x is zero
    if not np.any(_raw(x) == 0):
        return _reverse_cumsum(g * ans, axis) / x
    if isinstance(x, engine.Tensor):
        raise _not_implemented_at_zeros("cumprod")
    a, b, at, c = _cumprod_parts(x, axis)
    return a * _reverse_cumsum(g * b, axis) + at * _keep_sum(g * c, axis)


def _cumprod_jvp(ts, ans, x, axis):
    # d ans = ans * cumsum(dx / x) when no x is zero
    if not np.any(_raw(x) == 0):
        return ans * cumsum(ts[0] / x, axis=axis)
    if isinstance(x, engine.Tensor):
        raise _not_implemented_at_zeros("cumprod")
    a, b, at, c = _cumprod_parts(x, axis)
    return cumsum(ts[0] * a, axis=axis) * b + _keep_sum(ts[0] * at, axis) * c


cumprod = primitive("Cumprod", lambda x, axis: np.cumprod(x, axis=axis), (_cumprod_vjp,),
                    save_inputs=True, save_ans=True, jvp=_cumprod_jvp)


def _along(positions, axis):
    """The index that gathers ``positions`` along ``axis`` (``take_along_axis``'s)."""
    index = list(np.indices(positions.shape, sparse=True))
    index[axis % positions.ndim] = positions
    return tuple(index)


def _sorting_permutation(x, axis):
    return np.argsort(_raw(x), axis=axis, kind="stable")


def _sort_vjp(g, ans, x, axis):
    # sorted = x[perm]: the gradient goes back to the original positions, g[inverse(perm)]
    perm = _sorting_permutation(x, axis)
    inverse = np.argsort(perm, axis=axis, kind="stable")
    return getitem(g, index=_along(inverse, axis), x_shape=np.shape(_raw(g)))


def _sort_jvp(ts, ans, x, axis):
    # d sorted = dx[perm]
    t = ts[0]
    return getitem(t, index=_along(_sorting_permutation(x, axis), axis),
                   x_shape=np.shape(_raw(t)))


sort = primitive("Sort", lambda x, axis: np.sort(x, axis=axis), (_sort_vjp,), save_inputs=True,
                 jvp=_sort_jvp)

# --------------------------------------------------------------------------------------------
# Inverse, determinants, solve

# d A^-1 = -A^-1 dA A^-1;  VJP: -A^-T g A^-T
inv = primitive("LinalgInvEx", np.linalg.inv,
                (lambda g, ans, x: -matmul(matmul(_swap_last(ans), g), _swap_last(ans)),),
                save_ans=True, jvp=lambda ts, ans, x: -matmul(matmul(ans, ts[0]), ans))


def _trace_inv_times(x, t):
    """``tr(A^-1 t)`` for each matrix of the batch."""
    return _sum_last(_swap_last(inv(x)) * t, 2)


# d det(A) = det(A) tr(A^-1 dA);  VJP: g det(A) A^-T
det = primitive("LinalgDet", np.linalg.det,
                (lambda g, ans, x: _as_matrices(g * ans) * _swap_last(inv(x)),),
                save_inputs=True, save_ans=True,
                jvp=lambda ts, ans, x: ans * _trace_inv_times(x, ts[0]))

# d log|det(A)| = tr(A^-1 dA);  VJP: g A^-T
logabsdet = primitive("LinalgSlogdet", lambda x: np.linalg.slogdet(x)[1],
                      (lambda g, ans, x: _as_matrices(g) * _swap_last(inv(x)),), save_inputs=True,
                      jvp=lambda ts, ans, x: _trace_inv_times(x, ts[0]))


def slogdet(a):
    """``(sign, logabsdet)`` of ``a`` (batched); ``sign`` is a constant (it has no derivative).

    >>> import numpy as np
    >>> sign, logabsdet = slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    """
    sign = np.linalg.slogdet(_raw(a))[0]
    if isinstance(a, engine.Tensor):
        sign = engine.wrap(np.asarray(sign))
    return sign, logabsdet(a)


def _numpy_reads_vector(a_ndim: int, b_ndim: int) -> bool:
    """Whether ``numpy.linalg.solve`` reads ``b`` as a vector (or a batch of vectors)."""
    return b_ndim == a_ndim - 1 if NUMPY_1 else b_ndim == 1


def _solve_matrices(a, b):
    # batch dimensions broadcast explicitly, so that NumPy 1 and 2 read b alike
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                           np.broadcast_to(b, batch + b.shape[-2:]))


def _reads_vector(a, b, vector) -> bool:
    if vector is not None:
        return vector
    return _numpy_reads_vector(np.ndim(_raw(a)), np.ndim(_raw(b)))


def _solve(a, b, vector=None):
    if _reads_vector(a, b, vector):
        return _solve_matrices(a, b[..., None])[..., 0]
    return _solve_matrices(a, b)


def _solve_db(g, ans, a, b, vector=None):
    # x = A^-1 b:  VJP for b: A^-T g
    return solve(_swap_last(a), g, vector=_reads_vector(a, b, vector))


def _solve_da(g, ans, a, b, vector=None):
    # VJP for A: -(A^-T g) x^T
    if _reads_vector(a, b, vector):
        gb = solve(_swap_last(a), _unsqueeze(g, -1), vector=False)
        return -matmul(gb, _unsqueeze(ans, -2))
    return -matmul(solve(_swap_last(a), g, vector=False), _swap_last(ans))


def _solve_jvp(ts, ans, a, b, vector=None):
    # d x = A^-1 (db - dA x)
    vec = _reads_vector(a, b, vector)
    x = _unsqueeze(ans, -1) if vec else ans
    ta, tb = ts
    rhs = None if tb is None else (_unsqueeze(tb, -1) if vec else tb)
    if ta is not None:
        rhs = -matmul(ta, x) if rhs is None else rhs - matmul(ta, x)
    dx = solve(a, rhs, vector=False)
    return _drop_last(dx) if vec else dx


solve = primitive("LinalgSolveEx", _solve, (_solve_da, _solve_db), save_inputs=True,
                  save_ans=True, reads=((0,), (0,)), jvp=_solve_jvp)

# --------------------------------------------------------------------------------------------
# Symmetric matrices: Cholesky, eigenvalues and eigenvectors (of sym(a), see the header)


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    n = np.shape(_raw(x))[-1]
    return x * np.tri(n, k=-1, dtype=bool) + (x * np.eye(n, dtype=bool)) * 0.5


def _cholesky_vjp(g, ans, x):
    # S = L L^T:  S_bar = L^-T Phi(L^T g) L^-1, symmetrized
    l_inv = inv(ans)
    return _sym(matmul(matmul(_swap_last(l_inv), _phi(matmul(_swap_last(ans), g))), l_inv))


def _cholesky_jvp(ts, ans, x):
    # d L = L Phi(L^-1 dS L^-T), dS = sym(dA)
    l_inv = inv(ans)
    return matmul(ans, _phi(matmul(matmul(l_inv, _sym(ts[0])), _swap_last(l_inv))))


cholesky = primitive("LinalgCholeskyEx", lambda x: np.linalg.cholesky(_sym(x)),
                     (_cholesky_vjp,), save_ans=True, jvp=_cholesky_jvp)


def _eigvalsh_vjp(g, ans, x):
    # d l_i = v_i^T dA v_i:  VJP: V diag(g) V^T
    v = eigh_vectors(x)
    return matmul(v * _unsqueeze(g, -2), _swap_last(v))


def _eigvalsh_jvp(ts, ans, x):
    # d l_i = v_i^T dA v_i: the column sums of V * (dA V)
    v = eigh_vectors(x)
    vdv = v * matmul(ts[0], v)
    shape = np.shape(_raw(vdv))
    return reduce_sum(vdv, axis=(len(shape) - 2,), keepdims=False, x_shape=shape)


eigvalsh = primitive("LinalgEigvalsh", lambda x: np.linalg.eigvalsh(_sym(x)),
                     (_eigvalsh_vjp,), save_inputs=True, jvp=_eigvalsh_jvp)


def _inverse_gaps(w):
    """``F[i, j] = 1 / (l_j - l_i)`` off the diagonal, 0 on it."""
    n = np.shape(_raw(w))[-1]
    eye = np.eye(n, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # repeated eigenvalues: inf
        return ~eye / (_unsqueeze(w, -2) - _unsqueeze(w, -1) + eye)


def _eigh_vectors_vjp(g, ans, x):
    # d V = V (F * (V^T dS V)):  VJP: sym(V (F * (V^T g)) V^T)
    f = _inverse_gaps(eigvalsh(x))
    return _sym(matmul(matmul(ans, f * matmul(_swap_last(ans), g)), _swap_last(ans)))


def _eigh_vectors_jvp(ts, ans, x):
    f = _inverse_gaps(eigvalsh(x))
    return matmul(ans, f * matmul(matmul(_swap_last(ans), _sym(ts[0])), ans))


eigh_vectors = primitive("LinalgEigh", lambda x: np.linalg.eigh(_sym(x))[1],
                         (_eigh_vectors_vjp,), save_inputs=True, save_ans=True,
                         jvp=_eigh_vectors_jvp)


def eigh(a):
    """``(eigenvalues, eigenvectors)`` of ``sym(a)``, ascending, as ``numpy.linalg.eigh``.

    >>> import numpy as np
    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w.round(6).tolist(), np.abs(v).round(6).tolist()
    ([1.0, 3.0], [[0.707107, 0.707107], [0.707107, 0.707107]])
    """
    return eigvalsh(a), eigh_vectors(a)
