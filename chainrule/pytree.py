"""Nested structures ("pytrees"): one flatten and one unflatten for every transform and dialect.

A pytree is a value built from tuples (named ones too), lists and dicts; everything else is a
*leaf*.  The transforms (:mod:`chainrule.func`, the JAX and TensorFlow dialects) accept and
return such structures: they flatten the arguments to a list of leaves, work on the leaves,
and rebuild results of the same shape from a :class:`TreeSpec`.

>>> from chainrule import pytree
>>> leaves, spec = pytree.flatten({"w": [1.0, 2.0], "b": (3.0,)})
>>> leaves
[1.0, 2.0, 3.0]
>>> spec
TreeSpec({'w': [*, *], 'b': (*,)})
>>> pytree.unflatten(spec, [10.0, 20.0, 30.0])
{'w': [10.0, 20.0], 'b': (30.0,)}

Two conventions differ between the callers, so they are keyword options; the defaults are
what :mod:`chainrule.func` and the TensorFlow dialect do, the alternatives what JAX's
``tree_util`` does (:mod:`chainrule.compat.jax.tree_util` passes both):

- ``sort_keys``: a dict's children in insertion order (default), or in sorted key order, and
  then rebuilt dicts are sorted too;
- ``none_is_leaf``: ``None`` is a leaf (default), or an empty subtree with no leaves.

Containers are rebuilt as their own type (a namedtuple as itself, a ``list`` or ``tuple``
subclass through its one-argument constructor); dicts of any kind come back as plain dicts.
This module imports nothing from chainrule, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TreeSpec", "flatten", "unflatten", "tree_leaves", "tree_map"]

_NoneType = type(None)


# Hashed by value, so never mutated; not frozen=True only because a frozen dataclass takes twice
# as long to build, and every transform call builds one per container of its arguments.
@dataclass(slots=True, unsafe_hash=True)
class TreeSpec:
    """The shape of a pytree without its leaves: what :func:`unflatten` needs to rebuild it.

    ``kind`` is the container's type (``dict`` for any dict, ``type(None)`` for a ``None`` that
    is not a leaf), or ``None`` for a leaf; ``keys`` are a dict's keys in the order of
    ``children``.  Two specs are equal when the structures are: same container types, same
    lengths, same dict keys (of the same types) in the same order.

    >>> from chainrule.pytree import flatten
    >>> flatten([1, (2, 3)])[1] == flatten([4, (5, 6)])[1]
    True
    >>> flatten([1, (2, 3)])[1] == flatten([1, [2, 3]])[1]
    False
    """

    kind: type | None
    keys: tuple[Hashable, ...] = ()
    children: tuple[TreeSpec, ...] = ()
    num_leaves: int = 1
    # (the keys' types: 1, 1.0 and True are equal keys, but not the same structure)
    key_types: tuple[type, ...] = ()

    def __repr__(self) -> str:
        return f"TreeSpec({self._show()})"

    def _show(self) -> str:
        if self.kind is None:
            return "*"
        if self.kind is _NoneType:
            return "None"
        shown = [child._show() for child in self.children]
        if self.kind is dict:
            return "{" + ", ".join(f"{key!r}: {s}" for key, s in zip(self.keys, shown)) + "}"
        if _is_namedtuple(self.kind):
            fields = ", ".join(f"{name}={s}" for name, s in zip(self.kind._fields, shown))
            return f"{self.kind.__name__}({fields})"
        inner = ", ".join(shown)
        if issubclass(self.kind, tuple):
            return f"({inner},)" if len(shown) == 1 else f"({inner})"
        return f"[{inner}]"


_LEAF = TreeSpec(kind=None)


def _is_namedtuple(kind: type) -> bool:
    return issubclass(kind, tuple) and hasattr(kind, "_fields")


def flatten(tree: Any, *, sort_keys: bool = False,
            none_is_leaf: bool = True) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` in order (depth first), and its :class:`TreeSpec`.

    >>> from collections import namedtuple
    >>> Point = namedtuple("Point", "x y")
    >>> flatten((Point(1, 2), {"b": 3, "a": None}))
    ([1, 2, 3, None], TreeSpec((Point(x=*, y=*), {'b': *, 'a': *})))
    >>> flatten((Point(1, 2), {"b": 3, "a": None}), sort_keys=True, none_is_leaf=False)
    ([1, 2, 3], TreeSpec((Point(x=*, y=*), {'a': None, 'b': *})))
    """
    leaves: list[Any] = []
    spec = _flatten_into(leaves, tree, sort_keys, none_is_leaf)
    return leaves, spec


def _flatten_into(leaves: list[Any], tree: Any, sort_keys: bool, none_is_leaf: bool) -> TreeSpec:
    """Append the leaves of ``tree`` to ``leaves``; return its spec."""
    node = _node(tree, sort_keys, none_is_leaf)
    if node is None:
        leaves.append(tree)
        return _LEAF
    kind, keys, items = node
    start = len(leaves)
    children = tuple([_flatten_into(leaves, item, sort_keys, none_is_leaf) for item in items])
    key_types = tuple(map(type, keys)) if kind is dict else ()
    return TreeSpec(kind, keys, children, len(leaves) - start, key_types)


def _node(tree: Any, sort_keys: bool, none_is_leaf: bool) -> tuple[type, tuple, list] | None:
    """A container's kind, keys (a dict's, else none) and items in order; None for a leaf."""
    if isinstance(tree, dict):
        keys = tuple(sorted(tree) if sort_keys else tree)
        return dict, keys, [tree[key] for key in keys]
    if isinstance(tree, (tuple, list)):
        return type(tree), (), list(tree)
    if tree is None and not none_is_leaf:
        return _NoneType, (), []
    return None


def _rebuild(kind: type, keys: tuple, children: list) -> Any:
    """The container of ``kind`` (and dict ``keys``) around ``children``: undoes :func:`_node`."""
    if kind is dict:
        return dict(zip(keys, children))
    if kind is _NoneType:
        return None
    if _is_namedtuple(kind):
        return kind(*children)
    return kind(children)


def unflatten(spec: TreeSpec, leaves: Sequence[Any]) -> Any:
    """The pytree of structure ``spec`` with ``leaves`` in place of the original ones.

    >>> leaves, spec = flatten({"a": [1, 2], "b": 3})
    >>> unflatten(spec, [x * 10 for x in leaves])
    {'a': [10, 20], 'b': 30}
    """
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"unflatten: the structure {spec} has {spec.num_leaves} leaves, but "
                         f"{len(leaves)} were given")
    return _build(spec, iter(leaves))


def _build(spec: TreeSpec, leaves: Iterator[Any]) -> Any:
    if spec.kind is None:
        return next(leaves)
    return _rebuild(spec.kind, spec.keys, [_build(child, leaves) for child in spec.children])


def tree_leaves(tree: Any, *, sort_keys: bool = False, none_is_leaf: bool = True) -> list[Any]:
    """The leaves of ``tree`` in order: ``flatten(tree)[0]``.

    >>> tree_leaves({"b": [1, None], "a": 2}, sort_keys=True, none_is_leaf=False)
    [2, 1]
    """
    return flatten(tree, sort_keys=sort_keys, none_is_leaf=none_is_leaf)[0]


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any, sort_keys: bool = False,
             none_is_leaf: bool = True) -> Any:
    """``fn`` applied to each leaf of ``tree``, in a pytree of the same structure.

    With more trees, ``fn`` receives the matching part of each as further arguments (as JAX's
    ``tree_map``): each of ``rest`` must have ``tree``'s structure, and where ``tree`` has a leaf
    may hold a whole subtree, which ``fn`` receives as it is.

    >>> tree_map(lambda x: x + 1, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (3, 4)}
    >>> tree_map(lambda x, y: (x, y), [1, 2], [[3, 4], 5])
    [(1, [3, 4]), (2, 5)]
    """
    return _map(fn, tree, rest, sort_keys, none_is_leaf)


def _map(fn: Callable[..., Any], tree: Any, others: tuple, sort_keys: bool,
         none_is_leaf: bool) -> Any:
    """:func:`tree_map` in one walk (not flatten and unflatten: the JAX transforms map several
    times per call)."""
    node = _node(tree, sort_keys, none_is_leaf)
    if node is None:
        return fn(tree, *others)
    kind, keys, items = node
    if not others:
        return _rebuild(kind, keys, [_map(fn, item, (), sort_keys, none_is_leaf)
                                     for item in items])
    columns = []
    for other in others:
        column = _items_like(kind, keys, len(items), other)
        if column is None:
            spec = flatten(tree, sort_keys=sort_keys, none_is_leaf=none_is_leaf)[1]
            raise ValueError(f"tree_map: expected a tree of structure {spec}, but got {other!r}")
        columns.append(column)
    return _rebuild(kind, keys, [_map(fn, item, parts, sort_keys, none_is_leaf)
                                 for item, parts in zip(items, zip(*columns))])


def _items_like(kind: type, keys: tuple, count: int, other: Any) -> list | None:
    """The items of ``other`` (a dict's in the order of ``keys``) if it is a container like
    the one described (same kind, same dict keys, ``count`` items); None if it is not."""
    if kind is dict:
        if isinstance(other, dict) and len(other) == count and all(key in other for key in keys):
            return [other[key] for key in keys]
    elif kind is _NoneType:
        if other is None:
            return []
    elif type(other) is kind and len(other) == count:
        return list(other)
    return None
