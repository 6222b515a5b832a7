"""The MXNet front end (``chainrule.compat.mxnet``): the MXNet tab of d2l's autograd chapter, and
MXNet's semantics (dialects.md §2).

``CELLS`` are the chapter's 13 MXNet cells, verbatim except the import line; ``BOOK_DISPLAYS``
are what the book (mxnet 1.9.1) shows under them.  The chapter runs in a fresh interpreter,
Jupyter-style (``chainrule.tour.run_cell``).  The rest checks one row of §2.2-§2.4 per test,
in this process.
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy
import pytest

from chainrule.compat.mxnet import MXNetError, autograd, np, npx
from chainrule.compat.mxnet_tour import MXNET_CELLS
from tests.fresh_interpreter import run_json

CELLS = [
    # cell 1 (the book: from mxnet import autograd, np, npx)
    "from chainrule.compat.mxnet import autograd, np, npx\n"
    "npx.set_np()",
    # cell 2
    "x = np.arange(4.0)\n"
    "x",
    # cell 3
    "# We allocate memory for a tensor's gradient by invoking `attach_grad`\n"
    "x.attach_grad()\n"
    "# After we calculate a gradient taken with respect to `x`, we will be able to\n"
    "# access it via the `grad` attribute, whose values are initialized with 0s\n"
    "x.grad",
    # cell 4
    "# Our code is inside an `autograd.record` scope to build the computational\n"
    "# graph\n"
    "with autograd.record():\n"
    "    y = 2 * np.dot(x, x)\n"
    "y",
    # cell 5
    "y.backward()\n"
    "x.grad",
    # cell 6
    "x.grad == 4 * x",
    # cell 7
    "with autograd.record():\n"
    "    y = x.sum()\n"
    "y.backward()\n"
    "x.grad  # Overwritten by the newly calculated gradient",
    # cell 8
    "with autograd.record():\n"
    "    y = x * x\n"
    "y.backward()\n"
    "x.grad  # Equals the gradient of y = sum(x * x)",
    # cell 9
    "with autograd.record():\n"
    "    y = x * x\n"
    "    u = y.detach()\n"
    "    z = u * x\n"
    "z.backward()\n"
    "x.grad == u",
    # cell 10
    "y.backward()\n"
    "x.grad == 2 * x",
    # cell 11
    "def f(a):\n"
    "    b = a * 2\n"
    "    while np.linalg.norm(b) < 1000:\n"
    "        b = b * 2\n"
    "    if b.sum() > 0:\n"
    "        c = b\n"
    "    else:\n"
    "        c = 100 * b\n"
    "    return c",
    # cell 12
    "a = np.random.normal()\n"
    "a.attach_grad()\n"
    "with autograd.record():\n"
    "    d = f(a)\n"
    "d.backward()",
    # cell 13
    "a.grad == d / a",
]

BOOK_DISPLAYS = [
    None,
    "array([0., 1., 2., 3.])",
    "array([0., 0., 0., 0.])",
    "array(28.)",
    "array([ 0.,  4.,  8., 12.])",
    "array([ True,  True,  True,  True])",
    "array([1., 1., 1., 1.])",
    "array([0., 2., 4., 6.])",
    "array([ True,  True,  True,  True])",
    "array([ True,  True,  True,  True])",
    None,
    None,
    "array(True)",
]
RANDOM_CELL = 11  # index of the cell drawing a

RUNNER = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("error")
    from chainrule.tour import run_cell

    cells, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    namespace = {}
    shown = []
    for number, code in enumerate(cells):
        if number == int(sys.argv[3]) and seed is not None:
            namespace["np"].random.seed(seed)
        value = run_cell(code, namespace)
        shown.append(None if value is None else repr(value))
    a, d = namespace["a"], namespace["d"]
    facts = {"a": a.item(), "a_dtype": str(a.dtype), "a_shape": list(a.shape),
             "d": d.item(), "grad": a.grad.item(), "grad_dtype": str(a.grad.dtype)}
    print(json.dumps({"shown": shown, "facts": facts}))
""")


def _run_chapter(seed: int | None) -> dict:
    return run_json(RUNNER, json.dumps(CELLS), json.dumps(seed), str(RANDOM_CELL))


def _f_in_float32(a: float) -> tuple[numpy.float32, numpy.float32]:
    """The chapter's f and its slope, in NumPy float32, in the book's operation order."""
    a = numpy.float32(a)
    b, slope = a * numpy.float32(2), 2.0
    while abs(b) < 1000:  # |b| is the 2-norm of a 0-d array
        b, slope = b * numpy.float32(2), slope * 2
    if b > 0:
        return b, numpy.float32(slope)
    return numpy.float32(100) * b, numpy.float32(100 * slope)


@pytest.fixture(scope="module")
def fresh_run() -> dict:
    return _run_chapter(None)


@pytest.mark.parametrize("number", range(len(CELLS)), ids=[f"cell{n}" for n in
                                                            range(1, len(CELLS) + 1)])
def test_chapter_displays_what_the_book_does(fresh_run, number):
    assert fresh_run["shown"][number] == BOOK_DISPLAYS[number]


def test_random_cell_in_a_fresh_process(fresh_run):
    facts = fresh_run["facts"]
    assert facts["a_dtype"] == facts["grad_dtype"] == "float32"
    assert facts["a_shape"] == []
    d, slope = _f_in_float32(facts["a"])
    assert facts["d"] == d
    assert facts["grad"] == slope
    assert facts["a"] > 0  # deterministic start-up state, as MXNet: the book's display


@pytest.mark.parametrize("seed", [4, 9], ids=["negative-a-equal", "negative-a-rounded"])
def test_random_cell_with_negative_a_matches_float32_arithmetic(seed):
    """For a < 0, fl(100 b) / a can miss the slope by an ulp: the last display may be False."""
    run = _run_chapter(seed)
    assert run["shown"][:RANDOM_CELL] == BOOK_DISPLAYS[:RANDOM_CELL]
    facts = run["facts"]
    assert facts["a"] < 0
    d, slope = _f_in_float32(facts["a"])
    assert facts["d"] == d and facts["grad"] == slope
    expected = d / numpy.float32(facts["a"]) == slope
    assert run["shown"][-1] == f"array({expected})"


def test_tour_cells_are_the_book_cells():
    assert [code for _, code, _ in MXNET_CELLS] == CELLS
    assert [display for _, _, display in MXNET_CELLS] == BOOK_DISPLAYS


# --------------------------------------------------------------------------------------------
# §2.2-§2.3: creation, dtypes, printing


def test_float32_by_default_and_mxnet_reprs():
    assert repr(np.arange(4)) == "array([0., 1., 2., 3.])"
    assert np.arange(4).dtype == numpy.float32
    assert repr(np.arange(4, dtype="int32")) == "array([0, 1, 2, 3], dtype=int32)"
    assert repr(np.arange(4, dtype="float64")) == "array([0., 1., 2., 3.], dtype=float64)"
    assert repr(np.array([1, 2, 3])) == "array([1., 2., 3.])"
    assert repr(np.array(True)) == "array(1.)"
    assert repr(np.ones(4) * 2) == "array([2., 2., 2., 2.])"
    assert repr(np.arange(3.0) < 1) == "array([ True, False, False])"
    assert repr(np.array([1e6, 1.0])) == "array([1.e+06, 1.e+00])"
    assert repr(np.array(1e-8)) == "array(1.e-08)"
    assert repr(np.arange(6.0).reshape(2, 3)) == "array([[0., 1., 2.],\n       [3., 4., 5.]])"
    assert str(np.arange(4.0)) == "[0. 1. 2. 3.]"
    assert str(np.array(3.0)) == "3.0"
    assert (np.arange(2.0) == np.arange(2.0)).dtype == numpy.bool_


def test_format_and_conversions():
    assert f"{np.array(0.1):.5f}" == "0.10000"
    with pytest.raises(TypeError, match="Cannot format mxnet.numpy.ndarray with format_spec"):
        f"{np.arange(2.0):.2f}"
    assert np.array(2.5).item() == 2.5
    assert float(np.array(2.5)) == 2.5
    assert numpy.asarray(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    assert isinstance(np.arange(3.0).asnumpy(), numpy.ndarray)
    assert bool(np.array(1.0)) and not bool(np.array(0.0))
    with pytest.raises(ValueError, match="multiple elements is ambiguous"):
        bool(np.arange(2.0))


def test_random_is_float32_0d_and_seeded():
    np.random.seed(3)
    a = np.random.normal()
    assert a.shape == () and a.dtype == numpy.float32
    np.random.seed(3)
    assert np.random.normal().item() == a.item()
    assert np.random.uniform(size=(2, 3)).shape == (2, 3)
    npx.random.seed(3)
    assert np.random.normal().item() == a.item()


def test_set_np_flags():
    npx.set_np()
    assert (npx.is_np_shape(), npx.is_np_array()) == (True, True)
    with pytest.raises(TypeError):
        npx.set_np(dtype=True)


def test_norm():
    assert repr(np.linalg.norm(np.array([3.0, 4.0]))) == "array(5.)"
    assert repr(np.linalg.norm(np.array(-2.0))) == "array(2.)"
    z = np.zeros(2)
    z.attach_grad()
    with autograd.record():
        n = np.linalg.norm(z)
    n.backward()
    assert repr(z.grad) == "array([nan, nan])"  # MXNet's, not PyTorch's 0


# --------------------------------------------------------------------------------------------
# §2.2: attach_grad, grad_req, backward


def _graph_2xx(x):
    with autograd.record():
        return 2 * np.dot(x, x)


def test_attach_grad_allocates_zeros_of_the_same_dtype():
    x = np.arange(4.0, dtype="float64")
    assert x.grad is None
    assert x.attach_grad() is None
    assert repr(x.grad) == "array([0., 0., 0., 0.], dtype=float64)"
    _graph_2xx(x).backward()
    x.attach_grad()  # re-attaching gives fresh zeros
    assert x.grad.asnumpy().tolist() == [0.0] * 4


def test_grad_shares_memory_with_the_buffer():
    x = np.arange(4.0)
    x.attach_grad()
    handle = x.grad
    _graph_2xx(x).backward()
    assert handle.asnumpy().tolist() == [0.0, 4.0, 8.0, 12.0]
    x.grad[:] = 0
    assert x.grad.asnumpy().tolist() == [0.0] * 4


def test_grad_req_write_overwrites():
    x = np.arange(4.0)
    x.attach_grad()
    y = _graph_2xx(x)
    y.backward(retain_graph=True)
    y.backward()
    assert repr(x.grad) == "array([ 0.,  4.,  8., 12.])"


def test_grad_req_add_accumulates():
    x = np.arange(4.0)
    x.attach_grad(grad_req="add")
    y = _graph_2xx(x)
    y.backward(retain_graph=True)
    y.backward()
    assert repr(x.grad) == "array([ 0.,  8., 16., 24.])"


def test_grad_req_null():
    x, w = np.arange(2.0), np.ones(2)
    x.attach_grad(grad_req="null")
    with autograd.record():
        y = x * 2
    with pytest.raises(MXNetError, match="There are no inputs in computation graph that "
                                         "require gradients"):
        y.backward()
    w.attach_grad()
    with autograd.record():
        y = x * w
    y.backward()
    assert repr(w.grad) == "array([0., 1.])"
    assert repr(x.grad) == "array([0., 0.])"  # never written


def test_non_scalar_head_is_summed_and_head_gradient_gives_a_vjp():
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = x * x
    y.backward()
    assert repr(x.grad) == "array([0., 2., 4., 6.])"
    with autograd.record():
        y = x * 2
    y.backward(np.array([10, 1.0, 0.1, 0.01]))
    assert repr(x.grad) == "array([20.  ,  2.  ,  0.2 ,  0.02])"


def test_autograd_backward_adds_the_heads():
    xs = np.ones(2)
    xs.attach_grad()
    with autograd.record():
        heads = [xs * 2, xs * 3]
    autograd.backward(heads)
    assert repr(xs.grad) == "array([5., 5.])"


def test_unreached_variables_keep_their_gradient():
    x, w = np.arange(2.0), np.ones(2)
    x.attach_grad()
    w.attach_grad()
    w.grad[:] = 7
    with autograd.record():
        y = x * x
    y.backward()
    assert repr(w.grad) == "array([7., 7.])"


# --------------------------------------------------------------------------------------------
# §2.4: errors


def test_error_class():
    assert issubclass(MXNetError, RuntimeError)


@pytest.mark.parametrize("make", [lambda x: x.sum(), lambda x: 2 * np.dot(x, x)],
                         ids=["sum", "dot"])
def test_second_backward_raises(make):
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = make(x)
    y.backward()
    with pytest.raises(MXNetError, match="Cannot differentiate node because it is not in a "
                                         "computational graph"):
        y.backward()


def test_backward_frees_the_whole_graph_but_not_a_detached_one():
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = x.sum()
        z = y * 2
    z.backward()
    with pytest.raises(MXNetError, match="not in a computational graph"):
        y.backward()  # y's node was part of z's graph
    with autograd.record():
        y = x * x
        z = y.detach() * x
    z.backward()
    y.backward()  # the chapter's cell 10
    assert repr(x.grad) == "array([0., 2., 4., 6.])"


def test_nothing_is_recorded_outside_record():
    x = np.arange(4.0)
    x.attach_grad()
    y = x * 2
    with pytest.raises(MXNetError, match="set is_recording to true or use autograd.record()"):
        y.backward()
    with autograd.record():
        z = np.ones(2) * 3  # no attached input
    with pytest.raises(MXNetError, match="not in a computational graph"):
        z.backward()


def test_in_place_assignment_inside_record_raises():
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(MXNetError, match="Assigning to NDArrays that are already in a "
                                             "computational graph"):
            y += 1
        with pytest.raises(MXNetError, match="cannot use inplace operations"):
            x[0] = 5
    x[0] = 5  # fine outside record
    y += 1
    assert repr(x) == "array([5., 1., 2., 3.])"
    assert repr(y) == "array([1., 3., 5., 7.])"


# --------------------------------------------------------------------------------------------
# record, pause, train_mode, predict_mode


def _flags():
    return autograd.is_recording(), autograd.is_training()


def test_recording_and_training_flags():
    assert _flags() == (False, False)
    with autograd.record():
        assert _flags() == (True, True)
        with autograd.record(train_mode=False):
            assert _flags() == (True, False)
        assert _flags() == (True, True)
        with autograd.pause():
            assert _flags() == (False, False)
        assert _flags() == (True, True)
    with autograd.record(train_mode=False):
        assert _flags() == (True, False)
    with autograd.train_mode():
        assert _flags() == (False, True)
    with autograd.predict_mode():
        assert _flags() == (False, False)
    assert _flags() == (False, False)


def test_set_recording_returns_the_previous_value():
    try:
        assert autograd.set_recording(True) is False
        assert autograd.is_recording()
        assert autograd.set_training(True) is False
    finally:
        assert autograd.set_recording(False) is True
        assert autograd.set_training(False) is True
    assert _flags() == (False, False)


def test_flags_restored_after_an_exception():
    with pytest.raises(KeyError), autograd.record():
        raise KeyError
    assert _flags() == (False, False)


def test_pause_stops_recording():
    x = np.arange(2.0)
    x.attach_grad()
    with autograd.record():
        with autograd.pause():
            c = x * 3
        y = c * x
    y.backward()
    assert repr(x.grad) == "array([0., 3.])"


# --------------------------------------------------------------------------------------------
# detach, copy, attach inside record, autograd.grad


def test_detach_shares_memory_and_cuts_the_gradient():
    x = np.arange(3.0)
    x.attach_grad()
    with autograd.record():
        y = x * x
        u = y.detach()
        z = u * x
    u[0] = 100
    assert y.asnumpy()[0] == 100
    z.backward()
    assert repr(x.grad) == "array([100.,   1.,   4.])"


def test_attach_grad_inside_record_cuts_history():
    """The 2019 chapter's cell (dialects.md §2.5)."""
    x = np.arange(4)
    x.attach_grad()
    y = np.ones(4) * 2
    y.attach_grad()
    with autograd.record():
        u = x * y
        u.attach_grad()  # Implicitly run u = u.detach()
        z = 5 * u - x
    z.backward()
    assert [repr(g) for g in (x.grad, u.grad, y.grad)] == [
        "array([-1., -1., -1., -1.])", "array([5., 5., 5., 5.])", "array([0., 0., 0., 0.])"]


def test_copy_has_no_gradient_attached():
    x = np.arange(4)
    x.attach_grad()
    u = x.copy()
    assert u.grad is None
    u.attach_grad()
    with autograd.record():
        v = (u * u).sum()
    v.backward()
    assert repr(u.grad) == "array([0., 2., 4., 6.])"
    assert repr(x.grad) == "array([0., 0., 0., 0.])"  # the copy was not recorded


def test_autograd_grad_returns_a_list_and_leaves_grad_alone():
    x = np.arange(3.0)
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    grads = autograd.grad(y, [x])
    assert isinstance(grads, list) and len(grads) == 1
    assert repr(grads[0]) == "array([0., 2., 4.])"
    assert repr(x.grad) == "array([0., 0., 0.])"


def test_autograd_grad_create_graph_gives_second_derivatives():
    x = np.array([0.5, 2.0])
    x.attach_grad()
    with autograd.record():
        y = np.sin(x)
        (dy,) = autograd.grad(y, [x], create_graph=True)
    dy.backward()
    numpy.testing.assert_allclose(dy.asnumpy(), numpy.cos([0.5, 2.0]), rtol=1e-6)
    numpy.testing.assert_allclose(x.grad.asnumpy(), [-0.47942555, -0.9092974], rtol=1e-6)
    x = np.array(2.0)
    x.attach_grad()
    with autograd.record():
        (dy,) = autograd.grad(x ** 3, [x], create_graph=True)
    dy.backward()
    assert (dy.item(), x.grad.item()) == (12.0, 12.0)


def test_mark_variables_uses_the_given_buffer():
    x, buffer = np.arange(3.0), np.zeros(3)
    autograd.mark_variables([x], [buffer])
    with autograd.record():
        y = x * 4
    y.backward()
    assert repr(buffer) == "array([4., 4., 4.])"


# --------------------------------------------------------------------------------------------
# the exercises (dialects.md §6)


def test_exercise_vector_input_to_control_flow():
    np.random.seed(0)
    a = np.random.normal(size=(3,))
    a.attach_grad()
    with autograd.record():
        b = a * 2
        while np.linalg.norm(b) < 1000:
            b = b * 2
        d = b if b.sum() > 0 else 100 * b
    d.backward()
    slope = a.grad.asnumpy()
    assert slope[0] == slope[1] == slope[2]
    power = slope[0] / 100 if a.sum() < 0 else slope[0]  # d = 100 b when b.sum() <= 0
    assert power == 2.0 ** round(math.log2(power))


def test_exercise_sin_derivative_is_cos_exactly():
    x = np.linspace(-3, 3, 5)
    x.attach_grad()
    with autograd.record():
        y = np.sin(x)
    y.backward()
    assert (x.grad == np.cos(x)).asnumpy().all()
    numpy.testing.assert_allclose(x.grad.asnumpy(),
                                  [-0.9899925, 0.0707372, 1.0, 0.0707372, -0.9899925], rtol=1e-6)


def test_exercise_log_sin_function_at_two():
    x = np.array(2.0)
    x.attach_grad()
    with autograd.record():
        f = np.log(x ** 2) * np.sin(x) + 1 / x
    f.backward()
    # transcendental functions differ by an ulp or so between libraries (dialects.md §7.1)
    assert f.item() == pytest.approx(1.7605538, rel=1e-6)
    assert x.grad.item() == pytest.approx(0.08239537477, rel=1e-6)


def test_error_messages_are_mxnets_last_line():
    x = np.arange(2.0)
    with autograd.record():
        y = x * 2
    with pytest.raises(MXNetError) as caught:
        y.backward()
    assert str(caught.value) == (
        "Check failed: !AGInfo: :IsNone(*i): Cannot differentiate node because it is not in a "
        "computational graph. You need to set is_recording to true or use autograd.record() to "
        "save computational graphs for backward. If you want to differentiate the same graph "
        "twice, you need to pass retain_graph=True to backward.")
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(MXNetError) as caught:
            y[0] = 1
    assert str(caught.value) == (
        "Check failed: AGInfo: :IsNone(*output): Assigning to NDArrays that are already in a "
        "computational graph will cause undefined behavior when evaluating gradients. Please "
        "call backward first to clear the graph or do this out side of a record section. Also "
        "note that you cannot use inplace operations like +=, *=, relu(x, out=x), y[idx]=x, "
        "etc inside a record section.")
