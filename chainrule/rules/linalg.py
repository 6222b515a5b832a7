"""Products and linear algebra: ``matmul``, ``dot``, ``einsum``, ``linalg.inv``, ``det``,
``slogdet``, ``solve``, ``pinv``, ``lstsq`` (the decompositions are in ``decompositions.py``).

The products are bilinear (forward mode: ``jvp="bilinear"``).  The rules use only primitives
of the table and Python operators, so they run on raw arrays for a plain backward pass and are
recorded on Tensors for higher derivatives.

Linear algebra works on the last two axes and broadcasts over the leading ones, as NumPy does.
The derivations are the standard ones (M. Giles, "An extended collection of matrix derivative
results for forward and reverse mode algorithmic differentiation", 2008; G. Golub and
V. Pereyra, "The differentiation of pseudo-inverses and nonlinear least squares problems",
1973).  ``A^-T`` is the transposed inverse, ``A^H`` the conjugate transpose (``A^T`` for a
real ``A``), ``sym(X)`` is ``(X + X^H) / 2`` and ``A^+`` the pseudoinverse.

The products, ``inv``, ``det``, ``slogdet`` and ``solve`` are holomorphic (``logabsdet`` the real
part of one), so their real rules hold for complex matrices in the engine's convention
(``chainrule/rules/elementwise.py``).  ``pinv`` is not (it involves ``A^H``): its rules are
written as described above :func:`_pinv_vjp_of`, and ``lstsq``'s follow from them.

Design choices
--------------
* ``slogdet``: one differentiable primitive, ``logabsdet`` (``log|det a|``); the sign has no
  derivative and :func:`slogdet` returns it as a constant beside it.
* ``solve(a, b)`` reads ``b`` as NumPy's ``linalg.solve`` does, for the NumPy installed:
  NumPy 2 reads ``b`` as a vector only when it is 1-d (a batch of vectors is ``b[..., None]``);
  NumPy 1 reads it as a (batch of) vector(s) when ``b.ndim == a.ndim - 1``.  The keyword
  ``vector=True/False`` overrides this (the rules use ``vector=False``).
* ``inv``, ``det`` and ``logabsdet`` need an invertible matrix for their derivatives (``det``'s
  gradient at a singular matrix would need the adjugate; NumPy's ``inv`` raises there).
* ``pinv`` and ``lstsq`` are primitives with their own rules rather than compositions of the
  SVD: the SVD's vectors have no derivative where singular values repeat (an orthogonal matrix),
  the pseudoinverse has one wherever the rank does not change.  The rule is Golub and Pereyra's,
  ``d A^+ = -A^+ dA A^+ + A^+ A^+H dA^H (I - A A^+) + (I - A^+ A) dA^H A^+H A^+`` (PyTorch's):
  the exact derivative at full rank, and at lower rank the derivative along the changes that
  keep the rank (the pseudoinverse jumps along the others).  Singular values that the
  tolerance cuts off without being zero (a large ``rtol``, a regularisation) are not exactly
  handled: the rule, as PyTorch's, uses A itself where the derivative of the truncated
  pseudoinverse would need the truncated A and its singular vectors' derivatives.
* ``lstsq``'s solution is NumPy's (LAPACK's ``gelsd``, one matrix of a batch at a time) and
  its derivative that of ``A^+ b`` with the same cutoff for small singular values
  (``rcond``), as in PyTorch.
"""

from __future__ import annotations

import string

import numpy as np

from chainrule.arguments import dtype_of, no_gradient
from chainrule.rules.elementwise import conj
from chainrule.rules.reductions import reduce_sum
from chainrule.rules.shape import broadcast_to, index_add, reshape, transpose
from chainrule.rules.table import LEGACY_PROMOTION, Scratch, primitive, run


class Factors(Scratch):
    """One NumPy computation that the primitives of one call share (a decomposition's parts,
    ``chainrule/rules/decompositions.py``; ``lstsq``'s solutions, ranks and singular values):
    empty until the first of them runs, then NumPy's result (``parts``: the tuple it returns)
    and the option it was computed with (``option``: ``UPLO``, ``full_matrices``, QR's
    ``mode``, lstsq's ``(rcond, vector)``).  A :class:`Scratch`: a compiled plan makes an empty
    one at each replay."""

    __slots__ = ("parts", "option")

    def __init__(self) -> None:
        self.parts = self.option = None


def _parts(factors, option, decompose, x):
    """The parts of the decomposition that ``factors`` shares, ``decompose(x)`` when it is
    still empty (kept there for the others); None without ``factors``, or when they were
    computed with another ``option`` (the caller decomposes on its own)."""
    if factors is None:
        return None
    if factors.parts is None:
        factors.parts, factors.option = decompose(x), option
    elif factors.option != option:
        return None
    return factors.parts


def _swap_last(a):
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return transpose(a, axes=axes)


def _is_complex(*arrays) -> bool:
    """Whether any of ``arrays`` (ndarrays, Tensors or None) is complex."""
    for a in arrays:
        if a is not None and dtype_of(a).kind == "c":
            return True
    return False


def _adjoint(a):
    """``a^H``, the conjugate transpose of each matrix (the transpose of a real one)."""
    return conj(_swap_last(a)) if _is_complex(a) else _swap_last(a)


def _conj(a, flag: bool):
    """``conj(a)`` if ``flag``, else ``a``: the real path of a rule stays as it was."""
    return conj(a) if flag else a


def _unsqueeze(a, axis):
    shape = list(a.shape)
    shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
    return reshape(a, shape=tuple(shape), x_shape=a.shape)


def _matmul_dx(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if x.ndim == 1:  # (n) @ (..., n, m)
        return matmul(_unsqueeze(g, -2), _swap_last(y))
    if y.ndim == 1 and x.ndim == 2:  # (n, k) @ (k): the outer product g y^T (an einsum: one
        return einsum(g, y, subscripts="i,j->ij")  # pass, also over vmap's batch)
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


def _stack_rank(a, batched: bool) -> int:
    return a.ndim - 1 if batched else a.ndim


def _ones_after_batch(a, rank: int):
    """A batched value (batch at axis 0) with 1s after the batch up to per-example rank
    ``rank``, so that matmul's broadcasting of the stack dims keeps the batch first."""
    missing = rank - (a.ndim - 1)
    if missing <= 0:
        return a
    return reshape(a, shape=a.shape[:1] + (1,) * missing + a.shape[1:], x_shape=a.shape)


def batch_matmul(prim, values, batched, size):
    """vmap's rule: ``x_b @ y_b`` for each example ``b`` (batch at axis 0 in and out)."""
    x, y = values
    bx, by = batched
    if not by and y.ndim <= 2:  # (B, ..., k) @ (k[, m]): NumPy's broadcasting, one GEMM
        return run(matmul, x, y)
    if not bx and x.ndim == 2 and y.ndim == 2:  # W @ y_b for each b: (y_b @ W^T) as rows
        return run(matmul, y, run(transpose, x, axes=(1, 0)))
    # in general: vectors as matrices (x a row, y a column), the batch axes aligned, and the
    # added axes dropped after
    x_vector, y_vector = _stack_rank(x, bx) == 1, _stack_rank(y, by) == 1
    if x_vector:
        x = _unsqueeze(x, -2)
    if y_vector:
        y = _unsqueeze(y, -1)
    rank = max(_stack_rank(x, bx), _stack_rank(y, by))
    out = matmul(_ones_after_batch(x, rank) if bx else x, _ones_after_batch(y, rank) if by else y)
    if x_vector or y_vector:
        kept = out.shape[:-2] + out.shape[-2:-1] * (not x_vector) + out.shape[-1:] * (not y_vector)
        out = reshape(out, shape=kept, x_shape=out.shape)
    return out


matmul = primitive("matmul", np.matmul, (_matmul_dx, _matmul_dy), save_inputs=True,
                   reads=((1,), (0,)), jvp="bilinear", grad_fn="MmBackward0", symbol="@",
                   batch=batch_matmul)


def batch_dot(prim, values, batched, size):
    """vmap's rule: ``x_b . y_b = sum_i x_b[i] y_b[i]`` for each example ``b`` (vectors), as
    the einsum ``bi,bi->b``, with ``i`` alone for an unbatched operand."""
    x, y = values
    if any(v.ndim - b != 1 for v, b in zip(values, batched)):
        raise NotImplementedError("vmap: chainrule.dot of values that are not vectors")
    terms = ["bi" if b else "i" for b in batched]
    return einsum(x, y, subscripts=",".join(terms) + "->b")


dot = primitive("dot", np.dot, (lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
                save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="DotBackward0",
                batch=batch_dot)


# linear(x, W) = x W^T, torch.nn.functional.linear without its bias (W is (out, in)), one
# primitive rather than matmul(x, transpose(W)): dx = g W, and dW = g^T x summed over x's
# leading axes, computed as g^T x so that it comes out in W's own row-major layout (the
# transpose of x^T g, the gradient of W^T, would be a column-major view that becoming W.grad
# copies; PyTorch's mm_mat2_backward does the same).
def _linear_dw(g, ans, x, w):
    if x.ndim == 1:  # dW = g x^T
        return _unsqueeze(g, -1) * x
    if x.ndim > 2:  # the leading axes are a batch: flatten them into the rows
        g = reshape(g, shape=(int(np.prod(g.shape[:-1])), g.shape[-1]), x_shape=g.shape)
        x = reshape(x, shape=(int(np.prod(x.shape[:-1])), x.shape[-1]), x_shape=x.shape)
    return matmul(_swap_last(g), x)


def batch_linear(prim, values, batched, size):
    """vmap's rule: ``x_b W_b^T`` for each example ``b``.  With W unbatched, x's batch is one
    more leading axis of ``linear`` itself (NumPy's matmul broadcasting, one GEMM); with W
    batched, ``y[b, ..., o] = sum_i x[b, ..., i] W[b, o, i]``, an einsum (``b`` left out of x's
    term when x is unbatched)."""
    x, w = values
    bx, bw = batched
    if not bw:
        return linear(x, w)
    return einsum(x, w, subscripts=("b...i" if bx else "...i") + ",boi->b...o")


linear = primitive("nn.functional.linear", lambda x, w: np.matmul(x, w.T),
                   (lambda g, ans, x, w: matmul(g, w), _linear_dw), save_inputs=True,
                   reads=((1,), (0,)), jvp="bilinear", grad_fn="MmBackward0",
                   batch=batch_linear)



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
    ins, out = _einsum_parse(subscripts, [np.shape(x) for x in xs])
    target = ins[i]
    shape = np.shape(xs[i])
    sizes = dict(zip(target, shape))
    # a letter may have size 1 in one operand and n in another (broadcasting): give every
    # other operand its full size, so that the gradient below has it too (the engine then
    # sums it back down to this operand's size 1)
    full: dict = {}
    for term, x in zip(ins, xs):
        for c, n in zip(term, np.shape(x)):
            if n != 1 or c not in full:  # (a size of 1 broadcasts; 0 is a size like any other)
                full[c] = n
    xs = [x if j == i or np.shape(x) == tuple(full[c] for c in ins[j])
          else broadcast_to(x, shape=tuple(full[c] for c in ins[j]), x_shape=np.shape(x))
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


def _contracts(subscripts: str) -> bool:
    """Does the einsum sum over a letter?  Only then is NumPy's optimised path (BLAS through
    tensordot) worth its cost: a product without a sum ('bi,bj->bij', an outer product per
    example) takes 0.64x the time in NumPy's own loop."""
    terms, arrow, out = subscripts.partition("->")
    # (with '...', NumPy's own loop refuses some broadcasts its optimised path makes)
    return not arrow or "." in subscripts or bool(set(terms.replace(",", "")) - set(out))


def _einsum(*xs, subscripts):
    ans = np.einsum(subscripts, *xs, optimize=_contracts(subscripts) and "greedy")
    # one operand: NumPy may return a view of it ('ij->ji', 'ii->i'); einsum is not one of
    # PyTorch's view operations, so its result has storage of its own
    if len(xs) == 1 and isinstance(ans, np.ndarray) and np.shares_memory(ans, xs[0]):
        ans = ans.copy()
    return ans


def batch_einsum(prim, values, batched, size, subscripts):
    """vmap's rule: the same contraction with one more letter, free in the output and in
    front of it, on each batched operand's leading (batch) axis; unbatched operands keep their
    terms and so are shared by every example.  ``...`` is spelled out with each example's
    shape first, so that the batch axis is never read as part of it."""
    shapes = [tuple(v.shape[1:]) if b else tuple(v.shape) for v, b in zip(values, batched)]
    ins, out = _einsum_parse(subscripts, shapes)
    used = set("".join(ins) + out)
    letter = next(c for c in string.ascii_letters if c not in used)
    terms = [letter + t if b else t for t, b in zip(ins, batched)]
    return einsum(*values, subscripts=",".join(terms) + "->" + letter + out)


einsum = primitive("einsum", _einsum,
                   _einsum_vjp, save_inputs=True, jvp="bilinear", grad_fn="EinsumBackward0",
                   batch=batch_einsum)

# --------------------------------------------------------------------------------------------
# Linear algebra


def _sym(a):
    """``(a + a^H) / 2``: the Hermitian (for real ``a``, symmetric) part."""
    return (a + _adjoint(a)) * 0.5


def _drop_last(a):
    shape = np.shape(a)
    return reshape(a, shape=shape[:-1], x_shape=shape)


def _as_matrices(a):
    """``(...)`` -> ``(..., 1, 1)``: one scalar per matrix of a batch."""
    shape = np.shape(a)
    return reshape(a, shape=tuple(shape) + (1, 1), x_shape=shape)


def _sum_last(a, count):
    """The sum over the last ``count`` axes."""
    shape = np.shape(a)
    axes = tuple(range(len(shape) - count, len(shape)))
    return reduce_sum(a, axis=axes, keepdims=False, x_shape=shape)


# --------------------------------------------------------------------------------------------
# Inverse, determinants, solve

# d A^-1 = -A^-1 dA A^-1;  VJP: -A^-T g A^-T
inv = primitive("linalg.inv", np.linalg.inv,
                (lambda g, ans, x: -matmul(matmul(_swap_last(ans), g), _swap_last(ans)),),
                save_ans=True, jvp=lambda ts, ans, x: -matmul(matmul(ans, ts[0]), ans),
                grad_fn="LinalgInvExBackward0", batch="core")


def _trace_inv_times(x, t):
    """``tr(A^-1 t)`` for each matrix of the batch."""
    return _sum_last(_swap_last(inv(x)) * t, 2)


# d det(A) = det(A) tr(A^-1 dA);  VJP: g det(A) A^-T
det = primitive("linalg.det", np.linalg.det,
                (lambda g, ans, x: _as_matrices(g * ans) * _swap_last(inv(x)),),
                save_inputs=True, save_ans=True,
                jvp=lambda ts, ans, x: ans * _trace_inv_times(x, ts[0]),
                grad_fn="LinalgDetBackward0", batch="core")

# d log|det(A)| = tr(A^-1 dA);  VJP: g A^-T
logabsdet = primitive("linalg.slogdet", lambda x: np.linalg.slogdet(x)[1],
                      (lambda g, ans, x: _as_matrices(g) * _swap_last(inv(x)),), save_inputs=True,
                      jvp=lambda ts, ans, x: _trace_inv_times(x, ts[0]),
                      grad_fn="LinalgSlogdetBackward0", batch="core")


def slogdet(a):
    """``(sign, logabsdet)`` of ``a`` (batched); ``sign`` is a constant (it has no derivative).

    >>> import numpy as np
    >>> sign, logabsdet = slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    """
    return no_gradient(_sign_of_det, a), logabsdet(a)


def _sign_of_det(a: np.ndarray) -> np.ndarray:
    """The sign of each determinant (of a complex one, its phase ``det / |det|``)."""
    return np.linalg.slogdet(a)[0]


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
    return _numpy_reads_vector(np.ndim(a), np.ndim(b))


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


def batch_solve(prim, values, batched, size, vector=None):
    """vmap's rule: ``A_b^-1 b_b`` for each example.  Whether b is read as a vector is decided
    per example (by the examples' ranks, as NumPy's solve decides); a vector becomes an
    (n, 1) matrix and the column is dropped after.  Each value then has a leading batch axis
    (1 for an unbatched one, which broadcasts) and 1s after it up to the higher rank of the
    two, so that the examples' own leading axes line up and broadcast as NumPy's do."""
    a, b = values
    ranks = [v.ndim - flag for v, flag in zip(values, batched)]
    vec = vector if vector is not None else _numpy_reads_vector(*ranks)
    if vec:
        b = _unsqueeze(b, -1)
        ranks[1] += 1
    rank = max(ranks)
    a, b = (reshape(v, shape=(v.shape[:1] if flag else (1,)) + (1,) * (rank - r)
                    + tuple(v.shape[int(flag):]), x_shape=tuple(v.shape))
            for v, flag, r in zip((a, b), batched, ranks))
    out = solve(a, b, vector=False)
    if vec:
        out = _drop_last(out)
    return out


solve = primitive("linalg.solve", _solve, (_solve_da, _solve_db), save_inputs=True,
                  save_ans=True, reads=((0, "ans"), (0,)), jvp=_solve_jvp,
                  grad_fn="LinalgSolveExBackward0", batch=batch_solve)


# --------------------------------------------------------------------------------------------
# The pseudoinverse and least squares


def _pinv(x, rtol, atol=None):
    # NumPy's own computation where it has the tolerance asked for (bit for bit); PyTorch's
    # absolute tolerance otherwise: singular values <= max(atol, rtol * s_max) count as zero
    if atol is None:
        return np.linalg.pinv(x, rcond=rtol)
    m, n = x.shape[-2:]
    if x.size == 0:
        return np.empty(x.shape[:-2] + (n, m), x.dtype)
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    cutoff = np.maximum(rtol * s.max(axis=-1, keepdims=True), atol)
    large = s > cutoff
    s = np.divide(1, s, where=large, out=np.zeros_like(s))
    v, uh = np.swapaxes(vh, -1, -2), np.swapaxes(u, -1, -2)
    if np.iscomplexobj(x):  # (V and U^H: conjugate transposes)
        v, uh = v.conj(), uh.conj()
    return np.matmul(v, s[..., None] * uh)


# Complex matrices: the rules below are written for PyTorch's convention, in which the VJP is
# the adjoint for the inner product Re(tr(C^H D)) and the real rules hold with every transpose
# a conjugate transpose (A^H); the engine's (JAX's) VJP, the transpose for Re(sum(C * D)), is
# then conj(VJP_pytorch(conj(g))).  A real matrix takes the real rules unchanged.


def _pinv_vjp_of(g, p, a):
    """The VJP of ``P = A^+`` (``g`` the gradient w.r.t. P, in the engine's convention)."""
    # A_bar = -P^H g P^H + (I - A P) g^H P P^H + P^H P g^H (I - P A)   (PyTorch's convention)
    complex_valued = _is_complex(g, p)
    g = _conj(g, complex_valued)
    ph, gh = _adjoint(p), _adjoint(g)
    out = (-matmul(matmul(ph, g), ph)
           + matmul(gh - matmul(a, matmul(p, gh)), matmul(p, ph))
           + matmul(matmul(ph, p), gh - matmul(matmul(gh, p), a)))
    return _conj(out, complex_valued)


def _pinv_jvp_of(t, p, a):
    # d A^+ = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P   (Golub and Pereyra, 1973;
    # the derivative along changes that keep the rank, which is every change at full rank)
    th = _adjoint(t)
    ph = _adjoint(p)
    return (-matmul(matmul(p, t), p)
            + matmul(matmul(p, ph), th - matmul(matmul(th, a), p))
            + matmul(th - matmul(p, matmul(a, th)), matmul(ph, p)))


pinv = primitive("linalg.pinv", _pinv, (lambda g, ans, x, rtol, atol=None:
                                        _pinv_vjp_of(g, ans, x),),
                 save_inputs=True, save_ans=True,
                 jvp=lambda ts, ans, x, rtol, atol=None: _pinv_jvp_of(ts[0], ans, x),
                 grad_fn="LinalgPinvBackward0", batch="core")


def lstsq_solved(a: np.ndarray, b: np.ndarray, rcond: float, vector: bool,
                 factors: Factors | None = None) -> tuple:
    """``(solutions, ranks, singular values)`` of NumPy's ``lstsq`` of each matrix of the batch
    (``b`` a vector or a batch of them when ``vector``): the ones ``factors`` holds, computed
    into it when it is still empty."""
    parts = _parts(factors, (rcond, vector), lambda ab: _least_squares(*ab, rcond, vector),
                   (a, b))
    return parts if parts is not None else _least_squares(a, b, rcond, vector)


def _least_squares(a: np.ndarray, b: np.ndarray, rcond: float, vector: bool) -> tuple:
    b = b[..., None] if vector else b
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
    m, n = a.shape[-2:]
    solution = np.empty(batch + (n, b.shape[-1]), np.result_type(a, b))
    ranks, values = np.empty(batch, np.int64), np.empty(batch + (min(m, n),), a.real.dtype)
    for i in np.ndindex(batch):
        solution[i], _, ranks[i], values[i] = np.linalg.lstsq(a[i], b[i], rcond=rcond)
    return (solution[..., 0] if vector else solution), ranks, values


def _lstsq(a, b, rcond, vector, solution=None):
    """The least-squares solutions of ``a x = b`` (batched; ``b`` a vector or a batch of them
    when ``vector``), by NumPy's ``lstsq`` for each matrix of the batch; ``solution``: the
    :class:`Factors` the call's other results read."""
    if solution is None and a.ndim == 2 and b.ndim <= 2:
        return np.linalg.lstsq(a, b, rcond=rcond)[0]
    return np.array(lstsq_solved(a, b, rcond, vector, solution)[0], copy=True)


# x = A^+ b (PyTorch's derivative):  x_bar -> b_bar = A^+T g,  A_bar = pinv's VJP of g b^T;
# forward mode: d x = d(A^+) b + A^+ db.  The pseudoinverse takes lstsq's cutoff (rcond), so
# that it is the matrix lstsq applies also where A is rank-deficient.


def _as_column(v, vector):
    return _unsqueeze(v, -1) if vector else v


def _lstsq_da(g, ans, a, b, rcond, vector, solution=None):
    p = pinv(a, rtol=rcond)
    return _pinv_vjp_of(matmul(_as_column(g, vector), _swap_last(_as_column(b, vector))), p, a)


def _lstsq_db(g, ans, a, b, rcond, vector, solution=None):
    out = matmul(_swap_last(pinv(a, rtol=rcond)), _as_column(g, vector))
    return _drop_last(out) if vector else out


def _lstsq_jvp(ts, ans, a, b, rcond, vector, solution=None):
    ta, tb = ts
    p = pinv(a, rtol=rcond)
    dx = None if tb is None else matmul(p, _as_column(tb, vector))
    if ta is not None:
        part = matmul(_pinv_jvp_of(ta, p, a), _as_column(b, vector))
        dx = part if dx is None else dx + part
    return _drop_last(dx) if vector else dx


def batch_lstsq(prim, values, batched, size, rcond, vector, solution=None):
    """vmap's rule: the least-squares solution of ``A_b x = b_b`` for each example, by the
    forward's loop over a stack of problems (NumPy's lstsq takes one matrix at a time).  The
    examples' own stacks of problems line up as NumPy's broadcasting would line them up: each
    batched value gets 1s after its batch axis up to the longer of the two example stacks, an
    unbatched one broadcasts as it is.  A ``solution`` computed before the call is one
    example's: it is dropped, and the stack solved here."""
    if vector and not batched[0] and values[0].ndim == 2:
        # one matrix, a vector per example: one problem whose right-hand sides are the columns
        # of b^T (each column's solution is the one it has alone)
        return _swap_last(prim(values[0], _swap_last(values[1]), rcond=rcond, vector=False))
    cores = (2, 1 if vector else 2)
    stacks = [v.ndim - flag - core for v, flag, core in zip(values, batched, cores)]
    longest = max(stacks)
    a, b = (reshape(v, shape=v.shape[:1] + (1,) * (longest - n) + tuple(v.shape[1:]),
                    x_shape=tuple(v.shape)) if flag else v
            for v, flag, n in zip(values, batched, stacks))
    return prim(a, b, rcond=rcond, vector=vector)


lstsq = primitive("linalg.lstsq", _lstsq, (_lstsq_da, _lstsq_db), save_inputs=True,
                  jvp=_lstsq_jvp, grad_fn="LinalgLstsqBackward0", batch=batch_lstsq)
