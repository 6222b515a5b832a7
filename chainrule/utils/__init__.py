"""``chainrule.utils``: PyTorch's ``torch.utils`` layout; ``chainrule.utils.data`` holds the
datasets, samplers and ``DataLoader``."""

from chainrule.utils import data

__all__ = ["data"]
