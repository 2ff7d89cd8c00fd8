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

The constants of each model are a frozen dataclass with the published values as
defaults, beside its model: ``NandakumarDevice`` (device.py; g_max = 12 µS),
``PCMNoiseModel`` itself (noise_model.py; g_max = 25 µS), ``CrossbarEffects``
(crossbar.py: converters, output noise, which effects are on) and
``MixedPrecision`` (training.py: ε and the refresh threshold). The arrays and
layers take them::

    arr = PCMArray((150, 88), rng=0, device=NandakumarDevice(g_max=20.0))
    xb = Crossbar(88, 150, rng=0, effects=CrossbarEffects(adc_bits=8),
                  noise_model=PCMNoiseModel(12.5))
    layer = InMemory(SNU(88, 150), rng=1,
                     mixed_precision=MixedPrecision(refresh_us=8.0))

Conductances are in µS, times in seconds. Every random draw comes from a
``numpy.random.Generator`` given by the caller (or made from a seed).
"""

from .crossbar import Crossbar, CrossbarEffects
from .device import NandakumarDevice, PCMArray
from .noise_model import PCMNoiseModel
from .training import InMemory, MixedPrecision, PCMSynapses

__all__ = ["Crossbar", "CrossbarEffects", "InMemory", "MixedPrecision", "NandakumarDevice", "PCMArray",
           "PCMNoiseModel", "PCMSynapses"]
