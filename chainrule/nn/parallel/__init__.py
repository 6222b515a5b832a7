"""``chainrule.nn.parallel``: :class:`DistributedDataParallel`, data-parallel training over
MPI ranks (``chainrule/nn/parallel/distributed.py``).  Importing this package needs nothing
beyond NumPy; constructing the wrapper needs the ``mpi`` extra."""

from chainrule.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
