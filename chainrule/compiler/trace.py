"""Tracing: run a function once, eagerly, and write down every primitive it called.

A :class:`Tracer` takes the engine's dispatch hook (``engine.batching``, which vmap uses the
same way) for the length of one call of the user's function.  Each primitive call that has a
tensor among its arguments runs as usual (so the trace's result is the eager result, history
and all) and is written down as an :class:`Op`: the primitive, which *slots* its tensor
arguments are, its other arguments and parameters as constants, and the slot of its result.

A slot is one value of the computation:

* an **input**: a tensor among the function's arguments;
* an **external**: a tensor the function reached another way (a Module's parameter, a tensor
  in a closure, a constant the function built from Python values), read afresh at each replay;
* the result of an op.

A tensor that first appears holding an op's array (the engine's own views of saved results)
is that value: the same slot when it carries the same gradient connection, else an
:data:`ALIAS` op, which passes the value on and no gradient.  ``detach()`` and ``.data`` of a
traced tensor are always an :data:`ALIAS` op (a tensor of their own, as eagerly).  An array
that existed before the call is matched by the tensor, not the array: a tensor made before the
call that shares an argument's storage is an external.

A backward pass run inside the function (``autograd.grad``, ``chainrule.func.grad``) calls its
rules on tensors (``chainrule/backward.py``), so its primitive calls are written down like the
forward's: the plan replays the gradient computation as plain operations.

An update written straight into an argument's or a parameter's array (``p -= lr * g`` under
``no_grad``: an optimiser's step) is an :class:`InPlace` op, which a replay writes too, in a
function whose result does not require grad (its backward pass could read an overwritten
value).  A parameter here is a leaf that requires grad, made before the call: a tensor the
function made itself would be made afresh by each eager call, while a replay would keep
writing into the trace's.

What the trace cannot replay breaks it (:meth:`Tracer.breaks`): another in-place change, a
random draw, a tensor's storage handed to NumPy or its values copied or printed
(``tensor(t)``, ``repr``), forward-mode tangents, a vmap over raw arrays, a primitive that
does not return a tensor, ``backward()`` (it writes ``.grad``), ``.grad`` read or set, a
gradient hook, a collective of ``chainrule.distributed``, an attribute of a Module made
before the call changed, a NumPy array changed in place after an op read it (each buffer an
op reads, not an argument's, is compared at the end of the call with a copy made when an op
first read it or a view of it: a replay reads one value of it for the whole call).  The
compiled function then runs eagerly, with a warning naming the cause.  (The places that hear of
these call ``chainrule.tracing``.)  Every Module the function uses is written down with its
state, which a replay checks.
A tensor value read by Python (``bool(t)``, ``t.item()``) becomes a :class:`Guard`: a replay
computes the same value and checks that it is what the trace saw, or traces again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import batching, engine, tracing
from chainrule.arguments import like
from chainrule.tensor_base import TensorBase, inplace_count, new_like


@dataclass
class Slot:
    """One value of a traced computation (see the module docstring)."""

    kind: str                 # "input", "external" or "op"
    shape: tuple
    dtype: Any
    requires_grad: bool       # whether gradients flow into it (statically, for this trace)
    tensor: Any = None        # an external's tensor (read at each replay)
    index: int = -1           # an input's position among the flattened arguments' tensors
    # its array's layout at the trace: an input's or external's is guarded (whether a reshape
    # is a view depends on it: see layout()); a region only computes "C" ones
    layout: Any = "C"


@dataclass
class Op:
    """One primitive call: ``slots[out] = prim(args..., **params)``; an argument is a slot
    number (an int) or a :class:`Const`."""

    prim: Any
    args: tuple
    params: dict
    out: int
    records: bool             # whether grad mode was on and an argument required grad


@dataclass(frozen=True)
class Const:
    """A non-tensor argument, baked into the plan."""

    value: Any


@dataclass
class Guard:
    """Python read slot ``slot``'s value as ``value`` (by ``kind``: "bool", "item", "tolist");
    a replay must read the same."""

    slot: int
    kind: str
    value: Any


@dataclass
class Trace:
    slots: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    guards: list = field(default_factory=list)
    outputs: list = field(default_factory=list)   # per output leaf: a slot number or a Const
    # per update in place: (the argument's or parameter's slot, the update's op's slot)
    updated: list = field(default_factory=list)
    detached: set = field(default_factory=set)    # slots made by detach(): they share versions
    views: set = field(default_factory=set)       # slots a view primitive made a view of its
    #                                               argument (eagerly: a _base, its versions)
    made: set = field(default_factory=set)        # externals the function made itself
    takes_gradients: bool = False                 # a backward pass ran inside the function
    # each Module the function used, by id: [the module, its call stamp and state then]; a
    # replay whose modules are in another state (train()/eval(), a parameter or hook
    # replaced) traces again
    modules: dict = field(default_factory=dict)
    broken: str | None = None


class NoGradient:
    """An op of the trace that is a NumPy function without gradient (see
    :meth:`Tracer.no_gradient`): what a plan needs of a primitive, and no rules."""

    save_inputs = save_ans = variadic = view = False
    vjp = None

    def __init__(self, func, shares: bool = False) -> None:
        self.func = func
        self.name = getattr(func, "__name__", "no_gradient")
        # (a ufunc's value is a new array; an alias's is its argument's, by design)
        self.impl = func if shares or isinstance(func, np.ufunc) else self._value_of_its_own

    def _value_of_its_own(self, *args, **kwargs):
        """The function's value, as an array of its own where the function handed back an
        argument's (cross_entropy's target check, when no target is ignored): a backward
        pass that reads it must not see the caller change the argument after the call."""
        value = self.func(*args, **kwargs)
        return value.copy() if any(value is a for a in args) else value


def _alias(value):
    return value


ALIAS = NoGradient(_alias, shares=True)
ALIAS.name = "alias"
"""The op of a tensor that holds a traced value but not its gradient connection (``detach()``
of a value that requires grad, ``func.grad``'s stand-in for an argument): the same value,
through which no gradient flows."""


class InPlace:
    """An op of the trace that writes ``ufunc(x, other)`` into ``x``'s array and returns it
    (``x op= other`` under ``no_grad``, an optimiser's update)."""

    save_inputs = save_ans = variadic = view = False
    vjp = None

    def __init__(self, ufunc) -> None:
        self.ufunc = ufunc
        self.name = f"{ufunc.__name__}_"
        self.written = False  # (by the replay under way: see compiled.py)

    def impl(self, x, other):
        self.ufunc(x, other, out=x, casting="same_kind")
        self.written = True
        return x


def _same_bytes(array: np.ndarray, first: np.ndarray) -> bool:
    """Whether ``array`` holds what its copy ``first`` does, bit for bit (a NaN equals
    itself), without making another copy of a contiguous one."""
    if array.shape != first.shape:
        return False
    if array.flags.c_contiguous and first.flags.c_contiguous:
        return memoryview(array).cast("B") == memoryview(first).cast("B")
    if array.flags.f_contiguous and first.flags.f_contiguous:
        return memoryview(array.T).cast("B") == memoryview(first.T).cast("B")
    return array.tobytes() == first.tobytes()


def returned_constant(value):
    """A value the function returned that is not a tensor, as the caller gets it: a NumPy
    array as a new one, as each eager call makes it (the caller may change the one it got);
    any other object is the trace's."""
    return np.array(value, copy=True) if type(value) is np.ndarray else value


def layout(data):
    """What of an array's layout a plan depends on (whether a reshape of it is a view): "C"
    for any C-contiguous one (its strides along dimensions of size 1 do not matter), else
    its strides."""
    return "C" if data.flags.c_contiguous else data.strides


def read_value(kind: str, raw) -> Any:
    """What Python read of a raw value, the way :class:`Guard` ``kind`` says."""
    if kind == "bool":
        return bool(raw)
    if kind == "item":
        return raw.item() if getattr(raw, "ndim", 0) == 0 else raw.reshape(-1)[0].item()
    return raw.tolist()


class Tracer:
    """Records one call of a function (see the module docstring)."""

    def __init__(self, inputs: list, arrays: tuple = ()) -> None:
        self.trace = Trace()
        # the NumPy arrays among the arguments (keyed by their contents): the plan keeps a
        # copy of each, which the caller cannot change
        self.argument_arrays = {id(a): a for a in arrays}
        self.slot_of: dict[int, int] = {}
        self.slot_of_value: dict[int, int] = {}  # id of an op's array (made in the call) -> slot
        self.nodes: set[int] = set()  # the nodes recorded during the call
        self.keep: list = []  # every tensor given a slot, and its array: their ids stay theirs
        self.hook = self.dispatch  # (one bound method, so that the engine's hook can be compared)
        self.quiet = 0  # inside a call being written down: its own reads are not the user's
        self.updates = 0  # updates in place written down (each counted in inplace_count)
        self.made: set[int] = set()  # ids of the tensors made during the call
        self.origin: dict[int, int] = {}  # an update's slot -> the slot of what it updated
        self.made_modules: set[int] = set()  # ids of the Modules made during the call
        self.watched: dict[int, tuple] = {}  # id -> (a NumPy array ops read, its value then)
        self.sharing: set[int] = set()  # ids of the tensors from_numpy or as_tensor made
        for i, t in enumerate(inputs):
            if id(t) not in self.slot_of:
                self._new_slot(t, "input", index=i)

    def _new_slot(self, t, kind: str, index: int = -1) -> int:
        data = t._data
        if kind == "external" and type(data) is np.ndarray and (
                id(t) in self.made or id(t) in self.sharing):
            self._watch(data)  # (the function may change the array it was made from)
        self.trace.slots.append(Slot(kind, tuple(data.shape), data.dtype, bool(t._rg),
                                     tensor=t if kind == "external" else None, index=index,
                                     layout=layout(data)))
        k = len(self.trace.slots) - 1
        self.slot_of[id(t)] = k
        self.keep.append(t)
        return k

    def slot(self, t) -> int:
        """``t``'s slot.  A tensor not seen before that holds a traced value is that value
        (see the module docstring); any other is an external."""
        found = self.slot_of.get(id(t))
        if found is not None:
            return found
        source = self.slot_of_value.get(id(t._data))
        if source is None:
            return self._new_slot(t, "external")
        return self._same_value(t, source)

    def _same_value(self, t, source: int) -> int:
        """The slot of ``t``, which holds slot ``source``'s value."""
        requires_grad = bool(t._rg)
        if requires_grad == self.trace.slots[source].requires_grad and (
                not requires_grad or t._node is not None):
            # no gradient through either, or the same history (a saved result's view)
            self.slot_of[id(t)] = source
            self.keep.append(t)
            return source
        return self._op_slot(t, ALIAS, (source,), requires_grad)

    def _op_slot(self, t, prim, args: tuple, requires_grad: bool, params=None,
                 records: bool = False) -> int:
        """Write down an op of ``prim`` whose result is tensor ``t``; its slot."""
        self.trace.slots.append(Slot("op", tuple(t._data.shape), t._data.dtype, requires_grad,
                                     layout=layout(t._data)))
        k = len(self.trace.slots) - 1
        params = {name: self._constant(value) for name, value in (params or {}).items()}
        self.trace.ops.append(Op(prim, args, params, k, records))
        self.slot_of[id(t)] = k
        self.keep.append(t)
        return k

    def _raised(self, where: str, err: Exception) -> None:
        """An operation raised: the function may catch the error and go on, but the trace
        holds no operation that raises, and a replay on values where it would not raise
        would take the way the function took after catching it."""
        self.breaks(f"an error raised by {where} ({type(err).__name__}) inside the function")

    def breaks(self, why: str) -> None:
        if self.trace.broken is None and not self.quiet:
            self.trace.broken = why

    def value_read(self, tensor, kind: str, value) -> None:
        self.trace.guards.append(Guard(self.slot(tensor), kind, value))

    # ----------------------------------------------------------------------------------------

    def dispatch(self, prim, args, params):
        """The engine's hook: run the call as usual and write it down."""
        if not any(isinstance(a, TensorBase) for a in args):
            # plain NumPy: a rule of a backward pass run inside the function (whose results
            # the trace would not see), or a constant computed from raw values
            if not self.quiet:
                self.breaks("a primitive called on raw values only (a computation the trace "
                            "does not see)")
            return NotImplemented
        for a in args:
            if isinstance(a, TensorBase):
                if a._batched:
                    return self._batched_call(prim, args, params)
                if a._tangents is not None:
                    self.breaks("forward-mode tangents inside the compiled function")
        if self.trace.broken is not None:
            # no plan will be made: the call runs as eagerly, its own primitive calls (a
            # tangent's, batched by jacfwd's vmap) coming back here
            return NotImplemented
        engine.batching[0] = None
        self.quiet += 1
        try:
            try:
                out = prim(*args, **params)
            finally:  # (restored first: breaks() records nothing while quiet)
                engine.batching[0] = self.hook
                self.quiet -= 1
        except Exception as err:
            self._raised(f"chainrule.{prim.name}", err)
            raise
        if not isinstance(out, TensorBase):
            self.breaks(f"chainrule.{prim.name} returned {type(out).__name__}, not a tensor")
            return out
        return self._record(prim, args, params, out, differentiable=True)

    def _batched_call(self, prim, args, params):
        """A vmap inside the traced function: vmap's dispatcher runs the batching rule on the
        stacked values, which the trace keeps as tensors, so that the rule's own primitive
        calls come back here and are written down (the plan replays the batched computation,
        with no vmap machinery).  A stacked value that is a raw array (a random draw inside
        the vmap) would be invisible: it breaks the trace."""
        for a in args:
            if a.__class__ is batching.BatchedTensor and not isinstance(a._value, TensorBase):
                self.breaks("a vmap over raw arrays the trace does not see (made inside "
                            "the vmap: a random draw, or jacrev's basis)")
        out = batching.dispatch(prim, args, params)
        if isinstance(out, TensorBase) and out._node is not None:
            self.nodes.add(id(out._node))  # (a grad inside the vmap may go back through it)
            self.keep.append(out)
        if (out.__class__ is batching.BatchedTensor
                and not isinstance(out._value, TensorBase)):
            self.breaks(f"a batching rule of chainrule.{prim.name} computed on raw values")
        return out

    def leaf_made(self, t) -> None:
        """``t`` became a leaf that requires grad; a traced value that did is, from here on,
        an :data:`ALIAS` op whose result requires grad (gradients stop there)."""
        self.tensor_made(t)
        k = self.slot_of.get(id(t))
        if k is not None and not self.trace.slots[k].requires_grad:
            self.slot_of.pop(id(t))
            self._same_value(t, k)

    def tensor_made(self, t) -> None:
        """``t`` was made during the call (from Python values, or as a new leaf)."""
        self.made.add(id(t))
        self.keep.append(t)

    def array_shared(self, t) -> None:
        """``t`` shares a NumPy array's storage (``from_numpy``, ``as_tensor``): an external
        read afresh at each replay, whose array must not change during the call once an op
        read it."""
        self.sharing.add(id(t))
        self.keep.append(t)

    def detached(self, source, t, shares_version: bool) -> None:
        """``t = source.detach()`` (``shares_version``) or ``source.data``: the same value, as
        an :data:`ALIAS` op of its own (a result that is one is a tensor of its own, as
        eagerly)."""
        k = self._op_slot(t, ALIAS, (self.slot(source),), bool(t._rg))
        if shares_version:
            self.trace.detached.add(k)

    def module_used(self, module) -> None:
        """The trace depends on the state of ``module`` and of its submodules (read without
        being called) as it is now, the first time it is used: a replay checks it (a module
        the function made is its own)."""
        stack = [module]
        while stack:  # (by id: a module may define __eq__ and not be hashable)
            part = stack.pop()
            if part is None or id(part) in self.trace.modules or id(part) in self.made_modules:
                continue
            self.trace.modules[id(part)] = [part, part._call_stamp(), part._call_state()]
            stack.extend(part._modules.values())

    def module_made(self, module) -> None:
        self.made_modules.add(id(module))
        self.keep.append(module)  # (its id stays its own)

    def module_set(self, module, what: str) -> None:
        """A module made before the call changed inside it: a side effect a replay would not
        repeat (one made inside is the function's own)."""
        if id(module) not in self.made_modules:
            self.breaks(f"{what} inside the function (a replay would not do it)")

    def array_made(self, old, new) -> None:
        """A tensor's NumPy scalar ``old`` was replaced by the 0-d array ``new``."""
        k = self.slot_of_value.get(id(old))
        if k is not None:
            self.slot_of_value[id(new)] = k
            self.keep.append(new)

    def takes_gradients(self) -> None:
        """A backward pass runs inside the function (a pullback that vmap batches then runs
        the plan's backward pass per example)."""
        self.trace.takes_gradients = True

    def backward_starts(self, accumulate: bool, root_nodes) -> bool:
        """A backward pass starts (see ``tracing.backward_on_tensors``): it is written down
        when it returns its gradients and every node it may reach was recorded in this call
        (a node recorded before it saved values the plan would take as constants)."""
        if accumulate:
            self.breaks("backward() (it writes .grad; autograd.grad or chainrule.func.grad "
                        "return the gradients instead)")
            return False
        stack, seen = list(root_nodes), set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) not in self.nodes:
                self.breaks("a backward pass through operations recorded before the call (pass "
                            "the tensors they start from to the compiled function instead)")
                return False
            stack.extend(p for p in node.parents if p is not None and type(p) is type(node))
        self.takes_gradients()
        return True

    def updated_in_place(self, t, ufunc, other) -> None:
        """``t``'s array was just written into (``t op= other``, nothing recorded): an op whose
        result, the same array, is ``t``'s value from now on.  A tensor that does not own its
        whole array (a view) breaks the trace."""
        before = self.slot(t)
        origin = self.origin.get(before, before)
        kind = self.trace.slots[origin].kind
        if t._base is not None or not (kind == "input" or (
                kind == "external" and t._rg and t._node is None
                and id(t) not in self.made)):
            self.breaks("an in-place change of a tensor other than an argument or a parameter "
                        "(a leaf that requires grad, made before the call), or of a view")
            return
        other_ref = (self.slot(other) if isinstance(other, TensorBase)
                     else Const(self._constant(other)))
        self.updates += 1
        # (its array existed before the call: not matched by identity, not in slot_of_value)
        k = self._op_slot(t, InPlace(ufunc), (before, other_ref), bool(t._rg))
        self.trace.updated.append((origin, k))
        self.origin[k] = origin

    def _record(self, prim, args, params, out, differentiable: bool):
        """Write down ``out = prim(*args, **params)``; it records a node (statically) when grad
        mode is on and a tensor argument requires grad."""
        refs = tuple(self.slot(a) if isinstance(a, TensorBase) else Const(self._constant(a))
                     for a in args)
        records = differentiable and engine.grad_mode.enabled and any(
            isinstance(r, int) and self.trace.slots[r].requires_grad for r in refs)
        k = self._op_slot(out, prim, refs, records, params, records)
        if out._base is not None and prim.view:
            self.trace.views.add(k)
        self.slot_of_value[id(out._data)] = k
        self.keep.append(out._data)
        if out._node is not None:
            self.nodes.add(id(out._node))
        return out

    def _constant(self, value):
        """``value`` as the plan keeps it: a copy of an argument's NumPy array (also inside
        a tuple: an index); any other array itself, watched (see :meth:`_watch`)."""
        if type(value) is np.ndarray:
            if id(value) in self.argument_arrays:
                return np.array(value, copy=True)
            self._watch(value)
            return value
        if type(value) is tuple:
            return tuple(map(self._constant, value))
        return value

    def _watch(self, array: np.ndarray) -> None:
        """Keep a copy of ``array`` as an op first read it: a replay reads one value of it for
        the whole call, so a change during the call (``buf += 1`` after ``x * buf``) must
        break the trace (:meth:`finish` compares)."""
        while isinstance(array.base, np.ndarray):  # (one copy of a buffer, for all its views)
            array = array.base
        if array.dtype.kind in "biufcmM" and id(array) not in self.watched:
            self.watched[id(array)] = (array, array.copy(order="K"))

    def no_gradient(self, func, args, kwargs):
        """``chainrule.ops.no_gradient``: a NumPy function of tensors' values, without gradient
        (comparisons, ``argmax`` ...), written down as an op that never records."""
        raw = [a._data if isinstance(a, TensorBase) else a for a in args]
        op = NoGradient(func)
        try:
            value = func(*raw, **kwargs)
        except Exception as err:
            self._raised(op.name, err)
            raise
        handed_back = next((a for a, r in zip(args, raw) if value is r), None)
        if handed_back is not None:
            value = value.copy()  # (as each replay's: see NoGradient)
        out = like(args, value)
        if not isinstance(out, TensorBase):
            return out
        self._record(op, args, kwargs, out, differentiable=False)
        if isinstance(handed_back, TensorBase):
            # its values are the argument's at the call: a change of the argument refuses a
            # backward pass that reads them, as eagerly (the plan's: Plan._storages_read)
            if handed_back._vc is None:
                handed_back._vc = [0]
            out._vc = handed_back._vc
        return out

    def run(self, fn, args, kwargs):
        """Call ``fn`` with the hooks in place; returns its result (the eager one)."""
        if engine.batching[0] is not None or tracing.active[0] is not None:
            self.breaks("a vmap or another trace is open")
            return fn(*args, **kwargs)
        count, grad_mode = inplace_count[0], engine.grad_mode.enabled
        engine.batching[0] = self.hook
        tracing.active[0] = self
        try:
            result = fn(*args, **kwargs)
            if engine.grad_mode.enabled != grad_mode:
                self.breaks("grad mode changed and not restored (set_grad_enabled called as "
                            "a function: a replay would not change it)")
        finally:
            if engine.batching[0] is not self.hook:  # (taken by a vmap opened elsewhere)
                self.breaks("the engine's dispatch hook was taken during the trace")
            else:
                engine.batching[0] = None
            tracing.active[0] = None
        if inplace_count[0] != count + self.updates:
            self.breaks("an in-place operation (a tensor changed in place)")
        return result

    def finish(self, leaves: list) -> None:
        """Write down the function's result (its leaves: a tensor's slot, or a constant)."""
        for leaf in leaves:
            self.trace.outputs.append(self.slot(leaf) if isinstance(leaf, TensorBase)
                                      else Const(returned_constant(leaf)))
        self._check_externals()
        slots = self.trace.slots
        self.trace.made = {k for k, slot in enumerate(slots)
                           if slot.kind == "external" and id(slot.tensor) in self.made}
        for k in self.trace.made:  # (the caller may change the one this call returns)
            if slots[k].requires_grad:  # (each eager call makes a new leaf to differentiate)
                self.breaks("a tensor that requires grad made inside the function from Python "
                            "values (pass it in, or make it outside)")
            data = slots[k].tensor._data
            first = self.watched.get(id(data))
            slots[k].tensor = new_like(slots[k].tensor,
                                       np.array(data) if first is None else first[1])
        if any(not _same_bytes(array, first) for array, first in self.watched.values()):
            self.breaks("a NumPy array changed in place after an operation read it (a replay "
                        "would read only its last value): change a copy (np.copy), or make "
                        "it a tensor")
        result_requires_grad = any(isinstance(o, int) and slots[o].requires_grad
                                   for o in self.trace.outputs)
        if result_requires_grad and any(op.prim is ALIAS and slots[op.out].requires_grad
                                        for op in self.trace.ops):
            # (its gradient would stop at a leaf of the trace's, not of the call's making)
            self.breaks("a leaf that requires grad made inside the function from a traced "
                        "value (detach().requires_grad_()), with a result that requires grad")
        if self.trace.updated and result_requires_grad:
            # (a value the backward pass would read may have been overwritten)
            self.breaks("an in-place update in a function whose result requires grad")
        if self.trace.updated and self.trace.guards:
            # (a replay checks the values read at its end, after writing the updates)
            self.breaks("an in-place update in a function that branches on a tensor's value")

    def _check_externals(self) -> None:
        """An external that holds a traced value came from the trace by a way :meth:`slot` did
        not see (a value's array swapped for another holding it, as ``detach()`` of a NumPy
        scalar does): its value would be stale at the next call."""
        slots = self.trace.slots
        # (an external updated in place holds its own array, which later values share)
        written = {origin for origin, _ in self.trace.updated}
        traced_values = {id(t._data) for t in self.keep if isinstance(t, TensorBase)
                         and id(t) in self.slot_of
                         and slots[self.slot_of[id(t)]].kind != "external"}
        for k, slot in enumerate(slots):
            if (slot.kind == "external" and k not in written
                    and id(slot.tensor._data) in traced_values):
                self.breaks("a tensor detached from the computation (detach() or .data) inside "
                            "the compiled function")
