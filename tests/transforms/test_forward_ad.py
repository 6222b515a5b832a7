"""Forward-mode behaviours of ``torch.autograd.forward_ad`` (pytorch_autograd.md §10.3, F1-F11).

Expected values are closed forms; errors match PyTorch's key phrases.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD


def test_F1_tangent_of_sin_times_x():
    p = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    t = cr.tensor([1.0, 0.0, 0.0], dtype=cr.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(p, t)
        out = fwAD.unpack_dual(d.sin() * d)
    assert isinstance(out, fwAD.UnpackedDualTensor)
    expected = (np.cos([1.0, 2.0, 3.0]) * [1.0, 2.0, 3.0] + np.sin([1.0, 2.0, 3.0])) * [1, 0, 0]
    np.testing.assert_allclose(out.tangent.numpy(), expected)
    np.testing.assert_allclose(out.primal.numpy(), np.sin([1.0, 2.0, 3.0]) * [1.0, 2.0, 3.0])


def test_F2_make_dual_outside_a_level_raises():
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(cr.ones(2), cr.ones(2))


def test_F3_tangent_of_another_size_raises():
    with fwAD.dual_level(), pytest.raises(RuntimeError, match="different size"):
        fwAD.make_dual(cr.ones(2), cr.ones(3))


def test_F4_nested_dual_levels_raise():
    with fwAD.dual_level(), pytest.raises(RuntimeError, match="Nested forward mode AD"):
        with fwAD.dual_level():
            pass


def test_F5_unpack_of_a_plain_tensor_has_no_tangent():
    with fwAD.dual_level():
        assert fwAD.unpack_dual(cr.ones(2)).tangent is None


def test_F6_tangents_are_gone_after_the_level():
    with fwAD.dual_level():
        y = fwAD.make_dual(cr.ones(2), cr.ones(2)) * 3
    assert fwAD.unpack_dual(y).tangent is None
    with fwAD.dual_level():  # a new level does not see the old tangent either
        assert fwAD.unpack_dual(y).tangent is None
        np.testing.assert_allclose((y * 2).numpy(), [6.0, 6.0])


def test_F7_F8_no_requires_grad_needed_and_no_grad_does_not_stop_tangents():
    x = cr.tensor([0.5, 1.5])
    assert not x.requires_grad
    with fwAD.dual_level(), cr.no_grad():
        y = fwAD.make_dual(x, cr.ones(2)).exp()
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), np.exp([0.5, 1.5]),
                                   rtol=1e-6)


def test_F9_detach_drops_the_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(cr.ones(2), cr.ones(2))
        assert fwAD.unpack_dual(d.detach()).tangent is None


def test_F10_in_place_change_of_a_dual_updates_its_tangent():
    with fwAD.dual_level():
        y = fwAD.make_dual(cr.tensor([1.0, 0.0]), cr.tensor([1.0, 0.0])).exp()
        y.mul_(2)
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), [2 * np.e, 0.0],
                                   rtol=1e-6)


def test_F11_gradient_of_a_tangent_reaches_the_leaf():
    """Reverse over forward: the tangent's computation is recorded like any other."""
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    t = cr.tensor([0.5, -1.0], dtype=cr.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        fwAD.unpack_dual((d * d).sum()).tangent.backward()  # tangent = 2 x . t
    np.testing.assert_allclose(x.grad.numpy(), 2 * t.numpy())


def test_tangent_dtype_follows_the_primal():
    with fwAD.dual_level():
        d = fwAD.make_dual(cr.ones(2, dtype=cr.float32), cr.ones(2, dtype=cr.float64))
        assert fwAD.unpack_dual(d * 2.5).tangent.dtype == np.float32


def test_indexing_and_setitem_carry_tangents():
    with fwAD.dual_level():
        d = fwAD.make_dual(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 10.0, 100.0]))
        y = cr.zeros(4)
        y[1:] = d * 2
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), [0, 2, 20, 200])
        np.testing.assert_allclose(fwAD.unpack_dual(d[[0, 0, 2]]).tangent.numpy(), [1, 1, 100])


def test_nested_forward_mode_through_cat_with_a_constant_piece():
    """Found by check_grads: the inner zero tangent of a constant must keep its shape."""
    from chainrule.func import jvp

    x = np.array([1.0, 2.0])
    f = lambda t: cr.cat([t * t, cr.zeros(1, dtype=cr.float64)])  # noqa: E731
    _, second = jvp(lambda t: jvp(f, (t,), (x,))[1], (x,), (x,))
    np.testing.assert_allclose(second, [2.0, 8.0, 0.0])  # d/de (2 t x) along x = 2 x * x


def test_in_place_change_through_a_view_of_a_dual_reaches_the_base_tangent():
    """Found by check_grads (it raised before issue 13, D): the base's tangent follows."""
    with fwAD.dual_level():
        x = fwAD.make_dual(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
        y = x * 1.0
        y[:1].mul_(2.0)
        assert y.tolist() == [2.0, 2.0]
        assert fwAD.unpack_dual(y).tangent.tolist() == [2.0, 1.0]
