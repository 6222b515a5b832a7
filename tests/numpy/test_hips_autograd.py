"""HIPS autograd's coverage, which chainrule.numpy must include (issue 14): every NumPy function
that HIPS autograd 1.9.1 differentiates (``defvjp``, ``defjvp`` and ``def_linear`` in its
``numpy/numpy_vjps.py``, ``numpy_jvps.py``, ``linalg.py`` and ``fft.py``) must be
differentiable here in reverse mode, forward mode and to second order, as measured for
``docs/numpy.md``.

The names not covered yet are marked ``xfail(strict=True)``: adding one makes its test pass,
and the strict mark then fails the suite until the name leaves :data:`NOT_YET`.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule.numpy as cnp
from chainrule.numpy_catalogue import REFUSED, numpy_callables, numpy_object
from tests.numpy import coverage
from tests.numpy.catalogue import available

VJPS, JVPS = "numpy_vjps.py", "numpy_jvps.py"
BOTH = (VJPS, JVPS)

# NumPy's name -> the files of HIPS autograd that register its derivatives.  Its private
# wrappers are given by the NumPy function they stand for (_primitive_mean: mean,
# concatenate_args: concatenate, array_from_args and _array_from_scalar_or_array: array,
# _astype: astype, _primitive_norm: linalg.norm); the adjoints and helpers it registers for
# its own rules (dot_adjoint_0, untake, make_diagonal, truncate_pad, ArrayBox.__getitem__)
# are not NumPy functions.
HIPS = {
    **dict.fromkeys([
        "abs", "absolute", "add", "amax", "amin", "angle", "arccos", "arccosh", "arcsin",
        "arcsinh", "arctan", "arctan2", "arctanh", "array", "array_split", "atleast_1d",
        "atleast_2d", "atleast_3d", "broadcast_to", "clip", "concatenate", "conj", "conjugate",
        "cos", "cosh", "cross", "cumsum", "deg2rad", "degrees", "diag", "diagonal", "diff",
        "divide", "dot", "dsplit", "einsum", "exp", "exp2", "expand_dims", "expm1", "fabs",
        "fliplr", "flipud", "fmax", "fmin", "full", "gradient", "hsplit", "imag", "inner",
        "kron", "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
        "matmul", "max", "maximum", "mean", "min", "minimum", "mod", "moveaxis", "msort",
        "multiply", "nan_to_num", "negative", "outer", "pad", "partition", "power", "prod",
        "rad2deg", "radians", "ravel", "real", "real_if_close", "reciprocal", "remainder",
        "repeat", "reshape", "roll", "rollaxis", "rot90", "sin", "sinc", "sinh", "sort",
        "split", "sqrt", "square", "squeeze", "std", "subtract", "sum", "swapaxes", "tan",
        "tanh", "tensordot", "tile", "trace", "transpose", "tril", "triu", "true_divide", "var",
        "vsplit", "where"], BOTH),
    "astype": (VJPS,), "hypot": (VJPS,),
    **dict.fromkeys(["linalg.cholesky", "linalg.det", "linalg.eig", "linalg.eigh",
                     "linalg.inv", "linalg.norm", "linalg.pinv", "linalg.slogdet",
                     "linalg.solve", "linalg.svd"], ("linalg.py",)),
    **dict.fromkeys(["fft.fft", "fft.fft2", "fft.fftn", "fft.fftshift", "fft.ifft", "fft.ifft2",
                     "fft.ifftn", "fft.ifftshift", "fft.irfft", "fft.irfft2", "fft.irfftn",
                     "fft.rfft", "fft.rfft2", "fft.rfftn"], ("fft.py",)),
}

# not yet differentiable here, in all three columns (issue 14)
NOT_YET: set[str] = set()  # (none left)

# names NumPy deprecated, which chainrule.numpy refuses with a pointer to their replacement
REPLACED = {"msort": "sort"}


def _params():
    for name in sorted(HIPS):
        marks = [pytest.mark.xfail(strict=True, reason="issue 14: not yet")] \
            if name in NOT_YET else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_params()))
def test_what_hips_autograd_differentiates_is_differentiable_here(name):
    if numpy_object(name) is None:
        pytest.skip(f"NumPy {np.__version__} has no {name}")
    if name in REPLACED:
        assert name in REFUSED and REPLACED[name] in REFUSED[name]
        name = REPLACED[name]
    assert cnp.coverage()[name] == "differentiable"
    assert name in available(), f"{name} has no entry in tests/numpy/catalogue.py"
    failing = {column: error for column, error in coverage.measure(name).items() if error}
    assert not failing


def test_the_list_is_what_the_installed_hips_autograd_registers():
    """The data above against HIPS autograd's own registrations, where it is installed."""
    pytest.importorskip("autograd")
    import autograd.numpy.fft  # noqa: F401  (registers its rules)
    import autograd.numpy.linalg  # noqa: F401
    from autograd.core import primitive_jvps, primitive_vjps

    numpys = {numpy_object(name) for name in numpy_callables()}

    def numpy_functions(registry) -> set:
        # a primitive wraps NumPy's function as .fun (or one of autograd's private wrappers)
        return {getattr(p, "fun", p) for p in registry} & numpys

    registered = numpy_functions(primitive_vjps) | numpy_functions(primitive_jvps)
    ours = {numpy_object(name) for name in HIPS} - {None}
    # (HIPS registers private wrappers for these two: concatenate_args, array_from_args)
    wrapped = {np.concatenate, np.array}
    assert registered <= ours, sorted(f.__name__ for f in registered - ours)
    assert ours - wrapped <= registered, sorted(f.__name__ for f in ours - wrapped - registered)
