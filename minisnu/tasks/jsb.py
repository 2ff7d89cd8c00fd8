"""JSB Chorales: predict the next step of a four-part Bach chorale (paper: SNU 8.72, sSNU 8.39).

The task
--------
A chorale is a piano roll, 88 binary notes per time step (one step per quarter
note). From steps 1..T-1 the network predicts the notes of steps 2..T, each
note an independent Bernoulli.

Metric: the negative log-likelihood of the next step's 88 notes, *summed* over
the notes and averaged over all time steps of a split
(:func:`minisnu.training.losses.polyphonic_nll`), lower is better. The training loss is
the mean binary cross-entropy per note, i.e. the metric divided by 88.

The paper's setup (from the authors' toolkit), the defaults here
----------------------------------------------------------------
88 inputs -> 150 hidden units -> 88 sigmoid outputs; for ``--model snu`` the
hidden layer is spiking SNUs with decay 0.8 (``ssnu``: soft SNUs; the
baselines: their units); the output layer is a Dense layer of 88 logits whose
sigmoid (inside the loss) gives each note's probability; binary cross-entropy;
Adam, lr 0.01; one chorale per batch; about 40 epochs.

``--output ssnu`` makes the output layer 88 soft SNUs instead. It fits worse:
a soft SNU's membrane passes a ReLU, s >= 0, so its output σ(s + b) never
falls below σ(b), and the stateful output carries the past. Measured through
this command line (seed 0, 40 epochs, test NLL at the best validation epoch):
snu 8.98 with the Dense output, 10.01 with the sSNU one; ssnu 8.48 and 11.10.
The Dense figures match what an independent implementation of the setup
reported (8.97 and 8.48).

The data
--------
``--data FILE`` (or a folder holding ``jsb-chorales-quarter.json``), else
``$MINISNU_DATA/jsb-chorales-quarter.json`` (or in its ``jsb/`` subfolder), else
the cache folder, where ``minisnu download jsb`` puts it, else the Bach
chorales of the music21 package if it is installed (real, but not the standard
split: numbers are not comparable with the paper's). Nothing is downloaded
without ``minisnu download jsb``. (:func:`minisnu.data.jsb.locate_jsb`.)

One JSB network for the whole package
-------------------------------------
Besides the task's functions for ``minisnu train jsb``, this module is what
the in-memory experiments (``minisnu pcm-train``, ``drift``, ``robustness``)
and the tutorials use: :func:`build_network` (the network of a model, from a
seed), :func:`find_rolls` (the chorales), :func:`train_network` and
:func:`train_epoch` (the loop of :mod:`minisnu.training.loop` fed one chorale
at a time, in the orders of :func:`chorale_orders`) and :func:`nll` (the metric).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from ..core.options import Option, resolve, run_options
from ..data import describe_jsb_source, iterate_batches, load_jsb_source, locate_jsb, piano_rolls
from ..data.fingerprint import fingerprint
from ..data.jsb import N_NOTES, check_next_step
from ..data.paths import SPLITS
from ..layers.dense import Dense
from ..layers.sequential import Sequential
from ..training import loop
from ..training.loop import Batch
from ..training.losses import bce, bce_with_logits, polyphonic_nll
from .common import hidden_layers, snu_layer, task_options

NAME = "jsb"
SUMMARY = "JSB Chorales, next-step polyphonic music prediction (NLL per time step)"
METRIC = "nll"
METRIC_LABEL = "NLL per time step"
LOWER_IS_BETTER = True


OUTPUTS = ("ssnu", "dense")
LR = 0.01  # Adam's learning rate in the authors' setup (the in-memory experiments' too)
OPTIONS = task_options(
    Option("output", str, "dense", "the output layer: dense (88 logits, the sigmoid is in the loss) "
           "or ssnu (88 soft SNUs, whose sigmoid gives the probabilities)", choices=OUTPUTS,
           group="jsb options"),
    lr=LR, epochs=40, batch_size=1, hidden=[150], quick_limit=8)  # --quick: 8 chorales per split


# ---------------------------------------------------------------------------
# data

#: The first chorales of each split that the in-memory experiments' ``--quick`` runs use.
QUICK_CHORALES = {"train": 8, "valid": 4, "test": 4}


def locate_data(options: dict, path=None) -> dict:
    """Where the chorales are (:func:`minisnu.data.jsb.locate_jsb`): ``{"kind": "file", "path": ...}``
    or ``{"kind": "music21"}``, with the data's ``"fingerprint"`` (:mod:`minisnu.data.fingerprint`:
    the file's size and SHA-256, or music21's version)."""
    source = locate_jsb(path)
    files = [source["path"]] if source["kind"] == "file" else []
    return {**source, "fingerprint": fingerprint(files, [] if files else ["music21"])}


def load_data(source: dict, options: dict) -> dict:
    """split -> list of piano rolls (T, 88), float32; the first ``limit`` chorales with ``--limit``."""
    return load_rolls(source, options["limit"])


def load_rolls(source: dict, limit=None) -> dict:
    """split -> the chorales of ``source`` as piano rolls (T, 88), float32.

    ``limit`` keeps the first chorales of each split: one number for all, or a
    dict split -> number (such as :data:`QUICK_CHORALES`); None keeps all.
    The whole data set is checked first (:func:`minisnu.data.jsb.check_next_step`):
    an empty split or a chorale of one step is an error here, before any epoch.
    """
    chorales = load_jsb_source(source)
    check_next_step(chorales, describe_jsb_source(source))
    limits = limit if isinstance(limit, dict) else dict.fromkeys(SPLITS, limit)
    return {split: piano_rolls(chorales[split][:limits[split]]) for split in SPLITS}


def find_rolls(path=None, limit=None) -> tuple[dict, dict]:
    """The chorales found by :func:`minisnu.data.jsb.locate_jsb` (``path``: a file or folder, or None),
    as piano rolls (:func:`load_rolls`): ``(rolls, source)``."""
    source = locate_jsb(path)
    return load_rolls(source, limit), source


def describe_data(source: dict, data: dict) -> str:
    counts = ", ".join(f"{len(data[split])} {split}" for split in SPLITS)
    return f"{describe_jsb_source(source)} ({counts} chorales)"


# ---------------------------------------------------------------------------
# model


def build_model(options: dict, data, rng) -> Sequential:
    """88 -> hidden -> 88: soft-SNU probabilities or Dense logits (``options["output"]``)."""
    layers = hidden_layers(options, N_NOTES, rng)
    n_last = options["hidden"][-1]
    if options["output"] == "ssnu":
        # The paper's output layer: soft SNUs, whose y = σ(s + b) is each note's probability.
        layers.append(snu_layer(options, n_last, N_NOTES, rng, soft=True))
    else:
        layers.append(Dense(n_last, N_NOTES, rng=rng))  # logits: the loss applies the sigmoid
    layers[0].input_gradient = False    # the chorale's notes are data: no ∂L/∂x to compute
    return Sequential(*layers)


def network_options(model: str = "snu", **given) -> dict:
    """The options of a JSB network of ``model`` and its training: the task's defaults (the
    paper's setup) with ``given`` over them, checked (e.g. ``hidden=[16]``, ``lr_decay=0.9``)."""
    return run_options(OPTIONS, resolve(OPTIONS, {"model": model, **given}))


def build_network(model: str = "snu", seed: int = 0, hidden: int | None = None) -> Sequential:
    """The JSB network of ``model`` (88 → ``hidden`` units → 88 Dense logits, the defaults
    otherwise), its initial weights drawn from ``numpy.random.default_rng(seed)``."""
    options = network_options(model) if hidden is None else network_options(model, hidden=[hidden])
    return build_model(options, None, np.random.default_rng(seed))


# ---------------------------------------------------------------------------
# batches, loss and metric


def batches(data: dict, split: str, options: dict, rng):
    """Next-step batches of ``batch_size`` chorales, zero-padded, with a mask of the real steps.

    The training chorales are shuffled at every epoch; the others keep their order.
    """
    shuffle = rng if split == "train" else None
    for x, target, mask in iterate_batches(data[split], options["batch_size"], rng=shuffle):
        yield Batch(x, target, mask)


def count_batches(data: dict, split: str, options: dict) -> int:
    return math.ceil(len(data[split]) / options["batch_size"])


def chorales(rolls, order):
    """One chorale per batch, in ``order``: inputs roll[:-1] and targets roll[1:], (T-1, 1, 88).

    Unpadded, hence without a mask: the batches of the in-memory experiments and
    the tutorials. (A mask, even of all True, makes the losses divide their sums
    in float64 rather than in float32; the numbers recorded with :func:`batches`
    and with these differ in the last bits, so each keeps its form.)
    """
    for i in order:
        roll = rolls[i]
        yield Batch(roll[:-1, None], roll[1:, None])


def loss(output, batch: Batch, options: dict, *, rescore: bool = True):
    """Mean binary cross-entropy per note, its gradient, and the sums for the epoch's means.

    The batch's NLL is :func:`score`, the metric of the output; with
    ``rescore=False`` it is taken from the loss instead, 88 × the mean
    cross-entropy: the same quantity up to rounding, without a second pass over
    the output (the training NLL the in-memory experiments report).
    """
    from_logits = options["output"] == "dense"
    value, grad = (bce_with_logits if from_logits else bce)(output, batch.target, batch.mask)
    if rescore:
        totals = score(output, batch, options)
    else:
        steps = _steps(batch)
        totals = {"nll": value * N_NOTES * steps, "steps": steps}
    # Weighted by time steps, so that the epoch's mean is over all steps, as the metric wants.
    return value, grad, {"loss": value * totals["steps"], **totals}


def score(output, batch: Batch, options: dict) -> dict:
    """The metric's sums of a batch: NLL per time step (summed over the 88 notes) × steps, and
    the steps (:func:`minisnu.training.losses.polyphonic_nll`)."""
    steps = _steps(batch)
    nll = polyphonic_nll(output, batch.target, batch.mask, from_logits=options["output"] == "dense")
    return {"nll": nll * steps, "steps": steps}


def _steps(batch: Batch) -> int:
    """The real time steps of a batch, over all its chorales."""
    return int(batch.mask.sum()) if batch.mask is not None else math.prod(batch.target.shape[:-1])


def summarize(totals: dict) -> dict:
    """The epoch's means: ``loss`` (when the totals have it) and ``nll``."""
    means = {"nll": totals["nll"] / totals["steps"]}
    return {"loss": totals["loss"] / totals["steps"], **means} if "loss" in totals else means


# ---------------------------------------------------------------------------
# the loop, one chorale at a time


def chorale_orders(seed: int, epochs: int, n: int) -> list:
    """The order of the ``n`` training chorales in each epoch, drawn from ``default_rng(seed)``.

    Drawn apart from the weights' generator, so that two networks of the same
    seed (software and in memory) see the chorales in the same order.
    """
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def train_epoch(net, optimizer, rolls, order, options: dict) -> float:
    """One epoch of :func:`minisnu.training.loop.train_epoch` over ``rolls`` in ``order``, one
    step per chorale (:func:`chorales`); the mean training NLL (88 × the mean cross-entropy)."""
    step_loss = partial(loss, options=options, rescore=False)
    return summarize(loop.train_epoch(net, optimizer, chorales(rolls, order), step_loss))["nll"]


def nll(net, rolls, options: dict) -> float:
    """The metric of ``net`` on ``rolls``: NLL per time step, summed over the 88 notes, averaged
    over all steps of the chorales (evaluation mode, one chorale at a time)."""
    totals = loop.evaluate(net, chorales(rolls, range(len(rolls))), partial(score, options=options))
    return summarize(totals)["nll"]


def train_network(options: dict, rolls: dict) -> tuple[Sequential, dict]:
    """Train the network of ``options`` (:func:`network_options`) in software, plainly.

    The weights come from ``default_rng(options["seed"])``, the chorale orders
    from :func:`chorale_orders` of the same seed; one optimizer step per
    chorale, learning rate lr·lr_decay^(epoch − 1), ``options["epochs"]``
    epochs, no model selection. Returns the last epoch's network and
    ``{"train": [...], "valid": [...]}``, the NLL of every epoch.
    """
    net = build_model(options, None, np.random.default_rng(options["seed"]))
    optimizer = loop.make_optimizer(options["optimizer"], net, lr=options["lr"],
                                    weight_decay=options["weight_decay"])
    history = {"train": [], "valid": []}
    orders = chorale_orders(options["seed"], options["epochs"], len(rolls["train"]))
    for epoch, order in enumerate(orders, start=1):
        optimizer.lr = loop.learning_rate(options["lr"], options["lr_decay"], epoch)
        history["train"].append(train_epoch(net, optimizer, rolls["train"], order, options))
        history["valid"].append(nll(net, rolls["valid"], options))
    return net, history
