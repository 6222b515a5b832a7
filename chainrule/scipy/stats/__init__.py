"""``chainrule.scipy.stats``: SciPy's distributions, differentiable; for now the normal
distribution, :mod:`chainrule.scipy.stats.norm` (``from chainrule.scipy.stats import norm``).

Another distribution of ``scipy.stats`` raises AttributeError saying it is not here and what
to do instead.
"""

from chainrule.scipy.stats import norm

__all__ = ["norm"]


def _scipy_stats():
    import scipy.stats  # (a second to import: only when a missing name is asked for)

    return scipy.stats


def __getattr__(name: str):
    # (called only for names this module does not define)
    if not name.startswith("__") and hasattr(_scipy_stats(), name):
        raise AttributeError(
            f"chainrule.scipy.stats.{name}: only the normal distribution (norm) is "
            "differentiable in chainrule.scipy.stats. For values only, call scipy.stats "
            "itself on plain arrays (t.detach().numpy()); to differentiate, write the density "
            "with chainrule.numpy and chainrule.scipy.special (gammaln, xlogy, log_ndtr ...)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
