"""``chainrule.linalg``: norms (PyTorch's ``torch.linalg`` names)."""

from __future__ import annotations

from chainrule.functions import vector_norm
from chainrule.tensor import Tensor

__all__ = ["norm", "vector_norm"]


def norm(input, ord=None, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """The vector 2-norm of all entries by default (the Frobenius norm of a matrix).

    Other ``ord`` values give vector norms over ``dim``; matrix norms other than Frobenius
    (``ord=2`` on a matrix, the spectral norm) are not supported.

    >>> import chainrule as cr
    >>> cr.linalg.norm(cr.tensor([3., 4.]))
    tensor(5.)
    """
    if ord is not None and ord != "fro" and dim is None and input.ndim >= 2:
        raise NotImplementedError(f"linalg.norm: matrix norm ord={ord!r} is not supported; "
                                  "use ord=None or 'fro', or pass dim= for vector norms")
    return vector_norm(input, 2 if ord in (None, "fro") else ord, dim, keepdim)
