"""The errors of reading data: a file that is missing, one that is not in its format, a package to install."""

from __future__ import annotations

from ..core.errors import MinisnuError


class DataNotFoundError(MinisnuError, FileNotFoundError):
    """The data is not where it was looked for; the message says where to put it."""


class MissingPackageError(MinisnuError, ImportError):
    """A data set comes with an optional package that is not installed; the message names it."""


class DataFormatError(MinisnuError, ValueError):
    """A data file is truncated, corrupt or not in the expected format.

    The message names the file and the problem. It subclasses ValueError so
    that code catching ValueError for bad input keeps working.
    """

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
