"""``tf.GradientTape``: it records the operations on the tensors it watches inside its ``with``
block, then ``gradient``, ``jacobian`` and ``batch_jacobian`` run chainrule's reverse mode."""

from __future__ import annotations

import builtins as _builtins
import contextlib as _contextlib
import logging as _logging

import numpy as _np

import chainrule as _cr
import chainrule.pytree as _pytree
from chainrule.compat.tensorflow._dtypes import (
    InvalidArgumentError,
    TensorShape,
    UnconnectedGradients,
)
from chainrule.compat.tensorflow._recording import (
    _ACCUMULATORS,
    _TAPES,
    _current,
    _grad_mode,
    _live,
    _recording,
    _stand_in,
    _Token,
    _tokens_of,
)
from chainrule.compat.tensorflow._tensors import (
    Tensor,
    Variable,
    _dims,
    _read,
    _result,
    _TensorLike,
    constant,
)

_log = _logging.getLogger("tensorflow")

_NON_PERSISTENT = ("A non-persistent GradientTape can only be used to compute one set of "
                   "gradients (or jacobians)")
_PERSISTENT_INSIDE = (
    "Calling GradientTape.gradient on a persistent tape inside its context is significantly "
    "less efficient than calling it outside the context (it causes the gradient ops to be "
    "recorded on the tape, leading to increased CPU and memory usage). Only call "
    "GradientTape.gradient inside the context if you actually want to trace the gradient in "
    "order to compute higher order derivatives.")


class GradientTape:
    """Records operations on watched tensors inside its ``with`` block for ``gradient``.

    ``persistent=True`` allows several ``gradient``/``jacobian`` calls; trainable variables read
    inside the block are watched unless ``watch_accessed_variables=False``; constants need
    ``watch``.
    """

    def __init__(self, persistent: _builtins.bool = False,
                 watch_accessed_variables: _builtins.bool = True) -> None:
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._token = _Token()
        self._watched: list = []  # the objects this recording gave a stand-in
        self._used = False
        self._kept: tuple = ()

    def __del__(self) -> None:
        # drop the stand-ins this tape left on the variables and tensors it watched
        self._forget()

    # -- recording
    @property
    def _recording_now(self) -> _builtins.bool:
        return any(tape is self for tape in _TAPES)

    def __enter__(self) -> GradientTape:
        if self._recording_now:
            raise ValueError("Tape is still recording, This can happen if you try to re-enter an "
                             "already-active tape.")
        if self._used:  # a used non-persistent tape starts afresh
            self._used = False
        _TAPES.append(self)
        return self

    def __exit__(self, *exc) -> None:
        self._pop()

    def _pop(self) -> None:
        for i, tape in enumerate(_TAPES):
            if tape is self:
                del _TAPES[i]
                return

    @_contextlib.contextmanager
    def stop_recording(self):
        """Operations inside this block are not recorded (they are constants for the tape)."""
        if not self._recording_now:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        self._pop()
        try:
            yield
        finally:
            _TAPES.append(self)

    def reset(self) -> None:
        """Forget everything recorded so far; recording goes on."""
        if not self._recording_now:
            raise ValueError("Tape is not recording.")
        self._forget()

    def _forget(self) -> None:
        for obj in self._watched:
            obj._overrides[:] = [(t, v) for t, v in obj._overrides if t is not self._token]
        self._watched = []
        self._token = _Token()

    def watch(self, tensor) -> None:
        """Trace ``tensor`` (a tensor, a variable, or a nested structure of them)."""
        for obj in _pytree.tree_leaves(tensor):
            if not isinstance(obj, _TensorLike):
                raise ValueError(f"Passed in object {obj!r} of type {type(obj).__name__!r}, not "
                                 "tf.Tensor or tf.Variable or ExtensionType.")
            if not (obj.dtype.is_floating or obj.dtype.is_complex):
                _log.warning("The dtype of the watched tensor must be floating (e.g. "
                             "tf.float32), got %r", obj.dtype)
                continue
            self._watch(obj)

    def _watch(self, obj) -> None:
        if any(token is self._token for token, _ in obj._overrides):
            return
        inner = {tape._token for tape in _TAPES[_TAPES.index(self) + 1:]} if self in _TAPES \
            else set()
        if any(token in inner for token, _ in obj._overrides):
            # the stand-ins chain from outer to inner tapes; the other order would be wrong
            raise RuntimeError("GradientTape.watch: a tape nested inside this one already "
                               "watches this tensor. chainrule's TensorFlow front end needs the "
                               "outer tape to watch it first: call watch on the outer tape "
                               "before the inner tape starts watching.")
        stand_in = _stand_in(_current(obj))
        obj._overrides.append((self._token, stand_in))
        self._watched.append(obj)

    def watched_variables(self) -> tuple:
        """The variables this tape watches, in the order it started watching them."""
        if self._used:
            return self._kept
        out: list = []
        for obj in self._watched:
            if isinstance(obj, Variable) and not any(o._state is obj._state for o in out):
                out.append(obj)
        return tuple(out)

    # -- differentiation
    def _begin(self) -> None:
        if self._used:
            raise RuntimeError(_NON_PERSISTENT)
        if self._recording_now:
            if self._persistent:
                _log.warning(_PERSISTENT_INSIDE)
            else:
                self._pop()

    def _end(self) -> None:
        if not self._persistent:
            watched = self.watched_variables()
            self._used = True
            self._forget()
            self._kept = watched  # TensorFlow still lists them after the tape is used

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """The gradient of ``target`` (its sum, if it is not a scalar; the sum of the targets of
        a list) with respect to each of ``sources``, in the structure of ``sources``.

        Sources the target does not depend on, or that this tape does not watch, give None
        (zeros with ``unconnected_gradients=tf.UnconnectedGradients.ZERO``).
        """
        if target is None:
            raise TypeError("Argument `target` should be a list or nested structure of Tensors, "
                            "Variables or CompositeTensors to be differentiated, but received "
                            "None.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            targets = _pytree.tree_leaves(target)
            heads = ([None] * len(targets) if output_gradients is None
                     else _pytree.tree_leaves(output_gradients))
            if len(heads) != len(targets):
                raise ValueError("target and output_gradients must have the same structure")
            flat, structure = _pytree.flatten(sources)
            grads = self._grads(targets, heads, flat)
            result = [_finish(g, src, unconnected) for g, src in zip(grads, flat)]
        finally:
            self._end()
        if isinstance(sources, (list, tuple, dict)):
            return _pytree.unflatten(structure, result)
        return result[0]

    def _grads(self, targets: list, heads: list, sources: list) -> list:
        """One gradient per source (a chainrule tensor, or None), or raise."""
        for s in sources:
            if not isinstance(s, _TensorLike):
                raise AttributeError(f"'{type(s).__name__}' object has no attribute 'dtype'")
        # a tape records the gradient computation itself, or an accumulator pushes tangents
        # through it (forward over reverse)
        create = _builtins.bool(_TAPES) or _builtins.bool(_ACCUMULATORS)
        outputs, seeds, tokens = [], [], set()
        for tgt, head in zip(targets, heads):
            if not isinstance(tgt, _TensorLike):
                raise TypeError("Argument `target` should be a list or nested structure of "
                                "Tensors, Variables or CompositeTensors to be differentiated, "
                                f"but received {tgt!r}.")
            value = tgt._value
            for token, v in tgt._overrides:
                if token is self._token:
                    value = v
            if self._token not in _tokens_of(tgt) or not value.requires_grad:
                continue  # not recorded by this tape: unconnected
            outputs.append(value)
            seeds.append(_seed(value, head))
            tokens.update(_tokens_of(tgt))
        inputs, owners = [], []
        for i, src in enumerate(sources):
            for token, v in src._overrides:
                if token is self._token and not any(v is w for w in inputs):
                    inputs.append(v)
                    owners.append(i)
        grads: list = [None] * len(sources)
        if not outputs or not inputs:
            return grads
        with _np.errstate(all="ignore"), _grad_mode(create):
            got = _cr.autograd.grad(outputs, inputs, grad_outputs=seeds, retain_graph=True,
                                    create_graph=create, allow_unused=True)
            for i, g in zip(owners, got):
                if g is not None:
                    grads[i] = g if grads[i] is None else grads[i] + g
        recorded = tokens.intersection(_recording())
        return [None if g is None else (g, recorded) for g in grads]

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor: _builtins.bool = True):
        """The Jacobian of ``target`` with respect to each source: shape
        ``target.shape + source.shape``."""
        if not experimental_use_pfor and not self._persistent:
            raise RuntimeError("GradientTape must be created with persistent=True to compute the "
                               "jacobian with eager execution enabled and with  "
                               "experimental_use_pfor set to False.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            flat, structure = _pytree.flatten(sources)
            jacs = self._jacobians(target, flat)
            result = [_finish(j, src, unconnected, tuple(target.shape))
                      for j, src in zip(jacs, flat)]
        finally:
            self._end()
        if isinstance(sources, (list, tuple, dict)):
            return _pytree.unflatten(structure, result)
        return result[0]

    def _jacobians(self, target, sources: list) -> list:
        out_shape = tuple(target.shape)
        n = int(_np.prod(out_shape, dtype=_np.int64))
        rows: list = [[] for _ in sources]
        tokens: set = set()
        dtype = target.dtype.as_numpy_dtype
        for k in _builtins.range(n):
            onehot = _np.zeros(n, dtype)
            onehot[k] = 1
            head = Tensor(_cr.as_tensor(onehot.reshape(out_shape)))
            for i, g in enumerate(self._grads([target], [head], sources)):
                rows[i].append(g)
        result: list = []
        for src, src_rows in zip(sources, rows):
            if all(r is None for r in src_rows):
                result.append(None)
                continue
            zeros = _np.zeros(tuple(src.shape), src.dtype.as_numpy_dtype)
            with _grad_mode(_builtins.bool(_TAPES) or _builtins.bool(_ACCUMULATORS)):
                parts = [_cr.as_tensor(zeros) if r is None else r[0] for r in src_rows]
                for r in src_rows:
                    if r is not None:
                        tokens.update(r[1])
                jac = (_cr.stack(parts) if parts else _cr.as_tensor(zeros[None][:0]))
                jac = jac.reshape(out_shape + tuple(src.shape))
            result.append((jac, tokens))
        return result

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor: _builtins.bool = True):
        """Per-example Jacobians: ``result[b] = d target[b] / d source[b]``, of shape
        ``[batch] + target.shape[1:] + source.shape[1:]``."""
        if not experimental_use_pfor and not self._persistent:
            raise RuntimeError("GradientTape must be created with persistent=True to compute the "
                               "batch_jacobian with eager execution enabled and with  "
                               "experimental_use_pfor set to False.")
        t_shape, s_shape = tuple(target.shape), tuple(source.shape)
        if not t_shape or not s_shape or t_shape[0] != s_shape[0]:
            raise ValueError("Need first dimension of `target` shape "
                             f"({TensorShape(t_shape)}) and `source` shape "
                             f"({TensorShape(s_shape)}) to match.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            (jac,) = self._jacobians(target, [source])
            if jac is not None:
                full, tokens = jac
                batch = t_shape[0]
                with _grad_mode(_builtins.bool(_TAPES)):
                    flat = full.reshape((batch, -1, batch, max(1, int(_np.prod(s_shape[1:])))))
                    diag = _cr.stack([flat[b, :, b, :] for b in _builtins.range(batch)])
                    diag = diag.reshape(t_shape + s_shape[1:])
                jac = (diag, tokens)
            result = _finish(jac, source, unconnected, t_shape, s_shape[1:])
        finally:
            self._end()
        return result


def _seed(value, head):
    if head is None:
        return _cr.as_tensor(_np.ones(value.shape, value.dtype))
    head = head if isinstance(head, _TensorLike) else constant(head)
    h = _read(head, _live())
    if tuple(h.shape) != tuple(value.shape):
        try:
            _np.broadcast_shapes(tuple(h.shape), tuple(value.shape))
        except ValueError:
            raise InvalidArgumentError(
                None, None, f"Incompatible shapes: {_dims(h.shape)} vs. {_dims(value.shape)} "
                "[Op:Mul]") from None
        h = _cr.broadcast_to(h, tuple(value.shape))
    return h if h.dtype == value.dtype else h.to(value.dtype)


def _finish(got, source, unconnected: UnconnectedGradients, out_shape=(), src_shape=None):
    """A gradient (or Jacobian) as a TF tensor, or None/zeros when unconnected."""
    if got is None:
        if unconnected is UnconnectedGradients.ZERO:
            shape = tuple(out_shape) + tuple(source.shape if src_shape is None else src_shape)
            return constant(_np.zeros(shape, source.dtype.as_numpy_dtype))
        return None
    value, tokens = got
    return _result(value, tokens)
