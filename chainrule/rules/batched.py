"""What the batching rules of several families share (``chainrule/batching.py`` describes the
rules: each gets its values with the batch at axis 0 and returns its result so).

A stack of ``B`` examples of shape ``(N, ...)`` is, for an op that treats the ``N`` samples of
its first axis independently (convolution, pooling, the recurrent scans), one call on ``B N``
samples: :func:`merged` and :func:`split` move between the two.  An op whose samples do not
stay apart (a sum over them: a convolution's weight gradient) or whose every operand is
batched takes the batch elsewhere; :func:`expanded` gives an unbatched value the batch first.
:func:`looped` (in ``shape.py``, beside the primitives it calls, which ``copy_slices``'s rule
needs too) is the fallback that is right for any primitive: one call per example, stacked.

Written with the table's primitives, so a rule that uses them is recorded under an enclosing
``grad`` and batched again under an enclosing ``vmap``.  (They live here, below
``chainrule/batching.py``, because the rules that call them are declared in this package.)
"""

from __future__ import annotations

import numpy as np

from chainrule.rules.shape import broadcast_to, reshape, transpose


def shape_of(value) -> tuple:
    """The (physical) shape of an unwrapped value: an ndarray or a tensor."""
    return tuple(np.shape(value))


def expanded(value, size: int):
    """An unbatched value as a stack of ``size`` equal examples, ``(size,) + shape`` (a
    broadcast view: nothing is copied)."""
    shape = shape_of(value)
    return broadcast_to(value, shape=(size,) + shape, x_shape=shape)


def as_batched(values, batched, size: int) -> list:
    """Every value with the batch in front: the unbatched ones expanded (``None`` kept)."""
    return [v if b or v is None else expanded(v, size) for v, b in zip(values, batched)]


def merged(value, axis: int = 0):
    """A stack ``(B, ..., N, ...)`` with ``N`` at ``axis`` of the example, as one example of
    ``B N`` samples there: ``(..., B N, ...)``, sample ``b N + n`` being example ``b``'s ``n``."""
    shape = shape_of(value)
    order = tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, len(shape)))
    if axis:
        value = transpose(value, axes=order)
        shape = tuple(shape[i] for i in order)
    return reshape(value, shape=shape[:axis] + (shape[axis] * shape[axis + 1],)
                   + shape[axis + 2:], x_shape=shape)


def split(value, size: int, axis: int = 0):
    """The inverse of :func:`merged`: ``(..., B N, ...)`` with ``B N`` at ``axis`` back to the
    stack ``(B, ..., N, ...)``."""
    shape = shape_of(value)
    parted = shape[:axis] + (size, shape[axis] // size) + shape[axis + 1:]
    value = reshape(value, shape=parted, x_shape=shape)
    if not axis:
        return value
    order = (axis,) + tuple(range(axis)) + tuple(range(axis + 1, len(parted)))
    return transpose(value, axes=order)
