"""Cases where a replay could silently differ from the eager call: values that share storage,
gradients taken inside the compiled function, updates in place.  Each function is compiled and
called three times with new values; every call must give what the eager function gives on the
same values (or raise as it does): replayed, or run eagerly after a warning."""

from __future__ import annotations

import copy
import functools
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import func


def _rng(seed: int):
    return np.random.default_rng(seed)


def _values(result) -> list:
    if isinstance(result, (tuple, list)):
        return [v for r in result for v in _values(r)]
    if result is None:
        return [None]
    if hasattr(result, "detach"):
        return [np.array(result.detach().numpy())]
    return [np.array(result)]


def _call(fn, args):
    try:
        return _values(fn(*args)), None
    except Exception as err:  # noqa: BLE001 (compared with the eager call's)
        return None, type(err)


def _same_as_eager(fn, make_args, calls: int = 3) -> list:
    """Call ``compile(fn)`` and ``fn`` on ``make_args(i)`` (two fresh copies) for each call;
    assert equal results; return the trace-breaking messages."""
    compiled = cr.compile(fn)
    messages = []
    for i in range(calls):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours, our_error = _call(compiled, make_args(i))
        messages += [str(w.message) for w in caught if "breaks the trace" in str(w.message)]
        theirs, their_error = _call(fn, make_args(i))
        assert our_error is their_error, (i, our_error, their_error)
        if ours is not None:
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"call {i}")
    return messages


def _vector(i: int, n: int = 3, requires_grad: bool = False):
    return cr.tensor(_rng(i).standard_normal(n), requires_grad=requires_grad)


def test_a_gradient_through_a_saved_scalar_result():
    # exp saves its result, a 0-d value: the backward pass reads it through the engine
    for fn in (lambda x: cr.autograd.grad(x.sum().exp(), x)[0],
               lambda x: func.grad(lambda v: v.norm())(x)):
        assert not _same_as_eager(fn, lambda i: (_vector(i, requires_grad=True),))


def test_a_tensor_made_before_the_call_that_shares_an_argument_s_storage():
    first = _vector(0)
    shared = first.detach()  # made outside: an external, not the argument

    def make_args(i):
        return (first if i == 0 else _vector(i),)

    messages = _same_as_eager(lambda x: x + shared, make_args)
    assert messages and "detached" in messages[0]


def test_a_graph_recorded_before_the_call_differentiated_inside():
    p = _vector(9, requires_grad=True)
    outside = [(p * 2.0).sin().sum(), (p ** 3).sum(), (p * 0.5).exp().sum()]
    messages = _same_as_eager(lambda y: cr.autograd.grad(y, p, retain_graph=True)[0],
                              lambda i: (outside[i],))
    assert messages and "recorded before the call" in messages[0]


def test_seeds_given_to_autograd_grad_inside():
    def leaf_root(x, v):
        return cr.autograd.grad(x, x, grad_outputs=v)[0]

    def twice(x, v):
        y = x.sin()
        return cr.autograd.grad([y, y], x, grad_outputs=[v, v * 2.0])[0]

    for fn in (leaf_root, twice):
        assert not _same_as_eager(fn, lambda i: (_vector(i, requires_grad=True),
                                                 _vector(10 + i)))


def test_func_grad_of_numpy_arguments_runs_eagerly():
    constant = np.array([1.0, 2.0, 3.0])

    def fn(x):
        return func.grad(lambda a: (a * x).sin().sum())(constant) * 2.0

    messages = _same_as_eager(fn, lambda i: (_vector(i),))
    assert messages and "NumPy array" in messages[0]


def test_a_leaf_made_inside_with_a_result_that_requires_grad_runs_eagerly():
    def fn(x):
        d = (x * 2).detach().requires_grad_()
        (g,) = cr.autograd.grad((d * d).sum(), d, create_graph=True)
        return g.sum()

    messages = _same_as_eager(fn, lambda i: (_vector(i),))
    assert messages and "leaf that requires grad" in messages[0]


def test_an_update_of_materialized_zero_gradients_runs_eagerly():
    p = _vector(5, requires_grad=True)
    q = _vector(6, requires_grad=True)

    def fn(x):
        _, unused = cr.autograd.grad((p * x).sum(), [p, q], create_graph=True,
                                     materialize_grads=True)
        with cr.no_grad():
            unused += x
        return unused.detach() * 1.0

    messages = _same_as_eager(fn, lambda i: (_vector(i),))
    assert messages and "in-place" in messages[0]


def test_an_update_of_an_argument_that_holds_a_numpy_scalar():
    def fn(s):
        with cr.no_grad():
            s += 1.0
        return s * 2.0

    # (a sum's value is a NumPy scalar, not an array; the argument must change as eagerly,
    # whether traced with one (it runs eagerly) or with an array (replayed on the scalar))
    for first in (_vector(0).sum(), cr.tensor(0.5, dtype=cr.float64)):
        compiled = cr.compile(fn)
        for i in range(3):
            scalar = first if i == 0 else _vector(i).sum()
            before = float(scalar)
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                result = compiled(scalar)
            np.testing.assert_allclose(result.numpy(), 2 * (before + 1.0))
            np.testing.assert_allclose(float(scalar), before + 1.0)


def test_an_operation_that_raises_is_not_left_out():
    def fn(m):
        cr.linalg.cholesky(m)  # (its result unused: it only checks)
        return m * 2.0

    matrices = [np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]), 3 * np.eye(2)]
    _same_as_eager(fn, lambda i: (cr.tensor(matrices[i]),))


def test_versions_after_replayed_updates_count_as_eager_ones():
    ours, theirs = _vector(7, requires_grad=True), _vector(7, requires_grad=True)

    def make(p):
        def step(x):
            with cr.no_grad():
                p.sub_(x)
                p.mul_(0.5)
            return p.detach() * 1.0
        return step

    compiled, eager = cr.compile(make(ours)), make(theirs)
    for i in range(3):
        compiled(_vector(i)), eager(_vector(i))
        assert ours._version == theirs._version
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("through", ["detach", "data"])
def test_a_detached_argument_follows_the_argument(through):
    def fn(x):
        d = x.detach() if through == "detach" else x.data
        return d * x

    assert not _same_as_eager(fn, lambda i: (_vector(i, requires_grad=True),))


def test_an_update_does_not_match_a_tensor_made_before_the_call_by_storage():
    first = cr.tensor([0.0, 0.0, 0.0], dtype=cr.float64)
    made_before = first.detach()  # shares the first argument's storage

    def fn(x):
        with cr.no_grad():
            x.add_(1.0)
        return made_before * 2.0

    def make_args(i):
        return (first if i == 0 else cr.tensor([10.0 * i] * 3, dtype=cr.float64),)

    compiled = cr.compile(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [compiled(*make_args(i)).numpy() for i in range(3)]
    assert any("detached" in str(w.message) for w in caught)
    for result in results:  # (only the first call changed the storage it shares)
        np.testing.assert_allclose(result, [2.0, 2.0, 2.0])


def test_a_replay_that_fails_after_an_update_says_so_and_bumps_the_version():
    table = cr.tensor(np.arange(12.0).reshape(6, 2))

    def fn(x, idx):
        with cr.no_grad():
            x.sub_(1.0)
        return cr.nn.functional.embedding(idx, table)

    compiled = cr.compile(fn)
    compiled(cr.tensor(np.zeros(3)), cr.tensor([0, 1]))
    x, a = cr.tensor(np.ones(3)), cr.tensor(np.ones(3), requires_grad=True)
    saved_x = (a * x).sum()  # saves x's values
    with pytest.raises(RuntimeError, match="after its replay had written an update"):
        compiled(x, cr.tensor([0, 7]))  # (index 7 is out of range)
    np.testing.assert_allclose(x.numpy(), [0.0, 0.0, 0.0])  # the update was written
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved_x.backward()


def test_an_argument_returned_is_the_argument():
    def fn(x):
        with cr.no_grad():
            x.mul_(0.5)
        return x, x.detach()

    compiled = cr.compile(fn)
    compiled(cr.tensor(np.ones(3)))
    x = cr.tensor(np.full(3, 2.0))
    same, detached = compiled(x)
    assert same is x
    a = cr.tensor(np.ones(3), requires_grad=True)
    loss = (a * x).sum()  # saves x
    with cr.no_grad():
        detached.add_(100.0)  # x's storage, and (as eagerly) its version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_parameter_whose_value_became_a_numpy_scalar_is_still_updated():
    p = cr.tensor(np.array(1.0), requires_grad=True)

    def fn(x):
        with cr.no_grad():
            p.sub_(x.sum() * 0.1)
        return x * 1.0

    compiled = cr.compile(fn)
    compiled(cr.tensor(np.ones(2)))
    p.data = cr.tensor(np.array([1.0, 2.0])).sum()  # (a NumPy float64, not an array)
    compiled(cr.tensor(np.ones(2)))
    np.testing.assert_allclose(float(p.detach()), 3.0 - 0.2)
    assert compiled.traces == 1  # (replayed into the scalar made an array)


def test_a_result_the_backward_pass_reads_changed_in_place_refuses_backward():
    compiled = cr.compile(lambda x: x.exp())
    compiled(cr.tensor(np.zeros(3), requires_grad=True))
    x = cr.tensor(np.zeros(3), requires_grad=True)
    y = compiled(x)  # exp's gradient reads y itself
    with cr.no_grad():
        y.add_(100.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def _traced(fn, *args):
    compiled = cr.compile(fn)
    compiled(*args)
    return compiled


def test_a_detached_argument_returned_is_a_tensor_of_its_own():
    for detach in (lambda x: x.detach(), lambda x: x.data):
        compiled = _traced(detach, cr.tensor([1.0, 2.0]))
        x = cr.tensor([3.0, 4.0])
        d = compiled(x)
        assert d is not x
        d.requires_grad_()
        assert not x.requires_grad


def test_a_copy_that_looks_like_a_view_has_its_own_version():
    # x.t().reshape(4) copies (the transposed array is not contiguous): changing x afterwards
    # leaves the result, which a product saved, alone
    compiled = _traced(lambda x: x.t().reshape(4), cr.tensor(np.ones((2, 2))))
    x = cr.tensor(np.arange(4.0).reshape(2, 2))
    w = cr.tensor(np.ones(4), requires_grad=True)
    loss = (compiled(x) * w).sum()
    with cr.no_grad():
        x.add_(1.0)
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [0.0, 2.0, 1.0, 3.0])


def test_a_result_saved_only_for_another_result_may_change_in_place():
    def fn(x):
        y = x * 2
        return y, (y * y).sum()

    compiled = _traced(fn, cr.tensor(np.ones(3), requires_grad=True))
    x = cr.tensor(np.ones(3), requires_grad=True)
    y, _ = compiled(x)
    with cr.no_grad():
        y.mul_(3.0)
    y.sum().backward()  # (y's own backward pass does not read y)
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_a_tensor_made_inside_and_returned_is_new_at_each_call():
    compiled = cr.compile(lambda x: (x * 2, cr.zeros(3)))
    for _ in range(3):  # (the first call, the trace, returns one the caller changes too)
        _, made = compiled(cr.tensor(np.ones(3)))
        made.add_(1.0)
        np.testing.assert_allclose(made.numpy(), [1.0, 1.0, 1.0])


def test_an_argument_saved_for_the_gradient_changed_afterwards_refuses_backward():
    w = cr.tensor(np.ones(3), requires_grad=True)
    compiled = _traced(lambda x: (x * w).sum(), cr.tensor(np.ones(3)))
    x = cr.tensor(np.full(3, 2.0))
    loss = compiled(x)
    with cr.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_an_error_numpy_is_told_to_raise_raises_in_a_replay_with_a_branch():
    def fn(x, y):
        scale = 2.0 if x.sum() > 0 else 3.0  # (a guard)
        return x / y * scale

    compiled = _traced(fn, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        compiled(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 1.0]))


# results sharing storage with an argument, with another result, or with a value the plan's
# backward pass reads, then changed in place by the caller: each scenario is run on the eager
# function and on a replay (the compiled function traced first), and must give the same
# outcome (the same values, or the same kind of error)

def _leaf_view_changed(fn):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    fn(x).mul_(2.0)  # eagerly: refused (a view of a leaf that requires grad)
    return x.detach().numpy().copy()


def _argument_view_changed(fn):
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = a * 1.0
    fn(x).mul_(2.0)  # recorded on x, as eagerly (CopySlices): x's gradient sees it
    (x * x).sum().backward()
    return a.grad.numpy().copy()


def _one_changed_other_differentiated(changed: int):
    """The scenario: result ``changed`` of two changed in place, the other differentiated."""
    def scenario(fn):
        x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        results = fn(x)
        results[changed].mul_(2.0)
        results[1 - changed].sum().backward()
        return x.grad.numpy().copy()
    return scenario


_first_changed_second_differentiated = _one_changed_other_differentiated(0)
_second_changed_first_differentiated = _one_changed_other_differentiated(1)


def _view_changed_then_differentiated(fn):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = fn(x)
    v.mul_(2.0)
    v.sum().backward()
    return x.grad.numpy().copy()


def _exp_and(second):
    def fn(x):
        e = x.exp()
        return e, second(e)
    return fn


SHARED_STORAGE = {
    "a view of a leaf argument": (lambda x: x[1:], _leaf_view_changed),
    "a view of a non-leaf argument": (lambda x: x[1:], _argument_view_changed),
    "a view of a non-leaf argument, reshaped": (lambda x: x.reshape(3, 1)[1:],
                                                _argument_view_changed),
    "a result returned twice": (_exp_and(lambda e: e), _first_changed_second_differentiated),
    "a view of a result the backward pass reads": (_exp_and(lambda e: e[1:]),
                                                   _second_changed_first_differentiated),
    "a detach() of a result the backward pass reads": (_exp_and(lambda e: e.detach()),
                                                       _second_changed_first_differentiated),
    "a view of a value the backward pass reads, not returned": (
        lambda x: x.exp()[1:], _view_changed_then_differentiated),
    "a view of a value the backward pass does not read": (
        lambda x: (x * 2.0)[1:], _view_changed_then_differentiated),
    "a result another result's backward pass reads": (
        lambda x: ((y := x * 2.0), y * y), _first_changed_second_differentiated),
}


@pytest.mark.parametrize("name", list(SHARED_STORAGE))
def test_results_sharing_storage_changed_in_place_as_eagerly(name):
    fn, scenario = SHARED_STORAGE[name]
    outcomes = []
    for function in (fn, _traced(fn, cr.tensor([0.5, 1.5, 2.5], requires_grad=True))):
        try:
            outcomes.append(scenario(function))
        except RuntimeError as err:
            outcomes.append(type(err))
    eager, replayed = outcomes
    if isinstance(eager, type):
        assert replayed is eager
    else:
        np.testing.assert_allclose(replayed, eager, rtol=1e-12)


def test_results_sharing_storage_are_made_as_eagerly():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e, same = _traced(_exp_and(lambda e: e), x)(x)
    assert same is e  # one tensor returned twice is one tensor
    view = _traced(lambda x: x[1:], x)(x)
    assert view._base is x and view.grad_fn.name() == x[1:].grad_fn.name()
    e, view = _traced(_exp_and(lambda e: e[1:]), x)(x)
    assert view._base is e


# modules and gradients reached from outside the arguments: a replay checks the state of every
# module the trace called (plain attributes, parameters, buffers, submodules, forward hooks)
# and traces again when it changed; what a replay could not repeat breaks the trace

def _model(seed: int = 0):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.LeakyReLU(0.1), cr.nn.BatchNorm1d(4),
                            cr.nn.Tanh(), cr.nn.Linear(4, 2)).double()


CHANGES = {
    "train() after eval()": lambda m: m.train(),
    "a plain attribute (negative_slope)": lambda m: setattr(m[1], "negative_slope", 0.5),
    "a parameter replaced": lambda m: setattr(m[0], "weight",
                                              cr.nn.Parameter(m[0].weight.detach() * 2)),
    "a submodule without parameters swapped": lambda m: m.__setitem__(3, cr.nn.Sigmoid()),
    "a forward hook added": lambda m: m[3].register_forward_hook(lambda mod, i, o: o + 100),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("how", ["compile(model)", "a function closing over the model",
                                 "the model as an argument"])
def test_a_module_changed_between_calls_is_traced_again(change, how):
    x = cr.tensor(_rng(0).standard_normal((5, 3)))
    results = []
    for compiled in (False, True):
        model = _model().eval()
        if how == "compile(model)":
            fn = cr.compile(model) if compiled else model
            call = fn
        elif how == "a function closing over the model":
            fn = cr.compile(lambda x: model(x)) if compiled else (lambda x: model(x))
            call = fn
        else:
            fn = cr.compile(lambda m, x: m(x)) if compiled else (lambda m, x: m(x))
            call = functools.partial(fn, model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (train() mode's batch norm breaks the trace)
            before = [call(x).detach().numpy().copy() for _ in range(2)]
            CHANGES[change](model)
            after = [call(x).detach().numpy().copy() for _ in range(2)]
        results.append(before + after)
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert not np.allclose(results[0][0], results[0][-1])  # (the change changes the result)


def test_a_forward_hook_removed_after_the_trace_is_not_applied():
    model = _model().eval()
    handle = model[3].register_forward_hook(lambda mod, i, o: o * 10)
    compiled = cr.compile(model)
    x = cr.tensor(_rng(1).standard_normal((5, 3)))
    compiled(x), compiled(x)
    handle.remove()
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy())


def test_a_module_changed_before_a_create_graph_backward_pass_raises():
    model = _model().eval()
    compiled = cr.compile(model)
    x = cr.tensor(_rng(2).standard_normal((5, 3)), requires_grad=True)
    compiled(x)
    out = (compiled(x) ** 2).sum()  # a replay
    model.train()
    with pytest.raises(RuntimeError, match="modules this call used changed"):
        cr.autograd.grad(out, x, create_graph=True)


def _sgd_reading_grad(params, lr):
    with cr.no_grad():
        for p in params:
            p -= lr * p.grad


def _loss_zeroing_grads(w, x):
    w.grad = None
    return (w * x).sum()


def test_grad_read_or_set_inside_breaks_the_trace():
    results = []
    for compiled in (False, True):
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        step = cr.compile(_sgd_reading_grad) if compiled else _sgd_reading_grad
        loss = cr.compile(_loss_zeroing_grads) if compiled else _loss_zeroing_grads
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(3):
                loss(w, cr.tensor([1.0, 1.0])).backward()
                (w * w * (i + 1)).sum().backward()
                step([w], 0.1)
                w.grad = None
        messages = [str(c.message) for c in caught if "breaks the trace" in str(c.message)]
        results.append(w.detach().numpy().copy())
    assert any(".grad read" in m for m in messages) and any(".grad set" in m for m in messages)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


@pytest.mark.parametrize("register", ["register_hook", "retain_grad"])
def test_a_gradient_hook_registered_inside_breaks_the_trace(register):
    def fn(w, x):
        h = cr.tanh(x @ w)
        if register == "register_hook":
            h.register_hook(lambda g: g * 2)
        else:
            h.retain_grad()
        return h, h.sum()

    compiled = cr.compile(fn)
    for i in range(3):
        grads = []
        for f in (fn, compiled):
            w = cr.tensor(_rng(i).standard_normal(3), requires_grad=True)
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                h, loss = f(w, cr.tensor(_rng(9).standard_normal((2, 3))))
            loss.backward()
            grads.append((w.grad.numpy(), None if register == "register_hook" else h.grad.numpy()))
        np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
        if grads[0][1] is not None:
            np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


# layouts, NumPy array arguments, float16 sums, what a backward pass reads, dict keys

def _layout_scenario(fn, x):
    w = cr.tensor(np.ones(6), requires_grad=True)
    out = fn(x, w)
    with cr.no_grad():
        x.add_(100.0)
    try:
        out.sum().backward()
    except RuntimeError:
        return RuntimeError
    return w.grad.numpy().copy()


@pytest.mark.parametrize("traced_order, called_order", [("F", "C"), ("C", "F")])
def test_a_reshape_whose_view_depends_on_the_layout_replays_as_eagerly(traced_order,
                                                                        called_order):
    def fn(x, w):
        return x.reshape(-1) * w  # a view of x (saved for w's gradient) only if x is C-order

    def argument(order):
        return cr.tensor(np.array(np.arange(6.0).reshape(2, 3), order=order))

    compiled = _traced(fn, argument(traced_order), cr.tensor(np.ones(6), requires_grad=True))
    ours = _layout_scenario(compiled, argument(called_order))
    theirs = _layout_scenario(fn, argument(called_order))
    if theirs is RuntimeError:
        assert ours is RuntimeError
    else:
        np.testing.assert_array_equal(ours, theirs)


def test_a_fused_value_keeps_eager_s_layout():
    def fn(x):
        y = x * 2.0 + 1.0
        return y, y.reshape(-1)  # y is Fortran-order for a transposed x: the reshape copies

    base = cr.tensor(_rng(3).standard_normal((500, 600)))
    compiled = _traced(fn, base.T)
    for f in (fn, compiled):
        y, flat = f(base.T)
        before = flat.numpy().copy()
        y.add_(1.0)
        np.testing.assert_array_equal(flat.numpy(), before)


def test_a_numpy_array_argument_changed_after_the_trace():
    fn = lambda x, a: x * a + 1.0  # noqa: E731
    compiled = cr.compile(fn)
    array = np.array([1.0, 2.0, 3.0])
    compiled(cr.tensor(np.ones(3)), array)
    array[:] = [5.0, 6.0, 7.0]  # the caller reuses its buffer
    for f in (fn, compiled):
        np.testing.assert_array_equal(
            f(cr.tensor(np.ones(3)), np.array([1.0, 2.0, 3.0])).numpy(), [2.0, 3.0, 4.0])


def test_a_fused_float16_sum_rounds_once():
    a = np.full(262144, 0.25, np.float16)
    a[131072:] = -0.25
    a[:3] = 1.0
    fn = lambda x: (x * 1.0 + 0.0).sum()  # noqa: E731
    compiled = _traced(fn, cr.tensor(a))
    # (NumPy 2 adds float16 in float32, 2.25; NumPy 1.26 gives 0.0: the replay gives NumPy's)
    assert float(compiled(cr.tensor(a))) == float(fn(cr.tensor(a)))
    assert "sum over" not in compiled.last_plan.forward_source


@pytest.mark.parametrize("fn", [lambda x: x * 2.0, lambda x: x.clone(), lambda x: x.exp(),
                                lambda x: x.exp()[1:]], ids=["scaled", "clone", "exp", "view"])
def test_an_argument_the_backward_pass_does_not_read_may_change_in_place(fn):
    compiled = _traced(fn, cr.tensor([1.0, 2.0, 3.0], requires_grad=True))
    grads = []
    for f in (fn, compiled):
        x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = f(x)
        with cr.no_grad():
            x.add_(1.0)
        out.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_dict_keys_equal_but_of_other_types_trace_again():
    fn = lambda d: [v * k for k, v in d.items()]  # noqa: E731
    compiled = cr.compile(fn)
    for key in (1, 1.0, True):
        ours = compiled({key: cr.tensor(np.arange(4))})[0]
        theirs = fn({key: cr.tensor(np.arange(4))})[0]
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_sum_a_branch_reads_is_numpy_s_own_not_a_fused_region_s():
    # a fused region sums in blocks, which may round the last bit otherwise than NumPy: a
    # branch on the sum could then go the other way than eagerly
    def branching(x, c):
        return x * 2.0 if (x * 1.5 + 1.0).sum() > c else x * 3.0

    def returning(x, c):
        return (x * 1.5 + 1.0).sum() + c

    x, c = cr.tensor(_rng(4).standard_normal(300007)), cr.tensor(0.0)
    sources = {fn.__name__: _traced(fn, x, c).last_plan.forward_source
               for fn in (branching, returning)}
    assert "mul, add, sum over" in sources["returning"]  # (the control: a fused sum)
    assert "sum over" not in sources["branching"]


COPIES = {"tensor": cr.tensor, "deepcopy": copy.deepcopy,
          "pickle": lambda x: pickle.loads(pickle.dumps(x)),
          "repr": lambda x: cr.tensor(float(len(repr(x))))}


@pytest.mark.parametrize("how", list(COPIES))
def test_values_copied_or_printed_inside_break_the_trace(how):
    def fn(x, w):
        return COPIES[how](x) * w

    messages = _same_as_eager(fn, lambda i: (cr.tensor(_rng(i).standard_normal(3) * 10 ** i),
                                             cr.tensor(np.ones(3))))
    assert messages


@pytest.mark.parametrize("transform", ["jacfwd", "hessian"])
def test_forward_mode_transforms_compiled_run_eagerly(transform):
    fn = getattr(func, transform)(lambda x: (x.sin() ** 2).sum() if transform == "hessian"
                                  else x.sin())
    messages = _same_as_eager(fn, lambda i: (cr.tensor(_rng(i).standard_normal(3)),))
    assert messages and "forward-mode tangents" in messages[0]


def test_a_create_graph_backward_pass_after_an_argument_changed_raises_as_eagerly():
    fn = lambda x: (x ** 3).sum()  # noqa: E731
    compiled = _traced(fn, cr.tensor([1.0, 2.0], requires_grad=True))
    for f in (fn, compiled):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = f(x)
        with cr.no_grad():
            x += 1.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            cr.autograd.grad(y, x, create_graph=True)


def test_a_replay_with_a_branch_warns_as_eagerly():
    def fn(x, y):
        z = x / y
        return z if z.sum() > 0 else -z

    compiled = _traced(fn, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
    for f in (fn, compiled):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 1.0]))
        assert [str(w.message).split(" encountered")[0] for w in caught] == ["divide by zero"]
    assert compiled.traces == 1
    # (down the other branch: NumPy's error is not the replay's, which traces again)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled(cr.tensor([-1.0, -2.0]), cr.tensor([1.0, 1.0]))
    assert not caught and compiled.traces == 2


def test_functional_call_replays_with_the_module_s_own_state_unchanged():
    model = _model().eval()
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss(p, x):
        return func.functional_call(model, p, (x,)).sum()

    compiled = cr.compile(func.grad(loss))
    for i in range(4):
        x = cr.tensor(_rng(i).standard_normal((5, 3)))
        ours, theirs = compiled(params, x), func.grad(loss)(params, x)
        for name in theirs:
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-12)
    assert compiled.traces == 1  # (the swap inside is no change of the module's own state)


def test_a_module_attribute_set_inside_breaks_the_trace():
    class Counting(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def forward(self, x):
            self.steps += 1
            return x * 2.0

    module = Counting()
    compiled = cr.compile(module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled(cr.tensor([1.0]))
    assert module.steps == 3
    assert any("Counting.steps set" in str(w.message) for w in caught)


def test_a_create_graph_backward_pass_refuses_arguments_changed_that_it_would_reread():
    # the first-order backward pass of exp reads only its result, but a create_graph=True one
    # runs the function again on the argument's current values: refused, not silently wrong
    fn = lambda x: x.exp() * 1.0  # noqa: E731
    compiled = _traced(fn, cr.tensor([0.0, 1.0], requires_grad=True))
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = compiled(x)
    with cr.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="runs the function again"):
        cr.autograd.grad(y.sum(), x, create_graph=True)


class _Reaching(cr.nn.Module):
    """A forward that reads a submodule's weight and flag without calling it."""

    def __init__(self):
        super().__init__()
        self.lin = cr.nn.Linear(2, 2).double()
        self.sub = cr.nn.Identity()

    def forward(self, x):
        y = cr.nn.functional.linear(x, self.lin.weight, self.lin.bias)
        return y * (3.0 if self.sub.training else 2.0)


@pytest.mark.parametrize("change", ["weight replaced", "submodule's flag"])
def test_compile_model_sees_submodules_it_does_not_call(change):
    model = _Reaching()
    compiled = cr.compile(model)
    x = cr.tensor(np.ones((1, 2)))
    compiled(x), compiled(x)
    if change == "weight replaced":
        model.lin.weight = cr.nn.Parameter(cr.zeros(2, 2, dtype=cr.float64))
    else:
        model.sub.eval()
    np.testing.assert_array_equal(compiled(x).detach().numpy(), model(x).detach().numpy())


@pytest.mark.parametrize("before, after", [(2, 2.0), (0.0, -0.0), ((1,), (2,)),
                                           (np.float64(1.0), np.float64(2.0))])
def test_a_plain_attribute_changed_to_another_type_or_sign_traces_again(before, after):
    class Scaled(cr.nn.Module):
        def forward(self, x):
            return x * (self.scale[0] if isinstance(self.scale, tuple) else self.scale)

    module = Scaled()
    module.scale = before
    compiled = cr.compile(module)
    x = cr.tensor([1.0, -1.0])
    compiled(x), compiled(x)
    module.scale = after
    ours, theirs = compiled(x), module(x)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.signbit(ours.numpy()), np.signbit(theirs.numpy()))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_nan_attribute_and_an_unchanged_train_call_inside_replay():
    class Steady(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = cr.nn.Linear(2, 1).double()
            self.missing = float("nan")

        def forward(self, x):
            return self.lin(x)

    model = Steady()

    def step(x):
        model.train()  # (already in training mode: no change, no side effect)
        return model(x)

    compiled = cr.compile(step)
    for i in range(4):
        x = cr.tensor(_rng(i).standard_normal((3, 2)))
        np.testing.assert_array_equal(compiled(x).detach().numpy(), model(x).detach().numpy())
    assert compiled.traces == 1


def test_a_guarded_replay_warns_once_per_place_under_the_default_filter():
    def fn(x, y):
        z = x / y
        return z if z.sum() > 0 else -z

    compiled = _traced(fn, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(4):
            compiled(cr.tensor([1.0, 2.0]), cr.tensor([0.0, 1.0]))
    assert len(caught) == 1 and compiled.traces == 1


def test_a_guarded_replay_with_threaded_regions_holds_its_warnings():
    def fn(x):
        y = cr.log(x) * 2.0 + 1.0  # (fused in blocks, on the threads)
        return y if x[0] > 0 else -y

    before = cr.get_num_threads()
    cr.set_num_threads(2)
    try:
        x = cr.tensor(np.abs(_rng(5).standard_normal(400_000)) + 0.5)
        compiled = _traced(fn, x)
        x[-1] = -1.0  # (in the last block: a pool thread's)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                np.testing.assert_array_equal(compiled(x).numpy(), fn(x).numpy())
    finally:
        cr.set_num_threads(before)
    assert compiled.traces == 1
    assert any("invalid value" in str(w.message) for w in caught)


def test_the_caller_s_error_callback_is_called_once_per_call():
    def fn(x):
        y = cr.log(x)
        return y * 2.0 if y.sum() > -100 else y * 3.0

    calls = {False: [], True: []}
    for compiled in (False, True):
        f = _traced(fn, cr.tensor([1.0, 2.0])) if compiled else fn
        with np.errstate(all="call", call=lambda kind, flag: calls[compiled].append(kind)):
            for value in (-1.0, -2.0, 1.0):
                f(cr.tensor([value, 2.0]))
    assert calls[True] == calls[False] == ["invalid value", "invalid value"]


@pytest.mark.parametrize("change", ["a parameter's table written", "a submodule appended",
                                    "a function attribute replaced"])
def test_module_changes_around_setattr_or_uncalled_are_seen(change):
    class Model(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = cr.nn.Linear(2, 2).double()
            self.blocks = cr.nn.ModuleList([cr.nn.Tanh()])
            self.act = cr.sigmoid

        def forward(self, x):
            x = self.act(self.lin(x))
            for block in self.blocks:
                x = block(x)
            return x

    model = Model()
    compiled = cr.compile(lambda x: model(x))  # (closed over: only what it calls is called)
    x = cr.tensor(_rng(6).standard_normal((3, 2)))
    compiled(x), compiled(x)
    if change == "a parameter's table written":
        model.lin._parameters["bias"] = cr.nn.Parameter(cr.tensor([100.0, 100.0],
                                                                  dtype=cr.float64))
    elif change == "a submodule appended":
        model.blocks.append(cr.nn.Tanh())
    else:
        model.act = cr.tanh
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-12)


def test_a_create_graph_backward_pass_refuses_data_replaced_since_the_call():
    w = cr.tensor([0.5], requires_grad=True)
    fn = lambda x: (x * w).sin().sum()  # noqa: E731
    compiled = _traced(fn, cr.tensor([1.0]))
    y = compiled(cr.tensor([1.0]))
    w.data = cr.tensor([3.0])
    with pytest.raises(RuntimeError, match="runs the function again"):
        cr.autograd.grad(y, [w], create_graph=True)


def test_a_call_mode_without_a_callback_raises_numpy_s_error():
    def fn(x):
        y = cr.log(x)
        return y * 2.0 if x[1] > 0 else y * 3.0

    compiled = _traced(fn, cr.tensor([1.0, 2.0]))
    previous = np.seterrcall(None)
    try:
        for f in (fn, compiled):
            with np.errstate(all="call"), pytest.raises(NameError):
                f(cr.tensor([-1.0, 2.0]))
    finally:
        np.seterrcall(previous)


def test_a_module_that_defines_eq_compiles():
    class Comparable(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.k = 2.0

        def __eq__(self, other):
            return isinstance(other, Comparable) and other.k == self.k

        def forward(self, x):
            return x * self.k

    module = Comparable()
    compiled = cr.compile(lambda x: module(x))
    for _ in range(3):
        np.testing.assert_array_equal(compiled(cr.tensor([1.0])).numpy(), [2.0])


def test_an_object_attribute_replaced_is_not_kept_nor_traced_again():
    import gc
    import weakref

    class Holder:
        pass

    class Model(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = cr.nn.Linear(2, 2).double()
            self.aux = Holder()  # (never read by forward)

        def forward(self, x):
            return self.lin(x)

    model = Model()
    compiled = cr.compile(lambda x: model(x))
    x = cr.tensor(np.ones((1, 2)))
    old = []
    for _ in range(3):
        compiled(x), compiled(x)
        old.append(weakref.ref(model.aux))
        model.aux = Holder()
    gc.collect()
    assert all(ref() is None for ref in old) and compiled.traces == 1


def test_create_graph_through_a_replay_of_a_0d_argument_made_an_array():
    w = cr.tensor([0.5, 0.2], requires_grad=True)
    fn = lambda s: (s * 3.0).sin()  # noqa: E731
    compiled = cr.compile(fn)
    for _ in range(3):
        grads = []
        for f in (fn, compiled):
            s = (w * 2.0).sum()
            y = f(s)
            s.detach()  # (makes its NumPy scalar a 0-d array: the same value)
            grads.append(cr.autograd.grad(y, [w], create_graph=True)[0].detach().numpy())
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def test_create_graph_with_an_argument_made_from_a_read_parameter_refuses():
    w = cr.tensor([0.5, 0.2], requires_grad=True)
    fn = lambda s: (s * w).sin().sum()  # noqa: E731
    compiled = cr.compile(fn)
    compiled((w * 2.0).sum())
    y = compiled((w * 2.0).sum())  # (a replay: its argument's history reaches w)
    with pytest.raises(RuntimeError, match="count that path twice"):
        cr.autograd.grad(y, [w], create_graph=True)
    eager = cr.autograd.grad(fn((w * 2.0).sum()), [w])[0]
    np.testing.assert_allclose(cr.autograd.grad(compiled((w * 2.0).sum()), [w])[0].numpy(),
                               eager.numpy(), rtol=1e-12)  # (first order: exact)


@pytest.mark.parametrize("mode", [False, True])
def test_grad_mode_set_as_a_function_inside_breaks_the_trace(mode):
    def fn(x):
        cr.set_grad_enabled(mode)
        return x * 2.0

    compiled = cr.compile(fn)
    try:
        for _ in range(3):
            after = []
            for f in (fn, compiled):
                cr.set_grad_enabled(not mode)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f(cr.tensor([1.0], requires_grad=True))
                after.append(cr.is_grad_enabled())
            assert after[1] == after[0] == mode
    finally:
        cr.set_grad_enabled(True)


def test_new_results_without_gradient_come_back_in_their_structure_each_its_own():
    # (the replay's short way for results that are all new arrays: constants kept in place,
    # and each result a tensor of its own, its version counter its own)
    def fn(x):
        return {"twice": x * 2.0, "n": 3, "pair": (x + 1.0, x.sum())}

    compiled = cr.compile(fn)
    for i in range(3):
        ours, theirs = compiled(_vector(i)), fn(_vector(i))
        assert ours.keys() == theirs.keys() and ours["n"] == 3
        np.testing.assert_array_equal(ours["twice"].numpy(), theirs["twice"].numpy())
        np.testing.assert_array_equal(ours["pair"][0].numpy(), theirs["pair"][0].numpy())
        np.testing.assert_array_equal(ours["pair"][1].numpy(), theirs["pair"][1].numpy())
        before = ours["pair"][0]._version
        ours["twice"].add_(1.0)
        assert ours["twice"]._version == 1 and ours["pair"][0]._version == before
    assert compiled.last_plan.plain_results


def test_batch_norm_s_running_statistics_passed_as_arguments_are_updated_as_eagerly():
    # (the batch's moments come out beside the primitive's result: the trace could only
    # have kept the first call's)
    def fn(x, mean, var):
        y = cr.nn.functional.batch_norm(x, mean, var, training=True)
        return y, mean * 1.0, var * 1.0

    def args(i):
        x = _rng(i).standard_normal((4, 3)) * (1 + i) + i
        return (cr.tensor(x), cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64))

    messages = _same_as_eager(fn, args)
    assert messages and all("running statistics" in m for m in messages)


@pytest.mark.parametrize("norm", ["layer_norm", "group_norm", "batch_norm", "instance_norm"])
def test_a_normalisation_s_backward_pass_after_a_later_call_reads_its_own_call(norm):
    # (the standardisation's rule reads the moments of its forward: a plan's replays share
    # its parameters, so they must not be kept there)
    functional = cr.nn.functional
    fn = {"layer_norm": lambda x: functional.layer_norm(x, (2,)),
          "group_norm": lambda x: functional.group_norm(x, 2),
          "batch_norm": lambda x: functional.batch_norm(x, None, None, training=True),
          "instance_norm": lambda x: functional.instance_norm(x)}[norm]
    compiled = cr.compile(fn)
    inputs = [_rng(i).standard_normal((3, 4, 2)) * (1 + 3 * i) for i in range(3)]
    compiled(cr.tensor(inputs[0], requires_grad=True))
    weights = cr.tensor(np.arange(24.0).reshape(3, 4, 2))
    grads = []
    for f in (compiled, fn):
        first, second = (cr.tensor(a, requires_grad=True) for a in inputs[1:])
        y = f(first)
        f(second)  # (a later call before the first one's backward pass)
        (y * weights).sum().backward()
        grads.append(first.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("traced_with", ["no target ignored", "a target ignored"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_class_targets_changed_after_the_call_refuse_the_backward_pass_as_eagerly(
        reduction, traced_with):
    # (the traced target check hands back the targets' own values when none is ignored, a
    # new array otherwise: either way the plan keeps a copy and checks the targets' version,
    # whatever the trace saw)
    def loss(z, target):
        return cr.nn.functional.cross_entropy(z, target, reduction=reduction).sum()

    def call(f, change):
        z = cr.tensor(_rng(0).standard_normal((3, 4)), requires_grad=True)
        target = cr.tensor([0, 1, 2])
        out = f(z, target)
        if change:
            with cr.no_grad():
                target[0] = 3
        out.backward()
        return z.grad.numpy()

    compiled = cr.compile(loss)
    first = cr.tensor([-100, 1, 2] if traced_with == "a target ignored" else [0, 1, 2])
    # (the trace, on logits that require grad as the calls' do: they replay its plan)
    compiled(cr.tensor(_rng(1).standard_normal((3, 4)), requires_grad=True), first)
    np.testing.assert_array_equal(call(compiled, change=False), call(loss, change=False))
    for f in (loss, compiled, compiled):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            call(f, change=True)
    assert compiled.traces == 1


def test_a_changed_default_dtype_traces_again():
    # (the tensors the function makes from Python numbers take the default dtype)
    def fn(x):
        return x * cr.tensor(1.1) + cr.ones(3) * 0.3

    compiled = cr.compile(fn)
    x = cr.tensor(np.arange(3, dtype=np.float32))
    assert compiled(x).dtype == cr.float32
    before = cr.get_default_dtype()
    try:
        cr.set_default_dtype(cr.float64)
        ours, theirs = compiled(x), fn(x)
    finally:
        cr.set_default_dtype(before)
    assert ours.dtype == theirs.dtype == cr.float64 and compiled.traces == 2
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_create_graph_backward_pass_runs_again_on_the_arguments_as_they_were_at_the_call():
    # (a dict of parameters whose entry the caller rebinds after the call, JAX-style)
    def fn(params, x):
        return (cr.tanh(x * params["w"]) ** 2).sum()

    compiled = cr.compile(fn)
    compiled({"w": _vector(0, requires_grad=True)}, _vector(1))
    grads = []
    for f in (compiled, fn):
        w = _vector(2, requires_grad=True)
        params = {"w": w}
        y = f(params, _vector(3))
        params["w"] = params["w"] * 0.5
        (g,) = cr.autograd.grad(y, w, create_graph=True)
        grads.append(g.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_an_error_the_function_catches_at_the_trace_breaks_it():
    # (the plan holds no operation that raises: a replay on good values would take the way
    # the function took after catching the error)
    def fn(m):
        try:
            return cr.linalg.cholesky(m).sum()
        except ValueError:
            return (m * 0.0).sum()

    not_positive = cr.tensor(-np.eye(3))
    messages = _same_as_eager(
        fn, lambda i: (not_positive if i == 0 else cr.tensor(np.eye(3) * (1.0 + i)),))
    assert messages and "an error raised by chainrule.linalg.cholesky" in messages[0]


def test_callables_without_a_name_or_with_attributes_of_their_own_compile():
    import functools

    class Scaled:  # (its own `fn` must not replace the compiled function's)
        def __init__(self, fn, scale):
            self.fn, self.scale = fn, scale

        def __call__(self, x):
            return self.fn(x) * self.scale

    def breaking(x, scale):
        x.numpy()  # (a trace break: its warning names the callable)
        return x.sum() * scale

    assert not _same_as_eager(Scaled(cr.sin, 3.0), lambda i: (_vector(i),))
    assert not _same_as_eager(functools.partial(lambda x, s: x * s, s=2.0),
                              lambda i: (_vector(i),))
    messages = _same_as_eager(functools.partial(breaking, scale=2.0), lambda i: (_vector(i),))
    assert messages and "breaking runs eagerly" in messages[0]  # (the partial's function)
    twice = cr.compile(cr.compile(lambda x: x.sin() * 2.0))
    assert twice.__name__ == "<lambda>"
    np.testing.assert_array_equal(twice(_vector(0)).numpy(), _vector(0).sin().numpy() * 2.0)


def test_a_compiled_bound_forward_is_guarded_by_its_module():
    class Model(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = cr.nn.Parameter(cr.ones(3, dtype=cr.float64))

        def forward(self, x):
            y = x * self.w
            return y.tanh() if self.training else y

    model = Model()
    compiled, x = cr.compile(model.forward), _vector(0)
    for step in range(3):
        np.testing.assert_array_equal(compiled(x).detach().numpy(), model(x).detach().numpy())
        if step == 0:
            model.eval()
        if step == 1:
            model.w = cr.nn.Parameter(cr.full((3,), 5.0, dtype=cr.float64))


def test_a_returned_numpy_array_is_a_new_one_at_every_call():
    def fn(x):
        stats = np.zeros(2)
        stats[0] = x.shape[0]
        return x * 2.0, stats

    compiled = cr.compile(fn)
    for i in range(3):
        _, stats = compiled(_vector(i))
        np.testing.assert_array_equal(stats, [3.0, 0.0])
        stats[1] += 10.0  # (the caller's to change)


def test_jacrev_of_a_replayed_function_that_takes_a_gradient_inside():
    # (the pullback's cotangent is batched by jacrev's vmap: the plan's backward pass runs on
    # each example's, not the function again under that vmap level; a function without a
    # gradient inside is run again, recorded, so that jacrev of jacrev works through it; the
    # third order through a gradient inside refuses, where it would be silently wrong)
    def f(x):
        return (x.tanh() ** 3).sum()

    hessian = func.jacrev(cr.compile(func.grad(f)))
    twice = func.jacrev(func.jacrev(cr.compile(f)))
    third = func.jacrev(func.jacrev(cr.compile(func.grad(f))))
    for i in range(3):
        x = _vector(i)
        expected = func.jacrev(func.grad(f))(x).numpy()
        np.testing.assert_allclose(hessian(x).numpy(), expected, rtol=1e-12)
        np.testing.assert_allclose(twice(x).numpy(), expected, rtol=1e-12, atol=1e-15)
        if i == 0:  # (the trace: the eager call's result)
            np.testing.assert_allclose(third(x).numpy(),
                                       func.jacrev(func.jacrev(func.grad(f)))(x).numpy())
        else:
            with pytest.raises(RuntimeError, match="jacrev of jacrev"):
                third(x)


def test_numpy_s_shape_functions_read_no_values_and_do_not_break_the_trace():
    # (np.ndim(t) is chainrule.numpy's through __array_function__: the recurrent layers with a
    # state and their cells call it)
    fn = cr.compile(lambda x: x * np.ndim(x) + np.shape(x)[0] + np.size(x), fullgraph=True)
    for i in range(2):
        np.testing.assert_array_equal(fn(_vector(i)).numpy(), _vector(i).numpy() * 1 + 3 + 3)
    cr.manual_seed(0)
    lstm = cr.nn.LSTM(4, 3).double()
    state = (cr.zeros(1, 2, 3, dtype=cr.float64), cr.zeros(1, 2, 3, dtype=cr.float64))
    compiled = cr.compile(lstm, fullgraph=True)
    for i in range(2):
        x = cr.tensor(_rng(i).standard_normal((5, 2, 4)))
        np.testing.assert_array_equal(compiled(x, state)[0].detach().numpy(),
                                      lstm(x, state)[0].detach().numpy())


def test_a_module_in_eval_compiles_after_a_training_call_that_broke_its_trace():
    # (the broken kind of call runs eagerly only while its modules are as they were then)
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(4, 4), cr.nn.BatchNorm1d(4)).double()
    compiled, x = cr.compile(net), cr.tensor(_rng(0).standard_normal((3, 4)))
    net.eval()
    compiled(x)  # (traces: its result is the eager call's)
    assert compiled(x).grad_fn.name() == "CompiledFunctionBackward"
    net.train()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled(x)
    assert any("Sequential runs eagerly" in str(w.message)
               and "running statistics" in str(w.message) for w in caught)
    net.eval()
    ours = compiled(x)
    assert ours.grad_fn.name() == "CompiledFunctionBackward"
    np.testing.assert_array_equal(ours.detach().numpy(), net(x).detach().numpy())


def _layers(kind: str):
    cr.manual_seed(0)
    if kind == "LayerNorm":
        return cr.nn.Sequential(cr.nn.Linear(4, 4), cr.nn.LayerNorm(4)).double()
    return getattr(cr.nn, kind)(4, 3).double()


@pytest.mark.parametrize("kind", ["LayerNorm", "LSTM", "GRU"])
def test_each_replay_keeps_its_own_scratch_for_its_backward_pass(kind):
    # a normalisation's moments and a recurrent scan's activations are filled by the forward
    # pass of each call (a Scratch): the backward pass of the first of two replays reads its
    # own, not the second's, and equals eager's
    layers = _layers(kind)
    compiled = cr.compile(layers)
    shape = (3, 4) if kind == "LayerNorm" else (5, 2, 4)

    def first(module, x):
        y = module(x)
        return y if kind == "LayerNorm" else y[0]

    for call in range(2):  # (the trace, then replays)
        x1 = cr.tensor(_rng(10 + call).standard_normal(shape), requires_grad=True)
        x2 = cr.tensor(_rng(20 + call).standard_normal(shape), requires_grad=True)
        ours = first(compiled, x1)
        first(compiled, x2)
        g = cr.tensor(_rng(30 + call).standard_normal(tuple(ours.shape)))
        ours.backward(g)
        x = x1.detach().requires_grad_()
        first(layers, x).backward(g)
        np.testing.assert_allclose(x1.grad.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert compiled._compiled_call.traces == 1


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_replayed_scan_computes_its_activations_once(kind, scan_runs):
    # the backward pass of a replay reads the states its forward pass kept: the scan runs
    # once per call and backward, as eagerly (before Scratch, its backward ran it again)
    runs = scan_runs(kind)
    layers = _layers(kind)
    compiled = cr.compile(layers)
    for call in range(3):
        x = cr.tensor(_rng(call).standard_normal((5, 2, 4)), requires_grad=True)
        runs.clear()
        compiled(x)[0].sum().backward()
        assert len(runs) == 1, (call, len(runs))


@pytest.mark.parametrize("name", ["stack", "tensordot", "expand_as", "clamp"])
def test_operations_that_read_only_shapes_do_not_break_the_trace(name):
    # (each read a tensor's values, or took a NumPy path, where only a shape was needed:
    # a whole-graph compile refused them)
    fn = {
        "stack": lambda a, b: cr.stack([a.detach(), b.detach() * 2], dim=1),  # (no history)
        "tensordot": lambda a, b: cr.tensordot(a, b.T, dims=1),
        "expand_as": lambda a, b: a[:1].expand_as(b) * b,
        "clamp": lambda a, b: cr.clamp(a, min=b - 0.5, max=b + 0.5),
    }[name]
    _replays_as_eager(fn, lambda i: tuple(
        cr.tensor(_rng(10 * i + k).standard_normal((3, 4)), requires_grad=True)
        for k in range(2)))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_recurrent_layer_compiles_under_no_grad(kind):
    # (its final states were stacked by NumPy's path for tensors without history, which read
    # their values: inference under no_grad ran eagerly)
    layer = _layers(kind)
    compiled = cr.compile(layer, fullgraph=True)
    for i in range(2):
        x = cr.tensor(_rng(i).standard_normal((5, 2, 4)))
        with cr.no_grad():
            ours, theirs = compiled(x), layer(x)
        assert len(cr.pytree.tree_leaves(ours)) == len(cr.pytree.tree_leaves(theirs))
        for a, b in zip(cr.pytree.tree_leaves(ours), cr.pytree.tree_leaves(theirs)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_gradient_with_one_term_is_that_term_and_add_passes_it_on():
    # the plan writes the backward pass as a learner would: add's gradient is g itself (no
    # rule called), and a value read once gets its one term without a sum; a value read
    # twice, a result also read, and a broadcast add still sum and reduce
    def fn(x, b):
        y = (x * 2.0 + 1.0).sin()
        z = y + b  # (b broadcast: its gradient is summed back to its shape)
        return z * z + y, y

    compiled = cr.compile(fn)
    for i in range(3):
        x, b = _vector(i, 4, requires_grad=True), _vector(10 + i, 1, requires_grad=True)
        x2, b2 = x.detach().requires_grad_(), b.detach().requires_grad_()
        (out, y), (out2, y2) = compiled(x, b), fn(x2, b2)
        (out.sum() + 3 * y.sum()).backward()
        (out2.sum() + 3 * y2.sum()).backward()
        # (y's three terms are summed in another order than eager's: the last bit may differ)
        np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-14)
        np.testing.assert_allclose(b.grad.numpy(), b2.grad.numpy(), rtol=1e-14)
    source = compiled.source
    assert "d_add_1_0" not in source  # (x * 2 + 1: its rule is g)
    assert "d_add_3_1" in source  # (+ b, broadcast: its rule, then the sum to b's shape)


def _replays_as_eager(fn, make_args, calls: int = 3):
    """``compile(fn, fullgraph=True)`` (returned) against ``fn``, each on its own
    ``make_args(k)`` (seeded by ``k``) for each call: equal values, and where the result
    requires grad, equal gradients of its sum for every argument that requires grad."""
    compiled = cr.compile(fn, fullgraph=True)
    for k in range(calls):
        our_args, their_args = make_args(k), make_args(k)
        ours, theirs = compiled(*our_args), fn(*their_args)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        if theirs.requires_grad:
            ours.sum().backward()
            theirs.sum().backward()
            for a, b in zip(our_args, their_args):
                if b.requires_grad:
                    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    return compiled


def _values_and_indexes(k: int, shape: tuple, *indexes: tuple) -> tuple:
    """A float64 tensor of ``shape`` that requires grad, then an integer tensor for each of
    ``indexes`` (``(low, high, shape)``), seeded by ``k``."""
    rng = _rng(k)
    return (cr.tensor(rng.standard_normal(shape), requires_grad=True),
            *(cr.tensor(rng.integers(low, high, size)) for low, high, size in indexes))


def _raises_as_eagerly(fn, compiled, args, error, match=None):
    """``fn(*args)`` raises ``error``, and a replay of ``compiled`` and a fresh trace raise
    the same message (which matches ``match``)."""
    messages = []
    traces = compiled.traces
    for call in (fn, compiled, cr.compile(fn)):  # eager, a replay, a trace
        with pytest.raises(error, match=match) as caught:
            call(*args)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == messages[2]
    assert compiled.traces == traces  # (the replay raised: no trace again)


SELECTIONS = {
    "sort": lambda a: cr.sort(a, dim=1)[0] * 2 + cr.sort(a, dim=1)[1],
    "sort descending": lambda a: (cr.sort(a, dim=0, descending=True)[0]
                                  + cr.sort(a, dim=0, descending=True)[1]),
    "max along a dim": lambda a: cr.max(a, dim=1)[0] * 3 + cr.max(a, dim=1)[1],
    "min along a dim, kept": lambda a: (cr.min(a, dim=0, keepdim=True)[0]
                                        + cr.min(a, dim=0, keepdim=True)[1]),
    "topk": lambda a: cr.topk(a, 2, dim=1)[0] + cr.topk(a, 2, dim=1)[1],
    "topk smallest": lambda a: (cr.topk(a, 2, dim=1, largest=False)[0]
                                + cr.topk(a, 2, dim=1, largest=False)[1]),
    "addcdiv": lambda a: cr.addcdiv(a, a, a + 5.0, value=2),
}


@pytest.mark.parametrize("name", SELECTIONS)
def test_selections_by_value_replay_with_each_call_s_positions(name):
    # the positions a sort, max/min along a dim or topk choose are operations of the trace,
    # found again at each replay (they read the values with NumPy outside the primitives, so
    # a whole-graph compile refused them); addcdiv read its operands' dtypes through values
    _replays_as_eager(SELECTIONS[name], lambda k: (
        cr.tensor(_rng(k).standard_normal((3, 4)), requires_grad=True),))


INTEGER_INDEXES = {
    "x[i]": lambda x, i, j: x[i] * 2,
    "x[:, j]": lambda x, i, j: x[:, j].exp(),
    "x[i, j]": lambda x, i, j: x[i, j],
    "x[list, j] (the book's cross-entropy)": lambda x, i, j: -cr.log(x[list(range(4)), j].abs()),
    "x[0, j]": lambda x, i, j: x[0, j],
    "x[i as 2 x 2]": lambda x, i, j: x[i.reshape(2, 2)].sum(1),
    "x[-1 - i]": lambda x, i, j: x[-1 - i],
    "x[..., j]": lambda x, i, j: x[..., j] * 3,
    "x[i, ...]": lambda x, i, j: x[i, ...].sin(),
    "x[..., i, j]": lambda x, i, j: x[..., i, j] + 1,
    "x[i, 1:3]": lambda x, i, j: x[i, 1:3] * 2,
    "x[1:, j]": lambda x, i, j: x[1:, j].exp(),
    "x[::-2, j] (a negative step)": lambda x, i, j: x[::-2, j] - 1,
    "index_select": lambda x, i, j: cr.index_select(x, 1, j) * 2,
}


@pytest.mark.parametrize("name", INTEGER_INDEXES)
def test_integer_tensor_indexes_are_read_at_each_replay(name):
    # integer tensors in an index were read by NumPy outside the primitives (the trace broke);
    # now their positions are an operation of the trace, checked at each replay
    fn = INTEGER_INDEXES[name]

    def make_args(k):
        return _values_and_indexes(k, (4, 5), (0, 4, 4), (-5, 5, 4))

    compiled = _replays_as_eager(fn, make_args)
    # an index out of range raises as eagerly, at a replay and at a trace
    x = make_args(0)[0]
    _raises_as_eagerly(fn, compiled, (x,) + (cr.tensor([0, 1, 2, 9]),) * 2, IndexError,
                       match="out of")


INDEXES_APART = {
    "x[i, :, j]": lambda x, i, j: x[i, :, j] * 2,
    "x[0, 1:3, j]": lambda x, i, j: x[0, 1:3, j].sin(),
    "x[i, :, j, 1]": lambda x, i, j: x[i, :, j, 1],
    "x[i, ::-1, j as 2 x 1]": lambda x, i, j: x[i, ::-1, j.reshape(2, 1)] + 1,
    "x[:, i, :, 0]": lambda x, i, j: x[:, i, :, 0].exp(),
}


@pytest.mark.parametrize("name", INDEXES_APART)
def test_integer_indexes_apart_replay_with_their_axes_first(name):
    # integer parts kept apart by a slice index axes that NumPy moves to the front of the
    # result; the trace broke on them, now the axes are put first and taken there
    compiled = _replays_as_eager(INDEXES_APART[name], lambda k: _values_and_indexes(
        k, (3, 4, 5, 2), (0, 3, 2), (-5, 5, 2)))
    assert compiled.traces == 1


SCATTERS = {
    "scatter(1, i, src)": lambda x, i, s: x.scatter(1, i, s) * 2,
    "scatter(0, i, src), repeated positions": lambda x, i, s: x.scatter(0, i, s.exp()),
    "scatter(-1, i - 3, value)": lambda x, i, s: x.scatter(-1, i - 3, 2.5) * s.sum(),
    "scatter_add(0, i, src), repeated positions": lambda x, i, s: x.scatter_add(0, i, s * 3),
    "scatter(1, i, src, reduce='add')": lambda x, i, s: x.scatter(1, i, s, reduce="add"),
    "scatter(1, i, value, reduce='add')": lambda x, i, s: (x.scatter(1, i, 0.5, reduce="add")
                                                          * s.sum()),
}


def _scatter_args(k: int) -> tuple:
    """x (3 x 4), an index (2 x 3, into 0..2) and a source (2 x 3), seeded by ``k``."""
    rng = _rng(k)
    return (cr.tensor(rng.standard_normal((3, 4)), requires_grad=True),
            cr.tensor(rng.integers(0, 3, (2, 3))),
            cr.tensor(rng.standard_normal((2, 3)), requires_grad=True))


@pytest.mark.parametrize("name", SCATTERS)
def test_scatter_finds_where_its_values_land_at_each_replay(name):
    # scatter read its index with NumPy to find each position's last write (the trace
    # broke); now that is an operation of the plan, checked at each replay
    fn = SCATTERS[name]
    compiled = _replays_as_eager(fn, _scatter_args)
    assert compiled.traces == 1
    x, _, src = _scatter_args(0)
    _raises_as_eagerly(fn, compiled, (x, cr.tensor([[0, 1, 9], [0, 1, 2]]), src),
                       RuntimeError, match="out of bounds")


MULTIPLYING_SCATTERS = {
    "a value, repeated positions": lambda x, i, s: (x.scatter(1, i, 1.5, reduce="multiply")
                                                    * s.sum()),
    "a source, positions unique in each row": lambda x, i, s: x.scatter(
        1, i.argsort(dim=1), s.exp(), reduce="multiply"),
}


@pytest.mark.parametrize("name", MULTIPLYING_SCATTERS)
def test_scatter_multiply_finds_how_many_values_land_at_each_replay(name):
    # scatter(reduce="multiply") read its index with NumPy (the trace broke); now how many
    # values land where, and which, are operations of the plan
    compiled = _replays_as_eager(MULTIPLYING_SCATTERS[name], _scatter_args)
    assert compiled.traces == 1


def test_scatter_multiply_of_a_source_at_repeated_positions_raises_at_a_replay():
    fn = lambda x, i, s: x.scatter(1, i, s, reduce="multiply")  # noqa: E731
    x, s = cr.tensor(np.ones((2, 3))), cr.tensor(np.ones((2, 2)))
    compiled = cr.compile(fn, fullgraph=True)
    compiled(x, cr.tensor([[0, 1], [2, 0]]), s)
    _raises_as_eagerly(fn, compiled, (x, cr.tensor([[0, 0], [2, 0]]), s),
                       NotImplementedError, match="repeated positions")


@pytest.mark.parametrize("shape, index", [((4, 5), (slice(None), slice(None), 0)), ((), 0),
                                          ((5,), (0, 1)), ((5,), (Ellipsis, 0, 1))])
def test_an_integer_index_with_too_many_parts_raises_as_eagerly(shape, index):
    # (the traced path dropped the parts beyond the tensor's axes and returned a result)
    x = cr.tensor(np.ones(shape))
    parts = tuple(cr.tensor([p, p]) if isinstance(p, int) else p
                  for p in (index if isinstance(index, tuple) else (index,)))
    with pytest.raises(IndexError) as eager:
        x[parts]
    with pytest.raises(IndexError) as compiled:
        cr.compile(lambda x: x[parts])(x)
    assert str(compiled.value) == str(eager.value)


def test_a_small_integer_index_on_a_long_axis_replays():
    # (the positions were computed in the index's dtype: int8 cannot hold the axis's 200)
    x = cr.tensor(np.arange(200.0))
    i = cr.tensor(np.array([-1, 5], np.int8))
    for fn in (lambda x, i: x[i], lambda x, i: cr.index_select(x, 0, i)):
        compiled = cr.compile(fn, fullgraph=True)
        for _ in range(2):
            np.testing.assert_array_equal(compiled(x, i).numpy(), [199.0, 5.0])


@pytest.mark.parametrize("name", ["max", "max kept", "sort", "topk smallest"])
def test_indices_a_compiled_selection_returns_are_the_caller_s_own(name):
    # the caller may change them in place; the gradient still goes where the values came from
    # (the indices were the gather's own positions: the gradient moved, or backward refused)
    select = {"max": lambda x: x.max(dim=1), "max kept": lambda x: x.max(dim=1, keepdim=True),
              "sort": lambda x: cr.sort(x, dim=1),
              "topk smallest": lambda x: cr.topk(x, 2, dim=1, largest=False)}[name]
    compiled = cr.compile(select)
    for i in range(3):
        x = cr.tensor(_rng(i).standard_normal((2, 3)), requires_grad=True)
        y = x.detach().requires_grad_()
        (ours, our_indices), (theirs, their_indices) = compiled(x), select(y)
        our_indices.zero_()
        their_indices.zero_()
        (ours * ours).sum().backward()
        (theirs * theirs).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())


GATHERS = {
    "gather": lambda x, i: cr.gather(x, 1, i) * 2,
    "gather along dim 0, a smaller index": lambda x, i: x.gather(0, i[:2, :3]),
    "take_along_dim": lambda x, i: cr.take_along_dim(x, i, dim=1).exp(),
    "take_along_dim, flattened": lambda x, i: cr.take_along_dim(x, i[0], dim=None),
    "take_along_dim, broadcast": lambda x, i: cr.take_along_dim(x, i[:1], dim=1),
}


@pytest.mark.parametrize("name", GATHERS)
def test_gather_and_take_along_dim_read_their_index_at_each_replay(name):
    # (their index was read by NumPy outside the primitives: the trace broke)
    fn = GATHERS[name]

    def make_args(k):  # (negative positions: from the end)
        return _values_and_indexes(k, (3, 4), (-3, 3, (3, 4)))

    compiled = _replays_as_eager(fn, make_args)
    bad = cr.tensor(np.full((3, 4), 20))  # (out of range for every form)
    _raises_as_eagerly(fn, compiled, (make_args(0)[0], bad), RuntimeError,
                       match="out of bounds")
