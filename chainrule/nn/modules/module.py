"""``chainrule.nn.Module``: the base class of layers, with PyTorch's API.

A module keeps its parameters, buffers and submodules in three ordered dicts
(``_parameters``, ``_buffers``, ``_modules``) filled by ``__setattr__`` when a
:class:`~chainrule.nn.Parameter`, a Module or a registered buffer is assigned, so that
``named_parameters`` walks them in the order they were assigned, with PyTorch's dotted names
(``0.weight``, ``layers.1.bias``).  ``__call__`` runs the forward pre-hooks, ``forward`` and
the forward hooks.  ``state_dict`` maps those names to detached tensors (parameters, then the
persistent buffers, module by module); ``load_state_dict`` copies Tensors or ndarrays into them
in place and returns PyTorch's ``(missing_keys, unexpected_keys)`` pair.

>>> import chainrule as cr
>>> from chainrule import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = nn.Linear(2, 3)
...         self.out = nn.Linear(3, 1)
...     def forward(self, x):
...         return self.out(cr.relu(self.hidden(x)))
>>> net = Net()
>>> [name for name, _ in net.named_parameters()]
['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
>>> net
Net(
  (hidden): Linear(in_features=2, out_features=3, bias=True)
  (out): Linear(in_features=3, out_features=1, bias=True)
)
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import tracing
from chainrule.arguments import check_device
from chainrule.errors import size_text
from chainrule.grad_mode import no_grad
from chainrule.nn.parameter import Parameter
from chainrule.tensor import FLOAT_DTYPES, Tensor

__all__ = ["Module", "RemovableHandle"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``)."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """What the ``register_*_hook`` methods return: ``remove()`` takes the hook out again."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (PyTorch's nested repr)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


_SCALARS = (bool, int, float, complex, str, type(None))
_ABSENT = object()


class _Identity:
    """A function or an array attribute compared by identity, held weakly where it can be
    (a plan keeps no object of the module's alive)."""

    __slots__ = ("ref",)

    def __init__(self, value) -> None:
        try:
            self.ref = weakref.ref(value)
        except TypeError:  # (a built-in function: lives as long as its module)
            self.ref = lambda: value

    def __eq__(self, other) -> bool:
        return type(other) is _Identity and other.ref() is self.ref() is not None

    __hash__ = None


def _plain(value):
    """A module's attribute as a compiled call takes it, a constant of its plan: a plain one
    (a number, a string, None, a NumPy scalar, a tuple of those) by its type and text (``1``
    is not ``1.0``, ``-0.0`` is not ``0.0``, and ``nan`` is ``nan``); a function or an array
    (an unregistered tensor) by identity; any other value not at all (an object the forward
    may not read, replaced at each step, would make each call trace again)."""
    kind = type(value)
    if kind in _SCALARS or isinstance(value, np.generic):
        return kind, repr(value)
    if kind is tuple and all(type(v) in _SCALARS or isinstance(v, np.generic) for v in value):
        return kind, repr(value)
    if callable(value) and not isinstance(value, Module) or isinstance(value, (Tensor,
                                                                               np.ndarray)):
        return _Identity(value)
    return None


class Module:
    """Base class for all neural network modules, as ``torch.nn.Module``.

    Subclasses call ``super().__init__()`` first, assign layers and Parameters as attributes
    and define ``forward``; calling the module calls ``forward`` with the hooks around it.
    """

    training: bool
    _version = 1

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_changes", [0])  # (a list: no plain attribute itself)
        if tracing.active[0] is not None:  # (compile: one made inside may be set up freely)
            tracing.module_made(self)

    # ----------------------------------------------------------------------------------------
    # calling

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        if tracing.active[0] is not None:
            tracing.module_used(self)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def _call_state(self) -> tuple:
        """What a call of this module depends on besides its arguments and its tensors'
        values (``chainrule.compile`` checks it before a replay): its attributes as
        :func:`_plain` takes them (the ``training`` flag, a ``negative_slope`` or a
        convolution's ``padding`` by type and text, functions and arrays by identity), and its
        :meth:`_call_stamp` but for the count of changes."""
        return (tuple(map(_plain, self.__dict__.values())), self._call_stamp()[1:])

    def _call_stamp(self) -> tuple:
        """A quick stand-in for :meth:`_call_state`: the count of changes made through the
        module (attributes set or deleted, parameters, buffers and submodules registered),
        which parameters, buffers and submodules it holds (also when its tables were written
        directly), and its forward hooks.  The same stamp means the same state, unless an
        attribute was written around ``setattr`` (``module.__dict__``)."""
        changes = self.__dict__.get("_changes")  # (a module unpickled from before: None)
        return (changes and changes[0], tuple(map(id, self._parameters.values())),
                tuple(map(id, self._buffers.values())), tuple(map(id, self._modules.values())),
                tuple(self._forward_pre_hooks), tuple(self._forward_hooks))

    def _changed(self) -> None:
        """Count a change of this module's state (see :meth:`_call_stamp`)."""
        changes = self.__dict__.get("_changes")
        if changes is None:  # (before __init__ ran)
            self.__dict__["_changes"] = [1]
        else:
            changes[0] += 1

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False
                                  ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; a result other than None
        replaces the positional arguments (a non-tuple is wrapped into one)."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; a result other than
        None replaces the output."""
        return self._add_hook(self._forward_hooks, hook, prepend)

    @staticmethod
    def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"register hook: expected a callable, got {type(hook).__name__}")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # ----------------------------------------------------------------------------------------
    # registration

    def __setattr__(self, name: str, value: Any) -> None:
        if tracing.active[0] is not None and not self._holds(name, value):  # (compile)
            tracing.module_set(self, f"{type(self).__name__}.{name} set")
        self._changed()
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if self.__dict__.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = value
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _holds(self, name: str, value: Any) -> bool:
        """Whether attribute ``name`` is already ``value`` (the same object, or an equal plain
        value of the same type)."""
        current = getattr(self, name, _ABSENT)
        return current is value or _plain(current) == _plain(value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            self.__dict__[table].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if tracing.active[0] is not None:
            tracing.module_set(self, f"{type(self).__name__}.{name} deleted")
        self._changed()
        for table in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(table, ()):
                del self.__dict__[table][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, kind: str, name) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter, or None for a parameter that is absent) as ``name``."""
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and param._node is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             "parameters must be created explicitly. To express '"
                             f"{name}' as a function of another Tensor, compute the value in "
                             "the forward() method.")
        self._parameters[name] = param
        self._changed()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add ``tensor`` as buffer ``name``: state that is not a parameter (running
        statistics); a persistent buffer is part of ``state_dict``."""
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        self._changed()
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add ``module`` as the submodule ``name`` (as assigning the attribute does)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module
        self._changed()

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``''`` is the module itself)."""
        mod = self
        for item in target.split(".") if target else ():
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{mod._get_name()} has no parameter `{name}`")
        return mod._parameters[name]

    # ----------------------------------------------------------------------------------------
    # walking

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every submodule (each once), with dotted names, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their names (each once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and value in seen):
                    continue
                if remove_duplicate:
                    seen.add(value)
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Each parameter with its dotted name (``0.weight``), in registration order; a
        parameter shared by two modules comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Each parameter, in the order of :meth:`named_parameters`."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Each buffer with its dotted name."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Each buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------------------------------
    # modes and gradients

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``Dropout`` drops) on this module and every submodule."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (the default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.grad._data))

    # ----------------------------------------------------------------------------------------
    # dtypes

    def to(self, *args, **kwargs) -> Module:
        """Convert the floating-point parameters and buffers to a dtype, in place (the same
        Parameter objects keep the new values): ``to(dtype)``, ``to(device)`` (only
        ``'cpu'`` exists), ``to(device, dtype)``, ``to(tensor)`` (its dtype)."""
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError("Module.to() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or a is None or type(a).__name__ == "device":
                device = a
            else:
                dtype = a
        check_device("Module.to", device)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES and dtype.kind != "c":
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dtype}")
        return self._cast(dtype)

    def _cast(self, dtype: np.dtype) -> Module:
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for t in table.values():
                    if t is not None and (t.dtype.kind in "fc"):
                        t.data = t._data.astype(dtype)
                        if t.grad is not None:
                            t.grad = Tensor(t.grad._data.astype(dtype))
        return self

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64."""
        return self._cast(np.dtype(np.float64))

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self._cast(np.dtype(np.float32))

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self._cast(np.dtype(np.float16))

    def cpu(self) -> Module:
        """This module (everything lives in CPU memory)."""
        return self

    def cuda(self, device=None) -> Module:
        """Refused: there is no GPU here (PyTorch's ``Module.cuda`` moves the parameters to
        one); the error says to leave the module on the CPU."""
        raise RuntimeError("Module.cuda: chainrule computes with NumPy on the CPU only; leave "
                           "the module where it is (or call .cpu())")

    # ----------------------------------------------------------------------------------------
    # state

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """The parameters and persistent buffers by dotted name, as tensors sharing storage
        (detached unless ``keep_vars``)."""
        out = OrderedDict() if destination is None else destination
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            dot = module_prefix + ("." if module_prefix else "")
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` (name to Tensor or ndarray, as a PyTorch module's
        ``state_dict()`` or ``{k: v.numpy()}`` of one) into the parameters and buffers, in
        place.  Returns ``(missing_keys, unexpected_keys)``; with ``strict`` (the default)
        either being non-empty is an error, and so is a shape mismatch always."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        for name, module in self.named_modules():
            module._materialize_for_load(name + "." if name else "", state_dict)
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        errors = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _values_of(state_dict[key])
            if value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{size_text(value)} from checkpoint, the shape in current model is "
                              f"{size_text(target)}.")
                continue
            if assign:
                target.data = np.array(value, copy=True)
            else:
                with no_grad():
                    target._ensure_array()
                    np.copyto(target._data, value, casting="unsafe")
                    target._bump_version()
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    def _materialize_for_load(self, prefix: str, state_dict) -> None:
        """Give the parameters that a lazy module has not shaped yet the shapes of their
        values in ``state_dict`` (PyTorch's ``LazyModuleMixin`` load hook); other modules
        have none, and do nothing."""

    # ----------------------------------------------------------------------------------------
    # printing

    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The module's own settings for its repr (``in_features=2, ...``); '' by default."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return self._get_name() + "(" + body + ")"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _type_name(value) -> str:
    if isinstance(value, Tensor):
        return "torch." + {"float32": "Float", "float64": "Double", "int64": "Long",
                           "float16": "Half", "bool": "Bool", "int32": "Int"}.get(
            value.dtype.name, value.dtype.name) + "Tensor"
    return type(value).__module__ + "." + type(value).__qualname__ \
        if type(value).__module__ != "builtins" else type(value).__name__


def _values_of(value) -> np.ndarray:
    """The ndarray of a state-dict entry: a chainrule Tensor, an ndarray, or anything with
    ``.numpy()`` (a PyTorch tensor)."""
    if isinstance(value, Tensor):
        value._ensure_array()
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
