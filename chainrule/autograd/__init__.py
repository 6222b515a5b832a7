"""PyTorch's ``torch.autograd`` interface: ``backward``, ``grad``, ``gradcheck``.

These functions check their arguments, then hand the work to
:func:`chainrule.backward.run_backward`.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd import forward_ad
from chainrule.autograd.function import Function, FunctionCtx
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from chainrule.backward import run_backward
from chainrule.engine import SparseGrad
from chainrule.grad_mode import enable_grad, no_grad, set_grad_enabled
from chainrule.tensor import Tensor, wrap

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "no_grad",
           "enable_grad", "set_grad_enabled", "forward_ad", "Function", "FunctionCtx"]

CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using autograd.grad "
    "when creating the graph to avoid this. If you have to use this function, make sure to "
    "reset the .grad fields of your parameters to None after use to break the cycle and avoid "
    "the leak."
)


def _as_sequence(values) -> list:
    if values is None:
        return []
    if isinstance(values, Tensor):
        return [values]
    return list(values)


_ONES: dict = {}  # dtype -> a read-only 0-d one: the seed of a scalar loss


def _one(dtype) -> np.ndarray:
    one = _ONES.get(dtype)
    if one is None:
        one = np.ones((), dtype)
        one.flags.writeable = False  # (the engine never writes into a seed; hooks cannot)
        _ONES[dtype] = one
    return one


def _seeds(caller: str, outputs: list, gradients, create_graph: bool,
           tangents: bool = False) -> list:
    """One validated starting gradient per output (ones for one-element outputs)."""
    if gradients is None or isinstance(gradients, Tensor):
        gradients = [gradients] * (1 if gradients is not None else len(outputs))
    gradients = list(gradients)
    for g in gradients:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"{caller}: gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}; wrap the values with chainrule.tensor(...)")
    if len(gradients) != len(outputs):
        raise RuntimeError(f"{caller}: got {len(outputs)} tensors and {len(gradients)} "
                           "gradients; pass one gradient per output")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, gradients)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{caller}: outputs must be Tensors, but element {i} is "
                            f"{type(out).__name__}")
        if not out._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn. "
                "Nothing on the way to this output requires grad: create the inputs with "
                "requires_grad=True (or call .requires_grad_()) and do not compute under "
                "no_grad or after .detach()."
            )
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for scalar outputs; the "
                    f"output has shape {out.shape}. Pass gradient= (a tensor of that shape, "
                    "e.g. ones) or reduce the output first, e.g. with .sum()."
                )
            # (a shared read-only one only where the seed stays inside the engine: with
            # create_graph or tangents it reaches hooks and results as a Tensor)
            shared = out._data.ndim == 0 and not (create_graph or tangents)
            seeds.append(_one(out.dtype) if shared else np.ones(out.shape, out.dtype))
            continue
        if g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                f"has a shape of {out.shape}. The gradient must have exactly the output's shape."
            )
        # kept as a Tensor when its history or tangents must flow into the gradients
        seeds.append(g if (create_graph and g._rg) or (tangents and g._tangents is not None)
                     else g._data)
    return seeds


def _check_inputs(caller: str, inputs) -> list | None:
    if inputs is None:
        return None
    inputs = _as_sequence(inputs)
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{caller}()` cannot be empty.")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: inputs must be Tensors, got {type(t).__name__}")
        if not t._rg:
            raise RuntimeError(f"{caller}: One of the differentiated Tensors does not require "
                               "grad; create it with requires_grad=True")
    return inputs


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None, *, _caller: str = "backward") -> None:
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
    outputs = _as_sequence(tensors)
    seeds = _seeds(_caller, outputs, grad_tensors, create_graph)
    targets = _check_inputs("backward", inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warnings.warn(CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=targets)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         materialize_grads: bool = False, *, _tangents: bool = False,
         _fill_retained: bool = True):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned.  Leaves' ``.grad`` is not
    touched; as in PyTorch, tensors that called ``retain_grad()`` still get theirs.

    Returns a tuple with one entry per input (a dict if ``inputs`` is a dict).  An input the
    outputs do not depend on is an error unless ``allow_unused=True`` (then ``None``) or
    ``materialize_grads=True`` (then zeros).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (g,) = cr.autograd.grad(x ** 3, x, create_graph=True)
    >>> g
    tensor(27., grad_fn=<MulBackward0>)
    >>> cr.autograd.grad(g, x)
    (tensor(18.),)
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         f"materialize_grads=True, but got: allow_unused={allow_unused}.")
    if allow_unused is None:
        allow_unused = materialize_grads
    keys = None
    if isinstance(inputs, dict):
        keys, inputs = list(inputs), list(inputs.values())
    out_list = _as_sequence(outputs)
    seeds = _seeds("grad", out_list, grad_outputs, create_graph, _tangents)
    targets = _check_inputs("grad", inputs)
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(out_list, seeds, retain_graph=retain_graph,
                            create_graph=create_graph, inputs=targets, accumulate=False,
                            on_tensors=_tangents, fill_retained=_fill_retained)
    results = []
    for i, t in enumerate(targets):
        if t not in captured:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not "
                                   "have been used in the graph. Set allow_unused=True if this "
                                   "is the desired behavior.")
            results.append(_zeros_for(t, create_graph) if materialize_grads else None)
            continue
        g, owned = captured[t]
        results.append(_as_result(g, owned, t))
    if keys is not None:
        return dict(zip(keys, results))
    return tuple(results)


def _as_result(g, owned: bool, like: Tensor) -> Tensor:
    if isinstance(g, Tensor):
        return g
    if type(g) is SparseGrad:
        g, owned = g.dense(), True
    if not owned or type(g) is not np.ndarray:
        g = np.array(g, dtype=like.dtype)
    return wrap(g)


def _zeros_for(t: Tensor, create_graph: bool) -> Tensor:
    z = Tensor(np.zeros(t.shape, t.dtype))
    return z.requires_grad_(True) if create_graph else z
