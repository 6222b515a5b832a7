"""Convolution: ``nn.functional.conv1d/2d/3d``, ``conv_transpose1d/2d/3d`` and the
``Conv*`` / ``ConvTranspose*`` modules.

Oracles: central finite differences in float64 (``gradcheck``, ``gradgradcheck``,
``check_grads`` for forward mode), closed forms (a kernel of ones sums windows; the default
initialisation's bounds), and PyTorch where installed (values and the gradients of input,
weight and bias to 1e-10 in float64, over a grid of strides, paddings, dilations, groups and
output paddings; modules loaded from PyTorch's state dicts).  The primitives themselves are in
``tests/rules/primitive_specs.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import check_grads


def _rng(seed: int = 15):
    return np.random.default_rng(seed)


def _tensors(*shapes, seed=15, requires_grad=True):
    rng = _rng(seed)
    return [cr.tensor(rng.standard_normal(s), requires_grad=requires_grad) for s in shapes]


# --------------------------------------------------------------------------------------------
# closed forms


def test_kernel_of_ones_sums_each_window():
    x = cr.arange(1.0, 6.0).reshape(1, 1, 5)  # 1 2 3 4 5
    y = F.conv1d(x, cr.ones(1, 1, 3), padding=1)
    np.testing.assert_array_equal(y.numpy(), [[[3.0, 6.0, 9.0, 12.0, 9.0]]])
    y = F.conv1d(x, cr.ones(1, 1, 2), stride=2, dilation=2)  # x0 + x2, x2 + x4
    np.testing.assert_array_equal(y.numpy(), [[[4.0, 8.0]]])


def test_transposed_convolution_is_the_adjoint_of_convolution():
    """<conv(x, w), y> = <x, conv_transpose(y, w)>, for the output padding that gives back
    x's size (stride 3 leaves two sizes of x that give y's size)."""
    rng = _rng()
    w = rng.standard_normal((4, 3, 3, 2))
    for size in (10, 11):
        x = rng.standard_normal((2, 3, size, 7))
        y = rng.standard_normal(F.conv2d(cr.tensor(x), cr.tensor(w), stride=3, padding=1).shape)
        back = F.conv_transpose2d(cr.tensor(y), cr.tensor(w), stride=3, padding=1,
                                  output_padding=(size - 10, 1))
        assert back.shape == x.shape
        lhs = np.vdot(F.conv2d(cr.tensor(x), cr.tensor(w), stride=3, padding=1).numpy(), y)
        np.testing.assert_allclose(lhs, np.vdot(x, back.numpy()), rtol=1e-12)


def test_unbatched_input_gives_unbatched_output():
    x, w, b = _tensors((3, 6, 5), (4, 3, 3, 3), (4,))
    batched = F.conv2d(x[None], w, b, padding=1)
    np.testing.assert_array_equal(F.conv2d(x, w, b, padding=1).detach().numpy(),
                                  batched[0].detach().numpy())
    x1, w1 = _tensors((3, 6), (3, 2, 2))
    assert F.conv_transpose1d(x1, w1).shape == (2, 7)


def test_same_padding_keeps_the_size_with_even_kernels_and_dilation():
    x, w = _tensors((1, 2, 7, 6), (3, 2, 4, 3))
    assert F.conv2d(x, w, padding="same", dilation=(1, 2)).shape == (1, 3, 7, 6)
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 4, 4)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_dtype_is_kept_by_results_and_gradients(dtype):
    x, w, b = (t.to(dtype).detach().requires_grad_() for t in _tensors((2, 3, 6, 6), (4, 3, 3, 3),
                                                                       (4,)))
    y = F.conv2d(x, w, b, stride=2, padding=1)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == dtype


# --------------------------------------------------------------------------------------------
# derivatives against finite differences

FUNCTIONAL = {
    "conv1d": lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2),
    "conv2d-groups": lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding="valid",
                                              groups=2),
    "conv2d-same": lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(2, 1)),
    "conv_transpose1d": lambda x, w, b: F.conv_transpose1d(x, w, b, stride=3, padding=1,
                                                           output_padding=2),
    "conv_transpose2d": lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=(0, 1),
                                                           output_padding=1, groups=2),
}
SHAPES = {
    "conv1d": ((2, 3, 7), (2, 3, 2), (2,)),
    "conv2d-groups": ((1, 4, 4, 5), (4, 2, 2, 2), (4,)),
    "conv2d-same": ((1, 2, 5, 4), (3, 2, 2, 3), (3,)),
    "conv_transpose1d": ((2, 2, 3), (2, 3, 3), (3,)),
    "conv_transpose2d": ((1, 4, 2, 3), (4, 1, 2, 3), (2,)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_reverse_mode_to_second_order_matches_finite_differences(name):
    tensors = _tensors(*SHAPES[name])
    assert cr.autograd.gradcheck(FUNCTIONAL[name], tensors)
    assert cr.autograd.gradgradcheck(FUNCTIONAL[name], tensors)


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_forward_mode_matches_finite_differences(name):
    """jvp, a jvp of a jvp, and reverse-over-forward, against central differences."""
    rng = _rng(1)
    check_grads(FUNCTIONAL[name], [rng.standard_normal(s) for s in SHAPES[name]], order=2,
                modes=("fwd", "rev"))


def test_func_jvp_of_conv2d_is_the_directional_derivative():
    rng = _rng(2)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    tx, tw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)

    def f(x, w):
        return F.conv2d(x, w, stride=2, padding=1).tanh()

    _, tangent = cr.func.jvp(f, (cr.tensor(x), cr.tensor(w)), (cr.tensor(tx), cr.tensor(tw)))
    eps = 1e-6
    plus = f(cr.tensor(x + eps * tx), cr.tensor(w + eps * tw)).numpy()
    minus = f(cr.tensor(x - eps * tx), cr.tensor(w - eps * tw)).numpy()
    np.testing.assert_allclose(tangent.numpy(), (plus - minus) / (2 * eps), rtol=1e-7,
                               atol=1e-8)


def test_module_under_create_graph_gives_a_gradient_penalty_gradient():
    """d/dw of |d loss/d x|^2 through a Conv2d, against differences of the penalty."""
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=cr.float64)
    x = _tensors((1, 2, 4, 4))[0]

    def penalty(weight):
        y = F.conv2d(x, weight, conv.bias, padding=1)
        (gx,) = cr.autograd.grad((y.tanh() ** 2).sum(), x, create_graph=True)
        return (gx ** 2).sum()

    assert cr.autograd.gradcheck(penalty, (conv.weight,))


# --------------------------------------------------------------------------------------------
# modules


def test_default_initialisation_is_uniform_within_one_over_sqrt_fan_in():
    cr.manual_seed(0)
    conv = nn.Conv2d(6, 16, 5)
    bound = 1 / math.sqrt(6 * 25)
    for p in (conv.weight, conv.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound
    assert np.abs(conv.weight.detach().numpy()).max() > 0.95 * bound  # (2,400 draws)
    transposed = nn.ConvTranspose2d(6, 4, 3, groups=2)  # weight (6, 2, 3, 3): fan_in 2 * 9
    assert transposed.weight.shape == (6, 2, 3, 3)
    assert np.abs(transposed.weight.detach().numpy()).max() <= 1 / math.sqrt(18)
    assert conv.weight.dtype == cr.float32 and conv.weight.requires_grad


def test_extra_repr_is_pytorchs():
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == (
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))")
    assert repr(nn.Conv2d(1, 6, 5, padding="same", bias=False, padding_mode="reflect")) == (
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=same, bias=False, "
        "padding_mode=reflect)")
    assert repr(nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=1, groups=3)) == (
        "ConvTranspose2d(3, 6, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), "
        "groups=3)")
    assert repr(nn.Conv1d(2, 4, 3, dilation=2)) == (
        "Conv1d(2, 4, kernel_size=(3,), stride=(1,), dilation=(2,))")


def test_lenet_features_train():
    """A conv -> relu -> conv stack learns to reduce a loss (the parameters all get
    gradients of their own shapes)."""
    cr.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, stride=2))
    x = cr.tensor(_rng().standard_normal((8, 1, 9, 9)), dtype=cr.float32)
    target = cr.zeros(8, 2, 4, 4)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# --------------------------------------------------------------------------------------------
# bad input: PyTorch's exception types and key phrases, with the function's name

X4 = np.zeros((2, 3, 8, 8))
W4 = np.zeros((6, 3, 3, 3))
BAD = [
    (lambda: F.conv2d(np.zeros((2, 3)), W4), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[2, 3\]"),
    (lambda: F.conv2d(np.zeros((2, 4, 8, 8)), W4), RuntimeError,
     r"conv2d: Given groups=1, weight of size \[6, 3, 3, 3\], expected input\[2, 4, 8, 8\] to "
     r"have 3 channels, but got 4 channels instead"),
    (lambda: F.conv2d(X4, np.zeros((5, 1, 3, 3)), groups=3), RuntimeError,
     "expected weight to be divisible by 3 at dimension 0"),
    (lambda: F.conv2d(X4, W4, padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(X4, W4, padding="full"), ValueError, "Invalid padding string 'full'"),
    (lambda: F.conv2d(X4, W4, padding=-1), RuntimeError, "negative padding is not supported"),
    (lambda: F.conv2d(X4, W4, stride=0), RuntimeError, "non-positive stride is not supported"),
    (lambda: F.conv2d(X4, W4, dilation=(1, 0)), RuntimeError, "non-positive dilation"),
    (lambda: F.conv2d(X4, W4, groups=0), RuntimeError, "non-positive groups"),
    (lambda: F.conv2d(X4, W4, stride=(1, 1, 1)), RuntimeError,
     r"expected stride to be a single integer value or a list of 2 values"),
    (lambda: F.conv2d(X4, W4, stride=1.5), TypeError, "stride must be an int"),
    (lambda: F.conv2d(np.zeros((2, 3, 2, 2)), W4), RuntimeError,
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel "
     "size can't be greater than actual input size"),
    (lambda: F.conv2d(X4, W4, np.zeros(5)), RuntimeError,
     r"expected bias to be 1-dimensional with 6 elements, but got bias of size \[5\]"),
    (lambda: F.conv2d(X4, W4.astype(np.float32)), RuntimeError,
     "expected scalar type float32 but found float64"),
    (lambda: F.conv2d(X4, np.zeros((6, 3, 3))), RuntimeError, "conv2d: weight must be 4-D"),
    (lambda: F.conv_transpose2d(X4, np.zeros((3, 2, 3, 3)), output_padding=1), RuntimeError,
     "output padding must be smaller than either stride or dilation"),
    (lambda: F.conv_transpose2d(X4, np.zeros((4, 2, 3, 3))), RuntimeError,
     r"Given transposed=1, weight of size \[4, 2, 3, 3\], expected input\[2, 3, 8, 8\] to "
     "have 4 channels, but got 3 channels instead"),
    (lambda: F.conv_transpose2d(X4, np.zeros((3, 2, 3, 3)), padding="same"), TypeError,
     "argument 'padding' must be tuple of ints, not str"),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 1, 1)), np.zeros((3, 2, 1, 1)), padding=1),
     RuntimeError, r"Calculated output size per channel: \(-1 x -1\). Output size is too small"),
    (lambda: nn.Conv2d(3, 6, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError,
     "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(3, 6, 3, padding_mode="edge"), ValueError,
     "padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, padding_mode="reflect"), ValueError,
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda: nn.Conv2d(3, 6, 3, padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided convolutions"),
    (lambda: nn.Conv2d(3, 6, 3, padding="x"), ValueError, "Invalid padding string 'x'"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2)(cr.zeros(1, 1, 4, 4), output_size=(12, 12)),
     ValueError, "valid sizes range from 9 to 10"),
]


@pytest.mark.parametrize(("call", "kind", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_refused_with_pytorchs_words(call, kind, message):
    with pytest.raises(kind, match=message):
        call()


# --------------------------------------------------------------------------------------------
# against PyTorch (skipped without it)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _agree(torch, ours, theirs, arrays):
    """Values and the gradients of every input agree to 1e-10 (float64)."""
    mine = [cr.tensor(a, requires_grad=True) for a in arrays]
    its = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours(*mine), theirs(*its)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = _rng(3).standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    for a, b in zip(mine, its):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


GRID = [(stride, padding, dilation, groups)
        for stride, padding, dilation, groups in itertools.product(
            (1, 2, 3), (0, 1, "same", "valid"), (1, 2), (1, 2))
        if not (padding == "same" and stride > 1)]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # (PyTorch's, on its speed)
@pytest.mark.parametrize(("stride", "padding", "dilation", "groups"), GRID)
def test_conv1d_and_conv2d_agree_with_pytorch(torch, stride, padding, dilation, groups):
    rng = _rng(stride * 100 + dilation * 10 + groups)
    x, w, b = (rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 4 // groups, 3, 2)),
               rng.standard_normal(6))
    _agree(torch, lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
           lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
           (x, w, b))
    x1, w1 = rng.standard_normal((3, 4, 11)), rng.standard_normal((2, 4 // groups, 4))
    _agree(torch, lambda x, w: F.conv1d(x, w, None, stride, padding, dilation, groups),
           lambda x, w: torch.nn.functional.conv1d(x, w, None, stride, padding, dilation, groups),
           (x1, w1))


TRANSPOSED_GRID = [(stride, padding, extra, dilation, groups)
                   for stride, padding, extra, dilation, groups in itertools.product(
                       (1, 2, 3), (0, 1), (0, 1, 2), (1, 2), (1, 2))
                   if extra < stride or extra < dilation]


@pytest.mark.parametrize(("stride", "padding", "extra", "dilation", "groups"), TRANSPOSED_GRID)
def test_conv_transpose1d_and_2d_agree_with_pytorch(torch, stride, padding, extra, dilation,
                                                    groups):
    rng = _rng(stride * 1000 + padding * 100 + extra * 10 + dilation + groups)
    x, w, b = (rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 6 // groups, 3, 2)),
               rng.standard_normal(6))
    _agree(torch,
           lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, extra, groups, dilation),
           lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, stride, padding, extra,
                                                                groups, dilation), (x, w, b))
    x1, w1 = rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 2 // groups, 3))
    _agree(torch, lambda x, w: F.conv_transpose1d(x, w, None, stride, padding, extra, groups,
                                                  dilation),
           lambda x, w: torch.nn.functional.conv_transpose1d(x, w, None, stride, padding, extra,
                                                             groups, dilation), (x1, w1))


def test_conv3d_and_conv_transpose3d_agree_with_pytorch(torch):
    rng = _rng(4)
    _agree(torch, lambda x, w: F.conv3d(x, w, None, (1, 2, 1), 1, (2, 1, 1)),
           lambda x, w: torch.nn.functional.conv3d(x, w, None, (1, 2, 1), 1, (2, 1, 1)),
           (rng.standard_normal((2, 2, 6, 5, 4)), rng.standard_normal((3, 2, 2, 3, 2))))
    _agree(torch, lambda x, w: F.conv_transpose3d(x, w, None, 2, 1, (1, 0, 1)),
           lambda x, w: torch.nn.functional.conv_transpose3d(x, w, None, 2, 1, (1, 0, 1)),
           (rng.standard_normal((1, 2, 3, 2, 3)), rng.standard_normal((2, 3, 3, 2, 2))))


def test_second_order_agrees_with_pytorch(torch):
    """The gradient w.r.t. the weight of |d loss / d x|^2 (conv_transpose and conv_weight
    differentiated in turn)."""
    rng = _rng(5)
    x, w, b = (rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)),
               rng.standard_normal(4))
    grads = []
    for lib, conv in ((cr, F.conv2d), (torch, torch.nn.functional.conv2d)):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = conv(tx, tw, lib.tensor(b), stride=2, padding=1)
        (gx,) = (cr.autograd if lib is cr else torch.autograd).grad(
            (y.tanh() ** 2).sum(), tx, create_graph=True)
        (gx ** 2).sum().backward()
        grads.append(tw.grad.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


MODULES = [
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("Conv2d", (1, 6, 5), {"padding": 2}, (2, 1, 12, 12)),
    ("Conv2d", (4, 6, (3, 2)), {"groups": 2, "dilation": 2, "bias": False}, (2, 4, 8, 7)),
    ("Conv2d", (2, 3, 3), {"padding": "same", "padding_mode": "reflect"}, (1, 2, 6, 5)),
    ("Conv2d", (2, 3, 3), {"padding": (1, 2), "padding_mode": "circular"}, (1, 2, 6, 5)),
    ("Conv1d", (2, 3, 4), {"padding": "same", "padding_mode": "replicate"}, (2, 2, 7)),
    ("Conv3d", (2, 2, 2), {"stride": (1, 2, 1)}, (1, 2, 4, 5, 3)),
    ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "output_padding": 1}, (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 4, 5)),
    ("ConvTranspose3d", (2, 2, 2), {"stride": 2}, (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize(("cls", "args", "kwargs", "shape"), MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_modules_loaded_from_pytorch_agree(torch, cls, args, kwargs, shape):
    theirs = getattr(torch.nn, cls)(*args, **kwargs).double()
    ours = getattr(nn, cls)(*args, **kwargs, dtype=cr.float64)
    assert repr(ours) == repr(theirs)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = _rng(6).standard_normal(shape)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ty, y = theirs(tx), ours(cx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = _rng(7).standard_normal(y.shape)
    ty.backward(torch.tensor(g))
    y.backward(cr.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_conv_transpose_output_size_agrees_with_pytorch(torch):
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1).double()
    ours = nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1, dtype=cr.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _rng(8).standard_normal((1, 2, 4, 4))
    for size in ((10, 10), (11, 12), (1, 3, 12, 11)):
        expected = theirs(torch.tensor(x), output_size=size).detach().numpy()
        np.testing.assert_allclose(ours(cr.tensor(x), output_size=size).detach().numpy(),
                                   expected, rtol=1e-12)


def test_default_initialisation_matches_pytorchs_bounds(torch):
    """Weights and biases are uniform on (-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in the weight's
    size(1) * prod(kernel_size): PyTorch's draws stay within that bound too, and 30 seeded
    layers' draws come within 3% of it (for uniform draws the chance of missing is below 1e-6)."""
    torch.manual_seed(0)
    cr.manual_seed(0)
    for cls, args, fan_in in (("Conv2d", (8, 16, 3), 8 * 9),
                              ("ConvTranspose2d", (8, 16, 3, 1, 0, 0, 4), 4 * 9)):
        bound = 1 / np.sqrt(fan_in)
        for framework in (nn, torch.nn):
            layers = [getattr(framework, cls)(*args) for _ in range(30)]
            for name in ("weight", "bias"):
                draws = np.concatenate([getattr(m, name).detach().numpy().ravel()
                                        for m in layers])
                assert np.abs(draws).max() <= bound, (framework, cls, name)
                assert np.abs(draws).max() > 0.97 * bound, (framework, cls, name)
                assert abs(draws.mean()) < 0.1 * bound  # centred


def test_chunks_of_samples_give_the_whole_batchs_result(monkeypatch):
    """With stride 1, conv and conv_weight make their columns a chunk of samples at a time
    (rules/convolution.py); a chunk of one sample must give what one chunk of the batch gives
    (padding that pads and crops, dilation, groups, 2-d and 3-d)."""
    from chainrule.rules import convolution as C

    rng = _rng()
    cases = [((5, 4, 7, 6), (6, 2, 3, 2), ((2, 1), (0, -1)), (1, 2), 2),
             ((3, 2, 4, 5, 3), (4, 2, 2, 3, 2), ((1, 0), (0, 0), (1, 1)), (1, 1, 2), 1)]
    for shape, wshape, padding, dilation, groups in cases:
        x, w = rng.standard_normal(shape), rng.standard_normal(wshape)
        params = dict(stride=(1,) * len(dilation), padding=padding, dilation=dilation,
                      groups=groups)
        y = C._conv(x, w, **params)
        g = rng.standard_normal(y.shape)
        dw = C._conv_weight(x, g, **params)
        monkeypatch.setattr(C, "_CHUNK_BYTES", 1)  # one sample per chunk
        np.testing.assert_allclose(C._conv(x, w, **params), y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(C._conv_weight(x, g, **params), dw, rtol=1e-12,
                                   atol=1e-12)
        monkeypatch.undo()
        # and both against the direct route's definition, summed by hand
        xp = C.padded(x, padding)
        span = [d * (k - 1) + 1 for k, d in zip(wshape[2:], dilation)]
        assert y.shape[2:] == tuple(p - s + 1 for p, s in zip(xp.shape[2:], span))
        expect = np.zeros_like(y)
        per = wshape[0] // groups
        for k in np.ndindex(*wshape[2:]):
            window = xp[(slice(None), slice(None)) + tuple(
                slice(i * d, i * d + m) for i, d, m in zip(k, dilation, y.shape[2:]))]
            for o in range(wshape[0]):
                group = window[:, (o // per) * wshape[1]:(o // per + 1) * wshape[1]]
                expect[:, o] += np.tensordot(w[(o, slice(None)) + k], group, axes=([0], [1]))
        np.testing.assert_allclose(y, expect, rtol=1e-10, atol=1e-10)
