"""``chainrule.compile``'s behaviour: guards and retracing, control flow, the bounded cache,
what breaks a trace (never a stale value), fullgraph, transforms through a compiled function,
compiled modules, pytree outputs, and the plan's source.

The oracles: the same function run eagerly (on the same inputs, with the same seed) and closed
forms.  Every check of a replay uses inputs other than the trace's, so that a plan that baked
in a value of the trace is caught.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.func import grad, vmap
from tests.transforms.test_func import f_control_flow as chapter_f

BREAKS = "breaks the trace"


def _t(values, requires_grad=False, dtype=cr.float64):
    return cr.tensor(np.asarray(values, dtype=float), dtype=dtype, requires_grad=requires_grad)


def _rand(seed, shape, requires_grad=False, dtype=cr.float64):
    return _t(np.random.default_rng(seed).standard_normal(shape), requires_grad, dtype)


def _np(t):
    return t.detach().numpy()


def _messages(caught):
    return [str(w.message) for w in caught]


def _call_quietly(fn, *args, **kwargs):
    """fn's result and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, _messages(caught)


def _assert_grads_equal(compiled, eager, inputs, seed=7, **tolerance):
    """The gradients of <w, fn(*inputs)> (w seeded) through compiled and eager are equal."""
    tolerance = tolerance or dict(rtol=1e-12, atol=1e-12)
    grads = []
    for fn in (compiled, eager):
        xs = [x.detach().requires_grad_(True) for x in inputs]
        out = fn(*xs)
        w = _rand(seed, out.shape, dtype=out.dtype)
        (out * w).sum().backward()
        grads.append([_np(x.grad) for x in xs])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, **tolerance)


# --------------------------------------------------------------------------------------------
# guards: what makes a call trace again


def _sin2(x):
    return cr.sin(x) * 2


def test_same_kind_of_call_replays():
    f = cr.compile(_sin2)
    f(_rand(0, (3,), True))
    out = f(_rand(1, (3,), True))
    assert f.traces == 1
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    np.testing.assert_allclose(_np(out), 2 * np.sin(_np(_rand(1, (3,)))), rtol=1e-12)


@pytest.mark.parametrize("change", ["shape", "dtype", "requires_grad"])
def test_a_change_of_tensor_metadata_traces_again(change):
    f = cr.compile(_sin2)
    first = dict(shape=(3,), dtype=cr.float64, requires_grad=True)
    other = dict(first)
    other[change] = {"shape": (4,), "dtype": cr.float32, "requires_grad": False}[change]
    for seed, kind in enumerate([first, first, other, other, first]):
        x = _rand(seed, kind["shape"], kind["requires_grad"], kind["dtype"])
        out = f(x)
        assert out.dtype == x.dtype and out.requires_grad == x.requires_grad
        np.testing.assert_allclose(_np(out), 2 * np.sin(_np(x)), rtol=1e-6)
    assert f.traces == 2


def test_a_python_scalar_argument_is_part_of_the_key():
    f = cr.compile(lambda x, s, *, p=1.0: x * s + p)
    x = _rand(0, (3,), True)
    for s, p in [(2.0, 1.0), (2.0, 1.0), (3.0, 1.0), (3.0, 1.0), (3.0, -5.0), (2.0, 1.0)]:
        np.testing.assert_allclose(_np(f(x, s, p=p)), _np(x) * s + p, rtol=1e-12)
    assert f.traces == 3


def test_grad_mode_is_part_of_the_key():
    f = cr.compile(_sin2)
    x = _rand(0, (3,), True)
    f(x)
    with cr.no_grad():
        out = f(_rand(1, (3,), True))
        assert not out.requires_grad and out.grad_fn is None
        f(_rand(2, (3,), True))
    assert f.traces == 2
    out = f(_rand(3, (3,), True))
    assert f.traces == 2 and out.grad_fn.name() == "CompiledFunctionBackward"


# --------------------------------------------------------------------------------------------
# control flow on values: the chapter's f (tests/transforms/test_func.py's f_control_flow)


def _pattern(v):
    """(the number of doublings, the sign): which way chapter_f goes for a scalar v."""
    b, n = 2 * v, 0
    while abs(b) < 1000:
        b, n = b * 2, n + 1
    return n, b > 0


def test_chapter_f_is_right_and_traces_once_per_branch_pattern():
    f = cr.compile(chapter_f)
    values = [0.3, -0.3, 0.31, 5.0, -2.0, 0.29, 0.3, -0.25, 5.5, 300.0, -301.0]
    for v in values:
        a = _t(v, requires_grad=True)
        d = f(a)
        d.backward()
        np.testing.assert_allclose(_np(d), _np(chapter_f(_t(v))), rtol=1e-12)
        np.testing.assert_allclose(_np(a.grad), _np(d) / v, rtol=1e-12)  # d is linear in a
    assert f.traces == len({_pattern(v) for v in values})


# --------------------------------------------------------------------------------------------
# the cache


def test_the_cache_is_bounded_with_one_warning_and_later_calls_are_right():
    f = cr.compile(_sin2)
    caught = []
    for n in list(range(1, 13)) * 2:
        x = _rand(n, (n,), True)
        out, messages = _call_quietly(f, x)
        caught += messages
        np.testing.assert_allclose(_np(out), 2 * np.sin(_np(x)), rtol=1e-12)
        out.sum().backward()
        np.testing.assert_allclose(_np(x.grad), 2 * np.cos(_np(x)), rtol=1e-12)
    assert len(caught) == 1 and "cache_size_limit" in caught[0]
    assert f.traces == 8 == f.cache_size_limit


def test_kinds_of_call_whose_trace_broke_count_against_the_cache():
    # (each new one would trace again, and its key be kept: a float argument new at every
    # call would trace at every call and keep every key)
    def breaking(x, step):
        x.numpy()
        return x * step

    f = cr.compile(breaking)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(20):
            x = _rand(step, (3,), False)
            np.testing.assert_array_equal(_np(f(x, float(step))), _np(x) * step)
    assert f.traces == 8 == len(f.eager_keys)
    assert sum("cache_size_limit" in str(w.message) for w in caught) == 1


# --------------------------------------------------------------------------------------------
# what breaks a trace: eager, with a warning, and right on later calls with other values


def _to_numpy_and_back(x):
    return cr.tensor(np.sin(x.numpy())) * x


def _numpy_array_changed_after_a_read(x, zeros_like):
    buf = zeros_like(x)  # (a NumPy array)
    y = x * buf  # (reads buf as zeros; a replay keeping one array would read its last value)
    buf += 1.0
    return y + x * buf


def _shared_array_changed_after_a_read(x, share):
    buf = np.ones(x.shape)
    y = x * share(buf)  # (a tensor sharing buf's memory)
    buf *= 3.0
    return y


BREAKERS = {
    "in-place": (lambda x: (x * 1.0).add_(1) * x, True),
    "randn": (lambda x: x + cr.randn(x.shape, dtype=x.dtype), True),
    "numpy()": (_to_numpy_and_back, False),  # (numpy() on a tensor requiring grad raises)
    "boolean mask": (lambda x: x[x > 0].sum() * x, True),
    "masked_select": (lambda x: cr.masked_select(x, x > 0).sum() * x, True),
    "argmax as an index": (lambda x: x[x.argmax()] * x, True),
    "detach()": (lambda x: (x * 2).detach() * x, True),
    ".data": (lambda x: (x * 2).data * x, True),
    "item()": (lambda x: x * (x.sum().item() + 1.0), True),
    "a NumPy array changed after an op read it": (functools.partial(
        _numpy_array_changed_after_a_read, zeros_like=lambda x: np.zeros(x.shape)), True),
    "cnp.zeros_like's array changed after an op read it": (functools.partial(
        _numpy_array_changed_after_a_read, zeros_like=cnp.zeros_like), True),
    "from_numpy's array changed after an op read it": (functools.partial(
        _shared_array_changed_after_a_read, share=cr.from_numpy), True),
    "as_tensor's array changed after an op read it": (functools.partial(
        _shared_array_changed_after_a_read, share=cr.as_tensor), True),
}


# ...except these: a value read is a guard (a call that reads another value retraces), and a
# detached value is the same value with no gradient through it (an alias op): replayed
REPLAYED = {"detach()", ".data", "argmax as an index"}  # (an integer index: read at each replay)


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_a_trace_breaker_runs_eagerly_and_is_never_stale(name):
    fn, requires_grad = BREAKERS[name]
    f = cr.compile(fn)
    for seed in range(3):
        x, y = _rand(seed, (5,), requires_grad), _rand(seed, (5,), requires_grad)
        cr.manual_seed(seed)
        ours, messages = _call_quietly(f, x)
        cr.manual_seed(seed)
        theirs = fn(y)
        if name in REPLAYED or name == "item()":
            assert not messages
            if seed and name in REPLAYED:
                assert ours.grad_fn.name() == "CompiledFunctionBackward"
        else:
            assert len(messages) == (seed == 0) and all(BREAKS in m for m in messages)
            assert ours.grad_fn is None or ours.grad_fn.name() != "CompiledFunctionBackward"
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-12)
        if requires_grad:
            w = _rand(10 + seed, ours.shape)
            (ours * w).sum().backward()
            (theirs * w).sum().backward()
            np.testing.assert_allclose(_np(x.grad), _np(y.grad), rtol=1e-12)


def test_a_numpy_array_changed_between_calls_is_read_afresh_by_each_replay():
    # (only a change during the call breaks the trace: one made before it, as a global data
    # buffer refilled between steps, is read as the eager call would read it)
    weights, batch = np.array([1.0, 2.0, 3.0]), np.zeros(3)

    def fn(x):
        return (x * weights + cr.from_numpy(batch)).sum()

    f = cr.compile(fn, fullgraph=True)
    for step in range(3):
        weights[:] = step + 1.0
        batch[:] = 10.0 * step
        x = _rand(step, (3,), True)
        out = f(x)
        out.backward()
        assert out.item() == pytest.approx((_np(x) * (step + 1.0)).sum() + 30.0 * step)
        np.testing.assert_array_equal(_np(x.grad), np.full(3, step + 1.0))
    assert f.traces == 1


def test_an_updates_numpy_operand_is_read_as_eagerly():
    # (an array the caller passes is copied into the plan, which the caller may then change;
    # one changed after the update read it breaks the trace)
    def step(w, operand):
        with cr.no_grad():
            w -= operand

    def step_then_change(w):
        buf = np.ones(4)
        with cr.no_grad():
            w -= buf
        buf += 1.0

    f, g = cr.compile(step), cr.compile(step_then_change)
    ours, theirs = (cr.tensor(np.zeros(4), requires_grad=True) for _ in range(2))
    passed = np.ones(4)
    f(ours, passed)
    step(theirs, passed)
    passed[:] = 5.0  # (the caller reuses its buffer)
    f(ours, np.ones(4))
    step(theirs, np.ones(4))
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    messages = []
    for _ in range(3):
        messages += _call_quietly(g, ours)[1]
        step_then_change(theirs)
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    assert len(messages) == 1 and BREAKS in messages[0]


def test_a_numpy_array_returned_is_the_callers_own_from_the_first_call():
    # (the first call's array is the one the plan reads: changed by the caller, it would
    # change every replay)
    def fn(x):
        mask = cnp.zeros_like(x)
        mask[0] = 2.0
        return x * mask, mask

    f = cr.compile(fn, fullgraph=True)
    x = cr.tensor([1.0, 2.0, 3.0])
    for _ in range(3):
        value, mask = f(x)
        np.testing.assert_array_equal(_np(value), [2.0, 0.0, 0.0])
        mask += 7.0
    assert f.traces == 1


def test_indexing_with_a_tensor_index_is_never_stale():
    def fn(x, idx):
        return x[idx] * 2

    f = cr.compile(fn)
    for seed, index in enumerate([[0, 2], [1, 3], [4, 4]]):
        x = _rand(seed, (5,), True)
        idx = cr.tensor(index)
        out, messages = _call_quietly(f, x, idx)
        np.testing.assert_allclose(_np(out), 2 * _np(x)[index], rtol=1e-12)
        out.sum().backward()
        np.testing.assert_allclose(_np(x.grad), np.bincount(index, minlength=5) * 2.0)


def test_the_first_call_warns_once_and_names_the_cause():
    f = cr.compile(BREAKERS["randn"][0])
    _, messages = _call_quietly(f, _rand(0, (3,)))
    assert len(messages) == 1 and "random" in messages[0] and BREAKS in messages[0]
    _, messages = _call_quietly(f, _rand(1, (3,)))
    assert messages == []


def test_fullgraph_raises_where_the_trace_breaks():
    f = cr.compile(BREAKERS["randn"][0], fullgraph=True)
    with pytest.raises(RuntimeError, match="fullgraph"):
        f(_rand(0, (3,)))
    g = cr.compile(_sin2, fullgraph=True)
    g(_rand(0, (3,)))
    np.testing.assert_allclose(_np(g(_rand(1, (3,)))), 2 * np.sin(_np(_rand(1, (3,)))))


# --------------------------------------------------------------------------------------------
# transforms and autograd through a compiled function


def _loss(x):
    return (cr.tanh(x) * x).sum() + (x * x).mean()


def test_func_grad_and_value_and_grad_through_compile_equal_eager():
    f = cr.compile(_loss)
    for seed in range(3):
        x = _rand(seed, (4,))
        np.testing.assert_allclose(_np(cr.func.grad(f)(x)), _np(cr.func.grad(_loss)(x)),
                                   rtol=1e-12)
        (v1, g1), (v2, g2) = cr.func.value_and_grad(f)(x), cr.func.value_and_grad(_loss)(x)
        np.testing.assert_allclose(_np(v1), _np(v2), rtol=1e-12)
        np.testing.assert_allclose(_np(g1), _np(g2), rtol=1e-12)


def test_autograd_grad_first_and_second_order_through_compile_equal_eager():
    f = cr.compile(_loss)
    results = []
    for fn in (f, f, _loss):
        x = _rand(3, (4,), True)
        (g,) = cr.autograd.grad(fn(x), x, create_graph=True)
        (h,) = cr.autograd.grad((g * g).sum(), x)
        results.append((_np(g), _np(h)))
    for ours in results[:2]:
        for a, b in zip(ours, results[2]):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_func_grad_of_a_compiled_closure_over_a_tensor_reads_it_afresh():
    w = _rand(0, (4,))
    f = cr.compile(lambda x: (x * w).sin().sum())
    x = _rand(1, (4,), True)
    f(x)
    w.data = _np(_rand(2, (4,))).copy()  # (changed outside the compiled function)
    out = f(x)
    np.testing.assert_allclose(_np(out), np.sin(_np(x) * _np(w)).sum(), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(_np(x.grad), np.cos(_np(x) * _np(w)) * _np(w), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# modules


def _mlp(seed):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(3, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2)).double()


def test_a_compiled_module_trains_as_the_eager_one():
    eager, model = _mlp(0), _mlp(0)
    compiled = cr.compile(model)
    assert all(k.startswith("_orig_mod.") for k in compiled.state_dict())
    assert [k[len("_orig_mod."):] for k in compiled.state_dict()] == list(eager.state_dict())
    optimizers = [cr.optim.SGD(m.parameters(), lr=0.1) for m in (eager, compiled)]
    rng = np.random.default_rng(0)
    losses = []
    for _step in range(5):
        x, y = _t(rng.standard_normal((6, 3))), _t(rng.standard_normal((6, 2)))
        step = []
        for m, opt in zip((eager, compiled), optimizers):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            step.append(loss.item())
        losses.append(step)
        for (n, p), (_, q) in zip(eager.named_parameters(), model.named_parameters()):
            np.testing.assert_allclose(_np(q), _np(p), rtol=1e-12, atol=1e-14, err_msg=n)
    np.testing.assert_allclose(*zip(*losses), rtol=1e-12)
    assert len({s[1] for s in losses}) == 5
    assert compiled._compiled_call.traces == 1


# --------------------------------------------------------------------------------------------
# outputs


def test_multiple_and_pytree_outputs_carry_gradients_through_each():
    def fn(x, y):
        return (x * y, {"s": cr.sin(x), "t": (x + y, y.exp())})

    f = cr.compile(fn)
    f(_rand(0, (3,), True), _rand(1, (3,), True))
    grads = []
    for g in (f, fn):
        x, y = _rand(2, (3,), True), _rand(3, (3,), True)
        p, d = g(x, y)
        assert set(d) == {"s", "t"} and isinstance(d["t"], tuple)
        leaves = [p, d["s"], *d["t"]]
        if g is f:
            assert all(o.grad_fn.name() == "CompiledFunctionBackward" for o in leaves)
        total = sum(((o * _rand(10 + i, (3,))).sum() for i, o in enumerate(leaves)), _t(0.0))
        total.backward()
        grads.append((x.grad.numpy().copy(), y.grad.numpy().copy(), *map(_np, leaves)))
        # one output at a time too
        x2, y2 = _rand(2, (3,), True), _rand(3, (3,), True)
        (gx,) = cr.autograd.grad(g(x2, y2)[1]["t"][1].sum(), [y2])
        np.testing.assert_allclose(_np(gx), np.exp(_np(y2)), rtol=1e-12)
    assert f.traces == 1
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_an_output_that_is_an_input_and_a_non_tensor_output():
    f = cr.compile(lambda x: (x, x * 2, "label", 3))
    f(_rand(0, (3,), True))
    x = _rand(1, (3,), True)
    a, b, label, n = f(x)
    assert (label, n) == ("label", 3) and f.traces == 1
    np.testing.assert_allclose(_np(a), _np(x))
    np.testing.assert_allclose(_np(b), 2 * _np(x))
    w0, w1 = _rand(2, (3,)), _rand(3, (3,))
    ((a * w0).sum() + (b * w1).sum()).backward()
    np.testing.assert_allclose(_np(x.grad), _np(w0) + 2 * _np(w1), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# the plan as source


def test_source_has_one_line_per_primitive_and_the_rule_maths():
    f = cr.compile(lambda x, y: cr.sin(x * y).sum())
    with pytest.raises(RuntimeError, match="nothing compiled yet"):
        _ = f.source
    f(_rand(0, (3,), True), _rand(1, (3,), True))
    forward, backward = f.source.split("\n\n", 1)
    body = [line for line in forward.strip().splitlines()[1:-1]
            if not line.strip().startswith("del ")]  # (values freed after their last use)
    assert [line.split("# ")[1].split(":")[0] for line in body] == ["mul", "sin", "sum"]
    assert "# mul: d (x y) = y dx + x dy" in backward
    assert backward.startswith("def backward(")


def test_explain_shows_the_plan_of_a_call():
    f = cr.compile(lambda x: cr.exp(x) * 3)
    text = f.explain(_rand(0, (2, 2), True))
    assert text.startswith("def forward(") and "exp" in text and "2x2 float64" in text
    assert f.traces == 1
    assert f.explain(_rand(1, (2, 2), True)) == text and f.traces == 1
    broken = cr.compile(BREAKERS["randn"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "eagerly" in broken.explain(_rand(0, (2,)))


def _saved_values(out):
    """The values a replayed call keeps for its backward pass (its node's call state)."""
    return out.grad_fn.params["_call"].saved


def test_a_backward_pass_frees_what_the_plan_saved_but_retain_graph_keeps_it():
    import weakref

    f = cr.compile(lambda x: (cr.sin(x) * cr.exp(x) * x).sum())
    f(_rand(0, (50,), True))
    x = _rand(1, (50,), True)
    loss = f(x)
    refs = [weakref.ref(v) for v in _saved_values(loss) if isinstance(v, np.ndarray)]
    assert refs and all(r() is not None for r in refs)
    loss.backward()
    first = x.grad.numpy().copy()
    assert _saved_values(loss) is None  # handed to the backward pass, which freed them
    assert [r() for r in refs if r() is not None and r() is not x._data] == []
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()

    x.grad = None
    kept = f(x)
    kept.backward(retain_graph=True)
    assert _saved_values(kept) is not None
    kept.backward()  # the second pass reads what the first kept, and adds to .grad
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)
    eager = (cr.sin(x) * cr.exp(x) * x).sum()
    np.testing.assert_allclose(first, cr.autograd.grad(eager, x)[0].numpy(), rtol=1e-12)


def test_the_backward_pass_keeps_no_gradient_alive_after_it():
    f = cr.compile(lambda w, x: cr.tanh(x @ w).sum())
    w, x = _rand(0, (4, 3), True), _rand(1, (5, 4), True)
    f(w, x)
    loss = f(w, x)
    loss.backward()
    assert loss.grad_fn.params["_call"].grads is None


LARGE_FUNCTIONS = {
    "sin*exp*x": lambda x, y: (cr.sin(x) * cr.exp(x) * x).sum(),
    "shared factors": lambda x, y: (cr.exp(x) * cr.exp(x) + cr.tanh(x) * x * y).sum(),
    "x*y + y*x": lambda x, y: ((x * y + y * x) * cr.sin(y)).sum(),
    "a chain": lambda x, y: (cr.cos(cr.sin(x) * y) * cr.exp(y * x)).mean(),
    "broadcast": lambda x, y: (cr.exp(x) * y[:1] + cr.sin(x).sum() * y).sum(),
}


@pytest.mark.parametrize("name", sorted(LARGE_FUNCTIONS))
def test_large_arrays_written_in_place_give_eagers_gradients_and_spare_the_callers(name):
    """Above 4,096 elements the plan writes products and sums into arrays of its own that
    die (as the engine does): the gradients must be eager's, and no array the caller holds
    (inputs, outputs) may change."""
    fn = LARGE_FUNCTIONS[name]
    f = cr.compile(lambda x, y: (fn(x, y), cr.exp(x) * 2))  # a second output the caller keeps
    f(_rand(0, (5000,), True), _rand(1, (5000,), True))
    for seed, retain in ((2, False), (4, True)):
        x, y = _rand(seed, (5000,), True), _rand(seed + 1, (5000,), True)
        before = x.detach().numpy().copy(), y.detach().numpy().copy()
        loss, kept = f(x, y)
        kept_value = kept.detach().numpy().copy()
        loss.backward(retain_graph=retain)
        ex, ey = x.detach().clone().requires_grad_(), y.detach().clone().requires_grad_()
        cr.autograd.backward(fn(ex, ey))
        np.testing.assert_allclose(x.grad.numpy(), ex.grad.numpy(), rtol=1e-12, atol=1e-15)
        if ey.grad is None:  # (y unused)
            assert y.grad is None
        else:
            np.testing.assert_allclose(y.grad.numpy(), ey.grad.numpy(), rtol=1e-12,
                                       atol=1e-15)
        np.testing.assert_array_equal(x.detach().numpy(), before[0])
        np.testing.assert_array_equal(y.detach().numpy(), before[1])
        np.testing.assert_array_equal(kept.detach().numpy(), kept_value)
        if retain:  # the kept values serve a second pass
            loss.backward()
            np.testing.assert_allclose(x.grad.numpy(), 2 * ex.grad.numpy(), rtol=1e-12)


def test_a_gradient_the_caller_passes_in_is_never_written_into():
    """``x + x``'s rules hand the incoming gradient on as it is: summing the two must not add
    into the caller's array (large, where the plan adds in place into sums of its own)."""
    f = cr.compile(lambda x: x + x)
    f(_rand(0, (5000,), True))
    x = _rand(1, (5000,), True)
    g = _rand(2, (5000,))
    before = g.numpy().copy()
    f(x).backward(g)
    np.testing.assert_array_equal(g.numpy(), before)
    np.testing.assert_allclose(x.grad.numpy(), 2 * before, rtol=1e-15)


def _ab():
    return (cr.tensor([1., 2., 3.], requires_grad=True),
            cr.tensor([4., -5., 6.], requires_grad=True))


def _with_enable_grad(x):
    with cr.enable_grad():
        return x * x


def test_a_plan_serves_no_call_it_does_not_fit():
    """Found by review: each of these replayed a stale or wrong value."""
    a, b = _ab()
    same = cr.compile(lambda x, y: x * y + x)
    same(a, a)  # traced with one tensor twice
    np.testing.assert_array_equal(same(a, b).detach().numpy(), [5., -8., 21.])

    detached = cr.compile(lambda x: x * x.detach())  # an argument's values, detached
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        detached(a)
        np.testing.assert_array_equal(detached(b).detach().numpy(), [16., 25., 36.])

    values = np.ones(3)
    of_array = cr.compile(lambda x, v: x * cr.tensor(v))  # an ndarray argument, changed
    of_array(b, values)
    values[:] = 5
    np.testing.assert_array_equal(of_array(b, values).detach().numpy(), [20., -25., 30.])

    signed = cr.compile(lambda x, s: 1 / (x * s))  # -0.0 is not 0.0
    with np.errstate(divide="ignore"):
        signed(a, 0.0)
        assert np.all(signed(a, -0.0).detach().numpy() == -np.inf)

    leafy = cr.compile(lambda x: x * 2 if x.grad_fn is None else x * 3)
    leafy(a)
    np.testing.assert_array_equal(leafy(a * 1).detach().numpy(), [3., 6., 9.])

    formatted = cr.compile(lambda x: x * float(f"{x.sum():.6f}"))  # a read by format()
    formatted(cr.tensor([1., 2.]))
    np.testing.assert_array_equal(formatted(cr.tensor([3., 4.])).numpy(), [21., 28.])


def test_grad_enabled_inside_a_function_called_under_no_grad_records():
    compiled = cr.compile(_with_enable_grad)
    _, b = _ab()
    with cr.no_grad():
        compiled(b)
        out = compiled(b)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [8., -10., 12.])


def test_a_gradient_changed_in_place_between_two_passes_is_read_again():
    compiled = cr.compile(lambda x, y: x * y)
    x, y = cr.tensor([1., 2.], requires_grad=True), cr.tensor([1., 2.], requires_grad=True)
    compiled(x, y)
    out = compiled(x, y)
    g = cr.ones(2)
    cr.autograd.grad(out, [x], g, retain_graph=True)
    g.mul_(10)
    np.testing.assert_array_equal(cr.autograd.grad(out, [y], g)[0].numpy(), [10., 20.])


def test_a_compiled_module_traces_again_for_train_and_eval_and_for_a_new_parameter():
    cr.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    compiled = cr.compile(module)
    x = cr.randn(4, 3)
    module.eval()
    np.testing.assert_array_equal(compiled(x).detach().numpy(), module(x).detach().numpy())
    module.train()
    with warnings.catch_warnings(record=True):  # dropout draws: runs eagerly, with a warning
        warnings.simplefilter("always")
        first, second = compiled(x), compiled(x)
    assert not np.array_equal(first.detach().numpy(), second.detach().numpy())
    linear = nn.Linear(3, 2)
    compiled_linear = cr.compile(linear)
    compiled_linear(x)
    linear.weight = nn.Parameter(cr.ones(2, 3))
    np.testing.assert_allclose(compiled_linear(x).detach().numpy(),
                               linear(x).detach().numpy(), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# vmap inside a compiled function: the plan is the batched computation vmap's rules performed


def _per_example_loss(w, x):
    return (cr.tanh(w @ x) * x).sum() + (x * x).mean()


VMAPPED = {
    "elementwise+matmul": (lambda w, xs: vmap(lambda x: cr.tanh(w @ x) * x + 1)(xs), (4, 3)),
    "in_axes=1": (lambda w, xs: vmap(lambda x: cr.exp(x) @ w.T, in_axes=1)(xs.T.contiguous()),
                  (5, 3)),
    "reduction": (lambda w, xs: vmap(lambda x: (w @ x).max() + x.sum())(xs), (6, 3)),
    "nested": (lambda w, xs: vmap(vmap(lambda v: cr.sin(v) * 2))(xs) + w.sum(), (4, 3)),
    "out_axes=1": (lambda w, xs: vmap(lambda x: w @ x, out_axes=1)(xs), (7, 3)),
    "per-example grads": (lambda w, xs: vmap(grad(_per_example_loss), in_axes=(None, 0))(w, xs),
                          (4, 3)),
}


@pytest.mark.parametrize("name", sorted(VMAPPED))
def test_a_vmap_inside_replays_its_batched_computation(name):
    fn, shape = VMAPPED[name]
    compiled = cr.compile(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled(_rand(0, (3, 3), True), _rand(1, shape))
    broke = [str(w.message) for w in caught if "breaks the trace" in str(w.message)]
    for seed in (2, 4):
        w, xs = _rand(seed, (3, 3), True), _rand(seed + 1, shape)
        ours = compiled(w, xs)
        ew = w.detach().clone().requires_grad_()
        theirs = fn(ew, xs)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        if theirs.requires_grad:
            (ours * ours).sum().backward()
            (theirs * theirs).sum().backward()
            np.testing.assert_allclose(w.grad.numpy(), ew.grad.numpy(), rtol=1e-10)
    # (a grad inside the vmap too: its backward pass runs on the stacked tensors, recorded)
    assert not broke, broke
    assert compiled.traces == 1
    assert ours.grad_fn is None or ours.grad_fn.name() == "CompiledFunctionBackward"


def test_random_draws_inside_a_vmap_run_eagerly():
    compiled = cr.compile(lambda xs: vmap(lambda x: x + cr.randn(3), randomness="different")(xs))
    xs = _rand(0, (4, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = compiled(xs), compiled(xs)
    assert any("random draw" in str(w.message) for w in caught)
    assert not np.array_equal(first.numpy(), second.numpy())


def test_numpy_scalars_in_a_plan_are_constants_of_their_type():
    """A NumPy scalar argument of an operation (``np.float64(0.25)``, here from vmap's rule
    of a mean) is a constant of the plan, not text that names ``np``."""
    compiled = cr.compile(lambda x: x * np.float64(0.25) + np.int64(2))
    compiled(_rand(0, (3,)))
    np.testing.assert_allclose(compiled(_rand(1, (3,))).numpy(),
                               _rand(1, (3,)).numpy() * 0.25 + 2, rtol=1e-15)
    mean = cr.compile(vmap(lambda x: F.cross_entropy(x, cr.tensor([0, 2, 1, 1]))))
    mean(_rand(2, (5, 4, 3)))
    np.testing.assert_allclose(
        mean(_rand(3, (5, 4, 3))).numpy(),
        vmap(lambda x: F.cross_entropy(x, cr.tensor([0, 2, 1, 1])))(_rand(3, (5, 4, 3))).numpy(),
        rtol=1e-12)
