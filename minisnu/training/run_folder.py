"""A run of ``minisnu train`` and the folder that keeps it.

A *run* trains one model on one task and lives in one folder::

    checkpoint.npz       the network after the last finished epoch; its
                         JSON metadata holds everything needed to resume
                         (options, history, random state, ...)
    optimizer-NNNN.npz   the optimizer's arrays (Adam's moments) after
                         epoch NNNN
    run.lock             held while a run trains here (a second run into
                         the folder is refused)
    best.npz             the network at the epoch with the best
                         validation metric
    metrics.csv          one row per epoch: loss and metric on
    metrics.json         train/valid (and test when the validation metric
                         improved), wall time
    curves.png           loss and metric against epoch (drawn by the
                         command line with minisnu.viz after every epoch;
                         this module draws nothing)

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
(``Sequential.load_weights``); then the generator's state is set to the saved one.

Evaluation draws its randomness (MNIST's spike trains) from a fresh generator
seeded by (seed, split) instead, so it neither disturbs the training stream
nor changes from epoch to epoch, and ``minisnu eval`` reproduces it exactly.
Carried states (the language model's) are reset at the start of every pass.

The BLAS library (NumPy's matrix products) splits its sums among its threads,
and a different number of threads adds in a different order: the last bits of
the weights then differ, and over epochs they grow apart. A run records its
BLAS thread count and trains its resumed epochs with the same count
(threadpoolctl); on another machine, another BLAS library or another CPU's
vector instructions the numbers differ in the same way.

What a run was trained on is recorded too: the ``source`` a task's
``locate_data`` returns holds the data's fingerprint (the size and SHA-256 of
each file, or the version of the package that brought the data; see
:mod:`minisnu.data.fingerprint`); the command line refuses to resume a run on
other data.

Crash safety
------------
Every file is written to a temporary name and renamed into place
(:mod:`minisnu.core.io`), and the files of one epoch are written in an order that
keeps the folder consistent at every instant: the optimizer's arrays go to a
*new* file first, then ``checkpoint.npz``, which names that file, replaces the
old checkpoint (the commit), and only then is the previous optimizer file
deleted. A crash at any point leaves a checkpoint whose optimizer file exists.

A run deletes only files it wrote: the optimizer file of its previous epoch
(the checkpoint names the file it replaces, so a crash between the commit and
the deletion is finished by the next run), and the temporary files that an
interrupted write of one of its own files left behind. A new run refuses a
folder that holds anything else than a run's files.

One run at a time: :meth:`RunFolder.lock` holds an operating-system lock on
``run.lock`` (the filelock package) while a run trains, and a second run into
the same folder is refused at once. The operating system releases the lock
when the process ends, however it ends, so a killed run never blocks the next.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ..core.blas import blas_threads
from ..core.errors import CheckpointError, OptionError, RunError
from ..core.folder_lock import folder_lock
from ..core.io import atomic_write, save_npz_atomic
from ..layers.sequential import Sequential, read_arrays
from . import loop, optim

RUN_FORMAT = "minisnu.run"  # metadata["format"] of a training checkpoint
RUN_VERSION = 1
EVAL_STREAMS = {"train": 1, "valid": 2, "test": 3}  # evaluation generator: (seed, stream)
OPTIMIZER_FILE = re.compile(r"optimizer-\d{4,}\.npz")
TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")  # minisnu.core.io.atomic_write's names


# ---------------------------------------------------------------------------
# the folder


class RunFolder:
    """The files of one run, named here and nowhere else.

    Everything that reads or writes a run's folder goes through this class.
    """

    CHECKPOINT = "checkpoint.npz"
    BEST = "best.npz"
    METRICS_CSV = "metrics.csv"
    METRICS_JSON = "metrics.json"
    CURVES = "curves.png"
    LOCK = "run.lock"
    EVALUATIONS = re.compile(r"eval-(train|valid|test)\.json")  # written by `minisnu eval`

    def __init__(self, path):
        self.path = Path(path)
        self.optimizer_in_use: str | None = None  # the optimizer file the last checkpoint names

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

    def saved_epoch(self) -> int | None:
        """The epoch of the checkpoint on disk; None if there is none (or it cannot be read).

        Read from the file, not from memory: what an interrupted command says
        is saved is then what is saved.
        """
        try:
            return read_metadata(self.checkpoint)["epoch"]
        except Exception:  # no checkpoint, or none worth resuming from: nothing is saved
            return None

    # -- one run at a time, and only its own files ----------------------------------------

    @contextlib.contextmanager
    def lock(self):
        """Hold the folder's lock (``run.lock``, :mod:`minisnu.core.folder_lock`) for the ``with``
        block; RunError at once if another run holds it."""
        busy = (f"{self.path} is in use by another run (it holds {self.LOCK}); wait for it to finish, "
                "or choose another --out")
        with folder_lock(self.path, self.LOCK, busy):
            yield self

    def is_own_file(self, name: str) -> bool:
        """Whether ``name`` is a file a run (or `minisnu eval`) writes in its folder."""
        fixed = (self.CHECKPOINT, self.BEST, self.METRICS_CSV, self.METRICS_JSON, self.CURVES, self.LOCK)
        temporary = TEMPORARY.fullmatch(name)
        if temporary and temporary["name"] != self.LOCK:
            return self.is_own_file(temporary["name"])
        return (name in fixed or OPTIMIZER_FILE.fullmatch(name) is not None
                or self.EVALUATIONS.fullmatch(name) is not None)

    def check_new(self) -> None:
        """RunError unless a new run may start here: no run saved, nothing but a run's files."""
        if self.holds_run():
            raise RunError(f"{self.path} already holds a run: continue it with --resume, or choose "
                           "another --out")
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a folder: choose another --out")
        if self.path.is_dir():
            foreign = sorted(entry.name for entry in self.path.iterdir() if not self.is_own_file(entry.name))
            if foreign:
                raise RunError(f"{self.path} is not empty and is not a minisnu run folder (it holds "
                               f"{foreign[0]}); choose another --out")

    def remove_leftovers(self, meta: dict | None = None) -> None:
        """Delete what an interrupted run of this folder left: the temporary files of its own
        files (an atomic write cut short), and the optimizer file that the checkpoint ``meta``
        says it replaced, if the deletion did not happen. Call it while holding the lock."""
        for entry in self.path.iterdir():
            temporary = TEMPORARY.fullmatch(entry.name)
            if (temporary and temporary["name"] != self.LOCK
                    and not self.EVALUATIONS.fullmatch(temporary["name"])  # an eval's, not the run's
                    and self.is_own_file(temporary["name"])):
                delete(entry)
        replaced = meta["optimizer"].get("replaces") if meta is not None else None
        if replaced is not None and replaced != meta["optimizer"]["file"]:
            delete(self.path / replaced)

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
        entry is filled in here, with the optimizer's scalars, the name of the
        file of its arrays and the name of the file it replaces.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        arrays, scalars = split_state(optimizer_state)
        optimizer_file = self.optimizer_file(epoch)
        previous = self.optimizer_in_use
        save_npz_atomic(self.path / optimizer_file, arrays)  # 1. a new file
        meta = {**metadata, "optimizer": {"file": optimizer_file, "scalars": scalars, "replaces": previous}}
        if improved:  # best.npz is for evaluation: no optimizer, no random state
            net.save(self.best, metadata={**meta, "optimizer": None, "rng_state": None})
        net.save(self.checkpoint, metadata=meta)  # 2. the commit
        self.optimizer_in_use = optimizer_file
        if previous is not None and previous != optimizer_file:  # 3. the previous epoch's file
            delete(self.path / previous)

    def load_optimizer_state(self, saved: dict) -> dict:
        """The ``state_dict()`` saved by :meth:`save_epoch`: JSON scalars plus .npz arrays."""
        path = self.path / saved["file"]
        if not path.is_file():
            raise RunError(f"the checkpoint in {self.path} names the optimizer file {saved['file']}, "
                           "which is missing")
        return {**saved["scalars"], **read_arrays(path)}

    def write_metrics(self, history: list, summary: dict) -> None:
        """Rewrite metrics.csv (one row per epoch of ``history``) and metrics.json (``summary``)."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)  # None is written as an empty cell
        atomic_write(self.path / self.METRICS_CSV, lambda f: f.write(text.getvalue().encode()))
        write_json(self.metrics_json, summary)


def delete(path: Path) -> None:
    """Remove a file the run wrote (gone already is fine)."""
    path.unlink(missing_ok=True)


def read_metadata(path, tasks: dict | None = None) -> dict:
    """The metadata of a training checkpoint (``checkpoint.npz`` or ``best.npz``), checked.

    Every field a run reads back is checked for its presence and type
    (:func:`check_metadata`); with ``tasks`` (name -> task module), the task
    must be one of them and the stored options must be values its options
    allow (an option the run predates gets its default). CheckpointError names
    the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}")
    meta = Sequential.load_metadata(path)
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{path} is a network file, not a checkpoint of `minisnu train`")
    if meta.get("version") != RUN_VERSION:
        raise CheckpointError(f"{path}: unsupported run format version {meta.get('version')!r}")
    check_metadata(path, meta)
    if tasks is not None:
        if meta["task"] not in tasks:
            raise CheckpointError(f"{path}: field 'task' is {meta['task']!r}, not one of "
                                  f"{', '.join(tasks)}")
        task = tasks[meta["task"]]
        meta["options"] = checked_options(path, task.OPTIONS, meta["options"])
        for record in [*meta["history"], *([meta["best"]] if meta["best"] else [])]:
            if not isinstance(record.get(f"valid_{task.METRIC}"), (int, float, type(None))):
                raise CheckpointError(f"{path}: field 'valid_{task.METRIC}' of an epoch's record is "
                                      "missing or not a number")
        if meta["best"] is not None and meta["best"][f"valid_{task.METRIC}"] is None:
            raise CheckpointError(f"{path}: field 'best' has no valid_{task.METRIC}")
    return meta


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _fingerprint_ok(data: dict) -> bool:
    """Whether a source's "fingerprint" (:mod:`minisnu.data.fingerprint`), if it has one, is well formed."""
    if "fingerprint" not in data:
        return True  # a run saved before fingerprints were recorded
    print_ = data["fingerprint"]
    return (isinstance(print_, dict) and isinstance(print_.get("files"), list)
            and isinstance(print_.get("packages"), list)
            and all(isinstance(f, dict) and isinstance(f.get("path"), str)
                    and isinstance(f.get("size"), (int, type(None))) and not isinstance(f.get("size"), bool)
                    and isinstance(f.get("sha256"), (str, type(None))) for f in print_["files"])
            and all(isinstance(p, dict) and isinstance(p.get("name"), str)
                    and isinstance(p.get("version"), (str, type(None))) for p in print_["packages"]))


# field -> (a check of its value, what it must be): the run's metadata as check_metadata reads it
FIELDS = {
    "task": (lambda v: isinstance(v, str), "a task name"),
    "options": (lambda v: isinstance(v, dict), "an object of options"),
    "data": (lambda v: isinstance(v, dict) and isinstance(v.get("kind"), str) and _fingerprint_ok(v),
             "an object with the data's kind and a well-formed fingerprint"),
    "epoch": (_natural, "a non-negative integer"),
    "history": (lambda v: isinstance(v, list) and all(isinstance(row, dict) and _natural(row.get("epoch"))
                                                      for row in v),
                "a list of epoch records, each with its epoch"),
    "best": (lambda v: v is None or (isinstance(v, dict) and _natural(v.get("epoch"))),
             "null or an epoch record"),
    "optimizer": (lambda v: v is None or isinstance(v, dict), "null or an object"),
    "rng_state": (lambda v: v is None or isinstance(v, dict), "null or a generator state"),
}


def check_metadata(path, meta: dict) -> None:
    """CheckpointError naming ``path`` and the field if a field of a run's metadata is missing
    or of the wrong type (a hand-edited or damaged file)."""
    for name, (check, what) in FIELDS.items():
        if name not in meta:
            raise CheckpointError(f"{path}: the run metadata lacks the field {name!r}")
        if not check(meta[name]):
            raise CheckpointError(f"{path}: field {name!r} must be {what}, got {_short(meta[name])}")
    if len(meta["history"]) != meta["epoch"]:
        raise CheckpointError(f"{path}: field 'epoch' is {meta['epoch']}, but 'history' holds "
                              f"{len(meta['history'])} epochs")
    if meta["optimizer"] is not None:
        check_optimizer_entry(path, meta["optimizer"])
    threads = meta.get("blas_threads")
    if threads is not None and not (_natural(threads) and threads >= 1):
        raise CheckpointError(f"{path}: field 'blas_threads' must be a positive integer or null, "
                              f"got {_short(threads)}")


def check_optimizer_entry(path, entry: dict) -> None:
    """The checkpoint's "optimizer" entry: the file of its arrays (``optimizer-NNNN.npz`` in the
    run folder, nothing else), the file it replaced (or null), its scalars (numbers)."""
    for key in ("file", "replaces"):
        name = entry.get(key)
        if key == "replaces" and name is None:  # the first epoch replaced nothing
            continue
        if not (isinstance(name, str) and OPTIMIZER_FILE.fullmatch(name)):
            raise CheckpointError(f"{path}: field 'optimizer.{key}' must name an optimizer-NNNN.npz file "
                                  f"of the run folder, got {_short(name)}")
    scalars = entry.get("scalars")
    if not isinstance(scalars, dict):
        raise CheckpointError(f"{path}: field 'optimizer.scalars' must be an object, got {_short(scalars)}")
    for key, value in scalars.items():
        if not isinstance(value, (int, float, bool)) or (key == "steps" and not _natural(value)):
            what = "a non-negative integer" if key == "steps" else "a number"
            raise CheckpointError(f"{path}: field 'optimizer.scalars.{key}' must be {what}, "
                                  f"got {_short(value)}")


def checked_options(path, declared, stored: dict) -> dict:
    """The stored options of a run, each checked against its declaration (``declared``); an
    option the run predates (a later version's) gets its default. CheckpointError otherwise."""
    model = stored.get("model")
    checked = {}
    for option in declared:
        if not option.run:
            continue
        if option.name not in stored:
            checked[option.name] = option.default_for(model if isinstance(model, str) else None)
            continue
        value = stored[option.name]
        try:
            none_allowed = option.none is not None or option.default_for(model) is None
            checked[option.name] = None if value is None and none_allowed else option.check(value)
        except OptionError as err:
            raise CheckpointError(f"{path}: field 'options.{option.name}' is wrong: {err}") from None
    unknown = sorted(stored.keys() - checked.keys())
    if unknown:
        raise CheckpointError(f"{path}: field 'options' has unknown options: {', '.join(unknown)}")
    return checked


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    blas_threads: int | None = None  # the BLAS thread count the run trains with (None: no BLAS found)

    def metrics(self) -> dict:
        """The content of metrics.json: what the run is, its best epoch, every epoch's row."""
        task = self.task
        return {"task": task.NAME, "model": self.options["model"], "metric": task.METRIC,
                "lower_is_better": task.LOWER_IS_BETTER, "options": self.options,
                "data": self.source, "blas_threads": self.blas_threads, "best": self.best,
                "epochs": self.history}


def as_folder(folder) -> RunFolder:
    return folder if isinstance(folder, RunFolder) else RunFolder(folder)


def start_run(task, options: dict, folder, data, source: dict) -> Run:
    """A fresh run: the model built from ``options["seed"]``, a new optimizer, epoch 0; it will
    train with the BLAS thread count of now."""
    rng = np.random.default_rng(options["seed"])
    net = task.build_model(options, data, rng)
    return Run(task, options, as_folder(folder), data, source, net, new_optimizer(options, net), rng,
               blas_threads=blas_threads())


def resume_run(task, folder, options: dict, data, source: dict) -> Run:
    """The run saved in ``folder`` (a RunFolder or a path), ready to train its next epoch.

    It trains with the BLAS thread count the run recorded (if it did).
    CheckpointError if a stored piece of the run's state is damaged.
    """
    folder = as_folder(folder)
    meta = read_metadata(folder.checkpoint)
    if meta["optimizer"] is None or meta["rng_state"] is None:
        raise CheckpointError(f"{folder.checkpoint}: fields 'optimizer' and 'rng_state' are null: "
                              "a best.npz, not a checkpoint to resume")
    rng = np.random.default_rng(options["seed"])
    # Build the model from the options (Dropout layers then share `rng`), load the weights.
    net = task.build_model(options, data, rng)
    net.load_weights(folder.checkpoint)
    optimizer = new_optimizer(options, net)
    scalars = meta["optimizer"]["scalars"]
    missing = [key for key in ("steps", *optimizer.hyper_parameters()) if key not in scalars]
    if missing:
        raise CheckpointError(f"{folder.checkpoint}: field 'optimizer.scalars' lacks {', '.join(missing)}")
    optimizer.load_state_dict(folder.load_optimizer_state(meta["optimizer"]),
                              source=str(folder.path / meta["optimizer"]["file"]))
    try:  # after building: overrides the init's draws
        rng.bit_generator.state = meta["rng_state"]
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{folder.checkpoint}: field 'rng_state' is not a state of the "
                              f"run's generator ({err})") from None
    folder.optimizer_in_use = meta["optimizer"]["file"]
    return Run(task, options, folder, data, source, net, optimizer, rng, epoch=meta["epoch"],
               history=meta["history"], best=meta["best"], blas_threads=meta.get("blas_threads"))


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
    # The run's own BLAS thread count: another one sums in another order (see the module notes).
    threads = (threadpool_limits(run.blas_threads, user_api="blas") if run.blas_threads is not None
               else contextlib.nullcontext())
    with threads:
        for epoch in range(run.epoch + 1, epochs + 1):
            row = run_epoch(run, epoch, progress=progress)
            if on_epoch is not None:
                on_epoch(run, row)
    return run


def run_epoch(run: Run, epoch: int, *, progress: bool = False) -> dict:
    """Train one epoch, evaluate, save everything; return the epoch's metrics row."""
    task, metric = run.task, run.task.METRIC
    start = time.perf_counter()
    plateaus = loop.plateau_epochs([row[f"valid_{metric}"] for row in run.history],  # (older runs: 0)
                                   lower_is_better=task.LOWER_IS_BETTER,
                                   threshold=run.options.get("plateau_threshold", 0.0))
    run.optimizer.lr = loop.learning_rate(run.options["lr"], run.options["lr_decay"], epoch,
                                          plateaus, run.options.get("lr_plateau"))  # (older runs: none)
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

    # No tqdm at all without a bar: even a disabled one makes a multiprocessing lock, which a
    # sweep's worker stopped mid-run would leave behind (Python warns of it at exit).
    bar = (tqdm(total=task.count_batches(run.data, "train", options),
                desc=f"epoch {epoch}/{options['epochs']}", unit="batch", leave=False)
           if progress else contextlib.nullcontext())
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
            "rng_state": run.rng.bit_generator.state, "blas_threads": run.blas_threads}


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
