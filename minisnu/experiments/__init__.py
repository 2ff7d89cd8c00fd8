"""The in-memory experiments of the paper, each a command of ``minisnu``.

- ``pcm-train`` (:mod:`.pcm_train`): the 52,800-device JSB network trained with
  the hardware in the loop, beside its software twin;
- ``drift`` (:mod:`.drift`): a software-trained network programmed into PCM,
  scored from 1 second to 1 year after programming;
- ``robustness`` (:mod:`.robustness`): SNU, sSNU, RNN, LSTM and GRU networks
  under fewer weight bits, weight noise and PCM programming;
- ``correlations`` (:mod:`.correlations`): the all-memristive network (PCM
  neurons, PCM synapses with STDP, level-tuned neurons) finds which of its
  inputs are secretly correlated.

Each module has ``NAME``, ``SUMMARY``, its declared ``OPTIONS``
(:mod:`minisnu.core.options`), ``run(options) -> metrics`` (which also writes
them to ``metrics.json``) and ``figure_name(options)``: the command line draws the
figure from the metrics with :data:`~minisnu.viz.experiments.FIGURES`. Each has a
``--quick`` setting that finishes in seconds. The network they share, its
data, its loop and its metric are those of the JSB task (:mod:`minisnu.tasks.jsb`).
"""

from __future__ import annotations

import importlib

#: command name -> module of this package
COMMANDS = {"pcm-train": "pcm_train", "drift": "drift", "robustness": "robustness",
            "correlations": "correlations"}


def get_experiment(command: str):
    """The module of an experiment command."""
    return importlib.import_module(f"{__name__}.{COMMANDS[command]}")
