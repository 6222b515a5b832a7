"""``jax.random``: explicit keys and pure functions of them, with JAX's Threefry-2x32 bits.

A key is an Array of two uint32 words; the same key always gives the same numbers, and
``split`` makes new independent keys.  The bits are JAX's: Threefry-2x32 (20 rounds) in the
layout of JAX >= 0.5 (``jax_threefry_partitionable=True``), or of JAX < 0.5, which the book
was built with, after ``jax.config.update("jax_threefry_partitionable", False)``.  Normals
use XLA's single-precision inverse error function, computed with NumPy in float32.

>>> from chainrule.compat.jax import random
>>> key = random.PRNGKey(0)
>>> key
Array([0, 0], dtype=uint32)
>>> random.split(key)
Array([[1797259609, 2579123966],
       [ 928981903, 3453687069]], dtype=uint32)
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.compat.jax.core import Array, check_dtype_request, from_tensor

__all__ = ["PRNGKey", "split", "fold_in", "bits", "uniform", "normal"]

# JAX's jax_threefry_partitionable flag (True by default since JAX 0.5); see jax.config
settings = {"jax_threefry_partitionable": True}

_U32 = np.uint32


def _rotate_left(x: np.ndarray, r: int) -> np.ndarray:
    return (x << _U32(r)) | (x >> _U32(32 - r))


def threefry2x32(key1, key2, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Threefry-2x32 block cipher (Salmon et al. 2011, 20 rounds), as JAX computes it."""
    ks = [_U32(key1), _U32(key2), _U32(key1) ^ _U32(key2) ^ _U32(0x1BD11BDA)]
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    with np.errstate(over="ignore"):  # arithmetic modulo 2**32
        x0, x1 = np.asarray(x0, _U32) + ks[0], np.asarray(x1, _U32) + ks[1]
        for i in range(5):
            for r in rotations[i % 2]:
                x0 = x0 + x1
                x1 = _rotate_left(x1, r) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + _U32(i + 1)
    return x0, x1


def _threefry_2x32(key: np.ndarray, count: np.ndarray) -> np.ndarray:
    """JAX < 0.5's use of the cipher: the counts' two halves are the two input words."""
    flat = count.ravel().astype(_U32)
    odd = flat.size % 2
    if odd:
        flat = np.concatenate([flat, np.zeros(1, _U32)])
    y0, y1 = threefry2x32(key[0], key[1], *np.split(flat, 2))
    out = np.concatenate([y0, y1])
    return (out[:-1] if odd else out).reshape(count.shape)


def _iota_2x32(shape) -> tuple[np.ndarray, np.ndarray]:
    """Each element's flat index as two 32-bit words (high, low)."""
    index = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    return (index >> np.uint64(32)).astype(_U32), (index & np.uint64(0xFFFFFFFF)).astype(_U32)


def _key_data(key, caller: str) -> np.ndarray:
    if not all(hasattr(key, attr) for attr in ("ndim", "shape", "dtype")):
        raise TypeError("JAX encountered invalid PRNG key data: expected key_data to have ndim, "
                        f"shape, and dtype attributes. Got {key}")
    data = np.asarray(key)
    if data.shape[-1:] != (2,) or data.dtype != _U32:
        raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.shape to end "
                        f"with (2,) and dtype uint32; got shape={data.shape}, "
                        f"dtype={data.dtype} (in random.{caller})")
    if data.ndim != 1:
        raise ValueError(f"random.{caller} accepts a single key, but was given a key array of "
                         f"shape {data.shape[:-1]} != (). Use jax.vmap for batching.")
    return data


def _key(words) -> Array:
    return from_tensor(np.asarray(words, _U32))


def PRNGKey(seed) -> Array:  # noqa: N802
    """A legacy raw key: ``Array([0, seed], dtype=uint32)`` (64-bit seeds use both words)."""
    seed = int(seed)
    return _key([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF])


def split(key, num: int | tuple[int, ...] = 2) -> Array:
    """``num`` new keys made from ``key``, shape ``(num, 2)``."""
    data = _key_data(key, "split")
    shape = (num,) if isinstance(num, int) else tuple(num)
    if settings["jax_threefry_partitionable"]:
        hi, lo = _iota_2x32(shape)
        b1, b2 = threefry2x32(data[0], data[1], hi, lo)
        return _key(np.stack([b1, b2], axis=-1))
    count = np.arange(math.prod(shape) * 2, dtype=_U32)
    return _key(_threefry_2x32(data, count).reshape(*shape, 2))


def fold_in(key, data: int) -> Array:
    """A new key made from ``key`` and the integer ``data``."""
    words = _key_data(key, "fold_in")
    seed = PRNGKey(int(data) & 0xFFFFFFFF)
    return _key(_threefry_2x32(words, np.asarray(seed)))


def _bits(key, shape, caller: str) -> np.ndarray:
    data = _key_data(key, caller)
    shape = tuple(shape)
    if settings["jax_threefry_partitionable"]:
        hi, lo = _iota_2x32(shape)
        b1, b2 = threefry2x32(data[0], data[1], hi, lo)
        return b1 ^ b2
    count = np.arange(math.prod(shape), dtype=_U32)
    return _threefry_2x32(data, count).reshape(shape)


def bits(key, shape=(), dtype=None) -> Array:
    """Random uint32 words."""
    return from_tensor(_bits(key, shape, "bits"))


def _float_dtype(dtype, caller: str) -> np.dtype:
    dtype = check_dtype_request(dtype, caller) or np.dtype(np.float32)
    if dtype != np.float32:
        raise NotImplementedError(f"random.{caller}: only float32 is supported, got {dtype}")
    return dtype


def _uniform(key, shape, minval, maxval, caller: str) -> np.ndarray:
    words = _bits(key, shape, caller)
    one = np.float32(1.0)
    mantissa = (words >> _U32(32 - 23)) | np.asarray(one).view(_U32)
    floats = mantissa.view(np.float32) - one
    minval, maxval = np.float32(minval), np.float32(maxval)
    return np.maximum(minval, floats * (maxval - minval) + minval).reshape(shape)


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0) -> Array:
    """Uniform float32 values in ``[minval, maxval)``."""
    _float_dtype(dtype, "uniform")
    return from_tensor(_uniform(key, tuple(shape), minval, maxval, "uniform"))


# XLA's ErfInv32 (Giles, "Approximating the erfinv function"): two polynomials in w
_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
          -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_LARGE = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
          -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _erfinv(x: np.ndarray) -> np.ndarray:
    f32 = np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log1p(-x * x)
        small = w < f32(5.0)
        w = np.where(small, w - f32(2.5), np.sqrt(w) - f32(3.0)).astype(f32)
        p = np.where(small, f32(_SMALL[0]), f32(_LARGE[0])).astype(f32)
        for a, b in zip(_SMALL[1:], _LARGE[1:]):
            p = (np.where(small, f32(a), f32(b)) + p * w).astype(f32)
        return np.where(np.abs(x) == f32(1), x * np.finfo(f32).max, p * x).astype(f32)


def normal(key, shape=(), dtype=None) -> Array:
    """Standard normal float32 values: ``sqrt(2) * erfinv(u)`` for ``u`` uniform in (-1, 1)."""
    _float_dtype(dtype, "normal")
    low = np.nextafter(np.float32(-1.0), np.float32(0.0))
    u = _uniform(key, tuple(shape), low, 1.0, "normal")
    return from_tensor(np.float32(np.sqrt(2)) * _erfinv(u))
