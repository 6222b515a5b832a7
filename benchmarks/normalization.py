"""Normalisation layers, forward and backward, in float32: chainrule against hand-written NumPy
and PyTorch eager (issue 15).

``python benchmarks/normalization.py`` times, interleaved in one process and in ``run.py``'s
conditions (BLAS and PyTorch on one thread, the collector run before each sample), the
forward pass of a layer in training mode plus the backward pass of ``sum(y * G)`` (G a fixed
random array), for:

  batchnorm2d  BatchNorm2d(64) on (32, 64, 32, 32): batch statistics, running statistics updated
  layernorm    LayerNorm(128) on (32, 35, 128)
  groupnorm    GroupNorm(8, 64) on (32, 64, 16, 16)

and in training mode throughout; LayerNorm and GroupNorm also compiled (``compile(layer)``,
issue 18; BatchNorm's update of its running statistics would run eagerly).
"NumPy by hand" is the fused closed form a hand-written layer would use (the standardisation
and the gradient ``r (g w - mean(g w) - x̂ mean(g w x̂))``, no graph): the bound that
chainrule's ``standardize`` primitive (``chainrule/rules/reductions.py``) and its affine step
approach.  Every framework's outputs and gradients (input, weight, bias) are checked against
it before timing; the medians and chainrule's ratios come from the same run.  ``--quick`` runs
tiny sizes a few times (the smoke test of ``tests/cli/test_benchmarks.py``).
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

EPS = 1e-5
# layer: (input shape, full run; input shape, quick run)
LAYERS = {
    "batchnorm2d": ((32, 64, 32, 32), (4, 3, 2, 2)),
    "layernorm": ((32, 35, 128), (2, 3, 8)),
    "groupnorm": ((32, 64, 16, 16), (2, 8, 2, 2)),
}


def data(shape: tuple) -> dict:
    rng = np.random.default_rng(15)
    x = (rng.standard_normal(shape) * 2.0 + 0.5).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    c = shape[1] if len(shape) == 4 else shape[-1]
    w = rng.standard_normal(c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    return {"x": x, "g": g, "w": w, "b": b}


def _layout(name: str, shape: tuple):
    """(the dims reduced over, after a reshape to ``view``; the parameters' broadcast shape)."""
    if name == "batchnorm2d":
        return (0, 2, 3), shape, (1, shape[1], 1, 1)
    if name == "layernorm":
        return (2,), shape, (shape[-1],)
    return (2, 3, 4), (shape[0], 8, shape[1] // 8) + shape[2:], (1, shape[1], 1, 1)


# --------------------------------------------------------------------------------------------
# hand-written NumPy: the fused forward and the closed-form backward


def numpy_layer(name: str, d: dict):
    x, g = d["x"], d["g"]
    dims, view, pshape = _layout(name, x.shape)
    w, b = d["w"].reshape(pshape), d["b"].reshape(pshape)
    xv = x.reshape(view)
    mean = xv.mean(axis=dims, keepdims=True)
    centred = xv - mean
    r = 1.0 / np.sqrt(np.mean(centred * centred, axis=dims, keepdims=True) + EPS)
    xhat = (centred * r).reshape(x.shape)
    y = xhat * w + b
    param_dims = tuple(i for i, n in enumerate(pshape) if n == 1) if len(pshape) > 1 \
        else tuple(range(x.ndim - 1))
    gb = g.sum(axis=param_dims)
    gw = (g * xhat).sum(axis=param_dims)
    gh = (g * w).reshape(view)
    xh = xhat.reshape(view)
    gx = r * (gh - gh.mean(axis=dims, keepdims=True)
              - xh * (gh * xh).mean(axis=dims, keepdims=True))
    return y, gx.reshape(x.shape), gw.reshape(-1), gb.reshape(-1)


def _module(m, name: str, shape: tuple):
    if name == "batchnorm2d":
        return m.BatchNorm2d(shape[1])
    if name == "layernorm":
        return m.LayerNorm(shape[-1])
    return m.GroupNorm(8, shape[1])


def _layer(lib, name: str, shape: tuple, d: dict):
    """The layer in ``lib`` (chainrule or PyTorch, which share the interface), its weight and
    bias set to ``d``'s."""
    layer = _module(lib.nn, name, shape)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(d["w"]))
        layer.bias.copy_(lib.tensor(d["b"]))
    return layer


def _step(lib, layer, call, d: dict):
    """Forward (``call``: the layer, or it compiled) and backward of ``sum(y * G)``; returns
    the output and the input's, weight's and bias's gradients."""
    g = lib.tensor(d["g"])

    def step():
        x = lib.tensor(d["x"], requires_grad=True)
        layer.weight.grad = layer.bias.grad = None
        y = call(x)
        y.backward(g)
        return y.detach().numpy(), x.grad.numpy(), layer.weight.grad.numpy(), \
            layer.bias.grad.numpy()

    return step


def implementations(name: str, shape: tuple) -> dict:
    d = data(shape)
    impls = {"numpy": lambda: numpy_layer(name, d)}
    layer = _layer(cr, name, shape, d)
    impls["chainrule"] = _step(cr, layer, layer, d)
    if name != "batchnorm2d":  # (its update of the running statistics runs eagerly)
        impls["compiled"] = _step(cr, layer, cr.compile(layer), d)
    if bench.installed("torch"):
        torch = bench._torch()
        tlayer = _layer(torch, name, shape, d)
        impls["torch"] = _step(torch, tlayer, tlayer, d)
    return impls


LABELS = {"numpy": "NumPy by hand", "chainrule": "chainrule", "compiled": "compile(layer)",
          "torch": "PyTorch"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="samples of each layer")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes, 3 samples")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    missing = [LABELS[k] for k in ("torch",) if not bench.installed(k)]
    print(f"normalisation layers, float32, forward (training) + backward, median of {repeats} "
          "interleaved samples, one thread" +
          (f"; not installed: {', '.join(missing)}" if missing else ""))
    header = f"{'':12s}" + "".join(f"{LABELS[k]:>16s}" for k in LABELS)
    print(header + "   chainrule / PyTorch   chainrule / NumPy")
    for name, (full, tiny) in LAYERS.items():
        impls = implementations(name, tiny if args.quick else full)
        expected = impls["numpy"]()
        for key, fn in impls.items():
            fn()  # (a compiled layer's first call traces: the replays are checked and timed)
            for got, want, what in zip(fn(), expected, ("output", "input's gradient",
                                                        "weight's gradient", "bias's gradient")):
                np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3, err_msg=(
                    f"{name}: {LABELS[key]}'s {what} disagrees with NumPy's"))
        times = bench.time_interleaved(impls, repeats)
        median = {key: statistics.median(t) for key, t in times.items()}
        cells = "".join(f"{median[k] * 1e3:13.2f} ms" if k in median else f"{'-':>16s}"
                        for k in LABELS)
        ratios = "".join(f"{median['chainrule'] / median[k]:>20.2f}x" if k in median
                         else f"{'-':>21s}" for k in ("torch", "numpy"))
        print(f"{name:12s}{cells}{ratios}")


if __name__ == "__main__":
    main()
