"""Batch, instance, layer and group normalisation and ``normalize``: closed forms (a
standardised output has mean 0 and variance 1 over its dims; the running statistics are the
stated averages), derivatives against central differences in float64 (``gradcheck``,
``gradgradcheck``, ``check_grads`` in forward mode), errors; and, where PyTorch is installed,
the modules against PyTorch's (outputs, gradients, running statistics over several steps,
``num_batches_tracked``, eval, ``momentum=None``, state dicts)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import check_grads

RNG_SEED = 1515


def _t(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal(shape) * 2.0 + 0.5, dtype=cr.float64,
                     requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------
# closed forms, no PyTorch


@pytest.mark.parametrize(("norm", "shape", "dims"), [
    (lambda x: F.batch_norm(x, None, None, training=True), (6, 3, 4), (0, 2)),
    (lambda x: F.instance_norm(x), (2, 3, 5), (2,)),
    (lambda x: F.layer_norm(x, (3, 4)), (2, 3, 4), (1, 2)),
])
def test_the_output_has_mean_0_and_variance_1(norm, shape, dims):
    x = _t(*shape)
    y = norm(x).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=dims), 0.0, atol=1e-14)
    # the biased variance of (x - mean) / sqrt(var + eps) is var / (var + eps)
    var = x.detach().numpy().var(axis=dims)
    np.testing.assert_allclose(y.var(axis=dims), var / (var + 1e-5), rtol=1e-13)


def test_group_norm_standardises_each_group():
    x = _t(2, 6, 5)
    y = F.group_norm(x, 3, eps=0.0).detach().numpy().reshape(2, 3, 10)
    np.testing.assert_allclose(y.mean(axis=2), 0.0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=2), 1.0, rtol=1e-13)


def test_affine_and_eval_closed_forms():
    x = _t(4, 3, requires_grad=False)
    w, b = cr.tensor([1.0, 2.0, -1.0], dtype=cr.float64), cr.tensor([0.0, 1.0, 3.0],
                                                                    dtype=cr.float64)
    mean, var = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64), cr.tensor([1.0, 4.0, 0.25],
                                                                         dtype=cr.float64)
    y = F.batch_norm(x, mean, var, w, b, training=False, eps=0.0).numpy()
    expected = (x.numpy() - mean.numpy()) / np.sqrt(var.numpy()) * w.numpy() + b.numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-14)
    np.testing.assert_array_equal(mean.numpy(), [0.5, -1.0, 2.0])  # eval leaves them alone


def test_running_statistics_are_the_momentum_averages():
    x = _t(5, 2, 3, requires_grad=False).numpy()
    mean, var = cr.zeros(2, dtype=cr.float64), cr.ones(2, dtype=cr.float64)
    F.batch_norm(cr.tensor(x), mean, var, training=True, momentum=0.25)
    np.testing.assert_allclose(mean.numpy(), 0.25 * x.mean(axis=(0, 2)), rtol=1e-14)
    # the running variance takes the unbiased variance (15 values per channel)
    np.testing.assert_allclose(var.numpy(), 0.75 + 0.25 * x.var(axis=(0, 2), ddof=1),
                               rtol=1e-14)


def test_module_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(3, momentum=None).double()
    batches = [_t(4, 3, seed=s, requires_grad=False).numpy() for s in range(3)]
    for b in batches:
        bn(cr.tensor(b))
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == cr.int64
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-13)


def test_normalize_divides_by_the_norm_clamped_at_eps():
    x = cr.tensor([[3.0, 4.0], [0.0, 0.0], [1e-14, 0.0]], dtype=cr.float64)
    np.testing.assert_allclose(F.normalize(x).numpy(), [[0.6, 0.8], [0, 0], [0.01, 0]])
    np.testing.assert_allclose(F.normalize(x, p=1, dim=0).numpy()[:, 0], [1.0, 0.0, 1e-14 / 3])


# --------------------------------------------------------------------------------------------
# derivatives against central differences (float64)

CALLS = {
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   (5, 3, 2), (3,)),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(
        x, cr.tensor([0.1, -0.2, 0.3], dtype=cr.float64),
        cr.tensor([1.5, 0.5, 2.0], dtype=cr.float64), w, b), (4, 3), (3,)),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 4), (3,)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), (4, 2, 3), (2, 3)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 3), (4,)),
    "normalize": (lambda x, w, b: F.normalize(x * w + b, p=3.0, dim=1), (4, 3), (3,)),
}


@pytest.mark.parametrize("name", CALLS)
def test_gradients_match_finite_differences(name):
    f, shape, pshape = CALLS[name]
    args = (_t(*shape, seed=1), _t(*pshape, seed=2), _t(*pshape, seed=3))
    assert cr.autograd.gradcheck(f, args)
    assert cr.autograd.gradgradcheck(f, args)
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_standardize_with_and_without_the_forwards_moments():
    # the layers hand rules.standardize a Moments that its forward fills (mean, biased var,
    # rstd), which the plain backward pass reads; called without one, the rule recomputes rstd
    # from x.  Both give the closed form dx = rstd (g - mean(g) - x̂ mean(g x̂)).
    from chainrule.rules import standardize
    from chainrule.rules.reductions import Moments

    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((4, 3, 5)) * 3.0 - 1.0
    g = rng.standard_normal(x.shape)
    axes = (0, 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + 1e-5)
    xhat = (x - mean) * rstd
    expected = rstd * (g - g.mean(axis=axes, keepdims=True)
                       - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    for moments in (Moments(), None):
        xt = cr.tensor(x, requires_grad=True)
        y = standardize(xt, axis=axes, eps=1e-5, moments=moments)
        y.backward(cr.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), xhat, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(xt.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
        if moments is not None:
            np.testing.assert_allclose(moments.mean, mean, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(moments.var, var, rtol=1e-12)
            np.testing.assert_allclose(moments.rstd, rstd, rtol=1e-12)
    f = lambda x: standardize(x, axis=(1,), eps=1e-3)  # noqa: E731
    assert cr.autograd.gradcheck(f, (_t(3, 4, seed=4),))
    check_grads(f, (_t(3, 4, seed=5),), order=1, modes=("fwd", "rev"))


# --------------------------------------------------------------------------------------------
# bad input

BAD = [
    (lambda: F.batch_norm(cr.ones(1, 3), cr.zeros(3), cr.ones(3), training=True), ValueError,
     "Expected more than 1 value per channel when training, got input size "
     r"torch.Size\(\[1, 3\]\)"),
    (lambda: F.batch_norm(cr.ones(4, 3), cr.zeros(2), cr.ones(2), training=True),
     RuntimeError, "running_mean should contain 3 elements not 2"),
    (lambda: F.batch_norm(cr.ones(4, 3), None, None, training=False), RuntimeError,
     "running_mean must be defined in evaluation mode"),
    (lambda: F.batch_norm(cr.ones(4, 3), None, None, cr.ones(2), training=True), RuntimeError,
     "weight should contain 3 elements not 2"),
    (lambda: F.batch_norm(cr.ones(3), None, None, training=True), RuntimeError,
     r"batch_norm: expected an input of shape \(N, C, \*\)"),
    (lambda: F.batch_norm(cr.ones(4, 3), np.zeros(3), np.ones(3), training=True), TypeError,
     "running_mean must be a chainrule Tensor"),
    (lambda: F.layer_norm(cr.ones(4, 3, 5), (4,)), RuntimeError,
     r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"),
    (lambda: F.layer_norm(cr.ones(4, 5), 5, weight=cr.ones(4)), RuntimeError,
     "Expected weight to be of same shape as normalized_shape"),
    (lambda: F.layer_norm(cr.ones(4, 5), "5"), TypeError, "normalized_shape must be an int"),
    (lambda: F.group_norm(cr.ones(4, 3, 5), 2), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups"),
    (lambda: F.group_norm(cr.ones(4), 2), RuntimeError, "Expected at least 2 dimensions"),
    (lambda: F.instance_norm(cr.ones(2, 3, 1)), ValueError,
     "Expected more than 1 spatial element when training"),
    (lambda: nn.BatchNorm1d(3)(cr.ones(2, 3, 4, 5)), ValueError,
     r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.BatchNorm2d(3)(cr.ones(2, 3, 4)), ValueError, r"expected 4D input \(got 3D"),
    (lambda: nn.BatchNorm2d(3)(cr.ones(2, 4, 4, 4)), RuntimeError,
     "running_mean should contain 4 elements not 3"),
    (lambda: nn.BatchNorm1d(3)(cr.ones(1, 3)), ValueError,
     "Expected more than 1 value per channel when training"),
    (lambda: nn.GroupNorm(2, 3), ValueError, r"num_channels \(3\) must be divisible"),
    (lambda: nn.InstanceNorm1d(3)(cr.ones(2, 3, 4, 5)), ValueError,
     r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.LayerNorm(4)(cr.ones(3, 5)), RuntimeError, "normalized_shape=\\[4\\]"),
    (lambda: nn.BatchNorm1d(2.5), TypeError, "num_features must be a non-negative int"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD)
def test_bad_input_is_explained(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_one_value_per_channel_is_fine_in_eval():
    bn = nn.BatchNorm1d(3).eval()
    np.testing.assert_allclose(bn(cr.ones(1, 3)).detach().numpy(), 1 / np.sqrt(1 + 1e-5),
                               rtol=1e-6)


def test_reprs():
    assert repr(nn.BatchNorm2d(3)) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")
    assert repr(nn.LayerNorm((4, 5))) == ("LayerNorm((4, 5), eps=1e-05, "
                                          "elementwise_affine=True, bias=True)")
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(nn.InstanceNorm2d(3)) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, "
                                          "affine=False, bias=False, track_running_stats=False)")


# --------------------------------------------------------------------------------------------
# against PyTorch (float64)


def _pair(torch, make):
    """The same module in PyTorch and chainrule, random affine parameters copied over."""
    t = make(torch.nn).double()
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    c = make(nn).double()
    c.load_state_dict(t.state_dict())
    return t, c


MODULES = {
    "BatchNorm1d": (lambda m: m.BatchNorm1d(3), (6, 3)),
    "BatchNorm1d-3d": (lambda m: m.BatchNorm1d(3, momentum=0.3), (4, 3, 5)),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(4), (3, 4, 2, 5)),
    "BatchNorm2d-cumulative": (lambda m: m.BatchNorm2d(2, momentum=None), (3, 2, 3, 3)),
    "BatchNorm3d": (lambda m: m.BatchNorm3d(2, eps=1e-3), (2, 2, 3, 2, 2)),
    "BatchNorm1d-untracked": (lambda m: m.BatchNorm1d(3, track_running_stats=False), (5, 3)),
    "BatchNorm1d-no-affine": (lambda m: m.BatchNorm1d(3, affine=False), (5, 3)),
    "BatchNorm1d-no-bias": (lambda m: m.BatchNorm1d(3, bias=False), (5, 3)),
    "InstanceNorm1d": (lambda m: m.InstanceNorm1d(3, affine=True, track_running_stats=True),
                       (2, 3, 6)),
    "InstanceNorm2d": (lambda m: m.InstanceNorm2d(2), (3, 2, 3, 4)),
    "InstanceNorm1d-unbatched": (lambda m: m.InstanceNorm1d(3, affine=True), (3, 6)),
    "LayerNorm": (lambda m: m.LayerNorm(5), (3, 4, 5)),
    "LayerNorm-2d": (lambda m: m.LayerNorm((4, 5), eps=1e-3, bias=False), (3, 4, 5)),
    "LayerNorm-plain": (lambda m: m.LayerNorm(5, elementwise_affine=False), (2, 5)),
    "GroupNorm": (lambda m: m.GroupNorm(2, 4), (3, 4, 5)),
    "GroupNorm-4d": (lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 2, 3)),
}


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_pytorch_over_training_steps_and_in_eval(name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    make, shape = MODULES[name]
    t, c = _pair(torch, make)
    assert repr(c) == repr(t)
    assert [(k, tuple(v.shape)) for k, v in c.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    rng = np.random.default_rng(RNG_SEED)
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        g = rng.standard_normal(shape)
        tx = torch.tensor(x, requires_grad=True)
        cx = cr.tensor(x, requires_grad=True)
        ty, cy = t(tx), c(cx)
        np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        ty.backward(torch.tensor(g))
        cy.backward(cr.tensor(g))
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        for (n, tp), (_, cp) in zip(t.named_parameters(), c.named_parameters()):
            np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=n)
        for (n, tb), (_, cb) in zip(t.named_buffers(), c.named_buffers()):
            np.testing.assert_allclose(cb.numpy(), tb.numpy(), rtol=1e-10, err_msg=n)
            assert cb.dtype.name == str(tb.dtype).removeprefix("torch."), n
    t.eval()
    c.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(c(cr.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_a_trained_pytorch_state_dict_loads_and_gives_its_eval_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                            torch.nn.LayerNorm(3)).double()
    for _ in range(3):
        t(torch.randn(8, 4, dtype=torch.float64))
    c = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.LayerNorm(3)).double()
    c.load_state_dict(t.state_dict())
    assert c[1].num_batches_tracked.item() == 3
    t.eval()
    c.eval()
    x = np.random.default_rng(2).standard_normal((5, 4))
    np.testing.assert_allclose(c(cr.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_gelu_keeps_its_digits_in_the_left_tail():
    x = np.linspace(-30.0, 0.0, 301)
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x]
    # (erfc's condition number at x / sqrt(2) is about x^2, 900 at -30: the rounding of x /
    # sqrt(2) alone moves it by 900 eps = 2e-13)
    np.testing.assert_allclose(F.gelu(cr.tensor(x)).numpy(), expected, rtol=5e-13, atol=0)


# (PyTorch's 1 + erf(x / sqrt(2)), and either's 1 + tanh(...), lose digits below x = -3)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_pytorch(approximate):
    torch = pytest.importorskip("torch")
    x = np.linspace(-3.0, 6.0, 721)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate=approximate)
    cy = F.gelu(cx, approximate=approximate)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                               atol=1e-300)
    ty.sum().backward()
    cy.sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-300)


def test_functional_forms_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    tx, cx = torch.tensor(x), cr.tensor(x)
    pairs = [
        (F.group_norm(cx, 2, cr.tensor(w), cr.tensor(b)),
         tf.group_norm(tx, 2, torch.tensor(w), torch.tensor(b))),
        (F.normalize(cx, p=1.5, dim=2), tf.normalize(tx, p=1.5, dim=2)),
        (F.instance_norm(cx, use_input_stats=True), tf.instance_norm(tx)),
        (F.layer_norm(cx, 5, eps=0.1), tf.layer_norm(tx, (5,), eps=0.1)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
