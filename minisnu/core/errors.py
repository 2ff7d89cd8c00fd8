"""The errors minisnu raises for a user's mistake.

Every one of them derives from :class:`MinisnuError`, and only those are
turned into a one-line message by the command line: anything else is a bug and
shows its traceback. Each also derives from the built-in exception a Python
caller would expect (``ValueError`` for a bad value, ``OSError`` for a failed
download), so ``except ValueError`` keeps working in a user's own code.
"""

from __future__ import annotations


class MinisnuError(Exception):
    """Base class: a problem the user can fix; its message says what and where."""


class InputError(MinisnuError, ValueError):
    """A value given to minisnu (an array, a size, a configuration field) is not allowed."""


class InputTypeError(MinisnuError, TypeError):
    """A value given to minisnu has the wrong type (a list where an array belongs, ...)."""


class OptionError(MinisnuError, ValueError):
    """An option of a command (or of a run, a sweep) is missing, malformed or out of range."""


class CheckpointError(MinisnuError, ValueError):
    """A checkpoint file is damaged, foreign, or does not fit the network it should rebuild."""


class RunError(MinisnuError):
    """A run cannot go on as asked: its folder, its data, or options that do not fit together."""
