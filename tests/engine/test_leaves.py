"""Leaves, ``requires_grad``, ``.grad``, ``retain_grad`` and ``is_leaf``: PyTorch's autograd
semantics, §1.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals


class TestLeafFlags:
    def test_L1_leaf_and_nonleaf_flags(self):
        x = R([1.0, 2.0])
        y = x * 2
        assert x.is_leaf is True
        assert x.grad_fn is None
        assert x.requires_grad is True
        assert y.is_leaf is False
        assert y.requires_grad is True
        assert y.grad_fn.name() == "MulBackward0"

    def test_L2_leaf_grad_is_none_before_backward_without_warning(self):
        x = R([1.0, 2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert x.grad is None

    def test_L3_tensors_not_requiring_grad_are_leaves(self):
        a = cr.tensor([1.0, 2.0])
        b = a * 2 + 1
        for t in (a, b):
            assert t.requires_grad is False
            assert t.is_leaf is True
            assert t.grad_fn is None

    @pytest.mark.parametrize("a_rg, b_rg", [(False, False), (True, False), (False, True),
                                            (True, True)])
    def test_L4_requires_grad_propagates_if_any_input_requires_it(self, a_rg, b_rg):
        a = cr.tensor([1.0, 2.0], requires_grad=a_rg)
        b = cr.tensor([3.0, 4.0], requires_grad=b_rg)
        for out in (a + b, a * b, cr.maximum(a, b), cr.stack([a, b])):
            assert out.requires_grad == (a_rg or b_rg)
            assert (out.grad_fn is not None) == (a_rg or b_rg)

    def test_L6_retain_grad_fills_nonleaf_grad(self):
        x = R([1.0, 2.0])
        y = x * 2
        y.retain_grad()
        assert y.retains_grad is True
        y.sum().backward()
        np.testing.assert_array_equal(vals(y.grad), [1.0, 1.0])
        np.testing.assert_array_equal(vals(x.grad), [2.0, 2.0])

    def test_L7_retain_grad_twice_and_retained_grad_accumulates(self):
        x = R([[0.5, -1.0, 2.0]], dtype=cr.float64)
        h = x * 3
        out = (h * h).sum()  # d out / d h = 2h
        h.retain_grad()
        h.retain_grad()
        out.backward(retain_graph=True)
        np.testing.assert_allclose(vals(h.grad), vals(h) * 2)
        out.backward(retain_graph=True)
        np.testing.assert_allclose(vals(h.grad), vals(h) * 4)

    def test_L8_retain_grad_on_leaf_is_noop(self):
        x = R([1.0, 2.0])
        x.retain_grad()
        assert x.retains_grad is False
        (x * 3).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [3.0, 3.0])

    def test_L9_retain_grad_without_requires_grad_raises(self):
        y = cr.tensor([1.0, 2.0]).mul(2)
        with pytest.raises(RuntimeError,
                           match="can't retain_grad on Tensor that has requires_grad=False"):
            y.retain_grad()

    def test_L11_requires_grad_false_on_nonleaf_raises(self):
        x = R([1.0, 2.0])
        y = x * 2
        phrase = "you can only change requires_grad flags of leaf variables"
        with pytest.raises(RuntimeError, match=phrase):
            y.requires_grad_(False)
        with pytest.raises(RuntimeError, match=phrase):
            y.requires_grad = False
        assert y.requires_grad is True

    def test_L12_requires_grad_true_on_nonleaf_is_noop(self):
        x = R([1.0, 2.0])
        y = x * 2
        assert y.requires_grad_(True) is y
        assert y.is_leaf is False
        assert y.requires_grad is True
        assert y.grad_fn.name() == "MulBackward0"

    def test_L13_requires_grad_returns_self_and_can_be_switched_off_on_leaf(self):
        x = cr.tensor([1.0, 2.0])
        assert x.requires_grad_() is x
        assert x.requires_grad is True
        assert x.requires_grad_(False) is x
        assert x.requires_grad is False
        assert x.is_leaf is True
        assert (x * 2).requires_grad is False

    @pytest.mark.parametrize("dtype", [cr.int8, cr.int16, cr.int32, cr.int64])
    def test_L20_factory_rejects_integer_requires_grad(self, dtype):
        with pytest.raises(RuntimeError, match="floating point"):
            cr.tensor([1, 2], dtype=dtype, requires_grad=True)

    def test_L20_factory_rejects_python_ints(self):
        with pytest.raises(RuntimeError, match="floating point"):
            cr.tensor([1, 2], requires_grad=True)

    @pytest.mark.parametrize("data", [[1, 2], [True, False]])
    def test_L21_requires_grad_method_rejects_int_and_bool(self, data):
        t = cr.tensor(data)
        with pytest.raises(RuntimeError, match="floating point"):
            t.requires_grad_()
        assert t.requires_grad is False
        # L23: switching it off is always allowed
        assert t.requires_grad_(False) is t

    def test_L22_requires_grad_setter_rejects_int(self):
        t = cr.tensor([1, 2])
        with pytest.raises(RuntimeError, match="floating point"):
            t.requires_grad = True
        assert t.requires_grad is False

    @pytest.mark.parametrize("dtype", [cr.float16, cr.float32, cr.float64])
    def test_L20_L21_float_dtypes_can_require_grad(self, dtype):
        assert cr.tensor([1.0], dtype=dtype, requires_grad=True).requires_grad
        assert cr.tensor([1.0], dtype=dtype).requires_grad_().requires_grad

    def test_L30_assign_grad_of_wrong_shape_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="attempting to assign a gradient"):
            x.grad = cr.tensor([1.0, 2.0, 3.0])
        assert x.grad is None

    def test_L31_assign_grad_of_wrong_dtype_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="attempting to assign a gradient"):
            x.grad = cr.tensor([1, 2])
        assert x.grad is None

    def test_L32_assign_non_tensor_grad_raises_type_error(self):
        x = R([1.0, 2.0])
        with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but "
                                            "got grad of type list"):
            x.grad = [1.0, 2.0]

    def test_L33_grad_can_be_set_to_none_or_deleted(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward()
        assert x.grad is not None
        x.grad = None
        assert x.grad is None
        (x * 2).sum().backward()
        assert x.grad is not None
        del x.grad
        assert x.grad is None

    def test_L30_assign_grad_of_right_shape_and_dtype_is_used(self):
        x = R([1.0, 2.0])
        x.grad = cr.tensor([10.0, 20.0])
        (x * 2).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [12.0, 22.0])


def test_a_linear_weight_gradient_becomes_grad_without_a_copy():
    # F.linear's weight gradient is computed as g^T x, in the weight's own layout, and the leaf
    # takes the array its rule made (PyTorch's AccumulateGrad steals it too): backward holds
    # one weight-sized array, where a transposed gradient copied into .grad held two
    import tracemalloc

    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((32, 64)).astype(np.float32))
    w = cr.tensor(rng.standard_normal((128, 64)).astype(np.float32), requires_grad=True)
    loss = cr.nn.functional.linear(x, w).sum()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert w.grad.numpy().flags.c_contiguous
    assert peak < 1.5 * w.detach().numpy().nbytes
    np.testing.assert_allclose(w.grad.numpy(), np.ones((32, 128), np.float32).T @ x.numpy(),
                               rtol=1e-6)
