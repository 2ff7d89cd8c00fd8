"""The all-memristive network: phase-change neurons, PCM synapses with STDP, level-tuned neurons.

After Pantazi, Woźniak, Tuma and Eleftheriou, Nanotechnology 27, 355205 (2016), and the
phase-change neuron of Tuma et al., Nat. Nanotechnol. 11, 693 (2016): neurons *and* synapses
are phase-change devices (the Nandakumar model of ``minisnu.pcm.device``), the synapses learn
without supervision by spike-timing-dependent plasticity, and the neurons of a layer are
interconnected so that each answers one level of input activity. Read in this order:

- ``devices.py``: the two operations on a cell (SET pulse, RESET) in its two twins, PCM
  (random) and ideal (the mean, no draw), and the random numbers a run draws;
- ``neuron.py``: the phase-change neuron, ``PCMNeuronConfig`` (integration threshold, pulses
  per step, firing threshold) and ``drive``, a neuron alone under a given input current;
- ``stdp.py``: the synapses' learning rule, ``STDPConfig`` (window, potentiation pulses,
  selective depression);
- ``network.py``: ``MemristiveNetwork``, the layer (level-tuned or winner-take-all
  inhibition), its time loop in NumPy and in Numba, and the ``Record`` of a run;
  ``level_bands`` places the level-tuned neurons' bands for given groups of inputs.

::

    net = MemristiveNetwork(1000, rng=0)   # one neuron, 1,000 PCM synapses
    rec = net.run(x)                       # x: (T, 1000) spikes, 0 or 1
    rec.final_weights, rec.spike_times, rec.neuron_pulses

Conductances are in µS, times in steps. Every random draw comes from the numpy Generator
given as ``rng``.
"""

from .network import MemristiveNetwork, Record, level_bands
from .neuron import NeuronRun, PCMNeuronConfig, drive
from .stdp import STDPConfig

__all__ = ["MemristiveNetwork", "NeuronRun", "PCMNeuronConfig", "Record", "STDPConfig", "drive",
           "level_bands"]
