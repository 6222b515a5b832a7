"""The engine: grad mode, graph nodes, and recording a primitive.

Data flows one way.  A user calls a primitive (the table in ``chainrule/rules/`` declares them;
``autograd.Function`` makes more); the primitive computes its result with NumPy and, when
grad mode is on and an input requires grad, records one small :class:`Node`.  ``backward``
walks the recorded nodes once, each when all its consumers are done, and calls each node's
vector-Jacobian product (VJP) rules.

Three ideas keep this file and ``backward.py`` short and fast:

* **Rules run at backward time.**  A node stores the primitive, where each input's gradient
  goes (``parents``) and only the values its rules read (``args`` and/or ``ans``).  Nothing is
  computed for the backward pass while recording.
* **One set of rules, two kinds of values.**  A primitive called with no Tensor among its
  arguments is plain NumPy.  So a plain backward pass hands the rules raw ndarrays and they run
  at NumPy speed; with ``create_graph=True`` it hands them Tensors, the rules' own operations
  are recorded, and gradients of gradients come for free.
* **Broadcasting and dtypes are undone by the engine, once** (in ``backward.py``): a rule
  may return a gradient of the broadcast shape and another float dtype.

The walk (``backward.py``) never recurses, so graphs of a million nodes are fine; nor does
freeing them.  Graph objects never point back to the tensors that own them (a node keeps its
output as a raw array): graphs are freed by reference counting, without the cyclic collector.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from chainrule.errors import named_error
from chainrule.forward import JVP_KINDS, push_tangents
from chainrule.tensor_base import TensorBase, _new, inplace_count, new_tensor
from chainrule.versions import mark_view, saved_versions, share_storage

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
                 "versions", "ans_counter", "extras", "mark", "__weakref__")

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
        self.mark = None  # set by a backward pass that counted this node (see backward.py)

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
        """Whether a backward pass without ``retain_graph`` has released the saved values."""
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
        """PyTorch's name for where a leaf's gradient is accumulated."""
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions = ()


# --------------------------------------------------------------------------------------------
# Primitives and recording

batching: list = [None]
"""While a vmap is open (in any thread): the function every primitive call goes to first,
``chainrule.batching.dispatch`` (it answers ``NotImplemented`` for a call with no batched
argument).  ``vmap`` sets it when it opens its first level and clears it when the last closes:
without a vmap, a call pays one test."""


class Primitive:
    """A differentiable operation: a NumPy forward and one VJP rule per input (one rule for all
    inputs when it is variadic), and how forward mode treats it (``jvp``: one of
    :data:`~chainrule.forward.JVP_KINDS`, or a rule ``jvp(tangents, ans, *inputs, **params)``)
    and how vmap batches it (``batch``: a kind of ``chainrule.batching``, a rule, or None).

    Calling it with at least one tensor argument returns a tensor of the first one's class and,
    when grad mode is on and an input requires grad, records a :class:`Node`.  Calling it with
    no tensor argument is plain NumPy (this is what lets the same rules run on raw arrays).

    ``name`` is the public name the user calls (``"matmul"``, ``"linalg.inv"``): errors raised
    while computing the result name it, with ``symbol`` (``"@"``) when an operator also calls it.
    """

    __slots__ = ("name", "node_name", "symbol", "impl", "vjp", "jvp", "save_inputs", "save_ans",
                 "view", "variadic", "reads", "batch")

    def __init__(self, name, impl, vjp, *, save_inputs, save_ans, view, variadic, jvp,
                 reads=None, node_name=None, symbol=None, batch=None):
        if not (callable(jvp) or jvp in JVP_KINDS):
            raise ValueError(f"primitive {name!r}: jvp must be one of {JVP_KINDS} or a function")
        self.name = name
        self.node_name = node_name or name + "Backward0"  # PyTorch's name of its grad_fn
        self.symbol = symbol
        self.impl = impl
        self.vjp = vjp
        self.jvp = jvp  # forward mode: a kind of Jacobian or a rule (see chainrule/rules/)
        self.save_inputs = save_inputs
        self.save_ans = save_ans
        self.view = view
        self.variadic = variadic
        self.reads = reads  # per input's rule: the inputs whose values it reads (None: all)
        self.batch = batch  # vmap: a batching kind or rule (see chainrule/batching.py)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args, **params):
        if batching[0] is not None:  # a vmap is open: a batched call goes to its rule
            out = batching[0](self, args, params)
            if out is not NotImplemented:
                return out
        # One and two arguments that are tensors without views or tangents, or constants, are
        # written out: this is the cost of every recorded operation (and one or two raw arrays
        # go straight to NumPy).  Anything else (other arities, views, forward mode) takes
        # ``_call_general``.
        n = len(args)
        if n == 2:
            a, b = args
            if isinstance(a, TensorBase):
                if a._base is not None or a._tangents is not None or self.view:
                    return self._call_general(args, params)
                if isinstance(b, TensorBase):
                    if b._base is not None or b._tangents is not None:
                        return self._call_general(args, params)
                    raw_a, raw_b = a._data, b._data
                    parents = ((a._node or a) if a._rg else None,
                               (b._node or b) if b._rg else None)
                    recording = a._rg or b._rg
                    has_version = ((a._vc is not None and a._vc[0] != 0)
                                   or (b._vc is not None and b._vc[0] != 0))
                else:
                    raw_a, raw_b = a._data, b
                    recording = a._rg
                    parents = ((a._node or a) if recording else None, None)
                    has_version = a._vc is not None and a._vc[0] != 0
                cls = a._result_class
            elif isinstance(b, TensorBase):
                if b._base is not None or b._tangents is not None or self.view:
                    return self._call_general(args, params)
                raw_a, raw_b = a, b._data
                recording = b._rg
                parents = (None, (b._node or b) if recording else None)
                has_version = b._vc is not None and b._vc[0] != 0
                cls = b._result_class
            else:
                return self.impl(a, b, **params)  # plain NumPy (the rules in a backward pass)
            try:
                ans = self.impl(raw_a, raw_b, **params)
            except (ValueError, TypeError, IndexError) as err:
                raise named_error(self, err, (raw_a, raw_b)) from None
        elif n == 1:
            a = args[0]
            if not isinstance(a, TensorBase):
                return self.impl(a, **params)  # plain NumPy (the rules in a backward pass)
            if a._base is not None or a._tangents is not None or self.view:
                return self._call_general(args, params)
            recording = a._rg
            parents = ((a._node or a) if recording else None,)
            has_version = a._vc is not None and a._vc[0] != 0
            try:
                ans = self.impl(a._data, **params)
            except (ValueError, TypeError, IndexError) as err:
                raise named_error(self, err, (a._data,)) from None
            cls = a._result_class
        else:
            return self._call_general(args, params)
        out = _new(cls)  # (tensor_base.new_tensor written out: keep its fields in step)
        out._data = ans
        out._grad = out._vc = out._base = out._hooks = out._tangents = None
        if not (recording and grad_mode.enabled):
            out._rg = False
            out._node = None
            return out
        node = _new(Node)
        node.prim = self
        node.parents = parents
        node.args = args if self.save_inputs else None
        node.params = params or None
        node.shape = ans.shape
        node.dtype = ans.dtype
        node.epoch = inplace_count[0]
        node.versions = saved_versions(args) if has_version else None
        node.extras = node.mark = None
        if self.save_ans:
            node.ans = ans
            node.ans_counter = out._vc = [0]
        else:
            node.ans = node.ans_counter = None
        out._rg = True
        out._node = node
        return out

    def _call_general(self, args, params):
        """Any call: no tensor at all (plain NumPy), views, forward-mode tangents, any arity."""
        first = None
        for a in args:
            if isinstance(a, TensorBase):
                first = a
                break
        else:  # no tensor: plain NumPy (the rules in a plain backward pass)
            return self.impl(*args, **params)
        raw = []
        parents = []
        recording = has_version = has_tangent = False
        for a in args:
            if isinstance(a, TensorBase):
                if a._base is not None and a._vc[0] != a._view_version:
                    refresh_view(a)
                raw.append(a._data)
                if a._tangents is not None:
                    has_tangent = True
                if a._rg:
                    recording = True
                    parents.append(a._node or a)  # a non-leaf's node, or the leaf itself
                else:
                    parents.append(None)
                vc = a._vc
                if vc is not None and vc[0]:
                    has_version = True  # (versions of None: every input at version 0)
            else:
                raw.append(a)
                parents.append(None)
        if self.view:
            raw = share_storage(args, raw)
        try:
            ans = self.impl(*raw, **params)
        except (ValueError, TypeError, IndexError) as err:
            raise named_error(self, err, raw) from None
        node = None
        if recording and grad_mode.enabled:
            ans_counter = [0] if self.save_ans else None
            node = Node(self, tuple(parents), args if self.save_inputs else None,
                        ans if self.save_ans else None, params or None, ans.shape, ans.dtype,
                        inplace_count[0], saved_versions(args) if has_version else None,
                        ans_counter)
        out = new_tensor(first._result_class, ans, node)
        if node is not None and self.save_ans:
            out._vc = node.ans_counter
        if self.view:
            mark_view(out, args[0], self, params)
        if has_tangent:
            push_tangents(self, args, params, out)
            if node is not None and self.save_ans and out._tangents is not None:
                node._extras().ans_tangents = out._tangents
        return out


def refresh_if_stale(tensor) -> None:
    """:func:`refresh_view` for a view whose base changed in place since; else nothing."""
    if tensor._base is not None and tensor._vc[0] != tensor._view_version:
        refresh_view(tensor)


def refresh_view(view) -> None:
    """Make a view's history and tangents again from its base's by applying its view
    operations again (PyTorch replays a view); its values are the base's memory already."""
    root = fresh = view._base
    if not (root._rg or root._tangents is not None):
        view._view_version = view._vc[0]  # nothing derives from the base: the view is current
        return
    for prim, params in view._view_steps:
        fresh = prim(fresh, **params)
    view._tangents = fresh._tangents
    if grad_mode.enabled:  # (else: made again when it is next used with grad mode on)
        view._node, view._rg = fresh._node, fresh._rg
        view._view_version = view._vc[0]
