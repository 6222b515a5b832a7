"""Where the engine writes a rule's product with the gradient on large arrays
(``chainrule/buffers.py``), and the rules' side of it: ``rules.derivative``."""

import numpy as np
import pytest

from chainrule import buffers
from chainrule import rules as R

N = buffers.LARGE + 1


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.standard_normal(N), rng.standard_normal(N), rng.standard_normal(N)


def where(**overrides):
    settings = {"donated": False, "spent": (), "ans": None, "args": ()}
    settings.update(overrides)
    return settings


def test_a_derivative_rule_is_the_gradient_times_the_derivative(arrays):
    g, x, y = arrays
    exp_rule, = R.exp.vjp
    mul_x, mul_y = R.mul.vjp
    sin_rule, = R.sin.vjp
    ans = np.exp(x)
    np.testing.assert_array_equal(exp_rule(g, ans, x), g * ans)
    np.testing.assert_array_equal(mul_x(g, x * y, x, y), g * y)
    np.testing.assert_array_equal(mul_y(g, x * y, x, y), g * x)
    np.testing.assert_allclose(sin_rule(g, np.sin(x), x), g * np.cos(x))
    assert exp_rule.applied is None and sin_rule.applied is R.cos


def test_a_gradient_that_is_a_broadcast_one_gives_the_derivative_itself(arrays):
    _, x, _ = arrays
    ones = np.broadcast_to(np.ones(()), x.shape)  # the gradient of a sum
    assert buffers.product(ones, x, **where(args=(x,))) is x


def test_a_derivative_the_rule_just_made_holds_the_product(arrays):
    g, x, _ = arrays
    g_before = g.copy()
    fresh = np.cos(x)
    out = buffers.product(g, fresh, **where(args=(x,)))
    assert out is fresh
    np.testing.assert_allclose(out, g_before * np.cos(x))
    np.testing.assert_array_equal(g, g_before)


def test_a_saved_derivative_is_never_written_but_a_donated_gradient_is(arrays):
    g, x, _ = arrays
    ans = np.exp(x)
    ans_before, g_before = ans.copy(), g.copy()
    out = buffers.product(g, ans, **where(ans=ans, args=(None,)))
    assert out is not g and out is not ans  # not donated: a new array
    np.testing.assert_array_equal(ans, ans_before)
    np.testing.assert_array_equal(g, g_before)
    out = buffers.product(g, ans, **where(donated=True, ans=ans, args=(None,)))
    assert out is g
    np.testing.assert_allclose(out, g_before * ans_before)
    np.testing.assert_array_equal(ans, ans_before)


def test_a_spent_saved_input_holds_the_product(arrays):
    g, x, y = arrays
    y_before = y.copy()
    out = buffers.product(g, y, **where(spent=(y,), args=(x, y)))
    assert out is y
    np.testing.assert_allclose(out, g * y_before)


def test_a_boolean_mask_goes_into_the_gradient_or_a_new_array(arrays):
    g, x, _ = arrays
    mask = x > 0
    g_before = g.copy()
    out = buffers.product(g, mask, **where(args=(None,)))
    assert out is not g and out.dtype == g.dtype
    out = buffers.product(g, mask, **where(donated=True, args=(None,)))
    assert out is g
    np.testing.assert_array_equal(out, g_before * mask)


def test_a_derivative_of_the_input_is_computed_into_a_pooled_array(arrays):
    _, x, _ = arrays
    dead = np.empty_like(x)
    saved_pool = buffers.state.pool
    buffers.state.pool = [dead]
    try:
        out = buffers.applied_into_buffer(R.cos, x, spent=())
    finally:
        buffers.state.pool = saved_pool
    assert out is dead
    np.testing.assert_allclose(out, np.cos(x))
    assert buffers.applied_into_buffer(R.cos, x, spent=()) is None  # (no pool: the rule's own)
