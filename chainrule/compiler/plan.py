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
from the rule's own comment in ``chainrule/rules/``.  Each pass is first a list of steps
(``fusion.Step``): on large arrays, a run of elementwise steps becomes one fused region
(``fusion.py``).
"""

from __future__ import annotations

import functools
import operator
import re
import sys
from math import prod
from pathlib import Path

import numpy as np

from chainrule.arguments import CANNOT_FAIL as CANNOT_FAIL_FUNCTIONS
from chainrule.buffers import LARGE
from chainrule.buffers import state as backward_pass
from chainrule.compiler.fusion import (
    GRADIENTS,
    POSITIONAL,
    VALUES,
    Constant,
    Step,
    broadcasts_over_rows,
    emit,
    fusible_shape,
    listed,
    spans_rows,
)
from chainrule.compiler.trace import ALIAS, Const, InPlace, NoGradient, Trace
from chainrule.engine import Primitive
from chainrule.rules.shape import cast_to, unbroadcast
from chainrule.rules.table import Scratch
from chainrule.sparse import SparseGrad
from chainrule.versions import inputs_read


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


def _product(g, f, args, ans, spare):
    """``g * f`` (a rule declared as a derivative ``f``), written into ``f`` when the rule has
    just made it, or into ``spare``, a saved value of the plan's own that dies here; else a
    new array.  Only on large arrays (the engine's :data:`~chainrule.buffers.LARGE`), where
    the allocation is what costs, and only into an array that owns its memory and that
    nothing else references (its reference count says so): never into a value another slot
    shares.

    (``buffers.product`` does this for the engine, with reference counts measured for the
    engine's own frames and a shortcut that hands back a saved value itself as the gradient;
    a plan's gradient can become ``.grad``, which the engine then adds into, so the plan
    never returns a saved value and measures its own counts.)"""
    if type(f) is np.ndarray and f.size > LARGE:
        shape = np.broadcast_shapes(np.shape(g), f.shape)
        dtype = np.result_type(g, f)
        if (f.base is None and f is not ans and all(f is not a for a in args)
                and sys.getrefcount(f) <= _SOLE[0] and f.shape == shape and f.dtype == dtype
                and f.flags.writeable):
            return np.multiply(g, f, out=f)
        for out in spare:
            # its holders here: the plan's variable, ``spare``, this loop; and ``f`` and
            # ``args`` when it is the derivative itself (``x * y``'s rule for ``y`` is ``x``)
            holders = _SOLE[1] + (out is f) + (out is ans) + sum(a is out for a in args)
            if (type(out) is np.ndarray and out.base is None and out.shape == shape
                    and out.dtype == dtype and out.flags.writeable and out is not g
                    and sys.getrefcount(out) <= holders):
                return np.multiply(g, f, out=out)
    return g * f


def _times_into(g, f: np.ndarray) -> np.ndarray:
    """``g * f``, written into ``f``, an array a rule has just made (a fused block's
    ``cos(x)``, where a new array would be one more to fill), when ``g`` has its shape and
    dtype (else, a complex cotangent of a real result say, a new array)."""
    if type(g) is np.ndarray and g.shape == f.shape and g.dtype == f.dtype:
        return np.multiply(g, f, out=f)
    return g * f


def _add(total, t):
    """``total + t``, into ``total`` when it is a large array of the plan's own that nothing
    else references (a sum it made, or a product it wrote into a buffer of its own)."""
    if (type(total) is np.ndarray and total.size > LARGE and total.base is None
            and type(t) is np.ndarray and total.shape == np.broadcast_shapes(total.shape, t.shape)
            and total.dtype == np.result_type(total, t) and total.flags.writeable
            and sys.getrefcount(total) <= _SOLE[2]):
        return np.add(total, t, out=total)
    return total + t


def _sole_counts() -> list[int]:
    """The reference counts of an array that only the plan's backward holds, as
    :func:`_product` sees a derivative the rule made and a spare, and as :func:`_add` sees
    the sum (measured here, called as the plan calls them)."""
    counts = [0, 0, 0]

    def probe_product(g, f, args, ans, spare):
        counts[0] = sys.getrefcount(f)
        for out in spare:
            counts[1] = sys.getrefcount(out)

    def probe_add(total, t):
        counts[2] = sys.getrefcount(total)

    def made():
        return np.zeros(1)

    def backward():
        v = np.zeros(1)
        probe_product(1.0, made(), (), None, (v,))
        g = np.zeros(1)
        g = probe_add(g, v)

    backward()
    return counts


_SOLE = _sole_counts()


_UFUNCS = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
           operator.truediv: np.true_divide, operator.neg: np.negative}


def _ufunc_of(impl):
    """The NumPy ufunc of one output that ``impl`` is (or Python's operator for it), or None."""
    ufunc = impl if isinstance(impl, np.ufunc) else _UFUNCS.get(impl)
    return ufunc if ufunc is not None and ufunc.nout == 1 else None


# The primitives whose computation cannot fail at the traced shapes and dtypes on any values
# (by their batching kind, or named): a fixed shape's errors (a mismatch, an empty reduction)
# came up at the trace already.  An elementwise, reduction or axis-wise one counts only on
# floating or complex operands: an integer one may raise (a negative integer power).
# cross_entropy's class indices are checked by an op before it (``_safe_targets``).  SciPy's
# special functions are left out of the kinds: scipy.special.errstate may make them raise.
_CANNOT_FAIL_KINDS = ("elementwise", "reduction", "axis")
_CANNOT_FAIL = {"matmul", "dot", "nn.functional.linear", "nn.functional.cross_entropy"}


def _droppable(op, slots) -> bool:
    """May ``op``, whose result nothing reads, be left out of a plan (as ``jax.jit`` and
    ``torch.compile`` leave dead code out)?  A view or an alias, or a primitive that cannot
    fail: all it could do is warn of a floating-point error, which the replay then does not
    (documented); or a function without gradient declared unable to fail
    (``arguments.cannot_fail``).  Another op may raise (an integer power, a singular matrix, a
    bad index, a function's own check), so it runs."""
    prim = op.prim
    if getattr(prim, "view", False) or prim is ALIAS:
        return True
    if isinstance(prim, NoGradient):
        return prim.func in CANNOT_FAIL_FUNCTIONS
    if not isinstance(prim, Primitive):
        return False
    if prim.name in _CANNOT_FAIL or prim.batch == "shape":
        return True
    if prim.name.startswith("scipy."):
        return False
    return prim.batch in _CANNOT_FAIL_KINDS and all(
        slots[a].dtype.kind in "fc" for a in op.args if isinstance(a, int))


def _scratch(op) -> dict:
    """``op``'s parameters that are a :class:`Scratch` (one per call), by name."""
    return {name: value for name, value in op.params.items() if isinstance(value, Scratch)}


def _bound(op, scratch: dict) -> dict:
    """``op``'s parameters a plan binds into its calls: all but its scratch."""
    return {name: value for name, value in op.params.items() if name not in scratch}


def _scratch_names(ops) -> tuple[dict[int, str], list[str]]:
    """Each Scratch (by id) that a replay makes: one a recording op's rules read, or that more
    than one op reads (a pass back through time written down as one op, which reads the
    forward's activations), with its name ``s<k>``, ``k`` the first op that has it; and the
    names of those the backward pass reads."""
    first, users, read_by_rules = {}, {}, set()
    for k, op in enumerate(ops):
        for value in _scratch(op).values():
            first.setdefault(id(value), k)
            users[id(value)] = users.get(id(value), 0) + 1
            if op.records:
                read_by_rules.add(id(value))
    names = {key: f"s{first[key]}" for key in first if key in read_by_rules or users[key] > 1}
    return names, [f"s{k}" for k in sorted({first[key] for key in read_by_rules})]


class _StepSource:
    """A backward step's source three ways: as the pass runs it on whole arrays (``whole``:
    products and sums in place on large arrays, decided at run time by :func:`_product` and
    :func:`_add`), inside a region's blocks (``block``: written into arrays the block has just
    made, decided here), and inside a region given its gradient as ones (``seeded``: a
    product by them is the factor itself, ``fusion.Regions.seed``)."""

    def __init__(self, head: str) -> None:
        self.whole, self.block, self.seeded = [head], [head], [head]

    def add(self, line: str, whole: str | None = None, seeded: str | None = None) -> None:
        """``line`` in a block, and in the other two unless they differ."""
        self.block.append(line)
        self.whole.append(line if whole is None else whole)
        self.seeded.append(line if seeded is None else seeded)


class Plan:
    """The forward and backward functions of one trace (see the module docstring)."""

    def __init__(self, trace: Trace, name: str, out_spec, returns_leaf: bool,
                 fuse: bool = True, use_numexpr: bool = False) -> None:
        self.trace = trace
        self.name = name
        self.out_spec = out_spec  # the structure of the function's result
        self.returns_leaf = returns_leaf  # (one tensor: no structure to rebuild)
        slots = trace.slots
        self.inputs = [k for k, s in enumerate(slots) if s.kind == "input"]
        self.externals = [k for k, s in enumerate(slots) if s.kind == "external"]
        # what a replay reads, ready: where each input is among the call's tensors, and each
        # external with the shape, layout, dtype and requires-grad flag it must still have
        self.input_positions = [slots[k].index for k in self.inputs]
        self.external_guards = [(slots[k].tensor, slots[k].shape, slots[k].layout,
                                 slots[k].dtype, slots[k].requires_grad)
                                for k in self.externals]
        # what gradients flow into: the inputs' and externals' slots that require grad
        self.grad_slots = [k for k in self.inputs + self.externals if slots[k].requires_grad]
        self.output_slots = [o for o in trace.outputs if isinstance(o, int)]
        # (a result that requires grad and reads no input that does still gets a node)
        self.differentiable = bool(self.grad_slots) and any(
            slots[o].requires_grad for o in self.output_slots)
        self._drop_dead_ends()
        # the inputs and externals whose arrays a replay writes into (their versions change),
        # once per update: a replay bumps their versions as often as the eager call does
        self.updated_leaves = [updated for updated, _ in trace.updated]
        self.updates = [op.prim for op in trace.ops if type(op.prim) is InPlace]
        # where each value's array lives, as eagerly: a view, a detach() or an update in place
        # shares its argument's array and version counter (slot -> (root, the ops from it))
        self.storage = self._storage()
        # results that are an argument, a parameter, a tensor the function made, or another
        # result, or views of them: a replay makes them from that tensor eagerly, as the eager
        # call did (the same tensor, or a view with its _base and shared version counter):
        # output position -> (root, ops)
        self.made_from_root: dict[int, tuple[int, tuple]] = {}
        for j, o in enumerate(self.output_slots):
            root, path = self.storage.get(o, (o, ()))  # (see root())
            if slots[root].kind != "op" or (path and root in self.output_slots):
                self.made_from_root[j] = (root, path)
        # for each result: the storages (roots) its backward pass reads that the caller can
        # change in place (an argument or parameter, or one a result shares); changed after
        # the call, that backward pass refuses
        reachable = set(map(self.root, self.output_slots)) | {
            k for k in self.inputs + self.externals if k not in trace.made}
        self.read_by_backward = [self._storages_read(o) & reachable for o in self.output_slots]
        # one output that gradients flow from: its backward pass may free what it saved
        self.single_output = sum(trace.slots[o].requires_grad for o in self.output_slots) == 1
        self.namespace: dict = {"_unbroadcast": unbroadcast, "_cast": cast_to, "_dense": _dense,
                                "_product": _product, "_add": _add, "_times_into": _times_into,
                                "np_add": np.add}
        self.saved = self._saved_slots()
        # the Scratch objects an op's forward fills (a normalisation's moments, a recurrent
        # scan's activations) that a rule, or a later op, reads: each replay makes its own,
        # named by the op that has it first (s<k>), and saves those the rules read
        self.scratch_names, saved_scratch = _scratch_names(trace.ops)
        # what the forward pass hands the backward pass: saved values, then scratch
        self.saved_names = [f"v{k}" for k in self.saved] + saved_scratch
        self.fuse, self.use_numexpr = fuse, use_numexpr  # (see chainrule.compile's options)
        # each value's and gradient's shape and dtype (for the fused regions)
        self.shapes = {f"{p}{k}": s.shape for k, s in enumerate(slots) for p in "vg"}
        self.dtypes = {f"{p}{k}": s.dtype for k, s in enumerate(slots) for p in "vg"}
        # the values a guard's read depends on: their sums are NumPy's own, not a fused
        # region's (whose blocks may round the last bit otherwise, and flip a branch)
        self.guards_depend_on = {g.slot for g in trace.guards}
        for op in reversed(trace.ops):
            if op.out in self.guards_depend_on:
                self.guards_depend_on.update(a for a in op.args if isinstance(a, int))
        self.forward_source = self._forward_source()
        self.backward_source = self._backward_source() if self.differentiable else ""
        exec(compile(self.forward_source, f"<compiled {name}: forward>", "exec"),
             self.namespace)
        self.forward = self.namespace["forward"]
        self.backward = None
        if self.backward_source:
            exec(compile(self.backward_source, f"<compiled {name}: backward>", "exec"),
                 self.namespace)
            self.backward = self.namespace["backward"]
        # the trace's own Scratch objects hold its call's values (an LSTM's activations): the
        # plan has made its own, so they go (the traced call's nodes keep theirs)
        for op in trace.ops:
            for name in _scratch(op):
                op.params[name] = None
        # every result a new array of its own, with no gradient to record: a replay only
        # wraps them (no storage shared with an argument, a made tensor or another result)
        roots = [self.root(o) for o in self.output_slots]
        self.plain_results = (self.backward is None and not self.made_from_root
                              and not trace.made and len(set(roots)) == len(roots))

    def modules_unchanged(self) -> bool:
        """Whether every Module the trace used is in the state it was in then (by its stamp,
        else by its state, whose stamp is then remembered)."""
        for entry in self.trace.modules.values():
            module, stamp, state = entry
            now = module._call_stamp()
            if now != stamp:
                if module._call_state() != state:
                    return False
                entry[1] = now
        return True

    def may_free_saved(self) -> bool:
        """Whether the running backward pass frees the graph (no ``retain_graph``, no
        ``create_graph``) and this plan's one output is all that reads its saved values: then
        its backward pass may free them as it goes."""
        return backward_pass.pool is not None and self.single_output

    # ----------------------------------------------------------------------------------------

    def _bind(self, key: str, value) -> str:
        self.namespace[key] = value
        return key

    def _arg(self, k: int, a) -> str:
        if isinstance(a, Const):
            value = a.value
            if value is None or type(value) in (bool, int, str) or (
                    type(value) is float and np.isfinite(value)):  # (repr(nan) is no literal)
                return repr(value)  # (NumPy's scalars, subclasses of these, are bound below)
            return self._bind(f"c{k}_{id(a)}", value)
        return f"v{a}"

    def _drop_dead_ends(self) -> None:
        """Only an op on a path from an input or external that requires grad to a result that
        does gets a backward step: another one's gradient arrives nowhere (an op of a backward
        pass run inside the function, or of ``func.grad``'s stand-in for an argument)."""
        leads_back = set(self.grad_slots)
        for op in self.trace.ops:
            if op.records and any(isinstance(a, int) and a in leads_back for a in op.args):
                leads_back.add(op.out)
            else:
                op.records = False
        needed = {o for o in self.output_slots if self.differentiable and o in leads_back}
        for op in reversed(self.trace.ops):
            if op.records and op.out in needed:
                needed.update(a for a in op.args if isinstance(a, int))
            else:
                op.records = False

    def _storage(self) -> dict[int, tuple[int, tuple]]:
        """Each slot that shares its first argument's array as eagerly (a view the trace saw
        made, ``detach()``, an update in place), with the root slot whose array it is and the
        ops from that root to it."""
        storage: dict[int, tuple[int, tuple]] = {}
        for op in self.trace.ops:
            source = op.args[0] if op.args else None
            a_view = (op.out in self.trace.views
                      and not any(isinstance(a, int) for a in op.args[1:]))
            shares = a_view or type(op.prim) is InPlace or op.out in self.trace.detached
            if isinstance(source, int) and shares:
                root, path = storage.get(source, (source, ()))
                storage[op.out] = (root, path + (op,))
        return storage

    def _storages_read(self, out: int) -> set[int]:
        """The roots of the values the backward pass from result ``out`` reads: those its ops'
        rules read (``prim.reads``) for the inputs that get a gradient, as the engine checks."""
        slots = self.trace.slots
        reaches, reads = {out}, set()
        for op in reversed(self.trace.ops):
            if op.out not in reaches or not op.records:
                continue
            getting = [i for i, a in enumerate(op.args)
                       if isinstance(a, int) and slots[a].requires_grad]
            reaches.update(op.args[i] for i in getting)
            read = inputs_read(op.prim.reads, getting)
            if read is None:
                read = set(range(len(op.args))) | {"ans"}
            if op.prim.save_inputs:
                reads.update(op.args[j] for j in read
                             if j != "ans" and isinstance(op.args[j], int))
            if op.prim.save_ans and "ans" in read:
                reads.add(op.out)
        # a value a function without gradient made from an argument (a check of class
        # targets, which may hand back their own values) is read as that argument is: a
        # change of it in place refuses, as eagerly (a ufunc's value is always new)
        for op in self.trace.ops:
            if (op.out in reads and type(op.prim) is NoGradient and op.prim is not ALIAS
                    and not isinstance(op.prim.func, np.ufunc)):
                reads.update(a for a in op.args if isinstance(a, int))
        return set(map(self.root, reads))

    def root(self, k: int) -> int:
        """The slot whose array slot ``k``'s is (itself, unless a view, ``detach()`` or update
        of another: see :meth:`_storage`)."""
        found = self.storage.get(k)
        return k if found is None else found[0]

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

    def _names(self, k: int, args) -> tuple:
        """The names an op's arguments are read by: its slots' values, and the constant arrays
        that a region would cut into rows (the others it reads whole, as globals)."""
        names = []
        for a in args:
            if isinstance(a, int):
                names.append(f"v{a}")
            elif type(a.value) is np.ndarray and a.value.ndim:
                name = self._arg(k, a)
                self.shapes[name] = a.value.shape
                names.append(name)
        return tuple(names)

    def _elementwise_shape(self, op) -> tuple | None:
        """The shape ``op`` works over when a region may run it on blocks of rows: an
        elementwise primitive (vmap's kind) or NumPy ufunc without gradient, over a shape large
        enough to fuse, whose operands span its rows or broadcast along them; else None."""
        prim = op.prim
        if not (getattr(prim, "batch", None) == "elementwise" or type(prim) is InPlace
                or (type(prim) is NoGradient and isinstance(prim.impl, np.ufunc))):
            return None
        out = self.trace.slots[op.out]
        shape = out.shape
        # (a region writes C-contiguous rows: a value eager gave another layout, from
        # transposed or Fortran-order operands, is left to NumPy, which keeps it)
        if (not fusible_shape(shape) or out.dtype == object or out.layout != "C"
                or (prim.name in POSITIONAL and len(shape) < 2)):
            return None
        for a in op.args:
            operand = self.trace.slots[a].shape if isinstance(a, int) else np.shape(a.value)
            if (not isinstance(a, int) and operand and type(a.value) is not np.ndarray) or \
                    not broadcasts_over_rows(operand, shape):
                return None
        for value in op.params.values():
            # (a parameter is bound into the call: a block cannot cut it)
            if type(value) is np.ndarray and spans_rows(value.shape, shape):
                return None
        return shape

    def _operands(self, op, dtype) -> tuple | None:
        """``op``'s operands for a numexpr expression computing in ``dtype``: slots of that
        dtype (or bool: a condition), numbers; None when another operand rules it out."""
        operands = []
        for i, a in enumerate(op.args):
            # (numexpr's where takes a bool condition; NumPy's, any truth value)
            condition = op.prim.name == "where" and i == 0
            if isinstance(a, int):
                if self.trace.slots[a].dtype not in ((np.bool_,) if condition
                                                     else (dtype, np.bool_)):
                    return None
                operands.append(f"v{a}")
                continue
            value = a.value
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value[()]
            if not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
                return None
            if condition and not isinstance(value, (bool, np.bool_)):
                return None
            # a NumPy scalar is not weak: one of a wider dtype makes NumPy compute in it
            # (``float32 > np.float64(0.1)`` compares in float64), which the expression,
            # given the constant in ``dtype``, would not
            if isinstance(value, np.generic) and np.result_type(dtype, value.dtype) != dtype:
                return None
            operands.append(Constant(value))
        return tuple(operands)

    def _summed_shape(self, op) -> tuple | None:
        """The shape of what ``op`` sums when it sums every element of a value a region may
        compute (it may end that region: each block sums its rows, and the blocks' sums are
        summed); else None."""
        if (op.prim.name != "sum" or op.params.get("axis", 0) is not None
                or op.params.get("keepdims") or not isinstance(op.args[0], int)
                or op.out in self.guards_depend_on):
            return None
        summed = self.trace.slots[op.args[0]]
        # (NumPy adds float16 in float32 and rounds once; a sum of blocks would round each)
        if summed.dtype == np.float16:
            return None
        return summed.shape if fusible_shape(summed.shape) else None

    def _forward_source(self) -> str:
        slots = self.trace.slots
        params = ", ".join(f"v{k}" for k in self.inputs + self.externals)
        # an op's result that nothing returns is dropped after its last use (its memory goes
        # back at once, as the engine's intermediates do)
        read_at_end = (set(self.output_slots) | set(self.saved)
                       | {g.slot for g in self.trace.guards})
        kept = read_at_end | {after for _, after in self.trace.updated}
        # and an op whose result nothing reads is not run where it cannot fail (_droppable)
        live = set(kept)
        for op in reversed(self.trace.ops):
            if op.out in live or not _droppable(op, slots):
                live.add(op.out)
                live.update(a for a in op.args if isinstance(a, int))
        last_use: dict[int, int] = {}
        for k, op in enumerate(self.trace.ops):
            for a in op.args:
                if isinstance(a, int) and op.out in live:
                    last_use[a] = k
        steps = []
        made_scratch: set[str] = set()
        for k, op in enumerate(self.trace.ops):
            if op.out not in live:
                continue
            fname = f"{_identifier(op.prim.name)}_{k}"
            scratch = _scratch(op)
            bound = _bound(op, scratch)
            impl = functools.partial(op.prim.impl, **bound) if bound else op.prim.impl
            self._bind(fname, impl)
            args = ", ".join(self._arg(k, a) for a in op.args)
            made = ""
            for name, value in scratch.items():  # (this call's own, or None: nothing reads it)
                var = self.scratch_names.get(id(value))
                if var is not None and var not in made_scratch:
                    made_scratch.add(var)
                    made += (f"    {var} = "
                             f"{self._bind(f'{type(value).__name__}_{k}', type(value))}()\n")
                args += f", {name}={var}"
            shape = "x".join(map(str, slots[op.out].shape)) or "scalar"
            dead = sorted({a for a in op.args if isinstance(a, int) and last_use[a] == k
                           and a not in kept and slots[a].kind == "op"})
            # numexpr's text of it: computed in its result's dtype, or its operands' (a
            # comparison)
            dtype = slots[op.out].dtype
            if dtype == np.bool_ and op.args and isinstance(op.args[0], int):
                dtype = slots[op.args[0]].dtype
            expression = None
            if op.prim.name in VALUES and not op.params:
                operands = self._operands(op, dtype)
                if operands is not None:
                    expression = ("value", f"v{op.out}", VALUES[op.prim.name], operands)
            summed = self._summed_shape(op)
            line = (f"{made}    v{op.out} = {fname}({args})  "
                    f"# {op.prim.name}: {shape} {slots[op.out].dtype}")
            ufunc = _ufunc_of(op.prim.impl) if not op.params else None
            into = None
            if ufunc is not None and all(slots[a].dtype == slots[op.out].dtype
                                         for a in op.args if isinstance(a, int)):
                into = (f"    v{op.out} = {self._bind('np_' + ufunc.__name__, ufunc)}"
                        f"({args}, out={{out}})")
            region_shape = self._elementwise_shape(op)
            updates = None
            if op.prim is ALIAS:
                line = f"    v{op.out} = {args}  # detached: the same values, no gradient"
            elif type(op.prim) is InPlace:
                line += f", written into v{op.args[0]}"
                updates = f"v{op.args[0]}"
                if op.out in last_use or op.out in read_at_end:
                    region_shape = None  # (a block's rows of it are not the array itself)
            steps.append(Step(line,
                              reads=self._names(k, op.args),
                              writes=(f"v{op.out}",) + tuple(
                                  self.scratch_names[id(v)] for v in scratch.values()
                                  if id(v) in self.scratch_names),
                              frees=tuple(f"v{a}" for a in dead),
                              shape=region_shape or summed,
                              label=op.prim.name, expression=expression, dtype=dtype,
                              into=into, updates=updates,
                              reduce=self.namespace[fname] if summed else None))
        outs = [f"v{o}" for o in self.output_slots]
        saved = self.saved_names
        reads = [f"v{g.slot}" for g in self.trace.guards]
        steps.append(Step(f"    return ({listed(outs)}), ({listed(saved)}), ({listed(reads)})",
                          reads=tuple(outs + saved + reads)))
        return emit(f"def forward({params}):", steps, self.shapes, self.dtypes,
                    lambda names: "    del " + ", ".join(names), self.namespace, "forward_",
                    self.fuse, self.use_numexpr)

    def _backward_source(self) -> str:
        slots = self.trace.slots
        maths = _rule_maths()
        saved = listed(self.saved_names)
        steps = []
        if self.saved_names:
            # (a list is handed over: emptied, so that each value dies at its last use below,
            # and the values the plan made may be written into where they die)
            steps.append(Step(f"    ({saved}) = saved\n"
                              "    own = type(saved) is list\n"
                              "    if own: saved.clear()",
                              writes=tuple(self.saved_names)))
        # values that may share memory with another slot's: a view's input and result
        shared = {a for op in self.trace.ops if op.prim.view or not op.records
                  for a in (*[b for b in op.args if isinstance(b, int)], op.out)}
        last_read: dict[int, int] = {}
        for k, op in enumerate(self.trace.ops):
            if op.records:
                reads = [a for a in op.args if isinstance(a, int)] if op.prim.save_inputs else []
                for a in reads + ([op.out] if op.prim.save_ans else []):
                    last_read.setdefault(a, k)  # (the backward pass runs the ops in reverse)
        wanted = sorted({k for k, s in enumerate(slots) if s.requires_grad})
        # (no value yet: a region reading one of these before a step writes it knows that the
        # gradient is None)
        steps.append(Step("    " + " = ".join(f"g{k}" for k in wanted) + " = None"))
        for j, o in enumerate(self.output_slots):
            if slots[o].requires_grad:
                steps.append(Step(f"    if cotangents[{j}] is not None:\n"
                                  f"        g{o} = cotangents[{j}] if g{o} is None "
                                  f"else g{o} + cotangents[{j}]",
                                  reads=(f"g{o}",), writes=(f"g{o}",)))
        # how many terms each gradient sums: one that gets a single term is that term
        terms: dict[int, int] = {o: 1 for o in self.output_slots if slots[o].requires_grad}
        for op in self.trace.ops:
            if op.records:
                for a in op.args:
                    if isinstance(a, int) and slots[a].requires_grad:
                        terms[a] = terms.get(a, 0) + 1
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
            scratch = _scratch(op)
            given = "".join(f", {name}={self.scratch_names[id(value)]}"
                            for name, value in scratch.items())  # (this call's own)
            note = maths.get(prim.name, "")
            # the saved values of the plan's own making that die at this op: the last rule
            # below may write its product into them (no later rule reads them)
            dying = [a for a, first in last_read.items() if first == k
                     and slots[a].kind == "op" and a not in self.output_slots
                     and a not in shared]
            wanted_inputs = [i for i, a in enumerate(op.args)
                             if isinstance(a, int) and slots[a].requires_grad]
            # (on small arrays a product or sum in place saves nothing: plain ones, without
            # the call that would decide it)
            small = all(prod(slots[a].shape) <= LARGE
                        for a in (op.out, *[b for b in op.args if isinstance(b, int)]))
            head = (f"    if g{op.out} is not None:  # {prim.name}"
                    + (f": {note}" if note else ""))
            source = _StepSource(head)
            seeds = False  # (whether a product by g may leave g out: see _StepSource)
            elementwise = getattr(prim, "batch", None) == "elementwise"
            for i in wanted_inputs:
                a = op.args[i]
                rule = functools.partial(prim.vjp, i) if prim.variadic else prim.vjp[i]
                factor = getattr(rule, "factor", None)
                shape, dtype = slots[a].shape, slots[a].dtype
                self._bind(f"dtype{a}", dtype)
                passed = (GRADIENTS.get(prim.name, ())[i:i + 1] == ("{g}",) and not op.params
                           and shape == slots[op.out].shape and dtype == slots[op.out].dtype)
                made_here = False  # (whether t is a new array of this term's own)
                if passed:  # (add's and sub's rule for an input of the result's shape: g)
                    source.add(f"        t = g{op.out}")
                    certain = True
                elif factor is not None and not op.params:
                    applied = getattr(rule, "applied", None)
                    if applied is not None and prim.save_inputs:  # (f' = cos(x): NumPy's cos)
                        fname = self._bind(f"df_{_identifier(prim.name)}_{k}_{i}", applied.impl)
                        made = f"{fname}({args[0]})"
                    else:
                        fname = self._bind(f"df_{_identifier(prim.name)}_{k}_{i}", factor)
                        made = f"{fname}({', '.join([ans, *args])})"
                    spare = (f"(({', '.join(f'v{a}' for a in dying)},) if own else ())"
                             if dying and i == wanted_inputs[-1] else "()")
                    values = f"({listed(args)})"
                    product = f"        t = g{op.out} * {made}"
                    # (in a block, f' = cos(x) of an x of the result's shape and dtype is a new
                    # array: g f' is written into it)
                    into_factor = (applied is not None and prim.save_inputs
                                   and len(op.args) == 1
                                   and slots[op.args[0]].shape == slots[op.out].shape
                                   and slots[op.args[0]].dtype == slots[op.out].dtype)
                    source.add(f"        t = _times_into(g{op.out}, {made})" if into_factor
                               else product,
                               whole=product if small else
                               f"        t = _product(g{op.out}, {made}, {values}, {ans}, "
                               f"{spare})",
                               seeded=f"        t = {made}\n"
                               f"        t = g{op.out} * t if scale is None "
                               f"else _one_times(g{op.out}, t)")
                    seeds = made_here = True
                    # (g f' is never None, and has g's shape where the input has the result's)
                    certain = shape == slots[op.out].shape
                else:
                    bound = _bound(op, scratch)
                    if bound:
                        rule = functools.partial(rule, **bound)
                    rname = self._bind(f"d_{_identifier(prim.name)}_{k}_{i}", rule)
                    call = f"{rname}({', '.join([f'g{op.out}', ans, *args])}{given})"
                    # (only an indexing rule makes a sparse gradient)
                    source.add(f"        t = {call}",
                               whole=None if elementwise else f"        t = _dense({call})")
                    certain = False
                indent = " " * (8 if certain else 12)
                if not certain:
                    source.add("        if t is not None:")
                    source.whole.append(f"{indent}if t.shape != {shape!r}: "
                                        f"t = _unbroadcast(t, {shape!r})")
                source.add(f"{indent}if t.dtype != dtype{a}: t = _cast(t, dtype{a})")
                if terms[a] == 1:  # (its only term: g{a} is None until here)
                    source.add(f"{indent}g{a} = t")
                else:
                    total = f"{indent}g{a} = t if g{a} is None else g{a} + t"
                    # (in a block, the sum is written into the term a product just made;
                    # given g as ones, the term may be a value the block reads: a new sum)
                    source.add(f"{indent}g{a} = t if g{a} is None else np_add(g{a}, t, out=t)"
                               if made_here and certain else total,
                               whole=total if small else
                               f"{indent}g{a} = t if g{a} is None else _add(g{a}, t)",
                               seeded=total)
            # this op's gradient has been handed on: free it (and the last term)
            source.add(f"        g{op.out} = t = None")
            dead = sorted(a for a, first in last_read.items() if first == k)
            region_shape = self._elementwise_shape(op)
            if region_shape is not None and (prim.variadic or any(
                    slots[op.args[i]].shape != region_shape for i in wanted_inputs)):
                region_shape = None  # (a gradient to sum back to a broadcast input's shape)
            expression = None
            dtype = slots[op.out].dtype
            if (prim.name in GRADIENTS and not op.params
                    and all(slots[op.args[i]].dtype == dtype
                            and GRADIENTS[prim.name][i] is not None for i in wanted_inputs)):
                operands = self._operands(op, dtype) if prim.save_inputs else ()
                if operands is not None:
                    expression = ("gradient", f"g{op.out}",
                                  [(f"g{op.args[i]}", GRADIENTS[prim.name][i])
                                   for i in wanted_inputs], operands)
            reads = ((f"g{op.out}",) + ((ans,) if prim.save_ans else ())
                     + (self._names(k, op.args) if prim.save_inputs else ())
                     + tuple(self.scratch_names[id(v)] for v in scratch.values())
                     + tuple(f"g{op.args[i]}" for i in wanted_inputs))
            steps.append(Step("\n".join(source.whole), reads=reads,
                              writes=tuple(f"g{op.args[i]}" for i in wanted_inputs)
                              + (f"g{op.out}",),
                              frees=tuple(f"v{a}" for a in dead) + tuple(
                                  self.scratch_names[id(v)] for v in scratch.values()),
                              shape=region_shape,
                              fused="\n".join(source.block),
                              seeded=(f"g{op.out}", "\n".join(source.seeded)) if seeds else None,
                              label=prim.name,
                              expression=expression, dtype=dtype))
        grads = [f"g{k}" for k in self.grad_slots]
        steps.append(Step(f"    return ({listed(grads)})", reads=tuple(grads)))
        return emit("def backward(saved, cotangents):", steps, self.shapes, self.dtypes,
                    lambda names: "    " + " = ".join(names) + " = None", self.namespace,
                    "backward_", self.fuse, self.use_numexpr)

    @property
    def source(self) -> str:
        """The plan as Python: the forward pass, then the backward pass."""
        return self.forward_source + ("\n" + self.backward_source if self.backward_source
                                      else "")
