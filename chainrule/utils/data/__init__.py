"""``chainrule.utils.data``: PyTorch's ``torch.utils.data`` -- datasets, samplers, collation
and the ``DataLoader`` that feeds a training loop.

Shuffles and random splits draw from ``chainrule.Generator`` (NumPy's PCG64): with a seed
(``generator=cr.Generator().manual_seed(s)``, or ``cr.manual_seed(s)`` for the global one)
they are reproducible, but they are not the orders PyTorch gives for the same seed.

>>> import chainrule as torch
>>> from chainrule.utils import data
>>> X, y = torch.arange(8.0).reshape(4, 2), torch.tensor([0, 1, 0, 1])
>>> [b[1].tolist() for b in data.DataLoader(data.TensorDataset(X, y), batch_size=3)]
[[0, 1, 0], [1]]
"""

from chainrule.utils.data.collate import default_collate, default_convert
from chainrule.utils.data.dataloader import DataLoader
from chainrule.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from chainrule.utils.data.distributed import DistributedSampler
from chainrule.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
    "default_convert", "random_split",
]
