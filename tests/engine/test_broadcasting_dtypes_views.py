"""Gradients through broadcasting, dtypes, views and indexing: PyTorch's autograd semantics,
§6 (the non-differentiable points of §6.4 are in ``tests/rules/test_special_points.py``).

Each test is one row (or a few rows) of the behavioural specification
``/work/shared/reference/pytorch_autograd.md``; the row ID is in the test's name. How the rows
are checked is said in ``tests/autograd_spec.py``.
"""

import numpy as np
import pytest

import chainrule as cr
from tests.autograd_spec import R, vals


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
