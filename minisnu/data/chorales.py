"""Bach chorales from the music21 corpus, as a JSB-like data set (no download).

The optional package music21 (``pip install music21``) ships the Bach chorales
as MusicXML. This module turns the 350 distinct chorales that music21's
Riemenschneider iterator lists into the structure of the JSB Chorales file
(see :mod:`minisnu.data.jsb`), following Boulanger-Lewandowski et al. (2012):

- key: each chorale is transposed so that its tonic becomes C (C major or
  C minor), by the smallest shift (-5..+6 semitones), with the key estimated
  by music21's Krumhansl-Schmuckler analysis (``score.analyze("key")``);
- time: one step per quarter note; step k holds every note sounding at the
  instant k quarter notes after the first full bar's downbeat grid (a note
  that starts and ends between two grid instants, such as a passing eighth,
  is not heard: the convention of the quarter-note JSB file);
- split: the chorale names, sorted, are shuffled with a fixed seed (0) and cut
  60/20/20 into train/valid/test (210/70/70).

This is *not* the standard JSB split (229/76/77 chorales, different pieces and
editions), so numbers on it are not comparable with the paper's: it is a real
data set to develop with when the standard file is not at hand.

Converting takes a minute or two (parsing 350 MusicXML files), so the result
is cached as JSON in the cache folder (:func:`minisnu.data.paths.cache_dir`),
written atomically, and later calls read it in a fraction of a second. The
files are parsed with ``forceSource=True``: music21 would otherwise reuse (and
write) its own pickled scores in a temporary folder, and loading a pickle that
another user could have placed there runs code.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from ..core.io import atomic_write
from .errors import MissingPackageError
from .jsb import LOWEST_NOTE, N_NOTES, load_jsb_json
from .paths import SPLITS, cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the conversion changes, so old caches are not reused
SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.6, 0.2)  # train, valid; test takes the rest


def load_music21_chorales(cache=None, *, refresh: bool = False) -> dict[str, list[list[list[int]]]]:
    """The music21 Bach chorales as a JSB-structured dict, converted once and cached.

    Parameters
    ----------
    cache : path, optional
        The JSON cache file (default: :func:`default_cache_path`, in
        :func:`~minisnu.data.paths.cache_dir`). An existing cache is read
        without music21.
    refresh : bool
        Convert again even if the cache exists.

    Returns
    -------
    dict
        train/valid/test -> sequences -> time steps -> MIDI notes, as
        :func:`~minisnu.data.jsb.load_jsb` returns.
    """
    cache = default_cache_path() if cache is None else Path(cache)
    if cache.is_file() and not refresh:
        return load_jsb_json(cache)
    log.info("converting the music21 Bach chorales (a minute or two, once); cache: %s", cache)
    data = convert_music21_chorales()
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cache, lambda f: f.write(json.dumps(data, separators=(",", ":")).encode()))
    return {split: data[split] for split in SPLITS}


def default_cache_path() -> Path:
    """The cache file, named after the music21 version and the conversion's format."""
    version = _import_music21().__version__
    return cache_dir() / f"music21-chorales-quarter-v{CACHE_FORMAT}-m21-{version}.json"


def convert_music21_chorales() -> dict:
    """Parse and convert every chorale (slow; no cache). See the module notes.

    Returns the JSB dict plus a key ``"names"``: split -> the music21 corpus
    names of its chorales, in order (the JSB loaders ignore extra keys).
    """
    music21 = _import_music21()
    from music21.corpus import chorales

    # The iterator lists some chorales under two Riemenschneider numbers: keep one.
    names = sorted(set(chorales.Iterator(returnType="filename")))
    pieces = {name: chorale_steps(music21.corpus.parse(name, forceSource=True)) for name in names}
    split_names = split_deterministically(names)
    data = {split: [pieces[n] for n in split_names[split]] for split in SPLITS}
    data["names"] = split_names
    return data


def chorale_steps(score) -> list[list[int]]:
    """One music21 score -> JSB time steps: sorted MIDI notes, tonic moved to C, per quarter."""
    key = score.analyze("key")
    shift = -key.tonic.pitchClass % 12
    if shift > 6:
        shift -= 12  # the smaller move: down 5 rather than up 7, say
    # Grid phase: a pickup of 1.5 quarters (12/8 chorales) puts the beats at x.5.
    first_bar = score.parts[0].measure(1)
    phase = float(first_bar.offset) % 1.0 if first_bar is not None else 0.0
    n_steps = math.ceil(float(score.highestTime) - phase)
    steps = [set() for _ in range(n_steps)]
    for element in score.flatten().notes:  # notes and chords, every part
        start = float(element.offset) - phase
        end = start + float(element.duration.quarterLength)
        for k in range(max(math.ceil(start), 0), min(math.ceil(end), n_steps)):
            steps[k].update(p.midi + shift for p in element.pitches)
    for k, notes in enumerate(steps):
        if notes and (min(notes) < LOWEST_NOTE or max(notes) >= LOWEST_NOTE + N_NOTES):
            raise ValueError(f"step {k}: notes {sorted(notes)} leave the piano's range after transposing")
    return [sorted(notes) for notes in steps]


def split_deterministically(names) -> dict[str, list[str]]:
    """Sort the names, shuffle them with seed 0, cut 60/20/20 into train/valid/test."""
    names = sorted(names)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(names))
    n_train = round(SPLIT_FRACTIONS[0] * len(names))
    n_valid = round(SPLIT_FRACTIONS[1] * len(names))
    shuffled = [names[i] for i in order]
    return {
        "train": shuffled[:n_train],
        "valid": shuffled[n_train : n_train + n_valid],
        "test": shuffled[n_train + n_valid :],
    }


def _import_music21():
    try:
        import music21
    except ImportError:
        raise MissingPackageError(
            "the music21 chorales need the optional package music21: pip install music21 "
            "(or use the standard JSB file with load_jsb(path))"
        ) from None
    return music21
