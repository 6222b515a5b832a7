"""Making tensors: ``tensor``, ``arange``, ``zeros``, ``randn`` ... and the dtypes.

Dtype rules follow PyTorch for what you type and NumPy for what you pass: Python floats
become the default float dtype (float32), Python ints become int64, while an ndarray keeps its
dtype (a float64 array stays float64).  Arithmetic then follows NumPy 2's promotion: a float32
tensor times a Python float stays float32.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from chainrule.ops import as_shape
from chainrule.tensor import FLOAT_DTYPES, Tensor, wrap

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)

_defaults = {"float": float32}
_generator: dict = {}  # "rng": the generator, made on first use (numpy.random is slow to import)


def _rng() -> np.random.Generator:
    if "rng" not in _generator:
        _generator["rng"] = np.random.default_rng()
    return _generator["rng"]


def get_default_dtype() -> np.dtype:
    """The dtype of floats typed as Python numbers (float32 unless changed).

    >>> import chainrule as cr
    >>> cr.get_default_dtype()
    dtype('float32')
    """
    return _defaults["float"]


def set_default_dtype(dtype) -> None:
    """Change the default float dtype (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: only floating-point types are allowed, got {dtype}")
    _defaults["float"] = dtype


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    out = wrap(arr)
    if requires_grad:
        if arr.dtype not in FLOAT_DTYPES:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               f"gradients; this one is {arr.dtype}. Pass dtype=chainrule."
                               "float32 or use float values (e.g. 1.0).")
        out._rg = True
    return out


def _infer(arr: np.ndarray, typed: bool) -> np.ndarray:
    """Python numbers take PyTorch's defaults; arrays keep their dtype."""
    if typed:
        return arr
    if arr.dtype == np.float64:
        return arr.astype(_defaults["float"])
    if arr.dtype == np.complex128:
        return arr.astype(np.complex64)
    if arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise OverflowError("chainrule.tensor: a value is too large for int64; pass "
                                "dtype=chainrule.float64 (or uint8 for small values)")
        return arr.astype(np.int64)
    return arr


def _is_typed(data: Any) -> bool:
    return isinstance(data, (np.ndarray, np.generic, Tensor))


def tensor(data: Any, dtype=None, *, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an ndarray, a tensor).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> cr.tensor([1, 2]).dtype
    dtype('int64')
    """
    if isinstance(data, Tensor):
        data = data._data
    try:
        arr = np.array(data, dtype=dtype, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"chainrule.tensor: cannot make a tensor from {type(data).__name__}: "
                        f"{err}") from None
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"chainrule.tensor: cannot make a tensor of dtype {arr.dtype}; pass "
                        "numbers, booleans or arrays of them")
    return _finish(_infer(arr, dtype is not None or _is_typed(data)), requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with ``data`` when it is an ndarray or a tensor."""
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return wrap(data)
    return tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory (and dtype) with ``array``.

    >>> import numpy as np, chainrule as cr
    >>> a = np.zeros(2)
    >>> t = cr.from_numpy(a)
    >>> a[0] = 5
    >>> t
    tensor([5., 0.], dtype=chainrule.float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return wrap(array)


def _float_or(dtype) -> np.dtype:
    return _defaults["float"] if dtype is None else np.dtype(dtype)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False,
           device=None) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``.

    Integers give int64, any float gives the default float dtype.

    >>> import chainrule as cr
    >>> cr.arange(4.0)
    tensor([0., 1., 2., 3.])
    >>> cr.arange(4)
    tensor([0, 1, 2, 3])
    """
    if end is None:
        start, end = 0, start
    numbers = (start, end, step)
    if dtype is None:
        is_float = any(isinstance(v, float) or np.asarray(v).dtype.kind == "f" for v in numbers)
        dtype = _defaults["float"] if is_float else np.int64
    values = np.arange(*(np.asarray(v).item() for v in numbers), dtype=np.float64)
    return _finish(values.astype(dtype), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    values = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _finish(values.astype(_float_or(dtype)), requires_grad)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _finish(np.zeros(as_shape(size), _float_or(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``.

    >>> import chainrule as cr
    >>> cr.ones(2)
    tensor([1., 1.])
    """
    return _finish(np.ones(as_shape(size), _float_or(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of the given size (filled with zeros, unlike PyTorch)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value, as in PyTorch)."""
    if dtype is None:
        dtype = _infer(np.asarray(fill_value), False).dtype
    return _finish(np.full(as_shape((size,)), fill_value, dtype), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False,
        device=None) -> Tensor:
    """The identity matrix (``n`` by ``m``)."""
    return _finish(np.eye(n, m, dtype=_float_or(dtype)), requires_grad)


def _like(input: Tensor, dtype) -> tuple[tuple[int, ...], np.dtype]:
    value = input._data if isinstance(input, Tensor) else np.asarray(input)
    return tuple(value.shape), np.dtype(dtype) if dtype is not None else value.dtype


def zeros_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape and dtype."""
    shape, dt = _like(input, dtype)
    return _finish(np.zeros(shape, dt), requires_grad)


def ones_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape and dtype."""
    shape, dt = _like(input, dtype)
    return _finish(np.ones(shape, dt), requires_grad)


def full_like(input, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape and dtype."""
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dt), requires_grad)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's random number generator (used by ``rand``, ``randn``, ``randint``)."""
    _generator["rng"] = np.random.default_rng(seed)
    return _generator["rng"]


def _random_float(kind: str, size, dtype, requires_grad: bool, generator) -> Tensor:
    rng = generator if generator is not None else _rng()
    dt = _float_or(dtype)
    draw = rng.standard_normal if kind == "normal" else rng.random
    values = draw(as_shape(size), dtype=np.float64).astype(dt)
    return _finish(values, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Samples of the standard normal distribution: ``randn(2, 3)`` or ``randn(size=())``.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> cr.randn(size=()).shape
    ()
    """
    return _random_float("normal", size, dtype, requires_grad, generator)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    return _random_float("uniform", size, dtype, requires_grad, generator)


def randn_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with ``input``'s shape (and dtype)."""
    shape, dt = _like(input, dtype)
    return randn(shape, dtype=dt, requires_grad=requires_grad)


def rand_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) with ``input``'s shape (and dtype)."""
    shape, dt = _like(input, dtype)
    return rand(shape, dtype=dt, requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size=(), *, dtype=None, generator=None) -> Tensor:
    """Random integers in ``[low, high)`` (int64)."""
    if high is None:
        low, high = 0, low
    rng = generator if generator is not None else _rng()
    return wrap(rng.integers(low, high, as_shape((size,)), dtype=dtype or np.int64))


def _wrap_size_kwarg(func):
    """Allow ``size=`` as a keyword, as PyTorch's factories do."""
    @functools.wraps(func)
    def factory(*size, **kwargs):
        if "size" in kwargs:
            size = (kwargs.pop("size"),)
        return func(*size, **kwargs)

    return factory


zeros = _wrap_size_kwarg(zeros)
ones = _wrap_size_kwarg(ones)
empty = _wrap_size_kwarg(empty)
randn = _wrap_size_kwarg(randn)
rand = _wrap_size_kwarg(rand)
