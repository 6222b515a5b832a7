"""``tf.Tensor`` and ``tf.Variable``, and how an operation on them runs: each input is read
through the stand-in of the live tapes that watch it, and the result remembers which recording
tapes saw it.  ``tf.constant``, ``tf.identity`` and ``tf.cast`` are here too: the operators
convert Python numbers and cast integers with them."""

from __future__ import annotations

import builtins as _builtins

import numpy as _np

import chainrule as _cr
import chainrule.autograd.forward_ad as _fwAD
from chainrule.compat.tensorflow._display import _numpy_text
from chainrule.compat.tensorflow._dtypes import (
    DType,
    InvalidArgumentError,
    TensorShape,
    as_dtype,
    float32,
    float64,
)
from chainrule.compat.tensorflow._recording import (
    _ACCUMULATORS,
    _TAPES,
    _AccumulatorToken,
    _current,
    _grad_mode,
    _live,
    _recording,
    _stand_in,
    _tokens_of,
)

# --------------------------------------------------------------------------------------------
# operations: what they read for each input, and which tapes record the result


def _read(obj, live: set):
    """The chainrule tensor an operation sees for ``obj`` (its stand-in if a live tape has one)."""
    if isinstance(obj, Variable):
        obj._autowatch()
    return _current(obj, live)


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


# --------------------------------------------------------------------------------------------
# the conversions the operators use


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


def identity(input, name=None) -> Tensor:  # noqa: A002
    """A tensor with the same values (recorded by the tapes watching ``input``)."""
    return _op(lambda v: v, _as_tf(input))


def cast(x, dtype, name=None) -> Tensor:
    """``x`` converted to ``dtype`` (``x`` itself if it is a tensor of that dtype)."""
    x, target = _as_tf(x), as_dtype(dtype)
    if x.dtype == target:
        return x if isinstance(x, Tensor) else identity(x)
    return _op(lambda v: v.to(target._np), x)
