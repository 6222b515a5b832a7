"""Exercise 8 of the chapter: when does forward mode win, and when reverse mode?

Forward mode (jacfwd) costs one pass per *input*; reverse mode (jacrev) one pass forward and
one backward per *output*. So a tall function (few inputs, many outputs) favours forward mode
and a wide one (many inputs, few outputs) reverse mode. Both give the same Jacobian.

Run: python examples/forward_vs_reverse.py
"""

import time

import numpy as np

import chainrule.numpy as cnp
from chainrule.func import jacfwd, jacrev

rng = np.random.default_rng(0)
W_TALL = rng.standard_normal((200, 3))  # R^3 -> R^200
W_WIDE = rng.standard_normal((3, 200))  # R^200 -> R^3


def tall(x):
    return cnp.tanh(cnp.dot(W_TALL, x))


def wide(x):
    return cnp.tanh(cnp.dot(W_WIDE, x))


def best_time(fn, x, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(x)
        times.append(time.perf_counter() - start)
    return min(times), result


for name, f, n_in in (("tall R^3 -> R^200", tall, 3), ("wide R^200 -> R^3", wide, 200)):
    x = rng.standard_normal(n_in)
    t_fwd, j_fwd = best_time(jacfwd(f), x)
    t_rev, j_rev = best_time(jacrev(f), x)
    np.testing.assert_allclose(j_fwd, j_rev, rtol=1e-10, atol=1e-12)
    winner = "forward" if t_fwd < t_rev else "reverse"
    print(f"{name}: jacfwd {t_fwd * 1e3:7.2f} ms, jacrev {t_rev * 1e3:7.2f} ms -> {winner} "
          f"mode wins (Jacobian {j_fwd.shape}, same from both)")
