"""``chainrule.nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``) and
the conversions between parameters and one flat vector (``parameters_to_vector``,
``vector_to_parameters``), as in ``torch.nn.utils``; ``stateless.functional_call``
(:mod:`chainrule.nn.utils.stateless`).

Clipping changes each ``.grad`` in place without recording.

>>> import chainrule as cr
>>> from chainrule.nn.utils import clip_grad_norm_
>>> w = cr.zeros(2, requires_grad=True)
>>> w.grad = cr.tensor([3.0, 4.0])
>>> clip_grad_norm_([w], max_norm=1.0)
tensor(5.)
>>> w.grad
tensor([0.6000, 0.8000])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule import functions as fn
from chainrule.nn.utils import stateless
from chainrule.tensor import Tensor, wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "stateless"]


def _params(parameters) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale the gradients so that their total ``norm_type``-norm (of all gradients as one
    vector) is at most ``max_norm``; returns the norm before clipping."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return wrap(np.asarray(0.0, dtype=np.float32))
    arrays = [np.asarray(g._data) for g in grads]
    if norm_type == np.inf:
        norms = [np.max(np.abs(a)) if a.size else 0.0 for a in arrays]
        total = np.max(norms)
    else:
        norms = [np.linalg.norm(a.ravel(), norm_type) for a in arrays]
        total = np.linalg.norm(np.asarray(norms), norm_type)
    total = np.asarray(total, dtype=np.result_type(*arrays))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for g in grads:
        g._ensure_array()
        g._data *= np.asarray(coef, dtype=g.dtype)  # (PyTorch multiplies even by 1.0)
        g._bump_version()
    return wrap(total)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for p in _params(parameters):
        if p.grad is not None:
            p.grad._ensure_array()
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._bump_version()


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one vector (differentiable).

    >>> import chainrule as cr
    >>> parameters_to_vector([cr.ones(2, 2), cr.zeros(1)])
    tensor([1., 1., 1., 1., 0.])
    """
    params = _params(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of Tensors")
    return fn.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' values (their ``.data``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _params(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, expected "
                           f"({total},) (the parameters' total size)")
    values = np.asarray(vec.detach().numpy())
    start = 0
    for p in params:
        n = p.numel()
        p.data = values[start:start + n].reshape(p.shape).astype(p.dtype, copy=True)
        start += n
