"""The one functional entry point of reverse mode: gradients of outputs w.r.t. inputs.

:func:`gradients` (returned, as ``autograd.grad``) and :func:`backward` (accumulated into
``.grad``) check their arguments and make the seeds, then hand the work to
:func:`chainrule.backward.run_backward`.  ``chainrule.autograd``, ``Tensor.backward``,
``chainrule.func`` and ``chainrule.viz`` all come through here.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule import tracing
from chainrule.backward import run_backward
from chainrule.hooks import to_pytorch_convention
from chainrule.sparse import SparseGrad
from chainrule.tensor_base import TensorBase, new_like

CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using autograd.grad "
    "when creating the graph to avoid this. If you have to use this function, make sure to "
    "reset the .grad fields of your parameters to None after use to break the cycle and avoid "
    "the leak."
)


def as_sequence(values, caller: str = "grad", what: str = "tensors") -> list:
    """``values`` (None, a tensor, or several) as a list of tensors; ``caller`` and ``what``
    name the function and argument in the error when they are neither."""
    if values is None:
        return []
    if isinstance(values, TensorBase):
        return [values]
    try:
        return list(values)
    except TypeError:
        raise TypeError(f"{caller}: {what} must be a Tensor or a sequence of Tensors, but got "
                        f"{type(values).__name__} ({values!r})") from None


_ONES: dict = {}  # dtype -> a read-only 0-d one: the seed of a scalar loss


def _one(dtype) -> np.ndarray:
    one = _ONES.get(dtype)
    if one is None:
        one = np.ones((), dtype)
        one.flags.writeable = False  # (the engine never writes into a seed; hooks cannot)
        _ONES[dtype] = one
    return one


def _seeds(caller: str, outputs: list, gradients, create_graph: bool,
           tangents: bool = False, pytorch_convention: bool = True) -> list:
    """One validated starting gradient per output (ones for one-element outputs), in the
    engine's convention (given in PyTorch's with ``pytorch_convention``)."""
    if gradients is None or isinstance(gradients, TensorBase):
        gradients = [gradients] * (1 if gradients is not None else len(outputs))
    gradients = list(gradients)
    for g in gradients:
        if g is not None and not isinstance(g, TensorBase):
            raise TypeError(f"{caller}: gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}; wrap the values with chainrule.tensor(...)")
    if len(gradients) != len(outputs):
        raise RuntimeError(f"{caller}: got {len(outputs)} tensors and {len(gradients)} "
                           "gradients; pass one gradient per output")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, gradients)):
        if not isinstance(out, TensorBase):
            raise TypeError(f"{caller}: outputs must be Tensors, but element {i} is "
                            f"{type(out).__name__}")
        if out._batched and pytorch_convention:  # (the transforms' own calls pass it False)
            raise RuntimeError(
                f"{caller}: element {i} of tensors is batched by vmap (one value per example): "
                "backward() and autograd.grad() inside vmap would differentiate the whole "
                "batch; use chainrule.func.grad (or vjp) inside the vmapped function instead, "
                "e.g. vmap(grad(loss))(xs)")
        if not out._rg:
            raise RuntimeError(
                f"{caller}: element {i} of tensors does not require grad and does not have a "
                "grad_fn. "
                "Nothing on the way to this output requires grad: create the inputs with "
                "requires_grad=True (or call .requires_grad_()) and do not compute under "
                "no_grad or after .detach()."
            )
        if g is None:
            if out._data.dtype.kind == "c" and pytorch_convention:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for real scalar outputs; "
                    f"the output is {out.dtype}. Differentiate a real function of it "
                    "(e.g. .abs() ** 2, .real) or pass gradient= explicitly.")
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
                f"{caller}: Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                f"output[{i}] has a shape of {out.shape}. The gradient must have exactly the "
                "output's shape."
            )
        # kept as a Tensor when its history or tangents must flow into the gradients
        # (and inside a trace of compile, whose backward pass computes on tensors)
        seed = (g if (create_graph and g._rg) or (tangents and g._tangents is not None)
                or g._batched or tracing.active[0] is not None else g._data)
        seeds.append(to_pytorch_convention(seed) if pytorch_convention else seed)
    return seeds


def _check_inputs(caller: str, inputs) -> list | None:
    if inputs is None:
        return None
    inputs = as_sequence(inputs, caller, "inputs")
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{caller}()` cannot be empty.")
    for t in inputs:
        if not isinstance(t, TensorBase):
            raise TypeError(f"{caller}: inputs must be Tensors, got {type(t).__name__}")
        if not t._rg:
            raise RuntimeError(f"{caller}: One of the differentiated Tensors does not require "
                               "grad; create it with requires_grad=True")
    return inputs


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None, *, caller: str = "backward") -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (summed): what
    ``chainrule.autograd.backward`` and ``Tensor.backward`` do; ``caller`` names the one the
    user called, in errors."""
    outputs = as_sequence(tensors, caller, "tensors")
    seeds = _seeds(caller, outputs, grad_tensors, create_graph)
    targets = _check_inputs("backward", inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warnings.warn(CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=targets)


def gradients(outputs, inputs, grad_outputs=None, *, retain_graph: bool | None = None,
              create_graph: bool = False, allow_unused: bool | None = None,
              materialize_grads: bool = False, through_tangents: bool = False,
              fill_retained: bool = True, pytorch_convention: bool = True):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned (``.grad`` of leaves untouched).

    This is ``chainrule.autograd.grad`` (see there for the arguments PyTorch has) and what
    ``chainrule.func`` and ``chainrule.viz`` call.  Two more switches:

    * ``through_tangents``: run the rules on tensors, unrecorded, so that the forward-mode
      tangents of the saved values flow into the gradients (forward over reverse, as
      ``func.jvp`` of ``func.grad`` needs);
    * ``fill_retained=False``: leave the ``.grad`` of ``retain_grad()`` tensors alone (PyTorch
      fills it even for ``autograd.grad``; a graph drawing must not);
    * ``pytorch_convention=False``: complex gradients in JAX's convention, the conjugate of
      PyTorch's (``grad_outputs`` and the results; ``chainrule.func`` uses it).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         f"materialize_grads=True, but got: allow_unused={allow_unused}.")
    if allow_unused is None:
        allow_unused = materialize_grads
    keys = None
    if isinstance(inputs, dict):
        keys, inputs = list(inputs), list(inputs.values())
    out_list = as_sequence(outputs, "autograd.grad", "outputs")
    seeds = _seeds("autograd.grad", out_list, grad_outputs, create_graph, through_tangents,
                   pytorch_convention)
    targets = _check_inputs("autograd.grad", inputs)
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(out_list, seeds, retain_graph=retain_graph,
                            create_graph=create_graph, inputs=targets, accumulate=False,
                            on_tensors=through_tangents, fill_retained=fill_retained)
    results = []
    for i, t in enumerate(targets):
        if t not in captured:
            if not allow_unused:
                raise RuntimeError(f"autograd.grad: The differentiated Tensor at index {i} "
                                   "appears to not have been used in the graph. Set "
                                   "allow_unused=True if this is the desired behavior.")
            results.append(_zeros_for(t, create_graph) if materialize_grads else None)
            continue
        g, owned = captured[t]
        if pytorch_convention and g.dtype.kind == "c":
            g, owned = to_pytorch_convention(g), True
        results.append(_as_result(g, owned, t))
    if keys is not None:
        return dict(zip(keys, results))
    return tuple(results)


def _as_result(g, owned: bool, like: TensorBase):
    if isinstance(g, TensorBase):
        return g
    if type(g) is SparseGrad:
        g, owned = g.dense(), True
    if not owned or type(g) is not np.ndarray:
        g = np.array(g, dtype=like.dtype)
    return new_like(like, g)


def _zeros_for(t: TensorBase, create_graph: bool):
    zeros = new_like(t, np.zeros(t.shape, t.dtype))
    zeros._rg = create_graph  # (a leaf: create_graph asks for gradients of the result too)
    if create_graph and tracing.active[0] is not None:
        tracing.leaf_made(zeros)
    return zeros
