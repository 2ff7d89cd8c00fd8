"""The training loop shared by the paper's three tasks, and the run folder it keeps.

A *run* trains one model on one task and lives in one folder::

    checkpoint.npz       the network after the last finished epoch; its JSON metadata holds
                         everything needed to resume (options, history, random state, ...)
    optimizer-NNNN.npz   the optimizer's arrays (Adam's moments) after epoch NNNN
    best.npz             the network at the epoch with the best validation metric
    metrics.csv          one row per epoch: loss and metric on train/valid (and test
    metrics.json         when the validation metric improved), wall time
    curves.png           loss and metric against epoch

A task (a module of :mod:`minisnu.tasks`) brings the data, the model and the
loss; this module does the rest: epochs, evaluation, model selection on the
validation set, checkpoints, metrics, the plot, a progress bar.

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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.io import atomic_write, save_npz_atomic
from ..layers.sequential import Sequential
from . import optim

RUN_FORMAT = "minisnu.run"  # metadata["format"] of a training checkpoint
RUN_VERSION = 1
CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"
OPTIMIZERS = {"adam": optim.Adam, "sgd": optim.SGD}
EVAL_STREAMS = {"train": 1, "valid": 2, "test": 3}  # evaluation generator: (seed, stream)


class RunError(Exception):
    """A problem the user can fix (options, data, run folder): the CLI prints the message alone."""


@dataclass
class Batch:
    """One minibatch: the network's input, the targets, and a mask of real steps (or None)."""

    x: np.ndarray
    target: np.ndarray
    mask: np.ndarray | None = None


@dataclass
class Run:
    """Everything a training run holds in memory."""

    task: object  # a module of minisnu.tasks
    options: dict  # JSON-able: the task, the model and the training settings
    folder: Path
    data: object  # what task.load_data returned
    source: dict  # where the data came from, so that `minisnu eval` finds it again
    net: Sequential
    optimizer: optim.Optimizer
    rng: np.random.Generator
    epoch: int = 0  # epochs finished
    history: list = field(default_factory=list)  # one dict per epoch (the metrics rows)
    best: dict | None = None  # the epoch with the best validation metric, with its test metric


# ---------------------------------------------------------------------------
# starting and resuming


def new_run(task, options: dict, folder, data, source: dict) -> Run:
    """A fresh run: the model built from ``options["seed"]``, a new optimizer, epoch 0."""
    rng = np.random.default_rng(options["seed"])
    net = task.build_model(options, data, rng)
    return Run(task, options, Path(folder), data, source, net, make_optimizer(options, net), rng)


def make_optimizer(options: dict, net) -> optim.Optimizer:
    """The run's optimizer; Adam's weight decay is decoupled (AdamW), SGD's is L2."""
    weight_decay = options["weight_decay"]
    if options["optimizer"] == "adam":
        return optim.Adam(net, lr=options["lr"], weight_decay=weight_decay, decoupled=weight_decay > 0)
    return optim.SGD(net, lr=options["lr"], weight_decay=weight_decay)


def learning_rate(options: dict, epoch: int) -> float:
    """The learning rate of an epoch (1, 2, ...): lr · γ^(epoch − 1), γ = ``--lr-decay``.

    A function of the epoch alone, so a resumed run continues the same schedule.
    """
    return options["lr"] * options["lr_decay"] ** (epoch - 1)


def resume_run(task, folder, options: dict, data, source: dict) -> Run:
    """The run saved in ``folder/checkpoint.npz``, ready to train its next epoch."""
    folder = Path(folder)
    meta = read_run_metadata(folder / CHECKPOINT)
    rng = np.random.default_rng(options["seed"])
    # Rebuild the model from the options (Dropout layers then share `rng`), load the weights.
    net = restore_network(task, options, data, folder / CHECKPOINT, rng)
    optimizer = make_optimizer(options, net)
    optimizer.load_state_dict(load_optimizer_state(folder, meta["optimizer"]))
    rng.bit_generator.state = meta["rng_state"]  # after building: overrides the init's draws
    return Run(task, options, folder, data, source, net, optimizer, rng,
               epoch=meta["epoch"], history=meta["history"], best=meta["best"])


def read_run_metadata(path) -> dict:
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


def restore_network(task, options: dict, data, path, rng) -> Sequential:
    """The task's model for ``options``, with the weights stored in ``path``."""
    net = task.build_model(options, data, rng)
    stored = Sequential.load(path).params
    params = net.params
    for name, param in params.items():
        if name not in stored or stored[name].shape != param.shape or stored[name].dtype != param.dtype:
            raise RunError(f"{path}: the stored network does not match the model these options "
                           f"build (parameter {name!r}); was the data set changed?")
    if stored.keys() != params.keys():
        raise RunError(f"{path}: the stored network has parameters the model lacks: "
                       f"{sorted(stored.keys() - params.keys())}")
    for name, param in params.items():
        param[...] = stored[name]
    return net


# ---------------------------------------------------------------------------
# the loop


def fit(run: Run, *, progress: bool = True, out=None) -> Run:
    """Train from ``run.epoch + 1`` to ``run.options["epochs"]``, saving after every epoch.

    Prints one line per epoch on ``out`` (default stdout); ``progress`` draws a
    progress bar on stderr during each epoch.
    """
    out = sys.stdout if out is None else out
    run.folder.mkdir(parents=True, exist_ok=True)
    epochs = run.options["epochs"]
    for epoch in range(run.epoch + 1, epochs + 1):
        row = run_epoch(run, epoch, label=f"epoch {epoch}/{epochs}", progress=progress)
        print(format_row(run.task, row), file=out, flush=True)
    return run


def run_epoch(run: Run, epoch: int, label: str, progress: bool) -> dict:
    """Train one epoch, evaluate, save everything; return the epoch's metrics row."""
    task, metric = run.task, run.task.METRIC
    start = time.perf_counter()
    run.optimizer.lr = learning_rate(run.options, epoch)
    train = train_epoch(run, label, progress)
    train_seconds = time.perf_counter() - start
    valid = evaluate(task, run.net, run.data, "valid", run.options)
    improved = is_better(task, valid[metric], run.best)
    # The test set is scored only for a new best model: its score is reported for
    # the epoch that validation selects, and never used to select anything.
    test = evaluate(task, run.net, run.data, "test", run.options) if improved else {}
    row = {"epoch": epoch}
    for split, values in (("train", train), ("valid", valid), ("test", test)):
        for name in ("loss", metric):
            row[f"{split}_{name}"] = values.get(name)
    row.update(best=improved, seconds=time.perf_counter() - start, train_seconds=train_seconds)
    run.epoch = epoch
    run.history.append(row)
    if improved:
        run.best = {key: row[key] for key in row if not key.endswith("seconds")}
    save_checkpoint(run, improved)
    write_metrics(run)
    plot_curves(run, run.folder / "curves.png")
    return row


def train_epoch(run: Run, label: str, progress: bool) -> dict:
    """One pass over the training set, one optimizer step per batch; the mean loss and metric."""
    task, net = run.task, run.net
    net.train()
    reset_states(net)
    totals: dict = {}
    bar = Progress(task.count_batches(run.data, "train", run.options), label, enabled=progress)
    for i, batch in enumerate(task.batches(run.data, "train", run.options, run.rng)):
        loss, batch_totals = train_step(run, batch)
        if not math.isfinite(loss):
            bar.close()
            raise RunError(f"training diverged in epoch {run.epoch + 1}, batch {i + 1} (loss {loss}); "
                           "try a smaller --lr or gradient clipping (--clip 1)")
        add_totals(totals, batch_totals)
        bar.update(task.summarize(totals)["loss"])
    bar.close()
    return task.summarize(totals)


def train_step(run: Run, batch: Batch) -> tuple[float, dict]:
    """Forward, loss, backward (hand-derived BPTT), optional clipping, update."""
    run.optimizer.zero_grad()
    output = run.net.forward(batch.x)
    loss, grad, totals = run.task.loss(output, batch, run.options)
    run.net.backward(grad)
    if run.options["clip"] is not None:
        optim.clip_grad_norm(run.net.grads, run.options["clip"])
    run.optimizer.step()
    return loss, totals


def evaluate(task, net, data, split: str, options: dict) -> dict:
    """The mean loss and metric of ``net`` on one split (no training, dropout off)."""
    net.eval()
    reset_states(net)
    rng = np.random.default_rng([options["seed"], EVAL_STREAMS[split]])
    totals: dict = {}
    for batch in task.batches(data, split, options, rng):
        _, _, batch_totals = task.loss(net.forward(batch.x), batch, options)
        add_totals(totals, batch_totals)
    reset_states(net)
    net.train()
    return task.summarize(totals)


def reset_states(net) -> None:
    """Start every stateful layer afresh (a no-op for the others)."""
    for layer in net.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()


def add_totals(totals: dict, new: dict) -> None:
    """Accumulate the sums a task's loss returns (loss × count, hits, count, ...)."""
    for key, value in new.items():
        totals[key] = totals.get(key, 0) + value


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


# ---------------------------------------------------------------------------
# checkpoints


def save_checkpoint(run: Run, improved: bool) -> None:
    """Write this epoch's files in the crash-safe order of the module notes."""
    arrays, scalars = split_state(run.optimizer.state_dict())
    optimizer_file = f"optimizer-{run.epoch:04d}.npz"
    save_npz_atomic(run.folder / optimizer_file, arrays)  # 1. a new file
    meta = run_metadata(run, {"file": optimizer_file, "scalars": scalars})
    if improved:  # best.npz is for evaluation: no optimizer, no random state
        run.net.save(run.folder / BEST, metadata={**meta, "optimizer": None, "rng_state": None})
    run.net.save(run.folder / CHECKPOINT, metadata=meta)  # 2. the commit
    for old in run.folder.glob("optimizer-*.npz"):  # 3. the previous epoch's file
        if old.name != optimizer_file:
            old.unlink()


def run_metadata(run: Run, optimizer: dict) -> dict:
    return {"format": RUN_FORMAT, "version": RUN_VERSION, "task": run.task.NAME,
            "options": run.options, "data": run.source, "epoch": run.epoch,
            "history": run.history, "best": run.best, "optimizer": optimizer,
            "rng_state": run.rng.bit_generator.state}


def split_state(state: dict) -> tuple[dict, dict]:
    """An optimizer ``state_dict()`` -> (its arrays, for an .npz; its scalars, for JSON)."""
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in state.items() if k not in arrays}
    return arrays, scalars


def load_optimizer_state(folder: Path, saved: dict) -> dict:
    """The ``state_dict()`` saved by :func:`save_checkpoint`: JSON scalars plus .npz arrays."""
    path = folder / saved["file"]
    if not path.is_file():
        raise RunError(f"the checkpoint in {folder} names the optimizer file {saved['file']}, "
                       "which is missing")
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return {**saved["scalars"], **arrays}


# ---------------------------------------------------------------------------
# metrics files and the plot


def write_metrics(run: Run) -> None:
    """Rewrite metrics.csv and metrics.json from the whole history (atomically)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(run.history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(run.history)  # None is written as an empty cell
    atomic_write(run.folder / "metrics.csv", lambda f: f.write(text.getvalue().encode()))
    summary = {"task": run.task.NAME, "model": run.options["model"], "metric": run.task.METRIC,
               "lower_is_better": run.task.LOWER_IS_BETTER, "options": run.options,
               "data": run.source, "best": run.best, "epochs": run.history}
    # Strict JSON has no NaN or Infinity (a diverged perplexity): write null instead.
    content = json.dumps(finite_or_none(summary), indent=1, allow_nan=False) + "\n"
    atomic_write(run.folder / "metrics.json", lambda f: f.write(content.encode()))


def finite_or_none(value):
    """``value`` with every NaN or infinite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    return value


def plot_curves(run: Run, path) -> None:
    """Loss and metric against epoch, train and valid, and the test score of the best epoch."""
    # Imported here: matplotlib is slow to import and only this function needs it.
    # A bare Figure (no pyplot) has no global state and needs no display.
    from matplotlib.figure import Figure

    metric = run.task.METRIC
    epochs = [row["epoch"] for row in run.history]
    fig = Figure(figsize=(9, 3.5))
    ax_loss, ax_metric = fig.subplots(1, 2)
    for split, style in (("train", "o-"), ("valid", "s-")):
        for ax, name in ((ax_loss, "loss"), (ax_metric, metric)):
            values = [_plottable(row[f"{split}_{name}"]) for row in run.history]
            ax.plot(epochs, values, style, markersize=3, label=split)
    if run.best is not None:
        ax_metric.plot([run.best["epoch"]], [run.best[f"test_{metric}"]], "*", markersize=10,
                       color="C3", label="test, at the best valid epoch")
    if metric == "perplexity":
        ax_metric.set_yscale("log")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_metric.set(xlabel="epoch", ylabel=run.task.METRIC_LABEL, title=run.task.METRIC_LABEL)
    for ax in (ax_loss, ax_metric):
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"{run.task.NAME}, {run.options['model']}, seed {run.options['seed']}")
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def _plottable(value) -> float:
    return value if value is not None and math.isfinite(value) else math.nan


# ---------------------------------------------------------------------------
# progress bar


class Progress:
    """A one-line progress bar, redrawn in place: ``epoch 3/40 [=====>    ] 120/229 loss 0.1234 4.1 s``.

    Parameters
    ----------
    total : number of steps (batches) expected.
    label : text in front of the bar.
    enabled : draw at all (the CLI passes False for --no-progress or when stderr
        is not a terminal, where carriage returns would litter a log file).
    stream : where to draw (default stderr, so that stdout stays clean for the
        one-line epoch summaries).
    """

    def __init__(self, total: int, label: str, *, enabled: bool = True, stream=None,
                 width: int = 30, interval: float = 0.1):
        self.total, self.label, self.enabled = max(int(total), 1), label, enabled
        self.stream = sys.stderr if stream is None else stream
        self.width, self.interval = width, interval
        self.done, self.start, self.last_draw = 0, time.perf_counter(), -math.inf

    def update(self, loss: float) -> None:
        """One more step done; ``loss`` is the running mean loss of the epoch."""
        self.done += 1
        now = time.perf_counter()
        # Redraw at most every `interval` seconds: drawing thousands of times costs time.
        if self.enabled and (now - self.last_draw >= self.interval or self.done == self.total):
            self.last_draw = now
            filled = self.width * min(self.done, self.total) // self.total
            bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} "
                              f"loss {loss:.4f} {now - self.start:.1f} s")
            self.stream.flush()

    def close(self) -> None:
        """Erase the bar (the epoch's summary line takes its place)."""
        if self.enabled and self.last_draw > -math.inf:
            self.stream.write("\r\033[K")  # carriage return, then clear to the end of the line
            self.stream.flush()
