"""A multilayer perceptron with dropout and weight decay (Dive into Deep Learning, chapter
5) on scikit-learn's 8 x 8 handwritten digits, then its parameters saved and loaded again
(``chainrule.save`` / ``chainrule.load``: a safetensors file, never a pickle).

Dropout zeroes each hidden unit with probability p during training and scales the others by
1 / (1 - p), so a layer's expected output is unchanged; ``net.eval()`` turns it off.  Weight
decay (``weight_decay=`` of the optimiser) adds ``wd * w`` to each gradient: the gradient of
the penalty ``wd / 2 * ||w||^2``.

Run: python examples/mlp_dropout.py     (needs: pip install 'chainrule[examples]')
"""

import os
import tempfile

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
train_iter = data.DataLoader(train, batch_size=32, shuffle=True)
X_test, y_test = next(iter(data.DataLoader(test, batch_size=len(test))))


def mlp():
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 10))


net = mlp()
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

# dropout is random in training mode and the identity in eval mode
net.train()
assert not torch.equal(net(X_test[:8]), net(X_test[:8]))
net.eval()
assert torch.equal(net(X_test[:8]), net(X_test[:8]))

for epoch in range(12):
    net.train()
    for X, y in train_iter:
        trainer.zero_grad()
        l = loss(net(X), y)  # noqa: E741 (the book's name)
        l.backward()
        trainer.step()
    net.eval()
    with torch.no_grad():
        test_accuracy = (net(X_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: loss {l.item():.4f}, test accuracy {test_accuracy:.3f}")
assert test_accuracy > 0.95, test_accuracy

# save the parameters, load them into a fresh network: it predicts the same
path = os.path.join(tempfile.mkdtemp(), "mlp.safetensors")
torch.save(net.state_dict(), path)
clone = mlp()
assert not torch.equal(clone(X_test).argmax(1), net(X_test).argmax(1))  # fresh weights
clone.load_state_dict(torch.load(path))
clone.eval()
with torch.no_grad():
    assert torch.equal(clone(X_test), net(X_test))
for (name, p), (_, q) in zip(net.named_parameters(), clone.named_parameters()):
    assert p is not q and np.array_equal(p.detach().numpy(), q.detach().numpy()), name
print(f"saved to {path} ({os.path.getsize(path):,} bytes) and loaded: the same predictions")
