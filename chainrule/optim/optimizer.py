"""The :class:`Optimizer` base class: parameter groups, ``zero_grad``, ``step(closure)`` and
``state_dict``/``load_state_dict`` in PyTorch's layout.

An optimiser holds ``param_groups`` (a list of dicts: ``'params'``, a list of tensors, and the
group's options) and ``state`` (a dict from parameter to its buffers).  Subclasses implement
``_update(group)``, which changes each parameter's array in place with NumPy (``out=``, into
the parameter's own storage) and bumps its version counter, as PyTorch's in-place updates do;
nothing is recorded.  ``state_dict()`` names parameters by their index, counted across groups
in order, so that a state saved by PyTorch (its tensors turned into arrays) loads here.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.creation import tensor as _as_tensor
from chainrule.grad_mode import enable_grad, no_grad
from chainrule.tensor import Tensor


def array_of(t: Tensor) -> np.ndarray:
    """The ndarray that holds ``t``'s values (shared, so that writing into it changes ``t``)."""
    return t.detach().numpy()


def mark_changed(p: Tensor) -> None:
    """Bump ``p``'s version counter after its array was written in place (PyTorch bumps it
    on every in-place update, so a graph that saved ``p`` refuses to use the new values)."""
    p._bump_version()


def signed_decayed(opt: Optimizer, x: np.ndarray, g: np.ndarray, maximize: bool,
                   wd: float) -> np.ndarray:
    """``(+-g) + wd * x`` in the optimiser's first scratch array."""
    d = opt._scratch.get(x)
    if maximize:
        np.negative(g, out=d)
    else:
        np.copyto(d, g)
    if wd != 0:
        s = opt._scratch.get(x, 1)
        np.multiply(x, wd, out=s)
        d += s
    return d


def square_average(v: np.ndarray, d: np.ndarray, rho: float, scratch: np.ndarray) -> None:
    """``v <- rho v + (1 - rho) d^2`` in place (``scratch``: an array of ``v``'s shape)."""
    v *= rho
    np.multiply(d, d, out=scratch)
    scratch *= 1 - rho
    v += scratch


def check_nonnegative(what: str, value: float, where: str) -> None:
    """PyTorch's check of an option that must be >= 0 (``Invalid learning rate: -1``), saying
    which optimiser was given it."""
    if not value >= 0.0:
        raise ValueError(f"Invalid {what}: {value} (given to {where}; it must be >= 0)")


class Scratch:
    """Work arrays reused across parameters and steps, one set per (shape, dtype), so that an
    update needs no new array the size of a parameter."""

    def __init__(self) -> None:
        self._arrays: dict = {}

    def get(self, like: np.ndarray, k: int = 0) -> np.ndarray:
        key = (like.shape, like.dtype, k)
        out = self._arrays.get(key)
        if out is None:
            out = self._arrays[key] = np.empty(like.shape, like.dtype)
        return out


def _to_state_value(value: Any, like: Tensor | None) -> Any:
    """A loaded state value as a Tensor: arrays and foreign tensors (PyTorch's, through
    ``__array__``) are converted; buffers take the parameter's dtype (``step`` keeps its own),
    as PyTorch casts them."""
    if isinstance(value, Tensor):
        arr = value.detach().numpy()
    elif isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        arr = np.asarray(value)
    else:
        return value
    if like is not None:
        arr = arr.astype(like.dtype)
    return _as_tensor(np.array(arr, copy=True))


class Optimizer:
    """Base class of all optimisers (PyTorch's ``torch.optim.Optimizer``).

    ``params`` is an iterable of Tensors, or of dicts each with ``'params'`` and the options of
    that group (the others come from ``defaults``).

    >>> import chainrule as cr
    >>> w, b = cr.ones(2, requires_grad=True), cr.zeros(1, requires_grad=True)
    >>> opt = cr.optim.SGD([{'params': [w]}, {'params': [b], 'lr': 0.5}], lr=0.1)
    >>> [g['lr'] for g in opt.param_groups]
    [0.1, 0.5]
    >>> opt.state_dict()['param_groups'][1]['params']
    [1]
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch = Scratch()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'`` and its own options), e.g. to
        train layers unfrozen part-way through training."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(param).__module__}.{type(param).__qualname__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (detach() it, or optimize "
                                 "the leaf it was computed from)")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        check_nonnegative("learning rate", param_group.get("lr", 0.0),
                          f"{type(self).__name__}'s parameter group")
        params = param_group["params"]
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    array_of(g)[...] = 0
                    mark_changed(g)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once.  ``closure`` (optional) recomputes
        the loss with gradients enabled and returns it; ``step`` returns its result."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state in PyTorch's layout: ``{'state': {index: {name: value}},
        'param_groups': [{..options.., 'params': [indices]}]}``; indices count the parameters
        across groups in order.  Buffers are the optimiser's own tensors (not copies)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state made by :meth:`state_dict` (here, or by PyTorch: its tensors, or
        arrays, are copied into chainrule tensors, buffers with their parameter's dtype)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})")
        for ours, theirs in zip(self.param_groups, saved_groups):
            if len(ours["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(theirs['params'])} "
                                 f"parameters saved, {len(ours['params'])} here)")
        by_index = {}
        for ours, theirs in zip(self.param_groups, saved_groups):
            for p, i in zip(ours["params"], theirs["params"]):
                by_index[i] = p
        self.state = defaultdict(dict)
        for i, saved in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                continue
            self.state[p] = {k: _to_state_value(v, None if k == "step" else p)
                             for k, v in saved.items()}
        new_groups = []
        for ours, theirs in zip(self.param_groups, saved_groups):
            group = {k: v for k, v in theirs.items() if k != "params"}
            group["params"] = ours["params"]
            new_groups.append(group)
        self.param_groups = new_groups

    # helpers for subclasses ----------------------------------------------------------------

    def _state_of(self, p: Tensor) -> dict[str, Any]:
        return self.state.setdefault(p, {})

    @staticmethod
    def _new_step() -> Tensor:
        """A fresh step count, a 0-d float32 tensor (as PyTorch keeps it)."""
        return _as_tensor(np.array(0.0, np.float32))

    @staticmethod
    def _advance(state: dict[str, Any]) -> float:
        """Add one to ``state['step']`` in place and return its new value."""
        step = array_of(state["step"])
        step += 1
        mark_changed(state["step"])
        return float(step)

    @staticmethod
    def _zeros_like(p: Tensor, fill: float = 0.0) -> Tensor:
        return _as_tensor(np.full(p.shape, fill, dtype=p.dtype))
