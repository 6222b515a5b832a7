"""NumPy-style functions that need only a tensor's shape or dtype, through
``chainrule.compile(fullgraph=True)``: each is compiled whole (no break of the trace) and its
replays agree with the eager call.

These functions used to read a shape, an ndim or a dtype through the tensor's values (which a
trace cannot replay, so it broke), ran a primitive on a raw fill value (a computation the trace
does not see), or froze a condition tensor as a constant.  Now they read shapes and dtypes
only, and make the constants they need with NumPy.  Each case is compiled once and called on
three seeded float64 inputs of the same shape (the first call traces, the next two replay the
plan): the values equal the eager call's, and so do the gradients of the sum of the outputs
that carry one.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp

SEEDS = (0, 1, 2)
SHAPE = (3, 4)
CLOSE = dict(rtol=1e-12, atol=1e-12)


def _filled_empty_like(x):
    """``x`` times ``empty_like(x)`` once every entry of the latter has been set."""
    block = cnp.empty_like(x)
    block[...] = 1.5
    return x * block


CASES = {
    # numpy_pad.py: a number as the fill value is a NumPy block in x's dtype
    "F.pad": lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
    "cnp.pad zeros": lambda x: cnp.pad(x, 1),
    "cnp.pad constant pairs": lambda x: cnp.pad(x, ((1, 0), (2, 1)),
                                                constant_values=((1, 2), (3.5, -4))),
    # numpy_arrays.py
    "cr.diag": lambda x: cr.diag(x[0], 1),
    "cnp.diag": lambda x: cnp.diag(x[1], -1),
    "cr.cross": lambda x: cr.cross(x[:, :3], x[:, 1:], dim=1),
    "cr.linalg.cross": lambda x: cr.linalg.cross(x[:, :3], x[:1, 1:]),
    "cnp.cross": lambda x: cnp.cross(x[:, :3], x[:, 1:]),
    # (an int default: cast by NumPy to the choices' dtype)
    "cnp.select": lambda x: cnp.select([x > 0, x < -0.5], [x, 2 * x], 0),
    # numpy.py
    "cnp.dot": lambda x: cnp.dot(x, x.T),
    "cnp.dot of a scalar": lambda x: cnp.dot(x, 2.0),
    "cnp.inner": lambda x: cnp.inner(x, x),
    "cnp.zeros_like": lambda x: x + cnp.zeros_like(x),
    "cnp.ones_like": lambda x: x * cnp.ones_like(x, dtype=np.int32),
    "cnp.empty_like": _filled_empty_like,
    "cnp.full_like": lambda x: x - cnp.full_like(x, 0.25),
    # numpy_building.py
    "cnp.meshgrid": lambda x: cnp.meshgrid(x[0], x[1, :2]),
    "cnp.broadcast_arrays": lambda x: cnp.broadcast_arrays(x, x[0], x[:, :1]),
    # numpy_statistics.py
    "cnp.average": lambda x: cnp.average(x, axis=0),
    "cnp.average returned": lambda x: cnp.average(x, axis=1, returned=True),
    "cnp.cov": lambda x: cnp.cov(x),
    "cnp.cov of two": lambda x: cnp.cov(x[0], x[1], bias=True),
    "cnp.corrcoef": lambda x: cnp.corrcoef(x),
    # (rows proportional to each other: rounding puts some coefficients beyond 1, clipped)
    "cnp.corrcoef clipped": lambda x: cnp.corrcoef(
        cnp.stack([x[0], 3 * x[0] + 1, x[1], -0.1 * x[0]])),
    # numpy_indexing.py
    "cnp.insert": lambda x: cnp.insert(x, 1, 5.0, axis=0),
    "cnp.insert an int": lambda x: cnp.insert(x, [1, 3], 5),
}


def _outputs(result) -> list:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _value_and_gradient(fn, seed: int):
    """``fn``'s outputs (as arrays) on the seeded input, and the gradient of the sum of those
    that carry one (None if none does)."""
    x = cr.tensor(np.random.default_rng(seed).standard_normal(SHAPE), requires_grad=True)
    outputs = _outputs(fn(x))
    values = [np.asarray(o.detach()) if isinstance(o, cr.Tensor) else np.asarray(o)
              for o in outputs]
    differentiable = [o for o in outputs if isinstance(o, cr.Tensor) and o.requires_grad]
    if not differentiable:
        return values, None
    sum(o.sum() for o in differentiable).backward()
    return values, np.asarray(x.grad)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_function_of_shapes_compiles_whole_and_replays_as_eager(name, fusion_mode):
    fn = CASES[name]
    compiled = cr.compile(fn, fullgraph=True)  # (a break of the trace raises)
    for seed in SEEDS:
        expected, expected_gradient = _value_and_gradient(fn, seed)
        values, gradient = _value_and_gradient(compiled, seed)
        assert len(values) == len(expected)
        for value, wanted in zip(values, expected):
            assert value.dtype == wanted.dtype and value.shape == wanted.shape
            np.testing.assert_allclose(value, wanted, **CLOSE)
        assert (gradient is None) == (expected_gradient is None)
        if gradient is not None:
            np.testing.assert_allclose(gradient, expected_gradient, **CLOSE)

