"""JSB Chorales: the Boulanger-Lewandowski (2012) file, piano rolls and batches.

The data set is a dict ``{"train": ..., "valid": ..., "test": ...}``; each
split is a list of sequences (chorales), a sequence a list of time steps (one
per quarter note), a time step a list of the MIDI note numbers sounding
(21..108, the piano's range), possibly empty. Standard split: 229/76/77
chorales, 13,807/4,602/4,725 time steps.

Two file formats hold it:

- JSON (``jsb-chorales-quarter.json`` from github.com/czhuang/JSB-Chorales-dataset),
  read with :func:`load_jsb_json`; the recommended format.
- The original Python pickle (``JSB Chorales.pickle``, and the ``.pkl`` files of
  the same repository), read with :func:`load_jsb_pickle`. A pickle is a
  program: a plain ``pickle.load`` would run whatever a hostile file asks. The
  loader here uses an unpickler that refuses every global (every function or
  class a pickle names), so it can only build dicts, lists, tuples, numbers and
  strings. One exception, because some versions of the file store notes as
  NumPy scalars: the three globals a NumPy scalar is pickled with
  (``numpy.dtype``, ``numpy.core.multiarray.scalar``, ``_codecs.encode``) are
  answered by small stand-ins written here, not by NumPy's functions. They only
  decode a few bytes of a numeric type (int, uint, float, bool) into a plain
  Python number; anything else, NumPy arrays included, is refused.

Where the file is: :func:`locate_jsb` is the one lookup of the package (the
``--data`` path, ``$MINISNU_DATA``, the cache folder that ``minisnu download
jsb`` fills, the music21 chorales); it never downloads.

The model's task is next-step prediction: from the notes of steps 0..T-2
predict those of steps 1..T-1 (:func:`next_step`), with the loss and the
negative log-likelihood summed over the 88 notes and averaged over time steps
(``minisnu.training.losses.polyphonic_nll``).
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import pickle
from pathlib import Path

import numpy as np

from ..core.validate import as_dtype, as_rng, check_size
from .errors import DataFormatError, DataNotFoundError
from .paths import SPLITS, cache_dir, data_dir, existing_file

log = logging.getLogger(__name__)

#: The MIDI note of a piano roll's column 0: 21, A0, piano key 1.
LOWEST_NOTE = 21
#: The columns of a piano roll, the piano keys: MIDI 21 (A0) .. 108 (C8).
N_NOTES = 88
FILE_NAME = "jsb-chorales-quarter.json"  # the name download_dataset("jsb") gives the file
MUSIC21 = "the music21 Bach chorales"


# ---------------------------------------------------------------------------
# reading


def load_jsb(path) -> dict[str, list[list[list[int]]]]:
    """Load a JSB-structured data set from JSON or from a pickle, whichever the file is.

    The format is told from the content: a file whose first non-blank byte can
    begin a JSON value (``{``, ``[``, a quote, a digit, ...) is JSON, anything
    else is tried as a pickle (with the restricted unpickler of
    :func:`load_jsb_pickle`, so a hostile file cannot run code). No pickle
    begins with one of those bytes or with a blank: a pickle's first byte is
    an opcode (PROTO, 0x80, from protocol 2 on; ``(``, ``}``, ``]``, ``c``, ...
    before), so a JSON file of the wrong shape (a top-level list, say) is
    reported as JSON, not as an unreadable pickle.
    """
    path = existing_file(path, "JSB chorales file")
    raw = _read_nonblank(path)
    parse = _parse_json if raw.lstrip()[:1] in _JSON_STARTS else _parse_pickle
    return check_jsb(parse(path, raw), path)


_JSON_STARTS = frozenset(bytes([c]) for c in b'{["-0123456789tfn')


def _read_nonblank(path: Path) -> bytes:
    """The bytes of ``path``; DataFormatError if it is empty or holds only blanks."""
    raw = path.read_bytes()
    if not raw.strip():
        raise DataFormatError(path, "the file is empty" if not raw else "the file holds only whitespace")
    return raw


def locate_jsb(path=None, *, music21: bool = True) -> dict:
    """Where the JSB chorales are: ``{"kind": "file", "path": ...}`` or ``{"kind": "music21"}``.

    The one lookup of the package: ``minisnu train jsb``, the in-memory
    experiments and the tutorials all find the chorales here. The places, in
    this order (the first that holds the file wins):

    1. ``path`` (a command's ``--data``), if given: a file (JSON or pickle, see
       :func:`load_jsb`) or a folder holding ``jsb-chorales-quarter.json``. If
       it holds nothing, the search stops there: an explicit path is never
       silently replaced by another source;
    2. ``$MINISNU_DATA``: ``jsb-chorales-quarter.json`` in that folder or in
       its ``jsb/`` subfolder (where ``minisnu download jsb`` puts it);
    3. the cache folder (:func:`~minisnu.data.paths.cache_dir`), the same two
       places: where ``minisnu download jsb`` puts the file when
       ``$MINISNU_DATA`` is not set;
    4. with ``music21``, the Bach chorales of the music21 package if it is
       installed (:func:`~minisnu.data.chorales.load_music21_chorales`: real
       chorales, but not the standard split, so the numbers are not comparable
       with the paper's).

    Nothing is downloaded: a lookup that fetched files by itself would make a
    command's result depend on the network. ``minisnu download jsb`` (or
    ``download_dataset("jsb")``) fetches the standard file when asked.

    The file's path is returned resolved (absolute, no symbolic links). Raises
    DataNotFoundError, saying where to put the file and how to get it, when no
    place holds the data.
    """
    if path is not None:
        file = _as_file(path)
        if not file.is_file():
            raise DataNotFoundError(f"no JSB chorales file at {file}. " + _where_to_get_it())
        return {"kind": "file", "path": str(file.resolve())}
    folders = list(dict.fromkeys([data_dir(), cache_dir()]))  # $MINISNU_DATA (if set), the cache
    for folder in folders:
        for place in (folder, folder / "jsb"):
            file = _as_file(place)
            if file.is_file():
                return {"kind": "file", "path": str(file.resolve())}
    if music21 and importlib.util.find_spec("music21") is not None:
        return {"kind": "music21"}
    raise DataNotFoundError(f"the JSB chorales were not found in {' or '.join(map(str, folders))}. "
                            + _where_to_get_it())


def _where_to_get_it() -> str:
    return (f"Put {FILE_NAME} (github.com/czhuang/JSB-Chorales-dataset) in {data_dir()} "
            "(the folder $MINISNU_DATA names) or pass its path (--data FILE); "
            "`minisnu download jsb` fetches it; or `pip install music21` to use its Bach chorales "
            "(not the standard split).")


def _as_file(place) -> Path:
    """A folder's jsb-chorales-quarter.json, or the path itself."""
    place = Path(place).expanduser()
    return place / FILE_NAME if place.is_dir() else place


def load_jsb_source(source: dict) -> dict[str, list[list[list[int]]]]:
    """The data set a :func:`locate_jsb` source names (the music21 chorales with a warning)."""
    if source["kind"] == "music21":
        from .chorales import load_music21_chorales

        log.warning("using the music21 Bach chorales (not the standard JSB split; the first use "
                    "converts them, a minute or two)")
        return load_music21_chorales()
    return load_jsb(source["path"])


def describe_jsb_source(source: dict) -> str:
    """The file's path, or "the music21 Bach chorales"."""
    return source["path"] if source["kind"] == "file" else MUSIC21


def find_jsb(path=None, *, music21: bool = True) -> tuple[dict, dict]:
    """Find the JSB chorales (:func:`locate_jsb`) and load them: ``(data set, source)``."""
    source = locate_jsb(path, music21=music21)
    return load_jsb_source(source), source


def load_jsb_json(path) -> dict[str, list[list[list[int]]]]:
    """Load the JSB JSON file: splits -> sequences -> time steps -> MIDI notes.

    Raises FileNotFoundError for a missing file and DataFormatError (naming
    the file and the offending entry) for invalid JSON or a wrong structure.
    """
    path = existing_file(path, "JSB chorales JSON file")
    return check_jsb(_parse_json(path, _read_nonblank(path)), path)


def _parse_json(path: Path, raw: bytes):
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFormatError(path, f"not valid JSON ({err})") from None
    except ValueError:  # the one other error of json.loads: an integer Python will not read
        raise DataFormatError(path, "a number of more than 4,300 digits, which no MIDI note "
                                    "number has") from None
    except RecursionError:  # Python's parser recurses once per level of arrays and objects
        raise DataFormatError(path, "arrays or objects nested too deeply to read (JSB data is 4 "
                                    "levels deep: splits, chorales, time steps, notes)") from None


def load_jsb_pickle(path) -> dict[str, list[list[list[int]]]]:
    """Load the original JSB pickle without letting it run code.

    Python 2 pickles (the original file) are read with latin-1 strings, as
    Python 3 requires for them. NumPy numeric scalars become Python numbers;
    every other global (function or class) is refused (see the module notes).

    Raises DataFormatError naming the file if the pickle names a forbidden
    global, is truncated or corrupt, or does not hold the JSB structure.
    """
    path = existing_file(path, "JSB chorales pickle")
    return check_jsb(_parse_pickle(path, _read_nonblank(path)), path)


def _parse_pickle(path: Path, raw: bytes):
    """Unpickle with :class:`_RestrictedUnpickler`. Its memory grows with the file only: a list
    named many times is one object; what it would expand to is capped by :func:`check_jsb`."""
    try:
        return _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as err:  # a corrupt pickle can raise almost anything
        raise DataFormatError(path, f"unreadable pickle: {_one_line(str(err))}") from None


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose only reachable globals are the NumPy-scalar stand-ins.

    Every opcode that names a function or class (GLOBAL, STACK_GLOBAL, INST,
    OBJ, EXT*) goes through ``find_class``; refusing there leaves only the
    opcodes that build dicts, lists, tuples, sets, numbers and strings.
    """

    def find_class(self, module: str, name: str):
        try:
            return _STAND_INS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: a JSB pickle may only hold dicts, "
                "lists, tuples, numbers and strings"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused persistent id: not part of a JSB pickle")


# The NumPy dtypes a scalar may have: plain numbers only (no object, string,
# datetime or structured dtype, which could carry arbitrary payloads).
_NUMERIC_SPECS = frozenset(
    ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]
)


class _NumericDtype:
    """Stand-in for ``numpy.dtype(spec, align, copy)``: a numeric dtype, nothing else."""

    def __init__(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or spec not in _NUMERIC_SPECS:
            raise pickle.UnpicklingError(f"refused NumPy dtype {spec!r}: only plain numbers")
        self.spec, self.byteorder = spec, "="

    def __setstate__(self, state):
        # NumPy's state tuple: (version, byte order, subarray, names, fields, ...)
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"refused NumPy dtype state {state!r}")
        self.byteorder = state[1]

    def to_numpy(self) -> np.dtype:
        return np.dtype(self.spec).newbyteorder(self.byteorder)


def _numpy_scalar(dtype, data):
    """Stand-in for ``numpy.core.multiarray.scalar``: bytes -> a Python number."""
    if not isinstance(dtype, _NumericDtype):
        raise pickle.UnpicklingError("refused NumPy scalar of a non-numeric dtype")
    if isinstance(data, str):  # Python 2 byte strings arrive decoded as latin-1
        data = data.encode("latin1")
    dt = dtype.to_numpy()
    if not isinstance(data, bytes) or len(data) != dt.itemsize:
        raise pickle.UnpicklingError(f"bad NumPy scalar payload for dtype {dt}")
    return np.frombuffer(data, dtype=dt)[0].item()


def _codecs_encode(text, encoding="utf-8"):
    """Stand-in for ``_codecs.encode``: how Python 3 pickles a scalar's bytes (latin-1 only)."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("refused _codecs.encode call other than text -> latin1")
    return text.encode("latin1")


_STAND_INS = {
    ("numpy", "dtype"): _NumericDtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,  # NumPy < 2
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,  # NumPy >= 2
    ("_codecs", "encode"): _codecs_encode,
}


#: The most time steps and notes a JSB data set may hold (the standard file: 23,134 steps, 90,002
#: notes). A pickle can name one list again and again at a few bytes each, so a file of kilobytes
#: can stand for billions of steps; :func:`check_jsb` counts what it builds and stops at these.
MAX_STEPS = 1_000_000
#: The most notes a JSB data set may hold (see :data:`MAX_STEPS`).
MAX_NOTES = 10_000_000


def check_jsb(data, source="JSB data") -> dict[str, list[list[list[int]]]]:
    """Check the JSB structure and return it with plain int notes (lists throughout).

    ``source`` (a path or a description) goes into the error message. Keys
    other than train/valid/test are ignored. Notes may be ints or integral
    floats (some files store 60.0) and must lie in 21..108. Every sequence
    must have at least one time step; a time step may be empty (a rest).

    The copy is counted as it is built: a chorale's steps before it is copied,
    a step's notes before they are, so a data set beyond :data:`MAX_STEPS` time
    steps or :data:`MAX_NOTES` notes is refused before it takes that memory.
    """
    if not isinstance(data, dict):
        raise DataFormatError(source, f"expected a dict (a JSON object) with the keys "
                                      f"{', '.join(SPLITS)} at the top level, got {_describe(data)}")
    missing = [s for s in SPLITS if s not in data]
    if missing:
        found = ", ".join(_describe(key) for key in list(data)[:10]) or "none"
        raise DataFormatError(source, f"missing split(s) {missing}; found keys {found}")
    size = _Size(source)
    return {split: _check_split(data[split], split, source, size) for split in SPLITS}


class _Size:
    """The time steps and notes copied so far by :func:`check_jsb` (its callers add to them and
    call :meth:`refuse` past a cap; the notes are counted inline, once per time step)."""

    def __init__(self, source):
        self.source, self.steps, self.notes = source, 0, 0

    def refuse(self, cap: int, what: str, where: str):
        raise DataFormatError(self.source, f"{where}: more than {cap:,} {what} in all, far more "
                                           "than any chorale data set; refused")


def _check_split(sequences, split: str, source, size: _Size) -> list[list[list[int]]]:
    if not isinstance(sequences, (list, tuple)):
        raise DataFormatError(source, f"{split}: expected a list of sequences, got {_describe(sequences)}")
    checked = []
    for i, sequence in enumerate(sequences):
        if not isinstance(sequence, (list, tuple)) or len(sequence) == 0:
            raise DataFormatError(source, f"{split}[{i}]: expected a non-empty list of time steps, "
                                          f"got {_describe(sequence)}")
        size.steps += len(sequence)
        if size.steps > MAX_STEPS:
            size.refuse(MAX_STEPS, "time steps", f"{split}[{i}]")
        checked.append([_check_step(step, split, i, t, source, size) for t, step in enumerate(sequence)])
    return checked


def _check_step(step, split: str, i: int, t: int, source, size: _Size) -> list[int]:
    """Step t of chorale i of the split as a list of int notes (its place is written out only
    for an error: the data set's tens of thousands of steps are read faster without)."""
    if not isinstance(step, (list, tuple)):
        raise DataFormatError(source, f"{split}[{i}][{t}]: expected a list of MIDI notes, "
                                      f"got {_describe(step)}")
    size.notes += len(step)
    if size.notes > MAX_NOTES:
        size.refuse(MAX_NOTES, "notes", f"{split}[{i}][{t}]")
    notes = []
    for note in step:
        if isinstance(note, float) and note.is_integer():
            note = int(note)
        is_int = isinstance(note, int) and not isinstance(note, bool)
        if not is_int or not LOWEST_NOTE <= note < LOWEST_NOTE + N_NOTES:
            raise DataFormatError(source, f"{split}[{i}][{t}]: {_describe(note)} is not a MIDI note "
                                          "number in 21..108")
        notes.append(note)
    return notes


def _describe(value) -> str:
    """A value for a one-line message: a number or a short string as written, else its type
    (never the repr of a container, which may be huge or nested too deeply to print)."""
    if isinstance(value, int) and value.bit_length() > 64:  # (Python refuses to print 4,300+ digits)
        return f"an integer of {value.bit_length():,} bits"
    if value is None or isinstance(value, (bool, int, float)):
        return _one_line(repr(value))
    if isinstance(value, (str, bytes)):
        return _one_line(repr(value)) if len(value) <= 40 else f"a {type(value).__name__} of {len(value):,}"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value):,}"
    return f"a {type(value).__name__}"


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_next_step(chorales: dict, source) -> None:
    """Refuse a checked data set (:func:`check_jsb`) that next-step prediction cannot use.

    Every split must hold a chorale, and every chorale at least 2 time steps
    (:func:`next_step` predicts steps 1..T-1 from 0..T-2: one step leaves
    nothing to predict, and an epoch would fail on it). Raises DataFormatError
    naming ``source``, the split and the chorale.
    """
    for split in SPLITS:
        if not chorales[split]:
            raise DataFormatError(source, f"the {split} split holds no chorales")
        for i, sequence in enumerate(chorales[split]):
            if len(sequence) < 2:
                raise DataFormatError(source, f"{split}[{i}]: a chorale of {len(sequence)} time step(s); "
                                              "next-step prediction needs at least 2")


# ---------------------------------------------------------------------------
# piano rolls and batches


def piano_roll(sequence, *, dtype=np.float32) -> np.ndarray:
    """One sequence of time steps -> a binary piano roll (T, 88).

    ``roll[t, n - 21] = 1`` when MIDI note n sounds at step t (column 0 is A0,
    column 87 is C8). A note listed twice in a step is simply 1.
    """
    dtype = as_dtype(dtype)
    roll = np.zeros((len(sequence), N_NOTES), dtype=dtype)
    for t, notes in enumerate(sequence):
        keys = np.asarray(notes, dtype=np.int64) - LOWEST_NOTE
        if keys.size and (keys.min() < 0 or keys.max() >= N_NOTES):
            raise ValueError(f"time step {t}: notes {list(notes)} outside the piano's 21..108")
        roll[t, keys] = 1
    return roll


def piano_rolls(sequences, *, dtype=np.float32) -> list[np.ndarray]:
    """:func:`piano_roll` of every sequence of a split."""
    return [piano_roll(s, dtype=dtype) for s in sequences]


def next_step(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next-step prediction pair of one roll (T, 88): inputs roll[:-1], targets roll[1:]."""
    if roll.ndim < 1 or len(roll) < 2:
        raise ValueError(f"next-step prediction needs at least 2 time steps, got shape {roll.shape}")
    return roll[:-1], roll[1:]


def pad_batch(rolls) -> tuple[np.ndarray, np.ndarray]:
    """Stack variable-length rolls (T_b, 88) into one zero-padded (T, B, 88) array.

    Returns
    -------
    batch : array (T, B, 88)
        T = the longest T_b, in the rolls' dtype.
    mask : bool array (T, B)
        True where a step is real (``mask[t, b] = t < T_b``), the mask the losses
        of :mod:`minisnu.training.losses` take.
    """
    rolls = list(rolls)
    if not rolls:
        raise ValueError("pad_batch needs at least one roll")
    first = rolls[0]
    for b, roll in enumerate(rolls):
        if roll.ndim != 2 or roll.shape[1] != first.shape[1] or roll.dtype != first.dtype:
            raise ValueError(
                f"roll {b} has shape {roll.shape} and dtype {roll.dtype}; every roll must be "
                f"(T, {first.shape[1]}) of {first.dtype}"
            )
    lengths = np.array([len(r) for r in rolls])
    batch = np.zeros((lengths.max(), len(rolls), first.shape[1]), dtype=first.dtype)
    for b, roll in enumerate(rolls):
        batch[: len(roll), b] = roll
    mask = np.arange(lengths.max())[:, None] < lengths[None, :]
    return batch, mask


def next_step_batch(rolls) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded next-step pairs of several rolls: (inputs, targets, mask).

    inputs and targets are (T-1, B, 88) with T the longest roll; mask (T-1, B)
    marks the real steps of both (they have the same lengths).
    """
    pairs = [next_step(r) for r in rolls]
    inputs, mask = pad_batch([p[0] for p in pairs])
    targets, _ = pad_batch([p[1] for p in pairs])
    return inputs, targets, mask


def iterate_batches(rolls, batch_size: int = 1, *, rng=None):
    """Yield ``next_step_batch`` of consecutive groups of ``batch_size`` rolls.

    With ``rng`` (an int seed or a Generator) the order is shuffled first;
    without it the order is kept. The last batch may be smaller.
    """
    batch_size = check_size("batch_size", batch_size)
    order = np.arange(len(rolls)) if rng is None else as_rng(rng).permutation(len(rolls))
    for start in range(0, len(order), batch_size):
        yield next_step_batch([rolls[i] for i in order[start : start + batch_size]])


def count_steps(data: dict) -> dict[str, int]:
    """The number of time steps of each split (train 13,807 for the standard file)."""
    return {split: sum(len(seq) for seq in data[split]) for split in data}
