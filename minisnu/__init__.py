"""minisnu: Spiking Neural Units from scratch, with hand-derived BPTT on NumPy and Numba.

    import numpy as np, minisnu as ms
    net = ms.Sequential(ms.SNU(784, 256, rng=0), ms.SNU(256, 10, rng=1), ms.Readout("mean"))
    rates = net.forward(x)                      # x: (T, B, 784) spikes -> (B, 10) rates
    loss, grad = ms.losses.mse(rates, one_hot)
    net.backward(grad)                          # hand-derived BPTT, gradients in net.grads
    ms.optim.Adam(net, lr=1e-3).step()

Where to read: ``snu_reference.py`` (the unit's equations and their backward,
in NumPy), ``snu_engine.py`` (the same as compiled Numba loops), ``snu.py`` (the
layer), ``surrogate.py`` (pseudo-derivatives), ``gradcheck.py`` (finite
differences), ``testing.py`` (property-based gradient tests for your own units).
"""

from . import data
from .core.layer import Layer
from .core.registry import register_layer
from .data import encoding
from .layers.dense import Dense
from .layers.dropout import Dropout
from .layers.embedding import Embedding
from .layers.readout import Readout
from .layers.sequential import Sequential
from .layers.tied_dense import TiedDense
from .training import gradcheck, losses, optim
from .units import surrogate
from .units.gru import GRU
from .units.lstm import LSTM
from .units.rnn import RNN
from .units.snu import SNU

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "SNU",
    "Dense",
    "Dropout",
    "Embedding",
    "Layer",
    "Readout",
    "Sequential",
    "TiedDense",
    "data",
    "encoding",
    "gradcheck",
    "losses",
    "optim",
    "register_layer",
    "surrogate",
]
