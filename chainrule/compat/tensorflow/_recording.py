"""The recording state of the TensorFlow front end: the tapes recording now (in the order they
started) and the open forward accumulator, the tokens that name one recording, and the stand-ins
(chainrule tensors that require grad) that a tape or an accumulator gives what it watches."""

from __future__ import annotations

import numpy as _np

import chainrule as _cr
import chainrule.autograd.forward_ad as _fwAD

_TAPES: list = []  # the GradientTapes recording now, in the order they started
_ACCUMULATORS: list = []  # the open ForwardAccumulator


class _Token:
    """Identifies one recording of a tape (a tape gets a new token on reset or after use)."""

    __slots__ = ()


class _AccumulatorToken(_Token):
    __slots__ = ()


def _recording() -> list:
    return [tape._token for tape in _TAPES]


def _live() -> set:
    return {tape._token for tape in _TAPES} | {acc._token for acc in _ACCUMULATORS}


def _tokens_of(obj) -> set:
    return set(obj._tokens).union(token for token, _ in obj._overrides)


_grad_mode = _cr.set_grad_enabled


def _current(var, live=None):
    live = _live() if live is None else live
    for token, value in reversed(var._overrides):
        if token in live:
            return value
    return var._value


def _stand_in(current):
    """A chainrule tensor that requires grad with ``current``'s values: connected to
    ``current``'s graph (and forward tangent) if it has one, a fresh leaf otherwise."""
    with _np.errstate(all="ignore"), _cr.enable_grad():
        if current.requires_grad:
            return _cr.clone(current)
        leaf = current.detach().requires_grad_(True)
        if _ACCUMULATORS:
            tangent = _fwAD.unpack_dual(current).tangent
            if tangent is not None:
                return _fwAD.make_dual(leaf, tangent)
        return leaf
