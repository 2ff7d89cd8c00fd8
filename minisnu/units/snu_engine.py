r"""The SNU engine: the time loop, forward and backward, compiled by Numba.

Same math as ``snu_reference.py`` (read that first: it carries the equations
and the derivation), arranged for speed:

- The input current x_t W of a feed-forward layer is computed for all t at
  once, as one matrix product, before the loop; after the loop ∂L/∂W and ∂L/∂x
  are two more products. Only the elementwise recurrence runs step by step.
- The kernels run any range of steps [t_start, t_end). A feed-forward layer
  calls each once for the whole sequence. The recurrent unit needs a matrix
  product at every step (:math:`y_{t-1} H` going forward, :math:`δu_{t+1} H^\top` going back).
  For a small layer (see ``recurrence.py``) the whole loop runs compiled,
  products included (``snu_forward_recurrent``, ``snu_backward_recurrent``),
  and :math:`y_{t-1} H` of spiking units sums only the rows of H of the units that
  fired. For a large one the layer loops over t in Python, calls the kernels
  one step at a time and leaves the products to BLAS.
- State arrays are padded in time: ``s[0]``, ``y[0]`` hold the initial state
  (zeros), so step t reads its previous state at index t and writes at t + 1,
  without a special case for the first step.
- No array holds the reset gate: a unit's gate :math:`1 − y_{t-1}` is read from y
  (with lateral inhibition the shared :math:`1 − \max_j y_{t-1,j}` is kept, one number
  per sample and step), and backward computes h'(s_t + b) where it uses it
  instead of in a pass of its own. On a ConvSNU's 35 million unit-steps per
  batch each array pass saved is about 20 ms. g is a two-piece line and the
  options are fixed per call, so the inner loops have no branch that depends
  on the data and vectorize.
- The loops are serial on purpose: with Numba's threads and OpenBLAS's threads
  both spinning on the same two cores, a parallel version ran 2–3× slower.
- Every constant is made in the array's dtype (``one``, ``zero``), because a
  bare literal would silently turn float32 arithmetic into float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.functions import sigmoid_scalar, tanh_float32
from .recurrence import add_row_product
from .surrogate import pseudo_derivative_scalar


def negative_slope(g: str, g_slope: float) -> float:
    """g as a two-piece line: g(u) = u for u > 0, else slope·u (0 ReLU, 1 identity).

    The kernels use this form so that g and g' are a single select, which
    keeps the inner loops free of branches (and so vectorizable).
    """
    return {"relu": 0.0, "identity": 1.0, "leaky_relu": g_slope}[g]


@njit(cache=True, error_model="numpy", inline="always")
def output_derivative(s, y, b, soft, fast_tanh, surrogate_code, k, one):
    """h'(v) at v = s + b for one unit and step: y(1 − y) for the sSNU's sigmoid, the chosen
    pseudo-derivative for the SNU.

    ``fast_tanh``: the paper's tanh surrogate in float32, through ``tanh_float32`` (libm's
    tanh is a scalar call that would cost more than all the rest of the backward loop).
    ``k`` and ``one`` come in the dtype of the arrays (see ``pseudo_derivative_scalar``).
    """
    if soft:
        return y * (one - y)
    if fast_tanh:
        th = tanh_float32(k * (s + b))
        return k * (one - th * th)                 # k (1 − tanh²(k v))
    return pseudo_derivative_scalar(s + b, surrogate_code, k, one)


@njit(cache=True, error_model="numpy")
def snu_forward_loop(a, b, decay, soft, neg_slope, lateral, s, y, shared_gate, t_start, t_end):
    r"""Fill s and y for the steps t_start..t_end − 1 from the current a.

    Parameters
    ----------
    a : (T, B, n)
        input current :math:`a_t = x_t W\; (+\, y_{t-1} H`, added by the caller).
    neg_slope : float
        g(u) = u for u > 0, else neg_slope·u (see ``negative_slope``).
    s, y : (T + 1, B, n)
        index 0 holds the initial state. Step t reads index t and writes index t + 1.
    shared_gate : (T + 1, B)
        used with lateral inhibition only: :math:`\text{shared_gate}[t, i] = 1 − \max_j
        y_{t,j}`, the reset gate of every unit of sample i at step t + 1 (index 0 from
        the caller, the rest filled here). Without lateral inhibition unit j's gate is
        its own :math:`1 − y_{t,j}`.
    """
    _, B, n = a.shape
    zero, one = s.dtype.type(0), s.dtype.type(1)
    neg = s.dtype.type(neg_slope)
    f32 = s.itemsize == 4          # σ through the fast tanh (``sigmoid_scalar``): it vectorizes
    for t in range(t_start, t_end):
        for i in range(B):
            for j in range(n):
                keep = shared_gate[t, i] if lateral else one - y[t, i, j]   # reset gate
                u = a[t, i, j] + decay[j] * s[t, i, j] * keep
                st = u if u > zero else neg * u           # s_t = g(u_t)
                s[t + 1, i, j] = st
                y[t + 1, i, j] = one if st + b[j] > zero else zero   # y_t = step(s_t + b)
            if soft:
                for j in range(n):                        # y_t = σ(s_t + b)
                    y[t + 1, i, j] = sigmoid_scalar(s[t + 1, i, j] + b[j], one, f32)
            if lateral:
                shared_gate[t + 1, i] = one - np.max(y[t + 1, i])


@njit(cache=True, error_model="numpy")
def snu_backward_loop(dy, s, y, shared_gate, b, soft, surrogate_code, surrogate_k, decay,
                      neg_slope, detach_reset, lateral, du, db, t_start, t_end):
    r"""Backpropagation through time for t = t_end − 1 down to t_start.

    Parameters
    ----------
    dy : (T, B, n)
        ∂L/∂y_t from above (:math:`+\, δu_{t+1} H^\top`, added by the caller).
    s, y, shared_gate
        the forward pass's, as ``snu_forward_loop`` left them.
    b, soft, surrogate_code, surrogate_k
        for h'(s_t + b) (``output_derivative``).
    du : (T, B, n)
        δu_t = ∂L/∂u_t, filled here; :math:`δu_{t+1}` is read from it
        (zero after the last step). ∂L/∂W, ∂L/∂H, ∂L/∂x are then products.
    db : (n,)
        ∂L/∂b is added into it. (:math:`∂L/∂l = Σ_t δu_t ⊙ s_{t-1} ⊙ \text{gate}_{t-1}`
        needs no recurrence: the layer sums it afterwards, only when l is trained.)
    """
    T, B, n = dy.shape
    zero, one = s.dtype.type(0), s.dtype.type(1)
    neg, k = s.dtype.type(neg_slope), s.dtype.type(surrogate_k)
    fast_tanh = surrogate_code == 0 and not soft and s.itemsize == 4
    # the reset path of unit j reaches y_t,j (its own gate), unless detached or lateral
    own_reset = zero if detach_reset or lateral else one
    # ∂L/∂b sums T·B terms: each step's B terms in the arrays' dtype (a float64 sum per
    # element stops the loop below from vectorizing: twice as slow), the steps in float64.
    db_sum = np.zeros(n)
    db_step = np.empty(n, s.dtype)
    du_next = np.zeros((B, n), s.dtype)                   # δu_{T+1} = 0
    for t in range(t_end - 1, t_start - 1, -1):
        if t < T - 1:
            du_next = du[t + 1]
        db_step[:] = 0
        for i in range(B):
            for j in range(n):
                st, yt, dn = s[t + 1, i, j], y[t + 1, i, j], du_next[i, j]
                keep = shared_gate[t + 1, i] if lateral else one - yt   # gate of step t + 1
                gy = dy[t, i, j] - own_reset * dn * decay[j] * st   # ∂L/∂y_t
                gv = gy * output_derivative(st, yt, b[j], soft, fast_tanh,
                                            surrogate_code, k, one)   # ∂L/∂v_t, v = s + b
                gs = gv + dn * decay[j] * keep            # ∂L/∂s_t
                d = gs * (one if st > zero else neg)      # δu_t = gs ⊙ g'(u_t)
                du[t, i, j] = d
                db_step[j] += gv
        if lateral and not detach_reset:   # a loop of its own, so that the one above vectorizes
            for i in range(B):
                # The shared gate 1 − max_j y_t,j passes its reset-path gradient,
                # −Σ_j δu_{t+1,j} l_j s_t,j, to the unit that set the maximum.
                jmax = np.argmax(y[t + 1, i])
                reset = zero
                for j in range(n):
                    reset += du_next[i, j] * decay[j] * s[t + 1, i, j]
                st = s[t + 1, i, jmax]
                gv = -reset * output_derivative(st, y[t + 1, i, jmax], b[jmax], soft, fast_tanh,
                                                surrogate_code, k, one)
                d = gv * (one if st > zero else neg)
                du[t, i, jmax] += d
                db_step[jmax] += gv
        for j in range(n):
            db_sum[j] += db_step[j]
    db += db_sum.astype(db.dtype)


# -- the recurrent unit's whole loop, products included (small layers) -------------------------


@njit(cache=True, error_model="numpy")
def snu_forward_recurrent(a, H, b, decay, soft, neg_slope, lateral, s, y, shared_gate):
    r"""The recurrent unit's forward pass over all T steps: :math:`a_t \mathrel{+}= y_{t-1} H`, then
    the step of ``snu_forward_loop``. a holds x_t W on entry (a_t on return); the rest as there."""
    for t in range(a.shape[0]):
        add_row_product(a[t], y[t], H)                         # + y_{t-1} H
        snu_forward_loop(a, b, decay, soft, neg_slope, lateral, s, y, shared_gate, t, t + 1)


@njit(cache=True, error_model="numpy")
def snu_backward_recurrent(dy, HT, s, y, shared_gate, b, soft, surrogate_code, surrogate_k, decay,
                           neg_slope, detach_reset, lateral, du, db):
    r"""The recurrent unit's BPTT over all T steps: :math:`dy_t \mathrel{+}= δu_{t+1} H^\top`, then
    the step of ``snu_backward_loop``. HT is Hᵀ, contiguous (rows of Hᵀ are what the product
    adds); dy is changed in place (the caller passes a copy)."""
    T = dy.shape[0]
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            add_row_product(dy[t], du[t + 1], HT)              # + δu_{t+1} Hᵀ
        snu_backward_loop(dy, s, y, shared_gate, b, soft, surrogate_code, surrogate_k, decay,
                          neg_slope, detach_reset, lateral, du, db, t, t + 1)
