"""
12 · One run is one sample: seeds, means, and a search
======================================================

**What this teaches:** three things about judging training runs, with
``minisnu.sweeps`` (``from_fields``, ``start_folder``, ``run_sweep``) and its
``report`` module:

- a training run's result depends on its **seed**: the initial weights, the
  spike trains of the rate code and the order of the batches all come from
  it, and a spiking network amplifies small differences;
- two settings are compared by the **mean and the spread over several seeds**,
  never by one run each: a difference smaller than the spread is noise;
- a **search** (Optuna's TPE sampler) spends its runs where the good settings
  were, and a **pruner** stops the runs that look hopeless after an epoch or
  two (and sometimes one that would have done well: see the exercises).

All three use ``minisnu.sweeps``, the library under ``minisnu sweep``: each run is
an ordinary ``minisnu train mnist`` run in its own folder, trained by one of two
worker processes. The digits are scikit-learn's 1,797 8 × 8 digits (no
download), rate-coded over 20 steps as in chapter 05; the networks are the
task's defaults for them (``minisnu train mnist --dataset digits --help``).

Measured with the defaults (10 epochs, batches of 32, seeds 0-4, two workers
on 2 cores that two training runs were also using: 73 s in all): the spiking
SNU network **84.0 ± 1.8 %** test accuracy over the five seeds (82.5 to
86.4 %), the sSNU **82.6 ± 1.1 %** (81.4 to 83.9 %). The SNU is ahead by
1.4 points, less than its own spread over seeds (1.8): with one run each,
seed 3 of the SNU against seed 1 of the sSNU would have said 5 points, seed 0
of each 0.8 point the other way. The search over the sSNU's learning rate (8 trials, 6 of
them stopped after 2 or 3 epochs) found 0.0023: 88.1 % on the test digits,
from one seed. ``--quick`` runs in a few seconds on a few digits (and learns
little).

Needs the extra ``pip install -e ".[sweep]"`` (Optuna).
"""

# %%
import argparse
import os
import tempfile
import time

import matplotlib

matplotlib.use("Agg")  # write files; no window needed
import matplotlib.pyplot as plt
import numpy as np

from minisnu import sweeps, viz
from minisnu.sweeps import report

# Figures go to tutorials/output/ (untracked); `--out figures` regenerates the committed ones.
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output")
# scikit-learn's 8×8 digits, what every run trains on; batches of 32 (the task's 128 would give
# the 1,437 training digits only 12 updates an epoch)
DIGITS = {"dataset": "digits", "batch_size": 32}


# %%
# Five seeds of two settings
# --------------------------
#
# A sweep is described by three tables, as in a sweep file: what it runs and
# how (``task``, ``seeds``, the ``sampler``), the options every run shares, and
# the options it varies. A grid over the model with five seeds is ten runs;
# ``pruner = "none"``, because every run of a comparison must finish.

# %%
def compare_models(folder, seeds, epochs, quick):
    """SNU against sSNU, each with every seed: the sweep's table of runs."""
    sweep = sweeps.from_fields({"task": "mnist", "seeds": seeds, "sampler": "grid", "pruner": "none"},
                               DIGITS | {"epochs": epochs, "quick": quick},
                               {"model": {"choices": ["snu", "ssnu"]}})
    sweeps.start_folder(sweep, folder)
    return sweeps.run_sweep(folder, jobs=2, on_trial=show), sweep


def show(outcome, trial):
    setting = ", ".join(f"{name} {report.text(value)}" for name, value in trial.params.items())
    print(f"  run {outcome['number']:2d} ({setting}, seed {trial.user_attrs['seed']}): "
          f"test accuracy {outcome['test']:.1%} after {outcome['epochs']} epochs")


def plot_seeds(rows, sweep, path):
    """Each run's test accuracy (a dot per seed) and each model's mean ± std."""
    settings = {s["model"]: s for s in report.settings(rows, sweep)}
    with viz.style():
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        for x, model in enumerate(["snu", "ssnu"]):
            runs = [r["test"] for r in rows if r["model"] == model and r["test"] is not None]
            ax.plot(np.full(len(runs), x) + np.linspace(-0.08, 0.08, len(runs)), runs, "o",
                    color=viz.PALETTE[x], alpha=0.6)
            mean, std = settings[model]["test_mean"], settings[model]["test_std"] or 0.0
            ax.errorbar(x + 0.25, mean, yerr=std, fmt="s", color=viz.PALETTE[x], capsize=4)
            ax.annotate(f"{mean:.1%} ± {std:.1%}", (x + 0.3, mean), fontsize="small", va="center")
        ax.set_xticks([0, 1], ["SNU (spiking)", "sSNU (soft)"])
        ax.set_xlim(-0.5, 1.9)
        ax.set_ylabel("test accuracy")
        ax.set_title(f"one dot per seed ({len(sweep.seeds)} seeds)")
    viz.save(fig, path)


# %%
# A search over the learning rate
# -------------------------------
#
# The learning rate spans orders of magnitude, so it is searched on a log
# scale. TPE draws the first trials at random and then draws where the good
# ones were; the median pruner stops a run whose validation accuracy after an
# epoch is below the median of the finished runs' at that epoch (once two runs
# have finished; every run trains at least two epochs).

# %%
def search_learning_rate(folder, trials, epochs, quick):
    sweep = sweeps.from_fields({"task": "mnist", "trials": trials,
                                "pruner": {"kind": "median", "startup_trials": 2, "warmup_epochs": 2}},
                               DIGITS | {"model": "ssnu", "epochs": epochs, "quick": quick},
                               {"lr": {"low": 1e-4, "high": 3e-2, "log": True}})
    sweeps.start_folder(sweep, folder)
    return sweeps.run_sweep(folder, jobs=2, on_trial=show), sweep


# %%
def main(argv=None):
    parser = argparse.ArgumentParser(description="Seeds, means and a search with minisnu's sweeps.")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of each model (default 5)")
    parser.add_argument("--out", default=OUTPUT, help="folder for the PNG figures (default tutorials/output)")
    args = parser.parse_args(argv)
    try:
        import optuna  # noqa: F401  (the sweeps need it; minisnu itself does not)
    except ImportError:
        raise SystemExit('This chapter needs Optuna: pip install -e ".[sweep]"') from None
    start = time.perf_counter()
    seeds, epochs, trials = (2, 2, 3) if args.quick else (args.seeds, 10, 8)

    # The sweeps' own folders (the runs, the study) are temporary here; `minisnu sweep` keeps them.
    with tempfile.TemporaryDirectory() as work:
        print(f"SNU and sSNU, {seeds} seeds each, {epochs} epochs:")
        rows, sweep = compare_models(os.path.join(work, "models"), seeds, epochs, args.quick)
        print(report.format_best(rows, sweep))
        plot_seeds(rows, sweep, os.path.join(args.out, "12_seeds.png"))

        print(f"The sSNU's learning rate, {trials} trials:")
        rows, sweep = search_learning_rate(os.path.join(work, "search"), trials, epochs, args.quick)
        print(report.format_table(rows, sweep))
        print(report.format_best(rows, sweep))
        viz.sweep_history(rows, os.path.join(args.out, "12_search_history.png"), metric="accuracy",
                          minimize=False, title="the sSNU's learning rate, trial by trial")
        viz.sweep_options(rows, ["lr"], os.path.join(args.out, "12_search_lr.png"), metric="accuracy",
                          log=["lr"], title="validation accuracy against the learning rate")
    print(f"figures written to {os.path.abspath(args.out)} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()


# %%
# The page above ran the quick mode: two seeds of each model, two epochs and
# three trials, on a few digits, so its accuracies and its search say nothing
# about the models. The full run, whose numbers are given at the top, drew
# the figures committed in ``figures/`` (``--out figures`` redraws them). The
# five seeds of each model, and their mean ± standard deviation:
#
# .. image:: ../../figures/12_seeds.png
#    :alt: test accuracy of each of five seeds, with the mean and standard deviation, for the SNU and the sSNU
#
# The search over the sSNU's learning rate, 8 trials of which 6 were stopped
# after 2 or 3 epochs:
#
# .. image:: ../../figures/12_search_history.png
#    :alt: validation accuracy of each of the 8 trials of the learning-rate search, finished or pruned
#
# Exercises
# ---------
#
# 1. Run the comparison with ``--seeds 2`` and then ``--seeds 10``. How much does the
#    spread of the SNU's accuracy change, and how much its mean? With how
#    many seeds would you trust a difference of one percentage point?
# 2. Search the SNU's learning rate instead of the sSNU's (``"model": "snu"``).
#    Does the best rate differ, and are more runs pruned? Why might a spiking
#    network want a smaller step than its soft twin?
# 3. Turn the pruner off (``"pruner": "none"``) and compare the wall time and
#    the best accuracy found with the same number of trials.
