"""Fit a line by gradient descent: record the loss, backpropagate, update under no_grad.

Run: python examples/linear_regression.py
"""

import numpy as np

import chainrule as torch

rng = np.random.default_rng(0)
features = torch.tensor(rng.normal(size=(200, 2)))
true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
labels = features @ true_w + true_b + torch.tensor(rng.normal(scale=0.01, size=200))

w = torch.zeros(2, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
learning_rate = 0.1
for _ in range(100):
    loss = ((features @ w + b - labels) ** 2).mean()
    loss.backward()
    with torch.no_grad():  # the update itself must not be recorded
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()

print(f"loss {loss.item():.6f}; w = {w.tolist()} (true {true_w.tolist()}); b = {b.item():.4f}")
assert np.allclose(w.detach().numpy(), true_w.numpy(), atol=0.01)
assert abs(b.item() - true_b) < 0.01
