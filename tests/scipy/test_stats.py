"""chainrule.scipy.stats.norm: scipy.stats.norm's values (bit for bit on plain values, to
rounding on Tensors, in the tails too), derivatives in x, loc and scale against central
differences to second order in both modes, closed forms and JAX's; NaN where scale <= 0."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad
from chainrule.testing import check_grads

scipy_stats = pytest.importorskip("scipy.stats")
from chainrule.scipy.stats import norm  # noqa: E402

NAMES = ["pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf"]
X = np.array([-45.0, -8.0, -1.5, 0.0, 0.3, 2.0, 9.0, 45.0])
Q = np.array([0.0, 1e-300, 1e-12, 0.025, 0.5, 0.9, 1.0 - 1e-12, 1.0])
LOC = np.array([[0.0], [1.5], [-2.0]])
SCALE = np.array([[1.0], [0.5], [3.0]])


def _points(name):
    return Q if name == "ppf" else X


@pytest.mark.parametrize("name", NAMES)
def test_plain_values_are_scipys_bit_for_bit(name):
    ours, theirs = getattr(norm, name), getattr(scipy_stats.norm, name)
    x = _points(name)
    for args in [(x,), (x, LOC, SCALE), (float(x[4]),), (float(x[4]), 1.0, 2.0)]:
        got, expected = ours(*args), theirs(*args)
        assert type(got) is type(expected)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_tensor_values_are_scipys(name):
    x = _points(name)
    got = getattr(norm, name)(cr.tensor(x, requires_grad=True), cr.tensor(LOC),
                              cr.tensor(SCALE, requires_grad=True))
    assert isinstance(got, cr.Tensor) and got.dtype == cr.float64
    expected = getattr(scipy_stats.norm, name)(x, LOC, SCALE)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_float32_tensors_stay_float32(name):
    x = _points(name)[2:-2].astype(np.float32)
    got = getattr(norm, name)(cr.tensor(x), 0.5, 2.0)
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.numpy(), getattr(scipy_stats.norm, name)(x, 0.5, 2.0),
                               rtol=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_nan_where_scale_is_not_positive(name):
    x = _points(name)[3:6]
    scale = np.array([[1.0], [0.0], [-2.0]])
    with np.errstate(all="ignore"):
        expected = getattr(scipy_stats.norm, name)(x, 0.0, scale)
    got = getattr(norm, name)(cr.tensor(x, requires_grad=True), 0.0, cr.tensor(scale))
    np.testing.assert_array_equal(np.isnan(got.detach().numpy()), np.isnan(expected))
    np.testing.assert_allclose(got.detach().numpy()[0], expected[0], rtol=1e-14)


SMOOTH = {"x": np.array([-3.0, -0.4, 0.2, 1.7]), "q": np.array([0.02, 0.3, 0.6, 0.95])}


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_in_x_loc_and_scale_match_finite_differences(name):
    x = SMOOTH["q" if name == "ppf" else "x"]
    loc, scale = np.array([0.3, -1.0, 0.0, 2.0]), np.array([1.2, 0.7, 2.0, 1.0])
    check_grads(getattr(norm, name), (x, loc, scale), order=2)


def test_derivatives_are_the_closed_forms():
    x, loc, scale = np.array([-1.0, 0.5, 2.0]), 0.3, 1.7
    z = (x - loc) / scale
    density = scipy_stats.norm.pdf(x, loc, scale)
    dx, dloc, dscale = grad(lambda *a: norm.logpdf(*a).sum(), argnums=(0, 1, 2))(x, loc, scale)
    np.testing.assert_allclose(dx, -z / scale, rtol=1e-14)
    np.testing.assert_allclose(dloc, (z / scale).sum(), rtol=1e-14)
    np.testing.assert_allclose(dscale, ((z * z - 1) / scale).sum(), rtol=1e-14)
    np.testing.assert_allclose(grad(lambda a: norm.cdf(a, loc, scale).sum())(x), density,
                               rtol=1e-14)
    np.testing.assert_allclose(grad(lambda a: norm.sf(a, loc, scale).sum())(x), -density,
                               rtol=1e-14)
    q = np.array([0.1, 0.5, 0.8])
    quantile = scipy_stats.norm.ppf(q, loc, scale)
    np.testing.assert_allclose(grad(lambda a: norm.ppf(a, loc, scale).sum())(q),
                               1 / scipy_stats.norm.pdf(quantile, loc, scale), rtol=1e-13)


def test_log_tails_stay_finite_and_accurate():
    """logcdf far left and logsf far right: log_ndtr, with its derivative pdf / cdf."""
    x = cr.tensor([-40.0, 40.0], dtype=cr.float64, requires_grad=True)
    (norm.logcdf(x[0]) + norm.logsf(x[1])).backward()
    np.testing.assert_allclose(x.grad.numpy(), [40.02496884720726, -40.02496884720726],
                               rtol=1e-14)
    np.testing.assert_allclose(norm.logcdf(x).detach().numpy(),
                               scipy_stats.norm.logcdf([-40.0, 40.0]), rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_agree_with_jax(name):
    jax = pytest.importorskip("jax")
    import jax.scipy.stats.norm as jnorm

    x = SMOOTH["q" if name == "ppf" else "x"]
    args = (x, np.array([0.3, -1.0, 0.0, 2.0]), np.array([1.2, 0.7, 2.0, 1.0]))
    with jax.enable_x64(True):
        f = getattr(jnorm, name)
        theirs = jax.grad(lambda *a: f(*a).sum(), argnums=(0, 1, 2))(*args)
    ours = grad(lambda *a: getattr(norm, name)(*a).sum(), argnums=(0, 1, 2))(*args)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-12)


def test_other_distributions_say_so():
    import chainrule.scipy.stats as stats

    with pytest.raises(AttributeError, match=r"chainrule.scipy.stats.gamma: only the normal"):
        stats.gamma  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'not_a_distribution'"):
        stats.not_a_distribution  # noqa: B018
