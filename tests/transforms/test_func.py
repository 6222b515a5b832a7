"""chainrule.func: JAX-style transforms, checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.func import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
)


def test_grad_of_closed_forms():
    assert float(grad(lambda x: x ** 3)(2.0)) == pytest.approx(12.0)
    g = grad(lambda x: (cr.sin(x) * x).sum())(np.array([0.5, 1.0]))
    np.testing.assert_allclose(g, np.cos([0.5, 1.0]) * [0.5, 1.0] + np.sin([0.5, 1.0]))


def test_nested_grad_does_not_confuse_variables():
    """The perturbation-confusion regression: the inner grad is only with respect to y."""
    assert float(grad(lambda x: x * grad(lambda y: x + y)(1.0))(1.0)) == 1.0
    # d/dx [ d/dy (x y) at y = x ] = d/dx x = 1
    assert float(grad(lambda x: grad(lambda y: x * y)(x))(2.0)) == 1.0
    # f(x) = x * (d/dy x y) = x^2, so f'(x) = 2x
    assert float(grad(lambda x: x * grad(lambda y: x * y)(3.0))(5.0)) == 10.0


def test_transforms_compose_to_any_depth():
    f = lambda x: x ** 4  # noqa: E731
    assert float(grad(grad(grad(f)))(2.0)) == pytest.approx(24 * 2.0)
    x = np.array([0.3, -0.7])
    h = jacfwd(jacrev(lambda v: (v ** 3).sum()))(x)
    np.testing.assert_allclose(h, np.diag(6 * x))
    np.testing.assert_allclose(jacrev(jacrev(lambda v: (v ** 3).sum()))(x), np.diag(6 * x))
    np.testing.assert_allclose(jacfwd(jacfwd(lambda v: (v ** 3).sum()))(x), np.diag(6 * x))
    _, hv = jvp(grad(lambda v: (v ** 3).sum()), (x,), (np.array([1.0, 2.0]),))
    np.testing.assert_allclose(hv, 6 * x * [1.0, 2.0])


def test_argnums_has_aux_and_value_and_grad():
    f = lambda x, y: ((x * y).sum(), "aux")  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (gx, gy), aux = grad(f, argnums=(0, 1), has_aux=True)(x, y)
    np.testing.assert_allclose(gx, y)
    np.testing.assert_allclose(gy, x)
    assert aux == "aux"
    (value, aux), g = value_and_grad(f, argnums=1, has_aux=True)(x, y)
    assert float(value) == 11.0 and aux == "aux"
    np.testing.assert_allclose(g, x)


def test_structures_in_and_out():
    params = {"w": np.array([1.0, 2.0]), "b": (np.array(0.5), [np.array(3.0)])}

    def loss(p):
        return (p["w"] ** 2).sum() + p["b"][0] * p["b"][1][0]

    g = grad(loss)(params)
    assert set(g) == {"w", "b"} and isinstance(g["b"], tuple) and isinstance(g["b"][1], list)
    np.testing.assert_allclose(g["w"], [2.0, 4.0])
    assert float(g["b"][0]) == 3.0 and float(g["b"][1][0]) == 0.5


def test_numpy_in_numpy_out_and_tensors_in_tensors_out():
    g = grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    assert type(g) is np.ndarray
    t = cr.tensor([1.0, 2.0], dtype=cr.float64)
    gt = grad(lambda x: (x * x).sum())(t)
    assert isinstance(gt, cr.Tensor) and not gt.requires_grad
    np.testing.assert_allclose(gt.numpy(), [2.0, 4.0])


def test_transforms_never_touch_dot_grad():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    grad(lambda v: (v * v).sum())(x)
    jacrev(lambda v: v * v)(x)
    assert x.grad is None


def test_grad_of_a_tensor_that_requires_grad_is_differentiable_by_backward():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    g = grad(lambda v: (v ** 3).sum())(x)  # 3 x^2, still connected to x
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 2.0]))


def f_control_flow(a):
    """The chapter's function with Python control flow."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def test_python_control_flow_under_every_transform():
    a = np.array(0.37)
    d = f_control_flow(cr.tensor(a)).item()
    slope = d / 0.37
    assert float(grad(f_control_flow)(a)) == pytest.approx(slope)
    assert float(jacrev(f_control_flow)(a)) == pytest.approx(slope)
    assert float(jvp(f_control_flow, (a,), (np.array(1.0),))[1]) == pytest.approx(slope)


def test_vjp_function_can_be_called_many_times_on_one_recording():
    calls = []

    def f(x):
        calls.append(1)
        return x * x * 3.0

    out, pullback = vjp(f, np.array([1.0, 2.0]))
    for u in ([1.0, 0.0], [0.0, 1.0], [2.0, 2.0]):
        (g,) = pullback(np.array(u))
        np.testing.assert_allclose(g, 6 * np.array([1.0, 2.0]) * u)
    assert len(calls) == 1
    np.testing.assert_allclose(out, [3.0, 12.0])


def test_jacrev_and_jacfwd_each_use_one_forward_pass():
    calls = []

    def f(x):
        calls.append(1)
        return cr.stack([x.sum(), (x * x).sum(), x.prod()])

    x = np.array([1.0, 2.0, 3.0, 4.0])
    expected = np.stack([np.ones(4), 2 * x, [24.0, 12.0, 8.0, 6.0]])
    np.testing.assert_allclose(jacrev(f)(x), expected)
    assert len(calls) == 1
    calls.clear()
    np.testing.assert_allclose(jacfwd(f)(x), expected)
    assert len(calls) == 1  # the tangents of the four inputs are one batch (vmap)


def test_jacobian_auto_chooses_the_cheaper_mode():
    calls = []

    def tall(x):  # 2 inputs, 50 outputs: forward mode
        calls.append(1)
        return cr.sin(x[0] * cr.arange(50.0, dtype=cr.float64) + x[1])

    j = jacobian(tall)(np.array([0.1, 0.2]))
    assert j.shape == (50, 2)
    assert len(calls) == 1 + 1  # one evaluation to count the outputs, then one batched pass
    k = np.arange(50.0)
    np.testing.assert_allclose(j[:, 0], np.cos(0.1 * k + 0.2) * k)
    calls.clear()
    wide = lambda x: (calls.append(1), (x ** 2).sum())[1]  # noqa: E731
    g = jacobian(wide)(np.linspace(0, 1, 50))
    assert g.shape == (50,) and len(calls) == 1 + 1


def test_hessian_and_hvp():
    w = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.1]])
    x = np.array([0.2, -0.4])

    def f(v):
        return cr.tanh(cr.tensor(w) @ v).sum()

    t = np.tanh(w @ x)
    expected = w.T @ np.diag(-2 * t * (1 - t ** 2)) @ w
    np.testing.assert_allclose(hessian(f)(x), expected, rtol=1e-10)
    value, hv = hvp(f, (x,), (np.array([1.0, 3.0]),))
    np.testing.assert_allclose(hv, expected @ [1.0, 3.0], rtol=1e-10)
    assert float(value) == pytest.approx(t.sum())


def test_linearize():
    value, f_jvp = linearize(lambda x: cr.exp(x) * 2, np.array([0.0, 1.0]))
    np.testing.assert_allclose(value, 2 * np.exp([0.0, 1.0]))
    np.testing.assert_allclose(f_jvp(np.array([1.0, 0.5])), 2 * np.exp([0.0, 1.0]) * [1, 0.5])


def test_errors():
    with pytest.raises(TypeError, match=r"scalar-output functions. Output had shape: \(2,\)"):
        grad(lambda x: x * 2)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="vjp"):
        grad(lambda x: x * 2)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="int64"):
        grad(lambda x: (x * 2).sum())(np.array([1, 2]))
    with pytest.raises(ValueError, match="shape"):
        jvp(cr.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(TypeError, match="dtype"):
        jvp(cr.sin, (np.ones(2),), (np.ones(2, np.float32),))
    with pytest.raises(TypeError, match="tuples"):
        jvp(cr.sin, np.ones(2), np.ones(2))


def test_second_derivative_of_chapter_exercise_function():
    """Exercise 5-7's f(x) = log(x^2) sin(x) + 1/x: f'(2) = 0.0823954 (float32 in the issue)."""
    f = lambda x: cr.log(x ** 2) * cr.sin(x) + 1 / x  # noqa: E731
    fprime = float(grad(f)(2.0))
    exact = 2 / 2.0 * math.sin(2.0) + math.log(4.0) * math.cos(2.0) - 1 / 4.0
    assert fprime == pytest.approx(exact, rel=1e-12)
    assert fprime == pytest.approx(0.0823954, abs=1e-7)


def test_tenth_derivative_of_a_quotient_is_exact():
    """Div's rule uses ans = x / y, so each order does not square the denominator again."""
    g = lambda x: 1 / x  # noqa: E731
    for _ in range(10):
        g = grad(g)
    assert float(g(2.0)) == pytest.approx(math.factorial(10) / 2.0 ** 11, rel=1e-12)


def test_hvp_with_two_arguments_and_inside_another_transform():
    # f(x, y) = sum(x^2 y^3): H = [[2 diag(y^3), 6 diag(x y^2)], [6 diag(x y^2), 6 diag(x^2 y)]]
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    v, w = np.array([0.5, 1.0]), np.array([1.0, 2.0])
    value, (hx, hy) = hvp(lambda a, b: (a ** 2 * b ** 3).sum(), (x, y), (v, w))
    assert float(value) == pytest.approx(float((x ** 2 * y ** 3).sum()))
    np.testing.assert_allclose(hx, 2 * y ** 3 * v + 6 * x * y ** 2 * w)
    np.testing.assert_allclose(hy, 6 * x * y ** 2 * v + 6 * x ** 2 * y * w)
    # d/dx of (H(x) v) for f = sum(x^3): H v = 6 x v, so its Jacobian is diag(6 v)
    j = jacrev(lambda z: hvp(lambda a: (a ** 3).sum(), (z,), (v,))[1])(x)
    np.testing.assert_allclose(j, np.diag(6 * v))


def test_named_tuples_keep_their_type():
    """A namedtuple argument is a structure like a tuple; its gradient is the same namedtuple."""
    from collections import namedtuple

    Point = namedtuple("Point", ["a", "b"])
    g = grad(lambda p: p.a * p.b ** 2)(Point(np.array(2.0), np.array(3.0)))
    assert type(g) is Point
    assert (float(g.a), float(g.b)) == (9.0, 12.0)  # (b^2, 2 a b)


# --------------------------------------------------------------------------------------------
# vjp and Jacobians of structures, constant outputs, static arguments, aux outputs, memory


X = np.array([0.5, 1.0])


def _sinx_times_x(x):
    return cnp.sin(x) * x


def _d_sinx_times_x(x):
    return np.cos(x) * x + np.sin(x)


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


def test_aux_is_plain_numpy_for_numpy_inputs():
    def f(x):
        return cnp.sum(x ** 2), {"a": x * 2}

    auxes = [grad(f, has_aux=True)(X)[1], vjp(f, X, has_aux=True)[2],
             jvp(f, (X,), (X,), has_aux=True)[2], jacrev(f, has_aux=True)(X)[1],
             jacfwd(f, has_aux=True)(X)[1]]
    for aux in auxes:
        assert isinstance(aux["a"], np.ndarray), type(aux["a"])
        np.testing.assert_allclose(aux["a"], 2 * X)


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
