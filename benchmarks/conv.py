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
table gives medians ± interquartile ranges in milliseconds and chainrule's ratio to PyTorch
from the same run.

``lenet-step`` is issue 15's workload itself: one training step of d2l's LeNet (``Conv2d(1, 6,
5, padding=2)``, ``Sigmoid``, ``AvgPool2d(2, 2)``, ``Conv2d(6, 16, 5)``, ``Sigmoid``,
``AvgPool2d(2, 2)``, ``Flatten``, ``Linear(400, 120)``, ``Sigmoid``, ``Linear(120, 84)``,
``Sigmoid``, ``Linear(84, 10)``), ``CrossEntropyLoss``, SGD (lr 0.9, d2l's), on a batch of 128
float32 28 x 28 images: ``zero_grad``, forward, loss, backward, ``step``, built from each
framework's modules.  PyTorch's initial weights are loaded into chainrule's model, and before
timing one step of each must give the same loss and the same updated weights (float32,
relative 1e-4).  Both then keep training on the same fixed batch while they are timed.

``--quick`` runs tiny shapes (and a LeNet batch of 4) a few times (the smoke test of
``tests/cli/test_benchmarks.py``); without PyTorch only chainrule's times are printed.
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


LENET_BATCH, LENET_QUICK_BATCH, LENET_LR = 128, 4, 0.9


def lenet(lib):
    """d2l's LeNet (chapter 7.6) in ``lib`` (chainrule or torch: the names are the same)."""
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                         nn.Linear(84, 10))


class LeNetStep:
    """One framework's LeNet, loss, optimiser and fixed batch; ``step()`` is what is timed."""

    def __init__(self, lib, net, images, labels):
        self.net, self.loss = net, lib.nn.CrossEntropyLoss()
        self.opt = lib.optim.SGD(net.parameters(), lr=LENET_LR)
        self.x, self.y = lib.tensor(images), lib.tensor(labels)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss(self.net(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def weights(self) -> dict:
        return {k: v.detach().numpy().copy() for k, v in self.net.state_dict().items()}


def lenet_steps(batch: int) -> dict:
    """name -> a LeNetStep, from the same initial weights where PyTorch is installed."""
    rng = np.random.default_rng(15)
    images = rng.random((batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    ours = lenet(cr)
    steps = {}
    if bench.installed("torch"):
        torch = bench._torch()
        torch.manual_seed(0)
        theirs = lenet(torch)
        ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                              theirs.state_dict().items()})
        steps["torch"] = LeNetStep(torch, theirs, images, labels)
    steps["chainrule"] = LeNetStep(cr, ours, images, labels)
    return steps


def lenet_agree(steps: dict) -> None:
    """One step of each from the same weights: the same loss, the same updated weights."""
    if "torch" not in steps:
        return
    losses = {key: s.step().item() for key, s in steps.items()}
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], rtol=1e-4,
                               err_msg="lenet-step: the losses disagree")
    ours, theirs = steps["chainrule"].weights(), steps["torch"].weights()
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-4, atol=1e-4 * np.abs(value).max(),
                                   err_msg=f"lenet-step: the updated {key} disagrees")


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
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these workloads only "
                        f"(of {', '.join(SHAPES)}, lenet-step)")
    args = parser.parse_args(argv)
    shapes, repeats = (QUICK, 3) if args.quick else (SHAPES, args.repeats)
    have_torch = bench.installed("torch")
    print(f"conv2d, float32, median of {repeats} interleaved samples, one thread"
          + ("" if have_torch else "; PyTorch not installed"))
    print(f"{'':22s}{'chainrule (ms)':>17s}{'PyTorch (ms)':>17s}{'ratio':>9s}")
    only = set(args.only or [*SHAPES, "lenet-step"])
    for name, shape in shapes.items():
        if name not in only:
            continue
        d = data(shape)
        for backward in (False, True):
            impls = implementations(d, backward)
            agree(impls, name)
            times = bench.time_interleaved(impls, repeats)
            report(name, "fwd + bwd" if backward else "forward", times, have_torch)
    if "lenet-step" not in only:
        return
    steps = lenet_steps(LENET_QUICK_BATCH if args.quick else LENET_BATCH)
    lenet_agree(steps)
    times = bench.time_interleaved({key: s.step for key, s in steps.items()}, repeats)
    report("lenet-step", "train", times, have_torch)


def report(name: str, mode: str, times: dict, have_torch: bool) -> None:
    """One row: chainrule's median and interquartile range, PyTorch's, and the ratio of the
    medians (from the same run)."""
    def cell(t):
        q = statistics.quantiles(t, n=4) if len(t) > 1 else [t[0]] * 3
        return f"{statistics.median(t) * 1e3:9.2f} ± {(q[2] - q[0]) * 1e3:<5.2f}"

    ours = times["chainrule"]
    theirs = cell(times["torch"]) if have_torch else f"{'-':>17s}"
    ratio = (f"{statistics.median(ours) / statistics.median(times['torch']):8.2f}x"
             if have_torch else f"{'-':>9s}")
    print(f"{name:12s}{mode:10s}{cell(ours)}{theirs}{ratio}")


if __name__ == "__main__":
    main()
