"""Side-by-side benchmarks: chainrule, hand-written NumPy and every installed peer.

Run ``python benchmarks/run.py`` (``--quick`` for a fast smoke run).  BLAS (and PyTorch, and
XLA) are pinned to one thread; every workload first checks that all frameworks compute the same
gradient, then warms up and times them interleaved in this one process, and reports medians with
the interquartile range, the ratio to hand-written NumPy and chainrule's ratio to each peer.

Frameworks: hand-written NumPy and chainrule always; PyTorch (CPU, eager), HIPS autograd,
JAX (eager, and jit where marked) and micrograd (scalar chain only) when installed.  A peer
that is not installed is listed as such and left out of the tables.  "chainrule compiled"
(issue 18; scalar chain, vector chain, MLP step, big gradient): the workload's function
(forward and loss) wrapped by ``chainrule.compile`` and traced once at setup, so that the timed
calls replay its plan; then ``.backward()``.  The MLP step is compiled whole: forward,
``autograd.grad`` and the SGD update in place, as one plan.  With
it and the MLP step, a table of tracing costs: the first (tracing) call of a freshly compiled
MLP step over one eager step, and the traces of the chapter's branching ``f``.

Timed workloads (issues 2 and 6):
  scalar-chain   y = y * 1.0001 + 0.0001 on a 0-d float64, 1,000 steps (2,000 ops), fwd + bwd
  vector-chain   1,000 ops cycling mul, add, sin, exp, tanh on 16-element float64 vectors
  mlp-step       MLP 784-512-512-10 (ReLU, biases), batch 128, float32, softmax cross-entropy:
                 forward + backward + SGD step; peak traced memory for the NumPy-based ones
  big-gradient   sum(sin(x) * exp(x) * x) and its gradient, x of 1e6 float64

Transform ratios (issues 3 and 6), each transform over its baseline, both timed interleaved:
  hvp            Hessian-vector product of sum(tanh(W @ x)), x of 100, over its gradient
  jvp-mlp        jvp of an MLP forward (784-512-512-10, tanh, batch 128, float32) w.r.t. its
                 input, over the plain forward
  jacrev         the 100 x 100 Jacobian of tanh(W @ x) by reverse mode, over one VJP

Also: deep chains y = y * 1.0000001 of 1e3 ... 1e6 ops (is the backward walk linear in the
graph's length?) and ``import`` times, each measured in fresh interpreters.

Adding a framework to a workload is one function decorated with ``@implements(workload,
framework)``: it receives the workload's size parameters and returns the function to time
(for transform workloads, a pair: the transform and its baseline).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import chainrule as cr  # noqa: E402
from chainrule.threads import usable_cores  # noqa: E402

# --------------------------------------------------------------------------------------------
# frameworks


@dataclass(frozen=True)
class Framework:
    label: str
    module: str | None  # what must be importable; None: always there
    dist: str | None = None  # the distribution whose version to print


CORES = usable_cores()  # (chainrule's own count follows OMP_NUM_THREADS, pinned to 1 above)

FRAMEWORKS = {
    "numpy": Framework("NumPy by hand", "numpy", "numpy"),
    # a second floor for the scalar chain: Python arithmetic on NumPy scalars, no ufunc calls
    "numpy-scalars": Framework("NumPy scalars by hand", "numpy", "numpy"),
    "chainrule": Framework("chainrule", None),
    # the workload's function (forward + loss; the MLP's whole step) wrapped by
    # chainrule.compile, traced at setup
    "compiled": Framework("chainrule compiled", None),
    # the same on every core this process may use (chainrule.set_num_threads): the fused
    # regions of a plan run on threads; everything else here stays on one
    "compiled-threads": Framework(f"chainrule compiled, {CORES} threads", None),
    "torch": Framework("PyTorch eager", "torch", "torch"),
    "autograd": Framework("HIPS autograd", "autograd", "autograd"),
    "jax": Framework("JAX eager", "jax", "jax"),
    "jax-jit": Framework("JAX jit", "jax", "jax"),
    "micrograd": Framework("micrograd", "micrograd", "micrograd"),
}
PEERS = ("torch", "autograd", "jax", "jax-jit", "micrograd")
# NumPy reports its buffers to tracemalloc
MEMORY_TRACED = ("numpy", "chainrule", "compiled", "autograd")


def installed(key: str) -> bool:
    module = FRAMEWORKS[key].module
    return module is None or importlib.util.find_spec(module) is not None


def version(key: str) -> str:
    fw = FRAMEWORKS[key]
    if not installed(key):
        return "not installed"
    if fw.dist is None:
        return "this checkout"
    try:
        return importlib.metadata.version(fw.dist)
    except importlib.metadata.PackageNotFoundError:
        return "installed"


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)  # the float64 workloads stay float64
    return jax


# --------------------------------------------------------------------------------------------
# the registry


@dataclass
class Workload:
    name: str
    what: str
    params: dict  # the sizes of the full run
    tiny: dict  # sizes for the smoke test
    kind: str = "time"  # "time": impls return the gradient; "ratio": (transform, baseline)
    ops: Callable[[dict], int] | None = None  # ops per run: times are shown per op
    rtol: float = 1e-9
    atol: float = 1e-12
    target: str = ""  # issue 6's target
    compiled_target: str = ""  # issue 18's target for chainrule compiled
    memory: bool = False  # also report peak traced memory
    impls: dict[str, Callable] = field(default_factory=dict)


WORKLOADS: dict[str, Workload] = {}


def workload(name: str, **kwargs) -> None:
    WORKLOADS[name] = Workload(name, **kwargs)


def implements(name: str, framework: str):
    """Register ``factory(**params)`` as ``framework``'s implementation of workload ``name``."""

    def register(factory):
        WORKLOADS[name].impls[framework] = factory
        return factory

    return register


# --------------------------------------------------------------------------------------------
# scalar chain

workload("scalar-chain", what="y = y*1.0001 + 0.0001, 0-d float64, fwd+bwd",
         params={"steps": 1000}, tiny={"steps": 20}, ops=lambda p: 2 * p["steps"],
         target="<= 1.5x NumPy", compiled_target="<= 1.0x NumPy")


@implements("scalar-chain", "numpy")
def scalar_chain_numpy(steps):
    """Issue 6's floor for the 0-d chain: NumPy's functions (ufuncs), as code written for
    arrays of any shape calls them; a ufunc call on a 0-d value costs about a microsecond."""

    def run():
        y = np.array(0.5)
        for _ in range(steps):  # forward: nothing to keep, the derivative is constant
            y = np.add(np.multiply(y, 1.0001), 0.0001)
        g = np.array(1.0)
        for _ in range(steps):  # backward: d(y * a + b)/dy = a
            g = np.multiply(g, 1.0001)
        return g

    return run


@implements("scalar-chain", "numpy-scalars")
def scalar_chain_numpy_scalars(steps):
    """The lowest floor: Python operators on NumPy scalars (about 0.05 µs an operation)."""

    def run():
        y = np.float64(0.5)
        for _ in range(steps):
            y = y * 1.0001 + 0.0001
        g = np.float64(1.0)
        for _ in range(steps):
            g = g * 1.0001
        return g

    return run


def _scalar_chain(y, steps):
    for _ in range(steps):
        y = y * 1.0001 + 0.0001
    return y


def _scalar_chain_eager(lib, steps):
    """The chain in PyTorch's interface, which chainrule shares: one runner for both."""

    def run():
        x = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)
        _scalar_chain(x, steps).backward()
        return x.grad.item()

    return run


implements("scalar-chain", "chainrule")(lambda steps: _scalar_chain_eager(cr, steps))


def _traced(run, compiled):
    """A compiled implementation's runner, called once here so that its first call (the
    trace) is part of the setup and every timed call replays the plan; ``run.compiled`` is
    the compiled function (its ``traces`` count what was traced)."""
    run()
    run.compiled = compiled
    return run


@implements("scalar-chain", "compiled")
def scalar_chain_compiled(steps):
    chain = cr.compile(lambda y: _scalar_chain(y, steps))

    def run():
        x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
        chain(x).backward()
        return x.grad.item()

    return _traced(run, chain)


implements("scalar-chain", "torch")(lambda steps: _scalar_chain_eager(_torch(), steps))


@implements("scalar-chain", "autograd")
def scalar_chain_autograd(steps):
    import autograd

    return lambda: autograd.grad(_scalar_chain)(0.5, steps)


@implements("scalar-chain", "jax")
def scalar_chain_jax(steps):
    jax = _jax()
    return lambda: float(jax.grad(_scalar_chain)(0.5, steps))


@implements("scalar-chain", "micrograd")
def scalar_chain_micrograd(steps):
    from micrograd.engine import Value

    # micrograd sorts its graph recursively: one frame per node
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * steps + 1000))

    def run():
        x = Value(0.5)
        _scalar_chain(x, steps).backward()
        return x.grad

    return run


# --------------------------------------------------------------------------------------------
# vector chain

workload("vector-chain", what="1,000 ops (mul, add, sin, exp, tanh), 16-element float64",
         params={"ops": 1000, "size": 16}, tiny={"ops": 20, "size": 4}, ops=lambda p: p["ops"],
         rtol=1e-8, target="<= 2x NumPy", compiled_target="<= 1.3x NumPy")

VECTOR_CYCLE = ("mul", "add", "sin", "exp", "tanh")


def _vector_forward(y, ops: int, sin, exp, tanh) -> list:
    """The chain's forward pass with the given elementwise functions; returns every value."""
    values = [y]
    for i in range(ops):
        kind = VECTOR_CYCLE[i % 5]
        if kind == "mul":
            y = y * 0.9
        elif kind == "add":
            y = y + 0.1
        else:
            y = {"sin": sin, "exp": exp, "tanh": tanh}[kind](y)
        values.append(y)
    return values


@implements("vector-chain", "numpy")
def vector_chain_numpy(ops, size):
    x0 = np.linspace(-1, 1, size)

    def run():
        values = _vector_forward(x0, ops, np.sin, np.exp, np.tanh)
        g = np.ones(size)
        for i in reversed(range(ops)):
            kind, x, ans = VECTOR_CYCLE[i % 5], values[i], values[i + 1]
            if kind == "mul":
                g = g * 0.9
            elif kind == "sin":
                g = g * np.cos(x)
            elif kind == "exp":
                g = g * ans
            elif kind == "tanh":
                g = g * (1 - ans * ans)
        return g

    return run


def _vector_chain_eager(lib, ops, size):
    """The chain in PyTorch's interface, which chainrule shares: one runner for both."""
    x0 = np.linspace(-1, 1, size)

    def run():
        x = lib.tensor(x0, requires_grad=True)
        y = _vector_forward(x, ops, lib.Tensor.sin, lib.Tensor.exp, lib.Tensor.tanh)[-1]
        y.backward(lib.ones(size, dtype=lib.float64))
        return x.grad

    return run


implements("vector-chain", "chainrule")(lambda ops, size: _vector_chain_eager(cr, ops, size))


@implements("vector-chain", "compiled")
def vector_chain_compiled(ops, size):
    x0 = np.linspace(-1, 1, size)
    chain = cr.compile(
        lambda y: _vector_forward(y, ops, cr.Tensor.sin, cr.Tensor.exp, cr.Tensor.tanh)[-1])
    ones = cr.ones(size, dtype=cr.float64)

    def run():
        x = cr.tensor(x0, requires_grad=True)
        chain(x).backward(ones)
        return x.grad

    return _traced(run, chain)


implements("vector-chain", "torch")(
    lambda ops, size: _vector_chain_eager(_torch(), ops, size))


@implements("vector-chain", "autograd")
def vector_chain_autograd(ops, size):
    import autograd
    import autograd.numpy as anp

    x0 = np.linspace(-1, 1, size)
    f = lambda x: _vector_forward(x, ops, anp.sin, anp.exp, anp.tanh)[-1]
    return lambda: autograd.elementwise_grad(f)(x0)  # one VJP with ones


@implements("vector-chain", "jax")
def vector_chain_jax(ops, size):
    jax = _jax()
    x0 = jax.numpy.linspace(-1.0, 1.0, size)
    ones = jax.numpy.ones(size)
    f = lambda x: _vector_forward(x, ops, jax.numpy.sin, jax.numpy.exp, jax.numpy.tanh)[-1]
    return lambda: jax.block_until_ready(jax.vjp(f, x0)[1](ones)[0])


# --------------------------------------------------------------------------------------------
# MLP training step

workload("mlp-step", what="MLP 784-512-512-10, batch 128, float32, fwd+bwd+SGD",
         params={"sizes": (784, 512, 512, 10), "batch": 128},
         tiny={"sizes": (8, 6, 6, 3), "batch": 4}, rtol=2e-4, atol=1e-6, memory=True,
         target="<= 1.05x NumPy, memory <= 1.25x", compiled_target="<= 1.0x NumPy")

LEARNING_RATE = 0.01


def _mlp_data(sizes, batch):
    """Fresh parameters [W1, b1, W2, b2, ...], inputs, one-hot targets and labels (float32)."""
    rng = np.random.default_rng(0)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
                   (0.1 * rng.standard_normal(n)).astype(np.float32)]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], batch)
    onehot = np.eye(sizes[-1], dtype=np.float32)[labels]
    return params, x, onehot, labels


@implements("mlp-step", "numpy")
def mlp_step_numpy(sizes, batch):
    params, x, onehot, _ = _mlp_data(sizes, batch)

    def run():
        activations, h = [x], x
        for i in range(0, len(params) - 2, 2):
            h = np.maximum(h @ params[i] + params[i + 1], 0)
            activations.append(h)
        z = h @ params[-2] + params[-1]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / batch  # d loss / d z of the mean cross-entropy
        grads = [None] * len(params)
        for i in reversed(range(0, len(params), 2)):
            a = activations[i // 2]
            grads[i], grads[i + 1] = a.T @ g, g.sum(axis=0)
            if i:
                g = (g @ params[i].T) * (a > 0)
        for p, gp in zip(params, grads):
            p -= LEARNING_RATE * gp
        return grads

    return run


def _mlp_step_eager(lib, sizes, batch, compiled: bool = False):
    """The step in PyTorch's interface, which chainrule shares: one runner for both, with
    each library's fused softmax cross-entropy (``lib.nn.functional.cross_entropy``).

    With ``compiled`` (chainrule only), the whole step is one ``chainrule.compile``d function,
    as ``torch.compile`` users write a training step: the forward and loss, the gradients
    (``autograd.grad``, which returns them where ``backward()`` would write ``.grad``, a side
    effect a replay could not repeat) and the SGD update in place under ``no_grad``.  The
    runner is returned untraced: its first call traces, or ``run.trace()`` does, with its
    update undone."""
    arrays, x, onehot, labels = _mlp_data(sizes, batch)
    params = [lib.from_numpy(a).requires_grad_() for a in arrays]
    x, labels = lib.from_numpy(x), lib.from_numpy(labels)

    def loss(x, labels):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = lib.relu(h @ params[i] + params[i + 1])
        z = h @ params[-2] + params[-1]
        return lib.nn.functional.cross_entropy(z, labels)

    if compiled:
        @cr.compile
        def step(x, labels):
            grads = cr.autograd.grad(loss(x, labels), params)
            with cr.no_grad():
                for p, g in zip(params, grads):
                    p -= LEARNING_RATE * g
            return grads

        def run():
            return step(x, labels)

        def trace():  # the first call, its update undone (the parameters share `arrays`)
            before = [a.copy() for a in arrays]
            step(x, labels)
            for a, b in zip(arrays, before):
                a[...] = b

        run.compiled, run.trace = step, trace
        return run

    def run():
        loss(x, labels).backward()
        grads = [p.grad for p in params]
        with lib.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return grads

    return run


implements("mlp-step", "chainrule")(lambda sizes, batch: _mlp_step_eager(cr, sizes, batch))


def _mlp_step_compiled(sizes, batch):
    """chainrule's whole step compiled, untraced (see _mlp_step_eager)."""
    return _mlp_step_eager(cr, sizes, batch, compiled=True)


@implements("mlp-step", "compiled")
def mlp_step_compiled(sizes, batch):
    run = _mlp_step_compiled(sizes, batch)
    run.trace()  # traced here, its update undone: the first timed step starts from fresh weights
    return run


implements("mlp-step", "torch")(lambda sizes, batch: _mlp_step_eager(_torch(), sizes, batch))


def _mlp_loss(np_like, log_softmax, params, x, onehot):
    h = x
    for i in range(0, len(params) - 2, 2):
        h = np_like.maximum(h @ params[i] + params[i + 1], 0)
    z = h @ params[-2] + params[-1]
    return -np_like.sum(log_softmax(z) * onehot) / x.shape[0]


@implements("mlp-step", "autograd")
def mlp_step_autograd(sizes, batch):
    import autograd
    import autograd.numpy as anp

    params, x, onehot, _ = _mlp_data(sizes, batch)

    def log_softmax(z):
        z = z - anp.max(z, axis=1, keepdims=True)
        return z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))

    gradient = autograd.grad(lambda ps: _mlp_loss(anp, log_softmax, ps, x, onehot))

    def run():
        grads = gradient(params)
        for p, g in zip(params, grads):
            p -= LEARNING_RATE * g
        return grads

    return run


def _mlp_step_jax(sizes, batch, jit):
    jax = _jax()
    arrays, x, onehot, _ = _mlp_data(sizes, batch)
    state = [jax.numpy.asarray(a) for a in arrays]

    def step(params):
        loss = lambda ps: _mlp_loss(jax.numpy, jax.nn.log_softmax, ps, x, onehot)
        grads = jax.grad(loss)(params)
        return [p - LEARNING_RATE * g for p, g in zip(params, grads)], grads

    step = jax.jit(step) if jit else step

    def run():
        state[:], grads = step(state)
        return jax.block_until_ready(grads)

    return run


implements("mlp-step", "jax")(lambda sizes, batch: _mlp_step_jax(sizes, batch, jit=False))
implements("mlp-step", "jax-jit")(lambda sizes, batch: _mlp_step_jax(sizes, batch, jit=True))

# --------------------------------------------------------------------------------------------
# big gradient

workload("big-gradient", what="sum(sin(x)*exp(x)*x) and its gradient, x of 1e6 float64",
         params={"n": 1_000_000}, tiny={"n": 100}, target="<= 1.05x NumPy",
         compiled_target="<= 0.6x NumPy (fused)")


def _big_x(n):
    return np.random.default_rng(0).uniform(-1, 1, n)


@implements("big-gradient", "numpy")
def big_gradient_numpy(n):
    x0 = _big_x(n)

    def run():
        s, e = np.sin(x0), np.exp(x0)
        se = s * e
        np.sum(se * x0)  # the loss
        # d/dx of sum(s e x) = s e + x (cos(x) e + s e)
        return se + x0 * (np.cos(x0) * e + se)

    return run


def _big_gradient_eager(lib, n):
    """The workload in PyTorch's interface, which chainrule shares: one runner for both."""
    x0 = _big_x(n)

    def run():
        x = lib.from_numpy(x0).requires_grad_()
        (x.sin() * x.exp() * x).sum().backward()
        return x.grad

    return run


implements("big-gradient", "chainrule")(lambda n: _big_gradient_eager(cr, n))


@implements("big-gradient", "compiled")
def big_gradient_compiled(n):
    x0 = _big_x(n)
    loss = cr.compile(lambda x: (x.sin() * x.exp() * x).sum())

    def run():
        x = cr.from_numpy(x0).requires_grad_()
        loss(x).backward()
        return x.grad

    return _traced(run, loss)


@implements("big-gradient", "compiled-threads")
def big_gradient_compiled_threads(n):
    run = big_gradient_compiled(n)

    def on_every_core():
        before = cr.get_num_threads()
        cr.set_num_threads(CORES)
        try:
            return run()
        finally:
            cr.set_num_threads(before)

    on_every_core.compiled = run.compiled
    return on_every_core


implements("big-gradient", "torch")(lambda n: _big_gradient_eager(_torch(), n))


@implements("big-gradient", "autograd")
def big_gradient_autograd(n):
    import autograd
    import autograd.numpy as anp

    x0 = _big_x(n)
    return lambda: autograd.grad(lambda x: anp.sum(anp.sin(x) * anp.exp(x) * x))(x0)


def _big_gradient_jax(n, jit):
    jax = _jax()
    jnp = jax.numpy
    x0 = jnp.asarray(_big_x(n))
    gradient = jax.grad(lambda x: jnp.sum(jnp.sin(x) * jnp.exp(x) * x))
    gradient = jax.jit(gradient) if jit else gradient
    return lambda: jax.block_until_ready(gradient(x0))


implements("big-gradient", "jax")(lambda n: _big_gradient_jax(n, jit=False))
implements("big-gradient", "jax-jit")(lambda n: _big_gradient_jax(n, jit=True))

# --------------------------------------------------------------------------------------------
# transform ratios: each implementation returns (transform, baseline)

workload("hvp", what="hvp / grad, sum(tanh(W @ x)), x of 100", kind="ratio",
         params={"n": 100}, tiny={"n": 5}, target="<= 2x")


def _hvp_data(n):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n), \
        rng.standard_normal(n)


@implements("hvp", "numpy")
def hvp_numpy(n):
    w, x, u = _hvp_data(n)

    def gradient():
        t = np.tanh(w @ x)
        return w.T @ (1 - t * t)

    def hvp():
        t = np.tanh(w @ x)
        return w.T @ ((-2 * t * (1 - t * t)) * (w @ u))

    return hvp, gradient


@implements("hvp", "chainrule")
def hvp_chainrule(n):
    from chainrule.func import grad, hvp

    w, x, u = _hvp_data(n)
    loss = lambda z: cr.tanh(cr.tensor(w) @ z).sum()
    return (lambda: hvp(loss, (x,), (u,))[1]), (lambda: grad(loss)(x))


@implements("hvp", "torch")
def hvp_torch(n):
    torch = _torch()
    w, x, u = (torch.from_numpy(a) for a in _hvp_data(n))
    gradient = torch.func.grad(lambda z: torch.tanh(w @ z).sum())
    # forward over reverse, as torch.func's documentation recommends for hvp
    return (lambda: torch.func.jvp(gradient, (x,), (u,))[1]), (lambda: gradient(x))


@implements("hvp", "autograd")
def hvp_autograd(n):
    import autograd
    import autograd.numpy as anp

    w, x, u = _hvp_data(n)
    loss = lambda z: anp.sum(anp.tanh(w @ z))
    hvp, gradient = autograd.hessian_vector_product(loss), autograd.grad(loss)
    return (lambda: hvp(x, u)), (lambda: gradient(x))


def _hvp_jax(n, jit):
    jax = _jax()
    w, x, u = (jax.numpy.asarray(a) for a in _hvp_data(n))
    gradient = jax.grad(lambda z: jax.numpy.sum(jax.numpy.tanh(w @ z)))
    hvp = lambda z, v: jax.jvp(gradient, (z,), (v,))[1]
    if jit:
        gradient, hvp = jax.jit(gradient), jax.jit(hvp)
    return (lambda: jax.block_until_ready(hvp(x, u))), \
        (lambda: jax.block_until_ready(gradient(x)))


implements("hvp", "jax")(lambda n: _hvp_jax(n, jit=False))
implements("hvp", "jax-jit")(lambda n: _hvp_jax(n, jit=True))


workload("jvp-mlp", what="jvp / forward, MLP 784-512-512-10 (tanh), batch 128, float32",
         kind="ratio", params={"sizes": (784, 512, 512, 10), "batch": 128},
         tiny={"sizes": (8, 6, 6, 3), "batch": 4}, rtol=2e-3, atol=2e-3, target="<= 2.2x")


def _jvp_data(sizes, batch):
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
               for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    v = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    return weights, x, v


def _tanh_mlp(weights, tanh):
    def mlp(h):
        for w in weights[:-1]:
            h = tanh(h @ w)
        return h @ weights[-1]

    return mlp


@implements("jvp-mlp", "numpy")
def jvp_mlp_numpy(sizes, batch):
    weights, x, v = _jvp_data(sizes, batch)

    def jvp():
        h, tangent = x, v
        for w in weights[:-1]:
            h = np.tanh(h @ w)
            tangent = (1 - h * h) * (tangent @ w)
        return tangent @ weights[-1]

    return jvp, (lambda: _tanh_mlp(weights, np.tanh)(x))


@implements("jvp-mlp", "chainrule")
def jvp_mlp_chainrule(sizes, batch):
    from chainrule.func import jvp

    weights, x, v = _jvp_data(sizes, batch)
    mlp = _tanh_mlp(weights, cr.tanh)
    return (lambda: jvp(mlp, (x,), (v,))[1]), (lambda: mlp(cr.tensor(x)))


@implements("jvp-mlp", "torch")
def jvp_mlp_torch(sizes, batch):
    torch = _torch()
    weights, x, v = _jvp_data(sizes, batch)
    mlp = _tanh_mlp([torch.from_numpy(w) for w in weights], torch.tanh)
    x, v = torch.from_numpy(x), torch.from_numpy(v)
    return (lambda: torch.func.jvp(mlp, (x,), (v,))[1]), (lambda: mlp(x))


@implements("jvp-mlp", "autograd")
def jvp_mlp_autograd(sizes, batch):
    import autograd
    import autograd.numpy as anp

    weights, x, v = _jvp_data(sizes, batch)
    mlp = _tanh_mlp(weights, anp.tanh)
    return (lambda: autograd.make_jvp(mlp)(x)(v)[1]), (lambda: mlp(x))


def _jvp_mlp_jax(sizes, batch, jit):
    jax = _jax()
    weights, x, v = _jvp_data(sizes, batch)
    mlp = _tanh_mlp([jax.numpy.asarray(w) for w in weights], jax.numpy.tanh)
    jvp = lambda a, b: jax.jvp(mlp, (a,), (b,))[1]
    forward = mlp
    if jit:
        jvp, forward = jax.jit(jvp), jax.jit(mlp)
    x, v = jax.numpy.asarray(x), jax.numpy.asarray(v)
    return (lambda: jax.block_until_ready(jvp(x, v))), \
        (lambda: jax.block_until_ready(forward(x)))


implements("jvp-mlp", "jax")(lambda sizes, batch: _jvp_mlp_jax(sizes, batch, jit=False))
implements("jvp-mlp", "jax-jit")(lambda sizes, batch: _jvp_mlp_jax(sizes, batch, jit=True))


workload("jacrev", what="jacrev / one vjp, tanh(W @ x), R^100 -> R^100", kind="ratio",
         params={"n": 100}, tiny={"n": 5})


@implements("jacrev", "numpy")
def jacrev_numpy(n):
    w, x, u = _hvp_data(n)

    def jacobian():
        t = np.tanh(w @ x)
        return (1 - t * t)[:, None] * w

    def vjp():
        t = np.tanh(w @ x)
        return w.T @ ((1 - t * t) * u)

    return jacobian, vjp


@implements("jacrev", "chainrule")
def jacrev_chainrule(n):
    from chainrule.func import jacrev, vjp

    w, x, u = _hvp_data(n)
    layer = lambda z: cr.tanh(cr.tensor(w) @ z)
    return (lambda: jacrev(layer)(x)), (lambda: vjp(layer, x)[1](u))


@implements("jacrev", "torch")
def jacrev_torch(n):
    torch = _torch()
    w, x, u = (torch.from_numpy(a) for a in _hvp_data(n))
    layer = lambda z: torch.tanh(w @ z)
    return (lambda: torch.func.jacrev(layer)(x)), (lambda: torch.func.vjp(layer, x)[1](u))


@implements("jacrev", "autograd")
def jacrev_autograd(n):
    import autograd
    import autograd.numpy as anp

    w, x, u = _hvp_data(n)
    layer = lambda z: anp.tanh(w @ z)
    return (lambda: autograd.jacobian(layer)(x)), (lambda: autograd.make_vjp(layer)(x)[0](u))


@implements("jacrev", "jax")
def jacrev_jax(n):
    jax = _jax()
    w, x, u = (jax.numpy.asarray(a) for a in _hvp_data(n))
    layer = lambda z: jax.numpy.tanh(w @ z)
    return (lambda: jax.block_until_ready(jax.jacrev(layer)(x))), \
        (lambda: jax.block_until_ready(jax.vjp(layer, x)[1](u)))


TRANSFORMS = tuple(name for name, wl in WORKLOADS.items() if wl.kind == "ratio")

# --------------------------------------------------------------------------------------------
# building, checking, timing


def build(wl: Workload, frameworks, params: dict | None = None) -> dict[str, Callable]:
    """The function to time for each framework (installed, asked for, implemented).

    For transform workloads each entry is the pair (transform, baseline).
    """
    params = wl.params if params is None else params
    return {key: wl.impls[key](**params) for key in frameworks
            if key in wl.impls and installed(key)}


def _arrays(result) -> list[np.ndarray]:
    """Any framework's result (tensors, arrays, numbers, nested lists of them) as ndarrays."""
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    if hasattr(result, "detach"):  # a PyTorch or chainrule tensor
        result = result.detach()
    if hasattr(result, "numpy") and not isinstance(result, np.generic):
        result = result.numpy()
    return [np.asarray(result, dtype=np.float64)]


def agree(wl: Workload, impls: dict) -> None:
    """Every framework's first result must match hand-written NumPy's (run each once)."""

    def first(fn):
        return fn() if wl.kind == "time" else (fn[0](), fn[1]())

    reference = _arrays(first(impls["numpy"]))
    for key, fn in impls.items():
        if key == "numpy":  # run once only: a training step changes its weights
            continue
        got = _arrays(first(fn))
        assert len(got) == len(reference), f"{wl.name}: {key} returned {len(got)} arrays"
        for a, b in zip(got, reference):
            np.testing.assert_allclose(
                a.reshape(b.shape), b, rtol=wl.rtol, atol=wl.atol,
                err_msg=f"{wl.name}: {FRAMEWORKS[key].label} disagrees with hand-written NumPy")


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


SAMPLE_FLOOR = 0.002  # seconds: shorter calls are repeated back to back within one sample


def _calls_per_sample(fn) -> int:
    """How many back-to-back calls make a sample of at least ``SAMPLE_FLOOR`` (as timeit's
    autorange): a call of a few microseconds, timed alone right after another framework ran,
    would mostly measure cold caches."""
    number = 1
    while number < 10_000:
        if sum(_once(fn) for _ in range(number)) >= SAMPLE_FLOOR:
            break
        number *= 2
    return number


def time_interleaved(fns: dict, repeats: int, pairs: bool = False) -> dict[str, list[float]]:
    """Warm up each function, then time them in turn, so that drifts hit all alike.

    A sample is the mean of enough back-to-back calls to last ``SAMPLE_FLOOR`` (one call for
    the millisecond workloads).  The objects that exist before (modules, the peers' imports,
    the workloads' data) are frozen out of the cyclic collector, so that a framework's
    collections cost the same whichever peers are installed; and the collector runs before
    each sample (untimed), so that no framework collects the cyclic garbage another one left.
    With ``pairs`` the keys come in (transform, baseline) pairs, timed with the same number of
    calls per sample so that neither is favoured by warmer caches.
    """
    numbers = {key: _calls_per_sample(fn) for key, fn in fns.items()}
    if pairs:
        keys = list(fns)
        for work, base in zip(keys[::2], keys[1::2]):
            numbers[work] = numbers[base] = max(numbers[work], numbers[base])
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            gc.collect()
            number = numbers[key]
            if number == 1:
                times[key].append(_once(fn))
            else:
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                times[key].append((time.perf_counter() - start) / number)
    return times


def peak_memory(fn) -> int:
    """Peak bytes traced by tracemalloc while ``fn`` runs (NumPy reports its buffers)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(name: str, repeats: int, frameworks=tuple(FRAMEWORKS)) -> dict:
    wl = WORKLOADS[name]
    impls = build(wl, frameworks)
    agree(wl, impls)
    if wl.kind == "time":
        fns = impls
    else:  # the transform and its baseline, as separate entries
        fns = {f"{key}/{part}": pair[i] for key, pair in impls.items()
               for i, part in enumerate(("work", "base"))}
    result = {"times": time_interleaved(fns, repeats, pairs=wl.kind == "ratio"),
              "frameworks": list(impls)}
    if wl.ops:
        result["ops"] = wl.ops(wl.params)
    if wl.memory:
        result["memory"] = {key: peak_memory(impls[key]) for key in MEMORY_TRACED
                            if key in impls}
    return result


# --------------------------------------------------------------------------------------------
# deep chains and import times


def _deep_eager(lib):
    """The deep chain in PyTorch's interface, which chainrule shares: one runner for both."""

    def run(n):
        x = lib.tensor(1.0, dtype=lib.float64, requires_grad=True)
        start = time.perf_counter()
        y = x
        for _ in range(n):
            y = y * 1.0000001
        middle = time.perf_counter()
        y.backward()
        return middle - start, time.perf_counter() - middle

    return run


def _deep_autograd():
    import autograd

    def chain(y, n):
        for _ in range(n):
            y = y * 1.0000001
        return y

    def run(n):
        start = time.perf_counter()
        vjp, _ = autograd.make_vjp(chain)(1.0, n)
        middle = time.perf_counter()
        vjp(1.0)
        return middle - start, time.perf_counter() - middle

    return run


DEEP = {"chainrule": lambda: _deep_eager(cr), "torch": lambda: _deep_eager(_torch()),
        "autograd": _deep_autograd}
PEER_DEEP_MAX = 100_000  # peers stop here: the issue compares PyTorch's growth by 1e5


def _collected(run, n):
    """One run after a full collection (untimed), so that no run pays for another's garbage."""
    gc.collect()
    return run(n)


def _deep_repeats(n: int, repeats: int) -> int:
    """Short chains are noisy and cheap: repeat them more (about 1e5 ops per length)."""
    return max(repeats, min(21, 100_000 // n))


def deep_chains(lengths, repeats: int, frameworks=tuple(FRAMEWORKS)) -> str:
    """Forward and backward time per op as the graph grows: flat means linear in its length.

    Each framework runs once untimed first; each run starts after a full collection; the
    cyclic collector stays on while it runs, as in a user's program (it is what makes the
    forward cost per op grow: it traverses the live graph, see benchmarks/README.md).
    """
    runners = {key: make() for key, make in DEEP.items() if key in frameworks and installed(key)}
    for run in runners.values():
        run(lengths[0])  # warm-up: first calls, allocator pools, the interpreter's caches
    header = " | ".join(f"{FRAMEWORKS[k].label} fwd / bwd µs/op (bwd / at 1e3)" for k in runners)
    rows = [f"| chain length | {header} |", "|---" * (len(runners) + 1) + "|"]
    base: dict[str, float] = {}
    for n in lengths:
        cells = []
        for key, run in runners.items():
            if key != "chainrule" and n > PEER_DEEP_MAX:
                cells.append("–")
                continue
            fwd, bwd = zip(*(_collected(run, n) for _ in range(_deep_repeats(n, repeats))))
            f, b = statistics.median(fwd) / n, statistics.median(bwd) / n
            base.setdefault(key, b)
            cells.append(f"{f * 1e6:.2f} / {b * 1e6:.2f} ({b / base[key]:.2f}x)")
        rows.append(f"| {n:,} | " + " | ".join(cells) + " |")
    rows += ["", "target: chainrule's backward per op at 1e6 within 1.2x of that at 1e3"]
    return "\n".join(rows)


def import_times(runs: int, frameworks=tuple(FRAMEWORKS)) -> str:
    """``python -c "import m"`` minus ``python -c "pass"``, fresh interpreters, interleaved,
    with bytecode cached as after a first import (the warm-up run writes it)."""
    modules = {"(python -c pass)": "pass", "numpy": "import numpy",
               "chainrule": "import chainrule"}
    for key in ("torch", "autograd", "jax", "micrograd"):
        if key in frameworks and installed(key):
            modules[FRAMEWORKS[key].module] = f"import {FRAMEWORKS[key].module}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Python caches compiled bytecode after a first import; an environment that turns this
    # off (PYTHONDONTWRITEBYTECODE) would time the compiler instead (about 40 ms here)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = lambda code: lambda: subprocess.run([sys.executable, "-c", code], cwd=REPO,
                                                  env=env, check=True)
    times = time_interleaved({m: command(code) for m, code in modules.items()}, runs)
    empty = statistics.median(times["(python -c pass)"])
    rows = ["| import | median (minus python -c pass) | IQR |", "|---|---|---|"]
    for m in modules:
        median, iqr = _summary(times[m])
        if m == "(python -c pass)":
            rows.append(f"| {m} | {_fmt(median)} (itself) | {_fmt(iqr)} |")
        else:
            rows.append(f"| {m} | {_fmt(median - empty)} | {_fmt(iqr)} |")
    rows += ["", "target: import chainrule under 150 ms (NumPy's import included)"]
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# the cost of tracing (issue 18)


def chapter_f(a):
    """The chapter's function with branches (tests/compat/test_chapter.py): a loop whose count
    and a branch whose side depend on the values, so one plan per branch pattern."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def _branch_pattern(a: float) -> tuple[int, bool]:
    """(how many times the loop doubles, whether the result is positive) for ``a``."""
    b, doublings = 2 * a, 0
    while abs(b) < 1000:
        b, doublings = 2 * b, doublings + 1
    return doublings, b > 0


# two values per pattern (0.3 and 0.35 double 11 times), both signs: six patterns, each value
# called twice, in an order that leaves and comes back to each pattern
CHAPTER_INPUTS = (0.3, -3.0, 30.0, 0.35, -0.3, 3.0, -30.0, 31.0, -3.5, 3.5, -0.35, -31.0)


def tracing_cost(repeats: int, sizes=(784, 512, 512, 10), batch=128) -> str:
    """The first (tracing) call of a freshly compiled MLP step over one eager step (both
    including backward and the SGD update), and the traces of the chapter's branching ``f``."""
    eager = _mlp_step_eager(cr, sizes, batch)
    for _ in range(3):
        eager()
    gc.collect()
    steps = [_once(eager) for _ in range(repeats)]
    firsts, seconds = [], []
    for _ in range(max(3, repeats // 4)):  # each a fresh compiled function: its first call traces
        step = _mlp_step_compiled(sizes, batch)
        gc.collect()
        firsts.append(_once(step))
        seconds.append(_once(step))
        assert step.compiled.traces == 1, step.compiled.traces
    eager_step, first = statistics.median(steps), statistics.median(firsts)
    rows = [["tracing cost", "measured", "target (issue 18)"],
            ["MLP step: first (tracing) call / one eager step",
             f"{first / eager_step:.2f}x ({_fmt(first)} / {_fmt(eager_step)}; "
             f"second call {_fmt(statistics.median(seconds))})", "<= 20x"]]

    f = cr.compile(chapter_f)
    for value in CHAPTER_INPUTS + CHAPTER_INPUTS:
        a = cr.tensor(value, dtype=cr.float64, requires_grad=True)
        f(a).backward()
        reference = cr.tensor(value, dtype=cr.float64, requires_grad=True)
        chapter_f(reference).backward()
        assert a.grad.item() == reference.grad.item(), (value, a.grad, reference.grad)
    patterns = len({_branch_pattern(v) for v in CHAPTER_INPUTS})
    rows.append([f"chapter's f: traces over {2 * len(CHAPTER_INPUTS)} calls "
                 f"({patterns} branch patterns)", f"{f.traces} ({f.traces / patterns:.2f} per "
                 "pattern)", "<= 1 per pattern"])
    return "\n".join(_table(rows))


# --------------------------------------------------------------------------------------------
# reporting


def _summary(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return statistics.median(samples), q[2] - q[0]


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def _fmt_time(samples: list[float], ops: int | None) -> str:
    median, iqr = _summary(samples)
    if ops:
        return f"{median / ops * 1e6:.2f} ± {iqr / ops * 1e6:.2f} µs/op"
    return f"{_fmt(median)} ± {_fmt(iqr)}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header(frameworks=tuple(FRAMEWORKS)) -> str:
    versions = ", ".join(f"{FRAMEWORKS[k].label} {version(k)}" for k in frameworks
                         if k not in ("numpy", "numpy-scalars", "chainrule", "compiled",
                                      "compiled-threads"))
    return (f"machine: {platform.machine()}, {_cpu()}, "
            f"{os.cpu_count()} cores, {platform.system()}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}; threads pinned to 1 (but in "
            f"'{FRAMEWORKS['compiled-threads'].label}')\npeers: {versions or 'none asked'}")


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|---" * len(rows[0]) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows[1:]]


def report(results: dict) -> str:
    """Times, ratios to hand-written NumPy and chainrule's ratio to each peer."""
    keys = [k for k in FRAMEWORKS if any(k in r["frameworks"] for r in results.values())]
    peers = [k for k in keys if k in PEERS]
    med = lambda r, k: statistics.median(r["times"][k])
    times = [["workload"] + [FRAMEWORKS[k].label for k in keys]]
    compiled = "compiled" in keys
    ratios = [["workload"] + [FRAMEWORKS[k].label for k in keys if k != "numpy"]
              + ["chainrule overhead per op", "target (issue 6)"]
              + (["chainrule compiled target (issue 18)"] if compiled else [])]
    versus = [["workload"] + [f"chainrule / {FRAMEWORKS[k].label}" for k in peers]]
    for name, r in results.items():
        wl, have = WORKLOADS[name], r["frameworks"]
        times.append([f"{name}: {wl.what}"] + [
            _fmt_time(r["times"][k], r.get("ops")) if k in have else "–" for k in keys])
        base = med(r, "numpy")
        overhead = (f"{(med(r, 'chainrule') - base) / r['ops'] * 1e6:.2f} µs" if r.get("ops")
                    else "")
        ratios.append([name] + [f"{med(r, k) / base:.2f}x" if k in have else "–"
                                for k in keys if k != "numpy"] + [overhead, wl.target]
                      + ([wl.compiled_target] if compiled else []))
        versus.append([name] + [f"{med(r, 'chainrule') / med(r, k):.2f}x" if k in have else "–"
                                for k in peers])
    lines = _table(times) + ["", "medians ± interquartile range of whole runs "
                                 "(per op for the chains)", "", "time / NumPy by hand:"]
    lines += _table(ratios)
    if peers:
        lines += ["", "chainrule's time / each peer's (below 1: chainrule is faster):"]
        lines += _table(versus)
    for name, r in results.items():
        if "memory" in r:
            mem = r["memory"]
            lines += ["", f"{name}: peak memory traced by tracemalloc during one step:"]
            lines += _table([["framework", "peak", "/ NumPy by hand"]] + [
                [FRAMEWORKS[k].label, f"{b / 2**20:.2f} MiB", f"{b / mem['numpy']:.2f}x"]
                for k, b in mem.items()])
    return "\n".join(lines)


def report_ratios(results: dict) -> str:
    """Each transform's time over its baseline's, per framework."""
    keys = [k for k in FRAMEWORKS if any(k in r["frameworks"] for r in results.values())]
    rows = [["transform / baseline"] + [FRAMEWORKS[k].label for k in keys] + ["target"]]
    for name, r in results.items():
        cells = []
        for k in keys:
            if k not in r["frameworks"]:
                cells.append("–")
                continue
            work = statistics.median(r["times"][f"{k}/work"])
            base = statistics.median(r["times"][f"{k}/base"])
            cells.append(f"{work / base:.2f}x ({_fmt(work)} / {_fmt(base)})")
        rows.append([WORKLOADS[name].what] + cells + [WORKLOADS[name].target])
    return "\n".join(_table(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS),
                        help="workloads to run (none: only the deep chains and imports)")
    parser.add_argument("--frameworks", nargs="*", choices=list(FRAMEWORKS),
                        help="frameworks to run (hand-written NumPy and chainrule always run)")
    parser.add_argument("--no-deep", action="store_true", help="skip the deep-chain table")
    parser.add_argument("--no-transforms", action="store_true",
                        help="skip the transform ratios (hvp, jvp-mlp, jacrev)")
    parser.add_argument("--no-import", action="store_true", help="skip the import times")
    args = parser.parse_args(argv)
    frameworks = tuple(k for k in FRAMEWORKS if k in ("numpy", "numpy-scalars", "chainrule")
                       or args.frameworks is None or k in args.frameworks)
    repeats = 3 if args.quick else 21
    names = [n for n in (WORKLOADS if args.only is None else args.only)
             if not (args.no_transforms and n in TRANSFORMS)]

    print(header(frameworks))
    timed = {n: measure(n, repeats, frameworks) for n in names if n not in TRANSFORMS}
    if timed:
        print()
        print(report(timed))
    if "compiled" in frameworks and "mlp-step" in names:
        print()
        print(tracing_cost(5 if args.quick else 21))
    ratios = {n: measure(n, 3 if args.quick else 11, frameworks)
              for n in names if n in TRANSFORMS}
    if ratios:
        print()
        print(report_ratios(ratios))
    if not args.no_deep:
        lengths = (1_000, 10_000, 100_000) if args.quick else (1_000, 10_000, 100_000, 1_000_000)
        print()
        print(deep_chains(lengths, 1 if args.quick else 3, frameworks))
    if not args.no_import:
        print()
        print(import_times(5 if args.quick else 11, frameworks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
