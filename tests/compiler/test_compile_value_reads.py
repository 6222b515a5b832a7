"""Library functions that read a tensor's values outside the primitives, through
``chainrule.compile``: each is compiled and called on two or three inputs that differ in their
values (the same shapes), and compared with the same call run eagerly: the value, the
gradient where there is one, or the error an eager call raises.

A raw value read whose result fed the computation (a one-hot built from ``t._data``, rows
picked with a raw index array, a decision taken on raw values) was baked into the plan: the
replay returned the first call's result.  Now each such read is an operation of the plan
(``no_gradient``; a check of the values there raises on a replay as the eager call does) or
breaks the trace (``data_of``: the function runs eagerly, with the warning).  Not a guard: a
compiled training step, which updates its parameters in place, cannot have one (the last
tests).  Each case says which calls warn and how many traces the calls take, so that a case
cannot turn from a replay into an eager run (or back) unnoticed.  Randomness is seeded.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import vmap
from chainrule.generator import default_rng

BREAKS = "breaks the trace"
TOLERANCE = {"float32": dict(rtol=1e-5, atol=1e-6)}
EXACT = dict(rtol=1e-12, atol=1e-12)  # (float64, and integers)


def _seeded(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _logits(seed: str, shape=(4, 3)) -> np.ndarray:
    return _seeded(seed).standard_normal(shape)


@dataclass
class Case:
    fn: Callable
    calls: list              # per call: the arguments (ndarrays become tensors)
    warns: list              # per call: whether it warns that the trace breaks
    traces: int              # how many traces the calls take in all (one that raises: none)
    grad: tuple = ()         # the arguments differentiated (float ones)
    params: Any = None       # tensors outside the arguments differentiated too (a closure's)
    raises: tuple = ()       # the calls that raise (eagerly: the compiled call must too)


def _one_hot_cases():
    calls = [(np.array([0, 1]),), (np.array([2, 2]),), (np.array([1, 0]),)]
    return {
        "one_hot": Case(lambda i: F.one_hot(i, 3) * 1, calls, [False] * 3, 1),
        # a class >= num_classes on a replay: the plan raises, as eager does
        "one_hot out of range": Case(lambda i: F.one_hot(i, 3) * 1,
                                     calls[:2] + [(np.array([0, 3]),), (np.array([-1, 0]),)],
                                     [False] * 4, 1, raises=(2, 3)),
        # the number of classes read from the values: the result's shape depends on them
        "one_hot num_classes=-1": Case(lambda i: F.one_hot(i) * 1, calls, [True, False, False],
                                       1),
    }


def _embedding_cases():
    weight = cr.tensor(_logits("embedding weight", (5, 2)), requires_grad=True)
    calls = [(np.array([0, 1, 1]),), (np.array([3, 4, 3]),), (np.array([2, 2, 0]),)]
    module = nn.Embedding(5, 2, padding_idx=0)
    return {
        "embedding": Case(lambda i: F.embedding(i, weight), calls, [False] * 3, 1,
                          params=[weight]),
        "embedding padding_idx": Case(lambda i: F.embedding(i, weight, padding_idx=2), calls,
                                      [False] * 3, 1, params=[weight]),
        "nn.Embedding": Case(lambda i: module(i) * 2, calls, [False] * 3, 1,
                             params=[module.weight]),
        "embedding out of range": Case(lambda i: F.embedding(i, weight),
                                       calls[:2] + [(np.array([5, 0, 0]),)], [False] * 3, 1,
                                       params=[weight], raises=(2,)),
    }


def _nll_cases():
    x = _logits("nll x")
    targets = [np.array([0, 1, 2, 2]), np.array([2, 2, 0, 1]), np.array([1, -100, 1, 0])]
    weights = [np.array([1.0, 2.0, 0.5]), np.array([0.5, 1.0, 3.0]), np.array([2.0, 1.0, 1.0])]
    return {
        "nll_loss": Case(lambda x, t: F.nll_loss(x, t), [(x, t) for t in targets],
                         [False] * 3, 1, grad=(0,)),
        "nll_loss sum": Case(lambda x, t: F.nll_loss(x, t, reduction="sum"),
                             [(x, t) for t in targets], [False] * 3, 1, grad=(0,)),
        "nll_loss 3-d": Case(lambda x, t: F.nll_loss(x, t, reduction="none"),
                             [(_logits("nll 3d", (2, 3, 2)), t.reshape(2, 2)) for t in targets],
                             [False] * 3, 1, grad=(0,)),
        "nll_loss weight": Case(lambda x, t, w: F.nll_loss(x, t, weight=w),
                                [(x, t, w) for t, w in zip(targets, weights)], [False] * 3, 1,
                                grad=(0,)),
        "nll_loss bad target": Case(lambda x, t: F.nll_loss(x, t),
                                    [(x, targets[0]), (x, np.array([0, 3, 1, 1]))],
                                    [False, False], 1, grad=(0,), raises=(1,)),
        "nn.NLLLoss": Case(lambda x, t: nn.NLLLoss()(x, t), [(x, t) for t in targets],
                           [False] * 3, 1, grad=(0,)),
    }


def _cross_entropy_cases():
    x = _logits("cross_entropy x")
    plain = [np.array([0, 1, 2, 2]), np.array([2, 2, 0, 1])]
    ignored = np.array([1, -100, 1, 0])
    weights = [_seeded(f"ce weights {k}").uniform(0.5, 2, 3) for k in range(3)]
    return {
        # one plan for every target, ignored ones included (a guard on the targets would
        # break a compiled training step: see test_a_compiled_training_step_replays_the_labels)
        "cross_entropy ignore_index": Case(lambda x, t: F.cross_entropy(x, t),
                                           [(x, plain[0]), (x, plain[1]), (x, ignored),
                                            (x, plain[0])],
                                           [False] * 4, 1, grad=(0,)),
        "cross_entropy ignore_index none": Case(
            lambda x, t: F.cross_entropy(x, t, reduction="none"),
            [(x, plain[0]), (x, ignored), (x, plain[1])], [False] * 3, 1, grad=(0,)),
        "cross_entropy ignore_index sum": Case(
            lambda x, t: F.cross_entropy(x, t, reduction="sum"),
            [(x, plain[0]), (x, ignored), (x, plain[1])], [False] * 3, 1, grad=(0,)),
        # every target ignored: NaN, with a zero gradient (as eager)
        "cross_entropy all ignored": Case(lambda x, t: F.cross_entropy(x, t),
                                          [(x, plain[0]), (x, np.full(4, -100)), (x, ignored)],
                                          [False] * 3, 1, grad=(0,)),
        "cross_entropy 3-d": Case(lambda x, t: F.cross_entropy(x, t),
                                  [(_logits("ce 3d", (2, 3, 2)), t.reshape(2, 2))
                                   for t in (plain[0], ignored, plain[1])],
                                  [False] * 3, 1, grad=(0,)),
        "cross_entropy ignored first": Case(lambda x, t: F.cross_entropy(x, t),
                                            [(x, ignored), (x, plain[0]), (x, plain[1])],
                                            [False] * 3, 1, grad=(0,)),
        # class weights and label smoothing: each sample's weight, the smoothed rows and the
        # mean's count are operations of the plan (weights may be an argument)
        "cross_entropy label_smoothing": Case(
            lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
            [(x, plain[0]), (x, plain[1]), (x, ignored)], [False] * 3, 1, grad=(0,)),
        "cross_entropy label_smoothing, ignored": Case(
            lambda x, t: F.cross_entropy(x, t, label_smoothing=0.3, ignore_index=1),
            [(x, plain[0]), (x, np.array([1, 1, 1, 1])), (x, plain[1])], [False] * 3, 1,
            grad=(0,)),
        "cross_entropy weight": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w),
            [(x, t, w) for t, w in zip((plain[0], ignored, plain[1]), weights)], [False] * 3,
            1, grad=(0,)),
        "cross_entropy weight none": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction="none"),
            [(x, t, w) for t, w in zip((plain[0], ignored, plain[1]), weights)], [False] * 3,
            1, grad=(0,)),
        "cross_entropy weight sum, smoothed": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w, reduction="sum",
                                            label_smoothing=0.2),
            [(x, t, w) for t, w in zip((plain[0], ignored, plain[1]), weights)], [False] * 3,
            1, grad=(0,)),
        # the weights of every target 0: NaN, with a NaN gradient (as eager)
        "cross_entropy weights summing to 0": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w),
            [(x, plain[0], weights[0]), (x, np.zeros(4, np.int64), np.array([0.0, 1.0, 2.0])),
             (x, plain[1], weights[1])], [False] * 3, 1, grad=(0,)),
        # a target whose class weighs 0 keeps the other classes' share of the smoothing
        "cross_entropy smoothed, a class weighing 0": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2,
                                            reduction="none"),
            [(x, t, np.array([0.0, 1.0, 2.0])) for t in (plain[0], ignored, plain[1])],
            [False] * 3, 1, grad=(0,)),
        "cross_entropy weight, smoothed, 3-d": Case(
            lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
            [(_logits("ce 3d", (2, 3, 2)), t.reshape(2, 2), w)
             for t, w in zip((plain[0], ignored, plain[1]), weights)], [False] * 3, 1,
            grad=(0,)),
        "cross_entropy bad target": Case(lambda x, t: F.cross_entropy(x, t),
                                         [(x, plain[0]), (x, np.array([0, 3, 1, 1]))],
                                         [False, False], 1, grad=(0,), raises=(1,)),
    }


def _bce_cases():
    rng = _seeded("bce")
    p = [rng.uniform(0.05, 0.95, (3, 2)) for _ in range(2)]
    y = rng.uniform(0, 1, (3, 2))
    return {
        # a replay on probabilities outside [0, 1] raises, as eager does
        "binary_cross_entropy range": Case(lambda p, y: F.binary_cross_entropy(p, y),
                                           [(p[0], y), (p[1], y), (p[0] + 1.0, y), (p[1], y)],
                                           [False] * 4, 1, grad=(0, 1), raises=(2,)),
    }


def _recurrent_cases():
    lstm, gru = nn.LSTM(3, 4), nn.GRU(3, 4, bidirectional=True)
    rng = _seeded("recurrent")
    calls = [(rng.standard_normal((5, 2, 3)).astype(np.float32),) for _ in range(3)]
    return {
        "LSTM": Case(lambda x: lstm(x)[0], calls, [False] * 3, 1, grad=(0,),
                     params=list(lstm.parameters())),
        "LSTM h_n c_n": Case(lambda x: lstm(x)[1][1] + lstm(x)[1][0], calls, [False] * 3, 1,
                             grad=(0,), params=list(lstm.parameters())),
        "GRU": Case(lambda x: gru(x)[0], calls, [False] * 3, 1, grad=(0,),
                    params=list(gru.parameters())),
    }


class _Square(cr.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return 2 * a * g


def _other_cases():
    rng = _seeded("others")
    x = [rng.standard_normal((3, 4)) for _ in range(3)]
    return {
        # the primitive of a Function hands back the array its forward computed
        "autograd.Function": Case(lambda a: _Square.apply(a) + a, [(v,) for v in x],
                                  [True, False, False], 1, grad=(0,)),
        # NumPy functions without gradient of vmap's batched values (no_gradient per example)
        "vmap argmax": Case(lambda a: vmap(lambda r: cr.argmax(r))(a) * 1, [(v,) for v in x],
                            [False] * 3, 1),
        "vmap any": Case(lambda a: vmap(lambda r: cr.any(r > 0.5))(a), [(v,) for v in x],
                         [False] * 3, 1),
        "vmap argmin of a sum": Case(lambda a, b: vmap(lambda r: cr.argmin(r + b))(a) * 1,
                                     [(v, w[0]) for v, w in zip(x, x[::-1])], [False] * 3, 1),
        # max pooling's indices: the positions of the maxima are an operation of the plan
        "max_pool2d return_indices": Case(
            lambda a: _with_indices(F.max_pool2d(a.reshape(1, 3, 4), 2, return_indices=True)),
            [(v,) for v in x], [False] * 3, 1, grad=(0,)),
        "max_pool1d return_indices, padded": Case(
            lambda a: _with_indices(F.max_pool1d(a, 3, stride=2, padding=1,
                                                 return_indices=True)),
            [(v,) for v in x], [False] * 3, 1, grad=(0,)),
    }


def _with_indices(pooled):
    """A max pooling's values and indices in one result (both compared)."""
    values, indices = pooled
    return values + indices.to(values.dtype) * 10


GROUPS = (_one_hot_cases, _embedding_cases, _nll_cases, _cross_entropy_cases, _bce_cases,
          _recurrent_cases, _other_cases)


def _case(name: str) -> Case:
    """The case ``name``, made afresh (its modules and tensors seeded)."""
    cr.manual_seed(zlib.crc32(name.encode()))
    for group in GROUPS:
        cases = group()
        if name in cases:
            return cases[name]
    raise KeyError(name)


def _names() -> list:
    """The cases' names (making the cases draws the modules' weights: from the global
    generator, whose state is given back)."""
    rng = default_rng()
    state = rng.bit_generator.state
    try:
        return sorted(name for group in GROUPS for name in group())
    finally:
        rng.bit_generator.state = state


NAMES = _names()


def _tensors(arrays, grad: tuple) -> list:
    return [cr.tensor(a, requires_grad=k in grad and a.dtype.kind == "f")
            if isinstance(a, np.ndarray) else a for k, a in enumerate(arrays)]


def _call(fn, arrays, case: Case, seed: int):
    """``fn``'s value and gradients (of a seeded weighted sum) on ``arrays``, or the error it
    raised (its type and message)."""
    xs = _tensors(arrays, case.grad)
    try:
        out = fn(*xs)
    except Exception as err:  # (the error must be eager's)
        return ("raised", type(err), str(err)), None
    value = out.detach().numpy().copy()
    grads = None
    wrt = [xs[k] for k in case.grad] + list(case.params or ())
    if wrt and out.requires_grad:
        w = cr.tensor(np.random.default_rng(seed).standard_normal(out.shape), dtype=out.dtype)
        found = cr.autograd.grad((out * w).sum(), wrt, allow_unused=True)
        grads = [None if g is None else g.numpy().copy() for g in found]
    return value, grads


@pytest.mark.parametrize("name", NAMES)
def test_a_value_read_is_replayed_or_breaks_the_trace(name, fusion_mode):
    case = _case(name)
    compiled = cr.compile(case.fn)
    for k, arrays in enumerate(case.calls):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ours, our_grads = _call(compiled, arrays, case, k)
        theirs, their_grads = _call(case.fn, arrays, case, k)
        broke = [str(w.message) for w in caught if BREAKS in str(w.message)]
        assert bool(broke) == case.warns[k], f"{name}, call {k}: warnings {broke}"
        where = f"{name}, call {k}"
        assert isinstance(theirs, tuple) == (k in case.raises), f"{where}: {theirs}"
        if isinstance(theirs, tuple):
            assert ours == theirs, f"{where}: eager raised {theirs}"
            continue
        assert not isinstance(ours, tuple), f"{where}: raised {ours}, eager did not"
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        tolerance = TOLERANCE.get(np.dtype(theirs.dtype).name, EXACT)
        np.testing.assert_allclose(ours, theirs, **tolerance, err_msg=f"{where}: stale value")
        assert (our_grads is None) == (their_grads is None), where
        for j, (g, h) in enumerate(zip(our_grads or (), their_grads or ())):
            assert (g is None) == (h is None), f"{where}: gradient {j}"
            if g is not None:
                np.testing.assert_allclose(g, h, **TOLERANCE.get(np.dtype(h.dtype).name, EXACT),
                                           err_msg=f"{where}: gradient {j}")
    assert compiled.traces == case.traces, f"{name}: {compiled.traces} traces"


def test_the_replays_run_no_eager_code():
    """A replay of the fixed losses is the plan alone: the value read, a guard or an operation
    of the plan, is computed by the plan (the same plan serves new targets)."""
    x = cr.tensor(_logits("plan"), requires_grad=True)
    compiled = cr.compile(lambda x, t: F.nll_loss(x, t) + F.cross_entropy(x, t)
                          + F.one_hot(t, 3).sum() + F.embedding(t, x).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(x, cr.tensor([0, 1, 2, 2]))
        plan = compiled.last_plan
        for t in ([2, 2, 0, 1], [1, 0, 1, 0]):
            out = compiled(x, cr.tensor(t))
            assert compiled.last_plan is plan and compiled.traces == 1
            expected = (F.nll_loss(x, cr.tensor(t)) + F.cross_entropy(x, cr.tensor(t))
                        + F.one_hot(cr.tensor(t), 3).sum() + F.embedding(cr.tensor(t), x).sum())
            np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(),
                                       rtol=1e-12)


def _training_step(params: list, loss_fn, lr: float = 0.1):
    """An SGD step written in place (which a guard on a value would make run eagerly): the
    loss of an embedding of the tokens through a linear layer."""
    def step(tokens, labels):
        table, weight = params
        hidden = F.embedding(tokens, table).sum(1)
        loss = loss_fn(hidden @ weight, labels)
        grads = cr.autograd.grad(loss, params)
        with cr.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
        return loss.detach()
    return step


LOSSES = {
    "cross_entropy": lambda logits, labels: F.cross_entropy(logits, labels),
    "nll_loss": lambda logits, labels: F.nll_loss(F.log_softmax(logits, 1), labels),
    "one_hot mse": lambda logits, labels: F.mse_loss(logits, F.one_hot(labels, 3) * 1.0),
    "binary_cross_entropy": lambda logits, labels: F.binary_cross_entropy(
        F.sigmoid(logits), F.one_hot(labels, 3).to(logits.dtype)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_a_compiled_training_step_replays_the_labels(name, fusion_mode):
    """A step whose tokens and labels are new at each call replays (an update in place and a
    guard cannot go together): its losses and parameters are the eager step's, ignored labels
    included."""
    rng = _seeded("training " + name)
    start = [rng.standard_normal((6, 4)), rng.standard_normal((4, 3))]
    ours = [cr.tensor(p, requires_grad=True) for p in start]
    theirs = [cr.tensor(p, requires_grad=True) for p in start]
    compiled, eager = cr.compile(_training_step(ours, LOSSES[name])), \
        _training_step(theirs, LOSSES[name])
    for k in range(4):
        tokens = rng.integers(0, 6, (5, 2))
        labels = rng.integers(0, 3, 5)
        if k == 2 and name == "cross_entropy":
            labels[1] = -100  # (ignored)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (a replay, or a clean trace: no warning)
            loss = compiled(cr.tensor(tokens), cr.tensor(labels))
        expected = eager(cr.tensor(tokens), cr.tensor(labels))
        np.testing.assert_allclose(loss.numpy(), expected.numpy(), rtol=1e-12,
                                   err_msg=f"{name}, step {k}: stale loss")
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12,
                                       atol=1e-15, err_msg=f"{name}, step {k}: parameters")
    assert compiled.traces == 1


def test_targets_outside_the_arguments_are_read_at_each_replay():
    """Targets and indices the function reaches by a closure (externals of the plan, read
    afresh at each replay) changed in place between calls: the replays use their new values."""
    rng = _seeded("externals")
    labels, tokens = cr.tensor([0, 1, 2, 2]), cr.tensor([[0, 1], [3, 3]])
    table = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    fns = {"cross_entropy": lambda x: F.cross_entropy(x, labels),
           "nll_loss": lambda x: F.nll_loss(x, labels),
           "one_hot": lambda x: (F.one_hot(labels, 3) * x).sum(),
           "embedding": lambda x: (F.embedding(tokens, table, padding_idx=3).sum(1) @ x.T)}
    compiled = {name: cr.compile(fn) for name, fn in fns.items()}
    for k, (new_labels, new_tokens) in enumerate([([0, 1, 2, 2], [[0, 1], [3, 3]]),
                                                  ([2, -100, 0, 1], [[2, 2], [0, 3]]),
                                                  ([1, 1, 1, 0], [[1, 0], [2, 1]])]):
        labels.copy_(cr.tensor(new_labels))
        tokens.copy_(cr.tensor(new_tokens))
        x = cr.tensor(rng.standard_normal((4, 3)))
        for name, fn in fns.items():
            if name in ("nll_loss", "one_hot") and k == 1:
                continue  # (-100 is not a class for these)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                ours = compiled[name](x)
            np.testing.assert_allclose(ours.detach().numpy(), fn(x).detach().numpy(),
                                       rtol=1e-12, err_msg=f"{name}, call {k}")
    assert all(c.traces == 1 for c in compiled.values())
