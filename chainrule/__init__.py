"""chainrule: automatic differentiation for NumPy, readable end to end.

``import chainrule as cr`` gives PyTorch's tensor interface (``cr.tensor``, ``x.backward()``,
``x.grad``); the engine behind it is a few hundred lines (see ``chainrule/engine.py``), and
every derivative rule sits in one table (``chainrule/rules.py``).

>>> import chainrule as cr
>>> x = cr.arange(4.0, requires_grad=True)
>>> y = 2 * cr.dot(x, x)
>>> y.backward()
>>> x.grad
tensor([ 0.,  4.,  8., 12.])
"""

from chainrule import autograd, func, linalg
from chainrule.creation import (
    arange,
    as_tensor,
    bool_,
    complex64,
    complex128,
    double,
    empty,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    linspace,
    long,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    set_default_dtype,
    short,
    tensor,
    uint8,
    zeros,
    zeros_like,
)
from chainrule.engine import is_grad_enabled
from chainrule.functions import (
    abs,
    add,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    broadcast_to,
    cat,
    ceil,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    count_nonzero,
    div,
    dot,
    einsum,
    eq,
    equal,
    exp,
    expand,
    expm1,
    flatten,
    flip,
    floor,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logsumexp,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    mv,
    ne,
    neg,
    norm,
    outer,
    permute,
    pow,
    prod,
    relu,
    reshape,
    round,
    sigmoid,
    sign,
    sin,
    softmax,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    t,
    tan,
    tanh,
    tensordot,
    tile,
    transpose,
    trunc,
    unsqueeze,
    var,
    where,
)
from chainrule.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from chainrule.tensor import Tensor

bool = bool_  # noqa: A001  (PyTorch's name; the builtin is shadowed only inside this namespace)
float = float32  # noqa: A001
int = int32  # noqa: A001
true_divide = divide = div
multiply = mul
subtract = sub
negative = neg

__version__ = "0.1.0"
