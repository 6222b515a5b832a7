"""Starting a worker script under ``mpiexec -n N`` from a test, with a timeout that kills the
whole job (mpiexec and every rank), and the skip when the ``mpi`` extra is not installed.

The workers in ``tests/distributed/workers/`` check their own results and exit non-zero on a
failure; a test asserts on the exit code and on what the ranks printed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"


def find_mpiexec() -> str | None:
    """The ``mpiexec`` beside this Python (the MPICH wheel installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
_missing = ("mpi4py is not installed (pip install 'chainrule[mpi]')"
            if importlib.util.find_spec("mpi4py") is None
            else "mpiexec was not found (pip install mpich)" if MPIEXEC is None else None)
needs_mpi = pytest.mark.skipif(_missing is not None, reason=_missing or "")


def worker_env() -> dict[str, str]:
    """The environment of a rank: this checkout's chainrule, one BLAS thread per rank (the
    ranks share the machine's cores)."""
    return dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1",
                OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run_script(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group; on timeout kill the group and fail."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=worker_env(), start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"{' '.join(command)} did not finish within {timeout} s\n"
                    f"stdout:\n{stdout}\nstderr:\n{stderr}")
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def run_under_mpi(script: str | Path, nprocs: int, *args: str,
                  timeout: float = 120) -> subprocess.CompletedProcess:
    """``mpiexec -n nprocs python script args...`` (``script`` relative to the workers)."""
    path = Path(script) if Path(script).is_absolute() else WORKERS / script
    return run_script([MPIEXEC, "-n", str(nprocs), sys.executable, str(path), *args], timeout)


def run_plain(script: str | Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python script args...`` without mpiexec: a job of one process."""
    path = Path(script) if Path(script).is_absolute() else WORKERS / script
    return run_script([sys.executable, str(path), *args], timeout)
