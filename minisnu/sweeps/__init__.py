"""Sweeps: many runs of ``minisnu train``, over settings and seeds, searched by Optuna.

``minisnu sweep FILE.toml`` trains one run per trial, each an ordinary run folder (or, for the
experiment ``pcm-train``, one call of its ``sweep_trial``), on local worker processes or a Dask
cluster, and reports a table of the trials and the best setting with its mean ± std over seeds.
The modules, in the order a sweep uses them:

- :mod:`~minisnu.sweeps.spec`: the sweep file, checked against the task's declared options;
- :mod:`~minisnu.sweeps.study`: the Optuna study (storage, sampler, pruner), the next trial;
- :mod:`~minisnu.sweeps.trial`: one trial in a worker, its run trained and its epochs reported;
- :mod:`~minisnu.sweeps.driver`: the sweep folder, the workers, going on after a kill;
- :mod:`~minisnu.sweeps.report`: the table of trials, the best setting.

Optuna (and Dask, for clusters) are the optional extra ``minisnu[sweep]``: nothing else in
minisnu imports them.
"""

from .driver import SweepFolder, report_rows, run_sweep, start_folder
from .spec import Sweep, from_fields, load

__all__ = ["Sweep", "SweepFolder", "from_fields", "load", "report_rows", "run_sweep", "start_folder"]
