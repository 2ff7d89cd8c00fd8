"""The SNU engine: the whole time loop, forward and backward, compiled by Numba.

Same math as ``snu_reference.py`` (read that first: it carries the equations
and the derivation), arranged for speed:

- The input current x_t W of a feed-forward layer is computed for all t at
  once, as one matrix product, before the loop; after the loop ∂L/∂W and ∂L/∂x
  are two more products. Only the elementwise recurrence runs step by step.
- The recurrent unit adds y_{t-1} H inside the loop (one small product per
  step, through BLAS) and, going back, δu_{t+1} Hᵀ.
- State arrays are padded in time: ``s[0]``, ``y[0]`` hold the initial state
  (zeros), so step t reads its previous state at index t and writes at t + 1,
  without a special case for the first step.
- Every constant is made in the array's dtype (``one``, ``zero``), because a
  bare literal would silently turn float32 arithmetic into float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .surrogate import pseudo_derivative_scalar

#: codes of the input activation g inside the kernels
G_CODES = {"relu": 0, "identity": 1, "leaky_relu": 2}


@njit(cache=True, inline="always")
def _g(u, g_code, slope, zero):
    """s = g(u)."""
    if g_code == 1 or u > zero:
        return u
    if g_code == 0:
        return zero
    return slope * u


@njit(cache=True, inline="always")
def _g_prime(s, g_code, slope, zero, one):
    """g'(u) read off s = g(u): u > 0 exactly when s > 0."""
    if g_code == 1 or s > zero:
        return one
    if g_code == 0:
        return zero
    return slope


@njit(cache=True, parallel=True, error_model="numpy")
def snu_forward_loop(a, H, b, decay, soft, g_code, g_slope, lateral, s, y):
    """Fill s[1..T] and y[1..T] (membrane and output) from the input current a.

    a : (T, B, n) current x_t W; the recurrent term y_{t-1} H is added in place.
    H : (n, n) recurrent weights, or an empty (0, 0) array for a feed-forward unit.
    s, y : (T + 1, B, n); s[0], y[0] are the initial state.

    Samples are independent within a step, so the batch runs in parallel.
    """
    T, B, n = a.shape
    zero, one = s.dtype.type(0), s.dtype.type(1)
    slope = s.dtype.type(g_slope)
    recurrent = H.shape[0] > 0
    rec = np.empty((B, n), s.dtype)
    for t in range(T):
        if recurrent:
            np.dot(y[t], H, rec)
            a[t] += rec                                   # a_t = x_t W + y_{t-1} H
        for i in prange(B):
            a_t, s_prev, y_prev = a[t, i], s[t, i], y[t, i]
            s_t, y_t = s[t + 1, i], y[t + 1, i]
            gate = one - np.max(y_prev) if lateral else one   # 1 − max_j y_{t-1,j}
            for j in range(n):
                if not lateral:
                    gate = one - y_prev[j]                # 1 − y_{t-1}
                st = _g(a_t[j] + decay[j] * s_prev[j] * gate, g_code, slope, zero)
                v = st + b[j]
                s_t[j] = st                               # s_t = g(u_t)
                if soft:
                    y_t[j] = one / (one + np.exp(-v))     # y_t = σ(s_t + b)
                else:
                    y_t[j] = one if v > zero else zero    # y_t = step(s_t + b)


@njit(cache=True, parallel=True, error_model="numpy")
def snu_backward_loop(dy, s, y, HT, b, decay, soft, g_code, g_slope, surrogate_code,
                      surrogate_k, detach_reset, lateral, du, db, ddecay):
    """Backpropagation through time for t = T..1: fill δu, add into db and ddecay.

    dy : (T, B, n) ∂L/∂y_t from above.
    s, y : (T + 1, B, n) the padded forward states.
    HT : (n, n) Hᵀ (contiguous), or an empty (0, 0) array for a feed-forward unit.
    du : (T, B, n) output, δu_t = ∂L/∂u_t; then ∂L/∂W, ∂L/∂H, ∂L/∂x are products.
    db, ddecay : (n,) ∂L/∂b and ∂L/∂l are added into these.
    """
    T, B, n = dy.shape
    zero, one = s.dtype.type(0), s.dtype.type(1)
    slope, k = s.dtype.type(g_slope), s.dtype.type(surrogate_k)
    recurrent = HT.shape[0] > 0
    rec = np.zeros((B, n), s.dtype)
    db_sum = np.zeros((B, n))    # per-sample float64 sums: no race between threads,
    dl_sum = np.zeros((B, n))    # and no float32 round-off over T·B terms
    du_next = np.zeros((B, n), s.dtype)                   # δu_{T+1} = 0
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            du_next = du[t + 1]
            if recurrent:
                np.dot(du_next, HT, rec)                  # δu_{t+1} Hᵀ
        for i in prange(B):
            s_t, y_t, s_prev, y_prev = s[t + 1, i], y[t + 1, i], s[t, i], y[t, i]
            dn, du_t, dy_t, rec_i = du_next[i], du[t, i], dy[t, i], rec[i]
            jmax, lateral_reset = 0, zero
            gate_next = gate_now = one
            if lateral:
                jmax = np.argmax(y_t)                     # the unit that sets the gate of t+1
                gate_next = one - y_t[jmax]
                gate_now = one - np.max(y_prev)
                if not detach_reset:
                    lateral_reset = np.sum(dn * decay * s_t)
            for j in range(n):
                gy = dy_t[j] + rec_i[j]                   # dY_t + δu_{t+1} Hᵀ
                if not detach_reset:                      # reset path: − δu_{t+1} l s_t
                    if not lateral:
                        gy -= dn[j] * decay[j] * s_t[j]
                    elif j == jmax:
                        gy -= lateral_reset
                if soft:
                    h_prime = y_t[j] * (one - y_t[j])     # σ'(v) = y (1 − y)
                else:
                    h_prime = pseudo_derivative_scalar(s_t[j] + b[j], surrogate_code, k, one)
                gv = gy * h_prime                         # ∂L/∂v_t
                if not lateral:
                    gate_next = one - y_t[j]
                    gate_now = one - y_prev[j]
                gs = gv + dn[j] * decay[j] * gate_next    # ∂L/∂s_t
                d = gs * _g_prime(s_t[j], g_code, slope, zero, one)   # δu_t = gs ⊙ g'(u_t)
                du_t[j] = d
                db_sum[i, j] += gv
                dl_sum[i, j] += d * s_prev[j] * gate_now  # δu_t ⊙ s_{t-1} ⊙ (1 − y_{t-1})
    db += db_sum.sum(axis=0).astype(db.dtype)
    ddecay += dl_sum.sum(axis=0).astype(ddecay.dtype)
