"""A node saves what its rules read, as PyTorch's do, and only a change of one of those values
stops a backward pass (issue 13, class F): ``x ** 2`` and ``x / y`` do not read their results,
``sort`` reads its permutation, not its input."""

import numpy as np
import pytest

import chainrule as cr

MODIFIED = "modified by an inplace operation"


def f64(values, requires_grad=True):
    return cr.tensor(values, dtype=cr.float64, requires_grad=requires_grad)


def test_a_power_with_a_number_exponent_does_not_read_its_result():
    x = f64([1.0, 2.0])
    y = x ** 2
    with cr.no_grad():
        y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_a_power_with_a_tensor_exponent_reads_its_result():
    x, p = f64([1.0, 2.0]), f64([2.0, 3.0])
    y = x ** p
    with cr.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


def test_a_power_whose_exponent_needs_no_gradient_does_not_read_its_result():
    x, p = f64([1.0, 2.0]), f64([2.0, 3.0], requires_grad=False)
    y = x ** p
    with cr.no_grad():
        y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 12.0])


def test_a_quotient_does_not_read_its_result():
    x, d = f64([1.0, 2.0]), f64([4.0, 8.0])
    q = x / d
    with cr.no_grad():
        q.mul_(10)
    q.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.25, 0.125])
    np.testing.assert_allclose(d.grad.numpy(), [-1.0 / 16, -2.0 / 64])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_does_not_read_its_input(descending):
    a = np.array([3.0, 1.0, 2.0])
    x = f64(a)
    h = x * 1.0
    values, indices = h.sort(descending=descending)
    with cr.no_grad():
        h.mul_(5)
    (values * f64([1.0, 10.0, 100.0], requires_grad=False)).sum().backward()
    expected = np.zeros(3)
    expected[indices.numpy()] = [1.0, 10.0, 100.0]
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_a_change_of_a_value_a_rule_reads_is_still_caught():
    x = f64([1.0, 2.0])
    e = x.exp()
    with cr.no_grad():
        e.add_(1)
    with pytest.raises(RuntimeError, match=MODIFIED):
        e.sum().backward()


@pytest.mark.parametrize("library", ["chainrule", "torch"])
def test_the_same_program_on_chainrule_and_on_pytorch(library):
    lib = cr if library == "chainrule" else pytest.importorskip("torch")
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = (x ** 2) / lib.tensor([4.0, 8.0], dtype=lib.float64)
    s = (x * 1.0).sort().values
    with lib.no_grad():
        y.add_(1)
    (y.sum() + s.sum()).backward()
    np.testing.assert_allclose(np.asarray(x.grad.detach()), [1.5, 1.5])  # 2x / d + 1


def test_solve_reads_its_result_for_the_matrixs_gradient():
    """(found in review) a result changed in place must stop backward when a rule reads it:
    solve's rule for A does, its rule for B does not."""
    a = f64([[3.0, 1.0], [1.0, 2.0]])
    b = f64([1.0, 2.0])
    x = cr.linalg.solve(a, b)
    with cr.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        x.sum().backward()
    a_const = f64([[3.0, 1.0], [1.0, 2.0]], requires_grad=False)
    y = cr.linalg.solve(a_const, b)
    with cr.no_grad():
        y.mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.linalg.solve(a_const.numpy().T, [1.0, 1.0]))


INDEXINGS = {
    "x[idx]": lambda x, idx: x[idx],
    "x[(idx,)]": lambda x, idx: x[(idx,)],
    "x[ndarray]": lambda x, idx: x[idx.numpy()],
    "embedding": lambda x, idx: cr.nn.functional.embedding(idx, x.reshape(4, 1)),
}


@pytest.mark.parametrize("name", sorted(INDEXINGS))
def test_an_index_changed_after_the_call_does_not_move_the_gradient(name):
    # (the node keeps the index it gathered with; PyTorch refuses the backward pass instead,
    # chainrule differentiates at the call's positions: never at others)
    x = f64([1.0, 2.0, 3.0, 4.0])
    idx = cr.tensor([0, 1])
    y = INDEXINGS[name](x, idx)
    with cr.no_grad():
        idx[0] = 3
    idx.numpy()[1] = 2  # (an ndarray index changed through its own array)
    (y.reshape(-1) * f64([1.0, 2.0], requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 0.0, 0.0])


def _masked_select(x, changed):
    mask = cr.tensor([True, False, True, False])
    y = x.masked_select(mask)
    if changed:
        with cr.no_grad():
            mask[...] = cr.tensor([False, True, False, True])
    return y


def _weighted_cross_entropy(x, changed):
    target = cr.tensor([0, 1])
    y = cr.nn.functional.cross_entropy(x.reshape(2, 2), target, weight=f64([1.0, 2.0], False))
    if changed:
        with cr.no_grad():
            target[...] = cr.tensor([1, 1])
    return y.reshape(1)


def _returned_indices(take):
    def run(x, changed):
        values, indices = take(x)
        if changed:  # (each index moved to another position along its dim)
            with cr.no_grad():
                indices[...] = (indices + 1) % 2
        return values.reshape(-1)
    return run


ARGUMENTS_CHANGED = {
    "masked_select mask": _masked_select,
    "cross_entropy target with weight": _weighted_cross_entropy,
    "sort indices": _returned_indices(lambda x: cr.sort(x)),
    "topk smallest indices": _returned_indices(lambda x: cr.topk(x, 2, largest=False)),
    "max along a dim indices": _returned_indices(lambda x: cr.max(x.reshape(2, 2), dim=1)),
    "min along a dim indices (kept)": _returned_indices(
        lambda x: cr.min(x.reshape(2, 2), dim=1, keepdim=True)),
}


@pytest.mark.parametrize("name", sorted(ARGUMENTS_CHANGED))
def test_a_tensor_changed_after_the_call_does_not_move_the_gradient(name):
    # (what the node keeps is its own; the gradient is the one at the call's values)
    grads = []
    for changed in (False, True):
        x = f64([3.0, 1.0, 4.0, 2.0])
        y = ARGUMENTS_CHANGED[name](x, changed)
        (y * f64(np.arange(1.0, y.numel() + 1), False)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_a_singular_matrix_in_a_recorded_backward_pass_raises_linalg_error():
    # (chainrule's LinAlgError, a RuntimeError and NumPy's LinAlgError, as an eager inv
    # raises: not a plain ValueError)
    a = f64(np.outer([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]))
    with pytest.raises(cr.linalg.LinAlgError, match="chainrule.linalg.inv") as caught:
        cr.autograd.grad(cr.linalg.det(a), a, create_graph=True)
    assert isinstance(caught.value, np.linalg.LinAlgError)
    assert isinstance(caught.value, RuntimeError)


def test_a_list_index_changed_after_the_call_does_not_move_the_gradient():
    x = f64([1.0, 2.0, 3.0, 4.0])
    positions = [0, 1]
    y = x[positions]
    positions[0] = 3
    (y * f64([1.0, 2.0], False)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 0.0, 0.0])
    assert x[[]].shape == (0,)  # (an empty list: integer positions, as NumPy reads it)
