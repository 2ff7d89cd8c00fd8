r"""PCM synapses that learn by spike-timing-dependent plasticity (STDP), with selective depression.

Each synapse is a PCM device whose conductance G (µS) is the weight; only pulses
change it. When a neuron fires at step t, each of its synapses is updated by how
long ago its input last spiked, Δ = t − t_last (Δ = 0: the input spiked at t):

.. math::

    Δ < τ: \quad & \text{potentiation, } n(Δ) = ⌈P_\text{max} (τ − Δ) / τ⌉ \text{ SET pulses} \\
    & \qquad (P_\text{max} \text{ at } Δ = 0, \text{ at least } 1) \\
    & \text{and the synapse's count of missed spikes } m_i ← 0 \\
    Δ ≥ τ: \quad & \text{a miss, } m_i ← m_i + 1; \\
    & \text{if } m_i ≥ m_\text{dep} \text{ and } G > G_\text{dep}\text{: depression, a RESET, } m_i ← 0

The choices, with their reasons (the publications name the scheme, not these numbers):

- The window (t − τ, t], τ = 2 steps: the inputs that may have caused the spike. The
  correlated inputs spike together, at the step of the burst that fires the neuron,
  so a short window catches them, and catches an uncorrelated input only with its
  small probability r·τ of spiking in it by chance.
- More pulses the closer the input spike (P_max = 2: two pulses at Δ = 0, one at
  Δ = 1): the discrete form of the STDP window, whose weight change falls with the
  time between the input and the output spike.
- Depression by RESET, selectively. A PCM device cannot be decremented gradually;
  its one way down is the RESET, abrupt and all-or-nothing, back to the amorphous
  state. Resetting a synapse at every spike its input misses would erase a
  correlated synapse whenever its input happens to miss one burst (probability
  1 − √c), and resetting it with a small probability instead keeps only a short
  memory (tried: the final weights then separate the groups with an AUC of 0.95 to
  0.98 only). So the evidence is gathered first: each synapse counts the output
  spikes its input missed in a row (a few bits of digital state beside the device),
  and it is RESET only after m_dep = 8 consecutive misses. A correlated input
  misses 8 bursts in a row with probability (1 − √c)^8, 5·10⁻⁵ at c = 0.5 and
  0.008 at c = 0.2; an uncorrelated input almost surely does, soon after each
  chance potentiation. Only synapses above G_dep = 1 µS are reset: a synapse still
  near the RESET state (0.1 µS) would gain nothing from a RESET, which costs a pulse.
- The ideal twin (``devices="ideal"``) applies the same rule with exact increments
  (every SET pulse its mean) and a deterministic RESET to g_reset.

Pulses are counted per synapse: SET pulses, and depressions (RESET pulses).

Draws of one update (PCM), in this order: the potentiation pulses, synapses in input
order, the pulses of one synapse consecutively; then one per RESET, in input order.

Where to read: ``potentiation_pulses`` and ``stdp_reference`` are the rule in NumPy;
``stdp_update`` is the same update for the Numba kernel of ``network.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..core.errors import InputTypeError
from ..core.validate import check_number, check_size
from ..pcm.device import DEFAULT_DEVICE, NandakumarDevice
from .devices import NormalStream, reset, reset_reference, set_pulses, set_pulses_reference

WINDOW = 2
PULSES_MAX = 2
DEPRESSION_LEVEL_US = 1.0
DEPRESSION_MISSES = 8


@dataclass(frozen=True, kw_only=True)
class STDPConfig:
    """The constants of the STDP rule of the PCM synapses; see the module's docstring for the reasons.

    A bad field raises an error that names it.

    Parameters
    ----------
    window : int
        τ = 2 steps: inputs that spiked in (t − τ, t] before an output spike at t are potentiated.
    pulses_max : int
        P_max = 2, the SET pulses for an input that spiked at t itself; an input that
        spiked Δ steps earlier gets ⌈P_max·(τ − Δ)/τ⌉.
    depression_level : float
        G_dep = 1 µS: only synapses above it are depressed.
    depression_misses : int
        m_dep = 8, a synapse is RESET when its input has missed this many
        output spikes of its neuron in a row (1: at every miss).
    device : NandakumarDevice
        The device of the synapses (default: the published one).
    """

    window: int = WINDOW
    pulses_max: int = PULSES_MAX
    depression_level: float = DEPRESSION_LEVEL_US
    depression_misses: int = DEPRESSION_MISSES
    device: NandakumarDevice = DEFAULT_DEVICE

    def __post_init__(self):
        owner = type(self).__name__
        for name in ("window", "pulses_max", "depression_misses"):
            object.__setattr__(self, name, check_size(f"{owner}.{name}", getattr(self, name)))
        object.__setattr__(self, "depression_level",
                           check_number(f"{owner}.depression_level", self.depression_level))
        if not isinstance(self.device, NandakumarDevice):
            raise InputTypeError(f"{owner}.device must be a NandakumarDevice, "
                                 f"got {type(self.device).__name__}")

    def constants(self) -> tuple:
        """(τ, P_max, G_dep, m_dep): what the kernel needs besides the device's constants."""
        return (self.window, self.pulses_max, self.depression_level, self.depression_misses)


# --- The reference: NumPy ------------------------------------------------------------------------

def potentiation_pulses(since, config: STDPConfig):
    """n(Δ) = ⌈P_max·(τ − Δ)/τ⌉ SET pulses for Δ < τ steps since the input's last spike, else 0.

    In integers: (P_max·(τ − min(Δ, τ)) + τ − 1) // τ, which is 0 for Δ ≥ τ.
    """
    tau, p_max = config.window, config.pulses_max
    return (p_max * (tau - np.minimum(since, tau)) + tau - 1) // tau


def stdp_reference(g, p, missed, since, config: STDPConfig, stream: NormalStream):
    """The update of one neuron's synapses (1-d arrays g, p, missed of M, in place) at its spike.

    ``since``: Δ per input, the steps since its last spike (int64); ``missed``: each
    synapse's count of output spikes missed in a row. ``stream``: the run's ``NormalStream``.
    Returns (SET pulses per synapse, the indices of the RESET synapses).
    """
    n = potentiation_pulses(since, config)
    potentiated = np.flatnonzero(n)
    set_pulses_reference(g, p, potentiated, n[potentiated], stream, config.device.pulse_constants())
    missed += n == 0
    missed[potentiated] = 0
    depressed = np.flatnonzero((missed >= config.depression_misses) & (g > config.depression_level))
    reset_reference(g, p, depressed, stream, config.device.reset_constants())
    missed[depressed] = 0
    return n, depressed


# --- The same update for the Numba kernel --------------------------------------------------------

@njit(inline="always")
def _potentiation_pulses(since, tau, p_max):
    """``potentiation_pulses`` for one input."""
    return (p_max * (tau - min(since, tau)) + tau - 1) // tau


@njit(inline="always")
def stdp_update(g, p, missed, last, t, n_set, n_dep, ideal, state, stdp, pulse_k, reset_k, tables):
    """``stdp_reference`` for the synapses (1-d arrays g, p, missed) of the neuron that fired at t.

    ``last``: the step of each input's last spike; ``n_set``, ``n_dep``: that neuron's
    pulse counts, incremented; ``stdp``: ``STDPConfig.constants()``. Two passes, for the
    order of the draws: the potentiation, then the RESETs. Returns the state.
    """
    tau, p_max, level, misses = stdp
    M = g.size
    for i in range(M):                                     # potentiation: Δ < τ
        k = _potentiation_pulses(t - last[i], tau, p_max)
        if k > 0:
            state = set_pulses(g, p, i, k, ideal, state, pulse_k, tables)
            n_set[i] += k
            missed[i] = 0
        else:
            missed[i] += 1
    for i in range(M):                                     # depression: m_dep misses in a row
        if missed[i] >= misses and g[i] > level:
            state = reset(g, p, i, ideal, state, reset_k, tables)
            n_dep[i] += 1
            missed[i] = 0
    return state
