"""``DistributedDataParallel``: the same model on every rank, each on its share of the batch,
with gradients averaged over the ranks during the backward pass.

Data parallelism in one sentence: if rank ``r`` computes the gradient ``g_r`` of the loss on
its ``1/N`` of the batch, the mean ``(g_0 + ... + g_{N-1}) / N`` is the gradient of the loss
on the whole batch (a mean of means of equal-sized parts), so every rank takes the same
optimiser step and the replicas stay identical.

How the averaging overlaps the backward pass (PyTorch's reducer, in small):

* The parameters are cut into **buckets** of about ``bucket_cap_mb`` megabytes (the first of
  1 MB), in the reverse order of ``module.parameters()``, which is roughly the order in which
  the backward pass finishes their gradients.  One message per bucket, not per parameter,
  keeps MPI's per-message latency off small tensors.
* Each parameter has a post-accumulate-grad hook.  When the last gradient of a bucket is in,
  the bucket is packed into one flat buffer and its all-reduce *starts* (non-blocking), while
  the backward pass goes on to the earlier layers.
* Buckets start strictly in bucket order, so every rank issues the same sequence of
  collectives (MPI matches collectives by their order).
* When the last bucket has started, the hook waits for all of them, divides by the world
  size, and sets each ``.grad`` to its slice of the reduced buffer, before ``backward()``
  returns.

``no_sync()`` skips the averaging for the backward passes of forwards run inside it
(gradient accumulation: the sum of local gradients is averaged at the next synced backward).
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule import pytree, tracing
from chainrule.engine import is_grad_enabled
from chainrule.grad_mode import no_grad
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor, wrap

FIRST_BUCKET_BYTES = 1024 * 1024
"""The first bucket is small so that the first all-reduce starts early (PyTorch's value)."""

UNUSED_PARAMETERS_HINT = (
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `chainrule.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss.")


def _load_dist():
    try:
        import chainrule.distributed as dist
    except ImportError as err:
        raise ImportError("DistributedDataParallel needs chainrule.distributed, which needs "
                          "mpi4py: pip install 'chainrule[mpi]'") from err
    return dist


class _Bucket:
    """Parameters whose gradients travel in one message: where each one sits in the flat
    buffer, how many have not reported yet, and the reduction in flight."""

    __slots__ = ("indices", "offsets", "numel", "dtype", "waiting", "flat", "request")

    def __init__(self, indices: list[int], params: list[Tensor]) -> None:
        self.indices = indices
        self.dtype = params[indices[0]].dtype
        self.offsets = []
        numel = 0
        for i in indices:
            self.offsets.append(numel)
            numel += params[i].numel()
        self.numel = numel
        self.waiting = len(indices)
        self.flat = None
        self.request = None


class _Reducer:
    """Averages the parameters' gradients over the ranks, bucket by bucket, as they become
    ready during the backward pass (see the module docstring)."""

    # the states of one iteration: no synced forward since the last reduction, a synced
    # forward waiting for its backward, the gradients averaged
    IDLE, ARMED, DONE = "idle", "armed", "done"

    def __init__(self, dist_state, params: list[Tensor], names: list[str],
                 bucket_cap_bytes: int, find_unused: bool) -> None:
        self.world = dist_state
        self.find_unused = find_unused
        self.params = params
        self.names = names
        self.buckets = self._make_buckets(bucket_cap_bytes)
        self.bucket_of = [0] * len(params)
        for b, bucket in enumerate(self.buckets):
            for i in bucket.indices:
                self.bucket_of[i] = b
        self.state = self.IDLE
        self.ready = np.zeros(len(params), bool)
        self.used = np.zeros(len(params), np.uint8)
        self.next_bucket = 0
        for i, p in enumerate(params):
            p.register_post_accumulate_grad_hook(self._hook_for(i))

    def _make_buckets(self, cap_bytes: int) -> list[_Bucket]:
        """Consecutive parameters (last registered first) of one dtype, up to the cap."""
        buckets, current, current_bytes, current_dtype = [], [], 0, None
        cap = min(FIRST_BUCKET_BYTES, cap_bytes)
        for i in reversed(range(len(self.params))):
            p = self.params[i]
            nbytes = p.numel() * p.element_size()
            if current and (p.dtype != current_dtype or current_bytes + nbytes > cap):
                buckets.append(_Bucket(current, self.params))
                current, current_bytes, cap = [], 0, cap_bytes
            current.append(i)
            current_bytes += nbytes
            current_dtype = p.dtype
        if current:
            buckets.append(_Bucket(current, self.params))
        return buckets

    def _hook_for(self, index: int):
        # the hook holds the reducer weakly: a DistributedDataParallel that is dropped (the
        # module wrapped again, say) stops reducing instead of living on in its parameters
        reducer = weakref.ref(self)

        def grad_ready(param: Tensor) -> None:
            alive = reducer()
            if alive is not None:
                alive.mark_ready(index)
        return grad_ready

    # ------------------------------------------------------------------------------------
    # one iteration

    def in_progress(self) -> bool:
        """A synced backward has started reporting gradients and not finished."""
        return self.state == self.ARMED and bool(self.ready.any())

    def unfinished_message(self) -> str:
        missing = [self.names[i] for i in np.flatnonzero(~self.ready)]
        return ("Expected to have finished reduction in the prior iteration before starting a "
                f"new one. {UNUSED_PARAMETERS_HINT} Parameters which did not receive grad for "
                f"rank {self.world.rank}: {', '.join(missing)}")

    def prepare(self, unused: list[int]) -> None:
        """A synced forward has run: expect one gradient per parameter, except ``unused``
        (the parameters its graph does not reach, with ``find_unused_parameters``)."""
        self.state = self.ARMED
        self.ready[:] = False
        self.used[:] = 1
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.waiting = len(bucket.indices)
            bucket.request = None
        for i in unused:
            self.used[i] = 0
            self.mark_ready(i)

    def disarm(self) -> None:
        self.state = self.IDLE

    def mark_ready(self, index: int) -> None:
        if self.state == self.IDLE:  # no_sync, or a forward without grad
            return
        if self.state == self.DONE or self.ready[index]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by a second "
                "backward pass through the same DistributedDataParallel forward (retain_graph), "
                f"or by a parameter used outside the module (parameter {self.names[index]}). "
                "Run the forward again before each backward, or accumulate under no_sync().")
        self.ready[index] = True
        bucket = self.buckets[self.bucket_of[index]]
        bucket.waiting -= 1
        while self.next_bucket < len(self.buckets) \
                and self.buckets[self.next_bucket].waiting == 0:
            self._start(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self._finish()
        elif self.next_bucket > 0:
            # MPI advances a non-blocking collective only inside MPI calls: give the buckets
            # in flight a turn at each gradient, so they travel while the backward goes on
            self.world.MPI.Request.Testall([b.request for b in self.buckets[:self.next_bucket]])

    def _start(self, bucket: _Bucket) -> None:
        """Pack the bucket's gradients, divided by the world size, into one buffer and start
        summing it over the ranks: the mean of the ranks' gradients."""
        world = self.world
        if not self._reusable(bucket):
            bucket.flat = np.empty(bucket.numel, bucket.dtype)
        flat = bucket.flat
        for i, offset in zip(bucket.indices, bucket.offsets):
            p = self.params[i]
            slot = flat[offset:offset + p.numel()]
            if p._grad is None:  # unused here (find_unused_parameters): no contribution
                slot[...] = 0
            else:
                np.divide(np.asarray(p._grad._data).reshape(-1), world.size, out=slot)
        bucket.request = world.comm.Iallreduce(world.MPI.IN_PLACE, flat, op=world.MPI.SUM)

    def _reusable(self, bucket: _Bucket) -> bool:
        """Whether the buffer of the bucket's last reduction may be written again.

        After a reduction each parameter's ``.grad`` is a view of the buffer.  Writing the
        next step's gradients into it saves an allocation (and the page faults of fresh
        memory, a few ms a step for tens of MB), and is safe when nothing else refers to it:
        only the ``.grad`` of the bucket's own parameters, each about to be packed into its own
        slot (a ``.grad`` kept by the user, or an optimiser's state, gets a fresh buffer).
        """
        if bucket.flat is None:
            return False
        expected = 2  # bucket.flat itself, and getrefcount's argument
        for i in bucket.indices:
            grad = self.params[i]._grad
            if grad is not None and getattr(grad._data, "base", None) is bucket.flat:
                if not self.used[i]:
                    return False  # unused here, not packed: it must keep its value
                expected += 1
        return sys.getrefcount(bucket.flat) == expected

    def _finish(self) -> None:
        """Wait for every bucket and hand each parameter its averaged gradient."""
        world = self.world
        world.MPI.Request.Waitall([b.request for b in self.buckets])
        if self.find_unused:
            # which parameters some rank used (every rank takes part, whatever it used itself)
            world.comm.Allreduce(world.MPI.IN_PLACE, self.used, op=world.MPI.MAX)
        with no_grad():
            for bucket in self.buckets:
                for i, offset in zip(bucket.indices, bucket.offsets):
                    if not self.used[i]:  # no rank used it: its gradient stays as it was
                        continue
                    p = self.params[i]
                    p.grad = wrap(bucket.flat[offset:offset + p.numel()].reshape(p.shape))
                bucket.request = None
        self.state = self.DONE


def _reachable_leaves(outputs: Any) -> set[int]:
    """The ids of the leaves that the graph of ``outputs`` reaches (walked without recursion)."""
    seen_nodes, leaves, stack = set(), set(), []
    for t in pytree.tree_leaves(outputs):
        if isinstance(t, Tensor):
            if t._node is not None:
                stack.append(t._node)
            elif t._rg:
                leaves.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for parent in node.parents:
            if parent is None:
                continue
            if isinstance(parent, Tensor):
                leaves.add(id(parent))
            else:
                stack.append(parent)
    return leaves


class DistributedDataParallel(Module):
    """Data-parallel training over the ranks of ``chainrule.distributed``'s process group.

    Wrap the model after :func:`chainrule.distributed.init_process_group`; rank 0's
    parameters and buffers are copied to every rank at construction.  Each rank then runs
    forward and backward on its own share of the data; after ``backward()`` every rank holds
    the gradient averaged over the ranks, so an optimiser step keeps the replicas identical.
    ``state_dict`` keys start with ``module.``, as in PyTorch.

    ``device_ids``, ``output_device`` and ``dim`` are accepted for PyTorch's signature (there
    is one device, the CPU).  With ``find_unused_parameters=True`` each forward walks its
    graph to find the parameters it did not use, which then count as ready (a zero
    contribution from this rank).  ``broadcast_buffers=True`` copies rank 0's buffers (batch
    norm's running statistics) to every rank at each forward.

    >>> import chainrule as cr, chainrule.distributed as dist
    >>> from chainrule import nn
    >>> dist.init_process_group("mpi")                             # doctest: +SKIP
    >>> model = nn.parallel.DistributedDataParallel(nn.Linear(4, 1))  # doctest: +SKIP
    >>> model(cr.ones(8, 4)).sum().backward()  # gradients averaged over the ranks # doctest: +SKIP
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        caller = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{caller}: module must be a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        dist = _load_dist()
        world = dist.process_group.check_group(caller, process_group)
        if bucket_cap_mb is None:
            bucket_cap_mb = 25.0
        if not bucket_cap_mb > 0:
            raise ValueError(f"{caller}: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module = module
        object.__setattr__(self, "broadcast_buffers", bool(broadcast_buffers))
        object.__setattr__(self, "find_unused_parameters", bool(find_unused_parameters))
        object.__setattr__(self, "require_backward_grad_sync", True)
        object.__setattr__(self, "_world", world)
        self._broadcast_from_rank0(list(module.parameters()) + list(module.buffers()))
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        reducer = _Reducer(world, [p for _, p in named], [name for name, _ in named],
                           int(bucket_cap_mb * 1024 * 1024), bool(find_unused_parameters))
        object.__setattr__(self, "_reducer", reducer)

    def _broadcast_from_rank0(self, tensors: list[Tensor]) -> None:
        """Rank 0's values into ``tensors`` on every rank: one message per dtype."""
        world = self._world
        if world.size == 1:
            return
        by_dtype: dict[np.dtype, list[Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for dtype, group in by_dtype.items():
            flat = np.concatenate([np.asarray(t._data, dtype).reshape(-1) for t in group])
            world.comm.Bcast(flat, root=0)
            if world.rank == 0:
                continue
            offset = 0
            with no_grad():
                for t in group:
                    n = t.numel()
                    t._ensure_array()
                    t._data[...] = flat[offset:offset + n].reshape(t.shape)
                    t._bump_version()
                    offset += n

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """The module's forward; a synced one (grad on, outside ``no_sync``) arms the
        reduction of the gradients its backward pass will produce."""
        # (inside chainrule.compile: a replay would not arm it)
        tracing.escaped("DistributedDataParallel's forward (it arms the reduction of the "
                        "gradients, which a replay would not)")
        reducer = self._reducer
        if reducer.in_progress():
            raise RuntimeError(reducer.unfinished_message())
        if self.broadcast_buffers:
            self._broadcast_from_rank0(list(self.module.buffers()))
        output = self.module(*inputs, **kwargs)
        if self.require_backward_grad_sync and is_grad_enabled():
            unused = []
            if self.find_unused_parameters:
                reached = _reachable_leaves(output)
                unused = [i for i, p in enumerate(reducer.params) if id(p) not in reached]
            reducer.prepare(unused)
        else:
            reducer.disarm()
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this block keep their gradients local
        (summed into ``.grad``); the first synced backward after it averages the sums.

        >>> # for x in micro_batches[:-1]:
        >>> #     with ddp.no_sync():
        >>> #         loss_fn(ddp(x)).backward()
        >>> # loss_fn(ddp(micro_batches[-1])).backward()   # averages the accumulated sums
        """
        previous = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", previous)
