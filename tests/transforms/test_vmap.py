"""chainrule.func.vmap (docs/design/vmap.md, phase 1): axes, structures, nesting, errors.

Oracles: the function applied to each example and stacked (NumPy's ``np.stack``), closed forms
in NumPy, and ``torch.func.vmap`` where PyTorch is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine
from chainrule.func import grad, vmap

rng = np.random.default_rng(16)
W = rng.standard_normal((5, 4))
XS = rng.standard_normal((3, 4))


def stacked(f, *per_arg_examples, axis=0):
    """The oracle: ``f`` on each example, stacked along ``axis``."""
    outs = [f(*map(cr.tensor, args)).numpy() for args in zip(*per_arg_examples)]
    return np.stack(outs, axis=axis)


def test_exported_as_chainrule_vmap():
    assert cr.vmap is vmap


def test_elementwise_with_in_axes_zero_one_and_none():
    xs, ys = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))

    def g(x, y):
        return cr.sin(x) * cr.exp(y) + x

    want = np.stack([np.sin(xs[b]) * np.exp(ys[:, b]) + xs[b] for b in range(3)])
    np.testing.assert_allclose(vmap(g, in_axes=(0, 1))(xs, ys), want)
    np.testing.assert_allclose(vmap(g, in_axes=(0, -1))(xs, ys), want)
    y0 = ys[:, 0]
    want0 = np.stack([np.sin(xs[b]) * np.exp(y0) + xs[b] for b in range(3)])
    np.testing.assert_allclose(vmap(g, in_axes=(0, None))(xs, y0), want0)
    np.testing.assert_allclose(vmap(g, in_axes=(0, None), out_axes=1)(xs, y0), want0.T)
    np.testing.assert_allclose(vmap(g, in_axes=(0, None), out_axes=-1)(xs, y0), want0.T)
    assert engine.batching[0] is None  # closed again


def test_numpy_in_numpy_out_and_tensors_in_tensors_out():
    out = vmap(cr.tanh)(XS)
    assert type(out) is np.ndarray
    out = vmap(cr.tanh)(cr.tensor(XS))
    assert type(out) is cr.Tensor
    np.testing.assert_allclose(out.numpy(), np.tanh(XS))


def test_reductions_shapes_matmul_and_indexing():
    xs = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(vmap(lambda x: x.sum(1))(xs), xs.sum(2))
    np.testing.assert_allclose(vmap(lambda x: x.sum())(xs), xs.sum((1, 2)))
    np.testing.assert_allclose(vmap(lambda x: x.mean(-1, keepdim=True))(xs),
                               xs.mean(-1, keepdims=True))
    np.testing.assert_allclose(vmap(lambda x: x.reshape(20))(xs), xs.reshape(3, 20))
    np.testing.assert_allclose(vmap(lambda x: x.T)(xs), xs.transpose(0, 2, 1))
    np.testing.assert_allclose(vmap(lambda x: cr.softmax(x, -1))(xs),
                               np.exp(xs) / np.exp(xs).sum(-1, keepdims=True))
    np.testing.assert_allclose(vmap(lambda x: x[1:3, 0])(xs), xs[:, 1:3, 0])
    np.testing.assert_allclose(vmap(lambda x: x[..., None, 2])(xs), xs[..., None, 2])
    # advanced indices, adjacent or not, keep the per-example layout
    idx = np.array([3, 0, 0])
    np.testing.assert_allclose(vmap(lambda x: x[:, idx])(xs), xs[:, :, idx])
    np.testing.assert_allclose(vmap(lambda x: x[idx[:2], :, None])(xs),
                               np.stack([x[idx[:2], :, None] for x in xs]))
    np.testing.assert_allclose(vmap(lambda x: x[[1, 2], [0, 4]])(xs), xs[:, [1, 2], [0, 4]])


def test_matmul_every_combination_of_batched_operands():
    xs = rng.standard_normal((3, 4, 5))
    M = rng.standard_normal((5, 2))
    vs = rng.standard_normal((3, 5))
    np.testing.assert_allclose(vmap(lambda x: x @ cr.tensor(M))(xs), xs @ M)
    np.testing.assert_allclose(vmap(lambda x: cr.tensor(W) @ x)(XS), XS @ W.T)
    np.testing.assert_allclose(vmap(lambda x, v: x @ v)(xs, vs), np.einsum("bij,bj->bi", xs, vs))
    np.testing.assert_allclose(vmap(lambda v, x: v @ x, in_axes=(0, 2))(
        XS, xs.transpose(1, 2, 0)), np.einsum("bi,bij->bj", XS, xs))
    np.testing.assert_allclose(vmap(lambda u, v: u @ v)(vs, vs), (vs * vs).sum(1))
    stack_of_matrices = rng.standard_normal((2, 5, 4))
    np.testing.assert_allclose(
        vmap(lambda x, m: m @ x, in_axes=(0, None))(XS, stack_of_matrices),
        stacked(lambda x: cr.tensor(stack_of_matrices) @ x, XS))


def test_pytrees_in_and_out():
    xs, ys = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))

    def f(pair, d):
        a, b = pair
        return {"sum": a + b * d["scale"], "parts": (a * 2, d["shift"])}

    shift = rng.standard_normal(2)
    out = vmap(f, in_axes=((0, 1), {"scale": None, "shift": None}),
               out_axes={"sum": 0, "parts": (1, None)})((xs, ys), {"scale": 3.0, "shift": shift})
    np.testing.assert_allclose(out["sum"], xs + ys.T * 3.0)
    np.testing.assert_allclose(out["parts"][0], (xs * 2).T)
    np.testing.assert_array_equal(out["parts"][1], shift)  # unbatched, out_axes None: as is
    # a single in_axes entry for a whole structure
    out = vmap(lambda p: p[0] * p[1], in_axes=(0,))((xs, xs))
    np.testing.assert_allclose(out, xs * xs)


def test_keyword_arguments_and_python_scalars_are_not_mapped():
    out = vmap(lambda x, c, *, scale: x * c + scale, in_axes=(0, None))(XS, 2.0, scale=1.5)
    np.testing.assert_allclose(out, XS * 2.0 + 1.5)


def test_closure_over_a_tensor_and_an_unbatched_result_is_broadcast():
    w = cr.tensor(W)
    np.testing.assert_allclose(vmap(lambda x: cr.tanh(w @ x))(XS), np.tanh(XS @ W.T))
    out = vmap(lambda x: w.sum())(XS)  # the same for every example: expanded, as PyTorch
    np.testing.assert_allclose(out, np.full(3, W.sum()))
    out = vmap(lambda x: 2.0)(cr.tensor(XS))  # a Python number too
    np.testing.assert_allclose(out.numpy(), np.full(3, 2.0))


def test_nested_vmap_with_different_axes():
    xs = rng.standard_normal((3, 4, 5))
    ys = rng.standard_normal(4)
    out = vmap(vmap(lambda x, y: cr.tanh(x) * y, in_axes=(1, None)), in_axes=(0, None))(xs, ys)
    np.testing.assert_allclose(out, np.tanh(xs).transpose(0, 2, 1) * ys)
    out = vmap(vmap(lambda x: (x * x).sum()))(xs)
    np.testing.assert_allclose(out, (xs * xs).sum(2))
    # the inner vmap maps axis 1 of its argument, the outer one axis 2 of the stack
    out = vmap(vmap(lambda x: x.sum(), in_axes=1), in_axes=2)(xs)
    np.testing.assert_allclose(out, xs.sum(0).T)


def test_chunk_size_gives_the_unchunked_result():
    xs = rng.standard_normal((7, 4))
    f = vmap(lambda x: (cr.tensor(W) @ x, x.sum()), chunk_size=3)
    a, b = f(xs)
    np.testing.assert_allclose(a, xs @ W.T)
    np.testing.assert_allclose(b, xs.sum(1))
    out = vmap(lambda x: x * 2, in_axes=1, out_axes=1, chunk_size=2)(xs.T)
    np.testing.assert_allclose(out, xs.T * 2)


def test_grad_of_vmap():
    xs = XS

    def loss(w):
        return vmap(lambda x: cr.tanh(w @ x).sum())(xs).sum()

    want = sum(grad(lambda w, x=x: cr.tanh(w @ cr.tensor(x)).sum())(W) for x in xs)
    np.testing.assert_allclose(grad(loss)(W), want)
    # a closed-over leaf that requires grad, and .backward()
    w = cr.tensor(W, requires_grad=True)
    vmap(lambda x: cr.tanh(w @ x).sum())(xs).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), want)


def test_against_torch_func_vmap():
    torch = pytest.importorskip("torch")
    xs, ys = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 3))

    def ours(x, y):
        return (cr.tanh(x) @ y) * x[0, 1:3].sum()

    def theirs(x, y):
        return (torch.tanh(x) @ y) * x[0, 1:3].sum()

    want = torch.func.vmap(theirs, in_dims=(0, 1), out_dims=1)(torch.tensor(xs),
                                                              torch.tensor(ys))
    np.testing.assert_allclose(vmap(ours, in_axes=(0, 1), out_axes=1)(xs, ys), want.numpy())


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("use", [lambda x: x if x.sum() > 0 else -x, lambda x: float(x.sum()),
                                 lambda x: int(x[0]), lambda x: x.sum().item(),
                                 lambda x: x.tolist(), lambda x: np.asarray(x)])
def test_data_dependent_control_flow_is_an_error(use):
    with pytest.raises(RuntimeError, match="vmap: .*data-dependent control flow"):
        vmap(use)(XS)
    assert engine.batching[0] is None  # closed again after the exception


def test_mismatched_batch_sizes_name_the_arguments():
    with pytest.raises(ValueError, match=r"vmap: Expected all tensors to have the same size in "
                                         r"the mapped dimension, got sizes \[3, 4\].*argument 1"):
        vmap(lambda x, y: x + y.sum())(XS, rng.standard_normal((4, 2)))


def test_axis_errors_name_vmap_and_the_argument():
    with pytest.raises(ValueError, match=r"vmap: argument 0 has 2 dimension\(s\), so in_axes 2 "
                                         r"is out of range"):
        vmap(cr.sin, in_axes=2)(XS)
    with pytest.raises(ValueError, match="vmap: argument 1 is mapped .* it is a float"):
        vmap(lambda x, c: x * c)(XS, 2.0)
    with pytest.raises(ValueError, match="vmap: in_axes has 1 entries but the function was "
                                         "called with 2"):
        vmap(lambda x, y: x + y, in_axes=(0,))(XS, XS)
    with pytest.raises(ValueError, match="vmap: at least one argument must be mapped"):
        vmap(cr.sin, in_axes=None)(XS)
    with pytest.raises(ValueError, match=r"vmap: in_axes\[0\] has 3 entries but the argument "
                                         "has 2"):
        vmap(lambda p: p[0], in_axes=((0, 0, 0),))((XS, XS))
    with pytest.raises(ValueError, match="vmap: argument 0 is a 0-d tensor"):
        vmap(cr.sin)(cr.tensor(1.0))


def test_out_axes_errors():
    with pytest.raises(ValueError, match="vmap: out_axes is None for output 0, but it differs"):
        vmap(cr.sin, out_axes=None)(XS)
    with pytest.raises(ValueError, match="vmap: out_axes 3 is out of range for output 0"):
        vmap(cr.sin, out_axes=3)(XS)
    assert engine.batching[0] is None


def test_an_escaped_batched_tensor_is_an_error():
    kept = []
    vmap(lambda x: kept.append(x) or x)(XS)
    with pytest.raises(RuntimeError, match="escaped its vmap"):
        vmap(lambda y: y + kept[0])(XS)


def test_arguments_of_vmap_are_checked():
    with pytest.raises(TypeError, match="vmap: Expected a callable"):
        vmap(np.ones(3))
    with pytest.raises(ValueError, match="vmap: randomness must be one of"):
        vmap(cr.sin, randomness="sometimes")
    with pytest.raises(ValueError, match="vmap: chunk_size must be None or a positive int"):
        vmap(cr.sin, chunk_size=0)


def test_batched_tensor_repr_and_logical_shape():
    seen = []

    def f(x):
        seen.append((x.shape, x.dtype, x.ndim, repr(x)))
        return x

    vmap(f)(XS)
    shape, dtype, ndim, text = seen[0]
    assert shape == (4,) and ndim == 1 and dtype == cr.float64
    assert text.startswith("BatchedTensor(lvl=") and "bdim=0" in text
