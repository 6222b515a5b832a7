"""chainrule.viz.graph: the dependency graph of a recorded computation, its values and adjoints.

The DOT text is parsed back and compared with the computation that was recorded; values and
adjoints are compared with numbers worked out by hand (the chain rule, written out).
"""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz import Graph, graph
from tests.fresh_interpreter import run_json

graph_module = sys.modules["chainrule.viz.graph"]

# The built-in renderer draws with matplotlib (the viz extra); without it, its tests skip.
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib is not installed "
                                             "(pip install 'chainrule[viz]')")

NODE_RE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)", class="(\w+)"')
EDGE_RE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[headlabel="(\d+)")?')


def parse_dot(source: str):
    """{id: (label lines, class)} and [(source, target, argument position or None)]."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if m := EDGE_RE.match(line):
            edges.append((m[1], m[2], int(m[3]) if m[3] is not None else None))
        elif m := NODE_RE.match(line):
            nodes[m[1]] = (m[2].split("\\n"), m[3])
    return nodes, edges


def ops_by_name(nodes) -> Counter:
    return Counter(lines[0] for lines, kind in nodes.values() if kind == "op")


def number(lines, key):
    """The number after ``key = `` in a label, or None when the label has no such line."""
    for line in lines:
        if line.startswith(key + " = "):
            return float(line.split(" = ", 1)[1])
    return None


def result_of(nodes, edges, op_name):
    """The id of the tensor an op produced (the op must occur once)."""
    (op,) = [k for k, (lines, kind) in nodes.items() if kind == "op" and lines[0] == op_name]
    (out,) = [dst for src, dst, _ in edges if src == op]
    return op, out


def inputs_of(edges, op):
    return sorted((pos, src) for src, dst, pos in edges if dst == op)


# --------------------------------------------------------------------------------------------
# The chapter's exercise: f(x) = log(x**2) * sin(x) + 1/x at x = 2


def exercise():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.log(x**2) * cr.sin(x) + 1 / x
    return x, y


class TestExerciseFunction:
    def test_structure(self):
        x, y = exercise()
        nodes, edges = parse_dot(graph(y).source)
        assert ops_by_name(nodes) == Counter(Pow=1, Log=1, Sin=1, Mul=1, Div=1, Add=1)
        kinds = Counter(kind for _, kind in nodes.values())
        assert kinds == Counter(op=6, tensor=6, leaf=1, constant=2)
        # every op has exactly one result, and an edge to it
        for op in [k for k, (_, kind) in nodes.items() if kind == "op"]:
            assert len([d for s, d, _ in edges if s == op]) == 1
        (leaf,) = [k for k, (_, kind) in nodes.items() if kind == "leaf"]
        assert nodes[leaf][0][0] == "x0"
        pow_op, u = result_of(nodes, edges, "Pow")
        log_op, log_u = result_of(nodes, edges, "Log")
        sin_op, sin_x = result_of(nodes, edges, "Sin")
        mul_op, prod = result_of(nodes, edges, "Mul")
        div_op, recip = result_of(nodes, edges, "Div")
        add_op, out = result_of(nodes, edges, "Add")
        pow_in = inputs_of(edges, pow_op)
        assert pow_in[0] == (0, leaf) and nodes[pow_in[1][1]][1] == "constant"
        assert inputs_of(edges, log_op) == [(None, u)]
        assert inputs_of(edges, sin_op) == [(None, leaf)]
        assert inputs_of(edges, mul_op) == [(0, log_u), (1, sin_x)]
        div_in = inputs_of(edges, div_op)  # 1 / x: the constant is the numerator
        assert nodes[div_in[0][1]][1] == "constant" and div_in[1] == (1, leaf)
        assert inputs_of(edges, add_op) == [(0, prod), (1, recip)]
        assert nodes[out][0][0] == "y"
        assert len(edges) == 6 + 10  # op -> result, and 2 + 1 + 1 + 2 + 2 + 2 inputs

    def test_values_and_adjoints(self):
        x, y = exercise()
        g = graph(y)
        nodes, edges = parse_dot(g.source)
        xs = 2.0
        expected = {  # tensor: (value, adjoint by the chain rule)
            "Pow": (xs**2, math.sin(xs) / xs**2),  # df/du = sin(x) / u
            "Log": (math.log(xs**2), math.sin(xs)),
            "Sin": (math.sin(xs), math.log(xs**2)),
            "Mul": (math.log(xs**2) * math.sin(xs), 1.0),
            "Div": (1 / xs, 1.0),
            "Add": (1.7605538, 1.0),
        }
        for op_name, (value, adjoint) in expected.items():
            lines = nodes[result_of(nodes, edges, op_name)[1]][0]
            assert number(lines, "value") == pytest.approx(value, rel=1e-5), op_name
            assert number(lines, "adjoint") == pytest.approx(adjoint, rel=1e-5), op_name
        leaf = g.node("x0")
        assert number(leaf.lines, "value") == 2.0
        assert number(leaf.lines, "adjoint") == pytest.approx(0.0823954, rel=1e-5)
        # the arrays behind the labels: the engine's own float32 numbers
        assert leaf.grad.dtype == np.float32 and leaf.grad_source == "adjoint"
        y.backward()
        assert leaf.grad == x.grad.item()
        assert g.node("y").value == np.float32(1.7605538)

    def test_drawing_does_not_touch_grad(self):
        x, y = exercise()
        graph(y)
        assert x.grad is None
        y.backward()  # and the graph is still usable
        assert x.grad.item() == pytest.approx(0.0823954, rel=1e-5)

    def test_after_backward_with_retain_graph(self):
        x, y = exercise()
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)  # .grad accumulates; adjoints are one pass's
        g = graph(y)
        assert g.notes == ()
        assert g.node("x0").grad == pytest.approx(0.0823954, rel=1e-5)
        assert x.grad.item() == pytest.approx(2 * 0.0823954, rel=1e-5)

    def test_freed_graph_shows_only_what_is_left(self):
        x, y = exercise()
        y.backward()
        g = graph(y)
        nodes, _ = parse_dot(g.source)
        assert any("retain_graph=True" in note for note in g.notes)
        assert "retain_graph=True" in g.source  # the caption says so
        leaf = g.node("x0")
        assert leaf.grad_source == ".grad"
        assert number(leaf.lines, ".grad") == pytest.approx(0.0823954, rel=1e-5)
        for lines, kind in nodes.values():
            if kind == "tensor":
                assert number(lines, "adjoint") is None and number(lines, ".grad") is None

    def test_options(self):
        x, y = exercise()
        g = graph(y, values=False, grads=False, names={"x": x, "f": y})
        for n in g.nodes:
            assert n.value is None and n.grad is None
            assert not any(" = " in line for line in n.lines)
        assert g.node("x").kind == "leaf" and g.node("f").is_output
        nodes, _ = parse_dot(graph(y, constants=False).source)
        assert not [k for k, (_, kind) in nodes.items() if kind == "constant"]


# --------------------------------------------------------------------------------------------
# Other graphs


class TestOtherGraphs:
    def test_matmul_and_sum(self):
        A = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        b = cr.tensor([1.0, -1.0, 0.5], requires_grad=True)
        h = A @ b
        y = h.sum()
        g = graph(y, names={A: "A", b: "b", h: "h"})  # {tensor: name} works too
        nodes, edges = parse_dot(g.source)
        assert ops_by_name(nodes) == Counter(Mm=1, Sum=1)
        ids = {n.name: n.id for n in g.nodes if n.name}
        mm, h_id = result_of(nodes, edges, "Mm")
        assert h_id == ids["h"]
        assert inputs_of(edges, mm) == [(0, ids["A"]), (1, ids["b"])]
        assert nodes[ids["h"]][0][:2] == ["h", "(2,) float32"]
        # adjoints by hand: y = 1ᵀ A b, so dy/dA = 1 bᵀ, dy/db = Aᵀ 1, dy/dh = 1
        np.testing.assert_array_equal(g.node("A").grad, np.outer([1, 1], [1, -1, 0.5]))
        np.testing.assert_array_equal(g.node("b").grad, [5, 7, 9])
        np.testing.assert_array_equal(g.node("h").grad, [1, 1])
        np.testing.assert_array_equal(g.node("h").value, [0.5, 2.0])
        assert "adjoint = [[1, -1, 0.5], [1, -1, 0.5]]" in g.node("A").lines
        assert "value = [0.5, 2]" in g.node("h").lines

    def test_large_values_are_not_printed(self):
        w = cr.ones(3, 3, requires_grad=True)
        g = graph((w * 2).sum())
        leaf = g.node("x0")
        assert leaf.value.shape == (3, 3) and leaf.grad.shape == (3, 3)
        assert leaf.lines == ("x0", "(3, 3) float32")

    def test_fan_out(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        a = x * x
        y = (a + x).sum()
        g = graph(y, names={"x": x, "a": a})
        nodes, edges = parse_dot(g.source)
        assert ops_by_name(nodes) == Counter(Mul=1, Add=1, Sum=1)
        ids = {n.name: n.id for n in g.nodes if n.name}
        mul, _ = result_of(nodes, edges, "Mul")
        add, _ = result_of(nodes, edges, "Add")
        assert inputs_of(edges, mul) == [(0, ids["x"]), (1, ids["x"])]
        assert inputs_of(edges, add) == [(0, ids["a"]), (1, ids["x"])]
        assert len([e for e in edges if e[0] == ids["x"]]) == 3
        # the three paths from x add up: d/dx (x² + x) = 2x + 1
        np.testing.assert_array_equal(g.node("x").grad, [3, 5])
        np.testing.assert_array_equal(g.node("a").grad, [1, 1])

    def test_several_outputs_share_their_graph(self):
        x = cr.tensor(3.0, requires_grad=True)
        s = cr.sin(x)
        y1, y2 = s * 2, s * x
        g = graph(y1, y2)
        nodes, _ = parse_dot(g.source)
        assert ops_by_name(nodes) == Counter(Sin=1, Mul=2)
        assert [n.name for n in g.nodes if n.is_output] == ["y0", "y1"]
        # seeded with ones: d(y1 + y2)/dx = 2 cos x + cos(x) x + sin x
        expected = 2 * math.cos(3) + 3 * math.cos(3) + math.sin(3)
        assert g.node("x0").grad == pytest.approx(expected, rel=1e-5)

    def test_vector_output_needs_grad_outputs(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        g = graph(y)
        assert g.node("x0").grad is None
        assert "grad_outputs" in g.notes[0]
        g = graph(y, grad_outputs=[cr.tensor([1.0, 10.0])])
        np.testing.assert_array_equal(g.node("x0").grad, [3, 30])

    def test_retain_grad_and_hooks(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        u = x * 3
        u.retain_grad()
        calls = []
        u.register_hook(lambda grad: calls.append(1) or grad * 10)
        y = (u * u).sum()
        y.backward(retain_graph=True)
        before = u.grad.numpy().copy()
        g = graph(y, names={"u": u})
        np.testing.assert_array_equal(u.grad.numpy(), before)  # not added to again
        # the adjoint after the hook, as the engine passes it on: 10 * 2u
        np.testing.assert_array_equal(g.node("u").grad, [60, 120])
        np.testing.assert_array_equal(g.node("x0").grad, x.grad.numpy())
        assert len(calls) == 2  # hooks run in the drawing's reverse pass too (documented)

    def test_custom_function(self):
        class Square(cr.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            def backward(ctx, grad):
                (a,) = ctx.saved_tensors
                return 2 * a * grad

        x = cr.tensor(3.0, requires_grad=True)
        g = graph(Square.apply(x) + x)
        assert ops_by_name(parse_dot(g.source)[0]) == Counter(Square=1, Add=1)
        assert g.node("x0").grad == 7.0

    def test_changed_in_place_is_not_shown(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        with cr.no_grad():
            x.mul_(2)
        with pytest.warns(RuntimeWarning, match="modified by an inplace operation"):
            g = graph(y)
        leaf = g.node("x0")
        assert leaf.value is None and leaf.grad is None
        assert "value changed in place" in leaf.lines
        assert g.node("y").value == 5.0  # the output itself is what it was

    def test_output_without_history(self):
        x = cr.tensor(2.0, requires_grad=True)
        g = graph(x)
        assert [n.kind for n in g.nodes] == ["leaf"] and g.nodes[0].is_output
        assert g.node("x0").grad == 1.0  # the seed
        c = cr.tensor(1.5)
        g = graph(c)
        assert g.nodes[0].kind == "constant" and "value = 1.5" in g.nodes[0].lines

    def test_long_chain(self):
        x = cr.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(3000):
            y = y * 1.0
        nodes, edges = parse_dot(graph(y, values=False).source)  # no recursion limit
        assert ops_by_name(nodes) == Counter(Mul=3000)
        assert len(edges) == 2 * 3000 + 3000

    def test_bad_arguments(self):
        x = cr.tensor(1.0, requires_grad=True)
        with pytest.raises(ValueError, match="at least one output"):
            graph()
        with pytest.raises(TypeError, match="Tensors"):
            graph(np.ones(2))
        with pytest.raises(TypeError, match="names"):
            graph(x * 2, names=["x"])
        with pytest.raises(ValueError, match="rankdir"):
            graph(x * 2, rankdir="RL")
        with pytest.raises(KeyError, match="no tensor named"):
            graph(x * 2).node("z")


# --------------------------------------------------------------------------------------------
# Rendering


@pytest.fixture
def exercise_graph() -> Graph:
    return graph(exercise()[1])


class TestBuiltInRenderer:
    @needs_matplotlib
    def test_svg(self, exercise_graph, tmp_path):
        path = exercise_graph.save(tmp_path / "f.svg", renderer="matplotlib")
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg")
        text = path.read_text()
        for name in ("Pow", "Log", "Sin", "Mul", "Div", "Add", "adjoint = 0.0823954"):
            assert name in text

    @needs_matplotlib
    def test_png_and_pdf(self, exercise_graph, tmp_path):
        png = exercise_graph.save(tmp_path / "f.png", renderer="matplotlib")
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        pdf = exercise_graph.save(tmp_path / "f.pdf", renderer="matplotlib")
        assert pdf.read_bytes().startswith(b"%PDF")

    @needs_matplotlib
    def test_top_to_bottom_and_notes(self, tmp_path):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        g = graph(x * x, rankdir="TB")  # a vector output: a note in the caption
        svg = g.render("svg", renderer="matplotlib").decode()
        assert "grad_outputs" in svg
        assert ET.fromstring(svg).tag.endswith("svg")

    def test_dot_file_and_bad_extension(self, exercise_graph, tmp_path):
        path = exercise_graph.save(tmp_path / "f.dot")
        assert path.read_text() == exercise_graph.source
        with pytest.raises(ValueError, match="extension"):
            exercise_graph.save(tmp_path / "f.jpeg")
        with pytest.raises(ValueError, match="formats"):
            exercise_graph.render("gif")
        with pytest.raises(ValueError, match="renderer"):
            exercise_graph.render("svg", renderer="tikz")

    @needs_matplotlib
    def test_repr_svg(self, exercise_graph):
        svg = exercise_graph._repr_svg_()
        assert isinstance(svg, str) and "<svg" in svg and "Pow" in svg

    @needs_matplotlib
    def test_opens_no_pyplot_figure(self):
        """Rendering draws on its own canvas: pyplot (global figures, a GUI backend) is never
        imported, so the user's figures and backend are untouched (a fresh interpreter)."""
        script = (
            "import sys, json, chainrule as cr\n"
            "from chainrule.viz import graph\n"
            "x = cr.tensor(2.0, requires_grad=True)\n"
            "png = graph(cr.log(x ** 2) * cr.sin(x) + 1 / x).render('png', "
            "renderer='matplotlib')\n"
            "print(json.dumps([png[:4] == b'\\x89PNG', 'matplotlib.pyplot' in sys.modules]))\n")
        assert run_json(script) == [True, False]

    def test_layout_keeps_boxes_apart(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = (cr.exp(x) * cr.sin(x) + cr.cos(x) * x).sum()
        g = graph(y)
        for rankdir in ("LR", "TB"):
            g.rankdir = rankdir
            centres, sizes = graph_module._layout(g)
            boxes = [(c[0] - sizes[k][0] / 2, c[0] + sizes[k][0] / 2,
                      c[1] - sizes[k][1] / 2, c[1] + sizes[k][1] / 2)
                     for k, c in centres.items()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    overlap = (min(a[1], b[1]) - max(a[0], b[0]),
                               min(a[3], b[3]) - max(a[2], b[2]))
                    assert min(overlap) <= 1e-9
            edge_ok = [centres[s][0] < centres[d][0] if rankdir == "LR"
                       else centres[s][1] > centres[d][1] for s, d, _ in g.edges]
            assert all(edge_ok)  # every edge points forward

    def test_isotonic_spacing(self):
        positions = graph_module._isotonic([0.0, 0.0, 5.0, 1.0], [1.0, 1.0, 1.0])
        assert all(b - a >= 1.0 - 1e-12 for a, b in zip(positions, positions[1:]))
        assert positions[0] == pytest.approx(-0.5)


def test_graphviz_renderer(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    g = graph(exercise()[1])
    svg = g.save(tmp_path / "f.svg", renderer="graphviz").read_text()
    assert ET.fromstring(svg).tag.endswith("svg") and "Pow" in svg
    png = g.save(tmp_path / "f.png", renderer="graphviz").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in g._repr_svg_()


class TestMissingRenderer:
    def test_neither_installed(self, monkeypatch, exercise_graph, tmp_path):
        monkeypatch.setitem(sys.modules, "graphviz", None)  # import raises ImportError
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        assert "digraph" in exercise_graph.source  # DOT text needs neither
        with pytest.raises(ImportError, match=re.escape("pip install 'chainrule[viz]'")):
            exercise_graph.save(tmp_path / "f.svg")
        with pytest.raises(ImportError, match="chainrule"):
            exercise_graph._repr_svg_()
        assert not (tmp_path / "f.svg").exists()

    def test_named_renderer_missing(self, monkeypatch, exercise_graph):
        monkeypatch.setattr(graph_module, "_import_graphviz", lambda: None)
        with pytest.raises(ImportError, match="graphviz"):
            exercise_graph.render("svg", renderer="graphviz")
        monkeypatch.setattr(graph_module, "_import_matplotlib", lambda: None)
        with pytest.raises(ImportError, match=re.escape("chainrule[viz]")):
            exercise_graph.render("png", renderer="matplotlib")

    @needs_matplotlib
    def test_falls_back_to_matplotlib(self, monkeypatch, exercise_graph):
        monkeypatch.setattr(graph_module, "_import_graphviz", lambda: None)
        assert exercise_graph.render("png").startswith(b"\x89PNG")


def test_exported():
    import chainrule.viz

    assert {"graph", "Graph", "plot"} <= set(chainrule.viz.__all__)
