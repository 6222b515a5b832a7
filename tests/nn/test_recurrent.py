"""chainrule.nn's recurrent layers and cells: against PyTorch where installed (weights copied
through state_dict; outputs, final states and the gradients of inputs, initial states and
every parameter in float64), and without it against central finite differences (reverse and
forward mode, second order), a closed form, seeded dropout and PyTorch's error messages."""

import math
import warnings

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


def _pair(torch, kind: str, kwargs: dict):
    """A seeded PyTorch module and the chainrule one holding its weights (float64)."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, kind)(**kwargs).double()
    cm = getattr(nn, kind)(**kwargs).double()
    assert [(k, tuple(v.shape)) for k, v in cm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    result = cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert repr(cm) == repr(tm)
    return tm, cm


def _flat(result):
    """The tensors of a layer's result, in order: output, h_n[, c_n]."""
    if isinstance(result, tuple):
        return [t for part in result for t in _flat(part)]
    return [result]


def _compare(torch, kind, kwargs, input_shape, state_shapes):
    tm, cm = _pair(torch, kind, kwargs)
    rng = np.random.default_rng(len(input_shape) + len(state_shapes))
    arrays = [rng.standard_normal(input_shape)] + [rng.standard_normal(s) for s in state_shapes]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    cs = [cr.tensor(a, requires_grad=True) for a in arrays]

    def call(m, x, *states):
        if not states:
            return m(x)
        return m(x, tuple(states) if kind.startswith("LSTM") else states[0])

    tout, cout = _flat(call(tm, *ts)), _flat(call(cm, *cs))
    assert len(tout) == len(cout)
    weights = [rng.standard_normal(tuple(t.shape)) for t in tout]
    for t, c in zip(tout, cout):
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL)
    sum((t * torch.tensor(w)).sum() for t, w in zip(tout, weights)).backward()
    sum((c * cr.tensor(w)).sum() for c, w in zip(cout, weights)).backward()
    for t, c in zip(ts, cs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), **TOL)
    tparams = dict(tm.named_parameters())
    assert [n for n, _ in cm.named_parameters()] == list(tparams)
    for name, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), **TOL,
                                   err_msg=name)


LAYERS = [
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 2, 3), [(1, 2, 4), (1, 2, 4)]),
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 2, 3), []),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3),
     [(4, 2, 4), (4, 2, 4)]),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True), (2, 5, 3), []),
    ("LSTM", dict(input_size=3, hidden_size=4, bidirectional=True), (5, 3), [(2, 4), (2, 4)]),
    ("LSTM", dict(input_size=3, hidden_size=4, proj_size=2, num_layers=2, bidirectional=True),
     (5, 2, 3), [(4, 2, 2), (4, 2, 4)]),
    ("LSTM", dict(input_size=3, hidden_size=4, bias=False), (1, 2, 3), [(1, 2, 4), (1, 2, 4)]),
    ("GRU", dict(input_size=3, hidden_size=4), (5, 2, 3), [(1, 2, 4)]),
    ("GRU", dict(input_size=3, hidden_size=4), (5, 2, 3), []),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                 batch_first=True), (2, 5, 3), [(4, 2, 4)]),
    ("GRU", dict(input_size=3, hidden_size=4, bias=False), (5, 3), []),
    ("RNN", dict(input_size=3, hidden_size=4), (5, 2, 3), [(1, 2, 4)]),
    ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", num_layers=2), (5, 2, 3),
     []),
    ("RNN", dict(input_size=3, hidden_size=4, bidirectional=True, batch_first=True), (5, 3),
     [(2, 4)]),
]


@pytest.mark.parametrize("kind, kwargs, input_shape, states", LAYERS,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(LAYERS)])
def test_layers_match_torch(torch, kind, kwargs, input_shape, states):
    _compare(torch, kind, kwargs, input_shape, states)


CELLS = [
    ("LSTMCell", dict(input_size=3, hidden_size=4), (2, 3), [(2, 4), (2, 4)]),
    ("LSTMCell", dict(input_size=3, hidden_size=4), (3,), []),
    ("GRUCell", dict(input_size=3, hidden_size=4), (2, 3), [(2, 4)]),
    ("GRUCell", dict(input_size=3, hidden_size=4, bias=False), (3,), [(4,)]),
    ("RNNCell", dict(input_size=3, hidden_size=4), (2, 3), []),
    ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu"), (2, 3), [(2, 4)]),
]


@pytest.mark.parametrize("kind, kwargs, input_shape, states", CELLS,
                         ids=[f"{k}-{i}" for i, (k, *_) in enumerate(CELLS)])
def test_cells_match_torch(torch, kind, kwargs, input_shape, states):
    _compare(torch, kind, kwargs, input_shape, states)


def test_default_initialisation_is_torchs_range():
    cr.manual_seed(0)
    lstm = nn.LSTM(5, 16, num_layers=2, bidirectional=True)
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24  # 1/sqrt(16)
    assert abs(values.mean()) < 0.01


# --------------------------------------------------------------------------------------------
# without PyTorch: finite differences, a closed form, dropout


def _parameter_check(module, loss, eps=1e-6, seed=0):
    """The directional derivative of ``loss()`` along a random direction of all parameters,
    by central differences, against the sum of gradient times direction."""
    rng = np.random.default_rng(seed)
    params = list(module.parameters())
    directions = [rng.standard_normal(p.shape) for p in params]
    module.zero_grad()
    loss().backward()
    analytic = sum(float((p.grad.numpy() * d).sum()) for p, d in zip(params, directions))
    values = []
    for sign in (1, -1):
        with cr.no_grad():
            for p, d in zip(params, directions):
                p += sign * eps * cr.tensor(d)
        values.append(float(loss().item()))
        with cr.no_grad():
            for p, d in zip(params, directions):
                p -= sign * eps * cr.tensor(d)
    numeric = (values[0] - values[1]) / (2 * eps)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_two_layer_bidirectional_lstm_gradients_match_finite_differences():
    cr.manual_seed(1)
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(0)
    x, h0, c0 = (cr.tensor(rng.standard_normal(s), requires_grad=True)
                 for s in ((4, 2, 2), (4, 2, 3), (4, 2, 3)))
    assert cr.autograd.gradcheck(lambda x, h, c: _flat(lstm(x, (h, c))), (x, h0, c0))
    w = cr.tensor(rng.standard_normal((4, 2, 6)))
    _parameter_check(lstm, lambda: (lstm(x, (h0, c0))[0] * w).sum())


def test_gru_and_rnn_gradients_match_finite_differences():
    cr.manual_seed(2)
    rng = np.random.default_rng(1)
    for module in (nn.GRU(3, 2, batch_first=True).double(),
                   nn.RNN(3, 2, nonlinearity="relu", num_layers=2).double()):
        x = cr.tensor(rng.standard_normal((2, 4, 3) if module.batch_first else (4, 2, 3)),
                      requires_grad=True)
        h0 = cr.tensor(rng.standard_normal((module.num_layers, 2, 2)), requires_grad=True)
        assert cr.autograd.gradcheck(lambda x, h: _flat(module(x, h)), (x, h0))
        _parameter_check(module, lambda: (module(x, h0)[0] ** 2).sum())


def test_forward_mode_and_second_order_through_layers():
    cr.manual_seed(3)
    rng = np.random.default_rng(2)
    gru = nn.GRU(2, 3).double()
    x = rng.standard_normal((3, 2, 2))
    h0 = rng.standard_normal((1, 2, 3))
    check_grads(lambda x, h: gru(x, h)[0], (x, h0), order=2, modes=("fwd", "rev"))
    lstm = nn.LSTM(2, 2, bidirectional=True).double()
    check_grads(lambda x: lstm(x)[1][1], (x,), order=1, modes=("fwd",))


def test_lstm_cell_second_derivatives_match_finite_differences():
    cr.manual_seed(4)
    cell = nn.LSTMCell(3, 2).double()
    rng = np.random.default_rng(3)
    x, h, c = (cr.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 3), (2, 2), (2, 2)))
    assert cr.autograd.gradgradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))
    check_grads(lambda x, h, c: cell(x, (h, c))[0], (x, h, c), order=2)


def test_one_unit_rnn_by_hand():
    rnn = nn.RNN(1, 1).double()
    rnn.load_state_dict({"weight_ih_l0": np.array([[0.5]]), "weight_hh_l0": np.array([[-0.8]]),
                         "bias_ih_l0": np.array([0.1]), "bias_hh_l0": np.array([0.2])})
    x = cr.tensor([[[1.0]], [[2.0]]], dtype=cr.float64, requires_grad=True)
    output, h_n = rnn(x, cr.tensor([[[0.3]]], dtype=cr.float64))
    h1 = math.tanh(0.5 * 1.0 + 0.3 - 0.8 * 0.3)
    h2 = math.tanh(0.5 * 2.0 + 0.3 - 0.8 * h1)
    np.testing.assert_allclose(output.detach().numpy().ravel(), [h1, h2], rtol=1e-14)
    np.testing.assert_allclose(h_n.detach().numpy().ravel(), [h2], rtol=1e-14)
    h_n.sum().backward()
    # d h2 / d w_hh = (1 - h2^2) (h1 + w_hh d h1 / d w_hh), d h1 / d w_hh = (1 - h1^2) 0.3
    d_w = (1 - h2 ** 2) * (h1 - 0.8 * (1 - h1 ** 2) * 0.3)
    np.testing.assert_allclose(rnn.weight_hh_l0.grad.numpy().ravel(), [d_w], rtol=1e-13)
    # d h2 / d x1 = (1 - h2^2) (-0.8) (1 - h1^2) 0.5
    np.testing.assert_allclose(x.grad.numpy().ravel(),
                               [(1 - h2 ** 2) * -0.8 * (1 - h1 ** 2) * 0.5,
                                (1 - h2 ** 2) * 0.5], rtol=1e-13)


def test_dropout_applies_between_layers_in_training_only():
    cr.manual_seed(5)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = cr.tensor(np.random.default_rng(4).standard_normal((5, 2, 3)))
    first, second = nn.LSTM(3, 4).double(), nn.LSTM(4, 4).double()
    state = lstm.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in state.items()
                            if k.endswith("_l1")})
    cr.manual_seed(7)
    trained = lstm(x)[0].detach().numpy()
    cr.manual_seed(7)
    by_hand = second(F.dropout(first(x)[0], 0.5, True))[0].detach().numpy()
    np.testing.assert_allclose(trained, by_hand, rtol=1e-14)
    lstm.eval()
    plain = second(first(x)[0])[0].detach().numpy()
    np.testing.assert_allclose(lstm(x)[0].detach().numpy(), plain, rtol=1e-14)
    assert not np.allclose(trained, plain)


def test_repr_and_parameter_names():
    assert repr(nn.LSTM(10, 20, num_layers=2)) == "LSTM(10, 20, num_layers=2)"
    assert repr(nn.GRU(3, 4, bias=False, batch_first=True, bidirectional=True)) == \
        "GRU(3, 4, bias=False, batch_first=True, bidirectional=True)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    names = [n for n, _ in nn.GRU(3, 4, num_layers=2, bidirectional=True).named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    assert tuple(nn.GRU(3, 4, num_layers=2, bidirectional=True).weight_ih_l1.shape) == (12, 8)
    assert len(nn.LSTM(3, 4, num_layers=2).all_weights) == 2


def test_float32_layers_keep_float32():
    lstm = nn.LSTM(3, 4)
    out, (h, c) = lstm(cr.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == cr.float32
    out.sum().backward()
    assert all(p.grad.dtype == cr.float32 for p in lstm.parameters())


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("call, error, phrase", [
    (lambda: nn.LSTM(10, 20)(cr.randn(4, 3, 5)), RuntimeError,
     r"input.size\(-1\) must be equal to input_size. Expected 10, got 5"),
    (lambda: nn.LSTM(10, 20)(cr.randn(2, 4, 3, 10)), ValueError,
     "Expected input to be 2D or 3D, got 4D"),
    (lambda: nn.GRU(10, 20)(cr.randn(4, 3, 10), cr.zeros(2, 3, 20)), RuntimeError,
     r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]"),
    (lambda: nn.LSTM(10, 20)(cr.randn(4, 3, 10), (cr.zeros(2, 3, 20), cr.zeros(1, 3, 20))),
     RuntimeError, r"Expected hidden\[0\] size \(1, 3, 20\), got \[2, 3, 20\]"),
    (lambda: nn.LSTM(10, 20)(cr.randn(4, 3, 10), (cr.zeros(3, 20), cr.zeros(3, 20))),
     RuntimeError, "For batched 3-D input, hx and cx should also be 3-D"),
    (lambda: nn.RNN(10, 20)(cr.randn(4, 10), cr.zeros(1, 1, 20)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: nn.RNN(10, 20)(cr.randn(4, 3, 10, dtype=cr.float64)), ValueError,
     r"input dtype \(float64\) does not match weight dtype \(float32\)"),
    (lambda: nn.RNN(10, 20)(cr.randn(0, 3, 10)), RuntimeError,
     "Expected sequence length to be larger than 0"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "Unknown nonlinearity 'sigmoid'"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, r"dropout should be a number in range"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller"),
    (lambda: nn.LSTMCell(10, 20)(cr.randn(3, 5)), RuntimeError,
     "input has inconsistent input_size: got 5 expected 10"),
    (lambda: nn.GRUCell(10, 20)(cr.randn(3, 10), cr.zeros(3, 19)), RuntimeError,
     "hidden0 has inconsistent hidden_size: got 19, expected 20"),
    (lambda: nn.RNNCell(10, 20)(cr.randn(3, 10), cr.zeros(2, 20)), RuntimeError,
     "Input batch size 3 doesn't match hidden0 batch size 2"),
    (lambda: nn.GRUCell(10, 20)(cr.randn(2, 3, 10)), ValueError,
     "Expected input to be 1D or 2D, got 3D"),
])
def test_bad_inputs_raise_torchs_errors(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


def test_dropout_on_one_layer_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.GRU(3, 4, dropout=0.2)
    assert any("num_layers greater than 1" in str(w.message) for w in caught)
