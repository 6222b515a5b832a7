"""``chainrule.scipy``: SciPy's functions, differentiable, when SciPy is installed
(``pip install 'chainrule[scipy]'``).

* :mod:`chainrule.scipy.special`: ``gammaln``, ``digamma``, ``polygamma``, ``erf``,
  ``erfinv``, ``expit``, ``logit``, ``xlogy``, ``betaln``, ``i0`` ... ``logsumexp``,
  ``softmax``, with SciPy's names and signatures;
* :mod:`chainrule.scipy.stats.norm`: the normal distribution's ``pdf``, ``logpdf``, ``cdf``,
  ``logcdf``, ``sf``, ``logsf`` and ``ppf``, differentiable in ``x``, ``loc`` and ``scale``.

As :mod:`chainrule.numpy`'s, the functions are SciPy's own when given plain arrays and numbers
(the same results, bit for bit) and record when a Tensor is among their arguments, so the same
code runs plain and under :mod:`chainrule.func`'s transforms.  chainrule itself needs only
NumPy: nothing imports this package but the user, and without SciPy it raises ImportError
saying what to install.  Import the submodules themselves (``import chainrule.scipy.special``):
this package does not load them, so that each costs only its own import (``scipy.stats``
takes a second).
"""

try:
    import scipy  # noqa: F401
except ImportError as err:
    raise ImportError("chainrule.scipy needs SciPy, which is not installed: "
                      "pip install 'chainrule[scipy]'") from err
