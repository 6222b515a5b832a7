"""Calling a Module as a function of its parameters: ``functional_call`` and
``stack_module_state``, as in ``torch.func``.

``functional_call(model, params, (x,))`` runs ``model(x)`` with each named parameter or buffer
of ``model`` replaced by the tensor of that name in ``params`` for that one call, so a loss can
be written as a function of a dict of tensors and handed to the transforms:
``grad(lambda p: loss(functional_call(model, p, (x,))))(params)`` differentiates with respect
to the dict, and ``vmap(..., in_axes=(None, 0, 0))`` gives per-example gradients.

Where it lives: the transforms (``chainrule.func``) are a low layer that ``chainrule.nn`` never
imports, and ``nn`` is a higher one, so this file asks nothing of ``nn``.  It uses only the
Module interface that PyTorch's ``functional_call`` uses too (``named_parameters``,
``named_buffers``, ``get_submodule`` and the ``_parameters``/``_buffers`` tables that
``Module.__getattr__`` reads), and both ``chainrule.func`` and ``chainrule.nn.utils.stateless``
export it from here.  Writing into those tables (rather than ``setattr``) keeps the
registration order, so ``named_parameters`` is unchanged after the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from chainrule import tracing
from chainrule.functions import stack
from chainrule.tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()  # an attribute the module did not have before the call


def functional_call(module, parameter_and_buffer_dicts, args: Any = None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced, for this call
    only, by the tensors of the same (dotted) names in ``parameter_and_buffer_dicts`` (a dict,
    or a list or tuple of dicts with distinct keys).  Names not given keep the module's own
    tensors.  ``args`` that is not a tuple is one argument.  With ``tie_weights``, a tensor
    given for one of several names that share one parameter replaces it under all of them; with
    ``strict``, the names must be exactly the module's.  The module is restored afterwards, also
    when the call raises.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> from chainrule.func import functional_call, grad
    >>> model = nn.Linear(2, 1)
    >>> params = {"weight": cr.tensor([[1.0, 2.0]]), "bias": cr.tensor([0.5])}
    >>> functional_call(model, params, (cr.tensor([3.0, 4.0]),))
    tensor([11.5000])
    >>> grad(lambda p: functional_call(model, p, cr.tensor([3.0, 4.0])).sum())(params)["weight"]
    tensor([[3., 4.]])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        given = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, Sequence) and \
            not isinstance(parameter_and_buffer_dicts, str):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        given = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    for name, value in given.items():
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for {name!r} is a "
                            f"{type(value).__name__}; pass tensors (chainrule.tensor(...))")
    if tie_weights:
        given = _untied(module, given)
    if strict:
        _check_keys(module, given)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrized(module, given):
        return module(*args, **(kwargs or {}))


def _named_tensors(module) -> dict:
    """Every parameter and buffer by dotted name, a shared one under each of its names."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untied(module, given: dict) -> dict:
    """``given`` with a value for every name of a tied (shared) tensor one of whose names has
    a value; two different values for one tied tensor are an error, as in PyTorch."""
    names_of: dict[int, list] = {}
    for name, t in _named_tensors(module).items():
        names_of.setdefault(id(t), []).append(name)
    out = dict(given)
    for names in names_of.values():
        if len(names) < 2:
            continue
        values = [given[n] for n in names if n in given]
        if not values:
            continue
        if any(v is not values[0] for v in values[1:]):
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
        out.update(dict.fromkeys(names, values[0]))
    return out


def _check_keys(module, given: dict) -> None:
    """PyTorch's ``strict`` error: names the module does not have, and names it has that are
    not given."""
    own = set(_named_tensors(module))
    unexpected = sorted(set(given) - own)
    missing = sorted(own - set(given))
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            module._get_name(), "\n\t".join(errors)))


def _swap(module, name: str, value):
    """Put ``value`` under ``name`` (dotted) in ``module``; return what was there."""
    prefix, _, attr = name.rpartition(".")
    owner = module.get_submodule(prefix)
    if tracing.active[0] is not None:  # (compile: the owner's state before the swap)
        tracing.module_used(owner)
    for table in (owner._parameters, owner._buffers):
        if attr in table:
            old, table[attr] = table[attr], value
            owner._changed()
            return old
    old = getattr(owner, attr, _MISSING)
    if value is _MISSING:
        delattr(owner, attr)
    else:
        object.__setattr__(owner, attr, value)
        owner._changed()
    return old


@contextmanager
def _reparametrized(module, given: dict):
    """``module`` with ``given`` swapped in, and the originals swapped back on the way out."""
    originals = []
    try:
        for name, value in given.items():
            originals.append((name, _swap(module, name, value)))
        yield
    finally:
        for name, old in reversed(originals):
            _swap(module, name, old)


def stack_module_state(models) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(params, buffers)``: each parameter and buffer of ``models`` (modules of one class, in
    one training mode) stacked over the models along a new axis 0, by name; for
    :func:`functional_call` under ``vmap`` (an ensemble).  Stacked parameters are new leaves,
    requiring grad when the models' do.

    >>> from chainrule import nn
    >>> from chainrule.func import stack_module_state
    >>> params, buffers = stack_module_state([nn.Linear(3, 2) for _ in range(4)])
    >>> tuple(params["weight"].shape), params["weight"].requires_grad, buffers
    ((4, 2, 3), True, {})
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({bool(m.training) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    params = [dict(m.named_parameters()) for m in models]
    buffers = [dict(m.named_buffers()) for m in models]
    return ({k: _stacked_leaf([p[k] for p in params], k) for k in params[0]},
            {k: _stacked_leaf([b[k] for b in buffers], k) for k in buffers[0]})


def _stacked_leaf(tensors: list, name: str) -> Tensor:
    grads = {bool(t.requires_grad) for t in tensors}
    if len(grads) > 1:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    out = stack([t.detach() for t in tensors])
    return out.requires_grad_() if grads == {True} else out
