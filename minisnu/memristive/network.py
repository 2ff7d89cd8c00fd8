r"""The all-memristive layer: phase-change neurons, PCM synapses with STDP, and their inhibition.

After Pantazi, Woźniak, Tuma and Eleftheriou, "All-memristive neuromorphic computing
with level-tuned neurons", Nanotechnology 27, 355205 (2016). M binary input streams,
N phase-change neurons (``neuron.py``), an (N, M) array of PCM synapses trained by
STDP (``stdp.py``). One time step t, with x(t) the inputs' spikes (0 or 1):

1. .. math::

       A(t) &= Σ_i x_i(t) \qquad \text{the layer's input activity (spikes at } t) \\
       I_n(t) &= Σ_i G_{ni} x_i(t) \qquad \text{the input of neuron } n \text{ (µS), } i \text{ in order}

2. the neurons allowed to integrate (below) get min(⌊I_n/θ_int⌋, k_max) SET pulses
3. among the neurons with G_n ≥ G_fire, the one with the largest G_n fires (the first
   one on a tie); it is RESET, and so are, with winner-take-all, the others
4. the synapses of the neuron that fired: STDP (potentiation in the window, selective
   depression outside it)

So at most one neuron fires per step. The inhibition, the interconnection of the
neurons, chooses who may integrate and who is reset:

- ``inhibition="level"``, level-tuned neurons (our reading of Pantazi et al.: level-tuned
  neurons of the auditory cortex respond to one sound intensity each). Neuron n is
  tuned to the band :math:`[L_n, L_{n+1})` of the input activity A(t) (``levels`` =
  :math:`L_0 < L_1 < … < L_{N−1}`, in input spikes per step; L_N = ∞). It integrates only while A(t)
  lies in its band: when the activity exceeds its band, the neuron above it is the
  one activated, and it silences those below (they receive no pulse at that step);
  below L_0 no neuron integrates. At most one neuron integrates per step, so no
  neuron needs a RESET but the one that fires: the layer selects a winner with
  fewer neuron operations than lateral inhibition. Different groups of correlated
  inputs make bursts of different sizes (a group of S inputs at correlation c makes
  bursts of about √c·S inputs), so each group's bursts fall into one neuron's band
  and that neuron learns the group. ``level_bands`` gives bands for given groups.
- ``inhibition="wta"``, classic winner-take-all lateral inhibition: every neuron
  integrates; when one fires it resets every other neuron that has received a SET
  pulse since its last RESET (each such reset is a RESET pulse, counted). The others
  lose what they integrated; with N = 1 it is the same as ``"level"`` with L_0 = 0.

``devices="pcm"`` or ``"ideal"`` selects the twin of every cell, neurons and synapses at
once (``devices.py``). Initial state: every neuron RESET; every synapse RESET and then
given a number of SET pulses drawn uniformly from 0 to ``init_pulses`` (by the numpy
Generator, so both twins start from the same pulse counts, and the synapses differ from
the start, which lets winner-take-all neurons tell themselves apart).

Where to read: ``run_reference`` is the time loop in NumPy, one step per iteration,
vectorised over inputs and neurons; ``_run_kernel`` is the same loop compiled, over the
whole input at once. They make the same operations in the same order (the sums of step 1
in input order, the draws in the order of ``neuron.py`` and ``stdp.py``: the neurons'
pulses in neuron order, then the RESETs in neuron order, then the STDP update), and the
tests check that they agree bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..core.errors import InputError, InputTypeError
from ..core.validate import as_rng, check_choice, check_size
from ..pcm.fast_normal import TABLES
from .devices import NormalStream, is_ideal, reset, reset_reference, set_pulses_reference
from .neuron import PCMNeuronConfig, integrate, integration_pulses
from .stdp import STDPConfig, stdp_reference, stdp_update

INHIBITIONS = ("level", "wta")
ENGINES = ("numba", "reference")
INIT_PULSES = 3
#: The last spike of an input that has not spiked yet: far outside any window.
NEVER = -(2**62)


@dataclass
class Record:
    """What ``MemristiveNetwork.run`` returns: spikes, membranes, weights and the pulses spent.

    Times are steps of this run, from 0. Counts are of this run only.

    Attributes
    ----------
    spike_times : tuple
        One int64 array per neuron, the steps at which it fired.
    fired : (T,) int64
        The neuron that fired at each step, −1 for none.
    conductance : (rows, N) µS
        The neurons' membranes after the step's SET pulses and before the RESET of a
        spike (so a spike shows as G_fire crossed), at the steps ``trace_times``.
    trace_times : int array
        The steps of the rows of ``conductance``.
    weights : (snapshots, N, M) µS
        The synapses at ``weight_times``.
    weight_times : int array
        The number of steps done at each snapshot: 0 (before the first step),
        record_every, 2·record_every, …
    final_weights : (N, M) µS
        The synapses after the last step.
    neuron_set_pulses : (N,)
        SET pulses on each neuron's cell.
    neuron_resets : (N,)
        RESETs of each neuron's cell: its spikes and, with winner-take-all,
        the lateral resets (``lateral_resets``, counted in both).
    lateral_resets : (N,)
        RESETs from another neuron's spike (winner-take-all).
    synapse_set_pulses : (N, M)
        SET pulses on each synapse (STDP potentiation).
    synapse_depressions : (N, M)
        Depressions of each synapse: RESET pulses (PCM) or partial steps (ideal).
    """

    spike_times: tuple
    fired: np.ndarray
    conductance: np.ndarray
    trace_times: np.ndarray
    weights: np.ndarray
    weight_times: np.ndarray
    final_weights: np.ndarray
    neuron_set_pulses: np.ndarray
    neuron_resets: np.ndarray
    lateral_resets: np.ndarray
    synapse_set_pulses: np.ndarray
    synapse_depressions: np.ndarray

    @property
    def neuron_pulses(self) -> int:
        """Every pulse on the neurons' cells, SET and RESET: the neurons' operations."""
        return int(self.neuron_set_pulses.sum() + self.neuron_resets.sum())


def level_bands(n_inputs: int, rate: float, groups) -> tuple:
    r"""Band edges L_0 < … < L_{K−1} (input spikes per step) for level-tuned neurons, one per group.

    A burst of group k (size S_k, correlation c_k), at a step where its hidden reference
    spikes, has on average

    .. math::

        a_k = \sqrt{c_k} · S_k + (1 − \sqrt{c_k}) · S_k · r + (M − S_k) · r

    input spikes (its copies, its own Bernoulli spikes, the rest at rate r); the background r·M. The
    groups are sorted by a_k and the edges put halfway: L_0 between the background and
    the smallest burst, L_k between consecutive bursts. Neuron k then answers the k-th
    smallest burst. The groups' bursts must differ (an InputError if two coincide).
    """
    M = check_size("n_inputs", n_inputs)
    if not 0 < rate < 1:
        raise InputError(f"rate must lie in (0, 1), got {rate}")
    bursts = []
    for size, c in groups:
        if not 0 <= c <= 1:
            raise InputError(f"groups: a correlation must lie in [0, 1], got {c}")
        copy = math.sqrt(c)
        bursts.append(copy * size + (1 - copy) * size * rate + (M - size) * rate)
    levels = np.sort(np.array([rate * M] + bursts))
    if np.any(np.diff(levels) <= 0):
        raise InputError(f"groups: two groups (or a group and the background) burst at the same level "
                         f"{sorted(levels.tolist())}; level tuning cannot tell them apart")
    return tuple(float(v) for v in (levels[:-1] + levels[1:]) / 2)


class MemristiveNetwork:
    """A layer of N phase-change neurons with M PCM synapses each, learning by STDP.

    The state carries over from one ``run`` to the next (membranes, synapses, the
    inputs' last spikes, the synapses' counts of missed output spikes): ``run(x1);
    run(x2)`` is ``run(concatenate(x1, x2))`` except that each run takes a fresh seed
    from ``rng`` (for the ideal twin, which draws nothing, it is the same). ``weights``
    (N, M) and ``membranes`` (N,) are copies of the conductances, µS.

    Parameters
    ----------
    n_inputs : int
        M, the input streams.
    n_neurons : int
        N (default 1).
    neuron : PCMNeuronConfig
        θ_int, k_max, G_fire, the membranes' device.
    stdp : STDPConfig
        Window, pulses, selective depression, the synapses' device.
    inhibition : str
        ``"level"`` (level-tuned neurons, the default) or ``"wta"`` (lateral inhibition).
    levels : sequence of float
        With ``"level"``: the lower band edges :math:`L_0 < … < L_{N−1}` in input spikes per step
        (see ``level_bands``); default (0,) for one neuron, required for more.
    devices : str
        ``"pcm"`` (default) or ``"ideal"``, for neurons and synapses alike.
    init_pulses : int
        3, the synapses start RESET plus 0 to ``init_pulses`` SET pulses each.
    rng : seed or numpy Generator
        The initial state and every draw of every run.

    Examples
    --------
    >>> net = MemristiveNetwork(1000, rng=0)
    >>> rec = net.run(x)      # x: (T, 1000) binary spikes
    >>> # (1, 1000) µS: the correlated inputs' synapses high
    >>> rec.final_weights
    """

    def __init__(self, n_inputs, n_neurons=1, *, neuron: PCMNeuronConfig | None = None,
                 stdp: STDPConfig | None = None, inhibition: str = "level", levels=None,
                 devices: str = "pcm", init_pulses: int = INIT_PULSES, rng=0):
        self.n_inputs = check_size("n_inputs", n_inputs)
        self.n_neurons = N = check_size("n_neurons", n_neurons)
        self.neuron = PCMNeuronConfig() if neuron is None else neuron
        self.stdp = STDPConfig() if stdp is None else stdp
        if not isinstance(self.neuron, PCMNeuronConfig):
            raise InputTypeError(f"neuron must be a PCMNeuronConfig, got {type(self.neuron).__name__}")
        if not isinstance(self.stdp, STDPConfig):
            raise InputTypeError(f"stdp must be an STDPConfig, got {type(self.stdp).__name__}")
        check_choice("inhibition", inhibition, INHIBITIONS)
        self.inhibition = inhibition
        self.levels = self._check_levels(levels)
        self.devices = devices
        self.ideal = is_ideal(devices)
        if isinstance(init_pulses, bool) or not isinstance(init_pulses, (int, np.integer)) or init_pulses < 0:
            raise InputError(f"init_pulses must be an int >= 0, got {init_pulses!r}")
        self.init_pulses = int(init_pulses)
        self.rng = as_rng(rng)
        M = self.n_inputs
        # The initial state: pulse counts from the Generator, then the devices' draws.
        counts = self.rng.integers(0, self.init_pulses + 1, size=(N, M))
        stream = NormalStream(self.rng, self.ideal)
        self._gn, self._pn = np.zeros(N), np.zeros(N)
        reset_reference(self._gn, self._pn, range(N), stream, self.neuron.device.reset_constants())
        self._g, self._p = np.zeros((N, M)), np.zeros((N, M))
        g, p = self._g.reshape(-1), self._p.reshape(-1)
        reset_reference(g, p, range(N * M), stream, self.stdp.device.reset_constants())
        set_pulses_reference(g, p, range(N * M), counts.reshape(-1), stream,
                             self.stdp.device.pulse_constants())
        self._integrated = np.zeros(N, np.bool_)      # a SET pulse since the last RESET?
        self._last = np.full(M, NEVER, np.int64)      # each input's last spike, in this run's steps
        self._missed = np.zeros((N, M), np.int64)     # each synapse's output spikes missed in a row

    def _check_levels(self, levels):
        N = self.n_neurons
        if self.inhibition == "wta":
            if levels is not None:
                raise InputError("levels: only for inhibition='level', not 'wta'")
            return np.zeros(N)
        if levels is None:
            if N > 1:
                raise InputError(f"levels: inhibition='level' with {N} neurons needs {N} band edges "
                                 "(input spikes per step); see level_bands")
            levels = (0.0,)
        levels = np.asarray(levels, dtype=np.float64)
        if levels.shape != (N,) or not np.isfinite(levels).all() or np.any(np.diff(levels) <= 0):
            raise InputError(f"levels: need {N} finite, increasing band edges, got {levels.tolist()}")
        return levels

    @property
    def weights(self) -> np.ndarray:
        """(N, M) µS, a copy of the synapses' conductances."""
        return self._g.copy()

    @property
    def membranes(self) -> np.ndarray:
        """(N,) µS, a copy of the neurons' conductances."""
        return self._gn.copy()

    def _check_input(self, x) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise InputTypeError(f"x must be a numpy array, got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise InputError(f"x must have shape (T, {self.n_inputs}), got {x.shape}")
        if x.dtype.kind not in "biuf":
            raise InputTypeError(f"x must hold spikes, 0 or 1 (bool or numbers), got dtype {x.dtype}")
        if x.dtype != np.bool_ and x.size:         # min and max: one fast pass each
            low, high = x.min(), x.max()
            if low < 0 or high > 1 or (x.dtype.kind == "f" and not ((x == 0) | (x == 1)).all()):
                raise InputError("x must hold spikes: 0 or 1 (bool or numbers)")
        return np.ascontiguousarray(x, dtype=np.uint8)

    def run(self, x, *, record_every: int | None = None, trace_every: int = 1, trace_steps: int | None = None,
            engine: str = "numba") -> Record:
        """Run the layer over the spikes ``x`` (T, M), learning as it goes; returns a ``Record``.

        Parameters
        ----------
        x : array (T, M)
            The input spikes, 0 or 1.
        record_every : int
            Steps between weight snapshots (default T // 100, at least 1).
        trace_every, trace_steps : int
            The membranes are traced every ``trace_every`` steps of
            the first ``trace_steps`` (default all).
        engine : str
            ``"numba"`` (the compiled loop) or ``"reference"`` (NumPy, one step at a time):
            the same numbers, bit for bit.
        """
        x = self._check_input(x)
        check_choice("engine", engine, ENGINES)
        T = len(x)
        record_every = max(1, T // 100) if record_every is None else check_size("record_every", record_every)
        trace_every = check_size("trace_every", trace_every)
        trace_steps = T if trace_steps is None else int(check_size("trace_steps", trace_steps))
        out = _Outputs(T, self.n_neurons, self.n_inputs, record_every, trace_every, min(trace_steps, T))
        out.weights[0] = self._g
        stream = NormalStream(self.rng, self.ideal)
        if engine == "reference":
            run_reference(self, x, out, stream)
        else:
            neuron_device, synapse_device = self.neuron.device, self.stdp.device
            _run_kernel(x, self._g, self._p, self._missed, self._gn, self._pn, self._integrated, self._last,
                        self.levels, self.inhibition == "level", self.ideal, stream.state,
                        self.neuron.constants(), self.stdp.constants(),
                        neuron_device.pulse_constants(), neuron_device.reset_constants(),
                        synapse_device.pulse_constants(), synapse_device.reset_constants(), TABLES,
                        out.fired, out.conductance, trace_every, out.weights, record_every, out.neuron_set,
                        out.neuron_resets, out.lateral_resets, out.synapse_set, out.synapse_dep)
        self._last[self._last > NEVER] -= T             # the next run counts its steps from 0
        return out.record(self._g)


class _Outputs:
    """The arrays a run fills, the kernel's and the reference's alike."""

    def __init__(self, T, N, M, record_every, trace_every, trace_steps):
        self.record_every, self.trace_every = record_every, trace_every
        self.fired = np.full(T, -1, np.int64)
        self.trace_times = np.arange(0, trace_steps, trace_every)
        self.conductance = np.zeros((self.trace_times.size, N))
        self.weight_times = np.arange(0, T + 1, record_every)
        self.weights = np.zeros((self.weight_times.size, N, M))
        self.neuron_set, self.neuron_resets, self.lateral_resets = (np.zeros(N, np.int64) for _ in range(3))
        self.synapse_set, self.synapse_dep = np.zeros((N, M), np.int64), np.zeros((N, M), np.int64)

    def record(self, g) -> Record:
        N = g.shape[0]
        return Record(tuple(np.flatnonzero(self.fired == n) for n in range(N)), self.fired, self.conductance,
                      self.trace_times, self.weights, self.weight_times, g.copy(), self.neuron_set,
                      self.neuron_resets, self.lateral_resets, self.synapse_set, self.synapse_dep)


# --- The reference: NumPy, one step at a time -----------------------------------------------------

def run_reference(net: MemristiveNetwork, x, out: _Outputs, stream: NormalStream) -> None:
    """The time loop in NumPy, on the state of ``net`` (in place), filling ``out``.

    Per step t: (1) A(t) and I(t) = the sums of G over the spiking inputs, in input order
    (``np.cumsum``, which adds in order, as the kernel does); (2) the allowed neurons'
    SET pulses; (3) the winner among those with G ≥ G_fire, the RESETs; (4) its STDP update.
    """
    g, p, gn, pn, last = net._g, net._p, net._gn, net._pn, net._last
    N = net.n_neurons
    neuron, level_mode = net.neuron, net.inhibition == "level"
    edges = np.append(net.levels, np.inf)
    pulse_n, reset_n = neuron.device.pulse_constants(), neuron.device.reset_constants()
    record_every, trace_every, n_trace = out.record_every, out.trace_every, out.trace_times.size
    for t in range(len(x)):
        active = np.flatnonzero(x[t])                                  # (1)
        last[active] = t
        current = np.cumsum(g[:, active], axis=1)[:, -1] if active.size else np.zeros(N)
        allowed = (edges[:-1] <= active.size) & (active.size < edges[1:]) if level_mode else np.ones(N, bool)
        k = np.where(allowed, integration_pulses(current, neuron), 0)  # (2)
        pulsed = np.flatnonzero(k)
        set_pulses_reference(gn, pn, pulsed, k[pulsed], stream, pulse_n)
        out.neuron_set += k
        net._integrated[pulsed] = True
        if t % trace_every == 0 and t // trace_every < n_trace:
            out.conductance[t // trace_every] = gn
        ready = gn >= neuron.g_fire                                    # (3)
        if ready.any():
            winner = int(np.argmax(np.where(ready, gn, -np.inf)))     # the first of the largest
            out.fired[t] = winner
            lateral = np.zeros(N, bool) if level_mode else net._integrated.copy()
            lateral[winner] = False
            resets = np.flatnonzero(lateral | (np.arange(N) == winner))
            reset_reference(gn, pn, resets, stream, reset_n)
            net._integrated[resets] = False
            out.neuron_resets[resets] += 1
            out.lateral_resets += lateral
            n, depressed = stdp_reference(g[winner], p[winner], net._missed[winner], t - last, net.stdp,
                                          stream)                                      # (4)
            out.synapse_set[winner] += n
            out.synapse_dep[winner, depressed] += 1
        if (t + 1) % record_every == 0:
            out.weights[(t + 1) // record_every] = g


# --- The kernel: the same loop, compiled --------------------------------------------------------

@njit(cache=True, error_model="numpy")
def _run_kernel(x, g, p, missed, gn, pn, integrated, last, levels, level_mode, ideal, seed, neuron, stdp,
                pulse_n, reset_n, pulse_s, reset_s, tables, fired, trace, trace_every, weights, record_every,
                neuron_set, neuron_resets, lateral_resets, synapse_set, synapse_dep):
    """``run_reference`` over all T steps (g, p, missed: (N, M) synapses; gn, pn: (N,) neurons; in place).

    ``neuron``, ``stdp``: the configs' ``constants()``; ``pulse_*``, ``reset_*``: the device
    constants of the neurons (n) and the synapses (s).
    """
    T, M = x.shape
    N = gn.size
    state = (seed[0], seed[1], seed[2], seed[3])
    g_fire = neuron[2]
    current = np.empty(N)
    n_trace = trace.shape[0]
    for t in range(T):
        current[:] = 0.0                                         # (1) A(t), I(t)
        activity = 0
        for i in range(M):
            if x[t, i]:
                activity += 1
                last[i] = t
                for n in range(N):
                    current[n] += g[n, i]
        for n in range(N):                                       # (2) integration
            if level_mode and not (levels[n] <= activity and (n == N - 1 or activity < levels[n + 1])):
                continue
            k, state = integrate(gn, pn, n, current[n], ideal, state, neuron, pulse_n, tables)
            if k > 0:
                neuron_set[n] += k
                integrated[n] = True
        if t % trace_every == 0 and t // trace_every < n_trace:
            trace[t // trace_every] = gn
        winner = -1                                              # (3) the first of the largest
        for n in range(N):
            if gn[n] >= g_fire and (winner < 0 or gn[n] > gn[winner]):
                winner = n
        if winner >= 0:
            fired[t] = winner
            for n in range(N):
                lateral = not level_mode and integrated[n] and n != winner
                if n == winner or lateral:
                    state = reset(gn, pn, n, ideal, state, reset_n, tables)
                    integrated[n] = False
                    neuron_resets[n] += 1
                    lateral_resets[n] += lateral
            state = stdp_update(g[winner], p[winner], missed[winner], last, t, synapse_set[winner],  # (4)
                                synapse_dep[winner], ideal, state, stdp, pulse_s, reset_s, tables)
        if (t + 1) % record_every == 0:
            weights[(t + 1) // record_every] = g
