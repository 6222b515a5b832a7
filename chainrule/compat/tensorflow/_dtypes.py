"""TensorFlow's dtypes, shapes and errors: ``tf.float32`` and the other ``DType``s,
``tf.TensorShape``, ``tf.UnconnectedGradients``, ``tf.errors``; the vocabulary the other modules
of the TensorFlow front end are written in."""

from __future__ import annotations

import enum as _enum
import types as _types

import numpy as _np

# --------------------------------------------------------------------------------------------
# dtypes and shapes


class DType:
    """A TensorFlow dtype (``tf.float32``): ``name``, ``as_numpy_dtype``, ``is_floating``..."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._np = _np.dtype(name)

    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type (``np.float32`` for ``tf.float32``)."""
        return self._np.type

    @property
    def base_dtype(self) -> DType:
        """This dtype (eager dtypes are their own base)."""
        return self

    @property
    def is_floating(self) -> bool:
        """Whether this is a floating-point dtype."""
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        """Whether this is a signed or unsigned integer dtype."""
        return self._np.kind in "iu"

    @property
    def is_bool(self) -> bool:
        """Whether this is ``tf.bool``."""
        return self._np.kind == "b"

    @property
    def is_complex(self) -> bool:
        """Whether this is a complex dtype."""
        return self._np.kind == "c"

    @property
    def min(self):
        """The smallest representable value (of a float or integer dtype)."""
        return _np.finfo(self._np).min if self.is_floating else _np.iinfo(self._np).min

    @property
    def max(self):
        """The largest representable value (of a float or integer dtype)."""
        return _np.finfo(self._np).max if self.is_floating else _np.iinfo(self._np).max

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return self._np == other._np
        try:
            return self._np == _np.dtype(other)
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self._np)


float16 = half = DType("float16")
float32 = DType("float32")
float64 = double = DType("float64")
int8, int16, int32, int64 = DType("int8"), DType("int16"), DType("int32"), DType("int64")
uint8 = DType("uint8")
complex64, complex128 = DType("complex64"), DType("complex128")
bool = DType("bool")  # noqa: A001  (TensorFlow's name; the builtin is _builtins.bool here)
_DTYPES = {d._np: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8,
                              complex64, complex128, bool)}


def as_dtype(type_value) -> DType:
    """The ``DType`` for a ``DType``, a NumPy dtype or a name (``'float32'``)."""
    if isinstance(type_value, DType):
        return type_value
    return _DTYPES[_np.dtype(type_value)]


dtypes = _types.SimpleNamespace(as_dtype=as_dtype, DType=DType, **{
    d.name: d for d in _DTYPES.values()})


class TensorShape(tuple):
    """A tensor's shape: a tuple that prints as ``TensorShape([4, 4])`` (``str``: ``(4, 4)``)."""

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        return tuple.__repr__(self)

    @property
    def rank(self) -> int:
        """The number of dimensions."""
        return len(self)

    ndims = rank

    def as_list(self) -> list[int]:
        """The dimensions as a list of ints."""
        return list(self)

    def num_elements(self) -> int:
        """The number of elements (the product of the dimensions)."""
        return int(_np.prod(self, dtype=_np.int64))


class UnconnectedGradients(_enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


# --------------------------------------------------------------------------------------------
# errors


class OpError(Exception):
    """TensorFlow's base class of errors raised by operations."""

    def __init__(self, node_def=None, op=None, message: str = "", *args) -> None:
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(OpError):
    """An operation received an invalid argument (wrong dtype, incompatible shapes)."""


errors = _types.SimpleNamespace(OpError=OpError, InvalidArgumentError=InvalidArgumentError)
