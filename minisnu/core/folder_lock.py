"""One process at a time in a folder: an operating-system lock on a file in it.

A run folder (``run.lock``) and a sweep folder (``sweep.lock``) are each worked on by
one process; a second one is refused at once, not queued. The lock is ``flock`` on
POSIX (the filelock package), which the system releases when the holding process
ends, however it ends (even by SIGKILL): the lock file that stays behind does not
block the next process.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import RunError


@contextlib.contextmanager
def folder_lock(folder, name: str, busy: str):
    """Hold the lock on ``folder/name`` (the folder is created) for the ``with`` block;
    RunError(``busy``) at once if another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / name, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunError(busy) from None
    try:
        yield
    finally:
        lock.release()
