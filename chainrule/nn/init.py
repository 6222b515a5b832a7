"""``chainrule.nn.init``: PyTorch's parameter initialisers, each filling a tensor in place
(without recording) and returning it.

The draws come from chainrule's generator (``chainrule.manual_seed``), or from ``generator``
when one is passed: the values for a seed are not PyTorch's, but the distributions and bounds
are (``kaiming_uniform_`` draws from ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``, and so
on).  ``fan_in`` is ``size(1) * receptive field`` and ``fan_out`` ``size(0) * receptive field``,
as in PyTorch.

>>> import chainrule as cr
>>> from chainrule.nn import init
>>> w = cr.empty(3, 4)
>>> init.constant_(w, 0.5)
tensor([[0.5000, 0.5000, 0.5000, 0.5000],
        [0.5000, 0.5000, 0.5000, 0.5000],
        [0.5000, 0.5000, 0.5000, 0.5000]])
>>> _ = cr.manual_seed(0)
>>> bool(init.xavier_uniform_(w).abs().max() <= (6 / 7) ** 0.5)
True
>>> init.calculate_gain("relu")
1.4142135623730951
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import vmap_levels
from chainrule.generator import random_source
from chainrule.tensor import Tensor

__all__ = ["calculate_gain", "constant_", "eye_", "kaiming_normal_", "kaiming_uniform_",
           "normal_", "ones_", "orthogonal_", "trunc_normal_", "uniform_", "xavier_normal_",
           "xavier_uniform_", "zeros_"]


def _fill(name: str, tensor, values) -> Tensor:
    """Write ``values`` into ``tensor``'s storage, unrecorded, bumping its version."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{name}: expected a chainrule Tensor, got {type(tensor).__name__}")
    tensor._ensure_array()
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._bump_version()
    return tensor


def _random(name: str, generator):
    """What an init function draws from.  Inside vmap its randomness mode decides: 'error'
    raises, 'same' draws once (the tensor filled is the same for every example), and
    'different' cannot give each example its own draw in one unbatched tensor."""
    if vmap_levels.random_levels(f"nn.init.{name}"):
        raise RuntimeError(
            f"vmap: nn.init.{name}: Cannot ask for different inplace randomness on an unbatched "
            "tensor. This will appear like same randomness (one draw for every example); "
            "initialise outside vmap, or use randomness='same'")
    return random_source(generator)


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear layers and sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 by default), 3/4 for
    selu."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from ``U(a, b)``."""
    rng = _random("uniform_", generator)
    return _fill("uniform_", tensor, rng.uniform(a, b, tuple(tensor.shape)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from ``N(mean, std^2)``."""
    rng = _random("normal_", generator)
    return _fill("normal_", tensor, rng.normal(mean, std, tuple(tensor.shape)))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with draws from ``N(mean, std^2)`` conditioned on lying in ``[a, b]`` (redrawing
    those outside, so the distribution is exactly the truncated normal)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = _random("trunc_normal_", generator)
    shape = tuple(tensor.shape)
    values = rng.normal(mean, std, shape)
    outside = (values < a) | (values > b)
    for _ in range(1000):
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    else:  # an interval far in a tail: clip what is left (as PyTorch's inverse-CDF would)
        np.clip(values, a, b, out=values)
    return _fill("trunc_normal_", tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill("constant_", tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return _fill("ones_", tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return _fill("zeros_", tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill("eye_", tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill from ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill from ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))`` (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """Fill from ``U(-b, b)``, ``b = gain * sqrt(3 / fan)`` (He); ``a`` is leaky_relu's
    negative slope.  ``nn.Linear`` uses ``a = sqrt(5)``, i.e. ``b = 1 / sqrt(fan_in)``."""
    if 0 in tensor.shape:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """Fill from ``N(0, std^2)``, ``std = gain / sqrt(fan)`` (He)."""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (the trailing dims flattened): the
    Q of a QR decomposition of a normal matrix, signs fixed so that it is uniformly (Haar)
    distributed."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _random("orthogonal_", generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill("orthogonal_", tensor, gain * q.reshape(tensor.shape))
