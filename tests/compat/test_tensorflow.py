"""The TensorFlow front end: ``import chainrule.compat.tensorflow as tf``.

First the TensorFlow tab of d2l's autograd chapter, run in a fresh interpreter with only its
import line changed, compared display by display with what the book shows (dialects.md §4.1);
then one test per row of TensorFlow's semantics (§4.2-4.3) that the front end implements.
"""

from __future__ import annotations

import json
import logging
import re
import textwrap

import numpy as np
import pytest

import chainrule.compat.tensorflow as tf
from tests.fresh_interpreter import run_json

CELLS = [
    # cell 1
    "import chainrule.compat.tensorflow as tf",
    # cell 2
    "x = tf.range(4, dtype=tf.float32)\n"
    "x",
    # cell 3
    "x = tf.Variable(x)",
    # cell 4
    "# Record all computations onto a tape\n"
    "with tf.GradientTape() as t:\n"
    "    y = 2 * tf.tensordot(x, x, axes=1)\n"
    "y",
    # cell 5
    "x_grad = t.gradient(y, x)\n"
    "x_grad",
    # cell 6
    "x_grad == 4 * x",
    # cell 7
    "with tf.GradientTape() as t:\n"
    "    y = tf.reduce_sum(x)\n"
    "t.gradient(y, x)  # Overwritten by the newly calculated gradient",
    # cell 8
    "with tf.GradientTape() as t:\n"
    "    y = x * x\n"
    "t.gradient(y, x)  # Same as y = tf.reduce_sum(x * x)",
    # cell 9
    "# Set persistent=True to preserve the compute graph. \n"
    "# This lets us run t.gradient more than once\n"
    "with tf.GradientTape(persistent=True) as t:\n"
    "    y = x * x\n"
    "    u = tf.stop_gradient(y)\n"
    "    z = u * x\n"
    "\n"
    "x_grad = t.gradient(z, x)\n"
    "x_grad == u",
    # cell 10
    "t.gradient(y, x) == 2 * x",
    # cell 11
    "def f(a):\n"
    "    b = a * 2\n"
    "    while tf.norm(b) < 1000:\n"
    "        b = b * 2\n"
    "    if tf.reduce_sum(b) > 0:\n"
    "        c = b\n"
    "    else:\n"
    "        c = 100 * b\n"
    "    return c",
    # cell 12
    "a = tf.Variable(tf.random.normal(shape=()))\n"
    "with tf.GradientTape() as t:\n"
    "    d = f(a)\n"
    "d_grad = t.gradient(d, a)\n"
    "d_grad",
    # cell 13
    "d_grad == d / a",
]

TRUE4 = "<tf.Tensor: shape=(4,), dtype=bool, numpy=array([ True,  True,  True,  True])>"
BOOK_DISPLAYS = [
    None,
    "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([0., 1., 2., 3.], dtype=float32)>",
    None,
    "<tf.Tensor: shape=(), dtype=float32, numpy=28.0>",
    "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([ 0.,  4.,  8., 12.], dtype=float32)>",
    TRUE4,
    "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([1., 1., 1., 1.], dtype=float32)>",
    "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([0., 2., 4., 6.], dtype=float32)>",
    TRUE4,
    TRUE4,
    None,
    None,  # random: checked against the draw
    None,  # random: checked against the draw
]
RANDOM_CELLS = (11, 12)

RUNNER = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("error")
    from chainrule.tour import run_cell

    cells, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    namespace, shown = {}, []
    for number, code in enumerate(cells):
        if number == 11 and seed is not None:
            namespace["tf"].random.set_seed(seed)
        value = run_cell(code, namespace)
        shown.append(None if value is None else repr(value))
    a = namespace["a"]
    print(json.dumps({"shown": shown, "a": float(a.numpy()), "a_repr": repr(a)}))
""")


def _run_chapter(seed: int | None) -> dict:
    return run_json(RUNNER, json.dumps(CELLS), json.dumps(seed))


def _expected_random_displays(a: float) -> tuple[str, str]:
    """What cells 12 and 13 show for a draw a, computed with NumPy float32 in the chapter's
    order of operations (dialects.md §7)."""
    a32 = np.float32(a)
    b, slope = a32 * np.float32(2), 2.0
    while np.sqrt(b * b) < 1000:
        b, slope = b * np.float32(2), slope * 2
    if b > 0:
        d = b
    else:
        d, slope = np.float32(100) * b, slope * 100
    grad = np.float32(slope)
    same = bool(grad == d / a32)
    return (f"<tf.Tensor: shape=(), dtype=float32, numpy={float(grad)!r}>",
            f"<tf.Tensor: shape=(), dtype=bool, numpy={same}>")


@pytest.fixture(scope="module")
def chapter() -> dict:
    return _run_chapter(6)


@pytest.mark.parametrize("number", [n for n in range(len(CELLS)) if n not in RANDOM_CELLS],
                         ids=lambda n: f"cell{n + 1}")
def test_chapter_displays_what_the_book_does(chapter, number):
    assert chapter["shown"][number] == BOOK_DISPLAYS[number]


def test_random_cells_display_the_slope_and_its_check(chapter):
    assert chapter["shown"][11:] == list(_expected_random_displays(chapter["a"]))
    # seed 6 draws a = 1.05..., for which the book's own display is reproduced
    assert chapter["shown"][11] == "<tf.Tensor: shape=(), dtype=float32, numpy=1024.0>"
    assert chapter["shown"][12] == "<tf.Tensor: shape=(), dtype=bool, numpy=True>"
    assert re.fullmatch(r"<tf.Variable 'Variable:0' shape=\(\) dtype=float32, numpy=[-0-9.e]+>",
                        chapter["a_repr"])


def test_unseeded_chapter_displays_what_the_book_does():
    run = _run_chapter(None)
    assert run["shown"][:11] == BOOK_DISPLAYS[:11]
    assert run["shown"][11:] == list(_expected_random_displays(run["a"]))


def test_tour_cells_match_the_chapter():
    from chainrule.compat.tensorflow_tour import RANDOM_CELLS as TOUR_RANDOM
    from chainrule.compat.tensorflow_tour import SEED, TENSORFLOW_CELLS
    from chainrule.tour import run_cell

    assert [code for _, code, _ in TENSORFLOW_CELLS] == CELLS
    assert tuple(TOUR_RANDOM) == RANDOM_CELLS
    namespace = {}
    for number, (_, code, display) in enumerate(TENSORFLOW_CELLS):
        if number == 11:
            namespace["tf"].random.set_seed(SEED)
        value = run_cell(code, namespace)
        assert (None if value is None else repr(value)) == display
        if number not in RANDOM_CELLS:
            assert display == BOOK_DISPLAYS[number]


# --------------------------------------------------------------------------------------------
# printing and dtypes (§1.1, §4.3)


def test_reprs_and_print_forms():
    x = tf.range(4, dtype=tf.float32)
    assert str(x) == "tf.Tensor([0. 1. 2. 3.], shape=(4,), dtype=float32)"
    assert str(tf.constant(3.0)) == "tf.Tensor(3.0, shape=(), dtype=float32)"
    assert repr(tf.constant(True)) == "<tf.Tensor: shape=(), dtype=bool, numpy=True>"
    assert repr(tf.constant(5)) == "<tf.Tensor: shape=(), dtype=int32, numpy=5>"
    assert repr(tf.reshape(tf.range(6.0), (2, 3))) == (
        "<tf.Tensor: shape=(2, 3), dtype=float32, numpy=\narray([[0., 1., 2.],\n"
        "       [3., 4., 5.]], dtype=float32)>")
    assert repr(tf.constant(np.arange(3.0))) == (
        "<tf.Tensor: shape=(3,), dtype=float64, numpy=array([0., 1., 2.])>")
    v = tf.Variable(x)
    assert repr(v) == str(v) == ("<tf.Variable 'Variable:0' shape=(4,) dtype=float32, "
                                 "numpy=array([0., 1., 2., 3.], dtype=float32)>")
    assert repr(tf.Variable(1.0, name="w")).startswith("<tf.Variable 'w:0' shape=()")
    assert repr(x.shape) == "TensorShape([4])" and repr(tf.float32) == "tf.float32"
    assert f"{tf.constant(0.1):.5f}" == "0.10000"
    # 0-d values show as NumPy 1 showed scalars (TF 2.12, the book's version)
    assert [repr(tf.constant(v)).split("numpy=")[1] for v in (3276800.0, 0.1, 1e16, 1e-5, -0.0)] \
        == ["3276800.0>", "0.1>", "1e+16>", "1e-05>", "-0.0>"]
    assert np.asarray(x).dtype == np.float32 and x.numpy().tolist() == [0, 1, 2, 3]


def test_dtype_inference_and_no_promotion():
    assert tf.range(4).dtype == tf.int32 and tf.range(4.0).dtype == tf.float32
    assert tf.range(0, 1, 0.25).numpy().tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tf.constant(1.0).dtype == tf.float32 and tf.constant(1).dtype == tf.int32
    assert tf.constant(np.float64(1.0)).dtype == tf.float64
    assert (tf.constant(3) / 2).dtype == tf.float64
    assert tf.Variable(3).dtype == tf.int32
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"cannot compute AddV2 as input "
                       r"#1\(zero-based\) was expected to be a float tensor but is a double"):
        tf.constant(1.0) + tf.constant(1.0, dtype=tf.float64)
    with pytest.raises(TypeError, match="Cannot convert 2.5 to EagerTensor of dtype int32"):
        tf.constant([1, 2]) * 2.5
    assert (tf.constant([1.0, 2.0]) == [1.0, 2.0]).numpy().tolist() == [True, True]
    with pytest.raises(ValueError, match="truth value of an array with more than one element"):
        bool(tf.constant([1.0, 2.0]))


# --------------------------------------------------------------------------------------------
# GradientTape semantics (§4.2)

NON_PERSISTENT = ("A non-persistent GradientTape can only be used to compute one set of "
                  "gradients (or jacobians)")


def test_non_persistent_tape_computes_once_persistent_many_times():
    x = tf.Variable([0.0, 1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        y = 2 * tf.tensordot(x, x, axes=1)
    t.gradient(y, x)
    with pytest.raises(RuntimeError, match=re.escape(NON_PERSISTENT)):
        t.gradient(y, x)
    with tf.GradientTape(persistent=True) as t:
        y = x * x
    first, second = t.gradient(y, x), t.gradient(y, x)
    assert first.numpy().tolist() == second.numpy().tolist() == [0, 2, 4, 6]  # no accumulation
    t.jacobian(y, x)


def test_constants_need_watch_and_unwatched_sources_give_none():
    c = tf.constant([1.0, 2.0])
    with tf.GradientTape() as t:
        y = c * c
    assert t.gradient(y, c) is None
    with tf.GradientTape() as t:
        t.watch(c)
        y = c * c
    assert t.gradient(y, c).numpy().tolist() == [2.0, 4.0]
    v = tf.Variable([1.0, 2.0])
    frozen = tf.Variable([1.0, 2.0], trainable=False)
    counts = tf.Variable([1, 2])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(v * c + frozen * v + tf.cast(counts, tf.float32))
    grads = t.gradient(y, [v, c, frozen, counts])
    assert grads[0].numpy().tolist() == [2.0, 4.0]
    assert grads[1:] == [None, None, None]


def test_watch_of_integer_tensor_warns_and_gives_none(caplog):
    n = tf.constant([1, 2])
    with caplog.at_level(logging.WARNING, logger="tensorflow"), tf.GradientTape() as t:
        t.watch(n)
        y = n * n
    assert "The dtype of the watched tensor must be floating (e.g. tf.float32), got " \
           "tf.int32" in caplog.text
    assert t.gradient(y, n) is None


def test_unconnected_gradients_zero_and_structures():
    v = tf.Variable([1.0, 2.0])
    w = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as t:
        y = v * v
    assert t.gradient(y, w) is None
    zero = t.gradient(y, w, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert repr(zero) == "<tf.Tensor: shape=(), dtype=float32, numpy=0.0>"
    assert t.gradient(y, w, unconnected_gradients="zero").numpy() == 0.0
    out = t.gradient(y, {"v": v, "w": w})
    assert set(out) == {"v", "w"} and out["w"] is None
    assert out["v"].numpy().tolist() == [2.0, 4.0]
    assert t.gradient(v, v).numpy().tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="Argument `target` should be a list or nested "
                       "structure .* but received None."):
        t.gradient(None, v)
    with pytest.raises(AttributeError, match="'float' object has no attribute 'dtype'"):
        t.gradient(y, 1.0)


def test_list_targets_sum_and_reentered_tape_keeps_recording():
    x = tf.Variable([1.0, 2.0])
    t = tf.GradientTape()
    with t:
        y1 = x * x
    with t:
        y2 = x * 3
    y3 = y1 + y2  # outside the tape: not recorded
    assert t.gradient([y1, y2], x).numpy().tolist() == [5.0, 7.0]
    with tf.GradientTape() as t2:
        y1 = x * x
    assert t2.gradient(y1 + y3, x) is None
    with pytest.raises(ValueError, match="Tape is still recording, This can happen if you try "
                       "to re-enter an already-active tape."), t2, t2:
        pass


def test_output_gradients_give_a_vector_jacobian_product():
    x = tf.Variable([0.0, 1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as t:
        y = x * x
    vjp = t.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, 0.0, 1.0]))
    assert vjp.numpy().tolist() == [0.0, 0.0, 0.0, 6.0]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape("Incompatible shapes: [3] vs. [4] [Op:Mul]")):
        t.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, 0.0]))


def test_nested_tapes_give_second_derivatives():
    x = tf.Variable(2.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = x * x * x
        dy = t1.gradient(y, x)
    d2y = t2.gradient(dy, x)
    assert (dy.numpy(), d2y.numpy()) == (12.0, 12.0)
    x = tf.Variable(3.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = tf.sin(x)
        dy = t1.gradient(y, x)
    d2y = t2.gradient(dy, x)
    np.testing.assert_allclose([dy.numpy(), d2y.numpy()], [np.cos(3.0), -np.sin(3.0)],
                               rtol=1e-6)
    xh = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            s = tf.reduce_sum(xh ** 3)
        g = t1.gradient(s, xh)
    assert t2.jacobian(g, xh).numpy().tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_persistent_tape_used_inside_its_context_records_the_gradient(caplog):
    x = tf.Variable(3.0)
    with caplog.at_level(logging.WARNING, logger="tensorflow"), \
            tf.GradientTape(persistent=True) as t:
        y = x * x * x
        dy = t.gradient(y, x)
    assert "Calling GradientTape.gradient on a persistent tape inside its context" in caplog.text
    assert (dy.numpy(), t.gradient(dy, x).numpy()) == (27.0, 18.0)


def test_inner_tape_treats_what_it_did_not_record_as_constant():
    x = tf.Variable(2.0)
    with tf.GradientTape() as outer:
        y = x * x  # recorded by the outer tape only
        with tf.GradientTape() as inner:
            z = y * x
        assert inner.gradient(z, x).numpy() == 4.0  # y is a constant for the inner tape
    assert outer.gradient(z, x).numpy() == 12.0


def test_stop_recording_and_reset():
    v = tf.Variable([0.0, 1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        y = v * v
        with t.stop_recording():
            z = v * v
    assert t.gradient(tf.reduce_sum(y + z), v) is None  # the sum ran outside the tape
    with tf.GradientTape() as t:
        y = v * v
        with t.stop_recording():
            z = v * v
        total = tf.reduce_sum(y + z)
    assert t.gradient(total, v).numpy().tolist() == [0.0, 2.0, 4.0, 6.0]
    with pytest.raises(RuntimeError, match="Trying to stop recording a tape which is not "
                       "recording."), t.stop_recording():
        pass
    with tf.GradientTape() as t:
        y = v * v
        t.reset()
        w = v * 3
    assert t.gradient(y, v) is None
    with tf.GradientTape() as t:
        y = v * v
        t.reset()
        w = v * 3
    assert t.gradient(w, v).numpy().tolist() == [3.0] * 4


def test_watch_accessed_variables_false():
    v = tf.Variable(2.0)
    with tf.GradientTape(watch_accessed_variables=False) as t:
        y = v * v
    assert t.gradient(y, v) is None
    with tf.GradientTape(watch_accessed_variables=False) as t:
        t.watch(v)
        y = v * v
    assert t.gradient(y, v).numpy() == 4.0
    assert t.watched_variables()[0] is v


def test_jacobian_and_batch_jacobian():
    v = tf.Variable([0.0, 1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        y = v * v
    jac = t.jacobian(y, v)
    assert jac.shape == (4, 4)
    np.testing.assert_array_equal(jac.numpy(), np.diag([0.0, 2.0, 4.0, 6.0]))
    with pytest.raises(RuntimeError, match=re.escape(NON_PERSISTENT)):
        t.jacobian(y, v)
    with tf.GradientTape() as t, pytest.raises(RuntimeError, match="persistent=True to compute "
                                               "the jacobian with eager execution"):
        t.jacobian(v * v, v, experimental_use_pfor=False)
    xb = tf.Variable(tf.reshape(tf.range(1.0, 7.0), (3, 2)))
    with tf.GradientTape(persistent=True) as t:
        yb = xb * xb
    bj = t.batch_jacobian(yb, xb)
    assert bj.shape == (3, 2, 2)
    assert bj.numpy().tolist() == [[[2, 0], [0, 4]], [[6, 0], [0, 8]], [[10, 0], [0, 12]]]
    assert t.jacobian(yb, xb).shape == (3, 2, 3, 2)
    assert t.jacobian(yb, tf.Variable(1.0)) is None


def test_stop_gradient_blocks_the_gradient():
    v = tf.Variable([0.0, 1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.stop_gradient(v * v) * v)
    assert t.gradient(y, v).numpy().tolist() == [0.0, 1.0, 4.0, 9.0]


def test_norm_values_and_nan_gradient_at_zero():
    assert tf.norm(tf.constant([3.0, 4.0])).numpy() == 5.0
    np.testing.assert_allclose(tf.norm(tf.constant([[1.0, 2.0], [3.0, 4.0]])).numpy(),
                               np.sqrt(30.0), rtol=1e-6)
    z = tf.Variable([0.0, 0.0])
    with tf.GradientTape() as t:
        n = tf.norm(z)
    assert np.isnan(t.gradient(n, z).numpy()).all()
    assert tf.tensordot([1, 2], [3, 4], 0).numpy().tolist() == [[3, 4], [6, 8]]


@pytest.mark.parametrize("ord", [1, np.inf, 3, 0.5])
def test_norm_of_other_orders_and_its_gradient(ord):
    x0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)
    v = tf.Variable(x0)
    with tf.GradientTape() as t:
        n = tf.norm(v, ord=ord, axis=1)
    np.testing.assert_allclose(n.numpy(), np.linalg.norm(x0, ord=ord, axis=1), rtol=1e-6)
    a, norm = np.abs(x0), np.linalg.norm(x0, ord=ord, axis=1, keepdims=True)
    if ord == np.inf:  # d max|x| = sign(x) at the largest entry
        expected = np.sign(x0) * (a == norm)
    else:  # d (sum |x|^p)^(1/p) = sign(x) |x|^(p-1) / norm^(p-1)
        expected = np.sign(x0) * a ** (ord - 1) / norm ** (ord - 1)
    np.testing.assert_allclose(t.gradient(n, v).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("ord", [0, -1, -np.inf, "nuc"])
def test_norm_rejects_orders_that_are_not_vector_norms(ord):
    with pytest.raises(ValueError, match="'ord' must be a supported vector norm"):
        tf.norm(tf.constant([3.0, 4.0]), ord=ord)


def test_variable_assign():
    v = tf.Variable(2.0)
    assert repr(v.assign(5.0)) == "<tf.Variable 'UnreadVariable' shape=() dtype=float32, " \
                                  "numpy=5.0>"
    assert v.numpy() == 5.0
    v.assign(1)
    assert v.numpy() == 1.0 and v.dtype == tf.float32
    v.assign_add(2.0)
    v.assign_sub(0.5)
    assert v.numpy() == 2.5
    with pytest.raises(ValueError, match=re.escape(
            "Cannot assign value to variable ' Variable:0': Shape mismatch.The variable shape "
            "(), and the assigned value shape (2,) are incompatible.")):
        v.assign([1.0, 2.0])
    with pytest.raises(RuntimeError, match="`variable \\+= value` with `tf.Variable`s is not "
                       "supported"):
        v += 1
    copy = tf.Variable(v)
    copy.assign(7.0)
    assert v.numpy() == 2.5
    w = tf.Variable(2.0)
    with tf.GradientTape() as t:
        y = w * w
        w.assign(3.0)
    assert t.gradient(y, w).numpy() == 4.0  # the record keeps the values it saw
    with tf.GradientTape() as t:
        y = w * w
        w.assign(5.0)
        z = y + w * w
    assert t.gradient(z, w).numpy() == 16.0  # 2 * 3 + 2 * 5


def test_random_normal_is_seeded():
    tf.random.set_seed(0)
    first = tf.random.normal(shape=())
    second = tf.random.normal(shape=(2,))
    tf.random.set_seed(0)
    assert tf.random.normal(shape=()).numpy() == first.numpy()
    assert tf.random.normal(shape=(2,)).numpy().tolist() == second.numpy().tolist()
    assert first.shape == () and first.dtype == tf.float32 and second.shape == (2,)


def test_forward_accumulator_jvp():
    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(primals=x, tangents=tf.constant([1.0, 0.0])) as acc:
        y = x * x
        unrelated = tf.constant(3.0) * 2
    assert acc.jvp(y).numpy().tolist() == [2.0, 0.0]
    assert acc.jvp(x).numpy().tolist() == [1.0, 0.0]
    assert acc.jvp(unrelated) is None
    assert acc.jvp(unrelated, unconnected_gradients="zero").numpy() == 0.0
    v = tf.Variable(2.0)
    with tf.autodiff.ForwardAccumulator(v, tf.constant(1.0)) as acc:
        f = tf.math.log(v * v) * tf.sin(v) + 1 / v
    expected = 2 * np.sin(2.0) / 2 + np.log(4.0) * np.cos(2.0) - 1 / 4.0
    np.testing.assert_allclose(acc.jvp(f).numpy(), expected, rtol=2e-6)


def test_forward_and_reverse_mode_compose():
    v = tf.Variable([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(v, tf.constant([1.0, 0.0])) as acc:
        with tf.GradientTape() as t:
            y = tf.reduce_sum(v ** 3)
        g = t.gradient(y, v)
    assert g.numpy().tolist() == [3.0, 12.0]
    assert acc.jvp(g).numpy().tolist() == [6.0, 0.0]  # Hessian-vector product
    with tf.GradientTape() as t:
        with tf.autodiff.ForwardAccumulator(v, tf.constant([1.0, 1.0])) as acc:
            y = tf.reduce_sum(v ** 3)
        j = acc.jvp(y)
    assert j.numpy() == 15.0
    assert t.gradient(j, v).numpy().tolist() == [6.0, 12.0]


def test_tapes_leave_nothing_on_variables_once_gone():
    v = tf.Variable(1.0)
    for _ in range(5):
        with tf.GradientTape(persistent=True) as t:
            y = v * v
        assert t.gradient(y, v).numpy() == 2.0
    assert len(v._overrides) == 1  # only the live tape's stand-in (front-end internals)
    del t, y
    assert v._overrides == []
    with tf.GradientTape() as t:
        y = v * v
    t.gradient(y, v)
    assert v._overrides == [] and t.watched_variables()[0] is v


def test_outer_tape_watching_after_an_inner_tape_is_refused():
    """The stand-ins chain from outer to inner tapes; the other order raises, not misleads."""
    x = tf.constant(3.0)
    with tf.GradientTape() as outer, tf.GradientTape() as inner:
        inner.watch(x)
        with pytest.raises(RuntimeError, match="outer tape to watch it first"):
            outer.watch(x)
