"""Convolution: ``conv`` (PyTorch's cross-correlation), ``conv_transpose`` (its adjoint in
the input) and ``conv_weight`` (its adjoint in the weight), in any number of spatial dims.

Layout (PyTorch's): an input ``x`` of shape ``(N, C, *S)``, a weight ``w`` of shape
``(O, C / G, *K)`` for ``G`` groups, a result of shape ``(N, O, *L)``.  With ``xp`` the input
padded by ``lo`` zeros before and ``hi`` after each spatial dim, stride ``s`` and dilation
``d`` (per dim), and ``c`` ranging over the channels of the group of ``o``:

    conv(x, w)[n, o, l] = sum_{c, k} xp[n, c, l s + k d] w[o, c, k]

It is bilinear in (x, w), so its three primitives are each other's derivatives:

    d conv / dx is the adjoint of x -> conv(x, w):    dx = conv_transpose(g, w)
    d conv / dw is the adjoint of w -> conv(x, w):    dw = conv_weight(x, g)
    conv_transpose(g, w): dg = conv(gy, w),           dw = conv_weight(gy, g)
    conv_weight(x, g):    dx = conv_transpose(g, W),  dg = conv(x, W)

(``gy``, ``W``: the incoming cotangent of each).  The rules call only these three, so
``create_graph=True`` records second derivatives with the same primitives, and forward mode is
``jvp="bilinear"`` for all three.  ``nn.functional.conv_transpose1d/2d/3d`` call
``conv_transpose`` directly.

The geometry is given by four parameters shared by the three primitives: ``stride``,
``padding`` (one ``(lo, hi)`` pair per spatial dim), ``dilation`` and ``groups``.  The padding
is *exact*: ``S + lo + hi = (L - 1) s + d (K - 1) + 1`` in every dim, so that each primitive
knows the other sizes from its inputs' (``chainrule.nn.functional_conv`` resolves PyTorch's
``padding``, ``'same'`` and ``output_padding`` into these pairs: rows that a stride leaves
unread are cropped, ``hi < 0``, and ``output_padding`` appends zeros, again ``hi < 0`` seen
from the transposed side).  A negative amount crops, a positive one pads with zeros.

How it is computed (``benchmarks/conv.py`` measures it against PyTorch): the input windows are
a strided view (``sliding_window_view``), copied once into columns of shape
``(N, G, C/G * prod(K), prod(L))``; the convolution is then one batched matrix product
``(G, O/G, C/G prod(K)) @ columns``, whose result is already in ``(N, O, *L)`` order.  Of the
orders measured (columns ``(N L, C K)`` times ``w^T`` then a transpose, one product over
``(C K, N L)``, ``tensordot`` on the view, a sum of one product per kernel offset) this was the
fastest at LeNet's and a ResNet block's shapes.  ``conv_transpose`` is the product
``w^T @ g`` into columns, scattered back by one strided add per kernel offset (col2im);
``conv_weight`` is ``g @ columns^T`` summed over the batch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from chainrule.rules.table import primitive


def _spans(kernel, dilation) -> tuple[int, ...]:
    """The extent ``d (K - 1) + 1`` of each dilated kernel dim."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def padded(x, padding):
    """``x`` with its spatial dims (all but the first two) padded by ``(lo, hi)`` zeros each;
    a negative amount crops instead."""
    if not any(lo or hi for lo, hi in padding):
        return x
    kept = x[(slice(None), slice(None)) + tuple(
        slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape[2:], padding))]
    if all(lo <= 0 and hi <= 0 for lo, hi in padding):
        return kept
    out = np.zeros(kept.shape[:2] + tuple(n + max(lo, 0) + max(hi, 0) for n, (lo, hi)
                                          in zip(kept.shape[2:], padding)), kept.dtype)
    out[(slice(None), slice(None)) + tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _)
                                           in zip(kept.shape[2:], padding))] = kept
    return out


def _inexact(size, kernel, stride, padding, dilation) -> bool:
    """Whether some dim has ``S + lo + hi - d (K - 1) - 1`` not a multiple of ``s`` (rows the
    last window leaves unread, or a kernel that does not fit)."""
    return any((n + lo + hi - span) % s or n + lo + hi < span for n, span, s, (lo, hi)
               in zip(size, _spans(kernel, dilation), stride, padding))


def _columns(x, kernel, stride, padding, dilation, groups):
    """The im2col matrix of ``x``: shape ``(N, G, C/G * prod(K), prod(L))``, and ``L``."""
    if _inexact(x.shape[2:], kernel, stride, padding, dilation):
        raise ValueError(f"the padding {padding} is not exact for an input of size "
                         f"{x.shape[2:]}, kernel {kernel}, stride {stride} and dilation "
                         f"{dilation}: S + lo + hi must be (L - 1) stride + dilation (K - 1) + 1")
    xp = padded(x, padding)
    dims = len(kernel)
    view = sliding_window_view(xp, _spans(kernel, dilation), axis=tuple(range(2, 2 + dims)))
    # (N, C, *L, *K): every s-th window, every d-th entry of it
    view = view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, d) for d in dilation)]
    out = view.shape[2:2 + dims]
    order = (0, 1) + tuple(range(2 + dims, 2 + 2 * dims)) + tuple(range(2, 2 + dims))
    cols = np.ascontiguousarray(view.transpose(order))  # (N, C, *K, *L)
    n, c = x.shape[:2]
    return cols.reshape(n, groups, c // groups * math.prod(kernel), math.prod(out)), out


def _conv(x, w, stride, padding, dilation, groups):
    kernel = w.shape[2:]
    cols, out = _columns(x, kernel, stride, padding, dilation, groups)
    o = w.shape[0]
    # (G, O/G, C/G prod(K)) @ (N, G, C/G prod(K), prod(L)) -> (N, G, O/G, prod(L))
    y = np.matmul(w.reshape(groups, o // groups, -1), cols)
    return y.reshape((x.shape[0], o) + out)


def _conv_transpose(x, w, stride, padding, dilation, groups):
    # x (N, O, *L), w (O, C/G, *K): the adjoint of conv in its input, of shape (N, C, *S)
    n, o = x.shape[:2]
    out, kernel = x.shape[2:], w.shape[2:]
    c = w.shape[1] * groups
    # columns (N, G, C/G prod(K), prod(L)) = w^T @ x, group by group
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    cols = np.matmul(wt, x.reshape(n, groups, o // groups, -1))
    cols = cols.reshape((n, c) + kernel + out)
    # col2im: entry (k, l) of the columns lands on xp[l s + k d]
    full = tuple((m - 1) * s + span for m, s, span in zip(out, stride, _spans(kernel, dilation)))
    xp = np.zeros((n, c) + full, cols.dtype)
    whole = (slice(None), slice(None))
    for k in itertools.product(*(range(m) for m in kernel)):
        at = tuple(slice(i * d, i * d + (m - 1) * s + 1, s)
                   for i, d, m, s in zip(k, dilation, out, stride))
        xp[whole + at] += cols[whole + k]
    return padded(xp, tuple((-lo, -hi) for lo, hi in padding))


def _conv_weight(x, g, stride, padding, dilation, groups):
    # x (N, C, *S), g (N, O, *L): the adjoint of conv in its weight, of shape (O, C/G, *K),
    # K read from the exact padding: S + lo + hi = (L - 1) s + d (K - 1) + 1
    n, c = x.shape[:2]
    o, out = g.shape[1], g.shape[2:]
    kernel = tuple((size + lo + hi - (m - 1) * s - 1) // d + 1 for size, (lo, hi), m, s, d
                   in zip(x.shape[2:], padding, out, stride, dilation))
    cols, _ = _columns(x, kernel, stride, padding, dilation, groups)
    # (N, G, O/G, prod(L)) @ (N, G, prod(L), C/G prod(K)), summed over the batch
    per_sample = np.matmul(g.reshape(n, groups, o // groups, -1), cols.transpose(0, 1, 3, 2))
    return np.add.reduce(per_sample, axis=0).reshape((o, c // groups) + kernel)


conv = primitive(
    "nn.functional.conv", _conv,
    (lambda g, ans, x, w, **p: conv_transpose(g, w, **p),
     lambda g, ans, x, w, **p: conv_weight(x, g, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="ConvolutionBackward0")
conv_transpose = primitive(
    "nn.functional.conv_transpose", _conv_transpose,
    (lambda g, ans, x, w, **p: conv(g, w, **p),
     lambda g, ans, x, w, **p: conv_weight(g, x, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="ConvolutionBackward0")
conv_weight = primitive(
    "nn.grad.conv_weight", _conv_weight,
    (lambda g, ans, x, y, **p: conv_transpose(y, g, **p),
     lambda g, ans, x, y, **p: conv(x, g, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear",
    grad_fn="ConvolutionBackwardBackward0")
