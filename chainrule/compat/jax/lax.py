"""``jax.lax``: ``stop_gradient`` and a few primitives, on chainrule.

>>> import chainrule.compat.jax as jax
>>> from chainrule.compat.jax import grad, numpy as jnp
>>> x = jnp.arange(4.0)
>>> grad(lambda x: jnp.sum(jax.lax.stop_gradient(x * x) * x))(x)
Array([0., 1., 4., 9.], dtype=float32)
"""

from __future__ import annotations

from chainrule.compat.jax import numpy as jnp
from chainrule.compat.jax.core import Array, from_tensor, lift, to_tensor
from chainrule.compat.jax.tree_util import tree_map


def stop_gradient(x):
    """The same values, with zero derivative (for every transform around it): a constant."""

    def stop(leaf):
        a = lift(leaf)
        return from_tensor(to_tensor(a).detach(), a.weak_type)

    return tree_map(stop, x)


add, sub, mul, div, neg = jnp.add, jnp.subtract, jnp.multiply, jnp.divide, jnp.negative
exp, log, log1p, expm1, sqrt = jnp.exp, jnp.log, jnp.log1p, jnp.expm1, jnp.sqrt
sin, cos, tan, tanh, abs = jnp.sin, jnp.cos, jnp.tan, jnp.tanh, jnp.abs  # noqa: A001
max, min, pow, square = jnp.maximum, jnp.minimum, jnp.power, jnp.square  # noqa: A001
dot, sign, floor, ceil = jnp.dot, jnp.sign, jnp.floor, jnp.ceil
eq, ne, lt, le, gt, ge = jnp.equal, jnp.not_equal, jnp.less, jnp.less_equal, jnp.greater, \
    jnp.greater_equal


def integer_pow(x, y: int) -> Array:
    """``x ** y`` for a Python integer ``y``."""
    return jnp.power(x, int(y))


def select(pred, on_true, on_false) -> Array:
    """``on_true`` where ``pred``, else ``on_false``."""
    return jnp.where(pred, on_true, on_false)
