"""Random programs, run on chainrule and on PyTorch with the same float64 inputs, compared
value by value, gradient by gradient (first and second order) and tangent by tangent (issue
13's differential test).

A program is a list of steps over a pool of tensors that all broadcast to ``SHAPE`` (3, 4):
each step applies one operation of :data:`OPERATIONS` to values of the pool and appends the
result, or changes a value of the pool in place (under ``no_grad``, or recorded).  Every
operation is written once against the API the two libraries share (``lib`` is ``torch`` or
``chainrule``), and keeps the pool broadcastable: its result has shape (3, 4), (3, 1), (1, 4)
or ().  The loss is ``sum(last value * weights)``.

``python -m tests.engine.random_programs N`` runs N seeded programs and prints, for each
comparison, how many agreed (the figures quoted when issue 13 was resolved); the suite runs a
few hundred through hypothesis (``test_random_programs.py``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

SHAPE = (3, 4)
INPUT_SHAPES = [(3, 4), (3, 4), (3, 1), (1, 4)]


def _full(x):
    return x.expand(*SHAPE)


def _denominator(lib, b):
    return b * b + 1.0


def _well_conditioned(lib, a):
    m = _full(a) @ _full(a).t()
    return m + 3.0 * lib.eye(3, dtype=lib.float64)


# name: (number of inputs, function of (lib, *inputs))
OPERATIONS = {
    # elementwise, one input
    "exp": (1, lambda lib, a: lib.exp(lib.tanh(a))),
    "log": (1, lambda lib, a: lib.log(a * a + 0.5)),
    "sqrt": (1, lambda lib, a: lib.sqrt(a * a + 0.25)),
    "sin": (1, lambda lib, a: a.sin()),
    "cos": (1, lambda lib, a: a.cos()),
    "tanh": (1, lambda lib, a: a.tanh()),
    "sigmoid": (1, lambda lib, a: a.sigmoid()),
    "abs": (1, lambda lib, a: a.abs()),
    "relu": (1, lambda lib, a: a.relu()),
    "square": (1, lambda lib, a: lib.square(a)),
    "neg": (1, lambda lib, a: -a),
    "clamp": (1, lambda lib, a: a.clamp(-0.5, 0.5)),
    "pow": (1, lambda lib, a: (a.abs() + 0.5) ** 1.5),
    "scalar_ops": (1, lambda lib, a: 2.0 - a / 3.0 + 1.5 * a),
    # elementwise, two inputs (broadcasting)
    "add": (2, lambda lib, a, b: a + b),
    "sub": (2, lambda lib, a, b: a - b),
    "mul": (2, lambda lib, a, b: a * b),
    "div": (2, lambda lib, a, b: a / _denominator(lib, b)),
    "maximum": (2, lambda lib, a, b: lib.maximum(a, b)),
    "minimum": (2, lambda lib, a, b: lib.minimum(a, b)),
    "tensor_pow": (2, lambda lib, a, b: (a.abs() + 0.5) ** lib.tanh(b)),
    "where": (2, lambda lib, a, b: lib.where(a > b, a, b * 2.0)),
    # reductions (kept dims: the pool stays broadcastable)
    "sum": (1, lambda lib, a: _full(a).sum(dim=1, keepdim=True)),
    "sum_all": (1, lambda lib, a: a.sum()),
    "mean": (1, lambda lib, a: _full(a).mean(dim=0, keepdim=True)),
    "amax": (1, lambda lib, a: _full(a).amax(dim=1, keepdim=True)),
    "max_dim": (1, lambda lib, a: _full(a).max(dim=0, keepdim=True).values),
    "logsumexp": (1, lambda lib, a: _full(a).logsumexp(dim=1, keepdim=True)),
    "prod": (1, lambda lib, a: _full(a).prod(dim=0, keepdim=True)),
    "norm": (1, lambda lib, a: _full(a).norm(dim=1, keepdim=True)),
    "std": (1, lambda lib, a: _full(a).std(dim=1, keepdim=True)),
    "var": (1, lambda lib, a: _full(a).var(dim=0, keepdim=True)),
    "softmax": (1, lambda lib, a: _full(a).softmax(dim=1)),
    "log_softmax": (1, lambda lib, a: _full(a).log_softmax(dim=0)),
    "cumsum": (1, lambda lib, a: _full(a).cumsum(dim=1)),
    "cumprod": (1, lambda lib, a: _full(a).cumprod(dim=0)),
    # shapes, views and indexing
    "reshape_t": (1, lambda lib, a: _full(a).reshape(4, 3).t()),
    "transpose_reshape": (1, lambda lib, a: _full(a).transpose(0, 1).reshape(3, 4)),
    "flip": (1, lambda lib, a: _full(a).flip(1)),
    "advanced_index": (1, lambda lib, a: _full(a)[:, [3, 1, 0, 2]]),
    "slice_cat": (1, lambda lib, a: lib.cat([_full(a)[:, 2:], _full(a)[:, :2]], dim=1)),
    "stack_sum": (2, lambda lib, a, b: lib.stack([_full(a), _full(b)]).sum(0)),
    "unsqueeze": (1, lambda lib, a: a.unsqueeze(0).squeeze(0)),
    "row": (1, lambda lib, a: _full(a)[1:2]),
    "column": (1, lambda lib, a: _full(a)[:, 2:3]),
    "sort": (1, lambda lib, a: _full(a).sort(dim=1).values),
    # products and linear algebra
    "matmul": (2, lambda lib, a, b: (_full(a) @ _full(b).t()) @ _full(a) * 0.1),
    "einsum": (2, lambda lib, a, b: lib.einsum("ij,ij->ij", _full(a), _full(b))),
    "solve": (2, lambda lib, a, b: lib.linalg.solve(_well_conditioned(lib, a), _full(b))),
    "inv": (1, lambda lib, a: lib.linalg.inv(_well_conditioned(lib, a)) @ _full(a)),
    "det": (1, lambda lib, a: lib.linalg.det(_well_conditioned(lib, a) * 0.5)),
}
NAMES = sorted(OPERATIONS)


@dataclass(frozen=True)
class Step:
    """One step: ``operation`` on pool values ``inputs``, or an in-place change ``"inplace"``
    of pool value ``inputs[0]`` (times a constant under no_grad when ``quiet``, plus the
    mean of pool value ``inputs[1]`` recorded otherwise)."""

    operation: str
    inputs: tuple
    quiet: bool = False


def random_program(rng: np.random.Generator, length: int, inplace: bool = True) -> list:
    steps = []
    for k in range(length):
        pool = len(INPUT_SHAPES) + k
        if inplace and k > 0 and rng.random() < 0.15:
            target = len(INPUT_SHAPES) + int(rng.integers(0, k))  # a computed value
            steps.append(Step("inplace", (target, int(rng.integers(0, pool))),
                              quiet=bool(rng.random() < 0.5)))
            continue
        name = NAMES[int(rng.integers(0, len(NAMES)))]
        arity = OPERATIONS[name][0]
        steps.append(Step(name, tuple(int(rng.integers(0, pool)) for _ in range(arity))))
    return steps


def run(lib, steps, inputs, weights, *, order: int = 2, tangents=None) -> dict:
    """Run the program on ``lib``: its value, first and second derivatives (and its JVP along
    ``tangents``), or the error it raised, as NumPy arrays."""
    out: dict = {}
    try:
        leaves = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in inputs]
        value = _forward(lib, steps, leaves)
        out["value"] = _as_array(value)
        loss = (value * lib.tensor(weights[: value.numel()].reshape(value.shape))).sum()
        grads = lib.autograd.grad(loss, leaves, create_graph=order > 1, allow_unused=True)
        out["grad"] = [None if g is None else _as_array(g) for g in grads]
        if order > 1:
            # d/dx of sum(g * g): a gradient that does not depend on the inputs (chainrule's
            # relu rule multiplies by a constant mask; PyTorch's records a node) adds zeros
            terms = [(g * g).sum() for g in grads if g is not None and g.requires_grad]
            hess = (lib.autograd.grad(sum(terms), leaves, allow_unused=True) if terms
                    else [None] * len(leaves))
            out["second"] = [np.zeros(np.shape(a)) if h is None else _as_array(h)
                             for a, h in zip(inputs, hess)]
    except Exception as err:  # noqa: BLE001 (the comparison is whether both raise)
        out["error"] = f"{type(err).__name__}: {err}"
    if tangents is not None and "error" not in out:
        out["tangent"] = _jvp(lib, steps, inputs, tangents)
    return out


def _as_array(t) -> np.ndarray:
    t = t.detach()
    try:
        return np.asarray(t)
    except RuntimeError:  # PyTorch's ZeroTensor (a derivative known to be zero)
        return t.numpy(force=True)


def _forward(lib, steps, leaves):
    pool = list(leaves)
    for step in steps:
        if step.operation == "inplace":
            target, other = step.inputs
            if step.quiet:
                with lib.no_grad():
                    pool[target].mul_(1.5)
            else:  # (a number from the other value: it broadcasts into any target)
                pool[target].add_(pool[other].mean() * 0.5)
            pool.append(pool[target])
        else:
            pool.append(OPERATIONS[step.operation][1](lib, *(pool[i] for i in step.inputs)))
    return pool[-1]


def _jvp(lib, steps, inputs, tangents):
    ad = lib.autograd.forward_ad
    try:
        with ad.dual_level():
            duals = [ad.make_dual(lib.tensor(a, dtype=lib.float64),
                                  lib.tensor(t, dtype=lib.float64))
                     for a, t in zip(inputs, tangents)]
            value = _forward(lib, steps, duals)
            tangent = ad.unpack_dual(value).tangent
            return None if tangent is None else np.asarray(tangent.detach())
    except Exception as err:  # noqa: BLE001
        return type(err).__name__


def draw_inputs(rng):
    inputs = [rng.uniform(-1.5, 1.5, s) for s in INPUT_SHAPES]
    tangents = [rng.standard_normal(s) for s in INPUT_SHAPES]
    return inputs, tangents, rng.standard_normal(12)


def compare(ours: dict, theirs: dict, rtol=1e-7, atol=1e-9) -> dict:
    """For each comparison, True (agree), False (disagree) or None (not compared: PyTorch
    raised, or the comparison does not apply)."""
    verdict: dict = {}
    if "error" in theirs:  # (each case where chainrule runs on must be explained)
        verdict["raises where PyTorch raises"] = (
            "error" in ours and _kind(ours["error"]) == _kind(theirs["error"]))
        return verdict
    verdict["runs where PyTorch runs"] = "error" not in ours
    if "error" in ours:
        return verdict
    verdict["value"] = _close(ours["value"], theirs["value"], rtol, atol)
    verdict["grad"] = _close_all(ours["grad"], theirs["grad"], rtol, atol)
    verdict["second"] = _close_all(ours["second"], theirs["second"], 1e-6, 1e-8)
    if not verdict["second"] and _close_all(ours["second"], _nan_to(theirs["second"],
                                                                    ours["second"]), 1e-6, 1e-8):
        # PyTorch's second derivative is NaN where its first is a subgradient (std at zero
        # variance, a norm at 0); chainrule's is finite there: counted apart
        verdict["second"] = None
        verdict["second: PyTorch NaN, chainrule finite"] = True
    if "tangent" in theirs:
        t_ours, t_theirs = ours.get("tangent"), theirs["tangent"]
        if isinstance(t_theirs, str):
            verdict["tangent"] = None
        elif isinstance(t_ours, str):
            verdict["tangent"] = False
        else:
            verdict["tangent"] = _close(t_ours, t_theirs, rtol, atol)
    return verdict


def _kind(error: str) -> str:
    """The exception's type, from ``run``'s ``"Type: message"``."""
    return error.split(":", 1)[0]


def _nan_to(theirs, ours):
    """``theirs`` with its NaNs replaced by ``ours``' values there."""
    return [t if t is None or o is None or np.shape(t) != np.shape(o)
            else np.where(np.isnan(t), o, t) for t, o in zip(theirs, ours)]


def _close(a, b, rtol, atol) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _close_all(a, b, rtol, atol) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(_close(x, y, rtol, atol) for x, y in zip(a, b))


def main(count: int, seed: int = 0) -> None:
    import torch

    import chainrule as cr

    rng = np.random.default_rng(seed)
    tallies: dict = {}
    for n in range(count):
        steps = random_program(rng, int(rng.integers(3, 14)))
        inputs, tangents, weights = draw_inputs(rng)
        with np.errstate(all="ignore"):
            theirs = run(torch, steps, inputs, weights, tangents=tangents)
            ours = run(cr, steps, inputs, weights, tangents=tangents)
        for name, agreed in compare(ours, theirs).items():
            counts = tallies.setdefault(name, [0, 0, []])
            if agreed is None:
                continue
            counts[0] += bool(agreed)
            counts[1] += 1
            if not agreed and len(counts[2]) < 5:
                counts[2].append((n, steps))
    print(f"{count} programs of 3 to 13 steps (seed {seed})")
    for name, (agreed, total, examples) in sorted(tallies.items()):
        print(f"  {name:26s} {agreed}/{total} agree ({100 * agreed / max(total, 1):.2f}%)")
        for n, steps in examples:
            print(f"    program {n}: {steps}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 0)
