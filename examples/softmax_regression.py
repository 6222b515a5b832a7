"""Concise softmax regression (Dive into Deep Learning, chapter 4) on scikit-learn's 8 x 8
handwritten digits (they ship inside scikit-learn: no download): ``nn.Flatten`` and one
``nn.Linear``, ``nn.CrossEntropyLoss`` (which takes the logits: the softmax and the log are
fused, so no exponential overflows) and minibatch SGD.

Run: python examples/softmax_regression.py     (needs: pip install 'chainrule[examples]')
"""

import numpy as np
from sklearn.datasets import load_digits

import chainrule as torch
from chainrule import nn
from chainrule.utils import data

torch.manual_seed(0)
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
dataset = data.TensorDataset(images, torch.tensor(digits.target))
train, test = data.random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
train_iter = data.DataLoader(train, batch_size=64, shuffle=True)
test_iter = data.DataLoader(test, batch_size=256)

net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
nn.init.normal_(net[1].weight, std=0.01)
nn.init.zeros_(net[1].bias)
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.5)


def accuracy(net, data_iter):
    """The fraction of examples whose most likely class is the label."""
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += (net(X).argmax(dim=1) == y).sum().item()
            total += len(y)
    return correct / total


for epoch in range(10):
    net.train()
    for X, y in train_iter:
        trainer.zero_grad()
        l = loss(net(X), y)  # noqa: E741 (the book's name)
        l.backward()
        trainer.step()
    print(f"epoch {epoch + 1}: loss {l.item():.4f}, test accuracy {accuracy(net, test_iter):.3f}")

test_accuracy = accuracy(net, test_iter)
# a linear classifier of the pixels: most of the digits, not all
assert 0.9 < test_accuracy < 1.0, test_accuracy
# the probabilities sum to 1 and the predictions are the largest probability
probabilities = torch.softmax(net(images[:5]), dim=1)
assert np.allclose(probabilities.sum(1).detach().numpy(), 1.0, atol=1e-6)
print(f"test accuracy {test_accuracy:.3f}")
