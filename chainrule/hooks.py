"""Tensor hooks, and the convention of the complex gradients the user sees.

Inside the engine, the gradient of a real loss at ``z = x + iy`` follows JAX's convention,
``dL/dx - i dL/dy``, for which every rule of a holomorphic function is the real one
(``chainrule/rules/elementwise.py``).  PyTorch's API shows its conjugate, ``dL/dx + i dL/dy``:
the backward walk converts with :func:`to_pytorch_convention` where gradients reach hooks and
``.grad``, and ``chainrule/gradient.py`` where seeds enter and results leave.
"""

from __future__ import annotations

import numpy as np

from chainrule import tracing
from chainrule.rules.elementwise import conj
from chainrule.sparse import SparseGrad
from chainrule.tensor_base import TensorBase, new_tensor


def to_pytorch_convention(g):
    """A gradient between the engine's convention and PyTorch's (either way: the same map).

    For a real loss L of z = x + iy, PyTorch's gradient is dL/dx + i dL/dy and the engine's
    (JAX's) is its conjugate; real gradients are the same in both.
    """
    if g is None or g.dtype.kind != "c":
        return g
    if type(g) is SparseGrad:
        g = g.dense()
    return conj(g)


def run_hooks(hooks, g, create_graph: bool, is_owned: bool, tensor_cls: type):
    """Call tensor hooks in registration order; a hook's return value replaces the gradient.
    Hooks see PyTorch's convention for complex gradients (:func:`to_pytorch_convention`).

    A gradient the engine did not allocate may be someone's array (``(x * y)``'s gradient for
    ``x`` can be ``y`` itself): hooks then get it read-only, so that changing it in place
    raises instead of changing ``y``.
    """
    if tracing.active[0] is not None:  # (compile: what a hook does is not replayed)
        tracing.escaped("a gradient hook in a backward pass")
    complex_valued = g.dtype.kind == "c"
    if complex_valued:
        g = to_pytorch_convention(g)
    elif not (is_owned or create_graph) and type(g) is np.ndarray and g.flags.writeable:
        g = g.view()
        g.flags.writeable = False
    gt = g if isinstance(g, TensorBase) else new_tensor(tensor_cls, g)
    for hook in hooks:
        result = hook(gt)
        if result is None:
            continue
        if not isinstance(result, TensorBase):
            raise TypeError(f"hook {_hook_name(hook)!r} returned {type(result).__name__}; "
                            "a tensor hook must return a Tensor or None")
        if result.shape != gt.shape:
            raise RuntimeError(f"hook {_hook_name(hook)!r} has changed the size of value: "
                               f"was {gt.shape}, got {result.shape}")
        if result.dtype != gt.dtype:
            raise RuntimeError(f"hook {_hook_name(hook)!r} has changed the type of value "
                               f"(was {gt.dtype} got {result.dtype})")
        gt = result
    if complex_valued:
        gt = to_pytorch_convention(gt)
    return gt if create_graph or gt._batched else gt._data  # (a batched one: vmap)


def _hook_name(hook) -> str:
    return getattr(hook, "__name__", type(hook).__name__)
