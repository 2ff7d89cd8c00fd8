"""The fault test: a run killed at any file operation, then resumed, ends as if never killed.

A short run (tiny JSB data, 8 hidden units, 3 epochs) is stopped at its k-th
file operation, for every k: each rename that commits an atomic write
(:mod:`minisnu.core.io`) and each deletion of the run folder. The stop is a
simulated kill, an exception no handler of minisnu catches, raised just before
the operation, after which the "dead" process does nothing more to the folder
(not even the clean-up of its temporary file, as after a real SIGKILL). Then
the run is resumed (or started again, if no epoch was saved), and its
weights, optimizer state, random state and metrics (without wall times) must
equal those of an uninterrupted run bit for bit, with no file left over.
One more case kills a real ``minisnu train`` process with SIGKILL.

Every k is several dozen runs: that part is marked ``faults`` (it runs in the
default ``pytest``, as CI's; ``-m "not faults"`` leaves it out while working).
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from helpers import write_jsb

import minisnu.core.io
from minisnu import Sequential
from minisnu.cli import main
from minisnu.training import run_folder

EPOCHS = 3
ARGS = ["--hidden", "8", "--no-progress", "--epochs", str(EPOCHS)]
FILES = ["best.npz", "checkpoint.npz", "curves.png", "metrics.csv", "metrics.json",
         f"optimizer-{EPOCHS:04d}.npz", "run.lock"]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """The runs here and the reference run use the same BLAS thread count (one)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


class Killed(BaseException):
    """A simulated SIGKILL: no ``except Exception`` (nor KeyboardInterrupt handler) stops it."""


class KillAt:
    """Counts the file operations of a run and kills it at the ``k``-th (0: never).

    Installed as the ``os`` of :mod:`minisnu.core.io` (its renames) and around
    :func:`minisnu.training.run_folder.delete` (the run's deletions). Once dead,
    every further file operation of the process raises again without acting.
    """

    def __init__(self, k: int):
        self.k, self.count, self.dead = k, 0, False

    def __getattr__(self, name):
        return getattr(os, name)

    def operation(self):
        if self.dead:
            raise Killed
        self.count += 1
        if self.count == self.k:
            self.dead = True
            raise Killed

    def replace(self, source, destination):
        self.operation()
        os.replace(source, destination)

    def unlink(self, path):  # atomic_write's clean-up of its temporary file: a dead process does none
        if self.dead:
            raise Killed
        os.unlink(path)


def train(data, out, *extra) -> int:
    return main(["train", "jsb", "--data", str(data), "--out", str(out), *ARGS, *extra])


def state(out) -> dict:
    """What must repeat bit for bit: every array of the run's files, the checkpoint's metadata
    and the metrics, without the wall times."""
    def arrays(name):
        with np.load(out / name, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files if key != "__meta__"}

    def timeless(rows):
        return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in rows]

    meta = Sequential.load_metadata(out / "checkpoint.npz")
    meta["history"] = timeless(meta["history"])
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["epochs"] = timeless(metrics["epochs"])
    csv_rows = (out / "metrics.csv").read_text().splitlines()
    seconds = [i for i, name in enumerate(csv_rows[0].split(",")) if name.endswith("seconds")]
    csv_rows = [[cell for i, cell in enumerate(row.split(",")) if i not in seconds] for row in csv_rows]
    return {"checkpoint": arrays("checkpoint.npz"), "best": arrays("best.npz"),
            "optimizer": arrays(f"optimizer-{EPOCHS:04d}.npz"), "meta": meta, "metrics": metrics,
            "csv": csv_rows, "files": sorted(path.name for path in out.iterdir())}


def assert_same(got: dict, want: dict, context: str) -> None:
    assert got["files"] == want["files"] == FILES, context
    for part in ("checkpoint", "best", "optimizer"):
        assert got[part].keys() == want[part].keys(), context
        for name in want[part]:
            assert got[part][name].dtype == want[part][name].dtype, (context, part, name)
            assert np.array_equal(got[part][name], want[part][name]), (context, part, name)
    for part in ("meta", "metrics", "csv"):
        assert got[part] == want[part], (context, part)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The data file, the uninterrupted run's state, and the number of its file operations."""
    root = tmp_path_factory.mktemp("reference")
    data = root / "jsb.json"
    write_jsb(data, np.random.default_rng(0))
    counter = KillAt(0)
    with pytest.MonkeyPatch.context() as patch:
        install(patch, counter)
        assert train(data, root / "run") == 0
    return data, state(root / "run"), counter.count


def install(patch, killer: KillAt) -> None:
    patch.setattr(minisnu.core.io, "os", killer)
    delete = run_folder.delete

    def counted_delete(path):
        killer.operation()
        delete(path)

    patch.setattr(run_folder, "delete", counted_delete)


def resume(data, out) -> None:
    """Go on after a kill: --resume if an epoch was saved, else start again."""
    extra = ["--resume"] if (out / "checkpoint.npz").exists() else []
    assert train(data, out, *extra) == 0


def test_the_reference_run_has_the_file_operations_of_its_epochs(reference):
    _, want, operations = reference
    # per epoch: optimizer, checkpoint, metrics.csv, metrics.json, curves; best.npz when it
    # improved; from epoch 2 on, the deletion of the previous optimizer file
    improved = sum(row["best"] for row in want["metrics"]["epochs"])
    assert operations == 5 * EPOCHS + improved + (EPOCHS - 1)


@pytest.mark.faults
def test_a_run_killed_at_any_file_operation_resumes_bit_for_bit(reference, tmp_path, capsys):
    data, want, operations = reference
    for k in range(1, operations + 1):
        out = tmp_path / f"killed-at-{k}"
        with pytest.MonkeyPatch.context() as patch:
            killer = KillAt(k)
            install(patch, killer)
            with pytest.raises(Killed):
                train(data, out)
        resume(data, out)
        assert_same(state(out), want, f"killed at file operation {k} of {operations}")
    capsys.readouterr()


@pytest.mark.faults
def test_a_run_killed_twice_resumes_bit_for_bit(reference, tmp_path):
    """Killed again while finishing what the first kill left (its first operations)."""
    data, want, operations = reference
    for first, second in ((2, 1), (operations // 2, 1), (operations // 2, 2), (operations - 1, 1)):
        out = tmp_path / f"killed-at-{first}-then-{second}"
        for k in (first, second):
            extra = ["--resume"] if (out / "checkpoint.npz").exists() else []
            with pytest.MonkeyPatch.context() as patch:
                install(patch, KillAt(k))
                with pytest.raises(Killed):
                    train(data, out, *extra)
        resume(data, out)
        assert_same(state(out), want, f"killed at operation {first}, then at {second}")


def test_a_real_sigkill_during_the_second_epoch(reference, tmp_path):
    data, want, _ = reference
    out = tmp_path / "run"
    command = [sys.executable, "-m", "minisnu", "train", "jsb", "--data", str(data), "--out", str(out),
               *ARGS]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=env)
    try:
        for line in process.stdout:
            if line.startswith("epoch   1"):  # the first epoch is saved: kill it in the second
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
    finally:
        process.kill()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    resume(data, out)
    assert_same(state(out), want, "killed by SIGKILL")
