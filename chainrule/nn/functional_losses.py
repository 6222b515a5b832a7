"""The losses of ``torch.nn.functional`` beside ``cross_entropy``: ``mse_loss``, ``l1_loss``,
``smooth_l1_loss``, ``huber_loss``, ``nll_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits`` and ``kl_div``, re-exported by
:mod:`chainrule.nn.functional`.

Each is composed from chainrule's operations, so every order of derivative and forward mode
work.  ``nll_loss`` picks the target entries with a constant mask (one-hot times the class
weights) and a sum over the class dim, which works for any number of extra dims.
``binary_cross_entropy_with_logits`` uses ``softplus(-x) = -log sigmoid(x)`` computed without
overflow, so its gradient at 0 is exactly ``sigmoid(0) - t``.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))
tensor(2.)
>>> F.huber_loss(cr.tensor([0.0, 0.0]), cr.tensor([0.5, 3.0]), reduction="none")
tensor([0.1250, 2.5000])
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule import functions as fn
from chainrule import tracing
from chainrule.arguments import no_gradient
from chainrule.errors import size_text
from chainrule.functions import tensor_arg
from chainrule.rules.losses import one_hot_rows
from chainrule.tensor import FLOAT_DTYPES, Tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "huber_loss", "kl_div",
           "l1_loss", "legacy_reduction", "mse_loss", "nll_loss", "smooth_l1_loss"]


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's reading of the deprecated ``size_average``/``reduce`` arguments."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return fn.mean(loss)
    if reduction == "sum":
        return fn.sum(loss)
    raise ValueError(f"{name}: {reduction} is not a valid value for reduction; use 'none', "
                     "'mean' or 'sum'")


def _pair(name: str, input, target) -> tuple[Tensor, Tensor]:
    x, t = tensor_arg(input), tensor_arg(target)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape != t.shape:
        warnings.warn(f"{name}: Using a target size ({size_text(t)}) that is different to the "
                      f"input size ({size_text(x)}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
        try:
            np.broadcast_shapes(x.shape, t.shape)
        except ValueError:
            raise RuntimeError(f"{name}: The size of tensor a ({size_text(x)}) must match the size "
                               f"of tensor b ({size_text(t)})") from None
    return x, t


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """The squared error ``(x - y)^2``, reduced.

    >>> import chainrule as cr
    >>> mse_loss(cr.tensor([0.0, 1.0]), cr.tensor([2.0, 1.0]), reduction="sum")
    tensor(4.)
    """
    x, t = _pair("mse_loss", input, target)
    d = x - t
    loss = d * d if weight is None else d * d * weight
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction), "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """The absolute error ``|x - y|``, reduced."""
    x, t = _pair("l1_loss", input, target)
    return _reduce(fn.abs(x - t), legacy_reduction(size_average, reduce, reduction), "l1_loss")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``d = |x - y| < beta``, ``d - 0.5 beta`` elsewhere (the L1
    loss when ``beta`` is 0)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, t = _pair("smooth_l1_loss", input, target)
    d = fn.abs(x - t)
    loss = d if beta == 0 else fn.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction), "smooth_l1_loss")


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """``0.5 d^2`` where ``d = |x - y| < delta``, ``delta (d - 0.5 delta)`` elsewhere."""
    if not delta > 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, t = _pair("huber_loss", input, target)
    d = fn.abs(x - t)
    loss = fn.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    return _reduce(loss if weight is None else loss * weight, reduction, "huber_loss")


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of class-index targets given log-probabilities ``input``
    (``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``); ``weight`` rescales classes, targets equal
    to ``ignore_index`` count for nothing, and ``'mean'`` divides by the targets' total weight.

    >>> import chainrule as cr
    >>> nll_loss(cr.tensor([[-1.0, -2.0], [-3.0, -4.0]]), cr.tensor([1, 0]))
    tensor(2.5000)
    """
    name = "nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = tensor_arg(input), tensor_arg(target)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input must hold floating-point log-probabilities, got dtype "
                        f"{x.dtype}")
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected scalar type Long but found {t.dtype} for target; "
                           "pass class indices (target.long())")
    if x.ndim == 0:
        raise ValueError(f"{name}: input has shape (); pass (C,), (N, C) or (N, C, d1, ...)")
    axis = 0 if x.ndim == 1 else 1
    if x.ndim >= 2 and t.ndim >= 1 and x.shape[0] != t.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                         f"batch_size ({t.shape[0]}).")
    expected = x.shape[:axis] + x.shape[axis + 1:]
    if t.shape != expected:
        raise RuntimeError(f"{name}: target has shape {tuple(t.shape)}, expected "
                           f"{tuple(expected)} (the input's shape without the class dim)")
    classes = x.shape[axis]
    w = None if weight is None else tensor_arg(weight)
    for values in (t, w):
        if values is not None and values._batched:  # (vmap: its error, reading the values)
            np.asarray(values._data)
    # the one-hot rows of the targets times their weights, and the checks of the targets and
    # the weights: an operation of chainrule.compile's plan, which computes it at each replay
    mask = no_gradient(_nll_mask, t, w, classes, axis, ignore_index, x.dtype)
    loss = -fn.sum(x * mask, dim=axis)
    if reduction == "mean":
        return fn.sum(loss) / no_gradient(_nll_total, t, w, classes, ignore_index, x.dtype)
    return _reduce(loss, reduction, name)


def _nll_weights(idx: np.ndarray, w, classes: int, ignore_index: int, dtype):
    """The targets checked, with the ignored ones read as class 0, and each target's weight
    (0 where ignored)."""
    keep = idx != ignore_index
    bad = keep & ((idx < 0) | (idx >= classes))
    if bad.any():
        raise IndexError(f"nll_loss: Target {int(idx[bad].flat[0])} is out of bounds (the "
                         f"input has {classes} classes).")
    w = np.ones(classes, dtype=dtype) if w is None else np.asarray(w, dtype=dtype)
    if w.shape != (classes,):
        raise RuntimeError(f"nll_loss: weight must have shape ({classes},), got {w.shape}")
    safe = np.where(keep, idx, 0)
    return safe, np.where(keep, w[safe], 0).astype(dtype)


def _nll_mask(idx: np.ndarray, w, classes: int, axis: int, ignore_index: int, dtype):
    """The constant that picks the target entries: one-hot along ``axis`` times the weights."""
    safe, per = _nll_weights(idx, w, classes, ignore_index, dtype)
    return one_hot_rows(safe, classes, axis, dtype) * np.expand_dims(per, axis)


def _nll_total(idx: np.ndarray, w, classes: int, ignore_index: int, dtype):
    """The sum of the targets' weights: what the mean divides by."""
    return _nll_weights(idx, w, classes, ignore_index, dtype)[1].sum()


def _one_if_probabilities(values: np.ndarray) -> np.ndarray:
    """1 (in the values' dtype), after checking that the values are probabilities."""
    if ((values < 0) | (values > 1)).any():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           "and 1 (pass probabilities, or use binary_cross_entropy_with_logits "
                           "on logits)")
    return np.ones((), values.dtype)


def _softplus(z: Tensor) -> Tensor:
    """``log(1 + exp(z))`` without overflow (``z`` itself past 30, where they agree to 1e-13)."""
    return fn.where(z > 30.0, z, fn.log1p(fn.exp(fn.clamp(z, max=30.0))))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``-(y log x + (1 - y) log(1 - x))`` for probabilities ``x``, each log clamped at
    -100 as PyTorch does.

    >>> import chainrule as cr
    >>> binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0]))
    tensor(0.6931)
    """
    name = "binary_cross_entropy"
    x, t = tensor_arg(input), tensor_arg(target)
    if x.shape != t.shape:
        raise ValueError(f"Using a target size ({size_text(t)}) that is different to the input "
                         f"size ({size_text(x)}) is deprecated. Please ensure they have the same "
                         "size.")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input must hold floating-point probabilities, got {x.dtype}")
    checked = None
    if tracing.active[0] is None or x._batched:  # (batched by vmap: its error)
        _one_if_probabilities(np.asarray(x._data))
    else:  # compile: the check is an operation of the plan, whose 1 multiplies the loss
        checked = no_gradient(_one_if_probabilities, x)
    loss = -(t * fn.clamp(fn.log(x), min=-100.0) + (1.0 - t) * fn.clamp(fn.log1p(-x),
                                                                        min=-100.0))
    if weight is not None:
        loss = loss * weight
    loss = _reduce(loss, legacy_reduction(size_average, reduce, reduction), name)
    return loss if checked is None else loss * checked


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """``binary_cross_entropy(sigmoid(x), y)`` computed from the logits ``x`` without
    overflow; ``pos_weight`` (broadcast along the last dim) weighs the positive term:
    ``-(p y log σ(x) + (1 - y) log(1 - σ(x)))``.

    >>> import chainrule as cr
    >>> binary_cross_entropy_with_logits(cr.tensor([0.0]), cr.tensor([1.0]))
    tensor(0.6931)
    """
    name = "binary_cross_entropy_with_logits"
    x, t = tensor_arg(input), tensor_arg(target)
    if x.shape != t.shape:
        raise ValueError(f"Target size ({size_text(t)}) must be the same as input size "
                         f"({size_text(x)})")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: input must hold floating-point logits, got {x.dtype}")
    # -log σ(x) = softplus(-x), -log(1 - σ(x)) = softplus(x) = x + softplus(-x)
    neg_log_sig = _softplus(-x)
    if pos_weight is None:
        loss = (1.0 - t) * x + neg_log_sig
    else:
        loss = (1.0 - t) * x + (t * (pos_weight - 1.0) + 1.0) * neg_log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction), name)


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """The pointwise KL divergence ``y (log y - x)`` for log-probabilities ``x`` (0 where
    ``y`` is 0); ``log_target`` says ``target`` holds log-probabilities too.  ``'batchmean'``
    divides the sum by the batch size (the KL divergence proper); ``'mean'`` by every entry.

    >>> import chainrule as cr
    >>> kl_div(cr.tensor([[-1.0, -1.0]]), cr.tensor([[0.5, 0.0]]), reduction="batchmean")
    tensor(0.1534)
    """
    name = "kl_div"
    x, t = _pair(name, input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = fn.exp(t) * (t - x)
    else:
        positive = t > 0
        loss = fn.where(positive, t * (fn.log(fn.where(positive, t, 1.0)) - x), 0.0)
    if reduction == "batchmean":
        return fn.sum(loss) / (x.shape[0] if x.ndim else 1)
    if reduction == "mean":  # (PyTorch's warning, word for word)
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    return _reduce(loss, reduction, name)
