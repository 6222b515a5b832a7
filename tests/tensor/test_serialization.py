"""chainrule.save / chainrule.load: round trips of every dtype and of nested structures, the
bytes the safetensors package writes, and files crafted to attack or confuse the reader."""

import io
import json
import math
import pickle
import struct
import zipfile
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.serialization import PickleFileError, SerializationError, safetensors_bytes

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]
SHAPES = [(), (0,), (2, 0, 3), (3, 4)]


def sample(dtype, shape, seed=0):
    return np.asarray(_sample(dtype, shape, seed))


def _sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    values = np.asarray(rng.normal(size=shape) * 50)
    if dtype == "bool":
        return values > 0
    if dtype.startswith("complex"):
        return np.asarray(values + 1j * rng.normal(size=shape)).astype(dtype)
    if dtype.startswith("uint"):
        return np.abs(values).astype(dtype)
    return values.astype(dtype)


def round_trip(obj, suffix=".safetensors", tmp_path=None):
    if tmp_path is None:
        buffer = io.BytesIO()
        cr.save(obj, buffer)
        buffer.seek(0)
        return cr.load(buffer)
    path = tmp_path / f"file{suffix}"
    cr.save(obj, path)
    return cr.load(str(path))


def assert_same(a, b):
    """Equal values of exactly the same types, all the way down (tensors bit for bit)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, cr.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert type(key) is type([k for k in b if k == key][0])
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_and_shape_round_trips(dtype, shape, suffix, tmp_path):
    t = cr.from_numpy(sample(dtype, shape))
    loaded = round_trip(t, suffix, tmp_path)
    assert_same(t, loaded)
    loaded.numpy()[...] = 0  # writable, and not sharing memory with anything else


def test_nested_structure_round_trips_exactly():
    shared = cr.tensor([1.0, 2.0], requires_grad=True)
    obj = {
        "tensors": [shared, cr.zeros(0), cr.tensor(3, dtype=cr.int64)],
        "again": shared,
        7: (None, True, False, 0, -(2 ** 70), 1.5, float("nan"), float("inf"), -float("inf")),
        1.5: "é\n\"/\x01 ünïcode",
        (1, "a"): {"deep": OrderedDict([("z", 1), ("a", [np.arange(3), np.float32(2.5)])])},
        None: 2 - 3j,
        "empty": [{}, [], ()],
    }
    for loaded in (round_trip(obj), round_trip(obj, ".npz", None)):
        assert_same(obj, loaded)
        assert loaded["again"] is loaded["tensors"][0]  # one tensor saved twice loads as one
        assert loaded["again"].is_leaf


def test_npz_by_name_of_file_object(tmp_path):
    path = tmp_path / "weights.npz"
    with open(path, "wb") as out:
        cr.save({"a": cr.ones(2)}, out)
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as archive:  # an ordinary npz: NumPy reads it
        np.testing.assert_array_equal(archive["a"], np.ones(2, np.float32))
    assert_same(cr.load(Path(path)), {"a": cr.ones(2)})


def test_big_endian_arrays_are_stored_little_endian():
    big = np.arange(3, dtype=">f8")
    buffer = io.BytesIO()
    cr.save({"a": big}, buffer)
    assert np.arange(3, dtype="<f8").tobytes() in buffer.getvalue()
    buffer.seek(0)
    loaded = cr.load(buffer)["a"]
    assert loaded.dtype == np.float64 and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, big)


def test_non_leaf_tensor_loads_as_leaf_requiring_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loaded = round_trip(x * 3)
    assert loaded.is_leaf and loaded.requires_grad and loaded.grad_fn is None
    np.testing.assert_array_equal(loaded.detach().numpy(), [3.0, 6.0])


def test_optimizer_state_dict_round_trips_and_resumes():
    rng = np.random.default_rng(1)
    target = cr.from_numpy(rng.normal(size=5))

    def run(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((params - target) ** 2).sum().backward()
            opt.step()

    p = cr.zeros(5, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.Adam([p], lr=0.1, amsgrad=True)
    run(p, opt, 3)
    state = opt.state_dict()
    loaded = round_trip(state)
    assert_same(state, loaded)
    q = p.detach().clone().requires_grad_()
    resumed = cr.optim.Adam([q], lr=0.5)
    resumed.load_state_dict(loaded)
    run(p, opt, 2)
    run(q, resumed, 2)
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


def test_flat_state_dict_is_read_by_name_and_other_tools_files_load(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, b=np.arange(3), a=np.eye(2))
    assert_same(cr.load(path), {"b": cr.from_numpy(np.arange(3)),
                                "a": cr.from_numpy(np.eye(2))})


def test_npy_files_load_as_a_tensor(tmp_path, evil):
    buffer = io.BytesIO()
    np.save(buffer, np.arange(4, dtype=np.int16).reshape(2, 2))
    assert_same(cr.load(io.BytesIO(buffer.getvalue())),
                cr.from_numpy(np.arange(4, dtype=np.int16).reshape(2, 2)))
    buffer = io.BytesIO()
    np.save(buffer, np.array([evil], dtype=object))
    with pytest.raises(PickleFileError, match="object array"):
        cr.load(io.BytesIO(buffer.getvalue()))


def test_safetensors_bytes_without_package():
    # the header by hand: JSON padded with spaces to 8 bytes, then the little-endian data
    data = safetensors_bytes({"w": np.array([1.0, -2.0], np.float32), "b": np.array([True])})
    header = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' \
             b'"b":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}}'
    header += b" " * (-len(header) % 8)
    assert data == struct.pack("<Q", len(header)) + header + \
        np.array([1.0, -2.0], "<f4").tobytes() + b"\x01"


# --- the safetensors package, where installed ------------------------------------------------


def split(data):
    """(header as parsed JSON, its keys in order, the header's length, the data section)."""
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    return header, list(header), size, data[8 + size:]


def test_same_bytes_as_safetensors_package():
    st = pytest.importorskip("safetensors.numpy")
    arrays = {f"{dtype}.{i}": sample(dtype, shape, seed=i)
              for i, shape in enumerate(SHAPES) for dtype in DTYPES if dtype != "complex128"}
    arrays["ünï/cöde name"] = np.arange(3, dtype=np.int16)
    assert safetensors_bytes(arrays) == st.save(arrays)
    metadata = {"format": 'quote " newline \n é \x01'}
    assert safetensors_bytes(arrays, metadata) == st.save(arrays, metadata=metadata)
    # with several metadata entries the package writes them in a hash map's (random) order,
    # we write them sorted: the same header otherwise, byte for byte the same data
    metadata = {"format": "pt", "b": "1", "a": "2"}
    assert split(safetensors_bytes(arrays, metadata)) == split(st.save(arrays, metadata=metadata))


def test_safetensors_package_reads_ours_and_we_read_its(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open

    state = {"layer.weight": cr.randn(3, 2), "layer.bias": cr.zeros(3, dtype=cr.float64),
             "z": cr.tensor([1 + 2j, 3 - 4j], dtype=cr.complex128), "n": cr.tensor(5)}
    path = tmp_path / "ours.safetensors"
    cr.save(state, path)
    theirs = st.load_file(str(path))
    assert list(theirs) == ["n", "layer.bias", "z", "layer.weight"]  # I64, F64, F64, F32
    for key, t in state.items():
        expected = t.numpy()
        if key == "z":  # complex128: float64 (real, imaginary) pairs for every other reader
            expected = np.stack([expected.real, expected.imag], axis=-1)
        np.testing.assert_array_equal(theirs[key], expected)
        assert theirs[key].dtype == expected.dtype
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    assert metadata["format"] == "pt"
    assert split(path.read_bytes()) == split(st.save(theirs, metadata=metadata))

    other = tmp_path / "theirs.safetensors"
    st.save_file({"b": np.arange(4, dtype=np.uint8), "a": np.ones((2, 0), np.float16)},
                 str(other))
    assert_same(cr.load(other), {"a": cr.from_numpy(np.ones((2, 0), np.float16)),
                                 "b": cr.from_numpy(np.arange(4, dtype=np.uint8))})


# --- files crafted to attack or confuse the reader -------------------------------------------


class Evil:
    """Unpickling this writes a marker file: the proof that code ran."""

    marker: Path

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


@pytest.fixture
def evil(tmp_path):
    Evil.marker = tmp_path / "code_ran"
    yield Evil()
    assert not Evil.marker.exists(), "loading ran code from the file"


def test_the_crafted_pickle_really_runs_code_when_unpickled(tmp_path):
    Evil.marker = tmp_path / "code_ran"
    pickle.loads(pickle.dumps(Evil()))  # what torch.load(weights_only=False) would do
    assert Evil.marker.read_text() == "ran"


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_is_refused_without_running_it(evil, protocol):
    data = pickle.dumps(evil, protocol=protocol)
    with pytest.raises(PickleFileError, match="never unpickles.*runs whatever code") as info:
        cr.load(io.BytesIO(data))
    assert "safetensors" in str(info.value) and isinstance(info.value, pickle.UnpicklingError)


def test_old_protocol_pickle_is_not_read(evil):
    with pytest.raises(SerializationError, match="not a safetensors file"):
        cr.load(io.BytesIO(pickle.dumps(evil, protocol=0)))


def test_zip_holding_a_pickle_is_refused(evil):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # the layout torch.save writes
        archive.writestr("archive/data.pkl", pickle.dumps(evil, protocol=2))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(PickleFileError, match="PyTorch checkpoint"):
        cr.load(io.BytesIO(buffer.getvalue()))


def test_npz_with_object_array_is_refused(evil, tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([evil], dtype=object))
    with pytest.raises(PickleFileError, match="object array"):
        cr.load(path)


def test_pytorch_files_are_refused_with_advice(tmp_path):
    torch = pytest.importorskip("torch")
    for legacy in (False, True):
        path = tmp_path / f"model{legacy}.pt"
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(PickleFileError, match="pickle") as info:
            cr.load(path)
        assert "save_file(torch.load(path, weights_only=True)" in str(info.value)


def good_file():
    buffer = io.BytesIO()
    cr.save({"w": cr.arange(6.0), "n": 1}, buffer)
    return buffer.getvalue()


def crafted(header: dict, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -1])
def test_truncated_files(cut):
    data = good_file()
    with pytest.raises(SerializationError, match="truncated|too short"):
        cr.load(io.BytesIO(data[:cut]))


@pytest.mark.parametrize("data, message", [
    (struct.pack("<Q", 2 ** 62) + b"{}", "claims a header of 4611686018427387904 bytes"),
    (crafted({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, b"\0" * 8),
     "claims bytes 0 to 4000 of a data section of 8 bytes"),
    (crafted({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "data_offsets span 8 bytes"),
    (crafted({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}}, b"\0" * 8),
     "malformed shape"),
    (crafted({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2),
     "dtype 'BF16'"),
    (crafted({"w": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\x07"),
     "bytes other than 0 and 1"),
    (crafted({"w": {"dtype": "F32"}}), "lacks dtype, shape or data_offsets"),
    (struct.pack("<Q", 4) + b"{,}x", "not valid JSON"),
    (struct.pack("<Q", 2) + b"[]", "not a safetensors file"),
    (crafted({"__metadata__": {"chainrule": '{"version": 1, "object": {"tensor": "gone"}}'}}),
     "does not hold it"),
    (crafted({"__metadata__": {"chainrule": '{"version": 99, "object": 1}'}}), "format 99"),
    (crafted({"__metadata__": {"chainrule": "{not json"}}), "metadata of .* is damaged"),
    (b"PK\x03\x04 and then nothing", "cannot be read"),
])
def test_damaged_files_raise_clear_errors(data, message):
    with pytest.raises(SerializationError, match=message) as info:
        cr.load(io.BytesIO(data))
    assert str(info.value).startswith("chainrule.load: ")


def test_bad_arguments():
    class Thing:
        pass

    with pytest.raises(TypeError, match=r"cannot save the .*Thing at obj\['a'\]\[1\].*never"):
        cr.save({"a": [1, Thing()]}, io.BytesIO())
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        cr.save(loop, io.BytesIO())
    with pytest.raises(TypeError, match="keys must be"):
        cr.save({frozenset(): 1}, io.BytesIO())
    with pytest.raises(TypeError, match="named tuple"):
        cr.save(namedtuple("Point", "x y")(1, 2), io.BytesIO())
    with pytest.raises(TypeError, match="dtype <U1"):
        cr.save(np.array(["a"]), io.BytesIO())
    with pytest.raises(TypeError, match="binary file object"):
        cr.save(1, 42)
    with pytest.raises(TypeError, match="text mode"):
        cr.load(io.StringIO("x"))
    with pytest.raises(RuntimeError, match="chainrule runs on the CPU"):
        cr.load(io.BytesIO(good_file()), map_location="cuda:0")
    with pytest.raises(TypeError, match="map_location must be None or 'cpu'"):
        cr.load(io.BytesIO(good_file()), map_location=lambda s, loc: s)
    with pytest.raises(TypeError, match="weights_only must be a bool"):
        cr.load(io.BytesIO(good_file()), weights_only="yes")
    assert cr.load(io.BytesIO(good_file()), weights_only=False)["n"] == 1


def test_a_header_whose_length_starts_like_a_pickle_still_loads():
    """A header of 640 to 1535 bytes makes the file start with 0x80 and 0x02..0x05, as pickle
    protocols 2 to 5 do (found saving a book model's state_dict): it must load, not be refused."""
    for n in range(0, 1200, 7):
        buffer = io.BytesIO()
        cr.save({"w" * n: cr.ones(2)}, buffer)
        head = buffer.getvalue()
        if head[0] == 0x80 and 2 <= head[1] <= 5:
            buffer.seek(0)
            loaded = cr.load(buffer)
            np.testing.assert_array_equal(loaded["w" * n].numpy(), np.ones(2))
            return
    pytest.fail("no header length of this form was produced")
