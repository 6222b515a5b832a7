"""The guided tour: the autograd chapter of *Dive into Deep Learning*, run on chainrule.

Each step shows its explanation, its code (the book's cell with only the import changed) and
what it displays, the way a notebook would (the value of the last expression), beside what the
book displays.  ``--style`` picks the chapter's tab: pytorch (the default), mxnet, jax,
tensorflow, or all of them; the tour ends with some of the chapter's exercises.
"""

from __future__ import annotations

import ast
import importlib
import io
import sys
from typing import TextIO

# (explanation, code, what the book displays or None), in the chapter's order
PYTORCH_CELLS: list[tuple[str, str, str | None]] = [
    ("chainrule speaks PyTorch: only the import changes.", "import chainrule as torch", None),
    ("A simple function: we want the gradient of y = 2 x.x with respect to x.",
     "x = torch.arange(4.0)\nx", "tensor([0., 1., 2., 3.])"),
    ("Ask for gradients to be recorded; .grad is None until backward runs.",
     "x.requires_grad_(True)\nx.grad  # The gradient is None by default", None),
    ("Compute y: the result remembers how it was made (grad_fn).",
     "y = 2 * torch.dot(x, x)\ny", "tensor(28., grad_fn=<MulBackward0>)"),
    ("Backpropagate, then read the gradient.", "y.backward()\nx.grad",
     "tensor([ 0.,  4.,  8., 12.])"),
    ("The gradient of 2 x.x is 4x.", "x.grad == 4 * x", "tensor([True, True, True, True])"),
    ("Gradients accumulate: reset before computing another one.",
     "x.grad.zero_()  # Reset the gradient\ny = x.sum()\ny.backward()\nx.grad",
     "tensor([1., 1., 1., 1.])"),
    ("Backward for non-scalar variables: give the vector of the vector-Jacobian product.",
     "x.grad.zero_()\ny = x * x\ny.backward(gradient=torch.ones(len(y)))  # Faster: "
     "y.sum().backward()\nx.grad", "tensor([0., 2., 4., 6.])"),
    ("Detaching computation: u is treated as a constant.",
     "x.grad.zero_()\ny = x * x\nu = y.detach()\nz = u * x\n\nz.sum().backward()\nx.grad == u",
     "tensor([True, True, True, True])"),
    ("y itself is still attached to x.",
     "x.grad.zero_()\ny.sum().backward()\nx.grad == 2 * x", "tensor([True, True, True, True])"),
    ("Gradients through Python control flow.",
     "def f(a):\n    b = a * 2\n    while b.norm() < 1000:\n        b = b * 2\n"
     "    if b.sum() > 0:\n        c = b\n    else:\n        c = 100 * b\n    return c", None),
    ("Run it on a random input and backpropagate.",
     "a = torch.randn(size=(), requires_grad=True)\nd = f(a)\nd.backward()", None),
    ("f is linear in a (with a data-dependent slope), so the gradient is d / a.",
     "a.grad == d / a", "tensor(True)"),
]

EXERCISE_CELLS: list[tuple[str, str, str | None]] = [
    ("Exercise 2: backward twice. The graph's saved values were freed by the first call.",
     "y = x * x\ny.sum().backward()\ntry:\n    y.sum().backward()\nexcept RuntimeError as err:\n"
     "    print('RuntimeError:', str(err)[:70], '...')", None),
    ("Keep the graph to go backward again; the gradients add up.",
     "x.grad = None\ny = (x * x).sum()\ny.backward(retain_graph=True)\ny.backward()\nx.grad",
     None),
    ("Exercise 3: a vector input to the control-flow function: pass a gradient vector.",
     "a = torch.randn(3, requires_grad=True)\nd = f(a)\nd.backward(torch.ones_like(d))\n"
     "a.grad  # the same slope for every element: f scales the whole vector", None),
    ("Exercise 1: second derivatives, by recording the backward pass (create_graph=True).",
     "x = torch.tensor(2.0, requires_grad=True)\n"
     "(dy,) = torch.autograd.grad(x ** 3, x, create_graph=True)\n"
     "(d2y,) = torch.autograd.grad(dy, x)\ndy, d2y", None),
    ("Exercise 4: f(x) = sin(x) and its derivative by autograd (compare with cos).",
     "x = torch.linspace(0, 3.14159, 5, requires_grad=True)\ntorch.sin(x).sum().backward()\n"
     "x.grad", None),
    ("Exercise 8: forward mode (jvp) against reverse mode (vjp) on the same function.",
     "from chainrule.func import jvp, vjp\nimport numpy as np\n"
     "g = lambda v: torch.tanh(v) * 2\nv = np.array([0.5, 1.0])\n"
     "jvp(g, (v,), (np.array([1.0, 0.0]),))[1], vjp(g, v)[1](np.array([1.0, 0.0]))[0]", None),
]

# where each style's cells live (modules import lazily: a style's front end loads when used)
STYLES = {
    "pytorch": ("chainrule.tour", "PYTORCH_CELLS"),
    "mxnet": ("chainrule.compat.mxnet_tour", "MXNET_CELLS"),
    "jax": ("chainrule.compat.jax.tour", "JAX_CELLS"),
    "tensorflow": ("chainrule.compat.tensorflow_tour", "TENSORFLOW_CELLS"),
}


def cells_for(style: str) -> tuple[list, int]:
    """The chapter's cells in one framework's style, and the seed that style's tour uses."""
    module_name, name = STYLES[style]
    module = importlib.import_module(module_name)
    return list(getattr(module, name)), getattr(module, "SEED", 0)


def run_cells(cells, out: TextIO = sys.stdout, namespace: dict | None = None) -> dict:
    """Run ``cells`` in one namespace, printing each step's code and display beside the book's."""
    namespace = {} if namespace is None else namespace
    for number, cell in enumerate(cells, 1):
        explanation, code, book = cell
        print(f"\n# {number}. {explanation}", file=out)
        for line in code.splitlines():
            print(f">>> {line}" if line else "", file=out)
        shown = run_cell(code, namespace)
        if shown is not None:
            display = repr(shown)
            print(display, file=out)
            if book is not None:
                verdict = "the same" if display == book else "book differs"
                print(f"    (book: {book} -- {verdict})", file=out)
    return namespace


def run_cell(code: str, namespace: dict):
    """Execute ``code``; return the value of its last line if that is an expression."""
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), namespace)
        return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    exec(compile(tree, "<cell>", "exec"), namespace)
    return None


def tour(out: TextIO = sys.stdout, style: str = "pytorch") -> None:
    """Run the chapter in the chosen style(s), then some of its exercises."""
    styles = list(STYLES) if style == "all" else [style]
    print("chainrule tour: the 'Automatic Differentiation' chapter of Dive into Deep Learning,",
          file=out)
    print("each cell run on chainrule with only the book's import lines changed.", file=out)
    print("(Random numbers are seeded so that every run shows the same.)", file=out)
    for name in styles:
        print(f"\n## The {name} tab", file=out)
        cells, seed = cells_for(name)
        namespace: dict = {}
        run_cell(f"import chainrule\nchainrule.manual_seed({seed})", namespace)
        run_cells(cells, out, namespace)
    print("\n## Exercises (PyTorch style)", file=out)
    namespace = {}
    run_cell("import chainrule\nchainrule.manual_seed(0)", namespace)
    run_cells(PYTORCH_CELLS, io.StringIO(), namespace)  # the chapter's state, silently
    run_cells(EXERCISE_CELLS, out, namespace)
