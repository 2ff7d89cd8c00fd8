"""Pseudo-derivatives: each is the derivative of its primitive; the kernel matches NumPy.

Also the elementwise functions of ``minisnu.core.functions`` that the surrogates
and the units' kernels use: the compiled tanh and sigmoid match NumPy.
"""

import numpy as np
import pytest
from numba import njit

from minisnu.core.functions import sigmoid, sigmoid_scalar, tanh_float32, tanh_scalar
from minisnu.units.snu_engine import output_derivative
from minisnu.units.surrogate import (
    SURROGATES,
    primitive,
    pseudo_derivative,
    pseudo_derivative_scalar,
    surrogate_code,
)

V = np.linspace(-6, 6, 1201)


@njit
def kernel_values(v, code, k):
    out = np.empty_like(v)
    one = v.dtype.type(1)
    for i in range(v.size):
        out[i] = pseudo_derivative_scalar(v[i], code, v.dtype.type(k), one)
    return out


@njit
def engine_h_prime(s, y, b, soft, code, k):
    """h'(s + b) for every element, as ``snu_backward_loop`` computes it (s, y, b: 1-D)."""
    out = np.empty_like(s)
    one, k = s.dtype.type(1), s.dtype.type(k)
    fast_tanh = code == 0 and not soft and s.itemsize == 4
    for i in range(s.size):
        out[i] = output_derivative(s[i], y[i], b[i], soft, fast_tanh, code, k, one)
    return out


@njit
def fast_tanh(v):
    out = np.empty_like(v)
    for i in range(v.size):
        out[i] = tanh_float32(v[i])
    return out


@njit
def kernel_tanh_sigmoid(v):
    out = np.empty((2, v.size), v.dtype)
    one, f32 = v.dtype.type(1), v.itemsize == 4
    for i in range(v.size):
        out[0, i] = tanh_scalar(v[i], f32)
        out[1, i] = sigmoid_scalar(v[i], one, f32)
    return out


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("k", [None, 0.5, 3.0])
def test_pseudo_derivative_is_the_derivative_of_its_primitive(name, k):
    eps = 1e-6
    numeric = (primitive(V + eps, name, k) - primitive(V - eps, name, k)) / (2 * eps)
    # rtol 1e-5: fast_sigmoid's second derivative jumps at 0, so the central
    # difference there is off by ~k·eps; a wrong formula is off by far more
    np.testing.assert_allclose(pseudo_derivative(V, name, k), numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_default_width_peaks_at_one_on_the_threshold(name):
    assert pseudo_derivative(0.0, name) == pytest.approx(1.0)
    assert np.all(pseudo_derivative(V, name) <= 1.0 + 1e-12)


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("dtype,rtol,atol", [(np.float64, 1e-12, 1e-15), (np.float32, 1e-5, 1e-6)])
def test_kernel_matches_numpy(name, dtype, rtol, atol):
    """float32 tails (σ(1 − σ) far from the threshold) carry absolute, not relative, error."""
    code, k = surrogate_code(name, 2.0)
    v = V.astype(dtype)
    expected = pseudo_derivative(V, name, 2.0)
    np.testing.assert_allclose(kernel_values(v, code, k), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("k", [None, 0.5, 3.0])
@pytest.mark.parametrize("dtype,rtol,atol", [(np.float64, 1e-12, 1e-15), (np.float32, 1e-5, 2e-6)])
def test_engine_output_derivative_matches_numpy_for_every_width(name, k, dtype, rtol, atol):
    """The engine's h'(s + b), each surrogate and width: float32's tanh has
    its own formula there (``tanh_float32``), which must use k as the NumPy one does."""
    code, width = surrogate_code(name, k)
    s = np.linspace(-3, 5, 303).astype(dtype)
    b = np.tile(np.linspace(-1.5, 0.5, 101), 3).astype(dtype)
    y = (s + b > 0).astype(dtype)
    h_prime = engine_h_prime(s, y, b, False, code, width)
    assert h_prime.dtype == dtype
    expected = pseudo_derivative(s.astype(np.float64) + b, name, k)
    np.testing.assert_allclose(h_prime, expected, rtol=rtol, atol=atol * max(width, 1))
    y = 1 / (1 + np.exp(-(s + b)))        # the sSNU: y(1 − y), whatever the surrogate
    np.testing.assert_array_equal(engine_h_prime(s, y, b, True, code, width), y * (1 - y))


def test_float32_tanh_is_accurate():
    v = np.linspace(-12, 12, 200001).astype(np.float32)
    approx = fast_tanh(v)
    assert approx.dtype == np.float32
    assert np.abs(approx - np.tanh(v.astype(np.float64))).max() < 4e-7
    assert np.abs(approx).max() <= 1.0


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-15), (np.float32, 4e-7)])
def test_kernel_tanh_and_sigmoid_match_numpy(dtype, atol):
    v = np.linspace(-40, 40, 8001).astype(dtype)
    tanh, sig = kernel_tanh_sigmoid(v)
    assert tanh.dtype == sig.dtype == dtype
    exact = v.astype(np.float64)
    np.testing.assert_allclose(tanh, np.tanh(exact), rtol=0, atol=atol)
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-exact)), rtol=0, atol=atol)
    np.testing.assert_allclose(sigmoid(exact), 1 / (1 + np.exp(-exact)), rtol=0, atol=1e-15)
    assert np.isfinite(sigmoid(np.array([-1e4, 1e4]))).all()     # no overflow


def test_unknown_surrogate_and_bad_width():
    with pytest.raises(ValueError, match="unknown surrogate 'boxcar'"):
        pseudo_derivative(V, "boxcar")
    with pytest.raises(ValueError, match="must be a positive number"):
        surrogate_code("tanh", 0.0)
