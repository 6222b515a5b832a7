"""chainrule.pytree: flatten and unflatten of nested tuples, lists, dicts and namedtuples, and
the conventions each caller keeps (func and TensorFlow: dicts in insertion order, None a leaf;
JAX: dicts sorted, None an empty subtree)."""

import ast
import pathlib
from collections import OrderedDict, namedtuple
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule.compat.jax as jax
import chainrule.compat.tensorflow as tf
import chainrule.func as cf
from chainrule import pytree
from chainrule.pytree import TreeSpec, flatten, tree_leaves, tree_map, unflatten

Point = namedtuple("Point", ["x", "y"])
Triple = namedtuple("Triple", ["a", "b", "c"])


class Stack(list):
    """A list subclass: rebuilt through its one-argument constructor."""


@dataclass(frozen=True)
class Tag:
    """A leaf that records what it replaced (a tuple would be a subtree, not a leaf)."""

    value: object


CONVENTIONS = [{}, {"sort_keys": True}, {"none_is_leaf": False},
               {"sort_keys": True, "none_is_leaf": False}]

leaves = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3), st.none())
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=4).map(Stack),
        st.dictionaries(st.text(max_size=3), children, max_size=4),
        st.builds(Point, children, children),
        st.builds(Triple, children, children, children),
    ),
    max_leaves=20,
)


def same(a, b) -> bool:
    """Equal values with the same container types and the same dict key order, all the way down
    (``==`` alone says ``Point(1, 2) == (1, 2)`` and ignores key order)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def sorted_dicts(tree):
    """``tree`` with every dict's keys in sorted order (as JAX's conventions rebuild it)."""
    if isinstance(tree, dict):
        return {k: sorted_dicts(tree[k]) for k in sorted(tree)}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(sorted_dicts(t) for t in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(sorted_dicts(t) for t in tree)
    return tree


# --------------------------------------------------------------------------------------------
# round trips


@settings(max_examples=300, derandomize=True, deadline=None)
@given(trees, st.sampled_from(CONVENTIONS))
def test_unflatten_of_flatten_rebuilds_the_tree(tree, convention):
    flat, spec = flatten(tree, **convention)
    rebuilt = unflatten(spec, flat)
    expected = sorted_dicts(tree) if convention.get("sort_keys") else tree
    assert same(rebuilt, expected)
    assert spec.num_leaves == len(flat)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(trees, st.sampled_from(CONVENTIONS))
def test_new_leaves_land_where_the_old_ones_were(tree, convention):
    flat, spec = flatten(tree, **convention)
    tagged = [Tag(i) for i in range(len(flat))]
    rebuilt = unflatten(spec, tagged)
    again, again_spec = flatten(rebuilt, **convention)
    assert again == tagged
    assert again_spec == spec


@settings(max_examples=200, derandomize=True, deadline=None)
@given(trees, st.sampled_from(CONVENTIONS))
def test_tree_map_visits_the_leaves_in_flatten_order(tree, convention):
    seen = []
    result = tree_map(lambda leaf: seen.append(leaf) or Tag(leaf), tree, **convention)
    flat, spec = flatten(tree, **convention)
    assert seen == flat
    assert tree_leaves(tree, **convention) == flat
    assert flatten(result, **convention) == ([Tag(leaf) for leaf in flat], spec)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(trees)
def test_a_tree_maps_against_itself(tree):
    pairs = tree_map(lambda a, b: Tag((a, b)), tree, tree)
    assert tree_leaves(pairs) == [Tag((leaf, leaf)) for leaf in tree_leaves(tree)]


# --------------------------------------------------------------------------------------------
# the containers and the leaves


def test_leaves_are_depth_first():
    tree = [1, (2, [3, 4]), {"k": (5,)}, Point(6, [7])]
    assert tree_leaves(tree) == [1, 2, 3, 4, 5, 6, 7]


def test_namedtuples_come_back_as_themselves():
    tree = {"p": Point(1.0, Triple(2.0, (3.0,), [4.0]))}
    flat, spec = flatten(tree)
    assert flat == [1.0, 2.0, 3.0, 4.0]
    rebuilt = unflatten(spec, [10.0, 20.0, 30.0, 40.0])
    assert type(rebuilt["p"]) is Point and type(rebuilt["p"].y) is Triple
    assert same(rebuilt, {"p": Point(10.0, Triple(20.0, (30.0,), [40.0]))})


def test_list_subclasses_come_back_as_themselves_but_dicts_as_plain_dicts():
    flat, spec = flatten((Stack([1, 2]), OrderedDict(b=3, a=4)))
    rebuilt = unflatten(spec, flat)
    assert type(rebuilt[0]) is Stack
    assert type(rebuilt[1]) is dict and list(rebuilt[1]) == ["b", "a"]


@pytest.mark.parametrize("empty", [(), [], {}, Stack(), ((), [], {"k": []})])
def test_empty_containers_have_no_leaves_and_survive(empty):
    flat, spec = flatten(empty)
    assert flat == [] and spec.num_leaves == 0
    assert same(unflatten(spec, []), empty)


@pytest.mark.parametrize("leaf", [3, 2.5, "text", b"bytes", np.arange(3), {1, 2}, frozenset()])
def test_everything_else_is_one_leaf(leaf):
    flat, spec = flatten(leaf)
    assert len(flat) == 1 and flat[0] is leaf
    assert spec == TreeSpec(kind=None)
    assert unflatten(spec, ["new"]) == "new"


def test_a_numpy_array_is_not_taken_apart():
    arrays = [np.zeros((2, 3)), np.ones(4)]
    flat = tree_leaves({"w": arrays})
    assert len(flat) == 2 and flat[0] is arrays[0] and flat[1] is arrays[1]


# --------------------------------------------------------------------------------------------
# the two conventions: dict key order, None


def test_dicts_keep_insertion_order_by_default():
    tree = {"b": 1, "a": 2, "c": {"z": 3, "y": 4}}
    flat, spec = flatten(tree)
    assert flat == [1, 2, 3, 4]
    rebuilt = unflatten(spec, flat)
    assert list(rebuilt) == ["b", "a", "c"] and list(rebuilt["c"]) == ["z", "y"]


def test_sort_keys_orders_the_leaves_and_the_rebuilt_dicts():
    tree = {"b": 1, "a": 2, "c": {"z": 3, "y": 4}}
    flat, spec = flatten(tree, sort_keys=True)
    assert flat == [2, 1, 4, 3]
    rebuilt = unflatten(spec, flat)
    assert list(rebuilt) == ["a", "b", "c"] and list(rebuilt["c"]) == ["y", "z"]


def test_sort_keys_refuses_keys_that_do_not_compare():
    with pytest.raises(TypeError):
        flatten({1: "one", "a": "letter"}, sort_keys=True)
    assert tree_leaves({1: "one", "a": "letter"}) == ["one", "letter"]


def test_none_is_a_leaf_by_default():
    flat, spec = flatten([None, (1, None)])
    assert flat == [None, 1, None]
    assert unflatten(spec, [7, 8, 9]) == [7, (8, 9)]


def test_none_can_be_an_empty_subtree():
    flat, spec = flatten([None, (1, None)], none_is_leaf=False)
    assert flat == [1]
    assert same(unflatten(spec, [8]), [None, (8, None)])
    assert flatten(None, none_is_leaf=False) == ([], TreeSpec(kind=type(None), num_leaves=0))
    assert unflatten(flatten(None, none_is_leaf=False)[1], []) is None


# --------------------------------------------------------------------------------------------
# specs


def test_specs_compare_structures_not_leaves():
    assert flatten([1, {"a": 2}])[1] == flatten(["x", {"a": None}])[1]
    assert flatten((1, 2))[1] != flatten([1, 2])[1]
    assert flatten((1, 2))[1] != flatten(Point(1, 2))[1]
    assert flatten((1, 2))[1] != flatten((1, (2,)))[1]
    assert flatten({"a": 1, "b": 2})[1] != flatten({"b": 2, "a": 1})[1]
    assert (flatten({"a": 1, "b": 2}, sort_keys=True)[1]
            == flatten({"b": 2, "a": 1}, sort_keys=True)[1])
    assert len({flatten([1, (2, 3)])[1], flatten([4, (5, 6)])[1]}) == 1  # hashable


def test_spec_repr_shows_the_structure():
    spec = flatten([(), (1,), Point(2, 3), {"k": None}], none_is_leaf=False)[1]
    assert repr(spec) == "TreeSpec([(), (*,), Point(x=*, y=*), {'k': None}])"


def test_unflatten_needs_exactly_one_leaf_per_place():
    _, spec = flatten((1, [2, 3]))
    with pytest.raises(ValueError, match="3 leaves, but 2 were given"):
        unflatten(spec, [1, 2])
    with pytest.raises(ValueError, match="3 leaves, but 4 were given"):
        unflatten(spec, [1, 2, 3, 4])


# --------------------------------------------------------------------------------------------
# tree_map over several trees


def test_tree_map_zips_several_trees():
    assert tree_map(lambda a, b, c: a + b * c, {"u": [1, 2]}, {"u": [3, 4]}, {"u": [5, 6]}) \
        == {"u": [16, 26]}


def test_tree_map_matches_dicts_by_key_not_by_order():
    assert tree_map(lambda a, b: (a, b), {"a": 1, "b": 2}, {"b": 20, "a": 10}) \
        == {"a": (1, 10), "b": (2, 20)}


def test_the_first_tree_may_be_a_prefix_of_the_others():
    result = tree_map(lambda leaf, sub: (leaf, sub), (1, 2), ([3, 4], {"k": 5}))
    assert result == ((1, [3, 4]), (2, {"k": 5}))


@pytest.mark.parametrize("other", [
    [1, 2],  # a list for a tuple
    (1, 2, 3),  # one more item
    Point(1, 2),  # a namedtuple for a plain tuple
    np.array([1, 2]),  # a leaf where the tree has a container
])
def test_tree_map_refuses_sequences_of_another_structure(other):
    with pytest.raises(ValueError, match="expected a tree of structure"):
        tree_map(lambda a, b: a, (1, 2), other)


@pytest.mark.parametrize("other", [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}, [1, 2]])
def test_tree_map_refuses_dicts_with_other_keys(other):
    with pytest.raises(ValueError, match="expected a tree of structure"):
        tree_map(lambda a, b: a, {"a": 0, "b": 0}, other)


def test_an_empty_none_subtree_matches_only_none():
    assert tree_map(lambda a, b: a + b, [1, None], [2, None], none_is_leaf=False) == [3, None]
    with pytest.raises(ValueError, match="expected a tree of structure"):
        tree_map(lambda a, b: a, [1, None], [2, 3], none_is_leaf=False)


# --------------------------------------------------------------------------------------------
# the callers keep their conventions


def test_pytree_imports_nothing_from_chainrule():
    source = pathlib.Path(pytree.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not any(name.split(".")[0] == "chainrule" for name in imported), imported


def test_func_keeps_dicts_in_insertion_order():
    g = cf.grad(lambda d: d["b"] * 3.0 + d["a"] ** 2)({"b": 1.0, "a": 2.0})
    assert list(g) == ["b", "a"]
    assert float(g["b"]) == 3.0 and float(g["a"]) == 4.0


def test_func_takes_namedtuples_and_gives_them_back():
    g = cf.grad(lambda p: p.x * p.y)(Point(2.0, 5.0))
    assert type(g) is Point and (float(g.x), float(g.y)) == (5.0, 2.0)


def test_func_vjp_asks_for_the_output_structure_including_key_order():
    _, pullback = cf.vjp(lambda x: {"b": x, "a": 2 * x}, np.array(1.0))
    assert float(pullback({"b": np.array(1.0), "a": np.array(1.0)})[0]) == 3.0
    with pytest.raises(ValueError, match="structure of the output"):
        pullback({"a": np.array(1.0), "b": np.array(1.0)})


def test_tensorflow_keeps_dicts_in_insertion_order():
    x, y = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = x * y
    grads = tape.gradient(z, {"y": y, "x": x})
    assert list(grads) == ["y", "x"]
    assert float(grads["y"]) == 2.0 and float(grads["x"]) == 3.0


def test_tensorflow_treats_none_as_a_leaf():
    with pytest.raises(ValueError, match="Passed in object None"):
        tf.GradientTape().watch([tf.constant(1.0), None])


def test_jax_tree_util_sorts_keys_and_skips_none():
    tree = {"b": [1, None], "a": (2,)}
    assert jax.tree_util.tree_leaves(tree) == [2, 1]
    mapped = jax.tree_util.tree_map(lambda v: v * 10, tree)
    assert list(mapped) == ["a", "b"] and mapped == {"a": (20,), "b": [10, None]}


def test_jax_grad_gives_dicts_sorted():
    g = jax.grad(lambda d: d["b"] * 3.0 + d["a"] ** 2)({"b": 1.0, "a": 2.0})
    assert list(g) == ["a", "b"]
    assert float(g["a"]) == 4.0 and float(g["b"]) == 3.0
