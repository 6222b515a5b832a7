"""Where the MLP step's gap to NumPy by hand comes from: the engine, or the NumPy calls it makes.

``python benchmarks/mlp_gap.py`` times, interleaved in one process and in ``run.py``'s
conditions (BLAS on one thread, a full garbage collection before each sample):

* the MLP step of ``run.py`` (784-512-512-10, batch 128, float32) by chainrule and by hand;
* a replay: the NumPy calls chainrule's engine makes for that step, written out with no engine;
* the same three on a tiny MLP (8-6-6-3, batch 4), each run after one of the big step's matrix
  products (so that they find the caches as the big step leaves them).

chainrule minus the replay is what the engine adds to the step; on the tiny MLP, where the
arrays cost next to nothing, the same difference is the engine's Python bookkeeping for this
graph (9 nodes, 6 leaves, 6 updates).  When the two differences match, the gap is bookkeeping
whose cost does not depend on the arrays' size.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402


def replay(sizes, batch):
    """chainrule's NumPy calls for one step (forward, backward, update), without the engine."""
    arrays, x, _, labels = bench._mlp_data(sizes, batch)
    params = [a.copy() for a in arrays]

    def step():
        w0, b0, w1, b1, w2, b2 = params
        h1 = np.maximum(x @ w0 + b0, 0)
        h2 = np.maximum(h1 @ w1 + b1, 0)
        z = h2 @ w2 + b2
        # SoftmaxCrossEntropy's forward, with the mean over samples
        top = np.maximum.reduce(z, axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        shifted = z - top
        lse = np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
        picked = shifted[np.arange(len(labels)), labels]
        np.add.reduce(lse.reshape(picked.shape) - picked, axis=None) * np.float32(1 / batch)
        # its rule: softmax(z) - onehot, times the seed over the batch
        e = np.exp(z - np.maximum.reduce(z, axis=1, keepdims=True))
        s = e / np.add.reduce(e, axis=1, keepdims=True)
        s[np.arange(len(labels)), labels] -= 1
        g = s * (np.ones((), np.float32) * (1 / batch))
        # Add, Mm and Relu rules, layer by layer; the biases' gradients are copied at the leaf
        grads = [None] * 6
        for i, (h, w) in ((4, (h2, w2)), (2, (h1, w1)), (0, (x, w0))):
            grads[i + 1] = np.array(np.add.reduce(g, axis=(0,)))
            grads[i] = np.transpose(h) @ g
            if i:
                g = g @ np.transpose(w)
                g = np.multiply(g, h > 0, out=g)
        for p, gp in zip(params, grads):
            p -= bench.LEARNING_RATE * gp
        return grads

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=150, help="samples of each step")
    args = parser.parse_args(argv)
    impls = bench.WORKLOADS["mlp-step"].impls
    big, tiny = ((784, 512, 512, 10), 128), ((8, 6, 6, 3), 4)
    steps = {}
    for label, size in (("big", big), ("tiny", tiny)):
        steps[f"{label} chainrule"] = impls["chainrule"](*size)
        steps[f"{label} replay"] = replay(*size)
        steps[f"{label} numpy"] = impls["numpy"](*size)
    rng = np.random.default_rng(0)
    a, w = (rng.standard_normal(s).astype(np.float32) for s in ((128, 784), (784, 512)))
    np.testing.assert_allclose(steps["big replay"]()[0], steps["big chainrule"]()[0].numpy(),
                               rtol=1e-4, atol=1e-6)  # the replay does chainrule's work
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for k in range(args.repeats):
        for name in names if k % 2 else names[::-1]:
            if name.startswith("tiny"):
                a @ w  # one of the big step's products: what it leaves in the caches
            gc.collect()
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    warm_up = min(10, args.repeats // 2)  # samples left out of the medians
    us = {name: statistics.median(t[warm_up:]) * 1e6 for name, t in times.items()}
    for name, t in us.items():
        print(f"{name:15s} {t:8.1f} µs")
    print(f"big step: chainrule / NumPy by hand {us['big chainrule'] / us['big numpy']:.3f}x, "
          f"replay / NumPy by hand {us['big replay'] / us['big numpy']:.3f}x")
    big_share = us["big chainrule"] - us["big replay"]
    tiny_share = us["tiny chainrule"] - us["tiny replay"]
    print(f"engine's share (chainrule - replay): big step {big_share:.0f} µs, "
          f"tiny step {tiny_share:.0f} µs")


if __name__ == "__main__":
    main()
