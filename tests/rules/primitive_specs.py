"""One test entry per primitive of ``chainrule.rules.REGISTRY``.

Each :class:`Spec` says how to call the primitive through the public API (``fn``), what NumPy
computes for the same inputs (``ref``, the value oracle), which input shapes to try (including
broadcasting ones) and where to sample the inputs (``sample``).  ``tests/rules/test_primitives.py``
checks every entry: value, reverse mode to first and second order against central finite
differences in float64, and dtypes in float32.  A primitive without an entry fails the suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule import rules as R


def real(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def small(rng, shape):
    return rng.uniform(-1.0, 1.0, shape)


def inside_unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def above_one(rng, shape):
    return rng.uniform(1.2, 3.0, shape)


def non_integer(rng, shape):
    # keep clear of the jumps of floor, ceil, round and trunc
    return rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


@dataclass
class Spec:
    fn: Callable  # Tensors -> Tensor, through the public API
    ref: Callable  # ndarrays -> ndarray, plain NumPy
    shapes: list[tuple]  # one tuple of input shapes per variant
    sample: Callable | tuple = real  # one sampler, or one per input
    second_order: bool = True
    extra: dict = field(default_factory=dict)


UNARY = [(), (3,), (2, 3)]
BINARY = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]
REDUCE = [((2, 3),), ((3,),)]


def _unary(fn, ref, sample=real, **kw):
    return Spec(fn, ref, [(s,) for s in UNARY], sample, **kw)


MASK = np.array([[True, False, True], [False, True, True]])
INDEX = (np.array([0, 1, 1, 0]), np.array([2, 0, 0, 1]))  # repeated positions accumulate


def _cross_entropy_ref(z, p):
    """-sum(p log_softmax(z)) along the class dim (1, or 0 for one sample): per sample for
    inputs with extra dims (reduction="none"), else the mean over samples."""
    axis = 1 if z.ndim > 1 else 0
    log_softmax = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    losses = -(p * log_softmax).sum(axis=axis)
    return losses if z.ndim == 3 else losses.mean()


# class indices for softmax_minus_one_hot, by the logits' shape (class dim 1, or 0 for one sample)
SLOPE_TARGETS = {(2, 3): np.array([2, 0]), (4,): np.array(1),
                 (2, 3, 2): np.array([[0, 2], [1, 1]])}


def _slope_call(z):
    return R.softmax_minus_one_hot(z, SLOPE_TARGETS[tuple(z.shape)], axis=min(z.ndim - 1, 1))


def _slope_ref(z):
    axis = min(z.ndim - 1, 1)
    softmax = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
    classes = np.arange(z.shape[axis]).reshape((-1,) + (1,) * (z.ndim - 1 - axis))
    target = np.expand_dims(SLOPE_TARGETS[z.shape], axis)
    return softmax - (target == classes)


def _view_changed_in_place(x, v):
    y = x * 1.0  # a non-leaf, whose view changed in place is recorded on it (CopySlices)
    y[:, 1:].mul_(v)
    return y


def _np_view_changed_in_place(x, v):
    y = x.copy()
    y[:, 1:] *= v
    return y


def _index_put(x, v):
    y = x * 1.0  # a non-leaf, so that setitem is recorded
    y[:, 1] = v
    return y


SPECS: dict[str, Spec] = {
    "neg": _unary(lambda x: -x, np.negative),
    "exp": _unary(cr.exp, np.exp),
    "log": _unary(cr.log, np.log, positive),
    "log1p": _unary(cr.log1p, np.log1p, positive),
    "expm1": _unary(cr.expm1, np.expm1),
    "sqrt": _unary(cr.sqrt, np.sqrt, positive),
    "square": _unary(cr.square, np.square),
    "sin": _unary(cr.sin, np.sin),
    "cos": _unary(cr.cos, np.cos),
    "tan": _unary(cr.tan, np.tan, small),
    "tanh": _unary(cr.tanh, np.tanh),
    "sigmoid": _unary(cr.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    # the fused derivative rules, g (1 - y^2) and g y (1 - y), with y a tanh or sigmoid value
    "tanh_backward": Spec(R.tanh_backward, lambda g, y: g * (1 - y * y), BINARY,
                         (real, small)),
    "sigmoid_backward": Spec(R.sigmoid_backward, lambda g, y: g * y * (1 - y), BINARY,
                            (real, small)),
    # relu's derivative rule, g where x > threshold (else 0)
    "threshold_backward": Spec(lambda g, x: R.threshold_backward(g, x, threshold=0.25),
                               lambda g, x: np.where(x > 0.25, g, 0.0), BINARY,
                               (real, away_from_zero)),
    "relu": _unary(cr.relu, lambda x: np.maximum(x, 0), away_from_zero),
    "abs": _unary(cr.abs, np.abs, away_from_zero),
    "sign": _unary(cr.sign, np.sign, away_from_zero),
    "floor": _unary(cr.floor, np.floor, non_integer),
    "ceil": _unary(cr.ceil, np.ceil, non_integer),
    "round": _unary(cr.round, np.round, non_integer),
    "trunc": _unary(cr.trunc, np.trunc, non_integer),
    # NumPy's other elementwise functions (rules/elementwise_math.py), by NumPy's names
    "asin": _unary(cnp.arcsin, np.arcsin, inside_unit),
    "acos": _unary(cnp.arccos, np.arccos, inside_unit),
    "atan": _unary(cnp.arctan, np.arctan),
    "sinh": _unary(cnp.sinh, np.sinh),
    "cosh": _unary(cnp.cosh, np.cosh),
    "asinh": _unary(cnp.arcsinh, np.arcsinh),
    "acosh": _unary(cnp.arccosh, np.arccosh, above_one),
    "atanh": _unary(cnp.arctanh, np.arctanh, inside_unit),
    "log2": _unary(cnp.log2, np.log2, positive),
    "log10": _unary(cnp.log10, np.log10, positive),
    "exp2": _unary(cnp.exp2, np.exp2),
    "deg2rad": _unary(cnp.deg2rad, np.deg2rad),
    "rad2deg": _unary(cnp.rad2deg, np.rad2deg),
    "sinc": _unary(cnp.sinc, np.sinc),
    "atan2": Spec(cnp.arctan2, np.arctan2, BINARY, (real, away_from_zero)),
    "hypot": Spec(cnp.hypot, np.hypot, BINARY, (away_from_zero, real)),
    "logaddexp2": Spec(cnp.logaddexp2, np.logaddexp2, BINARY),
    "fmax": Spec(cnp.fmax, np.fmax, BINARY),
    "fmin": Spec(cnp.fmin, np.fmin, BINARY),
    "add": Spec(lambda x, y: x + y, np.add, BINARY),
    "sub": Spec(lambda x, y: x - y, np.subtract, BINARY),
    "mul": Spec(lambda x, y: x * y, np.multiply, BINARY),
    "div": Spec(lambda x, y: x / y, np.divide, BINARY, (real, away_from_zero)),
    "pow": Spec(lambda x, y: x ** y, np.power, BINARY, (positive, real)),
    "remainder": Spec(lambda x, y: x % y, np.remainder, [((3,), (3,)), ((2, 3), ())],
                      (lambda rng, shape: rng.uniform(0.2, 0.8, shape) + rng.integers(0, 3, shape),
                       lambda rng, shape: rng.uniform(1.2, 1.4, shape))),
    "maximum": Spec(cr.maximum, np.maximum, BINARY),
    "minimum": Spec(cr.minimum, np.minimum, BINARY),
    "clamp": _unary(lambda x: cr.clamp(x, min=-0.5, max=0.5), lambda x: np.clip(x, -0.5, 0.5)),
    "where": Spec(lambda x, y: cr.where(MASK, x, y), lambda x, y: np.where(MASK, x, y),
                  [((2, 3), (2, 3)), ((3,), (2, 1)), ((), (2, 3))]),
    "sum": Spec(lambda x: x.sum(dim=-1), lambda x: x.sum(axis=-1), REDUCE),
    "mean": Spec(lambda x: x.mean(dim=0, keepdim=True), lambda x: x.mean(axis=0, keepdims=True),
                 REDUCE),
    "prod": Spec(lambda x: x.prod(dim=-1), lambda x: x.prod(axis=-1), REDUCE),
    "amax": Spec(lambda x: x.amax(dim=-1), lambda x: x.max(axis=-1), REDUCE),
    "amin": Spec(lambda x: x.amin(), lambda x: x.min(), REDUCE),
    "max": Spec(lambda x: x.max(), lambda x: x.max(), REDUCE),
    "min": Spec(lambda x: cr.min(x), lambda x: x.min(), REDUCE),
    "std": Spec(lambda x: x.std(dim=-1), lambda x: x.std(axis=-1, ddof=1), REDUCE),
    "logsumexp": Spec(lambda x: cr.logsumexp(x, dim=-1),
                      lambda x: np.log(np.exp(x).sum(axis=-1)), REDUCE),
    "softmax": Spec(lambda x: cr.softmax(x, dim=-1),
                    lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), REDUCE),
    "log_softmax": Spec(lambda x: cr.log_softmax(x, dim=0),
                       lambda x: x - np.log(np.exp(x).sum(axis=0, keepdims=True)), REDUCE),
    # probability targets (positive, not normalised: sum(p) softmax(z) - p is then exercised);
    # index targets, which carry no gradient, are tested in tests/rules/test_nn_functional.py
    "nn.functional.cross_entropy": Spec(
        lambda z, p: F.cross_entropy(z, p, reduction="none" if z.ndim == 3 else "mean"),
        lambda z, p: _cross_entropy_ref(z, p), [((2, 3), (2, 3)), ((4,), (4,)),
                                               ((2, 3, 2), (2, 3, 2))], (real, positive)),
    # cross_entropy's slope with class indices (its backward pass, and a compiled step's)
    "softmax_minus_one_hot": Spec(_slope_call, _slope_ref, [(s,) for s in SLOPE_TARGETS]),
    # the 2-norm of each row of a matrix; the 3-norm of a vector
    "linalg.vector_norm": Spec(lambda x: x.norm(p=2 if x.ndim == 2 else 3, dim=-1),
                               lambda x: np.linalg.norm(x, ord=2 if x.ndim == 2 else 3, axis=-1),
                               REDUCE),
    "copy_slices": Spec(_view_changed_in_place, _np_view_changed_in_place,
                        [((2, 3), (2, 2)), ((2, 3), (2,))]),
    "matmul": Spec(lambda x, y: x @ y, np.matmul,
               [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 2, 3), (3, 2)),
                ((3,), (3,))]),
    "dot": Spec(cr.dot, np.dot, [((4,), (4,))]),
    "nn.functional.linear": Spec(R.linear, lambda x, w: x @ w.T,
                                 [((2, 3), (4, 3)), ((3,), (4, 3)), ((2, 2, 3), (4, 3))]),
    "einsum": Spec(lambda x, y: cr.einsum("ij,jk->ik", x, y), lambda x, y: x @ y,
                   [((2, 3), (3, 2))]),
    "reshape": Spec(lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2), [((2, 3),), ((4,),)]),
    "permute": Spec(lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [((2, 3, 2),)]),
    "broadcast_to": Spec(lambda x: x.expand(2, 3), lambda x: np.broadcast_to(x, (2, 3)),
                   [((3,),), ((2, 1),)]),
    "sum_to": Spec(lambda x: R.sum_to(x, shape=(1, 3), x_shape=x.shape),
                  lambda x: x.sum(axis=0, keepdims=True), [((2, 3),)]),
    "to": Spec(lambda x: R.cast(x, dtype=x.dtype, x_dtype=x.dtype), lambda x: x, [((3,),)]),
    "clone": _unary(cr.clone, np.copy),
    "flip": Spec(lambda x: x.flip(0), lambda x: x[::-1], [((3,),), ((2, 3),)]),
    "tile": Spec(lambda x: x.repeat(2, 3), lambda x: np.tile(x, (2, 3)), [((2,),), ((2, 2),)]),
    "getitem": Spec(lambda x: x[INDEX], lambda x: x[INDEX], [((2, 3),)]),
    "index_add": Spec(lambda x: R.index_add(x, index=INDEX, x_shape=(2, 3)),
                          lambda x: _scatter_add(x, INDEX, (2, 3)), [((4,),)]),
    "index_put": Spec(_index_put, lambda x, v: _np_index_put(x, v), [((2, 3), (2,)),
                                                                    ((2, 3), ())]),
    "cat": Spec(lambda x, y: cr.cat([x, y], dim=-1), lambda x, y: np.concatenate([x, y], -1),
                [((2, 3), (2, 1))]),
}


def _scatter_add(values, index, shape):
    out = np.zeros(shape, np.result_type(values, np.float64))
    np.add.at(out, index, values)
    return out


def _np_index_put(x, v):
    out = x.copy()
    out[:, 1] = v
    return out


# --------------------------------------------------------------------------------------------
# chainrule/rules/scans.py and linalg.py: cumulative sums and products, sort, linear algebra
# (called directly)

from chainrule import rules as RL  # noqa: E402


def _eye_like(shape):
    return np.broadcast_to(np.eye(shape[-1]), shape)


def well_conditioned(rng, shape):
    # a random matrix plus n I: far from singular
    return rng.standard_normal(shape) + shape[-1] * _eye_like(shape)


def negative_det(rng, shape):
    a = well_conditioned(rng, shape)
    a[..., 0, :] *= -1
    return a


def _symmetric(a):
    return (a + np.swapaxes(a, -1, -2)) / 2  # exactly symmetric


def spd(rng, shape):
    b = rng.standard_normal(shape)
    return _symmetric(b @ np.swapaxes(b, -1, -2) / shape[-1] + _eye_like(shape))


def separated_spectrum(rng, shape):
    # Q diag(l) Q^T with eigenvalues 1.5 apart (and a random common shift)
    q = np.linalg.qr(rng.standard_normal(shape))[0]
    w = 1.5 * np.arange(shape[-1]) + rng.uniform(-1.0, 1.0, shape[:-2] + (1,))
    return _symmetric((q * w[..., None, :]) @ np.swapaxes(q, -1, -2))


def noisy_upper(sample):
    """``sample``'s matrices plus small noise strictly above the diagonal: a matrix whose
    lower triangle is ``sample``'s and whose upper one describes a nearby symmetric matrix."""
    def noisy(rng, shape):
        return sample(rng, shape) + np.triu(0.2 * rng.standard_normal(shape), 1)
    return noisy


def _solve(a, b):
    # b of shape a.shape[:-1] (batch of vectors) via vector=True; otherwise NumPy's reading
    if b.ndim == a.ndim - 1:
        return RL.solve(a, b, vector=True)
    return RL.solve(a, b)


def _np_solve(a, b):
    if b.ndim == a.ndim - 1:
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


SQUARE = [((3, 3),), ((2, 3, 3),)]


def _gauge_free(v):
    """Real eigenvectors as they are (LAPACK's signs do not change under small changes of the
    input); of complex ones, whose phases are not determined, the projectors ``v_i v_i^H``
    (``p[..., a, b, i]``), which are."""
    if not v.is_complex():
        return v
    return v[..., :, None, :] * v.conj()[..., None, :, :]


def _np_gauge_free(v):
    return v if not np.iscomplexobj(v) else v[..., :, None, :] * v.conj()[..., None, :, :]


# x's shape -> (axis, positions along it, x's rank, with repeats: the transpose accumulates)
ALONG = {(4, 3): (0, np.array([[3, 0, 1], [0, 0, 2], [1, 3, 3], [3, 2, 0], [2, 1, 0]])),
         (3,): (-1, np.array([2, 0, 2, 1]))}
# the gathered shape -> x's shape
ALONG_SOURCES = {ALONG[shape][1].shape: shape for shape in ALONG}


def _np_add_along(g, positions, axis, x_shape):
    out = np.zeros(x_shape, g.dtype)
    np.add.at(out, RL.along_index(positions, axis), g)
    return out


def _add_along_call(g):
    x_shape = ALONG_SOURCES[tuple(g.shape)]
    axis, positions = ALONG[x_shape]
    return RL.add_along(g, positions, axis=axis, x_shape=x_shape)


SPECS.update({
    "take_along": Spec(lambda x: RL.take_along(x, ALONG[x.shape][1], axis=ALONG[x.shape][0],
                                               x_shape=x.shape),
                       lambda x: np.take_along_axis(x, ALONG[x.shape][1], ALONG[x.shape][0]),
                       [(s,) for s in ALONG]),
    "add_along": Spec(_add_along_call,
                      lambda g: _np_add_along(g, ALONG[ALONG_SOURCES[g.shape]][1],
                                              ALONG[ALONG_SOURCES[g.shape]][0],
                                              ALONG_SOURCES[g.shape]),
                      [(s,) for s in ALONG_SOURCES]),
    "cumsum": Spec(lambda x: RL.cumsum(x, axis=-1), lambda x: np.cumsum(x, axis=-1),
                   [((4,),), ((2, 3),)]),
    "cumprod": Spec(lambda x: RL.cumprod(x, axis=0), lambda x: np.cumprod(x, axis=0),
                    [((4,),), ((3, 2),)], away_from_zero),
    "sort": Spec(lambda x: RL.sorted_along(x, 0)[0], lambda x: np.sort(x, axis=0),
                 [((5,),), ((4, 3),)]),
    "linalg.inv": Spec(RL.inv, np.linalg.inv, SQUARE, well_conditioned),
    "linalg.det": Spec(RL.det, np.linalg.det, SQUARE, well_conditioned),
    "linalg.slogdet": Spec(RL.logabsdet, lambda x: np.linalg.slogdet(x)[1], SQUARE,
                          negative_det),
    "linalg.solve": Spec(_solve, _np_solve,
                          [((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((3, 3), (3, 2)),
                           ((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 1)),
                           ((2, 1, 3, 3), (1, 4, 3, 2))], (well_conditioned, real)),
    # NumPy reads one triangle (the other holds noise here): L for cholesky, UPLO for eigh
    "linalg.cholesky": Spec(RL.cholesky, np.linalg.cholesky, SQUARE, noisy_upper(spd)),
    "linalg.eigvalsh": Spec(lambda x: cr.cat([RL.eigvalsh(x), RL.eigvalsh(x, UPLO="U")], -1),
                            lambda x: np.concatenate([np.linalg.eigvalsh(x),
                                                      np.linalg.eigvalsh(x, "U")], -1),
                            SQUARE, noisy_upper(separated_spectrum)),
    "linalg.eigh": Spec(lambda x: cr.cat([_gauge_free(RL.eigh_vectors(x)),
                                          _gauge_free(RL.eigh_vectors(x, UPLO="U"))], -1),
                        lambda x: np.concatenate([_np_gauge_free(np.linalg.eigh(x)[1]),
                                                  _np_gauge_free(np.linalg.eigh(x, "U")[1])], -1),
                        SQUARE, noisy_upper(separated_spectrum)),
})


# --------------------------------------------------------------------------------------------
# chainrule/rules/decompositions.py and linalg.py: singular values and vectors, QR, the
# pseudoinverse and least squares, through the public functions.  Each entry records both
# flavours of its primitive (full and reduced matrices; QR's modes) where they are
# differentiable, concatenated.


def separated_singular_values(rng, shape):
    """``U diag(s) V^T`` with random orthonormal U, V and singular values 1 apart (k, ..., 1,
    scaled by a random factor in [1, 1.5]): well conditioned, no two singular values close."""
    m, n = shape[-2:]
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, k)))[0]
    v = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, k)))[0]
    s = np.arange(k, 0, -1.0) * rng.uniform(1.0, 1.5, shape[:-2] + (1,))
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


RECTANGULAR = [((4, 3),), ((3, 4),), ((3, 3),), ((2, 4, 3),), ((2, 3, 4),)]


def _flat(*arrays):
    return cr.cat([a.reshape(-1) for a in arrays])


def _np_flat(*arrays):
    return np.concatenate([a.reshape(-1) for a in arrays])


def _singular_vectors(x):
    k = min(x.shape[-2:])
    u, _, vh = cr.linalg.svd(x, full_matrices=False)
    full_u, _, full_vh = cr.linalg.svd(x)  # (the extra vectors have no derivative)
    if x.is_complex():  # each pair (u_i, v_i) has a phase; the products u_i vh_i do not
        return _flat(_pairs(u, vh), _pairs(full_u[..., :, :k], full_vh[..., :k, :]))
    return _flat(u, vh, full_u[..., :, :k], full_vh[..., :k, :])


def _pairs(u, vh):
    """``p[..., a, b, i] = u[..., a, i] vh[..., i, b]``: ``u_i vh_i``, free of the phases."""
    return u[..., :, None, :] * vh.swapaxes(-1, -2)[..., None, :, :]


def _np_singular_vectors(x):
    k = min(x.shape[-2:])
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    full_u, _, full_vh = np.linalg.svd(x)
    if np.iscomplexobj(x):
        return _np_flat(_pairs(u, vh), _pairs(full_u[..., :, :k], full_vh[..., :k, :]))
    return _np_flat(u, vh, full_u[..., :, :k], full_vh[..., :k, :])


def _qr_parts(x):
    # complete Q and R where they have a derivative (m <= n, where they are the reduced ones)
    parts = [*cr.linalg.qr(x), cr.linalg.qr(x, mode="r").R]
    return _flat(*parts, *(cr.linalg.qr(x, mode="complete") if x.shape[-2] <= x.shape[-1]
                           else ()))


def _np_qr_parts(x):
    parts = [*np.linalg.qr(x), np.linalg.qr(x, mode="r")]
    return _np_flat(*parts, *(np.linalg.qr(x, mode="complete") if x.shape[-2] <= x.shape[-1]
                              else ()))


def _np_lstsq(a, b):
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    b = b[..., None] if vector else b
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
    out = np.stack([np.linalg.lstsq(a[i], b[i], rcond=None)[0] for i in np.ndindex(batch)])
    out = out.reshape(batch + out.shape[-2:])
    return out[..., 0] if vector else out


SPECS.update({
    # the values alone (NumPy's svd(compute_uv=False)) and those that come with the vectors
    "linalg.svdvals": Spec(lambda x: cr.cat([cr.linalg.svdvals(x), cr.linalg.svd(x).S], -1),
                           lambda x: np.concatenate([np.linalg.svd(x, compute_uv=False),
                                                     np.linalg.svd(x)[1]], -1),
                           RECTANGULAR, separated_singular_values),
    "linalg.svd": Spec(_singular_vectors, _np_singular_vectors, RECTANGULAR,
                       separated_singular_values),
    "linalg.qr": Spec(_qr_parts, _np_qr_parts, RECTANGULAR, separated_singular_values),
    "linalg.pinv": Spec(cr.linalg.pinv, np.linalg.pinv, RECTANGULAR, separated_singular_values),
    "linalg.lstsq": Spec(lambda a, b: cr.linalg.lstsq(a, b).solution, _np_lstsq,
                         [((5, 3), (5, 2)), ((5, 3), (5,)), ((3, 5), (3, 2)),
                          ((2, 5, 3), (2, 5, 2)), ((2, 5, 3), (2, 5)), ((2, 4, 3), (4, 2))],
                         (separated_singular_values, real)),
})


SPECS.update({  # complex numbers (rules/elementwise.py); their real inputs are real numbers
    "real": _unary(cr.real, np.real),
    "imag": _unary(cnp.imag, np.imag),
    "conj": _unary(cr.conj, np.conj),
    "angle": _unary(cr.angle, np.angle, away_from_zero),
})


def spread_spectrum(rng, shape):
    # non-symmetric, with real eigenvalues near -2, 0.5 and 2.5 (so that float32 and float64
    # results stay real, as NumPy returns them when every eigenvalue is real)
    return rng.uniform(-0.3, 0.3, shape) + np.diag([-2.0, 0.5, 2.5])


SPECS.update({  # the general eigendecomposition (rules/eig.py); the vectors through |V|, which
    # does not depend on their phases (the only derivatives the vectors have)
    "linalg.eigvals": Spec(R.eigvals, np.linalg.eigvals, [((3, 3),), ((2, 3, 3),)],
                           spread_spectrum),
    "linalg.eig": Spec(lambda a: R.eig_vectors(a).abs(), lambda a: np.abs(np.linalg.eig(a)[1]),
                       [((3, 3),), ((2, 3, 3),)], spread_spectrum),
})


# --------------------------------------------------------------------------------------------
# chainrule/rules/special.py: scipy.special's functions, called through chainrule.scipy.special.
# Its primitives join REGISTRY only when that module is imported, which needs SciPy: without
# SciPy there are neither primitives nor entries.

try:
    import scipy.special as scipy_special  # noqa: E402

    import chainrule.scipy.special as sps  # noqa: E402
except ImportError:
    sps = None


def open_unit(rng, shape):
    return rng.uniform(0.1, 0.9, shape)


def inside_zero_two(rng, shape):
    return rng.uniform(0.1, 1.9, shape)


def above_minus_one(rng, shape):
    return rng.uniform(-0.5, 2.0, shape)


ORDERS = np.array([0, 1, 3])  # polygamma's orders, broadcast against x

if sps is not None:
    SPECS.update({
        "scipy.special.gammaln": _unary(sps.gammaln, scipy_special.gammaln, positive),
        "scipy.special.digamma": _unary(sps.digamma, scipy_special.digamma, positive),
        # (orders 0, 1 and 3 along the last axis; a 0-d x is broadcast to them)
        "scipy.special.polygamma": _unary(lambda x: sps.polygamma(ORDERS, x),
                                          lambda x: scipy_special.polygamma(ORDERS, x),
                                          positive),
        "scipy.special.gamma": _unary(sps.gamma, scipy_special.gamma, positive),
        "scipy.special.betaln": Spec(sps.betaln, scipy_special.betaln, BINARY, positive),
        "scipy.special.beta": Spec(sps.beta, scipy_special.beta, BINARY, positive),
        "scipy.special.erf": _unary(sps.erf, scipy_special.erf),
        "scipy.special.erfc": _unary(sps.erfc, scipy_special.erfc),
        "scipy.special.erfinv": _unary(sps.erfinv, scipy_special.erfinv, inside_unit),
        "scipy.special.erfcinv": _unary(sps.erfcinv, scipy_special.erfcinv, inside_zero_two),
        "scipy.special.erfcx": _unary(sps.erfcx, scipy_special.erfcx),
        "scipy.special.ndtr": _unary(sps.ndtr, scipy_special.ndtr),
        "scipy.special.ndtri": _unary(sps.ndtri, scipy_special.ndtri, open_unit),
        "scipy.special.log_ndtr": _unary(sps.log_ndtr, scipy_special.log_ndtr),
        "scipy.special.logit": _unary(sps.logit, scipy_special.logit, open_unit),
        "scipy.special.xlogy": Spec(sps.xlogy, scipy_special.xlogy, BINARY, (real, positive)),
        "scipy.special.xlog1py": Spec(sps.xlog1py, scipy_special.xlog1py, BINARY,
                                      (real, above_minus_one)),
        "scipy.special.i0": _unary(sps.i0, scipy_special.i0),
        "scipy.special.i1": _unary(sps.i1, scipy_special.i1),
        # (away from the kink of exp(-|x|) at 0)
        "scipy.special.i0e": _unary(sps.i0e, scipy_special.i0e, away_from_zero),
        "scipy.special.i1e": _unary(sps.i1e, scipy_special.i1e, away_from_zero),
        "scipy.special.entr": _unary(sps.entr, scipy_special.entr, positive),
        "scipy.special.rel_entr": Spec(sps.rel_entr, scipy_special.rel_entr, BINARY, positive),
        "scipy.special.kl_div": Spec(sps.kl_div, scipy_special.kl_div, BINARY, positive),
    })


# --------------------------------------------------------------------------------------------
# Complex numbers: every primitive is tested on complex inputs too, or says why not.

_NOT_IN_NUMPY = "NumPy does not define it on complex numbers"
REAL_ONLY: dict[str, str] = {
    **{name: _NOT_IN_NUMPY for name in ("floor", "ceil", "trunc", "deg2rad", "rad2deg", "atan2",
                                        "hypot", "logaddexp2", "remainder")},
    "nn.functional.cross_entropy": "takes real logits, as PyTorch's",
    "softmax_minus_one_hot": "takes real logits, as PyTorch's cross_entropy",
}
REAL_ONLY.update({name: "SciPy's special functions, for real arguments" for name in SPECS
                  if name.startswith("scipy.special.")})
COMPLEX: set[str] = set(SPECS) - set(REAL_ONLY)
"""The primitives checked on complex inputs (value, both modes to second order)."""


# --------------------------------------------------------------------------------------------
# fft (rules/fft.py), through chainrule.fft (PyTorch's arguments) and chainrule.numpy.fft
# (NumPy's): each primitive by several calls, chosen by the input's shape, with a batch axis,
# odd and even n, n that pads and n that cuts.  A complex result is checked as its real and
# imaginary parts side by side (gradcheck differentiates real outputs only).


def _parts(y):
    return cr.stack([cr.real(y), cnp.imag(y)], -1) if y.is_complex() else y


def _np_parts(y):
    return np.stack([y.real, y.imag], -1) if np.iscomplexobj(y) else y


def _by_shape(cases: dict) -> Spec:
    """A spec whose variants are the calls of ``cases``: input shape -> (chainrule's call,
    NumPy's)."""
    return Spec(lambda x: _parts(cases[tuple(x.shape)][0](x)),
                lambda x: _np_parts(cases[x.shape][1](x)), [(shape,) for shape in cases])


SPECS.update({
    "fft.fftn": _by_shape({
        (5,): (cr.fft.fft, np.fft.fft),  # odd n
        (2, 6): (lambda x: cr.fft.fft(x, n=8, norm="ortho"),  # pads, along the last axis
                 lambda x: np.fft.fft(x, n=8, norm="ortho")),
        (4, 3): (lambda x: cnp.fft.fft(x, n=3, axis=0),  # cuts, along the first axis
                 lambda x: np.fft.fft(x, n=3, axis=0)),
        (2, 3, 4): (lambda x: cr.fft.fftn(x, s=(1, 5), dim=(0, 2), norm="forward"),
                    lambda x: np.fft.fftn(x, s=(1, 5), axes=(0, 2), norm="forward")),
        (3, 2, 2): (cnp.fft.fft2, np.fft.fft2),
        (2, 4): (lambda x: cnp.fft.fftn(x, s=(3, 5), axes=(1, 1)),  # an axis twice (NumPy's)
                 lambda x: np.fft.fftn(x, s=(3, 5), axes=(1, 1))),
    }),
    "fft.ifftn": _by_shape({
        (6,): (cr.fft.ifft, np.fft.ifft),
        (2, 5): (lambda x: cr.fft.ifft(x, n=4, norm="forward"),
                 lambda x: np.fft.ifft(x, n=4, norm="forward")),
        (3, 4): (lambda x: cnp.fft.ifft2(x, s=(4, 6), norm="ortho"),
                 lambda x: np.fft.ifft2(x, s=(4, 6), norm="ortho")),
        (2, 3, 2): (lambda x: cr.fft.ifftn(x, dim=(1, 0)), lambda x: np.fft.ifftn(x, axes=(1, 0))),
    }),
    "fft.rfftn": _by_shape({
        (6,): (cr.fft.rfft, np.fft.rfft),  # even n: a Nyquist bin
        (2, 5): (lambda x: cr.fft.rfft(x, n=7, norm="ortho"),
                 lambda x: np.fft.rfft(x, n=7, norm="ortho")),
        (3, 6): (lambda x: cnp.fft.rfft(x, n=4, axis=0, norm="forward"),
                 lambda x: np.fft.rfft(x, n=4, axis=0, norm="forward")),
        (2, 3, 4): (lambda x: cr.fft.rfftn(x, s=(3, 5), dim=(0, 2)),
                    lambda x: np.fft.rfftn(x, s=(3, 5), axes=(0, 2))),
        (4, 4): (cnp.fft.ihfft, np.fft.ihfft),
        (3, 5): (lambda x: cr.fft.ihfft2(x, s=(2, 6)),
                 lambda x: np.conj(np.fft.rfft2(x, s=(2, 6), norm="forward"))),
    }),
    "fft.irfftn": _by_shape({
        (4,): (cr.fft.irfft, np.fft.irfft),  # n = 6: the Nyquist bin counts once
        (2, 4): (lambda x: cr.fft.irfft(x, n=7, norm="ortho"),  # odd n: every bin twice
                 lambda x: np.fft.irfft(x, n=7, norm="ortho")),
        (3, 5): (lambda x: cnp.fft.irfft(x, n=4, axis=1, norm="forward"),  # 3 of 5 bins
                 lambda x: np.fft.irfft(x, n=4, axis=1, norm="forward")),
        (2, 3): (lambda x: cr.fft.irfft(x, n=9, dim=0),  # 5 bins from 2: padded
                 lambda x: np.fft.irfft(x, n=9, axis=0)),
        (3, 4, 3): (lambda x: cr.fft.irfftn(x, s=(2, 4), dim=(0, 2)),
                    lambda x: np.fft.irfftn(x, s=(2, 4), axes=(0, 2))),
        (3, 4): (cnp.fft.irfft2, np.fft.irfft2),
        (3, 3): (cnp.fft.hfft, np.fft.hfft),
        (2, 2, 3): (lambda x: cr.fft.hfftn(x, norm="ortho"),
                    lambda x: np.fft.irfftn(np.conj(x), norm="ortho")),
    }),
})
COMPLEX |= {"fft.fftn", "fft.ifftn", "fft.irfftn"}
REAL_ONLY["fft.rfftn"] = "NumPy's rfft refuses complex input (TypeError), PyTorch's too"


# --------------------------------------------------------------------------------------------
# NumPy's elementwise functions with rules of their own (rules/elementwise_numpy.py), through
# chainrule.numpy; i1, i0's derivative, against its integral (1/2pi) int e^(x cos t) cos t dt
# over a period, where the trapezoidal rule converges geometrically (64 points: exact to
# rounding for |x| < 10)

EXPONENTS = np.array([[1, -2, 3], [0, 5, -1]])  # ldexp's, broadcast against x


def _i1_by_quadrature(x):
    t = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
    return np.mean(np.exp(np.multiply.outer(x, np.cos(t))) * np.cos(t), axis=-1)


SPECS.update({
    "cbrt": _unary(cnp.cbrt, np.cbrt, away_from_zero),
    "fmod": Spec(cnp.fmod, np.fmod, BINARY, (real, away_from_zero)),
    "ldexp": _unary(lambda x: cnp.ldexp(x, EXPONENTS), lambda x: np.ldexp(x, EXPONENTS)),
    # (float_power computes in float64 or complex128: cast back, to check float32 gradients)
    "float_power": Spec(lambda x, y: cnp.float_power(x, y).to(x.dtype), np.float_power, BINARY,
                        (positive, real)),
    "i0": _unary(cnp.i0, np.i0),
    "i1": _unary(R.i1, _i1_by_quadrature),
})
REAL_ONLY.update({name: _NOT_IN_NUMPY for name in ("cbrt", "fmod", "ldexp", "i0")})
REAL_ONLY["i1"] = "the derivative of i0, which NumPy defines for real numbers only"
COMPLEX.add("float_power")


# --------------------------------------------------------------------------------------------
# the core error functions (rules/elementwise_numpy.py, no SciPy): values against the C
# library's, through Python's math module (tests/rules/test_error_function.py checks them to
# a few eps on a dense grid); samples spread over the three intervals of Cody's approximations


def _spread(rng, shape):
    return rng.uniform(0.1, 5.0, shape) * rng.choice([-1.0, 1.0], shape)


SPECS.update({
    "erf": _unary(cr.erf, np.vectorize(math.erf, otypes=[float]), _spread),
    "erfc": _unary(lambda x: x.erfc(), np.vectorize(math.erfc, otypes=[float]), _spread),
})
REAL_ONLY.update({name: "the error function of complex numbers is not in PyTorch or NumPy"
                  for name in ("erf", "erfc")})


# Convolution (rules/convolution.py), through nn.functional's conv1d/2d/3d and
# conv_transpose1d/2d (conv_weight, the weight gradient, directly), each call chosen by its
# inputs' shapes.  The NumPy oracles follow the definitions term by term, one kernel offset
# (and one output channel) at a time, where the primitives multiply im2col matrices.


def _np_conv(x, w, stride, padding, dilation, groups):
    """conv(x, w)[n, o, l] = sum_{c, k} xp[n, c, l s + k d] w[o, c, k], c in o's group."""
    dims = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    kernel = w.shape[2:]
    out = tuple((n - d * (k - 1) - 1) // s + 1
                for n, k, s, d in zip(xp.shape[2:], kernel, stride, dilation))
    y = np.zeros((x.shape[0], w.shape[0]) + out, np.result_type(x, w))
    per_out, per_in = w.shape[0] // groups, w.shape[1]
    for o in range(w.shape[0]):
        group = xp[:, o // per_out * per_in:(o // per_out + 1) * per_in]
        for k in np.ndindex(*kernel):
            at = tuple(slice(i * d, i * d + (m - 1) * s + 1, s)
                       for i, d, m, s in zip(k, dilation, out, stride))
            y[:, o] += np.tensordot(group[(slice(None), slice(None)) + at],
                                    w[(o, slice(None)) + k], axes=([1], [0]))
    assert y.ndim == dims + 2
    return y


def _np_conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    """Each input entry x[n, i, l] adds x[n, i, l] w[i, j, k] at l s + k d of output channel j
    of i's group; then p is cropped from each side (output_padding zeros were added after)."""
    kernel, size = w.shape[2:], x.shape[2:]
    full = tuple((m - 1) * s + d * (k - 1) + 1 + e
                 for m, s, d, k, e in zip(size, stride, dilation, kernel, output_padding))
    per_in, per_out = x.shape[1] // groups, w.shape[1]
    y = np.zeros((x.shape[0], per_out * groups) + full, np.result_type(x, w))
    for i in range(x.shape[1]):
        group = slice(i // per_in * per_out, (i // per_in + 1) * per_out)
        for k in np.ndindex(*kernel):
            at = tuple(slice(j * d, j * d + (m - 1) * s + 1, s)
                       for j, d, m, s in zip(k, dilation, size, stride))
            tap = w[(i, slice(None)) + k].reshape((1, -1) + (1,) * len(size))
            y[(slice(None), group) + at] += x[:, i:i + 1] * tap
    return y[(slice(None), slice(None)) + tuple(slice(p, n - p) for p, n in zip(padding, full))]


def _np_conv_weight(x, g, stride, padding, dilation, groups):
    """dw[o, c, k] = sum_{n, l} g[n, o, l] xp[n, c, l s + k d], c in o's group (padding:
    (lo, hi) pairs)."""
    xp = np.pad(x, [(0, 0), (0, 0)] + list(padding))
    out = g.shape[2:]
    kernel = tuple((n - (m - 1) * s - 1) // d + 1
                   for n, m, s, d in zip(xp.shape[2:], out, stride, dilation))
    per_out, per_in = g.shape[1] // groups, x.shape[1] // groups
    dw = np.zeros((g.shape[1], per_in) + kernel, np.result_type(x, g))
    for o in range(g.shape[1]):
        group = xp[:, o // per_out * per_in:(o // per_out + 1) * per_in]
        for k in np.ndindex(*kernel):
            at = tuple(slice(i * d, i * d + (m - 1) * s + 1, s)
                       for i, d, m, s in zip(k, dilation, out, stride))
            window = group[(slice(None), slice(None)) + at]
            # summed over the batch and the positions: window (n, c, *l), g[:, o] (n, *l)
            dw[(o, slice(None)) + k] = np.tensordot(
                window, g[:, o], axes=([0, *range(2, window.ndim)], list(range(g.ndim - 1))))
    return dw


def _by_shapes(cases: dict) -> Spec:
    """A two-input spec whose variants are the calls of ``cases``: input shapes ->
    (chainrule's call, NumPy's)."""
    return Spec(lambda x, y: cases[(tuple(x.shape), tuple(y.shape))][0](x, y),
                lambda x, y: cases[(x.shape, y.shape)][1](x, y), list(cases))


def _conv_case(function, dims, stride=1, padding=0, dilation=1, groups=1):
    """(F.conv<dims>d with these arguments, its NumPy oracle); ``padding='same'`` is
    resolved for the oracle here, its odd zero after (PyTorch's)."""
    def ref(x, w):
        unbatched = x.ndim == dims + 1
        xb = x[None] if unbatched else x
        s, d = (_each(stride, dims), _each(dilation, dims))
        if padding == "same":
            totals = [di * (k - 1) for di, k in zip(d, w.shape[2:])]
            xb = np.pad(xb, [(0, 0), (0, 0)] + [(t // 2, t - t // 2) for t in totals])
            pads = (0,) * dims
        else:
            pads = _each(padding, dims)
        y = _np_conv(xb, w, s, pads, d, groups)
        return y[0] if unbatched else y
    return (lambda x, w: function(x, w, None, stride, padding, dilation, groups), ref)


def _each(value, dims):
    return (value,) * dims if isinstance(value, int) else tuple(value)


def _conv_transpose_case(function, dims, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    return (lambda x, w: function(x, w, None, stride, padding, output_padding, groups, dilation),
            lambda x, w: _np_conv_transpose(x, w, _each(stride, dims), _each(padding, dims),
                                            _each(output_padding, dims),
                                            _each(dilation, dims), groups))


def _conv_weight_case(**params):
    return (lambda x, g: R.conv_weight(x, g, **params),
            lambda x, g: _np_conv_weight(x, g, **params))


SPECS.update({
    "nn.functional.conv": _by_shapes({
        ((2, 3, 7), (4, 3, 3)): _conv_case(F.conv1d, 1, stride=2, padding=1),
        ((1, 4, 8), (2, 2, 3)): _conv_case(F.conv1d, 1, padding="same", dilation=2, groups=2),
        ((2, 2, 5, 4), (3, 2, 3, 2)): _conv_case(F.conv2d, 2, stride=(2, 1), padding=(1, 0)),
        ((1, 4, 5, 5), (4, 2, 2, 2)): _conv_case(F.conv2d, 2, stride=2, padding=1, dilation=2,
                                                 groups=2),
        ((2, 4, 4), (2, 2, 2, 3)): _conv_case(F.conv2d, 2, padding="same"),  # unbatched
        ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2)): _conv_case(F.conv3d, 3, stride=(1, 2, 1),
                                                       padding=1),
        # stride 1 in every dim: the wide-grid route, 3-d, dilated, grouped
        ((2, 2, 4, 3, 4), (2, 1, 2, 2, 3)): _conv_case(F.conv3d, 3, padding=(1, 0, 1),
                                                       dilation=(1, 1, 2), groups=2),
    }),
    "nn.functional.conv_transpose": _by_shapes({
        ((2, 3, 4), (3, 2, 3)): _conv_transpose_case(F.conv_transpose1d, 1, stride=2,
                                                     padding=1, output_padding=1),
        ((1, 4, 3, 3), (4, 1, 2, 3)): _conv_transpose_case(F.conv_transpose2d, 2, stride=(2, 1),
                                                           groups=2, dilation=(1, 2)),
        ((2, 2, 3, 2), (2, 3, 3, 3)): _conv_transpose_case(F.conv_transpose2d, 2, stride=3,
                                                           padding=1, output_padding=(2, 0)),
        # stride 1: the wide-grid route (padding crops the result), grouped and dilated
        ((2, 4, 3, 4), (4, 1, 3, 2)): _conv_transpose_case(F.conv_transpose2d, 2,
                                                           padding=(1, 0), groups=2,
                                                           dilation=(2, 1)),
    }),
    "nn.grad.conv_weight": _by_shapes({
        ((2, 4, 5, 6), (2, 6, 3, 2)): _conv_weight_case(
            stride=(2, 2), padding=((1, 0), (1, 0)), dilation=(1, 2), groups=2),
        ((2, 3, 6), (2, 2, 4)): _conv_weight_case(stride=(1,), padding=((1, 1),), dilation=(1,),
                                                  groups=1),
        ((2, 4, 5, 6), (2, 2, 4, 3)): _conv_weight_case(
            stride=(1, 1), padding=((1, 0), (0, 1)), dilation=(1, 2), groups=2),
    }),
})
COMPLEX |= {"nn.functional.conv", "nn.functional.conv_transpose", "nn.grad.conv_weight"}


# Pooling (rules/pooling.py), through nn.functional's max_pool1d/2d and avg_pool1d/2d, and the
# rules' routing, gathering and transposed averaging called directly; each primitive by several
# geometries, chosen by the input's shape: tiles, overlapping windows, padding, dilation,
# ceil_mode, count_include_pad=False, divisor_override, 1-d and 2-d, with and without a batch
# dim.  The oracle is a plain loop over windows (_window_loop).  Random inputs have no ties.


def _window_loop(x, kernel, stride, padding, dilation, ceil_mode, visit):
    """Calls visit(out_index, taps) for each window of a pooling of x's trailing dims, taps
    the (tap number, input index) pairs inside the input; returns the output's shape."""
    n = len(kernel)
    sizes, lead = x.shape[-n:], x.shape[:-n]
    outs = []
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        reach = d * (k - 1) + 1
        count = -(-(size + 2 * p - reach) // s) if ceil_mode else (size + 2 * p - reach) // s
        if ceil_mode and count * s >= size + p:  # the last window starts in the right padding
            count -= 1
        outs.append(count + 1)
    for o in np.ndindex(*outs):
        taps = []
        for number, j in enumerate(np.ndindex(*kernel)):
            at = [o[t] * stride[t] - padding[t] + j[t] * dilation[t] for t in range(n)]
            if all(0 <= a < size for a, size in zip(at, sizes)):
                taps.append((number, tuple(at)))
        visit(o, taps)
    return lead + tuple(outs)


def _np_max_pool(x, kernel, stride, padding=None, dilation=None, ceil_mode=False):
    n = len(kernel)
    padding, dilation = padding or (0,) * n, dilation or (1,) * n
    found = {}
    shape = _window_loop(x, kernel, stride, padding, dilation, ceil_mode,
                         lambda o, taps: found.setdefault(o, taps))
    out = np.empty(shape)
    for o, taps in found.items():
        out[(Ellipsis, *o)] = np.max([x[(Ellipsis, *at)] for _, at in taps], axis=0)
    return out


def _np_avg_pool(x, kernel, stride, padding=None, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
    n = len(kernel)
    padding = padding or (0,) * n
    found = {}
    shape = _window_loop(x, kernel, stride, padding, (1,) * n, ceil_mode,
                         lambda o, taps: found.setdefault(o, taps))
    out = np.empty(shape)
    sizes = x.shape[-n:]
    for o, taps in found.items():
        # PyTorch's divisor: the window clipped to the padded input, or the inputs in it
        clipped = 1
        for t in range(n):
            start = o[t] * stride[t] - padding[t]
            clipped *= min(start + kernel[t], sizes[t] + padding[t]) - start
        divisor = (divisor_override or (clipped if count_include_pad else len(taps)))
        out[(Ellipsis, *o)] = sum(x[(Ellipsis, *at)] for _, at in taps) / divisor
    return out


def _np_avg_pool_transposed(g, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                            divisor_override):
    """The transpose of average pooling: each g_o / divisor_o added over window o."""
    n = len(kernel)
    sizes = x_shape[-n:]
    gx = np.zeros(x_shape)

    def visit(o, taps):
        clipped = 1
        for t in range(n):
            start = o[t] * stride[t] - padding[t]
            clipped *= min(start + kernel[t], sizes[t] + padding[t]) - start
        divisor = divisor_override or (clipped if count_include_pad else len(taps))
        for _, at in taps:
            gx[(Ellipsis, *at)] += g[(Ellipsis, *o)] / divisor

    _window_loop(np.zeros(x_shape), kernel, stride, padding, (1,) * n, ceil_mode, visit)
    return gx


def _np_route(g, where, x_shape, kernel, stride, padding, dilation, ceil_mode):
    """g_o sent to the tap where_o of window o (per leading index), summed over windows."""
    gx = np.zeros(x_shape)
    lead = x_shape[:-len(kernel)]

    def visit(o, taps):
        for number, at in taps:
            for i in np.ndindex(*lead):
                if where[i + o] == number:
                    gx[i + at] += g[i + o]

    _window_loop(gx, kernel, stride, padding, dilation, ceil_mode, visit)
    return gx


def _np_gather(x, where, x_shape, kernel, stride, padding, dilation, ceil_mode):
    out = np.zeros(where.shape)
    lead = x_shape[:-len(kernel)]

    def visit(o, taps):
        for number, at in taps:
            for i in np.ndindex(*lead):
                if where[i + o] == number:
                    out[i + o] = x[i + at]

    _window_loop(x, kernel, stride, padding, dilation, ceil_mode, visit)
    return out


# input shape -> max pooling's geometry (kernel, stride, padding, dilation, ceil_mode)
MAX_POOLS = {
    (2, 3, 6, 6): ((2, 2), (2, 2), (0, 0), (1, 1), False),  # tiles
    (2, 7, 7): ((3, 3), (2, 2), (1, 1), (1, 1), False),  # overlapping, padded, no batch
    (1, 2, 7, 8): ((3, 2), (2, 3), (1, 1), (2, 1), True),  # dilated, ceil_mode
    (2, 3, 9): ((3,), (2,), (1,), (2,), True),  # 1-d
}
# input shape -> average pooling's geometry (kernel, stride, padding, ceil_mode,
# count_include_pad, divisor_override)
AVG_POOLS = {
    (2, 3, 6, 6): ((2, 2), (2, 2), (0, 0), False, True, None),
    (2, 7, 7): ((3, 3), (2, 2), (1, 1), True, False, None),
    (1, 2, 7, 8): ((3, 2), (2, 1), (1, 1), True, True, None),
    (1, 2, 5, 6): ((2, 3), (1, 2), (1, 1), False, True, 5),
    (2, 3, 9): ((3,), (2,), (1,), True, True, None),
}


def _max_pool_call(x):
    kernel, stride, padding, dilation, ceil_mode = MAX_POOLS[tuple(x.shape)]
    pool = F.max_pool1d if len(kernel) == 1 else F.max_pool2d
    return pool(x, kernel, stride, padding, dilation, ceil_mode)


def _avg_pool_call(x):
    kernel, stride, padding, ceil_mode, count_include_pad, divisor = AVG_POOLS[tuple(x.shape)]
    if len(kernel) == 1:
        return F.avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor)


def _max_geometry(x_shape):
    kernel, stride, padding, dilation, ceil_mode = MAX_POOLS[x_shape]
    return dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=ceil_mode)


def _avg_geometry(x_shape):
    kernel, stride, padding, ceil_mode, count_include_pad, divisor = AVG_POOLS[x_shape]
    return dict(kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, divisor_override=divisor)


def _pooled_shape(x_shape, geometry):
    return _window_loop(np.zeros(x_shape), geometry["kernel"], geometry["stride"],
                        geometry["padding"], geometry.get("dilation", (1,) * len(x_shape)),
                        geometry["ceil_mode"], lambda o, taps: None)


# output shape -> (input shape, fixed taps): the routing and the gathering by given taps
_TAP_RNG = np.random.default_rng(15)
ROUTES = {}
for _x_shape in MAX_POOLS:
    _out_shape = _pooled_shape(_x_shape, _max_geometry(_x_shape))
    _taps = _TAP_RNG.integers(0, int(np.prod(MAX_POOLS[_x_shape][0])), _out_shape)
    ROUTES[_out_shape] = (_x_shape, _taps.astype(np.int8))
GATHERS = {x_shape: taps for x_shape, taps in ROUTES.values()}
# output shape -> input shape, for the transposed average pooling
AVG_OUTPUTS = {_pooled_shape(x_shape, _avg_geometry(x_shape)): x_shape for x_shape in AVG_POOLS}


def _route_call(g):
    x_shape, where = ROUTES[tuple(g.shape)]
    return R.max_pool_backward(g, where, x_shape=x_shape, **_max_geometry(x_shape))


def _gather_call(x):
    where = GATHERS[tuple(x.shape)]
    return R.max_pool_gather(x, where, x_shape=tuple(x.shape),
                             **_max_geometry(tuple(x.shape)))


def _avg_transposed_call(g):
    x_shape = AVG_OUTPUTS[tuple(g.shape)]
    return R.avg_pool_backward(g, x_shape=x_shape, **_avg_geometry(x_shape))


SPECS.update({
    "nn.functional.max_pool": Spec(_max_pool_call, lambda x: _np_max_pool(x, *MAX_POOLS[x.shape]),
                                   [(s,) for s in MAX_POOLS]),
    "nn.functional.avg_pool": Spec(_avg_pool_call, lambda x: _np_avg_pool(x, *AVG_POOLS[x.shape]),
                                   [(s,) for s in AVG_POOLS]),
    "avg_pool_backward": Spec(_avg_transposed_call,
                              lambda g: _np_avg_pool_transposed(
                                  g, AVG_OUTPUTS[g.shape], **_avg_geometry(AVG_OUTPUTS[g.shape])),
                              [(s,) for s in AVG_OUTPUTS]),
    "max_pool_backward": Spec(_route_call,
                              lambda g: _np_route(g, ROUTES[g.shape][1], ROUTES[g.shape][0],
                                                  **_max_geometry(ROUTES[g.shape][0])),
                              [(s,) for s in ROUTES]),
    "max_pool_gather": Spec(_gather_call,
                            lambda x: _np_gather(x, GATHERS[x.shape], x.shape,
                                                 **_max_geometry(x.shape)),
                            [(s,) for s in GATHERS]),
})
REAL_ONLY.update({name: "pooling takes real numbers, as PyTorch's" for name in (
    "nn.functional.max_pool", "nn.functional.avg_pool", "avg_pool_backward",
    "max_pool_backward", "max_pool_gather")})


# --------------------------------------------------------------------------------------------
# dropout: the one-primitive map with a bool mask (nn.functional.dropout); the mask is fixed
# per shape here (the function must be deterministic for finite differences)


def _kept(shape):
    return np.asarray(np.arange(int(np.prod(shape))).reshape(shape) % 3 != 1)


def _dropout_call(x):
    return R.dropout(x, _kept(tuple(x.shape)), scale=np.dtype(x.dtype).type(1.25))


SPECS.update({
    "nn.functional.dropout": _unary(_dropout_call,
                                    lambda x: np.where(_kept(x.shape), x * 1.25, x * 0)),
})
COMPLEX.add("nn.functional.dropout")


# The recurrent layers' fused steps (rules/recurrent.py): an LSTM step as lstm_gates,
# lstm_cell and lstm_hidden, and whole LSTM and GRU layers as lstm_scan and gru_scan (their
# reverse direction by the shape of the input, as the cases below say).


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_blocks(a):
    return np.split(a, 4, axis=-1)


def _np_lstm_gates(x):
    i, f, g, o = _np_blocks(x)
    return np.concatenate([_np_sigmoid(i), _np_sigmoid(f), np.tanh(g), _np_sigmoid(o)], -1)


def _np_lstm_scan(xp, w, b, h0, c0, reverse):
    """The LSTM recurrence written out: y[t] = h_t, y[L] = the last cell state, from the
    gate-major inputs xp (4, L, N, H), w = W_hh as (4, H, H), b (4, H)."""
    h, c, hs = h0, c0, [None] * xp.shape[1]
    for t in (reversed(range(xp.shape[1])) if reverse else range(xp.shape[1])):
        i, f, g, o = (_np_sigmoid(xp[k, t] + b[k] + h @ w[k].T) if k != 2
                      else np.tanh(xp[k, t] + b[k] + h @ w[k].T) for k in range(4))
        c = f * c + i * g
        h = hs[t] = o * np.tanh(c)
    return np.stack([*hs, c])


def _np_gru_scan(xp, w, b_ih, b_hh, h0, reverse):
    """The GRU recurrence written out: y[t] = h_t."""
    h, hs = h0, [None] * len(xp)
    for t in (reversed(range(len(xp))) if reverse else range(len(xp))):
        u, v = np.split(xp[t] + b_ih, 3, axis=-1), np.split(h @ w + b_hh, 3, axis=-1)
        r, z = _np_sigmoid(u[0] + v[0]), _np_sigmoid(u[1] + v[1])
        n = np.tanh(u[2] + r * v[2])
        h = hs[t] = (1 - z) * n + z * h
    return np.stack(hs)


# xp's shape -> whether the steps run backwards; the LSTM's xp is gate-major (4, L, N, H):
# (4, 2, 1, 3) is one sample, hidden size 3; the GRU's (2, 1, 12) hidden size 4
LSTM_SCANS = {(4, 3, 2, 2): False, (4, 2, 1, 3): True}
GRU_SCANS = {(3, 2, 9): False, (2, 1, 12): True}
LSTM_STEP_SHAPES = [((2, 8), (2, 2)), ((2, 8), (2,)), ((3, 4), (2, 3, 1))]

SPECS.update({
    "lstm_gates": Spec(R.lstm_gates, _np_lstm_gates, [((2, 8),), ((4,),), ((2, 3, 12),)]),
    "lstm_cell": Spec(R.lstm_cell, lambda a, c: _np_blocks(a)[1] * c
                      + _np_blocks(a)[0] * _np_blocks(a)[2], LSTM_STEP_SHAPES),
    "lstm_hidden": Spec(R.lstm_hidden, lambda a, c: _np_blocks(a)[3] * np.tanh(c),
                        LSTM_STEP_SHAPES),
    "lstm_scan": Spec(
        lambda xp, w, b, h0, c0: R.lstm_scan(xp, w, b, h0, c0,
                                             reverse=LSTM_SCANS[tuple(xp.shape)]),
        lambda xp, w, b, h0, c0: _np_lstm_scan(xp, w, b, h0, c0, LSTM_SCANS[xp.shape]),
        [((4, 3, 2, 2), (4, 2, 2), (4, 2), (2, 2), (2, 2)),
         ((4, 2, 1, 3), (4, 3, 3), (4, 3), (1, 3), (1, 3))],
        (real, small, small, real, real)),
    "gru_scan": Spec(
        lambda xp, w, b_ih, b_hh, h0: R.gru_scan(xp, w, b_ih, b_hh, h0,
                                                 reverse=GRU_SCANS[tuple(xp.shape)]),
        lambda xp, w, b_ih, b_hh, h0: _np_gru_scan(xp, w, b_ih, b_hh, h0,
                                                   GRU_SCANS[xp.shape]),
        [((3, 2, 9), (3, 9), (9,), (9,), (2, 3)),
         ((2, 1, 12), (4, 12), (12,), (12,), (1, 4))],
        (real, small, small, small, real)),
})
REAL_ONLY.update({name: "the recurrent layers take real numbers, as PyTorch's" for name in (
    "lstm_gates", "lstm_cell", "lstm_hidden", "lstm_scan", "gru_scan")})


# --------------------------------------------------------------------------------------------
# standardize (rules/reductions.py), the core of the normalisation layers: through layer_norm
# (the last axis) and, for a 3-d input, batch_norm in training (axes 0 and 2, not adjacent)


def _standardized(x):
    if x.ndim == 3:
        return F.batch_norm(x, None, None, training=True)
    return F.layer_norm(x, x.shape[-1:])


def _np_standardized(x):
    axes = (0, 2) if x.ndim == 3 else (x.ndim - 1,)
    centred = x - x.mean(axis=axes, keepdims=True)
    return centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + 1e-5)


SPECS.update({
    "standardize": Spec(_standardized, _np_standardized, [((2, 3),), ((4,),), ((2, 3, 2),)]),
})
REAL_ONLY["standardize"] = "the normalisation layers take real numbers, as PyTorch's"
