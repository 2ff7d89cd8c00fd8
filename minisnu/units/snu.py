"""The SNU layer: spiking (SNU) or soft (sSNU), feed-forward or recurrent.

    a_t = x_t W (+ y_{t-1} H)
    s_t = g(a_t + l ⊙ s_{t-1} ⊙ (1 − y_{t-1}))       membrane potential
    y_t = h(s_t + b)                                 step (SNU) or sigmoid (sSNU)

The equations and the hand derivation of backpropagation through time are in
``snu_reference.py`` (the readable NumPy version, used with ``engine="reference"``);
``snu_engine.py`` holds the compiled loops the layer runs by default.

Example
-------
>>> layer = SNU(784, 256, decay=0.8, rng=0)
>>> y = layer.forward(x)           # x: (T, B, 784) -> y: (T, B, 256) spikes
>>> layer.membrane, layer.output   # every step's s_t and y_t, for plotting
>>> dx = layer.backward(dy)        # adds into layer.grads["W"], ["b"]
"""

from __future__ import annotations

import numpy as np

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
from . import snu_reference
from .snu_engine import (
    negative_slope,
    output_derivative,
    snu_backward_loop,
    snu_forward_loop,
)
from .surrogate import surrogate_code

ENGINES = ("numba", "reference")


def glorot_uniform(rng, n_in, n_out, dtype):
    """W ~ U(−r, r), r = sqrt(6 / (n_in + n_out)) (Glorot & Bengio 2010)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)


@register_layer
class SNU(Layer):
    """A layer of spiking neural units (SNU) or soft SNUs (sSNU).

    Parameters
    ----------
    n_in, n_out : input features and units.
    soft : False for the spiking SNU (y = step(s + b)), True for the sSNU (y = σ(s + b)).
    recurrent : add y_{t-1} H to the input current (params gain ``"H"``).
    decay : l in [0, 1], a number or one value per unit (default 0.8).
    g : input activation: ``"relu"`` (default), ``"identity"`` or ``"leaky_relu"``.
    surrogate : pseudo-derivative of the step for the spiking SNU (ignored by the
        sSNU, whose sigmoid has a true derivative): ``"tanh"`` (paper), ``"sigmoid"``,
        ``"fast_sigmoid"``, ``"arctan"``, ``"straight_through"``; see ``minisnu.units.surrogate``.
    detach_reset : treat y_{t-1} in the reset gate as a constant in backward.
    train_decay : make l a per-unit parameter (params gain ``"decay"``); it is
        clipped back into [0, 1] at each forward pass (projected gradient descent).
    lateral_inhibition : reset every unit of a sample with (1 − max_j y_{t-1,j}).
    bias_init : initial b, minus the threshold (default −1: threshold 1).
    g_slope : negative-side slope of the leaky ReLU.
    surrogate_k : width parameter of the surrogate (default per surrogate).
    dtype : float32 (default) or float64.
    rng : seed or ``numpy.random.Generator`` for the Glorot-uniform W and H.
    engine : ``"numba"`` (compiled time loops) or ``"reference"`` (NumPy, per step).
    stateful : carry the state over: each forward pass starts where the previous one
        ended (truncated BPTT, as in language modelling); ``reset_state()`` starts afresh.

    State
    -----
    ``state`` is (s_0, y_0), each (B, n_out), the state a forward pass starts from:
    None means zeros. A stateful layer sets it to its last (s_T, y_T) after each
    forward pass; any layer may be given one (``layer.state = (s0, y0)``). Backward
    treats it as a constant: gradients do not flow into the previous batch.
    """

    def __init__(self, n_in, n_out, soft=False, recurrent=False, decay=0.8, g="relu",
                 surrogate="tanh", detach_reset=False, train_decay=False, dtype=np.float32,
                 rng=0, *, lateral_inhibition=False, bias_init=-1.0, g_slope=0.01,
                 surrogate_k=None, engine="numba", stateful=False):
        super().__init__()
        check_choice("g", g, snu_reference.G_FUNCTIONS)
        check_choice("engine", engine, ENGINES)
        self._surrogate_code, self.surrogate_k = surrogate_code(surrogate, surrogate_k)
        if not 0 <= g_slope < 1:
            raise ValueError(f"g_slope must be in [0, 1), got {g_slope}")
        self.n_in, self.n_out = check_size("n_in", n_in), check_size("n_out", n_out)
        self.soft, self.recurrent = bool(soft), bool(recurrent)
        self.g, self.g_slope, self.surrogate = g, float(g_slope), surrogate
        self.detach_reset, self.train_decay = bool(detach_reset), bool(train_decay)
        self.lateral_inhibition, self.engine = bool(lateral_inhibition), engine
        self.bias_init, self.stateful = float(bias_init), bool(stateful)
        self.dtype = as_dtype(dtype)
        rng = as_rng(rng)

        self.add_param("W", glorot_uniform(rng, n_in, n_out, self.dtype))
        self.add_param("b", np.full(n_out, bias_init, self.dtype))
        if self.recurrent:
            self.add_param("H", glorot_uniform(rng, n_out, n_out, self.dtype))
        self._decay_given = decay                 # as given, for config()
        decay = self._check_decay(decay)
        if self.train_decay:
            self.add_param("decay", decay)
        else:
            self.decay_fixed = decay
        self._cache = None
        self._state = None

    def _check_decay(self, decay) -> np.ndarray:
        decay = np.asarray(decay, dtype=np.float64)
        if decay.ndim > 1 or (decay.ndim == 1 and decay.shape != (self.n_out,)):
            raise ValueError(f"decay must be a number or have shape ({self.n_out},), got {decay.shape}")
        if not np.all((decay >= 0) & (decay <= 1)):
            raise ValueError(f"decay must lie in [0, 1], got {decay}")
        return np.array(np.broadcast_to(decay, (self.n_out,)), dtype=self.dtype)  # a copy

    @property
    def state(self):
        """(s_0, y_0) that the next forward pass starts from, or None for zeros."""
        return self._state

    @state.setter
    def state(self, value):
        if value is not None:
            s0, y0 = value
            s0 = check_array("state s_0", s0, ndim=2, last=self.n_out, dtype=self.dtype)
            y0 = check_array("state y_0", check_shape("state y_0", y0, s0.shape), dtype=self.dtype)
            value = (np.array(s0), np.array(y0))             # copies: the caller keeps its arrays
        self._state = value

    def reset_state(self) -> None:
        """Start the next forward pass from zeros."""
        self._state = None

    def _initial_state(self, B):
        if self._state is None:
            return None
        if self._state[0].shape[0] != B:
            raise ValueError(f"the carried state has batch size {self._state[0].shape[0]} but x has "
                             f"{B}: call reset_state() before changing the batch size")
        return self._state

    @property
    def decay(self) -> np.ndarray:
        """l, one value per unit (a parameter when ``train_decay``)."""
        return self.params["decay"] if self.train_decay else self.decay_fixed

    # -- forward ---------------------------------------------------------------

    def forward(self, x):
        """x: (T, B, n_in) -> y: (T, B, n_out); caches s and y for backward and plots."""
        x = check_array("x", x, ndim=3, last=self.n_in, dtype=self.dtype)
        check_params(self)
        if self.train_decay:                       # keep the trained decay a decay
            np.clip(self.params["decay"], 0, 1, out=self.params["decay"])
        T, B, _ = x.shape
        initial = self._initial_state(B)
        if self.engine == "reference":
            s, y = snu_reference.snu_forward(x, **self._arrays(), initial=initial,
                                             **self._forward_options())
            self._cache = (x, s, y, None, initial)
            self._recorded = (s, y)
            self._carry(s[-1], y[-1])
            return y
        W = self.params["W"]
        a = np.matmul(x.reshape(T * B, self.n_in), W).reshape(T, B, self.n_out)  # x_t W, all t
        s, y, gate = (np.empty((T + 1, B, self.n_out), self.dtype) for _ in range(3))
        if initial is None:                    # the initial state; the kernel fills 1..T
            s[0], y[0], gate[0] = 0, 0, 1
        else:
            s[0], y[0] = initial
            gate[0] = snu_reference.reset_gate(y[0], self.lateral_inhibition)
        step = (self.params["b"], self.decay, self.soft, negative_slope(self.g, self.g_slope),
                self.lateral_inhibition, s, y, gate)
        if self.recurrent:                     # a product per step: the loop runs here
            for t in range(T):
                a[t] += y[t] @ self.params["H"]                        # + y_{t-1} H
                snu_forward_loop(a, *step, t, t + 1)
        else:
            snu_forward_loop(a, *step, 0, T)
        self._cache = (x, s, y, gate, initial)
        self._recorded = (s[1:], y[1:])           # views without the initial state
        self._carry(s[T], y[T])
        return y[1:]

    def _carry(self, s_T, y_T) -> None:
        if self.stateful:                          # the next batch continues from here
            self._state = (s_T.copy(), y_T.copy())

    def _arrays(self) -> dict:
        return {"W": self.params["W"], "b": self.params["b"], "decay": self.decay,
                "H": self.params.get("H")}

    def _forward_options(self) -> dict:
        return {"soft": self.soft, "g": self.g, "g_slope": self.g_slope,
                "lateral": self.lateral_inhibition}

    @property
    def membrane(self) -> np.ndarray:
        """s_t of the last forward pass, (T, B, n_out)."""
        self._need_forward(self._cache)
        return self._recorded[0]

    @property
    def output(self) -> np.ndarray:
        """y_t of the last forward pass, (T, B, n_out): spikes (SNU) or rates (sSNU)."""
        self._need_forward(self._cache)
        return self._recorded[1]

    # -- backward --------------------------------------------------------------

    def backward(self, dy):
        """dy: (T, B, n_out) = ∂L/∂y -> ∂L/∂x; adds ∂L/∂params into ``grads``."""
        self._need_forward(self._cache)
        x, s, y, gate, initial = self._cache
        T, B, _ = x.shape
        dy = check_array("dy", check_shape("dy", dy, (T, B, self.n_out)), dtype=self.dtype,
                         finite=False)
        if self.engine == "reference":
            return snu_reference.snu_backward(
                dy, x, s, y, grads=self.grads, **self._arrays(), initial=initial,
                **self._forward_options(),
                surrogate=self.surrogate, surrogate_k=self.surrogate_k,
                detach_reset=self.detach_reset)
        h_prime = np.empty((T, B, self.n_out), self.dtype)
        output_derivative(s, y, self.params["b"], self.soft, self._surrogate_code,
                          self.surrogate_k, h_prime)
        du = np.empty((T, B, self.n_out), self.dtype)
        step = (s, y, gate, h_prime, self.decay, negative_slope(self.g, self.g_slope),
                self.detach_reset, self.lateral_inhibition, du, self.grads["b"])
        if self.recurrent:                     # a product per step: the loop runs here
            dy = dy.copy()
            HT = self.params["H"].T
            for t in reversed(range(T)):
                if t < T - 1:
                    dy[t] += du[t + 1] @ HT                            # + δu_{t+1} Hᵀ
                snu_backward_loop(dy, *step, t, t + 1)
        else:
            snu_backward_loop(np.ascontiguousarray(dy), *step, 0, T)
        if self.train_decay:                   # ∂L/∂l = Σ_t Σ_batch δu_t ⊙ s_{t-1} ⊙ gate_{t-1}
            self.grads["decay"] += (du * s[:-1] * gate[:-1]).sum(axis=(0, 1), dtype=np.float64)
        du2 = du.reshape(T * B, self.n_out)
        self.grads["W"] += x.reshape(T * B, self.n_in).T @ du2          # Σ_t x_tᵀ δu_t
        if self.recurrent:
            self.grads["H"] += y[:-1].reshape(T * B, self.n_out).T @ du2  # Σ_t y_{t-1}ᵀ δu_t
        return (du2 @ self.params["W"].T).reshape(T, B, self.n_in)      # δu_t Wᵀ

    # -- checkpoints -----------------------------------------------------------

    def config(self) -> dict:
        decay = self._decay_given
        decay = float(decay) if np.ndim(decay) == 0 else np.asarray(decay, float).tolist()
        return {"n_in": self.n_in, "n_out": self.n_out, "soft": self.soft,
                "recurrent": self.recurrent, "decay": decay, "g": self.g,
                "surrogate": self.surrogate, "detach_reset": self.detach_reset,
                "train_decay": self.train_decay, "dtype": self.dtype.name,
                "lateral_inhibition": self.lateral_inhibition, "bias_init": self.bias_init,
                "g_slope": self.g_slope, "surrogate_k": self.surrogate_k, "engine": self.engine,
                "stateful": self.stateful}

    def __repr__(self) -> str:
        flags = [name for name in ("soft", "recurrent", "train_decay", "detach_reset",
                                   "lateral_inhibition") if getattr(self, name)]
        options = "".join(f", {name}=True" for name in flags)
        return (f"SNU({self.n_in}, {self.n_out}{options}, decay={self.config()['decay']}, "
                f"g={self.g!r}, surrogate={self.surrogate!r})")
