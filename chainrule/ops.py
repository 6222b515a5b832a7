"""The operations with PyTorch's names and signatures: what Tensor's methods are, and what the
public functions (:mod:`chainrule.functions`) call.

Each function normalises its arguments (``dim`` or ``axis``, ``keepdim`` or ``keepdims``,
negative dimensions, sizes given as varargs or tuples) and calls a primitive of
:mod:`chainrule.rules`, or composes several.  Operations whose results carry no gradient
(comparisons, ``argmax``, ``isnan`` ...) compute with NumPy and return tensors that do not
require grad, as in PyTorch.

This module sits below :class:`~chainrule.tensor.Tensor` (whose class body binds these
functions as its methods and operators), so it never names Tensor: like a primitive, an
operation returns results of its first tensor argument's class, and plain NumPy when no
argument is a tensor (which is what :mod:`chainrule.numpy` needs).  The public functions
turn a non-tensor first argument into a tensor before calling, so that ``chainrule.exp(2.0)``
is a Tensor.
"""

from __future__ import annotations

import builtins
import string
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from chainrule import rules as R
from chainrule import tracing
from chainrule.arguments import (
    as_shape,
    check_integer_divisor,
    contracted_axes,
    data_of,
    index_of,
    keepdim_of,
    like,
    no_gradient,
    one_dim,
    reduced_dims,
    requested_dtype,
    shape_of,
    split_sizes,
)
from chainrule.engine import grad_mode
from chainrule.errors import (
    ShapeError,
    cat_error,
    einsum_error,
    expand_error,
    index_error,
    operands_error,
    permute_error,
    power_error,
    product_error,
    reshape_error,
    sizes_text,
)
from chainrule.rules.reductions import count
from chainrule.tensor_base import DIFFERENTIABLE_DTYPES, TensorBase
from chainrule.versions import without_history

# --------------------------------------------------------------------------------------------
# argument helpers (the others, which read dims and sizes, are chainrule.arguments')


def operand(x):
    """A tensor as it is; a list or tuple holding tensors stacked (so that their gradients
    are kept); anything else as an ndarray."""
    if isinstance(x, TensorBase):
        return x
    if isinstance(x, (list, tuple)) and builtins.any(isinstance(v, (TensorBase, list, tuple))
                                                     for v in x):
        return stack([operand(v) for v in x])
    return np.asarray(x)


# --------------------------------------------------------------------------------------------
# arithmetic


def add(input, other, *, alpha=1) -> TensorBase:
    """``input + alpha * other``, broadcasting.

    >>> import chainrule as cr
    >>> cr.add(cr.tensor([1., 2.]), 1)
    tensor([2., 3.])
    """
    try:
        return R.add(input, other if alpha == 1 else R.mul(other, alpha))
    except (ValueError, TypeError) as err:
        raise operands_error("add (+)", err, input, other) from None


def sub(input, other, *, alpha=1) -> TensorBase:
    """``input - alpha * other``, broadcasting."""
    try:
        return R.sub(input, other if alpha == 1 else R.mul(other, alpha))
    except (ValueError, TypeError) as err:
        raise operands_error("sub (-)", err, input, other) from None


def mul(input, other) -> TensorBase:
    """Elementwise product, broadcasting."""
    try:
        return R.mul(input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("mul (*)", err, input, other) from None


_floor_divide = R.numpy2_promotion(np.floor_divide)
_trunc_divide = R.numpy2_promotion(lambda a, b: np.trunc(np.true_divide(a, b)))


def div(input, other, *, rounding_mode: str | None = None) -> TensorBase:
    """True division (``rounding_mode='floor'`` or ``'trunc'`` gives no gradient)."""
    try:
        if rounding_mode is None:
            return R.div(input, other)
        if rounding_mode in ("floor", "trunc"):
            check_integer_divisor("div (//)", input, other)
            return no_gradient(_floor_divide if rounding_mode == "floor" else _trunc_divide,
                               input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("div (/)", err, input, other) from None
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found {rounding_mode!r}")


def remainder(input, other) -> TensorBase:
    """Python's ``%``: the remainder with the sign of ``other``; the gradient flows to
    ``input`` (1) and to ``other`` (``-floor(input / other)``)."""
    try:
        return R.remainder(input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("remainder (%)", err, input, other) from None


def pow(input, exponent) -> TensorBase:  # noqa: A001
    """``input ** exponent``; either may be a tensor."""
    try:
        return R.pow(input, exponent)
    except (ValueError, TypeError) as err:
        raise power_error(err, input, exponent) from None


def neg(input) -> TensorBase:
    """``-input``."""
    return R.neg(input)


def unary(prim, doc: str):
    """The operation ``prim(input)`` of a one-input elementwise primitive, named after it."""
    def op(input) -> TensorBase:
        return prim(input if isinstance(input, TensorBase) else operand(input))

    op.__name__ = op.__qualname__ = prim.name.lower()
    op.__doc__ = doc
    return op


exp = unary(R.exp, "Elementwise e**x.")
log = unary(R.log, "Elementwise natural logarithm.")
log1p = unary(R.log1p, "Elementwise log(1 + x), accurate for small x.")
expm1 = unary(R.expm1, "Elementwise e**x - 1, accurate for small x.")
sqrt = unary(R.sqrt, "Elementwise square root.")
square = unary(R.square, "Elementwise x**2.")
sin = unary(R.sin, "Elementwise sine.")
cos = unary(R.cos, "Elementwise cosine.")
tan = unary(R.tan, "Elementwise tangent.")
tanh = unary(R.tanh, "Elementwise hyperbolic tangent.")
sigmoid = unary(R.sigmoid, "Elementwise logistic function 1 / (1 + e**-x).")
relu = unary(R.relu, "Elementwise max(x, 0); the gradient at 0 is 0.")
abs = unary(R.abs, "Elementwise absolute value; the gradient at 0 is 0.")  # noqa: A001
sign = unary(R.sign, "Elementwise sign (-1, 0 or 1); zero gradient.")
floor = unary(R.floor, "Elementwise floor; zero gradient.")
ceil = unary(R.ceil, "Elementwise ceiling; zero gradient.")
trunc = unary(R.trunc, "Elementwise rounding toward zero; zero gradient.")


def round(input, *, decimals: int = 0) -> TensorBase:  # noqa: A001
    """Round half to even (to ``decimals`` places); zero gradient."""
    return R.round(operand(input), decimals=decimals)


def maximum(input, other) -> TensorBase:
    """Elementwise maximum; at ties each input gets half the gradient."""
    try:
        return R.maximum(input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("maximum", err, input, other) from None


def minimum(input, other) -> TensorBase:
    """Elementwise minimum; at ties each input gets half the gradient."""
    try:
        return R.minimum(input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("minimum", err, input, other) from None


def clamp(input, min=None, max=None) -> TensorBase:  # noqa: A002
    """Limit values to ``[min, max]``; the bounds pass the gradient.

    >>> import chainrule as cr
    >>> cr.clamp(cr.tensor([-1., 0.5, 2.]), min=0, max=1)
    tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, TensorBase) or isinstance(max, TensorBase):
        # tensor bounds: the input keeps the gradient where it lies within [min, max], bounds
        # included, and a bound gets it where the input lies beyond it (as PyTorch)
        out = input
        if min is not None:
            out = R.where(no_gradient(np.less, input, min), min, out)
        if max is not None:
            out = R.where(no_gradient(np.greater, input, max), max, out)
        return out
    return R.clamp(input, lo=min, hi=max)


clip = clamp


def where(condition, input=None, other=None) -> TensorBase:
    """Choose ``input`` where ``condition`` holds, else ``other`` (broadcasting)."""
    if input is None and other is None:
        return tuple(like((condition,), i) for i in np.nonzero(data_of(condition)))
    try:
        return R.where(condition, input, other)
    except (ValueError, TypeError) as err:
        raise operands_error("where", err, condition, input, other) from None


# --------------------------------------------------------------------------------------------
# reductions


def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,  # noqa: A001
        keepdims=None) -> TensorBase:
    """Sum over ``dim`` (all dimensions by default).

    >>> import chainrule as cr
    >>> cr.arange(4.0).sum()
    tensor(6.)
    """
    x = operand(input) if dtype is None else to(operand(input), dtype)
    if x.dtype == np.bool_:
        x = to(x, np.int64)
    out = R.reduce_sum(x, axis=reduced_dims("sum", x.ndim, dim, axis),
                       keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)
    # NumPy sums small integers in the platform's int; an explicit dtype is kept (as PyTorch)
    return out if dtype is None or out.dtype == np.dtype(dtype) else to(out, dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> TensorBase:
    """Mean over ``dim`` (all dimensions by default)."""
    x = operand(input) if dtype is None else to(operand(input), dtype)
    return R.reduce_mean(x, axis=reduced_dims("mean", x.ndim, dim, axis),
                         keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims=None) -> TensorBase:
    """Product over ``dim`` (all dimensions by default); zeros are handled exactly."""
    x = operand(input) if dtype is None else to(operand(input), dtype)
    return R.reduce_prod(x, axis=reduced_dims("prod", x.ndim, dim, axis),
                         keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)


def _nonempty_extremum_dims(name: str, x, dims):
    """``dims`` of ``x``, checked: the maximum over nothing has no value (PyTorch's errors)."""
    if dims is None and 0 in shape_of(x):
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    for d in dims or ():
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return dims


def amax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> TensorBase:
    """Maximum over ``dim``; ties share the gradient evenly."""
    x = operand(input)
    dims = _nonempty_extremum_dims("amax", x, reduced_dims("amax", x.ndim, dim, axis))
    return R.amax(x, axis=dims, keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)


def amin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> TensorBase:
    """Minimum over ``dim``; ties share the gradient evenly."""
    x = operand(input)
    dims = _nonempty_extremum_dims("amin", x, reduced_dims("amin", x.ndim, dim, axis))
    return R.amin(x, axis=dims, keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _extremum(name, reduce, arg, binary, input, dim, keepdim, axis, keepdims):
    if isinstance(dim, TensorBase) or isinstance(dim, np.ndarray):
        return binary(input, dim)
    x = operand(input)
    if dim is None and axis is None:
        return reduce(x)
    dims = reduced_dims(name, x.ndim, dim, axis)
    if len(dims) > 1:
        raise TypeError(f"{name}(): argument 'dim' must be int, not a tuple ({dim!r}); use "
                        f"a{name} to reduce over several dimensions")
    if x.ndim == 0:  # (values of their own: max and min are not view operations)
        return MaxResult(R.clone(x), like((x,), np.array(0, np.int64)))
    d = _nonempty_extremum_dims(name, x, dims[:1])[0]
    # (the values are gathered at the chosen index, so only that element gets the gradient)
    values, indices = R.extremum_along(x, arg, d, keep := keepdim_of(keepdim, keepdims))
    if not keep:
        values = squeeze(values, d)
    return MaxResult(values, indices)


def _max_all(x):
    _nonempty_extremum_dims("max", x, None)
    return R.max_all(x, axis=None, keepdims=False, x_shape=x.shape)


def _min_all(x):
    _nonempty_extremum_dims("min", x, None)
    return R.min_all(x, axis=None, keepdims=False, x_shape=x.shape)


def max(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """``max(x)``: the maximum; ``max(x, dim)``: (values, indices); ``max(x, y)``: maximum.

    ``max(x)`` shares its gradient evenly among the elements equal to the maximum (among the
    NaNs when there is one), ``max(x, dim)`` gives it to the element at the index returned.
    """
    return _extremum("max", _max_all, np.argmax, maximum, input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """``min(x)``: the minimum; ``min(x, dim)``: (values, indices); ``min(x, y)``: minimum."""
    return _extremum("min", _min_all, np.argmin, minimum, input, dim, keepdim, axis, keepdims)


def logsumexp(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> TensorBase:
    """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    x = operand(input)
    return R.logsumexp(x, axis=reduced_dims("logsumexp", x.ndim, dim, axis),
                       keepdims=keepdim_of(keepdim, keepdims), x_shape=x.shape)


def _along_one_dim(name: str, prim, input, dim, floats_only: bool = False):
    """Apply ``prim`` along one dimension; a 0-d tensor is treated as one element."""
    x = operand(input)
    if floats_only and x.dtype.kind not in "fc":
        raise NotImplementedError(f"{name}: not implemented for integer tensors (the input is "
                                  f"{x.dtype}); convert it first, e.g. x.float()")
    d = one_dim(name, dim, x.ndim)
    if x.ndim == 0:
        return reshape(prim(reshape(x, 1), axis=0), ())
    return prim(x, axis=d)


def softmax(input, dim: int = -1, *, axis=None) -> TensorBase:
    """``exp(x) / sum(exp(x))`` along ``dim`` (the last by default)."""
    return _along_one_dim("softmax", R.softmax, input, dim if axis is None else axis, True)


def log_softmax(input, dim: int = -1, *, axis=None) -> TensorBase:
    """``x - logsumexp(x)`` along ``dim`` (the last by default)."""
    return _along_one_dim("log_softmax", R.log_softmax, input, dim if axis is None else axis,
                          True)


def _correction(correction: int, unbiased, ddof) -> int:
    """PyTorch's ``correction``, also given as ``unbiased`` (old PyTorch) or ``ddof`` (NumPy)."""
    if unbiased is not None:
        correction = int(unbiased)
    return correction if ddof is None else ddof


def var(input, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None,
        axis=None, keepdims=None, ddof=None) -> TensorBase:
    """Variance over ``dim``, dividing by ``n - correction`` (Bessel's correction by default)."""
    x = operand(input)
    correction = _correction(correction, unbiased, ddof)
    dims = reduced_dims("var", x.ndim, dim, axis)
    keep = keepdim_of(keepdim, keepdims)
    centred = x - R.reduce_mean(x, axis=dims, keepdims=True, x_shape=x.shape)
    n = count(x.shape, dims)
    # |x - mean|^2: the variance of complex values is real, as NumPy's
    squared = (centred * centred if x.dtype.kind != "c"
               else R.real_part(centred * R.conj(centred)))
    total = R.reduce_sum(squared, axis=dims, keepdims=keep, x_shape=x.shape)
    return total / builtins.max(n - correction, 0)


def std(input, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None,
        axis=None, keepdims=None, ddof=None) -> TensorBase:
    """Standard deviation: the square root of :func:`var`; its gradient where the variance is
    0 is 0 (PyTorch's subgradient), not the square root's infinite slope."""
    x = operand(input)
    dims, keep = reduced_dims("std", x.ndim, dim, axis), keepdim_of(keepdim, keepdims)
    correction = _correction(correction, unbiased, ddof)
    if x.dtype.kind == "c":
        # var(z) = var(Re z) + var(Im z): the 2-norm of the parts' deviations, whose gradient
        # is 0 (not NaN) where both are 0
        parts = stack([std(R.real_part(x), dims, correction=correction, keepdim=keep),
                       std(R.imag_part(x), dims, correction=correction, keepdim=keep)])
        return R.vector_norm(parts, axis=(0,), keepdims=False, x_shape=parts.shape)
    return R.reduce_std(x, axis=dims, keepdims=keep, x_shape=x.shape, correction=correction)


# --------------------------------------------------------------------------------------------
# products


def matmul(input, other) -> TensorBase:
    """Matrix product with NumPy's rules for 1-D and batched operands (``@``)."""
    try:
        return R.matmul(input, other)
    except (ValueError, TypeError) as err:
        raise product_error("matmul (@)", err, input, other) from None


def dot(input, other) -> TensorBase:
    """Inner product of two 1-D tensors.

    >>> import chainrule as cr
    >>> x = cr.arange(4.0)
    >>> cr.dot(x, x)
    tensor(14.)
    """
    if len(shape_of(input)) != 1 or len(shape_of(other)) != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {len(shape_of(input))}D and "
                           f"{len(shape_of(other))}D tensors; use matmul (@) for matrices")
    try:
        return R.dot(input, other)
    except (ValueError, TypeError) as err:
        raise product_error("dot", err, input, other) from None


def _product_of_ranks(name: str, input, other, ranks: tuple, expected: str) -> TensorBase:
    """``matmul`` of operands that must have the ranks ``ranks`` (``mm``, ``mv``, ``bmm``)."""
    shapes = shape_of(input), shape_of(other)
    if (len(shapes[0]), len(shapes[1])) != ranks:
        raise RuntimeError(f"{name}: {expected}, but got {len(shapes[0])}-D and "
                           f"{len(shapes[1])}-D; use matmul for others")
    if ranks == (3, 3) and shapes[0][0] != shapes[1][0]:
        raise RuntimeError(f"bmm: the batch sizes of {shapes[0]} and {shapes[1]} differ (bmm "
                           "does not broadcast; matmul does)")
    try:
        return R.matmul(input, other)
    except (ValueError, TypeError) as err:
        raise product_error(name, err, input, other) from None


def mm(input, mat2) -> TensorBase:
    """Product of two matrices."""
    return _product_of_ranks("mm", input, mat2, (2, 2), "both arguments must be 2-D matrices")


def mv(input, vec) -> TensorBase:
    """Product of a matrix and a vector."""
    return _product_of_ranks("mv", input, vec, (2, 1), "expected a 2-D matrix and a 1-D vector")


def bmm(input, mat2) -> TensorBase:
    """Batched matrix product, ``(b, n, m)`` by ``(b, m, p)``, without broadcasting."""
    return _product_of_ranks("bmm", input, mat2, (3, 3), "both arguments must be 3-D")


def outer(input, vec2) -> TensorBase:
    """Outer product of two 1-D tensors."""
    if len(shape_of(input)) != 1 or len(shape_of(vec2)) != 1:
        raise RuntimeError(f"outer: 1D tensors expected, but got {len(shape_of(input))}D and "
                           f"{len(shape_of(vec2))}D tensors")
    return reshape(input, -1, 1) * reshape(vec2, 1, -1)


def einsum(equation: str, *operands) -> TensorBase:
    """Einstein summation, as ``numpy.einsum`` (operands may also be given as one list).

    >>> import chainrule as cr
    >>> cr.einsum("i,i->", cr.arange(3.0), cr.arange(3.0))
    tensor(5.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    try:
        return R.einsum(*operands, subscripts=equation)
    except ValueError as err:
        raise (einsum_error(equation, [np.shape(data_of(x)) for x in operands]) or err) from None


def tensordot(a, b, dims=2) -> TensorBase:
    """Contract the last ``dims`` axes of ``a`` with the first of ``b`` (or given axis lists)."""
    na, nb = len(shape_of(a)), len(shape_of(b))  # (shapes: a trace of compile goes on)
    axes_a, axes_b = contracted_axes(shape_of(a), shape_of(b), dims)
    letters = iter(string.ascii_letters)
    sub_a = [next(letters) for _ in range(na)]
    sub_b = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b):
        sub_b[j % nb] = sub_a[i % na]
    contracted = {sub_a[i % na] for i in axes_a}
    out = [c for c in sub_a if c not in contracted] + [c for c in sub_b if c not in contracted]
    return R.einsum(a, b, subscripts=f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(out)}")


# --------------------------------------------------------------------------------------------
# shapes


def reshape(input, *shape) -> TensorBase:
    """The same values with another shape (one size may be -1).

    >>> import chainrule as cr
    >>> cr.arange(4.0).reshape(2, 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    return _reshape("reshape", input, shape)


def view(input, *shape) -> TensorBase:
    """The same values with another shape (one size may be -1); always a view in chainrule."""
    try:
        return _reshape("view", input, shape)
    except TypeError:
        if len(shape) == 1 and isinstance(shape[0], (np.dtype, type)):
            raise NotImplementedError("view(dtype), which reinterprets the bytes, is not "
                                      "supported; to convert the values use .to(dtype)") from None
        raise


def _reshape(name: str, input, shape) -> TensorBase:
    x = operand(input)
    shape = as_shape(name, shape, "shape")
    if shape and builtins.min(shape) < -1:  # (NumPy would read any negative size as -1)
        raise reshape_error(name, x.shape, shape)
    try:
        return R.reshape(x, shape=shape, x_shape=x.shape)
    except ValueError:
        raise reshape_error(name, x.shape, shape) from None


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> TensorBase:
    """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
    x = operand(input)
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = one_dim("flatten", start_dim, x.ndim), one_dim("flatten", end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    return reshape(x, shape)


def squeeze(input, dim=None) -> TensorBase:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    x = operand(input)
    dims = reduced_dims("squeeze", x.ndim, dim) if dim is not None else range(x.ndim)
    shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(input, dim: int) -> TensorBase:
    """Insert a dimension of size 1 at ``dim``."""
    x = operand(input)
    d = one_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def permute(input, *dims) -> TensorBase:
    """Reorder the dimensions."""
    x = operand(input)
    order = as_shape("permute", dims, "dims")
    axes = tuple(one_dim("permute", d, x.ndim) for d in order)
    if sorted(axes) != list(range(x.ndim)):
        raise permute_error(order, axes, x.shape)
    return R.transpose(x, axes=axes)


def transpose(input, dim0: int, dim1: int) -> TensorBase:
    """Swap two dimensions."""
    x = operand(input)
    axes = list(range(x.ndim))
    d0, d1 = one_dim("transpose", dim0, x.ndim), one_dim("transpose", dim1, x.ndim)
    if x.ndim == 0:
        return x
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return R.transpose(x, axes=tuple(axes))


swapaxes = transpose


def t(input) -> TensorBase:
    """Transpose a matrix (a 0-D or 1-D tensor is returned as it is)."""
    x = operand(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D; "
                           "use transpose(dim0, dim1) or permute")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def broadcast_to(input, shape) -> TensorBase:
    """A broadcast (read-only) view with the given shape."""
    return _expanded("broadcast_to", operand(input), as_shape("broadcast_to", (shape,)))


def _expanded(name: str, x, shape) -> TensorBase:
    try:
        return R.broadcast_to(x, shape=shape, x_shape=x.shape)
    except ValueError:
        raise expand_error(name, x.shape, shape) from None


def expand(input, *sizes) -> TensorBase:
    """Broadcast to ``sizes``; -1 keeps a dimension's size."""
    x = operand(input)
    sizes = as_shape("expand", sizes)
    lead = len(sizes) - x.ndim
    if lead < 0 or builtins.min(sizes[:lead], default=0) < 0:
        raise expand_error("expand", x.shape, sizes)
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return _expanded("expand", x, shape)


def expand_as(input, other) -> TensorBase:
    """Broadcast to ``other``'s shape."""
    return broadcast_to(input, shape_of(other))


def cat(tensors: Sequence, dim: int = 0, *, axis=None) -> TensorBase:
    """Join tensors along an existing dimension."""
    tensors = [operand(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated; use stack, or reshape it to (1,)")
    d = one_dim("cat", dim if axis is None else axis, tensors[0].ndim)
    try:
        sizes = tuple(t.shape[d] for t in tensors)
        return R.cat(*tensors, axis=d, sizes=sizes)
    except (IndexError, ValueError) as err:
        raise (cat_error([t.shape for t in tensors], d) or err) from None


concatenate = concat = cat


def stack(tensors: Sequence, dim: int = 0, *, axis=None) -> TensorBase:
    """Join tensors along a new dimension."""
    tensors = [operand(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack expects each tensor to be equal size, but got "
                             f"{sizes_text(tensors[0].shape)} at entry 0 and "
                             f"{sizes_text(t.shape)} at entry {i}")
    d = one_dim("stack", dim if axis is None else axis, tensors[0].ndim + 1)
    if tracing.active[0] is None and builtins.all(
            without_history(t) for t in tensors if isinstance(t, TensorBase)):
        # nothing to record (a DataLoader's batch): NumPy's stack, no node per input (in a
        # trace of compile, the ops below, which it writes down)
        return like(tensors, np.stack([data_of(t) for t in tensors], axis=d))
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple[TensorBase, ...]:
    """Cut into pieces of the given size (the last may be smaller) or the given sizes."""
    x = operand(tensor)
    if x.ndim == 0:
        raise RuntimeError("split: a zero-dimensional tensor cannot be split; reshape it first")
    d = one_dim("split", dim, x.ndim)
    pieces, start = [], 0
    for size in split_sizes(x.shape[d], d, split_size_or_sections):
        pieces.append(getitem(x, (slice(None),) * d + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0) -> tuple[TensorBase, ...]:
    """Cut into ``chunks`` pieces of (nearly) equal size."""
    x = operand(input)
    if not isinstance(chunks, (int, np.integer)):
        raise TypeError(f"chunk(): argument 'chunks' must be int, not {type(chunks).__name__}")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[one_dim("chunk", dim, x.ndim)]
    return split(x, -(-n // chunks) if n else 1, dim)


def flip(input, dims) -> TensorBase:
    """Reverse the order along ``dims``."""
    x = operand(input)
    return R.flip(x, axis=reduced_dims("flip", x.ndim, dims))


def tile(input, *dims) -> TensorBase:
    """Repeat the whole tensor along each dimension (NumPy's ``tile``): ``tile(x, (2, 1))``."""
    x = operand(input)
    reps = as_shape("tile", dims, "dims")
    reps = (1,) * (x.ndim - len(reps)) + reps
    return R.repeat(x, reps=reps, x_shape=x.shape)


def repeat(input, *sizes) -> TensorBase:
    """Repeat along each dimension (PyTorch's ``Tensor.repeat``, i.e. NumPy's ``tile``)."""
    x = operand(input)
    reps = as_shape("repeat", sizes, "repeats")
    if len(reps) < x.ndim:
        raise RuntimeError(f"repeat: Number of dimensions of repeat dims can not be smaller than "
                           f"number of dimensions of tensor (got {len(reps)} repeats for a tensor "
                           f"of shape {x.shape}); give one repeat per dimension")
    return R.repeat(x, reps=reps, x_shape=x.shape)


# --------------------------------------------------------------------------------------------
# indexing


def getitem(input, index) -> TensorBase:
    """``input[index]``, with NumPy's basic and advanced indexing (tensors in the index are
    read as arrays; they carry no gradient)."""
    x = input if isinstance(input, TensorBase) else operand(input)
    if (at := R.batched_index(index)) is not None:  # vmap: an index that differs per example
        return R.take_at(x, *at)
    if tracing.active[0] is not None and (at := R.traced_index(index, len(x.shape))) is not None:
        # compile: integer tensors in the index are read at each replay, not kept
        parts, axis, around, order = at
        sliced = x if around is None else R.getitem(x, index=around, x_shape=x.shape)
        if order is not None:
            sliced = R.transpose(sliced, axes=order)
        if (taken := R.replayed_take(sliced, parts, axis)) is not None:
            return taken
    # (the index is kept by the node of an x that requires grad, or by an open trace)
    recorded = isinstance(x, TensorBase) and x._rg and grad_mode.enabled
    index = index_of(index, kept=recorded or tracing.active[0] is not None)
    try:
        return R.getitem(x, index=index, x_shape=x.shape)
    except IndexError as err:
        raise (index_error("getitem (x[index])", x.shape, index) or err) from None


# --------------------------------------------------------------------------------------------
# functions without gradient


def _comparison(ufunc, called: str, doc: str):
    op = R.numpy2_promotion(ufunc)

    def compare(input, other) -> TensorBase:
        try:
            return no_gradient(op, input, other)
        except (ValueError, TypeError) as err:
            raise operands_error(called, err, input, other) from None

    compare.__name__ = compare.__qualname__ = ufunc.__name__
    compare.__doc__ = doc
    return compare


eq = _comparison(np.equal, "eq (==)", "Elementwise ``==`` (bool tensor, no gradient).")
ne = _comparison(np.not_equal, "ne (!=)", "Elementwise ``!=`` (bool tensor, no gradient).")
lt = _comparison(np.less, "lt (<)", "Elementwise ``<`` (bool tensor, no gradient).")
le = _comparison(np.less_equal, "le (<=)", "Elementwise ``<=`` (bool tensor, no gradient).")
gt = _comparison(np.greater, "gt (>)", "Elementwise ``>`` (bool tensor, no gradient).")
ge = _comparison(np.greater_equal, "ge (>=)", "Elementwise ``>=`` (bool tensor, no gradient).")
logical_and = _comparison(np.logical_and, "logical_and", "Elementwise logical and.")
logical_or = _comparison(np.logical_or, "logical_or", "Elementwise logical or.")
logical_xor = _comparison(np.logical_xor, "logical_xor", "Elementwise logical exclusive or.")
bitwise_and = _comparison(np.bitwise_and, "bitwise_and (&)", "Elementwise ``&``.")
bitwise_or = _comparison(np.bitwise_or, "bitwise_or (|)", "Elementwise ``|``.")
bitwise_xor = _comparison(np.bitwise_xor, "bitwise_xor (^)", "Elementwise ``^``.")


def _elementwise_test(ufunc, name: str, doc: str):
    def test(input) -> TensorBase:
        return no_gradient(ufunc, input)

    test.__name__ = test.__qualname__ = name
    test.__doc__ = doc
    return test


bitwise_not = _elementwise_test(np.invert, "bitwise_not",
                                "Elementwise ``~`` (logical not of a bool tensor).")
logical_not = _elementwise_test(np.logical_not, "logical_not", "Elementwise logical not.")
isnan = _elementwise_test(np.isnan, "isnan", "Where the values are NaN.")
isinf = _elementwise_test(np.isinf, "isinf", "Where the values are infinite.")
isfinite = _elementwise_test(np.isfinite, "isfinite", "Where the values are finite.")


def _one_axis(name: str, input, dim):
    ndim = len(shape_of(input))
    return None if dim is None or ndim == 0 else one_dim(name, dim, ndim)


def argmax(input, dim=None, keepdim: bool = False, *, axis=None) -> TensorBase:
    """Index of the maximum (of the flattened tensor by default; ``axis=`` is ``dim=``)."""
    dim = dim if axis is None else axis
    return no_gradient(np.argmax, input, axis=_one_axis("argmax", input, dim), keepdims=keepdim)


def argmin(input, dim=None, keepdim: bool = False, *, axis=None) -> TensorBase:
    """Index of the minimum (of the flattened tensor by default; ``axis=`` is ``dim=``)."""
    dim = dim if axis is None else axis
    return no_gradient(np.argmin, input, axis=_one_axis("argmin", input, dim), keepdims=keepdim)


def all(input, dim=None, keepdim: bool = False) -> TensorBase:  # noqa: A001
    """Whether all values are true (along ``dim``)."""
    return no_gradient(np.all, input, axis=_one_axis("all", input, dim), keepdims=keepdim)


def any(input, dim=None, keepdim: bool = False) -> TensorBase:  # noqa: A001
    """Whether any value is true (along ``dim``)."""
    return no_gradient(np.any, input, axis=_one_axis("any", input, dim), keepdims=keepdim)


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether all values are close: ``|input - other| <= atol + rtol * |other|``."""
    return bool(np.allclose(data_of(input), data_of(other), rtol, atol, equal_nan))


def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """Elementwise closeness."""
    return no_gradient(np.isclose, input, other, rtol, atol, equal_nan)


def equal(input, other) -> bool:
    """Whether both have the same shape and values."""
    return bool(np.array_equal(data_of(input), data_of(other)))


def count_nonzero(input, dim=None) -> TensorBase:
    """How many values are not zero."""
    return no_gradient(lambda a, axis: np.asarray(np.count_nonzero(a, axis=axis), np.int64),
                       input, axis=dim)


# --------------------------------------------------------------------------------------------
# conversions


def to(input, *args, dtype=None, **kwargs) -> TensorBase:
    """Cast to ``dtype`` (a result that cannot carry gradient, e.g. int, has none).

    Device arguments (``'cpu'``) are accepted and ignored; another tensor means its dtype;
    ``copy=`` and ``non_blocking=`` are accepted and ignored as well.
    """
    x = operand(input)
    dtype = requested_dtype(args, dtype, kwargs)
    if dtype is None or dtype == x.dtype:
        return x
    if dtype not in DIFFERENTIABLE_DTYPES:
        return no_gradient(lambda a: np.asarray(a).astype(dtype), x)
    return R.cast(x, dtype=dtype, x_dtype=x.dtype)


def caster(dtype):
    """The method that casts to ``dtype`` (``Tensor.float``, ``Tensor.long`` ...)."""
    def convert(self) -> TensorBase:
        return to(self, dtype)

    convert.__name__ = convert.__qualname__ = np.dtype(dtype).name
    convert.__doc__ = f"Cast to {np.dtype(dtype)}."
    return convert


def clone(input) -> TensorBase:
    """A copy with its own storage (differentiable)."""
    return R.clone(operand(input))


def cumsum(input, dim: int) -> TensorBase:
    """Cumulative sums along ``dim``."""
    return _along_one_dim("cumsum", R.cumsum, input, dim)


def cumprod(input, dim: int) -> TensorBase:
    """Cumulative products along ``dim`` (its derivatives exact at zeros, to every order)."""
    return _along_one_dim("cumprod", R.cumprod, input, dim)
