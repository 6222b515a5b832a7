"""chainrule.numpy's statistics (``chainrule/numpy_statistics.py``): order statistics, the
functions that ignore NaN, weighted averages, covariance and correlation.

Oracles: NumPy's values (bit for bit, dtypes included, over its methods, axes and dtypes),
closed forms of the derivatives (the interpolation weights of a quantile, the count of a mean),
central differences (``check_grads``) and PyTorch's gradients where it has the function."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy_statistics import METHODS
from chainrule.testing import check_grads

NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
# chainrule keeps NumPy 2's promotion rules, also on NumPy 1, whose quantiles of float32 and
# float16 arrays can be float64: their dtypes are compared on NumPy 2 only
FLOATS = [np.float64, np.float32, np.float16] if NUMPY2 else [np.float64]
# q as Python numbers, a list and NumPy's float32 (whose promotion differs in NumPy 1; so does
# an integer q, with which NumPy 1 fails, for weibull, or picks the last value for 0)
QS = [0.3, 1.0, [0.1, 0.5, 0.95]] + ([0, 1, np.float32(0.77)] if NUMPY2 else [])


def _holes(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN at every third entry, and all of its first row NaN."""
    a = a.copy()
    a.flat[::3] = np.nan
    a[0] = np.nan
    return a


def _same(ours, theirs, what) -> None:
    ours = np.asarray(ours.detach().numpy() if isinstance(ours, cr.Tensor) else ours)
    theirs = np.asarray(theirs)
    assert ours.dtype == theirs.dtype, (what, ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    np.testing.assert_array_equal(ours, theirs, err_msg=str(what))


def _both(name, a, *args, **kwargs):
    """NumPy's result on the array and chainrule's on a Tensor of it (NumPy's warnings
    silenced: both give them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = getattr(np, name)(a, *args, **kwargs)
        ours = getattr(cnp, name)(cr.tensor(a, requires_grad=a.dtype.kind == "f"), *args,
                                  **kwargs)
    return ours, theirs


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
def test_quantiles_are_numpys_to_the_bit(dtype):
    rng = np.random.default_rng(0)
    for shape, axes in (((7,), (None, 0)), ((4, 6), (None, 0, -1, (0, 1))),
                        ((2, 3, 5), (1, (0, 2)))):
        a = (rng.standard_normal(shape) * 10).astype(dtype)
        for axis in axes:
            for method in METHODS:
                for q in QS:
                    for keepdims in (False, True):
                        what = (dtype, shape, axis, method, q, keepdims)
                        _same(*_both("quantile", a, q, axis=axis, method=method,
                                     keepdims=keepdims), what)
                _same(*_both("percentile", a, [12.5, 80], axis=axis, method=method), what)
            _same(*_both("median", a, axis=axis), (dtype, shape, axis))


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_order_statistics_are_numpys_to_the_bit(dtype):
    """NaN is left out, a slice of NaN only gives NaN; NumPy's result takes the dtype of its
    first slice's, which is the array's when that slice is all NaN: chainrule's too."""
    rng = np.random.default_rng(1)
    for shape, axes in (((7,), (None, 0)), ((4, 6), (None, 0, 1, (0, 1))),
                        ((2, 700), (1,))):
        a = _holes((rng.standard_normal(shape) * 10).astype(dtype))
        for axis in axes:
            for method in METHODS:
                for q in (0.3, [0.1, 0.9], np.array(0.5)) + ((np.float32(0.6),) if NUMPY2 else ()):
                    what = (dtype, shape, axis, method, q)
                    _same(*_both("nanquantile", a, q, axis=axis, method=method), what)
                _same(*_both("nanpercentile", a, 45, axis=axis, method=method), what)
            for name in ("median", "nanmedian", "nanmax", "nanmin", "nansum", "nanprod",
                         "nanmean", "nanvar", "nanstd", "ptp"):
                _same(*_both(name, a, axis=axis), (name, dtype, shape, axis))
                _same(*_both(name, a, axis=axis, keepdims=True), (name, dtype, shape, axis))
        for name in ("nancumsum", "nancumprod"):
            _same(*_both(name, a), (name, dtype, shape))
            _same(*_both(name, a, axis=-1), (name, dtype, shape))


@pytest.mark.skipif(not NUMPY2, reason="quantile's weights are NumPy 2's")
def test_weighted_quantiles_gather_numpys_value():
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((3, 5)), rng.uniform(0.5, 2, (3, 5))
    for name in ("quantile", "nanquantile"):
        for axis in (None, 1):
            theirs = getattr(np, name)(a, [0.2, 0.7], axis=axis, method="inverted_cdf",
                                       weights=w)
            t, tw = cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)
            ours = getattr(cnp, name)(t, [0.2, 0.7], axis=axis, method="inverted_cdf",
                                      weights=tw)
            _same(ours, theirs, (name, axis))
            ours.sum().backward()
            # each result is one entry of a: its gradient is 1 there; the weights choose it
            chosen = np.isin(a, np.asarray(theirs))
            np.testing.assert_array_equal(t.grad.numpy() > 0, chosen)
            assert tw.grad is None  # (not in the graph)


def test_linear_quantile_derivatives_are_its_interpolation_weights():
    x = np.array([3.0, -1.0, 0.5, 2.0, 7.0, 1.0])  # sorted: -1, 0.5, 1, 2, 3, 7
    t, q = cr.tensor(x, requires_grad=True), cr.tensor(0.3, dtype=cr.float64,
                                                       requires_grad=True)
    cnp.quantile(t, q).backward()
    # virtual index (n - 1) q = 1.5: halfway between the sorted values 0.5 and 1
    expected = np.zeros(6)
    expected[[2, 5]] = 0.5
    np.testing.assert_allclose(t.grad.numpy(), expected)
    # and it moves with q at (n - 1) (x[2] - x[1]) = 5 * 0.5
    np.testing.assert_allclose(q.grad.numpy(), 2.5)


@pytest.mark.parametrize("method", ["inverted_cdf", "closest_observation", "lower", "higher",
                                    "nearest", "averaged_inverted_cdf", "midpoint"])
def test_methods_that_pick_values_do_not_move_with_q(method):
    x = np.array([3.0, -1.0, 0.5, 2.0, 7.0, 1.0])
    t, q = cr.tensor(x, requires_grad=True), cr.tensor(0.42, dtype=cr.float64,
                                                       requires_grad=True)
    value = cnp.quantile(t, q, method=method)
    assert float(value.detach()) == np.quantile(x, 0.42, method=method)
    value.backward()
    assert q.grad is None or float(q.grad) == 0.0
    assert t.grad.numpy().sum() == pytest.approx(1.0)  # weights of the values, summing to 1


def test_median_derivatives():
    odd, even = np.array([4.0, 1.0, 3.0]), np.array([4.0, 1.0, 3.0, 9.0])
    t = cr.tensor(odd, requires_grad=True)
    cnp.median(t).backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0, 0, 1])
    t = cr.tensor(even, requires_grad=True)
    cnp.median(t).backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0.5, 0, 0.5, 0])


NAN_FUNCTIONS = ["nanmax", "nanmin", "nansum", "nanprod", "nanmean", "nanvar", "nanstd",
                 "nanmedian", "nanquantile", "nanpercentile", "nancumsum", "nancumprod"]


@pytest.mark.parametrize("name", NAN_FUNCTIONS)
def test_nan_functions_have_zero_gradient_at_nan(name):
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 1.5, (3, 5))
    a[[0, 1, 2, 2], [1, 4, 0, 3]] = np.nan
    args = {"nanquantile": (0.35,), "nanpercentile": (60,)}.get(name, ())
    for axis in (None, 0, 1):
        t = cr.tensor(a, requires_grad=True)
        getattr(cnp, name)(t, *args, axis=axis).sum().backward()
        grad = t.grad.numpy()
        assert np.all(grad[np.isnan(a)] == 0), (name, axis)
        assert np.all(np.isfinite(grad)), (name, axis)
        check_grads(lambda x: getattr(cnp, name)(x, *args, axis=axis), (a,))


def test_nan_reductions_closed_forms():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, -2.0]])
    t = cr.tensor(a, requires_grad=True)
    cnp.nanmean(t, axis=1).sum().backward()  # 1 / (count of numbers in the row)
    np.testing.assert_array_equal(t.grad.numpy(), [[0.5, 0, 0.5], [0, 0.5, 0.5]])
    t = cr.tensor(a, requires_grad=True)
    cnp.nanmax(t, axis=0).sum().backward()  # the largest number of each column
    np.testing.assert_array_equal(t.grad.numpy(), [[1, 0, 1], [0, 1, 0]])
    t = cr.tensor(a, requires_grad=True)
    cnp.nanprod(t).backward()  # the product of the other numbers
    np.testing.assert_array_equal(t.grad.numpy(), [[-30, 0, -10], [0, -6, 15]])


def test_a_slice_of_nan_only_is_nan_with_numpys_warning():
    a = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for name in ("nanmax", "nanmean", "nanmedian", "nanvar"):
        with pytest.warns(RuntimeWarning):
            expected = getattr(np, name)(a, axis=1)
        with pytest.warns(RuntimeWarning):
            ours = getattr(cnp, name)(cr.tensor(a, requires_grad=True), axis=1)
        _same(ours, expected, name)


def test_nanstd_of_a_constant_slice_has_gradient_zero():
    t = cr.tensor([[2.0, np.nan, 2.0], [1.0, 3.0, np.nan]], requires_grad=True)
    cnp.nanstd(t, axis=1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0, 0, 0], [-0.5, 0.5, 0]])


def test_quantiles_and_their_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 7))
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        for name in ("quantile", "nanquantile"):
            ta = torch.tensor(a, requires_grad=True)
            tq = torch.tensor([0.13, 0.62], dtype=torch.float64, requires_grad=True)
            getattr(torch, name)(ta, tq, dim=1, interpolation=method).pow(2).sum().backward()
            t, q = cr.tensor(a, requires_grad=True), cr.tensor(np.array([0.13, 0.62]),
                                                                requires_grad=True)
            getattr(cnp, name)(t, q, axis=1, method=method).pow(2).sum().backward()
            np.testing.assert_allclose(t.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
            # (the methods that pick values leave q out of the graph, in both)
            assert (q.grad is None) == (tq.grad is None) == (method != "linear")
            if method == "linear":
                np.testing.assert_allclose(q.grad.numpy(), tq.grad.numpy(), rtol=1e-12)


def test_covariance_and_correlation_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    m, w = rng.standard_normal((3, 6)), rng.uniform(0.5, 2, 6)
    f = np.array([1, 2, 1, 3, 1, 2])
    for ddof in (0, 1):
        tm, tw = torch.tensor(m, requires_grad=True), torch.tensor(w, requires_grad=True)
        torch.cov(tm, correction=ddof, fweights=torch.tensor(f), aweights=tw).pow(2).sum() \
            .backward()
        cm, cw = cr.tensor(m, requires_grad=True), cr.tensor(w, requires_grad=True)
        cnp.cov(cm, ddof=ddof, fweights=f, aweights=cw).pow(2).sum().backward()
        np.testing.assert_allclose(cm.grad.numpy(), tm.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(cw.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    tm = torch.tensor(m, requires_grad=True)
    torch.corrcoef(tm).pow(3).sum().backward()
    cm = cr.tensor(m, requires_grad=True)
    cnp.corrcoef(cm).pow(3).sum().backward()
    np.testing.assert_allclose(cm.grad.numpy(), tm.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_trapezoid_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    y, x = rng.standard_normal((3, 5)), np.cumsum(rng.uniform(0.1, 1, 5))
    ty, tx = torch.tensor(y, requires_grad=True), torch.tensor(x, requires_grad=True)
    torch.trapezoid(ty, tx).pow(2).sum().backward()
    cy, cx = cr.tensor(y, requires_grad=True), cr.tensor(x, requires_grad=True)
    trapezoid = cnp.trapezoid if NUMPY2 else cnp.trapz
    trapezoid(cy, cx).pow(2).sum().backward()
    np.testing.assert_allclose(cy.grad.numpy(), ty.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_a_clipped_correlation_keeps_its_own_derivative():
    """NumPy clips rounding beyond 1; the gradient is that of the correlation, 0 at a
    perfect one, on either side of the clip."""
    t = cr.tensor(np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]]), requires_grad=True)
    c = cnp.corrcoef(t)
    np.testing.assert_array_equal(c.detach().numpy(), np.corrcoef(t.detach().numpy()))
    c[0, 1].backward()
    np.testing.assert_allclose(t.grad.numpy(), 0, atol=1e-12)


def test_average_and_its_weights():
    a, w = np.array([[1.0, 2.0, 4.0], [3.0, -1.0, 0.5]]), np.array([1.0, 2.0, 3.0])
    ta, tw = cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)
    mean, total = cnp.average(ta, axis=1, weights=tw, returned=True)
    theirs = np.average(a, axis=1, weights=w, returned=True)
    _same(mean, theirs[0], "average")
    _same(total, theirs[1], "sum of weights")
    mean.sum().backward()
    # d/dw_j of sum_i (sum_j a_ij w_j) / sum_j w_j = sum_i (a_ij - mean_i) / sum w
    np.testing.assert_allclose(tw.grad.numpy(), (a - theirs[0][:, None]).sum(0) / 6)
    np.testing.assert_allclose(ta.grad.numpy(), np.broadcast_to(w / 6, (2, 3)))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        cnp.average(ta, axis=1, weights=cr.tensor([1.0, -1.0, 0.0]))


@pytest.mark.parametrize("call, error, message", [
    (lambda t: cnp.median(t, out=np.empty(())), TypeError, r"median.*out="),
    (lambda t: cnp.quantile(t, 0.5, method="cubic"), ValueError,
     r"chainrule.numpy.quantile: 'cubic' is not a valid method"),
    (lambda t: cnp.percentile(t, 101), ValueError, r"Percentiles must be in the range"),
    (lambda t: cnp.quantile(t + 1j, 0.5), TypeError, "real numbers"),
    (lambda t: cnp.nansum(t, where=t > 0), TypeError, r"nansum.*'where'.*not supported"),
    (lambda t: cnp.average(t, weights=cr.tensor([1.0, 2.0])), TypeError, "Axis must be"),
    (lambda t: cnp.cov(t, aweights=cr.tensor([-1.0, 1.0, 1.0])), ValueError, "negative"),
    (lambda t: cnp.nanvar(t, ddof=1, correction=1), ValueError, "simultaneously"),
])
def test_bad_input_says_what_was_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(cr.tensor([[1.0, 2.0, 3.0], [4.0, 0.5, 2.0]], requires_grad=True))


def test_numpys_functions_on_a_tensor_record():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    value = np.median(t)
    assert isinstance(value, cr.Tensor) and value.requires_grad
    value.backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0, 0, 1])
