"""The recurrent layers of ``torch.nn``: ``RNN``, ``LSTM`` and ``GRU`` over whole sequences,
and the one-step cells ``RNNCell``, ``LSTMCell`` and ``GRUCell``, with PyTorch's constructor
arguments, parameter names and shapes, gate order (``i, f, g, o`` for the LSTM, ``r, z, n``
for the GRU), initialisation (every parameter ``U(-1/sqrt(hidden), 1/sqrt(hidden))``, drawn
from chainrule's generator) and the shapes of inputs, states and results.
``PackedSequence`` inputs are not supported: pad the sequences and pass a tensor.

The layers are composed from chainrule's operations (``matmul``, ``sigmoid``, ``tanh``,
slicing, ``cat``, and the fused primitives of ``chainrule/rules/recurrent.py`` and
``lstm_layer.py``), so ``create_graph=True`` and forward mode work through them.  Each layer
projects the inputs of all time steps with one matrix product before its loop (both biases
folded into it where the maths allows; for ``lstm_scan``, a batched product gate by gate, in
its gate-major layout), so that a time step records one product with the hidden state and its
gates; the hidden states of the sequence are kept as ``(L * N, H)`` rows, which is also the
next layer's input, and reshaped to ``(L, N, H)`` once at the end.  LSTM layers without
projections and GRU layers record no steps at all: each layer and direction is one
``lstm_scan`` or ``gru_scan``, which runs the steps (and, backward, the pass through time) in
NumPy, with the biases added in its steps.  Where no initial state is given, the first step
leaves out the products with the zero state (so a sequence of length 1 without ``hx`` gives
``weight_hh`` no gradient, None, where PyTorch gives zeros).

The recurrences (``x_t`` the input, ``h`` the previous hidden state, ``σ`` the sigmoid):

* RNN: ``h' = tanh(W_ih x_t + b_ih + W_hh h + b_hh)`` (or ReLU);
* LSTM: ``i, f, g, o = σ, σ, tanh, σ`` of the four blocks of ``W_ih x_t + b_ih + W_hh h +
  b_hh``; ``c' = f c + i g``; ``h' = o tanh(c')`` (times ``W_hr`` when ``proj_size > 0``);
* GRU: ``r, z = σ`` of the first two blocks of ``W_ih x_t + b_ih + W_hh h + b_hh``;
  ``n = tanh(W_in x_t + b_in + r (W_hn h + b_hn))``; ``h' = (1 - z) n + z h``.

>>> import chainrule as cr
>>> from chainrule import nn
>>> lstm = nn.LSTM(10, 20, num_layers=2)
>>> lstm
LSTM(10, 20, num_layers=2)
>>> output, (h_n, c_n) = lstm(cr.randn(5, 3, 10))
>>> output.shape, h_n.shape, c_n.shape
((5, 3, 20), (2, 3, 20), (2, 3, 20))
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from chainrule import functions as fn
from chainrule import rules as R
from chainrule.nn import functional_layers as F
from chainrule.nn import init
from chainrule.nn.modules.linear import _empty
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.rules.lstm_layer import LstmStates
from chainrule.rules.recurrent import GruStates
from chainrule.tensor import Tensor

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rows(x: Tensor, start: int, stop: int) -> Tensor:
    return R.getitem(x, index=slice(start, stop), x_shape=x.shape)


def _cols(x: Tensor, start: int, stop: int) -> Tensor:
    return R.getitem(x, index=(slice(None), slice(start, stop)), x_shape=x.shape)


def _rnn_step(gates, h, c, w_hh, b_hh, w_hr, size, relu):
    """One step of the Elman RNN: ``gates`` holds ``W_ih x_t + b_ih + b_hh``."""
    if h is not None:
        gates = R.add(gates, R.matmul(h, w_hh))
    return (R.relu(gates) if relu else R.tanh(gates)), None


def _lstm_step(gates, h, c, w_hh, b_hh, w_hr, size, relu):
    """One LSTM step: ``gates`` holds ``W_ih x_t + b_ih + b_hh``; ``h``, ``c`` are None for
    zero states (the products with them are left out)."""
    if h is not None:
        gates = R.add(gates, R.matmul(h, w_hh))
    # the fused primitives of chainrule/rules/recurrent.py: the activations i, f, g, o as one
    # block, c' = f c + i g (c = 0: i g), h' = o tanh(c')
    a = R.lstm_gates(gates)
    c = R.lstm_cell(a, 0.0 if c is None else c)
    h = R.lstm_hidden(a, c)
    return (h if w_hr is None else R.matmul(h, w_hr)), c


def _gru_step(gates, h, c, w_hh, b_hh, w_hr, size, relu):
    """One GRU step: ``gates`` holds ``W_ih x_t + b_ih``; ``b_hh`` is kept apart because
    ``r`` multiplies ``W_hn h + b_hn``."""
    hidden = b_hh if h is None else R.matmul(h, w_hh) if b_hh is None \
        else R.add(R.matmul(h, w_hh), b_hh)
    if hidden is None:  # h = 0 and no bias: r multiplies 0
        rz = R.sigmoid(_cols(gates, 0, 2 * size))
        n = R.tanh(_cols(gates, 2 * size, 3 * size))
    else:
        hidden_cols = hidden if h is not None else R.reshape(hidden, shape=(1, -1),
                                                           x_shape=hidden.shape)
        rz = R.sigmoid(R.add(_cols(gates, 0, 2 * size), _cols(hidden_cols, 0, 2 * size)))
        n = R.tanh(R.add(_cols(gates, 2 * size, 3 * size),
                         R.mul(_cols(rz, 0, size), _cols(hidden_cols, 2 * size, 3 * size))))
    z = _cols(rz, size, 2 * size)
    # h' = (1 - z) n + z h = n + z (h - n)
    h = R.sub(n, R.mul(z, n)) if h is None else R.add(n, R.mul(z, R.sub(h, n)))
    return h, None


_STEPS = {"RNN_TANH": _rnn_step, "RNN_RELU": _rnn_step, "LSTM": _lstm_step, "GRU": _gru_step}


def _dims_error(name: str, what: str, allowed: str, x) -> ValueError:
    return ValueError(f"{name}: Expected {what} to be {allowed}, got {x.ndim}D instead")


def _uniform_by_hidden_size(self) -> None:
    """PyTorch's initialisation of the recurrent layers and cells (their ``reset_parameters``):
    every parameter ``U(-1/sqrt(hidden), 1/sqrt(hidden))``."""
    bound = 1.0 / math.sqrt(self.hidden_size)
    for weight in self.parameters():
        init.uniform_(weight, -bound, bound)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: the parameters of every layer and direction,
    the checks of inputs and states, and the loop over layers and time steps."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        for what, value in (("bias", bias), ("batch_first", batch_first),
                            ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {what} should be of type bool, got: "
                                f"{type(value).__name__}")
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("proj_size", proj_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name}: {what} should be of type int, got: "
                                f"{type(value).__name__}")
            if value <= 0 and what != "proj_size":
                raise ValueError(f"{name}: {what} must be greater than zero, got {value}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size} and hidden_size={hidden_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias = int(num_layers), bias
        self.batch_first, self.dropout = batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, int(proj_size)
        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gate_size, layer_input),
                          "weight_hh": (gate_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, _empty(name, shape, device, dtype))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    reset_parameters = _uniform_by_hidden_size

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs the weights for cuDNN); kept so that code calling it
        runs unchanged."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in PyTorch's order."""
        per = len(self._flat_weights_names) // (self.num_layers * (1 + self.bidirectional))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[k:k + per]] for k in range(0, len(names), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ----------------------------------------------------------------------------------------
    # checks

    def _input(self, input) -> tuple[Tensor, bool]:
        """The input as a tensor of the parameters' dtype, and whether it has a batch dim."""
        name = self._get_name()
        x = fn.tensor_arg(input)
        if x.ndim not in (2, 3):
            raise _dims_error(name, "input", "2D or 3D", x)
        dtype = self.weight_ih_l0.dtype
        if x.dtype != dtype:
            raise ValueError(f"{name}: RNN input dtype ({x.dtype}) does not match weight dtype "
                             f"({dtype}). Convert input: input.to({dtype}), or convert model: "
                             f"model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        if x.shape[1 if self.batch_first and x.ndim == 3 else 0] == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN")
        return x, x.ndim == 3

    def _state(self, state, batched: bool, batch: int, size: int, which: str) -> Tensor | None:
        """An initial state checked against ``(D * num_layers, N, size)``, with its batch dim."""
        if state is None:
            return None
        h = fn.tensor_arg(state)
        name = self._get_name()
        if batched and h.ndim != 3:
            raise RuntimeError(f"{name}: For batched 3-D input, hx should also be 3-D but got "
                               f"{h.ndim}-D tensor")
        if not batched:
            if h.ndim != 2:
                raise RuntimeError(f"{name}: For unbatched 2-D input, hx should also be 2-D but "
                                   f"got {h.ndim}-D tensor")
            h = fn.unsqueeze(h, 1)
        expected = (self.num_layers * (1 + self.bidirectional), batch, size)
        if tuple(h.shape) != expected:
            raise RuntimeError(f"{name}: Expected {which} size {expected}, got {list(h.shape)}")
        if h.dtype != self.weight_ih_l0.dtype:
            raise ValueError(f"{name}: the initial state's dtype ({h.dtype}) does not match the "
                             f"weights' ({self.weight_ih_l0.dtype}); convert it with "
                             f"hx.to({self.weight_ih_l0.dtype})")
        return h

    # ----------------------------------------------------------------------------------------
    # the recurrence

    def _run(self, input, h0, c0):
        """``(output, h_n, c_n)`` for an input of ``(L, N, H_in)`` (or batch first) and initial
        states of ``(D * num_layers, N, H_out)`` or None (zeros)."""
        x = input
        if self.batch_first:
            x = R.transpose(x, axes=(1, 0, 2))
        length, batch = x.shape[0], x.shape[1]
        x = R.reshape(x, shape=(length * batch, x.shape[2]), x_shape=x.shape)
        step = _STEPS[self.mode]
        relu = self.mode == "RNN_RELU"
        size, directions = self.hidden_size, 1 + self.bidirectional
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                h = None if h0 is None else R.getitem(h0, index=k, x_shape=h0.shape)
                c = None if c0 is None else R.getitem(c0, index=k, x_shape=c0.shape)
                w_ih = getattr(self, "weight_ih" + suffix)
                b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
                b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
                w_hr = getattr(self, "weight_hr" + suffix) if self.proj_size else None
                if self.mode in ("LSTM", "GRU") and w_hr is None:
                    h, c, hs = self._scan(x, w_ih, h, c, b_ih, b_hh, suffix, length, batch,
                                          direction)
                    finals_h.append(h)
                    finals_c.append(c)
                    outputs.append(hs)
                    continue
                # the input projections of every time step, one product; the recurrent bias
                # joins them except in the GRU, where r multiplies W_hn h + b_hn
                gates = R.matmul(x, R.transpose(w_ih, axes=(1, 0)))
                if b_ih is not None:
                    bias = b_ih if self.mode == "GRU" else R.add(b_ih, b_hh)
                    gates = R.add(gates, bias)
                w_hh = R.transpose(getattr(self, "weight_hh" + suffix), axes=(1, 0))
                w_hr = None if w_hr is None else R.transpose(w_hr, axes=(1, 0))
                hs = [None] * length
                order = range(length - 1, -1, -1) if direction else range(length)
                for t in order:
                    h, c = step(_rows(gates, t * batch, (t + 1) * batch), h, c, w_hh,
                                b_hh if self.mode == "GRU" else None, w_hr, size, relu)
                    hs[t] = h
                finals_h.append(h)
                finals_c.append(c)
                outputs.append(hs[0] if length == 1 else
                               R.cat(*hs, axis=0, sizes=(batch,) * length))
            x = outputs[0] if directions == 1 else \
                R.cat(*outputs, axis=1, sizes=tuple(o.shape[1] for o in outputs))
        output = R.reshape(x, shape=(length, batch, x.shape[1]), x_shape=x.shape)
        if self.batch_first:
            output = R.transpose(output, axes=(1, 0, 2))
        h_n = fn.stack(finals_h)
        c_n = fn.stack(finals_c) if self.mode == "LSTM" else None
        return output, h_n, c_n

    def _scan(self, x, w_ih, h, c, b_ih, b_hh, suffix, length, batch, reverse):
        """One LSTM or GRU layer and direction as one primitive (``lstm_scan`` in
        ``chainrule/rules/lstm_layer.py``, ``gru_scan`` in ``chainrule/rules/recurrent.py``) on
        the input rows ``x`` (L * N, H_in): ``(h_n, c_n, outputs as (L * N, H) rows)``
        (``c_n`` None for the GRU).  The biases are added inside its steps, never to the whole
        block of projections (a new array of L * N rows: its first writes cost more than the
        additions)."""
        w_hh = getattr(self, "weight_hh" + suffix)
        size = self.hidden_size
        reverse = bool(reverse)
        if self.mode == "LSTM":
            # lstm_scan's gate-major layout: the projections x W_ih[k]^T of each gate k (the
            # rows kH .. (k+1)H - 1 of W_ih) as one batched product, (4, L * N, H), and W_hh
            # and the bias cut into their four gates' blocks (reshapes, no copies)
            w_gates = R.reshape(w_ih, shape=(4, size, w_ih.shape[1]), x_shape=w_ih.shape)
            xp = R.matmul(x, R.transpose(w_gates, axes=(0, 2, 1)))
            xp = R.reshape(xp, shape=(4, length, batch, size), x_shape=xp.shape)
            w = R.reshape(w_hh, shape=(4, size, size), x_shape=w_hh.shape)
            b = None if b_ih is None else R.reshape(R.add(b_ih, b_hh), shape=(4, size),
                                                    x_shape=b_ih.shape)
            args, scan, states = (xp, w, b, h, c), R.lstm_scan, LstmStates
        else:
            gates = R.matmul(x, R.transpose(w_ih, axes=(1, 0)))
            xp = R.reshape(gates, shape=(length, batch, gates.shape[1]), x_shape=gates.shape)
            w = R.transpose(w_hh, axes=(1, 0))
            args, scan, states = (xp, w, b_ih, b_hh, h), R.gru_scan, GruStates
        # the primitive keeps the activations of its forward pass for its backward pass, in
        # this call's own states (not under vmap, whose batching rule runs the pass)
        mapped = any(a is not None and a._batched for a in args)
        saved = None if mapped else states()
        needs = tuple(a is not None and a.requires_grad for a in args)
        y = scan(*args, reverse=reverse, states=saved, needs=needs)
        hs = R.getitem(y, index=slice(0, length), x_shape=y.shape)
        hs = R.reshape(hs, shape=(length * batch, hs.shape[2]), x_shape=hs.shape)
        last = 0 if reverse else length - 1
        c_n = R.getitem(y, index=length, x_shape=y.shape) if self.mode == "LSTM" else None
        return R.getitem(y, index=last, x_shape=y.shape), c_n, hs

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(output, h_n)``: every step's hidden state of the last layer, and each layer's
        final one (the LSTM's also returns ``c_n``)."""
        output, h_n, _ = self._forward(input, hx)
        return output, h_n

    def _forward(self, input, hx):
        x, batched = self._input(input)
        if not batched:
            x = fn.unsqueeze(x, 0 if self.batch_first else 1)
        batch = x.shape[0 if self.batch_first else 1]
        out_size = self.proj_size or self.hidden_size
        if self.mode == "LSTM":
            if hx is None:
                h0 = c0 = None
            else:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{self._get_name()}: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                dims = (np.ndim(hx[0]), np.ndim(hx[1]))
                if dims != ((3, 3) if batched else (2, 2)):
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    raise RuntimeError(f"LSTM: For {kind} input, hx and cx should also be "
                                       f"{3 if batched else 2}-D but got ({dims[0]}-D, "
                                       f"{dims[1]}-D) tensors")
                h0 = self._state(hx[0], batched, batch, out_size, "hidden[0]")
                c0 = self._state(hx[1], batched, batch, self.hidden_size, "hidden[1]")
        else:
            h0, c0 = self._state(hx, batched, batch, out_size, "hidden"), None
        output, h_n, c_n = self._run(x, h0, c0)
        if not batched:
            output = fn.squeeze(output, 0 if self.batch_first else 1)
            h_n = fn.squeeze(h_n, 1)
            c_n = None if c_n is None else fn.squeeze(c_n, 1)
        return output, h_n, c_n


class RNN(RNNBase):
    """A multi-layer Elman RNN, ``h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)`` (or
    ReLU with ``nonlinearity='relu'``), as ``torch.nn.RNN``.

    ``forward(input, hx=None)`` takes ``input`` of shape ``(L, N, H_in)`` (``(N, L, H_in)``
    with ``batch_first``, ``(L, H_in)`` unbatched) and ``hx`` of ``(D * num_layers, N,
    H_out)`` (zeros when None), and returns ``(output, h_n)``: the last layer's hidden state at
    every step, ``(L, N, D * H_out)``, and every layer's last one.  ``D`` is 2 when
    ``bidirectional``.  ``PackedSequence`` inputs are not supported.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> rnn = nn.RNN(4, 3, nonlinearity="relu", batch_first=True, bidirectional=True)
    >>> output, h_n = rnn(cr.randn(2, 5, 4))
    >>> output.shape, h_n.shape
    ((2, 5, 6), (2, 2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """A multi-layer long short-term memory, as ``torch.nn.LSTM`` (gates ``i, f, g, o``;
    ``c_t = f c_(t-1) + i g``, ``h_t = o tanh(c_t)``, times ``W_hr`` when ``proj_size > 0``).

    ``forward(input, hx=None)`` takes ``input`` of shape ``(L, N, H_in)`` (``(N, L, H_in)``
    with ``batch_first``, ``(L, H_in)`` unbatched) and ``hx = (h_0, c_0)`` of ``(D *
    num_layers, N, H_out)`` and ``(D * num_layers, N, H_cell)`` (zeros when None), and returns
    ``(output, (h_n, c_n))``.  ``PackedSequence`` inputs are not supported.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> lstm = nn.LSTM(4, 3, proj_size=2)
    >>> output, (h_n, c_n) = lstm(cr.randn(5, 4))
    >>> output.shape, h_n.shape, c_n.shape
    ((5, 2), (1, 2), (1, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, h_n, c_n = self._forward(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """A multi-layer gated recurrent unit, as ``torch.nn.GRU`` (gates ``r, z, n``;
    ``n = tanh(W_in x_t + b_in + r (W_hn h + b_hn))``, ``h_t = (1 - z) n + z h_(t-1)``).

    Inputs and results as :class:`RNN`'s.  ``PackedSequence`` inputs are not supported.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> gru = nn.GRU(4, 3, num_layers=2)
    >>> output, h_n = gru(cr.randn(5, 2, 4), cr.zeros(2, 2, 3))
    >>> output.shape, h_n.shape
    ((5, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --------------------------------------------------------------------------------------------
# cells


class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` ``(G * hidden, input)``, ``weight_hh`` ``(G *
    hidden, hidden)``, ``bias_ih`` and ``bias_hh`` ``(G * hidden,)``, and the input checks."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool,
                 device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name}: {what} should be of type int, got: "
                                f"{type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name}: {what} must be greater than zero, got {value}")
        self.mode = mode
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        gates = _GATES[mode] * hidden_size
        self.weight_ih = _empty(name, (gates, input_size), device, dtype)
        self.weight_hh = _empty(name, (gates, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _empty(name, (gates,), device, dtype)
            self.bias_hh = _empty(name, (gates,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = _uniform_by_hidden_size

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _input(self, input) -> Tensor:
        """The input, checked, as ``(N, H_in)``."""
        name = type(self).__name__
        x = fn.tensor_arg(input)
        if x.ndim not in (1, 2):
            raise _dims_error(name, "input", "1D or 2D", x)
        if x.dtype != self.weight_ih.dtype:
            raise ValueError(f"{name}: input dtype ({x.dtype}) does not match weight dtype "
                             f"({self.weight_ih.dtype}). Convert input: "
                             f"input.to({self.weight_ih.dtype}), or convert model: "
                             f"model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{x.shape[-1]} expected {self.input_size}")
        return x if x.ndim == 2 else fn.unsqueeze(x, 0)

    def _state(self, state, batched: bool, batch: int, which: str) -> Tensor | None:
        """A state checked against ``(N, hidden)`` (``(hidden,)`` unbatched), as ``(N, H)``."""
        if state is None:
            return None
        name = type(self).__name__
        h = fn.tensor_arg(state)
        if h.ndim not in (1, 2):
            raise _dims_error(name, which.replace("hidden0", "hidden").replace(
                "hidden1", "hidden"), "1D or 2D", h)
        if h.ndim != (2 if batched else 1):
            raise RuntimeError(f"{name}: {which} has {h.ndim} dims but the input has "
                               f"{2 if batched else 1}; give both a batch dim or neither")
        if h.shape[-1] != self.hidden_size:
            raise RuntimeError(f"{name}: {which} has inconsistent hidden_size: got "
                               f"{h.shape[-1]}, expected {self.hidden_size}")
        if batched and h.shape[0] != batch:
            raise RuntimeError(f"{name}: Input batch size {batch} doesn't match {which} batch "
                               f"size {h.shape[0]}")
        if h.dtype != self.weight_ih.dtype:
            raise ValueError(f"{name}: the state's dtype ({h.dtype}) does not match the "
                             f"weights' ({self.weight_ih.dtype}); convert it with "
                             f"hx.to({self.weight_ih.dtype})")
        return h if batched else fn.unsqueeze(h, 0)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state ``h'`` (the LSTM cell's returns ``(h', c')``)."""
        x = self._input(input)
        h = self._state(hx, np.ndim(input) == 2, x.shape[0], "hidden0")
        h, _ = self._step(x, h, None)
        return h if np.ndim(input) == 2 else fn.squeeze(h, 0)

    def _step(self, input, h, c):
        """One step on ``(N, H_in)`` rows: ``(h', c')``.  A missing state is zeros, made
        here (as in PyTorch), so that ``weight_hh`` gets its zero gradient."""
        zeros = np.zeros((input.shape[0], self.hidden_size), input.dtype)
        h = zeros if h is None else h
        c = zeros if c is None and self.mode == "LSTM" else c
        gates = R.matmul(input, R.transpose(self.weight_ih, axes=(1, 0)))
        b_hh = None
        if self.bias:
            if self.mode == "GRU":
                gates, b_hh = R.add(gates, self.bias_ih), self.bias_hh
            else:
                gates = R.add(gates, R.add(self.bias_ih, self.bias_hh))
        w_hh = R.transpose(self.weight_hh, axes=(1, 0))
        return _STEPS[self.mode](gates, h, c, w_hh, b_hh, None, self.hidden_size,
                                 self.mode == "RNN_RELU")


class RNNCell(RNNCellBase):
    """One step of an Elman RNN, ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ReLU), as
    ``torch.nn.RNNCell``: ``forward(input, hx=None)`` with ``input`` ``(N, H_in)`` or
    ``(H_in,)`` and ``hx`` ``(N, H)`` or ``(H,)`` (zeros when None) returns ``h'``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.RNNCell(4, 3)(cr.randn(2, 4)).shape
    (2, 3)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell``: ``forward(input, hx=None)`` with ``hx = (h,
    c)`` (zeros when None) returns ``(h', c')``; gates ``i, f, g, o`` as :class:`LSTM`'s.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> h, c = nn.LSTMCell(4, 3)(cr.randn(2, 4))
    >>> h.shape, c.shape
    ((2, 3), (2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        x = self._input(input)
        batched = np.ndim(input) == 2
        if hx is None:
            h = c = None
        else:
            h = self._state(hx[0], batched, x.shape[0], "hidden0")
            c = self._state(hx[1], batched, x.shape[0], "hidden1")
        h, c = self._step(x, h, c)
        if not batched:
            h, c = fn.squeeze(h, 0), fn.squeeze(c, 0)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell``: ``forward(input, hx=None)`` returns ``h'``;
    gates ``r, z, n`` as :class:`GRU`'s.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.GRUCell(4, 3)(cr.randn(4), cr.zeros(3)).shape
    (3,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)
