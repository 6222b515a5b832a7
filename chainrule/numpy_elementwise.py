"""NumPy's elementwise functions without a PyTorch twin among chainrule's operations, for
:mod:`chainrule.numpy` when a Tensor is among the arguments (NumPy's own functions answer plain
arrays): ``positive``, ``fix``, ``cbrt``, ``copysign``, ``fmod``, ``float_power``,
``heaviside``, ``ldexp``, the functions of two results ``frexp``, ``modf`` and ``divmod``,
the Bessel function ``i0`` and the Kaiser window made of it, and the functions along an axis
``sort_complex``, ``unwrap``, ``cumulative_sum`` and ``cumulative_prod``.

Values are NumPy's bit for bit: ``cbrt``, ``fmod``, ``ldexp``, ``float_power`` and ``i0`` are
primitives whose forward is NumPy's (``chainrule/rules/elementwise_numpy.py``); the others
are compositions that round as NumPy does (``copysign(x, y)`` is ``x`` or ``-x``; ``modf``'s
fractional part is ``fmod(x, 1)``, exact; ``frexp``'s mantissa is ``ldexp(x, -exponent)``).

Where a result is piecewise constant its derivative is 0 (``fix``, ``heaviside`` in its first
argument, as ``floor`` and ``sign``); at the kink of ``copysign`` (x = 0) it is 0, as
``abs``'s.  Integer results carry no gradient and are NumPy's plain arrays: ``frexp``'s
exponents, ``modf``'s integral parts and ``divmod``'s quotients (as ``floor_divide``, which
passes through).  An error names the function without the namespace (``fix: ...``):
:mod:`chainrule.numpy` puts ``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import builtins

import numpy as np

from chainrule import numpy_arrays as arrays
from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import data_of, dtype_of, like, one_dim
from chainrule.errors import refuse_out
from chainrule.tensor_base import TensorBase


def _no_out(name: str, out) -> None:
    refuse_out(name, out)


def _tensor(values, result):
    """``result`` as a Tensor (of the class of the first Tensor in ``values``) when a
    constant operand made it an ndarray: a Tensor argument gives a Tensor."""
    return result if isinstance(result, TensorBase) else like(values, result)


def positive(x, /):
    """``+x``: a copy."""
    return ops.clone(x)


def fix(x, out=None):
    """Rounded toward zero, as ``trunc`` (zero gradient)."""
    _no_out("fix", out)
    return ops.trunc(x)


def cbrt(x, /):
    """The real cube root (its derivative ``1 / (3 cbrt(x)^2)`` is infinite at 0).

    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> x = cr.tensor([-8.0, 27.0], dtype=cr.float64, requires_grad=True)
    >>> cnp.cbrt(x).sum().backward()
    >>> x.grad
    tensor([0.0833, 0.0370], dtype=chainrule.float64)
    """
    return R.cbrt(ops.operand(x))


def fmod(x1, x2, /):
    """C's remainder ``x1 - trunc(x1 / x2) x2``, with the sign of ``x1`` (``mod`` takes the sign
    of ``x2``); differentiable in both."""
    return _tensor((x1, x2), R.fmod(x1, x2))


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` for integers ``x2`` (which carry no gradient), exactly."""
    return _tensor((x1, x2), R.ldexp(x1, exponent=data_of(x2)))


def float_power(x1, x2, /):
    """``x1 ** x2`` computed in float64 (complex128 for complex operands) or wider."""
    # (of the dtypes alone: no value can change a result of float64 or wider)
    d1, d2 = dtype_of(x1), dtype_of(x2)
    dtype = np.result_type(d1, d2, np.float64 if np.result_type(d1, d2).kind != "c"
                           else np.complex128)
    return R.float_power(ops.to(ops.operand(x1), dtype), ops.to(ops.operand(x2), dtype))


def copysign(x1, x2, /):
    """``|x1|`` with the sign of ``x2``: ``x1`` or ``-x1``, differentiable in ``x1`` (with
    gradient 0 at ``x1 = 0``, the kink, as ``abs``); piecewise constant in ``x2``."""
    x1 = ops.operand(x1)
    d1 = data_of(x1)
    ref = np.copysign(d1, data_of(x2))  # NumPy's value: its sign, shape and dtype
    flipped = R.where(np.signbit(ref) != np.signbit(d1), -x1, x1)
    return _tensor((x1, x2), ops.to(R.where(d1 == 0, ref, flipped), ref.dtype))


def heaviside(x1, x2, /):
    """The step function: 0 where ``x1 < 0``, 1 where ``x1 > 0``, ``x2`` where ``x1 == 0``;
    differentiable in ``x2`` (where it is taken), piecewise constant in ``x1``."""
    d1 = data_of(x1)
    ref = np.heaviside(d1, data_of(x2))  # (NumPy's dtype, shape and checks)
    # (sign(x1) + 1) / 2 is 0 or 1 exactly (NaN for NaN), with derivative 0
    step = (R.sign(ops.operand(x1)) + 1.0) * 0.5
    return _tensor((x1, x2), ops.to(R.where(d1 == 0, x2, step), ref.dtype))


def frexp(x, /):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent`` and ``0.5 <= |mantissa|
    < 1``; the mantissa, ``ldexp(x, -exponent)``, is differentiable (``2**-exponent``), the
    exponents are NumPy's integers."""
    x = ops.operand(x)
    exponent = np.frexp(data_of(x))[1]
    return _tensor((x,), R.ldexp(x, exponent=-exponent)), exponent


def modf(x, /):
    """``(fractional, integral)`` parts, both with the sign of ``x``; the fractional part is
    differentiable (slope 1), the integral part is NumPy's array."""
    x = ops.operand(x)
    fractional, integral = np.modf(data_of(x))
    # x - trunc(x) = fmod(x, 1), exactly, except at infinities (NaN there; modf gives 0)
    with np.errstate(invalid="ignore"):
        part = R.where(np.isinf(data_of(x)), fractional, R.fmod(x, 1.0))
    return _tensor((x,), part), integral


def divmod(x1, x2, /):  # noqa: A001
    """``(x1 // x2, x1 % x2)``: the remainder is differentiable (``mod``'s), the quotient is
    NumPy's array."""
    quotient = R.numpy2_promotion(np.floor_divide)(data_of(x1), data_of(x2))
    return quotient, _tensor((x1, x2), R.remainder(x1, x2))


def i0(x):
    """The modified Bessel function of the first kind, order 0 (NumPy's values); its
    derivative is ``i1``, summed from its power series.

    >>> import chainrule as cr
    >>> import chainrule.numpy as cnp
    >>> x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    >>> cnp.i0(x).backward()
    >>> x.grad                                  # i1(1)
    tensor(0.5652, dtype=chainrule.float64)
    """
    return R.i0(ops.operand(x))


def kaiser(M, beta):
    """The Kaiser window of ``M`` points, ``i0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) /
    i0(beta)``, differentiable in ``beta``."""
    values = np.array([0.0, data_of(M), data_of(beta)])  # (NumPy's dtype: float64 at least)
    m = values[1]
    beta = ops.to(ops.operand(beta), values.dtype)
    if m == 1:  # one point: 1, whatever beta (derivative 0)
        return R.where(np.ones(1, bool), np.ones(1, values.dtype), beta)
    n = np.arange(0, m)
    alpha = (m - 1) / 2.0
    return R.i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)) / R.i0(beta)


# --------------------------------------------------------------------------------------------
# along an axis


def sort_complex(a):
    """Sorted along the last axis, by real part, then imaginary part; complex (complex64 for
    8- and 16-bit integers, complex128 for other real types, as NumPy)."""
    a = ops.operand(a)
    if a.ndim == 0:
        raise ValueError("sort_complex: axis -1 is out of bounds for array of dimension 0")
    values = R.sorted_along(a, a.ndim - 1)[0]
    if a.dtype.kind == "c":
        return values
    dtype = {"b": "F", "h": "F", "B": "F", "H": "F", "g": "G"}.get(a.dtype.char, "D")
    return ops.to(values, np.dtype(dtype))


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``p`` with each jump between neighbours along ``axis`` larger than ``discont`` (by
    default ``period / 2``) taken to its remainder modulo ``period``: ``p`` plus piecewise
    constant multiples of ``period``, so its derivative is 1."""
    p = ops.operand(p)
    # NumPy's corrections, computed as NumPy computes them
    values, period, discont = data_of(p), data_of(period), data_of(discont)
    dd = np.diff(values, axis=axis)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(dd, period)
    if np.issubdtype(dtype, np.integer):
        interval_high, rem = builtins.divmod(period, 2)
        boundary_ambiguous = rem == 0
    else:
        interval_high = period / 2
        boundary_ambiguous = True
    interval_low = -interval_high
    ddmod = np.mod(dd - interval_low, period) + interval_low
    if boundary_ambiguous:  # |dd| = period / 2 goes to sign(dd) period / 2
        np.copyto(ddmod, interval_high, where=(ddmod == interval_low) & (dd > 0))
    ph_correct = ddmod - dd
    np.copyto(ph_correct, 0, where=abs(dd) < discont)
    axis = one_dim("unwrap", axis, p.ndim)
    before = (slice(None),) * axis
    first = ops.to(ops.getitem(p, before + (slice(0, 1),)), dtype)
    rest = ops.getitem(p, before + (slice(1, None),)) + ph_correct.cumsum(axis)
    return ops.cat([first, ops.to(rest, dtype)], axis)


def _cumulative(name, ufunc, prim, x, axis, dtype, out, include_initial):
    """NumPy 2's ``cumulative_sum`` or ``cumulative_prod`` with ``prim`` (``R.cumsum``,
    ``R.cumprod``): along ``axis`` (the only one of a vector, by default), with ``ufunc``'s
    identity in front if ``include_initial``."""
    _no_out(name, out)
    x = arrays.atleast_1d(ops.operand(x))
    if axis is None:
        if x.ndim >= 2:
            raise ValueError(f"{name}: For arrays which have more than one dimension ``axis`` "
                             "argument is required.")
        axis = 0
    axis = one_dim(name, axis, x.ndim)
    if dtype is not None:
        x = ops.to(x, dtype)
    if x.dtype.kind not in "fc":  # (integers and booleans: NumPy's, without gradient)
        result = ops.no_gradient(lambda v, axis: ufunc.accumulate(v, axis=axis), x, axis=axis)
    else:
        result = prim(x, axis=axis)
    if include_initial:
        shape = list(x.shape)
        shape[axis] = 1
        result = ops.cat([np.full(shape, ufunc.identity, data_of(result).dtype), result], axis)
    return result


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative sums along ``axis`` (NumPy 2's ``cumsum``, which may start with 0)."""
    return _cumulative("cumulative_sum", np.add, R.cumsum, x, axis, dtype, out,
                       include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative products along ``axis`` (NumPy 2's ``cumprod``, which may start with 1)."""
    return _cumulative("cumulative_prod", np.multiply, R.cumprod, x, axis, dtype, out,
                       include_initial)
