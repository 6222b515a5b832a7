"""Per-call cost of chainrule's elementwise primitives on a 0-d tensor, forward and backward:
issue 14's check that the new primitives (NumPy's other elementwise functions, complex
numbers) cost per call what the old ones do, since they take the same engine path.

Each primitive runs a chain of ``STEPS`` calls of itself (functions whose repeated
application stays in their domain) on a 0-d float64 tensor that requires grad, then one
backward pass; the primitives are timed in interleaved rounds (the machine's speed
drifts) and the median per call is reported beside its ratio to ``sin``'s, measured in the
same rounds.  NumPy's own ufunc on a 0-d array is shown as the floor.

    python benchmarks/per_op.py [--rounds 15] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402, F401  (puts the repository on the path)

import chainrule as cr  # noqa: E402

STEPS = 200

# name: (chainrule's function of a tensor, NumPy's of an array)
PRIMITIVES = {
    "sin": (cr.sin, np.sin), "cos": (cr.cos, np.cos), "tanh": (cr.tanh, np.tanh),
    "sqrt": (cr.sqrt, np.sqrt), "abs": (cr.abs, np.abs),
    "arctan (new)": (cr.arctan, np.arctan), "arcsinh (new)": (cr.arcsinh, np.arcsinh),
    "sinc (new)": (cr.sinc, np.sinc), "deg2rad (new)": (cr.deg2rad, np.deg2rad),
    "real (new)": (cr.real, np.real), "conj (new)": (cr.conj, np.conj),
}


def _chain(f, x, steps: int):
    for _ in range(steps):
        x = f(x)
    return x


def time_chainrule(f, steps: int) -> float:
    x = cr.tensor(0.3, dtype=cr.float64, requires_grad=True)
    start = time.perf_counter()
    _chain(f, x, steps).backward()
    return (time.perf_counter() - start) / steps


def time_numpy(f, steps: int) -> float:
    a = np.array(0.3)
    start = time.perf_counter()
    _chain(f, a, steps)
    return (time.perf_counter() - start) / steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 20 steps (a smoke test)")
    args = parser.parse_args(argv)
    rounds, steps = (3, 20) if args.quick else (args.rounds, STEPS)
    ours = {name: [] for name in PRIMITIVES}
    plain = {name: [] for name in PRIMITIVES}
    for _ in range(rounds):
        for name, (f, g) in PRIMITIVES.items():
            ours[name].append(time_chainrule(f, steps))
            plain[name].append(time_numpy(g, steps))
    base = statistics.median(ours["sin"])
    print("| primitive | chainrule fwd+bwd per call (µs) | / sin's | NumPy forward only (µs) |")
    print("|---|---|---|---|")
    for name in PRIMITIVES:
        mine = statistics.median(ours[name])
        print(f"| {name} | {mine * 1e6:.2f} | {mine / base:.2f} | "
              f"{statistics.median(plain[name]) * 1e6:.2f} |")


if __name__ == "__main__":
    main()
