"""NumPy's functions that rearrange or combine arrays (``chainrule/numpy_arrays.py``): on
Tensors they give NumPy's values, and their derivatives match central differences to second
order in both modes (``check_grads``)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads

RNG = np.random.default_rng(7)
M = RNG.standard_normal((3, 4))
S = RNG.standard_normal((3, 3))
V = RNG.standard_normal(4)
T = RNG.standard_normal((2, 3, 2))

# name: (function of the module, ``np`` or ``cnp``, and arrays; the arrays)
CASES = {
    "diagonal": (lambda m, a: m.diagonal(a, 1), [M]),
    "diagonal of planes": (lambda m, a: m.diagonal(a, 0, 0, 2), [T]),
    "trace": (lambda m, a: m.trace(a), [S]),
    "trace with offset": (lambda m, a: m.trace(a, -1), [M]),
    "diag of a vector": (lambda m, v: m.diag(v, 1), [V]),
    "diag of a matrix": (lambda m, a: m.diag(a, -1), [M]),
    "tril": (lambda m, a: m.tril(a), [M]),
    "triu": (lambda m, a: m.triu(a, 1), [T]),
    "kron": (lambda m, a, b: m.kron(a, b), [S[:2, :2], M[:2, :3]]),
    "kron of a vector and a matrix": (lambda m, v, a: m.kron(v, a), [V[:2], S]),
    "roll": (lambda m, a: m.roll(a, 2), [M]),
    "roll along axes": (lambda m, a: m.roll(a, (1, -1), (0, 1)), [M]),
    "rot90": (lambda m, a: m.rot90(a), [M]),
    "rot90 three times": (lambda m, a: m.rot90(a, 3, (1, 2)), [T]),
    "flipud": (lambda m, a: m.flipud(a), [M]),
    "fliplr": (lambda m, a: m.fliplr(a), [M]),
    "repeat": (lambda m, a: m.repeat(a, 2, axis=1), [M]),
    "repeat flattened": (lambda m, a: m.repeat(a, [1, 2, 0, 1, 1, 3, 1, 1, 2, 1, 1, 1]), [M]),
    "diff": (lambda m, a: m.diff(a), [M]),
    "second diff": (lambda m, a: m.diff(a, 2, axis=0), [T]),
    "diff with prepend": (lambda m, v: m.diff(v, prepend=0.5), [V]),
    "atleast_3d": (lambda m, v: m.atleast_3d(v), [V]),
    "vstack": (lambda m, v, a: m.vstack([v, a]), [V, M]),
    "hstack": (lambda m, v, w: m.hstack([v, w]), [V, V[:2]]),
    "dstack": (lambda m, a, b: m.dstack([a, b]), [M, M]),
    "column_stack": (lambda m, v, a: m.column_stack([v[:3], a]), [V, M]),
    "split": (lambda m, a: m.stack(m.split(a, 2, axis=1)), [M]),
    "array_split": (lambda m, v: m.concatenate(m.array_split(v, 3)[::-1]), [V]),
    "hsplit at indices": (lambda m, a: m.concatenate(m.hsplit(a, [1, 3])[::-1], axis=1), [M]),
    "append": (lambda m, a, v: m.append(a, v), [M, V]),
    "append along an axis": (lambda m, a: m.append(a, a[:1], axis=0), [M]),
}


@pytest.mark.parametrize("name", CASES)
def test_values_are_numpys(name):
    f, arrays = CASES[name]
    ours = f(cnp, *[cr.tensor(a, dtype=cr.float64) for a in arrays])
    np.testing.assert_allclose(np.asarray(ours), f(np, *arrays))


@pytest.mark.parametrize("name", CASES)
def test_derivatives_match_differences(name):
    f, arrays = CASES[name]
    check_grads(lambda *xs: f(cnp, *xs), arrays, order=2)


def test_split_refuses_an_unequal_division_as_numpy():
    with pytest.raises(ValueError, match="equal division"):
        cnp.split(cr.tensor(V), 3)
