"""The backward walk on whole graphs: shapes of graphs, depth, memory, and reuse."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import buffers, engine, order, sparse


def f64(values, requires_grad=True):
    return cr.tensor(values, dtype=cr.float64, requires_grad=requires_grad)


class TestShapesOfGraphs:
    def test_fan_out_sums_contributions(self):
        x = f64([1.0, 2.0, 3.0])
        (x * x + x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2, 3]) + 1)

    def test_diamond(self):
        # b = a^2 + 3a with a = 2x: db/dx = (2a + 3) * 2
        x = f64([0.5, -1.0])
        a = x * 2
        (a * a + a * 3).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), (2 * 2 * np.array([0.5, -1.0]) + 3) * 2)

    def test_same_tensor_on_both_sides(self):
        x = f64(3.0)
        (x * x * x).backward()
        assert x.grad.item() == pytest.approx(27.0)

    def test_closure_over_outer_variable(self):
        w = f64([2.0, -1.0])

        def model(inp):
            return (w * inp).tanh().sum()

        x = f64([0.3, 0.7])
        model(x).backward()
        t = np.tanh(np.array([2.0, -1.0]) * [0.3, 0.7])
        np.testing.assert_allclose(w.grad.numpy(), (1 - t**2) * [0.3, 0.7])
        np.testing.assert_allclose(x.grad.numpy(), (1 - t**2) * [2.0, -1.0])

    def test_several_roots(self):
        x = f64([1.0, 2.0])
        cr.autograd.backward([(x * 2).sum(), (x * x).sum()])
        np.testing.assert_allclose(x.grad.numpy(), [2 + 2, 2 + 4])

    def test_root_that_feeds_another_root(self):
        x = f64([1.0, 2.0])
        y = x * 3
        z = (y * y).sum()
        cr.autograd.backward([y, z], [cr.ones(2, dtype=cr.float64), None])
        np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * 9 * np.array([1.0, 2.0]))

    def test_retained_graph_accumulates(self):
        x = f64([1.0, -2.0])
        y = (x.sin() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        expected = np.cos([1.0, -2.0]) * [1.0, -2.0] + np.sin([1.0, -2.0])
        np.testing.assert_allclose(x.grad.numpy(), 2 * expected)

    def test_grad_with_inputs_prunes_other_branches(self):
        x, z = f64([1.0]), f64([2.0])
        (gx,) = cr.autograd.grad((x * z).sum() + (z * z).sum(), x)
        assert gx.tolist() == [2.0]
        assert x.grad is None and z.grad is None

    def test_gradient_wrt_intermediate(self):
        x = f64([1.0, 2.0])
        a = x * 2
        (ga,) = cr.autograd.grad((a * a).sum(), a)
        np.testing.assert_allclose(ga.numpy(), [4.0, 8.0])


class TestConcurrentPasses:
    def test_threads_walking_one_shared_graph(self):
        """Counting marks the nodes it has seen; two passes counting the same nodes at once
        would each miss the other's marks (and fire a node before all its gradient arrived)."""
        import sys
        import threading

        x = f64([0.3, -0.2])
        y = x
        for _ in range(300):  # every level is a diamond: a has two consumers
            a = y * 1.001
            y = (a * a * 0.5 + a).tanh()
        loss = y.sum()
        (expected,) = cr.autograd.grad(loss, x, retain_graph=True)

        errors, results = [], []
        barrier = threading.Barrier(4)

        def work():
            barrier.wait()
            try:
                for _ in range(20):
                    results.append(cr.autograd.grad(loss, x, retain_graph=True)[0].numpy())
            except Exception as err:  # noqa: BLE001 - the test reports any failure
                errors.append(repr(err))

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible
        try:
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        assert errors == []
        assert len(results) == 80
        for r in results:
            np.testing.assert_array_equal(r, expected.numpy())

    def test_count_while_another_count_holds_the_marks(self):
        """A backward pass started while a count holds the marks counts in a dict instead of
        waiting.  (The same path serves a finaliser that runs a backward pass while its own
        thread is counting, which waited forever on the lock before.)"""
        x = f64([0.3, -0.2])
        a = x * 2.0
        loss = (a * a + a.sin()).sum()  # a has two consumers
        expected = 8 * np.array([0.3, -0.2]) + 2 * np.cos(2 * np.array([0.3, -0.2]))
        import threading

        done = threading.Event()

        def work():
            loss.backward()  # would wait for the lock if counting required it
            done.set()

        assert order._COUNTING.acquire(timeout=5)
        try:
            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            finished = done.wait(timeout=10)
        finally:
            order._COUNTING.release()
        worker.join(timeout=10)
        assert finished
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)

    def test_subclass_of_tensor_is_recorded(self):
        """Subclasses take the engine's general path; gradients and names are the same."""

        class Parameter(cr.Tensor):
            pass

        w = Parameter(np.array([2.0, -1.0]), requires_grad=True)
        y = w * 3.0
        assert y.grad_fn.name() == "MulBackward0"
        (y * w).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [12.0, -6.0])


@pytest.mark.slow
class TestDepth:
    def test_a_million_operations(self):
        x = f64(1.0)
        y = x
        for _ in range(1_000_000):
            y = y * 1.0000001
        y.backward()
        assert x.grad.item() == pytest.approx(1.0000001**1_000_000, rel=1e-9)
        del y  # freeing a million-node chain must not recurse either
        gc.collect()

    def test_deep_graph_frees_without_recursion(self):
        x = f64([1.0, 2.0])
        y = x
        for _ in range(200_000):
            y = (y + 1.0).sin()
        del y
        gc.collect()

    def test_deep_second_order(self):
        x = f64(0.5)
        y = x
        for _ in range(3000):
            y = y * 1.001
        (g,) = cr.autograd.grad(y * y, x, create_graph=True)
        (g2,) = cr.autograd.grad(g, x)
        assert g2.item() == pytest.approx(2 * 1.001 ** 6000, rel=1e-9)


class TestMemory:
    def test_saved_values_are_released_by_backward(self):
        x = f64(np.linspace(-1, 1, 5))
        loss = ((x * 2).exp() * 3.0).sum()
        exp_node = loss.grad_fn.parents[0].parents[0]
        assert exp_node.prim.name == "exp"
        saved = weakref.ref(exp_node.ans)
        mul_node = loss.grad_fn.parents[0]
        saved_input = weakref.ref(mul_node.args[0])  # the Tensor exp(2x), kept by Mul
        loss.backward()
        gc.collect()
        assert saved() is None and saved_input() is None
        with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
            loss.backward()

    def test_retain_graph_keeps_saved_values(self):
        x = f64([1.0, 2.0])
        loss = (x * 2).exp().sum()
        exp_node = loss.grad_fn.parents[0]
        saved = weakref.ref(exp_node.ans)
        loss.backward(retain_graph=True)
        assert saved() is not None

    def test_dropping_the_output_frees_the_graph_without_the_collector(self):
        gc.disable()
        try:
            x = f64([1.0, 2.0])
            y = ((x * 2).sin() + x).exp()
            node = weakref.ref(y.grad_fn.parents[0])
            del y
            assert node() is None
        finally:
            gc.enable()

    def test_no_reference_cycles_through_nodes(self):
        gc.collect()
        gc.disable()
        try:
            x = f64([1.0, 2.0])
            for _ in range(50):
                y = (x * 2).tanh().sum()
                y.backward()
            del y
            assert gc.collect() == 0
        finally:
            gc.enable()

    def test_one_new_array_returned_for_two_inputs_is_not_shared(self):
        """In-place accumulation must not let two gradients share one freshly made array."""
        made = {}

        def same_array_twice(g, ans, x, y):
            key = id(g)
            if key not in made:
                made[key] = g * 2.0  # a new array, handed to both inputs
            return made[key]

        double_sum = engine.Primitive("DoubleSum", lambda x, y: x + y,
                                      (same_array_twice, same_array_twice), save_inputs=False,
                                      save_ans=False, view=False, variadic=False,
                                      jvp="diagonal")
        n = 10_000  # large enough for the engine's in-place accumulation to be considered
        for build in (lambda x, z: double_sum(x, z) + x * 3.0,
                      lambda x, z: x * 3.0 + double_sum(x, z)):  # both orders of the walk
            x, z = f64(np.ones(n)), f64(np.ones(n))
            build(x, z).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), 5.0)
            np.testing.assert_allclose(z.grad.numpy(), 2.0)

    def test_leaf_grad_does_not_alias_engine_arrays(self):
        x, z = f64([1.0, 2.0]), f64([3.0, 4.0])
        (x + z).sum().backward()  # both get the same gradient array from Add's rule
        x.grad.zero_()
        np.testing.assert_array_equal(z.grad.numpy(), [1.0, 1.0])


class TestIndexingLoops:
    def test_loop_over_elements_accumulates_sparsely(self, monkeypatch):
        """``sum(x[i] for i)`` must not build one dense gradient per element (that is O(n^2))."""
        densified = []
        original = sparse.SparseGrad.dense

        def counting_dense(self):
            densified.append(self.shape)
            return original(self)

        monkeypatch.setattr(sparse.SparseGrad, "dense", counting_dense)
        n = 500
        x = f64(np.arange(n, dtype=float))
        total = x[0]
        for i in range(1, n):
            total = total + x[i] * i
        total.backward()
        np.testing.assert_allclose(x.grad.numpy(), np.maximum(np.arange(n), 1))
        assert len(densified) <= 1

    def test_repeated_indices_accumulate(self):
        x = f64([0.0, 0.0, 0.0])
        x[np.array([0, 0, 2, 0])].sum().backward()
        assert x.grad.tolist() == [3.0, 0.0, 1.0]

    def test_mixed_sparse_and_dense_contributions(self):
        x = f64([1.0, 2.0, 3.0])
        (x[1] * 5 + (x * x).sum() + x[[0, 0]].sum()).backward()
        np.testing.assert_allclose(x.grad.numpy(), [2 + 2, 5 + 4, 6])

    def test_index_gradient_second_order(self):
        x = f64([1.0, 2.0, 3.0])
        (g,) = cr.autograd.grad((x[[0, 2, 2]] ** 3).sum(), x, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), [3.0, 0.0, 2 * 3 * 9.0])
        (h,) = cr.autograd.grad(g.sum(), x)
        np.testing.assert_allclose(h.numpy(), [6.0, 0.0, 2 * 6 * 3.0])


def test_higher_order_chain_of_derivatives():
    # d^n/dx^n sin(x) cycles through cos, -sin, -cos, sin
    x = f64(0.7)
    g = x.sin()
    expected = [math.cos(0.7), -math.sin(0.7), -math.cos(0.7), math.sin(0.7)]
    for value in expected:
        (g,) = cr.autograd.grad(g, x, create_graph=True)
        assert g.item() == pytest.approx(value)


class TestLargeArrayInPlaceGradients:
    """Above 4,096 elements the engine lets rules write into gradients it owns; never into
    one that anyone else can see."""

    n = 10_000
    x0 = np.linspace(-1.0, 1.0, n)

    def test_chain_of_elementwise_rules(self):
        x = f64(self.x0)
        (x.sin().exp().tanh() * 2.0).sum().backward()
        s = np.sin(self.x0)
        e = np.exp(s)
        t = np.tanh(e)
        np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - t ** 2) * e * np.cos(self.x0))

    def test_retained_and_hooked_gradients_are_not_overwritten(self):
        x = f64(self.x0)
        h = x.sin()
        h.retain_grad()
        seen = []
        k = h.exp()
        k.register_hook(lambda g: seen.append(g))
        (k.tanh() * 3.0).sum().backward()
        t = np.tanh(np.exp(np.sin(self.x0)))
        np.testing.assert_allclose(seen[0].numpy(), 3 * (1 - t ** 2))  # dL/dk, untouched
        np.testing.assert_allclose(h.grad.numpy(), 3 * (1 - t ** 2) * np.exp(np.sin(self.x0)))

    def test_requested_intermediate_is_not_overwritten(self):
        x = f64(self.x0)
        h = x.sin()
        out = (h.exp() * 2.0).sum()
        gh, gx = cr.autograd.grad(out, [h, x])
        np.testing.assert_allclose(gh.numpy(), 2 * np.exp(np.sin(self.x0)))
        np.testing.assert_allclose(gx.numpy(), 2 * np.exp(np.sin(self.x0)) * np.cos(self.x0))

    def test_donation_saves_the_allocation(self, monkeypatch):
        """The mechanism: exp's product with the gradient is written into that gradient when
        the engine allocated it and exp is its only reader."""
        written_into_g = []
        original = buffers.product

        def spy(g, factor, **where):
            out = original(g, factor, **where)
            if where["donated"] and factor is where["ans"]:  # exp: d exp(x) = exp(x) dx
                written_into_g.append(out is g)
            return out

        monkeypatch.setattr(buffers, "product", spy)
        x = f64(self.x0)
        (x.sin().exp() * 2.0).sum().backward()  # Mul hands Exp a new array: the engine's own
        assert written_into_g == [True]
        np.testing.assert_allclose(x.grad.numpy(),
                                   2 * np.exp(np.sin(self.x0)) * np.cos(self.x0))


class TestLargeArraysRecycledInBackward:
    """A plain backward pass writes into saved values that only the graph references, and
    reuses the ones it frees; never one that the user (or anything else) can still see."""

    n = 10_000
    x0 = np.linspace(-1.0, 1.0, n)

    def test_values_the_user_holds_are_unchanged(self):
        x = f64(self.x0)
        s, e = x.sin(), x.exp()
        c = x.cos()
        view = c.detach().numpy()[::2]  # a NumPy view keeps c's array referenced
        loss = (s * e * x).sum() + (c.sin() * x).sum()
        del c
        loss.backward()
        np.testing.assert_array_equal(s.detach().numpy(), np.sin(self.x0))
        np.testing.assert_array_equal(e.detach().numpy(), np.exp(self.x0))
        np.testing.assert_array_equal(view, np.cos(self.x0)[::2])
        se = np.sin(self.x0) * np.exp(self.x0)
        c0 = np.cos(self.x0)
        expected = (se + self.x0 * (np.cos(self.x0) * np.exp(self.x0) + se)
                    + np.sin(c0) + self.x0 * np.cos(c0) * -np.sin(self.x0))
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)

    @pytest.mark.parametrize("seed", range(40))
    def test_random_graphs_match_a_pass_that_recycles_nothing(self, seed):
        """Differential check against ``create_graph=True``, which runs the rules on Tensors:
        it writes into nothing (no donated gradient, no saved value, no pool)."""
        rng = np.random.default_rng(seed)
        unary = [cr.sin, cr.cos, cr.exp, cr.tanh, cr.neg, cr.sigmoid, cr.relu, lambda t: t * 0.5,
                 lambda t: t * (t > 0)]  # a saved boolean mask

        def build(xs, keep):
            values = list(xs)
            for _ in range(12):
                a, b = (values[k] for k in rng.integers(0, len(values), 2))
                kind = rng.integers(0, 4)
                if kind == 0:
                    v = unary[rng.integers(0, len(unary))](a)
                elif kind == 1:
                    v = a * b
                elif kind == 2:
                    v = a + b
                else:
                    v = a - b * 0.25
                values.append(v)
                if rng.random() < 0.3:
                    keep.append(v)  # the user holds on to some intermediates
            return sum(v.sum() for v in values[len(xs):] if rng.random() < 0.5) + values[-1].sum()

        starts = [rng.uniform(-1, 1, self.n) for _ in range(3)]
        starts[2] = starts[2].astype(np.float32)  # float32 meets float64
        results = []
        for reference in (True, False):
            rng = np.random.default_rng(seed + 1000)  # the same graph both times
            xs = [cr.tensor(a, requires_grad=True) for a in starts]
            keep: list = []
            loss = build(xs, keep)
            before = [k.detach().numpy().copy() for k in keep]
            if reference:
                grads = cr.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
                results.append([None if g is None else g.detach().numpy() for g in grads])
            else:
                loss.backward()
                results.append([None if x.grad is None else x.grad.numpy() for x in xs])
            for k, b in zip(keep, before):
                np.testing.assert_array_equal(k.detach().numpy(), b)
        for kept, recycled in zip(*results):
            assert (kept is None) == (recycled is None)
            if kept is not None:
                np.testing.assert_allclose(recycled, kept, rtol=1e-13, atol=1e-13)

    def test_backward_allocates_one_new_array(self):
        """``sum(sin(x) exp(x) x)``: its three products reuse the arrays the pass frees, so
        the backward pass adds one array to the peak (NumPy by hand needs one, too)."""
        import tracemalloc

        x = f64(self.x0)
        loss = (x.sin() * x.exp() * x).sum()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            loss.backward()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak - start < 1.5 * self.x0.nbytes
        se = np.sin(self.x0) * np.exp(self.x0)
        np.testing.assert_allclose(x.grad.numpy(),
                                   se + self.x0 * (np.cos(self.x0) * np.exp(self.x0) + se))

    def test_forward_mode_on_large_arrays(self):
        """tanh's and sigmoid's derivative rules write into the factor they compute."""
        from chainrule.func import jvp

        t0 = np.cos(self.x0)
        y, t = jvp(lambda x: cr.tanh(x) * cr.sigmoid(x), (self.x0,), (t0,))
        th, sg = np.tanh(self.x0), 1 / (1 + np.exp(-self.x0))
        np.testing.assert_allclose(y, th * sg, rtol=1e-13)
        np.testing.assert_allclose(t, ((1 - th * th) * sg + th * sg * (1 - sg)) * t0,
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(t0, np.cos(self.x0))  # the tangent given is not written

    def test_boolean_and_integer_factors(self):
        """A saved mask or integer array cannot hold ``g * mask``: a new array is made."""
        a = np.random.default_rng(0).standard_normal(self.n)
        x = f64(a)
        z = x * (x > 0)
        z.retain_grad()  # so the incoming gradient is not the rule's to overwrite
        (z * z).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * a * (a > 0))
        x = f64(a)
        (x * np.arange(self.n)).reshape(100, 100).square().sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * a * np.arange(self.n) ** 2)

    def test_float32_factor_of_a_float64_gradient_is_not_rounded(self):
        rng = np.random.default_rng(0)
        a, w = rng.standard_normal(self.n), rng.standard_normal(self.n).astype(np.float32)
        grads = []
        for retain in (False, True):  # retain_graph=True writes into nothing saved
            x, v = f64(a), cr.tensor(w, requires_grad=True)
            ((v * 1.5) * x).sin().sum().backward(retain_graph=retain)
            grads.append(x.grad.numpy())
        y = (w * np.float32(1.5)).astype(np.float64)
        np.testing.assert_array_equal(grads[0], grads[1])
        np.testing.assert_allclose(grads[0], np.cos(y * a) * y, rtol=1e-14)

    def test_concurrent_first_backward_passes(self):
        """Eight threads run their first backward passes over large arrays at once (the
        recycling path, which reads the reference counts calibrated at import): each gets
        its exact gradient."""
        import threading

        errors, grads = [], []
        barrier = threading.Barrier(8)

        def work():
            x = f64(self.x0)
            loss = (x * 2.0).sin().sum()
            barrier.wait()
            try:
                loss.backward()
                grads.append(x.grad.numpy())
            except Exception as err:  # noqa: BLE001 - the test reports any failure
                errors.append(repr(err))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(grads) == 8
        for g in grads:
            np.testing.assert_allclose(g, 2 * np.cos(2 * self.x0))
        if buffers.REFCOUNTS_TRUSTED:  # (calibrated at import, not by these passes)
            assert len(buffers._SOLE_COUNTS) == 2
