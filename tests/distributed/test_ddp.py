"""DistributedDataParallel on 1, 2 and 4 ranks (``workers/ddp_worker.py`` holds the checks;
each case compares with single-process training on the whole batch or with values gathered by
mpi4py itself)."""

from __future__ import annotations

import pytest

from tests.distributed.launch import needs_mpi, run_plain, run_under_mpi

CASES = ["train", "no_sync", "unused", "errors", "buffers", "overlap", "buffer_reuse"]

pytestmark = needs_mpi


@pytest.mark.parametrize("nprocs", [2, 4])
def test_ddp_cases(nprocs):
    result = run_under_mpi("ddp_worker.py", nprocs, *CASES, timeout=180)
    assert result.returncode == 0, result.stderr
    for rank in range(nprocs):
        for case in CASES:
            assert f"rank {rank}: {case} ok" in result.stdout, result.stdout + result.stderr


def test_ddp_on_one_process_is_plain_training():
    """Started without mpiexec, the job has one rank and DDP is ordinary training."""
    result = run_plain("ddp_worker.py", *CASES)
    assert result.returncode == 0, result.stderr
    assert all(f"rank 0: {case} ok" in result.stdout for case in CASES), result.stdout
