"""What the three tasks share: the model names, the options, and the temporal layers they stack.

Every task trains one of five models, chosen with ``--model``:

=======  ==================================================================
snu      spiking SNUs (step output, tanh pseudo-derivative in backward)
ssnu     soft SNUs (sigmoid output, exact derivative)
rnn      vanilla tanh RNN units (``minisnu.units.rnn.RNN``), a baseline
lstm     LSTM units (``minisnu.units.lstm.LSTM``), a baseline
gru      GRU units (``minisnu.units.gru.GRU``), a baseline
=======  ==================================================================

The hidden layers are one temporal layer per size of ``--hidden``; what comes
before (an embedding) and after (the output layer, a readout) is the task's.
"""

from __future__ import annotations

import argparse
import importlib

from ..layers.dropout import Dropout
from ..training.trainer import RunError
from ..units.snu import SNU
from ..units.surrogate import SURROGATES

MODELS = ("snu", "ssnu", "rnn", "lstm", "gru")
SNU_MODELS = ("snu", "ssnu")
OPTIMIZERS = ("adam", "sgd")

# The baselines live in their own modules; they are imported only when asked for,
# so that the SNU models work even in a tree that does not have them yet.
BASELINES = {"rnn": ("minisnu.units.rnn", "RNN"), "lstm": ("minisnu.units.lstm", "LSTM"),
             "gru": ("minisnu.units.gru", "GRU")}

# Options every task has, with the defaults a task does not override.
# None means: the task's model_defaults(model) says (it depends on the model).
COMMON_DEFAULTS = {
    "model": "snu",
    "hidden": None,
    "decay": 0.8,
    "surrogate": "tanh",
    "init_gain": 1.0,
    "optimizer": "adam",
    "lr": 1e-3,
    "epochs": 10,
    "batch_size": 32,
    "seed": 0,
    "clip": None,
    "lr_decay": 1.0,
    "weight_decay": 0.0,
    "dropout": 0.0,
    "train_decay": False,
    "recurrent": False,
    "limit": None,
}


def resolve_options(task, given: dict) -> dict:
    """The full option dict of a new run: common defaults < task defaults < the command line.

    Raises RunError for an option that does not apply to the chosen model.
    """
    options = {**COMMON_DEFAULTS, **task.DEFAULTS, **given}
    for name, value in task.model_defaults(options["model"]).items():
        if options[name] is None:
            options[name] = value
    check_model_options(options["model"], given)
    return options


def check_model_options(model: str, given: dict) -> None:
    """Refuse options the model would silently ignore (a user who sets them expects an effect)."""
    for name in ("decay", "init_gain", "train_decay", "recurrent"):
        if model not in SNU_MODELS and name in given:
            raise RunError(f"--{name.replace('_', '-')} applies to the SNU models (snu, ssnu), "
                           f"not to --model {model}")
    if model != "snu" and "surrogate" in given:
        raise RunError(f"--surrogate applies to --model snu only (the {model} units have a "
                       "true derivative)")


# ---------------------------------------------------------------------------
# layers


def baseline_class(model: str) -> type:
    """The layer class of a baseline model, imported on first use."""
    module_name, class_name = BASELINES[model]
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise RunError(f"--model {model} needs the class {class_name} in {module_name}, "
                       "which this installation of minisnu does not have") from None


def temporal_layer(options: dict, n_in: int, n_out: int, rng, *, stateful=False):
    """One layer of the model's units: SNUs (spiking for "snu", soft for "ssnu") or a baseline.

    Parameters
    ----------
    options : the run's options ("model", and "decay", "surrogate", "init_gain" for the SNUs).
    n_in, n_out : input features and units.
    rng : the run's Generator (the layer draws its initial weights from it).
    stateful : carry the state from one batch to the next (language modelling).
    """
    model = options["model"]
    if model in SNU_MODELS:
        return snu_layer(options, n_in, n_out, rng, soft=model == "ssnu", stateful=stateful)
    return baseline_class(model)(n_in, n_out, rng=rng, stateful=stateful)


def snu_layer(options: dict, n_in: int, n_out: int, rng, *, soft: bool, stateful=False,
              g: str = "relu") -> SNU:
    """A layer of SNUs with the run's decay, surrogate, recurrence and initial weight gain.

    ``options["recurrent"]`` adds the recurrent weights H (``SNU(..., recurrent=True)``)
    to every layer built here, hidden or output; a run saved before that option
    existed has no such entry and is feed-forward.
    """
    layer = SNU(n_in, n_out, soft=soft, decay=options["decay"], surrogate=options["surrogate"],
                train_decay=options["train_decay"], recurrent=options.get("recurrent", False),
                g=g, rng=rng, stateful=stateful)
    # Glorot's scale keeps the variance of a ReLU network's signals, but a spiking layer
    # fires only above its threshold: in a deep SNU network the spikes die out within a
    # few layers at Glorot's scale, and a layer that never fires passes no gradient.
    layer.params["W"] *= layer.dtype.type(options["init_gain"])
    return layer


def hidden_layers(options: dict, n_in: int, rng, *, stateful=False) -> list:
    """One temporal layer per size in ``options["hidden"]``, each feeding the next,
    each followed by dropout when ``options["dropout"]`` > 0."""
    layers = []
    for size in options["hidden"]:
        layers.append(temporal_layer(options, n_in, size, rng, stateful=stateful))
        if options["dropout"] > 0:  # Dropout shares the run's generator: resumable like the rest
            layers.append(Dropout(options["dropout"], rng=rng))
        n_in = size
    return layers


# ---------------------------------------------------------------------------
# command-line value types (argparse calls them on the strings it reads)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1] (a decay)."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def probability_below_one(text: str) -> float:
    """A number in [0, 1) (a dropout probability)."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def layer_sizes(text: str) -> list[int]:
    """``"150"`` -> [150]; ``"256,256"`` -> [256, 256] (one hidden layer per number)."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a layer size or a comma-separated list such as 256,256, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


SURROGATE_NAMES = tuple(SURROGATES)
