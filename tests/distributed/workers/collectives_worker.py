"""Every collective of ``chainrule.distributed`` against NumPy, on each rank of an MPI job.

Run as ``mpiexec -n N python collectives_worker.py GROUP`` with GROUP one of ``all_reduce``,
``broadcast_reduce``, ``gathers``, ``p2p_autograd`` (with collectives inside
``chainrule.compile``) or ``all``.  For each case, every rank
makes its input with a generator seeded by (case, rank); the oracle does not use chainrule:
mpi4py's pickle-based ``MPI.COMM_WORLD.allgather`` (lower case) collects the ranks' raw NumPy
inputs and NumPy computes what the collective must give.  Values, dtypes, shapes and version
counters are checked; each rank ends by printing ``rank r: N checks passed``.  A failed check
raises, and chainrule's excepthook aborts the whole job, so mpiexec exits non-zero.
"""

from __future__ import annotations

import sys
import zlib

import numpy as np

import chainrule as torch

# set by start(), not on import: pytest's --doctest-modules imports this file, and importing
# mpi4py.MPI would start MPI in the pytest process (and mpi4py may be absent there)
dist = MPI = Op = None
RANK = SIZE = LAST = 0
ORACLE = None


def start() -> None:
    global dist, MPI, Op, RANK, SIZE, LAST, ORACLE
    from mpi4py import MPI

    import chainrule.distributed

    dist = chainrule.distributed
    dist.init_process_group("mpi")
    Op = dist.ReduceOp
    RANK, SIZE = dist.get_rank(), dist.get_world_size()
    LAST = SIZE - 1
    ORACLE = MPI.COMM_WORLD  # pickled objects: shares no code path with chainrule's buffers

SHAPES = [(), (1,), (7,), (3, 5), (1000,), (10**6,)]
SMALL_SHAPES = SHAPES[:-1]  # the million-element case only for float32 and float64
FLOATS = [np.dtype(np.float32), np.dtype(np.float64)]
INT, COMPLEX, HALF, BOOL = (np.dtype(d) for d in (np.int64, np.complex128, np.float16, np.bool_))

checks = [0]


def shapes_for(dtype: np.dtype) -> list[tuple]:
    return SHAPES if dtype in FLOATS else SMALL_SHAPES


def rng_for(case: str, rank: int = RANK) -> np.random.Generator:
    """The generator of ``rank``'s input for ``case`` (the same case name on every rank)."""
    return np.random.default_rng([zlib.crc32(case.encode()), rank])


def make(case: str, dtype: np.dtype, shape: tuple, near_one: bool = False,
         rank: int = RANK) -> np.ndarray:
    """Rank ``rank``'s raw input for ``case``: values near 1 for products (no overflow)."""
    rng = rng_for(case, rank)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        low, high = (-2, 3) if near_one else (-1000, 1000)
        return np.asarray(rng.integers(low, high, size=shape), dtype)
    if near_one:
        real = rng.uniform(0.5, 1.5, size=shape)
    else:
        real = rng.standard_normal(shape)
    if dtype.kind == "c":
        real = real + 1j * (rng.uniform(-0.5, 0.5, size=shape) if near_one
                            else rng.standard_normal(shape))
    return np.asarray(real, dtype)


def everyone(x) -> list:
    """Every rank's ``x``, through mpi4py's pickling (the oracle's only communication)."""
    return ORACLE.allgather(x)


def as_tensor(x: np.ndarray):
    t = torch.tensor(x)
    assert t.dtype == getattr(torch, x.dtype.name), (t.dtype, x.dtype)
    return t


def check(what: str, t, expected: np.ndarray, dtype: np.dtype, rtol: float = 0.0,
          scale: float = 0.0) -> None:
    """``t`` has ``expected``'s shape, the dtype ``dtype`` and its values (exactly when rtol is
    0; else within rtol relative to each value plus rtol * scale absolute)."""
    got = t.detach().numpy()
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    assert got.shape == np.shape(expected), f"{what}: shape {got.shape} != {np.shape(expected)}"
    if rtol == 0.0:
        np.testing.assert_array_equal(got, expected, err_msg=what)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=what)
    checks[0] += 1


def tolerance(dtype: np.dtype, terms: int) -> float:
    """A relative tolerance for a sum or product of ``terms`` values, rounded in ``dtype``
    (MPI and NumPy may add in different orders)."""
    if dtype.kind not in "fc":
        return 0.0
    return 4 * terms * float(np.finfo(dtype).eps)


def bumped(what: str, t, before: int) -> None:
    assert t._version > before, f"{what}: version {t._version} did not move from {before}"
    checks[0] += 1


# ---------------------------------------------------------------------------------------------
# all_reduce (and the expected results of reductions, shared with reduce)

def ops_for(dtype: np.dtype) -> list:
    if dtype.kind == "b":
        return [Op.SUM, Op.PRODUCT, Op.MIN, Op.MAX, Op.BAND, Op.BOR, Op.BXOR]
    if dtype.kind in "iu":
        return [Op.SUM, Op.PRODUCT, Op.MIN, Op.MAX, Op.BAND, Op.BOR, Op.BXOR]
    if dtype == HALF:
        return [Op.SUM, Op.AVG]
    if dtype.kind == "c":
        return [Op.SUM, Op.AVG, Op.PRODUCT]
    return [Op.SUM, Op.AVG, Op.PRODUCT, Op.MIN, Op.MAX]


def reduced(op, stacked: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """NumPy's result of ``op`` over the ranks (axis 0 of ``stacked``), in ``dtype``; sums and
    products of floats are taken in double precision first (the reference)."""
    if dtype.kind == "b":
        fn = {Op.SUM: np.any, Op.MAX: np.any, Op.BOR: np.any, Op.PRODUCT: np.all,
              Op.MIN: np.all, Op.BAND: np.all,
              Op.BXOR: lambda a, axis: np.logical_xor.reduce(a, axis=axis)}[op]
        return fn(stacked, axis=0)
    wide = stacked.astype(np.complex128 if dtype.kind == "c" else np.float64) \
        if dtype.kind in "fc" else stacked
    fn = {Op.SUM: np.sum, Op.AVG: np.mean, Op.PRODUCT: np.prod, Op.MIN: np.min,
          Op.MAX: np.max, Op.BAND: np.bitwise_and.reduce, Op.BOR: np.bitwise_or.reduce,
          Op.BXOR: np.bitwise_xor.reduce}[op]
    return fn(wide, axis=0).astype(dtype)


def reduce_tolerance(op, dtype: np.dtype, stacked: np.ndarray) -> tuple[float, float]:
    if op in (Op.MIN, Op.MAX, Op.BAND, Op.BOR, Op.BXOR) or dtype.kind not in "fc":
        return 0.0, 0.0
    scale = float(np.abs(stacked).max()) if stacked.size else 0.0
    if dtype == HALF:  # (rounding each partial sum to float16 costs more than 4 * eps)
        return 8 * SIZE * float(np.finfo(dtype).eps), scale
    return tolerance(dtype, SIZE), scale


def test_all_reduce() -> None:
    for dtype in [*FLOATS, INT, COMPLEX, HALF, BOOL]:
        for shape in shapes_for(dtype):
            for op in ops_for(dtype):
                near_one = op is Op.PRODUCT
                case = f"all_reduce {dtype} {shape} {op.name}"
                x = make(case, dtype, shape, near_one)
                stacked = np.stack(everyone(x))
                expected = reduced(op, stacked, dtype)
                rtol, scale = reduce_tolerance(op, dtype, stacked)
                # blocking
                t = as_tensor(x.copy())
                before = t._version
                assert dist.all_reduce(t, op=op) is None
                check(case, t, expected, dtype, rtol, scale)
                bumped(case, t, before)
                # async_op=True: the result is there once wait() returns
                t = as_tensor(x.copy())
                work = dist.all_reduce(t, op=op, async_op=True)
                assert isinstance(work, dist.Work), f"{case}: async_op gave {work!r}"
                assert work.wait() is True
                assert work.is_completed()
                check(case + " async", t, expected, dtype, rtol, scale)
    test_all_reduce_layouts()


def test_all_reduce_layouts() -> None:
    """Non-contiguous tensors, views of bigger tensors, and is_completed polling."""
    for dtype in FLOATS + [INT]:
        for op in (Op.SUM, Op.MAX):
            case = f"all_reduce transposed {dtype} {op.name}"
            x = make(case, dtype, (3, 5))
            stacked = np.stack(everyone(x))
            expected = reduced(op, stacked, dtype)
            rtol, scale = reduce_tolerance(op, dtype, stacked)
            for async_op in (False, True):
                base = as_tensor(np.ascontiguousarray(x.T))  # (5, 3), and its transpose
                t = base.T
                assert not t._data.flags.c_contiguous, "the test needs a non-contiguous tensor"
                before = base._version
                work = dist.all_reduce(t, op=op, async_op=async_op)
                if async_op:
                    while not work.is_completed():  # polling finishes it, write-back included
                        pass
                check(f"{case} async={async_op}", t, expected, dtype, rtol, scale)
                check(f"{case} async={async_op} (base)", base, expected.T, dtype, rtol, scale)
                bumped(case, base, before)

            # a contiguous and a strided view of a bigger tensor: the rest stays as it was
            case = f"all_reduce view {dtype} {op.name}"
            n = 11
            x = make(case, dtype, (n,))
            stacked = np.stack(everyone(x))
            expected = reduced(op, stacked, dtype)
            rtol, scale = reduce_tolerance(op, dtype, stacked)
            pad = make(case + " pad", dtype, (2 * n + 3,))
            for name, index in (("slice", np.s_[3:3 + n]), ("strided", np.s_[1:2 * n:2])):
                raw = pad.copy()
                raw[index] = x
                big = as_tensor(raw)
                view = big[index]
                before = big._version
                dist.all_reduce(view, op=op)
                check(f"{case} {name}", view, expected, dtype, rtol, scale)
                whole = pad.copy()
                whole[index] = expected
                check(f"{case} {name} (base)", big, whole, dtype, rtol, scale)
                bumped(f"{case} {name}", big, before)


# ---------------------------------------------------------------------------------------------
# broadcast and reduce

def test_broadcast() -> None:
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            for src in sorted({0, LAST}):
                for async_op in (False, True):
                    case = f"broadcast {dtype} {shape} src={src} async={async_op}"
                    x = make(case, dtype, shape)
                    expected = everyone(x)[src]
                    t = as_tensor(x.copy())
                    before = t._version
                    work = dist.broadcast(t, src=src, async_op=async_op)
                    if async_op:
                        work.wait()
                    else:
                        assert work is None
                    check(case, t, expected, dtype)
                    if RANK != src:
                        bumped(case, t, before)
    # a non-contiguous tensor, on the receiving ranks and on the source
    case = "broadcast transposed"
    x = make(case, FLOATS[1], (4, 3))
    expected = everyone(x)[LAST]
    t = as_tensor(np.ascontiguousarray(x.T)).T
    dist.broadcast(t, src=LAST)
    check(case, t, expected, FLOATS[1])


def test_reduce() -> None:
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            for op in ops_for(dtype):
                for dst in sorted({0, LAST}):
                    case = f"reduce {dtype} {shape} {op.name} dst={dst}"
                    x = make(case, dtype, shape, op is Op.PRODUCT)
                    stacked = np.stack(everyone(x))
                    t = as_tensor(x.copy())
                    before = t._version
                    async_op = op is Op.SUM  # (the async path once per dtype and shape)
                    work = dist.reduce(t, dst=dst, op=op, async_op=async_op)
                    if async_op:
                        work.wait()
                    if RANK == dst:
                        rtol, scale = reduce_tolerance(op, dtype, stacked)
                        check(case, t, reduced(op, stacked, dtype), dtype, rtol, scale)
                        bumped(case, t, before)
                    else:  # the others' tensors are left as they were
                        check(case + " (not dst)", t, x, dtype)


def test_broadcast_reduce() -> None:
    test_broadcast()
    test_reduce()


# ---------------------------------------------------------------------------------------------
# all_gather, all_gather_into_tensor, gather, scatter

def test_all_gather() -> None:
    for dtype in [*FLOATS, INT, COMPLEX, BOOL]:
        for shape in shapes_for(dtype):
            for async_op in (False, True):
                case = f"all_gather {dtype} {shape} async={async_op}"
                x = make(case, dtype, shape)
                inputs = everyone(x)
                t = as_tensor(x.copy())
                outputs = [torch.zeros(shape, dtype=t.dtype) for _ in range(SIZE)]
                versions = [o._version for o in outputs]
                work = dist.all_gather(outputs, t, async_op=async_op)
                if async_op:
                    work.wait()
                for i, (out, v) in enumerate(zip(outputs, versions)):
                    check(f"{case} [{i}]", out, inputs[i], dtype)
                    bumped(f"{case} [{i}]", out, v)
                check(case + " (input)", t, x, dtype)


def test_all_gather_into_tensor() -> None:
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            case = f"all_gather_into_tensor {dtype} {shape}"
            x = make(case, dtype, shape)
            inputs = everyone(x)
            layouts = [("stacked", np.stack(inputs))]
            if shape:
                layouts.append(("concatenated", np.concatenate(inputs)))
            for name, expected in layouts:
                for async_op in (False, True):
                    what = f"{case} {name} async={async_op}"
                    t = as_tensor(x.copy())
                    out = torch.zeros(expected.shape, dtype=t.dtype)
                    before = out._version
                    work = dist.all_gather_into_tensor(out, t, async_op=async_op)
                    if async_op:
                        work.wait()
                    check(what, out, expected, dtype)
                    bumped(what, out, before)
                    check(what + " (input)", t, x, dtype)
    # in place: the input is this rank's chunk of the output (as FSDP gathers)
    for dtype in FLOATS:
        case = f"all_gather_into_tensor in place {dtype}"
        x = make(case, dtype, (6,))
        expected = np.concatenate(everyone(x))
        out = torch.zeros((SIZE * 6,), dtype=getattr(torch, dtype.name))
        chunk = out[RANK * 6:(RANK + 1) * 6]
        chunk.copy_(as_tensor(x))
        dist.all_gather_into_tensor(out, chunk)
        check(case, out, expected, dtype)
        check(case + " (chunk)", chunk, x, dtype)


def test_gather() -> None:
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            for dst in sorted({0, LAST}):
                case = f"gather {dtype} {shape} dst={dst}"
                x = make(case, dtype, shape)
                inputs = everyone(x)
                t = as_tensor(x.copy())
                if RANK == dst:
                    outputs = [torch.zeros(shape, dtype=t.dtype) for _ in range(SIZE)]
                    dist.gather(t, outputs, dst=dst)
                    for i, out in enumerate(outputs):
                        check(f"{case} [{i}]", out, inputs[i], dtype)
                else:
                    assert dist.gather(t, None, dst=dst) is None
                check(case + " (input)", t, x, dtype)
    # async
    case = "gather async"
    x = make(case, FLOATS[0], (5,))
    inputs = everyone(x)
    outputs = [torch.zeros(5) for _ in range(SIZE)] if RANK == LAST else None
    dist.gather(as_tensor(x), outputs, dst=LAST, async_op=True).wait()
    if RANK == LAST:
        for i, out in enumerate(outputs):
            check(f"{case} [{i}]", out, inputs[i], FLOATS[0])


def test_scatter() -> None:
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            for src in sorted({0, LAST}):
                for async_op in (False, True):
                    case = f"scatter {dtype} {shape} src={src} async={async_op}"
                    pieces = ([make(f"{case} [{i}]", dtype, shape) for i in range(SIZE)]
                              if RANK == src else None)
                    # (the oracle's own pickled scatter: src's pieces go only where they must)
                    expected = ORACLE.scatter(pieces, root=src)
                    t = torch.zeros(shape, dtype=getattr(torch, dtype.name))
                    before = t._version
                    scatter_list = [as_tensor(p) for p in pieces] if RANK == src else None
                    work = dist.scatter(t, scatter_list, src=src, async_op=async_op)
                    if async_op:
                        work.wait()
                    check(case, t, expected, dtype)
                    bumped(case, t, before)
                    if RANK == src:
                        for i, (p, piece) in enumerate(zip(scatter_list, pieces)):
                            check(f"{case} (scatter_list[{i}])", p, piece, dtype)


def test_gathers() -> None:
    test_all_gather()
    test_all_gather_into_tensor()
    test_gather()
    test_scatter()


# ---------------------------------------------------------------------------------------------
# send and recv in a ring; collectives on tensors a graph saved

def ring(send_tensor, recv_tensor, src) -> int:
    """Send to the next rank and receive from the previous one; even ranks send first (two
    blocking sends facing each other could wait for ever)."""
    if RANK % 2 == 0:
        dist.send(send_tensor, dst=(RANK + 1) % SIZE)
        return dist.recv(recv_tensor, src=src)
    sender = dist.recv(recv_tensor, src=src)
    dist.send(send_tensor, dst=(RANK + 1) % SIZE)
    return sender


def test_send_recv() -> None:
    previous = (RANK - 1) % SIZE
    for dtype in [*FLOATS, INT, COMPLEX]:
        for shape in shapes_for(dtype):
            case = f"send/recv {dtype} {shape}"
            x = make(case, dtype, shape)
            expected = everyone(x)[previous]
            t = as_tensor(x.copy())
            into = torch.zeros(shape, dtype=t.dtype)
            before = into._version
            sender = ring(t, into, src=previous if shape != (7,) else None)
            assert sender == previous, f"{case}: recv returned {sender}, not {previous}"
            check(case, into, expected, dtype)
            bumped(case, into, before)
            check(case + " (sent)", t, x, dtype)
    # a non-contiguous tensor sent, and one received
    case = "send/recv transposed"
    x = make(case, FLOATS[1], (3, 4))
    expected = everyone(x)[previous]
    into = torch.zeros((4, 3), dtype=torch.float64).T
    ring(as_tensor(np.ascontiguousarray(x.T)).T, into, src=previous)
    check(case, into, expected, FLOATS[1])


def backward_raises(make_graph, collective, what: str) -> None:
    """``make_graph()`` gives (tensor, loss) where the loss's graph saved the tensor; the
    loss's backward works untouched and raises once ``collective(tensor)`` changed it."""
    tensor, loss = make_graph()
    loss.backward()  # the control: nothing changed, nothing raised
    tensor, loss = make_graph()
    before = tensor._version
    collective(tensor)
    bumped(what, tensor, before)
    try:
        loss.backward()
    except RuntimeError as err:
        assert "modified by an inplace operation" in str(err), f"{what}: {err}"
    else:
        raise AssertionError(f"{what}: backward did not raise after the collective changed a "
                             "tensor that the graph saved")
    checks[0] += 1


def test_autograd() -> None:
    x = make("autograd", FLOATS[1], (4,))

    def leaf():
        t = torch.tensor(x, requires_grad=True)
        return t, (t * t).sum()

    def intermediate():
        h = torch.tensor(x, requires_grad=True) * 2
        return h, (h * h).sum()

    def into_list(t):
        outputs = [torch.zeros(4, dtype=torch.float64) for _ in range(SIZE)]
        outputs[RANK] = t
        dist.all_gather(outputs, torch.tensor(x + 1))

    collectives = [("all_reduce", dist.all_reduce),
                   ("all_reduce async", lambda t: dist.all_reduce(t, async_op=True).wait()),
                   ("all_gather output", into_list)]
    for name, collective in collectives:
        backward_raises(leaf, collective, f"{name} on a leaf")
        backward_raises(intermediate, collective, f"{name} on an intermediate")
    # broadcast changes the tensors of the ranks other than src (src's are not written)
    t, loss = intermediate()
    dist.broadcast(t, src=LAST)
    if RANK != LAST:
        try:
            loss.backward()
        except RuntimeError as err:
            assert "modified by an inplace operation" in str(err), err
            checks[0] += 1
        else:
            raise AssertionError("broadcast: backward did not raise on a receiving rank")


def test_compiled() -> None:
    """Collectives inside ``chainrule.compile``: each breaks the trace (a replay would not
    communicate, and the other ranks would wait for ever), on every rank at the same call, so
    that every call runs eagerly and gives the eager values."""
    import warnings

    def broadcast_then_add(x):
        dist.broadcast(x, src=LAST)
        return x + 1

    def reduce_unused(x):
        dist.reduce(x * 1, dst=0)  # (its result unused: it must still communicate)
        return x * 2

    def ring_doubled(x):
        into = torch.zeros(x.shape, dtype=x.dtype)
        ring(x, into, src=(RANK - 1) % SIZE)
        return into * 2

    def barrier_between(x):
        y = x * 3
        dist.barrier()
        return y

    def reduced_async(x):
        y = x * 1
        return y, dist.all_reduce(y, async_op=True)

    functions = {"broadcast": broadcast_then_add, "reduce": reduce_unused,
                 "send": ring_doubled, "barrier": barrier_between, "all_reduce": reduced_async}
    for name, fn in functions.items():
        compiled = torch.compile(fn)
        for call in range(3):
            x = make(f"compiled {name} {call}", FLOATS[1], (5,))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ours = compiled(torch.tensor(x))
            theirs = fn(torch.tensor(x))
            if name == "all_reduce":
                ours[1].wait()
                theirs[1].wait()
                ours, theirs = ours[0], theirs[0]
            check(f"compiled {name}, call {call}", ours, theirs.numpy(), FLOATS[1])
            broke = [str(w.message) for w in caught if "breaks the trace" in str(w.message)]
            if call == 0:  # (the ring's odd ranks receive first)
                first = "recv" if name == "send" and RANK % 2 else name
                assert broke and f"chainrule.distributed.{first}" in broke[0], (name, broke)
    # a DistributedDataParallel model compiled: its forward arms the gradients' reduction,
    # which a replay would not
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))
    compiled = torch.compile(model)
    for call in range(3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compiled(torch.ones(2, 3)).sum().backward()
        assert call or any("DistributedDataParallel" in str(w.message) for w in caught)
        checks[0] += 1


def test_p2p_autograd() -> None:
    test_send_recv()
    test_autograd()
    test_compiled()


GROUPS = {"all_reduce": test_all_reduce, "broadcast_reduce": test_broadcast_reduce,
          "gathers": test_gathers, "p2p_autograd": test_p2p_autograd}


def main(which: str) -> None:
    if which != "all" and which not in GROUPS:
        raise ValueError(f"unknown group {which!r}; one of {sorted(GROUPS)} or 'all'")
    start()
    for name, run in GROUPS.items():
        if which in (name, "all"):
            run()
    dist.barrier()
    print(f"rank {RANK}: {checks[0]} checks passed", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
