"""The lazy convolutions and batch norms (chainrule/nn/modules/lazy.py): after the first input
they are the eager layer built with that size from the same seed; before it they draw nothing;
load_state_dict shapes them; optimisers built before the first input keep working."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(0)

# (lazy class, eager class, its constructor's arguments after the size, an input)
CONVS = [
    (nn.LazyConv1d, nn.Conv1d, (4, 3), dict(padding=1), (2, 3, 9)),
    (nn.LazyConv2d, nn.Conv2d, (6, 5), dict(padding=2, groups=3), (2, 3, 8, 8)),
    (nn.LazyConv2d, nn.Conv2d, (4, 3), dict(bias=False, stride=2), (3, 6, 6)),  # unbatched
    (nn.LazyConv3d, nn.Conv3d, (2, 2), {}, (1, 2, 4, 4, 4)),
    (nn.LazyConvTranspose1d, nn.ConvTranspose1d, (4, 3), dict(stride=2), (2, 5, 4)),
    (nn.LazyConvTranspose2d, nn.ConvTranspose2d, (4, 3), dict(output_padding=1, stride=2,
                                                             groups=2), (2, 6, 4, 4)),
    (nn.LazyConvTranspose3d, nn.ConvTranspose3d, (2, 2), {}, (1, 3, 3, 3, 3)),
]
NORMS = [(nn.LazyBatchNorm1d, nn.BatchNorm1d, (8, 5)), (nn.LazyBatchNorm1d, nn.BatchNorm1d,
                                                        (8, 5, 3)),
         (nn.LazyBatchNorm2d, nn.BatchNorm2d, (4, 3, 5, 5)),
         (nn.LazyBatchNorm3d, nn.BatchNorm3d, (2, 3, 2, 2, 2))]


def _size(eager, shape, dims):
    batched = len(shape) == dims + 2
    return shape[1] if batched else shape[0]


@pytest.mark.parametrize("lazy, eager, args, kwargs, shape", CONVS)
def test_a_lazy_convolution_becomes_the_eager_one_drawn_from_the_same_seed(lazy, eager, args,
                                                                           kwargs, shape):
    x = cr.tensor(RNG.normal(size=shape).astype(np.float32))
    cr.manual_seed(7)
    reference = eager(_size(eager, shape, eager.dims), *args, **kwargs)
    cr.manual_seed(7)
    layer = lazy(*args, **kwargs)
    assert layer.in_channels == 0 and layer.weight.shape == (0,)
    out = layer(x)
    assert type(layer) is eager
    assert repr(layer) == repr(reference)
    np.testing.assert_array_equal(layer.weight.data, reference.weight.data)
    if reference.bias is not None:
        np.testing.assert_array_equal(layer.bias.data, reference.bias.data)
    np.testing.assert_allclose(out.data, reference(x).data, rtol=1e-12)


@pytest.mark.parametrize("lazy, eager, shape", NORMS)
def test_a_lazy_batch_norm_becomes_the_eager_one(lazy, eager, shape):
    x = cr.tensor(RNG.normal(size=shape).astype(np.float32))
    layer, reference = lazy(momentum=0.3), eager(shape[1], momentum=0.3)
    assert layer.num_features == 0 and layer.running_mean.shape == (0,)
    out = layer(x)
    assert type(layer) is eager and layer.num_features == shape[1]
    np.testing.assert_allclose(out.data, reference(x).data, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.data, reference.running_var.data, rtol=1e-12)
    assert int(layer.num_batches_tracked.item()) == 1


def test_lazy_layers_draw_no_random_numbers_before_their_first_input():
    cr.manual_seed(3)
    expected = cr.rand(4)
    cr.manual_seed(3)
    nn.LazyConv2d(8, 3), nn.LazyConvTranspose2d(8, 3), nn.LazyBatchNorm2d()
    np.testing.assert_array_equal(cr.rand(4).data, expected.data)


@pytest.mark.parametrize("lazy, eager, args, kwargs, shape", CONVS)
def test_load_state_dict_shapes_a_lazy_convolution_before_its_first_input(lazy, eager, args,
                                                                          kwargs, shape):
    x = cr.tensor(RNG.normal(size=shape).astype(np.float32))
    reference = eager(_size(eager, shape, eager.dims), *args, **kwargs)
    layer = lazy(*args, **kwargs)
    layer.load_state_dict(reference.state_dict())
    np.testing.assert_array_equal(layer.weight.data, reference.weight.data)
    np.testing.assert_allclose(layer(x).data, reference(x).data, rtol=1e-12)
    assert type(layer) is eager
    np.testing.assert_array_equal(layer.weight.data, reference.weight.data)  # not redrawn


def test_load_state_dict_shapes_a_lazy_batch_norm_inside_a_network():
    x = cr.tensor(RNG.normal(size=(6, 4)).astype(np.float32))
    reference = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    reference(x)  # running statistics that are not the initial ones
    net = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    net.load_state_dict(reference.state_dict())
    net.eval(), reference.eval()
    np.testing.assert_allclose(net(x).data, reference(x).data, rtol=1e-12)
    assert [type(m) for m in net] == [nn.Linear, nn.BatchNorm1d]


def test_an_optimiser_built_before_the_first_input_updates_the_shaped_parameters():
    cr.manual_seed(0)
    net = nn.Sequential(nn.LazyConv2d(2, 3), nn.LazyBatchNorm2d(), nn.Flatten(), nn.LazyLinear(1))
    optimiser = cr.optim.SGD(net.parameters(), lr=0.1)
    x = cr.tensor(RNG.normal(size=(4, 3, 5, 5)).astype(np.float32))
    net(x).sum().backward()
    before = net[0].weight.detach().numpy().copy()
    optimiser.step()
    np.testing.assert_allclose(net[0].weight.data, before - 0.1 * net[0].weight.grad.data)


def test_the_book_init_cnn_sees_the_eager_class_after_the_first_input():
    net = nn.Sequential(nn.LazyConv2d(6, 5, padding=2), nn.Sigmoid(), nn.LazyLinear(10))
    net(cr.ones(1, 1, 6, 6))
    seen = []
    net.apply(lambda m: seen.append(type(m)) if type(m) in (nn.Linear, nn.Conv2d) else None)
    assert seen == [nn.Conv2d, nn.Linear]


@pytest.mark.parametrize("make, x, error, message", [
    (lambda: nn.LazyConv2d(4, 3, groups=2), (1, 3, 5, 5), ValueError,
     "in_channels must be divisible by groups, got 3 input channels and groups=2"),
    (lambda: nn.LazyConv2d(4, 3), (5, 5), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to LazyConv2d, but got input of size: "
     "[5, 5]"),
    (lambda: nn.LazyBatchNorm1d(), (3,), ValueError, "expected 2D or 3D input (got 1D input)"),
    (lambda: nn.LazyBatchNorm2d(), (2, 3, 4), ValueError, "expected 4D input (got 3D input)"),
])
def test_bad_first_inputs_are_refused_and_leave_the_layer_lazy(make, x, error, message):
    layer = make()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        layer(cr.ones(*x))
    assert type(layer) is not layer.cls_to_become
    assert layer.has_uninitialized_params()


def test_reprs_before_the_first_input_are_pytorchs():
    torch = pytest.importorskip("torch")
    for args in [(6, 5), (6, 5, 2, 1)]:
        assert repr(nn.LazyConv2d(*args)) == repr(torch.nn.LazyConv2d(*args))
        assert repr(nn.LazyConvTranspose2d(*args)) == repr(torch.nn.LazyConvTranspose2d(*args))
    assert repr(nn.LazyConv1d(4, 3, groups=2)) == repr(torch.nn.LazyConv1d(4, 3, groups=2))
    for kwargs in [{}, dict(momentum=None, affine=False)]:
        assert repr(nn.LazyBatchNorm2d(**kwargs)) == repr(torch.nn.LazyBatchNorm2d(**kwargs))
