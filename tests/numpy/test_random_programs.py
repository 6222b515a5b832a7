"""Random NumPy programs (``tests/numpy/random_programs.py``): compositions of 2 to 5 calls of
the catalogue of differentiable functions (elementwise, reductions, shapes, joining and
splitting, products, linear algebra), each input fitted to its call's shape and domain; their
derivatives to second order, in forward and reverse mode and both compositions, must match
central differences in float64 (``chainrule.testing.check_grads``).

``CHAINRULE_RANDOM_PROGRAMS=N`` runs N programs instead of the suite's 200;
``python -m tests.numpy.random_programs N`` runs N seeded programs and prints the failures as
code that reproduces them.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.numpy.catalogue import available
from tests.numpy.random_programs import LEAVES, PREVIOUS, Step, cases, check, source

EXAMPLES = int(os.environ.get("CHAINRULE_RANDOM_PROGRAMS", "200"))


@st.composite
def programs(draw):
    """2 to 5 steps; the first input of each is the previous result, the others the previous
    result or a leaf."""
    steps = []
    for k in range(draw(st.integers(2, 5))):
        name, index = draw(st.sampled_from(cases()))
        others = len(available()[name][index].shapes) - 1
        first = PREVIOUS if k else 0
        sources = (first,) + tuple(draw(st.integers(PREVIOUS, LEAVES - 1)) for _ in range(others))
        steps.append(Step(name, index, sources, draw(st.integers(0, 3))))
    return steps


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(steps=programs(), seed=st.integers(0, 2**32 - 1))
def test_random_numpy_programs_match_central_differences(steps, seed):
    try:
        check(steps, seed)
    except Exception as err:
        raise AssertionError(f"{type(err).__name__}: {err}\nto reproduce:\n"
                             f"{source(steps, seed)}") from err


def test_the_programs_draw_from_the_whole_catalogue():
    """Every entry has a case that programs use (a case left out fails on its own, and shows
    in docs/numpy.md)."""
    assert {name for name, _ in cases()} == set(available())
