"""JAX's function transforms on chainrule's engine: grad, vjp, jvp, jacobians, Hessians.

Each transform takes a function and returns a function (or calls it at once, for ``vjp`` and
``jvp``), with JAX's signatures.  Arguments may be Tensors, NumPy arrays, Python numbers, or
tuples, lists and dicts of them (:mod:`chainrule.pytree`, dict keys in insertion order, ``None``
a leaf); results have the same structure.  NumPy in gives NumPy out, Tensors in give Tensors
out, and a result that still depends on an outer transform's variable (when transforms are
nested) stays a Tensor, so that the outer transform can differentiate it.

Reverse mode runs on the recorded graph (``autograd.grad``), forward mode on tangents
(``chainrule.forward``); they compose to any depth: ``grad(grad(f))``, ``jacfwd(jacrev(f))``,
``jvp`` of ``grad``.  The transforms never read or write ``.grad``.

``vmap`` maps a function over a batch (``chainrule/batching.py``): ``vmap(f)(xs)`` is ``f``
applied to each example of ``xs``, stacked, computed in one batched call per operation.
``functional_call`` and ``stack_module_state`` (``torch.func``'s, for Modules) live in
``chainrule/stateless.py`` and are exported here.

Complex numbers follow JAX: the gradient of a real-valued ``f`` of complex ``z = x + iy`` is
``df/dx - i df/dy`` (the conjugate of PyTorch's ``.grad``), and ``holomorphic=True`` gives
the complex derivative ``f'(z)`` of a holomorphic ``f`` (``grad``, ``jacrev``, ``jacfwd``):

>>> float(grad(lambda z: abs(z) ** 2)(1 + 2j).imag), complex(grad(lambda z: z * z,
...                                                             holomorphic=True)(1 + 2j))
(-4.0, (2+4j))

Nesting never confuses which variable is differentiated.  Each ``grad`` asks the engine for the
gradient with respect to its own inputs only, and each ``jvp`` carries its tangents at a level
of its own:

>>> from chainrule.func import grad
>>> float(grad(lambda x: x * grad(lambda y: x + y)(1.0))(1.0))
1.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from chainrule import batching, forward, generator, gradient, pytree, rules, tracing, vmap_levels
from chainrule.autograd import forward_ad
from chainrule.functions import cat, stack
from chainrule.stateless import functional_call, stack_module_state
from chainrule.tensor import Tensor, wrap

__all__ = ["grad", "value_and_grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "jacobian", "hessian", "hvp", "vmap", "functional_call",
           "stack_module_state"]


# --------------------------------------------------------------------------------------------
# Entering and leaving a transform


class _Depth(threading.local):
    value = 0  # transforms running, of any kind
    reverse = 0  # of them, reverse-mode ones (grad, vjp, jacrev)


_depth = _Depth()


def _as_tensor(leaf, name: str) -> Tensor:
    """A leaf as a floating-point Tensor (Python numbers and arrays keep NumPy's dtypes)."""
    t = leaf if isinstance(leaf, Tensor) else wrap(np.asarray(leaf))
    if t.dtype.kind not in "fc":
        raise TypeError(f"{name} requires real-valued inputs (a floating-point dtype), but got "
                        f"{t.dtype}. Pass floats (e.g. 1.0, or x.astype(float)); to "
                        "differentiate with respect to integers use vjp.")
    return t


def _input(leaf, name: str) -> Tensor:
    """A fresh differentiable stand-in for an argument, still connected to outer transforms
    (inside a vmap: a batched one, as what is differentiated there is per example)."""
    t = _as_tensor(leaf, name)
    level = vmap_levels.innermost()
    if level:
        return batching.stand_in(t, level)
    if t._rg:  # a view keeps the history an outer differentiation needs
        return rules.reshape(t, shape=t.shape, x_shape=t.shape)
    if t is not leaf:  # a fresh wrapper of the caller's array is already a leaf of our own
        return t.requires_grad_(True)
    stand_in = t.detach()  # an alias of the same values and tangents, as a leaf of our own
    stand_in._tangents = t._tangents
    return stand_in.requires_grad_(True)


def _record(tensors) -> bool:
    """Must the backward pass be recorded?  Only if reverse mode may differentiate it again:
    an enclosing reverse-mode transform, or the caller's own tensors that require grad."""
    return _depth.reverse > 1 or any(t._rg and t._node is not None for t in tensors)


def _backward(outputs, inputs, cotangents=None, retain_graph=None):
    """``autograd.grad`` as the transforms need it: recorded only when necessary (an outer
    reverse-mode differentiation, or cotangents that are themselves being differentiated), on
    tensors whenever forward mode is open (so that tangents flow through the gradients)."""
    cots = gradient.as_sequence(cotangents)
    record = _record(inputs) or any(isinstance(c, Tensor) and c._rg for c in cots)
    return gradient.gradients(outputs, inputs, cotangents, retain_graph=retain_graph,
                              create_graph=record, allow_unused=True,
                              # (inside vmap: rules on batched values, which are tensors)
                              through_tangents=bool(forward.state.levels)
                              or bool(vmap_levels.innermost()),
                              pytorch_convention=False)


def _outputs(tree, like, outer: bool):
    """:func:`_output` over every leaf of a structure (aux values, several outputs)."""
    leaves, spec = pytree.flatten(tree)
    return pytree.unflatten(spec, [_output(v, like, outer) for v in leaves])


def _output(value, like, outer: bool):
    """A result as the caller expects it: NumPy for NumPy inputs, Tensors for Tensors.

    It stays a live Tensor (with its history and tangents) when something outside this
    transform may still differentiate it: an enclosing transform (``outer``), an open forward
    level, or the caller's own tensor that requires grad.
    """
    if not isinstance(value, Tensor):
        return value
    if outer or forward.live_levels(value) or (isinstance(like, Tensor) and like._rg):
        return value
    if isinstance(like, Tensor):
        return value.detach()
    if tracing.active[0] is not None:  # (what NumPy then computes from it, compile cannot see)
        tracing.escaped("a chainrule.func result handed out as a NumPy array (the function's "
                        "inputs were NumPy arrays; pass tensors)")
    return value._data if isinstance(value._data, np.ndarray) else np.asarray(value._data)


def _argnums(name: str, argnums, n: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -n <= i < n:
            raise ValueError(f"{name}(f, argnums={argnums}): argnums out of range: f was called "
                             f"with {n} positional argument(s); pass the arguments to "
                             "differentiate positionally")
    return tuple(i % n for i in nums)


def _check_callable(name: str, f) -> None:
    if not callable(f):
        raise TypeError(f"{name}: Expected a callable value (the function to differentiate), "
                        f"got {f!r}; write {name}(f)(x), not {name}(f(x))")


class _Call:
    """One application of ``f`` with differentiable stand-ins for the arguments in argnums."""

    def __init__(self, name: str, f: Callable, args, argnums) -> None:
        self.args = list(args)
        self.nums = _argnums(name, argnums, len(args))
        self.specs, self.originals, self.inputs = [], [], []
        for i in self.nums:
            leaves, spec = pytree.flatten(args[i])
            stand_ins = [_input(leaf, name) for leaf in leaves]
            self.specs.append(spec)
            self.originals.append(leaves)
            self.inputs.extend(stand_ins)
            self.args[i] = pytree.unflatten(spec, stand_ins)
        self.out = f(*self.args)

    @property
    def like(self):
        """The first leaf of the differentiated arguments (its kind sets the results' kind)."""
        return self.originals[0][0] if self.originals and self.originals[0] else None

    def per_argument(self, flat: list, outer: bool) -> list:
        """Regroup one value per input leaf into the structure of the arguments in argnums."""
        grouped, start = [], 0
        for spec, leaves in zip(self.specs, self.originals):
            part = flat[start:start + len(leaves)]
            grouped.append(pytree.unflatten(spec, [_output(v, o, outer)
                                                   for v, o in zip(part, leaves)]))
            start += len(leaves)
        return grouped

    def gradients(self, outputs: list, cotangents=None, retain_graph=None) -> list:
        """One gradient per input leaf (zeros where none flows); no outputs: all zeros."""
        grads = (_backward(outputs, self.inputs, cotangents, retain_graph=retain_graph)
                 if outputs else (None,) * len(self.inputs))
        return [g if g is not None else _zeros_like(t) for g, t in zip(grads, self.inputs)]


def _enter(reverse: bool = False) -> None:
    _depth.value += 1
    _depth.reverse += reverse


def _outer() -> bool:
    """Is a transform active around the one being run (which counts itself in the depth)?"""
    return _depth.value > 1


def _leave(reverse: bool = False) -> None:
    _depth.value -= 1
    _depth.reverse -= reverse


def _zeros_like(t: Tensor) -> Tensor:
    return wrap(np.zeros(t.shape, t.dtype))


_REAL_OUTPUTS = ("{name} requires real-valued outputs (output dtype that is a sub-dtype of "
                 "np.floating), but got {dtype}. For holomorphic differentiation, pass "
                 "holomorphic=True. For differentiation of non-holomorphic functions involving "
                 "complex outputs, use vjp directly.")


def _check_holomorphic(name: str, what: str, tensors, holomorphic: bool) -> None:
    """With ``holomorphic``, the inputs or outputs (``what``) must all be complex."""
    if not holomorphic:
        return
    for t in tensors:
        if isinstance(t, Tensor) and t.dtype.kind != "c":
            raise TypeError(f"{name} with holomorphic=True requires {what} with complex dtype, "
                            f"but got {t.dtype.name}.")


# --------------------------------------------------------------------------------------------
# Reverse mode


def value_and_grad(f: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)`` (``((value, aux), gradient)`` with aux).

    ``f`` returns a real scalar; with ``holomorphic=True``, a complex scalar of complex
    arguments, and the gradient is the complex derivative ``f'(z)``.

    >>> import numpy as np
    >>> from chainrule.func import value_and_grad
    >>> value, g = value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    >>> float(value), g
    (5.0, array([2., 4.]))
    """

    _check_callable("value_and_grad", f)

    def value_and_gradient(*args):
        _enter(reverse=True)
        try:
            call = _Call("grad", f, args, argnums)
            _check_holomorphic("grad", "inputs", call.inputs, holomorphic)
            out, aux = _split_aux(call.out, has_aux, "grad")
            if not isinstance(out, Tensor) and np.ndim(out) == 0 and \
                    np.asarray(out).dtype.kind in "biuf":
                out = wrap(np.asarray(out))  # a constant: its gradient is zero
            if not isinstance(out, Tensor) or out.numel() != 1:
                shape = out.shape if isinstance(out, Tensor) else type(out).__name__
                raise TypeError("grad: Gradient only defined for scalar-output functions. Output "
                                f"had shape: {shape}. For other outputs use vjp (a "
                                "vector-Jacobian product) or jacobian.")
            if out.dtype.kind == "c" and not holomorphic:
                raise TypeError(_REAL_OUTPUTS.format(name="grad", dtype=out.dtype.name))
            _check_holomorphic("grad", "outputs", [out], holomorphic)
            if out.dtype.kind not in "fc":  # (a comparison's or a count's has no gradient)
                raise TypeError(f"grad requires real-valued outputs (output dtype that is a "
                                f"sub-dtype of np.floating), but got {out.dtype.name}. For "
                                "differentiation of functions with integer or boolean outputs, "
                                "there is no gradient: return a float instead.")
            if out.ndim:
                out = rules.reshape(out, shape=(), x_shape=out.shape)
            grads = call.gradients([out] if out._rg else [])
            grouped = call.per_argument(grads, _outer())
            result = grouped[0] if isinstance(argnums, int) else tuple(grouped)
            like = call.like if call.nums else out
            value = _output(out, like, _outer())
            return ((value, _outputs(aux, like, _outer())) if has_aux else value), result
        finally:
            _leave(reverse=True)

    return value_and_gradient


def grad(f: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False) -> Callable:
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``argnums``
    (``holomorphic``: see :func:`value_and_grad`).

    >>> from chainrule.func import grad
    >>> float(grad(lambda x: x ** 3)(2.0)), float(grad(grad(lambda x: x ** 3))(2.0))
    (12.0, 12.0)
    """
    _check_callable("grad", f)
    both = value_and_grad(f, argnums, has_aux, holomorphic)

    def gradient(*args):
        value, g = both(*args)
        return (g, value[1]) if has_aux else g

    return gradient


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """``torch.func``'s name and order: a function returning ``(gradient, func(*args))``, and
    ``(gradient, (value, aux))`` with ``has_aux`` (:func:`value_and_grad` returns them the
    other way round, as JAX does).

    >>> import numpy as np
    >>> from chainrule.func import grad_and_value
    >>> g, value = grad_and_value(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    >>> g, float(value)
    (array([2., 4.]), 5.0)
    """
    _check_callable("grad_and_value", func)
    both = value_and_grad(func, argnums, has_aux)

    def gradient_and_value(*args):
        value, g = both(*args)
        return g, value

    return gradient_and_value


def vjp(f: Callable, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one gradient per primal.

    ``vjp_fn`` may be called many times: the recorded computation is reused.

    >>> import numpy as np
    >>> from chainrule.func import vjp
    >>> out, pullback = vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> pullback(np.array([1.0, 10.0]))
    (array([ 2., 40.]),)
    """
    _check_callable("vjp", f)
    _enter(reverse=True)
    try:
        call = _Call("vjp", f, primals, tuple(range(len(primals))))
        out, aux = _split_aux(call.out, has_aux, "vjp")
        out_leaves, out_spec = pytree.flatten(out)
        outer = _outer()
    finally:
        _leave(reverse=True)
    like = call.like

    def vjp_fn(cotangent):
        cot_leaves, cot_spec = pytree.flatten(cotangent)
        if cot_spec != out_spec:
            raise ValueError("vjp_fn: the cotangent must have the structure of the output")
        outs, cots = [], []
        for o, c in zip(out_leaves, cot_leaves):
            c = _as_tensor(c, "vjp_fn")
            if c.shape != np.shape(o._data if isinstance(o, Tensor) else o):
                raise ValueError(f"vjp_fn: cotangent of shape {c.shape} for an output of shape "
                                 f"{np.shape(o._data if isinstance(o, Tensor) else o)}; they "
                                 "must match")
            if isinstance(o, Tensor) and o._rg:  # a constant output contributes nothing
                outs.append(o)
                cots.append(c if c.dtype == o.dtype else c.to(o.dtype))
        grads = call.gradients(outs, cots, retain_graph=True)
        # live when called inside a transform, or when the cotangents were differentiated
        return tuple(call.per_argument(grads, outer or _depth.value > 0))

    out_value = pytree.unflatten(out_spec, [_output(o, like, outer) for o in out_leaves])
    aux = _outputs(aux, like, outer)
    return (out_value, vjp_fn, aux) if has_aux else (out_value, vjp_fn)


def jacrev(f: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False, *,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian by reverse mode: one evaluation of ``f``, then one backward pass with every
    row of the identity as a batch of cotangents (``vmap`` of the VJP), ``chunk_size`` rows at
    a time if given (torch.func's argument: less memory, more passes).

    The outputs are real (the inputs may be complex: JAX's convention), or, with
    ``holomorphic=True``, inputs and outputs are complex and the Jacobian is ``f'(z)``.

    For one output and one argument the result has shape ``out.shape + arg.shape``; for
    structured outputs and ``argnums`` tuples, the output's structure of the arguments'.

    >>> import numpy as np
    >>> from chainrule.func import jacrev
    >>> jacrev(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    _check_callable("jacrev", f)
    _check_chunk_size("jacrev", chunk_size)

    def jacobian_rev(*args):
        _enter(reverse=True)
        try:
            call = _Call("jacrev", f, args, argnums)
            _check_holomorphic("jacrev", "inputs", call.inputs, holomorphic)
            out, aux = _split_aux(call.out, has_aux, "jacrev")
            out_leaves, out_spec = pytree.flatten(out)
            per_output = []
            for o in out_leaves:
                o = _as_tensor(o, "jacrev")
                if o.dtype.kind == "c" and not holomorphic:
                    raise TypeError(_REAL_OUTPUTS.format(name="jacrev", dtype=o.dtype.name))
                _check_holomorphic("jacrev", "outputs", [o], holomorphic)
                grouped = call.per_argument(_rows_of(call, o, chunk_size), _outer())
                per_output.append(grouped[0] if isinstance(argnums, int) else tuple(grouped))
            result = pytree.unflatten(out_spec, per_output)
            if has_aux:
                like = call.like
                return result, _outputs(aux, like, _outer())
            return result
        finally:
            _leave(reverse=True)

    return jacobian_rev


def _check_chunk_size(name: str, chunk_size) -> None:
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(
            chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{name}: chunk_size must be None or a positive int, got "
                         f"{chunk_size!r}")


def _rows_of(call: _Call, o: Tensor, chunk_size: int | None) -> list:
    """The Jacobian of the output ``o`` w.r.t. each input of ``call`` (``o.shape +
    input.shape``): ``vmap`` of the VJP over the rows of the identity, ``chunk_size`` at a time
    (so that the cotangents never take more than ``chunk_size * o.numel()`` numbers)."""
    n = o.numel()
    shapes = [tuple(o.shape) + tuple(t.shape) for t in call.inputs]
    if n == 0 or not o._rg:
        return [wrap(np.zeros(shape, t.dtype)) for shape, t in zip(shapes, call.inputs)]

    def pullback(cotangent):
        return tuple(call.gradients([o], cotangent, retain_graph=True))

    step = chunk_size or n
    parts = []
    for start in range(0, n, step):
        if step >= n:
            cotangents = np.eye(n, dtype=o.dtype)
        else:  # rows start.. of the identity
            rows = np.arange(start, min(start + step, n))
            cotangents = np.zeros((len(rows), n), o.dtype)
            cotangents[np.arange(len(rows)), rows] = 1
        parts.append(vmap(pullback)(cotangents.reshape((len(cotangents),) + tuple(o.shape))))
    blocks = []
    for j, shape in enumerate(shapes):
        pieces = [p[j] if isinstance(p[j], Tensor) else wrap(p[j]) for p in parts]
        block = pieces[0] if len(pieces) == 1 else cat(pieces, 0)
        blocks.append(rules.reshape(block, shape=shape, x_shape=tuple(block.shape)))
    return blocks


def _split_aux(out, has_aux: bool, name: str):
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{name}(f, has_aux=True): f must return a pair (output, aux)")
    return out[0], out[1]


def _stack(parts, out_shape, in_shape, dtype, dim: int = 0) -> Tensor:
    """One Jacobian block, ``out_shape + in_shape``, from its rows (dim 0) or columns (-1)."""
    shape = tuple(out_shape) + tuple(in_shape)
    if not parts:
        return wrap(np.zeros(shape, dtype))
    return stack(parts, dim=dim).reshape(shape)


# --------------------------------------------------------------------------------------------
# Forward mode


def jvp(f: Callable, primals, tangents, has_aux: bool = False):
    """``(f(*primals), J @ tangents)`` in one forward pass that carries the tangents.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.func import jvp
    >>> jvp(cr.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))[1]
    array([1.        , 0.54030231])
    """
    _check_callable("jvp", f)
    inputs = list(_leaf_pairs("jvp", primals, tangents))
    # the leaf whose kind (NumPy or Tensor) the results follow
    like = inputs[0][1][0] if inputs and inputs[0][1] else None
    level = forward.enter_level()
    _enter()
    try:
        args = []
        for spec, p_leaves, t_leaves in inputs:
            duals = [_dual(pl, tl, level) for pl, tl in zip(p_leaves, t_leaves)]
            args.append(pytree.unflatten(spec, duals))
        out, aux = _split_aux(f(*args), has_aux, "jvp")
        out_leaves, out_spec = pytree.flatten(out)
        results = [_unpack(o, level) for o in out_leaves]
        outer = _outer()
    finally:
        _leave()
        forward.exit_level(level)
    value = pytree.unflatten(out_spec, [_output(p, like, outer) for p, _ in results])
    tangent = pytree.unflatten(out_spec, [_output(t, like, outer) for _, t in results])
    aux = _outputs(aux, like, outer)
    return (value, tangent, aux) if has_aux else (value, tangent)


def _leaf_pairs(name: str, primals, tangents):
    """Per argument: (structure, primal leaves, tangent leaves), the structures checked."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"{name}(f, primals, tangents): primals and tangents must be tuples, "
                        f"e.g. {name}(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"{name}: {len(primals)} primals but {len(tangents)} tangents")
    for p, t in zip(primals, tangents):
        p_leaves, spec = pytree.flatten(p)
        t_leaves, t_spec = pytree.flatten(t)
        if t_spec != spec:
            raise ValueError(f"{name}: each tangent must have the structure of its primal")
        yield spec, p_leaves, t_leaves


def _dual(primal, tangent, level: int) -> Tensor:
    p = _as_tensor(primal, "jvp")
    t = _as_tensor(tangent, "jvp")
    if t.shape != p.shape:
        raise ValueError(f"jvp: tangent of shape {t.shape} for a primal of shape {p.shape}; "
                         "they must match")
    if t.dtype != p.dtype:
        raise TypeError(f"jvp: tangent dtype {t.dtype} does not match primal dtype {p.dtype}; "
                        "cast the tangent")
    return forward_ad.make_dual(p, t, level=level)


def _unpack(out, level: int) -> tuple[Tensor, Tensor]:
    out = out if isinstance(out, Tensor) else wrap(np.asarray(out))
    primal, tangent = forward_ad.unpack_dual(out, level=level)
    return primal, (tangent if tangent is not None else _zeros_like(out))


def linearize(f: Callable, *primals):
    """``(f(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the Jacobian-vector product at
    ``primals``.  (Each call of ``f_jvp`` runs ``f`` forward again with the tangents.)
    """
    value = jvp(f, primals, tuple(_zeros_of(p) for p in primals))[0]

    def f_jvp(*tangents):
        return jvp(f, primals, tangents)[1]

    return value, f_jvp


def _zeros_of(tree):
    leaves, spec = pytree.flatten(tree)
    return pytree.unflatten(spec, [np.zeros_like(np.asarray(_as_tensor(x, "linearize")._data))
                                   for x in leaves])


def jacfwd(f: Callable, argnums=0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian by forward mode: one pass per input element (best for few inputs).

    The inputs are real, or, with ``holomorphic=True``, inputs and outputs are complex and the
    Jacobian is ``f'(z)``.

    Arguments not in ``argnums`` are passed through as they are (they may be anything).

    >>> import numpy as np
    >>> from chainrule.func import jacfwd
    >>> jacfwd(lambda x: x ** 2)(np.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    _check_callable("jacfwd", f)

    def jacobian_fwd(*args):
        nums = _argnums("jacfwd", argnums, len(args))
        diff = tuple(args[i] for i in nums)

        def restricted(*xs):  # f of the differentiated arguments; the others are closed over
            full = list(args)
            for i, x in zip(nums, xs):
                full[i] = x
            return f(*full)

        specs, originals, leaves = [], [], []
        for a in diff:
            flat, spec = pytree.flatten(a)
            specs.append(spec)
            originals.append(flat)
            leaves.append([_as_tensor(leaf, "jacfwd") for leaf in flat])
            for t in leaves[-1]:
                if t.dtype.kind == "c" and not holomorphic:
                    raise TypeError(
                        "jacfwd requires real-valued inputs (input dtype that is a sub-dtype of "
                        f"np.floating), but got {t.dtype.name}. For holomorphic "
                        "differentiation, pass holomorphic=True. For differentiation of "
                        "non-holomorphic functions involving complex inputs or integer inputs, "
                        "use jvp directly.")
            _check_holomorphic("jacfwd", "inputs", leaves[-1], holomorphic)
        # one forward pass whose tangents are the columns of the identity, as a batch: the
        # tangent of input element e is the e-th unit vector over all the inputs' elements
        sizes = [t.numel() for group in leaves for t in group]
        n = sum(sizes)
        starts = np.cumsum([0] + sizes)
        basis = np.eye(n)
        directions = [basis[:, start:start + t.numel()].reshape((n,) + tuple(t.shape))
                      .astype(t.dtype) for start, t in zip(starts, (t for g in leaves for t in g))]

        def pushforward(*flat):
            groups, start = [], 0
            for spec, group in zip(specs, leaves):
                groups.append(pytree.unflatten(spec, list(flat[start:start + len(group)])))
                start += len(group)
            return jvp(restricted, diff, tuple(groups), has_aux=has_aux)

        if n:  # (the output never depends on the batch: out_axes None for it and aux)
            result = _vmap_call(pushforward, directions, {}, 0,
                                (None, -1, None) if has_aux else (None, -1),
                                tangents_only=True)
            out, columns, aux = result if has_aux else (*result, None)
        else:  # no input element at all: evaluate once for the output
            out, aux = _split_aux(restricted(*diff), has_aux, "jacfwd")
            columns = pytree.tree_map(lambda o: np.zeros(np.shape(
                o._data if isinstance(o, Tensor) else o) + (0,)), out)
        out_leaves, out_spec = pytree.flatten(out)
        columns = pytree.tree_leaves(columns)
        _check_holomorphic("jacfwd", "outputs", out_leaves, holomorphic)
        outer = _depth.value > 0
        per_output = []
        for i, o in enumerate(out_leaves):
            out_shape = np.shape(o._data if isinstance(o, Tensor) else o)
            block = columns[i] if isinstance(columns[i], Tensor) else wrap(columns[i])
            per_argument, e = [], 0
            for k, group in enumerate(leaves):
                blocks = []
                for j, t in enumerate(group):  # columns e.. belong to this input leaf
                    block_j = block[..., int(starts[e]):int(starts[e + 1])]
                    blocks.append(_output(block_j.reshape(tuple(out_shape) + tuple(t.shape)),
                                          originals[k][j], outer))
                    e += 1
                per_argument.append(pytree.unflatten(specs[k], blocks))
            per_output.append(per_argument[0] if isinstance(argnums, int)
                              else tuple(per_argument))
        result = pytree.unflatten(out_spec, per_output)
        like = originals[0][0] if originals and originals[0] else None
        return (result, _outputs(aux, like, outer)) if has_aux else result

    return jacobian_fwd


def jacobian(f: Callable, argnums=0, mode: str = "auto", holomorphic: bool = False) -> Callable:
    """The Jacobian: ``mode="fwd"``, ``"rev"``, or ``"auto"`` (forward mode when the inputs
    have fewer elements than the output, reverse mode otherwise).
    """
    if mode not in ("auto", "fwd", "rev"):
        raise ValueError(f"jacobian: mode must be 'auto', 'fwd' or 'rev', got {mode!r}")

    def jacobian_auto(*args):
        chosen = mode
        if chosen == "auto":
            nums = _argnums("jacobian", argnums, len(args))
            n_in = sum(np.size(_as_tensor(leaf, "jacobian")._data)
                       for i in nums for leaf in pytree.tree_leaves(args[i]))
            out = f(*args)
            n_out = sum(np.size(o._data if isinstance(o, Tensor) else o)
                        for o in pytree.tree_leaves(out))
            chosen = "fwd" if n_in < n_out else "rev"
        return (jacfwd if chosen == "fwd" else jacrev)(f, argnums,
                                                      holomorphic=holomorphic)(*args)

    return jacobian_auto


def hessian(f: Callable, argnums=0, holomorphic: bool = False) -> Callable:
    """The Hessian of scalar-valued ``f``: forward mode over reverse mode, ``jacfwd(jacrev(f))``.

    >>> import numpy as np
    >>> from chainrule.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(f, argnums, holomorphic=holomorphic), argnums, holomorphic=holomorphic)


def hvp(f: Callable, primals, tangents):
    """``(f(*primals), H @ tangents)``: a Hessian-vector product of scalar-valued ``f``.

    Computed as the gradient of the directional derivative, ``grad_x (J_f(x) . v)`` (reverse
    mode over forward mode): the inputs carry the tangents ``v`` through one recorded forward
    pass, and one plain backward pass differentiates the resulting directional derivative.

    >>> import numpy as np
    >>> from chainrule.func import hvp
    >>> hvp(lambda x: (x ** 3).sum(), (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))[1]
    array([ 6., 12.])
    """
    pairs = list(_leaf_pairs("hvp", primals, tangents))
    _enter(reverse=True)
    try:
        level = forward.enter_level()
        try:
            call = _Call("hvp", lambda *xs: xs, primals, tuple(range(len(primals))))
            for stand_in, v in zip(call.inputs, _flat_tangents(pairs)):
                lower = dict(stand_in._tangents) if stand_in._tangents else {}
                lower[level] = v  # the stand-in requires grad and carries v: both modes at once
                stand_in._tangents = lower
            out = f(*call.args)
            if not isinstance(out, Tensor) or out.numel() != 1:
                raise TypeError("hvp: f must return a scalar (a one-element tensor)")
            slope = out._tangents.get(level) if out._tangents else None  # J_f(x) . v
        finally:
            forward.exit_level(level)
        grads = call.gradients(
            [rules.reshape(slope, shape=(), x_shape=slope.shape) if slope.ndim else slope]
            if isinstance(slope, Tensor) and slope._rg else [])
        hv = call.per_argument(grads, _outer())
    finally:
        _leave(reverse=True)
    value = _output(out, call.like, _depth.value > 0)
    return value, (hv[0] if len(primals) == 1 else tuple(hv))


def _flat_tangents(pairs) -> list:
    """The tangents as float arrays, one per leaf of the primals, checked against them."""
    flat = []
    for _, p_leaves, t_leaves in pairs:
        for pl, tl in zip(p_leaves, t_leaves):
            pt, tt = _as_tensor(pl, "hvp"), _as_tensor(tl, "hvp")
            if pt.shape != tt.shape:
                raise ValueError(f"hvp: tangent of shape {tt.shape} for a primal of shape "
                                 f"{pt.shape}; they must match")
            flat.append(tt if tt._rg or tt._tangents or tt._batched
                        else tt._data.astype(pt.dtype, copy=False))
    return flat


# --------------------------------------------------------------------------------------------
# vmap

RANDOMNESS = ("error", "same", "different")


def vmap(func: Callable, in_axes=0, out_axes=0, randomness: str = "error",
         chunk_size: int | None = None) -> Callable:
    """``func`` mapped over a batch: ``vmap(f)(xs)[b]`` is ``f(xs[b])``, in one call per operation.

    As ``torch.func.vmap``: ``in_axes`` says which axis of each positional argument is the
    batch (an int, negative ones counted from the end; None: the argument is the same for
    every example), for all arguments at once or as a tuple with one entry per argument, each
    an int, None, or a structure matching the argument's (tuples, lists, dicts).  Keyword
    arguments are not mapped.  ``out_axes`` (an int, or a structure matching the result's)
    says where the batch goes in each result; None is allowed for a result that is the same
    for every example.  Results that do not depend on the batch are broadcast.  vmaps nest
    (``vmap(vmap(f))``), and ``grad`` of a vmap differentiates through it.

    ``randomness`` says what random functions (``cr.randn``, ``rand_like``, ``dropout``, ...)
    do inside: ``'error'`` raises, ``'same'`` draws once for all examples, ``'different'``
    draws for each example.  ``chunk_size`` runs the batch in chunks of that many examples.
    NumPy in gives NumPy out; Tensors in give Tensors out.

    >>> import numpy as np, chainrule as cr
    >>> from chainrule.func import vmap
    >>> xs = np.arange(6.0).reshape(2, 3)
    >>> vmap(lambda x: (x * x).sum())(xs)
    array([ 5., 50.])
    >>> vmap(lambda x, w: x @ w, in_axes=(1, None))(xs, np.ones(2))
    array([3., 5., 7.])
    """
    if not callable(func):
        raise TypeError(f"vmap: Expected a callable value (the function to map), got {func!r}; "
                        "write vmap(f)(xs), not vmap(f(xs))")
    if randomness not in RANDOMNESS:
        raise ValueError(f"vmap: randomness must be one of {RANDOMNESS}, got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")

    def mapped(*args, **kwargs):
        if chunk_size is None:
            return _vmap_call(func, args, kwargs, in_axes, out_axes, randomness)
        return _vmap_chunks(func, args, kwargs, in_axes, out_axes, chunk_size, randomness)

    return mapped


def _vmap_call(func, args, kwargs, in_axes, out_axes, randomness: str = "error",
               tangents_only: bool = False):
    """One vmapped call: a level opened, the arguments batched, the results unbatched."""
    level = batching.enter_level(randomness, tangents_only)
    _enter()
    try:
        inner, size, tensors_in = batching.batch_arguments(args, in_axes, level)
        out = func(*inner, **kwargs)
        leaves, spec = batching.unbatch_outputs(out, out_axes, level, size)
        outer = _outer()
    finally:
        _leave()
        batching.exit_level(level)
    if spec.kind is None:  # (one result, not a structure)
        return _vmap_result(leaves[0], tensors_in, outer)
    return pytree.unflatten(spec, [_vmap_result(v, tensors_in, outer) for v in leaves])


def _vmap_result(value, tensors_in: bool, outer: bool):
    """NumPy in, NumPy out; a tensor that an enclosing transform or a recorded graph needs, or
    any result of tensors in, stays a Tensor."""
    if isinstance(value, np.ndarray):
        return wrap(value) if tensors_in else value
    if isinstance(value, Tensor) and not (tensors_in or outer or value._rg or value._batched
                                          or value._tangents is not None):
        return value._data
    return value


def _shape(leaf) -> tuple:
    return tuple(leaf.shape) if isinstance(leaf, Tensor) else np.shape(leaf)


def _vmap_chunks(func, args, kwargs, in_axes, out_axes, chunk_size: int, randomness="error"):
    """The batch in chunks of ``chunk_size`` examples, one vmapped call each, concatenated;
    under ``randomness='same'`` each chunk starts from the same generator state, so that all
    examples share one draw, as in PyTorch."""
    per_arg = in_axes if isinstance(in_axes, (tuple, list)) else [in_axes] * len(args)
    axes = [batching.axes_per_leaf(a, arg, f"in_axes[{i}]")
            for i, (a, arg) in enumerate(zip(per_arg, args))]
    sizes = [_shape(leaf)[ax]
             for arg, arg_axes in zip(args, axes)
             for leaf, ax in zip(pytree.tree_leaves(arg), arg_axes) if ax is not None]
    if not sizes or len(set(sizes)) > 1:  # (the unchunked call says what is wrong)
        return _vmap_call(func, args, kwargs, in_axes, out_axes, randomness)
    parts = []
    state = generator.default_rng().bit_generator.state if randomness == "same" else None
    for start in range(0, sizes[0], chunk_size):
        if state is not None:
            generator.default_rng().bit_generator.state = state
        window = slice(start, start + chunk_size)
        chunk = []
        for arg, arg_axes in zip(args, axes):
            leaves, spec = pytree.flatten(arg)
            chunk.append(pytree.unflatten(spec, [
                leaf if ax is None else leaf[(slice(None),) * (ax % len(_shape(leaf))) + (window,)]
                for leaf, ax in zip(leaves, arg_axes)]))
        parts.append(_vmap_call(func, tuple(chunk), kwargs, in_axes, out_axes, randomness))
    _, spec = pytree.flatten(parts[0])
    out_axis_of = batching.axes_per_leaf(out_axes, parts[0], "out_axes")
    flat = [pytree.tree_leaves(p) for p in parts]
    joined = []
    for j, axis in enumerate(out_axis_of):
        pieces = [leaves[j] for leaves in flat]
        if axis is None:
            joined.append(pieces[0])
        elif isinstance(pieces[0], Tensor):
            joined.append(cat(pieces, axis))
        else:
            joined.append(np.concatenate(pieces, axis))
    return pytree.unflatten(spec, joined)
