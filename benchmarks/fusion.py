"""Fusion in compiled plans: where it pays, and which backend.

A compiled plan (``chainrule.compile``) runs each chain of elementwise steps over a large
array as one *region*: in NumPy blocks of rows on ``chainrule.get_num_threads()`` threads, or
as numexpr expressions where numexpr can express it (``chainrule/compiler/fusion.py``).  This
measures, for three chains of forward and backward work, the compiled plan fused (blocks, and
numexpr when installed) against the same plan unfused (``options={"fuse": False}``) and
against hand-written NumPy, at sizes from 131072 (where fusion starts) to 4e6 elements, on
1 thread and on every core.  Each runner is timed in a fresh process, the runners alternating,
three rounds; each row's ratios are to NumPy by hand in the same rounds.

    python benchmarks/fusion.py            # the table (a few minutes)
    python benchmarks/fusion.py --quick    # a smoke run
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chainrule as cr  # noqa: E402
import chainrule.threads  # noqa: E402
from chainrule.compiler import fusion  # noqa: E402


def _transcendental(x):
    return (x.sin() * x.exp() * x).sum()


def _transcendental_numpy(x0):
    s, e = np.sin(x0), np.exp(x0)
    se = s * e
    np.sum(se * x0)
    return se + x0 * (np.cos(x0) * e + se)


def _arithmetic(x):
    return ((x * x + 1) / (x * 3 - 7) - x).sum()


def _arithmetic_numpy(x0):
    d = x0 * 3 - 7
    n = x0 * x0 + 1
    np.sum(n / d - x0)
    # d/dx (n / d - x) = 2x / d - 3 n / d^2 - 1
    return (2 * x0) / d - 3 * n / (d * d) - 1


def _activation(x):
    return (cr.relu(x * 0.5 + 0.25) * x).sum()


def _activation_numpy(x0):
    z = x0 * 0.5 + 0.25
    r = np.maximum(z, 0)
    np.sum(r * x0)
    return r + x0 * (z > 0) * 0.5


CHAINS = {
    "sum(sin(x) exp(x) x)": (_transcendental, _transcendental_numpy),
    "sum((x^2+1)/(3x-7) - x)": (_arithmetic, _arithmetic_numpy),
    "sum(relu(x/2 + 1/4) x)": (_activation, _activation_numpy),
}


RUNNERS = ("NumPy by hand", "unfused", "fused, NumPy blocks", "fused, numexpr")
OPTIONS = {"unfused": {"fuse": False}, "fused, NumPy blocks": {},
           "fused, numexpr": {"use_numexpr": True}}


def _runner(chain: str, runner: str, x0: np.ndarray):
    fn, by_hand = CHAINS[chain]
    if runner == "NumPy by hand":
        return lambda: by_hand(x0)
    compiled = cr.compile(fn, options=OPTIONS[runner])

    def run():
        x = cr.from_numpy(x0).requires_grad_()
        compiled(x).backward()
        return x.grad.numpy()

    return run


def time_one(chain: str, runner: str, size: int, threads: int, calls: int) -> float:
    """The median time of ``calls`` calls of one runner, in this process, after a check of its
    gradient against NumPy by hand."""
    cr.set_num_threads(threads)
    x0 = np.random.default_rng(0).uniform(-1, 1, size)
    run = _runner(chain, runner, x0)
    np.testing.assert_allclose(run(), CHAINS[chain][1](x0), rtol=1e-9, atol=1e-12,
                               err_msg=f"{chain}: {runner}")
    for _ in range(3):
        run()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(chain: str, size: int, threads: int, rounds: int) -> dict:
    """Each runner's time, every one in a fresh process (how much memory the allocator holds
    on to, which decides how many page faults a fresh array costs, depends on what else ran
    in the process), the runners alternating, ``rounds`` times; the median of the rounds."""
    runners = [r for r in RUNNERS if r != "fused, numexpr" or fusion.numexpr_module() is not None]
    calls = max(10, min(300, int(2e7 // size)))
    times: dict = {r: [] for r in runners}
    for _ in range(rounds):
        for runner in runners:
            out = subprocess.run([sys.executable, __file__, "--one", chain, runner, str(size),
                                  str(threads), str(calls)], capture_output=True, text=True,
                                 check=True, env=os.environ | {"PYTHONPATH": str(ROOT)})
            times[runner].append(float(out.stdout))
    return {r: statistics.median(t) for r, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one size, one round")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        chain, runner, size, threads, calls = args.one
        print(time_one(chain, runner, int(size), int(threads), int(calls)))
        return
    sizes = [262_144] if args.quick else [131_072, 1_000_000, 4_000_000]
    thread_counts = sorted({1, chainrule.threads.usable_cores()})
    print(f"NumPy {np.__version__}, numexpr "
          f"{getattr(fusion.numexpr_module(), '__version__', 'not installed')}; blocks of "
          f"{chainrule.threads.BLOCK} elements, fused from {fusion.MIN_SIZE} elements\n")
    for chain in list(CHAINS)[:1] if args.quick else CHAINS:
        print(f"{chain}, value and gradient: time / NumPy by hand")
        header = None
        for threads in thread_counts:
            for size in sizes:
                times = measure(chain, size, threads, 1 if args.quick else 3)
                base = times["NumPy by hand"]
                if header is None:
                    header = ["threads", "elements", "NumPy by hand"] + list(times)[1:]
                    print("| " + " | ".join(header) + " |")
                    print("|" + "---|" * len(header))
                cells = [str(threads), f"{size:,}", f"{base * 1e3:.3f} ms"]
                cells += [f"{times[name] / base:.2f}x" for name in list(times)[1:]]
                print("| " + " | ".join(cells) + " |", flush=True)
        print()


if __name__ == "__main__":
    main()
