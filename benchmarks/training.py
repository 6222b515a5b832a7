"""One epoch of the digits MLP of ``chainrule train``, chainrule against PyTorch eager, and
the peak memory of one training step (issue 15's speed targets: the epoch at most 1.0x
PyTorch's time, the step's peak memory at most PyTorch's).

Run ``python benchmarks/training.py`` (``--quick`` for a smoke run that checks, never times
seriously).  Conditions are ``run.py``'s (its timing loop is reused): BLAS and PyTorch pinned
to one thread, the frameworks timed in turn (interleaved), a full collection before each
sample, medians and interquartile ranges, chainrule's ratio to PyTorch from the same run.

The workload, the same in both frameworks:

- the data: scikit-learn's 8 x 8 digits, float32 in [0, 1], 1,258 training images (the 70% of
  ``chainrule train``'s split; seeded random images of the same shape when scikit-learn is
  missing, which changes nothing in the timing);
- the model: ``Flatten -> Linear(64, 128) -> ReLU -> Dropout(0.2) -> Linear(128, 10)``,
  cross-entropy, SGD (lr 0.05, momentum 0.9), batches of 32 in one fixed shuffled order;
- **epoch**: each framework's own ``DataLoader`` over a ``TensorDataset`` (a sampler gives the
  fixed order), and per batch ``zero_grad``, forward, loss, backward, ``step``: what a user's
  loop costs, data loading included;
- **steps only**: the same steps on batches made beforehand (the frameworks without their
  data loaders).

Before timing, the two must compute the same thing: PyTorch's initial weights are loaded into
chainrule's model with ``load_state_dict``, both run the epoch in float64 with dropout off
(``eval()``), and every step's loss must agree to 1e-9.

Peak memory of one step (forward, loss, backward, optimiser step, after ``zero_grad`` and
warm-up steps, so that momentum buffers exist and gradients do not): for chainrule the peak
that ``tracemalloc`` traces during the step, which counts NumPy's array buffers *and* every
Python object (tensors, nodes, lists).  PyTorch allocates outside Python's allocator, so
tracemalloc sees none of its tensors; its figure is the peak of the running sum of the
allocations and frees its own CPU allocator reports to ``torch.profiler``
(``profile_memory=True``), which counts tensor storage only, not the C++ autograd nodes.  The
comparison therefore leans against chainrule.  (The alternative, the process's peak RSS in
fresh subprocesses, moves in pages and allocator arenas, coarser than this step's 100 KB.)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _torch, peak_memory, time_interleaved  # noqa: E402

import chainrule as cr  # noqa: E402  (run.py put this checkout first on the path)

BATCH, LR, MOMENTUM, N_TRAIN = 32, 0.05, 0.9, 1258


def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The training images (N, 64) float32 and labels (N,) int64."""
    if importlib.util.find_spec("sklearn") is not None:
        from sklearn.datasets import load_digits

        d = load_digits()
        images, labels = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    else:
        rng = np.random.default_rng(seed)
        images = rng.random((1797, 64), dtype=np.float32)
        labels = rng.integers(0, 10, 1797)
    keep = np.random.default_rng(seed).permutation(len(labels))[:N_TRAIN]
    return images[keep], labels[keep]


def order(seed: int = 1) -> list[int]:
    """The epoch's sample order (one shuffle, the same for both frameworks)."""
    return np.random.default_rng(seed).permutation(N_TRAIN).tolist()


def models(torch, dtype):
    """The MLP in both frameworks, with PyTorch's initial weights loaded into chainrule's."""
    torch.manual_seed(0)
    ours = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(64, 128), cr.nn.ReLU(),
                            cr.nn.Dropout(0.2), cr.nn.Linear(128, 10))
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 128),
                                 torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                 torch.nn.Linear(128, 10)).to(getattr(torch, dtype))
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours.to(getattr(cr, dtype)), theirs


class Trainer:
    """One framework's model, optimiser, loader and pre-made batches (``lib`` is chainrule or
    torch: the two share every name used here)."""

    def __init__(self, lib, net, images, labels, sample_order):
        self.lib, self.net = lib, net
        self.opt = lib.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        data = lib.utils.data
        dataset = data.TensorDataset(lib.tensor(images), lib.tensor(labels))
        self.loader = data.DataLoader(dataset, batch_size=BATCH, sampler=sample_order)
        self.batches = list(self.loader)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = self.lib.nn.functional.cross_entropy(self.net(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def epoch(self):
        return [self.step(x, y) for x, y in self.loader]

    def steps(self):
        return [self.step(x, y) for x, y in self.batches]

    def one_step_after_zero_grad(self):
        """What the memory figure measures: the step with gradients already released."""
        x, y = self.batches[0]
        self.opt.zero_grad()
        return lambda: self.step(x, y)


def check_same_losses(torch, images, labels, sample_order) -> float:
    """Both frameworks, float64, dropout off, from the same weights: every step's loss equal.
    Returns the largest relative difference."""
    ours, theirs = models(torch, "float64")
    ours.eval()
    theirs.eval()
    a = Trainer(cr, ours, images.astype(np.float64), labels, sample_order).epoch()
    b = Trainer(torch, theirs, images.astype(np.float64), labels, sample_order).epoch()
    a = np.array([loss.item() for loss in a])
    b = np.array([loss.item() for loss in b])
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert a[-1] < a[0] / 3, "the check's epoch did not train"
    return float(np.max(np.abs(a - b) / np.abs(b)))


def torch_peak_memory(torch, fn) -> int:
    """Peak bytes of PyTorch's CPU allocator during ``fn``: the running sum of the allocations
    and frees ``torch.profiler`` records (blocks freed that were allocated before are not
    reported, which is why the gradients must not exist when ``fn`` starts)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    total = peak = 0
    for e in events:
        total += e.nbytes()
        peak = max(peak, total)
    return peak


def summary(times: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return statistics.median(times), q[2] - q[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (3 repeats)")
    parser.add_argument("--repeats", type=int, default=None, help="samples per framework")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 21)
    if importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed (pip install torch): nothing to compare with")
        return 0
    torch = _torch()
    images, labels = digits()
    sample_order = order()
    difference = check_same_losses(torch, images, labels, sample_order)
    print(f"digits MLP 64-128-10 (dropout 0.2), batch {BATCH}, SGD lr {LR} momentum "
          f"{MOMENTUM}, {N_TRAIN} images ({len(range(0, N_TRAIN, BATCH))} steps an epoch); "
          f"chainrule from this checkout, PyTorch {torch.__version__}, one "
          f"thread; {repeats} interleaved samples")
    print(f"check: the same weights give the same loss at every step of an epoch in float64 "
          f"(largest relative difference {difference:.1e})")
    ours, theirs = models(torch, "float32")
    trainers = {"chainrule": Trainer(cr, ours, images, labels, sample_order),
                "torch": Trainer(torch, theirs, images, labels, sample_order)}
    for t in trainers.values():
        t.net.train()
        t.epoch()  # warm up: momentum buffers, caches
    fns = {f"{key}/{part}": getattr(t, part) for part in ("epoch", "steps")
           for key, t in trainers.items()}
    times = time_interleaved(fns, repeats)
    print(f"\n{'':12}{'chainrule (ms)':>18}{'PyTorch eager (ms)':>22}{'ratio':>8}  target")
    for part, target in (("epoch", "<= 1.0x"), ("steps", "")):
        (c, c_iqr), (t, t_iqr) = (summary(times[f"{k}/{part}"]) for k in ("chainrule", "torch"))
        label = "epoch" if part == "epoch" else "steps only"
        print(f"{label:12}{c * 1e3:>10.2f} ± {c_iqr * 1e3:<5.2f}{t * 1e3:>14.2f} ± "
              f"{t_iqr * 1e3:<5.2f}{c / t:>7.2f}x  {target}")
    ours_peak = peak_memory(trainers["chainrule"].one_step_after_zero_grad())
    theirs_peak = torch_peak_memory(torch, trainers["torch"].one_step_after_zero_grad())
    print(f"\npeak memory of one step: chainrule {ours_peak / 1024:.1f} KiB (tracemalloc: "
          f"arrays and Python objects), PyTorch {theirs_peak / 1024:.1f} KiB (its CPU "
          f"allocator, tensors only): {ours_peak / theirs_peak:.2f}x (target <= 1.0x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
