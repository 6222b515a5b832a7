"""NumPy's convolutions (``convolve``, ``correlate``) and its functions of polynomials given by
their coefficients, highest power first (``polyval``, ``polyadd``, ``polysub``, ``polymul``,
``polydiv``, ``polyder``, ``polyint``, ``polyfit``, ``poly``, ``roots``), for
:mod:`chainrule.numpy` when a Tensor is among the arguments (NumPy's own functions answer
plain arrays).

Each follows NumPy's algorithm with chainrule's operations, so that the values are NumPy's and
the derivatives, in both modes and to every order, come from the primitives' rules:

* a convolution is a matrix product of the signal's windows (gathered) with the kernel, or, for
  long ones, a sum of shifted slices: linear in each input;
* ``polyval`` is Horner's rule, ``polyder`` and ``polyint`` scale the coefficients, ``polydiv``
  is NumPy's long division step by step (differentiable in both polynomials; which leading
  entries of the remainder are dropped as zero is read from the values);
* ``polyfit`` solves NumPy's scaled least-squares problem with chainrule's ``lstsq``
  (differentiable in ``x``, ``y`` and ``w``; with ``cov``, through ``inv``);
* ``roots`` are the eigenvalues of the companion matrix and ``poly`` of a square matrix starts
  from its eigenvalues, both by chainrule's ``eigvals``: complex in general, real (as NumPy's)
  where they all are.

Sums are computed as BLAS orders them, so a convolution's values can differ from NumPy's in
the last bits.  An error names the function without the namespace (``polyfit: ...``):
:mod:`chainrule.numpy` puts ``chainrule.numpy.`` in front of it.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule import linalg_ops as linalg
from chainrule import ops
from chainrule import rules as R
from chainrule.arguments import data_of, like
from chainrule.tensor_base import TensorBase

# a convolution with a kernel longer than _SHORT is the product of the matrix of the signal's
# windows with the kernel, up to _WINDOWS entries; otherwise a sum of shifted slices (two
# recorded steps per entry of the kernel), added in NumPy's order
_SHORT = 11
_WINDOWS = 1 << 22


def _mode(mode) -> int:
    """NumPy's reading of ``mode`` (``'valid'``, ``'same'``, ``'full'`` or 0, 1, 2; NumPy 1
    also takes their first letters), with NumPy's error for another: 0, 1 or 2."""
    return len(np.correlate(np.zeros(3), np.zeros(2), mode)) - 2


def _vector(name: str, a, what: str):
    a = ops.operand(a)
    if a.ndim != 1:
        raise ValueError(f"{name}: {what} must be one-dimensional (it has shape "
                         f"{tuple(a.shape)})")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: {what} cannot be empty")
    return a


def _correlated(x, y, mode: int):
    """NumPy's ``_pyarray_correlate`` of ``x`` and the kernel ``y`` (``len(x) >= len(y)``):
    ``sum_j x[k + j] y[j]`` at the shifts ``k`` of ``mode`` (``x`` padded with zeros)."""
    n1, n = x.shape[0], y.shape[0]
    # the shifts, counted from the first that overlaps (full): valid ones, or as many as x
    # has, centred on y's middle (same), or all
    start, length = {0: (n - 1, n1 - n + 1), 1: (n - 1 - n // 2, n1), 2: (0, n1 + n - 1)}[mode]
    pad = np.zeros((n - 1,), x.dtype)
    padded = ops.cat([pad, x, pad]) if n > 1 else x
    if _SHORT < n and length * n <= _WINDOWS:
        windows = ops.getitem(padded, (start + np.arange(length))[:, None] + np.arange(n))
        return ops.matmul(windows, y)
    # term by term, in NumPy's order (its own loop for short kernels: the same sums)
    total = None
    for j in range(n):
        term = ops.getitem(padded, slice(start + j, start + j + length)) * ops.getitem(y, j)
        total = term if total is None else total + term
    return total


def correlate(a, v, mode="valid"):
    """The cross-correlation ``z[k] = sum_n a[n + k] conj(v[n])`` of two vectors, at the
    shifts of ``mode``: ``'valid'`` (full overlap), ``'same'`` (``a``'s length) or
    ``'full'``."""
    mode = _mode(mode)
    a, v = _vector("correlate", a, "a"), _vector("correlate", v, "v")
    dtype = np.result_type(a.dtype, v.dtype)
    a, v = ops.to(a, dtype), ops.to(v, dtype)
    if dtype.kind == "c":
        v = R.conj(v)
    if a.shape[0] < v.shape[0]:  # (NumPy correlates the other way round, and reverses)
        return ops.flip(_correlated(v, a, mode), 0)
    return _correlated(a, v, mode)


def convolve(a, v, mode="full"):
    """The discrete convolution ``(a * v)[n] = sum_m a[m] v[n - m]`` of two vectors, at the
    shifts of ``mode``: ``'full'``, ``'same'`` (the longer one's length) or ``'valid'``."""
    a, v = _at_least_1d(a), _at_least_1d(v)
    if a.ndim == 1 and a.shape[0] == 0:
        raise ValueError("convolve: a cannot be empty")
    if v.ndim == 1 and v.shape[0] == 0:
        raise ValueError("convolve: v cannot be empty")
    mode = _mode(mode)
    a, v = _vector("convolve", a, "a"), _vector("convolve", v, "v")
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    dtype = np.result_type(a.dtype, v.dtype)
    return _correlated(ops.to(a, dtype), ops.flip(ops.to(v, dtype), 0), mode)


def _at_least_1d(a):
    a = ops.operand(a)
    return ops.reshape(a, (1,)) if a.ndim == 0 else a


# --------------------------------------------------------------------------------------------
# arithmetic of polynomials


def polyval(p, x):
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's
    rule: ``(p[0] x + p[1]) x + ...``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> p = cr.tensor([1.0, -3.0, 2.0], requires_grad=True)     # x^2 - 3 x + 2
    >>> cnp.polyval(p, 3.0).backward()
    >>> p.grad                                                  # 3^2, 3, 1
    tensor([9., 3., 1.])
    """
    p, x = ops.operand(p), ops.operand(x)
    if p.ndim == 0:
        raise TypeError("polyval: iteration over a 0-d array (p must hold the coefficients)")
    y = np.zeros(tuple(x.shape), x.dtype)
    for i in range(p.shape[0]):
        y = y * x + ops.getitem(p, i)
    return y if isinstance(y, TensorBase) else like((p, x), y)


def _aligned(a1, a2):
    """The coefficients of two polynomials, the shorter one preceded by zeros (of its own
    dtype)."""
    a1, a2 = _at_least_1d(a1), _at_least_1d(a2)
    difference = a2.shape[0] - a1.shape[0]
    if difference > 0:
        a1 = ops.cat([np.zeros((difference,), a1.dtype), a1])
    elif difference < 0:
        a2 = ops.cat([np.zeros((-difference,), a2.dtype), a2])
    return a1, a2


def polyadd(a1, a2):
    """The sum of two polynomials."""
    a1, a2 = _aligned(a1, a2)
    return a1 + a2


def polysub(a1, a2):
    """The difference of two polynomials."""
    a1, a2 = _aligned(a1, a2)
    return a1 - a2


def _trimmed(a):
    """The coefficients without leading zeros (``[0]`` if all are): ``numpy.poly1d``'s."""
    a = _at_least_1d(a)
    if a.ndim > 1:
        raise ValueError(f"polymul: Polynomial must be 1d only (got shape {tuple(a.shape)}).")
    nonzero = np.flatnonzero(data_of(a))
    if len(nonzero) == 0:
        return ops.getitem(a, slice(-1, None)) if a.shape[0] else np.zeros((1,), a.dtype)
    return ops.getitem(a, slice(int(nonzero[0]), None))


def polymul(a1, a2):
    """The product of two polynomials: the convolution of their coefficients (leading zeros
    left out first, as NumPy does)."""
    return convolve(_trimmed(a1), _trimmed(a2))


def polydiv(u, v):
    """The quotient and the remainder of ``u`` divided by ``v``, by NumPy's long division
    (the remainder's leading entries within 1e-8 of 0 left out)."""
    u, v = _at_least_1d(u) + 0.0, _at_least_1d(v) + 0.0
    dtype = np.result_type(u.dtype, v.dtype)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / ops.getitem(v, 0)
    r = ops.to(u, dtype)
    quotient = []
    for k in range(m - n + 1):
        # the next coefficient of the quotient, d = r[k] / v[0]; r[k : k + n + 1] -= d v
        d = scale * ops.getitem(r, k)
        quotient.append(ops.to(d, dtype))
        part = ops.getitem(r, slice(k, k + n + 1))
        r = R.index_put(r, ops.to(part - d * v, dtype), index=slice(k, k + n + 1))
    q = ops.stack(quotient) if quotient else like((u, v), np.zeros((1,), dtype))
    while np.allclose(data_of(ops.getitem(r, 0)), 0, rtol=1e-14) and r.shape[-1] > 1:
        r = ops.getitem(r, slice(1, None))
    return q, r


def polyder(p, m=1):
    """The ``m``-th derivative of the polynomial ``p``."""
    m = int(m)
    if m < 0:
        raise ValueError("polyder: Order of derivative must be positive (see polyint)")
    p = ops.operand(p)
    if p.ndim == 0:
        raise TypeError("polyder: len() of unsized object (p must hold the coefficients)")
    for _ in range(m):
        # d/dx sum_i p_i x^(n-i) = sum_i (n - i) p_i x^(n-i-1)
        n = p.shape[0] - 1
        p = ops.getitem(p, slice(None, -1)) * np.arange(n, 0, -1)
    return p


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of the polynomial ``p``, the constants of integration
    ``k`` (one, or one per integration, the first for the first)."""
    m = int(m)
    if m < 0:
        raise ValueError("polyint: Order of integral must be positive (see polyder)")
    k = _at_least_1d(np.zeros(m, float) if k is None else k)
    if k.shape[0] == 1 and m > 1:
        k = ops.getitem(k, 0) * np.ones(m, float)
    if k.shape[0] < m:
        raise ValueError("polyint: k must be a scalar or a rank-1 array of length 1 or >m.")
    p = ops.operand(p)
    for i in range(m):
        # the antiderivative of sum_j p_j x^(n-j) is sum_j p_j / (n - j + 1) x^(n-j+1) + k
        scaled = p / np.arange(p.shape[0], 0, -1)
        constant = ops.reshape(ops.getitem(k, i), (1,))
        dtype = np.result_type(scaled.dtype, constant.dtype)
        p = ops.cat([ops.to(scaled, dtype), ops.to(constant, dtype)])
    return p


# --------------------------------------------------------------------------------------------
# fitting, roots


def _vander(x, columns: int):
    """NumPy's ``vander``: the columns ``x^(N-1), ..., x, 1``, each power the one before
    times ``x`` (in x's dtype promoted with int's)."""
    x = ops.to(x, np.promote_types(x.dtype, int))
    powers = [np.ones((x.shape[0],), x.dtype)]
    for _ in range(columns - 1):
        # (products one by one, as NumPy's multiply.accumulate: a cumulative product would
        # divide by x in its derivatives)
        powers.append(x if len(powers) == 1 else powers[-1] * x)
    return ops.stack(powers[::-1], 1) if columns > 1 else like((x,), powers[0][:, None])


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The coefficients of the polynomial of degree ``deg`` that fits ``y`` at ``x`` best in
    least squares (weighted by ``w``); ``full``: also the residuals, rank, singular values
    and ``rcond``; ``cov``: also the covariance of the coefficients."""
    order = int(deg) + 1
    x, y = ops.operand(x) + 0.0, ops.operand(y) + 0.0
    if deg < 0:
        raise ValueError("polyfit: expected deg >= 0")
    if x.ndim != 1:
        raise TypeError(f"polyfit: expected 1D vector for x (got shape {tuple(x.shape)})")
    if x.shape[0] == 0:
        raise TypeError("polyfit: expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError(f"polyfit: expected 1D or 2D array for y (got shape {tuple(y.shape)})")
    if x.shape[0] != y.shape[0]:
        raise TypeError(f"polyfit: expected x and y to have same length ({x.shape[0]} and "
                        f"{y.shape[0]})")
    if rcond is None:
        rcond = x.shape[0] * np.finfo(x.dtype).eps
    lhs, rhs = _vander(x, order), y
    if w is not None:
        w = ops.operand(w) + 0.0
        if w.ndim != 1:
            raise TypeError("polyfit: expected a 1-d array for weights")
        if w.shape[0] != y.shape[0]:
            raise TypeError(f"polyfit: expected w and y to have the same length ({w.shape[0]} "
                            f"and {y.shape[0]})")
        lhs = ops.to(lhs * ops.reshape(w, (-1, 1)), lhs.dtype)
        rhs = ops.to(rhs * (ops.reshape(w, (-1, 1)) if rhs.ndim == 2 else w), rhs.dtype)
    # each column scaled to norm 1, to improve the condition number
    scale = R.sqrt(ops.sum(lhs * lhs, 0))
    lhs = lhs / scale
    c, residuals, rank, s = linalg.lstsq_parts("polyfit", lhs, rhs, rcond)
    c = c / (ops.reshape(scale, (-1, 1)) if c.ndim == 2 else scale)
    rank = np.int32(data_of(rank))  # (NumPy's lstsq's C int)
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning,
                      stacklevel=3)
    if full:
        return c, residuals, rank, s, rcond
    if not cov:
        return c
    base = linalg.inv(ops.matmul(ops.transpose(lhs, 0, 1), lhs)) / ops.outer(scale, scale)
    if cov == "unscaled":
        factor = 1
    else:
        if x.shape[0] <= order:
            raise ValueError("polyfit: the number of data points must exceed order to scale "
                             "the covariance matrix")
        factor = residuals / (x.shape[0] - order)
    return c, base * factor if y.ndim == 1 else ops.unsqueeze(base, 2) * factor


def roots(p):
    """The roots of the polynomial ``p``: the eigenvalues of its companion matrix (complex
    where some are), and a zero for each trailing zero coefficient.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> p = cr.tensor([1.0, -3.0, 2.0], requires_grad=True)     # (x - 1)(x - 2)
    >>> r = cnp.roots(p)
    >>> r
    tensor([2., 1.], grad_fn=<LinalgEigBackward0>)
    >>> r[0].backward()                                         # -(r^2, r, 1) / p'(r)
    >>> p.grad
    tensor([-4., -2., -1.])
    """
    p = _at_least_1d(p)
    if p.ndim != 1:
        raise ValueError(f"roots: Input must be a rank-1 array (got shape {tuple(p.shape)}).")
    nonzero = np.flatnonzero(data_of(p))
    if len(nonzero) == 0:
        return like((p,), np.array([]))
    trailing = p.shape[0] - int(nonzero[-1]) - 1
    p = ops.getitem(p, slice(int(nonzero[0]), int(nonzero[-1]) + 1))
    if p.dtype.kind not in "fc":
        p = ops.to(p, np.float64)
    n = p.shape[0]
    if n > 1:
        # the companion matrix: -p[1:] / p[0] on its first row, ones below the diagonal
        first = -ops.getitem(p, slice(1, None)) / ops.getitem(p, 0)
        below = np.diag(np.ones((n - 2,), p.dtype), -1)[1:]
        found = linalg.eigvals(ops.cat([ops.reshape(first, (1, n - 1)), below]))
    else:
        found = np.array([])
    zeros = np.zeros((trailing,), np.asarray(data_of(found)).dtype)
    found = ops.cat([found, zeros]) if trailing else found
    return found if isinstance(found, TensorBase) else like((p,), found)


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (or, of a square
    matrix, its characteristic polynomial, from its eigenvalues)."""
    zeros = _at_least_1d(seq_of_zeros)
    shape = tuple(zeros.shape)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        zeros = linalg.eigvals(zeros)
    elif len(shape) == 1:
        zeros = ops.to(zeros, np.mintypecode(zeros.dtype.char))
    else:
        raise ValueError(f"poly: input must be 1d or non-empty square 2d array (got shape "
                         f"{shape}).")
    if zeros.shape[0] == 0:
        return 1.0
    dtype = zeros.dtype
    a = np.ones((1,), dtype)
    for i in range(zeros.shape[0]):
        # times (x - zero)
        factor = ops.stack([np.ones((), dtype), ops.to(-ops.getitem(zeros, i), dtype)])
        a = convolve(a, factor)
    if dtype.kind == "c":
        # complex roots that come in conjugate pairs make a real polynomial
        values = np.asarray(data_of(zeros), complex)
        if np.all(np.sort(values) == np.sort(values.conjugate())):
            a = ops.clone(R.real_part(a))
    return a if isinstance(a, TensorBase) else like((seq_of_zeros,), a)

