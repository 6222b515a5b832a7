"""scaled_dot_product_attention and MultiheadAttention: against PyTorch where installed
(weights copied through state_dict; outputs, attention weights and every gradient in float64),
and without it against closed forms, NumPy, central finite differences and PyTorch's errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import check_grads

TOL = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _numpy_attention(q, k, v, bias, scale):
    scores = q @ np.swapaxes(k, -1, -2) * scale + bias
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


def test_sdpa_matches_numpy_with_masks():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2)))
    allowed = rng.random((4, 6)) > 0.3
    allowed[:, 0] = True
    got = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v),
                                         attn_mask=cr.tensor(allowed))
    bias = np.where(allowed, 0.0, -np.inf)
    np.testing.assert_allclose(got.numpy(), _numpy_attention(q, k, v, bias, 5 ** -0.5),
                               rtol=1e-12)
    float_mask = rng.standard_normal((3, 4, 6))
    got = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v),
                                         attn_mask=float_mask, scale=0.3)
    np.testing.assert_allclose(got.numpy(), _numpy_attention(q, k, v, float_mask, 0.3),
                               rtol=1e-12)
    causal = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), cr.tensor(v),
                                            is_causal=True)
    bias = np.triu(np.full((4, 6), -np.inf), 1)
    np.testing.assert_allclose(causal.numpy(), _numpy_attention(q, k, v, bias, 5 ** -0.5),
                               rtol=1e-12)


def test_sdpa_query_that_sees_nothing_gets_zeros_and_zero_gradient():
    rng = np.random.default_rng(1)
    q = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    k, v = cr.tensor(rng.standard_normal((4, 2))), cr.tensor(rng.standard_normal((4, 2)))
    mask = np.ones((3, 4), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(out.detach().numpy()[1] == 0) and np.all(np.isfinite(out.detach().numpy()))
    out.sum().backward()
    assert np.all(q.grad.numpy()[1] == 0) and np.all(np.isfinite(q.grad.numpy()))


def test_sdpa_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = rng.standard_normal((3, 5))
    check_grads(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                (q, k, v, mask), order=2)
    check_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                (q, k, v), order=1)


@pytest.mark.parametrize("kwargs", [dict(), dict(is_causal=True), dict(scale=0.7),
                                    dict(mask="bool"), dict(mask="float")])
def test_sdpa_matches_torch(torch, kwargs):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in ((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 5))]
    kwargs = dict(kwargs)
    mask = kwargs.pop("mask", None)
    if mask == "bool":
        m = rng.random((4, 4)) > 0.4
        m[1] = False  # a query that sees nothing
        kwargs["attn_mask"] = m
    elif mask == "float":
        kwargs["attn_mask"] = rng.standard_normal((2, 1, 4, 4))
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kwargs.items()}
    tout = torch.nn.functional.scaled_dot_product_attention(*ts, **tkw)
    cout = F.scaled_dot_product_attention(*cs, **kwargs)
    np.testing.assert_allclose(cout.detach().numpy(), tout.detach().numpy(), **TOL)
    w = rng.standard_normal(tuple(tout.shape))
    (tout * torch.tensor(w)).sum().backward()
    (cout * cr.tensor(w)).sum().backward()
    for t, c in zip(ts, cs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), **TOL)


# --------------------------------------------------------------------------------------------
# MultiheadAttention


def _mha_inputs(rng, kwargs, batched, length=3, source=4, batch=2):
    embed = kwargs["embed_dim"]
    kdim, vdim = kwargs.get("kdim") or embed, kwargs.get("vdim") or embed
    first = kwargs.get("batch_first", False)

    def shape(n, d):
        return ((batch, n, d) if first else (n, batch, d)) if batched else (n, d)

    return [rng.standard_normal(shape(n, d)) for n, d in
            ((length, embed), (source, kdim), (source, vdim))]


MHA_CASES = [
    (dict(embed_dim=6, num_heads=2), {}, True),
    (dict(embed_dim=6, num_heads=2), {"self": True}, True),
    (dict(embed_dim=6, num_heads=3, kdim=5, vdim=4, batch_first=True), {}, True),
    (dict(embed_dim=6, num_heads=2, add_bias_kv=True, add_zero_attn=True),
     {"attn_mask": "bool", "key_padding_mask": "bool"}, True),
    (dict(embed_dim=6, num_heads=2, bias=False),
     {"attn_mask": "float3d", "average_attn_weights": False}, True),
    (dict(embed_dim=6, num_heads=2),
     {"attn_mask": "float", "key_padding_mask": "float", "need_weights": False}, True),
    (dict(embed_dim=6, num_heads=2, batch_first=True), {"key_padding_mask": "bool"}, False),
    (dict(embed_dim=6, num_heads=2), {"attn_mask": "causal", "is_causal": True}, True),
]


def _masks(rng, spec, kwargs, length=3, source=4, batch=2, batched=True):
    heads = kwargs["num_heads"]
    out = {}
    for name, kind in spec.items():
        if kind == "bool" and name == "attn_mask":
            m = rng.random((length, source)) > 0.6
            m[:, 0] = False
            out[name] = m
        elif kind == "bool":
            m = rng.random((batch, source) if batched else (source,)) > 0.6
            m[..., 0] = False
            out[name] = m
        elif kind == "float" and name == "attn_mask":
            out[name] = rng.standard_normal((length, source))
        elif kind == "float":
            out[name] = rng.standard_normal((batch, source))
        elif kind == "float3d":
            out[name] = rng.standard_normal((batch * heads, length, source))
        elif kind == "causal":
            out[name] = np.triu(np.ones((length, source), bool), 1)
        elif name != "self":
            out[name] = kind
    return out


@pytest.mark.parametrize("kwargs, spec, batched", MHA_CASES)
def test_multihead_attention_matches_torch(torch, kwargs, spec, batched):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(**kwargs).double()
    cm = nn.MultiheadAttention(**kwargs).double()
    assert [(k, tuple(v.shape)) for k, v in cm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert repr(cm) == repr(tm)
    rng = np.random.default_rng(5)
    arrays = _mha_inputs(rng, kwargs, batched)
    source = 3 if spec.get("attn_mask") == "causal" else 4
    if spec.get("self") or source == 3:
        arrays = [arrays[0]] * 3
    masks = _masks(rng, spec, kwargs, source=source, batched=batched)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]
    if spec.get("self"):
        ts, cs = [ts[0]] * 3, [cs[0]] * 3
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in masks.items()}
    tout, tw = tm(*ts, **tkw)
    cout, cw = cm(*cs, **masks)
    np.testing.assert_allclose(cout.detach().numpy(), tout.detach().numpy(), **TOL)
    assert (cw is None) == (tw is None)
    w = rng.standard_normal(tuple(tout.shape))
    tloss, closs = (tout * torch.tensor(w)).sum(), (cout * cr.tensor(w)).sum()
    if tw is not None:
        np.testing.assert_allclose(cw.detach().numpy(), tw.detach().numpy(), **TOL)
        tloss, closs = tloss + (tw ** 2).sum(), closs + (cw ** 2).sum()
    tloss.backward()
    closs.backward()
    for t, c in zip(ts, cs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), **TOL)
    tparams = dict(tm.named_parameters())
    assert [n for n, _ in cm.named_parameters()] == list(tparams)
    for name, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), **TOL,
                                   err_msg=name)


def test_multihead_attention_gradients_match_finite_differences():
    cr.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True).double()
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal(s) for s in ((3, 2, 4), (5, 2, 3), (5, 2, 2)))
    padding = np.zeros((2, 5), bool)
    padding[1, 2] = True
    check_grads(lambda q, k, v: mha(q, k, v, key_padding_mask=padding)[0], (q, k, v), order=2)
    check_grads(lambda q, k, v: mha(q, k, v, average_attn_weights=False)[1], (q, k, v),
                order=1)
    # the parameters: a directional derivative along a random direction, by central differences
    params = list(mha.parameters())
    directions = [rng.standard_normal(p.shape) for p in params]
    qt, kt, vt = cr.tensor(q), cr.tensor(k), cr.tensor(v)

    def loss():
        out, weights = mha(qt, kt, vt)
        return (out ** 2).sum() + (weights ** 2).sum()

    loss().backward()
    analytic = sum(float((p.grad.numpy() * d).sum()) for p, d in zip(params, directions))
    values = []
    for sign in (1, -1):
        with cr.no_grad():
            for p, d in zip(params, directions):
                p += sign * 1e-6 * cr.tensor(d)
        values.append(loss().item())
        with cr.no_grad():
            for p, d in zip(params, directions):
                p -= sign * 1e-6 * cr.tensor(d)
    assert analytic == pytest.approx((values[0] - values[1]) / 2e-6, rel=1e-6)


def test_multihead_attention_with_one_head_and_identity_weights_is_sdpa():
    mha = nn.MultiheadAttention(3, 1).double()
    eye = np.eye(3)
    mha.load_state_dict({"in_proj_weight": np.concatenate([eye] * 3),
                         "in_proj_bias": np.zeros(9), "out_proj.weight": eye,
                         "out_proj.bias": np.zeros(3)})
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal(s) for s in ((4, 1, 3), (5, 1, 3), (5, 1, 3)))
    out, weights = mha(cr.tensor(q), cr.tensor(k), cr.tensor(v))
    want = _numpy_attention(q[:, 0], k[:, 0], v[:, 0], 0.0, 3 ** -0.5)
    np.testing.assert_allclose(out.detach().numpy()[:, 0], want, rtol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy()[0].sum(-1), np.ones(4), rtol=1e-12)


def test_multihead_attention_dropout_only_in_training():
    cr.manual_seed(1)
    mha = nn.MultiheadAttention(4, 2, dropout=0.5).double()
    x = cr.tensor(np.random.default_rng(8).standard_normal((3, 2, 4)))
    trained = [mha(x, x, x)[1].detach().numpy() for _ in range(2)]
    assert not np.allclose(trained[0], trained[1])
    mha.eval()
    evaluated = [mha(x, x, x)[1].detach().numpy() for _ in range(2)]
    np.testing.assert_array_equal(evaluated[0], evaluated[1])
    np.testing.assert_allclose(evaluated[0].sum(-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("call, error, phrase", [
    (lambda: nn.MultiheadAttention(5, 2), AssertionError,
     "embed_dim must be divisible by num_heads"),
    (lambda: nn.MultiheadAttention(4, 2)(cr.randn(3, 2, 5), cr.randn(3, 2, 5),
                                         cr.randn(3, 2, 5)),
     AssertionError, "was expecting embedding dimension of 4, but got 5"),
    (lambda: nn.MultiheadAttention(4, 2)(cr.randn(3, 2, 4), cr.randn(3, 4), cr.randn(3, 4)),
     AssertionError, "expected `key` and `value` to be 3-D"),
    (lambda: nn.MultiheadAttention(4, 2)(cr.randn(3, 2, 4), cr.randn(3, 2, 4),
                                         cr.randn(3, 2, 4), attn_mask=np.zeros((2, 2), bool)),
     RuntimeError, r"The shape of the 2D attn_mask is \[2, 2\], but should be \(3, 3\)"),
    (lambda: nn.MultiheadAttention(4, 2)(cr.randn(3, 2, 4), cr.randn(3, 2, 4),
                                         cr.randn(3, 2, 4), is_causal=True),
     RuntimeError, "Need attn_mask if specifying the is_causal hint"),
    (lambda: F.scaled_dot_product_attention(cr.randn(3, 4), cr.randn(3, 4), cr.randn(3, 4),
                                            attn_mask=np.ones((3, 3), bool), is_causal=True),
     RuntimeError, "Explicit attn_mask should not be set when is_causal=True"),
    (lambda: F.scaled_dot_product_attention(cr.randn(3, 4), cr.randn(3, 5), cr.randn(3, 4)),
     RuntimeError, "do not fit"),
    (lambda: F.scaled_dot_product_attention(cr.randn(3, 4), cr.randn(3, 4), cr.randn(3, 4),
                                            attn_mask=np.ones((2, 3), bool)),
     RuntimeError, "does not broadcast"),
])
def test_bad_inputs_raise_torchs_errors(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()
