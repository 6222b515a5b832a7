"""The process group of ``chainrule.distributed`` (issue 17): importing without mpi4py, calls
before ``init_process_group``, a job of one process, the collectives' argument errors, and a
failing rank that must end the whole job promptly instead of leaving the others waiting.

MPI is never started in the pytest process (mpi4py starts it once per process, for good): the
checks that need it run in ``workers/process_group_worker.py``, plainly or under mpiexec.
"""

from __future__ import annotations

import re
import time

import pytest

import chainrule as torch
from tests.distributed.launch import needs_mpi, run_plain, run_under_mpi
from tests.fresh_interpreter import run_python

EXTRA = "pip install 'chainrule[mpi]'"
NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")
WITHOUT_MPI4PY = "import sys; sys.modules['mpi4py'] = None\n"  # (import mpi4py raises)


def passed_lines(stdout: str, nprocs: int) -> dict[str, int]:
    passed = {r: int(n) for r, n in re.findall(r"rank (\d+): (\d+) checks passed", stdout)}
    assert sorted(passed) == [str(r) for r in range(nprocs)], stdout
    assert all(n > 0 for n in passed.values()), stdout
    return passed


# ---------------------------------------------------------------------------------------------
# without mpi4py (these run whether or not it is installed)

def test_import_without_mpi4py_names_the_extra() -> None:
    done = run_python("-c", WITHOUT_MPI4PY + """
try:
    import chainrule.distributed
except ImportError as err:
    print(err)
else:
    print("imported")
""")
    assert done.returncode == 0, done.stderr
    assert "chainrule.distributed needs mpi4py" in done.stdout, done.stdout
    assert EXTRA in done.stdout, done.stdout


def test_the_rest_imports_without_mpi4py() -> None:
    """chainrule, nn, nn.parallel and utils.data import without mpi4py; DistributedDataParallel
    and a DistributedSampler that must ask the process group say what to install."""
    done = run_python("-c", WITHOUT_MPI4PY + """
import chainrule, chainrule.nn, chainrule.nn.parallel, chainrule.utils.data
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.utils.data import DistributedSampler
assert "chainrule.distributed" not in sys.modules
try:
    DistributedDataParallel(chainrule.nn.Linear(2, 2))
except ImportError as err:
    print("DDP:", err)
try:
    DistributedSampler(list(range(10)))
except RuntimeError as err:
    print("sampler:", err)
print("sampler with num_replicas and rank:", list(DistributedSampler(
    list(range(10)), num_replicas=2, rank=1, shuffle=False)))
""")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert lines[0].startswith("DDP: DistributedDataParallel needs") and EXTRA in lines[0]
    assert lines[1].startswith("sampler: DistributedSampler") and EXTRA in lines[1]
    assert lines[2] == "sampler with num_replicas and rank: [1, 3, 5, 7, 9]"


# ---------------------------------------------------------------------------------------------
# before init_process_group (in this process: nothing here starts MPI)

def _calls(dist):
    t = torch.ones(3)
    return {
        "get_rank": lambda: dist.get_rank(),
        "get_world_size": lambda: dist.get_world_size(),
        "get_backend": lambda: dist.get_backend(),
        "barrier": lambda: dist.barrier(),
        "destroy_process_group": lambda: dist.destroy_process_group(),
        "all_reduce": lambda: dist.all_reduce(t),
        "broadcast": lambda: dist.broadcast(t, src=0),
        "all_gather": lambda: dist.all_gather([t], t),
        "all_gather_into_tensor": lambda: dist.all_gather_into_tensor(t, t),
        "reduce": lambda: dist.reduce(t, dst=0),
        "gather": lambda: dist.gather(t, [t], dst=0),
        "scatter": lambda: dist.scatter(t, [t], src=0),
        "send": lambda: dist.send(t, dst=1),
        "recv": lambda: dist.recv(t, src=1),
        "all_reduce async": lambda: dist.all_reduce(t, async_op=True),
    }


CALLS = list(_calls(None))


@pytest.mark.parametrize("name", CALLS)
def test_before_init_process_group(name: str) -> None:
    pytest.importorskip("mpi4py")
    import chainrule.distributed as dist

    assert not dist.is_initialized()
    t = torch.ones(3)
    call = _calls(dist)[name]
    with pytest.raises(RuntimeError) as info:
        call()
    message = str(info.value)
    assert NOT_INITIALIZED in message
    assert message.startswith(name.split()[0] + ":")  # it names the function
    assert "init_process_group()" in message and "mpiexec" in message  # and what to do
    assert t._version == 0
    assert not dist.is_initialized()


def test_importing_does_not_start_mpi() -> None:
    """MPI starts in init_process_group, not on import (importing costs nothing)."""
    pytest.importorskip("mpi4py")
    done = run_python("-c", "import sys, chainrule.distributed as d\n"
                      "print('mpi4py.MPI' in sys.modules, d.is_available(), d.is_initialized())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "False"]


# ---------------------------------------------------------------------------------------------
# a job of one process, and the argument errors

@needs_mpi
def test_plain_run_is_a_world_of_one() -> None:
    done = run_plain("process_group_worker.py", "plain", timeout=60)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    passed_lines(done.stdout, 1)


@needs_mpi
@pytest.mark.parametrize("nprocs", [1, 2, 4])
def test_argument_errors(nprocs: int) -> None:
    done = (run_plain("process_group_worker.py", "errors", timeout=60) if nprocs == 1
            else run_under_mpi("process_group_worker.py", nprocs, "errors", timeout=60))
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    passed_lines(done.stdout, nprocs)


# ---------------------------------------------------------------------------------------------
# a rank that fails ends the whole job

@needs_mpi
@pytest.mark.parametrize("nprocs", [2, 4])
@pytest.mark.parametrize("others_wait_in", ["all_reduce", "barrier"])
def test_a_failing_rank_aborts_the_job(others_wait_in: str, nprocs: int) -> None:
    start = time.monotonic()
    done = run_under_mpi("process_group_worker.py", nprocs, f"fail_{others_wait_in}",
                         timeout=30)  # (fails the test if the job is still there)
    elapsed = time.monotonic() - start
    assert done.returncode != 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback (most recent call last)" in done.stderr, done.stderr
    assert "ValueError: rank 1 fails on purpose" in done.stderr, done.stderr
    assert ("chainrule.distributed: rank 1 raised an uncaught exception; aborting the whole job "
            "(MPI_Abort)") in done.stderr, done.stderr
    assert "finished" not in done.stdout, done.stdout  # the others never got past the wait
    assert elapsed < 30

