"""More elementwise functions of NumPy's: the inverse trigonometric and hyperbolic functions,
logarithms and exponentials in other bases, ``sinc``, angle conversions, and the two-input
``atan2``, ``hypot``, ``logaddexp2``, ``fmax`` and ``fmin``.

Keyed by PyTorch's names (``asin``, ``atan2``), which ``chainrule.numpy`` calls by NumPy's
(``arcsin``, ``arctan2``).  Most are a product of the gradient and a derivative written with
the primitives of ``elementwise.py`` (so that every order of differentiation is recorded);
the angle conversions are linear, and ``fmax``/``fmin`` pass the gradient to the winner.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule.rules.elementwise import cos, exp, sin, sqrt, where
from chainrule.rules.table import derivative, primitive

_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))

# d asin(x) = dx / sqrt(1 - x^2)
asin = primitive("asin", np.arcsin, (derivative(lambda ans, x: 1.0 / sqrt(1.0 - x * x)),),
                 save_inputs=True, jvp="diagonal", grad_fn="AsinBackward0", batch="elementwise")
# d acos(x) = -dx / sqrt(1 - x^2)
acos = primitive("acos", np.arccos, (derivative(lambda ans, x: -1.0 / sqrt(1.0 - x * x)),),
                 save_inputs=True, jvp="diagonal", grad_fn="AcosBackward0", batch="elementwise")
# d atan(x) = dx / (1 + x^2)
atan = primitive("atan", np.arctan, (derivative(lambda ans, x: 1.0 / (x * x + 1.0)),),
                 save_inputs=True, jvp="diagonal", grad_fn="AtanBackward0", batch="elementwise")
# d sinh(x) = cosh(x) dx
sinh = primitive("sinh", np.sinh, (derivative(lambda ans, x: cosh(x)),), save_inputs=True,
                 jvp="diagonal", grad_fn="SinhBackward0", batch="elementwise")
# d cosh(x) = sinh(x) dx
cosh = primitive("cosh", np.cosh, (derivative(lambda ans, x: sinh(x)),), save_inputs=True,
                 jvp="diagonal", grad_fn="CoshBackward0", batch="elementwise")
# d asinh(x) = dx / sqrt(x^2 + 1)
asinh = primitive("asinh", np.arcsinh, (derivative(lambda ans, x: 1.0 / sqrt(x * x + 1.0)),),
                  save_inputs=True, jvp="diagonal", grad_fn="AsinhBackward0", batch="elementwise")
# d acosh(x) = dx / sqrt(x^2 - 1)
acosh = primitive("acosh", np.arccosh, (derivative(lambda ans, x: 1.0 / sqrt(x * x - 1.0)),),
                  save_inputs=True, jvp="diagonal", grad_fn="AcoshBackward0", batch="elementwise")
# d atanh(x) = dx / (1 - x^2)
atanh = primitive("atanh", np.arctanh, (derivative(lambda ans, x: 1.0 / (1.0 - x * x)),),
                  save_inputs=True, jvp="diagonal", grad_fn="AtanhBackward0", batch="elementwise")
# d log2(x) = dx / (x ln 2)
log2 = primitive("log2", np.log2, (derivative(lambda ans, x: 1.0 / (x * _LN2)),),
                 save_inputs=True, jvp="diagonal", grad_fn="Log2Backward0", batch="elementwise")
# d log10(x) = dx / (x ln 10)
log10 = primitive("log10", np.log10, (derivative(lambda ans, x: 1.0 / (x * _LN10)),),
                  save_inputs=True, jvp="diagonal", grad_fn="Log10Backward0", batch="elementwise")
# d 2^x = 2^x ln 2 dx
exp2 = primitive("exp2", np.exp2, (derivative(lambda ans, x: ans * _LN2),), save_ans=True,
                 jvp="diagonal", grad_fn="Exp2Backward0", batch="elementwise")
# angles, linear: d deg2rad(x) = (pi / 180) dx, d rad2deg(x) = (180 / pi) dx
deg2rad = primitive("deg2rad", np.deg2rad, (lambda g, ans, x: g * (np.pi / 180.0),),
                    jvp="linear", grad_fn="Deg2RadBackward0", batch="elementwise")
rad2deg = primitive("rad2deg", np.rad2deg, (lambda g, ans, x: g * (180.0 / np.pi),),
                    jvp="linear", grad_fn="Rad2DegBackward0", batch="elementwise")


def _sinc_slope(ans, x):
    # sinc(x) = sin(pi x) / (pi x): d sinc = (cos(pi x) - sinc(x)) / x dx, which is 0 at 0
    at_zero = x == 0
    safe = where(at_zero, 1.0, x)
    return where(at_zero, 0.0, (cos(safe * np.pi) - sin(safe * np.pi) / (safe * np.pi)) / safe)


# (NumPy 1 computes np.sinc of a 0-d float32 in float64: promote gives NumPy 2's float32)
sinc = primitive("sinc", np.sinc, (derivative(_sinc_slope),), save_inputs=True,
                 jvp="diagonal", grad_fn="SincBackward0", promote=True, batch="elementwise")

# --------------------------------------------------------------------------------------------
# Two inputs (broadcasting is undone by the engine)


def _squared_radius(x, y):
    return x * x + y * y


# atan2(y, x), the angle of (x, y): d = (x dy - y dx) / (x^2 + y^2)
atan2 = primitive("atan2", np.arctan2,
                  (derivative(lambda ans, y, x: x / _squared_radius(x, y)),
                   derivative(lambda ans, y, x: -y / _squared_radius(x, y))),
                  save_inputs=True, jvp="diagonal", grad_fn="Atan2Backward0", batch="elementwise")
# hypot(x, y) = sqrt(x^2 + y^2): d = (x dx + y dy) / hypot
hypot = primitive("hypot", np.hypot,
                  (derivative(lambda ans, x, y: x / ans), derivative(lambda ans, x, y: y / ans)),
                  save_inputs=True, save_ans=True, jvp="diagonal", grad_fn="HypotBackward0",
                  batch="elementwise")
# logaddexp2(x, y) = log2(2^x + 2^y): d = 2^(x - ans) dx + 2^(y - ans) dy
logaddexp2 = primitive(
    "logaddexp2", np.logaddexp2,
    (derivative(lambda ans, x, y: exp((x - ans) * _LN2)),
     derivative(lambda ans, x, y: exp((y - ans) * _LN2))),
    save_inputs=True, save_ans=True, jvp="diagonal", grad_fn="Logaddexp2Backward0",
    batch="elementwise")


def _share_ignoring_nan(g, x, y, beats):
    # x takes the gradient where it beats y or y is NaN (fmax and fmin ignore NaNs); ties
    # split it evenly (as maximum's)
    winner = beats(x, y) | (y != y)
    return g * winner + (g * 0.5) * (x == y)


# d fmax(x, y) = dx where x wins, dy where y wins
fmax = primitive("fmax", np.fmax,
                 (lambda g, ans, x, y: _share_ignoring_nan(g, x, y, operator.gt),
                  lambda g, ans, x, y: _share_ignoring_nan(g, y, x, operator.gt)),
                 save_inputs=True, jvp="diagonal", grad_fn="FmaxBackward0", batch="elementwise")
# d fmin(x, y) = dx where x wins (is smaller), dy where y wins
fmin = primitive("fmin", np.fmin,
                 (lambda g, ans, x, y: _share_ignoring_nan(g, x, y, operator.lt),
                  lambda g, ans, x, y: _share_ignoring_nan(g, y, x, operator.lt)),
                 save_inputs=True, jvp="diagonal", grad_fn="FminBackward0", batch="elementwise")

