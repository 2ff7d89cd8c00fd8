"""What a sweep found: the table of its trials, and the best setting with its mean ± std over seeds.

Everything is read from the study (its storage), so a report can be made of a sweep
that is still running, from any machine that reaches the storage. One row per trial::

    trial  state  <searched options>  seed  valid <metric>  test <metric>  best_epoch  epochs  seconds

``valid`` is the run's best validation metric (the trial's value; for a pruned run the
best so far), ``test`` the test metric at that epoch, as ``minisnu train`` reports it.
A *setting* is one value of the searched options; :func:`settings` gathers the finished
runs of each over their seeds: the mean and the sample standard deviation (n − 1) of
both metrics. The best setting is the one with the best mean validation metric; the test
metric is reported beside it, never used to choose.
"""

from __future__ import annotations

import csv
import io
import math
import statistics

from ..core.io import atomic_write
from .spec import Sweep


def trials_table(study, sweep: Sweep) -> list[dict]:
    """One dict per trial of ``study``, in trial order (see the module's notes)."""
    names = [p.name for p in sweep.search]
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        value = t.value
        if value is None and t.intermediate_values:     # pruned (or running): its best so far
            values = [v for v in t.intermediate_values.values() if math.isfinite(v)]
            if values:
                value = min(values) if sweep.direction == "minimize" else max(values)
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     **{name: t.params.get(name) for name in names},
                     "seed": attrs.get("seed"), "setting": attrs.get("setting"),
                     "valid": value, "test": attrs.get("test"), "best_epoch": attrs.get("best_epoch"),
                     "epochs": attrs.get("epochs", len(t.intermediate_values)),
                     "seconds": attrs.get("seconds"), "folder": attrs.get("folder"),
                     "error": attrs.get("error")})
    return rows


def settings(rows: list[dict], sweep: Sweep) -> list[dict]:
    """The finished settings, best first: their option values, seeds, and the mean and standard
    deviation of the validation and test metrics of their completed runs."""
    names = [p.name for p in sweep.search]
    groups: dict = {}
    for row in rows:
        if row["state"] == "complete" and row["valid"] is not None:
            groups.setdefault(tuple(row[name] for name in names), []).append(row)
    found = []
    for values, runs in groups.items():
        entry = dict(zip(names, values)) | {"seeds": [r["seed"] for r in runs], "runs": len(runs)}
        for key in ("valid", "test"):
            numbers = [r[key] for r in runs if r[key] is not None]
            entry[f"{key}_mean"] = statistics.fmean(numbers) if numbers else None
            entry[f"{key}_std"] = statistics.stdev(numbers) if len(numbers) > 1 else None
        found.append(entry)
    sign = 1 if sweep.direction == "minimize" else -1
    return sorted(found, key=lambda entry: sign * entry["valid_mean"])


def write_csv(rows: list[dict], sweep: Sweep, path) -> None:
    """The trials table as CSV (written atomically)."""
    columns = ["trial", "state", *[p.name for p in sweep.search], "seed", f"valid_{sweep.metric}",
               f"test_{sweep.metric}", "best_epoch", "epochs", "seconds", "folder", "error"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row["trial"], row["state"], *[row[p.name] for p in sweep.search], row["seed"],
                         row["valid"], row["test"], row["best_epoch"], row["epochs"], row["seconds"],
                         row["folder"], row["error"]])
    atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def text(value) -> str:
    """A value for a table: numbers to 4 significant digits, None as -."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: list[dict], sweep: Sweep) -> str:
    """The trials as an aligned text table (the terminal's)."""
    names = [p.name for p in sweep.search]
    header = ["trial", "state", *names, "seed", f"valid {sweep.metric}", f"test {sweep.metric}",
              "epochs", "seconds"]
    body = [[text(row["trial"]), row["state"], *[text(row[n]) for n in names], text(row["seed"]),
             text(row["valid"]), text(row["test"]), text(row["epochs"]),
             text(None if row["seconds"] is None else round(row["seconds"], 1))] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths))
                     for line in [header, *body])


def format_best(rows: list[dict], sweep: Sweep) -> str:
    """The best setting (and, for a sweep of seeds alone, the one setting) with mean ± std."""
    found = settings(rows, sweep)
    finished = sum(1 for row in rows if row["state"] == "complete")
    if not found:
        return f"no finished run yet ({len(rows)} trial(s) started of {sweep.runs})"
    best = found[0]
    what = ", ".join(f"{p.name} {text(best[p.name])}" for p in sweep.search) or "the one setting"

    def spread(key):
        mean, std = best[f"{key}_mean"], best[f"{key}_std"]
        if mean is None:
            return "-"
        return f"{mean:.4f}" + ("" if std is None else f" ± {std:.4f}")

    return (f"{finished} of {sweep.runs} runs finished. Best setting: {what}: valid {sweep.metric} "
            f"{spread('valid')}, test {sweep.metric} {spread('test')} (mean ± std over seeds "
            f"{', '.join(map(str, best['seeds']))})")
