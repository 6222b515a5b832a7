"""Run a script in a fresh Python interpreter that imports this checkout's chainrule.

The chapter tests use it so that no state leaks between a tab's cells and the rest of the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_python(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python *args`` in the repository root, with this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_json(script: str, *args: str, timeout: float = 60):
    """Run ``script`` with ``args``; it must succeed silently but for one line of JSON."""
    done = run_python("-c", script, *args, timeout=timeout)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"the chapter's cells printed something: {done.stdout!r}"
    return json.loads(lines[0])
