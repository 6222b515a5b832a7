"""A catalogue of bad inputs, each tried as a new user would (issue 13, "Errors that do not
help"), and what chainrule must say.

One line per entry: ``(called: what is wrong, call, exception, phrase)``.  ``called`` is the
function, method or operator the user called.  For every entry the call must raise
``exception`` (PyTorch's type for the same call where PyTorch raises; chainrule's own where
PyTorch works but chainrule cannot), with a message that

* contains ``phrase`` (mostly PyTorch's own words, so that a search finds the answer),
* names what was called (the last dotted part of ``called``, without a trailing ``_``), and
* is not a bare NumPy message or an internal Python error (``'float' object is not
  iterable``, ``gufunc signature`` ...).

The calls at the end (:data:`NOT_ERRORS`) look odd but are right: they must not raise, and
give PyTorch's result.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import func


def matrix() -> cr.Tensor:
    return cr.arange(6.0).reshape(2, 3)


def leaf() -> cr.Tensor:
    return cr.tensor([1.0, 2.0, 3.0], requires_grad=True)


def backward_twice() -> None:
    x = leaf()
    y = (x * x).sum()
    y.backward()
    y.backward()


def grad_of_unused_input():
    x, unused = leaf(), leaf()
    return cr.autograd.grad((x * 2).sum(), [x, unused])


def backward_with_hook(hook) -> None:
    x = leaf()
    x.register_hook(hook)
    (x * 2).sum().backward()


def assign(index, value) -> None:
    x = cr.zeros(3, 3)
    x[index] = value


def add_in_place_into_smaller() -> None:
    x = cr.zeros(3)
    x += cr.ones(2, 3)


ERRORS = [
    # ---------------------------------------------------------------------------------------
    # creation
    ("arange: step 0", lambda: cr.arange(0.0, 1.0, 0.0), RuntimeError, "step must be nonzero"),
    ("arange: step of the wrong sign", lambda: cr.arange(0, 10, -1), RuntimeError,
     "inconsistent with step sign"),
    ("arange: end nan", lambda: cr.arange(0, math.nan), RuntimeError, "unsupported range"),
    ("arange: end infinite", lambda: cr.arange(0, math.inf), RuntimeError, "unsupported range"),
    ("arange: end a string", lambda: cr.arange("5"), TypeError, "must be a number, not str"),
    ("zeros: a negative size", lambda: cr.zeros(-1), RuntimeError,
     "Trying to create tensor with negative dimension -1"),
    ("ones: a negative size in a tuple", lambda: cr.ones((2, -1)), RuntimeError,
     "negative dimension -1: [2, -1]"),
    ("ones: a float size", lambda: cr.ones(2.5), TypeError, "must be a tuple of ints"),
    ("ones: a string size", lambda: cr.ones("3"), TypeError, "must be a tuple of ints"),
    ("zeros: size None", lambda: cr.zeros(None), TypeError, "must be a tuple of ints"),
    ("randn: a negative size", lambda: cr.randn(2, -3), RuntimeError, "negative dimension -3"),
    ("randn: a float size", lambda: cr.randn(2.5), TypeError, "must be a tuple of ints"),
    ("rand: an integer dtype", lambda: cr.rand(2, dtype=cr.int64), NotImplementedError,
     "use randint for random integers"),
    ("randn: an integer dtype", lambda: cr.randn(2, dtype=cr.int64), NotImplementedError,
     "not implemented for dtype int64"),
    ("randint: low above high", lambda: cr.randint(5, 2, (3,)), RuntimeError,
     "expects 'low' to be less than 'high'"),
    ("randint: a float bound", lambda: cr.randint(0, 2.5, (3,)), TypeError,
     "argument 'high' must be int"),
    ("tensor: ragged nested lists", lambda: cr.tensor([[1, 2], [3]]), ValueError,
     "expected sequence of length 2 at dim 1 (got 1)"),
    ("tensor: a number among lists", lambda: cr.tensor([[1, 2], 3]), TypeError,
     "expected a sequence of length 2 at dim 1"),
    ("tensor: tensors of different lengths", lambda: cr.tensor([cr.ones(2), cr.ones(3)]),
     ValueError, "expected sequence of length 2 at dim 1 (got 3)"),
    ("tensor: a string", lambda: cr.tensor("abc"), TypeError, "invalid data type 'str'"),
    ("tensor: None among the values", lambda: cr.tensor([1.0, None]), RuntimeError,
     "Could not infer dtype of NoneType"),
    ("tensor: a dict", lambda: cr.tensor({"a": 1}), RuntimeError, "Could not infer dtype of dict"),
    ("tensor: tensors that require grad", lambda: cr.tensor([leaf(), leaf()]), RuntimeError,
     "use chainrule.stack(values)"),
    ("tensor: integers with requires_grad", lambda: cr.tensor([1, 2], requires_grad=True),
     RuntimeError, "Only Tensors of floating point and complex dtype can require gradients"),
    ("backward: a complex scalar without gradient=",
     lambda: (cr.tensor(1 + 2j, requires_grad=True) * 2).backward(), RuntimeError,
     "grad can be implicitly created only for real scalar outputs"),
    ("imag: a real tensor", lambda: cr.tensor([1.0]).imag, RuntimeError,
     "imag is not implemented for tensors with non-complex dtypes"),
    ("complex: float32 and float64 parts",
     lambda: cr.complex(cr.tensor([1.0]), cr.tensor([1.0], dtype=cr.float64)), RuntimeError,
     "expected real and imag to be float tensors of the same dtype"),
    ("tensor: device='cuda'", lambda: cr.tensor([1.0], device="cuda"), RuntimeError,
     "chainrule runs on the CPU"),
    ("zeros: device='cuda'", lambda: cr.zeros(2, device="cuda"), RuntimeError,
     "chainrule runs on the CPU"),
    ("ones: an integer dtype with requires_grad",
     lambda: cr.ones(2, dtype=cr.int64, requires_grad=True), RuntimeError,
     "floating point and complex dtype"),
    ("linspace: negative steps", lambda: cr.linspace(0, 1, -1), RuntimeError,
     "steps must be greater or equal to 0"),
    ("linspace: float steps", lambda: cr.linspace(0, 1, 2.5), TypeError,
     "argument 'steps' must be int"),
    ("eye: a negative size", lambda: cr.eye(-1), RuntimeError,
     "n must be greater or equal to 0, got -1"),
    ("eye: a float size", lambda: cr.eye(2.5), TypeError, "argument 'n' must be int"),
    ("full: a list as fill_value", lambda: cr.full((2,), [1, 2]), TypeError,
     "argument 'fill_value' must be a number, not list"),
    ("full: a string as fill_value", lambda: cr.full((2,), "a"), TypeError,
     "must be a number, not str"),
    ("zeros_like: a string", lambda: cr.zeros_like("abc"), TypeError, "must be a Tensor"),
    ("from_numpy: a list", lambda: cr.from_numpy([1, 2]), TypeError,
     "expected np.ndarray (got list)"),
    ("set_default_dtype: an integer dtype", lambda: cr.set_default_dtype(cr.int64), TypeError,
     "only floating-point types"),
    # ---------------------------------------------------------------------------------------
    # arithmetic and broadcasting
    ("add: shapes (3,) and (4,)", lambda: cr.ones(3) + cr.ones(4), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0"),
    ("mul: shapes (2, 3) and (3, 2)", lambda: cr.ones(2, 3) * cr.ones(3, 2), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1"),
    ("add: chainrule.add of (2, 3) and (4,)", lambda: cr.add(cr.ones(2, 3), cr.ones(4)),
     RuntimeError, "tensor b (4) at non-singleton dimension 1"),
    ("sub: shapes (3,) and (2,)", lambda: cr.ones(3) - cr.ones(2), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (2)"),
    ("div: shapes (3,) and (2,)", lambda: cr.ones(3) / cr.ones(2), RuntimeError,
     "The size of tensor a (3) must match"),
    ("pow: shapes (3,) and (2,)", lambda: cr.ones(3) ** cr.ones(2), RuntimeError,
     "The size of tensor a (3) must match"),
    ("maximum: shapes (3,) and (4,)", lambda: cr.maximum(cr.ones(3), cr.ones(4)), RuntimeError,
     "The size of tensor a (3) must match"),
    ("where: shapes (3,) and (4,)", lambda: cr.where(cr.ones(3) > 0, cr.ones(3), cr.ones(4)),
     RuntimeError, "The size of tensor a (3) must match the size of tensor b (4)"),
    ("eq: shapes (3,) and (4,)", lambda: cr.ones(3) == cr.ones(4), RuntimeError,
     "The size of tensor a (3) must match"),
    ("lt: shapes (3,) and (4,)", lambda: cr.ones(3) < cr.ones(4), RuntimeError,
     "The size of tensor a (3) must match"),
    ("mul: a list of the wrong length", lambda: cr.ones(3) * [1.0, 2.0], RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (2)"),
    ("add: a string", lambda: cr.ones(3) + "a", TypeError,
     "unsupported operand type(s) for +: 'Tensor' and 'str'"),
    ("add: None", lambda: cr.ones(3) + None, TypeError,
     "unsupported operand type(s) for +: 'Tensor' and 'NoneType'"),
    ("add: a string on the left", lambda: "a" + cr.ones(3), TypeError,
     "unsupported operand type(s) for +: 'str' and 'Tensor'"),
    ("div: rounding_mode='round'", lambda: cr.div(cr.ones(3), 2, rounding_mode="round"),
     RuntimeError, "rounding_mode to be one of None, 'trunc', or 'floor'"),
    ("div: integer floor division by zero", lambda: cr.tensor([1, 2]) // 0, RuntimeError,
     "ZeroDivisionError"),
    ("pow: integers to a negative integer power", lambda: cr.tensor([2, 3]) ** -1,
     RuntimeError, "Integers to negative integer powers are not allowed"),
    ("clamp: neither min nor max", lambda: cr.clamp(cr.ones(3)), RuntimeError,
     "At least one of 'min' or 'max' must not be None"),
    ("add_: in place, shapes (3,) and (4,)", lambda: cr.zeros(3).add_(cr.ones(4)),
     RuntimeError, "The size of tensor a (3) must match the size of tensor b (4)"),
    ("add_: += of a larger shape", add_in_place_into_smaller, RuntimeError,
     "doesn't match the broadcast shape"),
    ("add_: on a leaf that requires grad", lambda: leaf().add_(1), RuntimeError,
     "a leaf Variable that requires grad is being used in an in-place operation"),
    ("softmax: an integer tensor", lambda: cr.softmax(cr.tensor([1, 2]), dim=0),
     NotImplementedError, "not implemented for integer tensors"),
    # ---------------------------------------------------------------------------------------
    # reductions and their dim / keepdim arguments
    ("sum: dim=1.5", lambda: matrix().sum(dim=1.5), TypeError, "argument 'dim' must be"),
    ("sum: dim out of range", lambda: matrix().sum(dim=2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    ("sum: a repeated dim", lambda: matrix().sum(dim=(0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("sum: the same dim twice, as 1 and -1", lambda: matrix().sum(dim=(1, -1)), RuntimeError,
     "dim 1 appears multiple times"),
    ("sum: a float in a list of dims", lambda: matrix().sum(dim=[0, 1.5]), TypeError,
     "argument 'dim' must be int"),
    ("sum: a string dim", lambda: matrix().sum(dim="a"), TypeError, "argument 'dim' must be"),
    ("sum: both dim and axis", lambda: matrix().sum(dim=0, axis=1), TypeError,
     "pass dim or axis, not both"),
    ("mean: dim out of range", lambda: matrix().mean(-3), IndexError, "Dimension out of range"),
    ("prod: dim out of range", lambda: matrix().prod(2), IndexError, "Dimension out of range"),
    ("max: dim out of range", lambda: matrix().max(dim=5), IndexError, "Dimension out of range"),
    ("max: dim=1.5", lambda: matrix().max(dim=1.5), TypeError, "argument 'dim' must be"),
    ("max: a tuple of dims", lambda: matrix().max(dim=(0, 1)), TypeError, "use amax"),
    ("max: two tensors of shapes (3,) and (4,)", lambda: cr.max(cr.ones(3), cr.ones(4)),
     RuntimeError, "The size of tensor a (3) must match"),
    ("max: an empty tensor", lambda: cr.zeros(0).max(), RuntimeError,
     "Expected reduction dim to be specified for input.numel() == 0"),
    ("amax: dim out of range", lambda: matrix().amax(2), IndexError, "Dimension out of range"),
    ("softmax: dim out of range", lambda: cr.softmax(matrix(), dim=3), IndexError,
     "Dimension out of range"),
    ("softmax: a tuple of dims", lambda: cr.softmax(matrix(), dim=(0, 1)), TypeError,
     "argument 'dim' must be int"),
    ("std: dim=1.0", lambda: matrix().std(dim=1.0), TypeError, "argument 'dim' must be"),
    ("var: dim out of range", lambda: matrix().var(dim=2), IndexError, "Dimension out of range"),
    ("cumsum: dim=0.5", lambda: cr.cumsum(matrix(), dim=0.5), TypeError,
     "argument 'dim' must be int"),
    ("argmax: dim=0.5", lambda: matrix().argmax(dim=0.5), TypeError,
     "argument 'dim' must be int"),
    ("argmax: a tuple of dims", lambda: matrix().argmax(dim=(0, 1)), TypeError,
     "argument 'dim' must be int"),
    ("all: dim out of range", lambda: (matrix() > 0).all(dim=3), IndexError,
     "Dimension out of range"),
    ("sort: a string dim", lambda: cr.sort(matrix(), dim="a"), TypeError,
     "argument 'dim' must be int"),
    ("logsumexp: dim out of range", lambda: cr.logsumexp(matrix(), dim=4), IndexError,
     "Dimension out of range"),
    ("norm: p='bad'", lambda: matrix().norm(p="bad"), RuntimeError, "Order 'bad' not supported"),
    ("norm: dim out of range", lambda: matrix().norm(dim=5), IndexError,
     "Dimension out of range"),
    # ---------------------------------------------------------------------------------------
    # shapes
    ("reshape: 6 elements into (4, 4)", lambda: matrix().reshape(4, 4), RuntimeError,
     "shape '[4, 4]' is invalid for input of size 6"),
    ("reshape: (5, -1) for 6 elements", lambda: matrix().reshape(5, -1), RuntimeError,
     "shape '[5, -1]' is invalid for input of size 6"),
    ("reshape: chainrule.reshape of a list", lambda: cr.reshape([1.0, 2.0, 3.0, 4.0], (5,)),
     RuntimeError, "shape '[5]' is invalid for input of size 4"),
    ("view: two sizes -1", lambda: matrix().view(-1, -1), RuntimeError,
     "only one dimension can be inferred"),
    ("reshape: size -2", lambda: matrix().reshape(-2, 3), RuntimeError,
     "invalid shape dimension -2"),
    ("reshape: a float size", lambda: matrix().reshape(2.5, 2), TypeError,
     "argument 'shape' must be a tuple of ints"),
    ("reshape: a tuple and an int", lambda: matrix().reshape((2, 3), 1), TypeError,
     "must be a tuple of ints"),
    ("view: a dtype", lambda: matrix().view(cr.float64), NotImplementedError,
     "use .to(dtype)"),
    ("expand: (2, 3) to (3, 4)", lambda: matrix().expand(3, 4), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
     "dimension 1"),
    ("expand: fewer sizes than dimensions", lambda: matrix().expand(2), RuntimeError,
     "the number of sizes provided (1) must be greater or equal to the number of dimensions"),
    ("expand: -1 in a new leading dimension", lambda: matrix().expand(-1, 2, 3), RuntimeError,
     "isn't allowed in a leading, non-existing dimension 0"),
    ("expand: a float size", lambda: cr.ones(3).expand(2.5, 3), TypeError,
     "must be a tuple of ints"),
    ("broadcast_to: (3,) to (2, 4)", lambda: cr.broadcast_to(cr.ones(3), (2, 4)), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (3)"),
    ("permute: a repeated dim", lambda: matrix().permute(0, 0), RuntimeError,
     "duplicate dims are not allowed"),
    ("permute: too few dims", lambda: matrix().permute(0), RuntimeError,
     "input.dim() = 2 is not equal to len(dims) = 1"),
    ("permute: dim out of range", lambda: matrix().permute(0, 2), IndexError,
     "Dimension out of range"),
    ("transpose: dim out of range", lambda: matrix().transpose(0, 2), IndexError,
     "Dimension out of range"),
    ("squeeze: dim out of range", lambda: matrix().squeeze(3), IndexError,
     "Dimension out of range"),
    ("squeeze: dim=0.5", lambda: cr.ones(1, 3).squeeze(0.5), TypeError, "argument 'dim'"),
    ("unsqueeze: dim out of range", lambda: matrix().unsqueeze(4), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 4)"),
    ("unsqueeze: dim=1.5", lambda: matrix().unsqueeze(1.5), TypeError,
     "argument 'dim' must be int"),
    ("flatten: start_dim after end_dim", lambda: cr.ones(2, 3, 4).flatten(2, 0), RuntimeError,
     "start_dim cannot come after end_dim"),
    ("cat: sizes that differ", lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)]), RuntimeError,
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     "tensor number 1 in the list"),
    ("cat: different numbers of dimensions", lambda: cr.cat([cr.ones(2, 3), cr.ones(3)]),
     RuntimeError, "Tensors must have same number of dimensions: got 2 and 1"),
    ("cat: a 1-D tensor along dim 1", lambda: cr.cat([cr.ones(2, 3), cr.ones(2)], dim=1),
     RuntimeError, "Tensors must have same number of dimensions: got 2 and 1"),
    ("cat: an empty list", lambda: cr.cat([]), ValueError,
     "expected a non-empty list of Tensors"),
    ("cat: tensors not in a list", lambda: cr.cat(cr.ones(2), cr.ones(2)), TypeError,
     "must be a tuple or list of Tensors"),
    ("cat: dim out of range", lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 3)], dim=2),
     IndexError, "Dimension out of range"),
    ("cat: zero-dimensional tensors", lambda: cr.cat([cr.tensor(1.0), cr.tensor(2.0)]),
     RuntimeError, "zero-dimensional tensor (at position 0) cannot be concatenated"),
    ("stack: shapes that differ", lambda: cr.stack([cr.ones(2, 3), cr.ones(3, 2)]),
     RuntimeError, "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and "
     "[3, 2] at entry 1"),
    ("stack: an empty list", lambda: cr.stack([]), RuntimeError,
     "stack expects a non-empty TensorList"),
    ("stack: dim out of range", lambda: cr.stack([cr.ones(2), cr.ones(2)], dim=3), IndexError,
     "Dimension out of range"),
    ("split: split_size 0", lambda: cr.ones(2).split(0), RuntimeError,
     "split_size can only be 0 if dimension size is 0"),
    ("split: sizes that do not add up", lambda: cr.ones(3).split([1, 1]), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3"),
    ("split: a negative section", lambda: cr.ones(4).split([5, -1]), RuntimeError,
     "only non-negative entries"),
    ("split: a float size", lambda: cr.ones(4).split(1.5), TypeError,
     "must be an int or a list of ints"),
    ("chunk: 0 chunks", lambda: cr.ones(4).chunk(0), RuntimeError,
     "chunk expects `chunks` to be greater than 0"),
    ("chunk: a float number of chunks", lambda: cr.ones(4).chunk(1.5), TypeError,
     "argument 'chunks' must be int"),
    ("t: a 3-D tensor", lambda: cr.ones(2, 3, 4).t(), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    ("mT: a 1-D tensor", lambda: cr.ones(3).mT, RuntimeError,
     "tensor.mT is only supported on matrices or batches of matrices"),
    ("repeat: fewer repeats than dims", lambda: matrix().repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
     "tensor"),
    ("repeat: a float repeat", lambda: cr.ones(3).repeat(2.5), TypeError,
     "must be a tuple of ints"),
    ("tile: a float repeat", lambda: cr.ones(2).tile(1.5), TypeError, "must be a tuple of ints"),
    ("flip: dim out of range", lambda: matrix().flip(3), IndexError, "Dimension out of range"),
    ("flip: a repeated dim", lambda: matrix().flip((0, 0)), RuntimeError,
     "appears multiple times"),
    # ---------------------------------------------------------------------------------------
    # indexing and setitem
    ("getitem: index 5 of a size 3", lambda: cr.ones(3)[5], IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("getitem: index -4 of a size 3", lambda: cr.ones(3)[-4], IndexError,
     "index -4 is out of bounds for dimension 0 with size 3"),
    ("getitem: index 5 in dimension 1", lambda: matrix()[0, 5], IndexError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    ("getitem: too many indices", lambda: matrix()[0, 0, 0], IndexError,
     "too many indices for tensor of dimension 2"),
    ("getitem: a float index", lambda: cr.ones(3)[1.5], IndexError,
     "are valid indices (got float)"),
    ("getitem: a boolean mask of the wrong length", lambda: cr.ones(3)[cr.tensor([True, False])],
     IndexError, "The shape of the mask [2] at index 0 does not match the shape of the indexed "
     "tensor [3] at index 0"),
    ("getitem: a tensor index out of range", lambda: cr.ones(3)[cr.tensor([0, 5])], IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("getitem: a float tensor as index", lambda: cr.ones(3)[cr.ones(3)], IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    ("getitem: index lists that do not broadcast", lambda: matrix()[[0, 1], [0, 1, 2]],
     IndexError, "shape mismatch: indexing tensors could not be broadcast together with shapes "
     "[2], [3]"),
    ("getitem: indexing a 0-d tensor", lambda: cr.tensor(1.0)[0], IndexError,
     "invalid index of a 0-dim tensor"),
    ("setitem: a value of the wrong shape", lambda: assign(0, cr.ones(4)), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (4)"),
    ("setitem: index out of range", lambda: assign(5, 1.0), IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("setitem: a string value", lambda: assign(0, "a"), TypeError, "can't assign a str"),
    ("setitem: into a leaf that requires grad", lambda: leaf().__setitem__(0, 1.0),
     RuntimeError, "a leaf Variable that requires grad is being used in an in-place operation"),
    # ---------------------------------------------------------------------------------------
    # products
    ("matmul: (2, 3) @ (4, 5)", lambda: cr.ones(2, 3) @ cr.ones(4, 5), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("matmul: vectors of sizes 3 and 4", lambda: cr.matmul(cr.ones(3), cr.ones(4)),
     RuntimeError, "inconsistent tensor size, expected tensor [3] and src [4]"),
    ("matmul: (2, 3) @ a vector of 4", lambda: cr.matmul(cr.ones(2, 3), cr.ones(4)),
     RuntimeError, "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("matmul: a vector of 3 @ (4, 2)", lambda: cr.matmul(cr.ones(3), cr.ones(4, 2)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)"),
    ("matmul: batch sizes 2 and 3", lambda: cr.matmul(cr.ones(2, 2, 3), cr.ones(3, 3, 4)),
     RuntimeError, "The size of tensor a (2) must match the size of tensor b (3)"),
    ("matmul: a 0-d tensor", lambda: cr.matmul(cr.tensor(2.0), cr.ones(3)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    ("matmul: a Python number", lambda: cr.matmul(cr.ones(3), 2.0), TypeError,
     "argument 'other' must be a Tensor, not float"),
    ("matmul: an ndarray @ a tensor", lambda: np.ones((2, 3)) @ cr.ones(4, 5), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("mm: vectors", lambda: cr.mm(cr.ones(3), cr.ones(3)), RuntimeError,
     "both arguments must be 2-D matrices, but got 1-D and 1-D"),
    ("mm: (2, 3) and (4, 5)", lambda: cr.mm(cr.ones(2, 3), cr.ones(4, 5)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("mv: (2, 3) and a vector of 4", lambda: cr.mv(cr.ones(2, 3), cr.ones(4)), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("mv: a matrix for the vector", lambda: cr.mv(cr.ones(2, 3), cr.ones(3, 1)), RuntimeError,
     "expected a 2-D matrix and a 1-D vector"),
    ("dot: sizes 3 and 4", lambda: cr.dot(cr.ones(3), cr.ones(4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements"),
    ("dot: matrices", lambda: cr.dot(cr.ones(2, 2), cr.ones(2, 2)), RuntimeError,
     "1D tensors expected, but got 2D and 2D tensors"),
    ("outer: a matrix", lambda: cr.outer(cr.ones(2, 2), cr.ones(2)), RuntimeError,
     "1D tensors expected"),
    ("einsum: j of sizes 3 and 4", lambda: cr.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(4, 5)),
     RuntimeError, "subscript j has size 4 for operand 1 which does not broadcast with "
     "previously seen size 3"),
    ("einsum: an output subscript not in the inputs", lambda: cr.einsum("ij->ik", cr.ones(2, 3)),
     RuntimeError, "output subscript k does not appear in the equation for any input operand"),
    ("einsum: fewer operands than the equation",
     lambda: cr.einsum("ij,jk->ik", cr.ones(2, 3)), RuntimeError,
     "fewer operands were provided than specified in the equation"),
    ("einsum: more operands than the equation",
     lambda: cr.einsum("ij->ij", cr.ones(2, 3), cr.ones(2, 3)), RuntimeError,
     "more operands were provided than specified in the equation"),
    ("einsum: too many subscripts", lambda: cr.einsum("ijk->i", cr.ones(2, 3)), RuntimeError,
     "the number of subscripts in the equation (3) does not match the number of dimensions (2)"),
    ("einsum: a character that is not a letter", lambda: cr.einsum("i$->i", cr.ones(2, 3)),
     RuntimeError, "invalid subscript given at index 1 in the equation string"),
    ("tensordot: sizes 3 and 4", lambda: cr.tensordot(cr.ones(2, 3), cr.ones(4, 5), dims=1),
     RuntimeError, "contracted dimensions need to match, but first has size 3 in dim 1 and "
     "second has size 4 in dim 0"),
    ("tensordot: more dims than the tensors have",
     lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 5), dims=3), RuntimeError,
     "but got dims=3"),
    # ---------------------------------------------------------------------------------------
    # linear algebra
    ("linalg.inv: a 2 by 3 matrix", lambda: cr.linalg.inv(cr.ones(2, 3)), RuntimeError,
     "A must be batches of square matrices, but they are 2 by 3 matrices"),
    ("linalg.inv: a vector", lambda: cr.linalg.inv(cr.ones(3)), RuntimeError,
     "The input tensor A must have at least 2 dimensions"),
    ("linalg.inv: a singular matrix", lambda: cr.linalg.inv(cr.zeros(2, 2)), RuntimeError,
     "singular"),
    ("linalg.det: a 2 by 3 matrix", lambda: cr.linalg.det(cr.ones(2, 3)), RuntimeError,
     "A must be batches of square matrices"),
    ("linalg.det: a vector", lambda: cr.linalg.det(cr.ones(3)), RuntimeError,
     "must have at least 2 dimensions"),
    ("linalg.slogdet: a vector", lambda: cr.linalg.slogdet(cr.ones(3)), RuntimeError,
     "must have at least 2 dimensions"),
    ("linalg.solve: B with 3 rows for a 2 by 2 A", lambda: cr.linalg.solve(cr.eye(2), cr.ones(3)),
     RuntimeError, "Incompatible shapes of A and B for the equation AX = B (2x2 and 3x1)"),
    ("linalg.solve: A not square", lambda: cr.linalg.solve(cr.ones(2, 3), cr.ones(2)),
     RuntimeError, "A must be batches of square matrices"),
    ("linalg.solve: a singular A", lambda: cr.linalg.solve(cr.zeros(2, 2), cr.ones(2)),
     RuntimeError, "The solver failed because the input matrix is singular"),
    ("linalg.cholesky: a matrix that is not positive-definite",
     lambda: cr.linalg.cholesky(cr.tensor([[1.0, 2.0], [2.0, 1.0]])), RuntimeError,
     "not positive-definite"),
    ("linalg.cholesky: a 2 by 3 matrix", lambda: cr.linalg.cholesky(cr.ones(2, 3)),
     RuntimeError, "A must be batches of square matrices"),
    ("linalg.eigh: a 2 by 3 matrix", lambda: cr.linalg.eigh(cr.ones(2, 3)), RuntimeError,
     "A must be batches of square matrices"),
    ("linalg.eigvalsh: a vector", lambda: cr.linalg.eigvalsh(cr.ones(3)), RuntimeError,
     "must have at least 2 dimensions"),
    ("linalg.matrix_norm: a vector", lambda: cr.linalg.matrix_norm(cr.ones(3)), RuntimeError,
     "The input tensor A must have at least 2 dimensions"),
    ("linalg.matrix_norm: ord=3", lambda: cr.linalg.matrix_norm(cr.ones(2, 2), ord=3),
     RuntimeError, "Order 3 not supported"),
    ("linalg.vector_norm: dim out of range", lambda: cr.linalg.vector_norm(cr.ones(3), dim=2),
     IndexError, "Dimension out of range"),
    ("linalg.vector_norm: ord='bad'", lambda: cr.linalg.vector_norm(cr.ones(3), ord="bad"),
     TypeError, "argument 'ord' must be a number, not str"),
    ("linalg.norm: ord for a 3-D tensor", lambda: cr.linalg.norm(cr.ones(2, 2, 2), ord=2),
     RuntimeError, "If dim is not specified but ord is, the input must be 1D or 2D"),
    # ---------------------------------------------------------------------------------------
    # autograd
    ("backward: a non-scalar output", lambda: (leaf() * 2).backward(), RuntimeError,
     "grad can be implicitly created only for scalar outputs"),
    ("backward: nothing requires grad", lambda: cr.ones(3).sum().backward(), RuntimeError,
     "element 0 of tensors does not require grad and does not have a grad_fn"),
    ("backward: twice", backward_twice, RuntimeError,
     "Trying to backward through the graph a second time"),
    ("backward: a gradient of the wrong shape", lambda: (leaf() * 2).backward(cr.ones(2)),
     RuntimeError, "Mismatch in shape: grad_output[0] has a shape of (2,)"),
    ("backward: a list as the gradient", lambda: (leaf() * 2).backward([1.0, 1.0, 1.0]),
     TypeError, "gradients can be either Tensors or None, but got float"),
    ("autograd.grad: an input the output does not use", grad_of_unused_input, RuntimeError,
     "appears to not have been used in the graph. Set allow_unused=True"),
    ("autograd.grad: a non-scalar output", lambda: cr.autograd.grad(leaf() * 2, [leaf()]),
     RuntimeError, "grad can be implicitly created only for scalar outputs"),
    ("autograd.grad: an input that does not require grad",
     lambda: cr.autograd.grad((leaf() * 2).sum(), [cr.ones(3)]), RuntimeError,
     "One of the differentiated Tensors does not require grad"),
    ("autograd.grad: a number as the inputs", lambda: cr.autograd.grad((leaf() * 2).sum(), 2.0),
     TypeError, "inputs must be a Tensor or a sequence of Tensors"),
    ("autograd.grad: a number as the outputs", lambda: cr.autograd.grad(3, [leaf()]), TypeError,
     "outputs must be a Tensor or a sequence of Tensors"),
    ("hook: returns a scalar", lambda: backward_with_hook(lambda g: g.sum()), RuntimeError,
     "has changed the size of value"),
    ("hook: returns a string", lambda: backward_with_hook(lambda g: "a"), TypeError,
     "must return a Tensor or None"),
    ("hook: returns another dtype", lambda: backward_with_hook(lambda g: g.double()),
     RuntimeError, "has changed the type of value"),
    ("requires_grad_: an integer tensor", lambda: cr.tensor([1, 2]).requires_grad_(),
     RuntimeError, "only Tensors of floating point and complex dtype can require gradients"),
    ("requires_grad: False on a non-leaf", lambda: setattr(leaf() * 2, "requires_grad", False),
     RuntimeError, "you can only change requires_grad flags of leaf variables"),
    ("register_hook: a tensor that does not require grad",
     lambda: cr.ones(3).register_hook(lambda g: g), RuntimeError,
     "cannot register a hook on a tensor that doesn't require gradient"),
    ("retain_grad: a tensor that does not require grad", lambda: cr.ones(3).retain_grad(),
     RuntimeError, "can't retain_grad on Tensor that has requires_grad=False"),
    ("grad: assigning a gradient of the wrong shape", lambda: setattr(leaf(), "grad", cr.ones(4)),
     RuntimeError, "attempting to assign a gradient of shape (4,) to a tensor of shape (3,)"),
    ("numpy: a tensor that requires grad", lambda: leaf().numpy(), RuntimeError,
     "Use tensor.detach().numpy() instead"),
    # ---------------------------------------------------------------------------------------
    # devices and dtypes, and Python conversions
    ("to: 'cuda'", lambda: cr.ones(3).to("cuda"), RuntimeError, "chainrule runs on the CPU"),
    ("to: 'cuda:0'", lambda: cr.ones(3).to("cuda:0"), RuntimeError,
     "chainrule runs on the CPU"),
    ("to: device='cuda'", lambda: cr.ones(3).to(device="cuda"), RuntimeError,
     "chainrule runs on the CPU"),
    ("to: a word that is neither dtype nor device", lambda: cr.ones(3).to("banana"),
     RuntimeError, "is neither a dtype"),
    ("to: dtype='banana'", lambda: cr.ones(3).to(dtype="banana"), TypeError, "is not a dtype"),
    ("cuda: a tensor", lambda: cr.ones(3).cuda(), RuntimeError, "chainrule runs on the CPU"),
    ("item: 3 elements", lambda: cr.ones(3).item(), RuntimeError,
     "a Tensor with 3 elements cannot be converted to Scalar"),
    ("bool: 3 elements", lambda: bool(cr.ones(3)), RuntimeError,
     "Boolean value of Tensor with more than one value is ambiguous"),
    ("bool: `if` on a comparison of 3 elements", lambda: 1 if cr.ones(3) > 0 else 0,
     RuntimeError, "more than one value is ambiguous"),
    ("bool: an empty tensor", lambda: bool(cr.zeros(0)), RuntimeError,
     "Boolean value of Tensor with no values is ambiguous"),
    ("float: 3 elements", lambda: float(cr.ones(3)), ValueError,
     "only one element tensors can be converted to Python scalars"),
    ("int: 3 elements", lambda: int(cr.ones(3)), ValueError,
     "only one element tensors can be converted to Python scalars"),
    ("len: a 0-d tensor", lambda: len(cr.tensor(1.0)), TypeError, "len() of a 0-d tensor"),
    ("iter: a 0-d tensor", lambda: iter(cr.tensor(1.0)), TypeError,
     "iteration over a 0-d tensor"),
    ("size: dim out of range", lambda: cr.ones(3).size(5), IndexError, "Dimension out of range"),
    ("size: dim=0.5", lambda: cr.ones(3).size(0.5), TypeError, "argument 'dim' must be int"),
    ("format: '.2f' for 2 elements", lambda: f"{cr.ones(2):.2f}", TypeError,
     "unsupported format string passed to Tensor.__format__"),
    # ---------------------------------------------------------------------------------------
    # chainrule.func
    ("func.grad: a vector output", lambda: func.grad(lambda x: x * 2)(np.ones(3)), TypeError,
     "Gradient only defined for scalar-output functions"),
    ("func.grad: an output that is a string", lambda: func.grad(lambda x: "a")(np.ones(3)),
     TypeError, "Gradient only defined for scalar-output functions"),
    ("func.grad: integer inputs", lambda: func.grad(lambda x: (x * 2).sum())(np.array([1, 2])),
     TypeError, "requires real-valued inputs"),
    ("func.grad: argnums out of range",
     lambda: func.grad(lambda x: x.sum(), argnums=2)(np.ones(3)), ValueError,
     "argnums out of range"),
    ("func.grad: of a value, not a function", lambda: func.grad(42), TypeError,
     "Expected a callable value"),
    ("func.grad: has_aux without a pair",
     lambda: func.grad(lambda x: x.sum(), has_aux=True)(np.ones(3)), TypeError,
     "f must return a pair (output, aux)"),
    ("func.vjp: a cotangent of the wrong shape",
     lambda: func.vjp(lambda x: x * 2, np.ones(3))[1](np.ones(4)), ValueError,
     "cotangent of shape (4,) for an output of shape (3,)"),
    ("func.vjp: a cotangent of the wrong structure",
     lambda: func.vjp(lambda x: x * 2, np.ones(3))[1]((np.ones(3), np.ones(3))), ValueError,
     "the cotangent must have the structure of the output"),
    ("func.jvp: primals that are not a tuple",
     lambda: func.jvp(lambda x: x * 2, np.ones(3), np.ones(3)), TypeError,
     "primals and tangents must be tuples"),
    ("func.jvp: a tangent of the wrong shape",
     lambda: func.jvp(lambda x: x * 2, (np.ones(3),), (np.ones(4),)), ValueError,
     "tangent of shape (4,) for a primal of shape (3,)"),
    ("func.jvp: more tangents than primals",
     lambda: func.jvp(lambda x: x * 2, (np.ones(3),), (np.ones(3), np.ones(3))), ValueError,
     "1 primals but 2 tangents"),
    ("func.jvp: a tangent of another dtype",
     lambda: func.jvp(lambda x: x * 2, (np.ones(3),), (np.ones(3, np.float32),)), TypeError,
     "tangent dtype float32 does not match primal dtype float64"),
    ("func.jacrev: integer inputs", lambda: func.jacrev(lambda x: x * 2)(np.array([1, 2])),
     TypeError, "requires real-valued inputs"),
    ("func.hvp: a vector output",
     lambda: func.hvp(lambda x: x * 2, (np.ones(3),), (np.ones(3),)), TypeError,
     "f must return a scalar"),
    ("func.jacobian: an unknown mode", lambda: func.jacobian(lambda x: x, mode="x"), ValueError,
     "mode must be 'auto', 'fwd' or 'rev'"),
    # ---------------------------------------------------------------------------------------
    # chainrule.numpy (NumPy's exception types: its users catch those)
    ("numpy.sum: axis out of range", lambda: cnp.sum(cr.ones(2), axis=3), IndexError,
     "Dimension out of range"),
    ("numpy.sum: axis=0.5", lambda: cnp.sum(cr.ones(2), axis=0.5), TypeError,
     "must be an int or a tuple of ints"),
    ("numpy.mean: out=", lambda: cnp.mean(cr.ones(2), out=np.zeros(())), TypeError,
     "unsupported arguments ['out']"),
    ("numpy.ravel: order='F'", lambda: cnp.ravel(cr.ones(2, 3), order="F"), TypeError,
     "unexpected keyword argument 'order'"),
    ("numpy.add: shapes (3,) and (4,)", lambda: cnp.add(cr.ones(3), cr.ones(4)), ValueError,
     "could not be broadcast together with shapes (3,) (4,)"),
    ("numpy.dot: sizes 3 and 2", lambda: cnp.dot(cr.ones(3), cr.ones(2)), ValueError,
     "inconsistent tensor size"),
    ("numpy.matmul: (2, 3) and (4, 2)", lambda: cnp.matmul(cr.ones(2, 3), cr.ones(4, 2)),
     ValueError, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    ("numpy.reshape: 3 elements into (2, 2)", lambda: cnp.reshape(cr.ones(3), (2, 2)),
     ValueError, "shape '[2, 2]' is invalid for input of size 3"),
    ("numpy.concatenate: sizes that differ",
     lambda: cnp.concatenate([cr.ones(2, 3), cr.ones(2, 4)]), ValueError,
     "Sizes of tensors must match except in dimension 0"),
    ("numpy.einsum: j of sizes 3 and 4",
     lambda: cnp.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(4, 5)), ValueError,
     "subscript j has size 4"),
    ("numpy.linalg.norm: ord='bad'", lambda: cnp.linalg.norm(cr.ones(3), ord="bad"), ValueError,
     "Invalid norm order 'bad' for vectors"),
    ("numpy.linalg.inv: a 2 by 3 matrix", lambda: cnp.linalg.inv(cr.ones(2, 3)), ValueError,
     "must be square"),
    ("numpy.median: a function without a rule", lambda: np.median(cr.ones(2)), TypeError,
     "has no differentiation rule in chainrule"),
    ("numpy.sin: out=", lambda: np.sin(cr.ones(1), out=np.zeros(1)), TypeError,
     "functions with out=... arguments don't support automatic differentiation"),
]

# Messages that would mean an error escaped unexplained: NumPy's or Python's internal words.
INTERNAL = ("is not iterable", "cannot be interpreted as an integer", "not supported between "
            "instances of", "has no attribute", "object is not callable", "gufunc",
            "did not contain a loop", "remapped shapes", "newaxis", "not aligned",
            "inhomogeneous", "float division by zero", "division or modulo by zero",
            "tuple index out of range")


def test_the_catalogue_is_large():
    assert len(ERRORS) >= 120
    assert len({called for called, *_ in ERRORS}) == len(ERRORS)  # each entry says what it is


@pytest.mark.parametrize(("called", "call", "kind", "phrase"), ERRORS,
                         ids=[entry[0] for entry in ERRORS])
def test_a_bad_input_gets_a_helpful_error(called, call, kind, phrase):
    with pytest.raises(Exception) as caught:
        call()
    err = caught.value
    message = str(err)
    assert isinstance(err, kind), f"{type(err).__name__} instead of {kind.__name__}: {message}"
    assert phrase in message, message
    name = called.split(":")[0].rsplit(".", 1)[-1].rstrip("_")
    assert name in message, f"the message does not name {name!r}: {message}"
    assert not any(text in message for text in INTERNAL), message


# ---------------------------------------------------------------------------------------------
# Odd-looking calls that are right: PyTorch's results, no error


NOT_ERRORS = [
    ("arange: an empty range", lambda: cr.arange(0).tolist(), []),
    ("arange: a descending range", lambda: cr.arange(5, 0, -2).tolist(), [5, 3, 1]),
    ("arange: a float step", lambda: cr.arange(0, 1, 0.25).tolist(), [0.0, 0.25, 0.5, 0.75]),
    ("zeros: a size of 0", lambda: cr.zeros(0).shape, (0,)),
    ("zeros: device='cpu'", lambda: cr.zeros(2, device="cpu").tolist(), [0.0, 0.0]),
    ("to: 'cpu'", lambda: cr.ones(2).to("cpu").tolist(), [1.0, 1.0]),
    ("to: 'cpu' and a dtype", lambda: str(cr.ones(2).to("cpu", cr.float64).dtype), "float64"),
    ("tensor: complex values without requires_grad", lambda: str(cr.tensor([1 + 2j]).dtype),
     "complex64"),
    ("sum: dim as a NumPy integer", lambda: cr.ones(2, 3).sum(np.int64(1)).tolist(), [3.0, 3.0]),
    ("reshape: sizes as NumPy integers", lambda: cr.arange(6.0).reshape(np.int64(2), 3).shape,
     (2, 3)),
    ("expand: -1 keeps a size", lambda: cr.ones(3).expand(2, -1).shape, (2, 3)),
    ("add: (1, 3) and (2, 1) broadcast", lambda: (cr.ones(1, 3) + cr.ones(2, 1)).shape, (2, 3)),
    ("squeeze: a dim of size 2 is left alone", lambda: cr.ones(2, 3).squeeze(0).shape, (2, 3)),
    ("float: one element in a 2-D tensor", lambda: float(cr.tensor([[2.5]])), 2.5),
    ("getitem: a 0-d integer tensor as index", lambda: cr.arange(3.0)[cr.tensor(1)].item(), 1.0),
    ("getitem: a new axis and an ellipsis", lambda: cr.ones(2, 3)[None, ..., 0].shape, (1, 2)),
    ("matmul: a vector @ a matrix", lambda: (cr.ones(3) @ cr.ones(3, 2)).tolist(), [3.0, 3.0]),
    ("cat: an empty tensor joins", lambda: cr.cat([cr.zeros(0), cr.ones(2)]).tolist(),
     [1.0, 1.0]),
    ("split: sizes that add up", lambda: [p.shape for p in cr.ones(3).split([1, 2])],
     [(1,), (2,)]),
    ("div: integer floor division", lambda: (cr.tensor([7, -7]) // 2).tolist(), [3, -4]),
    ("randint: the only value", lambda: cr.randint(0, 1, (2,)).tolist(), [0, 0]),
    ("linspace: one step", lambda: cr.linspace(0, 1, 1).tolist(), [0.0]),
]


@pytest.mark.parametrize(("called", "call", "expected"), NOT_ERRORS,
                         ids=[entry[0] for entry in NOT_ERRORS])
def test_an_odd_but_valid_call_gives_pytorchs_result(called, call, expected):
    assert call() == expected
