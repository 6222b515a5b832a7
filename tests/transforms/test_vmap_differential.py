"""Differential tests of ``chainrule.func`` (vmap and its compositions) against ``torch.func``.

Each function of the grid is written once against a namespace ``M`` (``chainrule`` or
``torch``: their APIs agree on everything used here), so the two libraries run the same
program; each transform of the grid (vmap with several in/out axes, nested vmap, vmap of grad,
vjp, jvp, jacrev, jacfwd, hessian and the other orders, jacrev with chunks) is applied to both,
in float64, on seeded data, and the results must agree to ``rtol=1e-10``.  Then the same for
vmap's pytree axes, per-example gradients with respect to unbatched arguments and dicts,
``nn`` layers through ``functional_call`` (the torch.func per-example-gradient recipe) and
ensembles through ``stack_module_state``.

Oracles: ``torch.func`` (skipped where PyTorch is not installed); where ``torch.func`` itself is
wrong (forward mode through ``linalg.solve``/``det`` with a vmap of the primal outside a vmap of
the tangents, PyTorch 2.13), ``torch.func``'s unbatched transform in a loop, with JAX and
central finite differences confirming chainrule.  The regression tests at the end, for the
bugs this grid found, need neither (closed forms, loops, finite differences), so CI runs them.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.func import (
    functional_call,
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    stack_module_state,
    vjp,
    vmap,
)

RTOL, ATOL = 1e-10, 1e-12
B = 3  # examples
XS_NUMPY = np.arange(6.0).reshape(2, 3)
rng = np.random.default_rng(20261205)
X = rng.standard_normal((3, 4))  # one example
XS = rng.standard_normal((B, 3, 4))  # a batch
VS = rng.standard_normal((B, 3, 4))  # per-example tangents (and a second batch)
W1, W2 = rng.standard_normal((4, 5)), rng.standard_normal((5, 2))
IDX = np.array([2, 0, 2, 1])


def to_numpy(value):
    if hasattr(value, "detach"):
        return value.detach().numpy()
    return np.asarray(value)


def leaves(tree) -> list:
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in leaves(v)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    return [to_numpy(tree)]


def close(got, want, rtol=RTOL, atol=ATOL):
    got, want = leaves(got), leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def stack(trees):
    """Per-example results stacked leaf by leaf (the loop oracle)."""
    return [np.stack(parts) for parts in zip(*(leaves(t) for t in trees))]


# --------------------------------------------------------------------------------------------
# the grid: functions of one (3, 4) example, written against a namespace M


def _spd(M, x):
    a = x[:, :3]
    return a @ a.transpose(-1, -2) + 3 * M.eye(3, dtype=x.dtype)


FUNCTIONS = {
    "elementwise": lambda M, x: (M.sin(x) * M.exp(-x * x) + M.tanh(x) / (1 + x ** 2)
                                 + M.sqrt(x * x + 1) - M.sigmoid(x) * M.log1p(x * x)),
    "matmul": lambda M, x: M.tanh(x @ x.transpose(-1, -2)) @ x,
    "einsum": lambda M, x: M.einsum("ij,kj->ik", x, M.sin(x)) + M.einsum("ij,ij->i", x, x),
    "sum_mean_axes": lambda M, x: ((x ** 3).sum(1) + M.mean(x * x, 0, keepdim=True).sum()
                                   * x.mean(-1)),
    "amax": lambda M, x: M.amax(x, 1) + M.amax(x, 0).sum(),
    "max_min_with_dim": lambda M, x: M.max(x, 1)[0] * M.min(x, 0)[0].sum() + M.max(x),
    "logsumexp": lambda M, x: M.logsumexp(x, 1) + M.logsumexp(x, 0).sum(),
    "norm": lambda M, x: M.norm(x) * x + M.norm(x, dim=1).sum(),
    "vector_norm": lambda M, x: M.linalg.vector_norm(x, dim=0) * M.linalg.vector_norm(x, ord=1),
    "softmax": lambda M, x: M.softmax(x, dim=-1) * M.softmax(x, dim=0),
    "log_softmax": lambda M, x: M.log_softmax(x, dim=1) + M.log_softmax(x, dim=0) ** 2,
    "basic_index": lambda M, x: x[1:, ::2] * x[0, 1] + x[-1:, None, 2],
    "gather_constant_index": lambda M, x: (x[M.tensor(IDX[:3])] * 2
                                           + x[:, M.tensor(IDX)].sum(1, keepdim=True)),
    "advanced_index_pair": lambda M, x: x[M.tensor([0, 2, 1]), M.tensor([3, 1, 1])] ** 2,
    "cat_stack": lambda M, x: (M.cat([x, M.sin(x)], 0).sum(0)
                               * M.stack([x, x ** 2], -1).sum(-1).sum(0)),
    "reshape_permute": lambda M, x: (M.sin(x.reshape(2, 6).permute(1, 0))
                                     @ x.reshape(2, 2, 3).permute(2, 0, 1).reshape(3, 4)[:, :2]
                                     .transpose(0, 1)),
    "where_clamp_relu": lambda M, x: (M.where(x > 0.1, x ** 2, M.clamp(x, -0.5, 0.7))
                                      + M.relu(x - 0.2)),
    "cumsum": lambda M, x: M.cumsum(x ** 2, 1) + M.cumsum(M.sin(x), dim=0),
    "solve": lambda M, x: M.linalg.solve(_spd(M, x), x[:, 3:] * x[:, :1]),
    "solve_vector": lambda M, x: M.linalg.solve(_spd(M, x), x[:, 1]),
    "inv": lambda M, x: M.linalg.inv(_spd(M, x)),
    "det": lambda M, x: M.linalg.det(_spd(M, x) - 2 * M.eye(3, dtype=x.dtype)),
    "slogdet": lambda M, x: M.linalg.slogdet(_spd(M, x) - 2.5 * M.eye(3, dtype=x.dtype))[1],
    "cholesky": lambda M, x: M.linalg.cholesky(_spd(M, x)),
    "mlp": lambda M, x: (M.tanh(x @ M.tensor(W1)) @ M.tensor(W2)).sum(-1),
}

# more primitives, on a shorter list of transforms (MORE_TRANSFORMS) to keep the file fast
MORE_FUNCTIONS = {
    "std_var": lambda M, x: M.std(x, 1) + M.var(x, 0).sum() + x.std(),
    "prod_cumprod": lambda M, x: M.prod(x, 1) + M.prod(x + 2, 0).sum() + M.cumprod(x, 1)[:, -1],
    "sort_values": lambda M, x: M.sort(x, 1)[0] * M.sort(x, 0, descending=True)[0],
    "topk": lambda M, x: M.topk(x, 2, 1)[0] * M.topk(x, 1, 0, largest=False)[0].sum(),
    "flip_roll": lambda M, x: M.flip(x, [1]) * M.roll(x, 1, 0),
    "diagonal_trace_tril": lambda M, x: (M.diagonal(x @ x.T) + M.trace(x[:, :3])
                                         * M.tril(x[:, :3]).sum(0)),
    "pow_abs_atan2": lambda M, x: (M.abs(x) ** 1.5 + M.atan2(x, x ** 2 + 0.5) + M.pow(2.0, x)
                                   + M.abs(x + 2) ** x),
    "maximum_minimum": lambda M, x: M.maximum(x, M.sin(x)) + M.minimum(x, 0.1 * x),
    "expand_squeeze_split": lambda M, x: (x[:, :1].expand(3, 4) * x.unsqueeze(0).squeeze(0)
                                          + M.split(x, 2, 1)[1].sum(1, keepdim=True)),
    "qr_eigh_svdvals": lambda M, x: (M.linalg.qr(x.T)[1].abs().sum(0)
                                     + M.linalg.eigh(_spd(M, x))[0] * M.linalg.svdvals(x)),
    "pinv_matrix_norm": lambda M, x: M.linalg.pinv(x) * M.linalg.matrix_norm(x),
    "outer_kron_cross": lambda M, x: (M.outer(x[0], x[1]).sum(1)[:3]
                                      + M.kron(x[0, :2], x[1, :2]).sum()
                                      + M.cross(x[:, :3], x[:, 1:], dim=1)[0]),
    "activations": lambda M, x: (M.nn.functional.gelu(x) + M.nn.functional.silu(x)
                                 + M.nn.functional.softplus(x) + M.nn.functional.elu(x)
                                 + M.nn.functional.leaky_relu(x, 0.1)),
    "layer_norm_normalize": lambda M, x: (M.nn.functional.layer_norm(x, (4,))
                                          * M.nn.functional.normalize(x, dim=1)),
    "conv1d_avg_pool": lambda M, x: M.nn.functional.avg_pool1d(M.nn.functional.conv1d(
        x[None], M.ones(2, 3, 2, dtype=x.dtype) * x[0, :2, None, None]), 2),
    "max_pool": lambda M, x: M.nn.functional.max_pool1d(x[None], 2),
    "losses": lambda M, x: (M.nn.functional.cross_entropy(x, M.tensor([1, 0, 3]))
                            + M.nn.functional.mse_loss(M.sin(x), x)),
    "scatter_add_masked_fill": lambda M, x: (M.scatter_add(M.zeros(3, 4, dtype=x.dtype), 1,
                                                           M.tensor([[0, 1, 1, 3]] * 3), x)
                                             + M.masked_fill(x, M.tensor(np.eye(3, 4) > 0),
                                                             0.0) * x),
    "erf_sinc_lerp": lambda M, x: (M.erf(x) + M.erfc(x) * M.sinc(x)
                                   + M.lerp(x, M.sin(x), 0.3) + M.addcmul(x, x, x, value=0.5)),
    "mv_dot_bmm": lambda M, x: (M.mv(x, x[0]) + M.dot(x[0], x[1])
                                + M.bmm(x[None], x.T[None])[0].sum(0)),
}

# torch.func is wrong (PyTorch 2.13) when a vmap of the primal encloses forward mode whose
# tangents are batched by an inner vmap (vmap(jacfwd), vmap(hessian), jacrev(jacfwd) and
# vmap(a) vmap(t) jvp) through linalg.solve, det and slogdet; chainrule agrees with JAX and
# finite differences there (test_forward_mode_of_solve_and_det_under_vmap_*), so the oracle
# for those is torch.func's unbatched transform in a loop.
TORCH_FORWARD_LINALG_BUG = {"solve", "solve_vector", "det", "slogdet"}


def _scalar(M, f):
    return lambda x: (f(M, x) ** 2).sum()


def _nest3(a):
    """A (2, B, 2, 3, 4) stack for three nested vmaps over axes 2, 1, 0 of what is left."""
    pair = np.stack([a, a[::-1] * 0.5]) + 0.01 * np.arange(2).reshape(2, 1, 1, 1)
    return pair[:, :, None].repeat(2, 2) + 0.001 * np.arange(2).reshape(1, 1, 2, 1, 1)


# Each entry: the transformed function, given the function f of one example and the namespace F
# (chainrule's or torch.func's transforms and data); it is called on the batch XS.
TRANSFORMS = {
    "vmap": lambda f, F: F.vmap(f),
    "vmap_in_axes_1": lambda f, F: lambda xs: F.vmap(f, **{F.IN: 1})(F.move(xs, 0, 1)),
    "vmap_in_axes_-1": lambda f, F: lambda xs: F.vmap(f, **{F.IN: -1})(F.move(xs, 0, -1)),
    "vmap_out_axes_-1": lambda f, F: F.vmap(f, **{F.OUT: -1}),
    "vmap_chunk_size_2": lambda f, F: F.vmap(f, chunk_size=2),
    "nested_vmap_2": lambda f, F: lambda xs: F.vmap(F.vmap(f))(F.pair(xs)),
    "nested_vmap_3": lambda f, F: lambda xs: F.vmap(F.vmap(F.vmap(f), **{F.IN: 1}),
                                                    **{F.IN: 2})(F.nest3(xs)),
    "vmap_grad": lambda f, F: F.vmap(F.grad(F.scalar(f))),
    "grad_vmap": lambda f, F: F.grad(lambda xs: (F.vmap(f)(xs) ** 2).sum()),
    "grad_vmap_grad": lambda f, F: F.grad(lambda xs: (F.vmap(F.grad(F.scalar(f)))(xs) ** 3)
                                          .sum()),
    "vmap_vjp": lambda f, F: lambda xs: F.vmap(lambda x, c: F.vjp(f, x)[1](c))(xs, F.cot(f,
                                                                                          xs)),
    "vmap_jvp": lambda f, F: lambda xs: F.vmap(lambda x, t: F.jvp(f, (x,), (t,)))(xs, F.V),
    "jvp_vmap": lambda f, F: lambda xs: F.jvp(F.vmap(f), (xs,), (F.V,)),
    "jacrev": lambda f, F: lambda xs: F.jacrev(f)(xs[0]),
    "jacrev_chunk_size_5": lambda f, F: lambda xs: F.jacrev(f, chunk_size=5)(xs[0]),
    "jacfwd": lambda f, F: lambda xs: F.jacfwd(f)(xs[0]),
    "hessian": lambda f, F: lambda xs: F.hessian(F.scalar(f))(xs[0]),
    "vmap_jacrev": lambda f, F: F.vmap(F.jacrev(f)),
    "vmap_jacfwd": lambda f, F: F.vmap(F.jacfwd(f)),
    "vmap_hessian": lambda f, F: F.vmap(F.hessian(F.scalar(f))),
    "jacrev_jacfwd": lambda f, F: lambda xs: F.jacrev(F.jacfwd(f))(xs[0]),
    "jacfwd_jacrev": lambda f, F: lambda xs: F.jacfwd(F.jacrev(f))(xs[0]),
}
FORWARD_UNDER_VMAP = {"vmap_jacfwd", "vmap_hessian"}
MORE_TRANSFORMS = ["vmap", "vmap_in_axes_-1", "nested_vmap_2", "vmap_grad", "grad_vmap",
                   "vmap_vjp", "vmap_jvp", "jvp_vmap", "vmap_jacrev", "vmap_hessian",
                   "jacrev_jacfwd"]
ALL_FUNCTIONS = {**FUNCTIONS, **MORE_FUNCTIONS}


def _grid():
    for name in ALL_FUNCTIONS:
        for transform in TRANSFORMS if name in FUNCTIONS else MORE_TRANSFORMS:
            yield pytest.param(name, transform, id=f"{name}-{transform}")


class _Ours:
    """chainrule's transforms and data, in the shape ``TRANSFORMS`` expects."""

    IN, OUT = "in_axes", "out_axes"
    vmap, grad, vjp, jvp = staticmethod(vmap), staticmethod(grad), staticmethod(vjp), \
        staticmethod(jvp)
    jacrev, jacfwd, hessian = staticmethod(jacrev), staticmethod(jacfwd), staticmethod(hessian)
    V = VS

    def __init__(self, body):
        self.body = body

    def scalar(self, f):
        return lambda x: (f(x) ** 2).sum()

    def move(self, xs, source, destination):
        return np.moveaxis(xs, source, destination)

    def pair(self, xs):
        return np.stack([xs, VS])

    def nest3(self, xs):
        return _nest3(xs)

    def cot(self, f, xs):
        shape = np.shape(to_numpy(self.body(cr, cr.tensor(xs[0]))))
        return np.random.default_rng(7).standard_normal((len(xs),) + shape)


def _theirs(torch, body):
    """The same for torch.func."""
    tf = torch.func

    class Theirs(_Ours):
        IN, OUT = "in_dims", "out_dims"
        vmap, grad, vjp, jvp = staticmethod(tf.vmap), staticmethod(tf.grad), \
            staticmethod(tf.vjp), staticmethod(tf.jvp)
        jacrev, jacfwd, hessian = staticmethod(tf.jacrev), staticmethod(tf.jacfwd), \
            staticmethod(tf.hessian)
        V = torch.tensor(VS)

        def move(self, xs, source, destination):
            return torch.movedim(xs, source, destination)

        def pair(self, xs):
            return torch.tensor(np.stack([xs.numpy(), VS]))

        def nest3(self, xs):
            return torch.tensor(_nest3(xs.numpy()))

        def cot(self, f, xs):
            return torch.tensor(_Ours.cot(self, f, xs.numpy()))

    return Theirs(body)


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)  # (later modules' comparisons are in float32)


@pytest.mark.parametrize(("name", "transform"), list(_grid()))
def test_grid_against_torch_func(torch, name, transform):
    body = ALL_FUNCTIONS[name]
    ours_f = lambda x: body(cr, x)  # noqa: E731
    theirs_f = lambda x: body(torch, x)  # noqa: E731
    ours = TRANSFORMS[transform](ours_f, _Ours(body))(XS)
    their_ns = _theirs(torch, body)
    if transform == "jacrev_jacfwd":  # (torch.func's is wrong through linalg and layer_norm)
        want = torch.func.jacrev(torch.func.jacrev(theirs_f))(torch.tensor(XS[0]))
    elif name in TORCH_FORWARD_LINALG_BUG and transform in FORWARD_UNDER_VMAP:
        unbatched = {"vmap_jacfwd": torch.func.jacfwd(theirs_f),
                     "vmap_hessian": torch.func.hessian(their_ns.scalar(theirs_f))}
        want = stack([unbatched[transform](torch.tensor(x)) for x in XS])
    else:
        want = TRANSFORMS[transform](theirs_f, their_ns)(torch.tensor(XS))
    close(ours, want)


@pytest.mark.parametrize("name", list(ALL_FUNCTIONS))
def test_the_values_themselves_agree(torch, name):
    close(ALL_FUNCTIONS[name](cr, cr.tensor(X)), ALL_FUNCTIONS[name](torch, torch.tensor(X)))


# --------------------------------------------------------------------------------------------
# vmap's axes: ints, None, negative, tuples, dicts, out_axes structures, nesting


def _layer(M, x, w, b):
    return M.tanh(x @ w + b)


@pytest.mark.parametrize("in_axes", [(0, None, None), (1, None, 0), (-1, 0, None),
                                     (None, -3, -1), (0, 0, 0)])
@pytest.mark.parametrize("out_axes", [0, 1, -1])
def test_in_axes_and_out_axes(torch, in_axes, out_axes):
    shapes = [(4, 5), (5, 2), (2,)]
    args = []
    for shape, ax in zip(shapes, in_axes):
        a = rng.standard_normal(shape)
        if ax is not None:
            a = np.moveaxis(np.stack([a * (1 + 0.1 * k) for k in range(B)]), 0, ax)
        args.append(a)
    ours = vmap(lambda x, w, b: _layer(cr, x, w, b), in_axes=in_axes, out_axes=out_axes)(*args)
    want = torch.func.vmap(lambda x, w, b: _layer(torch, x, w, b), in_dims=in_axes,
                           out_dims=out_axes)(*map(torch.tensor, args))
    close(ours, want)


def test_dict_and_nested_tuple_in_axes_and_structured_out_axes(torch):
    d = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal((B, 3))}
    pair = (rng.standard_normal((4, B)), rng.standard_normal(2))

    def body(M, d, pair):
        h = M.tanh(pair[0] @ d["w"] + d["b"])
        return {"h": h, "outer": (h[:, None] * pair[1], h.sum())}

    in_axes = ({"w": None, "b": 0}, (1, None))
    out_axes = {"h": 1, "outer": (-1, 0)}
    ours = vmap(lambda d, p: body(cr, d, p), in_axes=in_axes, out_axes=out_axes)(d, pair)
    tt = lambda tree: {k: torch.tensor(v) for k, v in tree.items()} if isinstance(  # noqa: E731
        tree, dict) else tuple(torch.tensor(v) for v in tree)
    want = torch.func.vmap(lambda d, p: body(torch, d, p), in_dims=in_axes,
                           out_dims=out_axes)(tt(d), tt(pair))
    close(ours, want)


def test_nested_vmap_as_an_outer_product_of_batches(torch):
    xs, ys = rng.standard_normal((B, 4)), rng.standard_normal((5, 4))

    def body(M, x, y):
        return M.softmax(x * y, dim=0) @ M.sin(y)

    ours = vmap(vmap(lambda x, y: body(cr, x, y), in_axes=(None, 0)), in_axes=(0, None))(xs, ys)
    want = torch.func.vmap(torch.func.vmap(lambda x, y: body(torch, x, y), in_dims=(None, 0)),
                           in_dims=(0, None))(torch.tensor(xs), torch.tensor(ys))
    assert ours.shape == (B, 5)
    close(ours, want)


# --------------------------------------------------------------------------------------------
# per-example gradients: unbatched arguments, dicts, second order


def _loss(M, w, x, y):
    return ((M.tanh(w @ x) - y) ** 2).sum()


def test_vmap_grad_with_respect_to_an_unbatched_argument_and_to_all(torch):
    w, xs, ys = rng.standard_normal((5, 4)), rng.standard_normal((B, 4)), rng.standard_normal(
        (B, 5))
    for argnums in (0, 1, (0, 1, 2)):
        ours = vmap(grad(lambda w, x, y: _loss(cr, w, x, y), argnums=argnums),
                    in_axes=(None, 0, 0))(w, xs, ys)
        want = torch.func.vmap(torch.func.grad(lambda w, x, y: _loss(torch, w, x, y),
                                               argnums=argnums),
                               in_dims=(None, 0, 0))(*map(torch.tensor, (w, xs, ys)))
        close(ours, want)


def test_vmap_grad_with_respect_to_a_parameter_dict_and_grad_of_vmap_grad(torch):
    params = {"w": rng.standard_normal((5, 4)), "b": rng.standard_normal(5),
              "v": rng.standard_normal(5)}
    xs = rng.standard_normal((B, 4))

    def body(M, p, x):
        return (M.log_softmax(M.tanh(p["w"] @ x + p["b"]) * p["v"], dim=0)[0]) ** 2

    tp = {k: torch.tensor(v) for k, v in params.items()}
    ours = vmap(grad(lambda p, x: body(cr, p, x)), in_axes=(None, 0))(params, xs)
    want = torch.func.vmap(torch.func.grad(lambda p, x: body(torch, p, x)),
                           in_dims=(None, 0))(tp, torch.tensor(xs))
    close(ours, want)

    def norms(F, M, p):  # the DP-SGD quantity: the sum of squared per-example gradient norms
        g = F.vmap(F.grad(lambda p, x: body(M, p, x)), **{"in_axes" if M is cr else "in_dims":
                                                         (None, 0)})(p, xs if M is cr else
                                                                     torch.tensor(xs))
        return sum((v ** 2).sum() for v in g.values())

    close(grad(lambda p: norms(cr.func, cr, p))(params),
          torch.func.grad(lambda p: norms(torch.func, torch, p))(tp))


# --------------------------------------------------------------------------------------------
# nn layers through functional_call (the torch.func recipe), and ensembles


def _layers(torch, name):
    """(chainrule module, torch module with the same parameters, per-example inputs)."""
    cr.manual_seed(0)
    make = {
        "Linear": (lambda m: m.Linear(4, 3), (B, 2, 4)),
        "Conv2d": (lambda m: m.Conv2d(2, 3, 3, padding=1, stride=2), (B, 2, 6, 5)),
        "LSTM": (lambda m: m.LSTM(3, 4, batch_first=True), (B, 2, 5, 3)),
        "LayerNorm": (lambda m: m.LayerNorm(4), (B, 3, 4)),
        "Embedding": (lambda m: m.Embedding(7, 3), None),
        "MultiheadAttention": (lambda m: m.MultiheadAttention(4, 2, batch_first=True), (B, 5, 4)),
        "BatchNorm1d_eval": (lambda m: m.Sequential(m.Linear(3, 4), m.BatchNorm1d(4)), (B, 6, 3)),
    }[name]
    ours, theirs = make[0](nn).double().eval(), make[0](torch.nn).double().eval()
    for _, buffer in ours.named_buffers():  # (running statistics that are not 0 and 1)
        if buffer.dtype == np.float64:
            buffer.copy_(cr.tensor(np.abs(np.random.default_rng(9).standard_normal(buffer.shape))))
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy())  # (the buffers too)
                            for k, v in ours.state_dict().items()})
    local = np.random.default_rng(5)
    state = {k: v.detach().numpy() + 0.1 * local.standard_normal(v.shape)
             for k, v in ours.named_parameters()}
    xs = local.integers(0, 7, (B, 4)) if make[1] is None else local.standard_normal(make[1])
    return ours, theirs, state, xs


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "LSTM", "LayerNorm", "Embedding",
                                  "MultiheadAttention", "BatchNorm1d_eval"])
def test_per_example_gradients_of_nn_layers_through_functional_call(torch, name):
    model, tmodel, params, xs = _layers(torch, name)
    tparams = {k: torch.tensor(v) for k, v in params.items()}

    def loss(call, module, M, p, x):
        out = call(module, p, (x, x, x) if name == "MultiheadAttention" else (x,))
        out = out[0] if isinstance(out, tuple) else out  # (LSTM's and attention's output)
        return (M.tanh(out) ** 2).mean()

    ours = vmap(grad(lambda p, x: loss(functional_call, model, cr, p, x)),
                in_axes=(None, 0))(params, xs)
    theirs = torch.func.grad(lambda p, x: loss(torch.func.functional_call, tmodel, torch, p, x))
    if name == "LSTM":  # (torch.func cannot vmap an LSTM with unbatched weights: a loop)
        want = dict(zip(sorted(params), stack([theirs(tparams, torch.tensor(x)) for x in xs])))
    else:
        want = torch.func.vmap(theirs, in_dims=(None, 0))(tparams, torch.tensor(xs))
    assert set(ours) == set(want)
    close(ours, want)


def test_an_ensemble_through_stack_module_state(torch):
    def build(m):
        return m.Sequential(m.Linear(4, 6), m.LayerNorm(6), m.Tanh(), m.Linear(6, 2)).double()

    cr.manual_seed(3)
    models = [build(nn) for _ in range(4)]
    tmodels = [build(torch.nn) for _ in models]
    for m, t in zip(models, tmodels):
        t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in
                           m.state_dict().items()})
    x = rng.standard_normal((5, 4))
    params, buffers = stack_module_state(models)
    tparams, tbuffers = torch.func.stack_module_state(tmodels)

    def run(F, call, base, p, b, x, axes):
        return F.vmap(lambda p, b, x: call(base, (p, b), (x,)), **axes)(p, b, x)

    ours = run(cr.func, functional_call, models[0], params, buffers, x,
               {"in_axes": (0, 0, None)})
    want = run(torch.func, torch.func.functional_call, tmodels[0], tparams, tbuffers,
               torch.tensor(x), {"in_dims": (0, 0, None)})
    close(ours, want)
    # and the ensemble's gradients, each model's own
    ours_g = grad(lambda p: (run(cr.func, functional_call, models[0], p, buffers, x,
                                 {"in_axes": (0, 0, None)}) ** 2).sum())(params)
    want_g = torch.func.grad(lambda p: (run(torch.func, torch.func.functional_call,
                                            tmodels[0], p, tbuffers, torch.tensor(x),
                                            {"in_dims": (0, 0, None)}) ** 2).sum())(
        {k: v.detach() for k, v in tparams.items()})
    close(ours_g, want_g)


# --------------------------------------------------------------------------------------------
# where torch.func is wrong: JAX and finite differences referee (the JAX half needs JAX)


def _fd_jacobian(f, x, eps=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, -1).reshape(np.shape(f(x)) + x.shape)


SOLVE_B = np.array([0.3, -1.1, 0.7])
SQUARES = rng.standard_normal((B, 3, 3)) + 3 * np.eye(3)


@pytest.mark.parametrize("which", ["det", "solve"])
def test_forward_mode_of_solve_and_det_under_vmap_against_finite_differences(which):
    f = {"det": cr.linalg.det, "solve": lambda a: cr.linalg.solve(a, SOLVE_B)}[which]
    d = {"det": lambda a: np.linalg.det(a) * np.linalg.inv(a).T,  # d det / dA
         "solve": lambda a: -np.einsum("ij,k->ijk", np.linalg.inv(a), np.linalg.solve(a, SOLVE_B))
         }[which]
    got = vmap(jacfwd(f))(SQUARES)
    close(got, np.stack([d(a) for a in SQUARES]), rtol=1e-12, atol=1e-12)
    second = jacrev(jacfwd(f))(SQUARES[0])
    close(second, _fd_jacobian(d, SQUARES[0]), rtol=1e-6, atol=1e-7)
    tangents = rng.standard_normal((4, 3, 3))
    nested = vmap(lambda a: vmap(lambda t: jvp(f, (a,), (t,))[1])(tangents))(SQUARES)
    want = [[_fd_jacobian(lambda s: np.asarray(f(a + s * t)), np.zeros(1))[..., 0]
             for t in tangents] for a in SQUARES]
    close(nested, np.array(want), rtol=1e-6, atol=1e-7)


def test_forward_mode_of_solve_and_det_under_vmap_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    for ours_f, their_f in [(cr.linalg.det, jnp.linalg.det),
                            (lambda a: cr.linalg.solve(a, SOLVE_B),
                             lambda a: jnp.linalg.solve(a, SOLVE_B))]:
        close(vmap(jacfwd(ours_f))(SQUARES), np.asarray(jax.vmap(jax.jacfwd(their_f))(SQUARES)))


# --------------------------------------------------------------------------------------------
# regression tests for the bugs found (no torch: loops, closed forms)


def test_max_and_min_with_dim_under_vmap_give_values_indices_and_gradients():
    # (raised "data-dependent control flow" reading .argmax of a batched value)
    xs = rng.standard_normal((B, 4, 5))
    xs[1, 2, :] = 1.0  # a tie: the first index wins and alone gets the gradient
    for name in ("max", "min"):
        for dim, keep in ((0, False), (1, True), (-1, False)):
            op = getattr(cr, name)
            got = vmap(lambda x: op(x, dim, keepdim=keep))(xs)
            arg = getattr(np, "arg" + name)
            indices = arg(xs, axis=dim % 2 + 1, keepdims=keep)
            np.testing.assert_array_equal(got[1], indices)
            np.testing.assert_array_equal(got[0], getattr(np, name)(xs, axis=dim % 2 + 1,
                                                                      keepdims=keep))
            g = vmap(grad(lambda x: (op(x, dim)[0] ** 2).sum()))(xs)
            close(g, stack([grad(lambda x: (op(x, dim)[0] ** 2).sum())(x) for x in xs]))
            assert (g != 0).sum() == xs.size // xs.shape[1:][dim]  # one element per row


def test_slogdet_under_vmap():
    # (recursed without end: np.linalg.slogdet of a batched value dispatched back to it)
    a = rng.standard_normal((2, B, 3, 3))
    sign, logabsdet = vmap(vmap(cr.linalg.slogdet))(a)
    want_sign, want_log = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign, want_sign)
    close(logabsdet, want_log)
    g = vmap(grad(lambda m: cr.linalg.slogdet(m)[1]))(a[0])
    close(g, np.linalg.inv(a[0]).transpose(0, 2, 1))
    close(vmap(jacfwd(lambda m: cr.linalg.slogdet(m)[1]))(a[0]), g)
    close(vmap(lambda m: cr.linalg.slogdet(m)[0] * m)(a[0]), want_sign[0][:, None, None] * a[0])


def test_embedding_with_indices_batched_by_vmap():
    # (raised "data-dependent control flow": the rows were read as one NumPy array)
    F = nn.functional
    w = rng.standard_normal((6, 3))
    idx = np.array([[0, 5, 5, 2], [3, 3, 1, 0]])
    close(vmap(F.embedding, in_axes=(0, None))(idx, w), w[idx])
    g = vmap(grad(lambda w, i: (F.embedding(i, w, padding_idx=5) ** 2).sum()),
             in_axes=(None, 0))(w, idx)
    want = np.zeros((2,) + w.shape)
    for b, rows in enumerate(idx):
        for r in rows:
            if r != 5:
                want[b, r] += 2 * w[r]
    close(g, want)
    with pytest.raises(IndexError, match="embedding: index out of range"):
        vmap(F.embedding, in_axes=(0, None))(idx + 1, w)


def test_gradient_of_vmap_of_the_maximum_of_all_elements():
    # (grad(vmap(max)) raised: the recorded call reduces the axes past the batch, and the
    # rule read its result as one number; each example's maximum shares its own gradient)
    xs = rng.standard_normal((B, 3, 4))
    xs[1] = 2.0  # all tied: shared evenly
    for op in (cr.max, cr.min):
        f = lambda x: op(x) * x.sum()  # noqa: B023, E731
        want = stack([grad(f)(x) for x in xs])[0]
        close(grad(lambda xs: vmap(f)(xs).sum())(xs), want)
        close(vmap(grad(f))(xs), want)
        close(want[1], np.full((3, 4), 2.0 + 24.0 / 12))  # d/dx_i (max * sum) with 12 ties
    close(grad(lambda xs: vmap(vmap(lambda x: cr.max(x) ** 2))(xs).sum())(xs),
          stack([stack([grad(lambda r: cr.max(r) ** 2)(row) for row in x]) for x in xs]))


def test_numpy_functions_without_gradient_inside_vmap():
    # (np.isnan(x), ndarray & tensor, np.logical_and: the batched value was read as an array)
    xs = rng.standard_normal((B, 4))
    xs[0, 1] = np.nan
    np.testing.assert_array_equal(vmap(np.isnan)(xs), np.isnan(xs))
    np.testing.assert_array_equal(vmap(lambda x: np.array([1, 0, 1, 1], bool) & (x > 0))(xs),
                                  np.array([1, 0, 1, 1], bool) & (xs > 0))
    np.testing.assert_array_equal(vmap(lambda x: np.logical_and(x > -0.5, x < 0.5))(xs),
                                  np.logical_and(xs > -0.5, xs < 0.5))
    assert isinstance(np.isnan(cr.tensor([1.0])), np.ndarray)  # (outside vmap: as before)


def test_forward_mode_of_a_power_with_a_number_base_inside_vmap():
    # (the pow rule's x == 0 mask, a NumPy bool, met the batched exponent)
    xs, ts = rng.standard_normal((B, 4)), rng.standard_normal((B, 4))
    got = vmap(lambda x, t: jvp(lambda x: cr.pow(2.0, x), (x,), (t,)))(xs, ts)
    close(got, (2.0 ** xs, 2.0 ** xs * np.log(2.0) * ts))
    close(vmap(jacfwd(lambda x: cr.pow(0.0, x).sum()))(np.abs(xs) + 0.5), np.zeros((B, 4)))


def test_topk_under_vmap():
    # (the indices, batched, were sliced as a NumPy array)
    xs = rng.standard_normal((B, 4, 5))
    for largest in (True, False):
        values, indices = vmap(lambda x: cr.topk(x, 2, 1, largest=largest))(xs)
        order = np.argsort(-xs if largest else xs, axis=2, kind="stable")[:, :, :2]
        np.testing.assert_array_equal(indices, order)
        np.testing.assert_array_equal(values, np.take_along_axis(xs, order, 2))


# --------------------------------------------------------------------------------------------
# indices that differ from example to example


@pytest.mark.parametrize("op", ["getitem", "gather", "take_along_dim", "index_select"])
@pytest.mark.parametrize("x_axis", [0, None])
def test_indexing_with_an_index_batched_by_vmap(op, x_axis):
    xs = rng.standard_normal((B, 4, 3))
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    gather_idx = np.repeat(idx[:, :, None], 3, axis=2)
    call = {
        "getitem": (lambda x, i: x[i], lambda x, i: x[i], idx),
        "gather": (lambda x, i: cr.gather(x, 0, i), lambda x, i: np.take_along_axis(x, i, 0),
                   gather_idx),
        "take_along_dim": (lambda x, i: cr.take_along_dim(x, i, 0),
                           lambda x, i: np.take_along_axis(x, i, 0), gather_idx),
        "index_select": (lambda x, i: cr.index_select(x, 0, i), lambda x, i: x[i], idx),
    }[op]
    ours, numpy_f, indices = call
    x_of = (lambda b: xs[b]) if x_axis == 0 else (lambda b: xs[0])
    got = vmap(ours, in_axes=(x_axis, 0))(cr.tensor(xs if x_axis == 0 else xs[0]), indices)
    close(got, np.stack([numpy_f(x_of(b), indices[b]) for b in range(B)]))
    # the per-example gradients through it: each example's own positions receive them
    loss = lambda x, i: (ours(x, i) ** 2).sum()  # noqa: E731
    per_example = vmap(grad(loss), in_axes=(0, 0))(cr.tensor(xs), indices)
    close(per_example, np.stack([grad(loss)(cr.tensor(xs[b]), cr.tensor(indices[b])).numpy()
                                 for b in range(B)]))


def test_a_numpy_array_indexed_by_a_batched_index_is_a_clear_error():
    # (NumPy's own indexing reads the index's values: only a Tensor can be indexed per example)
    with pytest.raises(RuntimeError, match="vmap: It looks like you're attempting"):
        vmap(lambda i: XS_NUMPY[i])(np.array([[0, 1], [1, 0]]))
