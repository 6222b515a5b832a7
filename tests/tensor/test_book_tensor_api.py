"""The rest of the tensor API that *Dive into Deep Learning* uses: gather/scatter, masks,
topk, fused updates, meshgrid, the random functions and in-place draws, devices.

Deterministic operations are compared with PyTorch (values and gradients, when installed) and
their derivatives with finite differences; random ones with seeded statistics (chainrule's
stream is NumPy's, so only distributions, shapes and dtypes can match PyTorch's)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
IDX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])  # (2, 4): along dim 0 of a (3, 4)
IDX1 = np.array([[3, 0], [1, 1], [2, 0]])     # (3, 2): along dim 1
MASK = X > 0.2


def _same_as_torch(cr_fn, torch_fn, *arrays, grad=True):
    """Values and (when ``grad``) the gradients of sum(out * weights) equal PyTorch's."""
    torch = pytest.importorskip("torch")
    xs = [cr.tensor(a, requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out, expected = cr_fn(*xs), torch_fn(*ts)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    assert out.shape == tuple(expected.shape)
    if grad:
        w = RNG.standard_normal(out.shape)
        (out * cr.tensor(w)).sum().backward()
        (expected * torch.tensor(w)).sum().backward()
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# by index or mask: against PyTorch


DETERMINISTIC = {
    "gather dim 0": (lambda x: cr.gather(x, 0, cr.tensor(IDX)),
                     lambda t, torch: torch.gather(t, 0, torch.tensor(IDX))),
    "gather dim 1 smaller index": (lambda x: x.gather(1, cr.tensor(IDX1)),
                                   lambda t, torch: t.gather(1, torch.tensor(IDX1))),
    "take_along_dim": (lambda x: cr.take_along_dim(x, cr.tensor(IDX1), 1),
                       lambda t, torch: torch.take_along_dim(t, torch.tensor(IDX1), 1)),
    "take_along_dim broadcast": (
        lambda x: cr.take_along_dim(x, cr.tensor([[1], [0], [3]]), dim=1),
        lambda t, torch: torch.take_along_dim(t, torch.tensor([[1], [0], [3]]), dim=1)),
    "take_along_dim flat": (lambda x: cr.take_along_dim(x, cr.tensor([11, 0, 5])),
                            lambda t, torch: torch.take_along_dim(t, torch.tensor([11, 0, 5]))),
    "index_select": (lambda x: cr.index_select(x, 1, cr.tensor([3, 0, 3])),
                     lambda t, torch: torch.index_select(t, 1, torch.tensor([3, 0, 3]))),
    "index_select negative": (lambda x: x.index_select(0, cr.tensor([-1])),
                              lambda t, torch: t.index_select(0, torch.tensor([2]))),
    "scatter src": (lambda x: x.scatter(1, cr.tensor([[2, 0], [1, 3], [3, 2]]), x[:, 1:3] * 2),
                    lambda t, torch: t.scatter(1, torch.tensor([[2, 0], [1, 3], [3, 2]]),
                                               t[:, 1:3] * 2)),
    "scatter value": (lambda x: cr.scatter(x, 0, cr.tensor([[1, 0, 2, 1]]), 5.0),
                      lambda t, torch: torch.scatter(t, 0, torch.tensor([[1, 0, 2, 1]]), 5.0)),
    "scatter_add repeated": (lambda x: x.scatter_add(0, cr.tensor(IDX), x[:2] ** 2),
                             lambda t, torch: t.scatter_add(0, torch.tensor(IDX), t[:2] ** 2)),
    "scatter reduce add": (
        lambda x: x.scatter(0, cr.tensor(IDX), x[1:], reduce="add"),
        lambda t, torch: t.scatter_add(0, torch.tensor(IDX), t[1:])),
    "masked_fill": (lambda x: x.masked_fill(cr.tensor(MASK), -1.5),
                    lambda t, torch: t.masked_fill(torch.tensor(MASK), -1.5)),
    "masked_fill broadcast mask": (
        lambda x: cr.masked_fill(x, cr.tensor(MASK[0]), 0.0),
        lambda t, torch: torch.masked_fill(t, torch.tensor(MASK[0]), 0.0)),
    "masked_select": (lambda x: cr.masked_select(x, cr.tensor(MASK)),
                      lambda t, torch: torch.masked_select(t, torch.tensor(MASK))),
    "masked_select broadcast": (lambda x: x[0].masked_select(cr.tensor(MASK)),
                                lambda t, torch: t[0].masked_select(torch.tensor(MASK))),
    "topk values": (lambda x: cr.topk(x, 2).values, lambda t, torch: torch.topk(t, 2).values),
    "topk smallest dim 0": (lambda x: x.topk(2, dim=0, largest=False)[0],
                            lambda t, torch: t.topk(2, dim=0, largest=False)[0]),
    "addcmul": (lambda x: cr.addcmul(x, x[0], x.exp(), value=0.5),
                lambda t, torch: torch.addcmul(t, t[0], t.exp(), value=0.5)),
    "addcdiv": (lambda x: x.addcdiv(x ** 2, x.exp(), value=-2),
                lambda t, torch: t.addcdiv(t ** 2, t.exp(), value=-2)),
    "lerp number": (lambda x: cr.lerp(x, x.sin(), 0.3),
                    lambda t, torch: torch.lerp(t, t.sin(), 0.3)),
    "lerp tensor weight": (lambda x: x.lerp(x[0] * 0, x.cos()),
                           lambda t, torch: t.lerp(t[0] * 0, t.cos())),
}


@pytest.mark.parametrize("case", sorted(DETERMINISTIC))
def test_values_and_gradients_equal_pytorchs(case):
    torch = pytest.importorskip("torch")
    ours, theirs = DETERMINISTIC[case]
    _same_as_torch(ours, lambda t: theirs(t, torch), X)


@pytest.mark.parametrize("case", sorted(DETERMINISTIC))
def test_derivatives_match_finite_differences(case):
    check_grads(DETERMINISTIC[case][0], [X], order=2)


def test_topk_indices_and_named_result_equal_pytorchs():
    torch = pytest.importorskip("torch")
    for kwargs in ({}, {"largest": False}, {"dim": 0}, {"dim": 0, "largest": False, "k": 3}):
        k = kwargs.pop("k", 2)
        ours, theirs = cr.topk(cr.tensor(X), k, **kwargs), torch.topk(torch.tensor(X), k, **kwargs)
        assert ours._fields == ("values", "indices")
        assert np.array_equal(ours.indices.numpy(), theirs.indices.numpy())
        assert ours.indices.dtype == np.int64


def test_gather_and_index_select_keep_integer_dtypes():
    x = cr.arange(12).reshape(3, 4)
    assert cr.gather(x, 0, cr.tensor(IDX)).dtype == np.int64
    np.testing.assert_array_equal(cr.gather(x, 0, cr.tensor(IDX)).numpy(),
                                  np.take_along_axis(np.arange(12).reshape(3, 4), IDX, 0))
    assert x.index_select(1, cr.tensor(2)).tolist() == [[2], [6], [10]]


def test_scatter_with_repeated_positions_keeps_the_last_value_and_its_gradient():
    x = cr.zeros(3, requires_grad=True)
    src = cr.tensor([1., 2., 3.], requires_grad=True)
    out = x.scatter(0, cr.tensor([1, 1, 0]), src)
    assert out.tolist() == [3.0, 2.0, 0.0]
    out.sum().backward()
    assert src.grad.tolist() == [0.0, 1.0, 1.0] and x.grad.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.filterwarnings("ignore:The reduce argument")
def test_scatter_multiply():
    torch = pytest.importorskip("torch")
    ours = cr.tensor(X).scatter(1, cr.tensor(IDX1[:, :1]), cr.tensor(X), reduce="multiply")
    theirs = torch.tensor(X).scatter(1, torch.tensor(IDX1[:, :1]), torch.tensor(X),
                                     reduce="multiply")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    ours = cr.ones(3).scatter(0, cr.tensor([0, 0, 2]), 3.0, reduce="multiply")
    assert ours.tolist() == [9.0, 1.0, 3.0]


def test_in_place_versions_change_the_tensor_and_record():
    x = cr.tensor(X, requires_grad=True)
    y = x * 1
    y.masked_fill_(cr.tensor(MASK), 0.0).addcmul_(y, y, value=2).addcdiv_(x, x + 5).lerp_(x, 0.5)
    expected = np.where(MASK, 0.0, X)
    expected = expected + 2 * expected * expected
    expected = expected + X / (X + 5)
    expected = expected + 0.5 * (X - expected)
    np.testing.assert_allclose(y.detach().numpy(), expected)
    check_grads(lambda a: (a * 1).scatter_add_(0, cr.tensor(IDX), a[1:]).scatter_(
        1, cr.tensor(IDX1), a * 3).clamp_(-0.5, 0.5), [X], order=1)
    z = cr.zeros(2)
    assert z.scatter_(0, cr.tensor([1]), cr.tensor([4.0])) is z and z.tolist() == [0.0, 4.0]
    assert cr.clamp_(z, 1, 2) is z and z.tolist() == [1.0, 2.0]


def test_meshgrid_equals_pytorchs_and_numpys():
    torch = pytest.importorskip("torch")
    a, b, c = np.arange(3.0), np.arange(2.0) + 5, np.arange(4.0) - 1
    for indexing in ("ij", "xy"):
        ours = cr.meshgrid(cr.tensor(a), cr.tensor(b), cr.tensor(c), indexing=indexing)
        theirs = torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c),
                                indexing=indexing)
        numpys = np.meshgrid(a, b, c, indexing=indexing)
        for o, t, n in zip(ours, theirs, numpys):
            assert np.array_equal(o.numpy(), t.numpy()) and np.array_equal(o.numpy(), n)
    assert [g.shape for g in cr.meshgrid([cr.arange(2), cr.arange(3)])] == [(2, 3), (2, 3)]
    check_grads(lambda p, q: cr.meshgrid(p, q, indexing="xy")[0] * cr.meshgrid(p, q)[1].T,
                [a, b], order=2)


def test_argmax_argmin_and_reductions_take_axis():
    x = cr.tensor(X)
    for name in ("argmax", "argmin"):
        for d in (0, 1, -1):
            expected = getattr(np, name)(X, axis=d)
            assert np.array_equal(getattr(cr, name)(x, axis=d).numpy(), expected)
            assert np.array_equal(getattr(x, name)(dim=d).numpy(), expected)
    assert cr.argmax(x, axis=1, keepdim=True).shape == (3, 1)
    np.testing.assert_allclose(x.max(axis=1).values.numpy(), X.max(axis=1))
    np.testing.assert_allclose(cr.min(x, axis=0).values.numpy(), X.min(axis=0))
    np.testing.assert_allclose(x.sum(axis=1).numpy(), X.sum(axis=1))
    np.testing.assert_allclose(cr.mean(x, axis=0).numpy(), X.mean(axis=0))


def test_is_tensor_numel_and_the_device():
    assert cr.is_tensor(cr.ones(2)) and not cr.is_tensor(np.ones(2))
    assert cr.numel(cr.ones(2, 3)) == 6 and cr.numel([[1, 2]]) == 2
    assert cr.numel.__wrapped__ is cr.Tensor.numel
    x = cr.ones(2)
    assert x.device == cr.device("cpu") and x.device.type == "cpu" and str(x.device) == "cpu"
    assert repr(cr.device("cpu:0")) == "device(type='cpu', index=0)"
    assert cr.device(type="cpu", index=0) == cr.device("cpu:0") != cr.device("cpu")
    assert cr.zeros(2, device=cr.device("cpu")).tolist() == [0.0, 0.0]
    assert x.to(x.device) is x or x.to(x.device).tolist() == [1.0, 1.0]
    # other kinds of device can be named (as in PyTorch without the hardware), not used
    assert repr(cr.device("cuda:1")) == "device(type='cuda', index=1)"
    assert cr.device("cuda", 1) == cr.device("cuda:1") != cr.device("cpu:1")
    assert str(cr.device("mps")) == "mps" and cr.device("cuda").type == "cuda"
    for bad in ("cuda", "cuda:0", "mps", cr.device("cuda:1")):
        with pytest.raises(RuntimeError, match="runs on the CPU"):
            cr.zeros(2, device=bad)
        with pytest.raises(RuntimeError, match="runs on the CPU"):
            x.to(bad)
        with pytest.raises(RuntimeError, match="runs on the CPU"):
            cr.nn.Linear(2, 2).to(bad)


def test_public_functions_are_the_methods():
    for name in ("gather", "scatter", "scatter_add", "masked_fill", "masked_select", "topk",
                 "index_select", "take_along_dim", "addcmul", "addcdiv", "lerp", "clamp_"):
        assert getattr(cr, name).__wrapped__ is vars(cr.Tensor)[name], name


# ---------------------------------------------------------------------------------------------
# random draws: seeded statistics, shapes and dtypes


def _near(sample, value, sd, n):
    """The mean of ``n`` draws is within 5 standard errors of ``value``."""
    assert abs(float(np.mean(sample)) - value) < 5 * sd / np.sqrt(n)


def test_normal_overloads_shapes_dtypes_and_moments():
    cr.manual_seed(0)
    x = cr.normal(2.0, 3.0, size=(200, 100))
    assert x.shape == (200, 100) and x.dtype == np.float32
    _near(x.numpy(), 2.0, 3.0, x.numel())
    assert abs(float(x.std()) - 3.0) < 0.05
    assert cr.normal(0.0, 1.0, (2,), dtype=cr.float64).dtype == np.float64
    means = cr.tensor([[-10.0], [10.0]], dtype=cr.float64)
    y = cr.normal(means, cr.tensor([0.5, 1.0, 2.0, 0.0], dtype=cr.float64).expand(2000, 4)[:2])
    assert y.shape == (2, 4) and y.dtype == np.float64
    many = cr.normal(cr.full((5000,), 4.0), 0.5)
    _near(many.numpy(), 4.0, 0.5, 5000)
    assert abs(float(many.std()) - 0.5) < 0.02
    spread = cr.normal(1.0, cr.full((5000,), 2.0))
    _near(spread.numpy(), 1.0, 2.0, 5000)
    assert cr.normal(cr.zeros(3), cr.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_normal_gives_zero_gradient_to_its_tensors_as_pytorch_does():
    mean = cr.zeros(3, requires_grad=True)
    std = cr.ones(3, requires_grad=True)
    out = cr.normal(mean * 2, std)
    assert out.requires_grad
    out.sum().backward()
    assert mean.grad.tolist() == [0.0] * 3 and std.grad.tolist() == [0.0] * 3


def test_seeds_reproduce_and_generators_are_used():
    cr.manual_seed(5)
    a = [cr.normal(0.0, 1.0, (3,)), cr.randperm(6), cr.bernoulli(cr.full((6,), 0.5)),
         cr.multinomial(cr.ones(6), 3), cr.randint_like(cr.zeros(4), 9), cr.empty(3).normal_()]
    cr.manual_seed(5)
    b = [cr.normal(0.0, 1.0, (3,)), cr.randperm(6), cr.bernoulli(cr.full((6,), 0.5)),
         cr.multinomial(cr.ones(6), 3), cr.randint_like(cr.zeros(4), 9), cr.empty(3).normal_()]
    for p, q in zip(a, b):
        assert p.tolist() == q.tolist()
    g = cr.Generator().manual_seed(1)
    first = cr.randperm(10, generator=g).tolist()
    assert cr.randperm(10, generator=g.manual_seed(1)).tolist() == first


def test_randperm_randint_like_bernoulli_multinomial():
    cr.manual_seed(1)
    p = cr.randperm(50)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(50))
    assert cr.randperm(0).shape == (0,) and cr.randperm(4, dtype=cr.float32).dtype == np.float32
    r = cr.randint_like(cr.zeros(1000, dtype=cr.int32), 3, 6)
    assert r.dtype == np.int32 and set(r.tolist()) == {3, 4, 5}
    probs = cr.tensor([0.0, 0.25, 1.0]).expand(4000, 3)
    draws = cr.bernoulli(probs)
    assert draws.dtype == np.float32 and draws.shape == (4000, 3)
    assert draws[:, 0].sum().item() == 0 and draws[:, 2].sum().item() == 4000
    _near(draws[:, 1].numpy(), 0.25, np.sqrt(0.25 * 0.75), 4000)
    assert cr.bernoulli(cr.zeros(5), p=1.0).tolist() == [1.0] * 5
    w = cr.tensor([[1.0, 3.0, 0.0], [0.0, 0.0, 2.0]])
    m = cr.multinomial(w, 4000, replacement=True)
    assert m.dtype == np.int64 and m.shape == (2, 4000)
    _near((m[0] == 1).double().numpy(), 0.75, np.sqrt(0.75 * 0.25), 4000)
    assert set(m[1].tolist()) == {2}
    unique = cr.multinomial(cr.tensor([1.0, 2.0, 3.0, 4.0]), 4)
    assert sorted(unique.tolist()) == [0, 1, 2, 3]


def test_in_place_draws():
    cr.manual_seed(2)
    x = cr.empty(20000, dtype=cr.float64)
    assert x.normal_(1.0, 2.0) is x
    _near(x.numpy(), 1.0, 2.0, x.numel())
    x.uniform_(-2, 4)
    assert float(x.min()) >= -2 and float(x.max()) < 4
    _near(x.numpy(), 1.0, 6 / np.sqrt(12), x.numel())
    x.exponential_(4.0)
    assert float(x.min()) >= 0
    _near(x.numpy(), 0.25, 0.25, x.numel())
    x.bernoulli_(0.3)
    assert set(np.unique(x.numpy())) == {0.0, 1.0}
    _near(x.numpy(), 0.3, np.sqrt(0.21), x.numel())
    x.random_(10)
    assert set(np.unique(x.numpy())) == set(range(10))
    x.random_(-3, 0)
    assert set(np.unique(x.numpy())) == {-3, -2, -1}
    y = cr.empty(1000, dtype=cr.uint8).random_()
    assert y.dtype == np.uint8 and int(y.max()) > 200
    f = cr.empty(1000).random_()
    assert float(f.min()) >= 0 and float(f.max()) <= 2 ** 24
    assert cr.empty(3).uniform_(**{"from": 5, "to": 6}).ge(5).all()
    assert cr.zeros(3).fill_(2.0).tolist() == [2.0] * 3
    assert cr.zeros(3).copy_(cr.tensor([1.0, 2.0, 3.0])).tolist() == [1.0, 2.0, 3.0]


def test_in_place_draws_follow_autograd_rules():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.normal_()
    with cr.no_grad():
        w.normal_()
    h = w * 2
    h.uniform_()
    h.sum().backward()  # the old values are replaced: no gradient reaches w
    assert w.grad.tolist() == [0.0] * 3


# ---------------------------------------------------------------------------------------------
# bad inputs: PyTorch's error types, messages naming the function


BAD = [
    (lambda: cr.gather(cr.ones(3, 4), 0, cr.tensor([[0.0]])), RuntimeError, "int64"),
    (lambda: cr.gather(cr.ones(3, 4), 0, cr.tensor([0])), RuntimeError, "same number"),
    (lambda: cr.gather(cr.ones(3, 4), 0, cr.tensor([[3]])), RuntimeError, "out of bounds"),
    (lambda: cr.gather(cr.ones(3, 4), 0, cr.zeros(1, 5, dtype=cr.int64)), RuntimeError,
     "Size does not match"),
    (lambda: cr.gather(cr.ones(3, 4), 2, cr.tensor([[0]])), IndexError, "out of range"),
    (lambda: cr.index_select(cr.ones(3), 0, cr.tensor([[0]])), IndexError, "vector"),
    (lambda: cr.index_select(cr.ones(3), 0, cr.tensor([3])), IndexError, "out of range"),
    (lambda: cr.scatter(cr.ones(3), 0, cr.tensor([0]), cr.tensor([1], dtype=cr.int64)),
     RuntimeError, "dtype"),
    (lambda: cr.scatter(cr.ones(3), 0, cr.tensor([0]), 1.0, reduce="max"), RuntimeError,
     "reduce"),
    (lambda: cr.scatter_add(cr.ones(3), 0, cr.tensor([0, 1]), cr.ones(1)), RuntimeError,
     "larger than src"),
    (lambda: cr.masked_fill(cr.ones(3), cr.ones(3), 0.0), RuntimeError, "boolean masks"),
    (lambda: cr.ones(3).masked_fill_(cr.ones(2, 3) > 0, 0.0), RuntimeError, "shape"),
    (lambda: cr.masked_fill(cr.ones(3), cr.ones(3) > 0, cr.ones(2)), RuntimeError,
     "0-dimensional"),
    (lambda: cr.masked_select(cr.ones(3), cr.tensor([1, 0, 1])), RuntimeError, "boolean"),
    (lambda: cr.topk(cr.ones(3), 4), RuntimeError, "out of range"),
    (lambda: cr.topk(cr.ones(3), 1.5), TypeError, "must be int"),
    (lambda: cr.addcdiv(cr.ones(2), cr.tensor([1, 2]), cr.tensor([1, 2])), RuntimeError,
     "Integer division"),
    (lambda: cr.lerp(cr.tensor([1, 2]), cr.tensor([3, 4]), 0.5), RuntimeError, "floating"),
    (lambda: cr.meshgrid(cr.ones(2, 2)), RuntimeError, "0D or 1D"),
    (lambda: cr.meshgrid(cr.ones(2), indexing="yx"), ValueError, "indexing"),
    (lambda: cr.take_along_dim(cr.ones(2, 3), cr.tensor([0]), 1), RuntimeError, "dimensions"),
    (lambda: cr.normal(0.0, 1.0), TypeError, "size"),
    (lambda: cr.normal(0.0, -1.0, (2,)), RuntimeError, "std >= 0.0"),
    (lambda: cr.normal(cr.zeros(2), cr.tensor([1.0, -1.0])), RuntimeError, "std >= 0.0"),
    (lambda: cr.normal(cr.zeros(2), 1.0, (2,)), TypeError, "size"),
    (lambda: cr.normal(cr.zeros(2, dtype=cr.int64), 1.0), NotImplementedError, "dtype"),
    (lambda: cr.normal(0.0, 1.0, (2,), device="cuda"), RuntimeError, "CPU"),
    (lambda: cr.randperm(-1), RuntimeError, "non-negative"),
    (lambda: cr.randint_like(cr.ones(2), 3, 3), RuntimeError, "less than"),
    (lambda: cr.bernoulli(cr.tensor([0.5, 1.5])), RuntimeError, "p_in"),
    (lambda: cr.bernoulli(cr.tensor([1, 0])), NotImplementedError, "dtype"),
    (lambda: cr.multinomial(cr.ones(2), 3), RuntimeError, "without replacement"),
    (lambda: cr.multinomial(cr.tensor([1.0, -1.0]), 1), RuntimeError, "element < 0"),
    (lambda: cr.multinomial(cr.zeros(2), 1), RuntimeError, "sum of probabilities"),
    (lambda: cr.multinomial(cr.ones(2, 2, 2), 1), RuntimeError, "1 or 2 dim"),
    (lambda: cr.multinomial(cr.ones(2), 0), RuntimeError, "num_samples"),
    (lambda: cr.ones(2).normal_(0, -1), RuntimeError, "std >= 0.0"),
    (lambda: cr.ones(2, dtype=cr.int64).normal_(), NotImplementedError, "int64"),
    (lambda: cr.ones(2).uniform_(1, 0), RuntimeError, "from=1.0 > to=0.0"),
    (lambda: cr.ones(2).uniform_(low=1), TypeError, "unexpected keyword"),
    (lambda: cr.ones(2).exponential_(0), RuntimeError, "lambda > 0.0"),
    (lambda: cr.ones(2).bernoulli_(2.0), RuntimeError, "[0, 1]"),
    (lambda: cr.ones(2).random_(3, 3), RuntimeError, "less than"),
    (lambda: cr.ones(2).random_(0), RuntimeError, "from=0 >= to=0"),
    (lambda: cr.device("gpu:0"), RuntimeError, "Expected one of cpu, cuda"),
    (lambda: cr.device("cpu:x"), RuntimeError, "invalid device string"),
    (lambda: cr.device(0), TypeError, "must be str"),
]


@pytest.mark.parametrize(("call", "kind", "phrase"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs_raise_pytorchs_error_types_with_clear_messages(call, kind, phrase):
    with pytest.raises(kind) as caught:
        call()
    assert phrase in str(caught.value), str(caught.value)
