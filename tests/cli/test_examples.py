"""Every script in examples/ runs to completion (each checks its own result); the
data-parallel one also under ``mpiexec -n 2``."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.distributed.launch import needs_mpi, run_plain, run_under_mpi

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Examples that need optional packages: (module or modules, what installs them). Without one
# of them they skip.
NEEDS = {"plot_sin_derivative.py": ("matplotlib", "pip install 'chainrule[viz]'"),
         "scipy_rosenbrock.py": ("scipy", "pip install scipy"),
         "softmax_regression.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "mlp_dropout.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "lenet.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "compiled_training.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "distributed_digits.py": (("sklearn", "mpi4py"),
                                   "pip install 'chainrule[examples,mpi]'")}


def _missing(script_name):
    """The modules that ``script_name`` needs and this Python lacks."""
    modules, _ = NEEDS.get(script_name, ((), ""))
    modules = (modules,) if isinstance(modules, str) else modules
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _example(script):
    missing = _missing(script.name)
    install = NEEDS.get(script.name, (None, ""))[1]
    return pytest.param(script, id=script.name, marks=pytest.mark.skipif(
        bool(missing), reason=f"{', '.join(missing)} not installed ({install})"))


@pytest.mark.parametrize("script", [_example(script) for script in EXAMPLES])
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr


EPOCH = re.compile(r"epoch (\d+): loss ([\d.]+), test accuracy ([\d.]+)")


def _epochs(stdout):
    """(loss, accuracy) of each epoch line, checking that the lines are epochs 1 to 10."""
    matches = [EPOCH.fullmatch(line) for line in stdout.splitlines()[:-1]]
    assert all(matches) and [int(m[1]) for m in matches] == list(range(1, 11)), stdout
    return [(float(m[2]), float(m[3])) for m in matches]


@needs_mpi
@pytest.mark.skipif(bool(_missing("distributed_digits.py")),
                    reason=f"{', '.join(_missing('distributed_digits.py'))} not installed")
def test_distributed_digits_on_two_ranks():
    """Two ranks train together: rank 0 alone prints a line per epoch (the loss averaged over
    the ranks, falling; the held-out accuracy) and the final line, and the script's own checks
    (accuracy, identical parameters on both ranks) pass.  With 32 examples a rank the two
    ranks take the steps that one process takes with 64: the same losses and accuracies."""
    script = ROOT / "examples" / "distributed_digits.py"
    done = run_under_mpi(script, 2, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    two = _epochs(done.stdout)
    assert two[-1][0] < two[0][0] / 5, two
    assert two[-1][1] > 0.95, done.stdout
    final = re.fullmatch(r"2 ranks, (\d+) training examples each per epoch: test accuracy "
                         r"([\d.]+), parameters identical on every rank \(checksum .*\)",
                         done.stdout.splitlines()[-1])
    assert final, done.stdout
    assert int(final[1]) == 719  # half of the 1,438 training examples (80% of 1,797)

    alone = run_plain(script, timeout=120)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert alone.stdout.splitlines()[-1].startswith("1 rank, 1438 training examples"), \
        alone.stdout
    one = _epochs(alone.stdout)
    # float32 sums in another order: equal to rounding (an accuracy step is 1/360)
    np.testing.assert_allclose(two, one, atol=3e-3)
