"""Draw the dependency graph of a recorded computation, with values and adjoints.

:func:`graph` walks the nodes that chainrule recorded for some output tensors and returns a
:class:`Graph`: operations and tensors as vertices, edges from inputs to outputs.

* **Tensors** are the leaves that require grad (named ``x0``, ``x1``, ... unless ``names``
  names them), the result of every recorded operation, and (optionally) the constants an
  operation saved, e.g. the ``2`` of ``x ** 2``.  Each shows its name, shape and dtype, its
  value when it is small and known, and its adjoint.
* **Operations** are the recorded nodes (``grad_fn``), labelled with the primitive's name
  (``Mul``, ``Log``, ...).  An operation with several inputs numbers its incoming edges by
  argument position, so ``Div`` of ``1`` and ``x`` reads as ``1 / x``.

Where the values come from.  A node keeps its result only when its derivative rule reads it, so
the value of an intermediate tensor is shown when it can be found honestly: the node's saved
result, a consumer's saved input, or a tensor passed as an output or in ``names``.  A value that
was changed in place after it was used (its version counter moved) is not shown.

Where the adjoints come from (``grads=True``).  The adjoint of a tensor is the gradient of the
outputs that reaches it in a reverse pass.  chainrule does not keep these gradients, so
:func:`graph` computes them again: while the graph's saved values are still alive (a forward
pass not yet differentiated, or a backward pass with ``retain_graph=True``), it runs
``chainrule.autograd.grad(outputs, every_tensor_of_the_graph, grad_outputs,
retain_graph=True, allow_unused=True)``, one more reverse pass through the very same recorded
nodes and rules.  Intermediate tensors are not reachable from their nodes (a node keeps raw
arrays), so the inputs of that call are stand-in tensors whose ``grad_fn`` is the node (their
value is never read).  This pass does not touch any ``.grad`` (``retain_grad`` tensors
included), but the tensor hooks registered on the graph run again, as in any backward pass:
the adjoints are the gradients after the hooks, as the engine passes them on.  The outputs are
seeded with ones when they have one element each, else with ``grad_outputs``.

When the graph has been freed (a backward pass without ``retain_graph=True``) the adjoints of
intermediate tensors are gone for good; the graph then shows what is still there, the ``.grad``
of the leaves (and of tensors that called ``retain_grad()`` and are passed in ``names``),
labelled ``.grad``, and says in its caption (``Graph.notes``) why adjoints are missing.
Adjoints are never guessed.

Rendering.  ``Graph.source`` is DOT text and needs nothing.  ``Graph.save(path)`` writes SVG,
PNG or PDF by the file's extension (``.dot``/``.gv``: the DOT text), and Jupyter shows a Graph
inline (``_repr_svg_``).  Pictures are drawn by Graphviz where the Python package ``graphviz``
and the ``dot`` program are installed, otherwise by a small built-in matplotlib renderer (a
layered layout, drawn on matplotlib's non-interactive canvases: no window, no pyplot, no change
of backend).  With neither, rendering raises ImportError saying what to install.
"""

from __future__ import annotations

import io
import os
import shutil
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from chainrule.engine import FREED, Node
from chainrule.gradient import gradients
from chainrule.rules import REGISTRY
from chainrule.tensor import Tensor, wrap

__all__ = ["Graph", "GraphNode", "graph"]

INSTALL_HINT = (
    "chainrule.viz needs matplotlib or Graphviz to draw a graph: pip install 'chainrule[viz]' "
    "(matplotlib), or pip install 'chainrule[graphviz]' together with Graphviz's dot program "
    "(https://graphviz.org/download/). Graph.source gives the DOT text without either."
)

Renderer = Literal["auto", "graphviz", "matplotlib"]
FORMATS = ("svg", "png", "pdf")

# fill colours, shared by the DOT text and the built-in renderer
_STYLE = {
    "op": {"fill": "#fde7c4", "edge": "#9a6a1f", "rounded": False, "dashed": False},
    "leaf": {"fill": "#cfe2fb", "edge": "#2f5e9e", "rounded": True, "dashed": False},
    "tensor": {"fill": "#eef3f9", "edge": "#5d7390", "rounded": True, "dashed": False},
    "constant": {"fill": "#f2f2f2", "edge": "#8a8a8a", "rounded": True, "dashed": True},
}


@dataclass(frozen=True)
class GraphNode:
    """One vertex of a :class:`Graph`.

    ``kind`` is ``"op"`` (a recorded operation), ``"leaf"`` (a leaf tensor that requires grad),
    ``"tensor"`` (the result of an operation) or ``"constant"`` (an input that does not require
    grad).  ``value`` and ``grad`` are read-only arrays, or None where they are not known (or
    not asked for); ``grad_source`` says where ``grad`` comes from: ``"adjoint"`` (computed by
    a reverse pass from the outputs) or ``".grad"`` (the tensor's ``.grad`` field).
    """

    id: str
    kind: Literal["op", "leaf", "tensor", "constant"]
    name: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    value: np.ndarray | None = None
    grad: np.ndarray | None = None
    grad_source: str | None = None
    is_output: bool = False
    lines: tuple[str, ...] = ()  # the label, one line each
    tooltip: str = ""


class Graph:
    """The dependency graph of a recorded computation, as returned by :func:`graph`.

    ``nodes`` are :class:`GraphNode` s in topological order (inputs first); ``edges`` are
    ``(source id, target id, argument position or None)``; ``notes`` explain what is not shown.
    """

    def __init__(self, nodes: Sequence[GraphNode], edges: Sequence[tuple[str, str, int | None]],
                 notes: Sequence[str] = (), rankdir: str = "LR") -> None:
        self.nodes: tuple[GraphNode, ...] = tuple(nodes)
        self.edges: tuple[tuple[str, str, int | None], ...] = tuple(edges)
        self.notes: tuple[str, ...] = tuple(notes)
        self.rankdir = rankdir

    def __repr__(self) -> str:
        ops = sum(n.kind == "op" for n in self.nodes)
        return (f"<chainrule.viz.Graph: {ops} operations, {len(self.nodes) - ops} tensors, "
                f"{len(self.edges)} edges>")

    def node(self, name: str) -> GraphNode:
        """The tensor vertex called ``name`` (e.g. ``"x0"``, or a name given in ``names``)."""
        for n in self.nodes:
            if n.kind != "op" and n.name == name:
                return n
        raise KeyError(f"no tensor named {name!r} in this graph; names: "
                       f"{[n.name for n in self.nodes if n.kind != 'op' and n.name]}")

    @property
    def source(self) -> str:
        """The graph as Graphviz DOT text (needs neither Graphviz nor matplotlib)."""
        out = ["digraph chainrule {"]
        graph_attrs = [f"rankdir={self.rankdir}", 'fontname="Helvetica"', "fontsize=10",
                       'nodesep=0.25', 'ranksep=0.35']
        if self.notes:
            caption = "\\l".join(_escape(n) for n in self.notes) + "\\l"
            graph_attrs += [f'label="{caption}"', "labelloc=b", "labeljust=l"]
        out.append(f"  graph [{', '.join(graph_attrs)}];")
        out.append('  node [fontname="Helvetica", fontsize=10, margin="0.12,0.05"];')
        out.append('  edge [color="#555555", arrowsize=0.7];')
        for n in self.nodes:
            style = _STYLE[n.kind]
            styles = ["filled"] + (["rounded"] if style["rounded"] else []) + (
                ["dashed"] if style["dashed"] else [])
            attrs = [f'label="{_escape_label(n.lines)}"', f'class="{n.kind}"', "shape=box",
                     f'style="{",".join(styles)}"', f'fillcolor="{style["fill"]}"',
                     f'color="{style["edge"]}"']
            if n.is_output:
                attrs.append("penwidth=2")
            if n.tooltip:
                attrs.append(f'tooltip="{_escape(n.tooltip)}"')
            out.append(f"  {n.id} [{', '.join(attrs)}];")
        for src, dst, pos in self.edges:
            extra = (f' [headlabel="{pos}", labelfontsize=8, labelfontcolor="#888888"]'
                     if pos is not None else "")
            out.append(f"  {src} -> {dst}{extra};")
        out.append("}")
        return "\n".join(out) + "\n"

    def render(self, format: str = "svg", *, renderer: Renderer = "auto") -> bytes:
        """The picture as bytes: ``format`` is ``"svg"``, ``"png"`` or ``"pdf"``.

        ``renderer="auto"`` uses Graphviz where the ``graphviz`` package and the ``dot``
        program are installed, else matplotlib; name one to insist on it.
        """
        fmt = format.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"cannot render a graph as {format!r}; formats: "
                             f"{', '.join(FORMATS)}")
        chosen = _choose_renderer(renderer)
        if chosen == "graphviz":
            return _render_graphviz(self.source, fmt)
        return _render_matplotlib(self, fmt)

    def save(self, path: str | os.PathLike, *, renderer: Renderer = "auto") -> Path:
        """Write the graph to ``path``, its format chosen by the extension.

        ``.svg``, ``.png`` and ``.pdf`` are pictures (see :meth:`render`); ``.dot`` and ``.gv``
        are the DOT text.  Returns the path written.
        """
        path = Path(path)
        ext = path.suffix.lower().lstrip(".")
        if ext in ("dot", "gv"):
            path.write_text(self.source, encoding="utf-8")
            return path
        if ext not in FORMATS:
            raise ValueError(f"cannot tell the format of {str(path)!r} from its extension; use "
                             ".svg, .png, .pdf, or .dot/.gv for the DOT text")
        data = self.render(ext, renderer=renderer)
        path.write_bytes(data)
        return path

    def _repr_svg_(self) -> str:
        """Jupyter's inline display."""
        return self.render("svg").decode("utf-8")


# --------------------------------------------------------------------------------------------
# Building the graph


def graph(*outputs: Tensor | Sequence[Tensor], values: bool = True, grads: bool = True,
          names: Mapping[str, Tensor] | Mapping[Tensor, str] | None = None,
          grad_outputs: Sequence[Tensor | None] | Tensor | None = None,
          constants: bool = True, rankdir: Literal["LR", "TB"] = "LR",
          max_elements: int = 6, precision: int = 6) -> Graph:
    """The dependency graph of the computation recorded for ``outputs``.

    Parameters
    ----------
    outputs
        The tensors whose history to draw (tensors, or lists of them).
    values
        Show the values of tensors with at most ``max_elements`` elements, where known.
    grads
        Show adjoints: recomputed by a reverse pass from ``outputs`` while the graph is alive,
        else the ``.grad`` of the leaves (see the module's documentation).
    names
        Display names: ``{"x": x, "h": h}`` (or ``{x: "x"}``).  Unnamed leaves are called
        ``x0``, ``x1``, ... and an unnamed output ``y`` (``y0``, ``y1``, ... for several).
    grad_outputs
        The seed of the reverse pass, one tensor (or None) per output, as in
        :func:`chainrule.autograd.grad`; needed for adjoints of outputs with several elements.
    constants
        Draw the inputs that do not require grad (numbers, plain tensors) as constant nodes.
    rankdir
        ``"LR"`` draws inputs left of outputs, ``"TB"`` above them.
    max_elements, precision
        Values (and adjoints) are shown up to this many elements, with this many significant
        digits.

    >>> import chainrule as cr
    >>> from chainrule.viz import graph
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> g = graph(x * x * 2, names={"x": x})
    >>> print(g.source)
    digraph chainrule {
      graph [rankdir=LR, fontname="Helvetica", fontsize=10, nodesep=0.25, ranksep=0.35];
      node [fontname="Helvetica", fontsize=10, margin="0.12,0.05"];
      edge [color="#555555", arrowsize=0.7];
      t0 [label="x\\nscalar float32\\nvalue = 3\\nadjoint = 12", class="leaf", ...];
      op0 [label="Mul", class="op", ..., tooltip="MulBackward0"];
      t1 [label="scalar float32\\nvalue = 9\\nadjoint = 2", class="tensor", ...];
      c0 [label="constant\\nvalue = 2", class="constant", ...];
      op1 [label="Mul", class="op", ..., tooltip="MulBackward0"];
      t2 [label="y\\nscalar float32\\nvalue = 18\\nadjoint = 1", class="tensor", ...];
      t0 -> op0 [headlabel="0", ...];
      t0 -> op0 [headlabel="1", ...];
      op0 -> t1;
      t1 -> op1 [headlabel="0", ...];
      c0 -> op1 [headlabel="1", ...];
      op1 -> t2;
    }
    >>> g.node("x").grad
    array(12., dtype=float32)
    >>> g.save("x_times_x.svg")  # doctest: +SKIP
    PosixPath('x_times_x.svg')
    """
    outs = _flatten(outputs)
    if not outs:
        raise ValueError("graph() needs at least one output tensor, e.g. graph(y)")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    named = _named(names)
    return _Builder(outs, named, values=values, grads=grads, grad_outputs=grad_outputs,
                    constants=constants, max_elements=max_elements,
                    precision=precision).build(rankdir)


def _flatten(outputs: Iterable[Any]) -> list[Tensor]:
    outs: list[Tensor] = []
    for o in outputs:
        items = o if isinstance(o, (list, tuple)) else [o]
        for t in items:
            if not isinstance(t, Tensor):
                raise TypeError(f"graph() takes chainrule Tensors, got {type(t).__name__}")
            if not any(t is u for u in outs):
                outs.append(t)
    return outs


def _named(names: Any) -> list[tuple[Tensor, str]]:
    if names is None:
        return []
    if not isinstance(names, Mapping):
        raise TypeError("names must be a dict {'x': x, ...} (or {x: 'x', ...}), not "
                        f"{type(names).__name__}")
    pairs = []
    for k, v in names.items():
        if isinstance(k, str) and isinstance(v, Tensor):
            pairs.append((v, k))
        elif isinstance(k, Tensor) and isinstance(v, str):
            pairs.append((k, v))
        else:
            raise TypeError("names must map display names to tensors, {'x': x}, (or tensors to "
                            f"names); got {type(k).__name__}: {type(v).__name__}")
    return pairs


def _key(t: Tensor) -> tuple:
    """The vertex of a tensor: its node's output, or the tensor itself (leaf or constant)."""
    return ("n", id(t.grad_fn)) if t.grad_fn is not None else ("t", id(t))


def _version(t: Tensor) -> int:
    return t._version


def _recorded_version(node: Node, i: int) -> int:
    return node.versions[i] if node.versions is not None else 0


def _saved_args(node: Node) -> Sequence | None:
    args = node.args
    return None if args is None or args is FREED else args


def _postorder(roots: list[Node]) -> list[Node]:
    """The nodes behind ``roots``, every node after its parents (no recursion)."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, 0)]
        while stack:
            node, i = stack[-1]
            parents = node.parents
            while i < len(parents) and not (type(parents[i]) is Node
                                            and id(parents[i]) not in seen):
                i += 1
            if i < len(parents):
                parent = parents[i]
                seen.add(id(parent))
                stack[-1] = (node, i + 1)
                stack.append((parent, 0))
            else:
                stack.pop()
                order.append(node)
    return order


@dataclass
class _Vertex:
    id: str
    kind: str
    name: str = ""
    shape: tuple | None = None
    dtype: Any = None
    value: Any = None
    stale: bool = False  # its value changed in place after it was used
    grad: Any = None
    grad_source: str | None = None
    is_output: bool = False
    tooltip: str = ""
    node: Node | None = None  # op vertices, and the tensor vertex of a node's result
    tensor: Tensor | None = None  # leaves and tensor constants, and known results


class _Builder:
    def __init__(self, outs, named, *, values, grads, grad_outputs, constants, max_elements,
                 precision) -> None:
        self.outs = outs
        self.named = named
        self.values = values
        self.grads = grads
        self.grad_outputs = grad_outputs
        self.constants = constants
        self.max_elements = max_elements
        self.precision = precision
        self.vertices: dict[tuple, _Vertex] = {}
        self.edges: list[tuple[str, str, int | None]] = []
        self.notes: list[str] = []
        self.counts = {"op": 0, "t": 0, "c": 0}
        self.stale: set[int] = set()  # ids of tensors changed in place after they were used

    def _new_id(self, prefix: str) -> str:
        n = self.counts[prefix]
        self.counts[prefix] = n + 1
        return f"{prefix}{n}"

    def _tensor_vertex(self, key: tuple, kind: str, **fields) -> _Vertex:
        vertex = self.vertices.get(key)
        if vertex is None:
            prefix = "c" if kind == "constant" else "t"
            vertex = self.vertices[key] = _Vertex(self._new_id(prefix), kind, **fields)
        return vertex

    def _leaf(self, t: Tensor, kind: str = "leaf") -> _Vertex:
        return self._tensor_vertex(("t", id(t)), kind, shape=t.shape, dtype=t.dtype, tensor=t,
                                   value=t._data, stale=id(t) in self.stale)

    def build(self, rankdir: str) -> Graph:
        order = _postorder([t._node for t in self.outs if t._node is not None])
        results = self._known_results(order)
        # tensors changed in place after some operation used them: their value is not shown
        for node in order:
            args = _saved_args(node)
            for i, p in enumerate(node.parents):
                a = p if isinstance(p, Tensor) else args[i] if args is not None else None
                if isinstance(a, Tensor) and _version(a) != _recorded_version(node, i):
                    self.stale.add(id(a))
        for node in order:
            inputs = []
            args = _saved_args(node)
            for i, p in enumerate(node.parents):
                if type(p) is Node:
                    inputs.append(self.vertices[("n", id(p))])
                elif p is not None:
                    inputs.append(self._leaf(p))
                elif self.constants:
                    inputs.append(self._constant(node, i, args))
                else:
                    inputs.append(None)
            op = _Vertex(self._new_id("op"), "op", name=_op_name(node), tooltip=node.name())
            self.vertices[("op", id(node))] = op
            result = self._tensor_vertex(("n", id(node)), "tensor", shape=tuple(node.shape),
                                         dtype=node.dtype, node=node)
            result.tensor = results.get(id(node))
            result.value = self._result_value(node, result.tensor)
            if result.value is None and self.values:
                result.value = _recompute(node, inputs, args)
            multi = len(node.parents) > 1
            for i, v in enumerate(inputs):
                if v is not None:
                    self.edges.append((v.id, op.id, i if multi else None))
            self.edges.append((op.id, result.id, None))
        for t in self.outs:
            v = self.vertices.get(_key(t))
            if v is None:  # an output with no recorded history: a leaf or a constant
                v = self._leaf(t, "leaf" if t.requires_grad else "constant")
            v.is_output = True
        self._name_vertices()
        if self.grads:
            self._adjoints(order)
        return self._finish(rankdir)

    def _known_results(self, order: list[Node]) -> dict[int, Tensor]:
        """For each node: a tensor holding its result, where one can be reached honestly."""
        known: dict[int, Tensor] = {}
        for t in list(self.outs) + [t for t, _ in self.named]:
            if t._node is not None:
                known.setdefault(id(t._node), t)
        for node in order:  # a consumer's saved input, unchanged since it was saved
            args = _saved_args(node)
            if args is None:
                continue
            for i, (p, a) in enumerate(zip(node.parents, args)):
                if type(p) is Node and isinstance(a, Tensor) and a._node is p:
                    if _version(a) == _recorded_version(node, i):
                        known.setdefault(id(p), a)
                    elif known.get(id(p)) is a:
                        del known[id(p)]  # changed in place after it was used
        return known

    def _result_value(self, node: Node, tensor: Tensor | None) -> Any:
        ans = node.ans
        if ans is not None and ans is not FREED and (node.ans_counter is None
                                                     or node.ans_counter[0] == 0):
            return ans
        return tensor._data if tensor is not None else None

    def _constant(self, node: Node, i: int, args: Sequence | None) -> _Vertex:
        if args is None:  # the node did not save its inputs: the constant's value is unknown
            return self._tensor_vertex(("c", id(node), i), "constant")
        a = args[i]
        if isinstance(a, Tensor):
            return self._leaf(a, "constant")
        value = np.asarray(a)
        return self._tensor_vertex(("c", id(node), i), "constant", value=value,
                                   shape=value.shape if value.ndim else None)

    def _name_vertices(self) -> None:
        for t, name in self.named:
            v = self.vertices.get(_key(t))
            if v is not None:
                v.name = name
        leaves = [v for v in self.vertices.values() if v.kind == "leaf" and not v.name]
        for k, v in enumerate(leaves):
            v.name = f"x{k}"
        outputs = [self.vertices[_key(t)] for t in self.outs]
        unnamed = [v for v in outputs if not v.name]
        for k, v in enumerate(unnamed):
            v.name = "y" if len(outputs) == 1 else f"y{k}"

    # ----------------------------------------------------------------------------------------
    # adjoints

    def _adjoints(self, order: list[Node]) -> None:
        reason = self._recompute_adjoints(order)
        if reason is None:
            return
        shown = False
        for v in self.vertices.values():
            t = v.tensor
            if t is None or not t.requires_grad:
                continue
            if t.is_leaf or t.retains_grad:
                g = t.grad
                if g is not None:
                    v.grad, v.grad_source, shown = g._data, ".grad", True
        self.notes.append(f"adjoints not shown: {reason}")
        if shown:
            self.notes.append(".grad: the gradient accumulated in the tensor's .grad by earlier "
                              "backward passes")

    def _recompute_adjoints(self, order: list[Node]) -> str | None:
        """Fill the adjoints by one more reverse pass; or say why it cannot be done."""
        seeds = self.grad_outputs
        if seeds is None or isinstance(seeds, Tensor):
            seeds = [seeds] * len(self.outs) if seeds is None else [seeds]
        seeds = list(seeds)
        if len(seeds) != len(self.outs):
            raise ValueError(f"grad_outputs has {len(seeds)} entries for {len(self.outs)} "
                             "outputs; pass one tensor (or None) per output")
        roots, root_seeds = [], []
        for t, s in zip(self.outs, seeds):
            if not t.requires_grad:
                continue
            if s is None and t.numel() != 1:
                return (f"output {self.vertices[_key(t)].name} has shape {tuple(t.shape)}, not "
                        "one element: pass grad_outputs= to seed the reverse pass")
            roots.append(t)
            root_seeds.append(s)
        if not roots:
            return "no output requires grad"
        if any(node.saved_values_freed for node in order):
            return ("the graph's saved values were freed by a backward pass; call "
                    "backward(retain_graph=True) (or draw the graph before backward) to see "
                    "the adjoints of every tensor")
        targets, vertices = [], []
        for v in self.vertices.values():
            if v.kind == "leaf":
                targets.append(v.tensor)
            elif v.kind == "tensor" and v.node is not None:
                # a stand-in for the node's result: the engine reads only its grad_fn (and its
                # dtype for the returned gradient), never its value
                node = v.node
                targets.append(v.tensor if v.tensor is not None else
                               wrap(np.broadcast_to(np.zeros((), node.dtype), node.shape), node))
            else:
                continue
            vertices.append(v)
        if not targets:
            return "nothing in the graph requires grad"
        try:
            # (the retain_grad() tensors' .grad is the user's: this pass leaves it alone)
            adjoints = gradients(roots, targets, grad_outputs=root_seeds, retain_graph=True,
                                 allow_unused=True, fill_retained=False)
        except RuntimeError as err:
            warnings.warn(f"chainrule.viz.graph: could not compute the adjoints: {err}",
                          RuntimeWarning, stacklevel=4)
            return f"the reverse pass failed: {err}"
        for v, g in zip(vertices, adjoints):
            if g is not None:
                v.grad, v.grad_source = g._data, "adjoint"
        return None

    # ----------------------------------------------------------------------------------------
    # labels

    def _finish(self, rankdir: str) -> Graph:
        stale = False
        nodes = []
        for v in self.vertices.values():
            value = v.value if self.values and not v.stale else None
            stale |= self.values and v.stale
            lines = self._lines(v, value)
            dtype = str(np.dtype(v.dtype)) if v.dtype is not None else None
            nodes.append(GraphNode(
                id=v.id, kind=v.kind, name=v.name,  # type: ignore[arg-type]
                shape=tuple(v.shape) if v.shape is not None else None, dtype=dtype,
                value=_readonly(value), grad=_readonly(v.grad), grad_source=v.grad_source,
                is_output=v.is_output, lines=lines, tooltip=v.tooltip))
        if stale:
            self.notes.append("value changed in place: the tensor was modified after it was "
                              "used, so its value there is no longer known")
        return Graph(nodes, self.edges, self.notes, rankdir)

    def _lines(self, v: _Vertex, value: Any) -> tuple[str, ...]:
        if v.kind == "op":
            return (v.name,)
        lines = [v.name] if v.name else []
        if v.kind == "constant" and not v.name:
            lines.append("constant")
        if v.dtype is not None:
            shape = tuple(v.shape)
            lines.append(f"{'scalar' if not shape else shape} {np.dtype(v.dtype)}")
        if value is not None and np.size(value) <= self.max_elements:
            lines.append(f"value = {_format(value, self.precision)}")
        elif v.stale and self.values:
            lines.append("value changed in place")
        if v.grad is not None and np.size(v.grad) <= self.max_elements:
            lines.append(f"{v.grad_source} = {_format(v.grad, self.precision)}")
        return tuple(lines)


def _recompute(node: Node, inputs: list[_Vertex | None], args: Sequence | None) -> Any:
    """A result no one kept, computed again from its inputs' values by the primitive's NumPy
    forward (built-in primitives only: they are pure functions); None when an input is unknown.
    """
    if REGISTRY.get(node.prim.name) is not node.prim:
        return None  # e.g. a chainrule.autograd.Function: its forward may have side effects
    raw = []
    for i, (p, v) in enumerate(zip(node.parents, inputs)):
        if p is None and args is not None:
            a = args[i]
            if isinstance(a, Tensor) and _version(a) != _recorded_version(node, i):
                return None
            raw.append(a._data if isinstance(a, Tensor) else a)
        elif v is None or v.value is None or v.stale:
            return None
        else:
            raw.append(v.value)
    try:
        value = node.prim.impl(*raw, **(node.params or {}))
    except Exception:  # noqa: BLE001  (a value we cannot recompute is simply not shown)
        return None
    value = np.asarray(value)
    return value if value.shape == tuple(node.shape) and value.dtype == node.dtype else None


def _op_name(node: Node) -> str:
    # PyTorch's node name without its suffix: "Mul" for MulBackward0, a Function's class name
    return node.prim.node_name.removesuffix("Backward0").removesuffix("Backward")


def _readonly(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    view = np.array(a) if not isinstance(a, np.ndarray) else a.view()
    view.flags.writeable = False
    return view


def _format(value: Any, precision: int) -> str:
    a = np.asarray(value)
    kind = a.dtype.kind
    if kind == "f":
        fmt = lambda v: f"{float(v):.{precision}g}"
    elif kind == "c":
        fmt = lambda v: f"{complex(v):.{precision}g}"
    else:
        fmt = str
    if a.ndim == 0:
        return fmt(a.item())
    text = np.array2string(a, separator=", ", formatter={"all": fmt}, max_line_width=10**6,
                           threshold=10**6)
    return text.replace("\n", "")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_label(lines: Sequence[str]) -> str:
    return "\\n".join(_escape(line) for line in lines)


# --------------------------------------------------------------------------------------------
# Renderers


def _import_graphviz() -> Any:
    """The ``graphviz`` package when it and the ``dot`` program are installed, else None."""
    try:
        import graphviz
    except ImportError:
        return None
    return graphviz if shutil.which("dot") else None


def _import_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    return matplotlib


def _choose_renderer(renderer: str) -> str:
    if renderer == "auto":
        if _import_graphviz() is not None:
            return "graphviz"
        if _import_matplotlib() is not None:
            return "matplotlib"
        raise ImportError(INSTALL_HINT)
    if renderer == "graphviz":
        if _import_graphviz() is None:
            raise ImportError("renderer='graphviz' needs the Python package graphviz and "
                              "Graphviz's dot program: pip install 'chainrule[graphviz]' and "
                              "install Graphviz (https://graphviz.org/download/); or use "
                              "renderer='matplotlib' (pip install 'chainrule[viz]')")
        return "graphviz"
    if renderer == "matplotlib":
        if _import_matplotlib() is None:
            raise ImportError("renderer='matplotlib' needs matplotlib: "
                              "pip install 'chainrule[viz]'")
        return "matplotlib"
    raise ValueError(f"renderer must be 'auto', 'graphviz' or 'matplotlib', not {renderer!r}")


def _render_graphviz(source: str, fmt: str) -> bytes:
    graphviz = _import_graphviz()
    return graphviz.Source(source).pipe(format=fmt)


# The built-in renderer: a layered layout (each vertex one layer after its furthest input),
# layers ordered by barycentres, positions placed as near their neighbours' as spacing allows.

_FONT_SIZE = 9.0  # points
_CHAR_W = 0.62 * _FONT_SIZE / 72  # inches per character of DejaVu Sans Mono
_LINE_H = 1.3 * _FONT_SIZE / 72
_PAD_W, _PAD_H = 0.2, 0.12
_LAYER_GAP, _NODE_GAP, _MARGIN = 0.45, 0.22, 0.25


def _box_size(n: GraphNode) -> tuple[float, float]:
    width = max(len(line) for line in n.lines) * _CHAR_W + 2 * _PAD_W
    return max(width, 0.5), len(n.lines) * _LINE_H + 2 * _PAD_H


def _layers(g: Graph) -> dict[str, int]:
    preds: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    succs: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for src, dst, _ in g.edges:
        preds[dst].append(src)
        succs[src].append(dst)
    layer: dict[str, int] = {}
    for n in g.nodes:  # topological order
        layer[n.id] = 1 + max((layer[p] for p in preds[n.id]), default=-1)
    for n in g.nodes:  # inputs sit just before their first use
        if not preds[n.id] and succs[n.id]:
            layer[n.id] = min(layer[s] for s in succs[n.id]) - 1
    return layer


def _isotonic(targets: list[float], gaps: list[float]) -> list[float]:
    """Positions nearest ``targets`` (least squares) with ``p[i+1] - p[i] >= gaps[i]``."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, weight]
    for t, o in zip(targets, offsets):
        blocks.append([t - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    out = []
    for mean, weight in blocks:
        out.extend([mean] * int(weight))
    return [q + o for q, o in zip(out, offsets)]


def _layout(g: Graph) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """Centre of each vertex (inches, y up) and its box size."""
    horizontal = g.rankdir == "LR"
    sizes = {n.id: _box_size(n) for n in g.nodes}
    layer = _layers(g)
    neighbours: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for src, dst, _ in g.edges:
        neighbours[src].append(dst)
        neighbours[dst].append(src)
    count = max(layer.values()) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for n in g.nodes:
        rows[layer[n.id]].append(n.id)
    # the extent of a box along a layer, and across the layers
    across = {k: (h if horizontal else w) for k, (w, h) in sizes.items()}
    along = {k: (w if horizontal else h) for k, (w, h) in sizes.items()}

    def place(row: list[str], pos: dict[str, float]) -> None:
        targets = []
        for k in row:
            near = [pos[m] for m in neighbours[k] if m in pos]
            targets.append(sum(near) / len(near) if near else pos.get(k, 0.0))
        order = sorted(range(len(row)), key=lambda i: targets[i])
        row[:] = [row[i] for i in order]
        targets = [targets[i] for i in order]
        gaps = [(across[a] + across[b]) / 2 + _NODE_GAP for a, b in zip(row, row[1:])]
        for k, p in zip(row, _isotonic(targets, gaps)):
            pos[k] = p

    pos: dict[str, float] = {}
    for row in rows:  # initial placement: stacked, in order of creation
        y = 0.0
        for k in row:
            pos[k] = y
            y += across[k] + _NODE_GAP
    for sweep in range(8):
        for row in (rows if sweep % 2 == 0 else rows[::-1]):
            place(row, pos)
    depth = []  # where each layer's centre line lies
    z = 0.0
    for row in rows:
        thickness = max((along[k] for k in row), default=0.0)
        depth.append(z + thickness / 2)
        z += thickness + _LAYER_GAP
    centres = {}
    for i, row in enumerate(rows):
        for k in row:
            centres[k] = (depth[i], -pos[k]) if horizontal else (pos[k], -depth[i])
    return centres, sizes


def _head_label_position(a: tuple[float, float], b: tuple[float, float],
                         size: tuple[float, float], rad: float) -> tuple[float, float]:
    """A point just outside box ``b`` (of ``size``) on the way from ``a``, set to one side."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / length, dy / length
    w, h = size[0] / 2, size[1] / 2
    to_edge = min(w / abs(ux) if ux else np.inf, h / abs(uy) if uy else np.inf)
    # a curved arrow (rad) leaves the straight line: follow it roughly
    side = 0.08 + 0.5 * abs(rad) * min(length, 1.0)
    sign = -1.0 if rad < 0 else 1.0
    along = to_edge + 0.14
    return (b[0] + ux * along - uy * side * sign, b[1] + uy * along + ux * side * sign)


def _render_matplotlib(g: Graph, fmt: str) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    centres, sizes = _layout(g)
    xs = [c[0] + s * sizes[k][0] / 2 for k, c in centres.items() for s in (-1, 1)]
    ys = [c[1] + s * sizes[k][1] / 2 for k, c in centres.items() for s in (-1, 1)]
    caption = "\n".join(g.notes)
    caption_h = (len(g.notes) * _LINE_H + 0.1) if g.notes else 0.0
    caption_w = max((len(n) for n in g.notes), default=0) * _CHAR_W * 0.9
    x0, y0 = min(xs) - _MARGIN, min(ys) - _MARGIN - caption_h
    width = max(max(xs) + _MARGIN - x0, caption_w + 2 * _MARGIN)
    height = max(ys) + _MARGIN - y0
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "chainrule"}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(x0, x0 + width)
        ax.set_ylim(y0, y0 + height)
        ax.set_axis_off()
        patches = {}
        for n in g.nodes:
            (cx, cy), (w, h) = centres[n.id], sizes[n.id]
            style = _STYLE[n.kind]
            box = FancyBboxPatch(
                (cx - w / 2, cy - h / 2), w, h,
                boxstyle="round,pad=0,rounding_size=0.08" if style["rounded"] else "square,pad=0",
                facecolor=style["fill"], edgecolor=style["edge"],
                linewidth=2.0 if n.is_output else 0.9,
                linestyle="--" if style["dashed"] else "-", zorder=2)
            ax.add_patch(box)
            patches[n.id] = box
            ax.text(cx, cy, "\n".join(n.lines), ha="center", va="center", family="monospace",
                    fontsize=_FONT_SIZE, linespacing=1.3, zorder=3,
                    fontweight="bold" if n.kind == "op" else "normal")
        seen: dict[tuple[str, str], int] = {}
        for src, dst, position in g.edges:
            repeat = seen.get((src, dst), 0)
            seen[(src, dst)] = repeat + 1
            rad = 0.0 if repeat == 0 else 0.25 * (1 if repeat % 2 else -1) * ((repeat + 1) // 2)
            arrow = FancyArrowPatch(
                centres[src], centres[dst], patchA=patches[src], patchB=patches[dst],
                arrowstyle="-|>", mutation_scale=9, color="#555555", linewidth=0.8,
                connectionstyle=f"arc3,rad={rad}", shrinkA=1, shrinkB=1, zorder=1)
            ax.add_patch(arrow)
            if position is not None:  # the argument position, beside the arrow's head
                lx, ly = _head_label_position(centres[src], centres[dst], sizes[dst], rad)
                ax.text(lx, ly, str(position), fontsize=7, color="#777777", ha="center",
                        va="center", zorder=3)
        if caption:
            ax.text(x0 + _MARGIN, y0 + 0.1, caption, ha="left", va="bottom",
                    fontsize=_FONT_SIZE * 0.9, color="#555555", family="monospace",
                    linespacing=1.3)
        buf = io.BytesIO()
        metadata: dict[str, Any] | None = {"svg": {"Date": None}, "pdf": {"CreationDate": None},
                                           "png": None}[fmt]
        dpi = 100 if max(width, height) * 100 < 30000 else 30000 / max(width, height)
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()

