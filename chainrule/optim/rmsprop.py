"""RMSprop, Adagrad and Adadelta, PyTorch's ``torch.optim.RMSprop``, ``torch.optim.Adagrad`` and
``torch.optim.Adadelta``, updating each parameter's array in place.

RMSprop, with gradient ``g`` (negated for ``maximize``, plus ``weight_decay * p``)::

    v <- alpha * v + (1 - alpha) * g^2
    a <- sqrt(v - gbar^2) + eps  with  gbar <- gbar + (1 - alpha)(g - gbar)   (centered)
    a <- sqrt(v) + eps                                                       (otherwise)
    b <- momentum * b + g / a,  p <- p - lr * b     (momentum > 0)
    p <- p - lr * g / a                             (otherwise)

Adagrad, at step ``t``: ``s <- s + g^2``, ``p <- p - lr / (1 + (t - 1) lr_decay) * g /
(sqrt(s) + eps)``.

Adadelta (``rho``, ``eps``)::

    v <- rho * v + (1 - rho) * g^2
    d <- sqrt(u + eps) / sqrt(v + eps) * g
    u <- rho * u + (1 - rho) * d^2,   p <- p - lr * d
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.optim.adam import real_view
from chainrule.optim.optimizer import (
    Optimizer,
    array_of,
    check_nonnegative,
    mark_changed,
    signed_decayed,
    square_average,
)
from chainrule.optim.sgd import unsupported


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.RMSprop([w], lr=0.01, alpha=0.0)
    >>> w.grad = cr.tensor([3.0])
    >>> opt.step()        # alpha=0: v = g^2, so p moves by lr * g / |g|
    >>> w
    tensor([0.9900], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_nonnegative("learning rate", lr, "RMSprop")
        check_nonnegative("epsilon value", eps, "RMSprop")
        check_nonnegative("momentum value", momentum, "RMSprop")
        check_nonnegative("weight_decay value", weight_decay, "RMSprop")
        check_nonnegative("alpha value", alpha, "RMSprop")
        unsupported("RMSprop", foreach, differentiable or capturable, None)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._state_of(p)
            if len(state) == 0:
                state["step"] = self._new_step()
                state["square_avg"] = self._zeros_like(p)
                if mu > 0:
                    state["momentum_buffer"] = self._zeros_like(p)
                if group["centered"]:
                    state["grad_avg"] = self._zeros_like(p)
            self._advance(state)
            x = real_view(array_of(p))
            d = signed_decayed(self, x, real_view(array_of(p.grad)), group["maximize"],
                               group["weight_decay"])
            a, s = self._scratch.get(x, 1), self._scratch.get(x, 2)
            v = real_view(array_of(state["square_avg"]))
            square_average(v, d, alpha, s)
            mark_changed(state["square_avg"])
            if group["centered"]:
                gbar = real_view(array_of(state["grad_avg"]))
                np.subtract(d, gbar, out=s)
                s *= 1 - alpha
                gbar += s
                mark_changed(state["grad_avg"])
                np.multiply(gbar, gbar, out=a)
                np.subtract(v, a, out=a)
                np.sqrt(a, out=a)
            else:
                np.sqrt(v, out=a)
            a += eps
            np.divide(d, a, out=a)
            if mu > 0:
                b = real_view(array_of(state["momentum_buffer"]))
                b *= mu
                b += a
                mark_changed(state["momentum_buffer"])
                np.multiply(b, lr, out=a)
            else:
                a *= lr
            x -= a
            mark_changed(p)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (its state is made for every parameter at once).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.Adagrad([w], lr=0.5)
    >>> w.grad = cr.tensor([4.0])
    >>> opt.step()        # s = g^2: p moves by lr * g / |g|
    >>> w
    tensor([0.5000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonnegative("learning rate", lr, "Adagrad")
        check_nonnegative("lr_decay value", lr_decay, "Adagrad")
        check_nonnegative("weight_decay value", weight_decay, "Adagrad")
        check_nonnegative("initial_accumulator_value value", initial_accumulator_value,
                          "Adagrad")
        check_nonnegative("epsilon value", eps, "Adagrad")
        unsupported("Adagrad", foreach, differentiable, fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group: dict[str, Any]) -> dict[str, Any]:
        state = self._state_of(p)
        if len(state) == 0:
            init = group["initial_accumulator_value"]
            state["step"] = self._new_step()
            state["sum"] = self._zeros_like(p, complex(init, init) if p.is_complex() else init)
        return state

    def _update(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._init_state(p, group)
            t = self._advance(state)
            x = real_view(array_of(p))
            d = signed_decayed(self, x, real_view(array_of(p.grad)), group["maximize"],
                               group["weight_decay"])
            clr = lr / (1 + (t - 1) * lr_decay)
            a = self._scratch.get(x, 1)
            total = real_view(array_of(state["sum"]))
            np.multiply(d, d, out=a)
            total += a
            mark_changed(state["sum"])
            np.sqrt(total, out=a)
            a += eps
            np.divide(d, a, out=a)
            a *= clr
            x -= a
            mark_changed(p)


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.Adadelta([w], lr=1.0, rho=0.0, eps=1.0)
    >>> w.grad = cr.tensor([3.0])
    >>> opt.step()        # rho=0: v = g^2, d = sqrt(0 + 1) / sqrt(9 + 1) * 3
    >>> round(w.item(), 6)
    0.051317
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_nonnegative("learning rate", lr, "Adadelta")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (given to Adadelta; it must be in "
                             "[0, 1])")
        check_nonnegative("epsilon value", eps, "Adadelta")
        check_nonnegative("weight_decay value", weight_decay, "Adadelta")
        unsupported("Adadelta", foreach, differentiable or capturable, None)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._state_of(p)
            if len(state) == 0:
                state["step"] = self._new_step()
                state["square_avg"] = self._zeros_like(p)
                state["acc_delta"] = self._zeros_like(p)
            self._advance(state)
            x = real_view(array_of(p))
            d = signed_decayed(self, x, real_view(array_of(p.grad)), group["maximize"],
                               group["weight_decay"])
            a, s = self._scratch.get(x, 1), self._scratch.get(x, 2)
            v = real_view(array_of(state["square_avg"]))
            u = real_view(array_of(state["acc_delta"]))
            square_average(v, d, rho, s)
            mark_changed(state["square_avg"])
            np.add(v, eps, out=s)
            np.sqrt(s, out=s)                      # std = sqrt(v + eps)
            np.add(u, eps, out=a)
            np.sqrt(a, out=a)                      # sqrt(u + eps)
            a /= s
            a *= d                                 # the step d
            u *= rho
            np.multiply(a, a, out=s)
            s *= 1 - rho
            u += s
            mark_changed(state["acc_delta"])
            a *= lr
            x -= a
            mark_changed(p)
