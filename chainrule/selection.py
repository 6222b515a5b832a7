"""Picking and placing values by index or mask under PyTorch's names (``gather``, ``scatter``,
``scatter_add``, ``index_select``, ``take_along_dim``, ``masked_fill``, ``masked_select``,
``sort``, ``topk``) and the fused updates ``addcmul``, ``addcdiv``, ``lerp``, plus ``meshgrid``.

A part of :mod:`chainrule.ops` (kept apart to keep each module short): below
:class:`~chainrule.tensor.Tensor`, whose class body binds them.  Nothing here is a primitive:
every operation composes ``getitem`` with advanced indices (whose gradient is ``index_add``),
``index_add`` (whose gradient is ``getitem``), ``where`` and arithmetic, so first and higher
derivatives and forward mode come from those rules.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from chainrule import ops, tracing
from chainrule import rules as R
from chainrule.arguments import data_of, dtype_of, like, no_gradient, one_dim
from chainrule.errors import ShapeError
from chainrule.tensor_base import TensorBase

TopkResult = namedtuple("TopkResult", ["values", "indices"])
SortResult = namedtuple("SortResult", ["values", "indices"])


def _index_array(name: str, index, what: str = "index") -> np.ndarray:
    """The raw integer values of an index argument (int32 or int64, as PyTorch accepts)."""
    value = np.asarray(data_of(index))
    if value.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for {what}, got {value.dtype}; "
                           f"pass integer positions (e.g. {what}.long())")
    return value.astype(np.int64, copy=False)


def _along(name: str, x, dim: int, index: np.ndarray, *, check_sizes: bool = True):
    """The advanced index that reads ``x[..., index[i, j, k], ...]`` (``index`` replacing the
    position along ``dim``), after PyTorch's checks of ``gather``/``scatter``'s index."""
    if index.ndim != builtins.max(x.ndim, 1) and not (x.ndim == 0 and index.ndim <= 1):
        raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index has {index.ndim}, input has {x.ndim})")
    if x.ndim == 0:
        if index.size and (index != 0).any():
            raise RuntimeError(f"{name}(): index {int(index[index != 0][0])} is out of bounds "
                               f"for a 0-d tensor (only 0 is allowed)")
        return None
    for d, (n, m) in enumerate(zip(index.shape, x.shape)):
        if check_sizes and d != dim and n > m:
            raise RuntimeError(f"{name}(): Size does not match at dimension {d}: index has "
                               f"shape {tuple(index.shape)}, input {tuple(x.shape)}; index "
                               f"may not be larger than input outside dimension {dim}")
    size = x.shape[dim]
    if index.size and ((index < -size) | (index >= size)).any():
        bad = int(index[(index < -size) | (index >= size)][0])
        raise RuntimeError(f"{name}(): index {bad} is out of bounds for dimension {dim} with "
                           f"size {size}")
    positions = list(np.indices(index.shape, sparse=True))
    positions[dim] = index % size if size else index
    return tuple(positions)


def gather(input, dim: int, index, *, sparse_grad: bool = False) -> TensorBase:
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]``
    for ``dim=0`` (``index`` has ``input``'s number of dimensions; the result its shape).

    >>> import chainrule as cr
    >>> cr.gather(cr.tensor([[1, 2], [3, 4]]), 1, cr.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    x = ops.operand(input)
    d = one_dim("gather", dim, x.ndim)
    if R.batched(index):  # vmap: an index that differs from example to example
        return _gather_batched("gather", x, d, index)
    if _traced_positions(x, index, d):  # compile: the index is read at each replay, not kept
        try:
            return _gather_batched("gather", x, d, no_gradient(
                _positions, index, name="gather", x_shape=tuple(x.shape), dim=d), wrapped=True)
        except RuntimeError:
            pass  # (out of range: the path below says so, as eagerly)
    idx = _index_array("gather", index)
    at = _along("gather", x, d, idx)
    if at is None:
        return R.reshape(x, shape=idx.shape, x_shape=x.shape)
    return R.getitem(x, index=at, x_shape=x.shape)


def _gather_batched(name: str, x, d: int, index, wrapped: bool = False) -> TensorBase:
    """``gather`` with an index batched by vmap (or a trace's positions): a gather whose
    positions are an argument (``take_along``), on ``x`` cut to the index's sizes outside
    ``d``, as PyTorch reads it; ``wrapped``: the negative positions already counted from the
    end."""
    if index.dtype.kind not in "iu" or index.ndim != x.ndim:
        raise RuntimeError(f"{name}(): Expected an integer index with the input's number of "
                           f"dimensions ({x.ndim}), got {index.ndim} of {index.dtype}")
    if any(n < m for k, (n, m) in enumerate(zip(index.shape, x.shape)) if k != d):
        x = ops.getitem(x, tuple(slice(None) if k == d else slice(0, n)
                                 for k, n in enumerate(index.shape)))
    positions = index if wrapped else index % x.shape[d]
    return R.take_along(x, positions, axis=d, x_shape=tuple(x.shape))


def _traced_integers(index) -> bool:
    """Whether ``index`` is an integer tensor in a trace of ``compile``: the positions it
    holds are then an operation of the trace, read (and checked) at each replay, not kept."""
    return (tracing.active[0] is not None and isinstance(index, TensorBase)
            and index.dtype.kind in "iu")


def _traced_positions(x, index, d: int) -> bool:
    """Whether ``gather(x, d, index)`` runs in a trace with an integer tensor ``index`` whose
    shapes are right (the checks of the values are an operation then)."""
    return (_traced_integers(index) and x.ndim > 0 and index.ndim == x.ndim
            and all(n <= m for k, (n, m) in enumerate(zip(index.shape, x.shape)) if k != d))


def take_along_dim(input, indices, dim: int | None = None) -> TensorBase:
    """``input``'s values at ``indices`` along ``dim`` (NumPy's ``take_along_axis``; the two
    broadcast outside ``dim``); of the flattened tensor when ``dim`` is None.

    >>> import chainrule as cr
    >>> x = cr.tensor([[10., 30., 20.], [60., 40., 50.]])
    >>> cr.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)
    tensor([[30.],
            [60.]])
    """
    x = ops.operand(input)
    # (vmap: indices that differ from example to example stay a tensor, which gather takes; so
    # do integer ones inside a trace of compile, which gather checks at each replay)
    batched = R.batched(indices) or _traced_integers(indices)
    idx = indices if batched else _index_array("take_along_dim", indices, "indices")
    if dim is None:
        return gather(ops.reshape(x, -1), 0, idx.reshape(-1))
    d = one_dim("take_along_dim", dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number "
                           f"of dimensions, but got {x.ndim} and {idx.ndim}")
    x_shape, i_shape = list(x.shape), list(idx.shape)
    x_shape[d] = i_shape[d] = 1
    try:
        common = np.broadcast_shapes(tuple(x_shape), tuple(i_shape))
    except ValueError:
        raise ShapeError(f"take_along_dim(): input of shape {tuple(x.shape)} and indices of "
                         f"shape {tuple(idx.shape)} do not broadcast outside dimension "
                         f"{d}") from None
    x = ops.expand(x, *[n if i != d else x.shape[d] for i, n in enumerate(common)])
    i_shape = tuple(n if i != d else idx.shape[d] for i, n in enumerate(common))
    idx = ops.expand(idx, *i_shape) if batched else np.broadcast_to(idx, i_shape)
    return gather(x, d, idx)


def index_select(input, dim: int, index) -> TensorBase:
    """The entries of ``input`` at positions ``index`` (a vector) along ``dim``.

    >>> import chainrule as cr
    >>> cr.index_select(cr.tensor([[1, 2, 3], [4, 5, 6]]), 1, cr.tensor([2, 0]))
    tensor([[3, 1],
            [6, 4]])
    """
    x = ops.operand(input)
    d = one_dim("index_select", dim, x.ndim)
    if R.batched(index) and x.ndim:  # vmap: an index that differs from example to example
        return R.take_at(x, ops.reshape(index, -1), d)
    if _traced_integers(index) and x.ndim and index.ndim <= 1:
        if (taken := R.replayed_take(x, (ops.reshape(index, -1),), d)) is not None:
            return taken
    idx = _index_array("index_select", index)
    if idx.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape "
                         f"{idx.shape}; flatten it first")
    idx = idx.reshape(-1)
    size = x.shape[d] if x.ndim else 1
    if idx.size and ((idx < -size) | (idx >= size)).any():
        raise IndexError(f"index_select(): index out of range in self: dimension {d} has size "
                         f"{size}, got index {int(idx[(idx < -size) | (idx >= size)][0])}")
    if x.ndim == 0:
        return R.reshape(x, shape=(idx.size,), x_shape=()) if idx.size == 1 else \
            R.getitem(R.reshape(x, shape=(1,), x_shape=()), index=(idx,), x_shape=(1,))
    return R.getitem(x, index=(slice(None),) * d + (idx % size,), x_shape=x.shape)


def _winners(name: str, x, d: int, idx: np.ndarray):
    """For a scatter into ``x``: the flat positions written, and for each position of ``x``
    the flat position in ``idx`` whose source value lands there last (-1: none)."""
    at = _along(name, x, d, idx)
    shape = x.shape if x.ndim else (1,)
    at = at if at is not None else (idx.reshape(-1) * 0,)
    flat = np.ravel_multi_index(np.broadcast_arrays(*at), shape).reshape(-1)
    winner = np.full(int(np.prod(shape)), -1, np.int64)
    winner[flat] = np.arange(flat.size)  # (NumPy keeps the last of repeated positions)
    return flat, winner.reshape(x.shape)


def _traced_index_tensor(x, index) -> bool:
    """Whether a scatter into ``x`` runs in a trace of ``compile`` with an integer tensor
    ``index`` (not vmap's): then its positions are an operation of the trace."""
    return _traced_integers(index) and x.ndim > 0 and not R.batched(index)


def _positions(index: np.ndarray, name: str, x_shape: tuple, dim: int) -> np.ndarray:
    """``index`` as positions along ``dim`` of a tensor of ``x_shape`` (negative ones from
    the end), after :func:`_along`'s checks for ``name`` (an operation of a trace: a replay
    checks its own index)."""
    return _along(name, _shaped(x_shape), dim, _as_int64(index))[dim]


def _landings(index: np.ndarray, x_shape: tuple, dim: int) -> tuple:
    """:func:`_winners` of a ``scatter`` into a tensor of ``x_shape`` (after its checks): the
    flat positions written, and the flat position in ``index`` of the value that lands at each
    position of ``x`` (-1: none)."""
    return _winners("scatter", _shaped(x_shape), dim, _as_int64(index))


def _scatter_winners(index: np.ndarray, x_shape: tuple, dim: int) -> np.ndarray:
    return _landings(index, x_shape, dim)[1]


def _shaped(shape: tuple) -> np.ndarray:
    """A stand-in of ``shape`` for the checks that read only a tensor's shape (no memory)."""
    return np.broadcast_to(np.zeros((), np.int8), shape)


def _as_int64(index) -> np.ndarray:
    return np.asarray(index).astype(np.int64, copy=False)


def _source(name: str, src, idx: np.ndarray, x):
    """The part of ``src`` the index reads (its leading block of ``idx``'s shape)."""
    s = ops.operand(src)
    if s.ndim != idx.ndim:
        raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions as "
                           f"src tensor (index has {idx.ndim}, src has {s.ndim})")
    if builtins.any(n > m for n, m in zip(idx.shape, s.shape)):
        raise RuntimeError(f"{name}(): Size does not match: index of shape {idx.shape} may not "
                           f"be larger than src of shape {tuple(s.shape)}")
    if s.dtype != x.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype, got "
                           f"{x.dtype} and {s.dtype}; cast src with .to({x.dtype})")
    return R.getitem(s, index=tuple(slice(0, n) for n in idx.shape), x_shape=s.shape) \
        if s.shape != idx.shape else s


REPEATED_PRODUCT = ("scatter(reduce='multiply'): repeated positions in index are not "
                    "implemented for a src tensor; use unique ones")


def scatter(input, dim: int, index, src=None, *, value=None, reduce: str | None = None):
    """``input`` with ``src``'s values (or the number ``value``) written at ``index`` along
    ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``.  Where ``index`` repeats a
    position the last value written stays (PyTorch leaves that case unspecified) and only it
    gets gradient.  ``reduce='add'`` or ``'multiply'`` combine instead of replacing.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).scatter(1, cr.tensor([[2], [0]]), cr.tensor([[5.], [7.]]))
    tensor([[0., 0., 5.],
            [7., 0., 0.]])
    """
    x = ops.operand(input)
    if src is None and value is None:
        raise TypeError("scatter(): pass src (a tensor) or value (a number)")
    if src is not None and value is not None:
        raise TypeError("scatter(): pass either src or value, not both")
    if src is not None and not isinstance(src, (TensorBase, np.ndarray)):
        src, value = None, src  # scatter(input, dim, index, 2.0): the value overload
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got "
                           f"{reduce!r}")
    d = one_dim("scatter", dim, x.ndim)
    if reduce == "add" and _traced_index_tensor(x, index):
        return scatter_add(x, d, index, src if value is None
                           else np.full(index.shape, value, dtype=x.dtype))
    if reduce == "multiply" and _traced_index_tensor(x, index):
        return _multiplied_traced(x, d, index, src, value)
    if reduce is None and _traced_index_tensor(x, index):
        # compile: where each value lands is an operation of the trace, found and checked at
        # each replay from that call's index
        winner = no_gradient(_scatter_winners, index, x_shape=tuple(x.shape), dim=d)
        if value is not None:
            picked = np.asarray(value, dtype=x.dtype)  # (broadcast by where)
        else:
            picked = _landed(x, src, index, winner)
        return R.where(no_gradient(np.greater_equal, winner, 0), picked, x)
    idx = _index_array("scatter", index)
    if value is not None:
        s = np.full(idx.shape, value, dtype=x.dtype)
    else:
        s = _source("scatter", src, idx, x)
    if reduce == "add":
        return scatter_add(x, d, idx, s)
    flat, winner = _winners("scatter", x, d, idx)
    written = winner >= 0
    if reduce == "multiply":
        # each position times the product of the values landing there
        if isinstance(s, TensorBase) and np.unique(flat).size != flat.size:
            raise NotImplementedError(REPEATED_PRODUCT)
        picked = R.getitem(ops.reshape(s, -1), index=(np.maximum(winner, 0),),
                           x_shape=(idx.size,))
        if not isinstance(s, TensorBase) and np.unique(flat).size != flat.size:
            picked = np.asarray(value, x.dtype) ** np.bincount(flat, minlength=written.size)
            picked = picked.reshape(x.shape).astype(x.dtype)
        return R.where(written, x * picked, x)
    picked = R.getitem(ops.reshape(s, -1), index=(np.maximum(winner, 0),), x_shape=(idx.size,))
    return R.where(written, picked, x)


def _multiplied_traced(x, d: int, index, src, value) -> TensorBase:
    """``scatter(reduce='multiply')`` in a trace of ``compile``: eager's formula, with how
    many values land at each position (a number ``value`` lands as ``value ** count``) and
    which one (a source tensor's positions must not repeat) operations of the plan."""
    shape = tuple(x.shape)
    if value is not None:
        counts = no_gradient(_scatter_counts, index, x_shape=shape, dim=d)
        picked = no_gradient(_power_of, counts, base=value, dtype=x.dtype)
        written = no_gradient(np.greater, counts, 0)
    else:
        winner = no_gradient(_unrepeated_winners, index, x_shape=shape, dim=d)
        picked = _landed(x, src, index, winner)
        written = no_gradient(np.greater_equal, winner, 0)
    return R.where(written, x * picked, x)


def _landed(x, src, index, winner):
    """The value of ``src`` that lands at each position of ``x`` (``winner``: its flat
    position in ``index``, -1 where none lands, which reads the first)."""
    return R.take_at(ops.reshape(_source("scatter", src, index, x), -1),
                     no_gradient(np.maximum, winner, 0), 0)


def _scatter_counts(index: np.ndarray, x_shape: tuple, dim: int) -> np.ndarray:
    """How many of ``index``'s values land at each position of a tensor of ``x_shape``."""
    flat, _ = _landings(index, x_shape, dim)
    return np.bincount(flat, minlength=math.prod(x_shape)).reshape(x_shape)


def _unrepeated_winners(index: np.ndarray, x_shape: tuple, dim: int) -> np.ndarray:
    """:func:`_scatter_winners`, for a product with a source tensor, which takes each
    position once."""
    flat, winner = _landings(index, x_shape, dim)
    if np.unique(flat).size != flat.size:
        raise NotImplementedError(REPEATED_PRODUCT)
    return winner


def _power_of(counts: np.ndarray, base, dtype) -> np.ndarray:
    """``base ** counts`` in ``dtype``: the product of ``counts`` copies of the number."""
    return (np.asarray(base, dtype) ** counts).astype(dtype)


def scatter_add(input, dim: int, index, src) -> TensorBase:
    """``input`` plus ``src``'s values added at ``index`` along ``dim`` (repeated positions
    add up): ``out[index[i][j]][j] += src[i][j]`` for ``dim=0``.

    >>> import chainrule as cr
    >>> cr.zeros(3).scatter_add(0, cr.tensor([0, 2, 0]), cr.tensor([1., 2., 3.]))
    tensor([4., 0., 2.])
    """
    x = ops.operand(input)
    d = one_dim("scatter_add", dim, x.ndim)
    # (compile: an integer tensor index stays one, its positions an operation of the trace)
    traced = _traced_index_tensor(x, index)
    idx = index if traced else _index_array("scatter_add", index)
    s = _source("scatter_add", src, idx, x) if isinstance(src, TensorBase) else \
        np.asarray(src, x.dtype)[tuple(slice(0, n) for n in idx.shape)]
    if traced:
        positions = no_gradient(_positions, index, name="scatter_add", x_shape=tuple(x.shape),
                                dim=d)
        # (added into the block of x the index covers outside dim, then placed in x's shape)
        block = tuple(x.shape[k] if k == d else n for k, n in enumerate(index.shape))
        added = R.add_along(s, positions, axis=d, x_shape=block)
        if block != tuple(x.shape):
            added = R.index_add(added, index=tuple(slice(0, n) for n in block),
                                x_shape=tuple(x.shape))
        return x + added
    at = _along("scatter_add", x, d, idx)
    if at is None:
        return x + ops.sum(s)
    return x + R.index_add(s, index=at, x_shape=x.shape)


def _mask(name: str, mask) -> np.ndarray:
    value = np.asarray(data_of(mask))
    if value.dtype != np.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{value.dtype}; compare first (e.g. mask > 0)")
    return value


def masked_fill(input, mask, value) -> TensorBase:
    """``input`` with ``value`` (a number or a 0-d tensor) where the boolean ``mask`` (which
    broadcasts) is true.

    >>> import chainrule as cr
    >>> cr.tensor([1., 2., 3.]).masked_fill(cr.tensor([True, False, True]), 0.)
    tensor([0., 2., 0.])
    """
    x = ops.operand(input)
    if isinstance(mask, TensorBase) and mask.dtype == np.bool_:
        m = mask  # (a condition of where: its values are not read here, so compile replays it)
    else:
        m = _mask("masked_fill", mask)
    if isinstance(value, TensorBase):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s)")
        v = value if value.dtype == x.dtype else ops.to(value, x.dtype)
    else:
        v = np.asarray(value).astype(x.dtype)
    return R.where(m, v, x)


def masked_select(input, mask) -> TensorBase:
    """The values of ``input`` where ``mask`` is true, as a 1-D tensor (the two broadcast).

    >>> import chainrule as cr
    >>> x = cr.tensor([[1, -2], [-3, 4]])
    >>> cr.masked_select(x, x > 0)
    tensor([1, 4])
    """
    x = ops.operand(input)
    m = _mask("masked_select", mask)
    shape = np.broadcast_shapes(x.shape, m.shape)
    if shape != x.shape:
        x = ops.expand(x, *shape)
    # (a mask of its own: the node keeps it, and the caller's may change after the call)
    return R.getitem(x, index=(np.array(np.broadcast_to(m, shape)),), x_shape=shape)


def sort(input, dim: int = -1, descending: bool = False, *,  # noqa: A002
         stable: bool = False) -> SortResult:
    """Sorted values along ``dim`` and the indices they came from (the values carry gradient).
    The sort is always stable: equal values keep their order, ascending or descending (so
    ``stable`` changes nothing; PyTorch's default may order them otherwise).

    >>> import chainrule as cr
    >>> cr.sort(cr.tensor([2., 1., 2., 0.]), descending=True)
    SortResult(values=tensor([2., 2., 1., 0.]), indices=tensor([0, 2, 1, 3]))
    """
    x = ops.operand(input)
    d = one_dim("sort", dim, x.ndim)
    if x.ndim == 0:
        return SortResult(R.clone(x), like((x,), np.array(0, np.int64)))
    if not descending:
        values, perm = R.sorted_along(x, d)
        if isinstance(perm, TensorBase):
            return SortResult(values, perm)
        # (a copy: the node keeps the permutation, and the caller may change the indices)
        return SortResult(values, like((x,), perm.copy()))
    # descending, ties in their original order (any dtype): the reversed tensor sorted
    # ascending, read backwards; the values' gradient follows the same permutation
    values, perm = R.sorted_along(ops.flip(x, d), d)
    if isinstance(perm, TensorBase):  # (under vmap, or in a trace of compile)
        return SortResult(ops.flip(values, d), x.shape[d] - 1 - ops.flip(perm, d))
    return SortResult(ops.flip(values, d), like((x,), x.shape[d] - 1 - np.flip(perm, axis=d)))


def argsort(input, dim: int = -1, descending: bool = False, *,  # noqa: A002
            stable: bool = False) -> TensorBase:
    """The indices that sort ``input`` along ``dim``: :func:`sort`'s indices (stable).

    >>> import chainrule as cr
    >>> cr.argsort(cr.tensor([[3., 1., 2.]]), dim=1)
    tensor([[1, 2, 0]])
    """
    return sort(input, dim, descending, stable=stable).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their
    indices, as ``(values, indices)``; always sorted (``sorted=False`` allows any order).

    >>> import chainrule as cr
    >>> cr.topk(cr.tensor([1., 5., 3., 4.]), 2)
    TopkResult(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    x = ops.operand(input)
    d = one_dim("topk", dim, x.ndim)
    size = x.shape[d] if x.ndim else 1
    if type(k) is not int and not isinstance(k, np.integer):
        raise TypeError(f"topk(): argument 'k' must be int, not {type(k).__name__}")
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} but dimension {d} has "
                           f"size {size}")
    values, indices = sort(x, d, descending=largest)
    if x.ndim == 0:
        return TopkResult(values, indices)
    keep = (slice(None),) * d + (slice(0, k),)
    if indices._batched or tracing.active[0] is not None:
        # (inside vmap: per-example indices; in a trace of compile: the trace's; sliced as a
        # tensor)
        first = R.getitem(indices, index=keep, x_shape=indices.shape)
    else:
        first = like((x,), data_of(indices)[keep])
    return TopkResult(R.getitem(values, index=keep, x_shape=values.shape), first)


def addcmul(input, tensor1, tensor2, *, value=1) -> TensorBase:
    """``input + value * tensor1 * tensor2`` (broadcasting).

    >>> import chainrule as cr
    >>> cr.addcmul(cr.ones(2), cr.tensor([1., 2.]), cr.tensor([3., 4.]), value=0.5)
    tensor([2.5000, 5.0000])
    """
    return ops.operand(input) + value * (ops.operand(tensor1) * ops.operand(tensor2))


def addcdiv(input, tensor1, tensor2, *, value=1) -> TensorBase:
    """``input + value * tensor1 / tensor2`` (broadcasting; integer tensors are refused, as in
    PyTorch).

    >>> import chainrule as cr
    >>> cr.addcdiv(cr.zeros(2), cr.tensor([1., 2.]), cr.tensor([4., 4.]), value=2)
    tensor([0.5000, 1.0000])
    """
    if dtype_of(tensor1).kind in "iub" and dtype_of(tensor2).kind in "iub":
        raise RuntimeError("addcdiv(): Integer division with addcdiv is no longer supported; "
                           "divide floats instead (e.g. tensor1.float())")
    return ops.operand(input) + value * (ops.operand(tensor1) / ops.operand(tensor2))


def lerp(input, end, weight) -> TensorBase:
    """Linear interpolation ``input + weight * (end - input)`` (``weight`` a number or a
    tensor; all broadcast).

    >>> import chainrule as cr
    >>> cr.lerp(cr.tensor([0., 10.]), cr.tensor([10., 20.]), 0.25)
    tensor([ 2.5000, 12.5000])
    """
    x, e = ops.operand(input), ops.operand(end)
    for what, v in (("input", x), ("end", e), ("weight", ops.operand(weight))):
        if v.dtype.kind not in "fc":
            raise RuntimeError(f"lerp(): expected floating-point tensors, but {what} has dtype "
                               f"{v.dtype}; convert it with .float()")
    if x.dtype != e.dtype:
        raise RuntimeError(f"lerp(): expected dtype {x.dtype} for `end` but got dtype {e.dtype}")
    return x + weight * (e - x)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids of 1-D tensors: with ``indexing='ij'`` (the default) the i-th result
    varies along dimension i; ``'xy'`` swaps the first two dimensions (NumPy's default).

    >>> import chainrule as cr
    >>> xs, ys = cr.meshgrid(cr.tensor([1, 2, 3]), cr.tensor([4, 5]), indexing='ij')
    >>> xs.shape, ys[0]
    ((3, 2), tensor([4, 5]))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid(): indexing must be one of 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise RuntimeError("meshgrid(): expects a non-empty list of tensors")
    xs = [ops.operand(t) for t in tensors]
    for i, t in enumerate(xs):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid(): expected a 0D or 1D tensor in the tensor list but "
                               f"got tensor {i} of shape {tuple(t.shape)}")
    if len({t.dtype for t in xs}) > 1:
        raise RuntimeError(f"meshgrid(): expects all tensors to have the same dtype, got "
                           f"{[str(t.dtype) for t in xs]}")
    xs = [ops.reshape(t, -1) for t in xs]
    swap = indexing == "xy" and len(xs) >= 2
    if swap:
        xs[0], xs[1] = xs[1], xs[0]
    shape = tuple(t.shape[0] for t in xs)
    grids = []
    for i, t in enumerate(xs):
        view = [1] * len(xs)
        view[i] = shape[i]
        grids.append(ops.expand(ops.reshape(t, *view), *shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
