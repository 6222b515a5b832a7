"""A whole LSTM layer (one direction, every step) as one primitive, ``lstm_scan``, its gates
stored gate-major.  (The step primitives it replaces, ``lstm_gates``, ``lstm_cell`` and
``lstm_hidden``, and ``gru_scan`` are in ``chainrule/rules/recurrent.py``.)

    y = lstm_scan(xp, w, b, h0, c0, reverse=False)

* ``xp`` (4, L, N, H): the input projections, gate by gate: ``xp[k, t] = x_t W_ih[k]^T``, with
  ``W_ih[k]`` the rows ``kH .. (k+1)H - 1`` of ``W_ih`` (PyTorch's gate order ``i, f, g, o``);
* ``w`` (4, H, H): ``W_hh`` cut into its four row blocks, ``w[k] = W_hh[k]`` (a reshape of
  ``W_hh``, no copy);
* ``b`` (4, H): the bias ``b_ih + b_hh`` cut the same way, or None;
* ``h0``, ``c0`` (N, H), or None (zeros: the products with them are left out).

The steps run t = 0 .. L-1 (L-1 .. 0 with ``reverse``); per gate k,

    gates_t[k] = xp[k, t] + b[k] + h_prev w[k]^T
    i, f, g, o = σ(gates[0]), σ(gates[1]), tanh(gates[2]), σ(gates[3])
    c_t = f c_prev + i g,   h_t = o tanh(c_t)

and ``y`` (L + 1, N, H) holds ``y[t] = h_t`` and ``y[L]`` the cell state of the last step taken.

Why gate-major: NumPy runs an elementwise operation on one gate's columns of an ``(N, 4H)``
block as a loop per row (2.9 µs for N = 32, H = 128) but on a contiguous ``(N, H)`` block as
one loop (0.8 µs); the forward makes about three such passes a step and the backward six
(``benchmarks/README.md``, entry 25).  With the gates of a step as ``(4, N, H)``, every gate is
a contiguous block, and operations on all four gates run over four contiguous blocks.  Nothing
is transposed in or out: the layer computes ``xp`` in this layout with one batched product
(``x @ W_ih[k]^T`` for the four k), the recurrent product is a batched product ``h @ w[k]^T``
(four GEMMs of (N, H) x (H, H): 38 µs against 48 µs for one (N, H) x (H, 4H) on this
machine), and the gradients come out in the inputs' layouts: ``d xp`` is the (4, L, N, H)
block of gate gradients, ``d w[k] = sum_t d gates_t[k]^T h_prev`` one batched product over all
steps (rows of ``W_hh``), ``dh_prev = sum_k d gates[k] w[k]``.

The forward runs in NumPy with ``out=`` into arrays made once; the activations, the cell states
and ``tanh(c_t)`` are computed once (``lstm_scan_states``) and kept in the call's ``states``
(an :class:`LstmStates`, a ``Scratch`` the caller passes empty and the forward fills), so that
the backward pass (``_scan_grads``, NumPy) reads them.  In a trace of ``compile`` that only
writes a backward pass down, that pass is one operation (``recurrent.written_down``).  With
``create_graph=True`` (the rules get Tensors) the derivatives are written with the step
primitives and recorded (``_scan_grads_recorded``); forward mode is a recurrence of tangents
written the same way (``_scan_jvp``).  Both work in
the step primitives' layout (gates side by side, ``(N, 4H)``): the inputs and tangents are
brought to it, and the gradients back, with recorded transposes and reshapes
(``_rows_layout``); they are the slow paths.  The five inputs' gradients come from one pass
through time (``_shared``): the rule computes them when the first is asked.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.rules.elementwise import tanh, tanh_backward
from chainrule.rules.linalg import matmul
from chainrule.rules.recurrent import (
    _block,
    _gates_slope,
    _joined,
    _lstm_cell_jvp,
    _lstm_hidden_jvp,
    _order,
    _plus,
    _shared,
    _stacked,
    batch_scan,
    check_scan_shapes,
    lstm_cell,
    lstm_gates,
    lstm_hidden,
    plain_scan_grads,
    scan_dtype,
    scan_grads,
)
from chainrule.rules.reductions import reduce_sum
from chainrule.rules.shape import getitem, reshape, transpose
from chainrule.rules.table import Scratch, primitive


class LstmStates(Scratch):
    """What a forward pass of ``lstm_scan`` leaves for its backward pass: ``y`` (its result),
    the activations ``acts`` (4, L, N, H), the cell states ``cs`` and ``tanh_cs`` (L, N, H)
    (None: not computed yet)."""

    __slots__ = ("y", "acts", "cs", "tanh_cs")

    def __init__(self, y=None, acts=None, cs=None, tanh_cs=None) -> None:
        self.y, self.acts, self.cs, self.tanh_cs = y, acts, cs, tanh_cs


@functools.lru_cache(maxsize=16)
def _gate_constants(dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(s, b, k)``, each (4, 1, 1), one number per gate (i, f, g, o), read-only: ``s`` 1/2
    on the sigmoid gates and 1 on g, ``b`` 1/2 and 0, ``k`` 0 and 1.  Broadcast against a
    (4, N, H) block they stride 0 along each gate's contiguous block: one loop per gate."""
    s = np.array([0.5, 0.5, 1, 0.5], dtype).reshape(4, 1, 1)
    b = np.array([0.5, 0.5, 0, 0.5], dtype).reshape(4, 1, 1)
    k = np.array([0, 0, 1, 0], dtype).reshape(4, 1, 1)
    for a in (s, b, k):
        a.flags.writeable = False
    return s, b, k


def _scan_shapes(xp, w, b, h0, c0):
    """``(L, N, H)``, after checking the shapes of ``lstm_scan``'s arguments."""
    xp_shape = np.shape(xp)
    if len(xp_shape) != 4 or xp_shape[0] != 4:
        raise ValueError(f"xp must be (4, L, N, H), got shape {xp_shape}")
    length, batch, size = xp_shape[1:]
    check_scan_shapes(xp_shape, {"w": w, "b": b, "h0": h0, "c0": c0},
                      ((4, size, size), (4, size), (batch, size), (batch, size)))
    return length, batch, size


def lstm_scan_states(xp, w, b=None, h0=None, c0=None, reverse: bool = False) -> LstmStates:
    """The forward pass of ``lstm_scan`` on raw arrays, with what its backward pass reads."""
    length, batch, size = _scan_shapes(xp, w, b, h0, c0)
    dtype = scan_dtype(xp, w, b, h0, c0)
    acts = np.empty((4, length, batch, size), dtype)
    y = np.empty((length + 1, batch, size), dtype)
    cs = np.empty((length, batch, size), dtype)
    tanh_cs = np.empty((length, batch, size), dtype)
    scale, shift, _ = _gate_constants(dtype)
    # the bias repeated over the batch, once: NumPy's loops over two arrays of one shape run
    # several times faster than over a row broadcast against a block
    if b is not None:
        b = np.broadcast_to(np.reshape(b, (4, 1, size)), (4, batch, size)).copy()
    scratch = np.empty((batch, size), dtype)
    # w[k]^T C-contiguous, made once (OpenBLAS takes up to twice as long with a transposed
    # view on these shapes)
    w_t = np.ascontiguousarray(np.swapaxes(w, 1, 2))
    h, c = h0, c0
    for t in _order(length, reverse):
        a = acts[:, t]  # (4, N, H), each gate's block contiguous
        if h is None:
            np.copyto(a, xp[:, t])
        else:
            np.matmul(h, w_t, out=a)  # h w[k]^T for the four gates
            a += xp[:, t]
        if b is not None:
            a += b
        # the activations: sigmoid(x) = (1 + tanh(x / 2)) / 2, so tanh(s x) s + b per gate
        a *= scale
        np.tanh(a, out=a)
        a *= scale
        a += shift
        i, f, g, o = a
        c_new = np.multiply(i, g, out=cs[t])
        if c is not None:
            c_new += np.multiply(f, c, out=scratch)  # c = f c_prev + i g
        np.tanh(c_new, out=tanh_cs[t])
        h = np.multiply(o, tanh_cs[t], out=y[t])  # h = o tanh(c)
        c = c_new
    y[length] = c
    return LstmStates(y, acts, cs, tanh_cs)


def _lstm_scan(xp, w, b=None, h0=None, c0=None, reverse=False, states=None,
               needs=None):
    made = lstm_scan_states(xp, w, b, h0, c0, reverse)
    if states is not None:  # (this call's own, for its backward pass)
        states.take(made)
    return made.y


def _scan_grads(g, xp, w, b, h0, c0, reverse, states):
    """The gradients of (xp, w, b, h0, c0) from ``g`` (L + 1, N, H), in NumPy: backward
    through time from the saved activations.  Per step, with dh the gradient of h_t (from y
    and from the next step) and dc that of c_t:

        dc += dh o (1 - tanh(c)^2)
        d gates = (dc g, dc c_prev, dc i, dh tanh(c)) a'(gates)      (gates i, f, g, o)
        dc_prev = dc f,  dh_prev = sum_k d gates[k] w[k]

    with a'(gates) = (1 - a)(a + k) (``_gates_slope``: k = 1 on g, 0 on the sigmoid gates).
    Every operand is a contiguous (N, H) block, or four of them.
    """
    length, batch, size = _scan_shapes(xp, w, b, h0, c0)
    acts, cs, tanh_cs = states.acts, states.cs, states.tanh_cs
    dtype = acts.dtype
    d_gates = np.empty(acts.shape, dtype)
    one = np.empty((batch, size), dtype)  # scratch
    slope = np.empty((4, batch, size), dtype)
    shifted = np.empty((4, batch, size), dtype)
    parts = np.empty((4, batch, size), dtype)  # d gates[k] w[k], for the four k
    _, _, k = _gate_constants(dtype)
    dc = np.array(g[length], dtype=dtype)  # the gradient of c_n
    dh = None
    w = np.ascontiguousarray(w)
    order = list(_order(length, reverse))
    for n in range(length - 1, -1, -1):
        t = order[n]
        prev = order[n - 1] if n else None  # the step before t (None: the initial state)
        a, tc, d = acts[:, t], tanh_cs[t], d_gates[:, t]
        i, f, gate_g, o = a
        if dh is None:
            dh = np.array(g[t], dtype=dtype)
        else:
            dh += g[t]
        # dc += dh o (1 - tanh(c)^2)
        np.multiply(tc, tc, out=one)
        np.subtract(1, one, out=one)
        one *= o
        one *= dh
        dc += one
        # the gradient of the activations, gate by gate
        np.multiply(dc, gate_g, out=d[0])
        c_prev = cs[prev] if prev is not None else c0
        if c_prev is None:
            d[1] = 0
        else:
            np.multiply(dc, c_prev, out=d[1])
        np.multiply(dc, i, out=d[2])
        np.multiply(dh, tc, out=d[3])
        # times the slope of the activations
        np.subtract(1, a, out=slope)
        np.add(a, k, out=shifted)
        slope *= shifted
        d *= slope
        dc *= f
        h_prev = states.y[prev] if prev is not None else h0
        if h_prev is None:
            dh = None
            continue
        # dh_prev = sum_k d gates[k] w[k]: four products, then their sum
        np.matmul(d, w, out=parts)
        dh = np.add(parts[0], parts[1])
        dh += parts[2]
        dh += parts[3]
    # d w[k] = sum_t d gates_t[k]^T h_prev: the steps with a previous step as one batched
    # product over all of them (each gate's rows of every step are one contiguous block)
    hs = states.y[:length]
    if length == 1:
        dw = None
    elif reverse:
        dw = np.matmul(np.swapaxes(d_gates[:, :-1].reshape(4, -1, size), 1, 2),
                       hs[1:].reshape(-1, size))
    else:
        dw = np.matmul(np.swapaxes(d_gates[:, 1:].reshape(4, -1, size), 1, 2),
                       hs[:-1].reshape(-1, size))
    if h0 is not None:
        first = np.matmul(np.swapaxes(d_gates[:, order[0]], 1, 2), h0)
        dw = first if dw is None else np.add(dw, first, out=dw)
    db = None if b is None else np.add.reduce(d_gates.reshape(4, -1, size), axis=1)
    return d_gates, dw, db, dh, (None if c0 is None else dc)


# --------------------------------------------------------------------------------------------
# The recorded paths, in the step primitives' layout: xp as (L, N, 4H) rows, w as W_hh^T
# (H, 4H), b as (4H,)


def _rows_layout(xp, w, b, dims):
    """``(xp, w, b)`` (any of them None) brought to the step primitives' layout, ``dims``
    being ``(L, N, H)`` (recorded on Tensors; linear, so it also brings tangents)."""
    length, batch, size = dims
    if xp is not None:
        xp = transpose(xp, axes=(1, 2, 0, 3))  # (L, N, 4, H)
        xp = reshape(xp, shape=(length, batch, 4 * size), x_shape=(length, batch, 4, size))
    if w is not None:
        w = transpose(reshape(w, shape=(4 * size, size), x_shape=(4, size, size)), axes=(1, 0))
    if b is not None:
        b = reshape(b, shape=(4 * size,), x_shape=(4, size))
    return xp, w, b


def _scan_steps(xp, w, b, h0, c0, reverse):
    """The forward pass written with the step primitives (recorded on Tensors), on inputs in
    their layout (``_rows_layout``): per step taken, ``(t, a, c_prev, c, h_prev)``."""
    steps = []
    h, c = h0, c0
    for t in _order(np.shape(xp)[0], reverse):
        gates = getitem(xp, index=t, x_shape=np.shape(xp))
        if b is not None:
            gates = gates + b
        if h is not None:
            gates = gates + matmul(h, w)
        a = lstm_gates(gates)
        c_new = lstm_cell(a, 0.0 if c is None else c)
        steps.append((t, a, c, c_new, h))
        h, c = lstm_hidden(a, c_new), c_new
    return steps


def _scan_grads_recorded(g, xp, w, b, h0, c0, reverse):
    """``_scan_grads`` written with the primitives (on Tensors it is recorded: higher
    derivatives), from the forward pass recomputed with the step primitives."""
    length, batch, size = np.shape(xp)[1:]
    xp_rows, w_rows, b_rows = _rows_layout(xp, w, b, (length, batch, size))
    steps = _scan_steps(xp_rows, w_rows, b_rows, h0, c0, reverse)
    d_gates = [None] * length
    dw = dh = None
    dc = getitem(g, index=length, x_shape=np.shape(g))
    for t, a, c_prev, c, h_prev in reversed(steps):
        g_t = getitem(g, index=t, x_shape=np.shape(g))
        dh = g_t if dh is None else dh + g_t
        # through h = lstm_hidden(a, c) and c = lstm_cell(a, c_prev), with their rules
        tc = tanh(c)
        dc = dc + tanh_backward(dh * _block(a, 3), tc)
        d_a = _joined((dc * _block(a, 2), None if c_prev is None else dc * c_prev,
                       dc * _block(a, 0), dh * tc), dh)
        d = d_a * _gates_slope(a, None)
        d_gates[t] = d
        dc = dc * _block(a, 1)
        if h_prev is None:
            dh = None
            continue
        dh = matmul(d, transpose(w_rows, axes=(1, 0)))
        term = matmul(transpose(h_prev, axes=(1, 0)), d)
        dw = term if dw is None else dw + term
    d_rows = _stacked(d_gates, (batch, 4 * size))  # (L, N, 4H)
    # back to the inputs' layouts: d xp (4, L, N, H), d w = (d W_hh^T)^T cut in four, and
    # d b the sum of the gate gradients over steps and samples
    d_xp = transpose(reshape(d_rows, shape=(length, batch, 4, size),
                             x_shape=(length, batch, 4 * size)), axes=(2, 0, 1, 3))
    if dw is not None:
        dw = reshape(transpose(dw, axes=(1, 0)), shape=(4, size, size), x_shape=(4 * size, size))
    db = None
    if b is not None:
        db = reduce_sum(d_rows, axis=(0, 1), keepdims=False, x_shape=(length, batch, 4 * size))
        db = reshape(db, shape=(4, size), x_shape=(4 * size,))
    return d_xp, dw, db, dh, (None if c0 is None else dc)


def _scan_grads_plain(g, *inputs, reverse, states) -> np.ndarray:
    return plain_scan_grads(_scan_grads, lstm_scan_states, g, *inputs, reverse=reverse,
                            states=states)


def _scan_vjp(i, g, ans, xp, w, b=None, h0=None, c0=None, reverse=False, states=None,
              needs=None):
    def compute():
        return scan_grads(_scan_grads_plain, _scan_grads_recorded, (g, xp, w, b, h0, c0),
                          reverse, states)
    return _shared(i, g, ans, compute, needs)


def _scan_jvp(ts, ans, xp, w, b=None, h0=None, c0=None, reverse=False, states=None,
              needs=None):
    # per step: d gates = dxp_t + db + dh_prev w + h_prev dw, d a = d gates a'(gates), then
    # the step primitives' forward rules for dc and dh (inputs and tangents in their layout)
    dxp, dw, db, dh, dc = ts
    length, batch, size = _scan_shapes(xp, w, b, h0, c0)
    xp, w, b = _rows_layout(xp, w, b, (length, batch, size))
    dxp, dw, db = _rows_layout(dxp, dw, db, (length, batch, size))
    outs = [None] * length
    for t, a, c_prev, c, h_prev in _scan_steps(xp, w, b, h0, c0, reverse):
        d_gates = _plus(None if dxp is None else getitem(dxp, index=t, x_shape=np.shape(dxp)),
                        db, None if dh is None else matmul(dh, w),
                        None if dw is None or h_prev is None else matmul(h_prev, dw))
        d_a = None if d_gates is None else d_gates * _gates_slope(a, None)
        dc = _lstm_cell_jvp((d_a, dc), c, a, 0.0 if c_prev is None else c_prev)
        dh = outs[t] = None if d_a is None and dc is None else _lstm_hidden_jvp((d_a, dc), None,
                                                                               a, c)
    return _stacked([*outs, dc], (batch, size))


def _batch_lstm_scan(prim, values, batched, size, **params):
    # xp (4, L, N, H), w, b, h0 and c0 (N, H); the result (L + 1, N, H)
    return batch_scan(prim, values, batched, size, sample_axes=(2, None, None, 0, 0),
                      result_axis=1, **params)


lstm_scan = primitive("lstm_scan", _lstm_scan, _scan_vjp, save_inputs=True, save_ans=True,
                      jvp=_scan_jvp, grad_fn="LstmScanBackward0", batch=_batch_lstm_scan)
