"""Formulas typed by a person, parsed safely and evaluated with chainrule: ``log(x**2)*sin(x)``.

A formula is one Python expression, read with :mod:`ast` and **never evaluated as Python**: the
tree is checked against a whitelist, then walked node by node, each node computed with
chainrule's operations on float64 values.  Only these are allowed:

- numbers: int and float literals (``2``, ``0.5``, ``1e-3``); not complex, not booleans, and not
  literals beyond float64's range (``1e999`` is refused rather than read as ``inf``);
- variables: any other name (ASCII letters, digits and ``_``, not starting with ``_``), as long as
  it is not one of the functions below;
- the operators ``+ - * / **``, unary ``-`` and ``+``, and parentheses;
- calls of the functions in :data:`FUNCTIONS` (``exp log log1p expm1 sqrt sin cos tan tanh
  sigmoid relu abs sign`` of one argument, ``maximum minimum`` of two), with positional
  arguments only.

Everything else (attributes, subscripts, strings, lambdas, comprehensions, keyword or starred
arguments, comparisons, statements, ...) is refused by :func:`parse` with a
:class:`FormulaError` naming what is not allowed and its column, before anything is computed.
So are formulas longer than :data:`MAX_LENGTH` characters or nested deeper than
:data:`MAX_DEPTH` levels (counting both parentheses and the operations of the tree).

>>> from chainrule.expr import parse
>>> f = parse("log(x**2)*sin(x) + 1/x")
>>> f.variables
('x',)
>>> float(f(x=2.0))
1.76055389...
>>> parse("x.__class__")
Traceback (most recent call last):
    ...
chainrule.expr.FormulaError: attribute access (.__class__) is not allowed (column 2)

Evaluating with ``record=[]`` (:meth:`Formula.evaluate`) also lists each node that depends on
the variables, in evaluation order, as :class:`Step` s: the rows of a forward or backward trace.
Arithmetic follows IEEE float64 (``1/0`` is ``inf``, ``log(-1)`` is ``nan``, with no warning).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule.functions as F
from chainrule.tensor import Tensor

__all__ = ["FormulaError", "Formula", "Step", "parse", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 1000
"""The longest formula accepted, in characters."""

MAX_DEPTH = 100
"""The deepest nesting accepted: of parentheses, and of operations in the parsed tree."""

FUNCTIONS: dict[str, tuple[Callable, int]] = {
    "exp": (F.exp, 1), "log": (F.log, 1), "log1p": (F.log1p, 1), "expm1": (F.expm1, 1),
    "sqrt": (F.sqrt, 1), "sin": (F.sin, 1), "cos": (F.cos, 1), "tan": (F.tan, 1),
    "tanh": (F.tanh, 1), "sigmoid": (F.sigmoid, 1), "relu": (F.relu, 1), "abs": (F.abs, 1),
    "sign": (F.sign, 1), "maximum": (F.maximum, 2), "minimum": (F.minimum, 2),
}
"""The functions a formula may call: name -> (chainrule function, number of arguments)."""

_BINARY = {ast.Add: ("add", "+", F.add), ast.Sub: ("sub", "-", F.sub),
           ast.Mult: ("mul", "*", F.mul), ast.Div: ("div", "/", F.div),
           ast.Pow: ("pow", "**", F.pow)}
_UNARY = {ast.USub: ("neg", "-"), ast.UAdd: ("pos", "+")}
_OPERATOR_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                  ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
                  ast.Invert: "~", ast.Not: "not"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_DESCRIPTIONS = {  # what a refused node is, with its verb
    ast.Attribute: "attribute access is", ast.Subscript: "subscripts are",
    ast.Slice: "slices are", ast.Lambda: "lambda is", ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are", ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "generator expressions are", ast.List: "lists are",
    ast.Tuple: "tuples are", ast.Set: "sets are", ast.Dict: "dicts are",
    ast.Compare: "comparisons are", ast.BoolOp: "and/or are",
    ast.IfExp: "conditional expressions are", ast.NamedExpr: "assignment expressions are",
    ast.Starred: "starred arguments are", ast.Await: "await is", ast.Yield: "yield is",
    ast.YieldFrom: "yield is", ast.JoinedStr: "strings are", ast.FormattedValue: "strings are",
    ast.Call: "calling the result of a call is",
}


class FormulaError(ValueError):
    """A formula that is not allowed or cannot be read; the message is one line."""


@dataclass
class Step:
    """One node of an evaluated formula that depends on the variables.

    ``name`` is the variable's name for an input, ``v1``, ``v2``, ... for operations (another
    letter if the formula has variables called like that); ``op`` is ``"input"`` or the
    operation (``"add"``, ``"log"``, ...); ``expr`` the operation on the names of its operands
    (``"log(v1)"``, ``"v2 * v3"``; constants appear as written); ``source`` the part of the
    formula it computes; ``inputs`` the names of the steps it reads; ``tensor`` its value.
    """

    name: str
    op: str
    expr: str
    source: str
    inputs: tuple[str, ...]
    tensor: Any


def _where(node: ast.AST, text: str) -> str:
    """' (column C)' (or ' (line L, column C)') of a node in ``text``, in characters, 1-based.

    ``text`` is the formula as typed; the tree was parsed from it without leading whitespace.
    """
    lead = len(text) - len(text.lstrip())
    line = getattr(node, "lineno", 1) or 1
    offset = getattr(node, "col_offset", 0) or 0
    lines = text.lstrip().splitlines() or [""]
    src = lines[line - 1] if line - 1 < len(lines) else ""
    column = len(src.encode("utf-8")[:offset].decode("utf-8", errors="replace")) + 1
    if len(lines) == 1:
        return f" (column {column + lead})"
    return f" (line {line}, column {column + (lead if line == 1 else 0)})"


def _describe(node: ast.AST) -> str:
    """What a refused node is, with its verb: 'strings are', 'attribute access (.y) is'."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (str, bytes)):
            return "strings are"
        if isinstance(value, complex):
            return "complex numbers are"
        return f"the constant {value!r} is"
    if isinstance(node, ast.Attribute):
        return f"attribute access (.{node.attr}) is"
    return _DESCRIPTIONS.get(type(node), f"{type(node).__name__} expressions are")


def _refuse(node: ast.AST, text: str) -> FormulaError:
    where = node
    if isinstance(node, ast.Attribute):  # point at the dot
        where = ast.Name("", lineno=node.value.end_lineno, col_offset=node.value.end_col_offset)
    return FormulaError(f"{_describe(node)} not allowed" + _where(where, text))


def _check_parentheses(text: str) -> None:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise FormulaError(f"the formula is nested deeper than {MAX_DEPTH} levels "
                                   f"(column {i + 1})")
        elif ch in ")]}":
            depth -= 1


def _syntax_error(text: str, err: SyntaxError, lead: int) -> FormulaError:
    try:  # statements parse as a module: say so rather than 'invalid syntax'
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        module = None
    if module is not None and (len(module.body) != 1 or not isinstance(module.body[0], ast.Expr)):
        kinds = sorted({type(s).__name__.lower() for s in module.body})
        return FormulaError(f"statements are not allowed ({', '.join(kinds) or 'empty input'}): "
                            "the formula must be a single expression")
    message = (err.msg or "invalid syntax").splitlines()[0]
    where = f" (column {err.offset + lead})" if err.offset else ""
    if err.lineno and err.lineno > 1:
        where = f" (line {err.lineno}, column {err.offset or 1})"
    return FormulaError(f"syntax error: {message}{where}")


def _check(tree: ast.Expression, text: str) -> tuple[str, ...]:
    """Refuse every node outside the whitelist; return the variables in order of appearance.

    The walk is iterative (a stack), so that no input, however deep, can exhaust Python's
    recursion limit here.
    """
    variables: dict[str, None] = {}
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested deeper than {MAX_DEPTH} levels"
                               + _where(node, text))
        children: list[ast.AST] = []
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _refuse(node, text)
            try:
                number = float(value)
            except OverflowError:
                number = float("inf")
            if not np.isfinite(number):
                raise FormulaError("number out of float64's range" + _where(node, text))
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise FormulaError(f"{node.id!r} is a function: call it, as in {node.id}(x)"
                                   + _where(node, text))
            if not _NAME.match(node.id):
                raise FormulaError(f"the name {node.id!r} is not allowed (variables are ASCII "
                                   "letters, digits and _, not starting with _)"
                                   + _where(node, text))
            variables.setdefault(node.id, None)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise FormulaError(f"the operator {_OPERATOR_TEXT.get(type(node.op), '?')} is "
                                   "not allowed (only + - * / **)" + _where(node, text))
            children = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise FormulaError(f"the operator {_OPERATOR_TEXT.get(type(node.op), '?')} is "
                                   "not allowed (only unary - and +)" + _where(node, text))
            children = [node.operand]
        elif isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):  # a method, a lambda, a call's result, ...
                raise _refuse(func, text)
            if func.id not in FUNCTIONS:
                raise FormulaError(f"calling {func.id!r} is not allowed (the functions are "
                                   f"{', '.join(FUNCTIONS)})" + _where(node, text))
            if node.keywords:
                raise FormulaError(f"keyword arguments are not allowed ({func.id})"
                                   + _where(node.keywords[0].value, text))
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise FormulaError("starred arguments are not allowed" + _where(arg, text))
            arity = FUNCTIONS[func.id][1]
            if len(node.args) != arity:
                raise FormulaError(f"{func.id} takes {arity} argument{'s' * (arity > 1)}, "
                                   f"got {len(node.args)}" + _where(node, text))
            children = list(node.args)
        else:
            raise _refuse(node, text)
        # reversed, so that variables are met left to right
        stack.extend((child, depth + 1) for child in reversed(children))
    return tuple(variables)


def parse(text: str) -> Formula:
    """Check a formula and return it as a :class:`Formula`; raise :class:`FormulaError`.

    Nothing is evaluated: the text is only parsed (``ast.parse(mode="eval")``) and checked.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is too long ({len(text)} characters; at most "
                           f"{MAX_LENGTH})")
    if not text.strip():
        raise FormulaError("the formula is empty")
    _check_parentheses(text)
    lead = len(text) - len(text.lstrip())
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": no output but ours
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise _syntax_error(text.strip(), err, lead) from None
    except (ValueError, MemoryError, RecursionError) as err:  # e.g. null bytes (Python < 3.12)
        raise FormulaError(f"cannot read the formula: {str(err).splitlines()[0]}") from None
    variables = _check(tree, text)
    return Formula(text.strip(), tree, variables)


class Formula:
    """A checked formula: ``f(x=2.0)``, or :meth:`evaluate` with a mapping of values.

    ``variables`` lists its variables in order of first appearance.
    """

    def __init__(self, text: str, tree: ast.Expression, variables: tuple[str, ...]) -> None:
        self.text = text
        self.tree = tree
        self.variables = variables

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __call__(self, *args, **values):
        """Evaluate: ``f(2.0)`` for a formula in one variable, or ``f(x=1.0, y=2.0)``; values may
        be Tensors (differentiable), NumPy arrays or numbers; operations are elementwise."""
        if args:
            if len(args) != len(self.variables) or values:
                raise TypeError(f"{self!r} takes its variables {self.variables} positionally "
                                "(in order of appearance) or by name")
            values = dict(zip(self.variables, args))
        return self.evaluate(values)

    def evaluate(self, values: Mapping[str, Any], record: list[Step] | None = None):
        """The formula's value at ``values`` (a mapping from every variable to a Tensor, an
        array or a number), computed with chainrule's operations (float64 for numbers).

        With ``record`` (a list), appends one :class:`Step` per input and per operation that
        depends on the variables, in evaluation order (inputs first, in ``variables`` order).
        """
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise FormulaError(f"no value for the variable{'s' * (len(missing) > 1)} "
                               f"{', '.join(missing)}")
        env = {}
        for name in self.variables:
            value = values[name]
            env[name] = value if isinstance(value, Tensor) else np.asarray(value, np.float64)
        evaluator = _Evaluator(self, env, record)
        with np.errstate(all="ignore"):
            try:
                return evaluator.value(self.tree.body)
            except (ArithmeticError, ValueError, TypeError) as err:
                if isinstance(err, FormulaError):
                    raise
                raise FormulaError(f"cannot evaluate the formula: "
                                   f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                                   ) from None


class _Evaluator:
    """The walk over a checked tree (depth at most MAX_DEPTH, so recursion is safe)."""

    def __init__(self, formula: Formula, env: dict, record: list[Step] | None) -> None:
        self.text = formula.text
        self.env = env
        self.record = record
        self.names: dict[int, str] = {}  # id(tensor) -> step name, for recorded tensors
        self.count = 0
        taken = set(formula.variables)
        self.prefix = next(p for p in ("v", "u", "w", "n", "t", "z", "node")
                           if not any(re.fullmatch(p + r"\d+", v) for v in taken))
        if record is not None:
            for name in formula.variables:
                value = env[name]
                self.names[id(value)] = name
                record.append(Step(name, "input", name, name, (), value))

    def _operand(self, node: ast.AST, value) -> str:
        """How a step refers to an operand: its step name, or a constant as written."""
        name = self.names.get(id(value)) if isinstance(value, Tensor) else None
        if name is not None:
            return name
        text = ast.get_source_segment(self.text, node) or ast.unparse(node)
        simple = isinstance(node, (ast.Constant, ast.Name)) or (
            isinstance(node, ast.Call))
        return text if simple else f"({text})"

    def _step(self, op: str, expr: str, node: ast.AST, operands: list, result):
        if self.record is None or not isinstance(result, Tensor) or id(result) in self.names:
            return result
        if not any(isinstance(v, Tensor) for v in operands):
            return result
        self.count += 1
        name = f"{self.prefix}{self.count}"
        self.names[id(result)] = name
        inputs = tuple(self.names[id(v)] for v in operands
                       if isinstance(v, Tensor) and id(v) in self.names)
        source = ast.get_source_segment(self.text, node) or ast.unparse(node)
        self.record.append(Step(name, op, expr, source, inputs, result))
        return result

    def value(self, node: ast.AST):
        if isinstance(node, ast.Constant):
            return np.float64(float(node.value))
        if isinstance(node, ast.Name):
            return self.env[node.id]
        if isinstance(node, ast.BinOp):
            op, symbol, fn = _BINARY[type(node.op)]
            left, right = self.value(node.left), self.value(node.right)
            result = fn(left, right)
            expr = f"{self._operand(node.left, left)} {symbol} {self._operand(node.right, right)}"
            return self._step(op, expr, node, [left, right], result)
        if isinstance(node, ast.UnaryOp):
            op, symbol = _UNARY[type(node.op)]
            operand = self.value(node.operand)
            if op == "pos":
                return operand
            result = F.neg(operand)
            return self._step(op, f"-{self._operand(node.operand, operand)}", node, [operand],
                              result)
        if isinstance(node, ast.Call):
            fn, _ = FUNCTIONS[node.func.id]
            args = [self.value(a) for a in node.args]
            result = fn(*args)
            operands = ", ".join(self._operand(a, v) for a, v in zip(node.args, args))
            expr = f"{node.func.id}({operands})"
            return self._step(node.func.id, expr, node, args, result)
        raise _refuse(node, self.text)
