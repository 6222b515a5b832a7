"""The JAX front end (``chainrule.compat.jax``): the d2l chapter's JAX tab, then JAX's semantics.

``CELLS`` are the tab's 12 cells verbatim from the book except for the import lines;
``BOOK_DISPLAYS`` are what the book (jax 0.4.13, and 0.10.2 identically) shows under them.
They run in a fresh interpreter, Jupyter-style, with warnings as errors.  Expected values of
the semantics tests come from the specification (shared/reference/dialects.md, §5 and §7).
"""

from __future__ import annotations

import ast
import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule.compat.jax as jax
from chainrule.compat.jax import grad, lax, random
from chainrule.compat.jax import numpy as jnp
from tests.fresh_interpreter import run_json

REPO = Path(__file__).resolve().parents[2]

CELLS = [
    # cell 1
    "from chainrule.compat.jax import numpy as jnp",
    # cell 2
    "x = jnp.arange(4.0)\n"
    "x",
    # cell 3
    "y = lambda x: 2 * jnp.dot(x, x)\n"
    "y(x)",
    # cell 4
    "from chainrule.compat.jax import grad\n"
    "# The `grad` transform returns a Python function that\n"
    "# computes the gradient of the original function\n"
    "x_grad = grad(y)(x)\n"
    "x_grad",
    # cell 5
    "x_grad == 4 * x",
    # cell 6
    "y = lambda x: x.sum()\n"
    "grad(y)(x)",
    # cell 7
    "y = lambda x: x * x\n"
    "# grad is only defined for scalar output functions\n"
    "grad(lambda x: y(x).sum())(x)",
    # cell 8
    "import chainrule.compat.jax as jax\n"
    "\n"
    "y = lambda x: x * x\n"
    "# jax.lax primitives are Python wrappers around XLA operations\n"
    "u = jax.lax.stop_gradient(y(x))\n"
    "z = lambda x: u * x\n"
    "\n"
    "grad(lambda x: z(x).sum())(x) == y(x)",
    # cell 9
    "grad(lambda x: y(x).sum())(x) == 2 * x",
    # cell 10
    "def f(a):\n"
    "    b = a * 2\n"
    "    while jnp.linalg.norm(b) < 1000:\n"
    "        b = b * 2\n"
    "    if b.sum() > 0:\n"
    "        c = b\n"
    "    else:\n"
    "        c = 100 * b\n"
    "    return c",
    # cell 11
    "from chainrule.compat.jax import random\n"
    "a = random.normal(random.PRNGKey(1), ())\n"
    "d = f(a)\n"
    "d_grad = grad(f)(a)",
    # cell 12
    "d_grad == d / a",
]

BOOK_DISPLAYS = [
    None,
    "Array([0., 1., 2., 3.], dtype=float32)",
    "Array(28., dtype=float32)",
    "Array([ 0.,  4.,  8., 12.], dtype=float32)",
    "Array([ True,  True,  True,  True], dtype=bool)",
    "Array([1., 1., 1., 1.], dtype=float32)",
    "Array([0., 2., 4., 6.], dtype=float32)",
    "Array([ True,  True,  True,  True], dtype=bool)",
    "Array([ True,  True,  True,  True], dtype=bool)",
    None,
    None,
    "Array(True, dtype=bool)",
]

# Runs CELLS with chainrule.tour.run_cell in one namespace; prints the displays and the random
# cell's values as JSON on its last line.  argv[2]: jax_threefry_partitionable.
RUNNER = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("error")
    from chainrule.tour import run_cell
    cells, partitionable = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    if not partitionable:
        import chainrule.compat.jax
        chainrule.compat.jax.config.update("jax_threefry_partitionable", False)
    namespace, shown = {}, []
    for code in cells:
        value = run_cell(code, namespace)
        shown.append(None if value is None else repr(value))
    facts = {name: [str(namespace[name].dtype), list(namespace[name].shape),
                    float(namespace[name])] for name in ("a", "d", "d_grad")}
    print(json.dumps({"shown": shown, "facts": facts}))
""")


def _run_chapter(partitionable: bool) -> dict:
    return run_json(RUNNER, json.dumps(CELLS), json.dumps(partitionable))


@pytest.fixture(scope="module")
def chapter() -> dict:
    return _run_chapter(partitionable=True)


@pytest.mark.parametrize("number", range(len(CELLS)),
                         ids=[f"cell{n}" for n in range(1, len(CELLS) + 1)])
def test_chapter_displays_what_the_book_does(chapter, number):
    assert chapter["shown"][number] == BOOK_DISPLAYS[number]


def _f_float32(a: np.float32) -> tuple[np.float32, np.float32]:
    """The chapter's f and its slope, computed independently with NumPy float32."""
    b, slope = a * np.float32(2), np.float32(2)
    while np.sqrt(b * b) < 1000:
        b, slope = b * np.float32(2), slope * np.float32(2)
    if b > 0:
        return b, slope
    return np.float32(100) * b, np.float32(100) * slope


@pytest.mark.parametrize("partitionable, book_a, book_d, book_grad", [
    (True, -0.15443718, -126514.94, 819200.0),   # jax >= 0.5
    (False, -1.1842843, -121270.72, 102400.0),   # jax 0.4.13, the book's
])
def test_random_cell_reproduces_jax_values(request, partitionable, book_a, book_d, book_grad):
    result = request.getfixturevalue("chapter") if partitionable else _run_chapter(False)
    facts = result["facts"]
    for name in ("a", "d", "d_grad"):
        assert facts[name][:2] == ["float32", []]
    a = np.float32(facts["a"][2])
    assert a == np.float32(book_a)  # Threefry-2x32 and XLA's erfinv, bit for bit
    d, slope = _f_float32(a)
    assert np.float32(facts["d"][2]) == d == np.float32(book_d)
    assert np.float32(facts["d_grad"][2]) == slope == np.float32(book_grad)
    assert result["shown"][-1] == f"Array({bool(slope == d / a)}, dtype=bool)"


def test_tour_cells_are_the_books():
    from chainrule.compat.jax.tour import JAX_CELLS

    assert [code for _, code, _ in JAX_CELLS] == CELLS
    assert [shown for _, _, shown in JAX_CELLS] == BOOK_DISPLAYS
    assert all(explanation for explanation, _, _ in JAX_CELLS)


def test_front_end_uses_only_chainrules_public_api():
    allowed = {"chainrule", "chainrule.func", "chainrule.numpy", "chainrule.autograd"}
    for path in (REPO / "chainrule" / "compat" / "jax").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("chainrule"):
                assert node.module in allowed or node.module.startswith("chainrule.compat.jax")
                assert not any(alias.name.startswith("_") for alias in node.names), path
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("chainrule"):
                        assert alias.name in allowed, path


# --------------------------------------------------------------------------------------------
# grad and value_and_grad


def _close(actual, expected) -> None:
    assert isinstance(actual, jax.Array)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-6)


def test_grad_of_a_non_scalar_output_raises_jaxs_type_error():
    x = jnp.arange(4.0)
    for shape, arg in [((4,), x), ((1,), jnp.arange(1.0))]:
        with pytest.raises(TypeError) as err:
            grad(lambda x: x * x)(arg)
        assert str(err.value) == ("Gradient only defined for scalar-output functions. Output "
                                  f"had shape: {shape}.")


def test_grad_input_and_output_dtype_errors():
    with pytest.raises(TypeError, match=r"^grad requires real- or complex-valued inputs \(input "
                       r"dtype that is a sub-dtype of np.inexact\), but got int32. If you want "
                       r"to use Boolean- or integer-valued inputs, use vjp or set allow_int "
                       r"to True.$"):
        grad(lambda x: x.sum())(jnp.arange(4))
    with pytest.raises(TypeError, match=r"^grad requires real-valued outputs .* but got int32. "
                       r"For differentiation of functions with integer outputs, use jax.vjp "
                       r"directly.$"):
        grad(lambda x: jnp.arange(3).sum())(1.0)


def test_grad_argnums_and_weak_types():
    f2 = lambda a, b: a * b ** 2
    assert repr(grad(f2)(3.0, 2.0)) == "Array(4., dtype=float32, weak_type=True)"
    assert repr(grad(f2, argnums=1)(3.0, 2.0)) == "Array(12., dtype=float32, weak_type=True)"
    both = grad(f2, argnums=(0, 1))(3.0, 2.0)
    assert isinstance(both, tuple) and [float(g) for g in both] == [4.0, 12.0]
    with pytest.raises(TypeError, match=r"^differentiating with respect to argnums=2 requires "
                       r"at least 3 positional arguments to be passed by the caller, but got "
                       r"only 2 positional arguments.$"):
        grad(f2, argnums=2)(3.0, 2.0)
    # an unused input has a zero gradient, not None
    assert repr(grad(lambda x, y: y * 2.0)(jnp.arange(3.0), 1.0)) == \
        "Array([0., 0., 0.], dtype=float32)"


def test_grad_has_aux_and_value_and_grad():
    f = lambda x: (jnp.sum(x ** 2), {"aux": x * 10})
    g, aux = grad(f, has_aux=True)(jnp.array([1.0, 2.0]))
    assert repr((g, aux)) == ("(Array([2., 4.], dtype=float32), {'aux': Array([10., 20.], "
                              "dtype=float32)})")
    with pytest.raises(TypeError, match="^expected function with aux output to return a "
                       "two-element tuple, but got type"):
        grad(lambda x: x ** 2, has_aux=True)(1.0)
    value, g = jax.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))
    assert repr((value, g)) == "(Array(5., dtype=float32), Array([2., 4.], dtype=float32))"
    (value, aux), g = jax.value_and_grad(f, has_aux=True)(jnp.array([1.0, 2.0]))
    assert float(value) == 5.0 and repr(aux["aux"]) == "Array([10., 20.], dtype=float32)"


def test_grad_takes_pytrees_and_is_pure():
    params = {"w": jnp.array([1.0, 2.0]), "b": 0.5}
    loss = lambda p: jnp.sum(p["w"] * p["w"]) + 3 * p["b"]
    first = grad(loss)(params)
    assert sorted(first) == ["b", "w"]
    _close(first["w"], [2.0, 4.0])
    assert repr(first["b"]) == "Array(3., dtype=float32, weak_type=True)"
    again = grad(loss)(params)  # no state: the same answer again (exercise 2)
    assert np.array_equal(again["w"], first["w"]) and float(again["b"]) == 3.0


def test_higher_order_grad():
    assert float(grad(grad(lambda x: x ** 3))(2.0)) == 12.0
    np.testing.assert_allclose(float(grad(grad(jnp.sin))(1.0)), -0.84147096, rtol=1e-6)
    with pytest.raises(TypeError, match=r"Output had shape: \(2,\)\.$"):
        grad(grad(lambda x: jnp.sum(x ** 3)))(jnp.array([1.0, 2.0]))


def test_stop_gradient():
    x = jnp.arange(4.0)
    shown = grad(lambda x: jnp.sum(lax.stop_gradient(x * x) * x))(x)
    assert repr(shown) == "Array([0., 1., 4., 9.], dtype=float32)"
    assert jax.lax is lax
    assert float(jax.jvp(lambda x: lax.stop_gradient(x) * x, (2.0,), (1.0,))[1]) == 2.0


def test_norm_and_its_gradient_at_zero_is_nan():
    assert repr(jnp.linalg.norm(jnp.array([3.0, 4.0]))) == "Array(5., dtype=float32)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = grad(jnp.linalg.norm)(jnp.zeros(2))
    assert repr(g) == "Array([nan, nan], dtype=float32)"


# --------------------------------------------------------------------------------------------
# vjp, jvp, linearize, Jacobians, Hessians


def test_vjp_returns_a_tuple_and_checks_the_cotangent():
    x = jnp.arange(4.0)
    y, f_vjp = jax.vjp(lambda x: x * x, x)
    assert repr(y) == "Array([0., 1., 4., 9.], dtype=float32)"
    assert repr(f_vjp(jnp.ones(4))) == "(Array([0., 2., 4., 6.], dtype=float32),)"
    with pytest.raises(ValueError) as err:
        f_vjp(jnp.ones(3))
    assert str(err.value) == ("unexpected JAX type (e.g. shape/dtype) for argument to VJP "
                              "function: got float32[3], but expected float32[4] because the "
                              "corresponding output of the differentiated function had JAX "
                              "type float32[4]")
    _, f_vjp = jax.vjp(lambda a, b: a * b, jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))
    ga, gb = f_vjp(jnp.ones(2))
    _close(ga, [3.0, 4.0])
    _close(gb, [1.0, 2.0])


def test_jvp_values_and_errors():
    value, tangent = jax.jvp(jnp.sin, ([0.0, 1.0],), ([1.0, 1.0],))
    _close(value, [0.0, 0.84147096])
    _close(tangent, [1.0, 0.5403023])
    x = jnp.arange(4.0)
    with pytest.raises(TypeError) as err:
        jax.jvp(jnp.sin, x, x)
    assert str(err.value) == ("primal and tangent arguments to jax.jvp must be tuples or lists; "
                              "found ArrayImpl and ArrayImpl.")
    with pytest.raises(TypeError) as err:
        jax.jvp(jnp.sin, (x,), (jnp.arange(4),))
    assert str(err.value) == (
        "primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or in case "
        "of int/bool primal dtype the tangent dtype must be float0.Got primal dtype float32 and "
        "so expected tangent dtype float32, but got tangent dtype int32 instead.")


def test_linearize():
    value, f_jvp = jax.linearize(jnp.sin, 1.0)
    np.testing.assert_allclose(float(value), 0.84147096, rtol=1e-6)
    out = f_jvp(2.0)
    assert out.weak_type and out.dtype == np.float32
    np.testing.assert_allclose(float(out), 1.0806046, rtol=1e-6)


def test_jacobians_and_hessian():
    x = jnp.arange(4.0)
    for jac in (jax.jacfwd, jax.jacrev):
        j = jac(lambda x: x * x)(x)
        assert j.shape == (4, 4)
        _close(j, np.diag([0.0, 2.0, 4.0, 6.0]))
    h = jax.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
    assert repr(h) == "Array([[ 6.,  0.],\n       [ 0., 12.]], dtype=float32)"
    assert jax.hessian(lambda x: x ** 3)(jnp.array([1.0, 2.0])).shape == (2, 2, 2)


def test_exercise_function_and_sin_derivative():
    f = lambda x: jnp.log(x ** 2) * jnp.sin(x) + 1 / x
    np.testing.assert_allclose(float(f(2.0)), 1.7605538, rtol=1e-6)
    np.testing.assert_allclose(float(grad(f)(2.0)), 0.08239537, rtol=1e-6)
    xs = jnp.linspace(-3, 3, 5)
    derivative = jax.vmap(grad(jnp.sin))(xs)
    assert np.array_equal(derivative, jnp.cos(xs))  # bit for bit, as in every framework
    np.testing.assert_allclose(np.asarray(derivative),
                               [-0.9899925, 0.0707372, 1.0, 0.0707372, -0.9899925], rtol=1e-6)


def test_control_flow_on_a_vector_input():
    a = random.normal(random.PRNGKey(1), (3,))
    with pytest.raises(TypeError, match=r"Output had shape: \(3,\)\.$"):
        grad(lambda a: a * 2)(a)
    jac = jax.jacrev(lambda a: a * 4)(a)
    _close(jac, 4 * np.eye(3))


# --------------------------------------------------------------------------------------------
# random


def test_prng_keys_and_split_match_jax():
    assert repr(random.PRNGKey(1)) == "Array([0, 1], dtype=uint32)"
    assert np.asarray(random.split(random.PRNGKey(0))).tolist() == \
        [[1797259609, 2579123966], [928981903, 3453687069]]
    jax.config.update("jax_threefry_partitionable", False)
    try:
        assert np.asarray(random.split(random.PRNGKey(0))).tolist() == \
            [[4146024105, 967050713], [2718843009, 1272950319]]
        assert float(random.normal(random.PRNGKey(0))) == np.float32(-0.20584226)
    finally:
        jax.config.update("jax_threefry_partitionable", True)
    assert float(random.normal(random.PRNGKey(0))) == np.float32(1.6226422)


def test_random_functions_are_pure_functions_of_the_key():
    key = random.PRNGKey(42)
    first, second = random.normal(key, (5,)), random.normal(key, (5,))
    assert np.array_equal(first, second)
    k1, k2 = random.split(key)
    assert not np.array_equal(random.normal(k1, (5,)), random.normal(k2, (5,)))
    u = random.uniform(key, (1000,))
    assert u.dtype == np.float32 and u.shape == (1000,)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    n = random.normal(key, (2000,))
    assert abs(float(n.mean())) < 0.1 and abs(float(n.std()) - 1) < 0.1
    with pytest.raises(TypeError) as err:
        random.normal(0, ())
    assert str(err.value) == ("JAX encountered invalid PRNG key data: expected key_data to have "
                              "ndim, shape, and dtype attributes. Got 0")


# --------------------------------------------------------------------------------------------
# arrays: dtypes, repr, immutability


def test_dtypes_with_64_bit_disabled():
    assert repr(jnp.arange(4)) == "Array([0, 1, 2, 3], dtype=int32)"
    assert repr(jnp.dot(jnp.arange(4), jnp.arange(4))) == "Array(14, dtype=int32)"
    assert repr(jnp.array([1, 2])) == "Array([1, 2], dtype=int32)"
    assert jnp.array(np.arange(3.0)).dtype == np.float32
    assert repr(jnp.array(True)) == "Array(True, dtype=bool)"
    with pytest.warns(UserWarning, match="Explicitly requested dtype float64 requested in "
                      "arange is not available, and will be truncated to dtype float32"):
        assert jnp.arange(4, dtype=jnp.float64).dtype == np.float32
    x = jnp.arange(4.0)
    assert (x * 2).dtype == np.float32 and not (x * 2).weak_type
    assert repr(jnp.arange(3) * 2.0) == "Array([0., 2., 4.], dtype=float32, weak_type=True)"
    assert (jnp.arange(3) / 2).dtype == np.float32


def test_repr_follows_jax():
    assert repr(jnp.array(3.0)) == "Array(3., dtype=float32, weak_type=True)"
    assert repr(jnp.array(2.0) * 2) == "Array(4., dtype=float32, weak_type=True)"
    assert repr(jnp.dot(2.0, 3.0)) == "Array(6., dtype=float32, weak_type=True)"
    long = jnp.array([-0.9899925, 0.0707372, 1.0, 0.0707372, -0.9899925])
    assert repr(long) == ("Array([-0.9899925,  0.0707372,  1.       ,  0.0707372, -0.9899925],"
                          "      dtype=float32)")
    assert repr(jnp.arange(6.0).reshape(2, 3)) == \
        "Array([[0., 1., 2.],\n       [3., 4., 5.]], dtype=float32)"
    assert repr(jnp.arange(20.0)).endswith("\n       13., 14., 15., 16., 17., 18., 19.], "
                                           "dtype=float32)")
    x = jnp.arange(4.0)
    assert str(x) == "[0. 1. 2. 3.]" and str(jnp.array(2.5)) == "2.5"
    assert f"{jnp.array(0.1):.5f}" == "0.10000"
    assert np.asarray(x).dtype == np.float32


def test_arrays_are_immutable_and_at_updates_copy():
    x = jnp.arange(4.0)
    with pytest.raises(TypeError) as err:
        x[0] = 1.0
    assert str(err.value) == (
        "JAX arrays are immutable and do not support in-place item assignment. Instead of "
        "x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: "
        "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html")
    assert repr(x.at[0].set(10.0)) == "Array([10.,  1.,  2.,  3.], dtype=float32)"
    assert repr(x.at[1].add(5)) == "Array([0., 6., 2., 3.], dtype=float32)"
    assert repr(x.at[2].multiply(3)) == "Array([0., 1., 6., 3.], dtype=float32)"
    assert repr(x.at[1:3].get()) == "Array([1., 2.], dtype=float32)"
    assert repr(x) == "Array([0., 1., 2., 3.], dtype=float32)"
    # differentiable in both the array and the values
    _close(grad(lambda v: jnp.sum(x.at[0].set(v) ** 2))(3.0), 6.0)
    _close(grad(lambda x: jnp.sum(x.at[0].set(7.0) * x))(x), [7.0, 2.0, 4.0, 6.0])


def test_truth_values():
    with pytest.raises(ValueError, match="^The truth value of an array with more than one "
                       r"element is ambiguous. Use a.any\(\) or a.all\(\)$"):
        bool(jnp.arange(4.0))
    assert bool(jnp.array(2.0) > 1) is True


def test_holomorphic_and_complex_gradients_follow_jax():
    """Values from JAX 0.10.2 (float32 by default): holomorphic derivatives, and the
    gradient of a real function of z, df/dx - i df/dy."""
    derivative = grad(lambda z: jnp.sin(z) * z, holomorphic=True)(1 + 2j)
    assert derivative.dtype == np.complex64
    np.testing.assert_allclose(complex(derivative), 11.302298 + 2.973149j, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(grad(lambda z: jnp.abs(z) ** 2)(jnp.array(1 + 2j))),
                               2 - 4j, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(jax.jacfwd(lambda z: z * z, holomorphic=True)(jnp.array([1 + 2j, 3j]))),
        np.diag([2 + 4j, 6j]))
    with pytest.raises(TypeError, match="grad requires real-valued outputs"):
        grad(lambda z: z * z)(1 + 2j)
    with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex dtype"):
        grad(lambda x: x * 1j, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        jax.jacfwd(lambda z: z * z)(jnp.array([1j]))


def test_fft_follows_jax():
    """Values from JAX 0.10.2: complex64 for float32 input, gradients of a real loss."""
    x = jnp.arange(4.0)
    y = jnp.fft.fft(x)
    assert y.dtype == np.complex64
    np.testing.assert_allclose(np.asarray(y), [6, -2 + 2j, -2, -2 - 2j])
    g = grad(lambda x: jnp.abs(jnp.fft.rfft(x)).sum())(x)
    np.testing.assert_allclose(np.asarray(g), [-0.70710677, 1.2928932, 0.70710677, 2.7071068],
                               rtol=1e-6)


def test_jit_keeps_weak_types_of_arguments_and_results():
    weak_int, int8 = jnp.add(1, 2), jnp.array(np.array([1, 2], np.int8))
    assert weak_int.weak_type
    product = jax.jit(lambda a, b: a * b)
    for _ in range(3):  # the trace, then replays
        out = product(weak_int, int8)
        assert out.dtype == np.int8 and not out.weak_type  # (the weak int takes int8)
    scaled = jax.jit(lambda a: a * 2)
    for _ in range(3):
        out = scaled(weak_int)
        assert out.weak_type and out.dtype == (weak_int * 2).dtype
