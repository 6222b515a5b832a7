"""Pooling over the trailing dims of an array: max pooling and average pooling, N-d, for
``nn.functional``'s ``max_pool1d/2d``, ``avg_pool1d/2d`` and the adaptive poolings.

The geometry is given as tuples with one int per pooled dim (the last ``len(kernel)`` dims of
the input; the dims before them, batch and channels, are carried along): ``kernel``,
``stride``, ``padding`` (on both sides), ``dilation`` (max pooling) and ``ceil_mode``.  Output
sizes follow PyTorch's rule (:func:`output_size`).  The public functions check the arguments
first; the primitives assume them valid.

How the windows are read
------------------------
Tap ``j`` of a window (``j`` a position in the kernel, the taps in row-major order) reads,
for output ``o`` along each dim, input ``o s - p + j d``.  The outputs whose tap ``j`` falls
inside the input form a range, and the inputs it reads a strided slice: so a pooling is one
ufunc call per tap on strided views (``np.maximum``/``np.add`` into the result), with no
padded copy of the input (padding is simply never read) and no window view.  On LeNet's
2x2 pooling of (128, 6, 28, 28) float32 this takes 0.33 ms, against 11 ms for a reduction over
``sliding_window_view`` or over a reshape into tiles (NumPy reduces small non-contiguous axes
slowly): tiles are the tap loop's best case, not a special case.

Derivatives
-----------
* Average pooling is linear: its VJP is its transpose (``avg_pool_backward``: ``g / divisor``
  added back over each window), whose VJP is average pooling again; both are ``"linear"`` in
  forward mode, so every order works.
* Max pooling's derivative picks, in each window, the tap holding the maximum: the first one
  in row-major order (the last NaN where the maximum is NaN), as PyTorch's.  The VJP finds
  those taps (:func:`window_argmax`, from the saved input and result) and routes ``g`` there
  (``max_pool_backward``, linear in ``g``; overlapping windows accumulate); its VJP gathers at
  the same taps (``max_pool_gather``), whose VJP routes again.  The taps are constants of
  both (a piecewise-constant choice), so ``create_graph=True`` and second order work.  The
  JVP is the tangent at the maximum: ``max_pool_gather`` of the tangent.  The taps are an
  argument of both, not a param: inside ``vmap(grad)`` each example has its own (found on the
  stacks), a batched tensor.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from chainrule.arguments import no_gradient
from chainrule.rules.shape import broadcast_to
from chainrule.rules.table import primitive
from chainrule.tensor_base import TensorBase


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                ceil_mode: bool) -> int:
    """PyTorch's output size of a pooling along one dim: the windows that fit in the padded
    input (rounded up with ``ceil_mode``, but the last window must start inside the input or
    its left padding)."""
    reach = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - reach + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


@functools.lru_cache(maxsize=512)
def _taps_along(size, out, kernel, stride, padding, dilation):
    """Along one dim, for each tap ``j``: (the slice of outputs whose tap ``j`` lies inside
    the input, the strided slice of inputs they read), or None where none does."""
    taps = []
    for j in range(kernel):
        shift = j * dilation - padding  # output o reads input o * stride + shift
        lo = max(0, -(shift // stride))  # ceil(-shift / stride)
        hi = min(out, (size - 1 - shift) // stride + 1)
        if hi <= lo:
            taps.append(None)
            continue
        start = lo * stride + shift
        taps.append((slice(lo, hi), slice(start, start + (hi - lo - 1) * stride + 1, stride)))
    return tuple(taps)


@functools.lru_cache(maxsize=256)
def plan(sizes, kernel, stride, padding, dilation, ceil_mode):
    """(output sizes, taps): for every tap that reads some input, its row-major number in the
    kernel and the index expressions of the outputs it serves and the inputs it reads."""
    outs = tuple(output_size(*a, ceil_mode) for a in zip(sizes, kernel, stride, padding,
                                                          dilation))
    per_dim = [_taps_along(*a) for a in zip(sizes, outs, kernel, stride, padding, dilation)]
    taps = []
    for number, parts in enumerate(itertools.product(*per_dim)):
        if all(part is not None for part in parts):
            taps.append((number, (Ellipsis, *(o for o, _ in parts)),
                         (Ellipsis, *(i for _, i in parts))))
    return outs, tuple(taps)


def _disjoint(kernel, stride, dilation) -> bool:
    """Whether no input is read by two windows (each tap then writes its slice once)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _result(x_shape, outs, dtype, fill=None):
    shape = tuple(x_shape[:len(x_shape) - len(outs)]) + outs
    return np.zeros(shape, dtype) if fill is None else np.full(shape, fill, dtype)


BLOCK = 1 << 16  # input elements per block: 256 KiB of float32, inside a core's L2 cache


def _blocks(n: int, *arrays):
    """The arrays (the same leading dims, then ``n`` pooled dims of their own) flattened to
    one leading dim and cut along it into blocks of about ``BLOCK`` elements of the first.
    Every tap reads its block again: a block is still in cache then, a large input is not
    (ResNet's stem pooling, 25 MB: forward 61 -> 10 ms)."""
    flat = [a.reshape((-1,) + a.shape[a.ndim - n:]) for a in arrays]
    step = max(1, BLOCK // max(1, math.prod(flat[0].shape[1:])))
    for start in range(0, flat[0].shape[0], step):
        yield tuple(f[start:start + step] for f in flat)


def _pick(values, hit, finite: bool):
    """``values`` where ``hit``, 0 elsewhere (a product when no inf or NaN could leak)."""
    return values * hit if finite else np.where(hit, values, values.dtype.type(0))


def _all_finite(a) -> bool:
    return a.dtype.kind != "f" or bool(np.isfinite(a).all())


# --------------------------------------------------------------------------------------------
# Average pooling


@functools.lru_cache(maxsize=256)
def _divisors(sizes, kernel, stride, padding, ceil_mode, count_include_pad):
    """What each window's sum is divided by (float64, of the output's trailing shape): the
    window's size clipped to the padded input (``count_include_pad``) or the number of
    inputs inside it, a product over dims, as PyTorch's."""
    outs = plan(sizes, kernel, stride, padding, (1,) * len(kernel), ceil_mode)[0]
    total = np.ones(())
    for size, out, k, s, p in zip(sizes, outs, kernel, stride, padding):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        along = (end - start if count_include_pad
                 else np.minimum(end, size) - np.maximum(start, 0))
        total = np.multiply.outer(total, along.astype(np.float64))
    return total


def _divisor(sizes, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if divisor_override is not None:
        return divisor_override
    return _divisors(tuple(sizes), kernel, stride, padding, ceil_mode, count_include_pad)


def _avg_pool(x, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    n = len(kernel)
    sizes = x.shape[x.ndim - n:]
    outs, taps = plan(sizes, kernel, stride, padding, (1,) * n, ceil_mode)
    total = _result(x.shape, outs, np.int64 if x.dtype.kind in "iub" else x.dtype)
    divisor = _divisor(sizes, kernel, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)
    if x.dtype.kind not in "iub":
        divisor = np.asarray(divisor, x.dtype)
    for xb, tb in _blocks(n, x, total):
        for _, out_at, in_at in taps:
            view = tb[out_at]
            np.add(view, xb[in_at], out=view)
        if x.dtype.kind not in "iub":
            tb /= divisor
    if x.dtype.kind in "iub":  # PyTorch's integer average truncates toward zero
        quotient = np.abs(total) // np.asarray(divisor).astype(np.int64)
        return (np.sign(total) * quotient).astype(x.dtype)
    return total


def _avg_pool_transposed(g, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                         divisor_override):
    n = len(kernel)
    sizes = tuple(x_shape[len(x_shape) - n:])
    dilation = (1,) * n
    taps = plan(sizes, kernel, stride, padding, dilation, ceil_mode)[1]
    share = g / np.asarray(_divisor(sizes, kernel, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override), g.dtype)
    gx = np.zeros(x_shape, share.dtype)
    disjoint = _disjoint(kernel, stride, dilation)
    for gxb, sb in _blocks(n, gx, share):
        for _, out_at, in_at in taps:
            if disjoint:
                gxb[in_at] = sb[out_at]
            else:
                view = gxb[in_at]
                np.add(view, sb[out_at], out=view)
    return gx


def batch_avg_pool(prim, values, batched, size, *, x_shape, **geometry):
    """vmap's rule of ``avg_pool`` and its transpose: a pooling carries every dim before the
    pooled ones along, so the batch is one more of them (``x_shape`` gains it)."""
    return prim(*values, x_shape=(size,) + tuple(x_shape), **geometry)


# out_o = sum over the window of x / divisor_o: linear, so the VJP is the transpose (g_o /
# divisor_o spread over window o), and the transpose's VJP is the pooling again
# (``x_shape``, the input's shape, is a parameter of both, so that no rule keeps an input alive)
avg_pool = primitive(
    "nn.functional.avg_pool", _avg_pool,
    (lambda g, ans, x, x_shape, **geometry: avg_pool_backward(g, x_shape=x_shape, **geometry),),
    jvp="linear", grad_fn="AvgPool2DBackward0", batch=batch_avg_pool)
avg_pool_backward = primitive(
    "avg_pool_backward", _avg_pool_transposed,
    (lambda g, ans, gy, x_shape, **geometry: avg_pool(g, x_shape=x_shape, **geometry),),
    jvp="linear", grad_fn="AvgPool2DBackwardBackward0", batch=batch_avg_pool)


# --------------------------------------------------------------------------------------------
# Max pooling


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


@functools.lru_cache(maxsize=256)
def _padded_plan(sizes, kernel, stride, padding, dilation, ceil_mode):
    """For a max pooling that reads padding: (the padded sizes the windows span, the part of
    the input they cover, the taps on the padded input: every tap then serves every output).
    NumPy runs a strided ufunc over part of an output 2-4 times slower than over all of it,
    so on a padded block the taps cost less than the copy that pads it (ResNet's stem)."""
    outs = plan(sizes, kernel, stride, padding, dilation, ceil_mode)[0]
    spans = tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(outs, kernel, stride,
                                                                     dilation))
    covered = tuple(min(size, span - p) for size, span, p in zip(sizes, spans, padding))
    n = len(kernel)
    return spans, covered, plan(spans, kernel, stride, (0,) * n, dilation, False)[1]


def _max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    n = len(kernel)
    sizes = x.shape[x.ndim - n:]
    outs, taps = plan(sizes, kernel, stride, padding, dilation, ceil_mode)
    lowest = _lowest(x.dtype)
    ans = _result(x.shape, outs, x.dtype, lowest)
    spans, covered, padded_taps = _padded_plan(sizes, kernel, stride, padding, dilation,
                                               ceil_mode)
    padded = spans != sizes or any(padding)
    buffer = None
    for xb, ab in _blocks(n, x, ans):
        if padded:  # a copy of the block inside -inf (or the dtype's lowest) padding
            if buffer is None:
                buffer = np.full((len(xb),) + spans, lowest, x.dtype)
            inside = (slice(0, len(xb)), *(slice(p, p + c) for p, c in zip(padding, covered)))
            buffer[inside] = xb[(Ellipsis, *(slice(0, c) for c in covered))]
            xb, taps = buffer[:len(xb)], padded_taps
        for _, out_at, in_at in taps:
            view = ab[out_at]
            np.maximum(view, xb[in_at], out=view)  # (NaN wins, as in PyTorch)
    return ans


def _tap_dtype(kernel):
    count = math.prod(kernel)
    return np.int8 if count <= 127 else np.int16 if count <= 32767 else np.int32


def window_argmax(x, ans, kernel, stride, padding, dilation, ceil_mode) -> np.ndarray:
    """For each output of a max pooling of ``x`` (result ``ans``), the row-major number of the
    tap holding its maximum: the first one, or the last NaN where the maximum is NaN (as
    PyTorch's kernels pick: ``val > maxval || isnan(val)``).  Padding is never picked.

    Of tensors (a rule recorded with ``create_graph``, or in a trace of ``compile``, or inside
    vmap) the taps are an int tensor without history: an operation of the trace, found again
    at each replay; inside vmap (``x`` batched: one value per example) found per example, on
    the stacks: the pooling carries leading dims, so the batch is one more."""
    if isinstance(x, TensorBase) or isinstance(ans, TensorBase):
        return no_gradient(window_argmax, x, ans, kernel=kernel, stride=stride,
                           padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    n = len(kernel)
    taps = plan(x.shape[x.ndim - n:], kernel, stride, padding, dilation, ceil_mode)[1]
    where = np.zeros(ans.shape, _tap_dtype(kernel))
    found = np.zeros(ans.shape, np.bool_)
    for xb, ab, wb, fb in _blocks(n, x, ans, where, found):
        for number, out_at, in_at in taps:
            hit = xb[in_at] == ab[out_at]
            np.greater(hit, fb[out_at], out=hit)  # (hit and not found before)
            view = fb[out_at]
            np.logical_or(view, hit, out=view)
            if number:
                view = wb[out_at]
                np.add(view, hit * view.dtype.type(number), out=view)
    if ans.dtype.kind == "f":
        nan = np.isnan(ans)
        if nan.any():
            for number, out_at, in_at in taps:  # (the last NaN is written last)
                hit = np.isnan(x[in_at]) & nan[out_at]
                where[out_at] = np.where(hit, number, where[out_at])
    return where


def _route(g, where, x_shape, kernel, stride, padding, dilation, ceil_mode):
    """``g`` sent to the taps ``where`` of each window (summed where windows overlap)."""
    n = len(kernel)
    taps = plan(tuple(x_shape[len(x_shape) - n:]), kernel, stride, padding, dilation,
                ceil_mode)[1]
    gx = np.zeros(x_shape, g.dtype)
    disjoint, finite = _disjoint(kernel, stride, dilation), _all_finite(g)
    for gxb, gb, wb in _blocks(n, gx, g, where):
        for number, out_at, in_at in taps:
            picked = wb[out_at] == number
            if disjoint and finite:
                np.multiply(gb[out_at], picked, out=gxb[in_at])
            else:
                view = gxb[in_at]
                np.add(view, _pick(gb[out_at], picked, finite), out=view)
    return gx


def _gather(x, where, x_shape, kernel, stride, padding, dilation, ceil_mode):
    """The entries of ``x`` at the taps ``where`` of each window."""
    n = len(kernel)
    taps = plan(tuple(x.shape[x.ndim - n:]), kernel, stride, padding, dilation, ceil_mode)[1]
    out = np.zeros(where.shape, x.dtype)
    finite = _all_finite(x)
    for xb, ob, wb in _blocks(n, x, out, where):
        for number, out_at, in_at in taps:
            view = ob[out_at]
            np.add(view, _pick(xb[in_at], wb[out_at] == number, finite), out=view)
    return out


def _max_pool_vjp(g, ans, x, **geometry):
    return max_pool_backward(g, window_argmax(x, ans, **geometry), x_shape=x.shape,
                             **geometry)


def _max_pool_jvp(ts, ans, x, **geometry):
    # d max(window) = dx at the window's (first) maximum
    return max_pool_gather(ts[0], window_argmax(x, ans, **geometry), x_shape=x.shape,
                           **geometry)


def batch_at_taps(prim, values, batched, size, *, x_shape, **geometry):
    """vmap's rule of routing to and gathering at the taps ``where``: the batch is one more dim
    carried along (see :func:`batch_avg_pool`) by the values and by the taps, which differ per
    example under ``vmap(grad)`` (each example's maxima); an unbatched one is the same in
    every example, so it is broadcast to the batch (a view)."""
    values = [v if b else broadcast_to(v, shape=(size,) + np.shape(v),
                                       x_shape=np.shape(v))
              for v, b in zip(values, batched)]
    return prim(*values, x_shape=(size,) + tuple(x_shape), **geometry)


# (the batch of a vmap is one more dim carried along: the "core" kind)
max_pool = primitive("nn.functional.max_pool", _max_pool, (_max_pool_vjp,), save_inputs=True,
                     save_ans=True, jvp=_max_pool_jvp, grad_fn="MaxPool2DWithIndicesBackward0",
                     batch="core")
# routing to and gathering at the taps ``where`` are each other's transposes, linear in their
# first argument.  The taps (an argument, not a param: under vmap they are per example) are a
# constant of both: no gradient, no tangent, so forward mode applies the primitive to the
# tangent at the same taps.
max_pool_backward = primitive(
    "max_pool_backward", _route,
    (lambda g, ans, gy, where, x_shape, **geometry:
        max_pool_gather(g, where, x_shape=x_shape, **geometry),
     lambda g, ans, gy, where, x_shape, **geometry: None),
    save_inputs=True, reads=((1,), (1,)),
    jvp=lambda ts, ans, gy, where, x_shape, **geometry:
        None if ts[0] is None else max_pool_backward(ts[0], where, x_shape=x_shape, **geometry),
    grad_fn="MaxPool2DWithIndicesBackwardBackward0", batch=batch_at_taps)
max_pool_gather = primitive(
    "max_pool_gather", _gather,
    (lambda g, ans, x, where, x_shape, **geometry:
        max_pool_backward(g, where, x_shape=x_shape, **geometry),
     lambda g, ans, x, where, x_shape, **geometry: None),
    save_inputs=True, reads=((1,), (1,)),
    jvp=lambda ts, ans, x, where, x_shape, **geometry:
        None if ts[0] is None else max_pool_gather(ts[0], where, x_shape=x_shape, **geometry),
    grad_fn="MaxPoolGatherBackward0", batch=batch_at_taps)
