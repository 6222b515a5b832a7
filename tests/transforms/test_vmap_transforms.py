"""vmap composed with the other transforms (docs/design/vmap.md, phases 2 and 3): per-example
gradients ``vmap(grad(f))``, ``vmap(vjp)``, ``vmap(jvp)``, ``jvp(vmap)``, derivatives of
derivatives inside and around vmap, and ``jacrev``/``jacfwd``/``hessian`` as one batched pass.

Oracles: the transform applied to each example in a Python loop and stacked (the loop does not
use vmap), closed forms in NumPy, and ``torch.func`` / JAX where installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine
from chainrule.func import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp, vmap

rng = np.random.default_rng(1616)
W = rng.standard_normal((5, 4))
XS = rng.standard_normal((6, 4))
YS = rng.standard_normal((6, 5))


def loop(transformed, *per_arg_examples):
    """The oracle: ``transformed`` on each example (no vmap), stacked leaf by leaf."""
    outs = [transformed(*args) for args in zip(*per_arg_examples)]
    return cr.pytree.tree_map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *outs)


def close(got, want, rtol=1e-12, atol=1e-12):
    got_leaves, want_leaves = cr.pytree.tree_leaves(got), cr.pytree.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


def loss(w, x, y):
    """A squared error of one example: ``sum((tanh(w x) - y)^2)``."""
    return ((cr.tanh(w @ x) - y) ** 2).sum()


def test_per_example_gradients_of_batched_arguments():
    f = lambda x: cr.tanh(x).sum() * (x * x).mean()  # noqa: E731
    close(vmap(grad(f))(XS), loop(grad(f), XS))
    close(vmap(grad(loss, argnums=(1, 2)), in_axes=(None, 0, 0))(W, XS, YS),
          loop(lambda x, y: grad(loss, argnums=(1, 2))(W, x, y), XS, YS))


def test_per_example_gradients_of_an_unbatched_argument_are_per_example():
    # (the weights are the same for every example, their gradients are not; before this was
    # supported the result was silently zero)
    per_example = vmap(grad(loss), in_axes=(None, 0, 0))(W, XS, YS)
    assert per_example.shape == (6,) + W.shape
    t = np.tanh(XS @ W.T)
    closed_form = np.einsum("bi,bj->bij", 2 * (t - YS) * (1 - t ** 2), XS)
    close(per_example, closed_form)
    assert np.abs(per_example).min() > 0


def test_per_example_gradients_of_a_parameter_dict_and_value_and_grad():
    params = {"w": W, "b": rng.standard_normal(5)}

    def model_loss(p, x, y):
        return ((cr.tanh(p["w"] @ x + p["b"]) - y) ** 2).mean()

    values, grads = vmap(value_and_grad(model_loss), in_axes=(None, 0, 0))(params, XS, YS)
    want_values, want_grads = loop(lambda x, y: value_and_grad(model_loss)(params, x, y), XS, YS)
    close(values, want_values)
    close(grads, want_grads)
    assert set(grads) == {"w", "b"} and grads["b"].shape == (6, 5)


def test_gradient_of_a_closed_over_constant_inside_vmap_is_broadcast():
    c = np.array([0.3, -1.2, 2.0, 0.5])
    out = vmap(lambda x: grad(lambda v: (cr.sin(v) ** 2).sum())(c) * x)(XS)
    close(out, np.sin(2 * c) * XS)


def test_second_order_inside_vmap_matches_the_closed_form():
    h = lambda x: cr.sin(x) * cr.exp(x)  # noqa: E731  (h'' = 2 cos(x) exp(x))
    xs = XS[:, 0]
    close(vmap(grad(grad(h)))(xs), 2 * np.cos(xs) * np.exp(xs))
    close(vmap(hessian(lambda x: (cr.tanh(W @ x) ** 3).sum()))(XS),
          loop(hessian(lambda x: (cr.tanh(W @ x) ** 3).sum()), XS), rtol=1e-10)


def test_vmap_of_vjp_with_batched_cotangents():
    def pullback(x, c):
        return vjp(lambda v: cr.tanh(W @ v) * v.sum(), x)[1](c)[0]

    close(vmap(pullback)(XS, YS), loop(pullback, XS, YS))
    # one recorded forward pass, a batch of cotangents: rows of a Jacobian
    out, f_vjp = vjp(lambda v: cr.tanh(W @ v), XS[0])
    rows = vmap(lambda c: f_vjp(c)[0])(np.eye(5))
    close(rows, (1 - np.tanh(W @ XS[0]) ** 2)[:, None] * W)


def test_vmap_of_jvp_batched_primals_and_unbatched_tangents():
    def push(x, t):
        return jvp(lambda v: cr.sin(v) * v, (x,), (t,))

    ts = rng.standard_normal(XS.shape)
    close(vmap(push)(XS, ts), loop(push, XS, ts))
    close(vmap(push, in_axes=(0, None))(XS, ts[0]), loop(lambda x: push(x, ts[0]), XS))
    close(vmap(push, in_axes=(None, 0))(XS[0], ts), loop(lambda t: push(XS[0], t), ts))


def test_jvp_opened_inside_vmap_with_an_unbatched_primal_meeting_a_batched_value():
    # the dual w is the same for every example; its product with a batched x carries the
    # tangent at the level opened inside the vmap
    w0, t0 = rng.standard_normal(4), rng.standard_normal(4)
    out = vmap(lambda x: jvp(lambda w: cr.exp(w) * x, (w0,), (t0,))[1])(XS)
    close(out, np.exp(w0) * t0 * XS)


def test_transforms_around_vmap():
    f = lambda x: cr.sin(x) * x  # noqa: E731
    close(jvp(vmap(f), (XS,), (np.ones_like(XS),))[1], np.cos(XS) * XS + np.sin(XS))
    close(grad(lambda xs: vmap(f)(xs).sum())(XS), np.cos(XS) * XS + np.sin(XS))
    # the sum over examples of per-example second derivatives: d/dx of 2 sin x cos x
    close(grad(lambda xs: vmap(grad(lambda x: (cr.sin(x) ** 2).sum()))(xs).sum())(XS),
          2 * np.cos(2 * XS))


def test_nested_vmap_of_grad():
    xss = rng.standard_normal((2, 3, 4))
    f = lambda x: (cr.tanh(W @ x) ** 2).sum()  # noqa: E731
    got = vmap(vmap(grad(f)))(xss)
    close(got, np.stack([loop(grad(f), xs) for xs in xss]))
    got = vmap(vmap(grad(loss), in_axes=(None, 0, None)), in_axes=(None, None, 0))(W, XS[:3],
                                                                                  YS[:2])
    close(got, np.stack([loop(lambda x: grad(loss)(W, x, y), XS[:3]) for y in YS[:2]]))


def test_hvp_and_jacobians_inside_vmap():
    f = lambda x: (cr.tanh(W @ x) ** 2).sum()  # noqa: E731
    vs = rng.standard_normal(XS.shape)
    close(vmap(lambda x, v: hvp(f, (x,), (v,))[1])(XS, vs),
          loop(lambda x, v: hvp(f, (x,), (v,))[1], XS, vs), rtol=1e-10)
    g = lambda x: cr.tanh(W @ x)  # noqa: E731
    close(vmap(jacrev(g))(XS), loop(jacrev(g), XS))
    close(vmap(jacfwd(g))(XS), loop(jacrev(g), XS))


# --- jacrev, jacfwd and hessian as one batched pass


def _tanh_jacobian(x):
    return (1 - np.tanh(W @ x) ** 2)[:, None] * W


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5, 7])
def test_jacrev_in_one_batched_pass_with_chunks(chunk_size):
    close(jacrev(lambda x: cr.tanh(W @ x), chunk_size=chunk_size)(XS[0]), _tanh_jacobian(XS[0]))


def test_jacrev_runs_one_backward_pass_per_chunk():
    passes = []

    def f(x):
        out = cr.tanh(W @ x)
        out.register_hook(lambda g: passes.append(g.shape))
        return out

    jacrev(f)(XS[0])
    assert len(passes) == 1
    passes.clear()
    jacrev(f, chunk_size=2)(XS[0])
    assert len(passes) == 3  # 5 rows in chunks of 2


def test_chunk_size_is_checked():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="jacrev: chunk_size must be None or a positive int"):
            jacrev(cr.sin, chunk_size=bad)


def test_jacfwd_and_hessian_in_one_pass_against_closed_forms():
    calls = []

    def f(x):
        calls.append(1)
        return cr.tanh(W @ x)

    close(jacfwd(f)(XS[0]), _tanh_jacobian(XS[0]))
    assert len(calls) == 1
    s = lambda x: (cr.tanh(W @ x) ** 2).sum()  # noqa: E731
    u = np.tanh(W @ XS[0])
    # d2/dx2 sum(u^2) = W^T diag(2 (1 - u^2)^2 - 4 u^2 (1 - u^2)) W
    want = W.T @ np.diag(2 * (1 - u ** 2) ** 2 - 4 * u ** 2 * (1 - u ** 2)) @ W
    close(hessian(s)(XS[0]), want, rtol=1e-10)


def test_jacobians_of_structures_agree_between_modes():
    def g(a, b):
        return {"u": cr.sin(a) * b.sum(), "v": a.sum() * b}

    a, b = rng.standard_normal(3), rng.standard_normal((2, 2))
    fwd, rev = jacfwd(g, argnums=(0, 1))(a, b), jacrev(g, argnums=(0, 1))(a, b)
    close(fwd, rev)
    assert fwd["v"][1].shape == (2, 2, 2, 2)
    np.testing.assert_allclose(rev["u"][0], np.diag(np.cos(a)) * b.sum())


def test_the_hook_is_cleared_after_composed_transforms():
    vmap(grad(lambda x: (x * x).sum()))(XS)
    hessian(lambda x: (x ** 3).sum())(XS[0])
    with pytest.raises(ValueError):
        vmap(grad(lambda x: (x * x).sum()), in_axes=(0, 0))(XS)
    assert engine.batching[0] is None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_per_example_gradients_of_cross_entropy_with_class_indices(reduction):
    # (the canonical per-sample-gradients setup: integer labels batched with the inputs; each
    # example's mean is over its own kept targets, one with every target ignored gives NaN)
    F = cr.nn.functional
    w = cr.tensor(rng.standard_normal((4, 3)))
    xs = cr.tensor(rng.standard_normal((6, 2, 4)))
    labels = cr.tensor(np.array([[0, 2], [1, -100], [2, 2], [-100, -100], [1, 0], [0, 1]]))

    def example_loss(w, x, y):
        return F.cross_entropy(x @ w, y, reduction=reduction).sum()

    per_example = vmap(value_and_grad(example_loss), in_axes=(None, 0, 0))(w, xs, labels)
    close(per_example, loop(lambda x, y: value_and_grad(example_loss)(w, x, y), xs, labels),
          rtol=1e-12, atol=1e-15)
    if reduction == "mean":
        assert np.isnan(per_example[0][3].item())
    bad = labels.clone()
    bad[4, 1] = 3
    with pytest.raises(IndexError, match="target 3 is out of bounds"):
        vmap(grad(example_loss), in_axes=(None, 0, 0))(w, xs, bad)


# --- other frameworks, where installed


def test_per_example_gradients_against_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad
    from torch.func import vmap as tvmap

    def tloss(w, x, y):
        return ((torch.tanh(w @ x) - y) ** 2).sum()

    want = tvmap(tgrad(tloss), in_dims=(None, 0, 0))(*map(torch.tensor, (W, XS, YS)))
    close(vmap(grad(loss), in_axes=(None, 0, 0))(W, XS, YS), want.numpy())


def test_per_example_hessians_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    want = jax.vmap(jax.hessian(lambda x: (jnp.tanh(W @ x) ** 3).sum()))(XS)
    close(vmap(hessian(lambda x: (cr.tanh(W @ x) ** 3).sum()))(XS), np.asarray(want),
          rtol=1e-10)


def test_values_the_same_for_every_example_are_computed_once_and_stay_correct():
    # an unbatched argument of a grad inside vmap is a broadcast view of one example; what is
    # computed from it alone is computed once, and meets the batched values correctly
    def f(w, x):
        v = (cr.tanh(w) * 2.0).sum(0)  # from w alone
        return (v @ x) ** 2

    got = vmap(grad(f), in_axes=(None, 0))(W, XS[:, :4])
    close(got, loop(lambda x: grad(f)(W, x), XS[:, :4]))
    # an input that is itself a broadcast view (stride 0 along the batch) maps as any other
    xs = np.broadcast_to(XS[0], (6, 4))
    close(vmap(grad(lambda x: (cr.sin(x) * x).sum()))(xs), loop(grad(lambda x: (cr.sin(x) * x)
                                                                       .sum()), xs))
    close(vmap(lambda x: cr.exp(x) * 3.0)(xs), np.exp(xs) * 3.0)


def test_jacobians_and_vjp_of_a_vmap():
    # the Jacobian of a vmapped elementwise map is block diagonal: d f(x_b) / d x_c = 0, b != c
    f = vmap(lambda x: cr.sin(x) * x.sum())  # noqa: E731
    xs = XS[:3, :3]
    want = np.zeros((3, 3, 3, 3))
    for b in range(3):
        x = xs[b]
        want[b, :, b, :] = np.diag(np.cos(x) * x.sum()) + np.sin(x)[:, None]
    close(jacrev(f)(xs), want)
    close(jacfwd(f)(xs), want)
    out, pullback = vjp(f, xs)
    close(pullback(np.ones_like(xs))[0], np.einsum("bicj->cj", want))
    # the Hessian of a sum of per-example terms is block diagonal too
    s = lambda xs: vmap(lambda x: (x ** 3).sum())(xs).sum()  # noqa: E731
    h = hessian(s)(xs)
    close(h, np.einsum("bi,bc,ij->bicj", 6 * xs, np.eye(3), np.eye(3)))


def test_backward_inside_vmap_says_to_use_grad():
    w = cr.tensor(np.ones(4), requires_grad=True)

    def f(x):
        loss = (w * x).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match=r"Tensor.backward: element 0 of tensors is batched "
                                           r"by vmap.*use chainrule.func.grad"):
        vmap(f)(XS)
    with pytest.raises(RuntimeError, match=r"autograd.grad: element 0 .* batched by vmap"):
        vmap(lambda x: cr.autograd.grad((w * x).sum(), w))(XS)
    assert w.grad is None and engine.batching[0] is None


def test_functions_that_read_values_without_gradient_work_per_example():
    a = rng.standard_normal((3, 4, 4))
    a[1] = 0.0  # singular: condition number inf
    sign, logabsdet = vmap(cr.linalg.slogdet)(a)
    want_sign, want_logabsdet = np.linalg.slogdet(a)
    close(sign, want_sign)
    close(logabsdet, want_logabsdet)
    close(vmap(cr.linalg.cond)(a), np.linalg.cond(a))
    for p in ("fro", 1):  # (an inverse that fails for one example: NumPy's per example)
        close(vmap(lambda m, p=p: cr.linalg.cond(m, p))(a), np.linalg.cond(a, p))
    b = a + 4 * np.eye(4)
    close(vmap(grad(lambda m: cr.linalg.slogdet(m)[1]))(b),
          np.linalg.inv(b).transpose(0, 2, 1))


def test_results_without_gradient_along_an_axis_are_per_example():
    # (an axis captured by the NumPy function instead of passed would count the whole batch)
    x = rng.integers(0, 2, size=(3, 4, 5)).astype(float)
    close(vmap(cr.count_nonzero)(x), np.count_nonzero(x, axis=(1, 2)))
    close(vmap(lambda v: cr.count_nonzero(v, dim=1))(x), np.count_nonzero(x, axis=2))
    close(vmap(lambda v: cr.linalg.vector_norm(v, ord=0))(x), np.count_nonzero(x, axis=(1, 2)))
    close(vmap(lambda v: cr.argmax(v, dim=0))(x), x.argmax(axis=1))
    close(vmap(lambda v: (v > 0).all(dim=1))(x), (x > 0).all(axis=2))
    counts = vmap(lambda v: cr.numpy.cumsum(v, axis=0))(cr.tensor(x.astype(np.int64)))
    close(counts.numpy(), np.cumsum(x.astype(np.int64), axis=1))


def test_hessian_through_einsum_and_pow_matches_finite_differences():
    # (a broadcast view of a non-contiguous array once failed to be made writeable here)
    def f(x):
        y = cr.einsum("ij,kj->ik", x, cr.sin(x)) + cr.einsum("ij,ij->i", x, x)
        return (y ** 2).sum()

    x0 = rng.standard_normal((3, 3))
    h = hessian(f)(x0)
    eps = 1e-5
    g = grad(f)
    fd = np.stack([(g(x0 + eps * e.reshape(3, 3)) - g(x0 - eps * e.reshape(3, 3))) / (2 * eps)
                   for e in np.eye(9)], axis=-1).reshape(3, 3, 3, 3)
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-6)


def test_an_empty_batch_maps_to_empty_results():
    empty = np.zeros((0, 4))
    assert vmap(cr.sin)(empty).shape == (0, 4)
    assert vmap(lambda x: x.sum())(empty).shape == (0,)
    assert vmap(grad(loss), in_axes=(None, 0, 0))(W, empty, np.zeros((0, 5))).shape == (0, 5, 4)
