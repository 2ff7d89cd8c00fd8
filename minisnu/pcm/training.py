r"""Training with the hardware in the loop: weights that live in PCM devices.

Mixed-precision training (Nandakumar et al., Front. Neurosci. 2020). Each weight
is a differential pair of Nandakumar devices, W = (G⁺ − G⁻)/β, β in µS per
weight unit. Forward and backward passes use the weights *read* from the
devices (read noise included; with ``drift=True`` also the drift of each
device since it was last programmed, on a clock the caller moves: ``InMemory``
moves it by ``seconds_per_pass`` at every forward pass). The optimizer
computes its update in high precision; the update goes into a digital
accumulator χ per weight, and only whole device steps reach the devices:

.. math::

    χ &← χ + ΔW \\
    n &= ⌊|χ| / ε⌋ \qquad ε\text{: the nominal single-pulse change, 0.75 µS} / β \\
    & n \text{ SET pulses on } G^+ \ (χ > 0) \text{ or on } G^- \ (χ < 0) \\
    χ &← χ − \mathrm{sign}(χ) · n · ε

A SET pulse only raises a conductance, so a pair drifts upward as it trains.
When a pulse takes a device past the refresh threshold (9 µS), both sides of its pair
are RESET and the pair's current weight is programmed again onto one side
(open loop: the number of pulses the model needs on average, P(G) = 0.027 G³
− 0.15 G² + 0.81 G from pcm.md). ``refresh()`` does the same for every pair
with a device above the threshold, pulsed or not.

Speed: an update touches every accumulator but only the few devices that get
pulses, so ``update`` is one Numba pass (``_update_kernel``) that draws its
random numbers inside the loop (``minisnu.pcm.fast_normal.draw``, seeded from the
devices' Generator); ``accumulate_reference`` is its arithmetic in NumPy, and
the tests check that the two agree. The kernels apply the device's own updates
(``minisnu.pcm.device``: ``set_pulse_step``, ``reset_step``, ``read_step``) with the
constants of its ``NandakumarDevice``.

The constants of the scheme, ε and the refresh threshold (in µS), are the fields
of ``MixedPrecision``; those of the devices (g_max among them) of
``NandakumarDevice``: ``PCMSynapses(W, device=NandakumarDevice(g_max=20.0),
mixed_precision=MixedPrecision(refresh_us=15.0))``.

``InMemory(layer)`` puts the ``W`` of any layer (``SNU``, ``Dense``) into such
devices and plugs into the same ``Sequential``, losses and optimizers: the
optimizer updates ``layer.params["W"]`` in place as usual; at the next forward
pass the wrapper takes the difference from the last read as the requested
update, sends it to the accumulator, and reads the devices again into
``params["W"]``.

``ideal=True`` switches every device effect off (the pair holds W exactly):
the in-memory network then trains exactly like its software twin, which the
tests check bit for bit.

Bookkeeping (``PCMSynapses.requested``, ``pulses``, ``refreshes``, ``chi``):
every update is accounted for,

.. math::

    Σ ΔW = ε · (\text{pulses on } G^+ − \text{pulses on } G^-) + χ − χ_0,

whatever the devices did with the pulses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..core.errors import InputError
from ..core.layer import Layer
from ..core.validate import as_rng, check_array, check_number, check_size
from .device import DEFAULT_DEVICE, NandakumarDevice, PCMArray, read_step, reset_step, set_pulse_step
from .fast_normal import TABLES, draw, seed, standard_normal

#: Nominal conductance change of one SET pulse (µS), the granularity ε (Nandakumar et al. 2020).
EPSILON_US = 0.75
#: Refresh when either device of a pair passes this conductance (µS).
REFRESH_US = 9.0
#: With drift: the reads' drift factors are computed again when the clock has moved this far (s).
DRIFT_RESOLUTION_S = 1.0
#: Conductance (µS) that the largest initial :math:`|W|` is programmed to.
G_INIT_MAX_US = 5.0


@dataclass(frozen=True, kw_only=True)
class MixedPrecision:
    """The constants of mixed-precision training with the devices in the loop (µS).

    Nandakumar et al., "Mixed-precision deep learning based on computational
    memory", Front. Neurosci. 14, 406 (2020): the accumulator sends a SET pulse
    per whole step ε of the nominal single-pulse conductance change, and a pair
    is refreshed when one of its devices nears saturation.

    Need 0 < epsilon_us < refresh_us; a bad field raises an error that names it.

    Parameters
    ----------
    epsilon_us : float
        ε in µS, 0.75: the nominal (mean) conductance change of one SET
        pulse (ε in weight units is epsilon_us / β).
    refresh_us : float
        9.0, refresh a pair when a pulse takes one of its devices above
        this (the Nandakumar devices saturate near 10.5 µS; the published
        thresholds are 6–9 µS).
    """

    epsilon_us: float = EPSILON_US
    refresh_us: float = REFRESH_US

    def __post_init__(self):
        for name in ("epsilon_us", "refresh_us"):
            object.__setattr__(self, name, check_number(f"MixedPrecision.{name}", getattr(self, name),
                                                        positive=True))
        if not self.epsilon_us < self.refresh_us:
            raise InputError(f"MixedPrecision.epsilon_us must be below refresh_us, got {self.epsilon_us} "
                             f"and {self.refresh_us}")


#: The published scheme (ε = 0.75 µS, refresh above 9 µS): the default of every PCMSynapses.
DEFAULT_MIXED_PRECISION = MixedPrecision()


def pulses_for(g_target):
    """Mean number of SET pulses that take a RESET device to g_target (µS), from pcm.md §1:
    P(G) = 0.027 G³ − 0.15 G² + 0.81 G, rounded; 0 for targets at the RESET level."""
    g = np.asarray(g_target, dtype=np.float64)
    return np.rint(np.maximum(0.027 * g**3 - 0.15 * g**2 + 0.81 * g, 0.0)).astype(np.int64)


def accumulate_reference(chi, dW, epsilon):
    r"""The accumulator step in NumPy: returns (pulses on G⁺, pulses on G⁻, new χ).

    .. math::

        χ &← χ + ΔW; \qquad n = ⌊|χ|/ε⌋; \\
        & n \text{ pulses on } G^+ \text{ where } χ > 0, \text{ on } G^- \text{ where } χ < 0; \\
        χ &← χ − \mathrm{sign}(χ) · n · ε
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
def _reprogram(w, target, baseline, g, p, n_pulses, n_resets, t_prog, now, N, S, state, pulse, reset,
               tables):
    """Program weight w open loop to ``target`` µS per device (signed) above a common ``baseline``:
    RESET its 2N devices, then give each of the N devices of the target's side
    ``_pulses_for(baseline + |target|)`` SET pulses and each of the other side
    ``_pulses_for(baseline)`` (none for baseline 0).
    Draws: the 2N RESETs (G⁺ devices, then G⁻), then the pulses device by device (G⁺, then G⁻).
    The devices' drift starts again at ``now`` (t_prog). ``pulse``, ``reset``: the device's
    ``PulseConstants`` and ``ResetConstants``. Returns the xoshiro state."""
    for d in range(2 * N):
        i = d * S + w
        z, state = draw(state, tables)
        g[i], p[i] = reset_step(z, reset)
        n_resets[i] += 1
        t_prog[i] = now
    for side in range(2):
        on_target_side = (side == 0) == (target > 0)
        n = _pulses_for(baseline + abs(target)) if on_target_side else _pulses_for(baseline)
        for d in range(N):
            i = (side * N + d) * S + w
            for _ in range(n):
                z, state = draw(state, tables)
                g[i], p[i] = set_pulse_step(g[i], p[i], z, pulse)
            n_pulses[i] += n
    return state


@njit(inline="always")
def _pair_us(w, g, N, S):
    """The weight w as its devices hold it, in µS per device: (ΣG⁺ − ΣG⁻)/N."""
    total = 0.0
    for d in range(N):
        total += g[d * S + w] - g[(N + d) * S + w]
    return total / N


@njit(inline="always")
def _drift_factor(i, clock, t_prog, nu):
    """(Δt/t0)^(−ν_i) for device i, Δt = now − t_prog[i] the time since it was last programmed;
    1 when Δt <= t0 or drift is off. ``clock`` = (drift on?, now, t0)."""
    drift, now, t0 = clock
    dt = now - t_prog[i]
    if drift and dt > t0:
        return math.exp(-nu[i] * math.log(dt / t0))
    return 1.0


@njit(inline="always")
def _settle(i, clock, g, t_prog, nu, factor):
    """Before device i is programmed: its conductance has drifted to G·(Δt/t0)^(−ν); a SET pulse
    starts from there, and the drift law starts again (t_prog = now, read factor 1)."""
    g[i] *= _drift_factor(i, clock, t_prog, nu)
    t_prog[i] = clock[1]
    factor[i] = 1.0


@njit(inline="always")
def _settled_pair_us(w, clock, g, t_prog, nu, factor, N, S):
    """The weight w in µS per device as the devices hold it *now* (drift included)."""
    for d in range(2 * N):
        _settle(d * S + w, clock, g, t_prog, nu, factor)
    return _pair_us(w, g, N, S)


@njit(cache=True, error_model="numpy")
def _program_kernel(targets, baseline, g, p, n_pulses, n_resets, t_prog, now, N, seed, pulse, reset,
                    tables):
    """``_reprogram`` every weight w to targets[w] µS per device, in weight order."""
    S = targets.size
    state = (seed[0], seed[1], seed[2], seed[3])
    for w in range(S):
        state = _reprogram(w, targets[w], baseline, g, p, n_pulses, n_resets, t_prog, now, N, S, state,
                           pulse, reset, tables)


@njit(cache=True, error_model="numpy")
def _update_kernel(chi, dW, epsilon, requested, pulses, refreshes, g, p, n_pulses, n_resets,
                   t_prog, nu, factor, clock, N, selection, refresh_us, baseline, seed, pulse, reset,
                   tables):
    """``PCMSynapses.update`` in one pass over the weights (flat arrays; g, p, n_* of the devices).

    Per weight w, in order: χ ← χ + ΔW; n = ⌊|χ|/ε⌋; n SET pulses on the selected
    device of G⁺ (χ > 0) or G⁻ (χ < 0); χ ← χ − sign(χ)·n·ε; if that device now
    exceeds ``refresh_us``, refresh the pair (``_reprogram``). The device draws come
    from the xoshiro256++ state ``seed``, in that order. A device's drift (``clock``)
    is settled before it is pulsed or refreshed (``_settle``).
    """
    S = chi.size
    state = (seed[0], seed[1], seed[2], seed[3])
    for w in range(S):
        requested[w] += dW[w]
        c = chi[w] + dW[w]                              # χ ← χ + ΔW
        if abs(c) >= epsilon:                           # n >= 1 (most weights: no pulse, no division)
            n = np.int64(math.floor(abs(c) / epsilon))  # n = ⌊|χ|/ε⌋
            side = 0 if c > 0 else 1                    # G⁺ for χ > 0, G⁻ for χ < 0
            c -= (1.0 - 2.0 * side) * n * epsilon       # χ ← χ − sign(χ)·n·ε
            pulses[side * S + w] += n
            i = (side * N + selection) * S + w          # the selected device of that side
            _settle(i, clock, g, t_prog, nu, factor)
            for _ in range(n):
                z, state = draw(state, tables)
                g[i], p[i] = set_pulse_step(g[i], p[i], z, pulse)
            n_pulses[i] += n
            if g[i] > refresh_us:                       # only a pulsed device can pass the threshold
                target = _settled_pair_us(w, clock, g, t_prog, nu, factor, N, S)
                state = _reprogram(w, target, baseline, g, p, n_pulses, n_resets, t_prog, clock[1], N, S,
                                   state, pulse, reset, tables)
                refreshes[w] += 1
        chi[w] = c


@njit(cache=True, error_model="numpy")
def _refresh_kernel(g, p, n_pulses, n_resets, t_prog, nu, factor, clock, refreshes, N, refresh_us,
                    baseline, seed, pulse, reset, tables):
    """Refresh every weight with a device above ``refresh_us`` (as programmed), in weight order."""
    S = refreshes.size
    state = (seed[0], seed[1], seed[2], seed[3])
    for w in range(S):
        for d in range(2 * N):
            if g[d * S + w] > refresh_us:
                target = _settled_pair_us(w, clock, g, t_prog, nu, factor, N, S)
                state = _reprogram(w, target, baseline, g, p, n_pulses, n_resets, t_prog, clock[1], N, S,
                                   state, pulse, reset, tables)
                refreshes[w] += 1
                break


@njit(cache=True, error_model="numpy")
def _drift_factors_kernel(t_prog, nu, clock, out):
    """out[i] = (Δt/t0)^(−ν_i) of every device (1 when Δt <= t0 or drift is off)."""
    for i in range(out.size):
        out[i] = _drift_factor(i, clock, t_prog, nu)


@njit(cache=True, error_model="numpy")
def _read_weights_kernel(g, factor, z, noise, read, N, beta, out):
    """out[w] = (Σ_d G⁺_d − Σ_d G⁻_d)/β over the devices read now: G(t) = G·factor (the drift
    factor (Δt/t0)^(−ν)), then G_read = max(0, G(t) + (m3·G(t) + c3)·z) (with noise;
    ``read``: the device's ``ReadConstants``)."""
    S = out.size
    for w in range(S):
        total = 0.0
        for d in range(2 * N):
            i = d * S + w
            gi = g[i] * factor[i]
            if noise:
                gi = read_step(gi, z[i], read)              # the read of device i
            total += gi if d < N else -gi
        out[w] = total / beta


class PCMSynapses:
    """A weight matrix in differential pairs of PCM devices, trained through an accumulator.

    With N devices per side (a multi-memristive synapse, Boybat et al. 2018) all
    N are read and summed, W = (ΣG⁺ − ΣG⁻)/β, and each update pulses only the
    device that the global selection counter points to; the counter then moves
    on, so the devices share the pulses (and average their randomness).

    The devices are ``devices``, a ``PCMArray`` of shape (2, N, n_in, n_out):
    ``devices.g[0]`` holds G⁺, ``devices.g[1]`` G⁻; ``t_prog`` (same shape) the time each
    device was last programmed. ``mixed_precision`` is kept; ``epsilon`` is ε in weight units.

    Parameters
    ----------
    W : array (n_in, n_out)
        The initial weights, programmed open loop (split over the N devices).
    rng : seed or Generator
        For every device draw.
    device : NandakumarDevice
        The constants of the devices (g_max, the SET/RESET fit, read noise, drift law);
        default: the published ones.
    mixed_precision : MixedPrecision
        The pulse granularity ε and the refresh threshold (µS); default: 0.75 and 9 µS.
    devices_per_side : int
        N.
    beta : float or None
        µS per weight unit; default maps max|W| to 5 µS.
    baseline_us : float
        µS that *both* sides of a pair are programmed to (at the start and at every
        refresh), the weight on top: G⁺ = baseline + W·β/N, G⁻ = baseline for W > 0. A device
        right after a RESET takes a first SET step about three times ε, with a spread of
        about 2.4 µS (its pulse memory P = 1); baseline pulses take both devices past that
        jump. It costs range, a pair then stores up to (refresh_us − baseline_us)·N/β, and
        higher conductances take smaller, noisier steps: on the JSB network it does not pay
        (see RESULTS.md).
    read_noise : bool
        Read the devices with read noise (Nandakumar's m3·G + c3).
    drift : bool
        The devices drift (Nandakumar's power law, ν per device): a device programmed at
        t_prog reads G·((t − t_prog)/t0)^(−ν) at time t = ``time``; a pulse starts from the
        drifted conductance and restarts the drift. The caller moves the clock (``time``, s).
    ideal : bool
        Perfect devices, every effect off: the pair stores W exactly (G⁺ = max(W, 0),
        G⁻ = max(−W, 0), in weight units), ``read`` returns it, and ``update`` adds ΔW
        exactly. No pulses, no refresh, no draws. The reference for the in-memory wrapper.
    """

    def __init__(self, W, rng=0, *, device: NandakumarDevice = DEFAULT_DEVICE,
                 mixed_precision: MixedPrecision = DEFAULT_MIXED_PRECISION, devices_per_side=1, beta=None,
                 baseline_us=0.0, read_noise=True, drift=False, ideal=False):
        W = check_array("W", np.asarray(W, dtype=np.float64), ndim=2)
        if not isinstance(mixed_precision, MixedPrecision):
            raise TypeError(f"mixed_precision must be a MixedPrecision, got {type(mixed_precision).__name__}")
        w_max = float(np.abs(W).max()) or 1.0
        self.beta = G_INIT_MAX_US / w_max if beta is None else float(beta)
        if not self.beta > 0:
            raise ValueError(f"beta must be positive, got {beta}")
        n = check_size("devices_per_side", devices_per_side)
        self.mixed_precision = mixed_precision
        refresh_us = mixed_precision.refresh_us
        self.baseline_us = float(baseline_us)
        if not 0 <= self.baseline_us < refresh_us:
            raise ValueError(f"need 0 <= baseline_us < refresh_us, got {baseline_us} and {refresh_us}")
        self.epsilon = mixed_precision.epsilon_us / self.beta     # ε in weight units
        self.read_noise = bool(read_noise)
        self.drift, self.ideal, self.time = bool(drift), bool(ideal), 0.0
        self.devices = PCMArray((2, n) + W.shape, rng=as_rng(rng), device=device)   # [0] = G⁺, [1] = G⁻
        # The kernels' constants, made once (the device's constants are fixed).
        self._constants = (device.pulse_constants(), device.reset_constants())
        self._read_constants = device.read_constants()
        self.t_prog = np.zeros(self.devices.shape)
        self._factor = np.ones(self.devices.shape)        # drift factors of the reads (see read)
        self._factor_time = 0.0
        self.selection = 0                                  # the device that updates pulse
        self.chi = np.zeros(W.shape)
        self.requested = np.zeros(W.shape)                  # Σ ΔW asked for, per weight
        self.pulses = np.zeros((2,) + W.shape, np.int64)    # SET pulses from updates, G⁺ and G⁻
        self.refreshes = np.zeros(W.shape, np.int64)
        self._z = np.empty(self.devices.size)              # the read noise draws, reused
        # Flat views of the state, in the kernels' argument order, made once (making them at
        # every step costs a good part of a small kernel's work).
        arr = self.devices
        self._accumulators = (self.chi.reshape(-1), self.requested.reshape(-1), self.pulses.reshape(-1),
                              self.refreshes.reshape(-1))
        self._device_state = (arr.g.reshape(-1), arr.p.reshape(-1), arr.n_pulses.reshape(-1),
                              arr.n_resets.reshape(-1), self.t_prog.reshape(-1), arr.nu.reshape(-1),
                              self._factor.reshape(-1))
        if self.ideal:
            self._store_exactly(W)
            return
        g, p, n_pulses, n_resets, t_prog, _, _ = self._device_state   # open loop: |W|·β/N on N devices
        _program_kernel(W.reshape(-1) * (self.beta / n), self.baseline_us, g, p, n_pulses, n_resets,
                        t_prog, self.time, n, seed(arr.rng), *self._constants, TABLES)

    @property
    def shape(self):
        return self.chi.shape

    @property
    def devices_per_side(self) -> int:
        return self.devices.shape[1]

    def _clock(self) -> tuple:
        """(drift on?, now, t0): what the kernels need to know of time."""
        return (self.drift, float(self.time), self.devices.device.t0)

    def _store_exactly(self, W) -> None:
        """The ideal pair: G⁺ = max(W, 0), G⁻ = max(−W, 0) on device 0 of each side, in weight units."""
        g = np.zeros(self.devices.shape)
        g[0, 0], g[1, 0] = np.maximum(W, 0.0), np.maximum(-W, 0.0)
        self.devices.g = g

    def read(self, out=None) -> np.ndarray:
        """W = (ΣG⁺ − ΣG⁻)/β from one (noisy, drifted) read of every device, in ``out`` or a new array.

        Without drift the same numbers as ``devices.read(0.0)`` summed by hand; one kernel pass.
        With drift, the factors (Δt/t0)^(−ν) cost a logarithm and an exponential per
        device, so they are computed again only when the clock has moved on by
        ``DRIFT_RESOLUTION_S`` since the last time (a device programmed in between reads
        factor 1, exactly). Between two such times a factor changes by at most
        ν·ln((Δt + 1 s)/Δt) <= ν·(1 s)/t0, about 0.1 %, well under the read noise.
        """
        if out is None:
            out = np.empty(self.shape)
        elif out.shape != self.shape or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous array of shape {self.shape}")
        if self.ideal:
            np.subtract(self.devices.g[0, 0], self.devices.g[1, 0], out=out)   # exactly W
            return out
        g, _, _, _, t_prog, nu, factor = self._device_state
        if self.drift and self.time - self._factor_time >= DRIFT_RESOLUTION_S:
            _drift_factors_kernel(t_prog, nu, self._clock(), factor)
            self._factor_time = self.time
        z = standard_normal(self.devices.rng, self.devices.size, out=self._z) if self.read_noise else self._z
        _read_weights_kernel(g, factor, z, self.read_noise, self._read_constants, self.devices_per_side,
                             self.beta, out.reshape(-1))
        return out

    def update(self, dW) -> None:
        """Add ΔW to the accumulators; send whole steps of ε to the selected devices as SET pulses.

        A pair whose pulsed device passes the refresh threshold is refreshed at once (see ``refresh``).
        The math is ``accumulate_reference``; ``_update_kernel`` does it in one pass.
        """
        dW = check_array("dW", np.asarray(dW, dtype=np.float64), ndim=2)
        if dW.shape != self.shape:
            raise ValueError(f"dW must have shape {self.shape}, got {dW.shape}")
        if self.ideal:
            self.requested += dW
            self._store_exactly(self.read() + dW)
            return
        arr = self.devices
        chi, requested, pulses, refreshes = self._accumulators
        _update_kernel(chi, np.ascontiguousarray(dW).reshape(-1), self.epsilon, requested, pulses, refreshes,
                       *self._device_state, self._clock(), self.devices_per_side, self.selection,
                       self.mixed_precision.refresh_us, self.baseline_us, seed(arr.rng), *self._constants,
                       TABLES)
        self.selection = (self.selection + 1) % self.devices_per_side

    def refresh(self) -> None:
        """RESET the synapses where any device passed the threshold; re-program their weight.

        The weight (ΣG⁺ − ΣG⁻)/β, drift included, is kept: all 2N devices are RESET, then
        the N devices of one side get the mean number of pulses that reach :math:`|W| · β / N`
        (``pulses_for``).
        """
        if self.ideal:
            return
        _refresh_kernel(*self._device_state, self._clock(), self.refreshes.reshape(-1),
                        self.devices_per_side, self.mixed_precision.refresh_us, self.baseline_us,
                        seed(self.devices.rng), *self._constants, TABLES)


class InMemory(Layer):
    """Train ``layer.params["W"]`` with its weights in PCM devices (see the module docstring).

    >>> net = ms.Sequential(
    ...     pcm.InMemory(ms.SNU(88, 150, rng=0), rng=1), ...)
    >>> opt = ms.optim.Adam(net, lr=0.01)  # as for a software network

    Everything but ``W`` (biases, recurrent weights, decays) stays in software.
    ``seconds_per_pass``: the chip's clock moves on by this much at every forward
    pass (a training step, or a sequence scored), which is what the devices' drift
    sees (with ``drift=True``). Other keywords go to ``PCMSynapses``: among them
    ``device=NandakumarDevice(...)`` (g_max, ...) and ``mixed_precision=MixedPrecision(...)``
    (ε, the refresh threshold).
    """

    def __init__(self, layer, rng=0, *, seconds_per_pass=1.0, **synapse_options):
        super().__init__()
        if "W" not in getattr(layer, "params", {}):
            raise TypeError(f"{type(layer).__name__} has no params['W'] to put into PCM devices")
        if not seconds_per_pass >= 0:
            raise ValueError(f"seconds_per_pass must be >= 0, got {seconds_per_pass}")
        self.layer = layer
        self.seconds_per_pass = float(seconds_per_pass)
        self.synapses = PCMSynapses(layer.params["W"], rng=rng, **synapse_options)
        self.params, self.grads = layer.params, layer.grads   # the optimizer sees the layer's own
        self._w_read = None                                 # W as last read, in float64
        self._buffer = np.empty(self.synapses.shape)

    def sync(self) -> None:
        """Send the optimizer's change since the last read to the devices, then read them again."""
        W = self.params["W"]
        if self._w_read is None:
            self._w_read = np.empty(self.synapses.shape)
        else:
            self.synapses.time += self.seconds_per_pass
            # In float64: the difference of two float32 weights is then exact.
            np.subtract(W, self._w_read, out=self._buffer)  # 0 where nothing changed
            self.synapses.update(self._buffer)
        W[...] = self.synapses.read(out=self._buffer)
        self._w_read[...] = W                               # as stored, in the layer's dtype

    @property
    def has_read(self) -> bool:
        """Whether ``params["W"]`` holds weights read from the devices (after a forward pass or
        ``sync``); before that it holds the software weights the devices were made from."""
        return self._w_read is not None

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
