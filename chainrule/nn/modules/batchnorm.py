"""The normalisation layers with running statistics, as PyTorch's ``batchnorm.py`` and
``instancenorm.py``: ``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d`` and ``InstanceNorm1d``,
``InstanceNorm2d``, ``InstanceNorm3d``, over :func:`chainrule.nn.functional.batch_norm` and
``instance_norm``.

One base, :class:`_NormBase`, holds what they share, with PyTorch's names so that a PyTorch
``state_dict`` loads: the Parameters ``weight`` (ones) and ``bias`` (zeros) when ``affine``,
and, when ``track_running_stats``, the buffers ``running_mean`` (zeros), ``running_var``
(ones) and ``num_batches_tracked`` (an int64 count of the training batches seen).  In
training each forward counts one batch and updates the running statistics with ``momentum``,
or, with ``momentum=None``, with ``1 / num_batches_tracked`` (their cumulative average); in
eval the running statistics normalise, when there are any.

>>> import chainrule as cr
>>> from chainrule import nn
>>> bn = nn.BatchNorm1d(2)
>>> bn
BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
>>> y = bn(cr.tensor([[1.0, 2.0], [3.0, 6.0]]))
>>> bn.running_mean, bn.num_batches_tracked
(tensor([0.2000, 0.4000]), tensor(1))
"""

from __future__ import annotations

import numpy as np

from chainrule import tracing
from chainrule.arguments import check_device
from chainrule.creation import get_default_dtype
from chainrule.grad_mode import no_grad
from chainrule.nn import functional_norm as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d"]


def _features(name: str, num_features) -> int:
    if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
            or num_features < 0:
        raise TypeError(f"{name}: num_features must be a non-negative int, got "
                        f"{num_features!r}")
    return int(num_features)


class _NormBase(Module):
    """What batch and instance normalisation share: settings, parameters, buffers, repr."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        check_device(name, device)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.num_features = _features(name, num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, weight 1 and bias 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def _momentum_of_this_batch(self) -> float:
        """Count one training batch; the weight of its statistics in the running ones."""
        if not (self.training and self.track_running_stats):
            return 0.0 if self.momentum is None else self.momentum
        # (compile: the cause named before the count's update in place breaks the trace)
        tracing.escaped(F.RUNNING_STATISTICS)
        with no_grad():
            self.num_batches_tracked.add_(1)
        if self.momentum is None:  # the cumulative average of the batches' statistics
            return 1.0 / int(self.num_batches_tracked.item())
        return self.momentum

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


def _as_tensor(input) -> Tensor:
    return input if isinstance(input, Tensor) else Tensor(input)


class _BatchNorm(_NormBase):
    ranks: tuple[int, ...]  # the input ranks accepted,
    expected: str  # how PyTorch's message names them
    layout: str  # and what they mean

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self.ranks:
            raise ValueError(f"expected {self.expected} input (got {input.ndim}D input); "
                             f"{type(self).__name__} takes {self.layout}")
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {input.shape[1]} elements not "
                               f"{self.num_features} ({type(self).__name__}({self.num_features}) "
                               f"got {input.shape[1]} channels in dim 1 of an input of shape "
                               f"{tuple(input.shape)})")

    def forward(self, input) -> Tensor:
        x = _as_tensor(input)
        self._check_input_dim(x)
        momentum = self._momentum_of_this_batch()
        # batch statistics in training, and in eval when no running statistics are kept
        use_batch = self.training or self.running_mean is None
        update = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if update else None,
                            self.running_var if update else None, self.weight, self.bias,
                            use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs, per channel."""

    ranks, expected, layout = (2, 3), "2D or 3D", "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` inputs, per channel."""

    ranks, expected, layout = (4,), "4D", "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of ``(N, C, D, H, W)`` inputs, per channel."""

    ranks, expected, layout = (5,), "5D", "(N, C, D, H, W)"


class _InstanceNorm(_NormBase):
    spatial: int  # the number of spatial dims

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input) -> Tensor:
        x = _as_tensor(input)
        batched, unbatched = self.spatial + 2, self.spatial + 1
        if x.ndim not in (unbatched, batched):
            raise ValueError(f"expected {unbatched}D or {batched}D input (got {x.ndim}D input)")
        if x.ndim == unbatched:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        if self.affine and x.shape[1] != self.num_features:
            raise ValueError(f"expected input's size at dim=1 to match num_features "
                             f"({self.num_features}), but got: {x.shape[1]}.")
        # (PyTorch's instance norms count no batches: momentum=None weighs them by 0)
        momentum = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, momentum, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of ``(N, C, L)`` (or unbatched ``(C, L)``) inputs."""

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) inputs."""

    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``) inputs."""

    spatial = 3
