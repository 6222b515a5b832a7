"""Tensor hooks and post-accumulate-grad hooks: order, replacement of the gradient, errors,
and what a hook may and may not change. PyTorch's autograd semantics, §7.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals


class TestTensorHooks:
    def test_H1_handle_removes_hook_and_remove_twice_is_ok(self):
        x = R([1.0, 2.0])
        y = x * 2
        calls = []
        h = y.register_hook(lambda g: calls.append(1))
        assert hasattr(h, "remove")
        h.remove()
        h.remove()
        y.sum().backward()
        assert calls == []
        np.testing.assert_array_equal(vals(x.grad), [2.0, 2.0])

    def test_H2_hook_returning_none_observes_only(self):
        x = R([1.0, 2.0])
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(vals(g)))
        (y * cr.tensor([3.0, 4.0])).sum().backward()
        assert len(seen) == 1
        np.testing.assert_array_equal(seen[0], [3.0, 4.0])
        np.testing.assert_array_equal(vals(x.grad), [6.0, 8.0])

    def test_H3_hook_returning_tensor_replaces_grad(self):
        x = R([1.0, 2.0])
        y = 2 * x
        y.register_hook(lambda g: g * 10)
        y.sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [20.0, 20.0])

    def test_H4_hook_on_leaf_runs_before_accumulation(self):
        x = R([1.0, 2.0])
        x.grad = cr.tensor([1.0, 1.0])
        seen = []

        def hook(g):
            seen.append(vals(g))
            return g * 3

        x.register_hook(hook)
        (x * 2).sum().backward()
        np.testing.assert_array_equal(seen[0], [2.0, 2.0])  # the incoming grad only
        np.testing.assert_array_equal(vals(x.grad), [1.0 + 6.0, 1.0 + 6.0])

    def test_H5_hook_on_tensor_not_requiring_grad_raises(self):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                               "require gradient"):
            cr.ones(2).register_hook(lambda g: g)

    def test_H6_hook_changing_shape_raises(self):
        x = R([1.0, 2.0])
        y = x * 2
        y.register_hook(lambda g: cr.ones(3))
        with pytest.raises(RuntimeError, match="has changed the size of value"):
            y.sum().backward()

    def test_H7_hook_changing_dtype_raises(self):
        x = R([1.0, 2.0])
        y = x * 2
        y.register_hook(lambda g: g.double())
        with pytest.raises(RuntimeError, match="has changed the type of value"):
            y.sum().backward()

    def test_H8_hooks_run_in_registration_order(self):
        x = R([1.0, 2.0])
        y = x * 1
        seen = []

        def first(g):
            seen.append(("first", vals(g).tolist()))
            return g + 1

        def second(g):
            seen.append(("second", vals(g).tolist()))
            return g * 2

        y.register_hook(first)
        y.register_hook(second)
        y.sum().backward()
        assert seen == [("first", [1.0, 1.0]), ("second", [2.0, 2.0])]
        np.testing.assert_array_equal(vals(x.grad), [4.0, 4.0])

    def test_H9_hook_on_leaf_fires_with_autograd_grad(self):
        x = R([1.0, 2.0])
        seen = []

        def hook(g):
            seen.append(vals(g))
            return g * 10

        x.register_hook(hook)
        (g,) = cr.autograd.grad((2 * x).sum(), x)
        assert len(seen) == 1
        np.testing.assert_array_equal(seen[0], [2.0, 2.0])
        np.testing.assert_array_equal(vals(g), [20.0, 20.0])
        assert x.grad is None


class TestPostAccumulateGradHooks:
    def test_H20_hook_receives_tensor_after_accumulation(self):
        x = R([1.0, 2.0])
        seen = []

        def hook(t):
            assert t is x
            seen.append(vals(t.grad))

        x.register_post_accumulate_grad_hook(hook)
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        assert len(seen) == 2
        np.testing.assert_array_equal(seen[0], [2.0, 2.0])
        np.testing.assert_array_equal(seen[1], [5.0, 5.0])

    def test_H21_post_accumulate_hook_on_nonleaf_raises(self):
        y = R([1.0, 2.0]) * 2
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered "
                                               "on non-leaf tensors"):
            y.register_post_accumulate_grad_hook(lambda t: None)

    def test_H22_post_accumulate_hook_returning_value_raises(self):
        x = R([1.0, 2.0])
        x.register_post_accumulate_grad_hook(lambda t: t.grad)
        with pytest.raises(RuntimeError, match="Tensor post accumulate grad hooks should return "
                                               "None"):
            (x * 2).sum().backward()

    def test_H23_multiple_post_accumulate_hooks_run_in_order(self):
        x = R([1.0, 2.0])
        order = []
        x.register_post_accumulate_grad_hook(lambda t: order.append(1))
        x.register_post_accumulate_grad_hook(lambda t: order.append(2))
        h = x.register_post_accumulate_grad_hook(lambda t: order.append(3))
        (x * 2).sum().backward()
        assert order == [1, 2, 3]
        h.remove()
        (x * 2).sum().backward()
        assert order == [1, 2, 3, 1, 2]

    def test_H23_optimizer_step_inside_backward(self):
        x = R([1.0, 2.0])

        def sgd_step(t):
            with cr.no_grad():
                t -= 0.5 * t.grad
            t.grad = None

        x.register_post_accumulate_grad_hook(sgd_step)
        (x * x).sum().backward()  # grad 2x = [2, 4]
        np.testing.assert_allclose(vals(x), [0.0, 0.0])
        assert x.grad is None


# --------------------------------------------------------------------------------------------
# what a hook's argument and result share with the engine


def test_leaf_hook_argument_is_not_reused_as_grad_buffer():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    log = []
    x.register_hook(lambda g: log.append(g))  # the usual way of logging gradients
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert log[0].tolist() == [2.0, 4.0, 6.0]  # chainrule: [4, 8, 12]
    assert x.grad.tolist() == [4.0, 8.0, 12.0]


def test_tensor_returned_by_hook_is_not_mutated():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([7.0, 7.0])
    h = a * 2
    h.register_hook(lambda g: c)
    y = (h * h + h).sum()
    y.backward(inputs=[h], retain_graph=True)
    y.backward(inputs=[h])
    assert h.grad.tolist() == [14.0, 14.0]
    assert c.tolist() == [7.0, 7.0]  # chainrule: [14, 14]


def test_hook_cannot_change_an_array_the_gradient_borrows():
    """``(x * y).sum()``'s gradient for ``x`` is ``y`` itself (no multiplication by ones on
    large arrays): a hook that changes its argument in place must not change ``y``."""
    y0 = np.full(10_000, 3.0)
    x = cr.tensor(np.ones(10_000), requires_grad=True)
    y = cr.tensor(y0)

    def halve_in_place(g):
        g *= 0.5

    x.register_hook(halve_in_place)
    with pytest.raises(RuntimeError, match="cannot write into this tensor"):
        (x * y).sum().backward()
    np.testing.assert_array_equal(y.numpy(), y0)
    seen = []
    x2 = cr.tensor(np.ones(10_000), requires_grad=True)
    x2.register_hook(lambda g: seen.append(g.numpy().copy()))  # reading is fine
    (x2 * y).sum().backward()
    np.testing.assert_array_equal(seen[0], y0)
    np.testing.assert_array_equal(x2.grad.numpy(), y0)
