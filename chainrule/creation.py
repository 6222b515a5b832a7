"""Making tensors: ``tensor``, ``arange``, ``zeros``, ``randn`` ... and the dtypes.

Dtype rules follow PyTorch for what you type and NumPy for what you pass: Python floats
become the default float dtype (float32), Python ints become int64, while an ndarray keeps its
dtype (a float64 array stays float64).  Arithmetic then follows NumPy 2's promotion: a float32
tensor times a Python float stays float32.
"""

from __future__ import annotations

import functools
import numbers
import operator
from typing import Any

import numpy as np

from chainrule import batching, numpy_construction, ops, tracing, vmap_levels
from chainrule.arguments import as_shape, check_device
from chainrule.generator import random_source, seed_default
from chainrule.tensor import FLOAT_DTYPES, Tensor, wrap
from chainrule.tensor_base import DIFFERENTIABLE_DTYPES

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


def _finish(arr: np.ndarray, requires_grad: bool, name: str = "chainrule.tensor") -> Tensor:
    out = wrap(arr)
    if requires_grad:
        if arr.dtype not in DIFFERENTIABLE_DTYPES:
            raise RuntimeError(f"{name}: Only Tensors of floating point and complex dtype can "
                               f"require gradients; this one is {arr.dtype}. Pass "
                               "dtype=chainrule.float32 or use float values (e.g. 1.0).")
        out._rg = True
    if tracing.active[0] is not None:
        tracing.made(out)
    return out


def _sizes(name: str, size) -> tuple[int, ...]:
    """The sizes of a new tensor: ints, none negative."""
    shape = as_shape(name, size)
    if any(n < 0 for n in shape):
        bad = next(n for n in shape if n < 0)
        raise RuntimeError(f"{name}: Trying to create tensor with negative dimension {bad}: "
                           f"{list(shape)}; sizes must be 0 or more")
    return shape


def _count(name: str, what: str, n) -> int:
    """A count argument (``steps``, ``n``): an int, 0 or more."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{name}(): argument '{what}' must be int, not {type(n).__name__}") \
            from None
    if n < 0:
        raise RuntimeError(f"{name}: {what} must be greater or equal to 0, got {n}")
    return n


def _number(name: str, what: str, value):
    """A number argument (``start``, ``fill_value``) as it is; anything else is refused."""
    if isinstance(value, (numbers.Number, np.generic)) or (
            isinstance(value, (np.ndarray, Tensor)) and value.ndim == 0):
        if np.asarray(value._data if isinstance(value, Tensor) else value).dtype.kind in "biufc":
            return value
    raise TypeError(f"{name}(): argument '{what}' must be a number, not "
                    f"{type(value).__name__} ({value!r})")


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
    check_device("chainrule.tensor", device)
    if isinstance(data, Tensor):
        if tracing.active[0] is not None:  # (compile: a copy the trace would not see)
            tracing.escaped("chainrule.tensor(t) of a tensor (a copy of its values: use "
                            "t.clone().detach())")
        data = data._data
    try:
        arr = np.array(data, dtype=dtype, copy=True)
    except RuntimeError:  # (a tensor that requires grad refuses to become an array)
        raise RuntimeError("chainrule.tensor: the values include tensors that require grad, "
                           "whose gradient a copy would lose; use chainrule.stack(values) to "
                           "keep it, or detach() them first") from None
    except (TypeError, ValueError) as err:
        raise (_nesting_error(data) or TypeError(
            f"chainrule.tensor: cannot make a tensor from {type(data).__name__}: {err}")) \
            from None
    if arr.dtype.kind in "US":
        raise TypeError(f"chainrule.tensor: invalid data type '{type(arr.flat[0].item()).__name__}'"
                        " (text); pass numbers, booleans or (nested lists of) them")
    if arr.dtype.kind == "O":
        strange = [v for v in arr.flat if not isinstance(v, (numbers.Number, np.generic))]
        if strange:
            raise RuntimeError(f"chainrule.tensor: Could not infer dtype of "
                               f"{type(strange[0]).__name__} (the value {strange[0]!r}); pass "
                               "numbers, booleans or (nested lists of) them")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"chainrule.tensor: cannot make a tensor of dtype {arr.dtype}; pass "
                        "numbers, booleans or arrays of them")
    return _finish(_infer(arr, dtype is not None or _is_typed(data)), requires_grad)


def _nesting_error(data) -> Exception | None:
    """Where nested lists stop being a grid, as PyTorch says it (its first elements give the
    expected lengths), or None."""
    shape = []
    first = _listed(data)
    while isinstance(first, (list, tuple)):
        shape.append(len(first))
        if not first:
            break
        first = _listed(first[0])

    def check(value, dim: int) -> Exception | None:
        value = _listed(value)
        is_list = isinstance(value, (list, tuple))
        if dim == len(shape):
            return None if not is_list else TypeError(
                f"chainrule.tensor: expected a number at dim {dim}, but got a sequence of "
                f"length {len(value)}; nested lists must form a grid")
        if not is_list:
            return TypeError(f"chainrule.tensor: expected a sequence of length {shape[dim]} at "
                             f"dim {dim}, but got {type(value).__name__} ({value!r}); nested "
                             "lists must form a grid")
        if len(value) != shape[dim]:
            return ValueError(f"chainrule.tensor: expected sequence of length {shape[dim]} at "
                              f"dim {dim} (got {len(value)}); nested lists must form a grid, "
                              "each list as long as the others at its depth")
        for v in value:
            err = check(v, dim + 1)
            if err is not None:
                return err
        return None

    return check(data, 0)


def _listed(value):
    """An array or a tensor inside nested lists as lists too; anything else as it is."""
    if isinstance(value, (np.ndarray, Tensor)):
        return np.asarray(value._data if isinstance(value, Tensor) else value).tolist()
    return value


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with ``data`` when it is an ndarray or a tensor."""
    check_device("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return _sharing(data)
    return tensor(data, dtype)


def _sharing(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory, of which a trace under way hears."""
    out = wrap(array)
    if tracing.active[0] is not None:
        tracing.array_shared(out)
    return out


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
    return _sharing(array)


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
    check_device("arange", device)
    if end is None:
        start, end = 0, start
    bounds = tuple(_number("arange", what, v) for what, v in
                   (("start", start), ("end", end), ("step", step)))
    if dtype is None:
        is_float = any(isinstance(v, float) or np.asarray(v).dtype.kind == "f" for v in bounds)
        dtype = _defaults["float"] if is_float else np.int64
    start, end, step = (np.asarray(v._data if isinstance(v, Tensor) else v).item()
                        for v in bounds)
    if not all(np.isfinite((start, end))):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}; the bounds must be "
                           "finite")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(from {start} to {end} by {step}); use a step of the other sign")
    values = np.arange(start, end, step, dtype=np.float64)
    return _finish(values.astype(dtype), requires_grad, "arange")


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.  ``start`` and
    ``end`` may be 0-d Tensors, and the result is differentiable in them (PyTorch's is not):

    >>> import chainrule as cr
    >>> a = cr.tensor(1.0, requires_grad=True)
    >>> cr.linspace(0.0, a, 3)
    tensor([0.0000, 0.5000, 1.0000], grad_fn=<ToCopyBackward0>)
    """
    check_device("linspace", device)
    steps = _count("linspace", "steps", steps)
    if isinstance(start, Tensor) or isinstance(end, Tensor):
        dims = [np.ndim(v._data) if isinstance(v, Tensor) else 0 for v in (start, end)]
        if any(dims):
            raise RuntimeError(f"linspace only supports 0-dimensional start and end tensors, but "
                               f"got start with {dims[0]} dimension(s) and end with {dims[1]} "
                               "dimension(s).")
        # NumPy's values in float64, as for numbers, then the dtype asked for
        bounds = [ops.to(v, np.float64) if isinstance(v, Tensor) else float(v)
                  for v in (start, end)]
        values = ops.to(numpy_construction.linspace(*bounds, steps), _float_or(dtype))
        if requires_grad and not values.requires_grad:
            return _finish(values._data, requires_grad, "linspace")
        return values
    values = np.linspace(float(start), float(end), steps, dtype=np.float64)
    return _finish(values.astype(_float_or(dtype)), requires_grad, "linspace")


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    check_device("zeros", device)
    return _finish(np.zeros(_sizes("zeros", size), _float_or(dtype)), requires_grad, "zeros")


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``.

    >>> import chainrule as cr
    >>> cr.ones(2)
    tensor([1., 1.])
    """
    check_device("ones", device)
    return _finish(np.ones(_sizes("ones", size), _float_or(dtype)), requires_grad, "ones")


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of the given size (filled with zeros, unlike PyTorch)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor filled with ``fill_value`` (its dtype follows the value, as in PyTorch)."""
    check_device("full", device)
    fill_value = _number("full", "fill_value", fill_value)
    if dtype is None:
        dtype = _infer(np.asarray(fill_value), False).dtype
    return _finish(np.full(_sizes("full", (size,)), fill_value, dtype), requires_grad, "full")


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False,
        device=None) -> Tensor:
    """The identity matrix (``n`` by ``m``)."""
    check_device("eye", device)
    n, m = _count("eye", "n", n), None if m is None else _count("eye", "m", m)
    return _finish(np.eye(n, m, dtype=_float_or(dtype)), requires_grad, "eye")


def _like(name: str, input: Tensor, dtype) -> tuple[tuple[int, ...], np.dtype]:
    value = input._data if isinstance(input, Tensor) else np.asarray(input)
    if value.dtype.kind not in "biufc":
        raise TypeError(f"{name}(): argument 'input' must be a Tensor (or numbers), not "
                        f"{type(input).__name__} ({input!r})")
    return tuple(value.shape), np.dtype(dtype) if dtype is not None else value.dtype


def zeros_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape and dtype."""
    shape, dt = _like("zeros_like", input, dtype)
    return _finish(np.zeros(shape, dt), requires_grad)


def ones_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape and dtype."""
    shape, dt = _like("ones_like", input, dtype)
    return _finish(np.ones(shape, dt), requires_grad)


def full_like(input, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape and dtype."""
    shape, dt = _like("full_like", input, dtype)
    return _finish(np.full(shape, fill_value, dt), requires_grad)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's random number generator (used by ``rand``, ``randn``, ``randint``)."""
    return seed_default(seed)


def _random_float(kind: str, size, dtype, requires_grad: bool, generator, device) -> Tensor:
    name = "randn" if kind == "normal" else "rand"
    check_device(name, device)
    rng = random_source(generator)
    dt = _float_or(dtype)
    if dt.kind not in "fc":
        raise NotImplementedError(f"{name}: random {kind} floats are not implemented for dtype "
                                  f"{dt}; use randint for random integers, or a float dtype")
    draw = rng.standard_normal if kind == "normal" else rng.random
    shape = _sizes(name, size)
    levels = vmap_levels.random_levels(name)  # inside vmap: one draw per example, or one for all
    values = draw(vmap_levels.random_sizes(levels) + shape, dtype=np.float64).astype(dt)
    if levels:
        return batching.batched_random(values, levels)
    return _finish(values, requires_grad, name)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Samples of the standard normal distribution: ``randn(2, 3)`` or ``randn(size=())``.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> cr.randn(size=()).shape
    ()
    """
    return _random_float("normal", size, dtype, requires_grad, generator, device)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    return _random_float("uniform", size, dtype, requires_grad, generator, device)


def randn_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with ``input``'s shape (and dtype)."""
    shape, dt = _like("randn_like", input, dtype)
    return randn(shape, dtype=dt, requires_grad=requires_grad)


def rand_like(input, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) with ``input``'s shape (and dtype)."""
    shape, dt = _like("rand_like", input, dtype)
    return rand(shape, dtype=dt, requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size=(), *, dtype=None, generator=None) -> Tensor:
    """Random integers in ``[low, high)`` (int64)."""
    if high is None:
        low, high = 0, low
    low, high = _whole("randint", "low", low), _whole("randint", "high", high)
    if low >= high:
        raise RuntimeError(f"randint: expects 'low' to be less than 'high', but got low={low} "
                           f">= high={high}; the values are drawn from [low, high)")
    rng = random_source(generator)
    shape = _sizes("randint", (size,))
    levels = vmap_levels.random_levels("randint")
    values = rng.integers(low, high, vmap_levels.random_sizes(levels) + shape,
                          dtype=dtype or np.int64)
    return batching.batched_random(values, levels) if levels else wrap(values)


def _whole(name: str, what: str, value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}(): argument '{what}' must be int, not {type(value).__name__}") \
            from None


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
