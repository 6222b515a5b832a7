"""The dialects keep their frameworks' own values where the core gives PyTorch's subgradients
(issue 13, I): each computes ``std`` as ``sqrt(var)`` and a p-norm as ``sum(|x|^p)^(1/p)``, so
the gradient at zero variance or at zero is NaN there, as in JAX, TensorFlow and MXNet."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.compat.jax.numpy as jnp
import chainrule.compat.tensorflow as tf
from chainrule.compat import jax, mxnet


def test_the_core_gives_pytorchs_zero():
    for f in (lambda x: x.std(), lambda x: x.norm(p=3)):
        x = cr.zeros(3, dtype=cr.float64, requires_grad=True)
        f(x).backward()
        np.testing.assert_array_equal(x.grad.numpy(), 0.0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_jax_gives_nan():
    with np.errstate(all="ignore"):
        assert np.isnan(np.asarray(jax.grad(jnp.std)(jnp.ones(3)))).all()
        norm3 = jax.grad(lambda x: jnp.linalg.norm(x, ord=3))(jnp.zeros(3))
    assert np.isnan(np.asarray(norm3)).all()
    np.testing.assert_allclose(float(jnp.linalg.norm(jnp.array([1.0, -2.0, 3.0]), ord=3)),
                               np.linalg.norm([1.0, -2.0, 3.0], 3), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_tensorflow_gives_nan():
    x = tf.Variable([0.0, 0.0])
    with np.errstate(all="ignore"), tf.GradientTape() as tape:
        y = tf.norm(x, ord=3)
    assert np.isnan(tape.gradient(y, x).numpy()).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("f", [lambda a: mxnet.np.std(a), lambda a: mxnet.np.linalg.norm(a, 3)])
def test_mxnet_gives_nan(f):
    a = mxnet.np.array([0.0, 0.0, 0.0])
    a.attach_grad()
    with np.errstate(all="ignore"), mxnet.autograd.record():
        y = f(a)
    y.backward()
    assert np.isnan(np.asarray(a.grad)).all()


def test_real_jax_agrees():
    real = pytest.importorskip("jax")
    with np.errstate(all="ignore"):
        assert np.isnan(np.asarray(real.grad(real.numpy.std)(real.numpy.ones(3)))).all()
