"""``chainrule.optim``: PyTorch's ``torch.optim`` (optimisers that update parameters in place,
and ``lr_scheduler``).

>>> import chainrule as cr
>>> w = cr.tensor([3.0], requires_grad=True)
>>> opt = cr.optim.SGD([w], lr=0.25, momentum=0.5)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> w
tensor([-0.7500], requires_grad=True)
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import Adadelta, Adagrad, RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
