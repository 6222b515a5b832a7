"""``chainrule.testing.check_grads``: it passes on correct derivatives and fails, in the mode
and at the order where the fault is, on deliberately wrong rules.

The wrong rules live in custom primitives built here (never registered in ``rules.REGISTRY``):
one whose VJP is wrong, one whose JVP is wrong, and two whose first derivatives are right but
whose rules hide ``x`` from higher derivatives (``x.detach()``), in reverse or forward mode.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import forward
from chainrule.engine import Primitive
from chainrule.testing import check_grads

_rng = np.random.default_rng(20240601)
A = _rng.standard_normal((3, 4))
B = _rng.standard_normal((4, 2))
V = _rng.standard_normal(4)
COL = _rng.standard_normal((3, 1))
POS = _rng.uniform(0.5, 2.0, (3, 4))

MODES = [("fwd",), ("rev",), ("fwd", "rev")]

# name -> (f, args): correct functions, each built from several primitives
CORRECT = {
    "elementwise": (lambda x: x.sin() * x.exp() + cr.tanh(x) / (1 + x * x), (A,)),
    "sum_and_mean": (lambda x: (x * x).sum(dim=1) + x.mean(dim=1) * x.sin().sum(), (A,)),
    "logsumexp_softmax": (lambda x: cr.logsumexp(x, dim=0) + cr.softmax(x, dim=0)[1], (A,)),
    "norm_and_prod": (lambda x: x.norm(dim=1) * x.prod(dim=1), (POS,)),
    "full_reduction_to_0d": (lambda x: (x.exp() * x).sum(), (A,)),
    "matmul": (lambda x, y: x @ y, (A, B)),
    "matmul_nonlinear": (lambda x, y: cr.tanh(x @ y) @ y.T, (A, B)),
    "matrix_vector": (lambda x, y: cr.sigmoid(x @ y), (A, V)),
    "broadcast_column_row": (lambda x, y: x * y + y.cos(), (COL, V)),
    "broadcast_division": (lambda x, y: x / (y * y + 1), (A, V)),
    "python_float_argument": (lambda x, s: (s * x).sin() * s ** 2, (A, 0.7)),
    "two_arguments_pow": (lambda x, y: x ** y + y * x.log(), (POS, A)),
    "two_arguments_both_0d": (lambda x, y: x.exp() * y.sin() / (1 + y * y), (1.5, -0.3)),
}


@pytest.mark.parametrize("modes", MODES, ids="+".join)
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", list(CORRECT))
def test_passes_on_correct_functions(name, order, modes):
    f, args = CORRECT[name]
    check_grads(f, args, order=order, modes=modes)


def test_passes_at_third_order():
    check_grads(lambda x, y: (x @ y).sin() * (x @ y), (A, B), order=3)


def test_accepts_tensors_arrays_and_floats_without_touching_them():
    x = cr.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)  # float32, a leaf
    before = x.detach().numpy().copy()
    seen = []

    def f(a, b, c):
        seen.append((a.dtype, b.dtype, c.dtype))
        return a * b.sin() + c
    check_grads(f, (x, np.array([1.0, 2.0]), 3.0), order=2)
    assert seen and all(dtype == np.float64 for dtypes in seen for dtype in dtypes)
    assert x.grad is None and x.dtype == np.float32
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_functions_that_ignore_an_argument_or_all_of_them():
    check_grads(lambda x, y: x.sin(), (A, V), order=3)
    check_grads(lambda x: cr.ones(3, dtype=cr.float64), (V,), order=2)
    check_grads(lambda x: x, (V,), order=2)


def test_cost_does_not_grow_with_the_input_size():
    """O(1) evaluations per check: 2 for the central difference, 1 per mode."""
    calls = []

    def f(x):
        calls.append(1)
        return (x.sin() * x).sum()
    big = np.linspace(-1.0, 1.0, 1000)
    check_grads(f, (big,), order=1)
    assert len(calls) == 4
    calls.clear()
    check_grads(f, (big,), order=2)  # f, the JVP of f and the VJP of f: 3 checks of 4 calls
    assert len(calls) == 12
    calls.clear()
    check_grads(f, (big,), order=3, modes=("fwd",))  # 3 checks of 3 calls
    assert len(calls) == 9


def test_works_under_no_grad_and_leaves_no_level_open():
    with cr.no_grad():
        check_grads(lambda x: x.exp() * x, (V,), order=2)
        assert not cr.is_grad_enabled()
    assert forward.state.levels == ()


# --------------------------------------------------------------------------------------------
# wrong rules are caught, by the intended mode at the intended order


def _cube(vjp, jvp) -> Primitive:
    """x ** 3 as a custom primitive with the given rules (not registered in rules.REGISTRY)."""
    return Primitive("Cube", lambda x: x ** 3, (vjp,), save_inputs=True, save_ans=False,
                     view=False, variadic=False, jvp=jvp)


def _hidden(x):
    """``x`` cut from its history and tangents: a rule using it is right only to first order."""
    return x.detach() if isinstance(x, cr.Tensor) else x


RIGHT_VJP = lambda g, ans, x: g * 3 * x * x
RIGHT_JVP = lambda ts, ans, x: ts[0] * 3 * x * x

RIGHT = _cube(RIGHT_VJP, RIGHT_JVP)
WRONG_VJP = _cube(lambda g, ans, x: g * 2 * x * x, RIGHT_JVP)
WRONG_JVP = _cube(RIGHT_VJP, lambda ts, ans, x: ts[0] * 2 * x * x)
WRONG_SECOND_VJP = _cube(lambda g, ans, x: g * 3 * _hidden(x) ** 2, RIGHT_JVP)
WRONG_SECOND_JVP = _cube(RIGHT_VJP, lambda ts, ans, x: ts[0] * 3 * _hidden(x) ** 2)

X = (np.array([0.5, -1.2, 2.0]),)


def _fails(prim, match, **kwargs):
    with pytest.raises(AssertionError, match=re.escape(match)):
        check_grads(prim, X, **kwargs)
    assert forward.state.levels == ()  # a failure inside nested levels closes them all


def test_the_custom_primitive_with_right_rules_passes():
    check_grads(RIGHT, X, order=3)


def test_wrong_vjp_is_caught_by_rev_at_order_1():
    check_grads(WRONG_VJP, X, order=2, modes=("fwd",))
    _fails(WRONG_VJP, "mode 'rev', order 1: the VJP of f does not match", modes=("rev",),
           order=1)
    _fails(WRONG_VJP, "mode 'rev', order 1: the VJP of f does not match")


def test_wrong_jvp_is_caught_by_fwd_at_order_1():
    check_grads(WRONG_JVP, X, order=2, modes=("rev",))
    _fails(WRONG_JVP, "mode 'fwd', order 1: the JVP of f along", modes=("fwd",), order=1)
    _fails(WRONG_JVP, "mode 'fwd', order 1: the JVP of f along")


def test_vjp_right_at_first_order_but_wrong_at_second_is_caught_at_order_2():
    check_grads(WRONG_SECOND_VJP, X, order=1)
    check_grads(WRONG_SECOND_VJP, X, order=3, modes=("fwd",))  # uses no VJP rule
    # reverse over reverse
    _fails(WRONG_SECOND_VJP, "mode 'rev', order 2: the VJP of the VJP of f", modes=("rev",))
    # with both modes, forward over reverse finds it first
    _fails(WRONG_SECOND_VJP, "mode 'fwd', order 2: the JVP of the VJP of f")


def test_jvp_right_at_first_order_but_wrong_at_second_is_caught_at_order_2():
    check_grads(WRONG_SECOND_JVP, X, order=1)
    check_grads(WRONG_SECOND_JVP, X, order=3, modes=("rev",))  # uses no JVP rule
    # forward over forward
    _fails(WRONG_SECOND_JVP, "mode 'fwd', order 2: the JVP of the JVP of f", modes=("fwd",))
    _fails(WRONG_SECOND_JVP, "mode 'fwd', order 2: the JVP of the JVP of f")


def test_wrong_rule_for_the_second_argument_of_a_broadcasting_primitive():
    def jvp(ts, ans, x, y):
        parts = [t * other for t, other in zip(ts, (y, x)) if t is not None]
        return parts[0] if len(parts) == 1 else parts[0] + parts[1]
    mul = Primitive("BadMul", lambda x, y: x * y,
                    (lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x * 1.5),
                    save_inputs=True, save_ans=False, view=False, variadic=False, jvp=jvp)
    check_grads(mul, (COL, V), order=2, modes=("fwd",))
    with pytest.raises(AssertionError, match="mode 'rev', order 1"):
        check_grads(mul, (COL, V))
    with pytest.raises(AssertionError, match="mode 'rev', order 1"):  # y's rule is wrong
        check_grads(lambda y: mul(cr.tensor(COL), y), (V,))
    check_grads(lambda x: mul(x, cr.tensor(V)), (COL,))  # x's rule is right


def _numbers(message: str, *labels: str) -> list[float]:
    """The numbers the message prints as ``label = number``."""
    return [float(re.search(re.escape(label) + r" = ([-+.\deE]+)", message).group(1))
            for label in labels]


def test_fwd_message_shows_both_numbers_and_their_difference():
    with pytest.raises(AssertionError) as info:
        check_grads(WRONG_JVP, (1.0,), modes=("fwd",))  # a 0-d input: J v = 2 v, not 3 v
    message = str(info.value)
    jv, numeric, diff = _numbers(message, "JVP", "central difference", ": difference")
    assert jv / numeric == pytest.approx(2 / 3, rel=1e-6)
    assert diff == pytest.approx(abs(jv - numeric), rel=1e-2)
    assert "tolerance" in message


def test_rev_message_shows_both_numbers_and_their_difference():
    with pytest.raises(AssertionError) as info:
        check_grads(WRONG_VJP, (1.0,), modes=("rev",))
    message = str(info.value)
    by_vjp, numeric, diff = _numbers(message, "<VJP(u), v>", "<u, central difference along v>",
                                     ": difference")
    assert by_vjp / numeric == pytest.approx(2 / 3, rel=1e-6)
    assert diff == pytest.approx(abs(by_vjp - numeric), rel=1e-2)


def test_message_names_the_function_and_the_failing_output():
    def two_outputs(x):
        return x.sin(), WRONG_JVP(x)
    with pytest.raises(AssertionError, match=r"the JVP of two_outputs .* in output 1"):
        check_grads(two_outputs, X, modes=("fwd",))


def test_same_seed_same_directions_other_seed_other_directions():
    def message(seed):
        with pytest.raises(AssertionError) as info:
            check_grads(WRONG_JVP, X, seed=seed)
        return str(info.value)
    assert message(3) == message(3)
    assert message(3) != message(4)


def test_tolerances_are_honoured():
    check_grads(WRONG_JVP, (1.0,), atol=10.0, order=1)  # |2 v - 3 v| is far below 10
    with pytest.raises(AssertionError):
        check_grads(RIGHT, X, eps=1e-1, atol=1e-9, rtol=1e-9, order=1)  # eps^2 error shows


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"modes": ("bwd",)}, ValueError, "modes"),
    ({"modes": ()}, ValueError, "modes"),
    ({"order": 0}, ValueError, "order"),
    ({"order": 1.5}, ValueError, "order"),
    ({"eps": 0.0}, ValueError, "eps"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        check_grads(lambda x: x, (V,), **kwargs)


def test_bad_args_and_results():
    with pytest.raises(ValueError, match="args is empty"):
        check_grads(lambda: cr.ones(1), ())
    with pytest.raises(TypeError, match="must return a Tensor"):
        check_grads(lambda x: x.numpy(), (V,))


Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.7 - 1.1j])


@pytest.mark.parametrize("f", [lambda z: z.abs(), lambda z: (z * z.conj()).real,
                               lambda z: z.exp() * z.angle(), lambda z: z.sin().imag])
def test_complex_arguments_are_checked_as_pairs_of_reals(f):
    check_grads(f, (Z,), order=2)


def test_a_conjugated_complex_rule_fails_the_check(monkeypatch):
    """The complex checks have teeth: abs's rule in the other convention (z / |z| for
    conj(z) / |z|) is right on the real line and wrong off it, in each mode."""
    from chainrule import rules
    monkeypatch.setattr(rules.abs, "vjp", (lambda g, ans, x: g * x / np.abs(x),))
    check_grads(cr.abs, (Z.real,), modes=("rev",), order=1)
    with pytest.raises(AssertionError, match="mode 'rev'"):
        check_grads(cr.abs, (Z,), modes=("rev",), order=1)
    monkeypatch.setattr(rules.abs, "jvp", lambda ts, ans, x: (ts[0] * x / np.abs(x)).real)
    with pytest.raises(AssertionError, match="mode 'fwd'"):
        check_grads(cr.abs, (Z,), modes=("fwd",), order=1)


# --------------------------------------------------------------------------------------------
# gradcheck


def test_gradcheck_accepts_an_empty_input():
    e = cr.zeros(0, dtype=cr.float64, requires_grad=True)
    x = cr.ones(2, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: cr.cat([a, b]) * 2, (e, x))
