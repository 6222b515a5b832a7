"""Shape operations (reshape, view, transpose, cat, split, repeat...) and indexing (basic,
advanced, boolean masks, setitem). NumPy is the oracle, and PyTorch's semantics (torch 2.13.0)
the specification where the two differ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from tests.tensor.helpers import FAST, _a, _same

# ============================================================================================
# shape operations


def test_reshape_and_view():
    a = _a(2, 3, 4)
    t = cr.tensor(a)
    _same(t.reshape(6, 4), a.reshape(6, 4))
    _same(t.reshape((4, -1)), a.reshape(4, -1))
    _same(t.reshape([-1]), a.reshape(-1))
    _same(t.view(2, -1, 2), a.reshape(2, -1, 2))
    _same(t.view(-1), a.reshape(-1))
    _same(cr.reshape(t, (3, 8)), a.reshape(3, 8))
    _same(cr.tensor(5.0).reshape(1, 1), np.array([[5.0]], np.float32))
    with pytest.raises((RuntimeError, ValueError)):
        t.reshape(5, -1)


@st.composite
def _shape_and_reshape(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    n = math.prod(shape)
    new = []
    left = n
    while left > 1 and len(new) < 4:
        divisors = [d for d in range(1, left + 1) if left % d == 0]
        d = draw(st.sampled_from(divisors))
        new.append(d)
        left //= d
    new.append(left)
    new = draw(st.permutations(new))
    if draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return shape, tuple(new)


@FAST
@given(_shape_and_reshape())
def test_random_reshapes(shapes):
    shape, new = shapes
    a = _a(*shape, dtype=np.float32)
    x = cr.tensor(a, requires_grad=True)
    y = x.reshape(new)
    _same(y.detach(), a.reshape(new))
    _same(x.view(*new).detach(), a.reshape(new))
    (y * cr.tensor(a.reshape(new))).sum().backward()
    _same(x.grad, a)


def test_flatten():
    a = _a(2, 3, 4)
    t = cr.tensor(a)
    _same(t.flatten(), a.reshape(-1))
    _same(cr.flatten(t, 1), a.reshape(2, 12))
    _same(t.flatten(0, 1), a.reshape(6, 4))
    _same(t.flatten(start_dim=-2), a.reshape(2, 12))
    _same(cr.tensor(3.0).flatten(), np.array([3.0], np.float32))


def test_transpose_permute():
    a = _a(2, 3, 4)
    t = cr.tensor(a)
    _same(t.transpose(0, 2), a.transpose(2, 1, 0))
    _same(cr.transpose(t, -1, -2), np.swapaxes(a, -1, -2))
    _same(t.permute(2, 0, 1), a.transpose(2, 0, 1))
    _same(t.permute((1, 2, 0)), a.transpose(1, 2, 0))
    _same(cr.permute(t, (-1, 0, 1)), a.transpose(2, 0, 1))
    _same(cr.t(cr.tensor(_a(2, 3))), _a(2, 3).T)
    with pytest.raises(RuntimeError):
        t.permute(0, 0, 1)


def test_squeeze_unsqueeze():
    a = _a(1, 3, 1, 2)
    t = cr.tensor(a)
    _same(t.squeeze(), a.squeeze())
    _same(t.squeeze(0), a.squeeze(0))
    _same(t.squeeze(-2), a.squeeze(2))
    _same(t.squeeze(1), a)  # not of size 1: unchanged, as in PyTorch
    _same(t.squeeze((0, 2)), a.reshape(3, 2))
    b = _a(3, 2)
    _same(cr.tensor(b).unsqueeze(0), b[None])
    _same(cr.tensor(b).unsqueeze(-1), b[..., None])
    _same(cr.unsqueeze(cr.tensor(b), 1), b[:, None])
    _same(cr.tensor(b).unsqueeze(2), b[:, :, None])
    with pytest.raises(IndexError, match="Dimension out of range"):
        cr.tensor(b).unsqueeze(3)


def test_expand_and_broadcast_to():
    a = _a(3, 1)
    t = cr.tensor(a)
    _same(t.expand(3, 4), np.broadcast_to(a, (3, 4)))
    _same(t.expand(2, -1, 4), np.broadcast_to(a, (2, 3, 4)))
    _same(t.expand((3, 2)), np.broadcast_to(a, (3, 2)))
    _same(cr.broadcast_to(t, (2, 3, 5)), np.broadcast_to(a, (2, 3, 5)))
    _same(t.broadcast_to((3, 3)), np.broadcast_to(a, (3, 3)))
    _same(t.expand_as(cr.zeros(2, 3, 2)), np.broadcast_to(a, (2, 3, 2)))
    with pytest.raises((RuntimeError, ValueError)):
        t.expand(4, 4)


def test_cat_and_stack():
    a, b = _a(2, 3), _a(2, 3) + 10
    ta, tb = cr.tensor(a), cr.tensor(b)
    _same(cr.cat([ta, tb]), np.concatenate([a, b]))
    _same(cr.cat((ta, tb), dim=1), np.concatenate([a, b], axis=1))
    _same(cr.cat([ta, tb, ta], -1), np.concatenate([a, b, a], axis=-1))
    _same(cr.cat([ta, cr.tensor(_a(1, 3))]), np.concatenate([a, _a(1, 3)]))
    _same(cr.stack([ta, tb]), np.stack([a, b]))
    _same(cr.stack([ta, tb], dim=1), np.stack([a, b], axis=1))
    _same(cr.stack([ta, tb], dim=-1), np.stack([a, b], axis=-1))
    _same(cr.stack([ta, tb], 2), np.stack([a, b], axis=2))
    _same(cr.stack([cr.tensor(1.0), cr.tensor(2.0)]), np.array([1.0, 2.0], np.float32))
    with pytest.raises(IndexError, match="Dimension out of range"):
        cr.stack([ta, tb], dim=3)


def test_split_and_chunk():
    a = _a(7, 2)
    t = cr.tensor(a)
    pieces = t.split(3)
    assert [p.shape for p in pieces] == [(3, 2), (3, 2), (1, 2)]
    for p, e in zip(pieces, np.split(a, [3, 6])):
        _same(p, e)
    pieces = cr.split(t, [2, 4, 1])
    assert [p.shape for p in pieces] == [(2, 2), (4, 2), (1, 2)]
    for p, e in zip(pieces, np.split(a, [2, 6])):
        _same(p, e)
    pieces = t.split(1, dim=1)
    assert len(pieces) == 2
    _same(pieces[1], a[:, 1:])
    with pytest.raises(RuntimeError):
        t.split([2, 2])
    # chunk: pieces of ceil(n / chunks), so possibly fewer pieces than asked
    assert [p.shape[0] for p in t.chunk(3)] == [3, 3, 1]
    assert [p.shape[0] for p in cr.chunk(cr.arange(6), 4)] == [2, 2, 2]
    assert [p.shape[0] for p in cr.arange(5).chunk(5)] == [1] * 5
    for p, e in zip(cr.chunk(t, 2, dim=1), np.split(a, 2, axis=1)):
        _same(p, e)


def test_flip():
    a = _a(2, 3, 2)
    t = cr.tensor(a)
    _same(t.flip(0), a[::-1])
    _same(cr.flip(t, (0, 2)), a[::-1, :, ::-1])
    _same(t.flip([-1]), a[..., ::-1])
    _same(t.flip(dims=(1,)), a[:, ::-1])


def _rejects(function):
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
        function()




@pytest.mark.parametrize("function", [
    pytest.param(lambda: cr.ones(4).reshape(-1, -1), id="reshape-two-minus-ones"),
    pytest.param(lambda: cr.ones(4).view(3), id="view-wrong-size"),
    pytest.param(lambda: cr.ones(2, 3).expand(3), id="expand-fewer-sizes"),
    pytest.param(lambda: cr.stack([cr.ones(2), cr.ones(3)]), id="stack-unequal"),
    pytest.param(lambda: cr.cat([cr.ones(2, 2), cr.ones(2, 3)]), id="cat-unequal"),
    pytest.param(lambda: cr.ones(2, 3).permute(0, 1, 2), id="permute-too-many"),
    pytest.param(lambda: cr.ones(4).split([1, 2]), id="split-sizes-short"),
    pytest.param(lambda: cr.ones(3).expand(-1, 3), id="expand-new-minus-one"),
    pytest.param(lambda: cr.arange(4).split(0), id="split-zero"),
    pytest.param(lambda: cr.ones(2, 3, 4).flatten(2, 1), id="flatten-start-after-end"),
    pytest.param(lambda: cr.ones(2, 3, 4).t(), id="t-of-3d"),
    pytest.param(lambda: cr.outer(cr.ones(2, 2), cr.ones(2)), id="outer-of-2d"),
])
def test_invalid_shape_arguments_are_rejected(function):
    _rejects(function)


def test_tile_method_takes_varargs():
    a = _a(2, 3)
    _same(cr.tensor(a).tile(2, 1), np.tile(a, (2, 1)))
    _same(cr.tensor(a).tile(2), np.tile(a, (1, 2)))


def test_repeat_and_tile():
    a = _a(2, 3)
    t = cr.tensor(a)
    _same(t.repeat(2, 1), np.tile(a, (2, 1)))
    _same(t.repeat(1, 1, 2), np.tile(a, (1, 1, 2)))
    _same(t.repeat((2, 2)), np.tile(a, (2, 2)))
    _same(cr.tensor([1, 2]).repeat(3), np.tile(np.array([1, 2]), 3))
    with pytest.raises(RuntimeError):
        t.repeat(2)  # fewer sizes than dimensions
    _same(t.tile((2,)), np.tile(a, (1, 2)))  # tile pads the sizes with ones in front
    _same(cr.tile(t, (2, 1, 2)), np.tile(a, (2, 1, 2)))
    x = cr.tensor(a, requires_grad=True)
    x.repeat(2, 3).sum().backward()
    _same(x.grad, np.full((2, 3), 6.0))


# ============================================================================================
# indexing


INDICES = [
    1, -1, (1, 2), (-1, -2), slice(None), slice(1, None), slice(None, None, 2), (slice(None), 1),
    (slice(0, 3, 2), slice(1, 3)), (slice(-2, None), -1), None, (None, 1),
    (slice(None), None, 0), Ellipsis, (Ellipsis, 0), (0, Ellipsis, None), [0, 2],
    ([0, 2], [1, 3]), (slice(None), [3, 0, 0]), ([[0, 1], [2, 2]],), (1, [0, 1, 3]),
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_indexing_matches_numpy(index):
    a = _a(3, 4, 2)
    _same(cr.tensor(a)[index], a[index])


@st.composite
def _shape_and_basic_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True).filter(
        lambda i: all(not isinstance(p, slice) or p.step is None or p.step > 0
                      for p in (i if isinstance(i, tuple) else (i,)))))
    return shape, index


@FAST
@given(_shape_and_basic_index())
def test_random_basic_indexing(shape_and_index):
    """Ints, slices (positive steps, as PyTorch), None and ... as NumPy; the gradient lands on
    the elements read."""
    shape, index = shape_and_index
    a = _a(*shape, dtype=np.float32)
    x = cr.tensor(a, requires_grad=True)
    y = x[index]
    _same(y.detach(), a[index])
    y.sum().backward()
    expected = np.zeros_like(a)
    expected[index] += 1
    _same(x.grad, expected)


def test_indexing_with_tensors():
    a = _a(4, 3)
    t = cr.tensor(a)
    _same(t[cr.tensor([0, 3, 3])], a[[0, 3, 3]])
    _same(t[cr.tensor([2, 0]), cr.tensor([1, 1])], a[[2, 0], [1, 1]])
    _same(t[np.array([1, 2])], a[[1, 2]])
    _same(t[cr.tensor(1)], a[1])
    _same(t[:, cr.tensor([[0], [2]])], a[:, [[0], [2]]])


def test_boolean_masks():
    a = _a(3, 4) - 5
    t = cr.tensor(a)
    mask = a > 0
    _same(t[mask], a[mask])
    _same(t[cr.tensor(mask)], a[mask])
    _same(t[t > 0], a[mask])
    rows = np.array([True, False, True])
    _same(t[cr.tensor(rows)], a[rows])
    _same(t[:, cr.tensor([False, True, True, False])], a[:, [1, 2]])
    assert t[t > 100].shape == (0,)


def test_indexing_gradient_scatters_back():
    x = cr.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x[cr.tensor([0, 2, 2])] * cr.tensor([1.0, 10.0, 100.0])
    y.sum().backward()
    _same(x.grad, np.array([1.0, 0.0, 110.0, 0.0], np.float32))


def test_setitem_on_plain_tensors():
    a = _a(3, 4)
    t = cr.tensor(a)
    t[0] = -1.0
    a[0] = -1.0
    t[1, 2:] = cr.tensor([7.0, 8.0], dtype=cr.float64)
    a[1, 2:] = [7.0, 8.0]
    t[t > 9] = 0.0
    a[a > 9] = 0.0
    t[[2, 2], [0, 1]] = 5.0
    a[[2, 2], [0, 1]] = 5.0
    t[:, cr.tensor([3])] = cr.tensor([[1.0], [2.0], [3.0]], dtype=cr.float64)
    a[:, [3]] = [[1.0], [2.0], [3.0]]
    t[...] = t * 2
    a[...] = a * 2
    _same(t, a)
    assert t.requires_grad is False


def test_setitem_under_no_grad():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with cr.no_grad():
        w[1] = 10.0
        w[cr.tensor([True, False, True])] = cr.tensor([4.0, 5.0])
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    _same(w.detach(), np.array([4.0, 10.0, 5.0], np.float32))
    (w * w).sum().backward()
    _same(w.grad, np.array([8.0, 20.0, 10.0], np.float32))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 1.0


def test_setitem_records_a_value_that_requires_grad():
    x = cr.tensor(2.0, requires_grad=True)
    t = cr.zeros(3)
    version = t._version
    t[1] = x * 3
    assert t._version > version
    assert t.requires_grad and t.grad_fn is not None
    _same(t.detach(), np.array([0.0, 6.0, 0.0], np.float32))
    (t * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    _same(x.grad, np.array(30.0, np.float32))


def test_setitem_on_a_view_writes_the_base():
    t = cr.zeros(2, 3)
    row = t[1]
    row[2] = 5.0
    _same(t, np.array([[0, 0, 0], [0, 0, 5]], np.float32))


def test_inplace_on_single_element_index_writes_through():
    x = cr.zeros(3)
    x[0].fill_(5.0)
    x[1].add_(2.0)
    assert x.tolist() == [5.0, 2.0, 0.0]  # chainrule: [0, 0, 0]


def test_setitem_and_chunk_errors_name_the_operation():
    x = cr.zeros(2, 2)
    with pytest.raises(Exception, match="setitem|index"):  # the recorded path says indexput
        x[0] = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(Exception, match="chunk"):
        cr.chunk(cr.ones(3), 0)
