"""pytest configuration for the whole repository: the tests in tests/ and the doctests in
chainrule/ (collected with ``--doctest-modules``, see pyproject.toml)."""

import importlib.util

import pytest

# Doctests that need an optional package, by the module they are in: (package, what installs
# it). Without the package they are skipped with that reason, as the tests of the same feature
# are, instead of failing; with it they run.
DOCTESTS_NEEDING = {
    "chainrule.viz.plot": ("matplotlib", "pip install 'chainrule[viz]'"),
    "chainrule.nn.parallel": ("mpi4py", "pip install 'chainrule[mpi]'"),
}


# Modules that cannot be imported without an optional package (their doctests with them):
# chainrule.scipy and the rules it adds raise ImportError without SciPy, by design.
collect_ignore = []
if importlib.util.find_spec("scipy") is None:
    collect_ignore += ["chainrule/scipy", "chainrule/rules/special.py"]
# chainrule.distributed raises ImportError without mpi4py, by design
if importlib.util.find_spec("mpi4py") is None:
    collect_ignore += ["chainrule/distributed"]
# The book's vendored code is run by tests/book/test_chapters.py, in fresh interpreters; its
# files are scripts (they import the harness's d2l), not modules to collect.
collect_ignore += ["tests/data/book"]
# The MPI workers are scripts that mpiexec starts (they start MPI when imported), not modules
collect_ignore += ["tests/distributed/workers"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        dtest = getattr(item, "dtest", None)  # only doctest items have one
        if dtest is None:
            continue
        for module, (package, install) in DOCTESTS_NEEDING.items():
            in_module = dtest.name == module or dtest.name.startswith(module + ".")
            if in_module and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(
                    reason=f"{package} is not installed ({install})"))
