"""The autograd chapter of *Dive into Deep Learning* (PyTorch tab) runs unchanged on chainrule.

``CELLS`` are the chapter's 13 PyTorch cells, verbatim from the book except that ``import
torch`` becomes ``import chainrule as torch``; ``BOOK_DISPLAYS`` are what the book (torch
2.13.0) shows under each of them.  Every run happens in a fresh interpreter, Jupyter-style: a
cell displays the ``repr`` of its last statement when that is an expression whose value is not
None, and nothing otherwise.  The display logic is written here (not imported from chainrule)
so that the test does not trust the code under test to decide what a cell shows.
"""

from __future__ import annotations

import json
import math
import textwrap
import time

import pytest

from tests.fresh_interpreter import run_json, run_python

CELLS = [
    # cell 1
    "import chainrule as torch",
    # cell 2
    "x = torch.arange(4.0)\n"
    "x",
    # cell 3
    "# Can also create x = torch.arange(4.0, requires_grad=True)\n"
    "x.requires_grad_(True)\n"
    "x.grad  # The gradient is None by default",
    # cell 4
    "y = 2 * torch.dot(x, x)\n"
    "y",
    # cell 5
    "y.backward()\n"
    "x.grad",
    # cell 6
    "x.grad == 4 * x",
    # cell 7
    "x.grad.zero_()  # Reset the gradient\n"
    "y = x.sum()\n"
    "y.backward()\n"
    "x.grad",
    # cell 8
    "x.grad.zero_()\n"
    "y = x * x\n"
    "y.backward(gradient=torch.ones(len(y)))  # Faster: y.sum().backward()\n"
    "x.grad",
    # cell 9
    "x.grad.zero_()\n"
    "y = x * x\n"
    "u = y.detach()\n"
    "z = u * x\n"
    "\n"
    "z.sum().backward()\n"
    "x.grad == u",
    # cell 10
    "x.grad.zero_()\n"
    "y.sum().backward()\n"
    "x.grad == 2 * x",
    # cell 11
    "def f(a):\n"
    "    b = a * 2\n"
    "    while b.norm() < 1000:\n"
    "        b = b * 2\n"
    "    if b.sum() > 0:\n"
    "        c = b\n"
    "    else:\n"
    "        c = 100 * b\n"
    "    return c",
    # cell 12
    "a = torch.randn(size=(), requires_grad=True)\n"
    "d = f(a)\n"
    "d.backward()",
    # cell 13
    "a.grad == d / a",
]

# What the book displays under each cell (None: the cell displays nothing).
BOOK_DISPLAYS = [
    None,
    "tensor([0., 1., 2., 3.])",
    None,
    "tensor(28., grad_fn=<MulBackward0>)",
    "tensor([ 0.,  4.,  8., 12.])",
    "tensor([True, True, True, True])",
    "tensor([1., 1., 1., 1.])",
    "tensor([0., 2., 4., 6.])",
    "tensor([True, True, True, True])",
    "tensor([True, True, True, True])",
    None,
    None,
    "tensor(True)",
]
RANDOM_CELL = 11  # index of the cell drawing a; its display depends on the draw
SEED = 0  # a seed for which a > 0, where a.grad == d / a is exact (see test_random_cell_...)

# Runs CELLS Jupyter-style in one namespace and prints the displays as JSON on its last line.
# Warnings are errors: the chapter emits none under PyTorch.
RUNNER = textwrap.dedent("""
    import ast, json, sys, warnings
    warnings.simplefilter("error")

    def display(code, namespace):
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.Expr):
            exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            return None if value is None else repr(value)
        exec(compile(tree, "<cell>", "exec"), namespace)
        return None

    cells, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    RANDOM_CELL = int(sys.argv[3])
    namespace = {}
    shown = []
    for number, code in enumerate(cells):
        if number == RANDOM_CELL and seed is not None:
            namespace["torch"].manual_seed(seed)
        shown.append(display(code, namespace))
    a, d = namespace["a"], namespace["d"]
    facts = {"a": a.detach().item(), "a_dtype": str(a.dtype), "a_shape": list(a.shape),
             "a_leaf": a.is_leaf, "a_grad": a.grad.item(), "d_over_a": (d / a).item()}
    print(json.dumps({"shown": shown, "facts": facts}))
""")

# Runs the chapter's function f on 200 seeds and reports a.grad and d / a for each.
MANY_SEEDS = textwrap.dedent("""
    import json, warnings
    warnings.simplefilter("error")
    import chainrule as torch

    {f}

    rows = []
    for seed in range(200):
        torch.manual_seed(seed)
        a = torch.randn(size=(), requires_grad=True)
        d = f(a)
        d.backward()
        ratio = d / a
        rows.append({"a": a.detach().item(), "grad": a.grad.item(), "ratio": ratio.item(),
                     "grad_dtype": str(a.grad.dtype), "ratio_dtype": str(ratio.dtype),
                     "same": bool(a.grad == ratio)})
    print(json.dumps(rows))
""").replace("{f}", CELLS[10])  # dedented first: f's code sits at column 0




def _run_chapter(seed: int | None) -> dict:
    return run_json(RUNNER, json.dumps(CELLS), json.dumps(seed), str(RANDOM_CELL))


@pytest.fixture(scope="module")
def seeded_run() -> dict:
    return _run_chapter(SEED)


@pytest.mark.parametrize("number", range(len(CELLS)), ids=[f"cell{n}" for n in
                                                            range(1, len(CELLS) + 1)])
def test_seeded_chapter_displays_what_the_book_does(seeded_run, number):
    assert seeded_run["shown"][number] == BOOK_DISPLAYS[number]


def test_random_cell_draws_a_float32_scalar_leaf(seeded_run):
    facts = seeded_run["facts"]
    assert facts["a_dtype"] == "float32"
    assert facts["a_shape"] == []
    assert facts["a_leaf"] is True
    # the seed was chosen so that the book's display is reproduced: f scales a > 0 by a power
    # of two, so d / a is exactly the slope
    assert facts["a"] > 0
    assert facts["a_grad"] == facts["d_over_a"]
    assert facts["a_grad"] == 2.0 ** round(math.log2(facts["a_grad"]))


def test_unseeded_chapter_displays_what_the_book_does():
    shown = _run_chapter(None)["shown"]
    assert shown[:-1] == BOOK_DISPLAYS[:-1]
    # exact equality holds for ~94% of draws (rounding in 100 * b when a < 0)
    assert shown[-1] in ("tensor(True)", "tensor(False)")


def test_manual_seed_makes_the_random_cell_reproducible():
    first, second = _run_chapter(SEED)["facts"], _run_chapter(SEED)["facts"]
    assert first == second
    assert _run_chapter(SEED + 1)["facts"]["a"] != first["a"]


@pytest.fixture(scope="module")
def many_seeds() -> list[dict]:
    done = run_python("-c", MANY_SEEDS)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 200
    return rows


def test_gradient_equals_d_over_a_within_one_ulp_on_200_seeds(many_seeds):
    import numpy as np

    for row in many_seeds:
        assert row["grad_dtype"] == row["ratio_dtype"] == "float32"
        grad, ratio = np.float32(row["grad"]), np.float32(row["ratio"])
        assert abs(grad - ratio) <= np.spacing(grad), row


def test_gradient_is_the_slope_of_f(many_seeds):
    """f(a) = 2**k * a for a > 0 and 100 * 2**k * a for a < 0, with 1000 <= |2**k a| < 2000."""
    for row in many_seeds:
        grad, a = row["grad"], row["a"]
        slope = grad if a > 0 else grad / 100
        assert slope == 2.0 ** round(math.log2(slope)), row
        assert 1000 <= abs(slope * a) < 2000, row


def test_equality_is_exact_for_positive_a_and_mostly_otherwise(many_seeds):
    # for a > 0, d = 2**k * a exactly, so d / a is exactly 2**k
    assert all(row["same"] for row in many_seeds if row["a"] > 0)
    assert sum(row["a"] > 0 for row in many_seeds) > 50
    assert sum(row["a"] < 0 for row in many_seeds) > 50
    # the book: equal about 94% of the time
    share = sum(row["same"] for row in many_seeds) / len(many_seeds)
    assert 0.85 <= share < 1.0


# --------------------------------------------------------------------------------------------
# the command line


def _book_lines_in_order(output: str) -> None:
    """Every display of the book appears, as a line of its own, in the chapter's order."""
    lines = output.splitlines()
    position = 0
    for expected in [s for s in BOOK_DISPLAYS[:-1] if s is not None]:
        assert expected in lines[position:], f"{expected!r} missing after line {position}"
        position = lines.index(expected, position) + 1
    tail = lines[position:]
    assert "tensor(True)" in tail or "tensor(False)" in tail


@pytest.mark.parametrize("argv", [["-m", "chainrule", "tour"], ["-m", "chainrule"]],
                         ids=["tour", "no-command"])
def test_command_line_tour_shows_the_chapter(argv):
    start = time.perf_counter()
    done = run_python(*argv, timeout=60)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert elapsed < 20
    _book_lines_in_order(done.stdout)
    # the code is shown as well as its displays
    assert ">>> y = 2 * torch.dot(x, x)" in done.stdout.splitlines()
    assert ">>> import chainrule as torch" in done.stdout.splitlines()


def test_command_line_rejects_an_unknown_command():
    done = run_python("-m", "chainrule", "no-such-command", timeout=60)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
