"""TensorFlow's eager autodiff interface on chainrule: ``import chainrule.compat.tensorflow as tf``.

The TensorFlow tab of the d2l chapter "Automatic Differentiation" runs with only its import line
changed and displays what TensorFlow displays::

    >>> import chainrule.compat.tensorflow as tf
    >>> x = tf.Variable(tf.range(4, dtype=tf.float32))
    >>> with tf.GradientTape() as t:
    ...     y = 2 * tf.tensordot(x, x, axes=1)
    >>> y
    <tf.Tensor: shape=(), dtype=float32, numpy=28.0>
    >>> t.gradient(y, x)
    <tf.Tensor: shape=(4,), dtype=float32, numpy=array([ 0.,  4.,  8., 12.], dtype=float32)>

How it maps onto chainrule (a thin client of its public API):

- A ``Tensor`` wraps an immutable ``chainrule.Tensor``; a ``Variable`` holds one and replaces
  it on ``assign``.  Operations outside every recording tape run under ``chainrule.no_grad()``.
- When a tape watches a tensor or variable (``watch``, or reading a trainable variable inside
  the tape), it gives that object a *stand-in*: a chainrule tensor with the same values that
  requires grad (a fresh leaf, or a ``clone`` of what an enclosing tape already watches, so
  that nested tapes chain).  While the tape records, operations read the stand-in and run
  under ``chainrule.enable_grad()``; each result remembers which tapes recorded it.
- ``gradient`` calls ``chainrule.autograd.grad(..., allow_unused=True)`` with respect to the
  tape's stand-ins, with ``create_graph=True`` when a tape is recording at that moment (nested
  tapes give higher derivatives).  Targets the tape did not record are unconnected.
- ``tf.autodiff.ForwardAccumulator`` makes its primals read ``chainrule.autograd.forward_ad``
  dual tensors while it is open, and keeps the tangent of every result computed inside.
"""

from __future__ import annotations

import builtins as _builtins
import contextlib as _contextlib
import enum as _enum
import logging as _logging
import numbers as _numbers
import types as _types

import numpy as _np

import chainrule as _cr
import chainrule.autograd.forward_ad as _fwAD
import chainrule.pytree as _pytree

_log = _logging.getLogger("tensorflow")

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

# --------------------------------------------------------------------------------------------
# recording state: the tapes recording now (in the order they started) and the open accumulator

_TAPES: list[GradientTape] = []
_ACCUMULATORS: list[ForwardAccumulator] = []


class _Token:
    """Identifies one recording of a tape (a tape gets a new token on reset or after use)."""

    __slots__ = ()


def _recording() -> list:
    return [tape._token for tape in _TAPES]


def _live() -> set:
    return {tape._token for tape in _TAPES} | {acc._token for acc in _ACCUMULATORS}


def _read(obj, live: set):
    """The chainrule tensor an operation sees for ``obj`` (its stand-in if a live tape has one)."""
    if isinstance(obj, Variable):
        obj._autowatch()
    return _current(obj, live)


def _tokens_of(obj) -> set:
    return set(obj._tokens).union(token for token, _ in obj._overrides)


_grad_mode = _cr.set_grad_enabled


def _op(fn, *args, **kwargs):
    """Run ``fn`` on the chainrule values of ``args`` (TF objects or lists of them); record it
    for the recording tapes that watch one of the inputs."""
    if not _TAPES and not _ACCUMULATORS:  # nothing watches: every object reads its own value
        with _np.errstate(all="ignore"), _grad_mode(False):
            out = fn(*[_own_value(a) for a in args], **kwargs)
        return _result(out, ())
    live = _live()
    tokens: set = set()

    def value(a):
        if isinstance(a, _TensorLike):
            read = _read(a, live)  # reading a variable may make a tape watch it
            tokens.update(_tokens_of(a))
            return read
        if isinstance(a, (list, tuple)):
            return type(a)(value(b) for b in a)
        return a

    values = [value(a) for a in args]
    recorded = tokens.intersection(_recording())
    with _np.errstate(all="ignore"), _grad_mode(_builtins.bool(recorded)):
        out = fn(*values, **kwargs)
    return _result(out, recorded)


def _own_value(a):
    """What an operation reads for ``a`` when no tape or accumulator is open."""
    if isinstance(a, _TensorLike):
        return a._value
    if isinstance(a, (list, tuple)):
        return type(a)(_own_value(b) for b in a)
    return a


def _result(out, tokens) -> Tensor:
    if not isinstance(out, _cr.Tensor):
        out = _cr.as_tensor(_np.asarray(out))
    result = Tensor(out, frozenset(tokens) if out.requires_grad else frozenset())
    if _ACCUMULATORS:
        tangent = _fwAD.unpack_dual(out).tangent
        if tangent is not None:
            result._jvps = {_ACCUMULATORS[-1]._token: tangent}
    return result


# --------------------------------------------------------------------------------------------
# conversions


def _kind(dtype: DType) -> str:
    return {"float32": "float", "float64": "double", "float16": "half"}.get(dtype.name, dtype.name)


def _array(value, dtype: DType | None = None) -> _np.ndarray:
    """``value`` as an ndarray with TensorFlow's dtype inference (float32, int32 for Python)."""
    if isinstance(value, _TensorLike):
        arr = value.numpy()
    elif isinstance(value, (_np.ndarray, _np.generic)):
        arr = _np.array(value)
    else:
        if isinstance(value, (list, tuple)):
            value = [v.numpy() if isinstance(v, _TensorLike) else v for v in value]
        arr = _np.array(value)
        if dtype is None and arr.dtype == _np.float64:
            arr = arr.astype(_np.float32)
        elif dtype is None and arr.dtype == _np.int64:
            info = _np.iinfo(_np.int32)
            if arr.size == 0 or (info.min <= arr.min() and arr.max() <= info.max):
                arr = arr.astype(_np.int32)
    if dtype is not None:
        target = as_dtype(dtype)._np
        if target.kind in "iub" and arr.dtype.kind in "fc" and not isinstance(value, _TensorLike):
            if not _np.all(_np.equal(_np.mod(arr, 1), 0)):
                shown = value if _np.ndim(value) == 0 else arr
                raise TypeError(f"Cannot convert {shown!r} to EagerTensor of dtype "
                                f"{as_dtype(dtype).name}")
        arr = arr.astype(target)
    return arr


def _as_tf(value, dtype: DType | None = None):
    """TF objects unchanged; anything else as a constant."""
    if isinstance(value, _TensorLike):
        return value
    return constant(value, dtype=dtype)


# --------------------------------------------------------------------------------------------
# display


def _numpy_text(arr: _np.ndarray, is_repr: _builtins.bool) -> str:
    # the book's TF 2.12 shows 0-d values as NumPy 1 showed scalars: 28.0, 0.1, True
    if arr.ndim == 0:
        text = _scalar_text(arr[()])
    else:
        text = repr(arr) if is_repr else str(arr)
    return "\n" + text if "\n" in text else text


def _scalar_text(x) -> str:
    """NumPy 1's ``str`` of a scalar (NumPy 2 shows float32 values from 1e6 on in scientific
    notation): positional from 1e-4 to 1e16, shortest round-trip digits."""
    if isinstance(x, _np.floating) and _np.isfinite(x):
        if x == 0 or 1e-4 <= abs(x) < 1e16:
            return _np.format_float_positional(x, unique=True, trim="0")
        return _np.format_float_scientific(x, unique=True, trim="-", exp_digits=2)
    return str(x)


# --------------------------------------------------------------------------------------------
# tensors and variables


class _TensorLike:
    """What ``Tensor`` and ``Variable`` share: values, conversions and operators."""

    __slots__ = ()
    __array_priority__ = 100  # ndarray <op> tensor defers to our reflected operators

    _tokens: frozenset = frozenset()
    _jvps: dict | None = None

    # -- values
    @property
    def dtype(self) -> DType:
        """The ``DType`` of the values."""
        return as_dtype(self._value.dtype)

    @property
    def shape(self) -> TensorShape:
        """The shape, a ``TensorShape``."""
        return TensorShape(self._value.shape)

    def get_shape(self) -> TensorShape:
        """The shape, a ``TensorShape`` (as ``.shape``)."""
        return self.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self._value.shape)

    @property
    def device(self) -> str:
        """The device's name: always the CPU."""
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def numpy(self):
        """The value as a NumPy array (a NumPy scalar for 0-d tensors), a copy."""
        arr = _np.array(self._value.detach().numpy())
        return arr[()] if arr.ndim == 0 else arr

    def __array__(self, dtype=None, copy=None):
        arr = _np.array(self._value.detach().numpy())
        return arr if dtype is None else arr.astype(dtype)

    def __bool__(self) -> _builtins.bool:
        return _builtins.bool(_np.asarray(self._value.detach().numpy()))

    def __float__(self) -> float:
        return float(_np.asarray(self._value.detach().numpy()))

    def __int__(self) -> int:
        return int(_np.asarray(self._value.detach().numpy()))

    def __index__(self) -> int:
        if not self.dtype.is_integer:
            raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis "
                            "(`None`) and scalar tf.int32/tf.int64 tensors are valid indices")
        return int(self)

    def __format__(self, spec: str) -> str:
        return format(self.numpy(), spec)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("Scalar tensor has no `len()`")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("Cannot iterate over a scalar tensor.")
        for i in _builtins.range(self.shape[0]):
            yield self[i]

    def __getitem__(self, index):
        if isinstance(index, tuple):
            index = tuple(_index(i) for i in index)
        else:
            index = _index(index)
        return _op(lambda v: v[index], self)

    # -- arithmetic (TensorFlow does not promote dtypes)
    def __add__(self, other):
        return _binary(self, other, lambda a, b: a + b, "AddV2")

    def __radd__(self, other):
        return _binary(other, self, lambda a, b: a + b, "AddV2")

    def __sub__(self, other):
        return _binary(self, other, lambda a, b: a - b, "Sub")

    def __rsub__(self, other):
        return _binary(other, self, lambda a, b: a - b, "Sub")

    def __mul__(self, other):
        return _binary(self, other, lambda a, b: a * b, "Mul")

    def __rmul__(self, other):
        return _binary(other, self, lambda a, b: a * b, "Mul")

    def __truediv__(self, other):
        return _truediv(self, other)

    def __rtruediv__(self, other):
        return _truediv(other, self)

    def __floordiv__(self, other):
        return _binary(self, other, lambda a, b: a // b, "FloorDiv")

    def __rfloordiv__(self, other):
        return _binary(other, self, lambda a, b: a // b, "FloorDiv")

    def __mod__(self, other):
        return _binary(self, other, lambda a, b: a % b, "FloorMod")

    def __rmod__(self, other):
        return _binary(other, self, lambda a, b: a % b, "FloorMod")

    def __pow__(self, other):
        return _binary(self, other, lambda a, b: a ** b, "Pow")

    def __rpow__(self, other):
        return _binary(other, self, lambda a, b: a ** b, "Pow")

    def __matmul__(self, other):
        return _binary(self, other, _cr.matmul, "MatMul")

    def __rmatmul__(self, other):
        return _binary(other, self, _cr.matmul, "MatMul")

    def __neg__(self):
        return _op(lambda a: -a, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _op(_cr.abs, self)

    def __invert__(self):
        return _op(_cr.logical_not, self)

    def __and__(self, other):
        return _binary(self, other, _cr.logical_and, "LogicalAnd")

    def __or__(self, other):
        return _binary(self, other, _cr.logical_or, "LogicalOr")

    # -- comparisons: elementwise, bool tensors
    def __eq__(self, other):
        if other is None:
            return False
        return _compare(self, other, _np.equal, "Equal")

    def __ne__(self, other):
        if other is None:
            return True
        return _compare(self, other, _np.not_equal, "NotEqual")

    def __lt__(self, other):
        return _compare(self, other, _np.less, "Less")

    def __le__(self, other):
        return _compare(self, other, _np.less_equal, "LessEqual")

    def __gt__(self, other):
        return _compare(self, other, _np.greater, "Greater")

    def __ge__(self, other):
        return _compare(self, other, _np.greater_equal, "GreaterEqual")

    def __hash__(self):
        raise TypeError(f"{type(self).__name__} is unhashable. Instead, use "
                        f"{type(self).__name__.lower()}.ref() as the key.")

    def ref(self):
        """A hashable reference (``ref.deref()`` gives the object back)."""
        return _Reference(self)

    experimental_ref = ref


class _Reference:
    __slots__ = ("_obj",)

    def __init__(self, obj) -> None:
        self._obj = obj

    def deref(self):
        """The tensor or variable this reference was made from."""
        return self._obj

    def __eq__(self, other) -> _builtins.bool:
        return isinstance(other, _Reference) and other._obj is self._obj

    def __hash__(self) -> int:
        return id(self._obj)


def _index(i):
    if isinstance(i, _TensorLike):
        arr = i.numpy()
        return int(arr) if _np.ndim(arr) == 0 else arr
    return i


def _binary(a, b, fn, op: str):
    if not isinstance(a, _TensorLike):
        a = constant(a, dtype=b.dtype)
    if not isinstance(b, _TensorLike):
        b = constant(b, dtype=a.dtype)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            None, None, f"cannot compute {op} as input #1(zero-based) was expected to be a "
            f"{_kind(a.dtype)} tensor but is a {_kind(b.dtype)} tensor [Op:{op}]")
    if _TAPES or _ACCUMULATORS:
        _check_shapes(a, b, op)  # (before the operation: a tape must not watch what it read)
        return _op(fn, a, b)
    try:
        return _op(fn, a, b)
    except ValueError:  # TensorFlow's message for shapes that do not broadcast
        _check_shapes(a, b, op)
        raise


def _check_shapes(a, b, op: str) -> None:
    if op == "MatMul":
        return
    try:
        _np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise InvalidArgumentError(
            None, None, f"Incompatible shapes: {_dims(a.shape)} vs. {_dims(b.shape)} "
            f"[Op:{op}]") from None


def _dims(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _truediv(a, b):
    like = a if isinstance(a, _TensorLike) else b
    if like.dtype.is_integer:  # TensorFlow divides integers in floating point
        wide = float32 if like.dtype.name in ("int8", "int16", "uint8") else float64
        a = cast(_as_tf(a, like.dtype), wide)
        b = cast(_as_tf(b, like.dtype), wide)
    return _binary(a, b, lambda x, y: x / y, "RealDiv")


def _compare(a, b, ufunc, op: str):
    if not isinstance(b, _TensorLike):
        b = constant(b, dtype=a.dtype)
    x, y = a.numpy(), b.numpy()
    try:
        _np.broadcast_shapes(_np.shape(x), _np.shape(y))
    except ValueError:
        if op in ("Equal", "NotEqual"):  # TF: incompatible_shape_error=False
            return constant(op == "NotEqual")
        raise InvalidArgumentError(None, None, f"Incompatible shapes: {_dims(_np.shape(x))} vs. "
                                   f"{_dims(_np.shape(y))} [Op:{op}]") from None
    return Tensor(_cr.as_tensor(_np.asarray(ufunc(x, y))))


class Tensor(_TensorLike):
    """An immutable eager tensor: ``<tf.Tensor: shape=(4,), dtype=float32, numpy=...>``."""

    __slots__ = ("_value", "_tokens", "_overrides", "_jvps", "__weakref__")

    def __init__(self, value, tokens: frozenset = frozenset()) -> None:
        self._value = value if isinstance(value, _cr.Tensor) else _cr.as_tensor(value)
        self._tokens = tokens
        self._overrides: list = []
        self._jvps = None

    def __repr__(self) -> str:
        arr = _np.asarray(self._value.detach().numpy())
        return (f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                f"numpy={_numpy_text(arr, True)}>")

    def __str__(self) -> str:
        arr = _np.asarray(self._value.detach().numpy())
        return f"tf.Tensor({_numpy_text(arr, False)}, shape={self.shape}, dtype={self.dtype.name})"


class _VariableState:
    __slots__ = ("value", "overrides", "name", "trainable")

    def __init__(self, value, name: str, trainable: _builtins.bool) -> None:
        self.value, self.overrides, self.name, self.trainable = value, [], name, trainable


class Variable(_TensorLike):
    """A mutable tensor; trainable variables are watched by the tapes that read them.

    >>> import chainrule.compat.tensorflow as tf
    >>> tf.Variable([1.0, 2.0])
    <tf.Variable 'Variable:0' shape=(2,) dtype=float32, numpy=array([1., 2.], dtype=float32)>
    """

    _shown_name: str | None = None

    def __init__(self, initial_value=None, trainable: _builtins.bool | None = None,
                 validate_shape: _builtins.bool = True, caching_device=None,
                 name: str | None = None, variable_def=None, dtype=None, import_scope=None,
                 constraint=None, synchronization=None, aggregation=None, shape=None,
                 experimental_enable_variable_lifting=True) -> None:
        if initial_value is None:
            raise ValueError("The `initial_value` arg (None) must be specified.")
        if callable(initial_value):
            initial_value = initial_value()
        arr = _array(initial_value, dtype)
        self._state = _VariableState(_cr.as_tensor(_np.array(arr)),
                                     f"{name or 'Variable'}:0",
                                     True if trainable is None else _builtins.bool(trainable))
        self._jvps = None

    @classmethod
    def _view(cls, state: _VariableState, shown_name: str) -> Variable:
        view = cls.__new__(cls)
        view._state, view._shown_name, view._jvps = state, shown_name, None
        return view

    # -- state
    @property
    def _value(self):
        return self._state.value

    @property
    def _overrides(self) -> list:
        return self._state.overrides

    @property
    def name(self) -> str:
        """The name given at creation plus ``':0'`` (``'Variable:0'``)."""
        return self._state.name

    @property
    def trainable(self) -> _builtins.bool:
        """Whether tapes watch the variable when they read it (floating dtypes only)."""
        return self._state.trainable

    def _autowatch(self) -> None:
        if not _TAPES or not self.trainable or not self.dtype.is_floating:
            return
        for tape in list(_TAPES):
            if tape._watch_accessed_variables:
                tape._watch(self)

    def value(self) -> Tensor:
        """The current value as a tensor (recorded by the tapes that watch the variable)."""
        return _op(lambda v: v, self)

    read_value = value

    # -- updates
    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Set the value (converted to the variable's dtype); the tapes' records keep the values
        they saw."""
        arr = _array(value, self.dtype)
        if arr.shape != tuple(self.shape):
            raise ValueError(
                f"Cannot assign value to variable ' {self.name}': Shape mismatch.The variable "
                f"shape {self.shape}, and the assigned value shape {TensorShape(arr.shape)} are "
                "incompatible.")
        state = self._state
        state.value = _cr.as_tensor(_np.array(arr))
        # every tape (or accumulator) that watches the variable gets a stand-in for the new value
        previous, seen = state.value, []
        for token, _ in list(state.overrides):
            if any(token is t for t in seen):
                continue
            seen.append(token)
            if isinstance(token, _AccumulatorToken):
                continue
            state.overrides.append((token, _stand_in(previous)))
            previous = state.overrides[-1][1]
        return Variable._view(state, "UnreadVariable") if read_value else None

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """Add ``delta`` to the value (``assign(value + delta)``)."""
        return self.assign(self.numpy() + _array(delta, self.dtype), read_value=read_value)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """Subtract ``delta`` from the value (``assign(value - delta)``)."""
        return self.assign(self.numpy() - _array(delta, self.dtype), read_value=read_value)

    def __iadd__(self, other):
        raise RuntimeError("`variable += value` with `tf.Variable`s is not supported. Use "
                           "`variable.assign_add(value)` to modify the variable, or `out = "
                           "variable + value` if you need to get a new output Tensor.")

    def __isub__(self, other):
        raise RuntimeError("`variable -= value` with `tf.Variable`s is not supported. Use "
                           "`variable.assign_sub(value)` to modify the variable, or `out = "
                           "variable - value` if you need to get a new output Tensor.")

    def __repr__(self) -> str:
        arr = _np.asarray(self._value.detach().numpy())
        return (f"<tf.Variable '{self._shown_name or self.name}' shape={self.shape} "
                f"dtype={self.dtype.name}, numpy={_numpy_text(arr, True)}>")

    __str__ = __repr__


def _stand_in(current):
    """A chainrule tensor that requires grad with ``current``'s values: connected to
    ``current``'s graph (and forward tangent) if it has one, a fresh leaf otherwise."""
    with _np.errstate(all="ignore"), _cr.enable_grad():
        if current.requires_grad:
            return _cr.clone(current)
        leaf = current.detach().requires_grad_(True)
        if _ACCUMULATORS:
            tangent = _fwAD.unpack_dual(current).tangent
            if tangent is not None:
                return _fwAD.make_dual(leaf, tangent)
        return leaf


# --------------------------------------------------------------------------------------------
# GradientTape

_NON_PERSISTENT = ("A non-persistent GradientTape can only be used to compute one set of "
                   "gradients (or jacobians)")
_PERSISTENT_INSIDE = (
    "Calling GradientTape.gradient on a persistent tape inside its context is significantly "
    "less efficient than calling it outside the context (it causes the gradient ops to be "
    "recorded on the tape, leading to increased CPU and memory usage). Only call "
    "GradientTape.gradient inside the context if you actually want to trace the gradient in "
    "order to compute higher order derivatives.")


class GradientTape:
    """Records operations on watched tensors inside its ``with`` block for ``gradient``.

    ``persistent=True`` allows several ``gradient``/``jacobian`` calls; trainable variables read
    inside the block are watched unless ``watch_accessed_variables=False``; constants need
    ``watch``.
    """

    def __init__(self, persistent: _builtins.bool = False,
                 watch_accessed_variables: _builtins.bool = True) -> None:
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._token = _Token()
        self._watched: list = []  # the objects this recording gave a stand-in
        self._used = False
        self._kept: tuple = ()

    def __del__(self) -> None:
        # drop the stand-ins this tape left on the variables and tensors it watched
        self._forget()

    # -- recording
    @property
    def _recording_now(self) -> _builtins.bool:
        return any(tape is self for tape in _TAPES)

    def __enter__(self) -> GradientTape:
        if self._recording_now:
            raise ValueError("Tape is still recording, This can happen if you try to re-enter an "
                             "already-active tape.")
        if self._used:  # a used non-persistent tape starts afresh
            self._used = False
        _TAPES.append(self)
        return self

    def __exit__(self, *exc) -> None:
        self._pop()

    def _pop(self) -> None:
        for i, tape in enumerate(_TAPES):
            if tape is self:
                del _TAPES[i]
                return

    @_contextlib.contextmanager
    def stop_recording(self):
        """Operations inside this block are not recorded (they are constants for the tape)."""
        if not self._recording_now:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        self._pop()
        try:
            yield
        finally:
            _TAPES.append(self)

    def reset(self) -> None:
        """Forget everything recorded so far; recording goes on."""
        if not self._recording_now:
            raise ValueError("Tape is not recording.")
        self._forget()

    def _forget(self) -> None:
        for obj in self._watched:
            obj._overrides[:] = [(t, v) for t, v in obj._overrides if t is not self._token]
        self._watched = []
        self._token = _Token()

    def watch(self, tensor) -> None:
        """Trace ``tensor`` (a tensor, a variable, or a nested structure of them)."""
        for obj in _pytree.tree_leaves(tensor):
            if not isinstance(obj, _TensorLike):
                raise ValueError(f"Passed in object {obj!r} of type {type(obj).__name__!r}, not "
                                 "tf.Tensor or tf.Variable or ExtensionType.")
            if not (obj.dtype.is_floating or obj.dtype.is_complex):
                _log.warning("The dtype of the watched tensor must be floating (e.g. "
                             "tf.float32), got %r", obj.dtype)
                continue
            self._watch(obj)

    def _watch(self, obj) -> None:
        if any(token is self._token for token, _ in obj._overrides):
            return
        inner = {tape._token for tape in _TAPES[_TAPES.index(self) + 1:]} if self in _TAPES \
            else set()
        if any(token in inner for token, _ in obj._overrides):
            # the stand-ins chain from outer to inner tapes; the other order would be wrong
            raise RuntimeError("GradientTape.watch: a tape nested inside this one already "
                               "watches this tensor. chainrule's TensorFlow front end needs the "
                               "outer tape to watch it first: call watch on the outer tape "
                               "before the inner tape starts watching.")
        stand_in = _stand_in(_current(obj))
        obj._overrides.append((self._token, stand_in))
        self._watched.append(obj)

    def watched_variables(self) -> tuple:
        """The variables this tape watches, in the order it started watching them."""
        if self._used:
            return self._kept
        out: list = []
        for obj in self._watched:
            if isinstance(obj, Variable) and not any(o._state is obj._state for o in out):
                out.append(obj)
        return tuple(out)

    # -- differentiation
    def _begin(self) -> None:
        if self._used:
            raise RuntimeError(_NON_PERSISTENT)
        if self._recording_now:
            if self._persistent:
                _log.warning(_PERSISTENT_INSIDE)
            else:
                self._pop()

    def _end(self) -> None:
        if not self._persistent:
            watched = self.watched_variables()
            self._used = True
            self._forget()
            self._kept = watched  # TensorFlow still lists them after the tape is used

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """The gradient of ``target`` (its sum, if it is not a scalar; the sum of the targets of
        a list) with respect to each of ``sources``, in the structure of ``sources``.

        Sources the target does not depend on, or that this tape does not watch, give None
        (zeros with ``unconnected_gradients=tf.UnconnectedGradients.ZERO``).
        """
        if target is None:
            raise TypeError("Argument `target` should be a list or nested structure of Tensors, "
                            "Variables or CompositeTensors to be differentiated, but received "
                            "None.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            targets = _pytree.tree_leaves(target)
            heads = ([None] * len(targets) if output_gradients is None
                     else _pytree.tree_leaves(output_gradients))
            if len(heads) != len(targets):
                raise ValueError("target and output_gradients must have the same structure")
            flat, structure = _pytree.flatten(sources)
            grads = self._grads(targets, heads, flat)
            result = [_finish(g, src, unconnected) for g, src in zip(grads, flat)]
        finally:
            self._end()
        if isinstance(sources, (list, tuple, dict)):
            return _pytree.unflatten(structure, result)
        return result[0]

    def _grads(self, targets: list, heads: list, sources: list) -> list:
        """One gradient per source (a chainrule tensor, or None), or raise."""
        for s in sources:
            if not isinstance(s, _TensorLike):
                raise AttributeError(f"'{type(s).__name__}' object has no attribute 'dtype'")
        # a tape records the gradient computation itself, or an accumulator pushes tangents
        # through it (forward over reverse)
        create = _builtins.bool(_TAPES) or _builtins.bool(_ACCUMULATORS)
        outputs, seeds, tokens = [], [], set()
        for tgt, head in zip(targets, heads):
            if not isinstance(tgt, _TensorLike):
                raise TypeError("Argument `target` should be a list or nested structure of "
                                "Tensors, Variables or CompositeTensors to be differentiated, "
                                f"but received {tgt!r}.")
            value = tgt._value
            for token, v in tgt._overrides:
                if token is self._token:
                    value = v
            if self._token not in _tokens_of(tgt) or not value.requires_grad:
                continue  # not recorded by this tape: unconnected
            outputs.append(value)
            seeds.append(_seed(value, head))
            tokens.update(_tokens_of(tgt))
        inputs, owners = [], []
        for i, src in enumerate(sources):
            for token, v in src._overrides:
                if token is self._token and not any(v is w for w in inputs):
                    inputs.append(v)
                    owners.append(i)
        grads: list = [None] * len(sources)
        if not outputs or not inputs:
            return grads
        with _np.errstate(all="ignore"), _grad_mode(create):
            got = _cr.autograd.grad(outputs, inputs, grad_outputs=seeds, retain_graph=True,
                                    create_graph=create, allow_unused=True)
            for i, g in zip(owners, got):
                if g is not None:
                    grads[i] = g if grads[i] is None else grads[i] + g
        recorded = tokens.intersection(_recording())
        return [None if g is None else (g, recorded) for g in grads]

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor: _builtins.bool = True):
        """The Jacobian of ``target`` with respect to each source: shape
        ``target.shape + source.shape``."""
        if not experimental_use_pfor and not self._persistent:
            raise RuntimeError("GradientTape must be created with persistent=True to compute the "
                               "jacobian with eager execution enabled and with  "
                               "experimental_use_pfor set to False.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            flat, structure = _pytree.flatten(sources)
            jacs = self._jacobians(target, flat)
            result = [_finish(j, src, unconnected, tuple(target.shape))
                      for j, src in zip(jacs, flat)]
        finally:
            self._end()
        if isinstance(sources, (list, tuple, dict)):
            return _pytree.unflatten(structure, result)
        return result[0]

    def _jacobians(self, target, sources: list) -> list:
        out_shape = tuple(target.shape)
        n = int(_np.prod(out_shape, dtype=_np.int64))
        rows: list = [[] for _ in sources]
        tokens: set = set()
        dtype = target.dtype.as_numpy_dtype
        for k in _builtins.range(n):
            onehot = _np.zeros(n, dtype)
            onehot[k] = 1
            head = Tensor(_cr.as_tensor(onehot.reshape(out_shape)))
            for i, g in enumerate(self._grads([target], [head], sources)):
                rows[i].append(g)
        result: list = []
        for src, src_rows in zip(sources, rows):
            if all(r is None for r in src_rows):
                result.append(None)
                continue
            zeros = _np.zeros(tuple(src.shape), src.dtype.as_numpy_dtype)
            with _grad_mode(_builtins.bool(_TAPES) or _builtins.bool(_ACCUMULATORS)):
                parts = [_cr.as_tensor(zeros) if r is None else r[0] for r in src_rows]
                for r in src_rows:
                    if r is not None:
                        tokens.update(r[1])
                jac = (_cr.stack(parts) if parts else _cr.as_tensor(zeros[None][:0]))
                jac = jac.reshape(out_shape + tuple(src.shape))
            result.append((jac, tokens))
        return result

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor: _builtins.bool = True):
        """Per-example Jacobians: ``result[b] = d target[b] / d source[b]``, of shape
        ``[batch] + target.shape[1:] + source.shape[1:]``."""
        if not experimental_use_pfor and not self._persistent:
            raise RuntimeError("GradientTape must be created with persistent=True to compute the "
                               "batch_jacobian with eager execution enabled and with  "
                               "experimental_use_pfor set to False.")
        t_shape, s_shape = tuple(target.shape), tuple(source.shape)
        if not t_shape or not s_shape or t_shape[0] != s_shape[0]:
            raise ValueError("Need first dimension of `target` shape "
                             f"({TensorShape(t_shape)}) and `source` shape "
                             f"({TensorShape(s_shape)}) to match.")
        self._begin()
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
            (jac,) = self._jacobians(target, [source])
            if jac is not None:
                full, tokens = jac
                batch = t_shape[0]
                with _grad_mode(_builtins.bool(_TAPES)):
                    flat = full.reshape((batch, -1, batch, max(1, int(_np.prod(s_shape[1:])))))
                    diag = _cr.stack([flat[b, :, b, :] for b in _builtins.range(batch)])
                    diag = diag.reshape(t_shape + s_shape[1:])
                jac = (diag, tokens)
            result = _finish(jac, source, unconnected, t_shape, s_shape[1:])
        finally:
            self._end()
        return result


def _current(var, live=None):
    live = _live() if live is None else live
    for token, value in reversed(var._overrides):
        if token in live:
            return value
    return var._value


def _seed(value, head):
    if head is None:
        return _cr.as_tensor(_np.ones(value.shape, value.dtype))
    head = head if isinstance(head, _TensorLike) else constant(head)
    h = _read(head, _live())
    if tuple(h.shape) != tuple(value.shape):
        try:
            _np.broadcast_shapes(tuple(h.shape), tuple(value.shape))
        except ValueError:
            raise InvalidArgumentError(
                None, None, f"Incompatible shapes: {_dims(h.shape)} vs. {_dims(value.shape)} "
                "[Op:Mul]") from None
        h = _cr.broadcast_to(h, tuple(value.shape))
    return h if h.dtype == value.dtype else h.to(value.dtype)


def _finish(got, source, unconnected: UnconnectedGradients, out_shape=(), src_shape=None):
    """A gradient (or Jacobian) as a TF tensor, or None/zeros when unconnected."""
    if got is None:
        if unconnected is UnconnectedGradients.ZERO:
            shape = tuple(out_shape) + tuple(source.shape if src_shape is None else src_shape)
            return constant(_np.zeros(shape, source.dtype.as_numpy_dtype))
        return None
    value, tokens = got
    return _result(value, tokens)


# --------------------------------------------------------------------------------------------
# forward mode


class _AccumulatorToken(_Token):
    __slots__ = ()


class ForwardAccumulator:
    """Forward mode: computations inside the ``with`` block carry tangents.

    >>> import chainrule.compat.tensorflow as tf
    >>> x = tf.constant([1., 2.])
    >>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1., 0.])) as acc:
    ...     y = x * x
    >>> acc.jvp(y)
    <tf.Tensor: shape=(2,), dtype=float32, numpy=array([2., 0.], dtype=float32)>
    """

    def __init__(self, primals, tangents) -> None:
        self._primals = _pytree.tree_leaves(primals)
        self._tangents = _pytree.tree_leaves(tangents)
        if len(self._primals) != len(self._tangents):
            raise ValueError("primals and tangents must have the same structure")
        for p, t in zip(self._primals, self._tangents):
            if not isinstance(p, _TensorLike):
                raise TypeError(f"primals must be tensors or variables, got {type(p).__name__}")
            if tuple(_as_tf(t).shape) != tuple(p.shape):
                raise ValueError(f"Tangent {t!r} shape {_as_tf(t).shape} did not match the "
                                 f"shape of the primal it corresponds to ({p.shape}).")
        self._token = _AccumulatorToken()

    def __enter__(self) -> ForwardAccumulator:
        if _ACCUMULATORS:
            raise NotImplementedError(
                "chainrule's ForwardAccumulator cannot be nested: chainrule.autograd.forward_ad "
                "opens one level of forward mode at a time (use chainrule.func.jvp inside jvp)")
        _fwAD.enter_dual_level()
        _ACCUMULATORS.append(self)
        for p, t in zip(self._primals, self._tangents):
            tangent = _read(_as_tf(t, p.dtype), set()).detach()
            if tangent.dtype != p._value.dtype:
                tangent = tangent.to(p._value.dtype)
            current = _read(p, _live())
            with _grad_mode(current.requires_grad):
                dual = _fwAD.make_dual(current, tangent)
            p._overrides.append((self._token, dual))
            p._jvps = dict(p._jvps or {})
            p._jvps[self._token] = tangent
        return self

    def __exit__(self, *exc) -> None:
        for p in self._primals:
            p._overrides[:] = [(t, v) for t, v in p._overrides if t is not self._token]
        _ACCUMULATORS.remove(self)
        _fwAD.exit_dual_level()

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The Jacobian-vector product of each tensor computed inside (None if unconnected)."""
        unconnected = UnconnectedGradients(unconnected_gradients)
        out = []
        flat, structure = _pytree.flatten(primals)
        for obj in flat:
            tangent = (obj._jvps or {}).get(self._token) if isinstance(obj, _TensorLike) else None
            if tangent is None:
                out.append(_finish(None, obj, unconnected))
            else:  # differentiable by the tapes that recorded obj (reverse over forward)
                tokens = _tokens_of(obj).intersection(_recording())
                out.append(Tensor(tangent, frozenset(tokens) if tangent.requires_grad
                                  else frozenset()))
        if isinstance(primals, (list, tuple, dict)):
            return _pytree.unflatten(structure, out)
        return out[0]


autodiff = _types.SimpleNamespace(ForwardAccumulator=ForwardAccumulator,
                                  GradientTape=GradientTape)

# --------------------------------------------------------------------------------------------
# creation


def constant(value, dtype=None, shape=None, name: str = "Const") -> Tensor:
    """A tensor with ``value``: Python floats become float32, Python ints int32; NumPy arrays
    keep their dtype."""
    if isinstance(value, Tensor) and (dtype is None or as_dtype(dtype) == value.dtype) \
            and shape is None:
        return value
    arr = _array(value, dtype)
    if shape is not None:
        shape = tuple(_np.atleast_1d(_np.asarray(shape, dtype=_np.int64)).tolist()) \
            if _np.ndim(shape) else (int(shape),)
        arr = _np.broadcast_to(arr, shape).copy() if arr.size == 1 else arr.reshape(shape)
    return Tensor(_cr.as_tensor(arr))


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """``value`` as a tensor (a tensor unchanged; a variable's current value)."""
    if isinstance(value, Tensor) and (dtype is None or as_dtype(dtype) == value.dtype):
        return value
    if isinstance(value, Variable) and (dtype is None or as_dtype(dtype) == value.dtype):
        return value.value()
    return constant(value, dtype=dtype)


def is_tensor(x) -> _builtins.bool:
    """Whether ``x`` is a ``tf.Tensor`` or a ``tf.Variable``."""
    return isinstance(x, (Tensor, Variable))


def range(start, limit=None, delta=1, dtype=None, name: str = "range") -> Tensor:  # noqa: A001
    """``tf.range(4)`` (int32), ``tf.range(4.0)`` or ``tf.range(4, dtype=tf.float32)``."""
    if limit is None:
        start, limit = 0, start
    values = [_np.asarray(v.numpy() if isinstance(v, _TensorLike) else v)
              for v in (start, limit, delta)]
    if dtype is None:
        dtype = float32 if any(v.dtype.kind == "f" for v in values) else int32
    np_dtype = as_dtype(dtype)._np
    arr = _np.arange(*(v.astype(np_dtype) for v in values), dtype=np_dtype)
    return Tensor(_cr.as_tensor(arr))


def _shape(shape) -> tuple:
    if isinstance(shape, _TensorLike):
        shape = shape.numpy().tolist()
    if isinstance(shape, (int, _np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def zeros(shape, dtype=float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with zeros, float32 by default."""
    return Tensor(_cr.as_tensor(_np.zeros(_shape(shape), as_dtype(dtype)._np)))


def ones(shape, dtype=float32, name=None) -> Tensor:
    """A tensor of ``shape`` filled with ones, float32 by default."""
    return Tensor(_cr.as_tensor(_np.ones(_shape(shape), as_dtype(dtype)._np)))


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value``, of ``value``'s dtype."""
    arr = _array(value)
    return Tensor(_cr.as_tensor(_np.full(_shape(dims), arr, arr.dtype)))


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    """Zeros of ``input``'s shape, of its dtype unless ``dtype`` is given."""
    x = _as_tf(input)
    return zeros(x.shape, dtype or x.dtype)


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    """Ones of ``input``'s shape, of its dtype unless ``dtype`` is given."""
    x = _as_tf(input)
    return ones(x.shape, dtype or x.dtype)


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included); float32 for ints."""
    arr = _np.linspace(_array(start), _array(stop), int(num), axis=axis)
    dtype = _array(start).dtype
    return Tensor(_cr.as_tensor(arr.astype(dtype if dtype.kind == "f" else _np.float32)))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None) -> Tensor:
    """An identity matrix (ones on the diagonal), float32 by default; ``batch_shape`` is ignored."""
    return Tensor(_cr.as_tensor(_np.eye(num_rows, num_columns, dtype=as_dtype(dtype)._np)))


# --------------------------------------------------------------------------------------------
# operations


def identity(input, name=None) -> Tensor:  # noqa: A002
    """A tensor with the same values (recorded by the tapes watching ``input``)."""
    return _op(lambda v: v, _as_tf(input))


def stop_gradient(input, name=None) -> Tensor:  # noqa: A002
    """The same values, with no gradient flowing back (a constant for every tape)."""
    x = _as_tf(input)
    return Tensor(_read(x, _live()).detach())


def cast(x, dtype, name=None) -> Tensor:
    """``x`` converted to ``dtype`` (``x`` itself if it is a tensor of that dtype)."""
    x, target = _as_tf(x), as_dtype(dtype)
    if x.dtype == target:
        return x if isinstance(x, Tensor) else identity(x)
    return _op(lambda v: v.to(target._np), x)


def _axis(axis):
    if isinstance(axis, _TensorLike):
        axis = axis.numpy().tolist()
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def _reduce(crfn):
    def reduce(input_tensor, axis=None, keepdims: _builtins.bool = False, name=None):
        x = _as_tf(input_tensor)
        dtype = x.dtype._np
        return _op(lambda v: _keep_dtype(crfn(v, dim=_axis(axis), keepdim=keepdims), dtype), x)

    return reduce


def _keep_dtype(v, dtype):
    return v if v.dtype == dtype else v.to(dtype)


reduce_sum = _reduce(_cr.sum)
reduce_max = _reduce(_cr.amax)
reduce_min = _reduce(_cr.amin)
reduce_prod = _reduce(_cr.prod)
reduce_sum.__doc__ = "Sum over ``axis`` (all axes by default), keeping the input's dtype."
reduce_max.__doc__ = "Maximum over ``axis`` (all axes by default)."
reduce_min.__doc__ = "Minimum over ``axis`` (all axes by default)."
reduce_prod.__doc__ = "Product over ``axis`` (all axes by default), keeping the input's dtype."


def reduce_mean(input_tensor, axis=None, keepdims: _builtins.bool = False, name=None) -> Tensor:
    """Mean over ``axis`` (all axes by default); integer tensors give truncated integer means."""
    x = _as_tf(input_tensor)
    if x.dtype.is_integer:
        arr = x.numpy()
        total = _np.sum(arr, axis=_axis(axis), keepdims=keepdims)
        count = arr.size // max(1, _np.size(total))
        return constant(_np.fix(total / count).astype(arr.dtype))
    return _op(lambda v: _cr.mean(v, dim=_axis(axis), keepdim=keepdims), x)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None) -> Tensor:  # noqa: A002
    """The norm of the flattened tensor (or along ``axis``), computed as TensorFlow does:
    ``sqrt(reduce_sum(x * x))`` for the Euclidean norm, so its gradient at 0 is nan."""
    x = _as_tf(tensor)
    axis = _axis(axis)
    keep = _builtins.bool(keepdims)
    if ord in ("euclidean", "fro", 2, 2.0):
        if ord == 2 and isinstance(axis, tuple) and len(axis) == 2:
            raise NotImplementedError("tf.norm: the spectral norm (ord=2 over two axes) is not "
                                      "supported; use ord='euclidean'")

        def compute(v):
            return _cr.sqrt(_cr.sum(v * v, dim=axis, keepdim=keep))
    elif isinstance(ord, _numbers.Real) and ord > 0:  # (TensorFlow's vector norms: ord > 0)
        def compute(v):
            return _cr.linalg.vector_norm(v, ord, dim=axis, keepdim=keep)
    else:
        raise ValueError(f"'ord' must be a supported vector norm, got {ord}.")
    return _op(compute, x)


def tensordot(a, b, axes, name=None) -> Tensor:
    """Sum over ``axes``: ``axes=1`` of two vectors is their inner product, ``0`` the outer."""
    a, b = _as_tf(a), _as_tf(b)
    if isinstance(axes, _TensorLike):
        axes = axes.numpy().tolist()
    if isinstance(axes, (list, tuple)):
        axes = tuple(list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes)
    return _binary(a, b, lambda x, y: _cr.tensordot(x, y, dims=axes), "TensorDot")


def matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unused) -> Tensor:
    """``a @ b``, after transposing ``a``/``b`` if asked; other keyword options are ignored."""
    a, b = _as_tf(a), _as_tf(b)

    def product(x, y):
        x = _cr.swapaxes(x, -1, -2) if transpose_a else x
        y = _cr.swapaxes(y, -1, -2) if transpose_b else y
        return _cr.matmul(x, y)

    return _binary(a, b, product, "MatMul")


def reshape(tensor, shape, name=None) -> Tensor:
    """The values of ``tensor`` in shape ``shape``."""
    return _op(lambda v: _cr.reshape(v, _shape(shape)), _as_tf(tensor))


def transpose(a, perm=None, conjugate=False, name="transpose") -> Tensor:
    """``a`` with its axes permuted by ``perm`` (reversed by default); ``conjugate`` is ignored."""
    x = _as_tf(a)
    perm = tuple(reversed(_builtins.range(x.ndim))) if perm is None else _shape(perm)
    return _op(lambda v: _cr.permute(v, *perm), x)


def squeeze(input, axis=None, name=None) -> Tensor:  # noqa: A002
    """``input`` without its size-1 axes (only those in ``axis``, if given)."""
    x = _as_tf(input)
    axes = _axis(axis)
    if axes is None:
        new = tuple(d for d in x.shape if d != 1)
    else:
        axes = {a % x.ndim for a in (axes if isinstance(axes, tuple) else (axes,))}
        new = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return reshape(x, new)


def expand_dims(input, axis, name=None) -> Tensor:  # noqa: A002
    """``input`` with a new axis of size 1 inserted at ``axis``."""
    return _op(lambda v: _cr.unsqueeze(v, int(axis)), _as_tf(input))


def concat(values, axis, name="concat") -> Tensor:
    """The tensors ``values`` joined along the existing axis ``axis``."""
    return _op(lambda vs: _cr.cat(list(vs), dim=int(axis)), [_as_tf(v) for v in values])


def stack(values, axis=0, name="stack") -> Tensor:
    """The tensors ``values`` stacked along a new axis ``axis``."""
    return _op(lambda vs: _cr.stack(list(vs), dim=int(axis)), [_as_tf(v) for v in values])


def where(condition, x=None, y=None, name=None) -> Tensor:
    """``x`` where ``condition`` is true, else ``y``; alone, the true indices (int64)."""
    cond = _as_tf(condition)
    if x is None and y is None:
        return constant(_np.argwhere(cond.numpy()).astype(_np.int64))
    x = _as_tf(x) if isinstance(x, _TensorLike) or not isinstance(y, _TensorLike) \
        else constant(x, dtype=y.dtype)
    y = _as_tf(y, x.dtype)
    return _op(_cr.where, cond, x, y)


def _unary(crfn, doc: str):
    def op(x, name=None):
        return _op(crfn, _as_tf(x))

    op.__doc__ = doc
    return op


abs = _unary(_cr.abs, "Elementwise absolute value.")  # noqa: A001
exp = _unary(_cr.exp, "Elementwise exponential.")
_log_e = _unary(_cr.log, "Elementwise natural logarithm (``tf.math.log``).")
sin = _unary(_cr.sin, "Elementwise sine.")
cos = _unary(_cr.cos, "Elementwise cosine.")
tan = _unary(_cr.tan, "Elementwise tangent.")
tanh = _unary(_cr.tanh, "Elementwise hyperbolic tangent.")
sqrt = _unary(_cr.sqrt, "Elementwise square root.")
square = _unary(_cr.square, "Elementwise square.")
sigmoid = _unary(_cr.sigmoid, "Elementwise logistic sigmoid.")
negative = _unary(lambda v: -v, "Elementwise negation.")


def _binary_function(forward, reflected, doc: str):
    def op(x, y, name=None):
        if isinstance(x, _TensorLike):
            return forward(x, y)
        if isinstance(y, _TensorLike):
            return reflected(y, x)
        return forward(constant(x), y)

    op.__doc__ = doc
    return op


add = _binary_function(_TensorLike.__add__, _TensorLike.__radd__, "x + y, elementwise.")
subtract = _binary_function(_TensorLike.__sub__, _TensorLike.__rsub__, "x - y, elementwise.")
multiply = _binary_function(_TensorLike.__mul__, _TensorLike.__rmul__, "x * y, elementwise.")
divide = _binary_function(_TensorLike.__truediv__, _TensorLike.__rtruediv__,
                          "x / y, elementwise.")
pow = _binary_function(_TensorLike.__pow__, _TensorLike.__rpow__,  # noqa: A001
                       "x ** y, elementwise.")


def maximum(x, y, name=None) -> Tensor:
    """The elementwise maximum of ``x`` and ``y``."""
    x = _as_tf(x) if isinstance(x, _TensorLike) else constant(x, dtype=_as_tf(y).dtype)
    return _binary(x, y, _cr.maximum, "Maximum")


def minimum(x, y, name=None) -> Tensor:
    """The elementwise minimum of ``x`` and ``y``."""
    x = _as_tf(x) if isinstance(x, _TensorLike) else constant(x, dtype=_as_tf(y).dtype)
    return _binary(x, y, _cr.minimum, "Minimum")


def equal(x, y, name=None) -> Tensor:
    """``x == y``, elementwise (a bool tensor)."""
    return _as_tf(x) == y


def greater(x, y, name=None) -> Tensor:
    """``x > y``, elementwise (a bool tensor)."""
    return _as_tf(x) > y


def less(x, y, name=None) -> Tensor:
    """``x < y``, elementwise (a bool tensor)."""
    return _as_tf(x) < y


math = _types.SimpleNamespace(
    abs=abs, exp=exp, log=_log_e, sin=sin, cos=cos, tan=tan, tanh=tanh, sqrt=sqrt, square=square,
    sigmoid=sigmoid, negative=negative, add=add, subtract=subtract, multiply=multiply,
    divide=divide, pow=pow, maximum=maximum, minimum=minimum, equal=equal, greater=greater,
    less=less, reduce_sum=reduce_sum, reduce_mean=reduce_mean, reduce_max=reduce_max,
    reduce_min=reduce_min, reduce_prod=reduce_prod)
linalg = _types.SimpleNamespace(norm=norm, matmul=matmul, tensordot=tensordot)

# --------------------------------------------------------------------------------------------
# random numbers (chainrule's generator: the values differ from TensorFlow's)


def _set_seed(seed) -> None:
    """Seed the generator behind ``tf.random`` (``chainrule.manual_seed``)."""
    _cr.manual_seed(int(seed))


def _normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None) -> Tensor:
    """Normal samples of ``shape`` (float32); reproducible after ``tf.random.set_seed``."""
    np_dtype = as_dtype(dtype)._np
    arr = _cr.randn(_shape(shape), dtype=np_dtype).numpy()
    if mean != 0.0 or stddev != 1.0:
        arr = (arr * np_dtype.type(stddev) + np_dtype.type(mean)).astype(np_dtype)
    return Tensor(_cr.as_tensor(_np.array(arr)))


def _uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None) -> Tensor:
    """Uniform samples on ``[minval, maxval)`` (``maxval`` 1 for floats)."""
    dt = as_dtype(dtype)
    if dt.is_integer:
        if maxval is None:
            raise ValueError("Must specify maxval for integer dtype")
        arr = _cr.randint(int(minval), int(maxval), _shape(shape)).numpy().astype(dt._np)
    else:
        hi = 1.0 if maxval is None else maxval
        arr = _cr.rand(_shape(shape), dtype=dt._np).numpy()
        arr = (arr * dt._np.type(hi - minval) + dt._np.type(minval)).astype(dt._np)
    return Tensor(_cr.as_tensor(_np.array(arr)))


random = _types.SimpleNamespace(normal=_normal, uniform=_uniform, set_seed=_set_seed)
