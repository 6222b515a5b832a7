"""chainrule.numpy's functions that pick, place and count entries, and those that apply the
user's functions to parts of an array (``chainrule/numpy_indexing.py``).

Oracles: NumPy's values and errors (the functions run NumPy's own on labels of the entries),
closed forms of the gradients (an entry taken k times gets k times the gradient) and central
differences."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads

A = np.arange(12.0).reshape(3, 4) / 7 - 0.5


def _grad(f, a):
    t = cr.tensor(a, requires_grad=True)
    f(t).backward()
    return t.grad.numpy()


def test_an_entry_taken_twice_gets_the_gradient_twice():
    grad = _grad(lambda t: cnp.take(t, [1, 5, 5, -1]).sum(), A)
    expected = np.zeros(12)
    expected[[1, 5, 11]] = [1, 2, 1]
    np.testing.assert_array_equal(grad, expected.reshape(3, 4))
    grad = _grad(lambda t: cnp.take(t, [5, -1], axis=1, mode="wrap").sum(), A)
    np.testing.assert_array_equal(grad, [[0, 1, 0, 1]] * 3)  # 5 wraps to 1, -1 to 3


@pytest.mark.parametrize("call", [
    lambda m, a: m.take(a, [[0, 7], [3, -2]], axis=1, mode="clip"),
    lambda m, a: m.take_along_axis(a, np.argsort(a, axis=0), axis=0),
    lambda m, a: m.choose([[0, 1, 1, 0]], [a, a[:1] * 2, -1.5]),
    lambda m, a: m.choose([2, 0, 1, 5], a, mode="clip"),
    lambda m, a: m.compress([False, True, True], a, axis=0),
    lambda m, a: m.extract(a > 0.3, a),
    lambda m, a: m.delete(a, [0, 2], axis=1),
    lambda m, a: m.delete(a, np.array([True] + [False] * 11)),
    lambda m, a: m.insert(a, [0, 2, 2], a[0, :3], axis=1),
    lambda m, a: m.insert(a, 1, [[9.0], [8.0], [7.0]], axis=1),
    lambda m, a: m.insert(a, slice(None), -1.0),
    lambda m, a: m.diagflat(a[1], -2),
    lambda m, a: m.ediff1d(a, to_begin=a[0, :2], to_end=3),
])
def test_values_and_gradients_of_rearrangements(call):
    expected = call(np, A)
    ours = call(cnp, cr.tensor(A, requires_grad=True))
    assert ours.requires_grad
    np.testing.assert_array_equal(ours.detach().numpy(), expected)
    check_grads(lambda t: call(cnp, t), (A,))


@pytest.mark.parametrize("call, error", [
    (lambda m, a: m.take(a, [12]), IndexError),
    (lambda m, a: m.take_along_axis(a, np.array([[0.5]]), axis=0), IndexError),
    (lambda m, a: m.choose([3, 0, 1, 0], a), ValueError),
    (lambda m, a: m.delete(a, 5, axis=1), IndexError),
    (lambda m, a: m.insert(a, 9, 1.0, axis=1), IndexError),
    (lambda m, a: m.ediff1d(np.arange(3), to_begin=a), TypeError),
])
def test_errors_are_numpys_and_name_the_function(call, error):
    with pytest.raises(error):
        call(np, A)
    with pytest.raises(error, match=r"^chainrule\.numpy\."):
        call(cnp, cr.tensor(A, requires_grad=True))


def test_bincount_is_differentiable_in_the_weights():
    x, w = np.array([0, 2, 2, 5, 1]), np.array([0.5, -1.0, 2.0, 3.0, 0.25])
    t = cr.tensor(w, requires_grad=True)
    counts = cnp.bincount(x, weights=t, minlength=7)
    np.testing.assert_array_equal(counts.detach().numpy(), np.bincount(x, w, minlength=7))
    assert counts.dtype == np.float64
    g = np.arange(7.0)
    (counts * g).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), g[x])  # each weight, its bin's gradient
    plain = cnp.bincount(cr.tensor(x))
    np.testing.assert_array_equal(plain.numpy(), np.bincount(x))
    assert not plain.requires_grad
    with pytest.raises(ValueError, match="same length"):
        cnp.bincount(x, weights=cr.tensor(w[:3], requires_grad=True))


def test_piecewise_differentiates_the_users_functions():
    x = np.array([-2.0, -0.5, 0.3, 1.5, 4.0])
    funcs = [lambda t: t * t, cnp.sin, 0.25]
    expected = np.piecewise(x, [x < 0, x > 1], funcs)
    t = cr.tensor(x, requires_grad=True)
    y = cnp.piecewise(t, [t < 0, t > 1], funcs)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    y.sum().backward()
    # 2x where x < 0, cos x where x > 1, 0 where no condition holds and a constant is given
    np.testing.assert_allclose(t.grad.numpy(), [-4.0, -1.0, 0.0, np.cos(1.5), np.cos(4.0)])
    # a constant Tensor among the functions gets the gradient of its entries
    c = cr.tensor(0.25, dtype=cr.float64, requires_grad=True)
    cnp.piecewise(t, [t < 0], [cnp.exp, c]).sum().backward()
    assert float(c.grad) == 3.0


def test_apply_along_axis_and_over_axes():
    def func1d(row):
        return cnp.stack([cnp.sum(row * row), row[0]])

    expected = np.apply_along_axis(func1d, 1, A)
    t = cr.tensor(A, requires_grad=True)
    y = cnp.apply_along_axis(func1d, 1, t)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    y[:, 0].sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * A)  # d sum(row^2) = 2 row
    check_grads(lambda t: cnp.apply_along_axis(lambda r: cnp.outer(r, r[::-1]), 0, t), (A,))
    expected = np.apply_over_axes(np.sum, A, [0, 1])
    t = cr.tensor(A, requires_grad=True)
    y = cnp.apply_over_axes(cnp.sum, t, [0, 1])
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones_like(A))
    with pytest.raises(ValueError, match="apply_along_axis"):
        cnp.apply_along_axis(cnp.sum, 0, cr.tensor(np.ones((3, 0))))


def test_numpys_functions_on_tensors_record():
    t = cr.tensor(A, requires_grad=True)
    for value in (np.take(t, [0, 1]), np.delete(t, 0), np.insert(t, 0, 1.0),
                  np.diagflat(t[0]), np.piecewise(t, [t > 0], [np.exp, 0.0])):
        assert isinstance(value, cr.Tensor) and value.requires_grad
