"""Sparse gradients of indexing: the gradient of ``x[index]`` kept as ``(index, values)`` until
it meets a dense buffer, so that ``sum(x[i] for i in range(n))`` costs O(n) and not O(n^2).

The getitem rule (``rules/shape.py``) makes them; the backward walk adds them into dense
gradients (``np.add.at`` where an index may repeat) or densifies them when a rule or a hook
needs an array.
"""

from __future__ import annotations

import numpy as np


class SparseGrad:
    """The gradient of ``x[index]``: zeros of ``shape`` with ``values`` added at ``index``."""

    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape, index, values, basic: bool) -> None:
        self.shape = shape
        self.index = index
        self.values = values
        self.dtype = values.dtype
        self.basic = basic  # only ints and slices: no position can repeat

    def add_into(self, dense: np.ndarray) -> None:
        """Add the values into ``dense`` at the index (``np.add.at`` where one may repeat)."""
        if self.basic:
            dense[self.index] += self.values
        else:
            np.add.at(dense, self.index, self.values)

    def dense(self) -> np.ndarray:
        """The gradient as a new dense array."""
        out = np.zeros(self.shape, self.dtype)
        self.add_into(out)
        return out

    def astype(self, dtype) -> SparseGrad:
        """The same gradient with values of ``dtype`` (the real part, for a real dtype: the
        gradient of a real input from a complex cotangent)."""
        values = self.values
        if values.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            values = values.real
        return SparseGrad(self.shape, self.index, values.astype(dtype), self.basic)
