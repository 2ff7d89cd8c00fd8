"""A run of ``minisnu train`` and the folder that keeps it.

A *run* trains one model on one task and lives in one folder::

    checkpoint.npz       the network after the last finished epoch; its JSON metadata holds
                         everything needed to resume (options, history, random state, ...)
    optimizer-NNNN.npz   the optimizer's arrays (Adam's moments) after epoch NNNN
    best.npz             the network at the epoch with the best validation metric
    metrics.csv          one row per epoch: loss and metric on train/valid (and test
    metrics.json         when the validation metric improved), wall time
    curves.png           loss and metric against epoch (drawn by the command line with
                         :mod:`minisnu.viz` after every epoch; this module draws nothing)

:class:`RunFolder` names these files, in one place, and reads and writes them.
:class:`Run` is what a run holds in memory, and :func:`fit` trains it epoch by
epoch: an epoch of the loop of :mod:`minisnu.training.loop`, the validation
score, the choice of the best epoch, the files. A task (a module of
:mod:`minisnu.tasks`) brings the data, the model and the loss.

Exact resumption
----------------
Training 2 epochs in one go and training 1 epoch, stopping, then resuming for
the second give the same weights and metrics, bit for bit. That needs every
piece of state that the second epoch reads to be saved after the first:

- the weights (``Sequential.save``: float32 arrays in an .npz, stored exactly);
- the optimizer: its step count and hyper-parameters (JSON) and its arrays
  (another .npz; never pickle);
- the random state. All randomness of training (shuffling, spike encoding,
  dropout) comes from *one* ``numpy.random.Generator``, seeded by ``--seed``;
  the layers draw their initial weights from it too, and Dropout layers hold
  the same object. Its state, ``rng.bit_generator.state``, is a JSON dict;
- the history and the best epoch so far (model selection continues).

A resumed run builds its network once, from its options (so that the Dropout
layers hold the run's generator), and copies the stored weights into it
(:func:`load_weights`); then the generator's state is set to the saved one.

Evaluation draws its randomness (MNIST's spike trains) from a fresh generator
seeded by (seed, split) instead, so it neither disturbs the training stream
nor changes from epoch to epoch, and ``minisnu eval`` reproduces it exactly.
Carried states (the language model's) are reset at the start of every pass.

Crash safety
------------
Every file is written to a temporary name and renamed into place
(:mod:`minisnu.core.io`), and the files of one epoch are written in an order that
keeps the folder consistent at every instant: the optimizer's arrays go to a
*new* file first, then ``checkpoint.npz``, which names that file, replaces the
old checkpoint (the commit), and only then is the previous optimizer file
deleted. A crash at any point leaves a checkpoint whose optimizer file exists.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.errors import RunError
from ..core.io import atomic_write, save_npz_atomic
from ..layers.sequential import META_KEY, Sequential
from . import loop, optim

RUN_FORMAT = "minisnu.run"  # metadata["format"] of a training checkpoint
RUN_VERSION = 1
EVAL_STREAMS = {"train": 1, "valid": 2, "test": 3}  # evaluation generator: (seed, stream)


# ---------------------------------------------------------------------------
# the folder


class RunFolder:
    """The files of one run, named here and nowhere else.

    Everything that reads or writes a run's folder goes through this class, so
    what a folder may hold besides (a lock that keeps two processes from
    training the same run, the fingerprint of the data a run was trained on)
    has one place to go.
    """

    CHECKPOINT = "checkpoint.npz"
    BEST = "best.npz"
    METRICS_CSV = "metrics.csv"
    METRICS_JSON = "metrics.json"
    CURVES = "curves.png"

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def checkpoint(self) -> Path:
        return self.path / self.CHECKPOINT

    @property
    def best(self) -> Path:
        return self.path / self.BEST

    @property
    def metrics_json(self) -> Path:
        return self.path / self.METRICS_JSON

    @property
    def curves(self) -> Path:
        return self.path / self.CURVES

    def holds_run(self) -> bool:
        """Whether a run was saved here (a checkpoint exists)."""
        return self.checkpoint.exists()

    def evaluation_checkpoint(self) -> Path:
        """The network to evaluate: best.npz, else checkpoint.npz; RunError if neither."""
        for path in (self.best, self.checkpoint):
            if path.is_file():
                return path
        raise RunError(f"{self.path} holds no {self.BEST} or {self.CHECKPOINT}: "
                       "not a run folder of `minisnu train`")

    @staticmethod
    def optimizer_file(epoch: int) -> str:
        return f"optimizer-{epoch:04d}.npz"

    def save_epoch(self, net, epoch: int, optimizer_state: dict, metadata: dict, improved: bool) -> None:
        """Write an epoch's files in the crash-safe order of the module notes.

        ``metadata`` is the checkpoint's JSON (the run's state); its "optimizer"
        entry is filled in here, with the optimizer's scalars and the name of
        the file of its arrays.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        arrays, scalars = split_state(optimizer_state)
        optimizer_file = self.optimizer_file(epoch)
        save_npz_atomic(self.path / optimizer_file, arrays)  # 1. a new file
        meta = {**metadata, "optimizer": {"file": optimizer_file, "scalars": scalars}}
        if improved:  # best.npz is for evaluation: no optimizer, no random state
            net.save(self.best, metadata={**meta, "optimizer": None, "rng_state": None})
        net.save(self.checkpoint, metadata=meta)  # 2. the commit
        for old in self.path.glob("optimizer-*.npz"):  # 3. the previous epoch's file
            if old.name != optimizer_file:
                old.unlink()

    def load_optimizer_state(self, saved: dict) -> dict:
        """The ``state_dict()`` saved by :meth:`save_epoch`: JSON scalars plus .npz arrays."""
        path = self.path / saved["file"]
        if not path.is_file():
            raise RunError(f"the checkpoint in {self.path} names the optimizer file {saved['file']}, "
                           "which is missing")
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return {**saved["scalars"], **arrays}

    def write_metrics(self, history: list, summary: dict) -> None:
        """Rewrite metrics.csv (one row per epoch of ``history``) and metrics.json (``summary``)."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)  # None is written as an empty cell
        atomic_write(self.path / self.METRICS_CSV, lambda f: f.write(text.getvalue().encode()))
        write_json(self.metrics_json, summary)


def read_metadata(path) -> dict:
    """The metadata of a training checkpoint (``checkpoint.npz`` or ``best.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}")
    meta = Sequential.load_metadata(path)
    if meta.get("format") != RUN_FORMAT:
        raise RunError(f"{path} is a network file, not a checkpoint of `minisnu train`")
    if meta.get("version") != RUN_VERSION:
        raise RunError(f"{path}: unsupported run format version {meta.get('version')!r}")
    return meta


def load_weights(net, path) -> None:
    """Copy the weights stored in ``path`` into ``net``, in place, after checking they fit.

    ``net`` is the model the run's options build; RunError if the stored
    network has other parameters (other names, shapes or dtypes).
    """
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files if name != META_KEY}
    params = net.params
    for name, param in params.items():
        if name not in arrays or arrays[name].shape != param.shape or arrays[name].dtype != param.dtype:
            raise RunError(f"{path}: the stored network does not match the model these options "
                           f"build (parameter {name!r}); was the data set changed?")
    if arrays.keys() != params.keys():
        raise RunError(f"{path}: the stored network has parameters the model lacks: "
                       f"{sorted(arrays.keys() - params.keys())}")
    for name, param in params.items():
        param[...] = arrays[name]


def split_state(state: dict) -> tuple[dict, dict]:
    """An optimizer ``state_dict()`` -> (its arrays, for an .npz; its scalars, for JSON)."""
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in state.items() if k not in arrays}
    return arrays, scalars


def write_json(path, content: dict) -> None:
    """``content`` as JSON at ``path``, atomically; NaN and infinities become null.

    Strict JSON has no NaN or Infinity (a diverged perplexity). The folder is
    made if it does not exist.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(finite_or_none(content), indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def finite_or_none(value):
    """``value`` with every NaN or infinite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# the run


@dataclass
class Run:
    """Everything a training run holds in memory."""

    task: object  # a module of minisnu.tasks
    options: dict  # JSON-able: the task, the model and the training settings
    folder: RunFolder
    data: object  # what task.load_data returned
    source: dict  # where the data came from, so that `minisnu eval` finds it again
    net: Sequential
    optimizer: optim.Optimizer
    rng: np.random.Generator
    epoch: int = 0  # epochs finished
    history: list = field(default_factory=list)  # one dict per epoch (the metrics rows)
    best: dict | None = None  # the epoch with the best validation metric, with its test metric

    def metrics(self) -> dict:
        """The content of metrics.json: what the run is, its best epoch, every epoch's row."""
        task = self.task
        return {"task": task.NAME, "model": self.options["model"], "metric": task.METRIC,
                "lower_is_better": task.LOWER_IS_BETTER, "options": self.options,
                "data": self.source, "best": self.best, "epochs": self.history}


def start_run(task, options: dict, folder, data, source: dict) -> Run:
    """A fresh run: the model built from ``options["seed"]``, a new optimizer, epoch 0."""
    rng = np.random.default_rng(options["seed"])
    net = task.build_model(options, data, rng)
    return Run(task, options, RunFolder(folder), data, source, net, new_optimizer(options, net), rng)


def resume_run(task, folder, options: dict, data, source: dict) -> Run:
    """The run saved in ``folder``, ready to train its next epoch."""
    folder = RunFolder(folder)
    meta = read_metadata(folder.checkpoint)
    rng = np.random.default_rng(options["seed"])
    # Build the model from the options (Dropout layers then share `rng`), load the weights.
    net = task.build_model(options, data, rng)
    load_weights(net, folder.checkpoint)
    optimizer = new_optimizer(options, net)
    optimizer.load_state_dict(folder.load_optimizer_state(meta["optimizer"]))
    rng.bit_generator.state = meta["rng_state"]  # after building: overrides the init's draws
    return Run(task, options, folder, data, source, net, optimizer, rng,
               epoch=meta["epoch"], history=meta["history"], best=meta["best"])


def new_optimizer(options: dict, net) -> optim.Optimizer:
    """The optimizer of a run's options ("optimizer", "lr", "weight_decay")."""
    return loop.make_optimizer(options["optimizer"], net, lr=options["lr"],
                               weight_decay=options["weight_decay"])


def fit(run: Run, *, progress: bool = False, on_epoch=None) -> Run:
    """Train from ``run.epoch + 1`` to ``run.options["epochs"]``, saving after every epoch.

    ``progress`` shows a progress bar (tqdm, on stderr) during each epoch;
    ``on_epoch(run, row)`` is called after each epoch's files are written (the
    command line prints the row and draws the curves).
    """
    epochs = run.options["epochs"]
    for epoch in range(run.epoch + 1, epochs + 1):
        row = run_epoch(run, epoch, progress=progress)
        if on_epoch is not None:
            on_epoch(run, row)
    return run


def run_epoch(run: Run, epoch: int, *, progress: bool = False) -> dict:
    """Train one epoch, evaluate, save everything; return the epoch's metrics row."""
    task, metric = run.task, run.task.METRIC
    start = time.perf_counter()
    run.optimizer.lr = loop.learning_rate(run.options["lr"], run.options["lr_decay"], epoch)
    train = train_task_epoch(run, epoch, progress)
    train_seconds = time.perf_counter() - start
    valid = evaluate_split(task, run.net, run.data, "valid", run.options)
    improved = is_better(task, valid[metric], run.best)
    # The test set is scored only for a new best model: its score is reported for
    # the epoch that validation selects, and never used to select anything.
    test = evaluate_split(task, run.net, run.data, "test", run.options) if improved else {}
    row = {"epoch": epoch}
    for split, values in (("train", train), ("valid", valid), ("test", test)):
        for name in ("loss", metric):
            row[f"{split}_{name}"] = values.get(name)
    row.update(best=improved, seconds=time.perf_counter() - start, train_seconds=train_seconds)
    run.epoch = epoch
    run.history.append(row)
    if improved:
        run.best = {key: row[key] for key in row if not key.endswith("seconds")}
    run.folder.save_epoch(run.net, epoch, run.optimizer.state_dict(), checkpoint_metadata(run), improved)
    run.folder.write_metrics(run.history, run.metrics())
    return row


def train_task_epoch(run: Run, epoch: int, progress: bool) -> dict:
    """One epoch of the loop on the task's training batches; the epoch's means."""
    task, options = run.task, run.options

    def loss(output, batch):
        return task.loss(output, batch, options)

    bar = tqdm(total=task.count_batches(run.data, "train", options), disable=not progress,
               desc=f"epoch {epoch}/{options['epochs']}", unit="batch", leave=False)
    with bar:
        def show(totals):
            bar.set_postfix_str(f"loss {task.summarize(totals)['loss']:.4f}", refresh=False)
            bar.update()

        batches = task.batches(run.data, "train", options, run.rng)
        try:
            totals = loop.train_epoch(run.net, run.optimizer, batches, loss, clip=options["clip"],
                                      on_batch=show if progress else None)
        except loop.Diverged as err:
            raise RunError(f"training diverged in epoch {epoch}, batch {err.batch} (loss {err.loss}); "
                           "try a smaller --lr or gradient clipping (--clip 1)") from None
    return task.summarize(totals)


def evaluate_split(task, net, data, split: str, options: dict) -> dict:
    """The mean loss and metric of ``net`` on one split (no training, dropout off)."""
    rng = np.random.default_rng([options["seed"], EVAL_STREAMS[split]])

    def score(output, batch):
        return task.loss(output, batch, options)[2]

    return task.summarize(loop.evaluate(net, task.batches(data, split, options, rng), score))


def checkpoint_metadata(run: Run) -> dict:
    """The run's state, for the checkpoint's JSON (the optimizer's entry is the folder's to fill)."""
    return {"format": RUN_FORMAT, "version": RUN_VERSION, "task": run.task.NAME,
            "options": run.options, "data": run.source, "epoch": run.epoch,
            "history": run.history, "best": run.best, "optimizer": None,
            "rng_state": run.rng.bit_generator.state}


def is_better(task, value: float, best: dict | None) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    previous = best[f"valid_{task.METRIC}"]
    return value < previous if task.LOWER_IS_BETTER else value > previous


def format_row(task, row: dict) -> str:
    """``epoch 3  train loss 0.1 nll 9.1 | valid ... | test ... *  12.3 s`` (* = new best)."""
    parts = [f"epoch {row['epoch']:3d}"]
    for split in ("train", "valid", "test"):
        if row[f"{split}_loss"] is not None:
            parts.append(f"{split} loss {row[f'{split}_loss']:.4f} "
                         f"{task.METRIC} {row[f'{split}_{task.METRIC}']:.4f}")
    text = parts[0] + "  " + " | ".join(parts[1:])
    return text + ("  *" if row["best"] else "") + f"  {row['seconds']:.1f} s"


def describe_best(run: Run) -> str:
    if run.best is None:
        return "no epoch with a finite validation metric yet"
    metric = run.task.METRIC
    return (f"best validation {metric} {run.best[f'valid_{metric}']:.4f} at epoch "
            f"{run.best['epoch']}: test {metric} {run.best[f'test_{metric}']:.4f}")
