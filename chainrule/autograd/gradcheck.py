"""``gradcheck`` and ``gradgradcheck``: compare autograd with central finite differences.

The algorithm and defaults are PyTorch's: every element of every input that requires grad is
moved by ``±eps`` to build the numerical Jacobian column by column; the analytical Jacobian is
built row by row from vector-Jacobian products with one-hot vectors; the two must agree to
``|analytical - numerical| <= atol + rtol * |numerical|``.  Use float64 inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from chainrule.gradient import gradients
from chainrule.tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when autograd and finite differences disagree."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable(outputs) -> list:
    return [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _numerical_jacobians(func, inputs, diff_index, eps, output_sizes):
    """J[j][i] has shape (numel(input j), numel(output i)); ``output_sizes`` are the numels of
    ``func``'s differentiable outputs at ``inputs`` (the caller has evaluated it there)."""
    def evaluate(values):
        # not under no_grad: func may itself take gradients (gradgradcheck)
        outs = _differentiable(_as_tuple(func(*values)))
        return [np.array(o._data, dtype=np.float64).reshape(-1) for o in outs]

    jacobians = []
    for j in diff_index:
        base = np.array(inputs[j]._data, dtype=inputs[j].dtype)
        columns = []
        for k in range(base.size):
            probes = []
            for step in (-eps, eps):
                moved = base.copy()
                moved.reshape(-1)[k] += step
                values = list(inputs)
                values[j] = Tensor(moved, requires_grad=True)
                probes.append(evaluate(values))
            columns.append([(hi - lo) / (2 * eps) for lo, hi in zip(*probes)])
        jacobians.append([
            np.stack([c[i] for c in columns]) if columns else np.zeros((0, size))
            for i, size in enumerate(output_sizes)
        ])
    return jacobians


def _analytical_jacobians(outputs, diff_inputs):
    """J[j][i] has shape (numel(input j), numel(output i))."""
    per_output = []
    for out in outputs:
        rows = []
        for r in range(out.numel()):
            onehot = np.zeros(out.numel(), out.dtype)
            onehot[r] = 1
            if not out.requires_grad:
                rows.append([np.zeros(x.numel()) for x in diff_inputs])
                continue
            grads = gradients(out, diff_inputs, Tensor(onehot.reshape(out.shape)),
                              retain_graph=True, materialize_grads=True)
            rows.append([np.asarray(g._data, np.float64).reshape(-1) for g in grads])
        per_output.append([
            np.stack([row[j] for row in rows], axis=1) if rows
            else np.zeros((x.numel(), 0))
            for j, x in enumerate(diff_inputs)
        ])
    return [[per_output[i][j] for i in range(len(outputs))] for j in range(len(diff_inputs))]


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **unused) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Returns True when they agree; otherwise raises :class:`GradcheckError` (or returns False
    with ``raise_exception=False``).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    diff_index = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_index:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i in diff_index:
        if inputs[i].dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. The check is likely to fail: use float64 inputs.",
                          UserWarning, stacklevel=2)
    diff_inputs = [inputs[i] for i in diff_index]
    outputs = _differentiable(_as_tuple(func(*inputs)))
    analytical = _analytical_jacobians(outputs, diff_inputs)
    numerical = _numerical_jacobians(func, inputs, diff_index, eps,
                                     [o.numel() for o in outputs])
    for j in range(len(diff_inputs)):
        for i in range(len(outputs)):
            a, n = analytical[j][i], numerical[j][i]
            if a.shape == n.shape and np.all(np.abs(a - n) <= atol + rtol * np.abs(n)):
                continue
            if not raise_exception:
                return False
            with np.printoptions(precision=4, suppress=True):
                raise GradcheckError(f"Jacobian mismatch for output {i} with respect to input "
                                     f"{diff_index[j]},\nnumerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0, **unused) -> bool:
    """Check second derivatives: :func:`gradcheck` applied to the first vector-Jacobian product.

    ``grad_outputs`` default to seeded random vectors (they are differentiated too).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradgradcheck(lambda t: (t ** 2).sin(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    outputs = _differentiable(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(Tensor(rng.standard_normal(o.shape).astype(o.dtype),
                                    requires_grad=True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)
    diff_index = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        outs = _differentiable(_as_tuple(func(*args[:n])))
        return gradients(outs, [args[i] for i in diff_index], list(args[n:]),
                         create_graph=True, materialize_grads=True)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
