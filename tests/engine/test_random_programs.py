"""Random programs (``tests/engine/random_programs.py``): chainrule agrees with PyTorch value by
value, gradient by gradient (first and second order) and tangent by tangent, with in-place
changes (under ``no_grad`` and recorded) and views among the steps (issue 13).  PyTorch is
extra evidence where it is installed; finite differences always run.

``CHAINRULE_RANDOM_PROGRAMS=N`` runs N programs per test instead of the suite's few hundred;
``python -m tests.engine.random_programs N`` prints the agreement per comparison.
"""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from tests.engine.random_programs import (
    INPUT_SHAPES,
    NAMES,
    OPERATIONS,
    Step,
    _forward,
    compare,
    draw_inputs,
    run,
)

EXAMPLES = int(os.environ.get("CHAINRULE_RANDOM_PROGRAMS", "150"))


@st.composite
def programs(draw, inplace: bool = True):
    """3 to 13 steps, each an operation of the table on earlier values, or an in-place change
    of an earlier computed value (under no_grad, or recorded)."""
    steps = []
    for k in range(draw(st.integers(3, 13))):
        pool = len(INPUT_SHAPES) + k
        if inplace and k > 0 and draw(st.integers(0, 99)) < 15:
            target = draw(st.integers(len(INPUT_SHAPES), pool - 1))
            steps.append(Step("inplace", (target, draw(st.integers(0, pool - 1))),
                              quiet=draw(st.booleans())))
            continue
        name = draw(st.sampled_from(NAMES))
        inputs = tuple(draw(st.integers(0, pool - 1)) for _ in range(OPERATIONS[name][0]))
        steps.append(Step(name, inputs))
    return steps


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch's own, at import)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(steps=programs(), seed=st.integers(0, 2**32 - 1))
def test_random_programs_agree_with_pytorch(steps, seed):
    torch = pytest.importorskip("torch")
    inputs, tangents, weights = draw_inputs(np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        theirs = run(torch, steps, inputs, weights, tangents=tangents)
        ours = run(cr, steps, inputs, weights, tangents=tangents)
    disagree = [name for name, agreed in compare(ours, theirs).items() if agreed is False]
    assert not disagree, (disagree, ours.get("error"), theirs.get("error"))


@settings(max_examples=max(EXAMPLES // 2, 20), deadline=None, derandomize=True)
@given(steps=programs(inplace=False), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_finite_differences(steps, seed):
    """Without PyTorch: reverse mode to second order and forward mode, against central
    differences in float64 (in-place steps under no_grad change values autograd does not
    see, so they are left out here)."""
    inputs, _, weights = draw_inputs(np.random.default_rng(seed))
    leaves = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in inputs]

    def program(*xs):
        value = _forward(cr, steps, list(xs))
        return (value * cr.tensor(weights[: value.numel()].reshape(value.shape))).sum()

    with np.errstate(all="ignore"):
        assert cr.autograd.gradcheck(program, leaves, atol=1e-5, rtol=1e-4)
        assert cr.autograd.gradgradcheck(program, leaves, atol=1e-4, rtol=1e-3)
