"""``chainrule.nn``: PyTorch's ``torch.nn``: :class:`Module` and :class:`Parameter`, the
containers (``Sequential``, ``ModuleList``, ``ModuleDict``), ``Linear``, ``LazyLinear``,
``Bilinear``, ``Dropout``, ``Embedding``, the convolutions (``Conv1d/2d/3d``,
``ConvTranspose1d/2d/3d``, and their lazy forms), the poolings (``MaxPool2d``, ``AvgPool2d``,
the adaptive ones), the recurrent layers and ``MultiheadAttention``, the normalisation layers
(``BatchNorm1d``/``2d``/``3d``, ``InstanceNorm1d``/``2d``/``3d``, ``LayerNorm``, ``GroupNorm``),
the activations and losses as modules, and ``functional`` (``torch.nn.functional``), ``init``
and ``utils``.

A layer is plain Python over chainrule's operations: a Module holds Parameters and calls
functions of :mod:`chainrule.nn.functional`, so ``create_graph=True`` and forward mode work
through every layer. The modules live in :mod:`chainrule.nn.modules`, one file per family.
Convolutions are primitives of their own (``chainrule/rules/convolution.py``). The recurrent
layers (``RNN``, ``LSTM``, ``GRU`` and their cells) are in :mod:`chainrule.nn.modules.rnn`,
``MultiheadAttention`` in :mod:`chainrule.nn.modules.attention` (its functions in
:mod:`chainrule.nn.functional_attention`). Pooling layers call the pooling primitives of
:mod:`chainrule.rules.pooling`.

>>> import chainrule as cr
>>> from chainrule import nn
>>> net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
>>> loss = nn.MSELoss()(net(cr.ones(3, 2)), cr.zeros(3, 1))
>>> loss.backward()
>>> [tuple(p.grad.shape) for p in net.parameters()]
[(4, 2), (4,), (1, 4), (1,)]
"""

from chainrule.nn import functional, init, parallel, utils
from chainrule.nn.modules import (
    ELU,
    GELU,
    GRU,
    LSTM,
    RNN,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    BCELoss,
    BCEWithLogitsLoss,
    Bilinear,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    GroupNorm,
    GRUCell,
    HuberLoss,
    Identity,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyLinear,
    LeakyReLU,
    Linear,
    LogSoftmax,
    LPPool2d,
    LSTMCell,
    MaxPool1d,
    MaxPool2d,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    MultiheadAttention,
    NLLLoss,
    PReLU,
    ReLU,
    RNNBase,
    RNNCell,
    RNNCellBase,
    Sequential,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from chainrule.nn.parameter import Parameter

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "BCELoss",
           "BCEWithLogitsLoss", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
           "ConvTranspose2d", "ConvTranspose3d", "CrossEntropyLoss", "Dropout", "ELU", "Embedding",
           "Flatten", "functional", "GELU", "GroupNorm", "GRU", "GRUCell", "HuberLoss", "Identity",
           "parallel",
           "init", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "KLDivLoss", "L1Loss",
           "LayerNorm", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyLinear", "LeakyReLU", "Linear", "LogSoftmax", "LPPool2d",
           "LSTM", "LSTMCell", "MaxPool1d", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
           "MSELoss", "MultiheadAttention", "NLLLoss", "Parameter", "PReLU", "ReLU", "RNN",
           "RNNBase", "RNNCell", "RNNCellBase", "Sequential", "Sigmoid", "SiLU", "SmoothL1Loss",
           "Softmax", "Softplus", "Tanh", "Unflatten", "utils"]
