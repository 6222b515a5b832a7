"""benchmarks/distributed.py runs end to end: a ``--quick`` run (tiny sizes, no timing claims)
starts its workers under ``mpiexec -n 2`` and plainly, passes the checks made before timing
(the all-reduce sums, 2-rank DDP's parameters against one process's) and prints both tables.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.distributed.launch import needs_mpi, run_plain

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "distributed.py"


@needs_mpi
def test_quick_run_checks_and_prints_both_rows():
    done = run_plain(SCRIPT, "--quick", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "mpi4py" in out.splitlines()[0], out  # the machine's facts: MPI's version
    # allreduce: one row per size, both calls timed, their ratio
    for n in ("1,000", "100"):
        assert re.search(rf"^\| {n} \(.*\| [\d.]+ µs ± .*\| [\d.]+ µs ± .*\| [\d.]+x \|", out,
                         re.M), out
    # ddp-throughput: the baseline and the 2-rank row, and the check against one process
    assert re.search(r"^\| 1 process, batch 16 \| [\d,]+ \|", out, re.M), out
    assert re.search(r"^\| DDP, 2 ranks x 8 \| [\d,]+ \|.*\| \*\*[\d.]+x\*\* \|", out, re.M), out
    checked = re.search(r"checked first: .*largest relative difference ([\d.e+-]+)", out)
    assert checked and float(checked[1]) <= 1e-6, out
