"""Each optimiser and option against PyTorch's: the same initial parameters and the same
sequence of gradients, parameters (and state) after k steps equal to ~1e-12 in float64 and
close in float32; state_dict round trips, and loading PyTorch's state_dict."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.02)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.02, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=2.0, rho=0.95, maximize=True)),
    ("Adadelta", dict(lr=0.3, rho=0.0, eps=1e-3, weight_decay=0.05, maximize=True)),
]
SHAPES = [(3, 4), (5,), ()]


def gradient_sequence(k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(k)]


def run_both(name, options, dtype, k=6, groups=False):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    if groups:  # two groups, the second with its own lr
        ours_p = [{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}]
        theirs_p = [{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.003}]
    else:
        ours_p, theirs_p = ours, theirs
    opt = getattr(cr.optim, name)(ours_p, **options)
    topt = getattr(torch.optim, name)(theirs_p, **options)
    for grads in gradient_sequence(k, dtype):
        for p, t, g in zip(ours, theirs, grads):
            p.grad = cr.tensor(g.copy())
            t.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    return ours, theirs, opt, topt


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_parameters_after_k_steps_equal_pytorch_float64(name, options):
    ours, theirs, opt, topt = run_both(name, options, np.float64)
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
    # and the state, buffer by buffer, in PyTorch's layout
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert set(ours_sd["state"]) == set(theirs_sd["state"])
    for i, tstate in theirs_sd["state"].items():
        assert set(ours_sd["state"][i]) == set(tstate)
        for key, value in tstate.items():
            np.testing.assert_allclose(ours_sd["state"][i][key].numpy(), value.numpy(),
                                       rtol=1e-12, atol=1e-12)
    assert [g["params"] for g in ours_sd["param_groups"]] == \
        [g["params"] for g in theirs_sd["param_groups"]]
    for g, tg in zip(ours_sd["param_groups"], theirs_sd["param_groups"]):
        assert set(g) == set(tg)


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_parameters_after_k_steps_close_to_pytorch_float32(name, options):
    ours, theirs, _, _ = run_both(name, options, np.float32)
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adadelta"])
def test_param_groups_with_their_own_lr_equal_pytorch(name):
    options = {"lr": 0.05, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.05}
    ours, theirs, _, _ = run_both(name, options, np.float64, groups=True)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("name,options", [c for c in CASES if c[1]][::2])
def test_loading_pytorchs_state_dict_then_stepping_on_agrees(name, options):
    ours, theirs, _, topt = run_both(name, options, np.float64, k=3)
    fresh = [cr.tensor(t.detach().numpy().copy(), requires_grad=True) for t in theirs]
    opt = getattr(cr.optim, name)(fresh, **options)
    opt.load_state_dict(topt.state_dict())
    for grads in gradient_sequence(3, np.float64, seed=7):
        for p, t, g in zip(fresh, theirs, grads):
            p.grad = cr.tensor(g.copy())
            t.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    for p, t in zip(fresh, theirs):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)


def test_version_counter_moves_like_pytorchs():
    p, t = cr.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    opt, topt = cr.optim.SGD([p], lr=0.1), torch.optim.SGD([t], lr=0.1)
    p.grad, t.grad = cr.ones(3), torch.ones(3)
    v0, tv0 = p._version, t._version
    opt.step()
    topt.step()
    assert p._version - v0 == t._version - tv0 == 1


@pytest.mark.parametrize("name,options", [
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)), ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(centered=True, momentum=0.3)),
    ("Adagrad", dict(initial_accumulator_value=0.2)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1))])
def test_complex_parameters_equal_pytorch(name, options):
    rng = np.random.default_rng(5)
    shapes = [(2, 3), ()]

    def sample(s):
        return rng.standard_normal(s) + 1j * rng.standard_normal(s)

    init = [sample(s) for s in shapes]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(cr.optim, name)(ours, **options)
    topt = getattr(torch.optim, name)(theirs, **options)
    for _ in range(4):
        for p, t, s in zip(ours, theirs, shapes):
            g = sample(s)
            p.grad, t.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        topt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
