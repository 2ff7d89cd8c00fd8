"""One trial of a sweep, as a worker runs it: an ordinary ``minisnu train`` run in its own folder,
each epoch's validation metric reported to the study, stopped early when the pruner says so.

:func:`run_trial` is what a worker process (a local one, or a Dask worker) executes. It
gets a :class:`TrialJob`, everything it needs as plain values, so that it can run on
any machine that has minisnu, the data and the sweep folder (a shared file system for a
cluster). A trial whose run folder already holds epochs (its worker was killed) goes
on from its last checkpoint, exactly as ``minisnu train --resume`` would.

What the run ends with is set on the trial as user attributes (the run folder, the
epochs trained, the wall time, the test metric at the best epoch); the sweep's driver
then records the trial's state and value (``study.tell``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from ..core.errors import MinisnuError
from ..core.options import resolve, run_options
from ..tasks.runs import resume, start
from ..training import run_folder
from ..training.run_folder import RunFolder
from .spec import Sweep
from .study import optuna, pruner, storage


@dataclass(frozen=True)
class TrialJob:
    """A trial's run, as a worker needs it (picklable: it travels to the worker)."""

    sweep: Sweep           # its task and pruner
    options: dict          # as given to `minisnu train`: fixed, searched, seed (data, quick, ...)
    folder: str            # the run folder
    study_name: str
    store: object          # the study's storage: a URL, or a storage object (Dask's)
    trial_id: int
    number: int
    threads: int | None    # BLAS threads for the run; None: as the worker is set up


class Pruned(Exception):
    """The pruner stopped the run after an epoch (the epoch is saved)."""


def run_trial(job: TrialJob) -> dict:
    """Train the trial's run and report its epochs; the outcome as a dict.

    ``state`` is "COMPLETE", "PRUNED" or "FAIL" (a user's mistake or a diverged run:
    ``error`` says which); ``value`` the best validation metric (None if none), ``test``
    the test metric at that epoch, ``epochs`` and ``seconds`` what the run trained.
    The outcome is also set on the trial as user attributes.
    """
    threads = (threadpool_limits(job.threads, user_api="blas") if job.threads
               else contextlib.nullcontext())
    # The pruner is the study's in memory, not in its storage: each process gives its own.
    study = optuna().load_study(study_name=job.study_name, pruner=pruner(job.sweep),
                                storage=storage(job.store) if isinstance(job.store, str) else job.store)
    trial = optuna().trial.Trial(study, job.trial_id)
    outcome = {"number": job.number, "state": "COMPLETE", "error": None, "folder": job.folder,
               "value": None, "test": None, "best_epoch": None, "epochs": 0, "seconds": 0.0}

    def report(epoch: int, value) -> None:
        """After each epoch: its validation metric to the pruner, which may stop the trial here."""
        outcome["epochs"] = epoch
        if value is not None and math.isfinite(value):
            trial.report(value, epoch)
            if trial.should_prune():
                raise Pruned

    train = _train_experiment if job.sweep.target.experiment else _train_run
    folder = RunFolder(job.folder)
    with threads:
        try:
            with folder.lock():
                train(job, folder, report, outcome)
        except Pruned:
            outcome["state"] = "PRUNED"
        except MinisnuError as err:       # a diverged run, missing data, ...: the trial failed
            outcome.update(state="FAIL", error=str(err))
    for key in ("folder", "epochs", "seconds", "test", "best_epoch", "error"):
        trial.set_user_attr(key, outcome[key])
    return outcome


def _train_run(job: TrialJob, folder: RunFolder, report, outcome: dict) -> None:
    """A task's trial: its run trained in its folder (resumed if the folder holds epochs), the
    outcome brought up to date after every epoch (so that it holds when the pruner stops it)."""
    task = job.sweep.target.module
    values = resolve(task.OPTIONS, job.options)
    if folder.holds_run():
        run = resume(task, folder, {"epochs": values["epochs"]}, values["data"])
    else:
        run = start(task, folder, run_options(task.OPTIONS, values), values["data"])

    def after_epoch(run, row):
        outcome.update(_summary(run))
        report(row["epoch"], row[f"valid_{task.METRIC}"])

    outcome.update(_summary(run))         # a resumed run may have no epoch left to train
    run_folder.fit(run, on_epoch=after_epoch)


def _summary(run) -> dict:
    """Epochs, wall time (of every epoch, resumed ones included) and the best epoch's metrics."""
    summary = {"epochs": run.epoch, "seconds": round(sum(row["seconds"] for row in run.history), 3)}
    if run.best is not None:
        metric = run.task.METRIC
        summary |= {"value": run.best[f"valid_{metric}"], "test": run.best[f"test_{metric}"],
                    "best_epoch": run.best["epoch"]}
    return summary


def _train_experiment(job: TrialJob, folder: RunFolder, report, outcome: dict) -> None:
    """An experiment's trial (``pcm-train``): its ``sweep_trial`` in the trial's folder. An
    experiment's run is not resumable: a trial that was stopped starts again."""
    target = job.sweep.target
    result = target.module.sweep_trial(resolve(target.options, job.options), folder.path,
                                       on_epoch=report)
    outcome.update(value=result["valid"], test=result["test"], best_epoch=result["epochs"],
                   epochs=result["epochs"], seconds=round(result["seconds"], 3))
