"""Learning-rate schedules: against PyTorch's over 20 epochs, closed forms without it, and
state_dict round trips."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import lr_scheduler as S

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=8)),
]


def lrs_over(module, opt_module, params, name, options, epochs=20):
    opt = opt_module.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=1.0)
    sched = getattr(module, name)(opt, **options)
    out = []
    for _ in range(epochs):
        out.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name,options", SCHEDULES, ids=[f"{n}-{o}" for n, o in SCHEDULES])
def test_learning_rates_equal_pytorchs_over_20_epochs(name, options):
    torch = pytest.importorskip("torch")
    ours = lrs_over(S, cr.optim, [cr.zeros(1, requires_grad=True) for _ in range(2)], name,
                    options)
    theirs = lrs_over(torch.optim.lr_scheduler, torch.optim,
                      [torch.zeros(1, requires_grad=True) for _ in range(2)], name, options)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-15)


def test_lambda_lr_equals_pytorchs():
    torch = pytest.importorskip("torch")
    fs = [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]
    ours = cr.optim.SGD([{"params": [cr.zeros(1, requires_grad=True)]},
                         {"params": [cr.zeros(1, requires_grad=True)]}], lr=0.5)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)]}], lr=0.5)
    a, b = S.LambdaLR(ours, fs), torch.optim.lr_scheduler.LambdaLR(theirs, fs)
    for _ in range(20):
        assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-15)
        ours.step(), theirs.step(), a.step(), b.step()


def test_closed_forms_without_pytorch():
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=2.0)
    cos = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.5)
    for e in range(1, 11):
        opt.step()
        cos.step()
        expected = 0.5 + (2.0 - 0.5) * (1 + math.cos(math.pi * e / 10)) / 2
        assert cos.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    lin = S.LinearLR(opt, start_factor=0.2, total_iters=4)
    seen = [lin.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        lin.step()
        seen.append(lin.get_last_lr()[0])
    np.testing.assert_allclose(seen, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0], rtol=1e-12)
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    ms = S.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    seen = []
    for _ in range(4):
        seen.append(ms.get_last_lr()[0])
        opt.step()
        ms.step()
    np.testing.assert_allclose(seen, [1.0, 0.1, 0.1, 0.01], rtol=1e-12)


def test_state_dict_round_trip_resumes_the_schedule():
    def make():
        opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
        return opt, S.StepLR(opt, step_size=2, gamma=0.5)

    opt, sched = make()
    for _ in range(3):
        opt.step()
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 3
    opt2, sched2 = make()
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for _ in range(3):
        opt.step(), sched.step(), opt2.step(), sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_lambda_state_dict_saves_callable_objects_not_functions():
    class Warmup:
        def __init__(self):
            self.n = 3

        def __call__(self, e):
            return min(1.0, (e + 1) / self.n)

    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    saved = S.LambdaLR(opt, Warmup()).state_dict()
    assert saved["lr_lambdas"] == [{"n": 3}]
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    assert S.LambdaLR(opt, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


def test_bad_scheduler_inputs():
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR("sgd", step_size=1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        S.LinearLR(opt, end_factor=1.5)
    with pytest.raises(KeyError, match="initial_lr"):
        S.ExponentialLR(cr.optim.SGD([cr.zeros(1, requires_grad=True)]), 0.9, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        S.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
