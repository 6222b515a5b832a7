"""chainrule.autograd.functional: Jacobians, Hessians and products against central finite
differences in float64, closed forms, and torch.autograd.functional where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.functional as F

RNG = np.random.default_rng(16)
XA, YA = RNG.standard_normal(3), RNG.standard_normal(2)
VA, WA = RNG.standard_normal(3), RNG.standard_normal(2)


def pair(ns, x, y):
    """R^3 x R^2 -> (R^3, R^2)."""
    return ns.tanh(x) * y.sum(), (x ** 2).sum() + ns.sin(y)


def scalar(ns, x, y):
    """R^3 x R^2 -> R, with a Hessian that couples x and y."""
    return (x ** 3).sum() * y.sum() + ns.sin(x).sum() * (y ** 2).sum()


def numeric(f, arrays, eps=1e-6):
    """Central differences: J[i][j] = d out_i / d in_j, of shape out_i.shape + in_j.shape."""
    outs = [np.asarray(o) for o in f(*arrays)]
    jac = [[np.zeros(o.shape + a.shape) for a in arrays] for o in outs]
    for j, a in enumerate(arrays):
        for k in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[j][k] += eps
            minus[j][k] -= eps
            for i, (p, m) in enumerate(zip(f(*plus), f(*minus))):
                jac[i][j][(...,) + k] = (np.asarray(p) - np.asarray(m)) / (2 * eps)
    return jac


def np_pair(x, y):
    return np.tanh(x) * y.sum(), (x ** 2).sum() + np.sin(y)


def np_gradient(x, y):
    """The gradient of ``scalar`` in closed form (for the Hessian's finite differences)."""
    return (3 * x ** 2 * y.sum() + np.cos(x) * (y ** 2).sum(),
            (x ** 3).sum() + 2 * y * np.sin(x).sum())


def tensors(*arrays):
    return tuple(cr.tensor(a) for a in arrays)


def close(a, b, tol=1e-7):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), b, rtol=tol, atol=tol)


MODES = [(False, "reverse-mode"), (True, "reverse-mode"), (True, "forward-mode")]


@pytest.mark.parametrize("vectorize,strategy", MODES)
def test_jacobian_of_tuples_is_a_tuple_per_output_of_a_tuple_per_input(vectorize, strategy):
    jac = F.jacobian(lambda x, y: pair(cr, x, y), tensors(XA, YA), vectorize=vectorize,
                     strategy=strategy)
    expected = numeric(np_pair, [XA, YA])
    assert isinstance(jac, tuple) and all(isinstance(row, tuple) for row in jac)
    for i in range(2):
        for j in range(2):
            assert jac[i][j].shape == expected[i][j].shape
            close(jac[i][j], expected[i][j])


@pytest.mark.parametrize("vectorize,strategy", MODES)
def test_jacobian_of_one_tensor_is_a_tensor(vectorize, strategy):
    jac = F.jacobian(lambda x: cr.tanh(x) * x.sum(), cr.tensor(XA), vectorize=vectorize,
                     strategy=strategy)
    assert isinstance(jac, cr.Tensor)
    close(jac, numeric(lambda x: (np.tanh(x) * x.sum(),), [XA])[0][0])
    # one tensor in, a tuple out: a tuple of tensors
    jac = F.jacobian(lambda x: (x * 2, x.sum()), cr.tensor(XA), vectorize=vectorize,
                     strategy=strategy)
    assert isinstance(jac, tuple) and len(jac) == 2
    close(jac[0], 2 * np.eye(3))
    close(jac[1], np.ones(3))


@pytest.mark.parametrize("vectorize,strategy", MODES)
def test_hessian_against_differences_of_the_gradient(vectorize, strategy):
    h = F.hessian(lambda x, y: scalar(cr, x, y), tensors(XA, YA), vectorize=vectorize,
                  outer_jacobian_strategy=strategy)
    expected = numeric(np_gradient, [XA, YA])
    for i in range(2):
        for j in range(2):
            close(h[i][j], expected[i][j], 1e-6)
    single = F.hessian(lambda x: (x ** 3).sum(), cr.tensor(XA), vectorize=vectorize,
                       outer_jacobian_strategy=strategy)
    close(single, np.diag(6 * XA))


def test_products_against_the_jacobian():
    jac = numeric(np_pair, [XA, YA])
    out, vj = F.vjp(lambda x, y: pair(cr, x, y), tensors(XA, YA), tensors(VA, WA))
    close(out[0], np_pair(XA, YA)[0])
    for j in range(2):  # (v^T J)_j = sum_i v_i . J[i][j]
        close(vj[j], VA @ jac[0][j] + WA @ jac[1][j])
    _, jv = F.jvp(lambda x, y: pair(cr, x, y), tensors(XA, YA), tensors(VA, WA))
    for i in range(2):
        close(jv[i], jac[i][0] @ VA + jac[i][1] @ WA)
    hess = numeric(np_gradient, [XA, YA])
    value, hv = F.hvp(lambda x, y: scalar(cr, x, y), tensors(XA, YA), tensors(VA, WA))
    close(value, (XA ** 3).sum() * YA.sum() + np.sin(XA).sum() * (YA ** 2).sum())
    _, vh = F.vhp(lambda x, y: scalar(cr, x, y), tensors(XA, YA), tensors(VA, WA))
    for i in range(2):
        close(hv[i], hess[i][0] @ VA + hess[i][1] @ WA, 1e-6)
        close(vh[i], VA @ hess[0][i] + WA @ hess[1][i], 1e-6)


def test_v_may_be_omitted_only_for_one_element():
    out, g = F.vjp(lambda x: (x ** 2).sum(), cr.tensor(XA))
    close(g, 2 * XA)
    _, d = F.jvp(lambda x: x ** 3, cr.tensor(2.0))
    close(d, 12.0)
    with pytest.raises(RuntimeError, match="v can only be None if the user-provided function "
                                           "returns a single Tensor with a single element"):
        F.vjp(lambda x: x ** 2, cr.tensor(XA))
    with pytest.raises(RuntimeError, match="v can only be None if the input to the "
                                           "user-provided function is a single Tensor"):
        F.hvp(lambda x: (x ** 2).sum(), cr.tensor(XA))


def test_results_are_detached_unless_create_graph():
    x = cr.tensor(XA, requires_grad=True)
    out, g = F.vjp(lambda x: (x ** 3).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    assert not F.jacobian(lambda x: x ** 3, x).requires_grad
    # with create_graph the results stay differentiable with respect to x:
    # g = 3 x^2, so d(sum g)/dx = 6 x
    _, g = F.vjp(lambda x: (x ** 3).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    close(gg, 6 * XA)
    jac = F.jacobian(lambda x: x ** 3, x, create_graph=True)
    (jj,) = cr.autograd.grad(jac.sum(), x)
    close(jj, 6 * XA)
    _, hv = F.hvp(lambda x: (x ** 3).sum(), x, cr.tensor(VA), create_graph=True)
    (third,) = cr.autograd.grad(hv.sum(), x)  # H v = 6 x v, its derivative 6 v
    close(third, 6 * VA)
    assert x.grad is None


def test_unused_inputs_give_zeros_or_strict_errors():
    f = lambda x, y: (x ** 2).sum()  # noqa: E731  (independent of y)
    _, g = F.vjp(f, tensors(XA, YA))
    close(g[1], np.zeros(2))
    with pytest.raises(RuntimeError, match="independent of input 1. This is not allowed in "
                                           "strict mode"):
        F.vjp(f, tensors(XA, YA), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is "
                                           "independent of input 1"):
        F.jacobian(f, tensors(XA, YA), strict=True)
    with pytest.raises(RuntimeError, match="the jacobian of the user-provided function with "
                                           "respect to input 0 is independent of the input"):
        F.hessian(lambda x: x.sum(), cr.tensor(XA), strict=True)  # linear: constant Jacobian


def test_argument_errors():
    with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor "
                                        "or a tuple of Tensors but the value at index 1"):
        F.jacobian(lambda x, y: x, (cr.tensor(XA), XA))
    with pytest.raises(RuntimeError, match=r"Entry 1 in v has invalid size: should be "
                                           r"torch.Size\(\[2\]\) but got torch.Size\(\[3\]\)"):
        F.jvp(lambda x, y: x * y.sum(), tensors(XA, YA), tensors(VA, VA))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2"):
        F.vhp(lambda x, y: (x * y.sum()).sum(), tensors(XA, YA), tensors(VA))
    with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
        F.jacobian(lambda x: x, cr.tensor(XA), strategy="forward-mode")
    with pytest.raises(NotImplementedError, match="`create_graph=True` and "
                                                  '`strategy="forward-mode"`'):
        F.jacobian(lambda x: x, cr.tensor(XA), create_graph=True, vectorize=True,
                   strategy="forward-mode")
    with pytest.raises(RuntimeError, match="`strict=True` and `vectorized=True` are not "
                                           "supported together"):
        F.jacobian(lambda x: x, cr.tensor(XA), strict=True, vectorize=True)
    with pytest.raises(ValueError, match='Expected strategy to be either "forward-mode" or '
                                         '"reverse-mode"'):
        F.jacobian(lambda x: x, cr.tensor(XA), strategy="fwd")
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single "
                                           "Tensor"):
        F.hvp(lambda x: (x.sum(), x.sum()), cr.tensor(XA), cr.tensor(VA))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        F.hessian(lambda x: x * 2, cr.tensor(XA))


# --------------------------------------------------------------------------------------------
# against PyTorch


def _same(ours, theirs, tol=1e-10):
    if isinstance(theirs, (tuple, list)):  # (PyTorch's forward-mode Jacobian of tuples is a
        assert isinstance(ours, tuple) and len(ours) == len(theirs)  # list; ours a tuple)
        for a, b in zip(ours, theirs):
            _same(a, b, tol)
        return
    assert isinstance(ours, cr.Tensor)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("vectorize,strategy", MODES)
def test_jacobian_and_hessian_match_pytorch(vectorize, strategy):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    t = lambda *arrays: tuple(torch.tensor(a) for a in arrays)  # noqa: E731
    _same(F.jacobian(lambda x, y: pair(cr, x, y), tensors(XA, YA), vectorize=vectorize,
                     strategy=strategy),
          TF.jacobian(lambda x, y: pair(torch, x, y), t(XA, YA), vectorize=vectorize,
                      strategy=strategy))
    _same(F.hessian(lambda x, y: scalar(cr, x, y), tensors(XA, YA), vectorize=vectorize,
                    outer_jacobian_strategy=strategy),
          TF.hessian(lambda x, y: scalar(torch, x, y), t(XA, YA), vectorize=vectorize,
                     outer_jacobian_strategy=strategy))


def test_products_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    t = lambda *arrays: tuple(torch.tensor(a) for a in arrays)  # noqa: E731
    _same(F.vjp(lambda x, y: pair(cr, x, y), tensors(XA, YA), tensors(VA, WA)),
          TF.vjp(lambda x, y: pair(torch, x, y), t(XA, YA), t(VA, WA)))
    _same(F.jvp(lambda x, y: pair(cr, x, y), tensors(XA, YA), tensors(VA, WA)),
          TF.jvp(lambda x, y: pair(torch, x, y), t(XA, YA), t(VA, WA)))
    for name in ("hvp", "vhp"):
        _same(getattr(F, name)(lambda x, y: scalar(cr, x, y), tensors(XA, YA), tensors(VA, WA)),
              getattr(TF, name)(lambda x, y: scalar(torch, x, y), t(XA, YA), t(VA, WA)))


STRICT_CASES = [  # (function, what it fails: PyTorch's message must be ours)
    ("independent of an input", lambda ns: lambda x, y: (x ** 2).sum()),
    ("linear: constant Jacobian", lambda ns: lambda x, y: x.sum() + y.sum()),
    ("constant output", lambda ns: lambda x, y: ns.ones(())),
]


@pytest.mark.parametrize("name", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("case", range(len(STRICT_CASES)))
def test_strict_errors_are_pytorchs(name, create_graph, case):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF

    make = STRICT_CASES[case][1]
    if name == "vjp":
        ours, theirs = (tensors(XA, YA), cr.tensor(1.0)), ((torch.tensor(XA),
                                                             torch.tensor(YA)), torch.tensor(1.0))
    elif name in ("jvp", "hvp", "vhp"):
        ours = (tensors(XA, YA), tensors(VA, WA))
        theirs = ((torch.tensor(XA), torch.tensor(YA)), (torch.tensor(VA), torch.tensor(WA)))
    else:
        ours, theirs = (tensors(XA, YA),), ((torch.tensor(XA), torch.tensor(YA)),)

    def outcome(fn, f, args):
        try:
            fn(f, *args, create_graph=create_graph, strict=True)
        except (RuntimeError, TypeError) as e:
            return type(e).__name__, str(e)
        return None

    assert outcome(getattr(F, name), make(cr), ours) == \
        outcome(getattr(TF, name), make(torch), theirs)
