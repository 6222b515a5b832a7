"""Where the samplers and ``random_split`` get their random numbers.

A ``generator`` argument is a ``chainrule.Generator`` (or any ``np.random.Generator``); without
one, a fresh generator is seeded from one draw of chainrule's global generator, as PyTorch's
``RandomSampler`` does, so ``chainrule.manual_seed(s)`` makes every shuffle reproducible.
"""

from __future__ import annotations

import numpy as np

from chainrule.creation import randint
from chainrule.generator import Generator


def generator_for(name: str, generator) -> np.random.Generator:
    """``generator`` itself, or a new one seeded from the global generator when None."""
    if generator is None:
        return Generator().manual_seed(int(randint(0, 2**63 - 1).item()))
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{name}: generator must be a chainrule.Generator (or a NumPy "
                        f"np.random.Generator), got {type(generator).__name__}; make one with "
                        f"chainrule.Generator().manual_seed(seed)")
    return generator


def permutation(name: str, n: int, generator) -> np.ndarray:
    """A random permutation of ``range(n)`` as int64."""
    return generator_for(name, generator).permutation(n).astype(np.int64)
