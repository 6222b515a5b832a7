"""Stand-ins for what the book's ``d2l`` library imports and CI does not have.

The vendored library (``tests/data/book/d2l_torch.py``) imports these names from here instead
of from matplotlib, IPython, PIL, pandas, requests, SciPy and torchvision (see
``tests/book/extract.py``). Everything else in ``d2l`` is the book's own code. What is stubbed:

- ``plt``, ``display``, ``backend_inline``: drawing is a no-op. ``plt`` accepts any call,
  attribute, index or assignment and returns itself, so ``ProgressBoard.draw`` (the book's
  code, unchanged) still runs and still records its points in ``board.data``, which is what
  the tests read.
- ``show_images(imgs, num_rows, num_cols, titles=None, scale=1.5)``: records
  ``(len(imgs), titles)`` in ``SHOWN`` instead of plotting.
- ``download(url, folder, sha1_hash)``: knows one file, ``timemachine.txt``, which it takes
  from ``tests/data/book/`` (seeded generated text, not H. G. Wells'); anything else raises.
- ``torchvision.datasets.FashionMNIST(root, train, transform, download)``: a seeded
  synthetic dataset with torchvision's interface: ``len``, and ``ds[i]`` is
  ``(transform(image), label)`` with a 28x28 uint8 image (a class template plus noise, so
  that a model can learn it) and an ``int`` label in 0..9. Its sizes are torchvision's
  (60000 and 10000) unless the environment variable ``BOOK_FASHION_MNIST_SIZE`` says
  ``"train,val"`` (the harness's per-section parameter). The data is NumPy's, so the same
  under chainrule and torch.
- ``transforms.Compose``, ``transforms.Resize`` (nearest neighbour, on the uint8 image) and
  ``transforms.ToTensor`` (uint8 HxW -> float32 1xHxW in [0, 1]).
- ``pd``, ``requests``, ``Image``, ``distance_matrix``: not used by chapters 3 to 10; any use
  raises an error saying so.

Tensors are made by the framework that ``BOOK_FRAMEWORK`` names (``chainrule``, the default, or
``torch``), the one the section runs under.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "book"
FRAMEWORK = importlib.import_module(os.environ.get("BOOK_FRAMEWORK", "chainrule"))
SHOWN: list = []


class _Anything:
    """Accepts every use and does nothing: a stand-in for matplotlib and IPython's display."""

    def __getattr__(self, name):
        if name.startswith("__"):  # (what tools probe: copy, doctest, pickle)
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __setitem__(self, key, value):
        pass


plt = _Anything()
display = _Anything()
backend_inline = _Anything()


class _Missing:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise RuntimeError(f"the book harness has no {self._name} (chapters 3 to 10 do not use "
                           f"it); tests/book/d2l_stubs.py stubs only what they need")

    def __call__(self, *args, **kwargs):
        return self.__getattr__("called")


pd = _Missing("pandas")
requests = _Missing("requests")
Image = _Missing("PIL.Image")
distance_matrix = _Missing("scipy.spatial.distance_matrix")


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Record what the book would plot."""
    SHOWN.append((len(imgs), titles))


def download(url, folder="../data", sha1_hash=None):
    """The path of the vendored copy of the one file chapters 3 to 10 download."""
    name = url.split("/")[-1]
    if name != "timemachine.txt":
        raise RuntimeError(f"the book harness downloads nothing; it has no {name!r}")
    return str(DATA / name)


# ---- torchvision ---------------------------------------------------------------------------

class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


class Resize:
    """Nearest-neighbour resizing of a uint8 HxW image to ``size`` (an int: the shorter side)."""

    def __init__(self, size):
        self.size = size

    def __call__(self, image):
        h, w = image.shape
        if isinstance(self.size, int):
            scale = self.size / min(h, w)
            size = (round(h * scale), round(w * scale))
        else:
            size = tuple(self.size)
        rows = (np.arange(size[0]) * h // size[0]).clip(0, h - 1)
        cols = (np.arange(size[1]) * w // size[1]).clip(0, w - 1)
        return image[rows[:, None], cols[None, :]]


class ToTensor:
    """uint8 HxW -> float32 1xHxW in [0, 1]."""

    def __call__(self, image):
        return FRAMEWORK.tensor(image[None].astype(np.float32) / 255)


def _sizes():
    setting = os.environ.get("BOOK_FASHION_MNIST_SIZE")
    if not setting:
        return 60000, 10000
    train, val = (int(n) for n in setting.split(","))
    return train, val


class FashionMNIST:
    """Seeded synthetic stand-in for ``torchvision.datasets.FashionMNIST``."""

    classes = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
               'Sneaker', 'Bag', 'Ankle boot']

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        self.root, self.train, self.transform = root, train, transform
        self.target_transform = target_transform
        n = _sizes()[0 if train else 1]
        templates = np.random.default_rng(0).uniform(0, 1, (10, 28, 28)) > 0.5
        rng = np.random.default_rng(1 if train else 2)
        self.targets = rng.integers(0, 10, n)
        noise = rng.normal(0, 60, (n, 28, 28))
        images = templates[self.targets] * 150 + 50 + noise
        self.data = images.clip(0, 255).astype(np.uint8)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        image, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


class _Namespace:
    def __init__(self, **names):
        self.__dict__.update(names)


transforms = _Namespace(Compose=Compose, Resize=Resize, ToTensor=ToTensor)
torchvision = _Namespace(datasets=_Namespace(FashionMNIST=FashionMNIST), transforms=transforms)
