"""Every collective of ``chainrule.distributed`` under ``mpiexec -n 2`` and ``-n 4``, against
NumPy (issue 17).

The checks run in ``workers/collectives_worker.py``: float32 and float64 (with int64, complex128,
bool and float16 where the operation is defined), 0-d to 10**6 elements, sync and async,
non-contiguous tensors and views, version counters and the version error of a backward pass
that saved a tensor a collective changed; the expected results come from the ranks' raw inputs
gathered by mpi4py's pickling and combined by NumPy.  One test per group of collectives and
number of processes, so that a failure names them.
"""

from __future__ import annotations

import re

import pytest

from tests.distributed.launch import needs_mpi, run_under_mpi

GROUPS = ["all_reduce", "broadcast_reduce", "gathers", "p2p_autograd"]


@needs_mpi
@pytest.mark.parametrize("nprocs", [2, 4])
@pytest.mark.parametrize("group", GROUPS)
def test_collectives_against_numpy(group: str, nprocs: int) -> None:
    done = run_under_mpi("collectives_worker.py", nprocs, group, timeout=120)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    # (the ranks' lines reach mpiexec's stdout in any order, sometimes run together)
    passed = dict(re.findall(r"rank (\d+): (\d+) checks passed", done.stdout))
    assert sorted(passed) == [str(r) for r in range(nprocs)], done.stdout
    assert all(int(n) > 0 for n in passed.values()), done.stdout
