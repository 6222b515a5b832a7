"""Minimise the Rosenbrock function with SciPy, with exact gradients of plain NumPy code.

value_and_grad turns a NumPy objective into the (value, gradient) pair that
scipy.optimize.minimize(..., jac=True) expects.

Run: python examples/scipy_rosenbrock.py   (needs scipy: pip install scipy)
"""

import numpy as np
from scipy.optimize import minimize

import chainrule.numpy as cnp
from chainrule.func import value_and_grad


def rosenbrock(x):
    return cnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])
result = minimize(value_and_grad(rosenbrock), x0, jac=True, method="BFGS",
                  options={"gtol": 1e-10})
print(f"converged: {result.success} after {result.nit} iterations, {result.nfev} evaluations")
print(f"minimum at {np.round(result.x, 6)}, value {result.fun:.3e}")
assert result.success and np.allclose(result.x, 1.0, atol=1e-6)
