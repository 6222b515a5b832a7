"""Operations on tensors with a dimension of size 0 (issue 13, class H): the results and the
gradients have PyTorch's shapes, reductions over nothing give their identities, and the
maximum over nothing is PyTorch's error."""

import numpy as np
import pytest

import chainrule as cr

CASES = {  # name: (function, input shapes, output shape)
    "softmax over the empty dim": (lambda x: x.softmax(dim=1), [(2, 0)], (2, 0)),
    "softmax along another dim": (lambda x: x.softmax(dim=0), [(2, 0)], (2, 0)),
    "log_softmax over the empty dim": (lambda x: x.log_softmax(dim=1), [(2, 0)], (2, 0)),
    "logsumexp over the empty dim": (lambda x: x.logsumexp(dim=1), [(2, 0)], (2,)),
    "einsum contracting an empty index": (lambda x, y: cr.einsum("ij,jk->ik", x, y),
                                          [(2, 0), (0, 3)], (2, 3)),
    "einsum with an empty output": (lambda x, y: cr.einsum("ij,jk->ik", x, y),
                                    [(0, 2), (2, 3)], (0, 3)),
    "tensordot over an empty dim": (lambda x, y: cr.tensordot(x, y, 1), [(2, 0), (0, 3)],
                                    (2, 3)),
    "matmul over an empty dim": (lambda x, y: x @ y, [(2, 0), (0, 3)], (2, 3)),
    "flatten": (lambda x: x.flatten(), [(2, 0, 3)], (0,)),
    "reshape(-1)": (lambda x: x.reshape(-1), [(2, 0)], (0,)),
    "reshape(-1, 3)": (lambda x: x.reshape(-1, 3), [(2, 0, 3)], (0, 3)),
    "sum": (lambda x: x.sum(), [(0,)], ()),
    "prod": (lambda x: x.prod(), [(0,)], ()),
    "cumprod": (lambda x: x.cumprod(1), [(2, 0)], (2, 0)),
    "norm": (lambda x: x.norm(), [(0,)], ()),
    "cat with an empty piece": (lambda x, y: cr.cat([x, y]), [(0, 2), (1, 2)], (1, 2)),
    "stack of empties": (lambda x, y: cr.stack([x, y]), [(0, 2), (0, 2)], (2, 0, 2)),
    "max(dim) along a full dim": (lambda x: x.max(dim=1).values, [(0, 3)], (0,)),
    "det of an empty batch": (lambda x: cr.linalg.det(x), [(0, 2, 2)], (0,)),
}


@pytest.mark.parametrize("name", CASES)
def test_results_and_gradients_have_the_right_shapes(name):
    f, shapes, out_shape = CASES[name]
    xs = [cr.ones(*s, dtype=cr.float64, requires_grad=True) for s in shapes]
    y = f(*xs)
    assert y.shape == out_shape
    y.sum().backward()
    for x, shape in zip(xs, shapes):
        assert x.grad is not None and x.grad.shape == shape
        assert np.isfinite(x.grad.numpy()).all()


def test_reductions_over_nothing_give_their_identities():
    x = cr.ones(2, 0, dtype=cr.float64)
    np.testing.assert_array_equal(x.logsumexp(dim=1).numpy(), [-np.inf, -np.inf])
    np.testing.assert_array_equal(x.sum(dim=1).numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(x.prod(dim=1).numpy(), [1.0, 1.0])
    g = cr.ones(2, 3, dtype=cr.float64)  # a product over an empty index is all zeros
    a, b = cr.ones(2, 0, dtype=cr.float64), cr.ones(0, 3, dtype=cr.float64)
    np.testing.assert_array_equal(cr.einsum("ij,jk->ik", a, b).numpy(), 0 * g.numpy())


@pytest.mark.parametrize(("call", "error", "phrase"), [
    (lambda: cr.ones(0).amax(), RuntimeError, r"amax\(\): Expected reduction dim to be spec"),
    (lambda: cr.ones(0).max(), RuntimeError, r"max\(\): Expected reduction dim to be spec"),
    (lambda: cr.ones(0).min(), RuntimeError, r"min\(\): Expected reduction dim to be spec"),
    (lambda: cr.ones(2, 0).amax(1), IndexError, "amax.*reduction dim 1 to have non-zero size"),
    (lambda: cr.ones(2, 0).amin((0, 1)), IndexError, "reduction dim 1 to have non-zero"),
    (lambda: cr.ones(0, 2).max(0), IndexError, r"max\(\): Expected reduction dim 0"),
])
def test_the_extremum_of_nothing_is_pytorchs_error(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


def test_pytorch_agrees_on_the_shapes():
    torch = pytest.importorskip("torch")
    for name, (f, shapes, out_shape) in CASES.items():
        xs = [torch.ones(*s, dtype=torch.float64, requires_grad=True) for s in shapes]
        if name == "det of an empty batch":
            y = torch.linalg.det(xs[0])
        elif name.startswith(("einsum", "tensordot", "cat", "stack")):
            continue  # (written with chainrule's module functions)
        else:
            y = f(*xs)
        assert tuple(y.shape) == out_shape, name
