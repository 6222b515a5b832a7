"""DistributedDataParallel's checks, run on every rank: ``mpiexec -n N python ddp_worker.py
CASE``.  Each case compares against an oracle the rank computes alone (single-process training
on the whole batch, from the same initial weights) or gathers with mpi4py's own pickled
``allgather``, and raises on a difference (chainrule's excepthook then aborts the job, so the
launching test sees a non-zero exit).  The last line a rank prints is ``rank R: CASE ok``.
"""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel as DDP
from chainrule.utils.data import DataLoader, TensorDataset
from chainrule.utils.data.distributed import DistributedSampler

WORLD = MPI.COMM_WORLD


def mlp(seed: int, dtype=cr.float64) -> nn.Module:
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3)).to(dtype)


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.normal(size=(n, 6))), cr.tensor(rng.integers(0, 3, size=n))


def assert_same_on_every_rank(module: nn.Module, what: str) -> None:
    """Every rank's parameters are bit-for-bit rank 0's (gathered by mpi4py, pickled)."""
    mine = [p.detach().numpy().copy() for p in module.parameters()]
    for r, theirs in enumerate(WORLD.allgather(mine)):
        for a, b in zip(mine, theirs):
            if not np.array_equal(a, b):
                raise AssertionError(f"{what}: rank {r}'s parameters differ from this rank's")


def assert_close_params(got: nn.Module, want: nn.Module, what: str, rtol=1e-6) -> None:
    for (name, a), b in zip(got.named_parameters(), want.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol,
                                   atol=1e-12, err_msg=f"{what}: parameter {name}")


def case_train(rank: int, size: int) -> None:
    """20 SGD steps of DDP on DistributedSampler's shares equal 20 single-process steps on
    the union of the shares (the global batch), from rank 0's initial weights."""
    X, y = data(40 * size)
    model = mlp(seed=100 + rank)  # different on every rank: DDP must copy rank 0's
    reference = mlp(seed=100)     # rank 0's initial weights, trained alone
    ddp = DDP(model, bucket_cap_mb=0.002)  # several buckets
    if len(ddp._reducer.buckets) < 2:
        raise AssertionError("expected several buckets with a 2 kB cap")
    assert_close_params(model, reference, "after construction", rtol=0)
    opt = cr.optim.SGD(ddp.parameters(), lr=0.2, momentum=0.9)
    ref_opt = cr.optim.SGD(reference.parameters(), lr=0.2, momentum=0.9)
    batch = 4
    samplers = [DistributedSampler(TensorDataset(X, y), num_replicas=size, rank=r, seed=3)
                for r in range(size)]
    mine = DataLoader(TensorDataset(X, y), batch_size=batch, sampler=samplers[rank])
    steps = 0
    for epoch in range(2):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        for k, (xb, yb) in enumerate(mine):
            if steps == 20:
                break
            opt.zero_grad()
            nn.functional.cross_entropy(ddp(xb), yb).backward()
            opt.step()
            union = np.concatenate([share[k * batch:(k + 1) * batch] for share in shares])
            ref_opt.zero_grad()
            nn.functional.cross_entropy(reference(X[union]), y[union]).backward()
            ref_opt.step()
            steps += 1
    if steps != 20:
        raise AssertionError(f"ran {steps} steps, expected 20")
    assert_close_params(model, reference, "after 20 steps")
    assert_same_on_every_rank(model, "after 20 steps")


def case_no_sync(rank: int, size: int) -> None:
    """Three micro-batches, two of them under no_sync, equal one step on the three together."""
    X, y = data(6 * size, seed=1)
    ddp = DDP(mlp(seed=7))
    reference = mlp(seed=7)
    micro = [X[rank::size][i * 2:(i + 1) * 2] for i in range(3)]
    labels = [y[rank::size][i * 2:(i + 1) * 2] for i in range(3)]
    for i in range(2):
        with ddp.no_sync():
            (nn.functional.cross_entropy(ddp(micro[i]), labels[i]) / 3).backward()
    local = [p.grad.numpy().copy() for p in ddp.parameters()]
    others = WORLD.allgather(local)
    if size > 1 and all(np.array_equal(a, b) for a, b in zip(others[0][0:1], others[1][0:1])):
        raise AssertionError("no_sync: the gradients were averaged (they should stay local)")
    (nn.functional.cross_entropy(ddp(micro[2]), labels[2]) / 3).backward()
    nn.functional.cross_entropy(reference(X), y).backward()
    for (name, p), q in zip(ddp.module.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-15,
                                   err_msg=f"no_sync accumulation: {name}")


class TwoHeads(nn.Module):
    """A module whose forward uses ``head_a`` on even ranks and ``head_b`` on odd ones, and
    never ``spare``."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.head_a = nn.Linear(4, 1)
        self.head_b = nn.Linear(4, 1)
        self.spare = nn.Linear(4, 1)

    def forward(self, x, use_a: bool):
        h = cr.tanh(self.body(x))
        return self.head_a(h) if use_a else self.head_b(h)


def case_unused(rank: int, size: int) -> None:
    """find_unused_parameters: a parameter some ranks skip gets the average with their zeros;
    one no rank uses keeps ``grad`` None.  Without it, the next forward says what is wrong."""
    cr.manual_seed(0)
    module = TwoHeads().double()
    reference = TwoHeads().double()
    reference.load_state_dict(module.state_dict())
    ddp = DDP(module, find_unused_parameters=True)
    X, _ = data(2 * size, seed=2)
    X = X[:, :4]
    ddp(X[rank::size], rank % 2 == 0).sum().backward()
    for r in range(size):
        reference(X[r::size], r % 2 == 0).sum().backward()
    for name, p in module.named_parameters():
        q = reference.get_parameter(name)
        if q.grad is None:
            if p.grad is not None:
                raise AssertionError(f"{name} is used by no rank but got a gradient")
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy() / size, rtol=1e-12,
                                   err_msg=f"find_unused_parameters: {name}")
    if module.spare.weight.grad is not None:
        raise AssertionError("spare was never used, its grad must stay None")

    strict = DDP(TwoHeads().double())
    strict(X[rank::size], True).sum().backward()
    try:
        strict(X[rank::size], True)
    except RuntimeError as err:
        text = str(err)
        for phrase in ("Expected to have finished reduction in the prior iteration",
                       "find_unused_parameters=True", "spare.weight"):
            if phrase not in text:
                raise AssertionError(f"the unused-parameter error lacks {phrase!r}: "
                                     f"{text}") from err
    else:
        raise AssertionError("a forward after a backward that left parameters without "
                             "gradients must raise")


def case_errors(rank: int, size: int) -> None:
    """A second backward through one forward is refused; forwards under no_grad and forwards
    with no backward leave nothing pending."""
    ddp = DDP(mlp(seed=1))
    X, y = data(4, seed=3)
    with cr.no_grad():
        ddp(X)
    ddp(X)  # a forward with grad and no backward: the next forward starts afresh
    loss = nn.functional.cross_entropy(ddp(X), y)
    loss.backward(retain_graph=True)
    try:
        loss.backward()
    except RuntimeError as err:
        if "Expected to mark a variable ready only once" not in str(err):
            raise
    else:
        raise AssertionError("a second backward through one DDP forward must raise")
    # the same module wrapped again, the first wrapper dropped: it no longer takes part
    model = mlp(seed=2)
    first = DDP(model)
    nn.functional.cross_entropy(first(X), y).backward()
    del first
    again = DDP(model)
    model.zero_grad()
    nn.functional.cross_entropy(again(X[rank::size]), y[rank::size]).backward()
    grads = WORLD.allgather([p.grad.numpy() for p in model.parameters()])
    for other in grads:
        for a, b in zip(other, grads[0]):
            np.testing.assert_array_equal(a, b, err_msg="wrapped again: gradients differ")
    try:
        DDP(mlp(seed=1), bucket_cap_mb=0)
    except ValueError as err:
        if "bucket_cap_mb" not in str(err):
            raise
    else:
        raise AssertionError("bucket_cap_mb=0 must raise")


class Counter(nn.Module):
    """Its output is its buffer: shows which rank's buffer the forward saw."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(cr.ones(1, dtype=cr.float64))
        self.register_buffer("seen", cr.tensor([value], dtype=cr.float64))

    def forward(self, x):
        return self.weight * x + self.seen


def case_buffers(rank: int, size: int) -> None:
    """broadcast_buffers: every forward sees rank 0's buffers; with False, its own."""
    ddp = DDP(Counter(0.0))
    ddp.module.seen.fill_(10.0 * rank + 1)
    out = ddp(cr.zeros(1, dtype=cr.float64))
    if float(out.detach()) != 1.0:
        raise AssertionError(f"rank {rank} saw buffer {float(out.detach())}, expected rank 0's")
    own = DDP(Counter(0.0), broadcast_buffers=False)
    own.module.seen.fill_(10.0 * rank + 1)
    if float(own(cr.zeros(1, dtype=cr.float64)).detach()) != 10.0 * rank + 1:
        raise AssertionError("broadcast_buffers=False must leave each rank's buffers")


def case_overlap(rank: int, size: int) -> None:
    """Buckets start during the backward pass: by the time the first layer's weight has its
    gradient (late in the backward), the bucket of the last layer has already started."""
    model = mlp(seed=4)
    ddp = DDP(model, bucket_cap_mb=0.002)
    reducer = ddp._reducer
    started_when_first_layer_ready = []
    model[0].weight.register_post_accumulate_grad_hook(
        lambda p: started_when_first_layer_ready.append(reducer.next_bucket))
    X, y = data(8, seed=5)
    nn.functional.cross_entropy(ddp(X), y).backward()
    if not started_when_first_layer_ready or started_when_first_layer_ready[0] < 1:
        raise AssertionError("no bucket had started when the first layer's gradient was ready")
    mixed = nn.Sequential(nn.Linear(3, 3).double(), nn.Linear(3, 2).float())
    mixed_ddp = DDP(mixed)
    if len(mixed_ddp._reducer.buckets) != 2:
        raise AssertionError("float32 and float64 parameters must travel in separate buckets")


def case_buffer_reuse(rank: int, size: int) -> None:
    """A training loop's steps reduce in the same buffers (no allocation per step), but a
    gradient the user kept, or one unused here, is never overwritten by the next step."""
    ddp = DDP(mlp(seed=6))
    X, y = data(8, seed=6)
    opt = cr.optim.SGD(ddp.parameters(), lr=0.1)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(ddp(X[rank::size] * (1 + rank)), y[rank::size]).backward()
        opt.step()
    step()
    buffers = [id(b.flat) for b in ddp._reducer.buckets]
    step()
    if [id(b.flat) for b in ddp._reducer.buckets] != buffers:
        raise AssertionError("a plain training step allocated new reduction buffers")
    kept = [p.grad for p in ddp.parameters()]
    kept_values = [g.numpy().copy() for g in kept]
    X2 = X * 3
    opt.zero_grad()
    nn.functional.cross_entropy(ddp(X2[rank::size]), y[rank::size]).backward()
    for g, before in zip(kept, kept_values):
        if not np.array_equal(g.numpy(), before):
            raise AssertionError("the next step overwrote a gradient the user kept")
    reference = [p.grad.numpy().copy() for p in ddp.parameters()]
    mine = WORLD.allgather(reference)
    for other in mine:
        for a, b in zip(other, reference):
            np.testing.assert_array_equal(a, b)


CASES = {"train": case_train, "no_sync": case_no_sync, "unused": case_unused,
         "errors": case_errors, "buffers": case_buffers, "overlap": case_overlap,
         "buffer_reuse": case_buffer_reuse}


if __name__ == "__main__":
    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    names = list(CASES) if sys.argv[1] == "all" else sys.argv[1:]
    for name in names:
        CASES[name](rank, size)
        print(f"rank {rank}: {name} ok", flush=True)
    dist.destroy_process_group()
