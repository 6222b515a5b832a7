"""Norms with PyTorch's names: ``vector_norm``, ``norm``, ``matrix_norm``.

Like :mod:`chainrule.ops`, of which they are a part (kept apart to keep each module short),
they sit below :class:`~chainrule.tensor.Tensor`, whose ``norm`` method is :func:`norm`, and
follow the primitives' rule: results of their tensor argument's class, NumPy's when given no
tensor.  :mod:`chainrule.linalg` makes them public with ``torch.linalg``'s names.  The matrix
norms of singular values (``'nuc'``, ``2``, ``-2``) are the sum, the largest and the smallest of
the ``svdvals`` primitive's values: differentiable to any order, with the singular values'
gradient ``U diag(g) Vh``, which stays finite where they repeat (at a repeated largest value
``2`` shares its gradient evenly, as ``amax`` does), of real and complex matrices alike.
"""

from __future__ import annotations

import numpy as np

from chainrule import ops
from chainrule import rules as R
from chainrule.tensor_base import TensorBase


def vector_norm(input, ord=2, dim=None, keepdim: bool = False, *, axis=None,  # noqa: A002
                keepdims=None) -> TensorBase:
    """The ``ord``-norm of the entries over ``dim`` (all by default); gradient 0 at 0."""
    return _vector_norm("linalg.vector_norm", input, ord, dim, keepdim, axis, keepdims)


def _vector_norm(name: str, input, ord, dim, keepdim: bool, axis=None,  # noqa: A002
                 keepdims=None) -> TensorBase:
    """:func:`vector_norm`, with ``name`` the function the user called, for errors."""
    x = ops.operand(input)
    if x.dtype.kind == "c":  # the norm of the moduli (whose gradient is 0 at 0)
        x = ops.abs(x)
    dims = ops.reduced_dims(name, x.ndim, dim, axis)
    keep = ops.keepdim_of(keepdim, keepdims)
    if not isinstance(ord, (int, float, np.number)) and ord not in ("fro", None):
        raise TypeError(f"{name}: argument 'ord' must be a number, not {type(ord).__name__} "
                        f"({ord!r})")
    if ord in (2, 2.0, "fro", None):
        return R.vector_norm(x, axis=dims, keepdims=keep, x_shape=x.shape)
    if ord == np.inf:
        return ops.amax(ops.abs(x), dims, keep)
    if ord == -np.inf:
        return ops.amin(ops.abs(x), dims, keep)
    if ord == 0:
        # the number of nonzero entries: no gradient
        return ops.no_gradient(
            lambda a, axis: np.sum(a != 0, axis=axis, keepdims=keep).astype(a.dtype), x,
            axis=dims)
    if ord == 1:
        return ops.sum(ops.abs(x), dims, keep)
    if ord > 0:  # (its gradient is 0 at 0, as PyTorch's, where the composition gives NaN)
        return R.vector_norm(x, axis=dims, keepdims=keep, x_shape=x.shape, ord=float(ord))
    return ops.sum(ops.abs(x) ** ord, dims, keep) ** (1.0 / ord)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None) -> TensorBase:
    """The ``p``-norm of the entries (2-norm, i.e. Frobenius, by default).

    >>> import chainrule as cr
    >>> cr.tensor([3., 4.]).norm()
    tensor(5.)
    """
    x = ops.operand(input) if dtype is None else ops.to(ops.operand(input), dtype)
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    if isinstance(p, str) and p != "fro":
        raise RuntimeError(f"norm: Order {p!r} not supported; use a number, 'fro' or 'nuc'")
    return _vector_norm("norm", x, p, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False) -> TensorBase:  # noqa: A002
    """A matrix norm of ``A`` (or of each matrix of a batch), over the two dimensions ``dim``:
    ``'fro'`` (Frobenius), ``'nuc'`` (the sum of the singular values), ``2``/``-2`` (the
    largest/smallest singular value), ``1``/``-1`` (the largest/smallest column sum of
    ``|A|``), ``inf``/``-inf`` (row sums).

    >>> import chainrule as cr
    >>> cr.linalg.matrix_norm(cr.tensor([[3., 0.], [0., 4.]]), "nuc")
    tensor(7.)
    """
    x = ops.operand(A)
    if x.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 "
                           f"dimensions; it has shape {tuple(x.shape)}")
    if isinstance(dim, (int, np.integer)) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a pair of dimensions, got {dim!r}")
    rows, columns = (ops.one_dim("linalg.matrix_norm", d, x.ndim) for d in dim)
    if rows == columns:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {dim!r}")
    if ord == "fro":
        return vector_norm(x, 2, (rows, columns), keepdim)
    if ord in ("nuc", 2, -2):
        # the singular values of the matrices, laid out as NumPy's norm lays them out (rows,
        # then columns, last), reduced as it reduces them
        others = [d for d in range(x.ndim) if d not in (rows, columns)]
        values = R.svdvals(ops.permute(x, *others, rows, columns))
        reduce = ops.sum if ord == "nuc" else ops.amax if ord == 2 else ops.amin
        out = reduce(values, -1)
        for d in sorted((rows, columns)) if keepdim else ():
            out = ops.unsqueeze(out, d)
        return out
    if ord in (1, -1, np.inf, -np.inf):
        # ||A||_1 = the largest sum over a column of |A|; inf: over a row
        summed, across = (rows, columns) if ord in (1, -1) else (columns, rows)
        sums = ops.sum(ops.abs(x), summed, keepdim=True)
        out = (ops.amax if ord > 0 else ops.amin)(sums, across, keepdim=True)
        return out if keepdim else ops.squeeze(out, (rows, columns))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported; use 'fro', 'nuc', "
                       "2, -2, 1, -1, inf or -inf")

