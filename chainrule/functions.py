"""The public functions with PyTorch's names (``chainrule.add``, ``chainrule.sum`` ...).

They are the operations of :mod:`chainrule.ops` (which Tensor's methods are too), made to
return Tensors whatever they are given: a first argument that is not a tensor (a number, a
list, an ndarray) becomes a constant tensor before the operation runs, so that
``chainrule.exp(2.0)`` is a Tensor and an error names the function that was called.  The
joining functions (``cat``, ``stack``) do the same for each tensor of their sequence.

>>> import chainrule as cr
>>> cr.exp(0.0)
tensor(1., dtype=chainrule.float64)
"""

from __future__ import annotations

import functools
import inspect

from chainrule import complex_ops, linalg_ops, math_ops, norms, ops, selection
from chainrule.tensor import Tensor, wrap


def tensor_arg(x) -> Tensor:
    """Tensors pass through; other values become constant tensors (for ``cr.exp(2.0)``); a
    list or tuple holding tensors is stacked (so that their gradients are kept)."""
    if isinstance(x, Tensor):
        return x
    value = ops.operand(x)  # (a tensor when the sequence held one, else an ndarray)
    return value if isinstance(value, Tensor) else wrap(value)


def _public(op):
    """``op`` with its first argument made a tensor (by position or by keyword)."""
    first = next(iter(inspect.signature(op).parameters))

    @functools.wraps(op)
    def function(*args, **kwargs):
        if args:
            if not isinstance(args[0], Tensor):
                args = (tensor_arg(args[0]),) + args[1:]
        elif first in kwargs:
            kwargs[first] = tensor_arg(kwargs[first])
        return op(*args, **kwargs)

    return function


def _public_sequence(op):
    """``op`` with each value of its first argument (a sequence) made a tensor."""
    @functools.wraps(op)
    def function(tensors, *args, **kwargs):
        if isinstance(tensors, Tensor):  # (iterating it would give its rows: a silent mistake)
            raise TypeError(f"{op.__name__}(): argument 'tensors' must be a tuple or list of "
                            f"Tensors, not Tensor; pass them in a list: "
                            f"chainrule.{op.__name__}([a, b])")
        return op([tensor_arg(t) for t in tensors], *args, **kwargs)

    return function


@functools.wraps(ops.einsum)
def einsum(equation: str, *operands) -> Tensor:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return ops.einsum(equation, *[tensor_arg(x) for x in operands])


cat = concat = concatenate = _public_sequence(ops.cat)
stack = _public_sequence(ops.stack)
clip = _public(ops.clamp)
abs = _public(ops.abs)  # noqa: A001
add = _public(ops.add)
all = _public(ops.all)  # noqa: A001
allclose = _public(ops.allclose)
amax = _public(ops.amax)
amin = _public(ops.amin)
any = _public(ops.any)  # noqa: A001
argmax = _public(ops.argmax)
argmin = _public(ops.argmin)
bitwise_and = _public(ops.bitwise_and)
bitwise_not = _public(ops.bitwise_not)
bitwise_or = _public(ops.bitwise_or)
bitwise_xor = _public(ops.bitwise_xor)
broadcast_to = _public(ops.broadcast_to)
ceil = _public(ops.ceil)
chunk = _public(ops.chunk)
clamp = _public(ops.clamp)
clone = _public(ops.clone)
cos = _public(ops.cos)
count_nonzero = _public(ops.count_nonzero)
cumprod = _public(ops.cumprod)
cumsum = _public(ops.cumsum)
div = _public(ops.div)
dot = _public(ops.dot)
eq = _public(ops.eq)
equal = _public(ops.equal)
exp = _public(ops.exp)
expand = _public(ops.expand)
expand_as = _public(ops.expand_as)
expm1 = _public(ops.expm1)
flatten = _public(ops.flatten)
flip = _public(ops.flip)
floor = _public(ops.floor)
ge = _public(ops.ge)
gt = _public(ops.gt)
isclose = _public(ops.isclose)
isfinite = _public(ops.isfinite)
isinf = _public(ops.isinf)
isnan = _public(ops.isnan)
le = _public(ops.le)
log = _public(ops.log)
log1p = _public(ops.log1p)
log_softmax = _public(ops.log_softmax)
logical_and = _public(ops.logical_and)
logical_not = _public(ops.logical_not)
logical_or = _public(ops.logical_or)
logical_xor = _public(ops.logical_xor)
logsumexp = _public(ops.logsumexp)
lt = _public(ops.lt)
matmul = _public(ops.matmul)
matrix_norm = _public(norms.matrix_norm)
max = _public(ops.max)  # noqa: A001
maximum = _public(ops.maximum)
mean = _public(ops.mean)
min = _public(ops.min)  # noqa: A001
minimum = _public(ops.minimum)
mm = _public(ops.mm)
bmm = _public(ops.bmm)
mul = _public(ops.mul)
mv = _public(ops.mv)
ne = _public(ops.ne)
neg = _public(ops.neg)
norm = _public(norms.norm)
outer = _public(ops.outer)
permute = _public(ops.permute)
pow = _public(ops.pow)  # noqa: A001
prod = _public(ops.prod)
relu = _public(ops.relu)
remainder = _public(ops.remainder)
reshape = _public(ops.reshape)
round = _public(ops.round)  # noqa: A001
sigmoid = _public(ops.sigmoid)
sign = _public(ops.sign)
sin = _public(ops.sin)
softmax = _public(ops.softmax)
sort = _public(selection.sort)
argsort = _public(selection.argsort)
split = _public(ops.split)
sqrt = _public(ops.sqrt)
square = _public(ops.square)
squeeze = _public(ops.squeeze)
std = _public(ops.std)
sub = _public(ops.sub)
sum = _public(ops.sum)  # noqa: A001
svd = _public(linalg_ops.legacy_svd)
swapaxes = _public(ops.swapaxes)
t = _public(ops.t)
tan = _public(ops.tan)
tanh = _public(ops.tanh)
tensordot = _public(ops.tensordot)
tile = _public(ops.tile)
transpose = _public(ops.transpose)
trunc = _public(ops.trunc)
unsqueeze = _public(ops.unsqueeze)
var = _public(ops.var)
vector_norm = _public(norms.vector_norm)
where = _public(ops.where)
asin = _public(math_ops.asin)
arcsin = _public(math_ops.arcsin)
acos = _public(math_ops.acos)
arccos = _public(math_ops.arccos)
atan = _public(math_ops.atan)
arctan = _public(math_ops.arctan)
sinh = _public(math_ops.sinh)
cosh = _public(math_ops.cosh)
asinh = _public(math_ops.asinh)
arcsinh = _public(math_ops.arcsinh)
acosh = _public(math_ops.acosh)
arccosh = _public(math_ops.arccosh)
atanh = _public(math_ops.atanh)
arctanh = _public(math_ops.arctanh)
log2 = _public(math_ops.log2)
log10 = _public(math_ops.log10)
exp2 = _public(math_ops.exp2)
deg2rad = _public(math_ops.deg2rad)
rad2deg = _public(math_ops.rad2deg)
sinc = _public(math_ops.sinc)
erf = _public(math_ops.erf)
erfc = _public(math_ops.erfc)
atan2 = _public(math_ops.atan2)
arctan2 = _public(math_ops.arctan2)
hypot = _public(math_ops.hypot)
logaddexp2 = _public(math_ops.logaddexp2)
fmax = _public(math_ops.fmax)
fmin = _public(math_ops.fmin)
real = _public(complex_ops.real)
imag = _public(complex_ops.imag)
conj = conj_physical = _public(complex_ops.conj)
angle = _public(complex_ops.angle)
complex = _public(complex_ops.complex)  # noqa: A001
polar = _public(complex_ops.polar)
is_complex = _public(Tensor.is_complex)
tril = _public(math_ops.tril)
triu = _public(math_ops.triu)
diag = _public(math_ops.diag)
diagonal = _public(math_ops.diagonal)
trace = _public(math_ops.trace)
kron = _public(math_ops.kron)
roll = _public(math_ops.roll)
rot90 = _public(math_ops.rot90)
diff = _public(math_ops.diff)
repeat_interleave = _public(math_ops.repeat_interleave)
fliplr = _public(math_ops.fliplr)
flipud = _public(math_ops.flipud)
ravel = _public(math_ops.ravel)
cross = _public(math_ops.cross)
gather = _public(selection.gather)
take_along_dim = _public(selection.take_along_dim)
index_select = _public(selection.index_select)
scatter = _public(selection.scatter)
scatter_add = _public(selection.scatter_add)
masked_fill = _public(selection.masked_fill)
masked_select = _public(selection.masked_select)
topk = _public(selection.topk)
addcmul = _public(selection.addcmul)
addcdiv = _public(selection.addcdiv)
lerp = _public(selection.lerp)
clamp_ = _public(Tensor.clamp_)
clip_ = _public(Tensor.clip_)
numel = _public(Tensor.numel)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids of 1-D tensors (see :func:`chainrule.selection.meshgrid`).

    >>> import chainrule as cr
    >>> xs, ys = cr.meshgrid(cr.tensor([1, 2, 3]), cr.tensor([4, 5]), indexing='xy')
    >>> xs.shape, xs[0]
    ((2, 3), tensor([1, 2, 3]))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return selection.meshgrid(*[tensor_arg(t) for t in tensors], indexing=indexing)


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a chainrule Tensor (a Parameter too).

    >>> import chainrule as cr
    >>> cr.is_tensor(cr.ones(2)), cr.is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)

