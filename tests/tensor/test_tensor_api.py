"""The Tensor surface: attributes and conversions, repr, operations without gradient, and
public functions that return tensors for ndarrays. NumPy is the oracle, and PyTorch's semantics
(torch 2.13.0) the specification where the two differ.

Creation is in ``test_creation.py``, shape operations and indexing in
``test_shapes_and_indexing.py``, reductions and products in ``test_reductions_and_products.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from tests.tensor.helpers import _close, _np, _same

# ============================================================================================
# attributes and conversions


def test_shape_attributes():
    t = cr.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4)
    assert t.size(0) == 2 and t.size(-1) == 4 and t.size(1) == 3
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24 and len(t) == 2
    s = cr.tensor(3.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1
    with pytest.raises(TypeError):
        len(s)
    assert cr.zeros(0, 3).numel() == 0 and len(cr.zeros(0, 3)) == 0


def test_size_of_an_out_of_range_dim():
    with pytest.raises(IndexError, match="Dimension out of range"):
        cr.zeros(2, 3).size(2)


def test_T():
    a = np.arange(6.0).reshape(2, 3)
    _same(cr.tensor(a).T, a.T)
    b = np.arange(24.0).reshape(2, 3, 4)
    _same(cr.tensor(b).T, b.T)
    _same(cr.tensor([1.0, 2.0]).T, np.array([1.0, 2.0], np.float32))


def test_item():
    assert cr.tensor(2.5).item() == 2.5 and isinstance(cr.tensor(2.5).item(), float)
    assert cr.tensor([[7]]).item() == 7 and isinstance(cr.tensor([[7]]).item(), int)
    assert cr.tensor(True).item() is True
    assert cr.tensor(0.1).item() == float(np.float32(0.1))
    with pytest.raises(RuntimeError, match="2 elements cannot be converted to Scalar"):
        cr.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError):
        cr.zeros(0).item()


def test_tolist():
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert cr.tensor(1.5).tolist() == 1.5
    values = cr.tensor([0.5, 1.0]).tolist()
    assert values == [0.5, 1.0] and all(type(v) is float for v in values)
    assert cr.tensor([True, False]).tolist() == [True, False]


def test_numpy_shares_memory():
    t = cr.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0] = 10.0
    assert t[0].item() == 10.0
    t[1] = 20.0
    assert a[1] == 20.0
    s = cr.arange(3.0).sum()
    s.numpy()[()] = 9.0
    assert s.item() == 9.0


def test_numpy_refuses_tensors_that_require_grad():
    x = cr.ones(2, requires_grad=True)
    message = "Can't call numpy\\(\\) on Tensor that requires grad"
    with pytest.raises(RuntimeError, match=message):
        x.numpy()
    with pytest.raises(RuntimeError, match=message):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 1.0])
    with cr.no_grad():  # as PyTorch: allowed under no_grad
        np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])


def test_array_protocol():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (2, 2)
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(cr.tensor(2.0)).shape == ()
    assert np.sum(np.asarray(t)) == 10.0


def test_bool_float_int():
    assert bool(cr.tensor([1.0])) is True and bool(cr.tensor(0.0)) is False
    assert bool(cr.tensor([[True]])) is True
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        if cr.arange(3) > 0:
            pass
    assert float(cr.tensor(2.5)) == 2.5 and type(float(cr.tensor(2))) is float
    assert float(cr.tensor([[1.5]])) == 1.5
    assert int(cr.tensor(3.7)) == 3 and int(cr.tensor(-3.7)) == -3
    assert type(int(cr.tensor(3.0))) is int
    # (as PyTorch: float() and int() of several values are ValueErrors, item() a RuntimeError)
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        float(cr.tensor([1.0, 2.0]))


def test_bool_of_an_empty_tensor():
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(cr.zeros(0))


def test_format_spec():
    assert f"{cr.tensor(math.pi):.3f}" == "3.142"
    assert f"{cr.tensor(3):05d}" == "00003"
    assert f"{cr.arange(3.0).sum():.1f}" == "3.0"
    assert f"{cr.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    with pytest.raises(TypeError):
        f"{cr.tensor([1.0, 2.0]):.3f}"


def test_iteration_over_rows():
    a = np.arange(6.0).reshape(3, 2)
    rows = list(cr.tensor(a))
    assert len(rows) == 3
    for row, expected in zip(rows, a):
        _same(row, expected.astype(np.float64))
    elements = list(cr.tensor([1, 2, 3]))
    assert [e.shape for e in elements] == [(), (), ()]
    assert [e.item() for e in elements] == [1, 2, 3]
    with pytest.raises(TypeError):
        iter(cr.tensor(1.0))
    assert list(cr.zeros(0, 2)) == []
    assert sum(cr.tensor([1.0, 2.0, 3.0])).item() == 6.0


def test_contains():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert 2.0 in t and 4 in t
    assert 5.0 not in t
    assert cr.tensor(3.0) in t
    assert True in cr.tensor([False, True]) and True not in cr.tensor([False])


# ============================================================================================
# repr


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: cr.arange(4.0), "tensor([0., 1., 2., 3.])"),
        (lambda: 2 * cr.dot(cr.arange(4.0, requires_grad=True), cr.arange(4.0)),
         "tensor(28., grad_fn=<MulBackward0>)"),
        (lambda: cr.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
        (lambda: cr.tensor([True, True]), "tensor([True, True])"),
        (lambda: cr.tensor(True), "tensor(True)"),
        (lambda: cr.arange(4), "tensor([0, 1, 2, 3])"),
        (lambda: cr.tensor([1.0, 2.0], dtype=cr.float64),
         "tensor([1., 2.], dtype=chainrule.float64)"),
        (lambda: cr.tensor([1, 2], dtype=cr.int32), "tensor([1, 2], dtype=chainrule.int32)"),
        (lambda: cr.tensor(0.1), "tensor(0.1000)"),
        (lambda: cr.tensor([[1.0, 2.5], [3.0, 4.0]]),
         "tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])"),
        (lambda: cr.arange(3.0, requires_grad=True).sum(), "tensor(3., grad_fn=<SumBackward0>)"),
        (lambda: cr.ones(2, dtype=cr.float64, requires_grad=True),
         "tensor([1., 1.], dtype=chainrule.float64, requires_grad=True)"),
    ],
)
def test_repr(make, text):
    t = make()
    assert repr(t) == text
    assert str(t) == text


def test_print_equals_repr(capsys):
    t = cr.arange(4.0, requires_grad=True) * 2
    print(t)
    assert capsys.readouterr().out == repr(t) + "\n"
    assert repr(t) == "tensor([0., 2., 4., 6.], grad_fn=<MulBackward0>)"


# ============================================================================================
# operations without gradient


def _x():
    return cr.tensor([[-1.5, 0.0, 2.0], [3.0, float("nan"), float("inf")]], requires_grad=True)


NO_GRAD_OPS = {
    "eq": lambda x: x == 2.0,
    "ne": lambda x: x != 2.0,
    "lt": lambda x: x < 2.0,
    "le": lambda x: x <= 2.0,
    "gt": lambda x: x > 2.0,
    "ge": lambda x: x >= 2.0,
    "eq-tensor": lambda x: x == x,
    "lt-tensor": lambda x: x < x * 2,
    "argmax": lambda x: cr.argmax(x),
    "argmax-dim": lambda x: x.argmax(dim=1),
    "argmin": lambda x: x.argmin(),
    "argmin-dim": lambda x: cr.argmin(x, dim=0, keepdim=True),
    "isnan": cr.isnan,
    "isinf": lambda x: x.isinf(),
    "isfinite": cr.isfinite,
    "all": lambda x: cr.all(x),
    "all-dim": lambda x: x.all(dim=1),
    "any": lambda x: x.any(),
    "any-dim": lambda x: cr.any(x > 0, dim=0),
    "logical_and": lambda x: cr.logical_and(x > 0, x < 3),
    "logical_or": lambda x: cr.logical_or(x, x > 0),
    "logical_xor": lambda x: cr.logical_xor(x > 0, x < 3),
    "logical_not": lambda x: cr.logical_not(x),
    "eq-function": lambda x: cr.eq(x, 0.0),
}

NO_GRAD_EXPECTED = {
    "eq": lambda a: a == 2.0,
    "ne": lambda a: a != 2.0,
    "lt": lambda a: a < 2.0,
    "le": lambda a: a <= 2.0,
    "gt": lambda a: a > 2.0,
    "ge": lambda a: a >= 2.0,
    "eq-tensor": lambda a: a == a,
    "lt-tensor": lambda a: a < a * 2,
    "argmax": lambda a: np.array(4),  # PyTorch treats NaN as the maximum (and the minimum)
    "argmax-dim": lambda a: np.array([2, 1]),
    "argmin": lambda a: np.array(4),
    "argmin-dim": lambda a: np.array([[0, 1, 0]]),
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isfinite": np.isfinite,
    "all": lambda a: np.all(a),
    "all-dim": lambda a: np.all(a, axis=1),
    "any": lambda a: np.any(a),
    "any-dim": lambda a: np.any(a > 0, axis=0),
    "logical_and": lambda a: np.logical_and(a > 0, a < 3),
    "logical_or": lambda a: np.logical_or(a, a > 0),
    "logical_xor": lambda a: np.logical_xor(a > 0, a < 3),
    "logical_not": np.logical_not,
    "eq-function": lambda a: a == 0.0,
}


@pytest.mark.parametrize("name", sorted(NO_GRAD_OPS))
def test_operations_without_gradient(name):
    x = _x()
    with np.errstate(invalid="ignore"):
        out = NO_GRAD_OPS[name](x)
        expected = np.asarray(NO_GRAD_EXPECTED[name](_np(x)))
    assert isinstance(out, cr.Tensor)
    assert out.requires_grad is False
    assert out.grad_fn is None and out.is_leaf
    assert out.dtype == (np.int64 if name.startswith("arg") else np.bool_)
    _same(out, expected.astype(out.dtype))


@pytest.mark.parametrize(
    "name, numpy_function",
    [("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("sign", np.sign),
     ("trunc", np.trunc)],
)
def test_piecewise_constant_functions_have_zero_gradient(name, numpy_function):
    values = np.array([-2.5, -1.5, -0.7, -0.5, 0.0, 0.3, 0.5, 1.5, 2.5, 3.7], np.float32)
    for out_of in (getattr(cr, name), lambda t: getattr(t, name)()):
        x = cr.tensor(values, requires_grad=True)
        y = out_of(x)
        _same(y.detach(), numpy_function(values))
        assert y.requires_grad and y.grad_fn is not None
        assert repr(y).endswith(f"grad_fn=<{name.capitalize()}Backward0>)")
        (y * cr.arange(10.0)).sum().backward()
        _same(x.grad, np.zeros(10, np.float32))


def test_round_with_decimals_has_zero_gradient():
    x = cr.tensor([1.26, 2.5, -0.04], requires_grad=True)
    y = cr.round(x, decimals=1)
    _close(y.detach(), np.round(np.array([1.26, 2.5, -0.04], np.float32), 1))
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    _same(x.grad, np.zeros(3, np.float32))


def test_round_is_half_to_even():
    _same(cr.round(cr.tensor([0.5, 1.5, 2.5, -0.5, -1.5])),
          np.array([0.0, 2.0, 2.0, -0.0, -2.0], np.float32))


# ============================================================================================
# public functions of ndarrays


@pytest.mark.parametrize(("name", "numpy_equivalent"), [
    ("add", np.add), ("sub", np.subtract), ("subtract", np.subtract), ("mul", np.multiply),
    ("multiply", np.multiply), ("div", np.divide), ("divide", np.divide),
    ("true_divide", np.divide), ("pow", np.power), ("maximum", np.maximum),
    ("minimum", np.minimum), ("max", np.maximum), ("min", np.minimum), ("matmul", np.matmul),
    ("mm", np.matmul), ("clamp", lambda a, b: np.maximum(a, b)),
    ("clip", lambda a, b: np.maximum(a, b)),
])
def test_public_functions_of_ndarrays_return_tensors(name, numpy_equivalent):
    """As the unary functions always did: no NumPy result leaks out of chainrule.add & co."""
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    b = np.array([[2.0, 1.0], [-1.0, 4.0]])
    out = getattr(cr, name)(a, b)
    assert isinstance(out, cr.Tensor)
    np.testing.assert_array_equal(out.numpy(), numpy_equivalent(a, b))


def test_public_where_and_tensordot_of_ndarrays_return_tensors():
    a = np.arange(4.0).reshape(2, 2)
    out = cr.where(a > 1, a, -a)
    assert isinstance(out, cr.Tensor)
    np.testing.assert_array_equal(out.numpy(), np.where(a > 1, a, -a))
    dot = cr.tensordot(a, a, dims=1)
    assert isinstance(dot, cr.Tensor)
    np.testing.assert_array_equal(dot.numpy(), np.tensordot(a, a, axes=1))


def test_no_public_function_returns_numpy_for_ndarrays():
    """Every public function, tried on ndarrays with the argument patterns below: what it
    returns is never an ndarray or NumPy scalar (the README's promise)."""
    import inspect

    m, v = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])
    tried = 0
    for name in sorted(dir(cr)):
        func = getattr(cr, name)
        if name.startswith("_") or inspect.isclass(func) or inspect.ismodule(func) \
                or not callable(func):
            continue
        for args in [(m,), (v,), (m, m), (v, v), (m, v)]:
            try:
                with np.errstate(all="ignore"):  # (log of negatives and the like)
                    out = func(*args)
            except Exception:  # noqa: BLE001 - not every pattern suits every function
                continue
            tried += 1
            assert not isinstance(out, (np.ndarray, np.generic)), (name, len(args))
    assert tried > 200
    assert isinstance(cr.einsum("ij,jk->ik", m, m), cr.Tensor)
    assert cr.is_grad_enabled() and cr.get_default_dtype() == cr.float32  # nothing global moved
