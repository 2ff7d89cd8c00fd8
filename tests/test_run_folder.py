"""The run folder keeps one run, on one data set, and only its own files.

The three ways a user's work was lost, each impossible now: resuming on other
data (the data's fingerprint is recorded and checked), two runs into one folder
(a lock), a run deleting files it did not write. Also: the default folder names
of an option sweep, Ctrl-C at any moment, hand-edited or damaged run metadata,
and the BLAS thread count a run trains with.
"""

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import write_jsb

from minisnu import Sequential
from minisnu.cli import default_folder, main
from minisnu.core.errors import RunError
from minisnu.core.options import resolve
from minisnu.data import fingerprint
from minisnu.tasks import jsb, mnist, ptb
from minisnu.training import loop, run_folder
from minisnu.training.run_folder import RunFolder

SMALL = ["--hidden", "8", "--no-progress"]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """BLAS threads only spin on these tiny matrix products."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture
def chorales(tmp_path):
    """Two small JSB files, A and B, of other chorales."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_jsb(a, np.random.default_rng(0))
    write_jsb(b, np.random.default_rng(1))
    return a, b


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of one epoch on a small JSB file: (the file, the run folder); copy it to change it."""
    root = tmp_path_factory.mktemp("trained")
    write_jsb(root / "a.json", np.random.default_rng(0))
    assert train(root / "a.json", root / "run", "--epochs", "1") == 0
    return root / "a.json", root / "run"


@pytest.fixture
def run_copy(trained, tmp_path):
    """(the data file, a copy of the trained run folder) for the test to damage."""
    data, run = trained
    shutil.copytree(run, tmp_path / "run")
    return data, tmp_path / "run"


def train(data, out, *extra):
    return main(["train", "jsb", "--data", str(data), "--out", str(out), *SMALL, *extra])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def meta_of(out):
    return Sequential.load_metadata(out / "checkpoint.npz")


# ---------------------------------------------------------------------------
# 1. the data a run was trained on


def test_the_fingerprint_names_each_file_its_size_and_sha256(chorales):
    a, _ = chorales
    source = jsb.locate_data({}, a)

    assert source["fingerprint"] == {
        "files": [{"path": str(a.resolve()), "size": a.stat().st_size,
                   "sha256": hashlib.sha256(a.read_bytes()).hexdigest()}], "packages": []}
    assert fingerprint.difference(source["fingerprint"], fingerprint.refresh(source["fingerprint"])) is None


def test_package_data_is_fingerprinted_by_the_package_version():
    print_ = fingerprint.fingerprint(packages=["numpy", "no-such-package-here"])
    assert print_["packages"][0] == {"name": "numpy", "version": np.__version__}
    assert print_["packages"][1]["version"] is None
    older = {"files": [], "packages": [{"name": "numpy", "version": "0.1"}]}
    assert "numpy is version" in fingerprint.difference(older, fingerprint.refresh(older))
    assert mnist.locate_data(resolve(mnist.OPTIONS, {"dataset": "digits"}))["fingerprint"]["packages"] == [
        {"name": "scikit-learn", "version": fingerprint.package_version("scikit-learn")}]


def test_every_task_records_its_data_files(tmp_path):
    folder = tmp_path / "ptb"
    folder.mkdir()
    for name in ptb.FILES:
        (folder / name).write_text("a b c\n")
    files = ptb.locate_data({}, folder)["fingerprint"]["files"]
    assert [entry["path"] for entry in files] == [str((folder / name).resolve()) for name in ptb.FILES]
    idx = tmp_path / "mnist"
    idx.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte",
                 "notes.txt"):
        (idx / name).write_bytes(b"x")
    files = mnist.locate_data(resolve(mnist.OPTIONS, {"dataset": "mnist"}), idx)["fingerprint"]["files"]
    assert sorted(entry["path"].rsplit("/", 1)[1] for entry in files) == [
        "t10k-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_resume_refuses_other_data_saying_what_differs(chorales, tmp_path, capsys):
    a, b = chorales
    out = tmp_path / "run"
    assert train(a, out, "--epochs", "1") == 0
    capsys.readouterr()
    assert train(b, out, "--epochs", "2", "--resume") == 1  # another file
    err = one_line_error(capsys)
    assert "other data" in err and str(a.resolve()) in err and str(b.resolve()) in err
    a.write_text(a.read_text().replace("]]", "], [60]]", 1))  # the same file, changed
    assert train(a, out, "--epochs", "2", "--resume") == 1
    err = one_line_error(capsys)
    assert str(a.resolve()) in err and "bytes" in err
    # without --data: the run's own file, as it is now
    assert main(["train", "jsb", "--out", str(out), *SMALL, "--epochs", "2", "--resume"]) == 1
    assert "other data" in one_line_error(capsys)
    assert meta_of(out)["epoch"] == 1  # nothing was trained


def test_eval_refuses_changed_data_and_warns_about_other_data(chorales, tmp_path, capsys, caplog):
    a, b = chorales
    out = tmp_path / "run"
    assert train(a, out, "--epochs", "1") == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(b)]) == 0  # asked for: evaluated, with a warning
    assert "other data than the run was trained on" in caplog.text
    a.write_bytes(a.read_bytes() + b" ")
    assert main(["eval", str(out)]) == 1
    assert "changed since it was trained" in one_line_error(capsys)


# ---------------------------------------------------------------------------
# 2. one run at a time


def test_a_second_run_into_a_locked_folder_is_refused_at_once(chorales, tmp_path, capsys):
    a, _ = chorales
    out = tmp_path / "run"
    with RunFolder(out).lock():
        assert train(a, out, "--epochs", "1") == 1
        err = one_line_error(capsys)
        assert "in use by another run" in err and str(out) in err
    assert not RunFolder(out).holds_run()
    assert train(a, out, "--epochs", "1") == 0  # released: the run goes ahead
    with RunFolder(out).lock():
        assert train(a, out, "--epochs", "2", "--resume") == 1
        assert "in use by another run" in one_line_error(capsys)
    assert meta_of(out)["epoch"] == 1


def test_a_refused_folder_is_left_as_it_was(chorales, tmp_path, capsys):
    a, _ = chorales
    assert train(a, tmp_path / "typo", "--epochs", "2", "--resume") == 1
    assert "nothing to resume" in one_line_error(capsys)
    assert not (tmp_path / "typo").exists()
    (tmp_path / "mine" / "notes.txt").parent.mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    assert train(a, tmp_path / "mine", "--epochs", "1") == 1
    assert "not a minisnu run folder" in one_line_error(capsys)
    assert [path.name for path in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    assert train(a, tmp_path / "mine" / "notes.txt", "--epochs", "1") == 1
    assert "is a file, not a folder" in one_line_error(capsys)


def test_the_lock_of_a_killed_process_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from minisnu.training.run_folder import RunFolder
            with RunFolder({str(tmp_path)!r}).lock():
                print("locked", flush=True)
                time.sleep(60)
            """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match="in use by another run"), RunFolder(tmp_path).lock():
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
        holder.stdout.close()
    assert (tmp_path / RunFolder.LOCK).exists()  # the file stays; the lock on it went with the process
    with RunFolder(tmp_path).lock():
        pass


def test_default_folders_differ_when_an_option_is_swept():
    def folder(**given):
        return default_folder(jsb, resolve(jsb.OPTIONS, given)).as_posix()

    assert folder() == "runs/jsb-snu-seed0"
    assert folder(epochs=60) == "runs/jsb-snu-seed0"  # --resume --epochs 60 finds the run
    assert folder(model="lstm", seed=2) == "runs/jsb-lstm-seed2"
    assert folder(lr=0.02) == "runs/jsb-snu-seed0-lr0.02"
    assert folder(lr=0.03) == "runs/jsb-snu-seed0-lr0.03"
    assert folder(hidden=[64, 64], recurrent=True) == "runs/jsb-snu-seed0-hidden64,64-recurrent"
    assert folder(quick=True, limit=8) == "runs/jsb-snu-seed0-limit8"
    many = folder(lr=0.02, hidden=[64, 64, 64], clip=1.0, lr_decay=0.95, weight_decay=0.001)
    assert many.startswith("runs/jsb-snu-seed0-") and len(many.rsplit("-", 1)[1]) == 6
    assert many != folder(lr=0.03, hidden=[64, 64, 64], clip=1.0, lr_decay=0.95, weight_decay=0.001)


# ---------------------------------------------------------------------------
# 3. a run deletes only files it wrote


def test_a_new_run_refuses_a_folder_holding_other_files(chorales, tmp_path, capsys):
    a, _ = chorales
    out = tmp_path / "mine"
    out.mkdir()
    (out / "optimizer-final.npz").write_bytes(b"a user's file")
    assert train(a, out, "--epochs", "1") == 1
    err = one_line_error(capsys)
    assert "not a minisnu run folder" in err and "optimizer-final.npz" in err and str(out) in err
    assert (out / "optimizer-final.npz").read_bytes() == b"a user's file"


def test_a_run_deletes_only_the_optimizer_file_it_replaced(chorales, tmp_path):
    a, _ = chorales
    out = tmp_path / "run"
    assert train(a, out, "--epochs", "1") == 0
    (out / "optimizer-final.npz").write_bytes(b"a user's file")  # put in a run folder by hand
    (out / "optimizer-0000.npz").write_bytes(b"another")
    assert train(a, out, "--epochs", "3", "--resume") == 0
    assert sorted(path.name for path in out.glob("optimizer-*.npz")) == [
        "optimizer-0000.npz", "optimizer-0003.npz", "optimizer-final.npz"]
    assert meta_of(out)["optimizer"] == {**meta_of(out)["optimizer"], "file": "optimizer-0003.npz",
                                         "replaces": "optimizer-0002.npz"}


def test_the_next_run_finishes_what_an_interrupted_one_left(chorales, tmp_path):
    a, _ = chorales
    out = tmp_path / "run"
    assert train(a, out, "--epochs", "2") == 0
    # a crash after epoch 2's commit, before the deletion of epoch 1's optimizer file;
    # and cut-short atomic writes of the run's files, of an eval's, of a user's
    (out / "optimizer-0001.npz").write_bytes(b"left over")
    leftovers = [".checkpoint.npz.0123abcd.tmp", ".optimizer-0003.npz.0123abcd.tmp",
                 ".curves.png.0123abcd.tmp"]
    kept = [".eval-test.json.0123abcd.tmp", ".notes.txt.0123abcd.tmp", ".checkpoint.npz.tmp"]
    for name in leftovers + kept:
        (out / name).write_bytes(b"partial")
    assert train(a, out, "--epochs", "3", "--resume") == 0
    assert not (out / "optimizer-0001.npz").exists()
    assert sorted(path.name for path in out.glob(".*.tmp")) == sorted(kept)


def test_temporary_files_of_a_run_killed_before_its_first_epoch_are_cleaned(chorales, tmp_path):
    a, _ = chorales
    out = tmp_path / "run"
    out.mkdir()
    (out / ".optimizer-0001.npz.0123abcd.tmp").write_bytes(b"partial")
    (out / "optimizer-0001.npz").write_bytes(b"written before the first commit")
    assert train(a, out, "--epochs", "1") == 0
    assert not list(out.glob(".*.tmp"))
    assert sorted(path.name for path in out.iterdir()) == [
        "best.npz", "checkpoint.npz", "curves.png", "metrics.csv", "metrics.json", "optimizer-0001.npz",
        "run.lock"]


# ---------------------------------------------------------------------------
# Ctrl-C


@pytest.mark.parametrize("where, saved", [
    ("load_data", "nothing is saved yet"),
    ("step 1", "nothing is saved yet"),
    ("step 8", "epoch 1 is saved"),         # 6 chorales per epoch: the second epoch's
    ("save 1", "nothing is saved yet"),     # while the first checkpoint is being written
    ("save 2", "epoch 1 is saved"),
    ("show 2", "epoch 2 is saved"),         # after the commit, while the curves are drawn
])
def test_ctrl_c_says_truthfully_what_is_saved(chorales, tmp_path, capsys, monkeypatch, where, saved):
    a, _ = chorales
    out = tmp_path / "run"
    what, count = where.split() if " " in where else (where, "1")
    calls = {"n": 0}

    def interrupting(function):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == int(count):
                raise KeyboardInterrupt
            return function(*args, **kwargs)
        return wrapper

    targets = {"load_data": (jsb, "load_data"), "step": (loop, "train_step"),
               "save": (Sequential, "save"), "show": (sys.modules["minisnu.cli"], "show_epoch")}
    owner, name = targets[what]
    if what == "save":  # best.npz then checkpoint.npz: interrupt at the epoch's checkpoint
        real = Sequential.save

        def save(self, path, metadata=None):
            if str(path).endswith("checkpoint.npz"):
                calls["n"] += 1
                if calls["n"] == int(count):
                    raise KeyboardInterrupt
            return real(self, path, metadata)
        monkeypatch.setattr(Sequential, "save", save)
    else:
        monkeypatch.setattr(owner, name, interrupting(getattr(owner, name)))
    capsys.readouterr()
    assert train(a, out, "--epochs", "3") == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    assert saved in err
    if "epoch" in saved:
        assert "--resume" in err and str(out) in err
        monkeypatch.undo()
        assert train(a, out, "--epochs", "3", "--resume") == 0


def test_ctrl_c_while_parsing_is_not_a_traceback(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("minisnu.cli.build_parser", interrupted)
    assert main(["eval", "x"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


# ---------------------------------------------------------------------------
# damaged or hand-edited run metadata


def edit_checkpoint(out, change):
    """Rewrite checkpoint.npz with ``change(meta)`` applied to its metadata."""
    path = out / "checkpoint.npz"
    meta = Sequential.load_metadata(path)
    change(meta)
    Sequential.load(path).save(path, metadata=meta)


def set_path(meta, dotted, value):
    *parents, last = dotted.split(".")
    for key in parents:
        meta = meta[key]
    if value is KeyError:
        del meta[last]
    else:
        meta[last] = value


@pytest.mark.parametrize("field, value, named", [
    ("epoch", KeyError, "'epoch'"),
    ("epoch", -1, "'epoch'"),
    ("epoch", 1.5, "'epoch'"),
    ("epoch", "1", "'epoch'"),
    ("epoch", 2, "'epoch'"),                         # not the number of epochs in the history
    ("task", "cifar", "'task'"),
    ("task", 3, "'task'"),
    ("options.model", "transformer", "options.model"),
    ("options.batch_size", 1.5, "options.batch_size"),
    ("options.lr", "fast", "options.lr"),
    ("options.hidden", [8, -1], "options.hidden"),
    ("options.colour", "red", "colour"),
    ("history", {"epoch": 1}, "'history'"),
    ("best", [], "'best'"),
    ("data", "a.json", "'data'"),
    ("data.fingerprint", {"files": "a.json"}, "'data'"),
    ("optimizer", KeyError, "'optimizer'"),
    ("optimizer", [], "'optimizer'"),
    ("optimizer.file", "../../elsewhere.npz", "'optimizer.file'"),
    ("optimizer.file", KeyError, "'optimizer.file'"),
    ("optimizer.replaces", "../notes.txt", "'optimizer.replaces'"),
    ("optimizer.scalars", None, "'optimizer.scalars'"),
    ("optimizer.scalars.lr", "fast", "'optimizer.scalars.lr'"),
    ("optimizer.scalars.lr", KeyError, "'optimizer.scalars' lacks lr"),
    ("optimizer.scalars.steps", -3, "'optimizer.scalars.steps'"),
    ("optimizer.scalars.steps", 2.5, "'optimizer.scalars.steps'"),
    ("rng_state", "seed 0", "'rng_state'"),
    ("rng_state", {"bit_generator": "PCG64"}, "'rng_state'"),
    ("rng_state", None, "'rng_state'"),
    ("blas_threads", 0, "'blas_threads'"),
    ("version", 7, "version"),
])
def test_a_hand_edited_checkpoint_is_one_line_naming_the_file_and_the_field(run_copy, capsys, field, value,
                                                                            named):
    a, out = run_copy
    edit_checkpoint(out, lambda meta: set_path(meta, field, value))
    capsys.readouterr()
    assert train(a, out, "--epochs", "2", "--resume") == 1
    err = one_line_error(capsys)
    assert named in err and ("checkpoint.npz" in err or "optimizer-0001.npz" in err), err


@pytest.mark.parametrize("damage, named", [
    (lambda path: path.write_bytes(path.read_bytes()[:100]), "damaged or truncated"),
    (lambda path: path.write_bytes(b""), "not a minisnu checkpoint"),
    (lambda path: np.savez(path, **{"m.0.W": np.zeros(3, np.float32)}), "'m.0.W' has shape (3,)"),
    (lambda path: np.savez(path, **{"m.0.W": np.array([object()])}), "pickled Python objects"),
    (lambda path: np.savez(path, **{name: np.full_like(array, np.nan)
                                    for name, array in np.load(path).items()}), "NaN or infinite"),
])
def test_a_damaged_optimizer_file_is_one_line_naming_it(run_copy, capsys, damage, named):
    a, out = run_copy
    damage(out / "optimizer-0001.npz")
    capsys.readouterr()
    assert train(a, out, "--epochs", "2", "--resume") == 1
    err = one_line_error(capsys)
    assert "optimizer-0001.npz" in err and named in err
    assert "allow_pickle" not in err


def test_non_finite_weights_in_the_checkpoint_are_a_damaged_file(run_copy, capsys):
    a, out = run_copy
    path = out / "checkpoint.npz"
    net, meta = Sequential.load(path), Sequential.load_metadata(path)
    next(iter(net.params.values()))[0] = np.inf
    net.save(path, metadata=meta)
    assert train(a, out, "--epochs", "2", "--resume") == 1
    err = one_line_error(capsys)
    assert "checkpoint.npz" in err and "diverged" not in err and "learning rate" not in err


def test_eval_names_an_unknown_task_in_the_file(run_copy, capsys):
    _, out = run_copy
    best = out / "best.npz"
    meta = Sequential.load_metadata(best)
    Sequential.load(best).save(best, metadata={**meta, "task": "cifar"})
    capsys.readouterr()
    assert main(["eval", str(out)]) == 1
    err = one_line_error(capsys)
    assert "best.npz" in err and "'task'" in err and "cifar" in err


# ---------------------------------------------------------------------------
# the BLAS thread count


def test_a_run_records_its_blas_threads_and_resumes_with_them(chorales, tmp_path, monkeypatch):
    a, _ = chorales
    out = tmp_path / "run"
    assert train(a, out, "--epochs", "1") == 0
    assert meta_of(out)["blas_threads"] == run_folder.blas_threads() == 1
    assert json.loads((out / "metrics.json").read_text())["blas_threads"] == 1
    edit_checkpoint(out, lambda meta: meta.update(blas_threads=2))  # as if trained with 2 threads
    seen = []
    real = run_folder.run_epoch

    def run_epoch(run, epoch, **kwargs):
        seen.append(run_folder.blas_threads())
        return real(run, epoch, **kwargs)

    monkeypatch.setattr(run_folder, "run_epoch", run_epoch)
    assert train(a, out, "--epochs", "2", "--resume") == 0
    assert seen == [2] and run_folder.blas_threads() == 1  # for the resumed epochs only
    assert meta_of(out)["blas_threads"] == 2
