"""The table ``docs/numpy.md``: every public callable of NumPy and what ``chainrule.numpy`` does
with it, with the derivatives of the differentiable ones measured.

``python -m tests.numpy.coverage`` writes the file, and the line of ``README.md`` that quotes
its counts; ``--check`` only says whether both are current (exit status 1 if not);
``--failures`` prints why a differentiable function fails a column.  The classes come from
:func:`chainrule.numpy.coverage` (declared in ``chainrule/numpy_catalogue.py``); the columns
are measured on the inputs of
``tests/numpy/catalogue.py`` with :func:`chainrule.testing.check_grads` in float64, every case
of the entry along random directions against central differences:

* ``rev``: reverse mode, first order (``modes=("rev",)``);
* ``fwd``: forward mode, first order (``modes=("fwd",)``);
* ``2nd``: second order, both modes and their four compositions (``order=2``).

``tests/numpy/test_coverage.py`` checks that the committed file is what this writes today, on
the NumPy version the file was written with (the set of names differs between versions).
"""

from __future__ import annotations

import functools
import sys
import zlib
from pathlib import Path

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy_catalogue import REFUSED
from chainrule.testing import check_grads
from tests.numpy.catalogue import available, function

DOC = Path(__file__).resolve().parents[2] / "docs" / "numpy.md"
README = DOC.parents[1] / "README.md"
COLUMNS = ("rev", "fwd", "2nd")
CHECKS = {"rev": {"order": 1, "modes": ("rev",)}, "fwd": {"order": 1, "modes": ("fwd",)},
          "2nd": {"order": 2, "modes": ("fwd", "rev")}}


def inputs(name: str, index: int, case) -> list[np.ndarray]:
    """The sample inputs of an entry's case, seeded by its name and position."""
    rng = np.random.default_rng([zlib.crc32(name.encode()), index])
    return [domain.sample(rng, shape) for domain, shape in zip(case.domains, case.shapes)]


def program(f, case):
    """``case.call`` with ``f`` as a function of the inputs alone (lists made tuples, as
    check_grads takes them)."""
    def run(*xs):
        out = case.call(f, *xs)
        return tuple(out) if isinstance(out, list) else out
    return run


@functools.cache
def measure(name: str) -> dict[str, str | None]:
    """For each column, None if every case of ``name``'s entry passes, else the first error."""
    ours = function(cnp, name)
    results = {}
    for column in COLUMNS:
        results[column] = None
        for index, case in enumerate(available()[name]):
            try:
                with np.errstate(all="ignore"):
                    check_grads(program(ours, case), inputs(name, index, case), **CHECKS[column])
            except Exception as err:  # (a failed check, or a mode that raises)
                results[column] = f"case {index}: {type(err).__name__}: {err}"
                break
    return results


def note(name: str) -> str:
    """Why a differentiable function fails a column, in the table: chainrule's own message
    where it refuses a derivative (NotImplementedError), else which case fails."""
    failures = {c: e for c, e in measure(name).items() if e is not None}
    if not failures:
        return ""
    column, error = next(iter(failures.items()))
    case, _, message = error.partition(": ")
    kind, _, text = message.partition(": ")
    if kind == "NotImplementedError":
        return f"{column}: {text}".replace("|", "\\|")
    return f"{column}: {case} of its entry fails check_grads"


def rows() -> list[list[str]]:
    """[name, class, rev, fwd, 2nd, note] for every callable of the installed NumPy."""
    table = []
    for name, kind in cnp.coverage().items():
        if kind == "differentiable" and name in available():
            measured = measure(name)
            cells = ["yes" if measured[c] is None else "no" for c in COLUMNS] + [note(name)]
        elif kind == "differentiable":
            cells = ["?", "?", "?", "no entry in tests/numpy/catalogue.py"]
        else:
            cells = ["", "", "", REFUSED.get(name, "")]
        table.append([f"`{name}`", kind] + cells)
    return table


def counts(table: list[list[str]]) -> dict[str, int]:
    """How many rows of each class, and how many pass each column."""
    kinds = {kind: sum(1 for row in table if row[1] == kind)
             for kind in ("differentiable", "passes through", "refused", "missing")}
    return {**kinds, "all": len(table),
            **{c: sum(1 for row in table if row[2 + COLUMNS.index(c)] == "yes") for c in COLUMNS}}


def readme_line(number: dict[str, int]) -> str:
    """The line of README.md that quotes the table's counts."""
    return (f"  Of NumPy's {number['all']} public callables, {number['differentiable']} are "
            f"differentiable, {number['passes through']} pass through, {number['refused']} are "
            f"refused and {number['missing']} missing ([docs/numpy.md](docs/numpy.md)).")


def render() -> str:
    """The text of docs/numpy.md for the installed NumPy and chainrule."""
    table = rows()
    number = counts(table)
    lines = [
        "# NumPy in chainrule.numpy",
        "",
        "<!-- written by `python -m tests.numpy.coverage`: edit chainrule/numpy_catalogue.py "
        "or tests/numpy/catalogue.py, not this file -->",
        "",
        f"NumPy {np.__version__}: {number['all']} public callables (its main namespace, "
        "`numpy.linalg` and `numpy.fft`).",
        "",
        f"- **differentiable**: {number['differentiable']} (reverse mode {number['rev']}, "
        f"forward mode {number['fwd']}, second order {number['2nd']})",
        f"- **passes through**: {number['passes through']}",
        f"- **refused**: {number['refused']}",
        f"- **missing**: {number['missing']}",
        "",
        "`import chainrule.numpy as cnp`. A **differentiable** function records when a Tensor "
        "is among its arguments (as `np.sin(t)` does, through NumPy's protocols) and is NumPy's "
        "own on arrays. Its columns are measured by `chainrule.testing.check_grads` in float64 "
        "against central differences, on the inputs of `tests/numpy/catalogue.py`: `rev` "
        "reverse mode, `fwd` forward mode, `2nd` second order in both modes. A function that "
        "**passes through** returns NumPy's plain result (booleans, indices, shapes, dtypes, "
        "arrays made from sizes, input and output), which carries no gradient; NumPy's "
        "classes (dtypes, `errstate`) are NumPy's own. A **refused** one raises an error that "
        "says what to do instead (the note). A **missing** one is not written yet: "
        "`cnp.<name>` raises AttributeError, and NumPy's function called on a Tensor raises "
        "TypeError rather than losing the gradient.",
        "",
        "| function | class | rev | fwd | 2nd | note |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines) + "\n"


def documented_version(text: str) -> str | None:
    """The NumPy version a docs/numpy.md text was written with."""
    for line in text.splitlines():
        if line.startswith("NumPy ") and ":" in line:
            return line[len("NumPy "):line.index(":")]
    return None


def readme(text: str, number: dict[str, int]) -> str:
    """README.md's text with its line on docs/numpy.md quoting ``number``."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if "](docs/numpy.md)" in line)
    return "\n".join(lines[:at] + [readme_line(number)] + lines[at + 1:])


def main(argv: list[str]) -> int:
    if "--failures" in argv:
        for name, kind in cnp.coverage().items():
            if kind == "differentiable" and name in available():
                for column, error in measure(name).items():
                    if error is not None:
                        print(f"{name} {column}: {error[:300]}")
        return 0
    text, number = render(), counts(rows())
    readme_text = README.read_text()
    if "--check" in argv:
        current = DOC.exists() and DOC.read_text() == text
        current = current and readme(readme_text, number) == readme_text
        print(f"{DOC} and README.md are {'current' if current else 'out of date'}")
        return 0 if current else 1
    DOC.write_text(text)
    README.write_text(readme(readme_text, number))
    print(f"wrote {DOC} and the line of README.md that quotes its counts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
