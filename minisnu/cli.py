"""The command line: ``minisnu train``, ``eval``, ``inspect``, ``sweep``, ``download``, ``tutorials``,
and the in-memory experiments ``pcm-train``, ``drift`` and ``robustness`` (:mod:`minisnu.experiments`).

Examples::

    minisnu train jsb --model snu --epochs 40 --data jsb-chorales-quarter.json
    minisnu train jsb --model snu --epochs 60 --resume     # continue the same run to epoch 60
    minisnu train mnist --model ssnu --dataset mnist5k --quick
    minisnu train ptb --model lstm --dropout 0.3 --data ~/data/ptb
    minisnu eval runs/jsb-snu-seed0                         # test metric of its best epoch
    minisnu inspect runs/ptb-snu-seed0                      # firing rates, gradient reach, output ceiling
    minisnu download jsb
    minisnu tutorials --quick                             # run every tutorial, figures to tutorials/output
    minisnu pcm-train --seeds 0 1 2                         # the 52,800-device network, in the loop
    minisnu drift --model ssnu                              # programmed, then scored up to a year later

Also ``python -m minisnu ...``. The options are in ``minisnu train TASK --help``;
each task's defaults are the paper's setup as far as it is known (see the
modules of :mod:`minisnu.tasks`). A run folder holds the checkpoint, the
metrics and the training curves (see :mod:`minisnu.training.run_folder`).

Every option is declared once (:mod:`minisnu.core.options`), and a bad value is
refused by the parser before any work starts: one line, ``minisnu train jsb:
error: argument --lr: must be > 0, got 0.0``, exit status 2. Other mistakes the
user can fix (a missing data file, an existing run, a damaged checkpoint: the
kinds of :class:`~minisnu.core.errors.MinisnuError`) are printed as one line,
``minisnu train: error: ...``, with exit status 1. Any other exception is a bug
and shows its traceback. Ctrl-C ends a command with exit status 130 and, for
``minisnu train``, one line saying which epoch is saved.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import sweeps
from .core.errors import MinisnuError, OptionError, RunError
from .core.options import add_arguments, given_values, resolve, run_options
from .data import download_dataset
from .data.download import DATASETS
from .experiments import COMMANDS, get_experiment
from .sweeps import SweepFolder
from .sweeps import report as sweeps_report
from .sweeps import spec as sweeps_spec
from .tasks import TASKS, get_task
from .tasks.runs import check_resumable, data_difference, default_folder, resume, start
from .training import diagnostics, run_folder
from .training.run_folder import Run, RunFolder


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = None
    try:
        args = build_parser().parse_args(argv)
        # The library's notes (a data set chosen in place of a missing one, a slow first
        # conversion) are log messages; a command prints them as plain lines on stderr.
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
        return args.handler(args)
    except KeyboardInterrupt:        # `minisnu train` says what it saved (train_command)
        print("\ninterrupted", file=sys.stderr)
        return 130
    except MinisnuError as err:      # a user's mistake: one line; anything else is a bug
        print(f"minisnu {args.command}: error: {err}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------------------
# the parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minisnu", description="Train and evaluate Spiking Neural Units on the paper's tasks.",
        epilog="Run `minisnu COMMAND --help` (and `minisnu train TASK --help`) for the options.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_train_command(commands)
    add_sweep_command(commands)
    add_eval_command(commands)
    add_inspect_command(commands)
    add_download_command(commands)
    add_tutorials_command(commands)
    for command in COMMANDS:
        add_experiment_command(commands, command)
    return parser


def add_train_command(commands) -> None:
    train = commands.add_parser(
        "train", help="train a model on a task (jsb, mnist, ptb)",
        description="Train a model on one of the paper's tasks, with validation after every "
                    "epoch; the run folder keeps the checkpoint, the best model, the metrics "
                    "and the curves.")
    tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    for name, task in TASKS.items():
        parser = tasks.add_parser(name, help=task.SUMMARY, description=task.SUMMARY + ".",
                                  epilog=background(task))
        models = next(option.choices for option in task.OPTIONS if option.name == "model")
        add_arguments(parser, task.OPTIONS, models=models)   # per-model defaults of this task's models
    train.set_defaults(handler=train_command)


def background(module) -> str:
    """Where the long notes of a task or an experiment are, for the end of its ``--help``."""
    return ("The background (the setup, its sources, where the data is looked for): "
            f"python -m pydoc {module.__name__}")


def add_sweep_command(commands) -> None:
    parser = commands.add_parser(
        "sweep", help="many runs of a task over settings and seeds, searched by Optuna",
        description="Train one run of `minisnu train TASK` per trial, over the settings a sweep "
                    "file describes (or --task, --set, --range, --choices) and its seeds, on local "
                    "worker processes or a Dask cluster; then print the table of trials and the "
                    "best setting (mean ± std over its seeds), and write trials.csv, history.png "
                    "and options.png in the sweep folder. Needs the extra minisnu[sweep].",
        epilog="The sweep file: python -m pydoc minisnu.sweeps.spec; the workers and the folder: "
               "python -m pydoc minisnu.sweeps.driver")
    parser.add_argument("file", nargs="?", metavar="SWEEP.toml", help="the sweep file")
    parser.add_argument("--out", metavar="DIR",
                        help="the sweep folder (default sweeps/NAME, NAME the sweep file's, or the task's)")
    parser.add_argument("--resume", metavar="DIR", help="go on with the sweep in DIR")
    parser.add_argument("--report", metavar="DIR",
                        help="only report on the sweep in DIR (running or finished)")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="local worker processes, each with cores/N BLAS threads (default 1)")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="BLAS threads of each local worker (default: the cores shared among them)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run the trials on the Dask cluster whose scheduler is at ADDRESS "
                             "(tcp://host:8786) instead of local processes")
    parser.add_argument("--storage", metavar="URL",
                        help="keep the study in this database (postgresql://..., mysql://...) "
                             "instead of the sweep folder's SQLite file: for workers on many machines")
    inline = parser.add_argument_group("the sweep on the command line (instead of a file)")
    inline.add_argument("--task", choices=sweeps_spec.TARGETS,
                        help="the task (or the experiment pcm-train)")
    inline.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an option of every run, as for minisnu train (lr-decay=0.9); repeatable")
    inline.add_argument("--range", action="append", nargs="+", default=[],
                        metavar=("NAME LOW HIGH", "log"),
                        help="search NAME from LOW to HIGH (add log for a log scale); repeatable")
    inline.add_argument("--choices", action="append", nargs="+", default=[], metavar=("NAME", "VALUE"),
                        help="search NAME among the VALUEs; repeatable")
    inline.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                        help="the seeds of every setting (default 0)")
    inline.add_argument("--trials", type=positive_int, metavar="N",
                        help="the settings to try (with --resume: a new number of them)")
    inline.add_argument("--sampler", choices=sweeps_spec.SAMPLERS, help="(default tpe)")
    inline.add_argument("--pruner", choices=sweeps_spec.PRUNERS,
                        help="(default median when something is searched, none for seeds alone)")
    parser.set_defaults(handler=sweep_command)


def add_eval_command(commands) -> None:
    parser = commands.add_parser(
        "eval", help="evaluate a trained run or checkpoint",
        description="Load a checkpoint (a run folder means its best.npz) with the task, options "
                    "and data source it records; print the split's metrics and write them to "
                    "eval-SPLIT.json beside the checkpoint.")
    parser.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    parser.add_argument("--split", choices=("train", "valid", "test"), default="test",
                        help="(default test)")
    parser.add_argument("--data", metavar="PATH",
                        help="read the data from here instead (with a warning if it is not the data "
                             "the run was trained on; without --data, the run's data files must be "
                             "as they were)")
    parser.add_argument("--test-steps", type=positive_int, nargs="+", metavar="T",
                        help="evaluate with spike trains of each of these lengths (tasks with a "
                             "--test-steps option, e.g. mnist): writes eval-SPLIT-steps.json and a "
                             "figure of the metric against T, eval-SPLIT-steps.png, beside the "
                             "checkpoint")
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="images per batch (default the run's; long spike trains need "
                             "smaller batches: memory grows with T × batch)")
    parser.set_defaults(handler=eval_command)


def add_inspect_command(commands) -> None:
    parser = commands.add_parser(
        "inspect", help="look inside a trained run: layer activity, gradient reach, output ceiling",
        description="Run a checkpoint (a run folder means its best.npz) on a few batches of a split "
                    "and print, per temporal layer, its mean output (a firing rate), its silent and "
                    "always-on units, its drive against the threshold and the derivative it passes "
                    "back; how far back in the window the last step's gradient reaches; and, for a "
                    "softmax fed by SNUs (or RNN, LSTM, GRU units), the most probability its output "
                    "layer can give each target for the best possible hidden vector. Writes "
                    "inspect-SPLIT.json beside the checkpoint (see minisnu.training.diagnostics).")
    parser.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    parser.add_argument("--split", choices=("train", "valid", "test"), default="valid",
                        help="(default valid)")
    parser.add_argument("--batches", type=positive_int, default=20, metavar="N",
                        help="batches to look at, from the split's start (default 20)")
    parser.add_argument("--data", metavar="PATH", help="read the data from here instead (as for eval)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="examples per batch (default the run's)")
    parser.set_defaults(handler=inspect_command)


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_download_command(commands) -> None:
    parser = commands.add_parser(
        "download", help="download a data set",
        description="Download a data set into DATA/NAME (DATA: --data, else $MINISNU_DATA, else "
                    "the cache folder), verified against its published checksums.")
    parser.add_argument("name", choices=list(DATASETS), metavar="NAME",
                        help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--data", metavar="PATH", help="the data folder")
    parser.set_defaults(handler=download_command)


def add_tutorials_command(commands) -> None:
    parser = commands.add_parser(
        "tutorials", help="run the tutorials and draw their figures",
        description="Run every tutorial script (tutorials/NN_*.py of a source checkout) in turn; "
                    "each writes its figures to tutorials/output/ (untracked), or to --out: "
                    "--out figures regenerates the committed figures.")
    parser.add_argument("names", nargs="*", metavar="NN",
                        help="only these tutorials, by number (e.g. 01 07); default all")
    parser.add_argument("--quick", action="store_true", help="each tutorial's quick mode (seconds)")
    parser.add_argument("--out", metavar="DIR",
                        help="write the figures here (default tutorials/output/; "
                             "figures/ holds the committed ones)")
    parser.set_defaults(handler=tutorials_command)


def add_experiment_command(commands, command: str) -> None:
    """``minisnu pcm-train``, ``drift``, ``robustness``: the module's own options and ``run``."""
    experiment = get_experiment(command)
    parser = commands.add_parser(command, help=experiment.SUMMARY, description=experiment.SUMMARY + ".",
                                 epilog=background(experiment))
    add_arguments(parser, experiment.OPTIONS)
    parser.set_defaults(handler=lambda args: experiment_command(experiment, args))


# ---------------------------------------------------------------------------
# train


def train_command(args) -> int:
    """Start or resume the run, holding its folder's lock; Ctrl-C or SIGTERM says which epoch is
    saved."""
    task = get_task(args.task)
    given = given_values(args, task.OPTIONS)
    values = resolve(task.OPTIONS, given)
    folder = RunFolder(values["out"] if values["out"] else default_folder(task, values))
    try:
        # Checked before the lock too, so that a folder refused is left as it was (no run.lock in it);
        # and again while holding it (start, resume), as another run may have come in between.
        if values["resume"]:
            check_resumable(folder)
        else:
            folder.check_new()
        with sigterm_as_ctrl_c(), folder.lock():
            return train_locked(task, folder, given, values)
    except KeyboardInterrupt:
        epoch = folder.saved_epoch()
        saved = ("nothing is saved yet (no epoch had finished)" if epoch is None else
                 f"epoch {epoch} is saved in {folder.path}; continue with --resume --out {folder.path}")
        print(f"\ninterrupted: {saved}", file=sys.stderr)
        return 130


def train_locked(task, folder: RunFolder, given: dict, values: dict) -> int:
    """Train the run in ``folder``, whose lock this process holds."""
    data = values["data"]
    if values["resume"]:
        run = resume(task, folder, given, data)
    else:
        run = start(task, folder, run_options(task.OPTIONS, values), data)
    print(f"{task.NAME}: --model {run.options['model']}, {run.net.n_params:,} parameters; "
          f"data: {task.describe_data(run.source, run.data)}")
    print(run.net)
    print(f"run folder: {folder.path}" + (f" (resuming after epoch {run.epoch})" if run.epoch else ""),
          flush=True)
    if run.epoch >= run.options["epochs"]:
        print(f"the run has trained {run.epoch} epochs already; ask for more with --epochs")
        # The metrics and the curves follow from the checkpoint: written again, they are
        # complete even if the run that saved its last epoch was stopped before writing them.
        run.folder.write_metrics(run.history, run.metrics())
        draw_curves(run)
    run_folder.fit(run, progress=values["progress"] and sys.stderr.isatty(), on_epoch=show_epoch)
    print(run_folder.describe_best(run))
    return 0


def show_epoch(run: Run, row: dict) -> None:
    """After each epoch: its line on stdout, and the curves drawn in the run folder."""
    print(run_folder.format_row(run.task, row), flush=True)
    draw_curves(run)


def draw_curves(run: Run) -> None:
    """The training curves of the run so far, in its folder (curves.png)."""
    from . import viz  # here: matplotlib is slow to import, and only the curves need it

    task = run.task
    viz.run_curves(run.history, run.folder.curves, metric=task.METRIC, metric_label=task.METRIC_LABEL,
                   best=run.best, title=f"{task.NAME}, {run.options['model']}, seed {run.options['seed']}")


# ---------------------------------------------------------------------------
# sweep


def sweep_command(args) -> int:
    """Start, resume or report on a sweep; after a run, the report. Ctrl-C says how to go on."""
    if args.report:
        return sweep_report(SweepFolder(args.report))
    if args.resume:
        if args.file or inline_sweep_given(args, but_trials=True):
            raise OptionError("--resume goes on with the sweep as it was (or with a new --trials): "
                              "give no sweep file or --task, --set, ... with it")
        folder = SweepFolder(args.resume)
        folder.read()          # a clear error now if there is no sweep to go on with
    else:
        sweep = read_sweep(args)
        name = Path(args.file).stem if args.file else sweep.task
        folder = sweeps.start_folder(sweep, args.out or Path("sweeps") / name, args.storage)
    sweep = folder.read()[0]
    trials = args.trials if args.resume and args.trials else sweep.trials
    print(f"sweep {folder.path}: task {sweep.task}, {trials} setting(s) × {len(sweep.seeds)} "
          f"seed(s) = {trials * len(sweep.seeds)} runs, {sweep.sampler} sampler, {sweep.pruner.kind} pruner, "
          + (f"Dask cluster at {args.dask}" if args.dask else f"{args.jobs} local worker(s)"), flush=True)
    # SIGTERM stops the sweep as Ctrl-C does: workers stopped, the finished runs kept, the others
    # resumable from their last saved epoch.
    try:
        with sigterm_as_ctrl_c():
            sweeps.run_sweep(folder.path, jobs=args.jobs, threads=args.threads, dask=args.dask,
                             trials=args.trials if args.resume else None,
                             on_trial=lambda outcome, trial: print(trial_line(sweep, outcome, trial),
                                                                   flush=True))
    except KeyboardInterrupt:
        print(f"\ninterrupted: the finished runs are kept; go on with minisnu sweep --resume "
              f"{folder.path}", file=sys.stderr)
        return 130
    return sweep_report(folder)


@contextlib.contextmanager
def sigterm_as_ctrl_c():
    """For the ``with`` block, SIGTERM (a cluster's job scheduler, ``kill``, ``timeout``) raises
    KeyboardInterrupt as Ctrl-C does, so that a stopped command says what is saved."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def inline_sweep_given(args, but_trials: bool = False) -> bool:
    """Whether the command line describes a sweep (with ``but_trials``: other than by ``--trials``)."""
    return bool(args.task or args.set or args.range or args.choices or args.seeds is not None
                or (args.trials and not but_trials) or args.sampler or args.pruner)


def read_sweep(args):
    """The sweep of the file, or of the command line's ``--task``, ``--set``, ``--range``,
    ``--choices``, ...; checked."""
    if args.file:
        if inline_sweep_given(args):
            raise OptionError("give the sweep in a file or with --task, --set, ..., not both")
        return sweeps.load(args.file)
    if not args.task:
        raise OptionError("give a sweep file, or the task with --task (and --set, --range, "
                          "--choices, --seeds, --trials)")
    options = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise OptionError(f"--set {item}: write NAME=VALUE")
        options[name.strip()] = value.strip()
    search = {}
    for item in args.range:
        if len(item) not in (3, 4) or (len(item) == 4 and item[3] != "log"):
            raise OptionError(f"--range {' '.join(item)}: write NAME LOW HIGH, or NAME LOW HIGH log")
        search[item[0]] = {"low": item[1], "high": item[2], "log": len(item) == 4}
    for item in args.choices:
        if len(item) < 2:
            raise OptionError(f"--choices {' '.join(item)}: write NAME VALUE [VALUE ...]")
        search[item[0]] = {"choices": item[1:]}
    fields = {"task": args.task}
    for key in ("seeds", "trials", "sampler", "pruner"):
        if getattr(args, key) is not None:
            fields[key] = getattr(args, key)
    return sweeps.from_fields(fields, options, search, where="minisnu sweep")


def trial_line(sweep, outcome: dict, trial) -> str:
    """``trial 3  seed 1  lr 0.0269  complete: valid nll 31.54, test 31.67 (epoch 3 of 3, 0.8 s)``."""
    values = "  ".join(f"{p.name} {sweeps_report.text(trial.params.get(p.name))}" for p in sweep.search)
    head = f"trial {outcome['number']}  seed {trial.user_attrs.get('seed')}  {values}".rstrip()
    state = outcome["state"].lower()
    if outcome["state"] == "FAIL":
        return f"{head}  failed: {outcome['error'] or 'no finite validation metric'}"
    if outcome["value"] is None:
        return f"{head}  {state} after {outcome['epochs']} epoch(s)"
    return (f"{head}  {state}: valid {sweep.metric} {outcome['value']:.4f}, test {outcome['test']:.4f} "
            f"(best epoch {outcome['best_epoch']} of {outcome['epochs']}, {outcome['seconds']:.1f} s)")


def sweep_report(folder) -> int:
    """The table of trials and the best setting, on stdout; trials.csv and the figures in the folder."""
    from . import viz  # here: matplotlib is slow to import, and only the figures need it

    rows, sweep = sweeps.report_rows(folder)
    print(sweeps_report.format_table(rows, sweep))
    print(sweeps_report.format_best(rows, sweep))
    sweeps_report.write_csv(rows, sweep, folder.trials_csv)
    figures = [viz.sweep_history(rows, folder.path / "history.png", metric=sweep.metric,
                                 minimize=sweep.direction == "minimize", title=folder.name)]
    if sweep.search:
        figures.append(viz.sweep_options(rows, [p.name for p in sweep.search], folder.path / "options.png",
                                         metric=sweep.metric, title=folder.name,
                                         log=[p.name for p in sweep.search if p.log]))
    print(f"table: {folder.trials_csv}; figures: {', '.join(map(str, figures))}")
    return 0


def experiment_command(experiment, args) -> int:
    """Run an experiment with its options (the given ones, else its defaults), then draw its figure
    from the metrics it returns (and wrote to its metrics.json)."""
    from . import viz  # here: matplotlib is slow to import, and only the figure needs it

    options = resolve(experiment.OPTIONS, given_values(args, experiment.OPTIONS))
    metrics = experiment.run(options)
    figure = viz.FIGURES[experiment.NAME](metrics, Path(options["figures"]) / experiment.figure_name(options))
    print(f"figure: {figure}")
    return 0


# ---------------------------------------------------------------------------
# eval and download


def eval_command(args) -> int:
    """The metrics of a checkpoint on a split. On the run's own data the files must be the ones it
    was trained on (RunError otherwise); other data, given with ``--data``, is used with a warning."""
    path = checkpoint_path(Path(args.checkpoint))
    meta = run_folder.read_metadata(path, TASKS)
    task, options = get_task(meta["task"]), meta["options"]
    if args.test_steps is not None and "test_steps" not in options:
        raise OptionError(f"--test-steps applies to runs of tasks with spike trains of a chosen "
                          f"length (mnist), not to a {task.NAME} run")
    task, options, data, net = load_checkpoint(path, meta, args)
    if args.test_steps is not None:
        return eval_steps(task, net, data, options, args, path, meta)
    metrics = run_folder.evaluate_split(task, net, data, args.split, options)
    print(f"{args.split} {task.METRIC} {metrics[task.METRIC]:.4f}  loss {metrics['loss']:.4f}  "
          f"({path}, epoch {meta['epoch']})")
    result = {"checkpoint": str(path), "epoch": meta["epoch"], "task": task.NAME,
              "split": args.split, **metrics}
    run_folder.write_json(path.parent / f"eval-{args.split}.json", result)
    return 0


def load_checkpoint(path: Path, meta: dict, args):
    """The task, options, data and network of checkpoint ``path`` (``meta``: its metadata), on the
    run's own data (which must be as it was) or on ``args.data`` (with a warning if it differs);
    ``args.batch_size``, when given, replaces the run's."""
    task, options = get_task(meta["task"]), meta["options"]
    source = meta["data"] if args.data is None else task.locate_data(options, args.data)
    differs = data_difference(meta["data"], source)
    if differs is not None and args.data is None:
        raise RunError(f"the data of the run of {path} changed since it was trained: {differs}; "
                       "give the data to evaluate on with --data")
    if differs is not None:
        logging.getLogger(__name__).warning("evaluating on other data than the run was trained on: %s",
                                            differs)
    if args.batch_size is not None:
        options = {**options, "batch_size": args.batch_size}
    data = task.load_data(source, options)
    net = task.build_model(options, data, np.random.default_rng(options["seed"]))
    net.load_weights(path)
    return task, options, data, net


def inspect_command(args) -> int:
    """Layer activity, gradient reach and output ceiling of a checkpoint (minisnu.training.diagnostics)."""
    path = checkpoint_path(Path(args.checkpoint))
    meta = run_folder.read_metadata(path, TASKS)
    task, options, data, net = load_checkpoint(path, meta, args)
    rng = np.random.default_rng([options["seed"], run_folder.EVAL_STREAMS[args.split]])
    batches = list(itertools.islice(task.batches(data, args.split, options, rng), args.batches))
    activity = diagnostics.layer_activity(net, batches)
    reach = diagnostics.gradient_reach(net, batches[-1], lambda z, batch: task.loss(z, batch, options))
    ceiling = diagnostics.target_ceiling(net, np.concatenate([np.ravel(b.target) for b in batches]))
    print(f"{path} (epoch {meta['epoch']}), the first {len(batches)} batches of the {args.split} split")
    print(diagnostics.format_activity(activity))
    if reach is not None:
        print(diagnostics.format_reach(reach))
    if ceiling is not None:
        print(diagnostics.format_ceiling(ceiling))
    out = path.parent / f"inspect-{args.split}.json"
    run_folder.write_json(out, {"checkpoint": str(path), "epoch": meta["epoch"], "task": task.NAME,
                                "split": args.split, "activity": activity, "gradient_reach": reach,
                                "output_ceiling": ceiling})
    print(f"wrote {out}")
    return 0


def eval_steps(task, net, data, options: dict, args, path: Path, meta: dict) -> int:
    """The metric of the checkpoint with spike trains of each length in ``args.test_steps``: a spiking
    network's answer sharpens as it counts spikes for longer (the paper trained its conv SNU on 30
    steps and tested it on 300). Writes eval-SPLIT-steps.json and eval-SPLIT-steps.png."""
    from . import viz  # here: matplotlib is slow to import

    rows = []
    for steps in args.test_steps:
        start = time.perf_counter()
        metrics = run_folder.evaluate_split(task, net, data, args.split,
                                            {**options, "test_steps": steps})
        rows.append({"steps": steps, **metrics, "seconds": time.perf_counter() - start})
        print(f"T = {steps:>4}  {args.split} {task.METRIC} {metrics[task.METRIC]:.4f}  "
              f"loss {metrics['loss']:.4f}  ({rows[-1]['seconds']:.1f} s)", flush=True)
    result = {"checkpoint": str(path), "epoch": meta["epoch"], "task": task.NAME, "split": args.split,
              "trained_steps": meta["options"]["steps"], "rows": rows}
    base = path.parent / f"eval-{args.split}-steps"
    run_folder.write_json(base.with_suffix(".json"), result)
    viz.metric_vs_steps(rows, base.with_suffix(".png"), metric=task.METRIC,
                        metric_label=task.METRIC_LABEL, trained_steps=meta["options"]["steps"],
                        title=f"{meta['data'].get('dataset') or task.NAME}, {meta['options']['model']}, "
                              f"epoch {meta['epoch']}, {args.split} split")
    print(f"wrote {base.with_suffix('.json')} and {base.with_suffix('.png')}")
    return 0


def checkpoint_path(path: Path) -> Path:
    """A checkpoint file as given, or a run folder's best.npz (else its checkpoint.npz)."""
    return RunFolder(path).evaluation_checkpoint() if path.is_dir() else path


def download_command(args) -> int:
    folder = download_dataset(args.name, root=args.data)
    print(f"{args.name}: {folder}")
    return 0


# ---------------------------------------------------------------------------
# tutorials

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"


def tutorial_scripts(names=()) -> list[Path]:
    """The tutorial scripts of the source checkout this package runs from, by number."""
    if not TUTORIALS.is_dir():
        raise RunError(f"no tutorials folder at {TUTORIALS}: the tutorials come with the source "
                       "repository; run this from a checkout (pip install -e .)")
    scripts = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
    if names:
        unknown = set(names) - {script.name[:2] for script in scripts}
        if unknown:
            raise RunError(f"no tutorial numbered {', '.join(sorted(unknown))} in {TUTORIALS}")
        scripts = [script for script in scripts if script.name[:2] in names]
    return scripts


def tutorials_command(args) -> int:
    """Run each tutorial in its own Python process; report the time of each and any failure."""
    failed = []
    for script in tutorial_scripts(args.names):
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        command += ["--out", args.out] if args.out else []
        start = time.perf_counter()
        status = subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode
        print(f"{script.name:<32} {'ok' if status == 0 else f'FAILED ({status})':<12} "
              f"{time.perf_counter() - start:6.1f} s", flush=True)
        if status != 0:
            failed.append(script.name)
    if failed:
        raise RunError(f"{len(failed)} tutorial(s) failed: {', '.join(failed)}")
    return 0
