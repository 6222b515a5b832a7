"""torch.func's module API on chainrule: functional_call, stack_module_state, and
grad_and_value, against closed forms, loops, and PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.func import (
    functional_call,
    grad,
    grad_and_value,
    stack_module_state,
    value_and_grad,
    vmap,
)


def mlp() -> nn.Module:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(cr.float64)


def arr(t) -> np.ndarray:
    """A tensor's values (a model's outputs require grad)."""
    return t.detach().numpy()


def params_of(model) -> dict:
    return {k: v.detach() for k, v in model.named_parameters()}


def test_grad_and_value_is_value_and_grad_the_other_way_round():
    f = lambda x: (x ** 3).sum()  # noqa: E731
    x = np.array([1.0, 2.0])
    g, value = grad_and_value(f)(x)
    np.testing.assert_allclose(g, 3 * x ** 2)
    assert float(value) == 9.0
    (g, (value, aux)) = grad_and_value(lambda x: (f(x), x * 2), has_aux=True)(x)
    np.testing.assert_allclose(g, 3 * x ** 2)
    np.testing.assert_allclose(aux, 2 * x)
    (gx, gy), value = grad_and_value(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, x + 1)
    np.testing.assert_allclose(gx, x + 1)
    np.testing.assert_allclose(gy, x)
    value2, g2 = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, x + 1)
    assert float(value2) == float(value)


def test_grad_and_value_matches_torch_func():
    torch = pytest.importorskip("torch")
    x = np.array([0.5, -1.0, 2.0])
    ours = grad_and_value(lambda x: ((cr.sin(x) * x).sum(), x ** 2), has_aux=True)(x)
    theirs = torch.func.grad_and_value(lambda x: ((torch.sin(x) * x).sum(), x ** 2),
                                       has_aux=True)(torch.tensor(x))
    np.testing.assert_allclose(ours[0], theirs[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1][0], theirs[1][0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1][1], theirs[1][1].numpy(), rtol=1e-12)


def test_functional_call_uses_the_given_tensors_and_restores_the_module():
    model = mlp()
    before = [(k, v) for k, v in model.named_parameters()]
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    zero = {k: cr.zeros_like(v) for k, v in model.named_parameters()}
    zero["2.bias"] = cr.tensor([1.0, -2.0], dtype=cr.float64)
    out = functional_call(model, zero, (x,))
    np.testing.assert_array_equal(arr(out), np.broadcast_to([1.0, -2.0], (5, 2)))
    assert [(k, v) for k, v in model.named_parameters()] == before  # same objects, same order
    # a partial dict: the rest are the module's own; args that is not a tuple is one argument
    partial = functional_call(model, {"2.bias": cr.zeros(2, dtype=cr.float64)}, x)
    np.testing.assert_allclose(arr(partial), arr(model(x) - model[2].bias))
    # two dicts, as for (params, buffers)
    split = ({k: v for k, v in zero.items() if k.startswith("0.")},
             {k: v for k, v in zero.items() if k.startswith("2.")})
    np.testing.assert_array_equal(arr(functional_call(model, split, (x,))), arr(out))


def test_functional_call_restores_on_exceptions_and_checks_its_arguments():
    model = mlp()
    weight = model[0].weight
    with pytest.raises(RuntimeError):
        functional_call(model, {"0.weight": cr.zeros(7, 7, dtype=cr.float64)},
                        (cr.ones(1, 3, dtype=cr.float64),))
    assert model[0].weight is weight
    with pytest.raises(ValueError, match=r"\['0.bias'\] appeared in multiple dictionaries"):
        functional_call(model, ({"0.bias": cr.zeros(4)}, {"0.bias": cr.zeros(4)}), ())
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict"):
        functional_call(model, 3, ())
    with pytest.raises(RuntimeError, match="Error\\(s\\) in reparametrizing for Sequential:\n\t"
                                           "Unexpected key\\(s\\): 'extra'.\n\tMissing key\\(s\\)"
                                           ": '0.bias', '0.weight', '2.bias'."):
        functional_call(model, {"2.weight": cr.zeros(2, 4), "extra": cr.zeros(1)}, (),
                        strict=True)
    assert [k for k, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]


def test_functional_call_swaps_buffers_and_tied_weights():
    bn = nn.BatchNorm1d(3).to(cr.float64).eval()
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    stats = {"running_mean": cr.tensor([1.0, 2.0, 3.0]), "running_var": cr.tensor([4.0] * 3)}
    out = functional_call(bn, stats, (x,))
    np.testing.assert_allclose(arr(out), (arr(x) - [1, 2, 3]) / np.sqrt(4 + bn.eps))
    assert float(bn.running_mean.sum()) == 0.0

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    tied, x = Tied(), cr.tensor([1.0, 2.0])
    twice = cr.tensor([[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(arr(functional_call(tied, {"a.weight": twice}, (x,))),
                               [4.0, 8.0])  # both uses replaced
    untied = functional_call(tied, {"a.weight": twice}, (x,), tie_weights=False)
    np.testing.assert_allclose(arr(untied), arr(tied.a.weight @ (2 * x)))
    with pytest.raises(ValueError, match="which are tied. Consider using tie_weights=False"):
        functional_call(tied, {"a.weight": twice, "b.weight": twice * 1}, (x,))


def loss(model, params, x, y):
    return ((functional_call(model, params, (x,)) - y) ** 2).sum()


def test_grad_with_respect_to_the_dict():
    model = mlp()
    rng = np.random.default_rng(1)
    x, y = cr.tensor(rng.standard_normal((6, 3))), cr.tensor(rng.standard_normal((6, 2)))
    g = grad(lambda p: loss(model, p, x, y))(params_of(model))
    assert set(g) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    out = loss(model, dict(model.named_parameters()), x, y)  # the same loss, by .backward()
    out.backward()
    for k, p in model.named_parameters():
        np.testing.assert_allclose(g[k].numpy(), p.grad.numpy(), rtol=1e-12)


def test_per_example_gradients_with_vmap():
    model = mlp()
    rng = np.random.default_rng(2)
    x, y = cr.tensor(rng.standard_normal((4, 3))), cr.tensor(rng.standard_normal((4, 2)))
    params = params_of(model)
    per_example = vmap(grad(lambda p, x, y: loss(model, p, x[None], y[None])),
                       in_axes=(None, 0, 0))(params, x, y)
    for b in range(4):
        one = grad(lambda p: loss(model, p, x[b:b + 1], y[b:b + 1]))(params)
        for k in params:
            np.testing.assert_allclose(arr(per_example[k][b]), arr(one[k]), rtol=1e-10)


def test_stack_module_state_and_an_ensemble_under_vmap():
    models = [mlp() for _ in range(3)]
    for i, m in enumerate(models):
        for p in m.parameters():
            p.data = p.data + i  # three different models
    params, buffers = stack_module_state(models)
    assert buffers == {}
    assert params["0.weight"].shape == (3, 4, 3)
    assert params["0.weight"].requires_grad and params["0.weight"].grad_fn is None  # leaves
    np.testing.assert_array_equal(arr(params["2.bias"][1]),
                                  arr(models[1][2].bias))
    x = cr.tensor(np.random.default_rng(3).standard_normal((5, 3)))
    out = vmap(lambda p: functional_call(models[0], p, (x,)))(
        {k: v.detach() for k, v in params.items()})
    for i, m in enumerate(models):
        np.testing.assert_allclose(arr(out[i]), arr(m(x)), rtol=1e-12)
    frozen = [mlp().requires_grad_(False) for _ in range(2)]
    assert not stack_module_state(frozen)[0]["0.bias"].requires_grad
    bns = [nn.BatchNorm1d(2), nn.BatchNorm1d(2)]
    _, buffers = stack_module_state(bns)
    assert buffers["running_var"].shape == (2, 2)
    with pytest.raises(RuntimeError, match="Expected all models to be of the same class"):
        stack_module_state([nn.Linear(2, 2), nn.Tanh()])
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        stack_module_state([])


def test_against_torch_func():
    torch = pytest.importorskip("torch")
    model = mlp()
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2)).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    ours = grad(lambda p: loss(model, p, cr.tensor(x), cr.tensor(y)))(params_of(model))
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    theirs = torch.func.grad(lambda p: ((torch.func.functional_call(tmodel, p, (
        torch.tensor(x),)) - torch.tensor(y)) ** 2).sum())(tparams)
    for k in ours:
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-10)


def test_nn_utils_stateless_is_the_same_function():
    from chainrule.nn.utils import stateless

    assert stateless.functional_call is functional_call
