"""Per-example gradients with ``vmap(grad(...))``: differentially private SGD's clipping on a
small digits classifier.

Ordinary training needs only the gradient of the batch's mean loss.  Differentially private
SGD (Abadi et al., 2016) needs each example's own gradient ``g_i``: it bounds every example's
influence by clipping ``g_i`` to norm at most ``C``, adds Gaussian noise to the sum, and only
then averages:

    g_i  <-  g_i * min(1, C / ||g_i||)                       (clip each example)
    g    <-  (sum_i g_i + N(0, sigma^2 C^2 I)) / B           (noise, then the mean)
    w    <-  w - lr * g                                      (an SGD step)

A loop of ``B`` gradient calls computes the ``g_i`` slowly; ``chainrule.func.vmap`` of
``chainrule.func.grad`` computes all of them in one batched pass.  The loss is written for
*one* example as a pure function of the parameters (a dict of tensors, named as the Module's
``state_dict``); ``vmap(..., in_axes=(None, 0, 0))`` shares the parameters and maps over the
examples and labels.  Where ``chainrule.func.functional_call`` exists, the loss calls the
Module itself with the given parameters; otherwise it writes the same two layers out.

The script checks itself: the pure function computes what the Module computes, and on the
first batch the vmap gradients equal a loop of per-example ``grad`` calls.  Then it trains a
few epochs and prints the test accuracy.  (This shows the mechanics; it does no privacy
accounting, and samples fixed-size batches rather than Poisson ones.)

Run: python examples/per_example_gradients.py     (scikit-learn's digits where installed,
otherwise a synthetic 10-class problem of the same shape)
"""

import numpy as np

import chainrule as cr
from chainrule import func, nn

rng = np.random.default_rng(0)
cr.manual_seed(0)

# ---- data: 8 x 8 digits as 64 features, labels one-hot -------------------------------------
try:
    from sklearn.datasets import load_digits

    digits = load_digits()
    features, labels = digits.data / 16.0, digits.target
    print("data: scikit-learn's 8 x 8 digits")
except ImportError:  # the same shapes, drawn around ten random class centres
    labels = rng.integers(0, 10, 1797)
    features = rng.random((10, 64))[labels] + 0.3 * rng.standard_normal((1797, 64))
    print("data: synthetic (scikit-learn is not installed)")
order = rng.permutation(len(labels))
train, test = order[:1400], order[1400:]
X = cr.tensor(features, dtype=cr.float32)
Y = cr.tensor(np.eye(10)[labels], dtype=cr.float32)  # one-hot rows

# ---- the model, and its loss for one example as a pure function of the parameters ----------
net = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
functional_call = getattr(func, "functional_call", None)


def logits(params, x):
    """The network's output for one example ``x`` (64 features) with parameters ``params``."""
    if functional_call is not None:
        return functional_call(net, params, (x,))
    h = cr.tanh(params["0.weight"] @ x + params["0.bias"])  # h = tanh(W1 x + b1)
    return params["2.weight"] @ h + params["2.bias"]  # z = W2 h + b2


def loss(params, x, y):
    """Softmax cross-entropy of one example: -log softmax(z)_label = logsumexp(z) - y . z."""
    z = logits(params, x)
    return cr.logsumexp(z, 0) - (y * z).sum()


# vmap maps over the examples and labels (axis 0) and shares the parameters (None)
per_example_grads = func.vmap(func.grad(loss), in_axes=(None, 0, 0))


def global_norms(grads):
    """||g_i|| over all the parameters together, one per example."""
    squares = sum((g.reshape(g.shape[0], -1) ** 2).sum(1) for g in grads.values())
    return squares.sqrt()


def accuracy(params, idx):
    net.load_state_dict(params)  # the Module itself, with the trained parameters
    with cr.no_grad():
        return (net(X[idx]).argmax(dim=1).numpy() == labels[idx]).mean()


params = {name: p.detach().clone() for name, p in net.state_dict().items()}

# ---- self-checks ---------------------------------------------------------------------------
with cr.no_grad():  # the pure function is the Module
    np.testing.assert_allclose(logits(params, X[0]).numpy(), net(X[0]).numpy(),
                               rtol=1e-5, atol=1e-6)

C, SIGMA, LR, BATCH = 1.0, 1.0, 1.0, 64  # clipping norm, noise multiplier, step, batch size
first = rng.choice(train, BATCH, replace=False)
grads = per_example_grads(params, X[first], Y[first])
loop = [func.grad(loss)(params, X[i], Y[i]) for i in first]  # one gradient call per example
for name, g in grads.items():
    np.testing.assert_allclose(g.numpy(), np.stack([gi[name].numpy() for gi in loop]),
                               rtol=1e-4, atol=1e-6, err_msg=f"per-example gradient of {name}")
print(f"vmap(grad) matches a loop of {BATCH} grad calls on the first batch "
      f"({', '.join(f'{k} {tuple(g.shape)}' for k, g in grads.items())})")
norms = global_norms(grads).numpy()
print(f"per-example gradient norms: min {norms.min():.3f}, median {np.median(norms):.3f}, "
      f"max {norms.max():.3f} (clipped to C = {C})")

# ---- DP-SGD: clip, add noise, average, step ------------------------------------------------
print(f"before training: test accuracy {accuracy(params, test):.3f}")
for epoch in range(5):
    for _ in range(len(train) // BATCH):  # an epoch's worth of random batches
        idx = rng.choice(train, BATCH, replace=False)
        grads = per_example_grads(params, X[idx], Y[idx])
        scale = (C / (global_norms(grads) + 1e-12)).clamp(max=1.0)  # min(1, C / ||g_i||)
        for name, g in grads.items():
            clipped_sum = (g * scale.reshape((-1,) + (1,) * (g.dim() - 1))).sum(0)
            noise = cr.tensor(rng.normal(0.0, SIGMA * C, clipped_sum.shape), dtype=cr.float32)
            params[name] = params[name] - LR * (clipped_sum + noise) / BATCH
    print(f"epoch {epoch + 1}: test accuracy {accuracy(params, test):.3f}")

final = accuracy(params, test)
assert final > 0.85, final  # noisy, clipped steps still learn the digits
