"""``chainrule.device``: PyTorch's ``torch.device``; chainrule computes on one, the CPU.

chainrule computes with NumPy, so ``cr.device('cpu')`` (also ``'cpu:0'``, ``device('cpu', 0)``,
``device(type='cpu')``) is accepted everywhere a device is, and ``Tensor.device`` is it.  As in
PyTorch on a machine without the hardware, the other kinds PyTorch names (``'cuda'``,
``'cuda:1'``, ``'mps'``) can be named, compared and printed (the book's ``try_gpu()`` does,
before it falls back to the CPU), but placing a tensor or a module there is refused with a
RuntimeError saying so (``chainrule.arguments.check_device``); ``chainrule.cuda`` says that no
CUDA device is available.
"""

from __future__ import annotations

import operator

# the kinds of device PyTorch names; chainrule computes only on the CPU
ACCELERATORS = ("cuda", "mps", "xpu", "hip", "xla", "meta", "ipu", "hpu", "mtia", "npu",
                "vulkan", "privateuseone")


class device:  # noqa: N801 (PyTorch's name)
    """A device.  As in PyTorch it equals another ``device`` of the same type and index, not
    the string ``'cpu'``: compare ``x.device.type == 'cpu'``.

    >>> import chainrule as cr
    >>> cr.device('cpu'), cr.tensor([1.]).device == cr.device('cpu')
    (device(type='cpu'), True)
    >>> cr.device('cuda:1')           # a name only: cr.ones(2, device='cuda:1') is refused
    device(type='cuda', index=1)
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type: str | device = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' must be str, not {type.__class__.__name__}")
        name, _, number = type.partition(":")
        if name not in ("cpu",) + ACCELERATORS:
            raise RuntimeError(f"Expected one of {', '.join(('cpu',) + ACCELERATORS)} device "
                               f"type at start of device string: {type}")
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
        self._type = name
        self._index = index

    @property
    def type(self) -> str:  # noqa: A003
        """``'cpu'``, ``'cuda'`` ..."""
        return self._type

    @property
    def index(self) -> int | None:
        """The index given (None by default)."""
        return self._index

    def __repr__(self) -> str:
        extra = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{extra})"

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __eq__(self, other) -> bool:
        return (isinstance(other, device) and other._type == self._type
                and other._index == self._index)

    def __hash__(self) -> int:
        return hash(str(self))


CPU = device("cpu")
