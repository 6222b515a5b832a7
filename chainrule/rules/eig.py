"""The eigendecomposition of a general (non-symmetric) matrix: ``linalg.eigvals`` and
``linalg.eig``, ``A V = V diag(w)``, as ``numpy.linalg.eig`` computes it.

The eigenvalues and eigenvectors of a real matrix are complex in general (NumPy returns them
real when every eigenvalue is real, and so does chainrule: the same values).  The rules follow
the engine's convention for complex gradients (JAX's: the VJP of a complex-linear map is its
transpose, not its adjoint; ``chainrule/rules/elementwise.py``), and a real input receives the
real part of its cotangent (the engine's cast).

With ``K = V^-1 dA V`` (the change of A in the eigenbasis):

* ``dw = diag(K)``;  VJP: ``V^-T diag(g) V^T``.
* ``dV = V (F * K) - V diag(Re(v_j^H (V (F * K))_j))`` with ``F[i, j] = 1 / (w_j - w_i)`` off
  the diagonal and 0 on it: the first term moves the vectors, the second keeps each column of
  unit length, as NumPy returns them.  An eigenvector's phase is not determined by A; NumPy's
  choice (LAPACK's: the largest component real) is not differentiated, so only functions of
  the vectors that do not depend on their phases (``|v|``, ``V diag(w) V^-1``, ...) have
  meaningful derivatives, as in JAX and PyTorch.  Repeated eigenvalues make ``F`` infinite.
"""

from __future__ import annotations

import numpy as np

from chainrule.rules.decompositions import _inverse_gaps
from chainrule.rules.elementwise import conj, real_part
from chainrule.rules.linalg import _swap_last, _unsqueeze, inv, matmul
from chainrule.rules.reductions import reduce_sum
from chainrule.rules.table import primitive


def _diagonal(k):
    """The diagonals of a batch of square matrices."""
    shape = np.shape(k)
    eye = np.eye(shape[-1], dtype=bool)
    return reduce_sum(k * eye, axis=(len(shape) - 2,), keepdims=False, x_shape=shape)


def _in_eigenbasis(x, v, t):
    """``V^-1 t V``."""
    return matmul(matmul(inv(v), t), v)


def _from_eigenbasis(v, k):
    """``V^-T k V^T``: the transpose of :func:`_in_eigenbasis`."""
    return matmul(matmul(_swap_last(inv(v)), k), _swap_last(v))


# dw = diag(V^-1 dA V);  VJP: V^-T diag(g) V^T
eigvals = primitive(
    "linalg.eigvals", np.linalg.eigvals,
    (lambda g, ans, x: _from_eigenbasis(eig_vectors(x), _unsqueeze(g, -2) * np.eye(
        np.shape(x)[-1])),),
    save_inputs=True, jvp=lambda ts, ans, x: _diagonal(_in_eigenbasis(x, eig_vectors(x), ts[0])),
    grad_fn="LinalgEigBackward0", batch="core")


def _unit_columns(v, dv):
    """``dV`` made tangent to the unit sphere of each column: ``dv - v Re(v^H dv)``."""
    along = real_part(_column_sums(conj(v) * dv))
    return dv - v * _unsqueeze(along, -2)


def _column_sums(a):
    shape = np.shape(a)
    return reduce_sum(a, axis=(len(shape) - 2,), keepdims=False, x_shape=shape)


def _eig_vectors_jvp(ts, ans, x):
    v = ans
    moved = matmul(v, _inverse_gaps(eigvals(x)) * _in_eigenbasis(x, v, ts[0]))
    return _unit_columns(v, moved)


def _eig_vectors_vjp(g, ans, x):
    # the transposes of the steps of the JVP, in reverse order: the unit-length correction
    # (dV -> dV - V Re(colsum(conj(V) dV)) has the transpose c -> c - conj(V) Re(colsum(V c))),
    # V M, F * K, V^-1 dA V
    v = ans
    along = real_part(_column_sums(v * g))
    g = g - conj(v) * _unsqueeze(along, -2)
    return _from_eigenbasis(v, _inverse_gaps(eigvals(x)) * matmul(_swap_last(v), g))


eig_vectors = primitive("linalg.eig", lambda x: np.linalg.eig(x)[1], (_eig_vectors_vjp,),
                        save_inputs=True, save_ans=True, jvp=_eig_vectors_jvp,
                        grad_fn="LinalgEigBackward0", batch="core")


def eig(a):
    """``(eigenvalues, eigenvectors)`` as ``numpy.linalg.eig`` returns them.

    >>> import numpy as np
    >>> w, v = eig(np.array([[2.0, 0.0], [0.0, 3.0]]))
    >>> w.tolist(), v.tolist()
    ([2.0, 3.0], [[1.0, 0.0], [0.0, 1.0]])
    """
    return eigvals(a), eig_vectors(a)
