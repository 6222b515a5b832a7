"""``nn.functional.dropout`` as one primitive that keeps a bool mask: the same seeded values as
the float mask it replaced (the same uniform draws compared with ``p``), PyTorch's ``x * 0``
in dropped places (nan and inf give nan), ``inplace=True``, and what its node keeps."""

from __future__ import annotations

import gc
import sys
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.generator import random_source


def _float_mask_dropout(x: np.ndarray, p: float, seed: int) -> np.ndarray:
    """The former implementation, by hand: the scaled mask [u >= p] / (1 - p), u drawn in x's
    precision (float64 for other dtypes), cast to x's dtype, times x."""
    cr.manual_seed(seed)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    draws = random_source().random(x.shape, dtype=dtype)
    keep = ((draws >= p) * dtype.type(1.0 / (1.0 - p))).astype(x.dtype)
    return x * keep


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_seeded_values_are_those_of_the_float_mask(dtype, p):
    x = (np.random.default_rng(4).standard_normal((7, 33)) * 3).astype(dtype)
    cr.manual_seed(12)
    got = F.dropout(cr.tensor(x), p).numpy()
    want = _float_mask_dropout(x, p, 12)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert 0 < np.count_nonzero(got) < got.size


def test_gradients_forward_mode_and_second_order_use_the_same_mask():
    cr.manual_seed(3)
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 6)), requires_grad=True)
    cr.manual_seed(3)
    y = F.dropout(x, 0.4)
    kept = y.detach().numpy() != 0
    (gx,) = cr.autograd.grad((y * y).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 2 * y.detach().numpy() / 0.6)
    (ggx,) = cr.autograd.grad(gx.sum(), x)
    np.testing.assert_allclose(ggx.numpy(), np.where(kept, 2 / 0.36, 0.0))
    import chainrule.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        cr.manual_seed(3)
        dual = F.dropout(fwAD.make_dual(x.detach(), cr.ones(5, 6, dtype=cr.float64)), 0.4)
        tangent = fwAD.unpack_dual(dual).tangent
    np.testing.assert_allclose(tangent.numpy(), np.where(kept, 1 / 0.6, 0.0))


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf * 0, as NumPy says
def test_dropped_places_are_x_times_zero():
    x = cr.tensor([np.nan, -1.0, np.inf, 2.0, -np.inf])
    y = F.dropout(x, 1 - 1e-12).numpy()  # every entry dropped (u >= p has chance 1e-12)
    assert np.isnan(y[[0, 2, 4]]).all()
    assert y[1] == 0 and np.signbit(y[1]) and y[3] == 0 and not np.signbit(y[3])


def test_the_node_keeps_a_bool_mask_not_the_input():
    cr.manual_seed(0)
    x = cr.randn(64, 128, requires_grad=True)
    h = x * 2
    cr.manual_seed(5)
    y = F.dropout(h, 0.2)
    assert y.grad_fn.name() == "MulBackward0"  # PyTorch's name on the CPU
    node = y._node
    assert node.ans is None and node.args[0] is h  # (h's values, no copy)
    assert node.args[1].dtype == np.bool_
    # what the graph holds beyond h and y: the mask, 1 byte an element (not 4)
    gc.collect()
    tracemalloc.start()
    cr.manual_seed(5)
    y2 = F.dropout(h, 0.2)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert 64 * 128 * 5 <= held < 64 * 128 * 6  # y2 (4 bytes an element) and the mask (1)
    assert np.array_equal(y2.detach().numpy(), y.detach().numpy())


def test_inplace_writes_into_the_input_and_keeps_the_gradient():
    base = cr.tensor(np.arange(1.0, 41.0).reshape(5, 8), requires_grad=True)
    h = base * 1.0
    cr.manual_seed(9)
    want = F.dropout(h, 0.5).detach().numpy()
    cr.manual_seed(9)
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h and h._version == 1
    np.testing.assert_array_equal(h.detach().numpy(), want)
    h.sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), (want != 0) * 2.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(base, 0.5, inplace=True)
    plain = cr.ones(4)
    assert F.dropout(plain, 1.0, inplace=True) is plain and plain.tolist() == [0.0] * 4
    assert F.dropout(plain, 0.5, training=False, inplace=True) is plain


def test_the_module_with_inplace():
    layer = cr.nn.Dropout(0.5, inplace=True)
    h = cr.ones(100)
    cr.manual_seed(1)
    assert layer(h) is h and set(h.tolist()) == {0.0, 2.0}
    layer.eval()
    g = cr.ones(3)
    assert layer(g) is g and g.tolist() == [1.0, 1.0, 1.0]


def test_the_mask_is_freed_by_the_backward_pass_and_a_second_pass_refused():
    """PyTorch saves dropout's mask for backward: freed once used (a step's peak memory), and
    a second pass through the node is an error, not a silent reuse."""
    x = cr.randn(64, 128, requires_grad=True)
    y = F.dropout(x * 2, 0.2)
    mask = y._node.args[1]
    refs = sys.getrefcount(mask)
    y.sum().backward()
    assert sys.getrefcount(mask) < refs  # the node let go of it
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
