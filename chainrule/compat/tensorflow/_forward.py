"""``tf.autodiff.ForwardAccumulator``: forward mode, its primals read as
``chainrule.autograd.forward_ad`` dual tensors while it is open; and the ``tf.autodiff``
namespace."""

from __future__ import annotations

import types as _types

import chainrule.autograd.forward_ad as _fwAD
import chainrule.pytree as _pytree
from chainrule.compat.tensorflow._dtypes import UnconnectedGradients
from chainrule.compat.tensorflow._recording import (
    _ACCUMULATORS,
    _AccumulatorToken,
    _grad_mode,
    _live,
    _recording,
    _tokens_of,
)
from chainrule.compat.tensorflow._tape import GradientTape, _finish
from chainrule.compat.tensorflow._tensors import Tensor, _as_tf, _read, _TensorLike


class ForwardAccumulator:
    """Forward mode: computations inside the ``with`` block carry tangents.

    >>> import chainrule.compat.tensorflow as tf
    >>> x = tf.constant([1., 2.])
    >>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1., 0.])) as acc:
    ...     y = x * x
    >>> acc.jvp(y)
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([2., 0.], dtype=float32)>
    """

    def __init__(self, primals, tangents) -> None:
        self._primals = _pytree.tree_leaves(primals)
        self._tangents = _pytree.tree_leaves(tangents)
        if len(self._primals) != len(self._tangents):
            raise ValueError("primals and tangents must have the same structure")
        for p, t in zip(self._primals, self._tangents):
            if not isinstance(p, _TensorLike):
                raise TypeError(f"primals must be tensors or variables, got {type(p).__name__}")
            if tuple(_as_tf(t).shape) != tuple(p.shape):
                raise ValueError(f"Tangent {t!r} shape {_as_tf(t).shape} did not match the "
                                 f"shape of the primal it corresponds to ({p.shape}).")
        self._token = _AccumulatorToken()

    def __enter__(self) -> ForwardAccumulator:
        if _ACCUMULATORS:
            raise NotImplementedError(
                "chainrule's ForwardAccumulator cannot be nested: chainrule.autograd.forward_ad "
                "opens one level of forward mode at a time (use chainrule.func.jvp inside jvp)")
        _fwAD.enter_dual_level()
        _ACCUMULATORS.append(self)
        for p, t in zip(self._primals, self._tangents):
            tangent = _read(_as_tf(t, p.dtype), set()).detach()
            if tangent.dtype != p._value.dtype:
                tangent = tangent.to(p._value.dtype)
            current = _read(p, _live())
            with _grad_mode(current.requires_grad):
                dual = _fwAD.make_dual(current, tangent)
            p._overrides.append((self._token, dual))
            p._jvps = dict(p._jvps or {})
            p._jvps[self._token] = tangent
        return self

    def __exit__(self, *exc) -> None:
        for p in self._primals:
            p._overrides[:] = [(t, v) for t, v in p._overrides if t is not self._token]
        _ACCUMULATORS.remove(self)
        _fwAD.exit_dual_level()

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The Jacobian-vector product of each tensor computed inside (None if unconnected)."""
        unconnected = UnconnectedGradients(unconnected_gradients)
        out = []
        flat, structure = _pytree.flatten(primals)
        for obj in flat:
            tangent = (obj._jvps or {}).get(self._token) if isinstance(obj, _TensorLike) else None
            if tangent is None:
                out.append(_finish(None, obj, unconnected))
            else:  # differentiable by the tapes that recorded obj (reverse over forward)
                tokens = _tokens_of(obj).intersection(_recording())
                out.append(Tensor(tangent, frozenset(tokens) if tangent.requires_grad
                                  else frozenset()))
        if isinstance(primals, (list, tuple, dict)):
            return _pytree.unflatten(structure, out)
        return out[0]


autodiff = _types.SimpleNamespace(ForwardAccumulator=ForwardAccumulator,
                                  GradientTape=GradientTape)
