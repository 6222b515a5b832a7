"""Pooling (nn.functional's max/avg/adaptive poolings and their modules): derivatives to second
order in both modes against central differences in float64, closed forms for ties, NaN and
-inf (PyTorch's kernels' rules), bad inputs; and, where PyTorch is installed, values, indices
and input gradients against PyTorch's over a grid of geometries (the primitives themselves
are walked by tests/rules/test_primitives.py)."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import check_grads

RNG = np.random.default_rng(15)
X = RNG.standard_normal((2, 3, 7, 9))  # no ties (continuous random values)


# --------------------------------------------------------------------------------------------
# derivatives against central differences

FUNCTIONS = {
    "max2d_tiles": lambda x: F.max_pool2d(x, 2),
    "max2d_overlap_pad": lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
    "max2d_dilated_ceil": lambda x: F.max_pool2d(x, (2, 3), (2, 2), (1, 1), (2, 1), True),
    "max1d": lambda x: F.max_pool1d(x[0], 3, stride=2, padding=1, ceil_mode=True),
    "avg2d_tiles": lambda x: F.avg_pool2d(x, 2),
    "avg2d_no_pad_count": lambda x: F.avg_pool2d(x, 3, 2, 1, True, False),
    "avg2d_divisor": lambda x: F.avg_pool2d(x, (2, 3), 1, (1, 1), divisor_override=4),
    "avg1d": lambda x: F.avg_pool1d(x[0], 4, 3, 2, True),
    "adaptive_avg2d": lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
    "adaptive_avg1d": lambda x: F.adaptive_avg_pool1d(x[0], 4),
    "adaptive_max2d": lambda x: F.adaptive_max_pool2d(x, (3, 4)),
    "adaptive_max2d_divisible": lambda x: F.adaptive_max_pool2d(x, (7, 3)),
    "adaptive_max1d": lambda x: F.adaptive_max_pool1d(x[0], 4),
    "lp2d": lambda x: F.lp_pool2d(x * x + 0.5, 2, 3, 2),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradcheck_and_gradgradcheck(name):
    x = cr.tensor(X[:1, :2], requires_grad=True)
    assert cr.autograd.gradcheck(FUNCTIONS[name], (x,))
    assert cr.autograd.gradgradcheck(FUNCTIONS[name], (x,))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_both_modes_to_second_order(name):
    check_grads(FUNCTIONS[name], [X[:1, :2]], order=2)


def test_a_small_convnet_step_matches_finite_differences():
    """Pooling inside a graph: a loss of pooled, squared, pooled again values."""
    def loss(x):
        h = F.max_pool2d(F.avg_pool2d(x, 2, 1) ** 2, 2, ceil_mode=True)
        return F.adaptive_avg_pool2d(h, 1).sum()

    check_grads(loss, [X[:1]], order=2)


# --------------------------------------------------------------------------------------------
# closed forms: ties, NaN, -inf, forward mode, create_graph


def test_ties_send_the_gradient_to_the_first_maximum():
    """A constant input: every window ties, and PyTorch's kernels keep the first maximum in
    row-major order, so the gradient of a 2x2 pooling lands on each window's top-left entry;
    overlapping windows (3x3, stride 1) all pick their own top-left entry."""
    x = cr.ones(1, 4, 4, requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    out.sum().backward()
    expected = np.zeros((1, 4, 4))
    expected[0, ::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert idx.tolist() == [[[0, 2], [8, 10]]]
    x.grad = None
    F.max_pool2d(x, 3, stride=1).sum().backward()
    expected = np.zeros((1, 4, 4))
    expected[0, :2, :2] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_overlapping_windows_accumulate_at_a_shared_maximum():
    x = cr.tensor([[0.0, 1.0, 5.0, 1.0, 0.0]], requires_grad=True)
    F.max_pool1d(x, 3, stride=1).backward(cr.tensor([[1.0, 10.0, 100.0]]))
    assert x.grad.tolist() == [[0.0, 0.0, 111.0, 0.0, 0.0]]


def test_nan_wins_and_its_index_is_the_last_nan():
    """PyTorch's kernels take ``val > maxval || isnan(val)``: the value is NaN and the index
    the last NaN of the window; the gradient goes there."""
    x = cr.tensor([[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]], requires_grad=True)
    out, idx = F.max_pool1d(x, 4, stride=2, return_indices=True)
    assert np.isnan(out.detach().numpy()).all()
    assert idx.tolist() == [[3, 3]]
    out.backward(cr.tensor([[1.0, 2.0]]))
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 3.0, 0.0, 0.0]]


def test_all_minus_infinity_picks_the_first_entry_inside_the_input():
    """A window of -inf (and padding) picks its first entry inside the input, never padding."""
    x = cr.tensor([[-np.inf] * 4])
    out, idx = F.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    assert out.tolist() == [[-np.inf] * 3]
    assert idx.tolist() == [[0, 1, 3]]


def test_an_infinite_gradient_reaches_only_the_maximum():
    x = cr.tensor([[1.0, 2.0, 4.0, 3.0]], requires_grad=True)
    F.max_pool1d(x, 2).backward(cr.tensor([[np.inf, -np.inf]]))
    assert x.grad.tolist() == [[0.0, np.inf, -np.inf, 0.0]]


def test_forward_mode_is_the_tangent_at_the_maximum():
    x = np.array([[[1.0, 5.0, 2.0], [7.0, 0.0, 3.0], [4.0, 6.0, 8.0]]])
    t = np.arange(9.0).reshape(1, 3, 3) + 10
    with fwAD.dual_level():
        dual = fwAD.make_dual(cr.tensor(x), cr.tensor(t))
        out = F.max_pool2d(dual, 2, stride=1)
        tangent = fwAD.unpack_dual(out).tangent
        avg = fwAD.unpack_dual(F.avg_pool2d(dual, 2, stride=1)).tangent
    # maxima 7 (at 3), 5 (at 1), 7 (at 3), 8 (at 8)
    assert tangent.tolist() == [[[13.0, 11.0], [13.0, 18.0]]]
    np.testing.assert_allclose(avg.numpy(), [[[12.0, 13.0], [15.0, 16.0]]])


def test_second_derivative_of_max_pooling_is_zero_and_recorded():
    x = cr.tensor(X[0, :1], requires_grad=True)
    (g,) = cr.autograd.grad((F.max_pool2d(x, 2) ** 2).sum(), x, create_graph=True)
    assert g.grad_fn.name() == "MaxPool2DWithIndicesBackwardBackward0"
    (h,) = cr.autograd.grad(g.sum(), x)
    # d/dx of sum(2 m(x) [x is the max]) = 2 at each maximum
    out, idx = F.max_pool2d(cr.tensor(X[0, :1]), 2, return_indices=True)
    expected = np.zeros(X[0, :1].size)
    expected[idx.numpy().ravel()] = 2.0
    np.testing.assert_array_equal(h.numpy().ravel(), expected)


def test_grad_fn_names_are_pytorchs():
    x = cr.tensor(X[0], requires_grad=True)
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    (g,) = cr.autograd.grad((F.max_pool2d(x, 2) ** 2).sum(), x, create_graph=True)
    assert g.grad_fn.name() == "MaxPool2DWithIndicesBackwardBackward0"
    (g,) = cr.autograd.grad((F.avg_pool2d(x, 2) ** 2).sum(), x, create_graph=True)
    assert g.grad_fn.name() == "AvgPool2DBackwardBackward0"


def test_float32_is_kept():
    x = cr.tensor(X[0], dtype=cr.float32, requires_grad=True)
    for f in FUNCTIONS.values():
        out = f(x[None])
        assert out.dtype == np.float32
        (g,) = cr.autograd.grad(out.sum(), x)
        assert g.dtype == np.float32


def test_saved_input_changed_in_place_is_an_error():
    x = cr.tensor(X[0], requires_grad=True)
    y = x * 1.0
    out = F.max_pool2d(y, 2)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_avg_pool_divisors_by_hand():
    x = cr.ones(1, 3, 3)
    # 2x2 windows with padding 1: 1, 2 or 4 inputs of the window's 4 entries
    assert F.avg_pool2d(x, 2, padding=1).tolist() == [[[0.25, 0.5], [0.5, 1.0]]]
    assert F.avg_pool2d(x, 2, padding=1, count_include_pad=False).tolist() == [[[1.0, 1.0],
                                                                                 [1.0, 1.0]]]
    assert F.avg_pool2d(x, 2, padding=1, divisor_override=2).tolist() == [[[0.5, 1.0],
                                                                            [1.0, 2.0]]]
    # ceil_mode: the last window hangs over the input; its divisor counts only the inputs
    assert F.avg_pool1d(cr.ones(1, 5), 2, ceil_mode=True).tolist() == [[1.0, 1.0, 1.0]]


def test_integer_inputs():
    x = cr.tensor(np.arange(-12, 13).reshape(1, 5, 5))
    assert F.max_pool2d(x, 2).tolist() == [[[-6, -4], [4, 6]]]
    assert F.max_pool2d(x, 2).dtype == np.int64
    # the average truncates toward zero, as PyTorch's: -13.5 -> -13, -3.5 -> -3
    assert F.avg_pool1d(cr.tensor([[-14, -13, -4, -3]]), 2).tolist() == [[-13, -3]]


def test_adaptive_windows_are_pytorchs():
    """start = floor(i L / out), end = ceil((i + 1) L / out): 7 -> 3 gives [0, 3), [2, 5),
    [4, 7)."""
    x = cr.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    assert F.adaptive_avg_pool1d(x, 3).tolist() == [[2.0, 4.0, 6.0]]
    out, idx = F.adaptive_max_pool1d(-x, 3, return_indices=True)
    assert out.tolist() == [[-1.0, -3.0, -5.0]] and idx.tolist() == [[0, 2, 4]]
    assert F.adaptive_avg_pool2d(cr.ones(2, 5, 6), (2, None)).shape == (2, 2, 6)
    assert F.adaptive_max_pool2d(cr.ones(2, 5, 6), (0, 3)).shape == (2, 0, 3)


# --------------------------------------------------------------------------------------------
# modules


def test_modules_reprs_and_calls():
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, "
                                     "dilation=1, ceil_mode=False)")
    assert repr(nn.MaxPool1d(3, 2, 1)) == ("MaxPool1d(kernel_size=3, stride=2, padding=1, "
                                           "dilation=1, ceil_mode=False)")
    assert repr(nn.AvgPool2d((2, 3))) == "AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AdaptiveAvgPool2d((3, None))) == "AdaptiveAvgPool2d(output_size=(3, None))"
    assert repr(nn.AdaptiveMaxPool2d(2)) == "AdaptiveMaxPool2d(output_size=2)"
    assert repr(nn.LPPool2d(2, 3)) == ("LPPool2d(norm_type=2, kernel_size=3, stride=None, "
                                       "ceil_mode=False)")
    x = cr.tensor(X)
    out, idx = nn.MaxPool2d(3, 2, 1, return_indices=True)(x)
    expected = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), expected[0].numpy())
    np.testing.assert_array_equal(idx.numpy(), expected[1].numpy())
    np.testing.assert_array_equal(nn.AvgPool2d(2, divisor_override=3)(x).numpy(),
                                  F.avg_pool2d(x, 2, divisor_override=3).numpy())
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(),
                               X.mean(axis=(2, 3), keepdims=True), rtol=1e-13, atol=1e-16)
    assert list(nn.MaxPool2d(2).parameters()) == []


def test_lenet_like_stack_shapes():
    net = nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2, ceil_mode=True),
                        nn.AdaptiveMaxPool2d((2, 1)), nn.Flatten())
    assert net(cr.ones(4, 6, 28, 28)).shape == (4, 12)


# --------------------------------------------------------------------------------------------
# bad inputs: PyTorch's errors, naming the function

BAD = [
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 2, padding=2), RuntimeError, "max_pool2d: pad "
     "should be at most half of kernel size"),
    (lambda: F.avg_pool1d(cr.ones(1, 5), 3, padding=2), RuntimeError, "avg_pool1d: pad"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 6), RuntimeError,
     r"Given input size: \(1x5x5\). Calculated output size: \(1x0x0\). Output size is too small"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 0), RuntimeError, "kernel size should be greater"),
    (lambda: F.avg_pool2d(cr.ones(1, 5, 5), 2, stride=0), RuntimeError,
     "stride should not be zero"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 2, padding=-1), RuntimeError,
     "pad must be non-negative"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), (2, 2, 2)), RuntimeError,
     "kernel_size must either be a single int, or a tuple of two ints"),
    (lambda: F.max_pool2d(cr.ones(1, 5, 5), 2.5), TypeError, "'kernel_size' must be an int"),
    (lambda: F.max_pool2d(cr.ones(5, 5), 2), RuntimeError,
     r"max_pool2d: Expected 3D or 4D \(batch mode\) tensor .* got: \[5, 5\]"),
    (lambda: F.max_pool1d(cr.ones(5), 2), RuntimeError, "Expected 2D or 3D"),
    (lambda: F.avg_pool2d(cr.ones(1, 0, 5, 5), 2), RuntimeError, r"got: \[1, 0, 5, 5\]"),
    (lambda: F.avg_pool2d(cr.ones(1, 4, 4), 2, divisor_override=0), RuntimeError,
     "divisor must be not zero"),
    (lambda: F.max_pool2d(cr.ones(1, 4, 4, dtype=cr.complex64), 2), NotImplementedError,
     "max_pool2d.*not implemented for complex64"),
    (lambda: F.adaptive_avg_pool2d(cr.ones(5, 5), 2), RuntimeError,
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[5, 5\]"),
    (lambda: F.adaptive_max_pool2d(cr.ones(1, 0, 5), 2), RuntimeError,
     "non-zero size for non-batch dimensions.*dimension 1 being empty"),
    (lambda: F.adaptive_avg_pool2d(cr.ones(1, 4, 4), -1), RuntimeError,
     "elements of output_size must be greater than or equal to 0"),
    (lambda: F.adaptive_max_pool2d(cr.ones(1, 4, 4), (2, 2, 2)), RuntimeError,
     "output_size must be an int or a tuple of two ints"),
    (lambda: F.adaptive_avg_pool1d(cr.ones(1, 4, dtype=cr.int64), 2), NotImplementedError,
     "adaptive_avg_pool1d"),
]


@pytest.mark.parametrize("call,kind,match", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(call, kind, match):
    with pytest.raises(kind, match=match):
        call()


# --------------------------------------------------------------------------------------------
# against PyTorch (float64): values, indices, input gradients


def _torch():
    return pytest.importorskip("torch")


def _agree(f_cr, f_torch, x: np.ndarray, seed: int = 0):
    """Values (and indices) equal PyTorch's; the gradient of <w, out> too."""
    torch = _torch()
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_a, out_b = f_cr(a), f_torch(b)
    if isinstance(out_b, tuple):
        np.testing.assert_array_equal(out_a[1].numpy(), out_b[1].numpy())
        assert out_a[1].dtype == np.int64
        out_a, out_b = out_a[0], out_b[0]
    assert out_a.shape == tuple(out_b.shape)
    np.testing.assert_allclose(out_a.detach().numpy(), out_b.detach().numpy(), rtol=1e-13,
                               atol=1e-15)
    w = np.random.default_rng(seed).standard_normal(out_a.shape)
    (out_a * cr.tensor(w)).sum().backward()
    (out_b * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, atol=1e-15)


MAX_GRID = [(kernel, stride, padding, dilation, ceil_mode) for kernel, stride, padding, dilation,
            ceil_mode in itertools.product([1, 2, 3, (2, 3)], [None, 1, 2, (3, 1)], [0, 1],
                                           [1, 2], [False, True])
            if padding <= (min(kernel) if isinstance(kernel, tuple) else kernel) // 2]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX_GRID)
def test_max_pool2d_agrees_with_pytorch(kernel, stride, padding, dilation, ceil_mode):
    torch = _torch()
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    for x in (X, np.round(X), np.zeros((1, 2, 5, 6))):  # none, some and only ties
        _agree(lambda t: F.max_pool2d(t, *args), lambda t: torch.nn.functional.max_pool2d(
            t, *args), x)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode",
                         [(2, None, 0, 1, False), (3, 2, 1, 1, True), (4, 3, 2, 2, True),
                          (3, 1, 1, 3, False), (5, 2, 0, 1, True)])
def test_max_pool1d_agrees_with_pytorch(kernel, stride, padding, dilation, ceil_mode):
    torch = _torch()
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    for x in (X[0], X[:, 0], np.round(X[0] * 2)):
        _agree(lambda t: F.max_pool1d(t, *args), lambda t: torch.nn.functional.max_pool1d(
            t, *args), x)


AVG_GRID = list(itertools.product([2, 3, (2, 3)], [None, 1, 2], [0, 1], [False, True],
                                  [True, False], [None, 5]))


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad,divisor",
                         AVG_GRID)
def test_avg_pool2d_agrees_with_pytorch(kernel, stride, padding, ceil_mode, count_include_pad,
                                        divisor):
    torch = _torch()
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    _agree(lambda t: F.avg_pool2d(t, *args), lambda t: torch.nn.functional.avg_pool2d(t, *args),
           X)


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad",
                         [(2, None, 0, False, True), (3, 2, 1, True, False),
                          (4, 3, 2, True, True), (3, 1, 1, False, False)])
def test_avg_pool1d_agrees_with_pytorch(kernel, stride, padding, ceil_mode, count_include_pad):
    torch = _torch()
    args = (kernel, stride, padding, ceil_mode, count_include_pad)
    _agree(lambda t: F.avg_pool1d(t, *args), lambda t: torch.nn.functional.avg_pool1d(t, *args),
           X[0])


ADAPTIVE_2D = [(3, 4), (7, 9), 1, (2, 3), (3, None), (5, 2), (4, 4)]


@pytest.mark.parametrize("size", ADAPTIVE_2D)
@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (2, 10, 10)])
def test_adaptive_pool2d_agrees_with_pytorch(size, shape):
    """Including non-divisible sizes (7 -> 3, 10x10 -> (3, 4)) and ties (rounded inputs)."""
    torch = _torch()
    TF = torch.nn.functional
    x = RNG.standard_normal(shape)
    _agree(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size),
           x)
    for values in (x, np.round(x), np.zeros(shape)):
        _agree(lambda t: F.adaptive_max_pool2d(t, size, True),
               lambda t: TF.adaptive_max_pool2d(t, size, True), values)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 6, 7, 9])
def test_adaptive_pool1d_agrees_with_pytorch(size):
    torch = _torch()
    TF = torch.nn.functional
    x = X[0, :, :7]
    _agree(lambda t: F.adaptive_avg_pool1d(t, size), lambda t: TF.adaptive_avg_pool1d(t, size),
           x)
    for values in (x, np.round(x)):
        _agree(lambda t: F.adaptive_max_pool1d(t, size, True),
               lambda t: TF.adaptive_max_pool1d(t, size, True), values)


def test_lp_pool2d_agrees_with_pytorch():
    torch = _torch()
    for p, kernel, stride in [(2, 3, 2), (3.0, (2, 3), None), (1, 2, 1)]:
        _agree(lambda t: F.lp_pool2d(t, p, kernel, stride),
               lambda t: torch.nn.functional.lp_pool2d(t, p, kernel, stride), np.abs(X) + 0.1)


def test_second_derivatives_agree_with_pytorch():
    torch = _torch()
    results = []
    for lib, fn in ((torch, torch.nn.functional), (cr, F)):
        x = lib.tensor(X[0], requires_grad=True)
        y = (fn.max_pool2d(x, 3, 2, 1) ** 3).sum() + (fn.avg_pool2d(x, 2, 1) ** 3).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        results.append([np.asarray(v.detach()) for v in (g, h)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_integer_pooling_agrees_with_pytorch():
    torch = _torch()
    x = RNG.integers(-20, 20, (2, 6, 7))
    for k, s, p, c in [(2, None, 0, False), (3, 2, 1, True)]:
        np.testing.assert_array_equal(
            F.max_pool2d(cr.tensor(x), k, s, p).numpy(),
            torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p).numpy())
        np.testing.assert_array_equal(
            F.avg_pool2d(cr.tensor(x), k, s, p, c).numpy(),
            torch.nn.functional.avg_pool2d(torch.tensor(x), k, s, p, c).numpy())


def test_modules_repr_like_pytorchs():
    torch = _torch()
    cases = [("MaxPool2d", (3, 2, 1)), ("MaxPool1d", (2,)), ("AvgPool2d", ((2, 3), 1, 1)),
             ("AvgPool1d", (3, 2)), ("AdaptiveAvgPool1d", (4,)),
             ("AdaptiveAvgPool2d", ((3, None),)), ("AdaptiveMaxPool1d", (2,)),
             ("AdaptiveMaxPool2d", (2, True)), ("LPPool2d", (2, 3))]
    for name, args in cases:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
