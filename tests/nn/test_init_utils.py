"""chainrule.nn.init (bounds and statistics of seeded draws, gains as PyTorch's) and
chainrule.nn.utils (clipping and vectors against PyTorch)."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args", [("linear",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("selu",),
                                  ("conv2d",)])
def test_calculate_gain_is_torchs(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_refuses_unknown():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def _draw(fill, shape=(200, 300)):
    cr.manual_seed(0)
    w = cr.empty(*shape, dtype=cr.float64)
    assert fill(w) is w
    return w.numpy()


def test_uniform_families_fill_their_bounds():
    fan_in, fan_out = 300, 200
    cases = [
        (lambda w: init.uniform_(w, -0.5, 2.0), -0.5, 2.0),
        (lambda w: init.xavier_uniform_(w, gain=2.0), -2 * math.sqrt(6 / 500),
         2 * math.sqrt(6 / 500)),
        (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)), -1 / math.sqrt(fan_in),
         1 / math.sqrt(fan_in)),
        (lambda w: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"),
         -math.sqrt(6 / fan_out), math.sqrt(6 / fan_out)),
    ]
    for fill, lo, hi in cases:
        v = _draw(fill)
        assert lo <= v.min() < lo + 0.01 * (hi - lo) and hi - 0.01 * (hi - lo) < v.max() <= hi
        # U(lo, hi): mean (lo + hi) / 2, std (hi - lo) / sqrt(12); 60000 draws
        assert abs(v.mean() - (lo + hi) / 2) < 0.01 * (hi - lo)
        assert abs(v.std() - (hi - lo) / math.sqrt(12)) < 0.01 * (hi - lo)


def test_normal_families_have_their_std():
    cases = [
        (lambda w: init.normal_(w, 1.0, 0.5), 1.0, 0.5),
        (lambda w: init.xavier_normal_(w), 0.0, math.sqrt(2 / 500)),
        (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), 0.0, math.sqrt(2 / 300)),
        (lambda w: init.kaiming_normal_(w, mode="fan_out"), 0.0,
         init.calculate_gain("leaky_relu", 0) / math.sqrt(200)),
    ]
    for fill, mean, std in cases:
        v = _draw(fill)
        assert abs(v.mean() - mean) < 0.02 * std and abs(v.std() - std) < 0.02 * std


def test_trunc_normal_stays_in_bounds_with_the_truncated_moments():
    v = _draw(lambda w: init.trunc_normal_(w, mean=0.0, std=1.0, a=-1.0, b=2.0))
    assert v.min() >= -1.0 and v.max() <= 2.0
    from scipy.stats import truncnorm
    dist = truncnorm(-1.0, 2.0)
    assert abs(v.mean() - dist.mean()) < 0.01 and abs(v.std() - dist.std()) < 0.01


def test_orthogonal_constant_zeros_ones_eye():
    for shape in [(5, 8), (8, 5), (4, 2, 3)]:
        q = _draw(lambda w: init.orthogonal_(w, gain=2.0), shape).reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(min(q.shape)), atol=1e-12)
    assert np.all(_draw(lambda w: init.constant_(w, 0.3), (2, 2)) == 0.3)
    assert np.all(_draw(init.zeros_, (2, 2)) == 0) and np.all(_draw(init.ones_, (2, 2)) == 1)
    np.testing.assert_array_equal(_draw(init.eye_, (2, 3)), np.eye(2, 3))


def test_init_is_seeded_and_unrecorded():
    a, b = _draw(init.xavier_uniform_), _draw(init.xavier_uniform_)
    np.testing.assert_array_equal(a, b)
    p = nn.Parameter(cr.empty(3, 3))
    init.normal_(p)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_init_bad_inputs():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(cr.empty(3))
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(cr.empty(3))
    with pytest.raises(ValueError, match="Mode fan_x not supported"):
        init.kaiming_uniform_(cr.empty(3, 3), mode="fan_x")
    with pytest.raises(ValueError):
        torch.nn.init.xavier_uniform_(torch.empty(3))


def _grads_pair(seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) * 3 for s in [(3, 4), (5,), (2, 2)]]
    cps, tps = [], []
    for a in arrays:
        c, t = nn.Parameter(cr.tensor(a)), torch.nn.Parameter(torch.tensor(a))
        c.grad, t.grad = cr.tensor(a * 2), torch.tensor(a * 2)
        cps.append(c)
        tps.append(t)
    return cps, tps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    cps, tps = _grads_pair()
    cn = nn.utils.clip_grad_norm_(cps, max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    np.testing.assert_allclose(cn.item(), tn.item(), rtol=1e-12)
    for c, t in zip(cps, tps):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_nonfinite_and_value():
    cps, tps = _grads_pair()
    cps[0].grad = cr.tensor(np.full((3, 4), np.inf))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(cps, 1.0, error_if_nonfinite=True)
    cps, tps = _grads_pair()
    nn.utils.clip_grad_value_(cps, 1.5)
    torch.nn.utils.clip_grad_value_(tps, 1.5)
    for c, t in zip(cps, tps):
        np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


def test_parameters_to_vector_and_back():
    lin = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(lin.parameters())
    assert v.shape == (8,) and v.requires_grad
    np.testing.assert_array_equal(v.detach().numpy()[:6], lin.weight.detach().numpy().ravel())
    w = lin.weight
    nn.utils.vector_to_parameters(cr.arange(8.0), lin.parameters())
    assert lin.weight is w
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters(np.zeros(8), lin.parameters())
    with pytest.raises(TypeError):
        torch.nn.utils.vector_to_parameters(np.zeros(8), torch.nn.Linear(3, 2).parameters())
    with pytest.raises(RuntimeError, match="total size"):
        nn.utils.vector_to_parameters(cr.zeros(7), lin.parameters())
