"""Helpers for the acceptance tests of PyTorch's autograd semantics, as chainrule promises them.

Those tests live in ``tests/engine/`` (leaves, backward and grad, grad mode, in-place changes,
broadcasting/dtypes/views, hooks) and ``tests/rules/test_special_points.py``. Each is one row
(or a few rows) of the behavioural specification ``/work/shared/reference/pytorch_autograd.md``,
following its "Appendix B" checklist; the row ID is in the test's name. Expected values are
written out in closed form; expected errors match PyTorch's exception type and the key phrase
of its message (the bold substrings of the spec). chainrule's messages add advice after that
phrase and print shapes as plain tuples ``(3,)`` where PyTorch prints ``torch.Size([3])``.

Where chainrule deliberately differs from PyTorch (the "Choices" section of README.md) the test
checks chainrule's documented behaviour and says so.

Rows about features chainrule does not have (anomaly detection, inference-mode tensors,
complex numbers, node pre-hooks, ``register_multi_grad_hook``) are left out; forward AD's rows
(§10.3) are in ``tests/transforms/test_forward_ad.py``.
"""

import numpy as np

import chainrule as cr


def vals(t):
    """The values of a tensor (requiring grad or not) as a float64 ndarray."""
    return np.asarray(t.tolist(), dtype=np.float64)


def R(data, dtype=None):
    """A leaf that requires grad (the spec's ``R(...)``): float32 unless ``dtype`` says so."""
    return cr.tensor(data, dtype=dtype, requires_grad=True)
