"""Attention with masks through ``chainrule.compile(fullgraph=True)``: the masks are tensors
that change from call to call, and every call must give what the eager call gives on the same
inputs (values, and the gradients of ``.sum()``), from one trace.

A mask used to be read through its values outside chainrule's primitives (a boolean mask made
a constant array of 0 and -inf with ``.numpy()``, a float mask's shape read the same way, and
the rows a mask leaves empty looked at in Python), which breaks the trace: ``fullgraph=True``
raised.  Now a boolean mask's bias and the rows left empty are operations without gradient of
the plan, computed from each call's mask, and a trace always takes the way that gives a query
that may attend to nothing zero weights (``scaled_dot_product_attention``; the calls below
include such a row).  Randomness is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

EXACT = dict(rtol=1e-12, atol=1e-12)
SEEDS = (0, 1, 2)
LENGTH = 5  # queries and keys (self-attention in the module's tests)


def _bool_mask(rng: np.random.Generator, shape: tuple[int, ...], keep: bool) -> np.ndarray:
    """A random boolean mask in which key 0 is ``keep`` in every row (so that no row is left
    empty, whichever value lets a position take part)."""
    mask = rng.random(shape) < 0.5
    mask[..., 0] = keep
    return mask


def _sdpa_mask(kind: str, seed: int) -> cr.Tensor:
    """An ``(L, S)`` mask for ``scaled_dot_product_attention`` (True: may attend), new for each
    seed; the last seed's leaves query 1 nothing to attend to."""
    rng = np.random.default_rng(100 + seed)
    if kind == "bool":
        mask = _bool_mask(rng, (LENGTH, LENGTH), keep=True)
        if seed == SEEDS[-1]:
            mask[1] = False
        return cr.tensor(mask)
    mask = rng.standard_normal((LENGTH, LENGTH))
    mask[rng.random((LENGTH, LENGTH)) < 0.3] = -np.inf
    mask[:, 0] = rng.standard_normal(LENGTH)
    if seed == SEEDS[-1]:
        mask[1] = -np.inf
    return cr.tensor(mask, requires_grad=True)


def _values_and_gradients(fn, inputs: list[cr.Tensor], masks: dict) -> list[np.ndarray]:
    """What ``fn(*inputs, **masks)`` gives (its first output, and the second where there is
    one), and the gradients of the first's sum with respect to the inputs and to the masks
    that require gradient (a float one)."""
    result = fn(*inputs, **masks)
    outputs = result if isinstance(result, tuple) else (result,)
    wrt = inputs + [m for m in masks.values() if m.requires_grad]
    grads = cr.autograd.grad(outputs[0].sum(), wrt)
    return [o.detach().numpy().copy() for o in outputs] + [g.numpy().copy() for g in grads]


def _assert_same(compiled, eager, calls: list[tuple[list[cr.Tensor], dict]]) -> None:
    for k, (inputs, masks) in enumerate(calls):
        ours = _values_and_gradients(compiled, inputs, masks)
        theirs = _values_and_gradients(eager, inputs, masks)
        assert len(ours) == len(theirs)
        for j, (a, b) in enumerate(zip(ours, theirs)):
            assert a.dtype == b.dtype and a.shape == b.shape, f"call {k}, array {j}"
            np.testing.assert_allclose(a, b, **EXACT, err_msg=f"call {k}, array {j}")


def _attention_inputs(seed: int) -> list[cr.Tensor]:
    """query, key and value ``(N, heads, L, E)`` in float64, requiring gradient."""
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal((2, 3, LENGTH, 4)), requires_grad=True)
            for _ in range(3)]


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_with_a_changing_mask_compiles_whole(kind, fusion_mode):
    def attend(q, k, v, attn_mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)

    compiled = cr.compile(attend, fullgraph=True)
    calls = [(_attention_inputs(seed), {"attn_mask": _sdpa_mask(kind, seed)}) for seed in SEEDS]
    # a row left empty gets zero weights eagerly (else the test shows nothing), and compiled
    # as eagerly (_assert_same)
    empty_row = F.scaled_dot_product_attention(*calls[-1][0], **calls[-1][1])[:, :, 1]
    np.testing.assert_array_equal(empty_row.detach().numpy(), 0.0)
    _assert_same(compiled, attend, calls)
    assert compiled.traces == 1


def test_causal_sdpa_compiles_whole(fusion_mode):
    """(A check beside the masks: the causal bias is a constant of the shapes, and compiled
    whole before the masks did.)"""
    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    compiled = cr.compile(attend, fullgraph=True)
    _assert_same(compiled, attend, [(_attention_inputs(seed), {}) for seed in SEEDS])
    assert compiled.traces == 1


def _mha_masks(kind: str, seed: int, batch: int, heads: int) -> dict:
    """``attn_mask`` (bool: True where left out, ``(L, S)``; float: ``(N * heads, L, S)``) and
    a boolean ``key_padding_mask`` ``(N, S)``, new for each seed; key 0 always takes part, so
    that no row is left empty (the module gives NaN there, as PyTorch's)."""
    rng = np.random.default_rng(200 + seed)
    padding = cr.tensor(_bool_mask(rng, (batch, LENGTH), keep=False))
    if kind == "bool":
        return {"attn_mask": cr.tensor(_bool_mask(rng, (LENGTH, LENGTH), keep=False)),
                "key_padding_mask": padding}
    attn_mask = rng.standard_normal((batch * heads, LENGTH, LENGTH))
    attn_mask[rng.random(attn_mask.shape) < 0.3] = -np.inf
    attn_mask[..., 0] = 0.0
    return {"attn_mask": cr.tensor(attn_mask, requires_grad=True), "key_padding_mask": padding}


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_multihead_attention_with_changing_masks_compiles_whole(kind, batch_first,
                                                                fusion_mode):
    batch, heads, embed = 2, 2, 4
    cr.manual_seed(0)
    module = nn.MultiheadAttention(embed, heads, batch_first=batch_first, dtype=cr.float64)

    def attend(x, attn_mask, key_padding_mask):
        return module(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask)

    compiled = cr.compile(attend, fullgraph=True)
    shape = (batch, LENGTH, embed) if batch_first else (LENGTH, batch, embed)
    calls = [([cr.tensor(np.random.default_rng(seed).standard_normal(shape),
                         requires_grad=True)], _mha_masks(kind, seed, batch, heads))
             for seed in SEEDS]
    _assert_same(compiled, attend, calls)
    assert compiled.traces == 1
