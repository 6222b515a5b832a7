"""NumPy 2's array-API linear algebra, differentiable: ``numpy.linalg``'s ``cross``,
``diagonal``, ``matmul``, ``matrix_norm``, ``matrix_power``, ``matrix_transpose``,
``multi_dot``, ``outer``, ``tensordot``, ``tensorinv``, ``tensorsolve``, ``trace``, ``vecdot``
and ``vector_norm``, and the main namespace's generalised ufuncs ``vecdot``, ``matvec`` and
``vecmat``, for :mod:`chainrule.numpy`, which calls them when a Tensor is among the arguments
(NumPy's own functions answer plain arrays).

They have NumPy's signatures, which differ from the main namespace's older functions of the
same names: ``linalg.cross`` takes 3-vectors only, ``linalg.diagonal`` and ``linalg.trace`` the
last two axes, ``linalg.outer`` vectors only, and ``vecdot`` conjugates its first argument
(``sum(conj(x1) * x2)``, the inner product of complex vectors), as ``vecmat`` does its vector;
``matvec`` conjugates nothing.

>>> import chainrule as cr
>>> import chainrule.numpy as cnp
>>> A = cr.tensor([[2.0, 1.0], [0.0, 3.0]], requires_grad=True)
>>> cnp.linalg.matrix_power(A, 3)
tensor([[ 8., 19.],
        [ 0., 27.]], grad_fn=<MmBackward0>)
>>> cnp.trace(cnp.linalg.matrix_power(A, 3)).backward()  # d tr(A^3) = 3 tr(A^2 dA)
>>> A.grad
tensor([[12.,  0.],
        [15., 27.]])

The zeroth power is the identity, recorded with gradient 0 (as PyTorch's); ``vector_norm``
of ``ord=0`` counts the nonzero entries, without gradient.  The names NumPy 1.26 lacks (all
but ``matrix_power``, ``multi_dot``, ``tensorinv`` and ``tensorsolve``) are left out there.

Each is a composition of chainrule's operations (``matmul``, indexing, reshapes, ``inv``,
``solve``, the norms), so reverse mode, forward mode and every higher order come from the
primitives' rules.  The values are NumPy's to the bit (``tests/tensor/test_numpy_linalg.py``
checks them on inputs large enough for the order of the sums to show), because each is
computed in the order NumPy computes it: ``matrix_power`` squares and multiplies along the
bits of ``n`` (after one inverse for a negative ``n``); ``multi_dot`` multiplies in the order
of least cost that NumPy chooses (its three-matrix rule, or the dynamic programme of Cormen
et al.); ``tensordot`` moves the contracted axes together and makes one matrix product;
``vecdot`` is a product of a row by a column (NumPy's BLAS ``dot``), ``matvec`` and
``vecmat`` a product by a column or a row; ``linalg.vector_norm`` lays its axes out as NumPy
does before reducing.  Two agree with NumPy only to rounding: the norms of complex arrays,
here the norms of the moduli (NumPy sums ``conj(x) x``), and ``vecmat`` of complex arrays,
for which NumPy calls a BLAS product that conjugates as it multiplies (``gemm``), which
``matmul`` does not reach.

Errors name the function without the namespace (``linalg.cross: ...``, ``vecdot: ...``):
:mod:`chainrule.numpy` puts ``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from chainrule import linalg_ops, norms, numpy_arrays, ops
from chainrule import rules as R
from chainrule.arguments import one_dim
from chainrule.errors import LinAlgError, ShapeError, broadcast_mismatch, refuse_out

# --------------------------------------------------------------------------------------------
# helpers


def _at_least(name: str, x, ndim: int, what: str):
    if x.ndim < ndim:
        raise ShapeError(f"{name}: {what} must have at least {ndim} dimension"
                         f"{'s' if ndim > 1 else ''}, but it has shape {tuple(x.shape)}")
    return x


def _last(x, axes):
    """``x`` with its (non-negative, distinct) ``axes`` moved to the end, in that order."""
    return ops.permute(x, [d for d in range(x.ndim) if d not in axes] + list(axes))


def _conj(x):
    return R.conj(x) if x.dtype.kind == "c" else x


def _check_batches(name: str, *shapes) -> None:
    mismatch = broadcast_mismatch(list(shapes))
    if mismatch is not None:
        raise ShapeError(f"{name}: the loop dimensions do not broadcast: {mismatch} (shapes "
                         f"{', '.join(str(tuple(s)) for s in shapes)})")


def _out_unsupported(name: str, out) -> None:
    refuse_out(name, out)


def _floats(x):
    """``x`` in float64 unless it is floating or complex already (NumPy's norms)."""
    return x if x.dtype.kind in "fc" else ops.to(x, np.float64)


# --------------------------------------------------------------------------------------------
# products: matmul, outer, tensordot, vecdot, matvec, vecmat, multi_dot


def matmul(x1, x2, /):
    """The matrix product ``x1 @ x2`` (NumPy's ``matmul``)."""
    return ops.matmul(x1, x2)


def outer(x1, x2, /):
    """The outer product of two vectors (1-D only, unlike ``numpy.outer``)."""
    x1, x2 = ops.operand(x1), ops.operand(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ShapeError(f"linalg.outer: Input arrays must be one-dimensional, but they are "
                         f"x1.ndim={x1.ndim} and x2.ndim={x2.ndim} (shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}); use numpy.outer, which flattens them")
    return ops.outer(x1, x2)


def _contracted(name: str, a, b, axes) -> tuple[list[int], list[int]]:
    """The axes of ``a`` and ``b`` that ``tensordot`` contracts (non-negative), checked."""
    try:
        iter(axes)
    except TypeError:
        axes = operator.index(axes)
        if axes < 0 or axes > min(a.ndim, b.ndim):
            raise ValueError(f"{name}: axes={axes} must be between 0 and the number of "
                             f"dimensions of both arrays (shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)})") from None
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in axes)
        axes_a = [one_dim(name, d, a.ndim) for d in axes_a]
        axes_b = [one_dim(name, d, b.ndim) for d in axes_b]
    if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
        raise ValueError(f"{name}: duplicate axes are not allowed in tensordot (axes={axes!r})")
    if (len(axes_a) != len(axes_b)
            or any(a.shape[i] != b.shape[j] for i, j in zip(axes_a, axes_b))):
        raise ShapeError(f"{name}: shape-mismatch for sum: the axes {axes_a} of a (shape "
                         f"{tuple(a.shape)}) and {axes_b} of b (shape {tuple(b.shape)}) must "
                         f"have the same sizes")
    return axes_a, axes_b


def tensordot(x1, x2, /, *, axes=2):
    """The sum of products over the last ``axes`` axes of ``x1`` and the first of ``x2``, or
    over the axes of two lists ``axes=(axes_1, axes_2)``."""
    a, b = ops.operand(x1), ops.operand(x2)
    axes_a, axes_b = _contracted("linalg.tensordot", a, b, axes)
    # NumPy's way: the contracted axes to the end of a and the front of b, each array made a
    # matrix, one matrix product, the free axes unfolded
    free_a = [d for d in range(a.ndim) if d not in axes_a]
    free_b = [d for d in range(b.ndim) if d not in axes_b]
    inner = math.prod(a.shape[d] for d in axes_a)
    rows = ops.reshape(ops.permute(a, free_a + axes_a),
                       (math.prod(a.shape[d] for d in free_a), inner))
    columns = ops.reshape(ops.permute(b, axes_b + free_b),
                          (inner, math.prod(b.shape[d] for d in free_b)))
    return ops.reshape(ops.matmul(rows, columns),
                       [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


def _dots(a, b):
    """``sum(a * b)`` along the last axis (the batch axes broadcast), as NumPy's ``vecdot``
    computes it: each a row times a column, which NumPy's matmul makes a BLAS ``dot``."""
    return ops.getitem(ops.matmul(ops.unsqueeze(a, -2), ops.unsqueeze(b, -1)),
                       (Ellipsis, 0, 0))


def _vecdot(name: str, x1, x2, axes: tuple[int, int], kept=None):
    """``sum(conj(x1) x2)`` along ``axes[0]`` of ``x1`` and ``axes[1]`` of ``x2``; the
    result keeps an axis of size 1 at ``kept`` unless it is None."""
    x1, x2 = ops.operand(x1), ops.operand(x2)
    for i, x in enumerate((x1, x2)):
        _at_least(name, x, 1, f"x{i + 1} (a vector, or an array of vectors)")
    a, b = _last(x1, [one_dim(name, axes[0], x1.ndim)]), _last(x2, [one_dim(name, axes[1],
                                                                             x2.ndim)])
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"{name}: the vectors have {a.shape[-1]} and {b.shape[-1]} entries; "
                         f"they must have as many (shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}, axes {axes[0]} and {axes[1]})")
    _check_batches(name, a.shape[:-1], b.shape[:-1])
    result = _dots(_conj(a), b)
    if kept is not None:
        result = ops.unsqueeze(result, one_dim(name, kept, result.ndim + 1))
    return result


def linalg_vecdot(x1, x2, /, *, axis: int = -1):
    """``sum(conj(x1) * x2)`` along ``axis`` (the other axes broadcast): the inner product of
    the vectors of ``x1`` and ``x2``, conjugate-linear in ``x1``."""
    return _vecdot("linalg.vecdot", x1, x2, (axis, axis))


def _gufunc_axes(name: str, axes, axis, dims: tuple[int, ...]):
    """The core axes of each operand (``dims`` core axes each) from NumPy's ``axes`` (one
    tuple per operand, the output's omitted where it has none) or ``axis``."""
    if axes is not None and axis is not None:
        raise TypeError(f"{name}: cannot specify both 'axis' and 'axes'")
    if axis is not None:
        return [(axis,)] * len(dims)
    if axes is None:
        return [tuple(range(-n, 0)) for n in dims]
    axes = [(a,) if isinstance(a, (int, np.integer)) else tuple(a) for a in axes]
    if len(axes) == len(dims) - 1 and dims[-1] == 0:
        axes.append(())
    if len(axes) != len(dims) or any(len(a) != n for a, n in zip(axes, dims)):
        raise ValueError(f"{name}: axes={axes!r} must hold, for each input and output, as "
                         f"many axes as its core dimensions ({', '.join(map(str, dims))})")
    return axes


def vecdot(x1, x2, /, out=None, *, axis=None, axes=None, keepdims: bool = False, dtype=None):
    """The generalised ufunc ``numpy.vecdot``: ``sum(conj(x1) * x2)`` over the last axis (or
    ``axis``, or one axis per operand in ``axes``), broadcasting the others."""
    _out_unsupported("vecdot", out)
    x1, x2 = (ops.operand(x) if dtype is None else ops.to(ops.operand(x), dtype)
              for x in (x1, x2))
    if keepdims and axes is not None and len(axes) == 2:  # (the kept axis, last by default)
        axes = [*axes, (-1,)]
    core = _gufunc_axes("vecdot", axes, axis, (1, 1, 1 if keepdims else 0))
    return _vecdot("vecdot", x1, x2, (core[0][0], core[1][0]), core[2][0] if keepdims else None)


def _product(name: str, matrix, vector, axes, dtype, out, transposed: bool):
    """``matvec`` (``transposed=False``) or ``vecmat``: a matrix times the vectors."""
    _out_unsupported(name, out)
    matrix, vector = (ops.operand(x) if dtype is None else ops.to(ops.operand(x), dtype)
                      for x in (matrix, vector))
    _at_least(name, matrix, 2, "the matrix")
    _at_least(name, vector, 1, "the vector")
    core = _gufunc_axes(name, axes, None, (2, 1, 1))
    m_axes = [one_dim(name, d, matrix.ndim) for d in core[0]]
    if m_axes[0] == m_axes[1]:
        raise ValueError(f"{name}: the matrix's two axes must differ, got {core[0]}")
    A = _last(matrix, m_axes)
    v = _last(vector, [one_dim(name, core[1][0], vector.ndim)])
    n = A.shape[-2] if transposed else A.shape[-1]
    if v.shape[-1] != n:
        raise ShapeError(f"{name}: the vectors have {v.shape[-1]} entries, but the matrices "
                         f"are {A.shape[-2]} by {A.shape[-1]}: they must have {n} (shapes "
                         f"{tuple(matrix.shape)} and {tuple(vector.shape)})")
    _check_batches(name, A.shape[:-2], v.shape[:-1])
    if transposed:  # sum_i conj(v_i) A_ij: a row times the matrix
        result = ops.getitem(ops.matmul(ops.unsqueeze(_conj(v), -2), A), (Ellipsis, 0, slice(None)))
    else:  # sum_j A_ij v_j: the matrix times a column
        result = ops.getitem(ops.matmul(A, ops.unsqueeze(v, -1)), (Ellipsis, 0))
    # the output's core axis, last so far, where axes puts it
    position = one_dim(name, core[2][0], result.ndim)
    order = list(range(result.ndim - 1))
    order.insert(position, result.ndim - 1)
    return ops.permute(result, order)


def matvec(x1, x2, /, out=None, *, axes=None, dtype=None):
    """The generalised ufunc ``numpy.matvec``: the matrices ``x1`` times the vectors ``x2``,
    ``sum_j x1[..., i, j] x2[..., j]`` (nothing conjugated), broadcasting the other axes."""
    return _product("matvec", x1, x2, axes, dtype, out, transposed=False)


def vecmat(x1, x2, /, out=None, *, axes=None, dtype=None):
    """The generalised ufunc ``numpy.vecmat``: the vectors ``x1``, conjugated, times the
    matrices ``x2``, ``sum_i conj(x1[..., i]) x2[..., i, j]``."""
    if axes is not None:  # (the signature is (n),(n,m)->(m): the vector's axes come first)
        axes = [axes[1], axes[0], *axes[2:]]
    return _product("vecmat", x2, x1, axes, dtype, out, transposed=True)


def _dot(a, b):
    """NumPy's ``dot`` (of 0-d, 1-D, 2-D and N-D arrays)."""
    if a.ndim == 0 or b.ndim == 0:
        return R.mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return ops.matmul(a, b)
    # N-D: the last axis of a with the second-to-last of b, each entry of the result one dot
    # product of a row of a and a column of b, as NumPy computes it
    if b.ndim > 1:
        b = ops.transpose(b, -2, -1)
    rows = ops.reshape(a, a.shape[:-1] + (1,) * (b.ndim - 1) + a.shape[-1:])
    return _dots(rows, b)


def _chain_order(shapes) -> list[list[int]]:
    """Where to split each run ``i..j`` of the matrices to multiply them at least cost:
    ``cost(i, j) = min over k of cost(i, k) + cost(k + 1, j) + p_i p_(k+1) p_(j+1)`` (Cormen
    et al., 15.2, as NumPy's ``multi_dot`` computes it, ties to the first ``k``)."""
    n = len(shapes)
    p = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = [[0.0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k
    return split


def _chain(arrays, split, i: int, j: int):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return ops.matmul(_chain(arrays, split, i, k), _chain(arrays, split, k + 1, j))


def multi_dot(arrays, *, out=None):
    """The product of two or more matrices, in the order of least cost (NumPy's); the first
    may be a row vector and the last a column vector (1-D)."""
    _out_unsupported("linalg.multi_dot", out)
    arrays = [ops.operand(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError(f"linalg.multi_dot: Expecting at least two arrays, got {len(arrays)}")
    if len(arrays) == 2:
        return _dot(*arrays)
    first, last = arrays[0].ndim, arrays[-1].ndim
    if first == 1:
        arrays[0] = ops.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = ops.reshape(arrays[-1], (-1, 1))
    for i, a in enumerate(arrays):
        if a.ndim != 2:
            raise LinAlgError(f"linalg.multi_dot: {a.ndim}-dimensional array given (array {i}, "
                              f"of shape {tuple(a.shape)}). Array must be two-dimensional (the "
                              f"first and the last may be 1-D)")
    if len(arrays) == 3:
        A, B, C = arrays
        # the cost of (AB)C against A(BC), in scalar products
        if A.shape[0] * C.shape[0] * (A.shape[1] + C.shape[1]) < \
                A.shape[1] * C.shape[1] * (A.shape[0] + C.shape[0]):
            result = ops.matmul(ops.matmul(A, B), C)
        else:
            result = ops.matmul(A, ops.matmul(B, C))
    else:
        result = _chain(arrays, _chain_order([a.shape for a in arrays]), 0, len(arrays) - 1)
    if first == 1 and last == 1:
        return ops.getitem(result, (0, 0))
    return ops.reshape(result, -1) if 1 in (first, last) else result


# --------------------------------------------------------------------------------------------
# the last two axes: diagonal, trace, matrix_transpose; cross products


def diagonal(x, /, *, offset: int = 0):
    """The diagonal (``offset`` above it, or below if negative) of each matrix of ``x``."""
    return numpy_arrays.diagonal(_at_least("linalg.diagonal", ops.operand(x), 2, "x"),
                                 offset, -2, -1)


def trace(x, /, *, offset: int = 0, dtype=None):
    """The sum of the diagonal (``offset`` above it, or below if negative) of each matrix of
    ``x``, in ``dtype`` if given."""
    return numpy_arrays.trace(_at_least("linalg.trace", ops.operand(x), 2, "x"), offset, -2, -1,
                              dtype=dtype)


def matrix_transpose(x, /):
    """Each matrix of ``x`` transposed (its last two axes swapped)."""
    x = ops.operand(x)
    if x.ndim < 2:
        raise ShapeError(f"linalg.matrix_transpose: Input array must be at least 2-dimensional, "
                         f"but it is {x.ndim} (shape {tuple(x.shape)})")
    return ops.transpose(x, -2, -1)


def cross(x1, x2, /, *, axis: int = -1):
    """The cross product of the 3-vectors along ``axis`` of ``x1`` and ``x2`` (the other
    axes broadcast)."""
    x1, x2 = ops.operand(x1), ops.operand(x2)
    lengths = [x.shape[one_dim("linalg.cross", axis, x.ndim)] if x.ndim else 0
               for x in (x1, x2)]
    if lengths != [3, 3]:
        raise ShapeError(f"linalg.cross: Both input arrays must be (arrays of) 3-dimensional "
                         f"vectors, but they are {lengths[0]} and {lengths[1]} dimensional "
                         f"instead (shapes {tuple(x1.shape)} and {tuple(x2.shape)}, axis "
                         f"{axis}); numpy.cross also takes 2-vectors")
    return numpy_arrays.cross(x1, x2, axis=axis)


# --------------------------------------------------------------------------------------------
# norms


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):  # noqa: A002
    """A norm of each matrix (the last two axes) of ``x``: ``'fro'`` (Frobenius, also
    ``None``), ``'nuc'`` (the sum of the singular values), ``2``/``-2`` (the largest/smallest
    singular value), ``1``/``-1`` (the largest/smallest column sum of ``|x|``), ``inf``/``-inf``
    (row sums)."""
    x = _floats(_at_least("linalg.matrix_norm", ops.operand(x), 2, "x"))
    if ord is None or (isinstance(ord, str) and ord in ("f", "fro")):
        ord = "fro"  # noqa: A001
    elif not (ord == "nuc" if isinstance(ord, str) else ord in (2, -2, 1, -1, np.inf, -np.inf)):
        raise ValueError(f"linalg.matrix_norm: Invalid norm order {ord!r} for matrices; use "
                         f"'fro', 'nuc', 2, -2, 1, -1, inf or -inf")
    return norms.matrix_norm(x, ord, (-2, -1), keepdims)


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):  # noqa: A002
    """The ``ord``-norm of the entries of ``x`` over ``axis`` (all by default; a tuple of any
    number of axes): ``2`` (or ``None``), any other number, ``inf`` (the largest ``|x|``),
    ``-inf``, and ``0`` (the number of nonzero entries, which has no gradient)."""
    name = "linalg.vector_norm"
    x = _floats(ops.operand(x))
    if isinstance(ord, str):
        raise ValueError(f"{name}: Invalid norm order {ord!r} for vectors; use a number")
    shape = list(x.shape)
    if axis is None:
        flat, along, reduced = ops.reshape(x, -1), 0, range(x.ndim)
    elif isinstance(axis, tuple):
        # NumPy's layout: the axes reduced first, in the order given, as one
        reduced = [one_dim(name, d, x.ndim) for d in axis]
        if len(set(reduced)) != len(reduced):
            raise ValueError(f"{name}: repeated axis in axis={axis}")
        rest = [d for d in range(x.ndim) if d not in reduced]
        flat = ops.reshape(ops.permute(x, reduced + rest),
                           (math.prod(shape[d] for d in reduced), *[shape[d] for d in rest]))
        along = 0
    else:
        along = one_dim(name, axis, x.ndim)
        flat, reduced = x, [along]
    result = norms.vector_norm(flat, ord, along)
    if keepdims:
        for d in reduced:
            shape[d] = 1
        result = ops.reshape(result, shape)
    return result


# --------------------------------------------------------------------------------------------
# powers and inverses


def matrix_power(a, n):
    """``a`` (a square matrix, or a batch of them) to the integer power ``n``: the identity for
    0, powers of the inverse for negative ``n``."""
    name = "linalg.matrix_power"
    a = linalg_ops.square("matrix_power", a)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{name}: exponent must be an integer, not {type(n).__name__} "
                        f"({n!r})") from None
    if n == 0:
        # the identity, whatever a is: recorded (with gradient 0), as PyTorch's
        identity = np.eye(a.shape[-1], dtype=a.dtype)
        return R.where(np.ones(a.shape, bool), identity, a)
    if n < 0:
        try:
            a = linalg_ops.inv(a)
        except LinAlgError:
            raise LinAlgError(f"{name}: the matrix is singular, so it has no inverse and no "
                              f"negative power (n={n}); use n >= 0") from None
        n = -n
    elif n == 1:
        return ops.clone(a)
    if n == 2:
        return ops.matmul(a, a)
    if n == 3:
        return ops.matmul(ops.matmul(a, a), a)
    # NumPy's order: over the bits of n from the lowest, a squared once per bit, the squares
    # of the bits that are set multiplied together
    square = result = None
    while n > 0:
        square = a if square is None else ops.matmul(square, square)
        n, bit = divmod(n, 2)
        if bit:
            result = square if result is None else ops.matmul(result, square)
    return result


def tensorinv(a, ind: int = 2):
    """The inverse of ``a`` for ``tensordot(..., ind)``: ``a`` read as a matrix whose rows
    are its first ``ind`` axes, inverted, with the axes of the rows put last."""
    name = "linalg.tensorinv"
    a = ops.operand(a)
    if operator.index(ind) <= 0:
        raise ValueError(f"{name}: Invalid ind argument {ind}: it must be a positive number of "
                         f"leading axes")
    old = tuple(a.shape)
    rows, columns = math.prod(old[:ind]), math.prod(old[ind:])
    if rows != columns:
        raise ShapeError(f"{name}: a, of shape {old}, is not square for ind={ind}: the product "
                         f"of its first {ind} axes ({rows}) must equal that of the others "
                         f"({columns})")
    try:
        inverse = linalg_ops.inv(ops.reshape(a, (columns, -1)))
    except LinAlgError:
        raise LinAlgError(f"{name}: a, read as a {rows} by {columns} matrix, is singular, so it "
                          f"has no inverse") from None
    return ops.reshape(inverse, old[ind:] + old[:ind])


def tensorsolve(a, b, axes=None):
    """The ``x`` with ``tensordot(a, x, axes=x.ndim) == b``; ``axes``: axes of ``a`` moved to
    the end first."""
    name = "linalg.tensorsolve"
    a, b = ops.operand(a), ops.operand(b)
    if axes is not None:
        order = list(range(a.ndim))
        for k in axes:
            k = one_dim(name, k, a.ndim)
            order.remove(k)
            order.append(k)
        a = ops.permute(a, order)
    unknowns = tuple(a.shape[-(a.ndim - b.ndim):])  # (all of a's axes when a.ndim == b.ndim)
    size = math.prod(unknowns)
    if math.prod(a.shape) != size ** 2:
        raise ShapeError(f"{name}: Input arrays must satisfy the requirement "
                         f"prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim]) (a has shape "
                         f"{tuple(a.shape)}{' after moving axes' if axes is not None else ''}, "
                         f"b {tuple(b.shape)})")
    try:
        x = linalg_ops.solve(ops.reshape(a, (size, size)), ops.reshape(b, -1))
    except LinAlgError:
        raise LinAlgError(f"{name}: a, read as a {size} by {size} matrix, is singular; the "
                          f"equations have no unique solution") from None
    return ops.reshape(x, unknowns)


# --------------------------------------------------------------------------------------------
# numpy.linalg's names of the functions above, as far as the installed NumPy has them
# (NumPy 1.26 has matrix_power, multi_dot, tensorinv and tensorsolve)

LINALG = {name: func for name, func in {
    "cross": cross, "diagonal": diagonal, "matmul": matmul, "matrix_norm": matrix_norm,
    "matrix_power": matrix_power, "matrix_transpose": matrix_transpose,
    "multi_dot": multi_dot, "outer": outer, "tensordot": tensordot, "tensorinv": tensorinv,
    "tensorsolve": tensorsolve, "trace": trace, "vecdot": linalg_vecdot,
    "vector_norm": vector_norm,
}.items() if hasattr(np.linalg, name)}
