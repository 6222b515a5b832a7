"""PyTorch's ``torch.autograd.forward_ad``: dual tensors for forward-mode differentiation.

>>> import chainrule as cr
>>> import chainrule.autograd.forward_ad as fwAD
>>> x = cr.tensor([1.0, 2.0, 3.0])
>>> with fwAD.dual_level():
...     d = fwAD.make_dual(x, cr.tensor([1.0, 0.0, 0.0]))
...     y = d.sin() * d
...     fwAD.unpack_dual(y).tangent   # (cos(x) x + sin(x)) in the first direction
tensor([1.3818, 0.0000, 0.0000])
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from chainrule import forward, rules
from chainrule.engine import refresh_if_stale
from chainrule.tensor import Tensor, wrap

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "UnpackedDualTensor"]


class _Opened(threading.local):
    """The level opened through this interface, per thread (PyTorch allows one at a time)."""

    def __init__(self) -> None:
        self.levels: list[int] = []


_opened = _Opened()


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the value and its tangent (None if it has none)."""

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Open the level of forward mode that ``make_dual`` and ``unpack_dual`` use."""
    if _opened.levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment; for nested "
                           "forward mode use chainrule's jvp inside jvp")
    level = forward.enter_level()
    _opened.levels.append(level)
    return level


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the level: tangents computed inside it are dropped."""
    if not _opened.levels:
        raise RuntimeError("exit_dual_level: no dual level is open")
    forward.exit_level(_opened.levels.pop())


class dual_level:
    """Context manager for one level of forward mode (as ``torch.autograd.forward_ad``)."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


def _current(level: int | None, caller: str) -> int:
    if level is not None:
        return level
    if not _opened.levels:
        raise RuntimeError(f"{caller}: Trying to create a dual Tensor for forward AD but no "
                           "level exists, make sure to enter_dual_level() first.")
    return _opened.levels[-1]


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A tensor with the values of ``tensor`` that carries ``tangent`` in forward mode.

    It is a view of ``tensor``, so gradients computed in reverse mode still reach ``tensor``.
    """
    level = _current(level, "make_dual")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual expects a Tensor and a Tensor tangent")
    if tangent.shape != tensor.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than "
                           f"that of the original Tensor, this is not supported. Tensor is of "
                           f"size {tensor.shape} while the given forward gradient is of size "
                           f"{tangent.shape}.")
    if tensor.dtype.kind not in "fc" or tangent.dtype.kind not in "fc":
        raise TypeError(f"make_dual: expected floating-point or complex tensor and tangent, got "
                        f"{tensor.dtype} and {tangent.dtype}")
    # a view, so that gradients in reverse mode still reach `tensor`; without history to keep,
    # an alias of the same storage is that view, at no cost
    dual = (rules.reshape(tensor, shape=tensor.shape, x_shape=tensor.shape) if tensor.requires_grad
            else tensor.detach())
    if tangent.dtype != tensor.dtype:
        tangent = tangent.to(tensor.dtype)
    lower = dict(tensor._tangents) if tensor._tangents else {}
    lower[level] = forward.compact(tangent)
    dual._tangents = lower
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """Split a dual tensor into its value (a view) and its tangent at the current level."""
    if level is None and not _opened.levels:
        return UnpackedDualTensor(tensor, None)
    level = _current(level, "unpack_dual")
    refresh_if_stale(tensor)  # a view whose base changed in place: its tangent made again
    tangent = tensor._tangents.get(level) if tensor._tangents else None
    if tangent is None or level not in forward.state.levels:
        return UnpackedDualTensor(tensor, None)
    if not tensor.requires_grad:  # no history: an alias without this level's tangent
        primal = tensor.detach()
        primal._tangents = {lv: t for lv, t in tensor._tangents.items() if lv < level} or None
        return UnpackedDualTensor(primal, tangent if isinstance(tangent, Tensor)
                                  else wrap(tangent))
    saved = forward.state.ceiling
    forward.state.ceiling = level if saved is None else min(saved, level)
    try:  # the value without this level's tangent: the same view, computed under the level
        primal = rules.reshape(tensor, shape=tensor.shape, x_shape=tensor.shape)
    finally:
        forward.state.ceiling = saved
    return UnpackedDualTensor(primal, tangent if isinstance(tangent, Tensor) else wrap(tangent))
