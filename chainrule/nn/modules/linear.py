"""``Linear``, ``LazyLinear``, ``Bilinear``, ``Dropout`` and ``Embedding``, with PyTorch's
default initialisations (drawn from chainrule's generator: the same distributions as PyTorch,
not the same values for a seed).

``Linear``'s weight is ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(in), 1/sqrt(in))``,
and its bias ``U(-1/sqrt(in), 1/sqrt(in))``; ``Bilinear``'s are ``U(-1/sqrt(in1), ..)``;
``Embedding``'s ``N(0, 1)`` with the ``padding_idx`` row zeroed.

>>> import chainrule as cr
>>> from chainrule import nn
>>> layer = nn.Linear(3, 2)
>>> layer.weight.shape, layer.bias.shape
((2, 3), (2,))
>>> layer(cr.ones(5, 3)).shape
(5, 2)
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.arguments import check_device
from chainrule.creation import get_default_dtype
from chainrule.grad_mode import no_grad
from chainrule.nn import functional_layers as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["Bilinear", "Dropout", "Embedding", "LazyLinear", "Linear"]


def _empty(name: str, shape: tuple, device, dtype) -> Parameter:
    check_device(name, device)
    dt = get_default_dtype() if dtype is None else np.dtype(dtype)
    return Parameter(np.empty(shape, dtype=dt))


def _count(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise TypeError(f"{name}: {what} must be a non-negative int, got {value!r}")
    return int(value)


def default_init_(weight, bias) -> None:
    """PyTorch's default initialisation of a linear or convolution layer: the weight
    ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in``
    the weight's ``size(1)`` times its kernel's size, and the bias from the same range."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1] * math.prod(weight.shape[2:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` of shape ``(out_features, in_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        self.weight = _empty("Linear", (out_features, in_features), device, dtype)
        if bias:
            self.bias = _empty("Linear", (out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (see the module docstring)."""
        default_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` is read from its first input; it then becomes a
    ``Linear`` (the same Parameter objects, now with shapes), as in PyTorch.  Until then its
    parameters are empty.  ``load_state_dict`` gives them the shapes (and values) it loads, as
    PyTorch's does; the first input then keeps those values (``in_features`` is read from the
    loaded weight, where PyTorch leaves it 0)."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = _count("LazyLinear", "out_features", out_features)
        self.weight = _empty("LazyLinear", (0,), device, dtype)
        if bias:
            self.bias = _empty("LazyLinear", (0,), device, dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.in_features:
            super().reset_parameters()

    def _materialize_for_load(self, prefix: str, state_dict) -> None:
        for name, param in self._parameters.items():
            if param is not None and param.shape == (0,) and prefix + name in state_dict:
                param.data = np.empty(np.shape(state_dict[prefix + name]), dtype=param.dtype)

    def forward(self, input: Tensor) -> Tensor:
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim == 0:
            raise RuntimeError("LazyLinear: the input must have at least one dim (features)")
        if self.weight.shape != (0,):  # shaped by load_state_dict: keep what was loaded
            self.in_features = self.weight.shape[-1]
        else:
            self.in_features = x.shape[-1]
            dtype = self.weight.dtype
            self.weight.data = np.empty((self.out_features, self.in_features), dtype=dtype)
            if self.bias is not None:
                self.bias.data = np.empty((self.out_features,), dtype=dtype)
            with no_grad():
                self.reset_parameters()
        self.__class__ = Linear
        return F.linear(x, self.weight, self.bias)


class Bilinear(Module):
    """``y_o = x1ᵀ A_o x2 + b_o`` with ``A`` of shape ``(out, in1, in2)``."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = _count("Bilinear", "in1_features", in1_features)
        self.in2_features = _count("Bilinear", "in2_features", in2_features)
        self.out_features = _count("Bilinear", "out_features", out_features)
        self.weight = _empty("Bilinear", (out_features, in1_features, in2_features), device,
                             dtype)
        if bias:
            self.bias = _empty("Bilinear", (out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Dropout(Module):
    """Zeroes each entry with probability ``p`` while training (scaling the others by
    ``1 / (1 - p)``); the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``; the row
    ``padding_idx`` starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_embeddings = _count("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _count("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if padding_idx > 0:
                assert padding_idx < num_embeddings, "Padding_idx must be within num_embeddings"
            elif padding_idx < 0:
                assert padding_idx >= -num_embeddings, "Padding_idx must be within num_embeddings"
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _empty("Embedding", (num_embeddings, embedding_dim), device, dtype)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError("Shape of weight does not match num_embeddings and "
                                 "embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, **kwargs) -> Embedding:
        """An Embedding holding ``embeddings`` (2-D), frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, _weight=embeddings, _freeze=freeze, **kwargs)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s
