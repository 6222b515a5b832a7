"""Version counters: in-place changes to values that a recorded node saved, and views that
share their base's counter.

Every tensor changed in place bumps its version (``TensorBase._bump_version``); a view shares
its base's counter.  A node records the versions of the inputs it saved (and its result's
counter), and the backward walk refuses to run its rules on values changed since, with
PyTorch's error.  A view also remembers how it was made from its base, so that, after its
base changed in place, ``engine.refresh_view`` makes its history again from the base's (as
PyTorch replays a view).
"""

from __future__ import annotations

import numpy as np

from chainrule.tensor_base import TensorBase


def without_history(tensor: TensorBase) -> bool:
    """Whether nothing would record an operation on ``tensor``: it needs no gradient, carries
    no tangents, is not a batched value of vmap (whose operations go to vmap's dispatcher: its
    ``_data`` holds no values) and is not a view whose base changed in place since (that view's
    history is made again first)."""
    return not (tensor._rg or tensor._tangents is not None or tensor._batched
                or (tensor._base is not None and tensor._vc[0] != tensor._view_version))


def saved_versions(args) -> tuple:
    """The version of each saved argument (0 for a constant) when the node records it."""
    return tuple([(a._vc[0] if a._vc is not None else 0) if isinstance(a, TensorBase) else 0
                  for a in args])


def share_storage(args, raw):
    """A view of a 0-d tensor held as a NumPy scalar must alias a real array: make one."""
    first = args[0]
    if isinstance(first, TensorBase) and not isinstance(first._data, np.ndarray):
        first._ensure_array()
        raw = [first._data, *raw[1:]]
    return raw


def writeable_view(view: np.ndarray) -> np.ndarray:
    """``view``, writeable when no two of its elements are one element of memory and that
    memory may be written (as PyTorch writes through any such view; NumPy makes a view of a
    broadcast array read-only, even where it repeats nothing)."""
    if view.flags.writeable or any(n > 1 and s == 0 for n, s in zip(view.shape, view.strides)):
        return view
    owner = view
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not owner.flags.writeable or not owner.flags.forc:  # (a buffer must be contiguous)
        return view
    offset = view.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return np.ndarray(view.shape, view.dtype, owner, offset, view.strides)


def mark_view(out, base, prim, params) -> None:
    """Views share their base's version counter, so in-place changes through either are seen,
    and remember how they were made from it (``prim(base, **params)``), so that their history
    can be made again after such a change."""
    if not isinstance(out._data, np.ndarray) or not np.shares_memory(out._data, base._data):
        return
    out._data = writeable_view(out._data)
    link_view(out, base, prim, params)


def link_view(out, base, prim, params) -> None:
    """:func:`mark_view`'s bookkeeping, once ``out``'s values are known to be a view of
    ``base``'s (vmap's batched views, whose stacks are the values, call it directly)."""
    root = base._base if base._base is not None else base
    out._view_steps = (base._view_steps if base._base is not None else ()) + ((prim, params),)
    if root._vc is None:
        root._vc = [0]
    if base._vc is None:
        base._vc = root._vc
    out._vc = root._vc
    out._base = root
    out._view_version = root._vc[0]


def inputs_read(reads, needing) -> set | None:
    """What the rules of the inputs at positions ``needing`` read, by the primitive's
    ``reads``: input positions, and ``"ans"`` for its result; None where it does not say
    (everything)."""
    return None if reads is None else {j for i in needing for j in reads[i]}


def check_versions(node) -> None:
    """Raise PyTorch's error if a value that the node's rules will read (those of the inputs
    that need a gradient: ``prim.reads``) was changed in place since it was saved."""
    versions, ans_counter = node.versions, node.ans_counter
    read = inputs_read(node.prim.reads, [i for i, p in enumerate(node.parents) if p is not None])
    if ans_counter is not None and ans_counter[0] != 0 and (read is None or "ans" in read):
        _raise_modified(node, f"which is output 0 of {node.name()}", node.shape, node.dtype,
                        ans_counter[0], 0)
    if node.args is None:
        return
    for i, a in enumerate(node.args):
        if not isinstance(a, TensorBase) or a._vc is None or (read is not None and i not in read):
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
