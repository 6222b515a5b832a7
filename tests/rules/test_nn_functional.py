"""``chainrule.nn.functional.cross_entropy`` against PyTorch's documented formula (written out
in NumPy below) and finite differences.  The primitive itself is also in the primitive table
(probability targets); this file covers index targets, class weights, ``ignore_index``,
``label_smoothing``, the reductions and the error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import rules as R
from chainrule.func import jvp
from chainrule.testing import check_grads

CLASSES = 5
SHAPES = [(CLASSES,), (4, CLASSES), (3, CLASSES, 2)]


def reference(z, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's documentation of ``cross_entropy``, term by term, in NumPy (float64)."""
    axis = 1 if z.ndim > 1 else 0
    classes = z.shape[axis]
    top = z.max(axis=axis, keepdims=True)
    log_p = z - top - np.log(np.exp(z - top).sum(axis=axis, keepdims=True))
    w = np.ones(classes) if weight is None else weight
    along = w.reshape((-1,) + (1,) * (z.ndim - 1 - axis))
    if target.dtype.kind in "iu":
        kept = target != ignore_index
        t = np.where(kept, target, 0)
        log_p_t = np.take_along_axis(log_p, np.expand_dims(t, axis), axis).squeeze(axis)
        nll = -w[t] * log_p_t * kept
        smooth = -(log_p * along).sum(axis=axis) * kept
        losses = (1 - label_smoothing) * nll + label_smoothing / classes * smooth
        denominator = (w[t] * kept).sum()
    else:
        p = target * (1 - label_smoothing) + label_smoothing / classes
        losses = -(p * along * log_p).sum(axis=axis)
        denominator = z.size / classes
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / denominator


def _case(shape, seed, ignore=False, probabilities=False):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape)
    axis = 1 if len(shape) > 1 else 0
    if probabilities:
        p = rng.uniform(0.1, 1.0, shape)
        return z, p / p.sum(axis=axis, keepdims=True)
    target = rng.integers(0, CLASSES, shape[:axis] + shape[axis + 1:])
    if ignore:
        target = np.where(rng.random(target.shape) < 0.4, -100, target)
        target.flat[0] = 1  # at least one kept
    return z, target


OPTIONS = list(itertools.product(SHAPES, [False, True], ["none", "mean", "sum"], [0.0, 0.2]))


@pytest.mark.parametrize(("shape", "weighted", "reduction", "smoothing"), OPTIONS)
@pytest.mark.parametrize("ignore", [False, True])
def test_index_targets_follow_the_documented_formula(shape, weighted, reduction, smoothing,
                                                     ignore):
    z0, target = _case(shape, seed=len(shape), ignore=ignore)
    weight = np.random.default_rng(7).uniform(0.5, 2.0, CLASSES) if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=smoothing)
    loss = F.cross_entropy(cr.tensor(z0), cr.tensor(target), **kwargs)
    np.testing.assert_allclose(loss.numpy(), reference(z0, target, **kwargs), rtol=1e-12)
    # gradients against central differences, to second order, both modes
    check_grads(lambda z: F.cross_entropy(z, cr.tensor(target), **kwargs), (z0,), order=2)


@pytest.mark.parametrize(("shape", "weighted", "reduction", "smoothing"), OPTIONS)
def test_probability_targets_follow_the_documented_formula(shape, weighted, reduction,
                                                           smoothing):
    z0, p0 = _case(shape, seed=10 + len(shape), probabilities=True)
    weight = np.random.default_rng(8).uniform(0.5, 2.0, CLASSES) if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=smoothing)
    loss = F.cross_entropy(cr.tensor(z0), cr.tensor(p0), **kwargs)
    np.testing.assert_allclose(loss.numpy(), reference(z0, p0, **kwargs), rtol=1e-12)
    # the targets are differentiable too
    check_grads(lambda z, p: F.cross_entropy(z, p, **kwargs), (z0, p0), order=2)


def test_gradient_is_softmax_minus_one_hot_over_the_batch():
    """The closed form of the usual case: d mean(loss) / dz = (softmax(z) - onehot) / N."""
    z0, target = _case((4, CLASSES), seed=3)
    z = cr.tensor(z0, requires_grad=True)
    F.cross_entropy(z, cr.tensor(target)).backward()
    softmax = np.exp(z0) / np.exp(z0).sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(CLASSES)[target]) / len(target)
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(4, CLASSES), (3, CLASSES, 2)])
def test_the_index_primitives_take_the_class_axis_counted_from_the_end(shape):
    # (nn.functional passes axis 1; a direct call may count from the end, as NumPy does)
    z0, target = _case(shape, seed=9)
    t = cr.tensor(target)
    axis = 1 - len(shape)
    top = z0.max(axis=1, keepdims=True)
    softmax = np.exp(z0 - top) / np.exp(z0 - top).sum(axis=1, keepdims=True)
    onehot = np.moveaxis(np.eye(CLASSES)[target], -1, 1)
    slope = R.softmax_minus_one_hot(cr.tensor(z0), t, axis=axis)
    np.testing.assert_allclose(slope.numpy(), softmax - onehot, rtol=1e-12, atol=1e-15)
    z = cr.tensor(z0, requires_grad=True)
    losses = R.softmax_cross_entropy(z, t, axis=axis, scale=None)
    expected = -np.log((softmax * onehot).sum(axis=1))
    np.testing.assert_allclose(losses.detach().numpy(), expected, rtol=1e-12)
    # the gradients, reverse and forward mode: d sum(w losses) / dz = w (softmax - onehot)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, expected.shape)
    losses.backward(cr.tensor(weights))
    per_sample = np.expand_dims(weights, 1)
    np.testing.assert_allclose(z.grad.numpy(), per_sample * (softmax - onehot), rtol=1e-12,
                               atol=1e-15)
    tangent = np.random.default_rng(4).standard_normal(shape)
    _, derivative = jvp(lambda z: R.softmax_cross_entropy(z, t, axis=axis, scale=None),
                        (cr.tensor(z0),), (cr.tensor(tangent),))
    np.testing.assert_allclose(derivative.numpy(), ((softmax - onehot) * tangent).sum(axis=1),
                               rtol=1e-12, atol=1e-15)


def test_the_usual_case_records_one_node():
    z = cr.randn(4, CLASSES, requires_grad=True)
    loss = F.cross_entropy(z, cr.tensor([0, 1, 2, 3]))
    assert loss.grad_fn.name() == "SoftmaxCrossEntropyBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "AccumulateGrad"  # z itself


def test_weights_of_one_give_the_unweighted_loss():
    """The general path (weights, ignored targets) and the one-node path agree."""
    z0, target = _case((4, CLASSES), seed=4)
    results = []
    for weight in (None, np.ones(CLASSES)):
        z = cr.tensor(z0, requires_grad=True)
        loss = F.cross_entropy(z, cr.tensor(target), weight)
        loss.backward()
        results.append((loss.item(), z.grad.numpy()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-14)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-14)


def test_every_target_ignored_gives_nan_and_no_gradient():
    """The mean of nothing: NaN, as in PyTorch, and the logits get a zero gradient."""
    z = cr.randn(3, CLASSES, requires_grad=True)
    loss = F.cross_entropy(z, cr.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((3, CLASSES)))


def test_a_zero_total_weight_gives_nan_and_a_nan_gradient():
    """Kept targets whose classes all weigh 0: the mean is 0 / 0, NaN, gradient too (PyTorch)."""
    z = cr.randn(2, 3, requires_grad=True)
    loss = F.cross_entropy(z, cr.tensor([0, 2]), weight=[0.0, 1.0, 0.0], label_smoothing=0.1)
    loss.backward()
    assert np.isnan(loss.item()) and np.isnan(z.grad.numpy()).all()


def test_changing_an_index_target_in_place_before_backward_raises():
    """The rule reads the targets: a change after the forward pass must not go unnoticed."""
    z = cr.randn(2, 3, requires_grad=True)
    target = cr.tensor([2, 0])
    loss = F.cross_entropy(z, target)
    target[0] = 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_numpy_target_changed_after_the_forward_pass_is_not_seen():
    z0, target = _case((4, CLASSES), seed=6)
    z = cr.tensor(z0, requires_grad=True)
    loss = F.cross_entropy(z, target)
    expected = (np.exp(z0) / np.exp(z0).sum(axis=1, keepdims=True)
                - np.eye(CLASSES)[target]) / len(target)
    target[:] = (target + 1) % CLASSES  # the caller reuses its array
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_class_weights_that_require_grad_get_their_gradient():
    """With probability targets the loss is differentiable in the weights (as in PyTorch)."""
    z0, p0 = _case((4, CLASSES), seed=9, probabilities=True)
    w0 = np.random.default_rng(9).uniform(0.5, 2.0, CLASSES)
    check_grads(lambda z, p, w: F.cross_entropy(z, p, w), (z0, p0, w0), order=2)
    w = cr.tensor(w0, requires_grad=True)
    with pytest.raises(ValueError, match="not differentiable with respect to the class weights"):
        F.cross_entropy(cr.tensor(z0), cr.tensor([0, 1, 2, 3]), w)


def test_a_numpy_float_smoothing_keeps_float32():
    z = cr.randn(2, 3)
    for target in (cr.tensor([2, 0]), cr.softmax(cr.randn(2, 3), dim=1)):
        loss = F.cross_entropy(z, target, label_smoothing=np.float64(0.1))
        assert loss.dtype == cr.float32


def test_an_empty_batch_has_a_nan_mean_and_a_zero_sum():
    z = cr.zeros(0, CLASSES, requires_grad=True)
    target = cr.zeros(0, dtype=cr.int64)
    assert np.isnan(F.cross_entropy(z, target).item())
    assert F.cross_entropy(z, target, reduction="sum").item() == 0.0


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_the_loss_and_gradient_keep_the_logits_dtype(dtype):
    z = cr.randn(4, CLASSES, dtype=dtype, requires_grad=True)
    loss = F.cross_entropy(z, cr.tensor([0, 1, 2, 3]))
    loss.backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype


def test_large_logits_do_not_overflow():
    z = cr.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(z, cr.tensor([1]))
    loss.backward()
    assert loss.item() == pytest.approx(1000.0)
    np.testing.assert_allclose(z.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-12)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([0, 1, 2, 9])), IndexError,
     "cross_entropy: target 9 is out of bounds for 5 classes"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([0, 1, 2])), ValueError,
     r"class-index target has shape \(3,\); expected \(4,\)"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.rand(4, 4)), ValueError,
     r"a probability target must have the input's shape \(4, 5\), got \(4, 4\)"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([True, False, True, True])), TypeError,
     "target must hold class indices .* got bool"),
    (lambda: F.cross_entropy(cr.tensor([[1, 2]]), cr.tensor([0])), TypeError,
     r"input must hold floating-point logits, got int64; convert it with \.float\(\)"),
    (lambda: F.cross_entropy(cr.tensor(1.0), cr.tensor(0)), ValueError,
     r"input has shape \(\); pass logits of shape \(C,\)"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([0, 1, 2, 3]), reduction="avg"),
     ValueError, "reduction='avg' is not one of 'none', 'mean', 'sum'"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([0, 1, 2, 3]), label_smoothing=1.5),
     ValueError, "label_smoothing must be between 0.0 and 1.0, got 1.5"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.tensor([0, 1, 2, 3]), cr.ones(4)),
     ValueError, r"weight has shape \(4,\); pass one weight per class, shape \(5,\)"),
    (lambda: F.cross_entropy(cr.randn(4, 5), cr.rand(4, 5), ignore_index=1), ValueError,
     "ignore_index=1 applies to class-index targets only"),
    (lambda: F.cross_entropy(cr.randn(2, 0), cr.tensor([0, 0])), ValueError,
     r"input has shape \(2, 0\), with no classes along dim 1"),
])
def test_bad_arguments_get_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_arguments_are_accepted():
    z0, target = _case((4, CLASSES), seed=5)
    loss = F.cross_entropy(z0, target)
    assert isinstance(loss, cr.Tensor)
    assert loss.item() == pytest.approx(float(reference(z0, target)), rel=1e-12)
