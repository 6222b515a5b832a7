"""The TensorFlow tab of d2l's "Automatic Differentiation" chapter, for a guided tour.

``TENSORFLOW_CELLS`` are the tab's 13 cells, verbatim except that ``import tensorflow as tf``
becomes ``import chainrule.compat.tensorflow as tf``, each as (explanation, code, display): the
display is what the book shows under the cell (None: nothing).  The two cells that depend on
the random draw (``RANDOM_CELLS``) show the values chainrule draws after
``tf.random.set_seed(SEED)`` (equivalently ``chainrule.manual_seed(SEED)``) just before the
draw; TensorFlow's own generator gives other numbers (the book shows, e.g., ``numpy=1024.0``).
"""

from __future__ import annotations

SEED = 6  # a = 1.0531 for this seed: the display is numpy=1024.0, as in the book, and since
# a > 0, d_grad == d / a is exact (see dialects.md section 7)
RANDOM_CELLS = (11, 12)  # indices (from 0) of the cells whose display depends on the draw

TENSORFLOW_CELLS: list[tuple[str, str, str | None]] = [
    ("chainrule speaks TensorFlow's tape interface: only the import changes.",
     "import chainrule.compat.tensorflow as tf", None),
    ("A simple function: we want the gradient of y = 2 x.x with respect to x.",
     "x = tf.range(4, dtype=tf.float32)\nx",
     "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([0., 1., 2., 3.], dtype=float32)>"),
    ("A trainable Variable is watched automatically by the tapes that read it.",
     "x = tf.Variable(x)", None),
    ("Operations inside a GradientTape's block are recorded.",
     "# Record all computations onto a tape\nwith tf.GradientTape() as t:\n"
     "    y = 2 * tf.tensordot(x, x, axes=1)\ny",
     "<tf.Tensor: shape=(), dtype=float32, numpy=28.0>"),
    ("The tape computes the gradient and returns it (no .grad slot).",
     "x_grad = t.gradient(y, x)\nx_grad",
     "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([ 0.,  4.,  8., 12.], "
     "dtype=float32)>"),
    ("The gradient of 2 x.x is 4x.", "x_grad == 4 * x",
     "<tf.Tensor: shape=(4,), dtype=bool, numpy=array([ True,  True,  True,  True])>"),
    ("Each gradient call returns a new result: nothing accumulates.",
     "with tf.GradientTape() as t:\n    y = tf.reduce_sum(x)\n"
     "t.gradient(y, x)  # Overwritten by the newly calculated gradient",
     "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([1., 1., 1., 1.], dtype=float32)>"),
    ("Backward for non-scalar variables: the gradient of a vector is that of its sum.",
     "with tf.GradientTape() as t:\n    y = x * x\n"
     "t.gradient(y, x)  # Same as y = tf.reduce_sum(x * x)",
     "<tf.Tensor: shape=(4,), dtype=float32, numpy=array([0., 2., 4., 6.], dtype=float32)>"),
    ("Detaching computation: stop_gradient makes u a constant; a persistent tape can be "
     "asked twice.",
     "# Set persistent=True to preserve the compute graph. \n"
     "# This lets us run t.gradient more than once\n"
     "with tf.GradientTape(persistent=True) as t:\n    y = x * x\n    u = tf.stop_gradient(y)\n"
     "    z = u * x\n\nx_grad = t.gradient(z, x)\nx_grad == u",
     "<tf.Tensor: shape=(4,), dtype=bool, numpy=array([ True,  True,  True,  True])>"),
    ("y itself is still recorded in terms of x.", "t.gradient(y, x) == 2 * x",
     "<tf.Tensor: shape=(4,), dtype=bool, numpy=array([ True,  True,  True,  True])>"),
    ("Gradients through Python control flow.",
     "def f(a):\n    b = a * 2\n    while tf.norm(b) < 1000:\n        b = b * 2\n"
     "    if tf.reduce_sum(b) > 0:\n        c = b\n    else:\n        c = 100 * b\n    return c",
     None),
    ("Run it on a random input under a tape and take the gradient.",
     "a = tf.Variable(tf.random.normal(shape=()))\nwith tf.GradientTape() as t:\n"
     "    d = f(a)\nd_grad = t.gradient(d, a)\nd_grad",
     "<tf.Tensor: shape=(), dtype=float32, numpy=1024.0>"),
    ("f is linear in a (with a data-dependent slope), so the gradient is d / a.",
     "d_grad == d / a", "<tf.Tensor: shape=(), dtype=bool, numpy=True>"),
]
