"""MXNet's ``mxnet.numpy`` front end on chainrule: ``from chainrule.compat.mxnet import autograd,
np, npx``.

This speaks the dialect of MXNet 1.9 in ``npx.set_np()`` mode, as the MXNet tab of d2l's
"Automatic Differentiation" chapter uses it: arrays are float32 unless told otherwise (even
``np.arange(4)``), ``x.attach_grad()`` gives ``x`` a zero gradient buffer, operations are
recorded only inside ``autograd.record()``, ``y.backward()`` sums a non-scalar ``y`` and
overwrites (``grad_req='write'``) or adds to (``'add'``) each variable's buffer, and a graph is
freed after one backward pass unless ``retain_graph=True``.  Arrays print as MXNet prints them
(``array([0., 1., 2., 3.])``), and MXNet's errors are :class:`MXNetError`, a ``RuntimeError``.

>>> from chainrule.compat.mxnet import autograd, np, npx
>>> npx.set_np()
>>> x = np.arange(4.0)
>>> x.attach_grad()
>>> x.grad
array([0., 0., 0., 0.])
>>> with autograd.record():
...     y = 2 * np.dot(x, x)
>>> y
array(28.)
>>> y.backward()
>>> x.grad
array([ 0.,  4.,  8., 12.])

Design: a thin client of chainrule's public API.  ``ndarray`` *holds* a chainrule Tensor
rather than subclassing it.  Holding keeps the two dialects apart: a Tensor's PyTorch
behaviour (``.grad`` that is None and accumulates, ``requires_grad_``, ``grad_fn`` in the repr,
recording whenever an input requires grad) would otherwise leak into MXNet code, and chainrule's
operations return plain Tensors, so a subclass would have to re-wrap every result anyway.  The
wrapper adds what MXNet has and PyTorch has not: the gradient buffer and its ``grad_req``.

How MXNet's model maps onto chainrule's:

- ``attach_grad`` makes the held Tensor a fresh leaf that requires grad (detaching it, which
  is MXNet's "attach inside record cuts the history") and allocates a zero NumPy buffer; the
  array joins a weak registry of variables.
- Every operation runs under ``chainrule.enable_grad()`` inside ``record()`` and under
  ``chainrule.no_grad()`` outside it, so nothing is recorded outside ``record()`` even though
  the variables' Tensors require grad.
- ``backward`` asks ``chainrule.autograd.grad`` for the gradient w.r.t. every registered
  variable (``allow_unused=True``: the variables the heads do not reach keep their buffers
  untouched), then writes or adds into the buffers.  Non-scalar heads get a head gradient of
  ones.
- chainrule frees saved values, but a graph that saves none (``y = x.sum()``) could be walked
  twice; MXNet frees the whole graph.  So after a backward pass without ``retain_graph`` the
  nodes reachable from the heads (through the public ``grad_fn.next_functions``) are marked
  freed, and a later backward through any of them raises MXNet's error.
- In-place writes (``x[:] = ...``, ``+=``) inside ``record()`` on an array in a graph raise
  MXNet's error; outside ``record()`` they go through ``Tensor.data`` (same memory, no version
  bump), because MXNet does not check saved values for in-place changes.

What chainrule's public API could not give directly: a way to free a whole graph (done with the
freed-node set above) and gradients for integer arrays (chainrule refuses ``requires_grad`` on
them, as PyTorch does: ``attach_grad`` on an int array gives a zero buffer that stays zero).
"""

from __future__ import annotations

import operator
import threading
import types
import weakref

import numpy as onp

import chainrule as cr
import chainrule.numpy as cnp

__all__ = ["autograd", "np", "npx", "ndarray", "MXNetError"]


class MXNetError(RuntimeError):
    """MXNet's error class (``mxnet.base.MXNetError``), a ``RuntimeError``."""


# The last line of MXNet 1.9.1's messages, verbatim (its formatter turns "::" into ": :")
NOT_IN_GRAPH = (
    "Check failed: !AGInfo: :IsNone(*i): Cannot differentiate node because it is not in a "
    "computational graph. You need to set is_recording to true or use autograd.record() to "
    "save computational graphs for backward. If you want to differentiate the same graph "
    "twice, you need to pass retain_graph=True to backward."
)
NO_INPUTS = ("Check failed: xs.size() > 0 (0 vs. 0) : There are no inputs in computation "
             "graph that require gradients.")
ASSIGN_IN_GRAPH = (
    "Check failed: AGInfo: :IsNone(*output): Assigning to NDArrays that are already in a "
    "computational graph will cause undefined behavior when evaluating gradients. Please call "
    "backward first to clear the graph or do this out side of a record section. Also note that "
    "you cannot use inplace operations like +=, *=, relu(x, out=x), y[idx]=x, etc inside a "
    "record section."
)
GRAD_REQS = ("write", "add", "null")


# --------------------------------------------------------------------------------------------
# state: MXNet's recording and training flags (per thread), the variables, the freed graphs


class _State(threading.local):
    recording = False
    training = False


_state = _State()
_np_mode = {"shape": False, "array": False}
# arrays with attach_grad(), by id (a WeakSet would compare arrays with ==, elementwise)
_variables: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_freed: weakref.WeakSet = weakref.WeakSet()  # grad_fn nodes of graphs already differentiated


def _mode():
    """chainrule's grad mode for an operation: record only inside ``autograd.record()``."""
    return cr.set_grad_enabled(_state.recording)


def _unwrap(value):
    if isinstance(value, ndarray):
        return value._tensor
    if isinstance(value, (list, tuple)) and any(isinstance(v, ndarray) for v in value):
        return type(value)(_unwrap(v) for v in value)
    return value


def _wrap(value):
    if isinstance(value, cr.Tensor):
        return ndarray(value)
    if isinstance(value, (onp.ndarray, onp.generic)):
        return ndarray(cr.from_numpy(onp.array(value)))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _apply(func, *args, **kwargs):
    """``func`` (a chainrule or operator function) on the Tensors behind ``args``, wrapped."""
    args = [_unwrap(a) for a in args]
    kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
    with _mode(), onp.errstate(all="ignore"):  # MXNet does not warn about inf and nan
        return _wrap(func(*args, **kwargs))


def _as_array(value, dtype=None) -> ndarray:
    return value if isinstance(value, ndarray) and dtype is None else array(value, dtype)


def _binary(op, name: str, reflected: bool = False):
    if reflected:
        def method(self, other):
            return _apply(op, other, self)
    else:
        def method(self, other):
            return _apply(op, self, other)
    method.__name__ = method.__qualname__ = name
    return method


def _inplace_operator(op, name: str):
    def method(self, other):
        return self._inplace(op, other)
    method.__name__ = method.__qualname__ = name
    return method


# --------------------------------------------------------------------------------------------
# the array


class ndarray:  # noqa: N801  (MXNet's name)
    """MXNet's ``mxnet.numpy.ndarray``: a chainrule Tensor plus a gradient buffer.

    Create arrays with ``np.array``, ``np.arange``, ``np.ones`` ...; ``ndarray(tensor)`` wraps a
    chainrule Tensor (sharing its memory).
    """

    __slots__ = ("_tensor", "_grad", "_grad_req", "__weakref__")

    # NumPy defers to our reflected operators (numpy_array * ndarray -> ndarray.__rmul__)
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, tensor: cr.Tensor) -> None:
        if not isinstance(tensor, cr.Tensor):
            raise TypeError("ndarray(tensor) wraps a chainrule Tensor; create arrays with "
                            "np.array(...), np.zeros(...) or np.arange(...)")
        self._tensor = tensor
        self._grad = None  # the gradient buffer (a NumPy array), once attached
        self._grad_req = None

    # ----------------------------------------------------------------------------------------
    # autograd

    def attach_grad(self, grad_req: str = "write", stype=None) -> None:
        """Allocate a zero gradient buffer and mark this array as a variable.

        ``grad_req``: ``'write'`` (each backward overwrites ``.grad``), ``'add'`` (accumulates)
        or ``'null'`` (no gradient).  Inside ``record()``, the array's history is cut: it
        becomes a new leaf.
        """
        if grad_req not in GRAD_REQS:
            raise ValueError(f"attach_grad: grad_req must be one of {GRAD_REQS}, got "
                             f"{grad_req!r}")
        if stype not in (None, "default"):
            raise NotImplementedError("attach_grad: only dense gradients (stype=None)")
        self._mark(onp.zeros(self.shape, self.dtype), grad_req)

    def _mark(self, buffer: onp.ndarray, grad_req: str) -> None:
        t = self._tensor
        if t.is_floating_point() and not (t.is_leaf and t.requires_grad):
            t = t.detach().requires_grad_(True)  # shares memory with the old value
        self._tensor = t
        self._grad, self._grad_req = buffer, grad_req
        _variables[id(self)] = self

    @property
    def grad(self) -> ndarray | None:
        """The gradient buffer (None before ``attach_grad``); it shares memory with the buffer,
        so ``x.grad[:] = 0`` resets it."""
        return None if self._grad is None else ndarray(cr.from_numpy(self._grad))

    def backward(self, out_grad=None, retain_graph: bool = False, train_mode: bool = True) -> None:
        """Write the gradient of this array (of its sum if non-scalar, or the vector-Jacobian
        product with ``out_grad``) into the ``.grad`` of the variables it depends on."""
        autograd.backward(self, out_grad, retain_graph=retain_graph, train_mode=train_mode)

    def detach(self) -> ndarray:
        """The same values (shared memory), out of the computational graph."""
        return ndarray(self._tensor.detach())

    def copy(self) -> ndarray:
        """A copy (recorded inside ``record()``), with no gradient attached."""
        return _apply(cr.clone, self)

    def asnumpy(self) -> onp.ndarray:
        """A NumPy copy of the values."""
        return onp.array(self._tensor.detach().numpy())

    def as_np_ndarray(self) -> ndarray:
        """This array itself (it is already an ``mxnet.numpy`` array)."""
        return self

    def wait_to_read(self) -> None:
        """MXNet computes asynchronously; chainrule does not, so there is nothing to wait for."""

    wait_to_write = wait_to_read

    def item(self):
        """The value of a one-element array as a Python number."""
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.asnumpy().item()

    def tolist(self):
        """The values as a (nested) Python list."""
        return self.asnumpy().tolist()

    def __array__(self, dtype=None, copy=None) -> onp.ndarray:
        arr = self.asnumpy()
        return arr if dtype is None else arr.astype(dtype)

    # ----------------------------------------------------------------------------------------
    # shape and dtype

    shape = property(lambda self: self._tensor.shape, doc="The shape, a tuple of ints.")
    dtype = property(lambda self: self._tensor.dtype, doc="The NumPy dtype.")
    ndim = property(lambda self: self._tensor.ndim, doc="The number of dimensions.")
    size = property(lambda self: self._tensor.numel(), doc="The number of elements.")
    T = property(lambda self: self.transpose(), doc="The transpose.")
    ctx = context = property(lambda self: "cpu(0)", doc="Always the CPU.")

    def astype(self, dtype, copy: bool = True) -> ndarray:
        """A copy cast to ``dtype``; ``copy=False`` gives this array if it has that dtype."""
        if not copy and onp.dtype(dtype) == self.dtype:
            return self
        return _apply(lambda t: t.to(onp.dtype(dtype)), self)

    def reshape(self, *shape, order: str = "C") -> ndarray:
        """The same values in shape ``shape`` (ints, or one tuple)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _apply(cnp.reshape, self, shape, order=order)

    def transpose(self, *axes) -> ndarray:
        """The axes permuted by ``axes`` (ints, or one tuple; reversed by default)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _apply(cnp.transpose, self, axes or None)

    def flatten(self) -> ndarray:
        """The values as a 1-d array (``reshape(-1)``)."""
        return self.reshape(-1)

    def squeeze(self, axis=None) -> ndarray:
        """The array without its length-1 axes (only ``axis``, if given)."""
        return _apply(cnp.squeeze, self, axis)

    # reductions
    def sum(self, axis=None, dtype=None, out=None, keepdims: bool = False) -> ndarray:
        """Sum over ``axis`` (all axes by default); ``out`` is ignored."""
        return _apply(cnp.sum, self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims: bool = False) -> ndarray:
        """Mean over ``axis`` (all axes by default); ``out`` is ignored."""
        return _apply(cnp.mean, self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims: bool = False) -> ndarray:
        """Product over ``axis`` (all axes by default); ``out`` is ignored."""
        return _apply(cnp.prod, self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims: bool = False) -> ndarray:
        """Maximum over ``axis`` (all axes by default); ``out`` is ignored."""
        return _apply(cnp.max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims: bool = False) -> ndarray:
        """Minimum over ``axis`` (all axes by default); ``out`` is ignored."""
        return _apply(cnp.min, self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None) -> ndarray:
        """Indices of the maxima along ``axis`` (in the flattened array by default)."""
        return _apply(cnp.argmax, self, axis=axis)

    def argmin(self, axis=None) -> ndarray:
        """Indices of the minima along ``axis`` (in the flattened array by default)."""
        return _apply(cnp.argmin, self, axis=axis)

    def norm(self, ord=None, axis=None, keepdims: bool = False) -> ndarray:  # noqa: A002
        """``np.linalg.norm`` of this array."""
        return _norm(self, ord, axis, keepdims)

    def dot(self, other) -> ndarray:
        """The dot product with ``other`` (``np.dot``)."""
        return _apply(cnp.dot, self, other)

    def clip(self, a_min=None, a_max=None) -> ndarray:
        """The values limited to ``[a_min, a_max]`` (None: no bound on that side)."""
        return _apply(cnp.clip, self, a_min, a_max)

    # ----------------------------------------------------------------------------------------
    # Python protocols

    def __repr__(self) -> str:
        # MXNet's algorithm (mxnet/numpy/multiarray.py): NumPy's repr, float32 never named,
        # every other dtype but bool named
        text = repr(self.asnumpy())
        dtype = self.dtype
        if "dtype=" in text:
            if dtype == onp.float32:
                text = text[:text.rfind(",")] + ")"
        elif dtype not in (onp.float32, onp.bool_):
            text = text[:-1] + f", dtype={dtype})"
        return text

    def __str__(self) -> str:
        return str(self.asnumpy())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        if not spec:
            return format(str(self), spec)
        raise TypeError("Cannot format mxnet.numpy.ndarray with format_spec")

    def __bool__(self) -> bool:
        if self.size == 0:
            import warnings

            warnings.warn("The truth value of an empty array is ambiguous. Returning False, but "
                          "in future this will result in an error.", DeprecationWarning,
                          stacklevel=2)
            return False
        if self.size == 1:
            return bool(self.item())
        raise ValueError("The truth value of an ndarray with multiple elements is ambiguous.")

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self.size != 1:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = None  # mutable, compared elementwise: unhashable, as NumPy's arrays

    # operators: NumPy's, on the wrapped tensors (``_apply``)
    __add__ = _binary(operator.add, "__add__")
    __radd__ = _binary(operator.add, "__radd__", reflected=True)
    __sub__ = _binary(operator.sub, "__sub__")
    __rsub__ = _binary(operator.sub, "__rsub__", reflected=True)
    __mul__ = _binary(operator.mul, "__mul__")
    __rmul__ = _binary(operator.mul, "__rmul__", reflected=True)
    __truediv__ = _binary(operator.truediv, "__truediv__")
    __rtruediv__ = _binary(operator.truediv, "__rtruediv__", reflected=True)
    __floordiv__ = _binary(operator.floordiv, "__floordiv__")
    __rfloordiv__ = _binary(operator.floordiv, "__rfloordiv__", reflected=True)
    __mod__ = _binary(operator.mod, "__mod__")
    __rmod__ = _binary(operator.mod, "__rmod__", reflected=True)
    __pow__ = _binary(operator.pow, "__pow__")
    __rpow__ = _binary(operator.pow, "__rpow__", reflected=True)
    __matmul__ = _binary(operator.matmul, "__matmul__")
    __rmatmul__ = _binary(operator.matmul, "__rmatmul__", reflected=True)
    __eq__ = _binary(operator.eq, "__eq__")
    __ne__ = _binary(operator.ne, "__ne__")
    __lt__ = _binary(operator.lt, "__lt__")
    __le__ = _binary(operator.le, "__le__")
    __gt__ = _binary(operator.gt, "__gt__")
    __ge__ = _binary(operator.ge, "__ge__")
    __iadd__ = _inplace_operator(operator.iadd, "__iadd__")
    __isub__ = _inplace_operator(operator.isub, "__isub__")
    __imul__ = _inplace_operator(operator.imul, "__imul__")
    __itruediv__ = _inplace_operator(operator.itruediv, "__itruediv__")

    def __neg__(self) -> ndarray:
        return _apply(operator.neg, self)

    def __pos__(self) -> ndarray:
        return self

    def __abs__(self) -> ndarray:
        return _apply(abs, self)

    def __getitem__(self, key) -> ndarray:
        return _apply(operator.getitem, self, _unwrap(key))

    def __setitem__(self, key, value) -> None:
        self._check_assignable()
        if isinstance(value, (list, tuple)):
            value = array(value, self.dtype)
        with _mode(), onp.errstate(all="ignore"):
            self._target()[_unwrap(key)] = _unwrap(value)

    def _check_assignable(self) -> None:
        if _state.recording and self._tensor.requires_grad:
            raise MXNetError(ASSIGN_IN_GRAPH)

    def _inplace(self, op, other) -> ndarray:
        self._check_assignable()
        with _mode(), onp.errstate(all="ignore"):
            target = self._target()
            result = op(target, _unwrap(other))
        if target is self._tensor:
            self._tensor = result
        return self

    def _target(self) -> cr.Tensor:
        """What an in-place write changes.  Outside ``record()`` that is ``.data`` (the same
        memory, behind chainrule's version counter): MXNet does not track in-place changes, so
        a graph that saved these values reads the new ones, as in MXNet, instead of raising."""
        return self._tensor if _state.recording else self._tensor.data


# --------------------------------------------------------------------------------------------
# np: creation (float32 unless told otherwise, as MXNet)


def _dtype(dtype, default=onp.float32):
    return onp.dtype(default if dtype is None else dtype)


def array(object, dtype=None, ctx=None) -> ndarray:  # noqa: A002
    """A new array (a copy); float32 unless ``object`` is an array or ``dtype`` is given.

    >>> from chainrule.compat.mxnet import np
    >>> np.array([1, 2, 3]), np.array(True)
    (array([1., 2., 3.]), array(1.))
    """
    if isinstance(object, ndarray):
        object = object.asnumpy()
    if dtype is None:
        dtype = object.dtype if hasattr(object, "dtype") else onp.float32
    return ndarray(cr.from_numpy(onp.array(object, dtype=dtype)))


def asarray(obj, dtype=None, ctx=None) -> ndarray:
    """``obj`` as an array: an array of the requested dtype as it is, else a copy."""
    if isinstance(obj, ndarray) and (dtype is None or onp.dtype(dtype) == obj.dtype):
        return obj
    return array(obj, dtype)


def full(shape, fill_value, dtype=None, order="C", ctx=None) -> ndarray:
    """``fill_value`` in shape ``shape``; dtype: ``dtype``, else an array value's, else float32."""
    if dtype is None and isinstance(fill_value, ndarray):
        dtype = fill_value.dtype
    return ndarray(cr.from_numpy(onp.full(shape, onp.asarray(fill_value), dtype=_dtype(dtype))))


def zeros(shape, dtype=None, order="C", ctx=None) -> ndarray:
    """An array of shape ``shape`` filled with 0s, float32 unless ``dtype`` is given."""
    return full(shape, 0, dtype)


def ones(shape, dtype=None, order="C", ctx=None) -> ndarray:
    """An array of shape ``shape`` filled with 1s, float32 unless ``dtype`` is given."""
    return full(shape, 1, dtype)


def zeros_like(a, dtype=None, order="C", ctx=None) -> ndarray:
    """An array of 0s in ``a``'s shape and dtype (or ``dtype``, if given)."""
    return full_like(a, 0, dtype)


def ones_like(a, dtype=None, order="C", ctx=None) -> ndarray:
    """An array of 1s in ``a``'s shape and dtype (or ``dtype``, if given)."""
    return full_like(a, 1, dtype)


empty, empty_like = zeros, zeros_like


def full_like(a, fill_value, dtype=None, order="C", ctx=None) -> ndarray:
    """``fill_value`` in ``a``'s shape and dtype (or ``dtype``, if given)."""
    return ndarray(cr.from_numpy(onp.full(a.shape, fill_value, dtype=_dtype(dtype, a.dtype))))


def arange(start, stop=None, step=1, dtype=None, ctx=None) -> ndarray:
    """``[start, stop)`` by ``step``, float32 even for integer arguments.

    >>> from chainrule.compat.mxnet import np
    >>> np.arange(4), np.arange(4, dtype='int32')
    (array([0., 1., 2., 3.]), array([0, 1, 2, 3], dtype=int32))
    """
    if stop is None:
        start, stop = 0, start
    return ndarray(cr.from_numpy(onp.arange(start, stop, step, dtype=_dtype(dtype))))


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0, ctx=None):
    """``num`` evenly spaced values from ``start`` to ``stop``, float32 by default."""
    values, step = onp.linspace(start, stop, num, endpoint, retstep=True, axis=axis)
    out = ndarray(cr.from_numpy(values.astype(_dtype(dtype))))
    return (out, step) if retstep else out


def eye(N, M=None, k: int = 0, dtype=None, ctx=None) -> ndarray:  # noqa: N803
    """A 2-d array with ones on diagonal ``k`` and zeros elsewhere (float32 by default)."""
    return ndarray(cr.from_numpy(onp.eye(N, M, k, dtype=_dtype(dtype))))


# --------------------------------------------------------------------------------------------
# np: operations (chainrule.numpy's, on the Tensors behind the arrays)


def _lift(func, name: str):
    def op(*args, **kwargs):
        return _apply(func, *args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"MXNet's ``np.{name}`` (chainrule.numpy's, recorded inside record())."
    return op


_LIFTED = (
    # elementwise
    "exp", "expm1", "log", "log1p", "sqrt", "square", "abs", "absolute", "sign", "sin", "cos",
    "tan", "tanh", "sinh", "cosh", "floor", "ceil", "trunc", "rint", "round", "around",
    "negative", "reciprocal", "add", "subtract", "multiply", "divide", "true_divide", "power",
    "maximum", "minimum", "where", "clip", "logaddexp",
    # comparisons (no gradient)
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "isnan", "isinf",
    "isfinite", "logical_and", "logical_or", "logical_not", "logical_xor",
    # reductions
    "sum", "mean", "prod", "max", "min", "amax", "amin", "var", "argmax", "argmin",
    "cumsum", "all", "any",
    # products and shapes
    "dot", "matmul", "inner", "outer", "tensordot", "einsum", "vdot", "reshape", "transpose",
    "swapaxes", "moveaxis", "expand_dims", "squeeze", "ravel", "broadcast_to", "concatenate",
    "stack", "flip", "tile", "sort", "argsort",
)


def _norm(x, ord=None, axis=None, keepdims: bool = False) -> ndarray:  # noqa: A002
    """The 2-norm of the flattened array by default (Frobenius for matrices), differentiable.

    Computed as ``sqrt(sum(x * x))`` (a p-norm as ``sum(|x|^p)^(1/p)``), so that its gradient
    at zero is nan, as in MXNet (chainrule's own norms give PyTorch's 0 there).
    """
    x = _as_array(x)
    two_norm = ord in (None, "fro") or (ord == 2 and (x.ndim == 1 or isinstance(axis, int)))
    if two_norm:
        return _apply(lambda t: cr.sqrt(cnp.sum(t * t, axis=axis, keepdims=keepdims)), x)
    if isinstance(ord, (int, float)) and 0 < ord < onp.inf and ord not in (1, 2):
        return _apply(lambda t: cnp.sum(cr.abs(t) ** ord, axis=axis, keepdims=keepdims)
                      ** (1.0 / ord), x)
    return _apply(cnp.linalg.norm, x, ord, axis, keepdims)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims: bool = False) -> ndarray:
    """MXNet's ``np.std``, ``sqrt(var)``: its gradient at zero variance is nan, as MXNet's."""
    return _apply(lambda t: cr.sqrt(cnp.var(t, axis=axis, ddof=ddof, keepdims=keepdims)),
                  _as_array(a))


class _Random:
    """MXNet's global random generator (seeded with 0 at start-up, so runs are reproducible)."""

    generator = onp.random.default_rng(0)


def seed(seed: int, ctx="all") -> None:
    """Reseed the global generator (``np.random.seed``, ``npx.random.seed``)."""
    _Random.generator = onp.random.default_rng(seed)


def _sample(values, dtype) -> ndarray:
    return ndarray(cr.from_numpy(onp.asarray(values, dtype=_dtype(dtype))))


def normal(loc=0.0, scale=1.0, size=None, dtype=None, ctx=None, out=None) -> ndarray:
    """Normal samples, float32; ``size=None`` gives a 0-d array (not a Python float)."""
    return _sample(_Random.generator.normal(loc, scale, size), dtype)


def uniform(low=0.0, high=1.0, size=None, dtype=None, ctx=None, out=None) -> ndarray:
    """Uniform samples in ``[low, high)``, float32; ``size=None`` gives a 0-d array."""
    return _sample(_Random.generator.uniform(low, high, size), dtype)


def randn(*size, dtype=None, ctx=None) -> ndarray:
    """Standard normal samples of shape ``size`` (0-d if none is given), float32."""
    return normal(size=size or None, dtype=dtype)


def randint(low, high=None, size=None, dtype=None, ctx=None, out=None) -> ndarray:
    """Random integers in ``[low, high)`` (``[0, low)`` if no ``high``); ``out`` is ignored."""
    values = _Random.generator.integers(low, high, size)
    return _sample(values, onp.int32 if dtype is None else dtype)


def _namespace(name: str, doc: str, members: dict) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    module.__dict__.update(members)
    return module


np = _namespace(
    "chainrule.compat.mxnet.np", "MXNet's ``mxnet.numpy``: float32 arrays that differentiate.",
    {
        "ndarray": ndarray, "array": array, "asarray": asarray, "zeros": zeros, "ones": ones,
        "empty": empty, "full": full, "zeros_like": zeros_like, "ones_like": ones_like,
        "empty_like": empty_like, "full_like": full_like, "arange": arange,
        "linspace": linspace, "eye": eye,
        **{name: _lift(getattr(cnp, name), name) for name in _LIFTED}, "std": _std,
        "pi": onp.pi, "e": onp.e, "inf": onp.inf, "nan": onp.nan, "newaxis": None,
        **{name: getattr(onp, name) for name in ("float16", "float32", "float64", "int8",
                                                 "int32", "int64", "uint8", "bool_", "dtype")},
        "linalg": _namespace("chainrule.compat.mxnet.np.linalg", "MXNet's ``np.linalg``.",
                             {"norm": _norm}),
        "random": _namespace("chainrule.compat.mxnet.np.random", "MXNet's ``np.random``.",
                             {"seed": seed, "normal": normal, "uniform": uniform,
                              "randn": randn, "randint": randint}),
    },
)
np.bool = onp.bool_


# --------------------------------------------------------------------------------------------
# npx


def set_np(shape: bool = True, array: bool = True) -> None:  # noqa: A002
    """Turn on NumPy shape and array semantics (which this front end always has)."""
    _np_mode["shape"], _np_mode["array"] = bool(shape), bool(array)


def reset_np() -> None:
    """Turn the NumPy shape and array flags off (this front end keeps NumPy semantics)."""
    set_np(False, False)


def is_np_shape() -> bool:
    """Whether NumPy shape semantics are on (``set_np`` turns them on)."""
    return _np_mode["shape"]


def is_np_array() -> bool:
    """Whether NumPy array semantics are on (``set_np`` turns them on)."""
    return _np_mode["array"]


def is_np_default_dtype() -> bool:
    """False: default dtypes are MXNet's float32, not NumPy's float64."""
    return False


def cpu(device_id: int = 0) -> str:
    """The CPU context, ``'cpu(0)'`` (chainrule computes on the CPU only)."""
    return "cpu(0)"


def num_gpus() -> int:
    """0: chainrule uses no GPU."""
    return 0


npx = _namespace(
    "chainrule.compat.mxnet.npx", "MXNet's ``mxnet.npx``: the extensions to ``np``.",
    {
        "set_np": set_np, "reset_np": reset_np,
        "is_np_shape": is_np_shape, "is_np_array": is_np_array,
        "is_np_default_dtype": is_np_default_dtype, "cpu": cpu, "num_gpus": num_gpus,
        "relu": _lift(cnp.relu, "relu"), "sigmoid": _lift(cnp.sigmoid, "sigmoid"),
        "softmax": _lift(cnp.softmax, "softmax"),
        "log_softmax": _lift(cnp.log_softmax, "log_softmax"),
        "random": _namespace("chainrule.compat.mxnet.npx.random", "MXNet's ``npx.random``.",
                             {"seed": seed}),
    },
)


# --------------------------------------------------------------------------------------------
# autograd


class _Scope:
    """Sets the recording and training flags (None: leave unchanged) inside a ``with`` block."""

    def __init__(self, recording: bool | None, training: bool | None) -> None:
        self._enter = (recording, training)
        self._saved: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._saved.append((_state.recording, _state.training))
        recording, training = self._enter
        if recording is not None:
            _state.recording = recording
        if training is not None:
            _state.training = training

    def __exit__(self, *exc) -> None:
        _state.recording, _state.training = self._saved.pop()


def record(train_mode: bool = True) -> _Scope:
    """Record operations for differentiation inside a ``with`` block (training mode on)."""
    return _Scope(True, train_mode)


def pause(train_mode: bool = False) -> _Scope:
    """Stop recording inside a ``with`` block (training mode off)."""
    return _Scope(False, train_mode)


def train_mode() -> _Scope:
    """Training mode inside a ``with`` block, recording unchanged."""
    return _Scope(None, True)


def predict_mode() -> _Scope:
    """Prediction mode inside a ``with`` block, recording unchanged."""
    return _Scope(None, False)


def is_recording() -> bool:
    """Whether operations are being recorded (inside ``autograd.record()``)."""
    return _state.recording


def is_training() -> bool:
    """Whether training mode is on (``record()`` and ``train_mode()`` turn it on)."""
    return _state.training


def set_recording(is_recording: bool) -> bool:
    """Set the recording flag; return its previous value."""
    previous, _state.recording = _state.recording, bool(is_recording)
    return previous


def set_training(train_mode: bool) -> bool:
    """Set the training flag; return its previous value."""
    previous, _state.training = _state.training, bool(train_mode)
    return previous


def mark_variables(variables, gradients, grad_reqs="write") -> None:
    """``attach_grad`` with your own buffers: backward writes into ``gradients``."""
    if isinstance(variables, ndarray):
        variables, gradients = [variables], [gradients]
    if isinstance(grad_reqs, str):
        grad_reqs = [grad_reqs] * len(variables)
    for var, buffer, req in zip(variables, gradients, grad_reqs):
        if req not in GRAD_REQS:
            raise ValueError(f"mark_variables: grad_req must be one of {GRAD_REQS}, got {req!r}")
        var._mark(buffer._tensor.detach().numpy(), req)


def _heads(heads, head_grads) -> tuple[list[ndarray], list]:
    if isinstance(heads, ndarray):
        heads = [heads]
    if head_grads is None or isinstance(head_grads, ndarray):
        head_grads = [head_grads] * len(heads) if head_grads is None else [head_grads]
    heads, head_grads = list(heads), list(head_grads)
    if len(heads) != len(head_grads):
        raise AssertionError("heads and head_grads must be lists of the same length")
    for head in heads:
        node = head._tensor.grad_fn
        if not head._tensor.requires_grad or (node is not None and node in _freed):
            raise MXNetError(NOT_IN_GRAPH)
    seeds = [cr.ones_like(h._tensor) if g is None else _as_array(g, h.dtype)._tensor
             for h, g in zip(heads, head_grads)]
    return heads, seeds


def _differentiate(heads, seeds, variables, retain_graph: bool, create_graph: bool) -> tuple:
    try:
        with onp.errstate(all="ignore"):
            grads = cr.autograd.grad([h._tensor for h in heads], [v._tensor for v in variables],
                                     grad_outputs=seeds, retain_graph=retain_graph,
                                     create_graph=create_graph, allow_unused=True)
    except RuntimeError as err:
        if "second time" in str(err):
            raise MXNetError(NOT_IN_GRAPH) from None
        raise MXNetError(str(err)) from None
    if not retain_graph:
        _free(heads)
    return grads


def _free(heads) -> None:
    """Mark every node reachable from ``heads`` as differentiated (MXNet frees the graph)."""
    stack = [h._tensor.grad_fn for h in heads if h._tensor.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in _freed:
            continue
        _freed.add(node)
        stack.extend(n for n, _ in node.next_functions
                     if n is not None and n.name() != "AccumulateGrad")


def backward(heads, head_grads=None, retain_graph: bool = False, train_mode: bool = True) -> None:
    """Write the gradients of ``heads`` (summed) into the ``.grad`` of the variables they reach.

    Each variable's buffer is overwritten (``grad_req='write'``) or added to (``'add'``);
    variables the heads do not depend on keep their buffers as they are.
    """
    heads, seeds = _heads(heads, head_grads)
    variables = [v for v in list(_variables.values())
                 if v._grad_req != "null" and v._tensor.requires_grad]
    if not variables:
        raise MXNetError(NO_INPUTS)
    grads = _differentiate(heads, seeds, variables, bool(retain_graph), False)
    if all(g is None for g in grads):
        raise MXNetError(NO_INPUTS)
    for var, g in zip(variables, grads):
        if g is None:
            continue
        if var._grad_req == "add":
            var._grad += onp.asarray(g)
        else:
            var._grad[...] = onp.asarray(g)


def grad(heads, variables, head_grads=None, retain_graph: bool | None = None,
         create_graph: bool = False, train_mode: bool = True) -> list[ndarray]:
    """The gradients of ``heads`` w.r.t. ``variables``, returned as a list; ``.grad`` is not
    touched.  ``create_graph=True`` records them, for higher derivatives."""
    if isinstance(variables, ndarray):
        variables = [variables]
    elif not len(variables):
        raise AssertionError("variables cannot be an empty list.")
    for i, var in enumerate(variables):
        if not var._tensor.requires_grad:
            raise MXNetError(f"Cannot differentiate with respect to the {i + 1}-th variable "
                             "because it does not require gradient.")
    heads, seeds = _heads(heads, head_grads)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _differentiate(heads, seeds, variables, bool(retain_graph), bool(create_graph))
    return [zeros_like(v) if g is None else ndarray(g) for v, g in zip(variables, grads)]


autograd = _namespace(
    "chainrule.compat.mxnet.autograd", "MXNet's ``mxnet.autograd``: recording and gradients.",
    {
        "record": record, "pause": pause, "train_mode": train_mode,
        "predict_mode": predict_mode, "is_recording": is_recording,
        "is_training": is_training, "set_recording": set_recording,
        "set_training": set_training, "mark_variables": mark_variables,
        "backward": backward, "grad": grad, "MXNetError": MXNetError,
    },
)
