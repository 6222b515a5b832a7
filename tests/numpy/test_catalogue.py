"""Every entry of ``tests/numpy/catalogue.py``, case by case: NumPy's own result on arrays, the
same values on Tensors (NumPy is the oracle), and the derivatives that ``docs/numpy.md``
shows, against central differences in float64 (``chainrule.testing.check_grads``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads
from tests.numpy import coverage
from tests.numpy.catalogue import available, function, unary

ENTRIES = sorted(available())

# columns a function of the catalogue is known to fail, and why (strict: a function that
# starts passing must leave this list, and the table shows it)
KNOWN_GAPS: dict[str, set[str]] = {}  # name -> the columns it is known to fail (none today)


def _leaves(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("name", ENTRIES)
def test_values_are_numpys(name):
    ours, theirs = function(cnp, name), function(np, name)
    for index, case in enumerate(available()[name]):
        arrays = coverage.inputs(name, index, case)
        expected = _leaves(case.call(theirs, *arrays))
        plain = _leaves(case.call(ours, *arrays))  # NumPy's own function, for arrays
        recorded = _leaves(case.call(ours, *(cr.tensor(a, requires_grad=True) for a in arrays)))
        assert len(plain) == len(recorded) == len(expected), (name, index)
        for p, r, e in zip(plain, recorded, expected):
            assert type(p) is type(e)
            np.testing.assert_array_equal(p, e)
            assert isinstance(r, cr.Tensor) and r.requires_grad, (name, index)
            assert r.shape == np.shape(e), (name, index)
            np.testing.assert_allclose(r.detach().numpy(), e, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name}, case {index}")


@pytest.mark.parametrize("name", ENTRIES)
def test_derivatives_match_central_differences(name):
    failing = {column: error for column, error in coverage.measure(name).items() if error}
    assert set(failing) == KNOWN_GAPS.get(name, set()), failing


class _WrongSine(cr.autograd.Function):
    """sin, with a derivative twice too large."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g * x.cos()


def test_a_wrong_derivative_fails_its_column():
    """The measurement can fail: the check that fills a column rejects a wrong derivative."""
    case = unary()[0]
    check_grads(coverage.program(cnp.sin, case), coverage.inputs("sin", 0, case),
                **coverage.CHECKS["rev"])
    with pytest.raises(AssertionError, match="does not match central differences"):
        check_grads(coverage.program(_WrongSine.apply, case), coverage.inputs("sin", 0, case),
                    **coverage.CHECKS["rev"])
