"""Fused steps of the recurrent layers (``chainrule/nn/modules/rnn.py``): an LSTM step as three
primitives, and a whole GRU layer (one direction, every step) as one, ``gru_scan`` (each below,
with its maths).  The whole LSTM layer, ``lstm_scan``, is in ``chainrule/rules/lstm_layer.py``
(its gates stored gate-major); it shares the helpers of the section "What the whole-layer
scans share" below.

An LSTM step takes the block ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh`` (``(..., 4H)``,
PyTorch's gate order ``i, f, g, o``) and the cell state ``c``; ``σ`` is the sigmoid:

* ``a = lstm_gates(gates)``: ``σ`` of the blocks ``i``, ``f``, ``o`` and ``tanh`` of ``g``;
* ``c' = lstm_cell(a, c) = f c + i g``;
* ``h' = lstm_hidden(a, c') = o tanh(c')``.

``LSTMCell`` and layers with projections (``proj_size > 0``) record these per step;
``lstm_scan`` runs every step of a layer without projections.  (``GRUCell`` and the Elman
``RNN`` stay composed of ``sigmoid``, ``tanh``, slices and products.)

Why primitives: composed from ``sigmoid``, ``tanh``, slices and products, an LSTM step records
14 operations, 10 of them on views of the gate block, whose gradients are sparse pieces added
back into it (``benchmarks/README.md``, entry 25).  With the step primitives a step records
five (with the product with ``h`` and its sum), the forward writes with NumPy's ``out=``, and
the gradient of the gate block comes back as one dense array.  They are three primitives and
not one because the engine records one result per primitive and a step has two (``h'``,
``c'``); the split costs nothing twice: ``lstm_cell`` reads ``i, f, g``, ``lstm_hidden`` only
``o``, and the activations are computed once, as ``lstm_gates``'s result, which both read.

The rules are written with the primitives of this package (slices, ``cat``, products,
``tanh``, ``tanh_backward``), so they run as NumPy in a plain backward pass and are recorded
under ``create_graph=True``: every order and forward mode work through the layers.  Real
floating-point values only (the layers take float32 and float64, as PyTorch's).  The sigmoid
is computed as ``(1 + tanh(x / 2)) / 2`` (one ``tanh`` over the whole block): within a few
ulps of ``1 / (1 + e^-x)``, in absolute terms.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from chainrule.arguments import dtype_of, no_gradient
from chainrule.rules.batched import expanded, merged, split
from chainrule.rules.elementwise import sigmoid, sigmoid_backward, tanh, tanh_backward
from chainrule.rules.linalg import matmul
from chainrule.rules.shape import cat, getitem, looped, reshape, transpose
from chainrule.rules.table import (
    Scratch,
    derivative,
    on_tensors,
    primitive,
    written_down_only,
)


def _block(x, k: int, count: int = 1, blocks: int = 4):
    """Blocks ``k .. k + count - 1`` of the last axis of ``x``, cut in ``blocks`` (a view of an
    ndarray; recorded for a Tensor)."""
    size = np.shape(x)[-1] // blocks
    index = (Ellipsis, slice(k * size, (k + count) * size))
    return getitem(x, index=index, x_shape=np.shape(x))


def _joined(blocks, like):
    """The blocks side by side along the last axis; ``None`` stands for zeros of ``like``'s
    shape (the adjoint of cutting into blocks)."""
    shape = np.shape(like)
    zeros = None
    parts = []
    for b in blocks:
        if b is None:
            if zeros is None:
                zeros = np.zeros(shape, dtype_of(like))
            b = zeros
        parts.append(b)
    axis = len(shape) - 1
    return cat(*parts, axis=axis, sizes=tuple(np.shape(p)[-1] for p in parts))


def _four_blocks(x) -> int:
    shape = np.shape(x)
    if not shape or shape[-1] % 4:
        raise ValueError(f"the gates' last dim must hold four blocks (i, f, g, o), got shape "
                         f"{shape}")
    return shape[-1] // 4


@functools.lru_cache(maxsize=64)
def _gate_scales(size: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(s, b)``: ``s`` 1/2 on the sigmoid blocks, 1 on the tanh block; ``b`` 1/2 and 0."""
    s = np.full(4 * size, 0.5, dtype)
    s[2 * size:3 * size] = 1
    b = np.full(4 * size, 0.5, dtype)
    b[2 * size:3 * size] = 0
    s.flags.writeable = b.flags.writeable = False
    return s, b


def _lstm_gates(x):
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: one tanh over the whole block, tanh(s x) s + b
    # (four passes; 1 / (1 + e^-x) takes seven, without overflow)
    size = _four_blocks(x)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    s, b = _gate_scales(size, x.dtype)
    out = np.multiply(x, s)
    np.tanh(out, out=out)
    out *= s
    out += b
    return out


@functools.lru_cache(maxsize=64)
def _tanh_block(size: int, dtype) -> np.ndarray:
    """``k``: 0 on the three sigmoid blocks, 1 on the tanh block (read-only, shared)."""
    k = np.zeros(4 * size, dtype)
    k[2 * size:3 * size] = 1
    k.flags.writeable = False
    return k


def _gates_slope(ans, x):
    # d sigmoid(x) = y (1 - y) dx and d tanh(x) = (1 - y)(1 + y) dx, y the activation:
    # both (1 - y)(y + k), k = 0 on the sigmoid blocks, 1 on the tanh block
    dtype = dtype_of(ans)
    return (1 - ans) * (ans + _tanh_block(np.shape(ans)[-1] // 4, dtype))


# (vmap: the activation of each entry depends on its position along the last axis only, which
# the batch, in front, leaves alone: "elementwise")
lstm_gates = primitive("lstm_gates", _lstm_gates, (derivative(_gates_slope),), save_ans=True,
                       jvp="diagonal", grad_fn="LstmGatesBackward0", batch="elementwise")


def _lstm_cell(a, c):
    size = _four_blocks(a)
    out = np.multiply(a[..., size:2 * size], c)
    ig = np.multiply(a[..., :size], a[..., 2 * size:3 * size])
    if out.shape == ig.shape and out.dtype == ig.dtype:
        out += ig
        return out
    return out + ig


def _lstm_cell_jvp(ts, ans, a, c):
    # d c' = di g + i dg + df c + f dc
    da, dc = ts
    terms = []
    if da is not None:
        terms += [_block(da, 0) * _block(a, 2), _block(a, 0) * _block(da, 2),
                  _block(da, 1) * c]
    if dc is not None:
        terms.append(_block(a, 1) * dc)
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


# c' = f c + i g:  d a = (g_c g, g_c c, g_c i, 0) on the blocks (i, f, g, o), d c = g_c f.
# vmap: elementwise between the blocks of a and c, which broadcast against each other in
# every dim but the last (a block and c have the same last dim): the batch is one more of
# them, aligned as the elementwise kind aligns it (so also for lstm_hidden)
lstm_cell = primitive(
    "lstm_cell", _lstm_cell,
    (lambda g, ans, a, c: _joined((g * _block(a, 2), g * c, g * _block(a, 0), None), g),
     lambda g, ans, a, c: g * _block(a, 1)),
    save_inputs=True, reads=((0, 1), (0,)), jvp=_lstm_cell_jvp, grad_fn="LstmCellBackward0",
    batch="elementwise")


def _lstm_hidden(a, c):
    size = _four_blocks(a)
    o = a[..., 3 * size:]
    out = np.tanh(c)
    if out.shape == np.broadcast_shapes(out.shape, o.shape) and \
            out.dtype == np.result_type(out, o):
        return np.multiply(out, o, out=out)
    return out * o


def _lstm_hidden_jvp(ts, ans, a, c):
    # d h' = do tanh(c') + o (1 - tanh(c')^2) dc'
    da, dc = ts
    t = tanh(c)
    total = None if da is None else _block(da, 3) * t
    if dc is not None:
        term = tanh_backward(dc, t) * _block(a, 3)
        total = term if total is None else total + term
    return total


# h' = o tanh(c'):  d a = (0, 0, 0, g_h tanh(c')), d c' = g_h o (1 - tanh(c')^2)
lstm_hidden = primitive(
    "lstm_hidden", _lstm_hidden,
    (lambda g, ans, a, c: _joined((None, None, None, g * tanh(c)), g),
     lambda g, ans, a, c: tanh_backward(g * _block(a, 3), tanh(c))),
    save_inputs=True, jvp=_lstm_hidden_jvp, grad_fn="LstmHiddenBackward0", batch="elementwise")


# --------------------------------------------------------------------------------------------
# What the whole-layer scans share (lstm_scan in chainrule/rules/lstm_layer.py, gru_scan below)


def _order(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


def _stacked(parts, shape):
    """The arrays of ``parts`` (``None``: zeros of ``shape``) stacked along a new first axis."""
    like = next(p for p in parts if p is not None)
    zeros = np.zeros(shape, dtype_of(like))
    rows = [reshape(zeros if p is None else p, shape=(1, *shape), x_shape=shape) for p in parts]
    return cat(*rows, axis=0, sizes=(1,) * len(rows))


# the gradients of the latest scan node asked, for its other inputs: dropped when the last
# input that needs one (``needs``, given by the layer) has taken its own
_last = threading.local()


def written_down(plain_grads, *values, **params) -> list:
    """``plain_grads(*values, **params)``, a scan's pass back through time on arrays (a list
    of gradients, None where an input has none), as ops of a trace that only writes it down
    (``table.written_down_only``): one op without gradient computes the whole list, held in
    an object array (a traced value is one array), and one op more hands out each gradient.
    The scan's ``states`` (a Scratch) among ``params`` is the forward's: a replay's own."""
    packed = no_gradient(plain_grads, *values, **params)
    # (which gradients are None follows from which arguments are: read from the trace's own
    # value, without raw(), which would break it)
    return [None if part is None else no_gradient(_gradient_of_input, packed, j)
            for j, part in enumerate(packed._data)]


def scan_grads(plain_grads, recorded_grads, values: tuple, reverse: bool, states) -> list:
    """A whole-layer scan's gradients (one per input of ``values``, its rule's ``g`` first):
    written down as one op where a trace only writes them down, recorded on tensors
    (``create_graph=True``), else the plain NumPy pass (from ``states`` when the forward
    filled them)."""
    if written_down_only(*values):
        return written_down(plain_grads, *values, reverse=reverse, states=states)
    if on_tensors(*values):
        return recorded_grads(*values, reverse)
    return plain_grads(*values, reverse=reverse, states=states)


def plain_scan_grads(grads, forward, g, *inputs, reverse: bool, states) -> np.ndarray:
    """A scan's plain pass back through time, ``grads(g, *inputs, reverse, saved)``, from the
    forward's ``states`` when it filled them, else from ``forward(*inputs, reverse)`` run
    again; the gradients in an object array (one value: see :func:`written_down`)."""
    saved = states if states is not None and states.y is not None else forward(*inputs, reverse)
    packed = np.empty(len(inputs), object)
    packed[:] = grads(g, *inputs, reverse, saved)
    return packed


def _gradient_of_input(packed: np.ndarray, j: int) -> np.ndarray:
    return packed[j]


def _shared(i, g, ans, compute, needs=None):
    """Gradient ``i`` of the node whose rule is called with ``g`` and ``ans``, from
    ``compute()``, the list of every input's gradient, which runs once per backward pass;
    ``needs`` says which inputs need one (None: all)."""
    entry = getattr(_last, "entry", None)
    # the engine asks for each input's gradient in turn with the same g and ans: anything else
    # (or an input asked again) is a new backward pass
    if entry is None or entry[0] is not g or entry[1] is not ans or i in entry[3]:
        entry = _last.entry = [g, ans, list(compute()), set()]
    entry[3].add(i)
    grad, entry[2][i] = entry[2][i], None
    if all(x is None or (needs is not None and not needs[j]) for j, x in enumerate(entry[2])):
        _last.entry = None
    return grad


# --------------------------------------------------------------------------------------------
# A whole GRU layer (one direction): gru_scan
#
#     y = gru_scan(xp, w, b_ih, b_hh, h0, reverse=False)
#
# with xp (L, N, 3H) the input projections x_t W_ih^T, w = W_hh^T (H, 3H), the biases (3H,)
# or None, h0 (N, H) or None (zeros: the product with it is left out, and the hidden
# projection is b_hh alone).  Per step, with u = x_t + b_ih and v = h_prev w + b_hh (gates
# r, z, n):
#
#     r, z = sigmoid(u_rz + v_rz),  n = tanh(u_n + r v_n),  h_t = n + z (h_prev - n)
#
# y is (L, N, H), y[t] = h_t.  As lstm_scan: the forward in NumPy (``gru_scan_states``),
# kept in the call's ``states`` (a GruStates the forward fills); one pass backward through
# time for all five inputs, recorded with the primitives under create_graph=True; forward mode
# a recurrence of tangents.


class GruStates(Scratch):
    """What a forward pass of ``gru_scan`` leaves for its backward pass: ``y``, the gates
    ``rz`` (L, N, 2H), ``n`` and the hidden projections' n block ``v_n`` (L, N, H) (None: not
    computed yet)."""

    __slots__ = ("y", "rz", "n", "v_n")

    def __init__(self, y=None, rz=None, n=None, v_n=None) -> None:
        self.y, self.rz, self.n, self.v_n = y, rz, n, v_n


def _gru_shapes(xp, w, b_ih, b_hh, h0):
    """``(L, N, H)``, after checking the shapes of ``gru_scan``'s arguments."""
    xp_shape = np.shape(xp)
    if len(xp_shape) != 3 or xp_shape[2] % 3:
        raise ValueError(f"xp must be (L, N, 3H), got shape {xp_shape}")
    length, batch, size = xp_shape[0], xp_shape[1], xp_shape[2] // 3
    check_scan_shapes(xp_shape, {"w": w, "b_ih": b_ih, "b_hh": b_hh, "h0": h0},
                      ((size, 3 * size), (3 * size,), (3 * size,), (batch, size)))
    return length, batch, size


def check_scan_shapes(xp_shape, arguments: dict, expected) -> None:
    """Refuse an argument of a recurrent scan whose shape is not the one ``xp``'s implies
    (those given as None are absent, except ``w``)."""
    for (name, a), want in zip(arguments.items(), expected):
        if (a is not None or name == "w") and np.shape(a) != want:
            raise ValueError(f"{name} must have shape {want} for xp of shape {xp_shape}, got "
                             f"{np.shape(a)}")


def scan_dtype(*arrays) -> np.dtype:
    """The dtype a recurrent scan computes in: its arguments' (float64 for integers)."""
    dtype = np.result_type(*(a for a in arrays if a is not None))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def gru_scan_states(xp, w, b_ih=None, b_hh=None, h0=None, reverse: bool = False) -> GruStates:
    """The forward pass of ``gru_scan`` on raw arrays, with what its backward pass reads."""
    length, batch, size = _gru_shapes(xp, w, b_ih, b_hh, h0)
    dtype = scan_dtype(xp, w, b_ih, b_hh, h0)
    y = np.empty((length, batch, size), dtype)
    rz = np.empty((length, batch, 2 * size), dtype)
    n = np.empty((length, batch, size), dtype)
    v_n = np.zeros((length, batch, size), dtype)
    u = np.empty((batch, 3 * size), dtype)
    v = np.empty((batch, 3 * size), dtype)
    # (the biases repeated over the batch, once, and w C-contiguous: see lstm_scan_states)
    b_ih, b_hh = (None if b is None else np.broadcast_to(b, (batch, 3 * size)).copy()
                  for b in (b_ih, b_hh))
    w = np.ascontiguousarray(w)
    h = h0
    for t in _order(length, reverse):
        np.copyto(u, xp[t])
        if b_ih is not None:
            u += b_ih
        if h is not None:
            np.matmul(h, w, out=v)
            if b_hh is not None:
                v += b_hh
        elif b_hh is not None:
            np.copyto(v, b_hh)
        hidden = h is not None or b_hh is not None  # else v = 0
        # r, z = sigmoid(u + v) = (1 + tanh((u + v) / 2)) / 2
        g = rz[t]
        np.add(u[:, :2 * size], v[:, :2 * size], out=g) if hidden else \
            np.copyto(g, u[:, :2 * size])
        g *= 0.5
        np.tanh(g, out=g)
        g *= 0.5
        g += 0.5
        # n = tanh(u_n + r v_n)
        if hidden:
            np.copyto(v_n[t], v[:, 2 * size:])
            np.multiply(g[:, :size], v_n[t], out=n[t])
            n[t] += u[:, 2 * size:]
        else:
            np.copyto(n[t], u[:, 2 * size:])
        np.tanh(n[t], out=n[t])
        # h = n + z (h_prev - n)
        if h is None:
            np.multiply(g[:, size:], n[t], out=y[t])
            np.subtract(n[t], y[t], out=y[t])
        else:
            np.subtract(h, n[t], out=y[t])
            y[t] *= g[:, size:]
            y[t] += n[t]
        h = y[t]
    return GruStates(y, rz, n, v_n)


def _gru_scan(xp, w, b_ih=None, b_hh=None, h0=None, reverse=False, states=None,
              needs=None):
    made = gru_scan_states(xp, w, b_ih, b_hh, h0, reverse)
    if states is not None:  # (this call's own, for its backward pass)
        states.take(made)
    return made.y


def _gru_grads(g, xp, w, b_ih, b_hh, h0, reverse, states):
    """The gradients of (xp, w, b_ih, b_hh, h0) from ``g`` (L, N, H), in NumPy.  Per step,
    with dh the gradient of h_t (from y and from the next step):

        d n_pre = dh (1 - z) (1 - n^2),  d z_pre = dh (h_prev - n) z (1 - z),
        d r_pre = d n_pre v_n r (1 - r)
        d u = (d r_pre, d z_pre, d n_pre),  d v = (d r_pre, d z_pre, d n_pre r)
        dh_prev = dh z + d v w^T
    """
    length, batch, size = _gru_shapes(xp, w, b_ih, b_hh, h0)
    rz, n, v_n, y = states.rz, states.n, states.v_n, states.y
    dtype = y.dtype
    d_u = np.empty((length, batch, 3 * size), dtype)
    d_v = np.empty((length, batch, 3 * size), dtype)
    one = np.empty((batch, size), dtype)
    slope = np.empty((batch, 2 * size), dtype)
    w_t = np.ascontiguousarray(w.T)
    order = list(_order(length, reverse))
    dh = None
    for k in range(length - 1, -1, -1):
        t = order[k]
        prev = order[k - 1] if k else None
        h_prev = y[prev] if prev is not None else h0
        r, z, n_t = rz[t][:, :size], rz[t][:, size:], n[t]
        du, dv = d_u[t], d_v[t]
        if dh is None:
            dh = np.array(g[t], dtype=dtype)
        else:
            dh += g[t]
        dn = du[:, 2 * size:]
        np.subtract(1, z, out=one)
        np.multiply(dh, one, out=dn)
        np.multiply(n_t, n_t, out=one)
        np.subtract(1, one, out=one)
        dn *= one
        dz = du[:, size:2 * size]
        np.negative(n_t, out=dz) if h_prev is None else np.subtract(h_prev, n_t, out=dz)
        dz *= dh
        np.multiply(dn, v_n[t], out=du[:, :size])
        # the slope of both sigmoids at once: rz (1 - rz)
        np.subtract(1, rz[t], out=slope)
        slope *= rz[t]
        du[:, :2 * size] *= slope
        dv[:, :2 * size] = du[:, :2 * size]
        np.multiply(dn, r, out=dv[:, 2 * size:])
        if h_prev is None:
            dh = None
            continue
        np.multiply(dh, z, out=one)
        dh = np.matmul(dv, w_t)
        dh += one
    hs = y
    if length == 1:
        dw = None
    elif reverse:
        dw = hs[1:].reshape(-1, size).T @ d_v[:-1].reshape(-1, 3 * size)
    else:
        dw = hs[:-1].reshape(-1, size).T @ d_v[1:].reshape(-1, 3 * size)
    if h0 is not None:
        first = d_v[order[0]]
        dw = h0.T @ first if dw is None else np.add(dw, h0.T @ first, out=dw)
    db_ih = None if b_ih is None else np.add.reduce(d_u.reshape(-1, 3 * size), axis=0)
    db_hh = None if b_hh is None else np.add.reduce(d_v.reshape(-1, 3 * size), axis=0)
    return d_u, dw, db_ih, db_hh, dh


def _plus(*terms):
    """The sum of the terms that are not None (None if all are)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def _gru_steps(xp, w, b_ih, b_hh, h0, reverse):
    """The forward pass written with primitives (recorded on Tensors): per step taken,
    ``(t, rz, n, v, h_prev)``, ``v`` the hidden projection (None: 0)."""
    steps = []
    h = h0
    for t in _order(np.shape(xp)[0], reverse):
        u = _plus(getitem(xp, index=t, x_shape=np.shape(xp)), b_ih)
        v = _plus(None if h is None else matmul(h, w), b_hh)
        rz = sigmoid(_plus(_block(u, 0, 2, 3), None if v is None else _block(v, 0, 2, 3)))
        r, z = _block(rz, 0, 1, 2), _block(rz, 1, 1, 2)
        n = tanh(_plus(_block(u, 2, 1, 3), None if v is None else r * _block(v, 2, 1, 3)))
        steps.append((t, rz, n, v, h))
        h = n - z * n if h is None else n + z * (h - n)
    return steps


def _gru_grads_recorded(g, xp, w, b_ih, b_hh, h0, reverse):
    """``_gru_grads`` written with primitives (recorded on Tensors: higher derivatives)."""
    length = np.shape(xp)[0]
    d_u = [None] * length
    dw = db_hh = dh = None
    for t, rz, n, v, h_prev in reversed(_gru_steps(xp, w, b_ih, b_hh, h0, reverse)):
        r, z = _block(rz, 0, 1, 2), _block(rz, 1, 1, 2)
        dh = _plus(getitem(g, index=t, x_shape=np.shape(g)), dh)
        dn = tanh_backward(dh * (1 - z), n)
        dz = dh * (-n if h_prev is None else h_prev - n)
        dr = None if v is None else dn * _block(v, 2, 1, 3)
        d_rz = sigmoid_backward(_joined((dr, dz), dz), rz)
        d_u[t] = _joined((d_rz, dn), dn)
        dv = _joined((d_rz, dn * r), dn)
        db_hh = _plus(db_hh, dv)
        if h_prev is None:
            dh = None
            continue
        dw = _plus(dw, matmul(transpose(h_prev, axes=(1, 0)), dv))
        dh = dh * z + matmul(dv, transpose(w, axes=(1, 0)))
    d_xp = _stacked(d_u, np.shape(d_u[0]))
    # (the biases' gradients summed to their shapes by the engine)
    return (d_xp, dw, None if b_ih is None else d_xp, None if b_hh is None else db_hh, dh)


def _gru_grads_plain(g, *inputs, reverse, states) -> np.ndarray:
    return plain_scan_grads(_gru_grads, gru_scan_states, g, *inputs, reverse=reverse,
                            states=states)


def _gru_vjp(i, g, ans, xp, w, b_ih=None, b_hh=None, h0=None, reverse=False, states=None,
             needs=None):
    def compute():
        return scan_grads(_gru_grads_plain, _gru_grads_recorded, (g, xp, w, b_ih, b_hh, h0),
                          reverse, states)
    return _shared(i, g, ans, compute, needs)


def _gru_jvp(ts, ans, xp, w, b_ih=None, b_hh=None, h0=None, reverse=False, states=None,
             needs=None):
    # per step: du = dxp_t + db_ih, dv = dh_prev w + h_prev dw + db_hh; then
    # d rz = (du + dv)_rz rz (1 - rz), d n = (du_n + dr v_n + r dv_n)(1 - n^2),
    # dh = dn + dz (h_prev - n) + z (dh_prev - dn)
    dxp, dw, db_ih, db_hh, dh = ts
    length, batch, size = _gru_shapes(xp, w, b_ih, b_hh, h0)
    outs = [None] * length
    for t, rz, n, v, h_prev in _gru_steps(xp, w, b_ih, b_hh, h0, reverse):
        r, z = _block(rz, 0, 1, 2), _block(rz, 1, 1, 2)
        du = _plus(None if dxp is None else getitem(dxp, index=t, x_shape=np.shape(dxp)),
                   db_ih)
        dv = _plus(None if dh is None else matmul(dh, w),
                   None if dw is None or h_prev is None else matmul(h_prev, dw),
                   None if v is None else db_hh)
        d_pre = _plus(None if du is None else _block(du, 0, 2, 3),
                      None if dv is None else _block(dv, 0, 2, 3))
        d_rz = None if d_pre is None else sigmoid_backward(d_pre, rz)
        dr, dz = (None, None) if d_rz is None else (_block(d_rz, 0, 1, 2), _block(d_rz, 1, 1, 2))
        d_pre_n = _plus(None if du is None else _block(du, 2, 1, 3),
                        None if dr is None or v is None else dr * _block(v, 2, 1, 3),
                        None if dv is None else r * _block(dv, 2, 1, 3))
        dn = None if d_pre_n is None else tanh_backward(d_pre_n, n)
        gap = -n if h_prev is None else h_prev - n
        dh = _plus(dn, None if dz is None else dz * gap,
                   None if dn is None and dh is None else z * (_plus(dh, None if dn is None
                                                                     else -dn)))
        outs[t] = dh
    return _stacked(outs, (batch, size))


def batch_scan(prim, values, batched, size, *, sample_axes, result_axis, **params):
    """vmap's rule of a whole-layer scan.  ``sample_axes``: for each value, the axis of its
    samples ``N`` (``None`` for a weight, which every sample shares); ``result_axis``: the
    result's.  The samples of a scan never meet, so with shared weights the batch joins them:
    one scan of ``B N`` samples, split after.  Weights that differ from example to example
    would need a product per example at every step: one scan per example, stacked.  The
    ``states`` of a forward pass made before the call are one example's: dropped, and the
    pass made here."""
    params["states"] = None
    if any(flag for flag, axis in zip(batched, sample_axes) if axis is None):
        return looped(prim, values, batched, size, **params)
    joined = [v if v is None or axis is None else merged(v if flag else expanded(v, size), axis)
              for v, flag, axis in zip(values, batched, sample_axes)]
    return split(prim(*joined, **params), size, axis=result_axis)


def _batch_gru_scan(prim, values, batched, size, **params):
    # xp (L, N, 3H), w, b_ih, b_hh, h0 (N, H); the result (L, N, H)
    return batch_scan(prim, values, batched, size, sample_axes=(1, None, None, None, 0),
                      result_axis=1, **params)


gru_scan = primitive("gru_scan", _gru_scan, _gru_vjp, save_inputs=True, save_ans=True,
                     jvp=_gru_jvp, grad_fn="GruScanBackward0", batch=_batch_gru_scan)
