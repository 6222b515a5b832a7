"""Switching recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator, and the mode is per thread (a new thread
starts with recording on), as in PyTorch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chainrule.engine import grad_mode


class _GradModeSwitch:
    """Sets grad mode to ``self._mode`` inside a ``with`` block or a decorated function."""

    _mode = True

    def __new__(cls, func: Callable | None = None, *args, **kwargs):
        switch = super().__new__(cls)
        if func is not None and callable(func) and cls is not set_grad_enabled:
            switch.__init__()
            return switch(func)
        return switch

    def __init__(self, func: Callable | None = None) -> None:
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(grad_mode.enabled)
        grad_mode.enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = self._saved.pop()

    def __call__(self, func: Callable) -> Callable:
        mode = self._mode

        @functools.wraps(func)
        def run_with_mode(*args, **kwargs):
            saved = grad_mode.enabled
            grad_mode.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                grad_mode.enabled = saved

        return run_with_mode


class no_grad(_GradModeSwitch):
    """Do not record operations (results do not require grad).

    >>> import chainrule as cr
    >>> x = cr.ones(2, requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradModeSwitch):
    """Record operations again, e.g. inside a ``no_grad`` block.

    >>> import chainrule as cr
    >>> x = cr.ones(2, requires_grad=True)
    >>> with cr.no_grad(), cr.enable_grad():
    ...     (x * 2).requires_grad
    True
    """

    _mode = True


class inference_mode(_GradModeSwitch):
    """Like :class:`no_grad` (chainrule has no separate inference tensors)."""

    _mode = False

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self._mode = not mode


class set_grad_enabled(_GradModeSwitch):
    """Turn recording on or off: at once as a call, or for a ``with`` block.

    >>> import chainrule as cr
    >>> with cr.set_grad_enabled(False):
    ...     cr.is_grad_enabled()
    False
    >>> cr.is_grad_enabled()
    True
    """

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self._mode = bool(mode)
        self._previous = grad_mode.enabled
        grad_mode.enabled = self._mode

    def __enter__(self) -> None:
        self._saved.append(self._previous)
        grad_mode.enabled = self._mode

    def __call__(self, func: Callable) -> Callable:
        grad_mode.enabled = self._previous
        return super().__call__(func)
