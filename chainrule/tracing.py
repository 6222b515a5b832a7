"""Where ``chainrule.compile``'s tracer hears of what a primitive call does not show it.

While ``compile`` traces a function (``chainrule/compiler/trace.py``), every primitive call goes
to the tracer through the engine's dispatch hook.  Three other things matter to it and happen
outside primitives; the places where they happen tell this module, which knows nothing else
(it sits below ``tensor.py`` and imports nothing from chainrule):

* a tensor's value read by Python (``bool(t)``, ``t.item()``, ``float(t)``, ``int(t)``,
  ``t.tolist()``): a branch the trace must guard on, since a later call may take the other;
* a tensor's storage handed out (``t.numpy()``, ``np.asarray(t)``): what is done with it is
  invisible, so the function cannot be replayed;
* a random draw: a replay would repeat the trace's numbers.

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
