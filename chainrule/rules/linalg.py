"""Products and linear algebra: ``matmul``, ``dot``, ``einsum``, ``linalg.inv``, ``det``,
``slogdet``, ``solve``, ``cholesky``, ``eigh``.

The products are bilinear (forward mode: ``jvp="bilinear"``).  The rules use only primitives
of the table and Python operators, so they run on raw arrays for a plain backward pass and are
recorded on Tensors for higher derivatives.

Linear algebra works on the last two axes and broadcasts over the leading ones, as NumPy does.
The derivations are the standard ones (M. Giles, "An extended collection of matrix derivative
results for forward and reverse mode algorithmic differentiation", 2008; I. Murray, "Differentiation
of the Cholesky decomposition", 2016).  ``A^-T`` is the transposed inverse, ``sym(X)`` is
``(X + X^T) / 2`` and ``Phi(X)`` is the lower triangle of ``X`` with its diagonal halved.

Design choices
--------------
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

import string

import numpy as np

from chainrule.rules.reductions import reduce_sum, unreduce
from chainrule.rules.shape import broadcast_to, index_add, reshape, transpose
from chainrule.rules.table import LEGACY_PROMOTION, primitive, raw
from chainrule.tensor_base import TensorBase, new_like


def _swap_last(a):
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return transpose(a, axes=axes)


def _unsqueeze(a, axis):
    shape = list(a.shape)
    shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
    return reshape(a, shape=tuple(shape), x_shape=a.shape)


def _matmul_dx(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if x.ndim == 1:  # (n) @ (..., n, m)
        return matmul(_unsqueeze(g, -2), _swap_last(y))
    if y.ndim == 1:  # (..., n, k) @ (k)
        return _unsqueeze(g, -1) * y
    return matmul(g, _swap_last(y))


def _matmul_dy(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if y.ndim == 1 and x.ndim == 2:  # (n, k) @ (k): the adjoint is g @ x
        return matmul(g, x)
    if y.ndim == 1:  # (..., n, k) @ (k)
        out = matmul(_swap_last(x), _unsqueeze(g, -1))
        return reshape(out, shape=out.shape[:-1], x_shape=out.shape)
    if x.ndim == 1:  # (n) @ (..., n, m)
        return _unsqueeze(x, -1) * _unsqueeze(g, -2)
    return matmul(_swap_last(x), g)


matmul = primitive("matmul", np.matmul, (_matmul_dx, _matmul_dy), save_inputs=True,
                   reads=((1,), (0,)), jvp="bilinear", grad_fn="MmBackward0", symbol="@")
dot = primitive("dot", np.dot, (lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
                save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="DotBackward0")


def _einsum_parse(subscripts: str, shapes) -> tuple[list[str], str]:
    """Explicit letters for each operand and the output, with '...' spelled out."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    spare = [c for c in string.ascii_letters if c not in spec]
    widest = max((len(s) - len(t.replace("...", "")) for t, s in zip(ins, shapes)), default=0)
    fill = "".join(spare[:widest])
    resolved = []
    for term, shape in zip(ins, shapes):
        n = len(shape) - len(term.replace("...", ""))
        resolved.append(term.replace("...", fill[widest - n:] if n else ""))
    if arrow:
        out = out.replace("...", fill)
    else:
        letters = "".join(resolved)
        out = fill + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                    and c not in fill))
    return resolved, out


def _einsum_vjp(i, g, ans, *xs, subscripts):
    ins, out = _einsum_parse(subscripts, [np.shape(raw(x)) for x in xs])
    target = ins[i]
    shape = np.shape(raw(xs[i]))
    sizes = dict(zip(target, shape))
    # a letter may have size 1 in one operand and n in another (broadcasting): give every
    # other operand its full size, so that the gradient below has it too (the engine then
    # sums it back down to this operand's size 1)
    full: dict = {}
    for term, x in zip(ins, xs):
        for c, n in zip(term, np.shape(raw(x))):
            if n != 1 or c not in full:  # (a size of 1 broadcasts; 0 is a size like any other)
                full[c] = n
    xs = [x if j == i or np.shape(raw(x)) == tuple(full[c] for c in ins[j])
          else broadcast_to(x, shape=tuple(full[c] for c in ins[j]), x_shape=np.shape(raw(x)))
          for j, x in enumerate(xs)]
    distinct = "".join(dict.fromkeys(target))  # 'ii' -> 'i': a diagonal
    others = [t for j, t in enumerate(ins) if j != i]
    known = set(out).union(*others)
    # letters of this operand that appear nowhere else were summed out: broadcast them back
    kept = "".join(c for c in distinct if c in known)
    grad = einsum(*([g] + [x for j, x in enumerate(xs) if j != i]),
                  subscripts=",".join([out] + others) + "->" + kept)
    if kept != distinct:
        staged = tuple(sizes[c] if c in kept else 1 for c in distinct)
        grad = reshape(grad, shape=staged, x_shape=grad.shape)
        grad = broadcast_to(grad, shape=tuple(sizes[c] for c in distinct), x_shape=staged)
    if distinct != target:
        # a repeated index reads a diagonal; its adjoint writes the gradient back onto it
        grids = np.indices(grad.shape, sparse=True)
        index = tuple(grids[distinct.index(c)] for c in target)
        grad = index_add(grad, index=index, x_shape=shape)
    return grad


def _einsum(*xs, subscripts):
    ans = np.einsum(subscripts, *xs, optimize="greedy")
    # one operand: NumPy may return a view of it ('ij->ji', 'ii->i'); einsum is not one of
    # PyTorch's view operations, so its result has storage of its own
    if len(xs) == 1 and isinstance(ans, np.ndarray) and np.shares_memory(ans, xs[0]):
        ans = ans.copy()
    return ans


einsum = primitive("einsum", _einsum,
                   _einsum_vjp, save_inputs=True, jvp="bilinear", grad_fn="EinsumBackward0")

# --------------------------------------------------------------------------------------------
# Linear algebra


def _sym(a):
    return (a + _swap_last(a)) * 0.5


def _drop_last(a):
    shape = np.shape(raw(a))
    return reshape(a, shape=shape[:-1], x_shape=shape)


def _as_matrices(a):
    """``(...)`` -> ``(..., 1, 1)``: one scalar per matrix of a batch."""
    shape = np.shape(raw(a))
    return reshape(a, shape=tuple(shape) + (1, 1), x_shape=shape)


def _sum_last(a, count):
    """The sum over the last ``count`` axes."""
    shape = np.shape(raw(a))
    axes = tuple(range(len(shape) - count, len(shape)))
    return reduce_sum(a, axis=axes, keepdims=False, x_shape=shape)


# --------------------------------------------------------------------------------------------
# Inverse, determinants, solve

# d A^-1 = -A^-1 dA A^-1;  VJP: -A^-T g A^-T
inv = primitive("linalg.inv", np.linalg.inv,
                (lambda g, ans, x: -matmul(matmul(_swap_last(ans), g), _swap_last(ans)),),
                save_ans=True, jvp=lambda ts, ans, x: -matmul(matmul(ans, ts[0]), ans),
                grad_fn="LinalgInvExBackward0")


def _trace_inv_times(x, t):
    """``tr(A^-1 t)`` for each matrix of the batch."""
    return _sum_last(_swap_last(inv(x)) * t, 2)


# d det(A) = det(A) tr(A^-1 dA);  VJP: g det(A) A^-T
det = primitive("linalg.det", np.linalg.det,
                (lambda g, ans, x: _as_matrices(g * ans) * _swap_last(inv(x)),),
                save_inputs=True, save_ans=True,
                jvp=lambda ts, ans, x: ans * _trace_inv_times(x, ts[0]),
                grad_fn="LinalgDetBackward0")

# d log|det(A)| = tr(A^-1 dA);  VJP: g A^-T
logabsdet = primitive("linalg.slogdet", lambda x: np.linalg.slogdet(x)[1],
                      (lambda g, ans, x: _as_matrices(g) * _swap_last(inv(x)),), save_inputs=True,
                      jvp=lambda ts, ans, x: _trace_inv_times(x, ts[0]),
                      grad_fn="LinalgSlogdetBackward0")


def slogdet(a):
    """``(sign, logabsdet)`` of ``a`` (batched); ``sign`` is a constant (it has no derivative).

    >>> import numpy as np
    >>> sign, logabsdet = slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    """
    sign = np.linalg.slogdet(raw(a))[0]
    if isinstance(a, TensorBase):
        sign = new_like(a, np.asarray(sign))
    return sign, logabsdet(a)


def _numpy_reads_vector(a_ndim: int, b_ndim: int) -> bool:
    """Whether ``numpy.linalg.solve`` reads ``b`` as a vector (or a batch of vectors)."""
    return b_ndim == a_ndim - 1 if LEGACY_PROMOTION else b_ndim == 1


def _solve_matrices(a, b):
    # batch dimensions broadcast explicitly, so that NumPy 1 and 2 read b alike
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                           np.broadcast_to(b, batch + b.shape[-2:]))


def _reads_vector(a, b, vector) -> bool:
    if vector is not None:
        return vector
    return _numpy_reads_vector(np.ndim(raw(a)), np.ndim(raw(b)))


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


solve = primitive("linalg.solve", _solve, (_solve_da, _solve_db), save_inputs=True,
                  save_ans=True, reads=((0, "ans"), (0,)), jvp=_solve_jvp,
                  grad_fn="LinalgSolveExBackward0")

# --------------------------------------------------------------------------------------------
# Symmetric matrices: Cholesky, eigenvalues and eigenvectors (of sym(a), see the header)


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    n = np.shape(raw(x))[-1]
    return x * np.tri(n, k=-1, dtype=bool) + (x * np.eye(n, dtype=bool)) * 0.5


def _cholesky_vjp(g, ans, x):
    # S = L L^T:  S_bar = L^-T Phi(L^T g) L^-1, symmetrized
    l_inv = inv(ans)
    return _sym(matmul(matmul(_swap_last(l_inv), _phi(matmul(_swap_last(ans), g))), l_inv))


def _cholesky_jvp(ts, ans, x):
    # d L = L Phi(L^-1 dS L^-T), dS = sym(dA)
    l_inv = inv(ans)
    return matmul(ans, _phi(matmul(matmul(l_inv, _sym(ts[0])), _swap_last(l_inv))))


cholesky = primitive("linalg.cholesky", lambda x: np.linalg.cholesky(_sym(x)),
                     (_cholesky_vjp,), save_ans=True, jvp=_cholesky_jvp,
                     grad_fn="LinalgCholeskyExBackward0")


def _eigvalsh_vjp(g, ans, x):
    # d l_i = v_i^T dA v_i:  VJP: V diag(g) V^T
    v = eigh_vectors(x)
    return matmul(v * _unsqueeze(g, -2), _swap_last(v))


def _eigvalsh_jvp(ts, ans, x):
    # d l_i = v_i^T dA v_i: the column sums of V * (dA V)
    v = eigh_vectors(x)
    vdv = v * matmul(ts[0], v)
    shape = np.shape(raw(vdv))
    return reduce_sum(vdv, axis=(len(shape) - 2,), keepdims=False, x_shape=shape)


eigvalsh = primitive("linalg.eigvalsh", lambda x: np.linalg.eigvalsh(_sym(x)),
                     (_eigvalsh_vjp,), save_inputs=True, jvp=_eigvalsh_jvp,
                     grad_fn="LinalgEigvalshBackward0")


def _inverse_gaps(w):
    """``F[i, j] = 1 / (l_j - l_i)`` off the diagonal, 0 on it."""
    n = np.shape(raw(w))[-1]
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


eigh_vectors = primitive("linalg.eigh", lambda x: np.linalg.eigh(_sym(x))[1],
                         (_eigh_vectors_vjp,), save_inputs=True, save_ans=True,
                         jvp=_eigh_vectors_jvp, grad_fn="LinalgEighBackward0")


def eigh(a):
    """``(eigenvalues, eigenvectors)`` of ``sym(a)``, ascending, as ``numpy.linalg.eigh``.

    >>> import numpy as np
    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w.round(6).tolist(), np.abs(v).round(6).tolist()
    ([1.0, 3.0], [[0.707107, 0.707107], [0.707107, 0.707107]])
    """
    return eigvalsh(a), eigh_vectors(a)


# --------------------------------------------------------------------------------------------
# The nuclear norm

def _matrices_last(x, axis):
    """``x`` with the two axes of ``axis`` moved last (rows, then columns)."""
    return np.moveaxis(np.asarray(x), axis, (-2, -1))


def _nuclear_norm(x, ord, axis, keepdims):
    # ||A||_* = the sum of the singular values of A
    total = np.linalg.svd(_matrices_last(x, axis), compute_uv=False).sum(axis=-1)
    return np.expand_dims(total, tuple(sorted(axis))) if keepdims else total


def _nuclear_norm_vjp(g, ans, x, ord, axis, keepdims):
    # d ||A||_* = tr(U^T dA V) with A = U S V^T (reduced): VJP g U V^T.  At a repeated or zero
    # singular value this is the subgradient PyTorch gives
    if isinstance(x, TensorBase) or isinstance(g, TensorBase):
        raise NotImplementedError(
            "chainrule.linalg.matrix_norm: derivatives of the nuclear norm beyond the first "
            "need the derivative of the singular vectors, which chainrule does not have yet; "
            "use ord='fro', or compute the first derivative only")
    u, _, vh = np.linalg.svd(_matrices_last(x, axis), full_matrices=False)
    slope = np.moveaxis(u @ vh, (-2, -1), axis)
    return unreduce(g, tuple(sorted(axis)), keepdims, np.shape(x)) * slope


matrix_norm = primitive("linalg.matrix_norm", _nuclear_norm, (_nuclear_norm_vjp,),
                        save_inputs=True, jvp="reduction", grad_fn="LinalgMatrixNormBackward0")
