"""chainrule.nn.functional's layer, activation and loss functions: values and gradients
against PyTorch for each reduction, derivatives to second order in both modes against central
differences (check_grads, float64), and bad inputs."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import check_grads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((4, 3))
P = RNG.uniform(0.05, 0.95, (4, 3))
T01 = RNG.uniform(0.0, 1.0, (4, 3))
IDX = np.array([0, 2, 1, 2])


def _both(f_cr, f_torch, *arrays, grad_args=(0,)):
    """Values and gradients (of the sum of the output times fixed weights) agree."""
    ct = [cr.tensor(a, requires_grad=i in grad_args) if a.dtype.kind == "f" else cr.tensor(a)
          for i, a in enumerate(arrays)]
    tt = [torch.tensor(a, requires_grad=i in grad_args) if a.dtype.kind == "f"
          else torch.tensor(a) for i, a in enumerate(arrays)]
    out_c, out_t = f_cr(*ct), f_torch(*tt)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    w = np.random.default_rng(1).standard_normal(out_c.shape)
    (out_c * cr.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for i in grad_args:
        np.testing.assert_allclose(ct[i].grad.numpy(), tt[i].grad.numpy(), rtol=1e-9,
                                   atol=1e-12)


ACTIVATIONS = [
    ("leaky_relu", lambda m, x: m.leaky_relu(x, 0.2)),
    ("elu", lambda m, x: m.elu(x, 0.7)),
    ("gelu", lambda m, x: m.gelu(x)),
    ("gelu_tanh", lambda m, x: m.gelu(x, approximate="tanh")),
    ("silu", lambda m, x: m.silu(x)),
    ("softplus", lambda m, x: m.softplus(x)),
    ("softplus_beta", lambda m, x: m.softplus(x * 10, beta=2.0, threshold=5.0)),
]


@pytest.mark.parametrize("name,f", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch(name, f):
    _both(lambda x: f(F, x), lambda x: f(TF, x), X)


@pytest.mark.parametrize("name,f", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_second_order_both_modes(name, f):
    check_grads(lambda x: f(F, x), [X + 0.05], order=2)


def test_prelu_matches_torch_per_channel_and_shared():
    x4 = RNG.standard_normal((2, 3, 2, 2))
    _both(F.prelu, TF.prelu, x4, np.array([0.1, 0.2, 0.3]), grad_args=(0, 1))
    _both(F.prelu, TF.prelu, X, np.array([0.25]), grad_args=(0, 1))
    check_grads(F.prelu, [x4, np.array([0.1, 0.2, 0.3])], order=2)


def test_linear_and_bilinear_match_torch():
    w, b = RNG.standard_normal((5, 3)), RNG.standard_normal(5)
    _both(F.linear, TF.linear, X, w, b, grad_args=(0, 1, 2))
    _both(F.linear, TF.linear, RNG.standard_normal((2, 4, 3)), w, grad_args=(0, 1))
    x2, wb = RNG.standard_normal((4, 2)), RNG.standard_normal((5, 3, 2))
    _both(F.bilinear, TF.bilinear, X, x2, wb, b, grad_args=(0, 1, 2, 3))
    check_grads(F.linear, [X, w, b], order=2)
    check_grads(F.bilinear, [X, x2, wb, b], order=2)


def test_embedding_matches_torch_and_padding_row_gets_no_gradient():
    w = RNG.standard_normal((5, 3))
    idx = np.array([[0, 1, 4], [1, 1, 2]])
    _both(lambda i, w: F.embedding(i, w, padding_idx=1),
          lambda i, w: TF.embedding(i, w, padding_idx=1), idx, w, grad_args=(1,))
    wt = cr.tensor(w, requires_grad=True)
    F.embedding(cr.tensor(idx), wt, padding_idx=-4).sum().backward()
    assert np.all(wt.grad.numpy()[1] == 0) and np.all(wt.grad.numpy()[0] == 1)
    check_grads(lambda w: F.embedding(cr.tensor(idx), w), [w], order=2)  # (padding: no grad)


def test_one_hot_matches_torch():
    for n in (-1, 6):
        np.testing.assert_array_equal(F.one_hot(cr.tensor(IDX), n).numpy(),
                                      TF.one_hot(torch.tensor(IDX), n).numpy())
    assert F.one_hot(cr.tensor(IDX)).dtype == np.int64


def test_dropout_scales_survivors_and_is_identity_in_eval():
    cr.manual_seed(0)
    x = cr.ones(20000, requires_grad=True)
    y = F.dropout(x, 0.3)
    np.testing.assert_allclose(np.unique(y.detach().numpy()), [0.0, 1 / 0.7], rtol=1e-6)
    kept = float((y.detach().numpy() != 0).mean())
    assert abs(kept - 0.7) < 0.02  # 0.7 +- 7 standard deviations
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())  # gradient = the mask
    assert F.dropout(x, 0.3, training=False) is x
    assert float(F.dropout(x, 1.0).detach().abs().sum()) == 0.0


REDUCTIONS = ("none", "mean", "sum")
LOSSES = [
    ("mse", lambda m, x, y, r: m.mse_loss(x, y, reduction=r), (X, Y)),
    ("l1", lambda m, x, y, r: m.l1_loss(x, y, reduction=r), (X, Y)),
    ("smooth_l1", lambda m, x, y, r: m.smooth_l1_loss(x, y, reduction=r, beta=0.5), (X, Y)),
    ("smooth_l1_beta0", lambda m, x, y, r: m.smooth_l1_loss(x, y, reduction=r, beta=0.0),
     (X, Y)),
    ("huber", lambda m, x, y, r: m.huber_loss(x, y, reduction=r, delta=0.7), (X, Y)),
    ("bce", lambda m, x, y, r: m.binary_cross_entropy(x, y, reduction=r), (P, T01)),
    ("bce_weight", lambda m, x, y, r: m.binary_cross_entropy(
        x, y, weight=x.new_tensor([1.0, 2.0, 0.5]) if hasattr(x, "new_tensor") else
        cr.tensor([1.0, 2.0, 0.5], dtype=x.dtype), reduction=r), (P, T01)),
    ("bce_logits", lambda m, x, y, r: m.binary_cross_entropy_with_logits(x * 20, y,
                                                                        reduction=r), (X, T01)),
    ("kl", lambda m, x, y, r: m.kl_div(m.log_softmax(x, 1), y, reduction=r),
     (X, P)),
    ("kl_log_target", lambda m, x, y, r: m.kl_div(x, y, reduction=r, log_target=True), (X, Y)),
]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,f,arrays", LOSSES, ids=[a[0] for a in LOSSES])
def test_losses_match_torch(name, f, arrays, reduction):
    _both(lambda x, y: f(F, x, y, reduction), lambda x, y: f(TF, x, y, reduction), *arrays,
          grad_args=(0, 1) if name not in ("bce", "bce_weight") else (0,))


def test_bce_with_logits_pos_weight_and_weight_match_torch():
    pw, w = np.array([0.5, 2.0, 3.0]), np.array([1.0, 0.0, 2.0])
    for r in REDUCTIONS:
        _both(lambda x, y, pw, w: F.binary_cross_entropy_with_logits(x, y, w, reduction=r,
                                                                      pos_weight=pw),
              lambda x, y, pw, w: TF.binary_cross_entropy_with_logits(x, y, w, reduction=r,
                                                                       pos_weight=pw),
              X, T01, pw, w, grad_args=(0, 1))


def test_bce_with_logits_exact_at_zero_and_far_out():
    x = cr.tensor([0.0, -800.0, 800.0], dtype=cr.float64, requires_grad=True)
    t = cr.tensor([1.0, 1.0, 0.0], dtype=cr.float64)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [np.log(2), 800, 800])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, -1.0, 1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    logp = np.log(np.random.default_rng(2).dirichlet(np.ones(3), 4))
    w = np.array([1.0, 2.0, 0.5])
    for kw in ({}, {"ignore_index": 2}):
        _both(lambda x, t, w: F.nll_loss(x, t, w, reduction=reduction, **kw),
              lambda x, t, w: TF.nll_loss(x, t, w, reduction=reduction, **kw), logp, IDX, w)
    x3 = RNG.standard_normal((2, 3, 4))
    t3 = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    _both(lambda x, t: F.nll_loss(x, t, reduction=reduction),
          lambda x, t: TF.nll_loss(x, t, reduction=reduction), x3, t3)
    _both(lambda x, t: F.nll_loss(x, t, reduction=reduction),
          lambda x, t: TF.nll_loss(x, t, reduction=reduction), X[0], np.array(1))


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(cr.zeros(2, 2), cr.ones(2, 2) / 2)


def test_kl_div_batchmean_matches_torch():
    _both(lambda x, y: F.kl_div(x, y, reduction="batchmean"),
          lambda x, y: TF.kl_div(x, y, reduction="batchmean"), X, P, grad_args=(0, 1))
    # a zero target contributes 0 (PyTorch's xlogy); its own derivative, -inf, is not compared
    target = np.array([[0.2, 0.0, 0.8]] * 4)
    _both(lambda x, y: F.kl_div(x, y, reduction="batchmean"),
          lambda x, y: TF.kl_div(x, y, reduction="batchmean"), X, target)


LOSS_GRADS = [
    ("mse", lambda x, y: F.mse_loss(x, y), (X, Y)),
    ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), (X, Y + 0.01)),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.7), (X, Y + 0.01)),
    ("l1", lambda x, y: F.l1_loss(x, y, reduction="sum"), (X, Y)),
    ("bce", lambda x, y: F.binary_cross_entropy(x, y), (P, T01)),
    ("bce_logits", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=cr.tensor([0.5, 2.0, 3.0], dtype=cr.float64)), (X, T01)),
    ("kl", lambda x, y: F.kl_div(x, y, reduction="batchmean"), (X, P)),
    ("nll", lambda x: F.nll_loss(x, cr.tensor(IDX), cr.tensor([1.0, 2.0, 0.5],
                                                               dtype=cr.float64)), (X,)),
]


@pytest.mark.parametrize("name,f,arrays", LOSS_GRADS, ids=[a[0] for a in LOSS_GRADS])
def test_loss_derivatives_second_order_both_modes(name, f, arrays):
    check_grads(f, list(arrays), order=2)


def test_gradcheck_and_gradgradcheck_of_linear():
    args = [cr.tensor(X, requires_grad=True), cr.tensor(RNG.standard_normal((2, 3)),
                                                        requires_grad=True)]
    assert cr.autograd.gradcheck(F.linear, args)
    assert cr.autograd.gradgradcheck(lambda x, w: F.gelu(F.linear(x, w)), args)


BAD = [
    (lambda: F.linear(cr.ones(2, 3), cr.ones(4, 5)), RuntimeError, "cannot be multiplied"),
    (lambda: F.dropout(cr.ones(2), 1.5), ValueError, "between 0 and 1"),
    (lambda: F.one_hot(cr.ones(2)), RuntimeError, "index tensor"),
    (lambda: F.one_hot(cr.tensor([3]), 2), RuntimeError, "smaller than num_classes"),
    (lambda: F.one_hot(cr.tensor([-1]), 2), RuntimeError, "non-negative"),
    (lambda: F.embedding(cr.tensor([0.0]), cr.ones(3, 2)), RuntimeError, "Long, Int"),
    (lambda: F.embedding(cr.tensor([5]), cr.ones(3, 2)), IndexError, "index out of range"),
    (lambda: F.mse_loss(cr.ones(2), cr.ones(2), reduction="avg"), ValueError,
     "not a valid value for reduction"),
    (lambda: F.smooth_l1_loss(cr.ones(2), cr.ones(2), beta=-1), RuntimeError, "negative"),
    (lambda: F.huber_loss(cr.ones(2), cr.ones(2), delta=0), RuntimeError, "non-positive"),
    (lambda: F.nll_loss(cr.ones(2, 3), cr.tensor([0, 3])), IndexError, "out of bounds"),
    (lambda: F.nll_loss(cr.ones(2, 3), cr.tensor([0, 1, 2])), ValueError, "batch_size"),
    (lambda: F.nll_loss(cr.ones(2, 3), cr.tensor([0.0, 1.0])), RuntimeError, "Long"),
    (lambda: F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0])), RuntimeError,
     "between 0 and 1"),
    (lambda: F.binary_cross_entropy(cr.ones(2, 1) / 2, cr.ones(2)), ValueError, "same size"),
    (lambda: F.binary_cross_entropy_with_logits(cr.ones(2, 1), cr.ones(2)), ValueError,
     "same as input size"),
    (lambda: F.gelu(cr.ones(2), approximate="fast"), RuntimeError, "approximate"),
    (lambda: F.prelu(cr.ones(2, 3), cr.ones(2)), RuntimeError, "channel size"),
]


@pytest.mark.parametrize("call,error,phrase", BAD)
def test_bad_inputs_raise_torchs_error_types(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


def test_bad_inputs_raise_the_same_types_in_torch():
    # the error types above are PyTorch's own for the same mistakes
    cases = [
        (lambda: TF.linear(torch.ones(2, 3), torch.ones(4, 5)), RuntimeError),
        (lambda: TF.dropout(torch.ones(2), 1.5), ValueError),
        (lambda: TF.one_hot(torch.tensor([3]), 2), RuntimeError),
        (lambda: TF.embedding(torch.tensor([5]), torch.ones(3, 2)), IndexError),
        (lambda: TF.mse_loss(torch.ones(2), torch.ones(2), reduction="avg"), ValueError),
        (lambda: TF.nll_loss(torch.ones(2, 3), torch.tensor([0, 3])), IndexError),
        (lambda: TF.nll_loss(torch.ones(2, 3), torch.tensor([0, 1, 2])), ValueError),
        (lambda: TF.binary_cross_entropy(torch.ones(2, 1) / 2, torch.ones(2)), ValueError),
        (lambda: TF.binary_cross_entropy_with_logits(torch.ones(2, 1), torch.ones(2)),
         ValueError),
    ]
    for call, error in cases:
        with pytest.raises(error):
            call()


def test_mse_loss_warns_on_broadcasting_shapes():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(cr.ones(3, 1), cr.ones(3))


@pytest.mark.parametrize("name, kwargs, module", [
    ("relu", {}, lambda: nn.ReLU(inplace=True)),
    ("leaky_relu", {"negative_slope": 0.2}, lambda: nn.LeakyReLU(0.2, inplace=True)),
    ("elu", {"alpha": 0.5}, lambda: nn.ELU(0.5, inplace=True)),
    ("silu", {}, lambda: nn.SiLU(inplace=True)),
])
def test_inplace_activations_write_into_their_input_and_keep_the_gradient(name, kwargs, module):
    """``inplace=True`` (PyTorch's) changes the input itself and returns it; the gradient is
    the out-of-place one's; a leaf that requires grad refuses, as in PyTorch."""
    function = getattr(F, name)
    values = np.array([-2.0, -0.5, 0.5, 3.0])
    base = cr.tensor(values, requires_grad=True)
    expected = function(base * 1.5, **kwargs)
    (want_grad,) = cr.autograd.grad(expected.sum(), base)
    for apply in (lambda h: function(h, inplace=True, **kwargs), lambda h: module()(h)):
        h = base * 1.5
        out = apply(h)
        assert out is h and h._version == 1
        np.testing.assert_allclose(h.detach().numpy(), expected.detach().numpy())
        (grad,) = cr.autograd.grad(h.sum(), base)
        np.testing.assert_allclose(grad.numpy(), want_grad.numpy())
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        function(base, inplace=True, **kwargs)
