"""The collectives: ``barrier``, ``all_reduce``, ``broadcast``, ``all_gather``, ``reduce``,
``gather``, ``scatter``, ``send`` and ``recv`` on Tensors, with ``torch.distributed``'s signatures.

Each hands MPI the tensor's own NumPy buffer through mpi4py's buffer interface (the upper-case
methods, never pickled objects): a contiguous tensor is reduced, broadcast or received in
place with no copy.  A non-contiguous one goes through one contiguous copy and back.
A list of tensors (``all_gather``'s output, ``scatter``'s input) is one stacked buffer on the
wire, since MPI sends one buffer per rank.

A collective writes into a tensor's storage as an in-place operation does: the tensor's
version moves on, so a backward pass that saved the old value raises instead of using the new
one.  Collectives are not differentiable (as in ``torch.distributed``).

``async_op=True`` starts the non-blocking MPI call and returns a :class:`Work` whose
``wait()`` finishes it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import tracing
from chainrule.distributed.process_group import _World, check_group
from chainrule.tensor import Tensor


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce`` combine the ranks' values (``dist.ReduceOp.SUM``)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


# MPI's name of each operation (AVG is a SUM followed by a division)
_MPI_OP_NAMES = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD",
                 ReduceOp.MIN: "MIN", ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND",
                 ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}
# on bool tensors, MPI has no arithmetic or bitwise operation, only the logical ones: a sum or
# maximum of bools is their "or", a product or minimum their "and" (PyTorch's results, which
# NCCL gets the same way); AVG is refused
_MPI_BOOL_OP_NAMES = {ReduceOp.SUM: "LOR", ReduceOp.MAX: "LOR", ReduceOp.BOR: "LOR",
                      ReduceOp.PRODUCT: "LAND", ReduceOp.MIN: "LAND", ReduceOp.BAND: "LAND",
                      ReduceOp.BXOR: "LXOR"}


class Work:
    """A collective started with ``async_op=True``: ``wait()`` finishes it."""

    __slots__ = ("_request", "_finish", "_done")

    def __init__(self, request, finish: Callable[[], None] | None) -> None:
        self._request = request
        self._finish = finish
        self._done = False

    def wait(self, timeout: Any = None) -> bool:
        """Block until the collective has finished and its result is in the tensors."""
        if not self._done:
            self._request.Wait()
            if self._finish is not None:
                self._finish()
            self._done = True
        return True

    def is_completed(self) -> bool:
        """Whether the collective has finished (finishing it if MPI has)."""
        if not self._done and self._request.Test():
            self.wait()
        return self._done


def _finished(finish: Callable[[], None] | None) -> None:
    if finish is not None:
        finish()


def _run(async_op: bool, blocking: Callable[[], None], nonblocking: Callable[[], Any],
         finish: Callable[[], None] | None = None) -> Work | None:
    """Run a collective now, or start it and return its :class:`Work`."""
    if async_op:
        return Work(nonblocking(), finish)
    blocking()
    _finished(finish)
    return None


def _communicating(caller: str, group: Any) -> _World:
    """The group's state for a collective named ``caller``.  Inside ``chainrule.compile`` the
    call breaks the trace: a replay would not communicate, and the other ranks would wait for
    it (every rank breaks at the same call of its own trace, so all run eagerly)."""
    state = check_group(caller, group)
    tracing.escaped(f"chainrule.distributed.{caller} (communication, which a replay would not "
                    "repeat)")
    return state


def _check_tensor(caller: str, what: str, tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: {what} must be a chainrule Tensor, got "
                        f"{type(tensor).__name__}")
    if tensor._batched:
        raise RuntimeError(f"{caller}: collectives cannot run inside vmap (on {what}); call "
                           "them outside the vmapped function")


def _buffer(caller: str, what: str, tensor: Tensor, writes: bool):
    """The tensor's storage as a C-contiguous ndarray, and how to put a result back.

    Returns ``(array, write_back)``: ``write_back()`` (None when the array is the storage
    itself) copies the array into the storage, and moves the tensor's version on when
    ``writes``.
    """
    _check_tensor(caller, what, tensor)
    tensor._ensure_array()
    storage = tensor._data
    if writes and not storage.flags.writeable:
        raise RuntimeError(f"{caller}: {what} is read-only (its NumPy array is not writeable); "
                           "pass a tensor that owns its memory, e.g. tensor.clone()")
    if storage.flags.c_contiguous:
        if not writes:
            return storage, None
        return storage, tensor._bump_version
    contiguous = np.ascontiguousarray(storage)
    if not writes:
        return contiguous, None

    def write_back() -> None:
        storage[...] = contiguous
        tensor._bump_version()
    return contiguous, write_back


def _mpi_op(caller: str, MPI, op: ReduceOp, dtype: np.dtype):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{caller}: op must be a chainrule.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and dtype.kind not in "fc":
        raise ValueError(f"{caller}: ReduceOp.AVG needs a floating-point or complex tensor "
                         f"(got {dtype}); use ReduceOp.SUM and divide by the world size")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and dtype.kind == "c":
        raise ValueError(f"{caller}: ReduceOp.{op.name} is not defined for complex tensors "
                         f"(got {dtype})")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iub":
        raise ValueError(f"{caller}: ReduceOp.{op.name} needs an integer or bool tensor "
                         f"(got {dtype})")
    if dtype.kind == "b":  # MPI defines only the logical operations on MPI_C_BOOL
        return getattr(MPI, _MPI_BOOL_OP_NAMES[op])
    return getattr(MPI, _MPI_OP_NAMES[op])


def _then(*steps: Callable[[], None] | None) -> Callable[[], None] | None:
    """The steps that are not None, run in order, as one callable (None if there are none)."""
    steps = tuple(step for step in steps if step is not None)
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def run_all() -> None:
        for step in steps:
            step()
    return run_all


def _check_root(caller: str, what: str, root: int, size: int) -> int:
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < size:
        raise ValueError(f"{caller}: {what}={root!r} is not a rank of the group; ranks are "
                         f"0 .. {size - 1}")
    return int(root)


def _check_list(caller: str, what: str, tensors, like: Tensor, size: int) -> list[Tensor]:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{caller}: {what} must be a list of one tensor per rank "
                         f"(world size {size}), got {got}")
    for i, t in enumerate(tensors):
        _check_tensor(caller, f"{what}[{i}]", t)
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{caller}: {what}[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}, but the tensor has shape {tuple(like.shape)} and "
                             f"dtype {like.dtype}; every tensor must match it")
    return list(tensors)


def _root_list(caller: str, what: str, tensors, role: str, root: int, state,
               like: Tensor) -> list[Tensor] | None:
    """The list of one tensor per rank that only rank ``root`` passes (gather's
    ``gather_list``, scatter's ``scatter_list``): checked there; None on the other ranks, which
    must pass none."""
    if state.rank != root:
        if tensors:
            raise ValueError(f"{caller}: {what} must be None (or empty) on ranks other than "
                             f"{role}={root}; this is rank {state.rank}")
        return None
    if tensors is None:
        raise ValueError(f"{caller}: rank {role}={root} must pass {what}, a list of one "
                         f"tensor per rank (world size {state.size})")
    return _check_list(caller, what, tensors, like, state.size)


def _store_rows(rows: np.ndarray, tensors: Sequence[Tensor]) -> Callable[[], None]:
    """Copy ``rows[i]`` into ``tensors[i]``'s storage, in place."""
    def store() -> None:
        for row, t in zip(rows, tensors):
            t._ensure_array()
            t._data[...] = row
            t._bump_version()
    return store


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank of the group has reached this call; with ``async_op=True``,
    return a :class:`Work` whose ``wait()`` does."""
    comm = _communicating("barrier", group).comm
    return _run(async_op, comm.Barrier, comm.Ibarrier)


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op``; every rank gets the result, in place.

    >>> import chainrule as cr, chainrule.distributed as dist
    >>> dist.init_process_group("mpi")     # doctest: +SKIP
    >>> t = cr.tensor([1.0, 2.0]) * (dist.get_rank() + 1)  # doctest: +SKIP
    >>> dist.all_reduce(t)                 # doctest: +SKIP
    >>> t                                  # doctest: +SKIP
    tensor([3., 6.])

    (on every rank of a job started with ``mpiexec -n 2``).
    """
    caller = "all_reduce"
    state = _communicating(caller, group)
    buf, write_back = _buffer(caller, "tensor", tensor, writes=True)
    mpi_op = _mpi_op(caller, state.MPI, op, buf.dtype)
    in_place, comm = state.MPI.IN_PLACE, state.comm
    divide = None
    if op is ReduceOp.AVG:
        def divide() -> None:
            buf[...] /= state.size
    return _run(async_op, lambda: comm.Allreduce(in_place, buf, op=mpi_op),
                lambda: comm.Iallreduce(in_place, buf, op=mpi_op), _then(divide, write_back))


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank, in place."""
    caller = "broadcast"
    state = _communicating(caller, group)
    root = _check_root(caller, "src", src if group_src is None else group_src, state.size)
    buf, write_back = _buffer(caller, "tensor", tensor, writes=state.rank != root)
    comm = state.comm
    return _run(async_op, lambda: comm.Bcast(buf, root=root),
                lambda: comm.Ibcast(buf, root=root), write_back)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[i]`` with rank ``i``'s ``tensor``, on every rank."""
    caller = "all_gather"
    state = _communicating(caller, group)
    send, _ = _buffer(caller, "tensor", tensor, writes=False)
    outputs = _check_list(caller, "tensor_list", tensor_list, tensor, state.size)
    rows = np.empty((state.size,) + send.shape, send.dtype)
    comm = state.comm
    return _run(async_op, lambda: comm.Allgather(send, rows),
                lambda: comm.Iallgather(send, rows), _store_rows(rows, outputs))


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """The ranks' ``input_tensor`` concatenated along the first axis (or stacked, when
    ``output_tensor`` has one more dimension) into ``output_tensor``, with no copy when it is
    contiguous."""
    caller = "all_gather_into_tensor"
    state = _communicating(caller, group)
    send, _ = _buffer(caller, "input_tensor", input_tensor, writes=False)
    out, write_back = _buffer(caller, "output_tensor", output_tensor, writes=True)
    if out.size != send.size * state.size or out.dtype != send.dtype:
        raise ValueError(f"{caller}: output_tensor (shape {tuple(output_tensor.shape)}, "
                         f"{out.dtype}) must hold world size ({state.size}) times "
                         f"input_tensor (shape {tuple(input_tensor.shape)}, {send.dtype})")
    if np.may_share_memory(send, out):
        # the input is often this rank's chunk of the output (gathering in place), but MPI
        # refuses a send buffer that overlaps the receive buffer: send a copy
        send = send.copy()
    comm = state.comm
    return _run(async_op, lambda: comm.Allgather(send, out),
                lambda: comm.Iallgather(send, out), write_back)


def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op`` into rank ``dst``'s ``tensor`` (the
    others' are left as they were)."""
    caller = "reduce"
    state = _communicating(caller, group)
    root = _check_root(caller, "dst", dst if group_dst is None else group_dst, state.size)
    is_root = state.rank == root
    buf, write_back = _buffer(caller, "tensor", tensor, writes=is_root)
    mpi_op = _mpi_op(caller, state.MPI, op, buf.dtype)
    comm = state.comm
    send, recv = (state.MPI.IN_PLACE, buf) if is_root else (buf, None)
    divide = None
    if op is ReduceOp.AVG and is_root:
        def divide() -> None:
            buf[...] /= state.size
    return _run(async_op, lambda: comm.Reduce(send, recv, op=mpi_op, root=root),
                lambda: comm.Ireduce(send, recv, op=mpi_op, root=root),
                _then(divide, write_back))


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int = 0,
           group: Any = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Rank ``i``'s ``tensor`` into ``gather_list[i]`` on rank ``dst`` (the others pass
    ``gather_list=None``)."""
    caller = "gather"
    state = _communicating(caller, group)
    root = _check_root(caller, "dst", dst if group_dst is None else group_dst, state.size)
    send, _ = _buffer(caller, "tensor", tensor, writes=False)
    comm = state.comm
    outputs = _root_list(caller, "gather_list", gather_list, "dst", root, state, tensor)
    if outputs is None:
        return _run(async_op, lambda: comm.Gather(send, None, root=root),
                    lambda: comm.Igather(send, None, root=root))
    rows = np.empty((state.size,) + send.shape, send.dtype)
    return _run(async_op, lambda: comm.Gather(send, rows, root=root),
                lambda: comm.Igather(send, rows, root=root), _store_rows(rows, outputs))


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int = 0,
            group: Any = None, async_op: bool = False,
            group_src: int | None = None) -> Work | None:
    """Rank ``src``'s ``scatter_list[i]`` into rank ``i``'s ``tensor`` (the others pass
    ``scatter_list=None``)."""
    caller = "scatter"
    state = _communicating(caller, group)
    root = _check_root(caller, "src", src if group_src is None else group_src, state.size)
    recv, write_back = _buffer(caller, "tensor", tensor, writes=True)
    comm = state.comm
    inputs = _root_list(caller, "scatter_list", scatter_list, "src", root, state, tensor)
    if inputs is None:
        return _run(async_op, lambda: comm.Scatter(None, recv, root=root),
                    lambda: comm.Iscatter(None, recv, root=root), write_back)
    rows = np.stack([np.asarray(t._data) for t in inputs])  # one send buffer: a copy
    return _run(async_op, lambda: comm.Scatter(rows, recv, root=root),
                lambda: comm.Iscatter(rows, recv, root=root), write_back)


def send(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` (which calls :func:`recv`)."""
    caller = "send"
    state = _communicating(caller, group)
    root = _check_root(caller, "dst", dst, state.size)
    if root == state.rank:  # (a blocking send to oneself waits forever for the recv)
        raise ValueError(f"{caller}: dst={root} is this process's own rank; send to another "
                         "rank")
    buf, _ = _buffer(caller, "tensor", tensor, writes=False)
    state.comm.Send(buf, dest=root, tag=tag)


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender."""
    caller = "recv"
    state = _communicating(caller, group)
    source = state.MPI.ANY_SOURCE if src is None else _check_root(caller, "src", src,
                                                                   state.size)
    if source == state.rank or state.size == 1:  # (nothing could ever arrive: a hang)
        raise ValueError(f"{caller}: src={src} would receive from this process itself (rank "
                         f"{state.rank} of {state.size}); receive from another rank")
    buf, write_back = _buffer(caller, "tensor", tensor, writes=True)
    status = state.MPI.Status()
    state.comm.Recv(buf, source=source, tag=tag, status=status)
    _finished(write_back)
    return status.Get_source()
