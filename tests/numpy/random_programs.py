"""Random NumPy programs made of the calls of ``tests/numpy/catalogue.py``, for the property test
``tests/numpy/test_random_programs.py``.

A program is 2 to 5 steps.  Each step is one case of an entry of the catalogue (``sum`` with
``axis=0``, ``linalg.solve`` of a matrix and a vector, ``split`` ...).  Its first input is the
previous step's result (the program's first leaf for the first step), each other input the
previous result or a leaf; every input is first made to fit: its values flattened, repeated or
cut to the size the case takes, a ramp added (so that repeated values do not make degenerate
inputs), reshaped to its shape, and mapped smoothly into the case's
domain by ``Domain.into`` (``x * x + 0.5`` for ``log``, ``tanh(a) + n I`` for ``inv``).  So any
function of the table may follow any other, shapes and domains always fit, and the whole
program is a smooth function of the leaves, whose derivatives ``check_grads`` compares with
central differences.  A call with several results (``split``, ``eigh``) passes one of them on.

``python -m tests.numpy.random_programs N`` runs N seeded programs and prints the ones whose
derivatives disagree, as Python code that reproduces them.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import numpy as np

import chainrule.numpy as cnp
from chainrule.testing import check_grads
from tests.numpy.catalogue import available, function
from tests.numpy.coverage import inputs, program

LEAVES = 2  # inputs of the program, each of shape LEAF
LEAF = (3, 4)
PREVIOUS = -1  # the source of an input that is the previous step's result


@dataclass(frozen=True)
class Step:
    """Case ``case`` of the catalogue's entry ``name``; ``sources``: where each input comes
    from (``PREVIOUS`` or a leaf's number); ``pick``: which result is passed on, when the
    call returns several."""

    name: str
    case: int
    sources: tuple
    pick: int = 0


def fit(value, shape):
    """``value``'s entries, flattened, repeated (or cut) to fill ``shape``, plus a ramp from
    -0.5 to 0.5: repeated values would make degenerate inputs (no spread for ``std``,
    repeated eigenvalues for ``eigh``), where derivatives are not defined."""
    size = int(np.prod(shape, dtype=int))
    flat = cnp.ravel(value)
    have = int(np.size(flat))
    if have < size:
        flat = cnp.tile(flat, -(-size // have))
    return cnp.reshape(flat[:size] + np.linspace(-0.5, 0.5, size), shape)


def run(steps: list[Step], leaves: list):
    """The program's result for its leaves (Tensors, or ndarrays for plain NumPy)."""
    value = leaves[0]
    for step in steps:
        case = available()[step.name][step.case]
        inputs = [domain.into(fit(value if source == PREVIOUS else leaves[source], shape))
                  for source, shape, domain in zip(step.sources, case.shapes, case.domains)]
        value = case.call(function(cnp, step.name), *inputs)
        if isinstance(value, (tuple, list)):
            value = value[step.pick % len(value)]
        if np.iscomplexobj(value):  # (the next function may take real numbers only)
            value = cnp.real(value) + cnp.imag(value)
    return value


def draw_leaves(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(LEAF) for _ in range(LEAVES)]


def check(steps: list[Step], seed: int) -> None:
    """check_grads to second order in both modes; AssertionError if a derivative is wrong."""
    with np.errstate(all="ignore"):
        check_grads(lambda *xs: run(steps, list(xs)), draw_leaves(seed), order=2,
                    modes=("fwd", "rev"))


def source(steps: list[Step], seed: int) -> str:
    """Python code that reproduces a program's check (for a bug report)."""
    lines = ["import numpy as np", "from chainrule.testing import check_grads",
             "from tests.numpy.random_programs import Step, draw_leaves, run", "",
             f"steps = {steps!r}",
             f"check_grads(lambda *xs: run(steps, list(xs)), draw_leaves({seed}), order=2, "
             "modes=('fwd', 'rev'))"]
    return "\n".join(lines)


@functools.cache
def cases() -> list[tuple[str, int]]:
    """(name, case) of every case of the catalogue whose derivatives pass check_grads to
    second order on its own (the others show in docs/numpy.md and in test_catalogue.py)."""
    working = []
    for name, entry in sorted(available().items()):
        for index, case in enumerate(entry):
            try:
                with np.errstate(all="ignore"):
                    check_grads(program(function(cnp, name), case), inputs(name, index, case))
            except Exception:
                continue
            working.append((name, index))
    return working


def random_steps(rng: np.random.Generator) -> list[Step]:
    """A random program (the property test draws them with hypothesis instead)."""
    steps = []
    for k in range(int(rng.integers(2, 6))):
        name, index = cases()[rng.integers(len(cases()))]
        arity = len(available()[name][index].shapes)
        first = PREVIOUS if k else 0
        sources = (first,) + tuple(int(rng.integers(PREVIOUS, LEAVES)) for _ in range(arity - 1))
        steps.append(Step(name, index, sources, int(rng.integers(4))))
    return steps


def main(count: int) -> int:
    rng = np.random.default_rng(0)
    failures = 0
    for _ in range(count):
        steps, seed = random_steps(rng), int(rng.integers(2**32))
        try:
            check(steps, seed)
        except Exception as err:
            failures += 1
            print(f"# {type(err).__name__}: {str(err)[:400]}\n{source(steps, seed)}\n")
    print(f"{count - failures} of {count} programs agree with central differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
