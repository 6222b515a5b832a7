"""SciPy's special functions (``scipy.special``) as primitives: the gamma family (``gammaln``,
``digamma``, ``polygamma``, ``gamma``, ``betaln``, ``beta``), the error functions, their
inverses and ``erfcx``, the normal distribution's ``ndtr``, ``ndtri`` and ``log_ndtr``,
``logit``, ``xlogy`` and ``xlog1py``, the modified Bessel functions ``i0``, ``i1``, ``i0e``,
``i1e``, and the entropies ``entr``, ``rel_entr``, ``kl_div``.

This is the one module of the table that needs SciPy, so the package never imports it:
``chainrule/scipy/special.py`` does (and ``chainrule/scipy/stats/``), and its primitives join
:data:`~chainrule.rules.REGISTRY` then.  Each forward is SciPy's own function, so values
are SciPy's bit for bit (and its dtypes: float32 in, float32 out, except ``polygamma``, which
SciPy computes in float64 and which is kept in float32 here, as PyTorch and JAX keep it).

The derivatives are written with these primitives and those of ``elementwise.py``, so that
every order is recorded: ``gammaln' = digamma``, ``digamma' = polygamma(1, .)``,
``polygamma(n, .)' = polygamma(n + 1, .)``, ``i0' = i1``, ``i1'`` reads ``i0`` and ``i1``,
``erfinv' = sqrt(pi)/2 exp(erfinv^2)``.  Where SciPy's function is not differentiable (the
poles of the gamma functions, the edges of the entropies' domains, the kinks of ``i0e`` and
``i1e`` at 0) the derivatives are JAX's (``jax.scipy.special``'s rules), which the tests
compare with, except where JAX's are NaN or wrong (``entr`` below 0; ``i0`` and ``i1`` at 0,
which JAX computes as ``exp(|x|) i0e(x)``).  ``log_ndtr``'s is written with ``erfcx``, which
keeps it exact far in the left tail, where JAX's loses digits.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import scipy.special as sc
except ImportError as err:  # (chainrule itself never imports this module)
    raise ImportError("chainrule's rules for scipy.special need SciPy, which is not installed: "
                      "pip install 'chainrule[scipy]'") from err

from chainrule.arguments import dtype_of
from chainrule.rules.elementwise import exp, log, log1p, sign, where
from chainrule.rules.table import derivative, primitive

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def _float_eps(x) -> float:
    """The machine epsilon of ``x``'s float dtype (float64's for anything else)."""
    dtype = dtype_of(x)
    return float(np.finfo(dtype if dtype.kind == "f" else np.float64).eps)


# --------------------------------------------------------------------------------------------
# the gamma family


def _polygamma(n, x):
    # SciPy computes polygamma in float64 whatever the precision of x (it is not a ufunc);
    # float32 (and float16) keep their precision here, as in PyTorch and JAX
    out = sc.polygamma(n, x)
    dtype = np.result_type(x)
    if dtype.kind == "f" and dtype.itemsize < 8:
        return out.astype(dtype)
    return out


# d polygamma(n, x) = polygamma(n + 1, x) dx; n, the order, is an integer constant
polygamma = primitive("scipy.special.polygamma", _polygamma,
                      (lambda g, ans, n, x: None,
                       derivative(lambda ans, n, x: polygamma(n + 1, x))),
                      save_inputs=True, jvp="diagonal", grad_fn="PolygammaBackward0",
                      batch="elementwise")
# d digamma(x) = polygamma(1, x) dx
digamma = primitive("scipy.special.digamma", sc.digamma,
                    (derivative(lambda ans, x: polygamma(1, x)),), save_inputs=True,
                    jvp="diagonal", grad_fn="DigammaBackward0", batch="elementwise")
# d log|gamma(x)| = digamma(x) dx (also for x < 0; at the poles, digamma's value there)
gammaln = primitive("scipy.special.gammaln", sc.gammaln, (derivative(digamma),),
                    save_inputs=True, jvp="diagonal", grad_fn="LgammaBackward0",
                    batch="elementwise")
# d gamma(x) = gamma(x) digamma(x) dx
gamma = primitive("scipy.special.gamma", sc.gamma,
                  (derivative(lambda ans, x: ans * digamma(x)),), save_inputs=True,
                  save_ans=True, jvp="diagonal", grad_fn="GammaBackward0", batch="elementwise")


def _digamma_difference(a, b):
    # d/da log B(a, b) = digamma(a) - digamma(a + b)
    return digamma(a) - digamma(a + b)


# log B(a, b) = gammaln(a) + gammaln(b) - gammaln(a + b): d = (digamma(a) - digamma(a + b)) da
# + (digamma(b) - digamma(a + b)) db
betaln = primitive("scipy.special.betaln", sc.betaln,
                   (derivative(lambda ans, a, b: _digamma_difference(a, b)),
                    derivative(lambda ans, a, b: _digamma_difference(b, a))),
                   save_inputs=True, jvp="diagonal", grad_fn="BetalnBackward0", promote=True,
                   batch="elementwise")
# d B(a, b) = B(a, b) ((digamma(a) - digamma(a + b)) da + (digamma(b) - digamma(a + b)) db)
beta = primitive("scipy.special.beta", sc.beta,
                 (derivative(lambda ans, a, b: ans * _digamma_difference(a, b)),
                  derivative(lambda ans, a, b: ans * _digamma_difference(b, a))),
                 save_inputs=True, save_ans=True, jvp="diagonal", grad_fn="BetaBackward0",
                 promote=True, batch="elementwise")

# --------------------------------------------------------------------------------------------
# the error functions and the normal distribution

# d erf(x) = 2/sqrt(pi) exp(-x^2) dx
erf = primitive("scipy.special.erf", sc.erf,
                (derivative(lambda ans, x: exp(-(x * x)) * (2.0 / _SQRT_PI)),),
                save_inputs=True, jvp="diagonal", grad_fn="ErfBackward0", batch="elementwise")
# d erfc(x) = -2/sqrt(pi) exp(-x^2) dx
erfc = primitive("scipy.special.erfc", sc.erfc,
                 (derivative(lambda ans, x: exp(-(x * x)) * (-2.0 / _SQRT_PI)),),
                 save_inputs=True, jvp="diagonal", grad_fn="ErfcBackward0", batch="elementwise")
# y = erfinv(x): dx = 2/sqrt(pi) exp(-y^2) dy, so d erfinv(x) = sqrt(pi)/2 exp(y^2) dx
erfinv = primitive("scipy.special.erfinv", sc.erfinv,
                   (derivative(lambda ans, x: exp(ans * ans) * (_SQRT_PI / 2.0)),),
                   save_ans=True, jvp="diagonal", grad_fn="ErfinvBackward0", batch="elementwise")
# erfcinv(x) = erfinv(1 - x): d erfcinv(x) = -sqrt(pi)/2 exp(erfcinv(x)^2) dx
erfcinv = primitive("scipy.special.erfcinv", sc.erfcinv,
                    (derivative(lambda ans, x: exp(ans * ans) * (-_SQRT_PI / 2.0)),),
                    save_ans=True, jvp="diagonal", grad_fn="ErfcinvBackward0", batch="elementwise")
# the standard normal CDF: d ndtr(x) = exp(-x^2 / 2) / sqrt(2 pi) dx
ndtr = primitive("scipy.special.ndtr", sc.ndtr,
                 (derivative(lambda ans, x: exp(x * x * -0.5) * (1.0 / _SQRT_2PI)),),
                 save_inputs=True, jvp="diagonal", grad_fn="SpecialNdtrBackward0",
                 batch="elementwise")
# its inverse, y = ndtri(p): d ndtri(p) = sqrt(2 pi) exp(y^2 / 2) dp
ndtri = primitive("scipy.special.ndtri", sc.ndtri,
                  (derivative(lambda ans, x: exp(ans * ans * 0.5) * _SQRT_2PI),),
                  save_ans=True, jvp="diagonal", grad_fn="SpecialNdtriBackward0",
                  batch="elementwise")
# erfcx(x) = exp(x^2) erfc(x): d erfcx(x) = (2 x erfcx(x) - 2/sqrt(pi)) dx
erfcx = primitive("scipy.special.erfcx", sc.erfcx,
                  (derivative(lambda ans, x: x * ans * 2.0 - 2.0 / _SQRT_PI),),
                  save_inputs=True, save_ans=True, jvp="diagonal", grad_fn="ErfcxBackward0",
                  batch="elementwise")
# d log ndtr(x) = pdf(x) / ndtr(x) dx, and ndtr(x) = erfc(-x/sqrt(2)) / 2
# = exp(-x^2/2) erfcx(-x/sqrt(2)) / 2, so the exponentials cancel exactly:
# d log ndtr(x) = sqrt(2/pi) / erfcx(-x/sqrt(2)) dx, with no cancellation in either tail
# (where exp(-x^2/2 - log_ndtr(x)) would lose digits: 5e-9 of them at x = -1e4)
log_ndtr = primitive(
    "scipy.special.log_ndtr", sc.log_ndtr,
    (derivative(lambda ans, x: _SQRT_2_OVER_PI / erfcx(x * -_SQRT_HALF)),),
    save_inputs=True, jvp="diagonal", grad_fn="SpecialLogNdtrBackward0", batch="elementwise")

# --------------------------------------------------------------------------------------------
# logarithms

# logit(p) = log(p / (1 - p)): d logit(p) = dp / (p (1 - p))
logit = primitive("scipy.special.logit", sc.logit,
                  (derivative(lambda ans, x: 1.0 / (x * (1.0 - x))),), save_inputs=True,
                  jvp="diagonal", grad_fn="LogitBackward0", batch="elementwise")
# xlogy(x, y) = x log(y) (0 where x = 0): d = log(y) dx + x / y dy, also at x = 0 (JAX's)
xlogy = primitive("scipy.special.xlogy", sc.xlogy,
                  (derivative(lambda ans, x, y: log(y)), derivative(lambda ans, x, y: x / y)),
                  save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal",
                  grad_fn="XlogyBackward0", promote=True, batch="elementwise")
# xlog1py(x, y) = x log(1 + y) (0 where x = 0): d = log(1 + y) dx + x / (1 + y) dy
xlog1py = primitive("scipy.special.xlog1py", sc.xlog1py,
                    (derivative(lambda ans, x, y: log1p(y)),
                     derivative(lambda ans, x, y: x / (y + 1.0))),
                    save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal",
                    grad_fn="SpecialXlog1PyBackward0", promote=True, batch="elementwise")

# --------------------------------------------------------------------------------------------
# modified Bessel functions of the first kind, orders 0 and 1, and their scaled forms
# i0e(x) = exp(-|x|) i0(x), i1e(x) = exp(-|x|) i1(x)


def _i1_slope(ans, x):
    # d i1(x) = (i0(x) - i1(x) / x) dx, which is 1/2 at 0 (i1(x) = x/2 + O(x^3)); JAX takes
    # 1/2 wherever |x| <= eps, which also keeps 1/x finite for subnormal x
    tiny = abs(x) <= _float_eps(x)
    safe = where(tiny, 1.0, x)
    return where(tiny, 0.5, i0(safe) - ans / safe)


def _i1e_slope(ans, x):
    # d i1e(x) = (i0e(x) - i1e(x) (sign(x) + 1/x)) dx, 1/2 at 0 as for i1
    tiny = abs(x) <= _float_eps(x)
    safe = where(tiny, 1.0, x)
    return where(tiny, 0.5, i0e(safe) - ans * (sign(safe) + 1.0 / safe))


i1 = primitive("scipy.special.i1", sc.i1, (derivative(_i1_slope),), save_inputs=True,
               save_ans=True, jvp="diagonal", grad_fn="SpecialI1Backward0", batch="elementwise")
# d i0(x) = i1(x) dx
i0 = primitive("scipy.special.i0", sc.i0, (derivative(i1),), save_inputs=True,
               jvp="diagonal", grad_fn="I0Backward0", batch="elementwise")
i1e = primitive("scipy.special.i1e", sc.i1e, (derivative(_i1e_slope),), save_inputs=True,
                save_ans=True, jvp="diagonal", grad_fn="SpecialI1EBackward0", batch="elementwise")
# d i0e(x) = (i1e(x) - sign(x) i0e(x)) dx   (0 at the kink x = 0, as JAX)
i0e = primitive("scipy.special.i0e", sc.i0e,
                (derivative(lambda ans, x: i1e(x) - sign(x) * ans),), save_inputs=True,
                save_ans=True, jvp="diagonal", grad_fn="SpecialI0EBackward0", batch="elementwise")

# --------------------------------------------------------------------------------------------
# entropies; outside the domain where they are smooth (x > 0, y > 0): entr's derivative is
# +inf at 0 (its one-sided slope, as JAX's) and 0 for x < 0, where entr is the constant -inf
# (JAX gives NaN there); rel_entr's are 0 on the edges and outside, and kl_div's rel_entr's
# - 1 (in x) and + 1 (in y), as JAX's


def _entr_slope(ans, x):
    # d (-x log x) = -(log(x) + 1) dx for x > 0
    inside = x > 0
    outside = where(x == 0, np.array(np.inf, x.dtype), np.array(0.0, x.dtype))
    return where(inside, -(log(where(inside, x, 1.0)) + 1.0), outside)


def _inside(x, y):
    # the points where x > 0 and y > 0, and x and y replaced by 1 elsewhere (so that no log of
    # 0 or a negative number reaches a derivative there, of any order)
    inside = (x > 0) & (y > 0)
    return inside, where(inside, x, 1.0), where(inside, y, 1.0)


def _rel_entr_dx(ans, x, y):
    # d (x log(x / y)) / dx = log(x / y) + 1
    inside, x, y = _inside(x, y)
    return where(inside, log(x / y) + 1.0, 0.0)


def _rel_entr_dy(ans, x, y):
    # d (x log(x / y)) / dy = -x / y
    inside, x, y = _inside(x, y)
    return where(inside, -(x / y), 0.0)


entr = primitive("scipy.special.entr", sc.entr, (derivative(_entr_slope),), save_inputs=True,
                 jvp="diagonal", grad_fn="SpecialEntrBackward0", batch="elementwise")
rel_entr = primitive("scipy.special.rel_entr", sc.rel_entr,
                     (derivative(_rel_entr_dx), derivative(_rel_entr_dy)), save_inputs=True,
                     jvp="diagonal", grad_fn="RelEntrBackward0", promote=True, batch="elementwise")
# kl_div(x, y) = x log(x / y) - x + y: d = log(x / y) dx + (1 - x / y) dy
kl_div = primitive("scipy.special.kl_div", sc.kl_div,
                   (derivative(lambda ans, x, y: _rel_entr_dx(ans, x, y) - 1.0),
                    derivative(lambda ans, x, y: _rel_entr_dy(ans, x, y) + 1.0)),
                   save_inputs=True, jvp="diagonal", grad_fn="KlDivBackward0", promote=True,
                   batch="elementwise")
