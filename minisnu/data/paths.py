"""Where data files live: the user's data folder and minisnu's cache folder.

Loaders always take an explicit path. These helpers only pick a default for a
command line (``--data PATH``) or for files that minisnu writes itself
(downloads, converted corpora):

- the data folder: the ``path`` given, else the ``MINISNU_DATA`` environment
  variable, else the cache folder;
- the cache folder: ``MINISNU_CACHE``, else ``$XDG_CACHE_HOME/minisnu``,
  else ``~/.cache/minisnu`` (the XDG convention, also used on macOS here).

Nothing is created on disk by these functions; writers create the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataNotFoundError

#: The three splits of every standard data set here, in their usual order.
SPLITS = ("train", "valid", "test")


def cache_dir() -> Path:
    """The folder for files minisnu downloads or converts (not created here)."""
    if os.environ.get("MINISNU_CACHE"):
        return Path(os.environ["MINISNU_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "minisnu"
    return Path.home() / ".cache" / "minisnu"


def data_dir(path=None) -> Path:
    """Resolve the data folder: ``path``, else ``$MINISNU_DATA``, else :func:`cache_dir`.

    An empty string counts as unset, so ``MINISNU_DATA=`` falls back to the cache.
    """
    if path is not None and os.fspath(path) != "":
        return Path(path).expanduser()
    if os.environ.get("MINISNU_DATA"):
        return Path(os.environ["MINISNU_DATA"]).expanduser()
    return cache_dir()


def existing_file(path, what: str) -> Path:
    """Return ``path`` as a Path if it is a readable file, else raise naming it.

    ``what`` says what the file should hold, e.g. "the MNIST training images".
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataNotFoundError(f"{what}: expected a file, {path} is a folder")
    if not path.is_file():
        raise DataNotFoundError(f"{what}: no file {path}")
    return path


def find_file(folder, names, what: str) -> Path:
    """The first of ``names`` that exists in ``folder``; the error lists all names tried."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"{what}: the folder {folder} does not exist")
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataNotFoundError(f"{what}: none of {', '.join(names)} found in {folder}")
