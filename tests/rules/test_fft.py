"""Discrete Fourier transforms: ``chainrule.fft`` (PyTorch's names) and ``chainrule.numpy.fft``
(NumPy's), on the primitives of ``chainrule/rules/fft.py``.

``tests/rules/primitive_specs.py`` checks each primitive against central differences (both
modes, second order, complex inputs).  Here the oracles are:

* NumPy's values, bit for bit, for ``chainrule.numpy.fft`` and ``np.fft`` on Tensors;
* the Jacobian of each transform, which is R-linear, so that its columns are NumPy's values
  at the unit vectors (and at ``i`` times them): an exact gradient in both conventions;
* closed forms (Parseval's identity on the half spectrum, the roll of ``fftshift``);
* PyTorch (``.grad``, second order, forward mode, errors) and JAX (``vjp``, ``jvp``, grad of
  grad, forward over reverse), where installed.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import func

REAL_INPUT = {"rfft", "ihfft", "rfft2", "rfftn", "ihfft2", "ihfftn"}
LEGACY_NUMPY = np.lib.NumpyVersion(np.__version__) < "2.0.0"


def _sample(shape, complex_: bool, seed: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


# --------------------------------------------------------------------------------------------
# NumPy's values, bit for bit

NUMPY_CALLS = [
    ("fft", {}), ("fft", {"n": 9, "axis": 0, "norm": "ortho"}),
    ("ifft", {"n": 4, "norm": "forward"}), ("rfft", {}), ("rfft", {"n": 7, "axis": 0}),
    ("irfft", {}),
    ("irfft", {"n": 9, "norm": "ortho"}), ("irfft", {"n": 3, "axis": 0}), ("hfft", {"n": 7}),
    ("ihfft", {"n": 5, "norm": "ortho"}), ("fft2", {}), ("ifft2", {"s": (5, 3)}),
    ("fftn", {"axes": (0,)}), ("ifftn", {"s": (2, 8), "axes": (1, 0)}),
    ("rfft2", {"norm": "forward"}), ("irfft2", {"s": (4, 7)}), ("rfftn", {}),
    ("irfftn", {"axes": (0, 1), "s": (3, 3)}), ("fftn", {"s": (3, 4), "axes": (1, 1)}),
    ("rfftn", {"s": (6, 5), "axes": (1, 1)}), ("irfftn", {"s": (4, 6), "axes": (0, 0)}),
    ("fftn", {"s": (-1, 8), "axes": (0, 1)}), ("fftshift", {}), ("ifftshift", {"axes": 1}),
    ("fftshift", {"axes": (0,)}),
]
NUMPY_CASES = [(name, kw, dtype) for name, kw in NUMPY_CALLS
               for dtype in (np.float32, np.float64, np.complex64, np.complex128)
               if not (name in REAL_INPUT and np.dtype(dtype).kind == "c")]


@pytest.mark.parametrize(("name", "kw", "dtype"), NUMPY_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(NUMPY_CASES)])
def test_values_are_numpys_bit_for_bit(name, kw, dtype):
    if LEGACY_NUMPY and -1 in kw.get("s", ()):
        pytest.skip("s[i] = -1 (the input's size) is NumPy 2's")
    a = _sample((4, 6), np.dtype(dtype).kind == "c", name).astype(dtype)
    expected = numpys = getattr(np.fft, name)(a, **kw)
    same = np.testing.assert_array_equal
    if LEGACY_NUMPY and np.dtype(dtype) in (np.float32, np.complex64):
        # NumPy 1.x computes in double precision; chainrule keeps NumPy 2's (and PyTorch's)
        # single precision, with NumPy 1.x's values rounded to it (after each axis, when an
        # axis repeats: then to the last bit or so)
        expected = numpys.astype(np.complex64 if numpys.dtype.kind == "c" else np.float32)
        axes = np.atleast_1d(kw.get("axes", ())).tolist()
        if len(set(axes)) < len(axes):
            def same(a, b):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    t = cr.tensor(a, requires_grad=True)
    for out in (getattr(cnp.fft, name)(t, **kw),  # chainrule.numpy
                getattr(np.fft, name)(t, **kw)):  # NumPy's function protocol
        assert isinstance(out, cr.Tensor) and out.requires_grad
        assert out.dtype == expected.dtype
        same(out.detach().numpy(), expected)
    plain = getattr(cnp.fft, name)(a, **kw)  # on arrays, NumPy's own function
    assert type(plain) is np.ndarray and plain.dtype == numpys.dtype
    np.testing.assert_array_equal(plain, numpys)


def test_numpy_protocol_records_the_transform():
    t = cr.tensor(_sample((5,), False, "protocol"), requires_grad=True)
    y = np.fft.rfft(t)
    assert y.grad_fn.name() == "FftR2CBackward0"
    assert np.fft.fft(t).grad_fn.name() == "FftC2CBackward0"
    assert np.fft.irfft(y).grad_fn.name() == "FftC2RBackward0"
    np.fft.irfft(y, n=5).sum().backward()  # irfft(rfft(x)) = x: the gradient of sum(x) is 1
    np.testing.assert_allclose(t.grad.numpy(), np.ones(5), rtol=1e-14)


def test_frequencies_are_numpys_and_pytorchs():
    # (NumPy's own, passing through: a Tensor argument becomes its values)
    np.testing.assert_array_equal(cnp.fft.fftfreq(5, cr.tensor(0.5)),
                                  np.fft.fftfreq(5, np.float32(0.5)))
    np.testing.assert_array_equal(cnp.fft.rfftfreq(6), np.fft.rfftfreq(6))
    for n, d in [(5, 1.0), (8, 0.1), (1, 2.0)]:
        f = cr.fft.fftfreq(n, d)
        assert f.dtype == cr.float32 and not f.requires_grad
        np.testing.assert_allclose(f.numpy(), np.fft.fftfreq(n, d), rtol=1e-6)
        r = cr.fft.rfftfreq(n, d, dtype=cr.float64, requires_grad=True)
        assert r.dtype == cr.float64 and r.requires_grad
        np.testing.assert_array_equal(r.detach().numpy(), np.fft.rfftfreq(n, d))
    assert cr.fft.fftfreq(0).shape == (0,)  # (NumPy divides by zero; PyTorch gives [])


def test_chainrule_fft_is_a_module_reachable_from_chainrule():
    import chainrule.fft

    assert cr.fft is chainrule.fft
    assert set(chainrule.fft.__all__) <= set(dir(chainrule.fft))


def test_integer_input_is_transformed_in_the_default_dtype():
    y = cr.fft.fft(cr.tensor([1, 2, 3]))  # (as PyTorch: complex64)
    assert y.dtype == cr.complex64
    np.testing.assert_allclose(y.numpy(), np.fft.fft([1, 2, 3]), rtol=1e-6)
    assert cr.fft.irfft(cr.tensor([1, 2, 3])).dtype == cr.float32


# --------------------------------------------------------------------------------------------
# the exact gradient of a linear map, in both conventions

# (function of chainrule.fft, its keywords, input shape); NumPy's function computes each case
TORCH_CASES = [
    ("fft", {}, (3, 5)),
    ("fft", {"n": 7}, (2, 5)),
    ("fft", {"n": 3, "dim": 0, "norm": "ortho"}, (4, 3)),
    ("ifft", {"n": 8, "norm": "forward"}, (2, 6)),
    ("rfft", {}, (2, 6)),
    ("rfft", {"n": 5}, (2, 6)),
    ("rfft", {"n": 10, "norm": "ortho"}, (3, 4)),
    ("rfft", {"dim": 0}, (5, 2)),
    ("irfft", {}, (2, 4)),
    ("irfft", {"n": 7}, (2, 4)),
    ("irfft", {"n": 4, "norm": "forward"}, (3, 5)),
    ("irfft", {"n": 12}, (2, 3)),
    ("irfft", {"n": 1}, (2, 3)),
    ("hfft", {"n": 5}, (2, 4)),
    ("hfft", {}, (3, 3)),
    ("ihfft", {}, (2, 6)),
    ("ihfft", {"n": 3, "norm": "ortho"}, (2, 6)),
    ("fft2", {"s": (3, 5)}, (2, 4)),
    ("ifftn", {"dim": (1, 0), "s": (4, 3)}, (3, 3)),
    ("rfftn", {"dim": (0, 1), "s": (2, 6)}, (3, 4)),
    ("rfft2", {"norm": "forward"}, (3, 5)),
    ("irfftn", {"s": (4, 5)}, (3, 3)),
    ("irfft2", {}, (3, 4)),
    ("irfftn", {"dim": (0,)}, (3, 2)),
    ("hfftn", {"s": (2, 5)}, (3, 3)),
    ("ihfft2", {"s": (3, 4)}, (2, 5)),
    ("ihfftn", {"norm": "forward"}, (2, 3)),
]
_NUMPY_OF = {  # NumPy's computation of each of PyTorch's functions
    "hfftn": lambda a, s=None, axes=None, norm=None: np.fft.irfftn(
        np.conj(a), s, axes, {"forward": "backward", "ortho": "ortho"}.get(norm, "forward")),
    "ihfft2": lambda a, s=None, axes=(-2, -1), norm=None: np.conj(np.fft.rfft2(
        a, s, axes, {"forward": "backward", "ortho": "ortho"}.get(norm, "forward"))),
    "ihfftn": lambda a, s=None, axes=None, norm=None: np.conj(np.fft.rfftn(
        a, s, axes, {"forward": "backward", "ortho": "ortho"}.get(norm, "forward"))),
}


def _numpy(name, kw):
    """NumPy's function computing chainrule.fft's ``name`` with keywords ``kw``."""
    one_axis = name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
    kw = {("axis" if one_axis else "axes") if k == "dim" else k: v for k, v in kw.items()}
    if name.endswith("n") and "s" in kw and "axes" not in kw:  # PyTorch: the last len(s)
        kw["axes"] = tuple(range(-len(kw["s"]), 0))
    return lambda a: (_NUMPY_OF.get(name) or getattr(np.fft, name))(a, **kw)


def _cases(complex_too: bool = True):
    out = []
    for name, kw, shape in TORCH_CASES:
        for complex_ in (False, True) if complex_too else (False,):
            if not (complex_ and name in REAL_INPUT):
                out.append(pytest.param(name, kw, shape, complex_,
                                        id=f"{name}-{sorted(kw.items())}-{shape}-"
                                           f"{'complex' if complex_ else 'real'}"))
    return out


def _jacobian_columns(f, x):
    """d f / d Re(x_k) and d f / d Im(x_k), exactly, for an R-linear f: its values at the
    unit vectors e_k and i e_k."""
    units = np.eye(x.size).reshape((x.size,) + x.shape)
    re = [f(u) for u in units]
    im = [f(1j * u) for u in units] if np.iscomplexobj(x) else None
    return re, im


@pytest.mark.parametrize(("name", "kw", "shape", "complex_"), _cases())
def test_gradients_are_those_of_the_jacobian(name, kw, shape, complex_):
    """For L = sum(a Re y + b Im y): dL/d Re(x_k) = sum(a Re J_k + b Im J_k) with J_k NumPy's
    transform of e_k; PyTorch's .grad is dL/dRe + i dL/dIm, func.grad (JAX's) the conjugate."""
    x = _sample(shape, complex_, f"jacobian/{name}/{shape}")
    f = _numpy(name, kw)
    y = f(x)
    np.testing.assert_allclose(getattr(cr.fft, name)(cr.tensor(x), **kw).numpy(), y,
                               rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(y.shape), rng.standard_normal(y.shape)

    def slopes(columns):
        return np.array([(a * c.real + b * c.imag).sum() for c in columns]).reshape(shape)

    re, im = _jacobian_columns(f, x)
    expected = slopes(re) + (1j * slopes(im) if complex_ else 0)

    def loss(t):
        out = getattr(cr.fft, name)(t, **kw)
        return (out.real * cr.tensor(a)).sum() + (
            (out.imag * cr.tensor(b)).sum() if out.is_complex() else 0)

    t = cr.tensor(x, requires_grad=True)
    loss(t).backward()
    assert t.grad.dtype == x.dtype
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(func.grad(loss)(x), np.conj(expected), rtol=1e-10, atol=1e-12)
    # forward mode: J v for a random direction v (complex for complex x)
    v = _sample(shape, complex_, "direction")
    tangent = sum(vk.real * r for vk, r in zip(v.reshape(-1), re))
    if complex_:
        tangent = tangent + sum(vk.imag * i for vk, i in zip(v.reshape(-1), im))
    _, jvp = func.jvp(lambda t: getattr(cr.fft, name)(t, **kw), (x,), (v,))
    np.testing.assert_allclose(jvp, tangent, rtol=1e-10, atol=1e-12)


def test_rfft_gradient_is_parsevals():
    """Over the half spectrum, sum |X_k|^2 = (n |x|^2 + X_0^2 + X_(n/2)^2) / 2 (n even), so its
    gradient is n x + X_0 + (-1)^j X_(n/2); without the Nyquist term for odd n."""
    for n in (6, 7):
        x = _sample((n,), False, f"parseval/{n}")
        t = cr.tensor(x, requires_grad=True)
        (cr.fft.rfft(t).abs() ** 2).sum().backward()
        signs = (-1.0) ** np.arange(n)
        expected = n * x + x.sum() + ((signs * x).sum() * signs if n % 2 == 0 else 0)
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12)


def test_fftshift_gradient_is_the_inverse_roll():
    x = cr.tensor(_sample((3, 4), False, "shift"), requires_grad=True)
    w = _sample((3, 4), False, "shift weights")
    (cr.fft.fftshift(x) * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.fft.ifftshift(w))
    x.grad = None
    (cnp.fft.ifftshift(x, axes=1) * cr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.fft.fftshift(w, axes=1))


# --------------------------------------------------------------------------------------------
# PyTorch


def _nonlinear_loss(lib, name, kw, w):
    def loss(t):
        y = getattr(lib.fft, name)(t, **kw)
        if y.is_complex():
            return (y.abs() ** 2 * w).sum() + (y.real * y.imag).sum() + y.imag.sin().sum()
        return (y ** 2 * w).sum() + y.sin().sum()
    return loss


def _array(t) -> np.ndarray:
    t = t.detach()
    return np.asarray(t.resolve_conj() if hasattr(t, "resolve_conj") else t)  # (PyTorch's)


# (PyTorch's torch.func warns about its own use of torch.jit.script)
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("name", "kw", "shape", "complex_"), _cases())
def test_derivatives_agree_with_pytorch(name, kw, shape, complex_):
    """The gradient, a second derivative (the gradient of |g|^2), a forward-mode tangent and a
    forward-over-forward second derivative, on a loss that is not linear."""
    torch = pytest.importorskip("torch")
    x = _sample(shape, complex_, f"pytorch/{name}/{shape}")
    v, u = _sample(shape, complex_, "v"), _sample(shape, complex_, "u")
    w = _sample(tuple(getattr(torch.fft, name)(torch.tensor(x), **kw).shape), False, "weights")
    results = []
    for lib, jvp in ((torch, torch.func.jvp), (cr, func.jvp)):
        loss = _nonlinear_loss(lib, name, kw, lib.tensor(w))
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(loss(t), t, create_graph=True)
        (h,) = lib.autograd.grad((g.abs() ** 2).sum(), t)

        def directional(s, loss=loss, jvp=jvp, lib=lib):
            return jvp(loss, (s,), (lib.tensor(v),))[1]

        _, tangent = jvp(loss, (lib.tensor(x),), (lib.tensor(v),))
        _, second = jvp(directional, (lib.tensor(x),), (lib.tensor(u),))
        results.append([_array(r) for r in (g, h, tangent, second)])
    for what, ours, theirs in zip(("gradient", "second", "tangent", "fwd-fwd"), results[1],
                                  results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9, err_msg=what)


# --------------------------------------------------------------------------------------------
# JAX

JAX_CASES = [  # (numpy.fft's function, keywords, input shape)
    ("fft", {"n": 7}, (2, 5)),
    ("ifft", {"n": 4, "axis": 0, "norm": "ortho"}, (3, 3)),
    ("rfft", {}, (2, 6)),
    ("rfft", {"n": 7, "norm": "forward"}, (2, 5)),
    ("irfft", {}, (2, 4)),
    ("irfft", {"n": 9}, (2, 4)),
    ("irfft", {"n": 3, "axis": 0}, (4, 2)),
    ("hfft", {"n": 6}, (2, 3)),
    ("ihfft", {}, (2, 5)),
    ("fft2", {"s": (3, 2)}, (2, 4)),
    ("rfftn", {"s": (3, 4), "axes": (1, 0)}, (2, 3)),
    ("irfft2", {}, (3, 4)),
    ("irfftn", {"s": (2, 5), "axes": (0, 1)}, (3, 4)),
    ("fftshift", {}, (3, 4)),
    ("ifftshift", {"axes": 0}, (3, 4)),
]


def _jax_cases():
    return [pytest.param(name, kw, shape, complex_, id=f"{name}-{i}-{'c' if complex_ else 'r'}")
            for i, (name, kw, shape) in enumerate(JAX_CASES) for complex_ in (False, True)
            if not (complex_ and name in REAL_INPUT)]


@pytest.mark.parametrize(("name", "kw", "shape", "complex_"), _jax_cases())
def test_transforms_agree_with_jax(name, kw, shape, complex_):
    """vjp and jvp of the transform (JAX's convention: no conjugation), the gradient of a real
    loss, its gradient's squared norm differentiated again, and forward over reverse."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    x = _sample(shape, complex_, f"jax/{name}/{shape}")
    y = getattr(np.fft, name)(x, **kw)
    ct = _sample(y.shape, np.iscomplexobj(y), "cotangent")
    v = _sample(shape, complex_, "tangent")

    def transform(np_):
        return lambda a: getattr(np_.fft, name)(a, **kw)

    def loss(np_):
        def f(a):
            y = transform(np_)(a)
            return np_.sum(np_.abs(y) ** 2 * np_.cos(np_.real(y))) + np_.sum(np_.real(y * y))
        return f

    def grad_norm(np_, grad):
        return lambda a: np_.sum(np_.abs(grad(loss(np_))(a)) ** 2)

    def derivatives(np_, vjp, jvp, grad):
        return (vjp(transform(np_), x)[1](ct)[0], jvp(transform(np_), (x,), (v,))[1],
                grad(loss(np_))(x), grad(grad_norm(np_, grad))(x),
                jvp(grad(loss(np_)), (x,), (v,))[1])

    ours = derivatives(cnp, func.vjp, func.jvp, func.grad)
    # (compiled as one program: JAX compiles each operation it runs eagerly, which is slow)
    theirs = jax.jit(lambda: derivatives(jnp, jax.vjp, jax.jvp, jax.grad))()
    for what, a, b in zip(("vjp", "jvp", "grad", "grad of grad", "jvp of grad"), ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-9,
                                   err_msg=what)


# --------------------------------------------------------------------------------------------
# bad input: PyTorch's exception types in chainrule.fft, NumPy's in chainrule.numpy.fft, and
# a message that names the function called


def _complex(lib):
    return lib.ones(2, 3, dtype=lib.complex128)


PYTORCH_ERRORS = [  # (function, call with lib = chainrule or torch, exception, phrase)
    ("fft", lambda lib: lib.fft.fft(lib.ones(2, 3), dim=2), IndexError, "Dimension out of range"),
    ("fft", lambda lib: lib.fft.fft(lib.ones(2, 3), n=0), RuntimeError,
     "Invalid number of data points (0)"),
    ("fft", lambda lib: lib.fft.fft(lib.ones(2, 3), norm="abc"), RuntimeError,
     "Invalid normalization mode"),
    ("fft", lambda lib: lib.fft.fft(lib.ones(2, 3), norm=3), TypeError,
     "argument 'norm' must be str"),
    ("fft", lambda lib: lib.fft.fft(lib.ones(2, 3), n=2.5), TypeError, "argument 'n' must be int"),
    ("fft", lambda lib: lib.fft.fft(lib.ones(())), IndexError, "tensor has no dimensions"),
    ("rfft", lambda lib: lib.fft.rfft(_complex(lib)), RuntimeError,
     "rfft expects a real input tensor"),
    ("ihfft", lambda lib: lib.fft.ihfft(_complex(lib)), RuntimeError,
     "ihfft expects a real input tensor"),
    ("irfft", lambda lib: lib.fft.irfft(lib.ones(1, dtype=lib.complex128)), RuntimeError,
     "Invalid number of data points (0)"),
    ("fftn", lambda lib: lib.fft.fftn(lib.ones(2, 3), s=(2,), dim=(0, 1)), RuntimeError,
     "dim and shape arguments must have the same length"),
    ("fftn", lambda lib: lib.fft.fftn(lib.ones(2, 3), dim=(0, 0)), RuntimeError,
     "FFT dims must be unique"),
    ("fftn", lambda lib: lib.fft.fftn(lib.ones(2, 3), s=(2, 2, 2)), RuntimeError,
     "Got shape with 3 values"),
    ("fftn", lambda lib: lib.fft.fftn(lib.ones(2, 3), s=(2, -2), dim=(0, 1)), RuntimeError,
     "Invalid number of data points (-2)"),
    ("rfftn", lambda lib: lib.fft.rfftn(lib.ones(2, 3), dim=()), RuntimeError,
     "must transform at least one axis"),
    ("fft2", lambda lib: lib.fft.fft2(lib.ones(3)), IndexError, "Dimension out of range"),
    ("fftshift", lambda lib: lib.fft.fftshift(lib.ones(2, 3), dim=3), IndexError,
     "Dimension out of range"),
    ("fftfreq", lambda lib: lib.fft.fftfreq(-1), RuntimeError, "negative dimension"),
]


@pytest.mark.parametrize(("called", "call", "exception", "phrase"), PYTORCH_ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(PYTORCH_ERRORS)])
def test_chainrule_fft_refuses_bad_input_as_pytorch(called, call, exception, phrase):
    with pytest.raises(exception) as info:
        call(cr)
    assert phrase in str(info.value) and f"fft.{called}" in str(info.value)


@pytest.mark.parametrize(("called", "call", "exception", "phrase"), PYTORCH_ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(PYTORCH_ERRORS)])
def test_pytorch_raises_the_same_exception_type(called, call, exception, phrase):
    torch = pytest.importorskip("torch")
    with pytest.raises(exception):
        call(torch)


def test_out_is_refused_on_tensors():
    with pytest.raises(TypeError, match="out="):
        cr.fft.fft(cr.ones(3), out=cr.zeros(3))
    with pytest.raises(TypeError, match=r"chainrule\.numpy\.fft\.fft.*out="):
        cnp.fft.fft(cr.ones(3), out=np.zeros(3, complex))


NUMPY_ERRORS = [  # (function, call with (numpy namespace, array), exception, phrase)
    ("fft", lambda np_, a: np_.fft.fft(a, n=0), ValueError, "Invalid number of FFT data points"),
    ("fft", lambda np_, a: np_.fft.fft(a, axis=2), IndexError, ""),
    ("ifft", lambda np_, a: np_.fft.ifft(a, norm="abc"), ValueError, "Invalid norm value abc"),
    ("fft", lambda np_, a: np_.fft.fft(a, n=2.5), TypeError, "integer"),
    ("rfft", lambda np_, a: np_.fft.rfft(a * 1j), TypeError, ""),
    ("ihfft", lambda np_, a: np_.fft.ihfft(a + 0j), TypeError, ""),
    ("irfft", lambda np_, a: np_.fft.irfft(a[:, :1]), ValueError,
     "Invalid number of FFT data points (0)"),
    ("hfft", lambda np_, a: np_.fft.hfft(a, n=-3), ValueError,
     "Invalid number of FFT data points (-3)"),
    ("fftn", lambda np_, a: np_.fft.fftn(a, s=(2,), axes=(0, 1)), ValueError,
     "Shape and axes have different lengths"),
    ("rfftn", lambda np_, a: np_.fft.rfftn(a, s=(0, 3), axes=(0, 1)), ValueError,
     "Invalid number of FFT data points (0)"),
    ("fft2", lambda np_, a: np_.fft.fft2(a[0]), IndexError, ""),
    ("fftshift", lambda np_, a: np_.fft.fftshift(a, axes=5), IndexError, ""),
]


@pytest.mark.parametrize(("called", "call", "exception", "phrase"), NUMPY_ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(NUMPY_ERRORS)])
def test_chainrule_numpy_fft_refuses_bad_input_as_numpy(called, call, exception, phrase):
    a = np.ones((2, 3))
    if not (LEGACY_NUMPY and called in ("rfft", "ihfft")):  # (1.x drops the imaginary part)
        with pytest.raises(exception):  # NumPy's own type
            call(np, a)
    for np_ in (cnp, np):  # chainrule.numpy's function, and NumPy's protocol on a Tensor
        with pytest.raises(exception) as info:
            call(np_, cr.tensor(a, requires_grad=True))
        message = str(info.value)
        assert phrase in message and f"chainrule.numpy.fft.{called}:" in message
