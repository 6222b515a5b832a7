"""The Jacobian of a map from R^100 to R^100, by reverse mode (``jacrev``) and forward mode
(``jacfwd``), checked against its closed form and timed against one VJP.

The map is one residual layer, ``f(x) = x + tanh(W x)``.  With ``t = tanh(W x)`` its Jacobian
is, by the chain rule (``tanh' = 1 - tanh^2``),

    J = df/dx = I + diag(1 - t^2) W,    so    J[i, j] = delta_ij + (1 - t_i^2) W[i, j].

A VJP (``u -> u^T J``) gives one *row combination* of ``J`` for the price of about one
forward and one backward pass; ``jacrev`` needs all 100 rows, i.e. the VJPs of the 100 basis
vectors ``e_i``.  A JVP (``v -> J v``) gives one column; ``jacfwd`` needs the JVPs of the 100
basis vectors.  Done one vector at a time that is 100 passes; done as one *batched* pass (the
basis as a batch, through ``vmap``) it costs a few times one VJP, as in JAX and
``torch.func``.  ``chunk_size=k`` (where the installed chainrule offers it) bounds the
memory by pushing ``k`` basis vectors at a time.

Run: python examples/jacobian_100.py
"""

import inspect
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule.func import jacfwd, jacrev, jvp, vjp

N = 100
rng = np.random.default_rng(0)
W = rng.standard_normal((N, N)) / np.sqrt(N)  # scaled so that W x is O(1): tanh not saturated
x = rng.standard_normal(N)
u = rng.standard_normal(N)  # a cotangent (for the VJP) and a tangent (for the JVP)
w = cr.tensor(W)


def f(x):
    return x + cr.tanh(w @ x)  # a residual layer, R^100 -> R^100


t = np.tanh(W @ x)
J = np.eye(N) + (1 - t * t)[:, None] * W  # the closed form above

J_rev, J_fwd = jacrev(f)(x), jacfwd(f)(x)  # NumPy in, NumPy out
np.testing.assert_allclose(J_rev, J, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(J_fwd, J, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(J_rev, J_fwd, rtol=1e-10, atol=1e-12)
# one VJP is one row combination of J, one JVP one column combination
np.testing.assert_allclose(vjp(f, x)[1](u)[0], u @ J, rtol=1e-10, atol=1e-12)
np.testing.assert_allclose(jvp(f, (x,), (u,))[1], J @ u, rtol=1e-10, atol=1e-12)
print(f"jacrev and jacfwd agree with the closed form I + diag(1 - t^2) W ({J.shape})")


def median_time(fn, repeats=15):
    """Median seconds per call (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


one_vjp = median_time(lambda: vjp(f, x)[1](u))
rows = {"one VJP (func.vjp + pullback)": one_vjp,
        "one JVP (func.jvp)": median_time(lambda: jvp(f, (x,), (u,))),
        "jacrev": median_time(lambda: jacrev(f)(x)),
        "jacfwd": median_time(lambda: jacfwd(f)(x))}

# chunk_size: torch.func.jacrev(f, chunk_size=k) pushes k basis vectors per batched pass
for name, transform in (("jacrev", jacrev), ("jacfwd", jacfwd)):
    if "chunk_size" in inspect.signature(transform).parameters:
        chunked = transform(f, chunk_size=25)
        np.testing.assert_allclose(chunked(x), J, rtol=1e-10, atol=1e-12)
        rows[f"{name}(chunk_size=25)"] = median_time(lambda: chunked(x))
    else:
        print(f"note: this chainrule's {name} has no chunk_size argument; skipping that row")

for name, seconds in rows.items():
    print(f"{name:32s} {seconds * 1e6:9.1f} µs  {seconds / one_vjp:6.1f}x one VJP")
t_numpy = median_time(lambda: np.eye(N) + (1 - np.tanh(W @ x) ** 2)[:, None] * W)
print(f"{'closed form in NumPy':32s} {t_numpy * 1e6:9.1f} µs  (for reference)")
