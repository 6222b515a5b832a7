"""Text rendering of tensor values, matching what PyTorch 2.x prints for ``repr(tensor)``.

This is a port of the algorithm in PyTorch's ``torch/_tensor_str.py`` with its default print
options (precision 4, threshold 1000, edge items 3, line width 80, automatic scientific
notation). Only the layout of the values and the trailing ``dtype=`` / ``grad_fn=`` /
``requires_grad=`` suffixes are produced here; deciding whether a dtype is a default one, and
what to call it, is left to the caller.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["format_tensor"]

# PyTorch's default print options.
_PRECISION = 4
_THRESHOLD = 1000  # more elements than this and only the edges of each dimension are shown
_EDGE_ITEMS = 3
_LINE_WIDTH = 80

# Above this ratio between the largest and smallest magnitudes, or outside these bounds,
# floating values are printed in scientific notation.
_SCI_MAX_RATIO = 1000.0
_SCI_MAX_MAGNITUDE = 1.0e8
_SCI_MIN_MAGNITUDE = 1.0e-4


class _RealFormatter:
    """Chooses one notation and one column width for all the real values of a tensor."""

    def __init__(self, values: np.ndarray) -> None:
        self.is_floating = bool(np.issubdtype(values.dtype, np.floating))
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if self.is_floating:
            self._fit_floating(values.astype(np.float64).ravel())
        else:
            # Integers and booleans print as Python does (``True``, ``-12``), right-aligned.
            self.width = max([self.width, *(len(str(value)) for value in values.ravel().tolist())])

    def _fit_floating(self, values: np.ndarray) -> None:
        # Zeros, infinities and NaNs do not influence the notation; with none of the other
        # kind the defaults (integral notation, width 1) stay.
        shown = values[np.isfinite(values) & (values != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        self.sci_mode = (
            largest / smallest > _SCI_MAX_RATIO
            or largest > _SCI_MAX_MAGNITUDE
            or smallest < _SCI_MIN_MAGNITUDE
        )
        # Widths are measured on the signed values, so a minus sign counts.
        if self.sci_mode:
            texts = [f"{value:.{_PRECISION}e}" for value in shown.tolist()]
        elif self.int_mode:
            # The width includes the trailing "." that marks a floating dtype.
            texts = [f"{value:.0f}" + "." for value in shown.tolist()]
        else:
            texts = [f"{value:.{_PRECISION}f}" for value in shown.tolist()]
        self.width = max(self.width, *(len(text) for text in texts))

    def format(self, value: float) -> str:
        """The text of one value (a Python bool, int or float), left-padded to the common width."""
        if not self.is_floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{_PRECISION}f}"
        return text.rjust(self.width)


class _ComplexFormatter:
    """Formats complex values with independent notations for the real and imaginary parts."""

    def __init__(self, values: np.ndarray) -> None:
        self.real = _RealFormatter(values.real)
        self.imag = _RealFormatter(values.imag)
        # Room for both parts and the trailing "j" (PyTorch does not count the sign it inserts).
        self.width = self.real.width + self.imag.width + 1

    def format(self, value: complex) -> str:
        real_text = self.real.format(value.real)
        imag_text = (self.imag.format(value.imag) + "j").lstrip()
        if imag_text[0] in "+-":
            return real_text + imag_text
        return real_text + "+" + imag_text


_Formatter = _RealFormatter | _ComplexFormatter


def format_tensor(
    values: np.ndarray | np.generic,
    *,
    prefix: str = "tensor(",
    dtype_name: str | None = None,
    requires_grad: bool = False,
    grad_fn_name: str | None = None,
) -> str:
    """Return the text PyTorch prints for ``repr`` of a tensor holding ``values``.

    ``prefix`` opens the text (its length sets the indentation of continuation lines).
    ``dtype_name``, when given, is shown as ``dtype=<dtype_name>``; ``grad_fn_name`` as
    ``grad_fn=<name>``, or else ``requires_grad`` as ``requires_grad=True``.

    Example: ``format_tensor(np.array([0.0, 4.0, 8.0, 12.0]))`` is
    ``"tensor([ 0.,  4.,  8., 12.])"``.
    """
    array = np.asarray(values)
    if not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.number)):
        raise TypeError(f"cannot format values of dtype {array.dtype}")
    indent = len(prefix)

    suffixes = []
    if array.size == 0:
        body = "[]"
        # An empty tensor shows its shape unless it is the plain ``(0,)``.
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
    else:
        body = _format_values(array, indent)
    if dtype_name is not None:
        suffixes.append(f"dtype={dtype_name}")
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _close_with_suffixes(prefix + body, suffixes, indent)


def _format_values(array: np.ndarray, indent: int) -> str:
    """The bracketed values of a non-empty array, summarized when it is large."""
    summarize = array.size > _THRESHOLD
    # The notation and width are chosen from the values that are actually shown.
    shown = _edges(array) if summarize else array
    formatter = _ComplexFormatter(shown) if np.iscomplexobj(array) else _RealFormatter(shown)
    return _format_nested(array, indent, summarize, formatter)


def _edges(array: np.ndarray) -> np.ndarray:
    """The values kept by summarization: the first and last edge items of every dimension."""
    if array.ndim == 0:
        return array
    if array.shape[0] > 2 * _EDGE_ITEMS:
        array = np.concatenate([array[:_EDGE_ITEMS], array[-_EDGE_ITEMS:]])
    if array.ndim == 1:
        return array
    return np.stack([_edges(sub_array) for sub_array in array])


def _shown_indices(length: int, summarize: bool) -> list[int | None]:
    """Indices printed along one dimension; ``None`` stands for the elided middle."""
    if summarize and length > 2 * _EDGE_ITEMS:
        return [*range(_EDGE_ITEMS), None, *range(length - _EDGE_ITEMS, length)]
    return list(range(length))


def _format_nested(array: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """The bracketed text of ``array``, whose opening bracket sits after ``indent`` columns."""
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _format_vector(array, indent, summarize, formatter)
    slices = [
        "..." if index is None else _format_nested(array[index], indent + 1, summarize, formatter)
        for index in _shown_indices(array.shape[0], summarize)
    ]
    # Slices of a d-dimensional array are separated by d - 1 line breaks (blank lines
    # between matrices), each continuation aligned just inside the opening bracket.
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(slices) + "]"


def _format_vector(vector: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """The bracketed elements of a 1-D array, wrapped to the line width."""
    # Each element takes its width plus ", "; as many as fit in the line width go on one line
    # (at least one, however wide).
    element_length = formatter.width + 2
    per_line = max(1, math.floor((_LINE_WIDTH - indent) / element_length))
    # The elision marker counts as one element and is not padded to the common width.
    elements = [
        " ..." if index is None else formatter.format(vector[index].item())
        for index in _shown_indices(vector.shape[0], summarize)
    ]
    line_starts = range(0, len(elements), per_line)
    lines = [", ".join(elements[start : start + per_line]) for start in line_starts]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _close_with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append each ``, suffix``, moving it to a new line when it would overflow, then ``)``."""
    pieces = [text]
    # PyTorch's measure of the last line overcounts it by two characters; it is kept as is so
    # that the line breaks fall where PyTorch puts them.
    last_line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_length + len(suffix) + 2 > _LINE_WIDTH:
            pieces.append(",\n" + " " * indent + suffix)
            last_line_length = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line_length += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)
