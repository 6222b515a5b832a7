"""Helpers for the Tensor API tests: compare a tensor with an ndarray through the public API."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import settings

import chainrule as cr

FAST = settings(derandomize=True, max_examples=40, deadline=None)


def _np(t) -> np.ndarray:
    """The values of a tensor as an ndarray (through the public API)."""
    assert isinstance(t, cr.Tensor), type(t)
    return t.detach().numpy()


def _same(t, expected, dtype=None) -> None:
    """``t`` is a Tensor equal to ``expected`` in shape, values and dtype."""
    expected = np.asarray(expected)
    got = _np(t)
    assert got.shape == expected.shape
    assert got.dtype == (expected.dtype if dtype is None else np.dtype(dtype))
    np.testing.assert_array_equal(got, expected)


def _close(t, expected, rtol=1e-6, atol=0.0) -> None:
    expected = np.asarray(expected)
    got = _np(t)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def _a(*shape, dtype=np.float64):
    return np.arange(math.prod(shape), dtype=dtype).reshape(shape)
