"""Walk the primitive table: every primitive, value, first and second order, float32/float64.

The oracles are independent of chainrule's rules: NumPy for values and central finite
differences in float64 (``gradcheck`` / ``gradgradcheck``, PyTorch's algorithm and tolerances).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.engine import Node
from chainrule.rules import REGISTRY
from tests.primitive_specs import SPECS

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
    assert not missing, f"primitives without a test entry in tests/primitive_specs.py: {missing}"
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


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    """The table test has teeth: a rule off by a factor fails gradcheck."""
    sin = REGISTRY["Sin"]
    monkeypatch.setattr(sin, "vjp", (lambda g, ans, x: 2 * g * np.cos(x),))
    x = cr.tensor([0.3, 1.2], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="Jacobian mismatch"):
        cr.autograd.gradcheck(cr.sin, (x,))


def test_gradgradcheck_catches_a_rule_that_is_wrong_only_at_second_order(monkeypatch):
    """A rule whose first derivative is right but that hides x from the recorded graph."""
    sin = REGISTRY["Sin"]
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
