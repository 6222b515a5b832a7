"""``jax.tree_util``: functions over nested tuples, lists and dicts ("pytrees").

>>> from chainrule.compat.jax.tree_util import tree_map
>>> tree_map(lambda v: v * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
"""

from chainrule.compat.jax.core import tree_leaves, tree_map

__all__ = ["tree_map", "tree_leaves"]
