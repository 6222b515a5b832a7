"""JAX's front end on chainrule: ``import chainrule.compat.jax as jax``.

The JAX tab of d2l's "Automatic Differentiation" chapter runs with only its imports changed
(``from chainrule.compat.jax import numpy as jnp``, ``grad``, ``random``; ``jax.lax``):

>>> import chainrule.compat.jax as jax
>>> from chainrule.compat.jax import grad, numpy as jnp
>>> x = jnp.arange(4.0)
>>> y = lambda x: 2 * jnp.dot(x, x)
>>> y(x)
Array(28., dtype=float32)
>>> grad(y)(x)
Array([ 0.,  4.,  8., 12.], dtype=float32)
>>> grad(lambda x: y(x) * 0)(x) == jax.lax.stop_gradient(x) * 0
Array([ True,  True,  True,  True], dtype=bool)

It is a thin client of chainrule's public API: :class:`~chainrule.compat.jax.core.Array`
wraps a chainrule Tensor, ``jax.numpy`` calls :mod:`chainrule.numpy`, and the transforms call
:mod:`chainrule.func`; ``jax.jit`` is :func:`chainrule.compile`.
"""

from chainrule.compat.jax import lax, numpy, random, tree_util
from chainrule.compat.jax.api import (
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jit,
    jvp,
    linearize,
    value_and_grad,
    vjp,
    vmap,
)
from chainrule.compat.jax.core import Array

__all__ = ["Array", "config", "grad", "hessian", "jacfwd", "jacobian", "jacrev", "jit", "jvp",
           "lax", "linearize", "numpy", "random", "tree_util", "value_and_grad", "vjp", "vmap"]


class _Config:
    """``jax.config``: ``update("jax_threefry_partitionable", False)`` gives the random bits of
    JAX < 0.5 (the book's); 64-bit mode is not available."""

    def update(self, name: str, value) -> None:
        """Set config option ``name`` to ``value``; enabling ``jax_enable_x64`` raises."""
        if name == "jax_threefry_partitionable":
            random.settings[name] = bool(value)
        elif name == "jax_enable_x64":
            if value:
                raise NotImplementedError("chainrule.compat.jax has 64-bit types disabled, as "
                                          "JAX by default")
        else:
            raise AttributeError(f"Unrecognized config option: {name}")

    @property
    def jax_threefry_partitionable(self) -> bool:
        """Whether ``jax.random`` draws JAX >= 0.5's partitionable Threefry bits (the default)."""
        return random.settings["jax_threefry_partitionable"]

    jax_enable_x64 = False


config = _Config()
