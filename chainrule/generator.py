"""``chainrule.Generator``: PyTorch's ``torch.Generator``, a seedable source of random numbers.

It *is* a NumPy ``np.random.Generator`` (PCG64 underneath), so every function that takes
``generator=`` (``cr.randn``, ``cr.randint``, the samplers of ``chainrule.utils.data``) draws
from it exactly as from NumPy's, and a plain ``np.random.default_rng(seed)`` works there too.
The streams are NumPy's, not PyTorch's: the same seed gives reproducible, but different,
numbers than ``torch.Generator().manual_seed(seed)``.
"""

from __future__ import annotations

import operator

import numpy as np

# torch.Generator()'s seed before manual_seed is called (PyTorch's default_rng_seed_val)
DEFAULT_SEED = 67280421310721


class Generator(np.random.Generator):
    """A random number generator with PyTorch's methods (``manual_seed``, ``seed``,
    ``initial_seed``, ``get_state``, ``set_state``); a fresh one starts from PyTorch's fixed
    default seed, so it is reproducible even unseeded.

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(0)
    >>> a = cr.randint(0, 100, (3,), generator=g)
    >>> b = cr.randint(0, 100, (3,), generator=g.manual_seed(0))
    >>> bool((a == b).all()), g.initial_seed()
    (True, 0)
    """

    def __init__(self, device="cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"Generator: device {device!r} is not available; chainrule "
                               f"runs on the CPU only, so pass device='cpu' (the default)")
        self._seed = DEFAULT_SEED
        super().__init__(np.random.PCG64(DEFAULT_SEED))

    @property
    def device(self) -> str:
        """Always ``'cpu'``."""
        return "cpu"

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (an int; negative ones wrap as in PyTorch) and
        return the generator itself."""
        if isinstance(seed, bool):
            seed = int(seed)
        try:
            seed = operator.index(seed)
        except TypeError:
            raise TypeError(f"Generator.manual_seed: seed must be an int, not "
                            f"{type(seed).__name__}; pass e.g. manual_seed(0)") from None
        self._seed = seed % 2**64
        self.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; return the seed used."""
        self.manual_seed(int(np.random.SeedSequence().generate_state(1, np.uint64)[0]))
        return self._seed

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._seed

    def get_state(self) -> dict:
        """A copy of the generator's state (NumPy's PCG64 state dict; PyTorch gives a byte
        tensor instead), for :meth:`set_state`."""
        return dict(self.bit_generator.state, seed=self._seed)

    def set_state(self, new_state: dict) -> Generator:
        """Return to a state from :meth:`get_state`."""
        if not isinstance(new_state, dict) or "state" not in new_state:
            raise TypeError(f"Generator.set_state: expected the dict that get_state() returns, "
                            f"got {type(new_state).__name__}")
        state = dict(new_state)
        self._seed = state.pop("seed", self._seed)
        self.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"<chainrule.Generator seed={self._seed}>"

    __str__ = __repr__

    def __reduce__(self):
        # pickle and copy keep the class and the position in the stream
        return _rebuilt, (self.get_state(),)


def _rebuilt(state: dict) -> Generator:
    return Generator().set_state(state)


_default: dict = {}  # "rng": the global generator, made on first use


def default_rng() -> np.random.Generator:
    """chainrule's global generator, which ``cr.manual_seed`` seeds and every random function
    (``cr.randn``, ``Tensor.normal_`` ...) draws from when given no ``generator=``."""
    if "rng" not in _default:
        _default["rng"] = np.random.default_rng()
    return _default["rng"]


def random_source(generator=None) -> np.random.Generator:
    """What a random function draws from: ``generator`` when given (a ``chainrule.Generator``
    or any NumPy ``Generator``), else the global generator, which ``manual_seed`` seeds."""
    return generator if generator is not None else default_rng()


def seed_default(seed: int) -> np.random.Generator:
    """Restart the global generator from ``seed``."""
    _default["rng"] = np.random.default_rng(seed)
    return _default["rng"]

