"""The JAX dialect's ``jax.vmap``: JAX's in_axes/out_axes/axis_size conventions, its errors,
and its results against real JAX where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule.compat.jax as jax
from chainrule.compat.jax import numpy as jnp

XS = np.arange(6.0, dtype=np.float32).reshape(2, 3)


def _same(ours, expected) -> None:
    assert isinstance(ours, jax.Array)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-6)


def test_axes_lists_keywords_and_pytrees():
    x, w = jnp.array(XS), jnp.arange(3.0)
    _same(jax.vmap(lambda r, w: r @ w)(x, jnp.stack([w, w])), XS @ np.arange(3.0))
    _same(jax.vmap(lambda r, w: r * w, in_axes=[0, None])(x, w), XS * np.arange(3.0))
    _same(jax.vmap(lambda c: c.sum(), in_axes=1)(x), XS.sum(axis=0))
    _same(jax.vmap(lambda c: c * 2, in_axes=-1, out_axes=1)(x), XS * 2)
    # keyword arguments are mapped over axis 0
    _same(jax.vmap(lambda r, scale: r * scale)(x, scale=jnp.array([1.0, 10.0])),
          XS * np.array([[1.0], [10.0]]))
    out = jax.vmap(lambda d: {"s": d["a"].sum(), "t": d["b"]},
                   in_axes=({"a": 0, "b": None},))({"a": x, "b": w})
    _same(out["s"], XS.sum(axis=1))
    _same(out["t"], np.broadcast_to(np.arange(3.0), (2, 3)))


def test_axis_size_and_weak_types():
    out = jax.vmap(lambda: 2.0, axis_size=3)()
    _same(out, [2.0, 2.0, 2.0])
    assert out.weak_type  # a Python number stays weakly typed, as in JAX
    _same(jax.vmap(lambda v: v * 2, in_axes=None, axis_size=4)(jnp.ones(2)),
          np.full((4, 2), 2.0))
    assert not jax.vmap(lambda r: r * 2.0)(jnp.array(XS)).weak_type


def test_grad_composes():
    xs = jnp.linspace(-3, 3, 5)
    _same(jax.vmap(jax.grad(jnp.sin))(xs), np.cos(np.linspace(-3, 3, 5, dtype=np.float32)))
    # grad of a vmap: d/dx sum_b sin(x_b) = cos(x)
    _same(jax.grad(lambda x: jax.vmap(jnp.sin)(x).sum())(xs),
          np.cos(np.linspace(-3, 3, 5, dtype=np.float32)))


def test_random_keys_are_mapped():
    """jax.random reads its key's values: such a function runs one example at a time."""
    from chainrule.compat.jax import random

    keys = random.split(random.PRNGKey(0), 3)
    out = jax.vmap(lambda k: random.normal(k, (2,)))(keys)
    for b in range(3):
        _same(out[b], np.asarray(random.normal(keys[b], (2,))))
    # (the values of jax.random.normal for these keys, from JAX 0.10)
    _same(out, [[1.0040143, -0.9063372], [-2.4424558, -2.0356805], [1.2956359, 1.3550105]])


def test_jaxs_errors():
    x = jnp.array(XS)
    with pytest.raises(ValueError, match="vmap must have at least one non-None value in "
                                         "in_axes or axis_size must be specified"):
        jax.vmap(lambda v: v, in_axes=None)(x)
    with pytest.raises(ValueError, match="vmap got inconsistent sizes for array axes to be "
                                         "mapped:\n  \\* one axis had size 2: axis 0 of "
                                         "argument a of type float32\\[2,3\\];\n  \\* one axis "
                                         "had size 3: axis 0 of argument b of type "
                                         "float32\\[3,3\\]"):
        jax.vmap(lambda a, b: a * b)(x, jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="the `axis_size` argument was 5"):
        jax.vmap(lambda v: v, axis_size=5)(x)
    with pytest.raises(ValueError, match="which implies that its rank should be at least 1, "
                                         "but is only 0"):
        jax.vmap(lambda v: v)(2.0)
    with pytest.raises(ValueError, match="len\\(in_axes\\)=1, len\\(args\\)=2"):
        jax.vmap(lambda a, b: a, in_axes=(0,))(x, x)
    with pytest.raises(ValueError, match="vmap in_axes must be an int, None, or a tuple"):
        jax.vmap(lambda a: a, in_axes="0")


CASES = {  # name: (function, in_axes, out_axes, arguments)
    "matvec": (lambda m, v: m @ v, (None, 0), 0,
               (np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(4, 3))),
    "axis 1 out 1": (lambda a: jnp.tanh(a) * a.sum(), 1, 1, (np.arange(6.0).reshape(2, 3),)),
    "list in_axes": (lambda a, b: a * b, [0, None], 0, (np.ones((3, 2)), np.arange(2.0))),
    "nested": (lambda a: jax.vmap(lambda r: r / r.sum())(a), 0, 0,
               (np.arange(1.0, 25.0).reshape(2, 3, 4),)),
    "pytree out": (lambda a: (a.max(), {"m": a.mean()}), 0, (0, {"m": 0}),
                   (np.arange(6.0).reshape(3, 2),)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_jax(name):
    real = pytest.importorskip("jax")
    fun, in_axes, out_axes, args = CASES[name]

    def with_numpy(module):
        # the same function on real JAX: jnp -> jax.numpy, jax.vmap -> real vmap
        import jax.numpy as real_jnp

        src = {"jnp": real_jnp, "jax": real} if module is real else {"jnp": jnp, "jax": jax}
        code = fun.__code__
        return type(fun)(code, {**fun.__globals__, **src})

    ours = jax.vmap(fun, in_axes=in_axes, out_axes=out_axes)(
        *[jnp.array(a.astype(np.float32)) for a in args])
    theirs = real.vmap(with_numpy(real), in_axes=in_axes, out_axes=out_axes)(
        *[real.numpy.array(a.astype(np.float32)) for a in args])
    ours_leaves, theirs_leaves = jax.tree_util.tree_leaves(ours), real.tree_util.tree_leaves(
        theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
