"""``chainrule.scipy.special``: SciPy's special functions, differentiable
(``import chainrule.scipy.special as sps``).

The same names and signatures as ``scipy.special``.  Given plain arrays and numbers they are
SciPy's functions themselves (the same results, bit for bit, ufunc keywords such as ``out=``
included); given a Tensor they record, with reverse mode, forward mode and derivatives of
every order (the rules are in ``chainrule/rules/special.py``):

>>> import numpy as np
>>> import chainrule as cr
>>> import chainrule.scipy.special as sps
>>> from chainrule.func import grad
>>> float(sps.gammaln(4.0))                     # SciPy's value: log 3!
1.79175...
>>> float(grad(sps.gammaln)(4.0))               # digamma(4) = 1 + 1/2 + 1/3 - euler_gamma
1.25611...
>>> x = cr.tensor([0.5, 1.0], requires_grad=True)
>>> sps.xlogy(x, 2.0).sum().backward(); x.grad  # d/dx x log(2) = log(2)
tensor([0.6931, 0.6931])

Dtypes are SciPy's: float32 in, float32 out, except that ``polygamma`` (which SciPy computes
in float64) and ``multigammaln`` keep float32 Tensors in float32, as PyTorch and JAX do.
A function of ``scipy.special`` that is not here raises AttributeError saying so, and what
to do instead.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as _sc

from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import data_of, like, reduced_dims
from chainrule.rules import special as S
from chainrule.scipy.dispatch import call, operand
from chainrule.tensor_base import TensorBase

_MODULE = "chainrule.scipy.special"

# the functions that are one primitive each, by SciPy's name (expit is chainrule's sigmoid)
_PRIMITIVES = {
    "gammaln": S.gammaln, "digamma": S.digamma, "psi": S.digamma, "gamma": S.gamma,
    "betaln": S.betaln, "beta": S.beta, "erf": S.erf, "erfc": S.erfc, "erfinv": S.erfinv,
    "erfcinv": S.erfcinv, "erfcx": S.erfcx, "ndtr": S.ndtr, "ndtri": S.ndtri,
    "log_ndtr": S.log_ndtr,
    "expit": R.sigmoid, "logit": S.logit, "xlogy": S.xlogy, "xlog1py": S.xlog1py,
    "i0": S.i0, "i1": S.i1, "i0e": S.i0e, "i1e": S.i1e, "entr": S.entr,
    "rel_entr": S.rel_entr, "kl_div": S.kl_div,
}


def _ufunc(name: str, args: tuple, kwargs: dict):
    """SciPy's ufunc ``name`` of plain values; its primitive of Tensors."""
    def on_tensors(*args, **kwargs):
        if kwargs:
            raise TypeError(f"NumPy's ufunc arguments ({', '.join(sorted(kwargs))}) are taken "
                            f"on arrays only; with Tensors call {name}() without them")
        return _PRIMITIVES[name](*[operand(a) for a in args])

    return call(f"{_MODULE}.{name}", getattr(_sc, name), on_tensors, *args, **kwargs)


# --------------------------------------------------------------------------------------------
# the gamma family


def gammaln(x, /, **kwargs):
    """``log |Gamma(x)|``; its derivative is :func:`digamma`.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> gammaln(x).backward(); x.grad      # digamma(3) = 3/2 - euler_gamma
    tensor(0.9228)
    """
    return _ufunc("gammaln", (x,), kwargs)


def digamma(z, /, **kwargs):
    """``d/dz log Gamma(z)`` (also called ``psi``); its derivative is ``polygamma(1, z)``.

    >>> float(digamma(1.0))                # -euler_gamma
    -0.57721...
    """
    return _ufunc("digamma", (z,), kwargs)


def psi(z, /, **kwargs):
    """:func:`digamma`, by its other name."""
    return _ufunc("psi", (z,), kwargs)


def polygamma(n, x):
    """The ``n``-th derivative of :func:`digamma` at ``x``; ``n`` is an integer order (a
    constant: it has no gradient).

    >>> import chainrule as cr
    >>> polygamma(1, cr.tensor([1.0, 2.0]))  # pi^2 / 6, pi^2 / 6 - 1
    tensor([1.6449, 0.6449])
    """
    return call(f"{_MODULE}.polygamma", _sc.polygamma, _polygamma, n, x)


def _polygamma(n, x):
    order = data_of(n)
    if getattr(n, "requires_grad", False):
        raise TypeError("n, the order of the derivative, is an integer and has no gradient; "
                        "pass it as an int or an integer array")
    values = np.asarray(order)
    if values.dtype.kind not in "iu" and not np.array_equal(values, np.floor(values)):
        raise ValueError(f"n, the order of the derivative, must be integral, but got {order}")
    out = S.polygamma(order, operand(x))
    return out if isinstance(out, TensorBase) else like((n,), out)  # (when only n was one)


def gamma(z, /, **kwargs):
    """``Gamma(z)``; its derivative is ``gamma(z) digamma(z)``.

    >>> float(gamma(5.0))
    24.0
    """
    return _ufunc("gamma", (z,), kwargs)


def betaln(a, b, /, **kwargs):
    """``log |B(a, b)|``, differentiable in ``a`` and ``b`` (``digamma(a) - digamma(a + b)``
    and likewise).

    >>> float(betaln(1.0, 2.0))            # log(1/2)
    -0.69314...
    """
    return _ufunc("betaln", (a, b), kwargs)


def beta(a, b, /, **kwargs):
    """The beta function ``B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b)``."""
    return _ufunc("beta", (a, b), kwargs)


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (an int) at ``a``:
    ``d (d - 1) / 4 log(pi) + sum_j gammaln(a - j / 2)`` for ``j < d``.

    >>> round(float(multigammaln(23.5, 10)), 6)
    457.176675
    """
    return call(f"{_MODULE}.multigammaln", _sc.multigammaln, _multigammaln, a, d)


def _multigammaln(a, d):
    a = operand(a)
    order = np.asarray(data_of(d))[()]
    if not np.isscalar(order) or np.floor(order) != order or order < 1:
        raise ValueError(f"d should be a positive integer (dimension), but got {d!r}")
    order = int(order)
    if np.any(np.asarray(data_of(a)) <= 0.5 * (order - 1)):
        raise ValueError(f"condition a > 0.5 * (d - 1) = {0.5 * (order - 1)} not met")
    # one gammaln over a new last axis: a - j/2 for j = 0 .. d - 1, summed
    dtype = np.result_type(data_of(a), np.float32)  # (float32 stays float32, as in JAX)
    offsets = np.arange(order, dtype=dtype) / 2
    terms = S.gammaln(R.sub(ops.unsqueeze(a, -1), offsets))
    out = R.add(ops.sum(terms, dim=-1), order * (order - 1) / 4 * math.log(math.pi))
    return out if isinstance(out, TensorBase) else like((d,), out)  # (when only d was one)


# --------------------------------------------------------------------------------------------
# the error functions and the normal distribution


def erf(z, /, **kwargs):
    """The error function; its derivative is ``2 / sqrt(pi) exp(-z^2)``.

    >>> import chainrule as cr
    >>> erf(cr.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8427])
    """
    return _ufunc("erf", (z,), kwargs)


def erfc(x, /, **kwargs):
    """``1 - erf(x)``, accurate where ``erf(x)`` is close to 1."""
    return _ufunc("erfc", (x,), kwargs)


def erfcx(x, /, **kwargs):
    """The scaled complementary error function ``exp(x^2) erfc(x)``; its derivative is
    ``2 x erfcx(x) - 2 / sqrt(pi)``."""
    return _ufunc("erfcx", (x,), kwargs)


def erfinv(y, /, **kwargs):
    """The inverse of :func:`erf`; its derivative is ``sqrt(pi) / 2 exp(erfinv(y)^2)``.

    >>> from chainrule.func import grad
    >>> float(grad(erfinv)(0.0))           # sqrt(pi) / 2
    0.88622...
    """
    return _ufunc("erfinv", (y,), kwargs)


def erfcinv(y, /, **kwargs):
    """The inverse of :func:`erfc`: ``erfinv(1 - y)``."""
    return _ufunc("erfcinv", (y,), kwargs)


def ndtr(x, /, **kwargs):
    """The standard normal distribution function; its derivative is the density.

    >>> float(ndtr(0.0))
    0.5
    """
    return _ufunc("ndtr", (x,), kwargs)


def ndtri(y, /, **kwargs):
    """The inverse of :func:`ndtr` (the standard normal quantile)."""
    return _ufunc("ndtri", (y,), kwargs)


def log_ndtr(x, /, **kwargs):
    """``log(ndtr(x))``, accurate far in both tails; so is its derivative.

    >>> from chainrule.func import grad
    >>> float(grad(log_ndtr)(-40.0))       # pdf / cdf, about -x in the left tail
    40.02496...
    """
    return _ufunc("log_ndtr", (x,), kwargs)


# --------------------------------------------------------------------------------------------
# the logistic function, logarithms


def expit(x, /, **kwargs):
    """The logistic function ``1 / (1 + exp(-x))`` (chainrule's ``sigmoid`` on Tensors)."""
    return _ufunc("expit", (x,), kwargs)


def logit(x, /, **kwargs):
    """``log(x / (1 - x))``, the inverse of :func:`expit`.

    >>> from chainrule.func import grad
    >>> float(grad(logit)(0.5))            # 1 / (x (1 - x))
    4.0
    """
    return _ufunc("logit", (x,), kwargs)


def xlogy(x, y, /, **kwargs):
    """``x log(y)``, 0 where ``x`` is 0; its derivative in ``x`` is ``log(y)`` everywhere
    (JAX's)."""
    return _ufunc("xlogy", (x, y), kwargs)


def xlog1py(x, y, /, **kwargs):
    """``x log(1 + y)``, 0 where ``x`` is 0."""
    return _ufunc("xlog1py", (x, y), kwargs)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b exp(a)))`` over ``axis`` without overflow, differentiable in ``a`` and
    ``b``.  With ``return_sign``, the pair ``(log |sum|, sign(sum))``; without it a negative
    sum gives NaN, as in SciPy.

    >>> import chainrule as cr
    >>> a = cr.tensor([0.0, 1.0], requires_grad=True)
    >>> logsumexp(a).backward(); a.grad    # softmax(a)
    tensor([0.2689, 0.7311])
    """
    return call(f"{_MODULE}.logsumexp", _sc.logsumexp, _logsumexp, a, axis, b, keepdims,
                return_sign)


def _logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    a = operand(a)
    if b is None and not return_sign:
        return ops.logsumexp(a, dim=axis, keepdim=keepdims)  # (one primitive)
    b = np.ones((), np.result_type(data_of(a))) if b is None else operand(b)
    shape = np.broadcast_shapes(np.shape(data_of(a)), np.shape(data_of(b)))
    axes = reduced_dims("logsumexp", len(shape), axis)
    # log |sum(b exp(a))| = top + log |sum(b exp(a - top))| for any constant top: the largest
    # a where b is not 0 (0 where there is none, or it is infinite), so that nothing overflows
    values, weights = np.broadcast_arrays(data_of(a), data_of(b))
    top = np.max(values, axis=axes, keepdims=True, where=weights != 0, initial=-np.inf)
    top = np.where(np.isfinite(top), top, 0).astype(values.dtype, copy=False)
    total = ops.sum(R.mul(b, R.exp(R.sub(a, top))), dim=axes, keepdim=True)
    with np.errstate(divide="ignore"):  # (a sum of 0 is log 0 = -inf, as in SciPy)
        out = R.add(R.log(R.abs(total)), top)
    sign = np.sign(data_of(total))
    if not return_sign:
        out = R.where(sign < 0, np.nan, out)  # the log of a negative sum
    if not keepdims:
        kept = tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)
        out, sign = ops.reshape(out, kept), np.reshape(sign, kept)
    return (out, like((out,), sign)) if return_sign else out


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (an int, a tuple, or None for all elements).

    >>> import chainrule as cr
    >>> softmax(cr.tensor([0.0, 1.0]))
    tensor([0.2689, 0.7311])
    """
    return call(f"{_MODULE}.softmax", _sc.softmax, lambda x, axis=None:
                _normalised(ops.softmax, x, axis, log=False), x, axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x)`` over ``axis`` (an int, a tuple, or None for all elements)."""
    return call(f"{_MODULE}.log_softmax", _sc.log_softmax, lambda x, axis=None:
                _normalised(ops.log_softmax, x, axis, log=True), x, axis)


def _normalised(along_one, x, axis, log: bool):
    """softmax or log_softmax over ``axis``: one primitive along one axis; over several,
    ``x - logsumexp(x)`` (exponentiated for softmax)."""
    x = operand(x)
    if isinstance(axis, (int, np.integer)):
        return along_one(x, axis)
    logs = R.sub(x, ops.logsumexp(x, dim=axis, keepdim=True))
    return logs if log else R.exp(logs)


def sinc(x):
    """``sin(pi x) / (pi x)``, 1 at 0 (NumPy's ``sinc``, which SciPy exports)."""
    return call(f"{_MODULE}.sinc", _sc.sinc, lambda x: R.sinc(operand(x)), x)


# --------------------------------------------------------------------------------------------
# modified Bessel functions


def i0(x, /, **kwargs):
    """The modified Bessel function of the first kind, order 0; its derivative is :func:`i1`.

    >>> from chainrule.func import grad
    >>> float(grad(i0)(1.0)) == float(i1(1.0))
    True
    """
    return _ufunc("i0", (x,), kwargs)


def i1(x, /, **kwargs):
    """The modified Bessel function of the first kind, order 1; its derivative is
    ``i0(x) - i1(x) / x`` (1/2 at 0)."""
    return _ufunc("i1", (x,), kwargs)


def i0e(x, /, **kwargs):
    """``exp(-|x|) i0(x)``; its derivative at the kink ``x = 0`` is taken as 0 (JAX's)."""
    return _ufunc("i0e", (x,), kwargs)


def i1e(x, /, **kwargs):
    """``exp(-|x|) i1(x)``; its derivative at 0 is 1/2."""
    return _ufunc("i1e", (x,), kwargs)


# --------------------------------------------------------------------------------------------
# entropies


def entr(x, /, **kwargs):
    """``-x log(x)`` (0 at 0, -inf below); its derivative is ``-(log(x) + 1)``, +inf at 0
    (JAX's) and 0 below.

    >>> from chainrule.func import grad
    >>> float(grad(entr)(1.0))
    -1.0
    """
    return _ufunc("entr", (x,), kwargs)


def rel_entr(x, y, /, **kwargs):
    """``x log(x / y)`` for ``x, y > 0`` (0 at ``x = 0, y >= 0``, inf elsewhere); its
    derivatives are 0 off ``x, y > 0`` (JAX's)."""
    return _ufunc("rel_entr", (x, y), kwargs)


def kl_div(x, y, /, **kwargs):
    """``x log(x / y) - x + y`` for ``x, y > 0`` (``y`` at ``x = 0, y >= 0``, inf elsewhere);
    off ``x, y > 0`` its derivatives are JAX's, -1 in ``x`` and 1 in ``y``."""
    return _ufunc("kl_div", (x, y), kwargs)


__all__ = [
    "beta", "betaln", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv", "expit",
    "gamma", "gammaln", "i0", "i0e", "i1", "i1e", "kl_div", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "rel_entr", "sinc",
    "softmax", "xlog1py", "xlogy",
]


def __getattr__(name: str):
    # (called only for names this module does not define)
    if not name.startswith("__") and hasattr(_sc, name):
        raise AttributeError(
            f"{_MODULE}.{name}: scipy.special.{name} has no derivative rules in chainrule. "
            f"For values only, call scipy.special.{name} on plain arrays "
            f"(t.detach().numpy()); to differentiate it, write it with the functions that are "
            f"here ({', '.join(__all__)}) and chainrule.numpy's, or give it its rules with "
            "chainrule.autograd.Function")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

