"""Fusing a plan's elementwise chains: one pass over memory, in blocks, on the threads.

A pass of a plan (``plan.py``) is a list of :class:`Step`: one statement each, with the names
it reads and writes, and, when it is elementwise, the shape it works over.  :func:`emit` writes
the pass out as a Python function.  A run of consecutive elementwise steps over one large shape
``S`` becomes a *region*: a function of a block of rows ``[lo, hi)`` that runs the same
statements on the rows' slices of every array (an array that spans ``S``'s first axis is
sliced; one that broadcasts along it is read whole), and writes the values read after the
region into arrays of the full shape.  Everything else a region computes lives only for one
block, in cache: ``sin(x) * exp(x) * x`` reads ``x`` once and writes one array, instead of
writing and reading back three.  The blocks run on ``chainrule.get_num_threads()`` threads
(``chainrule/threads.py``).

An update in place (``p -= lr * g`` under ``no_grad``, an optimiser's step) joins a region
too, when nothing after it reads its result: each block writes its rows of ``p``.  That is
exact only when no other array the region reads shares memory with ``p`` (``p -= lr * p.T``
would read rows already written), which the pass checks at each call
(:meth:`Regions.apart`), running the plain steps otherwise.

Slicing rows is exact for any op that treats the leading axes independently, which is what
vmap's ``"elementwise"`` kind already promises of a primitive (the batch axis vmap adds is one
more leading axis), and what every NumPy ufunc does.

With ``chainrule.compile(fn, options={"use_numexpr": True})`` and numexpr installed
(``pip install 'chainrule[fast]'``), a region of arithmetic (``+ - * /``, negation, squares,
comparisons, ``where``, and their gradients) is written instead as one numexpr expression per
value it must write, which numexpr evaluates in one pass, in blocks, on its threads (their
number follows ``chainrule.set_num_threads``).  A region that calls ``sin``, ``exp``, ``tanh``
and the like runs in NumPy blocks even then: numexpr's build on PyPI computes them with the C
library, 1.1 to 2.5 times slower than NumPy's own vectorised loops.  numexpr is not the
default: ``benchmarks/fusion.py`` measured NumPy blocks as fast or faster on every chain
(docs/compile.md has the table).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from math import prod

import numpy as np

from chainrule.buffers import REFCOUNTS_TRUSTED
from chainrule.threads import blocks_rows, get_num_threads, run_blocks

MIN_STEPS = 2
"""A run of fewer elementwise steps is left as it is: a region of one step makes the pass NumPy
would make, plus a copy into the result and a call per block (an SGD update's ``lr * g`` over
784 x 512 float32, fused alone, made a compiled MLP step 3 to 6% slower on one thread)."""

MIN_SIZE = 131072
"""Elements: a shape's elementwise steps are fused from this size up, four blocks of
``chainrule.threads.BLOCK`` (a region of one block would compute whole arrays, as the unfused
plan does, without its reuse of memory).  An MLP's activations of 128 x 512 stay unfused: fused
in blocks of 16384, its step took 1.04 to 1.06 times as long on one thread, 1.16 to 1.22 on
two."""

POSITIONAL = frozenset({"lstm_gates"})
"""Primitives of vmap's elementwise kind whose result depends on the position along the last
axis (the LSTM's gate blocks): their rows may be cut only when the last axis is not the first."""


VALUES = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
    "neg": "(-{0})", "square": "({0} * {0})", "where": "where({0}, {1}, {2})",
    "greater": "({0} > {1})", "greater_equal": "({0} >= {1})", "less": "({0} < {1})",
    "less_equal": "({0} <= {1})", "equal": "({0} == {1})", "not_equal": "({0} != {1})",
}
"""A primitive's value as numexpr's text of its operands' (the primitives numexpr computes as
fast as NumPy or faster: arithmetic; comparisons are NumPy's ufuncs without gradient)."""

GRADIENTS = {
    "add": ("{g}", "{g}"), "sub": ("{g}", "(-{g})"), "mul": ("({g} * {1})", "({g} * {0})"),
    "div": ("({g} / {1})", "(-({g} / {1}) * ({0} / {1}))"), "neg": ("(-{g})",),
    "square": ("({g} * ({0} * 2))",), "where": (None, "where({0}, {g}, 0)", "where({0}, 0, {g})"),
}
"""Each input's VJP as numexpr's text of ``g`` and the operands': the rules of
``chainrule/rules/elementwise.py`` (``d (x / y) = dx / y - (x / y) dy / y``), written again in
numexpr's language (the fused table tests compare them with the rules)."""

SEED_RANGE = (2.0 ** -40, 2.0 ** 40)
"""The numbers ``c`` a backward region takes apart from its gradient (:meth:`Regions.seed`):
its gradients of ones are then at most 2^40 (about 1e12) times the eager pass's, or as many
times smaller, which float64 holds unless those are beyond 1e296 or below 1e-296 (a mean
over 1e9 elements has c = 1e-9)."""

MAX_LEAVES = 24
"""Arrays and constants one numexpr expression may read at most (numexpr's own limit is
NumPy's number of operands of one iterator); a larger region runs in NumPy blocks."""

MAX_TEXT = 4000
"""Characters one numexpr expression may have at most; a larger region runs in NumPy blocks.
(Substituting the steps into each other copies a value's text at each use: ``x = x * x``
repeated doubles it each time, so the texts are measured as they are built.)"""


@dataclass(frozen=True)
class Constant:
    """A number among an expression's operands."""

    value: object


@dataclass
class Step:
    """One statement of a pass (see the module docstring).  ``text`` is its source, indented
    for a function's body; ``fused`` its source inside a region, when that differs (no reshape
    to undo, plain products and sums on small blocks); ``frees`` the names dead after it,
    released after the region when it is in one."""

    text: str
    reads: tuple = ()
    writes: tuple = ()
    frees: tuple = ()
    shape: tuple | None = None   # the elementwise shape it works over; None: not fusible
    fused: str | None = None
    label: str = ""              # what a region's comment calls it (the primitive's name)
    # for numexpr: ("value", name, text, operands) or ("gradient", g, [(g of an input, text)],
    # operands); an operand is a name or a Constant
    expression: tuple | None = None
    dtype: object = None         # the dtype it computes in
    # a sum of every element over ``shape`` (which ends a region): the function that sums,
    # also applied to the blocks' sums
    reduce: object = None
    # its one value computed straight into an array, for a region that writes it out: the
    # statement with ``{out}`` for that array (a NumPy ufunc's ``out=``)
    into: str | None = None
    # the name whose array it writes in place (``p -= lr * g``); a region holding it runs only
    # when no other array it reads shares memory with that one
    updates: str | None = None
    # a gradient step's ``fused`` source for a region given its gradient ``g`` as ones, the
    # number it held apart in ``scale`` (see :meth:`Regions.seed`): (g, the source), where
    # each ``g * f'`` it computes is ``f'`` itself when ``scale`` is not None
    seeded: tuple | None = None


_numexpr: list = []


def numexpr_module():
    """numexpr, imported when the first plan that may use it is written (importing it sets
    a name on NumPy's namespace, and takes time chainrule's import need not); None when it is
    not installed (an optional extra: regions then run in NumPy blocks)."""
    if not _numexpr:
        try:
            import numexpr
        except ImportError:
            numexpr = None
        _numexpr.append(numexpr)
    return _numexpr[0]


def spans_rows(shape: tuple, region: tuple) -> bool:
    """Whether an array of ``shape`` runs along the first axis of a region of shape
    ``region`` (then a block reads its rows ``[lo:hi]``); else it broadcasts along it and a
    block reads it whole."""
    return len(shape) == len(region) and shape[0] == region[0] != 1


def broadcasts_over_rows(shape: tuple, region: tuple) -> bool:
    """Whether an operand of ``shape`` may enter a region of shape ``region``: it spans its
    rows, or broadcasts along them."""
    if len(shape) > len(region):
        return False
    try:
        return np.broadcast_shapes(shape, region) == region
    except ValueError:
        return False


def fusible_shape(shape: tuple) -> bool:
    """Whether steps over ``shape`` are fused: large enough, and with rows to cut."""
    return len(shape) >= 1 and shape[0] > 1 and prod(shape) >= MIN_SIZE


def emit(header: str, steps: list, shapes: dict, dtypes: dict, free_line, namespace: dict,
         prefix: str, fuse: bool = True, use_numexpr: bool = False) -> str:
    """The source of a pass: ``header`` (``def forward(...):``), then each step, a region for
    each run of fusible steps.  ``shapes`` and ``dtypes`` give each name's (for slicing and
    for the arrays a region writes); ``free_line(names)`` is the statement that releases
    names; region functions are added to the source before the pass, named ``prefix`` and a
    number, and the helpers they call bound in ``namespace``.  ``fuse=False`` writes every
    step as it is; ``use_numexpr`` lets numexpr compute the regions it can express (when it is
    installed)."""
    namespace.setdefault("_regions", Regions())  # (one for the plan's two passes)
    assigned: set[str] = set()  # the names given a value so far (a gradient's: not None)
    regions: list[str] = []
    body: list[str] = []
    k = 0
    while k < len(steps):
        step = steps[k]
        end = k + 1
        fusible = fuse and step.shape is not None and fusible_shape(step.shape)
        if fusible:
            end = k
            while end < len(steps) and steps[end].shape == step.shape:
                end += 1
                if steps[end - 1].reduce is not None:
                    break  # (a step after it would read the whole sum, not a block's)
        if not fusible or end - k < MIN_STEPS:
            for plain in steps[k:end]:
                body.append(plain.text)
                if plain.frees:
                    body.append(free_line(plain.frees))
                assigned.update(plain.writes)
            k = end
            continue
        name = f"{prefix}{len(regions)}"
        expressed = None
        if use_numexpr and numexpr_module() is not None:
            # (a sum that ends the region is left to NumPy, after numexpr's expressions)
            last = end - 1 if steps[end - 1].reduce is not None and end - 1 > k else end
            expressed = _numexpr_region(name, steps[k:last], steps[last:], shapes, dtypes,
                                        assigned, namespace)
            if expressed is not None:
                end = last
        source, call, frees = _region(name, steps[k:end], steps[end:], shapes, dtypes,
                                      assigned, namespace)
        updated = [step.updates for step in steps[k:end] if step.updates is not None]
        if updated:
            # (a block writes its rows of an updated array; an operand that overlaps it
            # elsewhere would be read after its other rows were written: then plain steps)
            others = [n for n in _inputs(steps[k:end]) if n not in updated]
            plain = "\n".join(step.text for step in steps[k:end])
            # (nor when a floating-point error would raise: rows already written could not be
            # undone, where the plain steps raise before the update writes anything)
            body.append(f"    if _regions.apart(({listed(updated)}), ({listed(others)})) "
                        "and _regions.errors_quiet():\n"
                        f"{_indent(call)}\n    else:\n{_indent(plain)}")
        elif expressed is None:
            body.append(call)
        else:
            # (numexpr raises no floating-point error: under np.errstate(...="raise") the
            # blocks compute it, as they do when a gradient it reads is None at run time)
            condition = " and ".join(["_regions.errors_quiet()", *expressed[0]])
            body.append(f"    if {condition}:\n{_indent(expressed[1])}\n"
                        f"    else:\n{_indent(call)}")
        regions.append(source)
        if frees:
            body.append(free_line(frees))
        for region_step in steps[k:end]:
            assigned.update(region_step.writes)
        k = end
    return "".join(regions) + header + "\n" + "\n".join(body) + "\n"


def _region(name: str, steps: list, later: list, shapes: dict, dtypes: dict, assigned: set,
            namespace: dict) -> tuple[str, str, tuple]:
    """One region: its block function's source, the statements of the pass that run it, and
    the names to release after them.  ``assigned``: the names given a value before it (a
    gradient not among them is None when the region starts)."""
    shape = steps[0].shape
    inputs = _inputs(steps)
    written = {n for step in steps for n in step.writes}
    read_later = {n for step in later for n in step.reads}
    exports = [n for n in dict.fromkeys(n for step in steps for n in step.writes)
               if n in read_later]
    # gradients (g...) may be None: a block says so, and a slice of None is None
    maybe_none = {n for n in inputs + exports if n.startswith("g")}
    unreached = [n for n in inputs if n.startswith("g") and n not in assigned]
    inputs = [n for n in inputs if n not in unreached]

    # one gradient coming in, held at one number c at every element (a sum's or a mean's
    # seed): the region runs with ones, and its gradients are c times the ones' (each rule is
    # linear in g), which leaves out the products by the ones (see Regions.seed)
    seed = _seeded_gradient(steps, inputs, exports, dtypes)
    arguments = (["scale"] if seed else []) + inputs  # (the region's, after lo, hi, outs)
    lines = [f"def {name}(lo, hi, outs, " + ", ".join(arguments) + "):"]
    if unreached:
        lines.append("    " + " = ".join(unreached) + " = None")
    for n in inputs:
        if n in shapes and spans_rows(shapes[n], shape):
            lines.append(f"    {n} = {n}[lo:hi]" + (f" if {n} is not None else None"
                                                       if n in maybe_none else ""))
    # a value written out whose step can compute it into its rows does (one pass less than
    # a copy); one block of all the rows computes the values themselves
    straight = {step.writes[0]: exports.index(step.writes[0]) for step in steps
                if step.into is not None and step.writes[0] in exports}
    for step in steps:
        if step.into is not None and step.writes[0] in straight:
            out = f"outs[{straight[step.writes[0]]}][lo:hi]"
            lines.append(f"    if outs is None:\n    {step.text}\n    else:\n"
                         f"    {step.into.format(out=out)}")
        elif seed is not None and step.seeded is not None and step.seeded[0] == seed:
            lines.append(step.seeded[1])
        else:
            lines.append(step.fused if step.fused is not None else step.text)
    # (one block of all the rows returns its values; given ones, c times them)
    returned = exports if seed is None else [f"_scaled({n}, scale)" for n in exports]
    lines.append(f"    if outs is None:\n        return ({listed(returned)})")
    sums = {n: step.reduce for step in steps if step.reduce is not None for n in step.writes}
    for i, n in enumerate(exports):
        if n in sums or n in straight:
            continue
        if seed is not None:  # (scale times the gradient of ones, written in one pass)
            lines.append(f"    _scaled_into(outs[{i}][lo:hi], {n}, scale)")
        elif n in maybe_none:  # (a gradient some blocks lack is zero there)
            lines.append(f"    outs[{i}][lo:hi] = {n} if {n} is not None else 0")
        else:
            lines.append(f"    outs[{i}][lo:hi] = {n}")
    # (a sum: this block's, for the caller to add up; a gradient: whether it is None)
    lines.append(f"    return ({listed([n if n in sums else f'{n} is None' for n in exports])})")

    namespace[f"{name}_exports"] = tuple((n, shapes[n], dtypes[n], n in maybe_none,
                                          sums.get(n)) for n in exports)
    call = [f"    # fused, one pass in blocks of rows on the threads ({name} above): "
            f"{_described(steps)}"]
    if seed is not None:
        namespace.update(_one_times=_one_times, _scaled=_scaled, _scaled_into=_scaled_into)
        call.append(f"    scale, {seed} = _regions.seed({seed})  # (one number: ones, and "
                    "the number in scale)")
    call.append(f"    {f'({listed(exports)}) = ' if exports else ''}_regions({name}, {shape!r}, "
                f"({listed(arguments)}), {name}_exports)")
    # (what the region made and nobody reads after it never left its blocks)
    frees = tuple(n for step in steps for n in step.frees if n not in written or n in exports)
    return "\n".join(lines) + "\n\n\n", "\n".join(call), frees


def _seeded_gradient(steps: list, inputs: list, exports: list, dtypes: dict) -> str | None:
    """The gradient a region may run given as ones (see :meth:`Regions.seed`): its only
    gradient input, when a step multiplies by it, the region writes only gradients, and it
    computes in float64 throughout (in float32 or float16, gradients of ones may overflow or
    underflow where the eager pass's, c times smaller or larger, do not)."""
    gradients = [n for n in inputs if n.startswith("g")]
    if len(gradients) != 1 or not all(n.startswith("g") for n in exports):
        return None
    names = {n for step in steps for n in (*step.reads, *step.writes) if n.startswith("g")}
    if any(step.dtype != np.float64 for step in steps) or any(
            dtypes.get(n) not in (None, np.float64) for n in names):
        return None
    if any(step.seeded is not None and step.seeded[0] == gradients[0] for step in steps):
        return gradients[0]
    return None


def _one_times(ones: np.ndarray, f):
    """``ones * f``, where ``ones`` is one at every element: ``f`` itself when it already has
    the product's shape and dtype."""
    if type(f) is np.ndarray and f.shape == ones.shape and f.dtype == ones.dtype:
        return f
    return ones * f


def _scaled(g, scale):
    """``scale * g`` (None stays None; no scale: ``g``)."""
    return g if g is None or scale is None else g * scale


def _scaled_into(out: np.ndarray, g, scale) -> None:
    """``out[...] = scale * g``, in one pass; zero where a block has no gradient (None)."""
    if g is None:
        out[...] = 0
    elif scale is None:
        out[...] = g
    else:
        np.multiply(g, scale, out=out)


def _inputs(steps: list) -> list[str]:
    """The names a run of steps reads before any of them writes them, in order."""
    written: set[str] = set()
    inputs: list[str] = []
    for step in steps:
        for n in step.reads:
            if n not in written and n not in inputs:
                inputs.append(n)
        written.update(step.writes)
    return inputs


def listed(items: list) -> str:
    """A tuple's items as source: ``a, b`` or ``a,`` (one) or nothing."""
    return ", ".join(items) + ("," if len(items) == 1 else "")


def _described(steps: list) -> str:
    """What a region's comment says it computes: ``sin, exp, mul over 1000000``."""
    labels = ", ".join(step.label for step in steps if step.label)
    return f"{labels} over {'x'.join(map(str, steps[0].shape))}"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def _numexpr_region(name: str, steps: list, later: list, shapes: dict, dtypes: dict,
                    assigned: set, namespace: dict) -> tuple[list, str] | None:
    """A region as numexpr expressions, one per value it must write, each the region's steps
    substituted into each other down to what the region reads: the conditions under which they
    apply (the gradients they read are not None) and the statements; None
    when a step is not arithmetic numexpr computes as NumPy does (in one float dtype, with no
    parameters)."""
    dtype = steps[0].dtype
    if dtype not in (np.float32, np.float64):
        return None
    text: dict = {}          # each name's expression so far (None: a gradient still None)
    leaves: dict = {}        # what the expressions read: name -> a name or a constant
    checked: list = []       # gradients read that must not be None at run time

    def current(n):
        if n in text:
            return text[n]
        if n.startswith("g") and n not in assigned:
            return None      # (no gradient reached it before the region)
        if n.startswith("g") and n not in checked:
            checked.append(n)
        leaves[n] = n
        return n

    def operand(o):
        if isinstance(o, Constant):
            key = f"k{len(leaves)}"
            value = o.value
            if not isinstance(value, (bool, np.bool_)):
                value = dtype.type(value)  # (a weak Python number takes the arrays' dtype)
            leaves[key] = value
            return key
        return current(o)

    for step in steps:
        if step.expression is None or step.dtype != dtype:
            return None
        if step.expression[0] == "value":
            _, out, template, operands = step.expression
            text[out] = template.format(*map(operand, operands))
            if len(text[out]) > MAX_TEXT:
                return None
            continue
        _, g_out, terms, operands = step.expression
        g = current(g_out)
        if g is None:
            continue
        values = [operand(o) for o in operands]
        for g_input, template in terms:
            term = template.format(*values, g=g)
            before = current(g_input)
            text[g_input] = term if before is None else f"({before} + {term})"
            if len(text[g_input]) > MAX_TEXT:
                return None
        text[g_out] = None
    read_later = {n for step in later for n in step.reads}
    exports = [n for n in text if n in read_later]
    if len(leaves) > MAX_LEAVES:
        return None
    call = [f"    # fused by numexpr, one pass: {_described(steps)}"]
    inputs = ", ".join(f"{n!r}: {n}" if isinstance(v, str) else f"{n!r}: {name}_{n}"
                       for n, v in leaves.items())
    for n, v in leaves.items():
        if not isinstance(v, str):
            namespace[f"{name}_{n}"] = v
    call.append(f"    leaves = {{{inputs}}}")
    for n in exports:
        if text[n] is None:
            call.append(f"    {n} = None")
        elif text[n] != n:
            namespace[f"dtype_{n}"] = dtypes[n]
            call.append(f"    {n} = _regions.evaluate({text[n]!r}, leaves, "
                        f"{name + ' ' + n!r}, {shapes[n]!r}, dtype_{n})")
    call.append("    del leaves")
    return [f"{n} is not None" for n in checked], "\n".join(call)


_numexpr_threads = [0]


def _free_count() -> int:
    """The reference count :meth:`Regions.buffer` sees of an array only its cache holds."""
    kept = [np.empty(1)]
    for array in kept:
        return sys.getrefcount(array)
    return 0


_FREE = _free_count()


KEPT = 2
"""How many arrays :class:`Regions` keeps per result: two, so that a result that becomes the next
call's argument (a parameter updated out of place, as ``jax.jit`` steps are written) finds the
one from two calls ago free while the last one is being read."""


class Regions:
    """Runs a plan's regions, and keeps the arrays they write their results into from one call
    to the next: a call takes back the array it wrote last time when nothing but this cache
    references it any more (the backward pass has released the values it saved, the caller
    has dropped the result), else a new one.  A fresh large array costs the kernel's page
    faults on its first write, often more than the arithmetic done in it."""

    def __init__(self) -> None:
        self.arrays: dict = {}  # key -> the last KEPT arrays made for it
        self.lock = threading.Lock()

    def buffer(self, key: str, shape: tuple, dtype) -> np.ndarray:
        """The array ``key`` of ``shape`` and ``dtype``: one written on an earlier call that
        only this cache still holds, else a new one (kept for next time)."""
        with self.lock:
            kept = self.arrays.setdefault(key, [])
            if REFCOUNTS_TRUSTED:
                for array in kept:
                    if sys.getrefcount(array) <= _FREE:
                        return array
            array = np.empty(shape, dtype)
            kept.insert(0, array)
            del kept[KEPT:]
            return array

    def __call__(self, fn, shape: tuple, args: tuple, exports: tuple) -> tuple:
        """The values ``exports`` (name, shape, dtype, whether it may be None, the function
        that sums the blocks' sums of a sum) of the region
        ``fn`` (see :func:`_region`): one call when one block holds every row, else blocks of
        rows on the threads, written into this cache's arrays (even on one thread: a block's
        temporaries are small, and their memory is reused from one block to the next)."""
        if shape[0] <= blocks_rows(shape):
            return fn(0, shape[0], None, *args)
        outs = [None if total is not None else
                self.buffer(f"{fn.__name__} {n}", export_shape, dtype)
                for n, export_shape, dtype, _, total in exports]
        blocks = run_blocks(fn, shape, (outs, *args))
        values = []
        for i, (_, _, _, maybe_none, total) in enumerate(exports):
            if total is not None:  # the sum of the blocks' sums
                values.append(total(np.array([block[i] for block in blocks])))
            elif maybe_none and all(block[i] for block in blocks):
                values.append(None)
            else:
                values.append(outs[i])
        return tuple(values)

    @staticmethod
    def apart(updated: tuple, others: tuple) -> bool:
        """Whether no array among ``others`` may share memory with one of ``updated``, nor two
        of ``updated`` with each other (then a region may write them in place block by block)."""
        arrays = [a for a in others if isinstance(a, np.ndarray)]
        for i, target in enumerate(updated):
            for other in (*updated[i + 1:], *arrays):
                if np.may_share_memory(target, other):
                    return False
        return True

    @staticmethod
    def seed(g) -> tuple:
        """``(c, ones)`` when the float64 gradient ``g`` holds one number ``c`` at every
        element (a sum's or a mean's gradient, broadcast: its strides are all zero), with
        ``SEED_RANGE[0] <= |c| <= SEED_RANGE[1]``, and ``ones`` of ``g``'s shape and dtype;
        else ``(None, g)``.  A region given ``ones`` and ``scale=c`` computes its gradients of
        ones and writes ``c`` times them: the same numbers, as every rule is linear in ``g``
        (up to rounding: ``c (a + b)`` where the eager pass adds ``c a + c b``), without
        multiplying by ``g`` first.  (Not 0, an infinity or a NaN: ``0 (a + b)`` and
        ``0 a + 0 b`` differ where ``a`` is infinite.)"""
        if (type(g) is np.ndarray and g.dtype == np.float64 and g.ndim and g.size
                and not any(g.strides)):
            c = g[(0,) * g.ndim]
            if SEED_RANGE[0] <= abs(c) <= SEED_RANGE[1]:
                return c, np.broadcast_to(np.ones((), g.dtype), g.shape)
        return None, g

    @staticmethod
    def errors_quiet() -> bool:
        """Whether NumPy is told neither to raise nor to call a function on floating-point
        errors: then numexpr may compute a region (it reports none), and a region may write
        an update in place block by block (none of its blocks can raise half-way)."""
        return not any(mode in ("raise", "call") for mode in np.geterr().values())

    def evaluate(self, text: str, leaves: dict, key: str, shape: tuple, dtype) -> np.ndarray:
        """numexpr's value of ``text``, written into this cache's array ``key``, on
        chainrule's number of threads."""
        numexpr = numexpr_module()
        count = get_num_threads()
        if _numexpr_threads[0] != count:
            numexpr.set_num_threads(count)
            _numexpr_threads[0] = count
        return numexpr.evaluate(text, local_dict=leaves, out=self.buffer(key, shape, dtype))
