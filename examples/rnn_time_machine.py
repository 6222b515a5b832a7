"""A character-level GRU language model on the opening of H. G. Wells' The Time Machine, as in
Dive into Deep Learning's chapter 9 (recurrent neural networks): one-hot characters into
``nn.GRU``, ``nn.Linear`` to the next character's logits, ``nn.CrossEntropyLoss``, SGD with
``nn.utils.clip_grad_norm_``; perplexity printed every few epochs, then a sample.

The text (``examples/data/timemachine_excerpt.txt``) is the public-domain opening as Project
Gutenberg's eBook #35 prints it; it is read as D2L reads it: lower case, anything but letters as
a space.

Run: python examples/rnn_time_machine.py
"""

import math
import re
import time
from pathlib import Path

import numpy as np

import chainrule as torch
from chainrule import nn
from chainrule.nn import functional as F

TEXT = (Path(__file__).parent / "data" / "timemachine_excerpt.txt").read_text()
corpus = re.sub("[^a-z]+", " ", TEXT.lower()).strip()
vocab = sorted(set(corpus))
index = {ch: i for i, ch in enumerate(vocab)}
tokens = np.array([index[ch] for ch in corpus])

rng = np.random.default_rng(0)
torch.manual_seed(0)
batch_size, num_steps, num_hiddens = 32, 16, 64
learning_rate, epochs = 1.0, 30


def minibatches():
    """Random subsequences (D2L's random sampling): inputs and the characters that follow."""
    starts = rng.permutation(len(tokens) - num_steps - 1)
    for k in range(0, len(starts) - batch_size + 1, batch_size * 4):
        rows = starts[k:k + batch_size, None] + np.arange(num_steps)
        yield torch.tensor(tokens[rows]), torch.tensor(tokens[rows + 1])


class RNNModel(nn.Module):
    def __init__(self, vocab_size: int, num_hiddens: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = nn.GRU(vocab_size, num_hiddens)
        self.linear = nn.Linear(num_hiddens, vocab_size)

    def forward(self, inputs, state=None):
        x = F.one_hot(inputs.T, self.vocab_size).float()  # (steps, batch, vocab)
        outputs, state = self.rnn(x, state)
        return self.linear(outputs.reshape(-1, outputs.shape[-1])), state


def perplexity(model) -> float:
    """exp of the mean cross-entropy over every position of the text."""
    with torch.no_grad():
        x = torch.tensor(tokens[None, :-1])
        logits, _ = model(x)
        return math.exp(F.cross_entropy(logits, torch.tensor(tokens[1:])).item())


def predict(model, prefix: str, count: int) -> str:
    """Feed ``prefix``, then the most likely next character, ``count`` times."""
    out, state = [index[ch] for ch in prefix], None
    with torch.no_grad():
        _, state = model(torch.tensor([out[:-1]]))
        for _ in range(count):
            logits, state = model(torch.tensor([[out[-1]]]), state)
            out.append(int(logits.argmax().item()))
    return "".join(vocab[i] for i in out)


model = RNNModel(len(vocab), num_hiddens)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
start_perplexity = perplexity(model)
print(f"{len(corpus)} characters, vocabulary of {len(vocab)}; perplexity {start_perplexity:.1f}")
began = time.perf_counter()
for epoch in range(1, epochs + 1):
    for x, y in minibatches():
        logits, _ = model(x)
        loss = loss_fn(logits, y.T.reshape(-1))  # targets in (step, batch) order
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d}: perplexity {perplexity(model):.2f} "
              f"({time.perf_counter() - began:.1f} s)")

final_perplexity = perplexity(model)
print(predict(model, "the time traveller ", 40))
assert final_perplexity < start_perplexity / 2.5, (start_perplexity, final_perplexity)
