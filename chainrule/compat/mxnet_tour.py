"""The MXNet tab of d2l's "Automatic Differentiation" chapter, for the guided tour.

``MXNET_CELLS`` holds ``(explanation, code, display)`` triples in the chapter's order: the
book's 13 MXNet cells with only the import line changed (``from chainrule.compat.mxnet import
autograd, np, npx``), and what the book (mxnet 1.9.1) displays under each (None: nothing).  The
random input of cell 12 comes from the front end's generator, seeded at start-up; in a fresh
process its first draw is positive, so the last cell shows ``array(True)`` as the book does.
"""

from __future__ import annotations

MXNET_CELLS: list[tuple[str, str, str | None]] = [
    ("chainrule speaks MXNet's numpy dialect: only the import changes.",
     "from chainrule.compat.mxnet import autograd, np, npx\nnpx.set_np()",
     None),
    ("A simple function: we want the gradient of y = 2 x.x with respect to x.",
     "x = np.arange(4.0)\nx",
     "array([0., 1., 2., 3.])"),
    ("attach_grad allocates the gradient, initialised with zeros.",
     "# We allocate memory for a tensor's gradient by invoking `attach_grad`\n"
     "x.attach_grad()\n"
     "# After we calculate a gradient taken with respect to `x`, we will be able to\n"
     "# access it via the `grad` attribute, whose values are initialized with 0s\n"
     "x.grad",
     "array([0., 0., 0., 0.])"),
    ("Operations are recorded only inside autograd.record().",
     "# Our code is inside an `autograd.record` scope to build the computational\n"
     "# graph\n"
     "with autograd.record():\n"
     "    y = 2 * np.dot(x, x)\n"
     "y",
     "array(28.)"),
    ("Backpropagate, then read the gradient.",
     "y.backward()\nx.grad",
     "array([ 0.,  4.,  8., 12.])"),
    ("The gradient of 2 x.x is 4x.",
     "x.grad == 4 * x",
     "array([ True,  True,  True,  True])"),
    ("MXNet overwrites the gradient (grad_req='write'): no reset needed.",
     "with autograd.record():\n"
     "    y = x.sum()\n"
     "y.backward()\n"
     "x.grad  # Overwritten by the newly calculated gradient",
     "array([1., 1., 1., 1.])"),
    ("Backward for non-scalar variables: MXNet differentiates the sum.",
     "with autograd.record():\n"
     "    y = x * x\n"
     "y.backward()\n"
     "x.grad  # Equals the gradient of y = sum(x * x)",
     "array([0., 2., 4., 6.])"),
    ("Detaching computation: u is treated as a constant.",
     "with autograd.record():\n"
     "    y = x * x\n"
     "    u = y.detach()\n"
     "    z = u * x\n"
     "z.backward()\n"
     "x.grad == u",
     "array([ True,  True,  True,  True])"),
    ("y's own graph is still there: z.backward() freed only what z reaches.",
     "y.backward()\nx.grad == 2 * x",
     "array([ True,  True,  True,  True])"),
    ("Gradients through Python control flow.",
     "def f(a):\n"
     "    b = a * 2\n"
     "    while np.linalg.norm(b) < 1000:\n"
     "        b = b * 2\n"
     "    if b.sum() > 0:\n"
     "        c = b\n"
     "    else:\n"
     "        c = 100 * b\n"
     "    return c",
     None),
    ("Run it on a random input and backpropagate.",
     "a = np.random.normal()\n"
     "a.attach_grad()\n"
     "with autograd.record():\n"
     "    d = f(a)\n"
     "d.backward()",
     None),
    ("f is linear in a (with a data-dependent slope), so the gradient is d / a.",
     "a.grad == d / a",
     "array(True)"),
]
