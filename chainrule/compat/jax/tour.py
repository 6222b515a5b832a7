"""The JAX tab of d2l's "Automatic Differentiation" chapter, as (explanation, code, display).

``JAX_CELLS`` are the tab's 12 cells, verbatim except for their imports (``from jax import
...`` becomes ``from chainrule.compat.jax import ...``, ``import jax`` becomes ``import
chainrule.compat.jax as jax``); the third item of each is what the book shows under the cell
(None: nothing).  The last cell's display depends on the random draw; with JAX's keys (which
this front end reproduces bit for bit) it is ``Array(True, dtype=bool)``, as in the book.
Run them with :func:`chainrule.tour.run_cell`, in order, in one namespace.
"""

from __future__ import annotations

JAX_CELLS: list[tuple[str, str, str | None]] = [
    ("chainrule speaks JAX: only the imports change.",
     "from chainrule.compat.jax import numpy as jnp", None),
    ("A simple function: we want the gradient of y = 2 x.x with respect to x.",
     "x = jnp.arange(4.0)\nx", "Array([0., 1., 2., 3.], dtype=float32)"),
    ("In JAX, y is a function of x; nothing is recorded on x.",
     "y = lambda x: 2 * jnp.dot(x, x)\ny(x)", "Array(28., dtype=float32)"),
    ("grad(y) is the function that computes the gradient of y.",
     "from chainrule.compat.jax import grad\n"
     "# The `grad` transform returns a Python function that\n"
     "# computes the gradient of the original function\n"
     "x_grad = grad(y)(x)\nx_grad", "Array([ 0.,  4.,  8., 12.], dtype=float32)"),
    ("The gradient of 2 x.x is 4x.",
     "x_grad == 4 * x", "Array([ True,  True,  True,  True], dtype=bool)"),
    ("Another function, another gradient: nothing accumulates.",
     "y = lambda x: x.sum()\ngrad(y)(x)", "Array([1., 1., 1., 1.], dtype=float32)"),
    ("Non-scalar outputs: differentiate their sum.",
     "y = lambda x: x * x\n# grad is only defined for scalar output functions\n"
     "grad(lambda x: y(x).sum())(x)", "Array([0., 2., 4., 6.], dtype=float32)"),
    ("Detaching computation: u is a constant for grad.",
     "import chainrule.compat.jax as jax\n\ny = lambda x: x * x\n"
     "# jax.lax primitives are Python wrappers around XLA operations\n"
     "u = jax.lax.stop_gradient(y(x))\nz = lambda x: u * x\n\n"
     "grad(lambda x: z(x).sum())(x) == y(x)",
     "Array([ True,  True,  True,  True], dtype=bool)"),
    ("y itself still depends on x.",
     "grad(lambda x: y(x).sum())(x) == 2 * x", "Array([ True,  True,  True,  True], dtype=bool)"),
    ("Gradients through Python control flow.",
     "def f(a):\n    b = a * 2\n    while jnp.linalg.norm(b) < 1000:\n        b = b * 2\n"
     "    if b.sum() > 0:\n        c = b\n    else:\n        c = 100 * b\n    return c", None),
    ("Run it on a random input (JAX's keys: the same numbers every time) and differentiate.",
     "from chainrule.compat.jax import random\na = random.normal(random.PRNGKey(1), ())\n"
     "d = f(a)\nd_grad = grad(f)(a)", None),
    ("f is linear in a (with a data-dependent slope), so the gradient is d / a.",
     "d_grad == d / a", "Array(True, dtype=bool)"),
]
