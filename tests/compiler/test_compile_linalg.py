"""``chainrule.linalg``'s decompositions through ``chainrule.compile``: each function, and its
gradient taken inside the compiled function, traced on one matrix and replayed on another,
equals the eager call on that matrix; a replay decomposes its matrix once, as an eager call
does (the primitives of one call share a ``Factors``, which a plan makes at each replay); a
matrix NumPy cannot decompose raises eager's error at a replay."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr


def _matrix(seed: int, shape=(4, 4)) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal(shape)
    return a @ a.T + 4 * np.eye(4) if shape == (4, 4) else a


def _gauge_free(v):
    # (each eigenvector or singular vector may change sign: functions of v v^T do not)
    return v @ v.mT


CASES = {
    "eigh": lambda a: cr.linalg.eigh(a)[0].sum() + (_gauge_free(cr.linalg.eigh(a)[1]) * a).sum(),
    "eigh, one call": lambda a: (lambda w, v: (w * w).sum() + (_gauge_free(v) * a).sum())(
        *cr.linalg.eigh(a)),
    "eigvalsh": lambda a: (cr.linalg.eigvalsh(a) ** 2).sum(),
    "svd": lambda a: (lambda u, s, vh: (s ** 3).sum() + ((u * s) @ vh * a).sum())(
        *cr.linalg.svd(a, full_matrices=False)),
    "svd of a wide matrix": lambda a: (lambda u, s, vh: (s ** 2).sum()
                                       + (_gauge_free(vh.mT) * 2).sum())(
        *cr.linalg.svd(a[:3], full_matrices=False)),
    "svdvals": lambda a: cr.linalg.svdvals(a).sum(),
    "the 2-norm and the nuclear norm": lambda a: (cr.linalg.matrix_norm(a, 2)
                                                  + cr.linalg.matrix_norm(a, "nuc")),
    "qr": lambda a: (lambda q, r: (q @ r * a).sum() + r.diagonal().abs().sum())(*cr.linalg.qr(a)),
    "eigvals": lambda a: cr.linalg.eigvals(a).real.sum(),
    "slogdet": lambda a: cr.linalg.slogdet(a)[1] * cr.linalg.slogdet(a)[0],
    "cond": lambda a: cr.linalg.cond(a),
}


def _gradient(f):
    def gradient(a):
        return cr.autograd.grad(f(a), [a])[0]
    return gradient


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("what", ["value", "gradient"])
def test_a_decomposition_replays_as_eager(name, what):
    f = CASES[name] if what == "value" else _gradient(CASES[name])
    compiled = cr.compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the trace does not break, the replays warn of nothing)
        compiled(cr.tensor(_matrix(0), requires_grad=True))
        for seed in (1, 2):
            ours = compiled(cr.tensor(_matrix(seed), requires_grad=True))
            theirs = f(cr.tensor(_matrix(seed), requires_grad=True))
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                       rtol=1e-10, atol=1e-12)
    assert compiled.traces == 1


@pytest.mark.parametrize("decomposition, call", [
    ("svd", lambda a: (lambda u, s, vh: (u * s) @ vh)(*cr.linalg.svd(a))),
    ("eigh", lambda a: (lambda w, v: v * w)(*cr.linalg.eigh(a))),
    ("qr", lambda a: (lambda q, r: q + r)(*cr.linalg.qr(a))),
])
def test_a_replay_decomposes_once_forward_and_backward(decomposition, call, monkeypatch):
    calls = []
    numpy_function = getattr(np.linalg, decomposition)

    def counted(*args, **kwargs):
        calls.append(decomposition)
        return numpy_function(*args, **kwargs)

    monkeypatch.setattr(np.linalg, decomposition, counted)
    step = cr.compile(_gradient(lambda a: (call(a) ** 2).sum()))
    step(cr.tensor(_matrix(0), requires_grad=True))
    calls.clear()
    replayed = step(cr.tensor(_matrix(1), requires_grad=True))
    assert len(calls) == 1
    calls.clear()
    eager = _gradient(lambda a: (call(a) ** 2).sum())(cr.tensor(_matrix(1), requires_grad=True))
    assert len(calls) == 1
    np.testing.assert_allclose(replayed.numpy(), eager.numpy(), rtol=1e-10, atol=1e-12)


def test_a_matrix_numpy_cannot_decompose_raises_eagers_error_at_a_replay():
    compiled = cr.compile(lambda a: cr.linalg.svd(a)[1].sum())
    compiled(cr.tensor(_matrix(0)))
    bad = _matrix(1)
    bad[0, 0] = np.nan
    with pytest.raises(cr.linalg.LinAlgError, match="linalg.svd"):
        cr.linalg.svd(cr.tensor(bad))
    with pytest.raises(cr.linalg.LinAlgError, match="linalg.svd"):
        compiled(cr.tensor(bad))


@pytest.mark.parametrize("what", ["value", "gradient"])
def test_lstsq_replays_and_a_change_of_rank_traces_again(what):
    # the solution, ranks and singular values share one NumPy lstsq (a Factors); whether the
    # residuals are computed (m > n, every matrix of full rank) is a guard on the ranks
    def f(a, b):
        x, residuals, rank, values = cr.linalg.lstsq(a, b)
        return (x * x).sum() + residuals.sum() + rank.sum() + values.sum()

    fn = f if what == "value" else (lambda a, b: cr.autograd.grad(f(a, b), [a, b]))
    compiled = cr.compile(fn)
    rng = np.random.default_rng(3)
    full = [rng.standard_normal((2, 5, 3)) for _ in range(3)]
    deficient = full[2].copy()
    deficient[1, :, 2] = deficient[1, :, 0]  # (rank 2: no residuals)
    b = [cr.tensor(rng.standard_normal((2, 5, 2)), requires_grad=True) for _ in range(4)]
    for a, rhs in zip(full + [deficient], b):
        ours = compiled(cr.tensor(a, requires_grad=True), rhs)
        theirs = fn(cr.tensor(a, requires_grad=True), rhs)
        for x, y in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-9,
                                       atol=1e-12)
    assert compiled.traces == 2  # (full rank, then the deficient one)


def test_cond_of_a_singular_matrix_replays_as_inf():
    # (NaN, 0 / 0, becomes inf unless the matrix holds a NaN: a mask of the plan)
    compiled = cr.compile(lambda a: cr.linalg.cond(a))
    compiled(cr.tensor(_matrix(0)))
    for matrix in (np.zeros((4, 4)), np.diag([1.0, 2.0, 0.0, 3.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (0 / 0 in the replay)
            ours = compiled(cr.tensor(matrix))
        assert float(ours) == float(cr.linalg.cond(cr.tensor(matrix))) == np.inf
    assert compiled.traces == 1


def test_lstsqs_unread_ranks_and_singular_values_are_left_out_of_the_plan():
    # (a wide matrix: no residuals, so no guard reads the ranks either)
    compiled = cr.compile(lambda a, b: cr.linalg.lstsq(a, b).solution * 2)
    a, b = _matrix(0, (3, 5)), _matrix(1, (3, 2))
    compiled(cr.tensor(a), cr.tensor(b))
    assert "_ranks" not in compiled.source and "_values" not in compiled.source
    np.testing.assert_allclose(compiled(cr.tensor(b[:, :1] + a), cr.tensor(b)).numpy(),
                               2 * np.linalg.lstsq(b[:, :1] + a, b, rcond=None)[0],
                               rtol=1e-10, atol=1e-12)
