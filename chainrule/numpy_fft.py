"""NumPy's ``numpy.fft`` on Tensors, for :mod:`chainrule.numpy` (``cnp.fft.fft``, and
``np.fft.fft(t)`` through NumPy's function protocol), which calls NumPy's own functions for
plain arrays.

Arguments are read as NumPy reads them (``n``, ``axis``; ``s`` and ``axes`` with NumPy 2's
``-1`` and deprecations) and refused with NumPy's exception types; then :func:`transform`,
which ``chainrule.fft`` (PyTorch's names) shares, calls the four primitives of
``chainrule/rules/fft.py``: ``fftn``, ``ifftn``, ``rfftn``, ``irfftn``.  The one-axis and
two-axis functions are those over one or two axes; the Hermitian ones are NumPy's
compositions, ``hfft(a) = irfft(conj(a))`` and ``ihfft(a) = conj(rfft(a))`` with the opposite
``norm``.  Repeated axes, which NumPy allows (the transform is applied again), are transformed
one at a time in NumPy's order, so that values are NumPy's bit for bit.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

from chainrule import numpy_arrays, ops
from chainrule import rules as R
from chainrule.errors import refuse_out

NORMS = ("backward", "ortho", "forward")

_PRIMITIVES = {"fft": R.fftn, "ifft": R.ifftn, "rfft": R.rfftn, "irfft": R.irfftn}


def transform(kind: str, a, s, axes, norm: str):
    """The transform ``kind`` (``"fft"``, ``"ifft"``, ``"rfft"``, ``"irfft"``, ``"hfft"``,
    ``"ihfft"``) of the tensor ``a`` over ``axes`` (non-negative; NumPy's order, repeats
    allowed), the input cut or padded to the sizes ``s`` (``irfft``: ``s[-1]`` is the length
    of the real output), with ``norm`` one of :data:`NORMS`."""
    if kind in ("hfft", "ihfft"):
        # NumPy's: the Hermitian transforms are the real ones of the conjugate, scaled the
        # other way
        swapped = R.SWAPPED_NORM[norm]
        if kind == "hfft":
            return transform("irfft", R.conj(a), s, axes, swapped)
        return R.conj(transform("rfft", a, s, axes, swapped))
    s, axes = tuple(s), tuple(axes)
    if not axes:
        return a
    if len(set(axes)) == len(axes):
        return _PRIMITIVES[kind](a, s=s, axes=axes, norm=norm, x_shape=tuple(a.shape))
    # repeated axes: one axis at a time, in the order of NumPy's loops
    last = len(axes) - 1
    if kind in ("fft", "ifft"):
        steps = [(kind, i) for i in reversed(range(len(axes)))]
    elif kind == "rfft":
        steps = [("rfft", last)] + [("fft", i) for i in reversed(range(last))]
    else:
        steps = [("ifft", i) for i in range(last)] + [("irfft", last)]
    for step, i in steps:
        a = _PRIMITIVES[step](a, s=(s[i],), axes=(axes[i],), norm=norm, x_shape=tuple(a.shape))
    return a


# --------------------------------------------------------------------------------------------
# NumPy's arguments, checked with NumPy's exception types


def _operand(name: str, a, out, real: bool = False):
    refuse_out(f"fft.{name}", out)
    a = ops.operand(a)
    if real and a.dtype.kind == "c":
        # (NumPy's ufunc refuses complex input with a TypeError)
        raise TypeError(f"fft.{name}: the input must be real, but it is {a.dtype}; the "
                        f"{name} of complex input is not defined: use "
                        f"{'ifft' if name.startswith('ih') else 'fft'} for complex input, or "
                        "pass its real part")
    return a


def _norm(name: str, norm) -> str:
    if norm is None:
        return "backward"
    if isinstance(norm, str) and norm in NORMS:
        return norm
    raise ValueError(f'fft.{name}: Invalid norm value {norm}; should be "backward", "ortho" '
                     'or "forward" (or None, which is "backward")')


def _integer(name: str, value, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"fft.{name}: {what} must be an integer, not {type(value).__name__} "
                        f"({value!r})") from None


def _axis(name: str, axis, ndim: int) -> int:
    axis = _integer(name, axis, "axis")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"fft.{name}: axis {axis} is out of bounds for array of "
                                      f"dimension {ndim}")
    return axis % ndim


def _points(name: str, n) -> int:
    n = _integer(name, n, "the number of points")
    if n < 1:
        raise ValueError(f"fft.{name}: Invalid number of FFT data points ({n}) specified; "
                         "the transform needs n >= 1")
    return n


def _one_axis(kind: str, name: str, a, n, axis, norm, out, real: bool = False):
    """A transform along one axis, with NumPy's ``n`` (``irfft``/``hfft``: the output's
    length, 2 (m - 1) by default for m input bins)."""
    a = _operand(name, a, out, real)
    norm = _norm(name, norm)
    axis = _axis(name, axis, a.ndim)
    if n is None:
        n = a.shape[axis] if kind in ("fft", "ifft", "rfft", "ihfft") else 2 * (a.shape[axis] - 1)
    return transform(kind, a, (_points(name, n),), (axis,), norm)


def _cook(name: str, a, s, axes, inverse_real: bool):
    """NumPy's ``_cook_nd_args``: ``s`` and ``axes`` made whole (``s[i] == -1``: the input's
    size; ``irfftn``'s last size 2 (m - 1) by default), and checked."""
    shapeless = s is None
    if axes is not None:
        axes = [_axis(name, ax, a.ndim) for ax in (axes if np.iterable(axes) else (axes,))]
    if s is None:
        s = [a.shape[ax] for ax in (range(a.ndim) if axes is None else axes)]
    s = list(s)
    if axes is None:
        if not shapeless:
            warnings.warn("`axes` should not be `None` if `s` is not `None` (Deprecated in "
                          "NumPy 2.0). To retain current behaviour, pass a sequence [0, ..., "
                          "k-1] to `axes` for an array of dimension k.", DeprecationWarning,
                          stacklevel=4)
        axes = [_axis(name, ax, a.ndim) for ax in range(-len(s), 0)]
    if len(s) != len(axes):
        raise ValueError(f"fft.{name}: Shape and axes have different lengths (s={tuple(s)}, "
                         f"axes={tuple(axes)}); give one size per axis")
    if inverse_real and shapeless and axes:
        s[-1] = 2 * (a.shape[axes[-1]] - 1)
    if None in s:
        warnings.warn("Passing an array containing `None` values to `s` is deprecated in NumPy "
                      "2.0; pass the default size of the 1-D transform instead.",
                      DeprecationWarning, stacklevel=4)
    last = len(s) - 1
    for i, ax in enumerate(axes):
        if s[i] is None:  # the 1-D transform's default
            s[i] = 2 * (a.shape[ax] - 1) if inverse_real and i == last else a.shape[ax]
        elif s[i] == -1:
            s[i] = a.shape[ax]
    return [_points(name, n) for n in s], axes


def _n_axes(kind: str, name: str, a, s, axes, norm, out, real: bool = False):
    a = _operand(name, a, out, real)
    norm = _norm(name, norm)
    s, axes = _cook(name, a, s, axes, kind == "irfft")
    return transform(kind, a, s, axes, norm)


# --------------------------------------------------------------------------------------------
# numpy.fft's functions


def fft(a, n=None, axis=-1, norm=None, out=None):
    """The discrete Fourier transform along ``axis``: ``A_k = sum_j a_j exp(-2 pi i jk/n)``,
    the input cut or padded with zeros to ``n`` points."""
    return _one_axis("fft", "fft", a, n, axis, norm, out)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """The inverse of :func:`fft`: ``a_j = (1/n) sum_k A_k exp(2 pi i jk/n)``."""
    return _one_axis("ifft", "ifft", a, n, axis, norm, out)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """The transform of real input: the ``n//2 + 1`` bins of :func:`fft` that are not the
    conjugates of others."""
    return _one_axis("rfft", "rfft", a, n, axis, norm, out, real=True)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """The inverse of :func:`rfft`: ``n`` real points (``2 (m - 1)`` for ``m`` bins by
    default) from a half spectrum."""
    return _one_axis("irfft", "irfft", a, n, axis, norm, out)


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """The transform of a signal with Hermitian symmetry, given by its first half: ``n`` real
    points (``2 (m - 1)`` by default)."""
    return _one_axis("hfft", "hfft", a, n, axis, norm, out)


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """The inverse of :func:`hfft`, of real input: ``n//2 + 1`` complex points."""
    return _one_axis("ihfft", "ihfft", a, n, axis, norm, out, real=True)


def fftn(a, s=None, axes=None, norm=None, out=None):
    """:func:`fft` over ``axes`` (all by default), each cut or padded to its size in ``s``."""
    return _n_axes("fft", "fftn", a, s, axes, norm, out)


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """:func:`ifft` over ``axes`` (all by default)."""
    return _n_axes("ifft", "ifftn", a, s, axes, norm, out)


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """:func:`rfft` over the last of ``axes``, then :func:`fft` over the others."""
    return _n_axes("rfft", "rfftn", a, s, axes, norm, out, real=True)


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """The inverse of :func:`rfftn`: ``s[-1]`` (``2 (m - 1)`` by default) real points along
    the last axis."""
    return _n_axes("irfft", "irfftn", a, s, axes, norm, out)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """:func:`fftn` over the last two axes."""
    return _n_axes("fft", "fft2", a, s, axes, norm, out)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """:func:`ifftn` over the last two axes."""
    return _n_axes("ifft", "ifft2", a, s, axes, norm, out)


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """:func:`rfftn` over the last two axes."""
    return _n_axes("rfft", "rfft2", a, s, axes, norm, out, real=True)


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """:func:`irfftn` over the last two axes."""
    return _n_axes("irfft", "irfft2", a, s, axes, norm, out)


def _shifted(name: str, x, axes, sign: int):
    # a roll by half of each axis' length: fftshift rolls forward, ifftshift back
    x = ops.operand(x)
    if axes is None:
        axes = range(x.ndim)
    elif not np.iterable(axes):
        axes = (axes,)
    axes = [_axis(name, ax, x.ndim) for ax in axes]
    return numpy_arrays.roll(x, [sign * (x.shape[ax] // 2) for ax in axes], axes)


def fftshift(x, axes=None):
    """The zero-frequency bin moved to the centre: ``x`` rolled by half of each axis' length
    (of ``axes``, all by default)."""
    return _shifted("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """The inverse of :func:`fftshift`."""
    return _shifted("ifftshift", x, axes, -1)


DIFFERENTIABLE = ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
                  "irfft2", "rfftn", "irfftn", "hfft", "ihfft", "fftshift", "ifftshift")
"""The functions of ``numpy.fft`` this module differentiates (``fftfreq`` and ``rfftfreq``
are NumPy's own: they make sample frequencies, nothing to differentiate)."""
