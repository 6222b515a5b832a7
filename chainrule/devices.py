"""``chainrule.device``: PyTorch's ``torch.device``, of which chainrule has one, the CPU.

chainrule computes with NumPy, so ``cr.device('cpu')`` (also ``'cpu:0'``, ``device('cpu', 0)``,
``device(type='cpu')``) is accepted everywhere a device is, ``Tensor.device`` is it, and any
other device (``'cuda'``, ``'mps'``) is refused with a RuntimeError saying so.
"""

from __future__ import annotations

import operator


class device:  # noqa: N801 (PyTorch's name)
    """A device: only the CPU exists.  As in PyTorch it equals another ``device('cpu')`` (of
    the same index), not the string ``'cpu'``: compare ``x.device.type == 'cpu'``.

    >>> import chainrule as cr
    >>> cr.device('cpu'), cr.tensor([1.]).device == cr.device('cpu')
    (device(type='cpu'), True)
    """

    __slots__ = ("_index",)

    def __init__(self, type: str | device = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = "cpu", type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' must be str, not {type.__class__.__name__}")
        name, _, number = type.partition(":")
        if name != "cpu":
            raise RuntimeError(f"device: {type!r} is not available; chainrule runs on the CPU "
                               f"(it computes with NumPy), so pass 'cpu' or leave the device out")
        if number:
            if index is not None:
                raise RuntimeError(f"device(): type (string) {type!r} must not include an index "
                                   f"because index was passed explicitly: {index}")
            if not number.isdigit():
                raise RuntimeError(f"device(): invalid device string: {type!r}")
            index = int(number)
        if index is not None:
            index = operator.index(index)
            if index < 0:
                raise RuntimeError(f"device(): device index must be non-negative, got {index}")
        self._index = index

    @property
    def type(self) -> str:  # noqa: A003
        """``'cpu'``."""
        return "cpu"

    @property
    def index(self) -> int | None:
        """The index given (None by default)."""
        return self._index

    def __repr__(self) -> str:
        extra = "" if self._index is None else f", index={self._index}"
        return f"device(type='cpu'{extra})"

    def __str__(self) -> str:
        return "cpu" if self._index is None else f"cpu:{self._index}"

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and other._index == self._index

    def __hash__(self) -> int:
        return hash(str(self))


CPU = device("cpu")
