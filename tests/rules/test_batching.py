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
from chainrule.func import vmap
from chainrule.rules import REGISTRY
from chainrule.rules.table import BATCH_KINDS, primitive
from tests.rules.primitive_specs import SPECS

B = 3

UNBATCHED = {
    "avg_pool_backward", "copy_slices", "gru_scan", "index_add", "index_put", "linalg.eig",
    "linalg.eigvals", "linalg.lstsq", "lstm_cell", "lstm_gates", "lstm_hidden", "lstm_scan",
    "max_pool_backward", "max_pool_gather", "nn.functional.avg_pool", "nn.functional.conv",
    "nn.functional.conv_transpose", "nn.functional.max_pool", "nn.grad.conv_weight", "sort",
}
"""Primitives without a batching rule yet.  Only shrinks: a primitive that gains a rule must
leave the list, and a new primitive must come with a rule."""

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
        per_example = [[ex[i] if axis is not None else examples[0][i]
                        for i, axis in enumerate(in_axes)] for ex in examples]
        want = np.stack([fn(*map(cr.tensor, args)).numpy() for args in per_example])
        stacks = [cr.tensor(np.stack([ex[i] for ex in examples], axis=axis)) if axis is not None
                  else cr.tensor(examples[0][i]) for i, axis in enumerate(in_axes)]
        got = vmap(fn, in_axes=in_axes)(*stacks)
        assert got.shape == want.shape, f"in_axes={in_axes}"
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"in_axes={in_axes}")
