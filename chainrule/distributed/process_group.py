"""The process group: which MPI processes train together, and the job-wide abort on failure.

chainrule has one process group, the default one, made of every process that ``mpiexec``
started (``MPI.COMM_WORLD``); :func:`init_process_group` duplicates that communicator, so that
chainrule's messages never meet the user's own mpi4py calls.  Rank and world size come from MPI:
a script started by ``mpiexec -n N`` needs no address, port or environment variable, and a
script started plainly is a job of one process (MPI's singleton start).

MPI itself is loaded on the first :func:`init_process_group` (importing ``mpi4py.MPI`` starts
it), not when ``chainrule.distributed`` is imported, so that importing costs nothing.

A failed rank must not leave the others waiting forever in a collective: from
:func:`init_process_group` on, an uncaught exception prints its traceback and then calls
``MPI_Abort`` on the whole job (what ``python -m mpi4py script.py`` does), so ``mpiexec`` exits
non-zero at once.  ``sys.exit(code)`` is not an uncaught exception to Python (no excepthook
sees it): a rank that calls it while the others wait in a collective leaves them waiting.
Raise an exception instead, or start the script with ``mpiexec -n N python -m mpi4py
script.py``, whose wrapper aborts the job on a non-zero exit as well.
"""

from __future__ import annotations

import sys
import time
import traceback
from datetime import timedelta
from typing import Any

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


class _World:
    """The state of the default process group while it is initialized."""

    __slots__ = ("comm", "rank", "size", "MPI", "previous_excepthook")

    def __init__(self, MPI, comm, previous_excepthook) -> None:
        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.previous_excepthook = previous_excepthook


_world: _World | None = None


class _Group:
    """``dist.group.WORLD``: the default group, the only one chainrule has."""

    WORLD = "WORLD"


group = _Group()
GroupMember = _Group


def world(caller: str) -> _World:
    """The initialized default group, or PyTorch's error naming ``caller``."""
    if _world is None:
        raise RuntimeError(f"{caller}: {NOT_INITIALIZED} Call "
                           "chainrule.distributed.init_process_group() first, in a script "
                           "started with `mpiexec -n N python script.py`.")
    return _world


def check_group(caller: str, grp: Any) -> _World:
    """The default group's state; ``grp`` must be None or ``group.WORLD``."""
    if grp is not None and grp is not group.WORLD:
        raise ValueError(f"{caller}: chainrule.distributed has only the default process group; "
                         f"pass group=None (got {grp!r})")
    return world(caller)


def load_mpi(caller: str):
    """mpi4py's ``MPI`` module (starting MPI), or an error saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as err:  # mpi4py is there (the package imported) but no MPI library
        raise RuntimeError(f"{caller}: mpi4py could not load an MPI library ({err}); install "
                           "one with `pip install mpich` (or `pip install 'chainrule[mpi]'`), "
                           "or load your cluster's MPI module") from err
    return MPI


def is_available() -> bool:
    """Whether chainrule's distributed package can be used: True once it is imported (it
    needs mpi4py, and importing it without mpi4py raises ImportError).

    >>> import chainrule.distributed as dist
    >>> dist.is_available()
    True
    """
    return True


def is_mpi_available() -> bool:
    """Whether the MPI backend is available (always, once this package imported)."""
    return True


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has been called (and not undone by
    :func:`destroy_process_group`).

    >>> import chainrule.distributed as dist
    >>> dist.is_initialized()
    False
    """
    return _world is not None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Join the default process group: every process ``mpiexec`` started, or this one alone.

    ``backend`` must be ``"mpi"`` (or None). Rank and world size are MPI's; passing
    ``world_size`` or ``rank`` only checks them.  ``init_method``, ``store`` and
    ``group_name`` are PyTorch's ways to find the other processes, which MPI does not need;
    ``timeout`` is accepted and not enforced (MPI has none: a rank that fails aborts the job).

    >>> import chainrule.distributed as dist
    >>> dist.init_process_group("mpi")          # doctest: +SKIP
    >>> dist.get_rank(), dist.get_world_size()  # doctest: +SKIP
    (0, 1)
    """
    global _world
    caller = "init_process_group"
    if _world is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"{caller}: chainrule.distributed runs on MPI only; use backend='mpi' "
                         f"(got backend={backend!r})")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError(f"{caller}: MPI finds the other processes itself; start the script "
                         "with `mpiexec -n N python script.py` and leave init_method and store "
                         "unset")
    MPI = load_mpi(caller)
    comm = MPI.COMM_WORLD.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            comm.Free()
            raise ValueError(f"{caller}: {name}={given} but MPI started this process with "
                             f"{name}={actual}; leave {name} unset (mpiexec -n N sets it)")
    _world = _World(MPI, comm, sys.excepthook)
    if _world.size > 1:
        sys.excepthook = _abort_on_uncaught_exception


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (MPI itself stays up until the process exits, so
    :func:`init_process_group` may be called again)."""
    global _world
    state = check_group("destroy_process_group", group)
    if sys.excepthook is _abort_on_uncaught_exception:
        sys.excepthook = state.previous_excepthook
    state.comm.Free()
    _world = None


def get_rank(group: Any = None) -> int:
    """This process's rank in the group, ``0 .. get_world_size() - 1``."""
    return check_group("get_rank", group).rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the group."""
    return check_group("get_world_size", group).size


def get_backend(group: Any = None) -> str:
    """The group's backend: ``"mpi"``."""
    check_group("get_backend", group)
    return "mpi"


def _abort_on_uncaught_exception(exc_type, exc, tb) -> None:
    """Print the traceback as Python would, then end every rank of the job (MPI_Abort)."""
    state = _world
    rank = state.rank if state is not None else "?"
    sys.stderr.write(f"chainrule.distributed: rank {rank} raised an uncaught exception; "
                     "aborting the whole job (MPI_Abort)\n")
    traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
    sys.stderr.flush()
    if state is not None:
        # (mpiexec forwards a rank's output through its own processes, which the abort ends:
        # on a loaded machine the traceback's last line was once lost; give them a moment)
        time.sleep(0.2)
        state.MPI.COMM_WORLD.Abort(1)
