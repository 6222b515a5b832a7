"""Complex numbers through the engine: the two conventions and where each one shows.

Inside the engine and in ``chainrule.func``, JAX's: the gradient of a real ``L`` at
``z = x + iy`` is ``dL/dx - i dL/dy``.  In PyTorch's API (``.grad``, hooks, ``autograd.grad``,
custom Functions), PyTorch's: ``dL/dx + i dL/dy``.  The oracles are closed forms, finite
differences of the real and imaginary parts, and PyTorch and JAX where installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import func
from chainrule.testing import check_grads

Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.7 - 1.1j])


def _partials(f, z, eps=1e-6):
    """(dL/dx, dL/dy) of a real function of a complex array, by central differences."""
    dx, dy = np.zeros(z.shape), np.zeros(z.shape)
    for k in np.ndindex(z.shape):
        step = np.zeros(z.shape, complex)
        step[k] = eps
        dx[k] = (f(z + step) - f(z - step)) / (2 * eps)
        dy[k] = (f(z + 1j * step) - f(z - 1j * step)) / (2 * eps)
    return dx, dy


def _loss(z):  # a real loss that is not a function of a holomorphic one alone
    return (cnp.abs(cnp.exp(z)) ** 2 + cnp.angle(z) + cnp.real(z * z)).sum()


def test_backward_gives_pytorchs_gradient_and_func_gives_jaxs():
    dx, dy = _partials(lambda z: float(_loss(z)), Z)
    z = cr.tensor(Z, requires_grad=True)
    _loss(z).backward()
    np.testing.assert_allclose(z.grad.numpy(), dx + 1j * dy, rtol=1e-7)
    np.testing.assert_allclose(func.grad(_loss)(Z), dx - 1j * dy, rtol=1e-7)


def test_modulus_squared_has_the_closed_form_gradient():
    z = cr.tensor(Z, requires_grad=True)
    (z * z.conj()).real.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * Z, rtol=1e-15)  # d/dx + i d/dy of x^2 + y^2


def test_a_real_input_of_a_complex_computation_gets_a_real_gradient():
    x = cr.tensor([0.3, -1.2], dtype=cr.float64, requires_grad=True)
    w = cr.tensor([1 + 2j, 0.5 - 1j], dtype=cr.complex128)
    (x * w).abs().sum().backward()
    assert x.grad.dtype == cr.float64
    # |x w| = |x| |w|: the slope is sign(x) |w|
    np.testing.assert_allclose(x.grad.numpy(), np.sign([0.3, -1.2]) * np.abs([1 + 2j, 0.5 - 1j]))


def test_casting_to_complex_and_back_is_differentiable():
    x = cr.tensor([0.3, -1.2], dtype=cr.float64, requires_grad=True)
    y = (x.to(cr.complex128) * 1j).exp()  # e^(ix): cos x + i sin x
    y.real.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.3, -1.2]), rtol=1e-15)


def test_hooks_and_retained_gradients_see_pytorchs_convention():
    z = cr.tensor(Z, requires_grad=True)
    w = z * 2
    w.retain_grad()
    seen = []
    w.register_hook(lambda g: seen.append(g.numpy().copy()))
    (w * w.conj()).real.sum().backward()
    expected = 2 * (2 * Z)  # PyTorch's gradient of |w|^2 is 2w
    np.testing.assert_allclose(seen[0], expected, rtol=1e-15)
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(z.grad.numpy(), 2 * expected, rtol=1e-15)


def test_a_hook_that_changes_a_complex_gradient_is_read_in_pytorchs_convention():
    z = cr.tensor(Z, requires_grad=True)
    w = z * 1
    w.register_hook(lambda g: g * 1j)  # what the user returns is a PyTorch gradient too
    (w * w.conj()).real.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2j * Z, rtol=1e-15)


def test_autograd_grad_takes_and_gives_pytorchs_convention():
    z = cr.tensor(Z, requires_grad=True)
    v = np.array([1.0 - 1.0j, 2.0, 0.5j])
    (g,) = cr.autograd.grad(z * z, z, grad_outputs=cr.tensor(v))
    # PyTorch: the gradient of Re(sum(conj(v) z^2)) is conj(2z) v ... i.e. v conj(f'(z))
    np.testing.assert_allclose(g.numpy(), v * np.conj(2 * Z), rtol=1e-15)


def test_second_order_through_complex_values():
    z = cr.tensor(Z, requires_grad=True)
    (g,) = cr.autograd.grad((z * z.conj()).real.sum() * (z.abs() ** 2).sum(), z,
                            create_graph=True)

    def first(z):  # PyTorch's gradient of s^2, s = sum |z|^2: 2 s (2 z)
        return 4 * (np.abs(z) ** 2).sum() * z
    (h,) = cr.autograd.grad((g * g.conj()).real.sum(), z)
    dx, dy = _partials(lambda z: float((np.abs(first(z)) ** 2).sum()), Z)
    np.testing.assert_allclose(h.numpy(), dx + 1j * dy, rtol=1e-6)


def test_a_custom_function_sees_pytorchs_convention():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):  # PyTorch's rule for a holomorphic f: g conj(f'(z))
            (z,) = ctx.saved_tensors
            return g * (2 * z).conj()

    z = cr.tensor(Z, requires_grad=True)
    Square.apply(z).abs().sum().backward()
    reference = cr.tensor(Z, requires_grad=True)
    (reference * reference).abs().sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), reference.grad.numpy(), rtol=1e-15)


def test_forward_mode_carries_complex_tangents():
    primal, tangent = func.jvp(lambda z: cnp.exp(z) * z, (Z,), (np.ones(3) * (1 - 1j),))
    np.testing.assert_allclose(tangent, (np.exp(Z) * (Z + 1)) * (1 - 1j), rtol=1e-15)
    _, real_tangent = func.jvp(lambda z: cnp.abs(z), (Z,), (np.ones(3) + 0j,))
    assert real_tangent.dtype == np.float64  # d|z| = Re(conj(z) dz) / |z|
    np.testing.assert_allclose(real_tangent, Z.real / np.abs(Z), rtol=1e-15)


def test_holomorphic_transforms_give_the_complex_derivative():
    def f(z):
        return cnp.sin(z) * z

    def derivative(z):
        return np.cos(z) * z + np.sin(z)
    z0 = complex(Z[0])
    assert complex(func.grad(f, holomorphic=True)(z0)) == pytest.approx(derivative(z0))
    np.testing.assert_allclose(func.jacfwd(f, holomorphic=True)(Z), np.diag(derivative(Z)))
    np.testing.assert_allclose(func.jacrev(f, holomorphic=True)(Z), np.diag(derivative(Z)))
    np.testing.assert_allclose(func.hessian(lambda z: (f(z) * z).sum(), holomorphic=True)(Z),
                               np.diag(2 * derivative(Z) + Z * (2 * np.cos(Z) - Z * np.sin(Z))),
                               rtol=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: func.grad(lambda z: z * z)(Z[0]), "grad requires real-valued outputs"),
    (lambda: func.grad(lambda x: x * 1j, holomorphic=True)(1.0),
     "requires inputs with complex dtype"),
    (lambda: func.grad(lambda z: abs(z), holomorphic=True)(Z[0]),
     "requires outputs with complex dtype"),
    (lambda: func.jacfwd(lambda z: z * z)(Z), "jacfwd requires real-valued inputs"),
    (lambda: func.jacrev(lambda z: z * z)(Z), "jacrev requires real-valued outputs"),
])
def test_complex_misuse_of_the_transforms_says_what_to_do(call, message):
    with pytest.raises(TypeError, match=message) as info:
        call()
    assert "holomorphic" in str(info.value)


def test_the_sign_of_complex_numbers_is_differentiated_as_numpy_defines_it():
    """NumPy 2: sign(z) = z / |z| (0 at 0), against differences and PyTorch's sgn; NumPy 1's
    sign of complex numbers is piecewise constant (the sign of the real part)."""
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        z = cr.tensor(Z, requires_grad=True)
        cr.sign(z).real.sum().backward()
        np.testing.assert_array_equal(z.grad.numpy(), 0)
        return
    check_grads(cr.sign, (Z,), order=2)
    at_zero = cr.tensor(np.array([0j, 1 + 1j]), requires_grad=True)
    cr.sign(at_zero).imag.sum().backward()
    assert at_zero.grad.numpy()[0] == 0
    torch = pytest.importorskip("torch")
    grads = []
    for lib, sign in ((torch, torch.sgn), (cr, cr.sign)):
        z = lib.tensor(Z, requires_grad=True)
        (g,) = lib.autograd.grad((sign(z) * lib.tensor(Z[::-1].copy())).real.sum(), z,
                                 create_graph=True)
        (h,) = lib.autograd.grad((g * g.conj()).real.sum(), z)
        grads.append([np.asarray(g.detach()), np.asarray(h)])
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_std_var_and_norms_of_complex_values():
    z = Z.reshape(3, 1) * np.array([1.0, 0.5 + 0.5j])
    for f, ref in [(lambda t: cnp.var(t, axis=0), lambda a: np.var(a, axis=0)),
                   (lambda t: cnp.std(t), lambda a: np.std(a)),
                   (lambda t: cnp.linalg.norm(t), lambda a: np.linalg.norm(a)),
                   (lambda t: cnp.linalg.norm(t, axis=1, ord=3), lambda a: np.linalg.norm(
                       a, axis=1, ord=3))]:
        np.testing.assert_allclose(f(cr.tensor(z)).numpy(), ref(z), rtol=1e-13)
        check_grads(f, (z,), order=2)
    same = cr.tensor(np.full(3, 1 + 1j), requires_grad=True)  # zero spread: gradient 0
    cr.std(same, correction=0).backward()
    np.testing.assert_array_equal(same.grad.numpy(), 0)


# --------------------------------------------------------------------------------------------
# PyTorch and JAX, where installed


def test_gradients_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, cr):
        z = lib.tensor(Z, requires_grad=True)
        w = lib.tensor(Z[::-1].copy())
        y = ((z * w).exp().abs() + (z / w).angle() + (z @ w).real + z.conj().imag ** 2).sum()
        y = y + lib.sqrt(z).sin().abs().sum()
        (g,) = lib.autograd.grad(y, z, create_graph=True)
        (h,) = lib.autograd.grad((g * g.conj()).real.sum() + g.imag.sum(), z)
        results.append((np.asarray(g.detach()), np.asarray(h)))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_transforms_agree_with_jax():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)

    def loss(np_):
        return lambda z: (np_.abs(np_.exp(z)) ** 2 + np_.angle(z) + np_.real(z * z)).sum()

    def holomorphic(np_):
        return lambda z: np_.tanh(z) * np_.exp(z)

    np.testing.assert_allclose(func.grad(loss(cnp))(Z), jax.grad(loss(jnp))(Z), rtol=1e-12)
    np.testing.assert_allclose(func.jacrev(holomorphic(cnp), holomorphic=True)(Z),
                               jax.jacrev(holomorphic(jnp), holomorphic=True)(Z), rtol=1e-12)
    np.testing.assert_allclose(func.jacfwd(holomorphic(cnp), holomorphic=True)(Z),
                               jax.jacfwd(holomorphic(jnp), holomorphic=True)(Z), rtol=1e-12)


def _phase_free(result):
    """A real number of a decomposition that does not depend on the phases of its vectors."""
    parts = result if isinstance(result, tuple) else (result,)
    total = 0.0
    for k, part in enumerate(parts):
        if part.is_complex() and part.ndim == 2:  # |entries|^3 (of vectors: phase free)
            part = part.abs()
        total = total + ((part ** 3) * (k + 1.0)).sum()
    return total


@pytest.mark.parametrize("decompose", [
    cr.linalg.cholesky, cr.linalg.eigh, cr.linalg.eigvalsh, cr.linalg.svd, cr.linalg.svdvals,
    cr.linalg.qr, cr.linalg.pinv, cnp.linalg.eigh, cnp.linalg.svd,
    lambda a: cr.linalg.lstsq(a, cr.tensor([[1.0 + 1j], [2.0]])).solution])
def test_decompositions_of_complex_matrices_in_both_conventions(decompose):
    """(Issue 14; these used to refuse complex matrices.)  ``.grad`` is dL/dx + i dL/dy,
    ``func.grad`` its conjugate, by the differences of the real and imaginary parts."""
    hermitian = np.array([[2.0, 1j], [-1j, 3.0]])
    dx, dy = _partials(lambda a: float(_phase_free(decompose(cr.tensor(a)))), hermitian)
    z = cr.tensor(hermitian, requires_grad=True)
    _phase_free(decompose(z)).backward()
    np.testing.assert_allclose(z.grad.numpy(), dx + 1j * dy, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(func.grad(lambda a: _phase_free(decompose(a)))(hermitian),
                               dx - 1j * dy, rtol=1e-6, atol=1e-8)


def test_eig_of_a_complex_matrix_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0 + 0.5j, 2.0, 0.3j], [0.1, -1.0j, 1.0], [0.5, 0.2 - 0.4j, 0.7]])
    grads = []
    for lib in (torch, cr):
        t = lib.tensor(a, requires_grad=True)
        w, v = lib.linalg.eig(t)
        ((w * w).real.sum() + (v.abs() ** 3).sum()).backward()
        grads.append(np.asarray(t.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)
