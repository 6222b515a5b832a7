"""Matrix decompositions and what is built on them (issue 14): ``svd``, ``svdvals``, ``qr``,
``pinv``, ``lstsq``, ``cond``, the triangle ``eigh`` and ``cholesky`` read, and the checks that
``chainrule.linalg`` and ``chainrule.numpy.linalg`` share.

Oracles: NumPy's values (bit for bit, on Tensors as on arrays), central finite differences
(``check_grads``, ``gradcheck``), closed forms, and PyTorch's gradients of losses that do not
depend on the signs of the singular vectors (skipped without PyTorch).  The table test
(``tests/rules/primitive_specs.py``) checks every primitive's value and derivatives on tall,
wide, square and batched matrices; here are the public signatures, the results' types and the
edges (repeated and zero singular values, rank deficiency, empty matrices, full matrices).
Complex matrices: ``tests/tensor/test_linalg_complex.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.rules.decompositions import NUMPY_HAS_UPPER, Factors, eigh_vectors, svd_vectors
from chainrule.testing import check_grads

RNG = np.random.default_rng(14)
TALL = RNG.standard_normal((5, 3))
WIDE = RNG.standard_normal((3, 5))
BATCH = RNG.standard_normal((2, 4, 3))
SQUARE = RNG.standard_normal((4, 4))
# a non-symmetric matrix whose lower triangle describes a well-separated spectrum
LOWER = np.tril(np.diag([1.0, 3.0, 5.0, 7.0]) + 0.3 * RNG.standard_normal((4, 4)))
NOT_SYMMETRIC = LOWER + np.triu(RNG.standard_normal((4, 4)), 1)


def _t(a, requires_grad=False, dtype=cr.float64):
    return cr.tensor(a, dtype=dtype, requires_grad=requires_grad)


def _arrays(result):
    return [np.asarray(r.detach().numpy() if isinstance(r, cr.Tensor) else r) for r in result]


# --------------------------------------------------------------------------------------------
# NumPy's values, signatures and result types


NUMPY_CALLS = [
    ("svd", lambda m, a: m.linalg.svd(a)),
    ("svd-reduced", lambda m, a: m.linalg.svd(a, full_matrices=False)),
    ("svd-values", lambda m, a: m.linalg.svd(a, compute_uv=False)),
    ("qr", lambda m, a: m.linalg.qr(a)),
    ("qr-complete", lambda m, a: m.linalg.qr(a, mode="complete")),
    ("qr-r", lambda m, a: m.linalg.qr(a, mode="r")),
    ("pinv", lambda m, a: m.linalg.pinv(a)),
    ("pinv-rcond", lambda m, a: m.linalg.pinv(a, 0.5)),
    *([("pinv-rtol", lambda m, a: m.linalg.pinv(a, rtol=None))]  # (NumPy 2's keyword)
      if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else []),
    ("cond", lambda m, a: m.linalg.cond(a)),
    ("cond-2", lambda m, a: m.linalg.cond(a, -2)),
    ("norm-2", lambda m, a: m.linalg.norm(a, 2, axis=(-2, -1))),
    ("norm-nuc", lambda m, a: m.linalg.norm(a, "nuc", axis=(-1, -2), keepdims=True)),
]


@pytest.mark.parametrize("a", [TALL, WIDE, BATCH], ids=["tall", "wide", "batch"])
@pytest.mark.parametrize(("name", "call"), NUMPY_CALLS, ids=[c[0] for c in NUMPY_CALLS])
def test_numpy_values_bit_for_bit_on_tensors(name, call, a):
    """cnp on Tensors and NumPy itself on Tensors (its protocol) give NumPy's arrays exactly,
    and cnp on arrays is NumPy."""
    expected = call(np, a)
    # (complete QR of a tall matrix has no derivative: it is refused for an input that requires
    # grad, see test_bad_inputs.py)
    grad = name != "qr-complete" or a.shape[-2] <= a.shape[-1]
    for result in (call(cnp, _t(a, requires_grad=grad)), call(np, _t(a, requires_grad=grad))):
        if isinstance(expected, tuple):  # (NumPy's named tuple, or one with its fields)
            assert getattr(result, "_fields", None) == getattr(expected, "_fields", None)
        results = result if isinstance(result, tuple) else (result,)
        assert all(isinstance(r, cr.Tensor) and r.requires_grad == grad for r in results)
        wanted = expected if isinstance(expected, tuple) else (expected,)
        for ours, theirs in zip(_arrays(results), wanted):
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)
    plain = call(cnp, a)
    for ours, theirs in zip(plain if isinstance(plain, tuple) else (plain,),
                            expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_array_equal(ours, theirs)


def test_numpy_square_only_functions_bit_for_bit():
    for call in (lambda m, a: m.linalg.cond(a, "fro"), lambda m, a: m.linalg.cond(a, 1),
                 lambda m, a: m.linalg.cond(a, -np.inf), lambda m, a: m.linalg.eigh(a),
                 lambda m, a: m.linalg.eigvalsh(a, "U"), lambda m, a: m.linalg.cholesky(a)):
        a = SQUARE @ SQUARE.T + np.eye(4)
        expected = call(np, a)
        ours = call(cnp, _t(a, requires_grad=True))
        for x, y in zip(_arrays(ours if isinstance(ours, tuple) else (ours,)),
                        expected if isinstance(expected, tuple) else (expected,)):
            np.testing.assert_array_equal(x, y)


def test_lstsq_is_numpys():
    b = RNG.standard_normal(5)
    for a_, b_ in ((TALL, b), (TALL, np.stack([b, b + 1], 1)), (WIDE, b[:3])):
        x, residuals, rank, s = cnp.linalg.lstsq(_t(a_, True), _t(b_))
        ex, eres, erank, es = np.linalg.lstsq(a_, b_, rcond=None)
        np.testing.assert_array_equal(x.detach().numpy(), ex)
        assert rank == erank and isinstance(rank, int)
        np.testing.assert_array_equal(s.numpy(), es)
        # the residuals are computed again, differentiably: NumPy's to rounding
        assert residuals.shape == eres.shape
        np.testing.assert_allclose(residuals.detach().numpy(), eres, rtol=1e-12)


def test_float32_results_and_gradients_keep_their_dtype():
    a = _t(TALL, True, cr.float32)
    u, s, vh = cnp.linalg.svd(a, full_matrices=False)
    q, r = cnp.linalg.qr(a)
    outs = (u, s, vh, q, r, cnp.linalg.pinv(a), cr.linalg.lstsq(a, _t(TALL[:, :1], False,
                                                                      cr.float32)).solution)
    assert all(o.dtype == cr.float32 for o in outs)
    sum((o * o).sum() for o in outs).backward()
    assert a.grad.dtype == cr.float32


def test_pytorch_signatures_and_named_results():
    a = _t(TALL, True)
    result = cr.linalg.svd(a, full_matrices=False)
    assert result._fields == ("U", "S", "Vh") and result.U.shape == (5, 3)
    assert cr.linalg.svd(a).U.shape == (5, 5)  # full_matrices=True by default, as PyTorch
    assert cr.linalg.qr(a)._fields == ("Q", "R")
    assert cr.linalg.qr(a, mode="r").Q.shape == (0,)
    assert cr.linalg.qr(a, mode="r").R.requires_grad
    assert cr.linalg.lstsq(a, _t(TALL))._fields == ("solution", "residuals", "rank",
                                                    "singular_values")
    assert cr.linalg.eigh(_t(SQUARE), UPLO="U")._fields == ("eigenvalues", "eigenvectors")
    np.testing.assert_array_equal(cr.linalg.svdvals(a).detach().numpy(),
                                  np.linalg.svd(TALL, compute_uv=False))


def test_the_older_svd_returns_v():
    """``torch.svd``: ``(U, S, V)``, reduced by default (``some=True``); ``Tensor.svd`` too."""
    a = _t(TALL, True)
    for u, s, v in (cr.svd(a), a.svd(), cr.svd(TALL)):
        np.testing.assert_allclose((u * s @ v.t()).detach().numpy(), TALL, atol=1e-12)
        assert u.shape == (5, 3) and v.shape == (3, 3)
    assert a.svd(some=False).U.shape == (5, 5)
    u, s, v = a.svd(compute_uv=False)
    assert u.shape == (5, 5) and v.shape == (3, 3) and not u.numpy().any()
    np.testing.assert_array_equal(s.detach().numpy(), np.linalg.svd(TALL, compute_uv=False))


def test_lstsq_batches_and_vectors_as_pytorch():
    torch = pytest.importorskip("torch")
    cases = [(BATCH, RNG.standard_normal((2, 4))), (BATCH, RNG.standard_normal((2, 4, 2))),
             (TALL, RNG.standard_normal(5)), (BATCH[:, :2], RNG.standard_normal((2, 2, 1)))]
    for a, b in cases:
        ours = cr.linalg.lstsq(_t(a), _t(b))
        theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver="gelsd")
        for name in ("solution", "residuals", "rank", "singular_values"):
            np.testing.assert_allclose(getattr(ours, name).numpy(),
                                       getattr(theirs, name).numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# gradients: against differences, and PyTorch's for sign-independent losses


WEIGHTS = {shape: RNG.standard_normal(shape) for shape in [(5, 5), (5, 3), (3, 3), (3, 5),
                                                            (5, 5), (3,), (4, 4), (4,)]}


def _svd_loss(lib, a, full_matrices):
    """Depends on the singular vectors through their squares and through U S Vh only: the
    same whatever sign each pair of vectors has."""
    u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
    w = {k: lib.tensor(v) for k, v in WEIGHTS.items()}
    k = s.shape[-1]
    return ((u[..., :, :k] ** 2 * w[tuple(u[..., :, :k].shape)]).sum()
            + (vh[..., :k, :] ** 2 * w[tuple(vh[..., :k, :].shape)]).sum()
            + (s * w[(k,)]).sum() + ((u[..., :, :k] * s**3) @ vh[..., :k, :]).sum())


@pytest.mark.parametrize("a", [TALL, WIDE, SQUARE[:3, :3]], ids=["tall", "wide", "square"])
@pytest.mark.parametrize("full_matrices", [False, True])
def test_svd_gradients_agree_with_pytorch(a, full_matrices):
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        _svd_loss(lib, x, full_matrices).backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_allclose(*grads, rtol=1e-9, atol=1e-10)
    check_grads(lambda x: _svd_loss(cr, x, full_matrices), (a,), order=2)


def test_full_matrices_ignore_the_gradient_of_the_extra_vectors():
    """PyTorch's documented behaviour: U[..., :, k:] and Vh[..., k:, :] have no derivative
    (any basis of a complement will do) and their gradient is ignored."""
    w = RNG.standard_normal((5, 5))
    for extra in (True, False):
        x = _t(TALL, True)
        u = cr.linalg.svd(x).U
        ((u if extra else u[:, :3]) * (w if extra else w[:, :3])).sum().backward()
        if extra:
            with_extra = x.grad.numpy()
        else:
            np.testing.assert_array_equal(with_extra, x.grad.numpy())
    # forward mode: their tangent is 0
    import chainrule.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        u = cr.linalg.svd(fwAD.make_dual(_t(TALL), _t(np.ones((5, 3))))).U
        tangent = fwAD.unpack_dual(u).tangent.numpy()
    assert not tangent[:, 3:].any() and tangent[:, :3].any()


def _qr_loss(lib, a, mode):
    q, r = lib.linalg.qr(a, mode=mode)
    return (q**2 * lib.tensor(WEIGHTS[tuple(q.shape)])).sum() + (r**2).sum() * 0.3 + \
        (q @ r * 0.5).sum()


@pytest.mark.parametrize(("a", "mode"), [(TALL, "reduced"), (WIDE, "reduced"),
                                         (WIDE, "complete"), (SQUARE[:3, :3], "complete")],
                         ids=["tall", "wide", "wide-complete", "square-complete"])
def test_qr_gradients_agree_with_pytorch(a, mode):
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        _qr_loss(lib, x, mode).backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_allclose(*grads, rtol=1e-9, atol=1e-10)
    check_grads(lambda x: _qr_loss(cr, x, mode), (a,), order=2)


def test_qr_mode_r_is_differentiable_where_pytorch_refuses():
    """R alone is a smooth function of a full-rank A: chainrule computes Q for its rule
    (PyTorch raises 'The derivative of linalg.qr depends on Q, which is not computed')."""
    for a in (TALL, WIDE, BATCH):
        check_grads(lambda x: cr.linalg.qr(x, mode="r").R, (a,), order=2)
        check_grads(lambda x: cnp.linalg.qr(x, mode="r"), (a,), order=1)


def test_complete_qr_of_a_tall_matrix_without_gradient_is_numpys():
    q, r = cr.linalg.qr(_t(TALL), mode="complete")
    eq, er = np.linalg.qr(TALL, mode="complete")
    np.testing.assert_array_equal(q.numpy(), eq)
    np.testing.assert_array_equal(r.numpy(), er)
    with cr.no_grad():
        assert cr.linalg.qr(_t(TALL, True), mode="complete").Q.shape == (5, 5)


@pytest.mark.parametrize("a", [TALL, WIDE, SQUARE], ids=["tall", "wide", "square"])
def test_pinv_and_lstsq_gradients_agree_with_pytorch(a):
    torch = pytest.importorskip("torch")
    b = RNG.standard_normal((a.shape[0], 2))
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(b, dtype=lib.float64, requires_grad=True)
        loss = (lib.linalg.pinv(x) ** 2).sum() + (lib.linalg.lstsq(x, y).solution ** 3).sum()
        loss.backward()
        grads.append([np.asarray(x.grad), np.asarray(y.grad)])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_lstsq_residuals_gradient_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    b = RNG.standard_normal((5, 2))
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(TALL, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(b, dtype=lib.float64, requires_grad=True)
        kwargs = {"driver": "gelsd"}
        (lib.linalg.lstsq(x, y, **kwargs).residuals * lib.tensor([1.0, 2.0])).sum().backward()
        grads.append([np.asarray(x.grad), np.asarray(y.grad)])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
    check_grads(lambda x, y: cr.linalg.lstsq(x, y).residuals, (TALL, b), order=2)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond_gradients(p):
    a = SQUARE + 3 * np.eye(4)
    check_grads(lambda x: cr.linalg.cond(x, p), (a,), order=2)


def test_cond_of_a_singular_matrix_is_numpys():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for p in (None, 1, "fro"):  # (the last two: no inverse, so inf)
        assert float(cnp.linalg.cond(_t(singular), p)) == np.linalg.cond(singular, p)
    assert float(cnp.linalg.cond(_t(np.zeros((2, 2))))) == np.inf  # 0 / 0: NaN becomes inf
    with pytest.raises(np.linalg.LinAlgError, match="cond: SVD did not converge"):
        cnp.linalg.cond(_t(np.full((2, 2), np.nan)))  # (as NumPy)


# --------------------------------------------------------------------------------------------
# edges: repeated and zero singular values, rank deficiency, empty matrices


def test_singular_values_gradient_is_finite_where_they_repeat():
    """svdvals' gradient U diag(g) Vh needs no gaps: at the identity it is the identity (for
    g = 1), and the nuclear norm's second derivative is checked against differences away
    from the repetition."""
    for a in (np.eye(3), np.diag([2.0, 2.0, 1.0]), np.eye(3)[:, :2] * 3):
        x = _t(a, True)
        cr.linalg.svdvals(x).sum().backward()
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        np.testing.assert_allclose(x.grad.numpy(), u @ vh, atol=1e-15)
    x = _t(np.eye(3), True)
    cr.linalg.svd(x).S.sum().backward()  # the values that come with the vectors, likewise
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-15)


def test_singular_vectors_gradient_is_not_finite_where_values_repeat():
    """PyTorch's documented behaviour: the vectors' gradient divides by s_j^2 - s_i^2."""
    torch = pytest.importorskip("torch")
    w = np.arange(9.0).reshape(3, 3)
    for lib in (cr, torch):
        x = lib.tensor(np.eye(3), dtype=lib.float64, requires_grad=True)
        (lib.linalg.svd(x).U * lib.tensor(w)).sum().backward()
        assert not np.isfinite(np.asarray(x.grad)).all()


def test_vectors_gradient_of_a_non_square_matrix_is_not_finite_at_a_zero_singular_value():
    x = _t(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), True)
    u = cr.linalg.svd(x, full_matrices=False).U
    (u * cr.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    assert not np.isfinite(x.grad.numpy()).all()


def test_pinv_gradient_is_exact_where_singular_values_repeat():
    """An orthogonal matrix (all singular values 1) has pinv = A^T: the SVD's vectors have no
    derivative there, the pseudoinverse's rule needs none."""
    q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    check_grads(lambda x: cr.linalg.pinv(x), (q,), order=2)
    check_grads(lambda x: cr.linalg.pinv(x), (q[:, :3],), order=2)


def test_rank_deficient_pinv_and_lstsq_along_rank_preserving_changes():
    """At rank 2, A = B C (B 5x2, C 2x4): changes of B and C keep the rank, and along them
    the pseudoinverse is smooth: the rule's derivative is exact there (differences through B
    and C), as PyTorch's is."""
    b_, c_ = RNG.standard_normal((5, 2)), RNG.standard_normal((2, 4))
    y = RNG.standard_normal((5, 2))
    check_grads(lambda b, c: cr.linalg.pinv(b @ c), (b_, c_), order=2)
    check_grads(lambda b, c: cr.linalg.lstsq(b @ c, cr.tensor(y)).solution, (b_, c_), order=1)
    # and the minimum-norm solution is NumPy's
    x = cr.linalg.lstsq(_t(b_ @ c_), _t(y))
    assert int(x.rank) == 2 and x.residuals.shape == (0,)
    np.testing.assert_array_equal(x.solution.numpy(), np.linalg.lstsq(b_ @ c_, y, rcond=None)[0])
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(b_ @ c_, dtype=lib.float64, requires_grad=True)
        (lib.linalg.pinv(a) ** 2).sum().backward()
        grads.append(np.asarray(a.grad))
    np.testing.assert_allclose(*grads, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0), (0, 2, 2)])
def test_empty_matrices(shape):
    a = np.zeros(shape)
    x = _t(a, True)
    for ours, theirs in ((cr.linalg.svd(x), np.linalg.svd(a)),
                         (cr.linalg.svd(x, full_matrices=False),
                          np.linalg.svd(a, full_matrices=False)),
                         (cr.linalg.qr(x), np.linalg.qr(a)),
                         ((cr.linalg.pinv(x),), (np.linalg.pinv(a),))):
        for o, t in zip(ours, theirs):
            assert o.shape == t.shape
        sum((o * 2.0).sum() for o in ours).backward()
        assert x.grad.shape == shape and not x.grad.numpy().any()
        x.grad = None


# --------------------------------------------------------------------------------------------
# one triangle: eigh, eigvalsh and cholesky read what NumPy reads, on Tensors too


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle_on_tensors_as_numpy(uplo):
    """(issue 14) A Tensor used to be symmetrised; NumPy reads the triangle UPLO.  Now both
    give NumPy's values, bit for bit, for a non-symmetric input."""
    a = NOT_SYMMETRIC if uplo == "L" else NOT_SYMMETRIC.T
    w, v = np.linalg.eigh(a, uplo)
    for module in (cnp, np):
        ours = module.linalg.eigh(_t(a, True), uplo)
        np.testing.assert_array_equal(ours.eigenvalues.detach().numpy(), w)
        np.testing.assert_array_equal(ours.eigenvectors.detach().numpy(), v)
        np.testing.assert_array_equal(module.linalg.eigvalsh(_t(a), UPLO=uplo).numpy(),
                                      np.linalg.eigvalsh(a, uplo))
    ours = cr.linalg.eigh(_t(a), UPLO=uplo)
    np.testing.assert_array_equal(ours.eigenvectors.numpy(), v)
    # the values differ from those of the symmetrised matrix
    assert not np.allclose(w, np.linalg.eigvalsh((a + a.T) / 2))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_derivatives_are_exact_for_a_non_symmetric_input(uplo):
    """The derivative is that of the function computed (differences agree, to second order,
    both modes), so it is zero outside the triangle read."""
    a = NOT_SYMMETRIC if uplo == "L" else NOT_SYMMETRIC.T
    check_grads(lambda x: cr.linalg.eigvalsh(x, uplo), (a,), order=2)
    check_grads(lambda x: cr.linalg.eigh(x, uplo).eigenvectors, (a,), order=2)
    x = _t(a, True)
    w, v = cr.linalg.eigh(x, uplo)
    (w * cr.tensor([1.0, 2.0, 3.0, 4.0]) + (v**2)[0]).sum().backward()
    outside = np.triu(np.ones((4, 4), bool), 1) if uplo == "L" else np.tril(np.ones((4, 4),
                                                                                 bool), -1)
    assert not x.grad.numpy()[outside].any() and x.grad.numpy()[~outside].all()


def test_eigh_gradient_of_a_symmetric_parametrisation_is_pytorchs():
    """Through A = B + B^T the gradient w.r.t. B is PyTorch's (which assumes A symmetric)."""
    torch = pytest.importorskip("torch")
    b = RNG.standard_normal((4, 4))
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(b, dtype=lib.float64, requires_grad=True)
        w, v = lib.linalg.eigh(x + x.t())
        (w**2).sum().backward()  # (the vectors' signs: a loss of the values alone)
        grads.append(np.asarray(x.grad))
    np.testing.assert_allclose(*grads, rtol=1e-10, atol=1e-12)


def test_cholesky_reads_the_lower_triangle_on_tensors_as_numpy():
    a = SQUARE @ SQUARE.T + np.eye(4)
    noisy = np.tril(a) + np.triu(RNG.standard_normal((4, 4)), 1)
    expected = np.linalg.cholesky(noisy)
    np.testing.assert_array_equal(cnp.linalg.cholesky(_t(noisy)).numpy(), expected)
    np.testing.assert_array_equal(cr.linalg.cholesky(_t(noisy)).numpy(), expected)
    check_grads(cr.linalg.cholesky, (noisy,), order=2)
    x = _t(noisy, True)
    cr.linalg.cholesky(x).sum().backward()
    assert not np.triu(x.grad.numpy(), 1).any()


def test_cholesky_upper_reads_the_upper_triangle_as_numpy_2_and_pytorch():
    a = SQUARE @ SQUARE.T + np.eye(4)
    noisy = np.triu(a) + np.tril(RNG.standard_normal((4, 4)), -1)
    expected = np.linalg.cholesky(a).T  # (the upper factor of the matrix its triangle gives)
    if NUMPY_HAS_UPPER:
        expected = np.linalg.cholesky(noisy, upper=True)
        np.testing.assert_array_equal(cnp.linalg.cholesky(_t(noisy), upper=True).numpy(),
                                      expected)
    np.testing.assert_allclose(cr.linalg.cholesky(_t(noisy), upper=True).numpy(), expected,
                               rtol=0 if NUMPY_HAS_UPPER else 1e-14)
    check_grads(lambda t: cr.linalg.cholesky(t, upper=True), (noisy,), order=2)
    x = _t(noisy, True)
    cr.linalg.cholesky(x, upper=True).sum().backward()
    assert not np.tril(x.grad.numpy(), -1).any()
    torch = pytest.importorskip("torch")  # (PyTorch's gradient is symmetric: compare through
    grads = []                            # a matrix built symmetric, where both are exact)
    for lib in (torch, cr):
        b = lib.tensor(SQUARE, requires_grad=True)
        lib.linalg.cholesky(b @ b.T + lib.eye(4, dtype=b.dtype), upper=True).sum().backward()
        grads.append(np.asarray(b.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_the_jax_dialect_still_symmetrises_as_jax_does():
    """jax.numpy.linalg.eigh symmetrises its input by default (symmetrize_input=True)."""
    from chainrule.compat.jax import numpy as jnp
    w = jnp.linalg.eigvalsh(jnp.array(NOT_SYMMETRIC.astype(np.float32)))
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh((NOT_SYMMETRIC
                                                                  + NOT_SYMMETRIC.T) / 2),
                               rtol=1e-5)


# --------------------------------------------------------------------------------------------
# the shared checks


def test_linalg_errors_are_numpys_and_pytorchs():
    """One implementation of the checks: a singular matrix is a LinAlgError that NumPy's
    except clause catches too, from chainrule.numpy.linalg as from chainrule.linalg."""
    for call in (lambda: cnp.linalg.inv(cr.zeros(2, 2)), lambda: cr.linalg.inv(cr.zeros(2, 2)),
                 lambda: cnp.linalg.cholesky(-cr.eye(2)), lambda: cr.linalg.cholesky(-cr.eye(2))):
        with pytest.raises(np.linalg.LinAlgError) as caught:
            call()
        assert isinstance(caught.value, (RuntimeError, cr.linalg.LinAlgError))
    with pytest.raises(ValueError, match="chainrule.numpy.linalg.det: .*must be square"):
        cnp.linalg.det(cr.ones(2, 3))



def test_a_decomposition_is_shared_only_by_primitives_of_the_same_option():
    # (one call's primitives share a Factors; one computed for full matrices would give a
    # reduced U of the wrong shape, so another option decomposes on its own)
    a = np.random.default_rng(5).standard_normal((5, 3))
    shared = Factors()
    assert svd_vectors(a, part="U", full_matrices=True, factors=shared).shape == (5, 5)
    reduced = svd_vectors(a, part="U", full_matrices=False, factors=shared)
    np.testing.assert_array_equal(reduced, np.linalg.svd(a, full_matrices=False)[0])
    s = a.T @ a
    shared = Factors()
    np.testing.assert_array_equal(eigh_vectors(s, UPLO="L", factors=shared),
                                  np.linalg.eigh(s, "L")[1])
    np.testing.assert_array_equal(eigh_vectors(np.tril(s) + 1.0, UPLO="U", factors=shared),
                                  np.linalg.eigh(np.tril(s) + 1.0, "U")[1])
