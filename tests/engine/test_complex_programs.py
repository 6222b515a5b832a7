"""Random programs of complex numbers: chainrule's PyTorch-style gradients agree with PyTorch's
(first and second order), and the JAX-style ones with finite differences of the real and
imaginary parts (``check_grads``), on compositions of the operations both libraries define on
complex tensors.

``CHAINRULE_RANDOM_PROGRAMS=N`` runs N programs per test instead of the suite's default.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.testing import check_grads

EXAMPLES = int(os.environ.get("CHAINRULE_RANDOM_PROGRAMS", "60"))
SHAPE = (2, 3)

# name: (number of inputs, function of (lib, *inputs)); every input and result has SHAPE
OPERATIONS = {
    "exp": (1, lambda lib, a: lib.exp(a * 0.5)),
    "sin": (1, lambda lib, a: lib.sin(a)),
    "cos": (1, lambda lib, a: lib.cos(a)),
    "tanh": (1, lambda lib, a: lib.tanh(a * 0.5)),
    "sigmoid": (1, lambda lib, a: lib.sigmoid(a)),
    "log": (1, lambda lib, a: lib.log(a * a.conj() + a + 1.0)),
    "sqrt": (1, lambda lib, a: lib.sqrt(a * a + 2.0)),
    "conj": (1, lambda lib, a: a.conj()),
    "real": (1, lambda lib, a: a.real * (1.0 + 0.5j)),
    "imag": (1, lambda lib, a: a.imag - 1j),
    "abs": (1, lambda lib, a: a.abs() + 0j),
    "angle": (1, lambda lib, a: a.angle() * 1j),
    "square": (1, lambda lib, a: a * a),
    "reciprocal": (1, lambda lib, a: 1.0 / (a * a.conj() + 1.0)),
    "pow": (1, lambda lib, a: (a * a.conj() + 1.0) ** (0.5 + 0.5j)),
    "cumsum": (1, lambda lib, a: a.cumsum(dim=1)),
    "cumprod": (1, lambda lib, a: a.cumprod(dim=0)),
    "sum": (1, lambda lib, a: a.sum(dim=0, keepdim=True).expand(*SHAPE)),
    "mean": (1, lambda lib, a: a.mean(dim=1, keepdim=True).expand(*SHAPE)),
    "flip": (1, lambda lib, a: a.flip(1)),
    "transpose": (1, lambda lib, a: a.t().reshape(*SHAPE)),
    "index": (1, lambda lib, a: a[:, [2, 0, 0]]),
    "add": (2, lambda lib, a, b: a + b),
    "sub": (2, lambda lib, a, b: a - b),
    "mul": (2, lambda lib, a, b: a * b),
    "div": (2, lambda lib, a, b: a / (b * b.conj() + 1.0)),
    "matmul": (2, lambda lib, a, b: a @ b.t() @ b * 0.3),
    "where": (2, lambda lib, a, b: lib.where(a.real > b.real, a, b)),
}
NAMES = sorted(OPERATIONS)


@st.composite
def programs(draw):
    """2 to 8 steps, each an operation of the table on earlier values (two inputs to start)."""
    steps = []
    for k in range(draw(st.integers(2, 8))):
        name = draw(st.sampled_from(NAMES))
        steps.append((name, tuple(draw(st.integers(0, 1 + k))
                                  for _ in range(OPERATIONS[name][0]))))
    return steps


def _run(lib, steps, pool):
    pool = list(pool)
    for name, inputs in steps:
        pool.append(OPERATIONS[name][1](lib, *(pool[i] for i in inputs)))
    return pool[-1]


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE) for _ in range(2)]
    weights = rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE)
    return values, weights


def _loss(lib, steps, xs, weights):
    """A real loss of the program's complex result."""
    return (_run(lib, steps, xs) * lib.tensor(weights)).real.sum()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch's own, at import)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(steps=programs(), seed=st.integers(0, 2**32 - 1))
def test_complex_programs_agree_with_pytorch(steps, seed):
    torch = pytest.importorskip("torch")
    values, weights = _inputs(seed)
    results = []
    for lib in (torch, cr):
        xs = [lib.tensor(v, requires_grad=True) for v in values]
        with np.errstate(all="ignore"):
            loss = _loss(lib, steps, xs, weights)
            grads = lib.autograd.grad(loss, xs, create_graph=True, allow_unused=True,
                                      materialize_grads=True)
            second = sum((g * g.conj()).real.sum() for g in grads)
            hessian_part = (lib.autograd.grad(second, xs, allow_unused=True,
                                              materialize_grads=True)
                            if second.requires_grad else [lib.zeros_like(x) for x in xs])
        results.append([np.asarray(t.detach().resolve_conj())
                        for t in (loss, *grads, *hessian_part)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None, derandomize=True)
@given(steps=programs(), seed=st.integers(0, 2**32 - 1))
def test_complex_programs_match_finite_differences(steps, seed):
    values, weights = _inputs(seed)
    with np.errstate(all="ignore"):
        check_grads(lambda a, b: _run(cr, steps, [a, b]), values, order=2)
