"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp``
with PyTorch's signatures, return structures and errors.

The inputs are a Tensor or a tuple of Tensors; so is what ``func`` returns.  A tuple in gives a
tuple out, a Tensor a Tensor, and a Jacobian of tuple outputs and tuple inputs is a tuple (per
output) of tuples (per input), ``J[i][j]`` of shape ``out_i.shape + in_j.shape``.  Results are
detached unless ``create_graph=True``, when they are differentiable again.  ``strict=True``
raises where an output does not depend on an input (PyTorch's messages), where otherwise zeros
would be returned.

This is PyTorch's own construction on chainrule's engine: every product is an
``autograd.grad`` call on a graph recorded from detached copies of the inputs.  ``jvp`` and
``hvp`` use the double-backward trick (the VJP ``u -> J^T u`` is linear in ``u``, so the
gradient of ``v . (J^T u)`` with respect to ``u`` is ``J v``), as PyTorch does, which is what
its ``strict`` messages speak of.  ``jacobian(vectorize=True)`` is ``chainrule.func.jacrev``
(``strategy='reverse-mode'``) or ``jacfwd`` (``'forward-mode'``), which batch the rows;
``vectorize=False`` runs one backward pass per output element, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule import func as cf
from chainrule import gradient
from chainrule.creation import zeros_like
from chainrule.engine import is_grad_enabled
from chainrule.errors import size_text
from chainrule.functions import stack
from chainrule.grad_mode import enable_grad, set_grad_enabled
from chainrule.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGIES = ("forward-mode", "reverse-mode")


# --------------------------------------------------------------------------------------------
# PyTorch's plumbing: tuples in and out, detached copies, the strict checks


def _as_tuple(value, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """``(whether value was a tuple, value as a tuple)``; every entry must be a Tensor."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, el in enumerate(values):
        if not isinstance(el, Tensor):
            where = f" value at index {i}" if is_tuple else f" given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the{where} has type {type(el)}.")
    return is_tuple, values


def _unpack(res, to_unpack):
    """Undo :func:`_as_tuple` on a result: ``to_unpack`` is one flag, or ``(outputs_flag,
    inputs_flag)`` for a tuple (per output) of tuples (per input)."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _prepared(values: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Detached copies that require grad (``need_graph``); with ``create_graph``, an input that
    requires grad is kept, so the results stay differentiable with respect to it."""
    return tuple(v if create_graph and v.requires_grad
                 else v.detach().requires_grad_(need_graph) for v in values)


def _finished(values, create_graph: bool):
    """The results as returned: detached unless ``create_graph``."""
    if isinstance(values, Tensor):
        return values if create_graph else values.detach()
    return tuple(_finished(v, create_graph) for v in values)


def _check_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be "
                               f"{size_text(el_other.shape)} but got {size_text(el_v.shape)}.")


def _check_requires_grad(values, kind: str, strict: bool) -> None:
    """PyTorch's strict-mode checks on outputs, gradients, Jacobians and Hessians."""
    if not strict:
        return
    for i, value in enumerate(values):
        if value is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if value.requires_grad:
            continue
        if kind == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should "
                "ensure that your function is thrice differentiable and that the hessian "
                "depends on the inputs.")
        if kind == "jacobian":
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).")
        if kind == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the "
                "user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The outputs "
            "must be computed in a differentiable manner from the input when running in "
            "strict mode.")


def _grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph: bool = False,
          retain_graph=None) -> tuple:
    """``autograd.grad`` over the outputs that require grad; None for an unused input."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return tuple(gradient.gradients([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                                    retain_graph=retain_graph, create_graph=create_graph,
                                    allow_unused=True))


_UNUSED = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _zeros_for_unused(grads: tuple, refs: tuple, strict: bool, create_graph: bool,
                      stage: str) -> tuple:
    """Zeros where an input was unused (an error under ``strict``)."""
    out = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_UNUSED[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        out.append(g)
    return tuple(out)


def _v_or_default(v, against: tuple, is_tuple: bool, fn_name: str, create_graph: bool,
                  what: str) -> tuple | None:
    """The vector ``v`` as a checked tuple; None only where ``against`` is one one-element
    Tensor (``what`` says which, for PyTorch's message)."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _prepared(v, create_graph, need_graph=False)
        _check_v(v, against, is_tuple)
        return v
    if len(against) != 1 or against[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if {what} a single Tensor with a "
                           "single element.")
    return None


def _single_output(out, fn_name: str) -> None:
    if not isinstance(out, Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


# --------------------------------------------------------------------------------------------
# the products


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product.  ``v`` (shaped like the outputs)
    may be omitted when ``func`` returns one one-element Tensor.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import vjp
    >>> vjp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 10.0]))
    (tensor([1., 4.]), tensor([ 2., 40.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepared(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _v_or_default(v, outputs, is_outputs_tuple, "vjp", create_graph,
                          "the user-provided function returns")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        grads = _zeros_for_unused(grads, inputs, strict, create_graph, "back")
    return (_unpack(_finished(outputs, create_graph), is_outputs_tuple),
            _unpack(_finished(grads, create_graph), is_inputs_tuple))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), J v)``: the Jacobian-vector product (``v`` shaped like the inputs; it
    may be omitted for one one-element input).

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import jvp
    >>> jvp(lambda x: x ** 2, cr.tensor([1.0, 2.0]), cr.tensor([1.0, 10.0]))
    (tensor([1., 4.]), tensor([ 2., 40.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepared(inputs, create_graph, need_graph=True)
        v = _v_or_default(v, inputs, is_inputs_tuple, "jvp", create_graph,
                          "the input to the user-provided function is")
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # u -> J^T u is linear, so its value at u = 0 is as good as any; its gradient with
        # respect to u, contracted with v, is J v
        us = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _grad(outputs, inputs, us, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        jv = _grad(grad_inputs, us, v, create_graph=create_graph)
        jv = _zeros_for_unused(jv, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finished(outputs, create_graph), is_outputs_tuple),
            _unpack(_finished(jv, create_graph), is_outputs_tuple))


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` of shape ``out_i.shape +
    in_j.shape``, unpacked where the outputs or inputs are a single Tensor.
    ``strategy='forward-mode'`` needs ``vectorize=True`` (as in PyTorch).

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, cr.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    if strategy not in _STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         'Hint: If your function has more outputs than inputs, "forward-mode" '
                         'tends to be more performant. Otherwise, prefer to use '
                         '"reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `strict=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-"
                                      "reverse Hessian isonly implemented for `vectorize=True`.")
        return _batched_jacobian(cf.jacfwd, func, inputs, create_graph)
    if vectorize and strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           "`vectorized=True` are not supported together. Please either set "
                           "`strict=False` or `vectorize=False`.")
    if vectorize and not create_graph:
        return _batched_jacobian(cf.jacrev, func, inputs, create_graph)
    # one backward pass per output element (also vectorize=True with create_graph: the same
    # values, and the rows stay differentiable)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepared(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function",
                                              "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for k in range(out.numel()):
                row = _grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (g, inp) in enumerate(zip(row, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {j}. This is not allowed in strict mode.")
                        g = zeros_like(inp)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(
                            "The jacobian of the user-provided function is independent of "
                            f"input {i}. This is not allowed in strict mode when "
                            "create_graph=True.")
                    rows[j].append(g)
            jac.append(tuple(
                (stack(r) if r else zeros_like(inp).reshape((0,) + tuple(inp.shape)))
                .reshape(tuple(out.shape) + tuple(inp.shape))
                for r, inp in zip(rows, inputs)))
    return _unpack(_finished(tuple(jac), create_graph), (is_outputs_tuple, is_inputs_tuple))


def _batched_jacobian(transform, func: Callable, inputs, create_graph: bool):
    """The Jacobian by ``chainrule.func.jacrev`` or ``jacfwd``, in PyTorch's structure."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepared(inputs, create_graph, need_graph=False)
    shape = {}

    def as_tuple_out(*xs):
        is_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function",
                                   "jacobian")
        shape["tuple"] = is_tuple
        return outs

    jac = transform(as_tuple_out, argnums=tuple(range(len(inputs))))(*inputs)
    return _unpack(_finished(tuple(tuple(per_in) for per_in in jac), create_graph),
                   (shape["tuple"], is_inputs_tuple))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of scalar-valued ``func``: ``H[i][j]`` of shape ``in_i.shape + in_j.shape``,
    the Jacobian (``outer_jacobian_strategy``) of the gradient (reverse mode).

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*xs):
        out = func(*xs)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict)
        if is_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        _single_output(out, "hessian")
        return out.reshape(())

    def gradient_of(*xs):
        if outer_jacobian_strategy == "forward-mode":
            xs = tuple(x.requires_grad_(True) for x in xs)
        jac = jacobian(single_output, xs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient_of, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(res, (is_inputs_tuple, is_inputs_tuple))


def _second_order(fn_name: str, func: Callable, inputs, v, create_graph: bool, strict: bool):
    """The recorded gradient of scalar ``func`` at ``inputs``, for :func:`vhp` and :func:`hvp`:
    ``(is_inputs_tuple, inputs, v, output, gradients)``."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _prepared(inputs, create_graph, need_graph=True)
    v = _v_or_default(v, inputs, is_inputs_tuple, fn_name, create_graph,
                      "the input to the user-provided function is")
    out = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    _single_output(out, fn_name)
    jac = _grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, out, jac


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), v^T H)``: a vector-Hessian product of scalar-valued ``func``.

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import vhp
    >>> vhp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
    (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, out, jac = _second_order("vhp", func, inputs, v,
                                                             create_graph, strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad(jac, inputs, v, create_graph=create_graph)
        vh = _zeros_for_unused(grads, inputs, strict, create_graph, "double_back")
    return _finished(out, create_graph), _unpack(_finished(vh, create_graph), is_inputs_tuple)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(*inputs), H v)``: a Hessian-vector product of scalar-valued ``func`` (the same
    as :func:`vhp` for a twice continuously differentiable ``func``, whose Hessian is
    symmetric; computed with the double-backward trick, as in PyTorch).

    >>> import chainrule as cr
    >>> from chainrule.autograd.functional import hvp
    >>> hvp(lambda x: (x ** 3).sum(), cr.tensor([1.0, 2.0]), cr.tensor([1.0, 1.0]))
    (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, out, jac = _second_order("hvp", func, inputs, v,
                                                             create_graph, strict)
        # w -> H^T w = (d/dx)(g . w) is linear in w; its gradient with respect to w,
        # contracted with v, is H v
        ws = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(jac, inputs, ws, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        grads = _grad(double_back, ws, v, create_graph=create_graph)
        hv = _zeros_for_unused(grads, inputs, strict, create_graph, "double_back_trick")
    return _finished(out, create_graph), _unpack(_finished(hv, create_graph), is_inputs_tuple)
