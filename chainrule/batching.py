"""vmap's machinery: batched values, levels, the dispatcher and the batching kinds.

``chainrule.func.vmap`` runs a function written for one example on a stack of them (the design
is ``docs/design/vmap.md``).  While a vmap is open, ``engine.batching[0]`` is :func:`dispatch`,
and every primitive call goes there first:

* a **batched value** is a :class:`BatchedTensor`: a Tensor whose ``_value`` holds the physical
  value, with the batch always at axis 0 (an ndarray; a Tensor of an enclosing ``grad``; or a
  BatchedTensor of an enclosing vmap), and whose ``_data`` is a :class:`LogicalArray` with the
  per-example shape and dtype only.  So code that reads shapes (``x.shape``, the ``x_shape``
  params of ops.py) sees one example, and code that reads values (``bool``, ``float``,
  ``.item()``, ``np.asarray``) raises vmap's data-dependent control-flow error;
* **levels** order nested vmaps: each vmap takes a fresh id, higher inside; the dispatcher
  handles the highest level among a call's arguments, and its rule calls the primitive on the
  unwrapped values, where the next level (or a recording ``grad``) takes over.  Forward mode's
  levels come from the same counter, so a tangent of a ``jvp`` opened *inside* a vmap is
  pushed by the dispatcher on batched values, and one opened outside by the rule's calls;
* **transforms inside a vmap**: a ``grad`` there differentiates one example, so its inputs
  are batched stand-ins (:func:`stand_in`; an unbatched one is broadcast without a copy, and
  what is computed from it alone is computed once); the dispatcher records a node with the
  per-example primitive and params when a batched argument of its level requires grad, and
  the backward pass then runs the VJP rules on batched values;
* **values without gradient** (comparisons, ``argmax``, NumPy ufuncs: ``ops.no_gradient``) are
  computed per example by :func:`without_gradient`;
* the **batching rule** of a primitive (``batch=`` in ``rules.table.primitive``) is either one
  of :data:`~chainrule.rules.table.BATCH_KINDS`, derived here by :data:`KIND_RULES`, or a
  function.  Every rule is ``rule(prim, values, batched, size, **params)``: ``values`` the
  unwrapped arguments (batched ones with the batch at axis 0), ``batched`` a flag per argument,
  ``size`` the batch size; it returns the physical result, batch at axis 0.

Nothing here runs unless a vmap is open: the engine tests one list item per call otherwise.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from chainrule import engine, forward, pytree, tracing
from chainrule import rules as R
from chainrule.engine import refresh_view
from chainrule.rules.table import BATCH_KINDS, run
from chainrule.tensor import Tensor
from chainrule.tensor_base import TensorBase, inplace_count, new_tensor
from chainrule.versions import link_view, saved_versions, without_history
from chainrule.vmap_levels import levels as _levels
from chainrule.vmap_levels import randomness as _randomness
from chainrule.vmap_levels import sizes as _sizes
from chainrule.vmap_levels import tangent_levels as _tangent_levels

CONTROL_FLOW = (
    "vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow "
    "({what} of a batched value, which has one value per example). We don't support that yet; "
    "use chainrule.where instead of if/else on a batched value, or move the computation out "
    "of vmap.")


class LogicalArray:
    """A batched tensor's ``_data``: the per-example ``shape``, ``dtype``, ``ndim`` and ``size``;
    anything that would read values raises vmap's control-flow error.

    >>> a = LogicalArray((2, 3), np.float64)
    >>> a.shape, a.ndim, a.size
    ((2, 3), 2, 6)
    >>> bool(a)
    Traceback (most recent call last):
    ...
    RuntimeError: vmap: It looks like you're attempting to use a Tensor in some data-dependent \
control flow (bool() of a batched value, which has one value per example). We don't support \
that yet; use chainrule.where instead of if/else on a batched value, or move the computation \
out of vmap.
    """

    __slots__ = ("shape", "dtype", "ndim", "size")

    def __init__(self, shape, dtype) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)

    def _refuse(self, what: str):
        raise RuntimeError(CONTROL_FLOW.format(what=what))

    def __repr__(self) -> str:
        return f"LogicalArray(shape={self.shape}, dtype={self.dtype})"

    def __bool__(self) -> bool:
        self._refuse("bool()")

    def __float__(self) -> float:
        self._refuse("float()")

    def __int__(self) -> int:
        self._refuse("int()")

    def __complex__(self) -> complex:
        self._refuse("complex()")

    def __index__(self) -> int:
        self._refuse("use as an index")

    def __array__(self, *args, **kwargs):
        self._refuse("conversion to a NumPy array")

    def __len__(self) -> int:
        self._refuse("len()")

    def __getattr__(self, name: str):
        if name.startswith("__"):  # protocols NumPy and copy probe for: not there
            raise AttributeError(name)
        self._refuse(f"reading .{name}()" if name in ("item", "tolist") else f"reading .{name}")


_logical: dict = {}  # (physical shape, dtype) -> its LogicalArray (they never change)


class BatchedTensor(Tensor):
    """A tensor that stands for ``B`` tensors of its (per-example) shape, at vmap level
    ``_level``; ``_value`` is their stack, batch at axis 0.  Only vmap makes them."""

    __slots__ = ("_value", "_level")
    _batched = True
    _result_class = Tensor  # (a result is wrapped by the dispatcher, never by the engine)

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError("BatchedTensor is made by chainrule.func.vmap only")

    def detach(self) -> BatchedTensor:
        """The same examples, without history."""
        value = self._value.detach() if isinstance(self._value, TensorBase) else self._value
        return batched(value, self._level)

    def _with_node(self, node) -> BatchedTensor:
        t = batched(self._value, self._level)
        t._rg, t._node = node is not None, node
        return t

    def _without_gradient(self, func, args, kwargs):
        """``ops.no_gradient`` of arguments among which this one is batched: see
        :func:`without_gradient`."""
        return without_gradient(func, args, kwargs)

    def __repr__(self) -> str:
        return f"BatchedTensor(lvl={self._level}, bdim=0, value={self._value!r})"

    __str__ = __repr__


def batched(value, level: int) -> BatchedTensor:
    """A BatchedTensor around ``value`` (its batch at axis 0), without history."""
    t = object.__new__(BatchedTensor)
    key = (value.shape, value.dtype)
    logical = _logical.get(key)
    if logical is None:
        if len(_logical) > 1024:
            _logical.clear()
        logical = _logical[key] = LogicalArray(value.shape[1:], value.dtype)
    t._data = logical
    t._value = value
    t._level = level
    t._rg = False
    t._node = t._grad = t._vc = t._base = t._hooks = t._tangents = None
    return t


def without_gradient(func, args, kwargs):
    """A NumPy function ``func`` of tensors, some batched, as a result without gradient
    (comparisons, ``argmax``, ``isnan``, ...): per example.  ``func`` is elementwise (the
    batch axes are aligned and NumPy broadcasts), or takes ``axis`` (shifted past the batch;
    None: every per-example axis, or the flattened example for ``argmax``/``argmin``)."""
    level = max(a._level for a in args if isinstance(a, BatchedTensor))
    # inside chainrule.compile the values stay tensors, and func is an operation of the trace
    # (the plan computes it at each replay: their arrays read here would be constants)
    tracer = tracing.active[0]
    values, ranks = [], []
    for a in args:
        if isinstance(a, BatchedTensor) and a._level == level:
            value = a._value
            value = value._data if isinstance(value, TensorBase) and not value._batched \
                and tracer is None else value
            values.append((value, True))
            ranks.append(a.ndim)
        else:
            value = a._data if isinstance(a, TensorBase) and not a._batched \
                and tracer is None else a
            values.append((value, False))
            ranks.append(np.ndim(value) if not isinstance(value, TensorBase) else value.ndim)
    rank = max(ranks)
    size = next(v.shape[0] for v, is_batched in values if is_batched)
    raw = []
    for value, is_batched in values:
        if is_batched and not isinstance(value, TensorBase):
            shape = np.shape(value)
            value = np.reshape(value, shape[:1] + (1,) * (rank - len(shape) + 1) + shape[1:])
        elif is_batched:  # a batched value of an enclosing vmap: its own level does the rest
            value = value.reshape((size,) + (1,) * (rank - value.ndim + 1) + value.shape[1:])
        raw.append(value)
    if "axis" in kwargs:
        kwargs = dict(kwargs)
        axis = kwargs["axis"]
        if axis is None and func in (np.argmax, np.argmin):
            raw = [np.reshape(v, (size, -1)) if not isinstance(v, TensorBase) else
                   v.reshape((size, -1)) for v in raw]
            kwargs["axis"] = 1
        else:
            kwargs["axis"] = _shifted(axis, rank)
    for v in raw:
        if isinstance(v, TensorBase) and v._batched:  # nested vmaps: the enclosing level's
            return batched(v._without_gradient(func, raw, kwargs), level)  # values do the rest
    if tracer is not None and any(isinstance(v, TensorBase) for v in raw):
        return batched(tracer.no_gradient(_as_array(func), raw, kwargs), level)
    return batched(np.asarray(func(*raw, **kwargs)), level)


def _as_array(func):
    """``func`` whose result is an ndarray (a NumPy function may return a NumPy scalar)."""
    def as_array(*args, **kwargs):
        return np.asarray(func(*args, **kwargs))
    as_array.__name__ = getattr(func, "__name__", "no_gradient")
    return as_array


# --------------------------------------------------------------------------------------------
# levels


_open_count = [0]  # open levels in all threads: the hook is set while it is not 0
_open_lock = threading.Lock()


def enter_level(randomness: str = "error", tangents_only: bool = False) -> int:
    """Open a new (innermost) vmap level in this thread, and the engine's hook with it.

    ``randomness`` is the level's mode for random functions (see :func:`random_levels`);
    ``tangents_only``: the level batches forward-mode tangents only, never the values they
    are tangents of (``jacfwd``'s): a ``grad`` inside it differentiates unbatched values."""
    level = next(forward.level_ids)  # (one order with forward mode's levels: see dispatch)
    _randomness[level] = randomness
    if tangents_only:
        _tangent_levels.add(level)
    _levels.open = _levels.open + (level,)
    with _open_lock:
        _open_count[0] += 1
        if tracing.active[0] is None:  # (a trace of compile keeps the hook: it calls dispatch)
            engine.batching[0] = dispatch
    return level


def stand_in(t: TensorBase, level: int) -> BatchedTensor:
    """A ``grad`` inside vmap: a fresh differentiable stand-in for its input ``t`` at the open
    ``level``, since what is differentiated there is per example.  An unbatched ``t`` is the
    same for every example (a broadcast view, no copy).  What ``t`` carries for transforms
    opened outside the level stays on the value; the tangents of those opened inside (a ``jvp``
    around this ``grad``) stay on the stand-in."""
    if isinstance(t, BatchedTensor) and t._level == level:
        if t._rg:  # a view keeps the history an enclosing grad inside the level needs
            return R.reshape(t, shape=t.shape, x_shape=t.shape)
        value = t._value
    else:
        below = _below_level(t, level) if t._tangents is not None else t
        size = _sizes[level]
        value = (np.broadcast_to(below._data, (size,) + below._data.shape)
                 if without_history(below) else
                 R.broadcast_to(below, shape=(size,) + t.shape, x_shape=t.shape))
    out = batched(value, level)
    if t._tangents is not None:
        out._tangents = {lv: tangent for lv, tangent in t._tangents.items() if lv > level} or None
    out._rg = True
    return out


def exit_level(level: int) -> None:
    """Close ``level``; the hook is cleared when no level is open in any thread."""
    opened = _levels.open
    _levels.open = opened[:-1] if opened[-1] == level else tuple(
        lv for lv in opened if lv != level)  # (levels close innermost first)
    _sizes.pop(level, None)
    _tangent_levels.discard(level)
    _randomness.pop(level, None)
    with _open_lock:
        _open_count[0] -= 1
        if not _open_count[0] and tracing.active[0] is None:
            engine.batching[0] = None


# --------------------------------------------------------------------------------------------
# dispatch


def dispatch(prim, args, params):
    """A primitive call while a vmap is open: the batched result, or ``NotImplemented`` when no
    argument is batched (the engine then goes on as usual).

    The rule computes on the unwrapped values, so transforms opened *outside* this level (a
    ``grad`` of the vmap, an outer ``jvp``) see the rule's own primitive calls.  Transforms
    opened *inside* it (``vmap(grad(f))``, ``vmap(jvp(f))``) differentiate the logical call:
    a node recorded here with the per-example primitive and params, and tangents pushed here
    through the JVP rules on batched values.
    """
    level = 0
    for a in args:
        if isinstance(a, BatchedTensor) and a._level > level:
            level = a._level
    if not level:
        return NotImplemented
    if level not in _levels.open:
        raise RuntimeError(
            f"vmap: chainrule.{prim.name} was given a batched tensor of a vmap that has already "
            "returned (a BatchedTensor escaped its vmap, e.g. stored in a global or a list); "
            "return it from the vmapped function instead")
    values, flags = [], []
    size = shared = None
    recording = pushing = False  # reverse and forward mode opened inside this level
    for a in args:
        if isinstance(a, BatchedTensor) and a._level == level:
            if a._base is not None:  # a view: current after in-place changes of its base
                refresh_batched_view(a)
            value = a._value
            if type(value) is np.ndarray and not value.strides[0] and len(value):
                # the same for every example (a broadcast view: an unbatched input of a grad
                # inside vmap): one example stands for all
                shared = value.shape[0]
                values.append(value[0])
                flags.append(False)
            else:
                values.append(value)
                flags.append(True)
                size = value.shape[0]
            recording = recording or a._rg
            pushing = pushing or a._tangents is not None
        elif isinstance(a, TensorBase):
            if a._tangents is not None and any(lv > level for lv in forward.live_levels(a)):
                pushing = True
                a = _below_level(a, level)
            # raw when nothing would follow it through the rule's calls: no grad to record
            # (or grad mode off, as in a backward pass), no tangents, not batched, not a view,
            # and no trace of compile writing the rule's calls down
            values.append(a._data if a._tangents is None and not a._batched and a._base is None
                          and (not a._rg or not engine.grad_mode.enabled)
                          and tracing.active[0] is None else a)
            flags.append(False)
        else:
            values.append(a)
            flags.append(False)
    rule = prim.batch
    if rule is None:
        raise NotImplementedError(
            f"vmap: chainrule.{prim.name} has no batching rule yet; call it outside vmap, or "
            "loop over the examples")
    if size is None:  # every batched value is the same for every example: so is the result
        value = run(prim, *values, **params)
        out = batched(np.broadcast_to(value, (shared,) + np.shape(value))
                      if not isinstance(value, TensorBase) else
                      R.broadcast_to(value, shape=(shared,) + value.shape, x_shape=value.shape),
                      level)
    else:
        if type(rule) is str:
            rule = KIND_RULES[rule]
        out = batched(rule(prim, values, flags, size, **params), level)
    node = None
    if recording and engine.grad_mode.enabled:
        node = engine.Node(prim, tuple(
            (a._node or a) if isinstance(a, BatchedTensor) and a._level == level and a._rg
            else None for a in args), args if prim.save_inputs else None,
            batched(out._value, level) if prim.save_ans else None, params or None, out.shape,
            out.dtype, inplace_count[0], saved_versions(args) if prim.save_inputs else None,
            [0] if prim.save_ans else None)  # (versions: in-place changes are checked)
        out._rg, out._node, out._vc = True, node, node.ans_counter
    if prim.view and type(args[0]) is BatchedTensor and args[0]._level == level:
        mark_batched_view(out, args[0], prim, params)
    if pushing:
        forward.push_tangents(prim, args, params, out, above=level)
        if node is not None and prim.save_ans and out._tangents is not None:
            node._extras().ans_tangents = out._tangents
    return out


def _below_level(t: TensorBase, level: int):
    """``t`` as the levels below ``level`` see it: without the tangents of forward-mode levels
    opened inside that vmap level (the dispatcher pushes those itself)."""
    if t._rg and t._node is None:  # a leaf of an outer grad: it must reach the rule as itself
        return t
    inner = new_tensor(t._result_class, t._data, t._node)
    inner._tangents = {lv: tangent for lv, tangent in t._tangents.items() if lv < level} or None
    return inner


# --------------------------------------------------------------------------------------------
# the kinds


def logical_ndim(value, is_batched: bool) -> int:
    """The per-example rank of an unwrapped value (a Python number: 0)."""
    ndim = value.ndim if isinstance(value, TensorBase) else np.ndim(value)
    return ndim - 1 if is_batched else ndim


def align(value, rank: int):
    """A batched value with 1s inserted after its batch axis up to per-example rank ``rank``,
    so that NumPy's broadcasting (which aligns the trailing axes) keeps the batch first."""
    shape = value.shape
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return value
    new_shape = shape[:1] + (1,) * missing + tuple(shape[1:])
    if type(value) is np.ndarray:
        return value.reshape(new_shape)
    return R.reshape(value, shape=new_shape, x_shape=tuple(shape))


def elementwise(prim, values, batched, size, **params):
    """Kind ``"elementwise"``: every batched value gets 1s after its batch axis up to the highest
    per-example rank; NumPy broadcasts the rest (unbatched values, numbers and array params,
    such as ``ldexp``'s exponents, as they are)."""
    if not params:
        if len(values) == 1:
            return run(prim, values[0])
        if len(values) == 2:  # (written out: add, mul and the like are most of the calls)
            x, y = values
            bx, by = batched
            rx, ry = getattr(x, "ndim", 0) - bx, getattr(y, "ndim", 0) - by
            if bx and rx < ry:
                x = align(x, ry)
            elif by and ry < rx:
                y = align(y, rx)
            return run(prim, x, y)
    param_ranks = [p.ndim for p in params.values() if isinstance(p, np.ndarray)]
    if len(values) > 1 or param_ranks:
        rank = max([logical_ndim(v, b) for v, b in zip(values, batched)] + param_ranks)
        values = [align(v, rank) if b else v for v, b in zip(values, batched)]
    return run(prim, *values, **params)


def _shifted(axis, ndim: int):
    """Per-example axes (an int, a tuple, None for all) as axes of the stack: one place right."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, tuple):
        return tuple(_shifted(a, ndim) for a in axis)
    return axis % ndim + 1 if ndim else axis + 1


def reduction(prim, values, batched, size, *, axis, x_shape, **params):
    """Kind ``"reduction"``: params ``axis`` (None, an int, a tuple) and ``x_shape``; the axes
    move one place right (None: every per-example axis) and ``x_shape`` gains the batch."""
    (x,) = values
    axes = _shifted(axis, len(x_shape))
    axes = axes if isinstance(axes, tuple) else (axes,)
    return run(prim, x, axis=axes, x_shape=(size,) + tuple(x_shape), **params)


def along_axis(prim, values, batched, size, *, axis, **params):
    """Kind ``"axis"``: a shape-preserving op along ``axis`` (an int or a tuple): shifted."""
    (x,) = values
    if axis is None:
        raise NotImplementedError(f"vmap: chainrule.{prim.name} over the flattened value")
    return run(prim, x, axis=_shifted(axis, logical_ndim(x, True)), **params)


def shape(prim, values, batched, size, **params):
    """Kind ``"shape"``: ``shape`` and ``x_shape`` gain the batch in front, ``axes`` shift and
    ``reps`` gains a 1.  A value of lower rank than ``shape`` or ``reps`` (broadcasting, NumPy's
    tile) first gets 1s after its batch axis; one of higher rank than ``shape`` (``sum_to``
    summing leading axes) keeps them as 1s, dropped by a reshape after."""
    (x,) = values
    rank = logical_ndim(x, True)
    target = params.get("shape")
    dropped = None
    if "reps" in params:
        reps = tuple(params["reps"])
        x = align(x, len(reps))
        rank = logical_ndim(x, True)
        params["reps"] = (1,) * (rank + 1 - len(reps)) + reps
    if target is not None:
        target = tuple(target)
        if rank < len(target):
            x = align(x, len(target))
            rank = len(target)
        lead = rank - len(target)
        if lead and "x_shape" in params and prim.name == "sum_to":
            dropped = (size,) + target
            target = (1,) * lead + target
        params["shape"] = (size,) + target
    if "x_shape" in params:
        params["x_shape"] = tuple(x.shape)
    if "axes" in params:
        params["axes"] = (0,) + tuple(a % rank + 1 for a in params["axes"])
    out = prim(x, **params)
    return out if dropped is None else R.reshape(out, shape=dropped, x_shape=tuple(out.shape))


def core(prim, values, batched, size, **params):
    """Kind ``"core"``: a one-argument op on the trailing (core) axes of its value that takes
    any leading axes as a stack, as NumPy's linalg does (``inv``, ``det``, ``eigh``, ...): the
    batch is one more leading axis, so the op is called on the stack as it is, with its
    (per-example) params."""
    (x,) = values
    return prim(x, **params)


KIND_RULES = {"elementwise": elementwise, "reduction": reduction, "axis": along_axis,
              "shape": shape, "core": core}
"""The rule each of :data:`~chainrule.rules.table.BATCH_KINDS` derives."""
assert set(KIND_RULES) == set(BATCH_KINDS), "a batching kind without its rule"


# --------------------------------------------------------------------------------------------
# vmap's calls: moving the batch axis in and out


def move_axis(value, source: int, dest: int):
    """``value`` (an ndarray or a tensor) with axis ``source`` moved to ``dest`` (a view)."""
    if source == dest and source >= 0:  # (the common in_axes and out_axes 0)
        return value
    ndim = np.ndim(value) if not isinstance(value, TensorBase) else value.ndim
    source, dest = source % ndim, dest % ndim
    if source == dest:
        return value
    order = [i for i in range(ndim) if i != source]
    order.insert(dest, source)
    if type(value) is np.ndarray:
        return value.transpose(order)
    return R.transpose(value, axes=tuple(order))


def unbatched(value, level: int, size: int, out_axis: int):
    """A result of the vmapped function at ``level`` as a stack with the batch at ``out_axis``:
    a batched one is unwrapped, anything else is the same for every example and is broadcast
    (as PyTorch expands it)."""
    if type(value) is BatchedTensor and value._level == level:
        stack = value._value
    else:
        per_example = tuple(np.shape(value)) if not isinstance(value, TensorBase) else value.shape
        stack = R.broadcast_to(value, shape=(size,) + per_example, x_shape=per_example)
    return move_axis(stack, 0, out_axis)


def _is_leaf(value) -> bool:
    """A value that is one leaf of a structure (the common argument: a tensor or an array)."""
    return isinstance(value, (TensorBase, np.ndarray))


def _is_axis(axis) -> bool:
    if type(axis) is int:
        return True
    return axis is None or (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool))


def axes_per_leaf(axes, tree, what: str) -> list:
    """One axis (an int or None) per leaf of ``tree``: ``axes`` is one for all of them, or a
    structure like ``tree`` (tuples, lists, dicts) down to ints and Nones; ``what`` names the
    argument in errors (``"in_axes[1]"``)."""
    if _is_axis(axes):
        return [axes] * (1 if _is_leaf(tree) else len(pytree.tree_leaves(tree)))
    if isinstance(axes, dict) and isinstance(tree, dict):
        if set(axes) != set(tree):
            raise ValueError(f"vmap: {what} is a dict with keys {sorted(axes, key=str)} but the "
                             f"argument has keys {sorted(tree, key=str)}; they must match")
        return [a for key in tree for a in axes_per_leaf(axes[key], tree[key],
                                                         f"{what}[{key!r}]")]
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(axes) != len(tree):
            raise ValueError(f"vmap: {what} has {len(axes)} entries but the argument has "
                             f"{len(tree)}; they must match")
        return [a for i, (ax, sub) in enumerate(zip(axes, tree))
                for a in axes_per_leaf(ax, sub, f"{what}[{i}]")]
    raise ValueError(f"vmap: {what} must be an int, None, or a tuple, list or dict matching the "
                     f"structure of the argument; got {axes!r} for a {type(tree).__name__}")


def _argument(i: int, j: int | None) -> str:
    """How errors name argument ``i`` (leaf ``j`` of its structure, if it has several)."""
    return f"argument {i}" + (f" (leaf {j})" if j is not None else "")


def _batched_leaf(leaf, axis: int, i: int, j: int | None = None):
    """A mapped argument's physical value: an ndarray, or a tensor that carries something for an
    enclosing transform; the batch moved to axis 0 (``i``, ``j``: which, for errors)."""
    if isinstance(leaf, TensorBase):
        if without_history(leaf) and tracing.active[0] is None:  # (compile: keep the tensor)
            leaf = leaf._data if isinstance(leaf._data, np.ndarray) else np.asarray(leaf._data)
    elif isinstance(leaf, np.ndarray):
        pass
    else:
        raise ValueError(f"vmap: {_argument(i, j)} is mapped (in_axes {axis}) but it is a "
                         f"{type(leaf).__name__}, not a tensor; only tensors and arrays can be "
                         "mapped: use None for it in in_axes")
    ndim = leaf.ndim
    if not -ndim <= axis < ndim:
        what = _argument(i, j)
        raise ValueError(f"vmap: {what} has {ndim} dimension(s), so in_axes {axis} is out of "
                         f"range [{-ndim}, {ndim - 1}]" if ndim else
                         f"vmap: {what} is a 0-d tensor, which has no dimension to map over "
                         f"(in_axes {axis}); use None for it in in_axes")
    return move_axis(leaf, axis, 0)


def batch_arguments(args: tuple, in_axes, level: int):
    """The arguments of one vmapped call with their mapped leaves as BatchedTensors of
    ``level``, the batch size, and whether any leaf was a Tensor."""
    if _is_axis(in_axes):
        per_arg = [in_axes] * len(args)
    elif isinstance(in_axes, (tuple, list)):
        if len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function was "
                             f"called with {len(args)} positional argument(s); in_axes must be "
                             "an int, None or a tuple matching the arguments")
        per_arg = list(in_axes)
    else:
        raise ValueError(f"vmap: in_axes must be an int, None or a tuple matching the arguments, "
                         f"got {in_axes!r}")
    out, sizes, found = [], [], []
    tensors_in = False
    for i, (arg, axes) in enumerate(zip(args, per_arg)):
        if _is_leaf(arg) and _is_axis(axes):  # (the common case, without a structure)
            tensors_in = tensors_in or isinstance(arg, Tensor)
            if axes is None:
                out.append(arg)
                continue
            value = _batched_leaf(arg, int(axes), i)
            sizes.append(value.shape[0])
            found.append((i, None))
            out.append(batched(value, level))
            continue
        leaves, spec = pytree.flatten(arg)
        tensors_in = tensors_in or any(isinstance(leaf, Tensor) for leaf in leaves)
        axis_of = axes_per_leaf(axes, arg, f"in_axes[{i}]")
        new = []
        for j, (leaf, axis) in enumerate(zip(leaves, axis_of)):
            if axis is None:
                new.append(leaf)
                continue
            where = (i, j if len(leaves) > 1 else None)
            value = _batched_leaf(leaf, int(axis), *where)
            sizes.append(value.shape[0])
            found.append(where)
            new.append(batched(value, level))
        out.append(pytree.unflatten(spec, new))
    if not sizes:
        raise ValueError("vmap: at least one argument must be mapped over (in_axes is all None "
                         "or there are no tensor arguments)")
    if len(sizes) > 1 and len(set(sizes)) > 1:
        listed = ", ".join(f"{_argument(*w)}: {s}" for w, s in zip(found, sizes))
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension ({listed})")
    _sizes[level] = sizes[0]
    return out, sizes[0], tensors_in


def unbatch_outputs(out, out_axes, level: int, size: int):
    """The vmapped function's result with each leaf's batch at its ``out_axes`` axis, as a
    list of leaves and the result's structure (:func:`chainrule.pytree.flatten`'s)."""
    leaves, spec = pytree.flatten(out)
    axis_of = [out_axes] * len(leaves) if _is_axis(out_axes) else axes_per_leaf(
        out_axes, out, "out_axes")
    stacks = []
    for j, (leaf, axis) in enumerate(zip(leaves, axis_of)):
        if axis is None:
            if isinstance(leaf, BatchedTensor) and leaf._level == level:
                raise ValueError(f"vmap: out_axes is None for output {j}, but it differs from "
                                 "example to example (it is batched); give it an int out_axes")
            stacks.append(leaf)
            continue
        if not isinstance(leaf, (TensorBase, np.ndarray, int, float, complex, np.generic)):
            raise ValueError(f"vmap: output {j} of the function is a {type(leaf).__name__}; "
                             "a vmapped function must return tensors (or structures of them)")
        ndim = (leaf._data.ndim if isinstance(leaf, TensorBase) else np.ndim(leaf)) + 1
        if not -ndim <= axis < ndim:
            raise ValueError(f"vmap: out_axes {axis} is out of range for output {j}, which has "
                             f"{ndim} dimension(s) with the batch: [{-ndim}, {ndim - 1}]")
        stacks.append(unbatched(leaf, level, size, int(axis)))
    return stacks, spec


# --------------------------------------------------------------------------------------------
# randomness: what a random function draws inside vmap

def batched_random(value, levels: tuple):
    """A draw of shape ``random_sizes(levels) + shape`` as the BatchedTensor of those levels,
    the outermost wrapped first (a level's value is the batch of the level outside it)."""
    for level, _ in levels:
        value = batched(value, level)
    return value


# --------------------------------------------------------------------------------------------
# views of batched tensors: an in-place change through one reaches its base's history


def mark_batched_view(out: BatchedTensor, base, prim, params) -> None:
    """``out = prim(base, **params)`` for a view primitive and a ``base`` batched at ``out``'s
    level: when the stacks share memory, ``out`` is a view of ``base`` as the engine marks
    one (``versions.link_view``), with the per-example steps.  So an in-place change of ``out``
    is recorded on its base (``copy_slices``), and a change of the base makes ``out``'s history
    and tangents again when it is next used (:func:`refresh_batched_view`), as for tensors
    outside vmap.  (A stack that is a tensor of an enclosing transform cannot be changed in
    place: nothing to follow.)"""
    value, base_value = out._value, base._value
    if type(value) is np.ndarray and type(base_value) is np.ndarray \
            and np.shares_memory(value, base_value):
        link_view(out, base, prim, params)


def refresh_batched_view(t: BatchedTensor) -> None:
    """A view argument (:func:`mark_batched_view`) whose base changed in place since its history
    was made: made again from the base's (``engine.refresh_view``)."""
    if t._vc[0] != t._view_version:
        refresh_view(t)
