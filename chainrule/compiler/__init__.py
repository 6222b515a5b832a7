"""``chainrule.compiler``: what ``chainrule.compile`` is made of.  It traces a function once,
replays it from a plan, and shows the plan.

``chainrule.compile(fn)`` (also a decorator, and on a Module) traces ``fn`` at its first call
into a list of primitive calls (``trace.py``), writes that list out as two straight-line Python
functions on raw NumPy values, the forward pass and the backward pass derived from the same
VJP rules the engine uses (``plan.py``), and replays them on later calls whose guards hold
(``compiled.py``): the same shapes, dtypes and requires-grad flags, the same outcome of every
branch that read a tensor's value.  ``compiled.source`` shows the plan as Python.
"""

from chainrule.compiler.compiled import CompiledFunction, CompiledModule, compile

__all__ = ["CompiledFunction", "CompiledModule", "compile"]
