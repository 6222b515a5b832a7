"""``chainrule diff``: the safe formula parser (chainrule.expr) and the command (chainrule.diffcli).

The chapter's exercises 5-7 on f(x) = log(x^2) sin(x) + 1/x at x = 2: the value, the derivative,
and both traces, each checked against the chain rule written out by hand below.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule.__main__ as cli_main
from chainrule import expr
from chainrule.diffcli import add_diff_parser, differentiate, run_diff
from chainrule.expr import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, FormulaError, parse

CHAPTER = "log(x**2)*sin(x) + 1/x"
X = 2.0


def f(x):
    return math.log(x ** 2) * math.sin(x) + 1 / x


def df(x):
    return 2 * math.sin(x) / x + math.log(x ** 2) * math.cos(x) - 1 / x ** 2


def d2f(x):
    return (4 * math.cos(x) / x - 2 * math.sin(x) / x ** 2 - math.log(x ** 2) * math.sin(x)
            + 2 / x ** 3)


def d3f(x):
    return (-6 * math.sin(x) / x - 6 * math.cos(x) / x ** 2 + 4 * math.sin(x) / x ** 3
            - math.log(x ** 2) * math.cos(x) - 6 / x ** 4)


def run(*argv: str) -> tuple[int, str, str]:
    """``chainrule diff ARGV`` through the argparse API; (status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="chainrule")
    add_diff_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["diff", *argv])
    import io

    out, err = io.StringIO(), io.StringIO()
    status = run_diff(args, out, err)
    return status, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> dict:
    status, out, err = run(*argv, "--json")
    assert status == 0 and err == ""
    assert out.count("\n") == 1  # exactly one JSON object, on one line
    return json.loads(out)


# --------------------------------------------------------------------------------------------
# (a) the chapter's function


def test_value_and_derivative_of_the_chapter_function():
    assert f(X) == pytest.approx(1.7605538, abs=1e-7)
    assert df(X) == pytest.approx(0.0823954, abs=1e-7)
    for mode in ("reverse", "forward", "both"):
        r = run_json(CHAPTER, "--at", "2", "--mode", mode)
        assert r["value"] == pytest.approx(f(X), rel=1e-15)
        assert r["gradient"] == pytest.approx(df(X), rel=1e-13)
    both = run_json(CHAPTER, "--at", "2", "--mode", "both")
    assert both["gradients"]["reverse"] == pytest.approx(both["gradients"]["forward"],
                                                         rel=1e-15)
    assert both["max_difference"] <= 1e-15
    status, out, err = run(CHAPTER, "--at", "2")
    assert status == 0 and err == ""
    assert "value:    f = 1.760553895" in out and "df/dx = 0.0823954139" in out


# The chain rule by hand, at x = 2 (exercise 6): the nodes, their local partial derivatives,
# the tangents from x to f (forward) and the adjoints from f back to x (backward).
V1, V2, V3 = X ** 2, math.log(X ** 2), math.sin(X)
V4, V5 = V2 * V3, 1 / X
V6 = V4 + V5
HAND = {  # node: (op, computes, value, {input: partial})
    "x": ("input", "x", X, {}),
    "v1": ("pow", "x ** 2", V1, {"x": 2 * X}),
    "v2": ("log", "log(v1)", V2, {"v1": 1 / V1}),
    "v3": ("sin", "sin(x)", V3, {"x": math.cos(X)}),
    "v4": ("mul", "v2 * v3", V4, {"v2": V3, "v3": V2}),
    "v5": ("div", "1 / x", V5, {"x": -1 / X ** 2}),
    "v6": ("add", "v4 + v5", V6, {"v4": 1.0, "v5": 1.0}),
}
# forward: each tangent is the sum of the partials times the tangents of the inputs
T = {"x": 1.0}
T["v1"] = 2 * X * T["x"]                       # 4
T["v2"] = T["v1"] / V1                         # 1
T["v3"] = math.cos(X) * T["x"]
T["v4"] = V3 * T["v2"] + V2 * T["v3"]
T["v5"] = -T["x"] / X ** 2                     # -0.25
T["v6"] = T["v4"] + T["v5"]
# backward: each adjoint is the sum over the readers of their adjoint times their partial
A = {"v6": 1.0}
A["v5"] = A["v6"] * 1.0
A["v4"] = A["v6"] * 1.0
A["v3"] = A["v4"] * V2
A["v2"] = A["v4"] * V3
A["v1"] = A["v2"] / V1
A["x"] = A["v1"] * 2 * X + A["v3"] * math.cos(X) + A["v5"] * (-1 / X ** 2)


def test_traces_match_the_chain_rule_by_hand():
    assert T["v6"] == pytest.approx(df(X), rel=1e-14)
    assert A["x"] == pytest.approx(df(X), rel=1e-14)
    r = run_json(CHAPTER, "--at", "2", "--trace")
    forward, backward = r["forward_trace"], r["backward_trace"]
    assert [row["node"] for row in forward] == list(HAND)  # evaluation order
    assert [row["node"] for row in backward] == list(reversed(HAND))
    for row in forward:
        op, computes, value, partials = HAND[row["node"]]
        assert (row["op"], row["expr"]) == (op, computes)
        assert row["value"] == pytest.approx(value, rel=1e-15)
        assert row["tangent"] == pytest.approx(T[row["node"]], rel=1e-14, abs=1e-15)
        assert row["partials"] == pytest.approx(partials, rel=1e-15)
        assert row["inputs"] == list(partials)
    for row in backward:
        assert row["adjoint"] == pytest.approx(A[row["node"]], rel=1e-14)
        assert row["value"] == pytest.approx(HAND[row["node"]][2], rel=1e-15)
        # each adjoint is the sum of its readers' adjoint * partial
        total = sum(c["adjoint"] * c["partial"] for c in row["contributions"])
        assert total == pytest.approx(row["adjoint"] if row["contributions"] else 0.0,
                                      rel=1e-14)
    readers_of_x = {c["node"] for c in backward[-1]["contributions"]}
    assert readers_of_x == {"v1", "v3", "v5"}
    # the ends of the two traces are the derivative, from both directions
    assert forward[-1]["tangent"] == pytest.approx(backward[-1]["adjoint"], rel=1e-15)
    assert r["direction"] is None


def test_trace_as_text():
    status, out, err = run(CHAPTER, "--at", "2", "--trace")
    assert status == 0 and err == ""
    lines = out.splitlines()
    fwd = lines.index(next(s for s in lines if s.startswith("forward trace")))
    bwd = lines.index(next(s for s in lines if s.startswith("backward trace")))
    assert [s.split()[0] for s in lines[fwd + 2:fwd + 9]] == list(HAND)
    assert [s.split()[0] for s in lines[bwd + 2:bwd + 9]] == list(reversed(HAND))
    assert lines[bwd + 8].split()[-1] == f"{df(X):.10g}"


def test_higher_derivatives_in_both_modes():
    expected = [f(X), df(X), d2f(X), d3f(X)]
    for mode in ("reverse", "forward"):
        r = run_json(CHAPTER, "--at", "2", "--order", "3", "--mode", mode)
        assert r["derivatives"] == pytest.approx(expected, rel=1e-12)
    r = run_json(CHAPTER, "--at", "2", "--order", "3", "--mode", "both")
    assert r["derivatives_forward"] == pytest.approx(r["derivatives"], rel=1e-13)
    assert r["derivatives_max_difference"] < 1e-12
    # a polynomial's derivatives end in zeros
    assert run_json("x**3", "--at", "2", "--order", "5")["derivatives"] == [8, 12, 12, 6, 0, 0]
    status, out, _ = run("sin(x)", "--at", "0", "--order", "4")
    assert status == 0 and "d^4f/dx^4" in out


def test_several_variables():
    r = run_json("x*y + sin(x)", "--at", "x=1,y=2", "--mode", "both", "--trace")
    assert r["value"] == pytest.approx(2 + math.sin(1), rel=1e-15)
    assert r["gradient"] == pytest.approx({"x": 2 + math.cos(1), "y": 1.0}, rel=1e-15)
    assert r["gradients"]["forward"] == pytest.approx(r["gradients"]["reverse"], rel=1e-15)
    rows = {row["node"]: row for row in r["forward_trace"]}
    assert rows["v1"]["tangent"] == {"x": 2.0, "y": 1.0}  # one forward pass per variable
    assert rows["v3"]["tangent"] == pytest.approx(r["gradient"], rel=1e-15)
    adj = {row["node"]: row["adjoint"] for row in r["backward_trace"]}
    assert adj["x"] == pytest.approx(2 + math.cos(1)) and adj["y"] == 1.0
    # a chosen direction: one tangent, the directional derivative
    r = run_json("x*y + sin(x)", "--at", "y=2, x=1", "--trace", "--direction", "x=1,y=-1")
    assert r["direction"] == {"x": 1.0, "y": -1.0}
    assert r["forward_trace"][-1]["tangent"] == pytest.approx(2 + math.cos(1) - 1, rel=1e-15)
    # the API, without the command line
    assert differentiate("x*y", {"x": 3.0, "y": 4.0})["gradient"] == {"x": 4.0, "y": 3.0}
    assert differentiate("x*x", 3.0, mode="forward")["gradient"] == 6.0


def test_json_keys():
    r = run_json(CHAPTER, "--at", "2", "--order", "2", "--trace")
    assert {"value", "gradient", "derivatives", "forward_trace", "backward_trace"} <= set(r)
    assert isinstance(r["gradient"], float) and len(r["derivatives"]) == 3
    assert {"node", "op", "value", "tangent"} <= set(r["forward_trace"][0])
    assert {"node", "op", "value", "adjoint"} <= set(r["backward_trace"][0])
    r = run_json("x*y", "--at", "x=1,y=2")
    assert set(r["gradient"]) == {"x", "y"} and "derivatives" not in r
    assert "forward_trace" not in r
    # non-finite numbers stay strict JSON
    r = run_json("log(x)", "--at", "0", "--mode", "both")
    assert r["value"] == "-Infinity" and r["gradient"] == "Infinity"
    r = run_json("sqrt(x)", "--at", "-1")
    assert r["value"] == "NaN"


# --------------------------------------------------------------------------------------------
# errors: one line on stderr, status 2


@pytest.mark.parametrize("argv, message", [
    (["x.y", "--at", "1"], "attribute access (.y) is not allowed (column 2)"),
    (["x +", "--at", "1"], "syntax error"),
    (["x", "--at", "abc"], "'abc' is not a number"),
    (["x", "--at", "inf"], "not a finite number"),
    (["x", "--at", "x=1,x=2"], "twice"),
    (["x*y", "--at", "x=1"], "no value for y"),
    (["x*y", "--at", "2"], "give them by name"),
    (["x", "--at", "z=1"], "'z', which the formula does not use"),
    (["x", "--at", "=1"], "expected name=value"),
    (["x*y", "--at", "x=1,y=2", "--order", "2"], "--order needs a formula in one variable"),
    (["x", "--at", "1", "--order", "0"], "--order must be between 1 and"),
    (["x", "--at", "1", "--plot", "f.png"], "--plot needs --range"),
    (["x", "--at", "1", "--range", "0", "1"], "--range is used by --plot only"),
    (["x", "--at", "1", "--plot", "f.png", "--range", "1", "0"], "needs A < B"),
    (["x", "--at", "1", "--direction", "x=1"], "--direction is used by --trace only"),
    (["x"], "--at is required"),
    (["2 + 3", "--at", "1"], "no variables"),
    (["sin", "--at", "1"], "'sin' is a function"),
    (["x(1)", "--at", "1"], "calling 'x' is not allowed"),
])
def test_errors_are_one_line_and_status_2(argv, message):
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("chainrule diff: error: ")
    assert message in err
    status, out, err = run(*argv, "--json")
    assert status == 2 and out == "" and err.count("\n") == 1


# --------------------------------------------------------------------------------------------
# (b) as a program


def _wired() -> bool:
    return "run_diff" in Path(cli_main.__file__).read_text()


def _env() -> dict:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.skipif(not _wired(), reason="chainrule/__main__.py does not call add_diff_parser "
                                         "and run_diff yet")
def test_python_m_chainrule_diff():
    done = subprocess.run([sys.executable, "-m", "chainrule", "diff", CHAPTER, "--at", "2",
                           "--json"], capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == pytest.approx(df(X), rel=1e-13)
    bad = subprocess.run([sys.executable, "-m", "chainrule", "diff", "x.__class__", "--at", "1"],
                         capture_output=True, text=True, env=_env(), timeout=60)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1


def test_python_m_chainrule_diffcli():
    done = subprocess.run([sys.executable, "-m", "chainrule.diffcli", "x*y + sin(x)", "--at",
                           "x=1,y=2", "--json"],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"]["y"] == 1.0


# --------------------------------------------------------------------------------------------
# pictures (chainrule.viz, written alongside)


def test_graph_file(tmp_path):
    pytest.importorskip("chainrule.viz.graph")
    path = tmp_path / "g.dot"
    status, out, err = run(CHAPTER, "--at", "2", "--graph", str(path))
    assert status == 0, err
    dot = path.read_text()
    assert dot.startswith("digraph") and "v6 = f" in dot and "adjoint = 0.0823954" in dot
    for node in HAND:
        assert f'label="{node}' in dot


def test_plot_file(tmp_path):
    pytest.importorskip("chainrule.viz.plot")
    pytest.importorskip("matplotlib")
    path = tmp_path / "p.png"
    r = run_json(CHAPTER, "--at", "2", "--plot", str(path), "--range", "0.5", "4",
                 "--order", "2")
    assert r["plot"] == str(path) and path.read_bytes().startswith(b"\x89PNG")
    status, _, err = run("x*y", "--at", "x=1,y=1", "--plot", str(path), "--range", "0", "1")
    assert status == 2 and "one variable" in err


# --------------------------------------------------------------------------------------------
# (c) hostile formulas are refused before anything runs


HOSTILE = {
    "__import__('os').system('echo hi')": "attribute access (.system)",
    "__import__('os')": "calling '__import__' is not allowed",
    "x.__class__": "attribute access (.__class__) is not allowed (column 2)",
    "(lambda: 1)()": "lambda is not allowed (column 2)",
    "[x for x in y]": "comprehensions are not allowed",
    "'a'": "strings are not allowed (column 1)",
    "open('f')": "calling 'open' is not allowed",
    "exp(x=1)": "keyword arguments are not allowed (exp) (column 7)",
    "x; y": "statements are not allowed",
    "import os": "statements are not allowed",
    "x = 1": "statements are not allowed",
    "sin.__name__": "attribute access (.__name__)",
    "1e999999": "number out of float64's range",
    "9" * 400: "number out of float64's range",
    "x[0]": "subscripts are not allowed",
    "maximum(*x)": "starred arguments are not allowed",
    "1j": "complex numbers are not allowed",
    "True": "the constant True is not allowed",
    "x // 2": "the operator // is not allowed",
    "~x": "the operator ~ is not allowed",
    "x if x else 1": "conditional expressions are not allowed",
    "x < 1": "comparisons are not allowed",
    "(x := 1)": "assignment expressions are not allowed",
    "sin(x)(x)": "calling the result of a call is not allowed",
    "_x + 1": "the name '_x' is not allowed",
    "sin(x, x)": "sin takes 1 argument, got 2",
    "x" * (MAX_LENGTH + 1): "too long",
    "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1): f"nested deeper than {MAX_DEPTH}",
    "-" * (MAX_DEPTH + 1) + "x": f"nested deeper than {MAX_DEPTH}",
    "sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1): f"nested deeper than {MAX_DEPTH}",
    "x\x00": "",
    "": "empty",
}


@pytest.mark.parametrize("text", list(HOSTILE))
def test_hostile_formulas_are_refused(text, capfd):
    with mock.patch.object(builtins, "eval", side_effect=AssertionError("eval called")), \
            mock.patch.object(builtins, "exec", side_effect=AssertionError("exec called")), \
            mock.patch.object(os, "system", side_effect=AssertionError("os.system called")):
        with pytest.raises(FormulaError) as info:
            parse(text)
        assert HOSTILE[text] in str(info.value)
        assert "\n" not in str(info.value)
        status, out, err = run("--at", "1", "--", text)  # "--": formulas may start with -
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "hi" not in capfd.readouterr().out


def test_limits_allow_ordinary_formulas():
    assert parse("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH).variables == ("x",)
    assert parse(" + ".join(["x"] * 60)).variables == ("x",)  # a long sum is fine
    assert parse("1e-999999*x").variables == ("x",)  # underflow to 0 is allowed
    assert parse("  x*y\n").variables == ("x", "y")  # surrounding white space
    with pytest.raises(FormulaError, match=r"column 6"):
        parse("    x.y")  # columns count the leading white space (column 6 is the dot)


# Property tests: the parser returns a Formula or raises FormulaError, never anything else, and
# only whitelisted chainrule functions are ever called.

_ALPHABET = "xyz0123456789.eE+-*/()[],;:=_'\" \n\tsinexplogabc"
_TOKENS = ["x", "y", "1", "2.5", "1e3", "+", "-", "*", "/", "**", "//", "(", ")", ",", ".",
           "[", "]", "sin", "exp", "maximum", "__import__", "os", "lambda", ":", "=", "'s'",
           "for", "in", "if", "else", "not", "and", "**-", "__class__", "1j", "@", "%"]

_names = st.sampled_from(["x", "y", "sin", "log", "maximum", "__import__", "open", "_q", "e"])
_leaves = st.one_of(
    _names.map(lambda n: ast.Name(n, ast.Load())),
    st.one_of(st.integers(-10 ** 30, 10 ** 30), st.floats(allow_nan=False),
              st.complex_numbers(max_magnitude=10), st.text(max_size=3), st.booleans(),
              st.none()).map(ast.Constant),
)
_binops = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv,
                           ast.Mod, ast.BitAnd])
_unops = st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert])


def _trees(children):
    return st.one_of(
        st.builds(lambda a, op, b: ast.BinOp(a, op(), b), children, _binops, children),
        st.builds(lambda op, a: ast.UnaryOp(op(), a), _unops, children),
        st.builds(lambda n, args: ast.Call(ast.Name(n, ast.Load()), args, []), _names,
                  st.lists(children, max_size=3)),
        st.builds(lambda n, a: ast.Call(ast.Name(n, ast.Load()), [],
                                        [ast.keyword("x", a)]), _names, children),
        st.builds(lambda a: ast.Attribute(a, "__class__", ast.Load()), children),
        st.builds(lambda a, b: ast.Subscript(a, b, ast.Load()), children, children),
        st.builds(lambda a: ast.Lambda(ast.arguments([], [], None, [], [], None, []), a),
                  children),
        st.builds(lambda a, b: ast.Compare(a, [ast.Lt()], [b]), children, children),
    )


_asts = st.recursive(_leaves, _trees, max_leaves=12)


def _source(tree: ast.AST) -> str:
    return ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))


def _check_safe(text: str) -> None:
    called = []
    spies = {name: ((lambda fn, name: lambda *a: called.append(name) or fn(*a))(fn, name), n)
             for name, (fn, n) in FUNCTIONS.items()}
    with mock.patch.object(builtins, "eval", side_effect=AssertionError("eval called")), \
            mock.patch.object(builtins, "exec", side_effect=AssertionError("exec called")), \
            mock.patch.dict(expr.FUNCTIONS, spies):
        try:
            formula = parse(text)
        except FormulaError as e:
            assert "\n" not in str(e)
            return
        assert not set(formula.variables) & set(FUNCTIONS)
        assert all(v.isidentifier() and not v.startswith("_") for v in formula.variables)
        try:
            value = formula.evaluate({v: np.float64(0.7) for v in formula.variables})
        except FormulaError:
            return
    assert np.shape(value) == ()
    assert set(called) <= set(FUNCTIONS)


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40) | st.text(max_size=20)
       | st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join))
def test_random_strings_are_parsed_or_refused(text):
    _check_safe(text)


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_asts)
def test_random_trees_are_parsed_or_refused(tree):
    _check_safe(_source(tree))


def test_no_warning_escapes_the_parser():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "invalid decimal literal" would be a SyntaxWarning
        with pytest.raises(FormulaError, match="conditional expressions"):
            parse("1if x else 2")
        assert float(parse("1/x")(0.0)) == math.inf  # IEEE, silently
