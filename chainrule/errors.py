"""What chainrule says when arguments do not fit: PyTorch's words for sizes that do not match.

An operation calls NumPy first and asks here only when NumPy refused (or when one cheap check
failed), so a valid call pays nothing for these explanations.  Each function looks at the
shapes (or the index, or the equation) it is given, finds what is wrong in PyTorch's terms,
and returns the exception for the caller to raise; when it finds nothing to explain, it
returns None (or the error it was given), and the caller raises NumPy's own error, which the
engine has named.

Sizes that do not fit raise :class:`ShapeError`, a matrix without the property an operation
needs (singular, not positive-definite) :class:`LinAlgError`.  PyTorch raises RuntimeError
for both, NumPy ValueError, so each is both: code written for either library catches them.

Messages start with what the user called (``chainrule.add (+)``, ``linalg.inv``), keep the
phrase PyTorch users search for (``The size of tensor a (3) must match the size of tensor b
(4) at non-singleton dimension 0``), then give the shapes and what to do.
"""

from __future__ import annotations

import math
import re
import string

import numpy as np

from chainrule.tensor_base import TensorBase


class ShapeError(RuntimeError, ValueError):
    """Sizes that do not fit together (RuntimeError in PyTorch, ValueError in NumPy)."""


class LinAlgError(RuntimeError, np.linalg.LinAlgError):
    """A matrix that is singular or not positive-definite (``torch.linalg.LinAlgError`` is a
    RuntimeError, ``numpy.linalg.LinAlgError`` a ValueError: this is both, and a
    ``numpy.linalg.LinAlgError``)."""


def sizes_text(shape) -> str:
    """A shape as PyTorch prints sizes: ``[2, 3]``."""
    return "[" + ", ".join(str(n) for n in shape) + "]"


def size_text(value) -> str:
    """The shape of ``value`` (an array, a tensor, or a shape) as PyTorch prints a size:
    ``torch.Size([2, 3])``."""
    return "torch.Size(" + sizes_text(np.shape(value) if hasattr(value, "shape") else value) + ")"


def _data(value):
    return value._data if isinstance(value, TensorBase) else value


def _shape_of(value) -> tuple:
    return tuple(np.shape(_data(value)))


def _is_numeric(value) -> bool:
    if isinstance(value, (TensorBase, np.ndarray, np.generic)):
        return True
    try:
        return np.asarray(value).dtype.kind in "biufc"
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# broadcasting


def broadcast_mismatch(shapes) -> str | None:
    """PyTorch's sentence for the first two shapes that do not broadcast (operands are taken
    left to right, as PyTorch does), or None when they all broadcast."""
    result = tuple(shapes[0])
    for shape in shapes[1:]:
        n = max(len(result), len(shape))
        a = (1,) * (n - len(result)) + result
        b = (1,) * (n - len(shape)) + tuple(shape)
        for dim in reversed(range(n)):
            if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
                return (f"The size of tensor a ({a[dim]}) must match the size of tensor b "
                        f"({b[dim]}) at non-singleton dimension {dim}")
        result = tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(a, b))
    return None


def operands_error(called: str, err: Exception, *operands) -> Exception:
    """Why an elementwise operation ``called`` (``"add (+)"``) refused its operands: a value
    that is not a number (TypeError, as Python says it) or sizes that do not broadcast; else
    ``err`` itself."""
    symbol = called.split("(")[-1].rstrip(")") if "(" in called else called
    if not all(_is_numeric(v) for v in operands):
        types = " and ".join(f"'{type(v).__name__}'" for v in operands)
        return TypeError(f"chainrule.{called}: unsupported operand type(s) for {symbol}: {types}; "
                         "operands must be tensors, numbers or arrays of numbers")
    shapes = [_shape_of(v) for v in operands]
    mismatch = broadcast_mismatch(shapes)
    if mismatch is None:
        return err
    given = ", ".join(str(s) for s in shapes)
    return ShapeError(f"chainrule.{called}: {mismatch} (given shapes {given}); sizes must be "
                      "equal, or 1 where a tensor is to be repeated (broadcasting)")


def power_error(err: Exception, base, exponent) -> Exception:
    """Why ``base ** exponent`` failed: integers to a negative integer power have no integer
    value (PyTorch's words), or what :func:`operands_error` finds."""
    base_kind, power = np.asarray(_data(base)).dtype.kind, np.asarray(_data(exponent))
    if base_kind in "iu" and power.dtype.kind in "iu" and (power < 0).any():
        return RuntimeError("chainrule.pow (**): Integers to negative integer powers are not "
                            "allowed; make the base a float, e.g. x.float() ** -1")
    return operands_error("pow (**)", err, base, exponent)


# --------------------------------------------------------------------------------------------
# products


def product_error(name: str, err: Exception, a, b) -> Exception:
    """Why the product ``name`` (matmul, mm, mv, dot) of ``a`` and ``b`` failed: a number where
    a tensor is needed (TypeError, as PyTorch), or sizes that do not fit."""
    for position, value in (("input", a), ("other", b)):
        if not isinstance(value, (TensorBase, np.ndarray, list, tuple)):
            return TypeError(f"chainrule.{name}: argument '{position}' must be a Tensor, not "
                             f"{type(value).__name__}; use * to multiply by a number")
    return (matmul_error(name, _shape_of(a), _shape_of(b))
            or operands_error(name, err, a, b))


def matmul_error(name: str, a_shape, b_shape) -> Exception | None:
    """Why ``a @ b`` failed, as PyTorch says it for ``name`` (matmul, mm, mv, dot)."""
    given = f"given shapes {tuple(a_shape)} and {tuple(b_shape)}"
    na, nb = len(a_shape), len(b_shape)
    if na == 0 or nb == 0:
        return ShapeError(f"chainrule.{name}: both arguments to {name.split()[0]} need to be at "
                          f"least 1D, but they are {na}D and {nb}D ({given}); use * to multiply "
                          "by a scalar")
    inner_a, inner_b = a_shape[-1], b_shape[0 if nb == 1 else -2]
    if inner_a != inner_b:
        if na == 1 and nb == 1:
            text = (f"inconsistent tensor size, expected tensor [{inner_a}] and src "
                    f"[{inner_b}] to have the same number of elements, but got {inner_a} and "
                    f"{inner_b} elements respectively")
        elif na == 2 and nb == 1:
            text = (f"size mismatch, got input ({a_shape[0]}), mat ({a_shape[0]}x{inner_a}), "
                    f"vec ({inner_b})")
        else:
            rows = a_shape[-2] if na > 1 else 1
            columns = b_shape[-1] if nb > 1 else 1
            text = (f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner_a} and "
                    f"{inner_b}x{columns})")
        which = "size" if nb == 1 else "second-to-last size"
        return ShapeError(f"chainrule.{name}: {text} ({given}); the last size of the first "
                          f"({inner_a}) must equal the {which} of the second ({inner_b})")
    mismatch = broadcast_mismatch([a_shape[:-2], b_shape[:-2]])
    if mismatch is not None:
        return ShapeError(f"chainrule.{name}: {mismatch} of the batch dimensions ({given}); "
                          "the batch sizes must be equal, or 1 to broadcast")
    return None


def contraction_error(a_shape, b_shape, axes_a, axes_b) -> Exception | None:
    """Why ``tensordot(a, b, (axes_a, axes_b))`` cannot contract (PyTorch's words)."""
    if len(axes_a) != len(axes_b):
        return ShapeError(f"chainrule.tensordot: both dimension lists should have same length, "
                          f"got {list(axes_a)} and {list(axes_b)}")
    for i, j in zip(axes_a, axes_b):
        if a_shape[i] != b_shape[j]:
            return ShapeError(
                f"chainrule.tensordot: contracted dimensions need to match, but first has size "
                f"{a_shape[i]} in dim {i} and second has size {b_shape[j]} in dim {j} (given "
                f"shapes {tuple(a_shape)} and {tuple(b_shape)})")
    return None


def einsum_error(equation: str, shapes) -> Exception | None:
    """What is wrong with an explicit einsum ``equation`` for operands of ``shapes`` (without
    ``...``; NumPy's own message explains those)."""
    text = _einsum_problem(equation.replace(" ", ""), shapes)
    if text is None:
        return None
    given = ", ".join(str(tuple(s)) for s in shapes)
    return ShapeError(f"chainrule.einsum: {text} (equation {equation!r}, given shapes {given})")


def _einsum_problem(equation: str, shapes) -> str | None:
    if "..." in equation:
        return None
    inputs, arrow, output = equation.partition("->")
    arrow_at = len(inputs) if arrow else -2  # (the one "->" takes arrow_at and arrow_at + 1)
    for i, c in enumerate(equation):
        if c not in string.ascii_letters + "," and i not in (arrow_at, arrow_at + 1):
            return (f"invalid subscript given at index {i} in the equation string, subscripts "
                    "must be in [a-zA-Z]")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        fewer = len(shapes) < len(terms)
        return (f"{'fewer' if fewer else 'more'} operands were provided than specified in the "
                f"equation ({len(terms)} in the equation, {len(shapes)} given)")
    seen: dict = {}
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        if len(term) != len(shape):
            return (f"the number of subscripts in the equation ({len(term)}) does not match the "
                    f"number of dimensions ({len(shape)}) for operand {k} and no ellipsis was "
                    "given")
        for label, size in zip(term, shape):
            if seen.setdefault(label, size) != size:
                return (f"subscript {label} has size {size} for operand {k} which does not "
                        f"broadcast with previously seen size {seen[label]}")
    for label in output:
        if label not in seen:
            return (f"output subscript {label} does not appear in the equation for any input "
                    "operand")
        if output.count(label) > 1:
            return f"output subscript {label} appears more than once in the output"
    return None


# --------------------------------------------------------------------------------------------
# shapes


def reshape_error(name: str, x_shape, shape) -> Exception:
    """Why a tensor of ``x_shape`` cannot be viewed with ``shape`` (one size may be -1)."""
    size = math.prod(x_shape)
    if list(shape).count(-1) > 1:
        text = "only one dimension can be inferred"
    elif any(n < -1 for n in shape):
        i, n = next((i, n) for i, n in enumerate(shape) if n < -1)
        text = f"invalid shape dimension {n} at index {i} of shape {sizes_text(shape)}"
    else:
        text = f"shape '{sizes_text(shape)}' is invalid for input of size {size}"
    return ShapeError(f"chainrule.{name}: {text} (a tensor of shape {tuple(x_shape)}); the sizes "
                      f"must multiply to {size}, with at most one -1 for the size to infer")


def permute_error(dims, axes, x_shape) -> Exception:
    """Why ``dims`` (read as ``axes``) do not order the dimensions of a tensor of ``x_shape``."""
    if len(set(axes)) < len(axes):
        problem = "duplicate dims are not allowed"
    else:
        problem = ("number of dimensions in the tensor input does not match the length of the "
                   f"desired ordering of dimensions i.e. input.dim() = {len(x_shape)} is not "
                   f"equal to len(dims) = {len(axes)}")
    return RuntimeError(f"permute(): {problem}; dims {tuple(dims)} must order all {len(x_shape)} "
                        f"dimensions of the tensor of shape {tuple(x_shape)}")


def expand_error(name: str, x_shape, shape) -> Exception:
    """Why a tensor of ``x_shape`` cannot be expanded (broadcast) to ``shape``."""
    lead = len(shape) - len(x_shape)
    sizes = f"Target sizes: {sizes_text(shape)}.  Tensor sizes: {sizes_text(x_shape)}"
    if lead < 0:
        return ShapeError(f"chainrule.{name}: the number of sizes provided ({len(shape)}) must "
                          f"be greater or equal to the number of dimensions in the tensor "
                          f"({len(x_shape)}).  {sizes}")
    for dim, n in reversed(list(enumerate(shape))):  # (PyTorch reports the last one first)
        if dim < lead and n < 0:
            return ShapeError(f"chainrule.{name}: The expanded size of the tensor ({n}) isn't "
                              f"allowed in a leading, non-existing dimension {dim}.  {sizes}")
        if dim >= lead and n != x_shape[dim - lead] and x_shape[dim - lead] != 1:
            return ShapeError(
                f"chainrule.{name}: The expanded size of the tensor ({n}) must match the "
                f"existing size ({x_shape[dim - lead]}) at non-singleton dimension {dim}.  "
                f"{sizes}.  Only dimensions of size 1 can be expanded.")
    return ShapeError(f"chainrule.{name}: cannot expand a tensor of shape {tuple(x_shape)} to "
                      f"{tuple(shape)}; sizes must not be negative.  {sizes}")


def cat_error(shapes, dim: int) -> Exception | None:
    """Why tensors of ``shapes`` cannot be joined along ``dim`` (PyTorch's words)."""
    first = shapes[0]
    for i, shape in enumerate(shapes):
        if len(shape) != len(first):
            return ShapeError(f"chainrule.cat: Tensors must have same number of dimensions: got "
                              f"{len(first)} and {len(shape)} (tensor number {i} in the list "
                              f"has shape {tuple(shape)}, tensor number 0 {tuple(first)})")
        for d, (n, m) in enumerate(zip(first, shape)):
            if d != dim and n != m:
                return ShapeError(
                    f"chainrule.cat: Sizes of tensors must match except in dimension {dim}. "
                    f"Expected size {n} but got size {m} for tensor number {i} in the list "
                    f"(shapes {tuple(first)} and {tuple(shape)})")
    return None


# --------------------------------------------------------------------------------------------
# indexing

_VALID_INDICES = ("only integers, slices (`:`), ellipsis (`...`), None and integer or boolean "
                  "tensors are valid indices")


def index_error(called: str, x_shape, index) -> Exception | None:
    """What is wrong with ``x[index]`` for a tensor of ``x_shape``, as PyTorch says it, or
    None.  ``called`` is what the user wrote (``x[index]``)."""
    parts = index if isinstance(index, tuple) else (index,)
    try:
        text = _index_problem(tuple(x_shape), parts)
    except (TypeError, ValueError):  # (an index too odd to explain: NumPy's message says it)
        return None
    if text is None:
        return None
    return IndexError(f"chainrule.{called}: {text} (a tensor of shape {tuple(x_shape)})")


def _index_problem(x_shape, parts) -> str | None:
    ndim = len(x_shape)
    arrays = []
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_, slice)):
            continue
        if isinstance(part, (int, np.integer)):
            continue
        if isinstance(part, (list, tuple, np.ndarray)):
            array = np.asarray(part)
            if array.dtype.kind not in "iub":
                return ("tensors used as indices must be long, int, byte or bool tensors (got "
                        f"{array.dtype})")
            arrays.append(array)
            continue
        return f"{_VALID_INDICES} (got {type(part).__name__})"
    if ndim == 0 and any(p is not None and p is not Ellipsis for p in parts):
        return ("invalid index of a 0-dim tensor. Use `tensor.item()` to convert a 0-dim tensor "
                "to a number")
    new_axes = (None, Ellipsis, True, False)  # (a bool scalar adds an axis, as None does)
    used = sum(np.ndim(p) if isinstance(p, np.ndarray) and p.dtype == bool else 1
               for p in parts if not any(p is a for a in new_axes))
    if used > ndim:
        return f"too many indices for tensor of dimension {ndim} ({used} indices given)"
    dim = 0
    for part in parts:
        if part is Ellipsis:
            dim += ndim - used
            continue
        if any(part is a for a in new_axes) or isinstance(part, np.bool_):
            continue
        array = np.asarray(part) if isinstance(part, (list, tuple, np.ndarray)) else None
        if array is not None and array.dtype == bool and array.ndim:
            if array.shape != x_shape[dim:dim + array.ndim]:
                return (f"The shape of the mask {sizes_text(array.shape)} at index {dim} does not "
                        f"match the shape of the indexed tensor {sizes_text(x_shape)} at index "
                        f"{dim}")
            dim += array.ndim
            continue
        if isinstance(part, (int, np.integer)) or (array is not None and array.size):
            values = np.asarray(part).ravel()
            for value in (values.min(), values.max()):
                if not -x_shape[dim] <= value < x_shape[dim]:
                    return (f"index {value} is out of bounds for dimension {dim} with size "
                            f"{x_shape[dim]}")
        dim += 1
    shapes = [a.shape if a.dtype != bool else (int(a.sum()),) for a in arrays]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(sizes_text(s) for s in shapes)
        return ("shape mismatch: indexing tensors could not be broadcast together with shapes "
                f"{listed}")
    return None


def setitem_error(err: Exception, x_shape, x_dtype, index, value) -> Exception:
    """Why ``x[index] = value`` failed: the index, a value that is not a number, or a value
    whose shape does not broadcast to the indexed part; else NumPy's error, named."""
    called = "setitem (x[index] = value)"
    wrong_index = index_error(called, x_shape, index)
    if wrong_index is not None:
        return wrong_index
    if not _is_numeric(value):
        return TypeError(f"chainrule.{called}: can't assign a {type(value).__name__} to a tensor "
                         f"of dtype {x_dtype}; assign numbers or tensors")
    try:
        target = np.broadcast_to(np.empty((), bool), x_shape)[index].shape
    except (IndexError, ValueError, TypeError):
        target = None  # (an index NumPy refuses in a way not explained above)
    if target is not None and broadcast_mismatch([target, _shape_of(value)]) is not None:
        return expand_error(called, _shape_of(value), target)
    if str(err).startswith("chainrule."):
        return err
    kind = next(k for k in (IndexError, ValueError, TypeError) if isinstance(err, k))
    return kind(f"chainrule.{called}: {err}")


# what an error of chainrule's starts with: the operation it ran (``chainrule.matmul (@): ``,
# ``sum(): ``, ``linalg.inv: ``)
_NAMED = re.compile(r"^[\w.]+(\(\))?( \([^)]*\))?: ")


def renamed(err: Exception, called: str) -> Exception:
    """``err`` naming ``called`` (``chainrule.numpy.dot``), the function the user called,
    rather than the operation of chainrule that answered it (``cnp.dot`` is ``matmul``)."""
    message = str(err)
    if message.startswith(called) or len(err.args) != 1 or not isinstance(err.args[0], str):
        return err
    try:
        return type(err)(f"{called}: {_NAMED.sub('', message, count=1)}")
    except TypeError:  # (an exception class that takes other arguments: left as it is)
        return err


def refuse_out(name: str, out) -> None:
    """NumPy's ``out=`` refused for ``name`` (``"fft.rfft"``): a result written into an array
    would lose its gradient."""
    if out is not None:
        raise TypeError(f"{name}(..., out=...): functions with out=... arguments don't support "
                        "automatic differentiation; assign the result instead")


def named_error(prim, err, raw_args) -> Exception:
    """NumPy's error, as the built-in type (NumPy's subclasses, e.g. AxisError, take other
    arguments) or as chainrule's :class:`LinAlgError` (a singular matrix, which callers catch
    by that name), naming the function the user called and the shapes it was given."""
    kind = next(k for k in (np.linalg.LinAlgError, IndexError, ValueError, TypeError)
                if isinstance(err, k))
    if kind is np.linalg.LinAlgError:
        kind = LinAlgError
    called = f"chainrule.{prim.name}" + (f" ({prim.symbol})" if prim.symbol else "")
    shapes = [str(np.shape(a)) for a in raw_args if isinstance(a, (np.ndarray, np.generic))]
    given = f" (given shapes {', '.join(shapes)})" if shapes and kind is not TypeError else ""
    return kind(f"{called}: {err}{given}")
