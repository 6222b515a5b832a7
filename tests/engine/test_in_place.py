"""In-place operations and version counters: what may change in place, what a saved value
catches, and in-place arithmetic under ``no_grad``. PyTorch's autograd semantics, §5.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals


class TestInPlace:
    @pytest.mark.parametrize("op", ["sigmoid", "exp", "tanh"])
    def test_P1_modified_saved_output_is_caught(self, op):
        a = R([1.0, 2.0])
        b = getattr(a, op)()
        b.mul_(2)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                               "computation has been modified by an inplace "
                                               "operation"):
            b.sum().backward()

    def test_P2_modified_saved_input_is_caught(self):
        a = R([1.0, 2.0])
        b = a * 1
        c = b * b
        b.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()

    def test_P3_modifying_unsaved_tensor_is_fine(self):
        a = R([1.0, 2.0])
        b = a * 1
        c = b + b
        b.add_(1)
        c.sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [2.0, 2.0])

    def test_P3_in_place_on_nonleaf_is_differentiated(self):
        a = R([1.0, 2.0])
        b = a * 3
        b.mul_(a)  # b = 3 a^2
        b.sum().backward()
        np.testing.assert_allclose(vals(a.grad), [6.0, 12.0])
        np.testing.assert_allclose(vals(b), [3.0, 12.0])

    def test_P4_in_place_on_leaf_requiring_grad_raises(self):
        x = R([1.0, 2.0])
        phrase = "a leaf Variable that requires grad is being used in an in-place operation"
        with pytest.raises(RuntimeError, match=phrase):
            x.mul_(2)
        with pytest.raises(RuntimeError, match=phrase):
            x += 1
        np.testing.assert_array_equal(vals(x), [1.0, 2.0])
        assert x._version == 0

    def test_P5_setitem_on_leaf_requiring_grad_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation"):
            x[0] = 5.0
        np.testing.assert_array_equal(vals(x), [1.0, 2.0])

    def test_P5_in_place_on_view_of_leaf_raises(self):
        x = R([1.0, 2.0, 3.0])
        phrase = ("a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation")
        with pytest.raises(RuntimeError, match=phrase):
            x[:].add_(1)
        with pytest.raises(RuntimeError, match=phrase):
            x.view(3).add_(1)
        np.testing.assert_array_equal(vals(x), [1.0, 2.0, 3.0])

    def test_P6_in_place_on_leaf_and_its_view_under_no_grad(self):
        x = R([1.0, 2.0, 3.0])
        with cr.no_grad():
            x[0] = 5.0
            x[1:].add_(1)
        np.testing.assert_array_equal(vals(x), [5.0, 3.0, 4.0])
        assert x.is_leaf and x.requires_grad

    def test_P7_in_place_on_view_of_nonleaf_is_recorded_on_the_base(self):
        # as PyTorch: the base's history becomes CopySlices (the view's part replaced)
        a = R([1.0, 1.0, 1.0])
        b = a * 1
        v = b[1:]
        v.mul_(2)
        np.testing.assert_array_equal(vals(b), [1.0, 2.0, 2.0])
        assert b.grad_fn.name() == "CopySlices"
        (b * b).sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [2.0, 8.0, 8.0])  # d/da (a0^2 + 4 a1^2..)

    def test_P8_in_place_on_view_of_saved_base_is_caught_at_backward(self):
        # as PyTorch: pow saved b, which the change through its view modified
        a = R([1.0, 1.0, 1.0])
        b = a * 1
        c = b ** 2
        b[1:].mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()

    def test_P11_non_requiring_tensor_absorbs_grad_in_place(self):
        rng = np.random.default_rng(1)
        a0 = rng.standard_normal((5, 5))
        a = cr.tensor(a0)
        b = cr.tensor(rng.standard_normal((5, 5)), requires_grad=True)
        a += b
        assert a.requires_grad is True
        assert a.grad_fn is not None
        np.testing.assert_allclose(vals(a), a0 + vals(b))
        (a * 2).sum().backward()
        np.testing.assert_array_equal(vals(b.grad), np.full((5, 5), 2.0))

    def test_P12_leaf_assignment_of_tensors_requiring_grad(self):
        rng = np.random.default_rng(2)
        x = cr.tensor(rng.standard_normal((5, 5)))
        y = cr.tensor(rng.standard_normal(5), requires_grad=True)
        z = cr.tensor(rng.standard_normal(5), requires_grad=True)
        x[0] = y
        x[1] = 2 * z
        assert x.requires_grad is True
        assert x.grad_fn is not None
        np.testing.assert_allclose(vals(x)[0], vals(y))
        np.testing.assert_allclose(vals(x)[1], 2 * vals(z))
        x.sum().backward()
        np.testing.assert_array_equal(vals(y.grad), np.ones(5))
        np.testing.assert_array_equal(vals(z.grad), np.full(5, 2.0))

    @pytest.mark.parametrize("index, overwritten", [
        (1, [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4)]),
        ((slice(1, 3), 2), [(1, 2), (2, 2)]),
        (([0, 3], [1, 4]), [(0, 1), (3, 4)]),
        ("mask", [(0, 1), (2, 1), (4, 3)]),
    ], ids=["int", "slice-and-int", "int-lists", "bool-mask"])
    def test_P13_setitem_constant_zeroes_overwritten_grad(self, index, overwritten):
        if index == "mask":
            mask = np.zeros((5, 5), bool)
            mask[[0, 2, 4], [1, 1, 3]] = True
            index = cr.tensor(mask)
        x = cr.ones(5, 5, requires_grad=True)
        y = x + 2
        version = y._version
        y[index] = 2
        assert y._version != version
        expected_values = np.full((5, 5), 3.0)
        expected_grad = np.ones((5, 5))
        for pos in overwritten:
            expected_values[pos] = 2.0
            expected_grad[pos] = 0.0
        np.testing.assert_array_equal(vals(y), expected_values)
        y.backward(cr.ones(5, 5))
        np.testing.assert_array_equal(vals(x.grad), expected_grad)

    def test_P13_setitem_tensor_value_gets_its_slice_of_the_grad(self):
        x = cr.ones(5, 5, requires_grad=True)
        y = x + 2
        value = cr.full((2, 5), 7.0).requires_grad_()
        y[1:3] = value
        g = cr.tensor(np.arange(25.0).reshape(5, 5), dtype=cr.float32)
        y.backward(g)
        expected = np.arange(25.0).reshape(5, 5)
        expected[1:3] = 0.0
        np.testing.assert_array_equal(vals(x.grad), expected)
        np.testing.assert_array_equal(vals(value.grad), np.arange(25.0).reshape(5, 5)[1:3])

    def test_P14_in_place_before_requires_grad_is_fine(self):
        a = cr.tensor([1.0, 2.0, 3.0])
        a.add_(1)
        a.requires_grad = True
        (a * a).sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [4.0, 6.0, 8.0])

    def test_version_counter_shared_between_base_and_views(self):
        x = cr.zeros(4)
        v = x[1:3]
        w = x.view(2, 2)
        u = v[0:1]
        assert x._version == v._version == w._version == u._version == 0
        v.add_(1)
        assert x._version == v._version == w._version == u._version == 1
        x.mul_(2)
        assert x._version == v._version == w._version == u._version == 2
        u.add_(1)
        assert x._version == v._version == w._version == u._version == 3
        np.testing.assert_array_equal(vals(x), [0.0, 3.0, 2.0, 0.0])
        np.testing.assert_array_equal(vals(w), [[0.0, 3.0], [2.0, 0.0]])

    def test_version_counter_of_view_catches_modified_saved_base(self):
        a = R([1.0, 1.0, 1.0])
        b = a * 1
        c = b * b  # saves b
        with cr.no_grad():
            b[1:].mul_(2)
        assert b._version == 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()

    def test_version_counter_of_base_catches_modified_saved_view(self):
        a = R([1.0, 2.0, 3.0])
        b = a * 1
        v = b[1:]
        c = v * v  # saves the view v
        with cr.no_grad():
            b.add_(1)
        assert v._version == 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()


# --------------------------------------------------------------------------------------------
# in-place changes that are allowed or refused, and in-place arithmetic under no_grad


def test_inplace_after_mul_by_constant_is_allowed():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    y = a * 1
    z = y * 2
    y.add_(1)  # z's gradient never reads y
    z.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


class TestViewsOfABaseChangedInPlace:
    """(issue 13, E and C) a view used after its base changed in place has its history and
    tangents made again from the base's, as PyTorch replays the view."""

    def test_the_views_history_follows_the_base(self):
        a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = a * 2
        v = y.view(3, 1)
        y.add_(a)  # y, and v which shares its memory, now hold 3 * a
        assert v.tolist() == [[3.0], [6.0], [9.0]]
        v.sum().backward()
        assert a.grad.tolist() == [3.0, 3.0, 3.0]  # a stale history would give [2, 2, 2]

    def test_a_leaf_changed_under_no_grad(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        v = x[1]
        with cr.no_grad():
            x.mul_(10)
        (v * v).backward()
        assert x.grad.tolist() == [0.0, 40.0]

    def test_a_view_of_a_view(self):
        a = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = a * 1.0
        v = y.t()[0]  # column 0 of y
        y.mul_(a)  # y = a * a
        v.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), [[2.0, 0.0], [6.0, 0.0]])

    def test_a_view_made_again_only_when_grad_mode_is_on(self):
        a = cr.tensor([1.0, 2.0], requires_grad=True)
        y = a * 2
        v = y[0:1]
        y.add_(a)
        with cr.no_grad():
            assert (v * 1).tolist() == [3.0]
        v.sum().backward()
        assert a.grad.tolist() == [3.0, 0.0]

    def test_forward_mode_tangent_follows_the_base(self):
        import chainrule.autograd.forward_ad as fwAD
        with fwAD.dual_level():
            x = fwAD.make_dual(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
            v = x.unsqueeze(0)
            with cr.no_grad():
                x.mul_(2)
            assert fwAD.unpack_dual(v).tangent.tolist() == [[2.0, 2.0]]
            assert fwAD.unpack_dual(v * 1).tangent.tolist() == [[2.0, 2.0]]

    def test_forward_mode_through_an_in_place_change_of_a_view(self):
        """(issue 13, D) the base's tangent takes the view's new tangent where it lies."""
        import chainrule.autograd.forward_ad as fwAD
        with fwAD.dual_level():
            x = fwAD.make_dual(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 1.0, 1.0]))
            v = x[0:2]
            with cr.no_grad():
                v.mul_(2)
            assert x.tolist() == [2.0, 4.0, 3.0]
            assert fwAD.unpack_dual(x).tangent.tolist() == [2.0, 2.0, 1.0]
            assert fwAD.unpack_dual(v).tangent.tolist() == [2.0, 2.0]
            y = fwAD.make_dual(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.ones(2, 2))
            w = y.t()
            w[1] = fwAD.make_dual(cr.tensor([5.0, 6.0]), cr.tensor([7.0, 8.0]))
            assert fwAD.unpack_dual(y).tangent.tolist() == [[1.0, 7.0], [1.0, 8.0]]
            assert y.tolist() == [[1.0, 5.0], [3.0, 6.0]]

    @pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch's own, at import)
    @pytest.mark.parametrize("library", ["chainrule", "torch"])
    def test_forward_mode_in_place_on_chainrule_and_on_pytorch(self, library):
        lib = cr if library == "chainrule" else pytest.importorskip("torch")
        ad = lib.autograd.forward_ad
        with ad.dual_level():
            x = ad.make_dual(lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64),
                             lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64))
            v = x.t()[1]
            v.mul_(ad.make_dual(lib.tensor([3.0, 5.0], dtype=lib.float64),
                                lib.tensor([1.0, -1.0], dtype=lib.float64)))
            u = x.reshape(4)
            # d (v c) = c dv + v dc on column 1: (3 * 2 + 2 * 1, 5 * 4 - 4 * 1)
            np.testing.assert_allclose(np.asarray(ad.unpack_dual(x).tangent),
                                       [[1.0, 8.0], [3.0, 16.0]])
            np.testing.assert_allclose(np.asarray(ad.unpack_dual(u * 1).tangent),
                                       [1.0, 8.0, 3.0, 16.0])

    @pytest.mark.parametrize("library", ["chainrule", "torch"])
    def test_views_of_a_changed_base_on_chainrule_and_on_pytorch(self, library):
        lib = cr if library == "chainrule" else pytest.importorskip("torch")
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        y = a * 2
        v = y[0]
        w = y.t()
        y.mul_(a)  # y = 2 a^2: the loss sum(v) + sum(w * w) is sum(2 a0^2) + sum(4 a^4)
        (v.sum() + (w * w).sum()).backward()
        np.testing.assert_allclose(np.asarray(a.grad), [[20.0, 136.0], [432.0, 1024.0]])


def test_setitem_into_integer_tensor_does_not_require_grad():
    x = cr.zeros(3, dtype=cr.int64)
    a = cr.tensor(1.7, requires_grad=True)
    x[0] = a * 2
    assert x.tolist() == [3, 0, 0]
    assert not x.requires_grad


class TestInPlaceArithmeticWithoutRecording:
    """``p -= lr * g`` under no_grad writes into ``p``'s array (no temporary), and keeps
    every rule of the general path: dtype, views, version counters, errors."""

    def test_update_allocates_no_temporary(self):
        import tracemalloc

        p = cr.zeros(100_000, dtype=cr.float64, requires_grad=True)
        step = cr.ones(100_000, dtype=cr.float64)
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            with cr.no_grad():
                p -= step
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak - start < 100_000 * 8 / 4  # far less than one copy of p
        np.testing.assert_array_equal(p.detach().numpy(), -1.0)

    def test_dtype_views_and_versions(self):
        base = cr.arange(6.0)
        view = base[::2]
        view += np.float64(0.5)  # float32 stays float32; written through the view
        assert base.dtype == cr.float32
        np.testing.assert_array_equal(base.numpy(), [0.5, 1, 2.5, 3, 4.5, 5])
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        y = (w * w).sum()
        with cr.no_grad():
            w *= 2
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()

    def test_errors_come_from_the_general_path(self):
        i = cr.tensor([1, 2])
        with pytest.raises(RuntimeError, match="can't be cast"):
            i /= 2
        np.testing.assert_array_equal(i.numpy(), [1, 2])  # unchanged
        x = cr.zeros(3)
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            x += cr.ones((2, 3))
