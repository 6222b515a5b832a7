"""``Conv1d``, ``Conv2d``, ``Conv3d``, ``ConvTranspose1d``, ``ConvTranspose2d`` and
``ConvTranspose3d``, with PyTorch's constructor arguments, attributes, ``extra_repr`` and
default initialisation (drawn from chainrule's generator: PyTorch's distributions, not its
values for a seed).

The weight has shape ``(out_channels, in_channels / groups, *kernel_size)`` (transposed:
``(in_channels, out_channels / groups, *kernel_size)``) and starts as
``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in``
the weight's ``size(1) * prod(kernel_size)``; the bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
The parameters are named ``weight`` and ``bias``, so a PyTorch module's ``state_dict`` loads.
``padding_mode`` other than ``'zeros'`` (``'reflect'``, ``'replicate'``, ``'circular'``) pads
with ``nn.functional.pad`` first, then convolves without padding, as PyTorch does.

>>> import chainrule as cr
>>> from chainrule import nn
>>> conv = nn.Conv2d(1, 6, 5, padding=2)
>>> conv
Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
>>> conv(cr.ones(2, 1, 28, 28)).shape
(2, 6, 28, 28)
>>> nn.ConvTranspose2d(6, 1, 2, stride=2)(cr.ones(2, 6, 14, 14)).shape
(2, 1, 28, 28)
"""

from __future__ import annotations

import numpy as np

from chainrule.arguments import check_device
from chainrule.creation import get_default_dtype
from chainrule.nn import functional as F
from chainrule.nn.functional_conv import per_dim
from chainrule.nn.modules.linear import default_init_
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the six layers share: the arguments, the parameters, their initialisation and the
    representation.  ``dims`` is the number of spatial dims."""

    dims = 0
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, output_padding=0) -> None:
        super().__init__()
        name, dims = type(self).__name__, self.dims
        for what, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name}: {what} must be an int, got {value!r}")
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = per_dim(name, "kernel_size", kernel_size, dims)
        self.stride = per_dim(name, "stride", stride, dims)
        self.dilation = per_dim(name, "dilation", dilation, dims)
        self.output_padding = per_dim(name, "output_padding", output_padding, dims)
        if isinstance(padding, str) and not self.transposed:
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'same', 'valid'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = per_dim(name, "padding", padding, dims)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        check_device(name, device)
        dt = get_default_dtype() if dtype is None else np.dtype(dtype)
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (see the module docstring)."""
        default_init_(self.weight, self.bias)

    def _padded_input(self, input: Tensor) -> Tensor:
        """The input padded by ``padding_mode`` (not 'zeros'), PyTorch's widths: the last dim
        first, and for 'same' the odd zero after."""
        if self.padding == "valid":
            return input
        widths: list[int] = []
        for i in reversed(range(self.dims)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                widths += [total // 2, total - total // 2]
            else:
                widths += [self.padding[i]] * 2
        return F.pad(input, tuple(widths), mode=self.padding_mode)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """A convolution layer; the subclasses give the number of dims and the function
    (``_function``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            return self._function(self._padded_input(input), self.weight, self.bias,
                                  self.stride, 0, self.dilation, self.groups)
        return self._function(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups)


class Conv1d(_Conv):
    """A 1-d convolution over ``(N, C_in, L)`` (or ``(C_in, L)``) inputs: PyTorch's."""

    dims = 1
    _function = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """A 2-d convolution over ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) inputs: PyTorch's."""

    dims = 2
    _function = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """A 3-d convolution over ``(N, C_in, D, H, W)`` inputs: PyTorch's."""

    dims = 3
    _function = staticmethod(F.conv3d)


class _ConvTranspose(_ConvNd):
    """A transposed convolution layer (the gradient of a convolution w.r.t. its input)."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        """The output padding that gives the spatial ``output_size`` (PyTorch's rule: it
        must lie within one stride of the smallest size)."""
        if output_size is None:
            return self.output_padding
        name, dims = type(self).__name__, self.dims
        wanted = tuple(int(n) for n in output_size)
        if len(wanted) in (dims + 1, dims + 2):
            wanted = wanted[-dims:]
        if len(wanted) != dims:
            raise ValueError(f"{name}: output_size must have {dims} or {dims + 2} elements "
                             f"(got {len(output_size)})")
        result = []
        for i in range(dims):
            smallest = ((input.shape[input.ndim - dims + i] - 1) * self.stride[i]
                        - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1)
                        + 1)
            if not smallest <= wanted[i] < smallest + self.stride[i]:
                raise ValueError(f"{name}: requested an output size of {list(wanted)}, but "
                                 f"valid sizes range from {smallest} to "
                                 f"{smallest + self.stride[i] - 1} in dim {i} (for an input "
                                 f"with sizes {list(input.shape[-dims:])})")
            result.append(wanted[i] - smallest)
        return tuple(result)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return self._function(input, self.weight, self.bias, self.stride, self.padding,
                              self._output_padding(input, output_size), self.groups,
                              self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """A transposed 1-d convolution over ``(N, C_in, L)`` inputs: PyTorch's."""

    dims = 1
    _function = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """A transposed 2-d convolution over ``(N, C_in, H, W)`` inputs: PyTorch's."""

    dims = 2
    _function = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """A transposed 3-d convolution over ``(N, C_in, D, H, W)`` inputs: PyTorch's."""

    dims = 3
    _function = staticmethod(F.conv_transpose3d)
