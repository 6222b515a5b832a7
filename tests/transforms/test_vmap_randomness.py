"""vmap's ``randomness`` flag: random functions inside vmap raise (``'error'``), draw once for
all examples (``'same'``) or once per example (``'different'``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import vmap

B = 5
XS = cr.tensor(np.full((B, 3), 0.5))

RANDOM = {  # a per-example function of x (shape (3,)) that draws random numbers
    "randn": lambda x: x + cr.randn(3),
    "rand": lambda x: x + cr.rand(3, dtype=cr.float64),
    "randn_like": lambda x: x + cr.randn_like(x),
    "rand_like": lambda x: x * cr.rand_like(x),
    "randint": lambda x: x + cr.randint(0, 10 ** 6, (3,)),
    "randint_like": lambda x: x + cr.randint_like(x, 10 ** 6),
    "normal(numbers)": lambda x: x + cr.normal(0.0, 1.0, (3,)),
    "normal(tensor mean)": lambda x: cr.normal(x, 1.0),
    "randperm": lambda x: x + cr.randperm(3),
    "bernoulli": lambda x: cr.bernoulli(x),
    "dropout": lambda x: F.dropout(x + 1.0, 0.5),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_error_mode_raises_pytorchs_error(name):
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness "
                                           "error mode. Please either use the 'same' or "
                                           "'different' randomness flags on vmap or perform "
                                           "the randomness operation out of vmap"):
        vmap(RANDOM[name])(XS)  # 'error' is the default
    cr.randn(3)  # and outside vmap random functions work again


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_same_draws_once_and_different_draws_per_example(name):
    cr.manual_seed(0)
    same = vmap(RANDOM[name], randomness="same")(XS).numpy()
    assert same.shape == (B, 3)
    for b in range(1, B):
        np.testing.assert_array_equal(same[b], same[0])
    cr.manual_seed(0)
    different = vmap(RANDOM[name], randomness="different")(XS).numpy()
    assert different.shape == (B, 3)
    # (bernoulli and dropout draw 0/1 masks: some examples may agree, not all of B = 5 with
    # 3 fair-ish bits each, for this seed)
    assert any(not np.array_equal(different[b], different[0]) for b in range(1, B))


def test_same_is_the_draw_outside_vmap_and_different_is_a_batch_of_draws():
    """Under 'same' an example sees what cr.randn(3) would draw; under 'different' the B
    examples see the rows of one (B, 3) draw, from the same generator state."""
    cr.manual_seed(3)
    expected = cr.randn(3).numpy()
    cr.manual_seed(3)
    out = vmap(lambda x: x * 0 + cr.randn(3), randomness="same")(XS).numpy()
    np.testing.assert_array_equal(out, np.broadcast_to(expected, (B, 3)))
    cr.manual_seed(3)
    expected = cr.randn(B, 3).numpy()
    cr.manual_seed(3)
    out = vmap(lambda x: x * 0 + cr.randn(3), randomness="different")(XS).numpy()
    np.testing.assert_array_equal(out, expected)


def test_different_draws_have_the_distribution():
    cr.manual_seed(1)
    xs = cr.tensor(np.zeros((4000, 2)))
    z = vmap(lambda x: x + cr.randn(2), randomness="different")(xs).numpy()
    # mean 0 and variance 1 within ~5 standard errors (1/sqrt(4000) = 0.016)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.08)
    np.testing.assert_allclose(z.var(axis=0), 1.0, atol=0.12)
    u = vmap(lambda x: cr.rand_like(x), randomness="different")(xs).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.03


def test_like_functions_see_the_per_example_shape():
    xs = cr.tensor(np.zeros((B, 2, 3)))
    for mode in ("same", "different"):
        out = vmap(lambda x: cr.randn_like(x), randomness=mode)(xs)
        assert out.shape == (B, 2, 3)
    out = vmap(lambda x: cr.randint_like(x, 7), randomness="different")(xs).numpy()
    assert out.dtype == np.float64 and set(np.unique(out)) <= set(range(7))


def test_dropout_masks_per_example_or_shared():
    cr.manual_seed(2)
    xs = cr.tensor(np.ones((B, 200)))
    different = vmap(lambda x: F.dropout(x, 0.25), randomness="different")(xs).numpy()
    # kept entries are scaled by 1 / (1 - p); about a quarter dropped
    assert set(np.unique(different)) == {0.0, 1 / 0.75}
    assert abs((different == 0).mean() - 0.25) < 0.05
    assert all(not np.array_equal(different[b] == 0, different[0] == 0) for b in range(1, B))
    same = vmap(lambda x: F.dropout(x, 0.25), randomness="same")(xs).numpy()
    assert all(np.array_equal(same[b], same[0]) for b in range(1, B))
    # eval mode draws nothing, so it needs no randomness flag
    np.testing.assert_array_equal(vmap(lambda x: F.dropout(x, 0.25, training=False))(xs), xs)


def test_dropout_inside_vmap_of_grad():
    """The mask is a constant of the per-example function: the gradient of sum(dropout(x))
    is the mask itself, scaled."""
    cr.manual_seed(4)
    xs = cr.tensor(np.ones((B, 50)))
    out = vmap(lambda x: F.dropout(x, 0.5), randomness="different")(xs).numpy()
    cr.manual_seed(4)
    g = cr.func.grad(lambda xs: vmap(lambda x: F.dropout(x, 0.5),
                                     randomness="different")(xs).sum())(xs).numpy()
    np.testing.assert_array_equal(g, out)  # x = 1: the output is the scaled mask


def test_nested_levels_each_apply_their_mode():
    xs = cr.tensor(np.zeros((3, 4)))  # 3 outer examples of 4 inner ones
    per_element = lambda x: x + cr.randn(())  # noqa: E731

    def nested(outer, inner):
        return vmap(vmap(per_element, randomness=inner), randomness=outer)(xs).numpy()

    out = nested("different", "same")  # one draw per row
    assert all(np.all(row == row[0]) for row in out) and len(np.unique(out[:, 0])) == 3
    out = nested("same", "different")  # one draw per column, shared by the rows
    assert all(np.array_equal(out[i], out[0]) for i in range(3)) and len(np.unique(out[0])) == 4
    assert len(np.unique(nested("different", "different"))) == 12
    assert len(np.unique(nested("same", "same"))) == 1
    with pytest.raises(RuntimeError, match="randomness error mode"):
        nested("error", "same")  # the outer level's error mode holds inside


def test_chunks_keep_the_mode():
    same = vmap(lambda x: x + cr.randn(3), randomness="same", chunk_size=2)(XS).numpy()
    assert all(np.array_equal(same[b], same[0]) for b in range(B))
    different = vmap(lambda x: x + cr.randn(3), randomness="different", chunk_size=2)(XS)
    assert len(np.unique(different.numpy()[:, 0])) == B


def test_multinomial_inside_vmap():
    weights = cr.tensor([0.0, 1.0, 3.0])
    out = vmap(lambda x: x + cr.multinomial(weights, 2), randomness="same")(XS[:, :2])
    assert out.shape == (B, 2)
    with pytest.raises(NotImplementedError, match="multinomial inside vmap"):
        vmap(lambda x: x + cr.multinomial(weights, 2), randomness="different")(XS[:, :2])


def test_error_message_is_pytorchs():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        torch.func.vmap(lambda x: x + torch.randn(3))(torch.ones(B, 3))
    with pytest.raises(RuntimeError) as ours:
        vmap(lambda x: x + cr.randn(3))(XS)
    assert str(ours.value).startswith(str(theirs.value))


def _filled_in_place(x):
    y = x * 1.0  # a batched tensor of the function's own
    return y.normal_(0.0, 1.0)


def _initialised(x):
    w = cr.empty(3)  # the same for every example
    cr.nn.init.normal_(w)
    return x * w


@pytest.mark.parametrize("f", [_filled_in_place, _initialised], ids=["normal_", "init.normal_"])
def test_in_place_random_fills_follow_the_mode(f):
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(f)(XS)
    same = vmap(f, randomness="same")(XS).numpy()
    assert np.all(same == same[0]) and np.unique(same[0]).size == 3


def test_in_place_random_fill_of_a_batched_tensor_draws_per_example():
    cr.manual_seed(7)
    different = vmap(_filled_in_place, randomness="different")(XS).numpy()
    cr.manual_seed(7)
    want = cr.empty(B, 3, dtype=cr.float64).normal_(0.0, 1.0).numpy()  # the same draw, stacked
    np.testing.assert_array_equal(different, want)
    assert np.unique(different).size == B * 3  # every example its own draws
    # one unbatched tensor cannot hold a draw per example: refused, as in PyTorch
    with pytest.raises(RuntimeError, match="Cannot ask for different inplace randomness"):
        vmap(_initialised, randomness="different")(XS)
    with pytest.raises(RuntimeError, match="Cannot ask for different inplace randomness"):
        vmap(lambda x: x + cr.empty(3).uniform_(), randomness="different")(XS)
