"""A plan: a trace written out as two straight-line Python functions on raw NumPy values.

``forward(*values)`` computes every op of the trace in order with the primitives' own NumPy
implementations: no Tensor, no node, no dispatch.  It returns the outputs, the values the
backward pass will read (only those: what each primitive's rules read, as the engine saves),
and the values the guards read.

``backward(saved, cotangents)`` is the backward pass derived once from the same trace and the
same VJP rules the engine calls: the ops in reverse order, each input's rule applied to the
result's gradient, summed back to the input's shape where it was broadcast (known from the
trace), cast to its dtype, and added into the input's gradient.  It returns the gradient of
each slot that requires grad among the plan's inputs and externals.

Both are generated as source text and compiled with ``exec``: the text is also what
``compiled.source`` shows, one line per primitive, each backward line with the rule's maths
from the rule's own comment in ``chainrule/rules/``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from chainrule.compiler.trace import Const, Trace
from chainrule.rules.shape import cast_to, unbroadcast
from chainrule.sparse import SparseGrad


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name)


_MATHS = re.compile(r'^# (d [^\n]*)\n(?:#[^\n]*\n)*[^\n]*?\bprimitive\(\s*"([^"]+)"', re.M)


@functools.cache
def _rule_maths() -> dict[str, str]:
    """Each primitive's maths, from the ``# d tanh(x) = ...`` comment just above its
    declaration in ``chainrule/rules/`` (up to the first colon)."""
    maths: dict[str, str] = {}
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("rules").glob("*.py")):
        for found in _MATHS.finditer(path.read_text()):
            maths.setdefault(found.group(2), found.group(1).split(":")[0].rstrip(",. "))
    return maths


def _dense(g):
    return g.dense() if type(g) is SparseGrad else g


class Plan:
    """The forward and backward functions of one trace (see the module docstring)."""

    def __init__(self, trace: Trace, name: str) -> None:
        self.trace = trace
        self.name = name
        slots = trace.slots
        self.inputs = [k for k, s in enumerate(slots) if s.kind == "input"]
        self.externals = [k for k, s in enumerate(slots) if s.kind == "external"]
        # what gradients flow into: the inputs' and externals' slots that require grad
        self.grad_slots = [k for k in self.inputs + self.externals if slots[k].requires_grad]
        self.output_slots = [o for o in trace.outputs if isinstance(o, int)]
        # one output that gradients flow from: its backward pass may free what it saved
        self.single_output = sum(trace.slots[o].requires_grad for o in self.output_slots) == 1
        self.namespace: dict = {"_unbroadcast": unbroadcast, "_cast": cast_to, "_dense": _dense}
        self.saved = self._saved_slots()
        self.forward_source = self._forward_source()
        self.backward_source = self._backward_source() if self.grad_slots else ""
        exec(compile(self.forward_source, f"<compiled {name}: forward>", "exec"),
             self.namespace)
        self.forward = self.namespace["forward"]
        self.backward = None
        if self.backward_source:
            exec(compile(self.backward_source, f"<compiled {name}: backward>", "exec"),
                 self.namespace)
            self.backward = self.namespace["backward"]

    # ----------------------------------------------------------------------------------------

    def _bind(self, key: str, value) -> str:
        self.namespace[key] = value
        return key

    def _arg(self, k: int, a) -> str:
        if isinstance(a, Const):
            value = a.value
            if value is None or isinstance(value, (bool, int, float, str)):
                return repr(value)
            return self._bind(f"c{k}_{id(a)}", value)
        return f"v{a}"

    def _saved_slots(self) -> list[int]:
        """The slots the backward pass reads: what each recording op's rules read."""
        saved: set[int] = set()
        for op in self.trace.ops:
            if not op.records:
                continue
            if op.prim.save_inputs:
                saved.update(a for a in op.args if isinstance(a, int))
            if op.prim.save_ans:
                saved.add(op.out)
        return sorted(saved)

    def _forward_source(self) -> str:
        slots = self.trace.slots
        params = ", ".join(f"v{k}" for k in self.inputs + self.externals)
        lines = [f"def forward({params}):"]
        # an op's result that nothing returns is dropped after its last use (its memory goes
        # back at once, as the engine's intermediates do)
        kept = set(self.output_slots) | set(self.saved) | {g.slot for g in self.trace.guards}
        last_use: dict[int, int] = {}
        for k, op in enumerate(self.trace.ops):
            for a in op.args:
                if isinstance(a, int):
                    last_use[a] = k
        for k, op in enumerate(self.trace.ops):
            fname = f"{_identifier(op.prim.name)}_{k}"
            impl = functools.partial(op.prim.impl, **op.params) if op.params else op.prim.impl
            self._bind(fname, impl)
            args = ", ".join(self._arg(k, a) for a in op.args)
            shape = "x".join(map(str, slots[op.out].shape)) or "scalar"
            lines.append(f"    v{op.out} = {fname}({args})  "
                         f"# {op.prim.name}: {shape} {slots[op.out].dtype}")
            dead = sorted({a for a in op.args if isinstance(a, int) and last_use[a] == k
                           and a not in kept and slots[a].kind == "op"})
            if dead:
                lines.append("    del " + ", ".join(f"v{a}" for a in dead))
        outs = ", ".join(f"v{o}" for o in self.output_slots)
        saved = ", ".join(f"v{k}" for k in self.saved)
        reads = ", ".join(f"v{g.slot}" for g in self.trace.guards)
        lines.append(f"    return ({outs}{',' if outs else ''}), ({saved}{',' if saved else ''})"
                     f", ({reads}{',' if reads else ''})")
        return "\n".join(lines) + "\n"

    def _backward_source(self) -> str:
        slots = self.trace.slots
        maths = _rule_maths()
        saved = ", ".join(f"v{k}" for k in self.saved)
        lines = ["def backward(saved, cotangents):"]
        if self.saved:
            lines.append(f"    ({saved}{',' if len(self.saved) == 1 else ''}) = saved")
            # (a list is handed over: emptied, so that each value dies at its last use below)
            lines.append("    if type(saved) is list: saved.clear()")
        last_read: dict[int, int] = {}
        for k, op in enumerate(self.trace.ops):
            if op.records:
                reads = [a for a in op.args if isinstance(a, int)] if op.prim.save_inputs else []
                for a in reads + ([op.out] if op.prim.save_ans else []):
                    last_read.setdefault(a, k)  # (the backward pass runs the ops in reverse)
        wanted = sorted({k for k, s in enumerate(slots) if s.requires_grad})
        lines.append("    " + " = ".join(f"g{k}" for k in wanted) + " = None")
        for j, o in enumerate(self.output_slots):
            if slots[o].requires_grad:
                lines.append(f"    if cotangents[{j}] is not None:")
                lines.append(f"        g{o} = cotangents[{j}] if g{o} is None "
                             f"else g{o} + cotangents[{j}]")
        for k in reversed(range(len(self.trace.ops))):
            op = self.trace.ops[k]
            if not op.records:
                continue
            prim = op.prim
            ans = f"v{op.out}" if prim.save_ans else "None"
            if prim.save_inputs:
                args = [self._arg(k, a) for a in op.args]
            else:
                args = ["None"] * len(op.args)
            note = maths.get(prim.name, "")
            lines.append(f"    if g{op.out} is not None:  # {prim.name}"
                         + (f": {note}" if note else ""))
            for i, a in enumerate(op.args):
                if not (isinstance(a, int) and slots[a].requires_grad):
                    continue
                rule = functools.partial(prim.vjp, i) if prim.variadic else prim.vjp[i]
                if op.params:
                    rule = functools.partial(rule, **op.params)
                rname = self._bind(f"d_{_identifier(prim.name)}_{k}_{i}", rule)
                call = ", ".join([f"g{op.out}", ans, *args])
                lines.append(f"        t = _dense({rname}({call}))")
                lines.append("        if t is not None:")
                shape, dtype = slots[a].shape, slots[a].dtype
                self._bind(f"dtype{a}", dtype)
                lines.append(f"            if t.shape != {shape!r}: t = _unbroadcast(t, {shape!r})")
                lines.append(f"            if t.dtype != dtype{a}: t = _cast(t, dtype{a})")
                lines.append(f"            g{a} = t if g{a} is None else g{a} + t")
            # this op's gradient has been handed on: free it (and the last term)
            lines.append(f"        g{op.out} = t = None")
            dead = sorted(a for a, first in last_read.items() if first == k)
            if dead:
                lines.append("    " + " = ".join(f"v{a}" for a in dead) + " = None")
        grads = ", ".join(f"g{k}" for k in self.grad_slots)
        lines.append(f"    return ({grads}{',' if len(self.grad_slots) == 1 else ''})")
        return "\n".join(lines) + "\n"

    @property
    def source(self) -> str:
        """The plan as Python: the forward pass, then the backward pass."""
        return self.forward_source + ("\n" + self.backward_source if self.backward_source
                                      else "")
