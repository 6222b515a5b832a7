"""The core ``erf`` and ``erfc`` (Cody's rational approximations in NumPy, no SciPy) against
the C library's, through Python's ``math.erf``/``math.erfc``: a dense grid over all three
intervals of the approximation, their seams, the tails, subnormal inputs and results, and the
special values; their derivatives against the closed form ``2/sqrt(pi) exp(-x^2)``.

Measured on this grid (float64): relative error at most 2.9 eps for ``erf`` (3.02 eps with
NumPy 1.26, at x = 0.473) and 4.9 eps for
``erfc`` wherever the result is a normal number; within 2 units of the smallest subnormal
where it is subnormal.  The bounds below are those, rounded up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from tests.fresh_interpreter import run_json

EPS = np.finfo(np.float64).eps
TINY = np.finfo(np.float64).tiny
SUBNORMAL = 5e-324


def _grid() -> np.ndarray:
    rng = np.random.default_rng(15)
    return np.concatenate([
        np.linspace(-30.0, 30.0, 200_001),
        rng.standard_normal(50_000) * 3.0,
        np.geomspace(1e-320, 1.0, 3000), -np.geomspace(1e-320, 1.0, 3000),  # subnormal up
        np.linspace(0.46, 0.48, 2001), -np.linspace(0.46, 0.48, 2001),  # the first seam
        np.linspace(3.99, 4.01, 2001), -np.linspace(3.99, 4.01, 2001),  # the second
        np.linspace(26.0, 28.0, 2001),  # erfc's underflow to subnormals, then 0
        np.nextafter(0.46875, [0.0, 1.0]), np.nextafter(4.0, [0.0, 8.0]),
    ])


@pytest.mark.parametrize(("ours", "reference", "bound"),
                         [(cr.erf, math.erf, 4), (cr.erfc, math.erfc, 5)])
def test_float64_values_match_the_c_library(ours, reference, bound):
    x = _grid()
    expected = np.array([reference(v) for v in x])
    got = ours(cr.tensor(x)).numpy()
    normal = np.abs(expected) >= TINY
    relative = np.abs(got - expected)[normal] / np.abs(expected[normal])
    assert relative.max() <= bound * EPS, x[normal][relative.argmax()]
    assert np.abs(got - expected)[~normal].max() <= 2 * SUBNORMAL


def test_special_values():
    x = cr.tensor([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-310, 50.0, -50.0], dtype=cr.float64)
    erf, erfc = cr.erf(x).numpy(), cr.erfc(x).numpy()
    np.testing.assert_array_equal(erf, [1.0, -1.0, np.nan, 0.0, -0.0, math.erf(1e-310), 1.0,
                                        -1.0])
    assert np.signbit(erf[4]) and not np.signbit(erf[3])  # erf(-0) = -0
    np.testing.assert_array_equal(erfc, [0.0, 2.0, np.nan, 1.0, 1.0, 1.0, 0.0, 2.0])


def test_float32_is_rounded_from_float64():
    x = np.linspace(-10.0, 10.0, 20_001, dtype=np.float32)
    for ours, reference in ((cr.erf, math.erf), (cr.erfc, math.erfc)):
        got = ours(cr.tensor(x))
        assert got.dtype == cr.float32
        expected = np.array([reference(float(v)) for v in x])
        # at most one float32 rounding away from the exact value
        spacing = np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
        assert np.all(np.abs(got.numpy() - expected) <= spacing)


def test_dtypes_follow_the_other_elementwise_functions():
    assert cr.erf(cr.tensor([1.0], dtype=cr.float16)).dtype == cr.float16
    assert cr.erf(cr.tensor([1, 2])).dtype == cr.float64
    assert cr.erf(cr.tensor(0.5)).shape == ()
    half = cr.tensor(0.5, dtype=cr.float64)
    assert cr.erfc(half).item() == pytest.approx(math.erfc(0.5), rel=1e-15)


def test_large_inputs_are_computed_in_blocks_with_the_same_values():
    x = np.random.default_rng(0).standard_normal(200_000) * 4.0  # more than one block
    got = cr.erf(cr.tensor(x)).numpy()
    np.testing.assert_array_equal(got[:1000], cr.erf(cr.tensor(x[:1000])).numpy())
    np.testing.assert_array_equal(got[-1000:], cr.erf(cr.tensor(x[-1000:])).numpy())
    assert np.abs(got[::997] - [math.erf(v) for v in x[::997]]).max() <= 2 * EPS


def test_derivatives_are_the_gaussian():
    x = cr.tensor([-3.0, -0.2, 0.0, 0.4, 1.5, 6.0], requires_grad=True)
    density = 2.0 / math.sqrt(math.pi) * np.exp(-x.detach().numpy() ** 2)
    (g,) = cr.autograd.grad(cr.erf(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), density, rtol=1e-15)
    (h,) = cr.autograd.grad(g.sum(), x)  # d^2 erf = -2x 2/sqrt(pi) exp(-x^2)
    np.testing.assert_allclose(h.numpy(), -2.0 * x.detach().numpy() * density, rtol=1e-14)
    (gc,) = cr.autograd.grad(cr.erfc(x).sum(), x)
    np.testing.assert_allclose(gc.numpy(), -density, rtol=1e-15)


def test_methods_and_in_place():
    x = cr.tensor([0.3, -1.2])
    np.testing.assert_array_equal(x.erf().numpy(), cr.erf(x).numpy())
    np.testing.assert_array_equal(x.erfc().numpy(), cr.erfc(x).numpy())
    y = x.clone()
    y.erf_()
    np.testing.assert_array_equal(y.numpy(), cr.erf(x).numpy())
    y = x.clone()
    y.erfc_()
    np.testing.assert_array_equal(y.numpy(), cr.erfc(x).numpy())
    assert cr.erf(0.5).item() == pytest.approx(math.erf(0.5), rel=1e-7)  # (float32)


def test_consistent_with_scipy():
    special = pytest.importorskip("scipy.special")
    import chainrule.scipy.special as cs

    x = np.linspace(-8.0, 8.0, 4001)
    # (ours within 5 eps of the C library's; SciPy's erfc measured within 19 eps of it)
    for ours, theirs, wrapped, rtol in ((cr.erf, special.erf, cs.erf, 6 * EPS),
                                        (cr.erfc, special.erfc, cs.erfc, 20 * EPS)):
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(x), rtol=rtol, atol=0)
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), wrapped(cr.tensor(x)).numpy(),
                                   rtol=rtol, atol=0)


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-6.0, 6.0, 1201)
    np.testing.assert_allclose(cr.erf(cr.tensor(x)).numpy(), torch.erf(torch.tensor(x)).numpy(),
                               rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(cr.erfc(cr.tensor(x)).numpy(),
                               torch.erfc(torch.tensor(x)).numpy(), rtol=8 * EPS, atol=0)


GELU_WITHOUT_SCIPY = """
import json, sys
sys.modules["scipy"] = None  # as if SciPy were not installed
import chainrule as cr
from chainrule import nn
x = cr.tensor([-1.0, 0.5, 2.0], dtype=cr.float64, requires_grad=True)
y = nn.GELU()(x)
y.sum().backward()
print(json.dumps({"y": y.tolist(), "grad": x.grad.tolist(),
                  "scipy": sorted(m for m in sys.modules if m.startswith("chainrule.scipy"))}))
"""


def test_gelu_needs_no_scipy():
    result = run_json(GELU_WITHOUT_SCIPY)
    assert result["scipy"] == []
    for v, y, g in zip((-1.0, 0.5, 2.0), result["y"], result["grad"]):
        cdf = 0.5 * math.erfc(-v / math.sqrt(2.0))
        assert y == pytest.approx(v * cdf, rel=1e-14)
        density = math.exp(-v * v / 2.0) / math.sqrt(2.0 * math.pi)
        assert g == pytest.approx(cdf + v * density, rel=1e-14)
