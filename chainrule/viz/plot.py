"""Plot a function and its derivatives, computed by automatic differentiation.

``plot(f, start, stop, order)`` draws ``f``, ``f'``, ..., ``f`` differentiated ``order`` times
on one matplotlib figure (the chapter's exercise 4: ``sin`` and its derivative by autograd).
No derivative is written by hand: each one is ``chainrule.func.grad`` nested ``k`` times.

How the derivatives are evaluated on the grid of ``num`` points:

* **Vectorised, when f is elementwise** (``sin``, ``x ** 2 * exp(x)``, ...).  Then the
  derivative at every grid point is one gradient: ``d/dx_i sum_j f(x_j) = f'(x_i)``, and the
  k-th derivative is the gradient of the sum of the (k-1)-th.  This assumption is *checked*
  before it is used: f of the grid must have the grid's shape, agree with f of single points
  at a few of them, and its Jacobian must be diagonal (a forward-mode JVP along a random
  direction ``v`` must equal ``f'(x) * v``, which fails almost surely for any other Jacobian).
* **Pointwise otherwise** (``x.sum()``, ``x / x.max()``, Python control flow on the value,
  anything that raises on a vector): f is called on one 0-d tensor at a time, and the k-th
  derivative is ``grad`` nested k times at each point.  Slower (about a millisecond per point
  and order), always right for a scalar function.

Either way ``f`` receives chainrule tensors of dtype float64 and should compute with chainrule's
functions (``chainrule.sin``, ``chainrule.numpy``, tensor methods); it must map a real number
to a real number.  Points where f or a derivative is undefined (``log`` at 0) come out as
NaN or infinity and are left as gaps in the curves.

matplotlib is needed (``pip install 'chainrule[viz]'``) and is imported only when ``plot`` is
called.  Figures are drawn on the non-interactive Agg canvas, without pyplot: ``plot`` never
opens a window, never changes the matplotlib backend, and leaves nothing in pyplot's list of
open figures.  (In Jupyter the returned Figure still displays as an image.)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

import chainrule
from chainrule.func import grad, jvp
from chainrule.tensor import Tensor

if TYPE_CHECKING:  # matplotlib is optional: only the type checker needs it here
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot"]

_INSTALL_HINT = "pip install 'chainrule[viz]'"

# Where the vectorised evaluation is compared with single-point calls of f (fractions of the
# grid), and the tolerance of that comparison and of the Jacobian's diagonality.
_SPOT_CHECKS = (0.0, 0.37, 0.5, 1.0)
_RTOL = 1e-9


def plot(
    f: Callable[[Tensor], Any],
    start: float,
    stop: float,
    order: int = 1,
    *,
    num: int = 200,
    path: str | os.PathLike[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Plot ``f`` and its derivatives up to ``order`` over ``[start, stop]``, by autograd.

    Args:
        f: a real function of one real variable, written with chainrule's operations.  It
            receives float64 chainrule tensors: the whole grid when f is elementwise (checked,
            see the module's documentation), otherwise one 0-d tensor per point.
        start, stop: the interval, finite, ``start < stop``; both ends are plotted.
        order: the highest derivative drawn (0 draws f alone).
        num: the number of grid points (at least 2).
        path: save the figure there too; the format is the extension's (``.png``, ``.svg``,
            ``.pdf``, or any other that matplotlib writes).
        ax: draw on these matplotlib axes instead of on a new figure.
        title: the axes' title (none by default).

    Returns:
        The matplotlib Figure (``ax.figure`` when ``ax`` is given).  One line per curve, in
        order, labelled ``f``, ``f'``, ``f''``, ``f'''``, then ``f^(4)`` (as mathtext) and
        so on; their y-data are the values, their x-data the grid.

    Raises:
        TypeError: f is not callable, or an argument has the wrong type.
        ValueError: ``start >= stop``, a bound is not finite, ``order < 0``, ``num < 2``, a
            ``path`` without a known extension, or f does not return a real scalar.
        ImportError: matplotlib is not installed.

    >>> import chainrule as cr
    >>> from chainrule.viz.plot import plot
    >>> fig = plot(cr.sin, 0.0, 6.3, order=2, num=50)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['f', "f'", "f''"]
    >>> bool(abs(fig.axes[0].get_lines()[1].get_ydata()[0] - 1.0) < 1e-12)  # sin'(0) = cos(0)
    True
    """
    start, stop, order, num = _check_arguments(f, start, stop, order, num)
    figure_cls, canvas_cls = _matplotlib()
    extension = _check_path(path, canvas_cls)

    xs = np.linspace(start, stop, num, dtype=np.float64)
    with np.errstate(all="ignore"):  # undefined points become NaN/inf: gaps in the curves
        curves = _derivatives(f, xs, order)

    if ax is None:
        fig = figure_cls(figsize=(6.4, 4.2), layout="constrained")
        canvas_cls(fig)  # the Agg canvas: renders to memory and files, never to a window
        ax = fig.add_subplot()
    else:
        fig = ax.figure
        if not isinstance(fig, figure_cls):  # a SubFigure: save and return the whole figure
            fig = fig.figure
    for k, ys in enumerate(curves):
        ax.plot(xs, ys, label=_label(k))
    ax.set_xlabel("x")
    ax.set_ylabel("f(x) and its derivatives" if order else "f(x)")
    ax.grid(True, alpha=0.4)
    ax.legend()
    if title is not None:
        ax.set_title(title)
    if path is not None:
        fig.savefig(os.fspath(path), format=extension)
    return fig


# --------------------------------------------------------------------------------------------
# Arguments and matplotlib


def _check_arguments(f: Any, start: Any, stop: Any, order: Any,
                     num: Any) -> tuple[float, float, int, int]:
    if isinstance(f, str) or not callable(f):
        raise TypeError(f"plot: f must be a function (e.g. chainrule.sin or a lambda using "
                        f"chainrule's operations), got {type(f).__name__} {f!r}")
    bounds = []
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, Tensor):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"plot: {name} must be a real number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"plot: {name} must be finite, got {value}")
        bounds.append(float(value))
    if bounds[0] >= bounds[1]:
        raise ValueError(f"plot: start must be less than stop, got start={bounds[0]} and "
                         f"stop={bounds[1]}")
    for name, value, least in (("order", order, 0), ("num", num, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"plot: {name} must be an int, got {type(value).__name__}")
        if value < least:
            what = "a derivative order, 0 or more" if name == "order" else "at least 2"
            raise ValueError(f"plot: {name} must be {what}, got {value}")
    return bounds[0], bounds[1], int(order), int(num)


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's Figure and Agg canvas classes (no pyplot: no backend, no windows)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"chainrule.viz.plot needs matplotlib: {_INSTALL_HINT}") from error
    return Figure, FigureCanvasAgg


def _check_path(path: Any, canvas_cls: Any) -> str | None:
    """The file format named by path's extension, checked before any work is done."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"plot: path must be a str or os.PathLike, got {type(path).__name__}")
    extension = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    supported = canvas_cls.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(f"plot: cannot tell the format of {os.fspath(path)!r} from its "
                         f"extension; use one of {', '.join('.' + e for e in sorted(supported))}")
    return extension


def _label(k: int) -> str:
    return "f" + "'" * k if k <= 3 else f"$f^{{({k})}}$"


# --------------------------------------------------------------------------------------------
# The derivatives, by autograd


def _derivatives(f: Callable, xs: np.ndarray, order: int) -> list[np.ndarray]:
    """``[f(xs), f'(xs), ..., f^(order)(xs)]``, vectorised when f is elementwise."""
    curves = _vectorised(f, xs, order)
    return curves if curves is not None else _pointwise(f, xs, order)


def _vectorised(f: Callable, xs: np.ndarray, order: int) -> list[np.ndarray] | None:
    """The curves from whole-grid gradients, or None when f is not (verifiably) elementwise."""
    try:
        values = _real(f(chainrule.tensor(xs)))
        if values.shape != xs.shape:
            return None
        if not _spot_check(f, xs, values):
            return None
        nested = _nested_sum_grads(f, order)  # nested[k] computes the k-th derivative
        if order == 0:  # the Jacobian's shape matters only for derivatives
            return [values]
        first = _real(nested[1](xs))
        v = np.random.default_rng(0).standard_normal(xs.shape)
        _, directional = jvp(f, (xs,), (v,))
        if not _close(_real(directional), first * v):
            return None  # off-diagonal Jacobian entries: f mixes grid points
        return [values, first] + [_real(nested[k](xs)) for k in range(2, order + 1)]
    except Exception:  # f may not accept vectors: the pointwise path decides
        return None


def _nested_sum_grads(f: Callable, order: int) -> list[Callable]:
    """``[f, grad(sum f), grad(sum grad(sum f)), ...]``: for elementwise f, the derivatives."""
    chain = [f]
    for _ in range(order):
        chain.append(grad(lambda x, g=chain[-1]: chainrule.sum(_as_tensor(g(x)))))
    return chain


def _spot_check(f: Callable, xs: np.ndarray, values: np.ndarray) -> bool:
    """Do a few entries of f(grid) equal f at those single points?  (Catches f depending on
    the grid's size or on its other points.)  A single point that f cannot take is no
    evidence either way: the Jacobian check still applies."""
    for fraction in _SPOT_CHECKS:
        i = round(fraction * (len(xs) - 1))
        try:
            single = _real(f(chainrule.tensor(xs[i])))
        except Exception:  # judged by the Jacobian check alone
            continue
        if single.size != 1 or not _close(single.reshape(()), values[i]):
            return False
    return True


def _pointwise(f: Callable, xs: np.ndarray, order: int) -> list[np.ndarray]:
    """The curves one point at a time: ``grad`` nested k times on scalar f."""
    chain: list[Callable] = [f]
    for _ in range(order):
        chain.append(grad(chain[-1]))
    curves = np.empty((order + 1, len(xs)))
    for i, x in enumerate(xs):
        for k, fk in enumerate(chain):
            arg = chainrule.tensor(x) if k == 0 else np.float64(x)
            value = _real(fk(arg))
            if value.size != 1:
                raise ValueError(f"plot: f must map a real number to a real number, but "
                                 f"f({x!r}) has shape {value.shape}")
            curves[k, i] = value.reshape(())
    return list(curves)


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else chainrule.as_tensor(np.asarray(value))


def _real(value: Any) -> np.ndarray:
    """f's result (a Tensor, array or number) as a float64 array; complex ones are refused."""
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    array = np.asarray(value)
    if np.iscomplexobj(array) or array.dtype.kind not in "biuf":
        raise TypeError(f"plot: f must return real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _close(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    finite = np.abs(b[np.isfinite(b)])
    scale = float(finite.max()) if finite.size else 1.0
    return bool(np.all(np.isclose(a, b, rtol=_RTOL, atol=_RTOL * max(scale, 1e-300),
                                  equal_nan=True)))
