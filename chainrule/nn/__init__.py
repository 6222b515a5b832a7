"""``chainrule.nn``: PyTorch's ``torch.nn.functional`` layout for the functions a training loop
calls (``chainrule.nn.functional.cross_entropy``, the activations).  There are no modules or
layers: a model is a function of tensors, as in the book's chapter."""

from chainrule.nn import functional

__all__ = ["functional"]
