"""Data files are checked whole when they are loaded: every bad file is one line naming it.

Each case is a small file written here. It is tried twice: through the loader
(a DataFormatError naming the file, the split or index, and what is wrong) and
through ``minisnu train`` (that same line on stderr, exit status 1, and no
epoch trained: the run folder holds no checkpoint and no metrics).
"""

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from minisnu import data
from minisnu.cli import main
from minisnu.data import jsb as jsb_data
from minisnu.tasks import jsb, mnist, ptb, resolve_options


def refused(capsys, tmp_path, task, path, *extra) -> str:
    """``minisnu train TASK --data PATH``: the one-line error it prints (after checking there is one
    line, the exit status is 1, and the run folder has no checkpoint or metrics)."""
    out = tmp_path / "run"
    status = main(["train", task, "--data", str(path), "--out", str(out), "--epochs", "1",
                   "--no-progress", *extra])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 1 and len(lines) == 1, captured.err
    assert lines[0].startswith("minisnu train: error: ")
    assert "Traceback" not in captured.err and "epoch" not in captured.out
    assert not (out / "checkpoint.npz").exists() and not (out / "metrics.json").exists()
    return lines[0]


def assert_names(message: str, path, *fragments) -> None:
    """One line, naming ``path`` and saying each of ``fragments``."""
    assert "\n" not in message and str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message


# ---------------------------------------------------------------------------
# JSB chorales


def chorale(n_steps: int) -> list:
    return [[60 + t % 12, 64] for t in range(n_steps)]


def jsb_file(tmp_path, **splits) -> Path:
    """A JSON file of 3/2/2 chorales of 4 steps, with ``splits`` in their place."""
    content = {"train": [chorale(4)] * 3, "valid": [chorale(4)] * 2, "test": [chorale(4)] * 2, **splits}
    path = tmp_path / "jsb.json"
    path.write_text(json.dumps(content))
    return path


def jsb_rolls(path):
    """What ``minisnu train jsb`` loads before its first epoch."""
    options = resolve_options(jsb, {})
    return jsb.load_data({"kind": "file", "path": str(path)}, options)


def test_valid_jsb_file_loads(tmp_path):
    rolls = jsb_rolls(jsb_file(tmp_path))
    assert [len(rolls[s]) for s in ("train", "valid", "test")] == [3, 2, 2]
    assert rolls["train"][0].shape == (4, 88)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_jsb_empty_split(tmp_path, capsys, split):
    path = jsb_file(tmp_path, **{split: []})
    with pytest.raises(data.DataFormatError) as err:
        jsb_rolls(path)
    assert_names(str(err.value), path, f"the {split} split holds no chorales")
    assert_names(refused(capsys, tmp_path, "jsb", path), path, f"the {split} split holds no chorales")


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_jsb_chorale_of_one_step(tmp_path, capsys, split):
    """Today's failure came mid-epoch (train) or after a whole epoch (valid, test)."""
    path = jsb_file(tmp_path, **{split: [chorale(4), chorale(1)]})
    with pytest.raises(data.DataFormatError) as err:
        jsb_rolls(path)
    assert_names(str(err.value), path, f"{split}[1]: a chorale of 1 time step", "at least 2")
    assert_names(refused(capsys, tmp_path, "jsb", path), path, f"{split}[1]")


@pytest.mark.parametrize("content", ["[1, 2]", '  [{"train": []}]', '"train"', "42"])
def test_jsb_json_that_is_not_an_object(tmp_path, capsys, content):
    """Read as JSON (not reported as an unreadable pickle), refused for its shape."""
    path = tmp_path / "list.json"
    path.write_text(content)
    for loader in (data.load_jsb, data.load_jsb_json):
        with pytest.raises(data.DataFormatError) as err:
            loader(path)
        assert_names(str(err.value), path, "expected a dict (a JSON object)", "at the top level")
        assert "pickle" not in str(err.value)
    assert_names(refused(capsys, tmp_path, "jsb", path), path, "at the top level")


@pytest.mark.parametrize("content, problem", [(b"", "the file is empty"),
                                              (b" \n\t\r\n ", "the file holds only whitespace")])
def test_jsb_empty_or_blank_file(tmp_path, capsys, content, problem):
    path = tmp_path / "blank.json"
    path.write_bytes(content)
    for loader in (data.load_jsb, data.load_jsb_json, data.load_jsb_pickle):
        with pytest.raises(data.DataFormatError) as err:
            loader(path)
        assert_names(str(err.value), path, problem)
    assert_names(refused(capsys, tmp_path, "jsb", path), path, problem)


def binunicode(text: str) -> bytes:
    return b"X" + struct.pack("<I", len(text)) + text.encode()


def deep_pickle(depth: int) -> bytes:
    """{"train": [[[...]]] nested ``depth`` lists deep, "valid": [], "test": []}, protocol 2, written
    by hand (pickle.dumps itself recurses, and cannot write it)."""
    nest = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST × depth, then each APPENDed to the one before
    return (b"\x80\x02}(" + binunicode("train") + nest + binunicode("valid") + b"]"
            + binunicode("test") + b"]" + b"u.")


def test_jsb_absurd_nesting(tmp_path, capsys):
    """Nesting far beyond Python's recursion limit: no RecursionError, a message naming the file."""
    depth = 200_000
    as_json = tmp_path / "deep.json"
    as_json.write_text('{"train": ' + "[" * depth + "]" * depth + ', "valid": [], "test": []}')
    with pytest.raises(data.DataFormatError) as err:
        data.load_jsb(as_json)
    assert_names(str(err.value), as_json, "nested too deeply")
    assert_names(refused(capsys, tmp_path, "jsb", as_json), as_json, "nested too deeply")

    as_pickle = tmp_path / "deep.pkl"
    as_pickle.write_bytes(deep_pickle(depth))
    with pytest.raises(data.DataFormatError) as err:
        data.load_jsb(as_pickle)
    assert_names(str(err.value), as_pickle, "train[0][0]: a list of 1 is not a MIDI note number")
    assert_names(refused(capsys, tmp_path, "jsb", as_pickle), as_pickle, "train[0][0]")


def test_jsb_pickle_that_expands_to_millions_of_steps(tmp_path, capsys):
    """8 kB naming one chorale of 2,000 steps 2,000 times: 4 million steps, refused at the cap,
    counted as they are built (the chorales past the cap are never copied)."""
    chorale_ = [[60, 64]] * 2000
    path = tmp_path / "bomb.pkl"
    path.write_bytes(pickle.dumps({"train": [chorale_] * 2000, "valid": [], "test": []}, protocol=2))
    assert path.stat().st_size < 20_000
    first_past_the_cap = jsb_data.MAX_STEPS // 2000  # chorales 0..499 hold exactly the cap
    assert_names(refused(capsys, tmp_path, "jsb", path), path,  # (about a second: the cap is built)
                 f"train[{first_past_the_cap}]: more than 1,000,000 time steps")


def test_jsb_notes_are_capped_while_built(tmp_path, monkeypatch):
    """One step naming a note list many times: the notes are counted before each step is copied."""
    monkeypatch.setattr(jsb_data, "MAX_NOTES", 1000)
    step = [60, 64, 67] * 100  # 300 notes, one list named in every step
    path = tmp_path / "notes.pkl"
    path.write_bytes(pickle.dumps({"train": [[step] * 10], "valid": [], "test": []}, protocol=2))
    with pytest.raises(data.DataFormatError) as err:
        data.load_jsb(path)
    assert_names(str(err.value), path, "train[0][3]: more than 1,000 notes")


def test_jsb_messages_stay_one_short_line(tmp_path):
    """Values from the file are shown short and on one line: a long or multi-line key or note
    is described, not printed."""
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"x" * 10_000: [], "a\nb": [], "train": [], "valid": []}))
    with pytest.raises(data.DataFormatError) as err:
        data.load_jsb(path)
    message = str(err.value)
    assert_names(message, path, "missing split(s) ['test']", "a str of 10,000", "'a\\nb'")
    assert len(message) < 300
    path.write_text(json.dumps({"train": [[["note " * 1000]]], "valid": [], "test": []}))
    with pytest.raises(data.DataFormatError, match=r"train\[0\]\[0\]: a str of 5,000 is not") as err:
        data.load_jsb(path)
    assert len(str(err.value)) < 300


def test_jsb_numbers_too_long_to_print(tmp_path, capsys):
    """Python reads and prints no integer of more than 4,300 digits (a ValueError of its own)."""
    as_json = tmp_path / "long.json"
    as_json.write_text('{"train": [[[' + "9" * 5000 + ']]], "valid": [], "test": []}')
    assert_names(refused(capsys, tmp_path, "jsb", as_json), as_json, "a number of more than 4,300 digits")
    as_pickle = tmp_path / "long.pkl"  # a pickle stores integers in binary: no limit on reading them
    as_pickle.write_bytes(pickle.dumps({"train": [[[10**6000]]], "valid": [], "test": []}, protocol=2))
    assert_names(refused(capsys, tmp_path, "jsb", as_pickle), as_pickle,
                 "train[0][0]: an integer of 19,932 bits is not a MIDI note")


# ---------------------------------------------------------------------------
# MNIST IDX files


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def mnist_folder(tmp_path, n_train=12, n_test=6, test_side=28, labels=None) -> Path:
    """Gzipped IDX files of random "digits" (labels: the training labels, if given)."""
    folder = tmp_path / "mnist"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n, side in (("train", n_train, 28), ("t10k", n_test, test_side)):
        images = rng.integers(0, 256, (n, side, side))
        given = labels if labels is not None and prefix == "train" else rng.integers(0, 10, n)
        for kind, array in (("images-idx3", images), ("labels-idx1", np.asarray(given))):
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(idx_bytes(array)))
    return folder


def mnist_images(folder):
    """What ``minisnu train mnist`` loads before its first epoch."""
    options = resolve_options(mnist, {})
    return mnist.load_data({"kind": "idx", "path": str(folder), "dataset": "mnist"}, options)


def test_valid_mnist_folder_loads(tmp_path):
    images = mnist_images(mnist_folder(tmp_path))
    assert {s: len(y) for s, (_, y) in images.splits.items()} == {"train": 10, "valid": 2, "test": 6}


def test_mnist_labels_outside_0_to_9(tmp_path, capsys):
    labels = np.array([0, 1, 2, 10, 4, 5, 6, 7, 8, 255, 0, 1])
    folder = mnist_folder(tmp_path, labels=labels)
    path = folder / "train-labels-idx1-ubyte.gz"
    with pytest.raises(data.DataFormatError) as err:
        data.load_mnist(folder, "train")
    assert_names(str(err.value), path, "label 3 is 10, not a class 0..9", "2 of 12 labels out of range")
    assert_names(refused(capsys, tmp_path, "mnist", folder), path, "label 3 is 10")


def test_mnist_test_images_of_another_size(tmp_path, capsys):
    folder = mnist_folder(tmp_path, test_side=14)
    path = folder / "t10k-images-idx3-ubyte.gz"
    with pytest.raises(data.DataFormatError) as err:
        mnist_images(folder)
    assert_names(str(err.value), path, "test images of 14×14 pixels", "train-images-idx3-ubyte.gz) are 28×28")
    assert_names(refused(capsys, tmp_path, "mnist", folder), path, "14×14")


@pytest.mark.parametrize("n_train", [0, 1, 5])
def test_mnist_too_few_images_to_split(tmp_path, capsys, n_train):
    """Today n // 6 = 0 validation images made ``slice(None, -0)``: an empty training set."""
    folder = mnist_folder(tmp_path, n_train=n_train)
    path = folder / "train-images-idx3-ubyte.gz"
    with pytest.raises(data.DataFormatError) as err:
        mnist_images(folder)
    assert_names(str(err.value), path, f"{n_train} training images are too few", "at least 6")
    assert_names(refused(capsys, tmp_path, "mnist", folder), path, "too few")
    mnist_images(mnist_folder(tmp_path, n_train=6))  # six: five to train on, one to validate


def test_mnist_no_test_images(tmp_path, capsys):
    folder = mnist_folder(tmp_path, n_test=0)
    path = folder / "t10k-images-idx3-ubyte.gz"
    assert_names(refused(capsys, tmp_path, "mnist", folder), path, "no test images")


@pytest.mark.parametrize("shape, problem", [
    ((2**31, 2**31, 4), "sizes overflow"),                 # 2^64 elements: 0 in int64 arithmetic
    ((0, 2**32 - 1, 2**32 - 1), "sizes overflow"),         # empty, but NumPy cannot make the shape
    ((2**32 - 1,) * 3, "sizes overflow"),
    ((60000, 28, 28), "truncated: header says shape (60000, 28, 28)"),  # more than the file holds
])
def test_idx_header_sizes_that_overflow_or_exceed_the_file(tmp_path, capsys, shape, problem):
    folder = mnist_folder(tmp_path)
    path = folder / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *shape)
    path.write_bytes(gzip.compress(header + bytes(16)))
    with pytest.raises(data.DataFormatError) as err:
        data.read_idx(path)
    assert_names(str(err.value), path, problem)
    assert_names(refused(capsys, tmp_path, "mnist", folder), path, problem)


# ---------------------------------------------------------------------------
# Penn Treebank texts

PTB_ARGS = ("--batch-size", "2", "--bptt", "3")


def ptb_folder(tmp_path, train=" the cat sat on the mat \n" * 4, valid=" the cat sat \n" * 3,
               test=" the mat \n" * 4) -> Path:
    folder = tmp_path / "ptb"
    folder.mkdir(exist_ok=True)
    for split, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"ptb.{split}.txt").write_text(text)
    return folder


def ptb_corpus(folder, batch_size=2, bptt=3):
    """What ``minisnu train ptb`` loads before its first epoch."""
    options = resolve_options(ptb, {"batch_size": batch_size, "bptt": bptt})
    return ptb.load_data({"kind": "files", "path": str(folder)}, options)


def test_valid_ptb_folder_loads(tmp_path):
    corpus = ptb_corpus(ptb_folder(tmp_path))
    assert corpus.n_vocab == 6 and corpus.columns["valid"].shape == (6, 2)


@pytest.mark.parametrize("split", ["valid", "test"])
def test_ptb_word_outside_a_vocabulary_without_unk(tmp_path, capsys, split):
    text = {split: " the cat sat \n the dog sat \n" * 3}
    folder = ptb_folder(tmp_path, **text)
    path = folder / f"ptb.{split}.txt"
    with pytest.raises(data.DataFormatError) as err:
        data.load_ptb(folder)
    assert_names(str(err.value), path, "line 2: the word 'dog' is not in the vocabulary",
                 "which has no <unk>")
    assert_names(refused(capsys, tmp_path, "ptb", folder, *PTB_ARGS), path, "'dog'")
    corpus = data.load_ptb(ptb_folder(tmp_path, train=" the cat sat on the <unk> \n" * 4, **text))
    assert corpus.vocab["<unk>"] == getattr(corpus, split)[5]  # <unk> stands for 'dog'


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_ptb_split_too_short_for_the_batch(tmp_path, capsys, split):
    """2 columns × (3 words + the next) = 8 words needed; 7 are too few (today: a ValueError)."""
    folder = ptb_folder(tmp_path, **{split: " the cat sat \n the mat \n"})  # 3 + 1 + 2 + 1 words
    path = folder / f"ptb.{split}.txt"
    with pytest.raises(data.DataFormatError) as err:
        ptb_corpus(folder)
    assert_names(str(err.value), path, "7 words", "--bptt 3", "--batch-size 2", "8 are needed")
    assert_names(refused(capsys, tmp_path, "ptb", folder, *PTB_ARGS), path, "too few for one window")
    ptb_folder(tmp_path, **{split: " the cat sat \n the mat sat \n"})  # 8 words: enough
    assert ptb_corpus(folder).columns[split].shape == (4, 2)
