"""chainrule.numpy's elementwise functions without a PyTorch twin (chainrule/numpy_elementwise.py)
and its functions that copy, convert, grow or cut arrays (chainrule/numpy_building.py), beyond
their catalogue entries: NumPy's values bit for bit on Tensors, at special values too (signed
zeros, infinities, NaN, subnormals); derivatives at the special points, against closed forms,
JAX and PyTorch; ``i1`` (the derivative of ``i0``) against mpmath and SciPy; NumPy's
protocols; the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import rules as R
from chainrule.func import grad, jacrev
from chainrule.testing import check_grads

SPECIAL = np.array([-2.5, -0.0, 0.0, 1.0, 3.75, np.inf, -np.inf, np.nan, 5e-324, 1e300, -7.0,
                    2.0**-1060, 0.3])
OTHER = np.array([1.5, -2.0, 0.7, -0.0, 3.0, 2.0, -1.0, 1.0, -3.0, 7.0, 0.25, 1.0, -0.1])
EXPONENTS = np.arange(-6, 7)


def _bits(a) -> tuple:
    a = np.asarray(a)
    return a.dtype, a.shape, np.ascontiguousarray(a).view(np.uint8).tobytes()


# name -> call(module, x, y) on the arrays above (or on Tensors of them)
CALLS = {
    "cbrt": lambda m, x, y: m.cbrt(x), "fmod": lambda m, x, y: m.fmod(x, y),
    "ldexp": lambda m, x, y: m.ldexp(x, EXPONENTS),
    "float_power": lambda m, x, y: m.float_power(x, y),
    "frexp": lambda m, x, y: m.frexp(x)[0], "modf": lambda m, x, y: m.modf(x)[0],
    "divmod": lambda m, x, y: m.divmod(x, y)[1], "copysign": lambda m, x, y: m.copysign(x, y),
    "heaviside": lambda m, x, y: m.heaviside(x, y), "fix": lambda m, x, y: m.fix(x),
    "positive": lambda m, x, y: m.positive(x), "i0": lambda m, x, y: m.i0(x),
    "unwrap": lambda m, x, y: m.unwrap(y * 5.0),
    "sort_complex": lambda m, x, y: m.sort_complex(y),
    "logspace": lambda m, x, y: m.logspace(y[:3], y[3:6], 7),
    "geomspace": lambda m, x, y: m.geomspace(y[[0, 1, 4]], y[[2, 5, 9]], 6, axis=1),
    # (NumPy 1 and NumPy 2 take complex bounds around the origin differently)
    "geomspace-complex": lambda m, x, y: m.geomspace(y[[0, 1, 4]] + 1j, y[[2, 5, 9]] - 0.5j, 6),
    "geomspace-imaginary": lambda m, x, y: m.geomspace(y[[0, 1, 4]] * 1j, -2j * y[[2, 5, 9]], 5),
    "vander": lambda m, x, y: m.vander(y[:5]), "kaiser": lambda m, x, y: m.kaiser(7, y[4]),
    "resize": lambda m, x, y: m.resize(y, (3, 7)),
    "block": lambda m, x, y: m.block([[y[:2], x[:3]], [x[3:8]]]),
    "meshgrid": lambda m, x, y: m.meshgrid(x[:3], y[:4])[1],
}
if hasattr(np, "cumulative_sum"):
    CALLS["cumulative_sum"] = lambda m, x, y: m.cumulative_sum(y, include_initial=True)
    CALLS["cumulative_prod"] = lambda m, x, y: m.cumulative_prod(y)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_tensors_give_numpys_values_bit_for_bit(name):
    call = CALLS[name]
    with np.errstate(all="ignore"):
        expected = call(np, SPECIAL, OTHER)
        ours = call(cnp, cr.tensor(SPECIAL, requires_grad=True),
                    cr.tensor(OTHER, requires_grad=True))
    assert isinstance(ours, cr.Tensor) and ours.requires_grad
    assert _bits(ours.detach().numpy()) == _bits(expected)


def test_the_results_without_gradient_are_numpys():
    x = cr.tensor(SPECIAL, requires_grad=True)
    with np.errstate(all="ignore"):
        _, exponent = cnp.frexp(x)
        _, integral = cnp.modf(x)
        quotient, _ = cnp.divmod(x, OTHER)
        for ours, theirs in [(exponent, np.frexp(SPECIAL)[1]), (integral, np.modf(SPECIAL)[1]),
                             (quotient, np.divmod(SPECIAL, OTHER)[0])]:
            assert type(ours) is np.ndarray and _bits(ours) == _bits(theirs)


def test_float32_is_kept_as_numpy_keeps_it():
    x = cr.tensor([0.5, 1.5, -2.0], dtype=cr.float32, requires_grad=True)
    for f, dtype in [(cnp.cbrt, np.float32), (cnp.i0, np.float32),
                     (lambda t: cnp.frexp(t)[0], np.float32), (lambda t: cnp.fmod(t, 0.7),
                                                               np.float32),
                     (lambda t: cnp.float_power(t, 2.0), np.float64),
                     (cnp.sort_complex, np.complex128), (cnp.vander, np.float64)]:
        out = f(x)
        assert out.dtype == dtype == f(x.detach().numpy()).dtype
        out.sum().real.backward() if out.dtype.kind == "c" else out.sum().backward()
        assert x.grad.dtype == np.float32
        x.grad = None


# --------------------------------------------------------------------------------------------
# derivatives at special points, and against closed forms


def test_i0_derivatives_at_zero_are_its_taylor_coefficients():
    # i0(x) = sum_k x^(2k) / (4^k k!^2): its n-th derivative at 0 is n! / (2^n (n/2)!^2) for
    # even n, 0 for odd n
    derivatives = [cnp.i0]
    for _ in range(8):
        derivatives.append(grad(derivatives[-1]))
    values = [float(d(np.float64(0.0))) for d in derivatives]
    expected = [math.factorial(n) / (2**n * math.factorial(n // 2) ** 2) if n % 2 == 0 else 0.0
                for n in range(9)]
    assert values == pytest.approx(expected, abs=1e-15)


def test_i1_slope_is_one_half_at_zero_and_the_series_is_odd():
    x = cr.tensor([0.0, 1e-300, -2.5, 2.5], dtype=cr.float64, requires_grad=True)
    y = R.i1(x)
    assert y.detach().numpy()[0] == 0.0 and y.detach().numpy()[2] == -y.detach().numpy()[3]
    y.sum().backward()
    assert x.grad.numpy()[:2].tolist() == [0.5, 0.5]
    # on both sides of |x| = 1/4, where the slope's Taylor polynomial takes over
    check_grads(R.i1, (np.array([-3.0, -0.26, -0.1, 0.0, 0.2, 0.24, 4.0]),), order=3)


def test_i1_matches_mpmath_over_its_range():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    x = np.concatenate([np.linspace(-10.0, 10.0, 81), np.linspace(10.0, 700.0, 40)])
    exact = np.array([float(mpmath.besseli(1, mpmath.mpf(float(v)))) for v in x])
    ours = R.i1(x)
    eps = np.finfo(np.float64).eps
    small = np.abs(x) <= 10
    # a sum of positive terms: a few eps up to |x| = 10, within 200 eps where the terms reach
    # their peak far along the series (near 700, where i1 overflows)
    np.testing.assert_allclose(ours[small], exact[small], rtol=8 * eps, atol=0)
    np.testing.assert_allclose(ours, exact, rtol=200 * eps, atol=0)
    assert np.isinf(R.i1(np.array([714.0, np.inf]))).all() and np.isnan(R.i1(np.nan))


def test_i1_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.random.default_rng(0).uniform(-30.0, 30.0, 200)
    np.testing.assert_allclose(R.i1(x), special.i1(x), rtol=1e-14)
    assert R.i1(np.float32(1.5)).dtype == np.float32


def test_i0_and_kaiser_derivatives_match_jax():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    with jax.enable_x64(True):
        for order in range(1, 4):
            theirs, ours = jnp.i0, cnp.i0
            for _ in range(order):
                theirs, ours = jax.grad(theirs), grad(ours)
            for v in (-2.0, 0.3, 1.7):
                assert float(ours(np.float64(v))) == pytest.approx(float(theirs(v)), rel=1e-12)
        for beta in (0.5, 3.0, 8.6):
            jac = np.asarray(jax.jacfwd(lambda b: jnp.kaiser(9, b))(beta))
            t = cr.tensor(beta, dtype=cr.float64, requires_grad=True)
            rows = [cr.autograd.grad(cnp.kaiser(9, t)[k], t)[0].item() for k in range(9)]
            np.testing.assert_allclose(rows, jac, rtol=1e-12, atol=1e-15)


def test_copysign_derivative_is_the_sign_change_and_zero_at_the_kink():
    x = cr.tensor([2.0, -3.0, 0.0, -0.0, 1.5], dtype=cr.float64, requires_grad=True)
    y = np.array([-1.0, -1.0, -1.0, 1.0, 2.0])
    cnp.copysign(x, y).sum().backward()
    assert x.grad.numpy().tolist() == [-1.0, 1.0, 0.0, 0.0, 1.0]


def test_heaviside_passes_the_gradient_to_x2_where_x1_is_zero():
    x1 = cr.tensor([-1.0, 0.0, 2.0, -0.0, np.nan], dtype=cr.float64, requires_grad=True)
    x2 = cr.tensor([0.1, 0.2, 0.3, 0.4, 0.5], dtype=cr.float64, requires_grad=True)
    out = cnp.heaviside(x1, x2)
    (out * np.arange(1.0, 6.0)).sum().backward()
    assert x2.grad.numpy().tolist() == [0.0, 2.0, 0.0, 4.0, 0.0]
    assert x1.grad.numpy().tolist() == [0.0] * 5  # (piecewise constant, even at the NaN)


def test_derivatives_of_the_parts_are_their_closed_forms():
    v = np.array([-5.3, -0.7, 0.2, 3.9, 12.5])
    x = cr.tensor(v, requires_grad=True)
    mantissa = cnp.frexp(x)[0]
    mantissa.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 ** -np.frexp(v)[1])  # exact
    x.grad = None
    cnp.modf(x)[0].sum().backward()
    assert x.grad.numpy().tolist() == [1.0] * 5
    y = cr.tensor(np.full(5, -1.5), requires_grad=True)
    x.grad = None
    remainder = cnp.divmod(x, y)[1]
    remainder.sum().backward()
    assert x.grad.numpy().tolist() == [1.0] * 5
    assert y.grad.numpy().tolist() == (-np.floor(v / -1.5)).tolist()
    y.grad = None
    cnp.fmod(x, y).sum().backward()
    assert y.grad.numpy().tolist() == (-np.trunc(v / -1.5)).tolist()


def test_cbrt_and_float_power_match_pytorch():
    torch = pytest.importorskip("torch")
    v, w = np.array([-8.0, -0.3, 0.7, 27.0]), np.array([1.5, -0.5, 2.0, 0.25])
    x = cr.tensor(np.abs(v), requires_grad=True)
    e = cr.tensor(w, requires_grad=True)
    cnp.float_power(x, e).sum().backward()
    tx = torch.tensor(np.abs(v), requires_grad=True)
    te = torch.tensor(w, requires_grad=True)
    torch.float_power(tx, te).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(e.grad.numpy(), te.grad.numpy(), rtol=1e-14)
    # cbrt(x) = sign(x) |x|^(1/3), whose derivative PyTorch gives
    x = cr.tensor(v, requires_grad=True)
    cnp.cbrt(x).sum().backward()
    tx = torch.tensor(v, requires_grad=True)
    (torch.sign(tx) * tx.abs() ** (1 / 3)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)


def test_unwrap_has_slope_one_and_geomspace_the_closed_form():
    p = np.array([0.0, 3.0, 6.5, 1.0, -2.0])
    np.testing.assert_array_equal(np.asarray(jacrev(cnp.unwrap)(p)), np.eye(5))
    # geomspace(a, b, n)[k] = a^(1 - k/(n-1)) b^(k/(n-1)): d/da = (1 - k/(n-1)) y / a
    a = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = cnp.geomspace(a, 32.0, 5)
    (y * np.arange(1.0, 6.0)).sum().backward()
    u = np.linspace(0.0, 1.0, 5)
    expected = np.sum(np.arange(1.0, 6.0) * (1 - u) * np.geomspace(2.0, 32.0, 5) / 2.0)
    assert a.grad.item() == pytest.approx(expected, rel=1e-14)


def test_the_grids_send_gradients_back_summed():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([4.0, 5.0], requires_grad=True)
    gx, gy = cnp.meshgrid(x, y)
    assert gx.shape == (2, 3) and gy.shape == (2, 3)
    (gx * gy).sum().backward()
    assert x.grad.numpy().tolist() == [9.0, 9.0, 9.0] and y.grad.numpy().tolist() == [6.0] * 2
    assert type(cnp.meshgrid(x, y)) is type(np.meshgrid(np.ones(3), np.ones(2)))
    assert type(cnp.meshgrid(x, y, sparse=True, copy=False)) is list


def test_resize_vander_and_trim_zeros_gather_the_entries():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    cnp.resize(x, (2, 4)).sum().backward()  # x0 x1 x2 x0 / x1 x2 x0 x1
    assert x.grad.numpy().tolist() == [3.0, 3.0, 2.0]
    x.grad = None
    cnp.vander(x, 3).sum().backward()  # x^2 + x + 1: 2x + 1
    assert x.grad.numpy().tolist() == [3.0, 5.0, 7.0]
    padded = cnp.concatenate([np.zeros(2), x, np.zeros(1)])
    trimmed = cnp.trim_zeros(padded)
    assert trimmed.shape == (3,) and cnp.trim_zeros(padded, "f").shape == (4,)
    assert cnp.resize(x[:0], (2,)).tolist() == [0.0, 0.0]


# --------------------------------------------------------------------------------------------
# NumPy's own functions on Tensors, and the aliases


def test_numpys_functions_on_tensors_record():
    t = cr.tensor([0.5, 1.5, 2.5], dtype=cr.float64, requires_grad=True)
    for out in [np.cbrt(t), np.fmod(t, 0.7), np.frexp(t)[0], np.modf(t)[0], np.divmod(t, 0.7)[1],
                np.copysign(t, -1.0), np.float_power(t, 2.0), np.i0(t), np.unwrap(t),
                np.sort_complex(t), np.positive(t), np.fix(t), np.block([t, t]),
                np.meshgrid(t, t)[0], np.broadcast_arrays(t, np.ones((2, 1)))[0],
                np.vander(t), np.resize(t, 5), np.trim_zeros(t)]:
        assert isinstance(out, cr.Tensor) and out.requires_grad


@pytest.mark.skipif(not hasattr(np, "acos"), reason="NumPy 2's names")
def test_numpy2_names_are_the_functions_under_their_old_names():
    a = np.random.default_rng(1).uniform(-0.9, 0.9, (3, 4))
    t = cr.tensor(a, requires_grad=True)
    for new, old in [("acos", "arccos"), ("asin", "arcsin"), ("atan", "arctan"),
                     ("atanh", "arctanh"), ("asinh", "arcsinh")]:
        np.testing.assert_array_equal(getattr(cnp, new)(t).detach().numpy(),
                                      getattr(np, old)(a))
        assert getattr(cnp, new).__name__ == new
    np.testing.assert_array_equal(cnp.pow(t + 1.0, 1.5).detach().numpy(), (a + 1.0) ** 1.5)
    np.testing.assert_array_equal(cnp.matrix_transpose(t).detach().numpy(), a.T)
    assert cnp.permute_dims(t).shape == (4, 3)
    with pytest.raises(ValueError, match="chainrule.numpy.matrix_transpose: .*2-dimensional"):
        cnp.matrix_transpose(t[0])


# --------------------------------------------------------------------------------------------
# errors: the function the user called, what was wrong

T = cr.tensor([1.0, 2.0], requires_grad=True)
M = cr.tensor(np.ones((2, 3)), requires_grad=True)

ERRORS = [
    (lambda: cnp.asarray_chkfinite(T * np.inf), ValueError,
     "asarray_chkfinite: array must not contain infs or NaNs"),
    (lambda: cnp.geomspace(T - 1.0, 3.0), ValueError, "geomspace: .*cannot include zero"),
    (lambda: cnp.ldexp(T, 1.5), TypeError, "ldexp: .*not supported for the input types"),
    (lambda: cnp.resize(T, (-1, 2)), ValueError, "resize: .*non-negative"),
    (lambda: cnp.meshgrid(T, T, indexing="ji"), ValueError, "meshgrid: .*'xy' and 'ij'"),
    (lambda: cnp.vander(M), ValueError, "vander: x must be a one-dimensional"),
    (lambda: cnp.block([T, [T]]), ValueError, "block: List depths are mismatched"),
    (lambda: cnp.require(T, requirements="CF"), ValueError, "require: .*both"),
    (lambda: cnp.require(T, requirements="X"), ValueError, "require: unknown requirement 'X'"),
    (lambda: cnp.trim_zeros(T, "x"), ValueError, "trim_zeros: unexpected character"),
    (lambda: cnp.sort_complex(T[0]), ValueError, "sort_complex: axis -1 is out of bounds"),
    (lambda: cnp.fix(T, out=np.empty(2)), TypeError, r"fix\(\.\.\., out=\.\.\.\): functions"),
    (lambda: cnp.cbrt(T, out=np.empty(2)), TypeError, r"cbrt\(\.\.\., out=\.\.\.\): functions"),
    (lambda: cnp.broadcast_arrays(T, M), ValueError, "broadcast_arrays: shape mismatch"),
]
if hasattr(np, "cumulative_sum"):
    ERRORS += [
        (lambda: cnp.cumulative_sum(M), ValueError, "cumulative_sum: .*``axis`` argument is "
                                                    "required"),
        (lambda: cnp.unstack(T[0]), ValueError, "unstack: Input array must be at least 1-d"),
    ]


@pytest.mark.parametrize(("call", "kind", "message"), ERRORS,
                         ids=[m.split(":")[0] for _, _, m in ERRORS])
def test_bad_input_names_the_function(call, kind, message):
    with np.errstate(all="ignore"), pytest.raises(kind, match="chainrule.numpy." + message):
        call()


def test_kaiser_of_one_point_is_one_with_zero_gradient():
    beta = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    out = cnp.kaiser(1, beta)
    assert out.tolist() == [1.0] and out.dtype == np.float64
    out.sum().backward()
    assert beta.grad.item() == 0.0
    assert math.isclose(cnp.kaiser(3, beta)[0].item(), 1.0 / np.i0(2.0))
