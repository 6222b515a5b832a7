"""``chainrule.compile(fn)``: a function that traces itself once per kind of call and replays.

A call is looked up by its **key**: the arguments' structure, each tensor's shape, layout,
dtype and whether it requires grad, each other argument's value, whether grad mode is on, the
default dtype, and a compiled Module's training mode.
A key seen before has one or more plans (one per pattern of branches the function took, or
state of its modules); each is replayed in turn until one whose guards hold:

* every Module the trace used is in the state it was in (``Module._call_state``: its plain
  attributes, parameters, buffers, submodules and forward hooks);
* its externals (parameters, closed-over tensors) still have the shapes, layouts, dtypes and
  requires-grad flags of the trace;
* every value Python read during the trace (``if x.sum() > 0``) reads the same in the replay.

Results that share an array with an argument, a parameter or another result (views,
``detach()``, updates in place) are made from that tensor eagerly, as the eager call made
them, and results sharing an array share a version counter; the backward pass from each
result refuses, as the engine does, when a value it reads was changed in place since.

A call that no plan fits is traced (run eagerly, its result returned) and its plan added to
the cache, up to ``cache_size_limit`` entries in all (torch._dynamo's default, 8: plans, and
keys whose trace broke), after which the function runs eagerly with one warning.  A
trace that breaks (see ``trace.py``) runs eagerly for that key, with a warning that says why:
never a wrong result.

A replayed call's result is a tensor whose history is **one node**: a primitive made for the
plan, whose VJP runs the plan's backward pass on the values the forward pass kept.  So
``backward()``, ``autograd.grad`` and ``chainrule.func.grad`` go through a compiled function as
through any operation.  With ``create_graph=True``, or a cotangent that vmap batched
(``jacrev``), that node's VJP runs the function again eagerly, recording, so that higher
derivatives stay exact; a function that takes gradients itself runs the plan's backward pass
on each example of a batched cotangent instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import engine, pytree
from chainrule.batching import BatchedTensor, batched
from chainrule.compiler.plan import Plan, _dense
from chainrule.compiler.trace import (
    ALIAS,
    Const,
    InPlace,
    Tracer,
    layout,
    read_value,
    returned_constant,
)
from chainrule.creation import get_default_dtype
from chainrule.engine import BACKWARD_TWICE, Primitive
from chainrule.grad_mode import enable_grad, no_grad
from chainrule.gradient import gradients
from chainrule.nn.modules.module import Module
from chainrule.tensor import wrap
from chainrule.tensor_base import TensorBase, inplace_count

CACHE_SIZE_LIMIT = 8
_TENSORS_ONLY = "tensors only"  # (the first part of the key of a call with tensors alone)


class _Unhashable:
    """Stands in a key for an argument that cannot be hashed: it is compared by identity."""

    __slots__ = ("obj",)

    def __init__(self, obj) -> None:
        self.obj = obj

    def __eq__(self, other) -> bool:
        return isinstance(other, _Unhashable) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _key(leaves: list, spec) -> tuple:
    """What a call must share with a traced one for its plan to apply: the structure, each
    tensor's shape, layout (whether a reshape is a view), dtype, requires-grad flag and
    leafness, which arguments are the same tensor, each other value (a float by its exact
    text, so that ``-0.0`` and ``nan`` key as themselves; an ndarray by its contents), grad
    mode and the default dtype (of the tensors the function makes from Python numbers)."""
    parts: list = [spec, engine.grad_mode.enabled, get_default_dtype(), _aliasing(leaves)]
    for leaf in leaves:
        if isinstance(leaf, TensorBase):
            data = leaf._data
            parts.append(("T", data.shape, layout(data), data.dtype, leaf._rg,
                          leaf._node is None))
        elif isinstance(leaf, (float, complex, np.floating, np.complexfloating)):
            parts.append((type(leaf), repr(leaf)))
        elif isinstance(leaf, np.ndarray):
            parts.append((np.ndarray, leaf.shape, leaf.dtype, leaf.tobytes()))
        else:
            try:
                hash(leaf)
                parts.append((type(leaf), leaf))
            except TypeError:
                parts.append(_Unhashable(leaf))
    return tuple(parts)


def _aliasing(values) -> tuple | None:
    """Which tensors among ``values`` are the same object (None when all differ): a plan
    traced with ``f(x, x)`` reads one input twice, and must not serve ``f(x, y)``."""
    ids = [id(v) for v in values if isinstance(v, TensorBase)]
    if len(set(ids)) == len(ids):
        return None
    return tuple(ids.index(i) for i in ids)


class _Call:
    """One replayed call, shared by its outputs' nodes: the outputs, the values the plan's
    backward pass reads (``saved``, a list), the version counters each output's backward pass
    checks (``versions``, filled by :meth:`CompiledFunction._wrap`), and what the backward pass
    of ``create_graph=True`` needs to run the function again (the function, its arguments,
    the tensors gradients flow into, and every tensor the call read with its version)."""

    __slots__ = ("plan", "saved", "outputs", "fn", "args", "kwargs", "flat", "grads",
                 "versions", "grad_inputs", "read")

    def __init__(self, plan, saved, outputs, fn, args, kwargs, flat, grad_inputs,
                 tensors) -> None:
        self.plan = plan
        self.saved = list(saved)
        self.outputs = outputs
        self.fn = fn
        self.args = args  # (tensors only, or else ``flat``: their leaves and structure)
        self.kwargs = kwargs
        self.flat = flat
        self.grads = None  # (output, cotangent, the gradients) of the last backward step
        # for each output: the tensors whose arrays its backward pass reads (an argument, or a
        # result sharing a value it saved) and their versions at the call
        self.versions: list[list] = []
        # (the nodes do not save them: which of their values the backward pass reads, and so
        # must not change, is for check_versions to say)
        self.grad_inputs = grad_inputs
        # every argument and external with its version: a create_graph=True backward pass runs
        # the function again on them, so none may have changed since
        self.read = [(t, t._version, t._data)
                     for t in (*tensors, *(g[0] for g in plan.external_guards))]

    def arguments(self) -> tuple:
        """``(args, kwargs)`` as they were at the call: a container of them that the caller
        changed afterwards (a dict entry rebound) must not change what the function runs
        again on (new containers of the same leaves)."""
        if self.flat is None:
            return self.args, self.kwargs
        leaves, spec = self.flat
        return pytree.unflatten(spec, leaves)

    def pass_from(self, out: int, cotangent, free: bool) -> tuple:
        """The plan's backward pass from output ``out`` with ``cotangent``.  With ``free`` the
        plan frees each saved value at its last use (it empties the list it is handed), as the
        engine would: nothing is kept for a second pass."""
        cotangents = [None] * len(self.plan.output_slots)
        cotangents[out] = cotangent
        if free:
            saved, self.saved = self.saved, None
            return self.plan.backward(saved, cotangents)
        return self.plan.backward(tuple(self.saved), cotangents)

    def check_unchanged(self) -> None:
        """Refuse to run the function again (``create_graph=True``) on tensors changed in
        place since the call: it would differentiate it at other values."""
        for t, version, data in self.read:
            # (changed in place, or .data replaced: a NumPy scalar made a 0-d array is not)
            if t._version != version or (type(data) is np.ndarray and t._data is not data):
                raise RuntimeError(
                    "chainrule.compile: a create_graph=True backward pass through a replayed "
                    "call runs the function again, and a tensor it reads "
                    f"([{t.dtype} tensor of shape {tuple(t.shape)}]) was changed in place "
                    "since the call: it would differentiate the function at other values. "
                    "Take the gradient before changing it, or call the function without "
                    "compile")
        if not self.plan.modules_unchanged():
            raise RuntimeError(
                "chainrule.compile: the modules this call used changed between the call and "
                "its create_graph=True backward pass (train()/eval(), a parameter, submodule "
                "or hook replaced), which runs the function again: it would differentiate "
                "another function. Take the higher-order gradient before changing the "
                "modules, or call the function without compile")

    def check_versions(self, out: int) -> None:
        """Refuse, as the engine does, a backward pass from output ``out`` whose saved values
        were changed in place since the call (through an argument, or a result sharing them)."""
        for counter, version, slot in self.versions[out]:
            if counter[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{slot.dtype} tensor of shape {slot.shape}], read "
                    f"by a compiled function, is at version {counter[0]}; expected version "
                    f"{version} instead. Hint: the compiled function saved this tensor (or the "
                    "values it shares) for its gradient and it was changed in place "
                    "afterwards; use an out-of-place operation or .clone() the tensor before "
                    "changing it.")


_HELD = ("warn", "call", "log", "print")
_MODE_OF = {"divide by zero": "divide", "overflow": "over", "underflow": "under",
            "invalid value": "invalid"}


def _report(errors: list, modes: dict, where: str) -> None:
    """Report the floating-point ``errors`` a replay held, ``(kind, flag)`` as NumPy's error
    callback gets them, each as the caller's ``np.errstate`` says (once per kind)."""
    for kind, flag in dict.fromkeys(errors):
        mode = modes.get(_MODE_OF.get(kind, "invalid"), "warn")
        text = f"{kind} encountered in {where}"
        callback = np.geterrcall()
        if mode in ("call", "log") and callback is None:  # (NumPy's own error)
            raise NameError(f"python callback specified for {kind} (in {where}) but no "
                            "function found.")
        if mode == "call":
            callback(kind, flag)
        elif mode == "log":
            callback.write(f"Warning: {text}\n")
        elif mode == "print":
            print(f"Warning: {text}")
        else:
            warnings.warn(text, RuntimeWarning, stacklevel=4)


def _leaf(plan: Plan, k: int, tensors):
    """The tensor of input or external slot ``k`` in this call."""
    slot = plan.trace.slots[k]
    return tensors[slot.index] if slot.kind == "input" else slot.tensor


def _bump_updated(updated) -> None:
    """The versions of the arguments and parameters a replay wrote into, once per update."""
    for t in updated:
        t._bump_version()


def _result(*raw, _call, _out):
    return _call.outputs[_out]


def _vjp(i, g, ans, *inputs, _call, _out):
    """The gradient of input ``i`` of the plan's node for output ``_out``: the plan's backward
    pass, run once for all inputs (the engine asks input by input, with the same ``g``)."""
    cached = _call.grads
    if (cached is None or cached[0] != _out or cached[1] is not g or i in cached[3]
            or cached[4] != inplace_count[0]):  # (g, or what it reads, changed in place)
        if (isinstance(g, BatchedTensor) and not isinstance(g._value, TensorBase)
                and _call.plan.trace.takes_gradients):
            # vmap of the pullback (jacrev) of a function that takes gradients itself: the
            # plan's backward pass for each example (running the function again would run
            # its own transforms under this vmap level, unconnected to the call)
            if engine.grad_mode.enabled:  # (recorded: a derivative of this pullback follows)
                raise RuntimeError(
                    "chainrule.compile: a derivative of a vmapped pullback (jacrev of jacrev) "
                    "through a replayed function that takes gradients itself is not "
                    "supported; call the function without compile for this order")
            _call.check_versions(_out)
            grads = _batched_grads(_call, _out, g)
        elif isinstance(g, TensorBase):  # create_graph: run the function again, recording
            _call.check_versions(_out)  # (the engine's error, where eager gives it)
            _call.check_unchanged()
            grads = _eager_grads(_call, _out, g, _call.grad_inputs)
        else:
            if _call.saved is None:
                raise RuntimeError(BACKWARD_TWICE)
            _call.check_versions(_out)
            grads = _call.pass_from(_out, g, free=_call.plan.may_free_saved())
        cached = _call.grads = (_out, g, grads, set(), inplace_count[0])
    cached[3].add(i)
    if len(cached[3]) == len(cached[2]):
        _call.grads = None  # every input has its gradient: keep nothing alive
    return cached[2][i]


def _batched_grads(call, out, g) -> tuple:
    """The gradients for a cotangent batched by vmap (``jacrev`` of a compiled function that
    takes gradients itself): the plan's backward pass run on each example's cotangent, the
    results stacked at g's level."""
    if call.saved is None:
        raise RuntimeError(BACKWARD_TWICE)
    per_example = [[_dense(r) for r in call.pass_from(out, example, free=False)]
                   for example in g._value]
    if call.plan.may_free_saved():
        call.saved = None  # (one pass, as an unbatched one: nothing kept for a second)
    grads = []
    for k in range(len(per_example[0])):
        parts = [r[k] for r in per_example]
        present = next((p for p in parts if p is not None), None)
        if present is None:
            grads.append(None)
            continue
        stacked = np.stack([np.zeros_like(present) if p is None else p for p in parts])
        grads.append(batched(stacked, g._level))
    return tuple(grads)


def _eager_grads(call, out, g, inputs) -> tuple:
    """``create_graph=True``: the function run again eagerly, recording, and differentiated
    (in the engine's convention for complex values, as the engine asks)."""
    if _history_reaches(inputs):
        raise RuntimeError(
            "chainrule.compile: a create_graph=True backward pass through a replayed call "
            "whose argument was computed from another tensor the call differentiates (an "
            "argument made from a parameter the function also reads) is not supported: "
            "running the function again would count that path twice. Call the function "
            "without compile for higher-order gradients, or pass the argument detached")
    with enable_grad():
        args, kwargs = call.arguments()
        outputs = pytree.tree_leaves(call.fn(*args, **kwargs))
    result = [o for o in outputs if isinstance(o, TensorBase)]
    return tuple(gradients([result[out]], list(inputs), grad_outputs=[g], create_graph=True,
                           allow_unused=True, pytorch_convention=False))


def _history_reaches(inputs) -> bool:
    """Whether the recorded history of one of ``inputs`` reaches another of them: the
    gradient of the function run again with respect to the other would then also count the
    path through the first, which the engine adds once more."""
    targets = {id(t._node) if t._node is not None else id(t) for t in inputs}
    for t in inputs:
        if t._node is None:
            continue
        seen, stack = {id(t._node)}, list(t._node.parents)
        while stack:
            parent = stack.pop()
            if parent is None or id(parent) in seen:
                continue
            if id(parent) in targets:
                return True
            seen.add(id(parent))
            stack.extend(getattr(parent, "parents", ()) or ())
    return False


def _no_jvp(tangents, ans, *inputs, _call, _out):
    raise RuntimeError("chainrule.compile: forward mode through a replayed compiled function is "
                       "not supported yet; call the function without compile inside jvp")


REPLAYED = Primitive("compiled function", _result, _vjp, save_inputs=False, save_ans=False,
                     view=False, variadic=True, jvp=_no_jvp,
                     node_name="CompiledFunctionBackward")
"""The node a replayed call records for each output that requires grad: its inputs are the
plan's inputs and externals that require grad; ``_call`` and ``_out`` (its parameters) say
which call and which output."""


class CompiledFunction:
    """What :func:`chainrule.compile` returns (see the module docstring)."""

    def __init__(self, fn: Callable, cache_size_limit: int = CACHE_SIZE_LIMIT,
                 fullgraph: bool = False, options: dict | None = None,
                 module: Module | None = None) -> None:
        # fn's name and docstring, not its attributes (a callable object's own fn or options
        # would replace this one's)
        functools.update_wrapper(self, fn, updated=())
        if not hasattr(self, "__name__"):  # (a functools.partial, a callable object)
            named = fn.func if isinstance(fn, functools.partial) else type(fn)
            self.__name__ = getattr(named, "__name__", "fn")
        if module is None and isinstance(getattr(fn, "__self__", None), Module):
            module = fn.__self__  # (compile(model.forward): the model is guarded as a whole)
        self.fn = fn
        self.module = module  # (a compiled Module's: its tree, called or not)
        self.fullgraph = fullgraph
        self.options = _checked_options(options)
        self.cache_size_limit = cache_size_limit
        self.plans: dict[tuple, list] = {}
        self.eager_keys: set = set()  # (the kinds of call whose trace broke)
        self.traces = 0
        self.last_plan: Plan | None = None
        self._warned_limit = False

    def __call__(self, *args, **kwargs):
        if engine.batching[0] is not None:  # inside vmap (or another trace): eager
            return self.fn(*args, **kwargs)
        # the common call, tensors alone, keyed without flattening (this is every replay's
        # cost): their shapes, dtypes and requires-grad flags, grad mode and the default dtype
        key = flat = None
        if not kwargs:
            parts = [_TENSORS_ONLY, engine.grad_mode.enabled, get_default_dtype()]
            for a in args:
                if not isinstance(a, TensorBase) or a._tangents is not None:
                    break
                data = a._data
                parts.append((data.shape, layout(data), data.dtype, a._rg, a._node is None))
            else:
                if len(args) > 1:
                    parts.append(_aliasing(args))
                key, tensors = tuple(parts), args
        if key is None:
            leaves, spec = pytree.flatten((args, kwargs))
            if any(isinstance(t, TensorBase) and t._tangents is not None for t in leaves):
                return self.fn(*args, **kwargs)  # forward mode: eager (not compiled yet)
            key = _key(leaves, spec)
            tensors = [t for t in leaves if isinstance(t, TensorBase)]
            flat = (leaves, spec)
        if self.module is not None:  # (a model's training call may break where eval's not)
            key = (key, self.module.training)
        if key in self.eager_keys:
            return self.fn(*args, **kwargs)
        for plan in self.plans.get(key, ()):
            done = self._replay(plan, tensors, args, kwargs, flat)
            if done is not None:
                return done[0]
        # (the kinds of call that broke their trace count too: each would trace again)
        if sum(map(len, self.plans.values())) + len(self.eager_keys) >= self.cache_size_limit:
            if not self._warned_limit:
                warnings.warn(f"chainrule.compile: {self.__name__} has {self.cache_size_limit} "
                              "compiled plans (cache_size_limit); new kinds of call run "
                              "eagerly from now on", RuntimeWarning, stacklevel=2)
                self._warned_limit = True
            return self.fn(*args, **kwargs)
        return self._trace(key, tensors, args, kwargs)

    def _trace(self, key, tensors, args, kwargs):
        arrays = [a for a in pytree.tree_leaves((args, kwargs)) if isinstance(a, np.ndarray)]
        tracer = Tracer(tensors, arrays)
        if self.module is not None:
            tracer.module_used(self.module)
        result = tracer.run(self.fn, args, kwargs)
        self.traces += 1
        trace = tracer.trace
        out_leaves, out_spec = pytree.flatten(result)
        tracer.finish(out_leaves)
        if trace.broken is None:
            try:
                plan = Plan(trace, getattr(self.fn, "__name__", "fn"), out_spec,
                            returns_leaf=isinstance(result, TensorBase), **self.options)
            except Exception as err:  # a plan that cannot be written: eager, never wrong
                trace.broken = f"the plan could not be built ({type(err).__name__}: {err})"
        if trace.broken is not None:
            if self.fullgraph:
                raise RuntimeError(f"chainrule.compile(fullgraph=True): {self.__name__} cannot "
                                   f"be compiled whole: {trace.broken} breaks the trace")
            warnings.warn(f"chainrule.compile: {self.__name__} runs eagerly for this kind of "
                          f"call: {trace.broken} breaks the trace", RuntimeWarning,
                          stacklevel=3)
            self.eager_keys.add(key)
            return result
        self.plans.setdefault(key, []).append(plan)
        self.last_plan = plan
        if any(type(leaf) is np.ndarray for leaf in out_leaves):
            # (a NumPy array returned may be one the plan reads: the caller gets a copy, as
            # from every replay, which it may change)
            result = pytree.unflatten(out_spec, [returned_constant(leaf) for leaf in out_leaves])
        return result

    def _replay(self, plan: Plan, tensors, args, kwargs, flat):
        """The plan's result for this call, as ``(result,)``, or None if a guard fails."""
        if plan.trace.modules and not plan.modules_unchanged():
            return None  # (a module switched to eval(), or a parameter or hook replaced)
        updated = [_leaf(plan, k, tensors) for k in plan.updated_leaves]
        for t in updated:  # (an array to write into, not a NumPy scalar)
            t._ensure_array()
        for update in plan.updates:
            update.written = False
        values = [tensors[i]._data for i in plan.input_positions]
        for t, shape, traced_layout, dtype, requires_grad in plan.external_guards:
            data = t._data
            if (data.shape != shape or layout(data) != traced_layout or data.dtype != dtype
                    or bool(t._rg) != requires_grad):
                return None
            values.append(data)
        errors = None
        try:
            if plan.trace.guards:
                # a replay down the wrong branch may meet floating-point errors that eager
                # would not (then it traces again): NumPy's reports of them (a warning, the
                # caller's callback, a print) are held until its branches are known to be the
                # trace's; an error told to raise still raises
                errors, modes = [], np.geterr()
                held = {kind: "call" if mode in _HELD else mode for kind, mode in modes.items()}
                with np.errstate(call=lambda kind, flag: errors.append((kind, flag)), **held):
                    outputs, saved, reads = plan.forward(*values)
            else:
                outputs, saved, reads = plan.forward(*values)
        except Exception as err:
            if not any(update.written for update in plan.updates):
                # down the wrong branch, or an error: the eager call (a trace) gives what the
                # user expects, or raises it with chainrule's message
                return None
            _bump_updated(updated)
            raise RuntimeError(
                f"chainrule.compile: {self.__name__} failed after its replay had written an "
                f"update in place ({type(err).__name__}: {err}), so it cannot run again "
                "eagerly. The call differs from its trace where the trace did not fail: put "
                "the updates after every operation that may fail, or call the function "
                "without compile") from err
        for guard, raw in zip(plan.trace.guards, reads):
            # exactly what the trace read, by its text: -0.0 is not 0.0, and nan is nan
            if repr(read_value(guard.kind, raw)) != repr(guard.value):
                return None
        if errors:
            _report(errors, modes, f"a replay of {self.__name__} (compiled)")
        _bump_updated(updated)  # (written into: a node that saved them must refuse)
        self.last_plan = plan
        return (self._wrap(plan, outputs, saved, tensors, args, kwargs, flat),)

    def _wrap(self, plan: Plan, outputs, saved, tensors, args, kwargs, flat):
        if plan.plain_results:  # (the common no-gradient result)
            if plan.returns_leaf:
                return wrap(outputs[0])
            made = iter(outputs)
            return pytree.unflatten(plan.out_spec, [
                returned_constant(out.value) if isinstance(out, Const) else wrap(next(made))
                for out in plan.trace.outputs])
        slots = plan.trace.slots
        # (an output that requires grad records even under no_grad: the function enabled
        # grad itself, and its trace says so, as an eager call would)
        recording = plan.backward is not None
        grad_inputs = [_leaf(plan, k, tensors) for k in plan.grad_slots]
        call = (_Call(plan, saved, outputs, self.fn, args, kwargs, flat, grad_inputs, tensors)
                if recording else None)
        # each result's tensor; those in one storage share a version counter, as eagerly
        tensor_of: dict[int, TensorBase] = {}
        counters: dict[int, list] = {}
        for j, o in enumerate(plan.output_slots):
            if j in plan.made_from_root or o in tensor_of:
                continue
            if recording and slots[o].requires_grad:
                with enable_grad():
                    result = REPLAYED(*grad_inputs, _call=call, _out=j)
            else:
                result = wrap(outputs[j])
            result._vc = counters.setdefault(plan.root(o), [0])
            tensor_of[o] = result
        for j, (root, path) in plan.made_from_root.items():
            o = plan.output_slots[j]
            if o not in tensor_of:
                tensor_of[o] = self._made_from_root(plan, root, path, tensor_of, tensors, counters)
        if call is not None:
            # what each output's backward pass reads that the caller may change in place: an
            # argument or parameter, or a value sharing a result's version counter
            for reads in plan.read_by_backward:
                counted = []
                for r in reads:
                    if r in counters:
                        counted.append((counters[r], slots[r]))
                    elif slots[r].kind != "op" and r not in plan.trace.made:
                        leaf = _leaf(plan, r, tensors)
                        if leaf._vc is None:
                            leaf._vc = [0]
                        counted.append((leaf._vc, slots[r]))
                call.versions.append([(vc, vc[0], slot) for vc, slot in counted])
        leaves = []
        for out in plan.trace.outputs:
            if isinstance(out, Const):
                leaves.append(returned_constant(out.value))
            else:
                leaves.append(tensor_of[out])
        if plan.returns_leaf:
            return leaves[0]
        return pytree.unflatten(plan.out_spec, leaves)

    @staticmethod
    def _made_from_root(plan: Plan, root: int, path: tuple, tensor_of, tensors, counters):
        """A result made eagerly from the tensor of its storage's ``root`` (an argument, a
        parameter, a tensor the function made, or another result) by the ops of ``path``
        (views, detach(), updates in place, which the replay has written), as the eager call
        made it."""
        t = tensor_of.get(root)
        if t is None:
            if root in plan.trace.made:  # (made by each eager call: a new one, as eagerly)
                t = wrap(np.array(plan.trace.slots[root].tensor._data, copy=True))
                t._vc = counters.setdefault(root, [0])
            else:
                t = _leaf(plan, root, tensors)
            tensor_of[root] = t
        for op in path:
            if op.prim is ALIAS:
                t = t.detach()
            elif type(op.prim) is not InPlace:  # (an update: the tensor itself)
                mode = enable_grad() if plan.trace.slots[op.out].requires_grad else no_grad()
                with mode:
                    t = op.prim(t, *(a.value for a in op.args[1:]), **op.params)
        return t

    # ----------------------------------------------------------------------------------------

    def explain(self, *args, **kwargs) -> str:
        """The plan this call replays (tracing it first if needed), as Python source."""
        self(*args, **kwargs)
        if self.last_plan is None:
            return f"# {self.__name__} runs eagerly for this call (see the warning)\n"
        return self.last_plan.source

    @property
    def source(self) -> str:
        """The source of the last plan traced or replayed."""
        if self.last_plan is None:
            raise RuntimeError("chainrule.compile: nothing compiled yet; call the function "
                               "once (or use .explain(*args))")
        return self.last_plan.source


OPTIONS = {"fuse": True, "use_numexpr": False}
"""``chainrule.compile``'s ``options`` and their defaults: ``fuse`` runs each chain of
elementwise steps over a large array as one region, in NumPy blocks on the threads
(``chainrule/compiler/fusion.py``); ``use_numexpr`` lets numexpr compute the regions it can
express, when it is installed.  Off by default: on this project's machine NumPy blocks were as
fast or faster on every chain measured (``benchmarks/fusion.py``; docs/compile.md)."""


def _checked_options(options) -> dict:
    if options is None:
        return dict(OPTIONS)
    if not isinstance(options, dict):
        raise TypeError(f"chainrule.compile: options must be a dict, got "
                        f"{type(options).__name__}")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"chainrule.compile: unknown option(s) {unknown}; the options are "
                         f"{sorted(OPTIONS)}")
    return {**OPTIONS, **{key: bool(value) for key, value in options.items()}}


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: Any = None,
            backend: Any = "inductor", mode: Any = None, options: Any = None,
            disable: bool = False) -> Any:
    """Trace ``model`` once per kind of call and replay the plan (``torch.compile``'s outline).

    Usable as ``chainrule.compile(fn)``, as a decorator (with or without arguments), and on a
    Module (its forward is compiled).  ``backend``, ``mode`` and ``dynamic`` are accepted for
    PyTorch's signature; ``options`` may turn off fusion (``{"fuse": False}``) or numexpr
    (``{"use_numexpr": True}``, see :data:`OPTIONS`); ``fullgraph=True`` raises instead of
    running eagerly when the trace breaks; ``disable=True`` returns the function itself.

    >>> import chainrule as cr
    >>> @cr.compile
    ... def f(x):
    ...     return (x * x).sum()
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> f(x), f(x)          # the first call traces, the second replays
    (tensor(5., grad_fn=<SumBackward0>), tensor(5., grad_fn=<CompiledFunctionBackward>))
    >>> f(x).backward(); x.grad
    tensor([2., 4.])
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return CompiledModule(model, fullgraph=fullgraph, options=options)
    return CompiledFunction(model, fullgraph=fullgraph, options=options)


class CompiledModule(Module):
    """``chainrule.compile(module)``: the module, with its calls compiled (PyTorch's
    ``OptimizedModule``: the original is ``_orig_mod``, so ``state_dict`` keys start with
    ``_orig_mod.``, as in PyTorch)."""

    def __init__(self, module: Module, fullgraph: bool = False,
                 options: dict | None = None) -> None:
        super().__init__()
        self._orig_mod = module
        compiled = CompiledFunction(module.__call__, fullgraph=fullgraph, options=options,
                                    module=module)
        compiled.__name__ = type(module).__name__  # (its warnings name the model)
        object.__setattr__(self, "_compiled_call", compiled)

    def forward(self, *args, **kwargs):
        """The module's call, replayed from its plan (or traced, or run eagerly)."""
        return self._compiled_call(*args, **kwargs)

    def explain(self, *args, **kwargs) -> str:
        """The plan of this call, as Python source (see :meth:`CompiledFunction.explain`)."""
        return self._compiled_call.explain(*args, **kwargs)
