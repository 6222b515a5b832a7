"""A whole training step compiled (docs/compile.md): an MLP on scikit-learn's 8 x 8 digits,
its forward pass, gradients (``autograd.grad``) and SGD update in place traced once and then
replayed as one straight-line plan.  The same step runs eagerly on a copy of the parameters;
both must train to the same weights, and the script prints the time of each.

Run: python examples/compiled_training.py     (needs: pip install 'chainrule[examples]')
"""

import time

import numpy as np
from sklearn.datasets import load_digits

import chainrule as torch

digits = load_digits()
X = torch.tensor(digits.images.reshape(-1, 64) / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
batches = [(X[i:i + 128], y[i:i + 128]) for i in range(0, 1664, 128)]  # 13 full batches


def make_params(seed: int) -> list:
    generator = torch.Generator().manual_seed(seed)
    sizes = (64, 128, 10)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params += [(torch.randn(m, n, generator=generator) / m ** 0.5).requires_grad_(),
                   torch.zeros(n, requires_grad=True)]
    return params


def make_step(params, lr: float = 0.5):
    def step(x, labels):
        h = torch.relu(x @ params[0] + params[1])
        loss = torch.nn.functional.cross_entropy(h @ params[2] + params[3], labels)
        grads = torch.autograd.grad(loss, params)  # returned, not written into .grad
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g  # written into p's array by every replay too
        return loss.detach()
    return step


compiled_params, eager_params = make_params(0), make_params(0)
compiled_step = torch.compile(make_step(compiled_params))
eager_step = make_step(eager_params)

timings = {"eager": 0.0, "compiled": 0.0}
for epoch in range(10):
    for x, labels in batches:
        for name, step in (("eager", eager_step), ("compiled", compiled_step)):
            start = time.perf_counter()
            loss = step(x, labels)
            timings[name] += time.perf_counter() - start
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")

for a, b in zip(compiled_params, eager_params):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
assert compiled_step.traces == 1, compiled_step.traces
with torch.no_grad():
    logits = torch.relu(X @ compiled_params[0] + compiled_params[1]) @ compiled_params[2]
    accuracy = ((logits + compiled_params[3]).argmax(dim=1) == y).float().mean().item()
assert accuracy > 0.9, accuracy
steps = 10 * len(batches)
print(f"training accuracy {accuracy:.3f}; both steps trained to the same weights")
print(f"time per step: eager {1e6 * timings['eager'] / steps:.0f} us, compiled (the first "
      f"call traces) {1e6 * timings['compiled'] / steps:.0f} us")
print("the plan's first lines:")
print("\n".join(compiled_step.source.splitlines()[:8]))
