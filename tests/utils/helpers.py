"""Comparing what chainrule.utils.data gives with what torch.utils.data gives: both sides
become plain Python (kind, dtype, shape, values) so structures, dtypes and numbers compare
with ``==``."""

from __future__ import annotations

import numpy as np

import chainrule as cr


def plain(x):
    """A chainrule or PyTorch batch as plain, comparable Python."""
    if isinstance(x, cr.Tensor):
        return ("tensor", str(np.dtype(x.dtype)), tuple(x.shape), x.detach().numpy().tolist())
    if type(x).__module__.startswith("torch") and hasattr(x, "numpy"):
        return ("tensor", str(x.numpy().dtype), tuple(x.shape), x.detach().numpy().tolist())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, *[plain(v) for v in x])
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return ["list", *[plain(v) for v in x]]
    if isinstance(x, tuple):
        return ("tuple", *[plain(v) for v in x])
    if isinstance(x, np.ndarray):
        return ("ndarray", str(x.dtype), x.tolist())
    return x


def as_torch(torch, x):
    """A sample structure with chainrule tensors replaced by PyTorch's."""
    if isinstance(x, cr.Tensor):
        return torch.from_numpy(x.detach().numpy().copy())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[as_torch(torch, v) for v in x])
    if isinstance(x, dict):
        return {k: as_torch(torch, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(as_torch(torch, v) for v in x)
    return x
