"""Side-by-side benchmarks: chainrule against the same work written by hand with NumPy.

Run ``python benchmarks/run.py`` (``--quick`` for a fast smoke run).  BLAS is pinned to one
thread; every workload first checks that both implementations compute the same gradient, then
times them interleaved, after a warm-up, and reports medians with the interquartile range.

Workloads (issue 2):
  scalar-chain   y = y * 1.0001 + 0.0001 on a 0-d float64, 1,000 steps (2,000 ops), fwd + bwd
  vector-chain   1,000 ops cycling mul, add, sin, exp, tanh on 16-element float64 vectors
  big-gradient   sum(sin(x) * exp(x) * x) and its gradient, x of 1e6 float64
  deep-chains    y = y * 1.0000001 chains of 1e3 ... 1e6 ops: backward cost per op by length

Transform ratios (issue 3), each against a baseline measured in the same run:
  jvp-mlp        jvp of an MLP forward (784-512-512-10, batch 128, float32) w.r.t. its input,
                 over the plain forward; hand-written NumPy's own JVP/forward ratio beside it
  hvp            Hessian-vector product of sum(tanh(W @ x)), x of 100, over its gradient
  jacrev         the 100 x 100 Jacobian of tanh(W @ x) by jacrev, over one VJP
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import chainrule as cr  # noqa: E402

# --------------------------------------------------------------------------------------------
# workloads: each returns {"name": callable returning the gradient}, plus the op count


def scalar_chain(steps: int = 1000):
    def by_hand():
        y = np.float64(0.5)
        for _ in range(steps):  # forward: nothing to keep, the derivative is constant
            y = y * 1.0001 + 0.0001
        g = np.float64(1.0)
        for _ in range(steps):  # backward: d(y * a + b)/dy = a
            g = g * 1.0001
        return g

    def chainrule():
        x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
        y = x
        for _ in range(steps):
            y = y * 1.0001 + 0.0001
        y.backward()
        return x.grad.item()

    return {"numpy": by_hand, "chainrule": chainrule}, 2 * steps


VECTOR_CYCLE = ("mul", "add", "sin", "exp", "tanh")


def _vector_forward(y, ops: int, sin, exp, tanh) -> list:
    """The chain's forward pass with the given elementwise functions; returns every value."""
    values = [y]
    for i in range(ops):
        kind = VECTOR_CYCLE[i % 5]
        if kind == "mul":
            y = y * 0.9
        elif kind == "add":
            y = y + 0.1
        else:
            y = {"sin": sin, "exp": exp, "tanh": tanh}[kind](y)
        values.append(y)
    return values


def vector_chain(ops: int = 1000, size: int = 16):
    x0 = np.linspace(-1, 1, size)

    def by_hand():
        values = _vector_forward(x0, ops, np.sin, np.exp, np.tanh)
        g = np.ones(size)
        for i in reversed(range(ops)):
            kind, x, ans = VECTOR_CYCLE[i % 5], values[i], values[i + 1]
            if kind == "mul":
                g = g * 0.9
            elif kind == "sin":
                g = g * np.cos(x)
            elif kind == "exp":
                g = g * ans
            elif kind == "tanh":
                g = g * (1 - ans * ans)
        return g

    def chainrule():
        x = cr.tensor(x0, requires_grad=True)
        y = _vector_forward(x, ops, cr.Tensor.sin, cr.Tensor.exp, cr.Tensor.tanh)[-1]
        y.backward(cr.ones(size, dtype=cr.float64))
        return x.grad.numpy()

    return {"numpy": by_hand, "chainrule": chainrule}, ops


def big_gradient(n: int = 1_000_000):
    x0 = np.random.default_rng(0).uniform(-1, 1, n)

    def by_hand():
        s, e = np.sin(x0), np.exp(x0)
        se = s * e
        loss = np.sum(se * x0)
        # d/dx of sum(s e x) = s e + x (cos(x) e + s e)
        g = se + x0 * (np.cos(x0) * e + se)
        return loss, g

    def chainrule():
        x = cr.from_numpy(x0).requires_grad_()
        loss = (x.sin() * x.exp() * x).sum()
        loss.backward()
        return loss.item(), x.grad.numpy()

    return {"numpy": lambda: by_hand()[1], "chainrule": lambda: chainrule()[1]}, 6


WORKLOADS = {
    "scalar-chain": scalar_chain,
    "vector-chain": vector_chain,
    "big-gradient": big_gradient,
}

# --------------------------------------------------------------------------------------------


def deep_chains(lengths=(1_000, 10_000, 100_000, 1_000_000), repeats: int = 3) -> str:
    """Backward time per op as the graph grows: flat means the walk is linear in its length."""
    rows = ["| chain length | forward µs/op | backward µs/op | backward per op / at 1e3 |",
            "|---|---|---|---|"]
    base = None
    for n in lengths:
        fwd, bwd = [], []
        for _ in range(repeats):
            x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
            start = time.perf_counter()
            y = x
            for _ in range(n):
                y = y * 1.0000001
            middle = time.perf_counter()
            y.backward()
            end = time.perf_counter()
            fwd.append((middle - start) / n)
            bwd.append((end - middle) / n)
            del y
        f, b = statistics.median(fwd), statistics.median(bwd)
        base = base or b
        rows.append(f"| {n:,} | {f * 1e6:.2f} | {b * 1e6:.2f} | {b / base:.2f} |")
    return "\n".join(rows)


def transform_ratios(repeats: int) -> str:
    """Each transform's time over its baseline, both timed interleaved in this run."""
    from chainrule.func import grad, hvp, jacrev, jvp, vjp

    rng = np.random.default_rng(0)
    sizes = (784, 512, 512, 10)
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
               for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    v = rng.standard_normal((128, 784)).astype(np.float32)

    def mlp(inp):
        for w in weights[:-1]:
            inp = cr.tanh(inp @ w) if isinstance(inp, cr.Tensor) else np.tanh(inp @ w)
        return inp @ weights[-1]

    def mlp_jvp_by_hand(inp, tangent):
        for w in weights[:-1]:
            a = np.tanh(inp @ w)
            tangent = (1 - a * a) * (tangent @ w)
            inp = a
        return inp @ weights[-1], tangent @ weights[-1]

    w100 = rng.standard_normal((100, 100)) / 10
    x100 = rng.standard_normal(100)
    u100 = rng.standard_normal(100)

    def loss(z):
        return cr.tanh(cr.tensor(w100) @ z).sum()

    def layer(z):
        return cr.tanh(cr.tensor(w100) @ z)

    # the same answers first
    np.testing.assert_allclose(jvp(mlp, (x,), (v,))[1], mlp_jvp_by_hand(x, v)[1], rtol=2e-3,
                               atol=2e-3)
    t = np.tanh(w100 @ x100)
    hessian_u = w100.T @ ((-2 * t * (1 - t * t)) * (w100 @ u100))
    np.testing.assert_allclose(hvp(loss, (x100,), (u100,))[1], hessian_u, rtol=1e-9)
    np.testing.assert_allclose(jacrev(layer)(x100), (1 - t * t)[:, None] * w100, rtol=1e-9)

    cases = {
        "jvp-mlp (chainrule)": (lambda: jvp(mlp, (x,), (v,)), lambda: mlp(cr.tensor(x))),
        "jvp-mlp (NumPy by hand)": (lambda: mlp_jvp_by_hand(x, v), lambda: mlp(x)),
        "hvp / grad": (lambda: hvp(loss, (x100,), (u100,)), lambda: grad(loss)(x100)),
        "jacrev / one vjp": (lambda: jacrev(layer)(x100),
                             lambda: vjp(layer, x100)[1](u100)),
    }
    rows = ["| transform | its time | baseline | ratio |", "|---|---|---|---|"]
    for name, (work, baseline) in cases.items():
        work(), baseline()
        a, b = [], []
        for _ in range(repeats):
            a.append(_once(work))
            b.append(_once(baseline))
        ta, tb = statistics.median(a), statistics.median(b)
        rows.append(f"| {name} | {_fmt(ta)} | {_fmt(tb)} | {ta / tb:.2f}x |")
    return "\n".join(rows)


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, repeats: int) -> dict:
    impls, ops = WORKLOADS[name]()
    reference = np.asarray(impls["numpy"]())
    for label, fn in impls.items():  # same gradient first, then time
        np.testing.assert_allclose(np.asarray(fn()), reference, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: {label} disagrees with hand-written NumPy")
    times: dict[str, list[float]] = {label: [] for label in impls}
    for _ in range(repeats):  # interleaved, so that drifts in machine speed hit all alike
        for label, fn in impls.items():
            times[label].append(_once(fn))
    return {"ops": ops, "times": times}


def _summary(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return statistics.median(samples), q[2] - q[0]


def report(results: dict) -> str:
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, BLAS threads pinned to 1",
        "",
        "| workload | NumPy by hand | chainrule | ratio | chainrule overhead per op |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        base, base_iqr = _summary(r["times"]["numpy"])
        ours, ours_iqr = _summary(r["times"]["chainrule"])
        per_op = (ours - base) / r["ops"] * 1e6
        lines.append(f"| {name} | {_fmt(base)} ± {_fmt(base_iqr)} | {_fmt(ours)} ± "
                     f"{_fmt(ours_iqr)} | {ours / base:.2f}x | {per_op:.2f} µs |")
    lines.append("")
    lines.append("times are medians ± interquartile range of whole fwd+bwd runs")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run")
    parser.add_argument("--no-deep", action="store_true", help="skip the deep-chain table")
    parser.add_argument("--no-transforms", action="store_true",
                        help="skip the transform ratios (issue 3)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 21
    results = {}
    for name in args.only or WORKLOADS:
        for fn in WORKLOADS[name]()[0].values():  # warm-up
            fn()
        results[name] = measure(name, repeats)
    print(report(results))
    if not args.no_transforms:
        print()
        print(transform_ratios(3 if args.quick else 11))
    if not args.no_deep:
        lengths = (1_000, 10_000, 100_000) if args.quick else (1_000, 10_000, 100_000, 1_000_000)
        print()
        print(deep_chains(lengths, repeats=1 if args.quick else 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
