"""How to call each differentiable function of ``chainrule.numpy`` on sample inputs: one line
per function, keyed by NumPy's name (``"linalg.inv"`` for ``numpy.linalg.inv``).

An entry is a tuple of :class:`Case`: a call ``call(f, *inputs)`` (``f`` is NumPy's function
or chainrule.numpy's, the inputs ndarrays or Tensors), the inputs' shapes and the
:class:`Domain` each input is drawn from (where the function is smooth).  The helpers build
the usual ones: :func:`unary`, :func:`binary` (with broadcasting shapes), :func:`reduction`
(with ``axis`` and ``keepdims``) and :func:`calls` (any calls on inputs of given shapes).

Three things read this table: ``tests/numpy/test_catalogue.py`` (NumPy's value on the same
inputs, and derivatives against central differences), ``python -m tests.numpy.coverage``
(which measures the reverse, forward and second-order columns of ``docs/numpy.md`` with
:func:`chainrule.testing.check_grads`) and ``tests/numpy/test_random_programs.py`` (random
compositions of these calls, each input mapped into its domain by ``Domain.into``).

A differentiable function of chainrule.numpy without an entry fails the suite, and so does an
entry for a function chainrule.numpy does not differentiate.  Names absent from the
installed NumPy (``acos`` on NumPy 1.26) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import chainrule.numpy as cnp


@dataclass(frozen=True)
class Domain:
    """Where an input may lie: ``sample(rng, shape)`` draws from it, and ``into(x)`` maps any
    real array smoothly into it (written with chainrule.numpy, so that it records on Tensors:
    random programs feed one function's result to the next through it)."""

    name: str
    sample: Callable
    into: Callable


def _uniform(low: float, high: float) -> Callable:
    return lambda rng, shape: rng.uniform(low, high, shape)


def _eye(shape) -> np.ndarray:
    return np.eye(shape[-1]) if shape else np.ones(())


def _spd(b):
    # b b^T + diag(1, 2, ..., n): symmetric, eigenvalues >= 1, and distinct for random b, even
    # where b b^T has repeated eigenvalues (b of low rank)
    n = np.shape(b)[-1]
    return cnp.matmul(b, cnp.swapaxes(b, -1, -2)) + np.diag(np.arange(1.0, n + 1))


# |x| < 3 (so that exp, power and products of the results stay moderate)
REAL = Domain("real", lambda rng, shape: rng.standard_normal(shape),
              lambda x: 3.0 * cnp.tanh(x / 3.0))
POSITIVE = Domain("positive", _uniform(0.5, 2.0), lambda x: x * x + 0.5)
UNIT = Domain("inside (-1, 1)", _uniform(-0.9, 0.9), lambda x: 0.9 * cnp.tanh(x))
ABOVE_ONE = Domain("above 1", _uniform(1.2, 3.0), lambda x: x * x + 1.2)
NEAR_ONE = Domain("near 1", _uniform(0.5, 1.5), lambda x: 1.0 + 0.5 * cnp.tanh(x))
# kinks and jumps at 0 or at the integers: random values never lie on them
AWAY_FROM_ZERO = Domain("away from 0",
                        lambda rng, shape: rng.uniform(0.5, 2.0, shape)
                        * rng.choice([-1.0, 1.0], shape), REAL.into)
NON_INTEGER = Domain("away from the integers",
                     lambda rng, shape: rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape),
                     REAL.into)
# square matrices (the last two axes): strictly diagonally dominant (|a_ij| <= 1/2 off the
# diagonal, n on it), or symmetric positive definite
INVERTIBLE = Domain("invertible",
                    lambda rng, shape: rng.uniform(-0.5, 0.5, shape) + shape[-1] * _eye(shape),
                    lambda a: cnp.tanh(a) / 2.0 + np.shape(a)[-1] * _eye(np.shape(a)))
# non-symmetric, with real eigenvalues near -2, 0.5 and 2.5 (3 by 3)
SPREAD = Domain("separated real eigenvalues",
                lambda rng, shape: rng.uniform(-0.3, 0.3, shape) + np.diag([-2.0, 0.5, 2.5]),
                lambda a: 0.3 * cnp.tanh(a) + np.diag([-2.0, 0.5, 2.5]))
SPD = Domain("symmetric positive definite", lambda rng, shape: _spd(rng.standard_normal(shape)),
             lambda a: _spd(cnp.tanh(a)))


@dataclass(frozen=True)
class Case:
    """``call(f, *inputs)``, on inputs of ``shapes`` drawn from ``domains``."""

    call: Callable
    shapes: tuple
    domains: tuple


def calls(*functions: Callable, shapes=((3, 4),), domain: Domain | tuple = REAL) -> tuple:
    """One case per call ``function(f, *inputs)``, on inputs of ``shapes`` (a shape per input)
    from ``domain`` (one for all inputs, or one per input)."""
    shapes = tuple(tuple(s) for s in shapes)
    domains = domain if isinstance(domain, tuple) else (domain,) * len(shapes)
    return tuple(Case(function, shapes, domains) for function in functions)


def _apply(f, *xs):
    return f(*xs)


def unary(domain: Domain = REAL) -> tuple:
    """``f(x)`` on a matrix, a vector and a number."""
    return sum((calls(_apply, shapes=(s,), domain=domain) for s in ((3, 4), (5,), ())), ())


def binary(first: Domain = REAL, second: Domain | None = None) -> tuple:
    """``f(x, y)`` on equal shapes and broadcasting ones."""
    domains = (first, second or first)
    return sum((calls(_apply, shapes=s, domain=domains)
                for s in (((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (4,)))), ())


def reduction(domain: Domain = REAL, **keywords) -> tuple:
    """``f(a)``, ``f(a, axis=0)``, ``f(a, axis=1, keepdims=True)`` and ``f(a, axis=(0, 1))``,
    each with ``keywords``."""
    return calls(lambda f, a: f(a, **keywords), lambda f, a: f(a, axis=0, **keywords),
                 lambda f, a: f(a, axis=1, keepdims=True, **keywords),
                 lambda f, a: f(a, axis=(0, 1), **keywords), domain=domain)


def along_axis(domain: Domain = REAL) -> tuple:
    """``f(a)``, ``f(a, axis=0)``, ``f(a, axis=-1)``, ``f(a, axis=None)`` (cumulative sums
    and sorts)."""
    return calls(_apply, lambda f, a: f(a, axis=0), lambda f, a: f(a, axis=-1),
                 lambda f, a: f(a, axis=None), domain=domain)


def _pair(shapes) -> tuple:
    """``f([a, b])`` on a pair of inputs of ``shapes`` (stacking and joining)."""
    return calls(lambda f, a, b: f([a, b]), shapes=shapes)


_VECTORS, _MATRICES = ((3,), (3,)), ((2, 3), (2, 3))

CATALOGUE: dict[str, tuple] = {
    # elementwise, one input
    "negative": unary(), "exp": unary(), "expm1": unary(), "exp2": unary(), "sin": unary(),
    "cos": unary(), "tan": unary(UNIT), "tanh": unary(), "sinh": unary(), "cosh": unary(),
    "arcsin": unary(UNIT), "arccos": unary(UNIT), "arctan": unary(), "arcsinh": unary(),
    "arccosh": unary(ABOVE_ONE), "arctanh": unary(UNIT), "log": unary(POSITIVE),
    "log2": unary(POSITIVE), "log10": unary(POSITIVE), "log1p": unary(POSITIVE),
    "sqrt": unary(POSITIVE), "square": unary(), "reciprocal": unary(POSITIVE),
    "deg2rad": unary(), "rad2deg": unary(), "radians": unary(), "degrees": unary(),
    "sinc": unary(), "abs": unary(AWAY_FROM_ZERO), "absolute": unary(AWAY_FROM_ZERO),
    "fabs": unary(AWAY_FROM_ZERO), "sign": unary(AWAY_FROM_ZERO),
    "floor": unary(NON_INTEGER), "ceil": unary(NON_INTEGER), "rint": unary(NON_INTEGER),
    "trunc": unary(NON_INTEGER), "round": unary(NON_INTEGER), "around": unary(NON_INTEGER),
    "clip": calls(lambda f, a: f(a, -0.5, 0.5), lambda f, a: f(a, None, 0.5)),
    # other elementwise functions, aliases, arrays built
    # NumPy 2's names of arccos ... power, concatenate, transpose
    "acos": unary(UNIT), "acosh": unary(ABOVE_ONE), "asin": unary(UNIT), "asinh": unary(),
    "atan": unary(), "atanh": unary(UNIT), "atan2": binary(), "pow": binary(POSITIVE, REAL),
    "concat": calls(lambda f, a, b: f([a, b]), shapes=((3, 4), (2, 4)))
    + calls(lambda f, a, b: f((a, b), axis=1), shapes=((3, 4), (3, 2))),
    "permute_dims": calls(_apply, lambda f, a: f(a, (1, 0, 2)), shapes=((2, 3, 4),)),
    "matrix_transpose": calls(_apply) + calls(_apply, shapes=((2, 3, 4),)),
    # elementwise (the integer parts of frexp, modf and divmod carry no gradient)
    "positive": unary(), "fix": unary(NON_INTEGER), "cbrt": unary(AWAY_FROM_ZERO),
    "i0": unary(), "copysign": binary(AWAY_FROM_ZERO),
    # (divisors away from 0, where the remainders jump ever more often; negative ones too)
    "fmod": binary(REAL, POSITIVE)
    + binary(REAL, Domain("negative", _uniform(-2.0, -0.5), lambda x: -(x * x + 0.5))),
    "float_power": binary(POSITIVE, REAL),
    "heaviside": binary(AWAY_FROM_ZERO, REAL)
    + calls(lambda f, b: f(np.array([-1.0, 0.0, 2.0, 0.0]), b), shapes=((4,),)),
    "ldexp": calls(lambda f, a: f(a, np.array([[1], [-2], [3]])), lambda f, a: f(a, 2)),
    "frexp": calls(lambda f, a: f(a)[0], shapes=((3, 4),), domain=AWAY_FROM_ZERO)
    + calls(lambda f, a: f(a)[0], shapes=((),), domain=AWAY_FROM_ZERO),
    "modf": calls(lambda f, a: f(a)[0], domain=NON_INTEGER),
    "divmod": calls(lambda f, a, b: f(a, b)[1], shapes=((3, 4), (3, 4)),
                    domain=(REAL, Domain("negative", _uniform(-2.0, -0.5),
                                         lambda x: -(x * x + 0.5))))
    + calls(lambda f, a, b: f(a, b)[1], shapes=((3, 1), (4,)), domain=(REAL, POSITIVE)),
    "kaiser": calls(lambda f, b: f(6, b), lambda f, b: f(5, b), lambda f, b: f(1, b),
                    shapes=((),), domain=POSITIVE),
    # along an axis
    "sort_complex": calls(_apply) + calls(lambda f, a, b: f(a + 1j * b), shapes=((3, 4), (3, 4))),
    "unwrap": calls(lambda f, a: f(3.0 * a), lambda f, a: f(3.0 * a, axis=0),
                    lambda f, a: f(3.0 * a, period=4.0), lambda f, a: f(3.0 * a, discont=4.0)),
    "cumulative_sum": calls(lambda f, a: f(a, axis=0), lambda f, a: f(a, axis=1,
                                                                      include_initial=True))
    + calls(_apply, lambda f, a: f(a, include_initial=True), shapes=((5,),))
    + calls(_apply, shapes=((),)),
    "cumulative_prod": calls(lambda f, a: f(a, axis=0), lambda f, a: f(a, axis=-1,
                                                                       include_initial=True),
                             domain=NEAR_ONE)
    + calls(_apply, lambda f, a: f(a, include_initial=True), shapes=((5,),), domain=NEAR_ONE),
    # conversions and copies
    "copy": calls(_apply), "asanyarray": calls(_apply, lambda f, a: f(a, dtype=np.float64)),
    "require": calls(_apply, lambda f, a: f(a, np.float64, ["O"]),
                     lambda f, a: f(a, requirements="C")),
    "ascontiguousarray": unary(), "asfortranarray": unary(), "asarray_chkfinite": unary(),
    # sequences and grids
    "logspace": calls(lambda f, a, b: f(a, b, 5), lambda f, a, b: f(a, b, 4, endpoint=False,
                                                                    base=2.0),
                      shapes=((), ())) + calls(lambda f, a, b: f(a, b, 3, axis=1),
                                               shapes=((2,), (2,)))
    + calls(lambda f, a, b, c: f(a, b, 4, base=c), shapes=((2,), (2,), (2,)),
            domain=(REAL, REAL, POSITIVE)),
    "geomspace": calls(lambda f, a, b: f(a, b, 5), lambda f, a, b: f(a, b, 4, endpoint=False),
                       shapes=((), ()), domain=POSITIVE)
    + calls(lambda f, a, b: f(-a, -b, 3, axis=1), shapes=((2,), (2,)), domain=POSITIVE),
    "vander": calls(_apply, lambda f, a: f(a, 3), lambda f, a: f(a, 5, increasing=True),
                    shapes=((4,),)),
    "meshgrid": calls(_apply, lambda f, a, b: f(a, b, indexing="ij"),
                      lambda f, a, b: f(a, b, sparse=True), shapes=((3,), (4,))),
    "broadcast_arrays": calls(_apply, shapes=((3, 1), (1, 4)))
    + calls(_apply, shapes=((3, 4), (4,))),
    # blocks and pieces
    "block": calls(lambda f, a, b: f([a, b]), shapes=((3,), (2,)))
    + calls(lambda f, a, b: f([[a, b], [b, a]]), shapes=((2, 2), (2, 2)))
    + calls(lambda f, a, b: f([[a], [b]]), shapes=((2, 3), (1, 3))),
    "unstack": calls(_apply, lambda f, a: f(a, axis=1)),
    "trim_zeros": calls(lambda f, a: f(a * np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0])),
                        lambda f, a: f(a * np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]), "f"),
                        lambda f, a: f(a * np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]), "b"),
                        shapes=((6,),))
    # (arrays of several dimensions: NumPy 2.2)
    + (calls(lambda f, a: f(a * np.array([[0.0], [1.0], [0.0]])),
             lambda f, a: f(a * np.array([0.0, 1.0, 1.0, 0.0]), axis=1))
       if np.lib.NumpyVersion(np.__version__) >= "2.2.0" else ()),
    "resize": calls(lambda f, a: f(a, (2, 7)), lambda f, a: f(a, 5), lambda f, a: f(a, (2, 2, 2)),
                    shapes=((3,),)) + calls(lambda f, a: f(a, (3, 5))),
    # elementwise, two inputs
    "add": binary(), "subtract": binary(), "multiply": binary(),
    "divide": binary(REAL, POSITIVE), "true_divide": binary(REAL, POSITIVE),
    "power": binary(POSITIVE, REAL), "maximum": binary(), "minimum": binary(),
    "fmax": binary(), "fmin": binary(), "mod": binary(REAL, POSITIVE),
    "remainder": binary(REAL, POSITIVE), "arctan2": binary(), "hypot": binary(),
    "logaddexp": binary(), "logaddexp2": binary(),
    "where": calls(lambda f, c, x, y: f(c > 0, x, y), shapes=((3, 4), (3, 1), (1, 4))),
    # reductions
    "sum": reduction(), "mean": reduction(), "prod": reduction(NEAR_ONE), "max": reduction(),
    "amax": reduction(), "min": reduction(), "amin": reduction(), "var": reduction(ddof=1),
    "std": reduction(), "cumsum": along_axis(), "cumprod": along_axis(NEAR_ONE),
    "sort": along_axis(),
    # statistics, entries selected, polynomials
    # statistics (q of quantiles mapped into its range inside the call, so that the derivative
    # in q is measured too)
    "average": calls(_apply, lambda f, a: f(a, axis=(0, 1), keepdims=True))
    + calls(lambda f, a, w: f(a, axis=1, weights=w), shapes=((3, 4), (4,)),
            domain=(REAL, POSITIVE))
    + calls(lambda f, a, w: f(a, weights=w, returned=True), shapes=((3, 4), (3, 4)),
            domain=(REAL, POSITIVE)),
    "median": reduction() + calls(lambda f, a: f(a, axis=1), shapes=((3, 5),)),
    "quantile": calls(*((lambda m: lambda f, a: f(a, [0.15, 0.5, 0.8], axis=1, method=m))(m)
                        for m in ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
                                  "interpolated_inverted_cdf", "hazen", "weibull", "linear",
                                  "median_unbiased", "normal_unbiased", "lower", "higher",
                                  "midpoint", "nearest")))
    + calls(lambda f, a: f(a, 0.3), lambda f, a: f(a, 0.7, axis=(0, 1), keepdims=True))
    + calls(lambda f, a, q: f(a, 0.5 + 0.45 * cnp.tanh(q), axis=0),
            lambda f, a, q: f(a, 0.5 + 0.45 * cnp.tanh(q), method="hazen"), shapes=((3, 4), ()))
    + calls(lambda f, a, q: f(a, 0.5 + 0.45 * cnp.tanh(q), axis=1, method="weibull"),
            shapes=((3, 4), (2,)))
    + (calls(lambda f, a, w: f(a, 0.4, axis=1, method="inverted_cdf", weights=w),
             shapes=((3, 4), (3, 4)), domain=(REAL, POSITIVE))
       if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else ()),
    "percentile": calls(lambda f, a: f(a, 30), lambda f, a: f(a, [10, 50, 95], axis=1),
                        lambda f, a: f(a, 40, axis=0, method="median_unbiased", keepdims=True),
                        lambda f, a: f(a, 75, axis=1, method="lower"))
    + calls(lambda f, a, q: f(a, 50 + 45 * cnp.tanh(q), axis=1), shapes=((3, 4), ())),
    "ptp": reduction(),
    # ... and those that ignore NaN: their inputs have NaN at every fifth entry from the third
    # (never a whole row or column of a 3 by 4 matrix), where the gradient must be 0
    **{name: cases(Domain(
        f"{base.name}, NaN at every fifth entry",
        lambda rng, shape, base=base: np.where(
            np.arange(np.prod(shape, dtype=int)).reshape(shape) % 5 == 2, np.nan,
            base.sample(rng, shape)),
        lambda x, base=base: cnp.where(np.arange(np.size(x)).reshape(np.shape(x)) % 5 == 2,
                                       np.nan, base.into(x))))
       for name, cases, base in (
           ("nanmax", reduction, REAL), ("nanmin", reduction, REAL),
           ("nansum", reduction, REAL), ("nanprod", reduction, NEAR_ONE),
           ("nanmean", reduction, REAL), ("nanvar", lambda d: reduction(d, ddof=1), REAL),
           ("nanstd", reduction, REAL), ("nanmedian", reduction, REAL),
           ("nancumsum", along_axis, REAL), ("nancumprod", along_axis, NEAR_ONE),
           ("nanquantile", lambda d: calls(
               lambda f, a: f(a, 0.4), lambda f, a: f(a, [0.25, 0.6], axis=0),
               lambda f, a: f(a, 0.3, axis=1, method="closest_observation", keepdims=True),
               lambda f, a: f(a, 0.9, axis=1, method="normal_unbiased"), domain=d), REAL),
           ("nanpercentile", lambda d: calls(
               lambda f, a: f(a, 40), lambda f, a: f(a, [25, 60], axis=1, method="midpoint"),
               domain=d), REAL))},
    "cov": calls(_apply, lambda f, m: f(m, rowvar=False), lambda f, m: f(m, bias=True))
    + calls(_apply, shapes=((2, 4), (4,)))
    + calls(lambda f, m, w: f(m, fweights=[1, 2, 1, 3], aweights=w),
            lambda f, m, w: f(m, aweights=w, ddof=0), shapes=((3, 4), (4,)),
            domain=(REAL, POSITIVE)),
    "corrcoef": calls(_apply, lambda f, x: f(x, rowvar=False))
    + calls(_apply, shapes=((4,), (4,))),
    **{name: calls(_apply, lambda f, y: f(y, dx=0.5, axis=0))
       + calls(_apply, shapes=((3, 4), (4,)))
       + calls(lambda f, y, x: f(y, x, axis=0), shapes=((3, 4), (3, 4)))
       + calls(lambda f, y, dx: f(y, dx=dx), shapes=((3, 4), ()))
       for name in ("trapezoid", "trapz")},  # (trapz: NumPy 1's name)
    # entries picked, placed and counted; the user's functions applied to parts
    "take": calls(lambda f, a: f(a, [1, 5, 5, -1]), lambda f, a: f(a, [[0, 2], [3, 3]], axis=1),
                  lambda f, a: f(a, [4, -1], axis=1, mode="wrap"),
                  lambda f, a: f(a, [7, 0], axis=0, mode="clip")),
    "take_along_axis": calls(lambda f, a: f(a, np.array([[0, 3], [1, 1], [2, 0]]), axis=1),
                             lambda f, a: f(a, np.array([[2, 0, 1, 1]]), axis=0)),
    "choose": calls(lambda f, x, y: f(np.array([[0, 1, 2, 1], [1, 0, 0, 2], [2, 2, 1, 0]]),
                                      [x, y, 0.5]), shapes=((3, 4), (4,)))
    + calls(lambda f, a: f([2, 0, 1, 1], a), lambda f, a: f([3, 0, 4, 1], a, mode="wrap")),
    "compress": calls(lambda f, a: f([True, False, True], a, axis=0),
                      lambda f, a: f([0, 1, 1, 0, 1], a)),
    "extract": calls(lambda f, a: f(np.arange(12).reshape(3, 4) % 3 == 0, a)),
    "delete": calls(lambda f, a: f(a, 1, axis=1), lambda f, a: f(a, [0, 5, 7]),
                    lambda f, a: f(a, slice(0, None, 2), axis=0)),
    "insert": calls(lambda f, a: f(a, 1, 2.5, axis=1))
    + calls(lambda f, a, v: f(a, [1, 3], v, axis=1), shapes=((3, 4), (3, 1)))
    + calls(lambda f, a, v: f(a, 2, v), shapes=((3, 4), (4,))),
    "diagflat": calls(_apply, lambda f, v: f(v, 2), lambda f, v: f(v, -1), shapes=((3,),))
    + calls(_apply, shapes=((2, 2),)),
    "ediff1d": calls(_apply) + calls(lambda f, a, b: f(a, to_end=b, to_begin=-1.0),
                                     shapes=((3, 4), (2,))),
    "bincount": calls(lambda f, w: f(np.array([0, 2, 2, 5, 1]), weights=w, minlength=7),
                      shapes=((5,),)),
    "piecewise": calls(lambda f, x: f(x, [x < 0, x > 1], [lambda t: t * t, cnp.sin, 0.5]),
                       lambda f, x: f(x, [x > 0.3], [cnp.exp, lambda t: -t])),
    "apply_along_axis": calls(lambda f, a: f(lambda r: cnp.cumsum(r) * r[0], 1, a),
                              lambda f, a: f(lambda r: cnp.sum(r * r), 0, a),
                              lambda f, a: f(lambda r: cnp.outer(r, r), 0, a)),
    "apply_over_axes": calls(lambda f, a: f(cnp.sum, a, [0, 1]),
                             lambda f, a: f(lambda t, axis: cnp.cumsum(t, axis), a, 1)),
    # convolutions and polynomials (the roots of a cubic kept real and apart by mapping the
    # input near x^3 - x^2 - 4.75 x + 2.5 = (x + 2)(x - 0.5)(x - 2.5), sorted; complex ones
    # near those of x^2 + 0.3 x + 1)
    "convolve": calls(_apply, lambda f, a, v: f(a, v, "same"), lambda f, a, v: f(a, v, "valid"),
                      shapes=((6,), (3,))) + calls(_apply, shapes=((3,), (14,))),
    "correlate": calls(_apply, lambda f, a, v: f(a, v, "same"), lambda f, a, v: f(a, v, "full"),
                       shapes=((6,), (3,)))
    + calls(lambda f, a, v: f(a, v, "full"), shapes=((4,), (13,))),
    "polyval": calls(_apply, shapes=((4,), (3, 5))) + calls(_apply, shapes=((3,), ())),
    "polyadd": calls(_apply, shapes=((4,), (2,))) + calls(_apply, shapes=((2,), (3,))),
    "polysub": calls(_apply, shapes=((4,), (2,))) + calls(_apply, shapes=((2,), (3,))),
    "polymul": calls(_apply, shapes=((4,), (3,))),
    "polydiv": calls(_apply, shapes=((5,), (3,)), domain=(REAL, POSITIVE)),
    "polyder": calls(_apply, lambda f, p: f(p, 2), shapes=((5,),)),
    "polyint": calls(_apply, lambda f, p: f(p, 2, [1.0, -0.5]), shapes=((4,),))
    + calls(lambda f, p, k: f(p, 1, k), shapes=((4,), ())),
    "polyfit": calls(lambda f, x, y: f(x, y, 2), lambda f, x, y: f(x, y, 2, cov=True),
                     lambda f, x, y: f(x, y, 1, full=True)[:2], shapes=((6,), (6,)))
    + calls(lambda f, x, y, w: f(x, y, 2, w=w), shapes=((6,), (6,), (6,)),
            domain=(REAL, REAL, POSITIVE))
    + calls(lambda f, x, y: f(x, y, 1), shapes=((6,), (6, 2))),
    "roots": calls(lambda f, p: cnp.sort(f(np.poly([-2.0, 0.5, 2.5]) + 0.05 * cnp.tanh(p))),
                   shapes=((4,),))
    + calls(lambda f, p: f(np.array([1.0, 0.3, 1.0]) + 0.05 * cnp.tanh(p)), shapes=((3,),)),
    "poly": calls(_apply, shapes=((3,),)) + calls(_apply, shapes=((3, 3),), domain=SPREAD),
    # products
    "dot": calls(_apply, shapes=((3, 4), (4, 2))) + calls(_apply, shapes=((4,), (4,)))
    + calls(_apply, shapes=((2, 3, 4), (4, 2))) + calls(_apply, shapes=((), (3,))),
    "matmul": calls(_apply, shapes=((3, 4), (4, 2))) + calls(_apply, shapes=((2, 3, 4), (4,))),
    "vdot": calls(_apply, shapes=((3, 4), (3, 4))),
    "inner": calls(_apply, shapes=((3, 4), (2, 4))) + calls(_apply, shapes=((4,), (4,))),
    "outer": calls(_apply, shapes=((3,), (4,))) + calls(_apply, shapes=((2, 2), (3,))),
    "tensordot": calls(lambda f, a, b: f(a, b, axes=1), shapes=((3, 4), (4, 2)))
    + calls(_apply, shapes=((2, 3, 4), (3, 4, 2))),
    "einsum": calls(lambda f, a, b: f("ij,jk->ik", a, b), shapes=((3, 4), (4, 2)))
    + calls(lambda f, a, b: f("ij,kj", a, b), lambda f, a, b: f(a, [0, 1], b, [2, 1], [0, 2]),
            shapes=((3, 4), (2, 4)))
    + calls(lambda f, a: f("ii->i", a), lambda f, a: f("ij->", a), shapes=((3, 3),)),
    "kron": calls(_apply, shapes=((2, 3), (3, 2))),
    # shapes
    "reshape": calls(lambda f, a: f(a, (4, 3)), lambda f, a: f(a, -1),
                     lambda f, a: f(a, (2, -1))),
    "ravel": calls(_apply),
    "transpose": calls(_apply, lambda f, a: f(a, (1, 0, 2)), shapes=((2, 3, 4),)),
    "swapaxes": calls(lambda f, a: f(a, 0, 2), lambda f, a: f(a, -1, 1), shapes=((2, 3, 4),)),
    "moveaxis": calls(lambda f, a: f(a, 0, -1), lambda f, a: f(a, 2, 0), shapes=((2, 3, 4),)),
    "expand_dims": calls(lambda f, a: f(a, 0), lambda f, a: f(a, -1)),
    "squeeze": calls(_apply, lambda f, a: f(a, 1), shapes=((3, 1, 4),)),
    "broadcast_to": calls(lambda f, a: f(a, (2, 3, 4))) + calls(lambda f, a: f(a, (3, 4)),
                                                                shapes=((3, 1),)),
    "flip": calls(_apply, lambda f, a: f(a, 0), lambda f, a: f(a, axis=1)),
    "flipud": calls(_apply), "fliplr": calls(_apply),
    "rot90": calls(_apply, lambda f, a: f(a, 2), lambda f, a: f(a, -1)),
    "roll": calls(lambda f, a: f(a, 1), lambda f, a: f(a, -2, axis=1),
                  lambda f, a: f(a, (1, 2), axis=(0, 1))),
    "tile": calls(lambda f, a: f(a, 2), lambda f, a: f(a, (2, 1))),
    "repeat": calls(lambda f, a: f(a, 2), lambda f, a: f(a, 2, axis=0),
                    lambda f, a: f(a, [1, 2, 0], axis=0)),
    "diff": calls(_apply, lambda f, a: f(a, 2), lambda f, a: f(a, axis=0)),
    "diag": calls(_apply, lambda f, a: f(a, 1), shapes=((3,),))
    + calls(_apply, lambda f, a: f(a, -1)),
    "diagonal": calls(_apply, lambda f, a: f(a, 1)) + calls(lambda f, a: f(a, 0, 1, 2),
                                                            shapes=((2, 3, 4),)),
    "trace": calls(_apply, lambda f, a: f(a, 1)) + calls(lambda f, a: f(a, axis1=1, axis2=2),
                                                         shapes=((2, 3, 4),)),
    "tril": calls(_apply, lambda f, a: f(a, -1), lambda f, a: f(a, 1)),
    "triu": calls(_apply, lambda f, a: f(a, -1), lambda f, a: f(a, 1)),
    # joining and splitting
    "concatenate": calls(lambda f, a, b: f([a, b]), shapes=((3, 4), (2, 4)))
    + calls(lambda f, a, b: f((a, b), axis=1), shapes=((3, 4), (3, 2))),
    "stack": _pair(((3, 4), (3, 4))) + calls(lambda f, a, b: f([a, b], axis=-1),
                                             shapes=((3, 4), (3, 4))),
    "vstack": _pair(_VECTORS) + _pair(_MATRICES), "hstack": _pair(_VECTORS) + _pair(_MATRICES),
    "dstack": _pair(_VECTORS) + _pair(_MATRICES),
    "column_stack": _pair(_VECTORS) + _pair(_MATRICES),
    "append": calls(_apply, lambda f, a, b: f(a, b, axis=0), shapes=((3, 4), (2, 4))),
    "split": calls(lambda f, a: f(a, 2, axis=1), lambda f, a: f(a, [1], axis=0)),
    "array_split": calls(lambda f, a: f(a, 3), lambda f, a: f(a, [1, 3], axis=1),
                         shapes=((5, 4),)),
    "vsplit": calls(lambda f, a: f(a, 2), shapes=((4, 3),)),
    "hsplit": calls(lambda f, a: f(a, 2), lambda f, a: f(a, [1, 3])),
    "dsplit": calls(lambda f, a: f(a, 2), shapes=((2, 3, 4),)),
    "atleast_1d": unary() + calls(_apply, shapes=((), (3,))),
    "atleast_2d": unary() + calls(_apply, shapes=((), (3,))),
    "atleast_3d": unary() + calls(_apply, shapes=((), (3, 4))),
    # array-API linear algebra
    # linear algebra
    "linalg.inv": calls(_apply, shapes=((3, 3),), domain=INVERTIBLE)
    + calls(_apply, shapes=((2, 3, 3),), domain=INVERTIBLE),
    "linalg.det": calls(_apply, shapes=((3, 3),), domain=INVERTIBLE)
    + calls(_apply, shapes=((2, 3, 3),), domain=INVERTIBLE),
    "linalg.slogdet": calls(lambda f, a: f(a)[1], shapes=((3, 3),), domain=INVERTIBLE),
    "linalg.solve": calls(_apply, shapes=((3, 3), (3,)), domain=(INVERTIBLE, REAL))
    + calls(_apply, shapes=((3, 3), (3, 2)), domain=(INVERTIBLE, REAL)),
    "linalg.cholesky": calls(_apply, shapes=((3, 3),), domain=SPD),
    # (eigenvectors up to sign: their squares are smooth functions of the matrix)
    "linalg.eigh": calls(lambda f, a: f(a)[0], lambda f, a: f(a)[1] ** 2, shapes=((3, 3),),
                         domain=SPD),
    "linalg.eigvalsh": calls(_apply, shapes=((3, 3),), domain=SPD),
    "linalg.norm": calls(_apply, lambda f, a: f(a, axis=1), lambda f, a: f(a, "fro"),
                         lambda f, a: f(a, "nuc"), lambda f, a: f(a, np.inf),
                         lambda f, a: f(a, 1), domain=AWAY_FROM_ZERO)
    + calls(lambda f, a: f(a, 3), lambda f, a: f(a, 1), shapes=((4,),), domain=AWAY_FROM_ZERO),
    # (singular vectors up to sign: their absolute values and the products are smooth)
    "linalg.svd": calls(lambda f, a: f(a)[1], lambda f, a: abs(f(a, full_matrices=False)[0]),
                        lambda f, a: f(a, compute_uv=False), shapes=((4, 3),))
    + calls(lambda f, a: (lambda u, s, vh: (u * s[..., None, :]) @ vh)(
        *f(a, full_matrices=False)), shapes=((2, 3, 4),)),
    "linalg.svdvals": calls(_apply, shapes=((4, 3),)),
    "linalg.qr": calls(lambda f, a: f(a)[0], lambda f, a: f(a)[1], lambda f, a: f(a, "r"),
                       shapes=((4, 3),))
    + calls(lambda f, a: f(a)[1], shapes=((3, 3),), domain=INVERTIBLE),
    "linalg.pinv": calls(_apply, shapes=((4, 3),)) + calls(_apply, shapes=((2, 3),)),
    "linalg.lstsq": calls(lambda f, a, b: f(a, b)[0], shapes=((4, 3), (4,)))
    + calls(lambda f, a, b: f(a, b)[0], shapes=((4, 3), (4, 2))),
    "linalg.cond": calls(_apply, lambda f, a: f(a, "fro"), shapes=((3, 3),), domain=INVERTIBLE),
    # (eigenvectors up to a phase: their moduli are smooth)
    "linalg.eig": calls(lambda f, a: f(a)[0], lambda f, a: abs(f(a)[1]), shapes=((3, 3),),
                        domain=SPREAD),
    "linalg.eigvals": calls(_apply, shapes=((3, 3),), domain=SPREAD),
    # NumPy 2's array-API linear algebra, the products of tensors, the generalised ufuncs
    # vecdot, matvec and vecmat (chainrule/numpy_linalg.py)
    "linalg.matmul": calls(_apply, shapes=((3, 4), (4, 2))) + calls(_apply, shapes=((2, 3, 4),
                                                                                  (4,))),
    "linalg.outer": calls(_apply, shapes=((3,), (4,))),
    "linalg.cross": calls(_apply, shapes=((3,), (3,))) + calls(_apply, shapes=((2, 3), (3,)))
    + calls(lambda f, a, b: f(a, b, axis=0), shapes=((3, 2), (3, 1))),
    "linalg.diagonal": calls(_apply, lambda f, a: f(a, offset=1), lambda f, a: f(a, offset=-2))
    + calls(_apply, shapes=((2, 3, 4),)),
    "linalg.trace": calls(_apply, lambda f, a: f(a, offset=1), lambda f, a: f(a, offset=-1))
    + calls(_apply, lambda f, a: f(a, dtype=np.float64), shapes=((2, 3, 3),)),
    "linalg.matrix_transpose": calls(_apply) + calls(_apply, shapes=((2, 3, 4),)),
    "linalg.tensordot": calls(_apply, lambda f, a, b: f(a, b, axes=([2, 1], [1, 0])),
                              shapes=((2, 3, 4), (3, 4, 2)))
    + calls(lambda f, a, b: f(a, b, axes=([1, 0], [0, 2])), shapes=((3, 4, 2), (4, 5, 3)))
    + calls(lambda f, a, b: f(a, b, axes=1), lambda f, a, b: f(a, b, axes=0),
            shapes=((3, 4), (4, 2))),
    "linalg.vecdot": calls(_apply, shapes=((3, 4), (3, 4))) + calls(_apply, shapes=((2, 3, 4),
                                                                                  (4,)))
    + calls(lambda f, a, b: f(a, b, axis=0), shapes=((3, 4), (3, 1))),
    "vecdot": calls(_apply, lambda f, a, b: f(a, b, axis=0),
                    lambda f, a, b: f(a, b, axes=[(0,), (0,)]),
                    lambda f, a, b: f(a, b, axis=1, keepdims=True), shapes=((3, 4), (3, 4)))
    + calls(_apply, lambda f, a, b: f(a, b, keepdims=True), shapes=((2, 3, 4), (4,))),
    "matvec": calls(_apply, shapes=((3, 4), (4,))) + calls(_apply, shapes=((2, 3, 4), (1, 4)))
    + calls(lambda f, a, b: f(a, b, axes=[(0, 2), (0,), (0,)]), shapes=((3, 2, 4), (4,))),
    "vecmat": calls(_apply, shapes=((3,), (3, 4))) + calls(_apply, shapes=((2, 3), (3, 4)))
    + calls(lambda f, a, b: f(a, b, axes=[(0,), (1, 0), (0,)]), shapes=((3, 2), (4, 3))),
    # (the order of the products: (AB)C, A(BC), Cormen's for four, a row and a column)
    "linalg.multi_dot": calls(lambda f, a, b, c: f([a, b, c]), shapes=((3, 4), (4, 2), (2, 5)))
    + calls(lambda f, a, b, c: f([a, b, c]), shapes=((5, 2), (2, 4), (4, 3)))
    + calls(lambda f, a, b, c, d: f((a, b, c, d)), shapes=((2, 5), (5, 3), (3, 6), (6, 4)))
    + calls(lambda f, a, b, c: f([a, b, c]), shapes=((4,), (4, 3), (3,)))
    + calls(lambda f, a, b: f([a, b]), shapes=((2, 3, 4), (4, 2))),
    "linalg.matrix_norm": calls(_apply, lambda f, a: f(a, ord="nuc"), lambda f, a: f(a, ord=2),
                                lambda f, a: f(a, ord=-2, keepdims=True),
                                lambda f, a: f(a, ord=1), lambda f, a: f(a, ord=-np.inf),
                                lambda f, a: f(a, ord=None, keepdims=True),
                                shapes=((2, 3, 4),), domain=AWAY_FROM_ZERO),
    "linalg.vector_norm": calls(_apply, lambda f, a: f(a, ord=1), lambda f, a: f(a, ord=np.inf),
                                lambda f, a: f(a, axis=0, ord=3),
                                lambda f, a: f(a, axis=(0, 2), keepdims=True),
                                lambda f, a: f(a, axis=(-1, 0), ord=-1),
                                lambda f, a: f(a, axis=1, keepdims=True, ord=0.5),
                                shapes=((2, 3, 4),), domain=AWAY_FROM_ZERO),
    "linalg.matrix_power": calls(*(lambda f, a, n=n: f(a, n) for n in (2, 3, 5, 6, -1, -3, 0, 1)),
                                 shapes=((3, 3),), domain=INVERTIBLE)
    + calls(lambda f, a: f(a, 4), shapes=((2, 3, 3),), domain=INVERTIBLE),
    # (a tensor that, read as a square matrix, is invertible)
    "linalg.tensorinv": calls(_apply, shapes=((2, 3, 6),), domain=(_READ_AS_MATRIX := Domain(
        "invertible as a square matrix",
        lambda rng, shape: INVERTIBLE.sample(rng, (round(np.prod(shape) ** 0.5),) * 2)
        .reshape(shape),
        lambda a: cnp.reshape(INVERTIBLE.into(cnp.reshape(a, (round(np.size(a) ** 0.5),) * 2)),
                              np.shape(a)))))
    + calls(lambda f, a: f(a, ind=1), shapes=((4, 2, 2),), domain=_READ_AS_MATRIX),
    "linalg.tensorsolve": calls(_apply, shapes=((2, 3, 6), (2, 3)), domain=(_READ_AS_MATRIX, REAL))
    + calls(lambda f, a, b: f(a, b, axes=(0,)), shapes=((6, 2, 3), (2, 3)),
            domain=(_READ_AS_MATRIX, REAL))
    + calls(_apply, shapes=((6, 2, 3), (6,)), domain=(_READ_AS_MATRIX, REAL)),
    # complex numbers (on real inputs; chainrule's tests of the primitives also take them
    # complex)
    "real": unary(), "imag": unary(), "conj": unary(), "conjugate": unary(),
    "angle": unary(AWAY_FROM_ZERO) + calls(lambda f, a: f(a, deg=True)),
    # building, padding, sampled data
    "array": calls(lambda f, a, b: f([a, b]), lambda f, a, b: f([[a, 1.0 * b], [b, a]]),
                   shapes=((3,), (3,))),
    "asarray": calls(_apply, lambda f, a: f(a, dtype=np.float64)),
    "linspace": calls(lambda f, a, b: f(a, b, 5), lambda f, a, b: f(a, b, 4, endpoint=False),
                      shapes=((), ())) + calls(lambda f, a, b: f(a, b, 3, axis=1),
                                               shapes=((2,), (2,))),
    "pad": calls(lambda f, a: f(a, 1), lambda f, a: f(a, ((1, 2), (0, 1)), mode="reflect"),
                 lambda f, a: f(a, 2, mode="wrap"), lambda f, a: f(a, (1, 3), mode="edge"),
                 lambda f, a: f(a, 2, mode="symmetric"),
                 lambda f, a: f(a, 1, mode="linear_ramp", end_values=0.5)),
    "select": calls(lambda f, a, b: f([a > 0.5, b > 0], [a, b], default=0.25),
                    shapes=((3, 4), (3, 4))),
    "cross": calls(_apply, shapes=((3,), (3,))) + calls(_apply, shapes=((2, 3), (3,))),
    "gradient": calls(lambda f, a: f(a, axis=1), lambda f, a: f(a, 0.5, axis=0),
                      lambda f, a: f(a, axis=1, edge_order=2)),
    "interp": calls(lambda f, x, fp: f(x, np.arange(4.0), fp), shapes=((5,), (4,)),
                    domain=(Domain("inside [0, 3]", _uniform(0.1, 2.9),
                                   lambda x: 1.5 + 1.4 * cnp.tanh(x)), REAL)),
    # discrete Fourier transforms (complex results: checked as pairs of reals)
    **{f"fft.{name}": calls(_apply, lambda f, a: f(a, 6), lambda f, a: f(a, axis=0),
                            lambda f, a: f(a, norm="ortho"), shapes=((3, 4),))
       for name in ("fft", "ifft", "rfft", "ihfft")},
    **{f"fft.{name}": calls(_apply, lambda f, a: f(a, 5), lambda f, a: f(a, norm="forward"),
                            shapes=((3, 4),))
       for name in ("irfft", "hfft")},
    **{f"fft.{name}": calls(_apply, lambda f, a: f(a, (3, 5), axes=(1, 2)),
                            lambda f, a: f(a, axes=(0, 2)),
                            shapes=((2, 3, 4),))
       for name in ("fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn", "irfft2", "irfftn")},
    "partition": calls(lambda f, a: f(a, 2), lambda f, a: f(a, (0, 3), axis=1),
                       lambda f, a: f(a, 1, axis=0)),
    "nan_to_num": unary(),
    "real_if_close": unary(),
    "rollaxis": calls(lambda f, a: f(a, 2), lambda f, a: f(a, 1, 3), shapes=((2, 3, 4),)),
    "full": calls(lambda f, v: f((2, 3), v), shapes=((),)) + calls(lambda f, v: f((2, 3), v),
                                                                   shapes=((3,),)),
    "astype": calls(lambda f, a: f(a, np.float64)),
    "fft.fftshift": calls(_apply, lambda f, a: f(a, axes=1)),
    "fft.ifftshift": calls(_apply, lambda f, a: f(a, axes=0)),
}


def function(module, name: str):
    """``module``'s function (NumPy's, or chainrule.numpy's) for a name of the table."""
    owner, _, attribute = name.rpartition(".")
    return getattr(getattr(module, owner) if owner else module, attribute)


def available() -> dict[str, tuple]:
    """The entries whose name the installed NumPy has."""
    return {name: cases for name, cases in CATALOGUE.items() if _in_numpy(name)}


def _in_numpy(name: str) -> bool:
    try:
        function(np, name)
    except AttributeError:
        return False
    return True
