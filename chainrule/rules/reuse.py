"""The rules' side of buffer reuse on large arrays (see ``chainrule/buffers.py``).

In a plain backward pass over large arrays the engine offers buffers a rule may write its
result into instead of allocating: ``g * factor`` then costs no new array.  These helpers are
what the elementwise rules (and softmax cross-entropy's) call for such products.  (Issue 12
wants this decided by the engine from what each rule declares, so that the rules read
``g * cos(x)``; until then it is here, in one place.)
"""

from __future__ import annotations

import builtins

import numpy as np

from chainrule import buffers


def _product_buffer(g, factor):
    """Where ``g * factor`` (``g`` a large array) may be written without allocating, or None.

    In a plain backward pass over large arrays the engine offers, in this order: ``g`` itself
    when only this rule reads it, ``factor`` when it is a saved input no one will read again,
    or a dead array of the right shape (see ``chainrule/buffers.py``).
    """
    # the product must have g's shape and dtype: factor of the same, or a bool mask
    if (type(factor) is not np.ndarray or factor.shape != g.shape
            or (factor.dtype != g.dtype and factor.dtype != np.bool_)):
        return None
    offered = buffers.donation
    if g is offered.array:
        return g
    for spent in offered.spent:
        if spent is factor and factor.dtype == g.dtype:  # (a bool mask cannot hold g * mask)
            return factor
    return buffers.take_buffer(g.shape, g.dtype)


def scaled(g, factor):
    """``g * factor``, written into a buffer the engine offers when there is one (large arrays
    in a plain backward pass), else a new product.  Rules of the form ``g * f'(x)`` use it: on
    large arrays it saves an allocation per rule."""
    if type(g) is np.ndarray and g.size > buffers.LARGE:
        out = _product_buffer(g, factor)
        if out is not None:
            return np.multiply(g, factor, out=out)
    return g * factor


def scaled_fresh(g, factor):
    """``g * factor``, where the rule has just computed ``factor`` (no one else holds it): on
    large arrays the product goes into ``g`` when the engine offers it, else into ``factor``."""
    if (type(g) is np.ndarray and g.size > buffers.LARGE and type(factor) is np.ndarray
            and factor.shape == g.shape and factor.dtype == g.dtype):
        return np.multiply(g, factor, out=g if g is buffers.donation.array else factor)
    return g * factor


def scaled_by(g, f, x, negate: bool = False):
    """``g * f(x)`` (or ``g * -f(x)``) for a unary elementwise primitive ``f``.

    On large arrays in a plain backward pass ``f(x)`` is computed into ``x`` itself when no
    one will read ``x`` again, or into a dead array, and the product written in place.
    """
    if (type(x) is np.ndarray and type(g) is np.ndarray and x.size > buffers.LARGE
            and x.shape == g.shape and x.dtype == g.dtype):
        offered = buffers.donation
        spent = builtins.any(a is x for a in offered.spent)
        buffer = x if spent else buffers.take_buffer(x.shape, x.dtype)
        if buffer is not None:
            factor = f.impl(x, out=buffer)
            if negate:
                np.negative(factor, out=factor)
            if g is offered.array:
                np.multiply(g, factor, out=g)
                if not spent:
                    buffers.give_back(buffer)
                return g
            return np.multiply(g, factor, out=factor)
    return scaled_fresh(g, -f(x) if negate else f(x))


def times(g, y):
    """``g * y``, without the pass over memory when ``g`` is a broadcast one.

    That is what the gradient of ``sum`` looks like, so ``(a * b).sum().backward()`` costs
    what it costs by hand.  Small arrays skip the check: it would cost more than it saves.
    """
    if type(g) is np.ndarray and g.size > buffers.LARGE:
        if not builtins.any(g.strides) and g.flat[0] == 1 and np.shape(y) == g.shape:
            return y
        return scaled(g, y)
    return g * y

