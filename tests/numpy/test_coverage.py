"""The classification of NumPy's callables (``chainrule/numpy_catalogue.py``), the catalogue of
differentiable functions (``tests/numpy/catalogue.py``) and the table ``docs/numpy.md`` agree
with each other and with what chainrule.numpy does."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy_catalogue import (
    PASS_THROUGH,
    REFUSED,
    Namespace,
    numpy_callables,
    numpy_object,
)
from tests.numpy import coverage
from tests.numpy.catalogue import CATALOGUE, available

CLASSES = cnp.coverage()

# NumPy's names that only one of the versions CI runs has (1.26 and 2.x), and extended
# precision types that only some platforms have: declared, but absent from one installation
OTHER_VERSIONS = {
    # NumPy 1.26 only
    "DataSource", "RankWarning", "add_docstring", "add_newdoc", "add_newdoc_ufunc", "alltrue",
    "asfarray", "byte_bounds", "cfloat", "chararray", "clongfloat", "compare_chararrays",
    "complex_", "cumproduct", "deprecate", "deprecate_with_doc", "disp",
    "fastCopyAndTranspose", "find_common_type", "float_", "format_parser", "get_array_wrap",
    "geterrobj", "in1d", "issctype", "issubclass_", "issubsctype", "longcomplex", "longfloat",
    "lookfor", "mat", "maximum_sctype", "msort", "obj2sctype", "product", "recfromcsv",
    "recfromtxt", "round_", "safe_eval", "sctype2char", "set_numeric_ops",
    "set_string_function", "seterrobj", "singlecomplex", "sometrue", "source", "string_",
    "trapz", "unicode_", "who",
    # NumPy 2 only
    "bitwise_count", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift", "bool",
    "isdtype", "long", "ulong", "unique_all", "unique_counts", "unique_inverse",
    "unique_values",
    # extended precision, by platform
    "float96", "float128", "complex192", "complex256",
}


def test_every_callable_of_numpy_is_classified_once():
    assert list(CLASSES) == numpy_callables()
    assert set(CLASSES.values()) <= {"differentiable", "passes through", "refused", "missing"}
    assert not set(PASS_THROUGH) & set(REFUSED)
    assert len(set(PASS_THROUGH)) == len(PASS_THROUGH)


@pytest.mark.parametrize("name", sorted(set(PASS_THROUGH) | set(REFUSED)))
def test_declared_names_are_numpys(name):
    """A declared name is a callable of this NumPy, or of the other version CI runs (a typo
    would silently classify nothing)."""
    assert name in OTHER_VERSIONS or callable(numpy_object(name)), name


@pytest.mark.parametrize("name", [n for n in PASS_THROUGH if n in CLASSES])
def test_declared_pass_through_names_pass_through(name):
    """Nothing defines a differentiable function under a name still declared pass-through."""
    assert CLASSES[name] == "passes through"


@pytest.mark.parametrize("name", [n for n in REFUSED if n in CLASSES])
def test_refused_names_raise_their_reason(name):
    with pytest.raises(AttributeError, match=re.escape(REFUSED[name])):
        getattr(cnp, name)
    assert CLASSES[name] == "refused"


def test_refused_names_raise_their_reason_through_numpy_too():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.put has no differentiation rule .* x\.at"):
        np.put(x, [0], [3.0])
    with pytest.raises(TypeError, match=r"numpy\.copyto .* cnp\.where\(mask, src, dst\)"):
        np.copyto(x, np.zeros(2))


# NumPy functions of one array argument, some of them not in chainrule.numpy yet
ONE_ARRAY = ["linalg.tensorinv", "fix", "cbrt", "median", "nansum", "ptp", "fft.hfft",
             "linalg.pinv", "positive", "copy"]


def _a_missing_function() -> str:
    missing = [n for n in ONE_ARRAY if CLASSES.get(n) == "missing"]
    if not missing:
        pytest.skip("none of these is missing any more: " + ", ".join(ONE_ARRAY))
    return missing[0]


def test_a_missing_function_says_so_and_where_the_table_is():
    name = _a_missing_function()
    owner, _, short = name.rpartition(".")
    with pytest.raises(AttributeError, match=rf"chainrule\.numpy has no {re.escape(name)} yet "
                                             r"\(docs/numpy\.md"):
        getattr(getattr(cnp, owner) if owner else cnp, short)
    x = cr.tensor(np.eye(2), requires_grad=True)
    with pytest.raises(TypeError, match=rf"numpy\.{re.escape(name)} has no differentiation rule "
                                        rf"in chainrule.*chainrule\.numpy has no "
                                        rf"{re.escape(name)} yet"):
        numpy_object(name)(x)


def test_errors_of_other_names():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_function'"):
        cnp.no_such_function  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'euler_gamma'"):
        cnp.euler_gamma  # noqa: B018  (a constant of NumPy's, not a callable)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.add\.accumulate has no differentiation rule.*"
                                        "cumsum"):
        np.add.accumulate(x)


def test_namespaces_list_their_functions_only():
    assert isinstance(cnp.linalg, Namespace)
    assert "_module" not in vars(cnp.linalg)
    assert set(vars(cnp.linalg)) >= {"inv", "matrix_rank", "LinAlgError"}
    assert cnp.linalg.LinAlgError is np.linalg.LinAlgError


# pass-through functions called on Tensors: NumPy's plain result for the Tensors' values
PLAIN = [
    ("argwhere", lambda m, x: m.argwhere(x > 0)), ("signbit", lambda m, x: m.signbit(x)),
    ("isneginf", lambda m, x: m.isneginf(x)), ("flatnonzero", lambda m, x: m.flatnonzero(x)),
    ("digitize", lambda m, x: m.digitize(x, [-1.0, 0.0, 1.0])),
    ("argpartition", lambda m, x: m.argpartition(x, 2, axis=None)),
    ("lexsort", lambda m, x: m.lexsort((x, -x))), ("union1d", lambda m, x: m.union1d(x, x)),
    ("histogram_bin_edges", lambda m, x: m.histogram_bin_edges(x, 4)),
    ("array_equiv", lambda m, x: m.array_equiv(x, x)),
    ("nanargmax", lambda m, x: m.nanargmax(x)), ("spacing", lambda m, x: m.spacing(x)),
    ("array2string", lambda m, x: m.array2string(x)),
    ("zeros", lambda m, x: m.zeros(m.shape(x))), ("eye", lambda m, x: m.eye(3)),
    ("tril_indices_from", lambda m, x: m.tril_indices_from(x)),
    ("matrix_rank", lambda m, x: m.linalg.matrix_rank(x)),
    ("fftfreq", lambda m, x: m.fft.fftfreq(4)),
]


@pytest.mark.parametrize(("name", "call"), PLAIN, ids=[n for n, _ in PLAIN])
def test_pass_through_functions_give_numpys_plain_result_on_tensors(name, call):
    values = np.random.default_rng(0).standard_normal((3, 3))
    x = cr.tensor(values, requires_grad=True)
    ours, theirs = call(cnp, x), call(np, values)
    assert not isinstance(ours, cr.Tensor)
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(ours, theirs)


def test_numpys_classes_are_numpys_own():
    assert cnp.float64 is np.float64 and cnp.ndarray is np.ndarray
    assert cnp.errstate is np.errstate and cnp.dtype is np.dtype
    assert cnp.zeros(2, dtype=cnp.float32).dtype == np.float32


# --------------------------------------------------------------------------------------------
# the catalogue and the table


def test_every_differentiable_function_has_a_catalogue_entry():
    lacking = [n for n, kind in CLASSES.items() if kind == "differentiable" and n not in CATALOGUE]
    assert not lacking, f"add these to tests/numpy/catalogue.py: {lacking}"


def test_every_catalogue_entry_is_differentiable():
    wrong = {n: CLASSES.get(n) for n in available() if CLASSES.get(n) != "differentiable"}
    assert not wrong, f"the catalogue lists functions chainrule.numpy does not differentiate: " \
                      f"{wrong}"


def _doc() -> str:
    text = coverage.DOC.read_text()
    if coverage.documented_version(text) != np.__version__:
        pytest.skip(f"docs/numpy.md was written with NumPy {coverage.documented_version(text)}, "
                    f"this is NumPy {np.__version__} (whose set of names differs)")
    return text


def test_the_table_shows_every_catalogue_entry_as_differentiable():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w.]+)` \| ([a-z ]+) \|",
                                                         _doc(), re.MULTILINE)}
    unshown = {name: rows.get(name) for name in available() if rows.get(name) != "differentiable"}
    assert not unshown, "run python -m tests.numpy.coverage to rewrite docs/numpy.md"


def test_the_table_is_what_the_generator_writes_today():
    assert _doc() == coverage.render(), \
        "docs/numpy.md is out of date: run python -m tests.numpy.coverage"


def test_the_generator_reports_an_out_of_date_table(tmp_path, monkeypatch, capsys):
    stale, readme = tmp_path / "numpy.md", tmp_path / "README.md"
    stale.write_text("# an old table\n")
    readme.write_text("# chainrule\n\n- NumPy: 3 of 4 ([docs/numpy.md](docs/numpy.md)).\nEnd\n")
    monkeypatch.setattr(coverage, "DOC", stale)
    monkeypatch.setattr(coverage, "README", readme)
    assert coverage.main(["--check"]) == 1
    assert coverage.main([]) == 0 and coverage.main(["--check"]) == 0
    assert stale.read_text() == coverage.render()
    lines = readme.read_text().splitlines()
    assert lines[:2] == ["# chainrule", ""] and lines[3:] == ["End"]
    assert lines[2] == coverage.readme_line(coverage.counts(coverage.rows()))
    assert "out of date" in capsys.readouterr().out


def test_the_readme_quotes_the_tables_counts():
    counts = dict(re.findall(r"^- \*\*([a-z ]+)\*\*: (\d+)", _doc(), re.MULTILINE))
    line = next(line for line in coverage.README.read_text().splitlines()
                if "](docs/numpy.md)" in line)
    for kind, count in counts.items():
        assert f"{count} {kind.replace('passes', 'pass')}" in line.replace(" are ", " "), \
            "run python -m tests.numpy.coverage to rewrite README.md's line"
