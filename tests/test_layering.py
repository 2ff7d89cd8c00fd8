"""The folder tree is the architecture: no module imports one above it, and no unit imports another.

The layers, from the bottom: core → units and layers → training → pcm and data → tasks and
exchange (NIR) → experiments and sweeps → the command line and the plots. A module may import its
own layer and the ones below it. The package's ``__init__`` (the public names) may import anything.
"""

import ast
from pathlib import Path

import pytest

import minisnu

PACKAGE = Path(minisnu.__file__).resolve().parent
LEVEL = {"core": 0, "units": 1, "layers": 1, "training": 2, "pcm": 3, "data": 3, "memristive": 3,
         "tasks": 4, "exchange": 4,
         "experiments": 5, "sweeps": 5, "cli": 6, "viz": 6, "__main__": 6}
# The SNU family (the dense and the convolutional layer) shares the SNU's reference and kernels.
UNITS = {"snu": {"conv_snu", "snu_reference", "snu_engine"}, "rnn": set(), "lstm": set(), "gru": set()}
ALL_UNIT_FILES = set(UNITS) | set().union(*UNITS.values())


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def dotted(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path) -> set[tuple[str, ...]]:
    """Every minisnu module ``path`` imports, as its dotted parts after ``minisnu``."""
    here = dotted(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[0] != "minisnu":
                continue
            names = [alias.name for alias in node.names]
            found.add(tuple(target[1:]))
            found.update(tuple(target[1:]) + (name,) for name in names)   # `from . import x`
        elif isinstance(node, ast.Import):
            found.update(tuple(alias.name.split(".")[1:]) for alias in node.names
                         if alias.name.split(".")[0] == "minisnu")
    return {t for t in found if t and (PACKAGE.joinpath(*t).with_suffix(".py").exists()
                                       or PACKAGE.joinpath(*t, "__init__.py").exists())}


def level(parts) -> int:
    return LEVEL[parts[0].removesuffix(".py")]


def test_every_top_level_module_has_a_layer():
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"}
    assert tops <= set(LEVEL), f"modules without a layer: {sorted(tops - set(LEVEL))}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_one_above_it(path):
    own = level(dotted(path)[1:])
    above = [".".join(t) for t in imported_modules(path) if level(t) > own]
    assert not above, f"{path.relative_to(PACKAGE)} (layer {own}) imports {above} from above it"


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_no_unit_imports_another_unit(unit):
    own = {unit} | UNITS[unit]
    for name in own:
        imported = {t[-1] for t in imported_modules(PACKAGE / "units" / f"{name}.py") if t[0] == "units"}
        others = (imported & ALL_UNIT_FILES) - own
        assert not others, f"units/{name}.py imports {sorted(others)}"
