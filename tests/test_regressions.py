"""Defects found in review, one test per defect, kept as regression tests.

Each test asserts the correct behaviour, checked against PyTorch 2.13 and closed forms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr


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


def test_view_of_base_changed_in_place_raises():
    """The README's choice: a view used after its base changed in place raises (PyTorch
    replays the view's history; a stale history would give [2, 2, 2] instead of [3, 3, 3])."""
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 2
    v = y.view(3, 1)
    y.add_(a)  # y, and v which shares its memory, now hold 3 * a
    assert v.tolist() == [[3.0], [6.0], [9.0]]
    with pytest.raises(RuntimeError, match="base was modified in place after the view"):
        v.sum().backward()


def test_inplace_on_single_element_index_writes_through():
    x = cr.zeros(3)
    x[0].fill_(5.0)
    x[1].add_(2.0)
    assert x.tolist() == [5.0, 2.0, 0.0]  # chainrule: [0, 0, 0]


def test_retain_grad_and_non_leaf_input_counted_once():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    h.retain_grad()
    (h * 3).sum().backward(inputs=[h])
    assert h.grad.tolist() == [3.0, 3.0]  # chainrule: [6, 6]


def test_setitem_into_integer_tensor_does_not_require_grad():
    x = cr.zeros(3, dtype=cr.int64)
    a = cr.tensor(1.7, requires_grad=True)
    x[0] = a * 2
    assert x.tolist() == [3, 0, 0]
    assert not x.requires_grad  # chainrule: True, and a gets gradient 2 through the int cast


def test_einsum_backward_with_broadcast_label():
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = cr.tensor(rng.standard_normal((1, 3)), requires_grad=True)
    cr.einsum("...i,...i->i", a, b).sum().backward()  # the forward works, as in PyTorch
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.detach().numpy(), (5, 3)))
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().sum(0, keepdims=True))


def test_clamp_tensor_bound_passes_gradient_at_the_bound():
    x = cr.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    lo = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    cr.clamp(x, min=lo).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]  # chainrule: [0, 0.5, 1]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0]  # chainrule: [1, 0.5, 0]


def test_inplace_after_mul_by_constant_is_allowed():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    y = a * 1
    z = y * 2
    y.add_(1)  # z's gradient never reads y
    z.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


def test_gradcheck_accepts_empty_input():
    e = cr.zeros(0, dtype=cr.float64, requires_grad=True)
    x = cr.ones(2, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: cr.cat([a, b]) * 2, (e, x))


def test_zero_dim_softmax_and_max_dim():
    x = cr.tensor(2.0, requires_grad=True)
    assert cr.softmax(x, 0).item() == 1.0
    assert cr.log_softmax(x, -1).item() == 0.0
    assert cr.max(x, 0).values.item() == 2.0


def test_mean_over_empty_dim_backward():
    x = cr.zeros((0, 3), dtype=cr.float64, requires_grad=True)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.mean(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_errors_name_the_operation():
    x = cr.zeros(2, 2)
    with pytest.raises(Exception, match="setitem|index"):  # the recorded path says indexput
        x[0] = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(Exception, match="chunk"):
        cr.chunk(cr.ones(3), 0)


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
