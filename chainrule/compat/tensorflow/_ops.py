"""TensorFlow's operations on tensors: reductions, norms and products, changes of shape,
elementwise functions and comparisons; and the ``tf.math`` and ``tf.linalg`` namespaces."""

from __future__ import annotations

import builtins as _builtins
import numbers as _numbers
import types as _types

import numpy as _np

import chainrule as _cr
from chainrule.compat.tensorflow._creation import _shape
from chainrule.compat.tensorflow._recording import _live
from chainrule.compat.tensorflow._tensors import (
    Tensor,
    _as_tf,
    _binary,
    _op,
    _read,
    _TensorLike,
    constant,
)


def stop_gradient(input, name=None) -> Tensor:  # noqa: A002
    """The same values, with no gradient flowing back (a constant for every tape)."""
    x = _as_tf(input)
    return Tensor(_read(x, _live()).detach())


def _axis(axis):
    if isinstance(axis, _TensorLike):
        axis = axis.numpy().tolist()
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def _reduce(crfn):
    def reduce(input_tensor, axis=None, keepdims: _builtins.bool = False, name=None):
        x = _as_tf(input_tensor)
        dtype = x.dtype._np
        return _op(lambda v: _keep_dtype(crfn(v, dim=_axis(axis), keepdim=keepdims), dtype), x)

    return reduce


def _keep_dtype(v, dtype):
    return v if v.dtype == dtype else v.to(dtype)


reduce_sum = _reduce(_cr.sum)
reduce_max = _reduce(_cr.amax)
reduce_min = _reduce(_cr.amin)
reduce_prod = _reduce(_cr.prod)
reduce_sum.__doc__ = "Sum over ``axis`` (all axes by default), keeping the input's dtype."
reduce_max.__doc__ = "Maximum over ``axis`` (all axes by default)."
reduce_min.__doc__ = "Minimum over ``axis`` (all axes by default)."
reduce_prod.__doc__ = "Product over ``axis`` (all axes by default), keeping the input's dtype."


def reduce_mean(input_tensor, axis=None, keepdims: _builtins.bool = False, name=None) -> Tensor:
    """Mean over ``axis`` (all axes by default); integer tensors give truncated integer means."""
    x = _as_tf(input_tensor)
    if x.dtype.is_integer:
        arr = x.numpy()
        total = _np.sum(arr, axis=_axis(axis), keepdims=keepdims)
        count = arr.size // max(1, _np.size(total))
        return constant(_np.fix(total / count).astype(arr.dtype))
    return _op(lambda v: _cr.mean(v, dim=_axis(axis), keepdim=keepdims), x)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None) -> Tensor:  # noqa: A002
    """The norm of the flattened tensor (or along ``axis``), computed as TensorFlow does:
    ``sqrt(reduce_sum(x * x))`` for the Euclidean norm, so its gradient at 0 is nan."""
    x = _as_tf(tensor)
    axis = _axis(axis)
    keep = _builtins.bool(keepdims)
    if ord in ("euclidean", "fro", 2, 2.0):
        if ord == 2 and isinstance(axis, tuple) and len(axis) == 2:
            raise NotImplementedError("tf.norm: the spectral norm (ord=2 over two axes) is not "
                                      "supported; use ord='euclidean'")

        def compute(v):
            return _cr.sqrt(_cr.sum(v * v, dim=axis, keepdim=keep))
    elif isinstance(ord, _numbers.Real) and ord > 0:  # (TensorFlow's vector norms: ord > 0)
        def compute(v):
            if ord in (1, _np.inf):
                return _cr.linalg.vector_norm(v, ord, dim=axis, keepdim=keep)
            # TensorFlow's formula, sum(|x|^p)^(1/p): its gradient at 0 is nan, as TF's
            return _cr.sum(_cr.abs(v) ** ord, dim=axis, keepdim=keep) ** (1.0 / ord)
    else:
        raise ValueError(f"'ord' must be a supported vector norm, got {ord}.")
    return _op(compute, x)


def tensordot(a, b, axes, name=None) -> Tensor:
    """Sum over ``axes``: ``axes=1`` of two vectors is their inner product, ``0`` the outer."""
    a, b = _as_tf(a), _as_tf(b)
    if isinstance(axes, _TensorLike):
        axes = axes.numpy().tolist()
    if isinstance(axes, (list, tuple)):
        axes = tuple(list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes)
    return _binary(a, b, lambda x, y: _cr.tensordot(x, y, dims=axes), "TensorDot")


def matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unused) -> Tensor:
    """``a @ b``, after transposing ``a``/``b`` if asked; other keyword options are ignored."""
    a, b = _as_tf(a), _as_tf(b)

    def product(x, y):
        x = _cr.swapaxes(x, -1, -2) if transpose_a else x
        y = _cr.swapaxes(y, -1, -2) if transpose_b else y
        return _cr.matmul(x, y)

    return _binary(a, b, product, "MatMul")


def reshape(tensor, shape, name=None) -> Tensor:
    """The values of ``tensor`` in shape ``shape``."""
    return _op(lambda v: _cr.reshape(v, _shape(shape)), _as_tf(tensor))


def transpose(a, perm=None, conjugate=False, name="transpose") -> Tensor:
    """``a`` with its axes permuted by ``perm`` (reversed by default); ``conjugate`` is ignored."""
    x = _as_tf(a)
    perm = tuple(reversed(_builtins.range(x.ndim))) if perm is None else _shape(perm)
    return _op(lambda v: _cr.permute(v, *perm), x)


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002
    """``input`` without its size-1 axes (only those in ``axis``, if given)."""
    x = _as_tf(input)
    axes = _axis(axis)
    if axes is None:
        new = tuple(d for d in x.shape if d != 1)
    else:
        axes = {a % x.ndim for a in (axes if isinstance(axes, tuple) else (axes,))}
        new = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return reshape(x, new)


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002
    """``input`` with a new axis of size 1 inserted at ``axis``."""
    return _op(lambda v: _cr.unsqueeze(v, int(axis)), _as_tf(input))


def concat(values, axis, name="concat") -> Tensor:
    """The tensors ``values`` joined along the existing axis ``axis``."""
    return _op(lambda vs: _cr.cat(list(vs), dim=int(axis)), [_as_tf(v) for v in values])


def stack(values, axis=0, name="stack") -> Tensor:
    """The tensors ``values`` stacked along a new axis ``axis``."""
    return _op(lambda vs: _cr.stack(list(vs), dim=int(axis)), [_as_tf(v) for v in values])


def where(condition, x=None, y=None, name=None) -> Tensor:
    """``x`` where ``condition`` is true, else ``y``; alone, the true indices (int64)."""
    cond = _as_tf(condition)
    if x is None and y is None:
        return constant(_np.argwhere(cond.numpy()).astype(_np.int64))
    x = _as_tf(x) if isinstance(x, _TensorLike) or not isinstance(y, _TensorLike) \
        else constant(x, dtype=y.dtype)
    y = _as_tf(y, x.dtype)
    return _op(_cr.where, cond, x, y)


def _unary(crfn, doc: str):
    def op(x, name=None):
        return _op(crfn, _as_tf(x))

    op.__doc__ = doc
    return op


abs = _unary(_cr.abs, "Elementwise absolute value.")  # noqa: A001
exp = _unary(_cr.exp, "Elementwise exponential.")
_log_e = _unary(_cr.log, "Elementwise natural logarithm (``tf.math.log``).")
sin = _unary(_cr.sin, "Elementwise sine.")
cos = _unary(_cr.cos, "Elementwise cosine.")
tan = _unary(_cr.tan, "Elementwise tangent.")
tanh = _unary(_cr.tanh, "Elementwise hyperbolic tangent.")
sqrt = _unary(_cr.sqrt, "Elementwise square root.")
square = _unary(_cr.square, "Elementwise square.")
sigmoid = _unary(_cr.sigmoid, "Elementwise logistic sigmoid.")
negative = _unary(lambda v: -v, "Elementwise negation.")


def _binary_function(forward, reflected, doc: str):
    def op(x, y, name=None):
        if isinstance(x, _TensorLike):
            return forward(x, y)
        if isinstance(y, _TensorLike):
            return reflected(y, x)
        return forward(constant(x), y)

    op.__doc__ = doc
    return op


add = _binary_function(_TensorLike.__add__, _TensorLike.__radd__, "x + y, elementwise.")
subtract = _binary_function(_TensorLike.__sub__, _TensorLike.__rsub__, "x - y, elementwise.")
multiply = _binary_function(_TensorLike.__mul__, _TensorLike.__rmul__, "x * y, elementwise.")
divide = _binary_function(_TensorLike.__truediv__, _TensorLike.__rtruediv__,
                          "x / y, elementwise.")
pow = _binary_function(_TensorLike.__pow__, _TensorLike.__rpow__,  # noqa: A001
                       "x ** y, elementwise.")


def maximum(x, y, name=None) -> Tensor:
    """The elementwise maximum of ``x`` and ``y``."""
    x = _as_tf(x) if isinstance(x, _TensorLike) else constant(x, dtype=_as_tf(y).dtype)
    return _binary(x, y, _cr.maximum, "Maximum")


def minimum(x, y, name=None) -> Tensor:
    """The elementwise minimum of ``x`` and ``y``."""
    x = _as_tf(x) if isinstance(x, _TensorLike) else constant(x, dtype=_as_tf(y).dtype)
    return _binary(x, y, _cr.minimum, "Minimum")


def equal(x, y, name=None) -> Tensor:
    """``x == y``, elementwise (a bool tensor)."""
    return _as_tf(x) == y


def greater(x, y, name=None) -> Tensor:
    """``x > y``, elementwise (a bool tensor)."""
    return _as_tf(x) > y


def less(x, y, name=None) -> Tensor:
    """``x < y``, elementwise (a bool tensor)."""
    return _as_tf(x) < y


math = _types.SimpleNamespace(
    abs=abs, exp=exp, log=_log_e, sin=sin, cos=cos, tan=tan, tanh=tanh, sqrt=sqrt, square=square,
    sigmoid=sigmoid, negative=negative, add=add, subtract=subtract, multiply=multiply,
    divide=divide, pow=pow, maximum=maximum, minimum=minimum, equal=equal, greater=greater,
    less=less, reduce_sum=reduce_sum, reduce_mean=reduce_mean, reduce_max=reduce_max,
    reduce_min=reduce_min, reduce_prod=reduce_prod)
linalg = _types.SimpleNamespace(norm=norm, matmul=matmul, tensordot=tensordot)
