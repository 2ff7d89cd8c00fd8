"""The figures of a sweep (``minisnu sweep``): its optimisation history, and each option against the metric.

Both are drawn from the rows of :func:`minisnu.sweeps.report.trials_table`, one per
trial, with the trial's ``state`` and its ``valid`` metric (the run's best validation
value; for a pruned run the best before it was stopped).
"""

from __future__ import annotations

import numpy as np

from .figure import BLUE, VERMILLION, new_figure, save, set_labels, style

_MARKERS = {"complete": ("o", BLUE, "finished"), "pruned": ("x", VERMILLION, "pruned")}


def _scored(rows):
    return [row for row in rows if row["valid"] is not None and row["state"] in _MARKERS]


@style()
def sweep_history(rows, path, *, metric, minimize: bool, title=None) -> str:
    """Each trial's validation metric in the order the trials were started, and the best so far.

    Parameters
    ----------
    rows : list of dict
        The trials (dicts with "trial", "state", "valid").
    path : path
        The PNG file to write.
    metric : str
        The metric's name, for the axis.
    minimize : bool
        Whether lower is better (the best-so-far line follows the minimum).

    Returns
    -------
    path : str
        The absolute path written.
    """
    fig, ax = new_figure((5.5, 3.4))
    scored = _scored(rows)
    for state, (marker, color, label) in _MARKERS.items():
        points = [(row["trial"], row["valid"]) for row in scored if row["state"] == state]
        if points:
            x, y = zip(*points)
            ax.plot(x, y, marker, color=color, linestyle="none", label=label)
    finished = sorted((row["trial"], row["valid"]) for row in scored if row["state"] == "complete")
    if finished:
        x, y = zip(*finished)
        best = np.minimum.accumulate(y) if minimize else np.maximum.accumulate(y)
        ax.step(x, best, where="post", color="black", linewidth=1.2, label="best so far")
    if scored:
        ax.legend(loc="best")
    set_labels(ax, title, "trial", f"validation {metric}")
    return save(fig, path)


@style()
def sweep_options(rows, names, path, *, metric, log=(), title=None) -> str:
    """One panel per searched option: each trial's validation metric against its value.

    Numbers go on a linear axis (logarithmic for the options in ``log``, searched on a
    log scale); other values (choices such as a model's name) at evenly
    spaced positions, in the order they first appear.

    Returns
    -------
    path : str
        The absolute path written.
    """
    names = list(names)
    if not names:
        raise ValueError("names must hold at least one searched option")
    fig, axes = new_figure((3.2 * len(names), 3.2), 1, len(names), squeeze=False, sharey=True)
    scored = _scored(rows)
    for ax, name in zip(axes[0], names):
        values = [row[name] for row in scored]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        labels = list(dict.fromkeys(map(str, values)))
        for state, (marker, color, label) in _MARKERS.items():
            points = [(row[name], row["valid"]) for row in scored if row["state"] == state]
            if points:
                x, y = zip(*points)
                x = x if numeric else [labels.index(str(v)) for v in x]
                ax.plot(x, y, marker, color=color, linestyle="none", label=label)
        if numeric and name in log:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0)
        ax.set_xlabel(name)
    axes[0][0].set_ylabel(f"validation {metric}")
    if scored:
        axes[0][-1].legend(loc="best")
    if title is not None:
        fig.suptitle(title)
    return save(fig, path)
