"""``chainrule diff``: differentiate a formula typed on the command line.

::

    python -m chainrule diff "log(x**2)*sin(x) + 1/x" --at 2
    python -m chainrule diff "x*y + sin(x)" --at x=1,y=2 --mode both
    python -m chainrule diff "log(x**2)*sin(x) + 1/x" --at 2 --trace      # exercises 5-7
    python -m chainrule diff "sin(x)" --at 0 --order 4 --json

The formula is read by :mod:`chainrule.expr` (parsed, never run as Python; see there what it
may contain) and computed in float64 with chainrule's operations.  The command prints:

- the **value** and the **gradient**, by reverse mode (one backward pass), forward mode (one
  forward pass per variable, each carrying the tangent of one variable) or ``both`` (the two,
  and the largest difference between them);
- with ``--order N`` (one variable only): the derivatives of order 0 to N, by ``grad`` nested N
  times (reverse), ``jvp`` nested N times (forward), or both;
- with ``--trace``: the two tables of the chapter's exercise 7.  The **forward trace** lists
  every node (the inputs, then each operation in evaluation order) with its value and its
  tangent: the derivative of that node along the direction.  For one variable the direction is
  d/dx; for several, each node gets one tangent per variable (one forward pass each, which is
  how forward mode builds a gradient), unless ``--direction x=1,y=-1`` names one direction
  (then the tangent is the directional derivative; variables left out get 0).  The **backward
  trace** lists the nodes in reverse order with their adjoint, the derivative of f w.r.t. the
  node (one backward pass): the inputs' adjoints are the gradient;
- ``--graph FILE`` draws the dependency graph with values and adjoints
  (:func:`chainrule.viz.graph`); ``--plot FILE --range A B`` draws f and its derivatives up to
  ``--order`` (default 1) over [A, B] (:func:`chainrule.viz.plot`; one variable only);
- ``--json`` prints one JSON object instead of text, with the keys ``formula``, ``variables``,
  ``point``, ``mode``, ``value``, ``gradient`` (a number for one variable, else an object by
  variable); with ``--mode both`` also ``gradients`` (``{"reverse": ..., "forward": ...}``) and
  ``max_difference``; with ``--order N``: ``derivatives``, the list ``[f, f', ..., f^(N)]``
  (so ``derivatives[k]`` is the k-th derivative; with both modes, ``derivatives_forward``
  too); with ``--trace``: ``direction`` (null for one tangent per variable), ``forward_trace``
  and ``backward_trace``, lists of objects with ``node``, ``op``, ``expr`` (the operation on its
  operands' node names), ``source`` (the part of the formula), ``inputs``, ``value`` and
  ``tangent`` or ``adjoint``; with ``--graph``/``--plot``: ``graph``/``plot`` (the paths).
  Numbers are JSON numbers, except non-finite ones, written as the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"`` (the output is strict JSON).

Every error (a formula that is not allowed or not readable, a bad number, a missing or unknown
variable, ``--order`` with several variables, ``--plot`` without ``--range``, a file that
cannot be written) prints one line, ``chainrule diff: error: ...``, to stderr, and the command
returns 2.

Wiring it into a command line takes two calls::

    add_diff_parser(subparsers)    # subparsers = parser.add_subparsers(dest="command")
    ...
    if args.command == "diff":
        return run_diff(args)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import numpy as np

import chainrule as cr
from chainrule.autograd import forward_ad
from chainrule.expr import FUNCTIONS, Formula, FormulaError, Step, parse
from chainrule.tensor import Tensor

__all__ = ["add_diff_parser", "run_diff", "differentiate", "parse_point", "format_text",
           "DiffError", "MAX_ORDER"]

MAX_ORDER = 10
"""The highest derivative ``--order`` computes (nested transforms grow with the order)."""

MODES = ("reverse", "forward", "both")


class DiffError(ValueError):
    """A mistake in the command's arguments (other than the formula itself)."""


# --------------------------------------------------------------------------------------------
# The command line


def add_diff_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``diff`` command to an argparse ``add_subparsers()`` object; return its parser."""
    functions = ", ".join(FUNCTIONS)
    p = subparsers.add_parser(
        "diff", help="differentiate a formula at a point (value, gradient, traces, graph)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Differentiate a formula at a point with chainrule: its value and gradient\n"
                    "by reverse and/or forward mode, higher derivatives, the forward and\n"
                    "backward traces, the dependency graph, a plot.\n\n"
                    "The formula is parsed, never run as Python. It may contain numbers,\n"
                    "variables, + - * / **, parentheses and calls of\n"
                    f"  {functions}.",
        epilog="examples:\n"
               '  chainrule diff "log(x**2)*sin(x) + 1/x" --at 2 --trace\n'
               '  chainrule diff "x*y + sin(x)" --at x=1,y=2 --mode both --json\n'
               '  chainrule diff --at 2 -- "-x**2"     (a formula that starts with -)')
    p.add_argument("formula", metavar="EXPR",
                   help='the formula, e.g. "log(x**2)*sin(x) + 1/x" or "x*y + sin(x)"')
    p.add_argument("--at", metavar="POINT", default=None,
                   help="where to differentiate: a number for a formula in one variable "
                        "(--at 2), else name=value pairs (--at x=1,y=2)")
    p.add_argument("--mode", default="reverse", choices=MODES,
                   help="reverse mode (one backward pass), forward mode (one pass per "
                        "variable), or both, compared (default reverse)")
    p.add_argument("--order", metavar="N", type=int, default=None,
                   help=f"also the derivatives of order 1 to N (1 <= N <= {MAX_ORDER}; "
                        "formulas in one variable)")
    p.add_argument("--trace", action="store_true",
                   help="print the forward trace (values and tangents, from x to f) and the "
                        "backward trace (adjoints, from f back to x)")
    p.add_argument("--direction", metavar="DIR", default=None,
                   help="with --trace: the forward trace's tangent direction, e.g. x=1,y=-1 "
                        "(default: one tangent per variable)")
    p.add_argument("--graph", metavar="FILE", default=None,
                   help="draw the dependency graph, with values and adjoints, to FILE "
                        "(.svg, .png, .pdf, or .dot for the DOT text)")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="plot f and its derivatives up to --order (default 1) to FILE "
                        "(needs --range; one variable)")
    p.add_argument("--range", metavar=("A", "B"), nargs=2, default=None,
                   help="the interval of --plot")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def run_diff(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    """Run ``diff`` for parsed arguments: print the result, return the exit status (0, or 2
    after printing one line to ``err`` for any error)."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        result = _run(args)
    except (FormulaError, DiffError) as e:
        print(f"chainrule diff: error: {_one_line(e)}", file=err)
        return 2
    if args.json:
        print(json.dumps(_jsonable(result), allow_nan=False), file=out)
    else:
        print(format_text(result), file=out)
    return 0


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


def _run(args: argparse.Namespace) -> dict:
    if args.at is None:
        raise DiffError("--at is required: where to differentiate, e.g. --at 2 or "
                        "--at x=1,y=2")
    formula = parse(args.formula)
    point = parse_point(args.at, formula, option="--at")
    direction = None
    if args.direction is not None:
        if not args.trace:
            raise DiffError("--direction is used by --trace only")
        direction = parse_point(args.direction, formula, option="--direction", complete=False)
    if args.range is not None and args.plot is None:
        raise DiffError("--range is used by --plot only")
    if args.plot is not None:
        if args.range is None:
            raise DiffError("--plot needs --range A B, the interval to plot")
        if len(formula.variables) != 1:
            raise DiffError(f"--plot needs a formula in one variable; this one has "
                            f"{', '.join(formula.variables)}")
    start, stop = _range(args.range) if args.range is not None else (None, None)
    result = differentiate(formula, point, mode=args.mode, order=args.order, trace=args.trace,
                           direction=direction)
    if args.graph is not None:
        _draw_graph(formula, point, args.graph)
        result["graph"] = args.graph
    if args.plot is not None:
        _draw_plot(formula, start, stop, args.order or 1, args.plot)
        result["plot"] = args.plot
    return result


def _range(texts: Sequence[str]) -> tuple[float, float]:
    a, b = (_number(t, "--range") for t in texts)
    if not a < b:
        raise DiffError(f"--range A B needs A < B, got {texts[0]} {texts[1]}")
    return a, b


# --------------------------------------------------------------------------------------------
# Points


def _number(text: str, option: str, name: str | None = None) -> float:
    where = f"{option} {name}=" if name else f"{option} "
    try:
        value = float(text.strip())
    except ValueError:
        raise DiffError(f"{where}{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DiffError(f"{where}{text.strip()} is not a finite number")
    return value


def parse_point(text: str, formula: Formula, option: str = "--at",
                complete: bool = True) -> dict[str, float]:
    """Values for the formula's variables: ``"2"`` (one variable) or ``"x=1,y=2"``.

    Every variable needs a value when ``complete`` (else the missing ones are 0); a name the
    formula does not use, a repeated name, or a bad number is a :class:`DiffError`.
    """
    variables = formula.variables
    if not variables:
        raise DiffError("the formula has no variables: there is nothing to differentiate")
    text = text.strip()
    if not text:
        raise DiffError(f"{option} is empty")
    if "=" not in text:
        if len(variables) != 1:
            raise DiffError(f"{option} {text}: the formula has several variables "
                            f"({', '.join(variables)}); give them by name, as "
                            f"{option} {','.join(f'{v}=...' for v in variables)}")
        return {variables[0]: _number(text, option)}
    values: dict[str, float] = {}
    for item in text.split(","):
        name, eq, number = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise DiffError(f"{option}: expected name=value, got {item.strip()!r}")
        if name not in variables:
            raise DiffError(f"{option} gives a value for {name!r}, which the formula does not "
                            f"use (its variables: {', '.join(variables)})")
        if name in values:
            raise DiffError(f"{option} gives {name!r} twice")
        values[name] = _number(number, option, name)
    missing = [v for v in variables if v not in values]
    if missing and complete:
        raise DiffError(f"{option} has no value for {', '.join(missing)} (the formula's "
                        f"variables: {', '.join(variables)})")
    return {v: values.get(v, 0.0) for v in variables}


# --------------------------------------------------------------------------------------------
# Differentiation


def _scalar(value: float) -> Tensor:
    return cr.tensor(float(value), dtype=cr.float64)


def _float(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    return float(np.asarray(value, dtype=np.float64))


def _reverse(formula: Formula, point: Mapping[str, float], with_partials: bool):
    """One evaluation and one backward pass: the value, the steps, their adjoints and, if
    asked (for a trace), each step's local partial derivatives (see ``_local_partials``)."""
    env = {v: _scalar(point[v]).requires_grad_(True) for v in formula.variables}
    steps: list[Step] = []
    with np.errstate(all="ignore"):
        out = formula.evaluate(env, steps)
        tensors = [s.tensor for s in steps]
        if isinstance(out, Tensor) and out.requires_grad:
            adjoints = cr.autograd.grad(out, tensors, retain_graph=True, allow_unused=True)
        else:  # nothing recorded: no node influences the value
            adjoints = [None] * len(steps)
        partials = _local_partials(steps) if with_partials else None
    return _float(out), steps, [_float(a) for a in adjoints], partials


def _local_partials(steps: list[Step]) -> list[dict]:
    """Each step's partial derivatives w.r.t. the steps it reads (the edges of the graph);
    the steps' graph must still be alive."""
    by_name = {s.name: s.tensor for s in steps}
    partials = []
    for s in steps:
        inputs = list(dict.fromkeys(s.inputs))  # x * x: one edge, d(x*x)/dx = 2x
        local = {}
        if inputs and s.tensor.requires_grad:
            grads = cr.autograd.grad(s.tensor, [by_name[i] for i in inputs],
                                     retain_graph=True, allow_unused=True)
            local = {i: _float(g) for i, g in zip(inputs, grads)}
        partials.append(local)
    return partials


def _forward(formula: Formula, point: Mapping[str, float],
             direction: Mapping[str, float]) -> tuple[float, list, list]:
    """One evaluation carrying tangents along ``direction``: value, step values, tangents."""
    steps: list[Step] = []
    with forward_ad.dual_level(), np.errstate(all="ignore"):
        env = {v: forward_ad.make_dual(_scalar(point[v]), _scalar(direction.get(v, 0.0)))
               for v in formula.variables}
        out = formula.evaluate(env, steps)
        values, tangents = [], []
        for s in steps:
            primal, tangent = forward_ad.unpack_dual(s.tensor)
            values.append(_float(primal))
            tangents.append(_float(tangent))
        value = _float(forward_ad.unpack_dual(out).primal if isinstance(out, Tensor) else out)
    return value, values, tangents


def _derivatives(formula: Formula, x0: float, order: int, mode: str) -> list[float]:
    """``[f(x0), f'(x0), ..., f^(order)(x0)]`` by nested ``grad`` or nested ``jvp``."""
    from chainrule.func import grad, jvp

    (var,) = formula.variables
    f = lambda x: formula.evaluate({var: x})
    point = np.float64(x0)
    results = []
    with np.errstate(all="ignore"):
        g = f
        for k in range(order + 1):
            if k:
                if mode == "reverse":
                    g = grad(g)
                else:
                    g = (lambda inner: lambda x: jvp(inner, (x,), (np.ones_like(x),))[1])(g)
            results.append(_float(g(point)))
    return results


def differentiate(formula: str | Formula, point: Mapping[str, float] | float, *,
                  mode: str = "reverse", order: int | None = None, trace: bool = False,
                  direction: Mapping[str, float] | None = None) -> dict:
    """What ``chainrule diff`` prints, as a dict (the ``--json`` object, with floats).

    ``point`` maps each variable to its value (a number will do for one variable); see the
    module's documentation for the keys.

    >>> r = differentiate("x*y + sin(x)", {"x": 1.0, "y": 2.0}, mode="both")
    >>> r["gradient"]["x"], r["gradient"]["y"], r["max_difference"]
    (2.5403023058681398, 1.0, 0.0)
    """
    formula = parse(formula) if isinstance(formula, str) else formula
    variables = formula.variables
    if not variables:
        raise DiffError("the formula has no variables: there is nothing to differentiate")
    if not isinstance(point, Mapping):
        if len(variables) != 1:
            raise DiffError(f"the formula has several variables ({', '.join(variables)}): "
                            "give a value for each")
        point = {variables[0]: point}
    missing = [v for v in variables if v not in point]
    if missing:
        raise DiffError(f"no value for {', '.join(missing)}")
    unknown = [v for v in point if v not in variables]
    if unknown:
        raise DiffError(f"{', '.join(unknown)}: not variables of the formula "
                        f"(its variables: {', '.join(variables)})")
    point = {v: float(point[v]) for v in variables}
    if mode not in MODES:
        raise DiffError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if order is not None:
        if len(variables) != 1:
            raise DiffError(f"--order needs a formula in one variable; this one has "
                            f"{', '.join(variables)}")
        if isinstance(order, bool) or not 1 <= order <= MAX_ORDER:
            raise DiffError(f"--order must be between 1 and {MAX_ORDER}, got {order}")

    one = len(variables) == 1
    shape = (lambda per_var: per_var[variables[0]]) if one else dict
    result: dict[str, Any] = {"formula": formula.text, "variables": list(variables),
                              "point": dict(point), "mode": mode}

    rev = fwd = None
    if mode in ("reverse", "both") or trace:
        value, steps, adjoints, partials = _reverse(formula, point, with_partials=trace)
        rev = {v: a for s, a in zip(steps, adjoints) if s.op == "input" for v in [s.name]}
        result["value"] = value
    passes = {}
    if mode in ("forward", "both") or trace:
        for v in variables:  # one forward pass per variable: the gradient, and trace columns
            passes[v] = _forward(formula, point, {u: float(u == v) for u in variables})
        fwd = {v: passes[v][2][-1] for v in variables}  # the tangent of f, the last step
        result.setdefault("value", passes[variables[0]][0])
    result["gradient"] = shape(fwd if mode == "forward" else rev)
    if mode == "both":
        result["gradients"] = {"reverse": shape(rev), "forward": shape(fwd)}
        result["max_difference"] = _max_difference(list(rev.values()), list(fwd.values()))

    if order is not None:
        x0 = point[variables[0]]
        result["derivatives"] = _derivatives(formula, x0, order,
                                             "forward" if mode == "forward" else "reverse")
        if mode == "both":
            result["derivatives_forward"] = _derivatives(formula, x0, order, "forward")
            result["derivatives_max_difference"] = _max_difference(
                result["derivatives"], result["derivatives_forward"])

    if trace:
        if direction is not None:
            unknown = [v for v in direction if v not in variables]
            if unknown:
                raise DiffError(f"--direction: {', '.join(unknown)} not variables of the "
                                "formula")
            direction = {v: float(direction.get(v, 0.0)) for v in variables}
            _, values, tangents = _forward(formula, point, direction)
            tangent_of = tangents
        else:
            values = passes[variables[0]][1]
            tangent_of = [shape({v: passes[v][2][i] for v in variables})
                          for i in range(len(steps))]
        result["direction"] = direction
        result["forward_trace"] = [
            {**_node(s), "value": values[i], "partials": partials[i], "tangent": tangent_of[i]}
            for i, s in enumerate(steps)]
        # each node's adjoint is the sum, over the nodes that read it, of their adjoint times
        # their partial derivative w.r.t. it
        index = {s.name: i for i, s in enumerate(steps)}
        readers: dict[str, list] = {s.name: [] for s in steps}
        for i, s in enumerate(steps):
            for name, d in partials[i].items():
                readers[name].append({"node": s.name, "adjoint": adjoints[i], "partial": d})
        result["backward_trace"] = [
            {**_node(s), "value": _float(s.tensor), "contributions": readers[s.name],
             "adjoint": adjoints[index[s.name]]}
            for s in reversed(steps)]
    return result


def _max_difference(a: Sequence[float], b: Sequence[float]) -> float:
    diffs = [abs(x - y) for x, y in zip(a, b) if not (x == y)]  # equal infinities: no difference
    return max((d if d == d else math.inf for d in diffs), default=0.0)


def _node(step: Step) -> dict:
    return {"node": step.name, "op": step.op, "expr": step.expr, "source": step.source,
            "inputs": list(step.inputs)}


# --------------------------------------------------------------------------------------------
# Pictures


def _draw_graph(formula: Formula, point: Mapping[str, float], path: str) -> None:
    """The dependency graph of one evaluation, with values and adjoints, saved to ``path``."""
    try:
        from chainrule import viz
    except ImportError as e:
        raise DiffError(f"--graph needs chainrule.viz, which cannot be imported: "
                        f"{_one_line(e)}") from None
    env = {v: _scalar(point[v]).requires_grad_(True) for v in formula.variables}
    steps: list[Step] = []
    with np.errstate(all="ignore"):
        out = formula.evaluate(env, steps)
    # the names of the traces; viz.graph computes the adjoints itself, from the live graph
    names = {s.name if s.tensor is not out or s.op == "input" else f"{s.name} = f": s.tensor
             for s in steps}
    try:
        with np.errstate(all="ignore"):
            picture = viz.graph(out, values=True, grads=True, names=names)
            picture.save(path)
    except (OSError, ValueError, TypeError, ImportError, RuntimeError) as e:
        raise DiffError(f"cannot draw the graph to {path}: {_one_line(e)}") from None


def _draw_plot(formula: Formula, start: float, stop: float, order: int, path: str) -> None:
    try:
        from chainrule import viz
    except ImportError as e:
        raise DiffError(f"--plot needs chainrule.viz, which cannot be imported: "
                        f"{_one_line(e)}") from None
    (var,) = formula.variables
    try:
        viz.plot(lambda x: formula.evaluate({var: x}), start, stop, order=order, path=path,
                 title=f"f({var}) = {formula.text}")
    except (OSError, ValueError, TypeError, ImportError, RuntimeError) as e:
        raise DiffError(f"cannot plot to {path}: {_one_line(e)}") from None


# --------------------------------------------------------------------------------------------
# Output


def _jsonable(obj):
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _num(x: float) -> str:
    return f"{x:.10g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        lines.append(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return lines


def _gradient_text(grad, variables: Sequence[str]) -> str:
    if len(variables) == 1:
        return f"df/d{variables[0]} = {_num(grad)}"
    return ", ".join(f"df/d{v} = {_num(grad[v])}" for v in variables)


def _derivative_label(k: int, var: str) -> str:
    if k == 0:
        return "f"
    if k == 1:
        return f"df/d{var}"
    return f"d^{k}f/d{var}^{k}"


def format_text(result: Mapping) -> str:
    """The text ``chainrule diff`` prints for a result of :func:`differentiate`."""
    variables = result["variables"]
    point = result["point"]
    lines = [f"f({', '.join(variables)}) = {result['formula']}",
             "at " + ", ".join(f"{v} = {_num(point[v])}" for v in variables),
             f"value:    f = {_num(result['value'])}"]
    mode = result["mode"]
    if mode == "both":
        lines.append(f"gradient, reverse mode: "
                     f"{_gradient_text(result['gradients']['reverse'], variables)}")
        lines.append(f"gradient, forward mode: "
                     f"{_gradient_text(result['gradients']['forward'], variables)}")
        lines.append(f"largest difference between the modes: {_num(result['max_difference'])}")
    else:
        lines.append(f"gradient: {_gradient_text(result['gradient'], variables)} "
                     f"({mode} mode)")
    if "derivatives" in result:
        var = variables[0]
        how = {"reverse": "grad nested (reverse mode)", "forward": "jvp nested (forward mode)",
               "both": "reverse and forward mode"}[mode]
        lines.append(f"derivatives up to order {len(result['derivatives']) - 1}, by {how}:")
        header = ["order", "derivative", "value"]
        rows = []
        for k, d in enumerate(result["derivatives"]):
            row = [str(k), _derivative_label(k, var), _num(d)]
            if mode == "both":
                row.append(_num(result["derivatives_forward"][k]))
            rows.append(row)
        if mode == "both":
            header = ["order", "derivative", "reverse", "forward"]
        lines += _table(header, rows)
        if mode == "both":
            lines.append(f"  largest difference between the modes: "
                         f"{_num(result['derivatives_max_difference'])}")
    if "forward_trace" in result:
        direction = result["direction"]
        if len(variables) == 1 and direction is None:
            what = f"tangent = d(node)/d{variables[0]}"
            columns = ["tangent"]
        elif direction is None:
            what = "tangents = d(node)/d" + ", d(node)/d".join(variables) + \
                   " (one forward pass per variable)"
            columns = [f"d/d{v}" for v in variables]
        else:
            what = "tangent = derivative of the node along (" + ", ".join(
                f"{v}={_num(direction[v])}" for v in variables) + ")"
            columns = ["tangent"]
        lines.append("")
        lines.append(f"forward trace, from the inputs to f ({what}):")
        rows = []
        for row in result["forward_trace"]:
            t = row["tangent"]
            ts = [_num(t)] if not isinstance(t, dict) else [_num(t[v]) for v in variables]
            local = ", ".join(f"d/d{i} = {_num(d)}" for i, d in row["partials"].items())
            rows.append([row["node"], row["op"], row["expr"], _num(row["value"]), local, *ts])
        lines += _table(["node", "op", "computes", "value", "partials", *columns], rows)
        lines.append("")
        lines.append("backward trace, from f back to the inputs (adjoint = df/d(node)):")
        rows = []
        for row in result["backward_trace"]:
            sums = " + ".join(f"{c['node']}: {_num(c['adjoint'])} * {_num(c['partial'])}"
                              for c in row["contributions"])
            rows.append([row["node"], row["op"], row["expr"], _num(row["value"]),
                         sums or "(the output: 1)", _num(row["adjoint"])])
        lines += _table(["node", "op", "computes", "value",
                         "sum over readers: their adjoint * partial", "adjoint"], rows)
    if "graph" in result:
        lines.append(f"graph written to {result['graph']}")
    if "plot" in result:
        lines.append(f"plot written to {result['plot']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m chainrule.diffcli EXPR --at POINT ...`` (the command on its own)."""
    parser = argparse.ArgumentParser(prog="chainrule")
    add_diff_parser(parser.add_subparsers(dest="command", required=True))
    return run_diff(parser.parse_args(["diff", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
