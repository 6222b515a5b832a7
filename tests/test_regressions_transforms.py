"""Defects found in the second review (forward mode, chainrule.func, chainrule.numpy), kept as
regression tests; each asserts the behaviour of JAX 0.10 / PyTorch 2.13 / NumPy / SciPy or a
closed form.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.func import grad, hessian, jacfwd, jacrev, jvp, vjp

X = np.array([0.5, 1.0])


def _sinx_times_x(x):
    return cnp.sin(x) * x


def _d_sinx_times_x(x):
    return np.cos(x) * x + np.sin(x)


# --------------------------------------------------------------------------------------------
# 1. wrong derivatives


def test_vjp_fn_is_differentiable_in_the_cotangent():
    _, pullback = vjp(_sinx_times_x, X)
    expected = _d_sinx_times_x(X)  # vjp_fn(c) = J^T c, J diagonal
    g = grad(lambda c: cnp.sum(pullback(c)[0]))(np.ones(2))
    np.testing.assert_allclose(g, expected)
    np.testing.assert_allclose(jacfwd(lambda c: pullback(c)[0])(np.ones(2)), np.diag(expected))
    # vjp created inside the transform too
    g2 = grad(lambda c: cnp.sum(vjp(_sinx_times_x, X)[1](c)[0]))(np.ones(2))
    np.testing.assert_allclose(g2, expected)


def test_hessian_with_argnums_tuple_is_nested():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    h = hessian(lambda x, y: cnp.sum(x ** 2 * y ** 3), argnums=(0, 1))(x, y)
    hxx, hxy = np.diag(2 * y ** 3), np.diag(6 * x * y ** 2)
    hyy = np.diag(6 * x ** 2 * y)
    assert isinstance(h, tuple) and len(h) == 2 and all(isinstance(r, tuple) for r in h)
    np.testing.assert_allclose(h[0][0], hxx)
    np.testing.assert_allclose(h[0][1], hxy)
    np.testing.assert_allclose(h[1][0], hxy.T)
    np.testing.assert_allclose(h[1][1], hyy)


def test_jacobians_of_tuple_outputs_keep_the_structure():
    x = np.array([1.0, 2.0])
    for jac in (jacfwd, jacrev):
        j = jac(lambda x: (x ** 2, x ** 3))(x)
        assert isinstance(j, tuple) and len(j) == 2
        np.testing.assert_allclose(j[0], np.diag(2 * x))
        np.testing.assert_allclose(j[1], np.diag(3 * x ** 2))


def test_jacfwd_and_hessian_accept_non_float_static_arguments():
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(jacfwd(lambda x, n: x ** n)(x, 3), np.diag(3 * x ** 2))
    np.testing.assert_allclose(hessian(lambda x, n: cnp.sum(x ** n))(x, 3), np.diag(6 * x))
    np.testing.assert_allclose(jacfwd(lambda x, i: x[i])(x, np.array([1, 0])),
                               [[0.0, 1.0], [1.0, 0.0]])


def test_grad_of_constant_or_ignoring_function_is_zero():
    np.testing.assert_allclose(grad(lambda x: 3.0)(2.0), 0.0)
    np.testing.assert_allclose(grad(lambda x, y: cnp.sum(y))(np.ones(2), np.ones(3)),
                               np.zeros(2))


def test_vjp_with_constant_output_leaf():
    _, pullback = vjp(lambda x: (x * 2, np.ones(2)), X)
    (g,) = pullback((np.ones(2), np.ones(2)))
    np.testing.assert_allclose(g, [2.0, 2.0])
    _, pullback = vjp(lambda x: 3.0, X)
    np.testing.assert_allclose(pullback(1.0)[0], np.zeros(2))


# --------------------------------------------------------------------------------------------
# 2./3. leaks and NumPy-in/NumPy-out


def test_aux_is_plain_numpy_for_numpy_inputs():
    def f(x):
        return cnp.sum(x ** 2), {"a": x * 2}

    auxes = [grad(f, has_aux=True)(X)[1], vjp(f, X, has_aux=True)[2],
             jvp(f, (X,), (X,), has_aux=True)[2], jacrev(f, has_aux=True)(X)[1],
             jacfwd(f, has_aux=True)(X)[1]]
    for aux in auxes:
        assert isinstance(aux["a"], np.ndarray), type(aux["a"])
        np.testing.assert_allclose(aux["a"], 2 * X)


# --------------------------------------------------------------------------------------------
# 4. the NumPy protocol


def test_mod_keeps_the_gradient():
    t = cr.tensor([1.5, 2.5], dtype=cr.float64, requires_grad=True)
    out = np.mod(t, 1.0)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(grad(lambda x: cnp.sum(cnp.remainder(x, 1.0)))(
        np.array([1.5, 2.5])), [1.0, 1.0])


def test_array_conversion_does_not_silently_drop_gradients():
    x = np.array([1.0, 2.0])
    # a list of tensors is stacked, so its gradient is kept
    np.testing.assert_allclose(grad(lambda x: cnp.sum([x[0] ** 2, x[1]]))(x), [2.0, 1.0])
    # np.asarray of a tensor that requires grad would lose it: refused
    with pytest.raises(RuntimeError, match="Can't convert a Tensor that requires grad"):
        grad(lambda x: cnp.sum(x * np.asarray(x)))(x)


@pytest.mark.parametrize(("ord_", "axis"), [(2, None), (2, (0, 1)), (1, (0, 1)),
                                            (np.inf, (0, 1))])
def test_linalg_norm_matrix_orders_are_refused_with_advice(ord_, axis):
    t = cr.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=cr.float64)
    with pytest.raises(NotImplementedError, match="matrix norm .* is not supported; use"):
        np.linalg.norm(t, ord_, axis=axis)


def test_sigmoid_of_python_number_is_float64():
    for value in (0.5, 1):
        out = np.asarray(cnp.sigmoid(value))
        assert out.dtype == np.float64
        assert float(out) == pytest.approx(1 / (1 + np.exp(-value)), rel=1e-12)


def test_log_softmax_numpy_path_is_stable():
    a = np.array([0.0, 1000.0])
    with np.errstate(divide="ignore"):
        out = cnp.log_softmax(a)
    np.testing.assert_allclose(out, [-1000.0, 0.0])


# --------------------------------------------------------------------------------------------
# 5. error messages


def test_ufunc_dtype_keyword_is_differentiable():
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(grad(lambda x: cnp.sum(np.sin(x, dtype=np.float64)))(x),
                               np.cos(x))
    np.testing.assert_allclose(jvp(lambda x: np.sin(x, dtype=np.float64), (x,), (x,))[1],
                               np.cos(x) * x)


def test_hvp_leaves_no_reference_cycles():
    """A result's tangents lead back to its node: freeing the graph must break that loop, or
    every Hessian-vector product leaves garbage for the cyclic collector."""
    import gc

    from chainrule.func import hvp

    rng = np.random.default_rng(0)
    w, x, u = rng.standard_normal((5, 5)), rng.standard_normal(5), rng.standard_normal(5)
    f = lambda z: cr.tanh(cr.tensor(w) @ z).sum()
    gc.collect()
    gc.disable()
    try:
        _, hv = hvp(f, (x,), (u,))
        assert gc.collect() == 0
    finally:
        gc.enable()
    t = np.tanh(w @ x)
    np.testing.assert_allclose(hv, w.T @ (-2 * t * (1 - t * t) * (w @ u)), rtol=1e-12)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_derivative_of_tanh_and_sigmoid_records_one_node(name):
    """As in PyTorch, the recorded derivative is one fused operation (TanhBackwardBackward0),
    not three multiplications: second derivatives and forward-over-reverse stay cheap."""
    x = cr.tensor([0.3, -0.7], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(getattr(cr, name)(x).sum(), x, create_graph=True)
    assert g.grad_fn.name() == f"{name.capitalize()}BackwardBackward0"
    y = np.tanh(x.detach().numpy()) if name == "tanh" else 1 / (1 + np.exp(-x.detach().numpy()))
    (h,) = cr.autograd.grad(g.sum(), x)
    expected = -2 * y * (1 - y * y) if name == "tanh" else y * (1 - y) * (1 - 2 * y)
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)


def test_tensors_inside_a_structure_give_tensors_out():
    """The kind of the results follows the first leaf of the first argument, also when that
    argument is a tuple or dict (it was decided on the container, which is never a Tensor)."""
    from chainrule.func import hvp, value_and_grad

    t = cr.tensor([1.0, 2.0], dtype=cr.float64)
    out, vjp_fn = vjp(lambda p: p[0] * p[0], (t,))
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(vjp_fn(cr.ones(2, dtype=cr.float64))[0][0].numpy(), [2.0, 4.0])
    value, g = value_and_grad(lambda p: (p["w"] ** 2).sum())({"w": t})
    assert isinstance(value, cr.Tensor) and isinstance(g["w"], cr.Tensor)
    value, hv = hvp(lambda p: (p[0] ** 3).sum(), ((t,),), ((cr.ones(2, dtype=cr.float64),),))
    assert isinstance(value, cr.Tensor)
    np.testing.assert_allclose(hv[0].numpy(), [6.0, 12.0])
    assert isinstance(vjp(lambda p: p[0] * p[0], (t.numpy(),))[0], np.ndarray)  # NumPy stays
