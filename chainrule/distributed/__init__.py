"""``chainrule.distributed``: ``torch.distributed``'s names over MPI, for data-parallel training.

Start a script with ``mpiexec -n N python train.py``; in it::

    import chainrule.distributed as dist
    dist.init_process_group("mpi")      # rank and world size come from mpiexec
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

The process group (:mod:`~chainrule.distributed.process_group`): ``init_process_group``,
``is_initialized``, ``get_rank``, ``get_world_size``, ``destroy_process_group``.
The collectives (:mod:`~chainrule.distributed.collectives`): ``barrier``, ``all_reduce``,
``broadcast``, ``all_gather``, ``all_gather_into_tensor``, ``reduce``, ``gather``, ``scatter``,
``send``, ``recv``, with ``ReduceOp`` (``SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``, ...).
``chainrule.nn.parallel.DistributedDataParallel`` and
``chainrule.utils.data.distributed.DistributedSampler`` build on them.

chainrule does not talk over the network itself: it is a thin client of mpi4py, passing
tensors' NumPy buffers to MPI without pickling.  It needs the ``mpi`` extra
(``pip install 'chainrule[mpi]'``: mpi4py, and the MPICH wheel for a machine without MPI);
without mpi4py, importing this package raises ImportError saying so.
"""

try:
    import mpi4py  # noqa: F401  (MPI itself starts in init_process_group)
except ImportError as err:
    raise ImportError("chainrule.distributed needs mpi4py, which is not installed: "
                      "pip install 'chainrule[mpi]' (mpi4py and the MPICH library)") from err

from chainrule.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    gather,
    recv,
    reduce,
    scatter,
    send,
)
from chainrule.distributed.process_group import (
    GroupMember,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)

__all__ = [
    "GroupMember", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce",
    "barrier", "broadcast", "destroy_process_group", "gather", "get_backend", "get_rank",
    "get_world_size", "group", "init_process_group", "is_available", "is_initialized",
    "is_mpi_available", "recv", "reduce", "scatter", "send",
]
