r"""The LSTM layer (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

Forward, for t = 1..T from the initial state (h_0, c_0) (zeros, or carried):

.. math::

    z_t &= x_t W + h_{t-1} U + b         &&\quad \text{(B, 4n): one block of n columns per gate} \\
    i_t &= σ(z^i_t)                      &&\quad \text{input gate} \\
    f_t &= σ(z^f_t)                      &&\quad \text{forget gate} \\
    g_t &= \tanh(z^g_t)                  &&\quad \text{cell candidate} \\
    o_t &= σ(z^o_t)                      &&\quad \text{output gate} \\
    c_t &= f_t ⊙ c_{t-1} + i_t ⊙ g_t     &&\quad \text{cell} \\
    h_t &= o_t ⊙ \tanh(c_t)              &&\quad \text{hidden state, which is also the output}

σ is the logistic sigmoid. W is (n_in, 4n), U (n, 4n), b (4n,), the gates in
the order i, f, g, o (PyTorch's order). W starts Glorot uniform, U as four
orthogonal blocks, b zero except the forget block, which starts at
``forget_bias`` = 1: f ≈ σ(1) ≈ 0.73 at first, so the cell remembers and its
gradient flows far back from the start (Jozefowicz et al. 2015).

Backward: the derivation
------------------------
h_t reaches the loss directly (dY_t, from the layer above) and through
:math:`z_{t+1} = … + h_t U`. The cell c_t reaches it through :math:`h_t = o_t ⊙ \tanh(c_t)` and
through :math:`c_{t+1} = f_{t+1} ⊙ c_t + …`. With :math:`δz_t = ∂L/∂z_t`, and :math:`δz_{T+1} = 0`,
:math:`dc_{T+1} = 0` after the last step:

.. math::

    dh_t &= dY_t + δz_{t+1} U^\top                                  &&\quad ∂L/∂h_t \\
    dc_t &= dh_t ⊙ o_t ⊙ (1 − \tanh^2(c_t)) + dc_{t+1} ⊙ f_{t+1}    &&\quad ∂L/∂c_t

Then each gate, by the product rule on c_t and h_t and with σ' = σ(1 − σ),
tanh' = 1 − tanh²:

.. math::

    δz^i_t &= dc_t ⊙ g_t ⊙ i_t (1 − i_t) \\
    δz^f_t &= dc_t ⊙ c_{t-1} ⊙ f_t (1 − f_t) \\
    δz^g_t &= dc_t ⊙ i_t ⊙ (1 − g_t^2) \\
    δz^o_t &= dh_t ⊙ \tanh(c_t) ⊙ o_t (1 − o_t)

and, as for every unit whose input enters as :math:`x_t W + h_{t-1} U + b`,

.. math::

    ∂L/∂W &= Σ_t x_t^\top δz_t \qquad ∂L/∂U = Σ_t h_{t-1}^\top δz_t \\
    ∂L/∂b &= Σ_t Σ_{\text{batch}}\, δz_t \qquad ∂L/∂x_t = δz_t W^\top

The term dc_t ⊙ f_t of :math:`dc_{t-1}` (the cell path) has no squashing derivative
and no weight matrix: while f ≈ 1 the gradient passes along it unchanged, over
many steps (the "constant error carousel"). That is the point of the LSTM.

(h_0, c_0) is a constant: zeros, or the state carried over from the previous
call (``stateful=True``, truncated BPTT), whose gradient is not followed.

Implementation
--------------
``lstm_forward`` / ``lstm_backward`` are the reference (NumPy, one step per
loop iteration, ``engine="reference"``). The default engine computes x_t W for
all t in one product before the loop and ∂L/∂W, ∂L/∂U, ∂L/∂x in one product
each after it; in the loop, NumPy does :math:`h_{t-1} U` (or :math:`δz_t U^\top`) and a Numba
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


def lstm_forward(x, W, U, b, h0, c0):
    r"""The LSTM over t = 1..T; returns h, c (T, B, n) and the gates (T, B, 4n).

    .. math::

        i, f, g, o &= σ(z^i), σ(z^f), \tanh(z^g), σ(z^o), \qquad z = x_t W + h_{t-1} U + b \\
        c_t &= f ⊙ c_{t-1} + i ⊙ g \\
        h_t &= o ⊙ \tanh(c_t)

    The gates are returned as [i, f, g, o] side by side, for the backward pass.
    """
    T, (B, n) = len(x), h0.shape
    h, c = np.empty((T, B, n), h0.dtype), np.empty((T, B, n), h0.dtype)
    gates = np.empty((T, B, 4 * n), h0.dtype)
    h_prev, c_prev = h0, c0
    for t in range(T):
        zi, zf, zg, zo = np.split(x[t] @ W + h_prev @ U + b, 4, axis=1)  # z_t, in 4 blocks
        i = sigmoid(zi)                          # input gate: how much of g to write
        f = sigmoid(zf)                          # forget gate: how much of c_{t-1} to keep
        g = np.tanh(zg)                          # cell candidate
        o = sigmoid(zo)                          # output gate: how much of the cell to show
        c[t] = f * c_prev + i * g                # c_t = f ⊙ c_{t-1} + i ⊙ g
        h[t] = o * np.tanh(c[t])                 # h_t = o ⊙ tanh(c_t)
        gates[t] = np.concatenate([i, f, g, o], axis=1)
        h_prev, c_prev = h[t], c[t]
    return h, c, gates


def lstm_backward(dy, x, h, c, gates, h0, c0, W, U, grads):
    r"""Backpropagation through time; adds into ``grads``, returns ∂L/∂x.

    .. math::

        dh_t &= dY_t + δz_{t+1} U^\top \\
        dc_t &= dh_t ⊙ o ⊙ (1 − \tanh^2(c_t)) + dc_{t+1} ⊙ f_{t+1} \\
        δz_t &= [dc_t ⊙ g ⊙ i(1 − i),\;\; dc_t ⊙ c_{t-1} ⊙ f(1 − f), \\
             &\qquad dc_t ⊙ i ⊙ (1 − g^2),\;\; dh_t ⊙ \tanh(c_t) ⊙ o(1 − o)] \\
             &\qquad \text{(blocks i, f, g, o)}
    """
    dx = np.empty_like(x)
    dh_next = np.zeros_like(h0)                  # δz_{t+1} Uᵀ: zero after the last step
    dc_next = np.zeros_like(c0)                  # dc_{t+1} ⊙ f_{t+1}: likewise
    for t in reversed(range(len(x))):
        h_prev, c_prev = (h[t - 1], c[t - 1]) if t > 0 else (h0, c0)
        i, f, g, o = np.split(gates[t], 4, axis=1)
        tanh_c = np.tanh(c[t])
        dh = dy[t] + dh_next                     # backprop into h_t: from above and from step t+1
        dc = dc_next + dh * o * (1 - tanh_c**2)  # into c_t: through h_t and through c_{t+1}
        dz = np.concatenate([
            dc * g * i * (1 - i),                # δz^i: c = … + i ⊙ g, σ' = σ(1 − σ)
            dc * c_prev * f * (1 - f),           # δz^f: c = f ⊙ c_{t-1} + …
            dc * i * (1 - g**2),                 # δz^g: tanh' = 1 − tanh²
            dh * tanh_c * o * (1 - o),           # δz^o: h = o ⊙ tanh(c)
        ], axis=1)
        grads["W"] += x[t].T @ dz                # ∂L/∂W += x_tᵀ δz_t
        grads["U"] += h_prev.T @ dz              # ∂L/∂U += h_{t-1}ᵀ δz_t
        grads["b"] += dz.sum(axis=0)             # ∂L/∂b += Σ_batch δz_t
        dx[t] = dz @ W.T                         # ∂L/∂x_t = δz_t Wᵀ
        dh_next = dz @ U.T                       # on to h_{t-1}
        dc_next = dc * f                         # on to c_{t-1}, along the cell path
    return dx


# -- the compiled elementwise part of a step -----------------------------------------


@njit(cache=True, error_model="numpy")
def lstm_step_forward(z, q, b, c_prev, c, tanh_c, h):
    r"""The gates, c_t and h_t of one step. z (B, 4n) holds x_t W on entry, the gates on exit.

    .. math::

        i, f, g, o &= σ(z^i), σ(z^f), \tanh(z^g), σ(z^o), \\
        z &= x_t W + q + b, \qquad q = h_{t-1} U \\
        c_t &= f ⊙ c_{t-1} + i ⊙ g \\
        h_t &= o ⊙ \tanh(c_t)

    c_prev, c, tanh_c, h : (B, n); tanh(c_t) is kept for the backward pass.
    One short loop per equation: each touches few arrays, so LLVM vectorizes
    it. A single loop doing it all touches seven and does not (5× slower).
    """
    B, n = c.shape
    one, f32 = c.dtype.type(1), c.itemsize == 4
    for s in range(B):
        zs, qs = z[s], q[s]
        i, f, g, o = zs[:n], zs[n:2 * n], zs[2 * n:3 * n], zs[3 * n:]   # views into z
        for j in range(4 * n):
            zs[j] += qs[j] + b[j]
        for j in range(n):
            i[j] = sigmoid_scalar(i[j], one, f32)
        for j in range(n):
            f[j] = sigmoid_scalar(f[j], one, f32)
        for j in range(n):
            g[j] = tanh_scalar(g[j], f32)
        for j in range(n):
            o[j] = sigmoid_scalar(o[j], one, f32)
        for j in range(n):
            c[s, j] = f[j] * c_prev[s, j] + i[j] * g[j]
        for j in range(n):
            tanh_c[s, j] = tanh_scalar(c[s, j], f32)
        for j in range(n):
            h[s, j] = o[j] * tanh_c[s, j]


@njit(cache=True, error_model="numpy")
def lstm_step_backward(dy, dh_next, dc_next, gates, c_prev, tanh_c, dz):
    r"""δz_t of one step into dz (B, 4n); dc_next (B, n) goes from :math:`dc_{t+1} ⊙ f_{t+1}` to
    dc_t ⊙ f_t.

    .. math::

        dh_t &= dY_t + \text{dh_next}             \qquad (\text{dh_next} = δz_{t+1} U^\top) \\
        dc_t &= dh_t ⊙ o ⊙ (1 − \tanh^2(c_t)) + \text{dc_next} \\
        δz_t &= [dc_t ⊙ g ⊙ i(1 − i),\;\; dc_t ⊙ c_{t-1} ⊙ f(1 − f), \\
             &\qquad dc_t ⊙ i ⊙ (1 − g^2),\;\; dh_t ⊙ \tanh(c_t) ⊙ o(1 − o)]
    """
    B, n = c_prev.shape
    one = c_prev.dtype.type(1)
    dh, dc = np.empty(n, c_prev.dtype), np.empty(n, c_prev.dtype)
    for s in range(B):
        i, f, g, o = gates[s, :n], gates[s, n:2 * n], gates[s, 2 * n:3 * n], gates[s, 3 * n:]
        di, df, dg, do = dz[s, :n], dz[s, n:2 * n], dz[s, 2 * n:3 * n], dz[s, 3 * n:]
        tc = tanh_c[s]
        for j in range(n):
            dh[j] = dy[s, j] + dh_next[s, j]
        for j in range(n):
            dc[j] = dh[j] * o[j] * (one - tc[j] * tc[j]) + dc_next[s, j]
        for j in range(n):
            di[j] = dc[j] * g[j] * i[j] * (one - i[j])
        for j in range(n):
            df[j] = dc[j] * c_prev[s, j] * f[j] * (one - f[j])
        for j in range(n):
            dg[j] = dc[j] * i[j] * (one - g[j] * g[j])
        for j in range(n):
            do[j] = dh[j] * tc[j] * o[j] * (one - o[j])
        for j in range(n):
            dc_next[s, j] = dc[j] * f[j]


@njit(cache=True, error_model="numpy")
def lstm_forward_loop(gates, U, b, h, c, tanh_c):
    """All T steps compiled, for small layers (``recurrence.py``): :math:`q = h_{t-1} U`, then the
    step."""
    q = np.empty_like(gates[0])
    for t in range(gates.shape[0]):                       # reads h[t], c[t], writes h[t + 1], c[t + 1]
        row_product(q, h[t], U)                           # h_{t-1} U
        lstm_step_forward(gates[t], q, b, c[t], c[t + 1], tanh_c[t], h[t + 1])


@njit(cache=True, error_model="numpy")
def lstm_backward_loop(dy, UT, gates, c, tanh_c, dz):
    """All T steps of BPTT compiled; UT is Uᵀ, contiguous."""
    dh_next = np.zeros_like(c[0])                         # δz_{t+1} Uᵀ
    dc_next = np.zeros_like(c[0])                         # dc_{t+1} ⊙ f_{t+1}
    for t in range(dy.shape[0] - 1, -1, -1):
        lstm_step_backward(dy[t], dh_next, dc_next, gates[t], c[t], tanh_c[t], dz[t])
        if t > 0:                                         # (h_0, c_0) is a constant
            row_product(dh_next, dz[t], UT)


# -- the layer -----------------------------------------------------------------------


@register_layer
class LSTM(TemporalLayer):
    """A layer of LSTM units; the output is h_t, the cell c_t is kept in ``.cell``.

    Parameters
    ----------
    n_in, n_out : int
        input features and units.
    stateful : bool
        carry the final (h, c) of a forward pass over as the initial
        state of the next (truncated BPTT); ``reset_state()`` starts afresh.
        Otherwise every pass starts from ``state``: zeros unless one is given.
    dtype : numpy dtype
        float32 (default) or float64.
    rng : int or numpy.random.Generator
        seed or ``numpy.random.Generator``: Glorot-uniform W, orthogonal U blocks.
    forget_bias : float
        initial bias of the forget gate (default 1; the other gates start at 0).
    engine : str
        ``"numba"`` (compiled steps) or ``"reference"`` (``lstm_forward``).

    Examples
    --------
    >>> layer = LSTM(28, 128, rng=0)
    >>> h = layer.forward(x)            # x: (T, B, 28) -> h: (T, B, 128)
    >>> layer.output, layer.cell        # every step's h_t and c_t, for plotting
    >>> dx = layer.backward(dh)         # adds into layer.grads["W"], ["U"], ["b"]
    """

    state_names = ("h", "c")

    def __init__(self, n_in, n_out, stateful=False, dtype=np.float32, rng=0, *,
                 forget_bias=1.0, engine="numba"):
        super().__init__(n_in, n_out, stateful=stateful, dtype=dtype, engine=engine)
        self._add_gated_params(as_rng(rng), n_gates=4)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.number)):
            raise TypeError(f"forget_bias must be a number, got {type(forget_bias).__name__}")
        if not np.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias}")
        self.forget_bias = float(forget_bias)
        n = self.n_out
        self.params["b"][n:2 * n] = self.forget_bias     # the f block of i, f, g, o

    @property
    def cell(self) -> np.ndarray:
        """c_t of the last forward pass, (T, B, n_out)."""
        return self._record("c")

    def _forward_reference(self, x, initial):
        h0, c0 = initial
        h, c, gates = lstm_forward(x, self.params["W"], self.params["U"], self.params["b"], h0, c0)
        return (padded(h0, h), padded(c0, c)), (gates, None)

    def _forward_numba(self, x, initial):
        U, b = self.params["U"], self.params["b"]
        gates = self._input_products(x)                   # x_t W, all t; the kernel makes them gates
        h, c = self._padded_states(len(x), initial)
        tanh_c = np.empty_like(h[1:])
        if compiled_recurrence(x.shape[1], U):             # small: the whole loop compiled
            lstm_forward_loop(gates, U, b, h, c, tanh_c)
            return (h, c), (gates, tanh_c)
        q = np.empty_like(gates[0])
        for t in range(len(x)):                           # reads h[t], c[t], writes h[t + 1], c[t + 1]
            np.matmul(h[t], U, out=q)                     # h_{t-1} U
            lstm_step_forward(gates[t], q, b, c[t], c[t + 1], tanh_c[t], h[t + 1])
        return (h, c), (gates, tanh_c)

    def _backward_reference(self, dy, x, states, saved):
        (h, c), (gates, _) = states, saved
        return lstm_backward(dy, x, h[1:], c[1:], gates, h[0], c[0], self.params["W"],
                             self.params["U"], self.grads)

    def _backward_numba(self, dy, x, states, saved):
        (h, c), (gates, tanh_c) = states, saved
        UT = self.params["U"].T
        dz = np.empty_like(gates)
        if compiled_recurrence(x.shape[1], UT):           # small: the whole loop compiled
            lstm_backward_loop(dy, np.ascontiguousarray(UT), gates, c, tanh_c, dz)
            return self._gradients_after_loop(x, states, dz)
        dh_next = np.zeros_like(h[0])                     # δz_{t+1} Uᵀ
        dc_next = np.zeros_like(c[0])                     # dc_{t+1} ⊙ f_{t+1}
        for t in reversed(range(len(x))):
            lstm_step_backward(dy[t], dh_next, dc_next, gates[t], c[t], tanh_c[t], dz[t])
            if t > 0:                                     # (h_0, c_0) is a constant
                np.matmul(dz[t], UT, out=dh_next)
        return self._gradients_after_loop(x, states, dz)

    def config(self) -> dict:
        return super().config() | {"forget_bias": self.forget_bias}
