"""Learning-rate schedules: against PyTorch's over 20-40 epochs (rates and, for OneCycleLR,
momenta), closed forms without it, state_dict round trips, and bad inputs raising as
PyTorch's do."""

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
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.2, total_iters=7)),
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


# OneCycleLR, ReduceLROnPlateau, SequentialLR: each configuration is a function of the module
# (chainrule's or PyTorch's optim) that makes (optimiser, scheduler, step); the learning rates
# and momenta of every group are recorded before each step.


def two_groups(optim, name="SGD", **options):
    zeros = optim.__name__.startswith("torch") and __import__("torch").zeros or cr.zeros
    return getattr(optim, name)([{"params": [zeros(1, requires_grad=True)]},
                                 {"params": [zeros(1, requires_grad=True)], "lr": 0.3}],
                                lr=1.0, **options)


def one_cycle(name="SGD", options=None, **kw):
    def make(optim):
        opt = two_groups(optim, name, **(options or {}))
        sched = optim.lr_scheduler.OneCycleLR(opt, **kw)
        return opt, sched, lambda epoch: sched.step()
    return make


def plateau(metrics, **kw):
    def make(optim):
        opt = two_groups(optim)
        sched = optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        return opt, sched, lambda epoch: sched.step(metrics[epoch % len(metrics)])
    return make


def sequential(parts, milestones):
    def make(optim):
        opt = two_groups(optim)
        S = optim.lr_scheduler
        scheds = [getattr(S, name)(opt, **options) for name, options in parts]
        sched = S.SequentialLR(opt, schedulers=scheds, milestones=milestones)
        return opt, sched, lambda epoch: sched.step()
    return make


BUMPY = [5.0, 4.0, 4.0, 4.1, 3.9, 3.99995, 4.0, 3.0, 3.0, 3.0, 3.0, 2.99, 2.5, 2.5, 2.6, 2.7]
RISING = [1.0, 2.0, 2.0, 2.0, 2.05, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0]
RUNS = {
    "onecycle-cos": (one_cycle(max_lr=0.8, total_steps=30), 30),
    "onecycle-linear-epochs": (one_cycle(max_lr=[0.8, 0.2], epochs=4, steps_per_epoch=6,
                                         anneal_strategy="linear", pct_start=0.25), 24),
    "onecycle-three-phase": (one_cycle(max_lr=2.0, total_steps=25, three_phase=True,
                                       div_factor=10.0, final_div_factor=100.0), 25),
    "onecycle-three-phase-linear": (one_cycle(max_lr=[1.0, 0.5], total_steps=40,
                                              three_phase=True, anneal_strategy="linear",
                                              pct_start=0.4), 40),
    "onecycle-momentum": (one_cycle("SGD", dict(momentum=0.9), max_lr=0.5, total_steps=20,
                                    base_momentum=[0.7, 0.8], max_momentum=0.99), 20),
    "onecycle-adam-betas": (one_cycle("Adam", None, max_lr=0.01, total_steps=30,
                                      base_momentum=0.8, max_momentum=0.9), 30),
    "onecycle-adamw-no-cycle": (one_cycle("AdamW", None, max_lr=0.01, total_steps=20,
                                          cycle_momentum=False), 20),
    "onecycle-rmsprop": (one_cycle("RMSprop", dict(momentum=0.5), max_lr=0.1,
                                   total_steps=21, pct_start=0.5), 21),
    "plateau-min-rel": (plateau(BUMPY, patience=1), 40),
    "plateau-min-abs-cooldown": (plateau(BUMPY, factor=0.5, patience=2, threshold=0.05,
                                         threshold_mode="abs", cooldown=2), 40),
    "plateau-max-rel-min-lr": (plateau(RISING, mode="max", factor=0.3, patience=0,
                                       threshold=0.02, min_lr=[0.05, 0.1]), 40),
    "plateau-max-abs-eps": (plateau(RISING, mode="max", factor=0.9, patience=1,
                                    threshold_mode="abs", threshold=0.5, min_lr=0.2,
                                    eps=0.05), 40),
    "sequential-constant-exp": (sequential([("ConstantLR", dict(factor=0.1, total_iters=4)),
                                            ("ExponentialLR", dict(gamma=0.9))], [5]), 30),
    "sequential-three": (sequential([("LinearLR", dict(start_factor=0.1, total_iters=5)),
                                     ("CosineAnnealingLR", dict(T_max=8, eta_min=0.01)),
                                     ("StepLR", dict(step_size=3, gamma=0.5))], [5, 15]), 40),
    "sequential-multistep": (sequential([("MultiStepLR", dict(milestones=[2, 4])),
                                         ("LinearLR", dict(start_factor=0.5)),
                                         ("ConstantLR", dict(factor=0.25))], [3, 10]), 25),
    "sequential-one": (sequential([("ExponentialLR", dict(gamma=0.8))], []), 20),
}


def record(make, optim, steps):
    opt, sched, step = make(optim)
    out = []
    for epoch in range(steps):
        row = list(sched.get_last_lr())
        for g in opt.param_groups:
            row.append(g["lr"])
            row += [g.get("momentum", 0.0), g.get("betas", (0.0, 0.0))[0]]
        out.append(row)
        opt.step()
        step(epoch)
    return out


@pytest.mark.parametrize("run", list(RUNS))
def test_new_schedules_equal_pytorchs(run):
    torch = pytest.importorskip("torch")
    make, steps = RUNS[run]
    np.testing.assert_allclose(record(make, cr.optim, steps),
                               record(make, torch.optim, steps), rtol=1e-14, atol=1e-15)


def test_one_cycle_records_momenta_that_change():
    make, steps = RUNS["onecycle-adam-betas"]
    rows = np.array(record(make, cr.optim, steps))
    betas = rows[:, 4]
    assert betas[0] == pytest.approx(0.9) and betas.min() == pytest.approx(0.8, abs=1e-3)
    lrs = rows[:, 0]
    assert lrs[0] == pytest.approx(0.01 / 25) and lrs.max() == pytest.approx(0.01, rel=1e-2)


def test_one_cycle_closed_form_cos_without_pytorch():
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=11, pct_start=5 / 11,
                         cycle_momentum=False, div_factor=5.0, final_div_factor=2.0)
    seen = []
    for _ in range(11):
        seen.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    up = [1.0 + (0.2 - 1.0) * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(5)]
    down = [0.1 + (1.0 - 0.1) * (1 + math.cos(math.pi * k / 6)) / 2 for k in range(1, 7)]
    np.testing.assert_allclose(seen, up + down, rtol=1e-12)
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 12 times"):
        sched.step()


def test_plateau_waits_patience_then_cools_down():
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    seen = []
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(cr.tensor(loss))
        seen.append(sched.get_last_lr()[0])
    # reduce on the 3rd bad epoch; one cooldown epoch; then 3 bad epochs again; floor 0.2
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]
    assert sched.last_epoch == 12


@pytest.mark.parametrize("run", ["onecycle-momentum", "onecycle-three-phase",
                                 "plateau-min-abs-cooldown", "sequential-three"])
def test_new_schedules_state_dict_round_trip(run):
    make, steps = RUNS[run]
    opt, sched, step = make(cr.optim)
    for epoch in range(steps // 2):
        opt.step()
        step(epoch)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved
    if run.startswith("sequential"):
        assert all("optimizer" not in sd for sd in saved["_schedulers"])
    opt2, sched2, step2 = make(cr.optim)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert sched2.state_dict().keys() == saved.keys()
    for epoch in range(steps // 2, steps):
        opt.step(), step(epoch), opt2.step(), step2(epoch)
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert opt2.param_groups == opt.param_groups or \
            [{k: v for k, v in g.items() if k != "params"} for g in opt2.param_groups] == \
            [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def test_state_dict_keys_match_pytorchs():
    torch = pytest.importorskip("torch")
    for run in ["onecycle-momentum", "plateau-max-rel-min-lr", "sequential-three"]:
        make = RUNS[run][0]
        ours, theirs = make(cr.optim)[1].state_dict(), make(torch.optim)[1].state_dict()
        assert set(ours) <= set(theirs) and set(theirs) - set(ours) <= {
            "_get_lr_called_within_step"}, run
    opt = two_groups(cr.optim)
    topt = two_groups(torch.optim)
    ours = S.ConstantLR(opt).state_dict()
    theirs = torch.optim.lr_scheduler.ConstantLR(topt).state_dict()
    assert set(theirs) - set(ours) <= {"_get_lr_called_within_step"}


BAD = [
    lambda S, o: S.OneCycleLR(o, max_lr=1.0),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=0),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=2.5),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=3),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-1),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
    lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 2.0, 3.0], total_steps=10),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, max_momentum=[0.9]),
    lambda S, o: S.OneCycleLR("sgd", max_lr=1.0, total_steps=10),
    lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    lambda S, o: S.ReduceLROnPlateau(o, mode="maximum"),
    lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="relative"),
    lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda S, o: S.ReduceLROnPlateau("sgd"),
    lambda S, o: S.SequentialLR(o, schedulers=[], milestones=[]),
    lambda S, o: S.SequentialLR(o, schedulers=[S.ConstantLR(o), S.ConstantLR(o)],
                                milestones=[]),
    lambda S, o: S.SequentialLR(o, schedulers=[S.ConstantLR(o), S.ReduceLROnPlateau(o)],
                                milestones=[3]),
    lambda S, o: S.SequentialLR(o, schedulers=[S.ConstantLR(o), object()], milestones=[3]),
    lambda S, o: S.ConstantLR(o, factor=1.5),
    lambda S, o: S.ConstantLR(o, factor=-0.5),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_new_schedules_bad_inputs_raise_as_pytorchs(case):
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, TypeError, KeyError)) as ours:
        BAD[case](S, two_groups(cr.optim))
    with pytest.raises((ValueError, TypeError, KeyError)) as theirs:
        BAD[case](torch.optim.lr_scheduler, two_groups(torch.optim))
    assert ours.type is theirs.type
    assert str(ours.value).split("(")[0].strip()[:30] == str(theirs.value)[:30]


def test_cycle_momentum_needs_momentum_and_sequential_needs_one_optimizer():
    opt = cr.optim.Adagrad([cr.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    S.OneCycleLR(opt, max_lr=1.0, total_steps=5, cycle_momentum=False)
    a, b = two_groups(cr.optim), two_groups(cr.optim)
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(a, schedulers=[S.ConstantLR(a), S.ConstantLR(b)], milestones=[2])


@pytest.mark.parametrize("name,options", SCHEDULES[1:], ids=[f"{n}-{o}" for n, o in SCHEDULES[1:]])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_step_to_an_epoch_uses_pytorchs_closed_form(name, options):
    torch = pytest.importorskip("torch")
    rows = []
    for module, optim, zeros in [(S, cr.optim, cr.zeros),
                                 (torch.optim.lr_scheduler, torch.optim, torch.zeros)]:
        opt = optim.SGD([zeros(1, requires_grad=True)], lr=1.0)
        sched = getattr(module, name)(opt, **options)
        row = []
        for epoch in [3, 0, 9, 4, 12, 1]:
            opt.step()
            sched.step(epoch)
            row.append(sched.get_last_lr()[0])
        rows.append(row)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-14)
