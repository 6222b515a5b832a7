"""Changing a tensor in place (``x.add_(1)``, ``x[i] = v``, ``x += 1``), and JAX's functional
updates (``x.at[i].set(v)``), with PyTorch's autograd semantics.

An in-place change replaces the tensor's values and bumps its version counter (shared with its
views), so that a node that saved the old values refuses to run its rule with the new ones.
When the change is recorded, the tensor adopts the node of the out-of-place operation that
computed its new values.  When nothing is recorded and no tangent flows (an optimiser's update
under ``no_grad``), NumPy writes straight into the tensor's array.

Like :mod:`chainrule.ops`, this module sits below :class:`~chainrule.tensor.Tensor`, whose
class body binds these functions as its methods.
"""

from __future__ import annotations

import numpy as np

from chainrule import ops, tracing, vmap_levels
from chainrule import rules as R
from chainrule.engine import grad_mode, refresh_if_stale, refresh_view
from chainrule.errors import setitem_error
from chainrule.generator import random_source
from chainrule.ops import data_of, index_of
from chainrule.tensor_base import DIFFERENTIABLE_DTYPES, TensorBase, new_like


def check_writable(self, name: str) -> None:
    """Refuse, as PyTorch does, an in-place change ``name`` of a leaf that requires grad (or of
    a view of one) while grad mode is on."""
    if not grad_mode.enabled:
        return
    if self._rg and self._node is None:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                           f"operation ({name}). Wrap the update in `with chainrule.no_grad():` "
                           "or use an out-of-place operation.")
    if self._base is not None and self._base._rg and self._base._node is None:
        raise RuntimeError(f"a view of a leaf Variable that requires grad is being used in an "
                           f"in-place operation ({name}). Wrap it in `with chainrule.no_grad():` "
                           "or use an out-of-place operation.")


def _update_batched(self, name: str, compute) -> TensorBase:
    """An in-place change of a batched tensor (inside ``vmap``): each example's values replaced
    by ``compute``'s, written into the stack behind it (so that its views, which share the
    stack's memory, see them, as PyTorch's do).

    A ``grad`` or ``jvp`` opened inside the vmap follows the change as it follows one of an
    unbatched tensor (see :func:`update`): the tensor adopts the history and tangents of the
    out-of-place result (a view's change is recorded on its base, with ``copy_slices``).  The
    old value it is computed from is a copy (``clone``: its history and tangents follow), since
    the result's node may save it and the stack is overwritten; without history, it shares
    the stack and its version counter (as :func:`update`'s ``detach``), so that a node that
    saved it (``y.mul_(v)``, ``v`` differentiated) refuses to run after the change."""
    check_writable(self, name)
    refresh_if_stale(self)  # (a view's history must be current before it is extended)
    if (grad_mode.enabled and self._rg) or self._tangents is not None:
        old = R.clone(self)
    else:
        old = self.detach()
        if self._vc is None:
            self._vc = [0]
        old._vc = self._vc
    result = compute(old)
    physical = self._value
    ours = getattr(result, "_level", None) == self._level
    new = result._value if ours else data_of(result)
    if type(physical) is not np.ndarray or isinstance(new, TensorBase):
        raise NotImplementedError(
            f"vmap: {name}: changing a batched tensor in place is supported only where no "
            "enclosing grad, jvp or vmap follows it or the new values; use the out-of-place "
            "operation (x = x + y, x.at[index].set(value)) instead")
    try:
        np.copyto(physical, new, casting="same_kind")
    except (ValueError, TypeError) as err:
        raise RuntimeError(f"vmap: {name}: cannot write the new values (per example "
                           f"{tuple(np.shape(new)[1:])}) into the batched tensor of shape "
                           f"{tuple(self.shape)} ({err}); clone() it first") from None
    self._bump_version()
    if not ours:  # (a result the same for every example carries nothing of this level)
        return self
    if result._rg and grad_mode.enabled and self.dtype in DIFFERENTIABLE_DTYPES:
        if result.dtype != self.dtype:
            result = R.cast(result, dtype=self.dtype, x_dtype=result.dtype)
        if self._base is not None:
            _record_on_base(self, result)
        else:
            self._node, self._rg = result._node, True
    if result._tangents is not None or self._tangents is not None:
        self._tangents = result._tangents
        if result._tangents is not None and self._base is not None:
            _write_into_base_tangents(self, name, result._tangents)
    return self


def _writes_examples_into_one(self, result) -> bool:
    """Whether an in-place change of an unbatched ``self`` computed a batched ``result``: a
    value per example for a tensor that has one."""
    return (not self._batched and isinstance(result, TensorBase) and result._batched)


def update(self, name: str, compute) -> TensorBase:
    """Replace ``self``'s values by ``compute(old)``; adopt its node when it was recorded (a
    view's change is recorded on its base, whose values it shares)."""
    if self._batched:
        return _update_batched(self, name, compute)
    check_writable(self, name)
    refresh_if_stale(self)  # (a view's history must be current before it is extended)
    if grad_mode.enabled and self._rg:
        # a copy of the value before, which the recorded operation reads
        old = new_like(self, np.array(self._data, copy=True), self._node)
    else:
        old = self.detach()  # shares storage: compute must read it before it is overwritten
    old._tangents = self._tangents  # forward mode follows in-place changes too
    result = compute(old)
    if _writes_examples_into_one(self, result):
        raise RuntimeError(
            f"vmap: {name}: an in-place change of a tensor that is the same for every example "
            f"(not mapped, shape {tuple(self.shape)}) with values that differ from example to "
            "example is not possible (as in PyTorch); use the out-of-place operation (x = x * "
            "v, x.at[index].set(v)) instead, or map the tensor too")
    # an integer tensor cannot carry a gradient: its new values are just data
    recorded = (isinstance(result, TensorBase) and result._node is not None
                and self.dtype in DIFFERENTIABLE_DTYPES)
    with_tangents = isinstance(result, TensorBase) and result._tangents is not None
    new = np.asarray(data_of(result))
    if new.shape != self.shape:
        raise RuntimeError(f"{name}: output with shape {new.shape} doesn't match the "
                           f"broadcast shape {self.shape} of the tensor changed in place")
    if not np.can_cast(new.dtype, self.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {new.dtype} can't be cast to the desired "
                           f"output type {self.dtype}")
    if isinstance(self._data, np.ndarray):
        try:
            np.copyto(self._data, new, casting="same_kind")
        except ValueError as err:
            data = self._data
            if any(n > 1 and s == 0 for n, s in zip(data.shape, data.strides)):
                raise RuntimeError(f"{name}: unsupported operation: more than one element of "
                                   "the written-to tensor refers to a single memory location "
                                   f"(an expanded view of shape {data.shape}). Please clone() "
                                   "the tensor before performing the operation.") from None
            raise RuntimeError(f"{name}: cannot write into this tensor ({err}); clone() it "
                               "first") from None
    else:
        self._data = new.astype(self.dtype)
    self._bump_version()
    if recorded:
        if result.dtype != self.dtype:
            result = R.cast(result, dtype=self.dtype, x_dtype=result.dtype)
        if self._base is not None:
            _record_on_base(self, result)
        else:
            self._node = result._node
            self._rg = True
    if isinstance(result, TensorBase):
        self._tangents = result._tangents
        if with_tangents and self._base is not None:
            _write_into_base_tangents(self, name, result._tangents)
    return self


def _record_on_base(view, result) -> None:
    """A recorded in-place change of a view: the base's new history is its old one with the
    view's part replaced by ``result`` (PyTorch's CopySlices); the view's own history is then
    made again from the base's."""
    root = view._base
    old_root = root._with_node(root._node if root._rg else None)  # (a batched root stays one)
    new_root = R.copy_slices(old_root, result, steps=view._view_steps)
    root._node, root._rg = new_root._node, True
    refresh_view(view)  # (the change bumped the version: its history is made again)


def _write_into_base_tangents(view, name: str, tangents: dict) -> None:
    """Forward mode through an in-place change of a view: the base's tangent takes the view's
    new tangent where the view lies (``copy_slices``, as for the values), as in PyTorch; other
    views of the base are made again from it when next used."""
    root = view._base
    updated = dict(root._tangents or {})
    for level, tangent in tangents.items():
        before = updated.get(level)
        if before is None:
            before = np.zeros(np.shape(root._data), np.result_type(root._data))
        updated[level] = R.copy_slices(before, tangent, steps=view._view_steps)
    root._tangents = updated


def arithmetic_update(self, name: str, prim, ufunc, other) -> TensorBase:
    """``self op= other``.  When nothing is recorded and no tangent flows (an optimiser's
    update under ``no_grad``), NumPy writes straight into ``self``'s array: no temporary."""
    other_tensor = isinstance(other, TensorBase)
    if (type(self._data) is np.ndarray and self._tangents is None
            and not (grad_mode.enabled and (self._rg or (other_tensor and other._rg)))
            and not (other_tensor and (other._tangents is not None or other._batched))
            and self._data.flags.writeable):
        check_writable(self, name)
        try:
            ufunc(self._data, other._data if other_tensor else other, out=self._data,
                  casting="same_kind")
        except (TypeError, ValueError):
            pass  # (nothing was written) the general path below explains what is wrong
        else:
            self._bump_version()
            if tracing.active[0] is not None:
                tracing.updated_in_place(self, ufunc, other)
            return self
    return update(self, name, lambda old: prim(old, other))


def arithmetic_method(name: str, func, prim, ufunc):
    """``add_`` and friends: straight into the array when :func:`arithmetic_update` can,
    through ``func`` when given keywords (``alpha=``, ``rounding_mode=``)."""
    def method(self, other, **kwargs) -> TensorBase:
        if kwargs:
            return update(self, name, lambda old: func(old, other, **kwargs))
        return arithmetic_update(self, name, prim, ufunc, other)

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{func.__name__}`; returns ``self``."
    return method


def method_of(name: str, func):
    """The in-place method ``name`` (``exp_``): ``func``'s result written into ``self``."""
    def method(self, *args, **kwargs) -> TensorBase:
        return update(self, name, lambda old: func(old, *args, **kwargs))

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{func.__name__}`; returns ``self``."
    return method


def zero_(self) -> TensorBase:
    """Fill with zeros in place and return ``self``.

    >>> import chainrule as cr
    >>> g = cr.ones(3)
    >>> g.zero_()
    tensor([0., 0., 0.])
    """
    return update(self, "zero_", lambda old: R.where(False, old, np.zeros((), old.dtype)))


def fill_(self, value) -> TensorBase:
    """Fill with ``value`` in place and return ``self``."""
    if not isinstance(value, TensorBase):
        value = np.asarray(value, self.dtype)
    return update(self, "fill_", lambda old: R.where(False, old, value))


def copy_(self, src) -> TensorBase:
    """Copy ``src``'s values (broadcast) into ``self`` in place and return ``self``."""
    return update(self, "copy_", lambda old: R.where(False, old, src))


def _draw_into(self, name: str, draw, generator, *, kinds: str = "fc") -> TensorBase:
    """Fill ``self`` in place with ``draw(rng, shape)`` (float64 or int64 values, cast to its
    dtype); the old values get a zero gradient, as in PyTorch."""
    if self.dtype.kind not in kinds:
        raise NotImplementedError(f"{name}: not implemented for dtype {self.dtype}; use a "
                                  f"floating-point tensor (e.g. x.float())")
    rng = random_source(generator)
    draws = vmap_levels.random_levels(name)  # (inside vmap: its randomness mode decides)
    if draws:  # randomness='different': one draw per example, into the stack of a batched self
        return _draw_per_example(self, name, draw, rng, draws)
    values = np.asarray(draw(rng, self.shape)).astype(self.dtype)
    return update(self, name, lambda old: R.where(False, old, values))


def _draw_per_example(self, name: str, draw, rng, draws: tuple) -> TensorBase:
    """An in-place random fill under vmap's ``randomness='different'``: each example of the
    batched ``self`` gets its own draw, written into the stack behind it."""
    (level, size), = draws if len(draws) == 1 else ((None, None),)
    if not self._batched or self._level != level:
        raise RuntimeError(
            f"vmap: {name}: Cannot ask for different inplace randomness on an unbatched tensor. "
            "This will appear like same randomness (one draw for every example); draw out of "
            "place (e.g. chainrule.randn_like(x)) or use randomness='same'")
    if type(self._value) is not np.ndarray or self._rg or self._tangents is not None:
        raise NotImplementedError(
            f"vmap: {name}: a random in-place fill with randomness='different' is supported on "
            "a batched tensor that no transform follows; draw out of place instead")
    check_writable(self, name)
    np.copyto(self._value, np.asarray(draw(rng, (size,) + tuple(self.shape))),
              casting="unsafe")
    self._bump_version()
    return self


def _real(name: str, what: str, value) -> float:
    if isinstance(value, TensorBase) or not np.isscalar(value) or np.iscomplexobj(value):
        raise TypeError(f"{name}(): argument '{what}' must be a real number, not "
                        f"{type(value).__name__}")
    return float(value)


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> TensorBase:
    """Fill in place with samples of the normal distribution N(``mean``, ``std``**2) and
    return ``self``.  Draws come from chainrule's generator (``cr.manual_seed``): the same
    seed gives other numbers than PyTorch's, from the same distribution.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> w = cr.empty(1000).normal_(2.0, 0.5)
    >>> abs(float(w.mean()) - 2.0) < 0.1
    True
    """
    mean, std = _real("normal_", "mean", mean), _real("normal_", "std", std)
    if not std >= 0.0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    return _draw_into(self, "normal_", lambda rng, shape: rng.normal(mean, std, shape),
                      generator)


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None, **bounds) -> TensorBase:
    """Fill in place with samples of the uniform distribution on [``a``, ``b``) (PyTorch's
    ``from=`` and ``to=`` keywords work too) and return ``self``; chainrule's generator, not
    PyTorch's stream.

    >>> import chainrule as cr
    >>> w = cr.empty(100).uniform_(-1, 1)
    >>> bool((w >= -1).all() and (w < 1).all())
    True
    """
    unknown = set(bounds) - {"from", "to"}
    if unknown:
        raise TypeError(f"uniform_() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    a = _real("uniform_", "from", bounds.get("from", a))
    b = _real("uniform_", "to", bounds.get("to", b))
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    return _draw_into(self, "uniform_", lambda rng, shape: rng.uniform(a, b, shape), generator)


def exponential_(self, lambd: float = 1.0, *, generator=None) -> TensorBase:
    """Fill in place with samples of the exponential distribution of rate ``lambd`` (density
    ``lambd * exp(-lambd x)``) and return ``self``; chainrule's generator."""
    lambd = _real("exponential_", "lambd", lambd)
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _draw_into(self, "exponential_",
                      lambda rng, shape: rng.exponential(1.0 / lambd, shape), generator)


def bernoulli_(self, p=0.5, *, generator=None) -> TensorBase:
    """Fill in place with 1 (probability ``p``, a number or a tensor that broadcasts to
    ``self``) or 0 and return ``self``; chainrule's generator.

    >>> import chainrule as cr
    >>> cr.empty(4).bernoulli_(1.0)
    tensor([1., 1., 1., 1.])
    """
    prob = np.asarray(data_of(p), np.float64)
    if prob.size and not ((prob >= 0) & (prob <= 1)).all():
        bad = prob.min() if prob.min() < 0 else prob.max()
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={bad}")
    try:
        prob = np.broadcast_to(prob, self.shape)
    except ValueError:
        raise RuntimeError(f"bernoulli_: p of shape {prob.shape} does not broadcast to the "
                           f"tensor's shape {self.shape}") from None
    return _draw_into(self, "bernoulli_", lambda rng, shape: rng.random(shape) < prob,
                      generator, kinds="fciub")


def random_(self, a: int | None = None, b: int | None = None, *, generator=None,
            **bounds) -> TensorBase:
    """Fill in place with integers drawn uniformly from [``a``, ``b`` - 1]: ``random_(to)``
    draws from [0, to - 1]; ``random_()`` from [0, 2**mantissa] for floats (every integer
    the dtype holds exactly) and [0, max] for integers.  chainrule's generator.

    >>> import chainrule as cr
    >>> x = cr.zeros(50, dtype=cr.int64).random_(3, 5)
    >>> sorted(set(x.tolist())) <= [3, 4]
    True
    """
    unknown = set(bounds) - {"from", "to"}
    if unknown:
        raise TypeError(f"random_() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    a, b = bounds.get("from", a), bounds.get("to", b)
    if b is None and "from" not in bounds and a is not None:
        a, b = 0, a  # random_(to)
    a = 0 if a is None else a
    if b is None:
        kind = self.dtype
        if kind.kind == "f":
            b = 2 ** (np.finfo(kind).nmant + 1) + 1
        elif kind.kind == "b":
            b = 2
        else:
            b = int(np.iinfo(kind).max) + 1
    a, b = int(a), int(b)
    if a >= b:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={a} >= "
                           f"to={b}")
    return _draw_into(self, "random_", lambda rng, shape: rng.integers(a, b, shape),
                      generator, kinds="fiub")


def setitem(self, index, value) -> None:
    """``self[index] = value`` (``Tensor.__setitem__``), recorded when a gradient can flow."""
    value_rg = isinstance(value, TensorBase) and value._rg
    tangents = self._tangents is not None or (isinstance(value, TensorBase)
                                              and value._tangents is not None)
    batched = self._batched or (isinstance(value, TensorBase) and value._batched)
    plain = not (grad_mode.enabled and (self._rg or value_rg)) and not tangents and not batched
    # (an index of its own where a node keeps it)
    index = index_of(index, kept=not plain or tracing.active[0] is not None)
    if plain:
        check_writable(self, "setitem")
        self._ensure_array()
        try:
            self._data[index] = data_of(value)
        except (ValueError, TypeError, IndexError) as err:
            raise setitem_error(err, self.shape, self.dtype, index, value) from None
        self._bump_version()
        return
    try:
        update(self, "setitem", lambda old: R.index_put(old, value, index=index))
    except (ValueError, TypeError, IndexError) as err:
        raise setitem_error(err, self.shape, self.dtype, index, value) from None


# --------------------------------------------------------------------------------------------
# functional updates (JAX's x.at[idx].set(v)): new tensors, differentiable in x and v


class AtIndex:
    """``x.at[index]``: what ``set``, ``add`` ... return is a new tensor; ``x`` is unchanged."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor: TensorBase) -> None:
        self._tensor = tensor

    def __getitem__(self, index) -> IndexUpdate:
        return IndexUpdate(self._tensor, index_of(index))


class IndexUpdate:
    """The operations of ``x.at[index]``."""

    __slots__ = ("_tensor", "_index")

    def __init__(self, tensor: TensorBase, index) -> None:
        self._tensor, self._index = tensor, index

    def get(self) -> TensorBase:
        """``x[index]``."""
        return ops.getitem(self._tensor, self._index)

    def set(self, values) -> TensorBase:
        """A copy of ``x`` with ``values`` written at ``index`` (broadcast)."""
        return R.index_put(self._tensor, values, index=self._index)

    def add(self, values) -> TensorBase:
        """A copy of ``x`` with ``values`` added at ``index``; repeated indices accumulate."""
        x = self._tensor
        target_shape = np.shape(x._data[self._index])
        values = ops.broadcast_to(values, target_shape)
        if values.dtype != x.dtype and x.dtype.kind == "f":
            values = ops.to(values, x.dtype)
        return x + R.index_add(values, index=self._index, x_shape=x.shape)

    def multiply(self, values) -> TensorBase:
        """A copy of ``x`` with the entries at ``index`` multiplied by ``values``."""
        return self.set(self.get() * values)
