"""Acceptance tests: PyTorch's autograd semantics, as chainrule promises them.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``, following its "Appendix B" checklist; the row
ID is in the test's name. Expected values are written out in closed form; expected errors
match PyTorch's exception type and the key phrase of its message (the bold substrings of the
spec). chainrule's messages add advice after that phrase and print shapes as plain tuples
``(3,)`` where PyTorch prints ``torch.Size([3])``.

Where chainrule deliberately differs from PyTorch (the "Choices" section of README.md) the test
checks chainrule's documented behaviour and says so.

Rows about features chainrule does not have (anomaly detection, inference-mode tensors,
forward AD, complex numbers, node pre-hooks, ``register_multi_grad_hook``) are left out.
"""

import threading
import warnings

import numpy as np
import pytest

import chainrule as cr


def vals(t):
    """The values of a tensor (requiring grad or not) as a float64 ndarray."""
    return np.asarray(t.tolist(), dtype=np.float64)


def R(data, dtype=None):
    """A leaf that requires grad (the spec's ``R(...)``): float32 unless ``dtype`` says so."""
    return cr.tensor(data, dtype=dtype, requires_grad=True)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Some tests switch grad mode off with a plain call; never let that leak to the next."""
    yield
    cr.set_grad_enabled(True)


# =============================================================================================
# 1. Leaves, requires_grad, .grad, retain_grad, is_leaf
# =============================================================================================


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


# =============================================================================================
# 2. backward(): implicit gradient, the gradient argument, retain/create graph, accumulation
# =============================================================================================


class TestBackward:
    def test_B1_implicit_gradient_needs_a_scalar(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError,
                           match="grad can be implicitly created only for scalar outputs"):
            (x * 2).backward()
        assert x.grad is None

    def test_B2_one_element_output_of_dim_1_is_allowed(self):
        x = R([3.0])
        (x * 2).backward()
        assert x.grad.shape == (1,)
        np.testing.assert_array_equal(vals(x.grad), [2.0])

    def test_B3_backward_on_a_leaf_gives_one(self):
        x = R(3.0)
        x.backward()
        assert x.grad.shape == ()
        assert x.grad.item() == 1.0

    def test_B5_gradient_of_wrong_shape_raises(self):
        x = R([1.0, 2.0])
        # chainrule prints shapes as tuples, (3,), where PyTorch prints torch.Size([3])
        with pytest.raises(RuntimeError,
                           match=r"Mismatch in shape: grad_output\[0\] has a shape of \(3,\) "
                                 r"and output\[0\] has a shape of \(2,\)"):
            (x * 2).backward(cr.ones(3))

    def test_B6_gradient_is_not_broadcast(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            (x * 2).backward(cr.ones(1, 2))
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            (x * 2).backward(cr.tensor(1.0))

    def test_B9_gradient_given_as_list_raises_type_error(self):
        x = R([1.0, 2.0])
        with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got "
                                            "float"):
            (x * 2).backward([1.0, 1.0])

    def test_B9_gradient_given_as_list_of_floats_to_autograd_backward(self):
        x = R([1.0, 2.0])
        with pytest.raises(TypeError, match="gradients can be either Tensors or None"):
            cr.autograd.backward([x * 2], [[1.0, 1.0]])

    def test_B10_explicit_gradient_for_scalar_output(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward(cr.tensor(2.0))
        np.testing.assert_array_equal(vals(x.grad), [4.0, 4.0])

    def test_B11_backward_without_anything_requiring_grad_raises(self):
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            cr.ones(2).sum().backward()

    def test_B12_multi_backward_reports_index_of_non_requiring_output(self):
        x = R([1.0, 2.0])
        z = x * 2
        q = cr.ones(2) * 3
        g = cr.ones(2)
        with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            cr.autograd.backward([z, q], [g, g])

    def test_B14_several_roots_are_summed(self):
        x = R([1.0, 2.0], dtype=cr.float64)
        y = R([3.0, 5.0], dtype=cr.float64)
        z = x * y
        c = x * x
        gz = cr.tensor([1.0, 10.0], dtype=cr.float64)
        gc = cr.tensor([2.0, 3.0], dtype=cr.float64)
        cr.autograd.backward([z, c], [gz, gc])
        # d/dx (gz . xy + gc . x^2) = gz * y + 2 gc * x;  d/dy = gz * x
        np.testing.assert_allclose(vals(x.grad), [1 * 3 + 2 * 2 * 1, 10 * 5 + 2 * 3 * 2])
        np.testing.assert_allclose(vals(y.grad), [1 * 1, 10 * 2])

    def test_B15_same_root_twice_counts_twice(self):
        a = R([1.0, 2.0])
        b = R([3.0, 4.0])
        y = a * b
        g = cr.tensor([1.0, 0.5])
        cr.autograd.backward([y, y], [g, g])
        np.testing.assert_allclose(vals(a.grad), [3.0 * 1.0 * 2, 4.0 * 0.5 * 2])
        np.testing.assert_allclose(vals(b.grad), [1.0 * 1.0 * 2, 2.0 * 0.5 * 2])

    def test_B16_backward_inputs_fills_only_those(self):
        x = R([1.0, 2.0])
        z = R([3.0, 4.0])
        w = R([5.0, 6.0])  # not used in the graph: no error, .grad stays None
        y = (x * z).sum()
        y.backward(inputs=[x, w])
        np.testing.assert_array_equal(vals(x.grad), [3.0, 4.0])
        assert z.grad is None
        assert w.grad is None

    def test_B17_backward_with_empty_inputs_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match=r"`inputs` argument to `backward\(\)` cannot be "
                                               r"empty"):
            (x * 2).sum().backward(inputs=[])

    def test_B20_backward_twice_raises(self):
        x = R([1.0, 2.0])
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
            y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time"):
            y.backward()

    def test_B21_retain_graph_allows_second_backward_and_accumulates(self):
        x = R([1.0, 2.0])
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        np.testing.assert_array_equal(vals(x.grad), [2 * 2.0 * 1, 2 * 2.0 * 2])

    def test_B22_backward_without_retain_graph_frees_it(self):
        x = R([1.0, 2.0])
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward(retain_graph=False)
        with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
            y.backward()
        np.testing.assert_array_equal(vals(x.grad), [4.0, 8.0])

    def test_B23_backward_twice_without_saved_values_is_fine(self):
        b = R([1.0, 2.0, 3.0])
        c = b + 1
        g = cr.tensor([1.0, 2.0, 3.0])
        c.backward(g)
        c.backward(g)
        np.testing.assert_array_equal(vals(b.grad), [2.0, 4.0, 6.0])
        s = b.sum()
        s.backward()
        s.backward()
        np.testing.assert_array_equal(vals(b.grad), [4.0, 6.0, 8.0])

    def test_B25_autograd_grad_twice_raises(self):
        x = R([1.0, 2.0])
        y = (x * x).sum()
        cr.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
            cr.autograd.grad(y, x)

    def test_B30_second_derivative_with_create_graph(self):
        x = R(3.0)
        (g,) = cr.autograd.grad(x ** 3, x, create_graph=True)
        assert g.item() == pytest.approx(27.0)  # 3 x^2
        assert g.requires_grad is True
        assert g.grad_fn is not None
        (g2,) = cr.autograd.grad(g, x)
        assert g2.item() == pytest.approx(18.0)  # 6 x
        assert g2.requires_grad is False

    def test_B31_backward_create_graph_makes_differentiable_grad_and_warns(self):
        x = R([1.0, 2.0])
        with pytest.warns(UserWarning, match="Using backward\\(\\) with create_graph=True"):
            (x ** 3).sum().backward(create_graph=True)
        assert x.grad.requires_grad is True
        assert x.grad.grad_fn is not None
        np.testing.assert_allclose(vals(x.grad), [3.0, 12.0])

    def test_B31_autograd_grad_with_create_graph_does_not_warn(self):
        x = R([1.0, 2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cr.autograd.grad((x ** 3).sum(), x, create_graph=True)

    def test_B32_hessian_vector_product_through_grad(self):
        rng = np.random.default_rng(0)
        x = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
        y = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
        xv, yv = vals(x), vals(y)
        z = x ** 2 + y * x + y ** 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # B31's warning (once, in PyTorch)
            z.backward(cr.ones(2, 2, dtype=cr.float64), create_graph=True)
        x_grad = 2 * xv + yv
        y_grad = xv + 2 * yv
        np.testing.assert_allclose(vals(x.grad), x_grad)
        np.testing.assert_allclose(vals(y.grad), y_grad)
        grad_sum = 2 * x.grad + y.grad
        grad_sum.backward(cr.ones(2, 2, dtype=cr.float64))
        # d/dx (2(2x + y) + (x + 2y)) = 5;  d/dy = 4; added to the first grads
        np.testing.assert_allclose(vals(x.grad), x_grad + 5)
        np.testing.assert_allclose(vals(y.grad), y_grad + 4)

    def test_B33_derivative_of_linear_function_does_not_require_grad(self):
        x = R(3.0)
        (g,) = cr.autograd.grad(2 * x, x, create_graph=True)
        assert g.item() == 2.0
        assert g.requires_grad is False
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            cr.autograd.grad(g, x)

    def test_B40_backward_accumulates(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [5.0, 5.0])

    def test_B41_accumulation_is_in_place(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward()
        g = x.grad
        (x * 3).sum().backward()
        assert x.grad is g
        np.testing.assert_array_equal(vals(g), [5.0, 5.0])

    def test_B42_accumulation_with_create_graph_is_out_of_place(self):
        x = R([1.0, 2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            (x * x).sum().backward(create_graph=True)
        g = x.grad
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            (x * x).sum().backward(create_graph=True)
        assert x.grad is not g
        np.testing.assert_array_equal(vals(g), [2.0, 4.0])
        np.testing.assert_array_equal(vals(x.grad), [4.0, 8.0])

    def test_B43_existing_grad_buffer_is_accumulated_in_place(self):
        x = R([1.0, 2.0])
        buf = cr.zeros(2)
        x.grad = buf
        (x * 2).sum().backward()
        assert x.grad is buf
        np.testing.assert_array_equal(vals(buf), [2.0, 2.0])

    def test_B44_fan_out_contributions_are_summed(self):
        x = R([1.0, 2.0, -3.0])
        (x * x + x).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [2 * 1.0 + 1, 2 * 2.0 + 1, 2 * -3.0 + 1])

    def test_B45_zero_grad_in_place(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward()
        g = x.grad
        with cr.no_grad():
            x.grad.zero_()
        assert x.grad is g
        np.testing.assert_array_equal(vals(x.grad), [0.0, 0.0])
        (x * 3).sum().backward()
        np.testing.assert_array_equal(vals(x.grad), [3.0, 3.0])

    def test_B46_zero_grad_when_grad_is_none_is_attribute_error(self):
        x = R([1.0, 2.0])
        with pytest.raises(AttributeError):
            x.grad.zero_()

    def test_B47_grad_set_to_none_then_backward_gives_fresh_tensor(self):
        x = R([1.0, 2.0])
        (x * 2).sum().backward()
        old = x.grad
        x.grad = None
        (x * 3).sum().backward()
        assert x.grad is not old
        np.testing.assert_array_equal(vals(x.grad), [3.0, 3.0])
        np.testing.assert_array_equal(vals(old), [2.0, 2.0])


# =============================================================================================
# 3. torch.autograd.grad
# =============================================================================================


class TestAutogradGrad:
    def test_G1_returns_tuple_and_leaves_grad_alone(self):
        x = R([1.0, 2.0])
        result = cr.autograd.grad((x * x).sum(), x)
        assert isinstance(result, tuple) and len(result) == 1
        np.testing.assert_array_equal(vals(result[0]), [2.0, 4.0])
        assert x.grad is None

    def test_G2_non_scalar_output_without_grad_outputs_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError,
                           match="grad can be implicitly created only for scalar outputs"):
            cr.autograd.grad(x * 2, x)

    def test_G3_grad_outputs_of_wrong_shape_raises(self):
        x = R([[1.0, 2.0], [3.0, 4.0]])
        # shapes printed as tuples by chainrule's choice (PyTorch: torch.Size([2]))
        with pytest.raises(RuntimeError,
                           match=r"Mismatch in shape: grad_output\[0\] has a shape of \(2,\) "
                                 r"and output\[0\] has a shape of \(2, 2\)"):
            cr.autograd.grad(x * 2, x, cr.ones(2))

    def test_G5_several_outputs_are_summed(self):
        x = R([1.0, 2.0])
        (g,) = cr.autograd.grad([(2 * x).sum(), (3 * x).sum()], x)
        np.testing.assert_array_equal(vals(g), [5.0, 5.0])

    def test_G7_fewer_grad_outputs_than_outputs_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
            cr.autograd.grad([x * 2, x * 3], x, [cr.ones(2)])

    def test_G9_unused_input_raises(self):
        x = R([1.0, 2.0])
        y = R([3.0, 4.0])
        with pytest.raises(RuntimeError, match="Set allow_unused=True") as info:
            cr.autograd.grad((x * x).sum(), [x, y])
        assert "index 1" in str(info.value)
        assert "not have been used in the graph" in str(info.value)

    def test_G10_allow_unused_gives_none(self):
        x = R([1.0, 2.0])
        y = R([3.0, 4.0])
        gx, gy = cr.autograd.grad((x * x).sum(), [x, y], allow_unused=True)
        np.testing.assert_array_equal(vals(gx), [2.0, 4.0])
        assert gy is None

    @pytest.mark.parametrize("create_graph", [False, True])
    def test_G11_materialize_grads_gives_zeros(self, create_graph):
        x = R([1.0, 2.0])
        y = R([3.0, 4.0])
        gx, gy = cr.autograd.grad((x * x).sum(), [x, y], materialize_grads=True,
                                  create_graph=create_graph)
        np.testing.assert_array_equal(vals(gx), [2.0, 4.0])
        np.testing.assert_array_equal(vals(gy), [0.0, 0.0])
        assert gy.shape == (2,)
        assert gy.requires_grad is create_graph

    def test_G12_materialize_grads_with_allow_unused_false_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed "
                                             "when materialize_grads=True"):
            cr.autograd.grad((x * x).sum(), x, materialize_grads=True, allow_unused=False)

    def test_G13_input_not_requiring_grad_raises(self):
        x = R([1.0, 2.0])
        c = cr.tensor([1.0, 1.0])
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not "
                                               "require grad"):
            cr.autograd.grad((x * c).sum(), [x, c])

    def test_G14_output_not_requiring_grad_raises(self):
        x = R([1.0, 2.0])
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            cr.autograd.grad((x * 2).detach().sum(), x)

    def test_G16_gradient_with_respect_to_an_intermediate(self):
        x = R([1.0, 2.0])
        seen = []
        x.register_hook(lambda g: seen.append(g))
        a = x * 2
        (ga,) = cr.autograd.grad((a * 3).sum(), a)
        np.testing.assert_array_equal(vals(ga), [3.0, 3.0])
        assert seen == []  # the walk stops at a: hooks on x do not fire
        assert x.grad is None

    def test_G17_results_without_create_graph_do_not_require_grad(self):
        x = R([1.0, 2.0])
        (g,) = cr.autograd.grad((x ** 3).sum(), x)
        assert g.requires_grad is False
        assert g.grad_fn is None
        np.testing.assert_allclose(vals(g), [3.0, 12.0])

    def test_G18_inputs_as_dict_gives_dict(self):
        x = R([1.0, 2.0])
        y = R([3.0, 4.0])
        out = cr.autograd.grad((x * y).sum(), {"x": x, "y": y})
        assert isinstance(out, dict)
        assert set(out) == {"x", "y"}
        np.testing.assert_array_equal(vals(out["x"]), [3.0, 4.0])
        np.testing.assert_array_equal(vals(out["y"]), [1.0, 2.0])


# =============================================================================================
# 4. detach, detach_, no_grad, enable_grad, set_grad_enabled, thread-locality
# =============================================================================================


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


# =============================================================================================
# 5. In-place operations and version counters
# =============================================================================================


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

    def test_P7_in_place_on_view_of_nonleaf_errors_clearly(self):
        # chainrule's documented choice: in-place on a view of a tensor that requires grad
        # raises a clear RuntimeError; PyTorch rebases the base's history (CopySlices).
        a = R([1.0, 1.0, 1.0])
        b = a * 1
        v = b[1:]
        with pytest.raises(RuntimeError, match="in-place operations on a view"):
            v.mul_(2)
        np.testing.assert_array_equal(vals(b), [1.0, 1.0, 1.0])  # nothing was changed

    def test_P8_in_place_on_view_of_saved_base_errors_clearly(self):
        # The in-place call is refused (chainrule's choice; PyTorch's version error would fire
        # at backward instead), and the graph is intact: a silently wrong gradient is the
        # failure this guards against.
        a = R([1.0, 1.0, 1.0])
        b = a * 1
        c = b ** 2
        with pytest.raises(RuntimeError, match="in-place operations on a view"):
            b[1:].mul_(2)
        c.sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [2.0, 2.0, 2.0])

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


# =============================================================================================
# 6. Broadcasting, dtypes, views and indexing
# =============================================================================================


class TestBroadcasting:
    def test_BR1_broadcast_grads_are_summed_back(self):
        a = R(np.ones((3, 1)))
        b = R(np.ones(4))
        (a + b).sum().backward()
        assert a.grad.shape == (3, 1)
        assert b.grad.shape == (4,)
        np.testing.assert_array_equal(vals(a.grad), np.full((3, 1), 4.0))
        np.testing.assert_array_equal(vals(b.grad), np.full(4, 3.0))

    def test_BR1_weighted_broadcast(self):
        a = R([[1.0], [2.0], [3.0]], dtype=cr.float64)
        b = R([10.0, 20.0], dtype=cr.float64)
        (a * b).sum().backward()
        np.testing.assert_allclose(vals(a.grad), [[30.0], [30.0], [30.0]])  # sum of b
        np.testing.assert_allclose(vals(b.grad), [6.0, 6.0])  # sum of a

    def test_BR2_zero_dim_operand_gets_zero_dim_grad(self):
        a = R(np.ones((2, 3)))
        s = R(2.0)
        (a * s).sum().backward()
        assert s.grad.shape == ()
        assert s.grad.item() == 6.0
        np.testing.assert_array_equal(vals(a.grad), np.full((2, 3), 2.0))

    def test_BR3_expand_sums_grad(self):
        a = R(np.ones(3))
        a.expand(2, 3).sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [2.0, 2.0, 2.0])

    def test_BR4_zero_size_broadcast(self):
        a = R(np.zeros((4, 0)))
        b = R(np.zeros((4, 1)))
        (a + b).sum().backward()
        assert a.grad.shape == (4, 0)
        assert b.grad.shape == (4, 1)
        np.testing.assert_array_equal(vals(b.grad), np.zeros((4, 1)))


class TestDtypes:
    def test_DT1_grad_dtype_is_leaf_dtype(self):
        a = R([1.0, 2.0], dtype=cr.float32)
        b = R([3.0, 4.0], dtype=cr.float64)
        c = a * b
        assert c.dtype == cr.float64
        c.sum().backward()
        assert a.grad.dtype == cr.float32
        assert b.grad.dtype == cr.float64
        np.testing.assert_array_equal(vals(a.grad), [3.0, 4.0])
        np.testing.assert_array_equal(vals(b.grad), [1.0, 2.0])

    def test_DT2_cast_backward_returns_leaf_dtype(self):
        a = R([1.0, 2.0], dtype=cr.float32)
        d = a.double()
        assert d.dtype == cr.float64
        assert d.is_leaf is False
        (d * d).sum().backward()
        assert a.grad.dtype == cr.float32
        np.testing.assert_array_equal(vals(a.grad), [2.0, 4.0])

    def test_DT3_float16_leaf_gets_float16_grad(self):
        h = R([1.0, 2.0], dtype=cr.float16)
        (h * h).sum().backward()
        assert h.grad.dtype == cr.float16
        np.testing.assert_array_equal(vals(h.grad), [2.0, 4.0])

    def test_DT4_float_times_int_tensor(self):
        a = R([1.0, 2.0], dtype=cr.float32)
        i = cr.tensor([3, 4])
        c = a * i
        # chainrule's documented choice: NumPy 2 promotion, float32 * int64 -> float64
        # (PyTorch gives float32). The grad still takes the leaf's dtype.
        assert c.dtype == np.result_type(np.float32, np.int64)
        assert i.requires_grad is False
        c.sum().backward()
        assert a.grad.dtype == cr.float32
        np.testing.assert_array_equal(vals(a.grad), [3.0, 4.0])
        assert i.grad is None

    def test_DT5_integer_and_bool_outputs_do_not_require_grad(self):
        x = R([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        outputs = [
            x.argmax(), x.argmin(), cr.argmax(x, dim=1), x > 2, x == x, x != 0,
            cr.count_nonzero(x), cr.isnan(x), x.long(),
        ]
        for out in outputs:
            assert out.requires_grad is False
            assert out.grad_fn is None


class TestViewsAndIndexing:
    def test_V1_grad_through_view_and_slice(self):
        a = R(np.arange(6.0))
        a.view(2, 3)[:, 1].sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [0, 1, 0, 0, 1, 0])

    def test_V2_view_of_leaf_is_nonleaf_with_base(self):
        a = R(np.arange(6.0))
        v = a.view(2, 3)[0]
        assert v.is_leaf is False
        assert v.requires_grad is True
        assert v._base is a
        # PyTorch names this node SelectBackward0; chainrule has one indexing primitive
        # (IndexBackward0), so only its presence is checked.
        assert v.grad_fn is not None

    @pytest.mark.parametrize("index, expected", [
        (1, [[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]),
        ((slice(0, 3, 2), slice(1, None)), [[0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]]),
        ((Ellipsis, 2), [[0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0]]),
        ([0, 2], [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]),
        ((slice(None), [3, 0]), [[1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]]),
        ((1, [0, 3]), [[0, 0, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]]),
        ((None, 0, slice(1, 3)), [[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
    ], ids=["int", "slices", "ellipsis", "int-list", "slice-and-list", "int-and-list",
            "newaxis"])
    def test_V3_indexing_gives_one_at_selected_positions(self, index, expected):
        x = R(np.arange(12.0).reshape(3, 4))
        x[index].sum().backward()
        np.testing.assert_array_equal(vals(x.grad), expected)

    def test_V3_bool_mask_indexing(self):
        x = R(np.arange(12.0).reshape(3, 4))
        mask = x.detach() % 3 == 0
        (x[mask] * 2).sum().backward()
        expected = np.where(np.arange(12).reshape(3, 4) % 3 == 0, 2.0, 0.0)
        np.testing.assert_array_equal(vals(x.grad), expected)

    def test_V4_repeated_advanced_indices_scatter_add(self):
        a = R(np.zeros(3))
        a[cr.tensor([0, 0, 2, 0])].sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [3.0, 0.0, 1.0])

    def test_V4_repeated_indices_with_weights(self):
        a = R(np.zeros(3), dtype=cr.float64)
        w = cr.tensor([1.0, 2.0, 3.0, 4.0], dtype=cr.float64)
        (a[cr.tensor([0, 0, 2, 0])] * w).sum().backward()
        np.testing.assert_array_equal(vals(a.grad), [1.0 + 2.0 + 4.0, 0.0, 3.0])

    def test_V4_repeated_row_indices(self):
        y = R(np.arange(1.0, 17.0).reshape(4, 4))
        y[cr.tensor([1, 1, 3, 2, 1, 2])].sum().backward()
        expected = np.array([[0.0] * 4, [3.0] * 4, [2.0] * 4, [1.0] * 4])
        np.testing.assert_array_equal(vals(y.grad), expected)

    def test_V4_repeated_indices_into_existing_grad_buffer(self):
        a = R(np.zeros(3))
        buf = cr.ones(3, dtype=a.dtype)
        a.grad = buf
        a[cr.tensor([0, 0, 2])].sum().backward()
        assert a.grad is buf
        np.testing.assert_array_equal(vals(a.grad), [3.0, 1.0, 2.0])

    def test_V4_repeated_indices_second_derivative(self):
        a = R([1.0, 2.0, 3.0], dtype=cr.float64)
        # f = 2 a0^2 + a2^2: grad [4 a0, 0, 2 a2], second derivative (summed) [4, 0, 2]
        (g,) = cr.autograd.grad((a[cr.tensor([0, 0, 2])] ** 2).sum(), a, create_graph=True)
        np.testing.assert_allclose(vals(g), [4.0, 0.0, 6.0])
        (gg,) = cr.autograd.grad(g.sum(), a)
        np.testing.assert_allclose(vals(gg), [4.0, 0.0, 2.0])

    def test_V5_multi_dim_repeated_indices(self):
        y = R(np.arange(1.0, 17.0).reshape(4, 4))
        y[cr.tensor([[1, 2], [0, 0]]), cr.tensor([[0, 1], [1, 1]])].sum().backward()
        expected = [[0.0, 2.0, 0.0, 0.0],
                    [1.0, 0.0, 0.0, 0.0],
                    [0.0, 1.0, 0.0, 0.0],
                    [0.0, 0.0, 0.0, 0.0]]
        np.testing.assert_array_equal(vals(y.grad), expected)

    def test_V7_indexing_backward_does_not_save_the_tensor(self):
        a = cr.tensor([1.0, 0.0, 0.0])
        b = cr.zeros(3, requires_grad=True)
        t = b + 0
        t[a != 0] = t[a != 0]
        t.backward(cr.tensor([1.0, 2.0, 3.0]))
        # position 0 was overwritten by t[0] itself: its grad flows through the value
        np.testing.assert_array_equal(vals(b.grad), [1.0, 2.0, 3.0])

    def test_V8_unused_outputs_of_chunk_get_zero_grad(self):
        rng = np.random.default_rng(3)
        x = cr.tensor(rng.standard_normal((10, 10)), requires_grad=True)
        o = x.chunk(5)[2]
        (o * 4 + 2).sum().backward()
        expected = np.zeros((10, 10))
        expected[4:6] = 4.0
        np.testing.assert_array_equal(vals(x.grad), expected)


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


# =============================================================================================
# 7. Hooks
# =============================================================================================


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
