"""Every tutorial runs in quick mode and writes its figures as PNG files, by default to an
untracked folder (running a tutorial leaves a clone clean)."""

import ast
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
OUTPUT = ROOT / "tutorials" / "output"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JSB_TUTORIALS = ("06_bach_chorales", "09_hardware_in_the_loop")  # they find the chorales as a user would


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_quick_mode_writes_figures(script, tmp_path, monkeypatch, request):
    if script.stem in JSB_TUTORIALS:
        monkeypatch.setenv("MINISNU_DATA", str(request.getfixturevalue("standard_jsb").parent))
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    figures = list(tmp_path.glob("*.png"))
    assert figures, f"{script.name} wrote no figure"
    for figure in figures:
        data = figure.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, f"{figure.name} is not a PNG image"


def test_there_are_tutorials():
    assert TUTORIALS


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_writes_to_tutorials_output_by_default(script):
    # run_path without "__main__": the module's definitions, not its main()
    assert Path(runpy.run_path(str(script))["OUTPUT"]) == OUTPUT


def test_the_default_output_folder_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    # exit status 0: ignored; 1: not ignored (and would leave the clone dirty)
    status = subprocess.run(["git", "check-ignore", "-q", str(OUTPUT / "00_figure.png")], cwd=ROOT,
                            check=False).returncode
    assert status == 0, "tutorials/output/ must be listed in .gitignore"


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_page_begins_with_what_it_teaches_and_ends_with_exercises(script):
    """The gallery's page layout: a docstring with an RST title, then "What this teaches"; a last
    text block with two or three numbered exercises."""
    text = script.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(text), clean=True)
    assert docstring, f"{script.name} must open with a docstring (the page's title and introduction)"
    title, underline, *rest = docstring.splitlines()
    assert set(underline) == {"="} and len(underline) >= len(title), \
        f"{script.name}: the title must be underlined with ="
    assert "".join(rest).lstrip().startswith("**What this teaches:**"), \
        f"{script.name}: the introduction must begin with **What this teaches:**"
    last_block = text.rsplit("# %%\n", 1)[1]
    assert all(line.startswith("#") or not line.strip() for line in last_block.splitlines()), \
        f"{script.name}: the exercises must be the last block, text only"
    assert re.search(r"^# Exercises\n# -{9}\n", last_block, re.M), \
        f"{script.name}: no Exercises section at the end"
    numbered = re.findall(r"^# (\d)\. ", last_block, re.M)
    assert numbered in (["1", "2"], ["1", "2", "3"]), f"{script.name}: {len(numbered)} exercises, not 2 or 3"
