"""``backward()`` and ``autograd.grad``: the implicit gradient, the gradient argument, retained
and created graphs, accumulation into ``.grad``, and what ``grad`` returns. PyTorch's autograd
semantics, §2 and §3.

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals

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


# --------------------------------------------------------------------------------------------
# retained gradients, create_graph's results and seeds, and second passes


def test_retained_grad_of_a_nonleaf_in_inputs_is_counted_once():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    h.retain_grad()
    (h * 3).sum().backward(inputs=[h])
    assert h.grad.tolist() == [3.0, 3.0]  # chainrule: [6, 6]


def test_create_graph_grads_do_not_alias_each_other_or_the_seed():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    v = cr.tensor([1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = a + b
        y.backward(v, create_graph=True)
        y.backward(v)
    assert a.grad.tolist() == [2.0, 2.0]  # chainrule: [4, 4]
    assert b.grad.tolist() == [2.0, 2.0]
    assert v.tolist() == [1.0, 1.0]  # chainrule: [4, 4]


def test_create_graph_seed_is_the_callers_own():
    """The seed of a scalar loss is shared (read-only) only in plain passes: with
    create_graph it reaches hooks and results as a Tensor, which may be changed in place."""
    x = cr.tensor(2.0, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g.mul_(2))
    with pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
    assert x.grad.item() == 6.0

    (g,) = cr.autograd.grad(x.clone(), x, create_graph=True)
    g.add_(1)  # the result is the caller's: writable, and no later seed sees it
    assert g.item() == 2.0
    w = cr.tensor(1.0, requires_grad=True)
    (w * 2).backward()
    assert w.grad.item() == 2.0


@pytest.mark.parametrize("n", [10, 10_000])  # small, and large enough to be recycled
def test_backward_twice_through_a_node_that_saved_nothing(n):
    """As in PyTorch: only nodes that saved values refuse a second pass."""
    x = cr.ones(n, requires_grad=True)
    y = x + 1  # Add saves nothing
    y.sum().backward()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(n, 2.0, np.float32))
    z = x * x  # Mul saves its inputs
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.sum().backward()


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
