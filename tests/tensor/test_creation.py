"""Creating tensors: ``tensor``, ``as_tensor``, ``from_numpy``, the factories and random
numbers; dtypes and type promotion. NumPy is the oracle, and PyTorch's semantics (torch 2.13.0)
the specification where the two differ.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from tests.tensor.helpers import FAST, _close, _np, _same

# ============================================================================================
# creation


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2], [3, 4]], np.int64),
        (3, np.int64),
        ([True, False], np.bool_),
        (True, np.bool_),
        ([1, 2.5], np.float32),  # mixed: the float wins
        (np.array([1.0, 2.0]), np.float64),  # an ndarray keeps its dtype
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.array([1.0], dtype=np.float16), np.float16),
        (np.float64(2.0), np.float64),
    ],
)
def test_tensor_default_dtypes(data, dtype):
    t = cr.tensor(data)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(_np(t), np.asarray(data))
    assert t.requires_grad is False
    assert t.grad_fn is None


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 9.0
    _same(t, np.array([1.0, 2.0]))
    u = cr.tensor(t)
    t.numpy()[1] = 7.0
    _same(u, np.array([1.0, 2.0]))


def test_tensor_dtype_argument():
    _same(cr.tensor([1, 2], dtype=cr.float32), np.array([1, 2], np.float32))
    _same(cr.tensor([1.7, 2.2], dtype=cr.int64), np.array([1, 2], np.int64))
    _same(cr.tensor(np.arange(3.0), dtype=cr.float16), np.arange(3, dtype=np.float16))
    _same(cr.tensor([1.0], dtype=cr.float64), np.array([1.0]))


def test_tensor_requires_grad_only_for_floats():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert cr.tensor([1.0], dtype=cr.float64, requires_grad=True).requires_grad
    for data in ([1, 2], [True], np.array([1], np.int32)):
        with pytest.raises(RuntimeError, match="floating point"):
            cr.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        cr.arange(3).requires_grad_()


def test_tensor_rejects_integers_that_overflow_int64():
    with pytest.raises((OverflowError, ValueError, RuntimeError, TypeError)):
        cr.tensor(2**63)


def test_as_tensor_and_from_numpy_share_memory():
    a = np.zeros(3)
    t, u = cr.as_tensor(a), cr.from_numpy(a)
    assert t.dtype == u.dtype == np.float64
    a[1] = 5.0
    _same(t, np.array([0.0, 5.0, 0.0]))
    _same(u, np.array([0.0, 5.0, 0.0]))
    u.numpy()[2] = -1.0  # and the other way round
    assert a[2] == -1.0
    # as_tensor of Python data makes a new tensor with tensor()'s dtypes
    assert cr.as_tensor([1.0, 2.0]).dtype == np.float32
    assert cr.as_tensor([1, 2]).dtype == np.int64
    # a dtype other than the array's makes a converted copy
    c = cr.as_tensor(a, dtype=cr.float32)
    a[0] = 3.0
    _same(c, np.array([0.0, 5.0, -1.0], np.float32))
    with pytest.raises(TypeError):
        cr.from_numpy([1.0, 2.0])


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        ((4.0,), {}, np.arange(4, dtype=np.float32)),
        ((4,), {}, np.arange(4, dtype=np.int64)),
        ((1, 10, 3), {}, np.array([1, 4, 7], np.int64)),
        ((0, 1, 0.25), {}, np.array([0, 0.25, 0.5, 0.75], np.float32)),
        ((-2, 2), {}, np.arange(-2, 2, dtype=np.int64)),
        ((5, 0, -2), {}, np.array([5, 3, 1], np.int64)),
        ((4,), {"dtype": cr.float64}, np.arange(4.0)),
        ((0.5, 3), {}, np.array([0.5, 1.5, 2.5], np.float32)),
    ],
)
def test_arange(args, kwargs, expected):
    _same(cr.arange(*args, **kwargs), expected)


def test_arange_keywords_and_requires_grad():
    _same(cr.arange(start=2, end=5), np.arange(2, 5, dtype=np.int64))
    _same(cr.arange(0, 6, step=2), np.array([0, 2, 4], np.int64))
    x = cr.arange(3.0, requires_grad=True)
    assert x.requires_grad and x.is_leaf


def test_linspace():
    _close(cr.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype=np.float32))
    assert cr.linspace(0, 1, 5).dtype == np.float32
    assert cr.linspace(-1, 1, 3, dtype=cr.float64).dtype == np.float64
    _same(cr.linspace(2, 2, 1), np.array([2.0], np.float32))
    assert cr.linspace(0, 1, 4, requires_grad=True).requires_grad


@pytest.mark.parametrize("factory, fill", [(cr.zeros, 0.0), (cr.ones, 1.0), (cr.empty, None)])
def test_sized_factories(factory, fill):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3]), factory(size=(2, 3))):
        assert t.shape == (2, 3)
        assert t.dtype == np.float32
        if fill is not None:
            _same(t, np.full((2, 3), fill, np.float32))
    assert factory(()).shape == ()
    assert factory(size=()).shape == ()
    assert factory(0).shape == (0,)
    assert factory(4, dtype=cr.int64).dtype == np.int64
    t = factory(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_full_and_eye():
    _same(cr.full((2, 2), 1.5), np.full((2, 2), 1.5, np.float32))
    _same(cr.full((3,), 7), np.full(3, 7, np.int64))
    _same(cr.full((2,), True), np.array([True, True]))
    _same(cr.full((2,), 7, dtype=cr.float64), np.array([7.0, 7.0]))
    _same(cr.eye(3), np.eye(3, dtype=np.float32))
    _same(cr.eye(2, 3), np.eye(2, 3, dtype=np.float32))
    _same(cr.eye(2, dtype=cr.int64), np.eye(2, dtype=np.int64))


def test_like_factories():
    x = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    z, o = cr.zeros_like(x), cr.ones_like(x)
    _same(z, np.zeros((1, 3), np.float32))
    _same(o, np.ones((1, 3), np.float32))
    assert not z.requires_grad and not o.requires_grad
    _same(cr.zeros_like(cr.arange(3)), np.zeros(3, np.int64))
    _same(cr.ones_like(x, dtype=cr.float64), np.ones((1, 3)))
    _same(cr.full_like(x, 2.0), np.full((1, 3), 2.0, np.float32))


def test_random_factories():
    cr.manual_seed(1)
    for t in (cr.randn(2, 3), cr.randn((2, 3)), cr.randn(size=(2, 3)), cr.rand(2, 3)):
        assert t.shape == (2, 3) and t.dtype == np.float32
    s = cr.randn(size=())
    assert s.shape == () and s.ndim == 0
    assert cr.randn(3, dtype=cr.float64).dtype == np.float64
    w = cr.randn(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    u = _np(cr.rand(10_000))
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02
    n = _np(cr.randn(10_000))
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1.0) < 0.05
    assert len(np.unique(n)) > 9_900


def test_manual_seed_reproducibility():
    cr.manual_seed(123)
    first = _np(cr.randn(5)), _np(cr.rand(2, 2)), _np(cr.randn(size=()))
    cr.manual_seed(123)
    second = _np(cr.randn(5)), _np(cr.rand(2, 2)), _np(cr.randn(size=()))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    cr.manual_seed(124)
    assert not np.array_equal(_np(cr.randn(5)), first[0])
    # draws continue the stream: two draws differ
    cr.manual_seed(123)
    assert not np.array_equal(_np(cr.randn(5)), _np(cr.randn(5)))


# ============================================================================================
# dtypes and promotion


def test_dtype_names():
    assert cr.float16 == np.float16 and cr.float32 == np.float32 and cr.float64 == np.float64
    assert cr.int32 == np.int32 and cr.int64 == np.int64 and cr.bool == np.bool_
    assert cr.tensor([True]).dtype == cr.bool
    assert cr.tensor([1]).dtype == cr.int64
    assert cr.tensor([1.0]).dtype == cr.float32
    assert cr.half == cr.float16 and cr.double == cr.float64 and cr.long == cr.int64


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: cr.ones(2) * 2.5, np.float32),
        (lambda: 2.5 * cr.ones(2), np.float32),
        (lambda: cr.ones(2) + 1, np.float32),
        (lambda: cr.ones(2, dtype=cr.float16) * 2.5, np.float16),
        (lambda: cr.ones(2) * cr.ones(2, dtype=cr.float64), np.float64),
        # NumPy 2: a 0-d float64 tensor or a NumPy float64 is not "weak" (PyTorch: float32)
        (lambda: cr.ones(2) * cr.tensor(2.0, dtype=cr.float64), np.float64),
        (lambda: cr.ones(2) * np.float64(2.0), np.float64),
        (lambda: cr.arange(3) * 2.5, np.float64),
        (lambda: cr.arange(3) * 2, np.int64),
        (lambda: cr.arange(3, dtype=cr.int32) * 2, np.int32),
        (lambda: cr.arange(3, dtype=cr.int32) + cr.arange(3), np.int64),
        (lambda: cr.arange(3) + cr.ones(3), np.float64),  # NumPy's choice (PyTorch: float32)
        (lambda: cr.ones(2) * np.ones(2), np.float64),
        (lambda: np.ones(2, np.float32) * cr.ones(2, dtype=cr.float64), np.float64),
    ],
)
def test_numpy2_promotion(make, expected):
    t = make()
    assert isinstance(t, cr.Tensor)
    assert t.dtype == np.dtype(expected)


DTYPES = [np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_]
SCALARS = [2, 2.5, True]


@FAST
@given(left=st.sampled_from(DTYPES), right=st.sampled_from(DTYPES + SCALARS),
       op=st.sampled_from(["add", "mul", "sub"]))
def test_promotion_matches_numpy(left, right, op):
    if op == "sub" and left == np.bool_ and right in (np.bool_, True):
        return  # NumPy and PyTorch both refuse bool - bool
    a = np.array([1, 0, 1], dtype=left)
    b = right if not isinstance(right, type) else np.array([1, 1, 0], dtype=right)
    fn = {"add": np.add, "mul": np.multiply, "sub": np.subtract}[op]
    expected = fn(a, b)
    tb = cr.tensor(b) if isinstance(b, np.ndarray) else b
    got = getattr(cr.tensor(a), op)(tb)
    _same(got, expected)
