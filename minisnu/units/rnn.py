r"""The vanilla (Elman) recurrent layer with tanh: equations, hand-derived BPTT, code.

The simplest of the recurrent baselines the SNU is compared with (``lstm.py``
and ``gru.py`` hold the other two). What every temporal unit shares (the carried
state, the engines, the products outside the loop) is in ``temporal.py``.

Forward, for t = 1..T from the initial state h_0 (zeros, or a carried state):

.. math::

    a_t &= x_t W + h_{t-1} U + b         &&\quad \text{pre-activation, (B, n)} \\
    h_t &= \tanh(a_t)                    &&\quad \text{hidden state, which is also the output}

x_t is (B, n_in), W (n_in, n) starts Glorot uniform, U (n, n) a random
orthogonal matrix, b zero.

Backward: the derivation
------------------------
The layer above gives dY_t = ∂L/∂h_t for the direct use of h_t. But h_t also
enters the next step, :math:`a_{t+1} = … + h_t U`, so the loss reaches h_t twice.
Writing :math:`δa_t = ∂L/∂a_t`, and :math:`δa_{T+1} = 0` (no step after the last):

.. math::

    dh_t &= dY_t + δa_{t+1} U^\top        &&\quad ∂L/∂h_t\text{: from above, and from step } t + 1 \\
    δa_t &= dh_t ⊙ (1 − h_t^2)            &&\quad \tanh'(a) = 1 − \tanh^2(a)\text{, read off } h_t

That recurrence is all of backpropagation through time: run it for t = T down
to 1. W, U and b are used at every step, so their gradients sum over the steps
(and over the batch, which the matrix products do):

.. math::

    ∂L/∂W &= Σ_t x_t^\top δa_t \qquad ∂L/∂U = Σ_t h_{t-1}^\top δa_t \\
    ∂L/∂b &= Σ_t Σ_{\text{batch}}\, δa_t \qquad ∂L/∂x_t = δa_t W^\top

h_0 is a constant: zeros, or the state carried over from the previous call
(``stateful=True``), whose gradient is not followed back into that call
(truncated BPTT, as in language modelling). So :math:`δa_1 U^\top` is never needed.

Why this unit forgets: :math:`dh_{t-1} = (dh_t ⊙ (1 − h_t^2))\, U^\top`, so a gradient that
travels k steps back is multiplied by k such factors, and shrinks (or grows)
geometrically. An orthogonal U at least starts without shrinking or growing;
the LSTM and the GRU add a path along which the gradient is not squashed.

Implementation
--------------
``rnn_forward`` / ``rnn_backward`` are the reference: NumPy, one time step per
loop iteration, line by line the equations above (``engine="reference"``).
The layer's default engine (``engine="numba"``) computes the same, faster
(the layout of every unit, see ``temporal.py``):

- x_t W for all t is one matrix product before the loop (T·B rows); after the
  loop ∂L/∂W, ∂L/∂U and ∂L/∂x are one product each.
- Only what is truly sequential stays in the Python loop over t: the product
  with U (:math:`h_{t-1} U` forward, :math:`δa_t U^\top` backward, by NumPy's BLAS) and then a
  Numba kernel for the elementwise rest of the step.
- States are padded in time: h[0] holds h_0 and h[t] holds h_t, so the step
  that writes h[t + 1] reads h[t] without a special case for the first step,
  and h[:-1] is every :math:`h_{t-1}` at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.functions import tanh_scalar
from ..core.registry import register_layer
from ..core.validate import as_rng
from .recurrence import compiled_recurrence, row_product
from .temporal import TemporalLayer, padded

# -- the reference: NumPy, one step at a time ------------------------------------------


def rnn_forward(x, W, U, b, h0):
    r""":math:`h_t = \tanh(x_t W + h_{t-1} U + b)` for t = 1..T; returns every h_t, (T, B, n).

    x : (T, B, n_in) the input; h0 : (B, n) the initial state h_0.
    """
    h = np.empty((len(x),) + h0.shape, h0.dtype)
    h_prev = h0
    for t in range(len(x)):
        h[t] = np.tanh(x[t] @ W + h_prev @ U + b)   # h_t = tanh(a_t)
        h_prev = h[t]
    return h


def rnn_backward(dy, x, h, h0, W, U, grads):
    r"""Backpropagation through time; adds ∂L/∂W, ∂L/∂U, ∂L/∂b into ``grads``, returns ∂L/∂x.

    .. math::

        dh_t &= dY_t + δa_{t+1} U^\top \\
        δa_t &= dh_t ⊙ (1 − h_t^2)

    dy : (T, B, n) ∂L/∂h_t from the layer above; h : (T, B, n) the forward states.
    """
    dx = np.empty_like(x)
    dh_next = np.zeros_like(h0)                  # δa_{t+1} Uᵀ: zero after the last step
    for t in reversed(range(len(x))):
        h_prev = h[t - 1] if t > 0 else h0
        dh = dy[t] + dh_next                     # backprop into h_t: from above and from step t+1
        da = dh * (1 - h[t] ** 2)                # backprop through tanh: tanh' = 1 − tanh²
        grads["W"] += x[t].T @ da                # ∂L/∂W += x_tᵀ δa_t
        grads["U"] += h_prev.T @ da              # ∂L/∂U += h_{t-1}ᵀ δa_t
        grads["b"] += da.sum(axis=0)             # ∂L/∂b += Σ_batch δa_t
        dx[t] = da @ W.T                         # ∂L/∂x_t = δa_t Wᵀ
        dh_next = da @ U.T                       # on to h_{t-1}
    return dx


# -- the compiled elementwise part of a step -----------------------------------------
#
# Every constant is made in the array's dtype (``one``): a bare literal would turn
# float32 arithmetic into float64 (see ``minisnu.core.functions``).


@njit(cache=True, error_model="numpy")
def rnn_step_forward(a, q, b, h):
    """h_t = tanh(a + q + b) into h, with a = x_t W and :math:`q = h_{t-1} U`, all (B, n); b (n,)."""
    B, n = h.shape
    f32 = h.itemsize == 4
    for s in range(B):
        for j in range(n):
            h[s, j] = tanh_scalar(a[s, j] + q[s, j] + b[j], f32)


@njit(cache=True, error_model="numpy")
def rnn_step_backward(dy, dh_next, h, da):
    r"""δa_t = (dY_t + dh_next) ⊙ (1 − h_t²) into da; dh_next = :math:`δa_{t+1} U^\top`. All (B, n)."""
    B, n = h.shape
    one = h.dtype.type(1)
    for s in range(B):
        for j in range(n):
            da[s, j] = (dy[s, j] + dh_next[s, j]) * (one - h[s, j] * h[s, j])


@njit(cache=True, error_model="numpy")
def rnn_forward_loop(a, U, b, h):
    """All T steps compiled, for small layers (``recurrence.py``): :math:`q = h_{t-1} U`, then the
    step."""
    q = np.empty_like(h[0])
    for t in range(a.shape[0]):                           # reads h[t], writes h[t + 1]
        row_product(q, h[t], U)                           # h_{t-1} U
        rnn_step_forward(a[t], q, b, h[t + 1])


@njit(cache=True, error_model="numpy")
def rnn_backward_loop(dy, UT, h, da):
    """All T steps of BPTT compiled; UT is Uᵀ, contiguous."""
    dh_next = np.zeros_like(h[0])                         # δa_{t+1} Uᵀ, zero after the last step
    for t in range(dy.shape[0] - 1, -1, -1):
        rnn_step_backward(dy[t], dh_next, h[t + 1], da[t])
        if t > 0:                                         # h_0 is a constant
            row_product(dh_next, da[t], UT)


# -- the layer -----------------------------------------------------------------------


@register_layer
class RNN(TemporalLayer):
    r"""A layer of vanilla recurrent units: :math:`h_t = \tanh(x_t W + h_{t-1} U + b)`.

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
        seed or ``numpy.random.Generator``: Glorot-uniform W, orthogonal U.
    engine : str
        ``"numba"`` (compiled steps) or ``"reference"`` (``rnn_forward``).

    Examples
    --------
    >>> layer = RNN(28, 128, rng=0)
    >>> h = layer.forward(x)        # x: (T, B, 28) -> h: (T, B, 128)
    >>> dx = layer.backward(dh)     # adds into layer.grads["W"], ["U"], ["b"]
    """

    def __init__(self, n_in, n_out, stateful=False, dtype=np.float32, rng=0, *, engine="numba"):
        super().__init__(n_in, n_out, stateful=stateful, dtype=dtype, engine=engine)
        self._add_gated_params(as_rng(rng), n_gates=1)

    def _forward_reference(self, x, initial):
        (h0,) = initial
        h = rnn_forward(x, self.params["W"], self.params["U"], self.params["b"], h0)
        return (padded(h0, h),), None

    def _forward_numba(self, x, initial):
        U, b = self.params["U"], self.params["b"]
        a = self._input_products(x)                       # x_t W, all t in one product
        (h,) = self._padded_states(len(x), initial)
        if compiled_recurrence(x.shape[1], U):             # small: the whole loop compiled
            rnn_forward_loop(a, U, b, h)
            return (h,), None
        q = np.empty_like(h[0])
        for t in range(len(x)):                           # reads h[t], writes h[t + 1]
            np.matmul(h[t], U, out=q)                     # h_{t-1} U
            rnn_step_forward(a[t], q, b, h[t + 1])        # h_t = tanh(x_t W + h_{t-1} U + b)
        return (h,), None

    def _backward_reference(self, dy, x, states, saved):
        (h,) = states
        return rnn_backward(dy, x, h[1:], h[0], self.params["W"], self.params["U"], self.grads)

    def _backward_numba(self, dy, x, states, saved):
        (h,) = states
        UT = self.params["U"].T
        da = np.empty_like(dy)
        if compiled_recurrence(x.shape[1], UT):           # small: the whole loop compiled
            rnn_backward_loop(dy, np.ascontiguousarray(UT), h, da)
            return self._gradients_after_loop(x, states, da)
        dh_next = np.zeros_like(h[0])                     # δa_{t+1} Uᵀ, zero after the last step
        for t in reversed(range(len(x))):
            rnn_step_backward(dy[t], dh_next, h[t + 1], da[t])
            if t > 0:                                     # h_0 is a constant
                np.matmul(da[t], UT, out=dh_next)
        return self._gradients_after_loop(x, states, da)
