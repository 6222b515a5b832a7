"""Saving and loading: ``chainrule.save`` / ``chainrule.load`` in the safetensors format (or npz).

PyTorch's ``torch.save`` pickles, and unpickling a file runs whatever code its author put in
it.  chainrule never unpickles: it writes and reads `safetensors
<https://github.com/huggingface/safetensors>`_ files (the format PyTorch, JAX and Hugging Face
tools share), or NumPy's ``.npz`` when the file name ends in ``.npz``, and refuses a pickle
file with an error that says how to convert it.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
"__metadata__": {str: str}}``, padded with spaces to a multiple of 8), then the tensors' raw
little-endian bytes, offsets counted from the end of the header.  This module writes exactly
the bytes the ``safetensors`` package writes for the same tensors and metadata (tensors sorted
by dtype, largest alignment first, then by name; the package writes metadata entries in a hash
map's order, which varies from run to run, we write them sorted), and reads the format with
``json`` and ``np.frombuffer``: the package is not needed.

Only tensors go into the tensor table.  Everything around them (dicts, lists, tuples, their
keys, ints, floats, bools, None, strings: an optimiser's ``state_dict``) goes into
``__metadata__["chainrule"]`` as JSON, where a tensor is named by its path (``state.0.exp_avg``;
a flat dict of tensors keeps its keys, so other tools read a model's state dict by name).
Encoding of the structure (every JSON object is a tag, so nothing is ambiguous):

- ``None``, ``bool``, ``int``, ``str``, finite ``float``: themselves; ``list``: a JSON list;
- ``{"float": "nan" | "inf" | "-inf"}``, ``{"complex": [re, im]}``, ``{"tuple": [...]}``,
  ``{"dict": [[key, value], ...], "ordered": bool}`` (keys of any of these scalar kinds);
- ``{"tensor": name, "requires_grad": bool}`` for a Tensor (the same Tensor object saved twice
  is stored once and loads as one object), ``{"ndarray": name, "scalar": bool}`` for a NumPy
  array or NumPy scalar (it loads as NumPy again);
- ``"dtype": "complex128"`` added to either: safetensors has ``C64`` (complex64; the
  ``safetensors`` package reads it from version 0.7) but no complex128, so such an array is
  stored as ``F64`` with a last axis of 2 (real, imaginary), which is also what any other
  reader of the file gets.

A safetensors or npz file written by another tool (no ``chainrule`` metadata) loads as a dict
``{name: Tensor}`` in the order of the file.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from typing import IO, Any, Union

import numpy as np

from chainrule.arguments import check_device
from chainrule.creation import from_numpy
from chainrule.tensor import Tensor

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

# safetensors' dtype names, in the order its ``Dtype`` enum declares them (the writer sorts
# tensors by this order, descending, then by name; we keep the same order to write the same
# bytes).  Types NumPy has no dtype for (BF16, F8_*, F4...) are not here: reading one says so.
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"),
    "C64": np.dtype("<c8"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
}
_RANK = {name: i for i, name in enumerate(_DTYPES)}
_NAME_OF = {np.dtype(dt).newbyteorder("="): name for name, dt in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # the safetensors package's own limit on the JSON header
_METADATA_KEY = "chainrule"
_FORMAT_VERSION = 1
_NPZ_STRUCTURE = "__chainrule__"


class SerializationError(ValueError):
    """A file that ``chainrule.load`` cannot read: damaged, truncated, or not a format it knows."""


class PickleFileError(SerializationError, pickle.UnpicklingError):
    """A pickle file (what ``torch.save`` writes), which ``chainrule.load`` refuses to open:
    unpickling runs code chosen by whoever wrote the file."""


# ----------------------------------------------------------------------------------------------
# save


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (a Tensor, or dicts/lists/tuples of Tensors, arrays, numbers, strings and
    None: a ``state_dict``) to ``f``, a path or a binary file object, in the safetensors
    format; a path ending in ``.npz`` gets NumPy's npz instead.  Never pickles.

    >>> import io, chainrule as cr
    >>> buffer = io.BytesIO()
    >>> cr.save({"weight": cr.ones(2, 3), "step": 7}, buffer)
    >>> _ = buffer.seek(0)
    >>> cr.load(buffer)
    {'weight': tensor([[1., 1., 1.],
            [1., 1., 1.]]), 'step': 7}
    """
    tensors: dict[str, np.ndarray] = {}
    structure = _Encoder(tensors).encode(obj)
    payload = json.dumps({"version": _FORMAT_VERSION, "object": structure},
                         ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if _file_name(f).lower().endswith(".npz"):
        _write(f, lambda out: _save_npz(out, tensors, payload))
    else:
        data = safetensors_bytes(tensors, {"format": "pt", _METADATA_KEY: payload})
        _write(f, lambda out: out.write(data))


def safetensors_bytes(tensors: dict[str, np.ndarray],
                      metadata: dict[str, str] | None = None) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` (NumPy arrays of a dtype the format
    has) and ``metadata`` (strings to strings): the bytes ``safetensors.numpy.save`` writes
    (up to the order of several metadata entries, which we sort).

    >>> import numpy as np
    >>> data = safetensors_bytes({"a": np.zeros(1, np.float32)})
    >>> data[:8]
    b'8\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    >>> data[8:64]
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  '
    >>> data[64:]
    b'\\x00\\x00\\x00\\x00'
    """
    entries = []
    for name, array in tensors.items():
        array = np.asarray(array)
        dtype_name = _NAME_OF.get(array.dtype.newbyteorder("="))
        if dtype_name is None:
            raise TypeError(f"chainrule.save: tensor {name!r} has dtype {array.dtype}, which "
                            f"the safetensors format cannot hold (it has {_dtype_list()}); "
                            "convert it first, e.g. with .to(chainrule.float32)")
        entries.append((name, dtype_name, array))
    entries.sort(key=lambda e: (-_RANK[e[1]], e[0]))
    header: dict[str, Any] = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("chainrule.save: safetensors metadata maps strings to strings "
                                f"(got {key!r}: {type(value).__name__})")
        header["__metadata__"] = dict(sorted(metadata.items()))
    chunks, offset = [], 0
    for name, dtype_name, array in entries:
        raw = np.ascontiguousarray(array, dtype=_DTYPES[dtype_name]).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


class _Encoder:
    """Walks the object to save, collecting arrays into ``tensors`` under unique path names and
    returning the JSON structure described in the module docstring."""

    def __init__(self, tensors: dict[str, np.ndarray]):
        self.tensors = tensors
        self.seen: dict[int, str] = {}  # id(Tensor) -> name: a Tensor saved twice is stored once
        self.active: set[int] = set()   # containers on the current path (cycles)

    def encode(self, obj: Any, path: tuple = ()) -> Any:
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, complex):
            return {"complex": [self.encode(obj.real), self.encode(obj.imag)]}
        if isinstance(obj, Tensor):
            name = self.seen.get(id(obj))
            if name is None:
                name = self.seen[id(obj)] = self._store(obj.detach().numpy(), path)
            return self._tag("tensor", name, obj.dtype, requires_grad=bool(obj.requires_grad))
        if isinstance(obj, (np.ndarray, np.generic)):
            name = self._store(np.asarray(obj), path)
            return self._tag("ndarray", name, obj.dtype, scalar=isinstance(obj, np.generic))
        if type(obj) in (list, tuple) or isinstance(obj, dict):
            if id(obj) in self.active:
                raise ValueError(f"chainrule.save: the object at {_path_text(path)} contains "
                                 "itself; a file cannot hold a cycle")
            self.active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = [[self._key(k, path), self.encode(v, (*path, k))]
                             for k, v in obj.items()]
                    return {"dict": items, "ordered": isinstance(obj, OrderedDict)}
                items = [self.encode(v, (*path, i)) for i, v in enumerate(obj)]
                return items if type(obj) is list else {"tuple": items}
            finally:
                self.active.discard(id(obj))
        hint = (" (a named tuple: save tuple(x) or x._asdict())" if isinstance(obj, tuple)
                else " (convert it to a Tensor, or to a number, string, list or dict)")
        raise TypeError(f"chainrule.save: cannot save the {type(obj).__module__}."
                        f"{type(obj).__qualname__} at {_path_text(path)}: chainrule saves "
                        "Tensors, NumPy arrays, dicts, lists, tuples, numbers, strings and "
                        f"None, and never pickles{hint}")

    def _key(self, key: Any, path: tuple) -> Any:
        if key is None or isinstance(key, (bool, int, float, str)):
            return self.encode(key)
        if type(key) is tuple:
            return {"tuple": [self._key(k, path) for k in key]}
        raise TypeError(f"chainrule.save: a dict at {_path_text(path)} has the key {key!r} "
                        f"of type {type(key).__name__}; keys must be strings, numbers, bools, "
                        "None or tuples of them")

    def _store(self, array: np.ndarray, path: tuple) -> str:
        if array.dtype.kind == "c" and array.dtype.itemsize == 16:
            array = np.ascontiguousarray(array).view(np.float64).reshape(*array.shape, 2)
        elif array.dtype.newbyteorder("=") not in _NAME_OF:
            raise TypeError(f"chainrule.save: the array at {_path_text(path)} has dtype "
                            f"{array.dtype}, which the safetensors format cannot hold (it has "
                            f"{_dtype_list()} and chainrule adds complex128); convert it first")
        base = ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self.tensors:
            n += 1
            name = f"{base}#{n}"
        self.tensors[name] = array
        return name

    @staticmethod
    def _tag(kind: str, name: str, dtype, **flags) -> dict[str, Any]:
        tag: dict[str, Any] = {kind: name, **flags}
        if np.dtype(dtype) == np.complex128:
            tag["dtype"] = "complex128"
        return tag


def _save_npz(out: IO[bytes], tensors: dict[str, np.ndarray], payload: str) -> None:
    if _NPZ_STRUCTURE in tensors:
        raise ValueError(f"chainrule.save: the name {_NPZ_STRUCTURE!r} is reserved in .npz "
                         "files; rename that entry")
    np.savez(out, **tensors, **{_NPZ_STRUCTURE: np.array(payload)})


# ----------------------------------------------------------------------------------------------
# load


def load(f: FileLike, map_location: Any = None, *, weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote (or any safetensors / npz file) from a path or a binary
    file object.  Tensors come back as chainrule Tensors (``requires_grad`` as saved), the
    structure around them as it was.  A pickle file, such as one ``torch.save`` wrote, is
    refused: unpickling runs code.  ``map_location`` may be None or ``'cpu'``;
    ``weights_only`` is accepted for PyTorch's sake (these formats only ever hold data).

    >>> import io, chainrule as cr
    >>> buffer = io.BytesIO()
    >>> cr.save([cr.tensor([1.5, 2.0]), (None, "adam")], buffer)
    >>> _ = buffer.seek(0)
    >>> cr.load(buffer, map_location="cpu")
    [tensor([1.5000, 2.0000]), (None, 'adam')]
    """
    if map_location is not None and not isinstance(map_location, str) \
            and type(map_location).__name__ != "device":
        raise TypeError("chainrule.load: map_location must be None or 'cpu' (chainrule has "
                        f"only the CPU), not a {type(map_location).__name__}")
    check_device("chainrule.load", map_location)
    if not isinstance(weights_only, bool):
        raise TypeError(f"chainrule.load: weights_only must be a bool, not {weights_only!r}")
    name = _file_name(f) or "the file"
    data = _read(f)
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _load_zip(data, name)
    if data[:6] == b"\x93NUMPY":
        return from_numpy(_np_load(data, name, "a .npy file"))
    if _looks_like_pickle(data) and not _looks_like_safetensors(data):
        raise _pickle_error(name, "a pickle file")
    return _load_safetensors(data, name)


def _load_safetensors(data: bytes, name: str) -> Any:
    if len(data) < 8:
        raise SerializationError(f"chainrule.load: {name} is {len(data)} bytes long, too short "
                                 "for a safetensors file (8 bytes of header length come first); "
                                 "is it truncated?")
    (size,) = struct.unpack("<Q", data[:8])
    if size > _MAX_HEADER:
        raise SerializationError(f"chainrule.load: {name} claims a header of {size} bytes (at "
                                 f"most {_MAX_HEADER} are allowed); it is not a safetensors file "
                                 "or it is damaged")
    if 8 + size > len(data):
        raise SerializationError(f"chainrule.load: {name} claims a header of {size} bytes but "
                                 f"only {len(data) - 8} follow; the file is truncated or not a "
                                 "safetensors file")
    if data[8:9] != b"{":
        raise SerializationError(f"chainrule.load: {name} is not a safetensors file (no JSON "
                                 "header after the first 8 bytes), an .npz or an .npy file; "
                                 "chainrule reads only those (and never unpickles)")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationError(f"chainrule.load: the header of {name} is not valid JSON "
                                 f"({error}); it is not a safetensors file or it is "
                                 "damaged") from None
    if not isinstance(header, dict):
        raise SerializationError(f"chainrule.load: the header of {name} is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SerializationError(f"chainrule.load: __metadata__ in {name} is not an object")
    buffer = memoryview(data)[8 + size:]
    arrays = {key: _read_tensor(key, entry, buffer, name) for key, entry in header.items()}
    return _rebuild(arrays, metadata.get(_METADATA_KEY), name)


def _read_tensor(key: str, entry: Any, buffer: memoryview, name: str) -> np.ndarray:
    where = f"chainrule.load: tensor {key!r} in {name}"
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise SerializationError(f"{where} lacks dtype, shape or data_offsets")
    dtype = _DTYPES.get(entry["dtype"])
    if dtype is None:
        raise SerializationError(f"{where} has dtype {entry['dtype']!r}, which NumPy (and so "
                                 f"chainrule) cannot hold; chainrule reads {_dtype_list()}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(_is_count(n) for n in shape)
            and isinstance(offsets, list) and len(offsets) == 2
            and all(_is_count(n) for n in offsets)):
        raise SerializationError(f"{where} has a malformed shape {shape!r} or data_offsets "
                                 f"{offsets!r}")
    begin, end = offsets
    if not begin <= end <= len(buffer):
        raise SerializationError(f"{where} claims bytes {begin} to {end} of a data section of "
                                 f"{len(buffer)} bytes; the file is truncated or damaged")
    count = math.prod(shape)
    if (end - begin) != count * dtype.itemsize:
        raise SerializationError(f"{where} has shape {shape} of {entry['dtype']} "
                                 f"({count * dtype.itemsize} bytes) but data_offsets span "
                                 f"{end - begin} bytes; the file is damaged")
    array = np.frombuffer(buffer, dtype=dtype, count=count, offset=begin).reshape(shape)
    if dtype == np.bool_ and count and array.view(np.uint8).max() > 1:
        raise SerializationError(f"{where} is BOOL but holds bytes other than 0 and 1")
    return array.astype(dtype.newbyteorder("="), copy=True)


def _load_zip(data: bytes, name: str) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
    except zipfile.BadZipFile as error:
        raise SerializationError(f"chainrule.load: {name} looks like a zip file but cannot be "
                                 f"read ({error}); it is truncated or damaged") from None
    if any(m.endswith(".pkl") for m in members):
        raise _pickle_error(name, "a PyTorch checkpoint (a zip holding data.pkl, a pickle)")
    if not all(m.endswith(".npy") for m in members):
        raise SerializationError(f"chainrule.load: {name} is a zip file but not an .npz (it "
                                 f"holds {members[:5]}...); chainrule reads safetensors and npz")
    arrays = _np_load(data, name, "an .npz file")
    structure = arrays.pop(_NPZ_STRUCTURE, None)
    return _rebuild(arrays, None if structure is None else str(structure[()]), name)


def _np_load(data: bytes, name: str, what: str) -> Any:
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise _pickle_error(name, f"{what} holding pickled Python objects "
                                      "(an object array)") from None
        raise SerializationError(f"chainrule.load: {name} is {what} NumPy cannot read "
                                 f"({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise SerializationError(f"chainrule.load: {name} is {what} NumPy cannot read "
                                 f"({error}); it is truncated or damaged") from None


def _rebuild(arrays: dict[str, np.ndarray], payload: str | None, name: str) -> Any:
    if payload is None:  # written by another tool: the tensors by name, in the file's order
        return {key: from_numpy(a) for key, a in arrays.items()}
    try:
        document = json.loads(payload)
        if document.get("version") != _FORMAT_VERSION:
            raise SerializationError(f"chainrule.load: {name} was written by a chainrule with "
                                     f"file format {document.get('version')!r}; this one "
                                     f"reads format {_FORMAT_VERSION}; upgrade chainrule")
        return _Decoder(arrays, name).decode(document["object"])
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError, IndexError) as error:
        raise SerializationError(f"chainrule.load: the chainrule metadata of {name} is "
                                 f"damaged ({type(error).__name__}: {error})") from None


class _Decoder:
    """Inverse of :class:`_Encoder`: rebuilds the saved structure around the loaded arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], name: str):
        self.arrays, self.name = arrays, name
        self.tensors: dict[str, Tensor] = {}

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if "tensor" in node:
            key = node["tensor"]
            if key not in self.tensors:
                t = from_numpy(self._array(key, node))
                self.tensors[key] = t.requires_grad_() if node.get("requires_grad") else t
            return self.tensors[key]
        if "ndarray" in node:
            array = self._array(node["ndarray"], node)
            return array[()] if node.get("scalar") else array
        if "dict" in node:
            kind = OrderedDict if node.get("ordered") else dict
            return kind((self.decode(k), self.decode(v)) for k, v in node["dict"])
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        if "float" in node:
            return float(node["float"])
        if "complex" in node:
            return complex(*node["complex"])
        raise KeyError(f"unknown tag {sorted(node)}")

    def _array(self, key: str, node: dict) -> np.ndarray:
        if key not in self.arrays:
            raise SerializationError(f"chainrule.load: {self.name} names tensor {key!r} in its "
                                     "structure but does not hold it; the file is damaged")
        array = self.arrays[key]
        if node.get("dtype") == "complex128":
            if array.dtype != np.float64 or array.shape[-1:] != (2,):
                raise SerializationError(f"chainrule.load: tensor {key!r} in {self.name} should "
                                         "hold complex128 as float64 pairs; the file is damaged")
            array = np.ascontiguousarray(array).view(np.complex128)[..., 0]
        return array


# ----------------------------------------------------------------------------------------------
# files and helpers


def _pickle_error(name: str, what: str) -> PickleFileError:
    return PickleFileError(
        f"chainrule.load: {name} is {what}. chainrule never unpickles, because loading a pickle "
        "runs whatever code the file's author put in it. If you trust the file, convert it "
        "once in PyTorch: `from safetensors.torch import save_file; "
        "save_file(torch.load(path, weights_only=True), 'model.safetensors')` for a model's "
        "state_dict (or `numpy.savez('model.npz', **{k: v.numpy() for k, v in state.items()})`"
        "), then `chainrule.load('model.safetensors')`")


def _looks_like_pickle(data: bytes) -> bool:
    """Pickle protocols 2 to 5 start with PROTO (0x80) and the protocol number; the legacy
    (non-zip) ``torch.save`` format is such a pickle.  (Protocols 0 and 1 have no marker: such
    a file fails the safetensors checks instead, and is never unpickled either.)"""
    return len(data) > 1 and data[0] == 0x80 and 2 <= data[1] <= 5


def _looks_like_safetensors(data: bytes) -> bool:
    """A header length that fits the file, then the header's opening brace.  (A header of 640
    to 1535 bytes starts the file with 0x80 and 0x02 to 0x05, as a pickle does; a pickle's
    ninth byte is inside its first frame's length, never ``{`` for a file of this size.)"""
    if len(data) < 9 or data[8] != ord("{"):
        return False
    (size,) = struct.unpack("<Q", data[:8])
    return 8 + size <= len(data)


def _is_count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _dtype_list() -> str:
    return ", ".join(_DTYPES)


def _path_text(path: tuple) -> str:
    return "the top level" if not path else "obj" + "".join(f"[{p!r}]" for p in path)


def _file_name(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", "")
    return name if isinstance(name, str) else ""


def _write(f: FileLike, writer) -> None:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as out:
            writer(out)
    elif hasattr(f, "write"):
        writer(f)
    else:
        raise TypeError("chainrule.save: f must be a path (str or pathlib.Path) or a binary "
                        f"file object with write(), not {type(f).__name__}")


def _read(f: FileLike) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as source:
            return source.read()
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, str):
            raise TypeError("chainrule.load: the file object was opened in text mode; open it "
                            "with 'rb'")
        return bytes(data)
    raise TypeError("chainrule.load: f must be a path (str or pathlib.Path) or a binary file "
                    f"object with read(), not {type(f).__name__}")

