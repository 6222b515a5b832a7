"""THE primitive table: every differentiable operation, its NumPy forward and its VJP rules.

How to read (and write) an entry
--------------------------------
``primitive(name, impl, vjp, save_inputs=..., save_ans=...)`` declares one primitive:

* ``name`` is PyTorch's name for it, so that ``grad_fn`` prints as ``<MulBackward0>``.
* ``impl(x, y, ..., **params)`` computes the result with NumPy.  Tensor arguments arrive as
  their raw arrays; constants (Python numbers, ndarrays) and keyword ``params`` as they are.
* ``vjp`` holds one rule per input, ``rule(g, ans, x, y, ..., **params)``, returning the
  gradient of the loss w.r.t. that input given ``g``, the gradient w.r.t. the result ``ans``.
  A variadic primitive (``cat``, ``einsum``) has one rule ``rule(i, g, ans, *xs, **params)``.
* The vocabulary is fixed: ``g`` incoming cotangent, ``ans`` the forward result, ``x, y`` the
  inputs.  A rule may return ``None`` for a structurally zero gradient.
* A rule may return a gradient of the *broadcast* shape or of another float dtype: the engine
  sums it down to the input's shape and casts it to the input's dtype, once, for every rule.
* ``save_inputs``/``save_ans`` say which values the rules read.  The node keeps only those (an
  input that is not saved arrives as ``None``), so memory is released as early as possible.
  ``reads`` refines this per rule: ``mul``'s rule for ``x`` reads only ``y``.
* Rules are written with the operations of this module and Python operators only.  In a plain
  backward pass they receive ndarrays and run as NumPy; with ``create_graph=True`` they receive
  Tensors and are recorded, which is how every primitive gets its higher derivatives.
* ``jvp`` gives forward mode, the Jacobian-vector product ``J t``.  Most primitives name the
  shape of their Jacobian and need no rule of their own:

  ``"diagonal"``   elementwise (with broadcasting): ``J t = J^T t``, so each input's VJP rule
                   applied to that input's tangent gives its contribution;
  ``"symmetric"``  ``J = J^T`` (softmax): likewise;
  ``"linear"``     the primitive is linear in its tensor inputs: apply it to the tangents;
  ``"bilinear"``   linear in each input separately (matmul, einsum): the sum over inputs of the
                   primitive with that input replaced by its tangent;
  ``"reduction"``  ``ans`` reduces elementwise terms: sum over the reduced axes of
                   ``t * (VJP of ones)``.

  Anything else gives a function ``jvp(ts, ans, x, y, ..., **params)`` of the tangents ``ts``
  (``None`` for an input without one).

Every primitive must have an entry in ``tests/primitive_specs.py``; the suite fails otherwise.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
import string
from collections.abc import Callable

import numpy as np

from chainrule import backward, engine
from chainrule.engine import Primitive, SparseGrad

REGISTRY: dict[str, Primitive] = {}


# NumPy 1.x promotes 0-d values (NumPy scalars, 0-d arrays) by value: np.float32(2) * 2 is
# float64 there and a float32 array times a 0-d float64 is float32; NumPy 2 (NEP 50) gives
# float32 and float64.  On NumPy 1.x, the elementwise operations that combine operands or use
# Python constants therefore see their 0-d operands as 1-element arrays, which NumPy 1.x
# promotes by dtype as NumPy 2 does.  On NumPy 2 ``numpy2_promotion`` returns ``func`` itself.
LEGACY_PROMOTION = np.lib.NumpyVersion(np.__version__) < "2.0.0"
_PROMOTING = {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Clamp", "Where",
              "Sigmoid", "TanhBackward", "SigmoidBackward", "Relu", "Remainder"}


def numpy2_promotion(func: Callable) -> Callable:
    """``func`` (elementwise) with NumPy 2's promotion of 0-d operands, also on NumPy 1.x."""
    if not LEGACY_PROMOTION:
        return func

    @functools.wraps(func)
    def run(*args, **params):
        lifted, all_0d, new = False, True, []
        for a in args:
            ndim = getattr(a, "ndim", None)  # None: a Python number, None, or a sequence
            if ndim == 0:
                a, lifted = a.reshape(1), True
            elif ndim is not None or isinstance(a, (list, tuple)):
                all_0d = False
            new.append(a)
        if not lifted:
            return func(*args, **params)
        ans = func(*new, **params)
        return ans[0] if all_0d else ans

    return run




def primitive(name: str, impl: Callable, vjp, *, jvp, save_inputs: bool = False,
              save_ans: bool = False, view: bool = False, reads=None) -> Primitive:
    """Declare a primitive and add it to :data:`REGISTRY` (see the module docstring).

    ``reads`` optionally says, for each input's rule, which inputs' values it reads (so that
    changing an input in place is an error only where its value is needed).
    """
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is declared twice")
    if name in _PROMOTING:
        impl = numpy2_promotion(impl)
    prim = Primitive(name, impl, vjp, save_inputs=save_inputs, save_ans=save_ans, view=view,
                     variadic=callable(vjp), reads=reads, jvp=jvp)
    REGISTRY[name] = prim
    return prim


def _raw(a):
    """The array behind a Tensor, for decisions that depend on values (never differentiated)."""
    return a._data if isinstance(a, engine.Tensor) else a


def _product_buffer(g, factor):
    """Where ``g * factor`` (``g`` a large array) may be written without allocating, or None.

    In a plain backward pass over large arrays the engine offers, in this order: ``g`` itself
    when only this rule reads it, ``factor`` when it is a saved input no one will read again,
    or a dead array of the right shape (see ``backward``'s module docstring).
    """
    # the product must have g's shape and dtype: factor of the same, or a bool mask
    if (type(factor) is not np.ndarray or factor.shape != g.shape
            or (factor.dtype != g.dtype and factor.dtype != np.bool_)):
        return None
    offered = backward.donation
    if g is offered.array:
        return g
    for spent in offered.spent:
        if spent is factor and factor.dtype == g.dtype:  # (a bool mask cannot hold g * mask)
            return factor
    return backward.take_buffer(g.shape, g.dtype)


def _scaled(g, factor):
    """``g * factor``, written into a buffer the engine offers when there is one (large arrays
    in a plain backward pass), else a new product.  Rules of the form ``g * f'(x)`` use it: on
    large arrays it saves an allocation per rule."""
    if type(g) is np.ndarray and g.size > backward.LARGE:
        out = _product_buffer(g, factor)
        if out is not None:
            return np.multiply(g, factor, out=out)
    return g * factor


def _scaled_fresh(g, factor):
    """``g * factor``, where the rule has just computed ``factor`` (no one else holds it): on
    large arrays the product goes into ``g`` when the engine offers it, else into ``factor``."""
    if (type(g) is np.ndarray and g.size > backward.LARGE and type(factor) is np.ndarray
            and factor.shape == g.shape and factor.dtype == g.dtype):
        return np.multiply(g, factor, out=g if g is backward.donation.array else factor)
    return g * factor


def _scaled_by(g, f, x, negate: bool = False):
    """``g * f(x)`` (or ``g * -f(x)``) for a unary elementwise primitive ``f``.

    On large arrays in a plain backward pass ``f(x)`` is computed into ``x`` itself when no
    one will read ``x`` again, or into a dead array, and the product written in place.
    """
    if (type(x) is np.ndarray and type(g) is np.ndarray and x.size > backward.LARGE
            and x.shape == g.shape and x.dtype == g.dtype):
        offered = backward.donation
        spent = builtins.any(a is x for a in offered.spent)
        buffer = x if spent else backward.take_buffer(x.shape, x.dtype)
        if buffer is not None:
            factor = f.impl(x, out=buffer)
            if negate:
                np.negative(factor, out=factor)
            if g is offered.array:
                np.multiply(g, factor, out=g)
                if not spent:
                    backward.give_back(buffer)
                return g
            return np.multiply(g, factor, out=factor)
    return _scaled_fresh(g, -f(x) if negate else f(x))


def _zero_rule(g, ans, x, **params):
    # piecewise constant: d f(x) = 0
    return g * 0


# --------------------------------------------------------------------------------------------
# Elementwise, one input

neg = primitive("Neg", operator.neg, (lambda g, ans, x: -g,), jvp="linear")
# d exp(x) = exp(x) dx
exp = primitive("Exp", np.exp, (lambda g, ans, x: _scaled(g, ans),), save_ans=True,
                jvp="diagonal")
# d log(x) = dx / x
log = primitive("Log", np.log, (lambda g, ans, x: g / x,), save_inputs=True, jvp="diagonal")
# d log(1 + x) = dx / (1 + x)
log1p = primitive("Log1P", np.log1p, (lambda g, ans, x: g / (x + 1),), save_inputs=True,
                  jvp="diagonal")
# d (exp(x) - 1) = exp(x) dx
expm1 = primitive("Expm1", np.expm1, (lambda g, ans, x: _scaled_fresh(g, ans + 1),), save_ans=True,
                  jvp="diagonal")
# d sqrt(x) = dx / (2 sqrt(x))   (inf at 0, as PyTorch)
sqrt = primitive("Sqrt", np.sqrt, (lambda g, ans, x: g / (ans * 2),), save_ans=True, jvp="diagonal")
# d x^2 = 2x dx
square = primitive("Square", np.square, (lambda g, ans, x: _scaled_fresh(g, x * 2),),
                   save_inputs=True, jvp="diagonal")
# d sin(x) = cos(x) dx
sin = primitive("Sin", np.sin, (lambda g, ans, x: _scaled_by(g, cos, x),), save_inputs=True,
                jvp="diagonal")
# d cos(x) = -sin(x) dx
cos = primitive("Cos", np.cos, (lambda g, ans, x: _scaled_by(g, sin, x, negate=True),),
                save_inputs=True, jvp="diagonal")
# d tan(x) = (1 + tan(x)^2) dx
tan = primitive("Tan", np.tan, (lambda g, ans, x: _scaled_fresh(g, ans * ans + 1),), save_ans=True,
                jvp="diagonal")
# d tanh(x) = (1 - tanh(x)^2) dx, with y = tanh(x): one primitive, tanh_backward(g, y), so that
# higher derivatives and forward-mode tangents (this rule applied to a tangent) record one
# operation where g * (1 - y * y) would record three.
tanh_backward = primitive(
    "TanhBackward", lambda g, y: _scaled_fresh(g, 1 - y * y),
    # d/dg = 1 - y^2, d/dy = -2 g y
    (lambda h, ans, g, y: tanh_backward(h, y), lambda h, ans, g, y: h * g * y * -2),
    save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal")
tanh = primitive("Tanh", np.tanh, (lambda g, ans, x: tanh_backward(g, ans),), save_ans=True,
                 jvp="diagonal")


def _sigmoid(x):
    # 1 / (1 + e^-x), evaluated without overflow on either side
    x = np.asarray(x)  # a Python number is float64 here, as NumPy computes it
    e = np.exp(-np.abs(x))
    dtype = x.dtype if x.dtype.kind == "f" else np.float64  # floats keep their precision
    out = np.where(x >= 0, 1, e)  # a new array (0-d for a number)
    np.divide(out, 1 + e, out=out)  # 1 / (1 + e) where x >= 0, e / (1 + e) elsewhere
    return out.astype(dtype, copy=False)


# d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) dx
# d sigmoid(x) = y (1 - y) dx with y = sigmoid(x): one primitive, as tanh_backward
sigmoid_backward = primitive(
    "SigmoidBackward", lambda g, y: _scaled_fresh(g, y * (1 - y)),
    # d/dg = y (1 - y), d/dy = g (1 - 2 y)
    (lambda h, ans, g, y: sigmoid_backward(h, y), lambda h, ans, g, y: h * g * (1 - y * 2)),
    save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal")
sigmoid = primitive("Sigmoid", _sigmoid, (lambda g, ans, x: sigmoid_backward(g, ans),),
                    save_ans=True, jvp="diagonal")
# d relu(x) = [x > 0] dx   (0 at 0, as PyTorch)
relu = primitive("Relu", lambda x: np.maximum(x, 0),
                 (lambda g, ans, x: _scaled(g, ans > 0),), save_ans=True, jvp="diagonal")
# d |x| = sign(x) dx   (0 at 0)
abs = primitive("Abs", np.abs, (lambda g, ans, x: g * sign(x),), save_inputs=True,
                jvp="diagonal")  # noqa: A001
sign = primitive("Sign", np.sign, (_zero_rule,), jvp="diagonal")
floor = primitive("Floor", np.floor, (_zero_rule,), jvp="diagonal")
ceil = primitive("Ceil", np.ceil, (_zero_rule,), jvp="diagonal")
round = primitive("Round", lambda x, decimals=0: np.round(x, decimals), (_zero_rule,),
                  jvp="diagonal")  # noqa: A001
trunc = primitive("Trunc", np.trunc, (_zero_rule,), jvp="diagonal")

# --------------------------------------------------------------------------------------------
# Elementwise, two inputs (broadcasting is undone by the engine)

# operator.add and friends take NumPy's scalar fast path on 0-d values (np.add does not)
add = primitive("Add", operator.add, (lambda g, ans, x, y: g, lambda g, ans, x, y: g), jvp="linear")
sub = primitive("Sub", operator.sub, (lambda g, ans, x, y: g, lambda g, ans, x, y: -g),
                jvp="linear")
def _times(g, y):
    """``g * y``, without the pass over memory when ``g`` is a broadcast one.

    That is what the gradient of ``sum`` looks like, so ``(a * b).sum().backward()`` costs
    what it costs by hand.  Small arrays skip the check: it would cost more than it saves.
    """
    if type(g) is np.ndarray and g.size > backward.LARGE:
        if not builtins.any(g.strides) and g.flat[0] == 1 and np.shape(y) == g.shape:
            return y
        return _scaled(g, y)
    return g * y


# d (x y) = y dx + x dy
mul = primitive("Mul", operator.mul, (lambda g, ans, x, y: _times(g, y),
                                      lambda g, ans, x, y: _times(g, x)), save_inputs=True,
                reads=((1,), (0,)), jvp="diagonal")
# d (x / y) = dx / y - (x / y) dy / y   (written with ans = x / y, not x / y^2: each order
# of differentiation would otherwise square the denominator again)
div = primitive("Div", operator.truediv,
                (lambda g, ans, x, y: g / y, lambda g, ans, x, y: -(g / y) * ans),
                save_inputs=True, save_ans=True, reads=((1,), (1,)), jvp="diagonal")


def _pow_dx(g, ans, x, y):
    # d x^y = y x^(y-1) dx, taken as 0 where y == 0 (so that x^0 has gradient 0 at x = 0)
    if isinstance(y, (int, float)):
        return g * 0 if y == 0 else g * (x ** (y - 1) * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return where(y == 0, 0.0, g * (x ** (y - 1) * y))


def _pow_dy(g, ans, x, y):
    # d x^y = x^y log(x) dy, taken as 0 where x == 0 and y >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return where((x == 0) & (y >= 0), 0.0, g * (ans * log(x)))


pow = primitive("Pow", operator.pow, (_pow_dx, _pow_dy), save_inputs=True, save_ans=True,
                jvp="diagonal")  # noqa: A001


# d (x mod y) = dx - floor(x / y) dy   (Python's and NumPy's remainder: the sign of y)
remainder = primitive("Remainder", np.remainder,
                      (lambda g, ans, x, y: g, lambda g, ans, x, y: -(g * floor(x / y))),
                      save_inputs=True, reads=((), (0, 1)), jvp="diagonal")


def _max_share(g, x, y):
    # the larger input takes the gradient; ties split it evenly (as PyTorch)
    return g * (x > y) + (g * 0.5) * (x == y)


maximum = primitive("Maximum", np.maximum, (lambda g, ans, x, y: _max_share(g, x, y),
                                            lambda g, ans, x, y: _max_share(g, y, x)),
                    save_inputs=True, jvp="diagonal")
minimum = primitive("Minimum", np.minimum, (lambda g, ans, x, y: _max_share(g, y, x),
                                            lambda g, ans, x, y: _max_share(g, x, y)),
                    save_inputs=True, jvp="diagonal")


def _inside(x, lo, hi):
    # the points where clamp passes the gradient (bounds included, as PyTorch)
    if lo is None:
        return x <= hi
    if hi is None:
        return x >= lo
    return (x >= lo) & (x <= hi)


clamp = primitive("Clamp", lambda x, lo, hi: np.clip(x, lo, hi),
                  (lambda g, ans, x, lo, hi: g * _inside(x, lo, hi),), save_inputs=True,
                  jvp="diagonal")
# where(c, x, y): the gradient goes to the selected branch
where = primitive("Where", np.where, (
    lambda g, ans, c, x, y: None,
    lambda g, ans, c, x, y: where(c, g, 0.0),
    lambda g, ans, c, x, y: where(c, 0.0, g),
), save_inputs=True, reads=((0,), (0,), (0,)), jvp="diagonal")

# --------------------------------------------------------------------------------------------
# Reductions.  ``axis`` is None or a tuple of non-negative ints; ``x_shape`` is the input's
# shape (so that the rules need not keep the input alive).


def _keepdims_shape(x_shape, axis):
    if axis is None:
        return (1,) * len(x_shape)
    return tuple(1 if i in axis else n for i, n in enumerate(x_shape))


def _unreduce(g, axis, keepdims, x_shape):
    """Broadcast the gradient of a reduction back over the reduced axes."""
    if not keepdims and g.ndim:  # (a 0-d g, from a full reduction, broadcasts as it is)
        g = reshape(g, shape=_keepdims_shape(x_shape, axis), x_shape=g.shape)
    return broadcast_to(g, shape=x_shape, x_shape=g.shape)


def _count(x_shape, axis) -> int:
    return math.prod(x_shape[i] for i in (range(len(x_shape)) if axis is None else axis))


def _inverse_count(x_shape, axis) -> float:
    n = _count(x_shape, axis)
    return 1.0 / n if n else np.nan  # a mean over nothing is NaN, as in NumPy


def _keep_sum(a, axis):
    return reduce_sum(a, axis=axis, keepdims=True, x_shape=a.shape)


reduce_sum = primitive(  # np.add.reduce: np.sum's work without its Python-level wrapper
    "Sum", lambda x, axis, keepdims, x_shape: np.add.reduce(x, axis=axis, keepdims=keepdims),
    (lambda g, ans, x, axis, keepdims, x_shape: _unreduce(g, axis, keepdims, x_shape),),
    jvp="linear")
reduce_mean = primitive(
    "Mean", lambda x, axis, keepdims, x_shape: np.asarray(x).mean(axis=axis, keepdims=keepdims),
    (lambda g, ans, x, axis, keepdims, x_shape:
        _unreduce(g, axis, keepdims, x_shape) * _inverse_count(x_shape, axis),), jvp="linear")


def _prod_others(x, axis):
    """For each element, the product of the other elements of its slice (zeros allowed)."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


def _prod_vjp(g, ans, x, axis, keepdims, x_shape):
    # d prod(x) / dx_i = prod of the other elements = prod(x) / x_i when no x_j is zero
    g = _unreduce(g, axis, keepdims, x_shape)
    if not np.any(_raw(x) == 0):
        return g * _unreduce(ans, axis, keepdims, x_shape) / x
    if isinstance(x, engine.Tensor):
        raise NotImplementedError("chainrule.prod: higher-order gradients at inputs that contain "
                                  "zeros are not supported; perturb the zeros or write the "
                                  "product out with mul")
    return g * _prod_others(x, axis)


reduce_prod = primitive(
    "Prod",
    lambda x, axis, keepdims, x_shape: np.multiply.reduce(x, axis=axis, keepdims=keepdims),
    (_prod_vjp,), save_inputs=True, save_ans=True, jvp="reduction")


def _extremum_vjp(g, ans, x, axis, keepdims, x_shape):
    # the gradient is shared evenly among the elements equal to the extremum (as PyTorch)
    hit = cast(x == _unreduce(ans, axis, keepdims, x_shape), dtype=g.dtype, x_dtype=np.bool_)
    return _unreduce(g, axis, keepdims, x_shape) * hit / _keep_sum(hit, axis)


# (the ufuncs' reduce: np.amax's work without its Python-level wrapper, as reduce_sum)
amax = primitive("Amax", lambda x, axis, keepdims, x_shape:
                 np.maximum.reduce(x, axis=axis, keepdims=keepdims),
                 (_extremum_vjp,), save_inputs=True, save_ans=True, jvp="reduction")
amin = primitive("Amin", lambda x, axis, keepdims, x_shape:
                 np.minimum.reduce(x, axis=axis, keepdims=keepdims),
                 (_extremum_vjp,), save_inputs=True, save_ans=True, jvp="reduction")


_finite_or_0 = numpy2_promotion(lambda top: np.where(np.isfinite(top), top, 0))


def _logsumexp(x, axis, keepdims, x_shape):
    top = _finite_or_0(np.maximum.reduce(x, axis=axis, keepdims=True))
    with np.errstate(divide="ignore"):
        out = np.log(np.add.reduce(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


# d logsumexp(x) = softmax(x) . dx
logsumexp = primitive(
    "Logsumexp", _logsumexp,
    (lambda g, ans, x, axis, keepdims, x_shape: _unreduce(g, axis, keepdims, x_shape)
        * exp(x - _unreduce(ans, axis, keepdims, x_shape)),),
    save_inputs=True, save_ans=True, jvp="reduction")


def _softmax(x, axis):
    e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


# d softmax = s * (dg - sum(s dg))
softmax = primitive("Softmax", _softmax,
                    (lambda g, ans, x, axis: ans * (g - _keep_sum(g * ans, (axis,))),),
                    save_ans=True, jvp="symmetric")


def _log_softmax_jvp(ts, ans, x, axis):
    # d log_softmax(x) = dx - sum(softmax(x) dx)
    return ts[0] - _keep_sum(ts[0] * exp(ans), (axis,))


log_softmax = primitive(
    "LogSoftmax", lambda x, axis: x - _logsumexp(x, axis, True, None),
    (lambda g, ans, x, axis: g - exp(ans) * _keep_sum(g, (axis,)),), save_ans=True,
    jvp=_log_softmax_jvp)


# Softmax cross-entropy in one primitive, as the hand-written gradient of a classifier has it:
# with p the target distribution along ``axis`` (or the one-hot rows of class indices),
#   loss = -sum(p log_softmax(z)) = sum(p) logsumexp(z) - sum(p z)
#   d loss / d z = sum(p) softmax(z) - p,   d loss / d p = -log_softmax(z)
# With ``scale`` (1 for a sum over samples, 1/N for a mean) the primitive also sums the
# per-sample losses: one node where log_softmax, a product, a sum, a negation and a division
# would record five.


def _are_indices(target) -> bool:
    return _raw(target).dtype.kind in "iu"


def _one_hot(indices, like, axis):
    """The one-hot rows of class ``indices`` along ``axis``, shaped and typed like ``like``."""
    classes = np.arange(like.shape[axis]).reshape((-1,) + (1,) * (like.ndim - 1 - axis))
    return (np.expand_dims(_raw(indices), axis) == classes).astype(like.dtype)


def _at_targets(a, indices, axis):
    """An index expression for the entries of ``a`` at the class ``indices`` along ``axis``
    (``indices`` has ``a``'s shape without ``axis``, and so has the selection)."""
    if a.ndim == 2 and axis == 1:  # (the usual batch of rows)
        return np.arange(len(indices)), indices
    index = list(np.indices(indices.shape, sparse=True))  # every other dim's positions
    index.insert(axis, indices)
    return tuple(index)


def _softmax_cross_entropy(z, target, axis, scale):
    top = _finite_or_0(np.maximum.reduce(z, axis=axis, keepdims=True))
    shifted = z - top
    lse = np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))  # (less top)
    if target.dtype.kind in "iu":
        picked = shifted[_at_targets(shifted, target, axis)]
        losses = lse.reshape(picked.shape) - picked
    else:
        losses = np.add.reduce(target * (lse - shifted), axis=axis)
    if scale is None:
        return losses
    return np.add.reduce(losses, axis=None) * losses.dtype.type(scale)


def _per_sample(g, axis, scale, z_shape):
    """The gradient reaching each sample's loss, broadcast along the class axis."""
    if scale is None:
        return _unreduce(g, (axis,), False, z_shape)
    return g * scale


def _cross_entropy_slope(z, target, axis):
    """d loss / d z, elementwise: sum(p) softmax(z) - p (a new array in a plain pass)."""
    s = softmax(z, axis=axis)
    if not _are_indices(target):
        return s * _keep_sum(target, (axis,)) - target
    if type(s) is np.ndarray:  # s is new: subtract the one-hot rows in place
        s[_at_targets(s, target, axis)] -= 1
        return s
    return s - _one_hot(target, z, axis)


def _cross_entropy_jvp(ts, ans, z, target, axis, scale):
    total = None
    if ts[0] is not None:
        total = reduce_sum(_cross_entropy_slope(z, target, axis) * ts[0], axis=(axis,),
                           keepdims=False, x_shape=z.shape)
    if ts[1] is not None:
        part = reduce_sum(-log_softmax(z, axis=axis) * ts[1], axis=(axis,), keepdims=False,
                          x_shape=z.shape)
        total = part if total is None else total + part
    if scale is None:
        return total
    return reduce_sum(total, axis=None, keepdims=False, x_shape=total.shape) * scale


softmax_cross_entropy = primitive(
    "SoftmaxCrossEntropy", _softmax_cross_entropy,
    (lambda g, ans, z, target, axis, scale: _scaled_fresh(
        _per_sample(g, axis, scale, z.shape), _cross_entropy_slope(z, target, axis)),
     lambda g, ans, z, target, axis, scale: -_per_sample(g, axis, scale, z.shape)
        * log_softmax(z, axis=axis)),
    save_inputs=True, reads=((0, 1), (0,)), jvp=_cross_entropy_jvp)


def _norm_vjp(g, ans, x, axis, keepdims, x_shape):
    # d |x| = x / |x| . dx, taken as 0 at x = 0 (as PyTorch)
    norm = _unreduce(ans, axis, keepdims, x_shape)
    safe = where(norm == 0, 1.0, norm)
    return _unreduce(g, axis, keepdims, x_shape) * (x / safe)


vector_norm = primitive(
    "LinalgVectorNorm",
    lambda x, axis, keepdims, x_shape:
        np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims)),
    (_norm_vjp,), save_inputs=True, save_ans=True, jvp="reduction")

# --------------------------------------------------------------------------------------------
# Products


def _swap_last(a):
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return transpose(a, axes=axes)


def _unsqueeze(a, axis):
    shape = list(a.shape)
    shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
    return reshape(a, shape=tuple(shape), x_shape=a.shape)


def _matmul_dx(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if x.ndim == 1:  # (n) @ (..., n, m)
        return matmul(_unsqueeze(g, -2), _swap_last(y))
    if y.ndim == 1:  # (..., n, k) @ (k)
        return _unsqueeze(g, -1) * y
    return matmul(g, _swap_last(y))


def _matmul_dy(g, ans, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if y.ndim == 1 and x.ndim == 2:  # (n, k) @ (k): the adjoint is g @ x
        return matmul(g, x)
    if y.ndim == 1:  # (..., n, k) @ (k)
        out = matmul(_swap_last(x), _unsqueeze(g, -1))
        return reshape(out, shape=out.shape[:-1], x_shape=out.shape)
    if x.ndim == 1:  # (n) @ (..., n, m)
        return _unsqueeze(x, -1) * _unsqueeze(g, -2)
    return matmul(_swap_last(x), g)


matmul = primitive("Mm", np.matmul, (_matmul_dx, _matmul_dy), save_inputs=True,
                   reads=((1,), (0,)), jvp="bilinear")
dot = primitive("Dot", np.dot, (lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
                save_inputs=True, reads=((1,), (0,)), jvp="bilinear")


def _einsum_parse(subscripts: str, shapes) -> tuple[list[str], str]:
    """Explicit letters for each operand and the output, with '...' spelled out."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    spare = [c for c in string.ascii_letters if c not in spec]
    widest = max((len(s) - len(t.replace("...", "")) for t, s in zip(ins, shapes)), default=0)
    fill = "".join(spare[:widest])
    resolved = []
    for term, shape in zip(ins, shapes):
        n = len(shape) - len(term.replace("...", ""))
        resolved.append(term.replace("...", fill[widest - n:] if n else ""))
    if arrow:
        out = out.replace("...", fill)
    else:
        letters = "".join(resolved)
        out = fill + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                    and c not in fill))
    return resolved, out


def _einsum_vjp(i, g, ans, *xs, subscripts):
    ins, out = _einsum_parse(subscripts, [np.shape(_raw(x)) for x in xs])
    target = ins[i]
    shape = np.shape(_raw(xs[i]))
    sizes = dict(zip(target, shape))
    # a letter may have size 1 in one operand and n in another (broadcasting): give every
    # other operand its full size, so that the gradient below has it too (the engine then
    # sums it back down to this operand's size 1)
    full: dict = {}
    for term, x in zip(ins, xs):
        for c, n in zip(term, np.shape(_raw(x))):
            full[c] = builtins.max(full.get(c, 1), n)
    xs = [x if j == i or np.shape(_raw(x)) == tuple(full[c] for c in ins[j])
          else broadcast_to(x, shape=tuple(full[c] for c in ins[j]), x_shape=np.shape(_raw(x)))
          for j, x in enumerate(xs)]
    distinct = "".join(dict.fromkeys(target))  # 'ii' -> 'i': a diagonal
    others = [t for j, t in enumerate(ins) if j != i]
    known = set(out).union(*others)
    # letters of this operand that appear nowhere else were summed out: broadcast them back
    kept = "".join(c for c in distinct if c in known)
    grad = einsum(*([g] + [x for j, x in enumerate(xs) if j != i]),
                  subscripts=",".join([out] + others) + "->" + kept)
    if kept != distinct:
        staged = tuple(sizes[c] if c in kept else 1 for c in distinct)
        grad = reshape(grad, shape=staged, x_shape=grad.shape)
        grad = broadcast_to(grad, shape=tuple(sizes[c] for c in distinct), x_shape=staged)
    if distinct != target:
        # a repeated index reads a diagonal; its adjoint writes the gradient back onto it
        grids = np.indices(grad.shape, sparse=True)
        index = tuple(grids[distinct.index(c)] for c in target)
        grad = index_add(grad, index=index, x_shape=shape)
    return grad


einsum = primitive("Einsum",
                   lambda *xs, subscripts: np.einsum(subscripts, *xs, optimize="greedy"),
                   _einsum_vjp, save_inputs=True, jvp="bilinear")

# --------------------------------------------------------------------------------------------
# Shapes, indexing, joining.  These are linear: each rule applies the adjoint operation.

reshape = primitive("View", lambda x, shape, x_shape: _reshaped(x, shape),
                    (lambda g, ans, x, shape, x_shape: reshape(g, shape=x_shape, x_shape=g.shape),),
                    view=True, jvp="linear")
transpose = primitive("Permute", lambda x, axes: x.transpose(axes) if type(x) is np.ndarray
                      else np.transpose(x, axes),
                      (lambda g, ans, x, axes: transpose(g, axes=tuple(np.argsort(axes))),),
                      view=True, jvp="linear")
def _broadcast_view(x, shape):
    """``np.broadcast_to(x, shape)``: a read-only view with zero strides where ``x`` is
    broadcast.  Made directly for contiguous arrays and shapes of non-negative ints (0.3 µs,
    where NumPy's Python-level checks take 2 µs: this runs in the backward of every
    reduction); anything else, including every shape NumPy rejects, is NumPy's."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous or not x.size \
            or len(shape) < x.ndim:
        return np.broadcast_to(x, shape)
    for n in shape:
        if type(n) is not int or n < 0:
            return np.broadcast_to(x, shape)
    strides = [0] * (len(shape) - x.ndim)
    for n, m, stride in zip(shape[len(strides):], x.shape, x.strides):
        if m == 1:  # (NumPy's strides: 0 on every axis of length 1)
            strides.append(0)
        elif m == n:
            strides.append(stride)
        else:
            return np.broadcast_to(x, shape)  # (its error names the shapes)
    out = np.ndarray(shape, x.dtype, x, 0, strides)
    out.flags.writeable = False
    return out


broadcast_to = primitive(
    "Expand", lambda x, shape, x_shape: _broadcast_view(x, shape),
    (lambda g, ans, x, shape, x_shape: sum_to(g, shape=x_shape, x_shape=g.shape),), view=True,
    jvp="linear")


def _sum_to(x, shape, x_shape):
    lead = len(x_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x_shape[lead + i] != 1)
    return _reshaped(np.add.reduce(x, axis=axes), shape) if axes else _reshaped(x, shape)


def _reshaped(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


sum_to = primitive(
    "SumTo", _sum_to,
    (lambda g, ans, x, shape, x_shape: broadcast_to(g, shape=x_shape, x_shape=g.shape),),
    jvp="linear")
cast = primitive("ToCopy", lambda x, dtype, x_dtype: np.asarray(x).astype(dtype),
                 (lambda g, ans, x, dtype, x_dtype: cast(g, dtype=x_dtype, x_dtype=g.dtype),),
                 jvp="linear")
clone = primitive("Clone", lambda x: np.array(x, copy=True), (lambda g, ans, x: g,), jvp="linear")
flip = primitive("Flip", lambda x, axis: np.flip(x, axis),
                 (lambda g, ans, x, axis: flip(g, axis=axis),), view=True, jvp="linear")


def _repeat_vjp(g, ans, x, reps, x_shape):
    # tile = broadcast over new interleaved axes; its adjoint sums over them
    padded = (1,) * (len(reps) - len(x_shape)) + tuple(x_shape)
    interleaved = tuple(n for pair in zip(reps, padded) for n in pair)
    g = reshape(g, shape=interleaved, x_shape=g.shape)
    g = reduce_sum(g, axis=tuple(range(0, 2 * len(reps), 2)), keepdims=False, x_shape=interleaved)
    return reshape(g, shape=tuple(x_shape), x_shape=g.shape)


repeat = primitive("Repeat", lambda x, reps, x_shape: np.tile(x, reps), (_repeat_vjp,),
                   jvp="linear")


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


def _index_vjp(g, ans, x, index, x_shape):
    # the adjoint of gathering is scatter-adding (repeated indices accumulate)
    if isinstance(g, engine.Tensor):
        return index_add(g, index=index, x_shape=x_shape)
    return SparseGrad(x_shape, index, np.asarray(g), _is_basic(index))


def _scatter(g, index, x_shape):
    return SparseGrad(x_shape, index, np.asarray(g), _is_basic(index)).dense()


def _getitem(x, index, x_shape):
    out = x[index]
    if type(out) is not np.ndarray and type(x) is np.ndarray:
        # one element: return it as a 0-d view, so that in-place changes reach x (as PyTorch)
        out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
    return out


getitem = primitive("Index", _getitem, (_index_vjp,), view=True, jvp="linear")
index_add = primitive("IndexBackward", _scatter,
                      (lambda g, ans, x, index, x_shape: getitem(g, index=index,
                                                                 x_shape=g.shape),), jvp="linear")


def _cat_vjp(i, g, ans, *xs, axis, sizes):
    start = builtins.sum(sizes[:i])
    index = (slice(None),) * axis + (slice(start, start + sizes[i]),)
    return getitem(g, index=index, x_shape=g.shape)


def _index_put(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


def _kept(shape, index):
    keep = np.ones(shape, bool)
    keep[index] = False
    return keep


# x[index] = v, out of place: x keeps its gradient where it was not overwritten, v gets the rest
index_put = primitive("IndexPut", _index_put, (
    lambda g, ans, x, v, index: g * _kept(g.shape, index),
    lambda g, ans, x, v, index: getitem(g, index=index, x_shape=g.shape),
), jvp="linear")

cat = primitive("Cat", lambda *xs, axis, sizes: np.concatenate(xs, axis=axis), _cat_vjp,
                jvp="linear")

# --------------------------------------------------------------------------------------------
# What the engine needs: unbroadcasting and casting a gradient, in raw or recorded form.


def _engine_sum_to(g, shape):
    return sum_to(g, shape=shape, x_shape=g.shape)


def _engine_cast(g, dtype):
    if type(g) is SparseGrad:
        return g.astype(dtype)
    return cast(g, dtype=dtype, x_dtype=g.dtype)


backward.sum_to = _engine_sum_to
backward.cast = _engine_cast
backward.clone = clone

from chainrule import rules_linalg  # noqa: E402, F401  (declares more primitives)
