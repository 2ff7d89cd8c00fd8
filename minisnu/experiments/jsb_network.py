"""The network of the in-memory experiments: JSB chorales, 88 → 150 temporal units → 88.

The paper's in-memory experiment stores an 88-150-88 SNU network for the JSB
chorales in 2 × (88·150 + 150·88) = 52,800 PCM devices. This module is that
network in software and the plain loop that trains and scores it, shared by
the three experiment commands (``pcm-train``, ``drift``, ``robustness``):

- ``load_rolls``: the chorales as (T, 1, 88) piano rolls, a batch of one;
- ``build_network``: the hidden layer (``snu``, ``ssnu`` or a baseline
  ``rnn``, ``lstm``, ``gru``) and a Dense output of 88 logits;
- ``nll``: the JSB metric, the negative log-likelihood of the next step's 88
  notes summed over the notes and averaged over all time steps;
- ``train_epoch`` and ``train_software``: Adam, one chorale per step, the
  chorales in an order drawn from the seed (the same order for a software
  network and its in-memory twin).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.validate import check_choice
from ..data import find_jsb, piano_rolls
from ..data.jsb import N_NOTES
from ..layers.dense import Dense
from ..layers.sequential import Sequential
from ..training import losses, optim
from ..units.gru import GRU
from ..units.lstm import LSTM
from ..units.rnn import RNN
from ..units.snu import SNU

HIDDEN = 150       # the paper's in-memory network: 88-150-88
DECAY = 0.8        # the SNUs' membrane decay (the authors' JSB setup)
LR = 0.01          # Adam
MODELS = ("snu", "ssnu", "rnn", "lstm", "gru")
SPLITS = ("train", "valid", "test")
QUICK = {"train": 8, "valid": 4, "test": 4}   # chorales per split in --quick runs
#: A development copy of the standard file beside the repository (used when present).
DEV_COPY = Path(__file__).resolve().parents[3] / "shared" / "data"


def load_rolls(path=None, quick: bool = False):
    """``({split: [(T, 1, 88) float32 rolls]}, where they came from)``.

    The chorales are found by :func:`minisnu.data.find_jsb` (``path``,
    ``$MINISNU_DATA``, the development copy, a download, the music21 chorales);
    ``quick`` keeps the first few of each split.
    """
    chorales, source = find_jsb(path, extra=(DEV_COPY,))
    rolls = {}
    for split in SPLITS:
        kept = chorales[split][:QUICK[split]] if quick else chorales[split]
        rolls[split] = [roll[:, None, :] for roll in piano_rolls(kept)]
    return rolls, source


def build_network(model: str, seed: int, hidden: int = HIDDEN) -> Sequential:
    """``model`` hidden units (88 → hidden) and a Dense layer of 88 logits, drawn from ``seed``."""
    check_choice("model", model, MODELS)
    rng = np.random.default_rng(seed)
    if model in ("snu", "ssnu"):
        layer = SNU(N_NOTES, hidden, decay=DECAY, soft=model == "ssnu", rng=rng)
    else:
        layer = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[model](N_NOTES, hidden, rng=rng)
    return Sequential(layer, Dense(hidden, N_NOTES, rng=rng))


def nll(net, rolls) -> float:
    """NLL per time step, summed over the 88 notes, over all steps of ``rolls`` (eval mode)."""
    net.eval()
    total = sum(losses.polyphonic_nll(net.forward(r[:-1]), r[1:]) * (len(r) - 1) for r in rolls)
    net.train()
    return total / sum(len(r) - 1 for r in rolls)


def train_epoch(net, optimizer, rolls, order) -> float:
    """One pass over ``rolls`` in ``order``, one Adam step per chorale; the mean training NLL."""
    total, steps = 0.0, 0
    for i in order:
        roll = rolls[i]
        loss, grad = losses.bce_with_logits(net.forward(roll[:-1]), roll[1:])
        optimizer.zero_grad()
        net.backward(grad)
        optimizer.step()
        total += loss * N_NOTES * (len(roll) - 1)
        steps += len(roll) - 1
    return total / steps


def chorale_orders(seed: int, epochs: int, n: int) -> list:
    """The order of the training chorales in each epoch, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def train_software(model: str, rolls: dict, epochs: int, seed: int, *, lr: float = LR,
                   lr_decay: float = 1.0, hidden: int = HIDDEN):
    """Train ``build_network(model, seed)`` in software; returns (net, history).

    The learning rate of epoch e (0-based) is lr·lr_decay^e. ``history`` holds the
    per-epoch "train" and "valid" NLL. The network returned is the last epoch's.
    """
    net = build_network(model, seed, hidden)
    optimizer = optim.Adam(net, lr=lr)
    history = {"train": [], "valid": []}
    for epoch, order in enumerate(chorale_orders(seed, epochs, len(rolls["train"]))):
        optimizer.lr = lr * lr_decay**epoch
        history["train"].append(train_epoch(net, optimizer, rolls["train"], order))
        history["valid"].append(nll(net, rolls["valid"]))
    return net, history
