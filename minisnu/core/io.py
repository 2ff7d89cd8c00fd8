"""Atomic file writes, so that a crash never leaves a half-written checkpoint.

The new content goes to a temporary file in the destination's directory; only
once it is complete and flushed to disk does ``os.replace`` swap it in. The
rename is atomic on POSIX and Windows when both names are on the same file
system (hence the same directory): a reader, or the next run after a crash,
sees either the whole old file or the whole new one.
"""

from __future__ import annotations

import os
import secrets

import numpy as np


def atomic_write(path, write_fn) -> None:
    """Call ``write_fn(f)`` on a binary file object, then atomically move it to ``path``.

    On any error (including KeyboardInterrupt) the temporary file is removed
    and an existing file at ``path`` is left untouched.
    """
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    # A fresh random name opened with "x" (exclusive create) rather than
    # tempfile.mkstemp, whose 0600 mode would leave the checkpoint private.
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; directories cannot be opened on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_npz_atomic(path, arrays: dict) -> None:
    """Write ``arrays`` (name -> array) to an uncompressed ``.npz`` file at ``path``, atomically.

    The path is used as given: numpy appends ".npz" only when it is handed a
    file name, never a file object. Object arrays are refused: numpy would
    pickle them, and loading pickles can run arbitrary code.
    """
    for name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object, which .npz can only store by pickling")
    atomic_write(path, lambda f: np.savez(f, **arrays))
