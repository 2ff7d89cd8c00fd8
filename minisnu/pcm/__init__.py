"""Phase-change memory (PCM): device physics, kept apart from the layers that use it.

- ``PCMArray``: a population of devices under the programming model of
  Nandakumar et al. (J. Appl. Phys. 2018): RESET, state-dependent stochastic
  SET pulses with a short pulse memory, saturation, drift and read noise.
- ``PCMNoiseModel``: the statistical inference model fitted by aihwkit
  (programming noise, conductance-dependent drift exponent, 1/f read noise),
  for networks programmed once and then deployed.
- ``Crossbar``: a signed weight matrix stored in differential pairs of PCM
  devices (optionally several per side), and its in-memory product with the
  DAC, drift, read noise, output noise, ADC and drift compensation.
- ``InMemory`` and ``PCMSynapses``: training with the devices in the loop
  (mixed precision: a high-precision accumulator per weight, SET pulses, refresh).

Conductances are in µS, times in seconds. Every random draw comes from a
``numpy.random.Generator`` given by the caller (or made from a seed).
"""

from .crossbar import Crossbar
from .device import PCMArray
from .noise_model import PCMNoiseModel
from .training import InMemory, PCMSynapses

__all__ = ["Crossbar", "InMemory", "PCMArray", "PCMNoiseModel", "PCMSynapses"]
