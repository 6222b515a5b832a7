"""The vmap column of the primitive table: every primitive that declares ``batch=`` is checked
batched, against the oracle of stacking its spec's function over the examples.

For each entry of ``tests/rules/primitive_specs.py`` whose primitive has a batching rule: three
independent samples per input, and for each input in turn ``in_axes`` 0, 1 (when it has a
dimension) and None (the others 0): ``vmap(spec.fn, in_axes)(*stacks)`` must equal
``np.stack([spec.fn(*example_b) for b])``.  Primitives without a rule are listed in
:data:`UNBATCHED`, which may only shrink (phases 2-4 of docs/design/vmap.md).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import jvp, vjp, vmap
from chainrule.rules import REGISTRY
from chainrule.rules.table import BATCH_KINDS, primitive
from tests.rules.primitive_specs import SPECS

B = 3

UNBATCHED: set[str] = set()
"""Primitives without a batching rule yet.  Only shrinks: a primitive that gains a rule must
leave the list, and a new primitive must come with a rule."""

WRITES_IN_PLACE = {"copy_slices", "index_put"}
"""Primitives whose specs change their first input in place with the second: with the first
unmapped and the second mapped, each example would write its own values into the one tensor,
which vmap refuses (as PyTorch does); the table checks the refusal there."""

CASES = [(name, i) for name, spec in SPECS.items() if REGISTRY[name].batch is not None
         for i in range(len(spec.shapes))]


def test_unbatched_allowlist_is_exact():
    lacking = {name for name, prim in REGISTRY.items() if prim.batch is None}
    gained = sorted(UNBATCHED - lacking)
    assert not gained, f"these primitives have a batching rule now: remove them from UNBATCHED: " \
                       f"{gained}"
    new = sorted(lacking - UNBATCHED)
    assert not new, f"primitives without a batching rule (declare batch= on them): {new}"


def test_every_declared_rule_is_a_kind_or_a_function():
    assert all(p.batch is None or p.batch in BATCH_KINDS or callable(p.batch)
               for p in REGISTRY.values())
    with pytest.raises(ValueError, match="batch must be one of"):
        primitive("test.bad_batch", np.negative, (lambda g, ans, x: -g,), jvp="linear",
                  grad_fn="BadBackward0", batch="elementwize")
    assert "test.bad_batch" not in REGISTRY


def _examples(name: str, variant: int) -> list[list[np.ndarray]]:
    """``B`` independent samples of the spec's inputs: ``examples[b][i]`` is input ``i``."""
    spec = SPECS[name]
    shapes = spec.shapes[variant]
    samplers = spec.sample if isinstance(spec.sample, tuple) else (spec.sample,) * len(shapes)
    rng = np.random.default_rng(zlib.crc32(f"vmap/{name}/{variant}".encode()))
    return [[np.asarray(sampler(rng, shape)) for sampler, shape in zip(samplers, shapes)]
            for _ in range(B)]


def _in_axes_choices(examples) -> list[tuple]:
    """For each input in turn 0, 1 (when it has a dimension) and None (unless it is the only
    input: vmap needs one mapped); the others 0."""
    n = len(examples[0])
    choices = []
    for i, value in enumerate(examples[0]):
        for axis in (0, 1, None):
            if (axis == 1 and np.ndim(value) == 0) or (axis is None and n == 1):
                continue
            choices.append(tuple(axis if j == i else 0 for j in range(n)))
    return choices


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_vmap_matches_stacking_over_the_batch(name, variant):
    fn = SPECS[name].fn
    examples = _examples(name, variant)
    for in_axes in _in_axes_choices(examples):
        # an unmapped input is the first example's, for every example
        if name in WRITES_IN_PLACE and in_axes[0] is None:
            with pytest.raises(RuntimeError, match="differ from example to example"):
                vmap(fn, in_axes=in_axes)(cr.tensor(examples[0][0]),
                                          *(cr.tensor(np.stack([ex[i] for ex in examples]))
                                            for i in range(1, len(in_axes))))
            continue
        per_example = [[ex[i] if axis is not None else examples[0][i]
                        for i, axis in enumerate(in_axes)] for ex in examples]
        want = np.stack([fn(*map(cr.tensor, args)).numpy() for args in per_example])
        stacks = [cr.tensor(np.stack([ex[i] for ex in examples], axis=axis)) if axis is not None
                  else cr.tensor(examples[0][i]) for i, axis in enumerate(in_axes)]
        got = vmap(fn, in_axes=in_axes)(*stacks)
        assert got.shape == want.shape, f"in_axes={in_axes}"
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"in_axes={in_axes}")


DERIVATIVES_UNBATCHED: set[str] = set()
"""Primitives whose VJP or JVP rule cannot run on batched values yet (``vmap(grad(f))``,
``vmap(jvp(f))`` through them): strict xfails.  Empty, and it stays so: a new primitive's
derivative rules must batch too (a rule that reads values tests ``batched(x)``, and an index
or a choice that differs per example is an argument of the primitives it calls, not a
param)."""


DERIVATIVE_CASES = [
    pytest.param(name, variant, marks=pytest.mark.xfail(
        strict=True, reason=f"{name}'s derivative rules do not batch yet"))
    if name in DERIVATIVES_UNBATCHED else (name, variant) for name, variant in CASES]


def test_derivatives_unbatched_names_primitives():
    assert DERIVATIVES_UNBATCHED <= set(REGISTRY)


def _differentiated(examples) -> list[int]:
    """The inputs a spec's function is differentiated by: the floating-point ones."""
    return [i for i, value in enumerate(examples[0]) if np.asarray(value).dtype.kind == "f"]


def _with(values, positions, replacements):
    values = list(values)
    for i, r in zip(positions, replacements):
        values[i] = r
    return values


@pytest.mark.parametrize(("name", "variant"), DERIVATIVE_CASES)
def test_vmap_of_vjp_matches_per_example_vjps(name, variant):
    """Reverse mode inside vmap: the VJP rules run on batched values, so this checks the
    batching of every primitive the rules call (per-example cotangents, independent)."""
    fn = SPECS[name].fn
    examples = _examples(name, variant)
    diff = _differentiated(examples)
    out0 = fn(*map(cr.tensor, examples[0]))
    if not diff or out0.dtype.kind != "f":
        pytest.skip("no floating-point input or output to differentiate")
    rng = np.random.default_rng(zlib.crc32(f"vjp/{name}/{variant}".encode()))
    cotangents = rng.standard_normal((B,) + tuple(out0.shape)).astype(out0.dtype)

    def pullback(*args):
        *xs, cotangent = args
        _, f_vjp = vjp(lambda *d: fn(*_with(xs, diff, d)), *[xs[i] for i in diff])
        return f_vjp(cotangent)

    want = [pullback(*map(cr.tensor, ex), cr.tensor(c)) for ex, c in zip(examples, cotangents)]
    stacks = [cr.tensor(np.stack([ex[i] for ex in examples])) for i in range(len(examples[0]))]
    got = vmap(pullback)(*stacks, cr.tensor(cotangents))
    for k in range(len(diff)):
        np.testing.assert_allclose(got[k].numpy(), np.stack([w[k].numpy() for w in want]),
                                   rtol=1e-10, atol=1e-12, err_msg=f"input {diff[k]}")


@pytest.mark.parametrize(("name", "variant"), DERIVATIVE_CASES)
def test_vmap_of_jvp_matches_per_example_jvps(name, variant):
    """Forward mode inside vmap: the JVP rules run on batched values and tangents."""
    fn = SPECS[name].fn
    examples = _examples(name, variant)
    diff = _differentiated(examples)
    if not diff or fn(*map(cr.tensor, examples[0])).dtype.kind != "f":
        pytest.skip("no floating-point input or output to differentiate")
    rng = np.random.default_rng(zlib.crc32(f"jvp/{name}/{variant}".encode()))
    tangents = [rng.standard_normal((B,) + np.shape(examples[0][i])) for i in diff]

    def push(*args):
        xs, ts = args[:len(examples[0])], args[len(examples[0]):]
        return jvp(lambda *d: fn(*_with(xs, diff, d)), tuple(xs[i] for i in diff), tuple(ts))[1]

    want = np.stack([push(*map(cr.tensor, ex), *(cr.tensor(t[b]) for t in tangents)).numpy()
                     for b, ex in enumerate(examples)])
    stacks = [cr.tensor(np.stack([ex[i] for ex in examples])) for i in range(len(examples[0]))]
    got = vmap(push)(*stacks, *map(cr.tensor, tangents))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
