"""PyTorch's ``torch.autograd.Function``: primitives written by the user.

>>> import chainrule as cr
>>> from chainrule.autograd.function import Function
>>> class Exp(Function):
...     @staticmethod
...     def forward(ctx, x):
...         y = x.exp()
...         ctx.save_for_backward(y)
...         return y
...     @staticmethod
...     def backward(ctx, grad_output):
...         (y,) = ctx.saved_tensors
...         return grad_output * y
>>> x = cr.tensor([0.0, 1.0], requires_grad=True)
>>> y = Exp.apply(x)
>>> y
tensor([1.0000, 2.7183], grad_fn=<ExpBackward>)
>>> y.sum().backward()
>>> x.grad
tensor([1.0000, 2.7183])

How it works
------------
Each subclass gets one :class:`~chainrule.engine.Primitive` (not in ``rules.REGISTRY``: that
table holds the built-in operations), so the engine records and walks a Function like any other
operation.  The per-call state lives in the ``ctx`` (a :class:`FunctionCtx`), which the
primitive receives as its one keyword parameter, so the node keeps it for the backward pass:

* ``apply`` runs ``forward`` under ``no_grad`` on detached copies of the Tensor arguments
  (sharing storage and version counters; no history, no forward-mode tangents), then calls the
  primitive with the original arguments, whose impl hands back that result.  (Running forward
  before the primitive keeps exceptions raised in ``forward`` unchanged: ``Primitive.__call__``
  rewrites ValueError/TypeError/IndexError raised by an impl.)  Non-Tensor arguments pass
  through to ``forward`` and get no gradient.
* The primitive's VJP is one variadic rule ``rule(i, g, ans, *args, ctx)``.  It calls the
  user's ``backward`` once per backward pass (the result is kept until the other inputs' rules
  have taken theirs), checks what it returned, and gives the engine gradient ``i`` (which the
  engine sums to the input's shape and casts to its dtype, as for every rule).  Like the
  built-in rules it returns arrays in a plain pass and Tensors when the engine hands it
  Tensors: with ``create_graph=True`` (recorded) and in forward-over-reverse (``func.hvp``,
  ``func.hessian``: the tangents of the saved values flow through the user's backward).
* The primitive's JVP is a function that calls the user's ``jvp`` with one tangent per argument
  of forward: zeros for a Tensor without a tangent, None for a non-Tensor argument.

Saved tensors
-------------
``ctx.saved_tensors`` gives back, for a saved *input*, the tensor passed to ``apply`` (with its
history, so that with ``create_graph=True`` a backward written with chainrule operations is
differentiated again); for the saved *output*, the output of ``apply`` (likewise connected to
the graph); for anything else (an intermediate), the tensor itself, as a constant (as in
PyTorch, differentiate through an intermediate by returning it as an output instead).

In-place changes are caught as for the built-in operations: reading a saved input or
intermediate whose version counter moved since ``forward`` returned raises PyTorch's "modified
by an inplace operation" error, and so does backward through the Function after its output was
changed in place, when the output was saved (the engine checks it, through the node's saved
result).  A tensor that was not saved may be changed freely.

The node keeps the result only when something was saved: then a second backward through it
without ``retain_graph=True`` raises PyTorch's "backward through the graph a second time" error,
and so does reading ``ctx.saved_tensors`` after that.  A Function that saves nothing may be
backpropagated through any number of times (PyTorch's rule, B23).  The saved tensors themselves
are released with the graph.

Differences from PyTorch
------------------------
* Single output only: ``forward`` must return one Tensor (a tuple raises NotImplementedError).
  An integer or boolean output, or one passed to ``ctx.mark_non_differentiable``, is returned
  without history and without tangent.
* The output never shares memory with an input or a saved tensor: an output that would (e.g.
  ``return x`` or a view of ``x``) is copied.  ``ctx.mark_dirty`` (in-place forward) is not
  supported.
* Inside ``forward`` the inputs are detached (``requires_grad`` is False); use
  ``ctx.needs_input_grad``.
* ``grad_output`` is read-only in a plain backward pass: compute new tensors from it.
* ``apply`` also accepts keyword arguments for forward's positional parameters (with
  ``setup_context``, PyTorch's rule: forward's default values count as arguments too, and
  ``backward`` returns a gradient for each).
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref

import numpy as np

from chainrule import engine, tracing
from chainrule.engine import BACKWARD_TWICE, FREED, Primitive, grad_mode
from chainrule.grad_mode import no_grad
from chainrule.hooks import to_pytorch_convention
from chainrule.tensor import Tensor, wrap
from chainrule.tensor_base import DIFFERENTIABLE_DTYPES

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` that ``forward``, ``backward`` and ``jvp`` receive; any attribute may be set.

    ``needs_input_grad`` is a tuple with one bool per argument of forward: whether the
    gradient of that argument will be asked for.
    """

    def __init__(self) -> None:
        self.needs_input_grad: tuple = ()
        self._function = None  # the Function subclass
        self._inputs: tuple = ()  # per argument of forward: (shape, dtype) of a Tensor, or None
        self._to_save: tuple = ()  # what forward passed to save_for_backward
        self._to_save_fw = None  # ... and to save_for_forward
        self._saved = None  # the saved tensors resolved when forward returned (see _resolve)
        self._saved_fw = None
        self._non_differentiable: tuple = ()
        self._result = None  # the output's array, while the primitive records it
        self._view = None  # while backward or jvp runs: where saved inputs and output come from
        self._node_ref = None  # weak reference to the recorded node (no reference cycle)

    # ---------------------------------------------------------------------------------------
    # what forward may call

    def save_for_backward(self, *tensors) -> None:
        """Save tensors (or None) for ``backward``; read them back with ``saved_tensors``."""
        _check_savable("save_for_backward", tensors)
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Save tensors for ``jvp``: there ``saved_tensors`` gives these instead."""
        _check_savable("save_for_forward", tensors)
        self._to_save_fw = tensors

    def mark_non_differentiable(self, *outputs) -> None:
        """Declare the output not differentiable: it is returned without history."""
        self._non_differentiable = outputs

    def mark_dirty(self, *tensors) -> None:
        """Not supported: a Function's forward must not change its inputs in place."""
        raise NotImplementedError(
            "chainrule's autograd.Function does not support in-place changes of inputs in "
            "forward (ctx.mark_dirty): return a new tensor instead"
        )

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch compatibility: with a single output, ``grad_output`` is never
        None, so there is nothing to materialize (``value`` is ignored)."""

    # ---------------------------------------------------------------------------------------
    # what backward and jvp read

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward`` (see the module docstring)."""
        if self._saved is None:  # still inside forward
            return tuple(self._to_save)
        view = self._view
        if view is not None and view[0] == "jvp" and self._saved_fw is not None:
            return tuple(self._unpack(e, view) for e in self._saved_fw)
        if view is None and self._saved:
            if self._node_ref is None:
                raise RuntimeError(f"{self._function.__name__}: saved tensors are read in "
                                   "backward or jvp; this call was not recorded (no input "
                                   "requires grad, or grad mode was off)")
            node = self._node_ref()
            if node is None or node.ans is FREED:
                raise RuntimeError(BACKWARD_TWICE)
        return tuple(self._unpack(e, view) for e in self._saved)

    def _name(self) -> str:
        return self._function.__name__ + "Backward"

    def _unpack(self, entry, view):
        if entry is None:
            return None
        kind = entry[0]
        if view is not None and view[0] == "jvp":  # forward mode: the primals of this call
            if kind == "input":
                return _as_tensor(view[1][entry[1]])
            if kind == "output":
                return _as_tensor(view[2])
            return entry[1]
        if kind == "output":
            if view is not None:
                return _as_tensor(view[2])
            node = self._node_ref()
            return wrap(_read_only(node.ans), node)
        tensor, counter, version = entry[-3:]
        if counter[0] != version:
            where = ("a leaf" if tensor._node is None
                     else f"which is output 0 of {tensor._node.name()}")
            if kind == "other":
                where = f"a tensor saved by {self._function.__name__}.forward"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{tensor.dtype} tensor of shape {tuple(tensor.shape)}], "
                f"{where}, is at version {counter[0]}; expected version {version} instead. "
                f"Hint: {self._name()} saved this tensor with ctx.save_for_backward and it was "
                "changed in place afterwards; use an out-of-place operation (y = y * 2 rather "
                "than y.mul_(2)) or .clone() the tensor before changing it."
            )
        return tensor

    # ---------------------------------------------------------------------------------------
    # called by apply and by the primitive's rules

    def _resolve(self, tensors, out, args, detached) -> list:
        """Say where each saved tensor will come from: an input, the output, or itself."""
        entries = []
        for t in tensors:
            if t is None:
                entries.append(None)
                continue
            k = next((k for k, (a, d) in enumerate(zip(args, detached))
                      if isinstance(a, Tensor) and (t is d or t is a)), None)
            if k is not None:
                original = args[k]
                entries.append(("input", k, original, original._vc, original._vc[0]))
            elif t is out:
                entries.append(("output",))
            else:
                if t._vc is None:
                    t._vc = [0]  # so that a later in-place change is seen
                entries.append(("other", t, t._vc, t._vc[0]))
        return entries

    def _backward(self, g, ans) -> list:
        """Call the user's backward and check its result: one entry per argument of forward."""
        cls = self._function
        backward = _overridden(cls, "backward") or _overridden(cls, "vjp")
        if backward is None:
            raise NotImplementedError(
                "You must implement either the backward or vjp method for your custom "
                f"autograd.Function ({cls.__name__}) to use it with backward mode AD."
            )
        # The engine hands Tensors to the rules when they must return Tensors: with
        # create_graph (recorded) and in forward-over-reverse (tangents flow through them).
        on_tensors = isinstance(g, Tensor)
        # the user's backward sees and returns PyTorch's convention for complex gradients
        g = to_pytorch_convention(g)
        grad_output = g if on_tensors else wrap(_read_only(g))
        self._view = ("backward", None, ans)
        try:
            result = backward(self, grad_output)
        finally:
            self._view = None
        name = self._name()
        n = len(self._inputs)
        if not isinstance(result, (tuple, list)):
            result = (result,)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(
                    f"function {name} returned an incorrect number of gradients (expected {n}, "
                    f"got {len(result)}): backward must return one gradient (or None) per "
                    "argument of forward"
                )
        grads = []
        for k, (r, meta, needed) in enumerate(zip(result, self._inputs, self.needs_input_grad)):
            if r is None:
                grads.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{k + 1}, but the corresponding forward input was not a Tensor (return "
                    "None for it)"
                )
            if not isinstance(r, Tensor):
                raise TypeError(f"function {name} returned an invalid gradient at index {k} - "
                                f"expected a Tensor or None, but got {type(r).__name__}")
            if not needed:
                grads.append(None)  # as PyTorch: not asked for, not checked
                continue
            if not _expandable(meta[0], r.shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {k} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(meta[0])}"
                )
            # A plain pass takes arrays.  A view is never "fresh" to the engine, so it never
            # adds into an array the user's backward may still hold (a saved tensor, an input).
            r = to_pytorch_convention(r)
            raw = r._data
            grads.append(r if on_tensors else (raw.view() if type(raw) is np.ndarray else raw))
        return grads

    def _jvp(self, ts, ans, args):
        cls = self._function
        jvp = _overridden(cls, "jvp")
        if jvp is None:
            raise NotImplementedError(
                f"Trying to use forward AD with {cls.__name__} that does not support it: "
                f"{cls.__name__} defines no jvp. Implement the staticmethod "
                "jvp(ctx, *tangents) (one tangent per argument of forward; save in forward what "
                "it needs) to use it in forward mode."
            )
        tangents = []
        for t, meta in zip(ts, self._inputs):
            if meta is None:
                tangents.append(None)
            elif t is None:
                tangents.append(wrap(np.zeros(meta[0], meta[1])))
            else:
                tangents.append(_as_tensor(t))
        self._view = ("jvp", args, ans)
        try:
            result = jvp(self, *tangents)
        finally:
            self._view = None
        if isinstance(result, (tuple, list)) and len(result) == 1:
            result = result[0]
        if result is None:
            return None
        if not isinstance(result, Tensor):
            raise TypeError(f"{cls.__name__}.jvp must return a Tensor (the output's tangent) or "
                            f"None, but it returned {type(result).__name__}")
        shape = np.shape(ans._data if isinstance(ans, Tensor) else ans)
        if result.shape != shape:
            raise RuntimeError(
                f"{cls.__name__}.jvp returned a tangent that has a different size than that of "
                f"the original Tensor (the output): got {list(result.shape)} but expected "
                f"{list(shape)}"
            )
        return result


def _check_savable(caller: str, tensors) -> None:
    for k, t in enumerate(tensors):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{caller} can only save tensors, but argument {k} is of type "
                            f"{type(t).__name__}; save other values as attributes of ctx")


def _overridden(cls, name: str):
    """``cls``'s own ``forward``/``backward``/... if it overrides Function's, else None."""
    method = getattr(cls, name)
    return None if method is getattr(Function, name) else method


def _expandable(shape, target) -> bool:
    """Can ``shape`` broadcast to ``target`` (so a gradient of ``target`` sums down to it)?"""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


def _read_only(a):
    if type(a) is np.ndarray and a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def _as_tensor(a) -> Tensor:
    return a if isinstance(a, Tensor) else wrap(_read_only(a))


# -----------------------------------------------------------------------------------------------
# The primitive's three functions: they read everything from ctx.


def _impl(*raw, ctx):
    return ctx._result  # computed by apply: see the module docstring


class _LastBackward(threading.local):
    """The gradients of the last Function whose backward ran, until all its inputs took theirs:
    ``[ctx, g, create_graph, inplace count, grads, indices taken]``.  Kept here rather than on
    ctx, which would make a cycle (ctx -> grads -> their graph -> node -> ctx) with
    ``create_graph=True``."""

    entry = None


_last = _LastBackward()


def _vjp(i, g, ans, *args, ctx):
    entry = _last.entry
    # the engine asks for each input's gradient in turn, with the same g: a new g, mode, an
    # in-place change since, or an input asked again means a new backward pass
    if (entry is None or entry[0] is not ctx or entry[1] is not g
            or entry[2] != grad_mode.enabled or entry[3] != engine.inplace_count[0]
            or i in entry[5]):
        grads = ctx._backward(g, ans)
        entry = _last.entry = [ctx, g, grad_mode.enabled, engine.inplace_count[0], grads, set()]
    entry[5].add(i)
    if len(entry[5]) >= sum(ctx.needs_input_grad):
        _last.entry = None
    return entry[4][i]


def _jvp(ts, ans, *args, ctx):
    return ctx._jvp(ts, ans, args)


# -----------------------------------------------------------------------------------------------
# Function


class Function:
    """Base class of differentiable operations written by the user (``torch.autograd.Function``).

    Define the staticmethods ``forward(ctx, *args)`` (returning one Tensor), ``backward(ctx,
    grad_output)`` (returning one gradient, or None, per argument of forward) and optionally
    ``jvp(ctx, *tangents)`` for forward mode; run it with ``MyFunction.apply(*args)``.  The
    PyTorch 2 style, ``forward(*args)`` without ctx plus ``setup_context(ctx, inputs, output)``,
    works too.  See the module docstring for the details.
    """

    _primitive: Primitive

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._primitive = Primitive(cls.__name__, _impl, _vjp, save_inputs=False,
                                   save_ans=True, view=False, variadic=True, jvp=_jvp,
                                   node_name=cls.__name__ + "Backward")  # PyTorch's name
        forward = cls.__dict__.get("forward")
        if isinstance(forward, staticmethod):
            forward = forward.__func__
        if callable(forward) and _overridden(cls, "setup_context") is None:
            cls.forward = staticmethod(_guard_forward(cls.__name__, forward))

    def __call__(self, *args, **kwargs):
        name = type(self).__name__
        raise RuntimeError(f"{name} is not called as an object: use {name}.apply(...) (Legacy "
                           "autograd function with non-static forward method is deprecated.)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """Compute the output from the arguments (Tensors arrive detached); runs under no_grad."""
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2 style: save what backward needs, given forward's inputs and output."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """Return the gradient (or None) for each argument of forward, given the output's."""
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    @staticmethod
    def vjp(ctx, *grad_outputs):
        """Another name for backward (define one of them)."""
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward mode: return the output's tangent, given one tangent per argument of forward."""
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the Function on ``args`` and record it (when an input requires grad)."""
        if cls is Function:
            raise RuntimeError("apply is called on a subclass of Function that defines forward")
        if tracing.active[0] is not None:  # compile: the primitive hands back forward's array
            tracing.escaped(f"a custom autograd.Function ({cls.__name__}.apply: its primitive "
                            "returns the array its forward computed, which a replay would not "
                            "compute again)")
        setup_context = _overridden(cls, "setup_context")
        if setup_context is not None:  # as PyTorch: forward's defaults count as arguments
            args = _positional(cls, args, kwargs, with_ctx=False, defaults=True)
        elif kwargs:
            args = _positional(cls, args, kwargs, with_ctx=True, defaults=False)
        ctx = FunctionCtx()
        ctx._function = cls
        enabled = grad_mode.enabled
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg and enabled for a in args)
        ctx._inputs = tuple((a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args)
        detached: dict = {}
        inputs = []
        for a in args:
            if isinstance(a, Tensor):
                if id(a) not in detached:
                    detached[id(a)] = a.detach()  # shares storage and version counter
                a = detached[id(a)]
            inputs.append(a)
        with no_grad():
            if setup_context is None:
                out = cls.forward(ctx, *inputs)
            else:
                out = cls.forward(*inputs)
                setup_context(ctx, args, out)
        raw = _check_output(cls, out, args, ctx._to_save)
        ctx._saved = ctx._resolve(ctx._to_save, out, args, inputs)
        if ctx._to_save_fw is not None:
            ctx._saved_fw = ctx._resolve(ctx._to_save_fw, out, args, inputs)
        ctx._to_save, ctx._to_save_fw = (), None
        if (any(t is out for t in ctx._non_differentiable)
                or np.asarray(raw).dtype not in DIFFERENTIABLE_DTYPES):
            return wrap(raw)  # no history, no tangent
        ctx._result = raw
        try:
            result = cls._primitive(*args, ctx=ctx)
        finally:
            ctx._result = None
            ctx._saved_fw = None
        if not isinstance(result, Tensor):  # no Tensor among the arguments: plain values
            return wrap(result)
        node = result._node
        if node is not None:
            ctx._node_ref = weakref.ref(node)
            if not any(e is not None and e[0] == "output" for e in ctx._saved):
                node.ans_counter = None  # the output may change in place: it was not saved
            if not ctx._saved:
                node.ans = None  # nothing to free: backward may run again (PyTorch's B23)
        return result


def _guard_forward(name: str, forward):
    """``forward`` that tells a user calling it directly to use ``apply``."""

    @functools.wraps(forward)
    def guarded(ctx, *args, **kwargs):
        if not isinstance(ctx, FunctionCtx):
            raise RuntimeError(f"{name}.forward is not called directly: use {name}.apply(...), "
                               "which creates ctx, runs forward and records the operation")
        return forward(ctx, *args, **kwargs)

    return guarded


def _positional(cls, args, kwargs, with_ctx: bool, defaults: bool) -> tuple:
    """``args`` and ``kwargs`` as forward's positional arguments (one gradient each)."""
    forward = inspect.unwrap(cls.forward)
    try:
        bound = inspect.signature(forward).bind(*((None,) if with_ctx else ()), *args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{cls.__name__}.apply: {err}") from None
    if defaults:
        bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: keyword-only arguments of forward are not "
                        f"supported ({', '.join(bound.kwargs)}); pass them positionally")
    return bound.args[1:] if with_ctx else bound.args


def _check_output(cls, out, args, saved):
    """The raw array of forward's output, copied if it shares memory with an input or a saved
    tensor (outputs are never views in chainrule's Functions)."""
    name = cls.__name__
    if isinstance(out, (tuple, list)):
        raise NotImplementedError(
            f"{name}.forward returned a {type(out).__name__} of {len(out)} values: chainrule's "
            "autograd.Function supports a single output Tensor. Return one Tensor (write one "
            "Function per output, or concatenate the outputs and split them afterwards)."
        )
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}.forward must return a Tensor, but it returned "
                        f"{type(out).__name__}; wrap the result with chainrule.tensor(...)")
    raw = out._data
    if type(raw) is np.ndarray:
        others = [a._data for a in args if isinstance(a, Tensor)]
        others += [t._data for t in saved if isinstance(t, Tensor) and t is not out]
        if any(np.may_share_memory(raw, o) for o in others):
            raw = raw.copy()
    return raw
