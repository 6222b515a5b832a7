"""Run one vendored section of *Dive into Deep Learning* in a fresh interpreter.

``run_section(section, framework="chainrule", substitutions=(), probes={}, env={})`` starts
``python tests/book/harness.py`` on ``tests/data/book/<section>.py`` and returns a ``Run``:
what each cell printed, what it displayed (the ``repr`` of its last statement when that is an
expression whose value is not None, as Jupyter shows it), the first error with its cell and
traceback, and the values of ``probes`` (expressions evaluated after the last cell, in the
section's namespace, each turned into JSON by ``tolist()`` or ``float()`` where it has them).

Before the first cell the script seeds Python's, NumPy's and the framework's generators (0),
puts ``tests/book/`` on ``sys.path`` (for ``d2l_stubs``), builds the module ``book_d2l`` from
``tests/data/book/d2l_torch.py`` (the book's library) and gives the namespace ``tab``, a
stand-in for d2lbook's object whose ``tab.selected('pytorch', ...)`` is true when
``'pytorch'`` is among its arguments (the book's cells branch on it at run time).

``framework="torch"`` runs the same files under PyTorch: the import lines that extract.py
rewrote are turned back (``BACK_TO_TORCH``); torchvision stays stubbed. ``substitutions`` are
``(old, new)`` pairs of source text replaced in the section before it runs (smaller data,
fewer epochs); each ``old`` must occur in the section, or the run fails, so that a
substitution that no longer applies is noticed. ``skip_cells`` are cell numbers not run (the
cells of "Using a GPU" that need a second GPU, which PyTorch cannot run without one either):
they show nothing.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "book"
REPO = HERE.parents[1]

BACK_TO_TORCH = {
    "import chainrule as torch": "import torch",
    "from chainrule import nn": "from torch import nn",
    "from chainrule.nn import functional as F": "from torch.nn import functional as F",
    "from chainrule.utils import data": "from torch.utils import data",
}


@dataclass
class Run:
    """What a section did: per cell ``stdout`` and ``displays``, the error, the probes."""

    section: str
    framework: str
    stdout: list = field(default_factory=list)
    displays: list = field(default_factory=list)
    error: str | None = None
    failed_cell: int | None = None
    probes: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def printed(self) -> str:
        return "".join(self.stdout)


def run_section(section: str, framework: str = "chainrule", substitutions=(), probes=None,
                env=None, skip_cells=(), timeout: float = 300) -> Run:
    """Run ``tests/data/book/<section>.py`` in a fresh interpreter (see the module docstring)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        request = Path(tmp) / "request.json"
        result = Path(tmp) / "result.json"
        request.write_text(json.dumps({"section": section, "framework": framework,
                                       "substitutions": list(substitutions),
                                       "skip_cells": list(skip_cells),
                                       "probes": dict(probes or {})}))
        environment = dict(os.environ)
        environment.update(env or {})
        environment["BOOK_FRAMEWORK"] = framework
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO), environment.get("PYTHONPATH")]))
        done = subprocess.run([sys.executable, str(HERE / "harness.py"), str(request),
                               str(result)], cwd=tmp, env=environment, capture_output=True,
                              text=True, timeout=timeout)
        if not result.exists():
            raise RuntimeError(f"the harness itself failed on {section}:\n{done.stderr}")
        return Run(**json.loads(result.read_text()))


def _translate(source: str, framework: str) -> str:
    if framework == "chainrule":
        return source
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + BACK_TO_TORCH[stripped] if stripped in BACK_TO_TORCH else line)
    return "\n".join(lines) + "\n"


def _cells(source: str):
    cells, current = [], []
    for line in source.splitlines():
        if line.startswith("# %% cell "):
            if current:
                cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    cells.append("\n".join(current))
    return [cell for cell in cells[1:]]  # cells[0] is the file's header comment


class _Tab:
    """d2lbook's ``tab`` as the PyTorch notebook sees it."""

    def selected(self, *tabs):
        return "pytorch" in tabs


def _run_cell(code: str, namespace: dict, name: str):
    tree = ast.parse(code, filename=name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, name, "exec"), namespace)
    if last is not None:
        value = eval(compile(last, name, "eval"), namespace)
        return None if value is None else repr(value)
    return None


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def _main(request_path: str, result_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    section, framework = request["section"], request["framework"]
    out = {"section": section, "framework": framework, "stdout": [], "displays": [],
           "error": None, "failed_cell": None, "probes": {}}
    sys.path.insert(0, str(HERE))
    import random

    import numpy as np

    framework_module = __import__(framework)
    random.seed(0)
    np.random.seed(0)
    framework_module.manual_seed(0)

    library = types.ModuleType("book_d2l")
    library.__file__ = str(DATA / "d2l_torch.py")
    sys.modules["book_d2l"] = library
    library_source = _translate((DATA / "d2l_torch.py").read_text(), framework)
    exec(compile(library_source, library.__file__, "exec"), library.__dict__)

    source = _translate((DATA / (section + ".py")).read_text(), framework)
    for old, new in request["substitutions"]:
        if old not in source:
            out["error"] = f"substitution does not apply: {old!r} is not in {section}"
            Path(result_path).write_text(json.dumps(out))
            return
        source = source.replace(old, new)

    namespace = {"__name__": "__main__", "tab": _Tab()}
    for number, code in enumerate(_cells(source), 1):
        if number in request["skip_cells"]:
            out["stdout"].append("")
            out["displays"].append(None)
            continue
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                shown = _run_cell(code, namespace, f"<{section} cell {number}>")
        except BaseException:  # noqa: BLE001 (reported to the test, which decides)
            out["stdout"].append(buffer.getvalue())
            out["error"] = traceback.format_exc()
            out["failed_cell"] = number
            break
        out["stdout"].append(buffer.getvalue())
        out["displays"].append(shown)
    if out["error"] is None:
        for name, expression in request["probes"].items():
            try:
                out["probes"][name] = _jsonable(eval(expression, namespace))
            except Exception:  # noqa: BLE001
                out["error"] = f"probe {name} = {expression}:\n{traceback.format_exc()}"
                break
    Path(result_path).write_text(json.dumps(out))


if __name__ == "__main__":
    _main(*sys.argv[1:3])
