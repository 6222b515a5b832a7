"""chainrule.numpy, NumPy's protocols on Tensor, and functional updates (x.at[idx])."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.func import grad, jacrev, jvp

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
V = rng.uniform(0.5, 2.0, 4)

# name, call on arrays (must equal NumPy's own result, for NumPy inputs)
SAME_AS_NUMPY = [
    ("sin", lambda m: m.sin(V)), ("exp", lambda m: m.exp(V)), ("log", lambda m: m.log(V)),
    ("tanh", lambda m: m.tanh(A)), ("sqrt", lambda m: m.sqrt(V)), ("abs", lambda m: m.abs(A)),
    ("sinh", lambda m: m.sinh(V)), ("cosh", lambda m: m.cosh(V)),
    ("logaddexp", lambda m: m.logaddexp(A, 0.3)), ("reciprocal", lambda m: m.reciprocal(V)),
    ("add", lambda m: m.add(A, V)), ("power", lambda m: m.power(V, 2.5)),
    ("maximum", lambda m: m.maximum(A, 0.1)), ("where", lambda m: m.where(A > 0, A, -A)),
    ("clip", lambda m: m.clip(A, -0.5, 0.5)), ("sum", lambda m: m.sum(A, axis=0)),
    ("sum-keepdims", lambda m: m.sum(A, axis=1, keepdims=True)), ("mean", lambda m: m.mean(A)),
    ("prod", lambda m: m.prod(V)), ("max", lambda m: m.max(A, axis=1)),
    ("min", lambda m: m.min(A)), ("var", lambda m: m.var(A, axis=0)),
    ("std-ddof", lambda m: m.std(A, ddof=1)), ("dot", lambda m: m.dot(A, B)),
    ("dot-1d", lambda m: m.dot(V, V)), ("matmul", lambda m: m.matmul(A, B)),
    ("outer", lambda m: m.outer(V, V)), ("inner", lambda m: m.inner(A, A)),
    ("tensordot", lambda m: m.tensordot(A, B, axes=1)),
    ("einsum", lambda m: m.einsum("ij,jk->ik", A, B)), ("reshape", lambda m: m.reshape(A, (2, 6))),
    ("transpose", lambda m: m.transpose(A)), ("swapaxes", lambda m: m.swapaxes(A, 0, 1)),
    ("moveaxis", lambda m: m.moveaxis(m.reshape(A, (3, 2, 2)), 0, -1)),
    ("expand_dims", lambda m: m.expand_dims(V, 0)), ("ravel", lambda m: m.ravel(A)),
    ("concatenate", lambda m: m.concatenate([A, A], axis=1)),
    ("stack", lambda m: m.stack([V, V])), ("flip", lambda m: m.flip(A)),
    ("tile", lambda m: m.tile(V, 2)), ("norm", lambda m: m.linalg.norm(A)),
    ("norm-axis", lambda m: m.linalg.norm(A, axis=1)),
    ("cumsum", lambda m: m.cumsum(A, axis=1)), ("cumsum-flat", lambda m: m.cumsum(A)),
    ("cumprod", lambda m: m.cumprod(V)), ("sort", lambda m: m.sort(A, axis=0)),
    ("inv", lambda m: m.linalg.inv(A[:, :3] + 3 * m.eye(3))),
    ("det", lambda m: m.linalg.det(A[:, :3] + 3 * m.eye(3))),
    ("solve", lambda m: m.linalg.solve(A[:, :3] + 3 * m.eye(3), V[:3])),
    ("cholesky", lambda m: m.linalg.cholesky(m.dot(A, m.transpose(A)) + m.eye(3))),
    ("eigvalsh", lambda m: m.linalg.eigvalsh(m.dot(A, m.transpose(A)) + m.eye(3))),
]


@pytest.mark.parametrize(("name", "call"), SAME_AS_NUMPY, ids=[n for n, _ in SAME_AS_NUMPY])
def test_numpy_inputs_give_numpys_own_result(name, call):
    ours, theirs = call(cnp), call(np)
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(("name", "call"), SAME_AS_NUMPY, ids=[n for n, _ in SAME_AS_NUMPY])
def test_tensor_inputs_record_and_agree_with_numpy(name, call):
    """Run the same call with the module-level arrays swapped for float64 tensors."""
    global A, B, V
    arrays = (A, B, V)
    A, B, V = (cr.tensor(a, requires_grad=True) for a in arrays)
    try:
        out = call(cnp)
    finally:
        A, B, V = arrays
    expected = call(np)
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)


def test_gradients_through_numpy_code():
    def energy(x):
        return cnp.sum(cnp.tanh(cnp.dot(A, x)) ** 2) + 0.5 * cnp.var(x)

    x = rng.standard_normal(4)
    t = np.tanh(A @ x)
    expected = A.T @ (2 * t * (1 - t ** 2)) + (x - x.mean()) / x.size
    np.testing.assert_allclose(grad(energy)(x), expected, rtol=1e-12)
    assert cr.autograd.gradcheck(energy, (cr.tensor(x, requires_grad=True),))


def test_numpy_functions_on_tensors_record():
    x = cr.tensor([0.5, 1.0, 1.5], dtype=cr.float64, requires_grad=True)
    y = np.sin(x) * np.ones(3) + np.sum(x * x, axis=0) + np.add.reduce(x)
    assert isinstance(y, cr.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.0, 1.5]) + 3 * 2 * x.detach().numpy()
                               + 3)


def test_numpy_functions_without_a_rule_raise_instead_of_losing_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="no differentiation rule"):
        np.minimum.accumulate(x)  # (a ufunc's method: chainrule.numpy has cumulative sums)
    with pytest.raises(TypeError, match="no differentiation rule"):
        np.maximum.accumulate(x)  # (a ufunc's method without a rule)
    with pytest.raises(TypeError, match="out="):
        np.sin(x, out=np.zeros(2))


def test_numpy_functions_without_gradient_give_numpy_results():
    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    assert np.shape(x) == (3,) and np.ndim(x) == 1 and int(np.argmax(x)) == 0
    np.testing.assert_array_equal(np.zeros_like(x), np.zeros(3, np.float32))
    less = np.array([2.0, 2.0, 2.0]) < x  # a comparison through NumPy's operator
    assert isinstance(less, cr.Tensor) and less.tolist() == [True, False, False]


def test_every_primitive_is_reachable_from_chainrule_numpy():
    """The functions without a NumPy name: values against SciPy, gradients against FD."""
    special = pytest.importorskip("scipy.special")
    x = rng.standard_normal((3, 4))
    for ours, theirs in ((cnp.logsumexp(x, axis=1), special.logsumexp(x, axis=1)),
                         (cnp.softmax(x, axis=0), special.softmax(x, axis=0)),
                         (cnp.softmax(x), special.softmax(x)),
                         (cnp.log_softmax(x, axis=1), special.log_softmax(x, axis=1)),
                         (cnp.expit(x), special.expit(x)), (cnp.relu(x), np.maximum(x, 0))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    t = cr.tensor(x, requires_grad=True)
    for f in (lambda a: cnp.logsumexp(a, axis=1), lambda a: cnp.softmax(a),
              lambda a: cnp.log_softmax(a, axis=0), cnp.expit):
        assert cr.autograd.gradcheck(f, (t,))


def test_linear_algebra_gradients():
    a = A[:, :3] + 3 * np.eye(3)
    np.testing.assert_allclose(grad(lambda m: cnp.linalg.det(m))(a),
                               np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12)
    sign, logabsdet = cnp.linalg.slogdet(cr.tensor(a, requires_grad=True))
    assert float(sign) == np.sign(np.linalg.det(a))
    spd = A @ A.T + np.eye(3)
    w, v = cnp.linalg.eigh(spd)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(spd))
    # d(sum of eigenvalues) = d trace = identity
    np.testing.assert_allclose(grad(lambda m: cnp.sum(cnp.linalg.eigvalsh(m)))(spd), np.eye(3),
                               atol=1e-12)


def test_numpy_dtype_rules():
    assert cnp.mean(np.arange(4)).dtype == np.float64
    assert cnp.var(np.array([1.0, 3.0])) == 1.0  # ddof=0, as NumPy
    x = cr.tensor(np.arange(3.0, dtype=np.float32))
    assert (np.ones(3) * x).dtype == np.float64  # NumPy's promotion


class TestAt:
    def test_set_is_out_of_place_and_differentiable_in_both(self):
        x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
        v = cr.tensor([10.0, 20.0], dtype=cr.float64, requires_grad=True)
        y = x.at[[0, 2]].set(v)
        assert y.tolist() == [10.0, 2.0, 20.0] and x.tolist() == [1.0, 2.0, 3.0]
        (y * cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)).sum().backward()
        assert x.grad.tolist() == [0.0, 2.0, 0.0]
        assert v.grad.tolist() == [1.0, 3.0]

    def test_add_accumulates_repeated_indices(self):
        x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
        v = cr.tensor([1.0, 2.0, 4.0], dtype=cr.float64, requires_grad=True)
        y = x.at[[0, 0, 2]].add(v)
        assert y.tolist() == [4.0, 2.0, 7.0]
        (y * y).sum().backward()
        assert x.grad.tolist() == [8.0, 4.0, 14.0]
        assert v.grad.tolist() == [8.0, 8.0, 14.0]

    def test_at_under_jacrev_and_get_multiply(self):
        def f(x):
            return x.at[1].multiply(x[0]).at[0].set(2.0)

        j = jacrev(f)(np.array([3.0, 5.0]))
        np.testing.assert_allclose(j, [[0.0, 0.0], [5.0, 3.0]])
        x = cr.tensor([1.0, 2.0])
        assert x.at[1].get().item() == 2.0


def test_logaddexp_at_minus_infinity_is_numpys():
    """log(e^x + e^y) with the larger input shifted out: -inf and -inf give -inf, not NaN."""
    pairs = [(-np.inf, -np.inf), (-np.inf, 1.5), (1000.0, 999.0), (-2.0, 3.0)]
    x = cr.tensor([p[0] for p in pairs], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([p[1] for p in pairs], dtype=cr.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (NumPy's own logaddexp does not warn either)
        out = cnp.logaddexp(x, y)
    np.testing.assert_allclose(out.detach().numpy(), np.logaddexp(*zip(*pairs)), rtol=1e-15)
    with np.errstate(invalid="ignore"):  # (at -inf, -inf the derivative is 0 / 0)
        out[1:].sum().backward()  # d/dx = e^x / (e^x + e^y)
    xs, ys = np.array(pairs[1:]).T
    np.testing.assert_allclose(x.grad.numpy()[1:], 1 / (1 + np.exp(ys - xs)), rtol=1e-12)


def test_linalg_results_have_numpys_field_names_for_tensors_too():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])

    def plain(v):
        return v.detach().numpy() if isinstance(v, cr.Tensor) else np.asarray(v)

    for x in (a, cr.tensor(a, requires_grad=True)):
        sign, logabsdet = cnp.linalg.slogdet(x)
        result = cnp.linalg.slogdet(x)
        assert plain(result.sign) == plain(sign) == 1.0
        assert plain(result.logabsdet) == plain(logabsdet) == pytest.approx(np.log(5.0))
        result = cnp.linalg.eigh(x)
        np.testing.assert_allclose(plain(result.eigenvalues), np.linalg.eigvalsh(a))
        assert plain(result.eigenvectors).shape == (2, 2)


# --------------------------------------------------------------------------------------------
# NumPy's protocols on Tensor: ufuncs, conversion to arrays, linalg.norm; NumPy in, NumPy out


def test_np_mod_of_a_tensor_keeps_the_gradient():
    t = cr.tensor([1.5, 2.5], dtype=cr.float64, requires_grad=True)
    out = np.mod(t, 1.0)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(grad(lambda x: cnp.sum(cnp.remainder(x, 1.0)))(
        np.array([1.5, 2.5])), [1.0, 1.0])


def test_ufunc_dtype_keyword_is_differentiable():
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(grad(lambda x: cnp.sum(np.sin(x, dtype=np.float64)))(x),
                               np.cos(x))
    np.testing.assert_allclose(jvp(lambda x: np.sin(x, dtype=np.float64), (x,), (x,))[1],
                               np.cos(x) * x)


def test_array_conversion_does_not_silently_drop_gradients():
    x = np.array([1.0, 2.0])
    # a list of tensors is stacked, so its gradient is kept
    np.testing.assert_allclose(grad(lambda x: cnp.sum([x[0] ** 2, x[1]]))(x), [2.0, 1.0])
    # np.asarray of a tensor that requires grad would lose it: refused
    with pytest.raises(RuntimeError, match="Can't convert a Tensor that requires grad"):
        grad(lambda x: cnp.sum(x * np.asarray(x)))(x)


@pytest.mark.parametrize(("ord_", "axis"), [(2, None), (-2, (1, 0)), ("nuc", (0, 1))])
def test_linalg_norm_spectral_orders_are_numpys_bit_for_bit(ord_, axis):
    """The norms of singular values, through NumPy's protocol: NumPy's values exactly, and
    gradients against finite differences (issue 14)."""
    a = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0]])
    t = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    out = np.linalg.norm(t, ord_, axis=axis)
    assert out.requires_grad and out.item() == np.linalg.norm(a, ord_, axis=axis)
    assert cr.autograd.gradgradcheck(lambda x: np.linalg.norm(x, ord_, axis=axis), (t,))


@pytest.mark.parametrize(("ord_", "axis"), [(1, (0, 1)), (np.inf, (0, 1)), ("nuc", None),
                                            (-1, None)])
def test_linalg_norm_matrix_orders_are_numpys(ord_, axis):
    a = np.array([[1.0, -2.0], [3.0, 4.0]])
    out = np.linalg.norm(cr.tensor(a, dtype=cr.float64), ord_, axis=axis)
    np.testing.assert_allclose(float(out), np.linalg.norm(a, ord_, axis=axis))


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


# --- bugs found on real NumPy code (issue 14), each against NumPy or a closed form ---


def test_inner_with_a_0d_operand_is_the_product():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(cnp.inner(x, 2.0), np.inner(x, 2.0))
    # f(x) = sum(inner(x0, x)) = x0 (x0 + x1): the gradient is (2 x0 + x1, x0)
    np.testing.assert_allclose(grad(lambda t: cnp.inner(t[0], t).sum())(x), [4.0, 1.0])


def test_einsum_sublist_form():
    a = np.arange(4.0).reshape(2, 2)
    np.testing.assert_allclose(cnp.einsum(cr.tensor(a), [0, 1], cr.tensor(a), [1, 2], [0, 2]),
                               np.einsum(a, [0, 1], a, [1, 2], [0, 2]))
    # sum_ab x_ab x_ba = tr(x x): its gradient is 2 x^T
    np.testing.assert_allclose(grad(lambda t: cnp.einsum(t, [0, 1], t, [1, 0]))(a), 2 * a.T)
    b = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(cnp.einsum(cr.tensor(b), [Ellipsis, 1], [1, Ellipsis]),
                               np.einsum(b, [Ellipsis, 1], [1, Ellipsis]))


def test_grad_of_a_boolean_or_integer_output_raises_as_jax():
    for f in (lambda x: x > 0, lambda x: cnp.sum(x > 0)):
        with pytest.raises(TypeError, match="grad requires real-valued outputs"):
            grad(f)(np.array(1.0))


def test_the_derivative_of_powers_of_zero_is_not_nan():
    """d/dg of the VJP of 0^y with respect to y: 0 (its masked branch read log(0) = -inf)."""
    y = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    g = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    (gy,) = cr.autograd.grad(cr.pow(cr.tensor(0.0, dtype=cr.float64), y), y, g,
                             create_graph=True)
    assert gy.item() == 0.0
    assert cr.autograd.grad(gy, g)[0].item() == 0.0


def test_numpys_ufuncs_on_tensors_record_the_new_rules():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    np.arctan2(x, 2.0).sum().backward()  # d atan2(x, 2) / dx = 2 / (x^2 + 4)
    np.testing.assert_allclose(x.grad.numpy(), 2.0 / (np.array([1.0, 2.0]) ** 2 + 4.0))


@pytest.mark.parametrize("call", [lambda t, buf: cnp.arccos(t, out=buf),
                                  lambda t, buf: cnp.exp(t, out=buf),
                                  lambda t, buf: cnp.add(t, t, out=buf)])
def test_out_is_refused_on_tensors_rather_than_written(call):
    """(It was passed on to NumPy, which wrote into the buffer beside the recorded result.)"""
    buf = np.zeros(2)
    with pytest.raises(TypeError, match="out=... arguments don't support automatic"):
        call(cr.tensor([0.1, 0.2], requires_grad=True), buf)
    assert not buf.any()
    np.testing.assert_array_equal(cnp.exp(np.zeros(2), out=buf), np.ones(2))  # (NumPy's own)
