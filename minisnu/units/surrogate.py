"""Pseudo-derivatives of the Heaviside step (surrogate gradients).

The spiking SNU outputs y = H(v), v = s + b: 1 when v > 0, else 0. Its true
derivative is 0 almost everywhere, so backpropagation would learn nothing. The
backward pass instead uses a smooth bump h'(v) that peaks at the threshold
v = 0. Each choice below is the derivative of a smooth "primitive" P(v), a soft
version of the step; k sets the width (larger k: narrower bump).

=====================  ==============================  ========================  ====
name                   pseudo-derivative h'(v)         primitive P(v)            k
=====================  ==============================  ========================  ====
``tanh`` (paper)       k (1 − tanh²(k v))              tanh(k v)                 1
``sigmoid``            k σ(k v) (1 − σ(k v))           σ(k v)                    4
``fast_sigmoid``       1 / (1 + k |v|)²                v / (1 + k |v|)           1
``arctan``             1 / (1 + (k v)²)                arctan(k v) / k           1
``straight_through``   1                               v                         –
=====================  ==============================  ========================  ====

With the default k every bump peaks at 1 at the threshold, so the choices
differ only in their tails. The NumPy functions are the reference (and what a
plot uses); ``pseudo_derivative_scalar`` is the same formula for one number,
compiled by Numba and called inside the fused time loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.validate import check_choice

#: name -> (integer code used inside compiled kernels, default k)
SURROGATES = {
    "tanh": (0, 1.0),
    "sigmoid": (1, 4.0),
    "fast_sigmoid": (2, 1.0),
    "arctan": (3, 1.0),
    "straight_through": (4, 1.0),
}


def surrogate_code(name: str, k: float | None = None) -> tuple[int, float]:
    """The kernel code of surrogate ``name`` and its width k (default if None)."""
    check_choice("surrogate", name, SURROGATES)
    code, default_k = SURROGATES[name]
    k = default_k if k is None else float(k)
    if not np.isfinite(k) or k <= 0:
        raise ValueError(f"surrogate width k must be a positive number, got {k}")
    return code, k


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^(−z)), without overflow


def pseudo_derivative(v, name: str = "tanh", k: float | None = None) -> np.ndarray:
    """h'(v): the surrogate derivative of the Heaviside step at v = s + b."""
    _, k = surrogate_code(name, k)
    v = np.asarray(v)
    if name == "tanh":
        return k * (1 - np.tanh(k * v) ** 2)
    if name == "sigmoid":
        sig = _sigmoid(k * v)
        return k * sig * (1 - sig)
    if name == "fast_sigmoid":
        return 1 / (1 + k * np.abs(v)) ** 2
    if name == "arctan":
        return 1 / (1 + (k * v) ** 2)
    return np.ones_like(v)  # straight_through


def primitive(v, name: str = "tanh", k: float | None = None) -> np.ndarray:
    """P(v): a smooth function whose derivative is ``pseudo_derivative(v, name, k)``.

    It is the soft step that the backward pass implicitly differentiates; the
    tests use it to prove the spiking backward is exact BPTT of that soft twin.
    """
    _, k = surrogate_code(name, k)
    v = np.asarray(v)
    if name == "tanh":
        return np.tanh(k * v)
    if name == "sigmoid":
        return _sigmoid(k * v)
    if name == "fast_sigmoid":
        return v / (1 + k * np.abs(v))
    if name == "arctan":
        return np.arctan(k * v) / k
    return v.copy()  # straight_through


@njit(cache=True, error_model="numpy", inline="always")
def pseudo_derivative_scalar(v, code, k, one):
    """``pseudo_derivative`` for one number (kernel version).

    ``k`` and ``one`` (the number 1) come in the dtype of the layer: a bare
    literal 1 would promote float32 arithmetic to float64 inside Numba.
    """
    if code == 0:
        two = one + one
        e = np.exp(-two * k * abs(v))           # k (1 − tanh²(k v)) = 4 k e / (1 + e)²:
        return two * two * k * e / ((one + e) * (one + e))  # one exp, no cancellation
    if code == 1:
        sig = one / (one + np.exp(-k * v))
        return k * sig * (one - sig)
    if code == 2:
        d = one + k * abs(v)
        return one / (d * d)
    if code == 3:
        return one / (one + (k * v) * (k * v))
    return one


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
