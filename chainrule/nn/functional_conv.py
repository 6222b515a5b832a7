"""The convolutions of ``torch.nn.functional`` (``conv1d``, ``conv2d``, ``conv3d``,
``conv_transpose1d``, ``conv_transpose2d``, ``conv_transpose3d``), re-exported by
:mod:`chainrule.nn.functional`.

Each reads PyTorch's arguments (an int or one per spatial dim; ``padding='same'`` or
``'valid'``; ``output_padding``), checks them with PyTorch's messages, resolves the padding
into the exact ``(lo, hi)`` pairs the primitives of ``chainrule/rules/convolution.py`` take,
and calls one primitive; the bias is added after it as an ordinary broadcast add.  An unbatched
input (``(C, L)``, ``(C, H, W)``) gets a batch dim of one and loses it again, as in PyTorch.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.conv1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), cr.tensor([[[1.0, -1.0]]]))
tensor([[[-1., -1., -1.]]])
>>> F.conv_transpose1d(cr.tensor([[[1.0, 2.0]]]), cr.tensor([[[1.0, 1.0, 1.0]]]), stride=2)
tensor([[[1., 1., 3., 2., 2.]]])
"""

from __future__ import annotations

from chainrule import rules as R
from chainrule.functions import tensor_arg
from chainrule.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """The 1-d cross-correlation of ``input`` ``(N, C_in, L)`` (or ``(C_in, L)``) with
    ``weight`` ``(C_out, C_in / groups, K)``, plus ``bias`` ``(C_out,)``, as
    ``torch.nn.functional.conv1d``; ``padding`` is an int, a 1-tuple, ``'valid'`` or
    ``'same'``.

    >>> import chainrule as cr
    >>> conv1d(cr.tensor([[[1.0, 2.0, 3.0]]]), cr.ones(1, 1, 3), padding="same")
    tensor([[[3., 6., 5.]]])
    """
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """The 2-d cross-correlation of ``input`` ``(N, C_in, H, W)`` (or ``(C_in, H, W)``) with
    ``weight`` ``(C_out, C_in / groups, kH, kW)``, plus ``bias`` ``(C_out,)``, as
    ``torch.nn.functional.conv2d``.

    >>> import chainrule as cr
    >>> conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 2, 2), stride=2, padding=1)
    tensor([[[[1., 2.],
              [2., 4.]]]])
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """The 3-d cross-correlation of ``input`` ``(N, C_in, D, H, W)`` with ``weight``
    ``(C_out, C_in / groups, kD, kH, kW)``, as ``torch.nn.functional.conv3d``.

    >>> import chainrule as cr
    >>> conv3d(cr.ones(1, 1, 2, 2, 2), cr.ones(1, 1, 2, 2, 2))
    tensor([[[[[8.]]]]])
    """
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """The transposed 1-d convolution (the gradient of ``conv1d`` w.r.t. its input) of
    ``input`` ``(N, C_in, L)`` with ``weight`` ``(C_in, C_out / groups, K)``, as
    ``torch.nn.functional.conv_transpose1d``: the result has length
    ``(L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1``.

    >>> import chainrule as cr
    >>> conv_transpose1d(cr.tensor([[[1.0, 2.0]]]), cr.ones(1, 1, 2), stride=2)
    tensor([[[1., 1., 2., 2.]]])
    """
    return _transposed("conv_transpose1d", 1, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """The transposed 2-d convolution of ``input`` ``(N, C_in, H, W)`` with ``weight``
    ``(C_in, C_out / groups, kH, kW)``, as ``torch.nn.functional.conv_transpose2d``.

    >>> import chainrule as cr
    >>> conv_transpose2d(cr.ones(1, 1, 1, 1), cr.ones(1, 1, 2, 2), output_padding=0).shape
    (1, 1, 2, 2)
    """
    return _transposed("conv_transpose2d", 2, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """The transposed 3-d convolution of ``input`` ``(N, C_in, D, H, W)`` with ``weight``
    ``(C_in, C_out / groups, kD, kH, kW)``, as ``torch.nn.functional.conv_transpose3d``.

    >>> import chainrule as cr
    >>> conv_transpose3d(cr.ones(1, 1, 1, 1, 1), cr.ones(1, 2, 1, 1, 1), stride=2).shape
    (1, 2, 1, 1, 1)
    """
    return _transposed("conv_transpose3d", 3, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


# --------------------------------------------------------------------------------------------
# reading the arguments


def per_dim(name: str, what: str, value, dims: int) -> tuple[int, ...]:
    """An int, or one int per spatial dim, as a tuple of ``dims`` ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * dims
    values = tuple(value) if isinstance(value, (tuple, list)) else None
    if values is None or not all(isinstance(v, int) and not isinstance(v, bool)
                                 for v in values):
        raise TypeError(f"{name}: {what} must be an int or a tuple of {dims} ints, "
                        f"got {value!r}")
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        raise RuntimeError(f"{name}: expected {what} to be a single integer value or a list of "
                           f"{dims} values to match the convolution dimensions, but got "
                           f"{what}={list(values)}")
    return values


def _positive(name: str, what: str, values) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{name}: non-positive {what} is not supported (got {what}="
                           f"{values}); pass values of at least 1")


def _sizes(shape) -> str:
    return " x ".join(str(n) for n in shape)


def _operands(name: str, dims: int, input, weight, groups):
    """The input (batched) and weight as tensors, checked; and whether a batch dim was added."""
    x, w = tensor_arg(input), tensor_arg(weight)
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input "
                           f"to {name}, but got input of size: {list(x.shape)}")
    if w.ndim != dims + 2:
        raise RuntimeError(f"{name}: weight must be {dims + 2}-D (channels, channels / groups, "
                           f"then {dims} kernel sizes), got weight of size {list(w.shape)}")
    if x.dtype != w.dtype:
        raise RuntimeError(f"{name}: expected scalar type {w.dtype} but found {x.dtype}: the "
                           f"input is {x.dtype} and the weight {w.dtype}; convert one of them "
                           "(.float(), .double())")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{name}: groups must be an int, got {groups!r}")
    if groups <= 0:
        raise RuntimeError(f"{name}: non-positive groups is not supported (got groups={groups})")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.reshape((1,) + tuple(x.shape))
    if w.shape[0] % groups:
        raise RuntimeError(f"{name}: Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {list(w.shape)} "
                           "instead")
    return x, w, unbatched


def _finish(name: str, out: Tensor, bias, channels: int, w: Tensor, unbatched: bool,
            transposed: bool) -> Tensor:
    if bias is not None:
        b = tensor_arg(bias)
        if b.shape != (channels,):
            given = "transposed=1, " if transposed else ""
            raise RuntimeError(f"{name}: Given {given}weight of size {list(w.shape)}, expected "
                               f"bias to be 1-dimensional with {channels} elements, but got "
                               f"bias of size {list(b.shape)} instead")
        out = out + b.reshape((channels,) + (1,) * (out.ndim - 2))
    return out.reshape(tuple(out.shape[1:])) if unbatched else out


def _convolution(name: str, dims: int, input, weight, bias, stride, padding, dilation,
                 groups) -> Tensor:
    x, w, unbatched = _operands(name, dims, input, weight, groups)
    stride = per_dim(name, "stride", stride, dims)
    dilation = per_dim(name, "dilation", dilation, dims)
    _positive(name, "stride", stride)
    _positive(name, "dilation", dilation)
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"{name}: Given groups={groups}, weight of size {list(w.shape)}, "
                           f"expected input{list(x.shape)} to have {w.shape[1] * groups} "
                           f"channels, but got {x.shape[1]} channels instead")
    kernel, size = tuple(w.shape[2:]), tuple(x.shape[2:])
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    pairs = resolve_padding(name, padding, spans, stride, dims)
    grown = tuple(n + lo + hi for n, (lo, hi) in zip(size, pairs))
    if any(n < span for n, span in zip(grown, spans)):
        raise RuntimeError(f"{name}: Calculated padded input size per channel: "
                           f"({_sizes(grown)}). Kernel size: ({_sizes(spans)}). Kernel size "
                           "can't be greater than actual input size")
    # exact: drop the rows past the last window (S + lo + hi = (L - 1) s + span)
    out = tuple((n - span) // s + 1 for n, span, s in zip(grown, spans, stride))
    pairs = tuple((lo, (m - 1) * s + span - n - lo)
                  for (lo, _), m, s, span, n in zip(pairs, out, stride, spans, size))
    y = R.conv(x, w, stride=stride, padding=pairs, dilation=dilation, groups=groups)
    return _finish(name, y, bias, w.shape[0], w, unbatched, False)


def resolve_padding(name: str, padding, spans, stride, dims: int) -> tuple:
    """PyTorch's ``padding`` (int, tuple, ``'valid'``, ``'same'``) as ``(lo, hi)`` pairs;
    ``'same'`` puts the odd zero after, as PyTorch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise ValueError(f"{name}: Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided "
                             f"convolutions (stride={stride}); pass the padding as ints")
        return tuple(((span - 1) // 2, span - 1 - (span - 1) // 2) for span in spans)
    amounts = per_dim(name, "padding", padding, dims)
    if any(p < 0 for p in amounts):
        raise RuntimeError(f"{name}: negative padding is not supported (got padding="
                           f"{amounts})")
    return tuple((p, p) for p in amounts)


def _transposed(name: str, dims: int, input, weight, bias, stride, padding, output_padding,
                groups, dilation) -> Tensor:
    x, w, unbatched = _operands(name, dims, input, weight, groups)
    if isinstance(padding, str):
        raise TypeError(f"{name}: argument 'padding' must be tuple of ints, not str "
                        f"({padding!r}); transposed convolutions take no 'same' or 'valid'")
    stride = per_dim(name, "stride", stride, dims)
    dilation = per_dim(name, "dilation", dilation, dims)
    amounts = per_dim(name, "padding", padding, dims)
    extra = per_dim(name, "output_padding", output_padding, dims)
    _positive(name, "stride", stride)
    _positive(name, "dilation", dilation)
    if any(p < 0 for p in amounts + extra):
        raise RuntimeError(f"{name}: negative padding is not supported (got padding={amounts}, "
                           f"output_padding={extra})")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(f"{name}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={extra}, stride={stride}, "
                           f"dilation={dilation}")
    if x.shape[1] != w.shape[0]:
        raise RuntimeError(f"{name}: Given transposed=1, weight of size {list(w.shape)}, "
                           f"expected input{list(x.shape)} to have {w.shape[0]} channels, but "
                           f"got {x.shape[1]} channels instead")
    kernel, size = tuple(w.shape[2:]), tuple(x.shape[2:])
    result = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e
                   in zip(size, stride, amounts, dilation, kernel, extra))
    if any(n <= 0 for n in result) or any(n == 0 for n in size):
        raise RuntimeError(f"{name}: Given input size per channel: ({_sizes(size)}). "
                           f"Calculated output size per channel: ({_sizes(result)}). Output "
                           "size is too small")
    # the transposed result is the full (L - 1) s + span, less p before and p - e after
    pairs = tuple((p, p - e) for p, e in zip(amounts, extra))
    y = R.conv_transpose(x, w, stride=stride, padding=pairs, dilation=dilation, groups=groups)
    return _finish(name, y, bias, w.shape[1] * groups, w, unbatched, True)
