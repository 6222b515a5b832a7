"""``vmap``, batched Jacobians and per-example gradients: issue 16's three speed targets.

``python benchmarks/vmap.py`` times, interleaved in one process and in ``run.py``'s conditions
(BLAS, PyTorch and XLA on one thread, the collector run before each sample, samples of at
least 2 ms of back-to-back calls), float64 throughout:

  jacrev             the 100 x 100 Jacobian of ``tanh(W @ x)``, R^100 -> R^100, by
                     ``chainrule.func.jacrev``, over one VJP of the same function
                     (``func.vjp`` + the pullback), both timed in this run with the same
                     number of calls per sample.  Target: at most 3x.  Peers:
                     ``torch.func.jacrev`` over ``torch.func.vjp``, ``jax.jacrev`` over
                     ``jax.vjp`` (eager).  The hand-written NumPy Jacobian
                     ``(1 - t**2)[:, None] * W`` is shown for reference.
  per-example-grads  the 128 per-example gradients of an MLP loss, 64-64-10 (tanh hidden
                     layer, biases, softmax cross-entropy on one-hot labels), by
                     ``vmap(grad(loss), in_axes=(None, 0, 0))(params, xs, ys)``, over the same
                     gradients written by hand in NumPy in one batched pass (einsum outer
                     products).  Target: at most 3x.  Also a Python loop of 128 ``grad``
                     calls; peers ``torch.func.vmap(torch.func.grad(loss))`` and
                     ``jax.vmap(jax.grad(loss))`` (eager).
  vmap-overhead      ``f(z) = tanh(W @ z) * z + 1`` mapped over B = 128 examples with
                     ``vmap``, d = 64 and d = 512, over the same computation batched by hand
                     in NumPy (``np.tanh(Z @ W.T) * Z + 1``); also over chainrule without vmap
                     on the hand-batched form (plain tensors).  Target: at most 1.10x NumPy.
                     Also ``chainrule.compile(vmap(f))``: the plan of the batched computation
                     that vmap's rules performed, replayed without the vmap machinery.
                     Peers: ``torch.func.vmap`` and ``jax.vmap`` (eager) of the same ``f``.

Every row is first run once and its result checked against the hand-written NumPy one
(``assert_allclose``, relative 1e-9); only rows that agree are timed.  A row that raises is
printed as "not supported yet: <error>" and a row that disagrees as "wrong result: <how>",
instead of stopping the run, so that the script runs while vmap is being built and gives the
real figures once it is.  Benchmarks measure; they never fail on timing.

``--quick`` is a smoke run (3 samples each, d = 512 left out); ``--only`` picks workloads;
``--frameworks`` picks peers (NumPy by hand and chainrule always run).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import gc  # noqa: E402
import inspect  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

import chainrule as cr  # noqa: E402  (run.py put the repository on the path)
from chainrule import func  # noqa: E402

PEERS = ("torch", "jax")
RTOL, ATOL = 1e-9, 1e-12

# --------------------------------------------------------------------------------------------
# rows: what each workload times


@dataclass
class Row:
    """One timed line: ``build()`` returns the function to time (it may raise: the row is then
    "not supported yet"); its first result must match ``reference`` (NumPy arrays)."""

    label: str
    framework: str  # "numpy", "chainrule", or a peer's key in run.FRAMEWORKS
    build: Callable[[], Callable]
    reference: list[np.ndarray]
    base: str | None = None  # the label of the row this one is a ratio over
    also: str | None = None  # a second row it is shown as a ratio over
    target: str = ""
    status: str = ""  # why it was not timed
    fn: Callable | None = None
    times: list[float] = field(default_factory=list)


def _arrays(result) -> list[np.ndarray]:
    """Any framework's result (tensors, arrays, tuples, lists and dicts of them) as float64
    ndarrays, dicts in their keys' sorted order (JAX returns dicts sorted)."""
    if isinstance(result, dict):
        return [a for key in sorted(result) for a in _arrays(result[key])]
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    return bench._arrays(result)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def check(rows: list[Row]) -> None:
    """Build each row and run it once: keep it if it agrees with its NumPy reference."""
    for row in rows:
        try:
            row.fn = row.build()
            got = _arrays(row.fn())
        except Exception as err:  # a row that raises is reported, not fatal
            row.status, row.fn = f"not supported yet: {_one_line(err)}", None
            continue
        want = row.reference
        try:
            assert len(got) == len(want), f"{len(got)} arrays, expected {len(want)}"
            for a, b in zip(got, want):
                assert a.size == b.size, f"shape {a.shape}, expected {b.shape}"
                np.testing.assert_allclose(a.reshape(b.shape), b, rtol=RTOL, atol=ATOL)
        except AssertionError as err:
            lines = [s.strip() for s in str(err).splitlines() if s.strip()]
            how = next((s for s in lines if s.startswith("Max absolute")), lines[0]
                       if lines else "")
            row.status, row.fn = f"wrong result: disagrees with NumPy by hand ({how})", None


def time_rows(rows: list[Row], repeats: int, same_calls: bool = False) -> None:
    """Time the rows that passed ``check``, interleaved (``run.time_interleaved``'s method).

    A sample is the mean of enough back-to-back calls to last 2 ms.  With ``same_calls`` a
    row and the row it is a ratio over make the same number of calls per sample (the larger
    of the two), so that neither is favoured by warmer caches (as run.py's transform pairs).
    """
    live = [r for r in rows if r.fn is not None]
    numbers = {r.label: bench._calls_per_sample(r.fn) for r in live}
    if same_calls:
        by_label = {r.label: r for r in live}
        for r in live:
            if r.base in by_label:
                n = max(numbers[r.label], numbers[r.base])
                numbers[r.label] = numbers[r.base] = n
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeats):
            for r in live:
                gc.collect()
                number = numbers[r.label]
                start = time.perf_counter()
                for _ in range(number):
                    r.fn()
                r.times.append((time.perf_counter() - start) / number)
    finally:
        gc.unfreeze()


def table(title: str, rows: list[Row]) -> str:
    """Each row's median ± IQR, its ratio over its base (same run) and the target."""
    med = {r.label: statistics.median(r.times) for r in rows if r.times}
    lines = [title, "", "| row | median ± IQR | ratio | target |", "|---|---|---|---|"]
    for r in rows:
        if not r.times:
            lines.append(f"| {r.label} | {r.status} | – | {r.target} |")
            continue
        median, iqr = bench._summary(r.times)
        if r.base is None:
            ratio = "(baseline)" if any(r.label in (o.base, o.also) for o in rows) else ""
        else:
            ratio = "; ".join(
                f"{med[r.label] / med[b]:.2f}x over {b}" if b in med else f"– ({b} not timed)"
                for b in (r.base, r.also) if b is not None)
        lines.append(f"| {r.label} | {bench._fmt(median)} ± {bench._fmt(iqr)} | {ratio} | "
                     f"{r.target} |")
    return "\n".join(lines)


def wanted(rows: list[Row], frameworks) -> list[Row]:
    """The rows whose framework is asked for and installed (NumPy and chainrule always)."""
    return [r for r in rows if r.framework in ("numpy", "chainrule")
            or (r.framework in frameworks and bench.installed(r.framework))]


# --------------------------------------------------------------------------------------------
# jacrev: the Jacobian of tanh(W @ x), R^n -> R^n, over one VJP


def jacrev_rows(n: int) -> list[Row]:
    rng = np.random.default_rng(16)
    w, x, u = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n), \
        rng.standard_normal(n)
    t = np.tanh(w @ x)
    jacobian, cotangent = [(1 - t * t)[:, None] * w], [w.T @ ((1 - t * t) * u)]

    def numpy_jacobian():
        def run():
            t = np.tanh(w @ x)  # J = diag(1 - tanh^2) W: row i is (1 - t_i^2) W[i]
            return (1 - t * t)[:, None] * w

        return run

    def numpy_vjp():
        def run():
            t = np.tanh(w @ x)  # u^T J = W^T ((1 - t^2) * u)
            return w.T @ ((1 - t * t) * u)

        return run

    wt = cr.tensor(w)
    layer = lambda z: cr.tanh(wt @ z)  # noqa: E731

    def chainrule_jacrev():
        return lambda: func.jacrev(layer)(x)

    def chainrule_jacrev_chunked():
        if "chunk_size" not in inspect.signature(func.jacrev).parameters:
            raise TypeError("chainrule.func.jacrev has no chunk_size argument")
        jac = func.jacrev(layer, chunk_size=25)
        return lambda: jac(x)

    def chainrule_vjp():
        return lambda: func.vjp(layer, x)[1](u)

    def torch_pair():
        torch = bench._torch()
        tw, tx, tu = (torch.from_numpy(a) for a in (w, x, u))
        tlayer = lambda z: torch.tanh(tw @ z)  # noqa: E731
        return (lambda: torch.func.jacrev(tlayer)(tx)), \
            (lambda: torch.func.vjp(tlayer, tx)[1](tu))

    def jax_pair():
        jax = bench._jax()
        jw, jx, ju = (jax.numpy.asarray(a) for a in (w, x, u))
        jlayer = lambda z: jax.numpy.tanh(jw @ z)  # noqa: E731
        return (lambda: jax.block_until_ready(jax.jacrev(jlayer)(jx))), \
            (lambda: jax.block_until_ready(jax.vjp(jlayer, jx)[1](ju)))

    target = "<= 3x"
    return [
        Row("NumPy by hand: vjp", "numpy", numpy_vjp, cotangent),
        Row("NumPy by hand: Jacobian", "numpy", numpy_jacobian, jacobian,
            base="NumPy by hand: vjp"),
        Row("chainrule: vjp", "chainrule", chainrule_vjp, cotangent),
        Row("chainrule: jacrev", "chainrule", chainrule_jacrev, jacobian,
            base="chainrule: vjp", target=target),
        Row("chainrule: jacrev(chunk_size=25)", "chainrule", chainrule_jacrev_chunked,
            jacobian, base="chainrule: vjp", target=target),
        Row("PyTorch: vjp", "torch", lambda: torch_pair()[1], cotangent),
        Row("PyTorch: jacrev", "torch", lambda: torch_pair()[0], jacobian,
            base="PyTorch: vjp", target="(3.3x in the issue)"),
        Row("JAX eager: vjp", "jax", lambda: jax_pair()[1], cotangent),
        Row("JAX eager: jacrev", "jax", lambda: jax_pair()[0], jacobian,
            base="JAX eager: vjp", target="(4.2x in the issue)"),
    ]


# --------------------------------------------------------------------------------------------
# per-example gradients of an MLP loss

KEYS = ("w1", "b1", "w2", "b2")


def mlp_data(batch: int, d_in: int, hidden: int, classes: int):
    rng = np.random.default_rng(16)
    params = {"w1": rng.standard_normal((hidden, d_in)) / np.sqrt(d_in),
              "b1": 0.1 * rng.standard_normal(hidden),
              "w2": rng.standard_normal((classes, hidden)) / np.sqrt(hidden),
              "b2": 0.1 * rng.standard_normal(classes)}
    xs = rng.standard_normal((batch, d_in))
    ys = np.eye(classes)[rng.integers(0, classes, batch)]  # one-hot labels
    return params, xs, ys


def per_example_numpy(params, xs, ys) -> dict:
    """The per-example gradients by hand, all examples in one pass.

    For one example: h = tanh(W1 x + b1), z = W2 h + b2, loss = logsumexp(z) - y . z.
    Then dz = softmax(z) - y, dW2 = dz h^T, db2 = dz, dh = W2^T dz * (1 - h^2),
    dW1 = dh x^T, db1 = dh; with a leading batch axis the outer products are einsums.
    """
    h = np.tanh(xs @ params["w1"].T + params["b1"])
    z = h @ params["w2"].T + params["b2"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    dz = p / p.sum(axis=1, keepdims=True) - ys
    dh = (dz @ params["w2"]) * (1 - h * h)
    return {"w1": np.einsum("bi,bj->bij", dh, xs), "b1": dh,
            "w2": np.einsum("bi,bj->bij", dz, h), "b2": dz}


def per_example_rows(batch: int, d_in: int, hidden: int, classes: int) -> list[Row]:
    params, xs, ys = mlp_data(batch, d_in, hidden, classes)
    reference = _arrays(per_example_numpy(params, xs, ys))

    def loss(lib, logsumexp):
        """One example's softmax cross-entropy, the same maths in every framework."""

        def f(p, x, y):
            h = lib.tanh(p["w1"] @ x + p["b1"])
            z = p["w2"] @ h + p["b2"]
            return logsumexp(z) - (y * z).sum()

        return f

    def numpy_batched():
        return lambda: per_example_numpy(params, xs, ys)

    # chainrule: the parameters as Tensors (no grad: grad makes its own stand-ins)
    cparams = {k: cr.tensor(v) for k, v in params.items()}
    cxs, cys = cr.tensor(xs), cr.tensor(ys)
    closs = loss(cr, lambda z: cr.logsumexp(z, 0))

    def chainrule_vmap():
        per_example = func.vmap(func.grad(closs), in_axes=(None, 0, 0))
        return lambda: per_example(cparams, cxs, cys)

    def chainrule_loop():
        g = func.grad(closs)

        def run():
            grads = [g(cparams, cxs[i], cys[i]) for i in range(batch)]
            return {k: cr.stack([gi[k] for gi in grads]) for k in KEYS}

        return run

    def torch_vmap():
        torch = bench._torch()
        tparams = {k: torch.from_numpy(v) for k, v in params.items()}
        txs, tys = torch.from_numpy(xs), torch.from_numpy(ys)
        tloss = loss(torch, lambda z: torch.logsumexp(z, 0))
        per_example = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        return lambda: per_example(tparams, txs, tys)

    def jax_vmap():
        jax = bench._jax()
        jparams = {k: jax.numpy.asarray(v) for k, v in params.items()}
        jxs, jys = jax.numpy.asarray(xs), jax.numpy.asarray(ys)
        jloss = loss(jax.numpy, jax.scipy.special.logsumexp)
        per_example = jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0))
        return lambda: jax.block_until_ready(per_example(jparams, jxs, jys))

    base = "NumPy by hand, batched"
    return [
        Row(base, "numpy", numpy_batched, reference),
        Row("chainrule: vmap(grad(loss))", "chainrule", chainrule_vmap, reference, base=base,
            target="<= 3x"),
        Row(f"chainrule: loop of {batch} grad calls", "chainrule", chainrule_loop, reference,
            base=base, target="(context)"),
        Row("PyTorch: torch.func.vmap(grad(loss))", "torch", torch_vmap, reference, base=base,
            target="(2.6-3.1x in the issue)"),
        Row("JAX eager: jax.vmap(jax.grad(loss))", "jax", jax_vmap, reference, base=base),
    ]


# --------------------------------------------------------------------------------------------
# vmap's own overhead: tanh(W @ z) * z + 1 over a batch


def overhead_rows(batch: int, d: int) -> list[Row]:
    rng = np.random.default_rng(16)
    w, zs = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal((batch, d))
    reference = [np.tanh(zs @ w.T) * zs + 1]
    wT = w.T  # a view, the same in every framework's hand-batched form

    def numpy_batched():
        return lambda: np.tanh(zs @ wT) * zs + 1

    cw, cwT, czs = cr.tensor(w), cr.tensor(wT), cr.tensor(zs)

    def chainrule_vmap():
        mapped = func.vmap(lambda z: cr.tanh(cw @ z) * z + 1)
        return lambda: mapped(czs)

    def chainrule_plain():
        return lambda: cr.tanh(czs @ cwT) * czs + 1

    def chainrule_compiled_vmap():
        mapped = cr.compile(func.vmap(lambda z: cr.tanh(cw @ z) * z + 1))
        mapped(czs)  # the trace, at setup: the timed calls replay the plan
        assert mapped.traces == 1 and mapped.last_plan is not None, "compile(vmap) ran eagerly"
        return lambda: mapped(czs)

    def torch_vmap():
        torch = bench._torch()
        tw, tzs = torch.from_numpy(w), torch.from_numpy(zs)
        mapped = torch.func.vmap(lambda z: torch.tanh(tw @ z) * z + 1)
        return lambda: mapped(tzs)

    def jax_vmap():
        jax = bench._jax()
        jw, jzs = jax.numpy.asarray(w), jax.numpy.asarray(zs)
        mapped = jax.vmap(lambda z: jax.numpy.tanh(jw @ z) * z + 1)
        return lambda: jax.block_until_ready(mapped(jzs))

    base, plain = f"d={d}: NumPy by hand, batched", f"d={d}: chainrule, batched by hand"
    return [
        Row(base, "numpy", numpy_batched, reference),
        Row(plain, "chainrule", chainrule_plain, reference, base=base),
        Row(f"d={d}: chainrule vmap", "chainrule", chainrule_vmap, reference, base=base,
            also=plain, target="<= 1.10x (over NumPy)"),
        Row(f"d={d}: chainrule compile(vmap)", "chainrule", chainrule_compiled_vmap, reference,
            base=base, target="<= 1.10x (over NumPy)"),
        Row(f"d={d}: PyTorch torch.func.vmap", "torch", torch_vmap, reference, base=base),
        Row(f"d={d}: JAX eager jax.vmap", "jax", jax_vmap, reference, base=base),
    ]


# --------------------------------------------------------------------------------------------


WORKLOADS = ("jacrev", "per-example-grads", "vmap-overhead")


def workloads(quick: bool) -> dict[str, tuple[str, list[Row], bool]]:
    """name -> (title, rows, same_calls), the rows built lazily by ``check``."""
    sizes = (64,) if quick else (64, 512)
    return {
        "jacrev": ("jacrev: the 100 x 100 Jacobian of tanh(W @ x) / one VJP of it (each "
                   "framework's own), float64", jacrev_rows(100), True),
        "per-example-grads": ("per-example-grads: gradients of an MLP 64-64-10 (tanh, biases, "
                              "softmax cross-entropy) for each of 128 examples / the same by "
                              "hand in NumPy, float64", per_example_rows(128, 64, 64, 10),
                              False),
        "vmap-overhead": ("vmap-overhead: f(z) = tanh(W @ z) * z + 1 over B = 128 examples, "
                          f"d = {', '.join(map(str, sizes))} / the same batched by hand, "
                          "float64", [r for d in sizes for r in overhead_rows(128, d)],
                          False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 3 samples each, d = 512 left out")
    parser.add_argument("--repeats", type=int, default=21, help="samples of each row")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, help="workloads to run")
    parser.add_argument("--frameworks", nargs="*", choices=PEERS,
                        help="peers to run (hand-written NumPy and chainrule always run)")
    args = parser.parse_args(argv)
    frameworks = PEERS if args.frameworks is None else tuple(args.frameworks)
    repeats = 3 if args.quick else args.repeats
    print(bench.header(("numpy", "chainrule") + frameworks))
    print(f"medians ± interquartile range of {repeats} interleaved samples; ratios of medians "
          "from this run")
    for name, (title, rows, same_calls) in workloads(args.quick).items():
        if args.only and name not in args.only:
            continue
        rows = wanted(rows, frameworks)
        check(rows)
        time_rows(rows, repeats, same_calls)
        print()
        print(table(title, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
