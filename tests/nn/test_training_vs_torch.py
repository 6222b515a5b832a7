"""Training against PyTorch, end to end: the same MLP (PyTorch's initial weights loaded into
chainrule's with ``load_state_dict``), the same batches in the same order (each framework's
``DataLoader`` with one sampler order), float64, ten optimiser steps; the loss at every step,
the gradients at every step and the parameters at the end equal PyTorch's to rtol 1e-6, for
each optimiser (and two schedulers), with a cross-entropy and a mean-squared-error loss."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

STEPS, BATCH, N = 10, 8, 40  # ten steps: two epochs of five batches

OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.02)),
    ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01)),
    ("Adadelta", dict(lr=1.0, rho=0.8)),
]
# (optimiser, its options, scheduler, its options): the scheduler steps once per batch
SCHEDULED = [
    ("SGD", dict(lr=0.1, momentum=0.9), "StepLR", dict(step_size=3, gamma=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9), "OneCycleLR", dict(max_lr=0.2, total_steps=STEPS)),
    ("Adam", dict(lr=0.01), "OneCycleLR", dict(max_lr=0.02, total_steps=STEPS,
                                               anneal_strategy="linear")),
]
LOSSES = ["CrossEntropyLoss", "MSELoss"]


def data(loss):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 6))
    y = rng.integers(0, 3, N) if loss == "CrossEntropyLoss" else rng.standard_normal((N, 3))
    order = np.concatenate([rng.permutation(N) for _ in range(2)]).tolist()
    return X, y, order


def models():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(),
                                 torch.nn.Dropout(0.5), torch.nn.Linear(16, 3)).double()
    ours = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.ReLU(), cr.nn.Dropout(0.5),
                            cr.nn.Linear(16, 3)).double()
    ours.load_state_dict(theirs.state_dict())  # PyTorch's tensors, as they are
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    ours.eval()  # dropout off in both, so that the two compute the same thing
    theirs.eval()
    return ours, theirs


def train(lib, net, loss_name, X, y, order, optimiser, options, scheduler=None,
          scheduler_options=None):
    """Ten steps; returns the losses, the gradients of every step, the learning rates."""
    dataset = lib.utils.data.TensorDataset(lib.tensor(X), lib.tensor(y))
    loader = lib.utils.data.DataLoader(dataset, batch_size=BATCH, sampler=order)
    opt = getattr(lib.optim, optimiser)(net.parameters(), **options)
    sched = (getattr(lib.optim.lr_scheduler, scheduler)(opt, **scheduler_options)
             if scheduler else None)
    loss_fn = getattr(lib.nn, loss_name)()
    losses, grads, lrs = [], [], []
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        losses.append(loss.item())
        grads.append([p.grad.numpy().copy() for p in net.parameters()])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    assert len(losses) == STEPS
    return losses, grads, lrs


def compare(loss_name, optimiser, options, scheduler=None, scheduler_options=None):
    X, y, order = data(loss_name)
    ours, theirs = models()
    a = train(cr, ours, loss_name, X, y, order, optimiser, options, scheduler,
              scheduler_options)
    b = train(torch, theirs, loss_name, X, y, order, optimiser, options, scheduler,
              scheduler_options)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6, err_msg="losses")
    for step, (ga, gb) in enumerate(zip(a[1], b[1])):
        for name, u, v in zip([n for n, _ in ours.named_parameters()], ga, gb):
            np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-12,
                                       err_msg=f"gradient of {name} at step {step}")
    np.testing.assert_allclose(a[2], b[2], rtol=1e-12, err_msg="learning rates")
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert p.dtype == cr.float64
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6,
                                   atol=1e-12, err_msg=f"{name} after {STEPS} steps")
    # the parameters moved: a test of an optimiser that does nothing would pass otherwise
    _, fresh = models()
    moved = max(np.abs(p.detach().numpy() - q.detach().numpy()).max()
                for p, q in zip(ours.parameters(), fresh.parameters()))
    assert moved > 1e-3
    return a


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("optimiser,options", OPTIMISERS,
                         ids=[f"{n}-{'-'.join(o)}" for n, o in OPTIMISERS])
def test_ten_steps_equal_pytorch(loss_name, optimiser, options):
    compare(loss_name, optimiser, options)


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("optimiser,options,scheduler,scheduler_options", SCHEDULED,
                         ids=[f"{s[0]}-{s[2]}-{s[3].get('anneal_strategy', 'cos')}"
                              for s in SCHEDULED])
def test_ten_scheduled_steps_equal_pytorch(loss_name, optimiser, options, scheduler,
                                           scheduler_options):
    _, _, lrs = compare(loss_name, optimiser, options, scheduler, scheduler_options)
    assert len(set(lrs)) > 2  # the rate did change over the steps


def test_the_loss_falls_over_the_steps():
    """The comparison is of a real training run: the loss goes down."""
    losses, _, _ = compare("CrossEntropyLoss", "SGD", dict(lr=0.1, momentum=0.9))
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def test_train_mode_dropout_zero_also_agrees():
    X, y, order = data("MSELoss")
    ours, theirs = models()
    for net in (ours, theirs):
        net.train()
        net[2].p = 0.0
    a = train(cr, ours, "MSELoss", X, y, order, "Adam", dict(lr=0.01))
    b = train(torch, theirs, "MSELoss", X, y, order, "Adam", dict(lr=0.01))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
