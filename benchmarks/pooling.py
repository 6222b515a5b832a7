"""Pooling, chainrule against PyTorch eager (CPU): ``max_pool2d`` and ``avg_pool2d``, forward
and forward + backward, at LeNet's shapes (2x2, stride 2, on batch 128 of 6 x 28 x 28 and of
16 x 10 x 10) and ResNet's stem (3x3, stride 2, padding 1, on batch 32 of 64 x 56 x 56), in
float32.  Issue 15's target is a LeNet step within 1.5x PyTorch's, so pooling should be too.

As ``run.py``: BLAS and PyTorch pinned to one thread; both frameworks first checked to give
the same values and input gradients, then timed interleaved (``run.time_interleaved``: warm-up,
collector frozen and run between samples), medians with the interquartile range, and the ratio
chainrule / PyTorch from the same run.  Forward passes take an input that requires grad (as in
training: PyTorch then also computes its indices); backward passes a fixed random cotangent.

    python benchmarks/pooling.py [--repeats 21] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (pins the threads, puts the repository on the path)

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402

# name: (input shape, pooling, its arguments)
WORKLOADS = {
    "LeNet max 2x2 (128, 6, 28, 28)": ((128, 6, 28, 28), "max_pool2d", (2,)),
    "LeNet avg 2x2 (128, 6, 28, 28)": ((128, 6, 28, 28), "avg_pool2d", (2,)),
    "LeNet max 2x2 (128, 16, 10, 10)": ((128, 16, 10, 10), "max_pool2d", (2,)),
    "LeNet avg 2x2 (128, 16, 10, 10)": ((128, 16, 10, 10), "avg_pool2d", (2,)),
    "ResNet stem max 3x3/2 pad 1 (32, 64, 56, 56)": ((32, 64, 56, 56), "max_pool2d", (3, 2, 1)),
}


def _calls(torch, shape, pool, args, seed):
    """(chainrule forward, chainrule forward + backward, PyTorch's two), on the same data;
    each checked against the other first."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape).astype(np.float32)
    x_c, x_t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    pool_c, pool_t = getattr(F, pool), getattr(torch.nn.functional, pool)
    out = pool_c(x_c, *args)
    g = rng.standard_normal(out.shape).astype(np.float32)
    g_c, g_t = cr.tensor(g), torch.tensor(g)

    def forward_c():
        return pool_c(x_c, *args)

    def forward_t():
        return pool_t(x_t, *args)

    def both_c():
        x_c.grad = None
        forward_c().backward(g_c)

    def both_t():
        x_t.grad = None
        forward_t().backward(g_t)

    np.testing.assert_allclose(forward_c().detach().numpy(), forward_t().detach().numpy(),
                               rtol=1e-6, atol=1e-6, err_msg=f"{pool}{args}: values differ")
    both_c()
    both_t()
    np.testing.assert_allclose(x_c.grad.numpy(), x_t.grad.numpy(), rtol=1e-6, atol=1e-6,
                               err_msg=f"{pool}{args}: input gradients differ")
    return forward_c, both_c, forward_t, both_t


def _summary(times: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(times, n=4)
    return f"{median * 1e3:.2f} ± {(q3 - q1) * 1e3:.2f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats on batch 4 (a smoke test of the checks)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with")
        return
    torch.set_num_threads(1)
    repeats = 3 if args.quick else args.repeats
    print(f"chainrule vs PyTorch {torch.__version__} (CPU, 1 thread), NumPy {np.__version__}, "
          f"float32, medians ± IQR of {repeats} interleaved samples (ms)\n")
    print("| workload | pass | chainrule | PyTorch | chainrule / PyTorch |")
    print("|---|---|---|---|---|")
    for seed, (name, (shape, pool, pool_args)) in enumerate(WORKLOADS.items()):
        if args.quick:
            shape = (4,) + shape[1:]
        forward_c, both_c, forward_t, both_t = _calls(torch, shape, pool, pool_args, seed)
        times = run.time_interleaved({"fc": forward_c, "ft": forward_t, "bc": both_c,
                                      "bt": both_t}, repeats)
        for label, ours, theirs in (("forward", "fc", "ft"), ("forward + backward", "bc", "bt")):
            ratio = statistics.median(times[ours]) / statistics.median(times[theirs])
            print(f"| {name} | {label} | {_summary(times[ours])} | {_summary(times[theirs])} "
                  f"| {ratio:.2f}x |")


if __name__ == "__main__":
    main()
