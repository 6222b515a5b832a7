"""PyTorch's ``torch.autograd`` interface: ``backward``, ``grad``, ``gradcheck``, and
``functional`` (``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``).

``backward`` and ``grad`` are PyTorch's signatures over the engine's one functional entry
point, :mod:`chainrule.gradient`.
"""

from __future__ import annotations

from chainrule import gradient
from chainrule.autograd import forward_ad, functional
from chainrule.autograd.function import Function, FunctionCtx
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from chainrule.grad_mode import enable_grad, no_grad, set_grad_enabled

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "no_grad",
           "enable_grad", "set_grad_enabled", "forward_ad", "functional", "Function", "FunctionCtx"]


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (summed).

    ``grad_tensors`` gives the vector of each vector-Jacobian product; it may be omitted for
    one-element outputs.  The graph's saved values are freed unless ``retain_graph=True``
    (which defaults to ``create_graph``).

    >>> import chainrule as cr
    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> cr.autograd.backward([(x * x).sum()])
    >>> x.grad
    tensor([2., 4.])
    """
    gradient.backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         materialize_grads: bool = False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned.  Leaves' ``.grad`` is not
    touched; as in PyTorch, tensors that called ``retain_grad()`` still get theirs.

    Returns a tuple with one entry per input (a dict if ``inputs`` is a dict).  An input the
    outputs do not depend on is an error unless ``allow_unused=True`` (then ``None``) or
    ``materialize_grads=True`` (then zeros).  (``only_inputs`` is accepted and ignored, as in
    PyTorch, where it is deprecated.)

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (g,) = cr.autograd.grad(x ** 3, x, create_graph=True)
    >>> g
    tensor(27., grad_fn=<MulBackward0>)
    >>> cr.autograd.grad(g, x)
    (tensor(18.),)
    """
    return gradient.gradients(outputs, inputs, grad_outputs, retain_graph=retain_graph,
                              create_graph=create_graph, allow_unused=allow_unused,
                              materialize_grads=materialize_grads)
