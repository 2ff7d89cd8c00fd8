"""The command line: ``minisnu train``, ``eval``, ``download``, ``tutorials``, and the in-memory
experiments ``pcm-train``, ``drift`` and ``robustness`` (:mod:`minisnu.experiments`).

Examples::

    minisnu train jsb --model snu --epochs 40 --data jsb-chorales-quarter.json
    minisnu train jsb --model snu --epochs 60 --resume     # continue the same run to epoch 60
    minisnu train mnist --model ssnu --dataset mnist5k --quick
    minisnu train ptb --model lstm --dropout 0.3 --data ~/data/ptb
    minisnu eval runs/jsb-snu-seed0                         # test metric of its best epoch
    minisnu download jsb
    minisnu tutorials --quick                             # run every tutorial, write figures/
    minisnu pcm-train --seeds 0 1 2                         # the 52,800-device network, in the loop
    minisnu drift --model ssnu                              # programmed, then scored up to a year later

Also ``python -m minisnu ...``. The options are in ``minisnu train TASK --help``;
each task's defaults are the paper's setup as far as it is known (see the
modules of :mod:`minisnu.tasks`). A run folder holds the checkpoint, the
metrics and the training curves (see :mod:`minisnu.training.trainer`).

Errors the user can fix (a missing data file, a bad option, an existing run)
are printed as one line, ``minisnu train: error: ...``, with exit status 1;
argparse reports malformed command lines with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .core.io import atomic_write
from .data import download_dataset
from .data.download import DATASETS
from .experiments import COMMANDS, get_experiment
from .tasks import COMMON_DEFAULTS, MODELS, TASKS, get_task, resolve_options
from .tasks.common import (
    OPTIMIZERS,
    SURROGATE_NAMES,
    layer_sizes,
    non_negative_float,
    positive_float,
    positive_int,
    probability_below_one,
    unit_interval,
)
from .training import trainer
from .training.trainer import BEST, CHECKPOINT, RunError

# What a user's mistake raises (missing files, bad data, bad values): printed, not a traceback.
USER_ERRORS = (RunError, OSError, ImportError, ValueError)


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted: the last finished epoch is saved; continue with --resume",
              file=sys.stderr)
        return 130
    except USER_ERRORS as err:
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
    add_eval_command(commands)
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
        # The task module's notes (setup, defaults, where the data is found) are its help.
        parser = tasks.add_parser(name, help=task.SUMMARY, description=task.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        add_common_arguments(parser, task)
        task.add_arguments(parser.add_argument_group(f"{name} options"))
    train.set_defaults(handler=train_command)


def add_common_arguments(parser, task) -> None:
    """The options of every task; the help shows the task's defaults.

    argparse's own defaults stay None, so that the options given on the command
    line can be told from the defaults (a resumed run refuses to change them).
    """
    d = {**COMMON_DEFAULTS, **task.DEFAULTS}
    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=MODELS,
                       help="snu (spiking SNUs), ssnu (soft SNUs) or a baseline (default snu)")
    model.add_argument("--hidden", type=layer_sizes, metavar="SIZES",
                       help="hidden layer sizes, e.g. 150 or 256,256 "
                            f"(default {model_defaults_text(task, 'hidden')})")
    model.add_argument("--decay", type=unit_interval,
                       help=f"SNU decay l in [0, 1] (default {d['decay']})")
    model.add_argument("--surrogate", choices=SURROGATE_NAMES,
                       help=f"pseudo-derivative of the spike, snu only (default {d['surrogate']})")
    model.add_argument("--init-gain", type=positive_float, metavar="G",
                       help="multiply the SNU layers' initial Glorot-uniform weights by G "
                            f"(default {model_defaults_text(task, 'init_gain')})")
    model.add_argument("--train-decay", action="store_true", default=None,
                       help="learn each SNU's decay (kept in [0, 1]); SNU models only")
    model.add_argument("--recurrent", action="store_true", default=None,
                       help="recurrent SNU layers: every SNU layer (the output SNU of jsb and "
                            "mnist too) also feeds back its last output through weights H; "
                            "SNU models only")
    model.add_argument("--dropout", type=probability_below_one, metavar="P",
                       help=f"dropout after every hidden layer (default {model_defaults_text(task, 'dropout')})")
    train = parser.add_argument_group("training")
    train.add_argument("--optimizer", choices=OPTIMIZERS, help=f"the optimizer (default {model_defaults_text(task, 'optimizer')})")
    train.add_argument("--lr", type=positive_float, help=f"learning rate (default {model_defaults_text(task, 'lr')})")
    train.add_argument("--epochs", type=positive_int,
                       help=f"train until this epoch; with --resume, a new target (default {d['epochs']})")
    train.add_argument("--batch-size", type=positive_int,
                       help=f"examples (chorales, images, text columns) per batch (default {d['batch_size']})")
    train.add_argument("--seed", type=int, help=f"seed of all randomness (default {d['seed']})")
    train.add_argument("--lr-decay", type=positive_float, metavar="GAMMA",
                       help=f"multiply the learning rate by GAMMA after every epoch (default {d['lr_decay']})")
    train.add_argument("--weight-decay", type=non_negative_float, metavar="LAMBDA",
                       help=f"weight decay (AdamW's decoupled one for adam; default {d['weight_decay']})")
    train.add_argument("--clip", type=positive_float, metavar="NORM",
                       help="clip the gradients' global norm (default "
                            f"{model_defaults_text(task, 'clip').replace('None', 'no clipping')})")
    run = parser.add_argument_group("data and run folder")
    run.add_argument("--data", metavar="PATH",
                     help="data file or folder (default: $MINISNU_DATA, see the notes above)")
    run.add_argument("--out", metavar="DIR",
                     help=f"run folder (default runs/{task.NAME}-MODEL-seedN)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in the run folder from its last finished epoch")
    run.add_argument("--limit", type=positive_int, metavar="N",
                     help="use only the first N examples of each split: chorales, images or "
                          "BPTT windows (smoke runs)")
    run.add_argument("--quick", action="store_true", help=f"--limit {task.QUICK_LIMIT}")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def model_defaults_text(task, name: str) -> str:
    """An option's default as help text: ``"150"``, or ``"2.0 for snu; 1.0 for ssnu, rnn, lstm,
    gru"`` when it depends on the model."""
    fixed = {**COMMON_DEFAULTS, **task.DEFAULTS}[name]
    if fixed is not None:
        return str(fixed)
    models_of = {}                                  # default text -> the models that have it
    for model in MODELS:
        models_of.setdefault(_as_text(task.model_defaults(model).get(name)), []).append(model)
    if len(models_of) == 1:
        return next(iter(models_of))
    return "; ".join(f"{text} for {', '.join(models)}" for text, models in models_of.items())


def _as_text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def add_eval_command(commands) -> None:
    parser = commands.add_parser(
        "eval", help="evaluate a trained run or checkpoint",
        description="Load a checkpoint (a run folder means its best.npz) with the task, options "
                    "and data source it records; print the split's metrics and write them to "
                    "eval-SPLIT.json beside the checkpoint.")
    parser.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    parser.add_argument("--split", choices=("train", "valid", "test"), default="test",
                        help="(default test)")
    parser.add_argument("--data", metavar="PATH", help="read the data from here instead")
    parser.set_defaults(handler=eval_command)


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
        "tutorials", help="run the tutorials: regenerate every figure",
        description="Run every tutorial script (tutorials/NN_*.py of a source checkout) in turn; "
                    "each writes its figures to figures/ (or --out).")
    parser.add_argument("names", nargs="*", metavar="NN",
                        help="only these tutorials, by number (e.g. 01 07); default all")
    parser.add_argument("--quick", action="store_true", help="each tutorial's quick mode (seconds)")
    parser.add_argument("--out", metavar="DIR", help="write the figures here instead of figures/")
    parser.set_defaults(handler=tutorials_command)


def add_experiment_command(commands, command: str) -> None:
    """``minisnu pcm-train``, ``drift``, ``robustness``: the module's own options and ``run``."""
    experiment = get_experiment(command)
    parser = commands.add_parser(command, help=experiment.SUMMARY, description=experiment.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    experiment.add_arguments(parser)
    parser.set_defaults(handler=experiment.run)


# ---------------------------------------------------------------------------
# train


def train_command(args) -> int:
    task = get_task(args.task)
    given = given_options(args, task)
    folder = Path(args.out) if args.out else default_folder(task, given)
    run = resume(task, folder, given, args.data) if args.resume else start(task, folder, given, args.data)
    print(f"{task.NAME}: --model {run.options['model']}, {run.net.n_params:,} parameters; "
          f"data: {task.describe_data(run.source, run.data)}")
    print(run.net)
    print(f"run folder: {folder}" + (f" (resuming after epoch {run.epoch})" if run.epoch else ""),
          flush=True)
    if run.epoch >= run.options["epochs"]:
        print(f"the run has trained {run.epoch} epochs already; ask for more with --epochs")
    trainer.fit(run, progress=not args.no_progress and sys.stderr.isatty())
    print(trainer.describe_best(run))
    return 0


def given_options(args, task) -> dict:
    """The options set on the command line (--quick becomes its --limit)."""
    names = {**COMMON_DEFAULTS, **task.DEFAULTS}
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.quick and "limit" not in given:
        given["limit"] = task.QUICK_LIMIT
    return given


def default_folder(task, given: dict) -> Path:
    model = given.get("model", COMMON_DEFAULTS["model"])
    seed = given.get("seed", COMMON_DEFAULTS["seed"])
    return Path("runs") / f"{task.NAME}-{model}-seed{seed}"


def start(task, folder: Path, given: dict, data_path) -> trainer.Run:
    """A new run in ``folder``, which must not hold one already."""
    if (folder / CHECKPOINT).exists():
        raise RunError(f"{folder} already holds a run: continue it with --resume, or choose "
                       "another --out")
    options = resolve_options(task, given)
    source = task.locate_data(options, data_path)
    return trainer.new_run(task, options, folder, task.load_data(source, options), source)


def resume(task, folder: Path, given: dict, data_path) -> trainer.Run:
    """The run in ``folder``, with its own options (only --epochs may change) and data."""
    if not (folder / CHECKPOINT).is_file():
        raise RunError(f"nothing to resume: no {CHECKPOINT} in {folder} (train without --resume "
                       "to start a run, or give its folder with --out)")
    meta = trainer.read_run_metadata(folder / CHECKPOINT)
    if meta["task"] != task.NAME:
        raise RunError(f"{folder} holds a {meta['task']} run, not {task.NAME}")
    options = resume_options(meta["options"], given)
    source = meta["data"] if data_path is None else task.locate_data(options, data_path)
    return trainer.resume_run(task, folder, options, task.load_data(source, options), source)


def resume_options(stored: dict, given: dict) -> dict:
    """The stored options with a new ``epochs``; RunError if other given options differ."""
    changed = [f"--{name.replace('_', '-')} {given[name]} (the run has {stored.get(name)})"
               for name in given if name != "epochs" and given[name] != stored.get(name)]
    if changed:
        raise RunError("a resumed run keeps its options, but these differ: " + "; ".join(changed))
    return {**stored, "epochs": given.get("epochs", stored["epochs"])}


# ---------------------------------------------------------------------------
# eval and download


def eval_command(args) -> int:
    path = checkpoint_path(Path(args.checkpoint))
    meta = trainer.read_run_metadata(path)
    task, options = get_task(meta["task"]), meta["options"]
    source = meta["data"] if args.data is None else task.locate_data(options, args.data)
    data = task.load_data(source, options)
    net = trainer.restore_network(task, options, data, path, np.random.default_rng(options["seed"]))
    metrics = trainer.evaluate(task, net, data, args.split, options)
    print(f"{args.split} {task.METRIC} {metrics[task.METRIC]:.4f}  loss {metrics['loss']:.4f}  "
          f"({path}, epoch {meta['epoch']})")
    result = {"checkpoint": str(path), "epoch": meta["epoch"], "task": task.NAME,
              "split": args.split, **metrics}
    content = json.dumps(trainer.finite_or_none(result), indent=1) + "\n"
    atomic_write(path.parent / f"eval-{args.split}.json", lambda f: f.write(content.encode()))
    return 0


def checkpoint_path(path: Path) -> Path:
    """A checkpoint file as given, or a run folder's best.npz (else its checkpoint.npz)."""
    if not path.is_dir():
        return path
    for name in (BEST, CHECKPOINT):
        if (path / name).is_file():
            return path / name
    raise RunError(f"{path} holds no {BEST} or {CHECKPOINT}: not a run folder of `minisnu train`")


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
