r"""The GRU layer (Cho et al. 2014), in the "reset after" form of cuDNN and PyTorch.

Forward, for t = 1..T from the initial state h_0 (zeros, or carried). Write the
input part a_t = x_t W + b and the recurrent part :math:`q_t = h_{t-1} U`, both (B, 3n)
in three blocks of n columns for the gates r, z and the candidate n:

.. math::

    r_t &= σ(a^r_t + q^r_t)                      &&\quad \text{reset gate} \\
    z_t &= σ(a^z_t + q^z_t)                      &&\quad \text{update gate} \\
    n_t &= \tanh(a^n_t + r_t ⊙ q^n_t)            &&\quad \text{candidate state} \\
    h_t &= (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}       &&\quad \text{hidden state, which is also the output}

σ is the logistic sigmoid. W is (n_in, 3n), U (n, 3n), b (3n,), the blocks in
the order r, z, n; W starts Glorot uniform, U as three orthogonal blocks, b zero.

Which GRU this is
-----------------
Cho et al. apply the reset gate to the state *before* the product:
:math:`n_t = \tanh(x_t W^n + (r_t ⊙ h_{t-1}) U^n + b^n)`. Here, as in cuDNN, PyTorch
(``torch.nn.GRU``) and Keras (``reset_after=True``), it is applied *after*
it: :math:`r_t ⊙ (h_{t-1} U^n)`. Then the three products :math:`h_{t-1} U` are one matrix
product at the start of the step; the original needs a second one, which has
to wait for r_t. The two forms are different functions: weights trained in one
do not carry over to the other.

PyTorch has two biases, b_ih and b_hh. For r and z only their sum matters
(one b here); its b_hn, inside the reset, :math:`r ⊙ (h U^n + b_{hn})`, has no
counterpart here: this layer is PyTorch's GRU with b_hn = 0 (its weights
load as :math:`W = W_{ih}^\top,\; U = W_{hh}^\top,\; b = b_{ih} + [b_{hr}, b_{hz}, 0]` when
b_hn = 0).
In both, as in Cho et al., z is the weight of the old state.

Backward: the derivation
------------------------
h_t reaches the loss directly (dY_t) and in two ways through step t + 1: in
the mix :math:`z_{t+1} ⊙ h_t` and in the product :math:`q_{t+1} = h_t U`. With :math:`δa_t = ∂L/∂a_t`,
:math:`δq_t = ∂L/∂q_t`, and all of them zero after the last step:

.. math::

    dh_t = dY_t + dh_{t+1} ⊙ z_{t+1} + δq_{t+1} U^\top    \qquad ∂L/∂h_t

Write :math:`h_t = n_t + z_t ⊙ (h_{t-1} − n_t)`, then go back through each gate
(σ' = σ(1 − σ), tanh' = 1 − tanh²):

.. math::

    δa^n_t &= dh_t ⊙ (1 − z_t) ⊙ (1 − n_t^2) \\
    δa^z_t &= dh_t ⊙ (h_{t-1} − n_t) ⊙ z_t (1 − z_t) \\
    δa^r_t &= δa^n_t ⊙ q^n_t ⊙ r_t (1 − r_t)       \qquad (n_t = \tanh(a^n + r ⊙ q^n))

q enters r and z exactly as a does, but the candidate only through :math:`r_t ⊙ q^n_t`:

.. math::

    δq_t = [δa^r_t,\; δa^z_t,\; δa^n_t ⊙ r_t]

and the parameters and the input collect their terms over the steps:

.. math::

    ∂L/∂W &= Σ_t x_t^\top δa_t \qquad ∂L/∂b = Σ_t Σ_{\text{batch}}\, δa_t \\
    ∂L/∂U &= Σ_t h_{t-1}^\top δq_t \qquad ∂L/∂x_t = δa_t W^\top

The term dh_t ⊙ z_t of :math:`dh_{t-1}` has, like the LSTM's cell path, no squashing
derivative and no weight matrix: while z ≈ 1 the gradient passes unchanged.
h_0 is a constant: zeros, or the state carried over from the previous call
(``stateful=True``, truncated BPTT), whose gradient is not followed.

Implementation
--------------
``gru_forward`` / ``gru_backward`` are the reference (NumPy, one step per
loop iteration, ``engine="reference"``). The default engine computes x_t W for
all t in one product before the loop and ∂L/∂W, ∂L/∂U, ∂L/∂x in one product
each after it; in the loop, NumPy does :math:`h_{t-1} U` (or :math:`δq_t U^\top`) and a Numba
kernel the elementwise rest of the step (see ``temporal.py`` for the layout).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.functions import sigmoid, sigmoid_scalar, tanh_scalar
from ..core.registry import register_layer
from ..core.validate import as_rng
from .recurrence import compiled_recurrence, row_product
from .temporal import TemporalLayer, padded

# -- the reference: NumPy, one step at a time ------------------------------------------


def gru_forward(x, W, U, b, h0):
    r"""The GRU over t = 1..T; returns h (T, B, n), the gates (T, B, 3n) and :math:`q^n` (T, B, n).

    .. math::

        &r = σ(a^r + q^r), \quad z = σ(a^z + q^z), \quad n = \tanh(a^n + r ⊙ q^n) \\
        &h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} \qquad a = x_t W + b,\; q = h_{t-1} U

    The gates [r, z, n] and :math:`q^n = h_{t-1} U^n` are kept for the backward pass.
    """
    T, (B, n) = len(x), h0.shape
    h, qn = np.empty((T, B, n), h0.dtype), np.empty((T, B, n), h0.dtype)
    gates = np.empty((T, B, 3 * n), h0.dtype)
    h_prev = h0
    for t in range(T):
        a_r, a_z, a_n = np.split(x[t] @ W + b, 3, axis=1)   # the input part of each gate
        q_r, q_z, q_n = np.split(h_prev @ U, 3, axis=1)     # the recurrent part
        r = sigmoid(a_r + q_r)                   # reset gate
        z = sigmoid(a_z + q_z)                   # update gate
        cand = np.tanh(a_n + r * q_n)            # candidate n_t: r gates the recurrent input
        h[t] = (1 - z) * cand + z * h_prev       # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
        gates[t] = np.concatenate([r, z, cand], axis=1)
        qn[t] = q_n
        h_prev = h[t]
    return h, gates, qn


def gru_backward(dy, x, h, gates, qn, h0, W, U, grads):
    r"""Backpropagation through time; adds into ``grads``, returns ∂L/∂x.

    .. math::

        dh_t &= dY_t + dh_{t+1} ⊙ z_{t+1} + δq_{t+1} U^\top \\
        δa^n &= dh_t ⊙ (1 − z) ⊙ (1 − n^2) \\
        δa^z &= dh_t ⊙ (h_{t-1} − n) ⊙ z(1 − z) \\
        δa^r &= δa^n ⊙ q^n ⊙ r(1 − r) \\
        δa_t &= [δa^r, δa^z, δa^n], \qquad δq_t = [δa^r, δa^z, δa^n ⊙ r]
    """
    dx = np.empty_like(x)
    dh_next = np.zeros_like(h0)                  # dh_{t+1} ⊙ z_{t+1} + δq_{t+1} Uᵀ
    for t in reversed(range(len(x))):
        h_prev = h[t - 1] if t > 0 else h0
        r, z, cand = np.split(gates[t], 3, axis=1)
        dh = dy[t] + dh_next                     # backprop into h_t: from above and from step t+1
        da_n = dh * (1 - z) * (1 - cand**2)      # h = (1 − z) ⊙ n + …, then tanh' = 1 − n²
        da_z = dh * (h_prev - cand) * z * (1 - z)  # h = n + z ⊙ (h_{t-1} − n), σ' = σ(1 − σ)
        da_r = da_n * qn[t] * r * (1 - r)        # n = tanh(a^n + r ⊙ q^n)
        da = np.concatenate([da_r, da_z, da_n], axis=1)
        dq = np.concatenate([da_r, da_z, da_n * r], axis=1)  # q^n reaches n only through r ⊙ q^n
        grads["W"] += x[t].T @ da                # ∂L/∂W += x_tᵀ δa_t
        grads["b"] += da.sum(axis=0)             # ∂L/∂b += Σ_batch δa_t
        grads["U"] += h_prev.T @ dq              # ∂L/∂U += h_{t-1}ᵀ δq_t
        dx[t] = da @ W.T                         # ∂L/∂x_t = δa_t Wᵀ
        dh_next = dh * z + dq @ U.T              # on to h_{t-1}: through z ⊙ h_{t-1} and q_t
    return dx


# -- the compiled elementwise part of a step -----------------------------------------


@njit(cache=True, error_model="numpy")
def gru_step_forward(a, q, b, h_prev, h, qn):
    r"""The gates and h_t of one step. a (B, 3n) holds x_t W on entry, the gates r, z, n on exit.

    .. math::

        &r = σ(a^r + q^r), \quad z = σ(a^z + q^z), \quad n = \tanh(a^n + r ⊙ q^n) \\
        &h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} \qquad a = x_t W + b

    q (B, 3n) = :math:`h_{t-1} U`; its block :math:`q^n` is copied into qn (B, n) for the backward pass.
    One short loop per equation, so that each vectorizes (see ``lstm_step_forward``).
    """
    B, n = h.shape
    one, f32 = h.dtype.type(1), h.itemsize == 4
    for s in range(B):
        gs, qs = a[s], q[s]
        r, z, cand = gs[:n], gs[n:2 * n], gs[2 * n:]      # views into a
        for j in range(2 * n):                            # r and z, side by side
            gs[j] = sigmoid_scalar(gs[j] + b[j] + qs[j], one, f32)
        for j in range(n):
            qn[s, j] = qs[2 * n + j]
        for j in range(n):
            cand[j] = tanh_scalar(cand[j] + b[2 * n + j] + r[j] * qn[s, j], f32)
        for j in range(n):
            h[s, j] = (one - z[j]) * cand[j] + z[j] * h_prev[s, j]


@njit(cache=True, error_model="numpy")
def gru_step_backward(dy, dh_mix, dh_rec, gates, h_prev, qn, da, dq):
    r"""δa_t and δq_t of one step, into da and dq (B, 3n).

    .. math::

        dh_t &= dY_t + \text{dh_mix} + \text{dh_rec} \\
             &\qquad (\text{dh_mix} = dh_{t+1} ⊙ z_{t+1},\; \text{dh_rec} = δq_{t+1} U^\top) \\
        δa^n &= dh_t ⊙ (1 − z) ⊙ (1 − n^2) \\
        δa^z &= dh_t ⊙ (h_{t-1} − n) ⊙ z(1 − z) \\
        δa^r &= δa^n ⊙ q^n ⊙ r(1 − r) \\
        δq   &= [δa^r, δa^z, δa^n ⊙ r]

    dh_mix (B, n) is updated in place to dh_t ⊙ z_t, for step t − 1.
    """
    B, n = h_prev.shape
    one = h_prev.dtype.type(1)
    dh = np.empty(n, h_prev.dtype)
    for s in range(B):
        r, z, cand = gates[s, :n], gates[s, n:2 * n], gates[s, 2 * n:]
        da_r, da_z, da_n = da[s, :n], da[s, n:2 * n], da[s, 2 * n:]
        for j in range(n):
            dh[j] = dy[s, j] + dh_mix[s, j] + dh_rec[s, j]
        for j in range(n):
            da_n[j] = dh[j] * (one - z[j]) * (one - cand[j] * cand[j])
        for j in range(n):
            da_z[j] = dh[j] * (h_prev[s, j] - cand[j]) * z[j] * (one - z[j])
        for j in range(n):
            da_r[j] = da_n[j] * qn[s, j] * r[j] * (one - r[j])
        for j in range(2 * n):                            # q^r, q^z enter as a^r, a^z do
            dq[s, j] = da[s, j]
        for j in range(n):
            dq[s, 2 * n + j] = da_n[j] * r[j]
        for j in range(n):
            dh_mix[s, j] = dh[j] * z[j]


@njit(cache=True, error_model="numpy")
def gru_forward_loop(gates, U, b, h, qn):
    """All T steps compiled, for small layers (``recurrence.py``): :math:`q = h_{t-1} U`, then the
    step."""
    q = np.empty_like(gates[0])
    for t in range(gates.shape[0]):                       # reads h[t], writes h[t + 1]
        row_product(q, h[t], U)                           # h_{t-1} U, all three blocks
        gru_step_forward(gates[t], q, b, h[t], h[t + 1], qn[t])


@njit(cache=True, error_model="numpy")
def gru_backward_loop(dy, UT, gates, h, qn, da, dq):
    """All T steps of BPTT compiled; UT is Uᵀ, contiguous."""
    dh_mix = np.zeros_like(h[0])                          # dh_{t+1} ⊙ z_{t+1}
    dh_rec = np.zeros_like(h[0])                          # δq_{t+1} Uᵀ
    for t in range(dy.shape[0] - 1, -1, -1):
        gru_step_backward(dy[t], dh_mix, dh_rec, gates[t], h[t], qn[t], da[t], dq[t])
        if t > 0:                                         # h_0 is a constant
            row_product(dh_rec, dq[t], UT)


# -- the layer -----------------------------------------------------------------------


@register_layer
class GRU(TemporalLayer):
    """A layer of GRUs, reset gate applied after the recurrent product (cuDNN/PyTorch form).

    Parameters
    ----------
    n_in, n_out : int
        input features and units.
    stateful : bool
        carry the final state of a forward pass over as the initial
        state of the next (truncated BPTT); ``reset_state()`` starts afresh.
        Otherwise every pass starts from ``state``: zeros unless one is given.
    dtype : numpy dtype
        float32 (default) or float64.
    rng : int or numpy.random.Generator
        seed or ``numpy.random.Generator``: Glorot-uniform W, orthogonal U blocks.
    engine : str
        ``"numba"`` (compiled steps) or ``"reference"`` (``gru_forward``).

    Examples
    --------
    >>> layer = GRU(28, 128, rng=0)
    >>> h = layer.forward(x)        # x: (T, B, 28) -> h: (T, B, 128)
    >>> dx = layer.backward(dh)     # adds into layer.grads["W"], ["U"], ["b"]
    """

    def __init__(self, n_in, n_out, stateful=False, dtype=np.float32, rng=0, *, engine="numba"):
        super().__init__(n_in, n_out, stateful=stateful, dtype=dtype, engine=engine)
        self._add_gated_params(as_rng(rng), n_gates=3)

    def _forward_reference(self, x, initial):
        (h0,) = initial
        h, gates, qn = gru_forward(x, self.params["W"], self.params["U"], self.params["b"], h0)
        return (padded(h0, h),), (gates, qn)

    def _forward_numba(self, x, initial):
        U, b = self.params["U"], self.params["b"]
        gates = self._input_products(x)                   # x_t W, all t; the kernel makes them gates
        (h,) = self._padded_states(len(x), initial)
        qn = np.empty_like(h[1:])
        if compiled_recurrence(x.shape[1], U):             # small: the whole loop compiled
            gru_forward_loop(gates, U, b, h, qn)
            return (h,), (gates, qn)
        q = np.empty_like(gates[0])
        for t in range(len(x)):                           # reads h[t], writes h[t + 1]
            np.matmul(h[t], U, out=q)                     # h_{t-1} U, all three blocks
            gru_step_forward(gates[t], q, b, h[t], h[t + 1], qn[t])
        return (h,), (gates, qn)

    def _backward_reference(self, dy, x, states, saved):
        (h,), (gates, qn) = states, saved
        return gru_backward(dy, x, h[1:], gates, qn, h[0], self.params["W"],
                            self.params["U"], self.grads)

    def _backward_numba(self, dy, x, states, saved):
        (h,), (gates, qn) = states, saved
        UT = self.params["U"].T
        da, dq = np.empty_like(gates), np.empty_like(gates)
        if compiled_recurrence(x.shape[1], UT):           # small: the whole loop compiled
            gru_backward_loop(dy, np.ascontiguousarray(UT), gates, h, qn, da, dq)
            return self._gradients_after_loop(x, states, da, dq)
        dh_mix = np.zeros_like(h[0])                      # dh_{t+1} ⊙ z_{t+1}
        dh_rec = np.zeros_like(h[0])                      # δq_{t+1} Uᵀ
        for t in reversed(range(len(x))):
            gru_step_backward(dy[t], dh_mix, dh_rec, gates[t], h[t], qn[t], da[t], dq[t])
            if t > 0:                                     # h_0 is a constant
                np.matmul(dq[t], UT, out=dh_rec)
        return self._gradients_after_loop(x, states, da, dq)
