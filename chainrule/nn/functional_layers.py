"""The layer and activation functions of ``torch.nn.functional`` (``linear``, ``bilinear``,
``dropout``, ``embedding``, ``one_hot``, ``leaky_relu``, ``elu``, ``gelu``, ``silu``,
``softplus``, ``prelu``), re-exported by :mod:`chainrule.nn.functional`.

Each is composed from chainrule's operations (``matmul``, ``where``, ``exp``, ...), so every
order of derivative and forward mode work through them.  Where a branch of ``where`` could
overflow where it is not selected, its input is clamped first, so that no ``inf * 0`` reaches a
gradient (``elu``'s ``expm1``, ``softplus``'s ``exp``).

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.1)
tensor([-0.2000,  3.0000])
>>> F.one_hot(cr.tensor([0, 2]), 3)
tensor([[1, 0, 0],
        [0, 0, 1]])
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import batching, tracing, vmap_levels
from chainrule import functions as fn
from chainrule import rules as R
from chainrule.arguments import data_of, no_gradient
from chainrule.functions import tensor_arg
from chainrule.generator import random_source
from chainrule.inplace import update
from chainrule.rules.losses import one_hot_rows
from chainrule.tensor import Tensor

__all__ = ["bilinear", "dropout", "elu", "embedding", "gelu", "leaky_relu", "linear", "one_hot",
           "prelu", "silu", "softplus"]


def linear(input, weight, bias=None) -> Tensor:
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``: ``weight`` has shape
    ``(out_features, in_features)``, ``input`` ``(*, in_features)``.

    >>> import chainrule as cr
    >>> linear(cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0, 1.0], [0.0, 1.0]]), cr.tensor([0.5, 0.0]))
    tensor([[3.5000, 2.0000]])
    """
    x, w = tensor_arg(input), tensor_arg(weight)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D (out_features, in_features), "
                           f"got shape {tuple(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim else 1
        raise RuntimeError("linear: mat1 and mat2 shapes cannot be multiplied ("
                           f"{rows}x{x.shape[-1] if x.ndim else 0} and "
                           f"{w.shape[-1]}x{w.shape[0] if w.ndim == 2 else 1}); the input's "
                           f"last dim must equal the weight's in_features ({w.shape[-1]})")
    out = R.linear(x, w) if w.ndim == 2 else fn.matmul(x, w)
    return out if bias is None else out + bias


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``y_o = x1ᵀ A_o x2 + b_o``, as ``torch.nn.functional.bilinear``: ``weight`` has shape
    ``(out_features, in1_features, in2_features)``.

    >>> import chainrule as cr
    >>> bilinear(cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0]]), cr.ones(1, 2, 1))
    tensor([[9.]])
    """
    x1, x2, w = tensor_arg(input1), tensor_arg(input2), tensor_arg(weight)
    if w.ndim != 3 or x1.shape[-1:] != w.shape[1:2] or x2.shape[-1:] != w.shape[2:3] \
            or x1.shape[:-1] != x2.shape[:-1]:
        raise RuntimeError(f"bilinear: input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)} and "
                           f"weight {tuple(w.shape)} do not fit; expected (*, in1), (*, in2) "
                           "and (out, in1, in2)")
    out = fn.einsum("...i,oij,...j->...o", x1, w, x2)
    return out if bias is None else out + bias


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each entry with probability ``p`` and scale the rest by ``1 / (1 - p)`` when
    ``training``; the identity otherwise, as ``torch.nn.functional.dropout``.  The mask is
    drawn from chainrule's generator (``chainrule.manual_seed``).  ``inplace=True`` writes the
    result into ``input`` and returns it.

    >>> import chainrule as cr
    >>> dropout(cr.ones(3), 0.5, training=False)
    tensor([1., 1., 1.])
    >>> set(dropout(cr.ones(100), 0.5).tolist()) <= {0.0, 2.0}
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = tensor_arg(input)
    if not training or p == 0.0:
        return x
    if inplace:
        return update(x, "dropout_", lambda old: dropout(old, p, training))
    if p == 1.0:
        return x * np.zeros((), dtype=x.dtype)
    # u uniform, drawn in x's precision (float32 or float64); an entry is kept where u >= p
    dtype = np.dtype(x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
    levels = vmap_levels.random_levels("nn.functional.dropout")  # inside vmap: a mask per example
    draws = random_source().random(vmap_levels.random_sizes(levels) + tuple(x.shape), dtype=dtype)
    if x.dtype.kind not in "fc":  # (PyTorch refuses these: the mask times x, as it was)
        keep = np.multiply(draws >= p, dtype.type(1.0 / (1.0 - p)), out=draws)
        return x * batching.batched_random(keep.astype(x.dtype, copy=False), levels)
    # the one-primitive map keeps a bool mask (1 byte an element), not the scaled float mask
    scale = x.dtype.type(dtype.type(1.0 / (1.0 - p)))  # (the value the float mask held)
    return R.dropout(x, batching.batched_random(np.asarray(draws >= p), levels), scale=scale)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """The one-hot encoding (int64) of a tensor of class indices, with a new last dim of
    ``num_classes`` (``max + 1`` when -1), as ``torch.nn.functional.one_hot``.

    Inside ``chainrule.compile`` the rows, and the checks of the indices, are an operation of
    the plan (a replay on indices out of range raises as an eager call does); with
    ``num_classes=-1`` the result's shape depends on the values, which breaks the trace (the
    function runs eagerly, with a warning)."""
    t = tensor_arg(tensor)
    if t.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor; got "
                           f"dtype {t.dtype}")
    if num_classes == -1 or t._batched:  # (batched by vmap: its error, reading the values)
        idx = np.asarray(data_of(t))
        num_classes = int(idx.max()) + 1 if idx.size else 0  # (its checks: _one_hot_rows)
    return no_gradient(_one_hot_rows, t, num_classes)


def _one_hot_rows(idx: np.ndarray, num_classes: int) -> np.ndarray:
    if idx.size and idx.min() < 0:
        raise RuntimeError("one_hot: Class values must be non-negative.")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                           f"({num_classes}); got {int(idx.max())}.")
    return one_hot_rows(idx, num_classes, idx.ndim, np.int64)


def embedding(input, weight, padding_idx: int | None = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """The rows of ``weight`` at the indices ``input`` (shape ``input.shape + (dim,)``), as
    ``torch.nn.functional.embedding``; the row ``padding_idx`` gets no gradient.

    >>> import chainrule as cr
    >>> embedding(cr.tensor([2, 0]), cr.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    tensor([[4., 5.],
            [0., 1.]])
    """
    idx, w = tensor_arg(input), tensor_arg(weight)
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "implemented; leave them at their defaults")
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got dtype {idx.dtype} "
                           "instead (convert it with .long())")
    if w.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                           f"got shape {tuple(w.shape)}")
    if idx._batched:  # inside vmap, indices that differ per example: a one-hot product
        return _embedding_of_batched(idx, w, padding_idx)
    if tracing.active[0] is not None:  # compile: indices the plan reads at each replay
        return _embedding_traced(idx, w, padding_idx)
    rows = _checked_rows(np.asarray(idx._data), w.shape[0])
    out = w[rows]
    if padding_idx is not None:
        pad = padding_idx + w.shape[0] if padding_idx < 0 else padding_idx
        out = fn.where(np.expand_dims(rows != pad, -1), out, out.detach())
    return out


def _embedding_traced(idx: Tensor, w: Tensor, padding_idx: int | None) -> Tensor:
    """``embedding`` inside ``chainrule.compile``: the same rows, gathered with the indices as
    an argument of the plan (``take_at``), not as a constant index; their check is an
    operation of the plan, which a replay on indices out of range raises from, as eager."""
    n = w.shape[0]
    rows = no_gradient(_checked_rows, idx, n)
    out = R.take_at(w, rows, 0)
    if padding_idx is not None:
        pad = padding_idx + n if padding_idx < 0 else padding_idx
        out = fn.where(fn.unsqueeze(fn.ne(rows, pad), -1), out, out.detach())
    return out


def _checked_rows(rows: np.ndarray, n: int) -> np.ndarray:
    """The indices, checked to lie in ``[0, n)``."""
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise IndexError(f"embedding: index out of range in self (indices must lie in "
                         f"[0, {n}), got {int(rows.min())}..{int(rows.max())})")
    return rows


def _embedding_of_batched(idx: Tensor, w: Tensor, padding_idx: int | None) -> Tensor:
    """``embedding`` of indices batched by vmap (one set per example, not readable as one
    array): ``one_hot(idx) @ w``, so that each example's rows, and only they, get the
    gradient.  The indices are checked per example, as the unbatched ones are."""
    n = w.shape[0]
    idx = idx._without_gradient(lambda rows: _checked_rows(rows, n), (idx,), {})
    chosen = fn.eq(fn.unsqueeze(idx, -1), np.arange(n))
    out = fn.matmul(chosen.to(w.dtype), w)
    if padding_idx is not None:
        pad = padding_idx + n if padding_idx < 0 else padding_idx
        out = fn.where(fn.unsqueeze(fn.ne(idx, pad), -1), out, out.detach())
    return out


def _in_place(x: Tensor, name: str, function, inplace: bool) -> Tensor:
    """``function(x)``, or with ``inplace`` written into ``x`` (which is returned), as
    PyTorch's activations do (a leaf that requires grad refuses, as there)."""
    if inplace:
        return update(x, name, function)
    return function(x)


def relu(input, inplace: bool = False) -> Tensor:
    """``max(x, 0)``, as ``torch.nn.functional.relu``; ``inplace=True`` writes it into
    ``input``.

    >>> import chainrule as cr
    >>> relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _in_place(tensor_arg(input), "relu_", fn.relu, inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _in_place(tensor_arg(input), "leaky_relu_",
                     lambda x: fn.where(x > 0, x, x * negative_slope), inplace)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> import chainrule as cr
    >>> elu(cr.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return _in_place(tensor_arg(input), "elu_",
                     lambda x: fn.where(x > 0, x, fn.expm1(fn.clamp(x, max=0.0)) * alpha),
                     inplace)


def gelu(input, approximate: str = "none") -> Tensor:
    """``x * Φ(x)`` (Φ the standard normal CDF), or its tanh approximation with
    ``approximate='tanh'``, as ``torch.nn.functional.gelu``.

    >>> import chainrule as cr
    >>> gelu(cr.tensor([1.0, -1.0]))
    tensor([ 0.8413, -0.1587])
    >>> gelu(cr.tensor([1.0]), approximate="tanh")
    tensor([0.8412])
    """
    x = tensor_arg(input)
    if approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * (fn.tanh(inner) + 1.0) * 0.5
    if approximate != "none":
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # Φ(x) = erfc(-x / sqrt(2)) / 2, which keeps its digits in the left tail, where
    # (1 + erf(x / sqrt(2))) / 2 cancels
    return x * fn.erfc(x * (-1.0 / math.sqrt(2.0))) * 0.5


def silu(input, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (the swish)."""
    return _in_place(tensor_arg(input), "silu_", lambda x: x * fn.sigmoid(x), inplace)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    >>> import chainrule as cr
    >>> softplus(cr.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    x = tensor_arg(input)
    bx = x * beta
    soft = fn.log1p(fn.exp(fn.clamp(bx, max=float(threshold)))) / beta
    return fn.where(bx > threshold, x, soft)


def prelu(input, weight) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has one entry or one per
    channel (dim 1 of the input, dim 0 of a 1-D input)."""
    x, w = tensor_arg(input), tensor_arg(weight)
    if w.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 1-D, got shape {tuple(w.shape)}")
    if w.numel() != 1:
        channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
        if w.numel() != channels:
            raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {w.numel()} and channel size = "
                               f"{channels}.")
        if x.ndim >= 2:
            w = w.reshape((-1,) + (1,) * (x.ndim - 2))
    return fn.where(x > 0, x, w * x)
