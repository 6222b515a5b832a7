"""The pooling functions of ``torch.nn.functional``: ``max_pool1d``, ``max_pool2d``,
``avg_pool1d``, ``avg_pool2d``, ``adaptive_avg_pool1d``, ``adaptive_avg_pool2d``,
``adaptive_max_pool1d``, ``adaptive_max_pool2d`` and ``lp_pool2d``, re-exported by
:mod:`chainrule.nn.functional`.

Each reads and checks PyTorch's arguments (an int or one int per pooled dim; ``stride=None``
means the kernel size), refuses what PyTorch refuses with its words, and calls a pooling
primitive of :mod:`chainrule.rules.pooling`, so that ``create_graph=True`` and forward mode
work through every pooling.  The input is ``(N, C, *spatial)`` or ``(C, *spatial)``.

Adaptive pooling uses PyTorch's windows, ``start_i = floor(i L / out)`` and
``end_i = ceil((i + 1) L / out)``.  Where ``L`` is a multiple of ``out`` they are the windows
of an ordinary pooling with kernel and stride ``L / out``.  Otherwise the windows differ in
size: an average is separable, ``A_h X A_wᵀ`` with ``A`` the (out, L) matrix of ``1 / len``
over each window (two matmuls); a maximum gathers its windows (each padded to the longest by
repeating its last entry, which changes neither the maximum nor which entry is the first
maximum) into tiles and max-pools them.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> x = cr.arange(16.0).reshape(1, 4, 4)
>>> F.max_pool2d(x, 2)
tensor([[[ 5.,  7.],
         [13., 15.]]])
>>> F.avg_pool1d(cr.tensor([[1.0, 2.0, 3.0, 4.0]]), 2)
tensor([[1.5000, 3.5000]])
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import functions as fn
from chainrule import rules as R
from chainrule.arguments import no_gradient
from chainrule.functions import tensor_arg
from chainrule.rules.pooling import output_size, window_argmax
from chainrule.tensor import Tensor, wrap

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool2d", "max_pool1d",
           "max_pool2d"]

_COUNT = {1: "one int", 2: "a tuple of two ints"}


def _ints(name: str, what: str, value, n: int) -> tuple[int, ...]:
    """An int, or a sequence of one or ``n`` ints, as ``n`` ints."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name}(): argument '{what}' must be an int or a tuple of ints, "
                            f"not {type(v).__name__} ({value!r})")
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise RuntimeError(f"{name}: {what} must either be a single int, or {_COUNT[n]} "
                           f"(got {value!r})")
    return tuple(int(v) for v in values)


def _pooled_input(name: str, input, n: int) -> Tensor:
    """``input`` as a tensor of shape ``(N, C, *spatial)`` or ``(C, *spatial)``, with no
    empty dim but the batch, of a real dtype."""
    x = tensor_arg(input)
    if x.ndim not in (n + 1, n + 2) or 0 in x.shape[x.ndim - n - 1:]:
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got: {list(x.shape)}; "
                           f"pass (N, C, {', '.join('LHW'[3 - n:] if n < 3 else 'DHW')}) or "
                           "(C, ...) with non-empty channels and sizes")
    if x.dtype.kind not in "fiu":
        raise NotImplementedError(f'"{name}" not implemented for {x.dtype}; pooling takes '
                                  "real numbers (floats, or integers without a gradient)")
    return x


def _geometry(name: str, x: Tensor, n: int, kernel_size, stride, padding, dilation,
              ceil_mode: bool):
    """The checked pooling geometry: (kernel, stride, padding, dilation) as tuples."""
    kernel = _ints(name, "kernel_size", kernel_size, n)
    stride = kernel if stride is None or stride == [] or stride == () else _ints(
        name, "stride", stride, n)
    padding = _ints(name, "padding", padding, n)
    dilation = _ints(name, "dilation", dilation, n)
    if min(kernel) <= 0:
        raise RuntimeError(f"{name}: kernel size should be greater than zero, but got "
                           f"kernel_size={kernel}")
    if min(stride) <= 0:
        raise RuntimeError(f"{name}: stride should not be zero (nor negative), but got "
                           f"stride={stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{name}: dilation should be greater than zero, but got "
                           f"dilation={dilation}")
    if min(padding) < 0:
        raise RuntimeError(f"{name}: pad must be non-negative, but got pad: {padding}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{name}: pad should be at most half of kernel size, but got "
                           f"padding={padding} and kernel_size={kernel}; use a larger kernel "
                           "or pad the input first (nn.functional.pad)")
    sizes = x.shape[x.ndim - n:]
    outs = tuple(output_size(*a, bool(ceil_mode)) for a in zip(sizes, kernel, stride, padding,
                                                                dilation))
    if min(outs) < 1:
        planes = x.shape[x.ndim - n - 1]
        raise RuntimeError(f"{name}: Given input size: ({'x'.join(map(str, (planes, *sizes)))}"
                           f"). Calculated output size: "
                           f"({'x'.join(map(str, (planes, *outs)))}). Output size is too "
                           f"small: the window (kernel_size={kernel}, dilation={dilation}) "
                           f"does not fit in the input padded by {padding}")
    return kernel, stride, padding, dilation


def _flat_indices(where: np.ndarray, sizes, kernel, stride, padding, dilation) -> np.ndarray:
    """PyTorch's indices of max pooling: each maximum's flat position in its input plane."""
    taps = np.unravel_index(where, kernel)
    flat = np.zeros(where.shape, np.int64)
    n = len(kernel)
    for t in range(n):
        outputs = np.arange(where.shape[where.ndim - n + t]).reshape(
            (-1,) + (1,) * (n - 1 - t))
        position = outputs * stride[t] - padding[t] + taps[t].astype(np.int64) * dilation[t]
        flat = flat * sizes[t] + position
    return flat


def _max_pool(name: str, n: int, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    x = _pooled_input(name, input, n)
    kernel, stride, padding, dilation = _geometry(name, x, n, kernel_size, stride, padding,
                                                  dilation, ceil_mode)
    geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=bool(ceil_mode))
    out = R.max_pool(x, **geometry)
    if not return_indices:
        return out
    # (without gradient; a compiled plan finds them again at each replay, vmap per example)
    return out, no_gradient(_max_pool_indices, x, out, sizes=tuple(x.shape[x.ndim - n:]),
                            **geometry)


def _max_pool_indices(x: np.ndarray, out: np.ndarray, sizes: tuple, kernel, stride, padding,
                      dilation, ceil_mode) -> np.ndarray:
    """PyTorch's indices of the max pooling of ``x`` whose result is ``out``."""
    where = window_argmax(x, out, kernel=kernel, stride=stride, padding=padding,
                          dilation=dilation, ceil_mode=ceil_mode)
    return _flat_indices(where, sizes, kernel, stride, padding, dilation)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum over sliding windows along the last dim of ``(N, C, L)`` or ``(C, L)``, as
    ``torch.nn.functional.max_pool1d``; with ``return_indices``, also each maximum's position
    along ``L`` (int64).  The gradient goes to the first maximum of each window.

    >>> import chainrule as cr
    >>> max_pool1d(cr.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2, stride=1, return_indices=True)
    (tensor([[3., 3., 5., 5.]]), tensor([[1, 1, 3, 3]]))
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum over sliding windows of the last two dims of ``(N, C, H, W)`` or
    ``(C, H, W)``, as ``torch.nn.functional.max_pool2d``: ``stride`` defaults to the kernel
    size, ``padding`` (at most half the kernel) is never picked, ``dilation`` spaces a window's
    taps, ``ceil_mode`` keeps a last partial window.  With ``return_indices``, also each
    maximum's flat position ``h * W + w`` in its plane (int64).  The gradient goes to the first
    maximum of each window, in row-major order (as PyTorch's).

    >>> import chainrule as cr
    >>> x = cr.tensor([[[1.0, 2.0, 0.0], [4.0, 3.0, 6.0], [0.0, 8.0, 7.0]]])
    >>> max_pool2d(x, 2, stride=1, return_indices=True)
    (tensor([[[4., 6.],
             [8., 8.]]]), tensor([[[3, 5],
             [7, 7]]]))
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(name: str, n: int, input, kernel_size, stride, padding, ceil_mode,
              count_include_pad, divisor_override):
    x = _pooled_input(name, input, n)
    kernel, stride, padding, _ = _geometry(name, x, n, kernel_size, stride, padding, 1,
                                           ceil_mode)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override,
                                                                (int, np.integer)):
            raise TypeError(f"{name}(): argument 'divisor_override' must be an int, not "
                            f"{type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError(f"{name}: divisor must be not zero (divisor_override=0); "
                               "leave it None to divide by the window's size")
        divisor_override = int(divisor_override)
    return R.avg_pool(x, x_shape=tuple(x.shape), kernel=kernel, stride=stride, padding=padding,
                      ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                      divisor_override=divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean over sliding windows along the last dim of ``(N, C, L)`` or ``(C, L)``, as
    ``torch.nn.functional.avg_pool1d``; ``count_include_pad`` counts the zero padding in the
    divisor.

    >>> import chainrule as cr
    >>> avg_pool1d(cr.tensor([[1.0, 2.0, 3.0]]), 2, padding=1, count_include_pad=False)
    tensor([[1.0000, 2.5000]])
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean over sliding windows of the last two dims of ``(N, C, H, W)`` or
    ``(C, H, W)``, as ``torch.nn.functional.avg_pool2d``: each window's sum divided by its
    size (clipped to the padded input), by the number of inputs in it when
    ``count_include_pad=False``, or by ``divisor_override``.

    >>> import chainrule as cr
    >>> avg_pool2d(cr.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 2.5000,  4.5000],
             [10.5000, 12.5000]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def lp_pool2d(input, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """``(sum over each window of x^p)^(1/p)``, as ``torch.nn.functional.lp_pool2d`` (p =
    ``norm_type``; the window sum as ``kh kw`` times an average pooling of ``x^p``).

    >>> import chainrule as cr
    >>> lp_pool2d(cr.tensor([[[3.0, 0.0], [0.0, 4.0]]]), 2, 2)
    tensor([[[5.]]])
    """
    kernel = _ints("lp_pool2d", "kernel_size", kernel_size, 2)
    x = tensor_arg(input)
    out = avg_pool2d(x ** norm_type, kernel, stride, 0, ceil_mode)
    # (PyTorch's clamp of a negative sum to 0 before the root, at no cost to the gradient)
    return (fn.sign(out) * fn.relu(fn.abs(out)) * math.prod(kernel)) ** (1.0 / norm_type)


# --------------------------------------------------------------------------------------------
# Adaptive pooling


def _output_sizes(name: str, output_size, sizes) -> tuple[int, ...]:
    """``output_size`` (an int, or one int or None per pooled dim: None keeps that size)."""
    n = len(sizes)
    given = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(given) == 1:
        given = given * n
    if len(given) != n:
        raise RuntimeError(f"{name}: output_size must be an int or {_COUNT[n]}, got "
                           f"{output_size!r}")
    outs = []
    for size, out in zip(sizes, given):
        if out is None:
            out = size
        if isinstance(out, bool) or not isinstance(out, (int, np.integer)):
            raise TypeError(f"{name}(): argument 'output_size' must be an int or a tuple of "
                            f"ints, not {type(out).__name__} ({output_size!r})")
        if out < 0:
            raise RuntimeError(f"{name}: elements of output_size must be greater than or "
                               f"equal to 0 but received {output_size!r}")
        outs.append(int(out))
    return tuple(outs)


def _adaptive_input(name: str, input, n: int) -> Tensor:
    x = tensor_arg(input)
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(x.shape)}; pass (N, C, *sizes) or (C, *sizes)")
    empty = [d for d in range(x.ndim - n - 1, x.ndim) if x.shape[d] == 0]
    if empty:
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(x.shape)} with dimension "
                           f"{empty[0]} being empty")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for {x.dtype}; convert the input '
                                  "with .float() or .double()")
    return x


def _windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one dim: starts floor(i L / out), ends
    ceil((i + 1) L / out)."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _averaging(size: int, out: int, dtype) -> np.ndarray:
    """The (out, size) matrix that averages each adaptive window."""
    start, end = _windows(size, out)
    positions = np.arange(size)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg(name: str, n: int, input, output_size) -> Tensor:
    x = _adaptive_input(name, input, n)
    sizes = x.shape[x.ndim - n:]
    outs = _output_sizes(name, output_size, sizes)
    if all(o and size % o == 0 for size, o in zip(sizes, outs)):
        kernel = tuple(size // o for size, o in zip(sizes, outs))
        return R.avg_pool(x, x_shape=tuple(x.shape), kernel=kernel, stride=kernel,
                          padding=(0,) * n, ceil_mode=False, count_include_pad=True,
                          divisor_override=None)
    # separable: A_h X A_wᵀ (or X Aᵀ in 1-d)
    out = fn.matmul(x, _averaging(sizes[-1], outs[-1], x.dtype).T)
    if n == 2:
        out = fn.matmul(_averaging(sizes[0], outs[0], x.dtype), out)
    return out


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """The mean over ``output_size`` windows along the last dim of ``(N, C, L)`` or
    ``(C, L)`` (PyTorch's windows: they overlap where ``L`` is not a multiple), as
    ``torch.nn.functional.adaptive_avg_pool1d``.

    >>> import chainrule as cr
    >>> adaptive_avg_pool1d(cr.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]), 2)
    tensor([[2., 4.]])
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """The mean over an ``output_size`` grid of windows of the last two dims of
    ``(N, C, H, W)`` or ``(C, H, W)``, as ``torch.nn.functional.adaptive_avg_pool2d``
    (``output_size``: an int, or a pair whose None entries keep that size).

    >>> import chainrule as cr
    >>> adaptive_avg_pool2d(cr.arange(9.0).reshape(1, 3, 3), 1)
    tensor([[[4.]]])
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max(name: str, n: int, input, output_size, return_indices: bool):
    x = _adaptive_input(name, input, n)
    sizes = x.shape[x.ndim - n:]
    outs = _output_sizes(name, output_size, sizes)
    if 0 in outs:
        out = x[(Ellipsis, *(slice(0, o) for o in outs))].clone()  # (empty)
        return (out, wrap(np.zeros(out.shape, np.int64))) if return_indices else out
    # each window gathered into a tile of the longest window's size (its last entry repeated)
    gathers = []
    for size, o in zip(sizes, outs):
        start, end = _windows(size, o)
        longest = int((end - start).max())
        gathers.append(np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1))
    kernel = tuple(g.shape[1] for g in gathers)
    tiles = x
    if any(size != o * k for size, o, k in zip(sizes, outs, kernel)):
        index = np.ix_(*[g.reshape(-1) for g in gathers])
        tiles = x[(Ellipsis, *index)]
    geometry = dict(kernel=kernel, stride=kernel, padding=(0,) * n, dilation=(1,) * n,
                    ceil_mode=False)
    out = R.max_pool(tiles, **geometry)
    if not return_indices:
        return out
    taps = np.unravel_index(window_argmax(tiles, out, **geometry), kernel)
    flat = np.zeros(out.shape, np.int64)
    for t in range(n):
        windows = np.arange(outs[t]).reshape((-1,) + (1,) * (n - 1 - t))
        flat = flat * sizes[t] + gathers[t][windows, taps[t]]
    return out, wrap(flat)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """The maximum over ``output_size`` windows along the last dim of ``(N, C, L)`` or
    ``(C, L)``, as ``torch.nn.functional.adaptive_max_pool1d``.

    >>> import chainrule as cr
    >>> adaptive_max_pool1d(cr.tensor([[1.0, 5.0, 3.0, 2.0, 4.0]]), 3, return_indices=True)
    (tensor([[5., 5., 4.]]), tensor([[1, 1, 4]]))
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """The maximum over an ``output_size`` grid of windows of the last two dims of
    ``(N, C, H, W)`` or ``(C, H, W)``, as ``torch.nn.functional.adaptive_max_pool2d``; with
    ``return_indices``, also each maximum's flat position in its plane (int64).

    >>> import chainrule as cr
    >>> adaptive_max_pool2d(cr.arange(9.0).reshape(1, 3, 3), (2, 1))
    tensor([[[5.],
             [8.]]])
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)
