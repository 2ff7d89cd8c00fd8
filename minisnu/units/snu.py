r"""The SNU layer: spiking (SNU) or soft (sSNU), feed-forward or recurrent.

.. math::

    a_t &= x_t W \;(+\; y_{t-1} H) \\
    s_t &= g(a_t + l ⊙ s_{t-1} ⊙ (1 − y_{t-1}))     &&\quad \text{membrane potential} \\
    y_t &= h(s_t + b)                               &&\quad \text{step (SNU) or sigmoid (sSNU)}

The equations and the hand derivation of backpropagation through time are in
``snu_reference.py`` (the readable NumPy version, used with ``engine="reference"``);
``snu_engine.py`` holds the compiled loops the layer runs by default. The carried
state (s, y), the engine switch and the products outside the loop are the
``TemporalLayer``'s, in ``temporal.py``.

Example
-------
>>> layer = SNU(784, 256, decay=0.8, rng=0)
>>> y = layer.forward(x)           # x: (T, B, 784) -> y: (T, B, 256) spikes
>>> layer.membrane, layer.output   # every step's s_t and y_t, for plotting
>>> dx = layer.backward(dy)        # adds into layer.grads["W"], ["b"]
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, InputTypeError
from ..core.init import glorot_uniform
from ..core.registry import register_layer
from ..core.validate import as_rng, check_choice, check_params
from . import snu_reference
from .recurrence import compiled_recurrence
from .snu_engine import (
    negative_slope,
    snu_backward_loop,
    snu_backward_recurrent,
    snu_forward_loop,
    snu_forward_recurrent,
)
from .surrogate import surrogate_code
from .temporal import TemporalLayer

#: The membrane decay l of the authors' setups, the default of every SNU in minisnu.
DECAY = 0.8


def check_decay(decay, n: int, dtype, per: str = "unit") -> np.ndarray:
    """The decay l as an (n,) array of ``dtype``: a number, or one value per unit (per output
    channel for the ConvSNU), each in [0, 1]; a copy, so the caller's array stays its own."""
    try:
        decay = np.asarray(decay, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"decay must be a number or a list of numbers, got {decay!r}") from None
    if decay.ndim > 1 or (decay.ndim == 1 and decay.shape != (n,)):
        raise InputError(f"decay must be a number or have shape ({n},) (one per {per}), "
                         f"got shape {decay.shape}")
    if not np.all((decay >= 0) & (decay <= 1)):
        raise InputError(f"decay must lie in [0, 1], got {decay}")
    return np.array(np.broadcast_to(decay, (n,)), dtype=dtype)


def add_decay(layer, decay, per: str = "unit") -> None:
    """Give an SNU-family ``layer`` its decay: the parameter "decay" when ``layer.train_decay``
    (clipped into [0, 1] at each forward pass), else the constant ``layer.decay_fixed``; the
    value as given is kept for ``config()``."""
    layer._decay_given = decay
    value = check_decay(decay, layer.n_out, layer.dtype, per)
    if layer.train_decay:
        layer.add_param("decay", value)
    else:
        layer.decay_fixed = value

@register_layer
class SNU(TemporalLayer):
    r"""A layer of spiking neural units (SNU) or soft SNUs (sSNU).

    Parameters
    ----------
    n_in, n_out : int
        input features and units.
    soft : bool
        False for the spiking SNU (y = step(s + b)), True for the sSNU (y = σ(s + b)).
    recurrent : bool
        add :math:`y_{t-1} H` to the input current (params gain ``"H"``).
    decay : float or array of shape (n_out,)
        l in [0, 1], a number or one value per unit (default 0.8).
    g : str
        input activation: ``"relu"`` (default), ``"identity"`` or ``"leaky_relu"``.
    surrogate : str
        pseudo-derivative of the step for the spiking SNU (ignored by the
        sSNU, whose sigmoid has a true derivative): ``"tanh"`` (paper), ``"sigmoid"``,
        ``"fast_sigmoid"``, ``"arctan"``, ``"straight_through"``; see
        :mod:`minisnu.units.surrogate`.
    detach_reset : bool
        treat :math:`y_{t-1}` in the reset gate as a constant in backward.
    train_decay : bool
        make l a per-unit parameter (params gain ``"decay"``); it is
        clipped back into [0, 1] at each forward pass (projected gradient descent).
    lateral_inhibition : bool
        reset every unit of a sample with :math:`(1 − \max_j y_{t-1,j})`.
    bias_init : float
        initial b, minus the threshold (default −1: threshold 1).
    g_slope : float
        negative-side slope of the leaky ReLU.
    surrogate_k : float or None
        width parameter of the surrogate (default per surrogate).
    dtype : numpy dtype
        float32 (default) or float64.
    rng : int or numpy.random.Generator
        seed or ``numpy.random.Generator`` for the Glorot-uniform W and H.
    engine : str
        ``"numba"`` (compiled time loops) or ``"reference"`` (NumPy, per step).
    stateful : bool
        carry the state over: each forward pass starts where the previous one
        ended (truncated BPTT, as in language modelling); ``reset_state()`` starts afresh.

    Notes
    -----
    ``state`` is (s_0, y_0), each (B, n_out), the state a forward pass starts from:
    None means zeros. A stateful layer sets it to its last (s_T, y_T) after each
    forward pass; any layer may be given one (``layer.state = (s0, y0)``). Backward
    treats it as a constant: gradients do not flow into the previous batch.
    """

    state_names = ("s", "y")      #: membrane potential and output
    output_state = "y"
    recurrent_weight = "H"

    def __init__(self, n_in, n_out, soft=False, recurrent=False, decay=DECAY, g="relu",
                 surrogate="tanh", detach_reset=False, train_decay=False, dtype=np.float32,
                 rng=0, *, lateral_inhibition=False, bias_init=-1.0, g_slope=0.01,
                 surrogate_k=None, engine="numba", stateful=False):
        super().__init__(n_in, n_out, stateful=stateful, dtype=dtype, engine=engine)
        check_choice("g", g, snu_reference.G_FUNCTIONS)
        self._surrogate_code, self.surrogate_k = surrogate_code(surrogate, surrogate_k)
        if not 0 <= g_slope < 1:
            raise ValueError(f"g_slope must be in [0, 1), got {g_slope}")
        self.soft, self.recurrent = bool(soft), bool(recurrent)
        self.g, self.g_slope, self.surrogate = g, float(g_slope), surrogate
        self.detach_reset, self.train_decay = bool(detach_reset), bool(train_decay)
        self.lateral_inhibition, self.bias_init = bool(lateral_inhibition), float(bias_init)
        rng = as_rng(rng)

        self.add_param("W", glorot_uniform(rng, self.n_in, self.n_out, self.dtype))
        self.add_param("b", np.full(self.n_out, bias_init, self.dtype))
        if self.recurrent:
            self.add_param("H", glorot_uniform(rng, self.n_out, self.n_out, self.dtype))
        add_decay(self, decay)

    @property
    def decay(self) -> np.ndarray:
        """l, one value per unit (a parameter when ``train_decay``)."""
        return self.params["decay"] if self.train_decay else self.decay_fixed

    @property
    def membrane(self) -> np.ndarray:
        """s_t of the last forward pass, (T, B, n_out)."""
        return self._record("s")

    # -- forward ---------------------------------------------------------------

    def forward(self, x):
        """x: (T, B, n_in) -> y: (T, B, n_out), spikes (SNU) or rates (sSNU); s and y are
        kept for backward and plots (``membrane``, ``output``)."""
        if self.train_decay:     # keep the trained decay a decay (projected gradient descent)
            check_params(self)   # first: an infinite decay is divergence, to be named, not clipped
            np.clip(self.params["decay"], 0, 1, out=self.params["decay"])
        return super().forward(x)

    def _forward_reference(self, x, initial):
        s, y = snu_reference.snu_forward(x, **self._arrays(), initial=initial,
                                         **self._forward_options())
        return (s, y), None

    def _forward_numba(self, x, initial):
        T = len(x)
        a = self._input_products(x)                # x_t W, all t in one product
        s, y = self._padded_states(T, initial)     # index 0: the initial state; the kernel fills 1..T
        shared_gate = np.empty(s.shape[:2], self.dtype)   # lateral inhibition's 1 − max_j y_t,j
        shared_gate[0] = 1 - y[0].max(axis=1, initial=0)
        step = (self.params["b"], self.decay, self.soft, negative_slope(self.g, self.g_slope),
                self.lateral_inhibition, s, y, shared_gate)
        if self.recurrent and compiled_recurrence(x.shape[1], self.params["H"]):   # small: all compiled
            snu_forward_recurrent(a, self.params["H"], *step)
        elif self.recurrent:                   # large: BLAS's product per step, the loop here
            for t in range(T):
                a[t] += y[t] @ self.params["H"]                        # + y_{t-1} H
                snu_forward_loop(a, *step, t, t + 1)
        else:
            snu_forward_loop(a, *step, 0, T)
        return (s, y), shared_gate

    def _arrays(self) -> dict:
        return {"W": self.params["W"], "b": self.params["b"], "decay": self.decay,
                "H": self.params.get("H")}

    def _forward_options(self) -> dict:
        return {"soft": self.soft, "g": self.g, "g_slope": self.g_slope,
                "lateral": self.lateral_inhibition}

    # -- backward --------------------------------------------------------------

    def _backward_reference(self, dy, x, states, saved):
        s, y = states
        return snu_reference.snu_backward(
            dy, x, s, y, grads=self.grads, **self._arrays(), **self._forward_options(),
            surrogate=self.surrogate, surrogate_k=self.surrogate_k,
            detach_reset=self.detach_reset)

    def _backward_numba(self, dy, x, states, shared_gate):
        s, y = states
        T, B, _ = x.shape
        du = np.empty((T, B, self.n_out), self.dtype)
        step = (s, y, shared_gate, self.params["b"], self.soft, self._surrogate_code,
                self.surrogate_k, self.decay, negative_slope(self.g, self.g_slope),
                self.detach_reset, self.lateral_inhibition, du, self.grads["b"])
        if self.recurrent and compiled_recurrence(B, self.params["H"]):   # small: all compiled
            HT = np.ascontiguousarray(self.params["H"].T)
            snu_backward_recurrent(dy.copy(), HT, *step)   # a copy: dy is the caller's
        elif self.recurrent:                   # large: BLAS's product per step, the loop here
            dy = dy.copy()                     # the caller's dy stays as it was
            HT = self.params["H"].T
            for t in reversed(range(T)):
                if t < T - 1:
                    dy[t] += du[t + 1] @ HT                            # + δu_{t+1} Hᵀ
                snu_backward_loop(dy, *step, t, t + 1)
        else:
            snu_backward_loop(dy, *step, 0, T)
        if self.train_decay:                   # ∂L/∂l = Σ_t Σ_batch δu_t ⊙ s_{t-1} ⊙ gate_{t-1}
            gate = snu_reference.reset_gate(y[:-1].reshape(-1, self.n_out), self.lateral_inhibition)
            self.grads["decay"] += (du * s[:-1] * gate.reshape(du.shape)).sum(axis=(0, 1),
                                                                             dtype=np.float64)
        # ∂L/∂W, ∂L/∂H and ∂L/∂x from δu; the kernel has already added ∂L/∂b = Σ gy ⊙ h'
        return self._gradients_after_loop(x, states, du, bias=False)

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
