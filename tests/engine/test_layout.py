"""The house rules of issue 12, checked by reading chainrule's source with ``ast``.

Every ``.py`` file under the installed package (``Path(chainrule.__file__).parent``, found
without running it) is parsed, never imported, and four rules are checked. Each checker is a
plain function that takes a package folder and returns a list of violations (strings naming
file and line), so the same functions run on chainrule and, in the self-tests at the bottom, on
small fake packages that show each kind of violation caught and each allowed form accepted.
Run as a module from the repository root (``python -m tests.engine.test_layout``), the file
prints the current violations, grouped by rule.

1. **No import cycles between modules.** The graph has an edge from module X to module Y when X
   has an ``import`` statement, at any depth (inside functions, methods, ``if`` and ``try``
   blocks, and under ``if TYPE_CHECKING:`` too: a dependency for the type checker is still a
   dependency), that names Y:

   - ``import a.b.c`` and ``import a.b.c as m``: an edge to ``a.b.c``;
   - ``from a.b import name``: an edge to ``a.b.name`` when that is a module (``from chainrule
     import rules`` imports ``chainrule.rules``), otherwise to ``a.b`` (``from chainrule.rules
     import add`` imports ``chainrule.rules``; ``from chainrule import Tensor`` imports
     ``chainrule/__init__.py``); ``from a.b import *``: an edge to ``a.b``;
   - relative imports are resolved against the importing module's package first.

   Python also runs the ``__init__.py`` of every parent package of the named module (``import
   chainrule.compat.jax.core`` runs ``chainrule/__init__.py``, ``chainrule/compat/__init__.py``
   and ``chainrule/compat/jax/__init__.py`` first). Those implicit edges are **not** counted:
   ``chainrule/__init__.py`` re-exports the public names of most modules, so counting them would
   make every module that imports a sibling by its full name part of one cycle with the root
   package, and the rule would say nothing. The honest rule is that X depends on what X names;
   a package's ``__init__`` is counted when X names the package itself (``import chainrule``,
   ``from chainrule import Tensor``, ``from chainrule.autograd import grad``). A module importing
   itself is not a cycle. Imports made by ``importlib`` from computed names are not seen.
   Each cycle is reported with its modules in order and the file:line of every import on it
   (the strongly connected components are found with Tarjan's algorithm, then covered by
   shortest cycles).

2. **No module assigns attributes to another module or class at import time.** In code that
   runs when the module is imported (the module body, including ``if``/``for``/``while``/
   ``try``/``with`` blocks, class bodies, decorators and default values; not function or lambda
   bodies), no assignment, augmented assignment or ``del`` whose target is an attribute (at any
   depth: ``a.b.c = ...``) of

   - a name bound by an import at module level (``Tensor.x = ...``, ``engine.Tensor = ...``,
     ``backward.sum_to = ...``), or
   - a class defined at module level, from outside that class's body (``ndarray.__neg__ = ...``
     after ``class ndarray:``; methods belong in the class body), or
   - a module-level alias of either (``T = Tensor`` then ``T.x = ...``);

   and no call to ``setattr`` or to a ``__setattr__`` method at all (``for name in ...:
   setattr(Tensor, name, ...)``). Allowed: assignments inside function bodies (``self.x = ...``,
   ``node.grad = ...``), names defined in a class body, attributes of a class nested in the
   class body that assigns them, and attributes of the module's own non-class objects
   (``_state = threading.local(); _state.depth = 0``). Writing the module's own ``globals()``
   is not an attribute assignment and is not checked.

3. **No private name imported across packages.** A name is private when it starts with ``_``
   and is not a dunder (``__version__`` is public). Forbidden when the importing module's folder
   differs from the folder of the module the name is taken from (a sub-package is a different
   folder, as the issue says: "another package (folder)"):

   - ``from chainrule.x import _name`` (a private function, class, constant or submodule);
   - a private component of an imported module path (``import chainrule._format``, ``from
     chainrule._format import format_tensor``);
   - ``module._name`` and ``getattr(module, "_name")`` where ``module`` is, in that scope, a
     name bound by an import of a chainrule module (``import chainrule as cr; cr._x``, ``import
     chainrule; chainrule.func._x``, ``from chainrule import rules as R; R._scaled``);
   - a private keyword argument passed to a function of such a module (``autograd.grad(...,
     _tangents=True)``, ``from chainrule.autograd import grad; grad(..., _fill_retained=False)``):
     issue 12's point 7, the transforms riding on the PyTorch API through private keywords.

   Within one folder all of these are fine. Private attributes of objects (``tensor._data``)
   are out of scope: statically they cannot be told apart from a module's names.

4. **Every module has a docstring.**

All four rules hold for the package.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# the installed package, found without running it: the static checks hold even while a
# refactor leaves it unimportable (the same folder as ``Path(chainrule.__file__).parent``)
PACKAGE_DIR = Path(importlib.util.find_spec("chainrule").origin).parent

# nodes that open a new scope: their bodies do not run when the enclosing code runs
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_NODES = (*FUNCTION_NODES, ast.ClassDef)


# ------------------------------------------------------------------------------------------------
# Reading a package


@dataclass(frozen=True)
class SourceModule:
    """One ``.py`` file of the package under check, parsed."""

    name: str  # dotted: "chainrule.compat.jax.core"; a package's __init__ is the package's name
    path: Path
    display_path: str  # relative to the folder holding the package: "chainrule/compat/jax/core.py"
    is_package: bool  # an __init__.py
    tree: ast.Module

    @property
    def package(self) -> str:
        """The dotted name of the folder that holds this file (the package it belongs to)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    def at(self, line: int) -> str:
        return f"{self.display_path}:{line}"


def read_package(package_dir: Path) -> dict[str, SourceModule]:
    """Every ``.py`` file under ``package_dir``, parsed, keyed by dotted module name."""
    package_dir = Path(package_dir)
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent)
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules[name] = SourceModule(name, path, relative.as_posix(), is_package, tree)
    return modules


def folder_of(package: str) -> str:
    """A dotted package name as a folder: ``chainrule.nn`` -> ``chainrule/nn/``."""
    return package.replace(".", "/") + "/"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def longest_known_prefix(dotted: str, modules: Mapping[str, SourceModule]) -> str | None:
    """The longest leading part of ``dotted`` that names a module of the package, if any."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def from_import_base(module: SourceModule, node: ast.ImportFrom) -> str | None:
    """The absolute dotted module of ``from BASE import ...`` (relative imports resolved)."""
    if node.level == 0:
        return node.module
    package_parts = module.package.split(".")
    levels_up = node.level - 1
    if levels_up >= len(package_parts):
        return None  # beyond the top-level package: Python refuses it too
    base_parts = package_parts[: len(package_parts) - levels_up]
    if node.module:
        base_parts += node.module.split(".")
    return ".".join(base_parts)


@dataclass(frozen=True)
class ImportedName:
    """One name of one import statement, resolved against the package under check."""

    line: int
    bound_name: str  # the name the statement binds in its scope
    imported_module: str | None  # the package module the statement names (the edge), if any
    bound_module: str | None  # the package module bound_name refers to, if it is one
    taken_from: str | None  # for ``from M import name``: M; None for ``import``
    name: str  # for ``from M import name``: name; for ``import a.b``: "a.b"


def resolve_import(
    module: SourceModule, node: ast.Import | ast.ImportFrom, modules: Mapping[str, SourceModule]
) -> Iterator[ImportedName]:
    """The names one import statement binds, and which package modules they name."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            named = longest_known_prefix(alias.name, modules)
            if alias.asname:
                bound_name = alias.asname
                bound_module = alias.name if alias.name in modules else None
            else:  # ``import a.b.c`` binds ``a``
                bound_name = alias.name.partition(".")[0]
                bound_module = bound_name if bound_name in modules else None
            yield ImportedName(node.lineno, bound_name, named, bound_module, None, alias.name)
        return
    base = from_import_base(module, node)
    if base is None:
        return
    base_module = longest_known_prefix(base, modules)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            named, bound_module = submodule, submodule
        else:
            named, bound_module = base_module, None
        bound_name = alias.asname or alias.name
        yield ImportedName(node.lineno, bound_name, named, bound_module, base, alias.name)


def import_time_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node evaluated when the module is imported: not function or lambda bodies."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, FUNCTION_NODES):
            arguments = node.args
            pending.extend(arguments.defaults)
            pending.extend(default for default in arguments.kw_defaults if default is not None)
            if not isinstance(node, ast.Lambda):
                pending.extend(node.decorator_list)
            continue
        pending.extend(ast.iter_child_nodes(node))


# ------------------------------------------------------------------------------------------------
# Rule 1: no import cycles


def import_graph(package_dir: Path) -> dict[str, dict[str, list[int]]]:
    """For each module: the package modules it imports, each with the lines that import it."""
    modules = read_package(package_dir)
    graph: dict[str, dict[str, list[int]]] = {name: {} for name in modules}
    for module in modules.values():
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for imported in resolve_import(module, node, modules):
                target = imported.imported_module
                if target is None or target == module.name:
                    continue
                lines = graph[module.name].setdefault(target, [])
                if imported.line not in lines:
                    lines.append(imported.line)
    for edges in graph.values():
        for lines in edges.values():
            lines.sort()
    return graph


def strongly_connected_components(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; each component's members sorted by name."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)

    for root in sorted(graph):
        if root in index:
            continue
        visit(root)
        work = [(root, iter(sorted(graph.get(root, {}))))]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    visit(successor)
                    work.append((successor, iter(sorted(graph.get(successor, {})))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle_through(
    start: str, graph: Mapping[str, Mapping[str, object]], members: set[str]
) -> list[str]:
    """The modules of a shortest cycle from ``start`` back to it, staying within ``members``."""
    came_from: dict[str, str] = {}
    frontier = deque([start])
    while frontier:
        node = frontier.popleft()
        for successor in sorted(graph.get(node, {})):
            if successor not in members:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if successor not in came_from:
                came_from[successor] = node
                frontier.append(successor)
    raise AssertionError(f"{start} is on no cycle within {sorted(members)}")


def find_import_cycles(package_dir: Path) -> list[str]:
    """Each import cycle, its modules in order, with the file:line of every import on it."""
    modules = read_package(package_dir)
    graph = import_graph(package_dir)
    violations = []
    for component in strongly_connected_components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        on_a_reported_cycle: set[str] = set()
        for start in component:  # cover the component with shortest cycles
            if start in on_a_reported_cycle:
                continue
            cycle = shortest_cycle_through(start, graph, members)
            on_a_reported_cycle.update(cycle)
            steps = [" -> ".join([*cycle, cycle[0]])]
            for importer, imported in zip(cycle, [*cycle[1:], cycle[0]]):
                lines = ", ".join(map(str, graph[importer][imported]))
                steps.append(f"    {modules[importer].display_path}:{lines} imports {imported}")
            violations.append("\n".join(steps))
    return violations


# ------------------------------------------------------------------------------------------------
# Rule 2: nothing assigned onto other modules or classes at import time


def attribute_root(target: ast.expr) -> ast.Name | None:
    """The name an attribute target hangs from: ``Tensor`` for ``Tensor.T.fget = ...``."""
    if not isinstance(target, ast.Attribute):
        return None
    while isinstance(target, ast.Attribute):
        target = target.value
    return target if isinstance(target, ast.Name) else None


def flattened_targets(node: ast.AST) -> Iterator[ast.expr]:
    """The targets an assignment or ``del`` writes, tuples and starred targets unpacked."""
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    else:
        return
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
        else:
            yield target


def module_level_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """The module body's statements, entering compound statements but not classes or functions."""
    pending: list[ast.AST] = list(reversed(tree.body))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.stmt):
            yield node
        if isinstance(node, SCOPE_NODES):
            continue
        for child in reversed(list(ast.iter_child_nodes(node))):
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                pending.append(child)


def names_not_to_patch(module: SourceModule) -> dict[str, str]:
    """Module-level names whose attributes must not be assigned, each with the reason why."""
    protected: dict[str, str] = {}
    for statement in module_level_statements(module.tree):
        if isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                if alias.name != "*":
                    bound_name = alias.asname or alias.name.partition(".")[0]
                    protected[bound_name] = "an imported name"
        elif isinstance(statement, ast.ClassDef):
            protected[statement.name] = "a class, outside its class body"
        elif (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Name)
            and statement.value.id in protected
        ):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    protected[target.id] = f"an alias of {statement.value.id}"
    return protected


def is_setattr_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    return (isinstance(function, ast.Name) and function.id == "setattr") or (
        isinstance(function, ast.Attribute) and function.attr == "__setattr__"
    )


def find_import_time_patching(package_dir: Path) -> list[str]:
    """Attributes of imported names or classes assigned, and ``setattr`` called, at import time."""
    violations = []
    for module in read_package(package_dir).values():
        protected = names_not_to_patch(module)
        found = []
        for node in import_time_nodes(module.tree):
            if is_setattr_call(node):
                call = ast.unparse(node)
                call = call if len(call) <= 70 else call[:67] + "..."
                found.append((node.lineno, f"calls {call} at import time"))
                continue
            for target in flattened_targets(node):
                root = attribute_root(target)
                if root is not None and root.id in protected:
                    verb = "deletes" if isinstance(node, ast.Delete) else "assigns"
                    found.append(
                        (node.lineno, f"{verb} {ast.unparse(target)} at import time "
                                      f"({root.id} is {protected[root.id]})")
                    )
        violations += [f"{module.at(line)}: {what}" for line, what in sorted(found)]
    return violations


# ------------------------------------------------------------------------------------------------
# Rule 3: no private names across package folders


def scope_contents(scope: ast.AST) -> tuple[list[ast.AST], list[ast.AST]]:
    """The nodes evaluated in ``scope`` itself, and the scopes nested directly inside it."""
    if isinstance(scope, ast.Lambda):
        pending: list[ast.AST] = [scope.body]
    else:
        pending = list(scope.body)
    own, nested = [], []
    while pending:
        node = pending.pop()
        own.append(node)
        if isinstance(node, SCOPE_NODES):
            nested.append(node)
            if isinstance(node, ast.ClassDef):  # bases and decorators run in the outer scope
                pending.extend(node.bases)
                pending.extend(keyword.value for keyword in node.keywords)
            else:
                arguments = node.args
                pending.extend(arguments.defaults)
                pending.extend(d for d in arguments.kw_defaults if d is not None)
            if not isinstance(node, ast.Lambda):
                pending.extend(node.decorator_list)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return own, nested


def parameter_names(scope: ast.AST) -> set[str]:
    if not isinstance(scope, FUNCTION_NODES):
        return set()
    arguments = scope.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [argument for argument in (arguments.vararg, arguments.kwarg) if argument]
    return {argument.arg for argument in every}


def module_bound_by(
    expression: ast.expr, env: Mapping[str, ImportedName | None], modules
) -> str | None:
    """The package module ``expression`` refers to (``cr``, ``chainrule.func``), if it is one."""
    if isinstance(expression, ast.Name):
        imported = env.get(expression.id)
        return imported.bound_module if imported is not None else None
    if isinstance(expression, ast.Attribute):
        parent = module_bound_by(expression.value, env, modules)
        if parent is not None and f"{parent}.{expression.attr}" in modules:
            return f"{parent}.{expression.attr}"
    return None


def function_home(
    function: ast.expr, env: Mapping[str, ImportedName | None], modules
) -> tuple[str, str] | None:
    """For a called package function (``grad`` or ``autograd.grad``): its module and name."""
    if isinstance(function, ast.Name):
        imported = env.get(function.id)
        if imported is not None and imported.bound_module is None and imported.taken_from:
            home = longest_known_prefix(imported.taken_from, modules)
            if home is not None:
                return home, imported.name
    elif isinstance(function, ast.Attribute):
        owner = module_bound_by(function.value, env, modules)
        if owner is not None and f"{owner}.{function.attr}" not in modules:
            return owner, function.attr
    return None


def private_components(dotted: str) -> Iterator[tuple[str, str]]:
    """Each private part of a module path, with the module it is a name of."""
    parts = dotted.split(".")
    for position in range(1, len(parts)):
        if is_private(parts[position]):
            yield parts[position], ".".join(parts[:position])


class CrossPackagePrivateNames:
    """The private names one module takes from modules in other folders (rule 3)."""

    def __init__(self, module: SourceModule, modules: Mapping[str, SourceModule], root: str):
        self.module, self.modules, self.root_package = module, modules, root
        self.found: set[tuple[int, str]] = set()

    def violations(self) -> list[str]:
        self.check_scope(self.module.tree, {})
        return [f"{self.module.at(line)}: {what}" for line, what in sorted(self.found)]

    def check(self, line: int, name: str, defined_in: str, action: str) -> None:
        source = self.modules.get(defined_in)
        defining_package = source.package if source else defined_in
        if is_private(name) and defining_package != self.module.package:
            where = f"in {folder_of(defining_package)}, not {folder_of(self.module.package)}"
            self.found.add((line, f"{action} ({where})"))

    def check_import(self, imported: ImportedName) -> None:
        module_path = imported.name if imported.taken_from is None else imported.taken_from
        if module_path.partition(".")[0] != self.root_package:
            return
        for name, defined_in in private_components(module_path):
            self.check(imported.line, name, defined_in, f"imports private module {name} of "
                                                        f"{defined_in}")
        if imported.taken_from is not None and imported.name != "*":
            name, defined_in = imported.name, imported.taken_from
            self.check(imported.line, name, defined_in, f"imports private name {name} of "
                                                        f"{defined_in}")

    def check_scope(self, scope: ast.AST, outer_env: Mapping[str, ImportedName | None]) -> None:
        own, nested = scope_contents(scope)
        bound_here: dict[str, ImportedName | None] = dict.fromkeys(parameter_names(scope))
        imported_here: dict[str, ImportedName | None] = {}
        for node in own:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for imported in resolve_import(self.module, node, self.modules):
                    imported_here[imported.bound_name] = imported
                    self.check_import(imported)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound_here[node.id] = None
            elif isinstance(node, SCOPE_NODES) and not isinstance(node, ast.Lambda):
                bound_here[node.name] = None
        env = {**outer_env, **bound_here, **imported_here}
        for node in own:
            if isinstance(node, ast.Attribute):
                self.check_attribute(node, env)
            elif isinstance(node, ast.Call):
                self.check_call(node, env)
        # a class body's names are not visible in the functions defined inside it
        env_for_nested = outer_env if isinstance(scope, ast.ClassDef) else env
        for inner in nested:
            self.check_scope(inner, env_for_nested)

    def check_attribute(self, node: ast.Attribute, env) -> None:
        owner = module_bound_by(node.value, env, self.modules)
        if owner is not None:
            self.check(node.lineno, node.attr, owner, f"reads private name {node.attr} of {owner}")

    def check_call(self, node: ast.Call, env) -> None:
        arguments = node.args
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(arguments) >= 2
            and isinstance(arguments[1], ast.Constant)
            and isinstance(arguments[1].value, str)
        ):
            owner = module_bound_by(arguments[0], env, self.modules)
            name = arguments[1].value
            if owner is not None:
                self.check(node.lineno, name, owner, f"reads private name {name} of {owner} "
                                                     "(getattr)")
        home = function_home(node.func, env, self.modules)
        if home is None:
            return
        module_name, function_name = home
        for keyword in node.keywords:
            if keyword.arg is not None:
                self.check(keyword.value.lineno, keyword.arg, module_name,
                           f"passes private keyword {keyword.arg}= to "
                           f"{module_name}.{function_name}")


def find_private_imports_across_packages(package_dir: Path) -> list[str]:
    """Private names taken from a module in another folder: by import, attribute or getattr, and
    private keywords passed to its functions."""
    modules = read_package(package_dir)
    root_package = Path(package_dir).name
    violations = []
    for module in modules.values():
        violations += CrossPackagePrivateNames(module, modules, root_package).violations()
    return violations


# ------------------------------------------------------------------------------------------------
# Rule 4: module docstrings


def find_modules_without_docstring(package_dir: Path) -> list[str]:
    """The modules whose first statement is not a non-empty docstring."""
    return [
        f"{module.display_path}: has no module docstring"
        for module in read_package(package_dir).values()
        if not (ast.get_docstring(module.tree) or "").strip()
    ]


CHECKS = {
    "1. import cycles": find_import_cycles,
    "2. attributes assigned onto other modules or classes at import time": (
        find_import_time_patching
    ),
    "3. private names imported across packages": find_private_imports_across_packages,
    "4. modules without a docstring": find_modules_without_docstring,
}


# ------------------------------------------------------------------------------------------------
# The rules on chainrule itself


def test_the_checks_read_the_whole_package():
    modules = read_package(PACKAGE_DIR)  # a wrong folder would make every check pass vacuously
    assert "chainrule" in modules and modules["chainrule"].is_package
    assert len(modules) >= 10


def test_no_import_cycles_between_modules():
    cycles = find_import_cycles(PACKAGE_DIR)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_nothing_is_assigned_onto_other_modules_or_classes_at_import_time():
    patches = find_import_time_patching(PACKAGE_DIR)
    assert not patches, "assigned at import time:\n" + "\n".join(patches)


def test_only_the_backward_walk_imports_buffer_reuse():
    """Buffer reuse is the engine's decision: the rules declare products with the gradient
    (``rules.derivative``) and never reach ``chainrule.buffers`` themselves.  A compiled
    plan's backward pass (one node's rule, run by the engine) reads from it only whether the
    running pass frees the graph, so that it may free what it saved; its fused regions, only
    whether reference counts can be trusted."""
    graph = import_graph(PACKAGE_DIR)
    importers = sorted(name for name, edges in graph.items() if "chainrule.buffers" in edges)
    assert importers == ["chainrule.backward", "chainrule.compiler.fusion",
                         "chainrule.compiler.plan"]


def test_no_private_name_is_imported_from_another_package():
    imports = find_private_imports_across_packages(PACKAGE_DIR)
    assert not imports, "private names across packages:\n" + "\n".join(imports)


def test_every_module_has_a_docstring():
    missing = find_modules_without_docstring(PACKAGE_DIR)
    assert not missing, "\n".join(missing)


# ------------------------------------------------------------------------------------------------
# The checkers on fake packages: each violation is caught, each allowed form accepted


def fake_package(tmp_path: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (paths relative to the package folder) as package ``fakepkg``."""
    package_dir = tmp_path / "fakepkg"
    for relative, source in {"__init__.py": '"""Fake."""\n', **files}.items():
        path = package_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        init = path.parent / "__init__.py"
        if not init.exists():
            init.write_text('"""Fake sub-package."""\n', encoding="utf-8")
    return package_dir


class TestImportGraph:
    def test_every_form_of_import_is_an_edge_to_the_module_it_names(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": """\
                import fakepkg.b
                import fakepkg.sub.c as c
                from fakepkg import d
                from fakepkg.e import helper
                from . import f
                from .sub import g
                from .sub.h import *
                import numpy

                def later():
                    from fakepkg import i
            """,
            **{f"{name}.py": "" for name in "bdefi"},
            **{f"sub/{name}.py": "" for name in "cgh"},
        })
        assert import_graph(package)["fakepkg.a"] == {
            "fakepkg.b": [1], "fakepkg.sub.c": [2], "fakepkg.d": [3], "fakepkg.e": [4],
            "fakepkg.f": [5], "fakepkg.sub.g": [6], "fakepkg.sub.h": [7], "fakepkg.i": [11],
        }

    def test_a_name_from_a_package_is_an_edge_to_its_init(self, tmp_path):
        package = fake_package(tmp_path, {
            "sub/__init__.py": "SETTING = 1\n",
            "sub/x.py": """\
                from fakepkg.sub import SETTING
                from .. import VERSION
                from . import y
            """,
            "sub/y.py": "",
        })
        assert import_graph(package)["fakepkg.sub.x"] == {
            "fakepkg.sub": [1], "fakepkg": [2], "fakepkg.sub.y": [3],
        }

    def test_relative_imports_from_an_init_resolve_against_the_package_itself(self, tmp_path):
        package = fake_package(tmp_path, {
            "sub/__init__.py": "from . import x\nfrom .x import thing\nfrom .. import top\n",
            "sub/x.py": "",
            "top.py": "",
        })
        assert import_graph(package)["fakepkg.sub"] == {"fakepkg.sub.x": [1, 2], "fakepkg.top": [3]}


class TestImportCycles:
    def test_an_import_inside_a_function_closes_a_cycle(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": "import fakepkg.b\n",
            "b.py": "def late():\n    from fakepkg import a\n",
        })
        assert find_import_cycles(package) == [
            "fakepkg.a -> fakepkg.b -> fakepkg.a\n"
            "    fakepkg/a.py:1 imports fakepkg.b\n"
            "    fakepkg/b.py:2 imports fakepkg.a"
        ]

    def test_a_longer_cycle_is_reported_in_order(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": "from .b import x\n",
            "b.py": "from fakepkg import c\nx = 1\n",
            "c.py": "class C:\n    def m(self):\n        import fakepkg.a\n",
        })
        (cycle,) = find_import_cycles(package)
        assert cycle.splitlines()[0] == "fakepkg.a -> fakepkg.b -> fakepkg.c -> fakepkg.a"
        assert "fakepkg/c.py:3 imports fakepkg.a" in cycle

    def test_every_module_of_a_tangle_is_on_some_reported_cycle(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": "import fakepkg.b\nimport fakepkg.c\n",
            "b.py": "import fakepkg.a\n",
            "c.py": "import fakepkg.a\n",
        })
        cycles = [cycle.splitlines()[0] for cycle in find_import_cycles(package)]
        assert cycles == [
            "fakepkg.a -> fakepkg.b -> fakepkg.a", "fakepkg.c -> fakepkg.a -> fakepkg.c"
        ]

    def test_a_name_imported_from_a_package_init_that_imports_back_is_a_cycle(self, tmp_path):
        package = fake_package(tmp_path, {
            "sub/__init__.py": "from fakepkg.sub.impl import work\n\ndef helper():\n    pass\n",
            "sub/impl.py": "def work():\n    from fakepkg.sub import helper\n",
        })
        (cycle,) = find_import_cycles(package)
        assert cycle.splitlines()[0] == "fakepkg.sub -> fakepkg.sub.impl -> fakepkg.sub"

    def test_reexports_in_inits_and_imports_of_siblings_are_not_cycles(self, tmp_path):
        package = fake_package(tmp_path, {
            "__init__.py": '"""Fake."""\nfrom fakepkg.a import f\nfrom fakepkg.sub.b import g\n',
            "a.py": "from fakepkg.sub.b import g\n\ndef f():\n    from fakepkg import sub\n",
            "sub/__init__.py": "from fakepkg.sub.b import g\n",
            "sub/b.py": "import fakepkg.sub.c\nfrom fakepkg.sub import c\n\ndef g():\n    pass\n",
            "sub/c.py": "",
        })
        assert find_import_cycles(package) == []

    def test_a_module_importing_itself_is_not_a_cycle(self, tmp_path):
        package = fake_package(tmp_path, {"a.py": "def f():\n    from fakepkg import a\n"})
        assert find_import_cycles(package) == []

    def test_tarjan_finds_components_in_a_graph_given_directly(self):
        graph = {"a": {"b": 0}, "b": {"c": 0}, "c": {"a": 0, "d": 0}, "d": {"e": 0}, "e": {"d": 0}}
        assert sorted(strongly_connected_components(graph)) == [["a", "b", "c"], ["d", "e"]]


class TestImportTimePatching:
    def test_each_kind_of_patching_is_caught_with_its_line(self, tmp_path):
        package = fake_package(tmp_path, {
            "tensor.py": '"""T."""\nclass Tensor:\n    pass\n',
            "engine.py": '"""E."""\nTensor = None\n',
            "functions.py": """\
                from fakepkg.tensor import Tensor
                from fakepkg import engine
                import fakepkg.backward as backward
                import fakepkg


                def add(a, b):
                    return a


                Tensor.__add__ = add
                engine.Tensor = backward.Tensor = Tensor
                backward.sum_to = add
                fakepkg.engine.wrap = add
                Tensor.T, Tensor.mT = property(add), property(add)
                for name in ["sub", "mul"]:
                    setattr(Tensor, name, add)
                if True:
                    Tensor.count += 1
                try:
                    del Tensor.old
                except AttributeError:
                    pass
                Alias = Tensor
                Alias.x = 1


                class Local:
                    Tensor.inside_another_class = 1


                Local.method = add
                [setattr(Local, name, add) for name in ["a"]]
                object.__setattr__(Local, "b", add)
            """,
            "backward.py": "",
        })
        found = [line.partition(": ")[0] for line in find_import_time_patching(package)]
        assert found == [f"fakepkg/functions.py:{line}" for line in
                         (11, 12, 12, 13, 14, 15, 15, 17, 19, 21, 25, 29, 32, 33, 34)]

    def test_messages_say_what_was_assigned_and_why_it_is_not_allowed(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": "from fakepkg.b import Tensor\nTensor.x = 1\nclass C:\n    pass\nC.y = 2\n",
            "b.py": "class Tensor:\n    pass\n",
        })
        assert find_import_time_patching(package) == [
            "fakepkg/a.py:2: assigns Tensor.x at import time (Tensor is an imported name)",
            "fakepkg/a.py:5: assigns C.y at import time (C is a class, outside its class body)",
        ]

    def test_function_bodies_class_bodies_and_local_objects_are_allowed(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": """\
                import threading
                from fakepkg.b import Tensor


                class Counter:
                    total = 0
                    label: str = "counter"

                    def __init__(self, tensor):
                        self.count = 0
                        tensor.seen = True
                        setattr(self, "name", "c")
                        Counter.total += 1

                    class Inner:
                        pass

                    Inner.kind = "nested"


                def patch_later(tensor):
                    Tensor.marked = True
                    setattr(tensor, "flag", 1)


                _state = threading.local()
                _state.depth = 0
                mark = lambda tensor: setattr(tensor, "flag", 1)
                globals()["generated"] = 1
            """,
            "b.py": "class Tensor:\n    pass\n",
        })
        assert find_import_time_patching(package) == []

    def test_decorators_and_defaults_run_at_import_time(self, tmp_path):
        package = fake_package(tmp_path, {
            "a.py": """\
                from fakepkg.b import Tensor


                def f(x=setattr(Tensor, "y", 1)):
                    pass
            """,
            "b.py": "class Tensor:\n    pass\n",
        })
        assert [line.partition(": ")[0] for line in find_import_time_patching(package)] == [
            "fakepkg/a.py:4"
        ]


class TestPrivateNamesAcrossPackages:
    FILES = {
        "core.py": '"""Core."""\n__version__ = "1"\n\ndef _helper():\n    pass\n\ndef helper():\n'
                   "    pass\n",
        "_private.py": '"""A private module."""\ndef public():\n    pass\n',
    }

    def test_each_way_of_reaching_a_private_name_across_folders_is_caught(self, tmp_path):
        package = fake_package(tmp_path, {**self.FILES, "nn/functional.py": """\
            from fakepkg.core import _helper
            import fakepkg.core as core
            import fakepkg
            from fakepkg import _private
            from fakepkg._private import public
            import fakepkg._private
            from .. import core as core_again
            from ..core import _helper as renamed

            core._helper()
            fakepkg.core._helper()
            getattr(core, "_helper")


            def late():
                from fakepkg import core as late_core
                return late_core._helper, core_again._helper
        """})
        found = find_private_imports_across_packages(package)
        assert [line.partition(": ")[0] for line in found] == [
            f"fakepkg/nn/functional.py:{line}" for line in (1, 4, 5, 6, 8, 10, 11, 12, 17)
        ]
        assert found[0] == (
            "fakepkg/nn/functional.py:1: imports private name _helper of fakepkg.core "
            "(in fakepkg/, not fakepkg/nn/)"
        )

    def test_private_keywords_passed_to_another_folders_functions_are_caught(self, tmp_path):
        package = fake_package(tmp_path, {
            "autograd/__init__.py": '"""Autograd."""\ndef grad(x, _tangents=False):\n    pass\n',
            "autograd/gradcheck.py": "from fakepkg.autograd import grad\ngrad(1, _tangents=1)\n",
            "func.py": """\
                from fakepkg import autograd
                from fakepkg.autograd import grad as autograd_grad
                import numpy as np


                def local(x, _cache=None):
                    pass


                autograd.grad(1, _tangents=True)
                autograd_grad(
                    1,
                    _tangents=True,
                )
                autograd.grad(1, retain_graph=True, **{"_hidden": 1})
                local(1, _cache={})
                np.sum(1, _private=2)
            """,
        })
        assert find_private_imports_across_packages(package) == [
            "fakepkg/func.py:10: passes private keyword _tangents= to fakepkg.autograd.grad "
            "(in fakepkg/autograd/, not fakepkg/)",
            "fakepkg/func.py:13: passes private keyword _tangents= to fakepkg.autograd.grad "
            "(in fakepkg/autograd/, not fakepkg/)",
        ]

    def test_a_sub_package_is_another_folder(self, tmp_path):
        package = fake_package(tmp_path, {
            "nn/__init__.py": '"""NN."""\ndef _shared():\n    pass\n',
            "nn/layers/dense.py": "from fakepkg.nn import _shared\n",
        })
        assert len(find_private_imports_across_packages(package)) == 1

    def test_same_folder_dunders_aliases_and_object_attributes_are_allowed(self, tmp_path):
        package = fake_package(tmp_path, {**self.FILES, "sibling.py": """\
            from fakepkg.core import _helper
            from . import _private
            from .core import _helper as again
            import fakepkg.core as core
            core._helper()
        """, "nn/functional.py": """\
            import fakepkg.core as core
            from fakepkg.core import __version__
            from fakepkg.core import helper as _helper
            from fakepkg import core as _core


            def f(tensor, core):
                return tensor._data, core._anything


            def g(tensor):
                return tensor._data, core.__doc__, core.helper, _core.helper


            class Layer:
                import fakepkg.core as core

                def forward(self):
                    return self._weight
        """})
        assert find_private_imports_across_packages(package) == []

    def test_other_libraries_private_names_are_not_our_business(self, tmp_path):
        package = fake_package(tmp_path, {
            "nn/functional.py": "import numpy as np\nfrom numpy import _core\nnp._NoValue\n"
        })
        assert find_private_imports_across_packages(package) == []


class TestDocstrings:
    def test_modules_without_a_docstring_are_listed(self, tmp_path):
        package = fake_package(tmp_path, {
            "documented.py": '"""Says what it is for."""\nx = 1\n',
            "bare.py": "x = 1\n",
            "comment_only.py": "# a comment is not a docstring\nx = 1\n",
            "empty_docstring.py": '""" """\n',
            "sub/__init__.py": "",
        })
        assert find_modules_without_docstring(package) == [
            "fakepkg/bare.py: has no module docstring",
            "fakepkg/comment_only.py: has no module docstring",
            "fakepkg/empty_docstring.py: has no module docstring",
            "fakepkg/sub/__init__.py: has no module docstring",
        ]


if __name__ == "__main__":  # the current violations, as a to-do list
    for title, check in CHECKS.items():
        violations = check(PACKAGE_DIR)
        print(f"## {title}: {len(violations)}")
        print("\n".join(violations) or "(none)", end="\n\n")
