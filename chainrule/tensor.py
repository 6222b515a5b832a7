"""The Tensor: an ndarray plus what autograd needs to know about it.

A Tensor holds its value (``_data``: an ndarray, or a NumPy scalar for a 0-d result, which
NumPy computes with ten times faster), whether it requires grad, the node that produced it
(``grad_fn``), its accumulated ``grad``, and a version counter shared with its views (the
fields are :class:`~chainrule.tensor_base.TensorBase`'s).

Everything a Tensor can do is named in the class body below.  The operations themselves live
in :mod:`chainrule.ops` (PyTorch's functions), :mod:`chainrule.inplace` (in-place changes and
``.at[]``) and :mod:`chainrule.numpy` (NumPy's protocols); the class binds them as its methods
and operators, so ``x.sum()`` is ``chainrule.ops.sum(x)``.  No derivative rule lives here.
"""

from __future__ import annotations

import builtins
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule import (
    complex_ops,
    engine,
    inplace,
    linalg_ops,
    math_ops,
    norms,
    ops,
    selection,
    tracing,
)
from chainrule import numpy as cnp
from chainrule import rules as R
from chainrule._format import format_tensor
from chainrule.devices import CPU, device
from chainrule.errors import operands_error
from chainrule.gradient import backward as accumulate_gradients
from chainrule.tensor_base import DIFFERENTIABLE_DTYPES, FLOAT_DTYPES, TensorBase, new_tensor

__all__ = ["FLOAT_DTYPES", "RemovableHandle", "Tensor", "wrap"]

DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_),
                  np.dtype(np.complex64))

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead."
)


class _Hooks:
    """Hooks of a leaf tensor: ``pre`` run on its gradient, ``post`` after accumulation."""

    __slots__ = ("pre", "post")

    def __init__(self) -> None:
        self.pre: list[Callable] = []
        self.post: list[Callable] = []


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook (twice is fine)."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Unregister the hook (doing it twice is harmless)."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_HOOK_INSIDE = "a gradient hook registered inside the function (a replay would not register it)"
"""What breaks a ``chainrule.compile`` trace that registers a hook (see ``register_hook``)."""


class Tensor(TensorBase):
    """A multi-dimensional array that can record the operations applied to it.

    Create tensors with :func:`chainrule.tensor`, :func:`chainrule.arange` and friends.

    >>> import chainrule as cr
    >>> x = cr.arange(4.0, requires_grad=True)
    >>> y = 2 * cr.dot(x, x)
    >>> y
    tensor(28., grad_fn=<MulBackward0>)
    >>> y.backward()
    >>> x.grad
    tensor([ 0.,  4.,  8., 12.])
    """

    __slots__ = ()  # the fields are TensorBase's (see chainrule/tensor_base.py)

    # NumPy's functions and ufuncs called on a Tensor run chainrule.numpy's (np.sin(t),
    # ndarray * Tensor); a NumPy function without a rule raises rather than drop the gradient
    __array_ufunc__ = cnp.array_ufunc
    __array_function__ = cnp.array_function
    __array_priority__ = 1000

    def __init__(self, data: Any, *, requires_grad: bool = False) -> None:
        self._data = np.asarray(data)
        self._rg = False
        self._node = None
        self._grad = None
        self._vc = None
        self._base = None
        self._hooks = None
        self._tangents = None
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------------------------------
    # autograd state

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for differentiation."""
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._node is not None and not flag:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if flag and self._data.dtype not in DIFFERENTIABLE_DTYPES:
            raise RuntimeError(
                "requires_grad: only Tensors of floating point and complex dtype can require "
                f"gradients; this tensor is {self._data.dtype}. Convert it first, e.g. "
                "t.float().requires_grad_()."
            )
        if self._node is None:
            self._rg = bool(flag)
            if flag and tracing.active[0] is not None:
                tracing.leaf_made(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return ``self``.

        >>> import chainrule as cr
        >>> cr.arange(2.0).requires_grad_()
        tensor([0., 1.], requires_grad=True)
        """
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self) -> engine.Node | None:
        """The node that produced this tensor, or None for a leaf."""
        return self._node

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._node is None

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward``; None until the first one."""
        if tracing.active[0] is not None:  # (compile: a replay would read the trace's one)
            tracing.escaped(".grad read inside the function (backward() outside may replace "
                            "it between calls; pass the gradients as arguments)")
        if self._node is not None and self._grad is None and not self.retains_grad:
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if tracing.active[0] is not None:
            tracing.escaped(".grad set inside the function (zero_grad(): a replay would not)")
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of shape {value.shape} to "
                                   f"a tensor of shape {self.shape}. Please ensure that the "
                                   "gradient and the tensor are the same size")
            if value.dtype != self.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype {value.dtype} "
                                   f"to a tensor with dtype {self.dtype}; cast it first with "
                                   ".to(dtype)")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        if tracing.active[0] is not None:
            tracing.escaped(".grad deleted inside the function (a replay would not)")
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf whose ``.grad`` is filled because of :meth:`retain_grad`."""
        node = self._node
        return (node is not None and node.extras is not None
                and node.extras.retained is not None and node.extras.retained() is self)

    def retain_grad(self) -> None:
        """Fill ``.grad`` of this non-leaf tensor during backward (a no-op on leaves)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if tracing.active[0] is not None:
            tracing.escaped("retain_grad() inside the function (a replay would not ask it)")
        if self._node is not None:
            self._node._extras().retained = weakref.ref(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when the gradient w.r.t. this tensor is computed.

        A hook that returns a tensor replaces the gradient.

        >>> import chainrule as cr
        >>> x = cr.tensor([1., 2.], requires_grad=True)
        >>> _ = x.register_hook(lambda g: g * 10)
        >>> (2 * x).sum().backward()
        >>> x.grad
        tensor([20., 20.])
        """
        if not self._rg:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient; create it with requires_grad=True")
        if tracing.active[0] is not None:
            tracing.escaped(_HOOK_INSIDE)
        if self._node is not None:
            hooks = self._node._extras().hooks
        else:
            if self._hooks is None:
                self._hooks = _Hooks()
            hooks = self._hooks.pre
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` after backward has accumulated into this leaf's ``.grad``."""
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if tracing.active[0] is not None:
            tracing.escaped(_HOOK_INSIDE)
        if self._hooks is None:
            self._hooks = _Hooks()
        self._hooks.post.append(hook)
        return RemovableHandle(self._hooks.post, hook)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Compute the gradient of this tensor w.r.t. the graph leaves, into their ``.grad``.

        See :func:`chainrule.autograd.backward`.
        """
        accumulate_gradients(self, gradient, retain_graph=retain_graph,
                             create_graph=create_graph, inputs=inputs, caller="Tensor.backward")

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's storage (and version counter), without history.

        >>> import chainrule as cr
        >>> x = cr.arange(3.0, requires_grad=True)
        >>> (x * x).detach()
        tensor([0., 1., 4.])
        """
        self._ensure_array()
        out = wrap(self._data)
        if self._vc is None:
            self._vc = [0]
        out._vc = self._vc  # shares storage, so shares the version counter (not a "view")
        if tracing.active[0] is not None:
            tracing.detached(self, out)
        return out

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad, in place."""
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._node = None
        self._rg = False
        return self

    @property
    def data(self) -> Tensor:
        """A detached tensor sharing storage, with its *own* version counter (as PyTorch).

        Changing it in place is invisible to autograd; prefer :meth:`detach`.
        """
        self._ensure_array()
        out = wrap(self._data)
        if tracing.active[0] is not None:
            tracing.detached(self, out, shares_version=False)
        return out

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    # ----------------------------------------------------------------------------------------
    # shape and conversion

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, a tuple of ints (``x.size()`` gives the same)."""
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the values, e.g. ``chainrule.float32``."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def device(self) -> device:
        """Always ``device(type='cpu')`` (equal to ``'cpu'``): chainrule computes with NumPy."""
        return CPU

    def size(self, dim: int | None = None):
        """The shape, or the size of dimension ``dim``."""
        if dim is None:
            return self._data.shape
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size(): argument 'dim' must be int, not {type(dim).__name__}")
        ndim = self._data.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"size: Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {dim})")
        return self._data.shape[dim]

    def dim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    def nelement(self) -> int:
        """The number of elements (an alias of :meth:`numel`)."""
        return int(self._data.size)

    def element_size(self) -> int:
        """The size of one element in bytes.

        >>> import chainrule as cr
        >>> cr.zeros(3).element_size(), cr.zeros(3, dtype=cr.float64).element_size()
        (4, 8)
        """
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        """The size of one element in bytes."""
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """The number of bytes of the elements (``numel() * element_size()``)."""
        return int(self._data.nbytes)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number.

        >>> import chainrule as cr
        >>> cr.tensor([2.5]).item()
        2.5
        """
        if self._data.size != 1:
            raise RuntimeError(f"item(): a Tensor with {self._data.size} elements cannot be "
                               f"converted to Scalar (its shape is {self.shape}); index it first "
                               "or reduce it (e.g. .sum())")
        value = self._data.item() if self._data.ndim == 0 else self._data.reshape(-1)[0].item()
        if tracing.active[0] is not None:
            tracing.value_read(self, "item", value)
        return value

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        value = self._data.tolist()
        if tracing.active[0] is not None:
            tracing.value_read(self, "tolist", value)
        return value

    def numpy(self) -> np.ndarray:
        """The values as an ndarray sharing storage with this tensor."""
        if self._rg and engine.grad_mode.enabled:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        self._ensure_array()
        if tracing.active[0] is not None:
            tracing.escaped("Tensor.numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if (self._rg and engine.grad_mode.enabled) or self._tangents is not None:
            raise RuntimeError(
                "Can't convert a Tensor that requires grad (or carries a forward-mode tangent) "
                "to a NumPy array: the gradient would be lost silently. Use tensor.detach() "
                "(or .detach().numpy()) if no gradient is wanted, or chainrule.numpy's functions "
                "to keep it.")
        arr = np.asarray(self._data)
        if tracing.active[0] is not None:
            tracing.escaped("a conversion to a NumPy array (np.asarray(tensor))")
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __bool__(self) -> bool:
        if self._data.size == 0:
            raise RuntimeError("bool(): Boolean value of Tensor with no values is ambiguous")
        if self._data.size != 1:
            raise RuntimeError("bool(): Boolean value of Tensor with more than one value is "
                               f"ambiguous (its shape is {self.shape}); use .any() or .all()")
        value = bool(self._data)
        if tracing.active[0] is not None:
            tracing.value_read(self, "bool", value)
        return value

    def __float__(self) -> float:
        if self._rg:
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior. Consider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def _scalar(self, name: str):
        if self._data.size != 1:
            raise ValueError(f"{name}(): only one element tensors can be converted to Python "
                             f"scalars; this one has shape {self.shape}. Index it first or "
                             "reduce it (e.g. .sum())")
        return self.item()

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)  # (item: a value read that compile hears of)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__: {spec!r}; "
                            "only 0-d tensors take a format spec")
        return repr(self)

    def __repr__(self) -> str:
        if tracing.active[0] is not None:  # (compile: a replay would not read these values)
            tracing.escaped("a tensor's text (repr, str or print of it)")
        dtype = self._data.dtype
        # PyTorch names every dtype but float32 on empty tensors
        default = dtype in DEFAULT_DTYPES and (self._data.size or dtype == np.float32)
        return format_tensor(
            np.asarray(self._data),
            dtype_name=None if default else f"chainrule.{dtype}",
            requires_grad=self._rg,
            grad_fn_name=self._node.name() if self._node is not None else None,
        )

    __str__ = __repr__

    __hash__ = object.__hash__

    def __reduce__(self):
        if tracing.active[0] is not None:
            tracing.escaped("a tensor pickled or copied (copy, pickle)")
        return (_rebuild, (np.asarray(self._data), self._rg))

    def __deepcopy__(self, memo) -> Tensor:
        if tracing.active[0] is not None:
            tracing.escaped("a tensor deep-copied (copy.deepcopy)")
        if self._node is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment; detach() first")
        out = Tensor(np.array(self._data, copy=True), requires_grad=self._rg)
        if self._grad is not None:
            out._grad = Tensor(np.array(self._grad._data, copy=True))
        return out

    # ----------------------------------------------------------------------------------------
    # operators

    __add__ = ops.add
    __sub__ = ops.sub
    __mul__ = ops.mul
    __truediv__ = ops.div
    __pow__ = ops.pow
    __matmul__ = ops.matmul
    __mod__ = ops.remainder
    __neg__ = ops.neg
    __abs__ = ops.abs
    __eq__ = ops.eq
    __ne__ = ops.ne
    __lt__ = ops.lt
    __le__ = ops.le
    __gt__ = ops.gt
    __ge__ = ops.ge
    __and__ = ops.bitwise_and
    __or__ = ops.bitwise_or
    __xor__ = ops.bitwise_xor
    __invert__ = ops.bitwise_not
    __getitem__ = ops.getitem
    __setitem__ = inplace.setitem

    # the reflected operators (``2 * x``) call the primitives directly: a call saved per use
    def __radd__(self, other) -> Tensor:
        try:
            return R.add(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("add (+)", err, other, self) from None

    def __rsub__(self, other) -> Tensor:
        try:
            return R.sub(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("sub (-)", err, other, self) from None

    def __rmul__(self, other) -> Tensor:
        try:
            return R.mul(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("mul (*)", err, other, self) from None

    def __rtruediv__(self, other) -> Tensor:
        try:
            return R.div(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("div (/)", err, other, self) from None

    def __rpow__(self, other) -> Tensor:
        try:
            return R.pow(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("pow (**)", err, other, self) from None

    def __rmatmul__(self, other) -> Tensor:
        return ops.matmul(other, self)

    def __rmod__(self, other) -> Tensor:
        try:
            return R.remainder(other, self)
        except (ValueError, TypeError) as err:
            raise operands_error("remainder (%)", err, other, self) from None

    def __floordiv__(self, other) -> Tensor:
        return ops.div(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other) -> Tensor:
        return ops.div(other, self, rounding_mode="floor")

    def __rand__(self, other) -> Tensor:
        return ops.bitwise_and(other, self)

    def __ror__(self, other) -> Tensor:
        return ops.bitwise_or(other, self)

    def __rxor__(self, other) -> Tensor:
        return ops.bitwise_xor(other, self)

    def __pos__(self) -> Tensor:
        return self

    def __contains__(self, item) -> bool:
        return bool(np.any(self._data == ops.data_of(item)))

    # ----------------------------------------------------------------------------------------
    # methods: the operations of chainrule.ops (see there), with ``self`` as ``input``

    # arithmetic and elementwise functions
    add = ops.add
    sub = subtract = ops.sub
    mul = multiply = ops.mul
    div = divide = true_divide = ops.div
    pow = ops.pow
    neg = negative = ops.neg
    exp = ops.exp
    log = ops.log
    log1p = ops.log1p
    expm1 = ops.expm1
    sqrt = ops.sqrt
    square = ops.square
    sin = ops.sin
    cos = ops.cos
    tan = ops.tan
    tanh = ops.tanh
    sigmoid = ops.sigmoid
    relu = ops.relu
    abs = ops.abs
    sign = ops.sign
    floor = ops.floor
    ceil = ops.ceil
    round = ops.round
    trunc = ops.trunc
    maximum = ops.maximum
    minimum = ops.minimum
    clamp = clip = ops.clamp
    # NumPy's other elementwise functions (chainrule/math_ops.py)
    asin = math_ops.asin
    arcsin = math_ops.arcsin
    acos = math_ops.acos
    arccos = math_ops.arccos
    atan = math_ops.atan
    arctan = math_ops.arctan
    sinh = math_ops.sinh
    cosh = math_ops.cosh
    asinh = math_ops.asinh
    arcsinh = math_ops.arcsinh
    acosh = math_ops.acosh
    arccosh = math_ops.arccosh
    atanh = math_ops.atanh
    arctanh = math_ops.arctanh
    log2 = math_ops.log2
    log10 = math_ops.log10
    exp2 = math_ops.exp2
    deg2rad = math_ops.deg2rad
    rad2deg = math_ops.rad2deg
    sinc = math_ops.sinc
    erf = math_ops.erf
    erfc = math_ops.erfc
    atan2 = math_ops.atan2
    arctan2 = math_ops.arctan2
    hypot = math_ops.hypot
    logaddexp2 = math_ops.logaddexp2
    fmax = math_ops.fmax
    fmin = math_ops.fmin
    # complex numbers (chainrule/complex_ops.py)
    real = property(complex_ops.real, doc="The real part (of a real tensor: its values).")
    imag = property(complex_ops.imag, doc="The imaginary part (complex tensors only).")
    conj = conj_physical = complex_ops.conj
    angle = complex_ops.angle
    # arrays rearranged (chainrule/math_ops.py)
    tril = math_ops.tril
    triu = math_ops.triu
    diag = math_ops.diag
    diagonal = math_ops.diagonal
    trace = math_ops.trace
    kron = math_ops.kron
    roll = math_ops.roll
    rot90 = math_ops.rot90
    diff = math_ops.diff
    repeat_interleave = math_ops.repeat_interleave
    fliplr = math_ops.fliplr
    flipud = math_ops.flipud
    cross = math_ops.cross
    # picked and placed by index or mask, fused updates (chainrule/selection.py)
    gather = selection.gather
    take_along_dim = selection.take_along_dim
    index_select = selection.index_select
    scatter = selection.scatter
    scatter_add = selection.scatter_add
    masked_fill = selection.masked_fill
    masked_select = selection.masked_select
    topk = selection.topk
    addcmul = selection.addcmul
    addcdiv = selection.addcdiv
    lerp = selection.lerp
    # reductions
    sum = ops.sum
    mean = ops.mean
    prod = ops.prod
    amax = ops.amax
    amin = ops.amin
    max = ops.max
    min = ops.min
    logsumexp = ops.logsumexp
    softmax = ops.softmax
    log_softmax = ops.log_softmax
    var = ops.var
    std = ops.std
    norm = norms.norm
    svd = linalg_ops.legacy_svd
    cumsum = ops.cumsum
    cumprod = ops.cumprod
    sort = selection.sort
    argsort = selection.argsort
    # products
    matmul = ops.matmul
    dot = ops.dot
    mm = ops.mm
    bmm = ops.bmm
    mv = ops.mv
    outer = ops.outer
    # shapes
    reshape = ops.reshape
    view = ops.view
    flatten = ops.flatten
    ravel = math_ops.ravel
    squeeze = ops.squeeze
    unsqueeze = ops.unsqueeze
    permute = ops.permute
    transpose = swapaxes = ops.transpose
    t = ops.t
    expand = ops.expand
    expand_as = ops.expand_as
    broadcast_to = ops.broadcast_to
    split = ops.split
    chunk = ops.chunk
    flip = ops.flip
    tile = ops.tile
    repeat = ops.repeat
    # no gradient
    eq = ops.eq
    ne = ops.ne
    lt = ops.lt
    le = ops.le
    gt = ops.gt
    ge = ops.ge
    isnan = ops.isnan
    isinf = ops.isinf
    isfinite = ops.isfinite
    argmax = ops.argmax
    argmin = ops.argmin
    all = ops.all
    any = ops.any
    allclose = ops.allclose
    isclose = ops.isclose
    equal = ops.equal
    count_nonzero = ops.count_nonzero
    logical_not = ops.logical_not
    logical_and = ops.logical_and
    logical_or = ops.logical_or
    # conversions
    clone = ops.clone
    to = type = astype = ops.to
    float = ops.caster(np.float32)
    double = ops.caster(np.float64)
    half = ops.caster(np.float16)
    int = ops.caster(np.int32)
    long = ops.caster(np.int64)
    bool = ops.caster(np.bool_)

    # in place (see chainrule/inplace.py); ``x += y`` is ``x.add_(y)``
    # (the out-of-place operation is ops', not the primitive, for its explanations of errors)
    add_ = __iadd__ = inplace.arithmetic_method("add_", ops.add, ops.add, np.add)
    sub_ = __isub__ = inplace.arithmetic_method("sub_", ops.sub, ops.sub, np.subtract)
    mul_ = __imul__ = inplace.arithmetic_method("mul_", ops.mul, ops.mul, np.multiply)
    div_ = __itruediv__ = inplace.arithmetic_method("div_", ops.div, ops.div, np.true_divide)
    pow_ = inplace.method_of("pow_", ops.pow)
    neg_ = inplace.method_of("neg_", ops.neg)
    exp_ = inplace.method_of("exp_", ops.exp)
    log_ = inplace.method_of("log_", ops.log)
    sqrt_ = inplace.method_of("sqrt_", ops.sqrt)
    sin_ = inplace.method_of("sin_", ops.sin)
    cos_ = inplace.method_of("cos_", ops.cos)
    tanh_ = inplace.method_of("tanh_", ops.tanh)
    sigmoid_ = inplace.method_of("sigmoid_", ops.sigmoid)
    erf_ = inplace.method_of("erf_", math_ops.erf)
    erfc_ = inplace.method_of("erfc_", math_ops.erfc)
    relu_ = inplace.method_of("relu_", ops.relu)
    abs_ = inplace.method_of("abs_", ops.abs)
    clamp_ = inplace.method_of("clamp_", ops.clamp)
    clip_ = inplace.method_of("clip_", ops.clamp)
    zero_ = inplace.zero_
    fill_ = inplace.fill_
    copy_ = inplace.copy_
    normal_ = inplace.normal_
    uniform_ = inplace.uniform_
    exponential_ = inplace.exponential_
    bernoulli_ = inplace.bernoulli_
    random_ = inplace.random_
    scatter_ = inplace.method_of("scatter_", selection.scatter)
    scatter_add_ = inplace.method_of("scatter_add_", selection.scatter_add)
    masked_fill_ = inplace.method_of("masked_fill_", selection.masked_fill)
    addcmul_ = inplace.method_of("addcmul_", selection.addcmul)
    addcdiv_ = inplace.method_of("addcdiv_", selection.addcdiv)
    lerp_ = inplace.method_of("lerp_", selection.lerp)

    @property
    def T(self) -> Tensor:
        """The tensor with its dimensions reversed."""
        return ops.permute(self, tuple(reversed(range(self._data.ndim))))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (batched matrix transpose)."""
        if self._data.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor; use .T or permute for others.")
        return ops.transpose(self, -2, -1)

    @property
    def mH(self) -> Tensor:
        """The batched conjugate transpose (of a real tensor, :attr:`mT`).

        >>> import chainrule as cr
        >>> cr.tensor([[1 + 2j, 3j]]).mH
        tensor([[1.-2.j],
                [0.-3.j]])
        """
        if self._data.ndim < 2:
            raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor; use .conj() with .T or permute "
                               "for others.")
        t = ops.transpose(self, -2, -1)
        return complex_ops.conj(t) if self._data.dtype.kind == "c" else t

    @property
    def at(self) -> inplace.AtIndex:
        """Functional updates, as JAX: ``x.at[idx].set(v)``, ``.add(v)``."""
        return inplace.AtIndex(self)

    def contiguous(self) -> Tensor:
        """``self``: NumPy arrays need no contiguous copy for chainrule's operations."""
        return self

    def cpu(self) -> Tensor:
        """``self``: chainrule computes on the CPU, with NumPy."""
        return self

    def cuda(self, device=None, non_blocking: builtins.bool = False) -> Tensor:
        """Refused: chainrule computes on the CPU, with NumPy (``x.cpu()`` is ``x``)."""
        raise RuntimeError("cuda(): chainrule runs on the CPU (it computes with NumPy), so there "
                           "is no CUDA device; leave the tensor where it is (x.cpu() is x)")

    def is_floating_point(self) -> builtins.bool:
        """Whether the dtype is a floating-point one."""
        return self._data.dtype.kind == "f"

    def is_complex(self) -> builtins.bool:
        """Whether the dtype is a complex one (complex64 or complex128)."""
        return self._data.dtype.kind == "c"

    def resolve_conj(self) -> Tensor:
        """``self``: chainrule conjugates at once, never lazily (PyTorch may)."""
        return self

    def is_conj(self) -> builtins.bool:
        """False: chainrule conjugates at once, never lazily."""
        return False


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(data, requires_grad=requires_grad)


def wrap(data: Any, node: engine.Node | None = None) -> Tensor:
    """A Tensor around a raw NumPy value, with no checks."""
    return new_tensor(Tensor, data, node)
