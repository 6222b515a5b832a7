"""The public operations, with PyTorch's names and signatures, and the Tensor methods.

Each function normalises its arguments (``dim`` or ``axis``, ``keepdim`` or ``keepdims``,
negative dimensions, sizes given as varargs or tuples) and calls a primitive of
:mod:`chainrule.rules`, or composes several.  Operations whose results carry no gradient
(comparisons, ``argmax``, ``isnan`` ...) compute with NumPy and return tensors that do not
require grad, as in PyTorch.  At the end of the module these functions become the methods and
operators of :class:`~chainrule.tensor.Tensor`.

The primitives these functions call compute with plain NumPy when given no Tensor at all
(this is what lets the derivative rules run on raw arrays, see ``chainrule/rules/``); the functions
here return tensors all the same: the unary ones turn a non-Tensor argument into a tensor
first (``tensor_arg``), the binary ones are wrapped at the end of the module
(``_tensor_out``).
"""

from __future__ import annotations

import builtins
import functools
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from chainrule import rules as R
from chainrule.creation import _size as _sizes
from chainrule.engine import grad_mode
from chainrule.rules.reductions import count
from chainrule.tensor import FLOAT_DTYPES, Tensor, wrap

# --------------------------------------------------------------------------------------------
# argument helpers


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def tensor_arg(x):
    """Tensors pass through; other values become constant tensors (for ``cr.exp(2.0)``); a
    list or tuple holding tensors is stacked (so that their gradients are kept)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)) and builtins.any(isinstance(v, (Tensor, list, tuple))
                                                     for v in x):
        return stack([tensor_arg(v) for v in x])
    return wrap(np.asarray(x))


def _dims(name: str, ndim: int, dim=None, axis=None) -> tuple[int, ...] | None:
    """``dim``/``axis`` as None (all) or a sorted tuple of non-negative dimensions."""
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"{name}: pass dim or axis, not both")
    dims = dim if dim is not None else axis
    if dims is None:
        return None
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = tuple(sorted(_axis(name, d, ndim) for d in dims))
    return () if ndim == 0 else axes  # a 0-d tensor accepts dim 0 or -1: nothing to reduce


def _axis(name: str, d: int, ndim: int) -> int:
    low, high = -builtins.max(ndim, 1), builtins.max(ndim, 1) - 1
    if not low <= d <= high:
        raise IndexError(f"{name}: Dimension out of range (expected to be in range of "
                         f"[{low}, {high}], but got {d})")
    return d % builtins.max(ndim, 1)


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def _nograd(func, *args, **kwargs) -> Tensor:
    """Apply a NumPy function whose result carries no gradient."""
    return wrap(func(*[_data(a) for a in args], **kwargs))


# --------------------------------------------------------------------------------------------
# arithmetic


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other``, broadcasting.

    >>> import chainrule as cr
    >>> cr.add(cr.tensor([1., 2.]), 1)
    tensor([2., 3.])
    """
    return R.add(input, other if alpha == 1 else R.mul(other, alpha))


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    return R.sub(input, other if alpha == 1 else R.mul(other, alpha))


def mul(input, other) -> Tensor:
    """Elementwise product, broadcasting."""
    return R.mul(input, other)


_floor_divide = R.numpy2_promotion(np.floor_divide)
_trunc_divide = R.numpy2_promotion(lambda a, b: np.trunc(np.true_divide(a, b)))


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (``rounding_mode='floor'`` or ``'trunc'`` gives no gradient)."""
    if rounding_mode is None:
        return R.div(input, other)
    if rounding_mode == "floor":
        return _nograd(_floor_divide, input, other)
    if rounding_mode == "trunc":
        return _nograd(_trunc_divide, input, other)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def pow(input, exponent) -> Tensor:  # noqa: A001
    """``input ** exponent``; either may be a tensor."""
    return R.pow(input, exponent)


def neg(input) -> Tensor:
    """``-input``."""
    return R.neg(input)


def _unary(prim, doc: str):
    def op(input) -> Tensor:
        return prim(input if isinstance(input, Tensor) else tensor_arg(input))

    op.__name__ = op.__qualname__ = prim.name.lower()
    op.__doc__ = doc
    return op


exp = _unary(R.exp, "Elementwise e**x.")
log = _unary(R.log, "Elementwise natural logarithm.")
log1p = _unary(R.log1p, "Elementwise log(1 + x), accurate for small x.")
expm1 = _unary(R.expm1, "Elementwise e**x - 1, accurate for small x.")
sqrt = _unary(R.sqrt, "Elementwise square root.")
square = _unary(R.square, "Elementwise x**2.")
sin = _unary(R.sin, "Elementwise sine.")
cos = _unary(R.cos, "Elementwise cosine.")
tan = _unary(R.tan, "Elementwise tangent.")
tanh = _unary(R.tanh, "Elementwise hyperbolic tangent.")
sigmoid = _unary(R.sigmoid, "Elementwise logistic function 1 / (1 + e**-x).")
relu = _unary(R.relu, "Elementwise max(x, 0); the gradient at 0 is 0.")
abs = _unary(R.abs, "Elementwise absolute value; the gradient at 0 is 0.")  # noqa: A001
sign = _unary(R.sign, "Elementwise sign (-1, 0 or 1); zero gradient.")
floor = _unary(R.floor, "Elementwise floor; zero gradient.")
ceil = _unary(R.ceil, "Elementwise ceiling; zero gradient.")
trunc = _unary(R.trunc, "Elementwise rounding toward zero; zero gradient.")


def round(input, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (to ``decimals`` places); zero gradient."""
    return R.round(tensor_arg(input), decimals=decimals)


def maximum(input, other) -> Tensor:
    """Elementwise maximum; at ties each input gets half the gradient."""
    return R.maximum(input, other)


def minimum(input, other) -> Tensor:
    """Elementwise minimum; at ties each input gets half the gradient."""
    return R.minimum(input, other)


def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]``; the bounds pass the gradient.

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-1., 0.5, 2.]), min=0, max=1)
    tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # tensor bounds: the input keeps the gradient where it lies within [min, max], bounds
        # included, and a bound gets it where the input lies beyond it (as PyTorch)
        out = input
        if min is not None:
            out = R.where(_data(input) < _data(min), min, out)
        if max is not None:
            out = R.where(_data(input) > _data(max), max, out)
        return out
    return R.clamp(input, lo=min, hi=max)


clip = clamp


def where(condition, input=None, other=None) -> Tensor:
    """Choose ``input`` where ``condition`` holds, else ``other`` (broadcasting)."""
    if input is None and other is None:
        return tuple(wrap(i) for i in np.nonzero(_data(condition)))
    return R.where(condition, input, other)


# --------------------------------------------------------------------------------------------
# reductions


def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,  # noqa: A001
        keepdims=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default).

    >>> import chainrule as cr
    >>> cr.arange(4.0).sum()
    tensor(6.)
    """
    x = tensor_arg(input) if dtype is None else tensor_arg(input).to(dtype)
    if x.dtype == np.bool_:
        x = x.to(np.int64)
    out = R.reduce_sum(x, axis=_dims("sum", x.ndim, dim, axis), keepdims=_keep(keepdim, keepdims),
                       x_shape=x.shape)
    # NumPy sums small integers in the platform's int; an explicit dtype is kept (as PyTorch)
    return out if dtype is None or out.dtype == np.dtype(dtype) else out.to(dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> Tensor:
    """Mean over ``dim`` (all dimensions by default)."""
    x = tensor_arg(input) if dtype is None else tensor_arg(input).to(dtype)
    return R.reduce_mean(x, axis=_dims("mean", x.ndim, dim, axis),
                         keepdims=_keep(keepdim, keepdims), x_shape=x.shape)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> Tensor:
    """Product over ``dim`` (all dimensions by default); zeros are handled exactly."""
    x = tensor_arg(input) if dtype is None else tensor_arg(input).to(dtype)
    return R.reduce_prod(x, axis=_dims("prod", x.ndim, dim, axis),
                         keepdims=_keep(keepdim, keepdims), x_shape=x.shape)


def amax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Maximum over ``dim``; ties share the gradient evenly."""
    x = tensor_arg(input)
    return R.amax(x, axis=_dims("amax", x.ndim, dim, axis), keepdims=_keep(keepdim, keepdims),
                  x_shape=x.shape)


def amin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Minimum over ``dim``; ties share the gradient evenly."""
    x = tensor_arg(input)
    return R.amin(x, axis=_dims("amin", x.ndim, dim, axis), keepdims=_keep(keepdim, keepdims),
                  x_shape=x.shape)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _extremum(name, reduce, arg, binary, input, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor) or isinstance(dim, np.ndarray):
        return binary(input, dim)
    x = tensor_arg(input)
    if dim is None and axis is None:
        return reduce(x)
    dims = _dims(name, x.ndim, dim, axis)
    if x.ndim == 0:
        return MaxResult(reshape(x, ()), wrap(np.array(0, np.int64)))
    d = dims[0]
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    keep = _keep(keepdim, keepdims)
    indices = arg(x._data, axis=d, keepdims=True)
    # the values are gathered at the chosen index, so only that element gets the gradient
    grid = list(np.indices(indices.shape, sparse=True))
    grid[d] = indices
    values = x[tuple(grid)]
    if not keep:
        values, indices = values.squeeze(d), np.squeeze(indices, axis=d)
    return MaxResult(values, wrap(indices))


def max(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """``max(x)``: the maximum; ``max(x, dim)``: (values, indices); ``max(x, y)``: maximum."""
    return _extremum("max", amax, np.argmax, maximum, input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """``min(x)``: the minimum; ``min(x, dim)``: (values, indices); ``min(x, y)``: minimum."""
    return _extremum("min", amin, np.argmin, minimum, input, dim, keepdim, axis, keepdims)


def logsumexp(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    x = tensor_arg(input)
    return R.logsumexp(x, axis=_dims("logsumexp", x.ndim, dim, axis),
                       keepdims=_keep(keepdim, keepdims), x_shape=x.shape)


def _along_one_dim(name: str, prim, input, dim):
    """Apply ``prim`` along one dimension; a 0-d tensor is treated as one element."""
    x = tensor_arg(input)
    dims = _dims(name, x.ndim, dim)
    if x.ndim == 0:
        return reshape(prim(reshape(x, 1), axis=0), ())
    return prim(x, axis=dims[0])


def softmax(input, dim: int = -1, *, axis=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (the last by default)."""
    return _along_one_dim("softmax", R.softmax, input, dim if axis is None else axis)


def log_softmax(input, dim: int = -1, *, axis=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim`` (the last by default)."""
    return _along_one_dim("log_softmax", R.log_softmax, input, dim if axis is None else axis)


def var(input, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None,
        axis=None, keepdims=None, ddof=None) -> Tensor:
    """Variance over ``dim``, dividing by ``n - correction`` (Bessel's correction by default)."""
    x = tensor_arg(input)
    if unbiased is not None:
        correction = int(unbiased)
    if ddof is not None:
        correction = ddof
    dims = _dims("var", x.ndim, dim, axis)
    keep = _keep(keepdim, keepdims)
    centred = x - R.reduce_mean(x, axis=dims, keepdims=True, x_shape=x.shape)
    n = count(x.shape, dims)
    total = R.reduce_sum(centred * centred, axis=dims, keepdims=keep, x_shape=x.shape)
    return total / builtins.max(n - correction, 0)


def std(input, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None,
        axis=None, keepdims=None, ddof=None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    return sqrt(var(input, dim, correction=correction, keepdim=keepdim, unbiased=unbiased,
                    axis=axis, keepdims=keepdims, ddof=ddof))


def vector_norm(input, ord=2, dim=None, keepdim: bool = False, *, axis=None,  # noqa: A002
                keepdims=None) -> Tensor:
    """The ``ord``-norm of the entries over ``dim`` (all by default); gradient 0 at 0."""
    x = tensor_arg(input)
    dims = _dims("norm", x.ndim, dim, axis)
    keep = _keep(keepdim, keepdims)
    if ord in (2, 2.0, "fro", None):
        return R.vector_norm(x, axis=dims, keepdims=keep, x_shape=x.shape)
    if ord == np.inf:
        return amax(abs(x), dims, keep)
    if ord == -np.inf:
        return amin(abs(x), dims, keep)
    if ord == 0:
        return _nograd(lambda a: np.sum(a != 0, axis=dims, keepdims=keep).astype(a.dtype), x)
    if ord == 1:
        return sum(abs(x), dims, keep)
    return sum(abs(x) ** ord, dims, keep) ** (1.0 / ord)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The ``p``-norm of the entries (2-norm, i.e. Frobenius, by default).

    >>> import chainrule as cr
    >>> cr.tensor([3., 4.]).norm()
    tensor(5.)
    """
    x = tensor_arg(input) if dtype is None else tensor_arg(input).to(dtype)
    return vector_norm(x, p, dim, keepdim)


# --------------------------------------------------------------------------------------------
# products


def matmul(input, other) -> Tensor:
    """Matrix product with NumPy's rules for 1-D and batched operands (``@``)."""
    return R.matmul(input, other)


def dot(input, other) -> Tensor:
    """Inner product of two 1-D tensors.

    >>> import chainrule as cr
    >>> x = cr.arange(4.0)
    >>> cr.dot(x, x)
    tensor(14.)
    """
    if np.ndim(_data(input)) != 1 or np.ndim(_data(other)) != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {np.ndim(_data(input))}D and "
                           f"{np.ndim(_data(other))}D tensors; use matmul (@) for matrices")
    return R.dot(input, other)


def mm(input, mat2) -> Tensor:
    """Product of two matrices."""
    if np.ndim(_data(input)) != 2 or np.ndim(_data(mat2)) != 2:
        raise RuntimeError("mm: both arguments must be 2-D matrices; use matmul for others")
    return R.matmul(input, mat2)


def mv(input, vec) -> Tensor:
    """Product of a matrix and a vector."""
    if np.ndim(_data(input)) != 2 or np.ndim(_data(vec)) != 1:
        raise RuntimeError("mv: expected a 2-D matrix and a 1-D vector; use matmul for others")
    return R.matmul(input, vec)


def outer(input, vec2) -> Tensor:
    """Outer product of two 1-D tensors."""
    if np.ndim(_data(input)) != 1 or np.ndim(_data(vec2)) != 1:
        raise RuntimeError(f"outer: 1D tensors expected, but got {np.ndim(_data(input))}D and "
                           f"{np.ndim(_data(vec2))}D tensors")
    return reshape(input, -1, 1) * reshape(vec2, 1, -1)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as ``numpy.einsum`` (operands may also be given as one list).

    >>> import chainrule as cr
    >>> cr.einsum("i,i->", cr.arange(3.0), cr.arange(3.0))
    tensor(5.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return R.einsum(*operands, subscripts=equation)


def tensordot(a, b, dims=2) -> Tensor:
    """Contract the last ``dims`` axes of ``a`` with the first of ``b`` (or given axis lists)."""
    na, nb = np.ndim(_data(a)), np.ndim(_data(b))
    if isinstance(dims, (int, np.integer)):
        axes_a, axes_b = list(range(na - dims, na)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sub_a = [next(letters) for _ in range(na)]
    sub_b = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b):
        sub_b[j % nb] = sub_a[i % na]
    contracted = {sub_a[i % na] for i in axes_a}
    out = [c for c in sub_a if c not in contracted] + [c for c in sub_b if c not in contracted]
    return R.einsum(a, b, subscripts=f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(out)}")


# --------------------------------------------------------------------------------------------
# shapes


def reshape(input, *shape) -> Tensor:
    """The same values with another shape (one size may be -1).

    >>> import chainrule as cr
    >>> cr.arange(4.0).reshape(2, 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    x = tensor_arg(input)
    return R.reshape(x, shape=_sizes(shape), x_shape=x.shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
    x = tensor_arg(input)
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = _axis("flatten", start_dim, x.ndim), _axis("flatten", end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    return reshape(x, shape)


def squeeze(input, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    x = tensor_arg(input)
    dims = _dims("squeeze", x.ndim, dim) if dim is not None else range(x.ndim)
    shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(input, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    x = tensor_arg(input)
    d = _axis("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def permute(input, *dims) -> Tensor:
    """Reorder the dimensions."""
    x = tensor_arg(input)
    axes = tuple(_axis("permute", d, x.ndim) for d in _sizes(dims))
    if sorted(axes) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {axes} are not a permutation of {x.ndim} dimensions")
    return R.transpose(x, axes=axes)


def transpose(input, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    x = tensor_arg(input)
    axes = list(range(x.ndim))
    d0, d1 = _axis("transpose", dim0, x.ndim), _axis("transpose", dim1, x.ndim)
    if x.ndim == 0:
        return x
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return R.transpose(x, axes=tuple(axes))


swapaxes = transpose


def t(input) -> Tensor:
    """Transpose a matrix (a 0-D or 1-D tensor is returned as it is)."""
    x = tensor_arg(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D; "
                           "use transpose(dim0, dim1) or permute")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def broadcast_to(input, shape) -> Tensor:
    """A broadcast (read-only) view with the given shape."""
    x = tensor_arg(input)
    return R.broadcast_to(x, shape=tuple(shape), x_shape=x.shape)


def expand(input, *sizes) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps a dimension's size."""
    x = tensor_arg(input)
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    if -1 in sizes[:lead]:
        raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def expand_as(input, other) -> Tensor:
    """Broadcast to ``other``'s shape."""
    return broadcast_to(input, other.shape)


def cat(tensors: Sequence, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = [tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated; use stack, or reshape it to (1,)")
    d = _axis("cat", dim if axis is None else axis, tensors[0].ndim)
    sizes = tuple(t.shape[d] for t in tensors)
    return R.cat(*tensors, axis=d, sizes=sizes)


concatenate = concat = cat


def stack(tensors: Sequence, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along a new dimension."""
    tensors = [tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    d = _axis("stack", dim if axis is None else axis, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Cut into pieces of the given size (the last may be smaller) or the given sizes."""
    x = tensor_arg(tensor)
    if x.ndim == 0:
        raise RuntimeError("split: a zero-dimensional tensor cannot be split; reshape it first")
    d = _axis("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and n > 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        step = builtins.max(step, 1)
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} do not add up to {n}, the size of dim {d}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * d + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Cut into ``chunks`` pieces of (nearly) equal size."""
    x = tensor_arg(input)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[_axis("chunk", dim, x.ndim)]
    return split(x, -(-n // chunks) if n else 1, dim)


def flip(input, dims) -> Tensor:
    """Reverse the order along ``dims``."""
    x = tensor_arg(input)
    return R.flip(x, axis=_dims("flip", x.ndim, dims))


def tile(input, *dims) -> Tensor:
    """Repeat the whole tensor along each dimension (NumPy's ``tile``): ``tile(x, (2, 1))``."""
    x = tensor_arg(input)
    reps = _sizes(dims)
    reps = (1,) * (x.ndim - len(reps)) + reps
    return R.repeat(x, reps=reps, x_shape=x.shape)


def _repeat_method(self, *sizes) -> Tensor:
    """Repeat along each dimension (PyTorch's ``Tensor.repeat``, i.e. NumPy's ``tile``)."""
    reps = _sizes(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError("repeat: the number of repeat dims can not be smaller than the "
                           "number of dimensions of the tensor")
    return R.repeat(self, reps=reps, x_shape=self.shape)


# --------------------------------------------------------------------------------------------
# indexing


def _index(index):
    """Tensors inside an index become arrays."""
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


def _getitem(self, index) -> Tensor:
    index = _index(index)
    return R.getitem(self, index=index, x_shape=self.shape)


def _setitem(self, index, value) -> None:
    index = _index(index)
    value_rg = isinstance(value, Tensor) and value._rg
    tangents = self._tangents is not None or (isinstance(value, Tensor)
                                              and value._tangents is not None)
    if not (grad_mode.enabled and (self._rg or value_rg)) and not tangents:
        _check_writable(self, "setitem")
        self._ensure_array()
        try:
            self._data[index] = _data(value)
        except (ValueError, TypeError, IndexError) as err:
            raise type(err)(f"chainrule.setitem: {err}") from None
        self._bump_version()
        return
    _inplace(self, "setitem", lambda old: R.index_put(old, value, index=index))


# --------------------------------------------------------------------------------------------
# functions without gradient


def _comparison(ufunc, doc):
    op = R.numpy2_promotion(ufunc)

    def compare(input, other) -> Tensor:
        return _nograd(op, input, other)

    compare.__name__ = compare.__qualname__ = ufunc.__name__
    compare.__doc__ = doc
    return compare


eq = _comparison(np.equal, "Elementwise ``==`` (bool tensor, no gradient).")
ne = _comparison(np.not_equal, "Elementwise ``!=`` (bool tensor, no gradient).")
lt = _comparison(np.less, "Elementwise ``<`` (bool tensor, no gradient).")
le = _comparison(np.less_equal, "Elementwise ``<=`` (bool tensor, no gradient).")
gt = _comparison(np.greater, "Elementwise ``>`` (bool tensor, no gradient).")
ge = _comparison(np.greater_equal, "Elementwise ``>=`` (bool tensor, no gradient).")
logical_and = _comparison(np.logical_and, "Elementwise logical and.")
logical_or = _comparison(np.logical_or, "Elementwise logical or.")
logical_xor = _comparison(np.logical_xor, "Elementwise logical exclusive or.")
bitwise_and = _comparison(np.bitwise_and, "Elementwise ``&``.")
bitwise_or = _comparison(np.bitwise_or, "Elementwise ``|``.")
bitwise_xor = _comparison(np.bitwise_xor, "Elementwise ``^``.")


def logical_not(input) -> Tensor:
    """Elementwise logical not."""
    return _nograd(np.logical_not, input)


def isnan(input) -> Tensor:
    """Where the values are NaN."""
    return _nograd(np.isnan, input)


def isinf(input) -> Tensor:
    """Where the values are infinite."""
    return _nograd(np.isinf, input)


def isfinite(input) -> Tensor:
    """Where the values are finite."""
    return _nograd(np.isfinite, input)


def _one_axis(name: str, input, dim):
    if dim is None:
        return None
    ndim = np.ndim(_data(input))
    return None if ndim == 0 else _axis(name, dim, ndim)


def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor by default)."""
    return _nograd(np.argmax, input, axis=_one_axis("argmax", input, dim), keepdims=keepdim)


def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor by default)."""
    return _nograd(np.argmin, input, axis=_one_axis("argmin", input, dim), keepdims=keepdim)


def all(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether all values are true (along ``dim``)."""
    return _nograd(np.all, input, axis=_one_axis("all", input, dim), keepdims=keepdim)


def any(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any value is true (along ``dim``)."""
    return _nograd(np.any, input, axis=_one_axis("any", input, dim), keepdims=keepdim)


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether all values are close: ``|input - other| <= atol + rtol * |other|``."""
    return bool(np.allclose(_data(input), _data(other), rtol, atol, equal_nan))


def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """Elementwise closeness."""
    return _nograd(np.isclose, input, other, rtol, atol, equal_nan)


def equal(input, other) -> bool:
    """Whether both have the same shape and values."""
    return bool(np.array_equal(_data(input), _data(other)))


def count_nonzero(input, dim=None) -> Tensor:
    """How many values are not zero."""
    return _nograd(lambda a: np.asarray(np.count_nonzero(a, axis=dim), np.int64), input)


# --------------------------------------------------------------------------------------------
# conversions


def _to(self, *args, dtype=None, **kwargs) -> Tensor:
    """Cast to ``dtype`` (a result that cannot carry gradient, e.g. int, has none).

    Device arguments (``'cpu'``) are accepted and ignored; another tensor means its dtype.
    """
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif a is not None and not (isinstance(a, str) and a.startswith("cpu")):
            dtype = a
    if dtype is None:
        return self
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if dtype not in FLOAT_DTYPES:
        return _nograd(lambda a: np.asarray(a).astype(dtype), self)
    return R.cast(self, dtype=dtype, x_dtype=self.dtype)


def _caster(dtype):
    def convert(self) -> Tensor:
        return _to(self, dtype)

    convert.__doc__ = f"Cast to {np.dtype(dtype)}."
    return convert


def clone(input) -> Tensor:
    """A copy with its own storage (differentiable)."""
    return R.clone(tensor_arg(input))


# --------------------------------------------------------------------------------------------
# in-place operations


def _check_writable(self, name: str) -> None:
    if not grad_mode.enabled:
        return
    if self._rg and self._node is None:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                           f"operation ({name}). Wrap the update in `with chainrule.no_grad():` "
                           "or use an out-of-place operation.")
    if self._base is not None and self._base._rg and self._base._node is None:
        raise RuntimeError(f"a view of a leaf Variable that requires grad is being used in an "
                           f"in-place operation ({name}). Wrap it in `with chainrule.no_grad():` "
                           "or use an out-of-place operation.")


def _inplace(self, name: str, compute) -> Tensor:
    """Replace ``self``'s values by ``compute(old)``; adopt its node when it was recorded."""
    _check_writable(self, name)
    if grad_mode.enabled and self._rg:
        old = wrap(np.array(self._data, copy=True), self._node)  # a copy of the value before
    else:
        old = self.detach()  # shares storage: compute must read it before it is overwritten
    old._tangents = self._tangents  # forward mode follows in-place changes too
    result = compute(old)
    # an integer tensor cannot carry a gradient: its new values are just data
    recorded = (isinstance(result, Tensor) and result._node is not None
                and self.dtype in FLOAT_DTYPES)
    with_tangents = isinstance(result, Tensor) and result._tangents is not None
    if (recorded or with_tangents) and self._base is not None:
        raise RuntimeError(f"{name}: in-place operations on a view are not differentiable in "
                           "chainrule; use the out-of-place form (y = y * 2) or clone() the "
                           "view first.")
    new = np.asarray(_data(result))
    if new.shape != self.shape:
        raise RuntimeError(f"{name}: output with shape {new.shape} doesn't match the "
                           f"broadcast shape {self.shape} of the tensor changed in place")
    if not np.can_cast(new.dtype, self.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {new.dtype} can't be cast to the desired "
                           f"output type {self.dtype}")
    if isinstance(self._data, np.ndarray):
        try:
            np.copyto(self._data, new, casting="same_kind")
        except ValueError as err:
            raise RuntimeError(f"{name}: cannot write into this tensor ({err}); it may be a "
                               "broadcast (expanded) view: clone() it first") from None
    else:
        self._data = new.astype(self.dtype)
    if recorded:
        if result.dtype != self.dtype:
            result = R.cast(result, dtype=self.dtype, x_dtype=result.dtype)
        self._node = result._node
        self._rg = True
    if isinstance(result, Tensor):
        self._tangents = result._tangents
    self._bump_version()
    return self


def _inplace_arithmetic(self, name: str, prim, ufunc, other) -> Tensor:
    """``self op= other``.  When nothing is recorded and no tangent flows (an optimiser's
    update under ``no_grad``), NumPy writes straight into ``self``'s array: no temporary."""
    other_tensor = isinstance(other, Tensor)
    if (type(self._data) is np.ndarray and self._tangents is None
            and not (grad_mode.enabled and (self._rg or (other_tensor and other._rg)))
            and not (other_tensor and other._tangents is not None)
            and self._data.flags.writeable):
        _check_writable(self, name)
        try:
            ufunc(self._data, other._data if other_tensor else other, out=self._data,
                  casting="same_kind")
        except (TypeError, ValueError):
            pass  # (nothing was written) the general path below explains what is wrong
        else:
            self._bump_version()
            return self
    return _inplace(self, name, lambda old: prim(old, other))


def _inplace_arithmetic_method(name: str, func, prim, ufunc):
    """``add_`` and friends: straight into the array when :func:`_inplace_arithmetic` can,
    through ``func`` when given keywords (``alpha=``, ``rounding_mode=``)."""
    def method(self, other, **kwargs) -> Tensor:
        if kwargs:
            return _inplace(self, name, lambda old: func(old, other, **kwargs))
        return _inplace_arithmetic(self, name, prim, ufunc, other)

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{func.__name__}`; returns ``self``."
    return method


def _inplace_method(name: str, func):
    def method(self, *args, **kwargs) -> Tensor:
        return _inplace(self, name, lambda old: func(old, *args, **kwargs))

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{func.__name__}`; returns ``self``."
    return method


def _zero_(self) -> Tensor:
    """Fill with zeros in place and return ``self``.

    >>> import chainrule as cr
    >>> g = cr.ones(3)
    >>> g.zero_()
    tensor([0., 0., 0.])
    """
    return _inplace(self, "zero_", lambda old: R.where(False, old, np.zeros((), old.dtype)))


def _fill_(self, value) -> Tensor:
    """Fill with ``value`` in place and return ``self``."""
    if not isinstance(value, Tensor):
        value = np.asarray(value, self.dtype)
    return _inplace(self, "fill_", lambda old: R.where(False, old, value))


def _copy_(self, src) -> Tensor:
    """Copy ``src``'s values (broadcast) into ``self`` in place and return ``self``."""
    return _inplace(self, "copy_", lambda old: R.where(False, old, src))


def cumsum(input, dim: int) -> Tensor:
    """Cumulative sums along ``dim``."""
    return _along_one_dim("cumsum", R.cumsum, input, dim)


def cumprod(input, dim: int) -> Tensor:
    """Cumulative products along ``dim`` (exact gradients at zeros to first order)."""
    return _along_one_dim("cumprod", R.cumprod, input, dim)


SortResult = namedtuple("SortResult", ["values", "indices"])


def sort(input, dim: int = -1, descending: bool = False) -> SortResult:
    """Sorted values along ``dim`` and the indices they came from (the values carry gradient)."""
    x = tensor_arg(input)
    d = _axis("sort", dim, x.ndim)
    if x.ndim == 0:
        return SortResult(reshape(x, ()), wrap(np.array(0, np.int64)))
    if not descending:
        return SortResult(R.sort(x, axis=d),
                          wrap(np.argsort(x._data, axis=d, kind="stable")))
    # descending, ties in their original order (any dtype): the reversed tensor sorted
    # ascending, read backwards; the values' gradient follows the same permutation
    backwards = flip(x, d)
    order = x.shape[d] - 1 - np.flip(np.argsort(backwards._data, axis=d, kind="stable"), axis=d)
    return SortResult(flip(R.sort(backwards, axis=d), d), wrap(order))


# --------------------------------------------------------------------------------------------
# functional updates (JAX's x.at[idx].set(v)): new tensors, differentiable in x and v


class _At:
    """``x.at[index]``: what ``set``, ``add`` ... return is a new tensor; ``x`` is unchanged."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self._tensor = tensor

    def __getitem__(self, index) -> _Update:
        return _Update(self._tensor, _index(index))


class _Update:
    """The operations of ``x.at[index]``."""

    __slots__ = ("_tensor", "_index")

    def __init__(self, tensor: Tensor, index) -> None:
        self._tensor, self._index = tensor, index

    def get(self) -> Tensor:
        """``x[index]``."""
        return self._tensor[self._index]

    def set(self, values) -> Tensor:
        """A copy of ``x`` with ``values`` written at ``index`` (broadcast)."""
        return R.index_put(self._tensor, values, index=self._index)

    def add(self, values) -> Tensor:
        """A copy of ``x`` with ``values`` added at ``index``; repeated indices accumulate."""
        x = self._tensor
        target_shape = np.shape(x._data[self._index])
        values = broadcast_to(values, target_shape)
        if values.dtype != x.dtype and x.dtype.kind == "f":
            values = values.to(x.dtype)
        return x + R.index_add(values, index=self._index, x_shape=x.shape)

    def multiply(self, values) -> Tensor:
        """A copy of ``x`` with the entries at ``index`` multiplied by ``values``."""
        return self.set(self.get() * values)


# --------------------------------------------------------------------------------------------
# attach to Tensor

Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: R.add(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: R.sub(other, self)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: R.mul(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: R.div(other, self)
Tensor.__floordiv__ = lambda self, other: div(self, other, rounding_mode="floor")
Tensor.__rfloordiv__ = lambda self, other: div(other, self, rounding_mode="floor")
Tensor.__mod__ = lambda self, other: R.remainder(self, other)
Tensor.__rmod__ = lambda self, other: R.remainder(other, self)
Tensor.__pow__ = pow
Tensor.__rpow__ = lambda self, other: R.pow(other, self)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: R.matmul(other, self)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__and__ = bitwise_and
Tensor.__or__ = bitwise_or
Tensor.__xor__ = bitwise_xor
Tensor.__rand__ = lambda self, other: bitwise_and(other, self)
Tensor.__ror__ = lambda self, other: bitwise_or(other, self)
Tensor.__rxor__ = lambda self, other: bitwise_xor(other, self)
Tensor.__invert__ = lambda self: _nograd(np.invert, self)
Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem

_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "neg": neg, "negative": neg, "exp": exp,
    "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt, "square": square, "sin": sin,
    "cos": cos, "tan": tan, "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "abs": abs,
    "sign": sign, "floor": floor, "ceil": ceil, "round": round, "trunc": trunc,
    "maximum": maximum, "minimum": minimum, "clamp": clamp, "clip": clip, "sum": sum,
    "mean": mean, "prod": prod, "amax": amax, "amin": amin, "max": max, "min": min,
    "logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax, "var": var,
    "std": std, "norm": norm, "matmul": matmul, "dot": dot, "mm": mm, "mv": mv, "outer": outer,
    "reshape": reshape, "view": reshape, "flatten": flatten, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "permute": permute, "transpose": transpose, "swapaxes": swapaxes,
    "t": t, "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "split": split, "chunk": chunk, "flip": flip, "tile": tile, "repeat": _repeat_method,
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "isnan": isnan,
    "isinf": isinf, "isfinite": isfinite, "argmax": argmax, "argmin": argmin, "all": all,
    "any": any, "allclose": allclose, "isclose": isclose, "equal": equal,
    "count_nonzero": count_nonzero, "logical_not": logical_not, "logical_and": logical_and,
    "logical_or": logical_or, "clone": clone, "to": _to, "type": _to, "astype": _to,
    "float": _caster(np.float32), "double": _caster(np.float64), "half": _caster(np.float16),
    "int": _caster(np.int32), "long": _caster(np.int64), "bool": _caster(np.bool_),
    "zero_": _zero_, "fill_": _fill_, "copy_": _copy_, "cumsum": cumsum, "cumprod": cumprod,
    "sort": sort,
}
for _name, _func in _METHODS.items():
    setattr(Tensor, _name, _func)
for _name, _func in {"pow": pow, "neg": neg, "exp": exp, "log": log, "sqrt": sqrt, "sin": sin,
                     "cos": cos, "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "abs": abs,
                     "clamp": clamp, "clip": clip}.items():
    setattr(Tensor, _name + "_", _inplace_method(_name + "_", _func))
# the four arithmetic updates, as methods (add_) and operators (+=)
for _name, (_func, _prim, _ufunc, _operator) in {
        "add": (add, R.add, np.add, "__iadd__"), "sub": (sub, R.sub, np.subtract, "__isub__"),
        "mul": (mul, R.mul, np.multiply, "__imul__"),
        "div": (div, R.div, np.true_divide, "__itruediv__")}.items():
    _method = _inplace_arithmetic_method(_name + "_", _func, _prim, _ufunc)
    setattr(Tensor, _name + "_", _method)
    setattr(Tensor, _operator, _method)

Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))),
                    doc="The tensor with its dimensions reversed.")
Tensor.mT = property(lambda self: transpose(self, -2, -1),
                     doc="The last two dimensions swapped (batched matrix transpose).")
Tensor.at = property(_At, doc="Functional updates, as JAX: ``x.at[idx].set(v)``, ``.add(v)``.")
def _contiguous(self) -> Tensor:
    """``self``: NumPy arrays need no contiguous copy for chainrule's operations."""
    return self


def _cpu(self) -> Tensor:
    """``self``: chainrule computes on the CPU, with NumPy."""
    return self


def _is_floating_point(self) -> bool:
    """Whether the dtype is a floating-point one (only those can require grad)."""
    return self.dtype.kind == "f"


Tensor.contiguous = _contiguous
Tensor.cpu = _cpu
Tensor.is_floating_point = _is_floating_point
Tensor.__contains__ = lambda self, item: bool(np.any(self._data == _data(item)))


# --------------------------------------------------------------------------------------------
# The public functions return Tensors, as the unary ones (which wrap their argument) always
# did: ``chainrule.add(ndarray, ndarray)`` is a Tensor, not NumPy's result.  (The methods and
# operators above keep the functions as they are: ``self`` is a Tensor there already.)


def _tensor_out(func):
    @functools.wraps(func)
    def public(*args, **kwargs):
        out = func(*args, **kwargs)
        return wrap(np.asarray(out)) if isinstance(out, (np.ndarray, np.generic)) else out

    return public


(add, sub, mul, div, pow, neg, maximum, minimum, clamp, where, max, min,  # noqa: A001
 matmul, mm, mv, dot, tensordot, einsum) = (
    _tensor_out(f) for f in (add, sub, mul, div, pow, neg, maximum, minimum, clamp, where, max,
                             min, matmul, mm, mv, dot, tensordot, einsum))
clip = clamp
