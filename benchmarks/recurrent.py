"""An LSTM training step: chainrule, eager and compiled, against PyTorch eager and hand-written
NumPy (issues 15 and 18).

``python benchmarks/recurrent.py`` (``--quick`` for a smoke run that checks the gradients and
times a few samples) builds one LSTM layer (input 28 and 128, hidden 128, sequence 35, batch
32, float32), with the same weights in every framework, and times a training step: forward,
the loss ``mean(output ** 2)``, backward and an SGD step.  As ``run.py`` (whose harness it
uses): BLAS and PyTorch pinned to one thread, every framework's gradients checked against
hand-written NumPy before timing, then samples interleaved, a full collection before each;
medians ± interquartile range, and chainrule's ratio to PyTorch in the same run (issue 15's
target: at most 1.3x).

Hand-written NumPy is the floor: one product for the input projections of all steps, one
product with the hidden state per step, the gates written out, and the backward pass through
time with the weight gradients of all steps as single products at the end.
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

import chainrule as cr  # noqa: E402

LEARNING_RATE = 0.01
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _data(inputs: int, hidden: int, length: int, batch: int):
    """Seeded weights (PyTorch's initialisation's range) and inputs, float32."""
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(hidden)
    shapes = ((4 * hidden, inputs), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,))
    weights = [rng.uniform(-bound, bound, s).astype(np.float32) for s in shapes]
    x = rng.standard_normal((length, batch, inputs)).astype(np.float32)
    return weights, x


def _sigmoid(x):
    return 0.5 * np.tanh(0.5 * x) + 0.5


def numpy_step(inputs, hidden, length, batch):
    """Forward, backward through time and SGD by hand; returns the gradients."""
    weights, x = _data(inputs, hidden, length, batch)
    w_ih, w_hh, b_ih, b_hh = params = [w.copy() for w in weights]
    size = hidden
    rows = x.reshape(length * batch, inputs)

    def step():
        xp = rows @ w_ih.T + (b_ih + b_hh)
        h = np.zeros((batch, size), np.float32)
        c = np.zeros((batch, size), np.float32)
        hs, cs, acts, tcs = [h], [c], [], []
        for t in range(length):
            gates = xp[t * batch:(t + 1) * batch] + h @ w_hh.T
            act = _sigmoid(gates)
            act[:, 2 * size:3 * size] = np.tanh(gates[:, 2 * size:3 * size])
            i, f, g, o = (act[:, k * size:(k + 1) * size] for k in range(4))
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            hs.append(h)
            cs.append(c)
            acts.append(act)
            tcs.append(tc)
        out = np.stack(hs[1:])
        # loss = mean(out^2); d loss / d out = 2 out / size
        d_out = out * np.float32(2 / out.size)
        d_gates = np.empty((length * batch, 4 * size), np.float32)
        dh = np.zeros((batch, size), np.float32)
        dc = np.zeros((batch, size), np.float32)
        for t in reversed(range(length)):
            act, tc = acts[t], tcs[t]
            i, f, g, o = (act[:, k * size:(k + 1) * size] for k in range(4))
            dh = dh + d_out[t]
            dc = dc + dh * o * (1 - tc * tc)
            d = d_gates[t * batch:(t + 1) * batch]
            d[:, :size] = dc * g * i * (1 - i)
            d[:, size:2 * size] = dc * cs[t] * f * (1 - f)
            d[:, 2 * size:3 * size] = dc * i * (1 - g * g)
            d[:, 3 * size:] = dh * tc * o * (1 - o)
            dc = dc * f
            dh = d @ w_hh
        h_prev = np.concatenate(hs[:-1])
        d_bias = d_gates.sum(0)
        grads = [d_gates.T @ rows, d_gates.T @ h_prev, d_bias, d_bias.copy()]
        for p, g in zip(params, grads):
            p -= LEARNING_RATE * g
        return grads

    return step


def _lstm(lib, module, sizes):
    """The layer (``module.LSTM``, chainrule's or PyTorch's) with the shared weights, its
    parameters in ``NAMES``' order, and the input as a tensor of ``lib``."""
    inputs, hidden, length, batch = sizes
    weights, x = _data(inputs, hidden, length, batch)
    lstm = module.LSTM(inputs, hidden)
    lstm.load_state_dict({n: lib.tensor(w.copy()) for n, w in zip(NAMES, weights)})
    return lstm, [getattr(lstm, n) for n in NAMES], lib.tensor(x)


def _eager(lib, module):
    """One runner for chainrule and PyTorch, which share the interface."""

    def make(*sizes):
        lstm, params, xt = _lstm(lib, module, sizes)
        return _step(lib, lstm, params, xt)

    return make


def _step(lib, lstm, params, xt):
    """The step of chainrule and PyTorch eager: forward, ``backward()``, SGD."""

    def step():
        out, _ = lstm(xt)
        loss = (out * out).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
        return [p.grad for p in params]

    return step


def _compiled(whole_step: bool):
    """chainrule compiled (issue 18): the LSTM module compiled with the step around it eager
    (``compile(lstm)``, ``loss.backward()`` outside), or the whole step one compiled function
    (the gradients by ``autograd.grad`` inside it, the SGD update in place under ``no_grad``;
    its first call traces)."""

    def make(*sizes):
        lstm, params, xt = _lstm(cr, cr.nn, sizes)
        if not whole_step:
            return _step(cr, cr.compile(lstm), params, xt)

        @cr.compile
        def step(x):
            out, _ = lstm(x)
            grads = cr.autograd.grad((out * out).mean(), params)
            with cr.no_grad():
                for p, g in zip(params, grads):
                    p -= LEARNING_RATE * g
            return grads

        return lambda: step(xt)

    return make


def _torch_make(*sizes):
    torch = bench._torch()
    return _eager(torch, torch.nn)(*sizes)


FRAMEWORKS = {"numpy": numpy_step, "chainrule": _eager(cr, cr.nn),
              "compiled module": _compiled(whole_step=False),
              "compiled step": _compiled(whole_step=True), "torch": _torch_make}
LABELS = {"compiled module": "compile(lstm)", "compiled step": "compiled step"}
SIZES = {"input 28": (28, 128, 35, 32), "input 128": (128, 128, 35, 32)}
TINY = (3, 4, 5, 2)


def _installed(key: str) -> bool:
    return key in LABELS or bench.installed(key)


def check(sizes) -> dict:
    """Every framework's runner, after its second step's gradients agreed with hand-written
    NumPy's (float32): a compiled runner's first call traces, so the second is a replay (each
    step updates its own weights, the same way)."""
    runs = {k: make(*sizes) for k, make in FRAMEWORKS.items() if _installed(k)}
    steps = {key: [step(), step()] for key, step in runs.items()}
    for key, (_, second) in steps.items():
        if key == "numpy":
            continue
        for got, want, name in zip(bench._arrays(second), steps["numpy"][1], NAMES):
            np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-5,
                                       err_msg=f"{key} disagrees with NumPy on {name}")
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="check, and time 3 samples")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    check(TINY)
    print(bench.header(("numpy", "chainrule", "compiled", "torch")))
    for label, sizes in SIZES.items():
        times = bench.time_interleaved(check(sizes), repeats)
        med = {k: statistics.median(t) for k, t in times.items()}
        print(f"\nLSTM step, {label}, hidden {sizes[1]}, sequence {sizes[2]}, batch {sizes[3]}, "
              "float32 (forward, backward, SGD)")
        for key, samples in times.items():
            median, iqr = bench._summary(samples)
            name = LABELS.get(key) or bench.FRAMEWORKS[key].label
            line = f"  {name:14s} {bench._fmt(median):>9s} ± " \
                   f"{bench._fmt(iqr):>9s}   {median / med['numpy']:.2f}x NumPy by hand"
            if key in LABELS:
                line += f", {median / med['chainrule']:.2f}x chainrule eager"
            print(line)
        if "torch" in med:
            print(f"  chainrule / PyTorch: {med['chainrule'] / med['torch']:.2f}x "
                  "(target <= 1.3x)")


if __name__ == "__main__":
    main()
