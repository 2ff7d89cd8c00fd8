r"""The phase-change neuron: a PCM cell is the membrane (Tuma et al., Nat. Nanotechnol. 2016).

The membrane potential is the conductance G of one PCM device (µS). At every time
step t the neuron receives the total synaptic input I(t) (µS: the sum of the
conductances of the synapses whose input spiked, i.e. the read current at a fixed
read voltage). Then:

.. math::

    k(t) &= \min(⌊I(t) / θ_\text{int}⌋,\ k_\text{max}) \\
        & \qquad \text{SET pulses on the membrane cell (0 below } θ_\text{int}) \\
    (G, P) &← k(t) \text{ SET pulses} \\
        & \qquad \text{the device's own saturating, random increments} \\
    G ≥ G_\text{fire} &⇒ \text{spike, RESET} \\
        & \qquad \text{melt-quench: } G \text{ back near 0.1 µS, } P = 1

The choices, with their reasons (the publications state the scheme, not these numbers):

- Integration threshold θ_int: inputs below it cause no pulse at all. The membrane
  then ignores the steady trickle of uncorrelated input spikes and integrates only
  the coincident bursts, and the few SET pulses it receives are the neuron's whole
  cost in programming energy. A PCM cell has no leak to forget noise with; the
  threshold is what makes it robust to noise.
- Pulses per step, ⌊I/θ_int⌋ capped at k_max: the input above the threshold in whole
  units of θ_int. A larger input (a burst with more inputs, or on stronger synapses)
  gives more pulses, so the neuron fires sooner; the cap is what one step of the
  pulse generator can deliver. One pulse per supra-threshold step (k_max = 1) is the
  simplest variant.
- G_fire = 5 µS, about four mean SET pulses from the RESET state (the mean trajectory
  is 1.9, 3.3, 4.3, 5.1 µS after 1 to 4 pulses): enough pulses for the device's
  randomness to show in the firing times, and well below the saturation near
  10.5 µS, where the increments vanish and the neuron might never fire.

Why the neuron is stochastic: the SET increments have a spread of 1–2 µS each
(m2·G + c2 + A2·P), and every RESET makes a slightly different amorphous state
(G ~ N(0.1, 0.01) µS): the number of pulses to the next spike varies from one
interspike interval to the next, for the same input, with no added noise term.
The ideal twin (``devices="ideal"``, see ``devices.py``) takes every increment at its
mean and resets exactly: for a constant input its interspike intervals are all equal.

Where to read: ``integration_pulses`` is the rule in NumPy, ``drive_reference`` a
neuron driven by a given input current, step by step in NumPy; ``integrate`` is
the same step for the Numba kernels (the network's, ``network.py``, and ``drive``'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.validate import as_rng, check_array, check_choice, check_number, check_size
from ..pcm.device import DEFAULT_DEVICE, NandakumarDevice
from ..pcm.fast_normal import TABLES
from .devices import NormalStream, is_ideal, reset, reset_reference, set_pulses, set_pulses_reference

THETA_INT_US = 100.0
PULSES_MAX = 4
G_FIRE_US = 5.0
ENGINES = ("numba", "reference")


@dataclass(frozen=True, kw_only=True)
class PCMNeuronConfig:
    """The constants of the phase-change neuron (µS); see the module's docstring for the reasons.

    A bad field raises an error that names it.

    Parameters
    ----------
    theta_int : float
        100 µS, the integration threshold: k = min(⌊I/θ_int⌋, k_max) SET pulses per
        step for a total synaptic input I (µS), none below θ_int. With 1,000 inputs spiking at
        1 % per step on synapses of a few µS, the background input is about 30 µS and a burst
        of 50–80 coincident inputs 150–300 µS.
    pulses_max : int
        4, k_max, the most SET pulses of one step.
    g_fire : float
        5 µS, the firing threshold: the neuron spikes when its conductance reaches it.
    device : NandakumarDevice
        The device of the membrane cell (default: the published one).
    """

    theta_int: float = THETA_INT_US
    pulses_max: int = PULSES_MAX
    g_fire: float = G_FIRE_US
    device: NandakumarDevice = DEFAULT_DEVICE

    def __post_init__(self):
        owner = type(self).__name__
        object.__setattr__(self, "theta_int", check_number(f"{owner}.theta_int", self.theta_int,
                                                           positive=True))
        object.__setattr__(self, "pulses_max", check_size(f"{owner}.pulses_max", self.pulses_max))
        g_fire = check_number(f"{owner}.g_fire", self.g_fire, positive=True)
        if not isinstance(self.device, NandakumarDevice):
            raise InputTypeError(f"{owner}.device must be a NandakumarDevice, "
                                 f"got {type(self.device).__name__}")
        if not self.device.g_reset < g_fire < self.device.g_max:
            raise InputError(f"{owner}.g_fire must lie between the device's RESET level "
                             f"{self.device.g_reset} and g_max {self.device.g_max} µS, got {g_fire}")
        object.__setattr__(self, "g_fire", g_fire)

    def constants(self) -> tuple:
        """(θ_int, k_max, G_fire): what a kernel needs besides the device's constants."""
        return (self.theta_int, self.pulses_max, self.g_fire)


# --- The reference: NumPy ------------------------------------------------------------------------

def integration_pulses(current, config: PCMNeuronConfig):
    """k = min(⌊I/θ_int⌋, k_max): the SET pulses for the total synaptic input I (µS), 0 below θ_int."""
    k = np.floor(np.asarray(current, dtype=np.float64) / config.theta_int)
    return np.minimum(k, config.pulses_max).astype(np.int64)


class NeuronRun(NamedTuple):
    """What ``drive`` returns: the spikes, the membrane and the pulses spent."""

    spike_times: np.ndarray     #: int64, the steps at which the neuron fired
    conductance: np.ndarray     #: (T,) µS, after the step's SET pulses, before the RESET of a spike
    set_pulses: int             #: SET pulses on the membrane cell
    resets: int                 #: RESETs of the membrane cell (one per spike)


def drive_reference(current, config: PCMNeuronConfig, stream: NormalStream, g, p) -> NeuronRun:
    """One neuron driven by the input ``current`` (T,) µS, step by step, from the state (g, p).

    Per step: k = min(⌊I(t)/θ_int⌋, k_max) SET pulses (one draw each), then, if G ≥ G_fire,
    a spike and a RESET (one draw). ``stream``: the run's ``NormalStream``.
    """
    g, p = np.array([g], dtype=np.float64), np.array([p], dtype=np.float64)
    pulse_k, reset_k = config.device.pulse_constants(), config.device.reset_constants()
    pulses = integration_pulses(current, config)
    trace, spikes = np.empty(len(pulses)), []
    for t, k in enumerate(pulses):
        set_pulses_reference(g, p, [0], [k], stream, pulse_k)
        trace[t] = g[0]
        if g[0] >= config.g_fire:
            spikes.append(t)
            reset_reference(g, p, [0], stream, reset_k)
    return NeuronRun(np.array(spikes, dtype=np.int64), trace, int(pulses.sum()), len(spikes))


# --- The same steps for the Numba kernels ------------------------------------------------------

@njit(inline="always")
def integrate(g, p, n, current, ideal, state, neuron, pulse_k, tables):
    """Neuron n (of the 1-d arrays g, p) integrates the input ``current`` (µS).

    k = min(⌊I/θ_int⌋, k_max) SET pulses, one draw each. ``neuron``: (θ_int, k_max, G_fire).
    Returns (k, state).
    """
    theta, k_max, _ = neuron
    k = np.int64(min(np.floor(current / theta), k_max))
    if k > 0:
        state = set_pulses(g, p, n, k, ideal, state, pulse_k, tables)
    return k, state


@njit(cache=True, error_model="numpy")
def _drive_kernel(current, g, p, trace, spikes, ideal, seed, neuron, pulse_k, reset_k, tables):
    """``drive_reference`` in one compiled loop, on the 1-element arrays g, p; returns the spike count."""
    state = (seed[0], seed[1], seed[2], seed[3])
    g_fire = neuron[2]
    n_spikes = 0
    for t in range(current.size):
        _, state = integrate(g, p, 0, current[t], ideal, state, neuron, pulse_k, tables)
        trace[t] = g[0]
        if g[0] >= g_fire:
            spikes[n_spikes] = t
            n_spikes += 1
            state = reset(g, p, 0, ideal, state, reset_k, tables)
    return n_spikes


def drive(current, config: PCMNeuronConfig | None = None, rng=0, *, devices: str = "pcm",
          engine: str = "numba") -> NeuronRun:
    """A neuron, starting from a RESET, driven by the input ``current`` (T,) µS for T steps.

    For looking at the neuron alone: its interspike intervals for a constant input
    (``np.diff(run.spike_times)``) spread with ``devices="pcm"`` and are all equal with
    ``devices="ideal"``. ``rng``: seed or Generator (the initial RESET and every draw);
    ``engine``: ``"numba"`` or ``"reference"`` (the same numbers).
    """
    config = PCMNeuronConfig() if config is None else config
    if not isinstance(config, PCMNeuronConfig):
        raise InputTypeError(f"config must be a PCMNeuronConfig, got {type(config).__name__}")
    current = check_array("current", np.asarray(current, dtype=np.float64), ndim=1)
    if current.size and current.min() < 0:
        raise InputError(f"current must be >= 0 µS, got a minimum of {current.min()}")
    ideal = is_ideal(devices)
    check_choice("engine", engine, ENGINES)
    stream = NormalStream(as_rng(rng), ideal)
    g, p = np.zeros(1), np.zeros(1)
    reset_reference(g, p, [0], stream, config.device.reset_constants())     # the initial RESET
    if engine == "reference":
        return drive_reference(current, config, stream, g[0], p[0])
    trace = np.empty(current.size)
    spikes = np.empty(current.size, np.int64)
    pulses = integration_pulses(current, config)
    n_spikes = _drive_kernel(current, g, p, trace, spikes, ideal, stream.state, config.constants(),
                             config.device.pulse_constants(), config.device.reset_constants(), TABLES)
    return NeuronRun(spikes[:n_spikes].copy(), trace, int(pulses.sum()), int(n_spikes))


__all__ = ["NeuronRun", "PCMNeuronConfig", "drive", "drive_reference", "integrate", "integration_pulses"]
