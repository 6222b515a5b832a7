"""NumPy 2's array-API linear algebra and the products of ``chainrule/numpy_linalg.py``
(``cnp.linalg.matrix_power``, ``multi_dot``, ``tensordot``, ``vecdot`` ..., ``cnp.vecdot``,
``matvec``, ``vecmat``): NumPy's values to the bit on Tensors (also on inputs large enough
that the order of the sums shows), complex inputs (``vecdot`` and ``vecmat`` conjugate their
first argument), closed-form derivatives, PyTorch's gradients, and the errors of bad inputs.
``tests/numpy/catalogue.py`` checks every function's derivatives against central differences
(reverse, forward and second order)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads
from tests.tensor.test_bad_inputs import INTERNAL

RNG = np.random.default_rng(20)


def _real(*shape):
    return RNG.standard_normal(shape)


def _complex(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _invertible(n, scale=1.0):
    return scale * (RNG.standard_normal((n, n)) / np.sqrt(n) + 2 * np.eye(n))


def _needs(*names):
    """Skip where the installed NumPy lacks one of ``names`` (NumPy 1.26 has, of these,
    only matrix_power, multi_dot, tensorinv and tensorsolve)."""
    for name in names:
        module, _, attribute = name.rpartition(".")
        if not hasattr(getattr(np, module) if module else np, attribute):
            pytest.skip(f"numpy.{name} is not in NumPy {np.__version__}")


def _function(case: str) -> str:
    """The function a case calls: its name's first word (``"linalg.vecdot, complex"``)."""
    return case.split(" ")[0].rstrip(",")


def _tensors(arrays):
    return [cr.tensor(a, requires_grad=np.asarray(a).dtype.kind in "fc") for a in arrays]


# name: (call of a module, np or cnp, on arrays; the arrays).  The sizes (30 and more along
# the summed axes) are large enough for the order of NumPy's sums to show in the last bits.
X, Y, V = _real(3, 40, 30), _real(3, 40, 30), _real(30)
A, B = _invertible(24), _invertible(24, 0.5)
XC, YC = _complex(3, 40, 30), _complex(3, 40, 30)
SAME_BITS = {
    "linalg.vecdot": (lambda m, x, y: m.linalg.vecdot(x, y), [X, Y]),
    "linalg.vecdot along an axis": (lambda m, x, y: m.linalg.vecdot(x, y, axis=1), [X, Y]),
    "linalg.vecdot, complex": (lambda m, x, y: m.linalg.vecdot(x, y, axis=-2), [XC, YC]),
    "vecdot": (lambda m, x, v: m.vecdot(x, v), [X, V]),
    "vecdot with axes": (lambda m, x, y: m.vecdot(x, y, axes=[(1,), (-2,)]), [X, Y]),
    "vecdot, keepdims": (lambda m, x, y: m.vecdot(x, y, axis=0, keepdims=True), [X, Y]),
    "vecdot with axes, keepdims": (lambda m, x, y: m.vecdot(x, y, axes=[(1,), (-2,)],
                                                            keepdims=True), [X, Y]),
    "vecdot with all axes, keepdims": (lambda m, x, y: m.vecdot(x, y, axes=[(1,), (1,), (0,)],
                                                                keepdims=True), [X, Y]),
    "vecdot, complex": (lambda m, x, y: m.vecdot(x, y), [XC, YC]),
    "vecdot, float32": (lambda m, x, y: m.vecdot(x, y), [X.astype(np.float32), Y]),
    "matvec": (lambda m, x, v: m.matvec(x, v), [X, V]),
    "matvec with axes": (lambda m, x, v: m.matvec(x, v, axes=[(2, 1), (0,), (0,)]),
                         [X, X[0, :, 0]]),
    "matvec, complex": (lambda m, x, v: m.matvec(x, v), [XC, V + 1j * V[::-1]]),
    "vecmat": (lambda m, v, x: m.vecmat(v, x), [X[0, :, 0], X]),
    "linalg.matmul": (lambda m, x, y: m.linalg.matmul(x, y), [X, Y[0].T]),
    "linalg.outer": (lambda m, v, w: m.linalg.outer(v, w), [V, X[0, 0]]),
    "linalg.tensordot": (lambda m, x, y: m.linalg.tensordot(x, y, axes=([2, 0], [0, 1])),
                         [X, _real(30, 3, 5)]),
    "linalg.tensordot, one axis": (lambda m, x, y: m.linalg.tensordot(x, y, axes=1),
                                   [X, _real(30, 4)]),
    "linalg.tensordot, two": (lambda m, x, y: m.linalg.tensordot(x, y), [X, _real(40, 30, 2)]),
    **{f"linalg.matrix_power {n}": (lambda m, a, n=n: m.linalg.matrix_power(a, n), [A])
       for n in (0, 1, 2, 3, 4, 7, 13, -1, -2, -6)},
    "linalg.matrix_power of a stack": (lambda m, a: m.linalg.matrix_power(a, 11),
                                       [np.stack([B, B.T])]),
    "linalg.multi_dot of two N-D": (lambda m, x, y: m.linalg.multi_dot([x, y]),
                                    [X, _real(2, 30, 4)]),
    "linalg.tensorinv": (lambda m, a: m.linalg.tensorinv(a), [A.reshape(2, 12, 24)]),
    "linalg.tensorinv, ind=1": (lambda m, a: m.linalg.tensorinv(a, ind=1), [A.reshape(24, 4, 6)]),
    "linalg.tensorsolve": (lambda m, a, b: m.linalg.tensorsolve(a, b), [A.reshape(2, 12, 24),
                                                                       _real(2, 12)]),
    "linalg.tensorsolve with axes": (lambda m, a, b: m.linalg.tensorsolve(a, b, axes=(0,)),
                                     [A.reshape(24, 4, 6), _real(4, 6)]),
    "linalg.vector_norm": (lambda m, x: m.linalg.vector_norm(x), [X]),
    "linalg.vector_norm over axes": (lambda m, x: m.linalg.vector_norm(x, axis=(2, 0)), [X]),
    "linalg.vector_norm, keepdims": (lambda m, x: m.linalg.vector_norm(x, axis=(-1, 0), ord=3,
                                                                       keepdims=True), [X]),
    "linalg.vector_norm, ord=1": (lambda m, x: m.linalg.vector_norm(x, axis=1, ord=1), [X]),
    "linalg.vector_norm, ord=-1": (lambda m, x: m.linalg.vector_norm(x, axis=1, ord=-1), [X]),
    "linalg.vector_norm, ord=inf": (lambda m, x: m.linalg.vector_norm(x, ord=np.inf), [X]),
    "linalg.vector_norm, ord=0.5": (lambda m, x: m.linalg.vector_norm(x, ord=0.5), [X]),
    "linalg.vector_norm of integers": (lambda m, x: m.linalg.vector_norm(x, ord=1),
                                       [np.arange(-3, 5)]),
    **{f"linalg.matrix_norm, ord={o}": (lambda m, x, o=o: m.linalg.matrix_norm(x, ord=o), [X])
       for o in ("fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf)},
    "linalg.matrix_norm, keepdims": (lambda m, x: m.linalg.matrix_norm(x, keepdims=True,
                                                                       ord=1), [X]),
    "linalg.trace": (lambda m, x: m.linalg.trace(x, offset=1), [X]),
    "linalg.trace in float32": (lambda m, x: m.linalg.trace(x, dtype=np.float32), [X]),
    "linalg.diagonal": (lambda m, x: m.linalg.diagonal(x, offset=-2), [X]),
    "linalg.matrix_transpose": (lambda m, x: m.linalg.matrix_transpose(x), [X]),
    "linalg.cross": (lambda m, x, y: m.linalg.cross(x, y), [X[..., :3], Y[..., 3:6]]),
    "linalg.cross along an axis": (lambda m, x, y: m.linalg.cross(x, y, axis=0), [X[:, :4],
                                                                                   Y[:, 0]]),
}


def _chain(dims):
    return [_real(dims[i], dims[i + 1]) for i in range(len(dims) - 1)]


# multi_dot: NumPy's order of the products (both orders of three, Cormen's for more), and the
# vectors at the ends; the order shows in the bits
for _dims in ([30, 40, 20, 50], [50, 20, 40, 30], [9, 30, 2, 40, 25], [30, 25, 40, 3, 35, 20],
              [40, 5, 35, 30, 2, 45, 30]):
    SAME_BITS[f"linalg.multi_dot of {len(_dims) - 1} {_dims}"] = (
        lambda m, *a: m.linalg.multi_dot(a), _chain(_dims))
    SAME_BITS[f"linalg.multi_dot of {len(_dims) + 1} {_dims}, vectors at the ends"] = (
        lambda m, *a: m.linalg.multi_dot(a), [_real(_dims[0])] + _chain(_dims)
        + [_real(_dims[-1])])


@pytest.mark.parametrize("name", SAME_BITS)
def test_values_are_numpys_to_the_bit(name):
    _needs(_function(name))
    call, arrays = SAME_BITS[name]
    expected = call(np, *arrays)
    ours = call(cnp, *_tensors(arrays))
    assert isinstance(ours, cr.Tensor)
    assert ours.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(ours.detach().numpy(), expected)


# NumPy computes these otherwise (its complex vecmat by a BLAS gemm that conjugates while it
# multiplies, which matmul cannot reach; its complex norms from conj(x) x, chainrule's from
# |x|): the same numbers, to rounding
TO_ROUNDING = {
    "vecmat, complex": (lambda m, v, x: m.vecmat(v, x), [XC[0, :, 0], XC]),
    "linalg.vector_norm, complex": (lambda m, x: m.linalg.vector_norm(x, axis=1), [XC]),
    "linalg.matrix_norm, complex": (lambda m, x: m.linalg.matrix_norm(x), [XC]),
}


@pytest.mark.parametrize("name", TO_ROUNDING)
def test_values_are_numpys_to_rounding(name):
    _needs(_function(name))
    call, arrays = TO_ROUNDING[name]
    expected = call(np, *arrays)
    ours = call(cnp, *_tensors(arrays))
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=1e-14, atol=0)


def test_complex_products_conjugate_the_first_argument():
    """vecdot and vecmat conjugate x1, matvec nothing (NumPy's values), and their derivatives
    with complex inputs match central differences (check_grads takes complex arguments)."""
    _needs("vecdot", "linalg.vecdot", "matvec", "vecmat")
    x, y, a = _complex(2, 3), _complex(2, 3), _complex(3, 4)
    calls = [lambda m, p, q: m.vecdot(p, q), lambda m, p, q: m.linalg.vecdot(p, q, axis=0),
             lambda m, p, q: m.vecdot(p, q.real), lambda m, p, q: m.vecdot(p.real, q)]
    for call in calls:
        np.testing.assert_allclose(call(cnp, *_tensors([x, y])).detach().numpy(),
                                   call(np, x, y), rtol=1e-14)
        check_grads(lambda p, q, call=call: call(cnp, p, q), (x, y))
    for call, args in [(lambda m, p, q: m.vecmat(p, q), (x, a)),
                       (lambda m, p, q: m.matvec(p, q), (a.T, x))]:
        np.testing.assert_allclose(call(cnp, *_tensors(args)).detach().numpy(),
                                   call(np, *args), rtol=1e-14)
        check_grads(lambda p, q, call=call: call(cnp, p, q), args)
    # (NumPy conjugates: sum(conj(x) y), which is not sum(x y))
    assert not np.allclose(np.vecdot(x, y), np.sum(x * y, -1))


def test_the_gradient_of_vecdot_is_that_of_the_conjugate():
    """Closed form: L = Re(sum(conj(x) y)) = sum(Re x Re y + Im x Im y), whose gradient (PyTorch's
    convention, dL/dRe x + i dL/dIm x) is y; without the conjugate it would be conj(y)."""
    _needs("vecdot")
    x, y = _complex(4, 3), _complex(4, 3)
    tx, ty = _tensors([x, y])
    cr.real(cnp.vecdot(tx, ty)).sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), y, rtol=1e-14)
    np.testing.assert_allclose(ty.grad.numpy(), x, rtol=1e-14)


@pytest.mark.parametrize("n", [2, 5, 0, -1, -3])
def test_the_gradient_of_the_trace_of_a_power(n):
    """Closed form: d tr(A^n) = n tr(A^(n-1) dA), so the gradient is n (A^(n-1))^T (for every
    integer n: A^-1 dA A^-1 is the derivative of the inverse)."""
    a = _invertible(4)
    t = cr.tensor(a, requires_grad=True)
    cnp.trace(cnp.linalg.matrix_power(t, n)).backward()
    expected = n * np.linalg.matrix_power(a, n - 1).T if n else np.zeros((4, 4))
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_the_zeroth_power_is_the_identity_whatever_the_matrix():
    """NumPy's identity, also where the matrix holds NaN; it records, with gradient 0."""
    a = np.array([[np.nan, 1.0], [2.0, np.inf]])
    t = cr.tensor(a, requires_grad=True)
    power = cnp.linalg.matrix_power(t, 0)
    np.testing.assert_array_equal(power.detach().numpy(), np.linalg.matrix_power(a, 0))
    assert power.requires_grad
    power.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((2, 2)))


def test_the_first_power_is_a_new_tensor():
    t = cr.tensor(_invertible(3), requires_grad=True)
    power = cnp.linalg.matrix_power(t, 1)
    assert power is not t
    np.testing.assert_array_equal(power.detach().numpy(), t.detach().numpy())


def test_the_zero_norm_counts_and_carries_no_gradient():
    _needs("linalg.vector_norm")
    x = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]])
    t = cr.tensor(x, requires_grad=True)
    for axis in (None, 0, (1, 0)):
        count = cnp.linalg.vector_norm(t, ord=0, axis=axis)
        np.testing.assert_array_equal(count.numpy(), np.linalg.vector_norm(x, ord=0, axis=axis))
        assert not count.requires_grad


def test_numpys_functions_on_tensors_record():
    """np.linalg.matrix_power(t, 3) and np.vecdot(t, t) (a ufunc) call chainrule.numpy's."""
    _needs("linalg.vector_norm", "vecdot")
    a = _invertible(3)
    t = cr.tensor(a, requires_grad=True)
    for out, expected in [(np.linalg.matrix_power(t, 3), np.linalg.matrix_power(a, 3)),
                          (np.linalg.multi_dot([t, t, t]), a @ a @ a),
                          (np.linalg.vector_norm(t, axis=0), np.linalg.vector_norm(a, axis=0)),
                          (np.vecdot(t, t), np.vecdot(a, a))]:
        assert isinstance(out, cr.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-14)
    if hasattr(np, "matvec"):
        assert np.matvec(t, t[0]).requires_grad


def test_gradients_are_pytorchs():
    torch = pytest.importorskip("torch")
    _needs("linalg.vecdot", "linalg.vector_norm", "linalg.matrix_norm")
    a, x, y = _invertible(4), _complex(3, 4), _complex(3, 4)
    m1, m2, m3 = _real(2, 5), _real(5, 3), _real(3, 4)

    def ours(f, *arrays):
        tensors = _tensors(arrays)
        out = f(*tensors)
        cr.real(out).sum().backward() if out.is_complex() else out.sum().backward()
        return [t.grad.numpy() for t in tensors]

    def theirs(f, *arrays):
        tensors = [torch.tensor(v, requires_grad=True) for v in arrays]
        out = f(*tensors)
        (out.real if out.is_complex() else out).sum().backward()
        return [t.grad.resolve_conj().numpy() for t in tensors]

    pairs = [
        (lambda p: cnp.linalg.matrix_power(p, 5), lambda p: torch.linalg.matrix_power(p, 5), [a]),
        (lambda p: cnp.linalg.matrix_power(p, -2), lambda p: torch.linalg.matrix_power(p, -2),
         [a]),
        (lambda p, q: cnp.linalg.vecdot(p, q), lambda p, q: torch.linalg.vecdot(p, q), [x, y]),
        (lambda p, q, r: cnp.linalg.multi_dot([p, q, r]),
         lambda p, q, r: torch.linalg.multi_dot([p, q, r]), [m1, m2, m3]),
        (lambda p: cnp.linalg.vector_norm(p, ord=3, axis=(0, 1)),
         lambda p: torch.linalg.vector_norm(p, ord=3, dim=(0, 1)), [m3]),
        (lambda p: cnp.linalg.matrix_norm(p, ord="nuc"),
         lambda p: torch.linalg.matrix_norm(p, ord="nuc"), [m3]),
        (lambda p: cnp.linalg.tensorinv(p, ind=1),
         lambda p: torch.linalg.tensorinv(p, ind=1), [a.reshape(4, 2, 2)]),
        (lambda p, q: cnp.linalg.tensorsolve(p, q),
         lambda p, q: torch.linalg.tensorsolve(p, q), [a.reshape(2, 2, 4), m1[:, :2]]),
    ]
    for f, g, arrays in pairs:
        for mine, torchs in zip(ours(f, *arrays), theirs(g, *arrays)):
            np.testing.assert_allclose(mine, torchs, rtol=1e-10, atol=1e-12)


# (call, exception, phrase): each message also names chainrule.numpy's function
ERRORS = {
    "linalg.cross of 2-vectors": (lambda: cnp.linalg.cross(cr.ones(2), cr.ones(2)),
                                  ValueError, "3-dimensional vectors"),
    "linalg.cross of 0-d": (lambda: cnp.linalg.cross(cr.tensor(1.0), cr.ones(3)), ValueError,
                            "3-dimensional vectors"),
    "linalg.outer of a matrix": (lambda: cnp.linalg.outer(cr.ones(2, 2), cr.ones(2)),
                                 ValueError, "one-dimensional"),
    "linalg.matrix_transpose of a vector": (lambda: cnp.linalg.matrix_transpose(cr.ones(3)),
                                            ValueError, "at least 2-dimensional"),
    "linalg.diagonal of a vector": (lambda: cnp.linalg.diagonal(cr.ones(3)), ValueError,
                                    "at least 2 dimensions"),
    "linalg.trace of a vector": (lambda: cnp.linalg.trace(cr.ones(3)), ValueError,
                                 "at least 2 dimensions"),
    "linalg.matrix_power of a 2 by 3 matrix": (
        lambda: cnp.linalg.matrix_power(cr.ones(2, 3), 2), ValueError, "square"),
    "linalg.matrix_power to 0.5": (lambda: cnp.linalg.matrix_power(cr.eye(2), 0.5), TypeError,
                                   "exponent must be an integer"),
    "linalg.matrix_power of a singular matrix to -1": (
        lambda: cnp.linalg.matrix_power(cr.zeros(2, 2), -1), np.linalg.LinAlgError,
        "singular"),
    "linalg.multi_dot of one array": (lambda: cnp.linalg.multi_dot([cr.ones(2, 2)]),
                                      ValueError, "at least two arrays"),
    "linalg.multi_dot of a 3-D array": (
        lambda: cnp.linalg.multi_dot([cr.ones(2, 2), cr.ones(2, 2, 2), cr.ones(2, 2)]),
        np.linalg.LinAlgError, "two-dimensional"),
    "linalg.multi_dot of sizes that do not fit": (
        lambda: cnp.linalg.multi_dot([cr.ones(2, 3), cr.ones(2, 2), cr.ones(2, 2)]),
        ValueError, "3"),
    "linalg.multi_dot with out=": (
        lambda: cnp.linalg.multi_dot([cr.ones(2, 2)] * 3, out=np.zeros((2, 2))), TypeError,
        "out="),
    "linalg.tensordot of sizes that differ": (
        lambda: cnp.linalg.tensordot(cr.ones(2, 3), cr.ones(2, 3), axes=1), ValueError,
        "shape-mismatch"),
    "linalg.tensordot with a repeated axis": (
        lambda: cnp.linalg.tensordot(cr.ones(2, 2), cr.ones(2, 2), axes=([0, 0], [0, 1])),
        ValueError, "duplicate axes"),
    "linalg.tensorinv with ind=0": (lambda: cnp.linalg.tensorinv(cr.ones(2, 2), ind=0),
                                    ValueError, "Invalid ind"),
    "linalg.tensorinv of a non-square shape": (lambda: cnp.linalg.tensorinv(cr.ones(2, 3, 4)),
                                               ValueError, "(2, 3, 4)"),
    "linalg.tensorinv of a singular tensor": (
        lambda: cnp.linalg.tensorinv(cr.zeros(2, 2, 4)), np.linalg.LinAlgError, "singular"),
    "linalg.tensorsolve of shapes that do not fit": (
        lambda: cnp.linalg.tensorsolve(cr.ones(2, 3, 4), cr.ones(2)), ValueError,
        "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"),
    "linalg.tensorsolve of a singular tensor": (
        lambda: cnp.linalg.tensorsolve(cr.zeros(2, 2, 4), cr.ones(2, 2)),
        np.linalg.LinAlgError, "singular"),
    "linalg.vecdot of vectors of 3 and 4": (
        lambda: cnp.linalg.vecdot(cr.ones(3), cr.ones(4)), ValueError, "3 and 4 entries"),
    "linalg.vecdot along a missing axis": (
        lambda: cnp.linalg.vecdot(cr.ones(3), cr.ones(3), axis=1), IndexError,
        "Dimension out of range"),
    "vecdot of batches that do not broadcast": (
        lambda: cnp.vecdot(cr.ones(2, 3), cr.ones(4, 3)), ValueError, "broadcast"),
    "vecdot with axis and axes": (
        lambda: cnp.vecdot(cr.ones(3), cr.ones(3), axis=0, axes=[0, 0]), TypeError,
        "both 'axis' and 'axes'"),
    "vecdot with out=": (lambda: cnp.vecdot(cr.ones(3), cr.ones(3), out=np.zeros(())),
                         TypeError, "out="),
    "vecdot of a 0-d": (lambda: cnp.vecdot(cr.tensor(2.0), cr.ones(3)), ValueError,
                        "at least 1 dimension"),
    "matvec of sizes that differ": (lambda: cnp.matvec(cr.ones(2, 3), cr.ones(2)), ValueError,
                                    "must have 3"),
    "vecmat of a vector for a matrix": (lambda: cnp.vecmat(cr.ones(3), cr.ones(3)), ValueError,
                                        "at least 2 dimensions"),
    "linalg.matrix_norm of a vector": (lambda: cnp.linalg.matrix_norm(cr.ones(3)), ValueError,
                                       "at least 2 dimensions"),
    "linalg.matrix_norm, ord=3": (lambda: cnp.linalg.matrix_norm(cr.ones(2, 2), ord=3),
                                  ValueError, "Invalid norm order"),
    "linalg.vector_norm, ord='fro'": (lambda: cnp.linalg.vector_norm(cr.ones(3), ord="fro"),
                                      ValueError, "Invalid norm order"),
    "linalg.vector_norm, a repeated axis": (
        lambda: cnp.linalg.vector_norm(cr.ones(2, 2), axis=(0, -2)), ValueError,
        "repeated axis"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_a_bad_input_gets_a_helpful_error(name):
    _needs(_function(name))
    call, kind, phrase = ERRORS[name]
    with pytest.raises(Exception) as caught:
        call()
    message = str(caught.value)
    assert isinstance(caught.value, kind), f"{type(caught.value).__name__}: {message}"
    assert phrase in message, message
    assert message.startswith((f"chainrule.numpy.{_function(name)}: ",
                               f"chainrule.numpy.{_function(name)}(..., out=...): ")), message
    assert not any(text in message for text in INTERNAL), message
