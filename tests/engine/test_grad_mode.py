"""``detach`` and ``detach_``, ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and the
thread-locality of grad mode: PyTorch's autograd semantics, §4.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import threading

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals


class TestDetach:
    def test_D1_detach_shares_storage_and_version_counter(self):
        x = R([1.0, 2.0])
        d = x.detach()
        assert d.requires_grad is False
        assert d.is_leaf is True
        assert d.grad_fn is None
        d[0] = 10.0
        np.testing.assert_array_equal(vals(x), [10.0, 2.0])
        assert x._version == 1
        assert d._version == 1

    def test_D1_detach_flags_and_shared_counter_via_zero_(self):
        x = R([1.0, 2.0])
        d = x.detach()
        assert d.requires_grad is False
        assert d.is_leaf is True
        assert d.grad_fn is None
        with cr.no_grad():
            d.zero_()
        np.testing.assert_array_equal(vals(x), [0.0, 0.0])
        assert x._version == d._version == 1

    def test_D2_modifying_detached_saved_tensor_is_caught(self):
        x = R([1.0, 2.0])
        y = x.exp()
        y.detach().zero_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()

    def test_D3_data_does_not_share_version_counter(self):
        x = R([1.0, 2.0])
        y = x.exp()
        y.data.zero_()
        y.sum().backward()  # silently wrong, as in PyTorch: d exp = exp(x) = 0 now
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0])

    def test_D4_detached_operand_is_a_constant(self):
        x = R([1.0, 2.0])
        y = R([3.0, 4.0])
        z = x * y.detach()
        z.sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [3.0, 4.0])
        assert y.grad is None

    def test_D5_detach_in_place_on_nonleaf(self):
        x = R([1.0, 2.0])
        a = x * 2
        b = a * 3  # built before detach_: still backpropagates to x
        a.detach_()
        assert a.requires_grad is False
        assert a.is_leaf is True
        assert a.grad_fn is None
        (x + a).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [1.0, 1.0])
        b.sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [1.0 + 6.0, 1.0 + 6.0])

    def test_D6_detach_in_place_on_view_raises(self):
        x = R(np.arange(10.0))
        with pytest.raises(RuntimeError, match="Can't detach views in-place"):
            x[1:5].detach_()

    def test_D7_detach_in_place_on_base_keeps_views_history(self):
        x = R(np.arange(12.0).reshape(3, 4))
        view = x[1:3]
        x.detach_()
        assert x.requires_grad is False
        assert view.requires_grad is True
        assert view.grad_fn is not None
        assert view._base is x

    def test_D8_numpy_on_tensor_requiring_grad_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires "
                                               r"grad"):
            x.numpy()
        np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])

    def test_D8_numpy_works_under_no_grad(self):
        x = R([1.0, 2.0])
        with cr.no_grad():
            np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


class TestGradModes:
    def test_M1_no_grad_does_not_record(self):
        x = R([1.0, 2.0])
        with cr.no_grad():
            y = x * 2
        assert y.requires_grad is False
        assert y.grad_fn is None
        assert y.is_leaf is True
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
            y.sum().backward()
        assert (x * 2).requires_grad is True  # restored on exit

    def test_M2_decorator_forms(self):
        x = R([1.0, 2.0])

        @cr.no_grad()
        def f1(t):
            return t * 2

        def double(t):
            return t * 2

        f2 = cr.no_grad()(double)
        f3 = cr.no_grad(double)

        @cr.no_grad
        def f4(t):
            return t * 2

        @cr.enable_grad
        def g(t):
            return t * 2

        for f in (f1, f2, f3, f4):
            out = f(x)
            assert out.requires_grad is False
            np.testing.assert_array_equal(vals(out), [2.0, 4.0])
            assert cr.is_grad_enabled() is True
        with cr.no_grad():
            assert g(x).requires_grad is True
            assert cr.is_grad_enabled() is False
        assert f1.__name__ == "f1"

    def test_M3_enable_grad_inside_no_grad(self):
        x = R([1.0, 2.0])
        with cr.no_grad():
            with cr.enable_grad():
                y = x * 2
            z = x * 2
        assert y.requires_grad is True
        assert z.requires_grad is False

    def test_M4_set_grad_enabled_as_function_and_context(self):
        x = R([1.0])
        cr.set_grad_enabled(False)
        assert cr.is_grad_enabled() is False
        assert (x * 2).requires_grad is False
        cr.set_grad_enabled(True)
        assert (x * 2).requires_grad is True
        with cr.set_grad_enabled(False):
            y = x * 2
        assert y.requires_grad is False
        assert cr.is_grad_enabled() is True
        with cr.set_grad_enabled(True):
            y = x * 2
        assert y.requires_grad is True
        with cr.set_grad_enabled(False):
            cr.set_grad_enabled(True)
            y = x * 2
        assert y.requires_grad is True
        assert cr.is_grad_enabled() is True

    def test_M4_set_grad_enabled_context_restores_previous_mode(self):
        with cr.no_grad():
            with cr.set_grad_enabled(True):
                assert cr.is_grad_enabled() is True
            assert cr.is_grad_enabled() is False
        assert cr.is_grad_enabled() is True

    def test_M7_factories_honour_requires_grad_under_no_grad(self):
        with cr.no_grad():
            t = cr.ones(2, requires_grad=True)
            u = t * 2
        assert t.requires_grad is True
        assert t.is_leaf is True
        assert u.requires_grad is False

    def test_M8_in_place_on_leaf_under_no_grad(self):
        x = R([1.0, 2.0])
        with cr.no_grad():
            x.mul_(2)
        assert x.is_leaf is True
        assert x.requires_grad is True
        assert x.grad_fn is None
        assert x._version == 1
        np.testing.assert_array_equal(vals(x), [2.0, 4.0])
        (x * x).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [4.0, 8.0])

    def test_M8_in_place_under_no_grad_invalidates_graph_that_saved_leaf(self):
        x = R([1.0, 2.0])
        y = (x * x).sum()  # mul saves x
        with cr.no_grad():
            x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()

    def test_M8_optimizer_update_pattern(self):
        w = R([1.0, -2.0])
        (w * w).sum().backward()  # grad 2w
        with cr.no_grad():
            w -= 0.25 * w.grad
        np.testing.assert_allclose(vals(w), [0.5, -1.0])
        assert w.is_leaf and w.requires_grad
        w.grad = None
        (w * w).sum().backward()
        np.testing.assert_allclose(vals(w.grad), [1.0, -2.0])

    def test_M10_is_grad_enabled_reflects_mode(self):
        assert cr.is_grad_enabled() is True
        with cr.no_grad():
            assert cr.is_grad_enabled() is False
            with cr.enable_grad():
                assert cr.is_grad_enabled() is True
            assert cr.is_grad_enabled() is False
        assert cr.is_grad_enabled() is True

    def test_grad_mode_is_thread_local(self):
        x = R([1.0, 2.0])
        seen = {}

        def worker():
            seen["enabled"] = cr.is_grad_enabled()
            seen["records"] = (x * 2).requires_grad
            cr.set_grad_enabled(False)  # must not leak into the main thread
            seen["after"] = cr.is_grad_enabled()

        with cr.no_grad():
            t = threading.Thread(target=worker)
            t.start()
            t.join()
            assert cr.is_grad_enabled() is False
        assert seen == {"enabled": True, "records": True, "after": False}
        assert cr.is_grad_enabled() is True
        assert (x * 2).requires_grad is True
