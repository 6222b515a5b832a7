"""Randomized derivative checks: :func:`check_grads`, as in JAX and HIPS autograd.

``check_grads(f, args)`` checks every derivative chainrule gives for ``f`` at ``args`` against
central finite differences, along random directions: forward mode (JVP), reverse mode (VJP),
their agreement with each other, and, recursively, the derivatives of those derivatives.  Each
check costs a handful of evaluations of ``f``, whatever the size of its inputs (unlike
:func:`chainrule.autograd.gradcheck`, which builds whole Jacobians, element by element).

>>> import chainrule as cr
>>> from chainrule.testing import check_grads
>>> check_grads(lambda x, y: (x.sin() * y).sum(), (cr.tensor([0.5, 1.0]), 2.0))
>>> check_grads(lambda x: x.exp() @ x, (cr.eye(3) / 2,), order=3, modes=("fwd",))

A wrong derivative raises :class:`AssertionError` that says which check failed:

>>> from chainrule.engine import Primitive
>>> cube = Primitive("Cube", lambda x: x ** 3, (lambda g, ans, x: g * 2 * x * x,),
...                  save_inputs=True, save_ans=False, view=False, variadic=False,
...                  jvp="diagonal")
>>> x = cr.tensor([1.0, 2.0])
>>> check_grads(cube, (x,), modes=("rev",))  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
Traceback (most recent call last):
    ...
AssertionError: check_grads: mode 'rev', order 1: the VJP of f does not match central
differences: ... <VJP(u), v> = 0.05017843778, but <u, central difference along v> = ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule import forward
from chainrule.autograd import forward_ad
from chainrule.autograd import grad as _grad
from chainrule.grad_mode import enable_grad
from chainrule.tensor import Tensor

__all__ = ["check_grads", "DEFAULT_EPS", "DEFAULT_ATOL", "DEFAULT_RTOL"]

MODES = ("fwd", "rev")

# Central differences in float64 with eps = 1e-6: the truncation error is about
# eps^2 |f'''| / 6 ~ 2e-13 |f'''| and the rounding error about 2^-52 |f| / eps ~ 2e-10 |f|
# (at order > 1 the function differenced is a derivative computed by AD, exact to rounding
# like f).  So a tolerance of 1e-5, absolute and relative, passes correct rules for values up
# to about 1e4 and third derivatives up to about 1e7, and still fails any wrong rule, which is
# off by a relative error of order one.  These are JAX's defaults for float64 gradients.
DEFAULT_EPS = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-5


def check_grads(f: Callable[..., Tensor], args: Sequence[Tensor | np.ndarray | float],
                order: int = 2, modes: Sequence[str] = MODES, eps: float = DEFAULT_EPS,
                atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL, seed: int = 0) -> None:
    """Check the derivatives of ``f`` at ``args`` up to ``order``; raise AssertionError if wrong.

    ``f`` takes one Tensor per element of ``args`` and returns one Tensor (of any shape; a
    tuple of Tensors is accepted too, each output checked).
    ``args`` may hold Tensors, ndarrays or Python numbers; ``f`` receives them as float64
    Tensors (copies: the originals and their ``.grad`` are never touched).

    At each order, along a random direction ``v`` (one per argument, seeded by ``seed``):

    * ``"fwd"`` in ``modes``: the JVP ``J v`` by forward mode must equal, element by element,
      the central difference ``(f(x + eps v) - f(x - eps v)) / (2 eps)``;
    * ``"rev"`` in ``modes``: for a random cotangent ``u``, ``<VJP(u), v>`` by reverse mode
      (``chainrule.autograd.grad(f(x), x, u)``) must equal ``<u, central difference>``;
    * both: ``<u, J v>`` from the JVP must equal ``<VJP(u), v>``.

    Complex arguments and outputs are checked as pairs of real numbers: ``v`` and ``u`` are
    then complex, the inner product is the real one, ``Re(sum(conj(a) b))``, and the VJP is
    PyTorch's (``autograd.grad``'s; JAX's is its conjugate), for which
    ``<VJP(u), v> = <u, J v>`` holds whether or not ``f`` is holomorphic.

    Two numbers ``a`` (by AD) and ``n`` (by differences) agree when
    ``|a - n| <= atol + rtol * |n|``; for inner products ``|n|`` is replaced by the sum of the
    absolute values of the products summed (so that cancellation cannot make it tiny).

    With ``order > 1`` the derivatives are themselves checked, with ``order - 1`` and the same
    ``modes``: ``"fwd"`` checks the function ``x -> J(x) v`` (forward mode at a nested level,
    so forward-over-forward and reverse-over-forward), ``"rev"`` checks
    ``x -> VJP(x, u)`` (reverse mode with ``create_graph=True``, so forward-over-reverse and
    reverse-over-reverse; its outputs are the VJPs of the arguments, one per argument).
    Every check costs O(1) evaluations of ``f``: ``2 + len(modes)`` of them, and
    ``sum(len(modes) ** k for k < order)`` checks are made.

    The error message names the failing mode, the order (1 for first derivatives), the
    function checked (e.g. "the VJP of f") and both numbers with their difference.

    >>> import chainrule as cr
    >>> a, b = cr.linspace(-1, 1, 6).reshape(2, 3), cr.ones(3, 4)
    >>> check_grads(lambda a, b: cr.tanh(a @ b).sum(dim=0), (a, b), order=2)
    """
    if not isinstance(args, (tuple, list)):
        args = (args,)
    if not args:
        raise ValueError("check_grads: args is empty; pass a tuple with one value per argument "
                         "of f")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"check_grads: order must be an integer >= 1, got {order!r}")
    if isinstance(modes, str):
        modes = (modes,)
    modes = tuple(modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"check_grads: modes must be a non-empty subset of {MODES}, got "
                         f"{modes!r}")
    if not eps > 0:
        raise ValueError(f"check_grads: eps must be positive, got {eps!r}")
    xs = [_as_float64(a) for a in args]
    name = getattr(f, "__name__", "f")
    name = "f" if not name.isidentifier() else name  # "<lambda>" reads badly
    _check(f, xs, int(order), 1, modes, float(eps), float(atol), float(rtol),
           np.random.default_rng(seed), name)


def _as_float64(a) -> np.ndarray:
    """``a`` in float64, or complex128 if complex: a copy, never sharing the caller's storage."""
    data = np.asarray(a._data if isinstance(a, Tensor) else a)
    return np.array(data, dtype=np.complex128 if data.dtype.kind == "c" else np.float64)


def _random_like(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random direction in the space of ``x``: complex for a complex ``x``."""
    if x.dtype.kind == "c":
        return rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)
    return rng.standard_normal(x.shape)


def _check(f, xs: list[np.ndarray], order: int, level: int, modes: tuple, eps: float,
           atol: float, rtol: float, rng: np.random.Generator, what: str) -> None:
    """The checks at derivative order ``level`` of ``f``, then ``order - 1`` more orders.

    Internally ``f`` returns a list of Tensors (the VJP function returns one per argument).
    """
    vs = [_random_like(rng, x) for x in xs]
    ahead = _values(f, [Tensor(x + eps * v) for x, v in zip(xs, vs)], what)
    behind = _values(f, [Tensor(x - eps * v) for x, v in zip(xs, vs)], what)
    numeric = [(a - b) / (2 * eps) for a, b in zip(ahead, behind)]

    jvs = None
    if "fwd" in modes:
        jvs = [_array(t) for t in _jvp(f, [Tensor(x) for x in xs], [Tensor(v) for v in vs],
                                       what)]
        for i, (jv, n) in enumerate(zip(jvs, numeric)):
            _compare_elementwise(jv, n, atol, rtol, level, what,
                                 f" in output {i}" if len(numeric) > 1 else "")

    us = None
    if "rev" in modes:
        us = [_random_like(rng, n) for n in numeric]
        grads = [_array(g) for g in _vjp(f, [Tensor(x) for x in xs], [Tensor(u) for u in us],
                                         what, create_graph=False)]
        by_vjp, vjp_scale = _inner(grads, vs)
        by_differences, scale = _inner(us, numeric)
        _compare_scalar(
            by_vjp, by_differences, scale, atol, rtol,
            f"check_grads: mode 'rev', order {level}: the VJP of {what} does not match central "
            "differences: with a random cotangent u and direction v, <VJP(u), v>",
            "<u, central difference along v>")
        if jvs is not None:
            by_jvp, jvp_scale = _inner(us, jvs)
            _compare_scalar(
                by_jvp, by_vjp, max(jvp_scale, vjp_scale), atol, rtol,
                f"check_grads: modes 'fwd' and 'rev' disagree, order {level}: for {what}, "
                "<u, JVP(v)> by forward mode", "<VJP(u), v> by reverse mode")

    if order > 1:
        if "fwd" in modes:
            tangents = [Tensor(v) for v in vs]
            _check(lambda *ts: _jvp(f, ts, tangents, what), xs, order - 1, level + 1, modes,
                   eps, atol, rtol, rng, f"the JVP of {what}")
        if "rev" in modes:
            cotangents = [Tensor(u) for u in us]
            _check(lambda *ts: _vjp(f, ts, cotangents, what, create_graph=True), xs,
                   order - 1, level + 1, modes, eps, atol, rtol, rng, f"the VJP of {what}")


def _call(f, tensors, what: str) -> list[Tensor]:
    """``f(*tensors)`` as a list of Tensors."""
    out = f(*tensors)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"check_grads: {what} must return a Tensor (or a tuple of Tensors), "
                            f"got {type(o).__name__}")
    if not outs:
        raise TypeError(f"check_grads: {what} returned an empty sequence")
    return outs


def _array(t: Tensor) -> np.ndarray:
    data = np.asarray(t._data)
    return data.astype(np.complex128 if data.dtype.kind == "c" else np.float64, copy=False)


def _values(f, tensors, what: str) -> list[np.ndarray]:
    return [_array(o) for o in _call(f, tensors, what)]


def _inner(left: list[np.ndarray], right: list[np.ndarray]) -> tuple[float, float]:
    """The real inner product of two lists of arrays, ``Re(sum(conj(a) b))``, and the sum of
    its terms' absolute values."""
    products = [(np.conj(a) * b).real for a, b in zip(left, right)]
    return (sum(float(np.sum(p)) for p in products),
            sum(float(np.sum(np.abs(p))) for p in products))


def _jvp(f, tensors, tangents, what: str) -> list[Tensor]:
    """``J v`` of ``f`` at ``tensors`` by forward mode, at a level of its own (so it nests).

    The inputs may carry tangents of outer levels and may require grad: ``make_dual`` keeps
    both, so the result is differentiable by the outer checks.
    """
    level = forward.enter_level()
    try:
        duals = [forward_ad.make_dual(t, v, level=level) for t, v in zip(tensors, tangents)]
        outs = _call(f, duals, what)
        tangents_out = [forward_ad.unpack_dual(o, level=level).tangent for o in outs]
    finally:
        forward.exit_level(level)
    # no tangent: the output does not depend on the inputs
    return [Tensor(np.zeros(o.shape, np.complex128 if o.dtype.kind == "c" else np.float64))
            if t is None else t
            for o, t in zip(outs, tangents_out)]


def _vjp(f, tensors, cotangents: list[Tensor], what: str, create_graph: bool) -> list[Tensor]:
    """The VJP of ``f`` at ``tensors`` with ``cotangents``, one gradient per input.

    ``f`` is applied to ``x + z`` with leaves ``z = 0`` that require grad, and differentiated
    with respect to ``z``: the same gradient, and ``x`` may itself require grad or carry
    tangents (the outer checks), which ``create_graph=True`` carries into the result.
    """
    zeros = [Tensor(np.zeros(t.shape, t.dtype), requires_grad=True) for t in tensors]
    with enable_grad():
        outs = _call(f, [t + z for t, z in zip(tensors, zeros)], what)
        if [o.shape for o in outs] != [u.shape for u in cotangents]:
            raise AssertionError(f"check_grads: {what} returned outputs of shapes "
                                 f"{[o.shape for o in outs]} at one call and "
                                 f"{[u.shape for u in cotangents]} at another")
        # an output that does not require grad does not depend on the inputs
        pairs = [(o, u if u.dtype == o.dtype else u.to(o.dtype))
                 for o, u in zip(outs, cotangents) if o.requires_grad]
        if not pairs:
            return [Tensor(np.zeros(t.shape, t.dtype)) for t in tensors]
        grads = _grad([o for o, _ in pairs], zeros, [u for _, u in pairs],
                      create_graph=create_graph, materialize_grads=True)
    return list(grads)


def _compare_elementwise(jv: np.ndarray, numeric: np.ndarray, atol: float, rtol: float,
                         level: int, what: str, output: str) -> None:
    header = (f"check_grads: mode 'fwd', order {level}: the JVP of {what} along a random "
              f"direction v")
    if jv.shape != numeric.shape:
        raise AssertionError(f"{header} has shape {jv.shape}{output}, but the output has shape "
                             f"{numeric.shape}")
    with np.errstate(invalid="ignore"):
        diff = np.abs(jv - numeric)
        tol = atol + rtol * np.abs(numeric)
        close = (diff <= tol) | (jv == numeric) | (np.isnan(jv) & np.isnan(numeric))
    if close.all():
        return
    excess = np.where(close, -np.inf, np.nan_to_num(diff - tol, nan=np.inf))
    k = np.unravel_index(int(np.argmax(excess)), jv.shape)
    where = f" at index {tuple(int(i) for i in k)}" if jv.ndim else ""
    raise AssertionError(
        f"{header} does not match central differences{output}{where}: JVP = {jv[k]:.10g}, "
        f"central difference = {numeric[k]:.10g}: difference = {diff[k]:.3g} > tolerance "
        f"{tol[k]:.3g} ({int((~close).sum())} of {close.size} elements disagree)")


def _compare_scalar(analytic: float, reference: float, scale: float, atol: float, rtol: float,
                    label: str, reference_label: str) -> None:
    diff = abs(analytic - reference)
    tol = atol + rtol * scale
    if diff <= tol or analytic == reference or (np.isnan(analytic) and np.isnan(reference)):
        return
    raise AssertionError(f"{label} = {analytic:.10g}, but {reference_label} = "
                         f"{reference:.10g}: difference = {diff:.3g} > tolerance {tol:.3g}")
