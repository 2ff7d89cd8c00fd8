"""What the three tasks share: the model names, the options, and the temporal layers they stack.

Every task trains one of five models, chosen with ``--model``:

=======  ==================================================================
snu      spiking SNUs (step output, tanh pseudo-derivative in backward)
ssnu     soft SNUs (sigmoid output, exact derivative)
rnn      vanilla tanh RNN units (``minisnu.units.rnn.RNN``), a baseline
lstm     LSTM units (``minisnu.units.lstm.LSTM``), a baseline
gru      GRU units (``minisnu.units.gru.GRU``), a baseline
=======  ==================================================================

and the image task also ``conv-snu`` and ``conv-ssnu`` (:data:`CONV_MODELS`):
convolutional layers of SNUs (``minisnu.units.conv_snu.ConvSNU``) under dense SNU layers.

The hidden layers are one temporal layer per size of ``--hidden``; what comes
before (an embedding) and after (the output layer, a readout) is the task's.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

from ..core.errors import RunError
from ..core.options import Option, resolve, run_options, with_defaults
from ..layers.dropout import Dropout
from ..training.loop import OPTIMIZERS
from ..units.conv_snu import ConvSNU
from ..units.snu import DECAY, SNU
from ..units.snu_reference import G_FUNCTIONS
from ..units.surrogate import SURROGATES

#: The models every task offers (``--model``).
MODELS = ("snu", "ssnu", "rnn", "lstm", "gru")
SNU_MODELS = ("snu", "ssnu")
#: Convolutional SNU networks (the image task only, :mod:`minisnu.tasks.mnist`): kept out of
#: :data:`MODELS`, which every task offers and the experiments iterate over.
CONV_MODELS = ("conv-snu", "conv-ssnu")
SOFT_MODELS = ("ssnu", "conv-ssnu")

# The baselines live in their own modules; they are imported only when asked for,
# so that the SNU models work even in a tree that does not have them yet.
BASELINES = {"rnn": ("minisnu.units.rnn", "RNN"), "lstm": ("minisnu.units.lstm", "LSTM"),
             "gru": ("minisnu.units.gru", "GRU")}

# The options of every task. A task states its own defaults over these with
# ``with_defaults`` and adds its own options (see the task modules).
MODEL, TRAINING, RUN = "model", "training", "data and run folder"
OPTIONS = (
    Option("model", str, "snu", "snu (spiking SNUs), ssnu (soft SNUs) or a baseline",
           choices=MODELS, group=MODEL),
    Option("hidden", "sizes", None, "hidden layer sizes, e.g. 150 or 256,256", metavar="SIZES",
           group=MODEL),
    Option("decay", float, DECAY, "SNU decay l", low=0, high=1, models=SNU_MODELS, group=MODEL),
    Option("g", str, "relu", "the SNUs' activation g of s_t = g(W x_t + l s_{t-1} (1 - y_{t-1})): "
           "relu (the paper's), leaky_relu (slope 0.01 below 0, so no unit is stuck at s = 0 "
           "without a gradient) or identity", choices=G_FUNCTIONS, models=SNU_MODELS, group=MODEL),
    Option("surrogate", str, "tanh", "pseudo-derivative of the spike", choices=tuple(SURROGATES),
           models=("snu",), group=MODEL),
    Option("init_gain", float, 1.0, "multiply the SNU layers' initial Glorot-uniform weights by G",
           low=0, open_low=True, metavar="G", models=SNU_MODELS, group=MODEL),
    Option("train_decay", bool, False, "learn each SNU's decay (kept in [0, 1]); SNU models only",
           models=SNU_MODELS, group=MODEL),
    Option("detach_reset", bool, False, "no gradient through the reset's spike: the (1 − y_{t−1}) "
           "factor of s_t is a constant in backward (SNU(..., detach_reset=True)); SNU models only",
           models=SNU_MODELS, group=MODEL),
    Option("recurrent", bool, False, "recurrent SNU layers: every SNU layer (the output SNU of jsb "
           "and mnist too) also feeds back its last output through weights H; SNU models only",
           models=SNU_MODELS, group=MODEL),
    Option("dropout", float, 0.0, "dropout after every hidden layer", low=0, high=1, open_high=True,
           metavar="P", group=MODEL),
    Option("optimizer", str, "adam", "the optimizer", choices=OPTIMIZERS, group=TRAINING),
    Option("lr", float, 1e-3, "learning rate", low=0, open_low=True, group=TRAINING),
    Option("epochs", int, 10, "train until this epoch; with --resume, a new target", low=1,
           resumable=True, group=TRAINING),
    Option("batch_size", int, 32, "examples (chorales, images, text columns) per batch", low=1,
           group=TRAINING),
    Option("seed", int, 0, "seed of all randomness", low=0, group=TRAINING),
    Option("clip", float, None, "clip the gradients' global norm", low=0, open_low=True,
           metavar="NORM", none="no clipping", group=TRAINING),
    Option("lr_decay", float, 1.0, "multiply the learning rate by GAMMA after every epoch", low=0,
           open_low=True, metavar="GAMMA", group=TRAINING),
    Option("lr_plateau", float, None, "multiply the learning rate by RHO after every epoch whose "
           "validation metric is not the best so far (0.25: the LSTM language models' recipe)",
           low=0, high=1, open_low=True, metavar="RHO", none="never", group=TRAINING),
    Option("plateau_threshold", float, 0.0, "for --lr-plateau, an epoch is a plateau unless its "
           "validation metric betters the best so far by more than this fraction (0.01: 1 %%)",
           low=0, high=1, open_high=True, metavar="FRAC", group=TRAINING),
    Option("weight_decay", float, 0.0, "weight decay (AdamW's decoupled one for adam)", low=0,
           metavar="LAMBDA", group=TRAINING),
    Option("limit", int, None, "use only the first N examples of each split: chorales, images or "
           "BPTT windows (smoke runs)", low=1, metavar="N", none="all", group=RUN),
    Option("data", str, None, "data file or folder", metavar="PATH", none="$MINISNU_DATA, see "
           "the notes of the task's module", run=False, group=RUN),
    Option("out", str, None, "run folder", metavar="DIR", none="runs/TASK-MODEL-seedN, then "
           "the options not at their defaults (-lr0.02), or -HASH (6 hex digits) when they are many",
           run=False, group=RUN),
    Option("resume", bool, False, "continue the run in the run folder from its last finished epoch",
           run=False, group=RUN),
    Option("quick", bool, False, "a smoke run: a few examples of each split (a small --limit)",
           run=False, group=RUN),
    Option("progress", bool, True, "no progress bar", run=False, group=RUN),
)


def task_options(*own, quick_limit: int, **defaults) -> tuple:
    """A task's options: the common ones with the task's ``defaults``, then its ``own``.

    ``quick_limit`` is the ``--limit`` that ``--quick`` means for the task.
    """
    common = with_defaults(OPTIONS, **defaults)
    return tuple(replace(option, quick=quick_limit) if option.name == "limit" else option
                 for option in common) + own


def resolve_options(task, given: dict) -> dict:
    """The full option dict of a new run of ``task``: the defaults, then the given values.

    Raises OptionError for a bad value or an option that does not apply to the model.
    """
    return run_options(task.OPTIONS, resolve(task.OPTIONS, given))


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
    options : dict
        The run's options ("model", and "decay", "surrogate", "init_gain" for the SNUs).
    n_in, n_out : int
        Input features and units.
    rng : numpy.random.Generator
        The run's generator (the layer draws its initial weights from it).
    stateful : bool
        Carry the state from one batch to the next (language modelling).
    """
    model = options["model"]
    if model in SNU_MODELS + CONV_MODELS:  # a conv model's dense layers are SNUs too
        return snu_layer(options, n_in, n_out, rng, soft=model in SOFT_MODELS, stateful=stateful)
    return baseline_class(model)(n_in, n_out, rng=rng, stateful=stateful)


def snu_layer(options: dict, n_in: int, n_out: int, rng, *, soft: bool, stateful=False,
              g: str | None = None) -> SNU:
    """A layer of SNUs with the run's g, decay, surrogate, recurrence and initial weight gain
    (``g`` given here overrides the run's: an output layer's own activation).

    ``options["recurrent"]`` adds the recurrent weights H (``SNU(..., recurrent=True)``)
    to every layer built here, hidden or output; a run saved before that option
    existed has no such entry and is feed-forward.
    """
    layer = SNU(n_in, n_out, soft=soft, decay=options["decay"], surrogate=options["surrogate"],
                train_decay=options["train_decay"], recurrent=options.get("recurrent", False),
                detach_reset=options.get("detach_reset", False), g=g or options.get("g", "relu"),
                rng=rng, stateful=stateful)
    return _scaled(layer, options)


def conv_layer(options: dict, in_channels: int, out_channels: int, kernel_size: int, rng, *,
               padding: int = 0) -> ConvSNU:
    """A convolutional layer of SNUs (soft for "conv-ssnu") with the run's decay, surrogate
    and initial weight gain."""
    layer = ConvSNU(in_channels, out_channels, kernel_size, padding=padding,
                    soft=options["model"] in SOFT_MODELS, decay=options["decay"],
                    surrogate=options["surrogate"], train_decay=options["train_decay"],
                    detach_reset=options.get("detach_reset", False), g=options.get("g", "relu"), rng=rng)
    return _scaled(layer, options)


def _scaled(layer, options: dict):
    """The layer with its initial weights W multiplied by ``options["init_gain"]``."""
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
