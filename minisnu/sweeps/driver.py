"""Running a sweep: its folder, its workers (local processes or a Dask cluster), and going on after a kill.

One process, the *driver*, holds the study's sampler: it draws each run's options
(:func:`~minisnu.sweeps.study.next_trial`), hands the run to a worker, and records the
outcome (``study.tell``). The workers train the runs (:func:`~minisnu.sweeps.trial.run_trial`)
and report their epochs to the study themselves, so the pruner sees every run's curve.
Only as many runs are drawn as there are workers free: the sampler then learns from
every finished run before it draws the next.

Workers
-------
- ``jobs=N`` (the default, 1): N local processes (started by ``spawn``, each importing minisnu
  afresh), each with cores // N BLAS threads, so that N runs do not fight over the cores
  (``threads`` sets another count: fewer when the machine has other work too).
  The study is the SQLite file in the sweep folder, which every process opens.
- ``dask="tcp://host:8786"``: the workers of a running Dask cluster (each trial one task;
  a Dask worker's BLAS libraries run one thread unless its nanny is told otherwise).
  The study is then reached through the scheduler (Optuna's ``DaskStorage``, holding the
  SQLite file of the sweep folder: the scheduler must see that folder), or in a database
  that every machine can reach (``storage="postgresql://..."``). The run folders are
  written by the workers, in the sweep folder: on several machines it must be on a
  shared file system.

The sweep folder
----------------
::

    sweep.json     the sweep as checked (spec.Sweep), its name and storage
    sweep.lock     held by the driver (one driver per sweep)
    study.db       the Optuna study (unless the sweep uses another storage)
    runs/          one ordinary run folder per trial, NAME-trial0003-seed1
    trials.csv     the table of trials, rewritten after every trial (see report.py)

A sweep that was killed goes on with ``resume=True`` (``minisnu sweep --resume DIR``):
the runs it had finished are kept, the ones it was running go on from their last saved
epoch (in their run folders), and then it draws the settings it had not drawn yet.
``trials=N`` (``--resume DIR --trials N``) gives it more settings, or fewer, down to the
number it has started.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
from pathlib import Path

from ..core.errors import OptionError, RunError
from ..core.folder_lock import folder_lock
from ..core.io import atomic_write
from . import report
from .spec import Sweep
from .study import (
    next_trial,
    open_study,
    optuna,
    run_folder_name,
    settings_started,
    sqlite_url,
    storage,
    trial_options,
)
from .trial import TrialJob, run_trial


class SweepFolder:
    """The files of one sweep, named here."""

    SPEC = "sweep.json"
    LOCK = "sweep.lock"
    RUNS = "runs"
    TRIALS_CSV = "trials.csv"

    def __init__(self, path):
        self.path = path.path if isinstance(path, SweepFolder) else Path(path)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def spec(self) -> Path:
        return self.path / self.SPEC

    @property
    def trials_csv(self) -> Path:
        return self.path / self.TRIALS_CSV

    def holds_sweep(self) -> bool:
        return self.spec.is_file()

    def read(self) -> tuple[Sweep, str, str]:
        """The sweep kept here, its storage URL and its study's name (the folder's name when it
        started); RunError if there is none or it is damaged."""
        if not self.holds_sweep():
            raise RunError(f"{self.path} holds no sweep (no {self.SPEC}): start one with a sweep file")
        try:
            content = json.loads(self.spec.read_text())
            return Sweep.from_json(content["sweep"]), content["storage"], content["name"]
        except (ValueError, KeyError, TypeError) as err:
            raise RunError(f"{self.spec}: not a sweep description ({err})") from None

    def write(self, sweep: Sweep, storage_url: str) -> None:
        text = json.dumps({"format": "minisnu.sweep", "version": 1, "name": self.name,
                           "storage": storage_url, "sweep": sweep.to_json()}, indent=1)
        atomic_write(self.spec, lambda f: f.write((text + "\n").encode()))

    def check_new(self) -> None:
        """RunError unless a new sweep may start here: an empty or missing folder."""
        if self.holds_sweep():
            raise RunError(f"{self.path} already holds a sweep: continue it with --resume, or "
                           "choose another --out")
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise RunError(f"{self.path} is not an empty folder: choose another --out")

    @contextlib.contextmanager
    def lock(self):
        """Hold sweep.lock for the ``with`` block; RunError at once if another driver holds it."""
        with folder_lock(self.path, self.LOCK, f"{self.path} is in use by another sweep (it holds "
                                               f"{self.LOCK})"):
            yield self

    def run_folder(self, number: int, seed: int) -> Path:
        return self.path / self.RUNS / run_folder_name(self.name, number, seed)


# -- workers ------------------------------------------------------------------------------


class LocalWorkers:
    """``jobs`` local processes, each run with ``threads`` BLAS threads (default cores // jobs)."""

    def __init__(self, jobs: int, threads: int | None = None):
        self.slots = jobs
        self.threads = threads or max(1, (os.cpu_count() or 1) // jobs)
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, job: TrialJob):
        return self.pool.submit(run_trial, job)

    @staticmethod
    def wait(futures) -> set:
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def close(self, cancel: bool = False) -> None:
        """Wait for the workers to end; with ``cancel`` (Ctrl-C, an error) stop them now: each run
        stopped mid-epoch goes on from its last saved epoch when the sweep is resumed. (Shutting the
        pool down alone would let a worker finish its run, holding its folder's lock.)"""
        if cancel:
            processes = getattr(self.pool, "_processes", None) or {}     # the pool's, by pid
            for process in list(processes.values()):
                process.terminate()
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskWorkers:
    """The workers of the Dask cluster at ``address``: one trial per worker thread."""

    threads = None          # as each worker is set up

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            from ..data.errors import MissingPackageError
            raise MissingPackageError('--dask needs Dask: pip install "minisnu[sweep]"') from None
        try:
            self.client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as err:
            raise RunError(f"--dask {address}: no Dask scheduler answers there ({err})") from None
        self.slots = max(1, sum(self.client.nthreads().values()))

    def submit(self, job: TrialJob):
        return self.client.submit(run_trial, job, pure=False, key=f"trial-{job.study_name}-{job.number}")

    @staticmethod
    def wait(futures) -> set:
        from distributed import wait
        return set(wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self, cancel: bool = False) -> None:
        """Disconnect. A run that a Dask worker has started goes on until it ends (a worker's
        task cannot be stopped from outside); wait for it before resuming the sweep."""
        self.client.close()


# -- the driver ---------------------------------------------------------------------------


def start_folder(sweep: Sweep, folder, storage_url: str | None = None) -> SweepFolder:
    """A new sweep's folder: checked empty, ``sweep.json`` written (storage: its SQLite file
    unless ``storage_url``)."""
    folder = SweepFolder(folder)
    folder.check_new()
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write(sweep, storage_url or sqlite_url(folder.path))
    return folder


def run_sweep(folder, *, jobs: int = 1, threads: int | None = None, dask: str | None = None,
              trials: int | None = None, on_trial=None) -> list[dict]:
    """Run (or go on with) the sweep kept in ``folder`` until every run is done; the trials table.

    ``jobs`` local workers with ``threads`` BLAS threads each (default: the cores shared
    among them), or the Dask cluster at ``dask``. ``trials`` gives the sweep a new number of
    settings (more, or fewer but not fewer than it has started), kept in ``sweep.json``.
    ``on_trial(outcome, trial)`` is called after each run (the command line prints it).
    """
    folder = SweepFolder(folder)
    sweep, url, name = folder.read()
    if jobs < 1 or (threads is not None and threads < 1):
        raise OptionError(f"--jobs and --threads must be >= 1, got {jobs} and {threads}")
    with folder.lock():
        workers = DaskWorkers(dask) if dask else LocalWorkers(jobs, threads)
        try:
            store = _store(url, dask, workers)
            study = open_study(sweep, name, storage(store) if isinstance(store, str) else store)
            if trials is not None and trials != sweep.trials:
                sweep = _retarget(folder, sweep, url, study, trials)
            _drive(sweep, folder, study, store, workers, on_trial)
            rows = report.trials_table(study, sweep)     # before closing: Dask's storage needs the client
        except BaseException:
            workers.close(cancel=True)
            raise
        workers.close()
        report.write_csv(rows, sweep, folder.trials_csv)
    return rows


def report_rows(folder) -> tuple[list[dict], Sweep]:
    """The trials table of the sweep in ``folder`` (running or finished), read from its study."""
    folder = SweepFolder(folder)
    sweep, url, name = folder.read()
    study = optuna().load_study(study_name=name, storage=storage(url))
    return report.trials_table(study, sweep), sweep


def _store(url: str, dask: str | None, workers):
    """The storage the driver and the workers share: the URL itself (every process opens it),
    or, on a Dask cluster without a shared database, the study kept in the scheduler."""
    if dask and url.startswith("sqlite"):
        try:
            from optuna_integration import DaskStorage
        except ImportError:
            from ..data.errors import MissingPackageError
            raise MissingPackageError('--dask needs optuna-integration: pip install "minisnu[sweep]"') \
                from None
        return DaskStorage(storage=url, client=workers.client)
    return url


def _retarget(folder: SweepFolder, sweep: Sweep, url: str, study, trials: int) -> Sweep:
    """The sweep with ``trials`` settings, written to ``sweep.json``; OptionError if it has
    already started more, or (grid sampler) the grid has fewer."""
    started = settings_started(study)
    if trials < max(1, started):
        raise OptionError(f"--trials {trials}: the sweep in {folder.path} has already started "
                          f"{started} setting(s)")
    if sweep.sampler == "grid":
        size = math.prod(len(p.choices) for p in sweep.search)
        if trials > size:
            raise OptionError(f"--trials {trials}: the grid of {folder.path} has {size} settings")
    sweep = dataclasses.replace(sweep, trials=trials)
    folder.write(sweep, url)
    return sweep


def _drive(sweep: Sweep, folder: SweepFolder, study, store, workers, on_trial) -> None:
    states = optuna().trial.TrialState
    # Runs of a previous driver that was killed go on first, from their run folders.
    pending = list(study.get_trials(deepcopy=False, states=(states.RUNNING,)))
    running = {}
    while True:
        while len(running) < workers.slots:
            trial = pending.pop(0) if pending else next_trial(study, sweep)
            if trial is None:
                break
            job = _job(sweep, folder, study, store, trial, workers.threads)
            running[workers.submit(job)] = job
        if not running:
            return
        for future in workers.wait(running):
            job = running.pop(future)
            outcome = future.result()      # a bug in a worker shows its traceback here
            _tell(study, outcome, states)
            report.write_csv(report.trials_table(study, sweep), sweep, folder.trials_csv)
            if on_trial is not None:
                on_trial(outcome, study.get_trials(deepcopy=False)[job.number])


def _job(sweep: Sweep, folder: SweepFolder, study, store, trial, threads) -> TrialJob:
    seed = trial.user_attrs["seed"]
    return TrialJob(sweep=sweep, options=trial_options(sweep, trial.params, seed),
                    folder=str(folder.run_folder(trial.number, seed)), study_name=study.study_name,
                    store=store, trial_id=trial._trial_id,   # Optuna's id of the trial in its storage
                    number=trial.number, threads=threads)


def _tell(study, outcome: dict, states) -> None:
    if outcome["state"] == "COMPLETE" and outcome["value"] is not None:
        study.tell(outcome["number"], outcome["value"])
    elif outcome["state"] == "PRUNED":
        study.tell(outcome["number"], state=states.PRUNED)
    else:                  # failed, or finished without a finite validation metric
        study.tell(outcome["number"], state=states.FAIL)
