"""The engine: grad mode, graph nodes, recording a primitive, and the backward walk.

Data flows one way.  A user calls a primitive (``rules.py`` declares them all); the primitive
computes its result with NumPy and, when grad mode is on and an input requires grad, records one
small :class:`Node`.  ``backward`` walks the recorded nodes once, newest first, and calls each
node's vector-Jacobian product (VJP) rules.

Three ideas keep this file short and fast:

* **Rules run at backward time.**  A node stores the primitive, where each input's gradient
  goes (``parents``) and only the values its rules read (``args`` and/or ``ans``).  Nothing is
  computed for the backward pass while recording.
* **One set of rules, two kinds of values.**  A primitive called with no Tensor among its
  arguments is plain NumPy.  So a plain backward pass hands the rules raw ndarrays and they run
  at NumPy speed; with ``create_graph=True`` it hands them Tensors, the rules' own operations
  are recorded, and gradients of gradients come for free.
* **Broadcasting and dtypes are undone here, once.**  A rule may return a gradient of the
  broadcast shape; the engine sums it down to the input's shape and casts it to the input's
  dtype, so rules read like calculus: ``mul: (g * y, g * x)``.

The walk never recurses (dependency counts and a ready list), so graphs of a million nodes are
fine; freeing them does not recurse either (CPython's deallocator handles long chains of plain
objects, and nodes hold no ``__del__``).  Graph objects never point back to the tensors that
own them (a node keeps its output as a raw array), so graphs are freed by reference counting
alone, without the cyclic garbage collector.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Grad mode (per thread, like PyTorch's)


class _GradMode(threading.local):
    enabled = True


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded (per thread).

    >>> import chainrule as cr
    >>> cr.is_grad_enabled()
    True
    """
    return grad_mode.enabled


# --------------------------------------------------------------------------------------------
# Nodes


inplace_count = [0]  # in-place changes to any tensor so far (see Node.epoch)


class _Donation(threading.local):
    """A gradient the running rule may overwrite: the engine's own, read by no one else
    (see ``rules._scaled``).  Saves an allocation per elementwise rule on large arrays."""

    array = None


donation = _Donation()


class _Freed:
    """Marks a node whose saved values were released by a backward pass."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<freed>"


FREED = _Freed()

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class NodeExtras:
    """Rarely used parts of a node: tensor hooks, ``retain_grad``, the result's tangents."""

    __slots__ = ("hooks", "retained", "ans_tangents")

    def __init__(self) -> None:
        self.hooks: list[Callable] = []
        self.retained: weakref.ref | None = None
        # forward mode over reverse: a recorded backward pass must see the result's tangents
        self.ans_tangents: dict | None = None


class Node:
    """One recorded application of a primitive; a tensor's ``grad_fn``.

    ``parents[i]`` says where the gradient of input ``i`` goes: the input's own node, the input
    itself when it is a leaf that requires grad, or ``None``.  ``args`` holds the inputs (Tensors
    and constants) when the primitive's rules read them, ``ans`` the raw result when they read
    it; both become ``FREED`` after a backward pass that does not retain the graph.
    """

    __slots__ = ("prim", "parents", "args", "ans", "params", "shape", "dtype", "epoch",
                 "versions", "ans_counter", "extras", "__weakref__")

    def __init__(self, prim, parents, args, ans, params, shape, dtype, epoch, versions,
                 ans_counter):
        self.prim = prim
        self.parents = parents
        self.args = args
        self.ans = ans
        self.params = params
        self.shape = shape
        self.dtype = dtype
        # What backward must find unchanged when the rules read saved values: the count of
        # in-place changes when recorded (if it has not moved, nothing changed), the saved
        # inputs' versions (None: all at 0) and the version counter of the result.
        self.epoch = epoch
        self.versions = versions
        self.ans_counter = ans_counter
        self.extras = None

    def name(self) -> str:
        """PyTorch's name for this node, e.g. ``'MulBackward0'``."""
        return self.prim.node_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """The nodes the gradient flows to next, as ``(node, 0)`` pairs, as in PyTorch.

        A leaf that requires grad appears as an :class:`AccumulateGrad`; a constant as ``None``.
        """
        return tuple(
            (p if type(p) is Node else (AccumulateGrad(p) if p is not None else None), 0)
            for p in self.parents
        )

    @property
    def saved_values_freed(self) -> bool:
        return self.args is FREED or self.ans is FREED

    def _extras(self) -> NodeExtras:
        if self.extras is None:
            self.extras = NodeExtras()
        return self.extras


class AccumulateGrad:
    """Stands for a leaf in ``next_functions``: where its gradient is accumulated."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions = ()


# --------------------------------------------------------------------------------------------
# Sparse gradients of indexing: kept as (index, values) until they meet a dense buffer, so that
# ``sum(x[i] for i in range(n))`` costs O(n) and not O(n^2).


class SparseGrad:
    """The gradient of ``x[index]``: zeros of ``shape`` with ``values`` added at ``index``."""

    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape, index, values, basic: bool) -> None:
        self.shape = shape
        self.index = index
        self.values = values
        self.dtype = values.dtype
        self.basic = basic  # only ints and slices: no position can repeat

    def add_into(self, dense: np.ndarray) -> None:
        if self.basic:
            dense[self.index] += self.values
        else:
            np.add.at(dense, self.index, self.values)

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, self.dtype)
        self.add_into(out)
        return out

    def astype(self, dtype) -> SparseGrad:
        return SparseGrad(self.shape, self.index, self.values.astype(dtype), self.basic)


# --------------------------------------------------------------------------------------------
# Primitives and recording

Tensor: Any = None  # bound by chainrule.tensor at import time (it imports this module)
push_tangents: Any = None  # chainrule.forward.push_tangents (forward mode)
wrap: Any = None  # chainrule.tensor.wrap: raw array (+ node) -> Tensor, no checks


class Primitive:
    """A differentiable operation: a NumPy forward and one VJP rule per input.

    Calling it with at least one Tensor argument returns a Tensor and, when grad mode is on and
    an input requires grad, records a :class:`Node`.  Calling it with no Tensor argument is
    plain NumPy (this is what lets the same rules run on raw arrays).
    """

    __slots__ = ("name", "node_name", "impl", "vjp", "jvp", "save_inputs", "save_ans", "view",
                 "variadic", "reads")

    def __init__(self, name, impl, vjp, *, save_inputs, save_ans, view, variadic, reads=None,
                 jvp="diagonal", node_name=None):
        self.name = name
        self.node_name = node_name or name + "Backward0"  # PyTorch's name of its grad_fn
        self.impl = impl
        self.vjp = vjp
        self.jvp = jvp  # forward mode: a kind of Jacobian or a rule (see rules.py)
        self.save_inputs = save_inputs
        self.save_ans = save_ans
        self.view = view
        self.variadic = variadic
        self.reads = reads  # per input's rule: the inputs whose values it reads (None: all)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args, **params):
        tensor_cls = Tensor
        raw = []
        parents = []
        any_tensor = recording = has_version = has_tangent = False
        for a in args:
            if isinstance(a, tensor_cls):
                any_tensor = True
                raw.append(a._data)
                if a._tangents is not None:
                    has_tangent = True
                if a._rg:
                    recording = True
                    parents.append(a._node or a)  # a non-leaf's node, or the leaf itself
                else:
                    parents.append(None)
                if a._vc is not None:
                    has_version = True
                    if a._base is not None and a._vc[0] != a._view_version:
                        _check_stale_view(a, self)
            else:
                raw.append(a)
                parents.append(None)
        if not any_tensor:
            return self.impl(*raw, **params)
        if self.view:
            raw = _share_storage(args, raw)
        try:
            ans = self.impl(*raw, **params)
        except (ValueError, TypeError, IndexError) as err:
            # the built-in type (NumPy's subclasses, e.g. AxisError, take other arguments)
            kind = next(k for k in (IndexError, ValueError, TypeError) if isinstance(err, k))
            raise kind(f"chainrule.{self.name.lower()}: {err}") from None
        if not (recording and grad_mode.enabled):
            out = wrap(ans)
            if self.view:
                _mark_view(out, args[0])
            if has_tangent:
                push_tangents(self, args, ans, params, out)
            return out
        ans_counter = [0] if self.save_ans else None
        node = Node(self, tuple(parents), args if self.save_inputs else None,
                    ans if self.save_ans else None, params or None, ans.shape, ans.dtype,
                    inplace_count[0], _versions(args) if has_version else None, ans_counter)
        out = wrap(ans, node)
        if self.save_ans:
            out._vc = ans_counter
        if self.view:
            _mark_view(out, args[0])
        if has_tangent:
            push_tangents(self, args, ans, params, out)
            if self.save_ans and out._tangents is not None:
                node._extras().ans_tangents = out._tangents
        return out


def _versions(args) -> tuple:
    return tuple(
        (a._vc[0] if a._vc is not None else 0) if isinstance(a, Tensor) else 0 for a in args
    )


def _share_storage(args, raw):
    """A view of a 0-d tensor held as a NumPy scalar must alias a real array: make one."""
    first = args[0]
    if isinstance(first, Tensor) and not isinstance(first._data, np.ndarray):
        first._data = np.asarray(first._data)
        raw = [first._data, *raw[1:]]
    return raw


def _check_stale_view(view, prim) -> None:
    """A view whose base changed in place since it was made no longer matches its history."""
    if grad_mode.enabled and (view._rg or view._base._rg):
        raise RuntimeError(
            f"{prim.name.lower()}: this tensor is a view (of shape {view.shape}) whose base was "
            "modified in place after the view was made, so its recorded history is out of "
            "date. Make the view again after the in-place change (chainrule does not rewrite "
            "a view's history), or use out-of-place operations."
        )
    view._view_version = view._vc[0]  # nothing recorded depends on it: the view is current


def _mark_view(out, base) -> None:
    """Views share their base's version counter, so in-place changes through either are seen."""
    if not isinstance(out._data, np.ndarray) or not np.shares_memory(out._data, base._data):
        return
    root = base._base if base._base is not None else base
    if root._vc is None:
        root._vc = [0]
    if base._vc is None:
        base._vc = root._vc
    out._vc = root._vc
    out._base = root
    out._view_version = root._vc[0]


# --------------------------------------------------------------------------------------------
# The backward walk

sum_to: Any = None  # rules.sum_to, bound by chainrule.rules (unbroadcast, differentiable)
clone: Any = None  # rules.clone, bound by chainrule.rules
cast: Any = None  # rules.cast, bound by chainrule.rules (dtype change, differentiable)


def run_backward(roots, seeds, *, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True, on_tensors: bool = False) -> dict:
    """Propagate ``seeds`` (one gradient per root tensor) back through the recorded graph.

    The rules run on raw arrays, unless ``create_graph`` (they run on Tensors and are recorded)
    or ``on_tensors`` (they run on Tensors, not recorded: forward-mode tangents of the saved
    values then flow into the gradients, which is forward-over-reverse differentiation).

    With ``accumulate`` the gradients of leaves (all of them, or only those in ``inputs``) are
    added to their ``.grad``.  Returns the total gradient that reached each tensor of
    ``inputs`` (missing when none did).  The seeds are already validated by the caller.
    """
    pending: dict = {}  # Node or leaf Tensor -> gradient summed so far
    owned: set = set()  # keys whose pending gradient the engine allocated (may add in place)
    root_nodes = []
    for root, seed in zip(roots, seeds):
        key = root._node if root._node is not None else root
        if type(key) is Node and key not in root_nodes:
            root_nodes.append(key)
        _accumulate(pending, owned, key, seed)

    deps = _count_dependencies(root_nodes)
    wanted = None  # with inputs: keys whose gradient is needed
    capture: dict = {}
    targets = None
    if inputs is not None:
        targets = {(t._node if t._node is not None else t): t for t in inputs}
        wanted = _leading_to(root_nodes, deps, targets)

    saved_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    try:
        ready = [n for n in root_nodes if deps[n] == 0]
        while ready:
            node = ready.pop()
            g = pending.pop(node, None)
            if g is not None and (node.extras is not None or inputs is not None
                                  or type(g) is SparseGrad):
                g = _arrive(node, g, node in owned, create_graph, targets, capture,
                            accumulate)
            # the rules may write into a large gradient that only this node will read
            donatable = (type(g) is np.ndarray and g.size > 4096 and node.extras is None
                         and node in owned and (targets is None or node not in targets))
            _propagate(node, g, pending, owned, deps, ready, wanted, create_graph or on_tensors,
                       retain_graph, donatable)
        for key, g in pending.items():
            if type(key) is Node:
                continue  # a root node pruned away or never reached by any wanted path
            _finish_leaf(key, g, key in owned, create_graph, capture,
                         accumulate and (inputs is None or key in targets))
    finally:
        grad_mode.enabled = saved_mode
    return {t: capture[k] for t in (inputs or ()) if (k := (t._node or t)) in capture}


def _arrive(node, g, is_owned, create_graph, targets, capture, accumulate):
    """The rarer things that happen when a node's total gradient is known: densify a sparse
    gradient, run tensor hooks, fill a retained ``.grad``, capture a requested input's."""
    if type(g) is SparseGrad:
        g, is_owned = g.dense(), True
    retained = None
    if node.extras is not None:
        if node.extras.hooks:
            # a hook may keep its argument or return any tensor: never add into it later
            g, is_owned = run_hooks(node.extras.hooks, g, create_graph), False
        retained = node.extras.retained and node.extras.retained()
        if retained is not None:
            _add_to_grad(retained, g, False, create_graph)
    if targets is not None and node in targets:
        capture[node] = (g, is_owned)
        target = targets[node]
        if accumulate and target is not retained:  # backward(inputs=[a non-leaf])
            _add_to_grad(target, g, False, create_graph)
    return g


def _count_dependencies(root_nodes) -> dict:
    """For every node reachable from the roots: how many recorded edges lead into it."""
    deps = dict.fromkeys(root_nodes, 0)
    stack = list(root_nodes)
    while stack:
        for p in stack.pop().parents:
            if type(p) is Node:
                if p in deps:
                    deps[p] += 1
                else:
                    deps[p] = 1
                    stack.append(p)
    return deps


def _leading_to(root_nodes, deps, targets) -> set:
    """The nodes and leaves from which some target can be reached (targets included)."""
    remaining = dict(deps)
    order = []
    stack = [n for n in root_nodes if remaining[n] == 0]
    while stack:
        node = stack.pop()
        order.append(node)
        for p in node.parents:
            if type(p) is Node:
                remaining[p] -= 1
                if remaining[p] == 0:
                    stack.append(p)
    wanted = {t for t in targets if type(t) is not Node}
    for node in reversed(order):
        if node in targets or any(p in wanted for p in node.parents if p is not None):
            wanted.add(node)
    return wanted


def _propagate(node, g, pending, owned, deps, ready, wanted, on_tensors, retain_graph,
               donatable=False):
    """Run ``node``'s rules on its gradient ``g`` and pass the results to its parents."""
    parents = node.parents
    fresh_results = None  # large new arrays from the rules: accumulated once all are known
    if g is not None and wanted is not None and not any(
            p in wanted for p in parents if p is not None):
        g = None  # nothing wanted lies behind this node
    if g is not None:
        args, ans = node.args, node.ans
        if args is FREED or ans is FREED:
            raise RuntimeError(BACKWARD_TWICE)
        if node.epoch != inplace_count[0]:
            _check_versions(node)
        if on_tensors:
            g = g if isinstance(g, Tensor) else wrap(g)
            if ans is not None:
                ans = wrap(ans, node)
                if node.extras is not None:
                    ans._tangents = node.extras.ans_tangents
        if args is None:
            args = (None,) * len(parents)
        elif not on_tensors:
            args = [a._data if isinstance(a, Tensor) else a for a in args]
        params = node.params or _NO_PARAMS
        prim = node.prim
        per_input = None if prim.variadic else prim.vjp  # one rule per input, or one for all
        for_all = prim.vjp
        # one rule will read g, once: it may write its result into g (see _Donation)
        donated = (donatable and not on_tensors and g.flags.writeable
                   and sum(p is not None and (wanted is None or p in wanted)
                           for p in parents) == 1)
    for i, p in enumerate(parents):
        if p is None or (wanted is not None and p not in wanted):
            continue
        is_node = type(p) is Node
        if g is not None:
            if donated:  # (rare: large arrays only) the rule may write into g
                donation.array = g
                try:
                    gi = per_input[i](g, ans, *args, **params) if per_input is not None \
                        else for_all(i, g, ans, *args, **params)
                finally:
                    donation.array = None
            else:
                gi = (per_input[i](g, ans, *args, **params) if per_input is not None
                      else for_all(i, g, ans, *args, **params))
            if gi is not None:
                if is_node:
                    shape, dtype = p.shape, p.dtype
                else:
                    shape, dtype = p._data.shape, p._data.dtype
                if gi.shape != shape:
                    gi = sum_to(gi, shape)
                if gi.dtype is not dtype and gi.dtype != dtype:
                    gi = cast(gi, dtype)
                if type(gi) is np.ndarray and gi.size > 4096 and (
                        (donated and gi is g) or _is_fresh(gi, g, ans, args)):
                    if fresh_results is None:
                        fresh_results = []
                    fresh_results.append((p, gi))
                elif p in pending:
                    _accumulate(pending, owned, p, gi)
                else:
                    pending[p] = gi
        if is_node:
            remaining = deps[p] - 1
            deps[p] = remaining
            if remaining == 0:
                ready.append(p)
    if fresh_results is not None:
        for p, gi in fresh_results:
            # one new array handed to two inputs must stay unowned, or adding into it for one
            # input would change the other's gradient
            handed_twice = sum(gj is gi for _, gj in fresh_results) > 1
            _accumulate(pending, owned, p, gi, fresh=not handed_twice)
    if g is not None and not retain_graph:
        if node.args is not None:
            node.args = FREED
        if node.ans is not None:
            node.ans = FREED


_NO_PARAMS: dict = {}


def _is_fresh(gi, g, ans, args) -> bool:
    """Did the rule just allocate ``gi``?  Then the engine may add into it in place.

    A rule can only return new arrays, views (which have a ``base``), or arrays it was given.
    (Checked for large arrays only, where an allocation saved matters.)
    """
    if gi.base is not None or gi is g or gi is ans:
        return False
    return all(gi is not a for a in args)


def _accumulate(pending, owned, key, g, fresh: bool = False) -> None:
    """Add ``g`` to ``pending[key]`` without ever mutating an array the engine did not allocate.

    The first contribution is kept by reference, the second is added into whichever of the two
    the engine owns (a fresh rule result) or else into a new sum, later ones in place.
    """
    prev = pending.get(key)
    if prev is None:
        pending[key] = g
        if fresh:
            owned.add(key)
        return
    if type(prev) is SparseGrad:
        prev = pending[key] = prev.dense()
        owned.add(key)
    if type(g) is SparseGrad:
        if key not in owned or type(prev) is not np.ndarray:
            prev = np.array(prev)
            owned.add(key)
        g.add_into(prev)
        pending[key] = prev
    elif key in owned and type(prev) is np.ndarray:
        np.add(prev, g, out=prev)
    elif fresh:
        np.add(g, prev, out=g)
        pending[key] = g
        owned.add(key)
    else:
        pending[key] = prev + g
        owned.add(key)


def run_hooks(hooks, g, create_graph: bool):
    """Call tensor hooks in registration order; a hook's return value replaces the gradient."""
    gt = g if isinstance(g, Tensor) else wrap(g)
    for hook in hooks:
        result = hook(gt)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            raise TypeError(f"hook {_hook_name(hook)!r} returned {type(result).__name__}; "
                            "a tensor hook must return a Tensor or None")
        if result.shape != gt.shape:
            raise RuntimeError(f"hook {_hook_name(hook)!r} has changed the size of value: "
                               f"was {gt.shape}, got {result.shape}")
        if result.dtype != gt.dtype:
            raise RuntimeError(f"hook {_hook_name(hook)!r} has changed the type of value "
                               f"(was {gt.dtype} got {result.dtype})")
        gt = result
    return gt if create_graph else gt._data


def _hook_name(hook) -> str:
    return getattr(hook, "__name__", type(hook).__name__)


def _finish_leaf(leaf, g, is_owned, create_graph, capture, accumulate) -> None:
    if leaf._hooks is not None and leaf._hooks.pre:
        if type(g) is SparseGrad:
            g, is_owned = g.dense(), True
        # a hook may keep its argument or return any tensor: never add into it later
        g, is_owned = run_hooks(leaf._hooks.pre, g, create_graph), False
    capture[leaf] = (g, is_owned)
    if accumulate:
        _add_to_grad(leaf, g, is_owned, create_graph)
        if leaf._hooks is not None:
            for hook in leaf._hooks.post:
                if hook(leaf) is not None:
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _add_to_grad(tensor, g, is_owned: bool, create_graph: bool) -> None:
    """``tensor.grad += g``: in place on an existing buffer, out of place with create_graph."""
    current = tensor._grad
    if create_graph:  # out of place, and never the gradient tensor itself (it flows on)
        if type(g) is SparseGrad:
            g = g.dense()
        if not isinstance(g, Tensor):
            g = wrap(np.array(g))
        elif current is None:
            g = clone(g) if g._rg else wrap(np.array(g._data))
        tensor._grad = g if current is None else current + g
        return
    if isinstance(g, Tensor):
        g = g._data
    if current is not None and type(current._data) is np.ndarray and current._data.flags.writeable:
        if type(g) is SparseGrad:
            g.add_into(current._data)
        else:
            np.add(current._data, g, out=current._data, casting="unsafe")
        current._bump_version()
        return
    if type(g) is SparseGrad:
        g, is_owned = g.dense(), True
    if current is not None:
        tensor._grad = wrap(np.asarray(current._data + g, dtype=tensor._data.dtype))
    elif is_owned and type(g) is np.ndarray and g.dtype == tensor._data.dtype:
        tensor._grad = wrap(g)
    else:
        tensor._grad = wrap(np.array(g, dtype=tensor._data.dtype))


def _check_versions(node) -> None:
    versions, ans_counter = node.versions, node.ans_counter
    if ans_counter is not None and ans_counter[0] != 0:
        _raise_modified(node, f"which is output 0 of {node.name()}", node.shape, node.dtype,
                        ans_counter[0], 0)
    if node.args is None:
        return
    reads = node.prim.reads
    read = None if reads is None else {j for i, p in enumerate(node.parents) if p is not None
                                       for j in reads[i]}
    for i, a in enumerate(node.args):
        if not isinstance(a, Tensor) or a._vc is None or (read is not None and i not in read):
            continue  # never changed in place, or its value is not needed
        now = a._vc[0]
        expected = versions[i] if versions is not None else 0
        if now != expected:
            where = f"which is output 0 of {a._node.name()}" if a._node is not None else "a leaf"
            _raise_modified(node, where, a.shape, a.dtype, now, expected)


def _raise_modified(node, where, shape, dtype, now, expected):
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{dtype} tensor of shape {tuple(shape)}], {where}, is at version {now}; "
        f"expected version {expected} instead. Hint: {node.name()} saved this tensor for its "
        "gradient and it was changed in place afterwards; use an out-of-place operation "
        "(y = y * 2 rather than y.mul_(2)) or .clone() the tensor before changing it."
    )
