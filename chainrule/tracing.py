"""Where ``chainrule.compile``'s tracer hears of what a primitive call does not show it.

While ``compile`` traces a function (``chainrule/compiler/trace.py``), every primitive call goes
to the tracer through the engine's dispatch hook.  Other things matter to it and happen
outside primitives; the places where they happen tell this module, which knows nothing else
(it sits below ``tensor.py`` and imports nothing from chainrule):

* an update written straight into a tensor's array (``p -= lr * g`` under ``no_grad``):
  written down, so that a replay writes it too;
* a backward pass: its rules run on tensors, so that their primitive calls are written down
  (``autograd.grad``, ``func.grad``); one that writes ``.grad`` (``backward()``), runs a
  gradient hook, or goes through operations recorded before the call, cannot be replayed;
* a tensor that shares another's storage (``detach()``, ``.data``, a NumPy scalar made an
  array): the same value;
* a tensor made from Python values (``zeros``, ``tensor(...)``): made again by each eager call;
* a tensor sharing a NumPy array's storage (``from_numpy``, ``as_tensor``): the array may
  change during the call, after an operation read it;
* a tensor's value read by Python (``bool(t)``, ``t.item()``, ``float(t)``, ``int(t)``,
  ``t.tolist()``): a branch the trace must guard on, since a later call may take the other;
* a tensor's storage handed out (``t.numpy()``, ``np.asarray(t)``): what is done with it is
  invisible, so the function cannot be replayed;
* a random draw: a replay would repeat the trace's numbers;
* a Module called: a replay must check that it is still in the same state (``training``, its
  parameters, buffers, submodules and forward hooks); one changed inside the function
  (``model.train()``, ``self.x = ...``) is a side effect a replay would not repeat.

Each costs one list read when no trace is open.
"""

from __future__ import annotations

active: list = [None]
"""The open tracer (``chainrule.compiler.trace.Tracer``), or None."""


def value_read(tensor, kind: str, value) -> None:
    """Python read ``tensor``'s value (``kind``: "bool", "item", "float", ...) as ``value``."""
    tracer = active[0]
    if tracer is not None:
        tracer.value_read(tensor, kind, value)


def escaped(what: str) -> None:
    """A tensor's storage left chainrule (``what``: the call that handed it out)."""
    tracer = active[0]
    if tracer is not None:
        tracer.breaks(what)


def updated_in_place(tensor, ufunc, other) -> None:
    """``ufunc(tensor, other, out=tensor)`` was just written into ``tensor``'s array."""
    tracer = active[0]
    if tracer is not None:
        tracer.updated_in_place(tensor, ufunc, other)


def backward_on_tensors(accumulate: bool, root_nodes, create_graph: bool = False) -> bool:
    """A backward pass from ``root_nodes`` starts: must its rules run on tensors, so that the
    open trace writes them down?  One that accumulates into ``.grad``, or reaches nodes
    recorded before the call, breaks the trace instead.  (With ``create_graph`` they run on
    tensors, recorded, anyway: the trace only hears that the function takes gradients.)"""
    tracer = active[0]
    if tracer is None:
        return False
    if create_graph:
        tracer.takes_gradients()
        return False
    return tracer.backward_starts(accumulate, root_nodes)


def detached(source, tensor, shares_version: bool = True) -> None:
    """``tensor`` is ``source.detach()`` (``shares_version``) or ``source.data``: the same
    storage."""
    tracer = active[0]
    if tracer is not None:
        tracer.detached(source, tensor, shares_version)


def array_made(old, new) -> None:
    """A tensor's NumPy scalar ``old`` became the 0-d array ``new`` (to share its storage)."""
    tracer = active[0]
    if tracer is not None:
        tracer.array_made(old, new)


def made(tensor) -> None:
    """``tensor`` was made from Python values or NumPy's (``zeros``, ``tensor(...)``)."""
    tracer = active[0]
    if tracer is not None:
        tracer.tensor_made(tensor)


def array_shared(tensor) -> None:
    """``tensor`` shares the storage of a NumPy array the caller holds (``from_numpy``,
    ``as_tensor``)."""
    tracer = active[0]
    if tracer is not None:
        tracer.array_shared(tensor)


def leaf_made(tensor) -> None:
    """``tensor`` became a leaf that requires grad (made, or ``requires_grad_()``)."""
    tracer = active[0]
    if tracer is not None:
        tracer.leaf_made(tensor)


def module_used(module) -> None:
    """``module`` (an ``nn.Module``) is called, or about to be reparametrized
    (``functional_call``): the trace depends on its state as it is before that."""
    tracer = active[0]
    if tracer is not None:
        tracer.module_used(module)


def module_made(module) -> None:
    """``module`` was made during the call: the function's own, set up freely."""
    tracer = active[0]
    if tracer is not None:
        tracer.module_made(module)


def module_set(module, what: str) -> None:
    """An attribute of ``module`` is set or deleted (``what``, naming it)."""
    tracer = active[0]
    if tracer is not None:
        tracer.module_set(module, what)
