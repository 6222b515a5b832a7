"""vmap's rules for the cases the primitive table (``tests/rules/test_batching.py``) does not
reach: a stack of weights for convolutions and recurrent layers, advanced indices for the
scatters, sort's indices, lstsq's other parts, in-place changes inside vmap, ``grad`` of a
vmapped function, and derivatives inside vmap where the table's specs miss a case (sort with
ties and descending, max pooling's overlapping windows and ties, in-place changes of views).
The oracle is always the public function called on each example in turn, stacked (float64,
seeded samples)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import rules as R
from chainrule.func import grad, hessian, jvp, vmap

B = 3


def _rng(name: str):
    return np.random.default_rng(zlib.crc32(f"vmap families/{name}".encode()))


def _check_derivatives(loss, x, *, second_order: bool = False):
    """``vmap(grad(loss))``, ``vmap`` of ``loss``'s JVP (a tangent per example) and, with
    ``second_order``, ``vmap(hessian(loss))`` against each example's, stacked: the derivative
    rules run on batched values."""
    t = _rng(f"tangents{x.shape}").standard_normal(x.shape)
    got = vmap(grad(loss))(cr.tensor(x))
    want = np.stack([grad(loss)(cr.tensor(x[b])).numpy() for b in range(B)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    got = vmap(lambda x, t: jvp(loss, (x,), (t,))[1])(cr.tensor(x), cr.tensor(t))
    want = np.stack([jvp(loss, (cr.tensor(x[b]),), (cr.tensor(t[b]),))[1].numpy()
                     for b in range(B)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    if second_order:
        got = vmap(hessian(loss))(cr.tensor(x))
        want = np.stack([hessian(loss)(cr.tensor(x[b])).numpy() for b in range(B)])
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def _check(fn, *stacks, in_axes):
    """``vmap(fn, in_axes)`` against ``fn`` on each example, stacked.  ``stacks`` have the batch
    first: a mapped one is given to vmap with it moved to its axis, an unmapped one is its
    first example, the same for all."""
    def argument(s, axis, b=None):
        if axis is None:
            return s[0]
        return s[b] if b is not None else np.moveaxis(s, 0, axis)

    got = vmap(fn, in_axes=in_axes)(*(cr.tensor(argument(s, axis))
                                      for s, axis in zip(stacks, in_axes)))
    want = np.stack([fn(*(cr.tensor(argument(s, axis, b)) for s, axis in zip(stacks, in_axes)))
                     .detach().numpy() for b in range(B)])
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# convolution: a stack of weights is one convolution of B G groups


CONVOLUTIONS = [
    # (function, x per example, w per example, keyword arguments)
    (F.conv2d, (2, 4, 6, 5), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, groups=2)),
    (F.conv1d, (1, 3, 9), (4, 3, 3), dict(stride=1, padding="same", dilation=2)),
    (F.conv_transpose2d, (2, 4, 3, 3), (4, 3, 2, 3), dict(stride=2, padding=(0, 1), groups=2)),
    (F.conv_transpose1d, (2, 2, 5), (2, 3, 3), dict(stride=1, output_padding=0)),
]


@pytest.mark.parametrize(("function", "x_shape", "w_shape", "options"), CONVOLUTIONS)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (1, 0)])
def test_convolution_of_stacks_matches_each_example(function, x_shape, w_shape, options,
                                                    in_axes):
    rng = _rng(f"{function.__name__}{in_axes}")
    x, w = rng.standard_normal((B,) + x_shape), rng.standard_normal((B,) + w_shape)
    _check(lambda x, w: function(x, w, **options), x, w, in_axes=in_axes)


def test_weight_gradient_of_stacks_matches_each_example():
    rng = _rng("conv_weight")
    params = dict(stride=(1, 2), padding=((1, 1), (0, 1)), dilation=(1, 1), groups=2)
    x = rng.standard_normal((B, 2, 4, 5, 6))
    g = rng.standard_normal((B, 2, 6, 5, 3))
    for in_axes in ((0, 0), (0, None), (None, 0)):
        _check(lambda x, g: R.conv_weight(x, g, **params), x, g, in_axes=in_axes)


def test_grad_of_a_vmapped_convolution_sums_the_examples_gradients():
    rng = _rng("grad conv")
    x, w = rng.standard_normal((B, 2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    loss = lambda x, w: (F.conv2d(x, w, stride=2, padding=1) ** 2).sum()  # noqa: E731
    got = grad(lambda x, w: vmap(loss, in_axes=(0, None))(x, w).sum(), argnums=(0, 1))(
        cr.tensor(x), cr.tensor(w))
    each = [grad(loss, argnums=(0, 1))(cr.tensor(x[b]), cr.tensor(w)) for b in range(B)]
    np.testing.assert_allclose(got[0].numpy(), np.stack([e[0].numpy() for e in each]),
                               rtol=1e-12)
    np.testing.assert_allclose(got[1].numpy(), sum(e[1].numpy() for e in each), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# pooling: the batch is one more leading dim


POOLINGS = [
    lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
    lambda x: F.max_pool1d(x, 2, dilation=2, ceil_mode=True),
    lambda x: F.avg_pool2d(x, (2, 3), stride=(1, 2), padding=(1, 1), count_include_pad=False),
    lambda x: F.avg_pool1d(x, 3, stride=2, ceil_mode=True),
]


@pytest.mark.parametrize("number", range(len(POOLINGS)))
def test_pooling_of_stacks_and_its_gradient_match_each_example(number):
    pool = POOLINGS[number]
    rng = _rng(f"pool{number}")
    x = rng.standard_normal((B, 2, 3, 7, 6) if number in (0, 2) else (B, 2, 3, 7))
    _check(pool, x, in_axes=(0,))
    weights = cr.tensor(rng.standard_normal(pool(cr.tensor(x[0])).shape))
    loss = lambda t: (pool(t) * weights).sum()  # noqa: E731
    got = grad(lambda t: vmap(loss)(t).sum())(cr.tensor(x))
    np.testing.assert_allclose(got.numpy(), np.stack([grad(loss)(cr.tensor(x[b])).numpy()
                                                      for b in range(B)]), rtol=1e-12)


MAX_POOLS = [
    lambda x: F.max_pool2d(x, 3, stride=2, padding=1),  # overlapping windows, padding
    lambda x: F.max_pool2d(x, (2, 3), stride=1, ceil_mode=True),  # overlapping, ceil_mode
    lambda x: F.max_pool1d(x, 2, stride=2, dilation=2, ceil_mode=True),
]


@pytest.mark.parametrize("number", range(len(MAX_POOLS)))
def test_max_pool_derivatives_inside_vmap_match_each_example(number):
    # integer values: ties in most windows, where each example's first tap must win
    pool = MAX_POOLS[number]
    rng = _rng(f"max pool derivatives{number}")
    x = rng.integers(0, 3, (B, 2, 5, 6) if number < 2 else (B, 2, 9)).astype(np.float64)
    weights = cr.tensor(rng.standard_normal(pool(cr.tensor(x[0])).shape))
    _check_derivatives(lambda t: (pool(t) * weights).sum(), x)
    # second order: hessian = forward over reverse through the routing and the gathering
    small = x[:, :1, :4, :4] if number < 2 else x[:, :1, :7]
    _check_derivatives(lambda t: (pool(t) ** 2).sum(), small, second_order=True)


def test_max_pool_gradient_inside_nested_vmaps():
    pool = MAX_POOLS[0]
    x = _rng("nested max pool").integers(0, 3, (2, B, 1, 5, 5)).astype(np.float64)
    loss = lambda t: (pool(t) ** 2).sum()  # noqa: E731
    got = vmap(vmap(grad(loss)))(cr.tensor(x))
    want = np.stack([np.stack([grad(loss)(cr.tensor(x[a, b])).numpy() for b in range(B)])
                     for a in range(2)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# the recurrent layers


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_recurrent_layer_and_its_gradient_match_each_example(mode):
    cr.manual_seed(7)
    layer = getattr(cr.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    rng = _rng(mode)
    x = rng.standard_normal((B, 5, 2, 3))
    _check(lambda t: layer(t)[0], x, in_axes=(0,))
    loss = lambda t: (layer(t)[0] ** 2).sum()  # noqa: E731
    got = grad(lambda t: vmap(loss)(t).sum())(cr.tensor(x))
    np.testing.assert_allclose(got.numpy(), np.stack([grad(loss)(cr.tensor(x[b])).numpy()
                                                      for b in range(B)]), rtol=1e-10)


def test_lstm_scan_with_a_stack_of_initial_states_only():
    # shared weights, each example its own h0 and c0 (the batch joins the samples)
    rng = _rng("lstm h0")
    xp, w, b = (rng.standard_normal((B, 4, 3, 2, 2)), rng.uniform(-1, 1, (B, 4, 2, 2)),
                rng.uniform(-1, 1, (B, 4, 2)))
    h0, c0 = rng.standard_normal((B, 2, 2)), rng.standard_normal((B, 2, 2))
    _check(lambda xp, w, b, h0, c0: R.lstm_scan(xp, w, b, h0, c0), xp, w, b, h0, c0,
           in_axes=(None, None, None, 0, 0))


# --------------------------------------------------------------------------------------------
# sort


@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_and_indices_match_each_example(descending):
    rng = _rng(f"sort{descending}")
    x = rng.integers(0, 3, (B, 4, 5)).astype(np.float64)  # ties: their order is checked too
    for dim in (0, -1):
        got = vmap(lambda t: tuple(cr.sort(t, dim=dim, descending=descending)))(cr.tensor(x))
        for b in range(B):
            want = cr.sort(cr.tensor(x[b]), dim=dim, descending=descending)
            np.testing.assert_array_equal(got[0].numpy()[b], want.values.numpy())
            np.testing.assert_array_equal(got[1].numpy()[b], want.indices.numpy())


def test_sort_nested_vmap_and_gradient():
    rng = _rng("nested sort")
    x = rng.standard_normal((B, 2, 5))
    got = vmap(vmap(lambda t: cr.sort(t).values))(cr.tensor(x))
    np.testing.assert_array_equal(got.numpy(), np.sort(x, axis=-1))
    weights = cr.tensor(np.arange(5.0))
    loss = lambda t: (cr.sort(t).values * weights).sum()  # noqa: E731
    g = grad(lambda t: vmap(loss)(t).sum())(cr.tensor(x[:, 0]))
    np.testing.assert_allclose(g.numpy(), np.stack([grad(loss)(cr.tensor(x[b, 0])).numpy()
                                                    for b in range(B)]))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_derivatives_with_ties_inside_vmap_match_each_example(descending):
    # each example's permutation (ties in their original order) routes its own gradient
    rng = _rng(f"sort derivatives{descending}")
    x = rng.integers(0, 3, (B, 4, 5)).astype(np.float64)
    weights = cr.tensor(rng.standard_normal((4, 5)))
    for dim in (0, -1):
        _check_derivatives(
            lambda t: (cr.sort(t, dim=dim, descending=descending).values * weights).sum(), x)
    _check_derivatives(lambda t: (cr.sort(t, descending=descending).values ** 3
                                  * weights[0]).sum(), x[:, 0], second_order=True)


def test_sort_gradient_inside_nested_vmaps():
    x = _rng("nested sort gradient").integers(0, 4, (2, B, 6)).astype(np.float64)
    weights = cr.tensor(np.arange(6.0))
    loss = lambda t: (cr.sort(t).values * weights).sum()  # noqa: E731
    got = vmap(vmap(grad(loss)))(cr.tensor(x))
    want = np.stack([np.stack([grad(loss)(cr.tensor(x[a, b])).numpy() for b in range(B)])
                     for a in range(2)])
    np.testing.assert_array_equal(got.numpy(), want)


def test_take_along_with_positions_per_example_and_its_transpose():
    rng = _rng("take_along")
    x, g = rng.standard_normal((B, 4, 3)), rng.standard_normal((B, 5, 3))
    positions = rng.integers(0, 4, (B, 5, 3))  # repeats: the transpose accumulates
    for in_axes in ((0, 0), (None, 0), (0, None)):
        _check(lambda x, p: R.take_along(x, p, axis=0, x_shape=(4, 3)), x, positions,
               in_axes=in_axes)
        _check(lambda g, p: R.add_along(g, p, axis=0, x_shape=(4, 3)), g, positions,
               in_axes=in_axes)


# --------------------------------------------------------------------------------------------
# indexing: scatters with advanced indices, in-place changes


ADVANCED = [
    (np.array([0, 2, 2]), slice(None), np.array([1, 0, 1])),  # separated: NumPy moves them
    (slice(None), np.array([[0], [1]]), np.array([1, 3])),     # adjacent, broadcast
    (1, Ellipsis, np.array([3, 0])),
]


@pytest.mark.parametrize("number", range(len(ADVANCED)))
def test_scatters_with_advanced_indices_match_each_example(number):
    index = ADVANCED[number]
    rng = _rng(f"scatter{number}")
    shape = (3, 2, 4)
    region = np.zeros(shape)[index].shape
    x, v = rng.standard_normal((B,) + shape), rng.standard_normal((B,) + region)
    _check(lambda v: R.index_add(v, index=index, x_shape=shape), v, in_axes=(0,))
    for in_axes in ((0, 0), (0, None)):
        _check(lambda x, v: x.at[index].set(v), x, v, in_axes=in_axes)
    _check(lambda x, v: x.at[index].set(v[..., :1]), x, v, in_axes=(0, 0))  # v broadcast


def test_setitem_inside_vmap_writes_each_example_and_refuses_an_unmapped_target():
    rng = _rng("setitem")
    x, v = rng.standard_normal((B, 2, 3)), rng.standard_normal((B, 2))

    def write(x, v):
        y = x * 1.0
        y[np.array([1, 0]), 2] = v
        view = y[:, :2]
        view *= 2.0  # through a view: the stack behind both changes
        return y

    _check(write, x, v, in_axes=(0, 0))
    _check(write, x, v, in_axes=(0, None))
    with pytest.raises(RuntimeError, match=r"vmap: setitem: .* differ from example to example"):
        vmap(write, in_axes=(None, 0))(cr.tensor(x[0]), cr.tensor(v))


def test_copy_slices_of_stacks_matches_each_example():
    rng = _rng("copy_slices")
    steps = ((R.getitem, dict(index=(slice(None), slice(1, None)), x_shape=(2, 3))),
             (R.transpose, dict(axes=(1, 0))))
    base, value = rng.standard_normal((B, 2, 3)), rng.standard_normal((B, 2, 2))
    for in_axes in ((0, 0), (None, 0), (0, None)):
        _check(lambda b, v: R.copy_slices(b, v, steps=steps), base, value, in_axes=in_axes)


# --------------------------------------------------------------------------------------------
# lstsq


@pytest.mark.parametrize(("a_shape", "b_shape", "in_axes"), [
    ((5, 3), (5,), (None, 0)),       # one matrix, a vector per example: one problem
    ((2, 4, 3), (4, 2), (None, 0)),  # the examples' stacks line up as NumPy's
    ((2, 4, 3), (4, 2), (0, 0)),
    ((4, 3), (4, 2), (0, 1)),
])
def test_lstsq_solution_matches_each_example(a_shape, b_shape, in_axes):
    rng = _rng(f"lstsq{a_shape}{b_shape}{in_axes}")
    a, b = rng.standard_normal((B,) + a_shape), rng.standard_normal((B,) + b_shape)
    _check(lambda a, b: cr.linalg.lstsq(a, b).solution, a, b, in_axes=in_axes)


def test_lstsq_parts_match_each_example():
    rng = _rng("lstsq parts")
    a, b = rng.standard_normal((B, 5, 3)), rng.standard_normal((B, 5, 2))
    a[1, :, 2] = a[1, :, 0]  # rank 2: the ranks differ between the examples
    got = vmap(lambda a, b: tuple(cr.linalg.lstsq(a, b)))(cr.tensor(a), cr.tensor(b))
    for k in range(B):
        want = cr.linalg.lstsq(cr.tensor(a[k]), cr.tensor(b[k]))
        np.testing.assert_allclose(got[0].numpy()[k], want.solution.numpy(), rtol=1e-10,
                                   atol=1e-12)
        assert got[2].numpy()[k] == want.rank.numpy()
        np.testing.assert_allclose(got[3].numpy()[k], want.singular_values.numpy(), rtol=1e-12)
        if want.residuals.numel():  # (full rank: the same residuals)
            np.testing.assert_allclose(got[1].numpy()[k], want.residuals.numpy(), rtol=1e-10)


# --------------------------------------------------------------------------------------------
# in-place changes followed by a grad or jvp inside vmap


def _through_a_view(x):
    y = x * 1.0
    view = y[:, 1:]
    view.mul_(x[:, :3])  # recorded on y (copy_slices)
    return (y * y).sum()


def _base_changed_under_a_view(x):
    y = x * 1.0
    view, row = y[:, 1:], y[0]
    y.mul_(3.0)  # both views' histories are made again from y's
    return (view * view).sum() + (row ** 3).sum()


def _set_then_saved(x):
    y = x * 1.0
    y[:, 1] = x[:, 0] ** 2
    z = y * y  # saves the changed y
    w = x * 1.0
    w.add_(1.0)  # a later in-place change elsewhere: z's saved y is still current
    return z.sum() + w.sum()


@pytest.mark.parametrize("fn", [_through_a_view, _base_changed_under_a_view, _set_then_saved])
def test_in_place_changes_inside_vmap_of_grad_and_jvp_match_each_example(fn):
    x = _rng(f"in place {fn.__name__}").standard_normal((B, 2, 4))
    _check_derivatives(fn, x)


def test_in_place_change_of_a_saved_value_inside_vmap_of_grad_is_refused():
    def changed_after_saved(x):
        y = x.exp()  # saves its result
        y.mul_(2.0)
        return y.sum()

    def saved_then_changed(x, v):
        y = x * 1.0  # no history: mul_ saves y itself, for v's gradient
        y.mul_(v)
        return y.sum()

    x = cr.tensor(_rng("saved").standard_normal((B, 3)))
    for fn, args in ((grad(changed_after_saved), (x,)),
                     (grad(saved_then_changed, argnums=1), (x, x + 1.0))):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            fn(*(a[0] for a in args))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            vmap(fn)(*args)


def test_in_place_change_of_the_differentiated_input_inside_vmap_is_refused():
    x = cr.tensor(_rng("leaf").standard_normal((B, 3)))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        vmap(grad(lambda t: t.mul_(2.0).sum()))(x)
