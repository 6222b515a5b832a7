"""``jax.tree_util``: functions over nested tuples, lists and dicts ("pytrees").

:mod:`chainrule.pytree` with JAX's conventions: a dict's children come in sorted key order
(and rebuilt dicts are sorted), and ``None`` is an empty subtree, not a leaf.

>>> from chainrule.compat.jax.tree_util import tree_leaves, tree_map
>>> tree_map(lambda v: v * 2, {"b": (2, 3), "a": 1})
{'a': 2, 'b': (4, 6)}
>>> tree_leaves([1, None, {"b": 2, "a": 3}])
[1, 3, 2]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import pytree

__all__ = ["tree_map", "tree_leaves"]


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """``fn`` applied to the leaves of ``tree`` (and the matching parts of each of ``rest``)."""
    return pytree.tree_map(fn, tree, *rest, sort_keys=True, none_is_leaf=False)


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree``, in order (dict keys sorted, ``None`` not a leaf)."""
    return pytree.tree_leaves(tree, sort_keys=True, none_is_leaf=False)
