"""Walk the primitive table: every primitive, value, first and second order, float32/float64.

The oracles are independent of chainrule's rules: NumPy for values and central finite
differences in float64 (``gradcheck`` / ``gradgradcheck``, PyTorch's algorithm and tolerances).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
from chainrule import forward
from chainrule import rules as R
from chainrule.engine import JVP_KINDS, Node, Primitive
from chainrule.rules import REGISTRY
from chainrule.testing import check_grads
from tests.rules.primitive_specs import COMPLEX, REAL_ONLY, SPECS

CASES = [(name, i) for name, spec in SPECS.items() for i in range(len(spec.shapes))]


def _inputs(name: str, variant: int, dtype=np.float64, requires_grad=True):
    spec = SPECS[name]
    shapes = spec.shapes[variant]
    samplers = spec.sample if isinstance(spec.sample, tuple) else (spec.sample,) * len(shapes)
    rng = np.random.default_rng(zlib.crc32(f"{name}/{variant}".encode()))
    arrays = [sampler(rng, shape) for sampler, shape in zip(samplers, shapes)]
    tensors = [cr.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]
    return arrays, tensors


def _recorded_primitives(out) -> set[str]:
    seen, stack, names = set(), [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if type(node) is not Node or node in seen:
            continue
        seen.add(node)
        names.add(node.prim.name)
        stack.extend(node.parents)
    return names


def test_every_primitive_has_a_spec():
    missing = sorted(set(REGISTRY) - set(SPECS))
    unknown = sorted(set(SPECS) - set(REGISTRY))
    assert not missing, (
        f"primitives without a test entry in tests/rules/primitive_specs.py: {missing}")
    assert not unknown, f"test entries for primitives that do not exist: {unknown}"


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_value_matches_numpy(name, variant):
    arrays, tensors = _inputs(name, variant)
    out = SPECS[name].fn(*tensors)
    assert name in _recorded_primitives(out), f"the spec of {name} does not record {name}"
    expected = SPECS[name].ref(*arrays)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_reverse_mode_matches_finite_differences(name, variant):
    _, tensors = _inputs(name, variant)
    assert cr.autograd.gradcheck(SPECS[name].fn, tensors)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_second_order_matches_finite_differences(name, variant):
    if not SPECS[name].second_order:
        pytest.skip("no second derivative")
    _, tensors = _inputs(name, variant)
    assert cr.autograd.gradgradcheck(SPECS[name].fn, tensors)


@pytest.mark.parametrize(("name", "variant"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(name, variant, dtype):
    _, tensors = _inputs(name, variant, dtype)
    out = SPECS[name].fn(*tensors)
    assert out.dtype == dtype
    out.backward(cr.ones_like(out))
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == dtype and t.grad.shape == t.shape


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_float32_gradient_close_to_float64(name, variant):
    grads = []
    for dtype in (np.float32, np.float64):
        _, tensors = _inputs(name, variant, dtype)
        out = SPECS[name].fn(*tensors)
        out.backward(cr.ones_like(out))
        grads.append([t.grad.numpy().astype(np.float64) for t in tensors])
    for g32, g64 in zip(*grads):
        np.testing.assert_allclose(g32, g64, rtol=2e-5, atol=2e-5)


# --------------------------------------------------------------------------------------------
# complex numbers

COMPLEX_CASES = [(name, i) for name in sorted(COMPLEX) for i in range(len(SPECS[name].shapes))]


def _complex_inputs(name: str, variant: int) -> list[np.ndarray]:
    """The spec's inputs moved off the real line by up to 0.5i (clear of branch cuts)."""
    spec = SPECS[name]
    shapes = spec.shapes[variant]
    samplers = spec.sample if isinstance(spec.sample, tuple) else (spec.sample,) * len(shapes)
    rng = np.random.default_rng(zlib.crc32(f"{name}/{variant}/complex".encode()))
    return [sampler(rng, shape) + 0.5j * rng.uniform(-1, 1, shape)
            for sampler, shape in zip(samplers, shapes)]


def test_every_primitive_is_tested_on_complex_numbers_or_says_why_not():
    assert not set(REAL_ONLY) - set(SPECS), "REAL_ONLY names primitives that do not exist"
    assert not COMPLEX & set(REAL_ONLY), COMPLEX & set(REAL_ONLY)
    unclassified = set(SPECS) - COMPLEX - set(REAL_ONLY)
    assert not unclassified, (f"add these to COMPLEX, or to REAL_ONLY with the reason, in "
                              f"tests/rules/primitive_specs.py: {sorted(unclassified)}")
    assert all(reason for reason in REAL_ONLY.values())


@pytest.mark.parametrize(("name", "variant"), COMPLEX_CASES)
def test_complex_value_matches_numpy(name, variant):
    arrays = _complex_inputs(name, variant)
    out = SPECS[name].fn(*[cr.tensor(a, requires_grad=True) for a in arrays])
    expected = SPECS[name].ref(*arrays)
    assert out.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "variant"), COMPLEX_CASES)
def test_complex_derivatives_match_finite_differences(name, variant):
    """Both modes, to second order, as functions of the real and imaginary parts."""
    spec = SPECS[name]
    check_grads(spec.fn, _complex_inputs(name, variant), order=2 if spec.second_order else 1)


@pytest.mark.parametrize(("name", "variant"), COMPLEX_CASES)
def test_complex64_is_kept(name, variant):
    tensors = [cr.tensor(a, dtype=cr.complex64, requires_grad=True)
               for a in _complex_inputs(name, variant)]
    out = SPECS[name].fn(*tensors)
    assert out.dtype in (np.complex64, np.float32)
    out.backward(cr.ones_like(out))
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == np.complex64 and t.grad.shape == t.shape


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    """The table test has teeth: a rule off by a factor fails gradcheck."""
    sin = REGISTRY["sin"]
    monkeypatch.setattr(sin, "vjp", (lambda g, ans, x: 2 * g * np.cos(x),))
    x = cr.tensor([0.3, 1.2], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="Jacobian mismatch"):
        cr.autograd.gradcheck(cr.sin, (x,))


def test_gradgradcheck_catches_a_rule_that_is_wrong_only_at_second_order(monkeypatch):
    """A rule whose first derivative is right but that hides x from the recorded graph."""
    sin = REGISTRY["sin"]
    monkeypatch.setattr(sin, "vjp", (lambda g, ans, x: g * cr.cos(x.detach() if
                                                                 isinstance(x, cr.Tensor) else x),))
    x = cr.tensor([0.3, 1.2], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(cr.sin, (x,))
    with pytest.raises(cr.autograd.GradcheckError, match="Jacobian mismatch"):
        cr.autograd.gradgradcheck(cr.sin, (x,))


def test_prod_gradient_with_zeros_is_exact():
    x = cr.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], dtype=cr.float64, requires_grad=True)
    x.prod(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])
    assert cr.autograd.gradcheck(lambda t: t.prod(dim=1), (x,))


ZEROS = np.array([[2.0, 0.0, 3.0, 0.5], [1.5, 2.0, 0.0, 4.0], [0.0, 0.0, 2.0, 3.0]])


@pytest.mark.parametrize("f", [lambda t: t.prod(dim=1), lambda t: t.prod(),
                               lambda t: t.prod(dim=0, keepdim=True)],
                         ids=["dim", "all", "keepdim"])
def test_prod_derivatives_with_zeros_are_exact_to_second_order(f):
    """(issue 13, L) at one, two and no zeros per slice, both modes, against differences.
    (A third order is checked against PyTorch below: differences of a second derivative taken
    at x +- eps v divide by entries of size eps, and lose the digits the check needs.)"""
    check_grads(f, (ZEROS,), order=2)


def test_cumprod_derivatives_with_zeros_are_exact_to_second_order():
    """cumprod's rules at zeros (one or two per slice), both modes, against differences."""
    check_grads(lambda t: t.cumprod(dim=1), (ZEROS,), order=2)
    check_grads(lambda t: t.cumprod(dim=0), (ZEROS,), order=2)
    t = cr.tensor(ZEROS, requires_grad=True)
    t.cumprod(dim=1).sum().backward()
    # row 0: d/dx1 of (2, 0, 0, 0) + 2 x1 + 2 x1 3 + 2 x1 3 0.5 = 2 + 6 + 3
    assert t.grad.numpy()[0].tolist() == [1.0, 11.0, 0.0, 0.0]


def test_higher_derivatives_at_zeros_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    weights = np.arange(1.0, 13.0).reshape(3, 4)
    for lib in (torch, cr):
        x = lib.tensor(ZEROS, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(weights, dtype=lib.float64)
        y = (x.cumprod(dim=1) * w).sum() + (x.prod(dim=1) * w[:, 0]).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * w).sum(), x, create_graph=True)
        (third,) = lib.autograd.grad((h * h).sum(), x)
        results.append([np.asarray(a.detach()) for a in (g, h, third)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# forward mode


def _tangents_for(name: str, variant: int, arrays, dtype=np.float64):
    rng = np.random.default_rng(zlib.crc32(f"tangent/{name}/{variant}".encode()))
    return [cr.tensor(rng.standard_normal(np.shape(a)), dtype=dtype) for a in arrays]


def _jvp(fn, tensors, tangents):
    """(value, J v) by forward mode, at a level of its own (so calls may nest)."""
    level = forward.enter_level()
    try:
        duals = [fwAD.make_dual(t, v, level=level) for t, v in zip(tensors, tangents)]
        out = fn(*duals)
        primal, tangent = fwAD.unpack_dual(out, level=level)
        return primal, (tangent if tangent is not None else cr.zeros_like(out))
    finally:
        forward.exit_level(level)


def test_every_primitive_declares_a_forward_rule():
    """A primitive cannot be made without saying how forward mode treats it (a silent default
    would give a wrong tangent for any primitive whose Jacobian is not diagonal)."""
    arguments = dict(save_inputs=False, save_ans=False, view=False, variadic=False)
    cumulative = (np.cumsum, (lambda g, ans, x: np.cumsum(g[::-1])[::-1],))
    with pytest.raises(TypeError, match="jvp"):
        Primitive("NoJvp", *cumulative, **arguments)
    for jvp in (None, "diagonl"):
        with pytest.raises(ValueError, match="jvp must be one of"):
            Primitive("BadJvp", *cumulative, jvp=jvp, **arguments)
    assert all(p.jvp in JVP_KINDS or callable(p.jvp) for p in REGISTRY.values())


def _central_difference(fn, arrays, direction, eps):
    """(fn(x + eps d) - fn(x - eps d)) / (2 eps): the derivative of fn along d, numerically."""
    ahead = fn(*[cr.tensor(a + eps * d.numpy()) for a, d in zip(arrays, direction)])
    behind = fn(*[cr.tensor(a - eps * d.numpy()) for a, d in zip(arrays, direction)])
    return (ahead.numpy() - behind.numpy()) / (2 * eps)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_forward_mode_matches_finite_differences(name, variant):
    arrays, tensors = _inputs(name, variant, requires_grad=False)
    tangents = _tangents_for(name, variant, arrays)
    fn, eps = SPECS[name].fn, 1e-6
    primal, tangent = _jvp(fn, tensors, tangents)
    np.testing.assert_allclose(primal.numpy(), fn(*tensors).numpy(), rtol=1e-12, atol=1e-12)
    numerical = _central_difference(fn, arrays, tangents, eps)
    np.testing.assert_allclose(tangent.numpy(), numerical, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_forward_mode_agrees_with_reverse_mode(name, variant):
    """<u, J v> from the JVP equals <J^T u, v> from the VJP."""
    arrays, tensors = _inputs(name, variant)
    tangents = _tangents_for(name, variant, arrays)
    out = SPECS[name].fn(*tensors)
    u = cr.tensor(np.random.default_rng(1).standard_normal(out.shape))
    vjps = cr.autograd.grad(out, tensors, u, allow_unused=True)
    reverse = sum(float((g.numpy() * v.numpy()).sum()) for g, v in zip(vjps, tangents)
                  if g is not None)
    _, tangent = _jvp(SPECS[name].fn, [t.detach() for t in tensors], tangents)
    assert float((u.numpy() * tangent.numpy()).sum()) == pytest.approx(reverse, rel=1e-10,
                                                                       abs=1e-12)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_forward_mode_second_order_matches_finite_differences(name, variant):
    """d/de2 of (J(x + e2 w) v), by a jvp nested in a jvp, against central differences."""
    if not SPECS[name].second_order:
        pytest.skip(f"{name} has first derivatives only")
    arrays, tensors = _inputs(name, variant, requires_grad=False)
    v = _tangents_for(name, variant, arrays)
    w = _tangents_for(name + "/second", variant, arrays)
    fn, eps = SPECS[name].fn, 1e-6

    def directional(*xs):
        return _jvp(fn, xs, v)[1]

    _, second = _jvp(directional, tensors, w)
    numerical = _central_difference(directional, arrays, w, eps)
    np.testing.assert_allclose(second.numpy(), numerical, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_forward_mode_keeps_float32(name, variant):
    arrays, tensors = _inputs(name, variant, np.float32, requires_grad=False)
    _, tangent = _jvp(SPECS[name].fn, tensors, _tangents_for(name, variant, arrays, np.float32))
    assert tangent.dtype == np.float32


@pytest.mark.parametrize(("from_shape", "to_shape"), [
    ((), (3, 4)), ((1,), (3, 4)), ((4,), (3, 4)), ((3, 1), (3, 4)), ((1, 4), (2, 3, 4)),
    ((2, 1, 4), (2, 3, 4)), ((3,), (0, 3)), ((2, 3), (2, 3)), ((3, 1), (3, 1)),
    ((2, 1), (3, 2, 1)), ((1, 1), (1, 1)),
])
def test_broadcast_view_is_numpys(from_shape, to_shape):
    """Expand makes its view itself (for speed): the same view as np.broadcast_to, which can
    be written through (as PyTorch's) exactly when no two of its elements are one."""
    from chainrule.rules.shape import _broadcast_view

    x = np.random.default_rng(0).standard_normal(from_shape)
    ours, numpys = _broadcast_view(x, to_shape), np.broadcast_to(x, to_shape)
    assert ours.shape == numpys.shape and ours.strides == numpys.strides
    np.testing.assert_array_equal(ours, numpys)
    repeats = any(n > 1 and s == 0 for n, s in zip(ours.shape, ours.strides))
    assert ours.flags.writeable == (not repeats)
    assert ours.size == 0 or np.shares_memory(ours, x)


@pytest.mark.parametrize("shape", [(4,), (-1,), (2, -1), ((2,),), ("2",), (2.0,)])
def test_broadcast_view_rejects_shapes_as_numpy_does(shape):
    """Shapes NumPy rejects are NumPy's to reject: the primitive raises the same error type
    and message (the public function, the same type with PyTorch's words); what NumPy accepts
    gives its result."""
    rejected = 0
    for x in (np.ones(3), np.ones(()), np.ones((1, 1))):
        try:
            expected = np.broadcast_to(x, shape)
        except (ValueError, TypeError) as err:
            rejected += 1
            with pytest.raises(type(err)) as caught:
                R.broadcast_to(cr.tensor(x, requires_grad=True), shape=shape, x_shape=x.shape)
            assert str(err) in str(caught.value)
            with pytest.raises(type(err), match="broadcast_to"):
                cr.broadcast_to(cr.tensor(x, requires_grad=True), shape)
        else:
            np.testing.assert_array_equal(cr.broadcast_to(cr.tensor(x), shape).numpy(),
                                          expected)
    assert rejected  # each shape is wrong for one of the arrays at least


def test_broadcast_view_of_a_transposed_array():
    transposed = np.arange(6.0).reshape(2, 3).T  # not contiguous: NumPy makes this view
    np.testing.assert_array_equal(cr.broadcast_to(cr.tensor(transposed), (2, 3, 2)).numpy(),
                                  np.broadcast_to(transposed, (2, 3, 2)))


# --------------------------------------------------------------------------------------------
# the recorded form of derivatives


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_derivative_of_tanh_and_sigmoid_records_one_node(name):
    """As in PyTorch, the recorded derivative is one fused operation (TanhBackwardBackward0),
    not three multiplications: second derivatives and forward-over-reverse stay cheap."""
    x = cr.tensor([0.3, -0.7], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(getattr(cr, name)(x).sum(), x, create_graph=True)
    assert g.grad_fn.name() == f"{name.capitalize()}BackwardBackward0"
    y = np.tanh(x.detach().numpy()) if name == "tanh" else 1 / (1 + np.exp(-x.detach().numpy()))
    (h,) = cr.autograd.grad(g.sum(), x)
    expected = -2 * y * (1 - y * y) if name == "tanh" else y * (1 - y) * (1 - 2 * y)
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_only_view_primitives_share_storage_with_their_inputs(name, variant):
    """PyTorch's view operations return views; every other primitive a fresh array, whatever
    NumPy returns (one-operand einsum and flip are views in NumPy), so that a later in-place
    change of one cannot show through the other."""
    if REGISTRY[name].view:
        return
    _, tensors = _inputs(name, variant)
    out = SPECS[name].fn(*tensors)
    for t in tensors:
        assert not np.shares_memory(np.asarray(out._data), np.asarray(t._data))
