"""The benchmark harness's workloads compute what they claim (tiny sizes; no timing).

``python benchmarks/run.py`` times them; this only checks, for every registered workload, that
chainrule and the hand-written NumPy implementation agree on the gradient (or, for the
transform workloads, on the transform and its baseline).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    environ, path = dict(os.environ), list(sys.path)  # run.py pins threads, extends the path
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path


def test_every_workload_agrees_with_hand_written_numpy(bench):
    assert {"scalar-chain", "vector-chain", "mlp-step", "big-gradient", "hvp",
            "jvp-mlp"} <= set(bench.WORKLOADS)
    for wl in bench.WORKLOADS.values():
        assert {"numpy", "chainrule"} <= set(wl.impls), wl.name
        impls = bench.build(wl, ("numpy", "chainrule"), wl.tiny)
        bench.agree(wl, impls)


def test_compiled_chainrule_agrees_and_replays(bench):
    """The "chainrule compiled" framework (issue 18): the workload's function under
    chainrule.compile, traced once at setup; it agrees with hand-written NumPy and the calls
    after the setup replay the plan (no second trace, no eager fallback: that warns)."""
    compiled = {name for name, wl in bench.WORKLOADS.items() if "compiled" in wl.impls}
    assert compiled == {"scalar-chain", "vector-chain", "mlp-step", "big-gradient"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in sorted(compiled):
            wl = bench.WORKLOADS[name]
            impls = bench.build(wl, ("numpy", "compiled"), wl.tiny)
            bench.agree(wl, impls)
            run = impls["compiled"]
            run()
            assert run.compiled.traces == 1, name
            assert not run.compiled.eager_keys, name
            assert run.compiled.last_plan is not None, name


def test_tracing_cost_counts_one_trace_per_branch_pattern(bench):
    table = bench.tracing_cost(3, sizes=(8, 6, 6, 3), batch=4)
    assert "MLP step: first (tracing) call / one eager step" in table, table
    assert "| 6 (1.00 per pattern) |" in table, table


def test_mlp_gap_replays_chainrules_step():
    """benchmarks/mlp_gap.py checks that its engine-less replay computes chainrule's gradients
    before timing; a short run must get through that check and print its comparison."""
    script = RUN.parent / "mlp_gap.py"
    done = subprocess.run([sys.executable, str(script), "--repeats", "4"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "engine's share (chainrule - replay)" in done.stdout


def test_linalg_gradients_benchmark_checks_and_times_every_decomposition():
    """benchmarks/linalg_gradients.py checks every framework's gradient against the hand-written
    NumPy one before timing; a quick run must pass that check for svd, qr and eigh."""
    script = RUN.parent / "linalg_gradients.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[0] for line in done.stdout.splitlines()[2:]]
    assert rows == ["svd", "qr", "eigh"], done.stdout


def test_per_op_benchmark_times_old_and_new_primitives():
    script = RUN.parent / "per_op.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1].strip() for line in done.stdout.splitlines()[2:]]
    assert rows[0] == "sin" and "conj (new)" in rows, done.stdout


def test_normalization_benchmark_checks_and_times_every_layer():
    """benchmarks/normalization.py checks every framework's outputs and gradients against the
    hand-written NumPy ones before timing; a quick run must pass that check for each layer."""
    script = RUN.parent / "normalization.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[0] for line in done.stdout.splitlines()[2:]]
    assert rows == ["batchnorm2d", "layernorm", "groupnorm"], done.stdout


def test_conv_benchmark_checks_against_pytorch_and_times_every_shape():
    """benchmarks/conv.py checks chainrule's conv2d and its gradients, and a LeNet training
    step's loss and updated weights, against PyTorch's (where installed) before timing; a
    quick run must get through every shape, both modes, and the step."""
    script = RUN.parent / "conv.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[:2] for line in done.stdout.splitlines()[2:]]
    assert rows == [[name, mode] for name in ("lenet-1", "lenet-2", "resnet")
                    for mode in ("forward", "fwd")] + [["lenet-step", "train"]], done.stdout


def test_recurrent_benchmark_agrees_with_hand_written_numpy():
    """benchmarks/recurrent.py's LSTM step: chainrule's (and PyTorch's, where installed)
    gradients agree with the hand-written backward pass through time (tiny sizes)."""
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import recurrent; "
            "recurrent.check(recurrent.TINY); recurrent.check((5, 8, 6, 3))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=RUN.parents[1])
    assert done.returncode == 0, done.stderr


def test_pooling_benchmark_checks_values_against_pytorch():
    """benchmarks/pooling.py checks chainrule's values and input gradients against PyTorch's
    before timing; a quick run must pass that check for every workload."""
    pytest.importorskip("torch")
    script = RUN.parent / "pooling.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "x |" in line]
    assert len(rows) == 10, done.stdout


def test_vmap_benchmark_checks_every_row_and_runs_to_the_end():
    """benchmarks/vmap.py checks each row against hand-written NumPy before timing it, and
    prints a row that raises or disagrees as such instead of stopping; a quick run must get
    through its three workloads with the NumPy baselines and chainrule's vmap timed."""
    script = RUN.parent / "vmap.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line
            and not line.startswith("| row ")}
    for name in ("NumPy by hand: vjp", "NumPy by hand: Jacobian", "chainrule: vjp",
                 "chainrule: jacrev", "NumPy by hand, batched",
                 "chainrule: loop of 128 grad calls", "d=64: NumPy by hand, batched",
                 "d=64: chainrule, batched by hand", "d=64: chainrule vmap"):
        assert name in rows, done.stdout
        assert rows[name].endswith(("µs", "ms")), f"{name}: {rows[name]}"
    assert "chainrule: vmap(grad(loss))" in rows, done.stdout


def test_the_fusion_benchmark_checks_every_runner_against_numpy():
    """``benchmarks/fusion.py`` times each runner in its own process after checking its
    gradient against NumPy by hand: here, that check, in one process, at a fused size."""
    spec = importlib.util.spec_from_file_location("benchmarks_fusion",
                                                  RUN.with_name("fusion.py"))
    module = importlib.util.module_from_spec(spec)
    environ, path = dict(os.environ), list(sys.path)
    try:
        spec.loader.exec_module(module)
        import chainrule as cr

        count = cr.get_num_threads()
        try:
            for chain in module.CHAINS:
                for runner in module.RUNNERS:
                    assert module.time_one(chain, runner, 131_072, 2, calls=1) > 0
        finally:
            cr.set_num_threads(count)
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
