"""How a function of :mod:`chainrule.scipy` chooses between SciPy and chainrule: SciPy's own
function when no argument is a Tensor (so that plain code gets SciPy's results, bit for
bit), chainrule's when one is (so that it records), with errors naming the function the user
called (``chainrule.scipy.special.logsumexp: ...``).

Each public function is a ``def`` with SciPy's signature in its own module (so that
``help()`` and the doctests find it there), whose body is one :func:`call`.
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule import ops
from chainrule.arguments import has_tensor
from chainrule.errors import renamed


def operand(x):
    """A Tensor, an ndarray or a Python number as it is (a number stays weakly typed, so that
    ``xlogy(t, 2.0)`` keeps a float32 ``t``'s precision); a list or tuple as one operand (its
    Tensors stacked, so that their gradients are kept)."""
    return ops.operand(x) if isinstance(x, (list, tuple)) else x


def call(called: str, scipy_func: Callable, tensor_func: Callable, *args, **kwargs):
    """``scipy_func(*args, **kwargs)`` when no argument is a Tensor, else ``tensor_func``'s,
    whose errors then name ``called`` (``chainrule.scipy.special.softmax``)."""
    if not (has_tensor(args) or has_tensor(kwargs.values())):
        return scipy_func(*args, **kwargs)
    try:
        return tensor_func(*args, **kwargs)
    except (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError) as err:
        # (the same traceback, which shows where it went wrong, under the called name)
        raise renamed(err, called).with_traceback(err.__traceback__) from None
