"""``chainrule.nn.functional``: the loss, activation and layer functions of
``torch.nn.functional``. ``cross_entropy`` and ``pad`` live here; the layer and activation
functions (``linear``, ``dropout``, ``embedding``, ``gelu``, ...) in
:mod:`chainrule.nn.functional_layers`, the convolutions (``conv2d``, ``conv_transpose2d``, ...)
in :mod:`chainrule.nn.functional_conv`, the attention functions in
:mod:`chainrule.nn.functional_attention`, the poolings (``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d``, ...) in :mod:`chainrule.nn.functional_pool`, the other losses
(``mse_loss``, ``nll_loss``, ...) in :mod:`chainrule.nn.functional_losses` and the
normalisations (``batch_norm``, ``layer_norm``, ``group_norm``, ...) in
:mod:`chainrule.nn.functional_norm`, re-exported here.

``cross_entropy`` is one primitive (``rules.softmax_cross_entropy``) followed by the reduction,
so a classifier's loss records two or three nodes where log-softmax, a product with one-hot
targets, a sum and a negation would record five, and its gradient is the hand-written
``softmax(z) - onehot``.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> z = cr.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
>>> loss = F.cross_entropy(z, cr.tensor([0, 2]))
>>> loss.backward()
>>> z.grad  # (softmax(z) - onehot) / 2
tensor([[-0.1065,  0.0533,  0.0533],
        [ 0.1667,  0.1667, -0.3333]])
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import numpy_pad, tracing
from chainrule import rules as R
from chainrule.arguments import as_shape, cannot_fail, data_of, no_gradient
from chainrule.functions import log_softmax, sigmoid, softmax, tanh, tensor_arg
from chainrule.nn.functional_attention import (
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from chainrule.nn.functional_conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from chainrule.nn.functional_layers import (
    bilinear,
    dropout,
    elu,
    embedding,
    gelu,
    leaky_relu,
    linear,
    one_hot,
    prelu,
    relu,
    silu,
    softplus,
)
from chainrule.nn.functional_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from chainrule.nn.functional_norm import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    normalize,
)
from chainrule.nn.functional_pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.numpy_pad import gather
from chainrule.rules.losses import one_hot_rows
from chainrule.tensor import FLOAT_DTYPES, Tensor, wrap

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm", "bilinear",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv1d", "conv2d",
           "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cross_entropy",
           "dropout", "elu", "embedding", "gelu", "group_norm", "huber_loss", "instance_norm",
           "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax", "lp_pool2d",
           "max_pool1d", "max_pool2d", "mse_loss", "multi_head_attention_forward", "nll_loss",
           "normalize", "one_hot", "pad", "prelu", "relu", "scaled_dot_product_attention",
           "sigmoid", "silu", "smooth_l1_loss", "softmax", "softplus", "tanh"]

REDUCTIONS = ("none", "mean", "sum")


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy between logits and targets, as ``torch.nn.functional.cross_entropy``.

    ``input`` holds logits of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (classes along
    dim 1, or dim 0 for one sample).  ``target`` is either class indices (integers, the input's
    shape without the class dim) or class probabilities (floats, the input's shape; they may
    require grad).  ``weight`` rescales each class; ``ignore_index`` marks index targets that
    contribute nothing (nor count in the mean); ``label_smoothing`` mixes the target with the
    uniform distribution.  ``reduction`` is ``"mean"`` (over samples; with index targets, a
    mean weighted by the targets' class weights), ``"sum"`` or ``"none"``.

    >>> import chainrule as cr
    >>> logits = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> cross_entropy(logits, cr.tensor([2]))
    tensor(0.4076, grad_fn=<SoftmaxCrossEntropyBackward0>)
    >>> cross_entropy(logits, cr.tensor([[0.0, 0.5, 0.5]]), reduction="none")
    tensor([0.9076], grad_fn=<SoftmaxCrossEntropyBackward0>)
    """
    name = "cross_entropy"
    z = tensor_arg(input)
    if z.ndim == 0:
        raise ValueError(f"{name}: input has shape (); pass logits of shape (C,), (N, C) or "
                         "(N, C, d1, ...) with the classes along dim 1")
    if z.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input must hold floating-point logits, got {z.dtype}; "
                        "convert it with .float() or .double()")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction={reduction!r} is not one of 'none', 'mean', 'sum'")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be between 0.0 and 1.0, "
                         f"got {label_smoothing}")
    label_smoothing = float(label_smoothing)  # (a NumPy float64 would promote float32 losses)
    axis = 1 if z.ndim > 1 else 0
    classes = z.shape[axis]
    if classes == 0:
        raise ValueError(f"{name}: input has shape {tuple(z.shape)}, with no classes along "
                         f"dim {axis}; there is nothing to choose between")
    # the engine saves the target: a Tensor, so that changing it in place before backward is
    # caught; anything else is copied, so that no one can change it
    target = target if isinstance(target, Tensor) else wrap(np.array(target))
    kind = target.dtype.kind
    # the class weights, broadcast along the class dim (a Tensor when they may carry a
    # gradient, which only probability targets give them)
    weight_along = None
    if weight is not None:
        if tuple(np.shape(weight)) != (classes,):
            raise ValueError(f"{name}: weight has shape {tuple(np.shape(weight))}; pass one "
                             f"weight per class, shape ({classes},)")
        if isinstance(weight, Tensor) and kind in "iu":
            if weight.requires_grad or weight._tangents is not None:
                raise ValueError(f"{name}: weight requires grad, but with class-index targets "
                                 "the loss is not differentiable with respect to the class "
                                 "weights (as in PyTorch); pass weight.detach()")
            if tracing.active[0] is None:  # (compile: operations of the plan read it)
                weight = data_of(weight)
        if not isinstance(weight, Tensor):
            weight = np.asarray(weight, z.dtype)
        elif weight.dtype != z.dtype:
            weight = weight.to(z.dtype)
        weight_along = weight.reshape((-1,) + (1,) * (z.ndim - 1 - axis))
    if kind in "iu":
        shape = target._data.shape
        expected = z.shape[:axis] + z.shape[axis + 1:]
        if shape != expected:
            raise ValueError(f"{name}: class-index target has shape {shape}; expected "
                             f"{expected}, the input's shape {tuple(z.shape)} without dim {axis}")
        count = math.prod(shape)
        if not count:
            plain = True
        elif ((target._batched or tracing.active[0] is not None) and weight_along is None
              and not label_smoothing):
            # (a trace's, and vmap's for targets it batches: their values cannot decide)
            return _indices_traced(z, target, axis, classes, ignore_index, reduction)
        elif tracing.active[0] is not None and not target._batched:
            return _weighted_traced(z, target, axis, classes, weight, ignore_index, reduction,
                                    label_smoothing)
        else:  # the usual case: every target a class, none ignored, no weights
            indices = data_of(target)  # (compile: breaks the trace, which runs eagerly)
            low = np.minimum.reduce(indices, axis=None)
            high = np.maximum.reduce(indices, axis=None)
            plain = 0 <= low and high < classes and not low <= ignore_index <= high
        if plain and weight_along is None and not label_smoothing:
            return R.softmax_cross_entropy(z, target, axis=axis,
                                           scale=_scale(reduction, count))
        return _from_indices(z, data_of(target), axis, classes, weight, ignore_index,
                             reduction, label_smoothing)
    if kind != "f":
        raise TypeError(f"{name}: target must hold class indices (integers) or class "
                        f"probabilities (floats), got {target.dtype}")
    if target.shape != z.shape:
        raise ValueError(f"{name}: a probability target must have the input's shape "
                         f"{tuple(z.shape)}, got {tuple(target.shape)}; class indices are "
                         "integers of the input's shape without the class dim")
    if ignore_index >= 0:
        raise ValueError(f"{name}: ignore_index={ignore_index} applies to class-index targets "
                         "only, not to probabilities (as in PyTorch); leave it at -100")
    if target.dtype != z.dtype:
        target = target.to(z.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    if weight_along is not None:
        target = target * weight_along
    # the mean is over samples: every position but the class dim's
    return R.softmax_cross_entropy(z, target, axis=axis,
                                   scale=_scale(reduction, z.numel() // classes))


def _indices_traced(z, target, axis, classes, ignore_index, reduction):
    """cross_entropy of class indices, without class weights or label smoothing, inside
    ``chainrule.compile``: one plan for every target, ignored ones included.  An eager call
    chooses its formula by the targets' values (one primitive when none is ignored); a trace
    cannot take that decision as a guard, which a compiled training step (its parameters
    updated in place) cannot have.  The targets' check is an operation of the plan: a replay
    on a target out of range raises, as an eager call does.  The losses are weighted per
    sample (0 where ignored; ``1 / count`` each for the mean, eager's scale), so that the
    value may differ from eager's in its last bit (a sum of scaled losses, not a scaled sum).
    """
    safe = no_gradient(_safe_targets, target, classes, ignore_index)
    losses = R.softmax_cross_entropy(z, safe, axis=axis, scale=None)
    if reduction == "none":
        return losses * no_gradient(_sample_weights, target, ignore_index, "none", z.dtype,
                                    axis=None)
    weights = no_gradient(_sample_weights, target, ignore_index, reduction, z.dtype, axis=None)
    total = R.dot(losses, weights) if losses.ndim == 1 else (losses * weights).sum()
    if reduction == "sum":
        return total
    # none kept: NaN, with a zero gradient (as eager's)
    return total + no_gradient(_nan_if_none, weights, axis=None)


def _weighted_traced(z, target, axis, classes, weight, ignore_index, reduction,
                     label_smoothing):
    """cross_entropy of class indices with class weights or label smoothing inside
    ``chainrule.compile``: :func:`_from_indices`'s formula, with what it decides by the
    targets' values (each sample's weight, the smoothed target rows, the mean's count)
    computed by operations of the plan, so that a replay computes them from its own targets.
    The mean multiplies by 1 / count where eager divides (its last bit may differ)."""
    safe = no_gradient(_safe_targets, target, classes, ignore_index)
    # each sample's weight: its class's weight (1 without weights), 0 where ignored
    sample = no_gradient(_class_sample_weights, target, safe, weight, ignore_index, z.dtype)
    if label_smoothing:
        kept = no_gradient(np.not_equal, target, ignore_index)
        rows = no_gradient(_smoothed_rows, safe, kept, weight, classes, label_smoothing, axis,
                           z.dtype)
        losses = R.softmax_cross_entropy(z, rows, axis=axis, scale=None)
    else:
        losses = R.softmax_cross_entropy(z, safe, axis=axis, scale=None) * sample
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    # (no sample with weight: NaN, with the gradient _inverse_count gives)
    return (total * no_gradient(_inverse_count, target, sample, ignore_index)
            + no_gradient(_nan_if_none, sample, axis=None))


def _class_sample_weights(indices: np.ndarray, safe: np.ndarray, weight, ignore_index: int,
                          dtype) -> np.ndarray:
    """Each sample's weight: its target class's weight (1 when there are none), 0 where the
    target is ignored."""
    kept = _sample_weights(indices, ignore_index, "none", dtype)
    return kept if weight is None else np.asarray(weight, dtype)[safe] * kept


def _smoothed_rows(safe: np.ndarray, kept: np.ndarray, weight, classes: int, smoothing: float,
                   axis: int, dtype) -> np.ndarray:
    """The target rows of label smoothing, per sample -(1 - e) w_y log p_y - (e / C) sum_c w_c
    log p_c: ((1 - e) one_hot + e / C) times the class weights, 0 where the target is ignored
    (``kept`` False)."""
    rows = (1 - smoothing) * one_hot_rows(safe, classes, axis, dtype) + smoothing / classes
    if weight is not None:
        rows *= np.asarray(weight, dtype).reshape((-1,) + (1,) * (safe.ndim - axis))
    rows *= np.expand_dims(kept, axis)
    return rows.astype(dtype, copy=False)


def _inverse_count(indices: np.ndarray, sample: np.ndarray, ignore_index: int) -> np.ndarray:
    """What the mean multiplies the summed losses by: 1 / (the sum of the samples' weights);
    0 when every target is ignored (the loss is then NaN with a zero gradient, as eager's);
    NaN when the weights sum to 0 otherwise (a NaN gradient, as eager's)."""
    count = sample.sum()
    if count:
        return (1 / count).astype(sample.dtype)
    return np.asarray(0 if (indices == ignore_index).all() else np.nan, sample.dtype)


def _safe_targets(indices: np.ndarray, classes: int, ignore_index: int) -> np.ndarray:
    """The targets with the ignored ones read as class 0, checked as :func:`_from_indices`
    checks them."""
    low, high = np.minimum.reduce(indices, axis=None), np.maximum.reduce(indices, axis=None)
    if 0 <= low and high < classes and not low <= ignore_index <= high:
        return indices  # (the usual targets: every one a class, none ignored)
    ignored = indices == ignore_index
    indices = np.where(ignored, 0, indices) if ignored.any() else indices
    bad = (indices < 0) | (indices >= classes)
    if bad.any():
        raise IndexError(f"cross_entropy: target {indices[bad].flat[0]} is out of bounds for "
                         f"{classes} classes (valid: 0 to {classes - 1}, or "
                         f"ignore_index={ignore_index})")
    return indices


def _sample_weights(indices: np.ndarray, ignore_index: int, reduction: str, dtype,
                    axis=None) -> np.ndarray:
    """Each sample's weight in the loss: 0 where its target is ignored, else 1, or 1 over the
    number kept for the mean (eager's scale, in the losses' dtype).  ``axis``: the axes of
    the targets of one loss (None: all; vmap makes them each example's)."""
    weights = (indices != ignore_index).astype(dtype)
    if reduction == "mean":
        kept = np.count_nonzero(weights, axis=axis, keepdims=True)
        weights *= (1.0 / np.maximum(kept, 1)).astype(dtype)  # (none kept: all 0 already)
    return weights


@cannot_fail
def _nan_if_none(weights: np.ndarray, axis=None) -> np.ndarray:
    """0, or NaN where no sample has weight (the mean of nothing); ``axis`` as for
    :func:`_sample_weights`."""
    return np.where(np.any(weights, axis=axis), 0.0, np.nan).astype(weights.dtype)


def _scale(reduction: str, samples: int) -> float | None:
    """What the primitive multiplies the sum of the per-sample losses by (None: no sum)."""
    if reduction == "none":
        return None
    if reduction == "sum":
        return 1.0
    return 1.0 / samples if samples else np.nan  # the mean of nothing is NaN, as in PyTorch


def _from_indices(z, indices, axis, classes, weight, ignore_index, reduction, label_smoothing):
    """cross_entropy with class weights, ignored targets or label smoothing (or a bad target)."""
    name = "cross_entropy"
    indices = np.array(indices, copy=True)  # (the loss's node keeps them; the caller's may change)
    ignored = indices == ignore_index
    any_ignored = bool(ignored.any())
    if any_ignored:
        indices = np.where(ignored, 0, indices)
    bad = (indices < 0) | (indices >= classes)
    if bad.any():
        raise IndexError(f"{name}: target {indices[bad].flat[0]} is out of bounds for "
                         f"{classes} classes (valid: 0 to {classes - 1}, or "
                         f"ignore_index={ignore_index})")
    # each sample's weight: its class's weight, 0 where ignored (None: all 1)
    sample_weight = None if weight is None else weight[indices]
    if any_ignored:
        kept = (~ignored).astype(z.dtype)
        sample_weight = kept if sample_weight is None else sample_weight * kept
    if label_smoothing:
        target = _smoothed_rows(indices, ~ignored, weight, classes, label_smoothing, axis,
                                z._data.dtype)
        losses = R.softmax_cross_entropy(z, target, axis=axis, scale=None)
    else:
        losses = R.softmax_cross_entropy(z, indices, axis=axis, scale=None)
        if sample_weight is not None:
            losses = losses * sample_weight
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    count = indices.size if sample_weight is None else sample_weight.sum()
    if count == 0:  # 0 / 0: NaN, as in PyTorch, whose gradient is NaN too, except that every
        # target ignored sends a zero gradient to the logits (no sample takes part)
        return total + np.nan if any_ignored and ignored.all() else total * np.nan
    return total / count


PAD_MODES = {"constant": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """``input`` padded as ``torch.nn.functional.pad``: ``pad`` gives (before, after) pairs
    for the last dimension, then the one before it, and so on; a negative width crops.

    ``'constant'`` fills with ``value`` (0 by default) and pads any dimensions;
    ``'reflect'`` (about the edge), ``'replicate'`` (the edge repeated) and ``'circular'``
    (wrapped around) pad the last 1, 2 or 3 dimensions of a tensor with one or two more
    (batch and channels), as PyTorch's.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.pad(cr.tensor([[1., 2., 3.]]), (2, 1), mode="reflect")
    tensor([[3., 2., 1., 2., 3., 2.]])
    """
    x = tensor_arg(input)
    widths = as_shape("pad", (pad,), "pad")
    if len(widths) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2 (got {widths})")
    if len(widths) // 2 > x.ndim:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(widths)} and input of "
                           f"dimension {x.ndim}")
    if mode not in PAD_MODES:
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}; use one of "
                                  f"{sorted(PAD_MODES)}")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(widths) // 2):
        pairs[x.ndim - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    for d, (before, after) in enumerate(pairs):
        if x.shape[d] + before + after < 0:
            raise RuntimeError(f"pad: the padding ({before}, {after}) of dimension {d} leaves "
                               f"{x.shape[d] + before + after} entries of its {x.shape[d]}; the "
                               "result would have a negative size")
    if mode == "constant":
        return _padded_with(x, pairs, 0 if value is None else value)
    if value is not None:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
    _check_pad_shape(x, len(widths) // 2, mode, pairs)
    return gather(x, [_pad_indices(n, pair, mode) for n, pair in zip(x.shape, pairs)])


def _padded_with(x: Tensor, pairs, value) -> Tensor:
    """``x`` cropped where a width is negative, then padded with ``value`` (in its dtype)."""
    x = x[tuple(slice(max(-before, 0), n - max(-after, 0))
                for n, (before, after) in zip(x.shape, pairs))]
    return numpy_pad.pad(x, [(max(before, 0), max(after, 0)) for before, after in pairs],
                         constant_values=value)


def _check_pad_shape(x: Tensor, padded: int, mode: str, pairs) -> None:
    """Refuse what PyTorch's non-constant padding refuses: other numbers of dimensions, and
    widths that would reflect or wrap more than the tensor holds."""
    if padded not in (1, 2, 3) or x.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(
            f"pad: Padding size {2 * padded} is not supported for {x.ndim}D input tensor. "
            f"Non-constant padding ('{mode}') pads the last 1, 2 or 3 dimensions of a tensor "
            "with 1 or 2 more (batch, channels): 2D or 3D input with padding size 2, 3D or 4D "
            "with 4, 4D or 5D with 6")
    for d, (before, after) in enumerate(pairs):
        n = x.shape[d]
        if mode == "reflect" and (before >= n or after >= n) and (before or after):
            raise RuntimeError(f"pad: Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({before}, "
                               f"{after}) at dimension {d} of input {list(x.shape)}")
        if mode == "circular" and (before > n or after > n):
            raise RuntimeError(f"pad: Padding value causes wrapping around more than once: "
                               f"padding ({before}, {after}) at dimension {d} of input "
                               f"{list(x.shape)}")
        if mode == "replicate" and n == 0 and (before or after):
            raise RuntimeError(f"pad: cannot replicate the edge of dimension {d} of input "
                               f"{list(x.shape)}, which is empty")


def _pad_indices(n: int, pair, mode: str) -> np.ndarray:
    """Which entry of a dimension of size ``n`` each entry of its padding is (PyTorch's
    reflection and replication index the uncropped dimension; its circular padding wraps the
    cropped one)."""
    before, after = pair
    grow = (max(before, 0), max(after, 0))
    if mode == "circular":
        kept = np.arange(n)[max(-before, 0):n - max(-after, 0)]
        return np.pad(kept, grow, "wrap") if kept.size else kept
    grown = np.pad(np.arange(n), grow, PAD_MODES[mode])
    return grown[max(-before, 0):len(grown) - max(-after, 0)]
