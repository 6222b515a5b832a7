"""Rules at their special points: non-differentiable points, ties, bounds, zeros, NaN and
empty inputs (PyTorch's autograd semantics, §6.4, and the cases around it).

Expected values are PyTorch's, written out in closed form; the spec is
``/work/shared/reference/pytorch_autograd.md`` (see ``tests/autograd_spec.py``).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads
from tests.autograd_spec import R, vals


class TestNonDifferentiablePoints:
    """Every row of the spec's §6.4 table (atan2 and median: chainrule has neither)."""

    def test_abs_at_zero_is_zero(self):
        x = R([-2.0, 0.0, 3.0])
        x.abs().sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [-1.0, 0.0, 1.0])

    def test_relu_at_zero_is_zero(self):
        x = R([-2.0, 0.0, 3.0])
        x.relu().sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0, 1.0])

    def test_sqrt_at_zero_is_inf(self):
        x = R([0.0, 4.0])
        with np.errstate(divide="ignore"):
            x.sqrt().sum().backward()
        g = vals(x.grad)
        assert g[0] == np.inf
        assert g[1] == pytest.approx(0.25)  # 1 / (2 sqrt(4))

    def test_norm_of_zero_vector_is_zero(self):
        x = R([0.0, 0.0, 0.0])
        with np.errstate(divide="ignore", invalid="ignore"):
            x.norm().backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0, 0.0])

    def test_norm_away_from_zero(self):
        x = R([3.0, 4.0])
        x.norm().backward()
        np.testing.assert_allclose(vals(x.grad), [0.6, 0.8])  # x / |x|

    @pytest.mark.parametrize("reduce, data", [
        ("max", [1.0, 3.0, 3.0]),
        ("min", [3.0, 1.0, 1.0]),
        ("amax", [1.0, 3.0, 3.0]),
        ("amin", [3.0, 1.0, 1.0]),
    ])
    def test_full_reduction_ties_split_evenly(self, reduce, data):
        x = R(data)
        getattr(x, reduce)().backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.5, 0.5])

    def test_full_max_with_three_way_tie(self):
        x = R([[2.0, 2.0], [1.0, 2.0]])
        (x.max() * 6).backward()
        np.testing.assert_allclose(vals(x.grad), [[2.0, 2.0], [0.0, 2.0]])

    @pytest.mark.parametrize("reduce, data", [("max", [1.0, 3.0, 3.0]),
                                              ("min", [3.0, 1.0, 1.0])])
    def test_max_with_dim_ties_give_all_to_one_index(self, reduce, data):
        x = R(data)
        getattr(x, reduce)(dim=0).values.backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 1.0, 0.0])

    @pytest.mark.parametrize("kwargs, point", [({"min": 2.0}, 2.0), ({"max": 2.0}, 2.0),
                                               ({"min": -1.0, "max": 2.0}, -1.0)])
    def test_clamp_boundary_passes_gradient(self, kwargs, point):
        x = R([point, 10.0, -10.0])
        cr.clamp(x, **kwargs).sum().backward()
        lo, hi = kwargs.get("min", -np.inf), kwargs.get("max", np.inf)
        expected = [1.0] + [1.0 if lo <= v <= hi else 0.0 for v in (10.0, -10.0)]
        np.testing.assert_array_equal(vals(x.grad), expected)

    @pytest.mark.parametrize("exponent, expected", [(0, 0.0), (2, 0.0), (0.0, 0.0), (2.0, 0.0)])
    def test_pow_at_zero(self, exponent, expected):
        x = R(0.0)
        (x ** exponent).backward()
        assert x.grad.item() == expected

    def test_pow_zero_exponent_tensor_at_zero(self):
        x = R([0.0, 2.0])
        with np.errstate(divide="ignore", invalid="ignore"):
            (x ** cr.tensor([0.0, 0.0])).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0])

    def test_where_leaks_nan_from_unselected_branch(self):
        # README: chainrule follows PyTorch here (the masked branch's inf/NaN gives NaN)
        a = R([0.0, 1.0])
        with np.errstate(divide="ignore", invalid="ignore"):
            cr.where(a > 0, a.log(), 0.0).sum().backward()
        g = vals(a.grad)
        assert np.isnan(g[0])
        assert g[1] == 1.0

    def test_where_double_where_workaround_has_no_nan(self):
        a = R([0.0, 1.0])
        safe = cr.where(a > 0, a, 1.0)
        cr.where(a > 0, safe.log(), 0.0).sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [0.0, 1.0])

    def test_division_by_zero_masked_afterwards_gives_nan(self):
        x = R([1.0, 1.0])
        div = cr.tensor([0.0, 1.0])
        with np.errstate(divide="ignore", invalid="ignore"):
            y = x / div
            mask = div != 0
            y[mask].sum().backward()
        g = vals(x.grad)
        assert np.isnan(g[0])
        assert g[1] == 1.0

    def test_forward_nan_propagates_silently(self):
        x = R([-1.0, 4.0])
        with np.errstate(invalid="ignore"):
            x.sqrt().sum().backward()
        g = vals(x.grad)
        assert np.isnan(g[0])
        assert g[1] == pytest.approx(0.25)


# --------------------------------------------------------------------------------------------
# bounds given as tensors, and reductions over empty dims


def test_clamp_tensor_bound_passes_gradient_at_the_bound():
    x = cr.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    lo = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    cr.clamp(x, min=lo).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]  # chainrule: [0, 0.5, 1]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0]  # chainrule: [1, 0.5, 0]


def test_mean_over_an_empty_dim_has_a_gradient_of_the_input_shape():
    x = cr.zeros((0, 3), dtype=cr.float64, requires_grad=True)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.mean(0).sum().backward()
    assert x.grad.shape == (0, 3)


class TestPyTorchsSubgradients:
    """Where a composition of rules would give NaN, PyTorch documents a value (issue 13, I)."""

    @pytest.mark.parametrize("p", [3, 1.5, 0.5, 4.0])
    def test_a_p_norm_at_zero_has_gradient_zero(self, p):
        for f in (lambda x: x.norm(p=p), lambda x: cr.linalg.vector_norm(x, ord=p)):
            x = R([0.0, 0.0])
            f(x).backward()
            np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0])

    @pytest.mark.parametrize("p", [3, 1.5, 0.5])
    def test_a_zero_entry_of_a_nonzero_vector_gets_zero(self, p):
        # d ||x||_p / dx_i = sign(x_i) (|x_i| / ||x||_p)^(p - 1): 0 at x_i = 0, 1 at x = (0, 1)
        x = R([0.0, 1.0])
        x.norm(p=p).backward()
        np.testing.assert_allclose(vals(x.grad), [0.0, 1.0])

    def test_a_p_norm_gradient_elsewhere_is_the_closed_form(self):
        a = np.array([1.0, -2.0, 0.5])
        x = R(a)
        x.norm(p=3).backward()
        norm = np.sum(np.abs(a) ** 3) ** (1 / 3)
        np.testing.assert_allclose(vals(x.grad), np.sign(a) * (np.abs(a) / norm) ** 2)

    @pytest.mark.parametrize("correction", [0, 1])
    def test_std_at_zero_variance_has_gradient_zero(self, correction):
        x = R([2.0, 2.0, 2.0])
        x.std(correction=correction).backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0, 0.0])

    def test_std_of_one_element_without_correction_has_gradient_zero(self):
        x = R([2.0])
        x.std(correction=0).backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0])

    @pytest.mark.parametrize("reduce", ["max", "min"])
    def test_max_of_all_elements_sends_the_gradient_to_the_nans(self, reduce):
        x = R([1.0, np.nan, 3.0, np.nan])
        getattr(x, reduce)().backward()
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.5, 0.0, 0.5])

    def test_amax_of_a_nan_gives_nan_as_pytorchs(self):
        x = R([1.0, np.nan, 3.0])
        with np.errstate(invalid="ignore"):
            x.amax().backward()
        assert np.isnan(vals(x.grad)).all()


def test_the_subgradients_agree_with_pytorch():
    """Extra evidence where PyTorch is installed."""
    torch = pytest.importorskip("torch")
    cases = {
        "norm3 at 0": (lambda m, x: m.linalg.vector_norm(x, ord=3), [0.0, 0.0]),
        "norm0.5": (lambda m, x: x.norm(p=0.5), [0.0, 1.0, -2.0]),
        "std": (lambda m, x: x.std(), [1.0, 1.0, 1.0]),
        "max nan": (lambda m, x: x.max(), [1.0, np.nan, 3.0]),
        "min nan": (lambda m, x: x.min(), [np.nan, 1.0, np.nan]),
    }
    for name, (f, data) in cases.items():
        ours = cr.tensor(data, dtype=cr.float64, requires_grad=True)
        theirs = torch.tensor(data, dtype=torch.float64, requires_grad=True)
        with np.errstate(all="ignore"):
            f(cr, ours).backward()
        f(torch, theirs).backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), err_msg=name)


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("step", [cr.floor, cr.ceil, cr.round, cr.trunc, cr.sign])
def test_piecewise_constant_functions_stop_nan_gradients(step):
    """Their derivative is exactly 0, also where the gradient from further on is NaN (as in
    PyTorch and JAX): NaN * 0 must not leak through."""
    x = cr.tensor([0.3, -0.2], dtype=cr.float64, requires_grad=True)
    r = step(x)  # exact zeros (or signs), where atan2's gradient below is NaN
    cr.atan2(r * 0, r * 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    (g,) = cr.autograd.grad(cr.atan2(step(x) * 0, step(x) * 0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [0.0, 0.0])


@pytest.mark.parametrize("f", [lambda t: cr.cumprod(t, 0), lambda t: t.prod(),
                               lambda t: t.reshape(3, 1).prod(dim=1)])
def test_products_have_exact_second_derivatives_at_tiny_entries(f):
    """Dividing by a tiny entry is exact to rounding, but the derivative of ans / x_i
    cancels terms of size ans / x_i^2 (found by the random NumPy programs, through polyfit)."""
    check_grads(f, (np.array([1e-17, 1.2, 0.7]),), order=2)
    check_grads(f, (np.array([1e-3, 1.2, 0.7]),), order=2)


def test_relu_drops_a_nan_or_infinite_gradient_where_the_input_is_not_positive():
    # PyTorch's threshold_backward is where(x > 0, g, 0): 0, not nan, where g is nan or inf
    # and x <= 0; the product g * [x > 0] would give nan there
    x = cr.tensor([-1.0, 0.0, 2.0, -3.0, 4.0], requires_grad=True)
    g = np.array([np.nan, np.inf, np.nan, -np.inf, 1.5])
    cr.relu(x).backward(cr.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, np.nan, 0.0, 1.5])
    # the same on an array of more than 4,096 elements (the backward walk's large path)
    rng = np.random.default_rng(0)
    big = cr.tensor(rng.standard_normal(5000).astype(np.float32), requires_grad=True)
    seed = np.full(5000, np.nan, np.float32)
    cr.relu(big).backward(cr.tensor(seed))
    positive = big.detach().numpy() > 0
    assert np.isnan(big.grad.numpy()[positive]).all()
    assert (big.grad.numpy()[~positive] == 0).all()
    torch = pytest.importorskip("torch")
    xt = torch.tensor([-1.0, 0.0, 2.0, -3.0, 4.0], dtype=torch.float64, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (None, 1.0), (-1.0, None)])
def test_clamp_drops_a_nan_or_infinite_gradient_outside_its_bounds(bounds):
    # PyTorch's clamp_backward is where(lo <= x <= hi, g, 0): 0, not nan, outside (and at a
    # nan input); the product g * [lo <= x <= hi] would give nan there
    lo, hi = bounds
    values = [-2.0, 0.5, 3.0, np.nan]
    g = np.array([np.nan, np.nan, np.inf, 1.0])
    x = cr.tensor(values, requires_grad=True)
    cr.clamp(x, lo, hi).backward(cr.tensor(g))
    inside = [(lo is None or v >= lo) and (hi is None or v <= hi) for v in values]
    np.testing.assert_array_equal(x.grad.numpy(), np.where(inside, g, 0.0))
    torch = pytest.importorskip("torch")
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    torch.clamp(xt, lo, hi).backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_relu_second_order_and_forward_mode_through_its_derivative_rule():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.uniform(0.5, 2.0, 6) * rng.choice([-1.0, 1.0], 6), requires_grad=True)
    v = cr.tensor(rng.standard_normal(6), requires_grad=True)
    # d/dv <relu'(x) v, v> = 2 [x > 0] v; d/dx of it is 0 (piecewise constant)
    (gx,) = cr.autograd.grad(cr.relu(x), x, v, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), np.where(x.detach().numpy() > 0,
                                                                 v.detach().numpy(), 0.0))
    dv, dx = cr.autograd.grad((gx * v).sum(), (v, x), allow_unused=True)
    mask = x.detach().numpy() > 0
    np.testing.assert_allclose(dv.numpy(), 2 * mask * v.detach().numpy())
    assert dx is None or not dx.numpy().any()
    # forward mode: the JVP of relu is [x > 0] t
    t = rng.standard_normal(6)
    _, tangent = cr.func.jvp(cr.relu, (x.detach(),), (cr.tensor(t),))
    np.testing.assert_array_equal(tangent.numpy(), np.where(mask, t, 0.0))
