"""The paper's three tasks, one module each: ``jsb`` (music), ``mnist`` (spiking digits), ``ptb`` (words).

A task module is what a run of :mod:`minisnu.training.run_folder` needs to know about a task, and
nothing more. Each one defines:

=========================================  ==============================================
``NAME``, ``SUMMARY``                      its name on the command line, a one-line description
``METRIC``, ``METRIC_LABEL``               the key of the task's metric ("nll", ...) and its label
``LOWER_IS_BETTER``                        how validation picks the best epoch
``OPTIONS``                                its options, declared (:mod:`minisnu.core.options`)
``locate_data(options, path)``             where the data is, with its fingerprint (JSON)
``load_data(source, options)``             the data, in whatever form its other functions use
``describe_data(source, data)``            one line for the log
``build_model(options, data, rng)``        the ``Sequential`` network for ``options["model"]``
``batches(data, split, options, rng)``     the batches of a split (:class:`~minisnu.training.loop.Batch`)
``count_batches(data, split, options)``    how many (for the progress bar)
``loss(output, batch, options)``           (mean loss, its gradient, sums for the epoch means)
``summarize(sums)``                        ``{"loss": ..., METRIC: ...}`` from the summed sums
=========================================  ==============================================

Options shared by all tasks and the model layers they stack are in
:mod:`minisnu.tasks.common`.
"""

from __future__ import annotations

from . import jsb, mnist, ptb
from .common import MODELS, resolve_options

TASKS = {"jsb": jsb, "mnist": mnist, "ptb": ptb}


def get_task(name: str):
    """The task module called ``name``."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


__all__ = ["MODELS", "TASKS", "get_task", "resolve_options"]
