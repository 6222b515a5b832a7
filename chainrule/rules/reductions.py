"""Reductions and normalisations: ``sum``, ``mean``, ``amax``, ``max`` (of all
elements), ``std``, ``logsumexp``, ``softmax``, ``log_softmax``, ``standardize`` (the core of
the normalisation layers), ``linalg.vector_norm``.

``axis`` is None or a tuple of non-negative ints; ``x_shape`` is the input's shape (so that the
rules need not keep the input alive).  A reduction's rule broadcasts ``g`` back over the reduced
axes (:func:`unreduce`); forward mode is ``"linear"`` for sums and ``"reduction"`` (the sum
over the reduced axes of ``t * (VJP of ones)``) for the others.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.rules.elementwise import abs, exp, sign, where
from chainrule.rules.shape import broadcast_to, cast, reshape
from chainrule.rules.table import (
    Scratch,
    numpy2_promotion,
    on_tensors,
    primitive,
)


def _keepdims_shape(x_shape, axis):
    if axis is None:
        return (1,) * len(x_shape)
    return tuple(1 if i in axis else n for i, n in enumerate(x_shape))


def unreduce(g, axis, keepdims, x_shape):
    """Broadcast the gradient of a reduction back over the reduced axes."""
    if not keepdims and g.ndim:  # (a 0-d g, from a full reduction, broadcasts as it is)
        g = reshape(g, shape=_keepdims_shape(x_shape, axis), x_shape=g.shape)
    return broadcast_to(g, shape=x_shape, x_shape=g.shape)


def count(x_shape, axis) -> int:
    return math.prod(x_shape[i] for i in (range(len(x_shape)) if axis is None else axis))


def _inverse_count(x_shape, axis) -> float:
    n = count(x_shape, axis)
    return 1.0 / n if n else np.nan  # a mean over nothing is NaN, as in NumPy


def keep_sum(a, axis):
    return reduce_sum(a, axis=axis, keepdims=True, x_shape=a.shape)


reduce_sum = primitive(  # np.add.reduce: np.sum's work without its Python-level wrapper
    "sum", lambda x, axis, keepdims, x_shape: np.add.reduce(x, axis=axis, keepdims=keepdims),
    (lambda g, ans, x, axis, keepdims, x_shape: unreduce(g, axis, keepdims, x_shape),),
    jvp="linear", grad_fn="SumBackward0", batch="reduction")


def _mean_vjp(g, ans, x, axis, keepdims, x_shape):
    # (g divided before it is broadcast back, on its few elements: the broadcast stays a view,
    # as a sum's, which a compiled plan's backward region takes apart: fusion.Regions.seed)
    return unreduce(g * np.asarray(_inverse_count(x_shape, axis), dtype=g.dtype), axis, keepdims,
                    x_shape)


# d mean(x) = sum(dx) / n
reduce_mean = primitive(
    "mean", lambda x, axis, keepdims, x_shape: np.asarray(x).mean(axis=axis, keepdims=keepdims),
    (_mean_vjp,), jvp="linear", grad_fn="MeanBackward0", batch="reduction")


def _extremum_vjp(g, ans, x, axis, keepdims, x_shape):
    # the gradient is shared evenly among the elements equal to the extremum (as PyTorch)
    hit = cast(x == unreduce(ans, axis, keepdims, x_shape), dtype=g.dtype, x_dtype=np.bool_)
    return unreduce(g, axis, keepdims, x_shape) * hit / keep_sum(hit, axis)


# (the ufuncs' reduce: np.amax's work without its Python-level wrapper, as reduce_sum)
def _largest(x, axis, keepdims, x_shape):
    return np.maximum.reduce(x, axis=axis, keepdims=keepdims)


def _smallest(x, axis, keepdims, x_shape):
    return np.minimum.reduce(x, axis=axis, keepdims=keepdims)


# d max(x) = dx at the maximum (shared evenly among ties); min likewise
amax = primitive("amax", _largest, (_extremum_vjp,), save_inputs=True, save_ans=True,
                 jvp="reduction", grad_fn="AmaxBackward0", batch="reduction")
amin = primitive("amin", _smallest, (_extremum_vjp,), save_inputs=True, save_ans=True,
                 jvp="reduction", grad_fn="AminBackward0", batch="reduction")


def _evenly_distributed_vjp(g, ans, x, axis, keepdims, x_shape):
    # max() and min() of all elements share the gradient evenly among the elements equal to
    # the result, or among the NaNs when the result is NaN (PyTorch's subgradient; amax and
    # amin compare with the result, so a NaN there gives NaN).  ``axis`` is None but where
    # vmap's reduction rule has made the call one per example (the axes past the batch): each
    # example's maximum then shares its own gradient.
    result = unreduce(ans, axis, keepdims, x_shape)
    hit = where(result != result, x != x, x == result)
    hit = cast(hit, dtype=x.dtype, x_dtype=np.bool_)
    return unreduce(g, axis, keepdims, x_shape) * (hit / keep_sum(hit, axis))


max_all = primitive("max", _largest, (_evenly_distributed_vjp,), save_inputs=True,
                    save_ans=True, jvp="reduction", grad_fn="MaxBackward1", batch="reduction")
min_all = primitive("min", _smallest, (_evenly_distributed_vjp,), save_inputs=True,
                    save_ans=True, jvp="reduction", grad_fn="MinBackward1", batch="reduction")


def _std_values(x, axis, keepdims, x_shape, correction):
    with np.errstate(divide="ignore", invalid="ignore"):  # n <= correction: inf or NaN
        variance = np.var(x, axis=axis, keepdims=keepdims, ddof=correction)
    return np.sqrt(variance)


def _std_vjp(g, ans, x, axis, keepdims, x_shape, correction):
    # d std(x) = (x - mean(x)) / ((n - correction) std(x)) . dx, taken as 0 where std(x) = 0
    # (PyTorch's subgradient: the square root's slope is infinite there, its argument's is 0)
    std = unreduce(ans, axis, keepdims, x_shape)
    zero = std == 0
    divisor = max(count(x_shape, axis) - correction, 0)
    scale = where(zero, 0.0, 1.0 / (where(zero, 1.0, std) * divisor))
    centred = x - reduce_mean(x, axis=axis, keepdims=True, x_shape=x_shape)
    return unreduce(g, axis, keepdims, x_shape) * centred * scale


reduce_std = primitive("std", _std_values, (_std_vjp,), save_inputs=True, save_ans=True,
                       jvp="reduction", grad_fn="StdBackward0", batch="reduction")


finite_or_0 = numpy2_promotion(lambda top: np.where(np.isfinite(top), top, 0))


def _top(x, axis):
    """The maximum over ``axis`` (kept), -inf over nothing (an empty dimension)."""
    return np.maximum.reduce(x, axis=axis, keepdims=True, initial=-np.inf)


def logsumexp_values(x, axis, keepdims, x_shape):
    # log sum exp over nothing is log 0 = -inf, as in PyTorch
    top = finite_or_0(_top(x, axis))
    with np.errstate(divide="ignore"):
        out = np.log(np.add.reduce(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


# d logsumexp(x) = softmax(x) . dx
logsumexp = primitive(
    "logsumexp", logsumexp_values,
    (lambda g, ans, x, axis, keepdims, x_shape: unreduce(g, axis, keepdims, x_shape)
        * exp(x - unreduce(ans, axis, keepdims, x_shape)),),
    save_inputs=True, save_ans=True, jvp="reduction", grad_fn="LogsumexpBackward0",
    batch="reduction")


def _softmax(x, axis):
    e = np.exp(x - finite_or_0(_top(x, axis)))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


# d softmax(x) = s (dx - sum(s dx)) with s = softmax(x): symmetric, so the VJP has that form
softmax = primitive("softmax", _softmax,
                    (lambda g, ans, x, axis: ans * (g - keep_sum(g * ans, (axis,))),),
                    save_ans=True, jvp="symmetric", grad_fn="SoftmaxBackward0", batch="axis")


def _log_softmax_jvp(ts, ans, x, axis):
    # d log_softmax(x) = dx - sum(softmax(x) dx)
    return ts[0] - keep_sum(ts[0] * exp(ans), (axis,))


log_softmax = primitive(
    "log_softmax", lambda x, axis: x - logsumexp_values(x, axis, True, None),
    (lambda g, ans, x, axis: g - exp(ans) * keep_sum(g, (axis,)),), save_ans=True,
    jvp=_log_softmax_jvp, grad_fn="LogSoftmaxBackward0", batch="axis")


def keep_mean(a, axis):
    return reduce_mean(a, axis=axis, keepdims=True, x_shape=a.shape)


class Moments(Scratch):
    """Filled by :data:`standardize`'s forward when handed one (``moments=``): the mean, the
    biased variance and ``rstd = (var + eps)^(-1/2)`` (ndarrays, kept dims), so that the
    normalisation layers update their running statistics and the plain backward pass scales
    the gradient without computing them again."""

    __slots__ = ("mean", "var", "rstd")

    def __init__(self) -> None:
        self.mean = self.var = self.rstd = None


def _centred_moments(x, axis, eps) -> tuple:
    # x - mean, mean, the biased var and rstd = (var + eps)^(-1/2) over ``axis`` (kept)
    mean = np.asarray(x).mean(axis=axis, keepdims=True)
    centred = np.subtract(x, mean)
    var = np.square(centred).mean(axis=axis, keepdims=True)
    return centred, mean, var, np.sqrt(var + eps) ** -1


def _standardized(x, axis, eps, moments=None):
    # x̂ = (x - mean) rstd: the centred values are written once and scaled in place, so x̂ is
    # their array
    centred, mean, var, rstd = _centred_moments(x, axis, eps)
    if moments is not None:
        moments.mean, moments.var, moments.rstd = mean, var, rstd
    return np.multiply(centred, rstd, out=centred)


def _standardize_vjp(g, ans, x, axis, eps, moments=None):
    # d x̂ = rstd (dx - mean(dx) - x̂ mean(x̂ dx)) (the mean's and the variance's parts: per
    # group of n, J = rstd (I - 1/n - x̂ x̂^T / n)), symmetric, so the VJP has that form
    if not on_tensors(g, ans, x):
        # a plain pass: the forward's rstd (computed again, as the forward did, without
        # ``moments``), and one new array
        if moments is not None and moments.rstd is not None:
            rstd = moments.rstd
        else:
            _, _, _, rstd = _centred_moments(x, axis, eps)
        out = np.multiply(g, ans)
        scale = out.mean(axis=axis, keepdims=True)
        np.multiply(ans, scale, out=out)
        out += g.mean(axis=axis, keepdims=True)
        np.subtract(g, out, out=out)
        out *= rstd
        return out
    # recorded (create_graph): rstd from x, with table primitives (from x̂ it would be
    # x̂ / (x - mean), which cancels)
    centred = x - keep_mean(x, axis)
    rstd = (keep_mean(centred * centred, axis) + eps) ** -0.5
    return rstd * (g - keep_mean(g, axis) - ans * keep_mean(g * ans, axis))


standardize = primitive("standardize", _standardized, (_standardize_vjp,), save_inputs=True,
                        save_ans=True, jvp="symmetric", grad_fn="NativeLayerNormBackward0",
                        batch="axis")


def _norm_values(x, axis, keepdims, x_shape, ord=2):
    if ord == 2:
        return np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims))
    total = np.add.reduce(np.abs(x) ** ord, axis=axis, keepdims=keepdims)
    # (the root in x's precision: NumPy 1 promotes a float32 scalar ** a float to float64)
    return np.power(total, 1.0 / ord, dtype=np.result_type(total))


def _norm_vjp(g, ans, x, axis, keepdims, x_shape, ord=2):
    # d ||x||_p = sign(x) (|x| / ||x||)^(p - 1) . dx, taken as 0 where x = 0 or ||x|| = 0
    # (PyTorch's subgradient); for p = 2 that is x / ||x||
    norm = unreduce(ans, axis, keepdims, x_shape)
    safe = where(norm == 0, 1.0, norm)
    g = unreduce(g, axis, keepdims, x_shape)
    if ord == 2:
        return g * (x / safe)
    ratio = abs(x) / safe  # in [0, 1]: no overflow for any p
    ratio = where(ratio == 0, 1.0, ratio)  # (sign(x) is 0 there: the slope is 0)
    return g * sign(x) * ratio ** (ord - 1)


vector_norm = primitive("linalg.vector_norm", _norm_values, (_norm_vjp,), save_inputs=True,
                        save_ans=True, jvp="reduction", grad_fn="LinalgVectorNormBackward0",
                        batch="reduction")
