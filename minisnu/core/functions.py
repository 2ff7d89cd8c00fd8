"""The elementwise functions the units share: the logistic sigmoid and tanh, in NumPy and in Numba.

The NumPy ``sigmoid`` is what the references and the plots use. The others are
scalar functions for compiled kernels (``inline="always"``: Numba pastes them
into the caller's loop, so the loop still vectorizes):

- ``tanh_float32``: tanh of a float32 in plain arithmetic. libm's tanhf is a
  scalar call, ~17× slower here, and it stops a loop from vectorizing;
- ``tanh_scalar(v, f32)``: that in float32, ``np.tanh`` in float64;
- ``sigmoid_scalar(v, one, f32)``: σ(v) through the same tanh.

In a kernel every constant is made in the array's dtype (``one``): a bare
literal 1 would silently turn float32 arithmetic into float64. ``f32`` (the
array holds float32) is fixed per compiled version of the caller, so the branch
it selects costs nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def sigmoid(v):
    r""":math:`σ(v) = 1 / (1 + e^{−v})`, computed as :math:`(1 + \tanh(v / 2)) / 2`: no overflow for
    large :math:`|v|`."""
    return 0.5 * (1 + np.tanh(0.5 * v))


# Coefficients of the odd rational minimax approximation tanh(x) ≈ x·P(x²)/Q(x²)
# on |x| ≤ 7.905 (beyond it tanh rounds to ±1 in float32), as published in Eigen
# and used by XLA and ONNX Runtime.
_TANH_P = (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
           4.89352455891786e-03)
_TANH_Q = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
           4.89352518554385e-03)


@njit(cache=True, error_model="numpy", inline="always")
def tanh_float32(x):
    """tanh of a float32 to within 4e-7, in plain arithmetic (so loops over it vectorize)."""
    limit = np.float32(7.90531110763549805)
    x = min(max(x, -limit), limit)
    x2 = x * x
    p = np.float32(_TANH_P[0])
    for c in _TANH_P[1:]:
        p = p * x2 + np.float32(c)
    q = np.float32(_TANH_Q[0])
    for c in _TANH_Q[1:]:
        q = q * x2 + np.float32(c)
    return x * p / q


@njit(cache=True, error_model="numpy", inline="always")
def tanh_scalar(v, f32):
    """tanh(v): ``tanh_float32`` when the kernel computes in float32 (f32), else ``np.tanh``."""
    return tanh_float32(v) if f32 else np.tanh(v)


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid_scalar(v, one, f32):
    r""":math:`σ(v) = 1 / (1 + e^{−v}) = (1 + \tanh(v / 2)) / 2`: no overflow, and the fast tanh."""
    half = one / (one + one)
    return half * (one + tanh_scalar(half * v, f32))
