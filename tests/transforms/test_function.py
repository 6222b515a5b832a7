"""``chainrule.autograd.Function``: user-defined primitives with PyTorch's semantics.

Gradients are checked with gradcheck/gradgradcheck (float64), tangents against central finite
differences, and every misuse against the key phrase of its error.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.autograd.function import Function, FunctionCtx

RNG = np.random.default_rng(0)


def f64(values, requires_grad=True):
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------
# Functions used below


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x.cos()

    @staticmethod
    def jvp(ctx, x_tangent):
        (x,) = ctx.saved_tensors
        return x_tangent * x.cos()


class Exp(Function):
    """Saves its output; single gradient returned bare."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y

    @staticmethod
    def jvp(ctx, x_tangent):
        return x_tangent * ctx.saved_tensors[0]


class Mul(Function):
    """Two inputs; counts its backward calls."""

    calls = 0

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad_output):
        Mul.calls += 1
        x, y = ctx.saved_tensors
        return grad_output * y, grad_output * x

    @staticmethod
    def jvp(ctx, x_tangent, y_tangent):
        x, y = ctx.saved_tensors
        return x_tangent * y + x * y_tangent


class Pow(Function):
    """Non-Tensor arguments: an int exponent and a string, passed through to forward."""

    seen = None

    @staticmethod
    def forward(ctx, x, n, label):
        Pow.seen = (type(n), label)
        ctx.n = n
        ctx.save_for_backward(x)
        return x ** n

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.n * x ** (ctx.n - 1), None, None

    @staticmethod
    def jvp(ctx, x_tangent, n_tangent, label_tangent):
        assert n_tangent is None and label_tangent is None
        (x,) = ctx.saved_tensors
        return x_tangent * ctx.n * x ** (ctx.n - 1)


class Double(Function):
    """Saves nothing."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2


def make(backward, forward=None, name="Bad"):
    """A one-input Function with the given backward (forward: x * 2 unless given)."""
    body = {"forward": staticmethod(forward or (lambda ctx, x: x * 2)),
            "backward": staticmethod(backward)}
    return type(name, (Function,), body)


# --------------------------------------------------------------------------------------------
# Gradients: gradcheck and gradgradcheck in float64


def test_custom_sin_passes_gradcheck_and_gradgradcheck():
    x = f64(RNG.standard_normal(5))
    assert gradcheck(Sin.apply, (x,))
    assert gradgradcheck(Sin.apply, (x,))
    assert gradgradcheck(lambda t: Sin.apply(Sin.apply(t) * t), (x,))  # composed, reused


def test_two_input_custom_mul_passes_gradcheck_and_gradgradcheck():
    x, y = f64(RNG.standard_normal((2, 3))), f64(RNG.standard_normal((2, 3)))
    assert gradcheck(Mul.apply, (x, y))
    assert gradgradcheck(Mul.apply, (x, y))


def test_saved_output_is_differentiated_again_with_create_graph():
    x = f64(RNG.standard_normal(4))
    assert gradcheck(Exp.apply, (x,))
    assert gradgradcheck(Exp.apply, (x,))


def test_non_tensor_arguments_pass_through_and_get_no_gradient():
    x = f64(RNG.uniform(0.5, 2.0, 4))
    assert gradcheck(lambda t: Pow.apply(t, 3, "cube"), (x,))
    assert gradgradcheck(lambda t: Pow.apply(t, 3, "cube"), (x,))
    assert Pow.seen == (int, "cube")


def test_second_derivative_in_closed_form():
    x = f64([0.3, -1.1, 2.0])
    (g,) = cr.autograd.grad(Sin.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g.detach().numpy(), np.cos(x.detach().numpy()))
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), -np.sin(x.detach().numpy()))


def test_gradgradcheck_fails_for_a_backward_computed_outside_chainrule():
    """With create_graph, only a backward written with chainrule operations is differentiated."""

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cr.tensor(np.cos(x.detach().numpy()))

    Opaque = make(backward, forward=lambda ctx, x: (ctx.save_for_backward(x), x.sin())[1])
    x = f64(RNG.standard_normal(3))
    assert gradcheck(Opaque.apply, (x,))
    assert not gradgradcheck(Opaque.apply, (x,), raise_exception=False)


def test_same_tensor_twice_and_broadcast_gradient_summed():
    x = f64([1.0, 2.0])
    Mul.apply(x, x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])

    def backward(ctx, g):  # a gradient of the broadcast shape (3, 2) for an input of shape (2,)
        return g.reshape(1, 2) * cr.ones(3, 1, dtype=cr.float64)

    Broadcasting = make(backward)
    z = f64([1.0, 2.0])
    Broadcasting.apply(z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [3.0, 3.0])


def test_gradient_of_another_dtype_is_cast_to_the_input_dtype():
    Wide = make(lambda ctx, g: g.double() * 2)
    x = cr.ones(3, requires_grad=True)
    Wide.apply(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_autograd_grad_of_one_input_at_a_time():
    x, y = f64([1.0, 2.0]), f64([3.0, 5.0])
    z = Mul.apply(x, y)
    v = cr.tensor([1.0, 10.0], dtype=cr.float64)
    (gx,) = cr.autograd.grad(z, x, v, retain_graph=True)
    (gy,) = cr.autograd.grad(z, y, v)
    np.testing.assert_allclose(gx.numpy(), [3.0, 50.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 20.0])


def test_a_saved_tensor_returned_as_gradient_is_never_added_into():
    """The engine adds in place into arrays it believes fresh; it must not into a saved one."""

    class HalfSquare(Function):  # 0.5 * sum(x^2); gradient g * x, which is x when g == 1
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x * x).sum() * 0.5

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return x if g.item() == 1 else g * x

    values = RNG.standard_normal(5000)
    x = f64(values)
    (HalfSquare.apply(x) + HalfSquare.apply(x)).backward()
    np.testing.assert_array_equal(x.detach().numpy(), values)
    np.testing.assert_allclose(x.grad.numpy(), 2 * values)


def test_backward_runs_once_per_pass_and_gradients_accumulate():
    x, y = f64([1.0, 2.0]), f64([3.0, 4.0])
    z = Mul.apply(x, y).sum()
    Mul.calls = 0
    z.backward(retain_graph=True)
    assert Mul.calls == 1
    z.backward()
    assert Mul.calls == 2
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 4.0])


# --------------------------------------------------------------------------------------------
# Forward mode


def test_jvp_matches_finite_differences():
    x0 = RNG.standard_normal(4)
    y0 = RNG.standard_normal(4)
    tx, ty = RNG.standard_normal(4), RNG.standard_normal(4)
    eps = 1e-6

    def central(f):
        return (f(x0 + eps * tx, y0 + eps * ty) - f(x0 - eps * tx, y0 - eps * ty)) / (2 * eps)

    with fwAD.dual_level():
        dx = fwAD.make_dual(f64(x0, False), f64(tx, False))
        dy = fwAD.make_dual(f64(y0, False), f64(ty, False))
        out = Sin.apply(Mul.apply(dx, dy)) + Exp.apply(dx) + Pow.apply(dy, 3, "cube")
        tangent = fwAD.unpack_dual(out).tangent.numpy()
    expected = central(lambda a, b: np.sin(a * b) + np.exp(a) + b ** 3)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


def test_jvp_gets_zeros_for_an_input_without_tangent():
    x0, y0, tx = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 2.0])
    with fwAD.dual_level():
        dx = fwAD.make_dual(f64(x0, False), f64(tx, False))
        out = Mul.apply(dx, f64(y0, False))
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), tx * y0)


def test_jvp_under_no_grad_and_gradient_of_a_tangent():
    x = f64([0.4, 1.3])
    t = cr.tensor([1.0, -2.0], dtype=cr.float64)
    with fwAD.dual_level(), cr.no_grad():
        out = Sin.apply(fwAD.make_dual(x.detach(), t))
        assert not out.requires_grad
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(),
                                   np.cos([0.4, 1.3]) * [1.0, -2.0])
    with fwAD.dual_level():  # reverse over forward: d/dx sum(cos(x) t) = -sin(x) t
        fwAD.unpack_dual(Sin.apply(fwAD.make_dual(x, t)).sum()).tangent.backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.4, 1.3]) * [1.0, -2.0])


def test_save_for_forward_is_what_jvp_reads():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(3 * x * x)  # jvp's slope; backward saves x
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

        @staticmethod
        def jvp(ctx, t):
            (slope,) = ctx.saved_tensors
            return t * slope

    with fwAD.dual_level():
        d = fwAD.make_dual(f64([1.0, 2.0], False), f64([1.0, -1.0], False))
        np.testing.assert_allclose(fwAD.unpack_dual(Cube.apply(d)).tangent.numpy(), [3, -12])
    assert gradcheck(Cube.apply, (f64([1.0, 2.0]),))


def test_forward_over_reverse_hessian_through_functions():
    """chainrule.func's hvp/hessian differentiate the backward pass in forward mode: the
    tangents of the saved input must flow through the user's backward."""
    x0 = RNG.standard_normal(3)
    t0 = RNG.standard_normal(3)
    x, t = f64(x0, False), f64(t0, False)
    _, hv = cr.func.hvp(lambda a: Sin.apply(a).sum(), (x,), (t,))
    np.testing.assert_allclose(hv.numpy(), -np.sin(x0) * t0)
    hessian = cr.func.hessian(lambda a: Mul.apply(Sin.apply(a), a).sum())(x)
    expected = np.diag(2 * np.cos(x0) - x0 * np.sin(x0))  # (x sin x)'' = 2 cos x - x sin x
    np.testing.assert_allclose(hessian.numpy(), expected, atol=1e-12)


def test_forward_mode_without_jvp_raises_pytorchs_error():
    with fwAD.dual_level():
        d = fwAD.make_dual(cr.ones(2), cr.ones(2))
        with pytest.raises(NotImplementedError,
                           match="Trying to use forward AD with Double that does not support it"):
            Double.apply(d)
    assert Double.apply(cr.ones(2)).tolist() == [2.0, 2.0]  # without tangents: fine


def test_jvp_returning_a_wrong_shape_raises():
    class BadJvp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def jvp(ctx, t):
            return t.sum()

    with fwAD.dual_level():
        d = fwAD.make_dual(cr.ones(2), cr.ones(2))
        with pytest.raises(RuntimeError, match=r"BadJvp.jvp returned a tangent that has a "
                                               r"different size.*got \[\] but expected \[2\]"):
            BadJvp.apply(d)


# --------------------------------------------------------------------------------------------
# Graph, ctx and grad mode


def test_grad_fn_is_named_after_the_function():
    y = Exp.apply(cr.tensor([0.0, 1.0], requires_grad=True))
    assert y.grad_fn.name() == "ExpBackward"
    assert "grad_fn=<ExpBackward>" in repr(y)
    assert y.requires_grad and not y.is_leaf


def test_no_grad_does_not_record():
    x = cr.ones(2, requires_grad=True)
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(ctx.needs_input_grad)
            return x * 3

        @staticmethod
        def backward(ctx, g):
            return g * 3

    with cr.no_grad():
        y = Probe.apply(x)
    assert y.grad_fn is None and not y.requires_grad
    assert Probe.apply(cr.ones(2)).grad_fn is None  # no input requires grad
    assert seen == [(False,), (False,)]


def test_needs_input_grad_and_detached_inputs_in_forward():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen["needs"] = ctx.needs_input_grad
            seen["rg"] = (x.requires_grad, cr.is_grad_enabled())
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    Probe.apply(cr.ones(2, requires_grad=True), cr.ones(2), 2.0)
    assert seen == {"needs": (True, False, False), "rg": (False, False)}


def test_ctx_holds_arbitrary_attributes_and_materialize_grads_is_accepted():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            ctx.set_materialize_grads(False)
            return x * factor

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    x = f64([1.0, 2.0])
    assert gradcheck(lambda t: Scale.apply(t, 2.5), (x,))


def test_backward_twice_without_retain_graph_raises():
    y = Exp.apply(cr.ones(2, requires_grad=True)).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_saved_tensors_after_the_graph_was_freed_raise():
    kept = []

    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            kept.append(ctx)
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = cr.ones(2, requires_grad=True)
    y = Keep.apply(x).sum()
    y.backward(retain_graph=True)
    assert kept[0].saved_tensors[0] is x  # a saved input comes back as the tensor given to apply
    y.backward()
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        _ = kept[0].saved_tensors


def test_a_function_that_saves_nothing_can_backward_twice():
    x = cr.ones(2, requires_grad=True)
    y = Double.apply(x).sum()
    y.backward()
    y.backward()  # PyTorch: no saved tensor, nothing freed (B23)
    assert x.grad.tolist() == [4.0, 4.0]


def test_saved_intermediate_gives_first_derivatives():
    class Tanh(Function):
        @staticmethod
        def forward(ctx, x):
            t = x.tanh()
            ctx.save_for_backward(1 - t * t)  # neither input nor output
            return t

        @staticmethod
        def backward(ctx, g):
            (slope,) = ctx.saved_tensors
            return g * slope

    assert gradcheck(Tanh.apply, (f64(RNG.standard_normal(3)),))


def test_in_place_change_of_a_saved_input_or_output_raises():
    x = cr.ones(2, requires_grad=True)
    a = x * 1
    y = Sin.apply(a)
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*SinBackward"):
        y.sum().backward()

    y = Exp.apply(x * 1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*output 0 of "
                                           "ExpBackward"):
        y.sum().backward()


def test_in_place_change_of_an_unsaved_output_is_fine():
    x = cr.ones(2, requires_grad=True)
    y = Double.apply(x)
    y.mul_(3)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_output_that_is_an_input_is_copied():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = cr.ones(2)
    y = Identity.apply(x.requires_grad_())
    with cr.no_grad():
        y.mul_(5)
    assert x.tolist() == [1.0, 1.0]


def test_mark_non_differentiable_and_integer_outputs_have_no_history():
    class Argmax(Function):
        @staticmethod
        def forward(ctx, x):
            return x.argmax()

    class Rounded(Function):
        @staticmethod
        def forward(ctx, x):
            out = x.round()
            ctx.mark_non_differentiable(out)
            return out

    x = cr.tensor([1.0, 3.0, 2.0], requires_grad=True)
    assert Argmax.apply(x).item() == 1 and not Argmax.apply(x).requires_grad
    r = Rounded.apply(x)
    assert r.grad_fn is None and not r.requires_grad


def test_setup_context_style_and_keyword_arguments():
    class Scale(Function):
        @staticmethod
        def forward(x, factor=2.0):
            return x * factor

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.factor = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None

    x = f64([1.0, 2.0])
    assert Scale.forward(x.detach(), 3.0).tolist() == [3.0, 6.0]  # a plain function here
    Scale.apply(x, factor=3.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    Scale.apply(x).sum().backward()  # the default is an argument too (inputs[1])
    assert x.grad.tolist() == [5.0, 5.0]
    assert gradcheck(lambda t: Mul.apply(x=t, y=t), (x,))


def test_no_tensor_argument_gives_a_plain_tensor():
    class Range(Function):
        @staticmethod
        def forward(ctx, n):
            return cr.arange(float(n))

    out = Range.apply(3)
    assert isinstance(out, cr.Tensor) and out.tolist() == [0.0, 1.0, 2.0]


def test_exceptions_from_forward_and_backward_reach_the_caller_unchanged():
    class MyError(ValueError):
        def __init__(self, code):
            super().__init__(f"code {code}")
            self.code = code

    def fail(ctx, x):
        raise MyError(7)

    with pytest.raises(MyError, match="code 7"):
        make(lambda ctx, g: g, forward=fail).apply(cr.ones(2))

    def fail_backward(ctx, g):
        raise MyError(8)

    y = make(fail_backward).apply(cr.ones(2, requires_grad=True))
    with pytest.raises(MyError, match="code 8"):
        y.sum().backward()


def test_grad_output_is_read_only_in_a_plain_backward():
    def backward(ctx, g):
        g.mul_(2)
        return g

    y = make(backward).apply(cr.ones(2, requires_grad=True))
    v = cr.ones(2)
    with pytest.raises(RuntimeError, match="cannot write"):
        y.backward(v)  # v's own array arrives as grad_output
    assert v.tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------------------------
# Misuse


def test_wrong_number_of_gradients():
    One = type("One", (Mul,), {"backward": staticmethod(lambda ctx, g: g)})
    y = One.apply(cr.ones(2, requires_grad=True), cr.ones(2))
    with pytest.raises(RuntimeError, match=r"function OneBackward returned an incorrect number "
                                           r"of gradients \(expected 2, got 1\)"):
        y.sum().backward()
    # extra gradients are accepted when they are None, as in PyTorch
    x = cr.ones(2, requires_grad=True)
    make(lambda ctx, g: (g * 2, None, None)).apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_gradient_of_the_wrong_shape():
    Exp3 = make(lambda ctx, g: cr.ones(3), name="Exp")
    y = Exp3.apply(cr.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match=r"Function ExpBackward returned an invalid gradient at "
                                           r"index 0 - got \[3\] but expected shape compatible "
                                           r"with \[2\]"):
        y.sum().backward()


def test_gradient_that_is_not_a_tensor_or_for_a_non_tensor_input():
    y = make(lambda ctx, g: 1.0).apply(cr.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="BadBackward returned an invalid gradient at index 0 - "
                                        "expected a Tensor or None, but got float"):
        y.sum().backward()
    WithConstant = type("WithConstant", (Function,), {
        "forward": staticmethod(lambda ctx, x, k: x * k),
        "backward": staticmethod(lambda ctx, g: (g * 2, g)),
    })
    y = WithConstant.apply(cr.ones(2, requires_grad=True), 2.0)
    with pytest.raises(RuntimeError, match="WithConstantBackward returned a gradient different "
                                           "than None at position 2"):
        y.sum().backward()


def test_forward_must_return_one_tensor():
    NotATensor = make(lambda ctx, g: g, forward=lambda ctx, x: 3.0, name="NotATensor")
    with pytest.raises(TypeError, match="NotATensor.forward must return a Tensor, but it "
                                        "returned float"):
        NotATensor.apply(cr.ones(2, requires_grad=True))
    Pair = make(lambda ctx, g: g, forward=lambda ctx, x: (x * 2, x * 3), name="Pair")
    with pytest.raises(NotImplementedError, match="single output"):
        Pair.apply(cr.ones(2, requires_grad=True))


def test_function_called_without_apply():
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"use Exp.apply\(...\)"):
        Exp()(x)
    with pytest.raises(RuntimeError, match=r"use Exp.apply\(...\)"):
        Exp.forward(x)
    with pytest.raises(RuntimeError, match=r"use Exp.apply\(...\)"):
        Exp.forward(None, x)
    ctx = FunctionCtx()  # an explicit ctx may be given, as in PyTorch
    assert Exp.forward(ctx, cr.zeros(1)).tolist() == [1.0]


def test_save_for_backward_takes_tensors_only():
    Saver = make(lambda ctx, g: g, forward=lambda ctx, x: (ctx.save_for_backward(x, 3), x)[1])
    with pytest.raises(TypeError, match="save_for_backward can only save tensors, but argument "
                                        "1 is of type int"):
        Saver.apply(cr.ones(2, requires_grad=True))


def test_missing_backward_and_mark_dirty():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    y = NoBackward.apply(cr.ones(2, requires_grad=True))
    with pytest.raises(NotImplementedError, match="implement either the backward or vjp"):
        y.sum().backward()
    Dirty = make(lambda ctx, g: g, forward=lambda ctx, x: (ctx.mark_dirty(x), x)[1])
    with pytest.raises(NotImplementedError, match="mark_dirty"):
        Dirty.apply(cr.ones(2))
