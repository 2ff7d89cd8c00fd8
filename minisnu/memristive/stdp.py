"""PCM synapses that learn by spike-timing-dependent plasticity (STDP), with selective depression.

Each synapse is a PCM device whose conductance G (µS) is the weight; only pulses
change it. When a neuron fires at step t, each of its synapses is updated by how
long ago its input last spiked, Δ = t − t_last (Δ = 0: the input spiked at t)::

    Δ < τ:   potentiation, n(Δ) = ⌈P_max·(τ − Δ)/τ⌉ SET pulses     (P_max at Δ = 0, at least 1)
    Δ ≥ τ:   depression candidate if G > G_dep:
               PCM    a RESET with probability p_dep (else nothing)
               ideal  the expected change of that, a partial step: G <- G + p_dep·(g_reset − G),
                      P <- P + p_dep·(1 − P)

The choices, with their reasons (the publications name the scheme, not these numbers):

- The window (t − τ, t], τ = 2 steps: the inputs that may have caused the spike. The
  correlated inputs spike together, at the step of the burst that fires the neuron,
  so a short window catches them, and catches an uncorrelated input only with its
  small probability r·τ of spiking in it by chance.
- More pulses the closer the input spike (P_max = 2: two pulses at Δ = 0, one at
  Δ = 1): the discrete form of the STDP window, whose weight change falls with the
  time between the input and the output spike.
- Depression by RESET, selectively: a PCM device cannot be decremented gradually; its
  one way down is the RESET, which is abrupt and all-or-nothing, back to the
  amorphous state. Resetting every synapse outside the window at every spike would
  erase a correlated synapse whenever its input happens to miss one burst (with
  probability 1 − √c). So a synapse outside the window is reset only with a small
  probability p_dep = 0.02: a correlated synapse is then potentiated far more often
  than it is reset, an uncorrelated one is reset far more often than it is
  potentiated, and the probability does over many spikes what a gradual decrement
  would do in one. Only synapses above G_dep = 1 µS are candidates: a synapse still
  near the RESET state (0.1 µS) would gain nothing from a RESET, which would cost a
  pulse.
- The ideal twin cannot use a random choice (it draws nothing), so it takes the mean
  of the PCM rule: a partial step of p_dep towards the RESET state, the gradual
  depression a PCM device cannot do.

Pulses are counted per synapse: SET pulses, and depressions (RESET pulses for PCM,
partial steps for the ideal twin).

Draws of one update (PCM), in this order: the potentiation pulses, synapses in input
order, the pulses of one synapse consecutively; then one z per depression candidate,
in input order, which selects it if z < Φ⁻¹(p_dep) (so with probability p_dep); then
one per RESET, in input order.

Where to read: ``potentiation_pulses`` and ``stdp_reference`` are the rule in NumPy;
``stdp_update`` is the same update for the Numba kernel of ``network.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.validate import check_number, check_size
from ..pcm.device import DEFAULT_DEVICE, NandakumarDevice, reset_step
from .devices import NormalStream, normal, reset, reset_reference, set_pulses, set_pulses_reference

WINDOW = 2
PULSES_MAX = 2
DEPRESSION_LEVEL_US = 1.0
DEPRESSION_PROBABILITY = 0.02


@dataclass(frozen=True, kw_only=True)
class STDPConfig:
    """The constants of the STDP rule of the PCM synapses; see the module's docstring for the reasons.

    window : τ = 2 steps: inputs that spiked in (t − τ, t] before an output spike at t are potentiated.
    pulses_max : P_max = 2, the SET pulses for an input that spiked at t itself; an input that
        spiked Δ steps earlier gets ⌈P_max·(τ − Δ)/τ⌉.
    depression_level : G_dep = 1 µS: only synapses above it are depressed.
    depression_probability : p_dep = 0.02, the probability that a synapse outside the window
        (and above G_dep) is RESET at an output spike; the ideal twin's partial step.
    device : the ``NandakumarDevice`` of the synapses (default: the published one).

    A bad field raises an error that names it.
    """

    window: int = WINDOW
    pulses_max: int = PULSES_MAX
    depression_level: float = DEPRESSION_LEVEL_US
    depression_probability: float = DEPRESSION_PROBABILITY
    device: NandakumarDevice = DEFAULT_DEVICE

    def __post_init__(self):
        owner = type(self).__name__
        object.__setattr__(self, "window", check_size(f"{owner}.window", self.window))
        object.__setattr__(self, "pulses_max", check_size(f"{owner}.pulses_max", self.pulses_max))
        object.__setattr__(self, "depression_level",
                           check_number(f"{owner}.depression_level", self.depression_level))
        prob = check_number(f"{owner}.depression_probability", self.depression_probability)
        if prob > 1:
            raise InputError(f"{owner}.depression_probability must lie in [0, 1], got {prob}")
        object.__setattr__(self, "depression_probability", prob)
        if not isinstance(self.device, NandakumarDevice):
            raise InputTypeError(f"{owner}.device must be a NandakumarDevice, "
                                 f"got {type(self.device).__name__}")

    @property
    def depression_z(self) -> float:
        """Φ⁻¹(p_dep): a draw z ~ N(0, 1) selects a synapse for depression if z < this."""
        p = self.depression_probability
        if p in (0.0, 1.0):
            return -np.inf if p == 0 else np.inf
        return NormalDist().inv_cdf(p)

    def constants(self) -> tuple:
        """(τ, P_max, G_dep, Φ⁻¹(p_dep), p_dep, g_reset): what the kernel needs besides the device's.

        g_reset is where the ideal twin's partial step goes: the RESET with z = 0.
        """
        g_reset, _ = reset_step(0.0, self.device.reset_constants())
        return (self.window, self.pulses_max, self.depression_level, self.depression_z,
                self.depression_probability, g_reset)


# --- The reference: NumPy ------------------------------------------------------------------------

def potentiation_pulses(since, config: STDPConfig):
    """n(Δ) = ⌈P_max·(τ − Δ)/τ⌉ SET pulses for Δ < τ steps since the input's last spike, else 0.

    In integers: (P_max·(τ − min(Δ, τ)) + τ − 1) // τ, which is 0 for Δ ≥ τ.
    """
    tau, p_max = config.window, config.pulses_max
    return (p_max * (tau - np.minimum(since, tau)) + tau - 1) // tau


def stdp_reference(g, p, since, config: STDPConfig, stream: NormalStream):
    """The update of one neuron's synapses (1-d arrays g, p of M, in place) at its spike.

    ``since``: Δ per input, the steps since its last spike (int64). ``stream``: the run's
    ``NormalStream`` (zeros for the ideal twin, ``stream.ideal``).
    Returns (SET pulses per synapse, the indices of the depressed synapses).
    """
    n = potentiation_pulses(since, config)
    potentiated = np.flatnonzero(n)
    set_pulses_reference(g, p, potentiated, n[potentiated], stream, config.device.pulse_constants())
    candidates = np.flatnonzero((n == 0) & (g > config.depression_level))
    prob = config.depression_probability
    if stream.ideal:                          # the mean of the PCM rule: a partial step to the RESET
        g_reset = config.constants()[-1]
        g[candidates] += prob * (g_reset - g[candidates])
        p[candidates] += prob * (1.0 - p[candidates])
        return n, candidates
    depressed = candidates[stream.take(candidates.size) < config.depression_z]
    reset_reference(g, p, depressed, stream, config.device.reset_constants())
    return n, depressed


# --- The same update for the Numba kernel --------------------------------------------------------

@njit(inline="always")
def _potentiation_pulses(since, tau, p_max):
    """``potentiation_pulses`` for one input."""
    return (p_max * (tau - min(since, tau)) + tau - 1) // tau


@njit(inline="always")
def stdp_update(g, p, last, t, n_set, n_dep, selected, ideal, state, stdp, pulse_k, reset_k, tables):
    """``stdp_reference`` for the synapses (1-d arrays g, p) of the neuron that fired at step t.

    ``last``: the step of each input's last spike; ``n_set``, ``n_dep``: that neuron's
    pulse counts, incremented; ``selected``: scratch space of M ints; ``stdp``:
    ``STDPConfig.constants()``. Three passes, for the order of the draws: potentiation,
    selection, RESET. Returns the state.
    """
    tau, p_max, level, z_dep, prob, g_reset = stdp
    M = g.size
    for i in range(M):                                     # potentiation: Δ < τ
        k = _potentiation_pulses(t - last[i], tau, p_max)
        if k > 0:
            state = set_pulses(g, p, i, k, ideal, state, pulse_k, tables)
            n_set[i] += k
    if ideal:                                              # a partial step on every candidate
        for i in range(M):
            if t - last[i] >= tau and g[i] > level:
                g[i] += prob * (g_reset - g[i])
                p[i] += prob * (1.0 - p[i])
                n_dep[i] += 1
        return state
    n_selected = 0
    for i in range(M):                                     # selection: one draw per candidate
        if t - last[i] >= tau and g[i] > level:
            z, state = normal(ideal, state, tables)
            if z < z_dep:
                selected[n_selected] = i
                n_selected += 1
    for j in range(n_selected):                            # the RESETs, in input order
        state = reset(g, p, selected[j], ideal, state, reset_k, tables)
        n_dep[selected[j]] += 1
    return state
