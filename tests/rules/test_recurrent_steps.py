"""The fused recurrent primitives (``chainrule/rules/recurrent.py``, ``lstm_layer.py``) beyond their
table entries:
``lstm_scan`` against the step primitives it replaces, with and without initial states, in
both directions, to second order and in forward mode; its shared backward pass (one pass
through time for all five inputs) when only some inputs are asked for, or a graph is walked
twice; and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule import rules as R
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.rules import lstm_layer, recurrent

L, N, H = 3, 2, 3


def _inputs(seed: int, states: bool = True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    # lstm_scan's gate-major layout: xp (4, L, N, H), w (4, H, H), b (4, H)
    shapes = [(4, L, N, H), (4, H, H), (4, H)] + ([(N, H), (N, H)] if states else [])
    scales = [1.0, 0.5, 0.5, 1.0, 1.0]
    return [cr.tensor((rng.standard_normal(s) * k).astype(dtype), requires_grad=True)
            for s, k in zip(shapes, scales)]


def _scan(reverse: bool, states: bool):
    """``lstm_scan`` of (xp, w, b[, h0, c0]); None for missing initial states."""
    def f(xp, w, b, h0=None, c0=None):
        return R.lstm_scan(xp, w, b, h0, c0, reverse=reverse)
    return f if states else (lambda xp, w, b: f(xp, w, b))


def _by_steps(reverse: bool, states: bool):
    """The same function from the step primitives (the layers' path with projections), on
    the inputs brought to their layout."""
    def f(xp, w, b, h0=None, c0=None):
        inputs = lstm_layer._rows_layout(xp, w, b, (L, N, H))
        steps = lstm_layer._scan_steps(*inputs, h0, c0, reverse)
        hs = {t: R.lstm_hidden(a, c) for t, a, _, c, _ in steps}
        rows = [hs[t] for t in range(L)] + [steps[-1][3]]
        return cr.stack(rows)
    return f if states else (lambda xp, w, b: f(xp, w, b))


CASES = [(reverse, states) for reverse in (False, True) for states in (True, False)]


@pytest.mark.parametrize(("reverse", "states"), CASES)
def test_scan_equals_the_step_primitives_with_their_gradients(reverse, states):
    args = _inputs(1, states)
    y, y_steps = _scan(reverse, states)(*args), _by_steps(reverse, states)(*args)
    np.testing.assert_allclose(y.detach().numpy(), y_steps.detach().numpy(), rtol=1e-13,
                               atol=1e-14)
    u = np.random.default_rng(2).standard_normal(y.shape)
    grads = cr.autograd.grad((y * cr.tensor(u)).sum(), args)
    grads_steps = cr.autograd.grad((y_steps * cr.tensor(u)).sum(), args)
    for got, want in zip(grads, grads_steps):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("reverse", "states"), CASES)
def test_scan_derivatives_match_finite_differences(reverse, states):
    args = _inputs(3, states)
    f = _scan(reverse, states)
    assert gradcheck(f, args)
    assert gradgradcheck(f, args)
    assert cr.testing.check_grads(f, args, order=2, modes=("fwd", "rev")) is None


def test_one_step_without_states_gives_w_no_gradient():
    # h0 = 0 is left out, so w multiplies nothing (as the layers document)
    xp, w, b = _inputs(4, states=False)
    xp = xp[:, :1].detach().requires_grad_()
    y = R.lstm_scan(xp, w, b, None, None)
    gx, gw = cr.autograd.grad(y.sum(), [xp, w], allow_unused=True)
    assert gx is not None and gw is None


def test_inputs_asked_alone_get_the_gradients_asked_together():
    args = _inputs(5)
    y = R.lstm_scan(*args)
    together = cr.autograd.grad(y.sum(), args, retain_graph=True)
    # each input alone, out of order and with its own cotangent: each a new pass through time
    # (the gradients kept from a pass that did not ask for every input must not be reused)
    for k in (4, 1, 0, 3):
        (alone,) = cr.autograd.grad((y * (k + 1.0)).sum(), [args[k]], retain_graph=True)
        np.testing.assert_allclose(alone.numpy(), (k + 1) * together[k].numpy(), rtol=1e-13)


def test_two_graphs_through_one_scan_do_not_share_gradients():
    args = _inputs(6)
    y = R.lstm_scan(*args)
    first = cr.autograd.grad((y * 2).sum(), args, retain_graph=True)
    second = cr.autograd.grad(y.sum(), args)
    for a, b in zip(first, second):
        np.testing.assert_allclose(a.numpy(), 2 * b.numpy(), rtol=1e-12, atol=1e-15)


def test_scan_keeps_float32():
    args = _inputs(7, dtype=np.float32)
    y = R.lstm_scan(*args)
    assert y.dtype == np.float32
    assert all(g.dtype == np.float32 for g in cr.autograd.grad(y.sum(), args))


def test_scan_rejects_shapes_that_do_not_fit():
    xp, w, b, h0, c0 = _inputs(8)
    with pytest.raises(ValueError, match="w must have shape"):
        R.lstm_scan(xp, w[:, :, :2], b, h0, c0)
    with pytest.raises(ValueError, match=r"xp must be \(4, L, N, H\)"):
        R.lstm_scan(xp[0], w, b, h0, c0)


def test_changing_the_output_in_place_before_backward_is_an_error():
    args = _inputs(9)
    y = R.lstm_scan(*args)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_step_primitives_gradgradcheck():
    rng = np.random.default_rng(10)
    a = cr.tensor(rng.standard_normal((2, 4 * H)), requires_grad=True)
    c = cr.tensor(rng.standard_normal((2, H)), requires_grad=True)
    for f, args in ((R.lstm_gates, (a,)), (R.lstm_cell, (a, c)), (R.lstm_hidden, (a, c))):
        assert gradcheck(f, args)
        assert gradgradcheck(f, args)


# --------------------------------------------------------------------------------------------
# gru_scan


def _gru_inputs(seed: int, state: bool = True, biases: bool = True):
    rng = np.random.default_rng(seed)
    shapes = [(L, N, 3 * H), (H, 3 * H)] + ([(3 * H,), (3 * H,)] if biases else []) + (
        [(N, H)] if state else [])
    scales = [1.0, 0.5] + ([0.5, 0.5] if biases else []) + ([1.0] if state else [])
    return [cr.tensor(rng.standard_normal(s) * k, requires_grad=True)
            for s, k in zip(shapes, scales)]


def _gru(reverse: bool, state: bool, biases: bool):
    """``gru_scan`` of (xp, w[, b_ih, b_hh][, h0]); None for what is left out."""
    def f(xp, w, *rest):
        rest = list(rest)
        b_ih, b_hh = (rest.pop(0), rest.pop(0)) if biases else (None, None)
        h0 = rest.pop(0) if state else None
        return R.gru_scan(xp, w, b_ih, b_hh, h0, reverse=reverse)
    return f


GRU_CASES = [(reverse, state, biases) for reverse in (False, True) for state in (True, False)
             for biases in (True, False)]


@pytest.mark.parametrize(("reverse", "state", "biases"), GRU_CASES)
def test_gru_scan_derivatives_match_finite_differences(reverse, state, biases):
    args = _gru_inputs(11, state, biases)
    f = _gru(reverse, state, biases)
    assert gradcheck(f, args)
    assert gradgradcheck(f, args)
    assert cr.testing.check_grads(f, args, order=2, modes=("fwd", "rev")) is None


def test_gru_scan_equals_the_layer_written_out():
    # r multiplies W_hn h + b_hn: a missing state leaves r b_hn (r times 0 without a bias)
    xp, w, b_ih, b_hh = (t.detach() for t in _gru_inputs(12, state=False))
    for bias in (b_hh, None):
        y = R.gru_scan(xp, w, b_ih, bias, None).numpy()
        h = np.zeros((N, H))
        for t in range(L):
            u = np.split(xp.numpy()[t] + b_ih.numpy(), 3, -1)
            v = np.split(h @ w.numpy() + (0 if bias is None else bias.numpy()), 3, -1)
            r, z = (1 / (1 + np.exp(-(u[k] + v[k]))) for k in (0, 1))
            n = np.tanh(u[2] + r * v[2])
            h = (1 - z) * n + z * h
            np.testing.assert_allclose(y[t], h, rtol=1e-13, atol=1e-15)


def test_gru_inputs_asked_alone_get_the_gradients_asked_together():
    args = _gru_inputs(13)
    y = R.gru_scan(*args)
    together = cr.autograd.grad(y.sum(), args, retain_graph=True)
    for k in (4, 1, 3, 0):
        (alone,) = cr.autograd.grad((y * (k + 1.0)).sum(), [args[k]], retain_graph=True)
        np.testing.assert_allclose(alone.numpy(), (k + 1) * together[k].numpy(), rtol=1e-13)


def test_gru_scan_rejects_shapes_that_do_not_fit():
    xp, w, b_ih, b_hh, h0 = _gru_inputs(14)
    with pytest.raises(ValueError, match="b_hh must have shape"):
        R.gru_scan(xp, w, b_ih, b_hh[:3], h0)
    with pytest.raises(ValueError, match=r"xp must be \(L, N, 3H\)"):
        R.gru_scan(xp[..., :8], w, b_ih, b_hh, h0)


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU])
def test_nothing_of_a_backward_pass_is_kept_after_it(layer):
    """The scan computes every input's gradient at once and hands them out as the engine asks;
    when the inputs that need one have taken theirs, nothing of the pass stays behind (the
    initial states here need none, so their gradients are never asked for)."""
    h0 = cr.randn(2, 2, 4)
    state = (h0, cr.randn(2, 2, 4)) if layer is nn.LSTM else h0
    out, _ = layer(3, 4, num_layers=2)(cr.randn(5, 2, 3), state)
    out.sum().backward()
    assert getattr(recurrent._last, "entry", None) is None
