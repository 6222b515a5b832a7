"""Losses fused into one primitive, where the hand-written gradient is simpler and cheaper
than the composition's: softmax cross-entropy (``nn.functional.cross_entropy``).
"""

from __future__ import annotations

import numpy as np

from chainrule.rules.reductions import (
    finite_or_0,
    keep_sum,
    log_softmax,
    reduce_sum,
    softmax,
)
from chainrule.rules.shape import broadcast_to, reshape
from chainrule.rules.table import primitive
from chainrule.tensor_base import TensorBase

# Softmax cross-entropy in one primitive, as the hand-written gradient of a classifier has it:
# with p the target distribution along ``axis`` (or the one-hot rows of class indices),
#   loss = -sum(p log_softmax(z)) = sum(p) logsumexp(z) - sum(p z)
#   d loss / d z = sum(p) softmax(z) - p,   d loss / d p = -log_softmax(z)
# With ``scale`` (1 for a sum over samples, 1/N for a mean) the primitive also sums the
# per-sample losses: one node where log_softmax, a product, a sum, a negation and a division
# would record five.


def _are_indices(target) -> bool:
    # (the dtype, not a value: read without raw(), which a trace of compile would refuse)
    values = target._data if isinstance(target, TensorBase) else target
    return values.dtype.kind in "iu"


def one_hot_rows(indices: np.ndarray, classes: int, axis: int, dtype) -> np.ndarray:
    """The one-hot rows (NumPy's) of class ``indices``, along a new ``axis`` of ``classes``."""
    along = np.arange(classes).reshape((-1,) + (1,) * (indices.ndim - axis))
    shape = indices.shape
    return (indices.reshape(shape[:axis] + (1,) + shape[axis:]) == along).astype(dtype)


def _at_targets(a, indices, axis):
    """An index expression for the entries of ``a`` at the class ``indices`` along ``axis``
    (``indices`` has ``a``'s shape without ``axis``, and so has the selection)."""
    axis = axis % a.ndim
    if a.ndim == 2 and axis == 1:  # (the usual batch of rows)
        return np.arange(len(indices)), indices
    index = list(np.indices(indices.shape, sparse=True))  # every other dim's positions
    index.insert(axis, indices)
    return tuple(index)


def _softmax_cross_entropy(z, target, axis, scale):
    top = finite_or_0(np.maximum.reduce(z, axis=axis, keepdims=True))
    shifted = z - top
    lse = np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))  # (less top)
    if target.dtype.kind in "iu":
        picked = shifted[_at_targets(shifted, target, axis)]
        losses = lse.reshape(picked.shape) - picked
    else:
        losses = np.add.reduce(target * (lse - shifted), axis=axis)
    if scale is None:
        return losses
    return np.add.reduce(losses, axis=None) * losses.dtype.type(scale)


def _per_sample(g, axis, scale, z_shape):
    """The gradient reaching each sample's loss, with a class axis of 1 (the product with the
    slope broadcasts it)."""
    if scale is None:
        axis = axis % len(z_shape)
        return reshape(g, shape=z_shape[:axis] + (1,) + z_shape[axis + 1:], x_shape=g.shape)
    return g * scale


def _cross_entropy_slope(z, target, axis):
    """d loss / d z, elementwise: sum(p) softmax(z) - p."""
    if _are_indices(target):
        return softmax_minus_one_hot(z, target, axis=axis)
    return softmax(z, axis=axis) * keep_sum(target, (axis,)) - target


def _softmax_minus_one_hot(z, target, axis):
    s = softmax.impl(z, axis)
    s[_at_targets(s, target, axis)] -= 1  # (s is new: the one-hot rows subtracted in place)
    return s


def _batch_slope(prim, values, batched, size, axis):
    """vmap's rule: the slope of the stack along ``axis`` one place right (an unbatched input
    broadcast to the batch first, as :func:`batch_cross_entropy` does)."""
    z, target = (v if b else broadcast_to(v, shape=(size,) + tuple(v.shape),
                                          x_shape=tuple(v.shape))
                 for v, b in zip(values, batched))
    return softmax_minus_one_hot(z, target, axis=axis % (z.ndim - 1) + 1)


# The slope of softmax cross-entropy with class indices, one op where softmax, the one-hot
# rows and their difference would be three (a compiled training step's plan has it):
#   softmax(z) - onehot(target);   d (softmax(z) - onehot) = d softmax(z) = s (dz - sum(s dz))
# with s = softmax(z) along ``axis``; the indices have no gradient.  The Jacobian is symmetric,
# so the VJP rule serves as the JVP.
softmax_minus_one_hot = primitive(
    "softmax_minus_one_hot", _softmax_minus_one_hot,
    (lambda g, ans, z, target, axis: softmax.vjp[0](g, softmax(z, axis=axis), z, axis),
     lambda g, ans, z, target, axis: None),
    save_inputs=True, reads=((0,), ()), jvp="symmetric", grad_fn="SoftmaxMinusOneHotBackward0",
    batch=_batch_slope)


def _cross_entropy_jvp(ts, ans, z, target, axis, scale):
    total = None
    if ts[0] is not None:
        total = reduce_sum(_cross_entropy_slope(z, target, axis) * ts[0], axis=(axis,),
                           keepdims=False, x_shape=z.shape)
    if ts[1] is not None:
        part = reduce_sum(-log_softmax(z, axis=axis) * ts[1], axis=(axis,), keepdims=False,
                          x_shape=z.shape)
        total = part if total is None else total + part
    if scale is None:
        return total
    return reduce_sum(total, axis=None, keepdims=False, x_shape=total.shape) * scale


def batch_cross_entropy(prim, values, batched, size, axis, scale):
    """vmap's rule: the per-sample losses of the stack along ``axis`` one place right (an
    unbatched logit or target is the same for every example, so it is broadcast to the batch
    first), then, for a reduced loss (``scale`` not None), each example's losses summed over
    its own axes and scaled: ``loss_b = scale sum_n losses[b, n]``."""
    z, target = (v if b else broadcast_to(v, shape=(size,) + tuple(v.shape),
                                          x_shape=tuple(v.shape))
                 for v, b in zip(values, batched))
    losses = softmax_cross_entropy(z, target, axis=axis % (z.ndim - 1) + 1, scale=None)
    if scale is None:
        return losses
    if losses.ndim > 1:
        losses = reduce_sum(losses, axis=tuple(range(1, losses.ndim)), keepdims=False,
                            x_shape=tuple(losses.shape))
    return losses * np.dtype(losses.dtype).type(scale)


softmax_cross_entropy = primitive(
    "nn.functional.cross_entropy", _softmax_cross_entropy,
    (lambda g, ans, z, target, axis, scale: _per_sample(g, axis, scale, z.shape)
        * _cross_entropy_slope(z, target, axis),
     lambda g, ans, z, target, axis, scale: -_per_sample(g, axis, scale, z.shape)
        * log_softmax(z, axis=axis)),
    save_inputs=True, reads=((0, 1), (0,)), jvp=_cross_entropy_jvp,
    grad_fn="SoftmaxCrossEntropyBackward0", batch=batch_cross_entropy)
