"""The sweep's Optuna study: where it lives, how it draws the next run, what a run's options are.

Optuna keeps every trial of a sweep in a *storage*: by default an SQLite file in the
sweep folder (``study.db``: nothing to start, and a killed sweep finds its trials
again), or a database the user names (``--storage postgresql://...``) when workers on
several machines share one study.

One trial is one run: a setting of the searched options and one seed. A *setting*
is drawn by the sampler (TPE or random) when its first seed's trial is asked for;
the trials of its other seeds are queued at once with the same values
(``study.enqueue_trial``) and come next. So the sampler learns from every run, each
run is scored on its own (and can be pruned on its own), and the report groups the
runs of a setting into a mean ± std. The seed and the setting (0, 1, ... in the
order they were drawn) are the trial's *user attributes*; the searched options are
its *params*.

A grid is every combination of the choices, in order (the first option's choices
outermost), the first ``trials`` of them: each setting's runs are queued in the study
when it is due. (Optuna's ``GridSampler`` assigns grid points itself and fails on
queued trials, which the seeds are: ``KeyError: 'grid_id'`` in optuna 5.0.)
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

from ..data.errors import MissingPackageError
from .spec import Param, Sweep, option_value, optuna_value

STUDY_FILE = "study.db"

# Optuna calls its Dask storage experimental and says so each time a worker unpickles it,
# once per trial: the warning would drown the sweep's own lines.
warnings.filterwarnings("ignore", message="DaskStorage is experimental")


def optuna():
    """The optuna module; MissingPackageError naming the extra when it is not installed."""
    try:
        import optuna
    except ImportError:
        raise MissingPackageError('minisnu sweep needs Optuna: pip install "minisnu[sweep]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)   # the sweep prints its own lines
    return optuna


def sqlite_url(folder) -> str:
    """The storage URL of the study file in a sweep folder."""
    return f"sqlite:///{(Path(folder) / STUDY_FILE).resolve()}"


def storage(url: str):
    """An Optuna storage for ``url``. SQLite waits up to a minute for a lock: the sweep's workers
    write the epochs they report into the same file."""
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    return optuna().storages.RDBStorage(url, engine_kwargs=engine)


def sampler(sweep: Sweep, seed: int = 0):
    """The sweep's sampler, seeded (the same sweep draws the same settings). A grid's settings
    are all queued, so its sampler never draws."""
    samplers = optuna().samplers
    if sweep.sampler in ("random", "grid"):
        return samplers.RandomSampler(seed=seed)
    return samplers.TPESampler(seed=seed)


def pruner(sweep: Sweep):
    """The sweep's pruner, fed each run's validation metric after every epoch.

    median: stop a run whose metric at an epoch is worse than the median of the
    finished runs' at that epoch, once ``startup_trials`` runs have finished; every run
    trains at least ``warmup_epochs`` epochs (Optuna prunes from step n_warmup_steps on);
    halving: successive halving (Optuna's defaults); none.
    """
    pruners = optuna().pruners
    spec = sweep.pruner
    if spec.kind == "median":
        return pruners.MedianPruner(n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs)
    if spec.kind == "halving":
        return pruners.SuccessiveHalvingPruner()
    return pruners.NopPruner()


def open_study(sweep: Sweep, name: str, store):
    """The sweep's study in ``store`` (a storage or a URL), created on first use.

    A sampler seeded as at the start would, on resuming, draw its first settings again; so a
    study that already holds trials gets a sampler seeded with their number (still the same
    settings for the same history)."""
    study = optuna().create_study(study_name=name, storage=store, sampler=sampler(sweep),
                                  pruner=pruner(sweep), direction=sweep.direction, load_if_exists=True)
    drawn = len(study.get_trials(deepcopy=False))
    if drawn:
        study.sampler = sampler(sweep, seed=drawn)
    return study


def settings_started(study) -> int:
    """How many settings the sweep has drawn (or queued)."""
    return len({t.user_attrs["setting"] for t in study.get_trials(deepcopy=False)
                if "setting" in t.user_attrs})


def grid_point(sweep: Sweep, index: int) -> dict:
    """The ``index``-th setting of a grid sweep (the first option's choices outermost)."""
    point = next(itertools.islice(itertools.product(*(p.grid() for p in sweep.search)), index, None))
    return {p.name: value for p, value in zip(sweep.search, point)}


def next_trial(study, sweep: Sweep):
    """The next run to start, a running ``optuna.Trial`` whose params are set; None when the
    sweep has drawn all its settings and every queued seed has been started."""
    states = optuna().trial.TrialState
    queued = study.get_trials(deepcopy=False, states=(states.WAITING,))
    setting = settings_started(study)
    if not queued:
        if setting >= sweep.trials:
            return None
        if sweep.sampler == "grid":        # the grid's next point, all its seeds queued
            point = grid_point(sweep, setting)
            for seed in sweep.seeds:
                study.enqueue_trial(point, user_attrs={"seed": seed, "setting": setting})
    trial = study.ask()
    for param in sweep.search:      # a queued trial gets its setting's values back
        suggest(trial, param)
    if "seed" not in trial.user_attrs:      # drawn by the sampler: its first seed, the others queued
        trial.set_user_attr("seed", sweep.seeds[0])
        trial.set_user_attr("setting", setting)
        for seed in sweep.seeds[1:]:
            study.enqueue_trial(trial.params, user_attrs={"seed": seed, "setting": setting})
    return trial


def suggest(trial, param: Param):
    """The trial's value of one searched option (drawn by the sampler, or fixed by the queue)."""
    if param.kind == "choices":
        return trial.suggest_categorical(param.name, [optuna_value(c) for c in param.choices])
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high), log=param.log,
                                 step=int(param.step or 1))
    return trial.suggest_float(param.name, param.low, param.high, log=param.log, step=param.step)


def trial_options(sweep: Sweep, params: dict, seed: int) -> dict:
    """The options of a trial's run, as given to ``minisnu train``: the sweep's fixed options,
    the trial's values of the searched ones, its seed."""
    declared = {option.name: option for option in sweep.target.options}
    values = {name: option_value(declared[name], value) for name, value in params.items()}
    return dict(sweep.options) | values | {"seed": seed}


def run_folder_name(sweep_name: str, number: int, seed: int) -> str:
    """``NAME-trial0003-seed1``: a trial's run folder, in the sweep folder's ``runs/``."""
    return f"{sweep_name}-trial{number:04d}-seed{seed}"
