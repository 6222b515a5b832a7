"""``chainrule.fft``: discrete Fourier transforms with PyTorch's ``torch.fft`` names and
arguments (``n``, ``dim``, ``s``, ``norm``), differentiable in both modes to any order.

The transforms are NumPy's, through the primitives of ``chainrule/rules/fft.py`` (shared
with ``chainrule.numpy.fft`` by :func:`chainrule.numpy_fft.transform`); this module reads
PyTorch's arguments and refuses bad ones with PyTorch's exception types and words: a
``dim`` out of range is an IndexError, a size below 1 or an unknown ``norm`` a RuntimeError.
As in PyTorch, integer input is transformed in the default float dtype, repeated ``dim``\\s
are refused, and the real transforms (``rfft``, ``ihfft``) refuse complex input.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0, 0.0, -1.0], requires_grad=True)
>>> X = cr.fft.rfft(x)
>>> X
tensor([2.+0.j, 1.-3.j, 0.+0.j], grad_fn=<FftR2CBackward0>)
>>> (X.abs() ** 2).sum().backward()
>>> x.grad
tensor([ 6., 10.,  2., -2.])
"""

from __future__ import annotations

import numpy as np

from chainrule import numpy_arrays, ops
from chainrule.arguments import check_device, one_dim
from chainrule.creation import get_default_dtype, tensor
from chainrule.errors import refuse_out
from chainrule.functions import tensor_arg
from chainrule.numpy_fft import NORMS, transform
from chainrule.tensor import Tensor

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn",
           "fftshift", "ifftshift", "fftfreq", "rfftfreq"]

# the transforms that take real input, and those whose last size is that of a real output
_REAL_INPUT = ("rfft", "ihfft")
_REAL_OUTPUT = ("irfft", "hfft")


def _signal(name: str, input, kind: str, out) -> Tensor:
    """``input`` as a tensor to transform: integers in the default float dtype."""
    refuse_out(f"fft.{name}", out)
    x = tensor_arg(input)
    if x.dtype.kind in "biu":
        x = ops.to(x, get_default_dtype())
    if kind in _REAL_INPUT and x.dtype.kind == "c":
        raise RuntimeError(f"fft.{name}: {name} expects a real input tensor, but got "
                           f"{x.dtype}; transform complex input with "
                           f"{'fft' if kind == 'rfft' else 'ifft'}{name[len(kind):]}, or "
                           "pass its real part (x.real)")
    return x


def _norm(name: str, norm) -> str:
    if norm is None:
        return "backward"
    if not isinstance(norm, str):
        raise TypeError(f"fft.{name}(): argument 'norm' must be str, not "
                        f"{type(norm).__name__}")
    if norm not in NORMS:
        raise RuntimeError(f'fft.{name}: Invalid normalization mode: "{norm}"; use "backward" '
                           '(the default), "ortho" or "forward"')
    return norm


def _points(name: str, n, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"fft.{name}(): argument '{what}' must be int, not {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"fft.{name}: Invalid number of data points ({n}) specified; "
                           "the transform needs at least 1")
    return int(n)


def _dim(name: str, x: Tensor, dim) -> int:
    if x.ndim == 0:
        raise IndexError(f"fft.{name}: Dimension specified as {dim} but tensor has no "
                         "dimensions; transform a tensor of at least one dimension")
    return one_dim(f"fft.{name}", dim, x.ndim)


def _one_dim(kind: str, name: str, input, n, dim, norm, out) -> Tensor:
    x = _signal(name, input, kind, out)
    norm = _norm(name, norm)
    d = _dim(name, x, dim)
    if n is None:
        n = 2 * (x.shape[d] - 1) if kind in _REAL_OUTPUT else x.shape[d]
    return transform(kind, x, (_points(name, n),), (d,), norm)


def _n_dims(kind: str, name: str, input, s, dim, norm, out) -> Tensor:
    """PyTorch's reading of ``s`` and ``dim``: all dims by default, the last ``len(s)`` ones
    when only ``s`` is given; ``s[i] == -1`` keeps the input's size."""
    x = _signal(name, input, kind, out)
    norm = _norm(name, norm)
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        s = (s,)
    elif s is not None and not isinstance(s, (tuple, list)):
        raise TypeError(f"fft.{name}(): argument 's' must be a tuple of ints, not "
                        f"{type(s).__name__}")
    if dim is not None:
        dims = [one_dim(f"fft.{name}", d, x.ndim)
                for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        if len(set(dims)) < len(dims):
            raise RuntimeError(f"fft.{name}: FFT dims must be unique (got dim={tuple(dim)})")
        if s is not None and len(s) != len(dims):
            raise RuntimeError(f"fft.{name}: When given, dim and shape arguments must have the "
                               f"same length (s={tuple(s)}, dim={tuple(dim)})")
    elif s is not None:
        if len(s) > x.ndim:
            raise RuntimeError(f"fft.{name}: Got shape with {len(s)} values but input tensor "
                               f"only has {x.ndim} dimensions.")
        dims = list(range(x.ndim - len(s), x.ndim))
    else:
        dims = list(range(x.ndim))
    if not dims:
        if kind in ("fft", "ifft"):  # nothing to transform: a complex copy
            return ops.clone(x) if x.dtype.kind == "c" else ops.to(x, np.result_type(x, 1j))
        raise RuntimeError(f"fft.{name}: {name} must transform at least one axis")
    sizes = [x.shape[d] for d in dims] if s is None else [
        x.shape[d] if n == -1 else _points(name, n, "s") for n, d in zip(s, dims)]
    if kind in _REAL_OUTPUT and (s is None or s[-1] == -1):
        sizes[-1] = _points(name, 2 * (x.shape[dims[-1]] - 1))
    return transform(kind, x, sizes, dims, norm)


def fft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
        out=None) -> Tensor:
    """The discrete Fourier transform along ``dim``, ``X_k = sum_j x_j exp(-2 pi i jk/n)``,
    the input cut or padded with zeros to ``n`` points.

    >>> import chainrule as cr
    >>> cr.fft.fft(cr.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    return _one_dim("fft", "fft", input, n, dim, norm, out)


def ifft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out=None) -> Tensor:
    """The inverse of :func:`fft`, ``x_j = (1/n) sum_k X_k exp(2 pi i jk/n)``.

    >>> import chainrule as cr
    >>> cr.fft.ifft(cr.tensor([10.0, -2 + 2j, -2.0, -2 - 2j]))
    tensor([1.+0.j, 2.+0.j, 3.+0.j, 4.+0.j])
    """
    return _one_dim("ifft", "ifft", input, n, dim, norm, out)


def rfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out=None) -> Tensor:
    """The transform of real input: the ``n//2 + 1`` bins of :func:`fft` that are not the
    conjugates of others.

    >>> import chainrule as cr
    >>> cr.fft.rfft(cr.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j])
    """
    return _one_dim("rfft", "rfft", input, n, dim, norm, out)


def irfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out=None) -> Tensor:
    """The inverse of :func:`rfft`: ``n`` real points (``2 (m - 1)`` for ``m`` bins by
    default; give ``n`` for an odd length).

    >>> import chainrule as cr
    >>> cr.fft.irfft(cr.tensor([10.0, -2 + 2j, -2.0]))
    tensor([1., 2., 3., 4.])
    """
    return _one_dim("irfft", "irfft", input, n, dim, norm, out)


def hfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out=None) -> Tensor:
    """The transform of a signal with Hermitian symmetry given by its first half: ``n`` real
    points (``2 (m - 1)`` by default); ``hfft(x) = irfft(x.conj())`` scaled as the forward
    transform.

    >>> import chainrule as cr
    >>> cr.fft.hfft(cr.tensor([1.0, 2.0, 3.0]))
    tensor([ 8., -2.,  0., -2.])
    """
    return _one_dim("hfft", "hfft", input, n, dim, norm, out)


def ihfft(input, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out=None) -> Tensor:
    """The inverse of :func:`hfft`, of real input: ``n//2 + 1`` complex points.

    >>> import chainrule as cr
    >>> cr.fft.ihfft(cr.tensor([8.0, -2.0, 0.0, -2.0]))
    tensor([1.-0.j, 2.-0.j, 3.-0.j])
    """
    return _one_dim("ihfft", "ihfft", input, n, dim, norm, out)


def fftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """:func:`fft` over the dims ``dim`` (all by default; the last ``len(s)`` if only ``s``
    is given), each cut or padded to its size in ``s`` (-1: kept).

    >>> import chainrule as cr
    >>> cr.fft.fftn(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[10.+0.j, -2.+0.j],
            [-4.+0.j,  0.+0.j]])
    """
    return _n_dims("fft", "fftn", input, s, dim, norm, out)


def ifftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """:func:`ifft` over the dims ``dim`` (all by default)."""
    return _n_dims("ifft", "ifftn", input, s, dim, norm, out)


def rfftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """:func:`rfft` over the last of the dims ``dim``, then :func:`fft` over the others."""
    return _n_dims("rfft", "rfftn", input, s, dim, norm, out)


def irfftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """The inverse of :func:`rfftn`: ``s[-1]`` real points (``2 (m - 1)`` by default) along
    the last of the dims."""
    return _n_dims("irfft", "irfftn", input, s, dim, norm, out)


def hfftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """:func:`hfft` in several dims: the last of ``dim`` holds half of a Hermitian signal."""
    return _n_dims("hfft", "hfftn", input, s, dim, norm, out)


def ihfftn(input, s=None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """The inverse of :func:`hfftn`, of real input."""
    return _n_dims("ihfft", "ihfftn", input, s, dim, norm, out)


def fft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`fftn` over the last two dims."""
    return _n_dims("fft", "fft2", input, s, dim, norm, out)


def ifft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`ifftn` over the last two dims."""
    return _n_dims("ifft", "ifft2", input, s, dim, norm, out)


def rfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`rfftn` over the last two dims."""
    return _n_dims("rfft", "rfft2", input, s, dim, norm, out)


def irfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`irfftn` over the last two dims."""
    return _n_dims("irfft", "irfft2", input, s, dim, norm, out)


def hfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`hfftn` over the last two dims."""
    return _n_dims("hfft", "hfft2", input, s, dim, norm, out)


def ihfft2(input, s=None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """:func:`ihfftn` over the last two dims."""
    return _n_dims("ihfft", "ihfft2", input, s, dim, norm, out)


def _shifted(name: str, input, dim, sign: int) -> Tensor:
    # a roll by half of each dim's length: fftshift rolls forward, ifftshift back
    x = tensor_arg(input)
    if dim is None:
        dims = list(range(x.ndim))
    else:
        dims = [one_dim(f"fft.{name}", d, x.ndim)
                for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
    if x.ndim == 0 or not dims:
        return ops.clone(x)
    return numpy_arrays.roll(x, [sign * (x.shape[d] // 2) for d in dims], dims)


def fftshift(input, dim=None) -> Tensor:
    """The zero-frequency bin moved to the centre: ``input`` rolled by half of each dim's
    length (of ``dim``, all by default).

    >>> import chainrule as cr
    >>> cr.fft.fftshift(cr.fft.fftfreq(5))
    tensor([-0.4000, -0.2000,  0.0000,  0.2000,  0.4000])
    """
    return _shifted("fftshift", input, dim, 1)


def ifftshift(input, dim=None) -> Tensor:
    """The inverse of :func:`fftshift`."""
    return _shifted("ifftshift", input, dim, -1)


def _frequencies(name: str, numpy_func, n, d, dtype, requires_grad, device, out) -> Tensor:
    check_device(f"fft.{name}", device)
    if out is not None:
        raise TypeError(f"fft.{name}(..., out=...) is not supported; assign the result")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"fft.{name}(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"fft.{name}: Trying to create tensor with negative dimension {n}: "
                           f"[{n}]")
    values = numpy_func(n, d) if n else np.zeros(0)
    return tensor(values, dtype=get_default_dtype() if dtype is None else dtype,
                  requires_grad=requires_grad)


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of :func:`fft`'s bins for ``n`` points ``d`` apart,
    ``[0, 1, ..., (n - 1)//2, -(n//2), ..., -1] / (d n)``, in the default float dtype.

    >>> import chainrule as cr
    >>> cr.fft.fftfreq(4, d=0.5)
    tensor([ 0.0000,  0.5000, -1.0000, -0.5000])
    """
    return _frequencies("fftfreq", np.fft.fftfreq, n, d, dtype, requires_grad, device, out)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """The sample frequencies of :func:`rfft`'s bins: ``[0, 1, ..., n//2] / (d n)``.

    >>> import chainrule as cr
    >>> cr.fft.rfftfreq(4)
    tensor([0.0000, 0.2500, 0.5000])
    """
    return _frequencies("rfftfreq", np.fft.rfftfreq, n, d, dtype, requires_grad, device, out)
