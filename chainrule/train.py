"""``chainrule train``: watch a network learn, on scikit-learn's bundled handwritten digits.

::

    python -m chainrule train                    # the LeNet-style CNN
    python -m chainrule train --model mlp        # the MLP, 15 epochs, about a second
    python -m chainrule train --epochs 5 --batch-size 64 --lr 0.1 --seed 1 --plot curves.png

The data are the 1,797 8 x 8 digits that ship inside scikit-learn (``load_digits``: no
download), scaled from 0..16 to [0, 1] and split at random (``--seed``) into 70% training,
10% validation and 20% test images.  Training is the book's loop written with chainrule's
``nn``, ``optim`` and ``utils.data``: a shuffled ``DataLoader``, ``CrossEntropyLoss``, SGD
with momentum 0.9.  Each epoch shows a tqdm progress bar whose postfix is the running loss
and accuracy on the training batches, completed at the end of the epoch by the validation
loss and accuracy (with ``--no-progress``, one line of text per epoch says the same); the end
prints the test accuracy, and the curves (loss and accuracy, training and validation)
are drawn with matplotlib to ``--plot`` (default ``chainrule-train.png``).

Optional packages, all in ``pip install 'chainrule[examples]'`` and imported only here, when
the command runs (``import chainrule`` never imports them):

- scikit-learn is needed (the data): without it the command prints one line and returns 1;
- tqdm draws the progress bars: without it (or with ``--no-progress``) each epoch is one
  line of text;
- matplotlib draws the plot: without it the plot is skipped, with a message.

Bad arguments print ``chainrule train: error: ...`` and return 2.

The two models are :func:`mlp` (64-128-10, ReLU, dropout; > 95% test accuracy) and
:func:`lenet` (two 3 x 3 convolutions with max pooling, then two linear layers; > 97%).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

__all__ = ["add_train_parser", "run_train", "load_digits_splits", "mlp", "lenet", "MODELS",
           "History", "fit", "evaluate", "plot_history", "TrainError"]

INSTALL = "pip install 'chainrule[examples]'"

SPLIT = (0.7, 0.1, 0.2)
"""The fractions of the digits used for training, validation and test."""

DEFAULTS = {"mlp": {"epochs": 15, "lr": 0.05}, "cnn": {"epochs": 20, "lr": 0.05}}
"""Per model: the epochs and learning rate used when the command line gives none."""


class TrainError(ValueError):
    """A mistake in the command's arguments, or a model this chainrule cannot build."""


# --------------------------------------------------------------------------------------------
# data and models


def load_digits_splits(seed: int = 0) -> dict[str, TensorDataset]:
    """scikit-learn's digits as ``{"train", "val", "test"}`` datasets of (image, label), each
    image a float32 tensor (1, 8, 8) in [0, 1]; the split (70/10/20%: 1,258, 180 and 359
    images) is drawn from ``seed``.  Needs scikit-learn."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # 0..16 -> [0, 1], a channel
    labels = digits.target.astype(np.int64)
    n = len(labels)
    order = cr.randperm(n, generator=cr.Generator().manual_seed(seed)).numpy()
    n_test, n_val = round(SPLIT[2] * n), round(SPLIT[1] * n)
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val],
             "train": order[n_test + n_val:]}
    return {name: TensorDataset(cr.tensor(images[idx]), cr.tensor(labels[idx]))
            for name, idx in parts.items()}


def mlp() -> nn.Module:
    """The multilayer perceptron: 64 pixels -> 128 hidden units (ReLU, dropout 0.2) -> 10.

    >>> import chainrule as cr
    >>> mlp()(cr.zeros(5, 1, 8, 8)).shape
    (5, 10)
    """
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 10))


def lenet() -> nn.Module:
    """A LeNet-style CNN for 8 x 8 images: two blocks of a 3 x 3 convolution (padding 1,
    16 then 32 channels), ReLU and 2 x 2 max pooling (8 x 8 -> 4 x 4 -> 2 x 2), then
    32 * 2 * 2 = 128 features -> 64 (ReLU) -> 10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


MODELS = {"mlp": mlp, "cnn": lenet}


# --------------------------------------------------------------------------------------------
# training


@dataclass
class History:
    """The curves: one value per epoch of each loss (mean cross-entropy) and accuracy."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """The mean cross-entropy and the accuracy of ``model`` (in eval mode) over ``loader``."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with cr.no_grad():
        for images, labels in loader:
            logits = model(images)
            total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += int((logits.argmax(1) == labels).sum())
            count += len(labels)
    return total_loss / count, correct / count


def _bar(total: int, epoch: int, epochs: int, out: TextIO):
    """A tqdm bar for one epoch's ``total`` batches (updated by hand: a bar that wraps the
    loader would close when the batches run out, before the validation is known)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=f"epoch {epoch:>{len(str(epochs))}}/{epochs}", file=out,
                unit="batch")


def fit(model: nn.Module, splits: dict, *, epochs: int, batch_size: int, lr: float,
        seed: int, progress: bool = True, out: TextIO | None = None) -> History:
    """Train ``model`` on ``splits["train"]`` (SGD, momentum 0.9, cross-entropy), show each
    epoch's training and validation loss and accuracy on ``out`` (a tqdm bar, or a line of
    text without ``progress``); return the curves."""
    out = sys.stdout if out is None else out
    train = DataLoader(splits["train"], batch_size=batch_size, shuffle=True,
                       generator=cr.Generator().manual_seed(seed))
    val = DataLoader(splits["val"], batch_size=256)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history = History()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total_loss, correct, count = 0.0, 0, 0
        bar = _bar(len(train), epoch, epochs, out) if progress else None
        for images, labels in train:
            optimizer.zero_grad()
            logits = model(images)
            loss = loss_fn(logits, labels)
            loss.backward()
            optimizer.step()
            n = len(labels)
            total_loss += loss.item() * n
            correct += int((logits.argmax(1) == labels).sum())
            count += n
            if bar is not None:  # (a dict keeps the order; keywords would be sorted)
                bar.set_postfix({"loss": f"{total_loss / count:.4f}",
                                 "acc": f"{correct / count:.2%}"}, refresh=False)
                bar.update()
        val_loss, val_accuracy = evaluate(model, val)
        history.train_loss.append(total_loss / count)
        history.train_accuracy.append(correct / count)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_accuracy)
        if bar is not None:  # the finished bar stays, its postfix completed by the validation
            bar.set_postfix({"loss": f"{total_loss / count:.4f}",
                             "acc": f"{correct / count:.2%}", "val_loss": f"{val_loss:.4f}",
                             "val_acc": f"{val_accuracy:.2%}"}, refresh=False)
            bar.close()
        else:
            print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}: train loss "
                  f"{total_loss / count:.4f}, accuracy {correct / count:.2%} | validation loss "
                  f"{val_loss:.4f}, accuracy {val_accuracy:.2%} "
                  f"({time.perf_counter() - start:.2f} s)", file=out, flush=True)
    return history


def plot_history(history: History, path: str, title: str = "") -> None:
    """Draw the loss and accuracy curves (training and validation, by epoch) to ``path``,
    on matplotlib's Agg canvas (no window, no pyplot state)."""
    from matplotlib.figure import Figure

    epochs = range(1, len(history.train_loss) + 1)
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, history.train_loss, "o-", label="training")
    loss_ax.plot(epochs, history.val_loss, "s--", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    acc_ax.plot(epochs, history.train_accuracy, "o-", label="training")
    acc_ax.plot(epochs, history.val_accuracy, "s--", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------------------------
# the command line


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train`` command to an argparse ``add_subparsers()`` object; return its
    parser."""
    p = subparsers.add_parser(
        "train", help="train an MLP or a small CNN on scikit-learn's digits and plot the curves",
        description="Train a network on scikit-learn's 8x8 handwritten digits (no download) "
                    "with chainrule's nn, optim and DataLoader; show a progress bar per "
                    "epoch, the validation accuracy, the test accuracy, and plot the curves. "
                    f"Needs scikit-learn; tqdm and matplotlib are optional ({INSTALL}).")
    p.add_argument("--model", default="cnn", choices=sorted(MODELS),
                   help="cnn (LeNet-style) or mlp (64-128-10 with dropout) (default cnn)")
    p.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="passes over the training set (default: "
                        + ", ".join(f"{m} {d['epochs']}" for m, d in DEFAULTS.items()) + ")")
    p.add_argument("--batch-size", type=int, default=32, metavar="B",
                   help="images per step (default 32)")
    p.add_argument("--lr", type=float, default=None, metavar="LR",
                   help="SGD's learning rate (momentum 0.9; default: "
                        + ", ".join(f"{m} {d['lr']}" for m, d in DEFAULTS.items()) + ")")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seeds the split, the initial weights, dropout and the shuffling "
                        "(default 0)")
    p.add_argument("--plot", default="chainrule-train.png", metavar="PATH",
                   help="where to draw the loss and accuracy curves (default "
                        "chainrule-train.png; any format matplotlib writes)")
    p.add_argument("--no-plot", action="store_true", help="draw no plot")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars: one line of text per epoch")
    return p


def _available(module: str) -> bool:
    """Whether the optional ``module`` imports (it then stays imported for its caller)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _check(args: argparse.Namespace) -> tuple[int, float]:
    defaults = DEFAULTS[args.model]
    epochs = defaults["epochs"] if args.epochs is None else args.epochs
    lr = defaults["lr"] if args.lr is None else args.lr
    if epochs < 1:
        raise TrainError(f"--epochs must be at least 1, got {epochs}")
    if args.batch_size < 1:
        raise TrainError(f"--batch-size must be at least 1, got {args.batch_size}")
    if not (math.isfinite(lr) and lr > 0):
        raise TrainError(f"--lr must be a positive number, got {lr}")
    return epochs, lr


def run_train(args: argparse.Namespace, out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    """Run ``train`` for parsed arguments; return the exit status (0; 1 when scikit-learn is
    missing; 2 after one line on ``err`` for a bad argument)."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        epochs, lr = _check(args)
        cr.manual_seed(args.seed)  # the initial weights and dropout's masks
        model = MODELS[args.model]()
    except TrainError as e:
        print(f"chainrule train: error: {e}", file=err)
        return 2
    if not _available("sklearn.datasets"):
        print(f"chainrule train: error: the digits come from scikit-learn, which is not "
              f"installed; install the examples' packages with: {INSTALL}", file=err)
        return 1
    progress = not args.no_progress
    if progress and not _available("tqdm"):
        print(f"chainrule train: tqdm is not installed ({INSTALL}): one line per epoch "
              f"instead of progress bars", file=err)
        progress = False
    splits = load_digits_splits(args.seed)
    print(f"digits (8x8, 10 classes): {len(splits['train'])} training, {len(splits['val'])} "
          f"validation, {len(splits['test'])} test images; model {args.model}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, {epochs} epochs, "
          f"batch size {args.batch_size}, SGD lr {lr} momentum 0.9", file=out)
    start = time.perf_counter()
    history = fit(model, splits, epochs=epochs, batch_size=args.batch_size, lr=lr,
                  seed=args.seed, progress=progress, out=out)
    test_loss, test_accuracy = evaluate(model, DataLoader(splits["test"], batch_size=256))
    print(f"test accuracy: {test_accuracy:.2%} (loss {test_loss:.4f}; trained in "
          f"{time.perf_counter() - start:.1f} s)", file=out)
    if not args.no_plot:
        if not _available("matplotlib.figure"):
            print(f"chainrule train: no plot: matplotlib is not installed ({INSTALL})",
                  file=err)
        else:
            try:
                plot_history(history, args.plot, title=f"chainrule train --model {args.model}")
            except (OSError, ValueError) as e:
                print(f"chainrule train: error: cannot write the plot to {args.plot!r}: {e}",
                      file=err)
                return 2
            print(f"plot of the training and validation curves: {args.plot}", file=out)
    return 0
