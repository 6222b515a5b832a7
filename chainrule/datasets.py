"""``chainrule.datasets``: torchvision's ``torchvision.datasets`` for the book's image data:
``FashionMNIST``, and ``read_idx`` for the IDX files it comes in.

Why here, and not in ``chainrule/utils/data/``: PyTorch keeps the machinery of loading
(``Dataset``, ``DataLoader``) in ``torch.utils.data`` and the datasets themselves in
torchvision, so the book writes ``torchvision.datasets.FashionMNIST``; with chainrule that is
``chainrule.datasets.FashionMNIST``, a client of ``chainrule.utils.data`` as torchvision is of
``torch.utils.data``.

Files are kept where torchvision keeps them, ``<root>/FashionMNIST/raw/``, so a copy that
torchvision downloaded is used as it is.  Every file's MD5 is checked against ``resources``
before it is read.  Nothing is downloaded unless ``download=True`` is passed (never at import,
never by default); a download streams each missing or damaged file from ``mirrors`` (with
``urllib``) to a temporary name in the same folder, checks its MD5, then renames it, so an
interrupted download never leaves a file that looks complete.

An IDX file (LeCun's format of MNIST) is a header and the values, big-endian:

- the magic number, 4 bytes: two zero bytes, the type code of the values (``0x08`` uint8,
  ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64) and the
  number of dimensions ``d``;
- ``d`` sizes, each a 4-byte unsigned integer;
- the values, in C order: the product of the sizes times the type's size in bytes.

The files are gzip'd (``.gz``); ``read_idx`` reads either.
"""

from __future__ import annotations

import gzip
import hashlib
import operator
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from chainrule.creation import from_numpy
from chainrule.tensor import Tensor
from chainrule.utils.data import Dataset

__all__ = ["FashionMNIST", "read_idx", "md5sum"]

# IDX type codes -> big-endian NumPy dtypes
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _file_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``, decompressed when it is gzip'd (it starts with 1f 8b)."""
    data = Path(path).read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"read_idx: {os.fspath(path)!r} is a damaged gzip file ({err}); "
                         f"delete it and download it again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzip'd or not), in native byte order.

    >>> import gzip, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> with open(path, "wb") as f:   # magic 0x00000801 (uint8, 1 dim), size 3, values
    ...     _ = f.write(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    name = os.fspath(path)
    data = _file_bytes(path)
    if len(data) < 4:
        raise ValueError(f"read_idx: {name!r} is truncated: {len(data)} bytes, not even the "
                         f"4-byte magic number of an IDX file")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {name!r} is not an IDX file: its magic number is "
                         f"0x{data[:4].hex()}, where an IDX file starts with two zero bytes and "
                         f"a type code among {', '.join(f'0x{c:02x}' for c in _IDX_TYPES)}")
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {name!r} is truncated: its header announces {ndim} "
                         f"sizes ({header} bytes) but the file has {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"read_idx: {name!r} is truncated or corrupt: an array of shape "
                         f"{shape} and type {dtype.name} needs {expected} bytes after the "
                         f"header, the file has {len(data) - header}")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def md5sum(path: str | os.PathLike) -> str:
    """The MD5 checksum of the file at ``path``, as 32 hex digits."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FashionMNIST(Dataset):
    """Zalando's Fashion-MNIST: 28 x 28 grey images of clothes in 10 classes, 60,000 for
    training (``train=True``) and 10,000 for testing, as ``torchvision.datasets.FashionMNIST``.

    Item ``i`` is ``(image, label)``: the image a float32 tensor of shape (1, 28, 28) with
    values in [0, 1] (what torchvision gives after ``transforms.ToTensor()``; there is no PIL
    image here), then passed to ``transform`` if given; the label an int, passed to
    ``target_transform``.  ``data`` (uint8, (N, 28, 28)) and ``targets`` (int64, (N,)) hold
    the whole split.  The files are read from ``<root>/FashionMNIST/raw/`` after their MD5
    checksums are checked (``resources``); with ``download=True`` the missing or damaged ones
    are fetched from ``mirrors`` first.

    >>> FashionMNIST.classes[:3]
    ['T-shirt/top', 'Trouser', 'Pullover']
    """

    mirrors: list[str] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    """Where ``download=True`` fetches the files from, tried in order."""

    resources: list[tuple[str, str]] = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    """The four files and their MD5 checksums (a subclass may name others)."""

    classes: list[str] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                          "Shirt", "Sneaker", "Bag", "Ankle boot"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        images, labels = self._split_files()
        for file in (images, labels):
            self._check_file(file)
        folder = self.raw_folder
        data = read_idx(os.path.join(folder, images))
        targets = read_idx(os.path.join(folder, labels))
        if data.ndim != 3 or data.dtype != np.uint8 or targets.ndim != 1 \
                or len(targets) != len(data):
            raise ValueError(f"{type(self).__name__}: {images} and {labels} in {folder!r} "
                             f"should hold uint8 images (N, rows, columns) and N labels; they "
                             f"hold {data.dtype} {data.shape} and {targets.dtype} "
                             f"{targets.shape}")
        self.data: Tensor = from_numpy(data)
        self.targets: Tensor = from_numpy(targets.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        """Where the downloaded files are kept: ``<root>/<class name>/raw``."""
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Each class name's label, as torchvision's."""
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: an item's index must be an int, got "
                            f"{type(index).__name__}; use a DataLoader or Subset for several "
                            f"items") from None
        if not -len(self) <= i < len(self):
            raise IndexError(f"{type(self).__name__}: index {i} is out of range for "
                             f"{len(self)} items")
        image = from_numpy(self.data.numpy()[i][None] / np.float32(255))
        target = int(self.targets.numpy()[i])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: "
                f"{'Train' if self.train else 'Test'}")

    def _split_files(self) -> tuple[str, str]:
        """The images' and the labels' file names of this split."""
        prefix = "train" if self.train else "t10k"
        names = [name for name, _ in self.resources if name.startswith(prefix)]
        return (next(n for n in names if "images" in n), next(n for n in names if "labels" in n))

    def _check_file(self, name: str) -> None:
        path = os.path.join(self.raw_folder, name)
        if not os.path.isfile(path):
            raise RuntimeError(f"{type(self).__name__}: Dataset not found: {path!r} does not "
                               f"exist. You can use download=True to download it")
        expected = dict(self.resources)[name]
        actual = md5sum(path)
        if actual != expected:
            raise RuntimeError(f"{type(self).__name__}: {path!r} is damaged or not the "
                               f"expected file: its MD5 checksum is {actual}, expected "
                               f"{expected}; delete it, or pass download=True to fetch it "
                               f"again")

    def download(self) -> None:
        """Fetch every file that is missing or fails its checksum (from the first mirror that
        gives a file with the right checksum)."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for name, md5 in self.resources:
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path) and md5sum(path) == md5:
                continue
            failures = []
            for mirror in self.mirrors:
                url = mirror + name
                try:
                    _fetch(url, path, md5)
                    break
                except (OSError, ValueError) as err:
                    failures.append(f"{url}: {err}")
            else:
                raise RuntimeError(f"{type(self).__name__}: could not download {name}: "
                                   + "; ".join(failures))


def _fetch(url: str, path: str, md5: str) -> None:
    """Stream ``url`` to a temporary file beside ``path``, check its MD5, rename it to
    ``path``."""
    import tempfile
    import urllib.request

    folder, name = os.path.split(path)
    digest = hashlib.md5(usedforsecurity=False)
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                f.write(block)
        if digest.hexdigest() != md5:
            raise ValueError(f"the downloaded file's MD5 checksum is {digest.hexdigest()}, "
                             f"expected {md5}")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
