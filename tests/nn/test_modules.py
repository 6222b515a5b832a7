"""chainrule.nn's Module machinery and layers against PyTorch's: weights copied through
state_dict, then values, parameter gradients, state_dict keys and shapes, named_parameters
order, reprs and error types; hooks, modes, dtypes and containers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def _copy(src, dst):
    """Load a PyTorch module's state into a chainrule one (as ndarrays half the time)."""
    state = src.state_dict()
    result = dst.load_state_dict({k: v.numpy() for k, v in state.items()})
    assert repr(result) == "<All keys matched successfully>"
    return dst


def _build(m):
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.Embedding(7, 4, padding_idx=0)
            self.layers = m.ModuleList([m.Linear(4, 6), m.Linear(6, 6)])
            self.heads = m.ModuleDict({"a": m.Bilinear(6, 4, 3), "b": m.Linear(6, 3, bias=False)})
            self.act = m.PReLU(6)
            self.out = m.Sequential(m.GELU(), m.Flatten(), m.Linear(6, 2))
            self.register_buffer("scale", (torch if m is tnn else cr).tensor([2.0]))

        def forward(self, idx):
            e = self.embed(idx).mean(1)
            h = self.act(self.layers[1](self.layers[0](e).tanh()))
            h = h + self.heads["b"](h).sum(1, keepdim=True) + self.heads["a"](h, e)[:, :1]
            return self.out(h) * self.scale

    return Net()


def test_a_net_copied_from_torch_computes_torchs_values_and_gradients():
    torch.manual_seed(0)
    tnet = _build(tnn).double()
    cnet = _build(nn).double()
    tkeys = [(k, tuple(v.shape)) for k, v in tnet.state_dict().items()]
    ckeys = [(k, tuple(v.shape)) for k, v in cnet.state_dict().items()]
    assert ckeys == tkeys
    assert [n for n, _ in cnet.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in cnet.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert [n for n, _ in cnet.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in cnet.named_children()] == [n for n, _ in tnet.named_children()]
    assert repr(cnet) == repr(tnet)
    _copy(tnet, cnet)
    idx = np.array([[0, 1, 2], [3, 0, 6], [5, 5, 4]])
    tout, cout = tnet(torch.tensor(idx)), cnet(cr.tensor(idx))
    np.testing.assert_allclose(cout.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    tout.pow(2).sum().backward()
    (cout ** 2).sum().backward()
    for (name, tp), (_, cp) in zip(tnet.named_parameters(), cnet.named_parameters()):
        np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=name)


def test_mlp_with_loss_matches_torch_in_float32_from_tensors():
    torch.manual_seed(1)
    tnet = tnn.Sequential(tnn.Linear(5, 8), tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(8, 3),
                          tnn.LogSoftmax(dim=1))
    cnet = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3),
                         nn.LogSoftmax(dim=1))
    assert repr(cnet) == repr(tnet)
    cnet.load_state_dict(tnet.state_dict())  # PyTorch's own tensors
    tnet.eval()
    cnet.eval()
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 2, 1, 0])
    tl = tnn.NLLLoss()(tnet(torch.tensor(x)), torch.tensor(y))
    cl = nn.NLLLoss()(cnet(cr.tensor(x)), cr.tensor(y))
    np.testing.assert_allclose(cl.item(), tl.item(), rtol=1e-6)
    tl.backward()
    cl.backward()
    for tp, cp in zip(tnet.parameters(), cnet.parameters()):
        assert cp.grad.dtype == np.float32
        np.testing.assert_allclose(cp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


LAYERS = [
    lambda m: m.Linear(3, 4), lambda m: m.Linear(3, 4, bias=False), lambda m: m.Bilinear(2, 3, 4),
    lambda m: m.Dropout(0.2), lambda m: m.Embedding(10, 3), lambda m: m.Embedding(10, 3, 2),
    lambda m: m.ReLU(), lambda m: m.LeakyReLU(), lambda m: m.LeakyReLU(0.2, True),
    lambda m: m.PReLU(), lambda m: m.PReLU(3, 0.1), lambda m: m.ELU(), lambda m: m.GELU(),
    lambda m: m.GELU("tanh"), lambda m: m.SiLU(), lambda m: m.Sigmoid(), lambda m: m.Tanh(),
    lambda m: m.Softplus(), lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(),
    lambda m: m.Flatten(), lambda m: m.Unflatten(1, (2, 5)), lambda m: m.Identity(),
    lambda m: m.MSELoss(), lambda m: m.L1Loss(reduction="sum"), lambda m: m.SmoothL1Loss(),
    lambda m: m.HuberLoss(), lambda m: m.CrossEntropyLoss(), lambda m: m.NLLLoss(),
    lambda m: m.BCELoss(), lambda m: m.BCEWithLogitsLoss(), lambda m: m.KLDivLoss(),
    lambda m: m.Sequential(), lambda m: m.ModuleList(), lambda m: m.ModuleDict(),
    lambda m: m.ModuleList([m.ReLU(), m.ReLU(), m.Tanh(), m.ReLU()]),
    lambda m: m.Sequential(m.Linear(1, 2), m.Sequential(m.ReLU(), m.Linear(2, 1))),
    lambda m: m.LazyLinear(3),  # (PyTorch refuses the shapes of its state before a call)
]


@pytest.mark.parametrize("make", LAYERS)
def test_reprs_and_state_dict_layout_are_torchs(make):
    t, c = make(tnn), make(nn)
    assert repr(c) == repr(t)
    if isinstance(t, tnn.LazyLinear):
        assert list(c.state_dict()) == list(t.state_dict())
    else:
        assert [(k, tuple(v.shape)) for k, v in c.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert c.training is t.training


def test_parameter_repr_and_results_are_plain_tensors():
    t, c = tnn.Parameter(torch.tensor([1.0, 2.0])), nn.Parameter(cr.tensor([1.0, 2.0]))
    assert repr(c) == repr(t)
    assert c.requires_grad and c.is_leaf
    assert type(c * 2) is cr.Tensor and type(c[0]) is cr.Tensor and type(c.detach()) is cr.Tensor
    m = nn.Module()
    m.w = c
    m.v = c * 2  # a computed tensor is an ordinary attribute
    assert [n for n, _ in m.named_parameters()] == ["w"]
    (m.v.sum()).backward()
    assert type(c.grad) is cr.Tensor


def test_load_state_dict_strict_and_not():
    torch.manual_seed(0)
    t = tnn.Sequential(tnn.Linear(2, 3), tnn.Linear(3, 1))
    c = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    state = {k: v for k, v in t.state_dict().items() if k != "1.bias"}
    state["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as terr:
        t.load_state_dict(state)
    with pytest.raises(RuntimeError) as cerr:
        c.load_state_dict(state)
    assert str(cerr.value) == str(terr.value)
    tres = t.load_state_dict(state, strict=False)
    cres = c.load_state_dict(state, strict=False)
    assert (cres.missing_keys, cres.unexpected_keys) == (tres.missing_keys, tres.unexpected_keys)
    assert repr(cres) == repr(tres)
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), t[0].weight.detach().numpy())
    bad = {"0.weight": torch.zeros(3, 3)}
    with pytest.raises(RuntimeError) as terr:
        t.load_state_dict(bad, strict=False)
    with pytest.raises(RuntimeError) as cerr:
        c.load_state_dict(bad, strict=False)
    assert str(cerr.value) == str(terr.value)


def test_load_state_dict_copies_in_place_and_keeps_the_parameter_objects():
    c = nn.Linear(2, 2)
    w = c.weight
    version = w._version
    c.load_state_dict({"weight": np.eye(2), "bias": cr.zeros(2)})
    assert c.weight is w and w._version > version
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(2))
    assert w.dtype == np.float32


def test_buffers_persistent_and_not():
    c = nn.Module()
    c.register_buffer("a", cr.ones(2))
    c.register_buffer("b", cr.zeros(1), persistent=False)
    assert [n for n, _ in c.named_buffers()] == ["a", "b"]
    assert list(c.state_dict()) == ["a"]
    c.a = cr.zeros(2)
    assert float(c.state_dict()["a"].sum()) == 0.0
    with pytest.raises(TypeError, match="as buffer 'a'"):
        c.a = 3.0


def test_getattr_and_setattr_errors_are_torchs():
    t, c = tnn.Linear(2, 3), nn.Linear(2, 3)
    with pytest.raises(AttributeError) as terr:
        _ = t.nothing
    with pytest.raises(AttributeError) as cerr:
        _ = c.nothing
    assert str(cerr.value) == str(terr.value)
    with pytest.raises(TypeError) as terr:
        t.weight = torch.zeros(3, 2)
    with pytest.raises(TypeError) as cerr:
        c.weight = cr.zeros(3, 2)
    assert str(cerr.value) == str(terr.value)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)
    with pytest.raises(KeyError, match="contain"):
        c.register_parameter("a.b", None)
    with pytest.raises(ValueError, match="boolean"):
        c.train("yes")


def test_hooks_change_inputs_and_outputs_and_can_be_removed():
    lin = nn.Linear(2, 2)
    seen = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out + 1)
    out = lin(cr.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(
        lin.bias.detach().numpy() + 1, (3, 2)), rtol=1e-6)
    assert seen == [(3, 2)]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(lin(cr.zeros(1, 2)).detach().numpy()[0], lin.bias.detach().numpy())


def test_train_eval_apply_zero_grad_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.Dropout()))
    net.eval()
    assert not any(m.training for m in net.modules())
    x = cr.ones(4, 2)
    np.testing.assert_array_equal(net(x).detach().numpy(), net[0](x).detach().numpy())
    net.train()
    assert all(m.training for m in net.modules())
    names = []
    net.apply(lambda m: names.append(type(m).__name__))
    assert names == ["Linear", "Dropout", "Dropout", "Sequential", "Sequential"]
    net(x).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_float_keep_parameter_objects():
    lin = nn.Linear(2, 2)
    w = lin.weight
    assert lin.double() is lin and lin.weight is w and w.dtype == np.float64
    assert lin.to(cr.float32).weight.dtype == np.float32
    assert lin.to("cpu", dtype=cr.float64).bias.dtype == np.float64
    with pytest.raises(RuntimeError, match="CPU"):
        lin.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        lin.to(cr.int64)


def test_sequential_modulelist_moduledict():
    s = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear) and isinstance(s[1:], nn.Sequential)
    assert [n for n, _ in s[1:].named_parameters()] == ["2.weight", "2.bias"]
    s.append(nn.Tanh())
    assert len(s) == 4 and list(s._modules) == ["0", "1", "2", "3"]
    with pytest.raises(IndexError):
        _ = s[4]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 1))
    ml += [nn.ReLU()]
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"x": nn.ReLU()})
    md["y"] = nn.Tanh()
    assert list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
    u = nn.Unflatten(1, (2, -1))
    assert u(cr.ones(3, 6)).shape == (3, 2, 3)
    assert nn.Flatten()(cr.ones(3, 2, 2)).shape == (3, 4)


def test_lazy_linear_materialises_on_the_first_call():
    lazy = nn.LazyLinear(3)
    w = lazy.weight
    out = lazy(cr.ones(2, 5))
    assert out.shape == (2, 3) and type(lazy) is nn.Linear and lazy.weight is w
    assert lazy.weight.shape == (3, 5) and lazy.in_features == 5
    assert float(lazy.weight.detach().abs().max()) <= 1 / np.sqrt(5)
    assert repr(lazy) == "Linear(in_features=5, out_features=3, bias=True)"


def test_lazy_linear_takes_the_shapes_and_values_of_a_loaded_state_dict():
    # the book's "File I/O": a fresh lazy MLP loads a trained one's state, then computes
    # what it computes (PyTorch's LazyModuleMixin load hook materialises the parameters)
    cr.manual_seed(0)
    trained = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    x = cr.randn(3, 5)
    y = trained(x)
    clone = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    weight = clone[0].weight
    clone.load_state_dict(trained.state_dict())
    assert type(clone[0]) is nn.LazyLinear and clone[0].weight.shape == (4, 5)
    assert clone(x).tolist() == y.tolist()  # the loaded values, not a fresh initialisation
    assert type(clone[0]) is nn.Linear and clone[0].weight is weight
    assert clone[0].in_features == 5 and clone[2].in_features == 4
    with pytest.raises(RuntimeError, match="Missing key"):  # still strict
        nn.Sequential(nn.LazyLinear(4)).load_state_dict({"0.weight": cr.ones(4, 5)})


def test_linear_default_init_bounds():
    cr.manual_seed(0)
    lin = nn.Linear(50, 400)
    bound = 1 / np.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound  # U(-b, b) has std b / sqrt(3)
    assert np.abs(b).max() <= bound
    emb = nn.Embedding(1000, 20, padding_idx=3)
    e = emb.weight.detach().numpy()
    assert np.all(e[3] == 0) and abs(e.std() - 1) < 0.02


def test_second_order_and_forward_mode_through_a_module():
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.SiLU(), nn.Linear(4, 1)).double()
    x = cr.randn(5, 3, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda x: net(x), [x])
    _, tangent = cr.func.jvp(lambda x: net(x), (x.detach(),), (cr.ones(5, 3, dtype=cr.float64),))
    g = cr.autograd.grad(net(x).sum(), x)[0]
    np.testing.assert_allclose(tangent.detach().numpy()[:, 0], g.detach().numpy().sum(1),
                               rtol=1e-10)
