"""The process group's life cycle, the collectives' argument errors, and failing ranks.

``python process_group_worker.py MODE`` (or under ``mpiexec -n N``), MODE one of:

``plain``           a job of one process (run without mpiexec): rank 0 of 1, the collectives
                    are identities, init twice / a wrong backend / a wrong world size raise,
                    destroy and init again works;
``errors``          every collective's argument errors (any world size): each raises a clear
                    error naming the function, before any message is sent, and leaves the
                    tensors as they were; the group still works afterwards;
``fail_all_reduce`` rank 1 raises ValueError right after init while the others wait in an
``fail_barrier``    all_reduce (or a barrier): chainrule's excepthook must abort the job.

The checking modes print ``rank r: N checks passed``.
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as torch

checks = [0]


def raises(exc_type, call, *phrases: str) -> None:
    """``call()`` raises ``exc_type`` with every phrase in its message."""
    try:
        call()
    except exc_type as err:
        for phrase in phrases:
            assert phrase in str(err), f"{phrase!r} is not in the message: {err}"
    else:
        raise AssertionError(f"{call} did not raise {exc_type.__name__} ({phrases})")
    checks[0] += 1


def same(t, expected: np.ndarray) -> None:
    got = t.numpy()
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got, expected)
    np.testing.assert_array_equal(got, expected)
    checks[0] += 1


def plain() -> int:
    import chainrule.distributed as dist

    raises(RuntimeError, dist.get_rank, "Default process group has not been initialized")
    raises(ValueError, lambda: dist.init_process_group("nccl"), "init_process_group",
           "backend='mpi'", "nccl")
    raises(ValueError, lambda: dist.init_process_group("gloo"), "backend='mpi'")
    raises(ValueError, lambda: dist.init_process_group("mpi", world_size=3), "world_size=3",
           "world_size=1", "mpiexec")
    raises(ValueError, lambda: dist.init_process_group("mpi", rank=2), "rank=2", "rank=0")
    raises(ValueError, lambda: dist.init_process_group("mpi", init_method="tcp://h:1"),
           "init_method")
    assert not dist.is_initialized()  # none of the failed calls left a group behind
    dist.init_process_group("mpi", world_size=1, rank=0)
    assert dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    assert sys.excepthook is sys.__excepthook__  # (a job of one has no one to abort)
    raises(RuntimeError, dist.init_process_group,
           "trying to initialize the default process group twice!")
    identities(dist)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    raises(RuntimeError, lambda: dist.all_reduce(torch.ones(2)), "all_reduce",
           "Default process group has not been initialized")
    dist.init_process_group()  # again, and backend=None means MPI
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    identities(dist)
    dist.destroy_process_group()
    return 0


def identities(dist) -> None:
    """With one process every collective gives back its input."""
    Op = dist.ReduceOp
    rng = np.random.default_rng(17)
    for dtype in (np.float32, np.float64):
        for shape in ((), (3,), (2, 5)):
            x = np.asarray(rng.standard_normal(shape), dtype)
            for op in (Op.SUM, Op.AVG, Op.PRODUCT, Op.MIN, Op.MAX):
                for async_op in (False, True):
                    t = torch.tensor(x.copy())
                    work = dist.all_reduce(t, op=op, async_op=async_op)
                    if async_op:
                        work.wait()
                    same(t, x)
            t = torch.tensor(x.copy())
            dist.broadcast(t, src=0)
            same(t, x)
            t = torch.tensor(x.copy())
            dist.reduce(t, dst=0, op=Op.AVG)
            same(t, x)
            outputs = [torch.zeros(shape, dtype=t.dtype)]
            dist.all_gather(outputs, torch.tensor(x))
            same(outputs[0], x)
            out = torch.zeros((1, *shape), dtype=t.dtype)
            dist.all_gather_into_tensor(out, torch.tensor(x))
            same(out, x[None])
            outputs = [torch.zeros(shape, dtype=t.dtype)]
            dist.gather(torch.tensor(x), outputs, dst=0)
            same(outputs[0], x)
            t = torch.zeros(shape, dtype=t.dtype)
            dist.scatter(t, [torch.tensor(x)], src=0)
            same(t, x)
    assert dist.barrier() is None
    work = dist.barrier(async_op=True)
    assert isinstance(work, dist.Work) and work.wait() and work.is_completed()
    checks[0] += 1


def errors() -> int:
    """Each argument error on every rank, raised before any message is sent (a rank that
    sent while another raised would leave the job waiting)."""
    import chainrule.distributed as dist

    dist.init_process_group("mpi")
    Op = dist.ReduceOp
    rank, size = dist.get_rank(), dist.get_world_size()
    t = torch.tensor(np.arange(3.0) + rank)
    ints = torch.tensor(np.arange(3) + rank)
    cplx = torch.tensor(np.arange(3.0) + 1j)
    wrong = torch.zeros(4, dtype=torch.float64)
    raises(ValueError, lambda: dist.all_reduce(ints, op=Op.AVG), "all_reduce", "AVG", "int64")
    raises(ValueError, lambda: dist.reduce(ints, op=Op.AVG), "reduce", "AVG")
    raises(ValueError, lambda: dist.all_reduce(cplx, op=Op.MAX), "all_reduce", "MAX", "complex")
    raises(ValueError, lambda: dist.all_reduce(cplx, op=Op.MIN), "MIN", "complex")
    raises(ValueError, lambda: dist.all_reduce(t, op=Op.BAND), "all_reduce", "BAND", "integer")
    raises(TypeError, lambda: dist.all_reduce(t, op="sum"), "all_reduce", "ReduceOp")
    raises(TypeError, lambda: dist.all_reduce(np.ones(3)), "all_reduce", "Tensor", "ndarray")
    raises(TypeError, lambda: dist.broadcast([1.0], src=0), "broadcast", "Tensor", "list")
    raises(TypeError, lambda: dist.all_gather_into_tensor(np.zeros(3 * size), t),
           "all_gather_into_tensor", "output_tensor", "Tensor")
    for bad in (size, -1, 0.0, True, None):
        raises(ValueError, lambda: dist.broadcast(t, src=bad), "broadcast", f"src={bad!r}",
               f"0 .. {size - 1}")
        raises(ValueError, lambda: dist.reduce(t, dst=bad), "reduce", f"dst={bad!r}")
        raises(ValueError, lambda: dist.gather(t, [t] * size, dst=bad), "gather", "dst=")
        raises(ValueError, lambda: dist.scatter(t, [t] * size, src=bad), "scatter", "src=")
        raises(ValueError, lambda: dist.send(t, dst=bad), "send", "dst=")
    raises(ValueError, lambda: dist.send(t, dst=rank), "send", "own rank")
    raises(ValueError, lambda: dist.recv(t, src=rank), "recv", "this process itself")
    if size == 1:  # (no one could ever send it: a hang)
        raises(ValueError, lambda: dist.recv(t), "recv", "this process itself")
    for grp in ("mine", object()):
        for call in (lambda: dist.all_reduce(t, group=grp), lambda: dist.barrier(group=grp),
                     lambda: dist.get_rank(grp), lambda: dist.broadcast(t, 0, group=grp)):
            raises(ValueError, call, "only the default process group", "group=None")
    assert dist.get_rank(dist.group.WORLD) == rank  # group.WORLD is the default group

    outs = [torch.zeros(3, dtype=torch.float64) for _ in range(size + 1)]
    raises(ValueError, lambda: dist.all_gather(outs, t), "all_gather", "tensor_list",
           f"world size {size}", f"got {size + 1}")
    raises(ValueError, lambda: dist.all_gather(outs[:size - 1] + [wrong], t), "all_gather",
           f"tensor_list[{size - 1}]", "shape (4,)")
    raises(ValueError, lambda: dist.all_gather([ints] * size, t), "all_gather", "dtype")
    raises(ValueError, lambda: dist.all_gather(torch.zeros(size, 3), t), "all_gather",
           "tensor_list", "list")
    raises(ValueError, lambda: dist.all_gather_into_tensor(torch.zeros(3 * size + 1), t),
           "all_gather_into_tensor", "world size")
    raises(ValueError, lambda: dist.all_gather_into_tensor(torch.zeros(3 * size,
                                                                       dtype=torch.float32), t),
           "all_gather_into_tensor", "float32")
    raises(ValueError, lambda: dist.gather(t, None, dst=rank), "gather", "gather_list")
    raises(ValueError, lambda: dist.gather(t, outs, dst=rank), "gather", "gather_list")
    raises(ValueError, lambda: dist.scatter(t, None, src=rank), "scatter", "scatter_list")
    raises(ValueError, lambda: dist.scatter(t, [wrong] * size, src=rank), "scatter",
           "scatter_list[0]", "shape (4,)")
    if size > 1:  # the ranks that are not the root pass no list
        other = (rank + 1) % size
        raises(ValueError, lambda: dist.gather(t, [t] * size, dst=other), "gather",
               "gather_list must be None")
        raises(ValueError, lambda: dist.scatter(t, [t] * size, src=other), "scatter",
               "scatter_list must be None")
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    raises(RuntimeError, lambda: dist.all_reduce(torch.from_numpy(frozen)), "all_reduce",
           "read-only")
    # nothing was sent or changed: the tensors are as they were, and the group still works
    same(t, np.arange(3.0) + rank)
    assert t._version == 0 and ints._version == 0 and all(o._version == 0 for o in outs)
    dist.all_reduce(t)
    np.testing.assert_allclose(t.numpy(), size * np.arange(3.0) + size * (size - 1) / 2)
    checks[0] += 1
    dist.destroy_process_group()
    return rank


def fail(where: str) -> None:
    import chainrule.distributed as dist

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    if where == "all_reduce":
        dist.all_reduce(torch.ones(1000))
    else:
        dist.barrier()
    print(f"rank {rank}: finished", flush=True)  # must never be reached


def main(mode: str) -> None:
    if mode in ("fail_all_reduce", "fail_barrier"):
        fail(mode.removeprefix("fail_"))
        return
    if mode not in ("plain", "errors"):
        raise ValueError(f"unknown mode {mode!r}")
    rank = plain() if mode == "plain" else errors()
    print(f"rank {rank}: {checks[0]} checks passed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
