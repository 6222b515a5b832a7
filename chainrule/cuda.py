"""``chainrule.cuda``: PyTorch's ``torch.cuda`` as it answers on a machine without a GPU.

chainrule computes with NumPy on the CPU, so code that asks before it places anything
(``torch.cuda.is_available()``, ``torch.cuda.device_count()``, the book's ``try_gpu()``) learns
that there is no CUDA device and takes its CPU path; seeding is accepted and does nothing.
Placing a tensor on a CUDA device (``device='cuda'``, ``x.cuda()``) is refused where it is asked.

>>> import chainrule as cr
>>> cr.cuda.is_available(), cr.cuda.device_count()
(False, 0)
"""

from __future__ import annotations


def is_available() -> bool:
    """False: chainrule has no CUDA device."""
    return False


def device_count() -> int:
    """0: chainrule has no CUDA device."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored, as PyTorch does without CUDA (there is no CUDA generator)."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as PyTorch does without CUDA (there is no CUDA generator)."""
