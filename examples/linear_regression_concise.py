"""Concise linear regression (Dive into Deep Learning, chapter 3): the same fit as
``linear_regression.py``, written with the framework's pieces -- a ``TensorDataset`` and a
shuffled ``DataLoader``, ``nn.Linear``, ``nn.MSELoss`` and ``optim.SGD``.

Run: python examples/linear_regression_concise.py
"""

import chainrule as torch
from chainrule import nn
from chainrule.utils import data

torch.manual_seed(0)
true_w, true_b = torch.tensor([2.0, -3.4]), 4.2


def synthetic_data(w, b, num_examples):
    """y = Xw + b + noise, X standard normal, noise of standard deviation 0.01."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


features, labels = synthetic_data(true_w, true_b, 1000)
data_iter = data.DataLoader(data.TensorDataset(features, labels), batch_size=10, shuffle=True)

net = nn.Sequential(nn.Linear(2, 1))
net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.03)

for epoch in range(3):
    for X, y in data_iter:
        trainer.zero_grad()
        l = loss(net(X), y)  # noqa: E741 (the book's name)
        l.backward()
        trainer.step()
    l = loss(net(features), labels)  # noqa: E741
    print(f"epoch {epoch + 1}, loss {l.item():f}")

w, b = net[0].weight.data, net[0].bias.data
print(f"error in estimating w: {(true_w - w.reshape(true_w.shape)).tolist()}")
print(f"error in estimating b: {true_b - b.item():.6f}")
assert (true_w - w.reshape(true_w.shape)).abs().max().item() < 0.01
assert abs(true_b - b.item()) < 0.01
assert l.item() < 2e-4  # the noise's variance is 1e-4
