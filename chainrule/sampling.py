"""Random tensors beyond ``rand``/``randn``/``randint``: ``normal`` (all four of PyTorch's
forms), ``randint_like``, ``randperm``, ``bernoulli`` and ``multinomial``.

They draw from chainrule's generator (``cr.manual_seed``, chainrule/generator.py) or the
``generator=`` given: a seed reproduces chainrule's numbers, which are not PyTorch's for the
same seed, while the distributions, shapes and dtypes are PyTorch's.  As in PyTorch, ``normal``
of tensors that require grad gives a result whose gradient with respect to them is zero.
"""

from __future__ import annotations

import numpy as np

from chainrule import batching, vmap_levels
from chainrule import rules as R
from chainrule.arguments import check_device, data_of
from chainrule.creation import _finish, _float_or, _like, _sizes, _whole
from chainrule.generator import random_source
from chainrule.tensor import Tensor, wrap


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Samples of N(``mean``, ``std``**2): ``normal(mean_tensor, std_tensor)`` (they
    broadcast), ``normal(mean_tensor, 1.0)``, ``normal(0.0, std_tensor)``, or
    ``normal(0.0, 1.0, size)``.  The gradient with respect to a ``mean`` or ``std`` tensor is
    zero, as in PyTorch.  Seeded draws differ from PyTorch's; their distribution does not.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> x = cr.normal(3.0, 0.1, (4, 1000))
    >>> x.shape, x.dtype, abs(float(x.mean()) - 3.0) < 0.01
    ((4, 1000), dtype('float32'), True)
    """
    check_device("normal", device)
    if out is not None:
        raise NotImplementedError("normal(): out= is not supported; assign the result instead")
    rng = random_source(generator)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with a "
                            "number mean and std, pass size (e.g. normal(0.0, 1.0, (2, 3)))")
        m, s = float(data_of(mean)), float(data_of(std))
        if not s >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {s}")
        dt = _float_or(dtype)
        if dt.kind != "f":
            raise NotImplementedError(f"normal: not implemented for dtype {dt}; pass a "
                                      f"floating-point dtype")
        levels = vmap_levels.random_levels("normal")
        values = rng.normal(m, s, vmap_levels.random_sizes(levels) + _sizes("normal", size))
        if levels:
            return batching.batched_random(values.astype(dt), levels)
        return _finish(values.astype(dt), requires_grad, "normal")
    if size is not None:
        raise TypeError("normal(): size is only for a number mean and std; the shape comes "
                        "from the mean and std tensors")
    for what, v in (("mean", mean), ("std", std)):
        if isinstance(v, Tensor) and v.dtype.kind not in "f":
            raise NotImplementedError(f"normal: not implemented for {what} of dtype {v.dtype}; "
                                      f"pass a floating-point tensor")
    levels = vmap_levels.random_levels("normal")
    if vmap_levels.is_open():  # mean or std may be batched: N(0, 1) draws, scaled by tensor ops
        shape = np.broadcast_shapes(*[tuple(np.shape(v)) for v in (mean, std)])
        z = rng.standard_normal(vmap_levels.random_sizes(levels) + shape)
        z = batching.batched_random(z, levels) if levels else z
        return (mean + std * z).detach()  # (no gradient to mean and std, as in PyTorch)
    m, s = np.asarray(data_of(mean)), np.asarray(data_of(std))
    if s.size and not (s >= 0).all():
        raise RuntimeError(f"normal expects all elements of std >= 0.0, found {s.min()}")
    try:
        shape = np.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise RuntimeError(f"normal(): mean of shape {m.shape} and std of shape {s.shape} do "
                           f"not broadcast") from None
    dt = np.result_type(*[t.dtype for t in tensors])
    values = (m + s * rng.standard_normal(shape)).astype(dt)
    out_t = wrap(values)
    # zero gradient to a mean or std that requires it (PyTorch's NormalBackward)
    for v in tensors:
        if v._rg:
            out_t = R.where(np.zeros((), np.bool_), v, out_t)
    return out_t


def randint_like(input, low: int = 0, high: int | None = None, *, dtype=None,
                 requires_grad: bool = False, device=None) -> Tensor:
    """Random integers in [``low``, ``high``) with ``input``'s shape and dtype;
    ``randint_like(x, high)`` draws from [0, ``high``).

    >>> import chainrule as cr
    >>> x = cr.randint_like(cr.zeros(2, 3), 10)
    >>> x.shape, x.dtype, bool(((x >= 0) & (x < 10)).all())
    ((2, 3), dtype('float32'), True)
    """
    check_device("randint_like", device)
    if high is None:
        low, high = 0, low
    low, high = _whole("randint_like", "low", low), _whole("randint_like", "high", high)
    if low >= high:
        raise RuntimeError(f"randint_like: expects 'low' to be less than 'high', but got "
                           f"low={low} >= high={high}; the values are drawn from [low, high)")
    shape, dt = _like("randint_like", input, dtype)
    levels = vmap_levels.random_levels("randint_like")
    values = random_source().integers(low, high, vmap_levels.random_sizes(levels) + shape)
    if levels:
        return batching.batched_random(values.astype(dt), levels)
    return _finish(values.astype(dt), requires_grad, "randint_like")


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 by default).

    >>> import chainrule as cr
    >>> sorted(cr.randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    check_device("randperm", device)
    n = _whole("randperm", "n", n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.int64)
    levels = vmap_levels.random_levels("randperm")
    if levels:  # one permutation per example
        rng = random_source(generator)
        sizes = vmap_levels.random_sizes(levels)
        rows = rng.permuted(np.broadcast_to(np.arange(n), sizes + (n,)), axis=-1)
        return batching.batched_random(rows.astype(dt), levels)
    return _finish(random_source(generator).permutation(n).astype(dt), requires_grad, "randperm")


def bernoulli(input, p: float | None = None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (elementwise; or the number ``p`` for every entry) and 0
    otherwise, in ``input``'s dtype; no gradient.

    >>> import chainrule as cr
    >>> cr.bernoulli(cr.tensor([0., 1., 1.]))
    tensor([0., 1., 1.])
    """
    x = input if isinstance(input, Tensor) else wrap(np.asarray(input))
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"bernoulli: not implemented for dtype {x.dtype}; pass "
                                  f"probabilities as floats")
    levels = vmap_levels.random_levels("bernoulli")
    if vmap_levels.is_open():  # x may be batched: [u < p] = relu(sign(p - u)), in primitives
        u = random_source(generator).random(vmap_levels.random_sizes(levels) + tuple(x.shape))
        u = u.astype(x.dtype)
        u = batching.batched_random(u, levels) if levels else wrap(u)
        return R.relu(R.sign((x.detach() if p is None else x.dtype.type(p)) - u))
    prob = np.asarray(x._data if p is None else p, np.float64)
    if prob.size and not ((prob >= 0) & (prob <= 1)).all():
        raise RuntimeError("bernoulli: Expected p_in >= 0 && p_in <= 1 to be true, but got "
                           f"values from {prob.min()} to {prob.max()}")
    draws = random_source(generator).random(x.shape) < prob
    return wrap(draws.astype(x.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn with the (unnormalised, non-negative) weights of each row of ``input``
    (1-D or 2-D): ``num_samples`` per row, without replacement unless ``replacement=True``;
    int64, no gradient.

    >>> import chainrule as cr
    >>> cr.multinomial(cr.tensor([0., 0., 5.]), 2, replacement=True)
    tensor([2, 2])
    """
    x = input if isinstance(input, Tensor) else wrap(np.asarray(input))
    levels = vmap_levels.random_levels("multinomial")
    if levels or x._batched:
        raise NotImplementedError("multinomial inside vmap is only supported with "
                                  "randomness='same' and unbatched weights; draw the samples "
                                  "outside vmap and pass them in")
    if x.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {x.ndim} dims")
    if x.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{x.dtype}")
    n = _whole("multinomial", "num_samples", num_samples)
    if n <= 0:
        raise RuntimeError(f"multinomial: cannot sample num_samples <= 0 samples, got {n}")
    w = np.atleast_2d(np.asarray(x._data, np.float64))
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    positive = (w > 0).sum(axis=1)
    if (positive == 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and n > w.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           f"without replacement (n_sample={n}, size {w.shape[1]})")
    if not replacement and (positive < n).any():
        raise RuntimeError(f"multinomial: invalid multinomial distribution: a row has fewer "
                           f"than num_samples={n} non-zero weights, needed to draw without "
                           f"replacement")
    rng = random_source(generator)
    rows = [rng.choice(w.shape[1], size=n, replace=bool(replacement), p=row / row.sum())
            for row in w]
    out = np.asarray(rows, np.int64).reshape(len(rows), n)
    return wrap(out if x.ndim == 2 else out[0])
