r"""The vanilla (Elman) recurrent layer with tanh: equations, hand-derived BPTT, code.

The simplest of the recurrent baselines the SNU is compared with (``lstm.py``
and ``gru.py`` hold the other two). This file also holds what the three share:
the ``RecurrentLayer`` base class (parameters, carried state, checks) and the
compiled tanh and sigmoid used inside their kernels.

Forward, for t = 1..T from the initial state h_0 (zeros, or a carried state):

    a_t = x_t W + h_{t-1} U + b          pre-activation, (B, n)
    h_t = tanh(a_t)                      hidden state, which is also the output

x_t is (B, n_in), W (n_in, n) starts Glorot uniform, U (n, n) a random
orthogonal matrix, b zero.

Backward: the derivation
------------------------
The layer above gives dY_t = ∂L/∂h_t for the direct use of h_t. But h_t also
enters the next step, a_{t+1} = … + h_t U, so the loss reaches h_t twice.
Writing δa_t = ∂L/∂a_t, and δa_{T+1} = 0 (no step after the last):

    dh_t = dY_t + δa_{t+1} Uᵀ          ∂L/∂h_t: from above, and from step t + 1
    δa_t = dh_t ⊙ (1 − h_t²)           tanh'(a) = 1 − tanh²(a), read off h_t

That recurrence is all of backpropagation through time: run it for t = T down
to 1. W, U and b are used at every step, so their gradients sum over the steps
(and over the batch, which the matrix products do):

    ∂L/∂W = Σ_t x_tᵀ δa_t      ∂L/∂U = Σ_t h_{t-1}ᵀ δa_t      ∂L/∂b = Σ_t Σ_batch δa_t
    ∂L/∂x_t = δa_t Wᵀ

h_0 is a constant: zeros, or the state carried over from the previous call
(``stateful=True``), whose gradient is not followed back into that call
(truncated BPTT, as in language modelling). So δa_1 Uᵀ is never needed.

Why this unit forgets: dh_{t-1} = (dh_t ⊙ (1 − h_t²)) Uᵀ, so a gradient that
travels k steps back is multiplied by k such factors, and shrinks (or grows)
geometrically. An orthogonal U at least starts without shrinking or growing;
the LSTM and the GRU add a path along which the gradient is not squashed.

Implementation
--------------
``rnn_forward`` / ``rnn_backward`` are the reference: NumPy, one time step per
loop iteration, line by line the equations above (``engine="reference"``).
The layer's default engine (``engine="numba"``) computes the same, faster:

- x_t W for all t is one matrix product before the loop (T·B rows); after the
  loop ∂L/∂W, ∂L/∂U and ∂L/∂x are one product each.
- Only what is truly sequential stays in the Python loop over t: the product
  with U (h_{t-1} U forward, δa_t Uᵀ backward, by NumPy's BLAS) and then a
  Numba kernel for the elementwise rest of the step.
- States are padded in time: h[0] holds h_0 and h[t] holds h_t, so the step
  that writes h[t + 1] reads h[t] without a special case for the first step,
  and h[:-1] is every h_{t-1} at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.layer import Layer
from ..core.registry import register_layer
from ..core.validate import (
    as_dtype,
    as_rng,
    check_array,
    check_choice,
    check_params,
    check_shape,
    check_size,
)
from .snu import ENGINES, glorot_uniform
from .surrogate import tanh_float32

# -- the reference: NumPy, one step at a time ------------------------------------------


def rnn_forward(x, W, U, b, h0):
    """h_t = tanh(x_t W + h_{t-1} U + b) for t = 1..T; returns every h_t, (T, B, n).

    x : (T, B, n_in) the input; h0 : (B, n) the initial state h_0.
    """
    h = np.empty((len(x),) + h0.shape, h0.dtype)
    h_prev = h0
    for t in range(len(x)):
        h[t] = np.tanh(x[t] @ W + h_prev @ U + b)   # h_t = tanh(a_t)
        h_prev = h[t]
    return h


def rnn_backward(dy, x, h, h0, W, U, grads):
    """Backpropagation through time; adds ∂L/∂W, ∂L/∂U, ∂L/∂b into ``grads``, returns ∂L/∂x.

        dh_t = dY_t + δa_{t+1} Uᵀ
        δa_t = dh_t ⊙ (1 − h_t²)

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
# float32 arithmetic into float64. ``f32`` (the array holds float32) is fixed per
# compiled version, so the branch it selects costs nothing.


@njit(cache=True, error_model="numpy", inline="always")
def tanh_scalar(v, f32):
    """tanh(v). In float32 the rational approximation ``tanh_float32`` (error < 4e-7):
    libm's tanhf is a scalar call, ~17× slower here, and it stops the loop from vectorizing."""
    return tanh_float32(v) if f32 else np.tanh(v)


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid_scalar(v, one, f32):
    """σ(v) = 1 / (1 + e^(−v)) = (1 + tanh(v / 2)) / 2: no overflow, and the fast tanh."""
    half = one / (one + one)
    return half * (one + tanh_scalar(half * v, f32))


@njit(cache=True, error_model="numpy")
def rnn_step_forward(a, q, b, h):
    """h_t = tanh(a + q + b) into h, with a = x_t W and q = h_{t-1} U, all (B, n); b (n,)."""
    B, n = h.shape
    f32 = h.itemsize == 4
    for s in range(B):
        for j in range(n):
            h[s, j] = tanh_scalar(a[s, j] + q[s, j] + b[j], f32)


@njit(cache=True, error_model="numpy")
def rnn_step_backward(dy, dh_next, h, da):
    """δa_t = (dY_t + dh_next) ⊙ (1 − h_t²) into da; dh_next = δa_{t+1} Uᵀ. All (B, n)."""
    B, n = h.shape
    one = h.dtype.type(1)
    for s in range(B):
        for j in range(n):
            da[s, j] = (dy[s, j] + dh_next[s, j]) * (one - h[s, j] * h[s, j])


# -- the layers ----------------------------------------------------------------------


def orthogonal(rng, n, dtype):
    """A random n × n orthogonal matrix (Saxe et al. 2014), for the recurrent weights.

    Q of the QR decomposition of a Gaussian matrix; multiplying each column by
    the sign of R's diagonal makes the draw uniform over all orthogonal matrices
    (otherwise QR's sign convention biases it). h U then neither shrinks nor
    stretches h, so early in training the signal and the gradient through time
    keep their size.
    """
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)


def padded(first, rest):
    """[first, rest...] along time: the reference's (T, B, n) states with h_0 in front."""
    return np.concatenate([first[None], rest])


class RecurrentLayer(Layer):
    """What RNN, LSTM and GRU share: W, U, b, the initial and carried state, the checks.

    A subclass sets ``n_gates`` (W, U and b hold that many blocks of n_out
    columns, one per gate) and ``state_names`` (what it carries from step to
    step: h, or h and c), and writes forward and backward with ``_start`` and
    ``_finish``.
    """

    n_gates = 1
    state_names = ("h",)

    def __init__(self, n_in, n_out, stateful=False, dtype=np.float32, rng=0, *, engine="numba"):
        super().__init__()
        check_choice("engine", engine, ENGINES)
        self.n_in, self.n_out = check_size("n_in", n_in), check_size("n_out", n_out)
        self.stateful, self.engine = bool(stateful), engine
        self.dtype = as_dtype(dtype)
        rng = as_rng(rng)
        width = self.n_gates * self.n_out
        self.add_param("W", glorot_uniform(rng, self.n_in, width, self.dtype))
        # one orthogonal block per gate: each gate's h U keeps the size of h
        self.add_param("U", np.hstack([orthogonal(rng, self.n_out, self.dtype)
                                       for _ in range(self.n_gates)]))
        self.add_param("b", np.zeros(width, self.dtype))
        self._state = None            # the carried state, a tuple like state_names
        self._cache = None

    # -- the state carried between calls -------------------------------------------

    def reset_state(self) -> None:
        """Forget the carried state: the next forward pass starts from zeros."""
        self._state = None

    @property
    def state(self):
        """The state the next forward pass starts from: None (zeros), or a tuple
        of (B, n_out) arrays, (h,) or for the LSTM (h, c). A stateful layer sets
        it to its last state after each forward pass; any layer may be given one
        (e.g. to prime a language model), held constant by backward."""
        return self._state

    @state.setter
    def state(self, value) -> None:
        if value is None:
            self._state = None
            return
        names = self.state_names
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            raise ValueError(f"the state of {type(self).__name__} is a tuple ({', '.join(names)})")
        arrays = [check_array(name, v, ndim=2, last=self.n_out, dtype=self.dtype)
                  for name, v in zip(names, value)]
        if len({a.shape for a in arrays}) > 1:
            raise ValueError(f"the state arrays must have one shape, got {[a.shape for a in arrays]}")
        self._state = tuple(a.copy() for a in arrays)

    def _start(self, x):
        """Check x (T, B, n_in); return it and the initial state: zeros, or the carried one."""
        x = check_array("x", x, ndim=3, last=self.n_in, dtype=self.dtype)
        check_params(self)
        batch = x.shape[1]
        if self._state is None:
            return x, tuple(np.zeros((batch, self.n_out), self.dtype) for _ in self.state_names)
        carried = self._state[0].shape[0]
        if carried != batch:
            raise ValueError(
                f"this stateful {type(self).__name__} carries the state of {carried} sequences "
                f"but x has a batch of {batch}; call reset_state() before a new batch size")
        return x, self._state

    def _finish(self, *states):
        """Record the padded (T + 1, B, n) states; carry their last step if stateful."""
        self._recorded = tuple(s[1:] for s in states)
        if self.stateful:   # copies: the next call must not see later changes to them
            self._state = tuple(s[-1].copy() for s in states)

    @property
    def output(self) -> np.ndarray:
        """h_t of the last forward pass, (T, B, n_out)."""
        self._need_forward(self._cache)
        return self._recorded[0]

    def _check_dy(self, dy, shape):
        """∂L/∂h of the last forward pass: its shape and dtype, made contiguous for the kernels."""
        dy = check_array("dy", check_shape("dy", dy, shape), dtype=self.dtype, finite=False)
        return np.ascontiguousarray(dy)

    def _input_products(self, x):
        """x_t W for every t at once: (T, B, n_in) -> (T, B, n_gates · n_out)."""
        T, B, _ = x.shape
        return (x.reshape(T * B, self.n_in) @ self.params["W"]).reshape(T, B, -1)

    def _add_products(self, x, h, da, dq=None):
        """After the loop: add ∂L/∂W, ∂L/∂b, ∂L/∂U into grads and return ∂L/∂x.

        da : (T, B, n_gates·n) ∂L/∂(x_t W), also ∂L/∂b; dq : ∂L/∂(h_{t-1} U), the
        same as da unless the unit gates the recurrent product (the GRU).
        """
        T, B, _ = x.shape
        da2 = da.reshape(T * B, -1)
        dq2 = da2 if dq is None else dq.reshape(T * B, -1)
        self.grads["W"] += x.reshape(T * B, self.n_in).T @ da2       # Σ_t x_tᵀ δa_t
        self.grads["U"] += h[:-1].reshape(T * B, self.n_out).T @ dq2  # Σ_t h_{t-1}ᵀ δq_t
        self.grads["b"] += da2.sum(axis=0)                            # Σ_t Σ_batch δa_t
        return (da2 @ self.params["W"].T).reshape(T, B, self.n_in)    # δa_t Wᵀ

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "stateful": self.stateful,
                "dtype": self.dtype.name, "engine": self.engine}


@register_layer
class RNN(RecurrentLayer):
    """A layer of vanilla recurrent units: h_t = tanh(x_t W + h_{t-1} U + b).

    Parameters
    ----------
    n_in, n_out : input features and units.
    stateful : carry the final state of a forward pass over as the initial
        state of the next (truncated BPTT); ``reset_state()`` starts afresh.
        Otherwise every pass starts from ``state``: zeros unless one is given.
    dtype : float32 (default) or float64.
    rng : seed or ``numpy.random.Generator``: Glorot-uniform W, orthogonal U.
    engine : ``"numba"`` (compiled steps) or ``"reference"`` (``rnn_forward``).

    Example
    -------
    >>> layer = RNN(28, 128, rng=0)
    >>> h = layer.forward(x)        # x: (T, B, 28) -> h: (T, B, 128)
    >>> dx = layer.backward(dh)     # adds into layer.grads["W"], ["U"], ["b"]
    """

    def forward(self, x):
        """x: (T, B, n_in) -> h: (T, B, n_out), the hidden state of every step."""
        x, (h0,) = self._start(x)
        W, U, b = self.params["W"], self.params["U"], self.params["b"]
        if self.engine == "reference":
            h = padded(h0, rnn_forward(x, W, U, b, h0))
        else:
            a = self._input_products(x)                   # x_t W, all t in one product
            h = np.empty((len(x) + 1,) + h0.shape, self.dtype)
            h[0] = h0
            q = np.empty_like(h0)
            for t in range(len(x)):                       # reads h[t], writes h[t + 1]
                np.matmul(h[t], U, out=q)                 # h_{t-1} U
                rnn_step_forward(a[t], q, b, h[t + 1])    # h_t = tanh(x_t W + h_{t-1} U + b)
        self._cache = (x, h)
        self._finish(h)
        return h[1:]

    def backward(self, dy):
        """dy: (T, B, n_out) = ∂L/∂h -> ∂L/∂x; adds ∂L/∂params into ``grads``."""
        self._need_forward(self._cache)
        x, h = self._cache
        dy = self._check_dy(dy, h[1:].shape)
        if self.engine == "reference":
            return rnn_backward(dy, x, h[1:], h[0], self.params["W"], self.params["U"],
                                self.grads)
        UT = self.params["U"].T
        da = np.empty_like(dy)
        dh_next = np.zeros_like(h[0])                     # δa_{t+1} Uᵀ, zero after the last step
        for t in reversed(range(len(x))):
            rnn_step_backward(dy[t], dh_next, h[t + 1], da[t])
            if t > 0:                                     # h_0 is a constant
                np.matmul(da[t], UT, out=dh_next)
        return self._add_products(x, h, da)
