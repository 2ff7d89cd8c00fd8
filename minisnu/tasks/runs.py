"""A task's run in its folder, started or resumed: what ``minisnu train`` and ``minisnu sweep`` share.

:mod:`minisnu.training.run_folder` trains a run and keeps its files; this module
finds what a run of a task needs around that: the folder a run goes to when none
is named (:func:`default_folder`), the data (located, fingerprinted, loaded), and
on ``--resume`` the checks that the run goes on as it was (its own options, only
``--epochs`` may change, and the same data, compared with the run's fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from ..core.errors import RunError
from ..core.options import changed_on_resume, resolve
from ..data import fingerprint
from ..training import run_folder
from ..training.run_folder import Run, RunFolder
from . import TASKS

NAMED_SUFFIX = 40  # the longest "-lr0.02-hidden8" suffix of a default folder; longer ones are hashed


def default_folder(task, values: dict) -> Path:
    """``runs/TASK-MODEL-seedN``, then the run's options that are not at their defaults.

    One changed option or a few are named (``runs/jsb-snu-seed0-lr0.02``);
    more than fit in a short name are a hash, ``-`` and 6 hex digits of
    their values. The options a resume may change (``--epochs``) are left out, so
    that ``--resume`` with the same options finds the same folder.
    """
    name = f"{task.NAME}-{values['model']}-seed{values['seed']}"
    defaults = resolve(task.OPTIONS, {"model": values["model"]})  # --quick is named: -limit8
    changed = {option.name: values[option.name] for option in task.OPTIONS
               if option.run and not option.resumable and option.name not in ("model", "seed")
               and values[option.name] != defaults[option.name]}
    if not changed:
        return Path("runs") / name
    suffix = "".join(f"-{key.replace('_', '-')}{folder_text(value)}" for key, value in changed.items())
    if len(suffix) > NAMED_SUFFIX or not all(c.isalnum() or c in "-.," for c in suffix):
        text = json.dumps(changed, sort_keys=True)
        suffix = "-" + hashlib.sha256(text.encode()).hexdigest()[:6]
    return Path("runs") / (name + suffix)


def folder_text(value) -> str:
    """An option's value in a folder name: 0.02, 256,256; a flag that is on is its name alone."""
    if value is True:
        return ""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def start(task, folder: RunFolder, options: dict, data_path) -> Run:
    """A new run of ``options`` in ``folder``, which must hold no run and nothing but a run's files."""
    folder.check_new()
    folder.remove_leftovers()
    source = task.locate_data(options, data_path)
    return run_folder.start_run(task, options, folder, task.load_data(source, options), source)


def resume(task, folder: RunFolder, given: dict, data_path) -> Run:
    """The run in ``folder``, with its own options (only ``--epochs`` may change) and data: the same
    data, which is checked against the run's fingerprint of it."""
    check_resumable(folder)
    meta = run_folder.read_metadata(folder.checkpoint, TASKS)
    if meta["task"] != task.NAME:
        raise RunError(f"{folder.path} holds a {meta['task']} run, not {task.NAME}")
    options = resume_options(task, meta["options"], given)
    stored = meta["data"]
    source = stored if data_path is None else task.locate_data(options, data_path)
    differs = data_difference(stored, source)
    if differs is not None:
        raise RunError(f"the run in {folder.path} was trained on other data: {differs}; resume it "
                       "on its own data, or start a new run")
    folder.remove_leftovers(meta)
    return run_folder.resume_run(task, folder, options, task.load_data(source, options), source)


def check_resumable(folder: RunFolder) -> None:
    """RunError unless ``folder`` holds a checkpoint."""
    if not folder.checkpoint.is_file():
        raise RunError(f"nothing to resume: no {folder.CHECKPOINT} in {folder.path} (train without "
                       "--resume to start a run, or give its folder with --out)")


def data_difference(stored: dict, source: dict) -> str | None:
    """How the data of ``source`` (as it is now) differs from the run's ``stored`` source; None if
    it is the same. A run saved before fingerprints were recorded cannot be checked (a warning)."""
    if "fingerprint" not in stored:
        logging.getLogger(__name__).warning("the run recorded no fingerprint of its data: the data "
                                            "is not checked")
        return None
    current = fingerprint.refresh(stored["fingerprint"] if source is stored else source["fingerprint"])
    return fingerprint.difference(stored["fingerprint"], current)


def resume_options(task, stored: dict, given: dict) -> dict:
    """The stored options with a new ``epochs``; RunError if other given options differ."""
    changed = changed_on_resume(task.OPTIONS, stored, given)
    if changed:
        raise RunError("a resumed run keeps its options, but these differ: " + "; ".join(changed))
    return {**stored, "epochs": given.get("epochs", stored["epochs"])}
