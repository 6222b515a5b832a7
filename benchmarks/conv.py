"""``nn.functional.conv2d`` forward, and forward + backward, chainrule against PyTorch eager
(issue 15: a LeNet training step at most 1.5x PyTorch's time; the convolutions are most of it).

``python benchmarks/conv.py`` times, interleaved in one process and in ``run.py``'s conditions
(BLAS and PyTorch on one thread, the collector run before each sample), float32, with a bias:

  lenet-1    batch 128, 1 -> 6 channels, 5 x 5, padding 2, on 28 x 28
  lenet-2    batch 128, 6 -> 16 channels, 5 x 5, on 14 x 14
  resnet     batch 32, 64 -> 64 channels, 3 x 3, padding 1, on 32 x 32

"forward" is ``conv2d(x, w, b)`` with ``w`` and ``b`` requiring grad, and ``x`` too except in
lenet-1, whose input is the images (as in a training step); "fwd + bwd" adds ``backward`` of
``sum(y * c)`` for a fixed random ``c`` and so computes those gradients.  Before timing,
chainrule's result and gradients are checked against PyTorch's (float32, relative 1e-4).  The
table gives medians in milliseconds and chainrule's ratio to PyTorch from the same run.
``--quick`` runs tiny shapes a few times (the smoke test of ``tests/cli/test_benchmarks.py``);
without PyTorch only chainrule's times are printed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

import chainrule as cr  # noqa: E402  (run.py put the repository on the path)
import chainrule.nn.functional as F  # noqa: E402

# name: (batch, in channels, out channels, image size, kernel size, padding); the first layer's
# input is data, which needs no gradient
SHAPES = {"lenet-1": (128, 1, 6, 28, 5, 2), "lenet-2": (128, 6, 16, 14, 5, 0),
          "resnet": (32, 64, 64, 32, 3, 1)}
QUICK = {"lenet-1": (4, 1, 2, 8, 5, 2), "lenet-2": (4, 2, 3, 6, 5, 0),
         "resnet": (2, 4, 4, 6, 3, 1)}


def data(shape) -> dict:
    n, c_in, c_out, size, k, pad = shape
    rng = np.random.default_rng(15)
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
    out = size + 2 * pad - k + 1
    return {"x": x, "w": w, "b": rng.standard_normal(c_out).astype(np.float32),
            "c": rng.standard_normal((n, c_out, out, out)).astype(np.float32), "pad": pad,
            "x_grad": c_in != 1}


def implementations(d: dict, backward: bool) -> dict:
    """name -> a function returning (y, dx, dw, db) (the gradients None for the forward)."""

    def chainrule():
        x = cr.tensor(d["x"], requires_grad=d["x_grad"])
        w, b = (cr.tensor(d[k], requires_grad=True) for k in "wb")
        y = F.conv2d(x, w, b, padding=d["pad"])
        if not backward:
            return y.detach().numpy(), None, None, None
        (y * c).sum().backward()
        return (y.detach().numpy(), None if x.grad is None else x.grad.numpy(),
                w.grad.numpy(), b.grad.numpy())

    c = cr.tensor(d["c"])
    impls = {"chainrule": chainrule}
    if bench.installed("torch"):
        torch = bench._torch()
        tc = torch.tensor(d["c"])

        def pytorch():
            x = torch.tensor(d["x"], requires_grad=d["x_grad"])
            w, b = (torch.tensor(d[k], requires_grad=True) for k in "wb")
            y = torch.nn.functional.conv2d(x, w, b, padding=d["pad"])
            if not backward:
                return y.detach().numpy(), None, None, None
            (y * tc).sum().backward()
            return (y.detach().numpy(), None if x.grad is None else x.grad.numpy(),
                    w.grad.numpy(), b.grad.numpy())

        impls["torch"] = pytorch
    return impls


def agree(impls: dict, name: str) -> None:
    if "torch" not in impls:
        return
    results = zip(impls["chainrule"](), impls["torch"](), ("y", "dx", "dw", "db"))
    for ours, theirs, what in results:
        assert (ours is None) == (theirs is None), what
        if theirs is not None:
            scale = np.abs(theirs).max()
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * scale,
                                       err_msg=f"{name}: chainrule's {what} disagrees with "
                                       "PyTorch's")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="samples of each")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny shapes")
    args = parser.parse_args(argv)
    shapes, repeats = (QUICK, 3) if args.quick else (SHAPES, args.repeats)
    have_torch = bench.installed("torch")
    print(f"conv2d, float32, median of {repeats} interleaved samples, one thread"
          + ("" if have_torch else "; PyTorch not installed"))
    print(f"{'':10s}{'':10s}{'chainrule':>14s}{'PyTorch':>14s}{'ratio':>10s}")
    for name, shape in shapes.items():
        d = data(shape)
        for backward in (False, True):
            impls = implementations(d, backward)
            agree(impls, name)
            times = bench.time_interleaved(impls, repeats)
            median = {key: statistics.median(t) * 1e3 for key, t in times.items()}
            mode = "fwd + bwd" if backward else "forward"
            theirs = f"{median['torch']:11.2f} ms" if have_torch else f"{'-':>14s}"
            ratio = (f"{median['chainrule'] / median['torch']:9.2f}x" if have_torch
                     else f"{'-':>10s}")
            print(f"{name:10s}{mode:10s}{median['chainrule']:11.2f} ms{theirs}{ratio}")


if __name__ == "__main__":
    main()
