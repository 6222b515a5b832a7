"""``chainrule.scipy.stats.norm``: the normal distribution's ``pdf``, ``logpdf``, ``cdf``,
``logcdf``, ``sf``, ``logsf`` and ``ppf``, with ``scipy.stats.norm``'s signatures, each
differentiable in ``x`` (or ``q``), ``loc`` and ``scale``.

Given plain arrays and numbers they are ``scipy.stats.norm``'s methods themselves (imported
on the first such call: ``scipy.stats`` takes a second to import).  Given a Tensor they
compute, with ``z = (x - loc) / scale``, ``logpdf = -z^2/2 - log(scale) - log(sqrt(2 pi))``,
``cdf = ndtr(z)``, ``logcdf = log_ndtr(z)``, ``sf = ndtr(-z)``, ``logsf = log_ndtr(-z)`` and
``ppf(q) = loc + scale ndtri(q)`` with the primitives of ``chainrule/rules/special.py``, so
that the tails stay accurate, and give NaN where ``scale <= 0``, as SciPy.  SciPy returns
float64; Tensors keep their float32.

>>> import chainrule as cr
>>> from chainrule.scipy.stats import norm
>>> loc = cr.tensor(1.0, requires_grad=True)
>>> norm.logpdf(2.0, loc).backward(); loc.grad   # d/dloc of -(x - loc)^2 / 2 = x - loc
tensor(1.)
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import rules as R
from chainrule.arguments import data_of
from chainrule.rules import special as S
from chainrule.scipy.dispatch import call, operand

_MODULE = "chainrule.scipy.stats.norm"
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRT_2PI = math.log(_SQRT_2PI)


def _scipy(method: str):
    """``scipy.stats.norm.<method>``, for plain arguments."""
    def run(*args):
        from scipy.stats import norm  # (a second to import: only when it is needed)

        return getattr(norm, method)(*args)

    return run


def _standardised(x, loc, scale):
    # z = (x - loc) / scale (inf or NaN where scale is 0: the result is NaN there)
    with np.errstate(divide="ignore", invalid="ignore"):
        return R.div(R.sub(operand(x), operand(loc)), operand(scale))


def _log(scale):
    # log(scale), a Python float for a Python number (so that it keeps float32 Tensors)
    if isinstance(scale, (int, float)):
        return math.log(scale) if scale > 0 else math.nan
    return R.log(operand(scale))


def _where_defined(out, scale):
    # NaN where scale <= 0, as SciPy
    bad = np.asarray(data_of(operand(scale))) <= 0
    return R.where(bad, np.nan, out) if bad.any() else out


def pdf(x, loc=0, scale=1):
    """The density ``exp(-z^2 / 2) / (sqrt(2 pi) scale)``, ``z = (x - loc) / scale``.

    >>> round(float(pdf(0.0)), 6)
    0.398942
    """
    return call(f"{_MODULE}.pdf", _scipy("pdf"), _pdf, x, loc, scale)


def _pdf(x, loc=0, scale=1):
    z = _standardised(x, loc, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = R.div(R.exp(R.mul(R.mul(z, z), -0.5)), R.mul(operand(scale), _SQRT_2PI))
    return _where_defined(out, scale)


def logpdf(x, loc=0, scale=1):
    """The log of the density, ``-z^2 / 2 - log(scale) - log(sqrt(2 pi))``."""
    return call(f"{_MODULE}.logpdf", _scipy("logpdf"), _logpdf, x, loc, scale)


def _logpdf(x, loc=0, scale=1):
    z = _standardised(x, loc, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = R.sub(R.sub(R.mul(R.mul(z, z), -0.5), _LOG_SQRT_2PI), _log(scale))
    return _where_defined(out, scale)


def cdf(x, loc=0, scale=1):
    """The distribution function ``ndtr(z)``.

    >>> import chainrule as cr
    >>> x = cr.tensor(0.0, requires_grad=True)
    >>> cdf(x).backward(); x.grad                  # the density at 0
    tensor(0.3989)
    """
    return call(f"{_MODULE}.cdf", _scipy("cdf"), _cdf, x, loc, scale)


def _cdf(x, loc=0, scale=1, tail=S.ndtr, upper=False):
    z = _standardised(x, loc, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = tail(R.neg(z) if upper else z)
    return _where_defined(out, scale)


def logcdf(x, loc=0, scale=1):
    """The log of the distribution function, ``log_ndtr(z)`` (accurate in the left tail)."""
    return call(f"{_MODULE}.logcdf", _scipy("logcdf"),
                lambda x, loc=0, scale=1: _cdf(x, loc, scale, S.log_ndtr), x, loc, scale)


def sf(x, loc=0, scale=1):
    """The survival function ``1 - cdf``, computed as ``ndtr(-z)``."""
    return call(f"{_MODULE}.sf", _scipy("sf"),
                lambda x, loc=0, scale=1: _cdf(x, loc, scale, S.ndtr, True), x, loc, scale)


def logsf(x, loc=0, scale=1):
    """The log of the survival function, ``log_ndtr(-z)`` (accurate in the right tail)."""
    return call(f"{_MODULE}.logsf", _scipy("logsf"),
                lambda x, loc=0, scale=1: _cdf(x, loc, scale, S.log_ndtr, True), x, loc,
                scale)


def ppf(q, loc=0, scale=1):
    """The quantile function, the inverse of :func:`cdf`: ``loc + scale ndtri(q)``.

    >>> round(float(ppf(0.975)), 6)
    1.959964
    """
    return call(f"{_MODULE}.ppf", _scipy("ppf"), _ppf, q, loc, scale)


def _ppf(q, loc=0, scale=1):
    with np.errstate(invalid="ignore"):
        out = R.add(R.mul(S.ndtri(operand(q)), operand(scale)), operand(loc))
    return _where_defined(out, scale)


__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]
