"""Every script in examples/ runs to completion (each checks its own result)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Examples that need an optional package: (module, what installs it). Without it they skip.
NEEDS = {"plot_sin_derivative.py": ("matplotlib", "pip install 'chainrule[viz]'"),
         "scipy_rosenbrock.py": ("scipy", "pip install scipy"),
         "softmax_regression.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "mlp_dropout.py": ("sklearn", "pip install 'chainrule[examples]'"),
         "lenet.py": ("sklearn", "pip install 'chainrule[examples]'")}


def _example(script):
    module, install = NEEDS.get(script.name, (None, ""))
    missing = module is not None and importlib.util.find_spec(module) is None
    return pytest.param(script, id=script.name, marks=pytest.mark.skipif(
        missing, reason=f"{module} is not installed ({install})"))


@pytest.mark.parametrize("script", [_example(script) for script in EXAMPLES])
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
