"""The normalisation layers without running statistics, as PyTorch's ``normalization.py``:
``LayerNorm`` and ``GroupNorm``, over :func:`chainrule.nn.functional.layer_norm` and
``group_norm``.  Their ``weight`` starts at ones and ``bias`` at zeros, as PyTorch's.

>>> import chainrule as cr
>>> from chainrule import nn
>>> nn.LayerNorm(4)
LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
>>> nn.GroupNorm(2, 4)(cr.tensor([[1.0, 3.0, 0.0, 4.0]]))
tensor([[-1.0000,  1.0000, -1.0000,  1.0000]], grad_fn=<AddBackward0>)
"""

from __future__ import annotations

import numpy as np

from chainrule.arguments import check_device
from chainrule.creation import get_default_dtype
from chainrule.nn import functional_norm as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["GroupNorm", "LayerNorm"]


def _affine_parameters(module: Module, shape: tuple, affine: bool, bias: bool, device,
                       dtype) -> None:
    check_device(type(module).__name__, device)
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """Layer normalisation over the last dims, those of ``normalized_shape`` (an int or a
    tuple), with a ``weight`` and ``bias`` of that shape when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        shape = F.normalized_shape_of("LayerNorm", normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        """Weight 1, bias 0."""
        _reset(self)

    def forward(self, input) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation of ``(N, C, *)`` inputs, the ``num_channels`` channels in
    ``num_groups`` groups, with a ``weight`` and ``bias`` per channel when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        """Weight 1, bias 0."""
        _reset(self)

    def forward(self, input) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")
