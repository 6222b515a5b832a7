"""Complex matrices through the decompositions (issue 14): ``cholesky``, ``eigh``,
``eigvalsh``, ``svd``, ``svdvals``, ``qr``, ``pinv``, ``lstsq`` and what is built on them
(``cond``, ``matrix_norm``, ``torch.svd``'s ``V``), in complex64 and complex128.

Oracles: NumPy's values (bit for bit on Tensors), PyTorch's ``.grad`` (the same convention as
chainrule's ``.grad``) and JAX's ``grad`` (the same as ``chainrule.func.grad``'s), to second
order, of real losses that do not depend on the phases of the vectors (PyTorch raises for a
loss that does); central differences (``check_grads``) for what neither computes (a triangle
read from a matrix that is not Hermitian, the imaginary part of the diagonal); closed forms
for the phases the rules choose (JAX's).  The table test (``tests/rules/primitive_specs.py``)
checks each primitive on complex inputs too.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import func
from chainrule.testing import check_grads

RNG = np.random.default_rng(1414)


def _complex(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


TALL, WIDE, SQUARE, BATCH = _complex(5, 3), _complex(3, 5), _complex(4, 4), _complex(2, 4, 3)
_B = _complex(4, 4)
HERMITIAN = _B @ _B.conj().T + np.eye(4)
# HERMITIAN's lower triangle, other numbers above it and an imaginary part on the diagonal:
# LAPACK reads the lower triangle and the real part of the diagonal
NOT_HERMITIAN = np.tril(HERMITIAN) + np.triu(_complex(4, 4), 1) + 0.5j * np.eye(4)


def _t(a, requires_grad=False, dtype=None):
    return cr.tensor(a, dtype=dtype, requires_grad=requires_grad)


def _flat(result):
    return result if isinstance(result, tuple) else (result,)


# --------------------------------------------------------------------------------------------
# values: NumPy's, bit for bit, on Tensors as on arrays


CALLS = [
    ("eigh", lambda m, a: m.linalg.eigh(a), NOT_HERMITIAN),
    ("eigh-U", lambda m, a: m.linalg.eigh(a, "U"), NOT_HERMITIAN),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(a), NOT_HERMITIAN),
    ("eigvalsh-U", lambda m, a: m.linalg.eigvalsh(a, "U"), NOT_HERMITIAN),
    ("cholesky", lambda m, a: m.linalg.cholesky(a), NOT_HERMITIAN),
    *[(f"{name}-{shape}", call, a) for shape, a in (("tall", TALL), ("wide", WIDE),
                                                    ("batch", BATCH))
      for name, call in (
          ("svd", lambda m, a: m.linalg.svd(a)),
          ("svd-reduced", lambda m, a: m.linalg.svd(a, full_matrices=False)),
          ("svd-values", lambda m, a: m.linalg.svd(a, compute_uv=False)),
          ("qr", lambda m, a: m.linalg.qr(a)),
          ("qr-r", lambda m, a: m.linalg.qr(a, mode="r")),
          ("pinv", lambda m, a: m.linalg.pinv(a)),
          ("cond", lambda m, a: m.linalg.cond(a)),
          ("norm-nuc", lambda m, a: m.linalg.norm(a, "nuc", axis=(-2, -1))),
          ("norm-2", lambda m, a: m.linalg.norm(a, 2, axis=(-2, -1))))],
    ("qr-complete", lambda m, a: m.linalg.qr(a, mode="complete"), WIDE),
]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize(("name", "call", "a"), CALLS, ids=[c[0] for c in CALLS])
def test_values_are_numpys_bit_for_bit(name, call, a, dtype):
    a = a.astype(dtype)
    expected = _flat(call(np, a))
    for result in (call(cnp, _t(a, requires_grad=True)), call(np, _t(a, requires_grad=True))):
        for ours, theirs in zip(_flat(result), expected, strict=True):
            assert ours.requires_grad and ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours.detach().numpy(), theirs)


def test_pytorchs_functions_give_pytorchs_values():
    torch = pytest.importorskip("torch")
    calls = [
        lambda m, a: m.linalg.cholesky(a + a.mH + 8 * m.eye(4)),
        lambda m, a: m.linalg.cholesky(a + a.mH + 8 * m.eye(4), upper=True),
        lambda m, a: m.svd(a[:, :3]),  # (torch.svd: V, not Vh)
        lambda m, a: m.svd(a[:, :3], some=False),
        lambda m, a: m.linalg.svdvals(a),
        lambda m, a: m.linalg.pinv(a, atol=1.0),  # (a singular value cut off)
        lambda m, a: m.linalg.matrix_norm(a, -2),
        lambda m, a: m.linalg.cond(a, -2),
    ]
    for call in calls:
        ours = _flat(call(cr, cr.tensor(SQUARE)))
        theirs = [np.asarray(y.resolve_conj()) for y in _flat(call(torch, torch.tensor(SQUARE)))]
        for x, y in zip(ours, theirs, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x.numpy(), y, rtol=1e-12, atol=1e-13)
    assert np.linalg.svd(SQUARE, compute_uv=False)[-1] < 1.0  # (pinv cut one off)


def test_cond_in_the_other_norms():
    """(The norms of complex entries are NumPy's to rounding, not bit for bit.)"""
    for p in ("fro", "nuc", 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(cnp.linalg.cond(_t(SQUARE), p).numpy(),
                                   np.linalg.cond(SQUARE, p), rtol=1e-14)
        check_grads(lambda x: cr.linalg.cond(x, p), (SQUARE,), order=2)


def test_lstsq_of_complex_matrices_is_numpys():
    b = _complex(5, 2)
    for a_, b_ in ((TALL, b), (TALL, b[:, 0]), (WIDE, b[:3])):
        x, residuals, rank, s = cnp.linalg.lstsq(_t(a_, True), _t(b_))
        ex, eres, erank, es = np.linalg.lstsq(a_, b_, rcond=None)
        np.testing.assert_array_equal(x.detach().numpy(), ex)
        assert rank == erank and s.dtype == es.dtype == np.float64
        np.testing.assert_array_equal(s.numpy(), es)
        # the squared residuals, |A x - b|^2 (real), computed again differentiably
        assert residuals.dtype == eres.dtype == np.float64 and residuals.shape == eres.shape
        np.testing.assert_allclose(residuals.detach().numpy(), eres, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# gradients: PyTorch's .grad, for losses that do not depend on the phases of the vectors


def _weights(lib, *shape, seed):
    rng = np.random.default_rng(seed)
    return lib.tensor(rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def _abs2(z):
    return (z * z.conj()).real


def _hermitian(lib, b):
    return b + b.mH + 8 * lib.eye(b.shape[-1], dtype=b.dtype)


def _eigh_loss(lib, b, uplo="L"):
    w, v = lib.linalg.eigh(_hermitian(lib, b), UPLO=uplo)
    weights = _weights(lib, 4, 4, seed=1)
    projector = v[..., :, :1] @ v[..., :, :1].mH  # v_0 v_0^H
    overlap = v[..., :, :1].mH @ weights @ v[..., :, 1:2]  # |v_0^H W v_1|^2
    return ((w * lib.arange(1.0, 5.0, dtype=w.dtype)).sum() + (_abs2(v) * weights.real).sum()
            + (projector * weights).real.sum() + _abs2(overlap).sum()
            + lib.linalg.eigvalsh(_hermitian(lib, b), UPLO=uplo)[..., -1].sum() ** 2)


def _cholesky_loss(lib, b, upper=False):
    factor = lib.linalg.cholesky(_hermitian(lib, b), upper=upper)
    return (factor * _weights(lib, 4, 4, seed=2)).real.sum() + _abs2(factor).sum()


def _svd_loss(lib, a, full_matrices=False):
    u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    m, n = a.shape[-2:]
    pairs = u[..., :, :2] @ vh[..., :2, :]  # u_0 vh_0 + u_1 vh_1: free of the phases
    return ((s * lib.arange(1.0, k + 1.0, dtype=s.dtype)).sum()
            + (pairs * _weights(lib, m, n, seed=3)).real.sum()
            + (_abs2(u) * _weights(lib, m, k, seed=4).real).sum()
            + (_abs2(vh) * _weights(lib, k, n, seed=5).imag).sum()
            + (lib.linalg.svdvals(a) ** 3).sum())


def _qr_loss(lib, a, mode="reduced"):
    q, r = lib.linalg.qr(a, mode=mode)
    return ((q * _weights(lib, *q.shape[-2:], seed=6)).real.sum()
            + (r * _weights(lib, *r.shape[-2:], seed=7)).imag.sum() + _abs2(r).sum() * 0.3)


def _pinv_loss(lib, a):
    p = lib.linalg.pinv(a)
    return (p * _weights(lib, *p.shape[-2:], seed=8)).real.sum() + _abs2(p).sum()


def _norms_loss(lib, a):
    return (lib.linalg.matrix_norm(a, "nuc") + lib.linalg.matrix_norm(a, 2) * 2
            + lib.linalg.matrix_norm(a, -2) * 3 + lib.linalg.cond(a) * 0.5).sum()


def _torch_svd_loss(lib, a):
    u, s, v = lib.svd(a)  # torch.svd: a = U diag(S) V^H
    return (s**2).sum() + ((u[..., :, :1] @ v[..., :, :1].mH) * _weights(lib, *a.shape,
                                                                         seed=9)).real.sum()


GRADIENT_CASES = [
    ("eigh", _eigh_loss, SQUARE),
    ("eigh-U", lambda lib, b: _eigh_loss(lib, b, "U"), SQUARE),
    ("cholesky", _cholesky_loss, SQUARE),
    ("cholesky-upper", lambda lib, b: _cholesky_loss(lib, b, upper=True), SQUARE),
    *[(f"svd-{name}", _svd_loss, a) for name, a in (("tall", TALL), ("wide", WIDE),
                                                     ("square", SQUARE), ("batch", BATCH))],
    ("svd-full-tall", lambda lib, a: _svd_loss(lib, a, True), TALL),
    ("svd-full-wide", lambda lib, a: _svd_loss(lib, a, True), WIDE),
    *[(f"qr-{name}", _qr_loss, a) for name, a in (("tall", TALL), ("wide", WIDE),
                                                    ("batch", BATCH))],
    ("qr-complete-wide", lambda lib, a: _qr_loss(lib, a, "complete"), WIDE),
    *[(f"pinv-{name}", _pinv_loss, a) for name, a in (("tall", TALL), ("wide", WIDE),
                                                        ("square", SQUARE))],
    ("norms", _norms_loss, SQUARE),
    ("torch.svd", _torch_svd_loss, TALL),
]


@pytest.mark.parametrize(("name", "loss", "a"), GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients_agree_with_pytorch_to_second_order(name, loss, a):
    """``.grad`` is PyTorch's gradient (dL/dx + i dL/dy) in both; the gradient of the squared
    modulus of the gradient checks the second derivatives (reverse over reverse)."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad(loss(lib, x), x, create_graph=True)
        _abs2(g).sum().backward()
        results.append((np.asarray(g.detach()), np.asarray(x.grad)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_lstsq_gradients_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    b = _complex(5, 2)
    grads = []
    for lib in (cr, torch):
        x, y = lib.tensor(TALL, requires_grad=True), lib.tensor(b, requires_grad=True)
        solution = lib.linalg.lstsq(x, y).solution
        wide = lib.linalg.lstsq(x.mH, y[:3]).solution  # (the minimum-norm solution)
        (_abs2(solution).sum() + (solution * _weights(lib, 3, 2, seed=10)).real.sum()
         + _abs2(wide).sum()).backward()
        grads.append((np.asarray(x.grad), np.asarray(y.grad)))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_lstsq_residuals_of_complex_matrices_have_derivatives():
    b = _complex(5, 2)
    check_grads(lambda a, y: cr.linalg.lstsq(a, y).residuals, (TALL, b), order=2)
    # |A x - b|^2 at the least-squares x: its gradient w.r.t. b is 2 (b - A x) (PyTorch's)
    y = _t(b, True)
    residuals = cr.linalg.lstsq(_t(TALL), y).residuals
    residuals.sum().backward()
    x = np.linalg.lstsq(TALL, b, rcond=None)[0]
    np.testing.assert_allclose(y.grad.numpy(), 2 * (b - TALL @ x), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# chainrule.func: JAX's gradients (the conjugate), forward mode and forward over reverse


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax, pytest.importorskip("jax.numpy")


def _np_losses(xp):
    """Real losses written once for chainrule.numpy and jax.numpy."""
    def hermitian(b):
        return b + xp.conj(xp.swapaxes(b, -1, -2)) + 8 * xp.eye(b.shape[-1])

    def abs2(z):
        return xp.real(z * xp.conj(z))

    def weights(*shape, seed):
        rng = np.random.default_rng(seed)
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    def eigh(b):
        w, v = xp.linalg.eigh(hermitian(b))
        return (w * np.arange(1.0, 5.0)).sum() + (abs2(v) * weights(4, 4, seed=1).real).sum()

    def cholesky(b):
        return xp.real(xp.linalg.cholesky(hermitian(b)) * weights(4, 4, seed=2)).sum()

    def svd(a):
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        pairs = u[..., :, :2] @ vh[..., :2, :]
        return ((s ** 3).sum() + xp.real(pairs * weights(*a.shape, seed=3)).sum()
                + (abs2(vh) * weights(*vh.shape, seed=4).real).sum())

    def qr(a):
        q, r = xp.linalg.qr(a)
        return xp.real(q * weights(*q.shape, seed=5)).sum() + xp.imag(r).sum() + abs2(r).sum()

    def pinv(a):
        return xp.real(xp.linalg.pinv(a) * weights(*a.shape[::-1], seed=6)).sum()

    def values(a):
        return (xp.linalg.svd(a, compute_uv=False) ** 2).sum() + xp.linalg.eigvalsh(
            hermitian(a[..., :3, :3]))[..., -1].sum()

    return {"eigh": eigh, "cholesky": cholesky, "svd": svd, "qr": qr, "pinv": pinv,
            "values": values}


JAX_CASES = [("eigh", SQUARE), ("cholesky", SQUARE), ("svd", TALL), ("svd", WIDE),
             ("qr", TALL), ("qr", WIDE), ("pinv", WIDE), ("values", BATCH)]


@pytest.mark.parametrize(("name", "a"), JAX_CASES,
                         ids=[f"{n}-{a.shape}" for n, a in JAX_CASES])
def test_transforms_agree_with_jax(name, a):
    jax, jnp = _jax()
    ours, theirs = _np_losses(cnp)[name], _np_losses(jnp)[name]
    direction = _complex(*a.shape)
    np.testing.assert_allclose(func.grad(ours)(a), jax.grad(theirs)(a), rtol=1e-9, atol=1e-10)
    # forward mode, and forward over reverse (a row of the Hessian, as a complex vector)
    np.testing.assert_allclose(func.jvp(ours, (a,), (direction,))[1],
                               jax.jvp(theirs, (a,), (direction,))[1], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(func.jvp(func.grad(ours), (a,), (direction,))[1],
                               jax.jvp(jax.grad(theirs), (a,), (direction,))[1], rtol=1e-8,
                               atol=1e-9)


# --------------------------------------------------------------------------------------------
# the phases (JAX's choice) and the triangle read


def test_the_phases_of_the_vectors_move_as_in_jax():
    """Eigenvectors: diag(V^H dV) = 0.  Singular vectors: Im(diag(Vh dVh^H)) = 0 and
    Im(diag(U^H dU)) = Im(diag(U^H dA V)) / s, the whole of the phase that A fixes."""
    direction = _complex(4, 4)
    (_, v), (_, dv) = func.jvp(lambda a: cnp.linalg.eigh(a), (HERMITIAN,),
                               (direction + direction.conj().T,))
    np.testing.assert_allclose(np.diagonal(v.conj().T @ dv), 0, atol=1e-12)
    for a in (TALL, WIDE, SQUARE):
        direction = _complex(*a.shape)
        (u, s, vh), (du, _, dvh) = func.jvp(lambda x: cnp.linalg.svd(x, full_matrices=False),
                                           (a,), (direction,))
        np.testing.assert_allclose(np.diagonal(vh @ dvh.conj().T).imag, 0, atol=1e-12)
        dp = u.conj().T @ direction @ vh.conj().T
        np.testing.assert_allclose(np.diagonal(u.conj().T @ du).imag, np.diagonal(dp).imag / s,
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["eigvalsh", "eigh", "cholesky"])
def test_the_triangle_read_and_the_real_diagonal(name):
    """The derivative is that of what LAPACK computes: of the lower triangle and the real part
    of the diagonal (differences agree, to second order, for a matrix that is not Hermitian),
    so it is 0 above the diagonal and for the imaginary parts of the diagonal."""
    def f(x):
        if name == "eigh":  # the projectors v_i v_i^H: free of the phases
            v = cr.linalg.eigh(x).eigenvectors
            return v[:, None, :] * v.conj()[None, :, :]
        return getattr(cr.linalg, name)(x)
    check_grads(f, (NOT_HERMITIAN,), order=2)
    x = _t(NOT_HERMITIAN, True)
    y = f(x)
    (y * _t(_complex(*y.shape))).real.sum().backward()
    grad = x.grad.numpy()
    assert not np.triu(grad, 1).any() and not np.diagonal(grad).imag.any()
    assert np.tril(grad, -1)[np.tril_indices(4, -1)].all() and np.diagonal(grad).real.all()


def test_complex64_results_and_gradients_keep_their_dtype():
    results = []
    for dtype in (cr.complex64, cr.complex128):
        x = _t(TALL, True, dtype)
        u, s, vh = cr.linalg.svd(x, full_matrices=False)
        q, r = cr.linalg.qr(x)
        w, v = cr.linalg.eigh(x.mH @ x)
        outs = (u, vh, q, r, v, cr.linalg.pinv(x), cr.linalg.cholesky(x.mH @ x))
        assert all(o.dtype == dtype for o in outs)
        assert s.dtype == w.dtype == (cr.float32 if dtype == cr.complex64 else cr.float64)
        loss = (s.sum() + w.sum() + sum(_abs2(o).sum() for o in outs[2:])
                + (u[:, :1] @ vh[:1]).real.sum())
        loss.backward()
        assert x.grad.dtype == dtype
        results.append(x.grad.numpy())
    np.testing.assert_allclose(*results, rtol=2e-4, atol=2e-4)


def test_the_conjugate_transpose_mH():
    """PyTorch's ``Tensor.mH``: ``mT`` conjugated (of a real tensor, ``mT``), recorded."""
    x = _t(BATCH, True)
    np.testing.assert_array_equal(x.mH.detach().numpy(), np.swapaxes(BATCH, -1, -2).conj())
    w = WIDE[:, :4]
    (x.mH * _t(w)).real.sum().backward()  # Re(conj(x_ji) w_ij): PyTorch's gradient w_ij
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(w.T, (2, 4, 3)))
    real = _t(BATCH.real)
    np.testing.assert_array_equal(real.mH.numpy(), real.mT.numpy())


def test_the_jax_dialect_symmetrises_complex_matrices_as_jax_does():
    """jax.numpy.linalg.eigh computes on (a + a^H) / 2 (symmetrize_input=True)."""
    from chainrule.compat.jax import numpy as jnp
    a = NOT_HERMITIAN.astype(np.complex64)
    w = jnp.linalg.eigvalsh(jnp.array(a))
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh((a + a.conj().T) / 2),
                               rtol=1e-5)
