"""The backward walk: from the outputs' gradients to every input's, through recorded nodes.

:func:`run_backward` is the whole of reverse mode.  It counts, for every node reachable from
the roots, how many recorded edges lead into it; then it takes nodes whose consumers are all
done from a ready list (never recursing, so a graph of a million nodes is fine), calls each
node's rules on the summed gradient, sums the results back to each input's shape, casts them
to its dtype, and adds them to what the input has received so far.  Leaves get theirs in
``.grad`` at the end (after their tensor hooks).

The per-node step is written once, in the loop of :func:`run_backward` itself rather than in
a function called per node: its cost is what small graphs (scalar loops) pay per operation,
and a call per node would add half of it again.  What only some passes need (hooks, retained
gradients, ``inputs=``, rules on tensors, large arrays) costs the others one test each.  The
dict of counts holds only the nodes with several consumers (the others are marked as seen),
so a chain of a million nodes costs per node what a chain of a thousand does.

Complex gradients follow JAX's convention inside the engine; hooks and ``.grad`` see PyTorch's
(``chainrule/hooks.py``).  Gradients are never added into an array the engine did not
allocate: the first contribution is kept by reference, the second allocates a sum, later ones
are added in place.

Large arrays (over 4,096 elements) get more care, because a fresh 8 MB array costs more than
the arithmetic done in it: where a rule is a product with the gradient
(``rules.derivative``), the step writes the product into a gradient or a saved value that no
one else can see, or into a freed one kept for reuse (``chainrule/buffers.py`` says how).
The rules themselves never allocate with that in mind.
"""

from __future__ import annotations

import numpy as np

from chainrule import buffers, tracing
from chainrule.buffers import LARGE
from chainrule.engine import BACKWARD_TWICE, FREED, Node, grad_mode
from chainrule.hooks import run_hooks, to_pytorch_convention
from chainrule.order import count_consumers, leading_to
from chainrule.rules.shape import cast_to, clone, unbroadcast
from chainrule.sparse import SparseGrad
from chainrule.tensor_base import TensorBase, inplace_count, new_like, new_tensor
from chainrule.versions import check_versions


def run_backward(roots, seeds, *, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True, on_tensors: bool = False,
                 fill_retained: bool = True) -> dict:
    """Propagate ``seeds`` (one gradient per root tensor) back through the recorded graph.

    The rules run on raw arrays, unless ``create_graph`` (they run on Tensors and are recorded)
    or ``on_tensors`` (they run on Tensors, not recorded: forward-mode tangents of the saved
    values then flow into the gradients, which is forward-over-reverse differentiation).

    With ``accumulate`` the gradients of leaves (all of them, or only those in ``inputs``) are
    added to their ``.grad``; with ``fill_retained`` those of ``retain_grad()`` tensors too
    (as PyTorch does even for ``autograd.grad``).  Returns the total gradient that reached each
    tensor of ``inputs`` (missing when none did).  The seeds are already validated by the caller.
    """
    pending: dict = {}  # Node or leaf Tensor -> gradient summed so far
    owned: set = set()  # keys whose pending gradient the engine allocated (may add in place)
    root_nodes = []
    for root, seed in zip(roots, seeds):
        key = root._node if root._node is not None else root
        if type(key) is Node and key not in root_nodes:
            root_nodes.append(key)
        _accumulate(pending, owned, key, seed)

    if tracing.active[0] is not None:  # compile: see tracing.py
        on_tensors = tracing.backward_on_tensors(accumulate, root_nodes, create_graph) or on_tensors
    deps = count_consumers(root_nodes)
    wanted = None  # with inputs: keys whose gradient is needed
    capture: dict = {}
    targets = None
    if inputs is not None:
        targets = {(t._node if t._node is not None else t): t for t in inputs}
        wanted = leading_to(root_nodes, deps, targets)

    made = []  # (leaf, id of the first gradient, which its rule just made): _own_made
    saved_mode, saved_pool = grad_mode.enabled, buffers.state.pool
    grad_mode.enabled = create_graph
    # rules run on tensors (recorded, or carrying tangents) or on raw arrays
    on_tensors = create_graph or on_tensors
    # the class of the tensors this pass makes (gradients handed to hooks, recorded values)
    tensor_cls = roots[0]._result_class if roots else TensorBase  # (none: nothing is made)
    # large saved values freed by this pass may be reused by its products (raw arrays only)
    recycling = buffers.REFCOUNTS_TRUSTED and not (retain_graph or on_tensors)
    buffers.state.pool = [] if recycling else None
    try:
        # nodes whose consumers are all done, each with its total gradient (None: none flowed)
        ready = [(n, pending.pop(n, None)) for n in root_nodes if deps[n] == 0]
        while ready:
            # --- the per-node step: node's rules on its total gradient g, passed to parents
            node, g = ready.pop()
            parents = node.parents
            if g is not None:
                if node.extras is not None or type(g) is SparseGrad or (
                        targets is not None and node in targets):
                    g = _arrive(node, g, node in owned, create_graph, targets, capture,
                                tensor_cls, accumulate, fill_retained)
                if wanted is not None and not any(p in wanted for p in parents):
                    g = None  # nothing wanted lies behind this node
            if g is None:  # no gradient flowed: the parents only learn that this node is done
                _count_down(parents, deps, pending, ready, wanted)
                continue
            args, ans = node.args, node.ans
            if args is FREED or ans is FREED:
                raise RuntimeError(BACKWARD_TWICE)
            if node.epoch != inplace_count[0]:
                check_versions(node)
            if on_tensors:
                g = g if isinstance(g, TensorBase) else new_tensor(tensor_cls, g)
                if ans is not None:  # (a batched node's is a BatchedTensor: see vmap)
                    ans = (ans._with_node(node) if isinstance(ans, TensorBase)
                           else new_tensor(tensor_cls, ans, node))
                    if node.extras is not None:
                        ans._tangents = node.extras.ans_tangents
            # large raw arrays get buffer reuse (see chainrule/buffers.py): a rule's product
            # with g may be written into g when it is its only reader and into dying saved
            # inputs, and the large arrays the rules allocate are added into in place
            large = type(g) is np.ndarray and g.size > LARGE
            if large:
                # what earlier steps left in this frame would hide dead arrays (see buffers.py)
                a = saved = gi = spent = data = None
                # saved inputs only this node references (counted before the list below
                # adds its references)
                dying = buffers.unshared(args) if recycling and args is not None else None
                donated = (node.extras is None and node in owned
                           and (targets is None or node not in targets) and g.flags.writeable
                           and sum(p is not None and (wanted is None or p in wanted)
                                   for p in parents) == 1)
                fresh_results, done = [], []  # accumulated, and made ready, at the end
            if args is None:
                args = _NOTHING_SAVED[len(parents)] if len(parents) < 4 \
                    else (None,) * len(parents)
            elif not on_tensors:
                saved, args = args, []
                for a in saved:  # (a loop: cheaper than a comprehension's frame, per node)
                    args.append(a._data if isinstance(a, TensorBase) else a)
            params = node.params or _NO_PARAMS
            prim = node.prim
            rules, variadic = prim.vjp, prim.variadic  # one rule per input, or one for all
            i = -1
            for p in parents:
                i += 1
                if p is None or (wanted is not None and p not in wanted):
                    continue
                if large:
                    gi, spent = _call_with_buffers(rules, variadic, i, g, ans, args, params,
                                                   donated, dying, parents, wanted,
                                                   prim.reads)
                    if dying:  # a saved input handed on as a gradient is no longer dying
                        dying = [(j, a) for j, a in dying if not buffers.aliases(gi, a)]
                elif variadic:
                    gi = rules(i, g, ans, *args, **params)
                elif params is _NO_PARAMS:
                    gi = rules[i](g, ans, *args)
                else:
                    gi = rules[i](g, ans, *args, **params)
                if type(p) is Node:
                    if gi is not None:
                        if gi.shape != p.shape:
                            gi = unbroadcast(gi, p.shape)
                        if gi.dtype is not p.dtype and gi.dtype != p.dtype:
                            gi = cast_to(gi, p.dtype)
                        if large and _allocated_by_rule(gi, g, ans, args, donated, spent):
                            fresh_results.append((p, gi))
                            gi = None
                    remaining = deps.get(p, 1) - 1
                    if remaining:
                        deps[p] = remaining
                    if p in pending:
                        if gi is not None:
                            _accumulate(pending, owned, p, gi)
                        if remaining == 0:
                            if large:
                                done.append(p)
                            else:
                                ready.append((p, pending.pop(p)))
                    elif remaining == 0:  # the last consumer
                        if not large:
                            ready.append((p, gi))
                        else:
                            if gi is not None:
                                pending[p] = gi
                            done.append(p)
                    elif gi is not None:
                        pending[p] = gi
                elif gi is not None:  # a leaf
                    data = p._data
                    if gi.shape != data.shape:
                        gi = unbroadcast(gi, data.shape)
                    if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                        gi = cast_to(gi, data.dtype)
                    if large and _allocated_by_rule(gi, g, ans, args, donated, spent):
                        fresh_results.append((p, gi))
                    elif p in pending:
                        _accumulate(pending, owned, p, gi)
                    else:
                        pending[p] = gi
                        if type(gi) is np.ndarray and buffers.is_fresh(gi, g, ans, args):
                            made.append((p, id(gi)))  # (owned at the end: _own_made)
            if large:
                for p, gi in fresh_results:
                    # one new array handed to two inputs must stay unowned, or adding into it
                    # for one input would change the other's gradient
                    handed_twice = sum(gj is gi for _, gj in fresh_results) > 1
                    _accumulate(pending, owned, p, gi, fresh=not handed_twice)
                for p in done:
                    ready.append((p, pending.pop(p, None)))
            if not retain_graph:
                if large and recycling:
                    # this frame's references would hide dead arrays from the pool
                    args = ans = dying = spent = gi = fresh_results = saved = a = data = None
                    _recycle(node)
                else:  # what _free_saved does, written out: this is every node's cost
                    if node.args is not None:
                        node.args = FREED
                        # and this frame's own references, which would keep the saved values
                        # alive through the next nodes' rules (a training step's peak memory)
                        args = saved = a = None
                    if node.ans is not None:
                        node.ans = FREED
                        if node.extras is not None:
                            node.extras.ans_tangents = None  # (they lead back to this node)
        if made:
            _own_made(made, pending, owned)
        for key, g in pending.items():
            if type(key) is Node:
                continue  # a root node pruned away or never reached by any wanted path
            _finish_leaf(key, g, key in owned, create_graph, capture,
                         accumulate and (inputs is None or key in targets))
    finally:
        grad_mode.enabled = saved_mode
        buffers.state.pool = saved_pool
    return {t: capture[k] for t in (inputs or ()) if (k := (t._node or t)) in capture}


def _arrive(node, g, is_owned, create_graph, targets, capture, tensor_cls, accumulate,
            fill_retained):
    """The rarer things that happen when a node's total gradient is known: densify a sparse
    gradient, run tensor hooks, fill a retained ``.grad``, capture a requested input's."""
    if type(g) is SparseGrad:
        g, is_owned = g.dense(), True
    retained = None
    if node.extras is not None:
        if node.extras.hooks:
            # a hook may keep its argument or return any tensor: never add into it later
            g = run_hooks(node.extras.hooks, g, create_graph, is_owned, tensor_cls)
            is_owned = False
        if fill_retained and node.extras.retained is not None:
            retained = node.extras.retained()  # (None once the tensor is gone)
            if retained is not None:
                _add_to_grad(retained, g, False, create_graph)
    if targets is not None and node in targets:
        capture[node] = (g, is_owned)
        target = targets[node]
        if accumulate and target is not retained:  # backward(inputs=[a non-leaf])
            _add_to_grad(target, g, False, create_graph)
    return g


def _count_down(parents, deps, pending, ready, wanted) -> None:
    """A node is done without passing a gradient: its parents have one consumer less."""
    for p in parents:
        if type(p) is Node and (wanted is None or p in wanted):
            remaining = deps.get(p, 1) - 1
            if remaining:
                deps[p] = remaining
            else:
                ready.append((p, pending.pop(p, None)))


def _allocated_by_rule(gi, g, ans, args, donated, spent) -> bool:
    """Is the large gradient ``gi`` an array the rule has just made (or written into an
    offered buffer)?  Then the engine owns it and may add into it in place."""
    return type(gi) is np.ndarray and gi.size > LARGE and (
        (donated and gi is g) or any(gi is a for a in spent)
        or buffers.is_fresh(gi, g, ans, args))


def _call_with_buffers(rules, variadic, i, g, ans, args, params, donated, dying, parents,
                       wanted, reads):
    """Rule ``i`` on a large gradient.  A rule declared as ``g`` times a derivative has its
    product written by :func:`buffers.product`, into ``g`` when ``donated``, or into a dying
    saved input that no later rule reads.  Returns the gradient and the inputs it could have
    overwritten."""
    rule = rules if variadic else rules[i]
    factor = getattr(rule, "factor", None)
    if factor is None:
        gi = rule(i, g, ans, *args, **params) if variadic else rule(g, ans, *args, **params)
        return gi, ()
    spent = buffers.spendable(dying, i, parents, wanted, reads) if dying else ()
    value = None
    if rule.applied is not None:  # f'(x) a primitive of the input: computed into a free buffer
        value = buffers.applied_into_buffer(rule.applied, args[0], spent)
        if value is not None:
            spent = (*spent, value)  # (written by the engine: the product may go there too)
    if value is None:
        value = factor(ans, *args, **params)
    return buffers.product(g, value, donated=donated, spent=spent, ans=ans, args=args), spent


def _own_made(made, pending, owned) -> None:
    """A leaf whose whole gradient is one array a rule made (no other contribution came, and
    no other key holds it) owns it: it becomes ``.grad`` without a copy, as PyTorch's
    AccumulateGrad steals such a gradient.  (Ids, not the arrays, were kept, so that a first
    gradient replaced by a sum is not kept alive; a replaced one is owned already, as every
    sum the engine makes is.)"""
    holders: dict = {}
    for g in pending.values():
        holders[id(g)] = holders.get(id(g), 0) + 1
    for leaf, made_id in made:
        if leaf not in owned and id(pending.get(leaf)) == made_id and holders[made_id] == 1:
            owned.add(leaf)


def _free_saved(node) -> None:
    """Release what ``node`` saved: a later pass through it raises ``BACKWARD_TWICE``.  (A node
    that saved nothing stays usable, as in PyTorch.)"""
    if node.args is not None:
        node.args = FREED
    if node.ans is not None:
        node.ans = FREED
        if node.extras is not None:
            # the result's tangents lead back to this node through their own graph
            node.extras.ans_tangents = None


_NO_PARAMS: dict = {}
_NOTHING_SAVED = [(None,) * n for n in range(4)]  # the arguments of a node that saved none


def _recycle(node) -> None:
    """Free what ``node`` saved, keeping its large values that no one else references for
    reuse by later rules of this pass."""
    items = (*node.args, node.ans) if node.args is not None else (node.ans,)
    _free_saved(node)
    buffers.keep_for_reuse(items)


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
        out = None
        if type(prev) is np.ndarray and prev.size > LARGE and type(g) is np.ndarray:
            out = buffers.take_buffer(prev.shape, np.result_type(prev, g))
        pending[key] = prev + g if out is None else np.add(prev, g, out=out)
        owned.add(key)


def _finish_leaf(leaf, g, is_owned, create_graph, capture, accumulate) -> None:
    if leaf._hooks is not None and leaf._hooks.pre:
        if type(g) is SparseGrad:
            g, is_owned = g.dense(), True
        # a hook may keep its argument or return any tensor: never add into it later
        g, is_owned = run_hooks(leaf._hooks.pre, g, create_graph, is_owned, type(leaf)), False
    capture[leaf] = (g, is_owned)
    if accumulate:
        _add_to_grad(leaf, g, is_owned, create_graph)
        if leaf._hooks is not None:
            for hook in leaf._hooks.post:
                if hook(leaf) is not None:
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _add_to_grad(tensor, g, is_owned: bool, create_graph: bool) -> None:
    """``tensor.grad += g``: in place on an existing buffer, out of place with create_graph
    (``.grad`` holds PyTorch's convention for complex gradients)."""
    if tracing.active[0] is not None:  # (compile: a .grad written is not replayed)
        tracing.escaped("a .grad written by a backward pass (retain_grad())")
    if g.dtype.kind == "c":
        g, is_owned = to_pytorch_convention(g), True
    current = tensor._grad
    if create_graph:  # out of place, and never the gradient tensor itself (it flows on)
        if type(g) is SparseGrad:
            g = g.dense()
        if not isinstance(g, TensorBase):
            g = new_like(tensor, np.array(g))
        elif current is None:
            g = clone(g) if g._rg else new_like(tensor, np.array(g._data))
        tensor._grad = g if current is None else current + g
        return
    if isinstance(g, TensorBase):
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
        tensor._grad = new_like(tensor, np.asarray(current._data + g, dtype=tensor._data.dtype))
    elif is_owned and type(g) is np.ndarray and g.dtype == tensor._data.dtype:
        tensor._grad = new_like(tensor, g)
    else:
        tensor._grad = new_like(tensor, np.array(g, dtype=tensor._data.dtype))
