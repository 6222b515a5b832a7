"""NumPy's elementwise functions that need a rule of their own to give NumPy's values bit for
bit: ``cbrt``, ``fmod``, ``ldexp`` and ``float_power`` (no composition of other primitives
rounds as they do: ``fmod`` is exact, ``float_power`` calls the C library's ``pow`` where
``np.power`` has its own loops), and the modified Bessel function ``i0`` with ``i1``, its
derivative, which NumPy lacks.

``i0``'s forward is ``numpy.i0`` itself; ``i1`` is summed here from its power series
``i1(x) = sum_k (x/2)^(2k+1) / (k! (k+1)!)``, whose terms all have the sign of x, so that the
sum is accurate in float64 (as many terms as |x| needs, about |x| / 2 + 30: relative error
a few eps for |x| <= 10, within 200 eps up to 713, where i1 overflows).  Each rule is
written with these primitives (``i0' = i1``, ``i1' = i0 - i1 / x``), so every order of
differentiation is recorded.

``ldexp(x, exponent=e)`` is ``x 2^e``: linear in x, with the integer exponents as a
parameter (they carry no gradient), so that its rule is ``ldexp`` of the gradient, exact.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.rules.elementwise import _pow_dx, _pow_dy, trunc, where
from chainrule.rules.table import derivative, primitive, raw

# d cbrt(x) = dx / (3 cbrt(x)^2)   (inf at 0, as sqrt's)
cbrt = primitive("cbrt", np.cbrt, (derivative(lambda ans, x: 1.0 / (ans * ans * 3.0)),),
                 save_ans=True, jvp="diagonal", grad_fn="CbrtBackward0")
# fmod(x, y) = x - trunc(x / y) y, the remainder with the sign of x (C's fmod, exact):
# d = dx - trunc(x / y) dy
fmod = primitive("fmod", np.fmod,
                 (lambda g, ans, x, y: g, lambda g, ans, x, y: -(g * trunc(x / y))),
                 save_inputs=True, reads=((), (0, 1)), jvp="diagonal",
                 grad_fn="FmodBackward0", promote=True)


def _ldexp(x, exponent):
    # in x's float dtype, as NumPy 2 (NumPy 1 may widen a 0-d x by value: x 2^e is exact in
    # either, and rounds once to x's dtype)
    x = np.asarray(x)
    out = np.ldexp(x, exponent)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


# ldexp(x, e) = x 2^e: linear in x, d = 2^e dx, which ldexp writes exactly
ldexp = primitive("ldexp", _ldexp, (lambda g, ans, x, exponent: ldexp(g, exponent=exponent),),
                  jvp="linear", grad_fn="LdexpBackward0")
# float_power(x, y) = x^y computed in float64 (or complex128) at least: pow's rules
float_power = primitive("float_power", np.float_power, (_pow_dx, _pow_dy), save_inputs=True,
                        save_ans=True, reads=((0, 1), (0, 1, "ans")), jvp="diagonal",
                        grad_fn="FloatPowerBackward0", promote=True)

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
    near = np.abs(raw(x)) < 0.25
    safe, small = where(near, 1.0, x), where(near, x, 0.0)
    square = small * small
    series = _SLOPE_NEAR_0[-1]
    for c in reversed(_SLOPE_NEAR_0[:-1]):
        series = series * square + c
    return where(near, series, i0(safe) - ans / safe)


i1 = primitive("i1", _i1_series, (derivative(_i1_slope),), save_inputs=True, save_ans=True,
               jvp="diagonal", grad_fn="SpecialI1Backward0")
# d i0(x) = i1(x) dx
i0 = primitive("i0", np.i0, (derivative(i1),), save_inputs=True, jvp="diagonal",
               grad_fn="I0Backward0")
