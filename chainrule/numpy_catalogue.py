"""What :mod:`chainrule.numpy` does with each of NumPy's public callables, as data.

Every public callable of NumPy's main namespace, ``numpy.linalg`` and ``numpy.fft`` (named
``"linalg.svd"``, ``"fft.rfft"`` here) is in one of four classes, shown with the measured
derivatives in the table ``docs/numpy.md`` (``python -m tests.numpy.coverage`` writes it):

* **differentiable**: ``chainrule.numpy`` defines it with chainrule's operations, so it
  records on Tensors.  Nothing is declared here: defining it in ``chainrule/numpy.py`` is what
  makes a function differentiable (and its entry in ``tests/numpy/catalogue.py`` says how to
  check it);
* **passes through**: :data:`PASS_THROUGH`, functions whose results carry no gradient
  (comparisons, predicates, integer and index results, shapes and dtypes, creation from sizes,
  input and output).  ``chainrule.numpy`` calls NumPy's own function on the Tensors' values
  and returns its plain result; classes (dtypes, ``ndarray``, ``errstate``) are NumPy's own;
* **refused**: :data:`REFUSED`, each with what to do instead, which is the error a user meets
  (``cnp.vectorize`` raises AttributeError with that reason, ``np.put(t, ...)`` TypeError);
* **missing**: every other name: not written yet.  Its error says so.

A name absent from the installed NumPy (NumPy 1.26 lacks ``acos``, NumPy 2 lacks
``product``) is skipped: the lists below cover both.  Functions whose derivative is zero
wherever it exists (``floor``, ``sign``, ``round``) record like PyTorch's and JAX's, so they
are differentiable (with zero gradients), not pass-through.

This module sits below ``chainrule/numpy.py`` and imports nothing from chainrule.
"""

from __future__ import annotations

import types
import warnings

import numpy as np

# the submodules of NumPy whose callables are classified, by their prefix here
SUBMODULES = ("linalg", "fft")

# types: dtypes, scalar types, NumPy's classes (chainrule.numpy holds NumPy's own objects)
_TYPES = (
    "bool", "bool_", "byte", "bytes_", "cdouble", "cfloat", "character", "clongdouble",
    "clongfloat", "complex64", "complex128", "complex192", "complex256", "complex_",
    "complexfloating", "csingle", "datetime64", "double", "dtype", "flexible", "float16",
    "float32", "float64", "float96", "float128", "float_", "floating", "generic", "half",
    "inexact", "int8", "int16", "int32", "int64", "int_", "intc", "integer", "intp", "long",
    "longcomplex", "longdouble", "longfloat", "longlong", "number", "object_", "short",
    "signedinteger", "single", "singlecomplex", "str_", "string_", "timedelta64", "ubyte",
    "uint", "uint8", "uint16", "uint32", "uint64", "uintc", "uintp", "ulong", "ulonglong",
    "unicode_", "unsignedinteger", "ushort", "void",
    "ndarray", "ufunc", "broadcast", "busdaycalendar", "errstate", "finfo", "iinfo",
    "flatiter", "ndenumerate", "ndindex", "nditer", "memmap", "recarray", "record",
    "chararray", "format_parser", "DataSource", "RankWarning", "linalg.LinAlgError",
)

PASS_THROUGH: tuple[str, ...] = _TYPES + (
    # shapes, dtypes and memory
    "shape", "ndim", "size", "result_type", "can_cast", "common_type", "min_scalar_type",
    "mintypecode", "promote_types", "isdtype", "issubdtype", "typename", "broadcast_shapes",
    "einsum_path", "iscomplexobj", "isrealobj", "isscalar", "isfortran", "iterable",
    "may_share_memory", "shares_memory", "byte_bounds", "get_array_wrap", "find_common_type",
    "issctype", "issubclass_", "issubsctype", "maximum_sctype", "obj2sctype", "sctype2char",
    "nested_iters",
    # comparisons and predicates: booleans
    "all", "any", "allclose", "isclose", "array_equal", "array_equiv", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "logical_xor", "isfinite", "isinf", "isnan", "isnat", "isneginf",
    "isposinf", "isreal", "iscomplex", "signbit", "isin", "is_busday", "compare_chararrays",
    # integer and index results; sets and histograms (chosen by equality or by counting)
    "argmax", "argmin", "argsort", "argpartition", "argwhere", "nonzero", "flatnonzero",
    "count_nonzero", "searchsorted", "digitize", "lexsort", "nanargmax", "nanargmin",
    "unravel_index", "ravel_multi_index", "floor_divide", "unique", "unique_all",
    "unique_counts", "unique_inverse", "unique_values", "intersect1d", "setdiff1d",
    "setxor1d", "union1d", "histogram", "histogram2d", "histogramdd", "histogram_bin_edges",
    "spacing", "nextafter", "linalg.matrix_rank", "busday_count", "busday_offset",
    "datetime_as_string", "datetime_data",
    # bits and integers
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert",
    "bitwise_count", "invert", "left_shift", "right_shift", "bitwise_left_shift",
    "bitwise_right_shift", "gcd", "lcm", "packbits", "unpackbits",
    # creation from sizes or from data outside Python's numbers; *_like take only a shape
    "arange", "empty", "zeros", "ones", "eye", "identity", "tri", "indices", "diag_indices",
    "diag_indices_from", "tril_indices", "tril_indices_from", "triu_indices",
    "triu_indices_from", "mask_indices", "ix_", "bartlett", "blackman", "hamming", "hanning",
    "empty_like", "zeros_like", "ones_like", "full_like", "fromfunction", "frombuffer",
    "fromfile", "fromiter", "fromregex", "fromstring", "from_dlpack", "load", "loadtxt",
    "genfromtxt", "recfromcsv", "recfromtxt", "fft.fftfreq", "fft.rfftfreq",
    # printing, saving, settings, help
    "array2string", "array_repr", "array_str", "base_repr", "binary_repr",
    "format_float_positional", "format_float_scientific", "get_printoptions", "printoptions",
    "set_printoptions", "set_string_function", "save", "savetxt", "savez", "savez_compressed",
    "getbufsize", "setbufsize", "geterr", "seterr", "geterrcall", "seterrcall", "geterrobj",
    "seterrobj", "set_numeric_ops", "get_include", "show_config", "show_runtime", "info",
    "lookfor", "source", "who", "disp", "deprecate", "deprecate_with_doc", "add_docstring",
    "add_newdoc", "add_newdoc_ufunc", "safe_eval",
)

_PYTHON_PER_ELEMENT = ("it calls a Python function once per element, which chainrule cannot "
                       "record as one operation; write the function with chainrule.numpy's "
                       "operations on whole arrays (they broadcast)")
_MATRIX = ("it makes numpy.matrix, whose * is a matrix product and which NumPy itself "
           "discourages; use 2-D arrays and @ (cnp.matmul)")
_IN_PLACE = ("it writes into its argument in place, behind a Tensor's recorded graph; make a "
             "new Tensor instead: x.at[index].set(values) (or .add)")


def _alias(new: str) -> str:
    return f"it is a deprecated alias, removed in NumPy 2.0: call {new}"


# name -> why, and what to do instead: the error a user reads (after "chainrule.numpy.vectorize
# is not provided: "), and the note in docs/numpy.md
REFUSED: dict[str, str] = {
    "vectorize": _PYTHON_PER_ELEMENT,
    "frompyfunc": _PYTHON_PER_ELEMENT,
    "matrix": _MATRIX, "asmatrix": _MATRIX, "bmat": _MATRIX, "mat": _MATRIX,
    "poly1d": ("it is a polynomial class holding its coefficients in an ndarray; evaluate the "
               "polynomial with chainrule.numpy's operations instead (Horner's rule: "
               "y = y * x + c for each coefficient c)"),
    "put": _IN_PLACE, "putmask": _IN_PLACE, "place": _IN_PLACE,
    "put_along_axis": _IN_PLACE,
    "fill_diagonal": ("it writes into its argument in place; make a new Tensor instead: "
                      "a.at[cnp.diag_indices(n)].set(value)"),
    "copyto": ("it writes into its argument in place; make a new Tensor instead: "
               "dst = cnp.where(mask, src, dst), or dst.at[index].set(src)"),
    "product": _alias("prod"), "cumproduct": _alias("cumprod"), "round_": _alias("round"),
    "alltrue": _alias("all"), "sometrue": _alias("any"), "in1d": _alias("isin"),
    "msort": _alias("sort(a, axis=0)"), "fastCopyAndTranspose": _alias("transpose"),
    "asfarray": ("it is a deprecated alias, removed in NumPy 2.0: a Tensor that carries a "
                 "gradient is floating already; for arrays call numpy.asarray(a, dtype=float)"),
    "row_stack": "it is a deprecated alias (NumPy 2.0): call vstack",
    **dict.fromkeys(["test", "linalg.test", "fft.test"],
                    "it runs NumPy's own tests, not chainrule's: call numpy.test()"),
}

DOC = "docs/numpy.md"  # the table, in chainrule's repository


def numpy_object(name: str):
    """NumPy's object for a name of the table (``"sum"``, ``"linalg.svd"``), or None."""
    module, _, attribute = name.rpartition(".")
    if module and module not in SUBMODULES:  # (a ufunc's method, "add.accumulate")
        return None
    with warnings.catch_warnings():  # (some of NumPy's old names warn when read)
        warnings.simplefilter("ignore")
        return getattr(getattr(np, module) if module else np, attribute, None)


NOT_NUMPYS = frozenset({"expm1x"})
"""Names other packages set on NumPy's namespace: numexpr, when imported, sets
``numpy.expm1x`` (an alias of ``expm1``)."""


def numpy_callables() -> list[str]:
    """Every public callable of the installed NumPy: the main namespace, then
    ``linalg.*``, then ``fft.*`` (not the names other packages set on it)."""
    names = []
    for prefix, module in [("", np)] + [(f"{m}.", getattr(np, m)) for m in SUBMODULES]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names += [prefix + n for n in sorted(dir(module))
                      if not n.startswith("_") and prefix + n not in NOT_NUMPYS
                      and callable(getattr(module, n, None))]
    return names


def unavailable(name: str) -> str:
    """Why ``chainrule.numpy`` has no ``name``: what :func:`chainrule.numpy.__getattr__` says."""
    if name in REFUSED:
        return f"chainrule.numpy.{name} is not provided: {REFUSED[name]}"
    public = not name.rpartition(".")[2].startswith("_")
    if not (public and callable(numpy_object(name))) and name not in SUBMODULES:
        return f"module 'chainrule.numpy' has no attribute {name!r}"
    return (f"chainrule.numpy has no {name} yet ({DOC} in chainrule's repository lists what it "
            f"differentiates). Write it with chainrule.numpy's functions to keep the gradient, "
            f"or call numpy.{name} on .detach().numpy() if no gradient is wanted")


def no_rule(name: str) -> str:
    """The error of NumPy's function ``name`` (``"median"``, ``"linalg.svd"``,
    ``"add.accumulate"``) called on a Tensor, when chainrule.numpy does not answer it."""
    start = (f"numpy.{name} has no differentiation rule in chainrule, so calling it on a Tensor "
             "would lose the gradient")
    if name in REFUSED:
        return f"{start}: {REFUSED[name]}"
    if numpy_object(name) is None:  # a ufunc's method: np.add.accumulate
        return (f"{start}. Call chainrule.numpy's functions instead (cumsum for "
                "add.accumulate, outer for multiply.outer), or call it on .detach().numpy() if "
                "no gradient is wanted")
    return (f"{start}: chainrule.numpy has no {name} yet ({DOC} lists what it differentiates). "
            "Write it with chainrule.numpy's functions, or call it on .detach().numpy() if no "
            "gradient is wanted")


class Namespace(types.SimpleNamespace):
    """``chainrule.numpy.linalg`` and ``.fft``: the functions of one of NumPy's submodules, as
    attributes; another of that submodule's names raises AttributeError saying why."""

    __slots__ = ("_module",)  # (a slot, so that vars() lists the functions only)

    def __init__(self, module: str, functions: dict) -> None:
        super().__init__(**functions)
        self._module = module

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(unavailable(f"{self._module}.{name}"))
