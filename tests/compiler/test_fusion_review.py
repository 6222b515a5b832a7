"""Fused regions against eager chainrule: cases found in review (numexpr's constants and
conditions, the size of its expressions, the thread pool under concurrent calls, and
non-finite Python constants).  Small arrays are fused as ``conftest.py`` fuses them: every
elementwise step, in blocks of one row, on three threads."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import threads
from chainrule.compiler import fusion

numexpr_installed = pytest.mark.skipif(fusion.numexpr_module() is None,
                                       reason="numexpr is not installed "
                                              "(pip install 'chainrule[fast]')")
NUMEXPR = {"use_numexpr": True}


@pytest.fixture
def fused_small(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_SIZE", 1)
    monkeypatch.setattr(threads, "BLOCK", 1)
    count = cr.get_num_threads()
    cr.set_num_threads(3)
    yield
    cr.set_num_threads(count)


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
