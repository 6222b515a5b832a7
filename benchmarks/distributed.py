"""Data-parallel training over MPI: issue 17's two speed targets.

``python benchmarks/distributed.py`` starts the workers below (this same file with
``--worker``) under ``mpiexec -n 2``, or plainly for the single-process baseline, each rank with
OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 (a rank per core), collects what rank 0
prints (one ``RESULT {json}`` line) and prints the tables:

  allreduce       ``dist.all_reduce`` of a float32 tensor of 1e6 elements (4 MB) over 2 ranks,
                  against raw mpi4py ``comm.Allreduce(MPI.IN_PLACE, buf)`` on the same NumPy
                  buffer (the tensor's own array), A and B alternating (the order swapped every
                  sample), a barrier before each sample; medians of per-call times and their
                  ratio.  Target: at most 1.10x.  Also 1e3 elements (4 kB), where chainrule's
                  per-call cost (checks, the buffer look-up, the version bump) shows: its
                  difference to mpi4py is printed in µs (no target).
  ddp-throughput  one training step (forward, cross-entropy, backward, SGD) of an MLP (ReLU,
                  float32): one process on the whole global batch, against
                  ``DistributedDataParallel`` on 2 ranks with half of it each; examples per
                  second (batch / median step) and the speed-up, for two MLPs:
                  compute-bound   784-1024-1024-10 on a global batch of 1024 (a step of about
                                  110 ms in one process): most of the time is matrix products
                                  whose work halves with the batch.  Target: at least 1.6x on
                                  this 2-core machine.
                  memory-bound    784-2048-2048-10 on a global batch of 256 (about 90 ms):
                                  3.1x the parameters for a quarter of the examples, so the
                                  parts of a step that do not shrink with the batch (the
                                  weight gradients' 23 MB, the SGD update over every
                                  parameter, the all-reduce) are a large share, and the two
                                  ranks compete for the one memory bus.  No target: it shows
                                  where data parallelism on one machine stops paying.
                  Also each part of the step, the backward pass of a rank without its
                  reduction (the same step under ``no_sync()``: the difference is what the
                  reduction adds to the step), the same number of bytes all-reduced alone in
                  one blocking call, the bytes all-reduced per step, and the speed-up a DDP
                  step would give without what the reduction adds.  The single-process and
                  2-rank runs alternate (``--rounds`` of each, the order swapped every round);
                  the medians are over all rounds' steps.

Results are checked before anything is timed: ``all_reduce`` and ``Allreduce`` must both give
the sum of the ranks' values, and 2-rank DDP, after 3 SGD steps in float64, must hold the
parameters that one process computes on the whole batch (``assert_allclose``, relative 1e-6),
so that the speed row is of a correct computation.  A check that fails stops the run; the
timings never do.

``--quick`` is a smoke run (tiny sizes, 1-2 samples, no timing claims; the test runs it);
``--only`` picks rows.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

import chainrule as cr  # noqa: E402  (run.py put the repository on the path)
from chainrule import nn  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROWS = ("allreduce", "ddp-throughput")
RANKS = 2
LEARNING_RATE = 0.01
RESULT = "RESULT "  # the prefix of the line a worker's rank 0 prints

# the sizes of a real run and of --quick
FULL = {"allreduce": (1_000_000, 1_000), "samples": 301, "steps": 25, "warmup": 3,
        "rounds": 3, "check_steps": 3}
QUICK = {"allreduce": (1_000, 100), "samples": 2, "steps": 2, "warmup": 1, "rounds": 1,
         "check_steps": 2}
# the MLPs of the ddp-throughput row: (layer sizes, global batch, target speed-up); --quick
# runs each with a tiny MLP
DDP_CONFIGS = {"compute-bound": ((784, 1024, 1024, 10), 1024, ">= 1.6x"),
               "memory-bound": ((784, 2048, 2048, 10), 256, "(no target)")}
QUICK_MLP = ((64, 32, 10), 16)


# --------------------------------------------------------------------------------------------
# workers: run by mpiexec (or plainly), rank 0 prints one RESULT line


def report(result: dict) -> None:
    """Rank 0's numbers to the orchestrator: one line of JSON."""
    print(RESULT + json.dumps(result), flush=True)


def calls_per_sample(n: int) -> int:
    """Back-to-back calls in one sample: one for a large buffer, more for a small one (a single
    call of a few microseconds is below the clock's and the barrier's noise)."""
    return max(1, min(100, 100_000 // n))


def worker_allreduce(sizes: dict) -> None:
    """``dist.all_reduce`` against ``MPI.COMM_WORLD.Allreduce`` on the tensor's own buffer."""
    from mpi4py import MPI

    import chainrule.distributed as dist

    dist.init_process_group("mpi")
    comm, rank, world = MPI.COMM_WORLD, dist.get_rank(), dist.get_world_size()
    out = {"row": "allreduce", "world": world, "sizes": []}
    for n in sizes["allreduce"]:
        tensor = cr.full((n,), float(rank + 1), dtype=cr.float32)
        buf = tensor.numpy()  # the tensor's own array: both calls reduce the same memory
        assert np.shares_memory(buf, tensor.numpy())
        want = world * (world + 1) / 2  # the sum of 1 .. world
        dist.all_reduce(tensor)
        assert np.all(buf == want), "dist.all_reduce gave a wrong sum"
        buf[...] = rank + 1
        comm.Allreduce(MPI.IN_PLACE, buf)
        assert np.all(buf == want), "mpi4py Allreduce gave a wrong sum"
        buf[...] = 0  # zeros stay zeros: every timed call reduces the same values

        calls = calls_per_sample(n)
        times = {"dist": [], "raw": []}
        pair = {"dist": lambda: dist.all_reduce(tensor),
                "raw": lambda: comm.Allreduce(MPI.IN_PLACE, buf)}
        for f in pair.values():  # warm-up
            f()
        for i in range(sizes["samples"]):
            for key in ("dist", "raw") if i % 2 == 0 else ("raw", "dist"):
                f = pair[key]
                comm.Barrier()
                start = time.perf_counter()
                for _ in range(calls):
                    f()
                times[key].append((time.perf_counter() - start) / calls)
        assert not buf.any()
        out["sizes"].append({"n": n, "bytes": int(buf.nbytes), "calls": calls, **times})
    if rank == 0:
        report(out)


def mlp(sizes: tuple[int, ...], dtype) -> nn.Module:
    """Linear layers with ReLU between them, seeded: the same weights in every process."""
    cr.manual_seed(17)
    layers: list[nn.Module] = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(m, n, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def batch_data(sizes: tuple[int, ...], batch: int, dtype):
    """The global batch (the same in every process): inputs and integer labels."""
    rng = np.random.default_rng(17)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch)
    return cr.tensor(x), cr.tensor(y)


def train_step(model, optimizer, x, y) -> tuple[float, float, float]:
    """One SGD step; returns the seconds spent in forward (with the loss), backward, update."""
    t0 = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    optimizer.step()
    optimizer.zero_grad()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def check_ddp_matches_one_process(sizes: dict, rank: int, world: int) -> float:
    """After a few SGD steps in float64, DDP's parameters (each rank on its share of the batch)
    equal those of one process on the whole batch; returns the largest relative difference."""
    from chainrule.nn.parallel import DistributedDataParallel

    reference, model = mlp(sizes["mlp"], cr.float64), mlp(sizes["mlp"], cr.float64)
    ddp = DistributedDataParallel(model)
    opt_ref = cr.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    opt_ddp = cr.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    x, y = batch_data(sizes["mlp"], sizes["batch"], np.float64)
    part = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
    for _ in range(sizes["check_steps"]):
        train_step(reference, opt_ref, x, y)
        train_step(ddp, opt_ddp, x[part], y[part])
    worst = 0.0
    start = mlp(sizes["mlp"], cr.float64)
    for (name, want), got, before in zip(reference.named_parameters(), model.parameters(),
                                         start.parameters()):
        want, got = want.detach().numpy(), got.detach().numpy()
        assert not np.allclose(want, before.detach().numpy()), f"{name} did not move"
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12,
                                   err_msg=f"rank {rank}: DDP's {name} differs")
        scale = np.maximum(np.abs(want), 1e-12)
        worst = max(worst, float(np.max(np.abs(got - want) / scale)))
    return worst


def worker_single(sizes: dict) -> None:
    """The baseline: one process, no chainrule.distributed, the whole batch."""
    model = mlp(sizes["mlp"], cr.float32)
    optimizer = cr.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, y = batch_data(sizes["mlp"], sizes["batch"], np.float32)
    for _ in range(sizes["warmup"]):
        train_step(model, optimizer, x, y)
    parts = [train_step(model, optimizer, x, y) for _ in range(sizes["steps"])]
    report({"row": "single", "world": 1, "batch": len(x), "forward": [p[0] for p in parts],
            "backward": [p[1] for p in parts], "update": [p[2] for p in parts]})


def worker_ddp(sizes: dict) -> None:
    """DistributedDataParallel on this job's ranks, each on its share of the same batch."""
    from mpi4py import MPI

    import chainrule.distributed as dist
    from chainrule.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    comm, rank, world = MPI.COMM_WORLD, dist.get_rank(), dist.get_world_size()
    worst = check_ddp_matches_one_process(sizes, rank, world)

    model = mlp(sizes["mlp"], cr.float32)
    ddp = DistributedDataParallel(model)
    optimizer = cr.optim.SGD(ddp.parameters(), lr=LEARNING_RATE)
    x, y = batch_data(sizes["mlp"], sizes["batch"], np.float32)
    part = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
    x, y = x[part].contiguous(), y[part].contiguous()
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    flat = np.zeros(nbytes // 4, np.float32)  # the gradients' bytes, for the reduction alone
    buckets = len(getattr(getattr(ddp, "_reducer", None), "buckets", ()))
    for _ in range(sizes["warmup"]):
        train_step(ddp, optimizer, x, y)
    parts, local_backward, reduce_alone = [], [], []
    for _ in range(sizes["steps"]):
        comm.Barrier()
        parts.append(train_step(ddp, optimizer, x, y))
        # the same backward pass without the reduction: what the all-reduce adds to it
        with ddp.no_sync():
            loss = nn.functional.cross_entropy(ddp(x), y)
        comm.Barrier()
        start = time.perf_counter()
        loss.backward()
        local_backward.append(time.perf_counter() - start)
        optimizer.zero_grad()
        # the gradients' bytes all-reduced alone, one blocking call
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, flat)
        reduce_alone.append(time.perf_counter() - start)
    if rank == 0:
        report({"row": "ddp", "world": world, "batch": len(x) * world,
                "forward": [p[0] for p in parts], "backward": [p[1] for p in parts],
                "update": [p[2] for p in parts], "local_backward": local_backward,
                "reduce_alone": reduce_alone, "bytes": nbytes, "buckets": buckets,
                "check_steps": sizes["check_steps"], "check_worst": worst})


WORKERS = {"allreduce": worker_allreduce, "single": worker_single, "ddp": worker_ddp}


# --------------------------------------------------------------------------------------------
# the orchestrator: start the workers, print the tables


def find_mpiexec() -> str | None:
    """The ``mpiexec`` beside this Python (the MPICH wheel installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def launch(worker: str, ranks: int | None, quick: bool, timeout: float,
           config: str | None = None) -> dict:
    """Run a worker (under ``mpiexec -n ranks``, or plainly when ``ranks`` is None) and return
    the JSON its rank 0 printed; a worker that fails or hangs stops the run."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker]
    command += ["--quick"] if quick else []
    command += ["--config", config] if config else []
    if ranks is not None:
        command = [find_mpiexec(), "-n", str(ranks)] + command
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise SystemExit(f"{' '.join(command)} did not finish in {timeout} s\n{stderr}") from None
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT)]
    if proc.returncode != 0 or len(lines) != 1:
        raise SystemExit(f"{' '.join(command)} failed (exit code {proc.returncode})\n"
                         f"{stdout}\n{stderr}")
    return json.loads(lines[0][len(RESULT):])


def header() -> str:
    import mpi4py
    from mpi4py import MPI

    mpi = " ".join(MPI.Get_library_version().splitlines()[0].split())  # "MPICH Version: 5.0.2"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {platform.machine()}, {bench._cpu()}, {os.cpu_count()} cores, "
            f"{platform.system()}; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"mpi4py {mpi4py.__version__}, {mpi}; {RANKS} ranks, 1 BLAS thread per rank; "
            f"load average {load:.2f} at the start")


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _time(samples: list[float]) -> str:
    median, iqr = bench._summary(samples)
    return f"{bench._fmt(median)} ± {bench._fmt(iqr)}"


def _bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} B"


def allreduce_table(result: dict) -> str:
    lines = [f"allreduce: float32 tensors summed over {result['world']} ranks; medians ± IQR "
             "of per-call times, A and B alternating, a barrier before each sample", "",
             "| elements | dist.all_reduce | mpi4py Allreduce(IN_PLACE) | ratio | difference "
             "per call | target |", "|---|---|---|---|---|---|"]
    for size in result["sizes"]:
        a, b = _median(size["dist"]), _median(size["raw"])
        target = "<= 1.10x" if size["n"] >= 1_000_000 else "(per-call cost)"
        calls = f", {size['calls']} calls a sample" if size["calls"] > 1 else ""
        lines.append(f"| {size['n']:,} ({_bytes(size['bytes'])}{calls}) | {_time(size['dist'])} "
                     f"| {_time(size['raw'])} | {a / b:.3f}x | {(a - b) * 1e6:+.1f} µs | "
                     f"{target} |")
    return "\n".join(lines)


def ddp_table(single: dict, ddp: dict, sizes: dict, config: str, target: str) -> str:
    steps = {name: [f + b + u for f, b, u in zip(r["forward"], r["backward"], r["update"])]
             for name, r in (("single", single), ("ddp", ddp))}
    one, two = _median(steps["single"]), _median(steps["ddp"])
    world, batch = ddp["world"], ddp["batch"]
    arch = "-".join(map(str, sizes["mlp"]))
    lines = [f"ddp-throughput, {config}: MLP {arch} (ReLU, float32), SGD, cross-entropy, "
             f"global batch {batch}; medians ± IQR of {len(steps['single'])} steps each", "",
             "| run | examples / s | step | forward + loss | backward | SGD update | speed-up "
             "| target |", "|---|---|---|---|---|---|---|---|"]
    for key, label, speedup, wanted in (
            ("single", f"1 process, batch {single['batch']}", "(baseline)", ""),
            ("ddp", f"DDP, {world} ranks x {batch // world}", f"**{one / two:.2f}x**",
             target)):
        r = single if key == "single" else ddp
        lines.append(f"| {label} | {r['batch'] / _median(steps[key]):,.0f} | "
                     f"{_time(steps[key])} | {_time(r['forward'])} | {_time(r['backward'])} | "
                     f"{_time(r['update'])} | {speedup} | {wanted} |")
    exposed = _median(ddp["backward"]) - _median(ddp["local_backward"])
    buckets = f"{ddp['buckets']} bucket{'s' * (ddp['buckets'] != 1)}"
    lines += ["", f"per step, DDP: {_bytes(ddp['bytes'])} of gradients all-reduced "
              f"({buckets}); a rank's backward without the reduction "
              f"(no_sync): {_time(ddp['local_backward'])}, with it: {_time(ddp['backward'])} "
              f"(the reduction adds {bench._fmt(exposed) if exposed > 0 else '0'}); "
              f"the same bytes all-reduced alone, one blocking call: "
              f"{_time(ddp['reduce_alone'])}; a DDP step less what the reduction adds: "
              f"{bench._fmt(two - max(exposed, 0))} ({one / (two - max(exposed, 0)):.2f}x the "
              "single process)",
              f"checked first: after {ddp['check_steps']} SGD steps (float64, momentum 0.9) "
              f"DDP's parameters on every rank equal one process's on the whole batch "
              f"(largest relative difference {ddp['check_worst']:.1e}; rtol 1e-6)"]
    return "\n".join(lines)


def merge(results: list[dict]) -> dict:
    """Several runs of one worker as one: their samples concatenated."""
    merged = dict(results[0])
    for key, value in merged.items():
        if isinstance(value, list) and value and isinstance(value[0], float):
            merged[key] = [x for r in results for x in r[key]]
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: tiny sizes, 1-2 samples, no timing claims")
    parser.add_argument("--only", nargs="+", choices=ROWS, help="rows to run")
    parser.add_argument("--rounds", type=int, help="single-process / DDP runs of each "
                        f"(default {FULL['rounds']})")
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--config", choices=tuple(DDP_CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.config:
        sizes["mlp"], sizes["batch"], _ = DDP_CONFIGS[args.config]
        if args.quick:
            sizes["mlp"], sizes["batch"] = QUICK_MLP
    if args.rounds is not None:
        sizes["rounds"] = args.rounds
    if args.worker:
        WORKERS[args.worker](sizes)
        return 0

    try:
        import mpi4py.MPI  # noqa: F401
    except ImportError as err:
        print(f"needs mpi4py and an MPI library: pip install 'chainrule[mpi]' ({err})")
        return 1
    if find_mpiexec() is None:
        print("needs mpiexec (pip install mpich)")
        return 1
    timeout = 300
    print(header())
    if args.quick:
        print("--quick: tiny sizes, 1-2 samples; the figures below are no measurement")
    if not args.only or "allreduce" in args.only:
        print()
        print(allreduce_table(launch("allreduce", RANKS, args.quick, timeout)))
    if not args.only or "ddp-throughput" in args.only:
        for config, (mlp_sizes, _, target) in DDP_CONFIGS.items():
            runs: dict[str, list[dict]] = {"single": [], "ddp": []}
            for i in range(sizes["rounds"]):  # alternate the runs, the order swapped each round
                for worker in ("single", "ddp") if i % 2 == 0 else ("ddp", "single"):
                    runs[worker].append(launch(worker, RANKS if worker == "ddp" else None,
                                               args.quick, timeout, config))
            shown = dict(sizes, mlp=QUICK_MLP[0] if args.quick else mlp_sizes)
            print()
            print(ddp_table(merge(runs["single"]), merge(runs["ddp"]), shown, config, target))
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end (this run's own ranks count "
              "toward it; well above 2 means other processes shared the cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
