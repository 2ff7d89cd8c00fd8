"""Plots of training: learning curves, and the curves of a ``minisnu train`` run.

- :func:`training_curves`: one panel per metric, one line per split, from a
  dict of per-epoch lists (any training loop's history);
- :func:`run_curves`: the ``curves.png`` of a run folder, from the run's
  per-epoch rows (``metrics.json``'s "epochs"), with the test score of the
  epoch that validation selected.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from .figure import BLUE, GREEN, VERMILLION, new_figure, real_array, save, set_labels, style

#: The splits a history key may start with ("valid_loss", "val_loss"), and their colours.
_SPLIT_COLORS = {"train": BLUE, "valid": VERMILLION, "val": VERMILLION, "test": GREEN}


def _metrics(history) -> dict:
    """{metric: {split: values}} from {"train_loss": [...], ...} or {"train": {"loss": [...]}}."""
    if not isinstance(history, dict) or not history:
        raise TypeError("history must be a non-empty dict of per-epoch lists, "
                        "e.g. {'train_loss': [...], 'valid_loss': [...]}")
    flat = {}
    for key, value in history.items():
        if isinstance(value, dict):                          # {"train": {"loss": [...]}}
            flat.update({(key, metric): v for metric, v in value.items()})
        else:                                                # "train_loss" or "loss"
            split, _, metric = key.partition("_")
            flat[(split, metric) if split in _SPLIT_COLORS and metric else ("", key)] = value
    metrics = {}
    for (split, metric), values in flat.items():
        values = real_array(f"history[{split + '_' if split else ''}{metric}]", values, 1,
                            "(epochs,): one number per epoch")
        metrics.setdefault(metric, {})[split] = values
    return metrics


@style()
def training_curves(history, ax=None, *, metrics=None, labels=None, title=None):
    """Learning curves: one panel per metric, one line per split (train, valid, test).

    Parameters
    ----------
    history : dict of per-epoch lists
        Either flat (``{"train_loss": [...], "valid_loss": [...], "valid_accuracy": [...]}``,
        keys prefixed by ``train_``, ``valid_``, ``val_`` or ``test_``; a key without a
        prefix is a curve of its own) or nested (``{"train": {"loss": [...]}, "valid": {...}}``).
        Epochs are numbered from 1.
    ax : matplotlib Axes, or a sequence of one Axes per metric, optional
    metrics : sequence of str, optional
        The metrics to draw, in order (default: all, in the dict's order).
    labels : dict {metric: text}, optional
        A panel's title and y label (default: the metric's name, "_" read as a space).
    title : str, optional
        Figure title (suptitle).

    Returns
    -------
    ax : matplotlib Axes or list of Axes
        One Axes if one metric is drawn, else a list of Axes (like ``plt.subplots``).
    """
    table = _metrics(history)
    metrics = list(table) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in table]
    if unknown:
        raise ValueError(f"no metric {unknown} in the history; it has {list(table)}")
    labels = labels or {}
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
        axes = list(axes[0])
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(metrics):
            raise ValueError(f"give one Axes per metric: {len(metrics)} metric(s) {metrics}, "
                             f"{len(axes)} Axes")
    for axis, metric in zip(axes, metrics):
        for split, values in table[metric].items():
            epochs = np.arange(1, len(values) + 1)
            axis.plot(epochs, values, marker="o" if len(values) <= 40 else None,
                      color=_SPLIT_COLORS.get(split) if split else BLUE, label=split or None)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        label = labels.get(metric, metric.replace("_", " "))
        set_labels(axis, label, "epoch", label)
        if any(split for split in table[metric]):       # named splits: say which line is which
            axis.legend(loc="best")
    if title is not None:
        axes[0].figure.suptitle(title)
    return axes[0] if len(axes) == 1 else axes


def _plottable(value) -> float:
    """A row's value as a number to draw: None (not measured) and NaN or ±inf (diverged) leave a gap."""
    return value if value is not None and math.isfinite(value) else math.nan


@style()
def run_curves(rows, path, *, metric, metric_label=None, best=None, title=None) -> str:
    """The curves of a training run: loss and metric against epoch, train and valid, and the test score.

    Parameters
    ----------
    rows : list of dict
        The run's rows, one dict per epoch 1, 2, ... (``metrics.json``'s
        "epochs"), each with "train_loss", "valid_loss", "train_METRIC" and
        "valid_METRIC"; a value that is None, NaN or infinite leaves a gap.
    path : path
        The PNG file to write (the run folder's ``curves.png``).
    metric : str
        The task's metric, e.g. "nll", "accuracy" or "perplexity" (drawn
        on a logarithmic axis).
    metric_label : str, optional
        The metric's title and axis label (default: ``metric``).
    best : dict, optional
        The row of the epoch with the best validation metric: its
        "test_METRIC" is drawn as a star at its "epoch".
    title : str, optional
        Figure title.

    Returns
    -------
    path : str
        The absolute path written (:func:`~minisnu.viz.figure.save`).
    """
    names = ("loss", metric)
    history = {f"{split}_{name}": [_plottable(row[f"{split}_{name}"]) for row in rows]
               for split in ("train", "valid") for name in names}
    fig, (ax_loss, ax_metric) = new_figure((9, 3.5), 1, 2)
    training_curves(history, ax=(ax_loss, ax_metric), metrics=names,
                    labels={metric: metric_label or metric}, title=title)
    if best is not None:
        ax_metric.plot([best["epoch"]], [best[f"test_{metric}"]], "*", markersize=10,
                       color=_SPLIT_COLORS["test"], label="test, at the best valid epoch")
        ax_metric.legend(loc="best")
    if metric == "perplexity":
        ax_metric.set_yscale("log")
    return save(fig, path)


@style()
def metric_vs_steps(rows, path, *, metric, metric_label=None, trained_steps=None, title=None) -> str:
    """A trained network's score against the length T of its input spike trains.

    A spiking network answers with spike counts, and counts over a longer window
    are less noisy: the accuracy of a rate-coded classifier rises with the number
    of test steps T and levels off, even beyond the T it was trained on.

    Parameters
    ----------
    rows : list of dict
        One dict per T, each with "steps" and ``metric`` (the rows of
        ``minisnu eval --test-steps``).
    path : path
        The PNG file to write.
    metric : str
        The metric to draw, e.g. "accuracy"; its axis is linear, T's is logarithmic.
    metric_label : str, optional
        The axis label (default: ``metric``).
    trained_steps : int, optional
        The T of training, marked by a vertical line.
    title : str, optional
        Figure title.

    Returns
    -------
    path : str
        The absolute path written (:func:`~minisnu.viz.figure.save`).
    """
    if not rows:
        raise ValueError("rows must hold at least one evaluation: one dict per number of steps")
    steps = real_array("steps", [row["steps"] for row in rows], 1, "(n,): the T of each row")
    values = real_array(metric, [_plottable(row[metric]) for row in rows], 1, "(n,): one per row")
    order = np.argsort(steps)
    fig, ax = new_figure((5, 3.5))
    ax.plot(steps[order], values[order], "o-", color=_SPLIT_COLORS["test"])
    for T, value in zip(steps[order], values[order]):
        ax.annotate(f"{value:.4g}", (T, value), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize="small")
    if trained_steps is not None:
        ax.axvline(trained_steps, color=BLUE, linestyle="--", linewidth=1,
                   label=f"T of training ({trained_steps})")
        ax.legend(loc="lower right")
    ax.set_xscale("log")
    set_labels(ax, title, "time steps T of the input spike trains", metric_label or metric)
    return save(fig, path)
