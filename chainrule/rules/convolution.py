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

How it is computed (``benchmarks/conv.py`` measures it against PyTorch; README's log, entry
26, has the figures).  With stride 1 in every dim (LeNet's, a ResNet block's 3 x 3), on a
*wide grid*: the input is padded once into a buffer of flattened planes ``(N, C, prod(P) +
tail)`` (``P`` the padded size, ``tail`` zeros so that the last window stays inside its own
plane).  With ``Q_i = prod(P[i+1:])`` the flat stride of dim ``i``, the result is computed at
the flat positions ``q = sum_i l_i Q_i`` for ``l_0 < L_0`` and *every* ``l_i < P_i`` of the
other dims, ``M = L_0 Q_0`` of them, of which the ones with some ``l_i >= L_i`` (``i > 0``)
are discarded.  Then the window entry at kernel offset ``k`` of every position is the one
contiguous run ``xp_flat[q + sum_i k_i d_i Q_i]``, ``q < M``, so the columns ``(N, G, C/G *
prod(K), M)`` are copied from a strided view whose innermost dim is a contiguous run of ``M``
(the direct view's innermost run is ``L_{-1}``, 10 at LeNet's second layer; at LeNet's two
layers its copy cost 1.4-1.7 times the product itself, the wide one 0.4-0.8 times).  The
discarded positions cost ``P_{-1} / L_{-1}`` times the product's work (1.14x, 1.4x and 1.06x
at the benchmarks' three shapes), less than the copy saved.

- ``conv``: ``(G, O/G, C/G prod(K)) @ columns`` per sample, the discarded positions cropped
  as the products are written into the result.  The columns are made and multiplied a chunk
  of samples (about 1 MiB of columns) at a time: in the LeNet step (one run, machine loaded)
  that took the first layer's forward from 2.8 to 1.5 ms (its columns, 11 MiB at once, left
  the cache before the product read them, and big fresh buffers cost page faults).
- ``conv_weight``: ``g`` written into a zeroed wide grid ``gw`` (zeros at the discarded
  positions), then ``columns @ gw^T`` per sample, ``(n, G, C/G prod(K), O/G)``, summed over
  the samples, chunk by chunk as ``conv``.  One product over the whole batch, ``(O, N M) @
  (N M, C prod(K))``, was 1.1x as fast at LeNet's second layer and 2.8x as slow at its first
  (OpenBLAS with six output rows and a long inner dim), so per sample it is.
- ``conv_transpose``: the columns ``w^T @ gw`` are written, by the products themselves (a
  strided ``out``), in the layout ``(G, K, C/G, N, prod(P))``: for each kernel offset ``k``
  and channel the wide rows of all samples follow each other a plane apart.  The col2im is
  then one add per ``k`` of runs ``N prod(P)`` long, ``xp_flat[c, off_k : off_k + N prod(P)]
  += columns[k, c]`` with ``off_k = sum_i k_i d_i Q_i`` (a row's nonzero entries stay in
  its sample's plane; its zeros may spill into the next), and the result is cropped and
  transposed to ``(N, C, *S)``.  Adding runs of ``M`` per (sample, channel) instead cost 2.5-3
  times as much (one NumPy inner loop per run), and made in chunks of samples as ``conv``
  the transpose was slower, not faster.  (The other route, the correlation of the padded
  ``g`` with the flipped kernel, copies columns of ``O prod(K)`` rows where this one computes
  ``C prod(K)``: 2.7 times the data at LeNet's second layer.)

Other strides take the direct route: the windows are a strided view (``sliding_window_view``)
copied into columns ``(N, G, C/G prod(K), prod(L))``; ``conv`` is the batched product
``(G, O/G, C/G prod(K)) @ columns``, already in ``(N, O, *L)`` order; ``conv_transpose`` the
product ``w^T @ g`` scattered back by one strided add per kernel offset (col2im);
``conv_weight`` the product ``g @ columns^T`` summed over the batch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from chainrule.rules.batched import as_batched, expanded, merged, split
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
    _check_exact(x.shape[2:], kernel, stride, padding, dilation)
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


def _check_exact(size, kernel, stride, padding, dilation):
    if _inexact(size, kernel, stride, padding, dilation):
        raise ValueError(f"the padding {padding} is not exact for an input of size "
                         f"{size}, kernel {kernel}, stride {stride} and dilation "
                         f"{dilation}: S + lo + hi must be (L - 1) stride + dilation (K - 1) + 1")


class _Wide:
    """The wide grid of a stride-1 convolution of an input of spatial ``size`` (the module
    docstring): padded sizes ``P``, result sizes ``L``, flat strides ``Q``, the number ``M``
    of wide positions, the ``tail`` of zeros after each plane and each kernel offset's flat
    ``offsets``."""

    __slots__ = ("padded", "out", "flat", "m", "tail", "offsets")

    def __init__(self, size, kernel, padding, dilation):
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))
        self.out = tuple(p - span + 1 for p, span in zip(self.padded, _spans(kernel, dilation)))
        self.flat = tuple(math.prod(self.padded[i + 1:]) for i in range(len(size)))
        self.m = self.out[0] * self.flat[0]
        # the last window of a plane reads up to sum_i (span_i - 1) Q_i + M - 1, which is
        # prod(P) - 1 plus this much
        self.tail = sum(d * (k - 1) * q for k, d, q in
                        zip(kernel[1:], dilation[1:], self.flat[1:]))
        self.offsets = [sum(i * d * q for i, d, q in zip(k, dilation, self.flat))
                        for k in itertools.product(*(range(m) for m in kernel))]

    def spread(self, g):
        """``g`` ``(N, O, *L)`` on the wide grid: ``(N, O, M)``, zeros at the discarded
        positions."""
        n, o = g.shape[:2]
        gw = np.zeros((n, o, self.out[0]) + self.padded[1:], g.dtype)
        gw[(slice(None),) * 3 + tuple(slice(0, m) for m in self.out[1:])] = g
        return gw.reshape(n, o, self.m)

    def crop(self, y):
        """The wide result ``(N, O, M)`` cropped to ``(N, O, *L)`` (a view)."""
        y = y.reshape(y.shape[:2] + (self.out[0],) + self.padded[1:])
        return y[(slice(None),) * 3 + tuple(slice(0, m) for m in self.out[1:])]


# The columns are made and used a few samples at a time, about this many bytes of them, so that
# they are still in the CPU's cache when the product reads them, and the buffers are small
# (measured in the LeNet step: README's log, entry 27)
_CHUNK_BYTES = 1 << 20


def _wide_planes(x, kernel, padding, dilation):
    """``x`` padded into flattened planes ``(N, C, prod(P) + tail)``, and the wide grid."""
    grid = _Wide(x.shape[2:], kernel, padding, dilation)
    n, c = x.shape[:2]
    plane = math.prod(grid.padded)
    flat = np.zeros((n, c, plane + grid.tail), x.dtype)
    # x's kept part (a negative amount crops) written at its place in the padded planes
    kept = tuple(slice(max(-lo, 0), size - max(-hi, 0))
                 for size, (lo, hi) in zip(x.shape[2:], padding))
    at = tuple(slice(max(lo, 0), max(lo, 0) + k.stop - k.start)
               for (lo, _), k in zip(padding, kept))
    flat[:, :, :plane].reshape((n, c) + grid.padded)[(slice(None),) * 2 + at] = \
        x[(slice(None),) * 2 + kept]
    return flat, grid


def _wide_columns(flat, grid, kernel, dilation, groups):
    """The im2col matrices of the planes ``flat`` on the wide grid, a chunk of samples at a
    time: yields ``(first sample, columns (chunk, G, C/G prod(K), M))``."""
    n, c = flat.shape[:2]
    rows = c * math.prod(kernel)
    chunk = max(1, _CHUNK_BYTES // (rows * grid.m * flat.itemsize))
    step = flat.itemsize
    for first in range(0, n, chunk):
        part = flat[first:first + chunk]
        # (n, C, *K, M): entry (n, c, k, q) is flat[n, c, q + sum_i k_i d_i Q_i]
        view = as_strided(part, part.shape[:2] + tuple(kernel) + (grid.m,),
                          part.strides[:2] + tuple(d * q * step for d, q
                                                   in zip(dilation, grid.flat)) + (step,),
                          writeable=False)
        cols = np.ascontiguousarray(view)
        yield first, cols.reshape(len(part), groups, rows // groups, grid.m)


def _unit(stride) -> bool:
    return all(s == 1 for s in stride)


def _conv(x, w, stride, padding, dilation, groups):
    kernel = w.shape[2:]
    o = w.shape[0]
    if _unit(stride):
        _check_exact(x.shape[2:], kernel, stride, padding, dilation)
        flat, grid = _wide_planes(x, kernel, padding, dilation)
        y = np.empty((x.shape[0], o) + grid.out, np.result_type(x, w))
        wg = w.reshape(groups, o // groups, -1)
        for first, cols in _wide_columns(flat, grid, kernel, dilation, groups):
            # (G, O/G, C/G prod(K)) @ (n, G, C/G prod(K), M) -> (n, G, O/G, M), cropped
            part = np.matmul(wg, cols).reshape(len(cols), o, grid.m)
            y[first:first + len(cols)] = grid.crop(part)
        return y
    cols, out = _columns(x, kernel, stride, padding, dilation, groups)
    # (G, O/G, C/G prod(K)) @ (N, G, C/G prod(K), prod(L)) -> (N, G, O/G, prod(L))
    y = np.matmul(w.reshape(groups, o // groups, -1), cols)
    return y.reshape((x.shape[0], o) + out)


def _wide_transpose(x, w, padding, dilation, groups):
    """``conv_transpose`` with stride 1, on the wide grid (module docstring)."""
    n, o = x.shape[:2]
    kernel, g, co = w.shape[2:], groups, w.shape[1]  # co = C/G
    size = tuple(m + span - 1 - lo - hi for m, span, (lo, hi)
                 in zip(x.shape[2:], _spans(kernel, dilation), padding))
    grid = _Wide(size, kernel, padding, dilation)
    taps, plane, m = len(grid.offsets), math.prod(grid.padded), grid.m
    gw = grid.spread(x).reshape(n, g, o // g, m)
    # The columns cols[k, c, n, q] = sum_o w[o, c, k] gw[n, o, q] (c in o's group) are laid
    # out (G, K, C/G, N, plane): for each k and channel, the rows of all samples follow each
    # other, plane apart, so that the col2im below adds one long run per (k, channel).  The
    # products write into that layout directly (a strided `out`, rows (k, c) per group);
    # entries q >= M of each row are zeros.
    cols = np.empty((g, taps, co, n, plane), np.result_type(x, w))
    cols[..., m:] = 0
    step = cols.itemsize
    rows = as_strided(cols, (n, g, taps * co, m),
                      (plane * step, taps * co * n * plane * step, n * plane * step, step))
    wt = w.reshape((g, o // g, co, taps)).transpose(0, 3, 2, 1).reshape(g, taps * co, o // g)
    np.matmul(wt, gw, out=rows)
    # col2im: entry (n, q) of a row lands on xp_flat[n plane + q + off_k] of its channel; the
    # nonzero entries (q a kept position) stay inside sample n's plane, the zeros may spill
    # into the next one
    flat = np.zeros((g, co, n * plane + grid.offsets[-1]), cols.dtype)
    for i, off in enumerate(grid.offsets):
        flat[:, :, off:off + n * plane] += cols[:, i].reshape(g, co, n * plane)
    xp = flat[:, :, :n * plane].reshape((g * co, n) + grid.padded)  # (C, N, *P)
    return np.ascontiguousarray(padded(xp, tuple((-lo, -hi) for lo, hi in padding))
                                .swapaxes(0, 1))


def _conv_transpose(x, w, stride, padding, dilation, groups):
    # x (N, O, *L), w (O, C/G, *K): the adjoint of conv in its input, of shape (N, C, *S)
    n, o = x.shape[:2]
    out, kernel = x.shape[2:], w.shape[2:]
    c = w.shape[1] * groups
    if _unit(stride):
        return _wide_transpose(x, w, padding, dilation, groups)
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    # columns (N, G, C/G prod(K), prod(L)) = w^T @ x, group by group
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
    if _unit(stride):
        _check_exact(x.shape[2:], kernel, stride, padding, dilation)
        flat, grid = _wide_planes(x, kernel, padding, dilation)
        dw = 0
        for first, cols in _wide_columns(flat, grid, kernel, dilation, groups):
            gw = grid.spread(g[first:first + len(cols)])
            gw = gw.reshape(len(cols), groups, o // groups, grid.m)
            # (n, G, C/G prod(K), M) @ (n, G, M, O/G), summed over the samples:
            # (G, C/G prod(K), O/G)
            dw = dw + np.add.reduce(np.matmul(cols, gw.transpose(0, 1, 3, 2)), axis=0)
        return dw.transpose(0, 2, 1).reshape((o, c // groups) + kernel)
    cols, _ = _columns(x, kernel, stride, padding, dilation, groups)
    # (N, G, O/G, prod(L)) @ (N, G, prod(L), C/G prod(K)), summed over the batch
    per_sample = np.matmul(g.reshape(n, groups, o // groups, -1), cols.transpose(0, 1, 3, 2))
    return np.add.reduce(per_sample, axis=0).reshape((o, c // groups) + kernel)


# --------------------------------------------------------------------------------------------
# vmap's rules.  A stack of B inputs (B, N, C, *S) against one weight is one convolution of
# B N samples.  A stack of B weights (B, O, C/G, *K) is one convolution with B G groups: the
# examples side by side along the channels, x as (N, B C, *S) and w as (B O, C/G, *K), so
# that example b's channels b C .. b C + C - 1 form its G groups and meet only its weights
# (functorch's trick); the result (N, B O, *L) is example b's at channels b O .. b O + O - 1.


def _side_by_side(value):
    """A stack (B, N, C, ...) as one value (N, B C, ...): the examples along the channels."""
    return merged(value, axis=1)


def batch_conv(prim, values, batched, size, *, groups, **geometry):
    """vmap's rule of ``conv`` and ``conv_transpose`` (both map a stack of samples (N, channels,
    ...) sample by sample, with a weight whose first axis is the groups' channels of x): the
    batch merged into N when the weight is shared, else the examples side by side in B G
    groups."""
    x, w = values
    if not batched[1]:
        return split(prim(merged(x), w, groups=groups, **geometry), size)
    x = x if batched[0] else expanded(x, size)
    out = prim(_side_by_side(x), merged(w), groups=groups * size, **geometry)
    return split(out, size, axis=1)  # (N, B O, *L) -> (B, N, O, *L)


def batch_conv_weight(prim, values, batched, size, *, groups, **geometry):
    """vmap's rule of ``conv_weight(x, g)`` (a sum over the samples N, so the batch cannot join
    them): both operands side by side along their channels, in B G groups, and the weight
    gradients (B O, C/G, *K) split into the stack (B, O, C/G, *K)."""
    x, g = as_batched(values, batched, size)
    return split(prim(_side_by_side(x), _side_by_side(g), groups=groups * size, **geometry),
                 size)


conv = primitive(
    "nn.functional.conv", _conv,
    (lambda g, ans, x, w, **p: conv_transpose(g, w, **p),
     lambda g, ans, x, w, **p: conv_weight(x, g, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="ConvolutionBackward0",
    batch=batch_conv)
conv_transpose = primitive(
    "nn.functional.conv_transpose", _conv_transpose,
    (lambda g, ans, x, w, **p: conv(g, w, **p),
     lambda g, ans, x, w, **p: conv_weight(g, x, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear", grad_fn="ConvolutionBackward0",
    batch=batch_conv)
conv_weight = primitive(
    "nn.grad.conv_weight", _conv_weight,
    (lambda g, ans, x, y, **p: conv_transpose(y, g, **p),
     lambda g, ans, x, y, **p: conv(x, g, **p)),
    save_inputs=True, reads=((1,), (0,)), jvp="bilinear",
    grad_fn="ConvolutionBackwardBackward0", batch=batch_conv_weight)
