"""minisnu: Spiking Neural Units from scratch, with hand-derived BPTT on NumPy and Numba. ::

    import numpy as np, minisnu as ms
    net = ms.Sequential(ms.SNU(784, 256, rng=0), ms.SNU(256, 10, rng=1), ms.Readout("mean"))
    rates = net.forward(x)                      # x: (T, B, 784) spikes -> (B, 10) rates
    loss, grad = ms.losses.mse(rates, one_hot)
    net.backward(grad)                          # hand-derived BPTT, gradients in net.grads
    ms.optim.Adam(net, lr=1e-3).step()

The folders, from the bottom up (a module imports only its own layer and those below)::

    core/         the layer contract, input checks, initialisations, elementwise functions,
                  atomic files, declared options, the errors a user can fix
    units/        the temporal units: SNU (read units/snu_reference.py first), RNN, LSTM,
                  GRU, on one stateful base (units/temporal.py)
    layers/       Dense, Embedding, Dropout, Readout, TiedDense, and the Sequential container
    training/     losses, optimizers, the training loop, the run folder, gradient checks,
                  the public test kit (minisnu.training.testing)
    pcm/, data/   phase-change memory (devices, crossbars, training in the loop); data sets
                  and spike encodings
    tasks/        the paper's tasks (jsb, mnist, ptb) for minisnu train
    exchange/     networks to and from NIR (ms.nir), for other tools and hardware
    experiments/  the in-memory experiments (pcm-train, drift, robustness)
    cli.py, viz/  the command line, and the plots
"""

from . import data
from .core.layer import Layer
from .core.registry import register_layer
from .data import encoding
from .layers.dense import Dense
from .layers.dropout import Dropout
from .layers.embedding import Embedding
from .layers.flatten import Flatten
from .layers.pooling import AvgPool2d, MaxPool2d
from .layers.readout import Readout
from .layers.sequential import Sequential
from .layers.tied_dense import TiedDense
from .training import gradcheck, losses, optim
from .units import surrogate
from .units.conv_snu import ConvSNU
from .units.gru import GRU
from .units.lstm import LSTM
from .units.rnn import RNN
from .units.snu import SNU

__version__ = "0.1.0"


def __getattr__(name):
    """``ms.testing`` (needs hypothesis), ``ms.viz`` (needs matplotlib) and ``ms.nir`` (NIR
    export and import; needs nir when called) load on first use."""
    if name in ("testing", "viz", "pcm", "nir"):
        import importlib

        path = {"testing": "training.testing", "nir": "exchange.nir"}.get(name, name)
        return importlib.import_module(f"{__name__}.{path}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "SNU",
    "AvgPool2d",
    "ConvSNU",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Layer",
    "MaxPool2d",
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
