"""The vmap levels open in each thread, and what a random function must draw under them.

``chainrule/batching.py`` opens and closes the levels and keeps their batch sizes and
randomness modes here, in a module low enough for everything that draws random numbers to ask
it: the creation functions, the samplers, dropout, and the in-place fills of
``chainrule/inplace.py`` (``normal_``, ``uniform_``, ..., which ``nn.init`` uses), which sit
below vmap's machinery.
"""

from __future__ import annotations

import threading

from chainrule import tracing

RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either "
                "use the 'same' or 'different' randomness flags on vmap or perform the "
                "randomness operation out of vmap")


class _Levels(threading.local):
    open: tuple = ()  # this thread's open vmap levels, outermost first


levels = _Levels()
sizes: dict = {}  # level -> its batch size, once its arguments are batched
tangent_levels: set = set()  # levels that batch tangents only (jacfwd's)
randomness: dict = {}  # an open level -> its randomness mode


def innermost() -> int:
    """The innermost vmap level open in this thread whose examples are values, not only
    tangents (0: none)."""
    for level in reversed(levels.open):
        if level not in tangent_levels:
            return level
    return 0


def is_open() -> bool:
    """Whether a vmap is open in this thread (so a random function's arguments may be
    batched and it must not read their values)."""
    return bool(levels.open)


def random_levels(name: str = "a random function") -> tuple:
    """What a random function called now must draw: ``()`` when no vmap is open in this
    thread (the common case: one attribute read), else the ``(level, size)`` of each open level
    whose randomness is ``'different'``, outermost first.  The function draws these sizes in
    front of its per-example shape (one draw per example) and wraps the result as batched
    (``batching.batched_random``); a ``'same'`` level adds nothing (one draw shared by its
    examples).  A level in ``'error'`` mode raises PyTorch's error (``name`` says which
    function)."""
    if tracing.active[0] is not None:
        tracing.escaped(f"a random draw (chainrule.{name})")
    open_levels = levels.open
    if not open_levels:
        return ()
    different = []
    for level in open_levels:
        mode = randomness[level]
        if mode == "error":
            raise RuntimeError(f"{RANDOM_ERROR} (chainrule.{name} was called inside vmap)")
        if mode == "different":
            different.append((level, sizes.get(level)))
    return tuple(different)


def random_sizes(draws: tuple) -> tuple:
    """The batch sizes of :func:`random_levels`' levels: the leading shape of the draw."""
    return tuple(size for _, size in draws)
