"""Elementwise primitives: one input (``exp``, ``sin``, ``tanh`` ...) and two or three inputs
with broadcasting (``add``, ``mul``, ``pow``, ``where`` ...).

Their Jacobians are diagonal, so forward mode needs no rules of its own (``jvp="diagonal"``).
Broadcasting is undone by the engine: a rule returns ``g * y`` of the broadcast shape.
"""

from __future__ import annotations

import operator

import numpy as np

from chainrule.rules.table import LEGACY_PROMOTION, derivative, primitive


def _zero_rule(g, ans, x, **params):
    # piecewise constant: d f(x) = 0, exactly (also where g is NaN or infinite, as in PyTorch)
    return where(True, 0.0, g)


# --------------------------------------------------------------------------------------------
# One input

neg = primitive("neg", operator.neg, (lambda g, ans, x: -g,), jvp="linear",
                grad_fn="NegBackward0", symbol="-x", batch="elementwise")
# d exp(x) = exp(x) dx
exp = primitive("exp", np.exp, (derivative(lambda ans, x: ans),), save_ans=True,
                jvp="diagonal", grad_fn="ExpBackward0", batch="elementwise")
# d log(x) = dx / x
log = primitive("log", np.log, (lambda g, ans, x: g / x,), save_inputs=True, jvp="diagonal",
                grad_fn="LogBackward0", batch="elementwise")
# d log(1 + x) = dx / (1 + x)
log1p = primitive("log1p", np.log1p, (lambda g, ans, x: g / (x + 1),), save_inputs=True,
                  jvp="diagonal", grad_fn="Log1PBackward0", batch="elementwise")
# d (exp(x) - 1) = exp(x) dx
expm1 = primitive("expm1", np.expm1, (derivative(lambda ans, x: ans + 1),), save_ans=True,
                  jvp="diagonal", grad_fn="Expm1Backward0", batch="elementwise")
# d sqrt(x) = dx / (2 sqrt(x))   (inf at 0, as PyTorch)
sqrt = primitive("sqrt", np.sqrt, (lambda g, ans, x: g / (ans * 2),), save_ans=True,
                 jvp="diagonal", grad_fn="SqrtBackward0", batch="elementwise")
# d x^2 = 2x dx
square = primitive("square", np.square, (derivative(lambda ans, x: x * 2),),
                   save_inputs=True, jvp="diagonal", grad_fn="SquareBackward0", batch="elementwise")
# d cos(x) = -sin(x) dx
cos = primitive("cos", np.cos, (derivative(lambda ans, x: -sin(x)),),
                save_inputs=True, jvp="diagonal", grad_fn="CosBackward0", batch="elementwise")
# d sin(x) = cos(x) dx
sin = primitive("sin", np.sin, (derivative(cos),), save_inputs=True, jvp="diagonal",
                grad_fn="SinBackward0", batch="elementwise")
# d tan(x) = (1 + tan(x)^2) dx
tan = primitive("tan", np.tan, (derivative(lambda ans, x: ans * ans + 1),), save_ans=True,
                jvp="diagonal", grad_fn="TanBackward0", batch="elementwise")
# d tanh(x) = (1 - tanh(x)^2) dx, with y = tanh(x): one primitive, tanh_backward(g, y), so that
# higher derivatives and forward-mode tangents (this rule applied to a tangent) record one
# operation where g * (1 - y * y) would record three.
tanh_backward = primitive(
    "tanh_backward", lambda g, y: g * (1 - y * y),
    # d/dg = 1 - y^2, d/dy = -2 g y
    (lambda h, ans, g, y: tanh_backward(h, y), lambda h, ans, g, y: h * g * y * -2),
    save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal", grad_fn="TanhBackwardBackward0",
                          promote=True, batch="elementwise")
tanh = primitive("tanh", np.tanh, (lambda g, ans, x: tanh_backward(g, ans),), save_ans=True,
                 jvp="diagonal", grad_fn="TanhBackward0", batch="elementwise")


def _sigmoid(x):
    # 1 / (1 + e^-x), evaluated without overflow on either side
    x = np.asarray(x)  # a Python number is float64 here, as NumPy computes it
    if x.dtype.kind == "c":  # (no order on complex numbers: the formula as it stands)
        return 1 / (1 + np.exp(-x))
    e = np.exp(-np.abs(x))
    dtype = x.dtype if x.dtype.kind == "f" else np.float64  # floats keep their precision
    # 1 / (1 + e) where x >= 0, e / (1 + e) elsewhere; the numerator is chosen by a maximum
    # (e <= 1), which has no branch per element: np.where's costs twice as much on mixed signs
    out = np.asarray(np.maximum(e, x >= 0))  # a new array (0-d for a number)
    np.divide(out, 1 + e, out=out)
    return out.astype(dtype, copy=False)


# d sigmoid(x) = y (1 - y) dx with y = sigmoid(x): one primitive, as tanh_backward
sigmoid_backward = primitive(
    "sigmoid_backward", lambda g, y: g * (y * (1 - y)),
    # d/dg = y (1 - y), d/dy = g (1 - 2 y)
    (lambda h, ans, g, y: sigmoid_backward(h, y), lambda h, ans, g, y: h * g * (1 - y * 2)),
    save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal", grad_fn="SigmoidBackwardBackward0",
                             promote=True, batch="elementwise")
sigmoid = primitive("sigmoid", _sigmoid, (lambda g, ans, x: sigmoid_backward(g, ans),),
                    save_ans=True, jvp="diagonal", grad_fn="SigmoidBackward0", promote=True,
                    batch="elementwise")
def _threshold_backward(g, x, threshold):
    # g where x > threshold, else 0 (also where g is nan or infinite: PyTorch's
    # threshold_backward, where(x > threshold, g, 0)).  Computed as g * [x > threshold], with
    # the 0/1 factor written straight in g's dtype (NumPy would otherwise convert a whole bool
    # mask of up to 8192 elements into a buffer of that dtype first); np.where costs twice the
    # product on small arrays and four times on large ones (its per-element choice), so it is
    # only the path for a g that is not finite, which the product would turn into nan.  The
    # test is one BLAS pass: sum(g * g) is finite when every g is (an overflow only takes the
    # slower path).  (Where g < 0 is dropped the product gives -0, np.where +0: equal values.)
    if type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape:
        factor = np.empty(g.shape, g.dtype)  # (the usual call: a backward pass's, no broadcast)
    else:
        factor = np.empty(np.broadcast_shapes(np.shape(g), np.shape(x)), np.result_type(g))
    np.greater(x, threshold, out=factor)
    if np.isfinite(np.vdot(g, g)):
        return np.multiply(g, factor, out=factor)
    return np.where(factor, g, 0).astype(factor.dtype, copy=False)


# h -> threshold_backward(h, x) is linear in h; in x it is piecewise constant (zero derivative)
threshold_backward = primitive(
    "threshold_backward", _threshold_backward,
    (lambda h, ans, g, x, threshold: threshold_backward(h, x, threshold=threshold),
     lambda h, ans, g, x, threshold: _zero_rule(h, ans, x)),
    save_inputs=True, reads=((1,), ()), jvp="diagonal", grad_fn="ThresholdBackwardBackward0",
    promote=True, batch="elementwise")
# d relu(x) = [x > 0] dx   (0 at 0, and 0 where g is nan or infinite and x <= 0, as PyTorch)
relu = primitive("relu", lambda x: np.maximum(x, 0),
                 (lambda g, ans, x: threshold_backward(g, ans, threshold=0),), save_ans=True,
                 jvp="diagonal", grad_fn="ReluBackward0", promote=True, batch="elementwise")


# dropout's map of x: y = x * m * s, m the mask of kept entries (bool: one byte an element where
# a float mask would take four or eight), s = 1 / (1 - p).  It is linear in x with a diagonal
# Jacobian, so dy = the same map of dx and the VJP is the map of g itself (PyTorch's
# grad * mask).  The mask is an input the node saves (x is saved by reference only: the values
# of a result that its own node already holds, or a leaf's), so that it is freed when the
# backward pass has used it, and a second pass is refused, as PyTorch's saved mask is.
def _dropout(x, kept, scale):
    # (x * m) * s: the values of x * (m * s) bit for bit (x * 1 = x; x * 0 stays +-0 or nan
    # after * s), in one pass with NumPy's cast of the mask where a masked write (where=)
    # branches per element and costs eight times as much
    if type(x) is not np.ndarray or x.dtype.kind not in "fc":
        out = np.multiply(x, kept)
        if not isinstance(out, np.ndarray):  # a 0-d value
            return out * scale
        return np.multiply(out, scale, out=out)
    # the mask written as 0/1 in x's dtype into the result first: x * m would have NumPy
    # convert the whole bool mask into a buffer of x's dtype (arrays of up to 8192 elements)
    # besides the result, a training step's peak memory
    out = np.empty(np.broadcast_shapes(x.shape, np.shape(kept)), x.dtype)
    np.copyto(out, kept)
    np.multiply(x, out, out=out)
    return np.multiply(out, scale, out=out)


dropout = primitive("nn.functional.dropout", _dropout,
                    (lambda g, ans, x, kept, scale: dropout(g, kept, scale=scale), None),
                    save_inputs=True, reads=((1,), ()), jvp="diagonal", grad_fn="MulBackward0",
                    batch="elementwise")


def _abs_slope(x):
    # d |x| = sign(x) dx for real x (0 at 0); for complex z, d |z| = Re(conj(z) dz) / |z|,
    # the slope conj(z) / |z| (0 at 0, as PyTorch and JAX)
    if x.dtype.kind != "c":
        return sign(x)
    size = abs(x)
    return conj(x) / where(size == 0, 1.0, size)


def _real_valued_jvp(slope):
    """The JVP Re(c dz) of a real function of z whose VJP is g c, for ``c = slope(x)``."""
    def jvp(ts, ans, x):
        dz = ts[0] * slope(x)
        return real_part(dz) if dz.dtype.kind == "c" else dz
    return jvp


abs = primitive("abs", np.abs, (lambda g, ans, x: g * _abs_slope(x),), save_inputs=True,
                jvp=_real_valued_jvp(_abs_slope), grad_fn="AbsBackward0",
                batch="elementwise")  # noqa: A001


def _unit_and_size(x):
    """``u = z / |z|`` and ``1 / |z|``, both 0 at 0."""
    size = abs(x)
    inverse = where(size == 0, 0.0, 1.0 / where(size == 0, 1.0, size))
    return x * inverse, inverse


def _sign_vjp(g, ans, x):
    # piecewise constant for real x (and NumPy 1's sign of complex z, the sign of Re z or of
    # Im z); NumPy 2's sign of complex z is u = z / |z|:  du = (dz - u Re(conj(u) dz)) / |z|,
    # whose transpose is  ct = (g - Re(g u) conj(u)) / |z|  (0 at z = 0)
    if x.dtype.kind != "c" or LEGACY_PROMOTION:
        return _zero_rule(g, ans, x)
    u, inverse = _unit_and_size(x)
    return (g - real_part(g * u) * conj(u)) * inverse


def _sign_jvp(ts, ans, x):
    if x.dtype.kind != "c" or LEGACY_PROMOTION:
        return _zero_rule(ts[0], ans, x)
    u, inverse = _unit_and_size(x)
    return (ts[0] - u * real_part(conj(u) * ts[0])) * inverse


sign = primitive("sign", np.sign, (_sign_vjp,), save_inputs=True, jvp=_sign_jvp,
                 grad_fn="SignBackward0", batch="elementwise")
floor = primitive("floor", np.floor, (_zero_rule,), jvp="diagonal", grad_fn="FloorBackward0",
                  batch="elementwise")
ceil = primitive("ceil", np.ceil, (_zero_rule,), jvp="diagonal", grad_fn="CeilBackward0",
                 batch="elementwise")
round = primitive("round", lambda x, decimals=0: np.round(x, decimals), (_zero_rule,),
                  jvp="diagonal", grad_fn="RoundBackward0", batch="elementwise")  # noqa: A001
trunc = primitive("trunc", np.trunc, (_zero_rule,), jvp="diagonal", grad_fn="TruncBackward0",
                  batch="elementwise")

# --------------------------------------------------------------------------------------------
# Elementwise, two inputs (broadcasting is undone by the engine)

# operator.add and friends take NumPy's scalar fast path on 0-d values (np.add does not)
add = primitive("add", operator.add, (lambda g, ans, x, y: g, lambda g, ans, x, y: g),
                jvp="linear", grad_fn="AddBackward0", promote=True, symbol="+", batch="elementwise")
sub = primitive("sub", operator.sub, (lambda g, ans, x, y: g, lambda g, ans, x, y: -g),
                jvp="linear", grad_fn="SubBackward0", promote=True, symbol="-", batch="elementwise")

# d (x y) = y dx + x dy
mul = primitive("mul", operator.mul, (derivative(lambda ans, x, y: y),
                                      derivative(lambda ans, x, y: x)), save_inputs=True,
                reads=((1,), (0,)), jvp="diagonal", grad_fn="MulBackward0", promote=True,
                symbol="*", batch="elementwise")
# d (x / y) = dx / y - (x / y) dy / y   (written with x / y, not x / y^2: each order of
# differentiation would otherwise square the denominator again; the inputs, not the result,
# are saved, as in PyTorch, so that changing the result in place does not stop backward)
div = primitive("div", operator.truediv,
                (lambda g, ans, x, y: g / y, lambda g, ans, x, y: -(g / y) * (x / y)),
                save_inputs=True, reads=((1,), (0, 1)), jvp="diagonal",
                grad_fn="DivBackward0", promote=True, symbol="/", batch="elementwise")


def _pow_dx(g, ans, x, y):
    # d x^y = y x^(y-1) dx, taken as 0 where y == 0 (so that x^0 has gradient 0 at x = 0)
    if isinstance(y, (int, float)):
        return g * 0 if y == 0 else g * (x ** (y - 1) * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return where(y == 0, 0.0, g * (x ** (y - 1) * y))


def _pow_dy(g, ans, x, y):
    # d x^y = x^y log(x) dy, taken as 0 where x == 0 and y >= 0; log reads 1 there (the
    # double where), so that no 0 * -inf reaches the derivative of this rule either
    at_zero = (x == 0) & (y >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return where(at_zero, 0.0, g * (ans * log(where(at_zero, 1.0, x))))


# (the result is read only for a tensor exponent's gradient, as in PyTorch)
pow = primitive("pow", operator.pow, (_pow_dx, _pow_dy), save_inputs=True, save_ans=True,
                reads=((0, 1), (0, 1, "ans")), jvp="diagonal", grad_fn="PowBackward0",
                promote=True, symbol="**", batch="elementwise")  # noqa: A001


# d (x mod y) = dx - floor(x / y) dy   (Python's and NumPy's remainder: the sign of y)
remainder = primitive("remainder", np.remainder,
                      (lambda g, ans, x, y: g, lambda g, ans, x, y: -(g * floor(x / y))),
                      save_inputs=True, reads=((), (0, 1)), jvp="diagonal",
                      grad_fn="RemainderBackward0", promote=True, symbol="%", batch="elementwise")


def _max_share(g, x, y):
    # the larger input takes the gradient; ties split it evenly (as PyTorch)
    return g * (x > y) + (g * 0.5) * (x == y)


maximum = primitive("maximum", np.maximum, (lambda g, ans, x, y: _max_share(g, x, y),
                                            lambda g, ans, x, y: _max_share(g, y, x)),
                    save_inputs=True, jvp="diagonal", grad_fn="MaximumBackward0", promote=True,
                    batch="elementwise")
minimum = primitive("minimum", np.minimum, (lambda g, ans, x, y: _max_share(g, y, x),
                                            lambda g, ans, x, y: _max_share(g, x, y)),
                    save_inputs=True, jvp="diagonal", grad_fn="MinimumBackward0", promote=True,
                    batch="elementwise")


def _inside(x, lo, hi):
    # the points where clamp passes the gradient (bounds included, as PyTorch)
    if lo is None:
        return x <= hi
    if hi is None:
        return x >= lo
    return (x >= lo) & (x <= hi)


# d clamp(x) = [lo <= x <= hi] dx: the gradient where x is inside, 0 elsewhere, also where g is
# nan or infinite (PyTorch's clamp_backward, a where rather than a product)
clamp = primitive("clamp", lambda x, lo, hi: np.clip(x, lo, hi),
                  (lambda g, ans, x, lo, hi: where(_inside(x, lo, hi), g, 0.0),), save_inputs=True,
                  jvp="diagonal", grad_fn="ClampBackward0", promote=True, batch="elementwise")
# where(c, x, y): the gradient goes to the selected branch
where = primitive("where", np.where, (
    lambda g, ans, c, x, y: None,
    lambda g, ans, c, x, y: where(c, g, 0.0),
    lambda g, ans, c, x, y: where(c, 0.0, g),
), save_inputs=True, reads=((0,), (0,), (0,)), jvp="diagonal", grad_fn="WhereBackward0",
                  promote=True, batch="elementwise")

# --------------------------------------------------------------------------------------------
# Complex numbers
#
# Inside the engine, gradients follow JAX's convention: the cotangent of z = x + iy is
# dL/dx - i dL/dy, so that dL = Re(ct dz).  A holomorphic f then has the rule ct f'(z) of the
# real case, and every rule above holds for complex values as written.  PyTorch's ``.grad`` is
# the conjugate, dL/dx + i dL/dy: chainrule's PyTorch-style API conjugates where gradients
# enter and leave the engine (chainrule/gradient.py, chainrule/backward.py).
#
# A real-valued function of z (abs, angle, real, imag) has a VJP g c and a JVP Re(c dz) for
# one complex slope c; for real inputs these are the real rules.


def _real_part(x):
    return np.array(np.real(x))  # (a copy: np.real of an array is a view of it)


def _imag_part(x):
    return np.array(np.imag(x))


# Re(z): dL = g Re(dz), so ct = g (a real gradient, which the engine casts to z's dtype)
real_part = primitive("real", _real_part, (lambda g, ans, x: g,), jvp="linear",
                      grad_fn="RealBackward0", batch="elementwise")
# Im(z): dL = g Im(dz) = Re(-i g dz), so ct = -i g
imag_part = primitive("imag", _imag_part, (lambda g, ans, x: g * -1j,), jvp="linear",
                      grad_fn="ImagBackward0", batch="elementwise")
# conj(z): dL = Re(ct conj(dz)) = Re(conj(ct) dz), so the cotangent is conjugated
conj = primitive("conj", np.conjugate, (lambda g, ans, x: conj(g),), jvp="linear",
                 grad_fn="ConjBackward0", batch="elementwise")


def _angle_slope(x):
    # angle(z) = atan2(Im z, Re z): d angle = Im(conj(z) dz) / |z|^2 = Re(-i conj(z) dz) / |z|^2
    # (0 at z = 0 and for real z, where the angle is piecewise constant)
    squared = real_part(x * conj(x))
    return conj(x) * -1j / where(squared == 0, 1.0, squared)


angle = primitive("angle", np.angle, (lambda g, ans, x: g * _angle_slope(x),),
                  save_inputs=True, jvp=_real_valued_jvp(_angle_slope),
                  grad_fn="AngleBackward0", promote=True, batch="elementwise")
