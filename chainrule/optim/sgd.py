"""Stochastic gradient descent, PyTorch's ``torch.optim.SGD`` (momentum, dampening, Nesterov,
weight decay, maximize), updating each parameter's array in place.

With gradient ``g``, parameter ``p``, buffer ``b`` (momentum ``mu``, dampening ``tau``)::

    g <- g + weight_decay * p                 (L2 penalty)
    b <- g                      on the first step,  b <- mu * b + (1 - tau) * g  after
    d <- g + mu * b  (Nesterov)   or   d <- b
    p <- p - lr * d
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    array_of,
    check_nonnegative,
    mark_changed,
    signed_decayed,
)


def unsupported(name: str, foreach, differentiable, fused) -> None:
    """Refuse the options that select PyTorch's other kernels: there is one NumPy kernel."""
    if differentiable or fused:
        raise NotImplementedError(f"{name}: differentiable=True and fused=True are not "
                                  "supported; chainrule has one in-place NumPy update "
                                  "(leave them at their defaults)")


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonnegative("learning rate", lr, "SGD")
        check_nonnegative("momentum value", momentum, "SGD")
        check_nonnegative("weight_decay value", weight_decay, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        unsupported("SGD", foreach, differentiable, fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            x, g = array_of(p), array_of(p.grad)
            d = signed_decayed(self, x, g, maximize, wd)
            if mu != 0:
                state = self._state_of(p)
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = self._zeros_like(p)
                    np.copyto(array_of(buf), d)
                else:
                    b = array_of(buf)
                    b *= mu
                    t = self._scratch.get(x, 1)
                    np.multiply(d, 1 - tau, out=t)
                    b += t
                    mark_changed(buf)
                b = array_of(buf)
                if nesterov:
                    t = self._scratch.get(x, 1)
                    np.multiply(b, mu, out=t)
                    d += t
                else:
                    np.copyto(d, b)
            d *= lr
            x -= d
            mark_changed(p)
