"""Derivatives of derivatives: differentiate the recorded backward pass (create_graph=True).

Run: python examples/higher_order.py
"""

import math

import chainrule as torch

x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
y = torch.sin(x) * torch.exp(x)

# Each grad(..., create_graph=True) records the backward pass, so it can be differentiated again.
derivatives = [y]
for _ in range(4):
    (d,) = torch.autograd.grad(derivatives[-1], x, create_graph=True)
    derivatives.append(d)

# Closed forms: (sin x e^x)^(n) = 2^(n/2) e^x sin(x + n pi / 4)
for order, d in enumerate(derivatives):
    exact = 2 ** (order / 2) * math.exp(0.5) * math.sin(0.5 + order * math.pi / 4)
    print(f"order {order}: autograd {d.item():+.12f}   closed form {exact:+.12f}")
    assert abs(d.item() - exact) < 1e-12
