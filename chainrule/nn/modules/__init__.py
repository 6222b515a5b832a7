"""The modules of ``chainrule.nn``, one file per family as in PyTorch: ``module`` (the base
class), ``container``, ``linear`` (with ``Dropout`` and ``Embedding``), ``activation`` and
``loss``, ``batchnorm`` (batch and instance normalisation) and ``normalization`` (``LayerNorm``,
``GroupNorm``)."""

from chainrule.nn.modules.activation import (
                                             ELU,
                                             GELU,
                                             LeakyReLU,
                                             LogSoftmax,
                                             PReLU,
                                             ReLU,
                                             Sigmoid,
                                             SiLU,
                                             Softmax,
                                             Softplus,
                                             Tanh,
)
from chainrule.nn.modules.batchnorm import (
                                             BatchNorm1d,
                                             BatchNorm2d,
                                             BatchNorm3d,
                                             InstanceNorm1d,
                                             InstanceNorm2d,
                                             InstanceNorm3d,
)
from chainrule.nn.modules.container import (
                                             Flatten,
                                             Identity,
                                             ModuleDict,
                                             ModuleList,
                                             Sequential,
                                             Unflatten,
)
from chainrule.nn.modules.linear import Bilinear, Dropout, Embedding, LazyLinear, Linear
from chainrule.nn.modules.loss import (
                                             BCELoss,
                                             BCEWithLogitsLoss,
                                             CrossEntropyLoss,
                                             HuberLoss,
                                             KLDivLoss,
                                             L1Loss,
                                             MSELoss,
                                             NLLLoss,
                                             SmoothL1Loss,
)
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import GroupNorm, LayerNorm

__all__ = ["BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
           "Bilinear", "CrossEntropyLoss", "Dropout", "ELU", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d", "LayerNorm",
           "Embedding", "Flatten", "GELU", "HuberLoss", "Identity", "KLDivLoss", "L1Loss",
           "LazyLinear", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict",
           "ModuleList", "NLLLoss", "PReLU", "ReLU", "Sequential", "SiLU", "Sigmoid",
           "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "Unflatten"]
