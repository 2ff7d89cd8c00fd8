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

from . import data, encoding, gradcheck, losses, optim, surrogate
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .layer import Layer
from .lstm import LSTM
from .readout import Readout
from .registry import register_layer
from .rnn import RNN
from .sequential import Sequential
from .snu import SNU
from .tied_dense import TiedDense

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
