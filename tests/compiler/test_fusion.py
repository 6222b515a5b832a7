"""Fused regions of compiled plans (``chainrule/compiler/fusion.py``) and the threads they run
on (``chainrule/threads.py``), on arrays large enough to be fused as built, and (the cases
found in review, at the end) on small arrays fused as ``conftest.py`` fuses them.  The oracle is the
same function run eagerly (or its closed-form derivative); the table and the sweep also run
every primitive fused on small arrays (``conftest.py``)."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import threads
from chainrule.compiler import fusion

SIZE = 3 * fusion.MIN_SIZE  # (fused as built, in several blocks)
numexpr_installed = pytest.mark.skipif(fusion.numexpr_module() is None,
                                       reason="numexpr is not installed "
                                              "(pip install 'chainrule[fast]')")


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n} threads")
def thread_count(request):
    count = cr.get_num_threads()
    cr.set_num_threads(request.param)
    yield request.param
    cr.set_num_threads(count)


def _values(seed, size=SIZE, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-1, 1, size).astype(dtype)


def _gradient(fn, x0):
    x = cr.tensor(x0, requires_grad=True)
    out = fn(x)
    out.backward()
    return out.item(), x.grad.numpy().copy()


def _transcendental(x):
    return (x.sin() * x.exp() * x).sum()


def _arithmetic(x):
    return ((x * x + 1) / (x * 3 - 7) - x).sum()


def _replayed(fn, options=None):
    """``fn`` compiled and traced on one input; returns it (later calls replay)."""
    compiled = cr.compile(fn, options=options)
    _gradient(compiled, _values(0))
    return compiled


NUMEXPR = {"use_numexpr": True}


@pytest.mark.parametrize("fn", [_transcendental, _arithmetic])
@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_a_fused_replay_equals_eager(fn, options, thread_count):
    compiled = _replayed(fn, options)
    assert "# fused" in compiled.last_plan.forward_source
    assert "# fused" in compiled.last_plan.backward_source
    x1 = _values(1)
    value, grad = _gradient(compiled, x1)
    eager_value, eager_grad = _gradient(fn, x1)
    assert compiled.traces == 1
    np.testing.assert_allclose(value, eager_value, rtol=1e-12)
    np.testing.assert_allclose(grad, eager_grad, rtol=1e-12, atol=1e-15)


def test_the_fused_gradient_is_the_closed_form(thread_count):
    compiled = _replayed(_arithmetic)
    x = _values(2)
    d, n = x * 3 - 7, x * x + 1
    # d/dx ((x^2 + 1) / (3x - 7) - x) = 2x / d - 3 n / d^2 - 1
    np.testing.assert_allclose(_gradient(compiled, x)[1], 2 * x / d - 3 * n / d ** 2 - 1,
                               rtol=1e-12)


@pytest.fixture
def seeds(monkeypatch):
    """The numbers :meth:`Regions.seed` took apart (None: the gradient was not one number),
    from now on in the test."""
    taken = []
    seed = fusion.Regions.seed

    def spy(g):
        scale, ones = seed(g)
        taken.append(scale)
        return scale, ones

    monkeypatch.setattr(fusion.Regions, "seed", staticmethod(spy))
    return taken


@pytest.mark.parametrize("loss, number", [
    (_transcendental, 1.0),
    (lambda x: (x.sin() * x.exp() * x).mean() * 3, 3 / SIZE),
    (lambda x: (x.sin() * x.exp() * x).sum() * -0.25, -0.25),
], ids=["sum", "mean", "scaled sum"])
def test_a_seed_of_one_number_is_held_apart(loss, number, seeds, thread_count):
    """The backward region is given the sum's (or mean's) gradient, one number c broadcast,
    as ones; it leaves out the products by them and writes c times its gradient."""
    compiled = _replayed(loss)
    assert "scale, g" in compiled.last_plan.backward_source
    assert "_one_times(g" in compiled.last_plan.backward_source
    seeds.clear()
    x = _values(5)
    value, grad = _gradient(compiled, x)
    assert seeds == [pytest.approx(number, rel=1e-15)]
    eager_value, eager_grad = _gradient(loss, x)
    np.testing.assert_allclose(value, eager_value, rtol=1e-12)
    np.testing.assert_allclose(grad, eager_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("number", [0.0, np.inf, np.nan])
def test_a_seed_that_is_zero_or_not_finite_is_multiplied_as_eagerly(number, seeds):
    """c (a + b) is not c a + c b when c is 0 or not finite and a or b is not finite: such a
    seed runs the region as it is."""
    loss = lambda x: (x.sin() * x.exp() * x).sum() * number  # noqa: E731
    x = _values(6)
    x[::7] = np.inf
    x[1::7] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        compiled = _replayed(loss)
        seeds.clear()
        ours, theirs = _gradient(compiled, x)[1], _gradient(loss, x)[1]
    assert seeds == [None]
    np.testing.assert_array_equal(ours, theirs)


def test_a_cotangent_of_many_numbers_is_not_held_apart(seeds):
    compiled = cr.compile(lambda x: x.sin() * x.exp() * x)
    compiled(cr.tensor(_values(0), requires_grad=True))  # (the trace)
    x0, w = _values(7), _values(8)
    seeds.clear()
    x = cr.tensor(x0, requires_grad=True)
    compiled(x).backward(cr.tensor(w))
    assert seeds == [None]
    # d/dx (sin(x) exp(x) x) = (cos(x) + sin(x)) exp(x) x + sin(x) exp(x)
    expected = w * ((np.cos(x0) + np.sin(x0)) * np.exp(x0) * x0 + np.sin(x0) * np.exp(x0))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_regions_seed_takes_apart_only_one_float64_number_in_range():
    scale, ones = fusion.Regions.seed(np.broadcast_to(0.5, (4, 3)))
    assert scale == 0.5 and scale.dtype == np.float64
    assert ones.shape == (4, 3) and ones.dtype == np.float64 and np.all(ones == 1)
    low, high = fusion.SEED_RANGE
    assert fusion.Regions.seed(np.broadcast_to(-high, (2,)))[0] == -high
    for g in (np.full((4, 3), 0.5),                        # an array of its own: many numbers
              np.broadcast_to(np.array([0.5, 1.0]), (3, 2)),  # broadcast along one axis only
              np.broadcast_to(0.0, (4,)), np.broadcast_to(np.inf, (4,)),
              np.broadcast_to(np.nan, (4,)), np.broadcast_to(high * 2, (4,)),
              np.broadcast_to(low / 2, (4,)),
              np.broadcast_to(np.float32(0.5), (4,)), np.broadcast_to(np.float16(0.5), (4,)),
              np.broadcast_to(0.5 + 1j, (4,)), np.broadcast_to(np.int64(2), (4,)),
              np.broadcast_to(0.5, (0,)), None):
        scale, same = fusion.Regions.seed(g)
        assert scale is None and same is g


@pytest.mark.parametrize("case", ["float16 mean", "float16 scaled loss", "float32 in float64",
                                  "seed out of range"])
def test_a_seed_held_apart_only_where_float64_holds_its_gradients_of_ones(case, seeds):
    """Gradients of ones are 1/c times the eager pass's: in float16 or float32 they may
    overflow (a mean over n) or underflow (a loss scaled by 1e4) where eager's do not.  Such
    regions, and a seed beyond SEED_RANGE, are multiplied as eagerly."""
    rng = np.random.default_rng(12)
    if case == "float16 mean":
        fn = lambda x: ((x * 300).sin() * 300).mean()  # noqa: E731
        x0 = (0.01 * rng.standard_normal(2 * fusion.MIN_SIZE)).astype(np.float16)
    elif case == "float16 scaled loss":
        fn = lambda x: ((x * 1e-4).sin() * 1e-4).sum() * 1e4  # noqa: E731
        x0 = rng.standard_normal(2 * fusion.MIN_SIZE).astype(np.float16)
    elif case == "float32 in float64":
        y = cr.tensor(3e19, dtype=cr.float64)  # (y y = 9e38: beyond float32's range)
        fn = lambda x: (x.sin() * y * y).mean()  # noqa: E731
        x0 = rng.standard_normal(2 * fusion.MIN_SIZE).astype(np.float32)
    else:
        fn = lambda x: (x.sin() * x.exp()).sum() * 1e300  # noqa: E731
        x0 = rng.standard_normal(2 * fusion.MIN_SIZE) * 1e-3
    compiled = cr.compile(fn)
    _gradient(compiled, x0)
    assert "# fused" in compiled.last_plan.backward_source
    seeds.clear()
    ours, theirs = _gradient(compiled, x0)[1], _gradient(fn, x0)[1]
    assert all(scale is None for scale in seeds)
    assert np.all(np.isfinite(theirs)) and np.any(theirs != 0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3 if x0.dtype == np.float16 else 1e-6)


def test_a_complex_cotangent_of_a_real_result_in_a_block():
    """A block writes g cos(x) into cos(x) only when g has its dtype: a complex cotangent
    of a real result gives its product as eagerly (the real part, cast to x's dtype)."""
    fn = lambda x: (x.sin(), x.cos())  # noqa: E731
    compiled = cr.compile(fn)
    x0 = _values(13)
    compiled(cr.tensor(x0, requires_grad=True))  # (the trace)
    grads = []
    for f in (compiled, fn):
        x = cr.tensor(x0, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (NumPy's ComplexWarning, in both)
            f(x)[0].backward(cr.tensor(np.full(SIZE, 1 + 1j)))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-15)
    np.testing.assert_allclose(grads[0], np.cos(x0), rtol=1e-15)


@numexpr_installed
def test_arithmetic_goes_to_numexpr_and_functions_stay_in_numpy_blocks():
    arithmetic = _replayed(_arithmetic, NUMEXPR)
    transcendental = _replayed(_transcendental, NUMEXPR)
    assert "fused by numexpr" in arithmetic.last_plan.forward_source
    assert "fused by numexpr" in arithmetic.last_plan.backward_source
    assert "numexpr" not in transcendental.last_plan.source
    blocks = _replayed(_arithmetic)  # (the default)
    assert "numexpr" not in blocks.last_plan.source
    unfused = _replayed(_arithmetic, {"fuse": False})
    assert "# fused" not in unfused.last_plan.source


def test_values_written_out_are_computed_straight_into_their_arrays(thread_count):
    # sin(x) and exp(x) are saved for the backward pass: each block computes them into the
    # saved arrays' rows (NumPy's out=), with no copy after; x * 2 + 1 is a plain chain
    compiled = _replayed(_transcendental)
    source = compiled.last_plan.forward_source
    assert "np_sin(v0, out=outs[0][lo:hi])" in source
    assert "outs[0][lo:hi] = v1" not in source
    x = _values(3)
    value, grad = _gradient(compiled, x)
    # d/dx sum(sin(x) exp(x) x) = (cos(x) + sin(x)) exp(x) x + sin(x) exp(x)
    np.testing.assert_allclose(value, np.sum(np.sin(x) * np.exp(x) * x), rtol=1e-12)
    np.testing.assert_allclose(grad, (np.cos(x) + np.sin(x)) * np.exp(x) * x
                               + np.sin(x) * np.exp(x), rtol=1e-12, atol=1e-15)


def _gradient_of_shared(fn, x0):
    """The gradient of ``fn`` at a tensor that shares ``x0``'s memory (``from_numpy``), so that
    a plan writing into what it reads would change ``x0``."""
    x = cr.from_numpy(x0).requires_grad_()
    fn(x).backward()
    return x.grad.numpy().copy()


def test_backward_blocks_write_into_arrays_they_made(thread_count):
    """In a block, cos(x) times g is written into cos(x), and a sum of terms into the term a
    product just made (no array is made for either); a term that is a value the block reads
    (given the seed as ones, x * x's terms are x itself) is never written into."""
    compiled = _replayed(_transcendental)
    source = compiled.last_plan.backward_source
    assert "t = _times_into(g1, df_sin_0_0(v0))" in source
    assert "g0 = t if g0 is None else np_add(g0, t, out=t)" in source
    x = _values(11)
    saved = x.copy()
    grad = _gradient_of_shared(compiled, x)
    np.testing.assert_array_equal(x, saved)
    # d/dx sum(sin(x) exp(x) x) = (cos(x) + sin(x)) exp(x) x + sin(x) exp(x)
    np.testing.assert_allclose(grad, (np.cos(x) + np.sin(x)) * np.exp(x) * x
                               + np.sin(x) * np.exp(x), rtol=1e-12, atol=1e-15)
    for square, expected in [
            (_exp_squared, 2 * np.exp(2 * x)),  # (its saved exp(x), read after, is kept)
            (lambda x: (x * x).sin().sum(), 2 * x * np.cos(x * x)),
            (lambda x: (x * x * x.exp()).sum(), (2 * x + x * x) * np.exp(x))]:
        compiled = _replayed(square)
        np.testing.assert_allclose(_gradient_of_shared(compiled, x), expected, rtol=1e-12)
        np.testing.assert_array_equal(x, saved)


def _exp_squared(x):
    y = x.exp()
    return (y * y).sum()


def test_a_seeded_block_never_writes_into_the_argument(fused_small):
    """(x * x).sum() fused on its own: given the seed as ones, both terms are x's rows
    themselves; their sum is a new array, and x (shared with the caller) keeps its values."""
    compiled = cr.compile(lambda x: (x * x).sum())
    compiled(cr.tensor(_values(0, size=12).reshape(4, 3), requires_grad=True))
    x = _values(14, size=12).reshape(4, 3)
    saved = x.copy()
    assert "_one_times(g" in compiled.last_plan.backward_source
    np.testing.assert_allclose(_gradient_of_shared(compiled, x), 2 * saved, rtol=1e-15)
    np.testing.assert_array_equal(x, saved)


def test_a_single_elementwise_step_is_not_a_region():
    compiled = cr.compile(lambda x: x * 0.5)
    x = cr.tensor(_values(4))
    np.testing.assert_allclose(compiled(x).numpy(), 0.5 * x.numpy())
    assert "# fused" not in compiled.last_plan.source


def test_small_arrays_are_not_fused():
    compiled = cr.compile(_transcendental)
    _gradient(compiled, _values(0, size=fusion.MIN_SIZE - 1))
    assert "# fused" not in compiled.last_plan.source


@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_results_the_caller_holds_are_never_written_again(options, thread_count):
    """A region writes into arrays it keeps from call to call, only once nothing else holds
    them: a result, or a gradient, kept by the caller keeps its values."""
    compiled = cr.compile(lambda x: x * 3 + 1, options=options)
    x1, x2 = _values(1), _values(2)
    t1 = cr.tensor(x1, requires_grad=True)
    y1 = compiled(t1)
    assert "# fused" in compiled.last_plan.forward_source
    (y1 * y1).sum().backward()
    grad1 = t1.grad
    for seed in range(2, 5):  # (replays)
        t2 = cr.tensor(_values(seed), requires_grad=True)
        (compiled(t2) ** 2).sum().backward()
    np.testing.assert_allclose(y1.detach().numpy(), x1 * 3 + 1)
    np.testing.assert_allclose(grad1.numpy(), 6 * (x1 * 3 + 1))
    np.testing.assert_allclose(compiled(cr.tensor(x2)).numpy(), x2 * 3 + 1)


def test_released_results_give_their_memory_to_the_next_call(thread_count):
    compiled = cr.compile(lambda x: x.sin() * 2)
    x = cr.tensor(_values(0))
    compiled(x)
    address = compiled(x).numpy().__array_interface__["data"][0]  # (released at once)
    kept = compiled(x)
    assert kept.numpy().__array_interface__["data"][0] == address
    assert compiled(x).numpy().__array_interface__["data"][0] != address  # (kept is held)


@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_an_output_without_a_cotangent(options, thread_count):
    """Only the first output reaches the loss: the region's gradient of the second is None
    when the backward pass runs (numexpr leaves that case to the blocks)."""
    compiled = cr.compile(lambda x: (x * 2 + 1, x * x - 1), options=options)
    x = cr.tensor(_values(0), requires_grad=True)
    compiled(x)
    first, _ = compiled(x)
    first.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(SIZE, 2.0))
    x.grad = None
    first, second = compiled(x)
    (first.sum() + second.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * _values(0), rtol=1e-15)


@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_float32_stays_float32(options, thread_count):
    """numexpr computes ``x * 0.1`` in float64 unless told otherwise; NumPy, and so chainrule,
    in float32."""
    fn = lambda x: x * 0.1 + 2 - x * x  # noqa: E731
    compiled = cr.compile(fn, options=options)
    x0 = _values(0, dtype=np.float32)
    compiled(cr.tensor(x0))
    out = compiled(cr.tensor(x0))
    assert out.dtype == cr.float32
    np.testing.assert_allclose(out.numpy(), fn(cr.tensor(x0)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_floating_point_errors_raise_as_eagerly(options, thread_count):
    compiled = cr.compile(lambda x: (1 / x + x).sum(), options=options)
    x0 = _values(0)
    compiled(cr.tensor(x0))
    x0[-1] = 0.0  # (in the last block: another thread's, with several)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            (1 / cr.tensor(x0) + cr.tensor(x0)).sum()
        with pytest.raises(FloatingPointError):
            compiled(cr.tensor(x0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(compiled(cr.tensor(x0)).item())


def test_a_region_reads_one_operand_twice(thread_count):
    compiled = _replayed(lambda x: (x * x + x).sum())
    x = _values(3)
    np.testing.assert_allclose(_gradient(compiled, x)[1], 2 * x + 1, rtol=1e-15)


def test_broadcast_operands_are_read_whole(thread_count):
    """A row of biases broadcast over a region's rows is read whole by each block; a column
    runs along them and is cut."""
    rows = SIZE // 256
    row, column = _values(4, 256), _values(5, rows).reshape(rows, 1)
    fn = lambda x, b, c: ((x + b) * c).tanh().sum()  # noqa: E731
    compiled = cr.compile(fn)
    args = [cr.tensor(_values(6).reshape(rows, 256), requires_grad=True),
            cr.tensor(row, requires_grad=True), cr.tensor(column, requires_grad=True)]
    compiled(*args)
    assert "# fused" in compiled.last_plan.forward_source
    ours = [cr.tensor(a.detach().numpy(), requires_grad=True) for a in args]
    theirs = [cr.tensor(a.detach().numpy(), requires_grad=True) for a in args]
    compiled(*ours).backward()
    fn(*theirs).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------
# threads


def test_set_num_threads_takes_a_positive_count():
    count = cr.get_num_threads()
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="chainrule.set_num_threads"):
            cr.set_num_threads(bad)
    assert cr.get_num_threads() == count


@pytest.mark.parametrize("rows", [1, 2, 7, 10, 31])
def test_blocks_cover_every_row_once(rows, thread_count, monkeypatch):
    monkeypatch.setattr(threads, "BLOCK", 6)  # (rows of 2 elements: blocks of 3 rows)
    seen, names = [], set()

    def block(lo, hi, tag):
        seen.append((lo, hi))
        names.add(threading.current_thread().name)
        return tag

    results = threads.run_blocks(block, (rows, 2), ("x",))
    assert sorted(seen) == [(lo, min(lo + 3, rows)) for lo in range(0, rows, 3)]
    assert results == ["x"] * len(seen)
    if thread_count > 1 and rows > 3:
        assert len(names) > 1  # (the pool took a share)


def test_an_error_in_any_block_is_raised_after_every_block_ends(thread_count, monkeypatch):
    monkeypatch.setattr(threads, "BLOCK", 1)
    finished = []

    def block(lo, hi):
        if lo == 5:
            raise ZeroDivisionError("block 5")
        finished.append(lo)

    with pytest.raises(ZeroDivisionError, match="block 5"):
        threads.run_blocks(block, (6,), ())
    assert sorted(finished) == [0, 1, 2, 3, 4]


def test_compile_options_are_checked():
    with pytest.raises(ValueError, match="unknown option.*'fusion'.*the options are"):
        cr.compile(lambda x: x, options={"fusion": False})
    with pytest.raises(TypeError, match="options must be a dict"):
        cr.compile(lambda x: x, options=["fuse"])


@pytest.mark.parametrize("options", [None, NUMEXPR], ids=["blocks", "numexpr"])
def test_a_sum_of_every_element_ends_a_region(options, thread_count):
    """Each block sums its rows and the blocks' sums are added: the value summed is never
    written out.  A step after the sum reads the whole sum (it starts another region)."""
    fn = lambda x: (x * x + 1).sum() * x - x  # noqa: E731
    compiled = cr.compile(fn, options=options)
    x0 = _values(0, dtype=np.float32)
    compiled(cr.tensor(x0))
    forward = compiled.last_plan.forward_source
    assert "mul, add, sum over" in forward or "fused by numexpr" in forward
    x1 = _values(1, dtype=np.float32)
    ours, theirs = cr.tensor(x1, requires_grad=True), cr.tensor(x1, requires_grad=True)
    out, expected = compiled(ours), fn(theirs)
    assert out.dtype == expected.dtype == cr.float32
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4)


def test_a_region_of_one_block_returns_its_values(monkeypatch):
    """When one block holds every row, the region runs once on the whole arrays and hands
    its values back as they are (nothing is copied into the cache's arrays)."""
    monkeypatch.setattr(fusion, "MIN_SIZE", 1)
    monkeypatch.setattr(threads, "BLOCK", 10 ** 9)
    fn = lambda x, y: ((x * y).sin() + y).sum() * x.exp()  # noqa: E731
    compiled = cr.compile(fn)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    compiled(cr.tensor(a), cr.tensor(b))
    assert "# fused" in compiled.last_plan.source
    ours = [cr.tensor(v, requires_grad=True) for v in (a * 2, b - 1)]
    theirs = [cr.tensor(v, requires_grad=True) for v in (a * 2, b - 1)]
    out, expected = compiled(*ours), fn(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-13)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    for u, v in zip(ours, theirs):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-12)
    assert not compiled.last_plan.namespace["_regions"].arrays  # (no block was written)


# --------------------------------------------------------------------------------------------
# found in review: numexpr's constants and conditions, the size of its expressions, the thread
# pool under concurrent calls, non-finite Python constants (small arrays, every step fused)


def _run(fn, arrays, options=None, calls=2, fused=True):
    """``fn``'s value and gradients, eagerly and compiled (fullgraph: a plan that cannot be
    built raises); the compiled one from its last call."""
    def once(f):
        tensors = [cr.tensor(a, requires_grad=np.issubdtype(a.dtype, np.floating) and k == 0)
                   for k, a in enumerate(arrays)]
        out = f(*tensors)
        weights = np.random.default_rng(7).standard_normal(out.shape).astype(out.dtype)
        (out * cr.tensor(weights)).sum().backward()
        return out.detach().numpy().copy(), tensors[0].grad.numpy().copy()

    eager = once(fn)
    compiled = cr.compile(fn, options=options, fullgraph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(calls):
            result = once(compiled)
    assert ("# fused" in compiled.last_plan.source) == fused
    return eager, result, compiled


def _assert_same(eager, result):
    for e, c in zip(eager, result):
        assert e.dtype == c.dtype and e.shape == c.shape
        np.testing.assert_array_equal(c, e)


@numexpr_installed
@pytest.mark.parametrize("constant", [np.float64(0.1), np.array(0.1), np.int64(16777217)],
                         ids=["np.float64", "0-d float64", "np.int64"])
def test_numexpr_compares_with_a_wider_numpy_scalar_as_numpy_does(constant, fused_small):
    # float32 > np.float64(0.1) compares in float64 (a NumPy scalar is not weak): 0.1f is
    # above it; given as float32(0.1), numexpr found it equal
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    x[0, :2] = np.float32(0.1), np.float32(16777216.0)

    def fn(x):
        return cr.where(x >= constant, x * 2, x * 3) + cr.where(x > constant, x, x * 0)

    eager, result, _ = _run(fn, [x], NUMEXPR)
    _assert_same(eager, result)


@numexpr_installed
@pytest.mark.parametrize("grad", [False, True], ids=["condition constant", "condition grad"])
def test_numexpr_where_with_a_float_condition(grad, fused_small):
    # numexpr's where takes only a bool condition (NotImplementedError: where_ffff), and
    # where's condition has no gradient expression (the plan could not be built)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    c = rng.standard_normal((6, 5)).astype(np.float32).round()

    def fn(x, c):
        return cr.where(c, x * 2, x - 1)

    tensors = [cr.tensor(x, requires_grad=True), cr.tensor(c, requires_grad=grad)]
    compiled = cr.compile(fn, options=NUMEXPR, fullgraph=True)
    for _ in range(2):
        out = compiled(*tensors)
    np.testing.assert_array_equal(out.detach().numpy(), fn(*tensors).detach().numpy())
    out.sum().backward()
    np.testing.assert_array_equal(tensors[0].grad.numpy(), np.where(c, 2, 1).astype(np.float32))


@numexpr_installed
def test_numexpr_texts_stop_growing_at_the_limit(fused_small):
    # x = x * x substituted into itself doubles the text each step: 26 steps built 2^26
    # characters (seconds) before the length was checked; 40 would not finish
    def fn(x):
        for _ in range(26):
            x = x * x
        return x

    x = np.random.default_rng(2).choice([-1.0, 1.0, 0.0], (6, 5))
    start = time.perf_counter()
    eager, result, compiled = _run(fn, [x], NUMEXPR, calls=1)
    assert time.perf_counter() - start < 2.0
    _assert_same(eager, result)


def test_regions_of_different_block_counts_on_concurrent_threads(fused_small):
    # a region of 2 blocks wanted a pool of 1 worker, one of 40 blocks a pool of 2: each call
    # shut the other's pool down, and a thread submitting to it raised RuntimeError
    compiled = cr.compile(lambda x: (x.sin() * x + 1) * x)
    small, large = np.ones((2, 3)), np.linspace(-1, 1, 120).reshape(40, 3)
    errors = []

    def loop(a):
        try:
            for _ in range(150):
                out = compiled(cr.tensor(a))
                np.testing.assert_allclose(out.numpy(), (np.sin(a) * a + 1) * a)
        except Exception as err:  # (reported by the main thread)
            errors.append(repr(err))

    workers = [threading.Thread(target=loop, args=(a,)) for a in (small, large) * 2]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


@pytest.mark.parametrize("fused", [False, True], ids=["as built", "fused"])
@pytest.mark.parametrize("constant", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_python_float_constants(constant, fused, monkeypatch):
    # (not the fusion's: a plan wrote repr(nan), 'nan', as a literal: NameError)
    if fused:
        monkeypatch.setattr(fusion, "MIN_SIZE", 1)
        monkeypatch.setattr(threads, "BLOCK", 1)
    x = np.random.default_rng(3).standard_normal((6, 5))

    def fn(x):
        return cr.where(x > constant, x * 2, x * 3) * x + cr.where(x < constant, x, -x)

    eager, result, _ = _run(fn, [x], fused=fused)
    _assert_same(eager, result)


# --------------------------------------------------------------------------------------------
# updates in place (an optimiser's step) inside a region


def _sgd(w, g):
    with cr.no_grad():
        w -= 0.1 * g


def _sgd_against_own_transpose(w, g):
    with cr.no_grad():
        w -= 0.1 * (w.T + g)  # (reads the columns of the rows it writes)


@pytest.mark.parametrize("fn", [_sgd, _sgd_against_own_transpose])
def test_an_update_in_place_writes_what_eager_writes(fn, thread_count):
    side = 512  # (512 x 512 is fused as built)
    w0 = _values(5, side * side).reshape(side, side)
    ours, theirs = (cr.tensor(w0, requires_grad=True) for _ in range(2))
    compiled = cr.compile(fn, fullgraph=True)
    for step in range(3):
        g = cr.tensor(_values(10 + step, side * side).reshape(side, side))
        compiled(ours, g)
        fn(theirs, g)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    assert compiled.traces == 1
    source = compiled.last_plan.forward_source
    assert "subtract_ over 512x512" in source  # (a region, run when nothing it reads overlaps)
    assert "_regions.apart((v0,)" in source


def test_an_update_overlapping_what_its_region_reads_takes_the_plain_steps(monkeypatch):
    # (the region run regardless would read rows already written: the check is what keeps
    # the update right)
    side = 512
    w0 = _values(6, side * side).reshape(side, side)
    g = cr.tensor(_values(7, side * side).reshape(side, side))
    compiled = cr.compile(_sgd_against_own_transpose)
    ours, theirs = (cr.tensor(w0, requires_grad=True) for _ in range(2))
    compiled(cr.tensor(w0, requires_grad=True), g)  # (the trace)
    assert "subtract_ over 512x512" in compiled.last_plan.forward_source  # (a region to skip)
    blocks = []
    monkeypatch.setattr(fusion.Regions, "__call__",
                        lambda self, *args: blocks.append(args) or ())
    compiled(ours, g)
    _sgd_against_own_transpose(theirs, g)
    assert not blocks
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def _sgd_of_a_quotient(w, g, d):
    with cr.no_grad():
        w -= 0.1 * (g / d)


def test_an_update_fused_with_an_operation_that_raises_writes_nothing():
    # (under np.errstate(...="raise") the plain steps run: they raise before the update, as
    # eagerly, where blocks would have written some rows first)
    side = 512
    w0 = _values(8, side * side).reshape(side, side)
    g = cr.tensor(_values(9, side * side).reshape(side, side))
    divisor = np.full((side, side), 2.0)
    compiled = cr.compile(_sgd_of_a_quotient)
    compiled(cr.tensor(w0, requires_grad=True), g, cr.tensor(divisor))  # (the trace)
    assert "subtract_ over 512x512" in compiled.last_plan.forward_source  # (a region to skip)
    divisor[-1, -1] = 0.0
    for fn in (compiled, _sgd_of_a_quotient):
        w = cr.tensor(w0, requires_grad=True)
        with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
            fn(w, g, cr.tensor(divisor))
        np.testing.assert_array_equal(w.detach().numpy(), w0)
    assert compiled.traces == 1


def test_an_overlap_through_an_ndarray_subclass_takes_the_plain_steps(tmp_path):
    side = 512
    w0 = _values(10, side * side).reshape(side, side)
    g = cr.tensor(_values(11, side * side).reshape(side, side))
    results = []
    for compiled in (True, False):
        mapped = np.memmap(tmp_path / "w.bin", dtype=np.float64, mode="w+", shape=(side, side))
        w = cr.from_numpy(np.asarray(mapped)).requires_grad_()
        reversed_rows = cr.from_numpy(mapped[::-1])  # (an np.memmap: the same memory)

        def step(w, g):
            with cr.no_grad():
                w -= 0.1 * (g + reversed_rows)

        fn = cr.compile(step) if compiled else step
        for _ in range(2):  # (the trace, then a replay)
            mapped[:] = w0
            fn(w, g)
        results.append(np.array(mapped))
    np.testing.assert_array_equal(results[0], results[1])
