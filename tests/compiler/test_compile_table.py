"""``chainrule.compile`` on every primitive of the table: trace on inputs A, replay on inputs B.

For each entry of ``tests/rules/primitive_specs.py`` (each of its shape variants), the spec's
call is compiled, traced once on inputs A and replayed on different inputs B of the same
shapes.  The oracle is the same call run eagerly on B: the replay's value, the gradient a
seeded random cotangent sends back through ``backward()`` (after a later call on A) and a
second derivative through ``autograd.grad(create_graph=True)`` must all equal eager's, in
float64 and float32.

A primitive whose trace breaks (runs eagerly with the warning) is listed in ``BREAKS`` with
the reason, and the test checks that it does break, so that the list cannot go stale.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.compiler.fusion import POSITIONAL, VALUES
from chainrule.rules.table import REGISTRY
from tests.rules.primitive_specs import SPECS

VALUES_READ = "values read outside chainrule's primitives"

BREAKS: dict[str, str] = {
    # an in-place change of a non-leaf (inplace.update reads the new values with data_of)
    "copy_slices": VALUES_READ,
    "index_put": VALUES_READ,
}
"""Primitives whose specs run eagerly when compiled: name -> the warning's reason (a part)."""

UNFUSED = {
    "ldexp": "its exponents are a parameter, bound whole into the call",
    "lstm_cell": "its gates are four times as wide as its result",
    "lstm_hidden": "its gates are four times as wide as its result",
}
"""Elementwise primitives whose steps the fused mode leaves out of regions: name -> why."""

TOLERANCE = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _inputs(name: str, variant: int, which: str, dtype):
    """The spec's inputs: ``which`` ("A" or "B") picks the seed, so B differs from A."""
    spec = SPECS[name]
    shapes = spec.shapes[variant]
    samplers = spec.sample if isinstance(spec.sample, tuple) else (spec.sample,) * len(shapes)
    rng = np.random.default_rng(zlib.crc32(f"compile/{name}/{variant}/{which}".encode()))
    return [sampler(rng, shape) for sampler, shape in zip(samplers, shapes)]


def _tensors(arrays, dtype):
    return [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]


def _numpy(t):
    return None if t is None else t.detach().numpy().copy()


def _derivatives(fn, arrays, dtype, second_order: bool, later):
    """fn's value on ``arrays``, the gradient of <w, fn(x)> by backward(), and the gradient
    of <v, that gradient> by autograd.grad (w and v seeded); also fn's output tensor.  A
    call on ``later`` comes between the first call and its backward pass (a replay's must
    not see the later call's values)."""
    xs = _tensors(arrays, dtype)
    out = fn(*xs)
    fn(*_tensors(later, dtype))
    rng = np.random.default_rng(zlib.crc32(repr(tuple(out.shape)).encode()))
    w = cr.tensor(rng.standard_normal(out.shape), dtype=out.dtype)
    (out * w).sum().backward()
    first = [_numpy(x.grad) for x in xs]
    second = None
    if second_order:
        ys = _tensors(arrays, dtype)
        grads = cr.autograd.grad(fn(*ys), ys, grad_outputs=w, create_graph=True,
                                 allow_unused=True)
        total = None
        for g in grads:
            if g is not None and g.requires_grad:
                v = cr.tensor(rng.standard_normal(g.shape), dtype=g.dtype)
                total = (g * v).sum() if total is None else total + (g * v).sum()
        if total is not None:
            second = [_numpy(h) for h in cr.autograd.grad(total, ys, allow_unused=True)]
    return out, first, second


def _assert_same(ours, theirs, tolerance, what):
    assert (ours is None) == (theirs is None), what
    if ours is None:
        return
    assert len(ours) == len(theirs), what
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a is None and b is None:
            continue
        if a is None or b is None:  # unused in one: zero in the other
            a = np.zeros_like(b) if a is None else a
            b = np.zeros_like(a) if b is None else b
        np.testing.assert_allclose(a, b, err_msg=f"{what} (input {i})", **tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_replay_matches_eager(name, dtype, fusion_mode):
    spec = SPECS[name]
    tolerance = TOLERANCE[dtype]
    for variant in range(len(spec.shapes)):
        a = _inputs(name, variant, "A", dtype)
        b = _inputs(name, variant, "B", dtype)
        assert any(not np.array_equal(x, y) for x, y in zip(a, b))
        compiled = cr.compile(lambda *xs, _fn=spec.fn: _fn(*xs))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            traced = compiled(*_tensors(a, dtype))
        broke = [str(w.message) for w in caught if "breaks the trace" in str(w.message)]
        if name in BREAKS:
            assert broke, f"{name} no longer breaks the trace: remove it from BREAKS"
            assert BREAKS[name] in broke[0], broke[0]
        else:
            assert not broke, broke
        assert compiled.traces == 1
        eager_a = spec.fn(*_tensors(a, dtype))
        np.testing.assert_allclose(_numpy(traced), _numpy(eager_a), **tolerance)
        if (fusion_mode and name not in BREAKS and name not in POSITIONAL and name not in UNFUSED
                and getattr(REGISTRY.get(name), "batch", None) == "elementwise"
                and traced.ndim and traced.shape[0] > 1):
            assert "# fused" in compiled.last_plan.forward_source, \
                f"{name}: an elementwise primitive that was not fused"
            if fusion_mode == "numexpr" and name in VALUES:
                assert "fused by numexpr" in compiled.last_plan.source, name

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a replay warns of nothing
            ours, ours_first, ours_second = _derivatives(compiled, b, dtype, spec.second_order,
                                                         later=a)
        theirs, theirs_first, theirs_second = _derivatives(spec.fn, b, dtype, spec.second_order,
                                                           later=a)
        assert compiled.traces == 1, "a replay with the same shapes traced again"
        if name not in BREAKS and ours.requires_grad:
            # (a view of an argument is made eagerly from it, as the eager call made it)
            expected = theirs.grad_fn.name() if ours._base is not None else (
                "CompiledFunctionBackward")
            assert ours.grad_fn.name() == expected
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        where = f"{name} variant {variant} {np.dtype(dtype).name}"
        np.testing.assert_allclose(_numpy(ours), _numpy(theirs), err_msg=f"{where}: value",
                                   **tolerance)
        _assert_same(ours_first, theirs_first, tolerance, f"{where}: gradient")
        _assert_same(ours_second, theirs_second, tolerance, f"{where}: second derivative")


ELEMENTWISE = sorted(name for name in SPECS
                     if getattr(REGISTRY.get(name), "batch", None) == "elementwise"
                     and name not in BREAKS and name not in POSITIONAL and name not in UNFUSED)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_a_seed_of_one_number_matches_eager(name, dtype, fused_small):
    """Each elementwise primitive, fused, under a mean (times 3): in float64, a primitive whose
    rule multiplies by g (most of them) has its backward region given the mean's gradient as
    ones and the number 3/n apart (``Regions.seed``); in float32, and for the others, the
    region multiplies as it does under any gradient.  Its gradients must equal eager's."""
    spec = SPECS[name]
    tolerance = TOLERANCE[dtype]
    for variant in range(len(spec.shapes)):
        fn = lambda *xs, _fn=spec.fn: _fn(*xs).mean() * 3  # noqa: E731
        compiled = cr.compile(fn)
        compiled(*_tensors(_inputs(name, variant, "A", dtype), dtype))
        b = _inputs(name, variant, "B", dtype)
        ours, theirs = _tensors(b, dtype), _tensors(b, dtype)
        compiled(*ours).backward()
        fn(*theirs).backward()
        assert compiled.traces == 1
        _assert_same([_numpy(x.grad) for x in ours], [_numpy(x.grad) for x in theirs],
                     tolerance, f"{name} variant {variant} {np.dtype(dtype).name}: gradient")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_compiled_gradient_replays_as_eager(name, dtype):
    """Each primitive's VJP rules, traced: ``autograd.grad`` of the spec's call with a seeded
    cotangent, compiled, traced on inputs A and replayed on B, equals eager's on B."""
    spec = SPECS[name]
    tolerance = TOLERANCE[dtype]

    def gradient(w, *xs):
        return cr.autograd.grad(spec.fn(*xs), xs, grad_outputs=w, allow_unused=True)

    for variant in range(len(spec.shapes)):
        a = _tensors(_inputs(name, variant, "A", dtype), dtype)
        shape = spec.fn(*a).shape
        w = cr.tensor(np.random.default_rng(zlib.crc32(f"{name}/{variant}".encode()))
                      .standard_normal(shape), dtype=dtype)
        compiled = cr.compile(gradient)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compiled(w * 0.5, *a)
        broke = [str(m.message) for m in caught if "breaks the trace" in str(m.message)]
        if name in BREAKS:  # (whose forward breaks: no other gradient does)
            assert broke, f"{name}'s gradient no longer breaks the trace: remove it from the list"
            assert BREAKS[name] in broke[0], broke[0]
            continue
        assert not broke, broke
        b = _inputs(name, variant, "B", dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a replay warns of nothing
            ours = compiled(w, *_tensors(b, dtype))
        theirs = gradient(w, *_tensors(b, dtype))
        assert compiled.traces == 1, "a replay with the same shapes traced again"
        _assert_same([_numpy(g) for g in ours], [_numpy(g) for g in theirs], tolerance,
                     f"{name} variant {variant} {np.dtype(dtype).name}: compiled gradient")


SPECIAL_POINTS = {
    # name: (the call, the traced input, the replayed input at the rule's special points)
    "prod with a zero": (lambda x: x.prod(dim=-1), [[1.5, 2.0, -0.5], [0.7, 1.1, 3.0]],
                         [[1.5, 0.0, -0.5], [0.0, 0.0, 3.0]]),
    "cumprod with a zero": (lambda x: x.cumprod(dim=1), [[1.5, 2.0, -0.5], [0.7, 1.1, 3.0]],
                            [[1.5, 0.0, -0.5], [0.0, 2.0, 3.0]]),
    "cumprod with a NaN": (lambda x: x.cumprod(dim=0), [1.5, 2.0, 3.0], [1.5, np.nan, 3.0]),
    "prod with a NaN": (lambda x: x.prod(), [1.5, 2.0, 3.0], [1.5, np.nan, 3.0]),
    "max with ties": (lambda x: x.max(), [1.0, 3.0, 2.0, -1.0], [3.0, 3.0, 2.0, 3.0]),
    "max with a NaN": (lambda x: x.max(), [1.0, 3.0, 2.0, -1.0], [1.0, np.nan, 2.0, np.nan]),
    "sinc at 0": (lambda x: cr.sinc(x), [0.3, -1.2, 2.5], [0.0, -1.2, 0.0]),
    "std of equal values": (lambda x: x.std(dim=-1), [[1.0, 2.0, 4.0]], [[2.0, 2.0, 2.0]]),
    "a 3-norm at 0": (lambda x: cr.linalg.vector_norm(x, ord=3, dim=-1),
                      [[1.0, -2.0, 0.5]], [[0.0, -2.0, 0.0]]),
    "fmax of a NaN": (lambda x: cr.fmax(x, x.flip(0)), [1.0, 2.0, 3.0], [np.nan, 2.0, 1.0]),
    "max pooling with ties": (lambda x: cr.nn.functional.max_pool1d(x[None, None], 2, 1),
                              [1.0, 3.0, 2.0, -1.0], [3.0, 3.0, 2.0, 2.0]),
}


@pytest.mark.parametrize("name", sorted(SPECIAL_POINTS))
def test_a_compiled_gradient_replays_a_rules_special_points(name):
    """Where a rule takes another formula (a zero of a product, ties of a maximum, sinc at 0),
    a gradient traced away from those points and replayed at them gives eager's values: the
    choice is an operation of the plan, or, for a product's division by ``x``, a guard (a
    tiny ``x`` traces again: the way without division costs n^2 along the axis)."""
    fn, traced, special = SPECIAL_POINTS[name]

    def gradient(x):
        out = fn(x)
        return cr.autograd.grad(out, [x], grad_outputs=cr.ones_like(out))[0]

    compiled = cr.compile(gradient)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the trace does not break, the replay warns of nothing)
        compiled(cr.tensor(traced, requires_grad=True))
        ours = compiled(cr.tensor(special, requires_grad=True))
    theirs = gradient(cr.tensor(special, requires_grad=True))
    assert compiled.traces == (2 if "with a zero" in name else 1)
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=1e-12, atol=1e-15)
