"""The error raised when a data file exists but cannot be read as its format."""

from __future__ import annotations


class DataFormatError(ValueError):
    """A data file is truncated, corrupt or not in the expected format.

    The message names the file and the problem. It subclasses ValueError so
    that code catching ValueError for bad input keeps working.
    """

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
