"""The general eigendecomposition (``rules/eig.py``): complex eigenpairs of real matrices,
derivatives of functions that do not depend on the vectors' phases, against differences and
PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import rules as R
from chainrule.testing import check_grads

ROTATING = np.array([[0.5, -1.2, 0.1], [1.0, 0.3, -0.4], [0.2, 0.6, -0.8]])  # complex pairs


def _rebuilt(a):
    w, v = R.eig(a)
    return (v * w[None, :]) @ R.inv(v)  # V diag(w) V^-1 = A, whatever the phases


def test_a_real_matrix_with_complex_eigenvalues():
    w = R.eigvals(cr.tensor(ROTATING))
    assert w.dtype == np.complex128 and np.iscomplex(w.numpy()).sum() == 2
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvals(ROTATING), rtol=0, atol=0)
    for f in (lambda a: R.eigvals(a), lambda a: R.eig_vectors(a).abs(), _rebuilt,
              lambda a: (R.eigvals(a) ** 2).real.sum()):
        check_grads(f, (ROTATING,), order=2)


def test_rebuilding_the_matrix_has_the_identity_as_derivative():
    a = cr.tensor(ROTATING, requires_grad=True)
    _rebuilt(a).real.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((3, 3)), rtol=1e-12)


def test_eigenvalue_gradients_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    weights = np.array([1.0 + 0.5j, -0.3 + 2.0j, 0.7])
    for lib, eig in ((torch, torch.linalg.eig), (cr, R.eig)):
        a = lib.tensor(ROTATING, requires_grad=True)
        w, v = eig(a)
        loss = (w * lib.tensor(weights)).real.sum() + v.abs().sum()
        (g,) = lib.autograd.grad(loss, a)
        results.append(np.asarray(g))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10, atol=1e-12)
