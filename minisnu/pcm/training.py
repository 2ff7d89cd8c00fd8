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
When a pulse takes a device past the refresh threshold, both sides of its pair
are RESET and the pair's current weight is programmed again onto one side
(open loop: the number of pulses the model needs on average, P(G) = 0.027 G³
− 0.15 G² + 0.81 G from pcm.md). ``refresh()`` does the same for every pair
with a device above the threshold, pulsed or not.

Speed: an update touches every accumulator but only the few devices that get
pulses, so ``update`` is one Numba pass (``_update_kernel``) that draws its
random numbers inside the loop (``minisnu.fast_normal.draw``, seeded from the
devices' Generator); ``accumulate_reference`` is its arithmetic in NumPy, and
the tests check that the two agree.

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

import math

import numpy as np
from numba import njit

from ..fast_normal import TABLES, draw, seed, standard_normal
from ..layer import Layer
from ..validate import as_rng, check_array, check_size
from .device import PCMArray, _melt_quench, _pulse

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


def accumulate_reference(chi, dW, epsilon):
    """The accumulator step in NumPy: returns (pulses on G⁺, pulses on G⁻, new χ).

        χ ← χ + ΔW;  n = ⌊|χ|/ε⌋;  n pulses on G⁺ where χ > 0, on G⁻ where χ < 0;  χ ← χ − sign(χ)·n·ε
    """
    chi = chi + dW
    n = np.floor(np.abs(chi) / epsilon).astype(np.int64)
    plus, minus = np.where(chi > 0, n, 0), np.where(chi < 0, n, 0)
    return plus, minus, chi - np.sign(chi) * n * epsilon


@njit(inline="always")
def _pulses_for(g):
    """``pulses_for`` for one conductance (µS)."""
    return np.int64(np.rint(max(0.027 * g**3 - 0.15 * g**2 + 0.81 * g, 0.0)))


@njit(inline="always")
def _reprogram(w, target, g, p, n_pulses, n_resets, N, S, state, pulse, reset, tables):
    """Program weight w open loop to ``target`` µS per device (signed): RESET its 2N devices,
    then give each of the N devices of one side ``_pulses_for(|target|)`` SET pulses.
    Draws: the 2N RESETs (G⁺ devices, then G⁻), then the pulses device by device.
    Returns the xoshiro state."""
    decay, m1, c1, a1, m2, c2, a2, g_min, g_max = pulse
    g_reset, g_reset_std, g_reset_min, _ = reset
    for d in range(2 * N):
        i = d * S + w
        z, state = draw(state, tables)
        g[i], p[i] = _melt_quench(z, g_reset, g_reset_std, g_reset_min, g_max)
        n_resets[i] += 1
    side = 0 if target > 0 else 1
    n = _pulses_for(abs(target))
    for d in range(N):
        i = (side * N + d) * S + w
        for _ in range(n):
            z, state = draw(state, tables)
            g[i], p[i] = _pulse(g[i], p[i], z, decay, m1, c1, a1, m2, c2, a2, g_min, g_max)
        n_pulses[i] += n
    return state


@njit(inline="always")
def _pair_us(w, g, N, S):
    """The weight w as its devices hold it, in µS per device: (ΣG⁺ − ΣG⁻)/N."""
    total = 0.0
    for d in range(N):
        total += g[d * S + w] - g[(N + d) * S + w]
    return total / N


@njit(cache=True, error_model="numpy")
def _program_kernel(targets, g, p, n_pulses, n_resets, N, seed, pulse, reset, tables):
    """``_reprogram`` every weight w to targets[w] µS per device, in weight order."""
    S = targets.size
    state = (seed[0], seed[1], seed[2], seed[3])
    for w in range(S):
        state = _reprogram(w, targets[w], g, p, n_pulses, n_resets, N, S, state, pulse, reset, tables)


@njit(cache=True, error_model="numpy")
def _update_kernel(chi, dW, epsilon, requested, pulses, refreshes, g, p, n_pulses, n_resets,
                   N, selection, refresh_us, seed, pulse, reset, tables):
    """``PCMSynapses.update`` in one pass over the weights (flat arrays; g, p, n_* of the devices).

    Per weight w, in order: χ ← χ + ΔW; n = ⌊|χ|/ε⌋; n SET pulses on the selected
    device of G⁺ (χ > 0) or G⁻ (χ < 0); χ ← χ − sign(χ)·n·ε; if that device now
    exceeds ``refresh_us``, refresh the pair (``_reprogram``). The device draws come
    from the xoshiro256++ state ``seed``, in that order.
    """
    S = chi.size
    state = (seed[0], seed[1], seed[2], seed[3])
    decay, m1, c1, a1, m2, c2, a2, g_min, g_max = pulse
    for w in range(S):
        requested[w] += dW[w]
        c = chi[w] + dW[w]                              # χ ← χ + ΔW
        n = np.int64(math.floor(abs(c) / epsilon))      # n = ⌊|χ|/ε⌋
        if n > 0:
            side = 0 if c > 0 else 1                    # G⁺ for χ > 0, G⁻ for χ < 0
            c -= (1.0 - 2.0 * side) * n * epsilon       # χ ← χ − sign(χ)·n·ε
            pulses[side * S + w] += n
            i = (side * N + selection) * S + w          # the selected device of that side
            for _ in range(n):
                z, state = draw(state, tables)
                g[i], p[i] = _pulse(g[i], p[i], z, decay, m1, c1, a1, m2, c2, a2, g_min, g_max)
            n_pulses[i] += n
            if g[i] > refresh_us:                       # only a pulsed device can pass the threshold
                state = _reprogram(w, _pair_us(w, g, N, S), g, p, n_pulses, n_resets, N, S, state,
                                   pulse, reset, tables)
                refreshes[w] += 1
        chi[w] = c


@njit(cache=True, error_model="numpy")
def _refresh_kernel(g, p, n_pulses, n_resets, refreshes, N, refresh_us, seed, pulse, reset, tables):
    """Refresh every weight with a device above ``refresh_us``, in weight order."""
    S = refreshes.size
    state = (seed[0], seed[1], seed[2], seed[3])
    for w in range(S):
        for d in range(2 * N):
            if g[d * S + w] > refresh_us:
                state = _reprogram(w, _pair_us(w, g, N, S), g, p, n_pulses, n_resets, N, S, state,
                                   pulse, reset, tables)
                refreshes[w] += 1
                break


@njit(cache=True, error_model="numpy")
def _read_weights_kernel(g, z, noise, m3, c3, N, beta, out):
    """out[w] = (Σ_d G⁺_d − Σ_d G⁻_d)/β over the devices read with noise, G = max(0, G + (m3·G + c3)·z)."""
    S = out.size
    for w in range(S):
        total = 0.0
        for d in range(2 * N):
            i = d * S + w
            gi = g[i]
            if noise:
                gi = max(gi + (m3 * gi + c3) * z[i], 0.0)  # the read of device i
            total += gi if d < N else -gi
        out[w] = total / beta


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

    The devices are ``devices``, a ``PCMArray`` of shape (2, N, n_in, n_out):
    ``devices.g[0]`` holds G⁺, ``devices.g[1]`` G⁻.
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
        self._z = np.empty(self.devices.size)              # the read noise draws, reused
        arr = self.devices                                   # open loop: |W|·β/N on each of N devices
        _program_kernel(W.reshape(-1) * (self.beta / n), arr.g.reshape(-1), arr.p.reshape(-1),
                        arr.n_pulses.reshape(-1), arr.n_resets.reshape(-1), n, seed(arr.rng),
                        arr.pulse_constants(), arr.reset_constants(), TABLES)

    @property
    def shape(self):
        return self.chi.shape

    @property
    def devices_per_side(self) -> int:
        return self.devices.shape[1]

    def read(self, out=None) -> np.ndarray:
        """W = (ΣG⁺ − ΣG⁻)/β from one (noisy) read of every device, in ``out`` or a new array.

        The same numbers as ``devices.read(0.0)`` summed by hand; one kernel pass.
        """
        if out is None:
            out = np.empty(self.shape)
        elif out.shape != self.shape or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous array of shape {self.shape}")
        q = self.devices.params
        z = standard_normal(self.devices.rng, self.devices.size, out=self._z) if self.read_noise else self._z
        _read_weights_kernel(self.devices.g.reshape(-1), z, self.read_noise, q.m3, q.c3,
                             self.devices_per_side, self.beta, out.reshape(-1))
        return out

    def update(self, dW) -> None:
        """Add ΔW to the accumulators; send whole steps of ε to the selected devices as SET pulses.

        A pair whose pulsed device passes ``refresh_us`` is refreshed at once (see ``refresh``).
        The math is ``accumulate_reference``; ``_update_kernel`` does it in one pass.
        """
        dW = check_array("dW", np.asarray(dW, dtype=np.float64), ndim=2)
        if dW.shape != self.shape:
            raise ValueError(f"dW must have shape {self.shape}, got {dW.shape}")
        arr = self.devices
        _update_kernel(self.chi.reshape(-1), np.ascontiguousarray(dW).reshape(-1), self.epsilon,
                       self.requested.reshape(-1), self.pulses.reshape(-1), self.refreshes.reshape(-1),
                       arr.g.reshape(-1), arr.p.reshape(-1), arr.n_pulses.reshape(-1),
                       arr.n_resets.reshape(-1), self.devices_per_side, self.selection, self.refresh_us,
                       seed(arr.rng), arr.pulse_constants(), arr.reset_constants(), TABLES)
        self.selection = (self.selection + 1) % self.devices_per_side

    def refresh(self) -> None:
        """RESET the synapses where any device passed the threshold; re-program their weight.

        The weight (ΣG⁺ − ΣG⁻)/β is kept: all 2N devices are RESET, then the N devices
        of one side get the mean number of pulses that reach |W|·β/N (``pulses_for``).
        """
        arr = self.devices
        _refresh_kernel(arr.g.reshape(-1), arr.p.reshape(-1), arr.n_pulses.reshape(-1),
                        arr.n_resets.reshape(-1), self.refreshes.reshape(-1), self.devices_per_side,
                        self.refresh_us, seed(arr.rng), arr.pulse_constants(), arr.reset_constants(),
                        TABLES)


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
