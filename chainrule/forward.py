"""Forward mode: tangents carried beside the values, computed as the values are.

A tensor may carry tangents, one per *level* (``Tensor._tangents``: ``{level: tangent}``).
Each forward-mode computation (``forward_ad.dual_level``, a ``jvp``) opens a level; when a
primitive is applied to tensors that carry tangents, :func:`push_tangents` computes the
result's tangent at each active level from the primitive's JVP rule (the table in
``chainrule/rules/`` declares one per primitive, mostly by naming the shape of its Jacobian,
and :func:`jvp` below derives the rule from that kind).  There is no tape and no second
pass: the cost is a small multiple of the function's own.

Levels make nesting safe.  While the tangent of level ``L`` is computed, only the tangents of
levels below ``L`` propagate (``state.ceiling``): so the tangent computation is itself
differentiated by the outer levels (which is how ``jvp`` of ``jvp`` gives second derivatives)
and never by its own level (which would be meaningless, and endless).  Reverse mode is
independent: tangent computations on tensors that require grad are recorded like any other
operation, so gradients of tangents work too.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np

from chainrule.tensor_base import TensorBase

# forward mode's kinds of Jacobian (see chainrule/rules/); anything else is a rule of its own
JVP_KINDS = ("diagonal", "symmetric", "linear", "bilinear", "reduction")


class _ForwardState(threading.local):
    levels: tuple = ()  # the open levels, oldest first
    ceiling = None  # while a level-L tangent is computed: only levels below L propagate


state = _ForwardState()
level_ids = itertools.count(1)
"""Ids of levels, shared by forward mode and vmap (``chainrule/batching.py``): of two open
levels, the one with the higher id was opened inside the other."""


def enter_level() -> int:
    """Open a new (innermost) level of forward mode and return its id."""
    level = next(level_ids)
    state.levels = state.levels + (level,)
    return level


def exit_level(level: int) -> None:
    """Close ``level``; tangents of a closed level are ignored from then on."""
    state.levels = tuple(lv for lv in state.levels if lv != level)


def live_levels(tensor: TensorBase) -> list[int]:
    """The open levels at which ``tensor`` carries a tangent (and that may propagate now)."""
    if tensor._tangents is None:
        return []
    ceiling = state.ceiling
    return [lv for lv in tensor._tangents
            if lv in state.levels and (ceiling is None or lv < ceiling)]


def push_tangents(prim, args, params, out: TensorBase, above: int = 0) -> None:
    """Give ``out = prim(*args)`` its tangent at every open level where an input has one (vmap
    asks for the levels ``above`` its own only: the lower ones are its rule's business)."""
    open_levels = state.levels
    if len(open_levels) == 1 and state.ceiling is None:  # the usual case: one level
        level = open_levels[0]
        levels = [level] if level > above and any(
            isinstance(a, TensorBase) and a._tangents is not None and level in a._tangents
            for a in args) else []
    else:
        levels = sorted({lv for a in args if isinstance(a, TensorBase) for lv in live_levels(a)
                         if lv > above})
    if not levels:
        return
    tangents: dict = {}
    saved_ceiling = state.ceiling
    try:
        for level in levels:
            state.ceiling = level
            ts = [a._tangents.get(level) if isinstance(a, TensorBase) and a._tangents else None
                  for a in args]
            primals = [_below(a) for a in args]
            ans_below = _ans_below(out, tangents)
            t = jvp(prim, ts, ans_below, primals, params, args)
            if t is not None:
                tangents[level] = compact(t)
    finally:
        state.ceiling = saved_ceiling
    out._tangents = tangents or None


def _below(a):
    """An argument as the JVP rule may see it: raw unless it carries something to propagate."""
    if not isinstance(a, TensorBase) or a._rg or a._batched or live_levels(a):
        return a
    return a._data


def _ans_below(out: TensorBase, lower: dict):
    """The result, with the tangents of the lower levels computed so far."""
    if not out._rg and not lower and not out._batched:
        return out._data
    # a separate object: no cycle between out and its tangent
    ans = out._with_node(out._node)
    ans._tangents = dict(lower) or None
    return ans


def compact(t):
    """Keep a tangent as a raw array unless it carries history or tangents of its own."""
    if isinstance(t, TensorBase) and not t._rg and t._tangents is None and not t._batched:
        return t._data
    return t


def jvp(prim, ts, ans, args, params, originals):
    """``J t`` of one primitive application (``ts``: one tangent or None per input).

    ``originals`` are the arguments as the caller gave them (``args`` may hold raw arrays in
    their place), to tell tensor inputs from constants.
    """
    kind = prim.jvp
    if kind == "diagonal" or kind == "symmetric":  # J t = J^T t: the VJP rules serve
        total = None
        for i, t in enumerate(ts):
            if t is None:
                continue
            part = prim.vjp[i](t, ans, *args, **params)
            if part is not None:
                total = part if total is None else total + part
        return _fit(total, ans)
    if kind == "linear":
        return _fit(prim(*[_tangent_or_zero(t, a) for t, a in zip(ts, originals)], **params),
                    ans)
    if kind == "bilinear":
        total = None
        for i, t in enumerate(ts):
            if t is not None:
                part = prim(*args[:i], t, *args[i + 1:], **params)
                total = part if total is None else total + part
        return _fit(total, ans)
    if kind == "reduction":  # d ans = sum over the reduced axes of (d ans / d x) t
        ones = np.ones(ans.shape, ans.dtype)
        slope = prim.vjp[0](ones, ans, *args, **params)
        # (ndarrays and Tensors both have sum(axis=, keepdims=): the rules' values are either)
        return _fit((ts[0] * slope).sum(axis=params["axis"], keepdims=params["keepdims"]), ans)
    return _fit(kind(ts, ans, *args, **params), ans)


def _tangent_or_zero(t, a):
    if t is not None:
        return t
    if isinstance(a, (TensorBase, np.ndarray)):  # no tangent: zero, of the same shape
        return np.zeros(a.shape, a.dtype)
    return 0  # a Python number: a constant, which a linear primitive maps to zero


def _fit(t, ans):
    """The tangent of a result has the result's shape and dtype."""
    if t is None:
        return None
    if not hasattr(t, "shape"):  # a Python number from a rule
        t = np.asarray(t)
    shape, dtype = ans.shape, ans.dtype  # Tensors and NumPy values both have them
    if t.shape != shape:  # (a Tensor's method records the broadcast; an ndarray's is a view)
        t = t.broadcast_to(shape) if isinstance(t, TensorBase) else np.broadcast_to(t, shape)
    if t.dtype != dtype:
        if t.dtype.kind == "c" and dtype.kind != "c" and not isinstance(t, TensorBase):
            t = t.real  # a real result moves by Re(dz) (a Tensor's astype takes it too)
        t = t.astype(dtype)
    return t
