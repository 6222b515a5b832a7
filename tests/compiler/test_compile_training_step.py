"""A whole training step compiled: gradients taken inside the compiled function (``func.grad``,
``autograd.grad``, ``jax.grad`` under ``jax.jit``) and an SGD update written in place under
``no_grad``.  Each compiled step is checked against the same step run eagerly, over several
calls with new data (so that a stale value in the plan would show), and the cases that cannot
be replayed are checked to run eagerly with the warning that names them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import func

BREAKS = "breaks the trace"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _replayed(f, *args):
    """``f(*args)``, asserting that it warns of nothing (a replay or a clean trace)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return f(*args)


def _broken(f, *args) -> tuple:
    """``f(*args)`` and the messages of the trace-breaking warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(*args)
    return out, [str(w.message) for w in caught if BREAKS in str(w.message)]


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def _mlp_params(seed: int, sizes=(6, 5, 3), requires_grad: bool = False) -> list:
    rng = _rng(seed)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params += [cr.tensor(rng.standard_normal((m, n)) / np.sqrt(m)),
                   cr.tensor(0.1 * rng.standard_normal(n))]
    return [p.requires_grad_(requires_grad) for p in params]


def _mlp_loss(params, x, labels):
    h = x
    for i in range(0, len(params) - 2, 2):
        h = cr.relu(h @ params[i] + params[i + 1])
    return cr.nn.functional.cross_entropy(h @ params[-2] + params[-1], labels)


def _batch(seed: int, batch: int = 4, features: int = 6, classes: int = 3) -> tuple:
    rng = _rng(100 + seed)
    return (cr.tensor(rng.standard_normal((batch, features))),
            cr.tensor(rng.integers(0, classes, batch)))


# --------------------------------------------------------------------------------------------
# gradients inside the compiled function


def test_func_grad_inside_compile_replays_the_gradient_on_new_data():
    step = cr.compile(lambda params, x, labels: func.grad(_mlp_loss)(params, x, labels))
    params = _mlp_params(0)
    for seed in range(4):  # the labels change too: the one-hot rows are an op of the plan
        x, labels = _batch(seed)
        ours = _replayed(step, params, x, labels)
        theirs = func.grad(_mlp_loss)(params, x, labels)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-15)
            assert not a.requires_grad
    assert step.traces == 1
    plan = step.last_plan
    assert plan.backward is None  # nothing returned requires grad: no backward pass is kept
    assert "threshold_backward" in plan.forward_source  # relu's rule, written down


def test_value_and_grad_inside_compile_and_jax_jit_of_jax_grad():
    import chainrule.compat.jax as jax
    from chainrule.compat.jax import numpy as jnp

    def loss(w, x):
        return jnp.sum(jnp.tanh(x @ w) ** 2)

    both = cr.compile(lambda w, x: func.value_and_grad(lambda w: _mlp_like(w, x))(w))
    jitted = jax.jit(jax.value_and_grad(loss))
    for seed in range(3):
        rng = _rng(seed)
        w, x = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
        value, grad = _replayed(jitted, jnp.asarray(w), jnp.asarray(x))
        # d/dw sum(tanh(x w)^2) = x^T (2 tanh(x w) (1 - tanh(x w)^2))
        t = np.tanh(x @ w)
        np.testing.assert_allclose(np.asarray(value), np.sum(t ** 2), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(grad), x.T @ (2 * t * (1 - t * t)), rtol=1e-5)
        v, g = _replayed(both, cr.tensor(w), cr.tensor(x))
        np.testing.assert_allclose(_np(v), np.sum(t ** 2), rtol=1e-12)
        np.testing.assert_allclose(_np(g), x.T @ (2 * t * (1 - t * t)), rtol=1e-12)
    assert both.traces == 1


def _mlp_like(w, x):
    return (cr.tanh(x @ w) ** 2).sum()


def test_grad_of_grad_inside_compile():
    # sum_i x_i^3: gradient 3 x^2, and the gradient of its sum 6 x
    hessian_row_sums = cr.compile(
        lambda x: func.grad(lambda y: func.grad(lambda z: (z ** 3).sum())(y).sum())(x))
    for seed in range(3):
        x = _rng(seed).standard_normal(4)
        np.testing.assert_allclose(_np(_replayed(hessian_row_sums, cr.tensor(x))), 6 * x,
                                   rtol=1e-12)
    assert hessian_row_sums.traces == 1


def test_a_compiled_function_with_a_gradient_inside_is_differentiable():
    # f(w) = sum(grad(loss)(w) * w) with loss = sum(tanh(x w)); w requires grad, so the
    # inner gradient is recorded (create_graph) and the plan has a backward pass
    rng = _rng(3)
    x = cr.tensor(rng.standard_normal((4, 3)))

    def f(w):
        return (func.grad(lambda v: cr.tanh(x @ v).sum())(w) * w).sum()

    compiled = cr.compile(f)
    for seed in range(3):
        w0 = _rng(10 + seed).standard_normal((3, 2))
        ours, theirs = cr.tensor(w0, requires_grad=True), cr.tensor(w0, requires_grad=True)
        _replayed(compiled, ours).backward()
        f(theirs).backward()
        np.testing.assert_allclose(_np(ours.grad), _np(theirs.grad), rtol=1e-12)


def test_an_unused_view_is_left_out_and_an_unused_computation_that_may_fail_is_not():
    compiled = cr.compile(lambda x: (x.t(), x[0], x.sin())[2] * 2)
    x = cr.tensor([[0.5, 1.0]])
    np.testing.assert_allclose(compiled(x).numpy(), 2 * np.sin([[0.5, 1.0]]), rtol=1e-6)
    assert compiled.source.count(" = ") == 2  # sin and the product: no view
    # an unused power still raises where its values would (as the eager call does)
    power = cr.compile(lambda x, y: (x ** y, x * 2)[1])
    np.testing.assert_array_equal(power(cr.tensor([2, 3]), cr.tensor([1, 1])).numpy(), [4, 6])
    with pytest.raises(RuntimeError, match="negative integer powers"):
        power(cr.tensor([2, 3]), cr.tensor([-1, 1]))


def test_an_unused_computation_that_cannot_fail_is_left_out_without_its_warnings():
    # as jax.jit and torch.compile: a float computation nothing reads is not run, so the
    # floating-point warning eager gives for it is not given (the documented choice)
    def f(x):
        x.log().sum()  # (unused; log of a negative value: nan, with NumPy's warning)
        return x * 2.0

    compiled = cr.compile(f)
    x = cr.tensor([1.0, 2.0])
    compiled(x)
    assert "log" not in compiled.source and "sum" not in compiled.source
    negative = cr.tensor([-1.0, 2.0])
    with pytest.warns(RuntimeWarning, match="invalid value encountered in log"):
        f(negative)
    np.testing.assert_array_equal(_replayed(compiled, negative).numpy(), [-2.0, 4.0])


def test_an_unused_loss_is_left_out_and_its_targets_are_still_checked():
    params = _mlp_params(3, requires_grad=True)

    def step(x, labels):  # the loss's value is not returned: only its gradients
        return cr.autograd.grad(_mlp_loss(params, x, labels), params)

    compiled = cr.compile(step)
    x, labels = _batch(0)
    compiled(x, labels)
    assert "cross_entropy" not in compiled.source
    for seed in (1, 2):
        x, labels = _batch(seed)
        for a, b in zip(_replayed(compiled, x, labels), step(x, labels)):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-9)
    bad = labels.clone()
    bad[0] = 99
    with pytest.raises(IndexError, match="target 99 is out of bounds"):
        compiled(x, bad)


def test_a_value_read_through_a_view_after_an_update_is_computed_after_it():
    # the product reads the argument's update through a view taken before it: moved before
    # the update, it would read the old values
    def f(x, y):
        head = x[:2]
        x += y
        return head * 2.0

    compiled = cr.compile(f)
    for shift in range(3):
        x, y = cr.tensor(np.arange(4.0) + shift), cr.tensor(np.ones(4))
        x_eager = x.clone()
        np.testing.assert_array_equal(_replayed(compiled, x, y).numpy(), f(x_eager, y).numpy())
        np.testing.assert_array_equal(x.numpy(), x_eager.numpy())


def test_a_no_gradient_function_declared_unable_to_fail_is_left_out_only_when_unread():
    # cross_entropy's NaN for a mean over no kept sample (_nan_if_none) is declared unable to
    # fail: a plan of the gradients alone leaves it out; one that returns the loss keeps it
    z = cr.tensor(_rng(3).standard_normal((4, 3)), requires_grad=True)
    ignored = cr.tensor([-100, -100, -100, -100])

    def gradient(z, labels):
        return cr.autograd.grad(cr.nn.functional.cross_entropy(z, labels), [z])[0]

    def loss(z, labels):
        return cr.nn.functional.cross_entropy(z, labels)

    compiled_gradient, compiled_loss = cr.compile(gradient), cr.compile(loss)
    labels = cr.tensor([0, 2, 1, 2])
    compiled_gradient(z, labels), compiled_loss(z, labels)
    assert "_nan_if_none" not in compiled_gradient.source
    assert "_nan_if_none" in compiled_loss.source
    np.testing.assert_array_equal(_np(_replayed(compiled_gradient, z, ignored)), np.zeros((4, 3)))
    assert np.isnan(_np(_replayed(compiled_loss, z, ignored)))
    assert np.isnan(_np(loss(z, ignored)))


# --------------------------------------------------------------------------------------------
# an SGD step in place


def _sgd_step(params, lr: float = 0.1):
    def step(x, labels):
        loss = _mlp_loss(params, x, labels)
        grads = cr.autograd.grad(loss, params)
        with cr.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
        return loss.detach(), grads
    return step


def test_a_compiled_sgd_step_trains_as_the_eager_one():
    ours, theirs = _mlp_params(1, requires_grad=True), _mlp_params(1, requires_grad=True)
    compiled, eager = cr.compile(_sgd_step(ours)), _sgd_step(theirs)
    for seed in range(5):
        x, labels = _batch(seed)
        (loss_a, grads_a), (loss_b, grads_b) = _replayed(compiled, x, labels), eager(x, labels)
        np.testing.assert_allclose(_np(loss_a), _np(loss_b), rtol=1e-12)
        for a, b in zip(grads_a, grads_b):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-15)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-15)
    assert compiled.traces == 1
    assert "written into" in compiled.source
    assert all(p.grad is None for p in ours)  # autograd.grad leaves .grad alone


def test_a_replayed_update_in_place_bumps_the_version_of_what_it_wrote():
    params = _mlp_params(2, requires_grad=True)
    step = cr.compile(_sgd_step(params))
    x, labels = _batch(0)
    step(x, labels)  # (the trace)
    before = (params[0] * params[0]).sum()  # saves params[0]'s values
    _replayed(step, x, labels)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        before.backward()


def test_an_update_in_place_with_a_result_that_requires_grad_runs_eagerly():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        out = (w * x).sum()
        with cr.no_grad():
            w.mul_(0.5)
        return out

    compiled = cr.compile(f)
    out, messages = _broken(compiled, cr.tensor([3.0, 4.0]))
    assert len(messages) == 1 and "in-place update" in messages[0]
    np.testing.assert_allclose(_np(w), [0.5, 1.0])
    out, messages = _broken(compiled, cr.tensor([3.0, 4.0]))
    np.testing.assert_allclose(_np(out), 0.5 * 3 + 1.0 * 4)
    np.testing.assert_allclose(_np(w), [0.25, 0.5])


def test_an_update_of_a_view_in_place_runs_eagerly():
    w = cr.tensor([1.0, 2.0, 3.0])

    def f(x):
        with cr.no_grad():
            w[1:].add_(x)
        return w * 1.0

    compiled = cr.compile(f)
    for k in range(2):
        out, messages = _broken(compiled, cr.tensor([1.0, 1.0]))
        assert len(messages) == (k == 0)
        np.testing.assert_allclose(_np(out), [1.0, 3.0 + k, 4.0 + k])


# --------------------------------------------------------------------------------------------
# what a backward pass inside the function cannot replay


def test_backward_inside_compile_runs_eagerly_and_fills_grad_each_call():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        (w * x).sum().backward()
        return w.grad * 1.0

    compiled = cr.compile(f)
    out, messages = _broken(compiled, cr.tensor([3.0, 4.0]))
    assert len(messages) == 1 and "backward()" in messages[0]
    np.testing.assert_allclose(_np(out), [3.0, 4.0])
    out, _ = _broken(compiled, cr.tensor([1.0, 1.0]))
    np.testing.assert_allclose(_np(out), [4.0, 5.0])  # accumulated, as eagerly


def test_a_gradient_hook_inside_compile_runs_eagerly_each_call():
    seen = []

    def f(x):
        y = x * 2
        y.register_hook(lambda g: seen.append(1))
        return cr.autograd.grad(y.sum(), x)[0]

    compiled = cr.compile(f)
    for k in range(2):
        out, messages = _broken(compiled, cr.tensor([1.0, 2.0], requires_grad=True))
        assert len(messages) == (k == 0) and all("hook" in m for m in messages)
        np.testing.assert_allclose(_np(out), [2.0, 2.0])
    assert len(seen) == 2


# --------------------------------------------------------------------------------------------
# values fed back: a result of one call is the argument of the next


def test_a_fused_result_fed_back_as_the_next_argument(fused_small):
    # the regions write their results into arrays kept from call to call: the one the last
    # call returned is this call's argument and must not be written into
    def step(p, g):
        return p - 0.5 * g * g

    compiled = cr.compile(step)
    rng = _rng(4)
    g = cr.tensor(rng.standard_normal((6, 3)))
    ours = theirs = cr.tensor(rng.standard_normal((6, 3)))
    history = []
    for _ in range(5):
        ours, theirs = _replayed(compiled, ours, g), step(theirs, g)
        history.append((ours, theirs))
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-12)
    for a, b in history:  # every result kept is still what it was
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12)
    assert "# fused" in compiled.source


@pytest.mark.parametrize("made", ["zeros", "requires_grad", "buffer"])
def test_an_update_in_place_of_a_tensor_not_a_parameter_runs_eagerly(made):
    # a tensor the function makes is made afresh by each eager call (a replay would keep
    # writing into the trace's); a tensor that does not require grad is no parameter
    buffer = cr.zeros(2)

    def f(x):
        if made == "buffer":
            target = buffer
        else:
            target = cr.zeros(2, requires_grad=made == "requires_grad")
        with cr.no_grad():
            target += x
        return target.detach() * 1.0  # (a result that requires grad would break it anyway)

    compiled = cr.compile(f)
    for k in range(3):
        out, messages = _broken(compiled, cr.tensor([1.0, 2.0]))
        assert len(messages) == (k == 0) and all("in-place" in m for m in messages)
        expected = (k + 1) * np.array([1.0, 2.0]) if made == "buffer" else [1.0, 2.0]
        np.testing.assert_allclose(_np(out), expected)


def test_an_update_in_place_in_a_function_that_branches_runs_eagerly():
    # a replay checks the branch taken after its updates: it could not undo them
    w = cr.tensor([1.0, -1.0], requires_grad=True)

    def f(x):
        with cr.no_grad():
            w.sub_(x if x.sum() > 0 else -x)
        return w.detach() * 1.0

    compiled = cr.compile(f)
    for k, sign in enumerate([1.0, -1.0, 1.0]):
        out, messages = _broken(compiled, cr.tensor([sign, 0.5 * sign]))
        assert len(messages) == (k == 0) and all("branches" in m for m in messages)
    np.testing.assert_allclose(_np(w), [1.0 - 3.0, -1.0 - 1.5])


def test_an_unused_special_function_runs_since_scipy_may_be_told_to_raise():
    special = pytest.importorskip("scipy.special")
    import chainrule.scipy.special as crs

    def f(x):
        crs.gammaln(x)  # (unused: at -1 a singularity, an error under errstate(all="raise"))
        return x * 2.0

    compiled = cr.compile(f)
    compiled(cr.tensor([1.5]))
    assert "gammaln" in compiled.source
    with special.errstate(all="raise"):
        with pytest.raises(special.SpecialFunctionError):
            f(cr.tensor([-1.0]))
        with pytest.raises(special.SpecialFunctionError):
            compiled(cr.tensor([-1.0]))


# --------------------------------------------------------------------------------------------
# recurrent layers: the pass back through time written down as one op


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_recurrent_training_step_replays_its_pass_back_through_time_as_one_op(
        kind, scan_runs):
    runs = scan_runs(kind)

    def model():
        cr.manual_seed(0)
        rnn = getattr(cr.nn, kind)(3, 4, num_layers=2, bidirectional=True).double()
        return rnn, cr.nn.Linear(8, 2).double()

    def make_step(rnn, out):
        params = list(rnn.parameters()) + list(out.parameters())

        def step(x, labels):
            y, _ = rnn(x)
            loss = cr.nn.functional.cross_entropy(out(y[-1]), labels)
            grads = cr.autograd.grad(loss, params)
            with cr.no_grad():
                for p, g in zip(params, grads):
                    p -= 0.1 * g
            return loss.detach(), grads
        return step

    ours, theirs = model(), model()
    compiled, eager = cr.compile(make_step(*ours)), make_step(*theirs)
    for call in range(3):
        x = cr.tensor(_rng(call).standard_normal((5, 2, 3)))
        labels = cr.tensor(_rng(call).integers(0, 2, 2))
        runs.clear()
        loss, grads = _replayed(compiled, x, labels)
        if call:  # a replay: each of the four scans' forward once, read again backward
            assert len(runs) == 4
        expected_loss, expected = eager(x, labels)
        np.testing.assert_allclose(_np(loss), _np(expected_loss), rtol=1e-12)
        for a, b in zip(grads, expected):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)
    plain = "_scan_grads_plain" if kind == "LSTM" else "_gru_grads_plain"
    assert compiled.source.count(f"= {plain}_") == 4


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_recurrent_backward_pass_that_breaks_the_trace_runs_eagerly(kind):
    # loss.backward() inside the function breaks the trace: its pass back through time runs
    # plain, as eagerly, and is not written down (it raised AttributeError at 49f81d1)
    cr.manual_seed(0)
    rnn = getattr(cr.nn, kind)(3, 4).double()

    def fn(x):
        loss = rnn(x)[0].sum()
        loss.backward()
        return rnn.weight_hh_l0.grad * 1.0

    compiled = cr.compile(fn)
    for call in range(2):
        x = cr.tensor(_rng(call).standard_normal((5, 2, 3)))
        rnn.zero_grad()
        ours, messages = _broken(compiled, x)
        # (warned at the trace; the kind of call then runs eagerly, without a new warning)
        assert bool(messages) == (call == 0)
        if call == 0:
            assert "backward()" in messages[0]
        rnn.zero_grad()
        np.testing.assert_allclose(_np(ours), _np(fn(x)), rtol=1e-12)


def test_a_compiled_scan_keeps_no_activations_of_its_trace():
    # the plan makes each replay's own states: the ones the traced call filled are not kept
    # by the compiled function once that call's graph is gone
    import gc

    from chainrule.rules.lstm_layer import LstmStates
    cr.manual_seed(0)
    compiled = cr.compile(cr.nn.LSTM(3, 4).double())
    for call in range(2):
        x = cr.tensor(_rng(call).standard_normal((5, 2, 3)), requires_grad=True)
        compiled(x)[0].sum().backward()
    gc.collect()
    filled = [o for o in gc.get_objects() if type(o) is LstmStates and o.y is not None]
    assert not filled
