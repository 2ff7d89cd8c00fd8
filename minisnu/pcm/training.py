"""Training with the hardware in the loop: weights that live in PCM devices.

Mixed-precision training (Nandakumar et al., Front. Neurosci. 2020). Each weight
is a differential pair of Nandakumar devices, W = (G⁺ − G⁻)/β, β in µS per
weight unit. Forward and backward passes use the weights *read* from the
devices (read noise included). The optimizer computes its update in high
precision; the update goes into a digital accumulator χ per weight, and only
whole device steps reach the devices::

    χ ← χ + ΔW
    n = ⌊|χ| / ε⌋                 ε: the nominal single-pulse change, 0.75 µS / β
    n SET pulses on G⁺ (χ > 0) or on G⁻ (χ < 0)
    χ ← χ − sign(χ)·n·ε

A SET pulse only raises a conductance, so a pair drifts upward as it trains.
When either device of a pair passes the refresh threshold, both are RESET and
the pair's current weight is programmed again onto one device (open loop:
the number of pulses the model needs on average, P(G) = 0.027 G³ − 0.15 G² +
0.81 G from pcm.md).

``InMemory(layer)`` puts the ``W`` of any layer (``SNU``, ``Dense``) into such
devices and plugs into the same ``Sequential``, losses and optimizers: the
optimizer updates ``layer.params["W"]`` in place as usual; at the next forward
pass the wrapper takes the difference from the last read as the requested
update, sends it to the accumulator, and reads the devices again into
``params["W"]``.

Bookkeeping (``PCMSynapses.requested``, ``pulses``, ``refreshes``, ``chi``):
every update is accounted for, Σ ΔW = ε·(pulses on G⁺ − pulses on G⁻) + χ −
χ₀, whatever the devices did with the pulses.
"""

from __future__ import annotations

import numpy as np

from ..layer import Layer
from ..validate import as_rng, check_array, check_size
from .device import PCMArray

#: Nominal conductance change of one SET pulse (µS), the granularity ε (pcm.md §3).
EPSILON_US = 0.75
#: Refresh when either device of a pair passes this conductance (µS).
REFRESH_US = 9.0
#: Conductance (µS) that the largest initial |W| is programmed to.
G_INIT_MAX_US = 5.0


def pulses_for(g_target):
    """Mean number of SET pulses that take a RESET device to g_target (µS), from pcm.md §1:
    P(G) = 0.027 G³ − 0.15 G² + 0.81 G, rounded; 0 for targets at the RESET level."""
    g = np.asarray(g_target, dtype=np.float64)
    return np.rint(np.maximum(0.027 * g**3 - 0.15 * g**2 + 0.81 * g, 0.0)).astype(np.int64)


class PCMSynapses:
    """A weight matrix in differential pairs of PCM devices, trained through an accumulator.

    With N devices per side (a multi-memristive synapse, Boybat et al. 2018) all
    N are read and summed, W = (ΣG⁺ − ΣG⁻)/β, and each update pulses only the
    device that the global selection counter points to; the counter then moves
    on, so the devices share the pulses (and average their randomness).

    Parameters
    ----------
    W : the initial weights (n_in, n_out), programmed open loop (split over the N devices).
    rng : seed or Generator for every device draw.
    devices_per_side : N.
    beta : µS per weight unit; default maps max|W| to 5 µS.
    epsilon_us, refresh_us : pulse granularity and refresh threshold of a device (µS).
    read_noise : read the devices with read noise (Nandakumar's m3·G + c3).
    """

    def __init__(self, W, rng=0, *, devices_per_side=1, beta=None, epsilon_us=EPSILON_US,
                 refresh_us=REFRESH_US, read_noise=True):
        W = check_array("W", np.asarray(W, dtype=np.float64), ndim=2)
        w_max = float(np.abs(W).max()) or 1.0
        self.beta = G_INIT_MAX_US / w_max if beta is None else float(beta)
        if not self.beta > 0:
            raise ValueError(f"beta must be positive, got {beta}")
        if not 0 < epsilon_us < refresh_us:
            raise ValueError(f"need 0 < epsilon_us < refresh_us, got {epsilon_us} and {refresh_us}")
        n = check_size("devices_per_side", devices_per_side)
        self.epsilon = epsilon_us / self.beta                 # ε in weight units
        self.refresh_us, self.read_noise = float(refresh_us), bool(read_noise)
        self.devices = PCMArray((2, n) + W.shape, rng=as_rng(rng))   # [0] = G⁺, [1] = G⁻
        self.selection = 0                                  # the device that updates pulse
        self.chi = np.zeros(W.shape)
        self.requested = np.zeros(W.shape)                  # Σ ΔW asked for, per weight
        self.pulses = np.zeros((2,) + W.shape, np.int64)    # SET pulses from updates, G⁺ and G⁻
        self.refreshes = np.zeros(W.shape, np.int64)
        self._program(W, np.ones(W.shape, bool))

    @property
    def shape(self):
        return self.chi.shape

    @property
    def devices_per_side(self) -> int:
        return self.devices.shape[1]

    def _program(self, W, where) -> None:
        """Open loop: RESET every device of the synapses in ``where``, then pulse |W|·β/N
        onto each of the N devices of one side (G⁺ for W > 0, G⁻ for W < 0)."""
        self.devices.reset(np.broadcast_to(where, self.devices.shape))
        w = W[where] * self.beta / self.devices_per_side
        n = np.zeros(self.devices.shape, np.int64)
        n[0][:, where] = np.where(w > 0, pulses_for(w), 0)
        n[1][:, where] = np.where(w < 0, pulses_for(-w), 0)
        self.devices.set_pulse(n)

    def _sides(self, g) -> np.ndarray:
        """ΣG⁺ and ΣG⁻ over the N devices: (2, n_in, n_out)."""
        return g.sum(axis=1)

    def read(self) -> np.ndarray:
        """W = (ΣG⁺ − ΣG⁻)/β from one (noisy) read of every device."""
        g = self._sides(self.devices.read(0.0, noise=self.read_noise))
        return (g[0] - g[1]) / self.beta

    def update(self, dW) -> None:
        """Add ΔW to the accumulators; send whole steps of ε to the selected devices as SET pulses."""
        dW = check_array("dW", np.asarray(dW, dtype=np.float64), ndim=2)
        if dW.shape != self.shape:
            raise ValueError(f"dW must have shape {self.shape}, got {dW.shape}")
        self.requested += dW
        self.chi += dW
        n = np.floor(np.abs(self.chi) / self.epsilon).astype(np.int64)   # n = ⌊|χ|/ε⌋
        pulses = np.stack([np.where(self.chi > 0, n, 0), np.where(self.chi < 0, n, 0)])
        self.chi -= np.sign(self.chi) * n * self.epsilon                  # χ ← χ − sign(χ)·n·ε
        counts = np.zeros(self.devices.shape, np.int64)
        counts[:, self.selection] = pulses
        self.devices.set_pulse(counts)
        self.pulses += pulses
        self.selection = (self.selection + 1) % self.devices_per_side
        self.refresh()

    def refresh(self) -> None:
        """RESET the synapses where any device passed the threshold; re-program their weight."""
        g = self.devices.g
        full = (g > self.refresh_us).any(axis=(0, 1))
        if full.any():
            sides = self._sides(g)
            self._program((sides[0] - sides[1]) / self.beta, full)
            self.refreshes += full


class InMemory(Layer):
    """Train ``layer.params["W"]`` with its weights in PCM devices (see the module docstring).

    >>> net = ms.Sequential(pcm.InMemory(ms.SNU(88, 150, rng=0), rng=1), ...)
    >>> opt = ms.optim.Adam(net, lr=0.01)         # as for a software network

    Everything but ``W`` (biases, recurrent weights, decays) stays in software.
    """

    def __init__(self, layer, rng=0, **synapse_options):
        super().__init__()
        if "W" not in getattr(layer, "params", {}):
            raise TypeError(f"{type(layer).__name__} has no params['W'] to put into PCM devices")
        self.layer = layer
        self.synapses = PCMSynapses(layer.params["W"], rng=rng, **synapse_options)
        self.params, self.grads = layer.params, layer.grads   # the optimizer sees the layer's own
        self._w_read = None

    def sync(self) -> None:
        """Send the optimizer's change since the last read to the devices, then read them again."""
        W = self.params["W"]
        if self._w_read is not None:
            self.synapses.update(W - self._w_read)          # exactly 0 where nothing changed
        W[...] = self.synapses.read()
        self._w_read = W.copy()                             # as stored, in the layer's dtype

    def forward(self, x):
        self.sync()
        return self.layer.forward(x)

    def backward(self, dy):
        return self.layer.backward(dy)                      # with the W this forward read

    def zero_grad(self) -> None:
        self.layer.zero_grad()

    def train(self, mode: bool = True):
        self.layer.train(mode)
        self.training = bool(mode)
        return self

    def __repr__(self) -> str:
        return f"InMemory({self.layer!r})"
