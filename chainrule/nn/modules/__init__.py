"""The modules of ``chainrule.nn``, one file per family as in PyTorch: ``module`` (the base
class), ``container``, ``linear`` (with ``Dropout`` and ``Embedding``), ``activation``,
``conv``, ``loss``, ``batchnorm`` (batch and instance normalisation), ``normalization``
(``LayerNorm``, ``GroupNorm``), ``lazy`` (the lazy convolutions and batch norms), ``pooling``,
``rnn`` (the recurrent layers and cells) and ``attention``."""

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
from chainrule.nn.modules.attention import MultiheadAttention
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
from chainrule.nn.modules.conv import (
                                             Conv1d,
                                             Conv2d,
                                             Conv3d,
                                             ConvTranspose1d,
                                             ConvTranspose2d,
                                             ConvTranspose3d,
)
from chainrule.nn.modules.lazy import (
                                             LazyBatchNorm1d,
                                             LazyBatchNorm2d,
                                             LazyBatchNorm3d,
                                             LazyConv1d,
                                             LazyConv2d,
                                             LazyConv3d,
                                             LazyConvTranspose1d,
                                             LazyConvTranspose2d,
                                             LazyConvTranspose3d,
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
from chainrule.nn.modules.pooling import (
                                             AdaptiveAvgPool1d,
                                             AdaptiveAvgPool2d,
                                             AdaptiveMaxPool1d,
                                             AdaptiveMaxPool2d,
                                             AvgPool1d,
                                             AvgPool2d,
                                             LPPool2d,
                                             MaxPool1d,
                                             MaxPool2d,
)
from chainrule.nn.modules.rnn import (
                                             GRU,
                                             LSTM,
                                             RNN,
                                             GRUCell,
                                             LSTMCell,
                                             RNNBase,
                                             RNNCell,
                                             RNNCellBase,
)

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "BCELoss",
           "BCEWithLogitsLoss", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
           "ConvTranspose2d", "ConvTranspose3d", "CrossEntropyLoss", "Dropout", "ELU", "Embedding",
           "Flatten", "GELU", "GroupNorm", "GRU", "GRUCell", "HuberLoss", "Identity",
           "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "KLDivLoss", "L1Loss",
           "LayerNorm", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyLinear", "LeakyReLU", "Linear", "LogSoftmax", "LPPool2d",
           "LSTM", "LSTMCell", "MaxPool1d", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
           "MSELoss", "MultiheadAttention", "NLLLoss", "PReLU", "ReLU", "RNN", "RNNBase",
           "RNNCell", "RNNCellBase", "Sequential", "Sigmoid", "SiLU", "SmoothL1Loss", "Softmax",
           "Softplus", "Tanh", "Unflatten"]
