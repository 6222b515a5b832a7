"""Optimisers without PyTorch: closed forms of one or two steps, parameter groups, zero_grad,
state_dict round trips, in-place updates (storage, versions, nothing recorded), bad inputs."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def param(values, dtype=np.float64):
    return cr.tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad(values, dtype=np.float64):
    return cr.tensor(np.array(values, dtype=dtype))


def test_one_sgd_step_is_p_minus_lr_g():
    p = param([1.0, -2.0, 3.0])
    g = np.array([0.5, 0.25, -1.0])
    p.grad = cr.tensor(g)
    cr.optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.detach().numpy(), [1.0, -2.0, 3.0] - 0.1 * g, rtol=1e-15)


def test_two_sgd_momentum_steps_closed_form():
    x0, g1, g2, lr, mu, tau, wd = 2.0, 0.5, -1.5, 0.1, 0.9, 0.2, 0.01
    p = param([x0])
    opt = cr.optim.SGD([p], lr=lr, momentum=mu, dampening=tau, weight_decay=wd)
    p.grad = grad([g1])
    opt.step()
    d1 = g1 + wd * x0
    x1 = x0 - lr * d1  # the first step's buffer is the gradient itself, undamped
    p.grad = grad([g2])
    opt.step()
    b2 = mu * d1 + (1 - tau) * (g2 + wd * x1)
    assert p.item() == pytest.approx(x1 - lr * b2, rel=1e-14)


def test_nesterov_and_maximize_closed_form():
    p = param([1.0])
    opt = cr.optim.SGD([p], lr=0.5, momentum=0.5, nesterov=True, maximize=True)
    p.grad = grad([2.0])
    opt.step()  # d = -2 + 0.5 * -2 = -3: the parameter climbs
    assert p.item() == pytest.approx(1.0 + 0.5 * 3.0, rel=1e-15)


def test_adam_first_steps_closed_form():
    lr, b1, b2, eps = 0.1, 0.9, 0.99, 1e-8
    p = param([1.0, 1.0])
    opt = cr.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    gs = [np.array([2.0, -0.5]), np.array([1.0, 3.0])]
    x, m, v = np.ones(2), np.zeros(2), np.zeros(2)
    for t, g in enumerate(gs, start=1):
        p.grad = cr.tensor(g)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-13)
    assert float(opt.state[p]["step"]) == 2.0


def test_adamw_decays_decoupled_and_adam_couples():
    p, q = param([2.0]), param([2.0])
    adamw = cr.optim.AdamW([p], lr=0.1, weight_decay=0.5)
    adam = cr.optim.Adam([q], lr=0.1, weight_decay=0.5)
    p.grad, q.grad = grad([0.0]), grad([0.0])
    adamw.step()
    adam.step()
    assert p.item() == pytest.approx(2.0 * (1 - 0.1 * 0.5), rel=1e-15)
    assert q.item() == pytest.approx(2.0 - 0.1, rel=1e-7)  # Adam: the decay is the gradient


def test_amsgrad_keeps_the_largest_second_moment():
    p = param([0.0])
    opt = cr.optim.Adam([p], lr=0.1, amsgrad=True)
    for g in [10.0, 0.0]:
        p.grad = grad([g])
        opt.step()
    state = opt.state[p]
    assert state["max_exp_avg_sq"].item() == pytest.approx((1 - 0.999) * 100, rel=1e-12)
    assert state["exp_avg_sq"].item() < state["max_exp_avg_sq"].item()


def test_rmsprop_and_adagrad_one_step_closed_form():
    p = param([1.0, 2.0])
    g = np.array([0.3, -2.0])
    p.grad = cr.tensor(g)
    cr.optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-8).step()
    expected = np.array([1.0, 2.0]) - 0.01 * g / (np.sqrt(0.1 * g * g) + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-14)
    q = param([1.0, 2.0])
    q.grad = cr.tensor(g)
    cr.optim.Adagrad([q], lr=0.1, initial_accumulator_value=1.0).step()
    expected = np.array([1.0, 2.0]) - 0.1 * g / (np.sqrt(1.0 + g * g) + 1e-10)
    np.testing.assert_allclose(q.detach().numpy(), expected, rtol=1e-14)


def test_adadelta_two_steps_closed_form():
    p = param([1.0, -2.0])
    g1, g2 = np.array([0.5, -3.0]), np.array([-1.0, 2.0])
    opt = cr.optim.Adadelta([p], lr=0.7, rho=0.6, eps=1e-3)
    x, v, u = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for g in (g1, g2):
        p.grad = cr.tensor(g)
        opt.step()
        v = 0.6 * v + 0.4 * g * g
        d = np.sqrt(u + 1e-3) / np.sqrt(v + 1e-3) * g
        u = 0.6 * u + 0.4 * d * d
        x = x - 0.7 * d
    np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["acc_delta"].numpy(), u, rtol=1e-14)
    assert float(opt.state[p]["step"]) == 2.0
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        cr.optim.Adadelta([p], rho=1.5)
    with pytest.raises(NotImplementedError, match="Adadelta: differentiable=True"):
        cr.optim.Adadelta([p], differentiable=True)


def test_update_is_in_place_unrecorded_and_bumps_the_version():
    p = param([1.0, 2.0])
    storage = p.detach().numpy()
    y = (p * p).sum()  # the graph saved p
    y.backward(retain_graph=True)
    opt = cr.optim.Adam([p], lr=0.1)
    before = p._version
    opt.step()
    assert p.detach().numpy() is storage or np.shares_memory(p.detach().numpy(), storage)
    assert p._version > before and p.is_leaf and p.grad_fn is None and p.requires_grad
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_float32_parameters_stay_float32():
    p = param([1.0, 2.0], np.float32)
    p.grad = cr.tensor(np.array([1.0, 1.0], np.float32))
    opt = cr.optim.Adam([p])
    opt.step()
    assert p.dtype == np.float32
    assert opt.state[p]["exp_avg"].dtype == np.float32


def test_params_without_grad_are_skipped_and_groups_have_their_own_options():
    a, b, frozen = param([1.0]), param([1.0]), cr.tensor([1.0])
    opt = cr.optim.SGD([{"params": [a, frozen]}, {"params": b, "lr": 1.0}], lr=0.1)
    a.grad, b.grad = grad([1.0]), grad([1.0])
    opt.step()
    assert (a.item(), b.item(), frozen.item()) == (pytest.approx(0.9), 0.0, 1.0)
    c = param([5.0])
    opt.add_param_group({"params": [c], "momentum": 0.5})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.5


def test_zero_grad_to_none_or_to_zeros_in_place():
    p = param([1.0, 2.0])
    opt = cr.optim.SGD([p], lr=0.1)
    p.grad = grad([3.0, 4.0])
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss():
    p = param([3.0])
    opt = cr.optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with cr.no_grad():  # the closure still records: step enables grad for it
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.item() == pytest.approx(3.0 - 0.25 * 6.0)


@pytest.mark.parametrize("make", [
    lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: cr.optim.Adam(ps, lr=0.1, amsgrad=True),
    lambda ps: cr.optim.RMSprop(ps, momentum=0.5, centered=True),
    lambda ps: cr.optim.Adagrad(ps, lr_decay=0.1),
    lambda ps: cr.optim.Adadelta(ps, rho=0.8, weight_decay=0.1),
])
def test_state_dict_round_trip_continues_identically(make):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(3) for _ in range(6)]
    p = param([1.0, 2.0, 3.0])
    opt = make([p])
    for g in grads[:3]:
        p.grad = cr.tensor(g)
        opt.step()
    saved = opt.state_dict()
    q = param(p.detach().numpy().copy())
    opt2 = make([q])
    opt2.load_state_dict(saved)
    for name, value in saved["state"][0].items():  # a copy, not the same buffers
        assert opt2.state[q][name] is not value
    for g in grads[3:]:
        p.grad, q.grad = cr.tensor(g), cr.tensor(g)
        opt.step()
        opt2.step()
    np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_accepts_arrays_and_casts_to_the_parameter_dtype():
    p = param([1.0], np.float32)
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": np.array([2.0])}},
                         "param_groups": [{**opt.param_groups[0], "params": [0], "lr": 0.5}]})
    assert opt.state[p]["momentum_buffer"].dtype == np.float32
    p.grad = cr.tensor(np.array([1.0], np.float32))
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.5 * (0.9 * 2.0 + 1.0))


def test_bad_inputs_raise_pytorchs_errors():
    p = param([1.0])
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        cr.optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum value"):
        cr.optim.SGD([p], momentum=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        cr.optim.SGD([p], nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        cr.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        cr.optim.Adam([p], eps=-1)
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        cr.optim.AdamW([p], weight_decay=-1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        cr.optim.SGD(p)
    with pytest.raises(ValueError, match="empty parameter list"):
        cr.optim.SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "numpy.ndarray"):
        cr.optim.SGD([np.ones(2)])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        cr.optim.SGD([p * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        cr.optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="more than one parameter group"):
        cr.optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        cr.optim.SGD([{"params": [p], "lr": -1.0}])
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        cr.optim.Adam([p], differentiable=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.optim.SGD([p, p])
    assert "duplicate parameters" in str(caught[0].message)
    opt = cr.optim.SGD([p])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1]}]})


def test_errors_match_pytorchs_where_it_is_installed():
    torch = pytest.importorskip("torch")
    cases = [(lambda m, ps: m.SGD(ps, lr=-1.0)), (lambda m, ps: m.Adam(ps, betas=(1.0, 0.9))),
             (lambda m, ps: m.SGD([])), (lambda m, ps: m.RMSprop(ps, alpha=-1.0)),
             (lambda m, ps: m.Adagrad(ps, lr_decay=-1.0)), (lambda m, ps: m.SGD(ps[0])),
             (lambda m, ps: m.Adadelta(ps, rho=1.5)), (lambda m, ps: m.Adadelta(ps, eps=-1.0)),
             (lambda m, ps: m.Adadelta(ps, lr=-1.0)),
             (lambda m, ps: m.Adadelta(ps, weight_decay=-1.0))]
    for case in cases:
        with pytest.raises((ValueError, TypeError)) as ours:
            case(cr.optim, [param([1.0])])
        with pytest.raises((ValueError, TypeError)) as theirs:
            case(torch.optim, [torch.ones(1, requires_grad=True)])
        assert ours.type is theirs.type
        assert str(ours.value).split(",")[0].split(":")[0] == \
            str(theirs.value).split(",")[0].split(":")[0]


def test_import_as_torch():
    import chainrule as torch
    assert torch.optim.SGD is cr.optim.SGD
    assert torch.optim.lr_scheduler.StepLR is cr.optim.lr_scheduler.StepLR


def test_state_is_a_defaultdict_and_saves_only_parameters_with_state():
    p, q = param([1.0]), param([2.0])
    opt = cr.optim.Adam([p, q])
    p.grad = grad([1.0])
    opt.step()
    assert opt.state[q] == {}
    assert list(opt.state_dict()["state"]) == [0]
