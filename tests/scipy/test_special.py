"""chainrule.scipy.special: SciPy's results on plain values (bit for bit) and on Tensors; the
derivatives against JAX's and PyTorch's (where installed), closed forms and central
differences, to second order; the conventions where SciPy's functions are not differentiable;
``logsumexp``, ``softmax``, ``log_softmax`` and ``multigammaln``; the errors.

(The table test, tests/rules/test_primitives.py, checks every primitive of
chainrule/rules/special.py in both modes to second order, in float32 and float64.)
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad
from chainrule.testing import check_grads

scipy_special = pytest.importorskip("scipy.special")
import chainrule.scipy.special as sps  # noqa: E402

rng = np.random.default_rng(14)

# each function's arguments, over its domain and at its edges (poles, zeros, tails)
REAL = np.array([-40.0, -3.5, -1.0, -0.5, -1e-300, 0.0, 1e-9, 0.3, 1.0, 2.5, 9.0, 40.0])
POLES = np.array([-2.5, -2.0, -1.0, -0.5, 0.0, 1e-8, 0.5, 1.0, 3.0, 171.5, 200.0])
UNIT = np.array([-0.5, 0.0, 1e-12, 0.1, 0.5, 0.9, 1.0 - 1e-12, 1.0, 1.5])
TWO = np.array([-0.5, 0.0, 1e-12, 0.5, 1.0, 1.5, 2.0, 2.5])
PAIR = (np.array([[0.0], [1e-3], [0.7], [2.0], [-1.0]]), np.array([-1.0, 0.0, 0.3, 1.0, 5.0]))

PLAIN = {
    "gammaln": (POLES,), "digamma": (POLES,), "psi": (POLES,), "gamma": (POLES,),
    "betaln": (POLES[:, None], POLES), "beta": (POLES[:, None], POLES),
    "erf": (REAL,), "erfc": (REAL,), "erfinv": (UNIT * 2 - 1,), "erfcinv": (TWO,), "erfcx": (REAL,),
    "ndtr": (REAL,), "ndtri": (UNIT,), "log_ndtr": (REAL,), "expit": (REAL,),
    "logit": (UNIT,), "xlogy": PAIR, "xlog1py": PAIR, "i0": (REAL,), "i1": (REAL,),
    "i0e": (REAL,), "i1e": (REAL,), "entr": (REAL,), "rel_entr": PAIR, "kl_div": PAIR,
    "sinc": (REAL,),
}


def _plain_cases():
    for name, args in PLAIN.items():
        yield pytest.param(name, args, id=name)
        yield pytest.param(name, tuple(a.astype(np.float32) for a in args), id=name + "-f32")
        yield pytest.param(name, tuple(float(a.flat[3]) for a in args), id=name + "-scalar")


@pytest.mark.parametrize(("name", "args"), list(_plain_cases()))
def test_plain_values_are_scipys_bit_for_bit(name, args):
    with np.errstate(all="ignore"):
        expected = getattr(scipy_special, name)(*args)
        got = getattr(sps, name)(*args)
    assert type(got) is type(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


def test_plain_values_of_the_other_functions_are_scipys():
    x = rng.standard_normal((3, 4))
    b = rng.standard_normal(4)
    with np.errstate(all="ignore"):
        cases = [
            (sps.polygamma(2, POLES), scipy_special.polygamma(2, POLES)),
            (sps.polygamma(np.arange(3)[:, None], POLES),
             scipy_special.polygamma(np.arange(3)[:, None], POLES)),
            (sps.multigammaln(np.array([3.0, 7.5]), 4),
             scipy_special.multigammaln(np.array([3.0, 7.5]), 4)),
            (sps.logsumexp(x, axis=1, b=b, return_sign=True),
             scipy_special.logsumexp(x, axis=1, b=b, return_sign=True)),
            (sps.logsumexp(x), scipy_special.logsumexp(x)),
            (sps.softmax(x, axis=(0, 1)), scipy_special.softmax(x, axis=(0, 1))),
            (sps.log_softmax(x, axis=0), scipy_special.log_softmax(x, axis=0)),
        ]
    for got, expected in cases:
        np.testing.assert_array_equal(got, expected)
    out = np.empty(len(REAL))  # ufunc keywords go to SciPy on arrays
    assert sps.erf(REAL, out=out) is out
    np.testing.assert_array_equal(out, scipy_special.erf(REAL))


# --------------------------------------------------------------------------------------------
# Tensors: SciPy's values, the input's precision


def _tensor_cases():
    for name, args in PLAIN.items():
        yield pytest.param(name, args, id=name)


@pytest.mark.parametrize(("name", "args"), list(_tensor_cases()))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_values_are_scipys(name, args, dtype):
    arrays = [a.astype(dtype) for a in args]
    tensors = [cr.tensor(a, requires_grad=True) for a in arrays]
    with np.errstate(all="ignore"):
        expected = getattr(scipy_special, name)(*arrays)
        got = getattr(sps, name)(*tensors)
    assert isinstance(got, cr.Tensor) and got.requires_grad
    assert got.dtype == dtype == expected.dtype
    if name in ("expit", "sinc"):  # chainrule's sigmoid and sinc
        np.testing.assert_allclose(got.detach().numpy(), expected, rtol=4e-16 if dtype ==
                                   np.float64 else 2e-7, atol=0)
    else:
        np.testing.assert_array_equal(got.detach().numpy(), expected)


def test_polygamma_keeps_float32_tensors_in_float32():
    """Arrays get SciPy's dtype (float64 for float32 arrays since SciPy 1.14, float32
    before); a float32 Tensor stays float32, as in PyTorch and JAX."""
    x = np.array([0.5, 2.0, 7.0], np.float32)
    assert sps.polygamma(1, x).dtype == scipy_special.polygamma(1, x).dtype
    t = sps.polygamma(1, cr.tensor(x))
    assert t.dtype == cr.float32
    np.testing.assert_array_equal(t.numpy(), scipy_special.polygamma(1, x).astype(np.float32))
    assert sps.multigammaln(cr.tensor(x + 2), 3).dtype == cr.float32


# --------------------------------------------------------------------------------------------
# derivatives: closed forms, JAX, PyTorch


def _derivatives(f, x):
    """f' and f'' at each element of x (elementwise f), by reverse over reverse."""
    first = grad(lambda t: f(t).sum())
    return first(x), grad(lambda t: first(t).sum())(x)


def test_derivatives_of_the_gamma_family_are_its_closed_forms():
    x = np.array([-2.5, -0.5, 0.3, 1.0, 4.0, 30.0])
    d1, d2 = _derivatives(sps.gammaln, x)
    np.testing.assert_allclose(d1, scipy_special.digamma(x), rtol=1e-14)
    np.testing.assert_allclose(d2, scipy_special.polygamma(1, x), rtol=1e-14)
    # the third derivative of gammaln: polygamma(2, x), through three recorded orders
    third = grad(lambda t: grad(lambda s: grad(lambda r: sps.gammaln(r).sum())(s).sum())(t)
                 .sum())(x)
    np.testing.assert_allclose(third, scipy_special.polygamma(2, x), rtol=1e-13)
    d1, d2 = _derivatives(lambda t: sps.polygamma(2, t), x)
    np.testing.assert_allclose(d1, scipy_special.polygamma(3, x), rtol=1e-13)
    np.testing.assert_allclose(d2, scipy_special.polygamma(4, x), rtol=1e-13)
    d1, _ = _derivatives(sps.gamma, x)
    np.testing.assert_allclose(d1, scipy_special.gamma(x) * scipy_special.digamma(x),
                               rtol=1e-14)


def test_derivatives_of_the_error_functions_are_their_closed_forms():
    x = np.array([-3.0, -0.4, 0.0, 0.7, 2.0])
    d1, d2 = _derivatives(sps.erf, x)
    np.testing.assert_allclose(d1, 2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-15)
    np.testing.assert_allclose(d2, -4 * x / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-15)
    p = np.array([0.01, 0.3, 0.5, 0.9])
    y = scipy_special.erfinv(p)
    d1, d2 = _derivatives(sps.erfinv, p)
    np.testing.assert_allclose(d1, np.sqrt(np.pi) / 2 * np.exp(y * y), rtol=1e-14)
    # d/dp of sqrt(pi)/2 exp(y^2) = sqrt(pi)/2 exp(y^2) 2 y dy/dp
    np.testing.assert_allclose(d2, 2 * y * d1 * d1, rtol=1e-14)
    q = scipy_special.ndtri(p)
    d1, _ = _derivatives(sps.ndtri, p)
    np.testing.assert_allclose(d1, np.sqrt(2 * np.pi) * np.exp(q * q / 2), rtol=1e-14)


def _mills_ratio(x):
    """pdf(x) / cdf(x) for x -> -inf: -x / (1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8 - ...)."""
    series = 1 - 1 / x**2 + 3 / x**4 - 15 / x**6 + 105 / x**8 - 945 / x**10
    return -x / series


def test_log_ndtr_derivative_is_accurate_in_the_left_tail():
    """d log ndtr(x) = pdf(x) / ndtr(x), written with erfcx: accurate where ndtr(x)
    underflows (x = -40 gives 1e-350), and where exp(-x^2/2 - log_ndtr(x)) would lose digits
    (JAX's rule, 5e-9 of them at x = -1e4)."""
    x = np.array([-40.0, -100.0, -1e4])
    np.testing.assert_allclose(grad(lambda t: sps.log_ndtr(t).sum())(x), _mills_ratio(x),
                               rtol=1e-14)


def test_log_ndtr_derivatives_agree_with_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def ratio(x):  # pdf / cdf, the first derivative
        return mp.npdf(x) / mp.ncdf(x)

    x = np.array([-100.0, -40.0, -3.0, 0.0, 2.0, 9.0])
    expected = [[float(ratio(v)) for v in x], [float(mp.diff(ratio, v)) for v in x]]
    for ours, exact in zip(_derivatives(sps.log_ndtr, x), expected):
        np.testing.assert_allclose(ours, exact, rtol=1e-11)


def test_bessel_derivatives():
    # at 0, from the series i0(x) = 1 + x^2/4 + ..., i1(x) = x/2 + x^3/16 + ...: i0' = 0,
    # i0'' = 1/2, i1' = 1/2, i1'' = 0 (JAX, which computes i0 as exp(|x|) i0e(x), gives 1 for
    # i0'(0) and i1''(0))
    zero = np.zeros(1)
    assert [d.tolist() for d in _derivatives(sps.i0, zero)] == [[0.0], [0.5]]
    assert [d.tolist() for d in _derivatives(sps.i1, zero)] == [[0.5], [0.0]]
    x = np.array([-3.0, -0.2, 0.4, 1.0, 6.0])
    np.testing.assert_allclose(_derivatives(sps.i0, x)[0], scipy_special.i1(x), rtol=1e-15)
    np.testing.assert_allclose(_derivatives(sps.i1, x)[0],
                               scipy_special.i0(x) - scipy_special.i1(x) / x, rtol=1e-14)
    np.testing.assert_allclose(_derivatives(sps.i0e, x)[0],
                               scipy_special.i1e(x) - np.sign(x) * scipy_special.i0e(x),
                               rtol=1e-14)
    for f in (sps.i0, sps.i1, sps.i0e, sps.i1e):
        check_grads(lambda t: f(t), (x,), order=2)


def test_derivatives_where_scipy_is_not_differentiable():
    """The one-sided or conventional values, JAX's (compared with JAX below)."""
    def slope(f, *args, argnums=0):
        return grad(lambda *a: f(*a).sum(), argnums=argnums)(*[np.array(a) for a in args])

    assert slope(sps.i1, [0.0]).tolist() == [0.5]  # i1(x) = x/2 + O(x^3)
    assert slope(sps.i1e, [0.0]).tolist() == [0.5]
    assert slope(sps.i1, [1e-310]).tolist() == [0.5]  # (no 1/x overflow)
    assert slope(sps.i0e, [0.0]).tolist() == [0.0]  # the kink of exp(-|x|)
    # entr: the one-sided slope at 0, and 0 where entr is the constant -inf (JAX: NaN there)
    assert slope(sps.entr, [0.0, -1.0]).tolist() == [np.inf, 0.0]
    assert slope(sps.xlogy, [0.0], [2.0]).tolist() == [np.log(2.0)]
    assert slope(sps.xlogy, [0.0], [2.0], argnums=1).tolist() == [0.0]
    assert slope(sps.xlog1py, [0.0], [1.0]).tolist() == [np.log(2.0)]
    # rel_entr and kl_div off x, y > 0: rel_entr's derivatives are 0, kl_div's -1 and 1
    for x, y in ([0.0, 1.0], [-1.0, 1.0], [1.0, 0.0]):
        assert slope(sps.rel_entr, [x], [y]).tolist() == [0.0]
        assert slope(sps.rel_entr, [x], [y], argnums=1).tolist() == [0.0]
        assert slope(sps.kl_div, [x], [y]).tolist() == [-1.0]
        assert slope(sps.kl_div, [x], [y], argnums=1).tolist() == [1.0]
    # gammaln at a negative non-integer: digamma there (the derivative of log |Gamma|)
    np.testing.assert_allclose(slope(sps.gammaln, [-0.5, -2.5]),
                               scipy_special.digamma([-0.5, -2.5]), rtol=1e-15)


UNARY_VS_JAX = {
    "gammaln": np.array([-2.5, -0.5, 0.3, 1.0, 4.0, 30.0]),
    "digamma": np.array([-2.5, -0.5, 0.3, 1.0, 4.0, 30.0]),
    "gamma": np.array([-2.5, -0.5, 0.3, 1.0, 4.0]),
    "erf": REAL[1:-1], "erfc": REAL[1:-1], "erfcx": REAL[1:-1],
    "erfinv": np.array([-0.99, -0.3, 0.0, 0.5, 0.9]),
    "ndtr": REAL[1:-1], "ndtri": np.array([1e-6, 0.1, 0.5, 0.8, 0.999]),
    # (in the far left tail JAX's second derivative loses digits: mpmath's are the oracle)
    "log_ndtr": np.array([-3.0, 0.0, 2.0, 9.0]),
    "expit": REAL, "logit": np.array([1e-3, 0.2, 0.5, 0.7, 0.999]),
    # (not at 0 for i0 and i1, where JAX's are wrong: see test_bessel_derivatives)
    "i0": np.array([-3.0, -0.2, 0.4, 6.0]), "i1": np.array([-3.0, -0.2, 0.4, 6.0]),
    "i0e": np.array([-3.0, -0.2, 0.4, 6.0]), "i1e": np.array([-3.0, -0.2, 0.0, 0.4, 6.0]),
    "entr": np.array([1e-3, 0.5, 1.0, 3.0]),
}
BINARY_VS_JAX = {
    "betaln": (np.array([0.3, 1.0, 2.5, 7.0]), np.array([0.8, 2.0, 0.4, 3.0])),
    "beta": (np.array([0.3, 1.0, 2.5, 7.0]), np.array([0.8, 2.0, 0.4, 3.0])),
    "xlogy": (np.array([0.0, 0.5, -2.0, 3.0]), np.array([2.0, 0.1, 1.5, 4.0])),
    "xlog1py": (np.array([0.0, 0.5, -2.0, 3.0]), np.array([2.0, -0.5, 1.5, 4.0])),
    "rel_entr": (np.array([0.0, 0.5, 2.0, -1.0]), np.array([1.0, 0.1, 3.0, 1.0])),
    "kl_div": (np.array([0.0, 0.5, 2.0, -1.0]), np.array([1.0, 0.1, 3.0, 1.0])),
}


def _jax():
    jax = pytest.importorskip("jax")
    import jax.scipy.special as jsp

    return jax, jsp


@pytest.mark.parametrize("name", UNARY_VS_JAX)
def test_first_and_second_derivatives_agree_with_jax(name):
    jax, jsp = _jax()
    x = UNARY_VS_JAX[name]
    with jax.enable_x64(True):
        f = getattr(jsp, name)
        d1 = jax.grad(lambda t: f(t).sum())
        d2 = jax.grad(lambda t: d1(t).sum())
        theirs = [np.asarray(jax.jit(d1)(x)), np.asarray(jax.jit(d2)(x))]  # (jit: faster)
    ours = _derivatives(getattr(sps, name), x)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("name", BINARY_VS_JAX)
def test_derivatives_of_two_inputs_agree_with_jax(name):
    jax, jsp = _jax()
    x, y = BINARY_VS_JAX[name]
    ours_f, theirs_f = getattr(sps, name), getattr(jsp, name)
    with jax.enable_x64(True):
        theirs = jax.grad(lambda a, b: theirs_f(a, b).sum(), argnums=(0, 1))(x, y)
        hessian = jax.grad(lambda a, b: sum(g.sum() for g in jax.grad(
            lambda c, d: theirs_f(c, d).sum(), argnums=(0, 1))(a, b)), argnums=(0, 1))(x, y)
    ours = grad(lambda a, b: ours_f(a, b).sum(), argnums=(0, 1))(x, y)
    ours_hessian = grad(lambda a, b: sum(g.sum() for g in grad(
        lambda c, d: ours_f(c, d).sum(), argnums=(0, 1))(a, b)), argnums=(0, 1))(x, y)
    for a, b in zip((*ours, *ours_hessian), (*theirs, *hessian)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-10)


def test_polygamma_and_multigammaln_derivatives_agree_with_jax():
    jax, jsp = _jax()
    x = np.array([0.3, 1.0, 2.5, 9.0])
    for n in (0, 1, 3):
        with jax.enable_x64(True):
            theirs = np.asarray(jax.grad(lambda t: jsp.polygamma(n, t).sum())(x))
        np.testing.assert_allclose(grad(lambda t: sps.polygamma(n, t).sum())(x), theirs,
                                   rtol=1e-10)
    a = np.array([2.0, 3.5, 10.0])
    with jax.enable_x64(True):
        theirs = np.asarray(jax.grad(lambda t: jsp.multigammaln(t, 3).sum())(a))
    np.testing.assert_allclose(grad(lambda t: sps.multigammaln(t, 3).sum())(a), theirs,
                               rtol=1e-12)


TORCH = {
    "gammaln": np.array([-2.5, 0.3, 1.0, 4.0]), "digamma": np.array([-2.5, 0.3, 1.0, 4.0]),
    "psi": np.array([0.3, 4.0]), "erf": REAL[1:-1], "erfc": REAL[1:-1],
    "erfcx": REAL[1:-1],
    "erfinv": np.array([-0.9, 0.0, 0.5]), "ndtr": REAL[1:-1],
    "ndtri": np.array([0.01, 0.5, 0.9]), "log_ndtr": np.array([-40.0, -3.0, 0.0, 2.0]),
    "expit": REAL, "logit": np.array([0.2, 0.5, 0.7]), "i0": np.array([-3.0, 0.4, 6.0]),
    "i1": np.array([-3.0, 0.4, 6.0]), "i0e": np.array([-3.0, 0.4, 6.0]),
    "i1e": np.array([-3.0, 0.4, 6.0]), "entr": np.array([1e-3, 0.5, 3.0]),
    "sinc": np.array([-1.5, 0.3, 2.2]),
}


@pytest.mark.parametrize("name", TORCH)
def test_derivatives_agree_with_pytorch(name):
    torch = pytest.importorskip("torch")
    x = TORCH[name]
    t = torch.tensor(x, requires_grad=True)
    (d1,) = torch.autograd.grad(getattr(torch.special, name)(t).sum(), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), t)
    for ours, theirs in zip(_derivatives(getattr(sps, name), x), (d1, d2)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-9)


def test_polygamma_and_xlogy_derivatives_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    x, y = np.array([0.3, 1.0, 4.0]), np.array([0.5, 2.0, 3.0])
    t = torch.tensor(x, requires_grad=True)
    (theirs,) = torch.autograd.grad(torch.special.polygamma(2, t).sum(), t)
    np.testing.assert_allclose(grad(lambda a: sps.polygamma(2, a).sum())(x), theirs.numpy(),
                               rtol=1e-12)
    for name in ("xlogy", "xlog1py"):
        a, b = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        theirs = torch.autograd.grad(getattr(torch.special, name)(a, b).sum(), (a, b))
        ours = grad(lambda p, q: getattr(sps, name)(p, q).sum(), argnums=(0, 1))(x, y)
        for u, v in zip(ours, theirs):
            np.testing.assert_allclose(u, v.numpy(), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# logsumexp, softmax, log_softmax, multigammaln (composed of primitives)


A = rng.standard_normal((3, 4))
B = rng.uniform(0.5, 2.0, (3, 4)) * np.array([1.0, -1.0, 1.0, 1.0])  # one negative column


@pytest.mark.parametrize("kwargs", [
    {}, {"axis": 1}, {"axis": -2, "keepdims": True}, {"axis": (0, 1)},
    {"b": B}, {"b": B[0], "axis": 1}, {"b": B, "axis": 0, "return_sign": True},
    {"b": B, "return_sign": True, "keepdims": True}, {"return_sign": True, "axis": 1},
    {"b": np.array([0.0, 2.0, 0.0, 1.0]), "axis": 1},
], ids=lambda kwargs: ",".join(kwargs) or "plain")
def test_logsumexp(kwargs):
    expected = scipy_special.logsumexp(A, **kwargs)
    got = sps.logsumexp(cr.tensor(A, requires_grad=True),
                        **{k: cr.tensor(v) if k == "b" else v for k, v in kwargs.items()})
    for ours, theirs in zip(got if kwargs.get("return_sign") else (got,),
                            expected if kwargs.get("return_sign") else (expected,)):
        assert ours.shape == np.shape(theirs)
        np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=1e-13)
    # differentiable in a and b, both modes, to second order
    if "b" in kwargs:
        options = {k: v for k, v in kwargs.items() if k not in ("b", "return_sign")}
        b = np.broadcast_to(kwargs["b"], A.shape) if kwargs["b"].ndim < 2 else kwargs["b"]
        if (scipy_special.logsumexp(A, b=b, axis=options.get("axis"),
                                    return_sign=True)[1] > 0).all():
            check_grads(lambda a, w: sps.logsumexp(a, b=w, **options), (A, b), order=2)
        check_grads(lambda a, w: sps.logsumexp(a, b=w, return_sign=True, **options)[0],
                    (A, kwargs["b"]), order=2)
    else:
        check_grads(lambda a: sps.logsumexp(a, **kwargs), (A,), order=2)


def test_logsumexp_of_a_negative_sum_is_nan_without_return_sign():
    a, b = cr.tensor([1.0, 2.0], dtype=cr.float64), np.array([1.0, -2.0])
    assert np.isnan(scipy_special.logsumexp(a.numpy(), b=b))
    assert np.isnan(float(sps.logsumexp(a, b=b)))
    value, sign = sps.logsumexp(a, b=b, return_sign=True)
    assert float(sign) == -1.0
    np.testing.assert_allclose(float(value), np.log(2 * np.exp(2.0) - np.exp(1.0)), rtol=1e-15)


def test_logsumexp_does_not_overflow_and_keeps_float32():
    a = cr.tensor([1000.0, 1000.0], requires_grad=True)
    out = sps.logsumexp(a, b=cr.tensor([1.0, 3.0]))
    assert out.dtype == cr.float32
    np.testing.assert_allclose(out.item(), 1000 + np.log(4.0), rtol=1e-7)
    out.backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.25, 0.75], rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(name, axis):
    ours, theirs = getattr(sps, name), getattr(scipy_special, name)
    got = ours(cr.tensor(A, requires_grad=True), axis=axis)
    np.testing.assert_allclose(got.detach().numpy(), theirs(A, axis=axis), rtol=1e-14,
                               atol=1e-15)
    check_grads(lambda a: ours(a, axis=axis), (A,), order=2)


def test_multigammaln():
    a = np.array([2.0, 3.5, 10.0])
    got = sps.multigammaln(cr.tensor(a, requires_grad=True), 3)
    np.testing.assert_allclose(got.detach().numpy(), scipy_special.multigammaln(a, 3),
                               rtol=1e-14)
    # d/da sum_j gammaln(a - j/2) = sum_j digamma(a - j/2)
    expected = sum(scipy_special.digamma(a - j / 2) for j in range(3))
    np.testing.assert_allclose(grad(lambda t: sps.multigammaln(t, 3).sum())(a), expected,
                               rtol=1e-14)
    check_grads(lambda t: sps.multigammaln(t, 3), (a,), order=2)
    with pytest.raises(ValueError, match=r"chainrule.scipy.special.multigammaln: condition a"):
        sps.multigammaln(cr.tensor([0.9, 3.0]), 3)
    with pytest.raises(ValueError, match=r"multigammaln: d should be a positive integer"):
        sps.multigammaln(cr.tensor([3.0]), 2.5)


# --------------------------------------------------------------------------------------------
# transforms, errors


def test_plain_numpy_code_is_differentiated_by_the_transforms():
    def log_likelihood(alpha):  # the log density of Dirichlet(alpha) at p
        p = np.array([0.2, 0.3, 0.5])
        return (sps.gammaln(alpha.sum()) - sps.gammaln(alpha).sum()
                + sps.xlogy(alpha - 1, p).sum())

    alpha = np.array([1.5, 2.0, 3.0])
    expected = scipy_special.digamma(alpha.sum()) - scipy_special.digamma(alpha) + np.log(
        [0.2, 0.3, 0.5])
    got = grad(log_likelihood)(alpha)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_polygamma_order_has_no_gradient():
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"chainrule.scipy.special.polygamma: n, the order"):
        sps.polygamma(cr.tensor(1.0, requires_grad=True), x)
    with pytest.raises(ValueError, match=r"polygamma: n, the order .* integral.*1.5"):
        sps.polygamma(1.5, x)
    out = sps.polygamma(cr.tensor([1, 2]), 3.0)  # a Tensor n (of ints): a Tensor result
    assert isinstance(out, cr.Tensor)
    np.testing.assert_array_equal(out.numpy(), scipy_special.polygamma([1, 2], 3.0))


def test_bad_inputs_name_the_function():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"chainrule.scipy.special.gammaln: .*\(out\).*Tensors"):
        sps.gammaln(x, out=np.empty(2))
    with pytest.raises(ValueError, match=r"chainrule.scipy.special.xlogy: .*broadcast"):
        sps.xlogy(x, cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(IndexError, match=r"chainrule.scipy.special.logsumexp: .*range"):
        sps.logsumexp(x, axis=3)
    with pytest.raises(TypeError):
        sps.erf(x, x)  # one argument, as SciPy's erf


def test_functions_not_covered_say_so():
    with pytest.raises(AttributeError, match=r"chainrule.scipy.special.hyp2f1: "
                                             r"scipy.special.hyp2f1 has no derivative rules"):
        sps.hyp2f1  # noqa: B018
    assert not hasattr(sps, "hyp2f1")
    with pytest.raises(AttributeError, match="has no attribute 'not_a_function'"):
        sps.not_a_function  # noqa: B018
    assert set(sps.__all__) <= set(dir(scipy_special))
