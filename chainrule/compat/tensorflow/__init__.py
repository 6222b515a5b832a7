"""TensorFlow's eager autodiff interface on chainrule: ``import chainrule.compat.tensorflow as tf``.

The TensorFlow tab of the d2l chapter "Automatic Differentiation" runs with only its import line
changed and displays what TensorFlow displays::

    >>> import chainrule.compat.tensorflow as tf
    >>> x = tf.Variable(tf.range(4, dtype=tf.float32))
    >>> with tf.GradientTape() as t:
    ...     y = 2 * tf.tensordot(x, x, axes=1)
    >>> y
    <tf.Tensor: shape=(), dtype=float32, numpy=28.0>
    >>> t.gradient(y, x)
    <tf.Tensor: shape=(4,), dtype=float32, numpy=array([ 0.,  4.,  8., 12.], dtype=float32)>

How it maps onto chainrule (a thin client of its public API):

- A ``Tensor`` wraps an immutable ``chainrule.Tensor``; a ``Variable`` holds one and replaces
  it on ``assign``.  Operations outside every recording tape run under ``chainrule.no_grad()``.
- When a tape watches a tensor or variable (``watch``, or reading a trainable variable inside
  the tape), it gives that object a *stand-in*: a chainrule tensor with the same values that
  requires grad (a fresh leaf, or a ``clone`` of what an enclosing tape already watches, so
  that nested tapes chain).  While the tape records, operations read the stand-in and run
  under ``chainrule.enable_grad()``; each result remembers which tapes recorded it.
- ``gradient`` calls ``chainrule.autograd.grad(..., allow_unused=True)`` with respect to the
  tape's stand-ins, with ``create_graph=True`` when a tape is recording at that moment (nested
  tapes give higher derivatives).  Targets the tape did not record are unconnected.
- ``tf.autodiff.ForwardAccumulator`` makes its primals read ``chainrule.autograd.forward_ad``
  dual tensors while it is open, and keeps the tangent of every result computed inside.

The modules, each below the ones it imports: ``_dtypes`` (dtypes, shapes, errors), ``_display``
(how values print), ``_recording`` (the tapes and accumulator recording now, and their
stand-ins), ``_tensors`` (``Tensor``, ``Variable``, and how an operation runs), ``_tape``
(``GradientTape``), ``_forward`` (``ForwardAccumulator``), ``_creation``, ``_ops`` and
``_random`` (the ``tf.*`` functions).
"""

from __future__ import annotations

from chainrule.compat.tensorflow._creation import (
    convert_to_tensor,
    eye,
    fill,
    is_tensor,
    linspace,
    ones,
    ones_like,
    range,
    zeros,
    zeros_like,
)
from chainrule.compat.tensorflow._dtypes import (
    DType,
    InvalidArgumentError,
    OpError,
    TensorShape,
    UnconnectedGradients,
    as_dtype,
    bool,
    complex64,
    complex128,
    double,
    dtypes,
    errors,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from chainrule.compat.tensorflow._forward import ForwardAccumulator, autodiff
from chainrule.compat.tensorflow._ops import (
    abs,
    add,
    concat,
    cos,
    divide,
    equal,
    exp,
    expand_dims,
    greater,
    less,
    linalg,
    math,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    norm,
    pow,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    reshape,
    sigmoid,
    sin,
    sqrt,
    square,
    squeeze,
    stack,
    stop_gradient,
    subtract,
    tan,
    tanh,
    tensordot,
    transpose,
    where,
)
from chainrule.compat.tensorflow._random import random
from chainrule.compat.tensorflow._tape import GradientTape
from chainrule.compat.tensorflow._tensors import Tensor, Variable, cast, constant, identity

__all__ = ["DType", "ForwardAccumulator", "GradientTape", "InvalidArgumentError", "OpError",
           "Tensor", "TensorShape", "UnconnectedGradients", "Variable", "abs", "add", "as_dtype",
           "autodiff", "bool", "cast", "complex128", "complex64", "concat", "constant",
           "convert_to_tensor", "cos", "divide", "double", "dtypes", "equal", "errors", "exp",
           "expand_dims", "eye", "fill", "float16", "float32", "float64", "greater", "half",
           "identity", "int16", "int32", "int64", "int8", "is_tensor", "less", "linalg",
           "linspace", "math", "matmul", "maximum", "minimum", "multiply", "negative", "norm",
           "ones", "ones_like", "pow", "random", "range", "reduce_max", "reduce_mean",
           "reduce_min", "reduce_prod", "reduce_sum", "reshape", "sigmoid", "sin", "sqrt",
           "square", "squeeze", "stack", "stop_gradient", "subtract", "tan", "tanh", "tensordot",
           "transpose", "uint8", "where", "zeros", "zeros_like"]
