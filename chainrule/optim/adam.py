"""Adam and AdamW, PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW`` (amsgrad,
maximize), updating each parameter's array in place.

At step ``t`` with gradient ``g`` (negated for ``maximize``)::

    g <- g + weight_decay * p            (Adam: L2 penalty)
    p <- p * (1 - lr * weight_decay)     (AdamW: decoupled decay)
    m <- m + (1 - beta1) * (g - m)       (PyTorch's lerp)
    v <- beta2 * v + (1 - beta2) * g^2   (vmax <- max(vmax, v) with amsgrad, used below)
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
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
    square_average,
)
from chainrule.optim.sgd import unsupported


def real_view(a: np.ndarray) -> np.ndarray:
    """A complex array as real pairs (PyTorch's ``view_as_real``), so moments are per part."""
    if not np.iscomplexobj(a):
        return a
    return (a if a.ndim else a[np.newaxis]).view(a.real.dtype)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (``decoupled_weight_decay=True`` is AdamW).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = cr.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()        # the first step moves each entry by about lr against its gradient
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        name = type(self).__name__
        check_nonnegative("learning rate", lr, name)
        check_nonnegative("epsilon value", eps, name)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        check_nonnegative("weight_decay value", weight_decay, name)
        unsupported(name, foreach, differentiable or capturable, fused)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._state_of(p)
            if len(state) == 0:
                state["step"] = self._new_step()
                state["exp_avg"] = self._zeros_like(p)
                state["exp_avg_sq"] = self._zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = self._zeros_like(p)
            t = self._advance(state)
            x, g = real_view(array_of(p)), real_view(array_of(p.grad))
            m, v = real_view(array_of(state["exp_avg"])), real_view(array_of(state["exp_avg_sq"]))
            if wd != 0 and decoupled:
                x *= 1 - lr * wd
                mark_changed(p)
            d = signed_decayed(self, x, g, maximize, 0 if decoupled else wd)
            s = self._scratch.get(x, 1)
            # m <- m + (1 - beta1) (g - m)
            np.subtract(d, m, out=s)
            s *= 1 - beta1
            m += s
            square_average(v, d, beta2, s)  # v <- beta2 v + (1 - beta2) g^2
            step_size = lr / (1 - beta1 ** t)
            bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
            if amsgrad:
                vmax = real_view(array_of(state["max_exp_avg_sq"]))
                np.maximum(vmax, v, out=vmax)
                mark_changed(state["max_exp_avg_sq"])
                np.sqrt(vmax, out=s)
            else:
                np.sqrt(v, out=s)
            s /= bias_correction2_sqrt
            s += eps
            np.divide(m, s, out=s)
            s *= step_size
            x -= s
            mark_changed(state["exp_avg"])
            mark_changed(state["exp_avg_sq"])
            mark_changed(p)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (``weight_decay=0.01``).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = cr.zeros(1)
    >>> opt.step()        # a zero gradient: only the decay p * (1 - lr * weight_decay)
    >>> w
    tensor([0.9500], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
