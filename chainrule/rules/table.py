"""How a primitive is declared: :func:`primitive`, the :data:`REGISTRY` it joins, and the small
helpers every family of rules shares.  The manual for writing an entry is the docstring of the
package (``chainrule/rules/__init__.py``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from chainrule import tracing
from chainrule.engine import Primitive, grad_mode
from chainrule.tensor_base import TensorBase

BATCH_KINDS = ("elementwise", "reduction", "axis", "shape", "core")
"""The kinds of batching rule a primitive may declare (``batch=``); ``chainrule/batching.py``
derives the rule of each."""

REGISTRY: dict[str, Primitive] = {}
"""Every primitive of the table, by the public name the user calls (``"matmul"``,
``"linalg.inv"``)."""


# NumPy 1.x promotes 0-d values (NumPy scalars, 0-d arrays) by value: np.float32(2) * 2 is
# float64 there and a float32 array times a 0-d float64 is float32; NumPy 2 (NEP 50) gives
# float32 and float64.  On NumPy 1.x, the elementwise operations that combine operands or use
# Python constants therefore see their 0-d operands as 1-element arrays, which NumPy 1.x
# promotes by dtype as NumPy 2 does.  On NumPy 2 ``numpy2_promotion`` returns ``func`` itself.
LEGACY_PROMOTION = np.lib.NumpyVersion(np.__version__) < "2.0.0"


def numpy2_promotion(func: Callable) -> Callable:
    """``func`` (elementwise) with NumPy 2's promotion of 0-d operands, also on NumPy 1.x."""
    if not LEGACY_PROMOTION:
        return func

    @functools.wraps(func)
    def run(*args, **params):
        lifted, all_0d, new = False, True, []
        for a in args:
            ndim = getattr(a, "ndim", None)  # None: a Python number, None, or a sequence
            if ndim == 0:
                a, lifted = a.reshape(1), True
            elif ndim is not None or isinstance(a, (list, tuple)):
                all_0d = False
            new.append(a)
        if not lifted:
            return func(*args, **params)
        ans = func(*new, **params)
        return ans[0] if all_0d else ans

    return run


class Scratch:
    """The base of a parameter that a primitive's forward pass fills with values it computes
    on the way, for its rules (and its caller): a normalisation's moments, a recurrent scan's
    activations.  A primitive records one result; this is how the others of the same call
    reach its backward pass without being computed again.  Each call has its own, made empty
    (the class called with no arguments): ``chainrule.compile``'s plan makes a new one at each
    replay and hands it to that call's backward pass with the values it saved.  A rule given
    an empty one, or None, computes what it needs from its inputs."""

    __slots__ = ()

    def take(self, other: Scratch) -> None:
        """Hold what ``other``, one of this class (a forward pass's result), holds."""
        for name in type(self).__slots__:
            setattr(self, name, getattr(other, name))


def primitive(name: str, impl: Callable, vjp, *, jvp, grad_fn: str, save_inputs: bool = False,
              save_ans: bool = False, view: bool = False, reads=None, promote: bool = False,
              symbol: str | None = None, batch=None) -> Primitive:
    """Declare a primitive and add it to :data:`REGISTRY` (see the package's docstring).

    ``name`` is the public name the user calls (errors say ``chainrule.<name>``), ``grad_fn``
    PyTorch's name of the node it records.  ``reads`` optionally says, for each input's rule,
    which inputs' values it reads (so that changing an input in place is an error only where
    its value is needed).  ``promote`` gives the forward NumPy 2's promotion of 0-d operands on
    NumPy 1.x too; ``symbol`` is the operator that also calls it (``"@"``), for error messages.
    ``batch`` says how vmap batches it: one of :data:`BATCH_KINDS`, or a rule
    ``rule(prim, values, batched, size, **params)`` (see ``chainrule/batching.py``).
    """
    if not (batch is None or callable(batch) or batch in BATCH_KINDS):
        raise ValueError(f"primitive {name!r}: batch must be one of {BATCH_KINDS} or a function")
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is declared twice")
    if promote:
        impl = numpy2_promotion(impl)
    prim = Primitive(name, impl, vjp, save_inputs=save_inputs, save_ans=save_ans, view=view,
                     variadic=callable(vjp), reads=reads, jvp=jvp, node_name=grad_fn,
                     symbol=symbol, batch=batch)
    REGISTRY[name] = prim
    return prim


def derivative(factor) -> Callable:
    """The VJP rule ``g * factor(ans, x, ...)``, declared by the derivative ``factor`` alone.

    ``exp``'s rule is ``derivative(lambda ans, x: ans)``: d exp(x) = exp(x) dx.  ``factor``
    may also be a one-input elementwise primitive, applied to the input: ``sin``'s rule is
    ``derivative(cos)``, d sin(x) = cos(x) dx.  The rule reads like calculus; the engine knows
    it is a product with ``g`` (``rule.factor``, and ``rule.applied`` for the second form), so
    on large arrays it chooses where the derivative and the product are written
    (``chainrule/buffers.py``): the rule never allocates for them.
    """
    applied = factor if isinstance(factor, Primitive) else None
    if applied is not None:
        def factor(ans, x):
            return applied(x)

    # the rules of one and two inputs, written out: packing *args costs a small graph's
    # backward pass several percent
    inputs = len(inspect.signature(factor).parameters) - 1
    if inputs == 1:
        def rule(g, ans, x):
            return g * factor(ans, x)
    elif inputs == 2:
        def rule(g, ans, x, y):
            return g * factor(ans, x, y)
    else:
        def rule(g, ans, *args, **params):
            return g * factor(ans, *args, **params)

    rule.factor = factor
    rule.applied = applied
    return rule


def raw(a):
    """The array behind a Tensor, for decisions that depend on values (never differentiated).

    A value batched by vmap has no array of one example to give: it stays a tensor (without
    history), so that masks made from it are per example; a rule that must read values (a
    NumPy decomposition, a decision for the whole call) tests :func:`batched` first."""
    if isinstance(a, TensorBase):
        if tracing.active[0] is not None:  # compile: a decision the trace could not replay
            tracing.escaped("a decision on a tensor's values outside chainrule's primitives "
                            "(sort, max along a dim ...)")
        return a._data if not a._batched else a.detach()
    return a


def run(prim, *values, **params):
    """``prim`` on values that may all be raw arrays (a batching rule's, on the unwrapped
    stack): NumPy's function itself then (the engine would only find that out), else the
    primitive (recorded for an enclosing ``grad``, or batched at an enclosing vmap level)."""
    for v in values:
        if isinstance(v, TensorBase):
            return prim(*values, **params)
    return prim.impl(*values, **params)


def per_example(func, a):
    """NumPy's ``func`` of the values of ``a``, without gradient (a sign, a mask): for a value
    batched by vmap, of each example's (``func`` takes a stack of them, as NumPy's linalg and
    ufuncs do)."""
    if isinstance(a, TensorBase) and a._batched:
        return a._without_gradient(func, (a,), {})
    return func(raw(a))


def batched(a) -> bool:
    """Is ``a`` a value batched by vmap (one value per example, not readable as one array)?"""
    return isinstance(a, TensorBase) and a._batched


def written_down_only(*values) -> bool:
    """Whether a rule runs on the tensors ``values`` only so that a trace of ``compile`` writes
    it down: in a backward pass without ``create_graph`` (grad mode off) inside the trace, on
    values that vmap does not batch and that carry no tangents.  Nothing differentiates what
    the rule computes then, so it may compute in NumPy as one op without gradient
    (``arguments.no_gradient``) where its recorded form takes many (a recurrent scan's pass
    back through time: ``written_down`` in ``recurrent.py``)."""
    if tracing.active[0] is None or grad_mode.enabled or not on_tensors(*values):
        return False  # (on arrays: a backward pass the trace does not write down, as it breaks)
    return not any(isinstance(v, TensorBase) and (v._batched or v._tangents is not None)
                   for v in values)


def on_tensors(*values) -> bool:
    """Whether any of ``values`` is a Tensor: a rule then runs recorded (``create_graph``) or
    carrying tangents, and must use table primitives; else it may use NumPy directly."""
    return any(isinstance(a, TensorBase) for a in values)
