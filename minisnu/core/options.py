"""Declared options: a command states each of its options once, and the rest is derived.

A command (a task of ``minisnu train``, an experiment) lists its options as
:class:`Option` s::

    OPTIONS = (
        Option("model", str, "snu", "the units", choices=MODELS),
        Option("lr", float, 0.01, "learning rate", low=0, open_low=True),
        Option("epochs", int, 40, "train until this epoch", low=1, resumable=True),
        Option("clip", float, None, "clip the gradients' global norm", low=0, open_low=True,
               none="no clipping"),
    )

and from that one declaration come

- the command-line parser (:func:`add_arguments`): ``--lr``, ``--epochs``, …, each help
  line ending in the default;
- the check of every value (:meth:`Option.check`), the same whether it came from the
  command line or from Python (a sweep), with a one-line error naming the option;
- the options given on the command line told apart from the defaults
  (:func:`given_values`), and the full option dict (:func:`resolve`): the defaults,
  per-model defaults (:class:`ByModel`) and the defaults of ``--quick``;
- the comparison of a resumed run's options with the ones given (:func:`changed_on_resume`).

Conventions: the option ``lr_decay`` is ``--lr-decay`` on the command line; a
``bool`` option that defaults to False is a flag ``--name``, one that defaults to
True is a flag ``--no-name``; ``many=True`` takes one or more values (a list).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace
from typing import Any

from .errors import OptionError


class ByModel(dict):
    """A default that depends on the model: ``ByModel({"snu": 2.0}, other=1.0)``."""

    def __init__(self, values: dict, *, other=None):
        super().__init__(values)
        self.other = other

    def for_model(self, model):
        return self.get(model, self.other)


def layer_sizes(text: str) -> list[int]:
    """``"150"`` -> [150]; ``"256,256"`` -> [256, 256] (one hidden layer per number)."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"must be a layer size or a comma-separated list such as 256,256, "
                         f"got {text!r}") from None


#: How a command-line string becomes a value, for each kind of option.
PARSERS = {int: int, float: float, str: str, "sizes": layer_sizes}
#: Each kind of option in words, for the error messages.
KIND_NAMES = {int: "an integer", float: "a number", str: "a word", "sizes": "layer sizes"}


@dataclass(frozen=True)
class Option:
    """One option of a command.

    Parameters
    ----------
    name : str
        the Python name (``lr_decay``); on the command line ``--lr-decay``.
    kind : type or str
        ``int``, ``float``, ``str``, ``bool`` (a flag) or ``"sizes"`` (``256,256``).
    default
        the value when not given: a value, None, or a :class:`ByModel`.
    help : str
        one line for ``--help``; the default is appended.
    choices : tuple, optional
        the allowed values.
    low, high, open_low, open_high
        the allowed range, closed unless open_* is set.
    many, distinct : bool
        one or more values, a list (each checked); ``distinct`` refuses repeats.
    count : int, optional
        for ``"sizes"``, exactly this many (``--channels 32,64``: two).
    quick : optional
        the default under ``--quick``, when it differs.
    none : str, optional
        what a None default means, for the help ("no clipping").
    group : str, optional
        the heading of the option in ``--help``.
    metavar : str, optional
        the placeholder in ``--help``.
    models : tuple, optional
        the models the option applies to; giving it with another model is an error.
    needs : (name, value), optional
        the option applies only when option ``name`` has ``value``
        (``--elastic-alpha`` needs ``--augment elastic``); giving it otherwise is an error.
    run : bool
        part of a run's options (kept in the run folder, fixed on resume); False for
        options about the invocation (``--out``, ``--data``, ``--resume``).
    resumable : bool
        may change when a run is resumed (``--epochs``: a new target).
    """

    name: str
    kind: Any
    default: Any
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    many: bool = False
    distinct: bool = False
    count: int | None = None
    quick: Any = None
    none: str | None = None
    group: str | None = None
    metavar: str | None = None
    models: tuple | None = None
    needs: tuple | None = None
    run: bool = True
    resumable: bool = False

    @property
    def flag(self) -> str:
        """``--lr-decay``; ``--no-drift`` for a bool option that defaults to True."""
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.kind is bool and self.default is True else f"--{dashed}"

    # -- checking ----------------------------------------------------------------------

    def check(self, value):
        """``value`` if it is allowed; OptionError naming the option otherwise."""
        if self.many:
            if not isinstance(value, (list, tuple)) or not value:
                raise OptionError(f"{self.flag} takes one or more values, got {value!r}")
            if self.distinct and len(set(value)) != len(value):
                raise OptionError(f"{self.flag} values must be distinct, got {list(value)}")
            return [self._check_one(v) for v in value]
        return self._check_one(value)

    def _check_one(self, value):
        if self.kind is bool:
            if not isinstance(value, bool):
                raise OptionError(f"{self.flag} is a flag (True or False), got {value!r}")
            return value
        if self.kind == "sizes":
            if (not isinstance(value, (list, tuple)) or not value
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
                raise OptionError(f"{self.flag}: layer sizes must be positive integers, got {value!r}")
            if self.count is not None and len(value) != self.count:
                raise OptionError(f"{self.flag} takes {self.count} sizes separated by commas, got "
                                  f"{len(value)}: {','.join(map(str, value))}")
            return list(value)
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or isinstance(value, bool):
            raise OptionError(f"{self.flag} must be {KIND_NAMES[self.kind]}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise OptionError(f"{self.flag} must be one of {', '.join(map(str, self.choices))}, "
                              f"got {value!r}")
        if self.kind is float and not math.isfinite(value):
            raise OptionError(f"{self.flag} must be a finite number, got {value}")
        if not self.in_range(value):
            raise OptionError(f"{self.flag} must be {self.range_text()}, got {value}")
        return value

    def in_range(self, value) -> bool:
        low_ok = self.low is None or (value > self.low if self.open_low else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return low_ok and high_ok

    def range_text(self) -> str:
        """``> 0``, ``>= 1``, ``in [0, 1)``: the allowed range, for messages."""
        if self.low is not None and self.high is not None:
            return (f"in {'(' if self.open_low else '['}{self.low}, "
                    f"{self.high}{')' if self.open_high else ']'}")
        if self.low is not None:
            return f"{'>' if self.open_low else '>='} {self.low}"
        return f"{'<' if self.open_high else '<='} {self.high}"

    def parse(self, text: str):
        """A command-line string -> the checked value (argparse's ``type``)."""
        try:
            value = PARSERS[self.kind](text)
        except ValueError as err:
            detail = str(err) if self.kind == "sizes" else f"must be {KIND_NAMES[self.kind]}, got {text!r}"
            raise argparse.ArgumentTypeError(detail) from None
        try:
            return self._check_one(value)
        except OptionError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"{self.flag} ")) from None

    # -- defaults ----------------------------------------------------------------------

    def default_for(self, model=None, quick: bool = False):
        """The default value, for ``model`` and the quick mode."""
        default = self.quick if quick and self.quick is not None else self.default
        return default.for_model(model) if isinstance(default, ByModel) else default

    def default_text(self, models=()) -> str:
        """The default as help text: ``0.01``; ``2.0 for snu; 1.0 for ssnu, rnn``; ``40; 2 with --quick``."""
        if isinstance(self.default, ByModel):
            by_text: dict[str, list] = {}
            for model in models:
                by_text.setdefault(_as_text(self.default.for_model(model), self.none), []).append(model)
            text = "; ".join(f"{value} for {', '.join(names)}" for value, names in by_text.items())
            if len(by_text) == 1:
                text = next(iter(by_text))
        else:
            text = _as_text(self.default, self.none)
        if self.quick is not None:
            text += f"; {_as_text(self.quick, self.none)} with --quick"
        return text


def _as_text(value, none=None) -> str:
    if value is None:
        return none or "none"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def with_defaults(options, **defaults) -> tuple:
    """``options`` with new defaults for some of them (a task's own, over the common ones)."""
    unknown = set(defaults) - {option.name for option in options}
    if unknown:
        raise KeyError(f"no option named {', '.join(sorted(unknown))}")
    return tuple(replace(option, default=defaults[option.name]) if option.name in defaults else option
                 for option in options)


# -- the command line --------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, options, *, models=()) -> None:
    """One argument per option, in argument groups by ``Option.group``.

    argparse's own default is None for every option, so that :func:`given_values`
    can tell what the command line set; the real defaults come from :func:`resolve`.
    """
    groups: dict = {}
    for option in options:
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group) if option.group else parser
        target = groups[option.group]
        help_text = option.help
        if option.kind is not bool:
            help_text += f" (default {option.default_text(models)})"
        if option.kind is bool:
            target.add_argument(option.flag, dest=option.name, action="store_const",
                                const=not option.default, default=None, help=help_text)
        else:
            target.add_argument(option.flag, dest=option.name, type=option.parse,
                                nargs="+" if option.many else None, metavar=option.metavar,
                                choices=option.choices, help=help_text)


def given_values(args: argparse.Namespace, options) -> dict:
    """The options set on the command line: {name: value} for those not left at None.

    With ``--quick``, the options whose quick default differs count as given too
    (``--quick`` means ``--limit 8``: a resumed run compares it like one).
    """
    given = {option.name: getattr(args, option.name) for option in options
             if getattr(args, option.name, None) is not None}
    if given.get("quick"):
        given |= {option.name: option.quick for option in options
                  if option.quick is not None and option.name not in given}
    return given


def resolve(options, given: dict) -> dict:
    """Every option's value: the given ones (checked), else the defaults.

    ``ByModel`` defaults follow the ``model`` option; a given ``quick=True``
    selects the quick defaults. An option given for a model it does not apply
    to is an error.
    """
    by_name = {option.name: option for option in options}
    unknown = set(given) - set(by_name)
    if unknown:
        flags = ", ".join("--" + name.replace("_", "-") for name in sorted(unknown))
        raise OptionError(f"unknown option(s): {flags}")
    values = {name: by_name[name].check(value) for name, value in given.items()}
    model = values.get("model", by_name["model"].default if "model" in by_name else None)
    quick = values.get("quick", False)
    for option in options:
        if option.name in values and option.models is not None and model not in option.models:
            raise OptionError(f"{option.flag} applies to --model {' or '.join(option.models)} only, "
                              f"not to --model {model}")
        if option.name not in values:
            values[option.name] = option.default_for(model, quick)
    for option in options:          # after the defaults: the option needed may be at its default
        if option.name in given and option.needs is not None:
            name, value = option.needs
            if values[name] != value:
                flag = "--" + name.replace("_", "-")
                if value is True:       # a switch: say it is missing, not "True"
                    raise OptionError(f"{option.flag} applies only with {flag}")
                raise OptionError(f"{option.flag} applies with {flag} {value} only, not with {flag} "
                                  f"{values[name]}")
    return {option.name: values[option.name] for option in options}


def run_options(options, values: dict) -> dict:
    """The values of the options that belong to a run (kept with it, fixed on resume)."""
    return {option.name: values[option.name] for option in options if option.run}


def changed_on_resume(options, stored: dict, given: dict) -> list[str]:
    """``--name VALUE (the run has OLD)`` for every given run option that a resume may not change."""
    fixed = {option.name: option for option in options if option.run and not option.resumable}
    return [f"{fixed[name].flag} {_as_text(value)} (the run has {_as_text(stored.get(name))})"
            for name, value in given.items() if name in fixed and value != stored.get(name)]
