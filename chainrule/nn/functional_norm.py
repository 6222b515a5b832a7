"""The normalisation functions of ``torch.nn.functional`` (``batch_norm``, ``instance_norm``,
``layer_norm``, ``group_norm``, ``normalize``), re-exported by :mod:`chainrule.nn.functional`.

Each standardises its input over some dims, ``x̂ = (x - mean) / sqrt(var + eps)`` with the
biased variance, then scales and shifts it by ``weight`` and ``bias``; they differ in the dims:

* ``batch_norm``: every dim but the channels (dim 1), per channel;
* ``instance_norm``: the spatial dims (2, ...), per sample and channel;
* ``layer_norm``: the last ``len(normalized_shape)`` dims, per sample;
* ``group_norm``: the channels of one group and the spatial dims, per sample and group.

The standardisation is one primitive, ``rules.standardize`` (its forward in a few NumPy passes,
its backward the closed form ``rstd (g - mean(g) - x̂ mean(g x̂))`` written with table
primitives, so every order and forward mode still work); the affine step is two more
recorded steps.  It replaced a composition of seven recorded steps (``mean``, products, a power),
which took 1.3-1.45x as long forward and backward in training (``benchmarks/normalization.py``;
``benchmarks/README.md``, entry 28).  Its
forward hands back the mean and the biased variance (``rules.reductions.Moments``), which the
running statistics need, and the plain backward pass reuses its ``rstd`` (a recorded one,
``create_graph=True``, computes it again from ``x``).

In training, ``batch_norm`` (and ``instance_norm``) also update the running statistics in
place, unrecorded: ``running <- (1 - momentum) running + momentum batch``, with the batch's
*unbiased* variance for ``running_var``, as PyTorch does.

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 2.0], [3.0, 6.0]])
>>> layer_norm(x, (2,))
tensor([[-1.0000,  1.0000],
        [-1.0000,  1.0000]])
>>> mean, var = cr.zeros(2), cr.ones(2)
>>> batch_norm(x, mean, var, training=True)
tensor([[-1.0000, -1.0000],
        [ 1.0000,  1.0000]])
>>> mean, var  # 0.1 of the batch's mean (2, 4) and unbiased variance (2, 8)
(tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
"""

from __future__ import annotations

import math
import operator

from chainrule import functions as fn
from chainrule import rules as R
from chainrule import tracing
from chainrule.errors import size_text
from chainrule.functions import tensor_arg
from chainrule.grad_mode import no_grad
from chainrule.rules.reductions import Moments
from chainrule.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "normalize"]


def _standardize(x: Tensor, dims: tuple, eps: float) -> tuple[Tensor, Moments]:
    """``x`` standardised over ``dims`` (one primitive, ``rules.standardize``), and the mean
    and the biased variance over them (kept dims; ndarrays, unrecorded) it computed."""
    moments = Moments()
    return R.standardize(x, axis=tuple(d % x.ndim for d in dims), eps=eps,
                         moments=moments), moments


def _affine(y: Tensor, weight, bias, shape: tuple) -> Tensor:
    """``y * weight + bias``, each reshaped to ``shape`` (None: left out)."""
    if weight is not None:
        y = y * fn.reshape(tensor_arg(weight), shape)
    if bias is not None:
        y = y + fn.reshape(tensor_arg(bias), shape)
    return y


def _check_per_channel(name: str, what: str, t, channels: int) -> None:
    if t is None:
        return
    size = math.prod(t.shape) if hasattr(t, "shape") else None
    if size != channels:
        raise RuntimeError(f"{name}: {what} should contain {channels} elements not {size} "
                           f"(one per channel, dim 1 of the input)")


def _running_stat(name: str, what: str, t) -> None:
    if t is not None and not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a chainrule Tensor (updated in place) or None, "
                        f"got {type(t).__name__}")


RUNNING_STATISTICS = "batch_norm's or instance_norm's update of the running statistics"
"""What breaks a trace of ``compile`` in training (see :func:`_update`)."""


def _update(running: Tensor | None, batch, momentum: float) -> None:
    """``running <- (1 - momentum) running + momentum batch`` (``batch`` an ndarray), in place
    and unrecorded."""
    if running is None:
        return
    # (the batch's moments come out beside the primitive's result, not as a traced value: a
    # replay would update with the trace's own)
    tracing.escaped(RUNNING_STATISTICS)
    with no_grad():
        running.mul_(1.0 - momentum).add_(fn.reshape(tensor_arg(batch), running.shape) * momentum)


def _channel_dims(name: str, x: Tensor) -> tuple[tuple, tuple]:
    if x.ndim < 2:
        raise RuntimeError(f"{name}: expected an input of shape (N, C, *) with at least 2 dims, "
                           f"got shape {tuple(x.shape)}; add a batch dim with unsqueeze(0)")
    dims = (0,) + tuple(range(2, x.ndim))
    return dims, (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_per_channel_arguments(name: str, channels: int, running_mean, running_var, weight,
                                 bias) -> None:
    for what, t in (("running_mean", running_mean), ("running_var", running_var)):
        _running_stat(name, what, t)
        _check_per_channel(name, what, t, channels)
    _check_per_channel(name, "weight", weight, channels)
    _check_per_channel(name, "bias", bias, channels)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every dim but the channels (dim 1), as
    ``torch.nn.functional.batch_norm``.

    In training, each channel is standardised with its batch mean and biased variance, and
    ``running_mean``/``running_var`` (when given) are updated in place with ``momentum`` (the
    variance unbiased); otherwise the running statistics are used.  ``weight`` and ``bias``
    (one value per channel) scale and shift the result.

    >>> import chainrule as cr
    >>> batch_norm(cr.tensor([[1.0], [3.0]]), cr.tensor([1.0]), cr.tensor([4.0]), eps=0.0)
    tensor([[0.],
            [1.]])
    """
    name = "batch_norm"
    x = tensor_arg(input)
    dims, shape = _channel_dims(name, x)
    channels = x.shape[1]
    _check_per_channel_arguments(name, channels, running_mean, running_var, weight, bias)
    if momentum is None or isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"{name}: momentum must be a float, got {momentum!r} (a module with "
                        "momentum=None passes 1 / num_batches_tracked)")
    if training:
        n = x.numel() // channels if channels else 0
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {size_text(x)} (batch_norm: the variance of one value "
                             "is undefined; use a larger batch or eval())")
        running = running_mean is not None or running_var is not None
        y, moments = _standardize(x, dims, eps)
        if running:
            _update(running_mean, moments.mean, momentum)
            _update(running_var, moments.var * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"running_mean must be defined in evaluation mode ({name}: pass "
                               "running_mean and running_var, or training=True)")
        mean = fn.reshape(running_mean, shape)
        y = (x - mean) * (fn.reshape(running_var, shape) + eps) ** -0.5
    return _affine(y, weight, bias, shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation: each sample's channel standardised over the spatial dims (2,
    ...), as ``torch.nn.functional.instance_norm``.  With ``use_input_stats`` the running
    statistics (when given) are updated with the batch's average of the instances' statistics;
    without it they are used instead.

    >>> import chainrule as cr
    >>> instance_norm(cr.tensor([[[1.0, 3.0]]]))
    tensor([[[-1.0000,  1.0000]]])
    """
    name = "instance_norm"
    x = tensor_arg(input)
    _, shape = _channel_dims(name, x)
    _check_per_channel_arguments(name, x.shape[1], running_mean, running_var, weight, bias)
    spatial = tuple(range(2, x.ndim))
    if use_input_stats:
        n = math.prod(x.shape[2:])
        if n <= 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {size_text(x)} (instance_norm: the variance of one value "
                             "is undefined)")
        running = running_mean is not None or running_var is not None
        y, moments = _standardize(x, spatial, eps)
        if running:
            _update(running_mean, moments.mean.mean(axis=0), momentum)
            _update(running_var, moments.var.mean(axis=0) * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"Expected running_mean and running_var to be defined when "
                               f"use_input_stats is false ({name})")
        y = (x - fn.reshape(running_mean, shape)) * (fn.reshape(running_var, shape) + eps) ** -0.5
    return _affine(y, weight, bias, shape)


def normalized_shape_of(name: str, normalized_shape) -> tuple[int, ...]:
    """An int or a sequence of ints, as a tuple."""
    try:
        if isinstance(normalized_shape, bool):
            raise TypeError
        if hasattr(normalized_shape, "__index__"):
            return (operator.index(normalized_shape),)
        return tuple(operator.index(n) for n in normalized_shape)
    except TypeError:
        raise TypeError(f"{name}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last ``len(normalized_shape)`` dims, as
    ``torch.nn.functional.layer_norm``; ``weight`` and ``bias`` have shape
    ``normalized_shape``.

    >>> import chainrule as cr
    >>> layer_norm(cr.tensor([[0.0, 2.0]]), 2, weight=cr.tensor([1.0, 3.0]), eps=0.0)
    tensor([[-1.,  3.]])
    """
    name = "layer_norm"
    x = tensor_arg(input)
    shape = normalized_shape_of(name, normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(x.shape)} (layer_norm normalises the last dims)")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(tensor_arg(t).shape) != shape:
            raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got "
                               f"{what} of shape {list(tensor_arg(t).shape)} and "
                               f"normalized_shape = {list(shape)} (layer_norm)")
    y, _ = _standardize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(y, weight, bias, shape)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Group normalisation: the channels (dim 1) split into ``num_groups`` groups, each
    sample's group standardised over its channels and the spatial dims, as
    ``torch.nn.functional.group_norm``; ``weight`` and ``bias`` have one value per channel.

    >>> import chainrule as cr
    >>> group_norm(cr.tensor([[1.0, 3.0, 0.0, 4.0]]), 2)
    tensor([[-1.0000,  1.0000, -1.0000,  1.0000]])
    """
    name = "group_norm"
    x = tensor_arg(input)
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim} (group_norm: the input is (N, C, *))")
    channels = x.shape[1]
    if isinstance(num_groups, bool) or not hasattr(num_groups, "__index__") or num_groups < 1 \
            or channels % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(x.shape)} and num_groups={num_groups}")
    _check_per_channel(name, "weight", weight, channels)
    _check_per_channel(name, "bias", bias, channels)
    grouped = fn.reshape(x, (x.shape[0], int(num_groups), -1))
    y, _ = _standardize(grouped, (2,), eps)
    return _affine(fn.reshape(y, x.shape), weight, bias, (1, channels) + (1,) * (x.ndim - 2))


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``, as ``torch.nn.functional.normalize``.

    >>> import chainrule as cr
    >>> normalize(cr.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    x = tensor_arg(input)
    norm = fn.vector_norm(x, p, dim, keepdim=True)
    return x / fn.clamp(norm, min=eps)
