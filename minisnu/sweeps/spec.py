"""What a sweep is: a task, the options every run shares, the options it varies and how, the seeds.

A sweep is written in a small TOML file::

    [sweep]
    task = "jsb"                 # a task of `minisnu train`, or the experiment pcm-train
    trials = 20                  # settings to try (with the grid sampler: all of them, by default)
    seeds = [0, 1, 2]            # each setting runs once per seed (or `seeds = 3`: 0, 1, 2)
    sampler = "tpe"              # tpe (the default), random or grid
    pruner = "median"            # median (the default with a [search]), halving or none
    metric = "nll"               # optional: the task's validation metric, checked
    direction = "minimize"       # optional: checked against the task's

    [options]                    # the same for every run: options of `minisnu train TASK`
    model = "snu"
    epochs = 40

    [search]                     # the options varied: a range or a list of choices each
    lr = { low = 1e-3, high = 0.1, log = true }
    dropout = { low = 0.0, high = 0.5, step = 0.1 }
    hidden = { choices = ["150", "300"] }     # values as on the command line, or typed (150, true)

For a table over models or seeds, where every run must finish, say ``pruner = "none"``
(the default when nothing is searched). The pruner takes a table too, ``[sweep.pruner]``
with ``kind``, ``startup_trials`` (the median pruner waits for that many finished trials,
default 5) and ``warmup_epochs`` (every run trains at least that many epochs, default 1).

Every value is checked against the option the task declares
(:mod:`minisnu.core.options`) before anything runs: an unknown option, a value
out of the option's range, an empty range (low not below high), a log scale
that reaches 0, a metric or a direction that is not the task's, each is one
line naming the file and the field. :func:`load` reads a file,
:func:`from_fields` checks fields given any other way (the command line).

A ``Sweep`` is also what the sweep folder keeps (``sweep.json``), so that
``--resume`` goes on with the sweep as it was.
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import asdict, dataclass, field

from ..core.errors import OptionError
from ..core.options import PARSERS, resolve
from ..experiments import get_experiment
from ..tasks import TASKS, get_task

#: The experiments a sweep can run besides the tasks: each defines SWEEP_OPTIONS (the options
#: of one trial, with one "seed"), SWEEP_METRIC, SWEEP_LOWER_IS_BETTER and sweep_trial().
EXPERIMENTS = ("pcm-train",)
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
#: options a sweep sets itself: the run folder, the seed of each run, resuming
SET_BY_THE_SWEEP = ("out", "seed", "resume", "progress")


@dataclass(frozen=True)
class Target:
    """What a sweep runs: a task of ``minisnu train`` (each trial a run folder), or an experiment
    that supports sweeps (each trial a call of its ``sweep_trial``)."""

    name: str
    module: object
    options: tuple          # the declared options of one trial
    metric: str
    lower_is_better: bool
    experiment: bool


def get_target(name: str) -> Target:
    """The task or experiment called ``name``; OptionError if a sweep cannot run it."""
    if name in TASKS:
        task = get_task(name)
        return Target(name, task, task.OPTIONS, task.METRIC, task.LOWER_IS_BETTER, False)
    if name in EXPERIMENTS:
        module = get_experiment(name)
        return Target(name, module, module.SWEEP_OPTIONS, module.SWEEP_METRIC,
                      module.SWEEP_LOWER_IS_BETTER, True)
    raise OptionError(f"[sweep] task {name!r} is not a task; choose one of {', '.join(TARGETS)}")


TARGETS = (*TASKS, *EXPERIMENTS)


@dataclass(frozen=True)
class Param:
    """One option the sweep varies: a range (``low``, ``high``, ``log``, ``step``) or ``choices``.

    Choices are kept as the option's values; a list value (layer sizes, ``[256, 256]``)
    goes to Optuna as its command-line text (``"256,256"``), as Optuna's choices must be
    plain numbers, strings or booleans.
    """

    name: str
    kind: str                     # "float", "int" or "choices"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def grid(self) -> list:
        """The values of a grid over this option (choices only)."""
        return [optuna_value(value) for value in self.choices]


@dataclass(frozen=True)
class PrunerSpec:
    """The pruner: ``kind`` median, halving or none; the median pruner's patience."""

    kind: str = "median"
    startup_trials: int = 5
    warmup_epochs: int = 1


@dataclass(frozen=True)
class Sweep:
    """A checked sweep (see the module's notes)."""

    task: str
    options: dict                 # the fixed options, checked, by name
    search: tuple                 # Params
    trials: int                   # settings
    seeds: tuple
    sampler: str = "tpe"
    pruner: PrunerSpec = field(default_factory=PrunerSpec)

    @property
    def target(self) -> Target:
        return get_target(self.task)

    @property
    def metric(self) -> str:
        return self.target.metric

    @property
    def direction(self) -> str:
        return "minimize" if self.target.lower_is_better else "maximize"

    @property
    def runs(self) -> int:
        """Runs in all: each setting once per seed."""
        return self.trials * len(self.seeds)

    def to_json(self) -> dict:
        return {"task": self.task, "options": self.options,
                "search": [asdict(p) | {"choices": list(p.choices)} for p in self.search],
                "trials": self.trials, "seeds": list(self.seeds), "sampler": self.sampler,
                "pruner": asdict(self.pruner)}

    @classmethod
    def from_json(cls, content: dict) -> Sweep:
        search = tuple(Param(**(p | {"choices": tuple(p["choices"])})) for p in content["search"])
        return cls(content["task"], content["options"], search, content["trials"],
                   tuple(content["seeds"]), content["sampler"], PrunerSpec(**content["pruner"]))


def optuna_value(value):
    """A value as Optuna stores a choice: lists (layer sizes) as their text ``256,256``."""
    return ",".join(map(str, value)) if isinstance(value, list) else value


def option_value(option, value):
    """A choice back from Optuna: ``"256,256"`` -> [256, 256] for a layer-sizes option (or one
    that takes several values)."""
    if not isinstance(value, str):
        return value
    if option.kind == "sizes":
        return PARSERS["sizes"](value)
    if option.many:
        return [PARSERS[option.kind](part) for part in value.split(",")]
    return value


# -- reading ---------------------------------------------------------------------------


def load(path) -> Sweep:
    """The sweep of a TOML file, checked; OptionError naming the file and the field otherwise."""
    try:
        import tomllib
    except ImportError:              # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            content = tomllib.load(f)
    except FileNotFoundError:
        raise OptionError(f"{path}: no such sweep file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise OptionError(f"{path}: not a TOML file ({err})") from None
    unknown = set(content) - {"sweep", "options", "search"}
    if unknown:
        raise OptionError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; "
                          "a sweep has [sweep], [options] and [search]")
    return from_fields(content.get("sweep", {}), content.get("options", {}), content.get("search", {}),
                       where=str(path))


def from_fields(sweep: dict, options: dict, search: dict, *, where: str = "sweep") -> Sweep:
    """The checked Sweep of the three tables of a sweep file (dicts)."""
    for table, name in ((sweep, "[sweep]"), (options, "[options]"), (search, "[search]")):
        if not isinstance(table, dict):
            raise OptionError(f"{where}: {name} must be a table")
    known = {"task", "trials", "seeds", "sampler", "pruner", "metric", "direction"}
    unknown = set(sweep) - known
    if unknown:
        raise OptionError(f"{where}: [sweep] has no field {', '.join(sorted(unknown))}; "
                          f"its fields are {', '.join(sorted(known))}")
    if "task" not in sweep:
        raise OptionError(f"{where}: [sweep] task is missing: one of {', '.join(TARGETS)}")
    if sweep["task"] not in TARGETS:
        raise OptionError(f"{where}: [sweep] task {sweep['task']!r} is not a task; "
                          f"choose one of {', '.join(TARGETS)}")
    task = get_target(sweep["task"])
    _check_metric(task, sweep, where)
    declared = {option.name: option for option in task.options}
    fixed = {_name(name): _checked_fixed(declared, _name(name), value, where)
             for name, value in options.items()}
    params = tuple(_param(declared, _name(name), spec, where) for name, spec in search.items())
    both = set(fixed) & {p.name for p in params}
    if both:
        raise OptionError(f"{where}: {', '.join(sorted(both))} is in both [options] and [search]")
    sampler = _choice(sweep, "sampler", SAMPLERS, "tpe", where)
    trials = _trials(sweep, params, sampler, where)
    # Seeds alone are one setting: stopping some of its runs would bias its mean, so no pruner.
    result = Sweep(task.name, fixed, params, trials, _seeds(sweep, where), sampler,
                   _pruner(sweep.get("pruner", "median" if params else "none"), where))
    check_settings(result, where)
    return result


def _name(name: str) -> str:
    """An option's Python name: lr-decay (as on the command line) is lr_decay."""
    return name.replace("-", "_")


def _check_metric(task: Target, sweep: dict, where: str) -> None:
    if "metric" in sweep and sweep["metric"] != task.metric:
        raise OptionError(f"{where}: [sweep] metric {sweep['metric']!r}: the {task.name} task's "
                          f"validation metric is {task.metric!r}")
    direction = "minimize" if task.lower_is_better else "maximize"
    if "direction" in sweep and sweep["direction"] != direction:
        raise OptionError(f"{where}: [sweep] direction {sweep['direction']!r}: {task.metric} is "
                          f"{'lower' if task.lower_is_better else 'higher'} when better, so the "
                          f"sweep must {direction} it")


def _declared(declared: dict, name: str, table: str, where: str):
    if name in SET_BY_THE_SWEEP:
        hint = " (give the seeds as [sweep] seeds)" if name == "seed" else ""
        raise OptionError(f"{where}: {table} {name}: set by the sweep itself{hint}")
    if name not in declared:
        raise OptionError(f"{where}: {table} {name}: the task has no such option "
                          "(see `minisnu train TASK --help`)")
    return declared[name]


def _typed(option, value, label: str, where: str):
    """``value`` (typed, or as on the command line) checked as a value of ``option``."""
    if option.kind == "sizes" and isinstance(value, int) and not isinstance(value, bool):
        value = [value]                       # hidden = 150: one layer
    if isinstance(value, str) and option.kind is not str:
        try:
            value = option_value(option, value) if option.many else (
                option.parse(value) if option.kind is not bool else {"true": True, "false": False}[value])
        except (KeyError, ValueError, argparse.ArgumentTypeError) as err:
            raise OptionError(f"{where}: {label}: {value!r} is not a value of {option.flag} "
                              f"({err})") from None
    try:
        return option.check(value)
    except OptionError as err:
        raise OptionError(f"{where}: {label}: {err}") from None


def _checked_fixed(declared: dict, name: str, value, where: str):
    option = _declared(declared, name, "[options]", where)
    return _typed(option, value, f"[options] {name}", where)


def _param(declared: dict, name: str, spec, where: str) -> Param:
    option = _declared(declared, name, "[search]", where)
    label = f"[search] {name}"
    if not isinstance(spec, dict):
        raise OptionError(f"{where}: {label} must be a table: {{ low = ..., high = ... }} or "
                          "{ choices = [...] }")
    unknown = set(spec) - {"low", "high", "log", "step", "choices"}
    if unknown:
        raise OptionError(f"{where}: {label} has no field {', '.join(sorted(unknown))}")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise OptionError(f"{where}: {label}: choices or a range (low, high), not both")
        values = spec["choices"]
        if not isinstance(values, list) or not values:
            raise OptionError(f"{where}: {label}: choices must be a non-empty list")
        choices = tuple(_typed(option, v, label, where) for v in values)
        if len({repr(optuna_value(c)) for c in choices}) != len(choices):
            raise OptionError(f"{where}: {label}: choices repeat a value")
        return Param(name, "choices", choices=choices)
    if option.kind not in (int, float):
        raise OptionError(f"{where}: {label}: {option.flag} takes no range; give its values as "
                          "choices = [...]")
    if "low" not in spec or "high" not in spec:
        raise OptionError(f"{where}: {label}: a range needs low and high (or give choices)")
    low, high = (_typed(option, spec[key], f"{label} {key}", where) for key in ("low", "high"))
    if not low < high:
        raise OptionError(f"{where}: {label}: empty range, low {low} is not below high {high}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise OptionError(f"{where}: {label}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise OptionError(f"{where}: {label}: a log scale needs low > 0, got {low}")
    step = spec.get("step")
    if step is not None:
        if log:
            raise OptionError(f"{where}: {label}: a step and a log scale do not go together")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 \
                or (option.kind is int and not isinstance(step, int)):
            raise OptionError(f"{where}: {label}: step must be a positive "
                              f"{'integer' if option.kind is int else 'number'}, got {step!r}")
    return Param(name, option.kind.__name__, low=low, high=high, log=log, step=step)


def _choice(sweep: dict, name: str, choices, default, where: str):
    value = sweep.get(name, default)
    if value not in choices:
        raise OptionError(f"{where}: [sweep] {name} {value!r}: choose one of {', '.join(choices)}")
    return value


def _positive_int(value, label: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{where}: {label} must be a positive integer, got {value!r}")
    return value


def _trials(sweep: dict, params: tuple, sampler: str, where: str) -> int:
    if sampler == "grid":
        ranged = [p.name for p in params if p.kind != "choices"]
        if ranged:
            raise OptionError(f"{where}: [sweep] sampler grid: give {', '.join(ranged)} as "
                              "choices = [...], a grid has no ranges")
        size = math.prod(len(p.choices) for p in params)
        trials = _positive_int(sweep.get("trials", size), "[sweep] trials", where)
        if trials > size:
            raise OptionError(f"{where}: [sweep] trials {trials}: the grid has {size} settings")
        return trials
    if not params:                   # seeds alone: one setting
        return _positive_int(sweep.get("trials", 1), "[sweep] trials", where)
    if "trials" not in sweep:
        raise OptionError(f"{where}: [sweep] trials is missing: how many settings to try")
    return _positive_int(sweep["trials"], "[sweep] trials", where)


def _seeds(sweep: dict, where: str) -> tuple:
    seeds = sweep.get("seeds", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        return tuple(range(_positive_int(seeds, "[sweep] seeds", where)))
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise OptionError(f"{where}: [sweep] seeds must be a count or a list of integers >= 0, "
                          f"got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise OptionError(f"{where}: [sweep] seeds repeat a seed: {seeds}")
    return tuple(seeds)


def _pruner(value, where: str) -> PrunerSpec:
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        raise OptionError(f"{where}: [sweep] pruner must be a name or a table")
    unknown = set(value) - {"kind", "startup_trials", "warmup_epochs"}
    if unknown:
        raise OptionError(f"{where}: [sweep.pruner] has no field {', '.join(sorted(unknown))}")
    kind = value.get("kind", "median")
    if kind not in PRUNERS:
        raise OptionError(f"{where}: [sweep] pruner {kind!r}: choose one of {', '.join(PRUNERS)}")
    startup = value.get("startup_trials", 5)
    warmup = value.get("warmup_epochs", 1)
    for name, number in (("startup_trials", startup), ("warmup_epochs", warmup)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise OptionError(f"{where}: [sweep.pruner] {name} must be an integer >= 0, got {number!r}")
    return PrunerSpec(kind, startup, warmup)


def check_settings(sweep: Sweep, where: str = "sweep") -> None:
    """Every choice of the options that decide which others apply (the model) resolves: an
    option of the SNU models only, say, cannot be swept or set for a baseline."""
    options = sweep.target.options
    varied = [p for p in sweep.search if p.kind == "choices"]
    for combination in itertools.product(*(p.choices for p in varied)):
        given = dict(sweep.options) | {p.name: value for p, value in zip(varied, combination)}
        given |= {p.name: p.low for p in sweep.search if p.kind != "choices"}
        try:
            resolve(options, given)
        except OptionError as err:
            raise OptionError(f"{where}: {err}") from None
