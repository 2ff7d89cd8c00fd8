r"""Pseudo-derivatives of the Heaviside step (surrogate gradients).

The spiking SNU outputs y = H(v), v = s + b: 1 when v > 0, else 0. Its true
derivative is 0 almost everywhere, so backpropagation would learn nothing. The
backward pass instead uses a smooth bump h'(v) that peaks at the threshold
v = 0. Each choice below is the derivative of a smooth "primitive" P(v), a soft
version of the step; k sets the width (larger k: narrower bump).

=====================  =====================================  ===========================  ====
name                   pseudo-derivative h'(v)                primitive P(v)               k
=====================  =====================================  ===========================  ====
``tanh`` (paper)       :math:`k\, (1 − \tanh^2(k v))`         :math:`\tanh(k v)`           1
``sigmoid``            :math:`k\, σ(k v)\, (1 − σ(k v))`      :math:`σ(k v)`               4
``fast_sigmoid``       :math:`1 / (1 + k |v|)^2`              :math:`v / (1 + k |v|)`      1
``arctan``             :math:`1 / (1 + (k v)^2)`              :math:`\arctan(k v) / k`     1
``straight_through``   :math:`1`                              :math:`v`                    –
=====================  =====================================  ===========================  ====

With the default k every bump peaks at 1 at the threshold, so the choices
differ only in their tails. The NumPy functions are the reference (and what a
plot uses); ``pseudo_derivative_scalar`` is the same formula for one number,
compiled by Numba and called inside the fused time loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.functions import sigmoid
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


def pseudo_derivative(v, name: str = "tanh", k: float | None = None) -> np.ndarray:
    """h'(v): the surrogate derivative of the Heaviside step at v = s + b."""
    _, k = surrogate_code(name, k)
    v = np.asarray(v)
    if name == "tanh":
        return k * (1 - np.tanh(k * v) ** 2)
    if name == "sigmoid":
        sig = sigmoid(k * v)
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
        return sigmoid(k * v)
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
