"""LeNet (Dive into Deep Learning, chapter 7) with batch normalisation (chapter 8's version of
it) on scikit-learn's handwritten digits, brought to LeNet's 28 x 28 input: each 8 x 8 digit is
enlarged 3x (24 x 24) and padded by 2 pixels. The network is the book's: two 5 x 5
convolutions, each followed by batch normalisation, a sigmoid and 2 x 2 average pooling, then
three linear layers (the first two normalised too); ``nn.CrossEntropyLoss`` and minibatch SGD.
Without the normalisation, LeNet's sigmoids need far more steps than these 1,437 images give
(in PyTorch as here); with it, a few seconds of training reach over 90% test accuracy.

Run: python examples/lenet.py     (needs: pip install 'chainrule[examples]')
"""

import time

import numpy as np
from sklearn.datasets import load_digits

import chainrule as torch
from chainrule import nn
from chainrule.utils import data

torch.manual_seed(0)
digits = load_digits()
# 8 x 8 -> 24 x 24 (each pixel a 3 x 3 block) -> 28 x 28 (a border of 2)
enlarged = np.kron(digits.images / 16.0, np.ones((3, 3)))
images = np.pad(enlarged, ((0, 0), (2, 2), (2, 2)))[:, None].astype(np.float32)
dataset = data.TensorDataset(torch.tensor(images), torch.tensor(digits.target))
train, test = data.random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
train_iter = data.DataLoader(train, batch_size=64, shuffle=True)
test_iter = data.DataLoader(test, batch_size=256)

net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(),
    nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
    nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
    nn.Linear(84, 10))


def init_cnn(module):
    """The book's initialisation: Xavier uniform weights for every linear and conv layer."""
    if type(module) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)


net.apply(init_cnn)
net.eval()  # (batch normalisation of one example needs the running statistics)
X = torch.zeros(1, 1, 28, 28)
for layer in net:  # the book's layer summary: each output shape
    X = layer(X)
    print(f"{layer.__class__.__name__:<10} output shape: {tuple(X.shape)}")
assert tuple(X.shape) == (1, 10)
net.train()

loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)


def accuracy(net, data_iter):
    """The fraction of examples whose most likely class is the label."""
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += (net(X).argmax(dim=1) == y).sum().item()
            total += len(y)
    net.train()
    return correct / total


start = time.perf_counter()
for epoch in range(6):
    for X, y in train_iter:
        trainer.zero_grad()
        batch_loss = loss(net(X), y)
        batch_loss.backward()
        trainer.step()
    if (epoch + 1) % 3 == 0:
        print(f"epoch {epoch + 1}: loss {batch_loss.item():.3f}, "
              f"test accuracy {accuracy(net, test_iter):.3f}")
final = accuracy(net, test_iter)
print(f"test accuracy {final:.3f} ({time.perf_counter() - start:.1f} s)")
assert final > 0.9, final
