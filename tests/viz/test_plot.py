"""chainrule.viz.plot: f and its derivatives by autograd, on a headless matplotlib figure."""

import importlib.util
import math
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.viz.plot import plot


@pytest.fixture(autouse=True)
def _needs_matplotlib(request):
    """Every test but the one about its absence needs matplotlib (the viz extra)."""
    if request.function is not test_missing_matplotlib:
        if importlib.util.find_spec("matplotlib") is None:
            pytest.skip("matplotlib is not installed (pip install 'chainrule[viz]')")


def curves(fig, axes_index=0):
    """(x, [y of each line]) of a figure's axes."""
    lines = fig.axes[axes_index].get_lines()
    return np.asarray(lines[0].get_xdata()), [np.asarray(line.get_ydata()) for line in lines]


def g(x):  # the chapter's exercise: f(x) = log(x^2) sin(x) + 1/x
    return cr.log(x ** 2) * cr.sin(x) + 1 / x


def g1(x):
    return 2 / x * np.sin(x) + np.log(x ** 2) * np.cos(x) - 1 / x ** 2


def g2(x):
    return -2 / x ** 2 * np.sin(x) + 4 / x * np.cos(x) - np.log(x ** 2) * np.sin(x) + 2 / x ** 3


# --------------------------------------------------------------------------------------------
# The derivatives are right


def test_sin_derivatives_are_cos_minus_sin_minus_cos():
    fig = plot(cr.sin, 0.0, 2 * math.pi, order=3)
    x, (y0, y1, y2, y3) = curves(fig)
    assert x.shape == (200,) and x[0] == 0.0 and x[-1] == 2 * math.pi
    np.testing.assert_allclose(y0, np.sin(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y1, np.cos(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y2, -np.sin(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(y3, -np.cos(x), rtol=0, atol=1e-12)


def test_log_sin_reciprocal_first_and_second_derivative():
    fig = plot(g, 1.0, 3.0, order=2, num=3)  # the grid is exactly [1, 2, 3]
    x, (_, y1, y2) = curves(fig)
    assert list(x) == [1.0, 2.0, 3.0]
    assert y1[1] == pytest.approx(0.0823954, abs=1e-7)
    np.testing.assert_allclose(y1, g1(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y2, g2(x), rtol=1e-12, atol=1e-12)
    fig = plot(g, 0.5, 4.0, order=2, num=101)
    x, (y0, y1, y2) = curves(fig)
    np.testing.assert_allclose(y0, np.log(x ** 2) * np.sin(x) + 1 / x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y1, g1(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y2, g2(x), rtol=1e-12, atol=1e-12)


def test_chainrule_numpy_functions_and_polynomial_down_to_zero():
    fig = plot(lambda x: cnp.exp(x) * x ** 2, -1.0, 1.0, order=2, num=7)
    x, (y0, y1, y2) = curves(fig)
    np.testing.assert_allclose(y1, np.exp(x) * (x ** 2 + 2 * x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y2, np.exp(x) * (x ** 2 + 4 * x + 2), rtol=1e-12, atol=1e-14)
    x, (_, y1, y2, y3, y4) = curves(plot(lambda x: x ** 3, -1.0, 1.0, order=4, num=5))
    np.testing.assert_allclose(y1, 3 * x ** 2)
    np.testing.assert_allclose(y2, 6 * x)
    np.testing.assert_allclose(y3, 6.0)
    np.testing.assert_allclose(y4, 0.0)


def test_f_receives_float64_tensors_and_elementwise_f_is_vectorised():
    seen = []

    def f(x):
        seen.append((type(x), x.dtype, tuple(x.shape)))
        return cr.sin(x)

    plot(f, 0.0, 1.0, order=2, num=50)
    assert all(kind is cr.Tensor and dtype == cr.float64 for kind, dtype, _ in seen)
    assert (50,) in {shape for _, _, shape in seen}
    assert len(seen) < 20  # a few whole-grid calls and spot checks, not one call per point


def test_f_that_is_not_elementwise_is_evaluated_pointwise():
    # Values agree with f of single points, but the Jacobian is not diagonal: f(x)_i depends
    # on every x_j.  Summed gradients would give 1 + num; at a single point f' = 2.
    x, (y0, y1, y2) = curves(plot(lambda x: x + (x - x.detach()).sum(), 0.0, 1.0, order=2,
                                  num=5))
    np.testing.assert_allclose(y0, x)
    np.testing.assert_allclose(y1, 2.0)
    np.testing.assert_allclose(y2, 0.0)
    # depends on the grid's size: on a single point it is x itself
    x, (y0, y1) = curves(plot(lambda x: x * x.numel(), 0.0, 1.0, num=5))
    np.testing.assert_allclose(y0, x)
    np.testing.assert_allclose(y1, 1.0)
    # reduces over the grid: on a single point x / max(x) = 1
    x, (y0, y1) = curves(plot(lambda x: x / x.max(), 1.0, 2.0, num=5))
    np.testing.assert_allclose(y0, 1.0)
    np.testing.assert_allclose(y1, 0.0)


def test_python_control_flow_and_constants():
    x, (y0, y1, y2) = curves(plot(lambda x: x ** 2 if x > 0 else -x, -1.0, 1.0, order=2,
                                  num=5))
    np.testing.assert_allclose(y0, np.where(x > 0, x ** 2, -x))
    np.testing.assert_allclose(y1, np.where(x > 0, 2 * x, -1.0))
    np.testing.assert_allclose(y2, np.where(x > 0, 2.0, 0.0))
    for constant in (lambda x: 3.0, lambda x: 0 * x + 3.0):
        _, (y0, y1, y2) = curves(plot(constant, -1.0, 1.0, order=2, num=4))
        np.testing.assert_allclose(y0, 3.0)
        np.testing.assert_allclose(y1, 0.0)
        np.testing.assert_allclose(y2, 0.0)


def test_undefined_points_are_gaps_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, (y0, y1) = curves(plot(cr.log, -1.0, 1.0, num=5))
    assert np.isnan(y0[:2]).all() and y0[2] == -np.inf
    np.testing.assert_allclose(y0[3:], np.log(x[3:]))
    np.testing.assert_allclose(y1[3:], 1 / x[3:])


# --------------------------------------------------------------------------------------------
# The figure


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_order_gives_order_plus_one_labelled_lines(order):
    fig = plot(cr.sin, 0.0, 1.0, order=order, num=20)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.get_lines()) == order + 1
    labels = ["f", "f'", "f''", "f'''"][:order + 1]
    assert [line.get_label() for line in ax.get_lines()] == labels
    assert [text.get_text() for text in ax.get_legend().get_texts()] == labels
    assert ax.get_xlabel() == "x" and ax.get_ylabel()
    assert all(line.get_visible() for line in ax.xaxis.get_gridlines())


def test_high_orders_are_labelled_with_mathtext_and_title_is_set():
    fig = plot(cr.exp, 0.0, 1.0, order=5, num=10, title="exp is its own derivative")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()][4:] == ["$f^{(4)}$", "$f^{(5)}$"]
    assert ax.get_title() == "exp is its own derivative"
    for line in ax.get_lines():
        np.testing.assert_allclose(line.get_ydata(), np.exp(line.get_xdata()), rtol=1e-12)


def test_headless_agg_canvas():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = plot(cr.sin, 0.0, 1.0, num=10)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    fig.canvas.draw()  # renders without a display


@pytest.mark.parametrize("extension, signature", [("png", b"\x89PNG\r\n\x1a\n"),
                                                  ("svg", b"<svg"), ("pdf", b"%PDF-")])
def test_saving_by_extension(tmp_path, extension, signature):
    path = tmp_path / f"sin.{extension}"
    fig = plot(cr.sin, 0.0, 2 * math.pi, path=path, num=30)
    data = path.read_bytes()
    assert fig is not None and len(data) > 100
    if extension == "svg":
        assert signature in data
    else:
        assert data.startswith(signature)
    str_path = tmp_path / f"as_str.{extension.upper()}"  # str paths, any case of extension
    plot(cr.sin, 0.0, 1.0, path=str(str_path), num=10)
    assert str_path.exists()


def test_bad_path(tmp_path):
    for bad in (tmp_path / "no_extension", tmp_path / "sin.notaformat"):
        with pytest.raises(ValueError, match="extension"):
            plot(cr.sin, 0.0, 1.0, path=bad)
        assert not bad.exists()
    with pytest.raises(TypeError, match="path"):
        plot(cr.sin, 0.0, 1.0, path=3)


def test_draws_on_given_axes(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    returned = plot(cr.sin, 0.0, 1.0, order=2, ax=right, num=10, path=tmp_path / "two.png")
    assert returned is fig and len(fig.axes) == 2
    assert len(left.get_lines()) == 0 and len(right.get_lines()) == 3
    assert (tmp_path / "two.png").read_bytes().startswith(b"\x89PNG")
    sub = Figure().subfigures(1, 2)[1]  # axes in a SubFigure: the whole Figure comes back
    ax = sub.add_subplot()
    assert plot(cr.sin, 0.0, 1.0, ax=ax, num=5) is sub.figure


# --------------------------------------------------------------------------------------------
# Errors


def test_bad_interval():
    for start, stop in ((1.0, 1.0), (2.0, 1.0)):
        with pytest.raises(ValueError, match="start must be less than stop"):
            plot(cr.sin, start, stop)
    with pytest.raises(ValueError, match="finite"):
        plot(cr.sin, 0.0, math.inf)
    with pytest.raises(ValueError, match="finite"):
        plot(cr.sin, math.nan, 1.0)
    with pytest.raises(TypeError, match="start must be a real number"):
        plot(cr.sin, "0", 1.0)
    assert len(plot(cr.sin, 0, cr.tensor(1.0), num=5).axes[0].get_lines()) == 2  # ints, 0-d


def test_bad_order_and_num():
    with pytest.raises(ValueError, match="order must be a derivative order, 0 or more, got -1"):
        plot(cr.sin, 0.0, 1.0, order=-1)
    with pytest.raises(TypeError, match="order must be an int"):
        plot(cr.sin, 0.0, 1.0, order=1.5)
    with pytest.raises(TypeError, match="order must be an int"):
        plot(cr.sin, 0.0, 1.0, order=True)
    with pytest.raises(ValueError, match="num must be at least 2"):
        plot(cr.sin, 0.0, 1.0, num=1)


@pytest.mark.parametrize("f", [None, "sin", 3.0, np.array([1.0])])
def test_f_must_be_callable(f):
    with pytest.raises(TypeError, match="f must be a function"):
        plot(f, 0.0, 1.0)


def test_f_must_map_a_real_number_to_a_real_number():
    with pytest.raises(ValueError, match="real number to a real number"):
        plot(lambda x: cr.stack([x, x]), 0.0, 1.0, num=5)
    with pytest.raises(TypeError, match="real numbers"):
        plot(lambda x: x * 1j, 0.0, 1.0, num=5)
    with pytest.raises(ZeroDivisionError):  # f's own errors come through
        plot(lambda x: 1 / 0, 0.0, 1.0, num=5)


def test_missing_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ModuleNotFoundError
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[viz\]'"):
        plot(cr.sin, 0.0, 1.0)
