"""The gradient of a scalar loss through ``svd``, ``qr`` and ``eigh`` of a 100 x 100 float64
matrix: chainrule against hand-written NumPy, HIPS autograd and PyTorch (issue 14's target:
chainrule within 1.3x of HIPS autograd).

``python benchmarks/linalg_gradients.py`` times, interleaved in one process and in ``run.py``'s
conditions (BLAS and PyTorch on one thread, the collector run before each sample), the forward
decomposition plus the backward pass of each loss:

  svd   sum(W1 * U * U) + sum(w * S) + sum(W2 * Vh * Vh), the reduced SVD of A
  qr    sum(W1 * Q * Q) + sum(W2 * R * R), the reduced QR of A
  eigh  sum(w * L) + sum(W * V * V), the eigendecomposition of A + A^T

(losses that do not depend on the signs LAPACK gives the vectors, so that every framework
computes the same gradient: each is checked against the hand-written NumPy one before timing).
HIPS autograd has no derivative of ``qr``, so that row has no HIPS ratio; a framework that is
not installed is left out.  The medians and chainrule's ratios to the others come from the
same run.  ``--quick`` runs a tiny size a few times (the smoke test of
``tests/cli/test_benchmarks.py``).
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

DECOMPOSITIONS = ("svd", "qr", "eigh")


def data(n: int) -> dict:
    rng = np.random.default_rng(14)
    a = rng.standard_normal((n, n))
    return {"a": a, "W1": rng.standard_normal((n, n)), "W2": rng.standard_normal((n, n)),
            "w": rng.standard_normal(n)}


# --------------------------------------------------------------------------------------------
# the losses, written once for the array libraries that look like NumPy (chainrule.numpy, HIPS
# autograd's numpy) and once for PyTorch


def loss(np_like, name: str, a, d: dict):
    if name == "svd":
        u, s, vh = np_like.linalg.svd(a, full_matrices=False)
        return (np_like.sum(d["W1"] * u * u) + np_like.sum(d["w"] * s)
                + np_like.sum(d["W2"] * vh * vh))
    if name == "qr":
        q, r = np_like.linalg.qr(a)
        return np_like.sum(d["W1"] * q * q) + np_like.sum(d["W2"] * r * r)
    w, v = np_like.linalg.eigh(a + np_like.transpose(a))
    return np_like.sum(d["w"] * w) + np_like.sum(d["W1"] * v * v)


def torch_loss(torch, name: str, a, d: dict):
    if name == "svd":
        u, s, vh = torch.linalg.svd(a, full_matrices=False)
        return (d["W1"] * u * u).sum() + (d["w"] * s).sum() + (d["W2"] * vh * vh).sum()
    if name == "qr":
        q, r = torch.linalg.qr(a)
        return (d["W1"] * q * q).sum() + (d["W2"] * r * r).sum()
    w, v = torch.linalg.eigh(a + a.t())
    return (d["w"] * w).sum() + (d["W1"] * v * v).sum()


# --------------------------------------------------------------------------------------------
# hand-written NumPy: the decomposition and its gradient, with the textbook formulas


def _f(values):
    """1 / (l_j - l_i) off the diagonal, 0 on it."""
    n = values.shape[-1]
    return (1 - np.eye(n)) / (values[None, :] - values[:, None] + np.eye(n))


def numpy_gradient(name: str, a, d: dict):
    if name == "svd":
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        gu, gs, gv = 2 * d["W1"] * u, d["w"], (2 * d["W2"] * vh).T
        f, v = _f(s * s), vh.T
        j, k = u.T @ gu, v.T @ gv
        inner = (f * (j - j.T)) * s + np.diag(gs) + s[:, None] * (f * (k - k.T))
        return u @ inner @ vh
    if name == "qr":
        q, r = np.linalg.qr(a)
        gq, gr = 2 * d["W1"] * q, 2 * d["W2"] * r
        m = r @ gr.T - gq.T @ q
        copyltu = np.tril(m) + np.tril(m, -1).T
        return np.linalg.solve(r, (gq + q @ copyltu).T).T
    w, v = np.linalg.eigh(a + a.T)
    gv = 2 * d["W1"] * v
    inner = np.diag(d["w"]) + _f(w) * (v.T @ gv)
    g = v @ inner @ v.T
    g = (g + g.T) / 2  # the gradient w.r.t. the symmetric S = A + A^T, read from the lower
    g = np.tril(2 * g, -1) + np.diag(np.diag(g))  # triangle (as LAPACK) ...
    return g + g.T  # ... then w.r.t. A


# --------------------------------------------------------------------------------------------
# one function per framework: the gradient w.r.t. A


def implementations(name: str, n: int) -> dict:
    d = data(n)
    impls = {"numpy": lambda: numpy_gradient(name, d["a"], d)}

    def chainrule():
        a = cr.tensor(d["a"], requires_grad=True)
        loss(cr.numpy, name, a, d).backward()
        return a.grad.numpy()

    impls["chainrule"] = chainrule
    if bench.installed("autograd") and name != "qr":  # (HIPS autograd: no derivative of qr)
        import autograd
        import autograd.numpy as anp

        hips = autograd.grad(lambda a: loss(anp, name, a, d))
        impls["autograd"] = lambda: hips(d["a"])
    if bench.installed("torch"):
        torch = bench._torch()
        td = {k: torch.tensor(v) for k, v in d.items()}

        def pytorch():
            a = torch.tensor(d["a"], requires_grad=True)
            torch_loss(torch, name, a, td).backward()
            return a.grad.numpy()

        impls["torch"] = pytorch
    return impls


LABELS = {"numpy": "NumPy by hand", "chainrule": "chainrule", "autograd": "HIPS autograd",
          "torch": "PyTorch"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="the matrices' order")
    parser.add_argument("--repeats", type=int, default=31, help="samples of each gradient")
    parser.add_argument("--quick", action="store_true", help="a smoke run: order 8, 3 samples")
    args = parser.parse_args(argv)
    n, repeats = (8, 3) if args.quick else (args.size, args.repeats)
    missing = [LABELS[k] for k in ("autograd", "torch") if not bench.installed(k)]
    print(f"gradients through decompositions of {n} x {n} float64 matrices, median of "
          f"{repeats} interleaved samples, one thread" +
          (f"; not installed: {', '.join(missing)}" if missing else ""))
    header = f"{'':6s}" + "".join(f"{LABELS[k]:>16s}" for k in LABELS)
    print(header + "   chainrule / HIPS   chainrule / PyTorch   chainrule / NumPy")
    for name in DECOMPOSITIONS:
        impls = implementations(name, n)
        expected = impls["numpy"]()
        for key, fn in impls.items():
            np.testing.assert_allclose(fn(), expected, rtol=1e-7, atol=1e-9,
                                       err_msg=f"{name}: {LABELS[key]} disagrees with NumPy")
        times = bench.time_interleaved(impls, repeats)
        median = {key: statistics.median(t) for key, t in times.items()}
        cells = "".join(f"{median[k] * 1e3:13.2f} ms" if k in median else f"{'-':>16s}"
                        for k in LABELS)
        ratios = "".join(f"{median['chainrule'] / median[k]:>20.2f}x" if k in median
                         else f"{'-':>21s}" for k in ("autograd", "torch", "numpy"))
        print(f"{name:6s}{cells}{ratios}")


if __name__ == "__main__":
    main()
