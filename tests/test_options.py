"""minisnu.core.options: one declaration gives the parser, the defaults, the checks and the resume rule."""

import argparse

import pytest

from minisnu.core.errors import OptionError
from minisnu.core.options import (
    ByModel,
    Option,
    add_arguments,
    changed_on_resume,
    given_values,
    resolve,
    run_options,
    with_defaults,
)
from minisnu.experiments import drift, pcm_train, robustness
from minisnu.tasks import TASKS

OPTIONS = (
    Option("model", str, "snu", "the units", choices=("snu", "lstm")),
    Option("lr", float, 0.01, "learning rate", low=0, open_low=True),
    Option("epochs", int, 40, "epochs", low=1, quick=2, resumable=True),
    Option("decay", float, 0.8, "decay", low=0, high=1, models=("snu",)),
    Option("hidden", "sizes", ByModel({"snu": [150]}, other=[64, 64]), "sizes"),
    Option("seeds", int, [0], "seeds", many=True, distinct=True, low=0),
    Option("drift", bool, True, "no drift"),
    Option("out", str, None, "folder", run=False),
    Option("quick", bool, False, "quick", run=False),
)


def parse(argv, options=OPTIONS):
    parser = argparse.ArgumentParser(prog="test", exit_on_error=False)
    add_arguments(parser, options, models=("snu", "lstm"))
    return given_values(parser.parse_args(argv), options)


def test_defaults_follow_the_model_and_the_quick_mode():
    assert resolve(OPTIONS, {}) == {"model": "snu", "lr": 0.01, "epochs": 40, "decay": 0.8,
                                    "hidden": [150], "seeds": [0], "drift": True, "out": None,
                                    "quick": False}
    assert resolve(OPTIONS, {"model": "lstm"})["hidden"] == [64, 64]
    assert resolve(OPTIONS, {"quick": True})["epochs"] == 2
    assert resolve(OPTIONS, {"quick": True, "epochs": 5})["epochs"] == 5


def test_the_command_line_gives_what_python_gives():
    given = parse(["--lr", "0.5", "--hidden", "8,4", "--seeds", "1", "2", "--no-drift", "--quick"])
    assert given == {"lr": 0.5, "hidden": [8, 4], "seeds": [1, 2], "drift": False, "quick": True,
                     "epochs": 2}                       # --quick counts its own defaults as given
    assert resolve(OPTIONS, given) == resolve(OPTIONS, {"lr": 0.5, "hidden": [8, 4], "seeds": [1, 2],
                                                        "drift": False, "quick": True})
    assert parse([]) == {}                               # nothing given: every default stays open


@pytest.mark.parametrize("given, message", [
    ({"lr": 0.0}, "--lr must be > 0, got 0.0"),
    ({"lr": float("nan")}, "--lr must be a finite number"),
    ({"epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"epochs": 2.5}, "--epochs must be an integer, got 2.5"),
    ({"epochs": True}, "--epochs must be an integer"),
    ({"decay": 1.5}, "--decay must be in [0, 1], got 1.5"),
    ({"model": "gru"}, "--model must be one of snu, lstm, got 'gru'"),
    ({"seeds": [1, 1]}, "--seeds values must be distinct"),
    ({"seeds": []}, "--seeds takes one or more values"),
    ({"hidden": [0]}, "--hidden: layer sizes must be positive integers"),
    ({"drift": "yes"}, "--no-drift is a flag"),
    ({"model": "lstm", "decay": 0.5}, "--decay applies to --model snu only, not to --model lstm"),
    ({"learning_rate": 0.1}, "unknown option(s): --learning-rate"),
])
def test_bad_values_are_named_in_one_line(given, message):
    with pytest.raises(OptionError) as error:
        resolve(OPTIONS, given)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("argv, message", [
    (["--lr", "-1"], "must be > 0, got -1.0"),
    (["--epochs", "x"], "must be an integer, got 'x'"),
    (["--hidden", "8,x"], "comma-separated list"),
    (["--model", "gru"], "must be one of snu, lstm, got 'gru'"),
])
def test_the_parser_refuses_what_the_check_refuses(argv, message):
    with pytest.raises(argparse.ArgumentError) as error:
        parse(argv)
    assert message in str(error.value)


def test_help_shows_each_default_once():
    parser = argparse.ArgumentParser(prog="test")
    add_arguments(parser, OPTIONS, models=("snu", "lstm"))
    text = " ".join(parser.format_help().split())
    assert "--lr LR learning rate (default 0.01)" in text
    assert "(default 40; 2 with --quick)" in text
    assert "(default 150 for snu; 64 64 for lstm)" in text
    assert "--no-drift no drift" in text


def test_resume_may_change_only_the_resumable_run_options():
    stored = run_options(OPTIONS, resolve(OPTIONS, {}))
    assert "out" not in stored and "quick" not in stored
    assert changed_on_resume(OPTIONS, stored, {"epochs": 60, "out": "elsewhere"}) == []
    assert changed_on_resume(OPTIONS, stored, {"lr": 0.1}) == ["--lr 0.1 (the run has 0.01)"]


def test_with_defaults_replaces_only_the_named_defaults():
    changed = with_defaults(OPTIONS, lr=0.5)
    assert [o.default for o in changed if o.name == "lr"] == [0.5]
    assert [o for o in changed if o.name != "lr"] == [o for o in OPTIONS if o.name != "lr"]
    with pytest.raises(KeyError):
        with_defaults(OPTIONS, momentum=0.9)


@pytest.mark.parametrize("command", [*TASKS.values(), pcm_train, drift, robustness],
                         ids=lambda module: module.__name__)
def test_every_declared_default_passes_its_own_check(command):
    names = [option.name for option in command.OPTIONS]
    assert len(names) == len(set(names)), "an option declared twice"
    model_option = next((o for o in command.OPTIONS if o.name == "model" and not o.many), None)
    for model in model_option.choices if model_option else (None,):
        for quick in (False, True):
            given = {"quick": quick} | ({"model": model} if model_option else {})
            values = resolve(command.OPTIONS, given)
            for option in command.OPTIONS:
                if values[option.name] is not None:
                    option.check(values[option.name])
