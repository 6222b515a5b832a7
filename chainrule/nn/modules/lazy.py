"""The lazy layers whose input size is read from their first input, as PyTorch's:
``LazyConv1d/2d/3d``, ``LazyConvTranspose1d/2d/3d`` (``in_channels``) and
``LazyBatchNorm1d/2d/3d`` (``num_features``).  Dive into Deep Learning builds its CNNs from
them.  (``LazyLinear`` is beside ``Linear``.)

Until its first input a lazy layer has empty parameters (and buffers) and draws no random
numbers; the first input fixes the size, the parameters get their shapes and PyTorch's
initialisation (the same draws as the eager layer's constructor), and the module becomes the
eager class (``type(m) is nn.Conv2d``: the book's ``init_cnn`` tests it), keeping its
Parameter objects.  ``load_state_dict`` before the first input takes the shapes and values
it loads, as PyTorch's load hook does.

>>> import chainrule as cr
>>> from chainrule import nn
>>> conv = nn.LazyConv2d(6, kernel_size=5, padding=2)
>>> conv
LazyConv2d(0, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
>>> conv(cr.ones(2, 3, 28, 28)).shape
(2, 6, 28, 28)
>>> conv
Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
"""

from __future__ import annotations

import numpy as np

from chainrule.grad_mode import no_grad
from chainrule.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from chainrule.nn.modules.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from chainrule.tensor import Tensor

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]


class _Lazy:
    """What the lazy layers share, mixed in before the eager class (``cls_to_become``): no
    initialisation until the size is known, then shapes, PyTorch's initialisation and the
    change of class."""

    cls_to_become: type

    def reset_parameters(self) -> None:
        """Nothing to initialise yet (the eager class's runs when the size is known)."""

    def _emptied(self) -> None:
        """Empty every parameter and floating buffer (shape ``(0,)``) until the size is
        known."""
        for table in (self._parameters, self._buffers):
            for value in table.values():
                if value is not None and value.ndim >= 1:  # (not the 0-d batch count)
                    value.data = np.empty((0,), dtype=value.dtype)

    def _shapes(self, size: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def _shape_for(self, size: int) -> None:
        """Give the parameters and buffers their shapes for an input size of ``size``."""
        setattr(self, self._size_name, size)
        for name, shape in self._shapes(size).items():
            value = getattr(self, name)
            if value is not None:
                value.data = np.empty(shape, dtype=value.dtype)

    def _materialize_for_load(self, prefix: str, state_dict) -> None:
        size = self._size_in(prefix, state_dict)
        if size is not None and self.has_uninitialized_params():
            self._shape_for(size)

    def has_uninitialized_params(self) -> bool:
        """Whether the size is still unknown (PyTorch's ``has_uninitialized_params``)."""
        return getattr(self, self._size_name) == 0

    def _become_eager(self, size: int) -> None:
        if self.has_uninitialized_params():
            self._shape_for(size)
            with no_grad():
                self.cls_to_become.reset_parameters(self)
        self.__class__ = self.cls_to_become


class _LazyConv(_Lazy):
    """``in_channels`` from the first input: its dim 1 (dim 0 unbatched)."""

    _size_name = "in_channels"

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        # the eager constructor checks every argument, with ``groups`` as a stand-in size
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)
        self.in_channels = 0
        self._emptied()

    def _shapes(self, size: int) -> dict[str, tuple[int, ...]]:
        per_group_out = self.out_channels // self.groups
        weight = ((size, per_group_out) if self.transposed
                  else (self.out_channels, size // self.groups))
        return {"weight": weight + self.kernel_size, "bias": (self.out_channels,)}

    def _size_in(self, prefix: str, state_dict):
        weight = state_dict.get(prefix + "weight") if hasattr(state_dict, "get") else None
        if weight is None:
            return None
        shape = np.shape(weight)
        return shape[0] if self.transposed else shape[1] * self.groups

    def forward(self, input, *args, **kwargs):
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise RuntimeError(f"Expected {self.dims + 1}D (unbatched) or {self.dims + 2}D "
                               f"(batched) input to {type(self).__name__}, but got input of "
                               f"size: {list(x.shape)}")
        size = x.shape[1] if x.ndim == self.dims + 2 else x.shape[0]
        if self.has_uninitialized_params() and size % self.groups != 0:
            raise ValueError(f"{type(self).__name__}: in_channels must be divisible by "
                             f"groups, got {size} input channels and groups={self.groups}")
        self._become_eager(size)
        return self.forward(x, *args, **kwargs)


class _LazyConvTranspose(_LazyConv):
    """The transposed convolutions' arguments, in PyTorch's order."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        self.cls_to_become.__init__(self, groups, out_channels, kernel_size, stride, padding,
                                    output_padding, groups, bias, dilation, padding_mode,
                                    device, dtype)
        self.in_channels = 0
        self._emptied()


class _LazyBatchNorm(_Lazy):
    """``num_features`` from the first input's dim 1."""

    _size_name = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(1, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.num_features = 0
        self._emptied()

    def _shapes(self, size: int) -> dict[str, tuple[int, ...]]:
        return {name: (size,) for name in ("weight", "bias", "running_mean", "running_var")}

    def _size_in(self, prefix: str, state_dict):
        for name in ("weight", "running_mean"):
            if hasattr(state_dict, "get") and state_dict.get(prefix + name) is not None:
                return np.shape(state_dict[prefix + name])[0]
        return None

    def forward(self, input):
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in self.ranks:  # (the eager layer's message)
            self.cls_to_become._check_input_dim(self, x)
        self._become_eager(x.shape[1])
        return self.forward(x)


class LazyConv1d(_LazyConv, Conv1d):
    """``Conv1d`` with ``in_channels`` read from the first input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """``Conv2d`` with ``in_channels`` read from the first input."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """``Conv3d`` with ``in_channels`` read from the first input."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """``ConvTranspose1d`` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """``ConvTranspose2d`` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """``ConvTranspose3d`` with ``in_channels`` read from the first input."""

    cls_to_become = ConvTranspose3d


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """``BatchNorm1d`` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """``BatchNorm2d`` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """``BatchNorm3d`` with ``num_features`` read from the first input."""

    cls_to_become = BatchNorm3d
