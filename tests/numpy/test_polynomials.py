"""chainrule.numpy's convolutions and polynomials (``chainrule/numpy_polynomials.py``).

Oracles: NumPy's values, identities of polynomial arithmetic (``u = q v + r``), closed forms of
derivatives (of a root, by the implicit function theorem; of a least-squares fit, the
pseudoinverse), central differences and JAX's gradients where installed."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import numpy_polynomials
from chainrule.testing import check_grads


def _tensor(a):
    return cr.tensor(np.asarray(a, dtype=float), requires_grad=True)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("lengths", [(7, 3), (3, 7), (6, 4), (4, 6), (5, 5), (1, 4), (4, 1),
                                     (20, 13), (13, 20)])
def test_convolutions_are_numpys(mode, lengths):
    rng = np.random.default_rng(sum(lengths))
    a, v = rng.standard_normal(lengths[0]), rng.standard_normal(lengths[1])
    for name in ("convolve", "correlate"):
        expected = getattr(np, name)(a, v, mode)
        ours = getattr(cnp, name)(_tensor(a), _tensor(v), mode).detach().numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-15)
        if max(lengths) <= 11 and mode == "valid" and name == "convolve":
            # kernels of up to 11 entries are summed in NumPy's order: the same bits
            np.testing.assert_array_equal(ours, expected)
    z = a + 1j * rng.standard_normal(lengths[0])
    ours = cnp.correlate(cr.tensor(z), cr.tensor(v - 0.5j), mode).numpy()
    np.testing.assert_allclose(ours, np.correlate(z, v - 0.5j, mode), rtol=1e-13, atol=1e-15)


def test_long_convolutions_sum_shifted_slices(monkeypatch):
    """Beyond a matrix of windows of _WINDOWS entries, the terms are summed one by one."""
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal(30), rng.standard_normal(14)
    monkeypatch.setattr(numpy_polynomials, "_WINDOWS", 10)
    for mode in ("full", "same", "valid"):
        ours = cnp.convolve(_tensor(a), _tensor(v), mode).detach().numpy()
        np.testing.assert_allclose(ours, np.convolve(a, v, mode), rtol=1e-13, atol=1e-15)
    check_grads(lambda a, v: cnp.correlate(a, v, "same"), (a, v))


def test_convolution_gradients_match_jax():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(1)
    a, v, g = rng.standard_normal(9), rng.standard_normal(4), rng.standard_normal(12)
    for name, mode in (("convolve", "same"), ("correlate", "full"), ("convolve", "valid")):
        h = g[:len(getattr(np, name)(a, v, mode))]
        expected = jax.grad(lambda a, v: jnp.sum(getattr(jnp, name)(a, v, mode) ** 2 * h),
                            argnums=(0, 1))(a, v)
        ta, tv = _tensor(a), _tensor(v)
        out = getattr(cnp, name)(ta, tv, mode)
        (out ** 2 * h).sum().backward()
        np.testing.assert_allclose(ta.grad.numpy(), expected[0], rtol=1e-12)
        np.testing.assert_allclose(tv.grad.numpy(), expected[1], rtol=1e-12)


def test_polydiv_divides():
    u, v = np.array([2.0, -1.0, 0.5, 3.0, 1.0]), np.array([1.5, 0.5, -2.0])
    q, r = cnp.polydiv(_tensor(u), _tensor(v))
    expected = np.polydiv(u, v)
    np.testing.assert_array_equal(q.detach().numpy(), expected[0])
    np.testing.assert_array_equal(r.detach().numpy(), expected[1])
    # u = q v + r
    np.testing.assert_allclose(cnp.polyadd(cnp.polymul(q, v), r).detach().numpy(), u)
    check_grads(lambda u, v: cnp.polydiv(u, v), (u, v))
    # an exact division leaves the remainder 0, its leading zeros dropped as NumPy does
    q, r = cnp.polydiv(_tensor(np.polymul([1.0, 2.0, 3.0], [1.0, -1.0])), _tensor([1.0, -1.0]))
    np.testing.assert_allclose(q.detach().numpy(), [1.0, 2.0, 3.0])
    assert r.shape == (1,)


def test_the_derivative_of_a_root_is_the_implicit_functions():
    # p(r) = 0, so dr/dp_i = -r^(n-i) / p'(r) for the coefficient of x^(n-i)
    for p in (np.poly([-2.0, 0.5, 2.5]), np.array([1.0, 0.3, 1.0])):  # real, complex roots
        t = _tensor(p)
        found = cnp.roots(t)
        np.testing.assert_allclose(found.detach().numpy(), np.roots(p), rtol=1e-12)
        r = np.roots(p)[0]
        n = len(p) - 1
        expected = -(r ** np.arange(n, -1, -1)) / np.polyval(np.polyder(p), r)
        # the gradient of Re r_0 (PyTorch's convention for complex values: conj(dr/dp) for a
        # real p, whose real part is d Re r / dp)
        found[0].real.backward() if np.iscomplexobj(r) else found[0].backward()
        np.testing.assert_allclose(t.grad.numpy(), expected.real, rtol=1e-10, atol=1e-14)
    zeros = cnp.roots(_tensor([0.0, 1.0, -3.0, 2.0, 0.0, 0.0]))
    np.testing.assert_allclose(np.sort(zeros.detach().numpy()), [0, 0, 1, 2], atol=1e-14)


def test_poly_and_roots_are_inverse():
    t = _tensor([0.5, -1.5, 2.0])
    np.testing.assert_allclose(np.sort(cnp.roots(cnp.poly(t)).detach().numpy()),
                               [-1.5, 0.5, 2.0], rtol=1e-12)
    # of a matrix: its characteristic polynomial, real also where eigenvalues are complex
    a = np.array([[0.0, -1.0], [1.0, 0.5]])
    c = cnp.poly(_tensor(a))
    np.testing.assert_allclose(c.detach().numpy(), np.poly(a), rtol=1e-12)
    assert c.dtype == np.float64
    check_grads(cnp.poly, (a,))


def test_polyfit_derivative_in_y_is_the_pseudoinverse():
    x, y = np.linspace(-1.0, 2.0, 7), np.sin(np.arange(7.0))
    t = _tensor(y)
    c = cnp.polyfit(x, t, 2)
    np.testing.assert_allclose(c.detach().numpy(), np.polyfit(x, y, 2), rtol=1e-12)
    u = np.array([1.0, -2.0, 0.5])
    (c * u).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.linalg.pinv(np.vander(x, 3)).T @ u,
                               rtol=1e-10)


def test_polyfit_at_a_point_near_zero_has_exact_second_derivatives():
    """The powers of x are products (as NumPy's vander), not a cumulative product, whose
    derivatives divide by x: at x = 1e-17 those were wrong at second order."""
    x = np.array([1e-17, 0.3, 0.7, 1.1, 1.6, 2.0])
    check_grads(lambda x, y: cnp.polyfit(x, y, 2), (x, np.cos(x)))


def test_polynomial_arithmetic_is_numpys():
    p, q = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.5, 2.0, 1.5])
    # (NumPy's product leaves out leading zeros: so does chainrule's)
    ours = cnp.polymul(_tensor(p), _tensor(np.r_[0.0, q]))
    np.testing.assert_array_equal(ours.detach().numpy(), np.polymul(p, np.r_[0.0, q]))
    for name, args in (("polyadd", (p, q)), ("polysub", (q, p)), ("polymul", (p, q)),
                       ("polyder", (p, 2)), ("polyint", (p, 2, [1.0, 2.0])),
                       ("polyval", (p, np.array([[0.5, -1.0]])))):
        tensors = [_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        ours = getattr(cnp, name)(*tensors)
        np.testing.assert_array_equal(ours.detach().numpy(), getattr(np, name)(*args))
        assert ours.requires_grad
        check_grads(lambda *ts: getattr(cnp, name)(*ts, *args[len(ts):]),
                    tuple(a for a in args if isinstance(a, np.ndarray)))


@pytest.mark.parametrize("call, error, message", [
    (lambda t: cnp.convolve(t, t[:0]), ValueError, "v cannot be empty"),
    (lambda t: cnp.correlate(t, t, "middle"), ValueError, "mode"),
    (lambda t: cnp.polyder(t, -1), ValueError, "Order of derivative must be positive"),
    (lambda t: cnp.polyfit(t, t[:2], 1), TypeError, "same length"),
    (lambda t: cnp.roots(cnp.outer(t, t)), ValueError, "rank-1"),
])
def test_bad_input_says_what_was_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(_tensor([1.0, 2.0, 3.0]))
