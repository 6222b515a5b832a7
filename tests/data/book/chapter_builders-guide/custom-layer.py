# The PyTorch code of d2l-en chapter_builders-guide/custom-layer.md (commit 23d7a5ae), MIT-0, vendored by
# tests/book/extract.py: only import lines rewritten and IPython magics dropped.

# %% cell 1
import book_d2l as d2l
import chainrule as torch
from chainrule import nn
from chainrule.nn import functional as F

# %% cell 2
class CenteredLayer(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()

# %% cell 3
layer = CenteredLayer()
layer(d2l.tensor([1.0, 2, 3, 4, 5]))

# %% cell 4
net = nn.Sequential(nn.LazyLinear(128), CenteredLayer())

# %% cell 5
Y = net(d2l.rand(4, 8))
Y.mean()

# %% cell 6
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))
        
    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)

# %% cell 7
linear = MyLinear(5, 3)
linear.weight

# %% cell 8
linear(torch.rand(2, 5))

# %% cell 9
net = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
net(torch.rand(2, 64))
