"""Reductions (with ``dim``/``axis``, ``keepdim``/``keepdims``), products (dot, matmul,
tensordot, einsum), broadcasting binary operations, sorting, and 0-d tensors along a dim.
NumPy is the oracle, and PyTorch's semantics (torch 2.13.0) the specification where the two
differ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.testing import check_grads
from tests.tensor.helpers import FAST, _a, _close, _same

# ============================================================================================
# reductions

REDUCTIONS = {
    "sum": (lambda t, **k: t.sum(**k), lambda a, **k: np.sum(a, **k)),
    "mean": (lambda t, **k: cr.mean(t, **k), lambda a, **k: np.mean(a, **k)),
    "amax": (lambda t, **k: t.amax(**k), lambda a, **k: np.amax(a, **k)),
    "prod": (lambda t, **k: cr.prod(t, **k), lambda a, **k: np.prod(a, **k)),
    "logsumexp": (lambda t, **k: t.logsumexp(**k),
                  lambda a, **k: np.log(np.sum(np.exp(a), **k))),
    "var": (lambda t, **k: t.var(**k), lambda a, **k: np.var(a, ddof=1, **k)),
    "std": (lambda t, **k: cr.std(t, **k), lambda a, **k: np.std(a, ddof=1, **k)),
}
DIMS = [0, 1, -1, -3, (0, 2), (-1, 0)]


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", DIMS, ids=[str(d) for d in DIMS])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_dim_axis_keepdim_keepdims(name, dim, keep):
    ours, numpy_reduction = REDUCTIONS[name]
    a = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3, 4))
    expected = numpy_reduction(a, axis=dim, keepdims=keep)
    t = cr.tensor(a)
    for kwargs in ({"dim": dim, "keepdim": keep}, {"axis": dim, "keepdims": keep},
                   {"dim": dim, "keepdims": keep}, {"axis": dim, "keepdim": keep}):
        out = ours(t, **kwargs)
        assert out.dtype == np.float64
        _close(out, expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_over_everything(name):
    ours, numpy_reduction = REDUCTIONS[name]
    a = np.random.default_rng(1).uniform(0.5, 1.5, (3, 4)).astype(np.float32)
    out = ours(cr.tensor(a))
    assert out.shape == () and out.dtype == np.float32
    _close(out, numpy_reduction(a.astype(np.float64)), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", [3, -4, (0, 5)])
def test_reductions_reject_out_of_range_dims(name, dim):
    ours, _ = REDUCTIONS[name]
    with pytest.raises(IndexError, match="Dimension out of range"):
        ours(cr.zeros(2, 3, 4), dim=dim)




@pytest.mark.parametrize("function", [
    pytest.param(cr.argmax, id="argmax"),
    pytest.param(cr.argmin, id="argmin"),
    pytest.param(cr.all, id="all"),
    pytest.param(cr.any, id="any"),
    pytest.param(cr.softmax, id="softmax"),
    pytest.param(lambda t, dim: cr.max(t, dim), id="max"),
    pytest.param(cr.squeeze, id="squeeze"),
    pytest.param(lambda t, dim: cr.flip(t, (dim,)), id="flip"),
    pytest.param(lambda t, dim: cr.norm(t, dim=dim), id="norm"),
    pytest.param(lambda t, dim: cr.cat([t, t], dim), id="cat"),
    pytest.param(lambda t, dim: t.transpose(0, dim), id="transpose"),
])
def test_other_functions_reject_out_of_range_dims(function):
    with pytest.raises(IndexError, match="Dimension out of range"):
        function(cr.ones(2, 3), dim=2)


@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
       name=st.sampled_from(["sum", "mean", "amax", "prod", "logsumexp"]), data=st.data())
def test_random_reductions(shape, name, data):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda d: d % ndim), label="dims")
    dim = dims[0] if len(dims) == 1 and data.draw(st.booleans(), label="int") else tuple(dims)
    keep = data.draw(st.booleans(), label="keep")
    ours, numpy_reduction = REDUCTIONS[name]
    a = np.random.default_rng(len(shape)).uniform(0.5, 1.5, shape)
    axis = tuple(d % ndim for d in dims)
    _close(ours(cr.tensor(a), dim=dim, keepdim=keep),
           numpy_reduction(a, axis=axis, keepdims=keep), rtol=1e-12)




@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_of_a_0d_tensor_accept_dim_0_and_minus_1(name, dim):
    ours, _ = REDUCTIONS[name]
    out = ours(cr.tensor(2.0), dim=dim) if name not in ("var", "std") else ours(
        cr.tensor(2.0), dim=dim, correction=0)
    _same(out, np.array(0.0 if name in ("var", "std") else 2.0, np.float32))


@pytest.mark.parametrize("function", [
    lambda t: t.flip(0), lambda t: t.transpose(0, -1), lambda t: t.norm(dim=0),
], ids=["flip", "transpose", "norm"])
def test_other_functions_of_a_0d_tensor_accept_dim_0(function):
    _same(function(cr.tensor(2.0)), np.array(2.0, np.float32))


def test_logsumexp_does_not_overflow():
    _close(cr.logsumexp(cr.tensor([1000.0, 1000.0]), 0), np.float32(1000 + np.log(2)))
    _close(cr.tensor([[-1000.0, -1000.0]]).logsumexp(1), np.array([-1000 + np.log(2)], np.float32))
    _same(cr.logsumexp(cr.tensor([-np.inf, -np.inf]), 0), np.array(-np.inf, np.float32))


def test_norm_gradient_at_zero_is_zero():
    x = cr.zeros(3, requires_grad=True)
    x.norm().backward()
    _same(x.grad, np.zeros(3, np.float32))


def test_var_correction():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]])
    t = cr.tensor(a)
    _close(t.var(), np.var(a, ddof=1), rtol=1e-12)
    _close(t.var(correction=0), np.var(a), rtol=1e-12)
    _close(t.var(1, correction=0), np.var(a, axis=1), rtol=1e-12)
    _close(t.std(0), np.std(a, axis=0, ddof=1), rtol=1e-12)
    _close(t.std(dim=1, correction=0, keepdim=True), np.std(a, axis=1, keepdims=True),
           rtol=1e-12)
    _close(t.var(unbiased=False), np.var(a), rtol=1e-12)
    _close(cr.var(t, 1, correction=2), np.var(a, axis=1, ddof=2), rtol=1e-12)


def test_var_of_one_element_is_nan():
    # PyTorch: n - correction <= 0 gives nan (0 / 0) for a constant input
    with np.errstate(divide="ignore", invalid="ignore"):
        assert math.isnan(cr.tensor([2.0]).var().item())


def test_max_and_min_forms():
    a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    t = cr.tensor(a)
    _same(cr.max(t), np.array(6.0))
    _same(t.min(), np.array(1.0))
    _same(cr.max(t, cr.tensor([3.0, 3.0, 3.0], dtype=cr.float64)), np.maximum(a, 3.0))
    _same(cr.min(t, t.flip(0)), np.minimum(a, a[::-1]))
    _same(t.max(t * 0 + 2), np.maximum(a, 2.0))


def test_max_and_min_along_a_dim_return_values_and_indices():
    a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    t = cr.tensor(a)
    result = cr.max(t, 1)
    _same(result.values, np.array([5.0, 6.0]))
    _same(result.indices, np.array([1, 2]))
    values, indices = t.max(dim=0)
    _same(values, np.array([4.0, 5.0, 6.0]))
    _same(indices, np.array([1, 0, 1]))
    values, indices = t.min(-1, keepdim=True)
    _same(values, np.array([[1.0], [2.0]]))
    _same(indices, np.array([[0], [1]]))
    values, indices = cr.min(t, axis=0)
    _same(values, np.array([1.0, 2.0, 3.0]))
    _same(indices, np.array([0, 1, 0]))


def test_max_with_dim_gradient_goes_to_the_chosen_element():
    x = cr.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], requires_grad=True)
    values, indices = x.max(1)
    assert values.requires_grad and not indices.requires_grad
    values.sum().backward()
    _same(x.grad, np.array([[0, 1, 0], [0, 0, 1]], np.float32))


def test_norm():
    a = np.array([[3.0, -4.0], [1.0, -2.0]])
    t = cr.tensor(a)
    _close(t.norm(), np.linalg.norm(a), rtol=1e-12)
    _close(cr.norm(t, p=1), np.abs(a).sum(), rtol=1e-12)
    _close(t.norm(p=float("inf")), np.abs(a).max(), rtol=1e-12)
    _close(t.norm(dim=1), np.linalg.norm(a, axis=1), rtol=1e-12)
    _close(t.norm(p=1, dim=0), np.abs(a).sum(0), rtol=1e-12)
    _close(t.norm(3, dim=1, keepdim=True), (np.abs(a) ** 3).sum(1, keepdims=True) ** (1 / 3),
           rtol=1e-12)
    v = cr.tensor([3.0, -4.0])
    _same(cr.linalg.norm(v), np.array(5.0, np.float32))
    _same(cr.linalg.norm(v, ord=1), np.array(7.0, np.float32))
    _same(cr.linalg.norm(v, ord=float("inf")), np.array(4.0, np.float32))
    _close(cr.linalg.norm(t), np.linalg.norm(a), rtol=1e-12)
    _close(cr.linalg.norm(t, dim=0), np.linalg.norm(a, axis=0), rtol=1e-12)
    _close(cr.linalg.norm(t, ord=1, dim=1), np.abs(a).sum(1), rtol=1e-12)
    _close(cr.linalg.norm(t, dim=(0, 1)), np.linalg.norm(a), rtol=1e-12)


# ============================================================================================
# products


def _r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_dot_and_matmul():
    u, v = _r(4), _r(4, seed=1)
    _close(cr.dot(cr.tensor(u), cr.tensor(v)), np.dot(u, v), rtol=1e-12)
    assert cr.dot(cr.tensor(u), cr.tensor(v)).shape == ()
    with pytest.raises(RuntimeError):
        cr.dot(cr.tensor(_r(2, 2)), cr.tensor(_r(2, 2)))
    cases = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
             ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5)),
             ((2, 1, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,))]
    for sa, sb in cases:
        a, b = _r(*sa), _r(*sb, seed=1)
        expected = np.matmul(a, b)
        _close(cr.matmul(cr.tensor(a), cr.tensor(b)), expected, rtol=1e-12)
        _close(cr.tensor(a) @ cr.tensor(b), expected, rtol=1e-12)
        _close(cr.tensor(a).matmul(cr.tensor(b)), expected, rtol=1e-12)
        _close(a @ cr.tensor(b), expected, rtol=1e-12)  # ndarray @ Tensor is a Tensor
    with pytest.raises((RuntimeError, ValueError)):
        cr.tensor(_r(3, 4)) @ cr.tensor(_r(3, 4))


def test_mm_mv_outer():
    a, b, v = _r(3, 4), _r(4, 2, seed=1), _r(4, seed=2)
    _close(cr.mm(cr.tensor(a), cr.tensor(b)), a @ b, rtol=1e-12)
    _close(cr.tensor(a).mm(cr.tensor(b)), a @ b, rtol=1e-12)
    _close(cr.mv(cr.tensor(a), cr.tensor(v)), a @ v, rtol=1e-12)
    _close(cr.outer(cr.tensor(v), cr.tensor(a[0])), np.outer(v, a[0]), rtol=1e-12)
    _close(cr.tensor(v).outer(cr.tensor(v[:2])), np.outer(v, v[:2]), rtol=1e-12)
    with pytest.raises(RuntimeError):
        cr.mm(cr.tensor(v), cr.tensor(b))
    with pytest.raises(RuntimeError):
        cr.mv(cr.tensor(a), cr.tensor(b))


def test_bmm_multiplies_batches_of_matrices_without_broadcasting():
    a, b = _r(5, 3, 4), _r(5, 4, 2, seed=1)
    _close(cr.bmm(cr.tensor(a), cr.tensor(b)), np.einsum("bij,bjk->bik", a, b), rtol=1e-12)
    _close(cr.tensor(a).bmm(cr.tensor(b)), a @ b, rtol=1e-12)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    cr.bmm(x, y).sum().backward()  # d sum(A B) / dA = 1 B^T, / dB = A^T 1
    _close(x.grad, np.ones((5, 3, 2)) @ b.transpose(0, 2, 1), rtol=1e-12)
    _close(y.grad, a.transpose(0, 2, 1) @ np.ones((5, 3, 2)), rtol=1e-12)
    with pytest.raises(RuntimeError, match="bmm: both arguments must be 3-D, but got 2-D"):
        cr.bmm(cr.tensor(a[0]), cr.tensor(b[0]))
    with pytest.raises(RuntimeError, match="bmm: the batch sizes"):  # matmul would broadcast
        cr.bmm(cr.tensor(a), cr.tensor(b[:1]))


@pytest.mark.parametrize(
    "sa, sb, dims, axes",
    [
        ((3, 4, 5), (4, 5, 2), 2, 2),
        ((3, 4), (4, 2), 1, 1),
        ((3, 4), (5, 2), 0, 0),
        ((3, 4, 5), (5, 4, 2), ([1, 2], [1, 0]), ([1, 2], [1, 0])),
        ((3, 4, 5), (4, 2), ([1], [0]), ([1], [0])),
        ((3, 4, 5), (2, 3), ([0], [1]), ([0], [1])),
        ((4, 5), (5, 4), ([-1, 0], [0, -1]), ([-1, 0], [0, -1])),
    ],
)
def test_tensordot(sa, sb, dims, axes):
    a, b = _r(*sa), _r(*sb, seed=1)
    _close(cr.tensordot(cr.tensor(a), cr.tensor(b), dims=dims), np.tensordot(a, b, axes),
           rtol=1e-10)


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("...ij,...jk->...ik", [(5, 2, 3), (5, 3, 4)]),
        ("...ij,...jk->...ik", [(2, 3), (3, 4)]),
        ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),  # implicit output: the sorted free indices
        ("ba,ac", [(2, 3), (3, 4)]),
        ("ii", [(3, 3)]),
        ("ii->i", [(3, 3)]),
        ("ij->ji", [(2, 3)]),
        ("i,i->", [(4,), (4,)]),
        ("i,j->ij", [(2,), (3,)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ij->", [(2, 3)]),
        ("ijk,ikl,l->ij", [(2, 3, 4), (2, 4, 5), (5,)]),
    ],
)
def test_einsum(equation, shapes):
    arrays = [_r(*s, seed=i) for i, s in enumerate(shapes)]
    expected = np.einsum(equation, *arrays)
    _close(cr.einsum(equation, *[cr.tensor(a) for a in arrays]), expected, rtol=1e-10)
    _close(cr.einsum(equation, [cr.tensor(a) for a in arrays]), expected, rtol=1e-10)


@pytest.mark.parametrize("equation", ["ii", "ii->i"])
def test_einsum_gradient_with_a_repeated_index(equation):
    x = cr.tensor(_a(3, 3), requires_grad=True)
    cr.einsum(equation, x).sum().backward()
    _same(x.grad, np.eye(3))


def test_einsum_gradient_matches_matmul():
    a, b = _r(2, 3, 4), _r(2, 4, 5, seed=1)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    cr.einsum("...ij,...jk->...ik", x, y).sum().backward()
    _close(x.grad, np.ones((2, 3, 5)) @ np.swapaxes(b, -1, -2), rtol=1e-12)
    _close(y.grad, np.swapaxes(a, -1, -2) @ np.ones((2, 3, 5)), rtol=1e-12)


def test_einsum_gradient_with_a_broadcast_label():
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = cr.tensor(rng.standard_normal((1, 3)), requires_grad=True)
    cr.einsum("...i,...i->i", a, b).sum().backward()  # the forward works, as in PyTorch
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.detach().numpy(), (5, 3)))
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().sum(0, keepdims=True))


# ============================================================================================
# broadcasting binary operations (hypothesis)

BINARY = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "div": (lambda x, y: x / y, np.divide),
    "pow": (lambda x, y: x ** y, np.power),
    "maximum": (cr.maximum, np.maximum),
    "minimum": (cr.minimum, np.minimum),
}


@FAST
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 max_side=3),
       name=st.sampled_from(sorted(BINARY)), data=st.data())
def test_broadcasting_binary_operations(shapes, name, data):
    (sa, sb), result_shape = shapes.input_shapes, shapes.result_shape
    a = data.draw(hnp.arrays(np.float64, sa, elements=st.floats(0.5, 2.0)), label="a")
    b = data.draw(hnp.arrays(np.float64, sb, elements=st.floats(0.5, 2.0)), label="b")
    ours, numpy_op = BINARY[name]
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    z = ours(x, y)
    assert z.shape == result_shape
    _close(z.detach(), numpy_op(a, b), rtol=1e-12)
    assert z.requires_grad
    z.sum().backward()
    assert x.grad.shape == sa and y.grad.shape == sb
    assert x.grad.dtype == y.grad.dtype == np.float64
    if name == "mul":  # d(sum x*y)/dx is y, summed over the dimensions x was broadcast along
        _close(x.grad, _reduce_to(np.broadcast_to(b, result_shape), sa), rtol=1e-12)
        _close(y.grad, _reduce_to(np.broadcast_to(a, result_shape), sb), rtol=1e-12)
    if name == "add":
        _same(x.grad, np.full(sa, math.prod(result_shape) / max(math.prod(sa), 1)))


def _reduce_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back down to ``shape``."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


# ============================================================================================
# norms of array-likes, sorting, 0-d tensors along a dim


def test_linalg_norm_of_a_nested_list():
    """Like every public function, linalg.norm takes array-likes (it read .ndim first)."""
    values = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_allclose(cr.linalg.norm(values).item(), np.linalg.norm(values), rtol=1e-6)
    np.testing.assert_allclose(cr.linalg.norm(values, ord=1, dim=1).numpy(),
                               np.linalg.norm(values, ord=1, axis=1), rtol=1e-6)
    np.testing.assert_allclose(cr.linalg.norm(values, ord=1).item(),  # a matrix norm
                               np.linalg.norm(values, ord=1), rtol=1e-6)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_sends_each_gradient_to_the_index_it_returns(descending):
    """With ties, the values' gradient goes where the returned indices say (stable order)."""
    x = cr.tensor([[1.0, 1.0, 0.0, 2.0, 1.0], [3.0, 3.0, 3.0, -1.0, 0.0]], requires_grad=True)
    values, indices = x.sort(dim=1, descending=descending)
    weights = np.arange(1.0, 11.0).reshape(2, 5)
    (values * cr.tensor(weights)).sum().backward()
    expected = np.zeros((2, 5))
    np.put_along_axis(expected, indices.numpy(), weights, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    np.testing.assert_array_equal(values.detach().numpy(),
                                  np.take_along_axis(x.detach().numpy(), indices.numpy(), 1))
    # ties keep their original order (as torch.sort(stable=True))
    assert indices.numpy()[0].tolist() == ([2, 0, 1, 4, 3] if not descending else [3, 0, 1, 4, 2])


@pytest.mark.parametrize("descending", [False, True])
def test_argsort_is_sorts_stable_order_as_torch_argsort_stable(descending):
    rng = np.random.default_rng(7)
    values = rng.integers(0, 4, (3, 6)).astype(np.float32)  # (ties)
    x = cr.tensor(values)
    indices = cr.argsort(x, dim=1, descending=descending, stable=True)
    assert indices.dtype == cr.int64
    np.testing.assert_array_equal(indices.numpy(), x.argsort(1, descending).numpy())
    np.testing.assert_array_equal(indices.numpy(), x.sort(1, descending).indices.numpy())
    # stable: by value, then by position (a lexsort on the negated value when descending)
    keys = -values if descending else values
    expected = np.array([np.lexsort((np.arange(6), row)) for row in keys])
    np.testing.assert_array_equal(indices.numpy(), expected)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(
        indices.numpy(),
        torch.argsort(torch.from_numpy(values), dim=1, descending=descending,
                      stable=True).numpy())


def test_sort_descending_of_unsigned_integers():
    values, indices = cr.tensor(np.array([3, 0, 2], np.uint8)).sort(descending=True)
    assert values.numpy().tolist() == [3, 2, 0] and indices.numpy().tolist() == [0, 2, 1]


@pytest.mark.parametrize("call", [lambda x, d: x.cumsum(d), lambda x, d: x.cumprod(d),
                                  lambda x, d: x.sort(d).values, lambda x, d: x.softmax(d)])
def test_a_0d_tensor_takes_dim_0_or_minus_1_only(call):
    """As PyTorch: a 0-d tensor is one element along dim 0 (or -1); other dims are errors."""
    x = cr.tensor(2.0)
    for dim in (0, -1):
        assert call(x, dim).shape == ()
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-1, 0\], but got 5\)"):
        call(x, 5)


def test_softmax_log_softmax_and_max_of_a_0d_tensor_along_dim_0():
    x = cr.tensor(2.0, requires_grad=True)
    assert cr.softmax(x, 0).item() == 1.0
    assert cr.log_softmax(x, -1).item() == 0.0
    assert cr.max(x, 0).values.item() == 2.0


# --- matrix norms (issue 13, J) ---

MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norms_are_numpys(ord, keepdim):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    out = cr.linalg.matrix_norm(cr.tensor(a), ord, dim=(1, 2), keepdim=keepdim)
    np.testing.assert_allclose(out.numpy(), np.linalg.norm(a, ord, axis=(1, 2), keepdims=keepdim))
    np.testing.assert_allclose(cr.linalg.norm(cr.tensor(a[0]), ord).numpy(),
                               np.linalg.norm(a[0], ord))


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norm_gradients_match_finite_differences(ord):
    a = np.random.default_rng(4).standard_normal((3, 4))
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: cr.linalg.matrix_norm(t, ord), (x,))


def test_nuclear_norm_through_norm_and_numpy():
    a = np.array([[3.0, 0.0], [0.0, -4.0]])
    x = cr.tensor(a, requires_grad=True)
    x.norm(p="nuc").backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0], [0.0, -1.0]])  # U V^T
    import chainrule.numpy as cnp
    assert float(cnp.linalg.norm(cr.tensor(a), "nuc")) == 7.0


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_norms_of_singular_values_have_second_derivatives(ord):
    """(issue 14) 'nuc' had a first-order rule only; through svdvals all three have every
    order, in both modes, against differences."""
    a = np.array([[2.0, 0.5, -1.0], [0.3, -1.5, 0.8], [1.0, 1.0, 3.0]])
    check_grads(lambda t: cr.linalg.matrix_norm(t, ord), (a,), order=2)
    check_grads(lambda t: t.norm(p="nuc", dim=(0, 1)), (a[:2],), order=2)


def test_nuclear_norm_gradient_is_finite_at_repeated_singular_values():
    """The identity's singular values all repeat: the gradient U V^T is still the identity."""
    x = cr.tensor(np.eye(3), requires_grad=True)
    cr.linalg.matrix_norm(x, "nuc").backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-15)


@pytest.mark.parametrize(("call", "error", "phrase"), [
    (lambda: cr.linalg.matrix_norm(cr.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: cr.linalg.matrix_norm(cr.ones(2, 2), 3), RuntimeError,
     "Order 3 not supported; use 'fro', 'nuc', 2, -2"),
    (lambda: cr.linalg.matrix_norm(cr.ones(2, 2), dim=(0, 0)), RuntimeError, "different"),
])
def test_matrix_norm_errors(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


def test_matrix_norms_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).standard_normal((3, 3))
    for ord in MATRIX_ORDS:
        x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        cr.linalg.matrix_norm(x, ord).backward()
        torch.linalg.matrix_norm(t, ord).backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
