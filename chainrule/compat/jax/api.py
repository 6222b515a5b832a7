"""JAX's transforms for the front end: thin wrappers around :mod:`chainrule.func`.

Each wrapper lifts the arguments to Arrays (Python numbers become weakly typed float32),
hands their Tensors to the transform of the same name in ``chainrule.func``, shows the user's
function Arrays (so that ``x.sum()``, ``jnp.dot`` and the repr are JAX's), and wraps what comes
back into Arrays again.  Checks and error messages are JAX's.

>>> from chainrule.compat.jax import grad, numpy as jnp
>>> grad(lambda x: 2 * jnp.dot(x, x))(jnp.arange(4.0))
Array([ 0.,  4.,  8., 12.], dtype=float32)
>>> grad(lambda x: x ** 3)(2.0)
Array(12., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

import chainrule
import chainrule.func as cf
import chainrule.numpy as cnp
from chainrule import Tensor, pytree
from chainrule.compat.jax import numpy as jnp
from chainrule.compat.jax.core import Array, from_tensor, lift, to_tensor
from chainrule.compat.jax.tree_util import tree_leaves, tree_map

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "linearize", "jacfwd", "jacrev",
           "jacobian", "hessian", "vmap"]

_IGNORE = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}  # JAX never warns
_depth = [0]  # transforms of this module running (their aux outputs stay live inside others)


def _type_str(a: Array) -> str:
    return f"{a.dtype.name}[{','.join(str(n) for n in a.shape)}]"


def _type_name(value) -> str:
    return "ArrayImpl" if isinstance(value, Array) else type(value).__name__


def _nums(argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if i >= nargs or i < -nargs:
            need = max(i if i >= 0 else -i - 1 for i in nums) + 1
            raise TypeError(f"differentiating with respect to argnums={argnums} requires at "
                            f"least {need} positional arguments to be passed by the caller, "
                            f"but got only {nargs} positional arguments.")
    return tuple(i % nargs for i in nums)


def _check_rev_input(name: str, allow_int: bool):
    def check(a: Array) -> None:
        if a.dtype.kind not in "fc" and not allow_int:
            raise TypeError(f"{name} requires real- or complex-valued inputs (input dtype that "
                            "is a sub-dtype of np.inexact), but got "
                            f"{a.dtype.name}. If you want to use Boolean- or integer-valued "
                            "inputs, use vjp or set allow_int to True.")
        if a.dtype.kind not in "fc":
            raise NotImplementedError(f"{name}(allow_int=True) is not supported by chainrule; "
                                      "differentiate with respect to floating-point inputs")
    return check


def _check_fwd_input(name: str, holomorphic: bool = False):
    def check(a: Array) -> None:
        if a.dtype.kind != "f" and not (holomorphic and a.dtype.kind == "c"):
            raise TypeError(f"{name} requires real-valued inputs (input dtype that is a "
                            f"sub-dtype of np.floating), but got {a.dtype.name}. For "
                            "holomorphic differentiation, pass holomorphic=True. For "
                            "differentiation of non-holomorphic functions involving complex "
                            "inputs or integer inputs, use jax.jvp directly.")
    return check


class _Call:
    """The arguments of one call, lifted, and ``fun`` as chainrule.func should see it."""

    def __init__(self, fun: Callable, args, nums, check, has_aux: bool = False,
                 scalar: bool = False, holomorphic: bool = False) -> None:
        self.args, self.weak = list(args), {}
        for i in nums:
            arrays = tree_map(lift, args[i])
            for leaf in tree_leaves(arrays):
                check(leaf)
            self.weak[i] = tree_map(lambda a: a.weak_type, arrays)
            self.args[i] = tree_map(to_tensor, arrays)
        self.fun, self.has_aux, self.scalar, self.out_weak = fun, has_aux, scalar, None
        self.holomorphic = holomorphic

    def __call__(self, *tensors):
        args = list(tensors)
        for i, weak in self.weak.items():
            args[i] = tree_map(from_tensor, tensors[i], weak)
        out = self.fun(*args)
        aux = None
        if self.has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("expected function with aux output to return a two-element "
                                f"tuple, but got type {type(out)} with value {out!r}")
            out, aux = out
        if self.scalar:
            _check_scalar_output(out, self.holomorphic)
        arrays = tree_map(lift, out)
        self.out_weak = tree_map(lambda a: a.weak_type, arrays)
        out = tree_map(to_tensor, arrays)
        return (out, aux) if self.has_aux else out

    def inputs(self, values, i: int):
        return tree_map(from_tensor, values, self.weak[i])

    def outputs(self, values):
        return tree_map(from_tensor, values, self.out_weak)


def _check_scalar_output(out, holomorphic: bool = False) -> None:
    if not isinstance(out, (Array, int, float, np.ndarray, np.generic)) \
            or isinstance(out, bool):
        raise TypeError(f"Gradient only defined for scalar-output functions. Output was {out}.")
    a = lift(out)
    if a.shape != ():
        raise TypeError("Gradient only defined for scalar-output functions. Output had shape: "
                        f"{a.shape}.")
    if a.dtype.kind != "f" and not (holomorphic and a.dtype.kind == "c"):
        if holomorphic:
            raise TypeError("grad with holomorphic=True requires outputs with complex dtype, but "
                            f"got {a.dtype.name}.")
        extra = ("For holomorphic differentiation, pass holomorphic=True. For differentiation "
                 "of non-holomorphic functions involving complex outputs, use jax.vjp directly."
                 if a.dtype.kind == "c" else
                 "For differentiation of functions with integer outputs, use jax.vjp directly.")
        raise TypeError("grad requires real-valued outputs (output dtype that is a sub-dtype of "
                        f"np.floating), but got {a.dtype.name}. {extra}")


def _stopped(aux):
    """aux as returned to the user: constants, unless an outer transform is still running."""
    if _depth[0]:
        return aux
    return tree_map(lambda v: from_tensor(to_tensor(v).detach(), v.weak_type)
                    if isinstance(v, Array) else v, aux)


def _transform(body):
    """Count the transform's depth and silence NumPy's floating-point warnings inside it."""

    @functools.wraps(body)
    def run(*args, **kwargs):
        _depth[0] += 1
        try:
            with np.errstate(**_IGNORE):
                return body(*args, **kwargs)
        finally:
            _depth[0] -= 1

    return run


# --------------------------------------------------------------------------------------------
# reverse mode


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False, reduce_axes=()) -> Callable:
    """``(fun(*args), gradient)``; with ``has_aux``, ``((value, aux), gradient)``."""

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        nums = _nums(argnums, len(args))
        f = functools.partial(fun, **kwargs) if kwargs else fun
        call = _Call(f, args, nums, _check_rev_input("grad", allow_int), has_aux, scalar=True,
                     holomorphic=holomorphic)
        run = _transform(cf.value_and_grad(call, argnums, has_aux, holomorphic))
        value, grads = run(*call.args)
        if has_aux:
            value, aux = value
        value = call.outputs(value)
        if isinstance(argnums, int):
            grads = call.inputs(grads, nums[0])
        else:
            grads = tuple(call.inputs(g, i) for g, i in zip(grads, nums))
        return ((value, _stopped(aux)) if has_aux else value), grads

    return value_and_grad_f


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False, reduce_axes=()) -> Callable:
    """The gradient of scalar-output ``fun`` with respect to argument(s) ``argnums``.

    >>> from chainrule.compat.jax import grad
    >>> grad(lambda a, b: a * b ** 2, argnums=(0, 1))(3.0, 2.0)
    (Array(4., dtype=float32, weak_type=True), Array(12., dtype=float32, weak_type=True))
    """
    both = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        value, g = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """``(fun(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns a tuple, one entry per primal.

    >>> from chainrule.compat.jax import vjp, numpy as jnp
    >>> y, f_vjp = vjp(lambda x: x * x, jnp.arange(4.0))
    >>> f_vjp(jnp.ones(4))
    (Array([0., 2., 4., 6.], dtype=float32),)
    """
    nums = tuple(range(len(primals)))
    call = _Call(fun, primals, nums, _check_rev_input("vjp", True), has_aux)
    result = _transform(cf.vjp)(call, *call.args, has_aux=has_aux)
    out, pullback = call.outputs(result[0]), result[1]
    aux = _stopped(result[2]) if has_aux else None

    def vjp_fn(cotangent):
        expected = tree_leaves(out)
        given = tree_map(lift, cotangent)
        leaves = tree_leaves(given)
        if len(leaves) != len(expected):
            raise ValueError("unexpected tree structure of argument to vjp function: got "
                             f"{cotangent!r}, but expected a value with the structure of "
                             f"{out!r}")
        for c, o in zip(leaves, expected):
            if c.shape != o.shape or c.dtype != o.dtype:
                raise ValueError("unexpected JAX type (e.g. shape/dtype) for argument to VJP "
                                 f"function: got {_type_str(c)}, but expected {_type_str(o)} "
                                 "because the corresponding output of the differentiated "
                                 f"function had JAX type {_type_str(o)}")
        grads = _transform(pullback)(tree_map(to_tensor, given))
        return tuple(call.inputs(g, i) for g, i in zip(grads, nums))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False) -> Callable:
    """The Jacobian by reverse mode, shape ``out.shape + in.shape``."""

    @functools.wraps(fun)
    def jacrev_f(*args):
        nums = _nums(argnums, len(args))
        call = _Call(fun, args, nums, _check_rev_input("jacrev", allow_int), has_aux)
        result = _transform(cf.jacrev(call, argnums, has_aux, holomorphic))(*call.args)
        jac, aux = result if has_aux else (result, None)
        if isinstance(argnums, int):
            jac = call.inputs(jac, nums[0])
        else:
            jac = tuple(call.inputs(j, i) for j, i in zip(jac, nums))
        return (jac, _stopped(aux)) if has_aux else jac

    return jacrev_f


jacobian = jacrev


# --------------------------------------------------------------------------------------------
# forward mode


def _pairs(primals, tangents):
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("primal and tangent arguments to jax.jvp must be tuples or lists; found "
                        f"{_type_name(primals)} and {_type_name(tangents)}.")
    p_arrays, t_arrays = tree_map(lift, list(primals)), tree_map(lift, list(tangents))
    p_leaves, t_leaves = tree_leaves(p_arrays), tree_leaves(t_arrays)
    if len(primals) != len(tangents) or len(p_leaves) != len(t_leaves):
        raise TypeError("primal and tangent arguments to jax.jvp must have the same tree "
                        f"structure; primals have {len(p_leaves)} leaves whereas tangents have "
                        f"{len(t_leaves)}.")
    for p, t in zip(p_leaves, t_leaves):
        if p.dtype != t.dtype:
            raise TypeError("primal and tangent arguments to jax.jvp do not match; dtypes must "
                            "be equal, or in case of int/bool primal dtype the tangent dtype "
                            f"must be float0.Got primal dtype {p.dtype.name} and so expected "
                            f"tangent dtype {p.dtype.name}, but got tangent dtype "
                            f"{t.dtype.name} instead.")
        if p.shape != t.shape:
            raise ValueError("jvp called with different primal and tangent shapes;Got primal "
                             f"shape {p.shape} and tangent shape as {t.shape}")
    return p_arrays, t_arrays


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """``(fun(*primals), J @ tangents)`` by forward mode.

    >>> from chainrule.compat.jax import jvp, numpy as jnp
    >>> jvp(lambda x: x ** 3, (2.0,), (1.0,))
    (Array(8., dtype=float32, weak_type=True), Array(12., dtype=float32, weak_type=True))
    """
    p_arrays, t_arrays = _pairs(primals, tangents)
    nums = tuple(range(len(p_arrays)))
    call = _Call(fun, p_arrays, nums, lambda a: None, has_aux)
    result = _transform(cf.jvp)(call, tuple(call.args), tuple(tree_map(to_tensor, t_arrays)),
                                has_aux=has_aux)
    value, tangent = call.outputs(result[0]), call.outputs(result[1])
    return (value, tangent, _stopped(result[2])) if has_aux else (value, tangent)


def linearize(fun: Callable, *primals, has_aux: bool = False):
    """``(fun(*primals), f_jvp)`` with ``f_jvp(*tangents)`` the Jacobian-vector product."""
    if has_aux:
        zeros = tuple(tree_map(jnp.zeros_like, tree_map(lift, p)) for p in primals)
        value, _, aux = jvp(fun, primals, zeros, has_aux=True)
        return value, (lambda *tangents: jvp(fun, primals, tangents, has_aux=True)[1]), aux
    nums = tuple(range(len(primals)))
    call = _Call(fun, primals, nums, lambda a: None)
    value, f_jvp = _transform(cf.linearize)(call, *call.args)
    value = call.outputs(value)

    def jvp_fn(*tangents):
        _pairs(tuple(tree_map(lift, primals)), tangents)
        return call.outputs(_transform(f_jvp)(*tree_map(to_tensor, tree_map(lift, tangents))))

    return value, jvp_fn


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian by forward mode, shape ``out.shape + in.shape``."""

    @functools.wraps(fun)
    def jacfwd_f(*args):
        nums = _nums(argnums, len(args))
        call = _Call(fun, args, nums, _check_fwd_input("jacfwd", holomorphic), has_aux)
        result = _transform(cf.jacfwd(call, argnums, has_aux, holomorphic))(*call.args)
        jac, aux = result if has_aux else (result, None)
        out_weak = all(tree_leaves(call.out_weak)) if call.out_weak is not None else False
        wrap = functools.partial(tree_map, lambda t: from_tensor(t, out_weak))
        jac = wrap(jac) if isinstance(argnums, int) else tuple(wrap(j) for j in jac)
        return (jac, _stopped(aux)) if has_aux else jac

    return jacfwd_f


def hessian(fun: Callable, argnums=0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable:
    """``jacfwd(jacrev(fun))``: forward mode over reverse mode.

    >>> from chainrule.compat.jax import hessian, numpy as jnp
    >>> hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
    Array([[ 6.,  0.],
           [ 0., 12.]], dtype=float32)
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


# --------------------------------------------------------------------------------------------
# batching: chainrule.func.vmap, with JAX's conventions on the way in and out


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size: int | None = None,
         spmd_axis_name=None) -> Callable:
    """``fun`` mapped over axis ``in_axes`` of its arguments, results stacked on ``out_axes``,
    as ``jax.vmap``: ``in_axes`` is an int, None, or a tuple (a list is taken as one) with an
    entry per positional argument, each an int, None or a structure like the argument's;
    keyword arguments are mapped over axis 0; ``axis_size`` gives the batch size when no
    argument is mapped.  Runs on ``chainrule.func.vmap`` (one batched call per operation).
    ``axis_name`` is accepted for the collectives that name it; the dialect has none (no
    ``lax.psum``), so it has no effect.

    >>> from chainrule.compat.jax import grad, vmap, numpy as jnp
    >>> vmap(grad(jnp.sin))(jnp.zeros(3))
    Array([1., 1., 1.], dtype=float32)
    >>> vmap(lambda x, y: x @ y, in_axes=(1, None))(jnp.ones((2, 3)), jnp.arange(2.0))
    Array([1., 1., 1.], dtype=float32)
    >>> vmap(lambda: 2.0, axis_size=2)()
    Array([2., 2.], dtype=float32, weak_type=True)
    """
    if not callable(fun):
        raise TypeError(f"vmap requires a callable, but got {fun!r} (of type "
                        f"{type(fun).__name__})")
    if isinstance(in_axes, list):  # (JAX takes a list for a tuple at the top level)
        in_axes = tuple(in_axes)
    if not (in_axes is None or isinstance(in_axes, (int, tuple, dict))) or \
            isinstance(in_axes, bool):
        raise ValueError("vmap in_axes must be an int, None, or a tuple of entries "
                         "corresponding to the positional arguments passed to the function, "
                         f"but got {in_axes}.")

    @functools.wraps(fun)
    def vmap_f(*args, **kwargs):
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple of entries "
                             f"corresponding to the positional arguments passed to the "
                             f"function, but got len(in_axes)={len(axes)}, len(args)={len(args)}")
        names = _argument_names(fun, len(args))
        args = list(args)
        weak = {}
        found = [] if axis_size is None else [(int(axis_size), "the `axis_size` argument was "
                                               f"{axis_size}")]
        arguments = [(i, names[i], ax) for i, ax in enumerate(axes)]
        if kwargs:
            args.append(dict(kwargs))  # keyword arguments: mapped over axis 0
            arguments.append((len(args) - 1, "kwargs", 0))
        for i, name, ax in arguments:
            if ax is None:
                continue
            arrays = tree_map(lift, args[i])
            weak[i] = tree_map(lambda a: a.weak_type, arrays)
            found.extend(_mapped_sizes(arrays, ax, name))
            args[i] = tree_map(to_tensor, arrays)
        sizes = {size for size, _ in found}
        if not found:
            raise ValueError("vmap must have at least one non-None value in in_axes or "
                             "axis_size must be specified")
        if len(sizes) > 1:
            raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n" +
                             ";\n".join(f"  * {what}" for _, what in found))
        out_weak = []

        def per_example(*tensors):
            given = list(tensors[1:])  # (the first is the batch's index, for axis_size)
            for i, w in weak.items():
                given[i] = tree_map(from_tensor, given[i], w)
            keywords = given.pop() if kwargs else {}
            out = tree_map(lift, fun(*given, **keywords))
            out_weak.append(tree_map(lambda a: a.weak_type, out))
            return tree_map(to_tensor, out)

        # an index over the batch is always mapped, so that axis_size alone is a batch
        index = np.arange(sizes.pop())
        all_axes = (0,) + axes + ((0,) if kwargs else ())
        try:
            out = cf.vmap(per_example, in_axes=all_axes, out_axes=out_axes)(index, *args)
        except (NotImplementedError, RuntimeError) as e:
            if isinstance(e, RuntimeError) and not str(e).startswith("vmap:"):
                raise
            # what chainrule.func.vmap cannot batch (jax.random on a batch of keys, which
            # reads the keys' values; Python control flow on a batched value, which JAX
            # refuses too) runs one example at a time: the same results, without the speed
            out_weak.clear()
            out = _one_at_a_time(per_example, all_axes, out_axes, index, args)
        return tree_map(from_tensor, out, out_weak[0])

    return _transform(vmap_f)


def _one_at_a_time(per_example: Callable, axes: tuple, out_axes, index, args: list):
    """The results of ``per_example`` on each example in turn, stacked on ``out_axes``."""
    outs = []
    for b in range(len(index)):
        sliced = [arg if ax is None else tree_map(
            lambda leaf, ax=ax: leaf[(slice(None),) * (ax % leaf.ndim) + (b,)], arg)
            for arg, ax in zip([index, *args], axes)]
        outs.append(per_example(*sliced))
    out_axis = out_axes if isinstance(out_axes, int) else 0
    return tree_map(lambda *leaves: cnp.moveaxis(cnp.stack(leaves), 0, out_axis), *outs)


def _argument_names(fun: Callable, n: int) -> list[str]:
    """The names of ``fun``'s first ``n`` positional parameters, for JAX's messages."""
    try:
        params = [p.name for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(n)]


def _leaf_axes(axes, tree) -> list:
    """``(leaf, axis)`` for each leaf of ``tree``, ``axes`` being one axis for all of them or
    a structure like ``tree``'s down to axes (a prefix of it, in JAX's words)."""
    if axes is None or isinstance(axes, int):
        return [(leaf, axes) for leaf in tree_leaves(tree)]
    if isinstance(axes, dict) and isinstance(tree, dict) and set(axes) == set(tree):
        return [pair for key in sorted(tree) for pair in _leaf_axes(axes[key], tree[key])]
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)) and \
            len(axes) == len(tree):
        return [pair for ax, sub in zip(axes, tree) for pair in _leaf_axes(ax, sub)]
    raise ValueError(f"vmap in_axes specification must be a tree prefix of the corresponding "
                     f"value, got specification {axes} for value tree {tree!r}.")


def _mapped_sizes(arrays, axes, name: str) -> list[tuple[int, str]]:
    """``(size, description)`` of the mapped axis of each leaf of an argument, JAX's rank error
    where a leaf has no such axis."""
    out = []
    pairs = [(a, axis) for a, axis in _leaf_axes(axes, arrays) if axis is not None]
    for j, (a, axis) in enumerate(pairs):
        if not -a.ndim <= axis < max(a.ndim, 1) or a.ndim == 0:
            raise ValueError(f"vmap was requested to map its argument along axis {axis}, which "
                             f"implies that its rank should be at least {max(axis, -axis - 1) + 1}"
                             f", but is only {a.ndim} (its shape is {a.shape})")
        where = name if len(pairs) == 1 else f"{name} (leaf {j})"
        out.append((a.shape[axis], f"one axis had size {a.shape[axis]}: axis {axis} of "
                                   f"argument {where} of type {_type_str(a)}"))
    return out


# --------------------------------------------------------------------------------------------
# jit


def jit(fun: Callable | None = None, *, static_argnums=None, static_argnames=None,
        donate_argnums=None, donate_argnames=None, keep_unused: bool = False, device=None,
        backend=None, inline: bool = False, abstracted_axes=None) -> Callable:
    """``jax.jit``: ``fun`` compiled by :func:`chainrule.compile`.

    The first call with given shapes and dtypes traces ``fun`` (running it), later ones replay
    the plan.  Where JAX would raise on Python control flow over a traced value
    (``ConcretizationTypeError``), the plan instead guards on the branch taken and traces
    again when a call takes another.  Arguments that are not arrays are part of the cache key
    by value, so ``static_argnums``/``static_argnames`` need not be given (they are
    accepted); the other options are accepted and ignored.

    >>> import chainrule.compat.jax as jax
    >>> from chainrule.compat.jax import numpy as jnp
    >>> f = jax.jit(lambda x: jnp.sum(x * x))
    >>> f(jnp.arange(3.0)), f(jnp.arange(4.0))
    (Array(5., dtype=float32), Array(14., dtype=float32))
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames)

    # one compiled function per structure and pattern of the arguments' weak types (each
    # then keyed on tensors alone, the quick key); the results' weak types come back as
    # constants of its plan
    compiled_for: dict[tuple, Callable] = {}

    def compiled(args, kwargs) -> tuple:
        """The compiled function for these arguments, and the arguments on tensors (one
        flattening for both)."""
        leaves, spec = pytree.flatten((args, kwargs), sort_keys=True, none_is_leaf=False)
        weak = tuple(isinstance(v, Array) and v.weak_type for v in leaves)
        run = compiled_for.get((spec, weak))
        if run is None:
            run = compiled_for[spec, weak] = chainrule.compile(_on_tensors(fun, weak))
        args, kwargs = pytree.unflatten(spec, [to_tensor(v) if isinstance(v, Array) else v
                                               for v in leaves])
        return run, args, kwargs

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        run, args, kwargs = compiled(args, kwargs)
        out, out_weak = run(*args, **kwargs)
        return tree_map(lambda v, w: from_tensor(v, w) if isinstance(v, Tensor) else v,
                        out, out_weak)

    def lower(*args, **kwargs):
        """The plan of this call (what JAX's AOT API shows is the plan here)."""
        run, args, kwargs = compiled(args, kwargs)
        return run.explain(*args, **kwargs)

    jitted.lower = lower
    return jitted


def _on_tensors(fun: Callable, weak: tuple) -> Callable:
    """``fun`` on tensors: its arguments' leaves made Arrays again (weakly typed as ``weak``
    says, leaf by leaf), its result's made tensors, with their weak types beside them."""
    def run(*args, **kwargs):
        leaves, spec = pytree.flatten((args, kwargs), sort_keys=True, none_is_leaf=False)
        leaves = [from_tensor(v, w) if isinstance(v, Tensor) else v
                  for v, w in zip(leaves, weak)]
        args, kwargs = pytree.unflatten(spec, leaves)
        out = fun(*args, **kwargs)
        return (tree_map(lambda v: to_tensor(v) if isinstance(v, Array) else v, out),
                tree_map(_weak_type, out))

    return run


def _weak_type(value) -> bool:
    return isinstance(value, Array) and value.weak_type
