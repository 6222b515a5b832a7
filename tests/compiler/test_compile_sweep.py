"""A sweep of common one-tensor functions through ``chainrule.compile``: traced on A, replayed
on B (other values, the same shape), compared with the same function run eagerly on B, value
and gradient.  A mismatch is a stale value: something of A's baked into the plan."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.func import vmap

M = np.random.default_rng(99).standard_normal((4, 3))

SWEEP = {
    "exp": cr.exp, "log_abs": lambda x: cr.log(cr.abs(x) + 0.1), "sin": cr.sin,
    "tanh": cr.tanh, "sigmoid": cr.sigmoid, "relu": F.relu, "gelu": F.gelu, "silu": F.silu,
    "softplus": F.softplus, "leaky_relu": F.leaky_relu, "elu": F.elu,
    "softmax": lambda x: F.softmax(x, dim=-1), "log_softmax": lambda x: F.log_softmax(x, -1),
    "cr.softmax": lambda x: cr.softmax(x, 0),
    "sum": lambda x: x.sum(), "sum_dim": lambda x: x.sum(dim=1), "mean": lambda x: x.mean(0),
    "var": lambda x: x.var(dim=1), "std": lambda x: x.std(),
    "max": lambda x: x.max(), "max_dim": lambda x: x.max(dim=1).values,
    "min_dim": lambda x: x.min(dim=0).values, "amax": lambda x: x.amax(dim=1),
    "logsumexp": lambda x: cr.logsumexp(x, dim=1), "prod": lambda x: x.prod(dim=0),
    "cumsum": lambda x: cr.cumsum(x, dim=1), "cumprod": lambda x: cr.cumprod(x, dim=0),
    "sort_values": lambda x: cr.sort(x, dim=1).values,
    "sort_desc": lambda x: cr.sort(x, dim=0, descending=True).values,
    "sort_indices": lambda x: cr.sort(x, dim=1).indices.to(x.dtype) * x,
    "argsort": lambda x: cr.argsort(x, dim=1).to(x.dtype) * x,
    "topk_values": lambda x: cr.topk(x, 2, dim=1).values,
    "topk_indices": lambda x: cr.topk(x, 2, dim=1).indices.to(x.dtype),
    "argmax": lambda x: cr.argmax(x, dim=1).to(x.dtype) + x.sum(1),
    "argmin": lambda x: x.argmin().to(x.dtype) * x,
    "max_dim_indices": lambda x: x.max(dim=1).indices.to(x.dtype) * x.sum(1),
    "clamp": lambda x: cr.clamp(x, -0.5, 0.5), "clamp_min": lambda x: x.clamp(min=0.1),
    "where": lambda x: cr.where(x > 0, x, x * x),
    "where_scalar": lambda x: cr.where(x > 0.2, x, 0.0),
    "abs": cr.abs, "sqrt_abs": lambda x: cr.sqrt(cr.abs(x)), "sign": lambda x: cr.sign(x) * x,
    "norm": lambda x: x.norm(), "norm_dim": lambda x: cr.linalg.vector_norm(x, dim=1),
    "matmul": lambda x: x @ cr.tensor(M.T), "mm_left": lambda x: cr.tensor(M.T) @ x,
    "reshape": lambda x: x.reshape(3, 4) * 2, "transpose": lambda x: x.t() * 2,
    "permute": lambda x: x.permute(1, 0) + 1, "flatten": lambda x: x.flatten() * x.flatten(),
    "unsqueeze": lambda x: x.unsqueeze(1) * x.unsqueeze(0).sum(), "cat": lambda x: cr.cat([x, x]),
    "stack": lambda x: cr.stack([x, x * 2], dim=1), "slice": lambda x: x[1:3, ::2] * 3,
    "int_index": lambda x: x[2] * x[0, 1], "neg_index": lambda x: x[-1, -2] + x[:, -1],
    "masked_fill": lambda x: x.masked_fill(x > 0, 0.0) * 2,
    "masked_fill_neg": lambda x: cr.masked_fill(x, x < 0, -1.0) * x,
    "maximum": lambda x: cr.maximum(x, x.flip(0)), "flip": lambda x: x.flip(1) * x,
    "roll": lambda x: cr.roll(x, 1, 0) * x, "tril": lambda x: cr.tril(x),
    "diff": lambda x: cr.diff(x, dim=1), "outer": lambda x: cr.outer(x[0], x[1]),
    "count_nonzero": lambda x: cr.count_nonzero(x > 0).to(x.dtype) * x,
    "gt_float": lambda x: (x > 0).to(x.dtype) * x, "round": lambda x: cr.round(x * 3),
    "floor": lambda x: cr.floor(x * 3) + x, "sort_then_index": lambda x: cr.sort(x, 1).values[:, 0],
    "layer_norm": lambda x: F.layer_norm(x, (3,)), "normalize": lambda x: F.normalize(x, dim=1),
    "dropout_eval": lambda x: F.dropout(x, 0.5, training=False),
    "mse": lambda x: F.mse_loss(x, cr.tensor(M)),
    "cross_entropy": lambda x: F.cross_entropy(x, cr.tensor([0, 2, 1, 1])),
    "einsum": lambda x: cr.einsum("ij,ij->i", x, x), "pow": lambda x: x ** 3,
    "rsub": lambda x: 1 - x, "div": lambda x: x / (x * x + 1),
    "chunk": lambda x: cr.chunk(x, 2, dim=0)[1] * 2, "split": lambda x: x.split(1, dim=1)[2],
    "expand": lambda x: x[:, :1].expand(4, 5) * 1.0, "repeat": lambda x: x.repeat(2, 1),
    "gather": lambda x: cr.gather(x, 1, cr.tensor([[0], [2], [1], [1]])),
    "index_select": lambda x: cr.index_select(x, 0, cr.tensor([3, 0])),
    "nan_to_num": lambda x: cr.nan_to_num(cr.log(x)),
    "allclose_branch": lambda x: x * 2 if bool((x > 0).any()) else x,
    "median": lambda x: cr.median(x) if hasattr(cr, "median") else x.sum(),
    # NumPy's functions without gradient (chainrule.numpy's pass-through), giving index arrays
    "cnp.nonzero": lambda x: x[cnp.nonzero(x > 0)] * 2,
    "cnp.flatnonzero": lambda x: x.flatten()[cnp.flatnonzero(x > 0)] * 2,
    "cnp.argwhere": lambda x: cr.tensor(cnp.argwhere(x > 0)).sum().to(x.dtype) + x,
    "cnp.argmax": lambda x: x.flatten()[cnp.argmax(x)] * x,
}

def _missing(fn):
    try:
        fn(cr.tensor(M))
    except (AttributeError, TypeError, RuntimeError, ValueError):
        return True
    return False


CASES = sorted(name for name, fn in SWEEP.items() if not _missing(fn))


def test_the_sweep_is_large():
    assert len(CASES) >= 60, sorted(set(SWEEP) - set(CASES))


def _run(fn, x):
    xt = cr.tensor(x, requires_grad=True)
    out = fn(xt)
    value = out.detach().numpy().copy()
    grad = None
    if out.requires_grad:
        w = np.random.default_rng(5).standard_normal(out.shape)
        (out * cr.tensor(w)).sum().backward()
        grad = xt.grad.numpy().copy()
    return out, value, grad


@pytest.mark.parametrize("name", CASES)
def test_a_replay_on_other_values_is_not_stale(name, fusion_mode):
    fn = SWEEP[name]
    f = cr.compile(lambda x: fn(x))
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    a, b, c = (rng.standard_normal((4, 3)) for _ in range(3))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        f(cr.tensor(a, requires_grad=True))
        for x in (b, c, -a):
            out, value, grad = _run(f, x)
            _, expected, expected_grad = _run(fn, x)
            np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name}: stale value")
            assert (grad is None) == (expected_grad is None)
            if grad is not None:
                np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-12,
                                           err_msg=f"{name}: wrong gradient")


def _vmappable(fn) -> bool:
    try:
        vmap(fn)(cr.tensor(np.stack([M, M])))
    except (NotImplementedError, RuntimeError, ValueError, TypeError, IndexError):
        return False
    return True


VMAP_CASES = [name for name in CASES if _vmappable(SWEEP[name])]


def test_the_vmap_sweep_is_large():
    assert len(VMAP_CASES) >= 60, sorted(set(CASES) - set(VMAP_CASES))


@pytest.mark.parametrize("name", VMAP_CASES)
def test_a_compiled_vmap_replays_the_batched_values_of_other_inputs(name, fusion_mode):
    """The same functions under ``compile(vmap(f))``: the plan is the batched computation
    the batching rules performed; on new values it must be ``vmap(f)``'s, value and
    gradient (or run eagerly, with its warning)."""
    mapped = vmap(SWEEP[name])
    compiled = cr.compile(mapped)
    rng = np.random.default_rng(zlib.crc32(("vmap " + name).encode()))
    a, b = (rng.standard_normal((5, 4, 3)) for _ in range(2))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        compiled(cr.tensor(a, requires_grad=True))
        ours_in, theirs_in = cr.tensor(b, requires_grad=True), cr.tensor(b, requires_grad=True)
        ours, theirs = compiled(ours_in), mapped(theirs_in)
    ours_first = ours[0] if isinstance(ours, tuple) else ours
    theirs_first = theirs[0] if isinstance(theirs, tuple) else theirs
    np.testing.assert_allclose(ours_first.detach().numpy(), theirs_first.detach().numpy(),
                               rtol=1e-12, atol=1e-12, equal_nan=True)
    if theirs_first.requires_grad:
        w = cr.tensor(rng.standard_normal(theirs_first.shape))
        (ours_first * w).sum().backward()
        (theirs_first * w).sum().backward()
        np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
