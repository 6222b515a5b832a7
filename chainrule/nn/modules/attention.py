"""``MultiheadAttention`` of ``torch.nn`` (PyTorch keeps it in ``activation.py``; it has a file
of its own here), with PyTorch's parameter names, shapes and initialisation:
``in_proj_weight`` ``(3E, E)`` (or ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``
when ``kdim`` or ``vdim`` differ from ``E``), ``in_proj_bias`` ``(3E,)``, ``out_proj`` a
linear layer, ``bias_k`` and ``bias_v`` ``(1, 1, E)`` with ``add_bias_kv``.  The projections'
weights are Xavier-uniform, their biases zero, ``bias_k`` and ``bias_v`` Xavier-normal.

It calls :func:`chainrule.nn.functional.multi_head_attention_forward`.

>>> import chainrule as cr
>>> from chainrule import nn
>>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
>>> x = cr.randn(3, 5, 8)
>>> out, weights = mha(x, x, x)
>>> out.shape, weights.shape
((3, 5, 8), (3, 5, 5))
"""

from __future__ import annotations

import numpy as np

from chainrule import functions as fn
from chainrule.nn import init
from chainrule.nn.functional_attention import multi_head_attention_forward
from chainrule.nn.modules.linear import Linear, _empty
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj`` (so that
    reprs match); chainrule quantises nothing."""


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention``: ``num_heads`` heads of
    ``embed_dim // num_heads`` features attend separately and ``out_proj`` mixes them.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` takes ``(L, N, E)``, ``(S, N, kdim)`` and
    ``(S, N, vdim)`` (``(N, L, E)`` ... with ``batch_first``; or without ``N``) and returns
    ``(attn_output, attn_weights)``: weights ``(N, L, S)`` averaged over the heads, ``(N,
    num_heads, L, S)`` with ``average_attn_weights=False``, None with ``need_weights=False``.
    Boolean masks are True where a key is left out; float masks are added to the scores.
    Dropout (``dropout``) applies to the attention weights in training mode.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError(f"MultiheadAttention: embed_dim must be divisible by "
                                 f"num_heads, got embed_dim={embed_dim} and "
                                 f"num_heads={num_heads}")
        name = "MultiheadAttention"
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty(name, (3 * embed_dim, embed_dim), device, dtype)
            for part in ("q", "k", "v"):
                self.register_parameter(f"{part}_proj_weight", None)
        else:
            self.q_proj_weight = _empty(name, (embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = _empty(name, (embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = _empty(name, (embed_dim, self.vdim), device, dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty(name, (3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty(name, (1, 1, embed_dim), device, dtype)
            self.bias_v = _empty(name, (1, 1, embed_dim), device, dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        batched = np.ndim(query) == 3
        if self.batch_first and batched:
            same_kv = key is value
            same_qk = query is key
            query = fn.transpose(query, 0, 1)
            key = query if same_qk else fn.transpose(key, 0, 1)
            value = key if same_kv else fn.transpose(value, 0, 1)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = fn.transpose(out, 0, 1)
        return out, weights
