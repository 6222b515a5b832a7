"""``chainrule.datasets.FashionMNIST`` and ``read_idx`` on small IDX files written here (5
training and 3 test images of 28 x 28) with their own checksums: values and labels, the
checksum, corrupt-file and missing-file errors, downloads from a fake mirror, and no network."""

import gzip
import hashlib
import os
import socket
import struct
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule.datasets import FashionMNIST, read_idx
from chainrule.utils.data import DataLoader
from tests.fresh_interpreter import run_python

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written from the format's definition."""
    header = struct.pack(">BBBB", 0, 0, CODES[array.dtype.type], array.ndim)
    header += b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"the network was used: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def files():
    """The gzip'd bytes of the four files, and the arrays they hold."""
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte.gz": np.array([9, 0, 0, 3, 2], dtype=np.uint8),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte.gz": np.array([7, 2, 1], dtype=np.uint8)}
    arrays["train-images-idx3-ubyte.gz"][0, 0, :3] = [0, 255, 51]  # the ends of the range
    blobs = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    return blobs, arrays


def small(blobs, mirrors=("http://mirror.invalid/",)):
    """FashionMNIST whose checksum table (and mirrors) are the test's own."""
    return type("FashionMNIST", (FashionMNIST,), {
        "resources": [(name, md5(blob)) for name, blob in blobs.items()],
        "mirrors": list(mirrors)})


def write(root, blobs):
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (raw / name).write_bytes(blob)
    return raw


def test_items_are_images_in_0_1_and_int_labels(tmp_path, files):
    blobs, arrays = files
    write(tmp_path, blobs)
    train = small(blobs)(tmp_path)
    assert len(train) == 5
    for i in range(5):
        image, label = train[i]
        assert isinstance(image, cr.Tensor) and image.dtype == cr.float32
        assert tuple(image.shape) == (1, 28, 28)
        np.testing.assert_allclose(image.numpy()[0],
                                   arrays["train-images-idx3-ubyte.gz"][i] / 255.0, rtol=1e-6)
        assert type(label) is int and label == arrays["train-labels-idx1-ubyte.gz"][i]
    assert train[0][0][0, 0, :3].tolist() == [0.0, 1.0, np.float32(0.2)]  # 0, 255, 51 / 255
    assert train[-1][1] == 2
    assert train.data.dtype == cr.uint8 and tuple(train.data.shape) == (5, 28, 28)
    assert train.targets.dtype == cr.int64 and train.targets.tolist() == [9, 0, 0, 3, 2]
    test = small(blobs)(str(tmp_path), train=False)
    assert len(test) == 3 and test.targets.tolist() == [7, 2, 1]
    np.testing.assert_array_equal(test.data.numpy(), arrays["t10k-images-idx3-ubyte.gz"])
    assert train.classes[9] == "Ankle boot" and train.class_to_idx["Trouser"] == 1
    assert "Number of datapoints: 3" in repr(test) and "Split: Test" in repr(test)


def test_transforms_and_a_data_loader(tmp_path, files):
    blobs, arrays = files
    write(tmp_path, blobs)
    ds = small(blobs)(tmp_path, transform=lambda x: x.flatten() * 2,
                      target_transform=lambda y: FashionMNIST.classes[y])
    image, label = ds[3]
    assert tuple(image.shape) == (784,) and label == "Dress"
    np.testing.assert_allclose(image.numpy(),
                               arrays["train-images-idx3-ubyte.gz"][3].ravel() / 255 * 2,
                               rtol=1e-6)
    images, labels = next(iter(DataLoader(small(blobs)(tmp_path), batch_size=4)))
    assert tuple(images.shape) == (4, 1, 28, 28) and images.dtype == cr.float32
    assert labels.dtype == cr.int64 and labels.tolist() == [9, 0, 0, 3]


def test_bad_indices_are_named(tmp_path, files):
    blobs, _ = files
    write(tmp_path, blobs)
    ds = small(blobs)(tmp_path)
    with pytest.raises(IndexError, match=r"FashionMNIST: index 5 is out of range for 5 items"):
        ds[5]
    with pytest.raises(TypeError, match=r"an item's index must be an int, got slice"):
        ds[1:3]


def test_a_checksum_mismatch_names_the_file_and_both_checksums(tmp_path, files):
    blobs, _ = files
    raw = write(tmp_path, blobs)
    other = dict(blobs, **{"train-labels-idx1-ubyte.gz": gzip.compress(b"\0\0\x08\x01\0\0\0\0")})
    with pytest.raises(RuntimeError) as err:
        small(other)(tmp_path)  # the table expects other bytes than the file holds
    message = str(err.value)
    assert str(raw / "train-labels-idx1-ubyte.gz") in message
    assert f"its MD5 checksum is {md5(blobs['train-labels-idx1-ubyte.gz'])}" in message
    assert f"expected {md5(other['train-labels-idx1-ubyte.gz'])}" in message
    assert "download=True" in message
    small(other)(tmp_path, train=False)  # the test split's files are not concerned


def test_the_real_checksums_refuse_other_files(tmp_path, files):
    blobs, _ = files
    write(tmp_path, blobs)
    with pytest.raises(RuntimeError, match="expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        FashionMNIST(tmp_path)


def test_a_missing_file_says_to_download(tmp_path, files):
    blobs, _ = files
    raw = write(tmp_path, {k: v for k, v in blobs.items() if not k.startswith("train-images")})
    with pytest.raises(RuntimeError) as err:
        small(blobs)(tmp_path)
    assert "Dataset not found" in str(err.value)
    assert str(raw / "train-images-idx3-ubyte.gz") in str(err.value)
    assert "You can use download=True to download it" in str(err.value)
    with pytest.raises(RuntimeError, match="Dataset not found"):
        FashionMNIST(tmp_path / "nowhere")


@pytest.mark.parametrize("damage,message", [
    (lambda raw: raw[:-7], r"truncated or corrupt: an array of shape \(5, 28, 28\) and type "
                           r"uint8 needs 3920 bytes after the header, the file has 3913"),
    (lambda raw: raw[:10], r"truncated: its header announces 3 sizes \(16 bytes\) but the file "
                           r"has 10 bytes"),
    (lambda raw: raw[:2], r"truncated: 2 bytes, not even the 4-byte magic number"),
    (lambda raw: b"\x01" + raw[1:], r"not an IDX file: its magic number is 0x01000803"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], r"not an IDX file: its magic number is 0x00000703"),
])
def test_corrupt_files_are_refused_clearly(tmp_path, files, damage, message):
    blobs, _ = files
    raw_bytes = gzip.decompress(blobs["train-images-idx3-ubyte.gz"])
    bad = dict(blobs, **{"train-images-idx3-ubyte.gz": gzip.compress(damage(raw_bytes))})
    write(tmp_path, bad)
    with pytest.raises(ValueError, match="read_idx: .*train-images-idx3-ubyte.gz' is " + message):
        small(bad)(tmp_path)  # the checksum is the damaged file's: the parser must notice


def test_a_damaged_gzip_is_refused_clearly(tmp_path, files):
    blobs, _ = files
    bad = dict(blobs, **{"train-labels-idx1-ubyte.gz": blobs["train-labels-idx1-ubyte.gz"][:-9]})
    write(tmp_path, bad)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz' is a damaged gzip file"):
        small(bad)(tmp_path)


def test_images_and_labels_must_agree(tmp_path, files):
    blobs, _ = files
    bad = dict(blobs, **{"train-labels-idx1-ubyte.gz": gzip.compress(
        idx_bytes(np.array([1, 2, 3], dtype=np.uint8)))})
    write(tmp_path, bad)
    with pytest.raises(ValueError, match=r"should hold uint8 images \(N, rows, columns\) and N "
                                         r"labels; they hold uint8 \(5, 28, 28\) and uint8 \(3,\)"):
        small(bad)(tmp_path)


@pytest.mark.parametrize("dtype,shape", [(np.uint8, (4,)), (np.int8, (2, 3)),
                                         (np.int16, (3, 2, 2)), (np.int32, (2, 5)),
                                         (np.float32, (1, 2, 3, 4)), (np.float64, (6,)),
                                         (np.uint8, (0, 28, 28))])
def test_read_idx_reads_every_type_gzipped_or_not(tmp_path, dtype, shape):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    for name, blob in (("a-idx", idx_bytes(array)), ("a-idx.gz", gzip.compress(idx_bytes(array)))):
        (tmp_path / name).write_bytes(blob)
        got = read_idx(tmp_path / name)
        assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == shape
        np.testing.assert_array_equal(got, array)


class FakeMirrors:
    """``urllib.request.urlopen`` for the tests: serves ``files`` at ``good``, wrong bytes at
    ``bad``, and records the URLs asked for."""

    def __init__(self, files, good, bad=None):
        self.files, self.good, self.bad, self.urls = files, good, bad, []

    def __call__(self, url, timeout=None):
        import io
        self.urls.append(url)
        mirror, name = url.rsplit("/", 1)
        if mirror + "/" == self.bad:
            return io.BytesIO(b"<html>not found</html>")
        if mirror + "/" == self.good:
            return io.BytesIO(self.files[name])
        raise OSError(f"cannot reach {url}")


def test_download_fetches_checks_and_keeps_the_files(tmp_path, files, monkeypatch):
    blobs, arrays = files
    fake = FakeMirrors(blobs, good="http://good.invalid/", bad="http://bad.invalid/")
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    kind = small(blobs, mirrors=("http://down.invalid/", "http://bad.invalid/",
                                 "http://good.invalid/"))
    ds = kind(tmp_path / "data", download=True)
    assert ds.targets.tolist() == [9, 0, 0, 3, 2]
    # each file: the unreachable mirror, the one with wrong bytes, then the good one
    assert fake.urls == [m + name for name in blobs
                         for m in ("http://down.invalid/", "http://bad.invalid/",
                                   "http://good.invalid/")]
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(blobs)  # no partial files left behind
    assert all((raw / name).read_bytes() == blob for name, blob in blobs.items())
    # cached: a second dataset, with download=True again, fetches nothing
    fake.urls.clear()
    kind(tmp_path / "data", train=False, download=True)
    assert fake.urls == []


def test_download_replaces_a_damaged_file(tmp_path, files, monkeypatch):
    blobs, _ = files
    raw = write(tmp_path, blobs)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    fake = FakeMirrors(blobs, good="http://good.invalid/")
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    ds = small(blobs, mirrors=("http://good.invalid/",))(tmp_path, train=False, download=True)
    assert fake.urls == ["http://good.invalid/t10k-labels-idx1-ubyte.gz"]
    assert ds.targets.tolist() == [7, 2, 1]


def test_a_failed_download_names_the_file_and_every_url(tmp_path, files, monkeypatch):
    blobs, _ = files
    monkeypatch.setattr(urllib.request, "urlopen",
                        FakeMirrors(blobs, good=None, bad="http://bad.invalid/"))
    kind = small(blobs, mirrors=("http://down.invalid/", "http://bad.invalid/"))
    with pytest.raises(RuntimeError) as err:
        kind(tmp_path, download=True)
    message = str(err.value)
    assert message.startswith("FashionMNIST: could not download train-images-idx3-ubyte.gz: ")
    assert "http://down.invalid/train-images-idx3-ubyte.gz: cannot reach" in message
    assert ("http://bad.invalid/train-images-idx3-ubyte.gz: the downloaded file's MD5 checksum "
            f"is {md5(b'<html>not found</html>')}, expected "
            f"{md5(blobs['train-images-idx3-ubyte.gz'])}") in message
    assert os.listdir(tmp_path / "FashionMNIST" / "raw") == []  # nothing half-written


def test_the_real_table_and_mirror():
    assert FashionMNIST.mirrors == ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    assert dict(FashionMNIST.resources) == {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}


def test_importing_downloads_nothing_and_loads_no_network_module():
    done = run_python("-c", "import sys, chainrule; chainrule.datasets.FashionMNIST; "
                            "print('urllib.request' in sys.modules, 'socket' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
