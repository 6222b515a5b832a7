"""Results that are not views have storage of their own (issue 13, classes A and B): an
in-place change of the input afterwards never shows through them, and an in-place change of
them never reaches a value that a recorded node saved.  PyTorch's semantics: only its view
operations (reshape, view, permute, transpose, expand, basic indexing ...) share storage."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("equation", ["ij->ji", "ii->i", "ij->ij", "ij"])
def test_one_operand_einsum_has_its_own_storage(equation):
    x = cr.tensor([[0.1, -0.2], [0.3, 0.4]], dtype=cr.float64, requires_grad=True)
    e = x.exp()
    v = cr.einsum(equation, e)
    with cr.no_grad():
        v.mul_(3)  # changes v only: e, which Exp saved, is untouched
    e.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()))


MADE_FROM = {
    "flip": lambda x: x.flip(0),
    "max(dim) of 0-d": lambda x: x.reshape(()).max(0).values,
    "min(dim) of 0-d": lambda x: x.reshape(()).min(0).values,
    "sort of 0-d": lambda x: x.reshape(()).sort().values,
    "amax of 0-d": lambda x: x.reshape(()).amax(),
    "einsum": lambda x: cr.einsum("i->i", x),
}


@pytest.mark.parametrize("name", MADE_FROM)
def test_changing_the_input_in_place_does_not_show_through(name):
    x = cr.tensor([2.0], dtype=cr.float64) if "0-d" in name else cr.tensor([1.0, 2.0, 3.0])
    out = MADE_FROM[name](x)
    before = out.numpy().copy()
    with cr.no_grad():
        x.mul_(10)
    np.testing.assert_array_equal(out.numpy(), before)


VIEWS = {
    "reshape": lambda x: x.reshape(3, 2),
    "t": lambda x: x.t(),
    "permute": lambda x: x.permute(1, 0),
    "basic indexing": lambda x: x[0],
    "unsqueeze": lambda x: x.unsqueeze(0),
    "expand": lambda x: x.expand(2, 2, 3),
}


@pytest.mark.parametrize("name", VIEWS)
def test_view_operations_still_show_in_place_changes(name):
    x = cr.arange(6.0).reshape(2, 3)
    view = VIEWS[name](x)
    with cr.no_grad():
        x.add_(1)
    expected = VIEWS[name](cr.arange(6.0).reshape(2, 3) + 1)
    np.testing.assert_array_equal(view.numpy(), expected.numpy())


def test_an_expanded_view_that_repeats_nothing_is_written_through():
    """(issue 13, K) as PyTorch: x.expand(1, 3) and x.expand(()) are plain views of x."""
    x = cr.ones(3)
    x.expand(1, 3).mul_(2)
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])
    s = cr.ones(())
    s.expand(()).add_(1)
    assert s.item() == 2.0
    t = cr.ones(3, 4)[:, 1]  # not contiguous: NumPy's own broadcast, made writeable too
    t.broadcast_to((1, 3)).mul_(5)
    np.testing.assert_array_equal(t.numpy(), [5.0, 5.0, 5.0])


def test_writing_through_a_repeating_view_is_pytorchs_error():
    x = cr.ones(1, 3)
    v = x.expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                           "refers to a single memory location"):
        v.mul_(2)
    np.testing.assert_array_equal(x.numpy(), np.ones((1, 3)))


def test_advanced_indexing_gives_a_row_major_copy_whose_reshape_is_a_view():
    """Found by the random programs: NumPy may lay out x[:, [3, 1, 0, 2]] column by column,
    so that reshape copied where PyTorch's is a view and an in-place change through it was
    lost."""
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[:, [3, 1, 0, 2]]
    v = y.reshape(4, 3).t()
    v.add_(100.0)
    np.testing.assert_array_equal(y.detach().numpy(),
                                  np.arange(12.0).reshape(3, 4)[:, [3, 1, 0, 2]] + 100)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (np.arange(12.0).reshape(3, 4) + 100))
