"""NumPy's functions that rearrange or combine arrays (``chainrule/numpy_arrays.py``): on
Tensors they give NumPy's values, and their derivatives match central differences to second
order in both modes (``check_grads``)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.rules.table import LEGACY_PROMOTION
from chainrule.testing import check_grads

RNG = np.random.default_rng(7)
M = RNG.standard_normal((3, 4))
S = RNG.standard_normal((3, 3))
V = RNG.standard_normal(4)
T = RNG.standard_normal((2, 3, 2))
COORDINATES = np.array([0.0, 0.7, 1.5, 1.75])  # (uneven steps)
XP = np.array([0.0, 0.5, 1.2, 2.0, 3.0])  # sample points, and points between them
FP = RNG.standard_normal(5)
X = np.array([[0.1, 0.7, 1.9], [2.4, 0.3, 1.5]])

# (NumPy 2 deprecates cross products of 2-vectors, and says so)
pytestmark = pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")

# name: (function of the module, ``np`` or ``cnp``, and arrays; the arrays)
CASES = {
    "diagonal": (lambda m, a: m.diagonal(a, 1), [M]),
    "diagonal of planes": (lambda m, a: m.diagonal(a, 0, 0, 2), [T]),
    "trace": (lambda m, a: m.trace(a), [S]),
    "trace with offset": (lambda m, a: m.trace(a, -1), [M]),
    "diag of a vector": (lambda m, v: m.diag(v, 1), [V]),
    "diag of a matrix": (lambda m, a: m.diag(a, -1), [M]),
    "tril": (lambda m, a: m.tril(a), [M]),
    "triu": (lambda m, a: m.triu(a, 1), [T]),
    "kron": (lambda m, a, b: m.kron(a, b), [S[:2, :2], M[:2, :3]]),
    "kron of a vector and a matrix": (lambda m, v, a: m.kron(v, a), [V[:2], S]),
    "roll": (lambda m, a: m.roll(a, 2), [M]),
    "roll along axes": (lambda m, a: m.roll(a, (1, -1), (0, 1)), [M]),
    "rot90": (lambda m, a: m.rot90(a), [M]),
    "rot90 three times": (lambda m, a: m.rot90(a, 3, (1, 2)), [T]),
    "flipud": (lambda m, a: m.flipud(a), [M]),
    "fliplr": (lambda m, a: m.fliplr(a), [M]),
    "repeat": (lambda m, a: m.repeat(a, 2, axis=1), [M]),
    "repeat flattened": (lambda m, a: m.repeat(a, [1, 2, 0, 1, 1, 3, 1, 1, 2, 1, 1, 1]), [M]),
    "diff": (lambda m, a: m.diff(a), [M]),
    "second diff": (lambda m, a: m.diff(a, 2, axis=0), [T]),
    "diff with prepend": (lambda m, v: m.diff(v, prepend=0.5), [V]),
    "atleast_3d": (lambda m, v: m.atleast_3d(v), [V]),
    "vstack": (lambda m, v, a: m.vstack([v, a]), [V, M]),
    "hstack": (lambda m, v, w: m.hstack([v, w]), [V, V[:2]]),
    "dstack": (lambda m, a, b: m.dstack([a, b]), [M, M]),
    "column_stack": (lambda m, v, a: m.column_stack([v[:3], a]), [V, M]),
    "split": (lambda m, a: m.stack(m.split(a, 2, axis=1)), [M]),
    "array_split": (lambda m, v: m.concatenate(m.array_split(v, 3)[::-1]), [V]),
    "hsplit at indices": (lambda m, a: m.concatenate(m.hsplit(a, [1, 3])[::-1], axis=1), [M]),
    "append": (lambda m, a, v: m.append(a, v), [M, V]),
    "append along an axis": (lambda m, a: m.append(a, a[:1], axis=0), [M]),
    # cross products: 3-vectors, 2-vectors (NumPy 2 deprecates them), mixed, along axes
    "cross": (lambda m, a, v: m.cross(a, v), [M[:, :3], V[:3]]),
    "cross of 2-vectors": (lambda m, a, b: m.cross(a, b), [M[:, :2], S[:, 1:]]),
    "cross of a 2- and a 3-vector": (lambda m, a, b: m.cross(a, b, axisa=0, axisb=0, axisc=0),
                                     [M[:2], M[:, ::-1]]),
    "cross of a 3- and a 2-vector": (lambda m, a, b: m.cross(a, b), [S, M[:, :2]]),
    "cross along an axis": (lambda m, t, s: m.cross(t, s[None], axis=1), [T.swapaxes(1, 2), S]),
    # finite differences: even steps, a spacing, coordinates, orders 1 and 2, axes
    "gradient": (lambda m, a: m.stack(m.gradient(a)), [M]),
    "gradient with a spacing": (lambda m, v: m.gradient(v, 0.5, edge_order=2), [V]),
    "gradient at coordinates": (lambda m, v, x: m.gradient(v, x), [V, COORDINATES]),
    "gradient at coordinates, second-order ends":
        (lambda m, v, x: m.gradient(v, x, edge_order=2), [V, COORDINATES]),
    "gradient along axes": (lambda m, t, x: m.stack(m.gradient(t, x[:3], 2.0, axis=(1, 0))),
                            [T, COORDINATES]),
    # padding, in each of NumPy's modes
    "pad with zeros": (lambda m, a: m.pad(a, ((1, 2), (0, 3))), [M]),
    "pad with constants per side": (lambda m, a: m.pad(a, 2, constant_values=((1.5, -2.0),
                                                                             (3.0, 4.0))), [M]),
    "pad with a constant that is an input": (lambda m, a, c: m.pad(a, (1, 2), constant_values=c),
                                             [M, np.array(0.75)]),
    "pad with the edge": (lambda m, t: m.pad(t, {1: (2, 1), -1: 3}, "edge"), [T]),
    "pad by wrapping": (lambda m, a: m.pad(a, ((4, 5), (7, 2)), "wrap"), [M]),
    "pad by reflection": (lambda m, a: m.pad(a, ((2, 1), (3, 3)), "reflect"), [M]),
    "pad by reflection, wider than the array": (lambda m, v: m.pad(v, (7, 9), "reflect"), [V]),
    "pad symmetrically": (lambda m, a: m.pad(a, (5, 2), "symmetric"), [M]),
    "pad by odd reflection": (lambda m, v: m.pad(v, (7, 9), "reflect", reflect_type="odd"), [V]),
    "pad by odd symmetry": (lambda m, a: m.pad(a, 4, "symmetric", reflect_type="odd"), [M]),
    "pad with linear ramps": (lambda m, a: m.pad(a, (2, 3), "linear_ramp",
                                                 end_values=((1.0, 2.0), (-3.0, 0.5))), [M]),
    "pad with ramps to inputs": (lambda m, v, e: m.pad(v, (3, 2), "linear_ramp", end_values=e),
                                 [V, np.array([0.5, -1.5])]),
    "pad with the maximum": (lambda m, a: m.pad(a, (2, 1), "maximum"), [M]),
    "pad with the minimum of 2": (lambda m, a: m.pad(a, 1, "minimum", stat_length=2), [M]),
    "pad with means": (lambda m, a: m.pad(a, (2, 3), "mean", stat_length=((1, 2), (3, 1))),
                       [M]),
    "pad with medians": (lambda m, a: m.pad(a, (2, 3), "median"), [M]),
    "pad with medians of 3": (lambda m, t: m.pad(t, 1, "median", stat_length=3), [T]),
    # choosing and interpolating
    "select": (lambda m, a, b: m.select([a > 0, b < 0.5], [a, 2 * b], default=-1.0), [M, V]),
    "select with an input as default": (lambda m, a, v: m.select([a > 0], [a], v), [M, V]),
    "interp": (lambda m, x, f: m.interp(x, XP, f), [X, FP]),
    "interp outside, with left and right": (lambda m, x, f: m.interp(x - 3.0, XP, f, -1.0, 2.0),
                                            [X, FP]),
    "interp in the sample points too": (lambda m, x, xp, f: m.interp(x, xp, f), [X, XP, FP]),
    "interp of a periodic function": (lambda m, x, f: m.interp(1.3 * x, XP, f, period=3.0),
                                      [X, FP]),
    # arrays built of Tensors, arrays and numbers
    "array of rows": (lambda m, a, v: m.array([a[0], v, np.ones(4)]), [M, V]),
    "array of entries and numbers": (lambda m, a: m.array([[a[0, 0], 2.0], [a[1, 1] * a[0, 1],
                                                                            0.0]]), [M]),
    "array of a tensor, at least 3-D": (lambda m, v: m.array(v, ndmin=3), [V]),
    "asarray of a list": (lambda m, v: m.asarray([v, v * 2], dtype=np.float64), [V]),
    "concatenate with an ndarray": (lambda m, a: m.concatenate([a, np.ones((1, 4))]), [M]),
    "concatenate flattened": (lambda m, a, v: m.concatenate([a, v, [1.0]], axis=None), [M, V]),
    "stack with an ndarray": (lambda m, v: m.stack([v, np.arange(4.0)], axis=1), [V]),
    "linspace": (lambda m, s, e: m.linspace(s, e, 7), [np.array(-0.5), np.array(2.0)]),
    "linspace without the end": (lambda m, v: m.linspace(v[0], v[1], 4, endpoint=False), [V]),
    "linspace of vectors along an axis": (lambda m, v, w: m.linspace(v, w, 5, axis=-1),
                                          [V, V[::-1] + 2.0]),
    "r_": (lambda m, v: m.r_[v, 0.5, 1:3, v * 2], [V]),
    "r_ with a linspace": (lambda m, v: m.r_[v[0]:v[1]:5j, v], [V]),
    "r_ with a directive": (lambda m, v, a: m.r_["0,2", v, a], [V, M]),
    "c_": (lambda m, v: m.c_[v, v ** 2, np.ones(4)], [V]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CASES)
def test_values_are_numpys_to_the_bit(name, dtype):
    f, arrays = CASES[name]
    arrays = [a.astype(dtype) for a in arrays]
    try:
        expected = f(np, *arrays)
    except TypeError as err:  # (a dict of pad widths: NumPy 2.3 and later)
        pytest.skip(f"the installed NumPy does not take these arguments: {err}")
    ours = f(cnp, *[cr.tensor(a) for a in arrays])
    if LEGACY_PROMOTION and dtype == np.float32:
        # NumPy 1 computes with float32 0-d values in float64 (promotion by value); chainrule
        # keeps float32, as NumPy 2 does (README, "Choices")
        np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-6, atol=1e-6)
        return
    assert ours.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(ours), expected)


@pytest.mark.parametrize("name", CASES)
def test_derivatives_match_differences(name):
    f, arrays = CASES[name]
    check_grads(lambda *xs: f(cnp, *xs), arrays, order=2)


def test_split_refuses_an_unequal_division_as_numpy():
    with pytest.raises(ValueError, match="equal division"):
        cnp.split(cr.tensor(V), 3)


# ---------------------------------------------------------------------------------------------
# Bugs (each of these tests failed before its fix)


@pytest.mark.parametrize("call", [
    lambda: cnp.diagonal(cr.ones(2, 3), 0, 0, 2),
    lambda: cnp.rot90(cr.ones(2, 3), 1, (0, 2)),
    lambda: cr.diagonal(cr.ones(2, 3), 0, -3, 1),
    lambda: cr.rot90(cr.ones(2, 3), 1, (0, 2)),
], ids=["numpy.diagonal", "numpy.rot90", "diagonal", "rot90"])
def test_an_axis_out_of_range_is_refused_not_wrapped(call):
    # (an axis of 2 for a matrix was read as axis 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        call()


@pytest.mark.parametrize(("name", "call"), [
    ("roll", lambda: cr.roll(cr.ones(3), 1, 2)),
    ("roll", lambda: cnp.roll(cr.ones(3), 1, axis=-2)),
    ("diff", lambda: cr.diff(cr.ones(3), dim=2)),
    ("diff", lambda: cnp.diff(cr.ones(3), axis=1)),
    ("repeat_interleave", lambda: cr.repeat_interleave(cr.ones(3), 2, dim=2)),
    ("repeat", lambda: cnp.repeat(cr.ones(3), 2, axis=1)),
])
def test_a_bad_dim_names_the_function_and_the_dim(name, call):
    # (they raised "tuple index out of range")
    with pytest.raises(IndexError, match="Dimension out of range") as caught:
        call()
    assert name in str(caught.value)


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("dtype", [cr.int32, cr.int64])
def test_triangles_of_integers_keep_their_dtype(name, dtype):
    # (diag kept v's dtype already: this guards it)
    assert cr.diag(cr.tensor([1, 2], dtype=dtype)).dtype == dtype
    assert cnp.diag(cr.tensor([[1, 2], [3, 4]], dtype=dtype), 1).dtype == dtype
    a = np.arange(1, 10, dtype=dtype).reshape(3, 3)
    for result in (getattr(cr, name)(cr.tensor(a)), getattr(cnp, name)(cr.tensor(a), 1)):
        assert result.dtype == dtype  # (they came back float64)
    np.testing.assert_array_equal(getattr(cr, name)(cr.tensor(a)).numpy(), getattr(np, name)(a))


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2)])
def test_pytorchs_trace_wants_a_matrix(shape):
    # (a vector failed inside permute; a stack of matrices gave a vector)
    with pytest.raises(RuntimeError, match=f"trace: expected a matrix, but got tensor with dim "
                                           f"{len(shape)}"):
        cr.trace(cr.ones(*shape))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        cr.ones(*shape).trace()


def test_numpys_trace_honours_dtype_and_refuses_out():
    a = RNG.standard_normal((3, 3))
    ours = cnp.trace(cr.tensor(a), dtype=np.float32)
    assert ours.dtype == np.float32  # (dtype was ignored)
    np.testing.assert_array_equal(ours.numpy(), np.trace(a, dtype=np.float32))
    with pytest.raises(TypeError, match="out="):
        cnp.trace(cr.tensor(a), out=np.zeros(()))


@pytest.mark.parametrize("name", ["var", "std"])
def test_numpys_var_and_std_honour_dtype(name):
    for a in (np.array([1, 2, 4, 7]), RNG.standard_normal(5)):
        ours = getattr(cnp, name)(cr.tensor(a), dtype=np.float32, ddof=1)
        expected = getattr(np, name)(a.astype(np.float32), ddof=1)
        assert ours.dtype == np.float32 == getattr(np, name)(a, dtype=np.float32).dtype
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Arrays built of Tensors; the functions' other paths


def test_an_array_of_tensors_is_differentiable_as_in_hips_autograd():
    # f(x, y) = |(x y, x + y, 3)|^2: df/dx = 2 x y^2 + 2 (x + y), df/dy = 2 x^2 y + 2 (x + y)
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    y = cr.tensor(-0.5, dtype=cr.float64, requires_grad=True)
    v = cnp.array([x * y, x + y, 3.0])
    np.testing.assert_array_equal(v.detach().numpy(), [-0.75, 1.0, 3.0])
    (v ** 2).sum().backward()
    assert x.grad.item() == 2 * 1.5 * 0.25 + 2 * 1.0
    assert y.grad.item() == 2 * 2.25 * -0.5 + 2 * 1.0


def test_array_copies_and_asarray_does_not():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    assert cnp.asarray(t) is t
    copy = cnp.array(t)
    assert copy is not t and copy.grad_fn is not None
    assert cnp.asarray(t, dtype=np.float64).dtype == np.float64
    # the dtype is NumPy's for the same values (a float64 number among float32 entries)
    assert cnp.array([t, np.float64(1.0) * np.ones(2)]).dtype == np.float64
    assert cnp.array([t, [3, 4]]).dtype == np.array([t.detach().numpy(), [3, 4]]).dtype
    # without a Tensor, these are NumPy's own
    for made in (cnp.array([1.0, 2.0]), cnp.asarray([1]), cnp.r_[1:3, 5.0], cnp.c_[[1, 2]],
                 cnp.linspace(0, 1, 3), cnp.concatenate([np.ones(2), [3.0]])):
        assert type(made) is np.ndarray


def test_r_and_c_of_tensors_give_gradients():
    v = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    out = cnp.r_[v, 0.0, v * 3.0]
    np.testing.assert_array_equal(out.detach().numpy(), [1.0, 2.0, 0.0, 3.0, 6.0])
    (out * cr.tensor([1.0, 10.0, 100.0, 1000.0, 10000.0], dtype=cr.float64)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0 + 3000.0, 10.0 + 30000.0])
    assert cnp.c_[v, v].shape == (2, 2) == np.c_[[1.0, 2.0], [1.0, 2.0]].shape


def test_linspace_returns_numpys_step():
    y, step = cnp.linspace(cr.tensor(0.0, dtype=cr.float64), 2.0, 5, retstep=True)
    assert float(step) == np.linspace(0.0, 2.0, 5, retstep=True)[1] == 0.5
    assert cnp.linspace(cr.tensor(0.0), 10.0, 4, dtype=np.int64).tolist() == \
        np.linspace(0.0, 10.0, 4, dtype=np.int64).tolist()


def test_gradient_gives_a_tuple_for_several_axes_and_floats_for_integers():
    a = np.arange(12).reshape(3, 4) ** 2
    ours, expected = cnp.gradient(cr.tensor(a)), np.gradient(a)
    assert isinstance(ours, tuple) and len(ours) == 2
    for o, e in zip(ours, expected):
        assert o.dtype == e.dtype == np.float64
        np.testing.assert_array_equal(o.numpy(), e)


@pytest.mark.parametrize("mode", ["mean", "median", "linear_ramp", "reflect"])
def test_pad_of_integers_is_numpys_with_its_rounding(mode):
    a = np.array([[1, 4, 2], [8, 5, 7]])
    ours = cnp.pad(cr.tensor(a), (2, 3), mode)
    assert ours.dtype == a.dtype
    np.testing.assert_array_equal(ours.numpy(), np.pad(a, (2, 3), mode))


def test_pad_empty_gives_zeros_where_numpy_leaves_the_values_undefined():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    out = cnp.pad(t, (1, 2), "empty")
    assert out.tolist() == [0.0, 1.0, 2.0, 0.0, 0.0]
    out.sum().backward()
    assert t.grad.tolist() == [1.0, 1.0]


def test_interp_between_sample_points_has_the_segments_slope():
    x = cr.tensor([0.25, 1.5, 2.75], dtype=cr.float64, requires_grad=True)
    fp = np.array([0.0, 1.0, 3.0, 2.0])
    cnp.interp(x, [0.0, 1.0, 2.0, 3.0], fp).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, -1.0])


def test_interp_follows_numpy_at_nan_and_infinite_values():
    xp = np.array([0.0, 1.0, 2.0, 3.0])
    fp = np.array([0.0, np.inf, 2.0, 2.0])
    x = np.array([np.nan, 0.5, 1.0, 1.5, 2.5, 3.0, -1.0, 4.0])
    np.testing.assert_array_equal(cnp.interp(cr.tensor(x), xp, fp).numpy(),
                                  np.interp(x, xp, fp))
    np.testing.assert_array_equal(cnp.interp(cr.tensor(x), xp[:1], fp[:1]).numpy(),
                                  np.interp(x, xp[:1], fp[:1]))


def test_numpys_own_functions_on_tensors_record():
    # (NumPy's protocol hands np.pad, np.cross ... of a Tensor to chainrule.numpy)
    x = cr.tensor([1.0, 2.0, 4.0], dtype=cr.float64, requires_grad=True)
    for out in (np.pad(x, 1, "reflect"), np.cross(x, x[::-1]), np.gradient(x),
                np.interp(x, [0.0, 5.0], [1.0, 2.0]), np.select([x > 1.5], [x]),
                np.linspace(x, 2 * x, 3), np.concatenate([x, np.ones(1)])):
        assert isinstance(out, cr.Tensor) and out.requires_grad
