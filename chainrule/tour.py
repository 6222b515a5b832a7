"""The guided tour: the autograd chapter of *Dive into Deep Learning*, run on chainrule.

Each step shows its explanation, its code (the book's PyTorch cell with ``import chainrule as
torch``) and what it displays, the way a notebook would: the value of the last expression.
"""

from __future__ import annotations

import ast
import sys
from typing import TextIO

# (explanation, code) pairs, in the chapter's order, then some of its exercises.
PYTORCH_CELLS: list[tuple[str, str]] = [
    ("chainrule speaks PyTorch: only the import changes.", "import chainrule as torch"),
    ("A simple function: we want the gradient of y = 2 x.x with respect to x.",
     "x = torch.arange(4.0)\nx"),
    ("Ask for gradients to be recorded; .grad is None until backward runs.",
     "x.requires_grad_(True)\nx.grad  # The gradient is None by default"),
    ("Compute y: the result remembers how it was made (grad_fn).",
     "y = 2 * torch.dot(x, x)\ny"),
    ("Backpropagate, then read the gradient.", "y.backward()\nx.grad"),
    ("The gradient of 2 x.x is 4x.", "x.grad == 4 * x"),
    ("Gradients accumulate: reset before computing another one.",
     "x.grad.zero_()  # Reset the gradient\ny = x.sum()\ny.backward()\nx.grad"),
    ("Backward for non-scalar variables: give the vector of the vector-Jacobian product.",
     "x.grad.zero_()\ny = x * x\ny.backward(gradient=torch.ones(len(y)))  # Faster: "
     "y.sum().backward()\nx.grad"),
    ("Detaching computation: u is treated as a constant.",
     "x.grad.zero_()\ny = x * x\nu = y.detach()\nz = u * x\n\nz.sum().backward()\nx.grad == u"),
    ("y itself is still attached to x.",
     "x.grad.zero_()\ny.sum().backward()\nx.grad == 2 * x"),
    ("Gradients through Python control flow.",
     "def f(a):\n    b = a * 2\n    while b.norm() < 1000:\n        b = b * 2\n"
     "    if b.sum() > 0:\n        c = b\n    else:\n        c = 100 * b\n    return c"),
    ("Run it on a random input and backpropagate.",
     "a = torch.randn(size=(), requires_grad=True)\nd = f(a)\nd.backward()"),
    ("f is linear in a (with a data-dependent slope), so the gradient is d / a.",
     "a.grad == d / a"),
]

EXERCISE_CELLS: list[tuple[str, str]] = [
    ("Exercise 2: backward twice. The graph's saved values were freed by the first call.",
     "y = x * x\ny.sum().backward()\ntry:\n    y.sum().backward()\nexcept RuntimeError as err:\n"
     "    print('RuntimeError:', str(err)[:70], '...')"),
    ("Keep the graph to go backward again; the gradients add up.",
     "x.grad = None\ny = (x * x).sum()\ny.backward(retain_graph=True)\ny.backward()\nx.grad"),
    ("Exercise 3: a vector input to the control-flow function: pass a gradient vector.",
     "a = torch.randn(3, requires_grad=True)\nd = f(a)\nd.backward(torch.ones_like(d))\n"
     "a.grad  # the same slope for every element: f scales the whole vector"),
    ("Exercise 1: second derivatives, by recording the backward pass (create_graph=True).",
     "x = torch.tensor(2.0, requires_grad=True)\n"
     "(dy,) = torch.autograd.grad(x ** 3, x, create_graph=True)\n"
     "(d2y,) = torch.autograd.grad(dy, x)\ndy, d2y"),
    ("Exercise 4: f(x) = sin(x) and its derivative by autograd (compare with cos).",
     "x = torch.linspace(0, 3.14159, 5, requires_grad=True)\ntorch.sin(x).sum().backward()\n"
     "x.grad"),
]


def run_cells(cells: list[tuple[str, str]], out: TextIO = sys.stdout,
              namespace: dict | None = None) -> dict:
    """Run ``cells`` in one namespace, printing each explanation, its code and its display."""
    namespace = {} if namespace is None else namespace
    for number, (explanation, code) in enumerate(cells, 1):
        print(f"\n# {number}. {explanation}", file=out)
        for line in code.splitlines():
            print(f">>> {line}" if line else "", file=out)
        shown = run_cell(code, namespace)
        if shown is not None:
            print(repr(shown), file=out)
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


def tour(out: TextIO = sys.stdout) -> None:
    """Run the chapter, then some of its exercises."""
    print("chainrule tour: the 'Automatic Differentiation' chapter of Dive into Deep Learning,",
          file=out)
    print("PyTorch tab, with `import torch` replaced by `import chainrule as torch`.", file=out)
    print("(Random numbers are seeded with torch.manual_seed(0) so that every run shows the same.)",
          file=out)
    namespace = {}
    run_cell("import chainrule\nchainrule.manual_seed(0)", namespace)
    run_cells(PYTORCH_CELLS, out, namespace)
    print("\n## Exercises", file=out)
    run_cells(EXERCISE_CELLS, out, namespace)
