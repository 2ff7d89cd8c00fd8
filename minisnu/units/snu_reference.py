r"""The Spiking Neural Unit in plain NumPy: one time step forward and backward.

This is the textbook version. It is short, follows the equations line by line
and is slow; ``snu_engine.py`` runs the same math as compiled Numba loops, and
the tests prove the two agree.

Forward (Woźniak et al. 2020), for t = 1..T with s_0 = 0, y_0 = 0:

.. math::

    a_t &= x_t W \;(+\; y_{t-1} H)               &&\quad \text{input (and recurrent) current} \\
    u_t &= a_t + l ⊙ s_{t-1} ⊙ (1 − y_{t-1})    &&\quad \text{reset gate, then decay, then input} \\
    s_t &= g(u_t)                                &&\quad \text{membrane potential} \\
    y_t &= h(s_t + b)                            &&\quad \text{output}

h is the Heaviside step for the SNU (y = 1 when s + b > 0) and the logistic
sigmoid σ for the soft SNU (sSNU). b is minus the threshold (init −1), l the
decay in [0, 1], g the input activation (ReLU by default). With lateral
inhibition the reset gate of every unit of a sample is :math:`(1 − \max_j y_{t-1,j})`.

Backward: the derivation
------------------------
Write :math:`δu_t = ∂L/∂u_t`. The loss reaches y_t directly (dY_t, from the layer
above) and through step t + 1, where y_t enters the reset gate and, in the
recurrent unit, the input current:

.. math::

    u_{t+1} = y_t H + l ⊙ s_t ⊙ (1 − y_t) + …

so, with :math:`δu_{T+1} = 0`,

.. math::

    gy_t = dY_t + δu_{t+1} H^\top
           − \underbrace{δu_{t+1} ⊙ l ⊙ s_t}_{\substack{\text{reset path: dropped} \\
                                                   \text{when detach_reset}}}
           \qquad (∂L/∂y_t)

s_t reaches the loss through :math:`y_t = h(s_t + b)` and through the decay term of
:math:`u_{t+1}`:

.. math::

    gs_t &= gy_t ⊙ h'(s_t + b) + δu_{t+1} ⊙ l ⊙ (1 − y_t)   \qquad (∂L/∂s_t) \\
    δu_t &= gs_t ⊙ g'(u_t)

h' is σ(v)(1 − σ(v)) = y(1 − y) for the sSNU, and for the SNU a chosen
pseudo-derivative (``minisnu.units.surrogate``; 1 − tanh²(v) in the paper). g'(u) is
read off s = g(u): for ReLU and leaky ReLU u > 0 exactly when s > 0 (ReLU'(0)
is taken as 0). Each parameter collects its terms over all steps:

.. math::

    ∂L/∂W &= Σ_t x_t^\top δu_t \qquad ∂L/∂H = Σ_t y_{t-1}^\top δu_t \\
    ∂L/∂x_t &= δu_t W^\top \\
    ∂L/∂b &= Σ_t Σ_{\text{batch}}\, gy_t ⊙ h'(s_t + b) \\
    ∂L/∂l &= Σ_t Σ_{\text{batch}}\, δu_t ⊙ s_{t-1} ⊙ (1 − y_{t-1})

With lateral inhibition the gate is :math:`r_t = 1 − \max_j y_{t-1,j}`; its gradient goes
to the unit that attained the maximum (the first one on a tie): that unit's
gy_t gets :math:`−Σ_i δu_{t+1,i}\, l_i\, s_{t,i}` instead of the elementwise reset term.
"""

from __future__ import annotations

import numpy as np

from ..core.functions import sigmoid
from .surrogate import pseudo_derivative

#: the input activations g the SNU offers (the ``g`` option)
G_FUNCTIONS = ("relu", "identity", "leaky_relu")


def g_forward(u, g="relu", slope=0.01):
    """s = g(u): ReLU max(u, 0), identity u, or leaky ReLU (u if u > 0 else slope·u)."""
    if g == "relu":
        return np.maximum(u, 0)
    if g == "leaky_relu":
        return np.where(u > 0, u, slope * u)
    return u


def g_derivative(s, g="relu", slope=0.01):
    """g'(u), read off s = g(u): u > 0 exactly when s > 0 (slope ≥ 0)."""
    if g == "relu":
        return (s > 0).astype(s.dtype)
    if g == "leaky_relu":
        return np.where(s > 0, 1, slope).astype(s.dtype)
    return np.ones_like(s)


def reset_gate(y_prev, lateral=False):
    r""":math:`(1 − y_{t-1})` per unit, or :math:`(1 − \max_j y_{t-1,j})` per sample with lateral
    inhibition."""
    if lateral:
        return np.broadcast_to(1 - y_prev.max(axis=1, keepdims=True), y_prev.shape)
    return 1 - y_prev


def snu_step(x_t, s_prev, y_prev, W, b, decay, H=None, *, soft=False, g="relu",
             g_slope=0.01, lateral=False):
    r"""One time step forward; returns (s_t, y_t).

    .. math::

        a_t &= x_t W \;(+\; y_{t-1} H) \\
        u_t &= a_t + l ⊙ s_{t-1} ⊙ (1 − y_{t-1}) \\
        s_t &= g(u_t) \\
        y_t &= h(s_t + b) \qquad h = \text{step (SNU) or sigmoid (sSNU)}
    """
    a = x_t @ W
    if H is not None:
        a = a + y_prev @ H
    u = a + decay * s_prev * reset_gate(y_prev, lateral)
    s = g_forward(u, g, g_slope)
    v = s + b
    y = sigmoid(v) if soft else (v > 0).astype(s.dtype)
    return s, y


def snu_step_backward(dy_t, du_next, x_t, s_prev, y_prev, s, y, W, b, decay, grads,
                      H=None, *, soft=False, g="relu", g_slope=0.01, surrogate="tanh",
                      surrogate_k=None, detach_reset=False, lateral=False):
    """One time step backward; adds into ``grads`` and returns (δu_t, ∂L/∂x_t).

    ``du_next`` is :math:`δu_{t+1}` (zeros at the last step); ``s, y`` are s_t, y_t and
    ``s_prev, y_prev`` are :math:`s_{t-1}, y_{t-1}` of the forward pass.
    """
    gy = dy_t.copy()                                     # ∂L/∂y_t from above
    if H is not None:
        gy += du_next @ H.T                              # ... through y_t H of step t+1
    if not detach_reset:                                 # ... through the reset gate of t+1
        reset_path = du_next * decay * s
        if lateral:
            first_max = np.argmax(y, axis=1)             # the unit that set the gate
            gy[np.arange(len(y)), first_max] -= reset_path.sum(axis=1)
        else:
            gy -= reset_path
    v = s + b
    h_prime = y * (1 - y) if soft else pseudo_derivative(v, surrogate, surrogate_k).astype(s.dtype)
    gv = gy * h_prime                                    # ∂L/∂v_t, v = s + b
    gs = gv + du_next * decay * reset_gate(y, lateral)   # + decay path into u_{t+1}
    du = gs * g_derivative(s, g, g_slope)                # δu_t = gs ⊙ g'(u_t)
    grads["W"] += x_t.T @ du                             # ∂L/∂W += x_tᵀ δu_t
    grads["b"] += gv.sum(axis=0)                         # ∂L/∂b += Σ_batch gy ⊙ h'
    if H is not None:
        grads["H"] += y_prev.T @ du                      # ∂L/∂H += y_{t-1}ᵀ δu_t
    if "decay" in grads:
        grads["decay"] += (du * s_prev * reset_gate(y_prev, lateral)).sum(axis=0)
    return du, du @ W.T                                  # δu_t, ∂L/∂x_t = δu_t Wᵀ


def snu_forward(x, W, b, decay, H=None, initial=None, **options):
    """Run ``snu_step`` over t = 1..T; returns s and y of shape (T + 1, B, n_out).

    s[t], y[t] are the state after step t, and s[0], y[0] the state before the
    first: ``initial`` = (s_0, y_0), zeros if None.
    """
    T, B = x.shape[:2]
    if initial is None:
        s_prev = np.zeros((B, W.shape[1]), x.dtype)
        y_prev = np.zeros_like(s_prev)
    else:
        s_prev, y_prev = initial
    s_all, y_all = [s_prev], [y_prev]
    for t in range(T):
        s_prev, y_prev = snu_step(x[t], s_prev, y_prev, W, b, decay, H, **options)
        s_all.append(s_prev)
        y_all.append(y_prev)
    return np.stack(s_all), np.stack(y_all)


def snu_backward(dy, x, s, y, W, b, decay, grads, H=None, **options):
    """Backpropagation through time: ``snu_step_backward`` for t = T..1; returns ∂L/∂x.

    s, y : (T + 1, B, n_out) from ``snu_forward``, the initial state at index 0.
    That state is a constant: the gradient stops there (truncated BPTT when a
    stateful layer carries it over from the previous batch).
    """
    du_next = np.zeros_like(s[0])                 # δu_{T+1} = 0: no step after the last
    dx = np.zeros_like(x)
    for t in reversed(range(len(x))):             # x[t] is the input of step t + 1
        du_next, dx[t] = snu_step_backward(dy[t], du_next, x[t], s[t], y[t], s[t + 1], y[t + 1],
                                           W, b, decay, grads, H, **options)
    return dx
