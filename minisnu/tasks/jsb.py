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
---------------------------------------------------------------
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
``$MINISNU_DATA/jsb-chorales-quarter.json`` (or in its ``jsb/`` subfolder, where
``minisnu download jsb`` puts it), else the Bach chorales of the music21
package if it is installed (real, but not the standard split: numbers are not
comparable with the paper's).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

from ..data import (
    data_dir,
    load_jsb,
    load_music21_chorales,
    next_step_batch,
    piano_rolls,
)
from ..data.jsb import N_NOTES, SPLITS
from ..layers.dense import Dense
from ..layers.sequential import Sequential
from ..training.losses import bce, bce_with_logits, polyphonic_nll
from ..training.trainer import Batch, RunError
from .common import hidden_layers, snu_layer

NAME = "jsb"
SUMMARY = "JSB Chorales, next-step polyphonic music prediction (NLL per time step)"
METRIC = "nll"
METRIC_LABEL = "NLL per time step"
LOWER_IS_BETTER = True
DEFAULTS = {"lr": 0.01, "epochs": 40, "batch_size": 1, "output": None}
QUICK_LIMIT = 8  # chorales per split
FILE_NAME = "jsb-chorales-quarter.json"


OUTPUTS = ("ssnu", "dense")


def add_arguments(parser) -> None:
    parser.add_argument("--output", choices=OUTPUTS,
                        help="the output layer: dense (88 logits, the sigmoid is in the loss; "
                             "default) or ssnu (88 soft SNUs, whose sigmoid gives the probabilities)")


def model_defaults(model: str) -> dict:
    """Defaults that depend on the model: the hidden size and the output layer."""
    return {"hidden": [150], "output": "dense"}


# ---------------------------------------------------------------------------
# data


def locate_data(options: dict, path=None) -> dict:
    """Where the chorales are: ``{"kind": "file", "path": ...}`` or ``{"kind": "music21"}``."""
    if path is not None:
        path = Path(path).expanduser()
        file = path / FILE_NAME if path.is_dir() else path
        if not file.is_file():
            raise RunError(f"no JSB chorales file at {file}. " + _where_to_get_it())
        return {"kind": "file", "path": str(file.resolve())}
    for file in (data_dir() / FILE_NAME, data_dir() / "jsb" / FILE_NAME):
        if file.is_file():
            return {"kind": "file", "path": str(file.resolve())}
    if importlib.util.find_spec("music21") is not None:
        return {"kind": "music21"}
    raise RunError(f"the JSB chorales were not found in {data_dir()}. " + _where_to_get_it())


def _where_to_get_it() -> str:
    return (f"Put {FILE_NAME} (github.com/czhuang/JSB-Chorales-dataset) in {data_dir()} "
            "(the folder $MINISNU_DATA names) or pass --data FILE; `minisnu download jsb` "
            "fetches it; or `pip install music21` to use its Bach chorales (not the standard split).")


def load_data(source: dict, options: dict) -> dict:
    """split -> list of piano rolls (T, 88), float32; the first ``limit`` chorales with --limit."""
    if source["kind"] == "music21":
        print("using the music21 Bach chorales (not the standard JSB split; the first use "
              "converts them, a minute or two)", file=sys.stderr)
        chorales = load_music21_chorales()
    else:
        chorales = load_jsb(source["path"])
    return {split: piano_rolls(chorales[split][:options["limit"]]) for split in SPLITS}


def describe_data(source: dict, data: dict) -> str:
    counts = ", ".join(f"{len(data[split])} {split}" for split in SPLITS)
    return f"{source.get('path', 'music21 chorales')} ({counts} chorales)"


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
    return Sequential(*layers)


# ---------------------------------------------------------------------------
# batches and loss


def batches(data: dict, split: str, options: dict, rng):
    """Next-step batches of ``batch_size`` chorales, zero-padded, with a mask of the real steps.

    The training chorales are shuffled at every epoch; the others keep their order.
    """
    rolls = data[split]
    order = rng.permutation(len(rolls)) if split == "train" else range(len(rolls))
    size = options["batch_size"]
    for start in range(0, len(rolls), size):
        x, target, mask = next_step_batch([rolls[i] for i in order[start:start + size]])
        yield Batch(x, target, mask)


def count_batches(data: dict, split: str, options: dict) -> int:
    return math.ceil(len(data[split]) / options["batch_size"])


def loss(output, batch: Batch, options: dict):
    """Mean binary cross-entropy per note, its gradient, and the sums for the epoch's means."""
    from_logits = options["output"] == "dense"
    value, grad = (bce_with_logits if from_logits else bce)(output, batch.target, batch.mask)
    nll = polyphonic_nll(output, batch.target, batch.mask, from_logits=from_logits)
    steps = int(batch.mask.sum())
    # Weighted by time steps, so that the epoch's mean is over all steps, as the metric wants.
    return value, grad, {"loss": value * steps, "nll": nll * steps, "steps": steps}


def summarize(totals: dict) -> dict:
    return {"loss": totals["loss"] / totals["steps"], "nll": totals["nll"] / totals["steps"]}
