"""Reading the arguments of PyTorch's functions: dimensions, sizes, indices, devices; and the
raw values of tensors (``data_of``, ``no_gradient``, ``like``), where ``chainrule.compile``'s
tracer hears of values read outside the primitives (``chainrule/tracing.py``).

:mod:`chainrule.ops` (and the creation functions, norms and ``chainrule.numpy`` through it)
normalise their arguments here: ``dim`` or ``axis``, negative dimensions, sizes given as
varargs or as one tuple.  A value of the wrong kind (``dim=1.5``, ``ones(2.5)``) or out of range
is refused here, with the function's name and PyTorch's words, before NumPy could misread it
(NumPy truncates a float size, and takes any negative size for -1).
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from chainrule import tracing
from chainrule.devices import ACCELERATORS
from chainrule.errors import contraction_error
from chainrule.tensor_base import TensorBase, new_like


def data_of(x):
    """The raw value of a tensor; anything else as it is."""
    if isinstance(x, TensorBase):
        if tracing.active[0] is not None:  # compile: a value read outside the primitives
            tracing.escaped("a tensor's values read outside chainrule's primitives (an index "
                            "tensor, a data-dependent shape ...)")
        return x._data
    return x


def shape_of(x) -> tuple:
    """The shape of a tensor, or of anything NumPy reads as an array (no value is read)."""
    return x._data.shape if isinstance(x, TensorBase) else np.shape(x)


CANNOT_FAIL: set = set()
"""The functions given to :func:`no_gradient` that raise on no values at the shapes and dtypes
of a call (declared with :func:`cannot_fail`): a compiled plan leaves one out where nothing reads
its value, as it leaves out an unread product (``chainrule/compiler/plan.py``)."""


def cannot_fail(func):
    """Declare ``func`` (a function for :func:`no_gradient`) unable to fail: see
    :data:`CANNOT_FAIL`."""
    CANNOT_FAIL.add(func)
    return func


def dtype_of(x) -> np.dtype:
    """The dtype of a tensor (a vmap-batched one included), or of anything NumPy reads as an
    array (no value of a tensor is read: a trace of ``compile`` goes on)."""
    return x.dtype if isinstance(x, (TensorBase, np.ndarray, np.generic)) else np.asarray(x).dtype


def no_gradient(func, *args, **kwargs):
    """``func`` (NumPy's) of the raw values, without gradient (an axis: keyword ``axis``)."""
    for a in args:
        if isinstance(a, TensorBase) and a._batched:  # inside vmap: per example
            return a._without_gradient(func, args, kwargs)
    if tracing.active[0] is not None:  # compile: written down as an operation of the trace
        return tracing.active[0].no_gradient(func, args, kwargs)
    return like(args, func(*[data_of(a) for a in args], **kwargs))


def like(values, data):
    """``data`` as a tensor of the class of the first tensor in ``values`` (no gradient), or
    as it is when there is none."""
    for v in values:
        if isinstance(v, TensorBase):
            return new_like(v, data)
    return data


def as_shape(name: str, sizes, what: str = "size") -> tuple[int, ...]:
    """Sizes given as varargs (``2, 3``) or as one sequence (``(2, 3)``), as a tuple of ints;
    ``name`` (the function) and ``what`` (the argument) say where a size that is not an int
    was given."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    try:
        return tuple(map(operator.index, sizes))
    except TypeError:
        if not isinstance(sizes, (tuple, list)):
            sizes = (sizes,)
        bad = next(s for s in sizes if not isinstance(s, (int, np.integer)))
        raise TypeError(f"{name}(): argument '{what}' must be a tuple of ints, but found "
                        f"{bad!r} of type {type(bad).__name__}") from None


def reduced_dims(name: str, ndim: int, dim=None, axis=None) -> tuple[int, ...] | None:
    """``dim``/``axis`` as None (all) or a sorted tuple of non-negative dimensions."""
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"{name}: pass dim or axis, not both")
    given = dim if dim is not None else axis
    if given is None:
        return None
    if isinstance(given, (int, np.integer)):
        given = (given,)
    elif not isinstance(given, (tuple, list)):
        raise TypeError(f"{name}(): argument 'dim' must be an int or a tuple of ints, but got "
                        f"{given!r} of type {type(given).__name__}")
    axes = tuple(sorted(one_dim(name, d, ndim) for d in given))
    if len(axes) > 1 and len(set(axes)) < len(axes):
        repeated = next(d for d, e in zip(axes, axes[1:]) if d == e)
        raise RuntimeError(f"{name}(): dim {repeated} appears multiple times in the list of dims "
                           f"{tuple(given)}")
    return () if ndim == 0 else axes  # a 0-d tensor accepts dim 0 or -1: nothing to reduce


def one_dim(name: str, d: int, ndim: int) -> int:
    """Dimension ``d`` of ``ndim`` as a non-negative int (a 0-d tensor accepts 0 and -1)."""
    if type(d) is not int and not isinstance(d, np.integer):
        raise TypeError(f"{name}(): argument 'dim' must be int, but got {d!r} of type "
                        f"{type(d).__name__}")
    low, high = -builtins.max(ndim, 1), builtins.max(ndim, 1) - 1
    if not low <= d <= high:
        raise IndexError(f"{name}: Dimension out of range (expected to be in range of "
                         f"[{low}, {high}], but got {d})")
    return d % builtins.max(ndim, 1)


def keepdim_of(keepdim: bool, keepdims: bool | None) -> bool:
    """PyTorch's ``keepdim``, or NumPy's ``keepdims`` when that is given."""
    return bool(keepdim if keepdims is None else keepdims)


def index_of(index, kept: bool = True):
    """An index with the tensors inside it read as arrays.  Where a node ``kept`` it for its
    backward pass, its tensors, arrays and lists are arrays of their own: one changed in place
    after the call must not move the gradient to other positions."""
    if isinstance(index, tuple):
        return tuple(_index_item(i, kept) for i in index)
    return _index_item(index, kept)


def _index_item(item, kept: bool):
    if kept and isinstance(item, (TensorBase, np.ndarray)):
        return np.array(data_of(item), copy=True)
    if kept and isinstance(item, list):  # (NumPy reads an empty list as integer positions)
        positions = np.array(item)
        return positions.astype(np.intp) if positions.size == 0 else positions
    return data_of(item)


def check_integer_divisor(name: str, input, other) -> None:
    """Refuse integer division by zero: it has no value (NumPy would give 0, silently)."""
    a, b = np.asarray(data_of(input)), np.asarray(data_of(other))
    if a.dtype.kind in "iub" and b.dtype.kind in "iub" and not b.all():
        raise RuntimeError(f"{name}: ZeroDivisionError: integer division by zero has no value "
                           "(NumPy would give 0 silently); divide floats (x.float()) to get inf")


def is_device(value) -> bool:
    """Whether ``value`` names a device (``'cpu'``, ``'cuda:0'``, a ``torch.device``)."""
    return str(value).split(":")[0] in ("cpu",) + ACCELERATORS or type(value).__name__ == "device"


def check_device(name: str, device) -> None:
    """Refuse a device other than the CPU: chainrule computes with NumPy."""
    if device is None or str(device).split(":")[0] == "cpu":
        return
    raise RuntimeError(f"{name}: chainrule runs on the CPU (it computes with NumPy), so device "
                       f"{str(device)!r} is not available; leave device out or pass 'cpu'")


def requested_dtype(args, dtype, kwargs) -> np.dtype | None:
    """The dtype that ``Tensor.to(*args, dtype=dtype, **kwargs)`` asks for (None: keep it):
    a dtype, a name NumPy knows (``'float64'``) or another tensor's; a device must be the
    CPU's, and ``copy=`` and ``non_blocking=`` are accepted and ignored."""
    check_device("to", kwargs.get("device"))
    for a in args:
        if isinstance(a, TensorBase):
            dtype = a.dtype
        elif is_device(a):
            check_device("to", a)
        elif a is not None:
            dtype = a
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        if any(a is dtype for a in args):  # (a positional string may mean a device)
            raise RuntimeError(f"to(): {dtype!r} is neither a dtype (such as chainrule.float32 "
                               "or 'float32') nor a device ('cpu')") from None
        raise TypeError(f"to(): dtype {dtype!r} is not a dtype; pass one such as "
                        "chainrule.float32") from None


def split_sizes(n: int, dim: int, split_size_or_sections) -> list[int]:
    """The sizes of the pieces of ``split`` along ``dim``, of size ``n``: pieces of one size
    (the last may be smaller), or the sizes given."""
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and n > 0):
            raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, and "
                               f"never negative, but got split_size={step} for dimension size "
                               f"{n}")
        step = builtins.max(step, 1)
        return [builtins.min(step, n - s) for s in range(0, n, step)]
    if not isinstance(split_size_or_sections, (list, tuple)):
        raise TypeError(f"split(): split_size_or_sections must be an int or a list of ints, but "
                        f"got {split_size_or_sections!r} of type "
                        f"{type(split_size_or_sections).__name__}")
    sizes = list(as_shape("split", (split_size_or_sections,), "split_size_or_sections"))
    if builtins.min(sizes, default=0) < 0 or builtins.sum(sizes) != n:
        raise RuntimeError(f"split: split_with_sizes expects split_sizes to sum exactly to {n} "
                           f"(input tensor's size at dimension {dim}), with only non-negative "
                           f"entries, but got split_sizes={sizes}")
    return sizes


def contracted_axes(a_shape, b_shape, dims) -> tuple[list[int], list[int]]:
    """The axes of ``a`` and of ``b`` that ``tensordot(a, b, dims)`` contracts, checked:
    ``dims`` is a number of axes (the last of ``a`` with the first of ``b``) or two lists."""
    na, nb = len(a_shape), len(b_shape)
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= builtins.min(na, nb):
            raise RuntimeError(f"tensordot expects 0 <= dims <= ndim_a and ndim_b, but got "
                               f"dims={dims} for tensors of {na} and {nb} dimensions")
        axes_a, axes_b = list(range(na - dims, na)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        axes_a = [one_dim("tensordot", d, na) for d in axes_a]
        axes_b = [one_dim("tensordot", d, nb) for d in axes_b]
    wrong = contraction_error(a_shape, b_shape, axes_a, axes_b)
    if wrong is not None:
        raise wrong
    return axes_a, axes_b


def has_tensor(values) -> bool:
    """Whether a Tensor is among ``values`` (or in a list or tuple among them)."""
    for v in values:
        if isinstance(v, TensorBase):
            return True
        if isinstance(v, (list, tuple)) and has_tensor(v):
            return True
    return False
