"""The public functions (``chainrule.add``) and Tensor's methods (``x.add``) are one operation
each: the method is :mod:`chainrule.ops`' function, the public function the same one made to
take any input and return a Tensor."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import functions, ops

SHARED = sorted(name for name in vars(cr.Tensor)
                if not name.startswith("_") and callable(getattr(functions, name, None)))


def test_methods_and_functions_share_their_names():
    assert len(SHARED) > 80
    assert {"add", "sum", "exp", "reshape", "max", "sort", "where"} - set(SHARED) == {"where"}


@pytest.mark.parametrize("name", SHARED)
def test_a_public_function_is_the_method_behind_the_same_name(name):
    method = vars(cr.Tensor)[name]
    if isinstance(method, property):  # (x.real: PyTorch's properties)
        method = method.fget
    public = getattr(functions, name)
    assert public.__wrapped__ is method, f"chainrule.{name} and Tensor.{name} differ"


UNARY_ON_RAW = ["exp", "sum", "mean", "abs", "neg", "flatten", "argmax", "isnan", "clone",
                "t", "logsumexp", "cumsum"]


@pytest.mark.parametrize("name", UNARY_ON_RAW)
def test_a_public_function_of_a_list_or_ndarray_returns_a_tensor(name):
    args = (0,) if name == "cumsum" else ()
    for value in ([[1.0, 2.0], [3.0, 4.0]], np.array([[1.0, 2.0], [3.0, 4.0]])):
        out = getattr(cr, name)(value, *args)
        assert type(out) is cr.Tensor
        expected = getattr(cr.tensor(np.asarray(value)), name)(*args)
        np.testing.assert_allclose(out.numpy(), expected.numpy())


def test_binary_and_joining_functions_of_raw_values_return_tensors():
    a, b = np.arange(3.0), [1.0, 1.0, 1.0]
    for out in (cr.add(a, b), cr.mul(2.0, a), cr.matmul(a, a), cr.cat([a, b]),
                cr.stack([a, b]), cr.einsum("i,i->", a, b), cr.where(a > 0, a, 0.0),
                cr.max(a, 0).values, cr.sort(a).indices):
        assert type(out) is cr.Tensor


def test_an_error_on_a_raw_argument_names_the_public_function():
    with pytest.raises(ValueError, match=r"chainrule\.reshape: .*a tensor of shape \(4,\)"):
        cr.reshape([1.0, 2.0, 3.0, 4.0], (5,))


def test_ops_on_arrays_alone_are_numpy():
    """``chainrule.ops`` follows the primitives' rule: no tensor in, NumPy out."""
    out = ops.sum(np.arange(4.0), 0)
    assert type(out) is not cr.Tensor and float(out) == 6.0
    values, indices = ops.max(np.array([1.0, 5.0, 2.0]), 0)
    assert float(values) == 5.0 and int(indices) == 1


NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "sinh": "sinh",
               "cosh": "cosh", "asinh": "arcsinh", "atanh": "arctanh", "log2": "log2",
               "log10": "log10", "exp2": "exp2", "deg2rad": "deg2rad", "rad2deg": "rad2deg",
               "sinc": "sinc"}


@pytest.mark.parametrize("name", sorted(NUMPY_NAMES))
def test_numpys_other_functions_under_pytorchs_names(name):
    a = np.array([0.2, 0.5, 0.7])
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    method, function = getattr(x, name)(), getattr(cr, name)(x)
    expected = getattr(np, NUMPY_NAMES[name])(a)
    np.testing.assert_allclose(method.detach().numpy(), expected)
    np.testing.assert_allclose(function.detach().numpy(), expected)
    assert cr.autograd.gradcheck(getattr(cr, name), (x,))


def test_two_input_functions_under_pytorchs_names():
    a, b = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    x, y = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (a, b))
    for name, reference in (("atan2", np.arctan2), ("hypot", np.hypot), ("fmax", np.fmax),
                            ("fmin", np.fmin), ("logaddexp2", np.logaddexp2)):
        np.testing.assert_allclose(getattr(cr, name)(x, y).detach().numpy(), reference(a, b))
        assert cr.autograd.gradcheck(getattr(cr, name), (x, y))


def test_they_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([0.2, 0.5, 0.7])
    for name in [*NUMPY_NAMES, "acosh"]:
        values = a + 1.5 if name == "acosh" else a
        ours = cr.tensor(values, dtype=cr.float64, requires_grad=True)
        theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        getattr(cr, name)(ours).sum().backward()
        getattr(torch, name)(theirs).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), err_msg=name)


ARRAY_CASES = {  # name: (chainrule's or torch's call, NumPy's)
    "tril": (lambda m, x: m.tril(x, -1), lambda a: np.tril(a, -1)),
    "triu": (lambda m, x: m.triu(x, 1), lambda a: np.triu(a, 1)),
    "diag": (lambda m, x: m.diag(x, 1), lambda a: np.diag(a, 1)),
    "diagonal": (lambda m, x: m.diagonal(x, -1, 0, 1), lambda a: np.diagonal(a, -1, 0, 1)),
    "trace": (lambda m, x: m.trace(x[:, :3]), lambda a: np.trace(a[:, :3])),
    "kron": (lambda m, x: m.kron(x[:2, :2], x), lambda a: np.kron(a[:2, :2], a)),
    "roll": (lambda m, x: m.roll(x, (1, 2), (0, 1)), lambda a: np.roll(a, (1, 2), (0, 1))),
    "rot90": (lambda m, x: m.rot90(x, 3, (1, 0)), lambda a: np.rot90(a, 3, (1, 0))),
    "diff": (lambda m, x: m.diff(x, 2, 1), lambda a: np.diff(a, 2, 1)),
    "repeat_interleave": (lambda m, x: m.repeat_interleave(x, 2, 0),
                          lambda a: np.repeat(a, 2, 0)),
    "fliplr": (lambda m, x: m.fliplr(x), np.fliplr),
    "flipud": (lambda m, x: m.flipud(x), np.flipud),
    "cross": (lambda m, x: m.cross(x, x ** 2, dim=0), lambda a: np.cross(a, a ** 2, axis=0)),
    "cross as a method": (lambda m, x: x[:, :2].T.cross(x[:, 1:3].T, dim=1),
                          lambda a: np.cross(a[:, :2].T, a[:, 1:3].T)),
    "linalg.cross": (lambda m, x: m.linalg.cross(x[None, :, :1].mT, x[None, :, 1:].mT),
                     lambda a: np.cross(a[None, :, :1].swapaxes(1, 2),
                                        a[None, :, 1:].swapaxes(1, 2))),
    "ravel": (lambda m, x: m.ravel(x.T), lambda a: np.ravel(a.T)),
    "ravel as a method": (lambda m, x: x[1:].ravel(), lambda a: np.ravel(a[1:])),
}


@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_array_functions_under_pytorchs_names(name):
    ours, numpys = ARRAY_CASES[name]
    a = np.random.default_rng(3).standard_normal((3, 4))
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    np.testing.assert_allclose(ours(cr, x).detach().numpy(), numpys(a))
    assert cr.autograd.gradcheck(lambda t: ours(cr, t), (x,))


@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_array_functions_agree_with_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, _ = ARRAY_CASES[name]
    a = np.random.default_rng(3).standard_normal((3, 4))
    x = cr.tensor(a, dtype=cr.float64, requires_grad=True)
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    (ours(cr, x) ** 2).sum().backward()
    (ours(torch, t) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_cross_takes_the_first_dimension_of_size_3_by_default():
    a, b = np.random.default_rng(4).standard_normal((2, 4, 3, 3))
    ours = cr.cross(cr.tensor(a), cr.tensor(b))  # (dimension 1, as PyTorch's default)
    np.testing.assert_array_equal(ours.numpy(), np.cross(a, b, axis=1))
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning):  # (PyTorch deprecates the default; chainrule keeps it)
        theirs = torch.cross(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)


PADS = [((1, 2), "constant", None), ((1, -1, -1, 2), "constant", 1.5),
        ((2, 0, 1, 1, 0, 3), "constant", -2.0), ((1, 2), "reflect", None),
        ((2, 3, 1, 2), "reflect", None), ((-1, 2), "reflect", None),
        ((3, 4, 5, 1), "replicate", None), ((-1, 2, 1, -2), "replicate", None),
        ((4, 5, 3, 3), "circular", None), ((-1, 2), "circular", None),
        ((1, 1, 2, 1, 1, 2), "circular", None)]


def padded_input(pad) -> np.ndarray:
    """A batch of one channel more than padded dimensions (what PyTorch's modes take)."""
    return np.random.default_rng(5).standard_normal((2, 3, 4, 5, 6)[-(len(pad) // 2 + 2):])


@pytest.mark.parametrize(("pad", "mode", "value"), PADS)
def test_nn_functional_pad(pad, mode, value):
    x = padded_input(pad)
    numpys = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}[mode]
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [tuple(pad[i:i + 2]) for i in
                                              range(len(pad) - 2, -1, -2)]
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(x.shape, pairs))
    grow = [(max(b, 0), max(a, 0)) for b, a in pairs]
    kw = {} if value is None else {"constant_values": value}
    # NumPy's padding of the cropped array (PyTorch's reflection and replication crop after)
    if mode == "circular" or all(min(p) >= 0 for p in pairs):
        expected = np.pad(x[crop], grow, numpys, **kw)
    else:
        expected = np.pad(x, grow, numpys, **kw)[tuple(
            slice(max(-b, 0), n + max(b, 0) + max(a, 0) - max(-a, 0))
            for n, (b, a) in zip(x.shape, pairs))]
    t = cr.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(cr.nn.functional.pad(t, pad, mode, value).detach().numpy(),
                                  expected)
    assert cr.autograd.gradcheck(lambda u: cr.nn.functional.pad(u, pad, mode, value), (t,))


@pytest.mark.parametrize(("pad", "mode", "value"), PADS)
def test_nn_functional_pad_agrees_with_pytorch(pad, mode, value):
    torch = pytest.importorskip("torch")
    x = padded_input(pad)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    weights = np.random.default_rng(6).standard_normal(
        cr.nn.functional.pad(ours, pad, mode, value).shape)
    (cr.nn.functional.pad(ours, pad, mode, value) * cr.tensor(weights)).sum().backward()
    (torch.nn.functional.pad(theirs, pad, mode, value) * torch.tensor(weights)).sum().backward()
    # (the same sums of the same terms, maybe in another order)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(cr.nn.functional.pad(ours, pad, mode, value).detach().numpy(),
                                  torch.nn.functional.pad(theirs, pad, mode, value).detach())


def test_nn_functional_pad_keeps_an_integer_dtype():
    out = cr.nn.functional.pad(cr.arange(6).reshape(2, 3), (1, 1), value=2.5)
    assert out.dtype == cr.int64 and out.tolist() == [[2, 0, 1, 2, 2], [2, 3, 4, 5, 2]]


def test_linspace_between_tensors_is_differentiable():
    start = cr.tensor(-1.0, dtype=cr.float64, requires_grad=True)
    end = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = cr.linspace(start, end, 5, dtype=cr.float64)
    np.testing.assert_array_equal(y.detach().numpy(), np.linspace(-1.0, 3.0, 5))
    (y * cr.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=cr.float64)).sum().backward()
    # y_i = start + i (end - start) / 4: d/dstart = sum_i w_i (1 - i/4), d/dend = sum_i w_i i/4
    assert start.grad.item() == 5.0 and end.grad.item() == 10.0
    assert cr.linspace(0.0, end, 3).dtype == cr.get_default_dtype()  # (PyTorch's dtype)
    assert cr.autograd.gradgradcheck(lambda s, e: cr.linspace(s, e, 4, dtype=cr.float64) ** 2,
                                     (start, end))
