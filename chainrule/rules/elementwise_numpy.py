"""NumPy's elementwise functions that need a rule of their own to give NumPy's values bit for
bit: ``cbrt``, ``fmod``, ``ldexp`` and ``float_power`` (no composition of other primitives
rounds as they do: ``fmod`` is exact, ``float_power`` calls the C library's ``pow`` where
``np.power`` has its own loops), and the modified Bessel function ``i0`` with ``i1``, its
derivative, which NumPy lacks, and the error functions ``erf`` and ``erfc``, which NumPy
lacks too (``nn.GELU`` needs ``erf``; SciPy's stays in ``rules/special.py``).

``i0``'s forward is ``numpy.i0`` itself; ``i1`` is summed here from its power series
``i1(x) = sum_k (x/2)^(2k+1) / (k! (k+1)!)``, whose terms all have the sign of x, so that the
sum is accurate in float64 (as many terms as |x| needs, about |x| / 2 + 30: relative error
a few eps for |x| <= 10, within 200 eps up to 713, where i1 overflows).  Each rule is
written with these primitives (``i0' = i1``, ``i1' = i0 - i1 / x``), so every order of
differentiation is recorded.

``ldexp(x, exponent=e)`` is ``x 2^e``: linear in x, with the integer exponents as a
parameter (they carry no gradient), so that its rule is ``ldexp`` of the gradient, exact.

``erf`` and ``erfc`` are W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
approximations for the error function", Math. Comp. 23 (1969) 631-637), the coefficients of
his CALERF, computed in float64 (and rounded once to float32 or float16): three intervals of
|x|, each one rational function, the exponential factor of the tails split so that no
rounding of x^2 is magnified.  Measured against the C library's ``erf``/``erfc`` (Python's
``math``) on a million points: relative error at most 2 eps in float64 wherever the result
is a normal number (``tests/rules/test_error_function.py`` states the bounds it checks).
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.rules.elementwise import _pow_dx, _pow_dy, exp, trunc, where
from chainrule.rules.table import derivative, primitive

# d cbrt(x) = dx / (3 cbrt(x)^2)   (inf at 0, as sqrt's)
cbrt = primitive("cbrt", np.cbrt, (derivative(lambda ans, x: 1.0 / (ans * ans * 3.0)),),
                 save_ans=True, jvp="diagonal", grad_fn="CbrtBackward0", batch="elementwise")
# fmod(x, y) = x - trunc(x / y) y, the remainder with the sign of x (C's fmod, exact):
# d = dx - trunc(x / y) dy
fmod = primitive("fmod", np.fmod,
                 (lambda g, ans, x, y: g, lambda g, ans, x, y: -(g * trunc(x / y))),
                 save_inputs=True, reads=((), (0, 1)), jvp="diagonal",
                 grad_fn="FmodBackward0", promote=True, batch="elementwise")


def _ldexp(x, exponent):
    # in x's float dtype, as NumPy 2 (NumPy 1 may widen a 0-d x by value: x 2^e is exact in
    # either, and rounds once to x's dtype)
    x = np.asarray(x)
    out = np.ldexp(x, exponent)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


# ldexp(x, e) = x 2^e: linear in x, d = 2^e dx, which ldexp writes exactly
ldexp = primitive("ldexp", _ldexp, (lambda g, ans, x, exponent: ldexp(g, exponent=exponent),),
                  jvp="linear", grad_fn="LdexpBackward0", batch="elementwise")
# float_power(x, y) = x^y computed in float64 (or complex128) at least: pow's rules
float_power = primitive("float_power", np.float_power, (_pow_dx, _pow_dy), save_inputs=True,
                        save_ans=True, reads=((0, 1), (0, 1, "ans")), jvp="diagonal",
                        grad_fn="FloatPowerBackward0", promote=True, batch="elementwise")

# --------------------------------------------------------------------------------------------
# the modified Bessel functions of the first kind, orders 0 and 1


def _i1_series(x):
    """``i1(x)``, summed from its power series in float64, in x's float dtype (float64 for
    integers, as ``numpy.i0``)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    half = x.astype(np.float64) / 2.0
    quarter_square = half * half
    term, total = half, half.copy()
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        # the terms grow while k (k + 1) < (x/2)^2, then fall; stop once every term left is
        # below the last bit (NaN and infinite sums stop it too: their comparisons are False)
        while True:
            k += 1
            term = term * (quarter_square / (k * (k + 1)))
            total += term
            if not np.any(np.abs(term) > np.abs(total) * 1e-17):
                break
    return total.astype(dtype, copy=False)


# i1'(x) = sum_k (2k + 1) x^(2k) / (2^(2k+1) k! (k+1)!): six terms are i1' to rounding for
# |x| < 1/4, where i0 - i1 / x cancels (its n-th derivative loses eps / |x|^n) and is 0 / 0
# at 0; the polynomial's derivatives at 0 are i1's to the eleventh (i0's to the twelfth)
_SLOPE_NEAR_0 = tuple((2 * k + 1) / (2.0 ** (2 * k + 1) * math.factorial(k)
                                     * math.factorial(k + 1)) for k in range(6))


def _i1_slope(ans, x):
    # d i1(x) = (i0(x) - i1(x) / x) dx, its Taylor polynomial near 0
    near = abs(x) < 0.25
    safe, small = where(near, 1.0, x), where(near, x, 0.0)
    square = small * small
    series = _SLOPE_NEAR_0[-1]
    for c in reversed(_SLOPE_NEAR_0[:-1]):
        series = series * square + c
    return where(near, series, i0(safe) - ans / safe)


i1 = primitive("i1", _i1_series, (derivative(_i1_slope),), save_inputs=True, save_ans=True,
               jvp="diagonal", grad_fn="SpecialI1Backward0", batch="elementwise")
# d i0(x) = i1(x) dx
i0 = primitive("i0", np.i0, (derivative(i1),), save_inputs=True, jvp="diagonal",
               grad_fn="I0Backward0", batch="elementwise")

# --------------------------------------------------------------------------------------------
# the error function erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt and erfc(x) = 1 - erf(x), by
# Cody's approximations (module docstring), for y = |x|:
#   y <= 0.46875:      erf(x) = x R1(x^2),                   R1 of degree (4, 4)
#   0.46875 < y <= 4:  erfc(y) = exp(-y^2) R2(y),              R2 of degree (8, 8)
#   y > 4:             erfc(y) = exp(-y^2) / y (1/sqrt(pi) + z R3(z)), z = 1 / y^2, R3 (5, 5)
# erf(-x) = -erf(x) and erfc(-x) = 2 - erfc(x) give the negative half.

_ERF_NUM = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
            3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_DEN = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
            2.84423683343917062e03)
_ERFC_NUM = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
             2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
             2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_DEN = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
             1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
             3.43936767414372164e03, 1.23033935480374942e03)
_TAIL_NUM = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
             1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_TAIL_DEN = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
             6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 0.56418958354775628695  # 1 / sqrt(pi)
_SMALL, _MIDDLE = 0.46875, 4.0
_UNDERFLOW = 40.0  # erfc(y) is 0 in float64 beyond y = 27.3: no larger y need be computed


def _rational(t, num, den):
    """Cody's form: ``(((c_last t + c_0) t + c_1) t ... + c_{n-1}) / (((t + d_0) t ...) + d_{n-1})``
    (the numerator's leading coefficient stored last, the denominator monic), evaluated in
    place: two arrays, however high the degree."""
    top, bottom = t * num[-1], t.copy()
    for c, d in zip(num[:-2], den[:-1]):
        top += c
        top *= t
        bottom += d
        bottom *= t
    top += num[-2]
    bottom += den[-1]
    top /= bottom
    return top


def _erf_small(x):
    # x R1(x^2), the ratio first: one rounding of the product, exact for subnormal x too
    ratio = _rational(x * x, _ERF_NUM, _ERF_DEN)
    ratio *= x
    return ratio


def _erfc_tail_ratio(y):
    # (1/sqrt(pi) - z R3(z)) / y with z = 1 / y^2
    z = y * y
    np.reciprocal(z, out=z)
    ratio = _rational(z, _TAIL_NUM, _TAIL_DEN)
    ratio *= z
    np.subtract(_INV_SQRT_PI, ratio, out=ratio)
    ratio /= y
    return ratio


def _erfc_large(y):
    """``erfc(y)`` for ``y > 0.46875`` (NaN and inf included)."""
    y = np.minimum(y, _UNDERFLOW)  # (and inf becomes finite; NaN stays NaN)
    middle = y <= _MIDDLE
    ratio = np.empty_like(y)
    _by_interval(ratio, y, middle, lambda v: _rational(v, _ERFC_NUM, _ERFC_DEN))
    _by_interval(ratio, y, ~middle, _erfc_tail_ratio)
    # exp(-y^2) = exp(-s^2) exp(-(y - s)(y + s)) with s = y rounded down to 1/16: s^2 is
    # exact, so the exponential's large argument carries no rounding; exp(-s^2) is taken as
    # exp(-s^2/2)^2, so that only the last product can fall below the normal numbers
    s = y * 16.0
    np.trunc(s, out=s)
    s /= 16.0
    rest = s - y
    rest *= y + s
    ratio *= np.exp(rest, out=rest)
    s *= s
    s *= -0.5
    half = np.exp(s, out=s)
    ratio *= half
    ratio *= half
    return ratio


def _by_interval(out, v, mask, func):
    """``out[mask] = func(v[mask])``, without indexing when the mask is all or nothing."""
    if mask.all():
        out[...] = func(v)
    elif mask.any():
        out[mask] = func(v[mask])


def _error_values(v, complement: bool):
    """``erf(v)`` or ``erfc(v)`` of a 1-d float64 array."""
    small = np.abs(v) <= _SMALL  # (False for NaN, which the other branch keeps)
    out = np.empty_like(v)
    _by_interval(out, v, small, lambda u: (1.0 - _erf_small(u)) if complement else _erf_small(u))

    def large(u):
        tail = _erfc_large(np.abs(u))
        if complement:
            return np.where(u < 0, 2.0 - tail, tail)
        return np.copysign(1.0 - tail, u)

    _by_interval(out, v, ~small, large)
    return out


_BLOCK = 65536  # values computed at a time, so that the dozens of steps stay in the cache


def _error_function(x, complement: bool):
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    v = x.reshape(-1).astype(np.float64, copy=False)
    if v.size <= _BLOCK:
        out = _error_values(v, complement)
    else:
        out = np.empty_like(v)
        for start in range(0, v.size, _BLOCK):
            out[start:start + _BLOCK] = _error_values(v[start:start + _BLOCK], complement)
    out = out.astype(dtype, copy=False).reshape(x.shape)
    return out if x.ndim else out[()]


_TWO_OVER_SQRT_PI = 2.0 * _INV_SQRT_PI

# d erf(x) = 2/sqrt(pi) exp(-x^2) dx
erf = primitive("erf", lambda x: _error_function(x, False),
                (derivative(lambda ans, x: exp(-(x * x)) * _TWO_OVER_SQRT_PI),),
                save_inputs=True, jvp="diagonal", grad_fn="ErfBackward0", batch="elementwise")
# d erfc(x) = -2/sqrt(pi) exp(-x^2) dx
erfc = primitive("erfc", lambda x: _error_function(x, True),
                 (derivative(lambda ans, x: exp(-(x * x)) * -_TWO_OVER_SQRT_PI),),
                 save_inputs=True, jvp="diagonal", grad_fn="ErfcBackward0", batch="elementwise")
