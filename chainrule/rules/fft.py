"""Discrete Fourier transforms: ``fftn``, ``ifftn`` (complex to complex), ``rfftn`` (real to
half spectrum) and ``irfftn`` (half spectrum to real), each over a tuple of distinct ``axes``
with sizes ``s`` and a ``norm``, as NumPy's functions of those names (which they call, so that
values are NumPy's bit for bit).  The one-axis transforms are these with one axis; the
Hermitian ones are these with ``conj`` and the opposite ``norm`` (``chainrule/numpy_fft.py``).
PyTorch records them as ``FftC2CBackward0``, ``FftR2CBackward0`` and ``FftC2RBackward0``.

Every one is linear in its input (``jvp="linear"``: forward mode transforms the tangent), and
its VJP is its transpose in the engine's (JAX's) convention, with no conjugation.  The matrix
of a transform along one axis, ``F[k, j] = c w^(jk)``, is symmetric, so ``fftn`` and
``ifftn`` are their own transposes; what remains is to undo the cutting or padding of the
input to ``s`` (:func:`_fit`) and, for the real transforms, the half spectrum.

``norm`` is ``"backward"`` (the inverse transform divides by ``N = prod(s)``), ``"ortho"``
(both divide by ``sqrt(N)``) or ``"forward"`` (the forward one divides by ``N``); the
primitives take it spelled out (the callers read ``None`` as ``"backward"``).
"""

from __future__ import annotations

import numpy as np

from chainrule.rules.elementwise import conj
from chainrule.rules.shape import getitem, index_add
from chainrule.rules.table import LEGACY_PROMOTION, primitive

SWAPPED_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}
"""The ``norm`` that scales the other direction by the same factor (NumPy's
``_swap_direction``): ``irfftn(norm)`` and ``rfftn(SWAPPED_NORM[norm])`` divide by the same
number."""


def _single(x) -> bool:
    return np.asarray(x).dtype in (np.float16, np.float32, np.complex64)


def _numpy(func, result_kind: str):
    """NumPy's ``func``; on NumPy 1.x, which computes in double precision only, its result is
    cast back to single precision for single-precision input, as NumPy 2 (and PyTorch) keep."""
    if not LEGACY_PROMOTION:
        return lambda x, s, axes, norm, x_shape: func(x, s=s, axes=axes, norm=norm)

    def run(x, s, axes, norm, x_shape):
        out = func(x, s=s, axes=axes, norm=norm)
        return out.astype(np.complex64 if result_kind == "c" else np.float32) if _single(x) \
            else out

    return run


def _fit(g, axes, x_shape):
    """``g``, of size ``s`` along ``axes``, cut or padded with zeros to the input's shape: the
    transpose of padding the input to ``s`` is cutting, and of cutting it, padding."""
    shape = tuple(g.shape)
    if any(shape[a] > x_shape[a] for a in axes):
        g = getitem(g, index=tuple(slice(0, n) for n in x_shape), x_shape=shape)
        shape = tuple(g.shape)
    if shape != tuple(x_shape):
        g = index_add(g, index=tuple(slice(0, n) for n in shape), x_shape=tuple(x_shape))
    return g


def batch_fft(prim, values, batched, size, s, axes, norm, x_shape):
    """vmap's rule for the four transforms: the same transform of the stack, over ``axes``
    moved one place right (the batch axis is not transformed) and with ``x_shape`` gaining
    the batch; ``s``, the sizes along ``axes``, stays."""
    (x,) = values
    rank = len(x_shape)
    return prim(x, s=s, axes=tuple(a % rank + 1 for a in axes), norm=norm,
                x_shape=(size,) + tuple(x_shape))


# y = F R x, with R the cut or pad of x to s and F = F^T the transform: ct_x = R^T F g
fftn = primitive("fft.fftn", _numpy(np.fft.fftn, "c"), (
    lambda g, ans, x, s, axes, norm, x_shape: _fit(
        fftn(g, s=s, axes=axes, norm=norm, x_shape=g.shape), axes, x_shape),
), jvp="linear", grad_fn="FftC2CBackward0", batch=batch_fft)
ifftn = primitive("fft.ifftn", _numpy(np.fft.ifftn, "c"), (
    lambda g, ans, x, s, axes, norm, x_shape: _fit(
        ifftn(g, s=s, axes=axes, norm=norm, x_shape=g.shape), axes, x_shape),
), jvp="linear", grad_fn="FftC2CBackward0", batch=batch_fft)


# X = P F R x for a real x, where P keeps the bins k = 0 .. n//2 of the last axis (n = s[-1]):
# dL = Re(sum g dX) = sum Re(R^T F P^T g) dx, so ct_x = R^T F P^T g: g padded with zeros to
# the full spectrum, transformed (fftn pads to s), cut or padded to x (the engine takes the
# real part when it casts the gradient to x's real dtype)
rfftn = primitive("fft.rfftn", _numpy(np.fft.rfftn, "c"), (
    lambda g, ans, x, s, axes, norm, x_shape: _fit(
        fftn(g, s=s, axes=axes, norm=norm, x_shape=g.shape), axes, x_shape),
), jvp="linear", grad_fn="FftR2CBackward0", batch=batch_fft)


def _hermitian_weights(n: int, axis: int, ndim: int, dtype):
    """c_k along ``axis``: 2 on the bins k = 1 .. (n-1)//2, which stand for themselves and
    their mirror images n - k, and 1 on the zero bin and (n even) the Nyquist bin n/2."""
    c = np.full(n // 2 + 1, 2.0, dtype)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c.reshape((-1,) + (1,) * (ndim - 1 - axis))


def _irfftn_vjp(g, ans, x, s, axes, norm, x_shape):
    # x_j = f Re(sum_k c_k X_k w^(j.k)) over the bins k = 0 .. n//2 of the last axis (NumPy's
    # irfftn reads the real part of the zero and Nyquist bins only, and of X cut or padded to
    # them), w = exp(2 pi i / s) and f the factor of norm (1/N for "backward").  For a real
    # cotangent g:  dL = sum_j g_j dx_j = Re(sum_k c_k (f sum_j g_j w^(j.k)) dX_k), so
    # ct_X = c conj(f sum_j g_j w^(-j.k)) = c conj(rfftn(g, norm=swapped)), cut or padded to
    # X's shape.  (The imaginary parts of the zero and Nyquist bins get 0: rfftn of a real g
    # is real there in one dimension.)
    half = conj(rfftn(g, s=s, axes=axes, norm=SWAPPED_NORM[norm], x_shape=g.shape))
    weights = _hermitian_weights(s[-1], axes[-1], len(x_shape), np.dtype(g.dtype))
    return _fit(half * weights, axes, x_shape)


irfftn = primitive("fft.irfftn", _numpy(np.fft.irfftn, "f"), (_irfftn_vjp,), jvp="linear",
                   grad_fn="FftC2RBackward0", batch=batch_fft)
