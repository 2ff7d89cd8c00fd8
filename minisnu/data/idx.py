"""The IDX format of MNIST and Fashion-MNIST, and the standard MNIST file set.

An IDX file (LeCun et al., yann.lecun.com/exdb/mnist) is a big-endian array:

=======  ===========================================================
bytes    content
=======  ===========================================================
0-1      zero
2        the element type: 0x08 uint8, 0x09 int8, 0x0B int16,
         0x0C int32, 0x0D float32, 0x0E float64
3        the number of dimensions n
4..4n+3  the size of each dimension, one big-endian uint32 each
rest     the elements, row-major (C order), big-endian
=======  ===========================================================

The files are usually distributed gzipped (``.gz``). Whether a file is gzipped
is read from its first two bytes (1f 8b), not from its name: some tools unpack
the data and keep the name, or the other way round.

A data set folder holds four files, with the standard names::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   (60,000 examples)
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    (10,000 examples)

Fashion-MNIST uses the same names and format, so :func:`load_mnist` reads
both (on Debian, ``apt install dataset-fashion-mnist`` puts Fashion-MNIST in
/usr/share/datasets/fashion-mnist/).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFormatError
from .paths import existing_file, find_file

# element type code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
SPLITS = {"train": "train", "test": "t10k"}
N_CLASSES = 10  # the labels: digits 0..9, or Fashion-MNIST's ten kinds of clothing


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array in native byte order.

    Raises
    ------
    FileNotFoundError
        No such file.
    DataFormatError
        Bad gzip stream, bad magic number, unknown element type, or a data length
        that does not match the header (truncated file or trailing bytes). The
        message names the file and gives the numbers.
    """
    path = existing_file(path, "IDX file")
    raw = _read_maybe_gzipped(path)
    dtype, shape, offset = _parse_header(path, raw)
    expected = math.prod(shape) * dtype.itemsize  # Python ints: exact, however large the sizes
    actual = len(raw) - offset
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise DataFormatError(
            path,
            f"IDX file {problem}: header says shape {shape} of {dtype.name} "
            f"({expected} data bytes), the file holds {actual}",
        )
    data = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native order


def _read_maybe_gzipped(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataFormatError(path, f"corrupt or truncated gzip data ({err})") from None


def _parse_header(path: Path, raw: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """(element dtype, shape, offset of the first element) from the IDX header."""
    if len(raw) < 4:
        raise DataFormatError(path, f"too short for an IDX header ({len(raw)} bytes, need 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataFormatError(
            path, f"not an IDX file: magic number starts with {raw[:2].hex()}, expected 0000"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataFormatError(path, f"unknown IDX element type 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataFormatError(path, "IDX header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataFormatError(
            path, f"truncated IDX header: {ndim} dimensions need {offset} bytes, got {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # NumPy refuses a shape whose nonzero sizes multiply past its index range even when a zero
    # size leaves the array empty (and a file's bytes could never fill it otherwise).
    if math.prod(d for d in shape if d) * dtype.itemsize > np.iinfo(np.intp).max:
        raise DataFormatError(path, f"IDX header's sizes overflow: shape {shape} of {dtype.name} "
                                    "is larger than any array can be")
    return dtype, shape, offset


def load_mnist(folder, split: str = "train", *, as_float: bool = False):
    """Load MNIST or Fashion-MNIST images and labels from a folder of IDX files.

    Parameters
    ----------
    folder : path
        The folder holding the standard file names (see the module notes),
        gzipped or not; the unpacked names with a dot (``train-images.idx3-ubyte``)
        are accepted too.
    split : {"train", "test"}
        "train" (60,000 examples) or "test" (10,000).
    as_float : bool
        Return images as float32 in [0, 1] (divided by 255) instead of uint8.

    Returns
    -------
    images : array (N, 28, 28)
        uint8, or float32 with ``as_float``.
    labels : int64 array (N,)
        Class indices.

    Raises
    ------
    FileNotFoundError
        A file is missing (the names tried are listed).
    DataFormatError
        A file is malformed, is not images (3 dimensions of uint8) or labels
        (1 dimension of uint8), the counts of images and labels differ, or a
        label is not a class 0..9.
    """
    images_path, labels_path = mnist_files(folder, split)
    images, labels = read_idx(images_path), read_idx(labels_path)
    _expect(images_path, images, ndim=3, what="images")
    _expect(labels_path, labels, ndim=1, what="labels")
    if len(images) != len(labels):
        raise DataFormatError(
            labels_path, f"{len(labels)} labels for {len(images)} images in {images_path.name}"
        )
    wrong = np.flatnonzero(labels >= N_CLASSES)
    if wrong.size:
        raise DataFormatError(labels_path, f"label {wrong[0]} is {labels[wrong[0]]}, not a class "
                                           f"0..{N_CLASSES - 1} ({wrong.size} of {len(labels)} "
                                           "labels out of range)")
    if as_float:
        images = images.astype(np.float32) / np.float32(255)
    return images, labels.astype(np.int64)


def mnist_files(folder, split: str = "train") -> tuple[Path, Path]:
    """The images and labels files of ``split`` ("train" or "test") in ``folder``.

    The standard names are tried gzipped, then not, then with a dot (see
    :func:`load_mnist`); FileNotFoundError lists the names tried.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLITS)}")
    prefix = SPLITS[split]
    return (find_file(folder, _candidates(prefix, "images", 3), f"MNIST {split} images"),
            find_file(folder, _candidates(prefix, "labels", 1), f"MNIST {split} labels"))


def _candidates(prefix: str, kind: str, ndim: int) -> list[str]:
    name = f"{prefix}-{kind}-idx{ndim}-ubyte"
    dotted = f"{prefix}-{kind}.idx{ndim}-ubyte"
    return [name + ".gz", name, dotted + ".gz", dotted]


def _expect(path: Path, array: np.ndarray, *, ndim: int, what: str) -> None:
    if array.ndim != ndim or array.dtype != np.uint8:
        raise DataFormatError(
            path, f"expected {what}: {ndim}-dimensional uint8, got shape {array.shape} of {array.dtype}"
        )
